"""MULTI, EXEC, DISCARD, WATCH and UNWATCH against real Redis 7.0: raw replies compared, with a
second connection where another client's write must make EXEC fail; and the AOF, where a
transaction must be one MULTI ... EXEC block.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from tests.conftest import Oracle, RawConnection, ServerProcess, as_argv, zyst_process
from zyst.protocol.resp import encode_command

Cmd = Sequence[bytes | str | int]


@pytest.fixture
def other(zyst_proc: ServerProcess, redis_server: ServerProcess) -> Iterator[Oracle]:
    """A second connection to each server."""
    o = Oracle(zyst_proc.port, redis_server.port)
    yield o
    o.close()


def transaction(o: Oracle, *commands: Cmd) -> bytes:
    """MULTI, ``commands`` (each answered the same by both), EXEC; EXEC's reply."""
    o.check("MULTI")
    for command in commands:
        o.check(*command)
    return o.check("EXEC")


def test_queued_commands_run_at_exec_in_order(o: Oracle) -> None:
    reply = transaction(
        o,
        ("SET", "a", "1"),
        ("INCR", "a"),
        ("GET", "a"),
        ("LPUSH", "a", "x"),  # a runtime error does not stop the rest
        ("RPUSH", "l", "x", "y"),
        ("LRANGE", "l", "0", "-1"),
        ("HSET", "h", "f", "v"),
        ("HGETALL", "h"),
        ("PING",),
    )
    assert reply.startswith(b"*9\r\n")
    o.check("GET", "a")
    assert transaction(o) == b"*0\r\n"


def test_errors_outside_and_while_queueing(oracle: Oracle) -> None:
    o = oracle
    o.check_all(("EXEC",), ("DISCARD",), ("UNWATCH",))
    o.check("MULTI")
    o.check("MULTI")  # nested: an error, the transaction goes on
    o.check("WATCH", "k")  # not allowed inside: an error, the transaction goes on
    o.check("SET", "k", "1")
    assert o.check("EXEC").startswith(b"*1\r\n")
    for refused in (("NOSUCHCOMMAND", "x"), ("GET",), ("SET", "k"), ("CONFIG",)):
        o.check("MULTI")
        o.check("SET", "k", "2")
        o.check(*refused)
        o.check("SET", "k", "3")
        assert o.check("EXEC").startswith(b"-EXECABORT")
        o.check("GET", "k")  # nothing of it ran
    o.check("MULTI")
    o.check("SET", "k", "4")
    o.check("DISCARD")
    o.check_all(("GET", "k"), ("EXEC",))


def test_a_watched_key_written_by_another_client_fails_exec(oracle: Oracle, other: Oracle) -> None:
    o = oracle
    o.check("SET", "w", "1")
    o.check("WATCH", "w")
    other.check("SET", "w", "2")
    assert transaction(o, ("SET", "w", "mine")) == b"*-1\r\n"
    o.check("GET", "w")
    # EXEC forgot the watch: the next transaction runs.
    assert transaction(o, ("SET", "w", "mine")) == b"*1\r\n+OK\r\n"


@pytest.mark.parametrize(
    "change",
    [
        ("SET", "w", "x"),
        ("DEL", "w"),
        ("UNLINK", "w"),
        ("APPEND", "w", "x"),
        ("INCR", "w"),
        ("EXPIRE", "w", "100"),
        ("RENAME", "w", "w2"),
        ("RENAME", "src", "w"),
        ("MOVE", "w", "1"),
        ("COPY", "src", "w", "REPLACE"),
        ("LPUSH", "l", "x"),
        ("RPOPLPUSH", "l", "other"),
        ("LMPOP", "2", "nolist", "l", "LEFT"),
        ("SORT", "l", "ALPHA", "STORE", "w"),
        ("SINTERSTORE", "w", "s"),
        ("FLUSHDB",),
        ("FLUSHALL",),
        ("SWAPDB", "0", "1"),
    ],
    ids=lambda c: " ".join(map(str, c)),
)
def test_every_kind_of_change_to_a_watched_key_fails_exec(
    change: Cmd, oracle: Oracle, other: Oracle
) -> None:
    o = oracle
    o.check("SET", "w", "5")
    o.check("SET", "src", "v")
    o.check("RPUSH", "l", "a", "b")
    o.check("SADD", "s", "m")
    key = "l" if change[0] in ("LPUSH", "LMPOP", "RPOPLPUSH") else "w"
    o.check("WATCH", key)
    other.check(*change)
    assert transaction(o, ("PING",)) == b"*-1\r\n"
    o.check("SELECT", "1")
    o.check("FLUSHDB")
    o.check("SELECT", "0")


@pytest.mark.parametrize(
    "harmless",
    [
        ("GET", "w"),
        ("EXISTS", "w"),
        ("DEL", "missing"),  # DEL of a missing key changes nothing
        ("DEL", "missing", "other"),  # another key deleted: the watched one is untouched
        ("SET", "w", "x", "NX"),  # NX refused: nothing written
        ("SINTERSTORE", "dest", "w2"),  # reads its sources
        ("EXPIRE", "nokey", "10"),
        ("PERSIST", "w"),  # it had no TTL
        ("FLUSHALL",),  # the watched key did not exist
        ("SWAPDB", "1", "2"),
    ],
    ids=lambda c: " ".join(map(str, c)),
)
def test_what_leaves_a_watched_key_unchanged_lets_exec_run(
    harmless: Cmd, oracle: Oracle, other: Oracle
) -> None:
    o = oracle
    o.check("SET", "other", "1")
    watched = "missing" if harmless[0] in ("FLUSHALL", "DEL") else "w"
    if watched == "w":
        o.check("SET", "w", "1")
        o.check("SADD", "w2", "m")
    o.check("WATCH", watched)
    other.check(*harmless)
    assert transaction(o, ("PING",)) == b"*1\r\n+PONG\r\n"


def test_watch_follows_the_database_it_was_given_in(oracle: Oracle, other: Oracle) -> None:
    o = oracle
    o.check("WATCH", "k")  # in database 0
    o.check("SELECT", "1")
    other.check("SELECT", "1")
    other.check("SET", "k", "in one")
    assert transaction(o, ("PING",)) == b"*1\r\n+PONG\r\n"
    other.check("SELECT", "0")
    o.check("WATCH", "k")  # now in database 1
    other.check("SET", "k", "in zero")
    assert transaction(o, ("PING",)) == b"*1\r\n+PONG\r\n"
    o.check("FLUSHALL")


def test_unwatch_discard_and_own_writes(oracle: Oracle, other: Oracle) -> None:
    o = oracle
    o.check("WATCH", "k")
    o.check("UNWATCH")
    other.check("SET", "k", "1")
    assert transaction(o, ("PING",)) == b"*1\r\n+PONG\r\n"
    o.check("WATCH", "k")
    o.check("MULTI")
    o.check("DISCARD")  # forgets the watch too
    other.check("SET", "k", "2")
    assert transaction(o, ("PING",)) == b"*1\r\n+PONG\r\n"
    o.check("WATCH", "k")
    o.check("SET", "k", "3")  # the watcher's own write counts
    assert transaction(o, ("PING",)) == b"*-1\r\n"


def test_a_watched_key_that_expires_fails_exec(oracle: Oracle, other: Oracle) -> None:
    o = oracle
    o.check("SET", "e", "v", "PX", "50")
    o.check("WATCH", "e")
    # Another client's reads find it expired (and delete it); polled, not timed, and on each
    # server on its own (their clocks pass the deadline at different moments).
    deadline = time.monotonic() + 30
    for conn in (other.zyst, other.redis):
        while conn.command("EXISTS", "e") != b":0\r\n":
            assert time.monotonic() < deadline
            time.sleep(0.02)
    assert transaction(o, ("PING",)) == b"*-1\r\n"


def test_blocking_commands_answer_at_once_inside_exec(o: Oracle) -> None:
    reply = transaction(
        o,
        ("BLPOP", "empty", "0"),
        ("BRPOP", "empty", "0"),
        ("BRPOPLPUSH", "empty", "dst", "0"),
        ("BLMOVE", "empty", "dst", "LEFT", "LEFT", "0"),
        ("BZPOPMIN", "emptyz", "0"),
        ("BLMPOP", "0", "1", "empty", "LEFT"),
        ("RPUSH", "full", "x"),
        ("BLPOP", "full", "0"),
    )
    assert reply.count(b"\r\n") > 8


def test_clients_blocked_on_a_key_are_served_after_the_transaction(
    oracle: Oracle, zyst_proc: ServerProcess, redis_server: ServerProcess
) -> None:
    o = oracle
    waiters = [RawConnection(zyst_proc.port), RawConnection(redis_server.port)]
    try:
        for waiter in waiters:
            waiter.send_raw(b"*3\r\n$5\r\nBLPOP\r\n$1\r\nq\r\n$1\r\n0\r\n")
        deadline = time.monotonic() + 30
        while any(b"blocked_clients:1" not in r for r in o.run("INFO", "clients")):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        # The push and the pop inside EXEC run together: the waiter gets nothing of them.
        assert transaction(o, ("RPUSH", "q", "a"), ("LPOP", "q")) == b"*2\r\n:1\r\n$1\r\na\r\n"
        o.check("RPUSH", "q", "b")
        assert [w.read_reply() for w in waiters] == [b"*2\r\n$1\r\nq\r\n$1\r\nb\r\n"] * 2
    finally:
        for waiter in waiters:
            waiter.close()


def test_exec_reaches_the_aof_as_one_block(tmp_path: Path) -> None:
    with (
        zyst_process(tmp_path, "--appendonly", "yes", "--appendfsync", "always") as server,
        RawConnection(server.port) as c,
    ):
        c.pipeline(
            [
                ("MULTI",),
                ("SET", "a", "1"),
                ("INCR", "a"),
                ("SORT", "nolist", "STORE", "a"),  # an empty result: propagated as DEL
                ("GET", "a"),
                ("EXEC",),
                ("MULTI",),
                ("GET", "a"),  # a transaction that writes nothing is not written
                ("EXEC",),
                ("MULTI",),
                ("SET", "b", "2"),  # one write alone is atomic: Redis 7.0 writes it bare
                ("EXEC",),
            ]
        )
    aof = b"".join(p.read_bytes() for p in sorted(tmp_path.rglob("*.aof")))
    words = [line for line in aof.split(b"\r\n") if line and line[:1] not in (b"*", b"$")]
    names = [w.upper() for w in words if w.upper() in (b"MULTI", b"EXEC", b"SET", b"INCR", b"DEL")]
    assert names == [b"MULTI", b"SET", b"INCR", b"DEL", b"EXEC", b"SET"]
    with zyst_process(tmp_path, "--appendonly", "yes") as server, RawConnection(server.port) as c:
        assert c.pipeline([("EXISTS", "a"), ("GET", "b")]) == [b":0\r\n", b"$1\r\n2\r\n"]


def _exchange(conn: RawConnection, commands: list[Cmd], end: bytes) -> bytes:
    """Send ``commands`` in one write; every byte that comes back until the stream ends with
    ``end``."""
    conn.send_raw(b"".join(encode_command(as_argv(c)) for c in commands))
    raw = b""
    while not raw.endswith(end):
        chunk = conn.sock.recv(65536)
        assert chunk, raw
        raw += chunk
    return raw


@pytest.mark.parametrize("protocol", ["2", "3"])
def test_what_a_transaction_pushes_to_its_own_client_sits_inside_exec(
    protocol: str, zyst_proc: ServerProcess, redis_server: ServerProcess
) -> None:
    commands: list[Cmd] = [
        ("HELLO", protocol),
        ("MULTI",),
        ("SET", "x", "1"),
        ("SUBSCRIBE", "tx-chan"),
        ("PUBLISH", "tx-chan", "to myself"),
        ("EXEC",),
        ("PING", "zz-end"),
    ]
    streams = []
    for port in (zyst_proc.port, redis_server.port):
        with RawConnection(port) as conn:
            raw = _exchange(conn, commands, b"zz-end\r\n")
            # HELLO's reply names each server: compare from MULTI's +OK on.
            streams.append(raw[raw.index(b"+OK\r\n+QUEUED") :])
    assert streams[0] == streams[1]
    assert b"to myself" in streams[0]


def test_exec_refused_before_it_runs_discards_the_transaction(oracle: Oracle) -> None:
    """EXEC with the wrong arity answers EXECABORT with the reason and discards the
    transaction, inside MULTI or not (Redis's execCommandAbort); DISCARD's arity error is a
    plain error. The counters move as Redis's do."""
    oracle.check("CONFIG", "RESETSTAT")
    replies = oracle.check_many(
        [
            ("EXEC", "x"),
            ("MULTI",),
            ("SET", "a", "1"),
            ("EXEC", "x"),
            ("EXEC",),
            ("GET", "a"),
            ("MULTI",),
            ("DISCARD", "x"),
            ("EXEC",),
        ]
    )
    assert replies[0] == (
        b"-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' "
        b"command\r\n"
    )

    def counters(raw: bytes) -> list[bytes]:
        lines = [
            line for line in raw.split(b"\r\n") if line.startswith((b"errorstat", b"cmdstat_"))
        ]
        # (Durations differ: only the counts are compared.)
        return sorted(re.sub(rb"usec=\d+,usec_per_call=[\d.]+,", b"", line) for line in lines)

    ours, theirs = (counters(raw) for raw in oracle.run("INFO", "all"))
    assert ours == theirs
