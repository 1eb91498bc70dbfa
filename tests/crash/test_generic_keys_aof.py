"""RENAME, RENAMENX, MOVE, COPY, SWAPDB, UNLINK and RANDOMKEY's removals survive a restart: the
AOF they leave, replayed, gives back the same keys, types, values and deadlines in every
database.

The workload is the seeded random sequence of the oracle tests (whose replies Redis's agree
with) plus the cases that move deadlines between keys and databases, and expired keys removed
by RANDOMKEY, whose removals the file must hold as ``DEL``.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import redis

from tests.conftest import aof_incr_bytes, zyst_process
from tests.crash.dataset import dump_dataset
from tests.oracle.test_generic_keys_oracle import FAR, random_commands

DATABASES = 16


def wait_past(deadline: int) -> None:
    limit = time.monotonic() + 30
    while time.time_ns() // 1_000_000 <= deadline + 1:
        assert time.monotonic() < limit
        time.sleep(0.01)


def test_replay_restores_every_database(tmp_path: Path) -> None:
    with zyst_process(tmp_path, "--appendonly", "yes", "--appendfsync", "always") as server:
        c = redis.Redis(port=server.port, socket_timeout=10, single_connection_client=True)
        for seed_value in (1, 2, 3, 4):
            for command in random_commands(seed_value, 400):
                # The error paths are the oracle tests' business.
                with contextlib.suppress(redis.ResponseError):
                    c.execute_command(*command)
        c.execute_command("SELECT", 0)
        c.flushdb()
        c.set("s", "v", pxat=FAR + 1)
        c.rpush("l", "a", "b")
        c.hset("h", mapping={"f": "1"})
        c.sadd("z", "m")
        c.pexpireat("h", FAR + 2)
        assert c.execute_command("COPY", "s", "s2", "DB", 5) == 1
        assert c.execute_command("COPY", "h", "h", "DB", 5) == 1
        assert c.execute_command("COPY", "l", "h", "REPLACE") == 1
        assert c.rename("s", "s3") and c.renamenx("z", "z2")
        assert c.move("s3", 6) and c.move("z2", 6)
        assert c.swapdb(6, 7) and c.swapdb(5, 5)
        assert c.unlink("l") == 1
        # Keys that expire, then removed by RANDOMKEY: the file must say so.
        c.execute_command("SELECT", 9)
        deadline = time.time_ns() // 1_000_000 + 100
        for n in range(20):
            c.set(f"doomed:{n}", "v", pxat=deadline)
        wait_past(deadline)
        assert c.randomkey() is None
        c.execute_command("SELECT", 0)
        before = dump_dataset(c, DATABASES)
        c.close()
        server.kill()

    aof = aof_incr_bytes(tmp_path)
    # As Redis 7.0: MOVE, COPY and SWAPDB propagate as received, expired keys as DEL.
    for word in (b"MOVE", b"COPY", b"SWAPDB", b"RENAME", b"RENAMENX", b"UNLINK"):
        assert b"\r\n" + word + b"\r\n" in aof.upper(), word
    for n in range(20):
        assert b"$3\r\nDEL\r\n$%d\r\ndoomed:%d\r\n" % (len(f"doomed:{n}"), n) in aof

    with zyst_process(tmp_path, "--appendonly", "yes", port=server.port) as restarted:
        c = redis.Redis(port=restarted.port, socket_timeout=10, single_connection_client=True)
        after = dump_dataset(c, DATABASES)
        c.close()
    assert len(before) >= 4  # the random part left keys in several databases
    # The deadlines went where the values went (and not where they were replaced).
    assert before[0] == {b"h": (b"list", [b"a", b"b"], -1)}
    assert before[5][b"s2"] == (b"string", b"v", FAR + 1)
    assert before[7][b"s3"] == (b"string", b"v", FAR + 1)
    assert before[5][b"h"] == (b"hash", {b"f": b"1"}, FAR + 2)
    assert 9 not in before
    assert after == before
