"""``maxmemory`` before each command: eviction, and ``-OOM`` for what could add memory.

While ``maxmemory`` is not 0 every client has the :data:`~zyst.commands.modes.CAPPED` bit (new
ones through :attr:`zyst.context.ServerContext.client_mode`), so its commands come here first;
with ``maxmemory 0`` nothing here runs (the hot path pays nothing). Before each command, as
Redis's ``processCommand``:

1. eviction runs if ``used_memory`` is over the limit (:meth:`zyst.eviction.Evictor.perform`);
2. if memory is still over it (:data:`zyst.eviction.FAIL`: ``noeviction``, or nothing left to
   evict), the command is refused with ``-OOM`` when it is flagged ``denyoom``, when it is EXEC
   of a transaction holding a ``denyoom`` command, when it is a script whose declared flags
   (a shebang, a function's flags) neither allow OOM nor promise no writes, or when the client
   is in MULTI (anything queued but EXEC, DISCARD, QUIT and RESET);
3. the outcome is kept for scripts (``pre_command_oom``): a script without declared flags may
   run, but its first ``denyoom`` call fails with ``-OOM`` (:mod:`zyst.scripting.interpreter`).

A refused command counts as rejected (INFO's ``rejected_calls``), marks an open transaction
(EXEC then aborts) and answers EXEC with ``EXECABORT``, as Redis's ``rejectCommand``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from zyst import errors
from zyst.commands import modes
from zyst.commands.table import Command, Reply, call, resolve
from zyst.eviction import FAIL, evictor_of
from zyst.memory import ARG_OVERHEAD, READ_EVERY
from zyst.scripting.engine import engine_of, script_flags
from zyst.scripting.flags import ALLOW_OOM, COMPAT, NO_WRITES

if TYPE_CHECKING:
    from zyst.client import Client
    from zyst.context import ServerContext

# What a client in MULTI may still send when out of memory (Redis's processCommand).
_MULTI_ALLOWED: Final = frozenset({"exec", "discard", "quit", "reset"})
_EVALS: Final = frozenset({"eval", "eval_ro"})
_EVALSHAS: Final = frozenset({"evalsha", "evalsha_ro"})
_FCALLS: Final = frozenset({"fcall", "fcall_ro"})


# Per declaration: True (flagged denyoom), False (never), None (it depends on the call: EXEC,
# the scripts).
_FLAGGED: dict[Command, bool | None] = {}
_DEPENDS: Final = frozenset({"exec", *_EVALS, *_EVALSHAS, *_FCALLS})


def _denyoom(client: Client, cmd: Command, argv: list[bytes]) -> bool:
    """Whether ``cmd`` (called with ``argv``) is refused when out of memory (Redis's
    ``CMD_DENYOOM`` from ``getCommandFlags``)."""
    if cmd not in _FLAGGED:
        _FLAGGED[cmd] = True if "denyoom" in cmd.flags else None if cmd.name in _DEPENDS else False
    flagged = _FLAGGED[cmd]
    if flagged is not None:
        return flagged
    name = cmd.name
    if name == "exec":
        for queued in client.multi_queue:
            found = resolve(queued)
            if isinstance(found, Command) and _denyoom(client, found, queued):
                return True
        return False
    flags = COMPAT
    if name in _EVALS and len(argv) > 1:
        try:
            flags = script_flags(argv[1])[0]
        except errors.CommandError:
            return False
    elif name in _EVALSHAS and len(argv) > 1:
        script = engine_of(client.ctx).scripts.get(argv[1].lower().decode("latin-1"))
        flags = script.flags if script is not None else COMPAT
    elif name in _FCALLS and len(argv) > 1:
        entry = engine_of(client.ctx).functions.functions.get(argv[1].lower())
        if entry is None:
            entry = engine_of(client.ctx).functions.functions.get(argv[1])
        flags = entry[1].flags if entry is not None else COMPAT
    else:
        return False
    # A script with declared flags that may write is denyoom unless it allows OOM
    # (Redis's scriptFlagsToCmdFlags); one without (COMPAT) is not.
    return not flags & (COMPAT | ALLOW_OOM | NO_WRITES)


def _call_capped(client: Client, argv: list[bytes]) -> Reply:
    """A command while maxmemory is set: evict first, refuse it if memory stays over."""
    ctx = client.ctx
    found = resolve(argv)
    if isinstance(found, Command):
        evictor = evictor_of(ctx)
        meter = evictor.meter
        denyoom = _denyoom(client, found, argv)
        if denyoom:
            # What storing the arguments could add: an upper estimate for most commands (their
            # bytes, and per argument an object's header and a dict entry), so that the meter
            # measures sooner rather than later. (A command that stores more than it was sent,
            # SETRANGE at a far offset, SUNIONSTORE, is caught by the reading of malloc's figure
            # before the next command: ``meter.wrote``.)
            growth = ARG_OVERHEAD
            for arg in argv:
                growth += len(arg) + ARG_OVERHEAD
            meter.growth += growth
        # (MemoryMeter.due, inlined: this runs before every command.)
        checks = meter.checks + 1
        meter.checks = checks
        due = meter.wrote or meter.growth >= meter.allowance or not checks & (READ_EVERY - 1)
        oom = due and evictor.perform(checked=True) == FAIL
        evictor.pre_command_oom = oom
        if oom and (denyoom or (client.mode & modes.MULTI and found.name not in _MULTI_ALLOWED)):
            return modes.reject(client, found, argv, errors.OOM)
        if found.write:
            meter.wrote = True
    mode = client.mode & ~modes.CAPPED
    client.mode = mode
    try:
        return call(client, argv) if not mode else modes.call_in_mode(client, argv)
    finally:
        client.mode |= ctx.client_mode & modes.CAPPED


modes.route(modes.CAPPED, -15, _call_capped)


def follow_settings(ctx: ServerContext) -> None:
    """Set the CAPPED bit on every client while ``maxmemory`` applies, now and after each
    CONFIG SET of it (and each change of role: :func:`apply_cap`); evict at once when the new
    limit is below the memory in use (as Redis's CONFIG SET does). A policy change empties
    the eviction pool."""
    evictor = evictor_of(ctx)
    config = ctx.config
    apply_cap(ctx)
    for name in ("maxmemory", "replica-ignore-maxmemory"):
        config.on_change(name, lambda name: apply_cap(ctx))
    config.on_change("maxmemory-policy", lambda name: evictor.forget())


def apply_cap(ctx: ServerContext) -> None:
    """``maxmemory`` applies unless it is 0, or this server is a replica that ignores it
    (``replica-ignore-maxmemory``, the default: the primary's DELs keep it in line)."""
    from zyst.replication.replica import follower_of

    evictor = evictor_of(ctx)
    config = ctx.config
    limit = config.maxmemory
    if limit and config.replica_ignore_maxmemory and follower_of(ctx).following:
        limit = 0
    evictor.meter.cap = limit
    evictor.meter.allowance = 0  # (read at the next check)
    if limit:
        ctx.client_mode |= modes.CAPPED
        for client in ctx.clients.values():
            client.mode |= modes.CAPPED
        evictor.perform()
    else:
        ctx.client_mode &= ~modes.CAPPED
        for client in ctx.clients.values():
            client.mode &= ~modes.CAPPED
