"""The fuzz tests' server and checks: a Zyst of each test module's own, its log read after
every example, and what every fuzzed connection must get back.

Examples per test: :data:`EXAMPLES` (``ZYST_FUZZ_EXAMPLES`` in the environment for a deeper run,
see README). Runs are deterministic: derandomized, no example database.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import hiredis
import pytest
from hypothesis import HealthCheck, event, settings

from tests.conftest import ServerProcess, zyst_process
from tests.fuzz.strategies import Catalog
from zyst import errors

EXAMPLES: Final = int(os.environ.get("ZYST_FUZZ_EXAMPLES", "150"))
FUZZ_SETTINGS: Final = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
# pytest-timeout's limit for one fuzz test (all its examples): the suite's two minutes, and more
# for a deep run.
TEST_TIMEOUT: Final = max(120.0, EXAMPLES * 0.2)
# Generous: only a hung server takes this long to answer or close.
HANG_TIMEOUT: Final = 30.0
PROTOCOL_ERRORS: Final = frozenset(
    error.encode()
    for error in (
        errors.PROTO_TOO_BIG_INLINE,
        errors.PROTO_TOO_BIG_MBULK,
        errors.PROTO_TOO_BIG_BULK,
        errors.PROTO_INVALID_MBULK,
        errors.PROTO_INVALID_BULK,
        errors.PROTO_UNBALANCED,
    )
)
# What the server's log must never show.
BAD_LOG_LINES: Final = ("Traceback", "internal error", "Exception in callback", "exception was")


class ServerBroken(BaseException):
    """The server hung or died. A BaseException, so that Hypothesis does not shrink the input:
    each try would wait out the hang again (or find the server already gone). The message
    holds the input as it was sent."""


class Checked:
    """The fuzz server, with how far its log has been read."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.log_read = 0
        self.examples = 0
        # Why the server is no use any more, once it hung or died.
        self.broken: str | None = None

    def new_log(self) -> str:
        text = self.server.log.read_bytes()[self.log_read :].decode("utf-8", "replace")
        self.log_read += len(text.encode("utf-8", "replace"))
        return text


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Checked]:
    """A Zyst server of its own (its state is the fuzz's), its log kept to be read."""
    workdir: Path = tmp_path_factory.mktemp("fuzz")
    server = zyst_process(
        workdir, "--save", "", "--appendonly", "no", "--enable-debug-command", "local"
    )
    with server:
        checked = Checked(server)
        yield checked
        assert server.proc is not None and server.proc.poll() is None, "the server died"


@pytest.fixture(autouse=True)
def _still_sound(fuzzed: Checked) -> None:
    """A test after the one that broke the server fails at once rather than wait on it."""
    if fuzzed.broken is not None:
        raise ServerBroken(f"broken by an earlier test: {fuzzed.broken}")


@pytest.fixture(scope="module")
def catalog(fuzzed: Checked) -> Catalog:
    """Every command and subcommand the server lists in COMMAND, with its arity and whether
    it is flagged ``blocking``."""
    reply = parse(exchange(fuzzed.server.port, [b"COMMAND\r\n"]))
    entries = []
    blocking = set()
    for entry in reply:
        entries.append((entry[0], entry[1]))
        entries.extend((sub[0], sub[1]) for sub in entry[9])
        if b"blocking" in entry[2]:
            blocking.add(entry[0])
    return Catalog(entries, frozenset(blocking))


def parse(raw: bytes) -> list[Any]:
    reader = hiredis.Reader()
    reader.feed(raw)
    value = reader.gets()
    assert isinstance(value, list), raw[:200]
    return value


def exchange(port: int, pieces: list[bytes], end_writing: bool = True) -> bytes:
    """Write ``pieces`` one after the other on a new connection, end the writing side (unless
    told not to: the server must then close by itself), and return everything the server
    sends until it closes (see :func:`exchange_all`)."""
    return exchange_all(port, [pieces], [0] * len(pieces), end_writing)[0]


def exchange_all(
    port: int, sessions: list[list[bytes]], order: list[int], end_writing: bool = True
) -> list[bytes]:
    """One connection per session; their pieces written in ``order`` (the session whose piece
    goes next, each piece once its connection's previous one went out), each connection's
    writing side ended after its last piece; reading all along, until the server has closed
    every connection. What each received is returned: a server that closes first (after a
    protocol error) may reset the connection, which ends what it received there.

    Reading while writing keeps a server that stops reading from a client with unread
    replies (as a slow reader's) from stalling the exchange."""
    deadline = time.monotonic() + HANG_TIMEOUT
    socks = [socket.create_connection(("127.0.0.1", port), timeout=HANG_TIMEOUT) for _ in sessions]
    queues = [list(pieces) for pieces in sessions]
    waiting = list(order)
    outgoing = [b""] * len(socks)
    received = [bytearray() for _ in socks]
    writing = [True] * len(socks)
    reading = [True] * len(socks)
    try:
        with selectors.DefaultSelector() as selector:
            for index, sock in enumerate(socks):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sock.setblocking(False)
                selector.register(sock, selectors.EVENT_READ, index)
            while any(reading):
                while waiting and not outgoing[waiting[0]]:
                    index = waiting.pop(0)
                    if writing[index]:
                        outgoing[index] = queues[index].pop(0)
                for index, sock in enumerate(socks):
                    if writing[index] and not outgoing[index] and index not in waiting:
                        if end_writing:
                            _end_writing(sock)
                        writing[index] = False
                    events = selectors.EVENT_READ if reading[index] else 0
                    if writing[index] and outgoing[index]:
                        events |= selectors.EVENT_WRITE
                    if events:
                        selector.modify(sock, events, index)
                    elif sock in selector.get_map():
                        selector.unregister(sock)
                if time.monotonic() > deadline:
                    raise ServerBroken(
                        f"no close within {HANG_TIMEOUT} s after sending {sessions!r}; got "
                        + repr([bytes(data[:300]) for data in received])
                    )
                for key, mask in selector.select(timeout=1.0):
                    index = key.data
                    sock = socks[index]
                    if mask & selectors.EVENT_WRITE:
                        try:
                            sent = sock.send(outgoing[index])
                            outgoing[index] = outgoing[index][sent:]
                        except BlockingIOError:
                            pass
                        except OSError:  # closed or reset by the server: nothing more to send
                            outgoing[index] = b""
                            writing[index] = False
                    if mask & selectors.EVENT_READ:
                        try:
                            chunk = sock.recv(1 << 20)
                        except BlockingIOError:
                            continue
                        except ConnectionResetError:
                            chunk = b""
                        if chunk:
                            received[index] += chunk
                        else:
                            reading[index] = False
                            writing[index] = False
                            outgoing[index] = b""
    finally:
        for sock in socks:
            sock.close()
    return [bytes(data) for data in received]


def _end_writing(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed by the server
        sock.shutdown(socket.SHUT_WR)


def reply_end(raw: bytes, pos: int) -> int | None:
    """Where the RESP2/RESP3 reply starting at ``raw[pos]`` ends, ``None`` when it is cut
    short. Without recursion: a script's reply may be nested thousands of levels deep."""
    left = 1  # values still to read at the current level, and those of the levels above
    stack: list[int] = []
    while True:
        line_end = raw.find(b"\r\n", pos)
        if line_end < 0:
            return None
        kind = raw[pos : pos + 1]
        after = line_end + 2
        left -= 1
        if kind in (b"$", b"=", b"!"):  # blob string, verbatim string, blob error
            size = int(raw[pos + 1 : line_end])
            after = after if size < 0 else after + size + 2
            if after > len(raw):
                return None
        elif kind in (b"*", b"~", b">", b"%", b"|"):  # aggregates; maps hold pairs
            size = max(int(raw[pos + 1 : line_end]), 0)
            count = size * 2 if kind in (b"%", b"|") else size
            if kind == b"|":  # an attribute comes before the value it describes
                count += 1
            if count:
                stack.append(left)
                left = count
        pos = after
        while left == 0:
            if not stack:
                return pos
            left = stack.pop()


def split_replies(output: bytes) -> tuple[list[bytes], bool]:
    """The whole replies in ``output``, and whether bytes after them were cut short."""
    replies: list[bytes] = []
    pos = 0
    while pos < len(output):
        end = reply_end(output, pos)
        if end is None:
            return replies, True
        replies.append(output[pos:end])
        pos = end
    return replies, False


def check_replies(output: bytes) -> None:
    """``output`` is whole RESP replies (the last one may be cut by a reset), none an internal
    error, and a protocol error only as the last, with Redis's text."""
    assert b"ERR internal error" not in output, output[:2000]
    replies, cut = split_replies(output)
    if cut:  # only a reset connection does that
        event("cut short by a reset")
    for position, reply in enumerate(replies):
        if reply.startswith(b"-ERR Protocol error"):
            event(reply.decode("latin-1").split(", got")[0])
            text = reply[1:-2]
            assert text in PROTOCOL_ERRORS or text.startswith(
                b"ERR Protocol error: expected '$', got '"
            ), reply
            assert position == len(replies) - 1 and not cut, f"replies after {reply!r}"


def check_alive(fuzzed: Checked, sent: list[bytes]) -> None:
    """A fresh connection gets PONG, and the log shows no internal error."""
    fuzzed.examples += 1
    try:
        reply = ping(fuzzed.server.port)
    except OSError as exc:
        reply = repr(exc).encode()
    if reply != b"+PONG\r\n":
        fuzzed.broken = f"no PONG but {reply!r} after {b''.join(sent)!r}"
        raise ServerBroken(fuzzed.broken)
    log = fuzzed.new_log()
    bad = [line for line in log.splitlines() if any(mark in line for mark in BAD_LOG_LINES)]
    assert not bad, f"after {b''.join(sent)[:500]!r}:\n{log[-5000:]}"


def ping(port: int) -> bytes:
    """PING on a new connection: the reply's line, or what came before the close."""
    with socket.create_connection(("127.0.0.1", port), timeout=HANG_TIMEOUT) as sock:
        sock.sendall(b"*1\r\n$4\r\nPING\r\n")
        reply = b""
        while not reply.endswith(b"\r\n"):
            chunk = sock.recv(1024)
            if not chunk:
                break
            reply += chunk
    return reply
