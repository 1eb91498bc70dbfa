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
from zyst.persistence.aof import FsyncPolicy


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
