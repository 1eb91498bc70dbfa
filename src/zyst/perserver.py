"""State a feature keeps for one server without :class:`~zyst.context.ServerContext` naming it
(the scripting engine, the CLIENT PAUSE state): made on first use, kept while the context lives.

A leaf module (nothing of Zyst imported at run time), so that command modules can use it
whatever the import order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

if TYPE_CHECKING:
    from zyst.context import ServerContext

T = TypeVar("T")

# (id of the context, kind) -> (the context, its state); the context is kept to tell a new
# context that reuses a dead one's id from it.
_STATES: dict[tuple[int, type], tuple[ServerContext, Any]] = {}


def state_of(ctx: ServerContext, kind: type[T], make: Callable[[ServerContext], T]) -> T:
    """The ``kind`` of state kept for the server ``ctx``, made by ``make(ctx)`` the first
    time."""
    entry = _STATES.get((id(ctx), kind))
    if entry is None or entry[0] is not ctx:
        entry = (ctx, make(ctx))
        _STATES[(id(ctx), kind)] = entry
    return cast(T, entry[1])
