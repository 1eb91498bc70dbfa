"""The one forked child: background work that needs a frozen copy of the dataset (BGSAVE, the AOF
rewrite), as Redis runs it.

Why a fork
    ``fork()`` gives the child the parent's memory as it is at that instant, shared page by page
    until one side writes to a page (copy-on-write). The child walks that frozen dataset and
    writes it out while the parent goes on serving: no lock, no copy up front, and what the child
    sees is exactly the dataset at the fork.

What copy-on-write costs a Python process
    In C, the child only reads the dataset, so only the pages the *parent* writes get copied. In
    CPython merely reading an object writes its reference count, so the child dirties every page
    holding an object it visits: its private memory grows towards the size of what it writes.
    This module keeps the rest small: the child disables the cyclic garbage collector (whose
    passes would touch every tracked object's header), and the server freezes what it loaded
    (``gc.freeze``) so the parent's collections skip those objects too. The child reports its
    ``Private_Dirty`` (from ``/proc/self/smaps_rollup``, as Redis reads it) while it works and
    when it ends: INFO's ``current_cow_size`` and ``*_last_cow_size``.

Invariants
    * At most one child at a time (Redis's ``hasActiveChildProcess``): :meth:`Children.start`
      refuses a second one; callers schedule their work for later instead.
    * The child never returns into the server: it runs ``work`` and leaves with ``os._exit``
      (0 on success, 1 if ``work`` raised), so no ``atexit`` hook, buffered file or event loop
      of the parent's runs twice.
    * The child closes every listening socket it inherited (and runs ``child_setup``, where the
      server closes its data-directory lock): a parent killed while a child runs can be
      restarted on the same port and directory at once.
    * The parent learns of the end in :meth:`Children.poll` (the cron), :meth:`Children.kill`
      or :meth:`Children.wait`, and calls the owner's ``on_done`` exactly once per child.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import signal
import socket
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

log = logging.getLogger("zyst")

# The child tells the parent how far it is this often (reading smaps costs ~1 ms).
_PROGRESS_INTERVAL: Final = 1.0


@dataclass(frozen=True, slots=True)
class ChildResult:
    """How a child ended. ``ok``: it exited with 0. ``killed``: the parent ended it on purpose
    (:meth:`Children.kill`: SIGUSR1, which Redis also counts as no failure of the work itself).
    ``cow_bytes``: the child's private dirty memory when it last reported."""

    kind: str
    pid: int
    ok: bool
    killed: bool
    exit_code: int
    seconds: float
    cow_bytes: int


def private_dirty_bytes() -> int:
    """This process's ``Private_Dirty`` memory, in bytes (0 where /proc does not say)."""
    try:
        with open("/proc/self/smaps_rollup", "rb") as smaps:
            for line in smaps:
                if line.startswith(b"Private_Dirty:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


class Children:
    """The server's forked child, if one runs. One per server (``ServerContext.children``)."""

    def __init__(self, child_setup: Callable[[], None] | None = None) -> None:
        self.child_setup = child_setup
        self.kind: str | None = None
        self.pid = -1
        self.started = 0.0
        self.total_forks = 0
        self.latest_fork_usec = 0
        # What the running child last reported: units of work done, of how many, its COW bytes,
        # and when (time.time()) it reported them.
        self.processed = 0
        self.total = 0
        self.cow_bytes = 0
        self.cow_peak = 0
        self.cow_updated = 0.0
        self._on_done: Callable[[ChildResult], None] | None = None
        self._pipe = -1
        self._pending = b""
        # In the child: the pipe to the parent.
        self._report_fd = -1

    # -- parent side -----------------------------------------------------------------------
    def start(
        self, kind: str, work: Callable[[], None], on_done: Callable[[ChildResult], None]
    ) -> int:
        """Fork a child that runs ``work()``; returns its pid. ``on_done`` is called in this
        process once the child has ended. Raises RuntimeError if a child already runs, OSError
        if the fork fails (nothing is left behind then)."""
        if self.kind is not None:
            raise RuntimeError(f"a {self.kind} child (pid {self.pid}) is already running")
        read_fd, write_fd = os.pipe()
        began = time.monotonic()
        try:
            pid = os.fork()
        except OSError:
            os.close(read_fd)
            os.close(write_fd)
            raise
        if pid == 0:  # pragma: no cover - runs in the child, which leaves by os._exit
            os.close(read_fd)
            self._run_child(kind, work, write_fd)
        os.close(write_fd)
        os.set_blocking(read_fd, False)
        self.latest_fork_usec = int((time.monotonic() - began) * 1_000_000)
        self.total_forks += 1
        self.kind = kind
        self.pid = pid
        self.started = time.time()
        self.processed = self.total = self.cow_bytes = self.cow_peak = 0
        self.cow_updated = self.started
        self._on_done = on_done
        self._pipe = read_fd
        self._pending = b""
        log.info("Background %s started by pid %d", kind, pid)
        return pid

    def poll(self) -> None:
        """Read the child's reports; if it has ended, reap it and call its ``on_done``."""
        if self.pid < 0:
            return
        self._read_reports()
        try:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:  # reaped elsewhere: it is gone, how is unknown
            self._finish(1, killed=False)
            return
        if pid == 0:
            return
        self._finish(status, killed=False)

    def kill(self) -> None:
        """End the running child (SIGUSR1, as Redis's ``killRDBChild``) and reap it."""
        if self.pid < 0:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGUSR1)
        self._reap_blocking(killed=True)

    def wait(self) -> None:
        """Block until the running child ends, then reap it."""
        if self.pid >= 0:
            self._reap_blocking(killed=False)

    def _reap_blocking(self, killed: bool) -> None:
        try:
            _, status = os.waitpid(self.pid, 0)
        except ChildProcessError:
            status = 1 << 8
        self._read_reports()
        self._finish(status, killed=killed)

    def _read_reports(self) -> None:
        while True:
            try:
                chunk = os.read(self._pipe, 4096)
            except BlockingIOError:
                break
            except OSError:
                break
            if not chunk:
                break
            self._pending += chunk
        *lines, self._pending = self._pending.split(b"\n")
        for line in lines:
            parts = line.split()
            if len(parts) == 3 and all(part.isdigit() for part in parts):
                self.processed, self.total, self.cow_bytes = map(int, parts)
                self.cow_peak = max(self.cow_peak, self.cow_bytes)
                self.cow_updated = time.time()

    def _finish(self, status: int, killed: bool) -> None:
        try:
            code = os.waitstatus_to_exitcode(status)
        except ValueError:
            code = 1
        # SIGUSR1 is how a child is ended on purpose (by us, or by an operator, as in Redis).
        killed = killed or code == -signal.SIGUSR1
        result = ChildResult(
            kind=self.kind or "",
            pid=self.pid,
            ok=code == 0,
            killed=killed,
            exit_code=code,
            seconds=time.time() - self.started,
            cow_bytes=self.cow_bytes,
        )
        with contextlib.suppress(OSError):
            os.close(self._pipe)
        on_done = self._on_done
        self.kind = None
        self.pid = -1
        self._pipe = -1
        self._on_done = None
        if code == 0:
            log.info("Background %s child %d done", result.kind, result.pid)
        elif killed:
            log.warning("Background %s child %d terminated on purpose", result.kind, result.pid)
        else:
            log.warning("Background %s child %d failed (exit %d)", result.kind, result.pid, code)
        if on_done is not None:
            on_done(result)

    # -- child side ------------------------------------------------------------------------
    def cow_fields(self) -> list[tuple[str, int]]:
        """INFO persistence's ``current_cow_*`` fields: the running child's copy-on-write
        memory as it last reported it, its peak, and the seconds since that report (zeros
        when no child runs, as in Redis)."""
        if self.pid < 0:
            return [("current_cow_peak", 0), ("current_cow_size", 0), ("current_cow_size_age", 0)]
        age = int(time.time() - self.cow_updated) if self.cow_bytes else 0
        return [
            ("current_cow_peak", self.cow_peak),
            ("current_cow_size", self.cow_bytes),
            ("current_cow_size_age", age),
        ]

    def progress(self, processed: int, total: int) -> None:
        """Called by ``work`` in the child as it goes: how far it is. The child's reporter
        thread sends the latest figures (and the COW memory) to the parent once a second.
        Costs two stores; does nothing useful in the parent."""
        self.processed, self.total = processed, total

    def _report(self) -> None:
        line = b"%d %d %d\n" % (self.processed, self.total, private_dirty_bytes())
        with contextlib.suppress(OSError):
            os.write(self._report_fd, line)

    def _reporter(self) -> None:  # pragma: no cover - a thread of the child
        while True:
            time.sleep(_PROGRESS_INTERVAL)
            self._report()

    def _run_child(  # pragma: no cover - runs in the child
        self, kind: str, work: Callable[[], None], write_fd: int
    ) -> None:
        code = 1
        label = {"rdb": "RDB", "aof": "AOF rewrite"}.get(kind, kind)
        try:
            self._report_fd = write_fd
            self.processed = self.total = 0
            gc.disable()
            # The parent's signal handlers write to its event loop's wakeup pipe, which this
            # process shares: undo them. SIGUSR1 (the parent ending us) and SIGTERM end us.
            with contextlib.suppress(ValueError, OSError):
                signal.set_wakeup_fd(-1)
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1):
                signal.signal(sig, signal.SIG_DFL)
            _close_listening_sockets()
            if self.child_setup is not None:
                self.child_setup()
            threading.Thread(target=self._reporter, daemon=True).start()
            work()
            code = 0
            log.info(
                "Fork CoW for %s: current %d MB", label, private_dirty_bytes() // (1024 * 1024)
            )
        except BaseException as exc:
            # (The server's log format has no room for a traceback: the reason goes inline.)
            log.warning("Background %s child failed: %s", label, exc)
        finally:
            self._report()
            with contextlib.suppress(Exception):
                for handler in log.handlers:
                    handler.flush()
            os._exit(code)


def _close_listening_sockets() -> None:  # pragma: no cover - runs in the child
    """Close every inherited listening socket, whoever made it (asyncio and uvloop may hold
    duplicates of the server's sockets)."""
    try:
        fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        return
    for fd in fds:
        try:
            if not stat.S_ISSOCK(os.fstat(fd).st_mode):
                continue
            sock = socket.socket(fileno=fd)
        except OSError:
            continue
        try:
            listening = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
        except OSError:
            listening = 0
        if listening:
            sock.close()
        else:
            sock.detach()
