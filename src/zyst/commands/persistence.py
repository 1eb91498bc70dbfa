"""Persistence commands: SAVE, BGSAVE, LASTSAVE and BGREWRITEAOF.

The work lives in :mod:`zyst.persistence.saving` (RDB snapshots) and
:mod:`zyst.persistence.rewrite` (the AOF rewrite, which the server hands to the context as
``ctx.request_aof_rewrite``); this module parses arguments and maps outcomes to Redis's replies.

SAVE writes the RDB snapshot in the server's own process, so nothing else runs meanwhile;
BGSAVE leaves it to a forked child and answers at once. Only one child runs at a time: BGSAVE
while another kind of child runs (an AOF rewrite) is refused, or with ``SCHEDULE`` (and inside
a transaction) started by the cron once that child has ended; BGREWRITEAOF is scheduled then.
"""

from __future__ import annotations

from zyst import errors
from zyst.client import Client
from zyst.commands.table import Reply, command
from zyst.errors import CommandError
from zyst.persistence.saving import saving_of
from zyst.protocol.resp import OK, Status

_REWRITE_STARTED = Status(b"Background append only file rewriting started")
_REWRITE_SCHEDULED = Status(b"Background append only file rewriting scheduled")
_STARTED = Status(b"Background saving started")
_SCHEDULED = Status(b"Background saving scheduled")


@command(
    "save",
    arity=1,
    flags=("admin", "noscript", "no_async_loading", "no_multi"),
    group="server",
    summary="Synchronously save the dataset to disk",
    complexity="O(N) where N is the total number of keys in all databases",
)
def save(client: Client, argv: list[bytes]) -> Reply:
    """SAVE"""
    saving = saving_of(client.ctx)
    if saving.in_progress():
        raise CommandError(errors.BGSAVE_IN_PROGRESS)
    saving.saves += 1
    if not saving.save():
        raise CommandError(errors.SAVE_FAILED)
    return OK


@command(
    "bgsave",
    arity=-1,
    flags=("admin", "noscript", "no_async_loading"),
    group="server",
    summary="Asynchronously save the dataset to disk",
    syntax="[SCHEDULE]",
    complexity="O(1)",
)
def bgsave(client: Client, argv: list[bytes]) -> Reply:
    """BGSAVE [SCHEDULE]"""
    schedule = False
    if len(argv) > 1:
        if len(argv) == 2 and argv[1].lower() == b"schedule":
            schedule = True
        else:
            raise CommandError(errors.SYNTAX)
    ctx = client.ctx
    saving = saving_of(ctx)
    # (A transaction runs as one atomic block: no fork in its middle, as Redis's in_exec.)
    in_exec = ctx.atomic_depth > 0
    if saving.in_progress():
        raise CommandError(errors.BGSAVE_IN_PROGRESS)
    if ctx.children.kind is not None or in_exec:
        if not (schedule or in_exec):
            raise CommandError(errors.BGSAVE_OTHER_CHILD)
        saving.scheduled = True
        return _SCHEDULED
    if not saving.background():
        raise CommandError(errors.SAVE_FAILED)
    return _STARTED


@command(
    "lastsave",
    arity=1,
    flags=("loading", "stale", "fast"),
    group="server",
    summary="Get the UNIX time stamp of the last successful save to disk",
    complexity="O(1)",
    acl_categories=("admin", "dangerous"),
    tips=("nondeterministic_output",),
)
def lastsave(client: Client, argv: list[bytes]) -> Reply:
    """LASTSAVE"""
    return saving_of(client.ctx).lastsave


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
        return _REWRITE_STARTED
    if outcome == "scheduled":
        return _REWRITE_SCHEDULED
    if outcome == "in progress":
        raise CommandError(errors.AOF_REWRITE_IN_PROGRESS)
    raise CommandError(errors.AOF_REWRITE_FAILED)
