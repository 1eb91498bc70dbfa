"""RDB files and DUMP payloads exchanged with a real redis-server 7.0: a dump.rdb Redis wrote
loads into a Zyst keyspace with the same data, a file Zyst wrote loads in Redis with the same
data (compared key by key through ordinary commands), and DUMP payloads of small values are
byte for byte Redis's."""

from __future__ import annotations

import io
import math
from collections import deque
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.conftest import redis_process
from zyst.config import Config
from zyst.encodings import Limits, encoding
from zyst.keyspace import Keyspace
from zyst.persistence.rdbfile import load_rdb, write_rdb
from zyst.persistence.rdbvalues import dump_payload, restore_payload
from zyst.types.zset import ZSet

LIBRARY = "#!lua name=interop\nredis.register_function('answer', function() return 42 end)"


def fill_redis(client: redis.Redis) -> None:
    """Every type in each of its encodings, expiries, three databases, a function library."""
    client.set("str", "hello")
    client.set("int", "123456789")
    client.set("neg", "-7")
    client.set("big", "z" * 500)
    client.set("lzf", "ab" * 300)
    client.set("bin", bytes(range(256)))
    client.set("appended", "a")
    client.append("appended", "bc")
    client.rpush("list", "a", "1", "-70000", "x" * 100)
    client.rpush("longlist", *[f"element-{i}" for i in range(2000)])
    client.hset("hash", mapping={"f": "v", "n": "12"})
    client.hset("bighash", mapping={f"f{i}": "v" * 70 for i in range(5)})
    client.hset("manyhash", mapping={f"f{i}": str(i) for i in range(600)})
    client.sadd("intset", 1, 2, -3, 2**40)
    client.sadd("set", "a", "b", "1")
    client.sadd("bigintset", *range(600))
    client.zadd("zset", {"a": 1.5, "b": -2, "c": math.inf, "d": 0.1})
    client.zadd("bigzset", {f"m{i}": i / 7 for i in range(300)})
    client.zadd("longmember", {"x" * 100: 1})
    client.set("ttl", "v", px=500_000)
    client.hset("ttlhash", "f", "v")
    client.pexpire("ttlhash", 900_000)
    db2 = redis.Redis(port=client.connection_pool.connection_kwargs["port"], db=2)
    db2.set("in2", "two")
    db2.rpush("list2", "x")
    db2.expire("list2", 1000)
    db15 = redis.Redis(port=client.connection_pool.connection_kwargs["port"], db=15)
    db15.zadd("z15", {"only": 3})
    client.function_load(LIBRARY)


def fill_keyspace() -> Keyspace:
    """The same variety, made directly in a Zyst keyspace."""
    keyspace = Keyspace()
    db0 = keyspace.dbs[0]
    zset = ZSet()
    for member, score in ((b"a", 1.5), (b"b", -2.0), (b"c", math.inf), (b"d", 0.1)):
        zset.add(member, score)
    bigzset = ZSet()
    for i in range(300):
        bigzset.add(b"m%d" % i, i / 7)
    longmember = ZSet()
    longmember.add(b"x" * 100, 1.0)
    db0.data.update(
        {
            b"str": b"hello",
            b"int": b"123456789",
            b"big": b"z" * 500,
            b"lzf": b"ab" * 300,
            b"bin": bytes(range(256)),
            b"appended": bytearray(b"abc"),
            b"list": deque([b"a", b"1", b"-70000", b"x" * 100]),
            b"longlist": deque(b"element-%d" % i for i in range(2000)),
            b"hash": {b"f": b"v", b"n": b"12"},
            b"bighash": {b"f%d" % i: b"v" * 70 for i in range(5)},
            b"manyhash": {b"f%d" % i: b"%d" % i for i in range(600)},
            b"intset": {b"1", b"2", b"-3", b"%d" % 2**40},
            b"set": {b"a", b"b", b"1"},
            b"bigintset": {b"%d" % i for i in range(600)},
            b"zset": zset,
            b"bigzset": bigzset,
            b"longmember": longmember,
            b"ttl": b"v",
        }
    )
    now = keyspace.clock()
    db0.expires[b"ttl"] = now + 500_000
    keyspace.dbs[2].data.update({b"in2": b"two", b"list2": deque([b"x"])})
    keyspace.dbs[2].expires[b"list2"] = now + 1_000_000
    z15 = ZSet()
    z15.add(b"only", 3.0)
    keyspace.dbs[15].data[b"z15"] = z15
    for db in keyspace.dbs:
        for key in db.data:
            db.note_created(key)
    return keyspace


def redis_contents(client: redis.Redis, key: bytes) -> Any:
    """A key's value through DUMP-independent commands, as the Zyst type would hold it."""
    kind = client.type(key)
    if kind == b"string":
        return client.get(key)
    if kind == b"list":
        return deque(client.lrange(key, 0, -1))
    if kind == b"hash":
        return client.hgetall(key)
    if kind == b"set":
        return client.smembers(key)
    assert kind == b"zset"
    zset = ZSet()
    for member, score in client.zrange(key, 0, -1, withscores=True):
        zset.add(member, score)
    return zset


def zyst_contents(value: Any) -> Any:
    return bytes(value) if type(value) is bytearray else value


def compare(port: int, keyspace: Keyspace) -> int:
    """Every database of redis-server on ``port`` against ``keyspace``: same keys, types,
    values, expiry times and encodings; returns how many keys were compared."""
    compared = 0
    limits = Limits(Config())
    for db in keyspace.dbs:
        client = redis.Redis(port=port, db=db.index)
        assert set(client.keys()) == set(db.data), db.index
        for key, value in db.data.items():
            assert redis_contents(client, key) == zyst_contents(value), key
            assert client.execute_command("PEXPIRETIME", key) == db.expires.get(key, -1), key
            if type(value) not in (bytes, bytearray):
                assert client.object("encoding", key) == encoding(db, key, value, limits)
            compared += 1
    return compared


def test_redis_dump_rdb_loads_into_zyst(tmp_path: Path) -> None:
    with redis_process(tmp_path / "redis") as server:
        client = redis.Redis(port=server.port)
        fill_redis(client)
        client.save()
        keyspace = Keyspace()
        libraries: list[bytes] = []
        with (tmp_path / "redis" / "dump.rdb").open("rb") as file:
            result = load_rdb(file, keyspace, libraries.append)
            assert file.read() == b""
        assert libraries == [LIBRARY.encode()]
        assert result.keys_loaded == client.dbsize() + 3  # db 0, and three keys in dbs 2 and 15
        assert compare(server.port, keyspace) == result.keys_loaded


def test_zyst_rdb_loads_into_redis(tmp_path: Path) -> None:
    keyspace = fill_keyspace()
    directory = tmp_path / "zyst"
    directory.mkdir()
    with (directory / "dump.rdb").open("wb") as file:
        write_rdb(file, keyspace, [LIBRARY.encode()])
    with redis_process(directory, "--dbfilename", "dump.rdb") as server:
        client = redis.Redis(port=server.port)
        assert compare(server.port, keyspace) == sum(len(db.data) for db in keyspace.dbs)
        assert client.fcall("answer", 0) == 42
        # And back: what Redis saves from it loads into Zyst as the same data.
        client.save()
        again = Keyspace()
        with (directory / "dump.rdb").open("rb") as file:
            load_rdb(file, again, lambda code: None)
        for ours, theirs in zip(again.dbs, keyspace.dbs, strict=True):
            assert ours.data == {k: zyst_contents(v) for k, v in theirs.data.items()}
            assert ours.expires == theirs.expires


def test_access_clocks_cross_over(tmp_path: Path) -> None:
    """Under an LFU policy Redis writes each key's counter and Zyst reads it back, and the
    other way round."""
    with redis_process(tmp_path / "redis", "--maxmemory-policy", "allkeys-lfu") as server:
        client = redis.Redis(port=server.port)
        client.set("hot", "hot value")
        for _ in range(200):
            client.get("hot")
        client.set("cold", "cold value")
        freq = client.object("freq", "hot")
        cold = client.object("freq", "cold")
        assert freq > cold
        client.save()
        keyspace = Keyspace()
        keyspace.set_lfu(True)
        with (tmp_path / "redis" / "dump.rdb").open("rb") as file:
            load_rdb(file, keyspace, lambda code: None)
        clocks = keyspace.dbs[0].access
        assert clocks[b"hot"] & 0xFF == freq
        assert clocks[b"cold"] & 0xFF == cold
        out = io.BytesIO()
        write_rdb(out, keyspace, [], policy="allkeys-lfu")
        (tmp_path / "redis" / "dump.rdb").write_bytes(out.getvalue())
    with redis_process(tmp_path / "redis", "--maxmemory-policy", "allkeys-lfu") as server:
        client = redis.Redis(port=server.port)
        assert client.object("freq", "hot") == freq


SMALL_VALUES: list[tuple[str, list[tuple[Any, ...]], Any]] = [
    ("string", [("SET", "k", "hello")], b"hello"),
    ("integer", [("SET", "k", "-1234567")], b"-1234567"),
    ("lzf", [("SET", "k", "xy" * 50)], b"xy" * 50),
    ("list", [("RPUSH", "k", "a", "12", "-4000", "99999", "x" * 80)], None),
    ("list-nodes", [("RPUSH", "k", *["a"] * 6000)], None),
    ("list-mixed", [("RPUSH", "k", *[f"element-{i}" for i in range(1500)], "x" * 9000)], None),
    ("hash", [("HSET", "k", "f1", "v", "f2", "200", "f3", "-1")], None),
    ("hash-table", [("HSET", "k", "f", "v" * 65)], None),
    ("intset", [("SADD", "k", "5", "-70000", "3")], None),
    ("zset", [("ZADD", "k", "1.5", "a", "-3", "b", "1e30", "c", "inf", "d", "-inf", "e")], None),
    (
        "zset-big-scores",
        [("ZADD", "k", str(2**62), "a", str(2**62 + 2048), "b", "-1e-300", "c")],
        None,
    ),
    ("zset-skiplist", [("ZADD", "k", "1", "m" * 65, "2", "n")], None),
]


@pytest.mark.parametrize(("name", "commands", "_"), SMALL_VALUES, ids=[v[0] for v in SMALL_VALUES])
def test_dump_payload_is_redis_byte_for_byte(
    redis_server: Any, name: str, commands: list[tuple[Any, ...]], _: Any
) -> None:
    client = redis.Redis(port=redis_server.port)
    client.delete("k")
    for command in commands:
        client.execute_command(*command)
    theirs = client.dump("k")
    value = restore_payload(theirs)
    assert value == redis_contents(client, b"k")
    assert dump_payload(value, Limits(Config())) == theirs
    # And Redis takes ours.
    client.restore("k2", 0, dump_payload(value, Limits(Config())), replace=True)
    assert redis_contents(client, b"k2") == value
    client.delete("k", "k2")


def test_scores_survive_exactly(redis_server: Any) -> None:
    client = redis.Redis(port=redis_server.port)
    zset = ZSet()
    for i, score in enumerate((0.1, 1 / 3, 2.0**62, 2.0**62 + 2048, -1e-300, 123456789.125)):
        zset.add(b"m%d" % i, score)
    client.restore("scores", 0, dump_payload(zset, Limits(Config())), replace=True)
    for member, score in zset:
        assert client.zscore("scores", member) == score
    client.delete("scores")
