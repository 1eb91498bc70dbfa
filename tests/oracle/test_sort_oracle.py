"""SORT and SORT_RO against real Redis: raw reply bytes compared, in RESP2 and RESP3, for every
option and error path, then a seeded random sequence of SORTs over changing lists, sets, sorted
sets, hashes and strings, compared step by step.

Where Redis leaves the order open the comparison is order-free (see :func:`order_is_open`): a
set not sorted (``BY nosort`` without STORE) comes in Redis's hash-table order, and ALPHA
weights found by BY that are equal keep the source's order, which for a set or a sorted set is
Redis's own (and which Redis's partial quicksort, used for BY with LIMIT on more than six
elements, does not keep).

A quirk of Redis 7.0 that Zyst does not copy: SORT does not clear ``errno`` before calling
strtod, so after any weight out of the double range (``1e400``, which fails the command on both
servers) every later SORT that reads a non-integer weight fails too, until the process happens
to set ``errno`` again (a new connection does). The tests meet such weights only as the last
SORT of a connection.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from tests.conftest import Oracle, RawConnection, ServerProcess, parse_reply
from zyst.numbers import parse_strtod
from zyst.protocol.resp import encode_command

Arg = bytes | str | int
NOT_DOUBLE = b"-ERR One or more scores can't be converted into double\r\n"
WRONGTYPE = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
SYNTAX = b"-ERR syntax error\r\n"
NOT_INTEGER = b"-ERR value is not an integer or out of range\r\n"


def seed_weights(o: Oracle) -> None:
    """``l`` (a list), weights ``w_<e>`` and hashes ``h_<e>`` for its elements."""
    o.check_all(
        ("RPUSH", "l", "3", "1", "2", "10", "-5", "1.5", "2"),
        ("MSET", "w_3", "30", "w_1", "10", "w_2", "20", "w_10", "5", "w_-5", "-50"),
        ("HSET", "h_3", "f", "c", "g", "0.5"),
        ("HSET", "h_1", "f", "a", "g", "7"),
        ("HSET", "h_10", "f", "b"),
        ("SET", "h_2", "string, not a hash"),
    )


# -- options --------------------------------------------------------------------------------------
def test_order_and_alpha(o: Oracle) -> None:
    seed_weights(o)
    o.check_all(
        ("SORT", "l"),
        ("SORT", "l", "ASC"),
        ("SORT", "l", "DESC"),
        ("SORT", "l", "desc", "asc"),
        ("SORT", "l", "ALPHA"),
        ("SORT", "l", "ALPHA", "DESC"),
        ("SORT", "l", "alpha", "alpha"),
        ("SORT_RO", "l"),
        ("SORT_RO", "l", "DESC", "ALPHA"),
        ("SORT", "nope"),
        ("SORT_RO", "nope", "ALPHA", "DESC"),
        ("RPUSH", "f", "1.1", "5.10", "3.10", "7.44", "2.1", "5.75", "6.12", "0.25", "1.15"),
        ("SORT", "f"),
        ("RPUSH", "ints", "2", "1", "3", "10"),
        ("SORT", "ints", "ALPHA"),
        # Equal weights are ordered by the elements' bytes.
        ("RPUSH", "eq", "b", "a", "c", "a"),
        ("SORT", "eq", "BY", "nokey_*"),
        ("SORT", "eq", "BY", "nokey_*", "DESC"),
        ("RPUSH", "same", "1.0", "1", "01", "+1", "1e0", "0x1"),
        ("SORT", "same"),
        ("SORT", "same", "DESC"),
        ("RPUSH", "zero", "0", "-0", "0.0", "-0.0"),
        ("SORT", "zero"),
    )


@pytest.mark.parametrize("key", ["l", "z"])
def test_limit_windows_everywhere(o: Oracle, key: str) -> None:
    """Every window over a five-element list and sorted set, sorted and not, both ways."""
    o.check("RPUSH", "l", "5", "3", "4", "1", "2")
    o.check("ZADD", "z", "1", "e", "5", "b", "2", "d", "10", "a", "3", "c")
    commands: list[tuple[Arg, ...]] = []
    for offset in range(-2, 8):
        for count in range(-2, 8):
            for order in ("ASC", "DESC"):
                for by in ((), ("BY", "nosort"), ("BY", "nokey_*")):
                    alpha = ("ALPHA",) if key == "z" and not by else ()
                    commands.append(("SORT", key, *by, order, *alpha, "LIMIT", offset, count))
    o.check_many(commands)


def test_limit_extremes(o: Oracle) -> None:
    seed_weights(o)
    o.check("ZADD", "z", "1", "a", "2", "b")
    for key in ("l", "z", "nope"):
        for by in ((), ("BY", "nosort"), ("BY", "w_*")):
            alpha = ("ALPHA",) if key == "z" and not by else ()
            for offset, count in (
                (0, 9223372036854775807),
                (9223372036854775807, 9223372036854775807),
                (-9223372036854775808, -9223372036854775808),
                (2, 9223372036854775807),
                (-9223372036854775808, 1),
                (1, -9223372036854775808),
            ):
                o.check("SORT", key, *by, *alpha, "LIMIT", offset, count)
                o.check("SORT_RO", key, *by, *alpha, "LIMIT", offset, count, "DESC")
    o.check_all(
        ("SORT", "l", "LIMIT", 1, 2, "LIMIT", 3, 2),  # the last one counts
        ("SORT", "l", "LIMIT", "01", 2),
        ("SORT", "l", "LIMIT", 1, "2.0"),
        ("SORT", "l", "LIMIT", "9223372036854775808", 1),
        ("SORT", "l", "LIMIT", 1, "-9223372036854775809"),
        ("SORT", "l", "LIMIT", "", 1),
        ("SORT", "l", "LIMIT", " 1", 1),
    )


def test_by_patterns(o: Oracle) -> None:
    seed_weights(o)
    o.check_all(
        ("SORT", "l", "BY", "w_*"),
        ("SORT", "l", "BY", "w_*", "DESC"),
        ("SORT", "l", "BY", "w_*", "LIMIT", 1, 3),
        ("SORT", "l", "BY", "w_*", "ALPHA"),
        ("SORT", "l", "BY", "w_*", "ALPHA", "DESC", "LIMIT", 2, 2),
        ("SORT", "l", "BY", "h_*->g"),  # h_2 is a string: no field, weight 0
        ("SORT", "l", "BY", "h_*->f", "ALPHA"),  # missing weights first
        ("SORT", "l", "BY", "h_*->f", "ALPHA", "DESC"),
        ("SORT", "l", "BY", "h_*->nofield"),
        ("SORT", "l", "BY", "*"),  # the elements are keys: none exists, all weights 0
        ("SORT", "l", "BY", "w_*->"),  # nothing after the arrow: the key "w_3->" ...
        ("SET", "w_3->", "-1"),
        ("SORT", "l", "BY", "w_*->"),
        ("SORT", "l", "BY", "*_w"),
        ("SORT", "l", "BY", "w_**"),  # the first star only
        ("SET", "w_1*", "-7"),
        ("SORT", "l", "BY", "w_**"),
        ("SET", "->3", "-100"),
        ("SORT", "l", "BY", "->*"),  # an arrow before the star is part of the key
        ("SORT", "l", "BY", "h_*->f->g", "ALPHA"),  # the field is "f->g"
        ("HSET", "h_1", "f->g", "z"),
        ("SORT", "l", "BY", "h_*->f->g", "ALPHA"),
        ("SORT", "l", "BY", "nosort", "BY", "w_*"),  # nosort, once seen, stays
        ("SORT", "l", "BY", "w_*", "BY", "nosort"),
        ("SORT", "l", "BY", "#"),  # no star: nosort
        ("SORT", "l", "by", "nosort", "DESC", "LIMIT", 1, 3),
        ("SORT", "l", "BY", "w_*", "GET", "#", "GET", "w_*"),
    )


def test_get_patterns(o: Oracle) -> None:
    seed_weights(o)
    o.check_all(
        ("SORT", "l", "GET", "#"),
        ("SORT", "l", "GET", "w_*"),
        ("SORT", "l", "GET", "nokey"),  # no star: always null
        ("SORT", "l", "GET", "#", "GET", "w_*", "GET", "h_*->f", "GET", "h_*->g"),
        ("SORT", "l", "GET", "h_*->"),
        ("SORT", "l", "GET", "*"),
        ("SORT", "l", "GET", "#", "LIMIT", 1, 2, "GET", "#"),
        ("SORT", "l", "GET", "##"),
        ("SORT", "l", "BY", "nosort", "GET", "w_*", "DESC"),
        ("SORT_RO", "l", "BY", "nosort", "GET", "h_*->f"),
        ("SORT", "nope", "GET", "#", "GET", "w_*"),
        ("RPUSH", "mylist", "a"),
        ("SET", "x:a->", "100"),
        ("SORT", "mylist", "BY", "num", "GET", "x:*->"),
    )


def test_nul_bytes_in_words_patterns_and_weights(o: Oracle) -> None:
    """Redis reads option words and patterns as C strings; weights too, as strtod does."""
    seed_weights(o)
    o.check_all(
        ("SORT", "l", b"DESC\0junk"),
        ("SORT", "l", b"LIMIT\0", 1, 2),
        ("SORT", "l", b"BY", b"w_\0*"),  # the star is past the NUL: nosort
        ("SORT", "l", b"BY", b"w_*\0x"),  # the key is "w_<e>\0x"
        ("SET", b"w_3\0x", "-1"),
        ("SORT", "l", b"BY", b"w_*\0x"),
        ("SORT", "l", "GET", b"#\0"),  # "#" as C reads it
        ("SORT", "l", "GET", b"h_*\0->f"),  # the arrow is past the NUL: a plain key
        ("SORT", "l", "GET", b"h_*->f\0"),  # the field is "f\0"
        ("HSET", "h_1", b"f\0", "nul"),
        ("SORT", "l", "GET", b"h_*->f\0"),
        ("SORT", "l", "GET", b"h_*->\0"),  # nothing after the arrow as C reads it
        ("RPUSH", "n", b"2\0junk", b"1", b"\x003"),
        ("SORT", "n"),
        ("SORT", "n", "DESC"),
    )


def test_alpha_compares_c_strings_when_replying_and_bytes_when_storing(o: Oracle) -> None:
    elements = [b"b\0z", b"b\0a", b"b", b"\xc3\xa9", b"e", b"\xff", b"E", b"", b"b\0a"]
    o.check("RPUSH", "l", *elements)
    for i, element in enumerate(elements):
        o.check("SET", f"w_{i}", element)
        o.check("RPUSH", "idx", i)
    o.check_all(
        ("SORT", "l", "ALPHA"),
        ("SORT", "l", "ALPHA", "DESC"),
        ("SORT", "l", "ALPHA", "STORE", "d"),
        ("LRANGE", "d", 0, -1),
        ("SORT", "l", "ALPHA", "DESC", "STORE", "d"),
        ("LRANGE", "d", 0, -1),
        ("SORT", "idx", "BY", "w_*", "ALPHA", "GET", "w_*"),
        ("SORT", "idx", "BY", "w_*", "ALPHA", "DESC", "GET", "#"),
        ("SORT", "idx", "BY", "w_*", "ALPHA", "STORE", "d"),
        ("LRANGE", "d", 0, -1),
        ("SORT", "idx", "BY", "w_*", "ALPHA", "DESC", "STORE", "d"),
        ("LRANGE", "d", 0, -1),
    )


# -- sets and sorted sets -------------------------------------------------------------------------
def test_sets(o: Oracle) -> None:
    o.check_all(
        ("SADD", "i", "5", "-3", "10", "7", "0"),  # an intset in Redis
        ("SADD", "s", "b", "a", "c", "aa", "10", "2", "1.5"),
        ("SORT", "i"),
        ("SORT", "i", "DESC", "LIMIT", 1, 2),
        ("SORT", "i", "ALPHA"),
        ("SORT", "s", "ALPHA"),
        ("SORT", "s", "ALPHA", "DESC", "LIMIT", 2, 3),
        ("SORT", "s"),
        ("SORT", "s", "BY", "nokey_*"),
        ("SORT", "s", "BY", "nokey_*", "LIMIT", 2, 3, "GET", "#", "GET", "x"),
        # Not sorted but stored: sorted ALPHA all the same.
        ("SORT", "s", "BY", "nosort", "STORE", "d"),
        ("LRANGE", "d", 0, -1),
        ("SORT", "s", "BY", "nosort", "DESC", "LIMIT", 1, 4, "STORE", "d"),
        ("LRANGE", "d", 0, -1),
        ("SORT", "i", "BY", "nosort", "STORE", "d"),
        ("LRANGE", "d", 0, -1),
        ("SORT", "s", "BY", "nosort", "GET", "#", "GET", "nokey_*", "STORE", "d"),
        ("LRANGE", "d", 0, -1),
        ("SORT", "s", "BY", "nosort", "BY", "w_*", "ALPHA", "STORE", "d"),  # BY dropped
        ("LRANGE", "d", 0, -1),
    )
    # A set not sorted comes in Redis's own order.
    for args in (
        ("SORT", "s", "BY", "nosort"),
        ("SORT", "s", "BY", "nosort", "GET", "#", "GET", "#"),
        ("SORT_RO", "s", "BY", "nosort", "DESC"),
    ):
        check_unordered(o, args, group=2 if args.count("GET") == 2 else 1)
    ours, theirs = o.run("SORT", "s", "BY", "nosort", "LIMIT", 1, 3)
    assert len(parse_reply(ours)) == len(parse_reply(theirs)) == 3


def check_unordered(o: Oracle, args: Sequence[Arg], group: int = 1) -> None:
    """The same reply type and the same elements (in groups of ``group``: one per GET), in any
    order."""
    ours, theirs = o.run(*args)
    assert ours[:1] == theirs[:1] == b"*", (args, ours, theirs)
    mine, redis = parse_reply(ours), parse_reply(theirs)
    assert Counter(groups(mine, group)) == Counter(groups(redis, group)), (args, ours, theirs)


def groups(items: list[Any], size: int) -> list[tuple[Any, ...]]:
    return [tuple(items[i : i + size]) for i in range(0, len(items), size)]


def test_sorted_sets(o: Oracle) -> None:
    o.check_all(
        ("ZADD", "z", "1", "a", "5", "b", "2", "c", "10", "d", "3", "e"),
        ("SORT", "z", "ALPHA"),
        ("SORT", "z", "ALPHA", "DESC"),
        ("SORT", "z"),  # the members are no numbers
        ("SORT", "z", "BY", "nosort"),
        ("SORT", "z", "BY", "nosort", "DESC"),
        ("SORT", "z", "BY", "nosort", "ASC", "LIMIT", 0, 1),
        ("SORT", "z", "BY", "nosort", "DESC", "LIMIT", 0, 2),
        ("SORT", "z", "BY", "nosort", "LIMIT", 5, 10),
        ("SORT", "z", "BY", "nosort", "LIMIT", -10, 100),
        ("SORT", "z", "BY", "nosort", "GET", "#", "GET", "w_*", "STORE", "d"),
        ("LRANGE", "d", 0, -1),
        ("ZADD", "n", -100, "a", 200, "b", -300, "c", 1000000, "d", "+inf", "m", "-inf", "n"),
        ("SORT", "n", "BY", "nosort"),
        ("SORT", "n", "BY", "nosort", "DESC", "LIMIT", 2, 2),
        ("ZADD", "nums", "3", "1", "1", "3", "2", "2.5", "0", "-1"),
        ("SORT", "nums"),
        ("SORT", "nums", "DESC", "LIMIT", 1, 2),
        ("SORT", "nums", "BY", "nosort"),
    )


# -- STORE ----------------------------------------------------------------------------------------
def test_store(o: Oracle) -> None:
    seed_weights(o)
    o.check_all(
        ("SORT", "l", "STORE", "d"),
        ("LRANGE", "d", 0, -1),
        ("TYPE", "d"),
        ("SET", "str", "x", "EX", 100),
        ("SORT", "l", "BY", "w_*", "DESC", "STORE", "str"),  # replaces a string, TTL dropped
        ("LRANGE", "str", 0, -1),
        ("TTL", "str"),
        ("HSET", "hash", "f", "v"),
        ("SORT", "l", "GET", "h_*->f", "GET", "#", "STORE", "hash"),  # nulls stored as ""
        ("LRANGE", "hash", 0, -1),
        ("SORT", "l", "STORE", "d", "STORE", "e"),  # the last one counts
        ("EXISTS", "d", "e"),
        ("LRANGE", "e", 0, -1),
        ("SORT", "l", "BY", "nosort", "STORE", "l"),  # onto itself
        ("LRANGE", "l", 0, -1),
        ("SORT", "l", "STORE", "l"),
        ("LRANGE", "l", 0, -1),
        ("SORT", "nope", "STORE", "e"),  # an empty result deletes
        ("EXISTS", "e"),
        ("SORT", "nope", "STORE", "e"),
        ("SORT", "l", "LIMIT", 10, 10, "STORE", "d"),
        ("EXISTS", "d"),
        ("SORT", "l", "LIMIT", 0, 0, "STORE", "nope"),
        ("EXISTS", "nope"),
        ("SET", "s", "x"),
        ("SORT", "l", "LIMIT", 0, 0, "STORE", "s"),  # deletes a string too
        ("EXISTS", "s"),
        ("SADD", "set", "b", "a"),
        ("SORT", "set", "STORE", "d"),  # no numbers: nothing stored, nothing deleted
        ("SORT", "l", "ALPHA", "STORE", "d"),
        ("SORT", "set", "STORE", "d"),
        ("LRANGE", "d", 0, -1),
        ("SORT", "l", "store", "d", "LIMIT", 1, 1, "GET", "#", "GET", "w_*"),
        ("LRANGE", "d", 0, -1),
        ("SET", "plain", "x"),
        ("SORT", "plain", "STORE", "d"),
        ("LRANGE", "d", 0, -1),
    )


@pytest.fixture
def blocked_pops(
    oracle: Oracle, zyst_proc: ServerProcess, redis_server: ServerProcess
) -> Iterator[list[RawConnection]]:
    """A client on each server (Zyst's first) blocked in ``BLPOP dst 0``."""
    waiters = [RawConnection(zyst_proc.port), RawConnection(redis_server.port)]
    try:
        for waiter in waiters:
            waiter.send_raw(encode_command([b"BLPOP", b"dst", b"0"]))
        for connection in (oracle.zyst, oracle.redis):
            wait_blocked(connection)
        yield waiters
    finally:
        for waiter in waiters:
            waiter.close()


def test_store_wakes_a_blocked_pop(oracle: Oracle, blocked_pops: list[RawConnection]) -> None:
    """A list stored where a client waits with BLPOP serves it, as a push would."""
    oracle.check("RPUSH", "src", "3", "1", "2")
    oracle.check("SORT", "src", "STORE", "dst")
    ours, theirs = (waiter.read_reply() for waiter in blocked_pops)
    assert ours == theirs == b"*2\r\n$3\r\ndst\r\n$1\r\n1\r\n"
    oracle.check("LRANGE", "dst", 0, -1)


def test_store_over_a_value_serves_no_blocked_pop(
    oracle: Oracle, blocked_pops: list[RawConnection]
) -> None:
    """A list stored over a value set at the key while a client waited there (Redis's
    dbOverwrite) serves nobody: the client is served by the next push onto a new list."""
    oracle.check("RPUSH", "src", "3", "1", "2")
    oracle.check("SET", "dst", "a string")
    oracle.check("SORT", "src", "STORE", "dst")
    oracle.check("LRANGE", "dst", 0, -1)
    oracle.check("DEL", "dst")
    oracle.check("RPUSH", "dst", "pushed")
    ours, theirs = (waiter.read_reply() for waiter in blocked_pops)
    assert ours == theirs == b"*2\r\n$3\r\ndst\r\n$6\r\npushed\r\n"


def wait_blocked(connection: RawConnection) -> None:
    """Poll INFO clients until a client is blocked (a generous deadline)."""
    deadline = time.monotonic() + 30
    while b"blocked_clients:1\r\n" not in connection.command("INFO", "clients"):
        assert time.monotonic() < deadline, "the BLPOP never blocked"


# -- errors ----------------------------------------------------------------------------------------
def test_errors(o: Oracle) -> None:
    seed_weights(o)
    o.check_all(("SET", "str", "x"), ("HSET", "hash", "f", "1"), ("SADD", "set", "1", "x"))
    for args, expected in (
        (("SORT", "l", "NOSUCH"), SYNTAX),
        (("SORT", "l", "LIMIT"), SYNTAX),
        (("SORT", "l", "LIMIT", 1), SYNTAX),
        (("SORT", "l", "BY"), SYNTAX),
        (("SORT", "l", "GET"), SYNTAX),
        (("SORT", "l", "STORE"), SYNTAX),
        (("SORT", "l", "ASC", "DESC", "x"), SYNTAX),
        (("SORT_RO", "l", "STORE", "d"), SYNTAX),
        (("SORT_RO", "foolist", "STORE", "bar"), SYNTAX),
        (("SORT", "l", "LIMIT", "a", 1), NOT_INTEGER),
        (("SORT", "l", "LIMIT", 1, "b"), NOT_INTEGER),
        (("SORT", "l", "LIMIT", "a", "b", "NOSUCH"), NOT_INTEGER),
        (("SORT", "l", "NOSUCH", "LIMIT", "a", "b"), SYNTAX),
        (("SORT", "str"), WRONGTYPE),
        (("SORT", "hash", "ALPHA"), WRONGTYPE),
        (("SORT_RO", "str", "BY", "nosort"), WRONGTYPE),
        (("SORT", "str", "NOSUCH"), SYNTAX),  # options are read before the key
        (("SORT", "str", "LIMIT", "x", 1), NOT_INTEGER),
        (("SORT", "str", "STORE", "d"), WRONGTYPE),
        (("SORT", "set"), NOT_DOUBLE),
        (("SORT", "set", "LIMIT", 0, 0), NOT_DOUBLE),  # checked even for an empty window
        (("SORT", "set", "LIMIT", 9, 1, "STORE", "set"), NOT_DOUBLE),
        (("SORT", "l", "BY", "h_*->f"), NOT_DOUBLE),
        (("SORT", "l", "BY", "h_*->f", "LIMIT", 0, 1, "GET", "nosuch"), NOT_DOUBLE),
    ):
        assert o.check(*args) == expected, args
    o.check_all(("SORT",), ("SORT_RO",), ("EXISTS", "set", "d"))


# Weights as strtod reads them, each with whether Redis takes it.
# The bound below which glibc calls a result tiny, 2**-1022 - 2**-1076, written out exactly.
TINY_BOUND = "0." + str((2**54 - 1) * 5**1076).zfill(1076)
assert TINY_BOUND.endswith("5")
WEIGHTS = [
    "",
    " 1",
    "\t\n\v\f\r2",
    "1 ",
    " ",
    "0x",
    "0x1A",
    "0x1p3",
    "-0x.8",
    "1e",
    "1e+",
    ".5",
    "5.",
    ".",
    "+",
    "+.5e1",
    "inf",
    "-Infinity",
    "infin",
    "nan",
    "-nan",
    "NaN(1)",
    "1e308",
    "2.2250738585072014e-308",
    "2.2250738585072013e-308",
    "0x1p-1070",
    "0x1p-1022",
    "0e-500",
    "-0",
    "12345678901234567890123",
    "9223372036854775807",
    "1,5",
    "\u0661",  # an Arabic-Indic digit one
    # Inexact but not tiny (it rounds to the smallest normal double): accepted, however long.
    pytest.param(TINY_BOUND + "0" * 900 + "1", id="just-above-the-tiny-bound"),
    # Subnormal but exact (3 * 2**-1074, all 752 digits): accepted.
    pytest.param("0." + str(3 * 5**1074).zfill(1074), id="exact-subnormal"),
]
# Out of the double range: refused, and they leave Redis's errno set (see the module docstring).
# Long ones among them: more digits than Python reads as an integer (4300), or than any double has.
RANGE_ERRORS = [
    pytest.param("1." + "1" * 5000 + "e-310", id="5000-digits-subnormal"),
    pytest.param("2." + "0" * 5000 + "1e-308", id="5000-digits-below-the-smallest-normal"),
    pytest.param(TINY_BOUND[:-1] + "4" + "9" * 900, id="just-below-the-tiny-bound"),
    "1e-310",
    "4.9406564584124654e-324",
    "2.2250738585072011e-308",
    "2.2250738585072012e-308",
    "-2.2250738585072012e-308",
    "0x1.0000000000001p-1030",
    "1.8e308",
    "-1e400",
    "0x1p99999",
    "1e-500",
]


@pytest.mark.parametrize("weight", WEIGHTS)
def test_weights_are_read_as_strtod_reads_them(o: Oracle, weight: str) -> None:
    o.check_all(
        ("RPUSH", "l", weight, "0.5", "-7"),
        ("SORT", "l"),
        ("SORT", "l", "DESC"),
        ("RPUSH", "k", "a", "b"),
        ("SET", "w_a", weight),
        ("SORT", "k", "BY", "w_*"),
        ("HSET", "h_b", "f", weight),
        ("SORT", "k", "BY", "h_*->f", "DESC"),
    )


@pytest.mark.parametrize("weight", RANGE_ERRORS)
def test_weights_out_of_range_are_refused(o: Oracle, weight: str) -> None:
    assert parse_strtod(weight.encode()) is None
    o.check("RPUSH", "l", weight, "0.5")
    assert o.check("SORT", "l") == NOT_DOUBLE


def test_command_getkeys(o: Oracle) -> None:
    o.check_all(
        ("COMMAND", "GETKEYS", "SORT", "abc"),
        ("COMMAND", "GETKEYS", "SORT", "abc", "STORE", "def"),
        (
            "COMMAND",
            "GETKEYS",
            "SORT",
            "abc",
            "store",
            "invalid",
            "STORE",
            "stillbad",
            "store",
            "def",
        ),
        ("COMMAND", "GETKEYS", "SORT", "abc", "STORE"),
        ("COMMAND", "GETKEYS", "SORT", "abc", "LIMIT", "STORE", "x", "STORE"),
        ("COMMAND", "GETKEYS", "SORT", "abc", "GET", "STORE", "x"),
        ("COMMAND", "GETKEYS", "SORT", "abc", "BY", "STORE", "STORE", "y"),
        ("COMMAND", "GETKEYS", "SORT", "abc", "STORE", "STORE", "x"),
        ("COMMAND", "GETKEYS", "SORT", "abc", "STORE", "LIMIT", "1", "2"),
        ("COMMAND", "GETKEYS", "SORT", "abc", b"STORE\0x", "d"),
        ("COMMAND", "GETKEYS", "SORT_RO", "abc"),
        ("COMMAND", "GETKEYS", "SORT_RO", "abc", "STORE", "x"),
        ("COMMAND", "GETKEYS", "sort"),
    )


def test_keyspace_hits_and_misses(oracle: Oracle) -> None:
    """Every key a pattern names is a read lookup; so is the sorted key, even with STORE."""
    seed_weights(oracle)
    commands: list[tuple[Arg, ...]] = [
        ("SORT", "l"),
        ("SORT", "nope"),
        ("SORT", "l", "BY", "w_*"),
        ("SORT", "l", "BY", "nosort", "GET", "#", "GET", "w_*", "GET", "h_*->f", "GET", "x"),
        ("SORT", "l", "BY", "w_*", "LIMIT", 1, 2, "GET", "h_*->g"),
        ("SORT", "l", "BY", "h_*->f", "STORE", "d"),
        ("SORT", "d", "LIMIT", 0, 0, "BY", "w_*", "GET", "w_*"),
        ("SORT_RO", "l", "BY", "x_*", "ALPHA"),
    ]
    for command in commands:
        oracle.check("CONFIG", "RESETSTAT")
        oracle.check(*command)
        ours, theirs = (
            {k: v for k, v in info_fields(raw).items() if k.startswith("keyspace_")}
            for raw in oracle.run("INFO", "stats")
        )
        assert ours == theirs, command


def info_fields(raw: bytes) -> dict[str, str]:
    text = parse_reply(raw).decode()
    return dict(line.split(":", 1) for line in text.split("\r\n") if ":" in line)


# -- a random sequence ---------------------------------------------------------------------------
ELEMENTS = ["1", "2", "3", "10", "-1", "1.5", "0x10", " 7", "inf", "5", "-0", "a", "ab", "", "B"]
# The sources, the collections more often than the rest.
SOURCES = ["l1", "l2", "s1", "s2", "z1", "z2"] * 3 + ["str", "h", "none"]
DESTINATIONS = ["d1", "d2", "l1", "s1"]
BY_PATTERNS = ["w_*", "h_*->f", "nosort", "w_*->f", "*", "h_*->g"]
GET_PATTERNS = ["#", "w_*", "h_*->f", "h_*->g", "const", "w_*->"]


class ZModel(dict[str, int]):
    """A sorted set in the model: member → score."""


class Model:
    """What the keyspace holds, as the test made it (and as Redis stored SORT's results)."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def string(self, key: str) -> str | None:
        value = self.data.get(key)
        return value if isinstance(value, str) else None

    def pattern(self, pattern: str, element: str) -> str | None:
        """The value of a BY/GET pattern (no NUL bytes in these)."""
        if pattern == "#":
            return element
        star = pattern.find("*")
        if star < 0:
            return None
        arrow = pattern.find("->", star + 1)
        if arrow >= 0 and arrow + 2 < len(pattern):
            value = self.data.get(pattern[:star] + element + pattern[star + 1 : arrow])
            return value.get(pattern[arrow + 2 :]) if isinstance(value, dict) else None
        return self.string(pattern[:star] + element + pattern[star + 1 :])


def random_mutation(rng: random.Random, model: Model) -> tuple[Arg, ...]:
    element = rng.choice(ELEMENTS)
    kind = rng.randrange(10)
    if kind == 0:
        key = rng.choice(["l1", "l2"])
        if isinstance(model.data.get(key, []), list):
            values = rng.choices(ELEMENTS, k=rng.randint(1, 4))
            model.data.setdefault(key, []).extend(values)
            return ("RPUSH", key, *values)
    elif kind == 1:
        key = rng.choice(["s1", "s2"])
        if isinstance(model.data.get(key, set()), set):
            values = rng.sample(ELEMENTS, rng.randint(1, 4))
            model.data.setdefault(key, set()).update(values)
            return ("SADD", key, *values)
    elif kind == 2:
        key = rng.choice(["z1", "z2"])
        if isinstance(model.data.get(key, ZModel()), ZModel):
            score = rng.choice([1, 2, 2, 3, -1])
            model.data.setdefault(key, ZModel())[element] = score
            return ("ZADD", key, score, element)
    elif kind in (3, 4, 8, 9):
        value = rng.choice(ELEMENTS)
        model.data["w_" + element] = value
        return ("SET", "w_" + element, value)
    elif kind == 5:
        value = rng.choice(ELEMENTS)
        key = "h_" + element
        if type(model.data.get(key, {})) is dict:
            field = rng.choice(["f", "g"])
            model.data.setdefault(key, {})[field] = value
            return ("HSET", key, field, value)
    elif kind == 6:
        key = rng.choice(["l1", "s1", "z1", "d1", "w_" + element, "h_" + element])
        model.data.pop(key, None)
        return ("DEL", key)
    model.data["str"] = "x"
    model.data["h"] = {"f": "1"}
    return ("MSET", "str", "x") if rng.random() < 0.5 else ("HSET", "h", "f", "1")


def random_sort(rng: random.Random) -> tuple[Arg, ...]:
    words: list[list[Arg]] = []
    if rng.random() < 0.5:
        words.append(["BY", rng.choice(BY_PATTERNS)])
    if rng.random() < 0.4:
        words.append(["LIMIT", rng.randint(-1, 4), rng.randint(-1, 6)])
    for _ in range(rng.choice([0, 0, 1, 2])):
        words.append(["GET", rng.choice(GET_PATTERNS)])
    if rng.random() < 0.5:
        words.append([rng.choice(["ASC", "DESC", "desc"])])
    if rng.random() < 0.6:
        words.append(["ALPHA"])
    readonly = rng.random() < 0.2
    if not readonly and rng.random() < 0.3:
        words.append(["STORE", rng.choice(DESTINATIONS)])
    if rng.random() < 0.03:
        words.append([rng.choice(["NOSUCH", "LIMIT", "GET"])])
    rng.shuffle(words)
    return (
        "SORT_RO" if readonly else "SORT",
        rng.choice(SOURCES),
        *(w for word in words for w in word),
    )


def order_is_open(model: Model, args: Sequence[Arg]) -> bool:
    """Whether Redis leaves the order of this SORT's result open (see the module docstring)."""
    source = model.data.get(str(args[1]))
    words = [str(a) for a in args[2:]]
    upper = [w.upper() for w in words]
    by_at = [i for i, w in enumerate(upper) if w == "BY" and i + 1 < len(words)]
    bys = [words[i + 1] for i in by_at]
    dontsort = any("*" not in b for b in bys)
    store = "STORE" in upper
    if isinstance(source, set) and dontsort:
        return not store
    if dontsort or not bys or "ALPHA" not in upper:
        return False
    elements: list[str]
    if isinstance(source, list):
        elements = source
        limited = "LIMIT" in upper
        if not limited or len(elements) <= 6:
            return False
    elif isinstance(source, (set, ZModel)):
        elements = list(source)
    else:
        return False
    weights = [model.pattern(bys[-1], e) for e in elements]
    return len(set(weights)) < len(weights)


def test_random_sorts_match_redis(o: Oracle) -> None:
    rng = random.Random(7)
    model = Model()
    kinds: Counter[str] = Counter()
    for step in range(2000):
        if rng.random() < 0.45:
            command = random_mutation(rng, model)
            o.check(*command)
            continue
        command = random_sort(rng)
        ours, theirs = o.run(*command)
        kinds[reply_kind(theirs)] += 1
        if ours == theirs:
            pass
        elif order_is_open(model, command):
            kinds["open"] += 1
            mine, redis = parse_reply(ours), parse_reply(theirs)
            assert type(mine) is type(redis), (step, command, ours, theirs)
            if isinstance(redis, list):
                assert len(mine) == len(redis), (step, command, ours, theirs)
                if "LIMIT" not in command:
                    gets = max(1, sum(1 for a in command if str(a).upper() == "GET"))
                    assert Counter(groups(mine, gets)) == Counter(groups(redis, gets))
        else:
            raise AssertionError(f"step {step}: {command!r}: zyst {ours!r} != redis {theirs!r}")
        if "STORE" in command and theirs.startswith(b":"):
            sync_destination(o, model, command, order_is_open(model, command))
    # The sequence is not degenerate: most SORTs sort something, some fail, some store.
    assert kinds["sorted"] > 300 and kinds["error"] > 50 and kinds["stored"] > 100, kinds
    assert kinds["open"] < kinds["sorted"] // 5, kinds


def reply_kind(raw: bytes) -> str:
    if raw.startswith(b"-"):
        return "error"
    if raw.startswith(b":"):
        return "stored"
    return "sorted" if raw[1:2] not in (b"0", b"-") else "empty"


def sync_destination(o: Oracle, model: Model, command: Sequence[Arg], open_order: bool) -> None:
    """After a STORE: the model learns Redis's list; where its order was open, Zyst is given
    Redis's order, so that later steps compare the same data."""
    destination = ""
    for i, word in enumerate(command):
        if str(word) == "STORE":
            destination = str(command[i + 1])
    ours, theirs = o.run("LRANGE", destination, 0, -1)
    stored = [item.decode() for item in parse_reply(theirs)]
    if stored:
        model.data[destination] = stored
    else:
        model.data.pop(destination, None)
    if ours != theirs:
        assert open_order, (command, ours, theirs)
        o.zyst.command("DEL", destination)
        if stored:
            o.zyst.command("RPUSH", destination, *stored)
