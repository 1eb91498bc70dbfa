"""A connection parked by a blocking command, driven in-process: its pipeline stays behind the
blocked command and keeps its order however the timeout, the wake-up and new bytes interleave.

The loop is the fake of test_reply_gate (its ``call_soon`` queue run by hand) with a
``call_later`` whose timers the test fires itself, so nothing depends on time.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.unit.test_reply_gate import Server, send
from zyst.blocking import Blocked, reply_without_waiting
from zyst.client import Client
from zyst.commands.table import call
from zyst.config import Config
from zyst.context import ServerContext
from zyst.persistence.aof import FsyncPolicy
from zyst.protocol.resp import encode_reply


class Timers:
    def __init__(self) -> None:
        self.pending: list[Callable[[], None]] = []

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timers:
        self.pending.append(callback)
        return self

    def cancel(self) -> None:
        self.pending.clear()

    def fire(self) -> None:
        callbacks, self.pending = self.pending, []
        for callback in callbacks:
            callback()


@pytest.fixture
def server(tmp_path: Path) -> Server:
    return Server(tmp_path / "appendonly.aof", FsyncPolicy.EVERYSEC)


@pytest.fixture
def timers(server: Server) -> Timers:
    timers = Timers()
    server.ctx.blocking.call_later = timers.call_later
    server.ctx.blocking.call_soon = server.loop.call_soon
    return timers


def test_bytes_arriving_between_a_timeout_and_the_resume_wait_their_turn(
    server: Server, timers: Timers
) -> None:
    conn, transport = server.connect()
    send(conn, ("BLPOP", "q", "1"), ("SET", "a", "1"))
    assert transport.written == b""
    timers.fire()  # the timeout: the null reply, and the resume asked for
    send(conn, ("SET", "a", "2"), ("GET", "a"))  # before the resume ran
    server.loop.end_turn()
    assert transport.take() == b"*-1\r\n+OK\r\n+OK\r\n$1\r\n2\r\n"


def test_a_push_serves_the_waiter_then_its_pipeline_runs(server: Server, timers: Timers) -> None:
    waiter, waited = server.connect()
    pusher, pushed = server.connect()
    send(waiter, ("BLPOP", "q", "0"), ("LLEN", "q"))
    send(pusher, ("RPUSH", "q", "a", "b"), ("LLEN", "q"))
    server.loop.end_turn()
    # The waiter took "a" within the RPUSH, before the pusher's LLEN; its own LLEN ran after.
    assert pushed.take() == b":2\r\n:1\r\n"
    assert waited.take() == b"*2\r\n$1\r\nq\r\n$1\r\na\r\n:1\r\n"
    assert timers.pending == []


def test_a_closed_connection_stops_waiting(server: Server, timers: Timers) -> None:
    waiter, _ = server.connect()
    pusher, pushed = server.connect()
    send(waiter, ("BLPOP", "q", "5"))
    assert len(server.ctx.blocking) == 1
    waiter.connection_lost(None)
    assert len(server.ctx.blocking) == 0 and timers.pending == []
    send(pusher, ("RPUSH", "q", "a"), ("LLEN", "q"))
    server.loop.end_turn()
    assert pushed.take() == b":1\r\n:1\r\n"


# What redis-server 7.0.15 answers inside MULTI/EXEC, where no client may wait, for each
# blocking command on missing keys (RESP2; RESP3 answers ``_`` for all of them).
AT_ONCE = [
    (("BLMOVE", "a", "b", "LEFT", "RIGHT", "0"), b"$-1\r\n"),
    (("BRPOPLPUSH", "a", "b", "0"), b"$-1\r\n"),
    (("BLPOP", "a", "0"), b"*-1\r\n"),
    (("BRPOP", "a", "0"), b"*-1\r\n"),
    (("BLMPOP", "0", "1", "a", "LEFT"), b"*-1\r\n"),
    (("BZPOPMIN", "z", "0"), b"*-1\r\n"),
    (("BZPOPMAX", "z", "0"), b"*-1\r\n"),
    (("BZMPOP", "0", "1", "z", "MIN"), b"*-1\r\n"),
]


@pytest.mark.parametrize(("command", "expected"), AT_ONCE, ids=[c[0][0] for c in AT_ONCE])
def test_where_a_client_may_not_wait_a_blocking_command_answers_at_once(
    command: tuple[str, ...], expected: bytes
) -> None:
    ctx = ServerContext(Config())
    client = Client(ctx, 1)
    reply = call(client, [a.encode() for a in command])
    assert isinstance(reply, Blocked)
    assert ctx.dirty == 0 and len(ctx.blocking) == 0
    for resp3, wire in ((False, expected), (True, b"_\r\n")):
        out: list[bytes] = []
        encode_reply(reply_without_waiting(reply), resp3, out)
        assert b"".join(out) == wire
    # A command that did not wait keeps its reply.
    assert reply_without_waiting(call(client, [b"RPUSH", b"a", b"x"])) == 1
    assert reply_without_waiting(call(client, [b"BLPOP", b"a", b"0"])) == [b"a", b"x"]
