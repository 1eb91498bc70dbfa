"""How much memory the server uses: INFO's ``used_memory``, what ``maxmemory`` caps.

Redis counts every byte it allocates through zmalloc. Python has no such counter, and the
resident set (RSS) is no substitute: memory Python frees stays resident (pymalloc keeps its
arenas while any block in them lives; glibc keeps freed chunks), so an RSS that never drops
would have an eviction loop empty the database. Zyst measures instead what the process holds
in live allocations, from the two allocators every Python object comes from:

- **glibc malloc**, for everything above 512 bytes (large strings, the dict tables of the
  keyspace, lists' item arrays, Lua): ``mallinfo2()``'s ``uordblks`` (bytes in use in the heap
  arenas) plus ``hblkhd`` (bytes in chunks malloc mmapped on its own). About 0.3 us.
- **pymalloc**, for the objects of 512 bytes or less (most keys, small values, ints, tuples):
  the exact "bytes in allocated blocks" that ``_PyObject_DebugMallocStats`` computes by walking
  its arenas, written to an in-memory ``FILE`` (``open_memstream``) and read back. About 30 us
  with a million keys (it walks pools, not objects). pymalloc takes its arenas from ``mmap``,
  not from malloc, so the two figures do not overlap.

``used = malloc in use + pymalloc in use``. Both drop as soon as a key is freed, whatever
stays resident, so the figure tracks what the dataset costs; RSS (``used_memory_rss``) is
larger by the interpreter's code and static data, the free room inside pymalloc's pools and
arenas and glibc's free chunks (fragmentation: a cache that evicts small keys to store new
small keys reuses those blocks, so its RSS levels off near its peak).

What it misses: memory not allocated by either (the mapped code of the interpreter and its
extensions, thread stacks, memory mapped by other libraries without malloc); and it counts
what Redis's ``used_memory`` does not (the interpreter's own objects, modules and Lua's heap).
Where glibc or pymalloc is missing (musl, a debug build), the missing part is read as 0 and
RSS stands in for the whole when neither is there (:func:`can_measure`).

Measuring costs 30 to 50 us (ctypes included), too much for every command:
:class:`MemoryMeter` keeps the pymalloc part of its last measurement and an upper estimate of
what the ``denyoom`` commands since have added (``MemoryMeter.growth``, which the check
in :mod:`zyst.commands.maxmemory` raises from their arguments). The check before each
command reads nothing while that growth stays under the room the last reading left below
``maxmemory`` (:meth:`MemoryMeter.due`), and malloc's cheap figure (:meth:`MemoryMeter.used`)
otherwise, after every write command (for what no estimate sees: SETBIT or SETRANGE at a far
offset, a union stored; large values live in malloc's part) and at every 32nd command; it
measures fully (:meth:`MemoryMeter.measure`)
only when that says the limit is passed, then after each eviction round; the cron measures
``hz`` times a second while ``maxmemory`` is set, INFO and MEMORY each time they report it.

Invariant: ``used_memory`` never includes memory the dataset freed (an evicted or deleted key
is gone from both allocators at once; nothing else in the server keeps a reference to it: the
expiry cycle reads the TTL dict in place, :mod:`zyst.dictpos`).
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections import deque
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any, Final

from zyst.types.stream import Stream
from zyst.types.zset import ZSet

# The check before each command reads malloc's figure at least this often (a power of 2).
READ_EVERY: Final = 32
# pymalloc serves requests up to this many bytes; larger ones go to malloc.
SMALL_REQUEST: Final = 512
# What a small argument is estimated to cost once stored: its bytes object's header and
# rounding, and its share of a dict entry (the keyspace's, the access clock's).
ARG_OVERHEAD: Final = 80


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


_LIBC: Final = ctypes.CDLL(None)


def _bind() -> tuple[Any, Any, Any]:
    """glibc's ``mallinfo2``, ``open_memstream`` and CPython's ``_PyObject_DebugMallocStats``
    through ctypes, each ``None`` where missing (``fclose`` and ``free`` typed on the way)."""
    mallinfo2 = memstream = stats = None
    try:
        mallinfo2 = _LIBC.mallinfo2
        mallinfo2.restype = _MallInfo2
        mallinfo2.argtypes = []
    except AttributeError:
        mallinfo2 = None
    try:
        memstream = _LIBC.open_memstream
        memstream.restype = ctypes.c_void_p
        memstream.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(ctypes.c_size_t)]
        _LIBC.fclose.argtypes = [ctypes.c_void_p]
        _LIBC.free.argtypes = [ctypes.c_void_p]
        stats = ctypes.pythonapi._PyObject_DebugMallocStats
        stats.argtypes = [ctypes.c_void_p]
        stats.restype = ctypes.c_int
    except AttributeError:
        memstream = stats = None
    return mallinfo2, memstream, stats


_MALLINFO2, _MEMSTREAM, _STATS = _bind()
_ALLOCATED: Final = b"# bytes in allocated blocks"


def malloc_in_use() -> int:
    """Bytes glibc malloc has handed out and not had back (0 without ``mallinfo2``)."""
    if _MALLINFO2 is None:
        return 0
    info = _MALLINFO2()
    return int(info.uordblks + info.hblkhd)


def pymalloc_report() -> bytes:
    """pymalloc's statistics as ``sys._debugmallocstats()`` prints them (b"" if unreadable)."""
    if _STATS is None or _MEMSTREAM is None:
        return b""
    buffer = ctypes.c_char_p()
    size = ctypes.c_size_t()
    stream = _MEMSTREAM(ctypes.byref(buffer), ctypes.byref(size))
    if not stream:
        return b""
    try:
        used = _STATS(stream)
    finally:
        _LIBC.fclose(stream)
    try:
        # (0: pymalloc is not the object allocator, as in a debug build.)
        return ctypes.string_at(buffer, size.value) if used else b""
    finally:
        _LIBC.free(ctypes.cast(buffer, ctypes.c_void_p))


def pymalloc_in_use() -> int:
    """Bytes in pymalloc's allocated blocks, exactly (0 when it cannot be read)."""
    text = pymalloc_report()
    start = text.find(_ALLOCATED)
    if start < 0:
        return 0
    equals = text.find(b"=", start)
    end = text.find(b"\n", equals)
    return int(text[equals + 1 : end].replace(b",", b""))


def trim() -> bool:
    """Give malloc's free memory back to the system (MEMORY PURGE); whether that was possible."""
    try:
        _LIBC.malloc_trim(0)
    except AttributeError:
        return False
    return True


def can_measure() -> bool:
    """Whether either allocator can be read (else :func:`rss_bytes` stands in)."""
    return _MALLINFO2 is not None or _STATS is not None


def rss_bytes() -> int:
    """The resident set size, from /proc (0 where there is none)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            pages = int(statm.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


class MemoryMeter:
    """``used_memory``: measured, and estimated between measurements (module docstring)."""

    __slots__ = (
        "allowance",
        "cap",
        "checks",
        "growth",
        "measurements",
        "peak",
        "pymalloc",
        "startup",
        "wrote",
    )

    def __init__(self) -> None:
        self.pymalloc = 0
        # Estimated bytes gained since the last measurement.
        self.growth = 0
        # The limit (maxmemory, 0 for none), and how much growth the last reading left room
        # for: while ``growth`` stays under it (and not at every READ_EVERY-th check), the
        # memory in use cannot have reached the limit by the estimate, and nothing is read.
        self.cap = 0
        self.allowance = 0
        self.checks = 0
        # A write command ran since malloc's figure was last read: the next check reads it
        # (a write may store far more than its arguments: SETBIT at a far offset, a union).
        self.wrote = False
        self.measurements = 0
        self.peak = 0
        # What the server used when the meter was made (INFO's used_memory_startup): the
        # interpreter, Zyst's modules, no data yet.
        self.startup = self.measure()

    def measure(self) -> int:
        """Measure both allocators now; the bytes in use."""
        self.measurements += 1
        self.wrote = False
        if not can_measure():
            used = rss_bytes()
            self.pymalloc = used
            self.growth = 0
        else:
            self.pymalloc = pymalloc_in_use()
            self.growth = 0
            used = malloc_in_use() + self.pymalloc
        if used > self.peak:
            self.peak = used
        self.allowance = self.cap - used
        return used

    def used(self) -> int:
        """The bytes in use by the estimate: malloc's read now, pymalloc's last measured plus
        the growth noted since."""
        self.wrote = False
        base = malloc_in_use() + self.pymalloc
        self.allowance = self.cap - base
        return base + self.growth

    def due(self) -> bool:
        """Whether the limit may have been reached since the last reading: the growth noted
        passed the room it left, a write ran since malloc's figure was read, or this is every
        READ_EVERY-th check (for what no estimate sees). Cheap: the check before every command
        while maxmemory is set."""
        self.checks += 1
        return self.wrote or self.growth >= self.allowance or not self.checks & (READ_EVERY - 1)


# -- what one key costs (MEMORY USAGE, and what eviction counts as freed) --------------------
# What one key costs the keyspace's dict beyond the key and value objects: an entry (hash, key,
# value pointers) and its index slot, at the dict's usual load.
DICT_ENTRY: Final = 3 * 8 + 8
# A sorted-set member also costs a (score, member) tuple in the ordered list, a float, a list
# slot and an entry in the member -> score dict.
ZSET_MEMBER: Final = sys.getsizeof((0.0, b"")) + sys.getsizeof(0.0) + 8 + DICT_ENTRY


def sampled_size(length: int, elements: Iterable[int], samples: int) -> int:
    """The bytes of ``length`` elements estimated from the sizes of the first ``samples`` of
    ``elements`` (their mean times ``length``)."""
    taken = list(islice(elements, samples))
    if not taken:
        return 0
    return sum(taken) * length // len(taken)


def value_size(value: Any, samples: int) -> int:
    """The estimated bytes of one stored value: Python's own accounting (``sys.getsizeof``) of
    its objects, the elements of a collection sampled (the first ``samples`` of them, their
    mean times the length) as Redis's ``objectComputeSize`` samples."""
    size = sys.getsizeof
    kind = type(value)
    if kind is bytes or kind is bytearray:  # (a bytearray counts its spare room, as an sds)
        return size(value)
    if kind is deque:
        return size(value) + sampled_size(len(value), map(size, value), samples)
    if kind is dict:
        pairs: Iterator[int] = (size(f) + size(v) + DICT_ENTRY for f, v in value.items())
        return size(value) + sampled_size(len(value), pairs, samples)
    if kind is set:
        return size(value) + sampled_size(len(value), map(size, value), samples)
    if kind is ZSet:
        members = (size(member) + ZSET_MEMBER for member, _ in value)
        return size(value) + sampled_size(len(value), members, samples)
    if kind is Stream:
        stream: Stream = value
        return stream.memory()
    raise TypeError(f"no size for {kind.__name__}")


def size_of_key(key: bytes, value: Any, samples: int) -> int:
    """The bytes of ``key`` itself, its keyspace entry, its access clock's entry (the clock
    itself is shared under LRU; see zyst.access) and its value."""
    return sys.getsizeof(key) + 2 * DICT_ENTRY + value_size(value, samples)
