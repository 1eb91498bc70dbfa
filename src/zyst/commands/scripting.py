"""EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT: running Lua scripts (the engine is
:mod:`zyst.scripting`).

A script's keys are the ``numkeys`` arguments after it; the rest are its ARGV. The script's own
commands propagate themselves (as one MULTI ... EXEC block): EVAL itself never reaches the AOF.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zyst import errors
from zyst.commands.args import option_word, parse_int
from zyst.commands.introspection import help_reply
from zyst.commands.table import KeySpec, Reply, command, container, subcommand
from zyst.errors import CommandError
from zyst.protocol.resp import OK, ErrorReply
from zyst.scripting.engine import Script, engine_of

if TYPE_CHECKING:
    from zyst.client import Client

# In Redis's order (COMMAND INFO lists them so); Redis's may_replicate is not shown.
_EVAL_FLAGS = ("noscript", "stale", "skip_monitor", "no_mandatory_keys", "movablekeys")
_EVAL_RO_FLAGS = (
    "readonly",
    "noscript",
    "stale",
    "skip_monitor",
    "no_mandatory_keys",
    "movablekeys",
)
_RW_SPEC = KeySpec(
    flags=("RW", "access", "update"),
    notes="We cannot tell how the keys will be used so we assume the worst, RW and UPDATE",
    index=2,
    step=1,
    keynumidx=0,
    firstkey=1,
)
_RO_SPEC = KeySpec(
    flags=("RO", "access"),
    notes="We cannot tell how the keys will be used so we assume the worst, RO and ACCESS",
    index=2,
    step=1,
    keynumidx=0,
    firstkey=1,
)
_COMPLEXITY = "Depends on the script that is executed."


def _keys_and_args(argv: list[bytes]) -> tuple[list[bytes], list[bytes]]:
    numkeys = parse_int(argv[2])
    if numkeys > len(argv) - 3:
        raise CommandError(errors.SCRIPT_NUMKEYS_TOO_BIG)
    if numkeys < 0:
        raise CommandError(errors.SCRIPT_NUMKEYS_NEGATIVE)
    return argv[3 : 3 + numkeys], argv[3 + numkeys :]


def _eval(client: Client, argv: list[bytes], read_only: bool) -> Reply:
    keys, args = _keys_and_args(argv)
    engine = engine_of(client.ctx)
    sha = engine.create(argv[1])
    return engine.eval(client, engine.scripts[sha], sha, keys, args, read_only)


def _evalsha(client: Client, argv: list[bytes], read_only: bool) -> Reply:
    if len(argv[1]) != 40:
        return ErrorReply(errors.NOSCRIPT)
    keys, args = _keys_and_args(argv)
    engine = engine_of(client.ctx)
    sha = argv[1].decode("latin-1").lower()
    script: Script | None = engine.scripts.get(sha)
    if script is None:
        return ErrorReply(errors.NOSCRIPT)
    return engine.eval(client, script, sha, keys, args, read_only)


@command(
    "eval",
    arity=-3,
    flags=_EVAL_FLAGS,
    group="scripting",
    summary="Execute a Lua script server side",
    since="2.6.0",
    syntax="script numkeys [key [key ...]] [arg [arg ...]]",
    complexity=_COMPLEXITY,
    acl_categories=("slow", "scripting"),
    key_specs=(_RW_SPEC,),
)
def eval_(client: Client, argv: list[bytes]) -> Reply:
    """EVAL script numkeys [key [key ...]] [arg [arg ...]]"""
    return _eval(client, argv, False)


@command(
    "evalsha",
    arity=-3,
    flags=_EVAL_FLAGS,
    group="scripting",
    summary="Execute a Lua script server side",
    since="2.6.0",
    syntax="sha1 numkeys [key [key ...]] [arg [arg ...]]",
    complexity=_COMPLEXITY,
    acl_categories=("slow", "scripting"),
    key_specs=(
        KeySpec(flags=("RW", "access", "update"), index=2, step=1, keynumidx=0, firstkey=1),
    ),
)
def evalsha(client: Client, argv: list[bytes]) -> Reply:
    """EVALSHA sha1 numkeys [key [key ...]] [arg [arg ...]]"""
    return _evalsha(client, argv, False)


@command(
    "eval_ro",
    arity=-3,
    flags=_EVAL_RO_FLAGS,
    group="scripting",
    summary="Execute a read-only Lua script server side",
    since="7.0.0",
    syntax="script numkeys [key [key ...]] [arg [arg ...]]",
    complexity=_COMPLEXITY,
    acl_categories=("slow", "scripting"),
    key_specs=(_RO_SPEC,),
)
def eval_ro(client: Client, argv: list[bytes]) -> Reply:
    """EVAL_RO script numkeys [key [key ...]] [arg [arg ...]]"""
    return _eval(client, argv, True)


@command(
    "evalsha_ro",
    arity=-3,
    flags=_EVAL_RO_FLAGS,
    group="scripting",
    summary="Execute a read-only Lua script server side",
    since="7.0.0",
    syntax="sha1 numkeys [key [key ...]] [arg [arg ...]]",
    complexity=_COMPLEXITY,
    acl_categories=("slow", "scripting"),
    key_specs=(KeySpec(flags=("RO", "access"), index=2, step=1, keynumidx=0, firstkey=1),),
)
def evalsha_ro(client: Client, argv: list[bytes]) -> Reply:
    """EVALSHA_RO sha1 numkeys [key [key ...]] [arg [arg ...]]"""
    return _evalsha(client, argv, True)


_SCRIPT = container(
    "script",
    group="scripting",
    summary="A container for Lua scripts management commands",
    since="2.6.0",
)


@subcommand(
    _SCRIPT,
    "load",
    arity=3,
    flags=("noscript", "stale"),
    summary="Load the specified Lua script into the script cache.",
    since="2.6.0",
    syntax="script",
    complexity="O(N) with N being the length in bytes of the script body.",
    acl_categories=("slow", "scripting"),
    tips=("request_policy:all_nodes", "response_policy:all_succeeded"),
)
def script_load(client: Client, argv: list[bytes]) -> Reply:
    """SCRIPT LOAD script"""
    return engine_of(client.ctx).create(argv[2]).encode()


@subcommand(
    _SCRIPT,
    "exists",
    arity=-3,
    flags=("noscript",),
    summary="Check existence of scripts in the script cache.",
    since="2.6.0",
    syntax="sha1 [sha1 ...]",
    complexity="O(N) with N being the number of scripts to check (so checking a single script "
    "is an O(1) operation).",
    acl_categories=("slow", "scripting"),
    tips=("request_policy:all_shards", "response_policy:agg_logical_and"),
)
def script_exists(client: Client, argv: list[bytes]) -> Reply:
    """SCRIPT EXISTS sha1 [sha1 ...]"""
    scripts = engine_of(client.ctx).scripts
    return [int(sha.decode("latin-1").lower() in scripts) for sha in argv[2:]]


@subcommand(
    _SCRIPT,
    "flush",
    arity=-2,
    flags=("noscript",),
    summary="Remove all the scripts from the script cache.",
    since="2.6.0",
    syntax="[ASYNC | SYNC]",
    complexity="O(N) with N being the number of scripts in cache",
    acl_categories=("slow", "scripting"),
    tips=("request_policy:all_nodes", "response_policy:all_succeeded"),
)
def script_flush(client: Client, argv: list[bytes]) -> Reply:
    """SCRIPT FLUSH [ASYNC | SYNC]

    Both modes flush at once (the old interpreter is left to Python's collector)."""
    if len(argv) > 3 or (len(argv) == 3 and option_word(argv[2]) not in (b"async", b"sync")):
        raise CommandError(errors.SCRIPT_FLUSH_OPTION)
    engine_of(client.ctx).flush()
    return OK


@subcommand(
    _SCRIPT,
    "kill",
    arity=2,
    flags=("noscript", "allow_busy"),
    summary="Kill the script currently in execution.",
    since="2.6.0",
    complexity="O(1)",
    acl_categories=("slow", "scripting"),
    tips=("request_policy:all_shards", "response_policy:one_succeeded"),
)
def script_kill(client: Client, argv: list[bytes]) -> Reply:
    """SCRIPT KILL

    Scripts run to completion without giving the event loop a turn, so none is ever running
    when this command is read."""
    return ErrorReply(errors.SCRIPT_KILL_NOT_BUSY)


_SCRIPT_HELP = [
    "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DEBUG (YES|SYNC|NO)",
    "    Set the debug mode for subsequent scripts executed.",
    "EXISTS <sha1> [<sha1> ...]",
    "    Return information about the existence of the scripts in the script cache.",
    "FLUSH [ASYNC|SYNC]",
    "    Flush the Lua scripts cache. Very dangerous on replicas.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the scripts cache.",
    "    * SYNC: Synchronously flush the scripts cache.",
    "KILL",
    "    Kill the currently executing Lua script.",
    "LOAD <script>",
    "    Load a script into the scripts cache without executing it.",
    "HELP",
    "    Prints this help.",
]


@subcommand(
    _SCRIPT,
    "help",
    arity=2,
    flags=("loading", "stale"),
    summary="Show helpful text about the different subcommands",
    since="5.0.0",
    complexity="O(1)",
    acl_categories=("slow", "scripting"),
)
def script_help(client: Client, argv: list[bytes]) -> Reply:
    """SCRIPT HELP"""
    return help_reply(_SCRIPT_HELP)
