"""Zyst for Python programs and their tests.

- :mod:`zyst.testing.embedded`: :class:`~zyst.testing.embedded.Server` and
  :func:`~zyst.testing.embedded.serve`, a server started and stopped from Python (also exported
  as ``zyst.Server`` and ``zyst.serve``).
- :mod:`zyst.testing.pytest_plugin`: the pytest plugin (fixtures ``zyst_server``, ``zyst_url``,
  ``zyst_client``, ``zyst_async_client``, ``zyst_redis_server``, ``zyst_and_redis_client``),
  registered through the ``pytest11`` entry point: pytest loads it wherever Zyst is installed,
  so this package imports nothing until a name is asked for.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from zyst.testing.embedded import Server, ServerError, serve

__all__ = ["Server", "ServerError", "serve"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from zyst.testing import embedded

        return getattr(embedded, name)
    raise AttributeError(f"module 'zyst.testing' has no attribute {name!r}")
