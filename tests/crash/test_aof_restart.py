"""Crash and restart: the AOF brings back every acknowledged write.

Each test runs its own Zyst process with its own data directory, kills it (SIGKILL: no flush,
no cleanup) or stops it, and starts a new one on the same directory.
"""

from __future__ import annotations

import glob
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from tests.conftest import ROOT, aof_files, aof_incr_bytes, redis_process, zyst_process


def client(port: int) -> redis.Redis:
    return redis.Redis(port=port, socket_timeout=10)


def test_kill_9_with_appendfsync_always_loses_nothing(tmp_path: Path) -> None:
    with zyst_process(tmp_path, "--appendonly", "yes", "--appendfsync", "always") as server:
        c = client(server.port)
        acknowledged = 0
        pipe = c.pipeline(transaction=False)
        for n in range(2000):
            c.set(f"key:{n}", f"value:{n}")
            acknowledged += 1
        for n in range(500):
            pipe.rpush("list", n)
            pipe.hset("hash", f"f{n}", n)
            pipe.sadd("set", n)
            pipe.incr("counter")
        pipe.execute()
        c.select(3)
        c.set("in-db-3", "yes")
        c.close()
        server.kill()

    with zyst_process(tmp_path, "--appendonly", "yes", port=server.port) as restarted:
        c = client(restarted.port)
        assert c.dbsize() == acknowledged + 4
        assert all(c.get(f"key:{n}") == f"value:{n}".encode() for n in range(acknowledged))
        assert c.lrange("list", 0, -1) == [str(n).encode() for n in range(500)]
        assert len(c.hgetall("hash")) == 500
        assert len(c.smembers("set")) == 500
        assert c.get("counter") == b"500"
        c.select(3)
        assert c.get("in-db-3") == b"yes"
        c.close()


def test_expiry_survives_restart_as_absolute_time(tmp_path: Path) -> None:
    with zyst_process(tmp_path, "--appendonly", "yes", "--appendfsync", "always") as server:
        c = client(server.port)
        c.set("short", "x", px=1)
        c.set("long", "y", ex=100_000)
        c.set("persisted", "z", ex=100)
        c.persist("persisted")
        c.close()
        server.kill()
    aof = aof_incr_bytes(tmp_path)
    assert b"PXAT" in aof or b"PEXPIREAT" in aof
    assert b"\r\nEX\r\n" not in aof.upper()

    with zyst_process(tmp_path, "--appendonly", "yes", port=server.port) as restarted:
        c = client(restarted.port)
        assert c.get("short") is None
        assert 99_000 < c.ttl("long") <= 100_000
        assert c.ttl("persisted") == -1
        c.close()


def test_truncated_last_command_loads_the_rest(tmp_path: Path) -> None:
    with zyst_process(tmp_path, "--appendonly", "yes", "--appendfsync", "always") as server:
        c = client(server.port)
        for n in range(10):
            c.set(f"k{n}", n)
        c.close()
    path = aof_files(tmp_path)[-1]
    whole = path.read_bytes()
    with path.open("ab") as fh:
        fh.write(b"*3\r\n$3\r\nSET\r\n$4\r\nlost\r\n$5\r\nval")  # a crash mid-write

    with zyst_process(tmp_path, "--appendonly", "yes", port=server.port) as restarted:
        c = client(restarted.port)
        assert [c.get(f"k{n}") for n in range(10)] == [str(n).encode() for n in range(10)]
        assert c.get("lost") is None
        c.set("after", "restart")
        c.close()
    log = restarted.log.read_text()
    assert "cut off" in log
    data = path.read_bytes()
    assert data.startswith(whole)
    assert b"lost" not in data
    assert b"after" in data


GOOD = b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n"  # 27 bytes


@pytest.mark.parametrize(
    ("before", "damage", "reason"),
    [
        (GOOD, b"*2\r\n$3\r\nGET\r\nXX1\r\n", "expected '$', got 'X'"),
        (GOOD * 3, b"!garbage\r\n", "expected '*', got '!'"),
        (
            GOOD * 2,
            b"*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n22\r\n",
            "expected CRLF after a bulk string at offset 61",
        ),
        (GOOD, b"*1\r\n$5\r\nNOPE!\r\n", "command NOPE! failed: Unknown command 'NOPE!'"),
    ],
    ids=["bad-bulk-header", "garbage", "bulk-too-long", "unknown-command"],
)
def test_damaged_middle_stops_the_server_naming_the_offset(
    tmp_path: Path, before: bytes, damage: bytes, reason: str
) -> None:
    legacy = tmp_path / "appendonly.aof"
    content = before + damage + GOOD
    legacy.write_bytes(content)
    # (A legacy single file: moved into the AOF directory as its base first, as Redis 7.0 does.)
    path = tmp_path / "appendonlydir" / "appendonly.aof"
    result = subprocess.run(
        [sys.executable, "-m", "zyst", "--port", "0", "--dir", str(tmp_path)],
        capture_output=True,
        timeout=30,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        check=False,
    )
    assert result.returncode == 1
    # The damaged command starts right after the good ones: that offset, and the reason,
    # exactly (a loose match passed whenever the number happened to appear in a pid or a time).
    message = f"Bad file format reading the append only file at offset {len(before)}: {reason}"
    assert result.stderr.decode() == f"zyst: {message}\n"
    last_log_line = result.stdout.decode().splitlines()[-1]
    assert re.fullmatch(
        r"\d+:M \d\d \w{3} \d{4} \d\d:\d\d:\d\d\.\d{3} # "
        + re.escape(f"Fatal error loading the AOF {path}: {message}"),
        last_log_line,
    ), last_log_line
    assert path.read_bytes() == content  # a damaged file is left for the operator, untouched


def test_second_server_on_the_same_directory_refuses(tmp_path: Path) -> None:
    with zyst_process(tmp_path, "--appendonly", "yes") as server:
        result = subprocess.run(
            [sys.executable, "-m", "zyst", "--port", "0", "--dir", str(tmp_path)],
            capture_output=True,
            timeout=30,
            env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
            check=False,
        )
        assert result.returncode != 0
        assert "in use by another Zyst server" in (result.stdout + result.stderr).decode()
        assert client(server.port).ping()


def test_aof_written_by_redis_server_loads(tmp_path: Path) -> None:
    redis_dir = tmp_path / "redis"
    with redis_process(
        redis_dir, "--appendonly", "yes", "--aof-use-rdb-preamble", "no", "--appendfsync", "always"
    ) as real:
        c = client(real.port)
        c.set("s", "string")
        c.set("ttl", "v", ex=10_000)
        c.rpush("l", "a", "b", "c")
        c.lpop("l")
        c.hset("h", mapping={"f1": "v1", "f2": "v2"})
        c.sadd("set", "x", "y")
        c.srem("set", "x")
        c.incrby("n", 41)
        c.incr("n")
        c.select(2)
        c.set("other-db", "2")
        c.close()
    pieces = sorted(glob.glob(str(redis_dir / "appendonlydir" / "*.aof")))
    base = [p for p in pieces if ".base." in p]
    incr = [p for p in pieces if ".incr." in p]
    zyst_dir = tmp_path / "zyst"
    zyst_dir.mkdir()
    with (zyst_dir / "appendonly.aof").open("wb") as out:
        for piece in base + incr:
            out.write(Path(piece).read_bytes())

    with zyst_process(zyst_dir, "--appendonly", "yes") as server:
        c = client(server.port)
        assert c.get("s") == b"string"
        assert 9_000 < c.ttl("ttl") <= 10_000
        assert c.lrange("l", 0, -1) == [b"b", b"c"]
        assert c.hgetall("h") == {b"f1": b"v1", b"f2": b"v2"}
        assert c.smembers("set") == {b"y"}
        assert c.get("n") == b"42"
        c.select(2)
        assert c.get("other-db") == b"2"
        c.close()
