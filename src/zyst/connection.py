"""One client connection: bytes from the socket → parser → dispatcher → one batched write.

The :class:`Connection` only moves bytes. Everything a client *is* lives in
:class:`zyst.client.Client`; every command runs through :func:`zyst.commands.table.call`.

Invariants:

- All the replies produced from one read leave in one ``transport.write``.
- No reply leaves before the AOF holds the writes it acknowledges (and has fsynced them under
  ``appendfsync always``): replies wait at the :class:`ReplyGate`, which the server opens once
  per event loop turn after one write (+ fsync) for every client (group commit).
- A protocol error is answered with Redis's message and the connection is closed after it; the
  commands before the bad bytes still run.
- Output for a client that is not the reply to its own command (pub/sub messages) goes through
  :meth:`Connection.push` (``Client.push``): after every reply the client was already given,
  held ones included, and before the later ones; while the client's own batch runs, into that
  batch's output at that point.
- ``client-output-buffer-limit``: when output is added for a client whose class has limits
  (a subscriber: "pubsub"; anyone else: "normal", unlimited by default), its pending output
  (what the transport has not sent yet plus what the gate holds) is measured; past the hard
  limit, or past the soft one for longer than its seconds, the connection is dropped at once,
  its pending output discarded, as Redis does. A batch of replies or a push that would by
  itself bring the pending output to the hard limit drops the client before any of it is sent
  (Redis counts replies as it makes them, before writing). Otherwise replies are measured
  only while the transport holds unsent bytes (it tells the protocol: ``pause_writing``, with
  a high-water mark of 0), so a client that reads its replies costs nothing; pushes are
  measured always.
- Reading pauses while output is backlogged: once a client's pending output reaches
  :data:`READ_PAUSE_BOUND` (checked on the same occasions as the limits, never per command),
  the transport stops reading from it until everything pending has been sent
  (``resume_writing``). A client that never reads its replies is thus dropped at its class's
  limit when that is lower, and otherwise costs the server at most about the bound plus the
  output of one read's commands (Redis, with no limit, buffers without end).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from time import monotonic
from typing import Any, cast

from zyst import errors
from zyst.blocking import Blocked, Postponed, Waiter
from zyst.client import Client
from zyst.commands import guard, monitor
from zyst.commands.connection import client_line
from zyst.commands.modes import BUSY, MONITORING, call_in_mode
from zyst.commands.table import call, lookup
from zyst.config import OUTPUT_NORMAL, OUTPUT_PUBSUB, OUTPUT_REPLICA, Config, OutputLimit
from zyst.context import ServerContext
from zyst.errors import MAX_CLIENTS_REACHED
from zyst.protocol.resp import (
    NULL_ARRAY,
    QUERY_BUFFER_OVERFLOW,
    ErrorReply,
    RequestParser,
    Status,
    encode_error,
    encode_integer,
    encode_reply,
)
from zyst.timing import account, count_unblocked

log = logging.getLogger("zyst")

MAX_CLIENTS_ERROR = b"-%s\r\n" % MAX_CLIENTS_REACHED.encode()

# Pending output (bytes given to the transport and not yet sent, plus replies waiting for the
# AOF) past which the server stops reading from a client until it has all been sent. High
# enough that a client pipelining a big batch before reading the replies (as redis-py's
# pipelines do) is rarely held up, low enough that a client that never reads cannot cost more.
READ_PAUSE_BOUND = 64 * 1024 * 1024

# The client's read buffer (Redis's query buffer): its size for ordinary reads (Redis's
# PROTO_IOBUF_LEN), the rest of an element from which it is sized to take it in one read
# (PROTO_MBULK_BIG_ARG), the size above which the cron may shrink it to the recent peak
# (PROTO_RESIZE_THRESHOLD), and its largest size (one read never brings more: what uvloop's
# own read buffer holds, so a big pipeline takes no more reads than before).
READ_BUFFER = 16 * 1024
BIG_ELEMENT = 32 * 1024
RESIZE_THRESHOLD = 32 * 1024
MAX_READ_BUFFER = 256 * 1024
# Idle seconds after which the cron gives a client's read buffer back, and the spare bytes
# below which it is not worth it (Redis's clientsCronResizeQueryBuffer).
READ_BUFFER_IDLE = 2.0
READ_BUFFER_SLACK = 4 * 1024

_NO_BUFFER = memoryview(bytearray())


class ReplyGate:
    """Holds replies until the AOF writes they acknowledge are durable.

    ``hold(conn, data, need, wrote, close)`` queues bytes for a connection that may leave once
    the AOF is durable up to offset ``need`` (see
    :meth:`zyst.propagation.Propagation.hold_offset`); ``wrote`` says whether the batch changed
    data itself, or only read in a turn where others wrote; ``close`` whether the connection
    closes after these bytes (QUIT, a protocol error). It asks for one release at the end of the
    current loop turn. ``release`` runs ``flush`` (write, and fsync under ``always``: one for
    every client, a group commit), which returns the durable offset, then writes every held
    reply that offset covers. A connection's replies leave in the order they were made: one
    still held keeps its later ones behind it.

    When the write fails (a full disk under ``everysec``/``no``: ``failing()`` is true), the
    replies of batches that wrote stay held until a later release succeeds (the server releases
    again on every cron tick while anything is held, and as soon as the error clears); those
    that only read leave at once, as in Redis, where reads go on while writes are refused, even
    a read that saw a write of the failed batch.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        flush: Callable[[], int],
        failing: Callable[[], bool],
    ):
        self._loop = loop
        self._flush = flush
        self._failing = failing
        self._held: list[tuple[Connection, bytes, int, bool, bool]] = []
        self._scheduled = False

    def hold(self, conn: Connection, data: bytes, need: int, wrote: bool, close: bool) -> None:
        conn.held_replies += 1
        conn.held_bytes += len(data)
        self._held.append((conn, data, need, wrote, close))
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self.release)

    def release(self) -> None:
        self._scheduled = False
        durable = self._flush()
        held = self._held
        if not held:
            return
        self._held = []
        reads_go_on = self._failing()
        waiting: set[Connection] = set()
        for entry in held:
            conn = entry[0]
            if (entry[2] <= durable or (reads_go_on and not entry[3])) and conn not in waiting:
                conn.held_replies -= 1
                conn.held_bytes -= len(entry[1])
                conn.write_now(entry[1], entry[4])
            else:
                waiting.add(conn)
                self._held.append(entry)

    def pending(self) -> int:
        """Replies still held (for INFO and tests)."""
        return len(self._held)


class Connection(asyncio.BufferedProtocol):
    """The asyncio protocol of one client socket (a buffered one: the event loop reads into
    the client's own buffer, :meth:`get_buffer`)."""

    def __init__(
        self,
        ctx: ServerContext,
        hold_offset: Callable[[bool], int],
        gate: ReplyGate | None,
        on_close: Callable[[Connection], None] | None = None,
    ) -> None:
        self.ctx = ctx
        # Called after each batch of commands: how far the AOF must be durable before the
        # batch's replies may leave (0: at once).
        self._hold_offset = hold_offset
        self._gate = gate
        self._on_close = on_close
        self.parser = RequestParser(
            ctx.config.proto_max_bulk_len, ctx.config.client_query_buffer_limit
        )
        self.transport: asyncio.Transport | None = None
        self.client: Client | None = None
        self._closing = False
        # Replies of this connection waiting at the gate: later ones must queue behind them.
        self.held_replies = 0
        self.held_bytes = 0
        # The output of the batch being run, while it runs: where pushes to this client go.
        self._out: list[bytes] | None = None
        # Output not held to the limits (push(counted=False): a replica's snapshot or backlog):
        # the bytes of the current batch so sent, and how much of the pending output is such
        # (taken as its head: it shrinks as the output drains, see counted_output).
        self._exempt_batch = 0
        self._exempt = 0
        # When the pending output last rose to the soft output limit (0: it is below), and the
        # timer that checks it again once the limit's seconds have passed.
        self._soft_since = 0.0
        self._soft_timer: asyncio.TimerHandle | None = None
        # Whether the transport holds bytes the socket did not take (pause_writing).
        self._backlogged = False
        # Whether reading is paused because of the backlog (READ_PAUSE_BOUND).
        self.reading_paused = False
        # The pending output the clients cron saw at its last visit (zyst.clientscron).
        self.output_at_visit = 0
        # Output of this size or more is checked against the hard output limits before it is
        # sent (see output_check_of); kept up to date by the server on CONFIG SET.
        self.output_check = output_check_of(ctx.config)
        # While a blocking command waits: its registration, and the commands behind it.
        self._waiter: Waiter | None = None
        self._pending: list[list[bytes]] = []
        # The read buffer (empty until the first read, and after the cron gives it back), its
        # size, whether the last read filled it (the next one gets a bigger buffer), and the
        # most one read brought since the cron's last visit.
        self._read_view = _NO_BUFFER
        self._read_size = 0
        self._read_full = False
        self.read_peak = 0

    # -- asyncio callbacks -------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, only alike.
        previous = self.transport
        self.transport = transport = cast(asyncio.Transport, transport)
        ctx = self.ctx
        if self.client is not None:
            # Accepted while a script was busy (zyst.busy), now handed to the loop: the same
            # client goes on, and what the socket did not take yet is sent first.
            self.client.transport_info = transport
            self.reading_paused = False
            self._watch_output(transport)
            unsent = getattr(previous, "unsent", b"")
            if unsent:
                transport.write(bytes(unsent))
            return
        config = ctx.config
        if len(ctx.clients) >= config.maxclients:
            # (Not counted in total_connections_received, as in Redis.)
            ctx.stats.rejected_connections += 1
            transport.write(MAX_CLIENTS_ERROR)
            transport.close()
            self._closing = True
            return
        if guard.refuses_connection(ctx, transport):
            # Protected mode: Redis's explanation, then the connection is closed. Not counted
            # as a connection received, as in Redis.
            ctx.stats.rejected_connections += 1
            transport.write(errors.PROTECTED_MODE_DENIED)
            transport.close()
            self._closing = True
            return
        ctx.stats.total_connections_received += 1
        if config.tcp_keepalive:
            keep_alive(transport, config.tcp_keepalive)
        sockname = transport.get_extra_info("sockname")
        if isinstance(sockname, str):
            # A Unix socket: Redis names both ends by the socket's path, port 0.
            peer = local = f"{sockname}:0"
        else:
            peer = _format_addr(transport.get_extra_info("peername"))
            local = _format_addr(sockname)
        client = Client(ctx, ctx.new_client_id(), peer, local)
        client.transport_info = transport
        client.push = self.push
        self.client = client
        guard.admit(client)
        self._watch_output(transport)
        if ctx.busy is not None:
            client.mode |= BUSY
        ctx.clients[client.id] = client

    def _watch_output(self, transport: asyncio.Transport) -> None:
        # Told of the first byte the socket does not take at once (pause_writing): only then
        # can the output limits be reached. (Test doubles of transports may lack the method.)
        set_limits = getattr(transport, "set_write_buffer_limits", None)
        if set_limits is not None:
            set_limits(0, 0)

    def get_buffer(self, sizehint: int) -> memoryview:
        """Where the event loop puts the next read: the client's read buffer, made or resized
        first when it is missing, was filled by the last read, or is smaller than the rest of a
        big element on its way."""
        size = self._read_size
        if size < READ_BUFFER or self._read_full or self.parser.awaiting() > size:
            return self._size_read_buffer()
        return self._read_view

    def _size_read_buffer(self) -> memoryview:
        size = max(self._read_size, READ_BUFFER)
        if self._read_full:
            size *= 2
        left = self.parser.awaiting()
        if left >= BIG_ELEMENT and left > size:
            size = left
        size = min(size, MAX_READ_BUFFER)
        self._read_full = False
        if size != self._read_size:
            self._read_view = memoryview(bytearray(size))
            self._read_size = size
        return self._read_view

    def buffer_updated(self, nbytes: int) -> None:
        """``nbytes`` were read into the read buffer: copied out and handled as one read."""
        if nbytes >= self._read_size:
            self._read_full = True
        if nbytes > self.read_peak:
            self.read_peak = nbytes
        self.data_received(self._read_view[:nbytes].tobytes())

    def resize_read_buffer(self, now: float) -> None:
        """The clients cron's care of the read buffer, as Redis's for its query buffer: given
        back when the client has been idle over :data:`READ_BUFFER_IDLE` seconds; otherwise,
        when it is over :data:`RESIZE_THRESHOLD` and more than twice what any read brought since
        the last visit, shrunk to that (or to what a big element still to come needs); only
        ever when that frees more than :data:`READ_BUFFER_SLACK` bytes. The peak starts again."""
        size = self._read_size
        client = self.client
        if size > READ_BUFFER_SLACK and client is not None:
            if now - client.last_interaction > READ_BUFFER_IDLE:
                self._read_view = _NO_BUFFER
                self._read_size = 0
                self._read_full = False
            elif size > RESIZE_THRESHOLD and size // 2 > self.read_peak:
                keep = max(self.read_peak, min(self.parser.awaiting(), MAX_READ_BUFFER))
                if size - keep > READ_BUFFER_SLACK:
                    self._read_view = memoryview(bytearray(keep)) if keep else _NO_BUFFER
                    self._read_size = keep
                    self._read_full = False
        self.read_peak = 0

    @property
    def read_buffer_size(self) -> int:
        """The size of the read buffer now (CLIENT LIST's ``qbuf-free``)."""
        return self._read_size

    def data_received(self, data: bytes) -> None:
        client = self.client
        if client is None or self._closing:
            return
        self.ctx.stats.total_net_input_bytes += len(data)
        commands = self.parser.feed(data)
        if self._waiter is not None or self._pending:
            # Parked by a blocking command, or about to resume after one: what arrives waits
            # behind the commands already waiting.
            self._pending += commands
            return
        self._run(client, commands)

    def _run(self, client: Client, commands: list[list[bytes]]) -> None:
        """Run ``commands`` in order and send their replies in one write; stop at a command
        that blocks, keeping the rest for :meth:`_resume`."""
        parser = self.parser
        out: list[bytes] = []
        self._out = out
        stats = self.ctx.stats
        dirty = self.ctx.dirty
        ran = len(commands)
        # One clock read before the batch and one after it time all its commands (zyst.timing).
        start = monotonic()
        # The hot path: the three commonest reply types are encoded inline, the rest by
        # encode_reply (which also knows RESP3).
        for index, argv in enumerate(commands):
            reply = call(client, argv) if not client.mode else call_in_mode(client, argv)
            kind = type(reply)
            if kind is bytes:
                value = cast(bytes, reply)
                out.append(b"$%d\r\n%s\r\n" % (len(value), value))
            elif kind is Status:
                out.append(cast(Status, reply).encoded)
            elif kind is int:
                out.append(encode_integer(cast(int, reply)))
            elif kind is Blocked:
                ran = index + 1
                self._park(client, cast(Blocked, reply), argv, commands[ran:])
                break
            else:
                if kind is ErrorReply:
                    stats.count_error(reply.message)
                encode_reply(reply, client.resp3, out)
            if client.close_after_reply:
                if client.close_asap:
                    out.clear()  # nothing of this read is sent
                break
        if parser.error is not None and not client.close_after_reply and self._waiter is None:
            if parser.error is QUERY_BUFFER_OVERFLOW:
                log.warning(
                    "Closing client that reached max query buffer length: %s",
                    client_line(client).decode("utf-8", "replace"),
                )
            else:
                stats.count_error(parser.error)
                out.append(encode_error(parser.error))
                log.debug("protocol error from client %s: %s", client.addr, parser.error)
            client.close_after_reply = True
        self._out = None
        end = monotonic()
        # (Part of a request counts as interaction too, as any read does in Redis: `timeout`.)
        client.last_interaction = end
        if commands:
            stats.total_commands_processed += ran
        waiter = self._waiter
        # (A command held back by CLIENT PAUSE did not run: there is nothing to take back.)
        parked = waiter.argv if waiter is not None and waiter.kind is not Postponed else None
        account(client, end - start, parked)
        payload = out[0] if len(out) == 1 else b"".join(out)
        self._send(payload, self.ctx.dirty != dirty, client.close_after_reply)
        if parser.held and self._waiter is None and not self._closing:
            self._release_held(client)

    def _release_held(self, client: Client) -> None:
        """Requests held back because a client that must log in sent one over Redis's limits
        for such clients (RequestParser.limited), now that the commands before it ran: a
        protocol error if it still must log in, else parsed and run."""
        parser = self.parser
        if guard.must_log_in(client):
            parser.refuse_held()
            self._run(client, [])
        else:
            self._run(client, parser.release_held())

    def _send(self, payload: bytes, wrote: bool, close: bool) -> None:
        """Send the replies of a batch: at once, or through the gate when they acknowledge
        AOF bytes not yet durable or must queue behind this client's earlier held replies."""
        exempt = self._exempt_batch
        if exempt:
            self._exempt_batch = 0
        counted = len(payload) - exempt
        if counted >= self.output_check and not self._fits(counted):
            return
        if close:
            self._closing = True  # nothing this client sends from now on runs
        gate = self._gate
        if gate is not None:
            need = self._hold_offset(wrote)
            if need or self.held_replies:
                # Behind an AOF write, or behind this client's own earlier replies still held.
                if exempt:
                    self._exempt = self.pending_output() + len(payload)
                gate.hold(self, payload, need, wrote, close)
                return
        if exempt:
            self._exempt = self.pending_output() + len(payload)
        self.write_now(payload, close)

    # -- output that is not a reply, and output limits -------------------------------------------
    def push(self, data: bytes, counted: bool = True) -> None:
        """Send ``data`` (whole RESP values) to this client outside the replies to its commands:
        into the output of its own batch if that is running (the client published to itself),
        else after its replies still held at the gate, else at once. ``counted`` False: not
        checked against the output limits (a replica's snapshot, which Redis sends apart from
        its output buffer)."""
        out = self._out
        if out is not None:
            out.append(data)  # checked against the limits when the batch is sent
            if not counted:
                self._exempt_batch += len(data)
            return
        transport = self.transport
        if self._closing or transport is None or transport.is_closing():
            return
        if not counted:
            self._exempt = self.pending_output() + len(data)
        elif len(data) >= self.output_check and not self._fits(len(data)):
            return
        gate = self._gate
        if gate is not None:
            # Like a read: after the AOF holds every change made so far (a notification of a
            # write must not get ahead of it), and after this client's held replies.
            need = self._hold_offset(False)
            if need or self.held_replies:
                gate.hold(self, data, need, False, False)
                self._output_added()
                return
        transport.write(data)
        self.ctx.stats.total_net_output_bytes += len(data)
        self._output_added()

    def _fits(self, size: int) -> bool:
        """Whether ``size`` more bytes of output keep this client below its class's hard limit;
        if not, the client is dropped before any of them is sent. (Redis counts a reply against
        the limit as it is made, before writing: a reply bigger than the limit is never sent,
        whether or not the client reads.)"""
        client = self.client
        if client is None:
            return True
        limit = self.ctx.config.client_output_buffer_limit[output_class(client)]
        if limit.hard and self.counted_output() + size >= limit.hard:
            transport = self.transport
            if transport is not None and not transport.is_closing() and not self._closing:
                self._drop_for_output()
            return False
        return True

    def pause_writing(self) -> None:
        """The transport holds bytes the socket did not take: the output limits may be near."""
        self._backlogged = True
        self._output_added()

    def resume_writing(self) -> None:
        """Everything the transport held has been sent: below any soft limit, and reading goes
        on if the backlog had paused it."""
        self._backlogged = False
        self._soft_since = 0.0
        client = self.client
        if client is not None:
            # Sending to a client counts as interaction (`timeout`), as in Redis: a slow reader
            # that took its backlog is not idle.
            client.last_interaction = monotonic()
        if self.reading_paused:
            self.reading_paused = False
            transport = self.transport
            if transport is not None and not transport.is_closing():
                transport.resume_reading()

    def _output_added(self) -> None:
        """Enforce the output limits of this client's class, if it has any; pause reading
        from a client whose backlog reached READ_PAUSE_BOUND."""
        client = self.client
        if client is None:
            return
        limit = self.ctx.config.client_output_buffer_limit[output_class(client)]
        if limit.hard or limit.soft:
            self._check_output(limit)
        if self._backlogged and not self.reading_paused and not self._closing:
            transport = self.transport
            if (
                transport is not None
                and not transport.is_closing()
                and self.pending_output() >= READ_PAUSE_BOUND
            ):
                self.reading_paused = True
                transport.pause_reading()

    def pending_output(self) -> int:
        """Bytes given to this client and not yet sent: in the transport and held at the gate."""
        transport = self.transport
        if transport is None:
            return self.held_bytes
        return transport.get_write_buffer_size() + self.held_bytes

    def counted_output(self) -> int:
        """:meth:`pending_output` less the bytes sent outside the limits (push(counted=False)),
        which are taken to be the first to leave."""
        pending = self.pending_output()
        exempt = self._exempt
        if not exempt:
            return pending
        if exempt > pending:
            exempt = self._exempt = pending
        return pending - exempt

    def pending_input(self) -> int:
        """Bytes of input held for this client: the read buffer, the bytes not parsed yet of a
        request not complete (Redis's ``qbuf``) and its arguments already read (``argv-mem``)."""
        parser = self.parser
        return self._read_size + parser.pending_bytes() + parser.partial_argv_bytes()

    def _check_output(self, limit: OutputLimit) -> None:
        transport = self.transport
        if self._closing or transport is None or transport.is_closing():
            return
        used = self.counted_output()
        if limit.hard and used >= limit.hard:
            self._drop_for_output()
        elif limit.soft and used >= limit.soft:
            now = monotonic()
            if not self._soft_since:
                self._soft_since = now
            elif now - self._soft_since > limit.seconds:
                self._drop_for_output()
                return
            # Checked again once the time is up, should no more output come to check it.
            if self._soft_timer is None:
                delay = self._soft_since + limit.seconds + 0.05 - now
                try:
                    loop = asyncio.get_running_loop()
                except RuntimeError:  # driven without an event loop (tests, benchmarks)
                    return
                self._soft_timer = loop.call_later(max(delay, 0.0), self._soft_expired)
        else:
            self._soft_since = 0.0

    def _soft_expired(self) -> None:
        self._soft_timer = None
        self._output_added()

    def _drop_for_output(self) -> None:
        """Close at once, discarding what was not sent (Redis's freeClient): the client is past
        its output limit."""
        client = self.client
        transport = self.transport
        assert client is not None and transport is not None
        log.warning(
            "Client id=%d addr=%s laddr=%s name=%s closed for overcoming of output buffer limits.",
            client.id,
            client.addr,
            client.laddr,
            client.name.decode("utf-8", "replace"),
        )
        self._closing = True
        transport.abort()

    @property
    def running(self) -> bool:
        """Whether this connection's commands are running now (Redis's current client)."""
        return self._out is not None

    # -- blocking commands (zyst.blocking) -----------------------------------------------------
    @property
    def blocked(self) -> bool:
        """Whether a blocking command of this client is waiting (CLIENT LIST's ``b`` flag)."""
        return self._waiter is not None

    def _park(
        self, client: Client, blocked: Blocked, argv: list[bytes], rest: list[list[bytes]]
    ) -> None:
        served = self._retry if blocked.kind is Postponed else self._served
        waiter = Waiter(client, argv, blocked, served, self._timed_out)
        self._waiter = waiter
        self._pending = rest
        self.ctx.blocking.park(waiter, blocked.deadline_ms)

    def _served(self, reply: object) -> None:
        """The blocked command ran again and did its work: reply, then run what waited."""
        waiter = self._waiter
        self._waiter = None
        client = self.client
        if client is None:
            return
        out: list[bytes] = []
        if isinstance(reply, ErrorReply):
            self.ctx.stats.count_error(reply.message)
            if waiter is not None and reply.message.startswith("UNBLOCKED"):
                # CLIENT UNBLOCK ... ERROR: the command ends without running again.
                count_unblocked(lookup(waiter.argv[0]), True)
        encode_reply(reply, client.resp3, out)
        # (Closed after it when the wait was ended for good: the server turned replica.)
        self._send(b"".join(out), True, client.close_after_reply)
        self._resume_soon()

    def _retry(self, reply: object) -> None:
        """The command held back by CLIENT PAUSE runs again, from the start, then what waited
        behind it."""
        waiter = self._waiter
        self._waiter = None
        if waiter is not None:
            self._pending.insert(0, waiter.argv)
        self._resume_soon()

    def _timed_out(self) -> None:
        waiter = self._waiter
        self._waiter = None
        client = self.client
        if client is None:
            return
        reply: object = NULL_ARRAY
        if waiter is not None:
            count_unblocked(lookup(waiter.argv[0]), False)
            if waiter.timeout_reply is not None:
                reply = waiter.timeout_reply()
        out: list[bytes] = []
        encode_reply(reply, client.resp3, out)
        self._send(b"".join(out), False, False)
        self._resume_soon()

    def _resume_soon(self) -> None:
        # Not at once: a client served in the middle of another client's command runs the rest
        # of its own pipeline in a turn of its own.
        call_soon = self.ctx.blocking.call_soon
        if call_soon is None:
            self._resume()
        else:
            call_soon(self._resume)

    def _resume(self) -> None:
        client = self.client
        if client is None or self._closing or self._waiter is not None:
            return
        pending, self._pending = self._pending, []
        if pending or self.parser.error is not None or self.parser.held:
            self._run(client, pending)

    def write_now(self, data: bytes, close: bool) -> None:
        """Send ``data`` now, then close the connection if ``close``."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if data:
            transport.write(data)
            self.ctx.stats.total_net_output_bytes += len(data)
            if self._backlogged:
                self._output_added()
        if close:
            transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._waiter is not None:
            # A blocked client that goes away is forgotten: nothing will be served to it.
            self.ctx.blocking.unpark(self._waiter)
            self._waiter = None
        if self._soft_timer is not None:
            self._soft_timer.cancel()
            self._soft_timer = None
        client = self.client
        if client is not None:
            self.ctx.clients.pop(client.id, None)
            if client.watching:
                self.ctx.signal.unwatch_all(client)
            if client.subscriptions is not None:
                self.ctx.pubsub.forget(client)
            if client.mode & MONITORING:
                monitor.stop(client)
            if client.tracking is not None:
                self.ctx.signal.tracking.disable(client)
            lost = client.on_lost
            if lost is not None:
                client.on_lost = None
                lost()
        if self._on_close is not None:
            self._on_close(self)
        self.transport = None

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def output_check_of(config: Config) -> int:
    """The smallest hard output limit of the client classes, or a size no output reaches when
    none has one: a batch of replies or a push at least this big is checked against the
    client's limit before it is sent; smaller ones cost nothing."""
    hard = [limit.hard for limit in config.client_output_buffer_limit if limit.hard]
    return min(hard) if hard else 1 << 62


def output_class(client: Client) -> int:
    """The client-output-buffer-limit class of ``client``: a replica attached to this server
    (zyst.replication.primary.Replica.attached), a subscriber, or a normal client."""
    replica = client.replica
    if replica is not None and replica.attached:
        return OUTPUT_REPLICA
    return OUTPUT_NORMAL if client.subscriptions is None else OUTPUT_PUBSUB


def keep_alive(transport: asyncio.BaseTransport, interval: int) -> None:
    """Turn TCP keepalive on for an accepted socket as Redis does (``tcp-keepalive``): the
    first probe after ``interval`` idle seconds, then one every third of it, and the peer
    counted gone after three unanswered. Not a TCP socket, or options this system lacks: left
    as it is."""
    sock = transport.get_extra_info("socket")
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        if hasattr(socket, "TCP_KEEPIDLE"):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, interval)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, max(interval // 3, 1))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 3)
    except OSError as exc:
        log.debug("tcp-keepalive not set on a client socket: %s", exc)


def _format_addr(info: Any) -> str:
    if not info:
        return ""
    if isinstance(info, tuple) and len(info) >= 2:
        host, port = info[0], info[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return str(info)
