"""MIGRATE's side of the wire: the connections to target servers, kept by ``host:port`` between
calls, and Redis's blocking socket I/O with timeouts (``syncio.c``). No commands here.

MIGRATE blocks the whole server while it talks to the target, as in Redis: that is what makes
it atomic for both servers. The I/O copies Redis's system calls, so that every failure lands on
the same reply:

- connecting is Redis's non-blocking ``connect`` to each address the name resolves to (the
  port, a number already, given to the resolver as text, so 70000 is port 4464 as in C), then
  a wait of at most ``timeout`` ms for the socket to become writable; whether it connected is
  not checked there: a refused or unfinished connection fails at the first write;
- a write sends what it can, then waits for the socket (10 ms at least per wait), and fails
  once ``timeout`` ms have passed since it began (a *timeout*) or on any error;
- a line is read up to ``\\n`` (a ``\\r`` before it dropped) or 1023 bytes, whichever comes
  first; it fails on end of file, an error, or ``timeout`` ms without a byte; a line that is
  empty before its ``\\r`` is dropped counts as a failure too (Redis's read returns 0 bytes).

:attr:`Link.timed_out` says whether the last failure was a timeout: MIGRATE retries on a fresh
connection after any other failure (the target may simply have closed an idle cached one).

Cached connections: at most 64 (a new one beyond that replaces one at random); one unused for
more than 10 whole seconds is closed by a timer that runs once a second while any is cached
(Redis's cron does it on the same period). INFO's ``migrate_cached_sockets`` counts them.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import random
import select
import socket
import time
from typing import TYPE_CHECKING, Final

from zyst.perserver import state_of

if TYPE_CHECKING:
    from zyst.context import ServerContext

CACHE_ITEMS: Final = 64
CACHE_TTL: Final = 10  # seconds a cached connection may stay unused
CHUNK: Final = 64 * 1024  # MIGRATE writes its commands in chunks of this size
_LINE_MAX: Final = 1023  # bytes of a reply line (Redis's buffer is 1024 with its NUL)
_RESOLUTION_MS: Final = 10  # shortest wait between two tries of a write or read


class IOFailure(Exception):
    """A blocking write or read that did not complete; ``timed_out`` as Redis's ETIMEDOUT."""

    def __init__(self, timed_out: bool) -> None:
        super().__init__("timeout" if timed_out else "error")
        self.timed_out = timed_out


def _now_ms() -> int:
    return time.monotonic_ns() // 1_000_000


def _wait(sock: socket.socket, events: int, timeout_ms: int) -> bool:
    """Wait until ``sock`` is ready for ``events`` (``select.POLLIN``/``POLLOUT``) or
    ``timeout_ms`` have passed; whether it is ready (an error state counts as ready)."""
    poller = select.poll()
    poller.register(sock, events)
    try:
        return bool(poller.poll(timeout_ms))
    except InterruptedError:
        return False


class Link:
    """One connection to a target (Redis's ``migrateCachedSocket``): the database it last
    selected there (-1: none known, so the next MIGRATE sends SELECT) and when it was last
    used (whole Unix seconds)."""

    __slots__ = ("buffer", "last_dbid", "last_use", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.last_dbid = -1
        self.last_use = int(time.time())
        # Bytes received and not yet taken as lines (Redis reads byte by byte instead; the
        # connection is only ever read through here, so nothing is lost between calls).
        self.buffer = bytearray()

    def write(self, data: bytes | memoryview, timeout_ms: int) -> None:
        """Send all of ``data`` within ``timeout_ms`` (Redis's ``syncWrite``)."""
        sock = self.sock
        view = memoryview(data)
        start = _now_ms()
        remaining = timeout_ms
        while True:
            try:
                sent = sock.send(view)
            except BlockingIOError:
                sent = 0
            except OSError as exc:
                raise IOFailure(exc.errno == errno.ETIMEDOUT) from exc
            view = view[sent:]
            if not view:
                return
            _wait(sock, select.POLLOUT, max(remaining, _RESOLUTION_MS))
            elapsed = _now_ms() - start
            if elapsed >= timeout_ms:
                raise IOFailure(True)
            remaining = timeout_ms - elapsed

    def read_line(self, timeout_ms: int) -> bytes:
        """The next reply line, without its line end (Redis's ``syncReadLine`` into a
        1024-byte buffer): each wait for more bytes lasts at most ``timeout_ms``."""
        buffer = self.buffer
        while True:
            end = buffer.find(b"\n", 0, _LINE_MAX)
            if end >= 0:
                line = bytes(buffer[:end])
                del buffer[: end + 1]
                if not line:
                    raise IOFailure(False)  # Redis's read of zero bytes is a failure
                return line[:-1] if line.endswith(b"\r") else line
            if len(buffer) >= _LINE_MAX:
                line = bytes(buffer[:_LINE_MAX])
                del buffer[:_LINE_MAX]
                return line
            self._receive(timeout_ms)

    def _receive(self, timeout_ms: int) -> None:
        """Add at least one received byte to the buffer within ``timeout_ms``."""
        sock = self.sock
        start = _now_ms()
        remaining = timeout_ms
        while True:
            try:
                chunk = sock.recv(65536)
            except BlockingIOError:
                chunk = None
            except OSError as exc:
                raise IOFailure(exc.errno == errno.ETIMEDOUT) from exc
            if chunk is not None:
                if not chunk:
                    raise IOFailure(False)  # the target closed the connection
                self.buffer += chunk
                return
            _wait(sock, select.POLLIN, max(remaining, _RESOLUTION_MS))
            elapsed = _now_ms() - start
            if elapsed >= timeout_ms:
                raise IOFailure(True)
            remaining = timeout_ms - elapsed

    def close(self) -> None:
        self.sock.close()


def connect(host: bytes, port: int, timeout_ms: int) -> socket.socket | None:
    """A socket connecting (maybe not yet connected) to ``host``:``port``, or ``None`` when no
    address of ``host`` could even start a connection (Redis's ``connBlockingConnect``)."""
    try:
        addresses = socket.getaddrinfo(
            host.split(b"\0", 1)[0], str(port), socket.AF_UNSPEC, socket.SOCK_STREAM
        )
    except (OSError, UnicodeError, ValueError):
        return None
    for family, kind, proto, _, address in addresses:
        try:
            sock = socket.socket(family, kind, proto)
        except OSError:
            continue
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setblocking(False)
            status = sock.connect_ex(address)
        except OSError:
            sock.close()
            continue
        if status in (0, errno.EINPROGRESS):
            break
        sock.close()
    else:
        return None
    # Redis waits for the connection this long but goes on whatever the outcome: a connection
    # refused or still pending then fails at the first write.
    _wait(sock, select.POLLOUT, timeout_ms)
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


class LinkCache:
    """The cached connections of one server, by ``host:port`` as the client spelled them."""

    def __init__(self) -> None:
        self.links: dict[bytes, Link] = {}
        self._timer: asyncio.TimerHandle | None = None

    def get(self, host: bytes, port: bytes, port_number: int, timeout_ms: int) -> Link | None:
        """The cached connection to ``host``:``port`` (its use time refreshed), or a new one
        (cached); ``None`` when connecting failed."""
        name = host + b":" + port
        link = self.links.get(name)
        if link is not None:
            link.last_use = int(time.time())
            return link
        if len(self.links) >= CACHE_ITEMS:
            self.links.pop(random.choice(list(self.links))).close()
        sock = connect(host, port_number, timeout_ms)
        if sock is None:
            return None
        link = self.links[name] = Link(sock)
        self._schedule()
        return link

    def close(self, host: bytes, port: bytes) -> None:
        """Forget (and close) the connection to ``host``:``port``, if cached."""
        link = self.links.pop(host + b":" + port, None)
        if link is not None:
            link.close()

    def close_idle(self, now: int) -> None:
        """Close the connections unused for more than :data:`CACHE_TTL` seconds at ``now``."""
        for name, link in list(self.links.items()):
            if now - link.last_use > CACHE_TTL:
                del self.links[name]
                link.close()

    def _schedule(self) -> None:
        """Have :meth:`_tick` run in a second, if the event loop runs and it is not due yet."""
        if self._timer is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop (a handler called directly): nothing to time
            return
        self._timer = loop.call_later(1.0, self._tick)

    def _tick(self) -> None:
        self._timer = None
        self.close_idle(int(time.time()))
        if self.links:
            self._schedule()


def cache_of(ctx: ServerContext) -> LinkCache:
    """The server's cache of MIGRATE connections."""
    return state_of(ctx, LinkCache, lambda ctx: LinkCache())


def cached_count(ctx: ServerContext) -> int:
    """How many connections MIGRATE keeps open (INFO's ``migrate_cached_sockets``)."""
    return len(cache_of(ctx).links)
