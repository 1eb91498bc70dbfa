"""The limits a client can run into, compared byte for byte with redis-server: ``maxclients``,
``proto-max-bulk-len`` and ``client-query-buffer-limit``, at their boundaries, set by CONFIG SET
(which holds for clients already connected too), and CONFIG SET's own range errors for them.

These tests lower limits, so they run on their own pair of servers rather than the session's.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import hiredis
import pytest

from tests.conftest import RawConnection, ServerProcess, redis_process, zyst_process

MB = 1024 * 1024


class Pair:
    """One Zyst and one redis-server, for tests that change their limits."""

    def __init__(self, zyst: ServerProcess, redis: ServerProcess) -> None:
        self.servers = {"zyst": zyst, "redis": redis}

    @contextlib.contextmanager
    def connected(self) -> Iterator[dict[str, RawConnection]]:
        """A new connection to each server, closed however the block ends."""
        with contextlib.ExitStack() as stack:
            yield {
                name: stack.enter_context(RawConnection(server.port))
                for name, server in self.servers.items()
            }

    def each(self, action: Callable[[RawConnection], bytes]) -> bytes:
        """``action`` on a new connection to each server; both must give the same bytes."""
        with self.connected() as conns:
            results = {name: action(conn) for name, conn in conns.items()}
        assert results["zyst"] == results["redis"], results
        return results["zyst"]

    def config_set(self, name: str, value: str | int) -> None:
        self.each(lambda conn: conn.command("CONFIG", "SET", name, value))


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    directory: Path = tmp_path_factory.mktemp("limits")
    with (
        zyst_process(directory / "zyst", "--appendonly", "no") as zyst,
        redis_process(directory / "redis") as redis,
    ):
        yield Pair(zyst, redis)


@pytest.fixture
def limits(pair: Pair) -> Iterator[Pair]:
    """The pair, with every limit put back to its default after the test."""
    try:
        yield pair
    finally:
        pair.config_set("maxclients", 10000)
        pair.config_set("proto-max-bulk-len", "512mb")
        pair.config_set("client-query-buffer-limit", "1gb")
        pair.config_set("client-output-buffer-limit", "normal 0 0 0 pubsub 32mb 8mb 60")


def info_field(conn: RawConnection, field: str) -> int:
    reader = hiredis.Reader()
    reader.feed(conn.command("INFO", "everything"))
    text: bytes = reader.gets()
    for line in text.decode().splitlines():
        if line.startswith(field + ":"):
            return int(line.split(":", 1)[1])
    raise AssertionError(f"INFO has no {field}")


# -- maxclients ----------------------------------------------------------------------------------
def test_maxclients_refuses_the_next_connection_with_redis_bytes(limits: Pair) -> None:
    with limits.connected() as held:
        for conn in held.values():
            # The only client, once the server has seen the earlier tests' connections close.
            wait_for(lambda c=conn: info_field(c, "connected_clients") == 1)  # type: ignore[misc]
            assert conn.command("CONFIG", "SET", "maxclients", 2) == b"+OK\r\n"
        rejected = {name: info_field(conn, "rejected_connections") for name, conn in held.items()}
        received = {
            name: info_field(conn, "total_connections_received") for name, conn in held.items()
        }
        with limits.connected() as second:  # the second client fits
            for conn in second.values():
                assert conn.command("PING") == b"+PONG\r\n"
            with limits.connected() as third:  # the third does not
                refused = {name: conn.read_until_closed() for name, conn in third.items()}
            assert refused["zyst"] == refused["redis"] == b"-ERR max number of clients reached\r\n"
            for name, conn in held.items():
                assert info_field(conn, "rejected_connections") == rejected[name] + 1
                # The refused connection is not counted as received (the second one is).
                assert info_field(conn, "total_connections_received") == received[name] + 1
        # A slot freed is a slot taken again, once the server has seen the close.
        for conn in held.values():
            wait_for(lambda c=conn: info_field(c, "connected_clients") == 1)  # type: ignore[misc]
        assert limits.each(lambda conn: conn.command("PING")) == b"+PONG\r\n"


def wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.005)


# -- proto-max-bulk-len --------------------------------------------------------------------------
def echo_header(size: int) -> bytes:
    return b"*2\r\n$4\r\nECHO\r\n$%d\r\n" % size


def test_proto_max_bulk_len_at_its_boundary(limits: Pair) -> None:
    limits.config_set("proto-max-bulk-len", "1mb")

    reply = limits.each(lambda conn: _first_reply(conn, echo_header(MB) + b"x" * MB + b"\r\n"))
    assert reply == b"$%d\r\n" % MB + b"x" * MB + b"\r\n"

    def over_limit(conn: RawConnection) -> bytes:
        conn.send_raw(b"*1\r\n$4\r\nPING\r\n" + echo_header(MB + 1))
        return conn.read_until_closed()

    assert limits.each(over_limit) == b"+PONG\r\n-ERR Protocol error: invalid bulk length\r\n"


def _first_reply(conn: RawConnection, request: bytes) -> bytes:
    conn.send_raw(request)
    return conn.read_reply()


# -- client-query-buffer-limit -------------------------------------------------------------------
def test_client_query_buffer_limit_at_its_boundary(limits: Pair) -> None:
    limits.config_set("client-query-buffer-limit", "1mb")
    # Redis holds a big argument's bytes and its CRLF in the query buffer, nothing else: an
    # argument of n bytes passes while n + 2 <= limit, and is refused (the connection closed,
    # no reply) beyond.
    largest = MB - 2
    reply = limits.each(
        lambda conn: _first_reply(conn, echo_header(largest) + b"y" * largest + b"\r\n")
    )
    assert reply == b"$%d\r\n" % largest + b"y" * largest + b"\r\n"

    def refused(size: int) -> Callable[[RawConnection], bytes]:
        def action(conn: RawConnection) -> bytes:
            assert conn.command("PING") == b"+PONG\r\n"
            with contextlib.suppress(OSError):  # closed while sending: that is the refusal
                conn.send_raw(echo_header(size) + b"y" * size + b"\r\n")
            return conn.read_until_closed()

        return action

    for size in (largest + 1, MB, 2 * MB):
        assert limits.each(refused(size)) == b"", size


# -- either limit, lowered while clients are connected -------------------------------------------
@pytest.mark.parametrize(
    ("setting", "request_", "reply"),
    [
        pytest.param(
            "proto-max-bulk-len",
            echo_header(MB + 1),
            b"-ERR Protocol error: invalid bulk length\r\n",
            id="proto-max-bulk-len",
        ),
        pytest.param(
            "client-query-buffer-limit",
            echo_header(MB) + b"z" * MB + b"\r\n",
            b"",  # closed without a reply
            id="client-query-buffer-limit",
        ),
    ],
)
def test_a_lowered_limit_holds_for_open_connections(
    limits: Pair, setting: str, request_: bytes, reply: bytes
) -> None:
    with limits.connected() as opened:
        for conn in opened.values():
            assert conn.command("PING") == b"+PONG\r\n"
        limits.config_set(setting, "1mb")
        replies = {}
        for name, conn in opened.items():
            with contextlib.suppress(OSError):  # closed while sending: that is the refusal
                conn.send_raw(request_)
            replies[name] = conn.read_until_closed()
    assert replies["zyst"] == replies["redis"] == reply


# -- CONFIG SET out of range ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("maxclients", "0"),
        ("maxclients", "-1"),
        ("maxclients", "4294967296"),
        ("maxclients", "x"),
        ("proto-max-bulk-len", "1048575"),
        ("proto-max-bulk-len", "0"),
        ("proto-max-bulk-len", "-1"),
        ("proto-max-bulk-len", "1x"),
        ("client-query-buffer-limit", "1048575"),
        ("client-query-buffer-limit", "0"),
        ("client-query-buffer-limit", "-1mb"),
        ("client-query-buffer-limit", "1tb"),
    ],
)
def test_config_set_limit_out_of_range(limits: Pair, name: str, value: str) -> None:
    reply = limits.each(lambda conn: conn.command("CONFIG", "SET", name, value))
    assert reply.startswith(b"-ERR CONFIG SET failed")
    limits.each(lambda conn: conn.command("CONFIG", "GET", name))  # unchanged on both


# -- client-output-buffer-limit: replies counted as they are made ------------------------------
def test_a_reply_past_the_hard_limit_is_never_sent(limits: Pair) -> None:
    """normal 100000 (set while the client is connected): a reply of 150 KB drops the client
    before any of it is sent, though the client reads (Redis counts the reply as it makes
    it); the server goes on."""
    item = b"x" * 1000
    limits.each(
        lambda conn: conn.command("DEL", "big") + conn.command("LPUSH", "big", *[item] * 150)
    )
    with limits.connected() as askers:
        for conn in askers.values():
            conn.command("CLIENT", "SETNAME", "asker")
        limits.config_set("client-output-buffer-limit", "normal 100000 0 0")
        received = {}
        for name, conn in askers.items():
            conn.send_raw(b"*4\r\n$6\r\nLRANGE\r\n$3\r\nbig\r\n$1\r\n0\r\n$2\r\n-1\r\n")
            received[name] = conn.read_until_closed()
    assert received["zyst"] == received["redis"] == b""
    with limits.connected() as conns:
        for conn in conns.values():
            assert b"name=asker" not in conn.command("CLIENT", "LIST")


def test_a_transaction_whose_reply_passes_the_limit_runs_whole_and_gets_no_reply(
    limits: Pair,
) -> None:
    """A pipeline ending in a transaction whose EXEC reply (12 x 10 KB) passes the hard limit:
    nothing at all is sent, not even the earlier replies, and every command ran, the
    transaction completely. (Redis would not run commands sent after the one that passed the
    limit; Zyst runs the whole read, then drops the client: see README.)"""
    limits.config_set("client-output-buffer-limit", "normal 100000 0 0")
    limits.each(lambda conn: conn.command("SET", "bigkey", b"x" * 10000))
    limits.each(lambda conn: conn.command("DEL", "k0", "t"))
    pipeline = b"SET k0 0\r\nMULTI\r\nSET t v\r\n" + b"GET bigkey\r\n" * 12 + b"EXEC\r\n"

    def flood(conn: RawConnection) -> bytes:
        conn.send_raw(pipeline)
        return conn.read_until_closed()

    assert limits.each(flood) == b""
    assert limits.each(lambda conn: conn.command("MGET", "k0", "t")) == (
        b"*2\r\n$1\r\n0\r\n$1\r\nv\r\n"
    )


def test_a_reply_under_the_limit_is_sent(limits: Pair) -> None:
    limits.config_set("client-output-buffer-limit", "normal 100000 0 0")
    limits.each(lambda conn: conn.command("SET", "k", b"x" * 90000))
    assert (
        limits.each(lambda conn: conn.command("GET", "k")) == b"$90000\r\n" + b"x" * 90000 + b"\r\n"
    )


def test_a_message_past_the_pubsub_hard_limit_is_never_sent(limits: Pair) -> None:
    limits.config_set("client-output-buffer-limit", "pubsub 100000 0 0")
    with limits.connected() as subscribers, limits.connected() as publishers:
        for conn in subscribers.values():
            assert conn.command("SUBSCRIBE", "ch").startswith(b"*3\r\n")
        for name, conn in publishers.items():
            assert conn.command("PUBLISH", "ch", b"m" * 200000) == b":1\r\n", name
        received = {name: conn.read_until_closed() for name, conn in subscribers.items()}
    assert received["zyst"] == received["redis"] == b""
