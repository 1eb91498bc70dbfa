"""Where every change leaves the process: the AOF and the replicas (MONITOR shows commands
elsewhere).

:class:`Propagation` is what ``ServerContext.propagate`` points at once the server runs. Each
change is appended to the AOF writer's buffer; the buffer is written once per event-loop turn,
by a flush that the first change of the turn asks for (``schedule``, the loop's ``call_soon``).
Under ``appendfsync always`` that flush also fsyncs.

Replies wait for it, under every policy, as in Redis (which writes its AOF buffer before any
reply of the same event-loop turn leaves): after each batch of commands a connection asks
:meth:`Propagation.hold_offset` how far the AOF must be durable before its replies may leave,
and holds them at the reply gate until :meth:`Propagation.flush` says so. A crash of the process
therefore never loses an acknowledged write under any policy; only an OS crash can lose what
``everysec`` or ``no`` had not yet fsynced.

Replicas take the same changes (:class:`zyst.replication.primary.Primary`, once a replica
attached): buffered as the replication stream during the turn and sent by the same flush.
Replies never wait for replicas (WAIT does that, on request).

Invariant: a change fed here reaches the file (``write()``) before the event loop next waits
for I/O, whoever made it: a client's command, or the cron expiring a key. When the write fails
(a full disk) under ``everysec`` or ``no``, the bytes stay buffered, the replies that wait for
them stay held, and the cron retries; under ``always`` the writer ends the process.

This module is compiled with mypyc: :meth:`Propagation.propagate` runs for every write command
and :meth:`Propagation.hold_offset` for every batch of commands.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from zyst.persistence.aof import AofWriter
from zyst.replication.primary import Primary

# What flush() reports as durable while no AOF is on: every reply may leave.
EVERYTHING = sys.maxsize


class Propagation:
    """The one exit for changes; ``aof`` is the writer while the AOF is on, else ``None``;
    ``replication`` the primary's stream once a replica attached, else ``None``."""

    def __init__(self) -> None:
        self.aof: AofWriter | None = None
        self.replication: Primary | None = None
        # The event loop's call_soon, once the server runs; until then flushes happen at once.
        self.schedule: Callable[[Callable[[], None]], object] | None = None
        self._flush_scheduled = False

    def propagate(self, db_index: int, argv: list[bytes]) -> None:
        """Record one change made in database ``db_index`` (``argv`` as a command)."""
        aof = self.aof
        if aof is not None:
            aof.feed(db_index, argv)
        replication = self.replication
        if replication is not None:
            replication.feed(db_index, argv)
        if not self._flush_scheduled:
            self.request_flush()

    def request_flush(self) -> None:
        """Flush at the end of this turn (at once before the loop runs): after a change, or
        with nothing propagated (a ``REPLCONF GETACK`` WAIT added to the replication
        stream)."""
        if not self._flush_scheduled:
            schedule = self.schedule
            if schedule is None:
                self.flush()
                return
            self._flush_scheduled = True
            schedule(self._scheduled_flush)

    def _scheduled_flush(self) -> None:
        self._flush_scheduled = False
        self.flush()

    def flush(self) -> int:
        """Write what the AOF buffer holds now (fsynced too under ``always``); returns the
        offset up to which replies may now acknowledge (:attr:`AofWriter.durable`)."""
        replication = self.replication
        if replication is not None:
            replication.flush()
        aof = self.aof
        if aof is None:
            return EVERYTHING
        if aof.has_pending():
            aof.flush()
        return aof.durable

    def failing(self) -> bool:
        """Whether an AOF write error stands (``everysec``/``no``: writes are refused)."""
        aof = self.aof
        return aof is not None and aof.write_error is not None

    def hold_offset(self, wrote: bool) -> int:
        """How far the AOF must be durable before the replies of a batch of commands that has
        just run may leave; 0 when they may leave at once. ``wrote``: the batch changed data.

        Everything fed and not yet durable counts, so a read that observed a write in the same
        turn waits for it too (unless that write then fails: see
        :class:`zyst.connection.ReplyGate`). While a write error stands (``everysec``/``no``),
        only batches that wrote are held (writes are refused then, but a batch may have written
        before a flush inside one of its commands failed); reads go on, as in Redis.
        """
        aof = self.aof
        if aof is None:
            return 0
        fed = aof.fed
        if fed == aof.durable or (aof.write_error is not None and not wrote):
            return 0
        return fed
