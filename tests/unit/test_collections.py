"""List, hash and set commands run in-process through the dispatcher (no sockets): replies,
error strings, the no-empty-collections invariant, ``dirty`` and what reaches propagation."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any

import pytest

import zyst.commands  # noqa: F401  (registers every command)
from zyst import errors
from zyst.client import Client
from zyst.commands import table
from zyst.config import Config
from zyst.context import ServerContext
from zyst.protocol.resp import NULL_ARRAY, ErrorReply, Map, SetReply

WRONGTYPE = errors.WRONGTYPE
OUT_OF_RANGE = "ERR value is out of range, must be positive"
NOT_INTEGER = "ERR value is not an integer or out of range"


class Harness:
    """One client on a fresh server context, recording what is propagated."""

    def __init__(self) -> None:
        self.ctx = ServerContext(Config())
        self.client = Client(self.ctx, 1)
        self.propagated: list[list[bytes]] = []
        self.ctx.set_propagation(lambda db, argv: self.propagated.append(argv))

    def __call__(self, *args: bytes | str | int) -> Any:
        argv = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        return table.call(self.client, argv)

    def error(self, *args: bytes | str | int) -> str:
        reply = self(*args)
        assert isinstance(reply, ErrorReply), f"{args!r} replied {reply!r}"
        return reply.message

    @property
    def data(self) -> dict[bytes, Any]:
        return self.client.db.data


@pytest.fixture
def z() -> Iterator[Harness]:
    yield Harness()


def pairs(reply: Map) -> list[tuple[Any, Any]]:
    return list(reply.pairs)


def items(reply: SetReply) -> list[Any]:
    return sorted(reply.items)


# -- lists --------------------------------------------------------------------------------------
def test_push_order_and_lengths(z: Harness) -> None:
    assert z("LPUSH", "l", "a") == 1
    assert z("LPUSH", "l", "b", "c") == 3
    assert z("RPUSH", "l", "x", "y") == 5
    assert z.data[b"l"] == deque([b"c", b"b", b"a", b"x", b"y"])
    assert z("LLEN", "l") == 5
    assert z("LLEN", "missing") == 0
    assert z.ctx.dirty == 5


def test_pop_without_count(z: Harness) -> None:
    z("RPUSH", "l", "a", "b", "c")
    assert z("LPOP", "l") == b"a"
    assert z("RPOP", "l") == b"c"
    assert z("RPOP", "l") == b"b"
    assert b"l" not in z.data
    assert z("LPOP", "l") is None
    assert z("RPOP", "l") is None


def test_pop_with_count(z: Harness) -> None:
    z("RPUSH", "l", "a", "b", "c", "d", "e")
    assert z("LPOP", "l", "2") == [b"a", b"b"]
    assert z("RPOP", "l", "2") == [b"e", b"d"]
    assert z("LPOP", "l", "0") == []
    assert z("RPOP", "l", "10") == [b"c"]
    assert b"l" not in z.data
    z("RPUSH", "l", "a", "b", "c")
    assert z("RPOP", "l", "3") == [b"c", b"b", b"a"]
    assert b"l" not in z.data


def test_pop_count_on_missing_key_is_null_array_even_for_zero(z: Harness) -> None:
    assert z("LPOP", "nope", "3") is NULL_ARRAY
    assert z("RPOP", "nope", "0") is NULL_ARRAY
    assert z("LPOP", "nope", "9223372036854775807") is NULL_ARRAY


@pytest.mark.parametrize("count", ["-1", "abc", "01", "+1", "", "99999999999999999999", "1.5"])
def test_pop_bad_count_is_out_of_range_before_lookup(z: Harness, count: str) -> None:
    z("SET", "s", "x")
    z("RPUSH", "l", "a")
    for key in ("l", "nope", "s"):
        assert z.error("LPOP", key, count) == OUT_OF_RANGE
        assert z.error("RPOP", key, count) == OUT_OF_RANGE
    assert z.data[b"l"] == deque([b"a"])


def test_pop_arity(z: Harness) -> None:
    assert z.error("LPOP") == "ERR wrong number of arguments for 'lpop' command"
    assert z.error("LPOP", "l", "1", "2") == "ERR wrong number of arguments for 'lpop' command"
    assert z.error("rpop", "l", "1", "2") == "ERR wrong number of arguments for 'rpop' command"


def test_list_wrongtype(z: Harness) -> None:
    z("SET", "s", "x")
    for args in (
        ("LPUSH", "s", "a"),
        ("RPUSH", "s", "a", "b"),
        ("LPOP", "s"),
        ("RPOP", "s", "0"),
        ("LRANGE", "s", "0", "-1"),
        ("LLEN", "s"),
    ):
        assert z.error(*args) == WRONGTYPE
    assert z.data[b"s"] == b"x"


@pytest.mark.parametrize(
    ("start", "stop", "expected"),
    [
        (0, -1, "abcde"),
        (0, 0, "a"),
        (1, 3, "bcd"),
        (-2, -1, "de"),
        (-100, 100, "abcde"),
        (3, 1, ""),
        (5, 10, ""),
        (-1, -2, ""),
        (4, 4, "e"),
        (-5, -5, "a"),
        (2, -3, "c"),
        (0, -6, ""),
        (-9223372036854775808, 9223372036854775807, "abcde"),
    ],
)
def test_lrange(z: Harness, start: int, stop: int, expected: str) -> None:
    z("RPUSH", "l", *"abcde")
    assert z("LRANGE", "l", start, stop) == [c.encode() for c in expected]


def test_lrange_from_either_end_matches_slicing(z: Harness) -> None:
    values = [str(n) for n in range(600)]
    z("RPUSH", "l", *values)
    expected = [v.encode() for v in values]
    for start, stop in [(0, 99), (0, 299), (5, 449), (450, 599), (300, 310), (550, -1), (-60, -2)]:
        lo = start if start >= 0 else start + 600
        hi = stop if stop >= 0 else stop + 600
        assert z("LRANGE", "l", start, stop) == expected[lo : hi + 1], (start, stop)


def test_lrange_missing_and_bad_indexes(z: Harness) -> None:
    assert z("LRANGE", "nope", "0", "-1") == []
    z("SET", "s", "x")
    for bad in ("x", "01", "-0", "+1", "99999999999999999999", " 1"):
        assert z.error("LRANGE", "s", bad, "1") == NOT_INTEGER
        assert z.error("LRANGE", "nope", "0", bad) == NOT_INTEGER
    assert z.error("LRANGE", "l", "0") == "ERR wrong number of arguments for 'lrange' command"


def test_list_propagation_is_verbatim(z: Harness) -> None:
    z("RPUSH", "l", "a", "b")
    z("LPOP", "l", "0")  # no change: not propagated
    z("LPOP", "nope")
    z("LPOP", "l", "1")
    z("RPOP", "l")
    assert z.propagated == [
        [b"RPUSH", b"l", b"a", b"b"],
        [b"LPOP", b"l", b"1"],
        [b"RPOP", b"l"],
    ]


# -- hashes -------------------------------------------------------------------------------------
def test_hset_counts_new_fields_only(z: Harness) -> None:
    assert z("HSET", "h", "a", "1") == 1
    assert z("HSET", "h", "a", "2") == 0
    assert z("HSET", "h", "b", "1", "a", "3", "c", "4") == 2
    assert z("HSET", "h", "d", "1", "d", "2") == 1
    assert z("HGET", "h", "a") == b"3"
    assert z("HGET", "h", "d") == b"2"
    assert z("HGET", "h", "zz") is None
    assert z("HGET", "nope", "a") is None


def test_hset_odd_arguments(z: Harness) -> None:
    msg = "ERR wrong number of arguments for 'hset' command"
    assert z.error("HSET", "h", "a") == msg
    assert z.error("HSET", "h", "a", "1", "b") == msg
    assert z.error("HSET") == msg
    assert b"h" not in z.data
    assert z.ctx.dirty == 0


def test_hdel_and_key_removal(z: Harness) -> None:
    z("HSET", "h", "a", "1", "b", "2", "c", "3")
    assert z("HDEL", "h", "a", "zz", "a") == 1
    assert z("HDEL", "nope", "a") == 0
    assert z("HDEL", "h", "b", "c", "b") == 2
    assert b"h" not in z.data
    assert z("HGETALL", "h").pairs == ()


def test_hgetall_keeps_listpack_order(z: Harness) -> None:
    z("HSET", "h", "b", "1", "a", "2", "c", "3")
    z("HSET", "h", "b", "9")
    z("HDEL", "h", "a")
    z("HSET", "h", "a", "0")
    reply = z("HGETALL", "h")
    assert isinstance(reply, Map)
    assert pairs(reply) == [(b"b", b"9"), (b"c", b"3"), (b"a", b"0")]


def test_hgetall_reply_is_a_snapshot(z: Harness) -> None:
    z("HSET", "h", "a", "1")
    reply = z("HGETALL", "h")
    z("HSET", "h", "b", "2")
    assert pairs(reply) == [(b"a", b"1")]


def test_hash_wrongtype_and_arity(z: Harness) -> None:
    z("SET", "s", "x")
    for args in (("HSET", "s", "a", "b"), ("HGET", "s", "a"), ("HDEL", "s", "a"), ("HGETALL", "s")):
        assert z.error(*args) == WRONGTYPE
    assert z.error("HGET", "h") == "ERR wrong number of arguments for 'hget' command"
    assert z.error("HDEL", "h") == "ERR wrong number of arguments for 'hdel' command"
    assert z.error("HGETALL") == "ERR wrong number of arguments for 'hgetall' command"


def test_hash_dirty(z: Harness) -> None:
    z("HSET", "h", "a", "1", "b", "2")
    assert z.ctx.dirty == 2
    z("HDEL", "h", "zz")
    assert z.ctx.dirty == 2
    z("HDEL", "h", "a", "b")
    assert z.ctx.dirty == 4
    assert [argv[0] for argv in z.propagated] == [b"HSET", b"HDEL"]


# -- sets ---------------------------------------------------------------------------------------
def test_sadd_srem_smembers(z: Harness) -> None:
    assert z("SADD", "s", "a") == 1
    assert z("SADD", "s", "a") == 0
    assert z("SADD", "s", "b", "c", "b", "a") == 2
    assert items(z("SMEMBERS", "s")) == [b"a", b"b", b"c"]
    assert z("SREM", "s", "zz") == 0
    assert z("SREM", "s", "a", "a") == 1
    assert z("SREM", "nope", "a") == 0
    assert z("SREM", "s", "b", "c") == 2
    assert b"s" not in z.data
    assert items(z("SMEMBERS", "s")) == []


def test_set_no_change_is_not_propagated(z: Harness) -> None:
    z("SADD", "s", "a")
    z("SADD", "s", "a")
    z("SREM", "s", "b")
    z("SREM", "nope", "b")
    assert z.propagated == [[b"SADD", b"s", b"a"]]
    assert z.ctx.dirty == 1


def test_smembers_reply_is_a_snapshot(z: Harness) -> None:
    z("SADD", "s", "a")
    reply = z("SMEMBERS", "s")
    z("SADD", "s", "b")
    assert items(reply) == [b"a"]


def test_set_wrongtype_and_arity(z: Harness) -> None:
    z("SET", "str", "x")
    for args in (("SADD", "str", "a"), ("SREM", "str", "a"), ("SMEMBERS", "str"), ("SPOP", "str")):
        assert z.error(*args) == WRONGTYPE
    assert z.error("SPOP", "str", "0") == WRONGTYPE
    assert z.error("SPOP", "str", "-1") == OUT_OF_RANGE
    assert z.error("SADD", "s") == "ERR wrong number of arguments for 'sadd' command"
    assert z.error("SREM", "s") == "ERR wrong number of arguments for 'srem' command"
    assert z.error("SPOP") == "ERR wrong number of arguments for 'spop' command"
    assert z.error("SPOP", "s", "1", "2") == "ERR syntax error"


def test_spop_single(z: Harness) -> None:
    assert z("SPOP", "s") is None
    z("SADD", "s", "a", "b", "c")
    popped = {z("SPOP", "s") for _ in range(3)}
    assert popped == {b"a", b"b", b"c"}
    assert b"s" not in z.data
    srems = z.propagated[1:]
    assert sorted(srems) == sorted([[b"SREM", b"s", m] for m in popped])


def test_spop_count(z: Harness) -> None:
    z("SADD", "s", *"abcdef")
    reply = z("SPOP", "s", "2")
    assert isinstance(reply, SetReply)
    first = list(reply.items)
    assert len(first) == 2 and len(z.data[b"s"]) == 4
    assert z.propagated[-1] == [b"SREM", b"s", *first]
    assert items(z("SPOP", "s", "0")) == []
    rest = items(z("SPOP", "s", "10"))
    assert sorted(first + rest) == [c.encode() for c in "abcdef"]
    assert b"s" not in z.data
    assert z.propagated[-1] == [b"DEL", b"s"]
    assert z.ctx.dirty == 6 + 2 + 4  # one per member added or popped
    assert items(z("SPOP", "s", "3")) == []


@pytest.mark.parametrize("count", ["-1", "abc", "01", "", "99999999999999999999"])
def test_spop_bad_count(z: Harness, count: str) -> None:
    z("SADD", "s", "a")
    assert z.error("SPOP", "s", count) == OUT_OF_RANGE
    assert z.error("SPOP", "nope", count) == OUT_OF_RANGE


def test_spop_count_on_large_set(z: Harness) -> None:
    members = [b"m%d" % n for n in range(5000)]
    z("SADD", "s", *members)
    taken: list[bytes] = []
    for count in (1, 10, 100, 2000):
        reply = z("SPOP", "s", count)
        assert len(reply.items) == count
        taken.extend(reply.items)
    for _ in range(500):
        taken.append(z("SPOP", "s"))
    taken.extend(z("SMEMBERS", "s").items)
    assert sorted(taken) == sorted(members)
    assert len(set(taken)) == len(members)


def test_spop_small_set_is_random(z: Harness) -> None:
    # Every member of a small set comes out first sometimes (set.pop() alone would always
    # return the same one for the same set).
    seen: set[bytes] = set()
    for _ in range(200):
        z("SADD", "s", "a", "b", "c", "d")
        seen.add(z("SPOP", "s"))
        z("SPOP", "s", "10")
    assert seen == {b"a", b"b", b"c", b"d"}


def test_hincrbyfloat_propagates_as_hset_of_the_result(z: Harness) -> None:
    assert z("HINCRBYFLOAT", "h", "f", "0.1") == b"0.1"
    assert z("HINCRBYFLOAT", "h", "f", "0.2") == b"0.3"
    assert z.propagated == [[b"HSET", b"h", b"f", b"0.1"], [b"HSET", b"h", b"f", b"0.3"]]
    # Refused increments change and propagate nothing, and leave no empty hash behind.
    assert z.error("HINCRBYFLOAT", "new", "f", "inf") == "ERR value is NaN or Infinity"
    assert z.error("HINCRBYFLOAT", "h", "f", "x") == "ERR value is not a valid float"
    assert b"new" not in z.data and len(z.propagated) == 2
