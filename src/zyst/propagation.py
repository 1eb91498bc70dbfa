"""Where every change leaves the process: the AOF today, replicas and MONITOR later.

:class:`Propagation` is what ``ServerContext.propagate`` points at once the server runs. Each
change is appended to the AOF writer's buffer; the buffer is written once per event-loop turn,
by a flush that the first change of the turn asks for (``schedule``, the loop's ``call_soon``).
Under ``appendfsync always`` that flush also fsyncs, and replies that acknowledge buffered
changes wait for it (:meth:`must_hold_replies`, asked by each connection after each batch).

Invariant: a change fed here reaches the file (``write()``) before the event loop next waits
for I/O, whoever made it: a client's command, or the cron expiring a key.

This module is compiled with mypyc: :meth:`Propagation.propagate` runs for every write command
and :meth:`Propagation.must_hold_replies` for every batch of commands.
"""

from __future__ import annotations

from collections.abc import Callable

from zyst.persistence.aof import AofWriter, FsyncPolicy


class Propagation:
    """The one exit for changes; ``aof`` is the writer while the AOF is on, else ``None``."""

    def __init__(self) -> None:
        self.aof: AofWriter | None = None
        # The event loop's call_soon, once the server runs; until then flushes happen at once.
        self.schedule: Callable[[Callable[[], None]], object] | None = None
        self._flush_scheduled = False

    def propagate(self, db_index: int, argv: list[bytes]) -> None:
        """Record one change made in database ``db_index`` (``argv`` as a command)."""
        aof = self.aof
        if aof is None:
            return
        aof.feed(db_index, argv)
        if not self._flush_scheduled:
            schedule = self.schedule
            if schedule is None:
                aof.flush()
                return
            self._flush_scheduled = True
            schedule(self._scheduled_flush)

    def _scheduled_flush(self) -> None:
        self._flush_scheduled = False
        self.flush()

    def flush(self) -> None:
        """Write what the AOF buffer holds now (fsynced too under ``always``)."""
        aof = self.aof
        if aof is not None and aof.has_pending():
            aof.flush()

    def must_hold_replies(self) -> bool:
        """Whether replies sent now would acknowledge changes not yet fsynced under ``always``."""
        aof = self.aof
        return aof is not None and aof.policy is FsyncPolicy.ALWAYS and aof.has_pending()
