"""The clients' share of the cron: every connected client visited about once a second.

As Redis's clientsCron, each tick visits a slice of the clients (their number divided by
``hz``, at least five), so a round takes about a second whatever their number, and no tick
pays for all of them. A visit:

- closes the client if ``timeout`` is set and it has been idle longer than that (no bytes
  from it, and none of its pending output sent since the previous visit), unless it waits in
  a blocking command (that has its own timeout), is subscribed to anything, or is a monitor, as
  Redis spares those; closed at once, what it was not sent yet discarded (Redis's freeClient);
- gives back or shrinks the client's read buffer (``Connection.resize_read_buffer``), after
  two idle seconds or when it is much bigger than the recent reads needed, as Redis does with
  its query buffer;
- records its input and output buffers in the slot of the current second, one of eight:
  INFO's ``client_recent_max_input_buffer`` / ``client_recent_max_output_buffer`` are the
  largest of the last eight seconds (the next slot is cleared on every tick).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection
from typing import TYPE_CHECKING

from zyst.commands.modes import MONITORING

if TYPE_CHECKING:
    from zyst.connection import Connection
    from zyst.context import ServerContext

__all__ = ["ClientsCron"]

log = logging.getLogger("zyst")

_SLOTS = 8
_MIN_VISITS = 5


class ClientsCron:
    """Visits the ``connections`` of ``ctx`` a slice per :meth:`tick`."""

    def __init__(self, ctx: ServerContext, connections: Collection[Connection]) -> None:
        self._ctx = ctx
        self._connections = connections
        self._round: list[Connection] = []
        self._next = 0
        self._peak_in = [0] * _SLOTS
        self._peak_out = [0] * _SLOTS

    def tick(self, now: float | None = None, unix_now: float | None = None) -> None:
        """One cron tick: visit the next slice of clients. ``now`` is the monotonic clock,
        ``unix_now`` the wall clock (for the peaks' slots); both read when not given."""
        ctx = self._ctx
        if now is None:
            now = time.monotonic()
        if unix_now is None:
            unix_now = time.time()
        slot = int(unix_now) % _SLOTS
        following = (slot + 1) % _SLOTS
        self._peak_in[following] = 0
        self._peak_out[following] = 0
        if self._next >= len(self._round):
            self._round = list(self._connections)
            self._next = 0
        visits = max(len(self._round) // max(ctx.config.hz, 1), _MIN_VISITS)
        chunk = self._round[self._next : self._next + visits]
        self._next += visits
        timeout = ctx.config.timeout
        peak_in = self._peak_in[slot]
        peak_out = self._peak_out[slot]
        for conn in chunk:
            client = conn.client
            transport = conn.transport
            if client is None or transport is None or transport.is_closing():
                continue
            output = conn.pending_output()
            if output < conn.output_at_visit:
                # The client takes its replies, however slowly: as in Redis, where every
                # write to a client counts as interaction, it is not idle.
                client.last_interaction = now
            conn.output_at_visit = output
            if (
                timeout
                and now - client.last_interaction > timeout
                and not conn.blocked
                and client.subscriptions is None
                and not client.mode & MONITORING
            ):
                log.log(logging.INFO - 1, "Closing idle client")
                transport.abort()
                continue
            conn.resize_read_buffer(now)
            peak_in = max(peak_in, conn.pending_input())
            peak_out = max(peak_out, output)
        self._peak_in[slot] = peak_in
        self._peak_out[slot] = peak_out
        stats = ctx.stats
        stats.client_recent_max_input_buffer = max(self._peak_in)
        stats.client_recent_max_output_buffer = max(self._peak_out)
