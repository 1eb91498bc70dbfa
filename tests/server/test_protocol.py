"""The wire protocol through a real socket: inline commands, pipelining, RESP3, and malformed
input, compared byte for byte with a real redis-server where Redis is the oracle."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest
import redis

from tests.conftest import RawConnection, ServerProcess


def exchange(port: int, payload: bytes, expect_close: bool = False) -> bytes:
    """Send raw bytes, then read until the server closes or goes quiet."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(payload)
        if not expect_close:
            sock.shutdown(socket.SHUT_WR)
        received = b""
        sock.settimeout(2 if expect_close else 5)
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            received += chunk
        return received


def both(zyst_proc: ServerProcess, redis_server: ServerProcess, payload: bytes) -> bytes:
    ours = exchange(zyst_proc.port, payload)
    theirs = exchange(redis_server.port, payload)
    assert ours == theirs, f"{payload!r}: zyst {ours!r} != redis {theirs!r}"
    return ours


def test_inline_commands(zyst_proc: ServerProcess, redis_server: ServerProcess) -> None:
    reply = both(zyst_proc, redis_server, b'PING\r\nECHO hello\r\nPING\nECHO "a b\\x41"\r\n')
    assert reply == b"+PONG\r\n$5\r\nhello\r\n+PONG\r\n$4\r\na bA\r\n"


def test_inline_empty_lines_are_ignored(
    zyst_proc: ServerProcess, redis_server: ServerProcess
) -> None:
    assert both(zyst_proc, redis_server, b"\r\n\r\n   \r\nPING\r\n") == b"+PONG\r\n"


def test_inline_unbalanced_quotes(zyst_proc: ServerProcess, redis_server: ServerProcess) -> None:
    reply = both(zyst_proc, redis_server, b'PING\r\nECHO "abc\r\nPING\r\n')
    assert reply == b"+PONG\r\n-ERR Protocol error: unbalanced quotes in request\r\n"


def test_mixed_multibulk_and_inline_in_one_packet(
    zyst_proc: ServerProcess, redis_server: ServerProcess
) -> None:
    payload = b"*1\r\n$4\r\nPING\r\nECHO x\r\n*2\r\n$4\r\nECHO\r\n$2\r\nyz\r\nPING\r\n"
    assert both(zyst_proc, redis_server, payload) == b"+PONG\r\n$1\r\nx\r\n$2\r\nyz\r\n+PONG\r\n"


@pytest.mark.parametrize(
    "payload",
    [
        b"*3000000000\r\n",
        b"*-1\r\n*1\r\n$4\r\nPING\r\n",
        b"*0\r\nPING\r\n",
        b"*1\r\n:5\r\n",
        b"*1\r\nfoo\r\n",
        b"*1\r\n$-5\r\n",
        b"*1\r\n$abc\r\n",
        b"*1\r\n$9999999999999\r\n",
        b"*abc\r\n",
        b"*2\r\n$4\r\nECHO\r\n*1\r\n$1\r\nx\r\n",
        b"PING\r\n*1\r\n$4\r\nPING\r\n*x\r\n",
    ],
)
def test_malformed_requests_match_redis(
    zyst_proc: ServerProcess, redis_server: ServerProcess, payload: bytes
) -> None:
    both(zyst_proc, redis_server, payload)


def test_too_big_inline_request(zyst_proc: ServerProcess, redis_server: ServerProcess) -> None:
    payload = b"A" * (70 * 1024)
    ours = exchange(zyst_proc.port, payload, expect_close=True)
    theirs = exchange(redis_server.port, payload, expect_close=True)
    assert ours == theirs == b"-ERR Protocol error: too big inline request\r\n"


def test_protocol_error_does_not_affect_other_clients(zyst_proc: ServerProcess) -> None:
    good = RawConnection(zyst_proc.port)
    try:
        assert good.command("SET", "survivor", "1") == b"+OK\r\n"
        exchange(zyst_proc.port, b"*1\r\n$-5\r\n")
        exchange(zyst_proc.port, b"\x00\xff garbage \r\n")
        assert good.command("GET", "survivor") == b"$1\r\n1\r\n"
    finally:
        good.close()


def test_pipeline_of_many_commands_in_one_write(zyst_proc: ServerProcess) -> None:
    conn = RawConnection(zyst_proc.port)
    try:
        count = 5000
        conn.send_raw(b"*3\r\n$5\r\nRPUSH\r\n$4\r\npipe\r\n$1\r\nx\r\n" * count)
        received = b""
        expected_last = b":%d\r\n" % count
        while not received.endswith(expected_last):
            chunk = conn.sock.recv(1 << 20)
            assert chunk
            received += chunk
        assert received == b"".join(b":%d\r\n" % n for n in range(1, count + 1))
    finally:
        conn.close()


def test_request_split_at_every_byte(zyst_proc: ServerProcess) -> None:
    conn = RawConnection(zyst_proc.port)
    try:
        payload = (
            b"*3\r\n$3\r\nSET\r\n$5\r\nsplit\r\n$10\r\n0123456789\r\n"
            b"*2\r\n$3\r\nGET\r\n$5\r\nsplit\r\n"
        )
        for byte in payload:
            conn.send_raw(bytes([byte]))
        expected = b"+OK\r\n$10\r\n0123456789\r\n"
        received = b""
        while len(received) < len(expected):
            chunk = conn.sock.recv(4096)
            assert chunk
            received += chunk
        assert received == expected
    finally:
        conn.close()


def test_resp3_after_hello(zyst_proc: ServerProcess) -> None:
    client = redis.Redis(port=zyst_proc.port, protocol=3)
    try:
        client.flushall()
        client.hset("h", mapping={"a": "1"})
        assert client.hgetall("h") == {b"a": b"1"}
        assert client.get("missing") is None
        conn = RawConnection(zyst_proc.port)
        try:
            conn.command("HELLO", "3")
            assert conn.command("GET", "missing") == b"_\r\n"
            assert conn.command("HGETALL", "h") == b"%1\r\n$1\r\na\r\n$1\r\n1\r\n"
        finally:
            conn.close()
    finally:
        client.close()


def test_huge_multibulk_count_is_not_allocated_up_front(zyst_proc: ServerProcess) -> None:
    # Within Redis's limit (INT_MAX) but far more than memory: must wait for elements, not
    # allocate, and the server must keep serving others.
    conn = RawConnection(zyst_proc.port)
    other = RawConnection(zyst_proc.port)
    try:
        conn.send_raw(b"*2000000000\r\n$4\r\nPING\r\n")
        assert other.command("PING") == b"+PONG\r\n"
    finally:
        conn.close()
        other.close()


def test_a_request_with_a_million_arguments(zyst_proc: ServerProcess) -> None:
    client = redis.Redis(port=zyst_proc.port, socket_timeout=60)
    try:
        client.delete("big")
        values = [str(n) for n in range(1_100_000)]
        assert client.rpush("big", *values) == len(values)
        assert client.lrange("big", -2, -1) == [b"1099998", b"1099999"]
        client.delete("big")
    finally:
        client.close()


@pytest.mark.parametrize("start", [b"*", b"*\x00", b"*1\r\n$"])
def test_header_line_that_never_ends_is_refused(
    zyst_proc: ServerProcess, redis_server: ServerProcess, start: bytes
) -> None:
    # Redis refuses a header line longer than 64 KB and closes the connection, however the
    # bytes arrive; Zyst must not buffer them forever.

    def send(sock: socket.socket) -> None:
        sock.sendall(start)
        try:
            for _ in range(100):
                sock.sendall(b"x" * 1024)
        except OSError:
            pass  # closed by the server, as expected

    replies = exchange_with_each((zyst_proc.port, redis_server.port), send)
    assert replies[0] == replies[1]
    assert replies[0].startswith(b"-ERR Protocol error: too big")


@pytest.mark.parametrize(
    "stream",
    [
        b"*1\rX$1\r\na\r\n*1\r\n$4\r\nECHO\r\n",
        b"*2\r\n$4\r\nECHO\r\n$1\r\r\na\r\n",
        b"*\r\r",
        b"ECHO a\x00b\r\n*1\r\n$4\r\nPING\r\n",
        b"*1\r\n\x00\r\n*1\r\n$4\r\nPING\r\n",
        b"*1\r\n$" + b"1" * 70_000 + b"\r\n",
    ],
)
def test_odd_line_ends_as_redis_reads_them(
    zyst_proc: ServerProcess, redis_server: ServerProcess, stream: bytes
) -> None:
    # Everything the server sends back until it closes, after the client stops writing.
    def send(sock: socket.socket) -> None:
        sock.sendall(stream)
        sock.shutdown(socket.SHUT_WR)

    replies = exchange_with_each((zyst_proc.port, redis_server.port), send)
    assert replies[0] == replies[1]


def exchange_with_each(
    ports: tuple[int, ...], send: Callable[[socket.socket], None]
) -> list[bytes]:
    """For each port: connect, let ``send`` write, then read everything the server sends until
    it closes the connection (or the connection breaks)."""
    replies = []
    for port in ports:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            send(sock)
            received = b""
            while True:
                try:
                    chunk = sock.recv(65536)
                except OSError:
                    break
                if not chunk:
                    break
                received += chunk
            replies.append(received)
    return replies
