"""The blocking commands and the AOF: whether they pop at once or are served while waiting, they
are written as the plain command they did, byte for byte as Redis 7.0 writes its AOF (BLMOVE as
LMOVE, BRPOPLPUSH as RPOPLPUSH, BLMPOP as LPOP/RPOP key n, BZPOPMIN/BZPOPMAX as ZPOPMIN/ZPOPMAX
key, BZMPOP as ZPOPMIN/ZPOPMAX key n; a served BLMOVE with ``left``/``right`` in lower case, as
Redis then writes them), in the database of the client served; and a restart on the file
brings back every key as it was.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from tests.conftest import RawConnection, aof_incr_bytes, aof_pair, zyst_process
from tests.crash.test_aof_expiry import redis_incr_file
from tests.server.test_blocking import read_exactly, send, wait_blocked

Arg = str | int

# Popped at once: the keys hold what the commands take.
AT_ONCE: list[tuple[Arg, ...]] = [
    ("RPUSH", "l", "a", "b", "c", "d", "e", "f"),
    ("BLMOVE", "l", "d", "LeFt", "right", "0"),
    ("BLMOVE", "l", "l", "RIGHT", "LEFT", "1"),
    ("BRPOPLPUSH", "l", "d", "0"),
    ("BLMPOP", "0", "2", "none", "l", "RIGHT", "COUNT", "2"),
    ("BLMPOP", "0", "1", "l", "LEFT"),
    ("BLPOP", "none", "d", "0"),
    ("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"),
    ("BZPOPMIN", "none", "z", "0"),
    ("BZPOPMAX", "z", "0"),
    ("BZMPOP", "0", "1", "z", "MAX", "COUNT", "10"),  # takes all three left: the key goes
    ("SET", "s", "x"),
    ("BLMOVE", "l", "s", "LEFT", "LEFT", "0"),  # WRONGTYPE: nothing written
    ("BRPOPLPUSH", "l", "l", "0"),  # one element, moved onto itself
]

# Clients that wait, in the database they wait in, then what serves them.
WAITERS: list[tuple[int, tuple[Arg, ...]]] = [
    (0, ("BLMOVE", "q", "dst", "RIGHT", "LEFT", "0")),
    (0, ("BRPOPLPUSH", "dst", "dst2", "0")),  # served by the BLMOVE above, in the same pass
    (0, ("BLMPOP", "0", "2", "nothing", "q", "LEFT", "COUNT", "5")),
    (0, ("BLMOVE", "q2", "s", "LEFT", "LEFT", "0")),  # its destination is a string: WRONGTYPE
    (0, ("BZPOPMIN", "zq", "0")),
    (0, ("BZMPOP", "0", "1", "zq", "MAX", "COUNT", "2")),
    (3, ("BZPOPMAX", "z3", "0")),
    (3, ("BLPOP", "l3", "0")),
]
FILLS: list[tuple[int, tuple[Arg, ...]]] = [
    (0, ("RPUSH", "q", "1", "2", "3", "4")),
    (0, ("RPUSH", "q2", "x")),
    (0, ("ZADD", "zq", "1", "m1", "2", "m2", "3", "m3", "4", "m4")),
    (3, ("ZADD", "z3", "1", "a", "2", "b")),
    (3, ("RPUSH", "l3", "p", "q")),
]

Dump = dict[tuple[int, bytes], tuple[bytes, bytes]]


def dump(conn: RawConnection) -> Dump:
    """Every key of databases 0 and 3: its type and what it holds (raw reply bytes)."""
    out: Dump = {}
    for db in (0, 3):
        conn.command("SELECT", db)
        for key in conn.command("KEYS", "*").split(b"\r\n")[2::2]:
            kind = conn.command("TYPE", key)
            if kind == b"+list\r\n":
                value = conn.command("LRANGE", key, 0, -1)
            elif kind == b"+zset\r\n":
                value = conn.command("ZRANGE", key, 0, -1, "WITHSCORES")
            else:
                value = conn.command("GET", key)
            out[db, key] = (kind, value)
    conn.command("SELECT", 0)
    return out


def run_scenario(port: int) -> list[bytes]:
    """The commands at once, then the waiters and what serves them: every reply's bytes."""
    with RawConnection(port) as probe, contextlib.ExitStack() as stack:
        out = [probe.command(*command) for command in AT_ONCE]
        waiters = []
        for n, (db, command) in enumerate(WAITERS):
            waiter = stack.enter_context(RawConnection(port))
            assert waiter.command("SELECT", db) == b"+OK\r\n"
            send(waiter, *(str(a) for a in command))
            wait_blocked(probe, n + 1)
            waiters.append(waiter)
        for db, command in FILLS:
            probe.command("SELECT", db)
            out.append(probe.command(*command))
        probe.command("SELECT", 0)
        wait_blocked(probe, 0)
        return out + [read_exactly(waiter, 1) for waiter in waiters]


def test_blocking_commands_reach_the_aof_as_what_they_did(tmp_path: Path) -> None:
    with aof_pair(tmp_path) as (zyst, real):
        replies = run_scenario(zyst.port)
        assert replies == run_scenario(real.port)
        with RawConnection(zyst.port) as ours, RawConnection(real.port) as theirs:
            before = dump(ours)
            assert before == dump(theirs)
        aof = aof_incr_bytes(zyst.dir)
        assert aof == redis_incr_file(real.dir).read_bytes()
        zyst.kill()  # no shutdown: the file as written is all there is
    for blocking in (b"BLMOVE", b"BRPOPLPUSH", b"BLMPOP", b"BZPOPMIN", b"BZPOPMAX", b"BZMPOP"):
        assert blocking not in aof.upper()
    # The served BLMOVE, as Redis writes it then.
    assert b"$5\r\nLMOVE\r\n$1\r\nq\r\n$3\r\ndst\r\n$5\r\nright\r\n$4\r\nleft\r\n" in aof
    with (
        zyst_process(tmp_path / "zyst", "--appendonly", "yes", port=zyst.port) as restarted,
        RawConnection(restarted.port) as conn,
    ):
        assert dump(conn) == before
