"""The cursors of :mod:`zyst.scanning`, driven directly under seeded churn: every element present
throughout an iteration is returned, and every iteration ends within a bound, through
compactions, renumberings, resizes and evicted indexes. (The same over a socket, through the
commands: ``tests/server/test_scan_guarantee.py``.)
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection

import pytest

from zyst.commands.scan import parse_cursor
from zyst.errors import CommandError
from zyst.scanning import CollectionScans, KeyLog


class Keyspace:
    """A dict standing for a database's ``data``, and its log kept up to date as
    :class:`zyst.keyspace.Database` keeps it."""

    def __init__(self, keys: list[bytes]) -> None:
        self.data: dict[bytes, int] = dict.fromkeys(keys, 0)
        self.log: KeyLog | None = None

    def add(self, key: bytes) -> None:
        if key in self.data:
            return
        self.data[key] = 0
        if self.log is not None:
            self.log.add(key, self.data)

    def delete(self, key: bytes) -> None:
        self.data.pop(key, None)


def churn_keys(rng: random.Random, space: Keyspace, serial: list[int], heavy: bool) -> None:
    """Delete and add keys that are not ``stable:`` ones, some of them names seen before."""
    churn = [key for key in space.data if not key.startswith(b"stable:")]
    deletions = len(churn) * 9 // 10 if heavy else min(len(churn), rng.randint(0, 60))
    for key in rng.sample(churn, deletions):
        space.delete(key)
    for _ in range(rng.randint(0, 80)):
        serial[0] += 1
        name = serial[0] if rng.random() < 0.8 else rng.randrange(serial[0])
        space.add(b"churn:%d" % name)


def iterate_keyspace(
    space: Keyspace, rng: random.Random, between: Callable[[int], None], max_calls: int
) -> list[bytes]:
    assert space.log is not None
    seen: list[bytes] = []
    cursor = 0
    for call in range(max_calls):
        cursor, keys = space.log.read(space.data, cursor, rng.randint(1, 25))
        assert all(key in space.data for key in keys)
        seen += keys
        if cursor == 0:
            return seen
        between(call)
    raise AssertionError(f"no end after {max_calls} calls")


@pytest.mark.parametrize("seed", range(8))
def test_keylog_returns_every_key_present_throughout(seed: int) -> None:
    rng = random.Random(seed)
    stable = [b"stable:%d" % n for n in range(800)]
    space = Keyspace(stable + [b"churn:%d" % n for n in range(800)])
    space.log = KeyLog(space.data, min_limit=1 << 12 if seed % 2 else 1 << 24)
    serial = [1000]
    generations = {space.log.generation}
    compactions = 0

    def between(call: int) -> None:
        nonlocal compactions
        assert space.log is not None
        before = len(space.log.keys)
        churn_keys(rng, space, serial, heavy=call % 15 == 14)
        if len(space.log.keys) < before:
            compactions += 1
        generations.add(space.log.generation)

    for _ in range(3):  # iterations one after the other on the same log
        seen = iterate_keyspace(space, rng, between, max_calls=len(space.data) + 10)
        assert set(stable) <= set(seen)
    assert compactions >= 5
    if seed % 2:
        assert len(generations) > 1  # renumbered, and the iterations still saw everything


def test_keylog_ends_while_keys_are_added_faster_than_read() -> None:
    space = Keyspace([b"stable:%d" % n for n in range(200)])
    space.log = KeyLog(space.data)
    serial = [0]

    def flood(call: int) -> None:
        for _ in range(50):
            serial[0] += 1
            space.add(b"new:%d" % serial[0])

    seen = iterate_keyspace(space, random.Random(1), flood, max_calls=200)
    assert set(seen) >= set(space.data) - {k for k in space.data if k.startswith(b"new:")}


def test_keylog_lists_each_key_once_without_writes() -> None:
    space = Keyspace([b"k%d" % n for n in range(500)])
    space.log = KeyLog(space.data)
    # Deleted and added again before the iteration: two entries, read once each at most
    # twice, and compaction keeps the duplicates to a quarter of the keys.
    for n in range(0, 500, 2):
        space.delete(b"k%d" % n)
        space.add(b"k%d" % n)
    seen = iterate_keyspace(space, random.Random(2), lambda call: None, max_calls=1000)
    assert set(seen) == set(space.data)
    assert len(seen) - len(space.data) <= len(space.data) // 4 + 64
    assert space.log is not None
    space.log.compact(space.data)
    seen = iterate_keyspace(space, random.Random(3), lambda call: None, max_calls=1000)
    assert sorted(seen) == sorted(space.data)


def test_keylog_read_whole_by_one_call_lists_each_key_once() -> None:
    space = Keyspace([b"k%d" % n for n in range(6)])
    space.log = KeyLog(space.data)
    for n in (1, 3, 3, 5):
        space.delete(b"k%d" % n)
        space.add(b"k%d" % n)
    # A first call that may read the whole log compacts it first: each key once.
    cursor, keys = space.log.read(space.data, 0, 10)
    assert cursor == 0 and sorted(keys) == sorted(space.data)
    # A log longer than a first call may read is left as it is (that call stays O(COUNT)).
    space = Keyspace([b"k%d" % n for n in range(200)])
    space.log = KeyLog(space.data)
    for n in range(0, 40):
        space.delete(b"k%d" % n)
        space.add(b"k%d" % n)
    space.log.read(space.data, 0, 10)
    assert len(space.log.keys) == 240


@pytest.mark.parametrize(
    "cursor", [1, 2, 15, 16, 17, 1 << 40, (1 << 64) - 1, 0xFFFF_FFFF_FFFF_FFF0, 12345678901]
)
def test_keylog_takes_any_cursor(cursor: int) -> None:
    space = Keyspace([b"k%d" % n for n in range(300)])
    space.log = KeyLog(space.data)
    for _ in range(1000):
        cursor, keys = space.log.read(space.data, cursor, 10)
        assert all(key in space.data for key in keys)
        if cursor == 0:
            return
    raise AssertionError("no end")


# -- collections --------------------------------------------------------------------------------
SLOT = (0, b"key")


def iterate_collection(
    scans: CollectionScans,
    current: Callable[[], Collection[bytes]],
    rng: random.Random,
    between: Callable[[int], None],
    max_calls: int,
) -> list[bytes]:
    seen: list[bytes] = []
    cursor = 0
    for call in range(max_calls):
        collection = current()
        cursor, found = scans.read(SLOT, collection, cursor, rng.randint(1, 25))
        assert all(element in collection for element in found)
        seen += found
        if cursor == 0:
            return seen
        between(call)
    raise AssertionError(f"no end after {max_calls} calls")


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("kind", [set, dict])
def test_collections_return_every_element_present_throughout(seed: int, kind: type) -> None:
    rng = random.Random(seed)
    stable = [b"stable:%d" % n for n in range(700)]
    members = stable + [b"churn:%d" % n for n in range(rng.choice([10, 700, 3000]))]
    holder: list[set[bytes] | dict[bytes, bytes]] = [
        set(members) if kind is set else dict.fromkeys(members, b"v")
    ]
    # Few indexes kept: interleaved iterations evict each other's.
    scans = CollectionScans(max_indexes=2, max_elements=5000)
    others = [set(members) for _ in range(3)]
    serial = [10_000]

    def between(call: int) -> None:
        collection = holder[0]
        churn = [m for m in collection if not m.startswith(b"stable:")]
        heavy = call % 12 == 11
        for member in rng.sample(churn, len(churn) * 9 // 10 if heavy else len(churn) // 20):
            if isinstance(collection, set):
                collection.discard(member)
            else:
                del collection[member]
        # Grow several times over at times: the number of buckets changes.
        for _ in range(rng.choice([0, 10, 100, 2000 if call % 7 == 3 else 50])):
            serial[0] += 1
            if isinstance(collection, set):
                collection.add(b"churn:%d" % serial[0])
            else:
                collection[b"churn:%d" % serial[0]] = b"v"
        if call % 9 == 4:  # another object at the key, with the same members
            holder[0] = set(collection) if isinstance(collection, set) else dict(collection)
        if call % 3 == 0:
            which = rng.randrange(len(others))
            scans.read((0, b"other:%d" % which), others[which], 0, 5)

    seen = iterate_collection(scans, lambda: holder[0], rng, between, max_calls=100_000)
    assert set(stable) <= set(seen)


def test_collection_iteration_ends_while_it_grows() -> None:
    members = {b"stable:%d" % n for n in range(1000)}
    scans = CollectionScans()
    serial = [0]

    def grow(call: int) -> None:
        for _ in range(200):
            serial[0] += 1
            members.add(b"new:%d" % serial[0])

    seen = iterate_collection(scans, lambda: members, random.Random(4), grow, max_calls=5000)
    assert {m for m in members if m.startswith(b"stable:")} <= set(seen)


def test_collections_each_element_once_without_writes() -> None:
    members = {b"m%d" % n for n in range(5000)}
    scans = CollectionScans()
    seen = iterate_collection(scans, lambda: members, random.Random(5), lambda c: None, 10_000)
    assert sorted(seen) == sorted(members)


@pytest.mark.parametrize("cursor", [1, 63, 64, 65, 1 << 20, (1 << 64) - 1, 7 << 6 | 3])
def test_collections_take_any_cursor(cursor: int) -> None:
    members = {b"m%d" % n for n in range(1000)}
    scans = CollectionScans()
    for _ in range(2000):
        cursor, found = scans.read(SLOT, members, cursor, 10)
        assert set(found) <= members
        if cursor == 0:
            return
    raise AssertionError("no end")


def test_indexes_are_bounded() -> None:
    scans = CollectionScans(max_indexes=3, max_elements=2500)
    collections = [{b"%d:%d" % (c, n) for n in range(1000)} for c in range(5)]
    for number, collection in enumerate(collections):
        scans.read((0, b"%d" % number), collection, 0, 1)
    assert list(scans.indexes) == [(0, b"3"), (0, b"4")] and scans.held == 2000
    big = {b"b%d" % n for n in range(4000)}
    scans.read((1, b"big"), big, 0, 1)  # over the bound alone: kept, the others go
    assert list(scans.indexes) == [(1, b"big")] and scans.held == 4000


def test_an_index_built_under_another_key_is_not_used() -> None:
    # Y is iterated at one key, then changed, then put at the key another iteration reads (as
    # RENAME would): its old index misses what was added to it since, so it must not serve.
    scans = CollectionScans()
    common = {b"m%d" % n for n in range(2000)}
    x, y = set(common), set(common)
    scans.read((0, b"elsewhere"), y, 0, 1)
    late = {b"late%d" % n for n in range(500)}
    x |= late
    y |= late
    cursor, seen = scans.read(SLOT, x, 0, 10)
    while cursor:
        cursor, found = scans.read(SLOT, y, cursor, 10)
        seen += found
    assert late <= set(seen)


@pytest.mark.parametrize(
    ("raw", "cursor"),
    [
        (b"", 0),
        (b"0", 0),
        (b"-0", 0),
        (b"+7", 7),
        (b"007", 7),
        (b"-1", (1 << 64) - 1),
        (b"-18446744073709551615", 1),
        (b"18446744073709551615", (1 << 64) - 1),
        (b"5\x00junk", 5),
        (b"\x00", 0),
    ],
)
def test_cursors_read_as_strtoul(raw: bytes, cursor: int) -> None:
    assert parse_cursor(raw) == cursor


@pytest.mark.parametrize(
    "raw", [b" 1", b"\t1", b"+", b"-", b"--1", b"1 ", b"0x1", b"18446744073709551616", b"-1e3"]
)
def test_invalid_cursors(raw: bytes) -> None:
    with pytest.raises(CommandError, match=r"^ERR invalid cursor$"):
        parse_cursor(raw)
