"""The scripting engine of one server: its two Lua interpreters, the EVAL script cache, the
FUNCTION libraries, and running a script or a function (Redis's ``eval.c``, ``script.c``,
``functions.c`` and the run part of ``script_lua.c``).

One :class:`Engine` per server context (:func:`engine_of`). The EVAL interpreter lives until
``SCRIPT FLUSH``, which starts a fresh one; scripts compiled by ``EVAL`` or ``SCRIPT LOAD`` stay in
it (by SHA1) until then. Libraries live in the other interpreter until ``FUNCTION FLUSH`` or their
``FUNCTION DELETE``. A script or function runs to completion with the server's own commands,
through :func:`zyst.commands.table.call`, as a client of its own (:attr:`Engine.client`) that
starts each run in the caller's database and in RESP2; what it selects or switches to stays its
own.

Invariants: at most one script runs at a time (:attr:`Engine.run` is set exactly while one does);
every write it makes is propagated between one ``begin_atomic``/``end_atomic`` pair, so an AOF
replays a script all or nothing; a script never waits (a blocking command answers at once).
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from lupa import lua51

from zyst import busy, errors
from zyst.client import Client
from zyst.commands import modes
from zyst.commands.table import Reply
from zyst.errors import CommandError
from zyst.eviction import evictor_of
from zyst.perserver import state_of
from zyst.protocol.inline import split_args
from zyst.protocol.resp import OK, ErrorReply, Map
from zyst.scripting.convert import lua_to_reply
from zyst.scripting.flags import ALLOW_OOM, COMPAT, FLAG_NAMES, NO_WRITES
from zyst.scripting.functions import Function, LibraryLoader
from zyst.scripting.interpreter import EVAL, Interpreter, lua_text, sha1hex

if TYPE_CHECKING:
    from zyst.context import ServerContext

log = logging.getLogger("zyst")

_RECURSION_LIMIT: Final = 20_000

# Redis's lrand48 state at start (math.random's sequence, shared by scripts and functions).
_LRAND_START: Final = 0x1234ABCD330E


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
    """One script or function running: who called it (with which command), what it may do,
    and what has become of it (:mod:`zyst.busy`)."""

    __slots__ = (
        "allow_oom",
        "argv",
        "caller",
        "funcname",
        "is_eval",
        "killed",
        "propagate",
        "read_only",
        "shutdown",
        "started",
        "timed_out",
        "wrote",
    )

    def __init__(
        self, caller: Client, argv: list[bytes], funcname: str, read_only: bool, is_eval: bool
    ) -> None:
        self.caller = caller
        self.argv = argv
        self.funcname = funcname
        self.read_only = read_only
        self.is_eval = is_eval
        # redis.set_repl: whether the script's writes still reach the AOF.
        self.propagate = True
        self.started = time.monotonic()
        # Past busy-reply-threshold; asked to stop (SCRIPT KILL, FUNCTION KILL, SHUTDOWN
        # NOSAVE: the latter also sets ``shutdown``); ran a write command (then it can't be
        # killed, but by SHUTDOWN NOSAVE).
        self.timed_out = False
        self.killed = False
        self.shutdown = False
        self.wrote = False
        # Declared allow-oom: its commands run whatever the memory (SCRIPT_ALLOW_OOM).
        self.allow_oom = False


class Engine:
    """A server's Lua interpreters, its scripts and libraries, and the client they run
    commands as."""

    def __init__(self, ctx: ServerContext) -> None:
        # A script's reply may nest arrays up to Redis's Lua stack limit (about 8000 deep), and
        # converting and encoding it recurses once per level.
        sys.setrecursionlimit(max(sys.getrecursionlimit(), _RECURSION_LIMIT))
        self.ctx = ctx
        self.client = Client(ctx, 0)
        self.client.mode = modes.SCRIPT
        self.run: Run | None = None
        self.scripts: dict[str, Script] = {}
        self.random_state = _LRAND_START
        self.interpreter = Interpreter(self, EVAL)
        self.functions = LibraryLoader(self)

    def flush(self) -> None:
        """SCRIPT FLUSH: forget every script and start a fresh EVAL interpreter."""
        self.scripts.clear()
        self.interpreter = Interpreter(self, EVAL)

    # -- the script cache ---------------------------------------------------------------------
    def create(self, body: bytes) -> str:
        """Compile ``body`` into the cache unless it is there; its SHA1 (Redis's
        ``luaCreateFunction``). Raises :class:`CommandError` when it does not compile."""
        sha = sha1hex(body)
        if sha in self.scripts:
            return sha
        flags, shebang = script_flags(body)
        result = self.interpreter.compile(body[shebang:], b"@user_script")
        if type(result) is tuple:
            message = result[1] if len(result) > 1 else b""
            raise CommandError(errors.script_compile(message))
        self.scripts[sha] = Script(body, flags, result)
        return sha

    # -- running ------------------------------------------------------------------------------
    def eval(
        self,
        caller: Client,
        argv: list[bytes],
        script: Script,
        sha: str,
        keys: list[bytes],
        args: list[bytes],
        read_only: bool,
    ) -> Any:
        """Run ``script`` for ``caller`` with KEYS and ARGV; its reply (Redis's
        ``evalGenericCommand`` once the script is found)."""
        refusal = self.refusal(script.flags, read_only)
        if refusal is not None:
            return ErrorReply(refusal)
        declared_read_only = not script.flags & COMPAT and script.flags & NO_WRITES
        run = Run(caller, argv, sha, read_only or bool(declared_read_only), True)
        run.allow_oom = not script.flags & COMPAT and bool(script.flags & ALLOW_OOM)
        interpreter = self.interpreter
        interpreter.set_global(b"KEYS", interpreter.lua.table_from(keys))
        interpreter.set_global(b"ARGV", interpreter.lua.table_from(args))
        return self._run(run, interpreter, script.function, None)

    def fcall(
        self,
        caller: Client,
        argv: list[bytes],
        function: Function,
        keys: list[bytes],
        args: list[bytes],
        read_only: bool,
    ) -> Any:
        """Run ``function`` for ``caller`` with its keys and arguments (Redis's
        ``fcallCommand``)."""
        refusal = self.refusal(function.flags, read_only)
        if refusal is not None:
            return ErrorReply(refusal)
        read_only = read_only or bool(function.flags & NO_WRITES)
        run = Run(caller, argv, function.name.decode("latin-1"), read_only, False)
        run.allow_oom = bool(function.flags & ALLOW_OOM)
        interpreter = self.functions.interpreter
        lua = interpreter.lua
        return self._run(
            run, interpreter, function.callback, (lua.table_from(keys), lua.table_from(args))
        )

    def refusal(self, flags: int, read_only: bool) -> str | None:
        """Why a script with ``flags`` may not start (Redis's ``scriptPrepareForRun``)."""
        if flags & COMPAT:
            return None
        if not flags & NO_WRITES:
            if self.ctx.write_refusal is not None:
                # A script that may write counts as a write command (Redis's
                # scriptFlagsToCmdFlags), refused before it runs with the plain MISCONF.
                return self.ctx.write_refusal
            if read_only:
                return errors.SCRIPT_WRITE_FLAG_RO
            if (
                not flags & ALLOW_OOM
                and self.ctx.config.maxmemory
                and evictor_of(self.ctx).pre_command_oom
            ):
                return errors.SCRIPT_OOM
        return None

    def _run(
        self, run: Run, interpreter: Interpreter, function: Any, arguments: tuple[Any, Any] | None
    ) -> Any:
        ctx = self.ctx
        client = self.client
        client.db = run.caller.db
        client.resp3 = False
        self.run = run
        ctx.begin_atomic()
        try:
            if arguments is None:
                outcome = interpreter.run(function, interpreter.handler)
            else:
                outcome = interpreter.run(function, interpreter.handler, *arguments)
        finally:
            if run.shutdown:
                ctx.discard_atomic()
            else:
                ctx.end_atomic()
            self.run = None
            if run.timed_out:
                busy.leave(ctx)
            interpreter.gc_after_run()
        rawget = interpreter.rawget
        if rawget(outcome, 1):
            return lua_to_reply(rawget(outcome, 2), client.resp3, rawget, 0, self._error_made)
        return self._error_reply(run, interpreter, rawget(outcome, 2))

    # -- a script that runs long (zyst.busy) -----------------------------------------------
    def interrupt(self) -> bool:
        """The count hook's question, every 100,000 Lua instructions: whether the running
        script must stop. Past busy-reply-threshold it first serves the other clients (Redis's
        ``scriptInterrupt``)."""
        run = self.run
        if run is None:
            return False
        ctx = self.ctx
        if not run.timed_out:
            elapsed_ms = (time.monotonic() - run.started) * 1000
            if elapsed_ms < ctx.config.busy_reply_threshold:
                return False
            log.warning(
                "Slow script detected: still in execution after %d milliseconds. You can try "
                "killing the script using the %s command. Script name is: %s.",
                elapsed_ms,
                "SCRIPT KILL" if run.is_eval else "FUNCTION KILL",
                run.funcname,
            )
            run.timed_out = True
            busy.enter(ctx, run)
        pump = ctx.busy_pump
        if pump is not None:
            pump.step(run.caller)
        return run.killed

    def kill(self, is_eval: bool) -> Reply:
        """SCRIPT KILL (``is_eval``) or FUNCTION KILL, from another client while a script is
        busy (Redis's ``scriptKill``)."""
        run = self.run
        if run is None:
            return ErrorReply(errors.SCRIPT_KILL_NOT_BUSY)
        if run.wrote:
            return ErrorReply(errors.SCRIPT_UNKILLABLE)
        if run.is_eval != is_eval:
            return ErrorReply(busy.busy_error(run))
        run.killed = True
        return OK

    def stop_for_shutdown(self) -> None:
        """SHUTDOWN NOSAVE while a script is busy: it stops, and nothing it wrote stays."""
        run = self.run
        if run is not None:
            run.killed = run.shutdown = True

    def running_script(self) -> Reply:
        """FUNCTION STATS's ``running_script``: the function running, or None."""
        run = self.run
        if run is None:
            return None
        return Map(
            [
                (b"name", run.funcname.encode("latin-1")),
                (b"command", list(run.argv)),
                (b"duration_ms", int((time.monotonic() - run.started) * 1000)),
            ]
        )

    def _error_reply(self, run: Run, interpreter: Interpreter, value: Any) -> ErrorReply:
        """The reply to a script that raised ``value`` (Redis's ``luaCallFunction``)."""
        if lua51.lua_type(value) != "table":
            text = value if type(value) is bytes else b"execution failure"
            return ErrorReply(errors.script_run_failed(run.funcname, text[:100].decode("latin-1")))
        rawget = interpreter.rawget
        message = rawget(value, b"err")
        source = rawget(value, b"source")
        line = rawget(value, b"line")
        text = lua_text(message) or b""
        if rawget(value, b"ignore_error_stats_update") is True:
            # The command's error was counted when it failed: the caller, which counts every
            # error reply it sends, must not count it twice (ERR_REPLY_FLAG_NO_STATS_UPDATE).
            self._uncount(text.decode("latin-1"))
        if source is not None and line is not None:
            text += b" script: %s, on %s:%s." % (
                run.funcname.encode("latin-1"),
                lua_text(source) or b"",
                lua_text(line) or b"",
            )
        return ErrorReply(text.decode("latin-1"))

    def _error_made(self, message: str, counted: bool, nested: bool) -> None:
        """Keep the error statistics as Redis does for a script's reply: every error reply
        counts once. The caller counts the reply itself when it is an error, not what is
        inside an array; a command's error was counted when it failed."""
        if nested and not counted:
            self.ctx.stats.count_error(message)
        elif counted and not nested:
            self._uncount(message)

    def _uncount(self, message: str) -> None:
        """Take back in advance the count of an error reply the caller will count."""
        stats = self.ctx.stats
        code = errors.error_code(message)
        stats.total_error_replies -= 1
        stats.error_codes[code] = stats.error_codes.get(code, 0) - 1


def engine_of(ctx: ServerContext) -> Engine:
    """The scripting engine of the server ``ctx``, made on first use."""
    return state_of(ctx, Engine, Engine)
