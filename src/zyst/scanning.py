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
    2**30), the log is compacted and numbered afresh from 1 under another generation (O(1)
    per added key amortised). A cursor of one of the last two generations is carried over:
    the log keeps, for each, the old numbers of the entries it kept, in order, and an old
    number's new one is 1 + how many of them are smaller (a bisection), which keeps the
    order, so nothing is skipped. A cursor of an older generation starts over (duplicates,
    nothing skipped): that takes two renumberings, at least twice as many added keys as the
    database holds, between two calls of one iteration. Any number is accepted as a cursor,
    as Redis accepts any: one of an unknown generation (another database's, one from before
    FLUSHDB, one never issued) starts the iteration over, one of a known generation reads
    what its numbers name.

    Duplicates: a key deleted and added again before an iteration began is read twice by it
    (both its entries find it in ``data``), which the guarantee allows but Redis, without a
    rehash under way, does not do. Compacting once the redundant entries pass a quarter of the
    live ones keeps that to a quarter at most (a cache whose keys expire and are set again makes
    such entries all the time); and an iteration whose first call may read the whole log
    compacts it first, so a database small enough to be answered in one call is answered
    without duplicates, as by Redis.

    Cost: appending is O(1); a compaction costs the log's length (live plus redundant entries)
    and happens once the deletions since the last one pass a quarter of the live keys, so it is
    O(1) per deletion amortised (about five entries visited).
    A SCAN call bisects (O(log n)) and then reads about COUNT entries: at most 10 x COUNT, as
    Redis bounds its bucket walk, so a sparse stretch may give fewer keys than asked (even
    none) with a cursor that goes on. The log costs two machine words per key.

The collections: :class:`CollectionScans`
    A hash, set or sorted set that Redis keeps compact (a listpack or intset: the commands
    decide which from the ``*-max-listpack-*`` and ``set-max-intset-entries`` settings) is
    answered whole by one call, cursor 0, as Redis does; no state. A larger one is read in the
    order of its elements' hashes (Python's ``hash``, fixed for the life of the process), as
    Redis reads its table: the hash space is cut into 2**bits equal buckets, about one per
    element, and a cursor names the bucket to read next, so it stands for a point of the hash
    space, whatever the collection's size. Each call reads whole buckets from there (so it may
    give a few more elements than COUNT, as Redis does) and moves the point on.

    Why nothing is skipped: an element's hash never changes, and the point only moves forward,
    past buckets that were read whole. When the number of buckets differs from one call to the
    next (the collection grew or shrank), the point falls on or inside a bucket of the new
    cut; reading that bucket whole may give again elements already given, never skip one. The
    point moves at least one bucket per call, so an iteration ends once it has crossed the
    space, whatever is written meanwhile.

    To read a bucket without looking at the whole collection, each key being iterated has an
    *index* of its collection: the elements sorted by bucket (a counting sort, O(n)).
    Collection commands know nothing of it, so it can miss elements added after it was built;
    which is why every iteration's first call (cursor 0) builds the key's index anew: so the
    index a later call finds for its key was built at or after its iteration began, and holds
    every element present throughout. (Indexes go by key, not by collection object: an object
    indexed under another key and changed since, then renamed onto this one, must not serve.
    When the key holds another object than its index's, a call builds a fresh index, which is
    later still.) Indexes are kept in a small registry by database and key (the least recently
    used go first past ``max_indexes`` or ``max_elements`` elements in all). Losing one costs
    a rebuild at the next call, never the iteration's progress: the cursor carries all of it,
    so any number is a valid cursor, as in Redis (one never issued starts at the point it
    names).

    Cursor: ``(bucket << 6) | bits``; 0 once the last bucket was read. Cursors stay small (the
    number of buckets times 64).

    Cost: the first call of an iteration of a large collection builds its index, O(n) where
    Redis's first call is O(1) (compiled, about 0.2 us per element while the collection fits
    the CPU's cache, 0.7 us for a million elements), so a full iteration costs O(n) as in
    Redis, with a larger constant; the other calls read about COUNT elements, at most
    10 x COUNT buckets. An index costs about two machine words per element.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Collection
from itertools import count as counter
from math import isqrt
from typing import Any, Final

__all__ = ["CollectionScans", "KeyLog"]

_GENERATION_BITS: Final = 4
_GENERATION_MASK: Final = (1 << _GENERATION_BITS) - 1
# Sequence numbers given before a log is numbered afresh: at least this many, and at most
# _MAX_LIMIT (which keeps a cursor within 64 bits).
_MIN_LIMIT: Final = 1 << 24
_MAX_LIMIT: Final = 1 << 30
# Renumberings whose cursors are carried over.
_TRANSLATED: Final = 2
# A log may hold this many redundant entries beyond a quarter of the live keys before it is
# compacted: small databases are not compacted on every other deletion.
_SLACK: Final = 64
# Redis reads at most ten buckets per element asked for.
_READ_FACTOR: Final = 10

# Generations are drawn from one counter for every log, so a cursor carried from one database's
# log to another's (SELECT, SWAPDB) or to a log made anew (FLUSHDB) most likely starts over.
_generation_counter = counter(1)


def _walk(
    elements: list[bytes], start: int, stop: int, count: int, present: dict[bytes, Any]
) -> tuple[int, list[bytes]]:
    """Up to ``count`` of ``elements[start:stop]`` that are ``present``, reading at most
    ``_READ_FACTOR`` x ``count`` of them; and the position after the last one read."""
    limit = stop if stop - start <= count * _READ_FACTOR else start + count * _READ_FACTOR
    # The run of present elements from ``start`` (all of them, without deletions) is taken as
    # one slice rather than appended one by one.
    index = start
    run_end = min(start + count, limit)
    while index < run_end and elements[index] in present:
        index += 1
    found = elements[start:index]
    if len(found) >= count:
        return index, found
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

    __slots__ = ("generation", "keys", "limit", "min_limit", "next_seq", "previous", "seqs")

    def __init__(self, data: dict[bytes, Any], min_limit: int = _MIN_LIMIT) -> None:
        self.min_limit = min_limit
        self.keys: list[bytes] = list(data)
        self.seqs: array[int] = array("q")
        self.next_seq = 1
        self.limit = min_limit
        self.generation = -1
        # (generation, the old numbers of the entries kept) of the last renumberings, the
        # latest first (see _renumber).
        self.previous: list[tuple[int, array[int]]] = []
        self._renumber()

    def _renumber(self) -> None:
        """Number the entries 1, 2, ... under another generation. A cursor of the last
        ``_TRANSLATED`` generations is carried over: the old numbers of the entries kept, in
        order, say where each old number falls among the new ones."""
        if self.generation >= 0:
            self.previous = [(self.generation, self.seqs), *self.previous[: _TRANSLATED - 1]]
        size = len(self.keys)
        self.seqs = array("q", range(1, size + 1))
        self.next_seq = size + 1
        self.limit = min(max(self.min_limit, 4 * size), _MAX_LIMIT)
        taken = {self.generation, *(generation for generation, _ in self.previous)}
        generation = self.generation
        while generation in taken:
            generation = next(_generation_counter) & _GENERATION_MASK
        self.generation = generation

    def _translate(self, generation: int, end: int, following: int) -> tuple[int, int]:
        """``(end, following)`` of a cursor of ``generation`` in the current numbering; from
        the start if that generation is not remembered."""
        found = -1
        for age, (old, _) in enumerate(self.previous):
            if old == generation:
                found = age
        if found < 0:
            return self.next_seq, 0
        for age in range(found, -1, -1):
            kept = self.previous[age][1]
            # An old number's new one: 1 + the entries kept under smaller old numbers.
            end = bisect_left(kept, end) + 1
            following = bisect_left(kept, following) + 1
        return end, following

    def add(self, key: bytes, data: dict[bytes, Any]) -> None:
        """Note that ``key``, which was not in ``data``, now is (call after storing it)."""
        self.keys.append(key)
        self.seqs.append(self.next_seq)
        self.next_seq += 1
        if self._crowded(data) or self.next_seq >= self.limit:
            self.compact(data)

    def _crowded(self, data: dict[bytes, Any]) -> bool:
        """Whether the redundant entries (``len(keys) - len(data)``: every live key has one entry
        that is not) are too many."""
        live = len(data)
        return len(self.keys) - live > live // 4 + _SLACK

    def compact(self, data: dict[bytes, Any]) -> None:
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

    def read(self, data: dict[bytes, Any], cursor: int, count: int) -> tuple[int, list[bytes]]:
        """From ``cursor`` on (0: from the start), up to ``count`` keys of ``data`` (at least 1
        asked for); and the cursor to go on with, 0 once the iteration is over. Keys are as
        stored: expired ones included, the caller filters them."""
        if self._crowded(data):
            self.compact(data)  # before reading, so that a call reads live entries
        elif (
            cursor <= _GENERATION_MASK
            and len(self.keys) != len(data)
            and len(self.keys) <= count * _READ_FACTOR
        ):
            # A first call that may read the whole log drops its redundant entries first: a
            # database small enough to be answered in one call is answered without a key twice,
            # as Redis answers it (applications count keys with one SCAN). This costs no more
            # than the read itself.
            self.compact(data)
        following = 0
        end = self.next_seq
        if cursor > _GENERATION_MASK:
            end, following = _unpair(cursor >> _GENERATION_BITS)
            generation = cursor & _GENERATION_MASK
            if generation != self.generation:
                end, following = self._translate(generation, end, following)
            end = min(end, self.next_seq)
        seqs = self.seqs
        # Every number is at least 1: from the start (every first call) needs no search.
        start = 0 if following <= 1 else bisect_left(seqs, following)
        stop = len(seqs) if end == self.next_seq else bisect_left(seqs, end)
        index, found = _walk(self.keys, start, stop, count, data)
        if index >= stop:
            return 0, found
        return _pair(end, seqs[index]) << _GENERATION_BITS | self.generation, found


_HASH_BITS: Final = 64
_BITS_FIELD: Final = 6
_BITS_MASK: Final = (1 << _BITS_FIELD) - 1


class _Index:
    """The elements of a collection sorted by bucket: bucket ``b`` holds
    ``elements[starts[b]:starts[b + 1]]``; ``collection`` is the object indexed."""

    __slots__ = ("bits", "collection", "elements", "starts")

    def __init__(self, collection: Collection[bytes]) -> None:
        self.collection = collection
        bits = max(len(collection).bit_length() - 1, 1)
        self.bits = bits
        shift = _HASH_BITS - bits
        size = 1 << bits
        # Hashes are signed: shifted, they fall in [-size / 2, size / 2), which this moves to
        # [0, size) in the same order (a mask to unsigned first would cost a big integer each).
        half = size >> 1
        buckets: list[int] = []
        starts = [0] * (size + 1)
        for element in collection:
            bucket = (hash(element) >> shift) + half
            buckets.append(bucket)
            starts[bucket + 1] += 1
        for bucket in range(size):
            starts[bucket + 1] += starts[bucket]
        elements: list[bytes] = [b""] * len(buckets)
        free = starts[:size]
        for element, bucket in zip(collection, buckets, strict=True):
            elements[free[bucket]] = element
            free[bucket] += 1
        self.elements = elements
        self.starts: array[int] = array("q", starts)


class CollectionScans:
    """The indexes of the large collections being iterated (see the module docstring)."""

    __slots__ = ("held", "indexes", "max_elements", "max_indexes")

    def __init__(self, max_indexes: int = 64, max_elements: int = 1 << 22) -> None:
        self.max_indexes = max_indexes
        self.max_elements = max_elements
        # By (database, key), least recently used first (a read moves one to the end).
        self.indexes: dict[tuple[int, bytes], _Index] = {}
        self.held = 0  # elements in all the indexes

    def read(
        self, slot: tuple[int, bytes], collection: Collection[bytes], cursor: int, count: int
    ) -> tuple[int, list[bytes]]:
        """From ``cursor`` on (0: from the start), at least ``count`` elements of
        ``collection`` (a set, or a dict's keys: the value at ``slot``, database and key) when
        it has them, whole buckets at a time; and the cursor to go on with, 0 once the
        iteration is over."""
        if cursor == 0:
            if count >= len(collection):
                return 0, list(collection)
            index = self._build(slot, collection)
            first = 0
        else:
            index = self._index(slot, collection)
            bits = cursor & _BITS_MASK
            point = cursor >> _BITS_FIELD
            if point >> bits:
                return 0, []  # a cursor past the end (never issued)
            # The bucket of this cut that holds the point (its start, when the cuts agree).
            shift = index.bits - bits
            first = point << shift if shift >= 0 else point >> -shift
        starts = index.starts
        elements = index.elements
        size = 1 << index.bits
        bucket = first
        last = min(size, first + count * _READ_FACTOR)
        found: list[bytes] = []
        while bucket < last and len(found) < count:
            for position in range(starts[bucket], starts[bucket + 1]):
                element = elements[position]
                if element in collection:
                    found.append(element)
            bucket += 1
        if bucket >= size:
            return 0, found
        return bucket << _BITS_FIELD | index.bits, found

    def _index(self, slot: tuple[int, bytes], collection: Collection[bytes]) -> _Index:
        """The index kept for ``slot`` if it is of ``collection``, else a new one."""
        index = self.indexes.pop(slot, None)
        if index is None or index.collection is not collection:
            if index is not None:
                self.held -= len(index.elements)
            return self._build(slot, collection)
        self.indexes[slot] = index  # now the most recently used
        return index

    def _build(self, slot: tuple[int, bytes], collection: Collection[bytes]) -> _Index:
        """A new index of ``collection`` for ``slot``, kept in place of any older one; the least
        recently used ones go past the bounds (never the new one)."""
        indexes = self.indexes
        old = indexes.pop(slot, None)
        if old is not None:
            self.held -= len(old.elements)
        index = _Index(collection)
        indexes[slot] = index
        self.held += len(index.elements)
        while len(indexes) > 1 and (
            len(indexes) > self.max_indexes or self.held > self.max_elements
        ):
            self.held -= len(indexes.pop(next(iter(indexes))).elements)
        return index
