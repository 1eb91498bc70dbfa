"""Keyspace notifications against real Redis 7.0: the same scripted commands run on both
servers while a real subscriber on each collects the events; the two lists of (channel,
message) must be equal, in order.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
import redis

import zyst.commands  # noqa: F401  (declares the commands)
from tests.conftest import ServerProcess
from zyst import keyevents

Cmd = Sequence[str]

SCRIPT: list[Cmd] = [
    ("SET", "s", "1"),
    ("SET", "s", "2", "EX", "100"),
    ("SET", "s", "3", "KEEPTTL"),
    ("SETEX", "s", "100", "4"),
    ("PSETEX", "s", "100000", "5"),
    ("SETNX", "s", "6"),  # nothing happens: no event
    ("MSET", "m1", "a", "m2", "b"),
    ("MSETNX", "m3", "a", "m4", "b"),
    ("GETSET", "s", "7"),
    ("INCR", "s"),
    ("DECRBY", "s", "2"),
    ("INCRBYFLOAT", "s", "1.5"),
    ("APPEND", "s", "x"),
    ("SETRANGE", "s", "0", "z"),
    ("SETBIT", "b", "7", "1"),
    ("BITFIELD", "b", "SET", "u8", "0", "255"),
    ("BITOP", "NOT", "bn", "b"),
    ("BITOP", "AND", "bn", "nokey"),  # empty result: del
    ("PFADD", "hll"),  # creates it: new, pfadd
    ("PFADD", "hll"),  # nothing changed: no event
    ("PFADD", "hll", "a", "b"),
    ("PFCOUNT", "hll"),  # refreshes the cached count: no event
    ("PFMERGE", "hll2", "hll"),  # pfadd, as Redis calls a merge
    ("PFDEBUG", "TODENSE", "hll2"),  # no event
    ("GETEX", "s", "EX", "100"),
    ("GETEX", "s", "PERSIST"),
    ("GETDEL", "s"),
    ("RPUSH", "l", "a", "b", "c", "d"),
    ("LPUSH", "l", "z"),
    ("LPUSHX", "l", "y"),
    ("RPUSHX", "nolist", "y"),
    ("LINSERT", "l", "BEFORE", "a", "q"),
    ("LSET", "l", "0", "w"),
    ("LPOP", "l"),
    ("RPOP", "l", "2"),
    ("LREM", "l", "0", "q"),
    ("LTRIM", "l", "0", "0"),
    ("LMOVE", "l", "l2", "LEFT", "RIGHT"),  # l goes empty
    ("RPOPLPUSH", "l2", "l3"),
    ("RPUSH", "l", "1", "2"),
    ("LMPOP", "2", "nokey", "l", "RIGHT", "COUNT", "5"),
    ("BLPOP", "l3", "0"),
    ("RPUSH", "srt", "3", "1", "2"),
    ("SORT", "srt", "STORE", "sorted"),
    ("SORT", "nokey", "STORE", "sorted"),  # empty: del
    ("HSET", "h", "f", "1", "g", "2"),
    ("HSETNX", "h", "k", "3"),
    ("HMSET", "h", "f", "9"),
    ("HINCRBY", "h", "f", "1"),
    ("HINCRBYFLOAT", "h", "f", "0.5"),
    ("HDEL", "h", "f", "g"),
    ("HDEL", "h", "k"),
    ("SADD", "a", "1", "2", "3"),
    ("SADD", "c", "3", "4"),
    ("SREM", "a", "1"),
    ("SMOVE", "a", "c", "2"),
    ("SMOVE", "a", "c", "3"),  # a goes empty
    ("SPOP", "c"),
    ("SINTERSTORE", "d", "c", "c"),
    ("SUNIONSTORE", "d", "c", "nokey"),
    ("SDIFFSTORE", "d", "c", "c"),  # empty: del
    ("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"),
    ("ZADD", "z", "INCR", "5", "a"),
    ("ZINCRBY", "z", "1", "b"),
    ("ZREM", "z", "c"),
    ("ZREMRANGEBYRANK", "z", "0", "0"),
    ("ZADD", "z", "1", "e", "1", "f"),
    ("ZREMRANGEBYSCORE", "z", "1", "1"),
    ("ZADD", "z", "0", "x", "0", "y"),
    ("ZREMRANGEBYLEX", "z", "[x", "[y"),
    ("ZUNIONSTORE", "zu", "1", "z"),
    ("ZINTERSTORE", "zu", "2", "z", "nokey"),  # empty: del
    ("ZDIFFSTORE", "zd", "1", "z"),
    ("ZRANGESTORE", "zr", "z", "0", "-1"),
    ("ZPOPMIN", "z"),
    ("ZPOPMAX", "z"),  # z goes empty
    ("ZADD", "z2", "1", "a"),
    ("ZMPOP", "1", "z2", "MIN"),
    ("ZADD", "z2", "1", "a"),
    ("BZPOPMAX", "z2", "0"),
    ("SET", "k", "v"),
    ("EXPIRE", "k", "100"),
    ("PEXPIREAT", "k", "9999999999999"),
    ("PERSIST", "k"),
    ("RENAME", "k", "k2"),
    ("COPY", "k2", "k3"),
    ("COPY", "k2", "k3", "DB", "2"),
    ("MOVE", "k3", "1"),
    ("DEL", "k2", "nokey", "m1"),
    ("UNLINK", "m2"),
    ("EXPIRE", "m3", "-1"),  # in the past: del
    ("FLUSHDB",),
]


# Reads of keys that are missing (or of another type, or present): keymiss (m) comes from the
# lookups Redis counts as a read, not from writes' lookups.
MISSES: list[Cmd] = [
    ("SET", "s", "v"),
    ("RPUSH", "l", "a"),
    ("HSET", "h", "f", "v"),
    ("SADD", "st", "m"),
    ("ZADD", "z", "1", "m"),
    ("GET", "nokey"),
    ("GET", "s"),
    ("MGET", "s", "no1", "no2"),
    ("STRLEN", "no"),
    ("GETRANGE", "no", "0", "1"),
    ("SUBSTR", "no", "0", "1"),
    ("GETBIT", "no", "1"),
    ("BITCOUNT", "no"),
    ("BITPOS", "no", "1"),
    ("BITFIELD_RO", "no", "GET", "u8", "0"),
    ("BITFIELD", "no", "GET", "u8", "0"),
    ("LCS", "no", "s"),
    ("EXISTS", "no", "s"),
    ("TYPE", "no"),
    ("TTL", "no"),
    ("PTTL", "no"),
    ("EXPIRETIME", "no"),
    ("PEXPIRETIME", "no"),
    ("OBJECT", "ENCODING", "no"),
    ("TOUCH", "no", "s"),
    ("LRANGE", "no", "0", "-1"),
    ("LLEN", "no"),
    ("LINDEX", "no", "0"),
    ("LPOS", "no", "a"),
    ("HGET", "no", "f"),
    ("HGETALL", "no"),
    ("HMGET", "no", "f"),
    ("HLEN", "no"),
    ("HEXISTS", "no", "f"),
    ("HSTRLEN", "no", "f"),
    ("HKEYS", "no"),
    ("HVALS", "no"),
    ("HRANDFIELD", "no"),
    ("HSCAN", "no", "0"),
    ("SMEMBERS", "no"),
    ("SISMEMBER", "no", "m"),
    ("SMISMEMBER", "no", "m"),
    ("SCARD", "no"),
    ("SRANDMEMBER", "no"),
    ("SINTER", "no", "st"),
    ("SUNION", "st", "no"),
    ("SDIFF", "st", "no"),
    ("SINTERCARD", "2", "no", "st"),
    ("SSCAN", "no", "0"),
    ("ZRANGE", "no", "0", "-1"),
    ("ZSCORE", "no", "m"),
    ("ZMSCORE", "no", "m"),
    ("ZCARD", "no"),
    ("ZRANK", "no", "m"),
    ("ZCOUNT", "no", "0", "1"),
    ("ZRANGEBYSCORE", "no", "0", "1"),
    ("ZRANDMEMBER", "no"),
    ("ZUNION", "2", "no", "z"),
    ("ZINTER", "2", "z", "no"),
    ("ZDIFF", "2", "z", "no"),
    ("ZINTERCARD", "2", "z", "no"),
    ("ZSCAN", "no", "0"),
    ("SORT", "no"),
    ("SORT_RO", "no"),
    ("SORT", "l", "BY", "nosort", "GET", "nothere*"),
    ("SUNIONSTORE", "dst", "no", "st"),
    ("ZUNIONSTORE", "dst2", "2", "no", "z"),
    ("BITOP", "OR", "dst3", "no", "s"),
    ("SORT", "no", "STORE", "dst4"),
    ("COPY", "no", "dst5"),
    ("INCR", "no1"),
    ("APPEND", "no2", "x"),
    ("GETDEL", "no3"),
    ("GETEX", "no3"),
    ("LPOP", "no4"),
    ("SPOP", "no4"),
    ("HINCRBY", "no5", "f", "1"),
    ("LMOVE", "no6", "l", "LEFT", "LEFT"),
    ("SMOVE", "no6", "st", "m"),
    ("RENAMENX", "s", "no7"),
    ("DEL", "no8"),
    ("EXPIRE", "no8", "10"),
    ("EVAL", "return redis.call('get', KEYS[1])", "1", "no9"),
    ("FLUSHALL",),
]


def redis_events(port: int, commands: list[Cmd], flags: str) -> list[tuple[bytes, bytes]]:
    with redis.Redis(port=port) as r:
        r.flushall()
        r.config_set("notify-keyspace-events", flags)
        sub = r.pubsub()
        sub.psubscribe("__key*__:*")
        sub.subscribe("zz-done")
        sub.get_message(timeout=10)
        sub.get_message(timeout=10)
        try:
            for command in commands:
                r.execute_command(*command)
            r.publish("zz-done", "x")
            events: list[tuple[bytes, bytes]] = []
            while True:
                message = sub.get_message(timeout=10)
                assert message is not None, "redis-server stopped publishing"
                if message["channel"] == b"zz-done":
                    return events
                events.append((message["channel"], message["data"]))
        finally:
            sub.close()
            r.config_set("notify-keyspace-events", "")
            r.flushall()


def test_every_command_publishes_what_redis_publishes(
    zyst_proc: ServerProcess, redis_server: ServerProcess
) -> None:
    theirs = redis_events(redis_server.port, SCRIPT, "AKE")
    ours = redis_events(zyst_proc.port, SCRIPT, "AKE")
    assert len(theirs) > 150
    assert ours == theirs


@pytest.mark.parametrize("flags", ["", "A", "K", "Kg", "E$l", "KEhz", "Ksx", "KElg", "En", "AKEn"])
def test_classes_and_channels_filter_as_in_redis(
    flags: str, zyst_proc: ServerProcess, redis_server: ServerProcess
) -> None:
    ours = redis_events(zyst_proc.port, SCRIPT, flags)
    assert ours == redis_events(redis_server.port, SCRIPT, flags)


@pytest.mark.parametrize("flags", ["KEm", "Em", "AKEm", "KEA"])
def test_reads_that_miss_publish_keymiss_as_in_redis(
    flags: str, zyst_proc: ServerProcess, redis_server: ServerProcess
) -> None:
    theirs = redis_events(redis_server.port, MISSES, flags)
    if "m" in flags:
        assert (b"__keyevent@0__:keymiss", b"nokey") in theirs
    assert redis_events(zyst_proc.port, MISSES, flags) == theirs


def test_config_get_shows_the_flags_as_redis_does(redis_server: ServerProcess) -> None:
    with redis.Redis(port=redis_server.port) as r:
        try:
            for given in ("", "KEA", "gKE", "Ex$", "AKEm", "lshzxetdgn$", "Kn", "EmK"):
                r.config_set("notify-keyspace-events", given)
                shown = r.config_get("notify-keyspace-events")["notify-keyspace-events"]
                assert keyevents.format_flags(keyevents.parse_flags(given)) == shown, given
        finally:
            r.config_set("notify-keyspace-events", "")


def expiry_events(port: int) -> list[tuple[bytes, bytes]]:
    with redis.Redis(port=port) as r:
        r.flushall()
        r.config_set("notify-keyspace-events", "KEA")
        sub = r.pubsub()
        sub.psubscribe("__key*__:*")
        sub.subscribe("zz-done")
        sub.get_message(timeout=10)
        sub.get_message(timeout=10)
        try:
            r.set("e", "v", px=1)
            r.set("f", "v")
            # A read finds it past its deadline and deletes it (polled: not a timed assertion).
            while r.get("e") is not None:
                pass
            r.publish("zz-done", "x")
            events = []
            while (message := sub.get_message(timeout=10)) is not None:
                if message["channel"] == b"zz-done":
                    break
                events.append((message["channel"], message["data"]))
            return events
        finally:
            sub.close()
            r.config_set("notify-keyspace-events", "")


def test_a_key_that_expires_publishes_expired(
    zyst_proc: ServerProcess, redis_server: ServerProcess
) -> None:
    theirs = expiry_events(redis_server.port)
    assert (b"__keyevent@0__:expired", b"e") in theirs
    assert expiry_events(zyst_proc.port) == theirs
