"""Eviction: removing keys to keep ``used_memory`` (:mod:`zyst.memory`) under ``maxmemory``,
by ``maxmemory-policy``, as Redis's ``evict.c`` does.

Policies: ``noeviction`` removes nothing (the commands that could add memory are refused);
``allkeys-*`` choose among every key, ``volatile-*`` among the keys with a TTL; ``-lru`` the
least recently used (by the access clock of :mod:`zyst.access`, a resolution of a second as
Redis's), ``-lfu`` the least frequently used (the decayed LFU counter), ``-random`` any,
``volatile-ttl`` the nearest deadline.

LRU, LFU and TTL are approximated as in Redis: each pick draws ``maxmemory-samples`` keys at
random from every database's dict (the keyspace or its TTL table) and merges them into a pool
of the 16 best candidates seen so far, kept across picks, best last; the best one still there
goes. A Python dict has no random access: :func:`zyst.dictpos.sample_keys` draws entry
positions and reads the live entry at or after each, O(1) each as Redis's ``dictGetSomeKeys``.

What an eviction round frees is counted by the size estimate of MEMORY USAGE
(:func:`zyst.memory.size_of_key`); the meter measures before and after each round, so the
estimate only decides how many keys one round removes. A round frees a little more than the
excess (:data:`SLACK_SHIFT`: 1/256 of ``maxmemory``, at most 1 MB), so that the next few
hundred small writes do not each need a round of their own.

A round stops after ``maxmemory-eviction-tenacity``'s time (Redis's ``evictionTimeLimitUs``)
and goes on in the background, between the event loop's other work, until memory is under the
limit (:data:`RUNNING`: the command that asked runs meanwhile, as in Redis).
"""

from __future__ import annotations

import ctypes
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from zyst import access
from zyst.dictpos import sample_keys
from zyst.memory import MemoryMeter, size_of_key
from zyst.perserver import state_of

if TYPE_CHECKING:
    from zyst.config import Config
    from zyst.context import ServerContext
    from zyst.keyspace import Database, Keyspace

# performEvictions' answers: under the limit (or brought under it), still evicting in the
# background, over the limit with nothing (more) to evict.
OK: Final = 0
RUNNING: Final = 1
FAIL: Final = 2

POOL_SIZE: Final = 16
# A round frees down to maxmemory - (maxmemory >> SLACK_SHIFT), at most MAX_SLACK below it.
SLACK_SHIFT: Final = 8
MAX_SLACK: Final = 1 << 20
# The eviction timer checks its clock every this many keys, as Redis's.
_CHECK_EVERY: Final = 16
# The idle score of volatile-ttl: the sooner the deadline, the higher (Redis: ULLONG_MAX - when).
_TTL_BASE: Final = (1 << 64) - 1


# -- keeping the keyspace's dicts from doubling under churn -----------------------------------
# A Python dict never reuses the slot of a deleted entry: a cache at its limit, deleting a key
# for each one it adds, fills its entry table with dead slots, and when the table is full
# CPython rebuilds it for three times the live keys, which doubles it as soon as the keys fill
# a third of it. The memory that adds makes eviction remove that much more keys, the next
# rebuild halves the table again, and so on: the number of keys held swings by half. (Redis
# 7.0 meets the same doubling with dictExpandAllowed, which holds the expansion back when it
# would pass maxmemory.) So, before CPython's rebuild comes, the evictor copies such a dict
# itself: a copy is sized for 1.5 times its keys, which keeps the table as it is.
#
# The fill of a dict's table is not public: it is read from CPython's structures (dict object:
# ma_used at 16, ma_keys at 32; keys object: dk_log2_size at 8, dk_usable at 16, dk_nentries
# at 24, on 64-bit CPython 3.11 and 3.12), checked against a dict of known fill at import; on
# any other build the copies are simply not made.
def _table_fill(table: dict[Any, Any]) -> tuple[int, int, int, int]:
    """(live keys, log2 of the slots, insertions left before a rebuild, entries used)."""
    address = id(table)
    keys = ctypes.c_void_p.from_address(address + 32).value or 0
    return (
        ctypes.c_ssize_t.from_address(address + 16).value,
        ctypes.c_uint8.from_address(keys + 8).value,
        ctypes.c_ssize_t.from_address(keys + 16).value,
        ctypes.c_ssize_t.from_address(keys + 24).value,
    )


def _can_read_fill() -> bool:
    if sys.version_info[:2] not in ((3, 11), (3, 12)) or ctypes.sizeof(ctypes.c_void_p) != 8:
        return False
    probe = {b"%d" % n: n for n in range(100)}
    for n in range(10):
        del probe[b"%d" % n]
    used, log2, usable, entries = _table_fill(probe)
    return (used, log2, entries) == (90, 8, 100) and usable + entries == (2 << log2) // 3


_READ_FILL: Final = _can_read_fill()
# A dict is near its rebuild with fewer insertions left than an eighth of its slots or this
# many (a round of eviction frees room for a few hundred small keys, written before the next).
_NEAR_REBUILD: Final = 1024
# Tables up to this many slots are kept at the size a copy gives (1.5 times the keys, rounded
# up to a power of 2) rather than CPython's 3 times: a copy of 87,000 keys takes about 2 ms.
_TIGHT_UP_TO: Final = 1 << 17
# A dict of this many slots or more is copied once its keys fill a sixth of them or less.
_SHRINK_FROM: Final = 256


def compact_if_due(db: Database) -> None:
    """Copy each of ``db``'s dicts whose next rebuild by CPython is near and would double it,
    or that eviction has left mostly empty (a dict never shrinks when keys are deleted: with
    most keys gone, its table is most of what eviction could not free)."""
    if not _READ_FILL:
        return
    for name in ("data", "access", "expires"):
        table = getattr(db, name)
        used, log2, usable, entries = _table_fill(table)
        size = 1 << log2
        near = usable < max(size >> 3, _NEAR_REBUILD) and entries > used
        # CPython's rebuild makes room for 3 times the keys, a copy for 1.5 times: a small
        # table is kept at the copy's size (its copies cost little), a large one is only kept
        # from doubling (a copy of millions of keys would hold the server up).
        roomy = size > 3 * used if size <= _TIGHT_UP_TO else size < 3 * used <= 2 * size
        if (near and roomy) or (size >= _SHRINK_FROM and 6 * used <= size):
            setattr(db, name, dict(table))


def time_limit(tenacity: int) -> float:
    """Seconds one eviction run may take (Redis's ``evictionTimeLimitUs``): 50 us per step of
    ``maxmemory-eviction-tenacity`` up to 10, then 15% more per step, no limit at 100."""
    if tenacity <= 10:
        return 50e-6 * tenacity
    if tenacity < 100:
        return 500e-6 * 1.15 ** (tenacity - 10)
    return float("inf")


class Evictor:
    """The eviction state of one server: the pool, the next database a random pick starts
    from, the meter, and whether the last check found the server out of memory."""

    def __init__(self, keyspace: Keyspace, config: Config, meter: MemoryMeter) -> None:
        self.keyspace = keyspace
        self.config = config
        self.meter = meter
        # (score, db index, key), ascending by score: the best candidate last.
        self.pool: list[tuple[int, int, bytes]] = []
        self.next_db = 0
        # The result of the check before the command now running (Redis's
        # pre_command_oom_state): scripts refuse their first write with it.
        self.pre_command_oom = False
        # Runs ``callback`` soon from the event loop (set once the server runs); whether a
        # background run is scheduled.
        self.call_soon: Callable[[Callable[[], None]], Any] | None = None
        self.scheduled = False
        # Eviction runs that stopped on their time limit (INFO's evicted... not shown; kept
        # for MEMORY STATS and tests) and the keys each policy removed.
        self.runs_timed_out = 0

    # -- the check before a command ----------------------------------------------------------
    def perform(self, checked: bool = False) -> int:
        """Bring ``used_memory`` under ``maxmemory`` if it is over (Redis's
        ``performEvictions``): :data:`OK`, :data:`RUNNING` or :data:`FAIL`. ``checked``: the
        caller has just asked the meter whether a reading is due, and it is."""
        maxmemory = self.config.maxmemory
        meter = self.meter
        if not maxmemory or not (checked or meter.due()):
            return OK
        meter.cap = maxmemory
        if meter.used() <= maxmemory:
            return OK
        used = meter.measure()
        if used <= maxmemory:
            return OK
        if self.config.maxmemory_policy == "noeviction":
            return FAIL
        target = maxmemory - min(maxmemory >> SLACK_SHIFT, MAX_SLACK)
        deadline = time.perf_counter() + time_limit(self.config.maxmemory_eviction_tenacity)
        touched: set[Database] = set()
        try:
            return self._evict(used, target, deadline, touched)
        finally:
            for db in touched:
                compact_if_due(db)

    def _evict(self, used: int, target: int, deadline: float, touched: set[Database]) -> int:
        """Evict until the meter reads ``target`` or less (perform's loop)."""
        maxmemory = self.config.maxmemory
        meter = self.meter
        evicted = 0
        while used > target:
            wanted = used - target
            freed = 0
            while freed < wanted:
                picked = self._pick()
                if picked is None:
                    return OK if meter.measure() <= maxmemory else FAIL
                db, key = picked
                freed += size_of_key(key, db.data[key], 1)
                db.evict(key)
                evicted += 1
                touched.add(db)
                if evicted % _CHECK_EVERY == 0 and time.perf_counter() > deadline:
                    if meter.measure() <= maxmemory:
                        return OK
                    self.runs_timed_out += 1
                    self._schedule()
                    return RUNNING
            used = meter.measure()
        return OK

    def _schedule(self) -> None:
        """Go on evicting from the event loop (Redis's eviction timer proc)."""
        if self.scheduled or self.call_soon is None:
            return
        self.scheduled = True
        self.call_soon(self._background)

    def _background(self) -> None:
        self.scheduled = False
        self.perform()

    # -- choosing the key --------------------------------------------------------------------
    def _pick(self) -> tuple[Database, bytes] | None:
        """The database and key to evict next under the policy, or ``None`` if none can go."""
        policy = self.config.maxmemory_policy
        allkeys = policy.startswith("allkeys")
        dbs = self.keyspace.dbs
        if policy.endswith("random"):
            for _ in range(len(dbs)):
                self.next_db = (self.next_db + 1) % len(dbs)
                db = dbs[self.next_db]
                table = db.data if allkeys else db.expires
                if table:
                    return db, sample_keys(table, 1)[0]
            return None
        pool = self.pool
        while True:
            total = 0
            for db in dbs:
                table = db.data if allkeys else db.expires
                if table:
                    self._populate(db, table, policy)
                    total += len(table)
            if not total:
                return None
            while pool:
                _, index, key = pool.pop()
                db = dbs[index]
                if key in (db.data if allkeys else db.expires):
                    return db, key

    def _populate(self, db: Database, table: dict[bytes, Any], policy: str) -> None:
        """Sample ``table`` (of ``db``) and merge the samples into the pool by their score
        (Redis's ``evictionPoolPopulate``): a sample worse than every entry of a full pool is
        dropped; else it goes in its place, pushing out the worst entry when the pool is
        full."""
        keyspace = self.keyspace
        clock = keyspace.lru_clock
        pool = self.pool
        index = db.index
        for key in sample_keys(table, self.config.maxmemory_samples):
            if policy == "volatile-ttl":
                score = _TTL_BASE - db.expires[key]
            else:
                stamp = db.access.get(key, clock)
                if keyspace.lfu:
                    score = 255 - access.lfu_counter(stamp, clock, keyspace.lfu_decay_time)
                else:
                    score = access.idle_seconds(stamp, clock)
            k = 0
            while k < len(pool) and pool[k][0] < score:
                k += 1
            if len(pool) < POOL_SIZE:
                pool.insert(k, (score, index, key))
            elif k > 0:
                del pool[0]
                pool.insert(k - 1, (score, index, key))

    def forget(self) -> None:
        """Empty the pool (the policy changed: its scores mean something else now)."""
        self.pool.clear()


def evictor_of(ctx: ServerContext) -> Evictor:
    """The eviction state of the server ``ctx``, made on first use."""
    for known, evictor in _LAST:
        if known is ctx:
            return evictor  # (a process serves one server: the check before each command)
    evictor = state_of(ctx, Evictor, _make)
    _LAST[:] = [(ctx, evictor)]
    return evictor


_LAST: list[tuple[ServerContext, Evictor]] = []


def _make(ctx: ServerContext) -> Evictor:
    return Evictor(ctx.keyspace, ctx.config, MemoryMeter())
