"""Persistence commands: BGREWRITEAOF.

The work itself lives in :mod:`zyst.persistence.rewrite`; the server hands it to the context
(``ctx.request_aof_rewrite``), so this module only maps its outcome to Redis's replies.
"""

from __future__ import annotations

from zyst import errors
from zyst.client import Client
from zyst.commands.table import Reply, command
from zyst.errors import CommandError
from zyst.protocol.resp import Status

_STARTED = Status(b"Background append only file rewriting started")
_SCHEDULED = Status(b"Background append only file rewriting scheduled")


@command(
    "bgrewriteaof",
    arity=1,
    flags=("admin", "noscript", "no_async_loading"),
    group="server",
    summary="Asynchronously rewrite the append-only file",
    complexity="O(1)",
)
def bgrewriteaof(client: Client, argv: list[bytes]) -> Reply:
    """BGREWRITEAOF

    Starts a background rewrite of the AOF; ``scheduled`` when another child (BGSAVE) runs or
    inside EXEC: the cron starts it as soon as it can."""
    ctx = client.ctx
    outcome = ctx.request_aof_rewrite(ctx.atomic_depth > 0)
    if outcome == "started":
        return _STARTED
    if outcome == "scheduled":
        return _SCHEDULED
    if outcome == "in progress":
        raise CommandError(errors.AOF_REWRITE_IN_PROGRESS)
    raise CommandError(errors.AOF_REWRITE_FAILED)
