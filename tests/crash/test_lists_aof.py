"""The list commands of issue 15 and the AOF: what they propagate, byte for byte as Redis 7.0
writes it (LMPOP as ``LPOP``/``RPOP key n``, the others as received, nothing for a command
that changed nothing), and a restart on the file brings back every key, type, value and TTL.
"""

from __future__ import annotations

import contextlib
import random
import time
from pathlib import Path

from tests.conftest import RawConnection, aof_incr_bytes, aof_pair, zyst_process
from tests.crash.test_aof_expiry import redis_incr_file
from tests.oracle.test_lists_oracle import Arg, random_command

FAR = 4_000_000_000_000  # an absolute deadline (Unix ms) well after the test

WRITES: list[tuple[Arg, ...]] = [
    ("RPUSH", "l", "a", "b", "c", "a", "d", "a", "e", "f"),
    ("PEXPIREAT", "l", FAR),
    ("RPUSH", "m", "x"),
    ("SET", "s", "v"),
    ("LPUSHX", "l", "h1", "h2"),
    ("RPUSHX", "l", "t1"),
    ("LPUSHX", "nope", "x"),  # nothing changes: nothing propagated
    ("RPUSHX", "s", "x"),  # an error: nothing propagated
    ("LSET", "l", 1, "H"),
    ("LSET", "l", -1, "T"),
    ("LSET", "l", 100, "x"),
    ("LINSERT", "l", "BEFORE", "a", "before-a"),
    ("LINSERT", "l", "after", "d", "after-d"),
    ("LINSERT", "l", "BEFORE", "nothere", "x"),
    ("LREM", "l", -1, "a"),
    ("LREM", "l", 1, "a"),
    ("LREM", "l", 0, "nothere"),
    ("LTRIM", "l", 0, -1),  # keeps everything: nothing propagated
    ("LTRIM", "l", 1, -2),
    ("LMOVE", "l", "m", "LEFT", "RIGHT"),
    ("LMOVE", "l", "l", "right", "left"),
    ("LMOVE", "nope", "m", "LEFT", "LEFT"),
    ("RPOPLPUSH", "l", "n"),
    ("RPOPLPUSH", "n", "n"),
    ("LMPOP", 2, "nope", "l", "LEFT"),
    ("LMPOP", 1, "l", "RIGHT", "COUNT", 2),
    ("LMPOP", 2, "n", "m", "left", "COUNT", 100),  # takes all of n: the key goes
    ("LMPOP", 1, "nope", "LEFT"),
    ("RPUSH", "gone", "1", "2"),
    ("LTRIM", "gone", 5, 10),  # empties it: the key goes
    ("RPUSH", "gone2", "1"),
    ("LREM", "gone2", 0, "1"),
    ("RPUSH", "gone3", "1"),
    ("RPOPLPUSH", "gone3", "m"),
    ("SELECT", 3),
    ("RPUSH", "l", "in", "db", "3"),
    ("LMPOP", 1, "l", "RIGHT"),
    ("LMOVE", "l", "other", "LEFT", "LEFT"),
    ("SELECT", 0),
]


def dump(conn: RawConnection) -> dict[tuple[int, bytes], tuple[bytes, bytes, int]]:
    """Every key of databases 0 and 3: its type, its value (LRANGE or GET) and its absolute
    deadline (0 when it has none), estimated from PTTL and this machine's clock."""
    out: dict[tuple[int, bytes], tuple[bytes, bytes, int]] = {}
    for db in (0, 3):
        assert conn.command("SELECT", db) == b"+OK\r\n"
        raw = conn.command("KEYS", "*")
        keys = raw.split(b"\r\n")[2::2]
        for key in keys:
            kind = conn.command("TYPE", key)
            read = ("LRANGE", key, 0, -1) if kind == b"+list\r\n" else ("GET", key)
            value = conn.command(*read)
            pttl = int(conn.command("PTTL", key)[1:-2])
            deadline = 0 if pttl < 0 else time.time_ns() // 1_000_000 + pttl
            out[db, key] = (kind, value, deadline)
    assert conn.command("SELECT", 0) == b"+OK\r\n"
    return out


def same_dump(
    before: dict[tuple[int, bytes], tuple[bytes, bytes, int]],
    after: dict[tuple[int, bytes], tuple[bytes, bytes, int]],
) -> None:
    assert before.keys() == after.keys()
    for key, (kind, value, deadline) in before.items():
        kind_after, value_after, deadline_after = after[key]
        assert (kind, value) == (kind_after, value_after), key
        # The deadline is absolute in the file; the estimates differ by the time PTTL took.
        assert (deadline == 0) == (deadline_after == 0), key
        assert abs(deadline - deadline_after) < 10_000, key


def run_on_both(tmp_path: Path, commands: list[tuple[Arg, ...]]) -> bytes:
    """Run ``commands`` on a Zyst and a redis-server, both with an AOF, asserting the same
    replies and the same file; then restart the Zyst on its file (after SIGKILL) and check
    that it holds what it held. Returns the file."""
    with aof_pair(tmp_path) as (zyst, real), contextlib.ExitStack() as stack:
        ours = stack.enter_context(RawConnection(zyst.port))
        theirs = stack.enter_context(RawConnection(real.port))
        for command in commands:
            mine, redis_reply = ours.command(*command), theirs.command(*command)
            assert mine == redis_reply, f"{command!r}: zyst {mine!r} != redis {redis_reply!r}"
        before = dump(ours)
        same_dump(before, dump(theirs))
        aof = aof_incr_bytes(zyst.dir)
        assert aof == redis_incr_file(real.dir).read_bytes()
        zyst.kill()  # no shutdown: the file as written is all there is
    with (
        zyst_process(tmp_path / "zyst", "--appendonly", "yes", port=zyst.port) as restarted,
        RawConnection(restarted.port) as conn,
    ):
        same_dump(before, dump(conn))
    return aof


def test_writes_propagate_as_redis_and_replay(tmp_path: Path) -> None:
    aof = run_on_both(tmp_path, WRITES)
    # The rewrites Redis 7.0 makes: LMPOP leaves as the pop it was.
    assert b"LMPOP" not in aof
    assert b"*3\r\n$4\r\nLPOP\r\n$1\r\nl\r\n$1\r\n1\r\n" in aof
    assert b"*3\r\n$4\r\nRPOP\r\n$1\r\nl\r\n$1\r\n2\r\n" in aof
    assert b"*3\r\n$4\r\nLPOP\r\n$1\r\nn\r\n$1\r\n1\r\n" in aof
    # Commands that changed nothing are not in the file.
    assert b"nothere" not in aof
    assert b"LPUSHX\r\n$4\r\nnope" not in aof


def test_random_writes_propagate_as_redis_and_replay(tmp_path: Path) -> None:
    rng = random.Random(15)
    commands = [random_command(rng) for _ in range(300)]
    commands.append(("PEXPIREAT", "l", FAR))
    commands += [random_command(rng) for _ in range(100)]
    run_on_both(tmp_path, commands)
