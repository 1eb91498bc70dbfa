"""Listening sockets, opened as redis-server opens them from ``bind``, ``port`` and ``tcp-backlog``.

Each ``bind`` address gives one TCP socket: IPv6 when the address contains ``:`` (IPv6 only, so
an IPv4 and an IPv6 wildcard can share a port), IPv4 otherwise. ``*`` and ``::*`` are the
wildcards of each family; a host name is resolved and its first address used. A leading ``-``
marks an address that may be missing on this host: when binding it fails because the address
does not exist here (EADDRNOTAVAIL), it is skipped. An address whose family or protocol the host
lacks is always skipped. Any other failure closes every socket this call opened and raises
:class:`ListenError`. Each failure is logged in Redis's words, naming the address and the port.

Sockets are bound and listening when :func:`open_listeners` returns, before any event loop
serves them: clients that connect meanwhile wait in the listen queue (``tcp-backlog`` long).

A listener with an :class:`ssl.SSLContext` speaks TLS (``tls-port``): the loop serves a
duplicate of its socket, so that a new context (CONFIG SET tls-*) is taken by serving a new
duplicate and closing the old one, the listening socket and its queue staying in place.
:func:`open_unix_listener` opens the ``unixsocket`` as Redis does: an old file at the path is
removed first, the file gets ``unixsocketperm`` when it is not 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import socket
import ssl
from collections.abc import Callable

__all__ = [
    "ListenError",
    "Listener",
    "check_somaxconn",
    "listen_address",
    "open_listeners",
    "open_unix_listener",
]

log = logging.getLogger("zyst")

# Failures that mean "this host cannot have such a socket at all": Redis skips the address.
_UNSUPPORTED = frozenset(
    {
        errno.ENOPROTOOPT,
        errno.EPROTONOSUPPORT,
        errno.ESOCKTNOSUPPORT,
        errno.EPFNOSUPPORT,
        errno.EAFNOSUPPORT,
    }
)

SOMAXCONN_PATH = "/proc/sys/net/core/somaxconn"


class ListenError(OSError):
    """A required address could not be listened on (already logged in Redis's words)."""


class Listener:
    """One listening socket and, once the event loop serves it, the server accepting on it.

    ``close`` may come before the loop has started serving the socket (CONFIG SET twice in one
    pipeline): the socket is then closed as soon as serving starts, never under the loop."""

    __slots__ = (
        "_serving",
        "_task",
        "address",
        "backlog",
        "closed",
        "port",
        "server",
        "sock",
        "ssl",
        "unix",
    )

    def __init__(
        self,
        address: str,
        port: int,
        sock: socket.socket,
        backlog: int,
        context: ssl.SSLContext | None = None,
    ) -> None:
        self.address = address
        """The ``bind`` entry without its ``-`` mark (a Unix socket: its path)."""
        self.port = port
        self.sock = sock
        self.backlog = backlog
        self.ssl = context
        """The TLS context of the connections accepted here; None: plain."""
        self.unix = sock.family == socket.AF_UNIX
        self.server: asyncio.AbstractServer | None = None
        self.closed = False
        self._serving = False
        self._task: asyncio.Task[None] | None = None

    def start(
        self, loop: asyncio.AbstractEventLoop, factory: Callable[[], asyncio.BaseProtocol]
    ) -> None:
        """Start accepting connections with the protocol ``factory`` (soon: the loop's server
        is made by a coroutine), until :meth:`close`."""
        self._task = loop.create_task(self._serve(loop, factory))

    async def _serve(
        self, loop: asyncio.AbstractEventLoop, factory: Callable[[], asyncio.BaseProtocol]
    ) -> None:
        if self.closed:
            return
        self._serving = True
        # The loop calls listen() again with its own backlog (100 by default in asyncio and
        # uvloop): without passing ours, the loop's would win.
        server: asyncio.AbstractServer
        if self.unix:
            server = await loop.create_unix_server(factory, sock=self.sock, backlog=self.backlog)
        elif self.ssl is not None:
            server = await loop.create_server(
                factory, sock=self.sock.dup(), backlog=self.backlog, ssl=self.ssl
            )
        else:
            server = await loop.create_server(factory, sock=self.sock, backlog=self.backlog)
        previous, self.server = self.server, server
        if previous is not None:
            previous.close()
        if self.closed:
            server.close()

    def use_context(
        self,
        loop: asyncio.AbstractEventLoop | None,
        factory: Callable[[], asyncio.BaseProtocol],
        context: ssl.SSLContext,
    ) -> None:
        """Accept with ``context`` from now on (a TLS listener; the loop None: not serving
        yet). Connections already accepted keep the context they were made with."""
        self.ssl = context
        if loop is not None and self._task is not None and not self.closed:
            self._task = loop.create_task(self._serve(loop, factory))

    def close(self) -> None:
        self.closed = True
        if self.server is not None:
            self.server.close()
        if self.ssl is not None or not self._serving:
            # A TLS listener's server owns only a duplicate.
            self.sock.close()


def listen_address(entry: str) -> tuple[str, bool]:
    """A ``bind`` entry → (address, optional): ``-::1`` → (``::1``, True)."""
    if entry.startswith("-"):
        return entry[1:], True
    return entry, False


def _open_one(address: str, port: int, backlog: int) -> socket.socket:
    """A socket bound to ``address``:``port`` and listening; OSError whose text is Redis's
    reason (``bind: Address already in use``, ``Name or service not known``)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    host: str | None = address
    if address == "*" or (family == socket.AF_INET6 and address == "::*"):
        host = None
    try:
        candidates = socket.getaddrinfo(
            host, port, family, socket.SOCK_STREAM, 0, socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        raise OSError(exc.errno, str(exc.strerror)) from None
    for af, kind, proto, _, sockaddr in candidates:
        try:
            sock = socket.socket(af, kind, proto)
        except OSError:
            continue
        # Redis takes the first address it can make a socket for, and only that one.
        step = "setsockopt"
        try:
            if af == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            step = "bind"
            sock.bind(sockaddr)
            step = "listen"
            sock.listen(backlog)
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            raise OSError(exc.errno, f"{step}: {exc.strerror}") from None
        return sock
    raise OSError(errno.EINVAL, "unable to bind socket")


def open_listeners(
    entries: list[str], port: int, backlog: int, context: ssl.SSLContext | None = None
) -> tuple[list[Listener], int]:
    """Listen on every ``bind`` entry at ``port`` (0: a free port, the same for all entries),
    with TLS when ``context`` is given.

    Returns the listeners (skipped entries have none) and the port. Raises ListenError, having
    closed what it opened, when a required entry fails."""
    listeners: list[Listener] = []
    for entry in entries:
        address, optional = listen_address(entry)
        try:
            sock = _open_one(address, port, backlog)
        except OSError as exc:
            log.warning(
                "Warning: Could not create server TCP listening socket %s:%d: %s",
                address,
                port,
                exc.strerror,
            )
            if (exc.errno == errno.EADDRNOTAVAIL and optional) or exc.errno in _UNSUPPORTED:
                continue
            for listener in listeners:
                listener.close()
            raise ListenError(
                f"Could not create server TCP listening socket {address}:{port}: {exc.strerror}"
            ) from None
        if port == 0:
            port = sock.getsockname()[1]
        listeners.append(Listener(address, port, sock, backlog, context))
    return listeners, port


# The room for a path in struct sockaddr_un on Linux (sun_path).
_SUN_PATH = 108


def open_unix_listener(path: str, perm: int, backlog: int) -> Listener:
    """Listen on the Unix socket ``path`` (a file there before is removed first); the file
    gets the permission bits ``perm`` unless it is 0. ListenError with Redis's reason."""
    if len(path.encode()) > _SUN_PATH - 1:
        raise ListenError(
            f"unix socket path too long ({len(path.encode())}), must be under {_SUN_PATH}"
        )
    with contextlib.suppress(OSError):
        os.unlink(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    step = "bind"
    try:
        sock.bind(path)
        if perm:
            step = "chmod"
            os.chmod(path, perm)
        step = "listen"
        sock.listen(backlog)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        raise ListenError(f"{step}: {exc.strerror}") from None
    return Listener(path, 0, sock, backlog)


def check_somaxconn(backlog: int) -> None:
    """Warn, as Redis does, when the kernel caps listen queues below ``backlog``."""
    try:
        with open(SOMAXCONN_PATH, encoding="ascii") as fh:
            somaxconn = int(fh.read().strip() or "0")
    except (OSError, ValueError):
        return
    if 0 < somaxconn < backlog:
        log.warning(
            "WARNING: The TCP backlog setting of %d cannot be enforced because %s is set to "
            "the lower value of %d.",
            backlog,
            SOMAXCONN_PATH,
            somaxconn,
        )
