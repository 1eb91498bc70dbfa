"""MODULE: load, list and unload Python modules (:mod:`zyst.modules`) while the server runs.

LOAD, LOADEX and UNLOAD are Redis's protected subcommands: refused unless
``enable-module-command`` allows them (``local``: loopback and Unix-socket clients only),
counted as rejected calls. A failure answers Redis's fixed text; why it failed is in the log
(:mod:`zyst.modules.loader`).
"""

from __future__ import annotations

import logging

from zyst import errors
from zyst.client import Client
from zyst.commands.debug import allowed_by
from zyst.commands.introspection import help_reply
from zyst.commands.table import Reply, container, subcommand
from zyst.errors import CommandError
from zyst.modules import loader, registry
from zyst.protocol.resp import OK, ErrorReply

log = logging.getLogger("zyst")

_MODULE = container(
    "module", group="server", summary="A container for module commands", since="4.0.0"
)
_PROTECTED = ("admin", "noscript", "no_async_loading")

# Redis's MODULE HELP, word for word.
_HELP = [
    "MODULE <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "LIST",
    "    Return a list of loaded modules.",
    "LOAD <path> [<arg> ...]",
    "    Load a module library from <path>, passing to it any optional arguments.",
    "LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
    "    Load a module library from <path>, while passing it module configurations and "
    "optional arguments.",
    "UNLOAD <name>",
    "    Unload a module.",
    "HELP",
    "    Prints this help.",
]


def _refused(client: Client, argv: list[bytes]) -> ErrorReply | None:
    """The refusal of a protected subcommand ``enable-module-command`` does not allow."""
    if allowed_by(client.ctx.config.enable_module_command, client):
        return None
    sub = _MODULE.subcommands[argv[1].lower()]
    # Refused before it runs: a rejected call, not a call.
    sub.rejected_calls += 1
    if not sub.timed:
        sub.batch_calls -= 1
    return ErrorReply(errors.MODULE_NOT_ALLOWED)


def _load(client: Client, path: bytes, args: list[bytes]) -> Reply:
    try:
        loader.load(path.decode("utf-8", "surrogateescape"), args)
    except loader.ModuleError:
        raise CommandError(errors.MODULE_LOAD_FAILED) from None
    return OK


@subcommand(
    _MODULE,
    "load",
    arity=-3,
    flags=_PROTECTED,
    summary="Load a module",
    since="4.0.0",
    syntax="path [arg [arg ...]]",
    complexity="O(1)",
)
def module_load(client: Client, argv: list[bytes]) -> Reply:
    """MODULE LOAD path [arg [arg ...]]

    Loads the Python module file at ``path`` (relative to the server's working directory),
    passing it the arguments."""
    refusal = _refused(client, argv)
    if refusal is not None:
        return refusal
    return _load(client, argv[2], argv[3:])


@subcommand(
    _MODULE,
    "loadex",
    arity=-3,
    flags=_PROTECTED,
    summary="Load a module with extended parameters",
    since="7.0.0",
    syntax="path [CONFIG name value [CONFIG name value ...]] [ARGS args [args ...]]",
    complexity="O(1)",
)
def module_loadex(client: Client, argv: list[bytes]) -> Reply:
    """MODULE LOADEX path [CONFIG name value [CONFIG name value ...]] [ARGS args [args ...]]

    As LOAD, the arguments after ``ARGS``. Python modules declare no configurations, so any
    ``CONFIG`` pair fails the load, as an unapplied one does in Redis."""
    refusal = _refused(client, argv)
    if refusal is not None:
        return refusal
    rest = argv[3:]
    args: list[bytes] = []
    configs = 0
    i = 0
    while i < len(rest):
        word = rest[i].lower()
        if word == b"config":
            if i + 2 >= len(rest):
                log.info("CONFIG specified without name value pair")
                raise CommandError(errors.MODULE_LOAD_FAILED)
            configs += 1
            i += 3
        elif word == b"args":
            args = rest[i + 1 :]
            break
        else:
            log.info("Syntax Error from arguments to loadex around %s.", rest[i].decode("latin-1"))
            raise CommandError(errors.MODULE_LOAD_FAILED)
    if configs:
        log.warning(
            "Loadex configurations were not applied, likely due to invalid arguments. "
            "(Python modules take no configurations.)"
        )
        raise CommandError(errors.MODULE_LOAD_FAILED)
    return _load(client, argv[2], args)


@subcommand(
    _MODULE,
    "unload",
    arity=3,
    flags=_PROTECTED,
    summary="Unload a module",
    since="4.0.0",
    syntax="name",
    complexity="O(1)",
)
def module_unload(client: Client, argv: list[bytes]) -> Reply:
    """MODULE UNLOAD name"""
    refusal = _refused(client, argv)
    if refusal is not None:
        return refusal
    try:
        loader.unload(argv[2].decode("utf-8", "surrogateescape"))
    except loader.ModuleError as exc:
        raise CommandError(errors.module_unload_failed(exc.reason)) from None
    return OK


@subcommand(
    _MODULE,
    "list",
    arity=2,
    flags=("admin", "noscript"),
    summary="List all modules loaded by the server",
    since="4.0.0",
    complexity="O(N) where N is the number of loaded modules.",
    tips=("nondeterministic_output_order",),
)
def module_list(client: Client, argv: list[bytes]) -> Reply:
    """MODULE LIST

    Each loaded module: a map of ``name``, ``ver``, ``path`` and ``args``."""
    return registry.listings()


@subcommand(
    _MODULE,
    "help",
    arity=2,
    flags=("loading", "stale"),
    summary="Show helpful text about the different subcommands",
    since="5.0.0",
)
def module_help(client: Client, argv: list[bytes]) -> Reply:
    """MODULE HELP"""
    return help_reply(_HELP)
