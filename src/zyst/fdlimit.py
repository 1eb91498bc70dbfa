"""The open-file limit the server needs for ``maxclients``, raised as redis-server raises it.

Every client is a file descriptor, and the server keeps :data:`RESERVED_FDS` more for its own
files (listening sockets, the AOF, snapshots, the log). :func:`adjust_open_files_limit` runs at
start and on ``CONFIG SET maxclients``: when the soft ``RLIMIT_NOFILE`` is below ``maxclients +
RESERVED_FDS`` it asks for that much (soft and hard limit alike, as Redis does), then for 16
fewer at a time down to the current limit, and keeps the first the kernel grants. When even the
best is short of the need, ``maxclients`` is what the granted limit allows, and the warnings are
Redis's. (Like Redis, it never lowers a soft limit that is already high enough; setting the hard
limit to the granted value is also Redis's doing: an unprivileged process cannot raise it again.)
"""

from __future__ import annotations

import errno
import logging
import os
import resource

__all__ = ["RESERVED_FDS", "FdLimitError", "adjust_open_files_limit"]

log = logging.getLogger("zyst")

# Redis's CONFIG_MIN_RESERVED_FDS.
RESERVED_FDS = 32
_STEP = 16


class FdLimitError(RuntimeError):
    """The limit is so low that not even one client fits (Redis exits; the text is its own)."""


def adjust_open_files_limit(maxclients: int) -> int:
    """Raise ``RLIMIT_NOFILE`` for ``maxclients`` clients if need be; returns the number of
    clients the limit now allows (``maxclients`` itself when it fits), having logged what
    Redis logs. Raises :class:`FdLimitError` when the limit leaves no room for a client."""
    need = maxclients + RESERVED_FDS
    try:
        old, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (OSError, ValueError) as exc:
        log.warning(
            "Unable to obtain the current NOFILE limit (%s), assuming 1024 and setting the max "
            "clients configuration accordingly.",
            exc,
        )
        return 1024 - RESERVED_FDS
    if old == resource.RLIM_INFINITY or old >= need:
        return maxclients
    best = need
    error = 0
    while best > old:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (best, best))
            break
        except (OSError, ValueError) as exc:
            # (Python turns setrlimit's EPERM into ValueError "not allowed to raise maximum
            # limit".)
            error = exc.errno if isinstance(exc, OSError) and exc.errno else errno.EPERM
        if best < _STEP:
            best = old
            break
        best -= _STEP
    best = max(best, old)
    if best >= need:
        log.info(
            "Increased maximum number of open files to %d (it was originally set to %d).",
            need,
            old,
        )
        return maxclients
    if best <= RESERVED_FDS:
        raise FdLimitError(
            f"Your current 'ulimit -n' of {old} is not enough for the server to start. Please "
            f"increase your open file limit to at least {need}. Exiting."
        )
    allowed = best - RESERVED_FDS
    log.warning(
        "You requested maxclients of %d requiring at least %d max file descriptors.",
        maxclients,
        need,
    )
    log.warning(
        "Server can't set maximum open files to %d because of OS error: %s.",
        need,
        os.strerror(error),
    )
    log.warning(
        "Current maximum open files is %d. maxclients has been reduced to %d to compensate for "
        "low ulimit. If you need higher maxclients increase 'ulimit -n'.",
        best,
        allowed,
    )
    return allowed
