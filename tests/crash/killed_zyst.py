"""Run a Zyst server that kills itself (SIGKILL) at a chosen step of an AOF rewrite:
``ZYST_KILL_AT=<call>:<path part>:<nth>:<before|after> python killed_zyst.py ARGS...``.

``<call>`` is ``rename`` or ``unlink``; the server dies just before (or just after) the
``<nth>`` call of ``os.<call>`` in the server process whose source path contains ``<path part>``
(a forked child is never killed). Nothing else changes: compiled modules look ``os.rename`` and
``os.unlink`` up on the module at each call, so they see these.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from typing import Any

_call, _part, _nth, _when = os.environ["ZYST_KILL_AT"].split(":")
_SERVER = os.getpid()
_seen = 0


def _watch(real: Callable[..., Any]) -> Callable[..., Any]:
    def call(path: Any, *args: Any, **kwargs: Any) -> Any:
        global _seen
        hit = os.getpid() == _SERVER and _part in os.fsdecode(path)
        if hit:
            _seen += 1
            hit = _seen == int(_nth)
        if hit and _when == "before":
            os.kill(_SERVER, signal.SIGKILL)
        result = real(path, *args, **kwargs)
        if hit:
            os.kill(_SERVER, signal.SIGKILL)
        return result

    return call


setattr(os, _call, _watch(getattr(os, _call)))

if __name__ == "__main__":
    from zyst.cli import main

    sys.exit(main(sys.argv[1:]))
