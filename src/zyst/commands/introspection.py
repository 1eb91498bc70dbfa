"""COMMAND and its subcommands: the command table as clients see it.

Everything here is read from the declarations in :mod:`zyst.commands.table`; nothing about a
command is written down twice. What Redis keeps in its JSON files and Zyst does not declare is
derived the way Redis itself derives it:

- ACL categories (``COMMAND INFO``): the declared ones, the one the group implies (``string`` →
  ``@string``, ``generic`` → ``@keyspace`` …) unless data-type categories are declared (SORT),
  and the ones the flags imply (``write`` → ``@write``,
  ``readonly`` → ``@read``, ``admin`` → ``@admin @dangerous``, not ``fast`` → ``@slow`` …), as
  ``setImplicitACLCategories`` in Redis's ``server.c`` does; shown in Redis's category order.
- Key specs: the declared ones (``key_specs=``: flags, notes and where the keys are); a command
  declaring none gets one ``index``/``range`` spec built from the legacy (first, last, step)
  triple, ``RW update`` for a write and ``RO access`` otherwise. ``COMMAND GETKEYS`` asks the
  command's ``getkeys`` procedure first when it declares one (SORT's STORE key).
- Arguments (``COMMAND DOCS``): parsed from the declaration's ``syntax``, written the way the
  Redis docs write it (``key value [NX | XX] [EX seconds | PX milliseconds]``); see
  :func:`parse_syntax` for the grammar.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from zyst import errors
from zyst.client import Client
from zyst.commands.table import (
    NAMES,
    Command,
    KeySpec,
    Reply,
    command,
    lookup,
    subcommand,
)
from zyst.errors import CommandError
from zyst.glob import stringmatch
from zyst.protocol.resp import Map, SetReply, Status

# Redis's ACL category order (the ``ACLCommandCategories`` table): replies list them this way.
CATEGORY_ORDER = (
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
)

# (No "pubsub" group here: Redis takes @pubsub from the pubsub flag alone, so PUBSUB HELP, which
# lacks it, is only @slow.)
_GROUP_CATEGORY = {
    "generic": "keyspace",
    "string": "string",
    "list": "list",
    "set": "set",
    "sorted-set": "sortedset",
    "sorted_set": "sortedset",
    "hash": "hash",
    "bitmap": "bitmap",
    "hyperloglog": "hyperloglog",
    "geo": "geo",
    "stream": "stream",
    "transactions": "transaction",
    "scripting": "scripting",
    "connection": "connection",
}


_DATA_TYPE_CATEGORIES = frozenset(
    ("string", "list", "set", "sortedset", "hash", "bitmap", "hyperloglog", "geo", "stream")
)
_REPLACING_CATEGORIES = _DATA_TYPE_CATEGORIES | {"connection"}


def acl_categories(cmd: Command) -> list[str]:
    """The ACL categories of ``cmd`` (without the ``@``), in Redis's order."""
    cats = {c.lstrip("@").lower() for c in cmd.acl_categories}
    if cmd.module:
        # A module command has the categories it declares, none implied (Redis 7.0 gives a
        # module command none at all).
        return [c for c in CATEGORY_ORDER if c in cats]
    if cmd.handler is None:
        # A container has only what it declares, plus @slow (it does nothing by itself).
        cats.add("slow")
        return [c for c in CATEGORY_ORDER if c in cats]
    implied = _GROUP_CATEGORY.get(cmd.group)
    if implied is not None and not cats & _REPLACING_CATEGORIES:
        # (Declared data types replace the group's: SORT is generic but @list @set @sortedset;
        # so does @connection: WAIT is generic but not @keyspace.)
        cats.add(implied)
    flags = cmd.flags
    if "write" in flags:
        cats.add("write")
    if "readonly" in flags and "scripting" not in cats:
        cats.add("read")
    if "admin" in flags:
        cats.update(("admin", "dangerous"))
    if "pubsub" in flags:
        cats.add("pubsub")
    if "fast" in flags:
        cats.add("fast")
    if "blocking" in flags:
        cats.add("blocking")
    if "fast" not in cats:
        cats.add("slow")
    return [c for c in CATEGORY_ORDER if c in cats]


# Redis's order of key-spec flags (``addReplyFlagsForKeyArgs``): replies list them this way.
KEY_SPEC_FLAG_ORDER = (
    "RO",
    "RW",
    "OW",
    "RM",
    "access",
    "update",
    "insert",
    "delete",
    "not_key",
    "incomplete",
    "variable_flags",
)


def key_specs(cmd: Command) -> list[Map]:
    """The Redis 7 key specs of ``cmd``: the declared ones, or else one ``index``/``range`` spec
    derived from the (first, last, step) key positions."""
    specs = cmd.key_specs
    if not specs:
        if cmd.first_key <= 0:
            return []
        flags = ("RW", "update") if "write" in cmd.flags else ("RO", "access")
        specs = (KeySpec(flags=flags),)
    return [_key_spec(cmd, spec) for spec in specs]


def _key_spec(cmd: Command, spec: KeySpec) -> Map:
    index = cmd.first_key if spec.index is None else spec.index
    if spec.lastkey is not None:
        last = spec.lastkey
    else:
        last = cmd.last_key - cmd.first_key if cmd.last_key >= 0 else cmd.last_key
    step = cmd.key_step if spec.step is None else spec.step
    flags = sorted(spec.flags, key=KEY_SPEC_FLAG_ORDER.index)
    pairs: list[tuple[bytes, Any]] = []
    if spec.notes:
        pairs.append((b"notes", spec.notes.encode()))
    begin_search = Map([(b"type", b"index"), (b"spec", Map([(b"index", index)]))])
    if spec.keyword:
        begin_search = Map(
            [
                (b"type", b"keyword"),
                (
                    b"spec",
                    Map([(b"keyword", spec.keyword.encode()), (b"startfrom", spec.startfrom)]),
                ),
            ]
        )
    if spec.unknown:
        begin_search = find_keys = Map([(b"type", b"unknown"), (b"spec", Map([]))])
    elif spec.keynumidx is not None:
        find_keys = Map(
            [
                (b"type", b"keynum"),
                (
                    b"spec",
                    Map(
                        [
                            (b"keynumidx", spec.keynumidx),
                            (b"firstkey", spec.firstkey),
                            (b"keystep", step),
                        ]
                    ),
                ),
            ]
        )
    else:
        find_keys = Map(
            [
                (b"type", b"range"),
                (b"spec", Map([(b"lastkey", last), (b"keystep", step), (b"limit", spec.limit)])),
            ]
        )
    pairs += [
        (b"flags", SetReply([Status(f.encode()) for f in flags])),
        (b"begin_search", begin_search),
        (b"find_keys", find_keys),
    ]
    return Map(pairs)


# COMMAND INFO and DOCS entries by declaration, built on first use: a declaration does not
# change while the server runs, and redis-cli asks for every command's docs each time it
# starts. (By declaration rather than by name: a module unloaded and loaded again declares
# its commands anew.)
_INFO: dict[Command, list[Any]] = {}
_DOCS: dict[Command, Map] = {}


def command_info(cmd: Command) -> list[Any]:
    """One ``COMMAND INFO`` entry: name, arity, flags, first, last, step, categories, tips,
    key specs, subcommands."""
    entry = _INFO.get(cmd)
    if entry is None:
        entry = _INFO[cmd] = _build_info(cmd)
    return entry


def _build_info(cmd: Command) -> list[Any]:
    return [
        cmd.wire_name,
        cmd.arity,
        SetReply([Status(f.encode()) for f in cmd.flags]),
        cmd.first_key,
        cmd.last_key,
        cmd.key_step,
        SetReply([Status(b"@" + c.encode()) for c in acl_categories(cmd)]),
        SetReply([t.encode() for t in cmd.tips]),
        SetReply(key_specs(cmd)),
        SetReply([command_info(sub) for sub in cmd.subcommands.values()]),
    ]


# -- syntax → COMMAND DOCS arguments ---------------------------------------------------------
@dataclass
class Arg:
    """One argument of a command as COMMAND DOCS describes it."""

    name: str
    type: str
    token: str | None = None
    optional: bool = False
    multiple: bool = False
    multiple_token: bool = False
    arguments: list[Arg] = field(default_factory=list)
    key_spec_index: int = -1

    def docs(self) -> Map:
        pairs: list[tuple[bytes, Any]] = [
            (b"name", self.name.encode()),
            (b"type", self.type.encode()),
        ]
        if self.key_spec_index >= 0:
            pairs.append((b"key_spec_index", self.key_spec_index))
        if self.token is not None:
            pairs.append((b"token", self.token.encode()))
        flags = [
            Status(name)
            for name, on in (
                (b"optional", self.optional),
                (b"multiple", self.multiple),
                (b"multiple_token", self.multiple_token),
            )
            if on
        ]
        if flags:
            pairs.append((b"flags", SetReply(flags)))
        if self.arguments:
            pairs.append((b"arguments", [a.docs() for a in self.arguments]))
        return Map(pairs)


_TOKEN_RE = re.compile(r"\.\.\.|[\[\]<>|]|[^\s\[\]<>|]+")
_IS_TOKEN = re.compile(r"^[A-Z][A-Z0-9_-]*$")

# Argument names whose type is not ``string``, by Redis's own naming habits.
_KEY_NAMES = {"key", "destination", "source", "newkey"}
_INTEGER_NAMES = {
    "count",
    "seconds",
    "milliseconds",
    "offset",
    "index",
    "start",
    "stop",
    "end",
    "increment",
    "decrement",
    "numkeys",
    "cursor",
    "protover",
    "client-id",
    "db",
    "index1",
    "index2",
    "rank",
    "len",
    "maxlen",
    "port",
    "numreplicas",
    "limit",
    "version",
}
_DOUBLE_NAMES = {"score", "timeout", "min", "max", "float-increment"}


def _value_type(name: str) -> str:
    if name in _KEY_NAMES:
        return "key"
    if "unix-time" in name:
        return "unix-time"
    if name == "pattern":
        return "pattern"
    if name in _INTEGER_NAMES:
        return "integer"
    if name in _DOUBLE_NAMES:
        return "double"
    return "string"


class _Parser:
    """Recursive descent over the tokens of a syntax string.

    Grammar::

        sequence    := item*
        item        := "[" alternatives "]"       optional
                     | "<" alternatives ">"       required choice
                     | WORD | "..."
        alternatives := sequence ("|" sequence)*

    An upper-case WORD is a literal token (``NX``); a lower-case one is a value (``seconds``).
    A token followed by one value becomes that value with the token (``EX seconds``); a token
    followed by several values becomes a block (``LIMIT offset count``). ``x [x ...]`` becomes
    ``x`` with the ``multiple`` flag, ``a b [a b ...]`` a multiple block.
    """

    def __init__(self, text: str) -> None:
        self.tokens = _TOKEN_RE.findall(text)
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        tok: str = self.tokens[self.pos]
        self.pos += 1
        return tok

    def sequence(self) -> list[Arg | str]:
        """Items up to a closing bracket or ``|``; ``...`` stays in as the string ``"..."``."""
        items: list[Arg | str] = []
        while (tok := self.peek()) is not None and tok not in ("]", ">", "|"):
            self.take()
            if tok in ("[", "<"):
                closing = "]" if tok == "[" else ">"
                choices = self.alternatives()
                if self.peek() == closing:
                    self.take()
                group = self._group(choices, optional=tok == "[")
                if group is None:
                    continue
                if tok == "[" and isinstance(group, tuple):
                    # ``[x ...]`` after ``x``: the preceding items repeat.
                    repeated = group[0]
                    self._mark_multiple(items, repeated)
                    continue
                assert isinstance(group, Arg)
                items.append(group)
            elif tok == "...":
                items.append("...")
            elif _IS_TOKEN.match(tok):
                items.append(Arg(name=tok.lower(), type="pure-token", token=tok))
            else:
                items.append(Arg(name=tok, type=_value_type(tok)))
        return items

    def alternatives(self) -> list[list[Arg | str]]:
        choices = [self.sequence()]
        while self.peek() == "|":
            self.take()
            choices.append(self.sequence())
        return choices

    def _group(
        self, choices: list[list[Arg | str]], optional: bool
    ) -> Arg | tuple[list[Arg]] | None:
        if len(choices) == 1:
            items = choices[0]
            if items and items[-1] == "...":
                return ([a for a in items[:-1] if isinstance(a, Arg)],)
            arg = build(items)
            if arg is None:
                return None
            arg.optional = optional or arg.optional
            return arg
        options = [a for a in (build(c) for c in choices) if a is not None]
        name = "-".join(o.name for o in options)
        return Arg(name=name, type="oneof", optional=optional, arguments=options)

    @staticmethod
    def _mark_multiple(items: list[Arg | str], repeated: list[Arg]) -> None:
        count = len(repeated)
        if count == 0 or len(items) < count:
            return
        tail = items[-count:]
        if [a.name if isinstance(a, Arg) else a for a in tail] != [a.name for a in repeated]:
            # ``TOKEN a [a ...]``: the token was merged into ``a`` already, see ``merge``.
            last = items[-1]
            if count == 1 and isinstance(last, Arg) and last.name == repeated[0].name:
                last.multiple = True
            return
        if count == 1:
            last = tail[0]
            assert isinstance(last, Arg)
            last.multiple = True
            return
        del items[-count:]
        parts = [a for a in tail if isinstance(a, Arg)]
        items.append(
            Arg(name="-".join(a.name for a in parts), type="block", multiple=True, arguments=parts)
        )


def merge(items: Sequence[Arg | str]) -> list[Arg]:
    """Give each token to the value that follows it (``EX seconds`` → ``seconds`` with token EX)."""
    out: list[Arg] = []
    i = 0
    args = [a for a in items if isinstance(a, Arg)]
    while i < len(args):
        arg = args[i]
        nxt = args[i + 1] if i + 1 < len(args) else None
        if (
            arg.type == "pure-token"
            and nxt is not None
            and nxt.type != "pure-token"
            and nxt.token is None
            and not nxt.optional
        ):
            nxt.token = arg.token
            out.append(nxt)
            i += 2
            continue
        out.append(arg)
        i += 1
    return out


def build(items: list[Arg | str]) -> Arg | None:
    """One argument from the items of a bracketed group (or one choice of ``a | b``)."""
    if not items:
        return None
    args = [a for a in items if isinstance(a, Arg)]
    if len(args) >= 3 and args[0].type == "pure-token" and args[1].type != "pure-token":
        # ``AUTH username password``: a block introduced by the token.
        rest = merge(args[1:])
        return Arg(name=args[0].name, type="block", token=args[0].token, arguments=rest)
    merged = merge(items)
    if len(merged) == 1:
        return merged[0]
    return Arg(name="-".join(a.name for a in merged), type="block", arguments=merged)


def parse_syntax(syntax: str) -> list[Arg]:
    """The COMMAND DOCS arguments described by a Redis-docs syntax string."""
    parser = _Parser(syntax)
    args = merge(parser.sequence())
    key_index = 0
    for arg in args:
        key_index = _number_keys(arg, key_index)
    return args


def _number_keys(arg: Arg, index: int) -> int:
    if arg.type == "key":
        arg.key_spec_index = index
        return index + 1
    for sub in arg.arguments:
        index = _number_keys(sub, index)
    return index


def command_docs(cmd: Command) -> Map:
    """One ``COMMAND DOCS`` entry (the value; the caller pairs it with the name)."""
    entry = _DOCS.get(cmd)
    if entry is None:
        entry = _DOCS[cmd] = _build_docs(cmd)
    return entry


# The complexity of a command Redis documents without one (LOLWUT): COMMAND DOCS leaves it out.
NO_COMPLEXITY: Final = "-"


def _build_docs(cmd: Command) -> Map:
    if cmd.module:
        return _build_module_docs(cmd)
    pairs: list[tuple[bytes, Any]] = [
        (b"summary", cmd.summary.encode()),
        (b"since", cmd.since.encode()),
        (b"group", cmd.group.encode()),
    ]
    if cmd.complexity != NO_COMPLEXITY:
        complexity = cmd.complexity or ("Depends on subcommand." if cmd.subcommands else "O(1)")
        pairs.append((b"complexity", complexity.encode()))
    if cmd.syntax:
        args = parse_syntax(cmd.syntax)
        if args:
            # Only the first key spec exists (see key_specs): later keys point at it too.
            for arg in args:
                _clamp_key_index(arg)
            pairs.append((b"arguments", [a.docs() for a in args]))
    if cmd.subcommands:
        pairs.append(
            (
                b"subcommands",
                Map([(sub.wire_name, command_docs(sub)) for sub in cmd.subcommands.values()]),
            )
        )
    return Map(pairs)


def _build_module_docs(cmd: Command) -> Map:
    """A module command's entry, as Redis 7.0 gives one: only what the module declared, the
    group ``module`` and the module's name."""
    pairs: list[tuple[bytes, Any]] = [
        (name.encode(), text.encode())
        for name, text in (("summary", cmd.summary), ("since", cmd.since))
        if text
    ]
    pairs.append((b"group", b"module"))
    if cmd.complexity:
        pairs.append((b"complexity", cmd.complexity.encode()))
    pairs.append((b"module", cmd.module.encode()))
    if cmd.syntax:
        args = parse_syntax(cmd.syntax)
        for arg in args:
            _clamp_key_index(arg)
        if args:
            pairs.append((b"arguments", [a.docs() for a in args]))
    return Map(pairs)


def _clamp_key_index(arg: Arg) -> None:
    if arg.key_spec_index > 0:
        arg.key_spec_index = 0
    for sub in arg.arguments:
        _clamp_key_index(sub)


# -- the command ------------------------------------------------------------------------------
def _find(name: bytes) -> Command | None:
    """A command or ``container|sub`` by name, in any case."""
    parent, bar, sub = name.partition(b"|")
    cmd = lookup(parent)
    if cmd is None or not bar:
        return cmd
    return cmd.subcommands.get(sub.lower())


def _all_names() -> list[Command]:
    out: list[Command] = []
    for cmd in NAMES.values():
        out.append(cmd)
        out.extend(cmd.subcommands.values())
    return out


@command(
    "command",
    arity=-1,
    flags=("loading", "stale"),
    group="server",
    summary="Get array of Redis command details",
    since="2.8.13",
    complexity="O(N) where N is the total number of Redis commands",
    acl_categories=("connection",),
    tips=("nondeterministic_output_order",),
)
def command_(client: Client, argv: list[bytes]) -> Reply:
    """COMMAND

    Every command's COMMAND INFO entry (the subcommands are declared below)."""
    return [command_info(cmd) for cmd in NAMES.values()]


_COMMAND = lookup(b"command")
assert _COMMAND is not None


@subcommand(
    _COMMAND,
    "count",
    arity=2,
    flags=("loading", "stale"),
    summary="Get total number of Redis commands",
    since="2.8.13",
    acl_categories=("connection",),
)
def command_count(client: Client, argv: list[bytes]) -> Reply:
    """COMMAND COUNT"""
    return len(NAMES)


@subcommand(
    _COMMAND,
    "info",
    arity=-2,
    flags=("loading", "stale"),
    summary="Get array of specific Redis command details, or all when no argument is given.",
    since="2.8.13",
    syntax="[command-name [command-name ...]]",
    complexity="O(N) where N is the number of commands to look up",
    acl_categories=("connection",),
    tips=("nondeterministic_output_order",),
)
def command_info_(client: Client, argv: list[bytes]) -> Reply:
    """COMMAND INFO [command-name [command-name ...]]"""
    if len(argv) == 2:
        return [command_info(cmd) for cmd in NAMES.values()]
    out: list[Any] = []
    for name in argv[2:]:
        cmd = _find(name)
        out.append(None if cmd is None else command_info(cmd))
    return out


@subcommand(
    _COMMAND,
    "docs",
    arity=-2,
    flags=("loading", "stale"),
    summary="Get array of specific Redis command documentation",
    since="7.0.0",
    syntax="[command-name [command-name ...]]",
    complexity="O(N) where N is the number of commands to look up",
    acl_categories=("connection",),
    tips=("nondeterministic_output_order",),
)
def command_docs_(client: Client, argv: list[bytes]) -> Reply:
    """COMMAND DOCS [command-name [command-name ...]]"""
    if len(argv) == 2:
        return Map([(cmd.wire_name, command_docs(cmd)) for cmd in NAMES.values()])
    pairs: list[tuple[bytes, Map]] = []
    for name in argv[2:]:
        cmd = _find(name)
        if cmd is not None:
            pairs.append((cmd.wire_name, command_docs(cmd)))
    return Map(pairs)


@subcommand(
    _COMMAND,
    "list",
    arity=-2,
    flags=("loading", "stale"),
    summary="Get an array of Redis command names",
    since="7.0.0",
    syntax="[FILTERBY <MODULE module-name | ACLCAT category | PATTERN pattern>]",
    complexity="O(N) where N is the total number of Redis commands",
    acl_categories=("connection",),
    tips=("nondeterministic_output_order",),
)
def command_list(client: Client, argv: list[bytes]) -> Reply:
    """COMMAND LIST [FILTERBY <MODULE module-name | ACLCAT category | PATTERN pattern>]"""
    cmds = _all_names()
    if len(argv) == 2:
        return [cmd.wire_name for cmd in cmds]
    if len(argv) != 5 or argv[2].lower() != b"filterby":
        raise CommandError(errors.SYNTAX)
    kind, value = argv[3].lower(), argv[4]
    if kind == b"module":
        # (Module names compare without case, as Redis's modules dictionary does.)
        wanted = value.lower()
        return [c.wire_name for c in cmds if c.module and c.module.encode().lower() == wanted]
    if kind == b"aclcat":
        cat = value.decode("utf-8", "replace").lower()
        return [cmd.wire_name for cmd in cmds if cat in acl_categories(cmd)]
    if kind == b"pattern":
        return [cmd.wire_name for cmd in cmds if stringmatch(value, cmd.wire_name, nocase=True)]
    raise CommandError(errors.SYNTAX)


@subcommand(
    _COMMAND,
    "getkeys",
    arity=-4,
    flags=("loading", "stale"),
    summary="Extract keys given a full Redis command",
    since="2.8.13",
    # No syntax: Redis 7.0's COMMAND DOCS lists no arguments for GETKEYS.
    complexity="O(N) where N is the number of arguments to the command",
    acl_categories=("connection",),
)
def command_getkeys(client: Client, argv: list[bytes]) -> Reply:
    """COMMAND GETKEYS command [arg [arg ...]]

    A command whose keys are all optional (``no_mandatory_keys``: EVAL, FCALL ...) and given
    none, or an invalid count of them, has an empty list of keys rather than the error."""
    target = argv[2:]
    cmd = _target_command(target)
    try:
        return _keys_of(cmd, target)
    except CommandError as exc:
        if exc.message == errors.GETKEYS_INVALID_ARGUMENTS and "no_mandatory_keys" in cmd.flags:
            return []
        raise


def _target_command(target: list[bytes]) -> Command:
    """The (sub)command a GETKEYS or GETKEYSANDFLAGS command line names, checked for arity."""
    cmd = lookup(target[0])
    if cmd is not None and cmd.subcommands and len(target) > 1:
        cmd = cmd.subcommands.get(target[1].lower())
    if cmd is None:
        raise CommandError("ERR Invalid command specified")
    if not cmd.accepts(len(target)):
        raise CommandError("ERR Invalid number of arguments specified for command")
    return cmd


def keys_of(cmd: Command, argv: list[bytes]) -> list[bytes]:
    """The keys of the command line ``argv`` (the command ``cmd``), as Redis's
    ``getKeysFromCommand`` finds them: none when it has none or its key count is not valid."""
    try:
        return _keys_of(cmd, argv)
    except CommandError:
        return []


def _keys_of(cmd: Command, target: list[bytes]) -> list[bytes]:
    """The keys of the command line ``target`` (the command ``cmd``), as COMMAND GETKEYS."""
    if cmd.getkeys is not None:
        return cmd.getkeys(target)
    if any(spec.keynumidx is not None for spec in cmd.key_specs):
        return _keys_by_specs(cmd, target)
    if cmd.first_key <= 0:
        raise CommandError("ERR The command has no key arguments")
    last = cmd.last_key if cmd.last_key >= 0 else len(target) + cmd.last_key
    return [
        target[i] for i in range(cmd.first_key, min(last, len(target) - 1) + 1, cmd.key_step or 1)
    ]


@subcommand(
    _COMMAND,
    "getkeysandflags",
    arity=-4,
    flags=("loading", "stale"),
    summary="Extract keys and access flags given a full Redis command",
    since="7.0.0",
    complexity="O(N) where N is the number of arguments to the command",
    acl_categories=("connection",),
)
def command_getkeysandflags(client: Client, argv: list[bytes]) -> Reply:
    """COMMAND GETKEYSANDFLAGS command [arg [arg ...]]

    Each key of the command line with the flags of the key spec that finds it (in Redis's
    order: RO RW OW RM, then access update insert delete ...)."""
    target = argv[2:]
    cmd = _target_command(target)
    keys = _keys_of(cmd, target)
    flags = _key_flags(cmd, target, len(keys))
    return [
        [key, [Status(flag.encode()) for flag in sorted(f, key=KEY_SPEC_FLAG_ORDER.index)]]
        for key, f in zip(keys, flags, strict=True)
    ]


def keys_and_flags(cmd: Command, argv: list[bytes]) -> list[tuple[bytes, tuple[str, ...]]]:
    """Each key of the command line ``argv`` (the command ``cmd``) with its key spec's flags,
    as GETKEYSANDFLAGS finds them, less the ``not_key`` ones (SPUBLISH's shard channel); none
    when the command has no keys or its count is not a valid one (what the ACL check of a
    command's keys reads)."""
    try:
        keys = _keys_of(cmd, argv)
    except CommandError:
        return []
    pairs = zip(keys, _key_flags(cmd, argv, len(keys)), strict=True)
    return [(key, flags) for key, flags in pairs if "not_key" not in flags]


def _key_flags(cmd: Command, target: list[bytes], count: int) -> list[tuple[str, ...]]:
    """The flags of each of the ``count`` keys of ``target``, spec by spec in order: a spec
    finds its keys as GETKEYS does, and the keys only a command's own procedure finds (SORT's
    STORE) take the flags of its ``unknown`` spec."""
    specs = cmd.key_specs
    if not specs:
        flags = ("RW", "update") if "write" in cmd.flags else ("RO", "access")
        return [flags] * count
    if "variable_flags" in specs[0].flags:
        return [_variable_flags(cmd, target)] * count
    found: list[tuple[str, ...]] = []
    unknown: tuple[str, ...] = specs[-1].flags
    for spec in specs:
        if spec.unknown:
            unknown = spec.flags
            continue
        if spec.keynumidx is not None:
            found += [spec.flags] * len(_counted_keys(spec, target))
            continue
        if spec.keyword:
            # Its keys are the ones the command's own procedure found after those of the
            # specs before: that procedure knows them, so "incomplete" does not apply.
            known = tuple(flag for flag in spec.flags if flag != "incomplete")
            found += [known] * (count - len(found))
            continue
        index = cmd.first_key if spec.index is None else spec.index
        if index >= len(target):
            continue
        if spec.lastkey is None:
            last = cmd.last_key if cmd.last_key >= 0 else len(target) + cmd.last_key
        else:
            last = index + spec.lastkey if spec.lastkey >= 0 else len(target) + spec.lastkey
        step = spec.step or cmd.key_step or 1
        found += [spec.flags] * len(range(index, min(last, len(target) - 1) + 1, step))
    found = found[:count]
    return found + [unknown] * (count - len(found))


def _variable_flags(cmd: Command, target: list[bytes]) -> tuple[str, ...]:
    """What SET and BITFIELD do to their key, which depends on their arguments (Redis's
    ``setGetKeys`` and ``bitfieldGetKeys``): SET ... GET reads it, BITFIELD with only GETs
    only reads it."""
    if cmd.name == "set":
        if any(arg.lower() == b"get" for arg in target[3:]):
            return ("RW", "access", "update")
        return ("OW", "update")
    i = 2
    while i < len(target):
        option = target[i].lower()
        remaining = len(target) - i - 1
        if option == b"get" and remaining >= 2:
            i += 3
        elif option == b"overflow" and remaining >= 1:
            i += 2
        else:
            return ("RW", "access", "update")
    return ("RO", "access")


def _keys_by_specs(cmd: Command, target: list[bytes]) -> list[bytes]:
    """The keys of a command some of whose keys follow a count (ZUNIONSTORE dest numkeys key
    ..., LMPOP numkeys key ...): spec by spec, a single key at its index or the counted ones."""
    keys: list[bytes] = []
    for spec in cmd.key_specs:
        if spec.keynumidx is None:
            keys.append(target[cmd.first_key if spec.index is None else spec.index])
        else:
            keys.extend(_counted_keys(spec, target))
    return keys


def _counted_keys(spec: KeySpec, target: list[bytes]) -> list[bytes]:
    """The keys of a command whose key count is an argument (``LMPOP numkeys key ...``), as
    Redis's ``genericGetKeys`` finds them: the count read with C's ``atoi`` (``02``, ``+2``,
    `` 2`` and ``2x`` are 2), and no keys at all (an error) when it is below 1 or more than the
    arguments left."""
    begin = spec.index if spec.index is not None else 1
    at = begin + (spec.keynumidx or 0)
    first = begin + spec.firstkey
    step = spec.step or 1
    count = atoi(target[at]) if at < len(target) else 0
    if count < 1 or count > (len(target) - first) // step:
        raise CommandError(errors.GETKEYS_INVALID_ARGUMENTS)
    return [target[first + i * step] for i in range(count)]


def atoi(raw: bytes) -> int:
    """C's ``atoi`` as glibc has it, ``(int) strtol(s, NULL, 10)``: up to a NUL byte, leading
    white space skipped, a sign, the digits up to the first other byte (none: 0), clamped to a
    64-bit long and then cut to a 32-bit int."""
    text = raw.split(b"\0", 1)[0].lstrip(b" \t\n\v\f\r")
    sign = 1
    if text[:1] in (b"+", b"-"):
        sign = -1 if text[:1] == b"-" else 1
        text = text[1:]
    digits = len(text) - len(text.lstrip(b"0123456789"))
    value = sign * int(text[:digits]) if digits else 0
    value = max(-(2**63), min(value, 2**63 - 1))
    return (value + 2**31) % 2**32 - 2**31


# Redis's COMMAND HELP, its entries for the subcommands Zyst has.
_COMMAND_HELP = [
    "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
    "GETKEYSANDFLAGS <full-command>",
    "    Return the keys and the access flags from a full Redis command.",
    "HELP",
    "    Prints this help.",
]


def help_reply(lines: list[str]) -> list[Status]:
    """A HELP reply: one simple string per line, as Redis's ``addReplyHelp`` sends."""
    return [Status(line.encode()) for line in lines]


@subcommand(
    _COMMAND,
    "help",
    arity=2,
    flags=("loading", "stale"),
    summary="Show helpful text about the different subcommands",
    since="5.0.0",
    acl_categories=("connection",),
)
def command_help(client: Client, argv: list[bytes]) -> Reply:
    """COMMAND HELP"""
    return help_reply(_COMMAND_HELP)
