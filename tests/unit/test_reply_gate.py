"""The reply gate, driven in-process: bytes fed to connections, the bytes their transports are
given, and a real AOF writer whose ``os.write`` can be made to fail (no sockets, no sleeps).

The event loop is a fake whose ``call_soon`` queue the test runs by hand, so "the end of the
loop turn" is an explicit step.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import pytest

import zyst.commands  # noqa: F401  (registers every command)
from zyst.config import Config
from zyst.connection import Connection, ReplyGate
from zyst.context import ServerContext
from zyst.persistence.aof import AofWriter, FsyncPolicy
from zyst.propagation import Propagation
from zyst.protocol.resp import encode_command


class FakeLoop:
    def __init__(self) -> None:
        self.ready: list[Callable[[], None]] = []

    def call_soon(self, callback: Callable[[], None]) -> None:
        self.ready.append(callback)

    def end_turn(self) -> None:
        while self.ready:
            self.ready.pop(0)()


class FakeTransport:
    def __init__(self) -> None:
        self.written = b""
        self.closed = False

    def write(self, data: bytes) -> None:
        assert not self.closed
        self.written += data

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str) -> Any:
        return None

    def take(self) -> bytes:
        out, self.written = self.written, b""
        return out


class Disk:
    """``os.write`` that fails with ENOSPC while :attr:`full`."""

    def __init__(self) -> None:
        self.full = False
        self._write = os.write

    def write(self, fd: int, data: bytes | memoryview) -> int:
        if self.full:
            raise OSError(errno.ENOSPC, "No space left on device")
        return self._write(fd, data)


class Server:
    def __init__(self, path: Path, policy: FsyncPolicy) -> None:
        self.loop = FakeLoop()
        self.ctx = ServerContext(Config())
        self.propagation = Propagation()
        self.propagation.schedule = self.loop.call_soon
        # As the server does: a write error refuses writes.
        self.aof = AofWriter(str(path), policy, on_status=self._on_status)
        self.propagation.aof = self.aof
        self.ctx.set_propagation(self.propagation.propagate)
        loop = cast(Any, self.loop)
        self.gate = ReplyGate(loop, self.propagation.flush, self.propagation.failing)

    def _on_status(self, refusal: str | None) -> None:
        self.ctx.write_refusal = refusal

    def connect(self) -> tuple[Connection, FakeTransport]:
        conn = Connection(self.ctx, self.propagation.hold_offset, self.gate)
        transport = FakeTransport()
        conn.connection_made(cast(Any, transport))
        return conn, transport


def send(conn: Connection, *commands: tuple[str, ...]) -> None:
    conn.data_received(b"".join(encode_command([a.encode() for a in c]) for c in commands))


@pytest.fixture
def disk(monkeypatch: pytest.MonkeyPatch) -> Iterator[Disk]:
    disk = Disk()
    monkeypatch.setattr(os, "write", disk.write)
    yield disk


@pytest.fixture
def server(tmp_path: Path, disk: Disk) -> Server:
    return Server(tmp_path / "appendonly.aof", FsyncPolicy.EVERYSEC)


def test_a_write_is_answered_only_after_the_aof_write(server: Server, tmp_path: Path) -> None:
    conn, transport = server.connect()
    send(conn, ("SET", "k", "v"))
    assert transport.written == b""
    assert (tmp_path / "appendonly.aof").read_bytes() == b""
    server.loop.end_turn()
    assert b"SET" in (tmp_path / "appendonly.aof").read_bytes()
    assert transport.take() == b"+OK\r\n"


def test_a_read_in_a_turn_with_writes_waits_for_them(server: Server) -> None:
    writer, _ = server.connect()
    reader, transport = server.connect()
    send(writer, ("SET", "k", "v"))
    send(reader, ("GET", "k"))
    assert transport.written == b""
    server.loop.end_turn()
    assert transport.take() == b"$1\r\nv\r\n"


def test_a_turn_without_writes_is_not_held(server: Server) -> None:
    conn, transport = server.connect()
    send(conn, ("GET", "k"), ("PING",))
    assert transport.take() == b"$-1\r\n+PONG\r\n"
    assert server.loop.ready == []


def test_a_failed_write_holds_its_writers_in_order_and_lets_readers_go(
    server: Server, disk: Disk
) -> None:
    writer, written = server.connect()
    reader, read = server.connect()
    disk.full = True
    send(writer, ("SET", "k", "v"))
    send(reader, ("GET", "k"))
    server.loop.end_turn()
    assert written.written == b""
    assert read.take() == b"$1\r\nv\r\n"  # reads go on, as in Redis
    # The writer's next replies queue behind its held one, even a read's.
    send(writer, ("GET", "k"))
    send(writer, ("SET", "k2", "v"))
    misconf = b"-MISCONF Errors writing to the AOF file: No space left on device\r\n"
    send(reader, ("SET", "k3", "v"))
    assert read.take() == misconf
    server.loop.end_turn()
    assert written.written == b""
    disk.full = False
    server.gate.release()
    assert written.take() == b"+OK\r\n$1\r\nv\r\n" + misconf
    assert server.gate.pending() == 0
    assert server.aof.refusal is None


def test_a_batch_that_wrote_before_a_write_error_stays_held(server: Server, disk: Disk) -> None:
    """A flush that fails inside a command (after earlier commands of the batch wrote) must not
    let those writes be acknowledged."""
    conn, _ = server.connect()
    send(conn, ("SET", "k", "v"))
    disk.full = True
    server.propagation.flush()  # fails: what a flush inside a handler would do
    assert server.propagation.failing()
    assert server.propagation.hold_offset(True) == server.aof.fed
    assert server.propagation.hold_offset(False) == 0


def test_quit_behind_a_held_reply_is_answered_and_nothing_after_it_runs(
    server: Server, disk: Disk
) -> None:
    conn, transport = server.connect()
    disk.full = True
    send(conn, ("SET", "k", "v"))
    server.loop.end_turn()
    send(conn, ("QUIT",), ("CLIENT", "SETNAME", "after-quit"))
    send(conn, ("CLIENT", "SETNAME", "next-read"))
    assert conn.client is not None and conn.client.name == b""
    disk.full = False
    server.gate.release()
    assert transport.take() == b"+OK\r\n+OK\r\n"
    assert transport.closed


def test_replies_leave_once_the_aof_is_turned_off(server: Server, disk: Disk) -> None:
    conn, transport = server.connect()
    disk.full = True
    send(conn, ("SET", "k", "v"))
    server.loop.end_turn()
    assert transport.written == b""
    server.aof.close()
    server.propagation.aof = None
    server.gate.release()
    assert transport.take() == b"+OK\r\n"
