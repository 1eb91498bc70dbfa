"""The key and string commands against real Redis: the same commands go to Zyst and to
redis-server and the raw reply bytes must be identical, error paths included.

Replies that depend on the exact millisecond (PTTL) are compared within a tolerance instead.
"""

from __future__ import annotations

import time

import pytest

from tests.conftest import Oracle

LLONG_MAX = 2**63 - 1
LLONG_MIN = -(2**63)

Cmd = tuple[bytes | str | int, ...]


def wrong_type_key(oracle: Oracle, key: str = "list") -> None:
    oracle.check("RPUSH", key, "a")


# -- SET / GET ----------------------------------------------------------------------------------
def test_set_get_basics(oracle: Oracle) -> None:
    oracle.check_all(
        ("GET", "k"),
        ("SET", "k", "v"),
        ("GET", "k"),
        ("SET", "k", ""),
        ("GET", "k"),
        ("SET", "bin", b"\x00\xff\r\n"),
        ("GET", "bin"),
        ("set", "lower", "1"),
        ("gEt", "lower"),
        ("SET", "k"),
        ("SET",),
        ("GET",),
        ("GET", "a", "b"),
    )


def test_set_nx_xx_get(oracle: Oracle) -> None:
    oracle.check_all(
        ("SET", "k", "1", "XX"),
        ("SET", "k", "1", "NX"),
        ("SET", "k", "2", "NX"),
        ("SET", "k", "3", "XX"),
        ("SET", "k", "4", "nx", "nx"),
        ("SET", "k", "5", "xx", "XX"),
        ("SET", "k", "6", "GET"),
        ("SET", "k", "7", "GET", "GET"),
        ("SET", "k", "8", "NX", "GET"),
        ("SET", "k", "9", "XX", "GET"),
        ("GET", "k"),
        ("SET", "missing", "1", "XX", "GET"),
        ("SET", "fresh", "1", "NX", "GET"),
        ("SET", "fresh2", "1", "GET"),
        ("MGET", "missing", "fresh", "fresh2", "k"),
    )


@pytest.mark.parametrize(
    "options",
    [
        ("NX", "XX"),
        ("XX", "NX"),
        ("EX",),
        ("PX",),
        ("EXAT",),
        ("PXAT",),
        ("EX", 10, "PX", 10),
        ("PX", 10, "EX", 10),
        ("EX", 10, "EXAT", 10),
        ("PX", 10, "PXAT", 10),
        ("EXAT", 10, "PXAT", 10),
        ("KEEPTTL", "EX", 10),
        ("EX", 10, "KEEPTTL"),
        ("PXAT", 10, "KEEPTTL"),
        ("KEEPTTL", "PX", 10),
        ("FOO",),
        ("GETX",),
        ("PERSIST",),
        ("NX", "EX"),
        ("GET", "EX"),
        ("EX", "10", "10"),
        ("NX", "XX", "EX", "abc"),
        ("EX", "abc", "NX", "XX"),
        ("KEEPTTL", "GET", "FOO"),
    ],
)
def test_set_syntax_errors(oracle: Oracle, options: Cmd) -> None:
    oracle.check("SET", "k", "v", *options)
    oracle.check("EXISTS", "k")


@pytest.mark.parametrize(
    ("option", "amount"),
    [
        ("EX", "abc"),
        ("EX", "1.5"),
        ("EX", " 1"),
        ("EX", "+1"),
        ("EX", "01"),
        ("EX", ""),
        ("PX", "9223372036854775808"),
        ("EX", 0),
        ("PX", 0),
        ("EXAT", 0),
        ("PXAT", 0),
        ("EX", -1),
        ("PX", -1),
        ("EXAT", -1),
        ("PXAT", -100),
        ("EX", LLONG_MAX // 1000 + 1),
        ("EX", LLONG_MAX // 1000),
        ("PX", LLONG_MAX),
        ("EXAT", LLONG_MAX // 1000 + 1),
        ("ex", LLONG_MIN),
    ],
)
def test_set_expire_errors(oracle: Oracle, option: str, amount: str | int) -> None:
    oracle.check("SET", "k", "v", option, amount)
    oracle.check("EXISTS", "k")


def test_set_expiry_and_keepttl(oracle: Oracle) -> None:
    now_s = int(time.time())
    oracle.check_all(
        ("SET", "a", "v", "EX", 100),
        ("TTL", "a"),
        ("SET", "b", "v", "PX", 100_000),
        ("TTL", "b"),
        ("SET", "c", "v", "EXAT", now_s + 1000),
        ("SET", "d", "v", "PXAT", (now_s + 2000) * 1000),
        ("SET", "a", "w", "KEEPTTL"),
        ("TTL", "a"),
        ("SET", "a", "x", "keepttl", "GET"),
        ("TTL", "a"),
        ("SET", "a", "y"),
        ("TTL", "a"),
        ("SET", "e", "v", "EX", 5, "EX", 50),
        ("TTL", "e"),
        ("SET", "f", "v", "PXAT", 1),
        ("GET", "f"),
        ("EXISTS", "f"),
        ("SET", "g", "v", "EXAT", 1, "GET"),
        ("SET", "g", "v", "EXAT", LLONG_MAX // 1000),
        ("SET", "h", "v", "PXAT", LLONG_MAX),
        ("TTL", "h"),
    )
    for key, expected in ((b"c", 1000), (b"d", 2000)):
        ours, theirs = oracle.run("TTL", key)
        for reply in (ours, theirs):
            assert expected - 2 <= int(reply[1:-2]) <= expected
    ours, theirs = oracle.run("PTTL", "b")
    for reply in (ours, theirs):
        assert 95_000 <= int(reply[1:-2]) <= 100_000


def test_set_wrongtype(oracle: Oracle) -> None:
    wrong_type_key(oracle)
    oracle.check_all(
        ("GET", "list"),
        ("SET", "list", "v", "GET"),
        ("SET", "list", "v", "NX", "GET"),
        ("SET", "list", "v", "XX", "GET", "EX", 10),
        ("SET", "list", "v", "GET", "EX", 0),
        ("SET", "list", "v", "GET", "FOO"),
        ("TYPE", "list"),
        ("SET", "list", "v", "NX"),
        ("TYPE", "list"),
        ("SET", "list", "v", "XX"),
        ("TYPE", "list"),
        ("GET", "list"),
    )


# -- MSET / MGET --------------------------------------------------------------------------------
def test_mset_mget(oracle: Oracle) -> None:
    wrong_type_key(oracle)
    oracle.check_all(
        ("SET", "a", "old", "EX", 100),
        ("MSET", "a", "1", "b", "2", "a", "3"),
        ("MGET", "a", "b", "c", "list", "a"),
        ("TTL", "a"),
        ("MSET", "list", "now-a-string"),
        ("MGET", "list"),
        ("MSET",),
        ("MSET", "a"),
        ("MSET", "a", "1", "b"),
        ("mset", "x", "1", "y"),
        ("MGET",),
        ("MGET", "nothing"),
    )


# -- INCR family --------------------------------------------------------------------------------
def test_incr_decr(oracle: Oracle) -> None:
    oracle.check_all(
        ("INCR", "n"),
        ("INCRBY", "n", 10),
        ("DECR", "n"),
        ("DECRBY", "n", 20),
        ("INCRBY", "n", -5),
        ("DECRBY", "n", -15),
        ("GET", "n"),
        ("DECRBY", "m", 3),
        ("DECR", "fresh"),
        ("SET", "t", "5", "EX", 100),
        ("INCR", "t"),
        ("TTL", "t"),
        ("SET", "z", "0"),
        ("INCR", "z"),
        ("SET", "neg", "-1"),
        ("INCRBY", "neg", 1),
        ("GET", "neg"),
    )


@pytest.mark.parametrize(
    "stored",
    [
        b"",
        b"a",
        b" 1",
        b"1 ",
        b"+1",
        b"01",
        b"-0",
        b"-",
        b"1.5",
        b"1e3",
        b"0x10",
        b"9223372036854775808",
        b"-9223372036854775809",
        b"00000000000000000001",
        b"1\x00",
    ],
)
def test_incr_rejects_non_integers(oracle: Oracle, stored: bytes) -> None:
    oracle.check("SET", "n", stored)
    for cmd in (("INCR", "n"), ("DECR", "n"), ("INCRBY", "n", 1), ("DECRBY", "n", 1)):
        oracle.check(*cmd)
    oracle.check("GET", "n")


@pytest.mark.parametrize(
    "amount",
    ["a", "", " 1", "+1", "01", "-0", "1.0", "9223372036854775808", "-9223372036854775809"],
)
def test_incrby_bad_amount(oracle: Oracle, amount: str) -> None:
    wrong_type_key(oracle)
    oracle.check_all(
        ("INCRBY", "n", amount),
        ("DECRBY", "n", amount),
        ("INCRBY", "list", amount),  # the amount is parsed before the type is checked
        ("EXISTS", "n"),
    )


def test_incr_overflow(oracle: Oracle) -> None:
    wrong_type_key(oracle)
    oracle.check_all(
        ("SET", "n", LLONG_MAX),
        ("INCR", "n"),
        ("INCRBY", "n", 1),
        ("DECRBY", "n", -1),
        ("INCRBY", "n", LLONG_MIN),
        ("SET", "n", LLONG_MIN),
        ("DECR", "n"),
        ("DECRBY", "n", 1),
        ("INCRBY", "n", -1),
        ("INCRBY", "n", LLONG_MAX),
        ("GET", "n"),
        ("DECRBY", "n", LLONG_MIN),
        ("DECRBY", "missing", LLONG_MIN),
        ("DECRBY", "list", LLONG_MIN),
        ("INCRBY", "missing", LLONG_MIN),
        ("DECRBY", "missing", LLONG_MAX),
        ("DECR", "missing"),
        ("INCR", "list"),
        ("DECR", "list"),
        ("INCRBY", "list", 1),
        ("DECRBY", "list", 1),
        ("INCR",),
        ("INCR", "a", "b"),
        ("INCRBY", "a"),
        ("DECRBY", "a", 1, 2),
    )


# -- DEL / EXISTS -------------------------------------------------------------------------------
def test_del_exists(oracle: Oracle) -> None:
    wrong_type_key(oracle)
    oracle.check_all(
        ("MSET", "a", "1", "b", "2"),
        ("EXISTS", "a", "a", "b", "c", "list"),
        ("EXISTS", "c"),
        ("DEL", "a", "a", "c"),
        ("DEL", "list", "b"),
        ("DEL", "nothing"),
        ("EXISTS", "a", "b", "list"),
        ("DEL",),
        ("EXISTS",),
        ("SET", "x", "1", "PX", 1),
    )
    time.sleep(0.01)
    oracle.check_all(("EXISTS", "x"), ("DEL", "x"), ("TTL", "x"), ("TYPE", "x"))


# -- EXPIRE family ------------------------------------------------------------------------------
EXPIRES = ("EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT")


@pytest.mark.parametrize(
    "options",
    [
        ("NX", "XX"),
        ("XX", "NX"),
        ("NX", "GT"),
        ("NX", "LT"),
        ("lt", "nx"),
        ("GT", "LT"),
        ("LT", "GT"),
        ("NX", "XX", "GT", "LT"),
        ("GT", "LT", "NX"),
        ("XX", "foo"),
        ("foo", "NX", "XX"),
        ("EX",),
        ("NX", "NX"),
        ("GT", "GT", "XX"),
        ("",),
    ],
)
def test_expire_option_errors(oracle: Oracle, options: Cmd) -> None:
    oracle.check("SET", "k", "v")
    for cmd in EXPIRES:
        oracle.check(cmd, "k", 100_000_000_000, *options)
        oracle.check(cmd, "k", "abc", *options)  # options are checked before the time
        oracle.check(cmd, "missing", 100_000_000_000, *options)
    oracle.check("TTL", "k")


@pytest.mark.parametrize(
    "amount",
    [
        "abc",
        "1.5",
        "",
        " 1",
        "+1",
        "01",
        "9223372036854775808",
        LLONG_MAX // 1000 + 1,
        LLONG_MAX // 1000,
        -(2**63 // 1000) - 1,
        LLONG_MAX,
        LLONG_MAX - 1000,
        LLONG_MIN,
    ],
)
def test_expire_time_errors(oracle: Oracle, amount: str | int) -> None:
    for cmd in EXPIRES:
        oracle.check("SET", "k", "v")
        oracle.check(cmd, "k", amount)
        oracle.check(cmd, "missing", amount)
        oracle.check("EXISTS", "k")


def test_expire_flags(oracle: Oracle) -> None:
    oracle.check_all(
        ("SET", "k", "v"),
        ("EXPIRE", "k", 100, "XX"),
        ("EXPIRE", "k", 100, "GT"),
        ("EXPIRE", "k", 100, "NX"),
        ("TTL", "k"),
        ("EXPIRE", "k", 200, "NX"),
        ("EXPIRE", "k", 99, "GT"),  # (100 itself could be a millisecond later: not "equal")
        ("EXPIRE", "k", 200, "gt"),
        ("EXPIRE", "k", 300, "LT"),
        ("EXPIRE", "k", 50, "LT", "XX"),
        ("TTL", "k"),
        ("EXPIRE", "k", 60, "XX", "GT"),
        ("TTL", "k"),
        ("PERSIST", "k"),
        ("EXPIRE", "k", 500, "LT"),
        ("TTL", "k"),
        ("PERSIST", "k"),
        ("PEXPIRE", "k", 500_000, "XX"),
        ("EXPIRE", "k", -1, "GT"),
        ("EXISTS", "k"),
        ("EXPIRE", "k", -1, "LT"),
        ("EXISTS", "k"),
        ("EXPIRE", "missing", 10, "NX"),
        ("EXPIRE", "missing", 0),
    )


def test_expire_values(oracle: Oracle) -> None:
    now_s = int(time.time())
    wrong_type_key(oracle)
    oracle.check_all(
        ("MSET", "a", "1", "b", "2", "c", "3", "d", "4"),
        ("EXPIRE", "a", 100),
        ("TTL", "a"),
        ("PEXPIRE", "b", 200_000),
        ("TTL", "b"),
        ("EXPIREAT", "c", now_s + 300),
        ("PEXPIREAT", "d", (now_s + 400) * 1000),
        ("EXPIRE", "list", 1000),
        ("TTL", "list"),
        ("TYPE", "list"),
        ("PEXPIREAT", "a", LLONG_MAX),
        ("EXPIREAT", "b", LLONG_MAX // 1000),
        ("EXPIRE", "a", 0),
        ("EXISTS", "a"),
        ("PEXPIRE", "b", -5),
        ("EXISTS", "b"),
        ("EXPIREAT", "c", 1),
        ("EXISTS", "c"),
        ("PEXPIREAT", "d", 0),
        ("EXISTS", "d"),
        ("SET", "e", "1"),
        ("EXPIRE", "e", -(2**63 // 1000)),
        ("EXISTS", "e"),
        ("DBSIZE",),
        ("EXPIRE", "k"),
        ("PEXPIRE", "k"),
        ("EXPIREAT",),
        ("PEXPIREAT", "k"),
    )


# -- TTL / PTTL / PERSIST -----------------------------------------------------------------------
def test_ttl_pttl_persist(oracle: Oracle) -> None:
    oracle.check_all(
        ("TTL", "k"),
        ("PTTL", "k"),
        ("PERSIST", "k"),
        ("SET", "k", "v"),
        ("TTL", "k"),
        ("PTTL", "k"),
        ("PERSIST", "k"),
        ("EXPIRE", "k", 1000),
        ("PERSIST", "k"),
        ("TTL", "k"),
        ("PERSIST", "k"),
        ("TTL",),
        ("PTTL", "a", "b"),
        ("PERSIST",),
        ("PERSIST", "a", "b"),
    )


def test_ttl_rounding(oracle: Oracle) -> None:
    # 10.4 s rounds down and 10.9 s up, far from the boundary whatever the scheduling delay.
    oracle.check_all(
        ("SET", "a", "v", "PX", 10_400),
        ("SET", "b", "v", "PX", 10_900),
        ("TTL", "a"),
        ("TTL", "b"),
    )


# -- TYPE / KEYS / DBSIZE -----------------------------------------------------------------------
def test_type(oracle: Oracle) -> None:
    oracle.check_all(
        ("TYPE", "nope"),
        ("SET", "s", "v"),
        ("TYPE", "s"),
        ("RPUSH", "l", "a"),
        ("TYPE", "l"),
        ("HSET", "h", "f", "v"),
        ("TYPE", "h"),
        ("SADD", "z", "m"),
        ("TYPE", "z"),
        ("TYPE",),
        ("TYPE", "a", "b"),
    )


def test_keys_and_dbsize(oracle: Oracle) -> None:
    oracle.check_all(
        ("DBSIZE",),
        ("KEYS", "*"),
        ("MSET", "one", "1", "two", "2", "three", "3", "", "empty", "a*b", "x", "h[e]llo", "y"),
        ("DBSIZE",),
        ("KEYS", "?ne"),
        ("KEYS", "thr*"),
        ("KEYS", "nomatch*"),
        ("KEYS", "a\\*b"),
        ("KEYS", "h\\[e\\]llo"),
        ("KEYS", "[o]n[a-f]"),
        ("KEYS", ""),
        ("KEYS",),
        ("KEYS", "a", "b"),
        ("DBSIZE", "x"),
    )
    for pattern in ("*", "t*", "*e*", "**"):
        ours, theirs = oracle.run("KEYS", pattern)
        assert sorted(ours.split(b"\r\n")) == sorted(theirs.split(b"\r\n")), pattern
    oracle.check_all(("SET", "gone", "x", "PX", 1))
    time.sleep(0.01)
    ours, theirs = oracle.run("KEYS", "*")
    assert b"gone" not in ours
    assert sorted(ours.split(b"\r\n")) == sorted(theirs.split(b"\r\n"))
    oracle.check_all(("KEYS", "go*"), ("EXISTS", "gone"), ("DBSIZE",))


def test_select_separates_databases(oracle: Oracle) -> None:
    oracle.check_all(
        ("SET", "k", "v"),
        ("SELECT", 1),
        ("GET", "k"),
        ("DBSIZE",),
        ("SET", "k", "w"),
        ("SELECT", 0),
        ("GET", "k"),
    )


# -- RESP3 --------------------------------------------------------------------------------------
def test_resp3_nulls(oracle: Oracle) -> None:
    ours, theirs = oracle.run("HELLO", 3)
    assert ours.startswith(b"%") and theirs.startswith(b"%")
    oracle.check_all(
        ("GET", "k"),
        ("SET", "k", "v", "XX"),
        ("SET", "k", "v", "GET"),
        ("SET", "k", "w", "NX"),
        ("MGET", "k", "x"),
        ("TYPE", "k"),
        ("TTL", "k"),
        ("INCR", "n"),
        ("KEYS", "k"),
    )
