"""A dump of a server's whole dataset, for the tests that restart a server and compare."""

from __future__ import annotations

from typing import Any

import redis

Dataset = dict[int, dict[bytes, tuple[bytes, Any, int]]]


def dump_dataset(c: redis.Redis, databases: int = 16) -> Dataset:
    """Every live key of the first ``databases`` databases: its type, its value and its absolute
    deadline in ms (-1: none). Empty databases are left out; the client ends in database 0."""
    everything: Dataset = {}
    for db in range(databases):
        c.execute_command("SELECT", db)
        keys: dict[bytes, tuple[bytes, Any, int]] = {}
        for key in c.keys("*"):
            kind = c.type(key)
            value: Any
            if kind == b"string":
                value = c.get(key)
            elif kind == b"list":
                value = c.lrange(key, 0, -1)
            elif kind == b"hash":
                value = c.hgetall(key)
            elif kind == b"set":
                value = c.smembers(key)
            elif kind == b"zset":
                value = c.execute_command("ZRANGE", key, 0, -1, "WITHSCORES")
            elif kind == b"stream":
                value = _stream(c, key)
            else:
                raise AssertionError(f"no dump for type {kind!r}")
            keys[key] = (kind, value, c.execute_command("PEXPIRETIME", key))
        if keys:
            everything[db] = keys
    c.execute_command("SELECT", 0)
    return everything


def _stream(c: redis.Redis, key: bytes) -> Any:
    """XINFO STREAM FULL (every entry and pending entry), less what a replay cannot give back
    as it was: each consumer's seen-time (replaying sees it again), and each group's read
    counters (Redis 7.0 propagates XREADGROUP as XCLAIM ... LASTID, which carries no
    entries-read: its own replay loses them too)."""
    info = c.execute_command("XINFO STREAM", key, "FULL", "COUNT", "0", full=True)
    for group in info["groups"]:
        group["entries-read"] = group["lag"] = "<not replayed>"
        for consumer in group["consumers"]:
            consumer[b"seen-time"] = "<not replayed>"
    return info
