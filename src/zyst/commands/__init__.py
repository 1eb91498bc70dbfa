"""Commands: the table (:mod:`zyst.commands.table`) and one module per command group.

Importing this package registers every command; adding a command means writing its handler and
its ``@command`` declaration in the group's module, nothing else.
"""

from zyst.commands import (  # noqa: F401  (imported for their declarations)
    acl,
    bitmaps,
    caching,
    cluster,
    connection,
    debug,
    geo,
    hashes,
    hll,
    introspection,
    keys,
    latency,
    lists,
    maxmemory,
    memory,
    migration,
    modules,
    monitor,
    pause,
    persistence,
    pubsub,
    replication,
    scan,
    scripting,
    server,
    sets,
    slowlog,
    sort,
    stale,
    streamgroups,
    streams,
    strings,
    transactions,
    zsets,
)
from zyst.commands.table import COMMANDS, call, lookup

__all__ = ["COMMANDS", "call", "lookup"]
