"""A script that runs past ``busy-reply-threshold``: the other clients meanwhile (Redis's
``scriptInterrupt`` and ``processEventsWhileBlocked``).

A script runs inside one command, without giving the event loop a turn. Its count hook asks
the engine every 100,000 Lua instructions whether to go on (:meth:`zyst.scripting.engine.Engine
.interrupt`). Once the script has run longer than the threshold it is *busy*:

- :func:`enter` marks it as :attr:`ServerContext.busy` and sets the :data:`~zyst.commands.modes
  .BUSY` mode bit of every client but its caller, so that their commands come to
  :func:`_while_busy`: the commands flagged ``allow_busy`` (SCRIPT KILL, FUNCTION KILL,
  SHUTDOWN, MULTI, DISCARD, WATCH, UNWATCH, AUTH, HELLO, QUIT, RESET, ...) run, every other one
  is refused with ``-BUSY`` (inside MULTI it also dooms the transaction, and EXEC itself
  answers ``-EXECABORT``), as Redis's ``processCommand`` does;
- from then on every hook call runs one :meth:`EventPump.step`: whatever the other clients
  sent is read and answered, and new connections are accepted, from inside the hook. The
  event loop itself cannot turn (the script is one of its callbacks), so the pump polls the
  sockets itself: the clients' sockets with the loop's transports still owning them (a
  transport writes at once when the socket takes the bytes), the listening sockets accepted
  on directly. A connection accepted meanwhile gets a :class:`SocketTransport` of the pump's
  and is handed to the loop when the script ends. Timers do not run meanwhile (no cron, no
  active expiry, no timeouts), as in Redis. The caller's own socket is not read: what it
  pipelined behind the script waits, as Redis protects that client;
- :func:`leave` undoes both when the script ends, killed or not.

Invariant: :attr:`ServerContext.busy` is set exactly while a script that ran past the threshold
is still running, and exactly then every client other than its caller has the BUSY bit.
"""

from __future__ import annotations

import logging
import os
import selectors
import socket
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, cast

from zyst import errors
from zyst.commands import modes
from zyst.commands.table import Command, Reply, resolve
from zyst.protocol.resp import ErrorReply

if TYPE_CHECKING:
    import asyncio

    from zyst.client import Client
    from zyst.connection import Connection
    from zyst.context import ServerContext
    from zyst.listeners import Listener
    from zyst.scripting.engine import Run

log = logging.getLogger("zyst")


def busy_error(run: Run) -> str:
    """The ``-BUSY`` error for the kind of script ``run`` is (EVAL script or function)."""
    return errors.BUSY_EVAL if run.is_eval else errors.BUSY_FUNCTION


def enter(ctx: ServerContext, run: Run) -> None:
    """``run`` has gone past the threshold: the other clients get BUSY from now on."""
    ctx.busy = run
    for client in ctx.clients.values():
        if client is not run.caller:
            client.mode |= modes.BUSY


def leave(ctx: ServerContext) -> None:
    """The busy script ended: every client runs commands again."""
    ctx.busy = None
    for client in ctx.clients.values():
        client.mode &= ~modes.BUSY
    pump = ctx.busy_pump
    if pump is not None:
        pump.finish()


def _while_busy(client: Client, argv: list[bytes]) -> Reply:
    """A command of another client while a script is busy."""
    ctx = client.ctx
    run = ctx.busy
    found = resolve(argv)
    if run is not None and isinstance(found, Command) and "allow_busy" not in found.flags:
        message = busy_error(run)
        ctx.stats.rejected_calls += 1
        found.rejected_calls += 1
        client.last_command = found.wire_name
        if found.name == "exec":
            from zyst.commands.transactions import abort_exec

            return abort_exec(client, message)
        if client.mode & modes.MULTI:
            client.multi_error = True
        return ErrorReply(message)
    # Allowed, or refused by call() for a reason Redis checks first (unknown command, arity):
    # as if the client were in no busy mode (MULTI may still queue it).
    client.mode &= ~modes.BUSY
    try:
        return modes.call_in_mode(client, argv)
    finally:
        if ctx.busy is not None and client.id in ctx.clients:
            client.mode |= modes.BUSY


# (After the subscribed mode and before MONITOR and PAUSE, as in Redis's processCommand.)
modes.route(modes.BUSY, 3, _while_busy)


class SocketTransport:
    """The transport of a connection accepted while a script is busy, until the event loop
    takes the socket over (:meth:`EventPump.finish`): writes go straight to the non-blocking
    socket, and what it does not take waits in ``unsent`` for the next step or for the loop's
    transport."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.unsent = bytearray()
        self.closing = False

    def write(self, data: bytes) -> None:
        if self.closing:
            return
        self.unsent += data
        self.flush()

    def flush(self) -> None:
        """Send what the socket takes now."""
        if not self.unsent or self.closing:
            return
        try:
            sent = self.sock.send(self.unsent)
        except BlockingIOError:
            return
        except OSError:
            self.unsent.clear()
            return
        del self.unsent[:sent]

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.flush()
        self.closing = True

    def abort(self) -> None:
        self.unsent.clear()
        self.closing = True

    def get_write_buffer_size(self) -> int:
        return len(self.unsent)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        try:
            if name == "peername":
                return self.sock.getpeername()
            if name == "sockname":
                return self.sock.getsockname()
        except OSError:
            return default
        if name == "socket":
            return self.sock
        return default


def _fd_of(conn: Connection) -> int:
    """The file descriptor of ``conn``'s socket, or -1 (also for a TLS connection: its bytes
    need the loop's TLS layer, so it waits until the script ends)."""
    transport = conn.transport
    if transport is None or transport.is_closing():
        return -1
    if transport.get_extra_info("sslcontext") is not None:
        return -1
    sock = transport.get_extra_info("socket")
    try:
        return int(sock.fileno()) if sock is not None else -1
    except (OSError, ValueError):
        return -1


class EventPump:
    """The server's clients and listeners served from inside a busy script (one server)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        connections: set[Connection],
        listeners: Callable[[], Iterable[Listener]],
        factory: Callable[[], Connection],
    ) -> None:
        self.loop = loop
        self.connections = connections
        self.listeners = listeners
        self.factory = factory
        self.selector: selectors.BaseSelector | None = None
        # Connections accepted while busy, with the socket the loop will take over.
        self.accepted: dict[Connection, socket.socket] = {}

    def step(self, caller: Client) -> None:
        """Read and answer what the other clients sent, accept who connected; never waits."""
        selector = self.selector
        if selector is None:
            selector = self.selector = self._watch(caller)
        for conn in self.accepted:
            transport = conn.transport
            if isinstance(transport, SocketTransport):
                transport.flush()
        for key, _ in selector.select(0):
            if isinstance(key.data, socket.socket):
                self._accept(key.data)
            else:
                self._read(key.fd, key.data)

    def _watch(self, caller: Client) -> selectors.BaseSelector:
        selector = selectors.DefaultSelector()
        for conn in self.connections:
            if conn.client is caller or conn.reading_paused:
                # (A client whose output backlog paused reading stays unread here too.)
                continue
            fd = _fd_of(conn)
            if fd >= 0:
                selector.register(fd, selectors.EVENT_READ, conn)
        for listener in self.listeners():
            # A TLS client accepted here could not be served before the script ends: it
            # waits in the listen queue instead.
            if listener.closed or listener.ssl is not None:
                continue
            try:
                sock = socket.socket(fileno=os.dup(listener.sock.fileno()))
            except OSError:
                continue
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ, sock)
        return selector

    def _accept(self, listening: socket.socket) -> None:
        assert self.selector is not None
        while True:
            try:
                sock, _ = listening.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.warning("Accepting a client while a script is busy failed: %s", exc)
                return
            sock.setblocking(False)
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = self.factory()
            conn.connection_made(cast(Any, SocketTransport(sock)))
            if conn.transport is None or conn.transport.is_closing():
                # Refused at once (maxclients): its error is written; the socket goes.
                conn.connection_lost(None)
                sock.close()
                continue
            self.accepted[conn] = sock
            self.selector.register(sock.fileno(), selectors.EVENT_READ, conn)

    def _read(self, fd: int, conn: Connection) -> None:
        assert self.selector is not None
        try:
            data = os.read(fd, 65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if data:
            conn.data_received(data)
            return
        # The peer is gone. The loop sees it too, once it turns, for the sockets it owns.
        self.selector.unregister(fd)
        if isinstance(conn.transport, SocketTransport):
            conn.transport.abort()
            conn.connection_lost(None)
            self.accepted.pop(conn).close()

    def finish(self) -> None:
        """The script ended: stop polling, and hand the connections accepted meanwhile to the
        event loop (the same :class:`Connection`, its client and its state kept)."""
        selector, self.selector = self.selector, None
        if selector is not None:
            for key in list(selector.get_map().values()):
                if isinstance(key.data, socket.socket):
                    key.data.close()
            selector.close()
        accepted, self.accepted = self.accepted, {}
        for conn, sock in accepted.items():
            if conn.transport is None or conn.transport.is_closing():
                conn.connection_lost(None)
                sock.close()
                continue
            self.loop.create_task(self._hand_over(conn, sock))

    async def _hand_over(self, conn: Connection, sock: socket.socket) -> None:
        try:
            await self.loop.connect_accepted_socket(lambda: conn, sock)
        except OSError as exc:
            log.warning("Handing a client accepted while a script was busy failed: %s", exc)
            conn.connection_lost(exc)
            sock.close()
