"""Generic key commands: DEL, UNLINK, EXISTS, TOUCH, the EXPIRE family, TTL, PTTL,
EXPIRETIME, PEXPIRETIME, PERSIST, TYPE, KEYS, RANDOMKEY, DBSIZE, RENAME, RENAMENX, MOVE, COPY and
SWAPDB (Redis's ``db.c`` and ``expire.c``), and OBJECT (``object.c``; the encodings it reports are
derived by :mod:`zyst.encodings`).

Every read goes through :class:`zyst.keyspace.Database` lookups, so an expired key is deleted
before anyone sees it (KEYS, which only skips them, is the exception, as in Redis).

Propagation, as Redis 7: EXPIRE, PEXPIRE and EXPIREAT reach the AOF as
``PEXPIREAT key <unix-ms> [options]`` so that replaying them later gives the same deadline; an
expiry already in the past deletes the key and propagates ``DEL key`` instead (except while the
AOF is being loaded, when the deadline is stored as is and lazy expiry takes over). RENAME,
RENAMENX, MOVE, COPY and SWAPDB go out as received: they carry absolute deadlines over from one
key to another, and nothing expires while the AOF is replayed, so a replay finds the keys they
found. A key that one of them finds expired goes out as ``DEL`` first, like any lazy expiry.

A key's deadline moves with its value: RENAME, MOVE and COPY give the new key the old key's
TTL (or none), whatever TTL a key they replace had.
"""

from __future__ import annotations

import copy
import random
from collections import deque
from collections.abc import Callable, Iterable
from itertools import chain, islice
from typing import TYPE_CHECKING, Any, Final

from zyst import access, encodings, errors
from zyst.commands.args import LLONG_MAX, parse_int, strict_int
from zyst.commands.introspection import help_reply
from zyst.commands.table import Handler, KeySpec, Reply, command, container, subcommand
from zyst.errors import CommandError
from zyst.glob import compile_glob
from zyst.keyspace import TYPE_NAMES
from zyst.protocol.resp import OK, Status
from zyst.types.stream import Stream

if TYPE_CHECKING:
    from zyst.client import Client
    from zyst.keyspace import Database


# The cluster routing tips of the commands that count keys across shards (DEL, UNLINK, EXISTS,
# TOUCH): COMMAND INFO and COMMAND DOCS show them.
_MULTI_SHARD_SUM: Final = ("request_policy:multi_shard", "response_policy:agg_sum")


@command(
    "del",
    arity=-2,
    flags=("write",),
    keys=(1, -1, 1),
    group="generic",
    summary="Delete a key",
    since="1.0.0",
    syntax="key [key ...]",
    complexity="O(N) where N is the number of keys that will be removed. When a key to remove "
    "holds a value other than a string, the individual complexity for this key is O(M) where M "
    "is the number of elements in the list, set, sorted set or hash. Removing a single key that "
    "holds a string value is O(1).",
    acl_categories=("keyspace", "write", "slow"),
    tips=_MULTI_SHARD_SUM,
    key_specs=(KeySpec(flags=("RM", "delete")),),
)
def del_(client: Client, argv: list[bytes]) -> Reply:
    """DEL key [key ...]

    The number of keys removed (a key named twice counts once).
    """
    db = client.db
    delete = db.delete
    removed = 0
    if client.ctx.signal.listening:
        # Only the keys that existed were modified (a watched missing key stays unchanged).
        gone = [(db.index, key) for key in argv[1:] if delete(key)]
        if gone:  # (read only when something changed)
            client.touched = gone
        removed = len(gone)
    else:
        for key in argv[1:]:
            if delete(key):
                removed += 1
    client.ctx.dirty += removed
    return removed


@command(
    "unlink",
    arity=-2,
    flags=("write", "fast"),
    keys=(1, -1, 1),
    group="generic",
    summary="Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non "
    "blocking.",
    since="4.0.0",
    syntax="key [key ...]",
    complexity="O(1) for each key removed regardless of its size. Then the command does O(N) "
    "work in a different thread in order to reclaim memory, where N is the number of "
    "allocations the deleted objects where composed of.",
    acl_categories=("keyspace", "write", "fast"),
    tips=_MULTI_SHARD_SUM,
    key_specs=(KeySpec(flags=("RM", "delete")),),
)
def unlink(client: Client, argv: list[bytes]) -> Reply:
    """UNLINK key [key ...]

    DEL's reply and effect. Redis frees large values in a background thread; here the memory is
    the garbage collector's either way.
    """
    return del_(client, argv)


@command(
    "exists",
    arity=-2,
    flags=("readonly", "fast"),
    keys=(1, -1, 1),
    group="generic",
    summary="Determine if a key exists",
    since="1.0.0",
    syntax="key [key ...]",
    complexity="O(N) where N is the number of keys to check.",
    acl_categories=("keyspace", "read", "fast"),
    tips=_MULTI_SHARD_SUM,
    key_specs=(KeySpec(flags=("RO",)),),
)
def exists(client: Client, argv: list[bytes]) -> Reply:
    """EXISTS key [key ...]

    How many of the keys exist; a key named twice is counted twice.
    """
    return _count_found(client.db.peek_read, argv[1:])


def _count_found(lookup: Callable[[bytes], Any], keys: list[bytes]) -> int:
    """How many of ``keys`` ``lookup`` finds (a key named twice counts twice)."""
    found = 0
    for key in keys:
        if lookup(key) is not None:
            found += 1
    return found


@command(
    "touch",
    arity=-2,
    flags=("readonly", "fast"),
    keys=(1, -1, 1),
    group="generic",
    summary="Alters the last access time of a key(s). Returns the number of existing keys "
    "specified.",
    since="3.2.1",
    syntax="key [key ...]",
    complexity="O(N) where N is the number of keys that will be touched.",
    acl_categories=("keyspace", "read", "fast"),
    tips=_MULTI_SHARD_SUM,
    key_specs=(KeySpec(flags=("RO",)),),
)
def touch(client: Client, argv: list[bytes]) -> Reply:
    """TOUCH key [key ...]

    How many of the keys exist (a key named twice counts twice), each one found counting as an
    access (its clock moves); counted in the hit and miss statistics as Redis's read lookups
    are.
    """
    return _count_found(client.db.lookup_read, argv[1:])


# -- EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT -------------------------------------------------------
_NX: Final = 1
_XX: Final = 2
_GT: Final = 4
_LT: Final = 8
_EXPIRE_FLAGS: Final = {b"NX": _NX, b"XX": _XX, b"GT": _GT, b"LT": _LT}

# C's LLONG_MIN / 1000 truncates toward zero; Python's // would round away from it.
_MIN_SECONDS: Final = -(2**63 // 1000)
_MAX_SECONDS: Final = LLONG_MAX // 1000

_EXPIRE_SYNTAX: Final = "key {} [NX | XX | GT | LT]"


def _expire_flags(argv: list[bytes]) -> int:
    """The NX/XX/GT/LT options after the time; Redis checks them before the time itself."""
    flags = 0
    for raw in argv[3:]:
        bit = _EXPIRE_FLAGS.get(raw.upper())
        if bit is None:
            raise CommandError(errors.unsupported_option(raw))
        flags |= bit
    if flags & _NX and flags & (_XX | _GT | _LT):
        raise CommandError(errors.EXPIRE_NX_CONFLICT)
    if flags & _GT and flags & _LT:
        raise CommandError(errors.EXPIRE_GT_LT_CONFLICT)
    return flags


def _expire(client: Client, argv: list[bytes], relative: bool, seconds: bool, name: str) -> int:
    """Redis's ``expireGenericCommand``: 1 if the deadline was set (or the key deleted), else 0."""
    flags = _expire_flags(argv) if len(argv) > 3 else 0
    when = parse_int(argv[2])
    if seconds:
        if when > _MAX_SECONDS or when < _MIN_SECONDS:
            raise CommandError(errors.INVALID_EXPIRE.format(name))
        when *= 1000
    now = client.ctx.keyspace.clock()
    if relative:
        if when > LLONG_MAX - now:
            raise CommandError(errors.INVALID_EXPIRE.format(name))
        when += now
    db = client.db
    key = argv[1]
    if db.lookup(key) is None:
        return 0
    if flags:
        current = db.get_expire(key)
        if flags & _NX and current is not None:
            return 0
        if flags & _XX and current is None:
            return 0
        # No TTL counts as an infinite one: GT always fails, LT always succeeds.
        if flags & _GT and (current is None or when <= current):
            return 0
        if flags & _LT and current is not None and when >= current:
            return 0
    ctx = client.ctx
    if when <= now and not ctx.loading:
        db.delete(key)
        ctx.dirty += 1
        client.propagate_as = [[b"DEL", key]]
        return 1
    db.set_expire(key, when)
    ctx.dirty += 1
    if relative or seconds:
        client.propagate_as = [[b"PEXPIREAT", key, b"%d" % when, *argv[3:]]]
    return 1


@command(
    "expire",
    arity=-3,
    flags=("write", "fast"),
    keys=(1, 1, 1),
    group="generic",
    summary="Set a key's time to live in seconds",
    since="1.0.0",
    syntax=_EXPIRE_SYNTAX.format("seconds"),
    complexity="O(1)",
    acl_categories=("keyspace", "write", "fast"),
    key_specs=(KeySpec(flags=("RW", "update")),),
)
def expire(client: Client, argv: list[bytes]) -> Reply:
    """EXPIRE key seconds [NX | XX | GT | LT]"""
    return _expire(client, argv, relative=True, seconds=True, name="expire")


@command(
    "pexpire",
    arity=-3,
    flags=("write", "fast"),
    keys=(1, 1, 1),
    group="generic",
    summary="Set a key's time to live in milliseconds",
    since="2.6.0",
    syntax=_EXPIRE_SYNTAX.format("milliseconds"),
    complexity="O(1)",
    acl_categories=("keyspace", "write", "fast"),
    key_specs=(KeySpec(flags=("RW", "update")),),
)
def pexpire(client: Client, argv: list[bytes]) -> Reply:
    """PEXPIRE key milliseconds [NX | XX | GT | LT]"""
    return _expire(client, argv, relative=True, seconds=False, name="pexpire")


@command(
    "expireat",
    arity=-3,
    flags=("write", "fast"),
    keys=(1, 1, 1),
    group="generic",
    summary="Set the expiration for a key as a UNIX timestamp",
    since="1.2.0",
    syntax=_EXPIRE_SYNTAX.format("unix-time-seconds"),
    complexity="O(1)",
    acl_categories=("keyspace", "write", "fast"),
    key_specs=(KeySpec(flags=("RW", "update")),),
)
def expireat(client: Client, argv: list[bytes]) -> Reply:
    """EXPIREAT key unix-time-seconds [NX | XX | GT | LT]"""
    return _expire(client, argv, relative=False, seconds=True, name="expireat")


@command(
    "pexpireat",
    arity=-3,
    flags=("write", "fast"),
    keys=(1, 1, 1),
    group="generic",
    summary="Set the expiration for a key as a UNIX timestamp specified in milliseconds",
    since="2.6.0",
    syntax=_EXPIRE_SYNTAX.format("unix-time-milliseconds"),
    complexity="O(1)",
    acl_categories=("keyspace", "write", "fast"),
    key_specs=(KeySpec(flags=("RW", "update")),),
)
def pexpireat(client: Client, argv: list[bytes]) -> Reply:
    """PEXPIREAT key unix-time-milliseconds [NX | XX | GT | LT]"""
    return _expire(client, argv, relative=False, seconds=False, name="pexpireat")


# -- TTL, PTTL, PERSIST -------------------------------------------------------------------------
def _ttl_ms(client: Client, key: bytes) -> int | None:
    """Milliseconds left (never negative), -1 without a TTL, ``None`` if the key is missing."""
    db = client.db
    if db.peek_read(key) is None:
        return None
    when = db.get_expire(key)
    if when is None:
        return -1
    return max(when - client.ctx.keyspace.clock(), 0)


@command(
    "ttl",
    arity=2,
    flags=("readonly", "fast"),
    keys=(1, 1, 1),
    group="generic",
    summary="Get the time to live for a key in seconds",
    since="1.0.0",
    syntax="key",
    complexity="O(1)",
    acl_categories=("keyspace", "read", "fast"),
    tips=("nondeterministic_output",),
    key_specs=(KeySpec(flags=("RO", "access")),),
)
def ttl(client: Client, argv: list[bytes]) -> Reply:
    """TTL key

    Seconds left, rounded to the nearest second; -1 without a TTL, -2 if the key is missing.
    """
    left = _ttl_ms(client, argv[1])
    if left is None:
        return -2
    return left if left == -1 else (left + 500) // 1000


@command(
    "pttl",
    arity=2,
    flags=("readonly", "fast"),
    keys=(1, 1, 1),
    group="generic",
    summary="Get the time to live for a key in milliseconds",
    since="2.6.0",
    syntax="key",
    complexity="O(1)",
    acl_categories=("keyspace", "read", "fast"),
    tips=("nondeterministic_output",),
    key_specs=(KeySpec(flags=("RO", "access")),),
)
def pttl(client: Client, argv: list[bytes]) -> Reply:
    """PTTL key

    Milliseconds left; -1 without a TTL, -2 if the key is missing.
    """
    left = _ttl_ms(client, argv[1])
    return -2 if left is None else left


def _expire_time_ms(client: Client, key: bytes) -> int:
    """The deadline of ``key`` in Unix ms (0 for one before 1970); -1 without a TTL, -2 if the
    key is missing."""
    db = client.db
    if db.peek_read(key) is None:
        return -2
    when = db.get_expire(key)
    if when is None:
        return -1
    return max(when, 0)


@command(
    "expiretime",
    arity=2,
    flags=("readonly", "fast"),
    keys=(1, 1, 1),
    group="generic",
    summary="Get the expiration Unix timestamp for a key",
    since="7.0.0",
    syntax="key",
    complexity="O(1)",
    acl_categories=("keyspace", "read", "fast"),
    key_specs=(KeySpec(flags=("RO", "access")),),
)
def expiretime(client: Client, argv: list[bytes]) -> Reply:
    """EXPIRETIME key

    The Unix time in seconds at which the key expires, rounded to the nearest second as Redis
    rounds it; -1 without a TTL, -2 if the key is missing.
    """
    when = _expire_time_ms(client, argv[1])
    return when if when < 0 else (when + 500) // 1000


@command(
    "pexpiretime",
    arity=2,
    flags=("readonly", "fast"),
    keys=(1, 1, 1),
    group="generic",
    summary="Get the expiration Unix timestamp for a key in milliseconds",
    since="7.0.0",
    syntax="key",
    complexity="O(1)",
    acl_categories=("keyspace", "read", "fast"),
    key_specs=(KeySpec(flags=("RO", "access")),),
)
def pexpiretime(client: Client, argv: list[bytes]) -> Reply:
    """PEXPIRETIME key

    The Unix time in milliseconds at which the key expires; -1 without a TTL, -2 if the key is
    missing.
    """
    return _expire_time_ms(client, argv[1])


@command(
    "persist",
    arity=2,
    flags=("write", "fast"),
    keys=(1, 1, 1),
    group="generic",
    summary="Remove the expiration from a key",
    since="2.2.0",
    syntax="key",
    complexity="O(1)",
    acl_categories=("keyspace", "write", "fast"),
    key_specs=(KeySpec(flags=("RW", "update")),),
)
def persist(client: Client, argv: list[bytes]) -> Reply:
    """PERSIST key

    1 if a TTL was removed, 0 if the key is missing or had none.
    """
    db = client.db
    if db.lookup(argv[1]) is None or not db.persist(argv[1]):
        return 0
    client.ctx.dirty += 1
    return 1


# -- TYPE, KEYS, DBSIZE -------------------------------------------------------------------------
_NONE: Final = Status(b"none")
_TYPE_REPLIES: Final = {kind: Status(name) for kind, name in TYPE_NAMES.items()}


@command(
    "type",
    arity=2,
    flags=("readonly", "fast"),
    keys=(1, 1, 1),
    group="generic",
    summary="Determine the type stored at key",
    since="1.0.0",
    syntax="key",
    complexity="O(1)",
    acl_categories=("keyspace", "read", "fast"),
    key_specs=(KeySpec(flags=("RO",)),),
)
def type_(client: Client, argv: list[bytes]) -> Reply:
    """TYPE key

    A status reply: string, list, set, zset, hash, stream, or none.
    """
    value = client.db.peek_read(argv[1])
    if value is None:
        return _NONE
    return _TYPE_REPLIES[type(value)]


@command(
    "keys",
    arity=2,
    flags=("readonly",),
    keys=(0, 0, 0),
    group="generic",
    summary="Find all keys matching the given pattern",
    since="1.0.0",
    syntax="pattern",
    complexity="O(N) with N being the number of keys in the database, under the assumption that "
    "the key names in the database and the given pattern have limited length.",
    acl_categories=("keyspace", "read", "slow", "dangerous"),
    tips=(
        "request_policy:all_shards",
        "nondeterministic_output_order",
    ),
)
def keys(client: Client, argv: list[bytes]) -> Reply:
    """KEYS pattern

    Every key matching the glob ``pattern``. Expired keys are skipped but, as in Redis, not
    deleted here (the scan must not change the dict it walks).
    """
    db = client.db
    pattern = argv[1]
    expires = db.expires
    candidates: Iterable[bytes]
    if pattern == b"*":
        # As Redis: no matching at all, so "*" lists the empty key too (the matcher would not).
        if not expires:
            return list(db.data)
        candidates = db.data
    else:
        glob = compile_glob(pattern)
        literal = glob.literal
        if literal is None:
            found = glob.select(db.data)
        elif literal in db.data:
            found = [literal]  # a pattern without wildcards names one key: no scan needed
        else:
            return []
        if not expires or not found:
            return found
        candidates = found
    now = client.ctx.keyspace.clock()
    # A key without a TTL reads as due "now", which is not past: listed.
    return [key for key in candidates if expires.get(key, now) >= now]


@command(
    "randomkey",
    arity=1,
    # Redis also marks it touches_arbitrary_keys, a flag its COMMAND INFO does not show.
    flags=("readonly",),
    group="generic",
    summary="Return a random key from the keyspace",
    since="1.0.0",
    syntax="",
    complexity="O(1)",
    acl_categories=("keyspace", "read", "slow"),
    tips=(
        "request_policy:all_shards",
        "nondeterministic_output",
    ),
)
def randomkey(client: Client, argv: list[bytes]) -> Reply:
    """RANDOMKEY

    A key of the selected database chosen at random, or null when it has none. Expired keys are
    never returned: the ones met on the way are removed (and their ``DEL`` propagated), as
    Redis's ``dbRandomKey`` removes each expired key it draws.

    A dict has no random access, so the key is reached by skipping a random number of keys
    (C-speed iteration, O(N) at worst, where Redis is O(1)). From there the walk goes on, in
    dict order and wrapping around, past expired keys to the first live one: one pass at most,
    however many keys have expired (drawing anew after each, as Redis does, would cost a skip
    per expired key).
    """
    db = client.db
    data = db.data
    size = len(data)
    if size == 0:
        return None
    start = random.randrange(size)
    keyspace = db.keyspace
    expires = db.expires
    if not expires or keyspace.loading:
        return next(islice(data, start, None))
    now = keyspace.clock()
    expired: list[bytes] = []
    found: bytes | None = None
    for key in chain(islice(data, start, None), islice(data, start)):
        if expires.get(key, now) < now:
            expired.append(key)
        else:
            found = key
            break
    # Removed once the walk is over: the dict must not change under its iterator.
    for key in expired:
        keyspace.expire_if_due(db, key)
    return found


@command(
    "dbsize",
    arity=1,
    flags=("readonly", "fast"),
    keys=(0, 0, 0),
    group="server",
    summary="Return the number of keys in the selected database",
    since="1.0.0",
    syntax="",
    complexity="O(1)",
    acl_categories=("keyspace", "read", "fast"),
    tips=(
        "request_policy:all_shards",
        "response_policy:agg_sum",
    ),
)
def dbsize(client: Client, argv: list[bytes]) -> Reply:
    """DBSIZE

    The number of keys, counting expired ones that nothing has removed yet (as Redis does).
    """
    return len(client.db)


# -- RENAME, RENAMENX, MOVE, COPY, SWAPDB -------------------------------------------------------
_INT_MIN: Final = -(2**31)
_INT_MAX: Final = 2**31 - 1


def _c_int(raw: bytes, error: str | None = None) -> int:
    """``raw`` as a C ``int`` (Redis's ``getIntFromObjectOrReply``): ``error`` for anything
    else when given, otherwise "not an integer" or, for a 64-bit integer too wide for an
    ``int``, "out of range"."""
    value = strict_int(raw)
    if value is None:
        raise CommandError(error or errors.NOT_INTEGER)
    if value < _INT_MIN or value > _INT_MAX:
        raise CommandError(error or errors.INT_OUT_OF_RANGE)
    return value


def _database(client: Client, raw: bytes) -> Database:
    """The database numbered ``raw`` (MOVE's and COPY's target)."""
    index = _c_int(raw)
    dbs = client.ctx.keyspace.dbs
    if index < 0 or index >= len(dbs):
        raise CommandError(errors.INVALID_DB)
    return dbs[index]


def _put(db: Database, key: bytes, value: Any, when: int | None, clock: int | None) -> None:
    """Store ``value`` at ``key`` with the deadline ``when`` (``None``: no TTL), replacing
    whatever ``key`` held and its TTL. The caller has looked ``key`` up, so it is not a key
    whose time has come (that one would have been removed). ``clock`` is the access clock the
    value brings along (RENAME, MOVE: the same object in Redis), ``None`` for a new object
    (COPY), whose clock starts now."""
    if clock is None:
        db.note_created(key)
    else:
        db.access[key] = clock
    data = db.data
    if db.keyspace.waited:
        db.note_stream_gone(key)  # a stream replaced: as deleted, for XREADGROUP's readers
    signal = db.keyspace.signal
    if signal.listening:
        # Redis deletes what stood at the destination, then adds the key: always a new one.
        signal.events.new_key(db.index, key)
    log = db.scan_log
    if log is not None and key not in data:
        data[key] = value
        log.add(key, data)
    else:
        data[key] = value
    expires = db.expires
    if when is not None:
        expires[key] = when
    elif expires:
        expires.pop(key, None)
    if db.keyspace.waited:
        db.note_ready(key)  # a list renamed, moved or copied where a client blocks


def _remove(db: Database, key: bytes) -> None:
    """Remove ``key``, which a lookup has just found. Raw dict operations rather than
    :meth:`Database.delete`, whose lookup would read the clock again: a key found alive must not
    expire halfway through the command that found it."""
    if db.keyspace.waited:
        db.note_stream_gone(key)  # its blocked XREADGROUP readers are answered
    del db.data[key]
    del db.access[key]
    if db.expires:
        db.expires.pop(key, None)


def _rename(client: Client, argv: list[bytes], nx: bool) -> Reply:
    db = client.db
    key = argv[1]
    newkey = argv[2]
    value = db.lookup(key)
    if value is None:
        raise CommandError(errors.NO_SUCH_KEY)
    if key == newkey:
        # Redis answers as if it had renamed, without changing (or propagating) anything.
        return 0 if nx else OK
    if db.lookup(newkey) is not None and nx:
        return 0
    _put(db, newkey, value, db.get_expire(key), db.access[key])
    _remove(db, key)
    encodings.moved(db, key, db, newkey, value)
    client.ctx.dirty += 1
    return 1 if nx else OK


@command(
    "rename",
    arity=3,
    flags=("write",),
    keys=(1, 2, 1),
    group="generic",
    summary="Rename a key",
    since="1.0.0",
    syntax="key newkey",
    complexity="O(1)",
    acl_categories=("keyspace", "write", "slow"),
    key_specs=(
        KeySpec(flags=("RW", "access", "delete"), lastkey=0),
        KeySpec(flags=("OW", "update"), index=2, lastkey=0),
    ),
)
def rename(client: Client, argv: list[bytes]) -> Reply:
    """RENAME key newkey

    Moves the value and its TTL to ``newkey``, replacing what it held. ``ERR no such key`` when
    ``key`` is missing (even when both names are the same).
    """
    return _rename(client, argv, nx=False)


@command(
    "renamenx",
    arity=3,
    flags=("write", "fast"),
    keys=(1, 2, 1),
    group="generic",
    summary="Rename a key, only if the new key does not exist",
    since="1.0.0",
    syntax="key newkey",
    complexity="O(1)",
    acl_categories=("keyspace", "write", "fast"),
    key_specs=(
        KeySpec(flags=("RW", "access", "delete"), lastkey=0),
        KeySpec(flags=("OW", "insert"), index=2, lastkey=0),
    ),
)
def renamenx(client: Client, argv: list[bytes]) -> Reply:
    """RENAMENX key newkey

    1 if renamed, 0 if ``newkey`` exists (or is ``key`` itself); ``ERR no such key`` when
    ``key`` is missing.
    """
    return _rename(client, argv, nx=True)


@command(
    "move",
    arity=3,
    flags=("write", "fast"),
    keys=(1, 1, 1),
    group="generic",
    summary="Move a key to another database",
    since="1.0.0",
    syntax="key db",
    complexity="O(1)",
    acl_categories=("keyspace", "write", "fast"),
    key_specs=(KeySpec(flags=("RW", "access", "update")),),
)
def move(client: Client, argv: list[bytes]) -> Reply:
    """MOVE key db

    1 if the key (with its TTL) moved to database ``db``, 0 if it is missing here or exists
    there. The target is checked before the key: naming the selected database is an error even
    for a missing key.
    """
    src = client.db
    dst = _database(client, argv[2])
    if dst is src:
        raise CommandError(errors.SAME_OBJECT)
    key = argv[1]
    value = src.lookup(key)
    if value is None or dst.lookup(key) is not None:
        return 0
    _put(dst, key, value, src.get_expire(key), src.access[key])
    _remove(src, key)
    if client.ctx.signal.listening:
        client.touched = [(src.index, key), (dst.index, key)]
    encodings.moved(src, key, dst, key, value)
    client.ctx.dirty += 1
    return 1


def _c_option(raw: bytes) -> bytes:
    """An option word as Redis's ``strcasecmp`` sees it: lower-cased, up to its first NUL."""
    end = raw.find(b"\0")
    return (raw if end < 0 else raw[:end]).lower()


def _duplicate(value: Any) -> Any:
    """A copy of ``value`` that shares nothing mutable with it (COPY's new key must not change
    when the old one does). The built-in collections hold bytes only, so a shallow copy is a
    deep one; any other type is deep-copied."""
    kind = type(value)
    if kind is bytes:
        return value
    if kind is bytearray:  # a string modified in place: the copy must not share its buffer
        return bytearray(value)
    if kind is deque:
        return deque(value)
    if kind is dict:
        return dict(value)
    if kind is set:
        return set(value)
    if kind is Stream:
        return value.copy()
    return copy.deepcopy(value)


@command(
    "copy",
    arity=-3,
    flags=("write", "denyoom"),
    keys=(1, 2, 1),
    group="generic",
    summary="Copy a key",
    since="6.2.0",
    syntax="source destination [DB destination-db] [REPLACE]",
    complexity="O(N) worst case for collections, where N is the number of nested items. O(1) "
    "for string values.",
    acl_categories=("keyspace", "write", "slow"),
    key_specs=(
        KeySpec(flags=("RO", "access"), lastkey=0),
        KeySpec(flags=("OW", "update"), index=2, lastkey=0),
    ),
)
def copy_(client: Client, argv: list[bytes]) -> Reply:
    """COPY source destination [DB destination-db] [REPLACE]

    1 if ``destination`` (in database ``destination-db``, by default the selected one) now holds
    a copy of ``source``'s value and TTL; 0 if ``source`` is missing or ``destination`` exists
    and REPLACE was not given. Options are read in order, each checked as it comes, so a bad
    index before a bad word is the error that answers.
    """
    src = client.db
    dst = src
    replace = False
    index = 3
    argc = len(argv)
    while index < argc:
        option = _c_option(argv[index])
        if option == b"replace":
            replace = True
        elif option == b"db" and index + 1 < argc:
            dst = _database(client, argv[index + 1])
            index += 1
        else:
            raise CommandError(errors.SYNTAX)
        index += 1
    key = argv[1]
    newkey = argv[2]
    if dst is src and key == newkey:
        raise CommandError(errors.SAME_OBJECT)
    # Redis reads the source with a read lookup: a missing one counts as a keyspace miss.
    value = src.lookup_read(key)
    if value is None:
        return 0
    if dst.lookup(newkey) is not None and not replace:
        return 0
    duplicate = encodings.copied(src, key, value, dst, newkey, _duplicate(value))
    _put(dst, newkey, duplicate, src.get_expire(key), None)
    if dst is not src and client.ctx.signal.listening:
        client.touched = [(dst.index, newkey)]  # written in another database
    client.ctx.dirty += 1
    return 1


def _swap_databases(first: Database, second: Database) -> None:
    """Exchange the contents of two databases. The :class:`Database` objects stay where they
    are, so every client that selected one sees the other's keys at once, as in Redis."""
    keyspace = first.keyspace
    if keyspace.waited:
        # A stream swapped away answers its blocked XREADGROUP readers, as Redis's
        # scanDatabaseForDeletedStreams (the loop below wakes those whose keys are there).
        for index, key in list(keyspace.waited):
            if index == first.index:
                first.note_stream_gone(key)
            elif index == second.index:
                second.note_stream_gone(key)
    first.data, second.data = second.data, first.data
    first.expires, second.expires = second.expires, first.expires
    first.access, second.access = second.access, first.access
    first.stamped, second.stamped = second.stamped, first.stamped
    first.stamped_keys, second.stamped_keys = second.stamped_keys, first.stamped_keys
    first.avg_ttl, second.avg_ttl = second.avg_ttl, first.avg_ttl
    first.marks, second.marks = second.marks, first.marks
    # SCAN's key logs go with the keys they list.
    first.scan_log, second.scan_log = second.scan_log, first.scan_log
    # Clients blocked in either database may now find their keys filled, as Redis checks.
    for db in (first, second):
        for index, key in list(db.keyspace.waited):
            if index == db.index and key in db.data:
                db.note_ready(key)


@command(
    "swapdb",
    arity=3,
    flags=("write", "fast"),
    group="server",
    summary="Swaps two Redis databases",
    since="4.0.0",
    syntax="index1 index2",
    complexity="O(N) where N is the count of clients watching or blocking on keys from both "
    "databases.",
    acl_categories=("keyspace", "write", "fast", "dangerous"),
)
def swapdb(client: Client, argv: list[bytes]) -> Reply:
    """SWAPDB index1 index2

    Swaps the keys (and TTLs) of two databases. Swapping a database with itself changes
    nothing but still counts as a change, and is propagated, as in Redis.
    """
    first = _c_int(argv[1], errors.SWAPDB_FIRST_INDEX)
    second = _c_int(argv[2], errors.SWAPDB_SECOND_INDEX)
    dbs = client.ctx.keyspace.dbs
    count = len(dbs)
    if first < 0 or first >= count or second < 0 or second >= count:
        raise CommandError(errors.INVALID_DB)
    if first != second:
        signal = client.ctx.signal
        if signal.listening:
            signal.database_replaced(dbs[first], dbs[second])
            signal.database_replaced(dbs[second], dbs[first])
        _swap_databases(dbs[first], dbs[second])
    client.ctx.dirty += 1
    return OK


# -- OBJECT ---------------------------------------------------------------------------------------
OBJECT = container(
    "object",
    group="generic",
    summary="A container for object introspection commands",
    since="2.2.3",
)
_OBJECT_KEY: Final = (KeySpec(flags=("RO",), index=2, lastkey=0),)
_OBJECT_TIPS: Final = ("nondeterministic_output",)


def _object_subcommand(name: str, summary: str, since: str) -> Callable[[Handler], Handler]:
    """The one declaration of ``OBJECT ENCODING|REFCOUNT|IDLETIME|FREQ key``."""
    return subcommand(
        OBJECT,
        name,
        arity=3,
        flags=("readonly",),
        keys=(2, 2, 1),
        summary=summary,
        since=since,
        syntax="key",
        complexity="O(1)",
        acl_categories=("keyspace",),
        tips=_OBJECT_TIPS,
        key_specs=_OBJECT_KEY,
    )


@_object_subcommand("encoding", "Inspect the internal encoding of a Redis object", "2.2.3")
def object_encoding(client: Client, argv: list[bytes]) -> Reply:
    """OBJECT ENCODING key

    The encoding Redis 7.0 would hold the value in (see :mod:`zyst.encodings`), null when the
    key is missing. Like every OBJECT subcommand, a read lookup: it counts a keyspace hit or
    miss, and does not count as an access of the key. O(n) for a collection small enough for
    its compact encoding (its members are looked at), O(1) otherwise.
    """
    db = client.db
    value = db.peek_read(argv[2], notify=False)
    if value is None:
        return None
    return encodings.encoding(db, argv[2], value, client.ctx.limits)


@_object_subcommand("refcount", "Get the number of references to the value of the key", "2.2.3")
def object_refcount(client: Client, argv: list[bytes]) -> Reply:
    """OBJECT REFCOUNT key

    1, or Redis's shared-object count (2147483647) for a small integer Redis would share;
    null when the key is missing.
    """
    db = client.db
    value = db.peek_read(argv[2], notify=False)
    if value is None:
        return None
    return encodings.refcount(db, argv[2], value, client.ctx.config)


@_object_subcommand("idletime", "Get the time since a Redis object was last accessed", "2.2.3")
def object_idletime(client: Client, argv: list[bytes]) -> Reply:
    """OBJECT IDLETIME key

    Whole seconds since the key was last accessed (see :mod:`zyst.access`); refused under an
    LFU policy, as in Redis, whose clocks then count accesses instead. Null when the key is
    missing. Not itself an access.
    """
    db = client.db
    key = argv[2]
    if db.peek_read(key, notify=False) is None:
        return None
    keyspace = db.keyspace
    if keyspace.lfu:
        raise CommandError(errors.OBJECT_LFU_SELECTED)
    return access.idle_seconds(db.access[key], keyspace.lru_clock)


@_object_subcommand(
    "freq", "Get the logarithmic access frequency counter of a Redis object", "4.0.0"
)
def object_freq(client: Client, argv: list[bytes]) -> Reply:
    """OBJECT FREQ key

    The key's logarithmic access counter, decayed to now (see :mod:`zyst.access`), only under
    an LFU policy (else an error, as in Redis). Null when the key is missing. Not itself an
    access.
    """
    db = client.db
    key = argv[2]
    if db.peek_read(key, notify=False) is None:
        return None
    keyspace = db.keyspace
    if not keyspace.lfu:
        raise CommandError(errors.OBJECT_LFU_NOT_SELECTED)
    return access.lfu_counter(db.access[key], keyspace.lru_clock, keyspace.lfu_decay_time)


_OBJECT_HELP: Final = [
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
]


@subcommand(
    OBJECT,
    "help",
    arity=2,
    flags=("loading", "stale"),
    summary="Show helpful text about the different subcommands",
    since="6.2.0",
    complexity="O(1)",
    acl_categories=("keyspace",),
)
def object_help(client: Client, argv: list[bytes]) -> Reply:
    """OBJECT HELP"""
    return help_reply(_OBJECT_HELP)
