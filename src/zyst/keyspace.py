"""The databases: keys mapped to typed values, with absolute expiry times. No I/O here.

Value types (the Python type *is* the Redis type, so a type check is one ``type(v) is`` test):

=========== ========================== ==========
Redis type  Python value               ``TYPE``
=========== ========================== ==========
string      ``bytes`` or ``bytearray`` string
list        ``collections.deque``      list
hash        ``dict[bytes, bytes]``     hash
set         ``set[bytes]``             set
zset        :class:`~zyst.types.zset.ZSet` zset
stream      :class:`~zyst.types.stream.Stream` stream
=========== ========================== ==========

A string is ``bytes`` until a command modifies it in place (APPEND, SETRANGE, SETBIT, BITFIELD's
SET and INCRBY): :meth:`Database.unshare` then copies it once into a ``bytearray`` stored in its
place, which those commands grow and patch from then on (amortized O(size of the change), like
Redis's "raw" strings; a ``bytearray`` *is* what Redis's ``OBJECT ENCODING`` calls ``raw`` after
such a change). A command that stores a new string (SET, INCR, ...) stores ``bytes`` again.
Who sees which:

- :meth:`Database.get_string` and :meth:`Database.get_string_for_write` always answer
  ``bytes``: a ``bytearray`` is copied on the way out (the reply costs that copy anyway) and
  stays stored. Not storing the copy back keeps the next in-place change free of a copy back,
  and keeps the stored type what Redis's encoding would be (GET does not turn a raw string
  into an embstr). Their hot path, a ``bytes`` value, pays nothing for this: the
  ``bytearray`` test sits behind the failed ``bytes`` test, in a helper of its own.
- :meth:`Database.get_buffer` and :meth:`Database.get_buffer_for_write` answer either, without
  copying, for commands that only read lengths, bytes or slices (STRLEN, GETRANGE, GETBIT,
  BITCOUNT, BITPOS, BITFIELD) or that go on to modify it through :meth:`Database.unshare`.
- :meth:`Database.lookup` and :meth:`Database.lookup_read` answer the stored object as it is,
  with no test added to the path of every lookup (converting there would also copy a big
  bitmap for each EXPIRE, TYPE or EXISTS). Their callers that read a string's content (MGET,
  LCS, BITOP, SORT's patterns, COPY, MEMORY USAGE, the AOF rewrite) take either type, and so
  must code that reads ``data`` itself (:data:`TYPE_NAMES` names both ``string``).

A ``bytearray`` never leaves in a reply nor in a propagated command: a reply may be kept and
encoded later (EXEC), when a later command may have changed the buffer.

Invariants:

- ``Database.expires`` holds a key only if ``Database.data`` holds it; times are absolute Unix
  milliseconds.
- A list, hash, set or sorted set is never empty in ``data``: the command that empties it
  deletes the key (handlers call :meth:`Database.delete_if_empty`).
- A key expires once the clock is *past* its deadline (``now > when``, as in Redis): at its
  deadline millisecond it still exists.
- A key whose time has come is never returned by a lookup, nor overwritten in place: lookups
  and :meth:`Database.set_value` delete it first (lazy expiry) and report it through
  :attr:`Keyspace.on_expired`, so the deletion can be propagated as ``DEL`` before the command
  that touched it. The active cycle in :mod:`zyst.expiry` removes the ones nobody reads.
- While :attr:`Keyspace.paused` (CLIENT PAUSE, or a replica: zyst.replication.replica) a key
  whose time has come looks missing to lookups but is not deleted (nor counted, nor reported),
  and the active cycle does not run: the data stays as it was until the pause ends, or until
  the replica's primary sends the ``DEL``, as in Redis.
- While :attr:`Keyspace.loading` (the AOF being replayed) nothing expires, as in Redis: the file
  says what was done to a key before its deadline passed, so a replayed ``INCR`` must find the
  key its original found. Keys past their deadline go once loading is over.
- Read lookups (:meth:`Database.lookup_read`, :meth:`Database.get_string`,
  :meth:`Database.get_typed`) count a hit or a miss (INFO's ``keyspace_hits`` and
  ``keyspace_misses``), as Redis's ``lookupKeyRead``: a key that is there is a hit, a missing or
  expired one a miss, whatever its type. The lookups of write commands
  (:meth:`Database.lookup`, the ``*_for_write`` ones, :meth:`Database.get_or_create`) count
  nothing, as Redis's ``lookupKeyWrite``.
- Once SCAN has made a database's :attr:`Database.scan_log`, every key that enters ``data``
  where there was none is added to it (:meth:`zyst.scanning.KeyLog.add`), or SCAN could miss
  it: :meth:`Database.set_value`, :meth:`Database.get_or_create` and :meth:`Database.add` do
  so, and so must any code that stores into ``data`` directly. Deletions need not tell it
  anything.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

from zyst import access, errors
from zyst.errors import CommandError
from zyst.notify import KeySignal
from zyst.scanning import CollectionScans, KeyLog
from zyst.types.stream import Stream
from zyst.types.zset import ZSet

Value = Any  # bytes | bytearray | deque[bytes] | dict[bytes, bytes] | set[bytes] | ZSet | Stream

TYPE_NAMES: dict[type, bytes] = {
    bytes: b"string",
    bytearray: b"string",  # a string modified in place (see the module docstring)
    deque: b"list",
    dict: b"hash",
    set: b"set",
    ZSet: b"zset",
    Stream: b"stream",
}


# Slots of each database's table of recently stamped keys (Database.lookup), less one.
_STAMPED_MASK = 2047


def _stamp_slot(key: bytes) -> int:
    """The slot of ``key`` in a database's table of recently stamped keys: a mix of its length
    and of a few of its bytes (the last ones, where ids usually differ, and the middle one).
    Not ``hash(key)``: compiled, a full-width hash is a boxed integer, which costs more than the
    store the table saves; a poor spread only costs hits, never correctness."""
    size = len(key)
    if size < 3:
        return (size * 131 + (key[0] if size else 0)) & _STAMPED_MASK
    mixed = ((key[size - 1] * 31 + key[size - 2]) * 31 + key[size - 3]) * 31 + key[size >> 1]
    return (mixed + size * 7) & _STAMPED_MASK


def _as_bytes(value: Value) -> bytes:
    """A stored value that is not ``bytes`` as a string: a copy of a ``bytearray``, WRONGTYPE
    for anything else. Kept out of the string lookups so their ``bytes`` path stays as short as
    it was (compiled, the extra branch cost instructions on every GET)."""
    if type(value) is bytearray:
        return bytes(value)
    raise CommandError(errors.WRONGTYPE)


def wall_clock_ms() -> int:
    """The current Unix time in milliseconds (the default clock)."""
    return time.time_ns() // 1_000_000


class Database:
    """One numbered database (``SELECT n``)."""

    __slots__ = (
        "access",
        "avg_ttl",
        "data",
        "expires",
        "hits",
        "index",
        "keyspace",
        "marks",
        "misses",
        "scan_log",
        "stamped",
        "stamped_keys",
    )

    def __init__(self, index: int, keyspace: Keyspace) -> None:
        self.index = index
        self.keyspace = keyspace
        self.data: dict[bytes, Value] = {}
        self.expires: dict[bytes, int] = {}
        # Each key's access clock (zyst.access): the LRU clock of its last access, or its LFU
        # value under an LFU policy. Holds exactly the keys of ``data``.
        self.access: dict[bytes, int] = {}
        # Which key each slot last stamped, and with which clock (see lookup). Invariant: when
        # stamped[i] is the keyspace's current stamp, access[stamped_keys[i]] holds it too.
        self.stamped: list[Any] = [None] * (_STAMPED_MASK + 1)
        self.stamped_keys: list[bytes] = [b""] * (_STAMPED_MASK + 1)
        # Read lookups of this database that found their key, and that did not. Kept here
        # rather than on the Keyspace so counting is one field of ``self``: INFO sums them.
        self.hits = 0
        self.misses = 0
        # The active expiry cycle's running estimate of the time left to the keys with a TTL
        # (ms), as Redis keeps it for INFO keyspace; 0 when there are none.
        self.avg_ttl = 0
        # The encodings' side table (zyst.encodings): key -> Mark, for the few keys whose
        # history Redis's OBJECT ENCODING would show. Written only off the hot paths.
        self.marks: dict[bytes, Any] = {}
        # SCAN's list of the keys, made by the first SCAN of this database (zyst.scanning).
        # While it exists, every key that enters ``data`` anew must be added to it.
        self.scan_log: KeyLog | None = None

    # -- lookups (all of them apply lazy expiry) -------------------------------------------
    def lookup(self, key: bytes) -> Value | None:
        """The value at ``key``, or ``None`` if it is missing or expired; not counted in the
        statistics (the lookup of a write command, or the server's own). Counts as an access
        of the key (its access clock moves)."""
        value = self.data.get(key)
        if value is None or (self.expires and self._expired_now(key)):
            return None
        keyspace = self.keyspace
        if keyspace.lfu:
            self._accessed_lfu(key)
            return value
        # The clock has a resolution of a second: a key already stamped with this second's
        # clock needs no store. The small table below remembers, per slot of the key's hash,
        # the last key stamped there and with which clock, so a hot key costs one compare
        # rather than a dict store (a tenth of the cost). It only ever skips a store that would
        # write what the access dict already holds.
        stamp = keyspace.lru_stamp
        slot = _stamp_slot(key)
        stamped = self.stamped
        if stamped[slot] is stamp and self.stamped_keys[slot] == key:
            return value
        self.access[key] = stamp
        stamped[slot] = stamp
        self.stamped_keys[slot] = key
        return value

    def peek(self, key: bytes) -> Value | None:
        """:meth:`lookup` that is not an access of the key (Redis's ``LOOKUP_NOTOUCH``: EXISTS,
        TYPE, TTL and the like, OBJECT, SCAN's TYPE filter), not counted either."""
        value = self.data.get(key)
        if value is None or (self.expires and self._expired_now(key)):
            return None
        return value

    def _expired_now(self, key: bytes) -> bool:
        """Expire the stored ``key`` if its time has come (not while loading); whether it did.
        Called only when some key has a TTL."""
        expires = self.expires
        keyspace = self.keyspace
        if key in expires and expires[key] < keyspace.clock() and not keyspace.loading:
            if not keyspace.paused:
                self._expire_now(key)
            return True
        return False

    def peek_read(self, key: bytes, notify: bool = True) -> Value | None:
        """:meth:`peek` for a read command: counts a hit or a miss, and a miss is a ``keymiss``
        event unless not ``notify`` (OBJECT: Redis's ``LOOKUP_NONOTIFY``)."""
        value = self.peek(key)
        if value is None:
            self.misses += 1
            if notify and self.keyspace.signal.listening:
                self.keyspace.signal.missed(self.index, key)
        else:
            self.hits += 1
        return value

    def _accessed_lfu(self, key: bytes) -> None:
        keyspace = self.keyspace
        clock = keyspace.lru_clock
        value = self.access.get(key)
        self.access[key] = (
            access.lfu_new(clock)
            if value is None
            else access.lfu_accessed(value, clock, keyspace.lfu_log_factor, keyspace.lfu_decay_time)
        )

    def note_created(self, key: bytes) -> None:
        """Start the access clock of ``key``, just given a new value object (stored where there
        was none, or a copy): code that stores into ``data`` itself calls this."""
        keyspace = self.keyspace
        self.access[key] = (
            access.lfu_new(keyspace.lru_clock) if keyspace.lfu else keyspace.lru_stamp
        )

    def set_access(self, key: bytes, clock: int) -> None:
        """Set the access clock of the stored ``key`` to ``clock`` (RESTORE's IDLETIME and
        FREQ): its stamp of this second is forgotten, so that its next access counts."""
        self.access[key] = clock
        slot = _stamp_slot(key)
        if self.stamped_keys[slot] == key:
            self.stamped[slot] = None

    def lookup_read(self, key: bytes) -> Value | None:
        """:meth:`lookup` for a read command: counts a hit or a miss."""
        value = self.lookup(key)
        if value is None:
            self.misses += 1
            if self.keyspace.signal.listening:
                self.keyspace.signal.missed(self.index, key)
        else:
            self.hits += 1
        return value

    def exists(self, key: bytes) -> bool:
        return self.lookup(key) is not None

    def get_string(self, key: bytes) -> bytes | None:
        """The string at ``key`` for a read command (counted), ``None`` if missing; always
        ``bytes`` (a copy of a string modified in place)."""
        value = self.lookup_read(key)
        if value is None or type(value) is bytes:
            return value
        return _as_bytes(value)

    def get_string_for_write(self, key: bytes) -> bytes | None:
        """:meth:`get_string` for a write command (not counted)."""
        value = self.lookup(key)
        if value is None or type(value) is bytes:
            return value
        return _as_bytes(value)

    def get_buffer(self, key: bytes) -> bytes | bytearray | None:
        """The string at ``key`` as stored, ``bytes`` or ``bytearray``, not copied; for a read
        command (counted). The caller reads it and lets no ``bytearray`` out in a reply."""
        value = self.lookup_read(key)
        if value is None or type(value) is bytes or type(value) is bytearray:
            return value
        raise CommandError(errors.WRONGTYPE)

    def get_buffer_for_write(self, key: bytes) -> bytes | bytearray | None:
        """:meth:`get_buffer` for a write command (not counted)."""
        value = self.lookup(key)
        if value is None or type(value) is bytes or type(value) is bytearray:
            return value
        raise CommandError(errors.WRONGTYPE)

    def unshare(self, key: bytes, value: bytes | bytearray) -> bytearray:
        """The string at ``key``, which :meth:`get_buffer_for_write` has just returned as
        ``value``, as a ``bytearray`` the caller may change in place (Redis's
        ``dbUnshareStringValue``): ``bytes`` are copied once into one stored in their place,
        the TTL kept; a ``bytearray`` is already the stored one."""
        if type(value) is bytearray:
            return value
        buf = bytearray(value)
        self.data[key] = buf
        return buf

    def get_typed(self, key: bytes, kind: type) -> Any:
        """The value at ``key`` if it is of ``kind`` (deque, dict, set), ``None`` if missing;
        for a read command (counted)."""
        value = self.lookup_read(key)
        if value is None or type(value) is kind:
            return value
        raise CommandError(errors.WRONGTYPE)

    def get_typed_for_write(self, key: bytes, kind: type) -> Any:
        """:meth:`get_typed` for a write command (not counted)."""
        value = self.lookup(key)
        if value is None or type(value) is kind:
            return value
        raise CommandError(errors.WRONGTYPE)

    def get_or_create(self, key: bytes, kind: type) -> Any:
        """The collection at ``key``, created empty (and stored) if missing. The caller must add
        to it before returning, so the no-empty-collections invariant holds."""
        value = self.lookup(key)
        if value is None:
            value = kind()
            self.add(key, value)
            return value
        if type(value) is kind:
            return value
        raise CommandError(errors.WRONGTYPE)

    def add(self, key: bytes, value: Value) -> None:
        """Store ``value`` at ``key``, which a lookup has just found missing (Redis's
        ``dbAdd``): a new key, so a client waiting for a collection there becomes ready."""
        self.data[key] = value
        self.note_created(key)
        log = self.scan_log
        if log is not None:
            log.add(key, self.data)
        keyspace = self.keyspace
        if keyspace.waited:
            self.note_ready(key)
        if keyspace.signal.listening:
            keyspace.signal.events.new_key(self.index, key)

    def note_ready(self, key: bytes) -> None:
        """A collection now stands at ``key`` (created, or moved or renamed there): if a client
        waits for it, mark it ready for :meth:`zyst.blocking.BlockingManager.serve`. Commands
        that put a collection at a key other than through :meth:`get_or_create` or :meth:`add`
        call this. As in Redis, only a key that comes into being is ready: a value written over
        an existing key (``dbOverwrite``: ZUNIONSTORE onto a string) serves nobody. The one
        exception is a stream, which waiters watch for new entries: XADD calls this for an
        existing stream too (only while ``Keyspace.waited`` is not empty, so it costs nothing
        while nobody waits)."""
        keyspace = self.keyspace
        slot = (self.index, key)
        if slot in keyspace.waited and slot not in keyspace.ready:
            keyspace.ready.append(slot)

    def note_stream_gone(self, key: bytes) -> None:
        """The stream at ``key`` is being deleted or replaced (Redis signals such a key ready
        from ``dbGenericDelete`` and ``dbOverwrite``): its blocked XREADGROUP readers must be
        answered (see :attr:`zyst.blocking.Blocked.gone`). Callers check ``Keyspace.waited``
        first, so this costs nothing while nobody waits."""
        if type(self.data.get(key)) is Stream:
            self.note_ready(key)

    # -- changes -----------------------------------------------------------------------------
    def set_value(
        self, key: bytes, value: Value, keep_ttl: bool = False, looked_up: bool = False
    ) -> None:
        """Store ``value`` at ``key``; an existing TTL is dropped unless ``keep_ttl``. A key
        whose time had come is expired first, so the new value never inherits its deadline.

        The key's access clock: under LRU it moves to now. Under LFU a new key starts afresh
        and an existing one keeps its counter (Redis's ``dbOverwrite``), counting one access
        as Redis's ``setKey`` does with its lookup, unless the caller has looked the key up
        itself (``looked_up``, implied by ``keep_ttl``): that lookup was the access."""
        keyspace = self.keyspace
        expires = self.expires
        if expires and key in expires:
            if expires[key] < keyspace.clock() and not keyspace.loading:
                self._expire_now(key)
            elif not keep_ttl:
                del expires[key]
        if keyspace.lfu:
            if key not in self.access:
                self.access[key] = access.lfu_new(keyspace.lru_clock)
            elif not (keep_ttl or looked_up):
                self._accessed_lfu(key)
        else:
            self.access[key] = keyspace.lru_stamp
        if keyspace.signal.listening and key not in self.data:
            keyspace.signal.events.new_key(self.index, key)
        if keyspace.waited:
            self.note_stream_gone(key)
        log = self.scan_log
        if log is not None and key not in self.data:
            self.data[key] = value
            log.add(key, self.data)
            return
        self.data[key] = value

    def delete(self, key: bytes) -> bool:
        """Remove ``key`` (expired keys count as missing). True if something was removed."""
        if self.lookup(key) is None:
            return False
        if self.keyspace.waited:
            self.note_stream_gone(key)
        del self.data[key]
        del self.access[key]
        if self.expires:
            self.expires.pop(key, None)
        if self.marks:
            self.marks.pop(key, None)
        return True

    def delete_stored(self, key: bytes) -> bool:
        """Remove ``key`` as stored, without looking at its deadline (Redis's ``dbDelete``, which
        SINTERSTORE and the like call for an empty result): a key whose time had come is
        deleted, not expired, so it is neither counted in ``expired_keys`` nor reported to
        :attr:`Keyspace.on_expired`. True if something was removed."""
        if self.keyspace.waited:
            self.note_stream_gone(key)
        if self.data.pop(key, None) is None:
            return False
        del self.access[key]
        if self.expires:
            self.expires.pop(key, None)
        if self.marks:
            self.marks.pop(key, None)
        return True

    def delete_if_empty(self, key: bytes, value: Value) -> None:
        """Remove ``key`` if its collection ``value`` became empty."""
        if not value:
            del self.data[key]
            del self.access[key]
            if self.expires:
                self.expires.pop(key, None)

    def set_expire(self, key: bytes, when_ms: int) -> None:
        """Give the existing ``key`` an absolute expiry time (Unix ms)."""
        self.expires[key] = when_ms

    def get_expire(self, key: bytes) -> int | None:
        """The absolute expiry time (Unix ms) of ``key``, or ``None`` if it has none."""
        return self.expires.get(key)

    def persist(self, key: bytes) -> bool:
        return self.expires.pop(key, None) is not None

    def flush(self) -> None:
        waited = self.keyspace.waited
        if waited:
            for db_index, key in list(waited):
                if db_index == self.index:
                    self.note_stream_gone(key)
        self.data = {}
        self.expires = {}
        self.access = {}
        self.stamped = [None] * (_STAMPED_MASK + 1)
        self.stamped_keys = [b""] * (_STAMPED_MASK + 1)
        self.marks = {}
        self.avg_ttl = 0
        self.scan_log = None

    def is_expired(self, key: bytes, now_ms: int) -> bool:
        when = self.expires.get(key)
        return when is not None and when < now_ms

    def _expire_now(self, key: bytes) -> None:
        self._drop_propagated(key)
        keyspace = self.keyspace
        keyspace.expired_keys += 1
        if keyspace.signal.listening:
            keyspace.signal.expired(self.index, key)

    def evict(self, key: bytes) -> None:
        """Remove the stored ``key`` to free memory (``maxmemory``, :mod:`zyst.eviction`):
        counted in ``evicted_keys``, its ``DEL`` propagated through the hook expired keys take
        (:attr:`Keyspace.on_expired`), the key-modified signal raised with the ``evicted``
        event, as Redis's ``deleteEvictedKeyAndPropagate``."""
        self._drop_propagated(key)
        keyspace = self.keyspace
        keyspace.evicted_keys += 1
        if keyspace.signal.listening:
            keyspace.signal.evicted(self.index, key)

    def _drop_propagated(self, key: bytes) -> None:
        """Remove the stored ``key`` with its TTL, access clock and encoding mark, the server
        not the client removing it (expiry, eviction): its ``DEL`` goes out through
        :attr:`Keyspace.on_expired` (the AOF, MONITOR's propagation)."""
        if self.keyspace.waited:
            self.note_stream_gone(key)
        del self.data[key]
        del self.access[key]
        if self.expires:
            self.expires.pop(key, None)
        if self.marks:
            self.marks.pop(key, None)
        self.keyspace.on_expired(self.index, key)

    def __len__(self) -> int:
        return len(self.data)


class Keyspace:
    """All databases, the clock they expire keys by, and the hook expired keys are reported to.

    ``loading`` is true while the AOF is replayed: nothing expires meanwhile.
    """

    __slots__ = (
        "clock",
        "collection_scans",
        "dbs",
        "evicted_keys",
        "expired_keys",
        "expired_stale_perc",
        "expired_time_cap_reached_count",
        "lfu",
        "lfu_decay_time",
        "lfu_log_factor",
        "loading",
        "lru_clock",
        "lru_stamp",
        "on_expired",
        "paused",
        "ready",
        "signal",
        "waited",
    )

    def __init__(self, databases: int = 16, clock: Callable[[], int] = wall_clock_ms) -> None:
        self.clock = clock
        # The access clocks' cached time in whole seconds (zyst.access), refreshed by
        # refresh_lru_clock; whether an LFU policy is in force, and its two settings.
        # lru_stamp is the same number as one shared object, typed Any so that compiled code
        # stores it as it is: storing the native int would box a new object per key (a
        # measured 100 instructions and 32 bytes each).
        self.lru_clock = clock() // 1000
        self.lru_stamp: Any = self.lru_clock
        self.lfu = False
        self.lfu_log_factor = 10
        self.lfu_decay_time = 1
        self.dbs = [Database(index, self) for index in range(databases)]
        self.expired_keys = 0
        # Keys removed to stay under maxmemory (zyst.eviction; INFO's evicted_keys).
        self.evicted_keys = 0
        # Kept up to date by the active expiry cycle (zyst.expiry), shown by INFO stats: the
        # estimated share of keys with a TTL that have expired but are still in memory (0..1),
        # and how many cycles stopped because they ran out of time.
        self.expired_stale_perc = 0.0
        self.expired_time_cap_reached_count = 0
        self.loading = False
        # CLIENT PAUSE is in force (zyst.commands.pause), or this server is a replica (its
        # primary's DELs remove keys): expired keys stay where they are.
        self.paused = False
        self.on_expired: Callable[[int, bytes], None] = _ignore_expired
        # Keys (db, key) some client blocks on, kept by zyst.blocking; and those of them that
        # received a collection since the waiters were last served (see Database.note_ready).
        self.waited: set[tuple[int, bytes]] = set()
        self.ready: list[tuple[int, bytes]] = []
        # What HSCAN, SSCAN and ZSCAN iterate large collections by (zyst.scanning).
        self.collection_scans = CollectionScans()
        # The "key modified" signal (zyst.notify), raised here when a key expires.
        self.signal = KeySignal(self)

    def flushall(self) -> None:
        for db in self.dbs:
            db.flush()

    def refresh_lru_clock(self) -> None:
        """Read the clock into :attr:`lru_clock` (the server's cron does, ``hz`` times a
        second)."""
        clock = self.clock() // 1000
        if clock != self.lru_clock:
            self.lru_clock = clock
            self.lru_stamp = clock

    def set_lfu(self, lfu: bool) -> None:
        """Switch the access clocks between LRU and LFU (``maxmemory-policy``). Every key's
        clock starts afresh under the new kind: the old numbers mean nothing under it (Redis
        reads them as they are, giving meaningless idle times and counters)."""
        if lfu == self.lfu:
            return
        self.lfu = lfu
        self.refresh_lru_clock()
        fresh = access.lfu_new(self.lru_clock) if lfu else self.lru_stamp
        for db in self.dbs:
            db.access = dict.fromkeys(db.data, fresh)

    @property
    def hits(self) -> int:
        """Read lookups that found their key, in every database (INFO ``keyspace_hits``)."""
        return sum(db.hits for db in self.dbs)

    @property
    def misses(self) -> int:
        """Read lookups of a missing or expired key (INFO ``keyspace_misses``)."""
        return sum(db.misses for db in self.dbs)

    def reset_stats(self) -> None:
        """Zero the counters INFO shows (``CONFIG RESETSTAT``)."""
        self.expired_keys = 0
        self.evicted_keys = 0
        self.expired_stale_perc = 0.0
        self.expired_time_cap_reached_count = 0
        for db in self.dbs:
            db.hits = 0
            db.misses = 0

    def expire_if_due(self, db: Database, key: bytes) -> bool:
        """Delete ``key`` if its time has come (only say so while :attr:`paused`); used by the
        active cycle, SCAN and RANDOMKEY."""
        if db.is_expired(key, self.clock()):
            if not self.paused:
                db._expire_now(key)
            return True
        return False


def _ignore_expired(db_index: int, key: bytes) -> None:
    """Default :attr:`Keyspace.on_expired`: nobody listens."""
