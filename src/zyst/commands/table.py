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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from zyst import errors
from zyst.errors import CommandError
from zyst.protocol.resp import ErrorReply

if TYPE_CHECKING:
    from zyst.client import Client

log = logging.getLogger("zyst")

Reply = Any
Handler = Callable[["Client", list[bytes]], Reply]


@dataclass(eq=False)
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
    subcommands: dict[bytes, Command] = field(default_factory=dict)
    write: bool = False

    def __post_init__(self) -> None:
        self.write = "write" in self.flags


# Every command by lower-case name; ``_LOOKUP`` adds the upper-case spelling so the common case
# needs no ``lower()``.
COMMANDS: dict[bytes, Command] = {}
_LOOKUP: dict[bytes, Command] = {}


def _register(cmd: Command) -> None:
    key = cmd.name.encode()
    if key in COMMANDS:
        raise ValueError(f"command {cmd.name!r} declared twice")
    COMMANDS[key] = cmd
    _LOOKUP[key] = cmd
    _LOOKUP[key.upper()] = cmd


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
) -> Callable[[Handler], Handler]:
    """Declare the command ``name`` handled by the decorated function."""

    def register(handler: Handler) -> Handler:
        _register(
            Command(
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
) -> Callable[[Handler], Handler]:
    """Declare ``PARENT NAME`` (arity counts the parent and the subcommand name)."""

    def register(handler: Handler) -> Handler:
        parent.subcommands[name.encode()] = Command(
            name=f"{parent.name}|{name}",
            handler=handler,
            arity=arity,
            flags=flags,
            first_key=keys[0],
            last_key=keys[1],
            key_step=keys[2],
            group=parent.group,
            summary=summary,
            since=since,
            syntax=syntax,
            complexity=complexity,
            acl_categories=acl_categories,
        )
        return handler

    return register


def lookup(name: bytes) -> Command | None:
    """The declaration for a command name in any case, or ``None``."""
    cmd = _LOOKUP.get(name)
    if cmd is None:
        cmd = COMMANDS.get(name.lower())
    return cmd


def resolve(argv: list[bytes]) -> Command | str:
    """The (sub)command ``argv`` names, or the error message that answers it."""
    cmd = _LOOKUP.get(argv[0]) or COMMANDS.get(argv[0].lower())
    if cmd is None:
        return errors.unknown_command(argv[0].decode("utf-8", "replace"), argv[1:])
    arity = cmd.arity
    if (arity > 0 and len(argv) != arity) or len(argv) < -arity:
        return errors.wrong_arity(cmd.name)
    if cmd.subcommands:
        sub = cmd.subcommands.get(argv[1].lower())
        if sub is None:
            return errors.unknown_subcommand(argv[1], cmd.name)
        arity = sub.arity
        if (arity > 0 and len(argv) != arity) or len(argv) < -arity:
            return errors.wrong_arity(sub.name)
        return sub
    return cmd


def call(client: Client, argv: list[bytes]) -> Reply:
    """Run one command for ``client`` and return its reply value.

    This is the only way commands run: it checks the name and arity, runs the handler and
    propagates it (or what the handler asked to propagate instead) when it was a
    write that changed something.
    """
    cmd = _LOOKUP.get(argv[0])
    if cmd is None or cmd.subcommands or (cmd.arity > 0 and len(argv) != cmd.arity):
        found = resolve(argv)
        if type(found) is str:
            return ErrorReply(found)
        assert isinstance(found, Command)
        cmd = found
    elif len(argv) < -cmd.arity:
        return ErrorReply(errors.wrong_arity(cmd.name))
    ctx = client.ctx
    dirty = ctx.dirty
    try:
        reply = cmd.handler(client, argv)  # type: ignore[misc]
    except CommandError as exc:
        reply = ErrorReply(exc.message)
    except Exception as exc:  # a handler bug must not take the connection or server down
        log.exception("command %r failed", cmd.name)
        reply = ErrorReply(f"ERR internal error in '{cmd.name}': {type(exc).__name__}")
    if cmd.write and ctx.dirty != dirty:
        rewritten = client.propagate_as
        if rewritten is None:
            ctx.propagate(client.db.index, argv)
        else:
            client.propagate_as = None
            for entry in rewritten:
                ctx.propagate(client.db.index, entry)
    return reply
