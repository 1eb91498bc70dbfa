"""The Lua interpreter of one server, its script cache, and running a script (Redis's
``eval.c``, ``script.c`` and ``script_lua.c``).

One :class:`Engine` per server context (:func:`engine_of`). Its interpreter lives until
``SCRIPT FLUSH``, which starts a fresh one; scripts compiled by ``EVAL`` or ``SCRIPT LOAD`` stay in
it (by SHA1) until then. A script runs to completion with the server's own commands, through
:func:`zyst.commands.table.call`, as a client of its own (:attr:`Engine.client`) that starts each
run in the caller's database and in RESP2; what it selects or switches to stays its own.

Invariants: at most one script runs at a time (:attr:`Engine.run` is set exactly while one does);
every write it makes is propagated between one ``begin_atomic``/``end_atomic`` pair, so an AOF
replays a script all or nothing; a script never waits (a blocking command answers at once).
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, NoReturn

from lupa import lua51

from zyst import errors
from zyst.blocking import reply_without_waiting
from zyst.client import Client
from zyst.commands import table
from zyst.errors import CommandError
from zyst.protocol.inline import split_args
from zyst.protocol.resp import ErrorReply, encode_reply
from zyst.scripting import libraries, prelude
from zyst.scripting.convert import ReplyReader, error_table, lua_to_reply

if TYPE_CHECKING:
    from zyst.context import ServerContext

log = logging.getLogger("zyst")

# Script flags (the shebang's ``flags=``), as Redis names them.
NO_WRITES: Final = 1
ALLOW_OOM: Final = 2
ALLOW_STALE: Final = 4
NO_CLUSTER: Final = 8
ALLOW_CROSS_SLOT: Final = 16
# No shebang: an EVAL script of Redis 6 (its flags come from its commands, not declared).
COMPAT: Final = 32
FLAG_NAMES: Final = {
    b"no-writes": NO_WRITES,
    b"allow-oom": ALLOW_OOM,
    b"allow-stale": ALLOW_STALE,
    b"no-cluster": NO_CLUSTER,
    b"allow-cross-slot-keys": ALLOW_CROSS_SLOT,
}

# redis.log levels (LOG_DEBUG .. LOG_WARNING) as Python logging levels.
_LOG_LEVELS: Final = (logging.DEBUG, logging.INFO, logging.INFO, logging.WARNING)

# Redis's redisLrand48: the 48-bit generator of lrand48, started from the same state.
_LRAND_MULTIPLIER: Final = 0x5DEECE66D
_LRAND_MASK: Final = (1 << 48) - 1
_LRAND_START: Final = 0x1234ABCD330E


def _refuse_attributes(obj: object, name: str, is_setting: bool) -> str:
    """lupa's attribute filter: no Python attribute is reachable from Lua."""
    raise AttributeError(name)


def sha1hex(body: bytes) -> str:
    return hashlib.sha1(body).hexdigest()


def script_flags(body: bytes) -> tuple[int, int]:
    """The flags a script's ``#!lua flags=...`` line declares (:data:`COMPAT` without one) and
    the length of that line, which is not compiled (its line feed is, to keep line numbers).
    Raises :class:`CommandError` with Redis's message for a bad line."""
    if not body.startswith(b"#!"):
        return COMPAT, 0
    end = body.find(b"\n")
    if end < 0:
        raise CommandError(errors.SCRIPT_SHEBANG)
    parts = split_args(body[:end])
    if not parts:
        raise CommandError(errors.SCRIPT_SHEBANG_ENGINE)
    if parts[0] != b"#!lua":
        raise CommandError(errors.script_unexpected_engine(parts[0]))
    flags = 0
    for part in parts[1:]:
        if not part.startswith(b"flags="):
            raise CommandError(errors.script_unknown_option(part))
        for name in part[6:].split(b",") if part[6:] else ():
            flag = FLAG_NAMES.get(name)
            if flag is None:
                raise CommandError(errors.script_unexpected_flag(name))
            flags |= flag
    return flags, end


@dataclass(slots=True)
class Script:
    """A compiled EVAL script: its body (for the cache), its flags and its Lua function."""

    body: bytes
    flags: int
    function: Any


class Run:
    """One script running: who called it, what it may do, and what it did so far."""

    __slots__ = ("caller", "funcname", "propagate", "read_only", "wrote")

    def __init__(self, caller: Client, funcname: str, read_only: bool) -> None:
        self.caller = caller
        self.funcname = funcname
        self.read_only = read_only
        self.wrote = False
        # redis.set_repl: whether the script's writes still reach the AOF.
        self.propagate = True


class Engine:
    """A server's Lua interpreter, its scripts and the client they run commands as."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.client = Client(ctx, 0)
        self.client.name = b""
        self.run: Run | None = None
        self.scripts: dict[str, Script] = {}
        self.random_state = _LRAND_START
        self._start_interpreter()

    # -- the interpreter ----------------------------------------------------------------------
    def _start_interpreter(self) -> None:
        lua = lua51.LuaRuntime(
            encoding=None,
            register_eval=False,
            register_builtins=False,
            unpack_returned_tuples=True,
            attribute_filter=_refuse_attributes,
        )
        self.lua = lua
        self.reader = ReplyReader(lua)
        raw_rawget = lua.eval("rawget")
        self.rawget: Callable[[Any, Any], Any] = raw_rawget
        self.libraries = libraries.install(lua)
        load = lua.eval("loadstring")
        prelude_function = load(prelude.SOURCE.encode(), prelude.CHUNK.encode())
        handler, set_global, where = prelude_function(
            self._redis_call,
            self._redis_pcall,
            self._redis_log,
            self._redis_setresp,
            self._redis_set_repl,
            self._redis_sha1hex,
            self._math_random,
            self._math_randomseed,
            self._known_command,
            _unwrap_error,
            self.libraries.table(),
        )
        self.libraries.where = where
        self.where: Callable[[], bytes] = where
        self.set_global: Callable[[bytes, Any], None] = set_global
        self.protected_call: Callable[..., Any] = lua.eval(
            "function(f, handler) local ok, v = xpcall(f, handler) return {ok, v} end"
        )
        self.handler = handler
        # The wrapped loadstring scripts see (it refuses binary chunks).
        self.compile: Callable[[bytes, bytes], Any] = lua.eval("loadstring")

    def flush(self) -> None:
        """SCRIPT FLUSH: forget every script and start a fresh interpreter."""
        self.scripts.clear()
        self._start_interpreter()

    # -- the script cache ---------------------------------------------------------------------
    def create(self, body: bytes) -> str:
        """Compile ``body`` into the cache unless it is there; its SHA1 (Redis's
        ``luaCreateFunction``). Raises :class:`CommandError` when it does not compile."""
        sha = sha1hex(body)
        if sha in self.scripts:
            return sha
        flags, shebang = script_flags(body)
        result = self.compile(body[shebang:], b"@user_script")
        if type(result) is tuple:
            message = result[1] if len(result) > 1 else b""
            raise CommandError(errors.script_compile(message))
        self.scripts[sha] = Script(body, flags, result)
        return sha

    # -- running ------------------------------------------------------------------------------
    def eval(
        self,
        caller: Client,
        script: Script,
        sha: str,
        keys: list[bytes],
        args: list[bytes],
        read_only: bool,
    ) -> Any:
        """Run ``script`` for ``caller`` with KEYS and ARGV; its reply (Redis's
        ``evalGenericCommand`` once the script is found)."""
        refusal = self._refusal(script.flags, read_only)
        if refusal is not None:
            return ErrorReply(refusal)
        declared_read_only = not script.flags & COMPAT and script.flags & NO_WRITES
        run = Run(caller, sha, read_only or bool(declared_read_only))
        self.set_global(b"KEYS", self.lua.table_from(keys))
        self.set_global(b"ARGV", self.lua.table_from(args))
        return self._run(run, script.function)

    def _refusal(self, flags: int, read_only: bool) -> str | None:
        """Why a script with ``flags`` may not start (Redis's ``scriptPrepareForRun``)."""
        if flags & COMPAT:
            return None
        if not flags & NO_WRITES:
            if self.ctx.write_refusal is not None:
                return errors.script_misconf(self.ctx.write_refusal)
            if read_only:
                return errors.SCRIPT_WRITE_FLAG_RO
        return None

    def _run(self, run: Run, function: Any) -> Any:
        ctx = self.ctx
        client = self.client
        client.db = run.caller.db
        client.resp3 = False
        self.run = run
        ctx.begin_atomic()
        try:
            outcome = self.protected_call(function, self.handler)
        finally:
            ctx.end_atomic()
            self.run = None
        ok = self.rawget(outcome, 1)
        value = self.rawget(outcome, 2)
        if ok:
            return lua_to_reply(value, client.resp3, self.rawget)
        return self._error_reply(run, value)

    def _error_reply(self, run: Run, value: Any) -> ErrorReply:
        """The reply to a script that raised ``value`` (Redis's ``luaCallFunction``)."""
        if lua51.lua_type(value) != "table":
            text = value if type(value) is bytes else b"execution failure"
            return ErrorReply(errors.script_run_failed(run.funcname, text[:100].decode("latin-1")))
        message = self.rawget(value, b"err")
        source = self.rawget(value, b"source")
        line = self.rawget(value, b"line")
        text = _lua_text(message) or b""
        if source is not None and line is not None:
            text += b" script: %s, on %s:%s." % (
                run.funcname.encode(),
                _lua_text(source) or b"",
                _lua_text(line) or b"",
            )
        return ErrorReply(text.decode("latin-1"))

    # -- what scripts call ---------------------------------------------------------------------
    # These are Python functions Lua calls as C functions, as Redis's are: an error is raised
    # as LuaError(value), which the error handler and pcall unwrap (_unwrap_error).
    def _fail(self, message: str) -> NoReturn:
        raise lua51.LuaError(error_table(self.lua, message.encode()))

    def _redis_call(self, *args: Any) -> Any:
        """redis.call(command, arg, ...): the command's reply; its error is raised."""
        failed, value = self._command(args)
        if failed:
            raise lua51.LuaError(value)
        return value

    def _redis_pcall(self, *args: Any) -> Any:
        """redis.pcall(command, arg, ...): the command's reply, an error as {err=...}."""
        return self._command(args)[1]

    def _command(self, args: tuple[Any, ...]) -> tuple[bool, Any]:
        if not args:
            return True, error_table(self.lua, errors.SCRIPT_NO_ARGUMENTS.encode())
        argv: list[bytes] = []
        for arg in args:
            kind = type(arg)
            if kind is bytes:
                argv.append(arg)
            elif kind is int or kind is float:
                # Redis prints numbers with %.17g (Lua's own %.14g would lose digits).
                argv.append(b"%.17g" % arg)
            else:
                return True, error_table(self.lua, errors.SCRIPT_BAD_ARGUMENTS.encode())
        try:
            return self._run_command(argv)
        except Exception as exc:  # a bug must surface as a script error, not a lupa one
            log.exception("redis.call failed", exc_info=exc)
            return True, error_table(self.lua, b"internal error in redis.call")

    def _run_command(self, argv: list[bytes]) -> tuple[bool, Any]:
        run = self.run
        if run is None:
            return True, error_table(self.lua, errors.SCRIPT_CALL_OUTSIDE.encode())
        found = table.resolve(argv)
        if not isinstance(found, table.Command):
            known = table.lookup(argv[0])
            message = (
                errors.SCRIPT_WRONG_ARITY
                if known is not None and not known.accepts(len(argv))
                else errors.SCRIPT_UNKNOWN_COMMAND
            )
            return True, self._rejected(message)
        flags = found.flags
        if "noscript" in flags:
            return True, self._rejected(errors.SCRIPT_NOSCRIPT_COMMAND)
        if run.read_only and (found.write or "may_replicate" in flags):
            return True, self._rejected(errors.SCRIPT_WRITE_IN_READ_ONLY)
        if found.write:
            run.wrote = True
        ctx = self.ctx
        client = self.client
        if run.propagate:
            reply = table.call(client, argv)
        else:
            propagating = ctx.propagating
            ctx.propagating = False
            try:
                reply = table.call(client, argv)
            finally:
                ctx.propagating = propagating
        reply = reply_without_waiting(reply)
        if type(reply) is ErrorReply:
            ctx.stats.count_error(reply.message)
        out: list[bytes] = []
        encode_reply(reply, client.resp3, out)
        return self.reader.read(b"".join(out))

    def _rejected(self, message: str) -> Any:
        self.ctx.stats.count_error("ERR " + message)
        return error_table(self.lua, message.encode(), from_command=True)

    def _redis_log(self, *args: Any) -> None:
        """redis.log(level, message, ...)"""
        if len(args) < 2:
            self._fail("redis.log() requires two arguments or more.")
        level = _lua_number(args[0])
        if level is None:
            self._fail("First argument must be a number (log level).")
        level = _truncate(level)
        if not 0 <= level <= 3:
            self._fail("Invalid debug level.")
        parts = [text for text in map(_lua_text, args[1:]) if text is not None]
        log.log(_LOG_LEVELS[level], "%s", b" ".join(parts).decode("utf-8", "replace"))

    def _redis_setresp(self, *args: Any) -> None:
        """redis.setresp(2 | 3): the protocol the script's commands reply in."""
        if len(args) != 1:
            self._fail("redis.setresp() requires one argument.")
        resp = _truncate(_lua_number(args[0]) or 0)
        if resp != 2 and resp != 3:
            self._fail("RESP version must be 2 or 3.")
        self.client.resp3 = resp == 3

    def _redis_set_repl(self, *args: Any) -> None:
        """redis.set_repl(flags): REPL_AOF (1) keeps the script's next writes going to the AOF."""
        if len(args) != 1:
            self._fail("redis.set_repl() requires two arguments.")
        flags = _truncate(_lua_number(args[0]) or 0)
        if flags & ~3:
            self._fail(
                "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE."
            )
        if self.run is not None:
            self.run.propagate = bool(flags & 1)

    def _redis_sha1hex(self, *args: Any) -> bytes:
        if len(args) != 1:
            self._fail("wrong number of arguments")
        return sha1hex(_lua_text(args[0]) or b"").encode()

    def _bad_argument(self, index: int, function: str, problem: str) -> NoReturn:
        where = self.where()
        raise lua51.LuaError(where + f"bad argument #{index} to '{function}' ({problem})".encode())

    def _checkint(self, args: tuple[Any, ...], index: int, function: str) -> int:
        value = args[index - 1] if index <= len(args) else _NO_VALUE
        number = None if value is _NO_VALUE else _lua_number(value)
        if number is None:
            got = "no value" if value is _NO_VALUE else _lua_type_name(value)
            self._bad_argument(index, function, f"number expected, got {got}")
        return _truncate(number)

    def _math_random(self, *args: Any) -> float:
        """math.random([m [, n]]) drawing from Redis's lrand48."""
        state = (self.random_state * _LRAND_MULTIPLIER + 0xB) & _LRAND_MASK
        self.random_state = state
        r = ((state >> 17) % _LRAND_MAX) / _LRAND_MAX
        if not args:
            return r
        if len(args) == 1:
            upper = self._checkint(args, 1, "random")
            if upper < 1:
                self._bad_argument(1, "random", "interval is empty")
            return math.floor(r * upper) + 1
        if len(args) == 2:
            lower = self._checkint(args, 1, "random")
            upper = self._checkint(args, 2, "random")
            if lower > upper:
                self._bad_argument(2, "random", "interval is empty")
            return math.floor(r * (upper - lower + 1)) + lower
        raise lua51.LuaError(self.where() + b"wrong number of arguments")

    def _math_randomseed(self, *args: Any) -> None:
        seed = self._checkint(args, 1, "randomseed")
        self.random_state = ((seed & 0xFFFFFFFF) << 16) | 0x330E

    def _known_command(self, argv_table: Any, count: int) -> bool:
        argv = [argv_table[index] for index in range(1, count + 1)]
        return isinstance(table.resolve(argv), table.Command)


_NO_VALUE: Final = object()
_LRAND_MAX: Final = 2**31 - 1


def _unwrap_error(error: Any) -> Any:
    """The Lua value a Python function raised as ``LuaError(value)`` (for pcall and the error
    handler); the text of any other exception."""
    if isinstance(error, lua51.LuaError) and error.args:
        return error.args[0]
    if isinstance(error, BaseException):
        return str(error).encode()
    return error


def _lua_number(value: Any) -> float | None:
    """Lua's tonumber for a value a Python function got: numbers, and strings that read as one."""
    kind = type(value)
    if kind is int or kind is float:
        return float(value)
    if kind is bytes and b"_" not in value:
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _truncate(number: float) -> int:
    """A C cast of a double to an integer (toward zero; 0 for what does not fit)."""
    if math.isnan(number) or math.isinf(number):
        return 0
    return int(number)


def _lua_type_name(value: Any) -> str:
    kind = type(value)
    if kind is bytes:
        return "string"
    if kind is bool:
        return "boolean"
    if value is None:
        return "nil"
    return str(lua51.lua_type(value) or "userdata")


def _lua_text(value: Any) -> bytes | None:
    """Lua's tostring for a string or a number (``lua_tostring``); ``None`` otherwise."""
    if type(value) is bytes:
        return value
    if type(value) is int:
        return b"%d" % value
    if type(value) is float:
        return b"%.14g" % value
    return None


_ENGINES: dict[int, tuple[ServerContext, Engine]] = {}


def engine_of(ctx: ServerContext) -> Engine:
    """The scripting engine of the server ``ctx``, made on first use."""
    entry = _ENGINES.get(id(ctx))
    if entry is None or entry[0] is not ctx:
        entry = (ctx, Engine(ctx))
        _ENGINES[id(ctx)] = entry
    return entry[1]
