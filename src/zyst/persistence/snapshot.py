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
from zyst.types.stream import Stream, format_id
from zyst.types.streamgroups import sorted_groups
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
    if type(value) is Stream:
        yield from _stream_commands(key, value)
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


def _stream_commands(key: bytes, stream: Stream) -> Iterator[list[bytes]]:
    """What Redis's ``rewriteStreamObject`` writes: an XADD per entry (an empty stream as
    ``XADD key MAXLEN 0 0-1 x y``), XSETID with the counters, then per group XGROUP CREATE
    with its read counter, and per consumer an XCLAIM ... JUSTID FORCE for each pending entry
    (one with none: XGROUP CREATECONSUMER)."""
    if stream.length:
        for sid, fields in stream.entries():
            yield [b"XADD", key, format_id(sid), *fields]
    else:
        yield [b"XADD", key, b"MAXLEN", b"0", b"0-1", b"x", b"y"]
    yield [
        b"XSETID",
        key,
        format_id(stream.last_id),
        b"ENTRIESADDED",
        b"%d" % stream.entries_added,
        b"MAXDELETEDID",
        format_id(stream.max_deleted_id),
    ]
    if not stream.groups:
        return
    for name, group in sorted_groups(stream.groups):
        yield [
            b"XGROUP",
            b"CREATE",
            key,
            name,
            format_id(group.last_id),
            b"ENTRIESREAD",
            b"%d" % group.entries_read,
        ]
        for consumer in group.sorted_consumers():
            if not consumer.pending:
                yield [b"XGROUP", b"CREATECONSUMER", key, name, consumer.name]
                continue
            for sid, nack in consumer.pending.items():
                yield [
                    b"XCLAIM",
                    key,
                    name,
                    consumer.name,
                    b"0",
                    format_id(sid),
                    b"TIME",
                    b"%d" % nack.delivery_time_ms,
                    b"RETRYCOUNT",
                    b"%d" % nack.delivery_count,
                    b"JUSTID",
                    b"FORCE",
                ]
