"""Sorted sets through the AOF: what a server wrote, a restarted server on the same directory
reads back to the same keys, types, members, scores (as bytes) and TTLs.

Two ways into the file: the commands themselves as they are propagated (ZMPOP rewritten to
ZPOPMIN/ZPOPMAX, the rest as sent), and the snapshot that ``CONFIG SET appendonly yes`` writes
(ZADD batches).
"""

from __future__ import annotations

import random
from pathlib import Path

from tests.conftest import RawConnection, zyst_process
from tests.oracle.test_zsets_oracle import random_command

Row = tuple[bytes, bytes, bytes, bytes, int]


def dump(port: int) -> list[Row]:
    """Every key of the databases used: its type, contents (raw reply bytes) and TTL in
    seconds (-1: none)."""
    rows: list[Row] = []
    with RawConnection(port) as c:
        for db in (0, 3):
            c.command("SELECT", db)
            keys = c.command("KEYS", "*").split(b"\r\n")[2::2]
            for key in sorted(keys):
                kind = c.command("TYPE", key)
                if kind == b"+zset\r\n":
                    value = c.command("ZRANGE", key, 0, -1, "WITHSCORES")
                elif kind == b"+set\r\n":
                    value = b"".join(sorted(c.command("SMEMBERS", key).split(b"\r\n")))
                else:
                    value = c.command("GET", key)
                ttl = int(c.command("TTL", key)[1:])
                rows.append((b"%d" % db, key, kind, value, ttl))
    return rows


def assert_same(before: list[Row], after: list[Row]) -> None:
    """The same keys and values; the same TTLs, give or take the seconds the restart took."""
    assert [row[:4] for row in after] == [row[:4] for row in before]
    for old, new in zip(before, after, strict=True):
        assert (old[4] == -1) == (new[4] == -1), (old, new)
        assert 0 <= old[4] - new[4] <= 10, (old, new)


def test_zset_writes_replay_from_the_aof(tmp_path: Path) -> None:
    rng = random.Random(15)
    commands = [random_command(rng) for _ in range(1500)]
    commands += [
        ("ZADD", "big", *[a for n in range(300) for a in (n % 7 - 3.5, f"m{n}")]),
        ("ZADD", "big", "INCR", "0.1", "m1"),
        ("ZINCRBY", "big", "1e300", "m2"),
        ("ZADD", "big", "-inf", "low", "+inf", "high", "-0", "zero"),
        ("ZMPOP", "2", "nokey", "big", "MAX", "COUNT", "3"),
        ("ZMPOP", "1", "big", "MIN"),
        ("ZPOPMIN", "big", "2"),
        ("EXPIRE", "big", "1000"),
        ("ZUNIONSTORE", "u", "2", "big", "k1", "WEIGHTS", "2", "0.5", "AGGREGATE", "MAX"),
        ("ZRANGESTORE", "r", "big", "(0", "+inf", "BYSCORE", "LIMIT", "3", "50"),
        ("SELECT", "3"),
        ("ZADD", "in3", "1.5e-7", "\x00\xff"),
    ]
    with zyst_process(tmp_path, "--appendonly", "yes", "--appendfsync", "always") as server:
        with RawConnection(server.port) as c:
            c.pipeline(commands)
        before = dump(server.port)
        server.kill()
    assert any(row[2] == b"+zset\r\n" for row in before)
    aof = b"".join(p.read_bytes() for p in tmp_path.rglob("*.aof"))
    assert b"ZMPOP" not in aof.upper() and b"ZPOPMAX" in aof

    with zyst_process(tmp_path, "--appendonly", "yes", port=server.port) as restarted:
        assert_same(before, dump(restarted.port))


def test_config_set_appendonly_writes_zsets(tmp_path: Path) -> None:
    commands = [
        ("ZADD", "big", *[a for n in range(200) for a in (n / 3, f"m{n}")]),
        ("ZADD", "odd", "-inf", "a", "inf", "b", "0.1", "c", "1e300", "d", "-0", "e"),
        ("ZADD", "odd", "1.5e-7", "\x00bin\r\n", "123456789012345678", "f"),
        ("PEXPIRE", "odd", "900000"),
        ("SELECT", "3"),
        ("ZADD", "z3", "1", "x"),
    ]
    with zyst_process(tmp_path, "--appendonly", "no") as server:
        with RawConnection(server.port) as c:
            c.pipeline(commands)
            assert c.command("CONFIG", "SET", "appendonly", "yes") == b"+OK\r\n"
        before = dump(server.port)
        server.stop()
    with zyst_process(tmp_path, "--appendonly", "yes", port=server.port) as restarted:
        assert_same(before, dump(restarted.port))
