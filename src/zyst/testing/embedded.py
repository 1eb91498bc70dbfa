"""Zyst inside a Python program: :class:`Server` starts a server, tells its address and stops it.

Two ways to run it, same settings and same server code:

- ``mode="thread"`` (the default): the server runs in a daemon thread of this process, on an
  event loop of its own. Starting takes milliseconds. The process-wide things a server normally
  owns stay with the host: no signal handlers are installed, the ``zyst`` logger gets one handler
  per embedded server (writing ``zyst.log`` in the data directory) and nothing is frozen in the
  garbage collector. Several servers may run at once, each in its own thread.
- ``mode="subprocess"``: ``python -m zyst`` in a child process, stopped with SIGTERM. For servers
  that fork (BGSAVE, AOF rewrites) or must not share the host's GIL.

Invariants: :meth:`Server.start` returns only once the server accepts connections (or raises
:class:`ServerError` with the end of its log); :meth:`Server.stop` returns only once the server
has closed its sockets and released its data directory, and is safe to call twice or after the
server shut itself down (``SHUTDOWN``). Without ``dir`` the data lives in a temporary directory
removed at stop; without ``persistence`` nothing is written there but the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self

if TYPE_CHECKING:
    import redis

    from zyst.server import Server as _RunningServer

Mode = Literal["thread", "subprocess"]
# A setting's value as the command line would give it: ``True``/``False`` are yes/no, a
# sequence is several words (``save=["3600", "1"]``).
SettingValue = str | int | bool | Sequence[str]

_PORT_LINE = re.compile(rb"Running mode=standalone, port=(\d+)\.")
_LOG_NAME = "zyst.log"
# How long a subprocess may take to start or stop before it is given up (a hung child, not a
# slow one: a big AOF loads well within this).
_SUBPROCESS_DEADLINE = 120.0

# Threads of the embedded servers running now: each one's log handler takes the records of its
# own thread and of threads no embedded server owns (background fsyncs and the like).
_server_threads: set[int] = set()


class _LoggerLevel:
    """The ``zyst`` logger's level, lowered to let the embedded servers' lines through while
    any runs, and given back to the host when the last one stops."""

    def __init__(self) -> None:
        self.users = 0
        self.host_level = logging.NOTSET
        self.lock = threading.Lock()

    def acquire(self, level: int) -> None:
        logger = logging.getLogger("zyst")
        with self.lock:
            if self.users == 0:
                self.host_level = logger.level
            self.users += 1
            if logger.level == logging.NOTSET or logger.level > level:
                logger.setLevel(level)

    def release(self) -> None:
        with self.lock:
            self.users -= 1
            if self.users == 0:
                logging.getLogger("zyst").setLevel(self.host_level)


_logger_level = _LoggerLevel()


class ServerError(RuntimeError):
    """The server could not start (the message ends with its log)."""


def _words(value: SettingValue) -> list[str]:
    if isinstance(value, bool):
        return ["yes" if value else "no"]
    if isinstance(value, int | str):
        return [str(value)]
    return [str(word) for word in value]


class _OwnThread(logging.Filter):
    """Lets through the records of one server's thread, and of threads no server owns."""

    def __init__(self, ident: int) -> None:
        super().__init__()
        self.ident = ident

    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread == self.ident or record.thread not in _server_threads


class Server:
    """A Zyst server for a program or a test session; a context manager, sync or async.

    ``Server(...)`` only records the settings: ``start()`` (or ``with``/``async with``) runs it.

    - ``port``: TCP port on ``host``, 0 for a free one (the real one is :attr:`port` once
      started), ``None`` for no TCP listener (then give ``unixsocket``).
    - ``unixsocket``: path of a Unix socket to listen on as well (or only).
    - ``dir``: the data directory (kept); default a temporary one, removed at :meth:`stop`.
    - ``persistence``: keep the AOF (``appendonly yes``) and Zyst's ``save`` schedule; without
      it, neither (a pure in-memory server).
    - ``settings``: any other settings, by their redis.conf names (``{"maxmemory": "10mb",
      "requirepass": "secret"}``); they win over the ones above.
    - ``config_file``: a redis.conf-syntax file read before all of these.
    - ``mode``: ``"thread"`` or ``"subprocess"`` (see the module's docstring).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int | None = 0,
        unixsocket: str | os.PathLike[str] | None = None,
        dir: str | os.PathLike[str] | None = None,
        persistence: bool = False,
        settings: Mapping[str, SettingValue] | None = None,
        config_file: str | os.PathLike[str] | None = None,
        mode: Mode = "thread",
    ) -> None:
        if mode not in ("thread", "subprocess"):
            raise ValueError(f"mode must be 'thread' or 'subprocess', not {mode!r}")
        if port is None and unixsocket is None:
            raise ValueError("a server with no TCP port needs a unixsocket")
        if mode == "subprocess" and _words((settings or {}).get("loglevel", "")) == ["warning"]:
            # (The child's port and readiness are read from its log, at the notice level.)
            raise ValueError("mode='subprocess' needs a loglevel of notice or more verbose")
        self.host = host
        self.mode: Mode = mode
        self.persistence = persistence
        self.unixsocket = os.fspath(unixsocket) if unixsocket is not None else None
        self._wanted_port = port
        self._given_dir = os.fspath(dir) if dir is not None else None
        self._settings = dict(settings or {})
        self._config_file = os.fspath(config_file) if config_file is not None else None
        self._dir: str | None = None
        self._port: int | None = None
        # thread mode
        self._thread: threading.Thread | None = None
        self._running: _RunningServer | None = None
        self._handler: logging.Handler | None = None
        self._exit_code: int | None = None
        # subprocess mode
        self._proc: subprocess.Popen[bytes] | None = None

    # -- what a client needs ---------------------------------------------------------------
    @property
    def port(self) -> int:
        """The TCP port the server listens on (ServerError before start or without TCP)."""
        if self._port is None:
            raise ServerError("the server is not listening on TCP (not started, or port=None)")
        return self._port

    @property
    def dir(self) -> Path:
        """The data directory (also where ``zyst.log`` is)."""
        if self._dir is None:
            raise ServerError("the server is not started")
        return Path(self._dir)

    @property
    def log_path(self) -> Path:
        return self.dir / _LOG_NAME

    @property
    def url(self) -> str:
        """``redis://host:port`` (``unix:///path`` for a server without TCP), for
        ``redis.from_url`` and most Redis clients."""
        if self._port is None and self.unixsocket is not None and self.running:
            return f"unix://{os.path.abspath(self.unixsocket)}"
        return f"redis://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        if self._thread is not None:
            return self._thread.is_alive() and self._running is not None
        return self._proc is not None and self._proc.poll() is None

    def client(self, **kwargs: Any) -> redis.Redis:
        """A redis-py client of this server (redis-py must be installed); ``kwargs`` go to
        ``redis.Redis`` (``protocol=3``, ``decode_responses=True``, ``db=1``, ...)."""
        import redis

        if self._port is None and self.unixsocket is not None:
            return redis.Redis(unix_socket_path=self.unixsocket, **kwargs)
        return redis.Redis(host=self.host, port=self.port, **kwargs)

    # -- lifecycle ---------------------------------------------------------------------------
    def argv(self) -> list[str]:
        """The server's command line (without the program), as ``zyst`` would take it."""
        if self._dir is None:
            raise ServerError("the server is not started")
        args = [] if self._config_file is None else [self._config_file]
        if self._wanted_port is None:
            args += ["--port", "0", "--bind", ""]
        else:
            args += ["--port", str(self._wanted_port), "--bind", self.host]
        args += ["--dir", self._dir]
        if self.unixsocket is not None:
            args += ["--unixsocket", self.unixsocket]
        if not self.persistence:
            args += ["--appendonly", "no", "--save", ""]
        for name, value in self._settings.items():
            args += [f"--{name}", *_words(value)]
        return args

    def start(self) -> Self:
        """Run the server; returns once it accepts connections. ServerError if it cannot."""
        if self.running:
            return self
        self._exit_code = None
        self._dir = self._given_dir or tempfile.mkdtemp(prefix="zyst-")
        os.makedirs(self._dir, exist_ok=True)
        try:
            if self.mode == "thread":
                self._start_thread()
            else:
                self._start_subprocess()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Shut the server down (saving first under ``persistence`` with a ``save`` schedule,
        as SHUTDOWN does) and wait until it has; remove the temporary data directory."""
        if self._thread is not None:
            self._stop_thread()
        if self._proc is not None:
            self._stop_subprocess()
        self._port = None
        if self._dir is not None and self._given_dir is None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        # Started in a worker thread: the caller's event loop keeps running meanwhile.
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)

    def __repr__(self) -> str:
        where = self.url if self.running else "stopped"
        return f"<zyst.Server {self.mode} {where}>"

    # -- in a thread -------------------------------------------------------------------------
    def _start_thread(self) -> None:
        # Imported here: `import zyst` must not pull in the server stack.
        from zyst.cli import parse_args
        from zyst.config import ConfigError
        from zyst.logsetup import LEVELS as _LEVELS
        from zyst.logsetup import RedisFormatter as _RedisFormatter
        from zyst.server import run

        try:
            config = parse_args(self.argv())
        except ConfigError as exc:
            raise ServerError(exc.message) from None
        serving = threading.Event()

        def on_serving(server: _RunningServer) -> None:
            self._running = server
            serving.set()

        def main() -> None:
            ident = threading.get_ident()
            _server_threads.add(ident)
            handler.addFilter(_OwnThread(ident))
            try:
                self._exit_code = run(config, on_serving)
            except BaseException:
                logging.getLogger("zyst").exception("the embedded server failed")
                self._exit_code = 1
            finally:
                _server_threads.discard(ident)
                serving.set()

        handler = logging.FileHandler(self.log_path, encoding="utf-8")
        handler.setFormatter(_RedisFormatter())
        level = _LEVELS.get(config.loglevel, logging.INFO)
        handler.setLevel(level)
        _logger_level.acquire(level)
        logging.getLogger("zyst").addHandler(handler)
        self._handler = handler
        self._thread = threading.Thread(target=main, name="zyst-server", daemon=True)
        self._thread.start()
        # No deadline: loading a big dataset takes what it takes, and a failed start ends the
        # thread, which sets the event too.
        serving.wait()
        running = self._running
        if running is None:
            self._thread.join()
            raise ServerError(
                f"the server did not start (exit code {self._exit_code}):\n{self._log_tail()}"
            )
        self._port = running.ctx.tcp_port if self._wanted_port is not None else None

    def _stop_thread(self) -> None:
        thread, running = self._thread, self._running
        if thread is None:
            return
        if running is not None and running.loop is not None and thread.is_alive():
            save = None if self.persistence else False
            # (RuntimeError: the loop closed meanwhile, the server is stopping anyway.)
            with contextlib.suppress(RuntimeError):
                running.loop.call_soon_threadsafe(running.ctx.request_shutdown, save, True)
        thread.join()
        self._thread = self._running = None
        if self._handler is not None:
            logging.getLogger("zyst").removeHandler(self._handler)
            _logger_level.release()
            self._handler.close()
            self._handler = None

    # -- in a child process ------------------------------------------------------------------
    def _start_subprocess(self) -> None:
        argv = [sys.executable, "-m", "zyst", *self.argv()]
        # (A data directory used before has the earlier runs' lines in its log.)
        start = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + _SUBPROCESS_DEADLINE
        while True:
            with open(self.log_path, "rb") as log:
                log.seek(start)
                match = _PORT_LINE.search(log.read())
            if match is not None:
                break
            if self._proc.poll() is not None:
                raise ServerError(
                    f"the server did not start (exit code {self._proc.returncode}):\n"
                    + self._log_tail()
                )
            if time.monotonic() > deadline:
                raise ServerError(f"the server did not start in time:\n{self._log_tail()}")
            time.sleep(0.01)
        self._port = int(match.group(1)) if self._wanted_port is not None else None

    def _stop_subprocess(self) -> None:
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=_SUBPROCESS_DEADLINE)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._proc = None

    def _log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def serve(
    *,
    host: str = "127.0.0.1",
    port: int | None = 0,
    unixsocket: str | os.PathLike[str] | None = None,
    dir: str | os.PathLike[str] | None = None,
    persistence: bool = False,
    settings: Mapping[str, SettingValue] | None = None,
    config_file: str | os.PathLike[str] | None = None,
    mode: Mode = "thread",
) -> Server:
    """A started :class:`Server` (same arguments): ``with zyst.serve() as server: ...`` stops it
    at the end of the block; without ``with``, call ``server.stop()``."""
    return Server(
        host=host,
        port=port,
        unixsocket=unixsocket,
        dir=dir,
        persistence=persistence,
        settings=settings,
        config_file=config_file,
        mode=mode,
    ).start()
