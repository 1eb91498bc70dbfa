"""The bitmap commands against real Redis: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD and
BITFIELD_RO. The same commands go to Zyst and to redis-server and the raw replies are compared
byte for byte, error paths included, in RESP2 and RESP3 (BITFIELD's null replies differ there);
some replies are pinned too, so that both servers failing alike cannot pass.
"""

from __future__ import annotations

import random

import pytest

from tests.conftest import Oracle, check_keyspace_traffic, check_sequence

Arg = bytes | str | int
Cmd = tuple[Arg, ...]

WRONGTYPE = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
SYNTAX = b"-ERR syntax error\r\n"
NOT_INTEGER = b"-ERR value is not an integer or out of range\r\n"
BIT_OFFSET = b"-ERR bit offset is not an integer or out of range\r\n"
BIT_VALUE = b"-ERR bit is not an integer or out of range\r\n"
BIT_ARGUMENT = b"-ERR The bit argument must be 1 or 0.\r\n"
BAD_TYPE = (
    b"-ERR Invalid bitfield type. Use something like i16 u8. "
    b"Note that u64 is not supported but i64 is.\r\n"
)
BAD_OVERFLOW = b"-ERR Invalid OVERFLOW type specified\r\n"
RO_GET_ONLY = b"-ERR BITFIELD_RO only supports the GET subcommand\r\n"
NOT_ONE_KEY = b"-ERR BITOP NOT must be called with a single source key.\r\n"
I64_MAX = "9223372036854775807"
I64_MIN = "-9223372036854775808"


# -- SETBIT and GETBIT ----------------------------------------------------------------------------
def test_setbit_getbit(o: Oracle) -> None:
    commands: list[Cmd] = [
        ("SETBIT", "k", "7", "1"),
        ("GET", "k"),
        ("SETBIT", "k", "7", "1"),
        ("SETBIT", "k", "7", "0"),
        ("SETBIT", "k", "0", "1"),
        ("SETBIT", "k", "100", "1"),
        ("STRLEN", "k"),
        ("GETBIT", "k", "100"),
        ("GETBIT", "k", "0"),
        ("GETBIT", "k", "1"),
        ("GETBIT", "k", "101"),
        ("GETBIT", "k", "4294967295"),
        ("GETBIT", "missing", "3"),
        ("SETBIT", "k", "200", "0"),
        ("STRLEN", "k"),
        ("SET", "n", "12"),
        ("GETBIT", "n", "2"),
        ("GETBIT", "n", "3"),
        ("SETBIT", "n", "6", "1"),
        ("GET", "n"),
        ("SET", "t", "a", "EX", "100"),
        ("SETBIT", "t", "15", "1"),
        ("TTL", "t"),
        ("SETBIT", "z", "0", "0"),
        ("GET", "z"),
    ]
    check_sequence(
        o,
        commands,
        {
            0: b":0\r\n",
            1: b"$1\r\n\x01\r\n",
            2: b":1\r\n",
            6: b":13\r\n",
            7: b":1\r\n",
            14: b":26\r\n",
            22: b":100\r\n",
            24: b"$1\r\n\x00\r\n",
        },
    )


BAD_OFFSETS = ["-1", "x", "1.5", "", " 1", "01", "#1", "4294967296", I64_MAX, "9223372036854775808"]


@pytest.mark.parametrize("offset", BAD_OFFSETS)
def test_bad_bit_offsets(oracle: Oracle, offset: str) -> None:
    oracle.check("SETBIT", "k", "0", "1")
    assert oracle.check("SETBIT", "k", offset, "1") == BIT_OFFSET
    assert oracle.check("GETBIT", "k", offset) == BIT_OFFSET
    # The offset is judged before the key's type and before the bit's value.
    oracle.check("LPUSH", "l", "x")
    assert oracle.check("GETBIT", "l", offset) == BIT_OFFSET
    assert oracle.check("SETBIT", "l", offset, "7") == BIT_OFFSET
    assert oracle.check("STRLEN", "k") == b":1\r\n"


@pytest.mark.parametrize("value", ["2", "-1", "x", "", "1.0", "01", "+1", I64_MAX])
def test_bad_bit_values(oracle: Oracle, value: str) -> None:
    assert oracle.check("SETBIT", "k", "3", value) == BIT_VALUE
    oracle.check("LPUSH", "l", "x")
    assert oracle.check("SETBIT", "l", "3", value) == BIT_VALUE
    assert oracle.check("EXISTS", "k") == b":0\r\n"


def test_setbit_getbit_wrong_type_and_arity(o: Oracle) -> None:
    o.check("LPUSH", "l", "x")
    commands: list[Cmd] = [
        ("SETBIT", "l", "0", "1"),
        ("GETBIT", "l", "0"),
        ("SETBIT", "k", "0"),
        ("SETBIT", "k", "0", "1", "2"),
        ("GETBIT", "k"),
        ("GETBIT", "k", "0", "1"),
    ]
    check_sequence(o, commands, {0: WRONGTYPE, 1: WRONGTYPE})


def test_bit_offsets_stop_at_proto_max_bulk_len(small_bulk_limit: Oracle) -> None:
    bits = 8 << 20
    commands: list[Cmd] = [
        ("SETBIT", "k", bits, "1"),
        ("GETBIT", "k", bits),
        ("EXISTS", "k"),
        ("SETBIT", "k", bits - 1, "1"),
        ("STRLEN", "k"),
        ("GETBIT", "k", bits - 1),
        ("BITFIELD", "f", "SET", "u8", bits, "1"),
        ("BITFIELD", "f", "GET", "u8", bits),
        ("BITFIELD_RO", "f", "GET", "i64", bits),
        # The offset is checked, not the field's end: this one reaches one byte past the limit.
        ("BITFIELD", "f", "SET", "u8", bits - 1, "255"),
        ("STRLEN", "f"),
        ("BITFIELD", "f", "SET", "u8", "#1048576", "1"),
        ("BITFIELD", "f", "SET", "u8", "#1048575", "1"),
        ("BITFIELD", "f", "GET", "u1", "#8388608"),
        ("BITCOUNT", "k"),
        ("BITPOS", "k", "1"),
    ]
    check_sequence(
        small_bulk_limit,
        commands,
        {
            0: BIT_OFFSET,
            1: BIT_OFFSET,
            2: b":0\r\n",
            4: b":1048576\r\n",
            6: BIT_OFFSET,
            10: b":1048577\r\n",
            11: BIT_OFFSET,
            13: BIT_OFFSET,
            14: b":1\r\n",
            15: b":8388607\r\n",
        },
    )


# -- BITCOUNT -------------------------------------------------------------------------------------
BITCOUNT_VALUES: dict[str, Arg] = {
    "s": "foobar",
    "ones": b"\xff" * 9,
    "mixed": b"\x0f\xf0\xaa\x55\x01\x80",
    "one": b"\x81",
    "e": "",
    "n": "-12345",
    "long": b"\xa5\x3c" * 700,
}
RANGES = [
    ("0", "-1"),
    ("0", "0"),
    ("1", "1"),
    ("1", "3"),
    ("-1", "-1"),
    ("-2", "-1"),
    ("-1", "-2"),
    ("-100", "-1"),
    ("-100", "100"),
    ("5", "2"),
    ("2", "-3"),
    ("0", "-100"),
    ("7", "7"),
    ("3", "12"),
    ("9", "20"),
    ("17", "40"),
    ("100", "200"),
    ("1390", "11200"),
    (I64_MIN, I64_MAX),
    (I64_MAX, I64_MIN),
    ("-9223372036854775807", "-1"),
]


@pytest.mark.parametrize(("start", "end"), RANGES, ids=[f"{s}..{e}" for s, e in RANGES])
def test_bitcount_ranges(oracle: Oracle, start: str, end: str) -> None:
    for key, value in BITCOUNT_VALUES.items():
        oracle.check("SET", key, value)
    for key in [*BITCOUNT_VALUES, "missing"]:
        oracle.check("BITCOUNT", key)
        oracle.check("BITCOUNT", key, start, end)
        for unit in ("BYTE", "BIT", "bit", "Byte"):
            oracle.check("BITCOUNT", key, start, end, unit)


def test_bitcount_pinned(o: Oracle) -> None:
    o.check("SET", "s", "foobar")
    commands: list[Cmd] = [
        ("BITCOUNT", "s"),
        ("BITCOUNT", "s", "0", "0"),
        ("BITCOUNT", "s", "1", "1"),
        ("BITCOUNT", "s", "1", "1", "BYTE"),
        ("BITCOUNT", "s", "5", "30", "BIT"),
        ("BITCOUNT", "s", "-1", "-2"),
        ("BITCOUNT", "missing", "x", "y"),
    ]
    check_sequence(
        o,
        commands,
        {0: b":26\r\n", 1: b":4\r\n", 2: b":6\r\n", 3: b":6\r\n", 4: b":17\r\n", 5: b":0\r\n"},
    )


def test_bitcount_errors(o: Oracle) -> None:
    o.check("SET", "s", "foobar")
    o.check("LPUSH", "l", "x")
    commands: list[Cmd] = [
        ("BITCOUNT", "s", "0"),
        ("BITCOUNT", "s", "0", "1", "BIT", "x"),
        ("BITCOUNT", "s", "0", "1", "BITS"),
        ("BITCOUNT", "s", "0", "1", b"BIT\x00x"),
        ("BITCOUNT", "s", "x", "1"),
        ("BITCOUNT", "s", "0", "x"),
        ("BITCOUNT", "s", "0", "9223372036854775808"),
        ("BITCOUNT", "s", "x", "1", "FOO"),
        # Both negative and start > end: 0 before the unit word is read.
        ("BITCOUNT", "s", "-1", "-2", "FOO"),
        ("BITCOUNT", "s", "-2", "-1", "FOO"),
        # A missing key answers 0 before any argument is looked at.
        ("BITCOUNT", "missing", "0"),
        ("BITCOUNT", "missing", "x", "y", "z", "w"),
        ("BITCOUNT", "l"),
        ("BITCOUNT", "l", "x"),
        ("BITCOUNT",),
    ]
    check_sequence(
        o,
        commands,
        {0: SYNTAX, 1: SYNTAX, 2: SYNTAX, 4: NOT_INTEGER, 8: b":0\r\n", 9: SYNTAX, 12: WRONGTYPE},
    )


@pytest.mark.parametrize("size", [1000, 65_536, 65_537])
def test_bitcount_on_both_sides_of_the_copy_limit(oracle: Oracle, size: int) -> None:
    """Strings up to 64 KB are counted in a scratch copy, longer ones through a view: both as
    stored by SET (bytes) and once changed in place by SETBIT and APPEND (a bytearray), each
    count followed by one of a short string, which must not see the long one's bits."""
    rng = random.Random(size)
    oracle.check("SET", "short", b"\x81\x01")
    oracle.check("SET", "k", rng.randbytes(size))
    ranges = [("0", "-1"), ("1", "-2"), ("3", str(size - 5)), ("9", str(8 * size - 3), "BIT")]
    for change in [("GET", "k"), ("SETBIT", "k", "5", "1"), ("APPEND", "k", b"\xff\x7f")]:
        oracle.check(*change)
        for args in [(), *ranges]:
            oracle.check("BITCOUNT", "k", *args)
            assert oracle.check("BITCOUNT", "short") == b":3\r\n"
            assert oracle.check("BITCOUNT", "short", "1", "1") == b":1\r\n"


# -- BITPOS ---------------------------------------------------------------------------------------
BITPOS_VALUES: dict[str, Arg] = {
    "ones": b"\xff\xff\xff",
    "zeros": b"\x00\x00\x00",
    "mixed": b"\xff\xf0\x00",
    "sparse": b"\x00\x00\x01\x00\x80",
    "holes": b"\xff\xfe\xff\x7f",
    "one": b"\x01",
    "e": "",
    "n": "10",
    "longones": b"\xff" * 300 + b"\xfb" + b"\xff" * 50,
    "longzeros": b"\x00" * 400 + b"\x04",
    "hugezeros": b"\x00" * 9000 + b"\x20" + b"\x00" * 100,
    "hugeones": b"\xff" * 8200 + b"\xf7",
    # (a search from byte 0 skips bytes 1 to 4096 as one block: the set bit is just past it)
    "blockedge": b"\x00" * 4097 + b"\x40" + b"\x00" * 5000,
}
BITPOS_RANGES: list[tuple[str, ...]] = [
    (),
    ("0",),
    ("1",),
    ("2",),
    ("-1",),
    ("-2",),
    ("5",),
    ("-100",),
    *((start, end) for start, end in RANGES),
    ("0", "-1", "BIT"),
    ("0", "7", "BIT"),
    ("1", "6", "BIT"),
    ("4", "11", "BIT"),
    ("7", "8", "BIT"),
    ("9", "14", "BIT"),
    ("15", "15", "BIT"),
    ("-5", "-1", "BIT"),
    ("-9", "-2", "BIT"),
    ("-1", "-9", "BIT"),
    ("3", "100", "BIT"),
    ("2400", "2410", "bit"),
    ("20", "3210", "bit"),
    ("8", "72007", "bit"),
    ("4096", "9000"),
    ("4097", "-2"),
    ("0", "-1", "BYTE"),
    ("1", "2", "byte"),
]


@pytest.mark.parametrize("args", BITPOS_RANGES, ids=lambda a: " ".join(a) or "none")
def test_bitpos_ranges(oracle: Oracle, args: tuple[str, ...]) -> None:
    for key, value in BITPOS_VALUES.items():
        oracle.check("SET", key, value)
    for key in [*BITPOS_VALUES, "missing"]:
        for bit in ("0", "1"):
            oracle.check("BITPOS", key, bit, *args)


def test_bitpos_pinned(o: Oracle) -> None:
    o.check("SET", "ones", b"\xff\xff\xff")
    o.check("SET", "z", b"\x00\x00\x00")
    o.check("SET", "m", b"\x00\xff\xf0")
    commands: list[Cmd] = [
        # All ones: no end given counts the zero padding to the right; with an end, none.
        ("BITPOS", "ones", "0"),
        ("BITPOS", "ones", "0", "1"),
        ("BITPOS", "ones", "0", "0", "-1"),
        ("BITPOS", "ones", "0", "0", "-1", "BIT"),
        ("BITPOS", "z", "1"),
        ("BITPOS", "z", "0", "1"),
        ("BITPOS", "m", "1", "0"),
        ("BITPOS", "m", "0", "1", "-1"),
        ("BITPOS", "m", "1", "7", "15", "BIT"),
        ("BITPOS", "m", "0", "7", "15", "BIT"),
        ("BITPOS", "missing", "0"),
        ("BITPOS", "missing", "1"),
        ("BITPOS", "m", "0", "5", "2"),
    ]
    check_sequence(
        o,
        commands,
        {
            0: b":24\r\n",
            1: b":24\r\n",
            2: b":-1\r\n",
            3: b":-1\r\n",
            4: b":-1\r\n",
            5: b":8\r\n",
            6: b":8\r\n",
            7: b":20\r\n",
            8: b":8\r\n",
            9: b":7\r\n",
            10: b":0\r\n",
            11: b":-1\r\n",
            12: b":-1\r\n",
        },
    )


def test_bitpos_errors(o: Oracle) -> None:
    o.check("SET", "s", b"\x0f")
    o.check("LPUSH", "l", "x")
    commands: list[Cmd] = [
        ("BITPOS", "s", "2"),
        ("BITPOS", "s", "-1"),
        ("BITPOS", "s", "x"),
        ("BITPOS", "s", ""),
        ("BITPOS", "s", I64_MAX),
        ("BITPOS", "s", "1", "x"),
        ("BITPOS", "s", "1", "0", "x"),
        ("BITPOS", "s", "1", "0", "1", "FOO"),
        # The unit word is read before the end.
        ("BITPOS", "s", "1", "0", "x", "FOO"),
        ("BITPOS", "s", "1", "x", "1", "FOO"),
        ("BITPOS", "s", "1", "0", "1", "BIT", "x"),
        # A missing key answers after the bit is checked, before anything else.
        ("BITPOS", "missing", "1", "x", "y", "z", "w"),
        ("BITPOS", "missing", "3"),
        ("BITPOS", "l", "1"),
        ("BITPOS", "l", "1", "x"),
        ("BITPOS", "l", "3"),
        ("BITPOS", "s"),
    ]
    check_sequence(
        o,
        commands,
        {
            0: BIT_ARGUMENT,
            1: BIT_ARGUMENT,
            2: NOT_INTEGER,
            7: SYNTAX,
            8: SYNTAX,
            10: SYNTAX,
            11: b":-1\r\n",
            12: BIT_ARGUMENT,
            13: WRONGTYPE,
            15: BIT_ARGUMENT,
        },
    )


# -- BITOP ----------------------------------------------------------------------------------------
def test_bitop(o: Oracle) -> None:
    commands: list[Cmd] = [
        ("SET", "a", b"\xff\x0f\xaa"),
        ("SET", "b", b"\x0f\xff"),
        ("SET", "c", b"\x01"),
        ("BITOP", "AND", "d", "a", "b"),
        ("GET", "d"),
        ("BITOP", "or", "d", "a", "b", "c"),
        ("GET", "d"),
        ("BITOP", "Xor", "d", "a", "b", "c"),
        ("GET", "d"),
        ("BITOP", "NOT", "d", "b"),
        ("GET", "d"),
        ("BITOP", "AND", "d", "a", "missing"),
        ("GET", "d"),
        ("BITOP", "OR", "d", "missing", "a"),
        ("GET", "d"),
        ("BITOP", "AND", "d", "a"),
        ("GET", "d"),
        ("BITOP", "NOT", "d", "missing"),
        ("EXISTS", "d"),
        ("BITOP", "AND", "d", "missing", "missing2"),
        ("SET", "t", "x", "EX", "100"),
        ("BITOP", "OR", "t", "a"),
        ("TTL", "t"),
        ("LPUSH", "l", "x"),
        ("BITOP", "OR", "l", "a"),
        ("TYPE", "l"),
        ("LPUSH", "l2", "x"),
        ("BITOP", "OR", "l2", "missing"),
        ("EXISTS", "l2"),
        ("BITOP", "OR", "a", "a", "b"),
        ("GET", "a"),
        ("SET", "e", ""),
        ("BITOP", "XOR", "d", "e"),
        ("EXISTS", "d"),
        ("BITOP", "NOT", "d", "e"),
        ("SET", "n", "12"),
        ("BITOP", "AND", "d", "n", "a"),
        ("GET", "d"),
    ]
    check_sequence(
        o,
        commands,
        {
            3: b":3\r\n",
            4: b"$3\r\n\x0f\x0f\x00\r\n",
            6: b"$3\r\n\xff\xff\xaa\r\n",
            8: b"$3\r\n\xf1\xf0\xaa\r\n",
            10: b"$2\r\n\xf0\x00\r\n",
            12: b"$3\r\n\x00\x00\x00\r\n",
            18: b":0\r\n",
            19: b":0\r\n",
            22: b":-1\r\n",
            25: b"+string\r\n",
            28: b":0\r\n",
        },
    )


@pytest.mark.parametrize("op", ["AND", "OR", "XOR", "NOT"])
def test_bitop_long_strings(o: Oracle, op: str) -> None:
    rng = random.Random(op)
    sizes = (4099, 4096, 17) if op != "NOT" else (5003,)
    keys = []
    for index, size in enumerate(sizes):
        key = f"src{index}"
        o.check("SET", key, bytes(rng.randrange(256) for _ in range(size)))
        keys.append(key)
    o.check("BITOP", op, "dest", *keys)
    o.check("GET", "dest")
    o.check("BITCOUNT", "dest")


def test_bitop_errors(o: Oracle) -> None:
    o.check("SET", "a", "x")
    o.check("LPUSH", "l", "x")
    commands: list[Cmd] = [
        ("BITOP", "NAND", "d", "a"),
        ("BITOP", "AN", "d", "a"),
        # Redis compares the operation as a C string: this one is AND.
        ("BITOP", b"and\x00x", "d", "a"),
        ("BITOP", "NOT", "d", "a", "a"),
        ("BITOP", "NOT", "d", "l", "a"),
        ("BITOP", "FOO", "d", "l"),
        ("BITOP", "AND", "d", "a", "l"),
        ("BITOP", "AND", "d", "l", "missing"),
        ("BITOP", "NOT", "d", "l"),
        ("EXISTS", "d"),
        ("BITOP", "AND", "d"),
        ("BITOP", "AND"),
    ]
    check_sequence(
        o,
        commands,
        {0: SYNTAX, 2: b":1\r\n", 3: NOT_ONE_KEY, 4: NOT_ONE_KEY, 5: SYNTAX, 6: WRONGTYPE},
    )


def test_bitop_getkeys(oracle: Oracle) -> None:
    oracle.check("COMMAND", "GETKEYS", "BITOP", "AND", "d", "a", "b")
    oracle.check("COMMAND", "GETKEYS", "BITFIELD", "k", "GET", "u8", "0")
    oracle.check("COMMAND", "GETKEYS", "BITFIELD_RO", "k", "GET", "u8", "0")
    oracle.check("COMMAND", "GETKEYS", "BITCOUNT", "k", "0", "1")


# -- BITFIELD -------------------------------------------------------------------------------------
def test_bitfield_get_set_incrby(o: Oracle) -> None:
    commands: list[Cmd] = [
        ("BITFIELD", "b", "SET", "i8", "0", "-100"),
        ("BITFIELD", "b", "SET", "i8", "0", "101", "GET", "i8", "0"),
        ("BITFIELD", "b", "set", "u8", "0", "255", "incrby", "u8", "0", "100", "get", "u8", "0"),
        ("BITFIELD", "b", "GET", "u4", "0", "GET", "u4", "4", "GET", "i4", "4", "GET", "i3", "5"),
        ("BITFIELD", "b", "SET", "u5", "7", "23"),
        ("GET", "b"),
        ("BITFIELD", "b", "GET", "i64", "0", "GET", "u63", "1", "GET", "i1", "0", "GET", "u1", "7"),
        ("BITFIELD", "b", "SET", "i64", "3", I64_MIN),
        ("BITFIELD", "b", "GET", "i64", "3", "GET", "u63", "4"),
        ("BITFIELD", "b", "GET", "u8", "1000", "GET", "i16", "60"),
        ("STRLEN", "b"),
        ("BITFIELD", "b", "INCRBY", "u2", "100", "1"),
        ("STRLEN", "b"),
        (
            "BITFIELD",
            "h",
            "SET",
            "u8",
            "#0",
            "65",
            "SET",
            "u8",
            "#1",
            "66",
            "SET",
            "u8",
            "#2",
            "67",
        ),
        ("GET", "h"),
        ("BITFIELD", "h", "GET", "u8", "#1", "GET", "u4", "#1", "GET", "i2", "#3"),
        ("BITFIELD", "h", "INCRBY", "u8", "#0", "100", "INCRBY", "u8", "#0", "100"),
        ("BITFIELD", "t"),
        ("EXISTS", "t"),
        ("SET", "n", "12"),
        ("BITFIELD", "n", "GET", "u8", "0", "INCRBY", "u8", "8", "1"),
        ("GET", "n"),
        ("SET", "ttl", "x", "EX", "100"),
        ("BITFIELD", "ttl", "SET", "u8", "16", "1"),
        ("TTL", "ttl"),
    ]
    check_sequence(
        o,
        commands,
        {
            1: b"*2\r\n:-100\r\n:101\r\n",
            2: b"*3\r\n:101\r\n:99\r\n:99\r\n",
            14: b"$3\r\nABC\r\n",
            16: b"*2\r\n:165\r\n:9\r\n",
            17: b"*0\r\n",
            18: b":0\r\n",
            21: b"$2\r\n13\r\n",
            24: b":100\r\n",
        },
    )


def test_bitfield_overflow(o: Oracle) -> None:
    commands: list[Cmd] = [
        ("BITFIELD", "b", "SET", "u8", "0", "100"),
        ("BITFIELD", "b", "OVERFLOW", "WRAP", "INCRBY", "u8", "0", "257"),
        ("BITFIELD", "b", "overflow", "sat", "INCRBY", "u8", "0", "257", "GET", "u8", "0"),
        ("BITFIELD", "b", "OVERFLOW", "SAT", "INCRBY", "u8", "0", "-300"),
        ("BITFIELD", "b", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "-1", "INCRBY", "u8", "0", "1"),
        ("BITFIELD", "b", "OVERFLOW", "FAIL", "SET", "u8", "0", "256", "GET", "u8", "0"),
        ("BITFIELD", "b", "OVERFLOW", "FAIL", "SET", "u8", "0", "-1"),
        ("BITFIELD", "b", "OVERFLOW", "SAT", "SET", "u8", "0", "-1"),
        ("BITFIELD", "b", "OVERFLOW", "WRAP", "SET", "u8", "0", "-2", "GET", "u8", "0"),
        ("BITFIELD", "s", "SET", "i8", "0", "100"),
        (
            "BITFIELD",
            "s",
            "INCRBY",
            "i8",
            "0",
            "28",
            "OVERFLOW",
            "SAT",
            "INCRBY",
            "i8",
            "0",
            "1000",
        ),
        ("BITFIELD", "s", "OVERFLOW", "SAT", "INCRBY", "i8", "0", I64_MIN),
        ("BITFIELD", "s", "OVERFLOW", "FAIL", "INCRBY", "i8", "0", "-1", "SET", "i8", "0", "128"),
        ("BITFIELD", "s", "OVERFLOW", "SAT", "SET", "i8", "0", I64_MIN, "GET", "i8", "0"),
        ("BITFIELD", "s", "OVERFLOW", "SAT", "SET", "i8", "0", "-9223372036854775681"),
        ("BITFIELD", "s", "OVERFLOW", "SAT", "SET", "i8", "0", "-9223372036854775680"),
        ("BITFIELD", "s", "OVERFLOW", "WRAP", "SET", "i8", "0", I64_MIN, "GET", "i8", "0"),
        ("BITFIELD", "s", "SET", "i64", "0", I64_MAX, "INCRBY", "i64", "0", "1"),
        ("BITFIELD", "s", "OVERFLOW", "SAT", "INCRBY", "i64", "0", "-1", "INCRBY", "i64", "0", "1"),
        ("BITFIELD", "s", "OVERFLOW", "FAIL", "INCRBY", "i64", "0", I64_MAX),
        ("BITFIELD", "s", "SET", "u63", "0", I64_MAX, "INCRBY", "u63", "0", "1"),
        ("BITFIELD", "s", "OVERFLOW", "SAT", "INCRBY", "u63", "0", I64_MIN),
        ("BITFIELD", "s", "SET", "i1", "0", "1", "GET", "i1", "0", "INCRBY", "i1", "0", "1"),
        ("BITFIELD", "s", "OVERFLOW", "SAT", "INCRBY", "i1", "0", "1", "INCRBY", "i1", "0", "-5"),
        # The mode applies to the operations after it, up to the next OVERFLOW.
        ("BITFIELD", "m", "INCRBY", "u2", "0", "5", "OVERFLOW", "FAIL", "INCRBY", "u2", "0", "5"),
    ]
    check_sequence(
        o,
        commands,
        {
            1: b"*1\r\n:101\r\n",
            2: b"*2\r\n:255\r\n:255\r\n",
            3: b"*1\r\n:0\r\n",
            13: b"*2\r\n:-128\r\n:127\r\n",
            15: b"*1\r\n:127\r\n",
        },
    )


def test_bitfield_fail_replies_null(o: Oracle) -> None:
    # RESP2 and RESP3 spell the null differently; the value is untouched.
    replies = [
        o.check("BITFIELD", "b", "SET", "u8", "0", "255"),
        o.check("BITFIELD", "b", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "1", "GET", "u8", "0"),
    ]
    assert replies[1] in (b"*2\r\n$-1\r\n:255\r\n", b"*2\r\n_\r\n:255\r\n")


def test_bitfield_fail_on_a_missing_key_still_creates_it(o: Oracle) -> None:
    commands: list[Cmd] = [
        ("BITFIELD", "f", "OVERFLOW", "FAIL", "INCRBY", "u8", "8", "300"),
        ("GET", "f"),
        ("BITFIELD", "f", "OVERFLOW", "FAIL", "SET", "i4", "20", "8"),
        ("STRLEN", "f"),
    ]
    check_sequence(o, commands, {1: b"$2\r\n\x00\x00\r\n", 3: b":3\r\n"})


BITFIELD_ERRORS: list[tuple[Arg, ...]] = [
    ("GET", "i65", "0"),
    ("GET", "u64", "0"),
    ("GET", "i0", "0"),
    ("GET", "u0", "0"),
    ("GET", "I8", "0"),
    ("GET", "U8", "0"),
    ("GET", "x8", "0"),
    ("GET", "i", "0"),
    ("GET", "", "0"),
    ("GET", "i08", "0"),
    ("GET", "i-8", "0"),
    ("GET", "i+8", "0"),
    ("GET", "i8 ", "0"),
    ("GET", b"i8\x00x", "0"),
    ("GET", "u8", "-1"),
    ("GET", "u8", "x"),
    ("GET", "u8", "#"),
    ("GET", "u8", "#-1"),
    ("GET", "u8", "##1"),
    ("GET", "u8", " 1"),
    ("GET", "u8", "4294967296"),
    ("GET", "u8", "#536870912"),
    ("GET", "u8", "#536870911"),
    ("GET", "u4", "#4611686018427387904"),
    ("GET", "i64", "#144115188075855872"),
    ("GET", "u8"),
    ("SET", "u8", "0"),
    ("SET", "u8", "0", "x"),
    ("SET", "u8", "0", "9223372036854775808"),
    ("INCRBY", "u8", "0", "1.5"),
    ("INCRBY", "u8", "0"),
    ("OVERFLOW",),
    ("OVERFLOW", "FOO"),
    ("OVERFLOW", b"sat\x00x", "GET", "u8", "0"),
    ("OVERFLOW", "FAIL", "OVERFLOW", "WRAP"),
    ("FOO", "u8", "0"),
    ("GETX", "u8", "0"),
    ("GET", "u8", "0", "FOO"),
    ("GET", "u8", "0", "SET", "i65", "0", "1"),
    # Every argument is parsed before the first operation runs.
    ("SET", "u8", "0", "1", "GET", "i65", "0"),
    ("SET", "u8", "0", "1", "OVERFLOW", "BAD"),
]


@pytest.mark.parametrize("ops", BITFIELD_ERRORS, ids=lambda ops: " ".join(map(str, ops)))
def test_bitfield_argument_errors(oracle: Oracle, ops: tuple[Arg, ...]) -> None:
    oracle.check("SET", "k", b"\xa5\x5a\xff")
    oracle.check("LPUSH", "l", "x")
    for name in ("BITFIELD", "BITFIELD_RO"):
        for key in ("k", "l", "missing"):
            oracle.check(name, key, *ops)
    assert oracle.check("GET", "k") == b"$3\r\n\xa5\x5a\xff\r\n"
    assert oracle.check("EXISTS", "missing") == b":0\r\n"


def test_bitfield_ro(o: Oracle) -> None:
    o.check("SET", "k", b"\x01\x02")
    o.check("LPUSH", "l", "x")
    commands: list[Cmd] = [
        ("BITFIELD_RO", "k", "GET", "u8", "0", "GET", "i16", "0", "get", "u4", "#3"),
        ("BITFIELD_RO", "k", "SET", "u8", "0", "1"),
        ("BITFIELD_RO", "k", "GET", "u8", "0", "INCRBY", "u8", "0", "1"),
        ("BITFIELD_RO", "k", "OVERFLOW", "SAT", "GET", "u8", "0"),
        ("BITFIELD_RO", "k", "OVERFLOW", "SAT"),
        ("BITFIELD_RO", "k"),
        ("BITFIELD_RO", "missing", "GET", "i8", "0"),
        ("BITFIELD_RO", "missing", "SET", "i8", "0", "1"),
        ("EXISTS", "missing"),
        ("BITFIELD_RO", "l", "GET", "u8", "0"),
        ("BITFIELD_RO", "l", "SET", "u8", "0", "1"),
        ("BITFIELD_RO", "l"),
        ("BITFIELD_RO",),
        ("BITFIELD", "l"),
        ("BITFIELD", "l", "SET", "u8", "0", "1"),
        ("BITFIELD",),
        ("GET", "k"),
    ]
    check_sequence(
        o,
        commands,
        {
            0: b"*3\r\n:1\r\n:258\r\n:2\r\n",
            1: RO_GET_ONLY,
            2: RO_GET_ONLY,
            3: b"*1\r\n:1\r\n",
            4: b"*0\r\n",
            7: RO_GET_ONLY,
            9: WRONGTYPE,
            10: RO_GET_ONLY,
            13: WRONGTYPE,
            14: WRONGTYPE,
            16: b"$2\r\n\x01\x02\r\n",
        },
    )


# -- keyspace hits and misses ---------------------------------------------------------------------
# Reads count a hit or a miss per lookup (BITOP one per source key; BITFIELD only when it has no
# SET or INCRBY); writes count nothing; an argument error before the lookup counts nothing.
HIT, MISS, NONE = (1, 0), (0, 1), (0, 0)
KEYSPACE_TRAFFIC: list[tuple[Cmd, tuple[int, int]]] = [
    (("GETBIT", "k", "0"), MISS),
    (("SETBIT", "k", "0", "1"), NONE),
    (("GETBIT", "k", "0"), HIT),
    (("GETBIT", "k", "-1"), NONE),
    (("BITCOUNT", "k"), HIT),
    (("BITCOUNT", "missing", "0", "1"), MISS),
    (("BITCOUNT", "k", "x"), HIT),
    (("BITPOS", "k", "1"), HIT),
    (("BITPOS", "missing", "1"), MISS),
    (("BITPOS", "k", "2"), NONE),
    (("BITOP", "AND", "d", "k", "missing"), (1, 1)),
    (("BITOP", "NOT", "d", "k", "k"), NONE),
    (("BITFIELD", "k", "GET", "u8", "0"), HIT),
    (("BITFIELD", "missing"), MISS),
    (("BITFIELD", "k", "GET", "u8", "0", "SET", "u8", "0", "1"), NONE),
    (("BITFIELD", "k", "GET", "u65", "0"), NONE),
    (("BITFIELD_RO", "k", "GET", "u8", "0"), HIT),
    (("BITFIELD_RO", "k", "SET", "u8", "0", "1"), NONE),
    (("LPUSH", "l", "x"), NONE),
    (("GETBIT", "l", "0"), HIT),
    (("BITOP", "OR", "d", "k", "l", "missing"), (2, 0)),
]


def test_keyspace_hits_and_misses_match_redis(oracle: Oracle) -> None:
    check_keyspace_traffic(oracle, KEYSPACE_TRAFFIC)


# -- changes counted (INFO's rdb_changes_since_last_save) ----------------------------------------
# Each write adds what Redis adds: SETBIT one when it created, grew or flipped; BITOP one when it
# stored or deleted; BITFIELD one per SET or INCRBY that changed its field (all of them when it
# created or grew the string), none for FAIL.
DIRTY_SCRIPT: list[tuple[Cmd, int]] = [
    (("SETBIT", "a", "3", "1"), 1),
    (("SETBIT", "a", "3", "1"), 0),
    (("SETBIT", "a", "3", "0"), 1),
    (("SETBIT", "a", "20", "0"), 1),
    (("BITOP", "NOT", "b", "a"), 1),
    (("BITOP", "AND", "b", "missing"), 1),
    (("BITOP", "AND", "b", "missing"), 0),
    (("BITFIELD", "f", "SET", "u8", "0", "0", "SET", "u8", "8", "0", "GET", "u8", "0"), 2),
    (("BITFIELD", "f", "SET", "u8", "0", "0", "SET", "u8", "8", "1"), 1),
    (("BITFIELD", "f", "INCRBY", "u8", "0", "1", "INCRBY", "u8", "0", "1"), 2),
    (("BITFIELD", "f", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "300", "SET", "u4", "4", "0"), 1),
    (("BITFIELD", "f", "OVERFLOW", "FAIL", "SET", "u8", "40", "300"), 0),
    (("BITFIELD", "f", "GET", "u8", "0"), 0),
    (("BITFIELD_RO", "f", "GET", "u8", "0"), 0),
]


def test_changes_counted_as_redis_counts_them(oracle: Oracle) -> None:
    def changes() -> tuple[int, int]:
        counts = []
        for reply in oracle.run("INFO", "persistence"):
            for line in reply.decode().split("\r\n"):
                if line.startswith("rdb_changes_since_last_save:"):
                    counts.append(int(line.split(":")[1]))
        assert len(counts) == 2
        return counts[0], counts[1]

    for command, added in DIRTY_SCRIPT:
        before = changes()
        oracle.check(*command)
        after = changes()
        assert after[0] - before[0] == after[1] - before[1] == added, command


# -- a random sequence over a small key space -----------------------------------------------------
KEYS = ("k0", "k1", "k2", "k3")
VALUES: tuple[Arg, ...] = (
    "",
    "a",
    b"\xff\xff",
    b"\x00\x00\x00",
    b"\x0f\xf0",
    "12",
    "foobar",
    b"\x80" + b"\x00" * 9,
)
BIT_OFFSETS = ("0", "1", "7", "8", "9", "15", "23", "40", "100")
OFFSETS = (*BIT_OFFSETS, "#1", "#3")  # BITFIELD's
INDEXES = ("0", "1", "2", "-1", "-2", "-3", "3", "10", "-10", "17", "x")
FIELD_TYPES = ("u1", "u3", "u8", "u16", "u63", "i1", "i5", "i8", "i32", "i64")
FIELD_VALUES = ("0", "1", "-1", "7", "100", "-129", "255", "300", I64_MAX, I64_MIN)


def mostly(rng: random.Random, good: tuple[str, ...], bad: tuple[str, ...]) -> str:
    """One of ``good``, or one time in ten one of ``bad`` (so errors stay the exception)."""
    return rng.choice(bad) if rng.random() < 0.1 else rng.choice(good)


def random_field_op(rng: random.Random) -> tuple[str, ...]:
    kind = rng.randrange(5)
    field = (
        mostly(rng, FIELD_TYPES, ("u64", "i65", "u0", "x")),
        mostly(rng, OFFSETS, ("-1", "x", "#-1")),
    )
    value = mostly(rng, FIELD_VALUES, ("x", "1.5"))
    if kind == 0:
        return ("GET", *field)
    if kind == 1:
        return ("SET", *field, value)
    if kind in (2, 3):
        return ("INCRBY", *field, value)
    return ("OVERFLOW", mostly(rng, ("WRAP", "SAT", "FAIL", "fail"), ("bad",)))


def random_command(rng: random.Random) -> Cmd:
    key = rng.choice(KEYS)
    kind = rng.randrange(16)
    if kind in (0, 1):
        offset = mostly(rng, BIT_OFFSETS, ("-1", "x", "#1"))
        return ("SETBIT", key, offset, mostly(rng, ("0", "1"), ("2", "-1")))
    if kind == 2:
        return ("GETBIT", key, mostly(rng, BIT_OFFSETS, ("-1", "x")))
    if kind == 3:
        args = rng.choice([(), (rng.choice(INDEXES), rng.choice(INDEXES))])
        if args and rng.random() < 0.5:
            args = (*args, rng.choice(["BIT", "BYTE", "bit", "bad"]))
        return ("BITCOUNT", key, *args)
    if kind == 4:
        count = rng.randrange(4)
        args = tuple(rng.choice(INDEXES) for _ in range(min(count, 2)))
        if count == 3:
            args = (*args, rng.choice(["BIT", "BYTE", "bad"]))
        return ("BITPOS", key, mostly(rng, ("0", "1"), ("2", "x")), *args)
    if kind == 5:
        op = mostly(rng, ("AND", "OR", "XOR", "NOT", "not"), ("nope",))
        sources = rng.sample(KEYS, 1 if op.upper() == "NOT" else rng.randrange(1, 4))
        return ("BITOP", op, key, *sources)
    if kind in (6, 7, 8):
        ops = [part for _ in range(rng.randrange(1, 4)) for part in random_field_op(rng)]
        return (rng.choice(["BITFIELD", "BITFIELD", "BITFIELD", "BITFIELD_RO"]), key, *ops)
    if kind == 9:
        return ("SET", key, rng.choice(VALUES))
    if kind == 10:
        return ("LPUSH", key, "x")
    if kind == 11:
        return ("DEL", key)
    if kind == 12:
        return ("EXPIRE", key, "100")
    if kind == 13:
        return ("TTL", key)
    if kind == 14:
        return ("TYPE", key)
    return ("GET", key)


@pytest.mark.parametrize("seed", range(6))
def test_random_bitmap_commands(o: Oracle, seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(300):
        o.check(*random_command(rng))
    for key in KEYS:
        o.check("TYPE", key)
        o.check("TTL", key)
        o.check("GET", key)
