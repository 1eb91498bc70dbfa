"""MONITOR: the commands the server runs, shown to the clients that asked, as Redis 7.0 shows them.

Each command is one status line to every monitoring client::

    +1339518083.107412 [0 127.0.0.1:60866] "set" "foo" "bar"

the time it was shown (seconds and microseconds), the database the client was in then, who ran
it (``lua`` for a script's commands, ``unix:<socket path>`` for a unix-socket client, else the
client's address) and its arguments as sent, quoted and escaped as Redis's ``sdscatrepr``. The
passwords of AUTH and HELLO ... AUTH read ``"(redacted)"``, as far as Redis 7.0 redacts them.

What is shown, and when (Redis's ``call``):

- a command is shown after it ran, whatever its reply (errors included), in the database it
  left the client in; EVAL, EVALSHA, FCALL and their _RO forms (flagged ``skip_monitor``) are
  shown before they run, so the commands of a script follow their script's line;
- commands flagged ``admin`` (CONFIG, DEBUG, CLIENT LIST, MONITOR ...) are never shown;
- a command refused before running (unknown, wrong arity, refused inside MULTI, a write while
  the AOF fails) is not shown, nor is a command while it is queued by MULTI: EXEC's commands
  are shown as EXEC runs them, then EXEC itself;
- a blocking command is shown once, when it is sent (not again when it is served), and a
  command held by CLIENT PAUSE when it finally runs; nothing is shown while the AOF loads.

Cost: none while nobody monitors. While some server of the process has a monitoring client,
every declared handler but the admin ones runs inside a wrapper that shows its command
(:func:`zyst.commands.table.set_handler`); the declared handlers are put back when the last
monitor leaves. The lines go out through :attr:`zyst.client.Client.push`, so they count against
the monitoring client's output buffer limit (the ``normal`` class). A monitoring client that
runs a command gets that command's line after its reply, as from Redis.

The monitoring client itself is a replica to Redis: it may not run a command that reads, writes
or may replicate (``Replica can't interact with the keyspace``, checked with the flags the
command runs with: :mod:`zyst.commands.runflags`), it is never paused by CLIENT PAUSE, and a
second MONITOR gets no reply at all. RESET (or closing) ends monitoring; MONITOR inside
MULTI ... EXEC is refused when EXEC runs it.
"""

from __future__ import annotations

import re
import socket
import time
from typing import TYPE_CHECKING, Final

from zyst import errors
from zyst.blocking import Blocked
from zyst.client import protocol_of
from zyst.commands import modes
from zyst.commands.connection import RESET_HOOKS, valid_client_attr
from zyst.commands.introspection import NO_COMPLEXITY
from zyst.commands.modes import MONITORING
from zyst.commands.runflags import MAY_REPLICATE, READONLY, WRITE, effective
from zyst.commands.slowlog import migrate_redacted
from zyst.commands.table import (
    COMMANDS,
    Command,
    Handler,
    Reply,
    command,
    resolve,
    set_handler,
)
from zyst.errors import CommandError
from zyst.numbers import strict_int
from zyst.protocol.resp import NO_REPLY, OK, ErrorReply, Raw, encode_reply
from zyst.replication.replica import is_master_client

if TYPE_CHECKING:
    from zyst.client import Client
    from zyst.context import ServerContext

# How sdscatrepr writes each byte inside the quotes: printable ASCII as it is, except the
# backslash and the double quote; \n \r \t \a \b as such; anything else as \xHH.
_ESCAPES: Final = {
    **{byte: bytes((byte,)) for byte in range(0x20, 0x7F)},
    0x5C: b"\\\\",
    0x22: b'\\"',
    0x0A: b"\\n",
    0x0D: b"\\r",
    0x09: b"\\t",
    0x07: b"\\a",
    0x08: b"\\b",
}
_TO_ESCAPE: Final = re.compile(rb"[^\x20\x21\x23-\x5b\x5d-\x7e]")
_REDACTED: Final = b"(redacted)"

# The servers of this process that have monitoring clients: while there is one, the handlers
# are wrapped.
_WATCHED: set[int] = set()


def quote(arg: bytes) -> bytes:
    """``arg`` quoted and escaped as Redis's ``sdscatrepr``."""
    if _TO_ESCAPE.search(arg) is None:
        return b'"' + arg + b'"'
    return b'"' + _TO_ESCAPE.sub(_escape, arg) + b'"'


def _escape(found: re.Match[bytes]) -> bytes:
    byte = found.group()[0]
    escaped = _ESCAPES.get(byte)
    return escaped if escaped is not None else b"\\x%02x" % byte


def _who(client: Client) -> bytes:
    """Who ran a command, as the line names it (Redis's client flags: script, unix socket)."""
    if client.mode & modes.SCRIPT:
        return b"lua"
    transport = client.transport_info
    if transport is not None:
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family == socket.AF_UNIX:
            return b"unix:" + str(transport.get_extra_info("sockname") or "").encode()
    return client.addr.encode()


def line(client: Client, argv: list[bytes]) -> bytes:
    """The line showing ``argv``, run by ``client`` now."""
    micros = time.time_ns() // 1000
    seconds, micros = divmod(micros, 1_000_000)
    head = b"+%d.%06d [%d %s]" % (seconds, micros, client.db.index, _who(client))
    shown = _redacted(argv)
    return head + b" " + b" ".join([quote(arg) for arg in shown]) + b"\r\n"


def _redacted(argv: list[bytes]) -> list[bytes]:
    """``argv`` with the passwords AUTH and HELLO are given replaced as Redis 7.0 replaces them:
    those its AUTH or HELLO reached before it stopped on an error."""
    name = argv[0].lower()
    if name == b"migrate":
        return migrate_redacted(argv)
    if name == b"auth" and len(argv) <= 3:
        return [argv[0], *([_REDACTED] * (len(argv) - 1))]
    if name != b"hello" or len(argv) < 3:
        return argv
    if strict_int(argv[1]) not in (2, 3):
        return argv
    shown = list(argv)
    i = 2
    while i < len(argv):
        option = argv[i].lower()
        remaining = len(argv) - 1 - i
        if option == b"auth" and remaining >= 2:
            shown[i + 1] = shown[i + 2] = _REDACTED
            if argv[i + 1] != b"default":
                break  # the authentication fails: HELLO stops here
            i += 3
        elif option == b"setname" and remaining >= 1 and valid_client_attr(argv[i + 1]):
            i += 2
        else:
            break
    return shown


def _parked(client: Client) -> bool:
    """Whether ``client`` waits in a blocking command: a command it runs now is that command
    being served, which was shown when it was sent."""
    return bool(getattr(protocol_of(client), "blocked", False))


def _show(client: Client, argv: list[bytes], reply: Reply, before: bool) -> Reply:
    """Send the line of ``argv`` to every monitoring client of ``client``'s server; the line
    of a monitoring client's own command follows that command's reply (returned with it)."""
    ctx = client.ctx
    # (Nothing while the AOF loads; the commands of our primary's stream, which apply as
    # loading does, are shown as Redis shows them.)
    if (ctx.loading and not is_master_client(client)) or _parked(client):
        return reply
    text = line(client, argv)
    own = False
    for monitor in ctx.monitors:
        if monitor is client and not before:
            own = True
        else:
            monitor.push(text)
    if not own:
        return reply
    if type(reply) is Blocked:
        client.push(text)
        return reply
    if type(reply) is ErrorReply:
        # Sent as raw bytes from here on, so it is counted here as the error reply it is.
        ctx.stats.count_error(reply.message)
    out: list[bytes] = []
    encode_reply(reply, client.resp3, out)
    out.append(text)
    return Raw(b"".join(out))


def _wrap(cmd: Command, handler: Handler) -> Handler:
    """``handler`` showing its command to the monitoring clients."""
    before = "skip_monitor" in cmd.flags

    def shown(client: Client, argv: list[bytes]) -> Reply:
        if not client.ctx.monitors:
            return handler(client, argv)
        if before:
            _show(client, argv, None, True)
            return handler(client, argv)
        try:
            reply = handler(client, argv)
        except CommandError as exc:
            # The dispatcher's own accounting of a failed command, done here so the line can
            # follow it.
            cmd.failed_calls += 1
            reply = ErrorReply(exc.message)
        except Exception:
            _show(client, argv, None, True)
            raise
        return _show(client, argv, reply, False)

    return shown


# The declared handler of each wrapped command, to put back.
_DECLARED: dict[int, tuple[Command, Handler]] = {}


def _every_command() -> list[Command]:
    found: list[Command] = []
    for cmd in COMMANDS.values():
        found.append(cmd)
        found.extend(cmd.subcommands.values())
    return found


def _wrap_all() -> None:
    for cmd in _every_command():
        handler = cmd.handler
        if handler is None or "admin" in cmd.flags or id(cmd) in _DECLARED:
            continue
        _DECLARED[id(cmd)] = (cmd, handler)
        set_handler(cmd, _wrap(cmd, handler))


def wrap_new_commands() -> None:
    """Wrap the commands declared since monitoring began (a module loaded), if anyone
    monitors."""
    if _DECLARED:
        _wrap_all()


def _unwrap_all() -> None:
    for cmd, handler in _DECLARED.values():
        set_handler(cmd, handler)
    _DECLARED.clear()


# -- the monitoring clients ----------------------------------------------------------------------
def start(client: Client) -> None:
    """Make ``client`` a monitoring client."""
    ctx = client.ctx
    ctx.monitors.append(client)
    client.mode |= MONITORING
    if not _WATCHED:
        _wrap_all()
    _WATCHED.add(id(ctx))


def stop(client: Client) -> None:
    """``client`` monitors no more (RESET, or its connection closed)."""
    ctx = client.ctx
    client.mode &= ~MONITORING
    if client not in ctx.monitors:
        return
    ctx.monitors.remove(client)
    if not ctx.monitors:
        _forget_server(ctx)


def _forget_server(ctx: ServerContext) -> None:
    _WATCHED.discard(id(ctx))
    if not _WATCHED:
        _unwrap_all()


def is_monitoring(client: Client) -> bool:
    """Whether ``client`` is a monitoring client (also while its own command runs, when its
    mode bit is off)."""
    monitors = client.ctx.monitors
    return bool(monitors) and client in monitors


RESET_HOOKS.append(stop)


def _call_monitoring(client: Client, argv: list[bytes]) -> Reply:
    """A command of a monitoring client: refused when it reads, writes or may replicate."""
    found = resolve(argv)
    ctx = client.ctx
    if (
        isinstance(found, Command)
        and effective(client, found, argv) & (READONLY | WRITE | MAY_REPLICATE)
        # (Redis refuses a write for a failing AOF, MISCONF, before it looks at the replica.)
        and not (found.write and ctx.write_refusal is not None)
    ):
        ctx.stats.rejected_calls += 1
        found.rejected_calls += 1
        client.last_command = found.wire_name
        if client.mode & modes.MULTI:
            client.multi_error = True  # EXEC will abort, as for any command refused in MULTI
        return ErrorReply(errors.REPLICA_KEYSPACE)
    client.mode &= ~MONITORING
    try:
        return modes.call_in_mode(client, argv)
    finally:
        if is_monitoring(client):
            client.mode |= MONITORING


modes.route(MONITORING, 5, _call_monitoring)


@command(
    "monitor",
    arity=1,
    flags=("admin", "noscript", "loading", "stale"),
    group="server",
    summary="Listen for all requests received by the server in real time",
    since="1.0.0",
    complexity=NO_COMPLEXITY,
)
def monitor(client: Client, argv: list[bytes]) -> Reply:
    """MONITOR

    From now on this client is sent a line for every command the server runs (see the module
    docstring). Refused inside EXEC (a client there expects one reply per command); a client
    already monitoring gets no reply."""
    if client.ctx.atomic_depth:
        raise CommandError(errors.MONITOR_DENY_BLOCKING)
    if is_monitoring(client):
        return NO_REPLY
    start(client)
    return OK
