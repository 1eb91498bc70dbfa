"""The multi-part AOF directory against redis-server 7.0: each server opens the other's
directory (with and without an RDB preamble, after a BGREWRITEAOF and writes after it, every
type, deadlines, several databases, a function library) with the same data; both make the same
files at a fresh start, after a rewrite, with the AOF off, and from a legacy single file; both
refuse the same broken manifests."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from tests.conftest import RawConnection, ServerProcess, redis_process, wait_until, zyst_process
from tests.crash.dataset import Dataset, dump_dataset

LIBRARY = "#!lua name=interop\nredis.register_function('answer', function() return 42 end)"
PREAMBLE = pytest.mark.parametrize("preamble", ["yes", "no"])


def server(kind: str, workdir: Path, *args: str) -> ServerProcess:
    return (zyst_process if kind == "zyst" else redis_process)(workdir, *args)


def rewrite(port: int) -> None:
    """BGREWRITEAOF, and wait until it has finished well."""
    c = redis.Redis(port=port, socket_timeout=30)
    done = c.info("persistence")["aof_rewrites"] + 1
    with RawConnection(port) as conn:
        assert conn.command("BGREWRITEAOF") == b"+Background append only file rewriting started\r\n"

    def finished() -> bool:
        info = c.info("persistence")
        return info["aof_rewrites"] == done and info["aof_rewrite_in_progress"] == 0

    wait_until(finished, "the rewrite")
    assert c.info("persistence")["aof_last_bgrewrite_status"] == "ok"
    c.close()


def fill(c: redis.Redis, prefix: str) -> None:
    """Every type in its small and large forms, numbers, deadlines, three databases."""
    pipe = c.pipeline(transaction=False)
    pipe.set(f"{prefix}:str", "hello")
    pipe.set(f"{prefix}:int", 12345)
    pipe.set(f"{prefix}:big-int", 2**62)
    pipe.set(f"{prefix}:long", "x" * 5000)
    pipe.set(f"{prefix}:ttl", "v", ex=50_000)
    pipe.rpush(f"{prefix}:list", *range(10))
    pipe.rpush(f"{prefix}:biglist", *[f"item-{n}" * 3 for n in range(600)])
    pipe.hset(f"{prefix}:hash", mapping={"a": 1, "b": "two"})
    pipe.hset(f"{prefix}:bighash", mapping={f"f{n}": n for n in range(700)})
    pipe.sadd(f"{prefix}:intset", *range(20))
    pipe.sadd(f"{prefix}:set", *[f"m{n}" for n in range(30)])
    pipe.sadd(f"{prefix}:bigset", *range(1000))
    pipe.zadd(f"{prefix}:zset", {"a": 1.5, "b": -2, "c": float("inf")})
    pipe.zadd(f"{prefix}:bigzset", {f"m{n}": n / 7 for n in range(300)})
    pipe.pexpire(f"{prefix}:bighash", 80_000_000)
    pipe.execute()
    c.execute_command("SELECT", 3)
    c.set(f"{prefix}:db3", "three", px=70_000_000)
    c.execute_command("SELECT", 15)
    c.rpush(f"{prefix}:db15", "last")
    c.execute_command("SELECT", 0)


def change(c: redis.Redis) -> None:
    """Writes after a rewrite: they live in the incremental file."""
    c.delete("a:str")
    c.rpush("a:list", "after")
    c.hdel("a:bighash", "f1")
    c.persist("a:ttl")
    c.zincrby("a:zset", 1, "b")
    fill(c, "b")


@PREAMBLE
@pytest.mark.parametrize(("writer", "reader"), [("redis", "zyst"), ("zyst", "redis")])
def test_each_server_opens_the_others_directory(
    tmp_path: Path, writer: str, reader: str, preamble: str
) -> None:
    args = ("--appendonly", "yes", "--appendfsync", "always", "--aof-use-rdb-preamble", preamble)
    with server(writer, tmp_path, *args) as first:
        c = redis.Redis(port=first.port, socket_timeout=30)
        c.execute_command("FUNCTION", "LOAD", LIBRARY)
        fill(c, "a")
        rewrite(first.port)
        change(c)
        expected = dump_dataset(c)
        c.close()
    suffix = "rdb" if preamble == "yes" else "aof"
    assert sorted(os.listdir(tmp_path / "appendonlydir")) == [
        f"appendonly.aof.2.base.{suffix}",
        "appendonly.aof.2.incr.aof",
        "appendonly.aof.manifest",
    ]
    with server(reader, tmp_path, *args) as second:
        c = redis.Redis(port=second.port, socket_timeout=30)
        assert dump_dataset(c) == expected
        assert c.execute_command("FCALL", "answer", 0) == 42
        c.close()


def listing(directory: Path) -> tuple[list[str], list[str], bytes]:
    """The data directory's AOF entries, the AOF directory's files, and its manifest."""
    top = sorted(n for n in os.listdir(directory) if n.startswith(("appendonly", "temp-")))
    inside = directory / "appendonlydir"
    return top, sorted(os.listdir(inside)), (inside / "appendonly.aof.manifest").read_bytes()


def both(
    tmp_path: Path, args: tuple[str, ...], act: Callable[[ServerProcess], None]
) -> dict[str, tuple[list[str], list[str], bytes]]:
    """Run ``act`` on a fresh Zyst and a fresh redis-server started with ``args``; the files
    each leaves."""
    seen = {}
    for kind in ("zyst", "redis"):
        workdir = tmp_path / kind
        with server(kind, workdir, *args) as running:
            # (Zyst accepts connections before it is done starting: its first reply says it is.)
            with RawConnection(running.port) as conn:
                assert conn.command("PING") == b"+PONG\r\n"
            act(running)
        seen[kind] = listing(workdir)
    return seen


@PREAMBLE
def test_a_fresh_start_makes_the_files_redis_makes(tmp_path: Path, preamble: str) -> None:
    seen = both(tmp_path, ("--appendonly", "yes", "--aof-use-rdb-preamble", preamble), print)
    assert seen["zyst"] == seen["redis"]


@PREAMBLE
def test_after_rewrites_the_files_are_the_ones_redis_keeps(tmp_path: Path, preamble: str) -> None:
    def act(running: ServerProcess) -> None:
        c = redis.Redis(port=running.port, socket_timeout=30)
        fill(c, "a")
        rewrite(running.port)
        change(c)
        rewrite(running.port)
        c.set("last", "1")
        c.close()

    seen = both(tmp_path, ("--appendonly", "yes", "--aof-use-rdb-preamble", preamble), act)
    assert seen["zyst"] == seen["redis"]
    assert (
        seen["zyst"][2]
        == (
            f"file appendonly.aof.3.base.{'rdb' if preamble == 'yes' else 'aof'} seq 3 type b\n"
            "file appendonly.aof.3.incr.aof seq 3 type i\n"
        ).encode()
    )


def test_with_the_aof_off_a_rewrite_writes_what_redis_writes(tmp_path: Path) -> None:
    def act(running: ServerProcess) -> None:
        c = redis.Redis(port=running.port, socket_timeout=30)
        fill(c, "a")
        rewrite(running.port)
        c.close()

    seen = both(tmp_path, ("--appendonly", "no"), act)
    assert seen["zyst"] == seen["redis"]
    assert seen["zyst"][2] == b"file appendonly.aof.1.base.rdb seq 1 type b\n"


def test_a_legacy_single_file_is_moved_in_as_redis_does(tmp_path: Path) -> None:
    legacy = (
        b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
        b"*3\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n$1\r\na\r\n"
    )
    datasets = []
    for kind in ("zyst", "redis"):
        (tmp_path / kind).mkdir()
        (tmp_path / kind / "appendonly.aof").write_bytes(legacy)

    def act(running: ServerProcess) -> None:
        c = redis.Redis(port=running.port, socket_timeout=30)
        c.set("after", "upgrade")
        datasets.append(dump_dataset(c))
        c.close()

    seen = both(tmp_path, ("--appendonly", "yes"), act)
    assert seen["zyst"] == seen["redis"]
    assert seen["zyst"] == (
        ["appendonlydir"],
        ["appendonly.aof", "appendonly.aof.1.incr.aof", "appendonly.aof.manifest"],
        b"file appendonly.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n",
    )
    assert datasets[0] == datasets[1]
    assert (tmp_path / "zyst" / "appendonlydir" / "appendonly.aof").read_bytes() == legacy


@pytest.mark.parametrize(
    ("manifest", "reason"),
    [
        (b"", "Found an empty AOF manifest"),
        (b"file a seq 1 type b", "The AOF manifest file contains too long line"),
        (b"file a seq 1\n", "Invalid AOF manifest file format"),
        (b"file x/a seq 1 type b\n", "File can't be a path, just a filename"),
        (b"file a seq 1 type b\nfile b seq 2 type b\n", "Found duplicate base file information"),
        (b"file a seq 2 type i\nfile b seq 1 type i\n", "Found a non-monotonic sequence number"),
        (b"file a seq 1 type q\n", "Unknown AOF file type"),
    ],
)
def test_a_broken_manifest_stops_both_servers(tmp_path: Path, manifest: bytes, reason: str) -> None:
    for kind in ("zyst", "redis"):
        directory = tmp_path / kind / "appendonlydir"
        directory.mkdir(parents=True)
        (directory / "appendonly.aof.manifest").write_bytes(manifest)
        running = server(kind, tmp_path / kind, "--appendonly", "yes")
        # (Zyst listens before it loads: its port may open before it stops.)
        with contextlib.suppress(RuntimeError):
            running.start()
        assert running.proc is not None and running.proc.wait(timeout=30) == 1
        running.stop()
        assert reason in running.log.read_text(), kind


def test_turning_the_aof_on_at_run_time_leaves_the_files_redis_leaves(tmp_path: Path) -> None:
    datasets = []

    def act(running: ServerProcess) -> None:
        c = redis.Redis(port=running.port, socket_timeout=30)
        fill(c, "a")
        c.config_set("appendonly", "no")
        c.delete("a:str")  # must not come back from the old files
        fill(c, "b")
        c.config_set("appendonly", "yes")
        wait_until(
            lambda: (
                c.info("persistence")["aof_rewrite_in_progress"] == 0
                and c.info("persistence")["aof_rewrites"] == 1
            ),
            "the AOF to be on",
        )
        c.set("after", "on")
        datasets.append(dump_dataset(c))
        c.close()

    args = ("--appendonly", "yes", "--appendfsync", "always")
    seen = both(tmp_path, args, act)
    assert seen["zyst"] == seen["redis"]
    assert seen["zyst"][2] == (
        b"file appendonly.aof.2.base.rdb seq 2 type b\n"
        b"file appendonly.aof.2.incr.aof seq 2 type i\n"
    )
    # The same data (deadlines aside: each server set its own, a moment apart).
    assert strip_deadlines(datasets[0]) == strip_deadlines(datasets[1])
    for kind, dataset in zip(("zyst", "redis"), datasets, strict=True):
        other = "redis" if kind == "zyst" else "zyst"  # each directory opens in the other
        with server(other, tmp_path / kind, *args) as running:
            c = redis.Redis(port=running.port, socket_timeout=30)
            assert dump_dataset(c) == dataset
            c.close()


def strip_deadlines(dataset: Dataset) -> Dataset:
    return {
        db: {
            key: (kind, value, int(deadline >= 0)) for key, (kind, value, deadline) in keys.items()
        }
        for db, keys in dataset.items()
    }
