"""The stream type on its own (zyst.types.stream): ID parsing as Redis's, the packed nodes
(their widening arrays, boundaries, tombstones), ranges, trims and copies. Socket-level
behaviour against Redis is tests/oracle/test_streams_oracle.py."""

from __future__ import annotations

import random

import pytest

from zyst.errors import CommandError
from zyst.types.stream import (
    MAX_ID,
    U64,
    Stream,
    format_id,
    parse_add_id,
    parse_id,
    parse_interval_id,
    parse_strict_id,
    write_positions_portable,
)
from zyst.types.streamgroups import Consumer, ConsumerGroup, Pending
from zyst.types.streamresp import entries_resp


def sid(ms: int, seq: int) -> int:
    return ms << 64 | seq


@pytest.mark.parametrize(
    ("raw", "missing", "expected"),
    [
        (b"5", 0, sid(5, 0)),
        (b"5", U64, sid(5, U64)),
        (b"5-3", U64, sid(5, 3)),
        (b"-", 0, 0),
        (b"+", 0, MAX_ID),
        (b"007-01", 0, sid(7, 1)),  # strtoull's leading zeros
        (b" 7-+1", 0, sid(7, 1)),  # and its blanks and plus sign
        (b"5--03", 0, sid(5, (1 << 64) - 3)),  # and its wrapping minus
        (b"18446744073709551615-18446744073709551615", 0, MAX_ID),
        (b"5-3\x00junk", 0, sid(5, 3)),  # read as a C string
    ],
)
def test_ids_parse_as_redis_parses_them(raw: bytes, missing: int, expected: int) -> None:
    assert parse_id(raw, missing) == expected


@pytest.mark.parametrize(
    "raw", [b"", b"-5", b"5-", b"5--3", b"x", b"5-x", b"18446744073709551616", b"1" * 128]
)
def test_invalid_ids_are_refused(raw: bytes) -> None:
    with pytest.raises(CommandError, match="Invalid stream ID"):
        parse_id(raw, 0)


def test_strict_interval_and_add_forms() -> None:
    for raw in (b"-", b"+"):
        with pytest.raises(CommandError):
            parse_strict_id(raw, 0)
    assert parse_interval_id(b"(5", U64) == (sid(5, U64), True)
    for raw in (b"(", b"(+", b"(-"):  # "(" alone is no prefix; "(" + "+" is strict
        with pytest.raises(CommandError):
            parse_interval_id(raw, 0)
    assert parse_add_id(b"5-*") == (sid(5, 0), False)
    assert parse_add_id(b"5-2") == (sid(5, 2), True)
    assert format_id(sid(1526919030474, 55)) == b"1526919030474-55"


def filled(count: int, per_node: int = 10) -> Stream:
    stream = Stream()
    for n in range(1, count + 1):
        stream.add(sid(n, n % 3), [b"f", b"%d" % n], per_node)
    return stream


def test_entries_span_nodes_and_read_back_both_ways() -> None:
    stream = filled(95)
    assert len(stream.nodes) == 10 and stream.length == 95
    assert stream.first_id() == sid(1, 1) and stream.last_live_id() == sid(95, 2)
    forward = stream.range(sid(8, 0), sid(31, 0))
    assert [entry[0] >> 64 for entry in forward] == list(range(8, 31))
    backward = stream.range(sid(8, 0), sid(31, 0), 5, rev=True)
    assert [entry[0] >> 64 for entry in backward] == [30, 29, 28, 27, 26]
    assert stream.lookup(sid(40, 1)) == [b"f", b"40"]
    assert stream.lookup(sid(40, 2)) is None


def test_deleted_entries_stay_as_tombstones_until_their_node_empties() -> None:
    stream = filled(20)
    for n in range(1, 10):
        assert stream.delete(sid(n, n % 3))
    assert not stream.delete(sid(1, 1))
    assert len(stream.nodes) == 2 and stream.first_id() == sid(10, 1)
    assert stream.first_stored_id() == sid(1, 1)  # the tombstones keep the node's place
    assert stream.delete(sid(10, 1))
    assert len(stream.nodes) == 1 and stream.max_deleted_id == sid(10, 1)
    # A new node still starts after ten entries, tombstones counted (Redis's rule).
    stream = filled(10)
    stream.delete(sid(3, 0))
    stream.add(sid(11, 0), [b"f", b"x"], 10)
    assert len(stream.nodes) == 2


def test_trims_by_length_and_id() -> None:
    stream = filled(95)
    assert stream.trim(50, None, True, 0) == 40  # whole nodes only
    assert stream.trim(50, None, False, 0) == 5
    assert stream.length == 50 and stream.first_id() == sid(46, 1)
    assert stream.trim(None, sid(60, 0), True, 0) == 5  # node 41-50 goes; 51-60 ends at 60-0
    assert stream.trim(None, sid(60, 0), False, 0) == 9
    assert stream.first_id() == sid(60, 0)
    # LIMIT counts whole nodes: the one live entry left in node 51-60 goes, then a node of
    # ten would pass the limit of 10.
    assert stream.trim(0, None, True, 10) == 1


def test_arrays_widen_for_large_ids_and_blobs() -> None:
    stream = Stream()
    stream.add(sid(1, 1), [b"f", b"a"], 0, 0)
    stream.add(sid(1, 1 << 40), [b"f", b"x" * 70000], 0, 0)
    stream.add(sid(1 << 40, 3), [b"g", b"b"], 0, 0)
    stream.add(sid(U64, U64), [b"f", b"c"], 0, 0)
    assert len(stream.nodes) == 1
    assert stream.ids() == [sid(1, 1), sid(1, 1 << 40), sid(1 << 40, 3), MAX_ID]
    assert stream.lookup(sid(1 << 40, 3)) == [b"g", b"b"]
    assert stream.lookup(MAX_ID) == [b"f", b"c"]


def test_copy_shares_nothing() -> None:
    stream = filled(30)
    group = ConsumerGroup(sid(5, 0), 5)
    consumer = Consumer(b"alice", 123)
    group.consumers[b"alice"] = consumer
    nack = Pending(consumer, 456, 2)
    group.pending[sid(3, 0)] = consumer.pending[sid(3, 0)] = nack
    stream.groups = {b"g": group}
    twin = stream.copy()
    assert twin == stream
    stream.delete(sid(2, 2))
    stream.add(sid(99, 0), [b"f", b"new"])
    nack.delivery_count = 9
    assert twin.lookup(sid(2, 2)) == [b"f", b"2"] and twin.lookup(sid(99, 0)) is None
    assert twin.groups is not None
    copied = twin.groups[b"g"].pending[sid(3, 0)]
    assert copied.delivery_count == 2 and copied.consumer is twin.groups[b"g"].consumers[b"alice"]


def test_radix_tree_node_counts() -> None:
    """Counts XINFO STREAM showed on redis-server for the same node keys."""
    stream = Stream()
    assert stream.radix_tree_nodes() == 1
    stream.add(sid(1, 0), [b"f", b"v"])
    assert stream.radix_tree_nodes() == 2
    stream = filled(30)  # keys 1-1, 11-2, 21-0: 7 shared bytes, then a branch of 3
    assert len(stream.nodes) == 3
    assert stream.radix_tree_nodes() == 8


def _resp_of(entries: list[tuple[int, list[bytes]]]) -> bytes:
    """A range reply built from decoded entries, independently of both writers."""
    out = [b"*%d\r\n" % len(entries)]
    for entry_id, fields in entries:
        text = format_id(entry_id)
        out.append(b"*2\r\n$%d\r\n%s\r\n*%d\r\n" % (len(text), text, len(fields)))
        out += [b"$%d\r\n%s\r\n" % (len(item), item) for item in fields]
    return b"".join(out)


@pytest.mark.parametrize("seed", range(6))
def test_range_replies_written_in_c_equal_the_python_reference(seed: int) -> None:
    """Open and sealed nodes (lists, 16/32/64-bit arrays), entries with and without the master
    fields, lengths whose varints take one to three bytes, tombstones, both directions."""
    rng = random.Random(seed)
    stream = Stream()
    ms = rng.choice([0, 1, 1 << 33])
    for _ in range(rng.randrange(1, 400)):
        ms += rng.choice([0, 1, 1 << rng.randrange(40)])
        ms = min(ms, U64)
        seq = rng.choice([0, rng.randrange(1 << 20), rng.randrange(1 << 64)])
        entry_id = max(sid(ms, seq), stream.last_id + 1) if stream.nodes else sid(ms, seq)
        if entry_id > MAX_ID:
            break
        size = rng.choice([0, 1, 5, 127, 128, 300, 16384, 20000])
        fields = [b"f", rng.randbytes(size)]
        if rng.random() < 0.3:
            fields += [b"g%d" % rng.randrange(3), b"v"]
        stream.add(entry_id, fields, rng.choice([0, 7, 100]), rng.choice([0, 4096]))
        stream.last_id = entry_id
    ids = stream.ids()
    for gone in rng.sample(ids, len(ids) // 5):
        stream.delete(gone)
    if rng.random() < 0.5:
        for node in stream.nodes:
            node.seal()
    for _ in range(20):
        low, high = sorted(rng.choice(ids) for _ in range(2))
        count = rng.choice([0, 1, 10])
        rev = rng.random() < 0.5
        positions = stream._positions(low, high, count, rev)
        expected = _resp_of(stream.range(low, high, count, rev))
        assert write_positions_portable(positions) == expected
        assert entries_resp(positions) == expected
        assert stream.range_resp(low, high, count, rev) == expected


def test_a_damaged_node_is_refused_not_read_past_its_end() -> None:
    stream = filled(3)
    node = stream.nodes[0]
    positions = stream._positions(0, MAX_ID, 0, False)
    node.blob = node.blob[:-1]  # the last value loses its last byte
    with pytest.raises(ValueError, match="do not parse"):
        entries_resp(positions)
    node.blob = bytearray()
    with pytest.raises(ValueError, match="do not parse"):
        entries_resp(positions)
    with pytest.raises(ValueError, match="out of range"):
        entries_resp([(node, 99)])
    with pytest.raises(AttributeError):
        entries_resp([(object(), 0)])
