"""DEBUG RELOAD against redis-server: the dataset survives the round trip through dump.rdb, and
the MERGE / NOFLUSH / NOSAVE options and errors are Redis's. Each test has its own pair of
servers (the reload writes dump.rdb in their directories)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import redis

from tests.conftest import DEBUG_LOCAL, Oracle, ServerProcess, redis_process, zyst_process
from tests.crash.dataset import dump_dataset

LIBRARY = "#!lua name={name}\nredis.register_function('{name}', function() return 'hello' end)"
FAR = 4_000_000_000_000


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    with ExitStack() as stack:
        zyst = stack.enter_context(
            zyst_process(tmp_path / "zyst", "--appendonly", "no", "--save", "", *DEBUG_LOCAL)
        )
        real = stack.enter_context(redis_process(tmp_path / "redis", *DEBUG_LOCAL))
        yield zyst, real


def clients(pair: tuple[ServerProcess, ServerProcess]) -> list[redis.Redis]:
    return [redis.Redis(port=server.port, protocol=2, socket_timeout=30) for server in pair]


def fill(c: redis.Redis) -> None:
    c.set("string", "value")
    c.set("int", 12345)
    c.set("big", "x" * 5000)
    c.append("raw", "grown in place")
    c.rpush("list", *[f"item{i}" for i in range(300)])
    c.lpush("shortlist", "a", "b")
    c.hset("hash", mapping={f"f{i}": f"v{i}" for i in range(600)})
    c.hset("smallhash", mapping={"a": "1"})
    c.sadd("intset", 1, 2, 3)
    c.sadd("set", *[f"m{i}" for i in range(600)])
    c.zadd("zset", {f"z{i}": i / 3 for i in range(200)})
    c.zadd("smallzset", {"a": float("inf"), "b": -0.5})
    c.set("expiring", "soon", pxat=FAR)
    c.execute_command("SELECT", 5)
    c.set("in5", "five")
    c.execute_command("SELECT", 0)


def encodings(c: redis.Redis) -> dict[bytes, bytes]:
    return {key: c.object("encoding", key) for key in sorted(c.keys())}


def test_the_dataset_and_libraries_survive_a_reload(
    pair: tuple[ServerProcess, ServerProcess],
) -> None:
    for c in clients(pair):
        fill(c)
        c.function_load(LIBRARY.format(name="lib1"))
    before = [dump_dataset(c) for c in clients(pair)]
    assert before[0] == before[1]
    oracle = Oracle(pair[0].port, pair[1].port)
    oracle.check("DEBUG", "RELOAD")
    ours, theirs = clients(pair)
    assert dump_dataset(ours) == dump_dataset(theirs) == before[0]
    assert encodings(ours) == encodings(theirs)
    assert ours.fcall("lib1", 0) == theirs.fcall("lib1", 0) == b"hello"
    # Written after the save: gone again with a NOSAVE reload of that file.
    oracle.check("SET", "later", "1")
    oracle.check("DEBUG", "RELOAD", "NOSAVE")
    oracle.check("EXISTS", "later")
    assert dump_dataset(ours) == before[0]
    oracle.close()


def test_options_and_errors_as_redis(pair: tuple[ServerProcess, ServerProcess]) -> None:
    oracle = Oracle(pair[0].port, pair[1].port)
    oracle.check("DEBUG", "RELOAD", "NOSUCH")
    oracle.check("DEBUG", "RELOAD", "MERGE", "x")
    oracle.check("FUNCTION", "LOAD", LIBRARY.format(name="test"))
    oracle.check("DEBUG", "RELOAD")
    # The library is there and in the file: NOFLUSH alone refuses it, MERGE replaces it.
    oracle.check("DEBUG", "RELOAD", "NOFLUSH")
    oracle.check("DEBUG", "RELOAD", "NOFLUSH", "MERGE")
    oracle.check("FUNCTION", "LIST")
    # Redis's own test: two libraries, one saved and one added after, merged back.
    oracle.check("FUNCTION", "DELETE", "test")
    oracle.check("SET", "x", "1")
    oracle.check("FUNCTION", "LOAD", LIBRARY.format(name="test1"))
    oracle.check("DEBUG", "RELOAD")
    oracle.check("FUNCTION", "LOAD", LIBRARY.format(name="test2"))
    oracle.check("DEBUG", "RELOAD", "NOSAVE", "NOFLUSH", "MERGE")
    oracle.check("FCALL", "test1", "0")
    oracle.check("FCALL", "test2", "0")
    oracle.check("GET", "x")
    oracle.close()


def test_merge_keeps_the_keys_and_lets_the_file_win(
    pair: tuple[ServerProcess, ServerProcess],
) -> None:
    oracle = Oracle(pair[0].port, pair[1].port)
    oracle.check("SET", "saved", "old")
    oracle.check("RPUSH", "list", "a", "b")
    oracle.check("SAVE")
    oracle.check("SET", "saved", "new")
    oracle.check("DEL", "list")
    oracle.check("SET", "only-in-memory", "1")
    oracle.check("DEBUG", "RELOAD", "NOSAVE", "NOFLUSH", "MERGE")
    oracle.check("MGET", "saved", "only-in-memory")
    oracle.check("LRANGE", "list", "0", "-1")
    oracle.check("DBSIZE")
    oracle.close()


def test_a_duplicate_key_without_merge_is_an_error_and_changes_nothing(tmp_path: Path) -> None:
    """(Redis stops the whole server here; Zyst answers the load error and keeps its data.)"""
    with zyst_process(tmp_path, "--appendonly", "no", "--save", "", *DEBUG_LOCAL) as server:
        c = redis.Redis(port=server.port, protocol=2, socket_timeout=30)
        c.set("saved", "old")
        c.save()
        c.set("saved", "new")
        c.set("other", "1")
        with pytest.raises(redis.ResponseError, match=r"^Error trying to load the RDB dump$"):
            c.execute_command("DEBUG", "RELOAD", "NOSAVE", "NOFLUSH")
        assert c.mget("saved", "other") == [b"new", b"1"]
        assert c.ping()
        c.close()


def test_watch_sees_the_flush_of_a_reload(pair: tuple[ServerProcess, ServerProcess]) -> None:
    for c in clients(pair):
        c.set("watched", "1")
        with c.pipeline() as pipe:
            pipe.watch("watched")
            c.execute_command("DEBUG", "RELOAD")
            pipe.multi()
            pipe.set("watched", "2")
            with pytest.raises(redis.WatchError):
                pipe.execute()
        assert c.get("watched") == b"1"
