"""Clients in a mode that changes what their commands do, and where their commands go instead
of straight to :func:`zyst.commands.table.call`.

A mode is a bit of :attr:`zyst.client.Client.mode`: inside ``MULTI`` commands are queued, a RESP2
client with subscriptions may only run the subscription commands, ``PING``, ``QUIT`` and
``RESET``. The connection routes a command here only when ``mode`` is not 0, so clients in no
mode (the hot path) pay one test of a field and nothing else.

A feature claims its bit with :func:`route`, giving the function that decides what becomes of
each command while the bit is set (run it through :func:`zyst.commands.table.call`, queue it,
refuse it). When several bits are set, the lower priority number decides first, as Redis's
``processCommand`` checks the subscribed context before queueing for ``MULTI``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from zyst.commands.table import Command, Reply, call, rejected

if TYPE_CHECKING:
    from zyst.client import Client

Route = Callable[["Client", list[bytes]], Reply]

# The modes, as bits of Client.mode.
SUBSCRIBED: Final = 1  # RESP2 with channels or patterns subscribed
MULTI: Final = 2  # between MULTI and EXEC/DISCARD
REPLY: Final = 4  # CLIENT REPLY OFF or SKIP (zyst.commands.connection)
# The client scripts run their commands as. Never routed (scripts call table.call directly);
# commands that act otherwise for scripts (SORT of a set BY a constant) test it.
SCRIPT: Final = 8
# Every client but the caller while a script runs past busy-reply-threshold (zyst.busy).
BUSY: Final = 16
MONITORING: Final = 32  # after MONITOR (zyst.commands.monitor)
PAUSED: Final = 64  # every client but the monitoring ones, while CLIENT PAUSE is in force
# CLIENT TRACKING ON (zyst.commands.caching): what its commands read is remembered, and what
# they invalidate for the client itself is sent after their replies.
TRACKING: Final = 128
# A client not yet authenticated, or whose user's ACL restricts it (zyst.commands.guard): its
# commands are checked before anything else, as Redis checks AUTH and ACL first.
GUARDED: Final = 256
# Every client while maxmemory is set (zyst.commands.maxmemory): eviction before each command,
# and OOM for the commands that could add memory.
CAPPED: Final = 512
# Every client of a replica whose link to its primary is down while replica-serve-stale-data
# is no (zyst.commands.stale): only the commands flagged ``stale`` run.
STALE: Final = 1024

_ROUTES: list[tuple[int, int, Route]] = []  # (priority, bit, route), sorted


def route(bit: int, priority: int, handler: Route) -> None:
    """Send the commands of clients with ``bit`` set to ``handler``."""
    _ROUTES.append((priority, bit, handler))
    _ROUTES.sort(key=lambda entry: entry[0])


def call_in_mode(client: Client, argv: list[bytes]) -> Reply:
    """Run or handle ``argv`` for a client whose :attr:`~zyst.client.Client.mode` is set."""
    mode = client.mode
    for _, bit, handler in _ROUTES:
        if mode & bit:
            return handler(client, argv)
    return call(client, argv)


def reject(client: Client, cmd: Command, argv: list[bytes], message: str) -> Reply:
    """Refuse ``cmd`` with ``message`` before it runs (Redis's ``rejectCommand``: OOM,
    MASTERDOWN): counted as rejected, and inside MULTI the transaction then fails at EXEC."""
    client.ctx.stats.rejected_calls += 1
    cmd.rejected_calls += 1
    if client.mode & MULTI:
        client.multi_error = True
    return rejected(client, argv, message)
