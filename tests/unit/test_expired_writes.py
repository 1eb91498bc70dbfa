"""Every command that names a key, run on a key whose time has come but which nothing has
removed yet: it must behave exactly as if the key were missing (Redis's lazy expiry applies to
every lookup, writes included), and the removal must leave for the AOF as ``DEL`` before the
command itself.

Handlers run in-process with a settable clock, so "expired but still stored" is a state the
test builds on purpose, not a race against the active cycle. Each case runs twice: once on a
keyspace holding the expired key, once on an empty one; the reply bytes (RESP2 and RESP3), the
stored data and TTLs, and what was propagated must agree. The socket-level counterpart,
against redis-server, is ``tests/oracle/test_expired_keys_oracle.py``.
"""

from __future__ import annotations

from typing import Any

import pytest

import zyst.commands  # noqa: F401  (registers every command)
from zyst.blocking import Blocked
from zyst.client import Client
from zyst.commands import table
from zyst.config import Config
from zyst.context import ServerContext
from zyst.persistence import rdb
from zyst.protocol.resp import encode_reply

NOW = 1_700_000_000_000  # Unix ms when the keys are written
DEADLINE = NOW + 1_000  # when they expire
LATER = NOW + 10_000_000  # an absolute time well after the deadline, for the *AT commands

Command = tuple[str | int, ...]

# One expiring key ``k`` of each type; ``7`` so that INCR on a key that wrongly survived gives
# 8 rather than 1, and collections whose members the commands below touch.
SEEDS: dict[str, Command] = {
    "string": ("SET", "k", "7"),
    "list": ("RPUSH", "k", "a", "b", "c"),
    "hash": ("HSET", "k", "f", "1", "g", "2"),
    "set": ("SADD", "k", "a", "b", "c"),
    "zset": ("ZADD", "k", "1", "a", "2", "b", "3", "c"),
    "stream": ("XADD", "k", "1-1", "a", "1"),
}

# SET's options, alone and in the combinations that take a path of their own.
SET_OPTIONS = (
    "",
    "NX",
    "XX",
    "GET",
    "NX GET",
    "XX GET",
    "KEEPTTL",
    "EX 5",
    "PX 5000",
    "XX KEEPTTL",
)
# GETEX's options with a relative expiry, and none.
GETEX_OPTIONS = ("", "EX 5", "PX 5000", "PERSIST")
# The counts a pop may take: none, zero, fewer than the collection holds, more.
POP_COUNTS: tuple[tuple[str, ...], ...] = ((), ("0",), ("2",), ("9",))


def _restorable() -> str:
    """A DUMP payload (of a short string) whose bytes are all ASCII, so that it can stand in a
    command of text words."""
    for number in range(100_000):
        payload = rdb.payload(b"\x00\x06v%05d" % number)
        if payload.isascii():
            return payload.decode()
    raise AssertionError("no ASCII payload found")


RESTORABLE = _restorable()

# The set algebra's STORE forms, each run with the expired key as destination, as source, as both.
SET_STORES = ("SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE")

# The STORE forms whose result is empty delete their destination as Redis's dbDelete does,
# without looking at its deadline: the expired ``k`` is deleted, not expired.
DELETED_AS_STORED: list[Command] = [(store, "k", "o") for store in SET_STORES]

# Every command that names a key, in the forms whose paths differ (options, counts, several
# keys). ``o`` is a second key, always missing.
WRITES: list[Command] = [
    *(("SET", "k", "x", *options.split()) for options in SET_OPTIONS),
    ("SET", "k", "x", "PXAT", LATER),
    ("MSET", "k", "x", "o", "y"),
    ("MSET", "o", "y", "k", "x"),
    ("INCR", "k"),
    ("DECR", "k"),
    ("INCRBY", "k", "5"),
    ("DECRBY", "k", "5"),
    ("LPUSH", "k", "x"),
    ("LPUSH", "k", "x", "y"),
    ("RPUSH", "k", "x"),
    ("RPUSH", "k", "x", "y"),
    *((pop, "k", *count) for pop in ("LPOP", "RPOP") for count in POP_COUNTS),
    # Blocking pops find nothing and wait (or pop the live key after it).
    *((pop, *keys, "0.01") for pop in ("BLPOP", "BRPOP") for keys in (("k",), ("k", "o"))),
    *((pop, *keys, "0.01") for pop in ("BZPOPMIN", "BZPOPMAX") for keys in (("k",), ("o", "k"))),
    # (BLMOVE and BRPOPLPUSH wait on the source alone: an expired one makes them wait.)
    ("BLMOVE", "k", "o", "LEFT", "RIGHT", "0.01"),
    ("BLMOVE", "k", "k", "RIGHT", "LEFT", "0"),
    ("BRPOPLPUSH", "k", "o", "0.01"),
    ("LPUSHX", "k", "x"),
    ("LPUSHX", "k", "x", "y"),
    ("RPUSHX", "k", "x"),
    ("RPUSHX", "k", "x", "y"),
    ("LSET", "k", "0", "x"),
    ("LINSERT", "k", "BEFORE", "a", "x"),
    ("LINSERT", "k", "AFTER", "c", "x"),
    ("LREM", "k", "0", "a"),
    ("LREM", "k", "-1", "c"),
    ("LTRIM", "k", "0", "0"),
    ("LTRIM", "k", "1", "0"),
    # (LMOVE and RPOPLPUSH look at the destination only when the source exists.)
    ("LMOVE", "k", "o", "LEFT", "RIGHT"),
    ("LMOVE", "k", "k", "RIGHT", "LEFT"),
    ("RPOPLPUSH", "k", "o"),
    ("RPOPLPUSH", "k", "k"),
    ("LMPOP", "1", "k", "LEFT"),
    ("LMPOP", "2", "o", "k", "RIGHT", "COUNT", "2"),
    ("HSET", "k", "f", "x"),
    ("HSET", "k", "f", "x", "h", "y"),
    ("HDEL", "k", "f"),
    ("HDEL", "k", "f", "g"),
    ("HSETNX", "k", "f", "x"),
    ("HSETNX", "k", "z", "x"),
    ("HMSET", "k", "f", "x"),
    ("HMSET", "k", "f", "x", "h", "y"),
    ("HINCRBY", "k", "f", "5"),
    ("HINCRBY", "k", "z", "-5"),
    ("HINCRBYFLOAT", "k", "f", "1.5"),
    ("HINCRBYFLOAT", "k", "z", "-0.25"),
    ("SADD", "k", "a"),
    ("SADD", "k", "a", "z"),
    ("SREM", "k", "a"),
    ("SREM", "k", "a", "b", "c"),
    *(("SPOP", "k", *count) for count in POP_COUNTS),
    ("SMOVE", "k", "o", "a"),
    ("SMOVE", "o", "k", "a"),
    ("SMOVE", "k", "k", "a"),
    *((store, *keys) for store in SET_STORES for keys in (("k", "o"), ("o", "k"), ("k", "k"))),
    ("DEL", "k"),
    ("DEL", "o", "k"),
    ("EXPIRE", "k", "100"),
    ("PEXPIRE", "k", "100"),
    ("EXPIREAT", "k", LATER // 1000),
    ("PEXPIREAT", "k", LATER),
    ("PEXPIREAT", "k", NOW),
    ("EXPIRE", "k", "100", "NX"),
    ("EXPIRE", "k", "100", "XX"),
    ("EXPIRE", "k", "100", "GT"),
    ("EXPIRE", "k", "100", "LT"),
    ("PERSIST", "k"),
    ("UNLINK", "k"),
    ("UNLINK", "o", "k"),
    ("RENAME", "k", "o"),
    ("RENAME", "k", "k"),
    ("RENAMENX", "k", "o"),
    ("RENAMENX", "k", "k"),
    ("MOVE", "k", "1"),
    ("COPY", "k", "o"),
    ("COPY", "k", "o", "REPLACE"),
    ("COPY", "k", "k", "DB", "1"),
    ("APPEND", "k", "x"),
    ("GETDEL", "k"),
    *(("GETEX", "k", *options.split()) for options in GETEX_OPTIONS),
    ("GETEX", "k", "EXAT", LATER // 1000),
    ("GETEX", "k", "PXAT", LATER),
    ("GETSET", "k", "x"),
    ("SETRANGE", "k", "2", "x"),
    ("SETRANGE", "k", "2", ""),
    ("MSETNX", "k", "x", "o", "y"),
    ("MSETNX", "o", "y", "k", "x"),
    ("SETNX", "k", "x"),
    ("SETEX", "k", "5", "x"),
    ("PSETEX", "k", "5000", "x"),
    ("INCRBYFLOAT", "k", "1.5"),
    ("ZADD", "k", "1", "a"),
    ("ZADD", "k", "XX", "1", "a"),
    ("ZADD", "k", "INCR", "1", "a"),
    ("ZADD", "k", "XX", "INCR", "1", "a"),
    ("XADD", "k", "5-1", "f", "v"),
    ("XADD", "k", "NOMKSTREAM", "MAXLEN", "0", "5-1", "f", "v"),
    ("XDEL", "k", "1-1"),
    ("XTRIM", "k", "MAXLEN", "0"),
    ("XSETID", "k", "5-5"),
    ("ZINCRBY", "k", "5", "a"),
    ("ZREM", "k", "a"),
    ("ZREM", "k", "a", "b", "c"),
    *((pop, "k", *count) for pop in ("ZPOPMIN", "ZPOPMAX") for count in POP_COUNTS),
    ("ZREMRANGEBYRANK", "k", "0", "-1"),
    ("ZREMRANGEBYSCORE", "k", "-inf", "+inf"),
    ("ZREMRANGEBYLEX", "k", "-", "+"),
    ("ZRANGESTORE", "o", "k", "0", "-1"),
    ("ZRANGESTORE", "k", "o", "0", "-1"),
    ("ZUNIONSTORE", "o", "1", "k"),
    ("ZUNIONSTORE", "k", "1", "o"),
    ("ZINTERSTORE", "o", "2", "k", "k"),
    ("ZDIFFSTORE", "o", "1", "k"),
    ("GEOADD", "k", "13", "38", "a"),
    ("GEOADD", "k", "XX", "CH", "13", "38", "a"),
    ("GEOSEARCHSTORE", "o", "k", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km"),
    ("GEOSEARCHSTORE", "k", "o", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km"),
    ("GEORADIUS", "k", "0", "0", "1", "km", "STORE", "o"),
    ("GEORADIUS", "o", "0", "0", "1", "km", "STORE", "k"),
    ("GEORADIUS", "k", "0", "0", "1", "km"),
    ("GEORADIUSBYMEMBER", "k", "a", "1", "km", "STOREDIST", "o"),
    ("GEORADIUSBYMEMBER", "o", "a", "1", "km", "STORE", "k"),
    ("SORT", "k"),
    ("SORT", "k", "BY", "nosort", "DESC", "LIMIT", "1", "1"),
    ("SORT", "k", "ALPHA", "STORE", "o"),
    ("SORT", "k", "BY", "nosort", "STORE", "k"),
    ("SORT", "o", "STORE", "k"),
    ("SETBIT", "k", "3", "1"),
    ("SETBIT", "k", "3", "0"),
    ("BITOP", "OR", "o", "k"),
    ("BITOP", "NOT", "k", "k"),
    ("BITOP", "AND", "k", "o"),
    ("BITFIELD", "k", "SET", "u8", "0", "1"),
    ("BITFIELD", "k", "INCRBY", "i5", "3", "-1", "GET", "u8", "0"),
    ("BITFIELD", "k", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "300"),
    ("BITFIELD", "k", "GET", "u8", "0"),
    ("PFADD", "k"),
    ("PFADD", "k", "a", "b"),
    ("PFMERGE", "k", "o"),
    ("PFMERGE", "o", "k"),
    ("PFDEBUG", "TODENSE", "k"),
    ("RESTORE", "k", "0", RESTORABLE),
    ("RESTORE", "k", "5000", RESTORABLE, "IDLETIME", "5"),
    ("RESTORE-ASKING", "k", "0", RESTORABLE),
    # Nothing left to move: NOKEY before any connection is tried.
    ("MIGRATE", "127.0.0.1", "1", "k", "0", "100"),
    ("MIGRATE", "127.0.0.1", "1", "", "0", "100", "KEYS", "o", "k"),
    # Consumer groups: a key that is gone has no group either.
    ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "k", ">"),
    ("XACK", "k", "g", "1-1"),
    ("XCLAIM", "k", "g", "c", "0", "1-1"),
    ("XAUTOCLAIM", "k", "g", "c", "0", "0"),
]
READS: list[Command] = [
    ("GET", "k"),
    ("XPENDING", "k", "g"),
    ("DUMP", "k"),
    ("MGET", "o", "k"),
    ("LRANGE", "k", "0", "-1"),
    ("LLEN", "k"),
    ("LINDEX", "k", "0"),
    ("LPOS", "k", "a"),
    ("LPOS", "k", "a", "COUNT", "0"),
    ("HGET", "k", "f"),
    ("HGETALL", "k"),
    ("HMGET", "k", "f", "g"),
    ("HLEN", "k"),
    ("HEXISTS", "k", "f"),
    ("HSTRLEN", "k", "f"),
    ("HKEYS", "k"),
    ("HVALS", "k"),
    ("HRANDFIELD", "k"),
    *(
        ("HRANDFIELD", "k", count, *values)
        for count in ("0", "1", "2", "-2")
        for values in ((), ("WITHVALUES",))
    ),
    ("SMEMBERS", "k"),
    ("SISMEMBER", "k", "a"),
    ("SMISMEMBER", "k", "a", "z"),
    ("SCARD", "k"),
    *(("SRANDMEMBER", "k", *count) for count in ((), ("0",), ("2",), ("-2",), ("9",))),
    *((name, *keys) for name in ("SINTER", "SUNION", "SDIFF") for keys in (("k",), ("o", "k"))),
    ("SINTERCARD", "1", "k"),
    ("SINTERCARD", "2", "o", "k", "LIMIT", "1"),
    ("EXISTS", "k"),
    ("EXISTS", "k", "o", "k"),
    ("TTL", "k"),
    ("PTTL", "k"),
    ("TYPE", "k"),
    ("TOUCH", "k"),
    ("TOUCH", "k", "o", "k"),
    ("EXPIRETIME", "k"),
    ("PEXPIRETIME", "k"),
    ("STRLEN", "k"),
    ("GETRANGE", "k", "0", "-1"),
    ("SUBSTR", "k", "0", "-1"),
    ("LCS", "k", "o"),
    ("LCS", "o", "k", "IDX"),
    ("ZCARD", "k"),
    ("ZSCORE", "k", "a"),
    ("ZMSCORE", "k", "a", "b"),
    ("ZRANK", "k", "a"),
    ("ZREVRANK", "k", "a"),
    ("ZCOUNT", "k", "-inf", "+inf"),
    ("ZLEXCOUNT", "k", "-", "+"),
    ("ZRANGE", "k", "0", "-1", "WITHSCORES"),
    ("ZRANGE", "k", "-inf", "+inf", "BYSCORE"),
    ("ZREVRANGE", "k", "0", "-1"),
    ("ZRANGEBYSCORE", "k", "-inf", "+inf"),
    ("ZREVRANGEBYSCORE", "k", "+inf", "-inf"),
    ("ZRANGEBYLEX", "k", "-", "+"),
    ("ZREVRANGEBYLEX", "k", "+", "-"),
    ("ZRANDMEMBER", "k"),
    ("ZRANDMEMBER", "k", "5"),
    ("XLEN", "k"),
    ("XRANGE", "k", "-", "+"),
    ("XREVRANGE", "k", "+", "-", "COUNT", "1"),
    ("SORT_RO", "k"),
    ("SORT_RO", "k", "BY", "nosort", "GET", "#", "ALPHA"),
    ("GETBIT", "k", "3"),
    ("BITCOUNT", "k"),
    ("BITCOUNT", "k", "0", "-1", "BIT"),
    ("BITPOS", "k", "0"),
    ("BITPOS", "k", "1", "0", "-1"),
    ("BITFIELD_RO", "k", "GET", "i8", "0"),
    ("PFCOUNT", "k"),
    ("PFCOUNT", "k", "o"),
    ("GEOPOS", "k", "a", "b"),
    ("GEOHASH", "k", "a"),
    ("GEODIST", "k", "a", "b", "km"),
    ("GEOSEARCH", "k", "FROMMEMBER", "a", "BYBOX", "1", "1", "km"),
    ("GEORADIUS_RO", "k", "0", "0", "1", "km"),
    ("GEORADIUSBYMEMBER_RO", "k", "a", "1", "km"),
    # A missing key answers an empty iteration before its options are read (so TYPE, SCAN's
    # only, is no error here).
    *((scan, "k", "0") for scan in ("HSCAN", "SSCAN", "ZSCAN")),
    *((scan, "k", "7", "MATCH", "*", "COUNT", "1") for scan in ("HSCAN", "SSCAN", "ZSCAN")),
    *((scan, "k", "0", "TYPE", "hash") for scan in ("HSCAN", "SSCAN", "ZSCAN")),
]
# Commands whose keys follow a count (``movablekeys``), kept apart from WRITES and READS only
# because the oracle of these cases runs them separately; the coverage test asks for them too.
# Scripts reaching the key through KEYS. EVALSHA runs the EVAL_RO case's script, which that case
# put in the cache (in the unit test, SCRIPT LOAD does); FCALL's library is loaded by the unit
# test (the oracle test, which loads none, compares "Function not found" on both servers).
EXISTS_SCRIPT = "return redis.call('exists', KEYS[1])"
EXISTS_SHA = "ad95c310b0dfb7adea2c984de4adc78ec8fbeef6"
EXISTS_LIBRARY = (
    "#!lua name=expiry\nredis.register_function{function_name='exists_f', flags={'no-writes'}, "
    "callback=function(keys) return redis.call('exists', keys[1]) end}"
)
SCRIPTED: list[Command] = [
    ("FCALL", "exists_f", "1", "k"),
    ("FCALL_RO", "exists_f", "1", "k"),
    ("EVAL", "return redis.call('type', KEYS[1])", "1", "k"),
    ("EVAL", "return redis.call('set', KEYS[1], 'v', 'KEEPTTL')", "1", "k"),
    ("EVAL_RO", EXISTS_SCRIPT, "1", "k"),
    ("EVALSHA", EXISTS_SHA, "1", "k"),
    ("EVALSHA_RO", EXISTS_SHA, "1", "k"),
]
MOVABLE: list[Command] = [
    ("ZMPOP", "2", "o", "k", "MIN"),
    ("ZMPOP", "1", "k", "MAX", "COUNT", "9"),
    ("BLMPOP", "0.01", "1", "k", "LEFT"),
    ("BLMPOP", "0", "2", "o", "k", "RIGHT", "COUNT", "2"),
    ("BZMPOP", "0.01", "2", "o", "k", "MIN"),
    ("BZMPOP", "0", "1", "k", "MAX", "COUNT", "9"),
    ("ZUNION", "2", "k", "o", "WITHSCORES"),
    ("ZINTER", "1", "k"),
    ("ZDIFF", "1", "k"),
    ("ZINTERCARD", "1", "k"),
    ("XREAD", "STREAMS", "k", "0"),
    ("XREAD", "COUNT", "1", "BLOCK", "10", "STREAMS", "o", "k", "0", "$"),
    *SCRIPTED,
]


class Harness:
    """One client on a fresh server context with a settable clock; records what is propagated,
    with expired keys reported as ``DEL`` exactly as the server reports them."""

    def __init__(self) -> None:
        self.now = NOW
        self.ctx = ServerContext(Config())
        keyspace = self.ctx.keyspace
        keyspace.clock = lambda: self.now
        self.propagated: list[tuple[int, list[bytes]]] = []
        self.ctx.set_propagation(lambda db, argv: self.propagated.append((db, list(argv))))
        keyspace.on_expired = lambda db, key: self.ctx.propagate(db, [b"DEL", key])
        self.client = Client(self.ctx, 1)

    def __call__(self, *args: str | int) -> tuple[bytes, bytes] | Blocked:
        """Run one command; its reply encoded in RESP2 and in RESP3, or what it waits for."""
        reply = table.call(self.client, [str(a).encode() for a in args])
        if isinstance(reply, Blocked):
            return reply
        resp2: list[bytes] = []
        resp3: list[bytes] = []
        encode_reply(reply, False, resp2)
        encode_reply(reply, True, resp3)
        return b"".join(resp2), b"".join(resp3)

    def state(self) -> list[tuple[dict[bytes, Any], dict[bytes, int]]]:
        """Every database's data and TTLs, as stored (nothing looked up, nothing expired)."""
        return [(dict(db.data), dict(db.expires)) for db in self.ctx.keyspace.dbs]


def expired_key(kind: str) -> Harness:
    """A keyspace holding ``k`` of ``kind``, past its deadline and not yet removed."""
    h = Harness()
    seed = SEEDS[kind]
    assert h(*seed)[0] != b"" and h("PEXPIREAT", "k", DEADLINE) == (b":1\r\n", b":1\r\n")
    h.now = DEADLINE + 1
    assert b"k" in h.ctx.keyspace.dbs[0].data  # still stored: nothing looked at it yet
    h.propagated.clear()
    return h


def empty() -> Harness:
    h = Harness()
    h.now = DEADLINE + 1
    return h


def as_argv(command: Command) -> list[bytes]:
    return [str(a).encode() for a in command]


def case_id(command: Command) -> str:
    return " ".join(str(a) for a in command)


# Redis's sorted-set *STORE commands delete the destination of an empty result without looking
# at its deadline (``dbDelete``): an expired destination goes as a plain deletion, not counted
# as expired, and the command itself is what reaches the AOF.
DELETES_UNEXPIRED: list[Command] = [
    ("ZRANGESTORE", "k", "o", "0", "-1"),
    ("ZUNIONSTORE", "k", "1", "o"),
    ("BITOP", "AND", "k", "o"),
    ("GEOSEARCHSTORE", "k", "o", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km"),
    ("GEORADIUS", "o", "0", "0", "1", "km", "STORE", "k"),
    ("GEORADIUSBYMEMBER", "o", "a", "1", "km", "STORE", "k"),
]


# SORT ... STORE with an empty result deletes its destination the same way, but propagates
# what it did (DEL) rather than itself.
SORT_DELETES_UNEXPIRED: list[Command] = [("SORT", "o", "STORE", "k")]


def unwrap(propagated: list[tuple[int, list[bytes]]]) -> None:
    """Drop the MULTI and EXEC around a block of propagated changes."""
    propagated[:] = [entry for entry in propagated if entry[1] not in ([b"MULTI"], [b"EXEC"])]


@pytest.mark.parametrize("kind", SEEDS)
@pytest.mark.parametrize("command", WRITES + READS + MOVABLE, ids=case_id)
def test_an_expired_key_behaves_as_missing(kind: str, command: Command) -> None:
    expired, fresh = expired_key(kind), empty()
    if command in SCRIPTED:
        for h in (expired, fresh):
            h("SCRIPT", "LOAD", EXISTS_SCRIPT)
            h("FUNCTION", "LOAD", "REPLACE", EXISTS_LIBRARY)
            h.propagated.clear()
    assert expired(*command) == fresh(*command)
    assert expired.state() == fresh.state()
    if command in DELETED_AS_STORED + DELETES_UNEXPIRED + SORT_DELETES_UNEXPIRED:
        # Redis deletes this destination without looking at its deadline: a deletion that
        # changed something, so the command itself (SORT: the DEL) is propagated, and no expiry.
        sort = command in SORT_DELETES_UNEXPIRED
        assert fresh.propagated == []
        assert expired.propagated == [(0, [b"DEL", b"k"] if sort else as_argv(command))]
        assert expired.ctx.keyspace.expired_keys == 0
        return
    if command in SCRIPTED:
        # A script's changes, the expiry included, are one MULTI ... EXEC block: compared
        # without the block's bounds.
        unwrap(expired.propagated)
        unwrap(fresh.propagated)
    # The removal reaches the AOF first, then the command as it would have been propagated
    # had the key never existed.
    assert expired.propagated == [(0, [b"DEL", b"k"]), *fresh.propagated]
    assert expired.ctx.keyspace.expired_keys == 1
    # What the command created lives on: no deadline inherited from the expired key.
    expired.now = fresh.now = LATER + 1
    for probe in (("TYPE", "k"), ("PTTL", "k"), ("TYPE", "o")):
        assert expired(*probe) == fresh(*probe)


# Commands that write over a key they find expired: the source ``o`` is a live string in
# database 0; the expired key is the one named, in the database the command writes to.
DESTINATIONS: list[tuple[Command, int, str]] = [
    (("RENAME", "o", "k"), 0, "k"),
    (("RENAMENX", "o", "k"), 0, "k"),
    (("COPY", "o", "k"), 0, "k"),
    (("COPY", "o", "k", "REPLACE"), 0, "k"),
    (("COPY", "o", "k", "DB", "1"), 1, "k"),
    (("MOVE", "o", "1"), 1, "o"),
]


@pytest.mark.parametrize("kind", SEEDS)
@pytest.mark.parametrize(
    ("command", "db", "key"), DESTINATIONS, ids=[case_id(c) for c, _, _ in DESTINATIONS]
)
def test_an_expired_destination_behaves_as_missing(
    kind: str, command: Command, db: int, key: str
) -> None:
    expired, fresh = Harness(), Harness()
    for h in (expired, fresh):
        h("SET", "o", "src")
    expired("SELECT", db)
    expired(SEEDS[kind][0], key, *SEEDS[kind][2:])
    expired("PEXPIREAT", key, DEADLINE)
    expired("SELECT", 0)
    for h in (expired, fresh):
        h.now = DEADLINE + 1
        h.propagated.clear()
    assert expired(*command) == fresh(*command)
    assert expired.state() == fresh.state()
    assert expired.propagated == [(db, [b"DEL", key.encode()]), *fresh.propagated]
    assert fresh.propagated == [(0, [str(a).encode() for a in command])]
    assert expired.ctx.keyspace.expired_keys == 1


# SORT reaching the expired ``k`` through a pattern (the live list ``src`` holds the element
# "k"), or storing over it: propagated as (DEL k, then) what it did.
SORT_REACHES: list[Command] = [
    ("SORT", "src", "BY", "*"),
    ("SORT", "src", "BY", "*", "ALPHA", "GET", "*"),
    ("SORT", "src", "BY", "nosort", "GET", "*->f", "GET", "#"),
    ("SORT_RO", "src", "BY", "*->f", "ALPHA"),
    ("SORT", "src", "BY", "nosort", "GET", "*", "STORE", "o"),
    ("SORT", "src", "ALPHA", "STORE", "k"),
    ("SORT", "src", "BY", "nosort", "GET", "*", "STORE", "k"),
]


@pytest.mark.parametrize("kind", SEEDS)
@pytest.mark.parametrize("command", SORT_REACHES, ids=case_id)
def test_sort_patterns_and_destination_see_an_expired_key_as_missing(
    kind: str, command: Command
) -> None:
    expired, fresh = expired_key(kind), empty()
    for h in (expired, fresh):
        h("RPUSH", "src", "k")
        h.propagated.clear()
    assert expired(*command) == fresh(*command)
    assert expired.state() == fresh.state()
    assert expired.propagated == [(0, [b"DEL", b"k"]), *fresh.propagated]
    assert expired.ctx.keyspace.expired_keys == 1


@pytest.mark.parametrize("kind", SEEDS)
def test_keys_skips_an_expired_key_without_removing_it(kind: str) -> None:
    # Redis's KEYS only tests each key's deadline: nothing is deleted or propagated.
    h = expired_key(kind)
    h("SET", "o", "1")
    h.propagated.clear()
    assert h("KEYS", "*") == (b"*1\r\n$1\r\no\r\n", b"*1\r\n$1\r\no\r\n")
    assert h("KEYS", "k") == (b"*0\r\n", b"*0\r\n")
    assert b"k" in h.ctx.keyspace.dbs[0].data
    assert h.propagated == []
    assert h.ctx.keyspace.expired_keys == 0


@pytest.mark.parametrize("kind", SEEDS)
@pytest.mark.parametrize("options", [(), ("MATCH", "k"), ("COUNT", "1"), ("TYPE", "string")])
def test_scan_removes_an_expired_key_it_meets(kind: str, options: tuple[str, ...]) -> None:
    # Unlike KEYS, SCAN expires the keys it meets (once they pass MATCH), as Redis does: the
    # key is never listed, and its DEL is propagated.
    h = expired_key(kind)
    assert h("SCAN", "0", *options) == (b"*2\r\n$1\r\n0\r\n*0\r\n",) * 2
    assert b"k" not in h.ctx.keyspace.dbs[0].data
    assert h.propagated == [(0, [b"DEL", b"k"])]
    assert h.ctx.keyspace.expired_keys == 1


@pytest.mark.parametrize("kind", SEEDS)
def test_scan_leaves_an_expired_key_that_fails_match(kind: str) -> None:
    # MATCH filters first: a key it rejects is not looked at, so not expired either.
    h = expired_key(kind)
    assert h("SCAN", "0", "MATCH", "x*") == (b"*2\r\n$1\r\n0\r\n*0\r\n",) * 2
    assert b"k" in h.ctx.keyspace.dbs[0].data
    assert h.propagated == []


@pytest.mark.parametrize("kind", SEEDS)
def test_scan_type_none_lists_the_expired_keys_it_removes(kind: str) -> None:
    # Redis's quirk: TYPE's lookup removes the expired key and calls it "none", after which the
    # expiry test finds nothing left to expire and lets it through. The lookup counts a miss.
    h = expired_key(kind)
    h("SET", "live", "1")
    h.propagated.clear()
    db = h.ctx.keyspace.dbs[0]
    assert h("SCAN", "0", "TYPE", "none")[0] == b"*2\r\n$1\r\n0\r\n*1\r\n$1\r\nk\r\n"
    assert (db.hits, db.misses) == (1, 1)  # "live" found, "k" not
    assert b"k" not in db.data
    assert h.propagated == [(0, [b"DEL", b"k"])]
    assert h("SCAN", "0", "TYPE", "NONE")[0] == b"*2\r\n$1\r\n0\r\n*0\r\n"


@pytest.mark.parametrize("kind", SEEDS)
def test_a_key_lives_through_its_deadline_millisecond(kind: str) -> None:
    # Redis expires a key once the time is *past* its deadline (now > when), not at it.
    h = Harness()
    h(*SEEDS[kind])
    h("PEXPIREAT", "k", DEADLINE)
    h.now = DEADLINE
    type_name = kind.encode()
    assert h("TYPE", "k")[0] == b"+" + type_name + b"\r\n"
    assert h("PTTL", "k")[0] == b":0\r\n"
    assert h("KEYS", "*")[0] == b"*1\r\n$1\r\nk\r\n"
    assert h("SCAN", "0")[0] == b"*2\r\n$1\r\n0\r\n*1\r\n$1\r\nk\r\n"
    h.now = DEADLINE + 1
    assert h("TYPE", "k")[0] == b"+none\r\n"


@pytest.mark.parametrize("kind", SEEDS)
def test_watch_leaves_an_expired_key_where_it_is(kind: str) -> None:
    # WATCH notes whether the key had expired, without looking it up (Redis's keyIsExpired):
    # nothing is removed, nothing propagated.
    h = expired_key(kind)
    assert h("WATCH", "k")[0] == b"+OK\r\n"
    assert h.propagated == []
    assert h.ctx.keyspace.expired_keys == 0
    assert b"k" in h.ctx.keyspace.dbs[0].data


# Commands that name keys without looking them up (covered above, on their own).
NOT_LOOKED_UP = {"watch"}


def test_every_command_that_names_a_key_is_covered() -> None:
    # Commands whose keys move (LMPOP numkeys key ...) declare no first key, only key specs.
    # Shard channels (SPUBLISH, SSUBSCRIBE) sit where keys would, but are none (not_key).
    keyed = {
        name.decode()
        for name, cmd in table.COMMANDS.items()
        if (cmd.first_key > 0 or cmd.key_specs)
        and not (cmd.key_specs and all("not_key" in spec.flags for spec in cmd.key_specs))
    }
    covered = {str(command[0]).lower() for command in WRITES + READS + MOVABLE} | NOT_LOOKED_UP
    assert keyed == covered, f"commands without an expired-key case: {sorted(keyed - covered)}"


@pytest.mark.parametrize("kind", SEEDS)
def test_restore_replace_deletes_an_expired_key_without_expiring_it(kind: str) -> None:
    # Redis's REPLACE deletes what is stored (dbDelete), deadline or not: no expiry counted.
    command: Command = ("RESTORE", "k", "0", RESTORABLE, "REPLACE")
    expired, fresh = expired_key(kind), empty()
    assert expired(*command) == fresh(*command) == (b"+OK\r\n", b"+OK\r\n")
    assert expired.state() == fresh.state()
    assert expired.propagated == fresh.propagated == [(0, as_argv(command))]
    assert expired.ctx.keyspace.expired_keys == 0
    # With a deadline already past, nothing is made: the deletion alone is a change.
    past: Command = ("RESTORE", "k", "1", RESTORABLE, "ABSTTL", "REPLACE")
    expired, fresh = expired_key(kind), empty()
    assert expired(*past) == fresh(*past) == (b"+OK\r\n", b"+OK\r\n")
    assert expired.state() == fresh.state()
    assert expired.propagated == [(0, [b"DEL", b"k"])] and fresh.propagated == []
    assert expired.ctx.keyspace.expired_keys == 0
