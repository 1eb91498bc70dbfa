"""The hash writes of issue 15 and the AOF: a seeded sequence of hash commands (failing ones
and reads among them) on a Zyst with ``appendonly yes``, killed with SIGKILL and started again
on the same directory, comes back with every key, type, value, field order and deadline.

The file itself is checked too: it holds exactly the writes that changed something, as they
were sent (Redis propagates HSETNX, HMSET and HINCRBY unchanged), with a ``SELECT`` wherever
the database changes, and nothing of the reads (HRANDFIELD, HMGET ...) or of the commands that
failed or changed nothing.
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

import hiredis

from tests.conftest import RawConnection, aof_incr_bytes, zyst_process
from tests.oracle.test_hashes_oracle import random_command
from zyst.protocol.resp import encode_command

# A deadline far ahead, absolute so that PEXPIREAT is propagated as sent.
FAR = 4_000_000_000_000


def parse(raw: bytes) -> Any:
    reader = hiredis.Reader()
    reader.feed(raw)
    return reader.gets()


def changed_something(command: tuple[bytes, ...], reply: bytes) -> bool:
    """Whether Redis would propagate ``command`` after replying ``reply``."""
    if reply.startswith(b"-"):
        return False
    name = command[0].upper()
    if name in (b"HSETNX", b"HDEL", b"DEL", b"PEXPIREAT"):
        return reply != b":0\r\n"
    return name in (b"HSET", b"HMSET", b"HINCRBY", b"SET", b"RPUSH")


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def dump(conn: RawConnection, databases: list[int]) -> dict[tuple[int, bytes], Any]:
    """Every key of ``databases``: its type, its value (a hash as its fields in order) and the
    range its deadline lies in (from PTTL, bracketed by the clock read around it), or -1."""
    state: dict[tuple[int, bytes], Any] = {}
    for db in databases:
        assert conn.command("SELECT", db) == b"+OK\r\n"
        for key in sorted(parse(conn.command("KEYS", "*"))):
            kind = parse(conn.command("TYPE", key))
            if kind == b"hash":
                flat = parse(conn.command("HGETALL", key))
                value: Any = list(zip(flat[::2], flat[1::2], strict=True))
            elif kind == b"list":
                value = parse(conn.command("LRANGE", key, 0, -1))
            else:
                value = parse(conn.command("GET", key))
            before = now_ms()
            ttl = parse(conn.command("PTTL", key))
            after = now_ms()
            deadline = -1 if ttl < 0 else (before + ttl - 1, after + ttl + 1)
            state[db, key] = (kind, value, deadline)
    assert conn.command("SELECT", 0) == b"+OK\r\n"
    return state


def same_deadline(first: Any, second: Any) -> bool:
    if first == -1 or second == -1:
        return bool(first == second)
    return bool(first[0] <= second[1] and second[0] <= first[1])


def test_hash_writes_replay_from_the_aof(tmp_path: Path) -> None:
    rng = random.Random(150)
    expected = b""
    db = current = -1
    always = ("--appendonly", "yes", "--appendfsync", "always")
    with zyst_process(tmp_path, *always) as server, RawConnection(server.port) as conn:
        for step in range(1200):
            if step % 300 == 0:  # a second database from time to time
                current = 1 if step % 600 else 0
                assert conn.command("SELECT", current) == b"+OK\r\n"
            command = random_command(rng)
            if rng.random() < 0.03:
                command = (b"PEXPIREAT", command[1], b"%d" % (FAR + step))
            reply = conn.command(*command)
            if changed_something(command, reply):
                if db != current:
                    expected += encode_command([b"SELECT", b"%d" % current])
                    db = current
                expected += encode_command(list(command))
        before = dump(conn, [0, 1])
        server.kill()
    assert sum(kind == b"hash" for kind, _, _ in before.values()) >= 3
    assert any(deadline != -1 for _, _, deadline in before.values())
    assert aof_incr_bytes(tmp_path) == expected

    again = zyst_process(tmp_path, "--appendonly", "yes", port=server.port)
    with again as restarted, RawConnection(restarted.port) as conn:
        after = dump(conn, [0, 1])
    assert {key: state[:2] for key, state in after.items()} == {
        key: state[:2] for key, state in before.items()
    }
    for key, (_, _, deadline) in before.items():
        assert same_deadline(deadline, after[key][2]), key
