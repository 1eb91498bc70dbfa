"""Zyst: a Redis-compatible server written in Python.

Layout (each layer imports only the layers below it):

- ``cli``          command line and config file → :class:`zyst.config.Config`, then runs the server
- ``server``       listeners, event loop, cron (active expiry, fsync), startup and shutdown
- ``connection``   asyncio protocol: bytes → parser → dispatch → batched replies
- ``commands``     the command table (``commands.table``) and one module per command group
- ``propagation``  the one exit for changes: feeds the AOF, once per loop turn
- ``persistence``  the append-only file: writer and loader
- ``expiry``       the active expiry cycle
- ``protocol``     RESP request parsing (multibulk + inline) and reply encoding (RESP2/RESP3)
- ``keyspace``     the databases: typed values, TTLs, lazy expiry; no I/O
- ``config``       every setting, redis.conf parsing, CONFIG GET/SET
- ``client``, ``context``, ``errors``, ``glob``, ``numbers``  shared state and helpers at the bottom
- ``testing``      for Python programs: the embedding API (:class:`Server`, :func:`serve`) and
  the pytest plugin

``zyst.Server`` and ``zyst.serve`` are imported on first use: ``import zyst`` stays cheap.
"""

from __future__ import annotations

# (Not typing's: importing typing alone would cost `import zyst` several milliseconds.)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from zyst.testing.embedded import Server, serve

__version__ = "0.1.0"
# The Redis version Zyst reports to clients: Zyst follows Redis 7's semantics.
REDIS_VERSION = "7.0.15"

__all__ = ["REDIS_VERSION", "Server", "__version__", "serve"]


def __getattr__(name: str) -> Any:
    if name in ("Server", "serve"):
        from zyst.testing import embedded

        return getattr(embedded, name)
    raise AttributeError(f"module 'zyst' has no attribute {name!r}")
