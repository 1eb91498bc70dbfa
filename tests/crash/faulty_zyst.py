"""Run a Zyst server whose AOF disk misbehaves on request: ``python faulty_zyst.py ARGS...``.

The test that starts it controls the faults through files in the directory named by the
``ZYST_FAULTS`` environment variable, checked at each call (no timing involved):

- ``fsync-hold``: ``os.fsync`` creates ``fsync-entered`` and waits until ``fsync-hold`` is gone;
- ``fsync-fail``: ``os.fsync`` then fails with EIO;
- ``write-hold``: a write to the AOF creates ``write-entered`` and waits until ``write-hold`` is
  gone (writes to sockets never pass through ``os.write``, so only the AOF and log are seen);
- ``rename-fail``: ``os.rename`` then fails with EIO.

A fault file that is not empty holds an ``fnmatch`` pattern: the fault then applies only to the
files whose path matches it (for ``fsync-*``, the path of the descriptor; for ``rename-fail``,
the destination), e.g. ``*/appendonlydir`` for the directory's fsync alone.

Everything else is the real server (``zyst.cli.main``), compiled modules included: they look up
``os.fsync`` and ``os.write`` on the module at each call.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import sys
import time
from pathlib import Path

FAULTS = Path(os.environ["ZYST_FAULTS"])
_real_fsync = os.fsync
_real_write = os.write
_real_rename = os.rename


def _wait_while(flag: Path, entered: Path) -> None:
    entered.touch()
    while flag.exists():
        time.sleep(0.001)


def _applies(fault: Path, path: str | os.PathLike[str] | None) -> bool:
    """Whether ``fault`` is on for ``path`` (None: resolved only when the file has a pattern)."""
    try:
        pattern = fault.read_text().strip()
    except FileNotFoundError:
        return False
    if not pattern:
        return True
    return path is not None and fnmatch.fnmatch(os.fspath(path), pattern)


def _fd_path(fd: int) -> str:
    return os.readlink(f"/proc/self/fd/{fd}")


def _fsync(fd: int) -> None:
    hold = FAULTS / "fsync-hold"
    if hold.exists() and _applies(hold, _fd_path(fd)):
        _wait_while(hold, FAULTS / "fsync-entered")
    fail = FAULTS / "fsync-fail"
    if fail.exists() and _applies(fail, _fd_path(fd)):
        raise OSError(errno.EIO, os.strerror(errno.EIO))
    _real_fsync(fd)


def _write(fd: int, data: bytes | memoryview) -> int:
    hold = FAULTS / "write-hold"
    if hold.exists() and os.readlink(f"/proc/self/fd/{fd}").endswith(".aof"):
        _wait_while(hold, FAULTS / "write-entered")
    return _real_write(fd, data)


def _rename(src: str, dst: str, **kwargs: object) -> None:
    fail = FAULTS / "rename-fail"
    if fail.exists() and _applies(fail, dst):
        raise OSError(errno.EIO, os.strerror(errno.EIO))
    _real_rename(src, dst, **kwargs)  # type: ignore[arg-type]


os.fsync = _fsync
os.write = _write
os.rename = _rename

if __name__ == "__main__":
    from zyst.cli import main

    sys.exit(main(sys.argv[1:]))
