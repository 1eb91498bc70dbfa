"""Pushes (``Client.push``: output that is not the reply to the client's own command), driven
in-process through the reply gate with a real AOF writer, as tests/unit/test_reply_gate.py does:
the order of pushes and held replies, pushes into the client's own batch, and the output limit
measured on what the transport and the gate hold."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest

from tests.unit.test_reply_gate import FakeTransport, Server, send
from zyst.connection import Connection
from zyst.persistence.aof import FsyncPolicy


class BufferingTransport(FakeTransport):
    """A transport whose unsent output the test sets (a peer that does not read)."""

    def __init__(self) -> None:
        super().__init__()
        self.unsent = 0
        self.aborted = False

    def get_write_buffer_size(self) -> int:
        return self.unsent

    def abort(self) -> None:
        self.aborted = True
        self.closed = True


def connect(server: Server) -> tuple[Connection, BufferingTransport]:
    conn = Connection(server.ctx, server.propagation.hold_offset, server.gate)
    transport = BufferingTransport()
    conn.connection_made(cast(Any, transport))
    return conn, transport


@pytest.fixture
def server(tmp_path: Path) -> Server:
    return Server(tmp_path / "appendonly.aof", FsyncPolicy.ALWAYS)


MESSAGE = b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nm\r\n"


def test_a_push_waits_behind_the_replies_held_for_the_aof(server: Server) -> None:
    sub, sub_out = connect(server)
    pub, pub_out = connect(server)
    send(sub, ("HELLO", "3"), ("SUBSCRIBE", "ch"))
    server.loop.end_turn()
    sub_out.take()
    # The subscriber's write is held until the AOF has it; a message published in the same
    # turn must not overtake that reply.
    send(sub, ("SET", "k", "v"))
    send(pub, ("PUBLISH", "ch", "m"))
    assert sub_out.written == b""
    server.loop.end_turn()
    assert sub_out.take() == b"+OK\r\n" + MESSAGE
    assert pub_out.take() == b":1\r\n"


def test_a_push_to_the_running_client_joins_its_batch_in_order(server: Server) -> None:
    conn, out = connect(server)
    send(conn, ("HELLO", "3"))
    server.loop.end_turn()
    out.take()
    send(conn, ("PING",), ("SUBSCRIBE", "ch"), ("PUBLISH", "ch", "m"), ("PING",))
    server.loop.end_turn()
    assert out.take() == (
        b"+PONG\r\n>3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n" + MESSAGE + b":1\r\n+PONG\r\n"
    )


def test_held_output_counts_toward_the_limit(server: Server) -> None:
    server.ctx.config.set_many([(b"client-output-buffer-limit", b"pubsub 1000 0 0")])
    sub, sub_out = connect(server)
    pub, _ = connect(server)
    send(sub, ("HELLO", "3"), ("SUBSCRIBE", "ch"))
    server.loop.end_turn()
    sub_out.take()
    # Nothing in the transport, but a write of the subscriber's own waits at the gate and the
    # messages queue behind it: together they pass the hard limit.
    send(sub, ("SET", "k", "v"))
    send(pub, ("PUBLISH", "ch", "x" * 600))
    assert not sub_out.aborted
    send(pub, ("PUBLISH", "ch", "x" * 600))
    assert sub_out.aborted
    server.loop.end_turn()
    # Dropped: nothing it was owed is sent, and nothing more reaches it.
    assert sub_out.written == b""


def test_the_normal_class_is_unlimited_by_default(server: Server) -> None:
    conn, out = connect(server)
    out.unsent = 1 << 40
    send(conn, ("SET", "k", "v"), ("GET", "k"))
    server.loop.end_turn()
    assert not out.aborted
    server.ctx.config.set_many([(b"client-output-buffer-limit", b"normal 1mb 0 0")])
    send(conn, ("GET", "k"))
    server.loop.end_turn()
    # Replies are measured once the transport says it holds unsent bytes.
    assert not out.aborted
    conn.pause_writing()
    assert out.aborted


def test_client_list_shows_the_unsent_output_as_omem(server: Server) -> None:
    sub, sub_out = connect(server)
    other, other_out = connect(server)
    send(sub, ("CLIENT", "SETNAME", "slow"), ("SUBSCRIBE", "ch"))
    sub_out.unsent = 12345
    send(other, ("CLIENT", "LIST"))
    server.loop.end_turn()
    listing = other_out.take().decode()
    line = next(line for line in listing.splitlines() if "name=slow " in line)
    assert " omem=12345 " in line and " flags=P " in line and " sub=1 " in line
