"""DUMP and RESTORE against redis-server: the same payload bytes for the same values, every
option and error of RESTORE answered alike, TTLs (relative, ABSTTL, already past), the access
clocks IDLETIME and FREQ set, the encodings kept, keyspace events, WATCH, blocked clients and
what reaches the AOF."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.conftest import (
    Oracle,
    RawConnection,
    ServerProcess,
    aof_pair,
    check_sequence,
    parse_reply,
)
from tests.oracle.test_keyevents_oracle import redis_events
from zyst.persistence import rdb

# Values of every type in each of its encodings, written the same way on both servers.
FILL: list[tuple[str | int, ...]] = [
    ("SET", "s:int", "12345"),
    ("SET", "s:neg", "-9000000000"),
    ("SET", "s:embstr", "hello"),
    ("SET", "s:lzf", "a" * 200),
    ("SET", "s:raw", bytes(range(256)).hex()),
    ("SET", "s:empty", ""),
    ("SET", "s:float", "3.25"),
    ("APPEND", "s:appended", "abc"),
    ("RPUSH", "l:small", "a", "1", "-2", "300000", "x" * 70),
    ("HSET", "h:small", "f", "v", "n", "12", "big", "9" * 19),
    ("HSET", "h:long", "f", "v" * 65),
    ("SADD", "set:int16", "1", "2", "-3"),
    ("SADD", "set:int32", "1", "70000"),
    ("SADD", "set:int64", "1", "-5000000000"),
    ("SADD", "set:strings", "a"),
    ("ZADD", "z:small", "1", "a", "2.5", "b", "-inf", "c", "inf", "d", "1e300", "e"),
    ("ZADD", "z:long", "1", "m" * 65, "2", "b"),
]
BIG_FILL: list[tuple[str | int, ...]] = [
    ("RPUSH", "l:big", *[f"element {i}" * (1 + i % 3) for i in range(3000)]),
    # Pushed at the head: Redis's nodes fill the other way (compared as restored, not as bytes).
    ("LPUSH", "l:lpushed", *[f"e{i}" for i in range(3000)]),
    ("HSET", "h:big", *[f"f{i}" if j == 0 else f"v{i}" for i in range(200) for j in (0, 1)]),
    ("SADD", "set:bigint", *[str(i) for i in range(600)]),
    ("ZADD", "z:big", *[f"{i / 7}" if j == 0 else f"m{i}" for i in range(200) for j in (0, 1)]),
]


def payloads(conn: RawConnection, keys: list[str]) -> dict[str, bytes]:
    return {key: parse_reply(conn.command("DUMP", key)) for key in keys}


def test_dump_gives_redis_bytes_for_every_encoding(oracle: Oracle) -> None:
    for command in FILL + BIG_FILL:
        oracle.check(*command)
    keys = [str(command[1]) for command in FILL + BIG_FILL]
    for key in keys:
        # A hash table's order is Redis's own: big hashes and sets are compared as restored.
        if key in ("h:big", "set:bigint", "set:strings", "l:lpushed"):
            continue
        oracle.check("DUMP", key)
    oracle.check("DUMP", "nokey")
    ours = payloads(oracle.zyst, keys)
    theirs = payloads(oracle.redis, keys)
    for key in keys:
        assert ours[key][0] == theirs[key][0], key  # the same RDB type
    # Each server restores the other's payload of every key, with the same value as a result.
    oracle.check("FLUSHALL")
    for key in keys:
        assert oracle.zyst.command("RESTORE", key, 0, theirs[key]) == b"+OK\r\n"
        assert oracle.redis.command("RESTORE", key, 0, ours[key]) == b"+OK\r\n"
    for key in keys:
        oracle.check("OBJECT", "ENCODING", key)
        oracle.check("TYPE", key)
    for key in keys:
        kind = parse_reply(oracle.zyst.command("TYPE", key)).decode()
        read = {
            "string": ("GET", key),
            "list": ("LRANGE", key, 0, -1),
            "hash": ("HGETALL", key),
            "set": ("SMEMBERS", key),
            "zset": ("ZRANGE", key, 0, -1, "WITHSCORES"),
        }[kind]
        ours_value, theirs_value = (parse_reply(raw) for raw in oracle.run(*read))
        if kind in ("hash", "set"):
            ours_value, theirs_value = sorted(ours_value), sorted(theirs_value)
        assert ours_value == theirs_value, key


def test_dump_follows_the_encoding_redis_keeps(oracle: Oracle) -> None:
    # A hash made big by a long value and then shrunk stays a hashtable in Redis, and a
    # sorted set that became compact by CONFIG SET's new thresholds is still a skiplist.
    commands: list[tuple[str | int, ...]] = [
        ("HSET", "h", "f", "v" * 100, "g", "w"),
        ("HSET", "h", "f", "short"),
        ("OBJECT", "ENCODING", "h"),
        ("HDEL", "h", "f"),  # one field left: the same bytes whatever the table's order
        ("DUMP", "h"),
        ("ZADD", "z", *[str(i) if j == 0 else f"m{i}" for i in range(3) for j in (0, 1)]),
        ("CONFIG", "SET", "zset-max-listpack-entries", "2"),
        ("OBJECT", "ENCODING", "z"),
        ("DUMP", "z"),
        ("SADD", "s", "1", "2", "3"),
        ("CONFIG", "SET", "set-max-intset-entries", "2"),
        ("OBJECT", "ENCODING", "s"),
        ("DUMP", "s"),
    ]
    try:
        check_sequence(oracle, commands, {2: b"$9\r\nhashtable\r\n", 7: b"$8\r\nlistpack\r\n"})
    finally:
        oracle.check("CONFIG", "SET", "zset-max-listpack-entries", "128")
        oracle.check("CONFIG", "SET", "set-max-intset-entries", "512")


def test_restore_options_and_errors_answer_as_redis(oracle: Oracle) -> None:
    oracle.check("SET", "foo", "bar")
    payload = parse_reply(oracle.zyst.command("DUMP", "foo"))
    bad_crc = payload[:-1] + bytes([payload[-1] ^ 1])
    newer = payload[:-10] + (11).to_bytes(2, "little") + payload[-8:]
    newer = newer[:-8] + rdb.crc64(newer[:-8]).to_bytes(8, "little")
    # A body that is no valid object, with a good footer: "Bad data format".
    truncated = rdb.payload(b"\x00\x10abc")
    unknown_type = rdb.payload(b"\x63\x01a")
    empty_set = rdb.payload(b"\x02\x00")
    commands: list[tuple[str | int | bytes, ...]] = [
        ("RESTORE", "foo", 0, payload),  # BUSYKEY
        ("RESTORE", "foo", 0, b"...", "REPLACE", "bogus"),  # options are checked first
        ("RESTORE", "foo", 0, b"..."),
        ("RESTORE", "foo", "x", b"..."),  # BUSYKEY comes before the TTL and the payload
        ("RESTORE", "new", -1, payload),
        ("RESTORE", "new", "abc", payload),
        ("RESTORE", "new", "1.5", payload),
        ("RESTORE", "new", 0, b"short"),
        ("RESTORE", "new", 0, bad_crc),
        ("RESTORE", "new", 0, newer),
        ("RESTORE", "new", 0, truncated),
        ("RESTORE", "new", 0, unknown_type),
        ("RESTORE", "new", 0, empty_set),
        ("RESTORE", "new", 0, payload, "IDLETIME"),
        ("RESTORE", "new", 0, payload, "IDLETIME", "x"),
        ("RESTORE", "new", 0, payload, "IDLETIME", "-1"),
        ("RESTORE", "new", 0, payload, "FREQ", "256"),
        ("RESTORE", "new", 0, payload, "FREQ", "-1"),
        ("RESTORE", "new", 0, payload, "FREQ", "1", "IDLETIME", "1"),
        ("RESTORE", "new", 0, payload, "IDLETIME", "1", "FREQ", "1"),
        ("RESTORE", "new", 0, payload, "REPLACE", "ABSTTL", "FREQ"),
        ("RESTORE", "new", 0, payload, "replace\0x"),  # C compares up to the NUL
        ("RESTORE", "new", 0, payload, "IdleTime", "10", "IDLETIME", "20", "absttl"),
        ("GET", "new"),
        ("TTL", "new"),
        ("RESTORE", "new", 0, payload),
        ("RESTORE", "new", 0, payload, "REPLACE"),
        ("RESTORE-ASKING", "new", 0, payload),
        ("RESTORE-ASKING", "new2", 0, payload),
        ("GET", "new2"),
        ("RESTORE", "x"),
        ("INFO", "errorstats"),
        ("INFO", "keyspace"),
    ]
    oracle.check("CONFIG", "RESETSTAT")
    check_sequence(
        oracle,
        commands,
        {
            0: b"-BUSYKEY Target key name already exists.\r\n",
            3: b"-BUSYKEY Target key name already exists.\r\n",
            4: b"-ERR Invalid TTL value, must be >= 0\r\n",
            8: b"-ERR DUMP payload version or checksum are wrong\r\n",
            10: b"-ERR Bad data format\r\n",
            15: b"-ERR Invalid IDLETIME value, must be >= 0\r\n",
            16: b"-ERR Invalid FREQ value, must be >= 0 and <= 255\r\n",
            18: b"-ERR syntax error\r\n",
            23: b"$3\r\nbar\r\n",
        },
    )


def test_ttls_relative_absolute_and_already_past(oracle: Oracle) -> None:
    oracle.check("SET", "foo", "bar")
    payload = parse_reply(oracle.zyst.command("DUMP", "foo"))
    now = int(time.time() * 1000)
    far = now + 10_000_000
    commands: list[tuple[str | int | bytes, ...]] = [
        ("RESTORE", "abs", far, payload, "ABSTTL"),
        ("PEXPIRETIME", "abs"),
        ("RESTORE", "rel", 100_000_000, payload),
        ("TTL", "rel"),
        ("RESTORE", "past", now - 1000, payload, "ABSTTL"),  # not created
        ("DBSIZE",),  # (counts a key stored past its deadline: there is none)
        ("EXISTS", "past"),
        ("RESTORE", "foo", 1, payload, "ABSTTL", "REPLACE"),  # deleted
        ("EXISTS", "foo"),
        ("RESTORE", "zero", 0, payload, "ABSTTL"),  # 0 is no TTL
        ("TTL", "zero"),
        ("RESTORE", "huge", 2**63 - 1, payload),  # wraps below now: nothing made
        ("EXISTS", "huge"),
        ("RESTORE", "wide", 2569591501, payload),  # over 32 bits
        ("EXISTS", "wide"),
        ("DBSIZE",),
    ]
    check_sequence(
        oracle,
        commands,
        {1: b":%d\r\n" % far, 5: b":3\r\n", 6: b":0\r\n", 8: b":0\r\n", 10: b":-1\r\n"},
    )
    # (Each server's own clock: compared by range.)
    for raw in oracle.run("PTTL", "wide"):
        assert 2569591501 - 10_000 <= parse_reply(raw) <= 2569591501


def test_idletime_and_freq_set_the_access_clocks(oracle: Oracle) -> None:
    oracle.check("SET", "foo", "bar")
    payload = parse_reply(oracle.zyst.command("DUMP", "foo"))
    try:
        commands: list[tuple[str | int | bytes, ...]] = [
            ("CONFIG", "SET", "maxmemory-policy", "allkeys-lru"),
            ("RESTORE", "a", 0, payload, "IDLETIME", 1000),
            ("OBJECT", "IDLETIME", "a"),
            # Larger than the 24-bit clock: Redis's wrapping arithmetic, exactly.
            ("RESTORE", "b", 0, payload, "IDLETIME", 100_000_000),
            ("OBJECT", "IDLETIME", "b"),
            ("RESTORE", "c", 0, payload, "IDLETIME", 2**62),
            ("OBJECT", "IDLETIME", "c"),
            ("RESTORE", "d", 0, payload, "FREQ", 100),  # FREQ is for LFU: ignored
            ("OBJECT", "IDLETIME", "d"),
            ("GET", "a"),
            ("OBJECT", "IDLETIME", "a"),  # the access counted
            # A key read this very second, deleted, restored idle: its next read counts too.
            ("SET", "h", "x"),
            ("GET", "h"),
            ("DEL", "h"),
            ("RESTORE", "h", 0, payload, "IDLETIME", 500),
            ("OBJECT", "IDLETIME", "h"),
            ("GET", "h"),
            ("OBJECT", "IDLETIME", "h"),
            ("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"),
            ("RESTORE", "e", 0, payload, "FREQ", 100),
            ("OBJECT", "FREQ", "e"),
            ("RESTORE", "f", 0, payload, "IDLETIME", 100),  # IDLETIME is for LRU: ignored
            ("OBJECT", "FREQ", "f"),
            ("RESTORE", "g", 0, payload, "FREQ", 0),
            ("OBJECT", "FREQ", "g"),
        ]
        check_sequence(
            oracle,
            commands,
            {2: b":1000\r\n", 10: b":0\r\n", 15: b":500\r\n", 17: b":0\r\n", 20: b":100\r\n"},
        )
    finally:
        oracle.check("CONFIG", "SET", "maxmemory-policy", "noeviction")


def test_compact_encodings_are_kept_as_redis_loads_them(oracle: Oracle) -> None:
    """A hash or sorted set dumped as a listpack by a server with larger thresholds stays a
    listpack after RESTORE unless it has too many entries; written to, it converts as Redis's
    does."""
    setup: list[tuple[str | int, ...]] = [
        ("CONFIG", "SET", "hash-max-listpack-value", "1000"),
        ("CONFIG", "SET", "zset-max-listpack-value", "1000"),
        ("CONFIG", "SET", "hash-max-listpack-entries", "1000"),
        ("CONFIG", "SET", "zset-max-listpack-entries", "1000"),
        ("HSET", "h", "f", "v" * 100, "g", "w"),
        ("ZADD", "z", "1", "m" * 100, "2", "n"),
        ("HSET", "hmany", *[f"f{i}" if j == 0 else "v" for i in range(300) for j in (0, 1)]),
    ]
    try:
        for command in setup:
            oracle.check(*command)
        dumped = payloads(oracle.redis, ["h", "z", "hmany"])
        for command in setup[:4]:
            oracle.check(*command[:3], "128" if "entries" in str(command[2]) else "64")
        oracle.check("FLUSHALL")
        commands: list[tuple[str | int | bytes, ...]] = [
            ("RESTORE", "h", 0, dumped["h"]),
            ("OBJECT", "ENCODING", "h"),
            ("RESTORE", "z", 0, dumped["z"]),
            ("OBJECT", "ENCODING", "z"),
            ("RESTORE", "hmany", 0, dumped["hmany"]),
            ("OBJECT", "ENCODING", "hmany"),
            ("HSET", "h", "x", "y"),  # short: still a listpack
            ("OBJECT", "ENCODING", "h"),
            ("ZADD", "z", "3", "o"),
            ("OBJECT", "ENCODING", "z"),
            ("HSET", "h", "x", "y" * 100),  # long: converted
            ("OBJECT", "ENCODING", "h"),
            ("ZADD", "z", "4", "p" * 100),
            ("OBJECT", "ENCODING", "z"),
        ]
        check_sequence(
            oracle,
            commands,
            {1: b"$8\r\nlistpack\r\n", 5: b"$9\r\nhashtable\r\n", 11: b"$9\r\nhashtable\r\n"},
        )
    finally:
        for name, value in (
            ("hash-max-listpack-value", "64"),
            ("zset-max-listpack-value", "64"),
            ("hash-max-listpack-entries", "128"),
            ("zset-max-listpack-entries", "128"),
        ):
            oracle.check("CONFIG", "SET", name, value)


def _events_script(payload: bytes, list_payload: bytes) -> list[tuple[str | int | bytes, ...]]:
    now = int(time.time() * 1000)
    return [
        ("RESTORE", "a", 0, payload),
        ("RESTORE", "a", 0, payload, "REPLACE"),
        ("RESTORE", "a", 1, payload, "REPLACE", "ABSTTL"),  # past: del
        ("RESTORE", "b", now - 10, payload, "ABSTTL"),  # past, nothing there: no event
        ("RESTORE", "c", 100000, payload),
        ("RESTORE-ASKING", "d", 0, list_payload),
    ]


def test_keyspace_events_as_redis(zyst_proc: ServerProcess, redis_server: ServerProcess) -> None:
    with redis.Redis(port=redis_server.port) as r:
        r.set("k", "v")
        payload = r.dump("k")
        r.rpush("l", "x")
        list_payload = r.dump("l")
        r.flushall()
    assert isinstance(payload, bytes) and isinstance(list_payload, bytes)
    script = _events_script(payload, list_payload)
    for flags in ("AKE", "KEgn", "El"):
        theirs = redis_events(redis_server.port, script, flags)  # type: ignore[arg-type]
        ours = redis_events(zyst_proc.port, script, flags)  # type: ignore[arg-type]
        assert ours == theirs, flags
        if flags == "AKE":
            assert (b"__keyevent@0__:restore", b"a") in theirs
            assert (b"__keyevent@0__:del", b"a") in theirs


def test_watch_and_blocked_clients_see_a_restored_key(
    r: redis.Redis, zyst_proc: ServerProcess
) -> None:
    r.rpush("src", "x", "y")
    payload = r.dump("src")
    assert isinstance(payload, bytes)
    with RawConnection(zyst_proc.port) as watcher, RawConnection(zyst_proc.port) as waiter:
        assert watcher.command("WATCH", "dst") == b"+OK\r\n"
        waiter.send_raw(b"*3\r\n$5\r\nBLPOP\r\n$3\r\ndst\r\n$1\r\n0\r\n")
        deadline = time.monotonic() + 10
        while r.info("clients")["blocked_clients"] != 1:
            assert time.monotonic() < deadline, "BLPOP did not block"
            time.sleep(0.01)
        assert r.restore("dst", 0, payload) == b"OK"
        assert waiter.read_reply() == b"*2\r\n$3\r\ndst\r\n$1\r\nx\r\n"
        assert watcher.command("MULTI") == b"+OK\r\n"
        assert watcher.command("GET", "x") == b"+QUEUED\r\n"
        assert watcher.command("EXEC") == b"*-1\r\n"
    assert r.lrange("dst", 0, -1) == [b"y"]


def _aof(directory: Path) -> bytes:
    """The commands a server appended: Redis 7's incr file, or Zyst's AOF (in either layout)."""
    found = list((directory / "appendonlydir").glob("*.incr.aof"))
    if found:
        return found[0].read_bytes()
    return (directory / "appendonly.aof").read_bytes()


def _commands(raw: bytes) -> list[list[bytes]]:
    out: list[list[bytes]] = []
    reader = __import__("hiredis").Reader()
    reader.feed(raw)
    while (item := reader.gets()) is not False:
        out.append(item)
    return out


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    with aof_pair(tmp_path) as servers:
        yield servers


def test_restore_reaches_the_aof_as_redis_writes_it(
    pair: tuple[ServerProcess, ServerProcess],
) -> None:
    zyst, real = pair
    with contextlib.ExitStack() as stack:
        conns = [stack.enter_context(RawConnection(s.port)) for s in (zyst, real)]
        conns[1].command("SET", "k", "v")
        payload = parse_reply(conns[1].command("DUMP", "k"))
        conns[1].command("DEL", "k")
        far = int(time.time() * 1000) + 10_000_000
        script: list[tuple[str | int | bytes, ...]] = [
            ("RESTORE", "a", 0, payload, "IDLETIME", "5"),
            ("RESTORE", "b", far, payload, "ABSTTL"),
            ("RESTORE", "c", 100_000, payload, "REPLACE", "FREQ", "3"),
            ("RESTORE", "a", 1, payload, "ABSTTL", "REPLACE"),  # past: DEL a
            ("RESTORE", "x", 1, payload, "ABSTTL"),  # past, nothing: nothing written
            ("RESTORE-ASKING", "d", 0, payload),
        ]
        before = int(time.time() * 1000)
        for command in script:
            assert conns[0].command(*command) == conns[1].command(*command), command
        after = int(time.time() * 1000)
    ours, theirs = (_commands(_aof(server.dir)) for server in (zyst, real))
    theirs = [c for c in theirs if c[:2] != [b"SET", b"k"] and c[:2] != [b"DEL", b"k"]]
    assert len(ours) == len(theirs) == 6  # SELECT and five changes
    for mine, real_one in zip(ours, theirs, strict=True):
        if real_one[1] == b"c":  # the relative TTL made absolute, ABSTTL appended
            for command in (mine, real_one):
                assert before + 100_000 <= int(command[2]) <= after + 100_000
                command[2] = b"<when>"
        assert mine == real_one
    assert theirs[3] == [b"RESTORE", b"c", b"<when>", payload, b"REPLACE", b"FREQ", b"3", b"ABSTTL"]
    assert theirs[4] == [b"DEL", b"a"]
