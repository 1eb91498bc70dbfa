"""This server as a replica of another (Redis's ``replication.c``, the replica's half):
``REPLICAOF host port``, the link to the primary, the full and partial resynchronisations it
asks for, and the stream it applies.

The link's life (``Follower.state``, named as ROLE names them):

- ``connect``: a primary is set and no link is up; the cron connects (at once after REPLICAOF);
- ``connecting``: the TCP connection is being made;
- ``handshake``: ``PING``, ``AUTH`` (masteruser/masterauth), ``REPLCONF listening-port``,
  ``REPLCONF ip-address`` (replica-announce-ip), ``REPLCONF capa eof capa psync2``, then
  ``PSYNC <replid> <offset + 1>``, one command at a time, each reply read before the next;
- ``sync``: ``+FULLRESYNC <replid> <offset>``, then the snapshot, sized (``$<len>``) or
  EOF-marked (``$EOF:<40 bytes>`` ... the same 40 bytes), written to a temporary file beside
  ``dbfilename``, then moved over it and loaded in place of the dataset;
- ``connected``: the stream is applied, command by command, by the *master client* (CLIENT
  LIST's flag ``M``): its replies are dropped, it may write on a read-only replica, it expires
  nothing and sees keys past their deadline as they are (the primary's ``DEL`` will come).
  ``+CONTINUE [<replid>]`` leads straight here.

Offsets. The server's replication history (``replid``, ``replid2``, the offset, the backlog)
lives in :class:`~zyst.replication.primary.Primary`, whichever role the server has: a replica
takes its primary's ID and offset at a full sync, and each command it applies adds its bytes
to the offset and to the backlog and reaches its own replicas unchanged (a chain of replicas
shares one history: any of them can continue another's stream). ``REPLCONF ACK <offset>`` goes
to the primary every second and when the stream asks (``REPLCONF GETACK``). Promotion
(``REPLICAOF NO ONE``) keeps the history as ``replid2`` up to the offset reached and starts a
new ID, so former fellow replicas continue with ``+CONTINUE`` (PSYNC2).

Invariants: the offset counts exactly the bytes of the commands applied (never a command's
part); the master client exists only while ``connected``; while a primary is set, the server's
own writes (a writable replica's) reach neither its replicas nor the stream's offset.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Final, cast

import hiredis

from zyst import errors
from zyst.perserver import state_of
from zyst.protocol.resp import encode_command
from zyst.replication.primary import primary_of

if TYPE_CHECKING:
    from zyst.client import Client
    from zyst.context import ServerContext

log = logging.getLogger("zyst")

NONE: Final = "none"
CONNECT: Final = "connect"
CONNECTING: Final = "connecting"
HANDSHAKE: Final = "handshake"
TRANSFER: Final = "sync"
CONNECTED: Final = "connected"

# The EOF mark of a diskless transfer is this long (Redis's RDB_EOF_MARK_SIZE).
EOF_MARK_SIZE: Final = 40
# A line of the handshake, or of the snapshot's header, longer than this is no reply.
_MAX_LINE: Final = 64 * 1024
# Apply at most this many bytes of the stream per call, so that one read of a busy link
# cannot hold the event loop for long.
_BATCH: Final = 1 << 20


class Follower:
    """The replica side of one server's replication (see the module docstring)."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.host = ""
        self.port = 0
        self.state = NONE
        self.link: MasterLink | None = None
        # The master client, while connected.
        self.client: Client | None = None
        now = time.monotonic()
        self.last_io = now
        # When the link went down (0: never up since this primary was set).
        self.down_since = 0.0
        self.transfer_size = -1
        self.transfer_read = 0
        self.transfer_last_io = now
        self._last_ack = now
        self._last_attempt = 0.0
        # The database the primary's stream last selected: a partial resync continues there
        # (the stream does not SELECT again), a full sync starts from 0.
        self.db_index = 0
        # Whether PSYNC asks to continue our history (else ``? -1``): after any sync, or for
        # a primary turned replica.
        self.resume = False
        # Told when the role or the link's state changes (the server refreshes its refusals
        # and where its changes go), and when a full sync has replaced the dataset (the server
        # starts its AOF again from the new data).
        self.on_change: Callable[[], None] | None = None
        self.on_dataset_replaced: Callable[[], None] | None = None

    @property
    def following(self) -> bool:
        """Whether a primary is set (INFO's ``role:slave``)."""
        return bool(self.host)

    @property
    def link_up(self) -> bool:
        return self.state == CONNECTED

    # -- REPLICAOF ---------------------------------------------------------------------------
    def follow(self, host: str, port: int, resume: bool = True) -> None:
        """Replicate ``host``:``port`` from now on (dropping any link to another primary).
        The history so far is kept, and the first PSYNC asks to continue it unless not
        ``resume`` (``replicaof`` at start: ``PSYNC ? -1``, as Redis with no cached primary)."""
        was_primary = not self.following
        self._drop_link()
        # Clients blocked on keys would be served by our own writes no more: the primary's
        # data replaces them (CLIENT PAUSE's held commands run again later, as any).
        self.ctx.blocking.unblock_all(errors.UNBLOCKED_TURNED_REPLICA)
        self.host = host
        self.port = port
        self.resume = resume or self.resume
        self.ctx.config.replicaof = f"{host} {port}"
        if was_primary:
            primary_of(self.ctx).become_replica()
        self.state = CONNECT
        self.down_since = 0.0
        log.info("Connecting to MASTER %s:%d", host, port)
        self._changed()
        self.connect()

    def unfollow(self) -> None:
        """``REPLICAOF NO ONE``: a primary again, with a new history that continues this one."""
        if not self.following:
            return
        self.host = ""
        self.port = 0
        self.ctx.config.replicaof = ""
        self._drop_link()
        self.state = NONE
        self.down_since = 0.0
        primary_of(self.ctx).promote()
        self._changed()

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    # -- the link ----------------------------------------------------------------------------
    def connect(self) -> None:
        """Start connecting to the primary if no link is being made (needs a running loop)."""
        if self.state != CONNECT or self.link is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # (the cron will)
        link = self.link = MasterLink(self)
        self.state = CONNECTING
        self.last_io = self._last_attempt = time.monotonic()
        task = loop.create_task(link.open(self.host, self.port))
        link.task = task

    def _drop_link(self) -> None:
        link = self.link
        self.link = None
        if link is not None:
            link.close()
        self._forget_client()

    def _forget_client(self) -> None:
        client = self.client
        self.client = None
        if client is not None:
            self.db_index = client.db.index
            self.ctx.clients.pop(client.id, None)
            if client.watching:
                self.ctx.signal.unwatch_all(client)

    def link_lost(self, link: MasterLink, why: str) -> None:
        """``link`` closed or failed: connect again from the cron, resuming where we were."""
        if link is not self.link:
            return
        was_up = self.state == CONNECTED
        self.link = None
        self._forget_client()
        link.discard_transfer()
        if not self.following:
            return
        if was_up:
            log.info("Connection with master lost (%s).", why)
            self.down_since = time.monotonic()
        else:
            # (master_link_down_since_seconds stays -1 until the link has been up once.)
            log.warning("Master %s:%d: %s", self.host, self.port, why)
        self.state = CONNECT
        self._changed()

    def connected(self, client: Client) -> None:
        """The stream starts: ``client`` applies it."""
        self.client = client
        self.ctx.clients[client.id] = client
        self.resume = True
        self.state = CONNECTED
        self.down_since = 0.0
        self._last_ack = time.monotonic()
        self._changed()

    # -- acknowledgements and the cron -------------------------------------------------------
    def send_ack(self) -> None:
        """``REPLCONF ACK <offset>``: the stream applied so far."""
        link = self.link
        if link is not None and self.state == CONNECTED:
            link.write(encode_command([b"REPLCONF", b"ACK", b"%d" % link.applied_offset()]))

    def cron(self) -> None:
        """Every tick: connect when due, acknowledge every second, drop a link silent past
        ``repl-timeout`` (the primary pings every ``repl-ping-replica-period``)."""
        if not self.following:
            return
        now = time.monotonic()
        if self.state == CONNECT:
            # (Once a second, as Redis's replication cron: a primary that is down is not
            # hammered, nor the log filled.)
            if now - self._last_attempt >= 1.0:
                self.connect()
            return
        link = self.link
        if link is None:
            return
        if now - self.last_io > self.ctx.config.repl_timeout:
            what = "sync" if self.state == TRANSFER else "link"
            log.warning("Timeout on the MASTER %s: dropping it.", what)
            link.close()
            self.link_lost(link, "timeout")
            return
        if self.state == CONNECTED and now - self._last_ack >= 1.0:
            self._last_ack = now
            self.send_ack()

    # -- what INFO and ROLE show -------------------------------------------------------------
    def info_fields(self) -> list[tuple[str, object]]:
        """INFO replication's replica fields (after ``role:slave``), as Redis 7.0 lists them."""
        now = time.monotonic()
        offset = primary_of(self.ctx).offset
        link = self.link
        read_offset = link.read_offset() if link is not None and self.link_up else offset
        up = self.state == CONNECTED
        fields: list[tuple[str, object]] = [
            ("master_host", self.host),
            ("master_port", self.port),
            ("master_link_status", "up" if up else "down"),
            ("master_last_io_seconds_ago", int(now - self.last_io) if up else -1),
            ("master_sync_in_progress", int(self.state == TRANSFER)),
            ("slave_read_repl_offset", read_offset),
            ("slave_repl_offset", offset),
        ]
        if self.state == TRANSFER:
            size = self.transfer_size
            done = self.transfer_read
            perc = 100.0 * done / size if size > 0 else 0.0
            fields += [
                ("master_sync_total_bytes", size),
                ("master_sync_read_bytes", done),
                ("master_sync_left_bytes", size - done),
                ("master_sync_perc", f"{perc:.2f}"),
                ("master_sync_last_io_seconds_ago", int(now - self.transfer_last_io)),
            ]
        if not up:
            down = int(now - self.down_since) if self.down_since else -1
            fields.append(("master_link_down_since_seconds", down))
        config = self.ctx.config
        fields += [
            ("slave_priority", config.replica_priority),
            ("slave_read_only", int(config.replica_read_only)),
            ("replica_announced", int(config.replica_announced)),
        ]
        return fields

    def role(self) -> list[object]:
        """ROLE's reply for a replica: ``[slave, host, port, state, offset]``."""
        state = self.state
        offset = primary_of(self.ctx).offset if state == CONNECTED else -1
        return [b"slave", self.host.encode(), self.port, state.encode(), offset]


class MasterLink(asyncio.Protocol):
    """One connection to the primary: the handshake, the snapshot, then the stream."""

    def __init__(self, follower: Follower) -> None:
        self.follower = follower
        self.ctx = follower.ctx
        self.transport: asyncio.Transport | None = None
        self.task: asyncio.Task[None] | None = None
        self._closed = False
        self._buf = bytearray()
        # What to do with the next line of the handshake.
        self._expect: Callable[[str], None] | None = None
        self._steps: list[Callable[[], None]] = []
        # The full sync: the primary's ID and offset, the temporary file and how it ends.
        self._replid = ""
        self._offset = 0
        self._header_read = False
        self._file: int | None = None
        self._tmp_path = ""
        self._eof_mark = b""
        self._tail = b""
        # The stream: hiredis splits it; ``_applied`` counts the bytes of the buffer applied
        # in this call (their offset is added to the history at the end of each call).
        self._reader: hiredis.Reader | None = None
        self._streaming = False
        # Bytes applied but not yet in the history: an open MULTI's (its commands are only
        # queued; a link lost meanwhile drops them, and the primary sends them again). And
        # the history's offset of the command being applied.
        self._open = bytearray()
        self._at = 0

    # -- connecting ---------------------------------------------------------------------------
    async def open(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.create_connection(lambda: self, host, port)
        except OSError as exc:
            self.follower.link_lost(self, f"Error condition on socket for SYNC: {exc}")
            return
        if self._closed and self.transport is not None:
            self.transport.close()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # (uvloop's is no subclass)
        follower = self.follower
        if self._closed:
            transport.close()
            return
        follower.state = HANDSHAKE
        follower.last_io = time.monotonic()
        log.info("MASTER <-> REPLICA sync started")
        config = self.ctx.config
        steps: list[Callable[[], None]] = [self._send_ping]
        if config.masterauth:
            steps.append(self._send_auth)
        steps.append(self._send_port)
        if config.replica_announce_ip:
            steps.append(self._send_ip)
        steps += [self._send_capa, self._send_psync]
        self._steps = steps
        self._next_step()

    def write(self, data: bytes) -> None:
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.write(data)

    def close(self) -> None:
        self._closed = True
        if self.transport is not None:
            self.transport.close()
        self.discard_transfer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self.follower.link_lost(self, str(exc) if exc else "the primary closed the connection")

    def _fail(self, why: str) -> None:
        self.close()
        self.follower.link_lost(self, why)

    # -- the handshake ------------------------------------------------------------------------
    def _next_step(self) -> None:
        self._steps.pop(0)()

    def _command(self, argv: list[bytes], then: Callable[[str], None]) -> None:
        self._expect = then
        self.write(encode_command(argv))

    def _send_ping(self) -> None:
        self._command([b"PING"], self._on_pong)

    def _on_pong(self, line: str) -> None:
        # A primary that wants AUTH answers -NOAUTH (-NOPERM with ACLs): that is a reply.
        if line.startswith("-") and not line.startswith(
            ("-NOAUTH", "-NOPERM", "-ERR operation not permitted")
        ):
            self._fail(f"Error reply to PING from master: '{line}'")
            return
        self._next_step()

    def _send_auth(self) -> None:
        config = self.ctx.config
        argv = [b"AUTH"]
        if config.masteruser:
            argv.append(config.masteruser.encode())
        argv.append(config.masterauth.encode())
        self._command(argv, self._on_auth)

    def _on_auth(self, line: str) -> None:
        if line.startswith("-"):
            self._fail(f"Unable to AUTH to MASTER: {line}")
            return
        self._next_step()

    def _send_port(self) -> None:
        config = self.ctx.config
        port = config.replica_announce_port or config.port
        self._command([b"REPLCONF", b"listening-port", b"%d" % port], self._on_optional)

    def _send_ip(self) -> None:
        ip = self.ctx.config.replica_announce_ip.encode()
        self._command([b"REPLCONF", b"ip-address", ip], self._on_optional)

    def _send_capa(self) -> None:
        argv = [b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"]
        self._command(argv, self._on_optional)

    def _on_optional(self, line: str) -> None:
        # (An old primary may not know these: Redis goes on all the same.)
        if line.startswith("-"):
            log.info("(Non critical) Master does not understand REPLCONF: %s", line)
        self._next_step()

    def _send_psync(self) -> None:
        primary = primary_of(self.ctx)
        if not self.follower.resume:
            log.info("Partial resynchronization not possible (no cached master)")
            self._command([b"PSYNC", b"?", b"-1"], self._on_psync)
            return
        start = primary.offset + 1
        log.info("Trying a partial resynchronization (request %s:%d).", primary.replid, start)
        argv = [b"PSYNC", primary.replid.encode(), b"%d" % start]
        self._command(argv, self._on_psync)

    def _on_psync(self, line: str) -> None:
        follower = self.follower
        if line.startswith("+FULLRESYNC"):
            parts = line.split()
            if len(parts) < 3 or len(parts[1]) != 40 or not parts[2].isdigit():
                self._fail(f"Master replied with wrong +FULLRESYNC syntax: {line}")
                return
            self._replid = parts[1]
            self._offset = int(parts[2])
            log.info("Full resync from master: %s:%d", self._replid, self._offset)
            follower.state = TRANSFER
            follower.transfer_size = -1
            follower.transfer_read = 0
            follower.transfer_last_io = time.monotonic()
            self._expect = None
            return
        if line.startswith("+CONTINUE"):
            parts = line.split()
            primary = primary_of(self.ctx)
            if len(parts) > 1 and len(parts[1]) == 40:
                primary.continue_as(parts[1])
            else:
                primary.continue_as(primary.replid)
            log.info("Successful partial resynchronization with master.")
            self._expect = None
            self._start_stream()
            return
        if line.startswith(("-NOMASTERLINK", "-LOADING")):
            self._fail(f"Master is currently unable to PSYNC but should be in the future: {line}")
            return
        self._fail(f"Unexpected reply to PSYNC from master: {line}")

    # -- bytes in ----------------------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        follower = self.follower
        follower.last_io = time.monotonic()
        if self._closed:
            return
        if self._streaming:
            self._buf += data
            reader = self._reader
            if reader is not None:
                reader.feed(data)
            self._apply()
            return
        if follower.state == TRANSFER and self._header_read:
            self._receive_snapshot(data)
            return
        self._buf += data
        self._read_lines()

    def _read_lines(self) -> None:
        buf = self._buf
        while not self._closed:
            end = buf.find(b"\n")
            if end < 0:
                if len(buf) > _MAX_LINE:
                    self._fail("the primary sent a line too long")
                return
            line = bytes(buf[:end]).rstrip(b"\r").decode("latin-1")
            del buf[: end + 1]
            if not line:
                # The primary's keep-alive newline, while it prepares its reply to PSYNC or
                # its snapshot.
                continue
            if self.follower.state == TRANSFER:
                if not self._start_snapshot(line):
                    return
                rest = bytes(buf)
                buf.clear()
                if rest:
                    self._receive_snapshot(rest)
                return
            expect = self._expect
            if expect is None:
                self._fail(f"unexpected line from the primary: {line!r}")
                return
            expect(line)
            if self._streaming:
                if buf:
                    self._apply()
                return

    # -- the full sync ------------------------------------------------------------------------
    def _start_snapshot(self, line: str) -> bool:
        if line.startswith("-"):
            self._fail(f"MASTER aborted replication with an error: {line}")
            return False
        if not line.startswith("$"):
            self._fail(f"Bad protocol from MASTER, the first byte is not '$': '{line}'")
            return False
        follower = self.follower
        if line.startswith("$EOF:"):
            mark = line[5:].encode("latin-1")
            if len(mark) != EOF_MARK_SIZE:
                self._fail(f"bad EOF mark from MASTER: {line!r}")
                return False
            self._eof_mark = mark
            follower.transfer_size = 0
            log.info("MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to disk")
        else:
            try:
                follower.transfer_size = int(line[1:])
            except ValueError:
                self._fail(f"bad snapshot size from MASTER: {line!r}")
                return False
            log.info(
                "MASTER <-> REPLICA sync: receiving %d bytes from master to disk",
                follower.transfer_size,
            )
        from zyst.persistence.saving import saving_of

        directory = os.path.dirname(saving_of(self.ctx).path) or "."
        self._tmp_path = os.path.join(directory, f"temp-{int(time.time())}.{os.getpid()}.rdb")
        try:
            self._file = os.open(self._tmp_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        except OSError as exc:
            self._fail(f"Opening the temp file for MASTER <-> REPLICA synchronization: {exc}")
            return False
        self._header_read = True
        if not self._eof_mark and follower.transfer_size == 0:
            self._snapshot_received()
        return True

    def _receive_snapshot(self, data: bytes) -> None:
        follower = self.follower
        follower.transfer_last_io = time.monotonic()
        rest = b""
        if self._eof_mark:
            # The mark ends the transfer; it may arrive split over reads, and the stream may
            # follow it in the same read (a primary that does not wait for our first ACK).
            joined = self._tail + data
            at = joined.find(self._eof_mark)
            if at >= 0:
                body, rest = joined[:at], joined[at + EOF_MARK_SIZE :]
                self._tail = b""
                done = True
            else:
                keep = min(len(joined), EOF_MARK_SIZE - 1)
                body = joined[: len(joined) - keep]
                self._tail = joined[len(joined) - keep :]
                done = False
        else:
            left = follower.transfer_size - follower.transfer_read
            body, rest = data[:left], data[left:]
            done = len(body) == left
        if not self._write_file(body):
            return
        if done:
            self._snapshot_received()
            if rest and not self._closed:
                self._buf += rest
                if self._reader is not None:
                    self._reader.feed(rest)
                self._apply()

    def _write_file(self, body: bytes) -> bool:
        fd = self._file
        assert fd is not None
        try:
            view = memoryview(body)
            while view:
                written = os.write(fd, view)
                view = view[written:]
        except OSError as exc:
            self._fail(f"Write error saving the DB from the primary to disk: {exc}")
            return False
        self.follower.transfer_read += len(body)
        return True

    def discard_transfer(self) -> None:
        """Close and remove an unfinished snapshot's temporary file."""
        fd = self._file
        self._file = None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(self._tmp_path)

    def _snapshot_received(self) -> None:
        """The snapshot is whole: it replaces the dataset, and the stream starts."""
        from zyst.persistence.saving import empty_dataset, saving_of

        fd = self._file
        self._file = None
        assert fd is not None
        with contextlib.suppress(OSError):
            os.fsync(fd)
        os.close(fd)
        ctx = self.ctx
        saving = saving_of(ctx)
        primary = primary_of(ctx)
        # Our own replicas hold the history we leave: they must sync again (with us). A child
        # at work (a snapshot, an AOF rewrite) works on the data we replace: stopped, as
        # Redis's killRDBChild and stopAppendOnly before such a load.
        primary.drop_replicas()
        if ctx.children.kind is not None:
            log.info("Stopping the %s child before loading the primary's data", ctx.children.kind)
            ctx.children.kill()
        log.info("MASTER <-> REPLICA sync: Flushing old data")
        empty_dataset(ctx)
        # From here the dataset is none of our history: a failed load must not leave that
        # history to continue (as Redis's replicationAttachToNewMaster).
        primary.forget_history()
        try:
            os.replace(self._tmp_path, saving.path)
            log.info("MASTER <-> REPLICA sync: Loading DB in memory")
            saving.load()
        except Exception as exc:  # a bad file or a failed load: try the sync again
            log.warning("Failed trying to load the MASTER synchronization DB from disk: %s", exc)
            empty_dataset(ctx)
            self._fail("loading the snapshot failed")
            return
        primary.adopt(self._replid, self._offset)
        # The database the primary's stream has selected (a chained primary passes its own
        # primary's stream on without a SELECT of its own).
        self.follower.db_index = _stream_db(saving.last_aux)
        log.info("MASTER <-> REPLICA sync: Finished with success")
        if self.follower.on_dataset_replaced is not None:
            # (The AOF, which describes the dataset just replaced, starts again from this one.)
            self.follower.on_dataset_replaced()
        self._start_stream()

    # -- the stream ---------------------------------------------------------------------------
    def _start_stream(self) -> None:
        from zyst.client import Client

        ctx = self.ctx
        follower = self.follower
        client = Client(ctx, ctx.new_client_id(), f"{follower.host}:{follower.port}")
        client.transport_info = self.transport
        client.authenticated = True
        client.mode = 0
        if self.transport is not None:
            sockname = self.transport.get_extra_info("sockname")
            if isinstance(sockname, tuple):
                client.laddr = f"{sockname[0]}:{sockname[1]}"
        if follower.db_index < len(ctx.keyspace.dbs):
            client.select(follower.db_index)
        self._reader = reader = hiredis.Reader()
        if self._buf:
            reader.feed(bytes(self._buf))
        self._streaming = True
        follower.connected(client)
        if self._buf:
            self._apply()
        if self._eof_mark:
            # A primary holds the stream after a diskless sync until our first ACK.
            follower.send_ack()

    def read_offset(self) -> int:
        """Bytes of the stream read (``slave_read_repl_offset``): applied plus buffered."""
        return primary_of(self.ctx).offset + len(self._open) + len(self._buf)

    def applied_offset(self) -> int:
        """The offset of the commands applied (the one running not included; nor an open
        MULTI, which a GETACK never interrupts)."""
        return primary_of(self.ctx).offset + self._at

    def _apply(self) -> None:
        """Apply the whole commands the buffer holds (the reader was fed the same bytes), then
        add their bytes to the history."""
        from zyst.commands.modes import MULTI, call_in_mode
        from zyst.commands.table import call

        client = self.follower.client
        reader = self._reader
        if client is None or reader is None:
            return
        buf = self._buf
        ctx = self.ctx
        refusal = ctx.write_refusal
        loading = ctx.loading
        # The primary's commands are not refused (READONLY, MISCONF) and see keys as they
        # are: nothing expires under them (Redis's master client).
        ctx.write_refusal = None
        ctx.loading = True
        pos = 0
        # Where, in this batch, the last command applied outside MULTI ends.
        safe = -1
        held = len(self._open)
        broken = False
        try:
            while pos < _BATCH:
                try:
                    argv = reader.gets()
                except hiredis.ProtocolError:
                    broken = True
                    break
                if argv is False:
                    break
                encoded = encode_command(argv) if type(argv) is list and argv else b""
                if not encoded or not buf.startswith(encoded, pos):
                    broken = True
                    break
                self._at = held + pos
                # Only MULTI's queueing applies to it (no pause, no eviction, no guard).
                mode = client.mode = client.mode & MULTI
                if mode:
                    call_in_mode(client, argv)
                else:
                    call(client, argv)
                pos += len(encoded)
                if not client.mode & MULTI:
                    safe = pos
        finally:
            ctx.write_refusal = refusal
            ctx.loading = loading
        self._at = 0
        if pos:
            self._open += buf[:pos]
            del buf[:pos]
            client.last_interaction = time.monotonic()
        if safe >= 0:
            done = held + safe
            primary_of(ctx).feed_stream(bytes(self._open[:done]))
            del self._open[:done]
        if broken:
            # (What was applied is in the history: a new link continues after it.)
            self._fail("Protocol error from the primary's stream")
        elif pos >= _BATCH and buf:
            # More whole commands may wait: after other clients had their turn.
            asyncio.get_running_loop().call_soon(self._apply)


def _stream_db(aux: dict[bytes, bytes]) -> int:
    """``repl-stream-db`` of a snapshot's auxiliary fields (0 without it)."""
    try:
        return max(int(aux.get(b"repl-stream-db", b"0")), 0)
    except ValueError:
        return 0


def resume_history(ctx: ServerContext, aux: dict[bytes, bytes]) -> bool:
    """Take the replication history a snapshot loaded at start carries (``repl-id``,
    ``repl-offset``, ``repl-stream-db``), so that a restarted replica's first PSYNC continues
    it; whether it had one."""
    replid = aux.get(b"repl-id", b"").decode("latin-1")
    offset = aux.get(b"repl-offset", b"")
    if len(replid) != 40 or not offset.isdigit():
        return False
    primary_of(ctx).adopt(replid, int(offset))
    follower_of(ctx).db_index = _stream_db(aux)
    log.info("Using the replication history of the snapshot: %s:%d", replid, int(offset))
    return True


def snapshot_aux(ctx: ServerContext) -> list[tuple[bytes, bytes]]:
    """The replication fields a snapshot carries (Redis's ``rdbPopulateSaveInfo``): the
    stream's selected database, our history's ID and offset; none without a history."""
    primary = primary_of(ctx)
    follower = follower_of(ctx)
    if follower.following:
        client = follower.client
        db = client.db.index if client is not None else follower.db_index
    elif primary.backlog is not None:
        db = primary.stream_db
    else:
        return []
    return [
        (b"repl-stream-db", b"%d" % db),
        (b"repl-id", primary.replid.encode()),
        (b"repl-offset", b"%d" % primary.offset),
    ]


def follower_of(ctx: ServerContext) -> Follower:
    """The replica state of the server ``ctx``."""
    return state_of(ctx, Follower, Follower)


def is_master_client(client: Client) -> bool:
    """Whether ``client`` applies the primary's stream (CLIENT LIST's flag ``M``)."""
    return follower_of(client.ctx).client is client
