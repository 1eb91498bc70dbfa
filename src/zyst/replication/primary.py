"""This server as a replication primary: the replicas attached to it, the replication stream they
are sent, and the full and partial resynchronisations of Redis 7.0's ``PSYNC`` (Redis's
``replication.c``, the primary's half).

The stream. Every change the server propagates (:mod:`zyst.propagation`, the same commands the
AOF takes, with a ``SELECT`` whenever the database changes) is appended to the stream: buffered
during an event-loop turn, then at the turn's end (:meth:`Primary.flush`) added to the
:class:`~zyst.replication.backlog.Backlog` and written to every replica that is online.
``offset`` (INFO's ``master_repl_offset``) counts every byte of the stream, buffered or not.

A replica's life (``state``):

- ``wait_bgsave``: it asked for a full copy; it waits for a snapshot child of its own to start
  (another child runs), then gets ``+FULLRESYNC <replid> <offset>``;
- ``send_bulk``: the child writes the snapshot: into ``dir/dbfilename``, sent once written
  (Redis's disk-based sync), or into a pipe whose bytes are sent as they come, EOF-marked
  (``repl-diskless-sync``: :mod:`zyst.replication.transfer`); the stream from ``offset`` on is
  kept for the replica meanwhile;
- ``online``: it was sent ``$<size>\\r\\n`` and the file's bytes, then what was kept, and now
  takes the stream as it is made. A partial resync (``+CONTINUE``) goes straight here.

Invariants: the stream a replica receives is exactly the bytes from the offset it was told
(``FULLRESYNC``) or asked for (``CONTINUE``) on, so its own offset matches ours; the first
command it receives after a full sync is preceded by a ``SELECT`` (the stream's database is
forgotten whenever a replica starts a full sync, as Redis's ``slaveseldb = -1``).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from zyst.client import protocol_of
from zyst.config import OUTPUT_REPLICA
from zyst.perserver import state_of
from zyst.protocol.resp import encode_command
from zyst.replication.backlog import Backlog
from zyst.replication.transfer import DisklessTransfer, FileTransfer

if TYPE_CHECKING:
    from zyst.client import Client
    from zyst.context import ServerContext

log = logging.getLogger("zyst")

WAIT_BGSAVE: Final = "wait_bgsave"
SEND_BULK: Final = "send_bulk"
ONLINE: Final = "online"


def new_replid() -> str:
    """A fresh replication ID: 40 random hex digits, as Redis's."""
    return os.urandom(20).hex()


class Replica:
    """One replica's link, as its primary sees it (Redis's slave client fields)."""

    __slots__ = (
        "ack_offset",
        "ack_time",
        "attached",
        "capa_eof",
        "capa_psync2",
        "client",
        "held",
        "ip",
        "kept",
        "kept_bytes",
        "listening_port",
        "psync",
        "start_offset",
        "state",
        "wait_since",
    )

    def __init__(self, client: Client) -> None:
        self.client = client
        self.state = WAIT_BGSAVE
        self.listening_port = 0
        self.ip = ""
        self.capa_eof = False
        self.capa_psync2 = False
        # False for the old SYNC, which gets the snapshot with no +FULLRESYNC line first.
        self.psync = True
        # The stream from start_offset + 1 on, kept while the snapshot is made and sent.
        self.kept: list[bytes] = []
        self.kept_bytes = 0
        self.start_offset = 0
        # In its primary's list of replicas: its output counts in the "replica" class of
        # client-output-buffer-limit (zyst.connection.output_class).
        self.attached = False
        self.ack_offset = 0
        self.ack_time = time.monotonic()
        # Since when it waits for a snapshot (repl-diskless-sync-delay counts from the first).
        self.wait_since = self.ack_time
        # Online after a diskless sync, its stream kept until its first ACK: the stream must
        # not follow the snapshot's closing mark at once (a replica looks for the mark at the
        # end of what it reads), as Redis's repl_put_online_on_ack.
        self.held = False

    def send(self, data: bytes) -> None:
        self.client.push(data)

    def send_uncounted(self, data: bytes) -> None:
        """Send ``data`` outside the output limits (the snapshot: Redis sends it apart from
        the replica's output buffer)."""
        connection = protocol_of(self.client)
        if connection is not None:
            connection.push(data, False)


class Primary:
    """The primary side of one server's replication (see the module docstring)."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.replid = new_replid()
        self.replid2 = "0" * 40
        self.second_offset = -1
        self.backlog: Backlog | None = None
        self.replicas: list[Replica] = []
        # The stream made this turn, not yet flushed; ``_flushed`` is the offset before it.
        self._pending = bytearray()
        self._flushed = 0
        self._selected = -1
        # When the last replica left (for repl-backlog-ttl), and when replicas were last pinged.
        self._alone_since = time.monotonic()
        self._last_ping = time.monotonic()
        # INFO stats' counters: full resyncs served, partial ones accepted and refused.
        self.sync_full = 0
        self.sync_partial_ok = 0
        self.sync_partial_err = 0
        # A replica's: the stream is its primary's, passed on unchanged (nothing of ours in it).
        self.relaying = False
        # The snapshot being sent, if any.
        self._transfer: DisklessTransfer | FileTransfer | None = None
        # Set by the server: start taking changes (:meth:`feed`) from now on; flush the stream
        # at the end of this turn although nothing was propagated.
        self.on_active: Callable[[Primary], None] | None = None
        self.request_flush: Callable[[], None] | None = None

    # -- the stream --------------------------------------------------------------------------
    @property
    def offset(self) -> int:
        """``master_repl_offset``: every byte of the stream so far."""
        return self._flushed + len(self._pending)

    def feed(self, db_index: int, argv: list[bytes]) -> None:
        """Add one change made in database ``db_index`` to the stream."""
        pending = self._pending
        if db_index != self._selected:
            pending += encode_command([b"SELECT", b"%d" % db_index])
            self._selected = db_index
        pending += encode_command(argv)

    def flush(self) -> None:
        """Send what the stream gained this turn to the backlog and the replicas."""
        if not self._pending:
            return
        chunk = bytes(self._pending)
        self._pending.clear()
        self._flushed += len(chunk)
        backlog = self.backlog
        if backlog is not None:
            backlog.append(chunk)
        hard = self.ctx.config.client_output_buffer_limit[OUTPUT_REPLICA].hard
        for replica in list(self.replicas):
            if replica.state == ONLINE and not replica.held:
                replica.send(chunk)
                continue
            # Kept for a replica still syncing: it counts against the replica class's hard
            # limit, as Redis's output buffer holds it meanwhile.
            replica.kept.append(chunk)
            replica.kept_bytes += len(chunk)
            if hard and replica.kept_bytes >= hard:
                log.warning(
                    "Client %s scheduled to be closed ASAP for overcoming of output buffer limits.",
                    replica.client.addr,
                )
                self.remove(replica)
                _close(replica.client)

    def feed_stream(self, data: bytes) -> None:
        """As a replica: ``data``, commands of our primary's stream just applied, join the
        history unchanged (offset, backlog, our own replicas) at once."""
        self._pending += data
        self.flush()

    # -- the history as the role changes (zyst.replication.replica) --------------------------
    @property
    def stream_db(self) -> int:
        """The database the stream has selected (0 before any SELECT)."""
        return max(self._selected, 0)

    def become_replica(self) -> None:
        """A primary turns replica: its next PSYNC asks to continue its own history (Redis's
        ``replicationCacheMasterUsingMyself``); from now on its stream is its primary's,
        relayed (no PING or GETACK of its own goes into it)."""
        self.flush()
        self._selected = -1
        self.relaying = True

    def forget_history(self) -> None:
        """The dataset was emptied for a full sync: no history continues from it."""
        self._pending.clear()
        self.replid = new_replid()
        self.replid2 = "0" * 40
        self.second_offset = -1
        self._flushed = 0
        self.backlog = None

    def adopt(self, replid: str, offset: int) -> None:
        """A full sync from our primary ended: its history, from ``offset`` on, is ours."""
        self._pending.clear()
        self.replid = replid
        self.replid2 = "0" * 40
        self.second_offset = -1
        self._flushed = offset
        self._selected = -1
        self.backlog = Backlog(self.ctx.config.repl_backlog_size, offset)

    def continue_as(self, replid: str) -> None:
        """Our primary continues our history under ``replid`` (``+CONTINUE``): a new ID keeps
        the old one as ``replid2`` up to here, and our replicas must learn it (they are
        dropped, to continue with us at once)."""
        self.flush()
        if replid != self.replid:
            self._shift(replid)
            self.drop_replicas()
        if self.backlog is None:
            self.backlog = Backlog(self.ctx.config.repl_backlog_size, self.offset)

    def promote(self) -> None:
        """``REPLICAOF NO ONE``: a new history that continues this one (``replid2``), so
        replicas of the old primary can continue with us; ours reconnect to learn the ID."""
        self.relaying = False
        self.flush()
        self._shift(new_replid())
        self.drop_replicas()
        self._selected = -1
        self._alone_since = time.monotonic()

    def _shift(self, replid: str) -> None:
        self.replid2 = self.replid
        self.second_offset = self.offset + 1
        self.replid = replid

    def drop_replicas(self) -> None:
        """Disconnect every replica (each will sync again)."""
        for replica in list(self.replicas):
            self.remove(replica)
            _close(replica.client)

    # -- attaching replicas ------------------------------------------------------------------
    def _ensure_backlog(self) -> Backlog:
        backlog = self.backlog
        if backlog is None:
            # As Redis: the first replica of a server without a backlog starts a new history.
            self.flush()
            self.replid = new_replid()
            self.replid2 = "0" * 40
            self.second_offset = -1
            backlog = self.backlog = Backlog(self.ctx.config.repl_backlog_size, self.offset)
            if self.on_active is not None:
                self.on_active(self)
        return backlog

    def try_partial(self, replica: Replica, replid: bytes, start: int) -> bool:
        """PSYNC ``replid`` ``start``: continue the replica's stream from byte ``start`` when
        the backlog still holds it and the history is ours; True if it was continued (the
        replica is online then). A refused request counts in ``sync_partial_err`` unless the
        replica asked for none (``PSYNC ? -1``)."""
        backlog = self.backlog
        asked = replid != b"?"
        if backlog is None:
            self.sync_partial_err += asked
            return False
        name = replid.decode("latin-1")
        if name != self.replid and not (name == self.replid2 and start <= self.second_offset):
            self.sync_partial_err += asked
            return False
        self.flush()
        rest = backlog.since(start)
        if rest is None:
            self.sync_partial_err += asked
            return False
        reply = b"+CONTINUE\r\n"
        if replica.capa_psync2:
            reply = b"+CONTINUE %s\r\n" % self.replid.encode()
        # (Bounded by repl-backlog-size, which may pass the replica class's output limit: sent
        # outside it, as the snapshot is, or a replica could never resume.)
        replica.send_uncounted(reply + rest)
        replica.state = ONLINE
        replica.ack_time = time.monotonic()
        replica.ack_offset = start - 1
        self._add(replica)
        self.sync_partial_ok += 1
        return True

    def full_sync(self, replica: Replica) -> None:
        """The replica needs a full copy: it is sent once a snapshot child starts for it."""
        self._ensure_backlog()
        self.sync_full += 1
        replica.state = WAIT_BGSAVE
        replica.wait_since = time.monotonic()
        self._add(replica)
        self._start_bgsave()

    def _add(self, replica: Replica) -> None:
        if replica not in self.replicas:
            self.replicas.append(replica)
        replica.attached = True

    def remove(self, replica: Replica) -> None:
        """The replica's link closed. A diskless snapshot made for replicas none of which is
        left is stopped (Redis: "last replica dropped, killing fork child")."""
        replica.attached = False
        if replica in self.replicas:
            self.replicas.remove(replica)
            if not self.replicas:
                self._alone_since = time.monotonic()
        transfer = self._transfer
        if transfer is not None and not any(r.attached for r in transfer.replicas):
            self._transfer = None
            if isinstance(transfer, DisklessTransfer) and transfer.running():
                log.warning("Diskless rdb transfer, last replica dropped, killing fork child.")
                self.ctx.children.kill()

    def _start_bgsave(self) -> None:
        """Start the snapshot the waiting replicas need, if none is being made for them and
        no other child runs (else :meth:`cron` tries again). Diskless (``repl-diskless-sync``,
        when every waiting replica takes the EOF-marked framing) it waits
        ``repl-diskless-sync-delay`` seconds for more replicas to share it, unless
        ``repl-diskless-sync-max-replicas`` of them already wait."""
        waiting = [r for r in self.replicas if r.state == WAIT_BGSAVE]
        if not waiting or any(r.state == SEND_BULK for r in self.replicas):
            return
        config = self.ctx.config
        diskless = config.repl_diskless_sync and all(r.capa_eof for r in waiting)
        if diskless:
            waited = time.monotonic() - min(r.wait_since for r in waiting)
            most = config.repl_diskless_sync_max_replicas
            if waited < config.repl_diskless_sync_delay and not (most and len(waiting) >= most):
                return
        from zyst.persistence.saving import saving_of

        if self.ctx.children.kind is not None:
            return  # (the cron tries again once the other child is done)
        saving = saving_of(self.ctx)
        self.flush()
        opening = b""
        if diskless:
            transfer = DisklessTransfer(self.ctx, waiting, self._transfer_done)
            if not transfer.start():
                return
            self._transfer = transfer
            opening = transfer.opening()
        elif not saving.background():
            return
        # The snapshot is the dataset now: each waiting replica's stream starts here.
        self._selected = -1
        start = self.offset
        header = b"+FULLRESYNC %s %d\r\n" % (self.replid.encode(), start)
        for replica in waiting:
            replica.state = SEND_BULK
            replica.start_offset = start
            replica.kept = []
            replica.kept_bytes = 0
            first = (header if replica.psync else b"") + opening
            if first:
                replica.send_uncounted(first)
        if not diskless:
            saving.on_done.append(self._snapshot_done)

    def _transfer_done(self, transfer: DisklessTransfer | FileTransfer, ok: bool) -> None:
        """A snapshot was sent (or not, ``ok`` False): its replicas go online, or are dropped
        to sync again. After a diskless one, their stream waits for their first ACK."""
        if self._transfer is transfer:
            self._transfer = None
        self.flush()
        for replica in transfer.replicas:
            if not replica.attached or replica.state != SEND_BULK:
                continue
            if ok:
                self._online(replica, held=isinstance(transfer, DisklessTransfer))
            else:
                self.remove(replica)
                _close(replica.client)
        self._start_bgsave()

    def _online(self, replica: Replica, held: bool = False) -> None:
        """The snapshot is sent: the stream kept meanwhile follows, then the live stream; or,
        ``held``, both wait for the replica's first ACK (:meth:`acknowledged`)."""
        replica.state = ONLINE
        replica.held = held
        replica.ack_time = time.monotonic()
        replica.ack_offset = replica.start_offset
        if not held:
            self._release(replica)
        log.info("Synchronization with replica %s:%d succeeded", replica.ip, replica.listening_port)

    def _release(self, replica: Replica) -> None:
        if replica.kept:
            replica.send(b"".join(replica.kept))
        replica.kept = []
        replica.kept_bytes = 0

    def acknowledged(self, replica: Replica, offset: int | None) -> None:
        """``REPLCONF ACK <offset>`` from ``replica`` (None: not a number)."""
        if offset is not None and offset > replica.ack_offset:
            replica.ack_offset = offset
        replica.ack_time = time.monotonic()
        if replica.held:
            replica.held = False
            self._release(replica)

    def _snapshot_done(self, ok: bool) -> None:
        """The snapshot child ended: send the file to the replicas that waited for it."""
        from zyst.persistence.saving import saving_of

        sending = [r for r in self.replicas if r.state == SEND_BULK]
        if not sending:
            return
        if not ok:
            log.warning("Replication: the snapshot for %d replica(s) failed", len(sending))
            for replica in sending:
                self.remove(replica)
                _close(replica.client)
            return
        transfer = FileTransfer(sending, saving_of(self.ctx).path, self._transfer_done)
        self._transfer = transfer
        if not transfer.start():
            self._transfer_done(transfer, False)

    # -- the cron ----------------------------------------------------------------------------
    def cron(self) -> None:
        """On each tick of the server's cron: ping the replicas every
        ``repl-ping-replica-period`` seconds, drop those silent past ``repl-timeout``, start a
        snapshot replicas wait for, free the backlog of a server alone past
        ``repl-backlog-ttl``."""
        now = time.monotonic()
        config = self.ctx.config
        pinging = self.replicas and not self.relaying
        if pinging and now - self._last_ping >= config.repl_ping_replica_period:
            self._last_ping = now
            # A PING in the stream (counted in the offset, as Redis's, and with no SELECT
            # before it) keeps idle links alive.
            self._pending += encode_command([b"PING"])
            self.flush()
        timeout = config.repl_timeout
        for replica in list(self.replicas):
            # An online replica acknowledges every second: silence past repl-timeout means a
            # dead link the kernel has not noticed (Redis's "timedout replica").
            if replica.state == ONLINE and now - replica.ack_time > timeout:
                log.warning(
                    "Disconnecting timedout replica (streaming sync): %s:%d",
                    replica.ip,
                    replica.listening_port,
                )
                self.remove(replica)
                _close(replica.client)
        self._start_bgsave()
        ttl = config.repl_backlog_ttl
        if not self.replicas and self.backlog is not None and ttl and now - self._alone_since > ttl:
            self.backlog = None

    def acked(self, offset: int) -> int:
        """Replicas online that acknowledged the stream up to ``offset`` at least (WAIT's
        count, Redis's replicationCountAcksByOffset)."""
        return sum(1 for r in self.replicas if r.state == ONLINE and r.ack_offset >= offset)

    def request_acks(self) -> None:
        """Ask every replica for its offset now (``REPLCONF GETACK *`` in the stream, counted in
        the offset as in Redis; sent at the end of this turn)."""
        if not self.replicas:
            return
        self._pending += encode_command([b"REPLCONF", b"GETACK", b"*"])
        if self.request_flush is not None:
            self.request_flush()

    def good_replicas(self, max_lag: int) -> int:
        """Replicas online that acknowledged within ``max_lag`` seconds (whole seconds, as
        Redis counts its lag)."""
        now = time.monotonic()
        return sum(
            1 for r in self.replicas if r.state == ONLINE and int(now - r.ack_time) <= max_lag
        )

    # -- what INFO and ROLE show -------------------------------------------------------------
    def info_fields(self) -> list[tuple[str, object]]:
        """INFO replication's fields after the role's own (``role`` and, for a replica, its
        link's), as Redis 7.0 lists them."""
        fields: list[tuple[str, object]] = [("connected_slaves", len(self.replicas))]
        config = self.ctx.config
        if config.min_replicas_to_write and config.min_replicas_max_lag:
            fields.append(
                ("min_slaves_good_slaves", self.good_replicas(config.min_replicas_max_lag))
            )
        now = time.monotonic()
        for index, replica in enumerate(self.replicas):
            state = "online" if replica.state == ONLINE else "wait_bgsave"
            if replica.state == SEND_BULK:
                state = "send_bulk"
            lag = int(now - replica.ack_time)
            fields.append(
                (
                    f"slave{index}",
                    f"ip={replica.ip},port={replica.listening_port},state={state},"
                    f"offset={replica.ack_offset},lag={lag}",
                )
            )
        backlog = self.backlog
        fields += [
            ("master_failover_state", "no-failover"),
            ("master_replid", self.replid),
            ("master_replid2", self.replid2),
            ("master_repl_offset", self.offset),
            ("second_repl_offset", self.second_offset),
            ("repl_backlog_active", 1 if backlog is not None else 0),
            ("repl_backlog_size", self.ctx.config.repl_backlog_size),
            ("repl_backlog_first_byte_offset", backlog.first if backlog is not None else 0),
            ("repl_backlog_histlen", backlog.histlen if backlog is not None else 0),
        ]
        return fields

    def role(self) -> list[object]:
        """ROLE's reply for a primary."""
        return [
            b"master",
            self.offset,
            [
                [r.ip.encode(), b"%d" % r.listening_port, b"%d" % r.ack_offset]
                for r in self.replicas
                if r.state == ONLINE
            ],
        ]


def _close(client: Client) -> None:
    transport = client.transport_info
    if transport is not None:
        transport.close()


def primary_of(ctx: ServerContext) -> Primary:
    """The replication primary state of the server ``ctx``."""
    return state_of(ctx, Primary, Primary)
