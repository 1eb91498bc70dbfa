"""The dataset as commands: what rebuilds a keyspace from nothing.

An AOF rewrite writes its base this way when ``aof-use-rdb-preamble`` is off
(:func:`zyst.persistence.rewrite.write_base`), as Redis's ``rewriteAppendOnlyFileRio``.
Collections are written in batches of at most :data:`BATCH` elements per command, so no single
command grows without bound.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator

from zyst.keyspace import Keyspace
from zyst.numbers import format_double
from zyst.types.zset import ZSet

BATCH = 64


def dataset_commands(
    keyspace: Keyspace, after_key: Callable[[], None] | None = None
) -> Iterator[tuple[int, list[bytes]]]:
    """``(db_index, argv)`` for every key (and TTL) that has not expired yet; ``after_key()``
    is called after each key's commands (a rewrite's ``rdb-key-save-delay``)."""
    now = keyspace.clock()
    for db in keyspace.dbs:
        for key, value in list(db.data.items()):
            when = db.expires.get(key)
            if when is not None and when < now:  # past its deadline (at it, still there)
                continue
            yield from ((db.index, argv) for argv in _value_commands(key, value))
            if when is not None:
                yield db.index, [b"PEXPIREAT", key, b"%d" % when]
            if after_key is not None:
                after_key()


def _value_commands(key: bytes, value: object) -> Iterator[list[bytes]]:
    if type(value) is bytes:
        yield [b"SET", key, value]
        return
    if type(value) is bytearray:  # a string modified in place, frozen as it is now
        yield [b"SET", key, bytes(value)]
        return
    if type(value) is deque:
        name, items = b"RPUSH", list(value)
    elif type(value) is dict:
        name = b"HSET"
        items = [part for pair in value.items() for part in pair]
    elif type(value) is set:
        name, items = b"SADD", list(value)
    elif type(value) is ZSet:
        # ``%.17g`` gives back the very double when read, infinities and -0 included.
        name = b"ZADD"
        items = [part for member, score in value for part in (format_double(score), member)]
    else:  # pragma: no cover - every type is handled above
        raise TypeError(f"no command rebuilds a {type(value).__name__}")
    step = BATCH * (2 if name in (b"HSET", b"ZADD") else 1)
    for start in range(0, len(items), step):
        yield [name, key, *items[start : start + step]]
