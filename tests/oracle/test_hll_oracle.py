"""HyperLogLog against real Redis: PFADD, PFCOUNT, PFMERGE, PFDEBUG. The same commands go to
Zyst and to redis-server and the raw replies are compared byte for byte, and so are the HLLs
themselves (GET after every write): the sparse opcodes, the switch to dense, the cached
cardinality's bytes. HLLs made by Redis are loaded into Zyst (SET of their bytes, RESTORE of
their DUMP) and back; corrupted HLLs get the same errors and never crash.
"""

from __future__ import annotations

import random

import pytest

from tests.conftest import Oracle, RawConnection, check_sequence
from zyst.types import hll as zyst_hll

Arg = bytes | str | int
Cmd = tuple[Arg, ...]

HLL_WRONGTYPE = b"-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n"
WRONGTYPE = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
INVALID = b"-INVALIDOBJ Corrupted HLL object detected\r\n"


def elements(rng: random.Random, count: int) -> list[bytes]:
    """Random elements of random lengths (0 to 40 bytes, binary), so every tail length of
    MurmurHash64A is exercised."""
    return [rng.randbytes(rng.randint(0, 40)) for _ in range(count)]


def grow(o: Oracle, rng: random.Random, key: str, total: int) -> None:
    """PFADD ``total`` random elements to ``key`` in random batches, a PFCOUNT now and then,
    the replies and the HLL's bytes compared after each."""
    added = 0
    commands: list[Cmd] = []
    while added < total:
        batch = elements(rng, min(total - added, rng.randint(1, 200)))
        added += len(batch)
        commands.append(("PFADD", key, *batch))
        if rng.random() < 0.3:
            commands.append(("PFCOUNT", key))
        commands.append(("GET", key))
    o.check_many(commands)


def test_pfadd_bytes_and_estimates_over_many_sizes(o: Oracle) -> None:
    rng = random.Random(20)
    for size in (0, 1, 2, 7, 30, 100, 250, 600, 1200, 2500, 4000, 9000):
        o.check("DEL", "h")
        o.check("PFADD", "h")
        grow(o, rng, "h", size)
        count = o.check("PFCOUNT", "h")
        o.check("PFDEBUG", "ENCODING", "h")
        o.check("GET", "h")
        if size >= 100:
            assert abs(int(count[1:-2]) - size) <= size * 0.05 + 2, (size, count)
    # The last one went dense: the sparse limit was passed.
    assert o.check("PFDEBUG", "ENCODING", "h") == b"+dense\r\n"


def test_pfadd_replies_and_cache(o: Oracle) -> None:
    check_sequence(
        o,
        [
            ("PFADD", "h"),
            ("PFADD", "h"),
            ("GET", "h"),
            ("PFCOUNT", "h"),
            ("PFADD", "h", "a", "b", "c"),
            ("GETRANGE", "h", "15", "15"),
            ("PFCOUNT", "h"),
            ("GETRANGE", "h", "15", "15"),
            ("PFADD", "h", "a", "b", "c"),
            ("PFADD", "h", ""),
            ("PFCOUNT", "h"),
            ("PFCOUNT", "nope"),
            ("OBJECT", "ENCODING", "h"),
            ("TYPE", "h"),
            ("STRLEN", "h"),
        ],
        {
            0: b":1\r\n",
            1: b":0\r\n",
            2: b"$18\r\nHYLL\x01\x00\x00\x00" + bytes(7) + b"\x80\x7f\xff\r\n",
            4: b":1\r\n",
            5: b"$1\r\n\x80\r\n",
            6: b":3\r\n",
            7: b"$1\r\n\x00\r\n",
            8: b":0\r\n",
            11: b":0\r\n",
        },
    )


@pytest.mark.parametrize("limit", [0, 40, 300, 1000])
def test_the_sparse_limit_setting(o: Oracle, limit: int) -> None:
    rng = random.Random(limit)
    o.check("CONFIG", "SET", "hll-sparse-max-bytes", str(limit))
    try:
        assert str(limit).encode() in o.check("CONFIG", "GET", "hll-sparse-max-bytes")
        grow(o, rng, "h", 500)
        o.check("PFDEBUG", "ENCODING", "h")
    finally:
        o.check("CONFIG", "SET", "hll-sparse-max-bytes", "3000")


def test_the_switch_to_dense_to_the_byte(o: Oracle) -> None:
    # One element at a time under limits near 100 bytes, so that the sparse value reaches a
    # limit exactly now and then (it may reach it, not pass it).
    exact = 0
    try:
        for limit in range(96, 111):
            o.check("CONFIG", "SET", "hll-sparse-max-bytes", str(limit))
            o.check("DEL", "h")
            commands: list[Cmd] = []
            for n in range(60):
                commands += [("PFADD", "h", b"e%d" % n), ("STRLEN", "h"), ("GET", "h")]
            exact += b":%d\r\n" % limit in o.check_many(commands)
    finally:
        o.check("CONFIG", "SET", "hll-sparse-max-bytes", "3000")
    assert exact >= 3


def test_pfmerge_and_union_counts(o: Oracle) -> None:
    rng = random.Random(3)
    for round_ in range(12):
        keys = [f"m{i}{{t}}" for i in range(4)]
        o.check("DEL", *keys, "dest{t}")
        for key in keys:
            size = rng.choice([0, 1, 10, 200, 1500, 5000])
            if size:
                o.check("PFADD", key, *elements(rng, size))
            if rng.random() < 0.3 and size:
                o.check("PFDEBUG", "TODENSE", key)
        if round_ % 3 == 0:
            o.check("PFADD", "dest{t}", *elements(rng, rng.randint(0, 50)))
        chosen = rng.sample(keys, rng.randint(1, 4))
        o.check("PFCOUNT", *chosen, "missing{t}")
        o.check("PFMERGE", "dest{t}", *chosen)
        o.check("GET", "dest{t}")
        o.check("PFCOUNT", "dest{t}")
        o.check("PFMERGE", chosen[0], "dest{t}")
        o.check("GET", chosen[0])
    check_sequence(
        o,
        [
            ("DEL", "a{t}", "b{t}", "c{t}", "d{t}"),
            ("PFADD", "a{t}", "a", "b", "c"),
            ("PFADD", "b{t}", "b", "c", "d"),
            ("PFADD", "c{t}", "c", "d", "e"),
            ("PFMERGE", "d{t}", "a{t}", "b{t}", "c{t}"),
            ("PFCOUNT", "d{t}"),
            ("PFCOUNT", "a{t}", "b{t}"),
            ("PFMERGE", "e{t}"),
            ("GET", "e{t}"),
        ],
        {4: b"+OK\r\n", 5: b":5\r\n", 6: b":4\r\n", 7: b"+OK\r\n"},
    )


def test_pfdebug(o: Oracle) -> None:
    rng = random.Random(11)
    o.check("PFADD", "h", *elements(rng, 40))
    check_sequence(
        o,
        [
            ("PFDEBUG", "ENCODING", "h"),
            ("PFDEBUG", "DECODE", "h"),
            ("PFDEBUG", "decode", "h"),
            ("PFDEBUG", "GETREG", "h"),
            ("PFDEBUG", "ENCODING", "h"),
            ("PFDEBUG", "DECODE", "h"),
            ("PFDEBUG", "TODENSE", "h"),
            ("GET", "h"),
            ("PFADD", "s", "x"),
            ("PFDEBUG", "TODENSE", "s"),
            ("PFDEBUG", "TODENSE", "s"),
            ("GET", "s"),
            ("PFDEBUG", "NOPE", "s"),
            ("PFDEBUG", "NOPE", "missing"),
            ("PFDEBUG", "GETREG", "missing"),
            ("SET", "str", "hello"),
            ("PFDEBUG", "NOPE", "str"),
            ("RPUSH", "list", "a"),
            ("PFDEBUG", "ENCODING", "list"),
            ("PFDEBUG", "GETREG"),
        ],
        {
            0: b"+sparse\r\n",
            4: b"+dense\r\n",
            5: b"-ERR HLL encoding is not sparse\r\n",
            6: b":0\r\n",
            9: b":1\r\n",
            10: b":0\r\n",
            12: b"-ERR Unknown PFDEBUG subcommand 'NOPE'\r\n",
            13: b"-ERR The specified key does not exist\r\n",
            16: HLL_WRONGTYPE,
            18: WRONGTYPE,
        },
    )


def test_type_errors(o: Oracle) -> None:
    check_sequence(
        o,
        [
            ("SET", "foo{t}", "bar"),
            ("PFADD", "foo{t}", "1"),
            ("PFCOUNT", "foo{t}"),
            ("PFCOUNT", "foo{t}", "x{t}"),
            ("PFMERGE", "bar{t}", "foo{t}"),
            ("PFMERGE", "foo{t}", "bar{t}"),
            ("RPUSH", "l{t}", "a"),
            ("PFADD", "l{t}", "1"),
            ("PFCOUNT", "l{t}"),
            ("PFCOUNT", "x{t}", "l{t}"),
            ("PFMERGE", "l{t}"),
            ("SET", "n{t}", "12345"),
            ("PFADD", "n{t}"),
            ("SET", "h{t}", "HYLL\x02" + "\x00" * 20),
            ("PFCOUNT", "h{t}"),
            ("SET", "h{t}", "HYLL\x00" + "\x00" * 20),
            ("PFCOUNT", "h{t}"),
            ("SET", "h{t}", "HYLL\x01\x00\x00"),
            ("PFCOUNT", "h{t}"),
            ("PFADD",),
            ("PFCOUNT",),
            ("PFMERGE",),
            ("PFDEBUG", "GETREG"),
            ("PFSELFTEST", "x"),
            ("EXISTS", "bar{t}"),
        ],
        {
            1: HLL_WRONGTYPE,
            2: HLL_WRONGTYPE,
            3: HLL_WRONGTYPE,
            4: HLL_WRONGTYPE,
            5: HLL_WRONGTYPE,
            7: WRONGTYPE,
            8: WRONGTYPE,
            9: WRONGTYPE,
            10: WRONGTYPE,
            12: HLL_WRONGTYPE,
            14: HLL_WRONGTYPE,
            16: HLL_WRONGTYPE,
            18: HLL_WRONGTYPE,
            24: b":0\r\n",
        },
    )


# -- HLLs made by the other server -----------------------------------------------------------
def test_a_redis_made_hll_works_here_and_back(o: Oracle) -> None:
    rng = random.Random(5)
    for size in (3, 300, 2000, 6000):
        for_redis = elements(rng, size)
        assert o.redis.command("PFADD", "src", *for_redis) == b":1\r\n"
        raw = o.redis.command("GET", "src")
        value = raw[raw.index(b"\r\n") + 2 : -2]
        o.check("SET", "copy", value)
        o.check("PFCOUNT", "copy")
        more = elements(rng, 500)
        o.check("PFADD", "copy", *more)
        o.check("GET", "copy")
        o.check("PFCOUNT", "copy")
        o.redis.command("DEL", "src")


def test_dump_and_restore_between_the_servers(o: Oracle) -> None:
    rng = random.Random(6)
    for size in (10, 5000):
        o.check("DEL", "h", "back")
        o.check("PFADD", "h", *elements(rng, size))
        for source, target in ((o.redis, o.zyst), (o.zyst, o.redis)):
            dumped = source.command("DUMP", "h")
            payload = dumped[dumped.index(b"\r\n") + 2 : -2]
            assert target.command("RESTORE", "back", "0", payload, "REPLACE") == b"+OK\r\n"
        o.check("GET", "back")
        o.check("PFCOUNT", "back", "h")
        o.check("PFADD", "back", *elements(rng, 100))
        o.check("GET", "back")


# -- corruption ------------------------------------------------------------------------------
def test_corrupted_hlls_get_redis_errors(o: Oracle) -> None:
    rng = random.Random(9)
    for round_ in range(150):
        o.check("DEL", "h", "d{t}")
        size = rng.choice([1, 5, 40, 300, 2000])
        o.check("PFADD", "h", *elements(rng, size))
        if round_ % 4 == 0:
            o.check("PFDEBUG", "TODENSE", "h")
        length = int(o.check("STRLEN", "h")[1:-2])
        commands: list[Cmd] = []
        for _ in range(rng.randint(1, 5)):
            where = rng.randrange(16 if rng.random() < 0.1 else length)
            commands.append(("SETRANGE", "h", where, rng.randbytes(rng.randint(1, 3))))
        if rng.random() < 0.2:
            commands.append(("APPEND", "h", rng.randbytes(rng.randint(1, 4))))
        commands += [
            ("PFCOUNT", "h"),
            ("PFCOUNT", "h", "d{t}"),
            ("PFADD", "h", *elements(rng, rng.randint(0, 30))),
            ("GET", "h"),
            ("PFCOUNT", "h"),
            ("PFMERGE", "d{t}", "h"),
            ("GET", "d{t}"),
            ("PFDEBUG", "ENCODING", "h"),
            ("PFDEBUG", "GETREG", "h"),
            ("GET", "h"),
        ]
        o.check_many(commands)
    assert o.check("PING") == b"+PONG\r\n"


def hll(encoding: int, body: bytes, card: bytes = b"\x00" * 7 + b"\x80") -> bytes:
    return b"HYLL" + bytes((encoding, 0, 0, 0)) + card + body


def dense_from(registers: list[int]) -> bytes:
    """A dense HLL holding ``registers`` (16384 values below 64), its cached count stale."""
    value = bytearray(hll(0, bytes(12288)))
    zyst_hll.pack_py(value, bytes(registers))
    return bytes(value)


def test_hand_made_registers(o: Oracle) -> None:
    dense_max = hll(0, b"\xff" * 12288)
    cases = [
        hll(1, b"\x7f\xff" + b"hello"),  # opcodes past the 16384 registers
        hll(1, b"\x7f\xff\x80"),  # a VAL past them (7.0.15 stopped there; CVE-2025-32023)
        hll(1, b"\x7f"),  # an XZERO cut by the end
        hll(1, b"\x7f\xfe\xfc"),  # a VAL of 4 registers going past the end
        hll(1, b"\x7f\xfb\x80\x80\x80\x80"),  # 16380 zeros then four VAL 1
        hll(1, b"\x7f\xfb\xfc"),  # 16380 zeros then a VAL 32 x 4
        hll(1, b""),  # no opcodes at all
        hll(1, b"\x00" * 256),  # 256 ZERO(1) opcodes: too few registers
        hll(1, b"\x3f" * 256),  # 256 ZERO(64): exactly 16384
        dense_max,  # every register 63: Redis divides by zero
        dense_from([51 if i % 3 else i % 64 for i in range(16384)]),  # many at the top value 51
        dense_from([51 if i % 1000 == 0 else i % 7 for i in range(16384)]),
        # Nearly every register at 51, where Ertl's tau term weighs (elsewhere it is scaled
        # down by 2**-50).
        dense_from([51] * 16383 + [50]),
        dense_from([51] * 16000 + [3] * 384),
        hll(0, bytes(range(256)) * 48),
        hll(1, b"\x7f\xff", card=b"\x05" + b"\x00" * 7),  # a valid cached count is trusted
    ]
    for value in cases:
        commands: list[Cmd] = [
            ("SET", "h{t}", value),
            ("PFCOUNT", "h{t}"),
            ("PFCOUNT", "h{t}", "z{t}"),
            ("SET", "h{t}", value),
            ("PFADD", "h{t}", "a", "b", "c", "d"),
            ("GET", "h{t}"),
            ("SET", "h{t}", value),
            ("PFMERGE", "m{t}", "h{t}"),
            ("GET", "m{t}"),
            ("DEL", "m{t}"),
            ("SET", "h{t}", value),
            ("PFDEBUG", "DECODE", "h{t}"),
            ("PFDEBUG", "TODENSE", "h{t}"),
            ("GET", "h{t}"),
        ]
        o.check_many(commands)


def test_hlls_through_other_commands(o: Oracle) -> None:
    empty = "HYLL\x01\x00\x00\x00" + "\x00" * 8 + "\x7f\xff"
    check_sequence(
        o,
        [
            ("PFADD", "a{t}", "x", "y"),
            ("COPY", "a{t}", "b{t}"),
            ("PFADD", "b{t}", "z"),  # the copy has a buffer of its own
            ("GET", "a{t}"),
            ("GET", "b{t}"),
            ("RENAME", "b{t}", "c{t}"),
            ("PFCOUNT", "c{t}"),
            ("SET", "e{t}", empty),
            ("OBJECT", "ENCODING", "e{t}"),
            ("PFCOUNT", "e{t}"),  # unshares the value, as PFADD does
            ("OBJECT", "ENCODING", "e{t}"),
            ("APPEND", "a{t}", ""),
            ("PFCOUNT", "a{t}"),
            ("MULTI",),
            ("PFADD", "m{t}", "1", "2"),
            ("PFCOUNT", "m{t}"),
            ("PFMERGE", "m{t}", "a{t}"),
            ("EXEC",),
            ("EVAL", "return redis.call('pfadd', KEYS[1], 'q')", "1", "a{t}"),
            ("EVAL", "return redis.call('pfcount', KEYS[1], KEYS[2])", "2", "a{t}", "m{t}"),
            ("EVAL", "return redis.pcall('pfcount', KEYS[1])", "1", "missing{t}"),
            ("SET", "s{t}", "text"),
            ("EVAL", "return redis.pcall('pfadd', KEYS[1], 'q')", "1", "s{t}"),
            ("TYPE", "a{t}"),
            ("DBSIZE",),
        ],
        {
            2: b":1\r\n",
            6: b":3\r\n",
            8: b"$6\r\nembstr\r\n",
            9: b":0\r\n",
            10: b"$3\r\nraw\r\n",
            18: b":1\r\n",
        },
    )


def test_watch_sees_pfcount_refresh_but_not_pfdebug(o: Oracle) -> None:
    o.check("PFADD", "h", "a")
    ran = b"*1\r\n$1\r\n1\r\n"
    for other, runs in (
        (("PFDEBUG", "TODENSE", "h"), True),  # no signal: EXEC runs
        (("PFCOUNT", "h"), False),  # the cache refreshed: a change, EXEC aborts
        (("PFCOUNT", "h"), True),  # cached: nothing changed
    ):
        o.check("WATCH", "h")
        for side in (o.zyst, o.redis):
            with RawConnection(side.sock.getpeername()[1]) as conn:
                conn.command(*other)
        o.check("MULTI")
        o.check("ECHO", "1")
        assert (o.check("EXEC") == ran) == runs, other
