"""ACL and its subcommands: the users and their rules (:mod:`zyst.security.acl`) as clients
see and change them, the ACL log, the users file (:mod:`zyst.security.aclfile`).

Replies are Redis 7.0.15's: ACL LIST describes each user as rules (the command rules
rebuilt category by category, as Redis approximates them), ACL GETUSER as a map, ACL LOG's
entries have Redis 7.0's seven fields.
"""

from __future__ import annotations

import secrets
import time
from typing import Any, Final

from zyst import errors
from zyst.client import Client
from zyst.commands.introspection import CATEGORY_ORDER, help_reply
from zyst.commands.table import Reply, container, lookup, subcommand
from zyst.errors import CommandError
from zyst.numbers import strict_int
from zyst.protocol.resp import OK, Map, SetReply
from zyst.security import aclfile
from zyst.security.acl import AclError, Selector, User, catalogue, describe_line, has_spaces

ACL_CMD = container(
    "acl", group="server", summary="A container for Access List Control commands ", since="6.0.0"
)
_ADMIN: Final = ("admin", "noscript", "loading", "stale")
_PLAIN: Final = ("noscript", "loading", "stale")


def _name(raw: bytes) -> str:
    """A user name as the users dict keys it (bytes as latin-1)."""
    return raw.decode("latin-1")


def current_user(client: Client) -> User:
    """The user ``client`` is authenticated as (the default user until AUTH exists)."""
    user: User | None = getattr(client, "user", None)
    return user if user is not None else client.ctx.acl.default


@subcommand(
    ACL_CMD,
    "setuser",
    arity=-3,
    flags=_ADMIN,
    summary="Modify or create the rules for a specific ACL user",
    since="6.0.0",
    syntax="username [rule [rule ...]]",
    complexity="O(N). Where N is the number of rules provided.",
)
def acl_setuser(client: Client, argv: list[bytes]) -> Reply:
    """ACL SETUSER username [rule [rule ...]]  (all rules apply, or none)"""
    if has_spaces(argv[2]):
        raise CommandError(errors.ACL_USERNAME_SPACES)
    try:
        client.ctx.acl.setuser(_name(argv[2]), argv[3:])
    except AclError as exc:
        # (Redis sends the error as one line: line breaks in a rule become spaces.)
        raise CommandError(exc.message.replace("\r", " ").replace("\n", " ")) from None
    return OK


@subcommand(
    ACL_CMD,
    "deluser",
    arity=-3,
    flags=_ADMIN,
    summary="Remove the specified ACL users and the associated rules",
    since="6.0.0",
    syntax="username [username ...]",
    complexity="O(1) amortized time considering the typical user.",
)
def acl_deluser(client: Client, argv: list[bytes]) -> Reply:
    """ACL DELUSER username [username ...]  (how many existed; never ``default``)"""
    if any(name.split(b"\0", 1)[0] == b"default" for name in argv[2:]):
        raise CommandError(errors.ACL_DELETE_DEFAULT)
    return client.ctx.acl.deluser([_name(name) for name in argv[2:]])


def _selector_fields(selector: Selector) -> list[tuple[bytes, Any]]:
    return [
        (b"commands", selector.describe_commands()),
        (b"keys", selector.describe_keys()),
        (b"channels", selector.describe_channels()),
    ]


@subcommand(
    ACL_CMD,
    "getuser",
    arity=3,
    flags=_ADMIN,
    summary="Get the rules for a specific ACL user",
    since="6.0.0",
    syntax="username",
    complexity="O(N). Where N is the number of password, command and pattern rules that the "
    "user has.",
)
def acl_getuser(client: Client, argv: list[bytes]) -> Reply:
    """ACL GETUSER username  (flags, passwords, the root selector's commands, keys and
    channels, then the other selectors)"""
    user = client.ctx.acl.get(_name(argv[2]))
    if user is None:
        return None
    fields: list[tuple[bytes, Any]] = [
        (b"flags", SetReply([flag.encode() for flag in user.flags()])),
        (b"passwords", [p.encode() for p in user.passwords]),
        *_selector_fields(user.root),
        (b"selectors", [Map(_selector_fields(s)) for s in user.selectors[1:]]),
    ]
    return Map(fields)


@subcommand(
    ACL_CMD,
    "list",
    arity=2,
    flags=_ADMIN,
    summary="List the current ACL rules in ACL config file format",
    since="6.0.0",
    complexity="O(N). Where N is the number of configured users.",
)
def acl_list(client: Client, argv: list[bytes]) -> Reply:
    """ACL LIST"""
    return [describe_line(user) for user in client.ctx.acl.sorted_users()]


@subcommand(
    ACL_CMD,
    "users",
    arity=2,
    flags=_ADMIN,
    summary="List the username of all the configured ACL rules",
    since="6.0.0",
    complexity="O(N). Where N is the number of configured users.",
)
def acl_users(client: Client, argv: list[bytes]) -> Reply:
    """ACL USERS"""
    return [user.name.encode("latin-1") for user in client.ctx.acl.sorted_users()]


@subcommand(
    ACL_CMD,
    "whoami",
    arity=2,
    flags=_PLAIN,
    summary="Return the name of the user associated to the current connection",
    since="6.0.0",
    complexity="O(1)",
)
def acl_whoami(client: Client, argv: list[bytes]) -> Reply:
    """ACL WHOAMI"""
    return current_user(client).name.encode("latin-1")


@subcommand(
    ACL_CMD,
    "load",
    arity=2,
    flags=_ADMIN,
    summary="Reload the ACLs from the configured ACL file",
    since="6.0.0",
    complexity="O(N). Where N is the number of configured users.",
)
def acl_load(client: Client, argv: list[bytes]) -> Reply:
    """ACL LOAD  (the whole file, or nothing when any line is wrong)"""
    path = client.ctx.config.aclfile
    if not path:
        raise CommandError(errors.ACL_NO_FILE)
    try:
        aclfile.load(client.ctx.acl, path)
    except AclError as exc:
        raise CommandError(exc.message) from None
    return OK


@subcommand(
    ACL_CMD,
    "save",
    arity=2,
    flags=_ADMIN,
    summary="Save the current ACL rules in the configured ACL file",
    since="6.0.0",
    complexity="O(N). Where N is the number of configured users.",
)
def acl_save(client: Client, argv: list[bytes]) -> Reply:
    """ACL SAVE"""
    path = client.ctx.config.aclfile
    if not path:
        raise CommandError(errors.ACL_NO_FILE)
    if not aclfile.save(client.ctx.acl, path):
        raise CommandError(errors.ACL_SAVE_FAILED)
    return OK


@subcommand(
    ACL_CMD,
    "cat",
    arity=-2,
    flags=_PLAIN,
    summary="List the ACL categories or the commands inside a category",
    since="6.0.0",
    syntax="[categoryname]",
    complexity="O(1) since the categories and commands are a fixed set.",
)
def acl_cat(client: Client, argv: list[bytes]) -> Reply:
    """ACL CAT [categoryname]  (the categories, or the commands of one)"""
    if len(argv) == 2:
        return [name.encode() for name in CATEGORY_ORDER]
    if len(argv) > 3:
        raise CommandError(errors.subcommand_syntax(argv[1], "acl"))
    name = argv[2].split(b"\0", 1)[0].lower().decode("latin-1")
    cat = catalogue()
    if name not in cat.listed:
        raise CommandError(errors.acl_unknown_category(argv[2]))
    return [cmd.wire_name for cmd in cat.listed[name]]


@subcommand(
    ACL_CMD,
    "genpass",
    arity=-2,
    flags=_PLAIN,
    summary="Generate a pseudorandom secure password to use for ACL users",
    since="6.0.0",
    syntax="[bits]",
    complexity="O(1)",
)
def acl_genpass(client: Client, argv: list[bytes]) -> Reply:
    """ACL GENPASS [bits]  (256 by default: hex digits, one per 4 bits, rounded up)"""
    if len(argv) > 3:
        raise CommandError(errors.subcommand_syntax(argv[1], "acl"))
    bits = 256
    if len(argv) == 3:
        value = strict_int(argv[2])
        if value is None:
            raise CommandError(errors.NOT_INTEGER)
        bits = value
    if bits <= 0 or bits > 4096:
        raise CommandError(errors.ACL_GENPASS_BITS)
    chars = (bits + 3) // 4
    return secrets.token_hex((chars + 1) // 2)[:chars].encode()


@subcommand(
    ACL_CMD,
    "log",
    arity=-2,
    flags=_ADMIN,
    summary="List latest events denied because of ACLs in place",
    since="6.0.0",
    syntax="[count | RESET]",
    complexity="O(N) with N being the number of entries shown.",
)
def acl_log(client: Client, argv: list[bytes]) -> Reply:
    """ACL LOG [count | RESET]  (10 entries by default, newest first)"""
    if len(argv) > 3:
        raise CommandError(errors.subcommand_syntax(argv[1], "acl"))
    log = client.ctx.acl.log
    count = 10
    if len(argv) == 3:
        if argv[2].split(b"\0", 1)[0].lower() == b"reset":
            log.reset()
            return OK
        value = strict_int(argv[2])
        if value is None:
            raise CommandError(errors.NOT_INTEGER)
        count = max(value, 0)
    now = int(time.time() * 1000)
    return [
        Map(
            [
                (b"count", entry.count),
                (b"reason", entry.reason.encode()),
                (b"context", entry.context.encode()),
                (b"object", entry.object),
                (b"username", entry.username),
                (b"age-seconds", (now - entry.created) / 1000),
                (b"client-info", entry.client_info),
            ]
        )
        for entry in log.entries[:count]
    ]


@subcommand(
    ACL_CMD,
    "dryrun",
    arity=-4,
    flags=_ADMIN,
    summary="Returns whether the user can execute the given command without executing the command.",
    since="7.0.0",
    syntax="username command [arg [arg ...]]",
    complexity="O(1).",
)
def acl_dryrun(client: Client, argv: list[bytes]) -> Reply:
    """ACL DRYRUN username command [arg [arg ...]]  (OK, or why the user may not: a bulk
    string, not an error)"""
    user = client.ctx.acl.get(_name(argv[2]))
    if user is None:
        raise CommandError(errors.acl_user_not_found(argv[2]))
    target = argv[3:]
    cmd = lookup(target[0])
    if cmd is not None and cmd.subcommands and len(target) > 1:
        cmd = cmd.subcommands.get(target[1].lower())
    if cmd is None:
        raise CommandError(errors.acl_command_not_found(target[0]))
    if not cmd.accepts(len(target)):
        raise CommandError(errors.wrong_arity(cmd.name))
    denial = user.check(cmd, target)
    if denial is None:
        return OK
    subject = denial.subject.encode("latin-1")
    if denial.reason == "command":
        return errors.acl_dryrun_command(cmd.name).encode("latin-1")
    if denial.reason == "key":
        return errors.acl_dryrun_key(subject).encode("latin-1")
    return errors.acl_dryrun_channel(subject).encode("latin-1")


_HELP: Final = [
    "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CAT [<category>]",
    "    List all commands that belong to <category>, or all command categories",
    "    when no category is specified.",
    "DELUSER <username> [<username> ...]",
    "    Delete a list of users.",
    "DRYRUN <username> <command> [<arg> ...]",
    "    Returns whether the user can execute the given command without executing the command.",
    "GETUSER <username>",
    "    Get the user's details.",
    "GENPASS [<bits>]",
    "    Generate a secure 256-bit user password. The optional `bits` argument can",
    "    be used to specify a different size.",
    "LIST",
    "    Show users details in config file format.",
    "LOAD",
    "    Reload users from the ACL file.",
    "LOG [<count> | RESET]",
    "    Show the ACL log entries.",
    "SAVE",
    "    Save the current config to the ACL file.",
    "SETUSER <username> <attribute> [<attribute> ...]",
    "    Create or modify a user with the specified attributes.",
    "USERS",
    "    List all the registered usernames.",
    "WHOAMI",
    "    Return the current connection username.",
    "HELP",
    "    Prints this help.",
]


@subcommand(
    ACL_CMD,
    "help",
    arity=2,
    flags=("loading", "stale"),
    summary="Show helpful text about the different subcommands",
    since="6.0.0",
    complexity="O(1)",
)
def acl_help(client: Client, argv: list[bytes]) -> Reply:
    """ACL HELP"""
    return help_reply(_HELP)
