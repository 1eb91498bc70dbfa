"""The commands of a tracking client (``CLIENT TRACKING ON``): what they read is remembered in
the tracking table (:mod:`zyst.tracking`), and what they invalidate for the client itself is sent
after their replies.

A tracking client has the :data:`~zyst.commands.modes.TRACKING` mode bit, so only its commands
come here (:func:`_run_tracked`, before every other mode decides); other clients pay nothing.
Keys are remembered as Redis's ``call()`` does: after a ``readonly`` command that ran (not one
queued by MULTI or refused for the subscribed context or its arity; a failed one counts, as in
Redis), except the read-only script commands (EVAL_RO, EVALSHA_RO, FCALL_RO), whose own reads
count instead: a read inside a script remembers the keys the script was called with
(:func:`script_read`). EXEC runs its queued commands through :func:`call_tracked`, so that
reads and writes inside a transaction are remembered and invalidated in their order.

``CLIENT CACHING YES|NO`` applies to the next command, or to the next transaction when it is
sent before MULTI: it is cleared after any command that is not a CLIENT subcommand, outside
MULTI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from zyst.blocking import POSTPONED, Blocked
from zyst.commands import modes
from zyst.commands.introspection import keys_of
from zyst.commands.table import Command, Reply, call, resolve
from zyst.protocol.resp import NO_REPLY, ErrorReply, Raw, encode_reply

if TYPE_CHECKING:
    from zyst.client import Client

# Read-only commands whose keys are not remembered by themselves (the reads of the script are).
_SCRIPTS_READ_ONLY: Final = frozenset({"eval_ro", "evalsha_ro", "fcall_ro"})
# Modes in which the command sent does not run (queued for EXEC; refused while subscribed or
# while a script is busy, unless it is one of the commands allowed then, none of which reads
# keys).
_NOT_RUN: Final = modes.MULTI | modes.SUBSCRIBED | modes.BUSY


def _run_tracked(client: Client, argv: list[bytes]) -> Reply:
    """Run a command of a tracking client (the route of its TRACKING mode bit)."""
    ctx = client.ctx
    tracking = ctx.signal.tracking
    # Redis keeps the table within its limit before each command it processes.
    if tracking.keys:
        tracking.limit(ctx.config.tracking_table_max_keys)
    mode = client.mode
    others = mode & ~modes.TRACKING
    client.mode = others
    saved = tracking.enter(client)
    try:
        if others & _NOT_RUN:
            reply = modes.call_in_mode(client, argv)
        else:
            state = client.tracking
            if state is not None:
                state.argv = argv
            reply = modes.call_in_mode(client, argv) if others else call(client, argv)
            if reply is POSTPONED:
                # Held by CLIENT PAUSE: it runs (and is remembered) when the pause ends.
                return reply
            remember_read(client, argv)
        if not client.mode & modes.MULTI and argv[0].lower() != b"client":
            state = client.tracking
            if state is not None:
                state.caching = False
    finally:
        own = tracking.leave(saved)
        if client.tracking is not None:
            client.mode |= modes.TRACKING
    if not own:
        return reply
    # Invalidations of the client's own keys follow the reply.
    if type(reply) is Blocked:
        for message in own:
            client.push(message)
        return reply
    out: list[bytes] = []
    if reply is not NO_REPLY:
        if type(reply) is ErrorReply:
            ctx.stats.count_error(reply.message)
        encode_reply(reply, client.resp3, out)
    out += own
    return Raw(b"".join(out))


modes.route(modes.TRACKING, -10, _run_tracked)


def call_tracked(client: Client, argv: list[bytes]) -> Reply:
    """Run a command of a tracking client where it is run directly (a command EXEC runs),
    remembering what it reads."""
    state = client.tracking
    if state is not None:
        state.argv = argv
    reply = call(client, argv)
    remember_read(client, argv)
    return reply


def remember_read(client: Client, argv: list[bytes]) -> None:
    """After ``argv`` ran for ``client``: remember the keys it read, if it is a read."""
    state = client.tracking
    if state is None or state.bcast:
        return
    cmd = resolve(argv)
    if type(cmd) is not Command or "readonly" not in cmd.flags or "pubsub" in cmd.flags:
        return
    if cmd.name in _SCRIPTS_READ_ONLY:
        return
    client.ctx.signal.tracking.remember(client, keys_of(cmd, argv))


def script_read(caller: Client) -> None:
    """A script ``caller`` (tracking) runs has just run a read-only command: remember the keys
    the script was called with (its declared keys), as Redis 7.0 does."""
    state = caller.tracking
    if state is None or state.bcast or not state.argv:
        return
    cmd = resolve(state.argv)
    if type(cmd) is Command:
        caller.ctx.signal.tracking.remember(caller, keys_of(cmd, state.argv))
