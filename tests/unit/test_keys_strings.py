"""In-process tests of the key and string commands: handlers driven through ``table.call`` with
a fake clock and a recording propagation hook (no sockets, no sleeps)."""

from __future__ import annotations

import re
from collections import deque
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import zyst.commands  # noqa: F401  (registers every command)
from zyst.client import Client
from zyst.commands import table
from zyst.commands.args import parse_int, strict_int
from zyst.config import Config
from zyst.context import ServerContext
from zyst.errors import CommandError
from zyst.protocol.resp import OK, ErrorReply, Status

NOW = 1_700_000_000_000  # the fake clock's starting time, Unix ms
LLONG_MAX = 2**63 - 1
LLONG_MIN = -(2**63)
NOT_INT = "ERR value is not an integer or out of range"
SYNTAX = "ERR syntax error"
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


class Harness:
    """One client on a fresh server context, a settable clock, and the propagated commands."""

    def __init__(self) -> None:
        self.now = NOW
        self.ctx = ServerContext(Config())
        self.ctx.keyspace.clock = lambda: self.now
        self.propagated: list[list[bytes]] = []
        self.ctx.set_propagation(lambda db_index, argv: self.propagated.append(list(argv)))
        self.client = Client(self.ctx, 1)
        self.db = self.client.db

    def __call__(self, *args: bytes | str | int) -> Any:
        argv = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        return table.call(self.client, argv)

    def error(self, *args: bytes | str | int) -> str:
        reply = self(*args)
        assert isinstance(reply, ErrorReply), f"{args!r} replied {reply!r}"
        return reply.message

    def take(self) -> list[list[bytes]]:
        """The commands propagated since the last call, then forget them."""
        out, self.propagated = self.propagated, []
        return out


@pytest.fixture
def h() -> Harness:
    return Harness()


def arity(name: str) -> str:
    return f"ERR wrong number of arguments for '{name}' command"


# -- args ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (b"0", 0),
        (b"7", 7),
        (b"-7", -7),
        (b"9223372036854775807", LLONG_MAX),
        (b"-9223372036854775808", LLONG_MIN),
    ],
)
def test_strict_int_accepts(raw: bytes, value: int) -> None:
    assert strict_int(raw) == value
    assert parse_int(raw) == value


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"-",
        b"+1",
        b" 1",
        b"1 ",
        b"01",
        b"-0",
        b"-01",
        b"1.0",
        b"1e3",
        b"1_000",
        b"0x10",
        b"9223372036854775808",
        b"-9223372036854775809",
        b"00000000000000000001",
        "\u0661".encode(),
        b"abc",
    ],
)
def test_strict_int_rejects(raw: bytes) -> None:
    assert strict_int(raw) is None
    with pytest.raises(CommandError) as info:
        parse_int(raw)
    assert info.value.message == NOT_INT


def reference_strict_int(raw: bytes) -> int | None:
    """Redis's string2ll rules spelled out with a regular expression."""
    if len(raw) > 20 or not re.fullmatch(rb"0|-?[1-9][0-9]*", raw):
        return None
    value = int(raw)
    return value if LLONG_MIN <= value <= LLONG_MAX else None


@given(
    st.one_of(
        st.integers(min_value=-(2**65), max_value=2**65).map(lambda n: b"%d" % n),
        st.binary(max_size=22),
        st.text(alphabet="-0123456789 +", max_size=22).map(str.encode),
    )
)
def test_strict_int_is_string2ll(raw: bytes) -> None:
    assert strict_int(raw) == reference_strict_int(raw)


def test_parse_int_custom_error() -> None:
    with pytest.raises(CommandError) as info:
        parse_int(b"x", "ERR custom")
    assert info.value.message == "ERR custom"


# -- SET / GET ----------------------------------------------------------------------------------
def test_set_get(h: Harness) -> None:
    assert h("GET", "k") is None
    assert h("SET", "k", "v") is OK
    assert h("GET", "k") == b"v"
    assert h.take() == [[b"SET", b"k", b"v"]]
    assert h("set", "k", "") is OK
    assert h("get", "k") == b""


def test_set_drops_ttl_unless_keepttl(h: Harness) -> None:
    h("SET", "k", "v", "EX", 100)
    assert h("PTTL", "k") == 100_000
    h("SET", "k", "w", "KEEPTTL")
    assert h("PTTL", "k") == 100_000
    h("SET", "k", "x")
    assert h("PTTL", "k") == -1


def test_set_nx_xx(h: Harness) -> None:
    assert h("SET", "k", "1", "XX") is None
    assert h("SET", "k", "1", "NX") is OK
    assert h("SET", "k", "2", "NX") is None
    assert h("SET", "k", "3", "xx") is OK
    assert h("GET", "k") == b"3"
    assert h.take() == [[b"SET", b"k", b"1", b"NX"], [b"SET", b"k", b"3", b"xx"]]
    # Repeating the same flag is fine.
    assert h("SET", "k", "4", "XX", "XX") is OK


def test_set_get_option(h: Harness) -> None:
    assert h("SET", "k", "1", "GET") is None
    assert h("SET", "k", "2", "GET") == b"1"
    assert h("SET", "k", "3", "NX", "GET") == b"2"  # NX stops it; GET still answers
    assert h("GET", "k") == b"2"
    assert h("SET", "new", "x", "XX", "GET") is None
    assert h("EXISTS", "new") == 0
    assert h("SET", "k", "4", "get", "XX", "GET") == b"2"
    # GET arguments are not propagated (there is no expiry to rewrite).
    assert h.take() == [[b"SET", b"k", b"1"], [b"SET", b"k", b"2"], [b"SET", b"k", b"4", b"XX"]]


def test_set_get_wrongtype(h: Harness) -> None:
    h.db.set_value(b"l", deque([b"a"]))
    assert h.error("SET", "l", "v", "GET") == WRONGTYPE
    assert h.error("GET", "l") == WRONGTYPE
    assert h("TYPE", "l").text == b"list"
    assert type(h.db.lookup(b"l")) is deque
    # Without GET, SET overwrites whatever is there.
    assert h("SET", "l", "v") is OK
    assert h("GET", "l") == b"v"
    # The expiry is validated before GET looks at the type.
    h.db.set_value(b"l", deque([b"a"]))
    assert h.error("SET", "l", "v", "GET", "EX", "0") == "ERR invalid expire time in 'set' command"


@pytest.mark.parametrize(
    ("option", "amount", "expected_ms"),
    [
        ("EX", 10, NOW + 10_000),
        ("PX", 1500, NOW + 1500),
        ("EXAT", (NOW + 20_000) // 1000, NOW + 20_000),
        ("PXAT", NOW + 1234, NOW + 1234),
    ],
)
def test_set_expiry_propagates_as_pxat(
    h: Harness, option: str, amount: int, expected_ms: int
) -> None:
    assert h("SET", "k", "v", "NX", option, amount) is OK
    assert h.db.get_expire(b"k") == expected_ms
    assert h.take() == [[b"SET", b"k", b"v", b"PXAT", str(expected_ms).encode()]]
    h.now = expected_ms  # the deadline itself is not past yet
    assert h("GET", "k") == b"v"
    h.now = expected_ms + 1
    assert h("GET", "k") is None


def test_set_get_with_expiry_propagates_pxat(h: Harness) -> None:
    h("SET", "k", "old")
    h.take()
    assert h("SET", "k", "new", "GET", "PX", 100) == b"old"
    assert h.take() == [[b"SET", b"k", b"new", b"PXAT", str(NOW + 100).encode()]]


def test_set_repeated_expiry_last_wins(h: Harness) -> None:
    assert h("SET", "k", "v", "EX", 5, "EX", 7) is OK
    assert h("TTL", "k") == 7


def test_set_exat_in_the_past_sets_an_expired_key(h: Harness) -> None:
    assert h("SET", "k", "v", "PXAT", 1) is OK
    assert h.take() == [[b"SET", b"k", b"v", b"PXAT", b"1"]]
    assert h("GET", "k") is None


@pytest.mark.parametrize(
    "args",
    [
        ("NX", "XX"),
        ("XX", "NX"),
        ("EX",),
        ("EX", 10, "PX", 10),
        ("PX", 10, "EXAT", 10),
        ("EXAT", 10, "PXAT", 10),
        ("KEEPTTL", "EX", 10),
        ("EX", 10, "KEEPTTL"),
        ("PXAT", 10, "KEEPTTL"),
        ("FOO",),
        ("GETX",),
        ("PERSIST",),
        ("NX", "EX"),
    ],
)
def test_set_syntax_errors(h: Harness, args: tuple[str | int, ...]) -> None:
    assert h.error("SET", "k", "v", *args) == SYNTAX
    assert h.take() == []
    assert h("EXISTS", "k") == 0


@pytest.mark.parametrize(
    ("option", "amount", "message"),
    [
        ("EX", "abc", NOT_INT),
        ("EX", "1.5", NOT_INT),
        ("PX", "9223372036854775808", NOT_INT),
        ("EX", 0, "ERR invalid expire time in 'set' command"),
        ("PX", -1, "ERR invalid expire time in 'set' command"),
        ("EXAT", 0, "ERR invalid expire time in 'set' command"),
        ("EX", LLONG_MAX // 1000 + 1, "ERR invalid expire time in 'set' command"),
        ("PX", LLONG_MAX, "ERR invalid expire time in 'set' command"),
        ("EX", LLONG_MAX // 1000, "ERR invalid expire time in 'set' command"),
    ],
)
def test_set_expire_errors(h: Harness, option: str, amount: str | int, message: str) -> None:
    assert h.error("SET", "k", "v", option, amount) == message
    assert h("EXISTS", "k") == 0


def test_set_largest_absolute_expiry(h: Harness) -> None:
    assert h("SET", "k", "v", "PXAT", LLONG_MAX) is OK
    assert h("SET", "k", "v", "EXAT", LLONG_MAX // 1000) is OK


def test_set_arity(h: Harness) -> None:
    assert h.error("SET", "k") == arity("set")
    assert h.error("GET") == arity("get")
    assert h.error("GET", "a", "b") == arity("get")


def test_set_nx_failure_is_not_propagated(h: Harness) -> None:
    h("SET", "k", "v")
    h.take()
    dirty = h.ctx.dirty
    assert h("SET", "k", "w", "NX", "EX", 10) is None
    assert h.ctx.dirty == dirty
    assert h.take() == []
    assert h.client.propagate_as is None


# -- MSET / MGET --------------------------------------------------------------------------------
def test_mset_mget(h: Harness) -> None:
    h("SET", "a", "old", "EX", 10)
    dirty = h.ctx.dirty
    assert h("MSET", "a", "1", "b", "2", "a", "3") is OK
    assert h.ctx.dirty == dirty + 3
    assert h("MGET", "a", "b", "c") == [b"3", b"2", None]
    assert h("TTL", "a") == -1
    h.db.set_value(b"l", deque([b"x"]))
    assert h("MGET", "l", "a") == [None, b"3"]


def test_mset_arity(h: Harness) -> None:
    assert h.error("MSET", "a") == arity("mset")
    assert h.error("MSET", "a", "1", "b") == arity("mset")
    assert h.error("MGET") == arity("mget")


# -- INCR family --------------------------------------------------------------------------------
def test_incr_decr(h: Harness) -> None:
    assert h("INCR", "n") == 1
    assert h("INCRBY", "n", 10) == 11
    assert h("DECR", "n") == 10
    assert h("DECRBY", "n", 20) == -10
    assert h("GET", "n") == b"-10"
    assert h("INCRBY", "n", -5) == -15
    assert h("DECRBY", "n", -15) == 0
    assert h("GET", "n") == b"0"
    assert h("DECRBY", "m", 3) == -3


def test_incr_keeps_ttl(h: Harness) -> None:
    h("SET", "n", "5", "EX", 100)
    assert h("INCR", "n") == 6
    assert h("TTL", "n") == 100


@pytest.mark.parametrize(
    "stored", [b"", b"a", b" 1", b"1 ", b"+1", b"01", b"-0", b"1.5", b"9223372036854775808"]
)
def test_incr_rejects_non_integers(h: Harness, stored: bytes) -> None:
    h("SET", "n", stored)
    assert h.error("INCR", "n") == NOT_INT
    assert h("GET", "n") == stored


def test_incr_overflow(h: Harness) -> None:
    h("SET", "n", LLONG_MAX)
    assert h.error("INCR", "n") == "ERR increment or decrement would overflow"
    assert h.error("INCRBY", "n", 1) == "ERR increment or decrement would overflow"
    assert h("INCRBY", "n", LLONG_MIN) == -1
    h("SET", "n", LLONG_MIN)
    assert h.error("DECR", "n") == "ERR increment or decrement would overflow"
    assert h.error("DECRBY", "n", 1) == "ERR increment or decrement would overflow"
    assert h("GET", "n") == str(LLONG_MIN).encode()


def test_decrby_min(h: Harness) -> None:
    assert h.error("DECRBY", "n", LLONG_MIN) == "ERR decrement would overflow"
    assert h("INCRBY", "n", LLONG_MIN) == LLONG_MIN


def test_incr_errors_order(h: Harness) -> None:
    h.db.set_value(b"l", deque([b"x"]))
    assert h.error("INCR", "l") == WRONGTYPE
    assert h.error("INCRBY", "l", "x") == NOT_INT  # the increment is parsed first
    assert h.error("INCRBY", "n", "1.0") == NOT_INT
    assert h.error("INCRBY", "n") == arity("incrby")
    assert h.take() == []


# -- DEL / EXISTS -------------------------------------------------------------------------------
def test_del_exists(h: Harness) -> None:
    h("MSET", "a", "1", "b", "2")
    h.take()
    assert h("EXISTS", "a", "a", "b", "c") == 3
    assert h("DEL", "a", "a", "c") == 1
    assert h.take() == [[b"DEL", b"a", b"a", b"c"]]
    assert h("DEL", "nothing") == 0
    assert h.take() == []
    assert h.error("DEL") == arity("del")
    assert h.error("EXISTS") == arity("exists")


def test_expired_keys_do_not_exist(h: Harness) -> None:
    h("SET", "a", "1", "PX", 10)
    h.now += 11
    assert h("EXISTS", "a") == 0
    assert h("DEL", "a") == 0
    assert h("TTL", "a") == -2
    assert h("TYPE", "a").text == b"none"


# -- EXPIRE family ------------------------------------------------------------------------------
def test_expire_rewrites_to_pexpireat(h: Harness) -> None:
    h("SET", "k", "v")
    h.take()
    assert h("EXPIRE", "k", 10) == 1
    assert h("PEXPIRE", "k", 500) == 1
    assert h("EXPIREAT", "k", NOW // 1000 + 30) == 1
    assert h("PEXPIREAT", "k", NOW + 40_000) == 1
    assert h("EXPIRE", "k", 50, "GT") == 1
    assert h.take() == [
        [b"PEXPIREAT", b"k", str(NOW + 10_000).encode()],
        [b"PEXPIREAT", b"k", str(NOW + 500).encode()],
        [b"PEXPIREAT", b"k", str(NOW + 30_000).encode()],
        [b"PEXPIREAT", b"k", str(NOW + 40_000).encode()],
        [b"PEXPIREAT", b"k", str(NOW + 50_000).encode(), b"GT"],
    ]
    assert h("PTTL", "k") == 50_000


def test_expire_in_the_past_deletes_and_propagates_del(h: Harness) -> None:
    for cmd, amount in (("EXPIRE", 0), ("PEXPIRE", -5), ("EXPIREAT", 1), ("PEXPIREAT", NOW)):
        h("SET", "k", "v")
        h.take()
        assert h(cmd, "k", amount) == 1
        assert h.take() == [[b"DEL", b"k"]]
        assert h("EXISTS", "k") == 0
        assert b"k" not in h.db.data


def test_expire_in_the_past_while_loading_keeps_deadline(h: Harness) -> None:
    h("SET", "k", "v")
    h.ctx.loading = True
    assert h("PEXPIREAT", "k", NOW - 1) == 1
    assert h.db.get_expire(b"k") == NOW - 1
    h.ctx.loading = False
    assert h("EXISTS", "k") == 0


def test_expire_missing_key(h: Harness) -> None:
    assert h("EXPIRE", "k", 10) == 0
    assert h("EXPIRE", "k", 0) == 0
    assert h.take() == []


def test_expire_flags(h: Harness) -> None:
    h("SET", "k", "v")
    assert h("EXPIRE", "k", 100, "XX") == 0
    assert h("EXPIRE", "k", 100, "GT") == 0  # no TTL is an infinite TTL
    assert h("EXPIRE", "k", 100, "NX") == 1
    assert h("EXPIRE", "k", 200, "NX") == 0
    assert h("EXPIRE", "k", 100, "GT") == 0
    assert h("EXPIRE", "k", 101, "gt") == 1
    assert h("EXPIRE", "k", 101, "LT") == 0
    assert h("EXPIRE", "k", 50, "LT", "XX") == 1
    assert h("TTL", "k") == 50
    h("PERSIST", "k")
    assert h("EXPIRE", "k", 500, "LT") == 1  # infinite TTL: LT succeeds
    h("PERSIST", "k")
    h.take()
    assert h("EXPIRE", "k", -1, "LT") == 1
    assert h.take() == [[b"DEL", b"k"]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("NX", "XX"), "ERR NX and XX, GT or LT options at the same time are not compatible"),
        (("NX", "GT"), "ERR NX and XX, GT or LT options at the same time are not compatible"),
        (("lt", "nx"), "ERR NX and XX, GT or LT options at the same time are not compatible"),
        (("GT", "LT"), "ERR GT and LT options at the same time are not compatible"),
        (("XX", "foo"), "ERR Unsupported option foo"),
        (("EX",), "ERR Unsupported option EX"),
    ],
)
def test_expire_flag_errors(h: Harness, args: tuple[str, ...], message: str) -> None:
    h("SET", "k", "v")
    for cmd in ("EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"):
        assert h.error(cmd, "k", 10, *args) == message
        # Options are checked before the time.
        assert h.error(cmd, "k", "abc", *args) == message


@pytest.mark.parametrize(
    ("cmd", "amount", "message"),
    [
        ("EXPIRE", "abc", NOT_INT),
        ("EXPIRE", "1.5", NOT_INT),
        ("EXPIRE", LLONG_MAX // 1000 + 1, "ERR invalid expire time in 'expire' command"),
        ("EXPIRE", -(2**63 // 1000) - 1, "ERR invalid expire time in 'expire' command"),
        ("EXPIRE", LLONG_MAX // 1000, "ERR invalid expire time in 'expire' command"),
        ("PEXPIRE", LLONG_MAX, "ERR invalid expire time in 'pexpire' command"),
        ("EXPIREAT", LLONG_MAX // 1000 + 1, "ERR invalid expire time in 'expireat' command"),
        ("PEXPIREAT", "9223372036854775808", NOT_INT),
    ],
)
def test_expire_time_errors(h: Harness, cmd: str, amount: str | int, message: str) -> None:
    h("SET", "k", "v")
    assert h.error(cmd, "k", amount) == message
    assert h("TTL", "k") == -1


def test_expire_extreme_values(h: Harness) -> None:
    h("SET", "k", "v")
    h.take()
    assert h("PEXPIREAT", "k", LLONG_MAX) == 1
    assert h.take() == [[b"PEXPIREAT", b"k", str(LLONG_MAX).encode()]]
    assert h("EXPIREAT", "k", LLONG_MAX // 1000) == 1
    assert h("EXPIRE", "k", -(2**63 // 1000)) == 1  # far in the past: deleted
    assert h("EXISTS", "k") == 0


def test_expire_arity(h: Harness) -> None:
    for cmd in ("expire", "pexpire", "expireat", "pexpireat"):
        assert h.error(cmd, "k") == arity(cmd)


# -- TTL / PTTL / PERSIST -----------------------------------------------------------------------
def test_ttl_pttl(h: Harness) -> None:
    assert h("TTL", "k") == -2
    assert h("PTTL", "k") == -2
    h("SET", "k", "v")
    assert h("TTL", "k") == -1
    assert h("PTTL", "k") == -1
    h("PEXPIRE", "k", 10_499)
    assert h("TTL", "k") == 10
    h("PEXPIRE", "k", 10_500)
    assert h("TTL", "k") == 11  # rounded to the nearest second
    assert h("PTTL", "k") == 10_500
    h("PEXPIRE", "k", 1)
    h.now += 1
    assert h("PTTL", "k") == 0  # at its deadline: still there, nothing left
    h.now += 1
    assert h("PTTL", "k") == -2


def test_persist(h: Harness) -> None:
    assert h("PERSIST", "k") == 0
    h("SET", "k", "v")
    h.take()
    assert h("PERSIST", "k") == 0
    assert h.take() == []
    h("EXPIRE", "k", 10)
    h.take()
    assert h("PERSIST", "k") == 1
    assert h.take() == [[b"PERSIST", b"k"]]
    assert h("TTL", "k") == -1
    assert h.error("PERSIST") == arity("persist")


# -- TYPE / KEYS / DBSIZE -----------------------------------------------------------------------
def test_type(h: Harness) -> None:
    def name(key: str) -> bytes:
        reply = h("TYPE", key)
        assert isinstance(reply, Status)
        return reply.text

    assert name("nope") == b"none"
    h("SET", "s", "v")
    h.db.set_value(b"l", deque([b"x"]))
    h.db.set_value(b"h", {b"f": b"v"})
    h.db.set_value(b"z", {b"m"})
    assert [name(k) for k in ("s", "l", "h", "z")] == [b"string", b"list", b"hash", b"set"]


def test_keys_and_dbsize(h: Harness) -> None:
    h("MSET", "one", "1", "two", "2", "three", "3", "", "empty")
    h("PEXPIRE", "two", 5)
    assert sorted(h("KEYS", "*")) == [b"", b"one", b"three", b"two"]
    assert sorted(h("KEYS", "t*")) == [b"three", b"two"]
    assert h("KEYS", "?ne") == [b"one"]
    assert h("KEYS", "nomatch*") == []
    h.now += 5
    assert sorted(h("KEYS", "*")) == [b"", b"one", b"three", b"two"]  # at its deadline
    h.now += 1
    assert sorted(h("KEYS", "*")) == [b"", b"one", b"three"]
    assert h("KEYS", "t*") == [b"three"]
    # KEYS skips the expired key without deleting it; DBSIZE still counts it, as Redis does.
    assert h("DBSIZE") == 4
    assert h("EXISTS", "two") == 0
    assert h("DBSIZE") == 3
    assert h.error("KEYS") == arity("keys")
    assert h.error("DBSIZE", "x") == arity("dbsize")


@pytest.mark.parametrize(
    ("pattern", "listed"),
    [
        (b"*", [b"", b"k:1", b"k:2", b"k:x"]),  # no matching at all
        (b"**", [b"k:1", b"k:2", b"k:x"]),  # prefix and suffix checks
        (b"k:1", [b"k:1"]),  # a literal: looked up, not scanned
        (b"k:[12]", [b"k:1", b"k:2"]),  # a regular expression
        (b"*[:]?", [b"k:1", b"k:2", b"k:x"]),
        (b"k:" + b"*" * 2000, [b"k:1", b"k:2", b"k:x"]),  # too long to translate
    ],
)
def test_keys_skips_expired_keys_whatever_the_pattern(
    h: Harness, pattern: bytes, listed: list[bytes]
) -> None:
    h("MSET", "", "v", "k:1", "v", "k:2", "v", "k:x", "v")
    assert sorted(h("KEYS", pattern)) == listed
    for key in listed:
        h("PEXPIRE", key, 5)
    h.now += 6  # past the deadline
    assert h("KEYS", pattern) == []
    assert h("DBSIZE") == 4  # skipped, not deleted


def test_databases_are_separate(h: Harness) -> None:
    h("SET", "k", "v")
    h.client.select(1)
    assert h("GET", "k") is None
    assert h("DBSIZE") == 0


# -- declarations -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "arity_", "flags", "keys", "group"),
    [
        ("del", -2, ("write",), (1, -1, 1), "generic"),
        ("exists", -2, ("readonly", "fast"), (1, -1, 1), "generic"),
        ("expire", -3, ("write", "fast"), (1, 1, 1), "generic"),
        ("pexpireat", -3, ("write", "fast"), (1, 1, 1), "generic"),
        ("ttl", 2, ("readonly", "fast"), (1, 1, 1), "generic"),
        ("persist", 2, ("write", "fast"), (1, 1, 1), "generic"),
        ("keys", 2, ("readonly",), (0, 0, 0), "generic"),
        ("dbsize", 1, ("readonly", "fast"), (0, 0, 0), "server"),
        ("set", -3, ("write", "denyoom"), (1, 1, 1), "string"),
        ("get", 2, ("readonly", "fast"), (1, 1, 1), "string"),
        ("incr", 2, ("write", "denyoom", "fast"), (1, 1, 1), "string"),
        ("mset", -3, ("write", "denyoom"), (1, -1, 2), "string"),
        ("mget", -2, ("readonly", "fast"), (1, -1, 1), "string"),
    ],
)
def test_declarations(
    name: str, arity_: int, flags: tuple[str, ...], keys: tuple[int, int, int], group: str
) -> None:
    cmd = table.lookup(name.encode())
    assert cmd is not None
    assert (cmd.arity, cmd.flags, (cmd.first_key, cmd.last_key, cmd.key_step), cmd.group) == (
        arity_,
        flags,
        keys,
        group,
    )
    assert cmd.summary and cmd.complexity and cmd.acl_categories
