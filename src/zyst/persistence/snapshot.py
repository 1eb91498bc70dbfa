"""The dataset as commands: what rebuilds a keyspace from nothing.

Used when the AOF is switched on at run time (``CONFIG SET appendonly yes``): the file must
start from the current data, as after a Redis AOF rewrite. Collections are written in batches
of at most :data:`BATCH` elements per command, so no single command grows without bound.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

from zyst.keyspace import Keyspace

BATCH = 64


def dataset_commands(keyspace: Keyspace) -> Iterator[tuple[int, list[bytes]]]:
    """``(db_index, argv)`` for every key (and TTL) that has not expired yet."""
    now = keyspace.clock()
    for db in keyspace.dbs:
        for key, value in list(db.data.items()):
            when = db.expires.get(key)
            if when is not None and when <= now:
                continue
            yield from ((db.index, argv) for argv in _value_commands(key, value))
            if when is not None:
                yield db.index, [b"PEXPIREAT", key, b"%d" % when]


def _value_commands(key: bytes, value: object) -> Iterator[list[bytes]]:
    if type(value) is bytes:
        yield [b"SET", key, value]
        return
    if type(value) is deque:
        name, items = b"RPUSH", list(value)
    elif type(value) is dict:
        name = b"HSET"
        items = [part for pair in value.items() for part in pair]
    elif type(value) is set:
        name, items = b"SADD", list(value)
    else:  # pragma: no cover - every type is handled above
        raise TypeError(f"no command rebuilds a {type(value).__name__}")
    step = BATCH * (2 if name == b"HSET" else 1)
    for start in range(0, len(items), step):
        yield [name, key, *items[start : start + step]]
