"""Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.

Between MULTI and EXEC a client is in the :data:`~zyst.commands.modes.MULTI` mode: its commands
are checked (name, arity, commands refused in a transaction, writes refused while the AOF
fails) and queued, each answered ``+QUEUED``; one refused marks the transaction, and EXEC then
answers ``-EXECABORT`` and runs nothing. EXEC, DISCARD, MULTI, WATCH and QUIT run at once.

EXEC runs the queue through :func:`zyst.commands.table.call`, one command after another with
nothing of any other client in between (handlers are synchronous); a command that fails does
not stop the others. Its changes reach the AOF as one ``MULTI`` ... ``EXEC`` block
(:meth:`zyst.context.ServerContext.begin_atomic`), so a replay applies all or nothing; blocking
commands answer at once (:func:`zyst.blocking.reply_without_waiting`); clients blocked on keys
the transaction filled are served after it, not between its commands.

WATCH follows keys through the key-modified signal (:mod:`zyst.notify`): when one is changed,
deleted or expires before EXEC (by anyone, this client included), or when it expired since
WATCH, EXEC answers a null array and runs nothing. EXEC and DISCARD forget every watched key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from zyst import errors
from zyst.blocking import reply_without_waiting
from zyst.commands import guard, modes
from zyst.commands.caching import call_tracked
from zyst.commands.table import (
    ON_REJECT,
    Command,
    KeySpec,
    Reply,
    call,
    command,
    lookup,
    note_refused,
    resolve,
)
from zyst.errors import CommandError
from zyst.protocol.resp import NULL_ARRAY, OK, QUEUED, ErrorReply, Raw, encode_reply

if TYPE_CHECKING:
    from zyst.client import Client

_FLAGS: Final = ("noscript", "loading", "stale", "fast", "allow_busy")
_CATEGORIES: Final = ("transaction",)
# The commands a client in MULTI runs at once rather than queueing (Redis's processCommand).
_RUN_AT_ONCE: Final = frozenset({"exec", "discard", "multi", "watch", "quit", "reset"})


def _queue(client: Client, argv: list[bytes]) -> Reply:
    """What becomes of a command sent between MULTI and EXEC."""
    found = resolve(argv)
    if found is None or (type(found) is Command and found.name in _RUN_AT_ONCE):
        return call(client, argv)
    ctx = client.ctx
    if type(found) is str:
        if argv[0].lower() == b"exec":
            return call(client, argv)  # refused there, as EXECABORT (abort_exec)
        note_refused(client, argv)
        return _refuse(client, found, lookup(argv[0]))
    assert isinstance(found, Command)
    client.last_command = found.wire_name
    if "no_multi" in found.flags:
        return _refuse(client, errors.NOT_IN_TRANSACTION, found)
    if found.write and ctx.write_refusal is not None:
        return _refuse(client, ctx.write_refusal, found)
    client.multi_queue.append(argv)
    # Counted when EXEC runs it, as Redis counts a command each time it runs.
    ctx.stats.total_commands_processed -= 1
    return QUEUED


def _refuse(client: Client, message: str, cmd: Command | None) -> ErrorReply:
    """Refuse a command sent inside MULTI (EXEC will abort), counted as Redis counts a command
    rejected before it runs (INFO's rejected_calls, and the command's own when it exists)."""
    client.multi_error = True
    client.ctx.stats.rejected_calls += 1
    if cmd is not None:
        cmd.rejected_calls += 1
    return ErrorReply(message)


modes.route(modes.MULTI, 20, _queue)


def abort_exec(client: Client, message: str) -> Reply:
    """EXEC refused before it ran (``message``: why): the transaction is discarded, whether
    there was one or not, and the answer is EXECABORT with the reason (Redis's
    execCommandAbort)."""
    discard_transaction(client)
    return ErrorReply(errors.exec_abort_because(message.removeprefix("ERR ")))


ON_REJECT[b"exec"] = abort_exec


def discard_transaction(client: Client) -> None:
    """Leave MULTI: forget the queue, the refusal mark and every watched key."""
    client.mode &= ~modes.MULTI
    client.multi_queue = []
    client.multi_error = False
    client.watch_dirty = False
    client.ctx.signal.unwatch_all(client)


@command(
    "multi",
    arity=1,
    flags=_FLAGS,
    group="transactions",
    summary="Mark the start of a transaction block",
    since="1.2.0",
    complexity="O(1)",
    acl_categories=_CATEGORIES,
)
def multi(client: Client, argv: list[bytes]) -> Reply:
    """MULTI

    Starts queueing this client's commands for EXEC. An error inside MULTI (nothing else
    changes: the transaction goes on).
    """
    if client.mode & modes.MULTI:
        raise CommandError(errors.MULTI_NESTED)
    client.mode |= modes.MULTI
    client.multi_queue = []
    client.multi_error = False
    return OK


@command(
    "exec",
    arity=1,
    flags=("noscript", "loading", "stale", "skip_slowlog"),
    group="transactions",
    summary="Execute all commands issued after MULTI",
    since="1.2.0",
    complexity="Depends on commands in the transaction",
    acl_categories=_CATEGORIES,
)
def exec_(client: Client, argv: list[bytes]) -> Reply:
    """EXEC

    The replies of the queued commands, in order (errors among them); a null array when a
    watched key changed; ``-EXECABORT`` when a command was refused while queueing.
    """
    if not client.mode & modes.MULTI:
        raise CommandError(errors.EXEC_WITHOUT_MULTI)
    ctx = client.ctx
    signal = ctx.signal
    if client.watching and signal.any_expired(client):
        client.watch_dirty = True
    queue = client.multi_queue
    refused = client.multi_error
    dirty = client.watch_dirty
    discard_transaction(client)
    if refused:
        raise CommandError(errors.EXECABORT)
    if dirty:
        return NULL_ARRAY
    replies: list[Reply] = []
    stats = ctx.stats
    blocking = ctx.blocking
    held = blocking.hold_serving()
    # What a queued command pushes to this very client (SUBSCRIBE's confirmations, a message it
    # publishes to itself) goes in that command's place in EXEC's reply, as in Redis, where
    # both land in the one reply buffer in the order they were made.
    pushed: list[bytes] = []
    own_push = client.push
    client.push = pushed.append
    # A restricted user's commands are checked again as they run: its rules may have changed
    # since they were queued (zyst.commands.guard). A user restricted by a command of this very
    # transaction has its clients' GUARDED bit set by then.
    checked = not client.user.unrestricted()
    ctx.begin_atomic()
    try:
        for queued in queue:
            refusal = None
            if checked or client.mode & modes.GUARDED:
                refusal = guard.exec_refusal(client, queued)
            reply: Reply
            if refusal is not None:
                reply = refusal
            else:
                # A tracking client's reads are remembered as they run (zyst.commands.caching).
                run = call if client.tracking is None else call_tracked
                reply = reply_without_waiting(run(client, queued))
            if type(reply) is ErrorReply:
                stats.count_error(reply.message)
            if pushed:
                encode_reply(reply, client.resp3, pushed)
                reply = Raw(b"".join(pushed))
                pushed.clear()
            replies.append(reply)
    finally:
        ctx.end_atomic()
        client.push = own_push
        blocking.release_serving(held, call)
    stats.total_commands_processed += len(queue)
    return replies


@command(
    "discard",
    arity=1,
    flags=_FLAGS,
    group="transactions",
    summary="Discard all commands issued after MULTI",
    since="2.0.0",
    complexity="O(N), when N is the number of queued commands",
    acl_categories=_CATEGORIES,
)
def discard(client: Client, argv: list[bytes]) -> Reply:
    """DISCARD

    Leaves MULTI without running anything, and forgets every watched key.
    """
    if not client.mode & modes.MULTI:
        raise CommandError(errors.DISCARD_WITHOUT_MULTI)
    discard_transaction(client)
    return OK


@command(
    "watch",
    arity=-2,
    flags=_FLAGS,
    keys=(1, -1, 1),
    group="transactions",
    summary="Watch the given keys to determine execution of the MULTI/EXEC block",
    since="2.2.0",
    complexity="O(1) for every key.",
    acl_categories=_CATEGORIES,
    key_specs=(KeySpec(flags=("RO",)),),
)
def watch(client: Client, argv: list[bytes]) -> Reply:
    """WATCH key [key ...]

    Makes the next EXEC fail if one of the keys (in the selected database) changes first. Not
    allowed inside MULTI.
    """
    if client.mode & modes.MULTI:
        raise CommandError(errors.WATCH_INSIDE_MULTI)
    if client.watch_dirty:
        return OK  # EXEC fails anyway: nothing more to follow
    signal = client.ctx.signal
    db = client.db
    for key in argv[1:]:
        signal.watch(client, db, key)
    return OK


@command(
    "unwatch",
    arity=1,
    flags=_FLAGS,
    group="transactions",
    summary="Forget about all watched keys",
    since="2.2.0",
    complexity="O(1)",
    acl_categories=_CATEGORIES,
)
def unwatch(client: Client, argv: list[bytes]) -> Reply:
    """UNWATCH

    Forgets every watched key; the next EXEC no longer depends on them.
    """
    client.ctx.signal.unwatch_all(client)
    client.watch_dirty = False
    return OK
