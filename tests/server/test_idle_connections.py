"""Thousands of idle connections held open at once: the server counts them, stays responsive,
refuses the one past maxclients with Redis's error, and the memory each costs is measured (the
server's resident set before and after, divided by their number)."""

from __future__ import annotations

import resource
import socket
from pathlib import Path

from tests.conftest import RawConnection, wait_until, zyst_process
from tests.server.test_output_backlog import rss

HELD = 5000


def info_clients(admin: RawConnection) -> dict[str, str]:
    text = admin.command("INFO", "clients").decode()
    return dict(line.split(":", 1) for line in text.split("\r\n")[1:] if ":" in line)


def test_thousands_of_idle_connections(tmp_path: Path) -> None:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert soft >= HELD + 100, f"this test needs {HELD + 100} open files (ulimit -n is {soft})"
    maxclients = HELD + 1  # the admin connection and the idle ones
    held: list[socket.socket] = []
    with (
        zyst_process(tmp_path, "--appendonly", "no", "--maxclients", str(maxclients)) as server,
        RawConnection(server.port) as admin,
    ):
        try:
            assert admin.command("SET", "k", "v") == b"+OK\r\n"
            before = rss(server)
            while len(held) < HELD:
                # In batches no larger than the listen queue, each waited for.
                batch = [
                    socket.create_connection(("127.0.0.1", server.port))
                    for _ in range(min(250, HELD - len(held)))
                ]
                for sock in batch:
                    sock.sendall(b"PING\r\n")
                for sock in batch:
                    assert sock.recv(7) == b"+PONG\r\n"
                held += batch
            fields = info_clients(admin)
            assert fields["connected_clients"] == str(HELD + 1)
            after = rss(server)
            per_connection = (after - before) / HELD
            print(
                f"\n{HELD} idle connections held; server RSS {before / 2**20:.1f} -> "
                f"{after / 2**20:.1f} MB: {per_connection / 1024:.1f} KB per idle connection"
            )
            # Responsive: commands are served, the listing counts every one.
            assert admin.command("GET", "k") == b"$1\r\nv\r\n"
            listing = admin.command("CLIENT", "LIST").decode()
            assert listing.count("\nid=") == HELD + 1
            # One more is refused with Redis's bytes and closed.
            with RawConnection(server.port) as refused:
                assert refused.read_until_closed() == b"-ERR max number of clients reached\r\n"
            assert info_clients(admin)["connected_clients"] == str(HELD + 1)
        finally:
            for sock in held:
                sock.close()
        wait_until(
            lambda: info_clients(admin)["connected_clients"] == "1", "the server to count closes"
        )
