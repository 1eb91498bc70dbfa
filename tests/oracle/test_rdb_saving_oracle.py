"""RDB snapshots against redis-server 7.0: SAVE, BGSAVE, LASTSAVE and their settings answer the
same bytes; a failed BGSAVE refuses writes with the same MISCONF until a save works; and the
files go both ways: a dump.rdb written by Zyst loads in redis-server, and one written by
redis-server loads at Zyst's start, with the same data.

Each test starts its own pair of servers in their own directories, with a save schedule (the
session's servers have none).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from tests.conftest import (
    DEBUG_LOCAL,
    Oracle,
    ServerProcess,
    check_sequence,
    redis_process,
    wait_until,
    zyst_process,
)
from tests.crash.dataset import dump_dataset
from tests.server.test_rdb_saving import LIBRARY, fill

SCHEDULE = ("--save", "3600 1")
MISCONF = (
    b"-MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist "
    b"to disk. Commands that may modify the data set are disabled, because this instance is "
    b"configured to report errors during writes if RDB snapshotting fails "
    b"(stop-writes-on-bgsave-error option). Please check the Redis logs for details about the "
    b"RDB error.\r\n"
)


def persistence(server: ServerProcess) -> dict[str, str]:
    client = redis.Redis(port=server.port, protocol=2)
    try:
        return {name: str(value) for name, value in client.info("persistence").items()}
    finally:
        client.close()


def bgsave_ended(server: ServerProcess, status: str) -> Callable[[], bool]:
    def ended() -> bool:
        fields = persistence(server)
        return (
            fields["rdb_bgsave_in_progress"] == "0" and fields["rdb_last_bgsave_status"] == status
        )

    return ended


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Oracle, ServerProcess, ServerProcess]]:
    with (
        zyst_process(tmp_path / "zyst", "--appendonly", "no", *SCHEDULE, *DEBUG_LOCAL) as zyst,
        redis_process(tmp_path / "redis", *SCHEDULE, *DEBUG_LOCAL) as real,
    ):
        oracle = Oracle(zyst.port, real.port)
        try:
            yield oracle, zyst, real
        finally:
            oracle.close()


def test_save_bgsave_lastsave_and_settings_answer_as_redis(
    pair: tuple[Oracle, ServerProcess, ServerProcess],
) -> None:
    oracle, _, _ = pair
    check_sequence(
        oracle,
        [
            ("SET", "k", "v"),
            ("SAVE",),
            ("SAVE", "now"),
            ("BGSAVE", "now"),
            ("BGSAVE", "SCHEDULE", "now"),
            ("LASTSAVE", "x"),
            ("MULTI",),
            ("SAVE",),
            ("LASTSAVE",),
            ("DISCARD",),
            ("CONFIG", "SET", "dbfilename", "other.rdb"),
            ("CONFIG", "SET", "save", "1"),
            ("CONFIG", "SET", "save", "0 1"),
            ("CONFIG", "SET", "save", "1 -1"),
            ("CONFIG", "SET", "rdbchecksum", "no"),
            ("CONFIG", "SET", "rdbcompression", "maybe"),
            ("CONFIG", "GET", "dbfilename"),
            ("CONFIG", "GET", "save"),
            ("CONFIG", "GET", "rdbcompression"),
            ("CONFIG", "GET", "rdbchecksum"),
            ("CONFIG", "GET", "stop-writes-on-bgsave-error"),
            ("CONFIG", "GET", "rdb-del-sync-files"),
            ("CONFIG", "GET", "rdb-key-save-delay"),
            ("CONFIG", "GET", "rdb-key-*"),
            ("CONFIG", "SET", "save", "100 10 200 20"),
            ("CONFIG", "GET", "save"),
            ("CONFIG", "SET", "save", "3600 1"),
            ("COMMAND", "INFO", "save", "bgsave", "lastsave"),
        ],
        {
            1: b"+OK\r\n",
            2: b"-ERR wrong number of arguments for 'save' command\r\n",
            3: b"-ERR syntax error\r\n",
            10: b"-ERR CONFIG SET failed (possibly related to argument 'dbfilename') - can't "
            b"set protected config\r\n",
            12: b"-ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save "
            b"parameters\r\n",
            25: b"*2\r\n$4\r\nsave\r\n$13\r\n100 10 200 20\r\n",
        },
    )
    zyst_time, redis_time = oracle.run("LASTSAVE")
    assert zyst_time[:1] == redis_time[:1] == b":"


def test_a_failed_bgsave_refuses_writes_until_a_save_works(
    pair: tuple[Oracle, ServerProcess, ServerProcess],
) -> None:
    oracle, zyst, real = pair
    oracle.check("SET", "k", "v")
    # A directory where the snapshot goes: SAVE fails, and so does the child of BGSAVE.
    for server in (zyst, real):
        (server.dir / "dump.rdb").mkdir()
    check_sequence(
        oracle,
        [("SAVE",), ("SET", "after-save", "v"), ("BGSAVE",)],
        {0: b"-ERR\r\n", 1: b"+OK\r\n", 2: b"+Background saving started\r\n"},
    )
    for server in (zyst, real):
        wait_until(bgsave_ended(server, "err"), "the failed BGSAVE")
    check_sequence(
        oracle,
        [
            ("SET", "k", "w"),
            ("PING",),
            ("GET", "k"),
            ("MULTI",),
            ("SET", "k", "w"),
            ("EXEC",),
            ("EVAL", "return redis.call('SET', 'k', 'w')", "0"),
            ("EVAL", "#!lua\nreturn redis.call('SET', 'k', 'w')", "0"),
            ("SHUTDOWN",),
            ("CONFIG", "SET", "stop-writes-on-bgsave-error", "no"),
            ("SET", "k", "w"),
            ("CONFIG", "SET", "stop-writes-on-bgsave-error", "yes"),
            ("SET", "k", "x"),
            ("CONFIG", "SET", "save", ""),
            ("SET", "k", "x"),
            ("CONFIG", "SET", "save", "3600 1"),
            ("DEL", "k"),
        ],
        {
            0: MISCONF,
            1: MISCONF,
            2: b"$1\r\nv\r\n",
            8: b"-ERR Errors trying to SHUTDOWN. Check logs.\r\n",
            10: b"+OK\r\n",
            12: MISCONF,
            14: b"+OK\r\n",
            16: MISCONF,
        },
    )
    for server in (zyst, real):
        (server.dir / "dump.rdb").rmdir()
    oracle.check("BGSAVE")
    for server in (zyst, real):
        wait_until(bgsave_ended(server, "ok"), "the BGSAVE that works")
    check_sequence(oracle, [("SET", "k", "after"), ("GET", "k")], {0: b"+OK\r\n"})
    fields = persistence(zyst)
    assert fields["rdb_changes_since_last_save"] == "1"
    assert int(fields["rdb_saves"]) == 3


def test_the_rdb_fields_of_info_are_redis_s(
    pair: tuple[Oracle, ServerProcess, ServerProcess],
) -> None:
    oracle, zyst, real = pair
    oracle.check("SET", "k", "v")
    oracle.check("BGSAVE")
    for server in (zyst, real):
        wait_until(bgsave_ended(server, "ok"), "the BGSAVE")
    ours, theirs = persistence(zyst), persistence(real)
    names = [name for name in theirs if name.startswith(("rdb_", "current_save", "current_fork"))]
    assert [name for name in ours if name in names] == names
    for name in (
        "rdb_changes_since_last_save",
        "rdb_bgsave_in_progress",
        "rdb_last_bgsave_status",
        "rdb_current_bgsave_time_sec",
        "rdb_saves",
        "rdb_last_load_keys_loaded",
        "current_save_keys_processed",
        "current_save_keys_total",
    ):
        assert ours[name] == theirs[name], name
    for server in (zyst, real):
        client = redis.Redis(port=server.port, protocol=2)
        assert client.info("stats")["total_forks"] == 1
        client.close()


# -- files both ways ---------------------------------------------------------------------------
def test_a_zyst_snapshot_loads_in_redis(tmp_path: Path) -> None:
    for command in ("SAVE", "BGSAVE"):
        workdir = tmp_path / command
        with zyst_process(workdir / "zyst", "--appendonly", "no", "--save", "") as zyst:
            c = redis.Redis(port=zyst.port, protocol=2)
            fill(c)
            expected = dump_dataset(c)
            c.execute_command(command)
            wait_until(lambda: persistence(zyst)["rdb_bgsave_in_progress"] == "0", "the BGSAVE")
            assert persistence(zyst)["rdb_last_bgsave_status"] == "ok"
            c.close()
        (workdir / "redis").mkdir()
        shutil.copy(workdir / "zyst" / "dump.rdb", workdir / "redis" / "dump.rdb")
        with redis_process(workdir / "redis") as real:
            c = redis.Redis(port=real.port, protocol=2)
            assert dump_dataset(c) == expected
            assert c.fcall("answer", 0) == 42
            c.close()


def test_a_redis_snapshot_loads_at_zyst_s_start(tmp_path: Path) -> None:
    with redis_process(tmp_path / "redis") as real:
        c = redis.Redis(port=real.port, protocol=2)
        fill(c)
        expected = dump_dataset(c)
        c.execute_command("SAVE")
        c.close()
    (tmp_path / "zyst").mkdir()
    shutil.copy(tmp_path / "redis" / "dump.rdb", tmp_path / "zyst" / "dump.rdb")
    with zyst_process(tmp_path / "zyst", "--appendonly", "no", "--save", "") as zyst:
        c = redis.Redis(port=zyst.port, protocol=2)
        assert dump_dataset(c) == expected
        assert c.fcall("answer", 0) == 42
        assert c.execute_command("FUNCTION", "DUMP")
        assert persistence(zyst)["rdb_last_load_keys_loaded"] == str(
            sum(len(db) for db in expected.values())
        )
        c.close()
    assert LIBRARY.startswith("#!lua")
