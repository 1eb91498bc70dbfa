"""OBJECT FREQ and OBJECT IDLETIME after every kind of command, against real Redis 7.0: which
commands count as an access of a key (lookups, overwrites, the STORE commands) and which do not
(EXISTS, TYPE, TTL, OBJECT, SCAN's TYPE filter), and what RENAME, MOVE and COPY do to a clock.

Under ``allkeys-lfu`` with ``lfu-log-factor 0`` every access adds one to a key's counter, and
``lfu-decay-time 0`` turns decay off, so both servers' counters are exact and compared after
each command. Idle times are compared by order only (which key was accessed last), never by
how long anything took.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

import pytest

from tests.conftest import Oracle, parse_reply

# The settings these tests change, with Redis's defaults (restored afterwards).
SETTINGS = {
    "maxmemory": "0",
    "maxmemory-policy": "noeviction",
    "lfu-log-factor": "10",
    "lfu-decay-time": "1",
}


@pytest.fixture
def exact_lfu(oracle: Oracle) -> Iterator[Oracle]:
    """Both servers counting every access, no decay; Redis's defaults restored afterwards. The
    policy is set before any key exists (Zyst restarts every clock when it changes, Redis
    reads the old ones as they are)."""
    oracle.check("CONFIG", "SET", "lfu-log-factor", "0", "lfu-decay-time", "0")
    # With a memory limit, as LFU is meant to run: without one Redis shares one object among
    # the keys holding each small integer, and with it its counter.
    oracle.check("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu", "maxmemory", "1gb")
    oracle.check("FLUSHALL")
    try:
        yield oracle
    finally:
        for name, value in SETTINGS.items():
            oracle.check("CONFIG", "SET", name, value)


Cmd = Sequence[bytes | str | int]

# Each step, then the keys whose counters are compared after it.
STEPS: list[tuple[Cmd, tuple[str, ...]]] = [
    (("SET", "s", "1"), ("s",)),
    (("GET", "s"), ("s",)),
    (("GET", "s"), ("s",)),
    (("SET", "s", "2"), ("s",)),  # an overwrite counts as one access
    (("SET", "s", "3", "XX"), ("s",)),
    (("SET", "s", "4", "GET"), ("s",)),
    (("INCR", "s"), ("s",)),
    (("INCRBYFLOAT", "s", "1.5"), ("s",)),
    (("APPEND", "s", "0"), ("s",)),
    (("SETRANGE", "s", "0", "9"), ("s",)),
    (("STRLEN", "s"), ("s",)),
    (("MGET", "s", "nokey"), ("s",)),
    (("EXISTS", "s"), ("s",)),  # not accesses: EXISTS, TYPE, TTL and the like, OBJECT
    (("TYPE", "s"), ("s",)),
    (("TTL", "s"), ("s",)),
    (("PTTL", "s"), ("s",)),
    (("EXPIRETIME", "s"), ("s",)),
    (("OBJECT", "ENCODING", "s"), ("s",)),
    (("SCAN", "0", "TYPE", "hash"), ("s",)),
    (("EXPIRE", "s", "1000"), ("s",)),
    (("PERSIST", "s"), ("s",)),
    (("TOUCH", "s", "nokey"), ("s",)),
    (("RPUSH", "l", "a", "b", "c"), ("l",)),
    (("LPUSH", "l", "z"), ("l",)),
    (("LRANGE", "l", "0", "-1"), ("l",)),
    (("LPOP", "l"), ("l",)),
    (("HSET", "h", "f", "1"), ("h",)),
    (("HINCRBY", "h", "f", "2"), ("h",)),
    (("HGETALL", "h"), ("h",)),
    (("SADD", "a", "1", "2", "3"), ("a",)),
    (("SADD", "b", "2", "3", "4"), ("b",)),
    (("SINTERSTORE", "d", "a", "b"), ("a", "b", "d")),
    (("SINTERSTORE", "d", "a", "b"), ("a", "b", "d")),  # over an existing destination
    (("SUNIONSTORE", "d", "a", "b"), ("a", "b", "d")),
    (("ZADD", "z", "1", "m"), ("z",)),
    (("ZINCRBY", "z", "1", "m"), ("z",)),
    (("ZRANGE", "z", "0", "-1"), ("z",)),
    (("ZUNIONSTORE", "zd", "1", "z"), ("z", "zd")),
    (("RENAME", "s", "s2"), ("s2",)),  # the value keeps its counter
    (("RENAME", "s2", "s"), ("s",)),
    (("COPY", "s", "c"), ("s", "c")),  # the copy starts afresh
    (("COPY", "s", "c", "REPLACE"), ("s", "c")),
    (("MOVE", "c", "1"), ("s",)),
    (("SELECT", "1"), ("c",)),
    (("SELECT", "0"), ("s",)),
    (("SORT", "l", "ALPHA", "STORE", "sorted"), ("l", "sorted")),
    (("BITOP", "OR", "bits", "s"), ("s", "bits")),
    (("DEL", "s"), ("s",)),
    (("SET", "s", "again"), ("s",)),
]


def test_lfu_counters_move_as_redis_counts_accesses(exact_lfu: Oracle) -> None:
    o = exact_lfu
    counters: list[int] = []
    for command, keys in STEPS:
        o.check(*command)
        for key in keys:
            ours, theirs = o.run("OBJECT", "FREQ", key)
            assert ours == theirs, (command, key, ours, theirs)
            reply = ours
            if reply.startswith(b":"):
                counters.append(int(reply[1:-2]))
    # The scripted steps did reach keys and move their counters (a typo would compare nulls).
    assert len(counters) > 50 and max(counters) >= 10


def _idle(o: Oracle, *keys: str) -> list[list[int]]:
    """OBJECT IDLETIME of ``keys``, read in one pipeline on each server: [ours, theirs]."""
    per_key = [o.run("OBJECT", "IDLETIME", key) for key in keys]
    return [[int(parse_reply(raw[server])) for raw in per_key] for server in (0, 1)]


def test_idle_times_grow_and_accesses_reset_them(oracle: Oracle) -> None:
    o = oracle
    # Not integers: Redis would share one object between them (and its clock).
    o.check("SET", "old", "v")
    o.check("RPUSH", "read", "x")
    o.check("SET", "written", "v")
    o.check("SET", "peeked", "v")
    # Wait until the last key set is 2 seconds idle on both servers: every key is then at least
    # that idle, and a key accessed afterwards is strictly less idle than "old" (whole seconds).
    deadline = time.monotonic() + 60
    while min(_idle(o, "peeked")[server][0] for server in (0, 1)) < 2:
        assert time.monotonic() < deadline, "idle times do not grow"
        time.sleep(0.2)
    for command in (
        ("EXISTS", "peeked"),
        ("TYPE", "peeked"),
        ("TTL", "peeked"),
        ("OBJECT", "ENCODING", "peeked"),
        ("LRANGE", "read", "0", "-1"),
        ("APPEND", "written", "2"),
    ):
        o.check(*command)
    # SCAN's TYPE filter looks at each key's type without accessing it (key order may differ).
    ours, theirs = (sorted(parse_reply(raw)[1]) for raw in o.run("SCAN", "0", "TYPE", "string"))
    assert ours == theirs == [b"old", b"peeked", b"written"]
    for old, read, written, peeked in _idle(o, "old", "read", "written", "peeked"):
        assert read < old and written < old, (old, read, written)
        assert peeked >= 2  # looked at, never accessed
