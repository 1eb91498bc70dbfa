"""The command table: one declaration per command, and the dispatcher that reads it.

A command is declared once, next to its handler::

    @command("get", arity=2, flags=("readonly", "fast"), keys=(1, 1, 1), group="string",
             summary="Returns the string value of a key.", syntax="key")
    def get(client: Client, argv: list[bytes]) -> Reply:
        ...

That declaration drives dispatch (:func:`call`), the arity error, ``COMMAND INFO/DOCS/COUNT``
and AOF propagation (``write`` flag). Container commands (``CLIENT``, ``CONFIG``, ``COMMAND``)
declare each subcommand with :func:`subcommand`; the container itself is declared with
:func:`container`.

Arity follows Redis: a positive arity is the exact argument count including the command name,
a negative one is a minimum.

Handlers are synchronous and run to completion (that is what makes commands atomic). They raise
:class:`zyst.errors.CommandError` to reply with an error; a write handler adds to
``client.ctx.dirty`` for each change it makes, and only then is the command propagated.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from zyst import errors
from zyst.errors import CommandError
from zyst.protocol.resp import NO_REPLY, ErrorReply

if TYPE_CHECKING:
    from zyst.client import Client
    from zyst.context import ServerContext

log = logging.getLogger("zyst")

Reply = Any
Handler = Callable[["Client", list[bytes]], Reply]
# A command's own way of finding its keys in a full command line (Redis's ``getkeys_proc``), for
# keys its key specs cannot locate: the keys, in order.
GetKeys = Callable[[list[bytes]], list[bytes]]


@dataclass(frozen=True, slots=True)
class KeySpec:
    """One Redis 7 key spec, as ``COMMAND INFO`` shows it: how to find some keys and what the
    command does to them.

    ``flags`` are Redis's key-spec flags (``RO``/``RW``/``OW``/``RM``, ``access``/``update``/
    ``insert``/``delete``, ``variable_flags`` …). The search is Redis's ``index`` + ``range``
    pair: the keys start at argument ``index`` and run to ``lastkey`` (relative to ``index``;
    negative counts from the end) every ``step`` arguments. ``None`` takes the value from the
    command's (first, last, step) key positions, which is right for a command with one spec.

    A command whose keys are counted by an argument (``LMPOP numkeys key [key ...]``) uses
    Redis's ``keynum`` search instead: ``keynumidx`` (not ``None``) says where the count is and
    ``firstkey`` where the keys start, both relative to ``index``; ``step`` is the key step.

    ``unknown`` is Redis's ``unknown`` begin_search and find_keys: keys no spec can locate
    (SORT's ``STORE destination``, which may be anywhere); the command's ``getkeys`` procedure
    finds them for ``COMMAND GETKEYS``.

    ``keyword`` (not empty) is Redis's ``keyword`` begin_search: the keys start after that
    word, searched from argument ``startfrom`` (negative: from the end, backwards), and run to
    ``lastkey`` (MIGRATE's ``KEYS key ...``). Such a spec is shown as it is; the command's
    ``getkeys`` procedure finds its keys.
    """

    flags: tuple[str, ...]
    notes: str = ""
    index: int | None = None
    lastkey: int | None = None
    step: int | None = None
    limit: int = 0
    keynumidx: int | None = None
    firstkey: int = 1
    unknown: bool = False
    keyword: str = ""
    startfrom: int = 0


@dataclass(eq=False, slots=True)
class Command:
    """The declaration of one command (or one subcommand, whose ``name`` is ``parent|sub``)."""

    name: str
    handler: Handler | None
    arity: int
    flags: tuple[str, ...] = ()
    first_key: int = 0
    last_key: int = 0
    key_step: int = 0
    group: str = "generic"
    summary: str = ""
    since: str = "1.0.0"
    syntax: str = ""
    complexity: str = ""
    acl_categories: tuple[str, ...] = ()
    tips: tuple[str, ...] = ()
    key_specs: tuple[KeySpec, ...] = ()
    getkeys: GetKeys | None = None
    subcommands: dict[bytes, Command] = field(default_factory=dict)
    write: bool = False
    wire_name: bytes = b""
    # Statistics (INFO commandstats, latencystats), kept on the declaration itself so that the
    # dispatcher and zyst.timing reach them as native fields. A process serves one server, so
    # these are that server's. ``calls`` and ``duration`` are filled in by zyst.timing once per
    # batch of commands; ``histogram`` is created by the first sample while latency-tracking
    # is on (buckets: zyst.timing.bucket). ``duration`` is in nanoseconds.
    calls: int = 0
    duration: int = 0
    rejected_calls: int = 0
    failed_calls: int = 0
    histogram: list[int] | None = None
    fast: bool = False
    skip_slowlog: bool = False
    # Timed one by one (zyst.timing): a command that can be slow, neither ``fast`` nor O(1)
    # (``can_be_slow``), or any command while SLOWLOG's threshold is below a millisecond.
    timed: bool = False
    can_be_slow: bool = False
    # Calls in the batch of commands being run (zyst.timing counts them at its end).
    batch_calls: int = 0
    # The module that declared it (zyst.modules), "" for a built-in command.
    module: str = ""

    def __post_init__(self) -> None:
        self.write = "write" in self.flags
        self.wire_name = self.name.encode()
        self.fast = "fast" in self.flags
        self.skip_slowlog = "skip_slowlog" in self.flags
        self.can_be_slow = not self.fast and not self.complexity.startswith("O(1)")
        self.timed = self.can_be_slow

    def accepts(self, argc: int) -> bool:
        """Whether ``argc`` words (the name included) fit the arity: exactly ``arity`` when it
        is positive, at least ``-arity`` when it is negative."""
        arity = self.arity
        return argc == arity if arity > 0 else argc >= -arity


# Every command by lower-case name; ``_LOOKUP`` adds the upper-case spelling so the common case
# needs no ``lower()``.
COMMANDS: dict[bytes, Command] = {}

# Commands Redis 7.0 declares ``may_replicate`` (they may reach replicas without being writes:
# refused in read-only scripts, held by CLIENT PAUSE WRITE). Redis hides the flag from COMMAND
# INFO, so the declarations do not carry it.
MAY_REPLICATE: Final = frozenset(("eval", "evalsha", "fcall", "pfcount", "publish", "spublish"))
_LOOKUP: dict[bytes, Command] = {}
# The names clients call commands by, lower case: COMMANDS' own unless the config file's
# rename-command changed some (COMMANDS keeps the declarations under their own names, for ACL
# rules and the statistics, as Redis keeps its original table beside the renamed one).
NAMES: dict[bytes, Command] = {}
# id(declaration) → the name it is called by now (b"": disabled), for renamed commands only.
_RENAMED: dict[int, bytes] = {}
# The dispatcher's shortcut for commands without subcommands, under both spellings:
# (handler, arity, write, declaration).
_FAST: dict[bytes, tuple[Handler, int, bool, Command]] = {}


class RunLog:
    """What ran since zyst.timing last accounted for it: the dispatcher's only bookkeeping
    for the statistics.

    A command that cannot be slow (``fast`` or O(1): ``Command.timed`` false) is only counted,
    in its own ``batch_calls``, and listed in ``touched`` on its first call of the batch: a
    pipeline of GETs costs one counter increment per command. A command that can be slow is
    timed one by one: ``timed`` holds (declaration, seconds, how many timed commands were
    running around it: 0 for one the client sent, its arguments). zyst.timing empties both once
    per batch of commands, and times the batch as a whole."""

    def __init__(self) -> None:
        self.touched: list[Command] = []
        self.timed: list[tuple[Command, float, int, list[bytes]]] = []
        self.nesting = 0


LOG: Final = RunLog()


def _register(cmd: Command) -> None:
    key = cmd.name.encode()
    if key in COMMANDS:
        raise ValueError(f"command {cmd.name!r} declared twice")
    COMMANDS[key] = cmd
    NAMES[key] = cmd
    _LOOKUP[key] = cmd
    _LOOKUP[key.upper()] = cmd
    if cmd.handler is not None:
        _FAST[key] = _FAST[key.upper()] = (cmd.handler, cmd.arity, cmd.write, cmd)


def register(cmd: Command) -> None:
    """Add ``cmd`` (a command without subcommands) to the table while the server runs: what a
    module loading does. ValueError if the name is taken."""
    _register(cmd)


def unregister(cmd: Command) -> None:
    """Remove ``cmd``, added by :func:`register`, from the table (a module unloading)."""
    key = cmd.wire_name
    if COMMANDS.get(key) is not cmd:
        raise ValueError(f"command {cmd.name!r} is not in the table")
    del COMMANDS[key]
    NAMES.pop(key, None)
    for spelling in (key, key.upper()):
        _LOOKUP.pop(spelling, None)
        _FAST.pop(spelling, None)


def _declaration(
    name: str,
    handler: Handler,
    arity: int,
    flags: tuple[str, ...],
    keys: tuple[int, int, int],
    group: str,
    summary: str,
    since: str,
    syntax: str,
    complexity: str,
    acl_categories: tuple[str, ...],
    tips: tuple[str, ...],
    key_specs: tuple[KeySpec, ...],
    getkeys: GetKeys | None = None,
) -> Command:
    """The one place a :class:`Command` is built from the decorators' arguments."""
    return Command(
        name=name,
        handler=handler,
        arity=arity,
        flags=flags,
        first_key=keys[0],
        last_key=keys[1],
        key_step=keys[2],
        group=group,
        summary=summary,
        since=since,
        syntax=syntax,
        complexity=complexity,
        acl_categories=acl_categories,
        tips=tips,
        key_specs=key_specs,
        getkeys=getkeys,
    )


def command(
    name: str,
    arity: int,
    flags: tuple[str, ...] = (),
    keys: tuple[int, int, int] = (0, 0, 0),
    group: str = "generic",
    summary: str = "",
    since: str = "1.0.0",
    syntax: str = "",
    complexity: str = "",
    acl_categories: tuple[str, ...] = (),
    tips: tuple[str, ...] = (),
    key_specs: tuple[KeySpec, ...] = (),
    getkeys: GetKeys | None = None,
) -> Callable[[Handler], Handler]:
    """Declare the command ``name`` handled by the decorated function; ``getkeys`` finds the
    keys of a command whose key specs cannot (see :class:`KeySpec`'s ``unknown``)."""

    def register(handler: Handler) -> Handler:
        _register(
            _declaration(
                *(name, handler, arity, flags, keys, group, summary, since, syntax, complexity),
                *(acl_categories, tips, key_specs, getkeys),
            )
        )
        return handler

    return register


def container(name: str, group: str, summary: str, since: str = "1.0.0") -> Command:
    """Declare a command made of subcommands (``CLIENT``, ``CONFIG``); arity -2 as in Redis."""
    cmd = Command(name=name, handler=None, arity=-2, group=group, summary=summary, since=since)
    _register(cmd)
    return cmd


def subcommand(
    parent: Command,
    name: str,
    arity: int,
    flags: tuple[str, ...] = (),
    keys: tuple[int, int, int] = (0, 0, 0),
    summary: str = "",
    since: str = "1.0.0",
    syntax: str = "",
    complexity: str = "",
    acl_categories: tuple[str, ...] = (),
    tips: tuple[str, ...] = (),
    key_specs: tuple[KeySpec, ...] = (),
) -> Callable[[Handler], Handler]:
    """Declare ``PARENT NAME`` (arity counts the parent and the subcommand name)."""

    def register(handler: Handler) -> Handler:
        # A command with subcommands leaves the fast path: resolve() picks the subcommand.
        key = parent.name.encode()
        _FAST.pop(key, None)
        _FAST.pop(key.upper(), None)
        parent.subcommands[name.encode()] = _declaration(
            *(f"{parent.name}|{name}", handler, arity, flags, keys, parent.group, summary),
            *(since, syntax, complexity, acl_categories, tips, key_specs),
        )
        return handler

    return register


def set_handler(cmd: Command, handler: Handler) -> None:
    """Run ``handler`` for ``cmd`` from now on, through every path of :func:`call` (MONITOR
    puts a wrapper around the handlers while anyone monitors, and the declared ones back
    after)."""
    cmd.handler = handler
    key = _RENAMED.get(id(cmd), cmd.wire_name)
    entry = _FAST.get(key)
    if entry is not None and entry[3] is cmd:
        _FAST[key] = _FAST[key.upper()] = (handler, cmd.arity, cmd.write, cmd)


def lookup(name: bytes) -> Command | None:
    """The declaration for a command name in any case, or ``None``."""
    cmd = _LOOKUP.get(name)
    if cmd is None:
        cmd = NAMES.get(name.lower())
    return cmd


def rename_problem(names: set[bytes], old: bytes, new: bytes) -> str | None:
    """Why ``rename-command old new`` cannot apply to a table whose (lower-case) names are
    ``names`` (Redis's text), or ``None`` after doing it to ``names``. Lets a config file be
    checked line by line before anything changes the table itself."""
    old, new = old.lower(), new.lower()
    if old not in names:
        return errors.RENAME_NO_SUCH_COMMAND
    names.discard(old)
    if new:
        if new in names:
            return errors.RENAME_TARGET_EXISTS
        names.add(new)
    return None


def rename(old: bytes, new: bytes) -> None:
    """``rename-command old new`` (any case): the command is called ``new`` from now on, or by
    no name when ``new`` is empty. Its declaration keeps its own name (COMMAND INFO, errors,
    ACL rules show it). Checked beforehand with :func:`rename_problem`."""
    old, new = old.lower(), new.lower()
    cmd = NAMES.pop(old)
    for spelling in (old, old.upper()):
        _LOOKUP.pop(spelling, None)
        _FAST.pop(spelling, None)
    _RENAMED[id(cmd)] = new
    if not new:
        return
    NAMES[new] = cmd
    _LOOKUP[new] = _LOOKUP[new.upper()] = cmd
    if cmd.handler is not None and not cmd.subcommands:
        _FAST[new] = _FAST[new.upper()] = (cmd.handler, cmd.arity, cmd.write, cmd)


def resolve(argv: list[bytes]) -> Command | str | None:
    """The (sub)command ``argv`` names, or the error message that answers it, or ``None`` for
    a line of an HTTP request (:func:`is_http_line`), which must get no answer at all."""
    cmd = _LOOKUP.get(argv[0]) or NAMES.get(argv[0].lower())
    if cmd is None:
        if is_http_line(argv[0]):
            return None
        return errors.unknown_command(argv[0], argv[1:])
    if not cmd.accepts(len(argv)):
        return errors.wrong_arity(cmd.name)
    if cmd.subcommands and (len(argv) > 1 or cmd.handler is None):
        # (COMMAND runs alone too: then its own handler answers.)
        sub = cmd.subcommands.get(argv[1].lower())
        if sub is None:
            # (Named as the client called it, as Redis does: a renamed command by its new name.)
            return errors.unknown_subcommand(argv[1], argv[0].decode("latin-1"))
        if not sub.accepts(len(argv)):
            return errors.wrong_arity(sub.name)
        return sub
    return cmd


def call(client: Client, argv: list[bytes]) -> Reply:
    """Run one command for ``client`` and return its reply value.

    This is the only way commands run: it checks the name and arity, runs the handler and
    propagates the command (or what the handler asked to propagate instead) when it was a write
    that changed something. The plain case (a command without subcommands, spelled in lower or
    upper case) is one dict lookup in ``_FAST``; everything else goes through :func:`resolve`.
    """
    entry = _FAST.get(argv[0])
    if entry is None:
        found = resolve(argv)
        if found is None:
            return _drop_http_client(client)
        if type(found) is str:
            client.ctx.stats.rejected_calls += 1
            return rejected(client, argv, found)
        assert isinstance(found, Command)
        return _run(client, found, argv)
    handler, arity, write, cmd = entry
    size = len(argv)
    if size != arity and (arity > 0 or size < -arity):
        client.ctx.stats.rejected_calls += 1
        cmd.rejected_calls += 1
        return rejected(client, argv, errors.wrong_arity(cmd.name))
    client.last_command = cmd.wire_name
    if cmd.timed:
        return _timed(client, cmd, argv)
    cmd.batch_calls += 1
    if cmd.batch_calls == 1:
        LOG.touched.append(cmd)
    if not write:
        try:
            return handler(client, argv)
        except CommandError as exc:
            cmd.failed_calls += 1
            return ErrorReply(exc.message)
        except Exception as exc:  # a handler bug must not take the connection or server down
            return _internal_error(cmd, exc)
    # A write: _run() inlined, this being the hot path of every write benchmark.
    ctx = client.ctx
    if ctx.write_refusal is not None:
        # Refused before it ran: not a call (Redis counts it as rejected only).
        cmd.batch_calls -= 1
        cmd.rejected_calls += 1
        return _refuse_write(ctx)
    dirty = ctx.dirty
    try:
        reply = handler(client, argv)
    except CommandError as exc:
        cmd.failed_calls += 1
        reply = ErrorReply(exc.message)
    except Exception as exc:
        reply = _internal_error(cmd, exc)
    if ctx.dirty != dirty:
        if ctx.signal.listening or client.touched is not None:
            _signal_written(client, cmd, argv)
        _propagate(client, argv)
        if ctx.ready_keys:
            ctx.blocking.serve(call)
    return reply


def _run(client: Client, cmd: Command, argv: list[bytes]) -> Reply:
    client.last_command = cmd.wire_name
    if cmd.timed:
        return _timed(client, cmd, argv)
    cmd.batch_calls += 1
    if cmd.batch_calls == 1:
        LOG.touched.append(cmd)
    return _execute(client, cmd, argv)


def _timed(client: Client, cmd: Command, argv: list[bytes]) -> Reply:
    """Run a command that can be slow between two clock reads (see :class:`RunLog`)."""
    log = LOG
    rejected = cmd.rejected_calls
    began = time.monotonic()
    log.nesting += 1
    try:
        reply = _execute(client, cmd, argv)
    finally:
        log.nesting -= 1
    if cmd.rejected_calls == rejected:  # (a refused command is no call)
        log.timed.append((cmd, time.monotonic() - began, log.nesting, argv))
    return reply


def _execute(client: Client, cmd: Command, argv: list[bytes]) -> Reply:
    """Run ``cmd``'s handler, then propagate and signal what it wrote."""
    ctx = client.ctx
    if cmd.write and ctx.write_refusal is not None:
        if not cmd.timed:
            cmd.batch_calls -= 1
        cmd.rejected_calls += 1
        return _refuse_write(ctx)
    dirty = ctx.dirty
    try:
        reply = cmd.handler(client, argv)  # type: ignore[misc]
    except CommandError as exc:
        cmd.failed_calls += 1
        reply = ErrorReply(exc.message)
    except Exception as exc:  # a handler bug must not take the connection or server down
        reply = _internal_error(cmd, exc)
    if cmd.write and ctx.dirty != dirty:
        if ctx.signal.listening or client.touched is not None:
            _signal_written(client, cmd, argv)
        _propagate(client, argv)
        if ctx.ready_keys:
            ctx.blocking.serve(call)
    return reply


def _signal_written(client: Client, cmd: Command, argv: list[bytes]) -> None:
    """Raise the key-modified signal (zyst.notify) for what a write command that changed
    something wrote (before it is propagated): the keys its handler named in
    ``client.touched``; else, when the handler rewrote the command for propagation
    (LMPOP as LPOP of the key it popped, SORT ... STORE as DEL and RPUSH of the destination),
    the keys the rewritten commands write; else the keys its own declaration says it writes."""
    signal = client.ctx.signal
    touched = client.touched
    rewritten = client.propagate_as
    if touched is not None:
        client.touched = None
        if not signal.listening:
            return
        pairs = touched
    else:
        index = client.db.index
        if rewritten is None:
            keys = written_keys(cmd, argv)
        else:
            keys = []
            for replacement in rewritten:
                found = lookup(replacement[0])
                if found is not None:
                    keys += written_keys(found, replacement)
        pairs = [(index, key) for key in keys]
    signal.written(cmd.name.encode(), argv, pairs, rewritten)


def written_keys(cmd: Command, argv: list[bytes]) -> list[bytes]:
    """The keys of ``argv`` that ``cmd``'s key specs mark as written (every spec but the
    ``RO`` ones). Specs whose keys only the command can find (SORT's STORE) give none: such a
    handler names what it wrote in ``client.touched``. A count that is not a valid one gives
    no keys (the command has failed then)."""
    keys: list[bytes] = []
    size = len(argv)
    for spec in cmd.key_specs:
        if "RO" in spec.flags or spec.unknown or spec.keyword:
            continue
        index = cmd.first_key if spec.index is None else spec.index
        if spec.keynumidx is not None:
            count_at = index + spec.keynumidx
            try:
                count = int(argv[count_at])
            except (IndexError, ValueError):
                continue
            first = index + spec.firstkey
            step = spec.step or 1
            keys.extend(argv[first : min(first + count * step, size) : step])
            continue
        if spec.lastkey is None:
            last = cmd.last_key if cmd.last_key >= 0 else size + cmd.last_key
        else:
            last = index + spec.lastkey if spec.lastkey >= 0 else size + spec.lastkey
        step = spec.step or cmd.key_step or 1
        keys.extend(argv[index : min(last, size - 1) + 1 : step])
    if not cmd.key_specs and cmd.first_key > 0:
        last = cmd.last_key if cmd.last_key >= 0 else size + cmd.last_key
        keys.extend(argv[cmd.first_key : min(last, size - 1) + 1 : cmd.key_step or 1])
    return keys


def _refuse_write(ctx: ServerContext) -> ErrorReply:
    """A write refused before it runs (``MISCONF``: the AOF cannot be written)."""
    ctx.stats.rejected_calls += 1
    assert ctx.write_refusal is not None
    return ErrorReply(ctx.write_refusal)


def _propagate(client: Client, argv: list[bytes]) -> None:
    """Send a write that changed something on to the propagation point, rewritten if the
    handler asked for it (``client.propagate_as``)."""
    ctx = client.ctx
    rewritten = client.propagate_as
    if not ctx.propagating:
        client.propagate_as = None
        return
    if rewritten is None:
        ctx.propagate(client.db.index, argv)
    else:
        client.propagate_as = None
        for replacement in rewritten:
            ctx.propagate(client.db.index, replacement)


def _internal_error(cmd: Command, exc: Exception) -> ErrorReply:
    cmd.failed_calls += 1
    log.exception("command %r failed", cmd.name, exc_info=exc)
    return ErrorReply(f"ERR internal error in '{cmd.name}': {type(exc).__name__}")


# Redis's warning, word for word (networking.c, securityWarningCommand).
CROSS_PROTOCOL_WARNING = (
    "Possible SECURITY ATTACK detected. It looks like somebody is sending POST or Host: "
    "commands to Redis. This is likely due to an attacker attempting to use Cross Protocol "
    "Scripting to compromise your Redis instance. Connection aborted."
)
# When the warning was last logged (time.monotonic()); it is logged at most once a minute, so
# that a flood of such requests cannot flood the log.
_cross_protocol_logged: float | None = None


def is_http_line(name: bytes) -> bool:
    """Whether a command named ``name`` is the start of an HTTP request line or header:
    ``POST`` or ``Host:`` in any case, compared as C strings (up to a NUL byte), as Redis does.

    A web page can make a browser POST to a Redis port; the request's body then arrives as
    inline commands after lines the server does not know (cross-protocol scripting). No
    command has these names, so only the unknown-command path asks."""
    head = name[:6]
    nul = head.find(b"\0")
    if nul >= 0:
        head = head[:nul]
    return head.lower() in (b"post", b"host:")


# Commands that answer otherwise when refused before they run, by name: EXEC discards the
# transaction and answers EXECABORT (Redis's execCommandAbort). Filled by their modules.
ON_REJECT: dict[bytes, Callable[[Client, str], Reply]] = {}


def note_refused(client: Client, argv: list[bytes]) -> None:
    """Remember as the client's last command (CLIENT LIST's ``cmd=``) the (sub)command that
    ``argv``, refused before it ran, names: ``NULL`` for an unknown command or subcommand, as
    Redis's lookup leaves it."""
    cmd = lookup(argv[0])
    if cmd is not None and cmd.subcommands and len(argv) > 1:
        cmd = cmd.subcommands.get(argv[1].lower())
    client.last_command = cmd.wire_name if cmd is not None else b"NULL"


def rejected(client: Client, argv: list[bytes], message: str) -> Reply:
    """The reply to ``argv`` refused with ``message`` before it ran (unknown subcommand,
    wrong arity)."""
    note_refused(client, argv)
    if ON_REJECT:
        answer = ON_REJECT.get(argv[0].lower())
        if answer is not None:
            return answer(client, message)
    return ErrorReply(message)


def _drop_http_client(client: Client) -> Reply:
    """Close the connection of a client that sent an HTTP request, without a reply: as Redis
    does, nothing after that line runs and nothing answered in the same read is sent."""
    global _cross_protocol_logged
    now = time.monotonic()
    if _cross_protocol_logged is None or now - _cross_protocol_logged > 60:
        log.warning(CROSS_PROTOCOL_WARNING)
        _cross_protocol_logged = now
    client.close_asap = True
    client.close_after_reply = True
    return NO_REPLY
