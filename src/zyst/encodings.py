"""The encoding Redis 7.0 would give each value (``OBJECT ENCODING``), and its reference count
(``OBJECT REFCOUNT``), without storing anything per key on the paths that create and read keys.

Zyst keeps one representation per type (``bytes``, ``deque``, ``dict``, ``set``, ``ZSet``).
Redis 7.0 keeps two for most types and converts one way only, so what it answers depends on the
value's history, not just its contents:

=========== ================================ =============================================
type        compact encoding                 converted to, once and for good, when
=========== ================================ =============================================
string      ``int`` (a canonical 64-bit      (not converted: each write picks afresh)
            integer), else ``embstr`` up to
            44 bytes, else ``raw``
list        ``quicklist`` (always, in 7.0)
hash        ``listpack``                     a set field or value is longer than
                                             ``hash-max-listpack-value``, or the hash has
                                             more than ``hash-max-listpack-entries`` fields
                                             → ``hashtable``
set         ``intset`` (canonical integers)  a member is not such an integer, or there are
                                             more than ``set-max-intset-entries`` (at most
                                             2**30) → ``hashtable``
zset        ``listpack``                     an inserted member is longer than
                                             ``zset-max-listpack-value``, or there are more
                                             than ``zset-max-listpack-entries`` → ``skiplist``
=========== ================================ =============================================

How it is derived here
    The encoding is *computed* from the current contents and thresholds (:func:`fits`), which
    is what Redis has for any value whose contents never shrank back under the thresholds and
    whose thresholds did not change since it was last written. The history that makes the
    difference is recorded, only at the moments it happens, as a :class:`Mark` in the
    database's side table ``Database.marks`` (key → mark). A mark names the value object it is
    about and counts only while that very object is still the key's value (``mark.value is
    value``), so overwriting or deleting the key makes it stale without any work on those
    paths; stale marks are dropped when looked at, when their key is deleted (DEL, UNLINK,
    expiry, FLUSHDB), and a few per database on each cron tick (:func:`prune`).

    Marks are written at these moments, none of them on a path of the classic benchmark:

    - ``BIG``: a hash, set or sorted set that Redis holds in its big encoding shrinks to
      contents that would fit the compact one (HDEL, SREM, SPOP, SMOVE, ZREM, ZPOP*, ZMPOP,
      ZREMRANGEBY*; HSET, HMSET, HINCRBY, HINCRBYFLOAT overwriting a value longer than the
      limit with a shorter one): :func:`shrunk`.
    - (none for a string modified in place: APPEND, SETRANGE, SETBIT and BITFIELD leave a
      ``bytearray`` in the keyspace, which is ``raw`` by its type, as Redis makes those strings
      ``raw`` whatever their length.)
    - ``EMBSTR``: INCRBYFLOAT's result, which Redis stores as a plain string even when it
      spells an integer: :func:`float_string`.
    - ``UNSHARED``: a COPY of a small integer, which is a private object in Redis (REFCOUNT 1)
      where ``SET`` uses the shared one.
    - ``COMPACT``: after ``CONFIG SET`` of a threshold, a collection Redis keeps compact though
      its contents no longer fit (:func:`thresholds_changed` walks the keys of that type, so
      the change costs O(keys of the type), once). The mark keeps what is needed to tell later
      whether a write since converted it: the size (sets), the members (sorted sets) or the
      value objects (hashes) at the last check. Each removal hook above is such a check, and so
      is every read of the encoding.

    COPY copies the source's mark to the copy (Redis's copy keeps the encoding); RENAME and
    MOVE carry it along with the value; SWAPDB swaps the tables with the data. A SPOP with a
    count that takes most of a set rebuilds it in Redis (from the members left), which drops
    the mark. The AOF replays the same commands, so a restart makes the same marks again.

Cost
    Nothing per key and nothing on SET, GET, INCR, MSET, the list commands, SADD or HSET
    insertions. An HSET overwrite compares two lengths (and calls :func:`hash_overwritten`
    only when the value got shorter, or is the very same object); SPOP of one member that
    leaves the set non-empty calls :func:`set_popped`, which returns at once for a set above
    the intset limit. Measured with callgrind, per request through the dispatcher: no change
    on SET GET INCR LPUSH SADD and HSET (within ±15 instructions of 4,000-7,000), +50 (0.7%)
    on a SPOP that leaves a large set non-empty. A mark costs a dict entry and a small object
    for keys that had such a history.

Known differences (documented, not emulated)
    - An empty string made ``raw`` (APPEND of "" to an existing "") stays ``raw`` here after a
      later ``SET`` of "" again: CPython has a single empty ``bytes`` object, so the overwrite
      cannot be told apart. (One-byte results are stored as fresh objects for this reason.)
    - REFCOUNT of a small integer written while integer sharing was off (``maxmemory`` set with
      an LRU or LFU policy) follows the policy in force when it is asked, not the one in force
      when the integer was written. Inside MULTI, Redis's REFCOUNT of a value set earlier in the
      same transaction is 2 (the queued command still holds it); here it is 1.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any, Final

from zyst.numbers import strict_int
from zyst.types.stream import Stream
from zyst.types.zset import ZSet

if TYPE_CHECKING:
    from zyst.config import Config
    from zyst.keyspace import Database, Keyspace

# Mark kinds (see the module docstring).
EMBSTR: Final = 2
UNSHARED: Final = 3
BIG: Final = 4
COMPACT: Final = 5

# Redis's OBJ_ENCODING_EMBSTR_SIZE_LIMIT, OBJ_SHARED_INTEGERS and OBJ_SHARED_REFCOUNT (INT_MAX).
EMBSTR_SIZE_LIMIT: Final = 44
SHARED_INTEGERS: Final = 10000
SHARED_REFCOUNT: Final = 2**31 - 1
# The intset's own limit, which caps set-max-intset-entries.
INTSET_CAP: Final = 1 << 30
# Maxmemory policies under which Redis gives every integer its own object (the LRU and LFU ones).
_UNSHARED_POLICIES: Final = frozenset(
    {"volatile-lru", "allkeys-lru", "volatile-lfu", "allkeys-lfu"}
)
# How many marks of each database the cron looks at per tick.
PRUNE_PER_TICK: Final = 16

# Settings whose change can leave existing collections in an encoding their contents no longer
# decide, by the type they apply to (Redis 7 keeps the "ziplist" names as aliases).
THRESHOLD_SETTINGS: Final = (
    ("hash-max-listpack-entries", dict),
    ("hash-max-ziplist-entries", dict),
    ("hash-max-listpack-value", dict),
    ("hash-max-ziplist-value", dict),
    ("set-max-intset-entries", set),
    ("zset-max-listpack-entries", ZSet),
    ("zset-max-ziplist-entries", ZSet),
    ("zset-max-listpack-value", ZSet),
    ("zset-max-ziplist-value", ZSet),
    # Not an encoding switch in 7.0 (lists are always quicklists), but the RDB writer sizes
    # its list nodes by it (zyst.persistence.rdbvalues).
    ("list-max-listpack-size", deque),
    ("list-max-ziplist-size", deque),
)


class Limits:
    """The compact-encoding thresholds, as :class:`zyst.config.Config` has them. The server
    keeps one, updated by ``CONFIG SET`` (:func:`watch_thresholds`), so that the hooks read
    them as plain fields; a copy keeps the ones in force before a change."""

    __slots__ = (
        "hash_max_listpack_entries",
        "hash_max_listpack_value",
        "list_max_listpack_size",
        "set_max_intset_entries",
        "zset_max_listpack_entries",
        "zset_max_listpack_value",
    )

    def __init__(self, config: Config) -> None:
        self.hash_max_listpack_entries = config.hash_max_listpack_entries
        self.hash_max_listpack_value = config.hash_max_listpack_value
        self.set_max_intset_entries = config.set_max_intset_entries
        self.zset_max_listpack_entries = config.zset_max_listpack_entries
        self.zset_max_listpack_value = config.zset_max_listpack_value
        self.list_max_listpack_size = config.list_max_listpack_size

    def copy_from(self, other: Limits) -> None:
        self.hash_max_listpack_entries = other.hash_max_listpack_entries
        self.hash_max_listpack_value = other.hash_max_listpack_value
        self.set_max_intset_entries = other.set_max_intset_entries
        self.zset_max_listpack_entries = other.zset_max_listpack_entries
        self.zset_max_listpack_value = other.zset_max_listpack_value
        self.list_max_listpack_size = other.list_max_listpack_size

    def differ(self, other: Limits, kind: type) -> bool:
        """Whether ``other`` has other thresholds for collections of ``kind``."""
        if kind is dict:
            return (
                self.hash_max_listpack_entries != other.hash_max_listpack_entries
                or self.hash_max_listpack_value != other.hash_max_listpack_value
            )
        if kind is set:
            return self.set_max_intset_entries != other.set_max_intset_entries
        return (
            self.zset_max_listpack_entries != other.zset_max_listpack_entries
            or self.zset_max_listpack_value != other.zset_max_listpack_value
        )


class Mark:
    """What the history of one value object adds to its contents (see the module docstring).

    ``value`` is the object the mark is about; ``kind`` one of the kinds above. A ``COMPACT``
    mark also keeps, as of its last check, the collection's ``size`` and a ``snapshot``: the
    members of a sorted set (a frozenset) or the fields of a hash with their value objects (a
    dict)."""

    __slots__ = ("kind", "size", "snapshot", "value")

    def __init__(self, value: Any, kind: int, size: int = 0, snapshot: Any = None) -> None:
        self.value = value
        self.kind = kind
        self.size = size
        self.snapshot = snapshot


# -- reading -------------------------------------------------------------------------------------
def encoding(db: Database, key: bytes, value: Any, limits: Limits) -> bytes:
    """The encoding Redis would report for ``value``, the value of ``key`` in ``db``."""
    kind = type(value)
    if kind is deque:
        return b"quicklist"
    if kind is bytearray:
        return b"raw"  # modified in place
    if kind is Stream:
        return b"stream"
    mark = _mark(db, key, value)
    if kind is bytes:
        if mark is not None and mark.kind == EMBSTR:
            return b"embstr" if len(value) <= EMBSTR_SIZE_LIMIT else b"raw"
        return string_encoding(value)
    compact = _COMPACT_NAMES[kind]
    if mark is not None:
        if mark.kind == BIG:
            return _BIG_NAMES[kind]
        if mark.kind == COMPACT:
            if _still_compact(mark, value, len(value), (), limits):
                return compact
            mark.kind = BIG
            mark.snapshot = None
            return _BIG_NAMES[kind]
    return compact if fits(value, limits) else _BIG_NAMES[kind]


def refcount(db: Database, key: bytes, value: Any, config: Config) -> int:
    """The reference count Redis would report: its shared-integer count for an integer string
    from 0 to 9999 that Redis would have shared, else 1."""
    if type(value) is not bytes or len(value) > 4:
        return 1
    number = strict_int(value)
    if number is None or number < 0 or number >= SHARED_INTEGERS:
        return 1
    if config.maxmemory and config.maxmemory_policy in _UNSHARED_POLICIES:
        return 1
    mark = _mark(db, key, value)
    if mark is not None and mark.kind != BIG:
        return 1  # copied (UNSHARED), or a string Redis holds as raw or embstr
    return SHARED_REFCOUNT


def string_encoding(value: bytes) -> bytes:
    """A string's encoding as Redis picks it when it stores a value it received (``SET``,
    ``MSET``, ``INCR`` ...): ``int`` for a canonical 64-bit integer, ``embstr`` up to 44 bytes,
    else ``raw``."""
    size = len(value)
    if size <= 20 and strict_int(value) is not None:
        return b"int"
    return b"embstr" if size <= EMBSTR_SIZE_LIMIT else b"raw"


def fits(value: Any, limits: Limits) -> bool:
    """Whether the collection ``value`` fits its type's compact encoding under ``limits``.
    O(n), and only up to the entry limit (a larger collection does not fit)."""
    kind = type(value)
    if kind is set:
        if len(value) > min(limits.set_max_intset_entries, INTSET_CAP):
            return False
        return all(strict_int(member) is not None for member in value)
    if kind is dict:
        if len(value) > limits.hash_max_listpack_entries:
            return False
        longest = limits.hash_max_listpack_value
        return all(len(f) <= longest and len(v) <= longest for f, v in value.items())
    if kind is ZSet:
        if len(value) > limits.zset_max_listpack_entries:
            return False
        longest = limits.zset_max_listpack_value
        return all(len(member) <= longest for member in value.scores)
    return True


_COMPACT_NAMES: Final[dict[type, bytes]] = {set: b"intset", dict: b"listpack", ZSet: b"listpack"}
_BIG_NAMES: Final[dict[type, bytes]] = {set: b"hashtable", dict: b"hashtable", ZSet: b"skiplist"}


def _mark(db: Database, key: bytes, value: Any) -> Mark | None:
    """The mark of ``key`` if it is about ``value``; a stale one is dropped."""
    marks = db.marks
    if not marks:
        return None
    mark: Mark | None = marks.get(key)
    if mark is None:
        return None
    if mark.value is not value:
        del marks[key]
        return None
    return mark


def _max_entries(kind: type, limits: Limits) -> int:
    if kind is set:
        return min(limits.set_max_intset_entries, INTSET_CAP)
    if kind is dict:
        return limits.hash_max_listpack_entries
    return limits.zset_max_listpack_entries


def _too_long(kind: type, element: bytes, limits: Limits) -> bool:
    """Whether ``element`` alone keeps a collection of ``kind`` out of its compact encoding."""
    if kind is set:
        return strict_int(element) is None
    if kind is dict:
        return len(element) > limits.hash_max_listpack_value
    return len(element) > limits.zset_max_listpack_value


# -- the moments history matters -------------------------------------------------------------------
def float_string(db: Database, key: bytes, value: bytes) -> bytes:
    """``value`` (INCRBYFLOAT's result) is about to be stored at ``key``: Redis stores it as it
    is, ``embstr`` even when it spells an integer. Returns the object to store."""
    if len(value) <= 20 and strict_int(value) is not None:
        if len(value) == 1:
            value = value[0].to_bytes(1, "big")
        db.marks[key] = Mark(value, EMBSTR)
    return value


def shrunk(
    db: Database, key: bytes, value: Any, size_before: int, removed: Any, limits: Limits
) -> None:
    """Members (fields) were just removed from the collection ``value`` at ``key``, or (hashes)
    a field's value was overwritten: ``size_before`` is the length before, ``removed`` what
    left it (set or sorted-set members; a hash's removed fields and values, or the overwritten
    value). If Redis held it in its big encoding and the contents now fit the compact one,
    mark it ``BIG``; check and refresh a ``COMPACT`` mark."""
    if not value:
        return  # the key goes with it
    kind = type(value)
    mark = _mark(db, key, value)
    if mark is not None:
        if mark.kind == COMPACT:
            if not _still_compact(mark, value, size_before, removed, limits):
                mark.kind = BIG
                mark.snapshot = None
            elif fits(value, limits):
                del db.marks[key]  # the contents decide again
            else:
                _take_snapshot(mark, value)
        return  # BIG stays BIG; a string's marks do not concern collections
    if len(value) > _max_entries(kind, limits):
        return  # still too large: the contents say it all
    was_big = size_before > _max_entries(kind, limits) or any(
        _too_long(kind, element, limits) for element in removed
    )
    if was_big and fits(value, limits):
        db.marks[key] = Mark(value, BIG)


def set_popped(
    db: Database, key: bytes, members: set[bytes], member: bytes, limits: Limits
) -> None:
    """SPOP took ``member`` from the set ``members``, which is not empty: :func:`shrunk`,
    after the checks that rule it out cheaply (a set still above the entry limit, or one that
    lost an integer without crossing the limit, is where its contents say it is)."""
    size = len(members)
    if db.marks and key in db.marks:
        shrunk(db, key, members, size + 1, (member,), limits)
        return
    limit = limits.set_max_intset_entries
    if size > limit:
        return
    limit = min(limit, INTSET_CAP)
    if size <= limit and (size == limit or strict_int(member) is None):
        shrunk(db, key, members, size + 1, (member,), limits)


def hash_overwritten(
    db: Database,
    key: bytes,
    hash_: dict[bytes, bytes],
    field: bytes,
    old: bytes,
    limits: Limits,
) -> None:
    """A hash field's value ``old`` was just replaced (HSET, HMSET, HINCRBY, HINCRBYFLOAT).
    The handlers call this only when the new value is shorter, or the very same object; an
    overwrite with a value as long or longer cannot make a big hash fit."""
    mark = _mark(db, key, hash_)
    if mark is not None and mark.kind == COMPACT:
        new = hash_[field]
        hash_[field] = old  # check the mark against the hash as it was before this write
        holds = _still_compact(mark, hash_, len(hash_), (), limits)
        hash_[field] = new
        # This write is a set too: Redis converts on a long field or value, or too many fields.
        if not holds or _set_converts(field, new, len(hash_), limits):
            mark.kind = BIG
            mark.snapshot = None
        elif fits(hash_, limits):
            del db.marks[key]
        else:
            _take_snapshot(mark, hash_)
        return
    shrunk(db, key, hash_, len(hash_), (old,), limits)


def converted(db: Database, key: bytes, value: Any) -> None:
    """Redis converted the collection ``value`` at ``key`` to its big encoding whatever its
    contents (SORT does this to a sorted set): from now on it is ``BIG``."""
    mark = _mark(db, key, value)
    if mark is not None:
        mark.kind = BIG
        mark.snapshot = None
    else:
        db.marks[key] = Mark(value, BIG)


def rebuilt(db: Database, key: bytes) -> None:
    """Redis replaced the collection at ``key`` by a new one built from its contents (SPOP
    with a count that takes most of a set): whatever its history was, it no longer counts."""
    if db.marks:
        db.marks.pop(key, None)


def forget(db: Database, key: bytes) -> None:
    """``key`` was deleted or overwritten by something other than a write the marks follow."""
    if db.marks:
        db.marks.pop(key, None)


def moved(src: Database, key: bytes, dst: Database, newkey: bytes, value: Any) -> None:
    """RENAME, MOVE: ``value`` went from ``key`` in ``src`` to ``newkey`` in ``dst``, same
    object, same encoding."""
    mark = _mark(src, key, value)
    if mark is not None:
        del src.marks[key]
        dst.marks[newkey] = mark
    elif dst.marks:
        dst.marks.pop(newkey, None)


def copied(src: Database, key: bytes, value: Any, dst: Database, newkey: bytes, copy: Any) -> Any:
    """COPY: ``copy`` of ``value`` is about to be stored at ``newkey`` in ``dst``; returns the
    object to store. Redis's copy keeps the encoding, and a copied integer is a private object
    (REFCOUNT 1): a one-byte string is then stored as a fresh object (CPython shares those,
    so a mark could not tell a later ``SET`` of the same byte apart)."""
    mark = _mark(src, key, value)
    if mark is not None:
        snapshot = mark.snapshot
        if type(snapshot) is dict:
            snapshot = dict(snapshot)  # the copy's values are the same objects
        dst.marks[newkey] = Mark(copy, mark.kind, mark.size, snapshot)
    elif type(copy) is bytes and len(copy) <= 4 and strict_int(copy) is not None:
        if len(copy) == 1:
            copy = copy[0].to_bytes(1, "big")
        dst.marks[newkey] = Mark(copy, UNSHARED)
    elif dst.marks:
        dst.marks.pop(newkey, None)
    return copy


def loaded(db: Database, key: bytes, value: Any, compact: bool, limits: Limits) -> None:
    """``value`` was just stored at ``key`` from an RDB object (RESTORE), ``compact`` when
    that object was a hash or sorted set in its compact encoding (listpack, ziplist). Redis's
    loader converts such a one only when it has too many entries, not for a long field, value
    or member: one whose contents would not fit is kept compact, so it is marked so."""
    kind = type(value)
    if not compact or (kind is not dict and kind is not ZSet):
        return
    if len(value) > _max_entries(kind, limits) or fits(value, limits):
        return
    mark = db.marks[key] = Mark(value, COMPACT)
    _take_snapshot(mark, value)


# -- CONFIG SET of a threshold ---------------------------------------------------------------------
def thresholds_changed(keyspace: Keyspace, kind: type, old: Limits, new: Limits) -> None:
    """The thresholds of ``kind``'s collections went from ``old`` to ``new``. Redis converts
    nothing now, and later only by the new ones; so every collection of that type whose
    encoding the new thresholds would compute differently is marked with the one it has."""
    for db in keyspace.dbs:
        for key, value in db.data.items():
            if type(value) is not kind:
                continue
            big = encoding(db, key, value, old) == _BIG_NAMES[kind]
            fits_now = fits(value, new)
            mark = _mark(db, key, value)
            if big:
                if mark is None and fits_now:
                    db.marks[key] = Mark(value, BIG)
            elif fits_now:
                if mark is not None:
                    del db.marks[key]  # a COMPACT mark that the contents make redundant
            else:
                if mark is None:
                    mark = db.marks[key] = Mark(value, COMPACT)
                _take_snapshot(mark, value)


def watch_thresholds(config: Config, keyspace: Keyspace) -> Limits:
    """The thresholds of ``config``, kept up to date as ``CONFIG SET`` changes them, and
    :func:`thresholds_changed` run for each type whose thresholds moved. One CONFIG SET may
    change several: the first notification handles them all, so the thresholds compared are
    always those before the command and those after it."""
    limits = Limits(config)
    old = Limits(config)

    def changed(name: str) -> None:
        old.copy_from(limits)
        limits.copy_from(Limits(config))
        for kind in (dict, set, ZSet):
            if old.differ(limits, kind):
                thresholds_changed(keyspace, kind, old, limits)

    for setting, _ in THRESHOLD_SETTINGS:
        config.on_change(setting, changed)
    return limits


def _take_snapshot(mark: Mark, value: Any) -> None:
    mark.size = len(value)
    kind = type(value)
    if kind is dict:
        mark.snapshot = dict(value)
    elif kind is ZSet:
        mark.snapshot = frozenset(value.scores)


def _set_converts(field: bytes, value: bytes, size: int, limits: Limits) -> bool:
    """Whether setting ``field`` to ``value`` converts a listpack hash of ``size`` fields
    (after the set): Redis's ``hashTypeSet`` rule."""
    longest = limits.hash_max_listpack_value
    return len(field) > longest or len(value) > longest or size > limits.hash_max_listpack_entries


def _still_compact(mark: Mark, value: Any, size_before: int, removed: Any, limits: Limits) -> bool:
    """Whether a collection marked ``COMPACT`` at its last check is still compact in Redis,
    given the writes since: no removal happened since the check (each removal checks first),
    so the size only grew, and the writes are what differs from the mark's snapshot.
    ``removed`` are the elements the removal being checked took out (none when only read)."""
    kind = type(value)
    if kind is set:
        # Any insertion converts a set whose size is above the limit (the mark exists only
        # while it is), and insertions are the only way its size grows.
        return size_before == mark.size
    if kind is ZSet:
        members: frozenset[bytes] = mark.snapshot
        inserted = [m for m in value.scores if m not in members]
        inserted += [m for m in removed if m not in members]
        if not inserted:
            return True
        if size_before > limits.zset_max_listpack_entries:
            return False
        longest = limits.zset_max_listpack_value
        return all(len(member) <= longest for member in inserted)
    # A hash: every set (insert or update) converts when the hash then has too many fields or
    # the field or value is too long. The fields set since the check are the new ones and
    # those whose value object changed; the removed ones are checked by pairs.
    fields: dict[bytes, bytes] = mark.snapshot
    touched = [(f, v) for f, v in value.items() if fields.get(f) is not v]
    touched += [
        (removed[i], removed[i + 1])
        for i in range(0, len(removed) - 1, 2)
        if fields.get(removed[i]) is not removed[i + 1]
    ]
    if not touched:
        return True
    if size_before > limits.hash_max_listpack_entries:
        return False
    return not any(_set_converts(f, v, 0, limits) for f, v in touched)


# -- housekeeping ----------------------------------------------------------------------------------
def prune(keyspace: Keyspace, per_db: int = PRUNE_PER_TICK) -> None:
    """Drop stale marks, a few per database (the cron calls this on each tick): each look
    takes the oldest mark, and puts it back at the end if it still counts."""
    for db in keyspace.dbs:
        marks = db.marks
        if not marks:
            continue
        data = db.data
        for _ in range(min(per_db, len(marks))):
            key = next(iter(marks))
            mark = marks.pop(key)
            if data.get(key) is mark.value:
                marks[key] = mark
