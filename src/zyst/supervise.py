"""Telling a service manager how the server is doing (``supervised``), as Redis does.

- ``systemd``: messages to the datagram socket ``$NOTIFY_SOCKET`` names (sd_notify's protocol:
  ``STATUS=...`` while loading, ``READY=1`` once clients are served, ``STOPPING=1`` at
  shutdown). A unit with ``Type=notify`` then knows when the server is up.
- ``upstart``: the process stops itself (SIGSTOP) once started, which upstart's ``expect stop``
  waits for, and then lets it go on.
- ``auto``: upstart when ``$UPSTART_JOB`` is set, else systemd when ``$NOTIFY_SOCKET`` is.
- ``no``: nothing.

A supervised server does not daemonize, whatever ``daemonize`` says (the manager keeps it in
the foreground). Supervision belongs to the process: the mode found at start is this module's
state, which INFO's ``process_supervised`` shows.
"""

from __future__ import annotations

import logging
import os
import signal
import socket

__all__ = ["mode", "notify", "start"]

log = logging.getLogger("zyst")

_state = {"mode": "no"}


def mode() -> str:
    """``systemd``, ``upstart`` or ``no``: how this process is supervised."""
    return _state["mode"]


def notify(message: str) -> bool:
    """Send ``message`` (``READY=1``, ``STATUS=...``) to systemd when it supervises the
    process; True if sent. A failure is logged, never raised."""
    if _state["mode"] != "systemd":
        return False
    return _send(message)


def _send(message: str) -> bool:
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address:
        log.warning("systemd supervision error: NOTIFY_SOCKET not found!")
        return False
    if address.startswith("@"):
        # An abstract socket: its name starts with a NUL byte instead of the "@".
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.sendto(f"{message}\n".encode(), address)
    except OSError as exc:
        log.warning("systemd supervision error: sd_notify: %s", exc.strerror or exc)
        return False
    return True


def start(wanted: str) -> bool:
    """Set supervision up as ``supervised`` says (``wanted``); True if the process is now
    supervised (then it must not daemonize)."""
    if wanted == "auto":
        if os.environ.get("UPSTART_JOB"):
            log.log(logging.INFO - 1, "Upstart supervision detected.")
            wanted = "upstart"
        elif os.environ.get("NOTIFY_SOCKET"):
            log.log(logging.INFO - 1, "Systemd supervision detected.")
            wanted = "systemd"
    if wanted == "upstart":
        if not os.environ.get("UPSTART_JOB"):
            log.warning("upstart supervision requested, but UPSTART_JOB not found!")
            return False
        log.info("supervised by upstart, will stop to signal readiness.")
        os.kill(os.getpid(), signal.SIGSTOP)
        del os.environ["UPSTART_JOB"]
    elif wanted == "systemd":
        if not _send("STATUS=Zyst is loading..."):
            return False
        log.info(
            "Supervised by systemd. Please make sure you set appropriate values for "
            "TimeoutStartSec and TimeoutStopSec in your service unit."
        )
    else:
        return False
    _state["mode"] = wanted
    return True
