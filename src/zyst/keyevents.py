"""Keyspace notifications (``notify-keyspace-events``): which events a write publishes, Redis
7.0's names and order, and the setting's flag letters.

Redis publishes from inside each command; Zyst derives the same events after the command, from
the key-modified signal's list of written keys (:func:`zyst.commands.table.call`): the
command's name (and, for a blocking or MPOP command, the plain pop it was rewritten as), which
of its written keys each one is (LMOVE's source or destination), and whether the key still
exists afterwards. That is enough for every command Zyst has, because Redis's events depend only
on those:

- a command that removes elements publishes its event, then ``del`` if the key went empty
  (LPOP, SREM, ZPOPMIN, LMOVE's source, ...);
- a command that stores a result publishes its event, or only ``del`` when the result was
  empty and the destination went away (SINTERSTORE, ZUNIONSTORE, SORT ... STORE, BITOP);
- EXPIRE and GETEX with a time already past publish only ``del``;
- SET, SETEX and PSETEX with a TTL publish ``set`` then ``expire``;
- LMOVE and RPOPLPUSH publish the push on the destination, then the pop on the source (and
  ``del`` if it went empty); SMOVE the other way round;
- RENAME publishes ``rename_from`` then ``rename_to``, MOVE ``move_from`` then ``move_to``
  (in the two databases), COPY ``copy_to``.

Expired keys publish ``expired`` from the keyspace, and a key stored where there was none
publishes ``new`` (``n``) from there too, before its command's event; ``keymiss`` (``m``) is
published by the keyspace when a read command's lookup finds nothing (as Redis's ``lookupKey``
does, before the command's own events).

A message goes to ``__keyspace@<db>__:<key>`` (with ``K``) carrying the event, and to
``__keyevent@<db>__:<event>`` (with ``E``) carrying the key, through the server's publish
function (:attr:`KeyEvents.publish`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

# Redis's NOTIFY_* bits.
KEYSPACE: Final = 1 << 0  # K
KEYEVENT: Final = 1 << 1  # E
GENERIC: Final = 1 << 2  # g
STRING: Final = 1 << 3  # $
LIST: Final = 1 << 4  # l
SET: Final = 1 << 5  # s
HASH: Final = 1 << 6  # h
ZSET: Final = 1 << 7  # z
EXPIRED: Final = 1 << 8  # x
EVICTED: Final = 1 << 9  # e
STREAM: Final = 1 << 10  # t
KEY_MISS: Final = 1 << 11  # m (not part of A)
MODULE: Final = 1 << 13  # d
NEW: Final = 1 << 14  # n (not part of A)
ALL: Final = GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE

_LETTERS: Final = {
    "A": ALL,
    "g": GENERIC,
    "$": STRING,
    "l": LIST,
    "s": SET,
    "h": HASH,
    "z": ZSET,
    "x": EXPIRED,
    "e": EVICTED,
    "K": KEYSPACE,
    "E": KEYEVENT,
    "t": STREAM,
    "m": KEY_MISS,
    "d": MODULE,
    "n": NEW,
}
# The order CONFIG GET lists the classes in (after "A" or these: K, E, m).
_SHOWN: Final = (
    ("g", GENERIC),
    ("$", STRING),
    ("l", LIST),
    ("s", SET),
    ("h", HASH),
    ("z", ZSET),
    ("x", EXPIRED),
    ("e", EVICTED),
    ("t", STREAM),
    ("d", MODULE),
    ("n", NEW),
)


def parse_flags(text: str) -> int:
    """The bits of a ``notify-keyspace-events`` value; ValueError for a letter Redis refuses."""
    flags = 0
    for letter in text:
        bit = _LETTERS.get(letter)
        if bit is None:
            raise ValueError("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")
        flags |= bit
    return flags


def format_flags(flags: int) -> str:
    """The value CONFIG GET shows for ``flags`` (Redis's keyspaceEventsFlagsToString)."""
    shown = "A" if flags & ALL == ALL else "".join(letter for letter, bit in _SHOWN if flags & bit)
    text = shown
    if flags & KEYSPACE:
        text += "K"
    if flags & KEYEVENT:
        text += "E"
    if flags & KEY_MISS:
        text += "m"
    return text


# What one written key publishes: (class, event), and how the key's going away shows:
_THEN_DEL: Final = 0  # the event, then "del" if the key is gone (elements removed)
_ONLY_DEL: Final = 1  # "del" instead of the event if the key is gone (results stored)
_NO_DEL: Final = 2  # the event whatever happened to the key
Event = tuple[int, bytes, int]

_SIMPLE: Final[dict[bytes, Event]] = {
    b"set": (STRING, b"set", _NO_DEL),
    b"setnx": (STRING, b"set", _NO_DEL),
    b"setex": (STRING, b"set", _NO_DEL),
    b"psetex": (STRING, b"set", _NO_DEL),
    b"getset": (STRING, b"set", _NO_DEL),
    b"mset": (STRING, b"set", _NO_DEL),
    b"msetnx": (STRING, b"set", _NO_DEL),
    b"setrange": (STRING, b"setrange", _NO_DEL),
    b"incr": (STRING, b"incrby", _NO_DEL),
    b"decr": (STRING, b"incrby", _NO_DEL),
    b"incrby": (STRING, b"incrby", _NO_DEL),
    b"decrby": (STRING, b"incrby", _NO_DEL),
    b"incrbyfloat": (STRING, b"incrbyfloat", _NO_DEL),
    b"append": (STRING, b"append", _NO_DEL),
    b"setbit": (STRING, b"setbit", _NO_DEL),
    b"bitfield": (STRING, b"setbit", _NO_DEL),
    b"bitop": (STRING, b"set", _ONLY_DEL),
    b"pfadd": (STRING, b"pfadd", _NO_DEL),
    b"pfmerge": (STRING, b"pfadd", _NO_DEL),  # (Redis calls a merge a mass add)
    b"getdel": (GENERIC, b"del", _NO_DEL),
    b"lpush": (LIST, b"lpush", _NO_DEL),
    b"lpushx": (LIST, b"lpush", _NO_DEL),
    b"rpush": (LIST, b"rpush", _NO_DEL),
    b"rpushx": (LIST, b"rpush", _NO_DEL),
    b"linsert": (LIST, b"linsert", _NO_DEL),
    b"lset": (LIST, b"lset", _NO_DEL),
    b"lpop": (LIST, b"lpop", _THEN_DEL),
    b"rpop": (LIST, b"rpop", _THEN_DEL),
    b"ltrim": (LIST, b"ltrim", _THEN_DEL),
    b"lrem": (LIST, b"lrem", _THEN_DEL),
    b"sort": (LIST, b"sortstore", _ONLY_DEL),
    b"hset": (HASH, b"hset", _NO_DEL),
    b"hmset": (HASH, b"hset", _NO_DEL),
    b"hsetnx": (HASH, b"hset", _NO_DEL),
    b"hincrby": (HASH, b"hincrby", _NO_DEL),
    b"hincrbyfloat": (HASH, b"hincrbyfloat", _NO_DEL),
    b"hdel": (HASH, b"hdel", _THEN_DEL),
    b"sadd": (SET, b"sadd", _NO_DEL),
    b"srem": (SET, b"srem", _THEN_DEL),
    b"spop": (SET, b"spop", _THEN_DEL),
    b"sinterstore": (SET, b"sinterstore", _ONLY_DEL),
    b"sunionstore": (SET, b"sunionstore", _ONLY_DEL),
    b"sdiffstore": (SET, b"sdiffstore", _ONLY_DEL),
    b"zincrby": (ZSET, b"zincr", _NO_DEL),
    b"zrem": (ZSET, b"zrem", _THEN_DEL),
    b"zremrangebyrank": (ZSET, b"zremrangebyrank", _THEN_DEL),
    b"zremrangebyscore": (ZSET, b"zremrangebyscore", _THEN_DEL),
    b"zremrangebylex": (ZSET, b"zremrangebylex", _THEN_DEL),
    b"zunionstore": (ZSET, b"zunionstore", _ONLY_DEL),
    b"zinterstore": (ZSET, b"zinterstore", _ONLY_DEL),
    b"zdiffstore": (ZSET, b"zdiffstore", _ONLY_DEL),
    b"zrangestore": (ZSET, b"zrangestore", _ONLY_DEL),
    b"zpopmin": (ZSET, b"zpopmin", _THEN_DEL),
    b"zpopmax": (ZSET, b"zpopmax", _THEN_DEL),
    # GEOADD runs as ZADD (and is propagated as one); the searches store a sorted set.
    b"geoadd": (ZSET, b"zadd", _NO_DEL),
    b"geosearchstore": (ZSET, b"geosearchstore", _ONLY_DEL),
    b"georadius": (ZSET, b"georadiusstore", _ONLY_DEL),
    b"georadiusbymember": (ZSET, b"georadiusstore", _ONLY_DEL),
    b"del": (GENERIC, b"del", _NO_DEL),
    b"unlink": (GENERIC, b"del", _NO_DEL),
    b"expire": (GENERIC, b"expire", _ONLY_DEL),
    b"pexpire": (GENERIC, b"expire", _ONLY_DEL),
    b"expireat": (GENERIC, b"expire", _ONLY_DEL),
    b"pexpireat": (GENERIC, b"expire", _ONLY_DEL),
    b"persist": (GENERIC, b"persist", _NO_DEL),
    # RESTORE publishes "del" instead when its TTL had already passed (REPLACE removed a key).
    b"restore": (GENERIC, b"restore", _ONLY_DEL),
    b"restore-asking": (GENERIC, b"restore", _ONLY_DEL),
    b"migrate": (GENERIC, b"del", _NO_DEL),  # its written keys are the ones it moved away
}
# Commands whose written keys play different parts, in the order of their written keys.
_PAIRS: Final[dict[bytes, tuple[Event, Event]]] = {
    b"rename": ((GENERIC, b"rename_from", _NO_DEL), (GENERIC, b"rename_to", _NO_DEL)),
    b"renamenx": ((GENERIC, b"rename_from", _NO_DEL), (GENERIC, b"rename_to", _NO_DEL)),
    b"smove": ((SET, b"srem", _THEN_DEL), (SET, b"sadd", _NO_DEL)),
    b"rpoplpush": ((LIST, b"rpop", _THEN_DEL), (LIST, b"lpush", _NO_DEL)),
}
# Commands named after what they were rewritten as (the blocking ones, the MPOP ones).
_REWRITTEN: Final = frozenset(
    {b"blpop", b"brpop", b"blmove", b"brpoplpush", b"blmpop", b"lmpop"}
    | {b"bzpopmin", b"bzpopmax", b"bzmpop", b"zmpop"}
)

Publish = Callable[[bytes, bytes], object]


def _no_publish(channel: bytes, message: bytes) -> object:
    return 0


class KeyEvents:
    """The setting in force and the publish function (the pub/sub layer's)."""

    __slots__ = ("flags", "pending_new", "publish")

    def __init__(self) -> None:
        self.flags = 0
        self.publish: Publish = _no_publish
        # Keys the running command created, not yet announced (see new_key).
        self.pending_new: list[tuple[int, bytes]] = []

    @property
    def enabled(self) -> bool:
        """Whether any written key can publish something (K or E, and a class)."""
        flags = self.flags
        return bool(flags & (KEYSPACE | KEYEVENT)) and bool(flags & ~(KEYSPACE | KEYEVENT))

    def emit(self, kind: int, event: bytes, db_index: int, key: bytes) -> None:
        """Publish ``event`` on ``key`` if its class is enabled (Redis's notifyKeyspaceEvent)."""
        flags = self.flags
        if not flags & kind:
            return
        if flags & KEYSPACE:
            self.publish(b"__keyspace@%d__:%s" % (db_index, key), event)
        if flags & KEYEVENT:
            self.publish(b"__keyevent@%d__:%s" % (db_index, event), key)

    def written(
        self,
        name: bytes,
        argv: list[bytes],
        keys: list[tuple[int, bytes]],
        exists: Callable[[int, bytes], bool],
        rewritten: list[list[bytes]] | None,
    ) -> None:
        """Publish what command ``name`` (lower case; ``argv`` as sent) did to its written
        ``keys`` ((db, key) pairs, in the order of its key specs); ``exists`` tells whether a
        key is there now; ``rewritten`` is what it was propagated as, if not itself."""
        self._written(name, argv, keys, exists, rewritten)
        pending = self.pending_new
        while pending:  # created keys the command did not name as written
            db_index, key = pending.pop(0)
            self.emit(NEW, b"new", db_index, key)

    def command_event(self, kind: int, event: bytes, db_index: int, key: bytes) -> None:
        """Publish ``event`` from inside a command, for commands whose events depend on more
        than :meth:`written` can see (XADD publishes ``xtrim`` only when its trim removed
        something): a ``new`` still pending for that key goes first, as Redis's order has it."""
        if self.flags & kind:
            self._announce_new(db_index, key)
            self.emit(kind, event, db_index, key)

    def _announce_new(self, db_index: int, key: bytes) -> None:
        pending = self.pending_new
        if pending and (db_index, key) in pending:
            pending.remove((db_index, key))
            self.emit(NEW, b"new", db_index, key)

    def _written(
        self,
        name: bytes,
        argv: list[bytes],
        keys: list[tuple[int, bytes]],
        exists: Callable[[int, bytes], bool],
        rewritten: list[list[bytes]] | None,
    ) -> None:
        if name in _REWRITTEN and rewritten:
            at = 0
            for command in rewritten:
                inner = command[0].lower()
                take = 2 if inner in (b"lmove", b"rpoplpush") else 1
                self._written(inner, command, keys[at : at + take], exists, None)
                at += take
            return
        if name in (b"rename", b"renamenx", b"move"):
            # These add the destination before publishing anything.
            for db_index, key in keys:
                self._announce_new(db_index, key)
        events = list(zip(keys, _events(name, argv, len(keys)), strict=False))
        if name in (b"lmove", b"rpoplpush"):
            events.reverse()  # Redis pushes onto the destination before it notifies the pop
        for (db_index, key), (kind, event, gone) in events:
            self._announce_new(db_index, key)
            present = exists(db_index, key)
            if gone == _ONLY_DEL and not present:
                self.emit(GENERIC, b"del", db_index, key)
                continue
            self.emit(kind, event, db_index, key)
            if gone == _THEN_DEL and not present:
                self.emit(GENERIC, b"del", db_index, key)
            if event == b"set" and name in (b"set", b"setex", b"psetex") and _sets_ttl(name, argv):
                self.emit(GENERIC, b"expire", db_index, key)

    def new_key(self, db_index: int, key: bytes) -> None:
        """A key came into being where there was none (Redis's ``dbAdd``). Published with the
        events of the command that made it (:meth:`written`), just before that key's own, as
        Redis publishes it from inside the command (MSET: new, set, new, set)."""
        if self.flags & NEW:
            self.pending_new.append((db_index, key))

    def expired(self, db_index: int, key: bytes) -> None:
        """A key expired (lazily or by the active cycle)."""
        self.emit(EXPIRED, b"expired", db_index, key)

    def evicted(self, db_index: int, key: bytes) -> None:
        """A key was evicted to stay under ``maxmemory``."""
        self.emit(EVICTED, b"evicted", db_index, key)


def _events(name: bytes, argv: list[bytes], count: int) -> list[Event]:
    """The event of each written key of command ``name``."""
    simple = _SIMPLE.get(name)
    if simple is not None:
        return [simple] * count
    pair = _PAIRS.get(name)
    if pair is not None:
        return list(pair)
    if name == b"lmove":
        source = b"lpop" if argv[3].lower() == b"left" else b"rpop"
        target = b"lpush" if argv[4].lower() == b"left" else b"rpush"
        return [(LIST, source, _THEN_DEL), (LIST, target, _NO_DEL)]
    if name == b"zadd":
        incr = any(arg.lower() == b"incr" for arg in argv[2:])
        return [(ZSET, b"zincr" if incr else b"zadd", _NO_DEL)] * count
    if name == b"getex":
        persist = any(arg.lower() == b"persist" for arg in argv[2:])
        return [(GENERIC, b"persist" if persist else b"expire", _ONLY_DEL)] * count
    if name == b"move":
        return [(GENERIC, b"move_from", _NO_DEL), (GENERIC, b"move_to", _NO_DEL)]
    if name == b"copy":
        return [(GENERIC, b"copy_to", _NO_DEL)] * count
    return []


def _sets_ttl(name: bytes, argv: list[bytes]) -> bool:
    """Whether a SET-family command gave its key a TTL (published as ``expire`` after ``set``)."""
    if name != b"set":
        return True
    return any(arg.lower() in (b"ex", b"px", b"exat", b"pxat") for arg in argv[3:])
