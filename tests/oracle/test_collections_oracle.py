"""List, hash and set commands against real Redis: the same sequences go to Zyst and to
redis-server and the raw replies are compared byte for byte, error paths included, in RESP2
and RESP3.

Where Redis leaves the order to its implementation (SMEMBERS, SPOP with a count that takes
several members) the replies are compared as sorted members, with the reply's type and length
still compared byte for byte. SPOP's choice is random, so its tests check each server against
its own state rather than against the other server.
"""

from __future__ import annotations

import pytest

from tests.conftest import Oracle, parse_reply, reply_header

WRONGTYPE = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
OUT_OF_RANGE = b"-ERR value is out of range, must be positive\r\n"
NOT_INTEGER = b"-ERR value is not an integer or out of range\r\n"

Arg = bytes | str | int


def shape(raw: bytes) -> bytes:
    """A reply's type, with its length only for aggregates (a random member's length varies)."""
    return raw[:1] if raw[:1] == b"$" else reply_header(raw)


def check_unordered(oracle: Oracle, *args: Arg) -> list[bytes]:
    """Both servers reply the same kind and number of members, and the same members."""
    ours, theirs = oracle.run(*args)
    assert reply_header(ours) == reply_header(theirs), (
        f"{args!r}: zyst {ours!r} != redis {theirs!r}"
    )
    ours_sorted, theirs_sorted = sorted(parse_reply(ours)), sorted(parse_reply(theirs))
    assert ours_sorted == theirs_sorted, f"{args!r}: zyst {ours!r} != redis {theirs!r}"
    return ours_sorted


# -- lists --------------------------------------------------------------------------------------
def test_push_pop_llen(o: Oracle) -> None:
    o.check_all(
        ("LPUSH", "l", "a"),
        ("LPUSH", "l", "b", "c"),
        ("RPUSH", "l", "x", "y", "z"),
        ("LLEN", "l"),
        ("LRANGE", "l", 0, -1),
        ("LPOP", "l"),
        ("RPOP", "l"),
        ("LPOP", "l", 2),
        ("RPOP", "l", 1),
        ("LPOP", "l", 0),
        ("RPOP", "l", 0),
        ("LLEN", "l"),
        ("RPOP", "l", 5),
        ("LLEN", "l"),
        ("LPOP", "l"),
        ("RPOP", "l"),
        ("LPOP", "l", 0),
        ("RPOP", "l", 3),
        ("LLEN", "nope"),
        ("LRANGE", "l", 0, -1),
    )


def test_pop_until_empty_deletes_the_key(o: Oracle) -> None:
    o.check_all(
        ("RPUSH", "l", "a", "b", "c"),
        ("LPOP", "l", 3),
        ("LLEN", "l"),
        ("LPOP", "l", 0),
        ("RPUSH", "l", "a"),
        ("RPOP", "l"),
        ("RPOP", "l", 1),
        ("RPUSH", "l", "a", "b"),
        ("RPOP", "l", 9223372036854775807),
        ("LPUSH", "l", "q"),
        ("LRANGE", "l", 0, -1),
    )


@pytest.mark.parametrize(
    "count",
    [
        "-1",
        "-9223372036854775808",
        "abc",
        "01",
        "+1",
        "-0",
        "",
        " 1",
        "1.0",
        "99999999999999999999",
        "9223372036854775808",
    ],
)
def test_pop_bad_counts(o: Oracle, count: str) -> None:
    o.check("RPUSH", "l", "a")
    o.check("SET", "s", "x")
    for cmd in ("LPOP", "RPOP"):
        for key in ("l", "nope", "s"):
            assert o.check(cmd, key, count) == OUT_OF_RANGE
    o.check("LRANGE", "l", 0, -1)


def test_pop_wrongtype_and_arity(o: Oracle) -> None:
    o.check("SET", "s", "x")
    for args in (("LPOP", "s"), ("RPOP", "s"), ("LPOP", "s", 0), ("RPOP", "s", 2)):
        assert o.check(*args) == WRONGTYPE
    o.check_all(
        ("LPOP",),
        ("RPOP",),
        ("LPOP", "l", 1, 2),
        ("rpop", "l", 1, 2),
        ("LPUSH", "l"),
        ("RPUSH",),
        ("LLEN",),
        ("LLEN", "a", "b"),
        ("LRANGE", "l", 0),
        ("LRANGE", "l", 0, 1, 2),
    )


def test_push_wrongtype(o: Oracle) -> None:
    o.check("SET", "s", "x")
    for args in (
        ("LPUSH", "s", "a"),
        ("RPUSH", "s", "a", "b"),
        ("LLEN", "s"),
        ("LRANGE", "s", 0, -1),
    ):
        assert o.check(*args) == WRONGTYPE
    o.check("GET", "s")


@pytest.mark.parametrize(
    ("start", "stop"),
    [
        (0, -1),
        (0, 0),
        (1, 3),
        (-2, -1),
        (-100, 100),
        (3, 1),
        (5, 10),
        (9, 4),
        (-1, -2),
        (4, 4),
        (-5, -5),
        (2, -3),
        (0, -6),
        (-6, 0),
        (6, 6),
        (-9223372036854775808, 9223372036854775807),
        (9223372036854775807, -9223372036854775808),
    ],
)
def test_lrange_indexes(o: Oracle, start: int, stop: int) -> None:
    o.check("RPUSH", "l", *"abcde")
    o.check("LRANGE", "l", start, stop)
    o.check("LRANGE", "nope", start, stop)


def test_lrange_long_list_both_ends(o: Oracle) -> None:
    o.check("RPUSH", "l", *[f"element:{n}" for n in range(600)])
    for start, stop in [
        (0, 99),
        (0, 299),
        (0, 449),
        (0, 599),
        (5, 449),
        (450, 599),
        (300, 310),
        (550, -1),
        (-60, -2),
        (-1, -1),
        (599, 700),
        (100, 50),
    ]:
        o.check("LRANGE", "l", start, stop)


@pytest.mark.parametrize(
    "bad",
    ["x", "01", "-0", "+1", " 1", "1 ", "1.5", "99999999999999999999", "9223372036854775808", ""],
)
def test_lrange_bad_indexes(o: Oracle, bad: str) -> None:
    o.check("RPUSH", "l", "a")
    o.check("SET", "s", "x")
    for key in ("l", "nope", "s"):
        assert o.check("LRANGE", key, bad, 1) == NOT_INTEGER
        assert o.check("LRANGE", key, 0, bad) == NOT_INTEGER


def test_binary_elements(o: Oracle) -> None:
    o.check_all(
        ("RPUSH", "l", b"", b"\x00\r\n", b"\xff" * 100),
        ("LRANGE", "l", 0, -1),
        ("LPOP", "l"),
        ("RPOP", "l", 2),
    )


# -- hashes -------------------------------------------------------------------------------------
def test_hset_hget_hdel(o: Oracle) -> None:
    o.check_all(
        ("HSET", "h", "a", "1"),
        ("HSET", "h", "a", "2"),
        ("HSET", "h", "b", "1", "a", "3", "c", "4"),
        ("HSET", "h", "d", "1", "d", "2"),
        ("HGET", "h", "a"),
        ("HGET", "h", "d"),
        ("HGET", "h", "zz"),
        ("HGET", "nope", "a"),
        ("HGETALL", "h"),
        ("HDEL", "h", "a", "zz", "a"),
        ("HDEL", "nope", "a"),
        ("HGETALL", "h"),
        ("HDEL", "h", "b", "c", "d", "b"),
        ("HGETALL", "h"),
        ("HGET", "h", "b"),
        ("HSET", "h", "x", ""),
        ("HGET", "h", "x"),
    )


def test_hgetall_order_of_small_hashes(o: Oracle) -> None:
    # Small hashes are listpacks in Redis: insertion order, updates keep their place.
    o.check_all(
        ("HSET", "h", "b", "1", "a", "2", "c", "3"),
        ("HSET", "h", "b", "9"),
        ("HDEL", "h", "a"),
        ("HSET", "h", "a", "0"),
        ("HGETALL", "h"),
        ("HGETALL", "nope"),
    )


def test_hset_odd_arguments(o: Oracle) -> None:
    o.check_all(
        ("HSET", "h", "a"),
        ("HSET", "h", "a", "1", "b"),
        ("HSET", "h", "a", "1", "b", "2", "c"),
        ("HSET", "h"),
        ("HSET",),
        ("HGETALL", "h"),
        ("HGET", "h"),
        ("HGET", "h", "a", "b"),
        ("HDEL", "h"),
        ("HGETALL",),
        ("HGETALL", "h", "x"),
    )


def test_hash_wrongtype(o: Oracle) -> None:
    o.check("SET", "s", "x")
    o.check("RPUSH", "l", "x")
    for key in ("s", "l"):
        for args in (
            ("HSET", key, "a", "b"),
            ("HSET", key, "a", "b", "c", "d"),
            ("HGET", key, "a"),
            ("HDEL", key, "a"),
            ("HGETALL", key),
        ):
            assert o.check(*args) == WRONGTYPE
    o.check("HSET", "h", "a", "b")
    for other in (
        ("LPUSH", "h", "a"),
        ("LRANGE", "h", 0, -1),
        ("SADD", "h", "a"),
        ("SMEMBERS", "h"),
        ("SPOP", "h"),
        ("SPOP", "h", 1),
    ):
        assert o.check(*other) == WRONGTYPE


# -- sets ---------------------------------------------------------------------------------------
def test_sadd_srem_smembers(o: Oracle) -> None:
    o.check_all(
        ("SADD", "s", "a"),
        ("SADD", "s", "a"),
        ("SADD", "s", "b", "c", "b", "a"),
    )
    check_unordered(o, "SMEMBERS", "s")
    o.check_all(
        ("SREM", "s", "zz"),
        ("SREM", "s", "a", "a"),
        ("SREM", "nope", "a"),
        ("SREM", "s", "b", "c"),
        ("SMEMBERS", "s"),
        ("SADD", "s", "x"),
        ("SMEMBERS", "s"),
    )


def test_integer_sets(o: Oracle) -> None:
    o.check("SADD", "s", "3", "1", "2", "-5", "100000000000")
    check_unordered(o, "SMEMBERS", "s")
    o.check("SREM", "s", "1", "2", "3", "100000000000")
    o.check("SMEMBERS", "s")


def test_set_errors(o: Oracle) -> None:
    o.check("SET", "str", "x")
    for args in (
        ("SADD", "str", "a"),
        ("SREM", "str", "a"),
        ("SMEMBERS", "str"),
        ("SPOP", "str"),
        ("SPOP", "str", 0),
        ("SPOP", "str", 3),
    ):
        assert o.check(*args) == WRONGTYPE
    o.check_all(
        ("SADD", "s"),
        ("SADD",),
        ("SREM", "s"),
        ("SMEMBERS",),
        ("SMEMBERS", "a", "b"),
        ("SPOP",),
        ("SPOP", "s", 1, 2),
        ("SPOP", "nope", 1, 2),
        ("SPOP", "str", 1, 2),
    )


@pytest.mark.parametrize(
    "count", ["-1", "abc", "01", "+1", "", "99999999999999999999", "1.0", "-9223372036854775808"]
)
def test_spop_bad_counts(o: Oracle, count: str) -> None:
    o.check("SADD", "s", "a")
    o.check("SET", "str", "x")
    for key in ("s", "nope", "str"):
        assert o.check("SPOP", key, count) == OUT_OF_RANGE
    o.check("SMEMBERS", "s")


def test_spop_deterministic_cases(o: Oracle) -> None:
    o.check_all(
        ("SPOP", "nope"),
        ("SPOP", "nope", 0),
        ("SPOP", "nope", 3),
        ("SPOP", "nope", 9223372036854775807),
        ("SADD", "s", "only"),
        ("SPOP", "s", 0),
        ("SPOP", "s"),
        ("SMEMBERS", "s"),
        ("SPOP", "s"),
        ("SADD", "s", "only"),
        ("SPOP", "s", 1),
        ("SMEMBERS", "s"),
        ("SADD", "s", "a", "b", "c"),
    )
    # A count that takes the whole set: same members, order is the set's own.
    check_unordered(o, "SPOP", "s", 3)
    o.check("SMEMBERS", "s")
    o.check("SADD", "s", "1", "2", "3", "x")
    check_unordered(o, "SPOP", "s", 9223372036854775807)
    o.check("SPOP", "s", 5)


@pytest.mark.parametrize(
    "members",
    [
        [str(n) for n in range(20)],
        [f"m{n}" for n in range(20)],
        [f"member:{n}" for n in range(300)],
    ],
)
def test_spop_random_members(o: Oracle, members: list[str]) -> None:
    """SPOP takes members that were there and leaves the rest, on each server alike."""
    o.check("SADD", "s", *members)
    expected = sorted(m.encode() for m in members)
    taken: dict[str, list[bytes]] = {"zyst": [], "redis": []}
    for args in (
        ("SPOP", "s"),
        ("SPOP", "s", 1),
        ("SPOP", "s", 5),
        ("SPOP", "s"),
        ("SPOP", "s", 4),
    ):
        ours, theirs = o.run(*args)
        assert shape(ours) == shape(theirs), (args, ours, theirs)
        for name, raw in (("zyst", ours), ("redis", theirs)):
            value = parse_reply(raw)
            taken[name].extend(value if isinstance(value, list) else [value])
    for name, conn in (("zyst", o.zyst), ("redis", o.redis)):
        rest = parse_reply(conn.command("SMEMBERS", "s"))
        assert len(rest) == len(members) - 12
        assert sorted(taken[name] + rest) == expected, name
        assert len(set(taken[name])) == 12, name
