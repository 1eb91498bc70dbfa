"""The cluster group's commands a server outside cluster mode has (Redis's ``cluster.c``).

Zyst has no cluster mode, so these answer as Redis does with ``cluster-enabled no``: READONLY
and READWRITE refuse with "This instance has cluster support disabled". They exist so that
clients probing for a cluster, and ACL rules naming them (``+readonly``), behave as with Redis.
"""

from __future__ import annotations

from zyst.client import Client
from zyst.commands.table import Reply, command
from zyst.errors import CLUSTER_DISABLED
from zyst.protocol.resp import ErrorReply

_DISABLED = ErrorReply(CLUSTER_DISABLED)


@command(
    "readonly",
    arity=1,
    flags=("loading", "stale", "fast"),
    group="cluster",
    summary="Enables read queries for a connection to a cluster replica node",
    since="3.0.0",
    complexity="O(1)",
    acl_categories=("fast", "connection"),
)
def readonly(client: Client, argv: list[bytes]) -> Reply:
    """READONLY

    Outside cluster mode: Redis's error, nothing changes.
    """
    return _DISABLED


@command(
    "readwrite",
    arity=1,
    flags=("loading", "stale", "fast"),
    group="cluster",
    summary="Disables read queries for a connection to a cluster replica node",
    since="3.0.0",
    complexity="O(1)",
    acl_categories=("fast", "connection"),
)
def readwrite(client: Client, argv: list[bytes]) -> Reply:
    """READWRITE

    Outside cluster mode: Redis's error, nothing changes.
    """
    return _DISABLED
