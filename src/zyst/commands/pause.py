"""CLIENT PAUSE and CLIENT UNPAUSE: holding clients' commands back for a while, as Redis 7.0's
``pauseClients``.

``CLIENT PAUSE timeout ALL`` holds every command of every client; ``WRITE`` holds those that
may change the data or reach replicas: writes, Redis's ``may_replicate`` commands (PUBLISH,
SPUBLISH, PFCOUNT, EVAL, EVALSHA, FCALL) and EXEC of a transaction holding one, a script being
judged by the flags it declares (:mod:`zyst.commands.runflags`: a ``no-writes`` script runs).
A pause lasts ``timeout`` milliseconds or until CLIENT UNPAUSE; a new CLIENT PAUSE during one
keeps the more restrictive kind and the later end of the two. Monitoring clients are never
paused (they are replicas to Redis).

What a held command looks like: the checks Redis makes before the pause are made first (an
unknown command, a wrong arity, a RESP2 subscriber's refused command are answered at once),
then the client is parked with its pipeline behind it (:data:`zyst.blocking.POSTPONED`): it
counts as blocked (INFO's ``blocked_clients``, CLIENT LIST's ``b`` with its command as
``cmd=``), without a timeout of its own, and when the pause ends its command runs again from
the start (and may be held again, or block on a key, whose timeout only starts then). A
command held while its client is in MULTI is held before it is queued. A pause begun inside a
transaction holds nobody until EXEC is over (nobody else runs meanwhile anyway).

While a pause is in force the data stays as it is: keys whose time has come look missing but
are not deleted, and the active expiry cycle does not run (:attr:`zyst.keyspace.Keyspace.paused`).

Cost: none while nothing is paused. A pause sets the :data:`~zyst.commands.modes.PAUSED` mode
bit on every client (and on new ones, :attr:`zyst.context.ServerContext.client_mode`), which
routes their commands through this module's check until it ends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from zyst import errors
from zyst.blocking import POSTPONED
from zyst.commands import modes
from zyst.commands.connection import CLIENT
from zyst.commands.monitor import is_monitoring
from zyst.commands.runflags import MAY_REPLICATE, WRITE, effective
from zyst.commands.table import Command, Reply, resolve, subcommand
from zyst.errors import CommandError
from zyst.numbers import LLONG_MAX, strict_int
from zyst.perserver import state_of
from zyst.protocol.resp import OK

if TYPE_CHECKING:
    from zyst.client import Client
    from zyst.context import ServerContext

# The kinds of pause, least restrictive first (Redis's pause_type).
OFF: Final = 0
WRITES: Final = 1
ALL: Final = 2


class Pause:
    """The pause of one server: its kind, when it ends (Unix ms), and the timer that ends it."""

    __slots__ = ("ctx", "end_ms", "kind", "timer")

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.kind = OFF
        self.end_ms = 0
        self.timer: Any = None

    def holds(self, client: Client, cmd: Command, argv: list[bytes]) -> bool:
        """Whether ``argv`` of ``client`` must wait for the pause to end."""
        kind = self.kind
        if kind == OFF or is_monitoring(client):
            return False
        return kind == ALL or bool(effective(client, cmd, argv) & (WRITE | MAY_REPLICATE))

    def pause(self, kind: int, end_ms: int) -> None:
        """CLIENT PAUSE: pause ``kind`` until ``end_ms``, merged with a pause in force."""
        if self.kind != OFF:
            kind = max(kind, self.kind)
            end_ms = max(end_ms, self.end_ms)
        self._set(kind, end_ms)

    def unpause(self) -> None:
        """CLIENT UNPAUSE, or the end of the pause's time."""
        self._set(OFF, 0)

    def _set(self, kind: int, end_ms: int) -> None:
        ctx = self.ctx
        if kind != OFF and end_ms < ctx.keyspace.clock():
            kind = OFF  # already over (a timeout of 0), as Redis finds it at once
        was = self.kind
        self.kind = kind
        self.end_ms = end_ms if kind != OFF else 0
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if kind == OFF:
            if was != OFF:
                self._end()
            return
        if was == OFF:
            self._begin()
        call_later = ctx.blocking.call_later
        if call_later is not None:
            # A key's or pause's time is over once the clock is past it: one ms after.
            delay = (end_ms + 1 - ctx.keyspace.clock()) / 1000.0
            self.timer = call_later(max(delay, 0.0), self._expired)

    def _expired(self) -> None:
        self.timer = None
        if self.kind != OFF and self.end_ms < self.ctx.keyspace.clock():
            self.unpause()
        elif self.kind != OFF:
            self._set(self.kind, self.end_ms)  # the clock was behind: wait on

    def _begin(self) -> None:
        ctx = self.ctx
        ctx.client_mode |= modes.PAUSED
        for client in ctx.clients.values():
            client.mode |= modes.PAUSED
        if ctx.atomic_depth and ctx.blocking.call_soon is not None:
            # Inside EXEC: its remaining commands still run as in no pause (their writes
            # expire what they find expired, as they must to store anew).
            ctx.blocking.call_soon(self._freeze)
        else:
            self._freeze()

    def _freeze(self) -> None:
        self.ctx.keyspace.paused = self.kind != OFF or _replicating(self.ctx)

    def _end(self) -> None:
        ctx = self.ctx
        ctx.client_mode &= ~modes.PAUSED
        for client in ctx.clients.values():
            client.mode &= ~modes.PAUSED
        # (A replica keeps its keys past their deadline: its primary's DELs remove them.)
        ctx.keyspace.paused = _replicating(ctx)
        ctx.blocking.release_postponed()


def _replicating(ctx: ServerContext) -> bool:
    from zyst.replication.replica import follower_of

    return follower_of(ctx).following


def pause_of(ctx: ServerContext) -> Pause:
    """The pause state of the server ``ctx``."""
    return state_of(ctx, Pause, Pause)


def _call_paused(client: Client, argv: list[bytes]) -> Reply:
    """A command of a client while a pause is in force: held, or run."""
    found = resolve(argv)
    state = pause_of(client.ctx)
    if isinstance(found, Command) and state.holds(client, found, argv):
        client.last_command = found.wire_name
        # Not run, so not counted (the connection counts what it hands the dispatcher); it is
        # counted when it runs.
        client.ctx.stats.total_commands_processed -= 1
        return POSTPONED
    client.mode &= ~modes.PAUSED
    try:
        return modes.call_in_mode(client, argv)
    finally:
        if state.kind != OFF:
            client.mode |= modes.PAUSED


modes.route(modes.PAUSED, 10, _call_paused)


@subcommand(
    CLIENT,
    "pause",
    arity=-3,
    flags=("admin", "noscript", "loading", "stale"),
    summary="Stop processing commands from clients for some time",
    since="2.9.50",
    syntax="timeout [WRITE | ALL]",
    complexity="O(1)",
    acl_categories=("connection",),
)
def client_pause(client: Client, argv: list[bytes]) -> Reply:
    """CLIENT PAUSE timeout [WRITE | ALL]

    Holds the commands of every client (ALL, the default) or those that may write (WRITE) for
    ``timeout`` milliseconds; see the module docstring."""
    if len(argv) > 4:
        raise CommandError(errors.subcommand_syntax(argv[1], "client"))
    kind = ALL
    if len(argv) == 4:
        mode = argv[3].lower()
        if mode == b"write":
            kind = WRITES
        elif mode != b"all":
            raise CommandError(errors.PAUSE_MODE)
    timeout = strict_int(argv[2])
    if timeout is None:
        raise CommandError(errors.TIMEOUT_NOT_INTEGER)
    if timeout < 0:
        raise CommandError(errors.TIMEOUT_NEGATIVE)
    end_ms = 0
    if timeout > 0:
        end_ms = timeout + client.ctx.keyspace.clock()
        if end_ms > LLONG_MAX:
            end_ms -= 2**64  # Redis's sum wraps around: a pause already over
    pause_of(client.ctx).pause(kind, end_ms)
    return OK


@subcommand(
    CLIENT,
    "unpause",
    arity=2,
    flags=("admin", "noscript", "loading", "stale"),
    summary="Resume processing of clients that were paused",
    since="6.2.0",
    complexity="O(N) Where N is the number of paused clients",
    acl_categories=("connection",),
)
def client_unpause(client: Client, argv: list[bytes]) -> Reply:
    """CLIENT UNPAUSE

    Ends the pause in force, if any: the held clients run their commands again, first held
    first."""
    pause_of(client.ctx).unpause()
    return OK
