"""SLOWLOG: the commands that took at least ``slowlog-log-slower-than`` microseconds, newest
first, at most ``slowlog-max-len`` of them.

Durations come from :mod:`zyst.timing` (exact for a command that was alone in its read,
estimated within a pipelined batch). An entry keeps the arguments as Redis trims them: at most
32 (the last one then says how many more there were), each at most 128 bytes (then followed by
``... (N more bytes)``), with secrets replaced by ``(redacted)``.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Final

from zyst import errors
from zyst.client import Client
from zyst.commands.introspection import help_reply
from zyst.commands.table import Command, Reply, container, subcommand
from zyst.errors import CommandError
from zyst.numbers import strict_int
from zyst.protocol.resp import OK
from zyst.timing import TIMING

MAX_ARGC: Final = 32
MAX_STRING: Final = 128
REDACTED: Final = b"(redacted)"


def trimmed(argv: list[bytes]) -> list[bytes]:
    """The arguments as a slow log entry keeps them (see the module's docstring)."""
    kept = argv[:MAX_ARGC]
    if len(argv) > MAX_ARGC:
        kept[-1] = b"... (%d more arguments)" % (len(argv) - MAX_ARGC + 1)
        last = MAX_ARGC - 1
    else:
        last = len(kept)
    for i in range(last):
        arg = kept[i]
        if len(arg) > MAX_STRING:
            kept[i] = arg[:MAX_STRING] + b"... (%d more bytes)" % (len(arg) - MAX_STRING)
    return kept


# CONFIG SET values that are secrets (Redis redacts these settings' values).
_SECRET_SETTINGS: Final = frozenset({b"masterauth", b"requirepass", b"masteruser"})


def redacted(cmd: Command, argv: list[bytes]) -> list[bytes]:
    """``argv`` with the passwords of AUTH, HELLO ... AUTH and CONFIG SET replaced, as Redis
    redacts them before any log sees them."""
    name = cmd.name
    if name == "auth":
        return argv[:1] + [REDACTED] * (len(argv) - 1)
    if name == "hello":
        out = list(argv)
        for i in range(2, len(out) - 2):
            if out[i].lower() == b"auth":
                out[i + 1] = out[i + 2] = REDACTED
        return out
    if name == "migrate":
        return migrate_redacted(argv)
    if name == "config|set":
        out = list(argv)
        for i in range(2, len(out) - 1, 2):
            if out[i].lower() in _SECRET_SETTINGS:
                out[i + 1] = REDACTED
        return out
    return argv


def migrate_redacted(argv: list[bytes]) -> list[bytes]:
    """MIGRATE's ``argv`` with the words after AUTH (one) and AUTH2 (two) replaced, as Redis
    redacts them while it parses the options: those it reached before a syntax error or KEYS."""
    out = list(argv)
    j = 6
    while j < len(argv):
        option = argv[j].split(b"\0", 1)[0].lower()
        more = len(argv) - 1 - j
        if option == b"auth" and more:
            out[j + 1] = REDACTED
            j += 1
        elif option == b"auth2" and more >= 2:
            out[j + 1] = out[j + 2] = REDACTED
            j += 2
        elif option not in (b"copy", b"replace"):
            break
        j += 1
    return out


class SlowLog:
    """The entries: (id, unix time, microseconds, arguments, client address, client name)."""

    def __init__(self) -> None:
        self.entries: deque[list[object]] = deque()
        self.next_id = 0

    def record(self, client: Client, cmd: Command, argv: list[bytes] | None, usec: int) -> None:
        threshold = TIMING.slower_than
        # (No arguments: a command that cannot be slow, not timed one by one while the
        # threshold is a millisecond or more; its share of its batch is an estimate.)
        if threshold < 0 or usec < threshold or cmd.skip_slowlog or argv is None:
            return
        entry: list[object] = [
            self.next_id,
            int(time.time()),
            usec,
            trimmed(redacted(cmd, argv)),
            client.addr.encode(),
            client.name,
        ]
        self.next_id += 1
        self.entries.appendleft(entry)
        while len(self.entries) > client.ctx.config.slowlog_max_len:
            self.entries.pop()


SLOWLOG: Final = SlowLog()
TIMING.log_slow.append(SLOWLOG.record)

SLOWLOG_CMD = container(
    "slowlog", group="server", summary="A container for slow log commands", since="2.2.12"
)
_FLAGS = ("admin", "loading", "stale")


@subcommand(
    SLOWLOG_CMD,
    "get",
    arity=-2,
    flags=_FLAGS,
    summary="Get the slow log's entries",
    since="2.2.12",
    syntax="[count]",
    complexity="O(N) where N is the number of entries returned",
    tips=("request_policy:all_nodes", "nondeterministic_output"),
)
def slowlog_get(client: Client, argv: list[bytes]) -> Reply:
    """SLOWLOG GET [count]  (10 by default; -1: all)"""
    if len(argv) > 3:
        raise CommandError(errors.subcommand_syntax(argv[1], "slowlog"))
    count = 10
    if len(argv) == 3:
        value = strict_int(argv[2])
        if value is None or value < -1:
            raise CommandError(errors.SLOWLOG_COUNT)
        count = len(SLOWLOG.entries) if value == -1 else value
    return [list(entry) for entry, _ in zip(SLOWLOG.entries, range(count), strict=False)]


@subcommand(
    SLOWLOG_CMD,
    "len",
    arity=2,
    flags=_FLAGS,
    summary="Get the slow log's length",
    since="2.2.12",
    complexity="O(1)",
    tips=("request_policy:all_nodes", "response_policy:agg_sum", "nondeterministic_output"),
)
def slowlog_len(client: Client, argv: list[bytes]) -> Reply:
    """SLOWLOG LEN"""
    return len(SLOWLOG.entries)


@subcommand(
    SLOWLOG_CMD,
    "reset",
    arity=2,
    flags=_FLAGS,
    summary="Clear all entries from the slow log",
    since="2.2.12",
    complexity="O(N) where N is the number of entries in the slowlog",
    tips=("request_policy:all_nodes", "response_policy:all_succeeded"),
)
def slowlog_reset(client: Client, argv: list[bytes]) -> Reply:
    """SLOWLOG RESET  (the ids go on counting, as in Redis)"""
    SLOWLOG.entries.clear()
    return OK


_HELP = [
    "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET [<count>]",
    "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
    "    Entries are made of:",
    "    id, timestamp, time in microseconds, arguments array, client IP and port,",
    "    client name",
    "LEN",
    "    Return the length of the slowlog.",
    "RESET",
    "    Reset the slowlog.",
    "HELP",
    "    Prints this help.",
]


@subcommand(
    SLOWLOG_CMD,
    "help",
    arity=2,
    flags=("loading", "stale"),
    summary="Show helpful text about the different subcommands",
    since="6.2.0",
    complexity="O(1)",
)
def slowlog_help(client: Client, argv: list[bytes]) -> Reply:
    """SLOWLOG HELP"""
    return help_reply(_HELP)
