"""Stream commands (no consumer groups) against real Redis: the same commands go to Zyst and to
redis-server and the raw replies are compared byte for byte, errors included, in RESP2 and
RESP3; DUMP payloads too (Zyst's nodes are placed where Redis's listpacks are, so the bytes
are the same).

IDs are explicit wherever a reply shows them: ``*`` takes the clock, which two servers do not
share, so its tests compare the shape and the order instead.
"""

from __future__ import annotations

import random
import socket
from collections.abc import Iterator

import pytest

from tests.conftest import (
    Oracle,
    Pair,
    RawConnection,
    ServerProcess,
    check_keyspace_traffic,
    parse_reply,
    wait_until,
)
from zyst.protocol.resp import encode_command

Arg = bytes | str | int
Command = tuple[Arg, ...]


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def o(request: pytest.FixtureRequest, oracle: Oracle) -> Oracle:
    """The oracle, in RESP2 or RESP3."""
    if request.param == 3:
        ours, theirs = oracle.run("HELLO", "3")
        assert ours.startswith(b"%") and theirs.startswith(b"%")
    return oracle


def test_xadd_ids_and_their_errors(o: Oracle) -> None:
    replies = o.check_all(
        ("XADD", "s", "1-1", "a", "1"),
        ("XADD", "s", "1-1", "a", "1"),
        ("XADD", "s", "1-0", "a", "1"),
        ("XADD", "s", "1-*", "a", "2"),
        ("XADD", "s", "1", "a", "3"),
        ("XADD", "s", "2", "a", "4"),
        ("XADD", "s", "2-*", "a", "5"),
        ("XADD", "s", "0-0", "a", "1"),
        ("XADD", "new", "0-0", "a", "1"),
        ("XADD", "new", "0-*", "a", "1"),
        ("XADD", "s", "18446744073709551615-18446744073709551614", "a", "1"),
        ("XADD", "s", "18446744073709551615-*", "a", "1"),
        ("XADD", "s", "18446744073709551615-*", "a", "1"),
        ("XADD", "s", "*", "a", "1"),
        ("XADD", "s2", "5-18446744073709551615", "a", "1"),
        ("XADD", "s2", "5-*", "a", "1"),
        ("XADD", "s2", "18446744073709551616-1", "a", "1"),
        ("XADD", "s2", "-1-1", "a", "1"),
        ("XADD", "s2", "1-", "a", "1"),
        ("XADD", "s2", "+", "a", "1"),
        ("XADD", "s2", "-", "a", "1"),
        ("XADD", "s2", " 7-1", "a", "1"),
        ("XADD", "s2", "8-+1", "a", "1"),
        ("XADD", "s2", "009-01", "a", "1"),
        ("XADD", "s2", "10-1", "a"),
        ("XADD", "s2", "10-1", "a", "1", "b"),
        ("XADD", "s2", "NOMKSTREAM", "10-2", "a", "1"),
        ("XADD", "missing", "NOMKSTREAM", "1-1", "a", "1"),
        ("EXISTS", "missing"),
        ("SET", "str", "x"),
        ("XADD", "str", "1-1", "a", "1"),
        ("XLEN", "str"),
        ("XLEN", "s"),
        ("XLEN", "nothing"),
    )
    assert replies[0] == b"$3\r\n1-1\r\n"
    assert replies[3] == b"$3\r\n1-2\r\n"
    assert replies[7].startswith(b"-ERR The ID specified in XADD must be greater than 0-0")


def test_xadd_star_picks_increasing_ids(oracle: Oracle) -> None:
    """``*`` uses the clock (not compared): IDs grow, and after an ID from the future the
    sequence goes up under that same millisecond."""
    c = oracle.zyst
    ids = [parse_reply(c.command("XADD", "s", "*", "f", "v")) for _ in range(5)]
    assert ids == sorted(ids, key=lambda raw: tuple(map(int, raw.split(b"-"))))
    c.command("XADD", "s", "99999999999999-5", "f", "v")
    assert parse_reply(c.command("XADD", "s", "*", "f", "v")) == b"99999999999999-6"


def test_trim_options_and_errors(o: Oracle) -> None:
    o.check("CONFIG", "SET", "stream-node-max-entries", "10")
    try:
        o.check_all(*[("XADD", "s", f"{n}-1", "f", str(n)) for n in range(1, 101)])
        o.check_all(
            ("XTRIM", "s", "MAXLEN", "~", "55"),
            ("XLEN", "s"),
            ("XTRIM", "s", "MAXLEN", "~", "55"),
            ("XTRIM", "s", "MAXLEN", "=", "53"),
            ("XTRIM", "s", "MINID", "~", "70"),
            ("XTRIM", "s", "MINID", "75"),
            ("XRANGE", "s", "-", "+", "COUNT", "2"),
            ("XTRIM", "s", "MAXLEN", "~", "0", "LIMIT", "10"),
            ("XTRIM", "s", "MAXLEN", "0", "LIMIT", "10"),
            ("XTRIM", "s", "LIMIT", "10"),
            ("XTRIM", "s"),
            ("XTRIM", "s", "MAXLEN", "-1"),
            ("XTRIM", "s", "MAXLEN", "x"),
            ("XTRIM", "s", "MAXLEN", "1", "MINID", "1"),
            ("XTRIM", "s", "MAXLEN", "~", "1", "LIMIT", "-1"),
            ("XTRIM", "s", "MINID", "+"),
            ("XTRIM", "s", "MINID", "bad"),
            ("XTRIM", "s", "NOMKSTREAM", "MAXLEN", "1"),
            ("XTRIM", "missing", "MAXLEN", "1"),
            ("XADD", "s", "MAXLEN", "~", "5", "LIMIT", "1", "200-1", "f", "v"),
            ("XADD", "s", "MAXLEN", "5", "LIMIT", "1", "201-1", "f", "v"),
            ("XADD", "s", "LIMIT", "1", "202-1", "f", "v"),
            ("XADD", "s", "MINID", "~", "190", "203-1", "f", "v"),
            ("XADD", "s", "MAXLEN", "2", "204-1", "f", "v"),
            ("XADD", "s", "MAXLEN", "0", "205-1", "f", "v"),
            ("XLEN", "s"),
            ("XINFO", "STREAM", "s"),
            ("XADD", "s", "MAXLEN", "1", "MAXLEN", "2", "206-1", "f", "v"),
            ("XADD", "s", "MAXLEN", "~", "206-1", "f", "v"),
            ("XADD", "s", "MAXLEN"),
        )
    finally:
        o.check("CONFIG", "SET", "stream-node-max-entries", "100")


def test_ranges(o: Oracle) -> None:
    o.check_all(*[("XADD", "s", f"{n // 3 + 1}-{n % 3}", "f", str(n)) for n in range(30)])
    o.check_all(("XDEL", "s", "2-1", "5-0", "5-1", "5-2", "9-9"), ("XADD", "e", "1-1", "f", "v"))
    o.check("XDEL", "e", "1-1")
    bounds = ["-", "+", "0", "3", "3-1", "(3-1", "(3", "5", "(5", "10-2", "(0-0", "(-", "(+"]
    bounds += ["18446744073709551615-18446744073709551615", "(18446744073709551615", "x", "(("]
    commands: list[Command] = []
    for low in bounds:
        for high in bounds:
            commands.append(("XRANGE", "s", low, high))
            commands.append(("XREVRANGE", "s", high, low, "COUNT", "2"))
    commands += [
        ("XRANGE", "s", "-", "+", "COUNT", "0"),
        ("XRANGE", "s", "-", "+", "COUNT", "-1"),
        ("XRANGE", "s", "-", "+", "COUNT", "x"),
        ("XRANGE", "s", "-", "+", "COUNT"),
        ("XRANGE", "s", "-", "+", "LIMIT", "1"),
        ("XRANGE", "s", "-", "+", "COUNT", "1", "COUNT", "3"),
        ("XRANGE", "missing", "-", "+"),
        ("XRANGE", "missing", "-", "+", "COUNT", "0"),
        ("XRANGE", "e", "-", "+"),
        ("XREVRANGE", "e", "+", "-"),
    ]
    o.check_many(commands)


def test_xdel_xsetid_and_xinfo(o: Oracle) -> None:
    o.check_all(
        ("XADD", "s", "1-1", "a", "1", "b", "2"),
        ("XADD", "s", "2-1", "c", "3"),
        ("XADD", "s", "3-1", "a", "1", "b", "2"),
        ("XDEL", "s", "1-1", "1-1", "7-7"),
        ("XDEL", "s", "bad"),
        ("XDEL", "s", "2-1", "+"),
        ("XDEL", "missing", "1-1"),
        ("XINFO", "STREAM", "s"),
        ("XINFO", "STREAM", "s", "FULL"),
        ("XINFO", "STREAM", "s", "FULL", "COUNT", "1"),
        ("XINFO", "STREAM", "s", "FULL", "COUNT", "-5"),
        ("XINFO", "STREAM", "s", "FULL", "COUNT", "x"),
        ("XINFO", "STREAM", "s", "FULL", "LIMIT", "1"),
        ("XINFO", "STREAM", "s", "PARTIAL"),
        ("XINFO", "STREAM", "s", "FULL", "COUNT"),
        ("XINFO", "STREAM", "missing"),
        ("XINFO", "HELP"),
        ("XINFO", "HELP", "extra"),
        ("XINFO", "NOPE", "s"),
        ("XINFO", "STREAM"),
        ("XSETID", "s", "2-0"),
        ("XSETID", "s", "3-1"),
        ("XSETID", "s", "9-9", "ENTRIESADDED", "0"),
        ("XSETID", "s", "9-9", "ENTRIESADDED", "-1"),
        ("XSETID", "s", "9-9", "ENTRIESADDED", "10", "MAXDELETEDID", "9-10"),
        ("XSETID", "s", "9-9", "ENTRIESADDED", "10", "MAXDELETEDID", "8-0"),
        ("XSETID", "s", "9-9", "BAD", "1"),
        ("XSETID", "s", "9-9", "ENTRIESADDED"),
        ("XSETID", "s", "+"),
        ("XSETID", "missing", "1-1"),
        ("XINFO", "STREAM", "s"),
        ("XADD", "s", "9-9", "a", "1"),
        ("XADD", "s", "9-*", "a", "1"),
        ("XDEL", "s", "3-1", "9-10"),
        ("XINFO", "STREAM", "s"),
        ("XINFO", "STREAM", "s", "FULL"),
        ("TYPE", "s"),
        ("OBJECT", "ENCODING", "s"),
        ("SET", "str", "x"),
        ("XINFO", "STREAM", "str"),
        ("XDEL", "str", "1-1"),
        ("XSETID", "str", "1-1"),
        ("XRANGE", "str", "-", "+"),
    )


def test_xread_without_blocking(o: Oracle) -> None:
    o.check_all(
        ("XADD", "a", "1-1", "f", "1"),
        ("XADD", "a", "2-1", "f", "2"),
        ("XADD", "b", "1-1", "g", "1"),
        ("XREAD", "STREAMS", "a", "b", "0", "0"),
        ("XREAD", "COUNT", "1", "STREAMS", "a", "b", "1-1", "0-0"),
        ("XREAD", "COUNT", "1", "STREAMS", "a", "b", "2-1", "1-1"),
        ("XREAD", "STREAMS", "a", "$"),
        ("XREAD", "STREAMS", "missing", "0"),
        ("XREAD", "STREAMS", "a", ">"),
        ("XREAD", "STREAMS", "a", "-"),
        ("XREAD", "STREAMS", "a", "b", "0"),
        ("XREAD", "STREAMS"),
        ("XREAD", "COUNT", "1", "a", "0"),
        ("XREAD", "COUNT", "x", "STREAMS", "a", "0"),
        ("XREAD", "COUNT", "-3", "STREAMS", "a", "0"),
        ("XREAD", "BLOCK", "-1", "STREAMS", "a", "0"),
        ("XREAD", "BLOCK", "x", "STREAMS", "a", "0"),
        ("XREAD", "GROUP", "g", "c", "STREAMS", "a", "0"),
        ("XREAD", "NOACK", "STREAMS", "a", "0"),
        ("XREAD", "BLOCK", "0", "STREAMS", "a", "0"),
        ("SET", "str", "x"),
        ("XREAD", "STREAMS", "a", "str", "0", "0"),
        ("XREAD", "STREAMS", "str", "bad", "$", "x"),
        ("XDEL", "a", "2-1"),
        ("XREAD", "STREAMS", "a", "1-1"),
        ("MULTI",),
        ("XREAD", "BLOCK", "0", "STREAMS", "a", "2-1"),
        ("EXEC",),
        ("EVAL", "return redis.call('XREAD', 'STREAMS', 'a', '0')", "0"),
        ("EVAL", "return redis.call('XREAD', 'BLOCK', '0', 'STREAMS', 'a', '0')", "0"),
        ("COMMAND", "GETKEYS", "XREAD", "COUNT", "2", "STREAMS", "a", "b", "0", "0"),
    )


def test_copy_rename_and_scan_type(o: Oracle) -> None:
    o.check_all(
        ("XADD", "s", "1-1", "f", "v"),
        ("XADD", "s", "2-1", "f", "w"),
        ("XDEL", "s", "1-1"),
        ("COPY", "s", "c"),
        ("XADD", "s", "3-1", "f", "x"),
        ("XDEL", "s", "2-1"),
        ("XRANGE", "c", "-", "+"),
        ("XINFO", "STREAM", "c"),
        ("RENAME", "c", "d"),
        ("XINFO", "STREAM", "d"),
        ("SET", "str", "x"),
    )
    ours, theirs = (parse_reply(raw) for raw in o.run("SCAN", "0", "TYPE", "stream", "COUNT", "9"))
    assert sorted(ours[1]) == sorted(theirs[1]) == [b"d", b"s"]


def test_node_boundaries_follow_redis_listpack_sizes(no_compression: Oracle) -> None:
    """Where a new node starts depends on the size Redis's listpack would have: integers and
    strings of each encoding width, fields like and unlike the master entry's."""
    oracle = no_compression
    values = ["0", "127", "128", "-1", "4095", "4096", "-4097", "32768", "8388608", "2147483648"]
    values += ["9223372036854775807", "9223372036854775808", "-0", "01", "x" * 63, "x" * 64]
    values += ["x" * 127, "x" * 128, "x" * 4095, "x" * 4096, ""]
    small = ["x" * 64, "1", "x" * 63, "ab", "x" * 64, "-3", "x" * 64, "x" * 10]
    for limit in [*range(150, 250), 5000]:
        commands: list[Command] = [("CONFIG", "SET", "stream-node-max-bytes", limit)]
        for name, chosen in (("all", values), ("small", small)):
            key = f"{name}{limit}"
            for n, value in enumerate(chosen * 2):
                fields = ("f", value) if n % 3 else ("g", value, "f", value)
                commands.append(("XADD", key, f"{n + 1}-{n % 5}", *fields))
            commands += [("XINFO", "STREAM", key), ("DUMP", key)]
        oracle.check_many(commands)
    oracle.check("CONFIG", "SET", "stream-node-max-bytes", "4096")


def test_keyspace_hits_and_misses(oracle: Oracle) -> None:
    """Reads count as Redis's lookups do (XREAD looks each key up twice), writes not at all."""
    check_keyspace_traffic(
        oracle,
        [
            (("XADD", "s", "1-1", "f", "v"), (0, 0)),
            (("XLEN", "s"), (1, 0)),
            (("XLEN", "nokey"), (0, 1)),
            (("XRANGE", "s", "-", "+"), (1, 0)),
            (("XREVRANGE", "nokey", "+", "-"), (0, 1)),
            (("XREAD", "STREAMS", "s", "nokey", "0", "0"), (2, 2)),
            (("XREAD", "STREAMS", "s", "$"), (2, 0)),
            (("XINFO", "STREAM", "s"), (1, 0)),
            (("XDEL", "s", "1-1"), (0, 0)),
            (("XTRIM", "s", "MAXLEN", "0"), (0, 0)),
            (("XSETID", "s", "5-5"), (0, 0)),
        ],
    )


# -- seeded random sequences --------------------------------------------------------------------
KEYS = ["s1", "s2", "s3"]


def _some_id(rng: random.Random, top: int) -> str:
    roll = rng.random()
    if roll < 0.1:
        return rng.choice(["-", "+"])
    if roll < 0.25:
        return str(rng.randint(0, top))
    return f"{rng.randint(0, top)}-{rng.randint(0, 3)}"


def random_command(rng: random.Random, state: dict[str, int]) -> Command:
    """One stream command; ``state`` keeps the next millisecond per key so most XADDs work."""
    key = rng.choice(KEYS)
    top = state.get(key, 1)
    roll = rng.random()
    if roll < 0.45:
        state[key] = top + rng.randint(0, 2)
        fields: list[Arg] = []
        shape = rng.random()
        for index in range(rng.randint(1, 3)):
            name = f"f{index}" if shape < 0.7 else rng.choice(["a", "b", "c", "123", "-5"])
            size = rng.choice([0, 1, 3, 10, 70, 300])
            fields += [name, rng.choice(["", "12", "-7", "x" * size, str(rng.randint(0, 10**9))])]
        options: list[Arg] = []
        trim = rng.random()
        if trim < 0.15:
            options = ["MAXLEN", rng.choice(["~", "=", "~"]), rng.randint(0, 60)]
        elif trim < 0.22:
            options = ["MINID", rng.choice(["~", "="]), str(max(0, top - rng.randint(0, 20)))]
        if options and options[1] == "~" and rng.random() < 0.3:
            options += ["LIMIT", rng.randint(0, 30)]
        ident = rng.choice([f"{top}-*", f"{top}-{rng.randint(0, 5)}", f"{top}"])
        return ("XADD", key, *options, ident, *fields)
    if roll < 0.55:
        return ("XDEL", key, *[_some_id(rng, top) for _ in range(rng.randint(1, 4))])
    if roll < 0.62:
        strategy = rng.choice(["MAXLEN", "MINID"])
        threshold: Arg = rng.randint(0, 40) if strategy == "MAXLEN" else _some_id(rng, top)
        return ("XTRIM", key, strategy, rng.choice(["~", "="]), threshold)
    if roll < 0.72:
        name = rng.choice(["XRANGE", "XREVRANGE"])
        bounds = [_some_id(rng, top), _some_id(rng, top)]
        if rng.random() < 0.3:
            bounds[0] = "(" + bounds[0]
        extra: list[Arg] = ["COUNT", rng.randint(0, 5)] if rng.random() < 0.5 else []
        return (name, key, *bounds, *extra)
    if roll < 0.78:
        return ("XREAD", "COUNT", rng.randint(1, 4), "STREAMS", key, _some_id(rng, top))
    if roll < 0.84:
        return ("XINFO", "STREAM", key, *rng.choice([(), ("FULL",), ("FULL", "COUNT", 3)]))
    if roll < 0.88:
        return ("XSETID", key, f"{top + rng.randint(-2, 2)}-{rng.randint(0, 9)}")
    if roll < 0.93:
        return ("XLEN", key)
    return ("CONFIG", "SET", "stream-node-max-entries", rng.choice([3, 5, 100]))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_sequences(no_compression: Oracle, seed: int) -> None:
    """A few hundred random commands; after them each stream's DUMP is Redis's, byte for
    byte (the same entries, flags, counters and node boundaries)."""
    oracle = no_compression
    rng = random.Random(seed)
    state: dict[str, int] = {}
    if seed == 3:
        oracle.check("CONFIG", "SET", "stream-node-max-bytes", "300")
    try:
        commands = [random_command(rng, state) for _ in range(250)]
        oracle.check_many(commands)
        for key in KEYS:
            oracle.check("DUMP", key)
            oracle.check("XINFO", "STREAM", key, "FULL", "COUNT", "0")
    finally:
        oracle.check("CONFIG", "SET", "stream-node-max-entries", "100")
        oracle.check("CONFIG", "SET", "stream-node-max-bytes", "4096")


def test_restore_of_each_others_dumps(no_compression: Oracle) -> None:
    """A stream dumped by Redis restores in Zyst and the other way round, to the same
    entries and counters."""
    oracle = no_compression
    rng = random.Random(7)
    state: dict[str, int] = {}
    oracle.check_many([random_command(rng, state) for _ in range(150)])
    for key in KEYS:
        ours, theirs = oracle.run("DUMP", key)
        payload = parse_reply(theirs)
        if payload is None:
            continue
        assert ours == theirs
        oracle.check("RESTORE", key + "-copy", "0", payload)
        oracle.check("XRANGE", key + "-copy", "-", "+")
        oracle.check("XINFO", "STREAM", key + "-copy", "FULL")


# -- keyspace events ----------------------------------------------------------------------------
def _subscribe(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(b"*2\r\n$10\r\nPSUBSCRIBE\r\n$1\r\n*\r\n")
    wait_until(lambda: _peek(sock), "subscribe reply")
    sock.recv(65536)
    return sock


def _peek(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        return bool(sock.recv(1, socket.MSG_PEEK))
    except BlockingIOError:
        return False
    finally:
        sock.setblocking(True)


def _drain(sock: socket.socket, until: bytes) -> bytes:
    data = b""
    sock.settimeout(30)
    while until not in data:
        data += sock.recv(65536)
    return data


@pytest.fixture
def ports(zyst_proc: ServerProcess, redis_server: ServerProcess) -> tuple[int, int]:
    """The ports of Zyst and of redis-server."""
    return zyst_proc.port, redis_server.port


@pytest.fixture
def no_compression(oracle: Oracle) -> Iterator[Oracle]:
    """DUMP payloads uncompressed on both sides: Zyst's LZF output may differ from Redis's
    (both valid); the stream encoding inside is what these tests compare."""
    oracle.check("CONFIG", "SET", "rdbcompression", "no")
    try:
        yield oracle
    finally:
        oracle.check("CONFIG", "SET", "rdbcompression", "yes")


def test_keyspace_events(oracle: Oracle, ports: tuple[int, int]) -> None:
    oracle.check("CONFIG", "SET", "notify-keyspace-events", "KEAn")
    watchers = [_subscribe(port) for port in ports]
    try:
        oracle.check_all(
            ("XADD", "s", "1-1", "f", "v"),
            ("XADD", "s", "MAXLEN", "1", "2-1", "f", "v"),
            ("XADD", "s", "MAXLEN", "5", "3-1", "f", "v"),
            ("XDEL", "s", "1-1"),
            ("XDEL", "s", "3-1"),
            ("XTRIM", "s", "MAXLEN", "0"),
            ("XTRIM", "s", "MAXLEN", "0"),
            ("XSETID", "s", "9-9"),
            ("XADD", "t", "NOMKSTREAM", "1-1", "f", "v"),
            ("SET", "end", "x"),
        )
        ours, theirs = (_drain(sock, b"end\r\n") for sock in watchers)
        assert ours == theirs
    finally:
        for sock in watchers:
            sock.close()
        oracle.check("CONFIG", "SET", "notify-keyspace-events", "")


# -- blocking -----------------------------------------------------------------------------------
def _blocked(port: int, count: int) -> None:
    def enough() -> bool:
        with RawConnection(port) as c:
            info = c.command("INFO", "clients").decode()
        return f"blocked_clients:{count}\r" in info

    wait_until(enough, f"{count} blocked clients")


def test_blocked_xread_wakes_in_order(oracle: Oracle, ports: tuple[int, int]) -> None:
    """Several clients block on streams; one XADD serves those waiting on its key, first
    blocked first, each with the entries after its own ID (``$`` taken when it blocked)."""
    oracle.check_all(("XADD", "a", "1-1", "f", "old"), ("XADD", "b", "1-1", "f", "old"))
    clients = [[RawConnection(port) for port in ports] for _ in range(4)]
    try:
        waits: list[Command] = [
            ("XREAD", "BLOCK", "0", "STREAMS", "a", "$"),
            ("XREAD", "BLOCK", "0", "STREAMS", "b", "a", "$", "$"),
            ("XREAD", "COUNT", "1", "BLOCK", "0", "STREAMS", "c", "a", "0", "1-1"),
            ("XREAD", "BLOCK", "0", "STREAMS", "c", "$"),
        ]
        for n, (pair, wait) in enumerate(zip(clients, waits, strict=True)):
            for conn in pair:
                conn.send_raw(_encode(wait))
            for port in ports:
                _blocked(port, n + 1)
        oracle.check("XADD", "a", "2-1", "f", "new", "g", "more")
        for index in (0, 1, 2):
            ours, theirs = (conn.read_reply() for conn in clients[index])
            assert ours == theirs
            assert b"2-1" in ours
        oracle.check("XADD", "c", "5-1", "f", "c-new")
        ours, theirs = (conn.read_reply() for conn in clients[3])
        assert ours == theirs and b"c-new" in ours
    finally:
        for pair in clients:
            for conn in pair:
                conn.close()


def test_blocked_xread_times_out_and_ignores_other_types(
    oracle: Oracle, ports: tuple[int, int]
) -> None:
    pair = Pair(oracle)
    pair.send(("XREAD", "BLOCK", "50", "STREAMS", "s", "$"))
    assert pair.read(1) == [b"*-1\r\n"]
    watcher = [RawConnection(port) for port in ports]
    try:
        for conn in watcher:
            conn.send_raw(_encode(("XREAD", "BLOCK", "0", "STREAMS", "k", "0")))
        for port in ports:
            _blocked(port, 1)
        oracle.check("LPUSH", "k", "x")
        oracle.check("DEL", "k")
        oracle.check("XADD", "k", "1-1", "f", "v")
        ours, theirs = (conn.read_reply() for conn in watcher)
        assert ours == theirs and b"1-1" in ours
    finally:
        for conn in watcher:
            conn.close()


def test_a_reader_left_waiting_does_not_hold_back_the_next(
    oracle: Oracle, ports: tuple[int, int]
) -> None:
    """Each blocked reader of a stream is served on its own: the first in line, waiting for
    entries after an ID far ahead, stays blocked while the one behind it gets the new entry;
    and a reader whose stream gets an entry added and deleted in one MULTI is answered with an
    empty array for that stream (its last ID passed the reader's), as Redis answers."""
    oracle.check("XADD", "s", "5-1", "f", "v")
    ahead, behind, emptied = ([RawConnection(port) for port in ports] for _ in range(3))
    try:
        for conn in ahead:
            conn.send_raw(_encode(("XREAD", "BLOCK", "0", "STREAMS", "s", "999999-0")))
        for port in ports:
            _blocked(port, 1)
        for conn in behind:
            conn.send_raw(_encode(("XREAD", "BLOCK", "0", "STREAMS", "s", "5-1")))
        for port in ports:
            _blocked(port, 2)
        oracle.check("XADD", "s", "10-1", "f", "w")
        ours, theirs = (conn.read_reply() for conn in behind)
        assert ours == theirs and b"10-1" in ours
        for conn in emptied:
            conn.send_raw(_encode(("XREAD", "BLOCK", "0", "STREAMS", "s", "10-1")))
        for port in ports:
            _blocked(port, 2)
        oracle.check_all(
            ("MULTI",), ("XADD", "s", "11-1", "f", "x"), ("XDEL", "s", "11-1"), ("EXEC",)
        )
        ours, theirs = (conn.read_reply() for conn in emptied)
        assert ours == theirs == b"*1\r\n*2\r\n$1\r\ns\r\n*0\r\n"
        for port in ports:
            _blocked(port, 1)  # the reader far ahead still waits
    finally:
        for conn in (*ahead, *behind, *emptied):
            conn.close()


def _encode(command: Command) -> bytes:
    return encode_command([a if isinstance(a, bytes) else str(a).encode() for a in command])
