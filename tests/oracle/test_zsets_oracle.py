"""Sorted-set commands against real Redis: the same commands go to Zyst and to redis-server and
the raw replies are compared byte for byte, error paths included, in RESP2 and RESP3.

Members of equal score are ordered by their bytes, so every reply is deterministic except
ZRANDMEMBER's choice (checked for shape and membership) and the order of a positive
ZRANDMEMBER count that takes the whole set (Redis leaves it to its encoding).
"""

from __future__ import annotations

import random
from typing import Any

import hiredis
import pytest

from tests.conftest import Oracle

Arg = bytes | str | int
Command = tuple[Arg, ...]


def parse(raw: bytes) -> Any:
    reader = hiredis.Reader()
    reader.feed(raw)
    return reader.gets()


def hello3(oracle: Oracle) -> None:
    ours, theirs = oracle.run("HELLO", "3")
    assert ours.startswith(b"%") and theirs.startswith(b"%"), (ours, theirs)


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def o(request: pytest.FixtureRequest, oracle: Oracle) -> Oracle:
    """The oracle, in RESP2 or RESP3."""
    if request.param == 3:
        hello3(oracle)
    return oracle


def fill(o: Oracle) -> None:
    o.check_all(
        ("ZADD", "z", 1, "a", 2, "b", 3, "c", "2", "bb", "-inf", "low", "+inf", "high"),
        ("ZADD", "same", 0, "a", 0, "b", 0, "c", 0, "d", 0, "e", 0, "f", 0, "g", 0, "ab"),
        ("SET", "str", "x"),
        ("SADD", "set", "a", "b", "zz"),
    )


# -- scores: how they are read and written -------------------------------------------------------
SCORES = [
    "1", "-1", "0", "-0", "+0", "1.5", "0.1", "1e300", "1.5e-7", "1e-310", "4.9e-324", "1e-400",
    "1e400", "-1e400", "inf", "-inf", "+inf", "INF", "Infinity", "-infinity", "nan", "NaN",
    "-nan", " 1", "1 ", "\t1", "", ".", "1.", ".5", "1e", "1e+", "0x10", "0x1p3", "0X1P-2", "0x",
    "1_000", "abc", "1\x00", "12345678901234567890", "123456789012345678", "3.0", "-3.25e2",
    "00012", "1E5", "0.30000000000000004", "1.7976931348623157e308",
]  # fmt: skip


@pytest.mark.parametrize("score", SCORES)
def test_score_parse_and_format(o: Oracle, score: str) -> None:
    o.check("ZADD", "z", score, "m")
    o.check("ZSCORE", "z", "m")
    o.check("ZRANGE", "z", 0, -1, "WITHSCORES")
    o.check("ZINCRBY", "z", score, "m")
    o.check("ZINCRBY", "z", score, "n")
    o.check("ZSCORE", "z", "n")
    o.check("ZADD", "z", "INCR", score, "m")
    o.check("ZCOUNT", "z", score, "+inf")
    o.check("ZCOUNT", "z", "-inf", "(" + score)
    o.check("ZRANGEBYSCORE", "z", score, score)
    o.check("ZUNION", 1, "z", "WEIGHTS", score, "WITHSCORES")


# -- ZADD ------------------------------------------------------------------------------------------
def test_zadd_options(o: Oracle) -> None:
    o.check_all(
        ("ZADD", "z", 1, "a", 2, "b"),
        ("ZADD", "z", "NX", 5, "a", 3, "c"),
        ("ZADD", "z", "XX", 5, "a", 4, "d"),
        ("ZADD", "z", "XX", "CH", 6, "a", 4, "d"),
        ("ZADD", "z", "CH", 6, "a", 7, "b", 8, "e"),
        ("ZADD", "z", "GT", "CH", 1, "a", 10, "b", 1, "new"),
        ("ZADD", "z", "LT", "CH", 100, "a", 0, "b"),
        ("ZADD", "z", "XX", "GT", "CH", 200, "a", 1, "b", 5, "missing"),
        ("ZADD", "z", "INCR", 5, "a"),
        ("ZADD", "z", "INCR", "NX", 5, "a"),
        ("ZADD", "z", "INCR", "XX", 5, "zz"),
        ("ZADD", "z", "INCR", "GT", -5, "a"),
        ("ZADD", "z", "INCR", "LT", -5, "a"),
        ("ZADD", "z", "INCR", "LT", 0, "a"),
        ("ZADD", "z", "nx", "incr", 1, "fresh"),
        ("ZADD", "z", "xx", 1, "a", 2, "b"),
        ("ZADD", "missing", "XX", 1, "a"),
        ("ZADD", "missing", "XX", "INCR", 1, "a"),
        ("EXISTS", "missing"),
        ("ZADD", "z", 1, "a", 1, "a", 2, "a"),
        ("ZADD", "z", "0", "zero", "-0", "zero"),
        ("ZSCORE", "z", "zero"),
        ("ZADD", "z", "-0", "nzero"),
        ("ZSCORE", "z", "nzero"),
        ("ZRANGE", "z", 0, -1, "WITHSCORES"),
        ("ZCARD", "z"),
    )


def test_zadd_errors(o: Oracle) -> None:
    o.check_all(
        ("SET", "str", "x"),
        ("ZADD", "z"),
        ("ZADD", "z", 1),
        ("ZADD", "z", 1, "a", 2),
        ("ZADD", "z", "NX"),
        ("ZADD", "z", "NX", "XX", 1, "a"),
        ("ZADD", "z", "GT", "LT", 1, "a"),
        ("ZADD", "z", "GT", "NX", 1, "a"),
        ("ZADD", "z", "LT", "NX", 1, "a"),
        ("ZADD", "z", "NX", "XX", "GT", 1, "a"),
        ("ZADD", "z", "INCR", 1, "a", 2, "b"),
        ("ZADD", "z", "INCR", "NX", "XX", 1, "a", 2, "b"),
        ("ZADD", "z", "CH", "x", "a"),
        ("ZADD", "z", 1, "a", "x", "b"),
        ("EXISTS", "z"),
        ("ZADD", "str", 1, "a"),
        ("ZADD", "str", "x", "a"),
        ("ZADD", "z", "inf", "a"),
        ("ZADD", "z", "INCR", "-inf", "a"),
        ("ZINCRBY", "z", "-inf", "a"),
        ("ZINCRBY", "z", "+inf", "a"),
        ("ZSCORE", "z", "a"),
        ("ZINCRBY", "z", "x", "a"),
        ("ZINCRBY", "z", "nx", "a"),
        ("ZINCRBY", "z", "incr", "a"),
        ("ZINCRBY", "str", 1, "a"),
        ("ZINCRBY", "z", 1),
    )


# -- reads -------------------------------------------------------------------------------------
def test_single_member_reads(o: Oracle) -> None:
    fill(o)
    o.check_all(
        ("ZCARD", "z"),
        ("ZCARD", "nokey"),
        ("ZCARD", "str"),
        ("ZSCORE", "z", "a"),
        ("ZSCORE", "z", "high"),
        ("ZSCORE", "z", "nope"),
        ("ZSCORE", "nokey", "a"),
        ("ZSCORE", "str", "a"),
        ("ZMSCORE", "z", "a", "nope", "low", "high"),
        ("ZMSCORE", "nokey", "a", "b"),
        ("ZMSCORE", "str", "a"),
        ("ZRANK", "z", "low"),
        ("ZRANK", "z", "bb"),
        ("ZRANK", "z", "nope"),
        ("ZRANK", "nokey", "a"),
        ("ZRANK", "str", "a"),
        ("ZREVRANK", "z", "low"),
        ("ZREVRANK", "z", "high"),
        ("ZREVRANK", "z", "nope"),
        ("ZREVRANK", "str", "a"),
        ("ZCOUNT", "z", "-inf", "+inf"),
        ("ZCOUNT", "z", "(1", "3"),
        ("ZCOUNT", "z", "(1", "(3"),
        ("ZCOUNT", "z", "2", "2"),
        ("ZCOUNT", "z", "(2", "2"),
        ("ZCOUNT", "z", "3", "1"),
        ("ZCOUNT", "z", "(inf", "inf"),
        ("ZCOUNT", "z", "-inf", "(-inf"),
        ("ZCOUNT", "z", "x", "1"),
        ("ZCOUNT", "z", "1", "nan"),
        ("ZCOUNT", "z", "(", "("),
        ("ZCOUNT", "z", "", "5"),
        ("ZCOUNT", "z", " 1", "5"),
        ("ZCOUNT", "z", "1 ", "5"),
        ("ZCOUNT", "z", "1\x00junk", "5"),
        ("ZCOUNT", "z", "1e400", "5"),
        ("ZCOUNT", "z", "-1e400", "5"),
        ("ZCOUNT", "nokey", "x", "1"),
        ("ZCOUNT", "nokey", "1", "2"),
        ("ZCOUNT", "str", "1", "2"),
        ("ZLEXCOUNT", "same", "-", "+"),
        ("ZLEXCOUNT", "same", "[a", "[c"),
        ("ZLEXCOUNT", "same", "(a", "(c"),
        ("ZLEXCOUNT", "same", "[c", "[a"),
        ("ZLEXCOUNT", "same", "+", "-"),
        ("ZLEXCOUNT", "same", "(a", "(a"),
        ("ZLEXCOUNT", "same", "[a", "[a"),
        ("ZLEXCOUNT", "same", "a", "[c"),
        ("ZLEXCOUNT", "same", "[a", ""),
        ("ZLEXCOUNT", "same", "-x", "+"),
        ("ZLEXCOUNT", "same", "[", "(zzz"),
        ("ZLEXCOUNT", "z", "-", "+"),
        ("ZLEXCOUNT", "z", "[b", "[c"),
        ("ZLEXCOUNT", "nokey", "-", "+"),
        ("ZLEXCOUNT", "nokey", "x", "+"),
        ("ZLEXCOUNT", "str", "-", "+"),
    )


RANGES: list[Command] = [
    ("ZRANGE", "z", 0, -1),
    ("ZRANGE", "z", 0, -1, "WITHSCORES"),
    ("ZRANGE", "z", 1, 3),
    ("ZRANGE", "z", -3, -1, "withscores"),
    ("ZRANGE", "z", -100, 100),
    ("ZRANGE", "z", 5, 2),
    ("ZRANGE", "z", 10, 20),
    ("ZRANGE", "z", 0, -1, "REV"),
    ("ZRANGE", "z", 0, 1, "REV", "WITHSCORES"),
    ("ZRANGE", "z", -2, -1, "REV"),
    ("ZRANGE", "z", "x", 1),
    ("ZRANGE", "z", 0, 1, "LIMIT", 0, 1),
    ("ZRANGE", "z", 0, 1, "LIMIT", 0, -1),
    ("ZRANGE", "z", 0, 1, "LIMIT", 0),
    ("ZRANGE", "z", 0, 1, "BOGUS"),
    ("ZRANGE", "z", "-inf", "+inf", "BYSCORE"),
    ("ZRANGE", "z", "-inf", "+inf", "BYSCORE", "WITHSCORES"),
    ("ZRANGE", "z", "(1", "3", "BYSCORE", "LIMIT", 1, 2),
    ("ZRANGE", "z", "+inf", "-inf", "BYSCORE", "REV", "LIMIT", 1, 2, "WITHSCORES"),
    ("ZRANGE", "z", "+inf", "-inf", "BYSCORE", "REV", "LIMIT", 0, -5),
    ("ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", -1, 2),
    ("ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", 2, 0),
    ("ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", 6, 1),
    ("ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", 5, 1),
    ("ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "x", 1),
    ("ZRANGE", "z", "a", "+inf", "BYSCORE"),
    ("ZRANGE", "z", "-inf", "+inf", "BYSCORE", "BYLEX"),
    ("ZRANGE", "z", "-inf", "+inf", "BYSCORE", "REV", "REV"),
    ("ZRANGE", "same", "-", "+", "BYLEX"),
    ("ZRANGE", "same", "[b", "(e", "BYLEX", "LIMIT", 1, 2),
    ("ZRANGE", "same", "+", "-", "BYLEX", "REV"),
    ("ZRANGE", "same", "(e", "[b", "BYLEX", "REV", "LIMIT", 1, 10),
    ("ZRANGE", "same", "-", "+", "BYLEX", "WITHSCORES"),
    ("ZRANGE", "same", "x", "+", "BYLEX"),
    ("ZRANGE", "same", "-", "+", "BYLEX", "LIMIT", -1, 2),
    ("ZRANGE", "nokey", 0, -1),
    ("ZRANGE", "nokey", "x", -1),
    ("ZRANGE", "str", 0, -1),
    ("ZREVRANGE", "z", 0, -1),
    ("ZREVRANGE", "z", 0, 2, "WITHSCORES"),
    ("ZREVRANGE", "z", 0, 2, "REV"),
    ("ZREVRANGE", "z", 0, 2, "LIMIT", 0, 1),
    ("ZREVRANGE", "z", 0, 2, "BYSCORE"),
    ("ZRANGEBYSCORE", "z", "-inf", "+inf"),
    ("ZRANGEBYSCORE", "z", "(1", "(3", "WITHSCORES"),
    ("ZRANGEBYSCORE", "z", "1", "3", "LIMIT", 1, 1, "WITHSCORES"),
    ("ZRANGEBYSCORE", "z", "3", "1"),
    ("ZRANGEBYSCORE", "z", "1", "3", "REV"),
    ("ZRANGEBYSCORE", "z", "1", "3", "BYSCORE"),
    ("ZRANGEBYSCORE", "z", "1", "3", "LIMIT", 1),
    ("ZRANGEBYSCORE", "str", "1", "3"),
    ("ZREVRANGEBYSCORE", "z", "+inf", "-inf"),
    ("ZREVRANGEBYSCORE", "z", "3", "(1", "WITHSCORES"),
    ("ZREVRANGEBYSCORE", "z", "3", "1", "LIMIT", 1, 2),
    ("ZREVRANGEBYSCORE", "z", "1", "3"),
    ("ZRANGEBYLEX", "same", "-", "+"),
    ("ZRANGEBYLEX", "same", "[a", "(b"),
    ("ZRANGEBYLEX", "same", "(a", "+", "LIMIT", 2, 3),
    ("ZRANGEBYLEX", "same", "-", "+", "WITHSCORES"),
    ("ZRANGEBYLEX", "same", "a", "+"),
    ("ZRANGEBYLEX", "same", "-\x00x", "+\x00y"),
    ("ZRANGEBYLEX", "same", "-x", "+"),
    ("ZRANGEBYLEX", "same", "[a\x00", "(b\x00"),
    ("ZREVRANGEBYLEX", "same", "+", "-"),
    ("ZREVRANGEBYLEX", "same", "[e", "(b", "LIMIT", 1, 1),
    ("ZREVRANGEBYLEX", "same", "-", "+"),
    ("ZREVRANGEBYLEX", "str", "+", "-"),
]


@pytest.mark.parametrize("args", RANGES, ids=[" ".join(map(str, a)) for a in RANGES])
def test_ranges(o: Oracle, args: Command) -> None:
    fill(o)
    o.check(*args)


def test_lex_ranges_over_mixed_scores(oracle: Oracle) -> None:
    """Redis answers lex ranges over a small set of mixed scores by walking it in order."""
    oracle.check("ZADD", "m", 1, "d", 2, "a", 3, "c", 4, "b", 5, "e")
    for low in ("-", "[a", "(b", "[c", "(d", "[e", "+"):
        for high in ("-", "[a", "(b", "[c", "(d", "[e", "+"):
            oracle.check("ZRANGEBYLEX", "m", low, high)
            oracle.check("ZREVRANGEBYLEX", "m", high, low)
            oracle.check("ZLEXCOUNT", "m", low, high)


# -- writes that remove ------------------------------------------------------------------------
def test_zrem_and_remove_ranges(o: Oracle) -> None:
    fill(o)
    o.check_all(
        ("ZREM", "z", "a", "nope", "b"),
        ("ZREM", "z", "nope"),
        ("ZREM", "nokey", "a"),
        ("ZREM", "str", "a"),
        ("ZREMRANGEBYRANK", "z", 0, 0),
        ("ZREMRANGEBYRANK", "z", -1, -1),
        ("ZREMRANGEBYRANK", "z", 5, 10),
        ("ZREMRANGEBYRANK", "z", "x", 1),
        ("ZREMRANGEBYRANK", "nokey", 0, 1),
        ("ZREMRANGEBYRANK", "str", 0, 1),
        ("ZRANGE", "z", 0, -1, "WITHSCORES"),
        ("ZREMRANGEBYSCORE", "z", "(2", "+inf"),
        ("ZREMRANGEBYSCORE", "z", "x", "+inf"),
        ("ZREMRANGEBYSCORE", "str", 1, 2),
        ("ZRANGE", "z", 0, -1, "WITHSCORES"),
        ("ZREMRANGEBYSCORE", "z", "-inf", "+inf"),
        ("EXISTS", "z"),
        ("ZREMRANGEBYLEX", "same", "[b", "(d"),
        ("ZREMRANGEBYLEX", "same", "x", "(d"),
        ("ZREMRANGEBYLEX", "str", "-", "+"),
        ("ZRANGE", "same", 0, -1),
        ("ZREMRANGEBYLEX", "same", "-", "+"),
        ("EXISTS", "same"),
        ("ZADD", "one", 1, "a"),
        ("ZREM", "one", "a", "a"),
        ("EXISTS", "one"),
    )


def test_pops(o: Oracle) -> None:
    fill(o)
    o.check_all(
        ("ZPOPMIN", "z"),
        ("ZPOPMAX", "z"),
        ("ZPOPMIN", "z", 2),
        ("ZPOPMAX", "z", 1),
        ("ZPOPMIN", "z", 0),
        ("ZPOPMIN", "z", -1),
        ("ZPOPMIN", "z", "x"),
        ("ZPOPMIN", "z", 1, 2),
        ("ZPOPMIN", "nokey"),
        ("ZPOPMIN", "nokey", 3),
        ("ZPOPMIN", "nokey", -3),
        ("ZPOPMAX", "str"),
        ("ZPOPMAX", "z", 100),
        ("EXISTS", "z"),
        ("ZMPOP", 1, "same", "MIN"),
        ("ZMPOP", 2, "nokey", "same", "MAX", "COUNT", 3),
        ("ZMPOP", 2, "nokey", "nokey2", "MAX"),
        ("ZMPOP", 2, "str", "same", "MAX"),
        ("ZMPOP", 2, "nokey", "str", "MAX"),
        ("ZMPOP", 1, "same", "MIN", "COUNT", 100),
        ("EXISTS", "same"),
        ("ZMPOP", 0, "same", "MIN"),
        ("ZMPOP", -1, "same", "MIN"),
        ("ZMPOP", "x", "same", "MIN"),
        ("ZMPOP", 3, "a", "b", "MIN"),
        ("ZMPOP", 1, "a", "LEFT"),
        ("ZMPOP", 1, "a", "MIN", "COUNT"),
        ("ZMPOP", 1, "a", "MIN", "COUNT", 0),
        ("ZMPOP", 1, "a", "MIN", "COUNT", "x"),
        ("ZMPOP", 1, "a", "MIN", "COUNT", 1, "COUNT", 1),
        ("ZMPOP", 1, "a", "MIN", "JUNK"),
    )


# -- ZRANGESTORE and the set operations --------------------------------------------------------
def test_zrangestore(o: Oracle) -> None:
    fill(o)
    o.check_all(
        ("SET", "dst", "old"),
        ("EXPIRE", "dst", 100),
        ("ZRANGESTORE", "dst", "z", 0, 2),
        ("TTL", "dst"),
        ("ZRANGE", "dst", 0, -1, "WITHSCORES"),
        ("ZRANGESTORE", "dst", "z", "(1", "+inf", "BYSCORE", "LIMIT", 1, 2),
        ("ZRANGE", "dst", 0, -1, "WITHSCORES"),
        ("ZRANGESTORE", "dst", "same", "[b", "[d", "BYLEX", "REV"),
        ("ZRANGESTORE", "dst", "same", "[d", "[b", "BYLEX", "REV"),
        ("ZRANGE", "dst", 0, -1, "WITHSCORES"),
        ("ZRANGESTORE", "dst", "z", 0, 2, "WITHSCORES"),
        ("ZRANGESTORE", "dst", "z", 0, 2, "LIMIT", 0, 1),
        ("ZRANGESTORE", "dst", "str", 0, 2),
        ("ZRANGESTORE", "dst", "z", 10, 20),
        ("EXISTS", "dst"),
        ("ZRANGESTORE", "dst", "nokey", 0, -1),
        ("ZRANGESTORE", "z", "z", 1, 2),
        ("ZRANGE", "z", 0, -1),
    )


def test_set_operations(o: Oracle) -> None:
    fill(o)
    o.check_all(
        ("ZADD", "w", 10, "a", 20, "b", 30, "x"),
        ("ZUNION", 2, "z", "w"),
        ("ZUNION", 2, "z", "w", "WITHSCORES"),
        ("ZUNION", 3, "z", "w", "set", "WEIGHTS", 2, 0.5, 3, "WITHSCORES"),
        ("ZUNION", 2, "z", "w", "AGGREGATE", "MIN", "WITHSCORES"),
        ("ZUNION", 2, "z", "w", "AGGREGATE", "max", "withscores"),
        ("ZUNION", 2, "z", "w", "WEIGHTS", 0, 1, "WITHSCORES"),
        ("ZUNION", 2, "z", "w", "WEIGHTS", "-inf", 1, "WITHSCORES"),
        ("ZUNION", 2, "z", "nokey", "WITHSCORES"),
        ("ZUNION", 2, "z", "w", "WEIGHTS", 1),
        ("ZUNION", 2, "z", "w", "WEIGHTS", 1, "x"),
        ("ZUNION", 2, "z", "w", "AGGREGATE", "AVG"),
        ("ZUNION", 2, "z", "w", "AGGREGATE"),
        ("ZUNION", 0, "z"),
        ("ZUNION", -1, "z"),
        ("ZUNION", "x", "z"),
        ("ZUNION", 3, "z", "w"),
        ("ZUNION", 2, "z", "str"),
        ("ZINTER", 2, "z", "w", "WITHSCORES"),
        ("ZINTER", 3, "z", "w", "set", "WITHSCORES"),
        ("ZINTER", 2, "z", "w", "WEIGHTS", 1, "inf", "AGGREGATE", "SUM", "WITHSCORES"),
        ("ZINTER", 2, "z", "nokey"),
        ("ZINTER", 2, "z", "str"),
        ("ZINTER", 2, "nokey", "str"),
        ("ZDIFF", 2, "z", "w"),
        ("ZDIFF", 2, "z", "w", "WITHSCORES"),
        ("ZDIFF", 3, "z", "w", "set", "WITHSCORES"),
        ("ZDIFF", 2, "z", "w", "WEIGHTS", 1, 1),
        ("ZDIFF", 2, "z", "w", "AGGREGATE", "MIN"),
        ("ZDIFF", 1, "nokey"),
        ("ZDIFF", 2, "str", "z"),
        ("ZINTERCARD", 2, "z", "w"),
        ("ZINTERCARD", 2, "z", "w", "LIMIT", 1),
        ("ZINTERCARD", 2, "z", "w", "LIMIT", 0),
        ("ZINTERCARD", 2, "z", "w", "LIMIT", -1),
        ("ZINTERCARD", 2, "z", "w", "LIMIT", "x"),
        ("ZINTERCARD", 2, "z", "w", "WITHSCORES"),
        ("ZINTERCARD", 2, "z", "w", "WEIGHTS", 1, 2),
        ("ZINTERCARD", 0, "z"),
        ("ZINTERCARD", 2, "z", "str"),
        ("ZUNIONSTORE", "dst", 2, "z", "w", "WEIGHTS", 1, 2),
        ("ZRANGE", "dst", 0, -1, "WITHSCORES"),
        ("ZUNIONSTORE", "dst", 2, "z", "w", "WITHSCORES"),
        ("ZUNIONSTORE", "dst", 0, "z"),
        ("ZINTERSTORE", "dst", 2, "z", "w", "AGGREGATE", "MAX"),
        ("ZRANGE", "dst", 0, -1, "WITHSCORES"),
        ("ZINTERSTORE", "dst", 2, "z", "nokey"),
        ("EXISTS", "dst"),
        ("ZDIFFSTORE", "dst", 2, "z", "w"),
        ("ZRANGE", "dst", 0, -1, "WITHSCORES"),
        ("ZDIFFSTORE", "dst", 2, "z", "z"),
        ("EXISTS", "dst"),
        ("ZDIFFSTORE", "dst", 0, "z"),
        # Sums are made smallest input first: (0.1 + 0.2) + 0.3, not (0.3 + 0.2) + 0.1.
        ("ZADD", "three", 0.3, "m", 1, "x", 1, "y"),
        ("ZADD", "two", 0.2, "m", 1, "x"),
        ("ZADD", "one", 0.1, "m"),
        ("ZUNION", 3, "three", "two", "one", "WITHSCORES"),
        ("ZINTER", 3, "three", "two", "one", "WITHSCORES"),
        # A reply keeps a score of -0; a stored set does not (Redis stores it as text, "0").
        ("ZADD", "zero", 0, "m"),
        ("ZUNION", 1, "zero", "WEIGHTS", -1, "WITHSCORES"),
        ("ZINTER", 1, "zero", "WEIGHTS", -1, "WITHSCORES"),
        ("ZUNIONSTORE", "dz", 1, "zero", "WEIGHTS", -1),
        ("ZSCORE", "dz", "m"),
        ("ZINTERSTORE", "set", 2, "set", "set"),
        ("TYPE", "set"),
        ("ZRANGE", "set", 0, -1, "WITHSCORES"),
    )


# -- ZRANDMEMBER ---------------------------------------------------------------------------------
def test_zrandmember_errors_and_empty(o: Oracle) -> None:
    fill(o)
    o.check_all(
        ("ZRANDMEMBER", "nokey"),
        ("ZRANDMEMBER", "nokey", 5),
        ("ZRANDMEMBER", "nokey", 5, "WITHSCORES"),
        ("ZRANDMEMBER", "z", 0),
        ("ZRANDMEMBER", "z", 0, "WITHSCORES"),
        ("ZRANDMEMBER", "z", "x"),
        ("ZRANDMEMBER", "z", 1, "x"),
        ("ZRANDMEMBER", "z", 1, "WITHSCORES", "x"),
        ("ZRANDMEMBER", "z", "-9223372036854775808"),
        ("ZRANDMEMBER", "z", "9223372036854775807", "WITHSCORES"),
        ("ZRANDMEMBER", "z", "-4611686018427387904", "WITHSCORES"),
        ("ZRANDMEMBER", "str"),
        ("ZRANDMEMBER", "str", 1),
    )


def test_zrandmember_choices(o: Oracle) -> None:
    fill(o)
    scores = {b"a": 1.0, b"b": 2.0, b"bb": 2.0, b"c": 3.0, b"low": -1e999, b"high": 1e999}
    for args in [("ZRANDMEMBER", "z", 10), ("ZRANDMEMBER", "z", 10, "WITHSCORES")]:
        ours, theirs = o.run(*args)
        assert ours[:1] == theirs[:1]
        assert sorted(map(repr, parse(ours))) == sorted(map(repr, parse(theirs)))
    for args in [("ZRANDMEMBER", "z", 3), ("ZRANDMEMBER", "z", -20, "WITHSCORES")]:
        ours, theirs = o.run(*args)
        assert ours[: ours.index(b"\r\n")] == theirs[: theirs.index(b"\r\n")], args
    picked = parse(o.zyst.command("ZRANDMEMBER", "z", 3))
    assert len(set(picked)) == 3 and set(picked) <= set(scores)
    member = parse(o.zyst.command("ZRANDMEMBER", "z"))
    assert member in scores


# -- a seeded random sequence ---------------------------------------------------------------------
ZSET_KEYS = ["k1", "k2", "k3"]
KEYS = [*ZSET_KEYS, "s", "str"]
MEMBERS = ["a", "b", "c", "d", "e", "ab", ""]
SCORE_WORDS = ["0", "1", "2", "-1", "1.5", "inf", "-inf", "(1", "(2", "x", "-0", "3e2"]
LEX = ["-", "+", "[a", "(b", "[c", "(d", "[", "x"]


def random_command(rng: random.Random) -> Command:
    key = rng.choice(KEYS + ZSET_KEYS * 3)  # wrong types, but mostly sorted sets
    member = rng.choice(MEMBERS)
    score = rng.choice([*SCORE_WORDS[:7], "x"])
    n = rng.randint(-4, 4)
    pick = rng.randrange(30)
    if pick == 0:
        flags = rng.sample(["NX", "XX", "GT", "LT", "CH", "INCR"], rng.randint(0, 2))
        pairs = [
            a
            for _ in range(rng.randint(1, 3))
            for a in (rng.choice(SCORE_WORDS[:7]), rng.choice(MEMBERS))
        ]
        return ("ZADD", key, *flags, *pairs)
    if pick == 1:
        return ("ZREM", key, member, rng.choice(MEMBERS))
    if pick == 2:
        return ("ZINCRBY", key, score, member)
    if pick == 3:
        return ("ZSCORE", key, member)
    if pick == 4:
        return ("ZMSCORE", key, member, rng.choice(MEMBERS))
    if pick == 5:
        return (rng.choice(["ZRANK", "ZREVRANK"]), key, member)
    if pick == 6:
        return ("ZCOUNT", key, rng.choice(SCORE_WORDS), rng.choice(SCORE_WORDS))
    if pick == 7:
        extra = rng.choice([(), ("WITHSCORES",), ("REV",), ("REV", "WITHSCORES")])
        return ("ZRANGE", key, n, rng.randint(-4, 4), *extra)
    if pick == 8:
        extra = rng.choice([(), ("WITHSCORES",), ("LIMIT", rng.randint(-1, 3), rng.randint(-1, 3))])
        name = rng.choice(["ZRANGEBYSCORE", "ZREVRANGEBYSCORE"])
        return (name, key, rng.choice(SCORE_WORDS), rng.choice(SCORE_WORDS), *extra)
    if pick == 9:
        extra = rng.choice([(), ("LIMIT", rng.randint(-1, 3), rng.randint(-1, 3))])
        name = rng.choice(["ZRANGEBYLEX", "ZREVRANGEBYLEX", "ZLEXCOUNT"])
        if name == "ZLEXCOUNT":
            extra = ()
        return (name, key, rng.choice(LEX), rng.choice(LEX), *extra)
    if pick == 10:
        return (rng.choice(["ZPOPMIN", "ZPOPMAX"]), key, *([] if rng.random() < 0.5 else [n]))
    if pick == 11:
        return ("ZREMRANGEBYRANK", key, n, rng.randint(-4, 4))
    if pick == 12:
        return ("ZREMRANGEBYSCORE", key, rng.choice(SCORE_WORDS), rng.choice(SCORE_WORDS))
    if pick == 13:
        return ("ZREMRANGEBYLEX", key, rng.choice(LEX), rng.choice(LEX))
    if pick == 14:
        return ("ZCARD", key)
    if pick == 15:
        kind = rng.choice(
            [
                (n, 3),
                ("-inf", "+inf", "BYSCORE"),
                ("-", "+", "BYLEX"),
                ("(1", "2", "BYSCORE", "REV"),
            ]
        )
        return ("ZRANGESTORE", rng.choice(KEYS), key, *kind)
    if pick == 16:
        keys = rng.sample(KEYS, rng.randint(1, 3))
        name = rng.choice(["ZUNION", "ZINTER", "ZDIFF"])
        extra: tuple[Arg, ...] = rng.choice([(), ("WITHSCORES",)])
        if name != "ZDIFF" and rng.random() < 0.5:
            extra = ("AGGREGATE", rng.choice(["SUM", "MIN", "MAX"]), *extra)
        return (name, len(keys), *keys, *extra)
    if pick == 17:
        keys = rng.sample(KEYS, rng.randint(1, 3))
        name = rng.choice(["ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"])
        return (name, rng.choice(KEYS), len(keys), *keys)
    if pick == 18:
        keys = rng.sample(KEYS, rng.randint(1, 3))
        return ("ZINTERCARD", len(keys), *keys, "LIMIT", rng.randint(0, 2))
    if pick == 19:
        keys = rng.sample(KEYS, rng.randint(1, 3))
        return ("ZMPOP", len(keys), *keys, rng.choice(["MIN", "MAX"]), "COUNT", rng.randint(1, 3))
    if pick == 20:
        return ("SADD", "s", member)
    if pick == 21:
        return ("SET", "str", "v")
    if pick == 22:
        return ("DEL", key)
    if pick == 23:
        return ("TYPE", key)
    if pick == 24:
        return ("EXISTS", key)
    if pick < 27:
        return ("ZADD", rng.choice(ZSET_KEYS), 0, member, 0, rng.choice(MEMBERS))
    return ("ZADD", rng.choice(ZSET_KEYS), score, member, rng.choice(SCORE_WORDS[:7]), "e")


@pytest.mark.parametrize("seed", range(6))
def test_random_sequence(o: Oracle, seed: int) -> None:
    rng = random.Random(seed)
    commands = [random_command(rng) for _ in range(400)]
    o.check_many(commands)
    for key in KEYS:
        o.check("TYPE", key)
        o.check("ZRANGE", key, 0, -1, "WITHSCORES")


def stats(conn: Any) -> tuple[int, int]:
    text = parse(conn.command("INFO", "stats")).decode()
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    return int(fields["keyspace_hits"]), int(fields["keyspace_misses"])


def test_keyspace_hits_and_misses(oracle: Oracle) -> None:
    """Reads count a hit or a miss per key looked up, writes count nothing, as in Redis."""
    fill(oracle)
    before = [stats(c) for c in (oracle.zyst, oracle.redis)]
    for key in ("z", "nokey"):
        oracle.check_all(
            ("ZCARD", key),
            ("ZSCORE", key, "a"),
            ("ZMSCORE", key, "a"),
            ("ZRANK", key, "a"),
            ("ZCOUNT", key, 0, 1),
            ("ZLEXCOUNT", key, "-", "+"),
            ("ZRANGE", key, 0, -1),
            ("ZRANGEBYSCORE", key, 0, 1),
            ("ZRANGEBYLEX", key, "-", "+"),
            ("ZRANGESTORE", "dst", key, 0, -1),
            ("ZUNION", 2, key, "nokey2"),
            ("ZINTERSTORE", "dst", 2, key, "z"),
            ("ZDIFF", 2, key, "z"),
            ("ZINTERCARD", 2, key, "z"),
            ("ZRANDMEMBER", key, 0),
            ("ZADD", key, "XX", 1, "a"),
            ("ZREM", key, "nope"),
            ("ZPOPMIN", key, 0),
            ("ZMPOP", 1, key, "MIN", "COUNT", 1),
            ("ZREMRANGEBYRANK", key, 5, 5),
            ("ZINCRBY", key, 0, "a"),
        )
    after = [stats(c) for c in (oracle.zyst, oracle.redis)]
    deltas = [(a[0] - b[0], a[1] - b[1]) for a, b in zip(after, before, strict=True)]
    assert deltas[0] == deltas[1]


@pytest.mark.parametrize(
    "args",
    [
        ("ZUNIONSTORE", "d", 2, "a", "b", "WEIGHTS", 1, 2),
        ("ZINTERSTORE", "d", 1, "a"),
        ("ZDIFFSTORE", "d", 3, "a", "b"),
        ("ZMPOP", 2, "a", "b", "MIN"),
        ("ZMPOP", 3, "a", "b", "MIN"),
        ("ZUNION", 5, "a", "b"),
        ("ZUNION", "x", "a", "b"),
        ("ZUNION", " 2abc", "a", "b"),
        ("ZUNION", 0, "a", "b"),
        ("ZUNION", -1, "a", "b"),
        ("ZINTER", 2, "a", "b", "WITHSCORES"),
        ("ZDIFF", 1, "a"),
        ("ZINTERCARD", 1, "a"),
        ("ZRANGESTORE", "d", "s", 0, 1),
        ("ZADD", "k", 1, "m"),
    ],
    ids=lambda args: " ".join(map(str, args)),
)
def test_command_getkeys(oracle: Oracle, args: Command) -> None:
    oracle.check("COMMAND", "GETKEYS", *args)
