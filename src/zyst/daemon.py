"""Running in the background (``daemonize yes``) and the pid file (``pidfile``), as redis-server.

Invariants: :func:`daemonize` runs before anything starts a thread or an event loop; the pid
file is written by the process that serves, once its listening sockets are open, and removed
by that process only.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys

__all__ = ["DEFAULT_PIDFILE", "daemonize", "remove_pidfile", "write_pidfile"]

log = logging.getLogger("zyst")

DEFAULT_PIDFILE = "/var/run/zyst.pid"
"""Where a daemonized server without a ``pidfile`` writes its pid (Redis: /var/run/redis.pid)."""


def daemonize() -> bool:
    """Fork. In the parent, return True: it has nothing left to do but exit 0. In the child,
    return False as the leader of a new session, with standard input, output and error on
    /dev/null (so a log on standard output goes nowhere, as Redis's does)."""
    sys.stdout.flush()
    sys.stderr.flush()
    if os.fork() != 0:
        return True
    os.setsid()
    with contextlib.suppress(OSError):
        null = os.open(os.devnull, os.O_RDWR)
        for target in (0, 1, 2):
            os.dup2(null, target)
        if null > 2:
            os.close(null)
    return False


def write_pidfile(path: str) -> bool:
    """Write this process's pid to ``path``, best effort (a failure is logged); True if written."""
    try:
        with open(path, "w", encoding="ascii") as fh:
            fh.write(f"{os.getpid()}\n")
    except OSError as exc:
        log.warning("Failed to write PID file: %s", exc.strerror)
        return False
    return True


def remove_pidfile(path: str) -> None:
    log.info("Removing the pid file.")
    with contextlib.suppress(OSError):
        os.unlink(path)
