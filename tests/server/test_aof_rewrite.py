"""BGREWRITEAOF and the automatic rewrite on a real server: replies, INFO fields, the files of
the AOF directory before and after, and what a restart loads.

A rewrite is kept running long enough to act during it with ``rdb-key-save-delay`` (Redis's
own testing aid: microseconds the child waits after each key)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import redis

from tests.conftest import RawConnection, aof_files, wait_until, zyst_process
from tests.crash.dataset import dump_dataset

STARTED = b"+Background append only file rewriting started\r\n"
SCHEDULED = b"+Background append only file rewriting scheduled\r\n"
IN_PROGRESS = b"-ERR Background append only file rewriting already in progress\r\n"


def bgrewriteaof(port: int) -> bytes:
    """BGREWRITEAOF's reply, byte for byte."""
    with RawConnection(port) as conn:
        return conn.command("BGREWRITEAOF")


def client(port: int) -> redis.Redis:
    return redis.Redis(port=port, socket_timeout=30)


def persistence(c: redis.Redis) -> dict[str, object]:
    info: dict[str, object] = c.info("persistence")
    return info


def rewrite_done(c: redis.Redis, rewrites: int) -> Callable[[], bool]:
    def done() -> bool:
        info = persistence(c)
        return info["aof_rewrites"] == rewrites and info["aof_rewrite_in_progress"] == 0

    return done


def manifest(data_dir: Path) -> bytes:
    return (data_dir / "appendonlydir" / "appendonly.aof.manifest").read_bytes()


def directory(data_dir: Path) -> list[str]:
    return sorted(os.listdir(data_dir / "appendonlydir"))


def fill(c: redis.Redis, prefix: str, count: int) -> None:
    """Keys of every type, some with a deadline, in two databases."""
    pipe = c.pipeline(transaction=False)
    for n in range(count):
        pipe.set(f"{prefix}:s:{n}", n)
        pipe.rpush(f"{prefix}:l:{n % 7}", n)
        pipe.hset(f"{prefix}:h:{n % 5}", f"f{n}", n)
        pipe.sadd(f"{prefix}:set:{n % 3}", n)
        pipe.zadd(f"{prefix}:z", {f"m{n}": n / 3})
    pipe.set(f"{prefix}:ttl", "v", ex=100_000)
    pipe.execute()
    c.execute_command("SELECT", 5)
    c.set(f"{prefix}:in-db-5", "x", px=90_000_000)
    c.execute_command("SELECT", 0)


def child_of(server_pid: int) -> int:
    """The pid of the server's forked child (one at a time)."""
    (pid,) = Path(f"/proc/{server_pid}/task/{server_pid}/children").read_text().split()
    return int(pid)


def test_a_rewrite_replaces_the_files_and_a_restart_loads_the_same_data(tmp_path: Path) -> None:
    args = ("--appendonly", "yes", "--aof-use-rdb-preamble", "no", "--appendfsync", "always")
    with zyst_process(tmp_path, *args) as server:
        c = client(server.port)
        fill(c, "a", 300)
        before = persistence(c)
        assert before["aof_rewrites"] == 0 and before["aof_last_rewrite_time_sec"] == -1
        assert bgrewriteaof(server.port) == STARTED
        wait_until(rewrite_done(c, 1), "the rewrite to finish")
        info = persistence(c)
        assert info["aof_last_bgrewrite_status"] == "ok"
        assert info["aof_rewrites_consecutive_failures"] == 0
        assert info["aof_last_rewrite_time_sec"] >= 0  # type: ignore[operator]
        assert info["aof_current_rewrite_time_sec"] == -1
        assert info["aof_base_size"] == info["aof_current_size"]
        assert info["aof_last_cow_size"] > 0  # type: ignore[operator]
        # The first base and incr are gone: the new base, and the incr opened at the start.
        assert manifest(tmp_path) == (
            b"file appendonly.aof.2.base.aof seq 2 type b\n"
            b"file appendonly.aof.2.incr.aof seq 2 type i\n"
        )
        assert directory(tmp_path) == [
            "appendonly.aof.2.base.aof",
            "appendonly.aof.2.incr.aof",
            "appendonly.aof.manifest",
        ]
        assert not list(tmp_path.glob("temp-*"))
        c.set("after", "rewrite")
        expected = dump_dataset(c)
        c.close()
        server.kill()
    with zyst_process(tmp_path, *args, port=server.port) as restarted:
        c = client(restarted.port)
        assert dump_dataset(c) == expected
        assert persistence(c)["aof_base_size"] == aof_files(tmp_path)[0].stat().st_size
        c.close()


def test_writes_during_a_rewrite_go_to_the_new_incr_file(tmp_path: Path) -> None:
    args = ("--appendonly", "yes", "--aof-use-rdb-preamble", "no", "--appendfsync", "always")
    with zyst_process(tmp_path, *args) as server:
        c = client(server.port)
        fill(c, "a", 200)
        c.config_set("rdb-key-save-delay", 2000)  # 2 ms a key: the child runs a while
        assert bgrewriteaof(server.port) == STARTED
        info = persistence(c)
        assert info["aof_rewrite_in_progress"] == 1
        assert info["aof_current_rewrite_time_sec"] >= 0  # type: ignore[operator]
        assert bgrewriteaof(server.port) == IN_PROGRESS
        # The writer went on in a new incr file as soon as the rewrite started.
        assert manifest(tmp_path) == (
            b"file appendonly.aof.1.base.aof seq 1 type b\n"
            b"file appendonly.aof.1.incr.aof seq 1 type i\n"
            b"file appendonly.aof.2.incr.aof seq 2 type i\n"
        )
        fill(c, "during", 50)
        c.delete("a:s:1")
        assert b"during:s:1" in aof_files(tmp_path)[-1].read_bytes()
        c.config_set("rdb-key-save-delay", 0)
        wait_until(rewrite_done(c, 1), "the rewrite to finish")
        assert persistence(c)["aof_last_bgrewrite_status"] == "ok"
        assert manifest(tmp_path) == (
            b"file appendonly.aof.2.base.aof seq 2 type b\n"
            b"file appendonly.aof.2.incr.aof seq 2 type i\n"
        )
        expected = dump_dataset(c)
        c.close()
        server.kill()
    with zyst_process(tmp_path, *args, port=server.port) as restarted:
        c = client(restarted.port)
        assert dump_dataset(c) == expected
        c.close()


def test_a_failed_rewrite_keeps_every_file_and_says_so(tmp_path: Path) -> None:
    args = ("--appendonly", "yes", "--aof-use-rdb-preamble", "no", "--appendfsync", "always")
    with zyst_process(tmp_path, *args) as server:
        c = client(server.port)
        fill(c, "a", 100)
        c.config_set("rdb-key-save-delay", 100_000)
        assert bgrewriteaof(server.port) == STARTED
        assert server.proc is not None
        os.kill(child_of(server.proc.pid), signal.SIGKILL)  # not the SIGUSR1 of a planned stop
        wait_until(rewrite_done(c, 1), "the parent to see the child die")
        info = persistence(c)
        assert info["aof_last_bgrewrite_status"] == "err"
        assert info["aof_rewrites_consecutive_failures"] == 1
        assert manifest(tmp_path) == (
            b"file appendonly.aof.1.base.aof seq 1 type b\n"
            b"file appendonly.aof.1.incr.aof seq 1 type i\n"
            b"file appendonly.aof.2.incr.aof seq 2 type i\n"
        )
        assert not list(tmp_path.glob("temp-*"))
        c.set("after", "failure")
        expected = dump_dataset(c)
        # The next rewrite succeeds and clears the failure count.
        c.config_set("rdb-key-save-delay", 0)
        assert bgrewriteaof(server.port) == STARTED
        wait_until(rewrite_done(c, 2), "the second rewrite")
        info = persistence(c)
        assert info["aof_last_bgrewrite_status"] == "ok"
        assert info["aof_rewrites_consecutive_failures"] == 0
        assert manifest(tmp_path) == (
            b"file appendonly.aof.2.base.aof seq 2 type b\n"
            b"file appendonly.aof.3.incr.aof seq 3 type i\n"
        )
        c.close()
        server.kill()
    with zyst_process(tmp_path, *args, port=server.port) as restarted:
        c = client(restarted.port)
        assert dump_dataset(c) == expected
        c.close()


def test_inside_exec_the_rewrite_is_scheduled_and_the_cron_starts_it(tmp_path: Path) -> None:
    with zyst_process(tmp_path, "--appendonly", "yes") as server:
        c = client(server.port)
        c.set("k", "v")
        with RawConnection(server.port) as conn:
            replies = conn.pipeline([["MULTI"], ["BGREWRITEAOF"], ["EXEC"]])
        assert replies == [b"+OK\r\n", b"+QUEUED\r\n", b"*1\r\n" + SCHEDULED]
        wait_until(rewrite_done(c, 1), "the scheduled rewrite")
        assert persistence(c)["aof_rewrite_scheduled"] == 0
        c.close()


def test_the_aof_is_rewritten_by_itself_when_it_doubles(tmp_path: Path) -> None:
    args = ("--auto-aof-rewrite-min-size", "20kb", "--auto-aof-rewrite-percentage", "100")
    with zyst_process(tmp_path, "--appendonly", "yes", *args) as server:
        c = client(server.port)
        for n in range(100):
            c.set(f"k{n}", "x" * 100)
        assert persistence(c)["aof_rewrites"] == 0  # 13 KB so far: under the minimum
        for n in range(100, 300):
            c.set(f"k{n}", "x" * 100)
        wait_until(lambda: persistence(c)["aof_rewrites"] == 1, "the automatic rewrite")
        wait_until(rewrite_done(c, 1), "it to finish")
        info = persistence(c)
        assert info["aof_base_size"] == info["aof_current_size"]
        c.close()


def test_with_the_aof_off_a_rewrite_leaves_a_base_alone(tmp_path: Path) -> None:
    with zyst_process(tmp_path, "--appendonly", "no", "--aof-use-rdb-preamble", "no") as server:
        c = client(server.port)
        assert not (tmp_path / "appendonlydir").exists()
        c.set("k", "v")
        assert bgrewriteaof(server.port) == STARTED
        wait_until(rewrite_done(c, 1), "the rewrite")
        assert manifest(tmp_path) == b"file appendonly.aof.1.base.aof seq 1 type b\n"
        assert directory(tmp_path) == ["appendonly.aof.1.base.aof", "appendonly.aof.manifest"]
        c.close()


def test_timestamp_annotations_precede_writes_and_load_back(tmp_path: Path) -> None:
    args = ("--appendonly", "yes", "--aof-timestamp-enabled", "yes")
    with zyst_process(tmp_path, *args) as server:
        c = client(server.port)
        count = 0

        def annotated() -> bool:
            nonlocal count
            c.set(f"k{count}", count)
            count += 1
            return b"#TS:" in aof_files(tmp_path)[-1].read_bytes()

        wait_until(annotated, "a #TS: line")
        data = aof_files(tmp_path)[-1].read_bytes()
        line = data[data.index(b"#TS:") :].split(b"\r\n", 1)[0]
        assert abs(int(line[4:]) - time.time()) < 60
        c.close()
    with zyst_process(tmp_path, *args, port=server.port) as restarted:
        c = client(restarted.port)
        assert c.dbsize() == count
        c.close()


def test_shutdown_or_turning_the_aof_off_stops_a_rewrite_cleanly(tmp_path: Path) -> None:
    args = ("--appendonly", "yes", "--aof-use-rdb-preamble", "no", "--appendfsync", "always")
    with zyst_process(tmp_path, *args) as server:
        c = client(server.port)
        fill(c, "a", 100)
        c.config_set("rdb-key-save-delay", 100_000)
        assert bgrewriteaof(server.port) == STARTED
        c.config_set("appendonly", "no")  # stops the child, as Redis's stopAppendOnly does
        info = persistence(c)
        assert info["aof_rewrite_in_progress"] == 0 and info["aof_enabled"] == 0
        # Ended on purpose: not a failure.
        assert info["aof_last_bgrewrite_status"] == "ok"
        assert info["aof_rewrites_consecutive_failures"] == 0
        assert not list(tmp_path.glob("temp-*"))
        c.config_set("appendonly", "yes")
        assert bgrewriteaof(server.port) == STARTED
        expected = dump_dataset(c)
        c.close()
        server.stop()  # SIGTERM while the child writes
    assert not list(tmp_path.glob("temp-*"))
    assert "Zyst is now ready to exit" in server.log.read_text()
    with zyst_process(tmp_path, *args, port=server.port) as restarted:
        c = client(restarted.port)
        assert dump_dataset(c) == expected
        c.close()
