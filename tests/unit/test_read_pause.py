"""Reading paused by an output backlog, driven in-process (as tests/unit/test_push.py does):
the connection pauses its transport's reading once the unsent output reaches the bound, and
resumes it when the transport says it has sent everything; a client with a lower hard limit is
dropped instead; the clients cron closes idle clients and records buffer peaks."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest

from tests.unit.test_push import BufferingTransport
from tests.unit.test_reply_gate import Server, send
from zyst.clientscron import ClientsCron
from zyst.connection import READ_PAUSE_BOUND, Connection
from zyst.persistence.aof import FsyncPolicy


class PausableTransport(BufferingTransport):
    def __init__(self) -> None:
        super().__init__()
        self.reading = True

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True


def connect(server: Server) -> tuple[Connection, PausableTransport]:
    conn = Connection(server.ctx, server.propagation.hold_offset, server.gate)
    transport = PausableTransport()
    conn.connection_made(cast(Any, transport))
    return conn, transport


@pytest.fixture
def server(tmp_path: Path) -> Server:
    return Server(tmp_path / "appendonly.aof", FsyncPolicy.NO)


def test_reading_pauses_at_the_bound_and_resumes_once_all_is_sent(server: Server) -> None:
    conn, transport = connect(server)
    transport.unsent = READ_PAUSE_BOUND - 1
    conn.pause_writing()
    assert transport.reading and not conn.reading_paused
    transport.unsent = READ_PAUSE_BOUND
    send(conn, ("PING",))
    server.loop.end_turn()
    assert not transport.reading and conn.reading_paused
    transport.unsent = 0
    conn.resume_writing()
    assert transport.reading and not conn.reading_paused
    assert not transport.aborted


def test_a_lower_hard_limit_drops_the_client_before_any_pause(server: Server) -> None:
    server.ctx.config.set_many([(b"client-output-buffer-limit", b"normal 1mb 0 0")])
    conn, transport = connect(server)
    transport.unsent = READ_PAUSE_BOUND
    conn.pause_writing()
    assert transport.aborted and not conn.reading_paused


def test_the_cron_closes_the_idle_and_spares_the_subscribed(server: Server) -> None:
    server.ctx.config.set_many([(b"timeout", b"10")])
    idle, idle_transport = connect(server)
    subscriber, subscriber_transport = connect(server)
    send(subscriber, ("SUBSCRIBE", "ch"))
    server.loop.end_turn()
    cron = ClientsCron(server.ctx, [idle, subscriber])
    assert idle.client is not None
    later = idle.client.last_interaction + 11
    cron.tick(now=later, unix_now=1000.0)
    assert idle_transport.aborted and not subscriber_transport.aborted


def test_the_cron_records_the_largest_buffers_of_the_last_seconds(server: Server) -> None:
    conn, transport = connect(server)
    conn.data_received(b"*2\r\n$3\r\nGET\r\n$10\r\nabc")
    transport.unsent = 5000
    cron = ClientsCron(server.ctx, [conn])
    cron.tick(unix_now=1000.0)
    stats = server.ctx.stats
    # GET (3 bytes read) and "$10\r\nabc" not yet parsed.
    assert stats.client_recent_max_input_buffer == 3 + 8
    assert stats.client_recent_max_output_buffer == 5000
    transport.unsent = 0
    cron.tick(unix_now=1001.0)
    assert stats.client_recent_max_output_buffer == 5000  # still within the last 8 seconds
    for second in range(1002, 1009):
        cron.tick(unix_now=float(second))
    assert stats.client_recent_max_output_buffer == 0
