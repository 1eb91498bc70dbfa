"""Sending a full sync's snapshot to the replicas that wait for it, at the pace of the slowest
(Redis's ``rdbPipeReadHandler`` and ``sendBulkToSlave``): at most a few MB of snapshot wait
in this process for a replica; past that, reading stops until every replica has taken most of
what it was sent.

- :class:`DisklessTransfer` (``repl-diskless-sync``, Redis's ``rdbSaveToSlavesSockets``): a
  forked child writes the snapshot into a pipe, and what is read from the pipe goes to the
  replicas, framed as Redis's EOF-marked transfer: ``$EOF:<40 random characters>\r\n``, the
  RDB, then the same 40 characters. Only replicas that said ``REPLCONF capa eof`` can read
  that framing; the primary (:mod:`zyst.replication.primary`) gives the others the disk-based
  sync. The closing mark is sent only once the child has exited successfully, so a replica
  never takes a snapshot cut short (a child that fails leaves the replicas' links closed, and
  they sync again); while reading waits, the pipe stays full and the child waits too.
- :class:`FileTransfer`: the disk-based sync's file, ``$<size>\r\n`` then its bytes, read a
  chunk at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, BinaryIO, Final

from zyst.persistence.child import ChildResult
from zyst.persistence.saving import CHILD_KIND as SAVING_CHILD_KIND

if TYPE_CHECKING:
    from zyst.context import ServerContext
    from zyst.replication.primary import Replica

log = logging.getLogger("zyst")

# An RDB child as BGSAVE's (Redis's CHILD_TYPE_RDB): BGSAVE meanwhile answers "already in
# progress", INFO shows rdb_bgsave_in_progress, FLUSHALL and SHUTDOWN stop it.
CHILD_KIND: Final = SAVING_CHILD_KIND
MARK_SIZE: Final = 40
_READ: Final = 1 << 16
_FILE_CHUNK: Final = 1 << 20
# Reading the pipe stops while a replica has more than this unsent, and starts again once
# every replica is below the second figure (checked every _DRAIN_CHECK seconds).
_PAUSE_ABOVE: Final = 4 << 20
_RESUME_BELOW: Final = 1 << 20
_DRAIN_CHECK: Final = 0.01


def unsent(replicas: list[Replica]) -> int:
    """The most bytes any of ``replicas`` still linked has not taken yet."""
    most = 0
    for replica in replicas:
        transport = replica.client.transport_info
        if replica.attached and transport is not None and not transport.is_closing():
            most = max(most, transport.get_write_buffer_size())
    return most


class DisklessTransfer:
    """One snapshot streamed from a child to ``replicas``; ``on_done(ok)`` once it ended."""

    def __init__(
        self,
        ctx: ServerContext,
        replicas: list[Replica],
        on_done: Callable[[DisklessTransfer, bool], None],
    ) -> None:
        self.ctx = ctx
        self.replicas = replicas
        self.on_done = on_done
        self.mark = os.urandom(MARK_SIZE // 2).hex().encode()
        self._fd = -1
        self._loop: asyncio.AbstractEventLoop | None = None
        # Both must be known before the transfer ends: the pipe's end, the child's outcome.
        self._drained = False
        self._child_ok: bool | None = None
        self.sent = 0

    def start(self) -> bool:
        """Fork the child and start reading; False if it could not start."""
        from zyst.persistence.rdbfile import write_rdb
        from zyst.persistence.saving import saving_of
        from zyst.scripting.engine import engine_of

        ctx = self.ctx
        config = ctx.config
        read_fd, write_fd = os.pipe()
        libraries = engine_of(ctx).functions.codes()

        def work() -> None:  # pragma: no cover - runs in the child
            os.close(read_fd)
            with os.fdopen(write_fd, "wb", buffering=_READ) as pipe:
                write_rdb(
                    pipe,
                    ctx.keyspace,
                    libraries,
                    compress=config.rdbcompression,
                    checksum=config.rdbchecksum,
                    policy=config.maxmemory_policy,
                    limits=ctx.limits,
                    aux=saving_of(ctx).aux_fields(),
                )

        try:
            pid = ctx.children.start(CHILD_KIND, work, self._child_done)
        except (OSError, RuntimeError) as exc:
            os.close(read_fd)
            os.close(write_fd)
            log.warning("Can't start the snapshot for replicas: %s", exc)
            return False
        os.close(write_fd)
        os.set_blocking(read_fd, False)
        self._fd = read_fd
        loop = self._loop = asyncio.get_running_loop()
        loop.add_reader(read_fd, self._readable)
        log.info(
            "Starting BGSAVE for SYNC with target: replicas sockets (pid %d, %d replicas)",
            pid,
            len(self.replicas),
        )
        return True

    def running(self) -> bool:
        """Whether its child has not ended yet."""
        return self._child_ok is None

    def opening(self) -> bytes:
        """What each replica is sent first (after ``+FULLRESYNC``): the framing's header."""
        return b"$EOF:" + self.mark + b"\r\n"

    def _send(self, data: bytes) -> None:
        for replica in self.replicas:
            replica.send_uncounted(data)

    def _readable(self) -> None:
        try:
            data = os.read(self._fd, _READ)
        except BlockingIOError:
            return
        except OSError as exc:
            log.warning("Diskless sync: reading the child's pipe failed: %s", exc)
            data = b""
        if data:
            self.sent += len(data)
            self._send(data)
            if unsent(self.replicas) > _PAUSE_ABOVE and self._loop is not None:
                # The slowest replica sets the pace: the pipe is left full (the child waits on
                # it) rather than the snapshot piling up in this process's memory, as Redis
                # stops reading its pipe until its replicas drain.
                log.debug("Diskless sync: waiting for the replicas to take what was sent")
                self._loop.remove_reader(self._fd)
                self._loop.call_later(_DRAIN_CHECK, self._drain_check)
            return
        self._close_pipe()
        self._drained = True
        self._maybe_done()

    def _drain_check(self) -> None:
        if self._fd < 0 or self._loop is None:
            return
        if unsent(self.replicas) > _RESUME_BELOW:
            self._loop.call_later(_DRAIN_CHECK, self._drain_check)
            return
        self._loop.add_reader(self._fd, self._readable)

    def _close_pipe(self) -> None:
        if self._fd >= 0:
            if self._loop is not None:
                self._loop.remove_reader(self._fd)
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = -1

    def _child_done(self, result: ChildResult) -> None:
        self._child_ok = result.ok
        if not result.ok:
            # Its pipe may still hold bytes: they are never sent with the mark.
            self._close_pipe()
            self._drained = True
        self._maybe_done()

    def _maybe_done(self) -> None:
        if not self._drained or self._child_ok is None:
            return
        ok = self._child_ok
        if ok:
            self._send(self.mark)
            log.info("Diskless sync: %d bytes of snapshot sent", self.sent)
        else:
            log.warning("Diskless sync: the snapshot child failed")
        self.on_done(self, ok)


class FileTransfer:
    """The snapshot file sent to ``replicas`` (sized: ``$<size>\r\n`` then the bytes);
    ``on_done(transfer, ok)`` once it is all sent, or could not be read."""

    def __init__(
        self,
        replicas: list[Replica],
        path: str,
        on_done: Callable[[FileTransfer, bool], None],
    ) -> None:
        self.replicas = replicas
        self.path = path
        self.on_done = on_done
        self._file: BinaryIO | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> bool:
        """Open the file and start sending; False (logged) if it cannot be read."""
        try:
            self._file = open(self.path, "rb")  # noqa: SIM115 - closed when sent
            size = os.fstat(self._file.fileno()).st_size
        except OSError as exc:
            log.warning("Replication: can't read the snapshot: %s", exc)
            self._close()
            return False
        self._loop = asyncio.get_running_loop()
        header = b"$%d\r\n" % size
        for replica in self.replicas:
            replica.send_uncounted(header)
        self._step()
        return True

    def _step(self) -> None:
        file, loop = self._file, self._loop
        if file is None or loop is None:
            return
        if not any(replica.attached for replica in self.replicas):
            self._close()  # (nobody left to send it to)
            self.on_done(self, False)
            return
        if unsent(self.replicas) > _PAUSE_ABOVE:
            log.debug("Sending the snapshot: waiting for the replicas to take what was sent")
            loop.call_later(_DRAIN_CHECK, self._wait_drain)
            return
        try:
            chunk = file.read(_FILE_CHUNK)
        except OSError as exc:
            log.warning("Replication: reading the snapshot failed: %s", exc)
            self._close()
            self.on_done(self, False)
            return
        if not chunk:
            self._close()
            self.on_done(self, True)
            return
        for replica in self.replicas:
            replica.send_uncounted(chunk)
        loop.call_soon(self._step)

    def _wait_drain(self) -> None:
        if self._loop is not None and unsent(self.replicas) > _RESUME_BELOW:
            self._loop.call_later(_DRAIN_CHECK, self._wait_drain)
            return
        self._step()

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
