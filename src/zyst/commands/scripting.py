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
from zyst.glob import stringmatch
from zyst.numbers import strict_int
from zyst.persistence import rdb
from zyst.protocol.resp import OK, ErrorReply, Map, SetReply, Status
from zyst.scripting.engine import Script, engine_of
from zyst.scripting.flags import FLAG_NAMES

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
    return _failed_if_error(
        engine.eval(client, argv, engine.scripts[sha], sha, keys, args, read_only)
    )


def _failed_if_error(reply: Reply) -> Reply:
    """A script's or function's reply, an error one raised so that the dispatcher counts the
    call as failed (INFO commandstats), as Redis counts a command that replied an error."""
    if type(reply) is ErrorReply:
        raise CommandError(reply.message)
    return reply


def _evalsha(client: Client, argv: list[bytes], read_only: bool) -> Reply:
    if len(argv[1]) != 40:
        raise CommandError(errors.NOSCRIPT)
    keys, args = _keys_and_args(argv)
    engine = engine_of(client.ctx)
    sha = argv[1].decode("latin-1").lower()
    script: Script | None = engine.scripts.get(sha)
    if script is None:
        raise CommandError(errors.NOSCRIPT)
    return _failed_if_error(engine.eval(client, argv, script, sha, keys, args, read_only))


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

    Stops the EVAL script running past busy-reply-threshold, unless it has written (see
    :mod:`zyst.busy`)."""
    return engine_of(client.ctx).kill(is_eval=True)


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


# -- FCALL, FCALL_RO, FUNCTION ---------------------------------------------------------------------
def _fcall(client: Client, argv: list[bytes], read_only: bool) -> Reply:
    engine = engine_of(client.ctx)
    name = argv[1]
    found = engine.functions.functions.get(name.lower())
    if found is None:
        raise CommandError(errors.FUNCTION_NOT_FOUND)
    numkeys = strict_int(argv[2])
    if numkeys is None:
        raise CommandError(errors.FUNCTION_BAD_NUMKEYS)
    if numkeys > len(argv) - 3:
        raise CommandError(errors.SCRIPT_NUMKEYS_TOO_BIG)
    if numkeys < 0:
        raise CommandError(errors.SCRIPT_NUMKEYS_NEGATIVE)
    keys, args = argv[3 : 3 + numkeys], argv[3 + numkeys :]
    return _failed_if_error(engine.fcall(client, argv, found[1], keys, args, read_only))


@command(
    "fcall",
    arity=-3,
    flags=_EVAL_FLAGS,
    group="scripting",
    summary="Invoke a function",
    since="7.0.0",
    syntax="function numkeys [key [key ...]] [arg [arg ...]]",
    complexity="Depends on the function that is executed.",
    acl_categories=("slow", "scripting"),
    key_specs=(_RW_SPEC,),
)
def fcall(client: Client, argv: list[bytes]) -> Reply:
    """FCALL function numkeys [key [key ...]] [arg [arg ...]]"""
    return _fcall(client, argv, False)


@command(
    "fcall_ro",
    arity=-3,
    flags=_EVAL_RO_FLAGS,
    group="scripting",
    summary="Invoke a read-only function",
    since="7.0.0",
    syntax="function numkeys [key [key ...]] [arg [arg ...]]",
    complexity="Depends on the function that is executed.",
    acl_categories=("slow", "scripting"),
    key_specs=(_RO_SPEC,),
)
def fcall_ro(client: Client, argv: list[bytes]) -> Reply:
    """FCALL_RO function numkeys [key [key ...]] [arg [arg ...]]"""
    return _fcall(client, argv, True)


_FUNCTION = container(
    "function",
    group="scripting",
    summary="A container for function commands",
    since="7.0.0",
)


@subcommand(
    _FUNCTION,
    "load",
    arity=-3,
    flags=("write", "denyoom", "noscript"),
    summary="Create a function with the given arguments (name, code, description)",
    since="7.0.0",
    syntax="[REPLACE] function-code",
    complexity="O(1) (considering compilation time is redundant)",
    acl_categories=("write", "slow", "scripting"),
    tips=("request_policy:all_shards", "response_policy:all_succeeded"),
)
def function_load(client: Client, argv: list[bytes]) -> Reply:
    """FUNCTION LOAD [REPLACE] function-code

    A change: propagated as is, so that an AOF replay loads the library again."""
    replace = False
    position = 2
    while position < len(argv) - 1:
        word = argv[position]
        position += 1
        if option_word(word) == b"replace":
            replace = True
            continue
        raise CommandError(errors.function_unknown_option(word))
    if position >= len(argv):
        raise CommandError(errors.FUNCTION_CODE_MISSING)
    name = engine_of(client.ctx).functions.load(argv[position], replace)
    client.ctx.dirty += 1
    return name


@subcommand(
    _FUNCTION,
    "list",
    arity=-2,
    flags=("noscript",),
    summary="List information about all the functions",
    since="7.0.0",
    syntax="[LIBRARYNAME library-name-pattern] [WITHCODE]",
    complexity="O(N) where N is the number of functions",
    acl_categories=("slow", "scripting"),
    tips=("nondeterministic_output_order",),
)
def function_list(client: Client, argv: list[bytes]) -> Reply:
    """FUNCTION LIST [LIBRARYNAME library-name-pattern] [WITHCODE]"""
    with_code = False
    pattern: bytes | None = None
    position = 2
    while position < len(argv):
        word = argv[position]
        lowered = option_word(word)
        if not with_code and lowered == b"withcode":
            with_code = True
        elif pattern is None and lowered == b"libraryname":
            if position >= len(argv) - 1:
                raise CommandError(errors.FUNCTION_LIBRARY_NAME_MISSING)
            position += 1
            pattern = argv[position]
        else:
            raise CommandError(errors.function_list_unknown_argument(word))
        position += 1
    reply = []
    for library in engine_of(client.ctx).functions.libraries.values():
        if pattern is not None and not stringmatch(pattern, library.name, nocase=True):
            continue
        functions = [
            Map(
                [
                    (b"name", function.name),
                    (b"description", function.description),
                    (
                        b"flags",
                        SetReply(
                            [
                                Status(flag)
                                for flag, bit in FLAG_NAMES.items()
                                if function.flags & bit
                            ]
                        ),
                    ),
                ]
            )
            for function in library.functions.values()
        ]
        fields: list[tuple[bytes, Reply]] = [
            (b"library_name", library.name),
            (b"engine", b"LUA"),
            (b"functions", functions),
        ]
        if with_code:
            fields.append((b"library_code", library.code))
        reply.append(Map(fields))
    return reply


@subcommand(
    _FUNCTION,
    "delete",
    arity=3,
    flags=("write", "noscript"),
    summary="Delete a function by name",
    since="7.0.0",
    syntax="library-name",
    complexity="O(1)",
    acl_categories=("write", "slow", "scripting"),
    tips=("request_policy:all_shards", "response_policy:all_succeeded"),
)
def function_delete(client: Client, argv: list[bytes]) -> Reply:
    """FUNCTION DELETE library-name"""
    engine_of(client.ctx).functions.delete(argv[2])
    client.ctx.dirty += 1
    return OK


@subcommand(
    _FUNCTION,
    "flush",
    arity=-2,
    flags=("write", "noscript"),
    summary="Deleting all functions",
    since="7.0.0",
    syntax="[ASYNC | SYNC]",
    complexity="O(N) where N is the number of functions deleted",
    acl_categories=("write", "slow", "scripting"),
    tips=("request_policy:all_shards", "response_policy:all_succeeded"),
)
def function_flush(client: Client, argv: list[bytes]) -> Reply:
    """FUNCTION FLUSH [ASYNC | SYNC]"""
    if len(argv) > 3:
        raise CommandError(errors.subcommand_syntax(argv[1], "function"))
    if len(argv) == 3 and option_word(argv[2]) not in (b"async", b"sync"):
        raise CommandError(errors.FUNCTION_FLUSH_OPTION)
    engine_of(client.ctx).functions.flush()
    client.ctx.dirty += 1
    return OK


@subcommand(
    _FUNCTION,
    "dump",
    arity=2,
    flags=("noscript",),
    summary="Dump all functions into a serialized binary payload",
    since="7.0.0",
    complexity="O(N) where N is the number of functions",
    acl_categories=("slow", "scripting"),
)
def function_dump(client: Client, argv: list[bytes]) -> Reply:
    """FUNCTION DUMP

    Every library's code as an RDB function entry, with the RDB version and checksum after
    them (what FUNCTION RESTORE, here or on Redis, takes back)."""
    body = bytearray()
    for code in engine_of(client.ctx).functions.codes():
        body.append(rdb.OPCODE_FUNCTION2)
        rdb.write_string(body, code)
    return rdb.payload(body)


@subcommand(
    _FUNCTION,
    "restore",
    arity=-3,
    flags=("write", "denyoom", "noscript"),
    summary="Restore all the functions on the given payload",
    since="7.0.0",
    syntax="serialized-value [FLUSH | APPEND | REPLACE]",
    complexity="O(N) where N is the number of functions on the payload",
    acl_categories=("write", "slow", "scripting"),
    tips=("request_policy:all_shards", "response_policy:all_succeeded"),
)
def function_restore(client: Client, argv: list[bytes]) -> Reply:
    """FUNCTION RESTORE serialized-value [FLUSH | APPEND | REPLACE]

    Loads the libraries of a FUNCTION DUMP payload (APPEND by default), all or none. A change:
    propagated as is."""
    if len(argv) > 4:
        raise CommandError(errors.subcommand_syntax(argv[1], "function"))
    policy = b"append"
    if len(argv) == 4:
        policy = option_word(argv[3])
        if policy not in (b"flush", b"append", b"replace"):
            raise CommandError(errors.FUNCTION_RESTORE_POLICY)
    body = rdb.payload_body(argv[2])
    if body is None:
        raise CommandError(errors.DUMP_PAYLOAD_INVALID)
    engine_of(client.ctx).functions.restore(_payload_libraries(body), policy)
    client.ctx.dirty += 1
    return OK


def _payload_libraries(body: bytes) -> list[bytes]:
    """The library codes of a FUNCTION DUMP payload's body (Redis's ``rdbFunctionLoad``, the
    format of 7.0's release candidates included)."""
    reader = rdb.Reader(body)
    codes = []
    while reader.remaining > 0:
        try:
            kind = reader.read_type()
        except rdb.RdbError:
            raise CommandError(errors.FUNCTION_RESTORE_NO_TYPE) from None
        try:
            if kind == rdb.OPCODE_FUNCTION2:
                codes.append(reader.read_string())
            elif kind == rdb.OPCODE_FUNCTION_PRE_GA:
                name = reader.read_string()
                engine = reader.read_string()
                if reader.read_length():
                    reader.read_string()  # the description, gone from 7.0's format
                blob = reader.read_string()
                codes.append(b"#!%s name=%s\n%s" % (engine, name, blob))
            else:
                raise CommandError(errors.FUNCTION_RESTORE_NOT_A_FUNCTION)
        except rdb.RdbError:
            raise CommandError(errors.FUNCTION_RESTORE_BAD_LIBRARY) from None
    return codes


@subcommand(
    _FUNCTION,
    "stats",
    arity=2,
    flags=("noscript", "allow_busy"),
    summary="Return information about the function currently running (name, description, duration)",
    since="7.0.0",
    complexity="O(1)",
    acl_categories=("slow", "scripting"),
    tips=("nondeterministic_output", "request_policy:all_shards", "response_policy:special"),
)
def function_stats(client: Client, argv: list[bytes]) -> Reply:
    """FUNCTION STATS

    ``running_script`` names the function running past busy-reply-threshold; an EVAL script
    there gets the BUSY error instead, as in Redis."""
    engine = engine_of(client.ctx)
    run = engine.run
    if run is not None and run.is_eval:
        return ErrorReply(errors.BUSY_EVAL)
    loader = engine.functions
    counts = Map(
        [
            (b"libraries_count", len(loader.libraries)),
            (b"functions_count", len(loader.functions)),
        ]
    )
    return Map(
        [(b"running_script", engine.running_script()), (b"engines", Map([(b"LUA", counts)]))]
    )


@subcommand(
    _FUNCTION,
    "kill",
    arity=2,
    flags=("noscript", "allow_busy"),
    summary="Kill the function currently in execution.",
    since="7.0.0",
    complexity="O(1)",
    acl_categories=("slow", "scripting"),
    tips=("request_policy:all_shards", "response_policy:one_succeeded"),
)
def function_kill(client: Client, argv: list[bytes]) -> Reply:
    """FUNCTION KILL

    Stops the function running past busy-reply-threshold, unless it has written."""
    return engine_of(client.ctx).kill(is_eval=False)


_FUNCTION_HELP = [
    "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "LOAD [REPLACE] <FUNCTION CODE>",
    "    Create a new library with the given library name and code.",
    "DELETE <LIBRARY NAME>",
    "    Delete the given library.",
    "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    "    Return general information on all the libraries:",
    "    * Library name",
    "    * The engine used to run the Library",
    "    * Library description",
    "    * Functions list",
    "    * Library code (if WITHCODE is given)",
    "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
    "STATS",
    "    Return information about the current function running:",
    "    * Function name",
    "    * Command used to run the function",
    "    * Duration in MS that the function is running",
    "    If no function is running, return nil",
    "    In addition, returns a list of available engines.",
    "KILL",
    "    Kill the current running function.",
    "FLUSH [ASYNC|SYNC]",
    "    Delete all the libraries.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the libraries.",
    "    * SYNC: Synchronously flush the libraries.",
    "DUMP",
    "    Return a serialized payload representing the current libraries, can be restored using "
    "FUNCTION RESTORE command",
    "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
    "    Restore the libraries represented by the given payload, it is possible to give a "
    "restore policy to",
    "    control how to handle existing libraries (default APPEND):",
    "    * FLUSH: delete all existing libraries.",
    "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
    "    * REPLACE: appends the restored libraries to the existing libraries, On collision, "
    "replace the old",
    "      libraries with the new libraries (notice that even on this option there is a chance "
    "of failure",
    "      in case of functions name collision with another library).",
    "HELP",
    "    Prints this help.",
]


@subcommand(
    _FUNCTION,
    "help",
    arity=2,
    flags=("loading", "stale"),
    summary="Show helpful text about the different subcommands",
    since="7.0.0",
    complexity="O(1)",
    acl_categories=("slow", "scripting"),
)
def function_help(client: Client, argv: list[bytes]) -> Reply:
    """FUNCTION HELP"""
    return help_reply(_FUNCTION_HELP)
