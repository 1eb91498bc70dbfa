"""Run a Zyst server whose AOF disk misbehaves on request: ``python faulty_zyst.py ARGS...``.

The test that starts it controls the faults through files in the directory named by the
``ZYST_FAULTS`` environment variable, checked at each call (no timing involved):

- ``fsync-hold``: ``os.fsync`` creates ``fsync-entered`` and waits until ``fsync-hold`` is gone;
- ``fsync-fail``: ``os.fsync`` then fails with EIO;
- ``write-hold``: a write to the AOF creates ``write-entered`` and waits until ``write-hold`` is
  gone (writes to sockets never pass through ``os.write``, so only the AOF and log are seen).

Everything else is the real server (``zyst.cli.main``), compiled modules included: they look up
``os.fsync`` and ``os.write`` on the module at each call.
"""

from __future__ import annotations

import errno
import os
import sys
import time
from pathlib import Path

FAULTS = Path(os.environ["ZYST_FAULTS"])
_real_fsync = os.fsync
_real_write = os.write


def _wait_while(flag: Path, entered: Path) -> None:
    entered.touch()
    while flag.exists():
        time.sleep(0.001)


def _fsync(fd: int) -> None:
    hold = FAULTS / "fsync-hold"
    if hold.exists():
        _wait_while(hold, FAULTS / "fsync-entered")
    if (FAULTS / "fsync-fail").exists():
        raise OSError(errno.EIO, os.strerror(errno.EIO))
    _real_fsync(fd)


def _write(fd: int, data: bytes | memoryview) -> int:
    hold = FAULTS / "write-hold"
    if hold.exists() and os.readlink(f"/proc/self/fd/{fd}").endswith(".aof"):
        _wait_while(hold, FAULTS / "write-entered")
    return _real_write(fd, data)


os.fsync = _fsync
os.write = _write

if __name__ == "__main__":
    from zyst.cli import main

    sys.exit(main(sys.argv[1:]))
