"""Client limits on real sockets: ``tcp-keepalive`` on accepted sockets (read back from the
kernel's own table, for Zyst and redis-server alike), ``timeout`` closing idle clients but not
subscribers, blocked clients or monitors, and ``maxclients`` raising the open-file limit at
start and on CONFIG SET as Redis does (compared with redis-server under the same limits)."""

from __future__ import annotations

import os
import re
import resource
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import (
    RawConnection,
    ServerProcess,
    redis_process,
    wait_until,
    zyst_process,
)

SERVERS: dict[str, Callable[..., ServerProcess]] = {"zyst": zyst_process, "redis": redis_process}


# -- tcp-keepalive -------------------------------------------------------------------------------
def _keepalive_timer(server_port: int, client_port: int) -> tuple[int, float]:
    """The kernel's timer on the server's side of one loopback connection, from /proc/net/tcp:
    (timer kind, seconds until it fires). Kind 2 is the keepalive timer, 0 none."""
    local = f"0100007F:{server_port:04X}"
    remote = f"0100007F:{client_port:04X}"
    ticks = os.sysconf("SC_CLK_TCK")
    with open("/proc/net/tcp", encoding="ascii") as fh:
        for line in fh:
            fields = line.split()
            if fields[1] == local and fields[2] == remote:
                kind, when = fields[5].split(":")
                return int(kind, 16), int(when, 16) / ticks
    raise AssertionError(f"no connection {local} -> {remote} in /proc/net/tcp")


def _settled_timer(server_port: int, client_port: int) -> tuple[int, float]:
    """The timer once no reply is in flight (until its ACK arrives, the retransmission timer,
    kind 1, is the one shown)."""
    found: list[tuple[int, float]] = []

    def settled() -> bool:
        found[:] = [_keepalive_timer(server_port, client_port)]
        return found[0][0] != 1

    wait_until(settled, "the retransmission timer to clear")
    return found[0]


@pytest.mark.parametrize("kind", ["zyst", "redis"])
def test_tcp_keepalive_arms_the_kernel_timer_of_accepted_sockets(tmp_path: Path, kind: str) -> None:
    """With tcp-keepalive N, the server's socket of a new connection has its keepalive timer
    set to fire within N seconds (Linux's own default would be 7200); after CONFIG SET
    tcp-keepalive 0, a new connection has none. redis-server shows the same."""
    with (
        SERVERS[kind](tmp_path, "--tcp-keepalive", "100") as server,
        RawConnection(server.port) as first,
    ):
        assert first.command("PING") == b"+PONG\r\n"
        timer, seconds = _settled_timer(server.port, first.sock.getsockname()[1])
        assert timer == 2 and 0 < seconds <= 100
        assert first.command("CONFIG", "SET", "tcp-keepalive", "0") == b"+OK\r\n"
        with RawConnection(server.port) as second:
            assert second.command("PING") == b"+PONG\r\n"
            assert _settled_timer(server.port, second.sock.getsockname()[1])[0] == 0
        # Connections made before keep what they were given.
        assert _settled_timer(server.port, first.sock.getsockname()[1])[0] == 2


def test_tcp_keepalive_defaults_to_300_seconds(tmp_path: Path) -> None:
    with zyst_process(tmp_path) as server, RawConnection(server.port) as conn:
        assert conn.command("PING") == b"+PONG\r\n"
        timer, seconds = _settled_timer(server.port, conn.sock.getsockname()[1])
        assert timer == 2 and 100 < seconds <= 300


# -- timeout -------------------------------------------------------------------------------------
def _closed_by_server(conn: RawConnection) -> bool:
    """Whether the server closed ``conn`` (without waiting: the socket is polled)."""
    conn.sock.setblocking(False)
    try:
        return conn.sock.recv(1, socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True
    finally:
        conn.sock.setblocking(True)


def test_timeout_closes_idle_clients_but_not_subscribers_blocked_or_monitors(
    tmp_path: Path,
) -> None:
    with (
        zyst_process(tmp_path, "--appendonly", "no", "--timeout", "1") as server,
        RawConnection(server.port) as idle,
        RawConnection(server.port) as subscriber,
        RawConnection(server.port) as blocked,
        RawConnection(server.port) as monitor,
    ):
        assert idle.command("PING") == b"+PONG\r\n"
        assert subscriber.command("SUBSCRIBE", "ch").startswith(b"*3\r\n$9\r\nsubscribe")
        assert monitor.command("MONITOR") == b"+OK\r\n"
        blocked.send_raw(b"*3\r\n$5\r\nBLPOP\r\n$4\r\nlist\r\n$1\r\n0\r\n")
        wait_until(lambda: _closed_by_server(idle), "the idle client to be closed")
        # A client idle since after the others: once it is closed, the others have been idle
        # longer than the timeout and visited by the cron since.
        with RawConnection(server.port) as later:
            assert later.command("PING") == b"+PONG\r\n"
            wait_until(lambda: _closed_by_server(later), "the later idle client to be closed")
        for conn in (subscriber, blocked, monitor):
            assert not _closed_by_server(conn)
        with RawConnection(server.port) as admin:
            assert admin.command("RPUSH", "list", "x") == b":1\r\n"
            assert blocked.read_reply() == b"*2\r\n$4\r\nlist\r\n$1\r\nx\r\n"
            assert monitor.read_reply().endswith(b'"RPUSH" "list" "x"\r\n')
            assert admin.command("PUBLISH", "ch", "m") == b":1\r\n"
            assert subscriber.read_reply() == b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nm\r\n"


def test_a_request_still_arriving_is_no_idleness(tmp_path: Path) -> None:
    """Bytes of a request not complete yet count as interaction (Redis's lastinteraction is
    set on every read): a client sending a big argument slowly outlives a witness left idle
    since the same moment."""
    with (
        zyst_process(tmp_path, "--appendonly", "no", "--timeout", "1") as server,
        RawConnection(server.port) as slow,
        RawConnection(server.port) as witness,
    ):
        slow.send_raw(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1000000\r\n")
        assert witness.command("PING") == b"+PONG\r\n"
        sent = 0
        deadline = time.monotonic() + 60
        while not _closed_by_server(witness):
            assert time.monotonic() < deadline, "the witness was never closed"
            slow.send_raw(b"x" * 100)
            sent += 100
            time.sleep(0.01)  # pacing: a slow sender, not an assertion
        assert not _closed_by_server(slow)
        slow.send_raw(b"x" * (1000000 - sent) + b"\r\n")
        assert slow.read_reply() == b"+OK\r\n"


# -- maxclients and the open-file limit ----------------------------------------------------------
def _with_nofile(soft: int, hard: int) -> Callable[[], None]:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    return limit


def _started(
    make: Callable[..., ServerProcess], path: Path, limit: tuple[int, int]
) -> ServerProcess:
    server = make(path, "--maxclients", "1000", "--appendonly", "no")
    server.preexec = _with_nofile(*limit)
    return server.start()


def _log_lines(server: ServerProcess, pattern: str) -> list[str]:
    """The log lines matching ``pattern``, without the pid/time prefix."""
    found = []
    for line in server.log.read_text(errors="replace").splitlines():
        match = re.search(r"[#*\-.] (.*)$", line)
        if match and re.search(pattern, match.group(1)):
            found.append(match.group(1))
    return found


def _open_files_limit(server: ServerProcess) -> tuple[int, int]:
    assert server.proc is not None
    text = Path(f"/proc/{server.proc.pid}/limits").read_text()
    match = re.search(r"Max open files\s+(\d+)\s+(\d+)", text)
    assert match, text
    return int(match.group(1)), int(match.group(2))


def test_maxclients_is_lowered_to_what_a_fixed_limit_allows(tmp_path: Path) -> None:
    """A hard limit of 256 open files cannot be raised: maxclients becomes 256 - 32, with
    Redis's three warnings, the same as redis-server's."""
    lines = {}
    for kind, make in SERVERS.items():
        server = _started(make, tmp_path / kind, (256, 256))
        try:
            with RawConnection(server.port) as conn:
                reply = conn.command("CONFIG", "GET", "maxclients")
                assert reply == b"*2\r\n$10\r\nmaxclients\r\n$3\r\n224\r\n", kind
            lines[kind] = _log_lines(server, "^(You requested|Server can.t set|Current maximum)")
        finally:
            server.stop()
    assert lines["zyst"] == lines["redis"]
    assert lines["zyst"] == [
        "You requested maxclients of 1000 requiring at least 1032 max file descriptors.",
        "Server can't set maximum open files to 1032 because of OS error: Operation not permitted.",
        "Current maximum open files is 256. maxclients has been reduced to 224 to compensate "
        "for low ulimit. If you need higher maxclients increase 'ulimit -n'.",
    ]


def test_the_open_file_limit_is_raised_at_start_and_config_set_is_refused_beyond(
    tmp_path: Path,
) -> None:
    """With room under the hard limit, the limit becomes maxclients + 32 (soft and hard, as
    Redis sets both); CONFIG SET maxclients beyond what that allows is refused with Redis's
    error and the setting kept; a lower value is taken."""
    for kind, make in SERVERS.items():
        server = _started(make, tmp_path / kind, (256, 4096))
        try:
            assert _open_files_limit(server) == (1032, 1032), kind
            assert _log_lines(server, "Increased maximum number of open files") == [
                "Increased maximum number of open files to 1032 (it was originally set to 256)."
            ], kind
            with RawConnection(server.port) as conn:
                assert conn.command("CONFIG", "SET", "maxclients", "5000") == (
                    b"-ERR CONFIG SET failed (possibly related to argument 'maxclients') - The "
                    b"operating system is not able to handle the specified number of clients, "
                    b"try with 1000\r\n"
                ), kind
                assert conn.command("CONFIG", "GET", "maxclients").endswith(b"$4\r\n1000\r\n")
                assert conn.command("CONFIG", "SET", "maxclients", "10") == b"+OK\r\n"
                assert conn.command("CONFIG", "GET", "maxclients").endswith(b"$2\r\n10\r\n")
        finally:
            server.stop()


def test_a_limit_too_low_for_any_client_stops_the_start(tmp_path: Path) -> None:
    for kind, make in SERVERS.items():
        server = make(tmp_path / kind, "--maxclients", "1000")
        server.preexec = _with_nofile(32, 32)
        with pytest.raises(RuntimeError, match="server exited"):
            server.start()
        assert _log_lines(server, "ulimit") == [
            "Your current 'ulimit -n' of 32 is not enough for the server to start. Please "
            "increase your open file limit to at least 1032. Exiting."
        ], kind


def test_a_client_slowly_taking_a_big_reply_is_not_idle(tmp_path: Path) -> None:
    """A reply far bigger than the sockets' buffers, read a little at a time for longer than
    the timeout: the client is taking its output, which counts as interaction (as Redis counts
    every write to a client), so it is not closed."""
    element = b"e" * 100_000
    with (
        zyst_process(tmp_path, "--appendonly", "no", "--timeout", "1") as server,
        RawConnection(server.port) as conn,
    ):
        for _ in range(6):
            conn.command("RPUSH", "big", *([element] * 50))
        conn.send_raw(b"*4\r\n$6\r\nLRANGE\r\n$3\r\nbig\r\n$1\r\n0\r\n$2\r\n-1\r\n")
        expected = len(b"*300\r\n") + 300 * len(b"$100000\r\n" + element + b"\r\n")
        received = 0
        while received < expected:
            data = conn.sock.recv(min(1_000_000, expected - received))
            assert data, f"closed after {received} of {expected} bytes"
            received += len(data)
            time.sleep(0.1)  # pacing: a slow reader (30 MB over about 3 s), not an assertion
