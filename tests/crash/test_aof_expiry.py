"""Expiry and the AOF over real sockets, compared with redis-server: a key that expires leaves
``DEL`` in the file (with a ``SELECT`` of its database), byte for byte as Redis writes it, and a
restart brings back neither an expired key nor less than what was acknowledged before the
deadline passed.

The in-process tests with a settable clock (``tests/unit/test_expiry_aof.py``) pin which path
expires a key; here the servers' own clocks run, and the tests only wait (by polling) for what
must happen sooner or later.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path

from tests.conftest import RawConnection, aof_incr_bytes, aof_pair, redis_process, zyst_process
from tests.unit.test_expiry_aof import Command, expiring_key_in_db_3, resp


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, f"still waiting for {what}"
        time.sleep(0.005)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def redis_incr_file(directory: Path) -> Path:
    """The one ``*.incr.aof`` of a Redis 7 ``appendonlydir``."""
    (incr,) = (directory / "appendonlydir").glob("*.incr.aof")
    return incr


def test_expired_keys_leave_del_in_the_aof_as_in_redis(tmp_path: Path) -> None:
    with aof_pair(tmp_path) as (zyst, real), contextlib.ExitStack() as connections:
        ports = {"zyst": zyst.port, "redis": real.port}
        main = {
            name: connections.enter_context(RawConnection(port)) for name, port in ports.items()
        }
        in_db_3 = {
            name: connections.enter_context(RawConnection(port)) for name, port in ports.items()
        }
        # A deadline far enough ahead that it is still to come when PEXPIREAT runs.
        active_deadline = now_ms() + 500
        writes = expiring_key_in_db_3(active_deadline)
        for conn in main.values():
            assert conn.pipeline(writes) == [
                b"+OK\r\n",
                b"+OK\r\n",
                b"+OK\r\n",
                b":1\r\n",
                b"+OK\r\n",
                b"+OK\r\n",
            ]
        for conn in in_db_3.values():
            assert conn.command("SELECT", 3) == b"+OK\r\n"
        # DBSIZE expires nothing itself: once it says 0, the active cycle removed the key.
        for conn in in_db_3.values():
            wait_for(lambda c=conn: c.command("DBSIZE") == b":0\r\n", "the active expiry")  # type: ignore[misc]
        lazy_deadline = now_ms() + 500
        for conn in main.values():
            assert conn.pipeline(
                [("SET", "c", "3"), ("SET", "j", "v"), ("PEXPIREAT", "j", lazy_deadline)]
            ) == [b"+OK\r\n", b"+OK\r\n", b":1\r\n"]
        # GET expires the key itself, unless the active cycle came first: the file is the same.
        for conn in main.values():
            wait_for(lambda c=conn: c.command("GET", "j") == b"$-1\r\n", "j to expire")  # type: ignore[misc]
            assert conn.command("SET", "d", "4") == b"+OK\r\n"

        expected = resp(
            ("SELECT", 0),
            *writes,
            ("SELECT", 3),
            ("DEL", "k"),
            ("SELECT", 0),
            ("SET", "c", "3"),
            ("SET", "j", "v"),
            ("PEXPIREAT", "j", lazy_deadline),
            ("DEL", "j"),
            ("SET", "d", "4"),
        )
        assert redis_incr_file(real.dir).read_bytes() == expected
        assert aof_incr_bytes(zyst.dir) == expected
        zyst.kill()

    with (
        zyst_process(tmp_path / "zyst", "--appendonly", "yes", port=zyst.port) as restarted,
        RawConnection(restarted.port) as conn,
    ):
        assert conn.command("DBSIZE") == b":4\r\n"
        assert conn.command("SELECT", 3) == b"+OK\r\n"
        assert conn.command("DBSIZE") == b":0\r\n"


def aof_written_before_the_deadline(past: int) -> bytes:
    """What a server appends when each key is changed again before its deadline, which has
    passed by the time the file is loaded (a crash before the deadline: no DEL)."""
    return resp(
        ("SELECT", 0),
        ("SET", "counter", "5", "PXAT", past),
        ("INCR", "counter"),
        ("SET", "kept", "v", "PXAT", past),
        ("SET", "kept", "w", "KEEPTTL"),
        ("SET", "saved", "v", "PXAT", past),
        ("PERSIST", "saved"),
        ("RPUSH", "list", "a"),
        ("PEXPIREAT", "list", past),
        ("RPUSH", "list", "b"),
        ("HSET", "hash", "f", "1"),
        ("PEXPIREAT", "hash", past),
        ("HSET", "hash", "g", "2"),
        ("SADD", "set", "a"),
        ("PEXPIREAT", "set", past),
        ("SADD", "set", "b"),
        ("SELECT", 2),
        ("SET", "elsewhere", "v", "PXAT", past),
        ("PEXPIREAT", "elsewhere", past + 1),
        ("SET", "gone", "v", "PXAT", past),
        ("DEL", "gone"),
        ("SET", "gone", "back"),
    )


def test_loading_expires_nothing_as_in_redis(tmp_path: Path) -> None:
    past = now_ms() - 60_000
    content = aof_written_before_the_deadline(past)
    zyst_dir = tmp_path / "zyst"
    zyst_dir.mkdir()
    (zyst_dir / "appendonly.aof").write_bytes(content)
    redis_dir = tmp_path / "redis"
    (redis_dir / "appendonlydir").mkdir(parents=True)
    (redis_dir / "appendonlydir" / "appendonly.aof.1.incr.aof").write_bytes(content)
    (redis_dir / "appendonlydir" / "appendonly.aof.manifest").write_text(
        "file appendonly.aof.1.incr.aof seq 1 type i\n"
    )
    probes: list[Command] = [
        ("KEYS", "*"),
        ("GET", "counter"),
        ("GET", "kept"),
        ("GET", "saved"),
        ("TTL", "saved"),
        ("LRANGE", "list", 0, -1),
        ("HGETALL", "hash"),
        ("SMEMBERS", "set"),
        ("SELECT", 2),
        ("KEYS", "*"),
        ("GET", "gone"),
        ("TTL", "gone"),
        ("EXISTS", "elsewhere"),
    ]
    replies = []
    with (
        zyst_process(zyst_dir, "--appendonly", "yes") as zyst,
        redis_process(redis_dir, "--appendonly", "yes") as real,
    ):
        for port in (zyst.port, real.port):
            with RawConnection(port) as conn:
                # Redis answers -LOADING until the file is loaded (Zyst serves no one until then).
                wait_for(lambda c=conn: c.command("PING") == b"+PONG\r\n", "the AOF to load")  # type: ignore[misc]
                replies.append(conn.pipeline(probes))
    for probe, ours, theirs in zip(probes, *replies, strict=True):
        assert ours == theirs, f"{probe}: zyst {ours!r} != redis {theirs!r}"
    # What Redis answers, spelled out: only the key made persistent before its deadline and the
    # one written again after a DEL survive.
    assert replies[0][0] == b"*1\r\n$5\r\nsaved\r\n"
    assert replies[0][-5:] == [
        b"+OK\r\n",
        b"*1\r\n$4\r\ngone\r\n",
        b"$4\r\nback\r\n",
        b":-1\r\n",
        b":0\r\n",
    ]
