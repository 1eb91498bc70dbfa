"""Where the server's log goes (``logfile``, ``loglevel``, ``syslog-*``), in Redis's format.

One logger, ``zyst``, with one handler writing Redis's lines (``pid:M 25 Nov 2026 11:38:58.123
* message``) to ``logfile`` or standard output, and with ``syslog-enabled yes`` a second one
sending each message to the system log (``/dev/log``) under ``syslog-ident`` and
``syslog-facility``. Levels are Redis's four: debug, verbose, notice (the default) and warning;
``CONFIG SET loglevel`` takes effect at once.

Invariants: :func:`setup_logging` runs before the process daemonizes (so a log file that cannot
be opened stops the start where the user sees it); the pid in each line is read when the line
is written, so the daemon's lines carry the daemon's pid.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
import time
from typing import TextIO

from zyst.config import Config

__all__ = ["LEVELS", "SYSLOG_ADDRESS", "RedisFormatter", "setup_logging", "syslog_handler"]

log = logging.getLogger("zyst")

LEVELS = {
    "debug": logging.DEBUG,
    "verbose": logging.INFO - 1,
    "notice": logging.INFO,
    "warning": logging.WARNING,
}
# Redis marks each log line with a character for its level.
_MARKS = {logging.DEBUG: ".", logging.INFO - 1: "-", logging.INFO: "*", logging.WARNING: "#"}
# ... and gives each level this syslog priority.
_PRIORITIES = {
    logging.DEBUG: "debug",
    logging.INFO - 1: "info",
    logging.INFO: "notice",
    logging.WARNING: "warning",
}
_FACILITIES = {"user": logging.handlers.SysLogHandler.LOG_USER} | {
    f"local{n}": logging.handlers.SysLogHandler.LOG_LOCAL0 + n for n in range(8)
}

SYSLOG_ADDRESS = "/dev/log"
"""The local syslog socket, as C's syslog() uses."""


class RedisFormatter(logging.Formatter):
    """``pid:M 25 Nov 2026 11:38:58.123 * message``, as Redis writes its log: ``M`` in the
    server's process, ``C`` in a forked child (BGSAVE, AOF rewrite)."""

    # The server's pid, set once it is final (after daemonizing); 0 until then.
    server_pid = 0

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%d %b %Y %H:%M:%S", time.localtime(record.created))
        millis = int(record.msecs)
        mark = _MARKS.get(record.levelno, "#")
        pid = os.getpid()
        role = "C" if self.server_pid and pid != self.server_pid else "M"
        return f"{pid}:{role} {stamp}.{millis:03d} {mark} {record.getMessage()}"


class _Syslog(logging.handlers.SysLogHandler):
    """The message alone, tagged ``ident[pid]:`` as syslog()'s LOG_PID option tags it, at the
    priority Redis gives the level."""

    def __init__(self, ident: str, facility: int, address: str) -> None:
        # (An absent syslog daemon is no error, as openlog() ignores it: lines are dropped.)
        super().__init__(address=address, facility=facility)
        self._ident = ident
        self._priority = "notice"
        self.append_nul = False  # (syslog() ends no message with a NUL byte)

    def mapPriority(self, levelName: str) -> str:
        # The base class maps level names; ours are numbers (verbose has no name): emit()
        # has just picked the priority from the record's level.
        return self._priority

    def handleError(self, record: logging.LogRecord) -> None:
        # No syslog daemon listening (no /dev/log): the line is dropped, as syslog() drops it,
        # instead of a traceback on standard error for each line.
        pass

    def emit(self, record: logging.LogRecord) -> None:
        # (Called under the handler's lock: the two attributes are this record's.)
        self.ident = f"{self._ident}[{os.getpid()}]: "
        self._priority = _PRIORITIES.get(record.levelno, "warning")
        super().emit(record)


def syslog_handler(config: Config, address: str = SYSLOG_ADDRESS) -> logging.Handler:
    """The handler sending the log to the system log at ``address``, as ``config`` says."""
    handler = _Syslog(config.syslog_ident, _FACILITIES[config.syslog_facility], address)
    handler.setFormatter(logging.Formatter("%(message)s"))
    return handler


def setup_logging(config: Config) -> None:
    """Point the ``zyst`` logger where ``config`` says; OSError if the log file cannot be
    opened for appending."""
    stream: TextIO
    if config.logfile:
        stream = open(config.logfile, "a", buffering=1, encoding="utf-8")  # noqa: SIM115
    else:
        stream = sys.stdout
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedisFormatter())
    handlers: list[logging.Handler] = [handler]
    if config.syslog_enabled:
        handlers.append(syslog_handler(config))
    log.handlers[:] = handlers
    log.setLevel(LEVELS.get(config.loglevel, logging.INFO))
    log.propagate = False

    def level_changed(name: str) -> None:
        log.setLevel(LEVELS.get(config.loglevel, logging.INFO))

    config.on_change("loglevel", level_changed)
