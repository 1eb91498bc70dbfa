"""Clients that do not read their replies, on real sockets: with a limit for their class they
are disconnected once past it; with none, the server stops reading from them once their
backlog reaches zyst.connection.READ_PAUSE_BOUND and goes on when they have read it, so the
server's memory stays bounded either way (measured as its resident set)."""

from __future__ import annotations

import re
import socket
import threading
from pathlib import Path

from tests.conftest import RawConnection, ServerProcess, wait_until, zyst_process
from zyst.connection import READ_PAUSE_BOUND

MB = 1024 * 1024
# LRANGE of a list of 20 elements of 100 bytes: a 39-byte request, a 2,166-byte reply.
ELEMENTS = 20
ELEMENT = b"v" * 100
REQUEST = b"*4\r\n$6\r\nLRANGE\r\n$1\r\nl\r\n$1\r\n0\r\n$2\r\n-1\r\n"
REPLY = b"*%d\r\n" % ELEMENTS + (b"$100\r\n" + ELEMENT + b"\r\n") * ELEMENTS


def rss(server: ServerProcess) -> int:
    """The server's resident set size in bytes."""
    assert server.proc is not None
    status = Path(f"/proc/{server.proc.pid}/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+) kB", status)
    assert match
    return int(match.group(1)) * 1024


def fill_list(server: ServerProcess) -> None:
    with RawConnection(server.port) as conn:
        conn.command("DEL", "l")
        assert conn.command("RPUSH", "l", *([ELEMENT] * ELEMENTS)) == b":%d\r\n" % ELEMENTS


def client_field(admin: RawConnection, name: str, field: str) -> str:
    listing = admin.command("CLIENT", "LIST").decode()
    for line in listing.split("\n"):
        if f" name={name} " in line:
            match = re.search(rf" {field}=(\S*)", line)
            assert match, line
            return match.group(1)
    return ""


def info_field(admin: RawConnection, name: str) -> int:
    text = admin.command("INFO", "clients").decode()
    match = re.search(rf"\r\n{name}:(\d+)\r\n", text)
    assert match, text
    return int(match.group(1))


def test_a_request_still_arriving_is_shown_as_it_is_held(tmp_path: Path) -> None:
    """Half of a 100 KB argument sent: CLIENT LIST shows the arguments already read as
    ``argv-mem`` and the unparsed bytes (the argument's header and its first half) as
    ``qbuf``; INFO's recent input peak sees them."""
    with (
        zyst_process(tmp_path, "--appendonly", "no") as server,
        RawConnection(server.port) as admin,
        RawConnection(server.port) as sender,
    ):
        sender.command("CLIENT", "SETNAME", "sender")
        sender.send_raw(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100000\r\n" + b"x" * 50000)
        held = len(b"$100000\r\n") + 50000
        wait_until(
            lambda: client_field(admin, "sender", "qbuf") == str(held), "the bytes to arrive"
        )
        assert client_field(admin, "sender", "argv-mem") == "4"  # SET and k
        assert int(client_field(admin, "sender", "tot-mem")) > held + 4
        wait_until(
            lambda: info_field(admin, "client_recent_max_input_buffer") >= held + 4,
            "INFO to show the input buffer",
        )
        sender.send_raw(b"x" * 50000 + b"\r\n")
        assert sender.read_reply() == b"+OK\r\n"
        assert client_field(admin, "sender", "qbuf") == "0"


def test_a_client_that_never_reads_is_dropped_at_its_limit(tmp_path: Path) -> None:
    """normal 16mb: the client pipelines requests whose replies it never reads; the server
    drops it once its unsent replies pass 16 MB, logging Redis's line, and its memory grew
    by about that much, not by what the client asked for (about 1 GB of replies)."""
    with zyst_process(
        tmp_path, "--appendonly", "no", "--client-output-buffer-limit", "normal 16mb 0 0"
    ) as server:
        fill_list(server)
        before = rss(server)
        sock = socket.create_connection(("127.0.0.1", server.port))
        sock.settimeout(60)  # a hung test fails instead of waiting for ever
        chunk = REQUEST * 100
        sent = 0
        dropped = False
        try:
            while sent < 500_000 * len(REQUEST):
                sock.sendall(chunk)
                sent += len(chunk)
        except (ConnectionResetError, BrokenPipeError):
            dropped = True
        finally:
            sock.close()
        assert dropped, "the server never dropped the client"
        wait_until(
            lambda: "closed for overcoming of output buffer limits" in server.log.read_text(),
            "the server's log line",
        )
        grown = rss(server) - before
        print(f"\nnever-reading client, limit 16 MB: dropped; server RSS grew {grown / MB:.1f} MB")
        assert grown < 100 * MB
        with RawConnection(server.port) as conn:
            assert conn.command("PING") == b"+PONG\r\n"


def test_a_slow_reader_without_limit_is_paused_not_buffered(tmp_path: Path) -> None:
    """No limit for normal clients (the default): a client sends 200,000 requests (433 MB of
    replies) without reading. The server stops reading from it at the bound (CLIENT LIST
    ``events=w``: not reading, output waiting), its memory bounded by the bound and one
    read's replies; once the client reads, everything is answered in full and in order."""
    with (
        zyst_process(tmp_path, "--appendonly", "no") as server,
        RawConnection(server.port) as admin,
    ):
        fill_list(server)
        before = rss(server)
        count = 200_000
        slow = socket.create_connection(("127.0.0.1", server.port))
        slow.settimeout(120)
        slow.sendall(b"*3\r\n$6\r\nCLIENT\r\n$7\r\nSETNAME\r\n$4\r\nslow\r\n")
        assert slow.recv(5) == b"+OK\r\n"
        errors: list[BaseException] = []

        def send_all() -> None:
            try:
                for _ in range(count // 1000):
                    slow.sendall(REQUEST * 1000)
            except BaseException as exc:  # reported by the test's thread
                errors.append(exc)

        sender = threading.Thread(target=send_all)
        sender.start()
        try:
            wait_until(
                lambda: client_field(admin, "slow", "events") == "w",
                "reading from the slow client to pause",
            )
            omem = int(client_field(admin, "slow", "omem"))
            grown = rss(server) - before
            print(
                f"\nslow reader, no limit: reading paused at omem {omem / MB:.1f} MB; "
                f"server RSS grew {grown / MB:.1f} MB "
                f"(it asked for {count * len(REPLY) / MB:.0f} MB)"
            )
            assert READ_PAUSE_BOUND <= omem < READ_PAUSE_BOUND + 64 * MB
            # The cron's record of the largest output buffer of the last seconds sees it.
            wait_until(
                lambda: info_field(admin, "client_recent_max_output_buffer") >= READ_PAUSE_BOUND,
                "INFO to show the backlog",
            )
            assert grown < READ_PAUSE_BOUND + 128 * MB
            # Now read everything: reading resumes, every reply arrives.
            expected = count * len(REPLY)
            received = 0
            buffer = bytearray(4 * MB)
            view = memoryview(buffer)
            head = b""
            while received < expected:
                n = slow.recv_into(view)
                assert n, "the server closed the slow client"
                if len(head) < len(REPLY):
                    head += bytes(view[: min(n, len(REPLY) - len(head))])
                received += n
            assert received == expected and head == REPLY
        finally:
            sender.join()
            slow.close()
        assert not errors
        assert admin.command("PING") == b"+PONG\r\n"


def test_a_subscriber_that_never_reads_is_dropped_at_the_pubsub_hard_limit(
    tmp_path: Path,
) -> None:
    with (
        zyst_process(
            tmp_path, "--appendonly", "no", "--client-output-buffer-limit", "pubsub 1mb 0 0"
        ) as server,
        RawConnection(server.port) as publisher,
        RawConnection(server.port) as subscriber,
    ):
        assert subscriber.command("SUBSCRIBE", "ch").startswith(b"*3\r\n")
        message = b"m" * 65536
        published = 0
        # Until the server has dropped it, the subscriber receives each message.
        while publisher.command("PUBLISH", "ch", message) == b":1\r\n":
            published += 1
            assert published < 10_000, "the subscriber was never dropped"
        assert publisher.command("PUBLISH", "ch", message) == b":0\r\n"
        assert "closed for overcoming of output buffer limits" in server.log.read_text()


def test_a_subscriber_past_the_soft_limit_for_its_seconds_is_dropped(tmp_path: Path) -> None:
    """pubsub 0 256kb 1: past 256 KB of unsent messages, for more than a second, the
    subscriber is dropped, even with no message after (the server checks again on its own)."""
    with (
        zyst_process(
            tmp_path, "--appendonly", "no", "--client-output-buffer-limit", "pubsub 0 256kb 1"
        ) as server,
        RawConnection(server.port) as publisher,
        RawConnection(server.port) as subscriber,
    ):
        subscriber.command("CLIENT", "SETNAME", "sub")
        assert subscriber.command("SUBSCRIBE", "ch").startswith(b"*3\r\n")
        message = b"m" * 65536
        # Enough to fill the kernel's socket buffers and then pass the soft limit.
        while int(client_field(publisher, "sub", "omem") or 0) < 256 * 1024:
            assert publisher.command("PUBLISH", "ch", message) == b":1\r\n"
        wait_until(
            lambda: b" name=sub " not in publisher.command("CLIENT", "LIST"),
            "the subscriber to be dropped",
        )
        assert publisher.command("PUBLISH", "ch", b"") == b":0\r\n"
        assert "closed for overcoming of output buffer limits" in server.log.read_text()
