"""Protected mode against redis-server 7.0: while ``protected-mode`` is on and the default user
has no password, a connection from any address but 127.0.0.1 and ::1 gets Redis's ``-DENIED``
text and is closed, whatever ``bind`` says.

The connections come from 127.0.0.2 (a loopback-range address every Linux host has, which Redis
compares as text and so counts as another host), and from this machine's non-loopback IPv4
addresses to a server bound to 0.0.0.0.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.conftest import ServerProcess, redis_process, zyst_process

DENIED_START = b"-DENIED Redis is running in protected mode because protected mode is enabled"


def host_addresses() -> list[str]:
    """This machine's IPv4 addresses outside 127.0.0.0/8 (``ip`` from iproute2)."""
    out = subprocess.run(
        ["ip", "-o", "-4", "addr", "show"], capture_output=True, text=True, check=True
    ).stdout
    found = []
    for line in out.splitlines():
        address = line.split()[3].split("/")[0]
        if not address.startswith("127."):
            found.append(address)
    return found


def exchange(server: str, port: int, source: str | None) -> bytes:
    """Connect (from ``source`` if given), send PING, and read until the server closes the
    connection or the PING's reply is complete."""
    with socket.create_connection(
        (server, port), timeout=10, source_address=(source, 0) if source else None
    ) as sock:
        sock.sendall(b"PING\r\n")
        received = b""
        while not received.endswith(b"\r\n") or received.startswith(b"-DENIED"):
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
        return received


@pytest.fixture(scope="module")
def open_pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[ServerProcess]]:
    """Zyst and redis-server listening on every IPv4 address, protected mode on (the default)."""
    workdir = tmp_path_factory.mktemp("protected")
    with (
        zyst_process(workdir / "zyst", "--appendonly", "no", "--bind", "0.0.0.0") as zyst,
        redis_process(workdir / "redis", "--bind", "0.0.0.0") as real,
    ):
        yield [zyst, real]


def sources() -> list[tuple[str, str]]:
    """(server address, client address) pairs of connections protected mode refuses."""
    pairs = [("127.0.0.1", "127.0.0.2")]
    pairs += [(address, address) for address in host_addresses()]
    return pairs


def test_connections_from_other_hosts_are_denied(open_pair: list[ServerProcess]) -> None:
    for server, source in sources():
        answers = [exchange(server, s.port, source) for s in open_pair]
        assert answers[0] == answers[1], (server, source, answers)
        assert answers[0].startswith(DENIED_START) and answers[0].endswith(b"\r\n")
        assert answers[0].count(b"\r\n") == 1
    for s in open_pair:
        assert exchange("127.0.0.1", s.port, None) == b"+PONG\r\n"
    infos = [redis.Redis(port=s.port).info("stats") for s in open_pair]
    assert infos[0]["rejected_connections"] == infos[1]["rejected_connections"] >= 1


def test_a_password_or_protected_mode_off_lets_them_in(open_pair: list[ServerProcess]) -> None:
    admins = [redis.Redis(port=s.port) for s in open_pair]
    try:
        for admin in admins:
            admin.config_set("requirepass", "pw")
        for server, source in sources():
            answers = [exchange(server, s.port, source) for s in open_pair]
            assert answers == [b"-NOAUTH Authentication required.\r\n"] * 2, answers
        for admin in admins:
            admin.config_set("requirepass", "")
            admin.config_set("protected-mode", "no")
        for server, source in sources():
            answers = [exchange(server, s.port, source) for s in open_pair]
            assert answers == [b"+PONG\r\n"] * 2, answers
    finally:
        for admin in admins:
            admin.config_set("requirepass", "")
            admin.config_set("protected-mode", "yes")
            admin.close()


def test_bind_plays_no_part(tmp_path: Path) -> None:
    """Redis 7.0 protects whatever addresses it listens on (6.x did so only without bind)."""
    with (
        zyst_process(tmp_path / "zyst", "--appendonly", "no", "--bind", "127.0.0.1") as zyst,
        redis_process(tmp_path / "redis") as real,
    ):
        answers = [exchange("127.0.0.1", s.port, "127.0.0.2") for s in (zyst, real)]
        assert answers[0] == answers[1]
        assert answers[0].startswith(DENIED_START)
