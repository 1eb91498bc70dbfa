"""Where SCAN, HSCAN, SSCAN and ZSCAN resume: the state behind their cursors. No I/O here.

The guarantee, Redis's: an element present from the first call of a full iteration to its last
is returned at least once, whatever is added, removed or resized meanwhile (an element returned
twice, or one added or removed halfway and returned or not, is allowed); and a full iteration
ends after a bounded number of calls, however fast others write. Redis gets both from its hash
table's buckets and a cursor that walks them in reverse-binary order. A Python dict or set shows
no buckets, so the state lives here, outside the data and off every command's hot path.

The keyspace: :class:`KeyLog`
    A database's keys in a list, made once on the first SCAN of that database
    (``list(data)``) and kept up to date by the one thing :class:`zyst.keyspace.Database` does
    for it: when a key that was not there enters ``data`` while the log exists, it is appended
    (:meth:`KeyLog.add`). Deletions tell the log nothing; a deleted key's entry is skipped when
    read (it is no longer in ``data``), and a key deleted and added again has two entries.

    Every entry carries a *sequence number*, given in increasing order as entries are appended
    and never changed while the log lives, and a cursor names sequence numbers, not places in
    the list: the next entry to read and the end of the iteration (the first number not yet
    given when the iteration began). So when dead and duplicate entries pass a quarter of the
    live ones, the log is compacted (each live key keeps its first entry, in order) and every
    cursor in flight stays valid: it finds its place again by bisection. The end bound is what
    makes an iteration finish while keys are added faster than it reads: keys added after its
    first call lie beyond its end, and it does not owe them anything.

    Why nothing is skipped: a key present throughout was in the log when the iteration began,
    under a number below the end; compaction keeps its first entry, whose number did not change,
    so the iteration reaches it, and finds the key in ``data`` when it does.

    Cursor: the pair (end, next) as one number, ``end * (end - 1) / 2 + next`` (a triangular
    pairing, as ``next < end``), times 16, plus the log's generation (4 bits). So cursors stay
    small (about 2 x log2(numbers given) + 4 bits: under 2**53, which clients that hold numbers
    as doubles need, until some 20 million keys were added), and a cursor that goes on is never
    0. When the numbers given reach the log's limit (``max(2**24, 4 x keys)``, at most
    2**30), the log is compacted and numbered afresh from 1 under another generation: cursors
    of the old generation start over (duplicates, nothing skipped; O(1) per added key
    amortised). Any number is accepted as a cursor, as Redis accepts any: one of another
    generation (another database's, one from before FLUSHDB, one never issued) starts the
    iteration over, one of this generation reads what its numbers name.

    Duplicates: a key deleted and added again before an iteration began is read twice by it
    (both its entries find it in ``data``), which the guarantee allows but Redis, without a
    rehash under way, does not do. Compacting once the redundant entries pass a quarter of the
    live ones keeps that to a quarter at most (a cache whose keys expire and are set again makes
    such entries all the time).

    Cost: appending is O(1); a compaction costs the log's length (live plus redundant entries)
    and happens once the deletions since the last one pass a quarter of the live keys, so it is
    O(1) per deletion amortised (about five entries visited).
    A SCAN call bisects (O(log n)) and then reads about COUNT entries: at most 10 x COUNT, as
    Redis bounds its bucket walk, so a sparse stretch may give fewer keys than asked (even
    none) with a cursor that goes on. The log costs two machine words per key.

The collections: :class:`Snapshots`
    A hash, set or sorted set that Redis keeps compact (a listpack or intset: the commands
    decide which from the ``*-max-listpack-*`` and ``set-max-intset-entries`` settings) is
    answered whole by one call, cursor 0, as Redis does; no state. A larger one gets, on its
    first call, a snapshot of its elements (``list(collection)``, O(n) once) kept in a bounded
    registry under an id that the cursor carries with the position reached; the next calls go
    on from there, skipping elements no longer present. Collection commands know nothing of
    this. A snapshot is tied to the collection object it was taken of: a cursor whose id is
    unknown (evicted, finished, never issued) or whose key now holds another object starts over
    with a new snapshot. The registry keeps at most ``max_snapshots`` snapshots and
    ``max_elements`` elements in all (the least recently used go first, the newest always
    stays), and drops a snapshot when its iteration ends.

    Cursor: the position reached, then the snapshot id, then the id's width in bits (6 bits),
    packed as ``((position << width) | id) << 6 | width``. Ids count up and are never reused,
    so a cursor kept for however long never names another snapshot; the width keeps cursors
    small while ids are.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Collection, Container, Mapping
from itertools import count as counter
from math import isqrt
from typing import Final

__all__ = ["KeyLog", "Snapshots"]

_GENERATION_BITS: Final = 4
_GENERATION_MASK: Final = (1 << _GENERATION_BITS) - 1
# Sequence numbers given before a log is numbered afresh: at least this many, and at most
# _MAX_LIMIT (which keeps a cursor within 64 bits).
_MIN_LIMIT: Final = 1 << 24
_MAX_LIMIT: Final = 1 << 30
# A log may hold this many redundant entries beyond a quarter of the live keys before it is
# compacted: small databases are not compacted on every other deletion.
_SLACK: Final = 64
# Redis reads at most ten buckets per element asked for.
_READ_FACTOR: Final = 10
_WIDTH_BITS: Final = 6
_WIDTH_MASK: Final = (1 << _WIDTH_BITS) - 1

# Generations are drawn from one counter for every log, so a cursor carried from one database's
# log to another's (SELECT, SWAPDB) or to a log made anew (FLUSHDB) most likely starts over.
_generation_counter = counter(1)


def _walk(
    elements: list[bytes], start: int, stop: int, count: int, present: Container[bytes]
) -> tuple[int, list[bytes]]:
    """Up to ``count`` of ``elements[start:stop]`` that are ``present``, reading at most
    ``_READ_FACTOR`` x ``count`` of them; and the position after the last one read."""
    limit = stop if stop - start <= count * _READ_FACTOR else start + count * _READ_FACTOR
    found: list[bytes] = []
    index = start
    while index < limit:
        element = elements[index]
        index += 1
        if element in present:
            found.append(element)
            if len(found) >= count:
                break
    return index, found


def _pair(end: int, following: int) -> int:
    """``(end, following)``, with ``1 <= following < end``, as one number (at least 2)."""
    return end * (end - 1) // 2 + following


def _unpair(number: int) -> tuple[int, int]:
    """The ``(end, following)`` that :func:`_pair` made ``number`` of (``number >= 1``); for a
    number it does not make, one with ``following == end``."""
    end = (1 + isqrt(8 * number + 1)) // 2
    if end * (end - 1) // 2 >= number:
        end -= 1
    return end, number - end * (end - 1) // 2


class KeyLog:
    """The keys of one database in the order SCAN reads them (see the module docstring).

    Invariants: every key of the database's ``data`` has an entry; ``seqs`` is strictly
    increasing, parallel to ``keys``, and every number in it is at least 1 and below
    ``next_seq``, which is below ``limit``.
    """

    __slots__ = ("generation", "keys", "limit", "min_limit", "next_seq", "seqs")

    def __init__(self, data: Mapping[bytes, object], min_limit: int = _MIN_LIMIT) -> None:
        self.min_limit = min_limit
        self.keys: list[bytes] = list(data)
        self.seqs: array[int] = array("q")
        self.next_seq = 1
        self.limit = min_limit
        self.generation = -1
        self._renumber()

    def _renumber(self) -> None:
        """Number the entries 1, 2, ... under another generation: older cursors start over."""
        size = len(self.keys)
        self.seqs = array("q", range(1, size + 1))
        self.next_seq = size + 1
        self.limit = min(max(self.min_limit, 4 * size), _MAX_LIMIT)
        generation = self.generation
        while generation == self.generation:
            generation = next(_generation_counter) & _GENERATION_MASK
        self.generation = generation

    def add(self, key: bytes, data: Mapping[bytes, object]) -> None:
        """Note that ``key``, which was not in ``data``, now is (call after storing it)."""
        self.keys.append(key)
        self.seqs.append(self.next_seq)
        self.next_seq += 1
        if self._crowded(data) or self.next_seq >= self.limit:
            self.compact(data)

    def _crowded(self, data: Mapping[bytes, object]) -> bool:
        """Whether the redundant entries (``len(keys) - len(data)``: every live key has one entry
        that is not) are too many."""
        live = len(data)
        return len(self.keys) - live > live // 4 + _SLACK

    def compact(self, data: Mapping[bytes, object]) -> None:
        """Drop the entries of deleted keys and the later entries of a key listed twice; the
        entries kept keep their order and their numbers (so cursors stay valid), unless the
        numbers are running out, when everything is numbered afresh."""
        keys: list[bytes] = []
        seqs: array[int] = array("q")
        seen: set[bytes] = set()
        old_seqs = self.seqs
        for index, key in enumerate(self.keys):
            if key in data and key not in seen:
                seen.add(key)
                keys.append(key)
                seqs.append(old_seqs[index])
        self.keys = keys
        self.seqs = seqs
        if self.next_seq >= self.limit // 2:
            self._renumber()

    def read(
        self, data: Mapping[bytes, object], cursor: int, count: int
    ) -> tuple[int, list[bytes]]:
        """From ``cursor`` on (0: from the start), up to ``count`` keys of ``data`` (at least 1
        asked for); and the cursor to go on with, 0 once the iteration is over. Keys are as
        stored: expired ones included, the caller filters them."""
        if self._crowded(data):
            self.compact(data)  # before reading, so that a call reads live entries
        following = 0
        end = self.next_seq
        if (cursor & _GENERATION_MASK) == self.generation and cursor > _GENERATION_MASK:
            end, following = _unpair(cursor >> _GENERATION_BITS)
            end = min(end, self.next_seq)
        seqs = self.seqs
        start = bisect_left(seqs, following)
        stop = len(seqs) if end == self.next_seq else bisect_left(seqs, end)
        index, found = _walk(self.keys, start, stop, count, data)
        if index >= stop:
            return 0, found
        return _pair(end, seqs[index]) << _GENERATION_BITS | self.generation, found


class _Snapshot:
    __slots__ = ("collection", "elements")

    def __init__(self, collection: Collection[bytes], elements: list[bytes]) -> None:
        self.collection = collection
        self.elements = elements


class Snapshots:
    """The snapshots of the large collections being iterated (see the module docstring)."""

    __slots__ = ("held", "max_elements", "max_snapshots", "next_id", "taken")

    def __init__(self, max_snapshots: int = 256, max_elements: int = 1 << 24) -> None:
        self.max_snapshots = max_snapshots
        self.max_elements = max_elements
        # Least recently used first: a snapshot read is moved to the end.
        self.taken: dict[int, _Snapshot] = {}
        self.held = 0  # elements in all the snapshots
        self.next_id = 1

    def read(
        self, collection: Collection[bytes], cursor: int, count: int
    ) -> tuple[int, list[bytes]]:
        """From ``cursor`` on (0: from the start), up to ``count`` elements of ``collection``
        (a set, or a dict's keys) that it still holds; and the cursor to go on with, 0 once the
        iteration is over."""
        taken = self.taken
        width = cursor & _WIDTH_MASK
        rest = cursor >> _WIDTH_BITS
        snapshot_id = rest & ((1 << width) - 1)
        snapshot = taken.pop(snapshot_id, None) if snapshot_id else None
        if snapshot is not None and snapshot.collection is collection:
            taken[snapshot_id] = snapshot  # now the most recently used
            position = rest >> width
        else:
            if snapshot is not None:  # another object stands at the key now: start over
                self.held -= len(snapshot.elements)
            if count >= len(collection):
                return 0, list(collection)
            snapshot = _Snapshot(collection, list(collection))
            snapshot_id = self._keep(snapshot)
            position = 0
        elements = snapshot.elements
        position, found = _walk(elements, position, len(elements), count, collection)
        if position >= len(elements):
            del taken[snapshot_id]
            self.held -= len(elements)
            return 0, found
        width = snapshot_id.bit_length()
        return ((position << width) | snapshot_id) << _WIDTH_BITS | width, found

    def _keep(self, snapshot: _Snapshot) -> int:
        """Register ``snapshot`` under a new id, evicting the least recently used ones beyond
        the bounds (never the new one)."""
        taken = self.taken
        snapshot_id = self.next_id
        self.next_id += 1
        taken[snapshot_id] = snapshot
        self.held += len(snapshot.elements)
        while len(taken) > 1 and (len(taken) > self.max_snapshots or self.held > self.max_elements):
            self.held -= len(taken.pop(next(iter(taken))).elements)
        return snapshot_id
