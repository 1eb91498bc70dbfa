"""One Lua interpreter of the scripting engine: the sandbox built by the prelude, and the
Python functions behind ``redis.*`` and ``math.random`` that scripts call.

Redis keeps two: one for EVAL scripts and one for FUNCTION libraries (:data:`EVAL` and
:data:`FUNCTIONS` modes). They differ in what their globals hold: the EVAL one has
``redis.breakpoint``, ``redis.debug``, ``redis.replicate_commands`` and the global error handler;
the functions one has ``redis.register_function`` while a library loads, and nothing else of the
API then (its globals read from the load-time API instead).

Lua calls these Python functions as it calls C functions, so a script's frame stays on the stack
under them, as under Redis's own. An error is raised as ``LuaError(value)``; the error handler and
``pcall`` unwrap it (:func:`unwrap_error`).
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, NoReturn

from lupa import lua51

from zyst import errors
from zyst.blocking import reply_without_waiting
from zyst.commands import guard, table
from zyst.commands.caching import script_read
from zyst.eviction import evictor_of
from zyst.protocol.resp import ErrorReply, encode_reply
from zyst.scripting import libraries, prelude
from zyst.scripting.convert import ReplyReader, error_table

if TYPE_CHECKING:
    from zyst.scripting.engine import Engine

log = logging.getLogger("zyst")

EVAL: Final = b"eval"
FUNCTIONS: Final = b"functions"

# redis.log levels (LOG_DEBUG .. LOG_WARNING) as Python logging levels.
_LOG_LEVELS: Final = (logging.DEBUG, logging.INFO, logging.INFO, logging.WARNING)

# Redis's redisLrand48: the 48-bit generator of lrand48.
_LRAND_MULTIPLIER: Final = 0x5DEECE66D
_LRAND_MASK: Final = (1 << 48) - 1


def _refuse_attributes(obj: object, name: str, is_setting: bool) -> str:
    """lupa's attribute filter: no Python attribute is reachable from Lua."""
    raise AttributeError(name)


def sha1hex(body: bytes) -> str:
    return hashlib.sha1(body).hexdigest()


class Interpreter:
    """One Lua state with Redis's sandbox, in ``mode`` (:data:`EVAL` or :data:`FUNCTIONS`).

    ``register`` receives ``redis.register_function``'s arguments while a library loads;
    ``load_expired`` says whether the load ran out of time."""

    def __init__(
        self,
        engine: Engine,
        mode: bytes,
        register: Callable[..., None] | None = None,
        load_expired: Callable[[], bool] | None = None,
    ) -> None:
        self.engine = engine
        lua = lua51.LuaRuntime(
            encoding=None,
            register_eval=False,
            register_builtins=False,
            unpack_returned_tuples=True,
            attribute_filter=_refuse_attributes,
        )
        self.lua = lua
        self.reader = ReplyReader(lua)
        self.rawget: Callable[[Any, Any], Any] = lua.eval("rawget")
        self.libraries = libraries.install(lua)
        load = lua.eval("loadstring")
        prelude_function = load(prelude.SOURCE.encode(), prelude.CHUNK.encode())
        exported = prelude_function(
            mode,
            self._redis_call,
            self._redis_pcall,
            self._redis_log,
            self._redis_setresp,
            self._redis_set_repl,
            self._redis_sha1hex,
            self._math_random,
            self._math_randomseed,
            self._known_command,
            unwrap_error,
            register if register is not None else self._no_register,
            load_expired if load_expired is not None else bool,
            engine.interrupt,
            self.libraries.table(),
        )
        self.handler = exported[b"handler"]
        self.where: Callable[[], bytes] = exported[b"where"]
        self.libraries.where = self.where
        self.set_global: Callable[[bytes, Any], None] = exported[b"set_global"]
        # run(f, handler, keys, args): {ok, value}; load(f): {ok, error} with the load API.
        self.run: Callable[..., Any] = exported[b"run"]
        self.load: Callable[[Any], Any] = exported[b"load"]
        # The wrapped loadstring scripts see (it refuses binary chunks).
        self.compile: Callable[[bytes, bytes], Any] = lua.eval("loadstring")
        self._gc_count: Callable[[], float] = lua.eval(
            "function() return collectgarbage('count') end"
        )
        # Redis's collection rhythm: an incremental step of 50 after every 50 runs (see
        # gc_after_run), so a busy interpreter's garbage does not pile up between the
        # collector's own steps; and what setting up the sandbox left is collected now.
        self._gc_step: Callable[[], None] = lua.eval("function() collectgarbage('step', 50) end")
        self._runs = 0
        lua.eval("collectgarbage('collect')")

    def gc_after_run(self) -> None:
        """Count a script or function run: every 50th is followed by a collection step."""
        self._runs += 1
        if self._runs == 50:
            self._runs = 0
            self._gc_step()

    def memory(self) -> int:
        """The bytes Lua's collector counts in this interpreter."""
        return int(self._gc_count() * 1024)

    def _no_register(self, *args: Any) -> None:
        self._fail(errors.SCRIPT_REGISTER_OUTSIDE)

    # -- what scripts call ---------------------------------------------------------------------
    # These are Python functions Lua calls as C functions, as Redis's are: an error is raised
    # as LuaError(value), which the error handler and pcall unwrap (unwrap_error).
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
        run = self.engine.run
        if run is None:
            return True, error_table(self.lua, errors.SCRIPT_CALL_OUTSIDE.encode())
        found = table.resolve(argv)
        if not isinstance(found, table.Command):
            known = table.lookup(argv[0])
            if known is not None and not known.accepts(len(argv)):
                return True, self._rejected(errors.SCRIPT_WRONG_ARITY, known)
            return True, self._rejected(errors.SCRIPT_UNKNOWN_COMMAND, None)
        flags = found.flags
        if "noscript" in flags:
            return True, self._rejected(errors.SCRIPT_NOSCRIPT_COMMAND, found)
        # The caller's user must be allowed the command, its keys and channels (as Redis checks
        # after the command's name and before writes are looked at).
        refusal = guard.script_refusal(run.caller, run.argv, found, argv)
        if refusal is not None:
            return True, self._rejected(refusal, found)
        if run.read_only and (found.write or found.name in table.MAY_REPLICATE):
            return True, self._rejected(errors.SCRIPT_WRITE_IN_READ_ONLY, found)
        ctx = self.engine.ctx
        if (
            not run.wrote
            and not run.allow_oom
            and ctx.config.maxmemory
            and evictor_of(ctx).pre_command_oom
            and "denyoom" in flags
        ):
            # Out of memory when the script started: its first write that could add memory is
            # refused; a later one is not (the script cannot stop half way).
            ctx.stats.count_error(errors.OOM)
            found.rejected_calls += 1
            return True, error_table(self.lua, b"-" + errors.OOM.encode(), from_command=True)
        if found.write:
            run.wrote = True  # from now on SCRIPT KILL can't stop it (SCRIPT_WRITE_DIRTY)
        client = self.engine.client
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
        if run.caller.tracking is not None and "readonly" in flags:
            # A tracking caller caches what the script was called with (zyst.commands.caching).
            script_read(run.caller)
        if type(reply) is ErrorReply:
            ctx.stats.count_error(reply.message)
        out: list[bytes] = []
        encode_reply(reply, client.resp3, out)
        return self.reader.read(b"".join(out))

    def _rejected(self, message: str, cmd: table.Command | None) -> Any:
        """A command the script may not run: an error for the script, a rejected call of the
        command (INFO commandstats) when there is one."""
        self.engine.ctx.stats.count_error("ERR " + message)
        if cmd is not None:
            cmd.rejected_calls += 1
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
        parts = [text for text in map(lua_text, args[1:]) if text is not None]
        log.log(_LOG_LEVELS[level], "%s", b" ".join(parts).decode("utf-8", "replace"))

    def _redis_setresp(self, *args: Any) -> None:
        """redis.setresp(2 | 3): the protocol the script's commands reply in."""
        if len(args) != 1:
            self._fail("redis.setresp() requires one argument.")
        resp = _truncate(_lua_number(args[0]) or 0)
        if resp != 2 and resp != 3:
            self._fail("RESP version must be 2 or 3.")
        self.engine.client.resp3 = resp == 3

    def _redis_set_repl(self, *args: Any) -> None:
        """redis.set_repl(flags): REPL_AOF (1) keeps the script's next writes going to the AOF."""
        if len(args) != 1:
            self._fail("redis.set_repl() requires two arguments.")
        flags = _truncate(_lua_number(args[0]) or 0)
        if flags & ~3:
            self._fail(
                "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE."
            )
        if self.engine.run is not None:
            self.engine.run.propagate = bool(flags & 1)

    def _redis_sha1hex(self, *args: Any) -> bytes:
        if len(args) != 1:
            self._fail("wrong number of arguments")
        return sha1hex(lua_text(args[0]) or b"").encode()

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
        state = (self.engine.random_state * _LRAND_MULTIPLIER + 0xB) & _LRAND_MASK
        self.engine.random_state = state
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
        self.engine.random_state = ((seed & 0xFFFFFFFF) << 16) | 0x330E

    def _known_command(self, argv_table: Any, count: int) -> int:
        """redis.acl_check_cmd's question: 0 when the command is unknown, else 1 when the
        script's caller may run it with these arguments, 2 when its ACL refuses it (nothing
        is logged)."""
        argv = [argv_table[index] for index in range(1, count + 1)]
        found = table.resolve(argv)
        if not isinstance(found, table.Command):
            return 0
        run = self.engine.run
        if run is None:
            return 1
        user = run.caller.user
        return 1 if user.unrestricted() or user.check(found, argv) is None else 2


_NO_VALUE: Final = object()
_LRAND_MAX: Final = 2**31 - 1


def unwrap_error(error: Any) -> Any:
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


def lua_text(value: Any) -> bytes | None:
    """Lua's tostring for a string or a number (``lua_tostring``); ``None`` otherwise."""
    if type(value) is bytes:
        return value
    if type(value) is int:
        return b"%d" % value
    if type(value) is float:
        return b"%.14g" % value
    return None
