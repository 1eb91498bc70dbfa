"""RDB snapshots at the server level: SAVE, BGSAVE and the ``save`` schedule write
``<dir>/<dbfilename>``, a restart with the AOF off loads it, SIGTERM and SHUTDOWN write the final
one, and a running background save is stopped and its temporary file removed when the server
stops. Each test runs its own server in its own directory.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import time
from pathlib import Path

import pytest
import redis

from tests.conftest import DEBUG_LOCAL, RawConnection, ServerProcess, wait_until, zyst_process
from tests.crash.dataset import dump_dataset
from zyst.keyspace import Keyspace
from zyst.persistence.rdbfile import save_rdb_file

FAR = 4_000_000_000_000  # a Unix time in ms far in the future
NO_AOF = ("--appendonly", "no", *DEBUG_LOCAL)
LIBRARY = "#!lua name=savedlib\nredis.register_function('answer', function() return 42 end)"


def info(client: redis.Redis, section: str = "persistence") -> dict[str, str]:
    return {name: str(value) for name, value in client.info(section).items()}


def raw(server: ServerProcess, *args: str) -> bytes:
    """The reply's bytes (redis-py makes SAVE's and BGSAVE's replies True)."""
    with RawConnection(server.port) as conn:
        return conn.command(*args)


def connect(server: ServerProcess) -> redis.Redis:
    return redis.Redis(port=server.port, protocol=2, socket_timeout=30)


def fill(c: redis.Redis) -> None:
    """Keys of every type, with and without deadlines, in three databases, and a library."""
    c.set("string", "value")
    c.set("int", 12345)
    c.set("big", "x" * 5000)
    c.rpush("list", *[f"item{i}" for i in range(300)])
    c.rpush("shortlist", "a", "b")
    c.hset("hash", mapping={f"f{i}": f"v{i}" for i in range(600)})
    c.hset("smallhash", mapping={"a": "1"})
    c.sadd("intset", 1, 2, 3)
    c.sadd("set", *[f"m{i}" for i in range(600)])
    c.zadd("zset", {f"z{i}": i / 3 for i in range(200)})
    c.zadd("smallzset", {"a": float("inf"), "b": -0.5})
    c.set("expiring", "soon", pxat=FAR)
    c.execute_command("SELECT", 3)
    c.set("in3", "three")
    c.hset("hash3", "k", "v")
    c.execute_command("PEXPIREAT", "hash3", FAR)
    c.execute_command("SELECT", 15)
    c.lpush("in15", "fifteen")
    c.execute_command("SELECT", 0)
    c.execute_command("FUNCTION", "LOAD", LIBRARY)


def temp_files(directory: Path) -> list[str]:
    return sorted(name for name in os.listdir(directory) if name.startswith("temp-"))


# -- SAVE / BGSAVE and the restart ------------------------------------------------------------
@pytest.mark.parametrize("command", ["SAVE", "BGSAVE"])
def test_a_snapshot_is_loaded_at_the_next_start(tmp_path: Path, command: str) -> None:
    with zyst_process(tmp_path, *NO_AOF, "--save", "") as server:
        c = connect(server)
        fill(c)
        before = dump_dataset(c)
        saves = int(info(c)["rdb_saves"])
        if command == "SAVE":
            assert raw(server, "SAVE") == b"+OK\r\n"
        else:
            assert raw(server, "BGSAVE") == b"+Background saving started\r\n"
            wait_until(lambda: info(c)["rdb_bgsave_in_progress"] == "0", "the BGSAVE")
            assert int(info(c, "stats")["total_forks"]) >= 1
        fields = info(c)
        assert fields["rdb_last_bgsave_status"] == "ok"
        assert fields["rdb_changes_since_last_save"] == "0"
        assert int(fields["rdb_saves"]) == saves + 1
        assert raw(server, "LASTSAVE") == b":%s\r\n" % fields["rdb_last_save_time"].encode()
        # Written after the snapshot: not in it, and a SIGTERM does not save (no schedule).
        c.set("after", "the save")
        c.close()
    assert (tmp_path / "dump.rdb").exists()
    assert temp_files(tmp_path) == []
    with zyst_process(tmp_path, *NO_AOF, "--save", "") as server:
        c = connect(server)
        assert dump_dataset(c) == before
        assert c.fcall("answer", 0) == 42
        fields = info(c)
        assert fields["rdb_last_load_keys_loaded"] == str(sum(len(db) for db in before.values()))
        assert fields["loading"] == "0"
        c.close()
    log = server.log.read_text()
    assert "DB loaded from disk:" in log
    assert "Loading RDB produced by version 7.0.15" in log


def test_dbfilename_names_the_snapshot(tmp_path: Path) -> None:
    with zyst_process(
        tmp_path,
        *NO_AOF,
        "--save",
        "",
        "--dbfilename",
        "other.rdb",
        "--enable-protected-configs",
        "yes",
    ) as server:
        c = connect(server)
        c.set("k", "v")
        c.execute_command("SAVE")
        assert (tmp_path / "other.rdb").exists() and not (tmp_path / "dump.rdb").exists()
        c.config_set("dbfilename", "third.rdb")
        c.set("k", "third")
        c.execute_command("SAVE")
        c.close()
    with zyst_process(tmp_path, *NO_AOF, "--save", "", "--dbfilename", "third.rdb") as server:
        c = connect(server)
        assert c.get("k") == b"third"
        c.close()


def test_keys_past_their_deadline_are_dropped_at_load(tmp_path: Path) -> None:
    with zyst_process(tmp_path, *NO_AOF, "--save", "") as server:
        c = connect(server)
        c.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")
        c.set("gone", "v", px=1)
        c.set("kept", "v")
        time.sleep(0.01)  # not an assertion: lets "gone" pass its deadline before the save
        c.execute_command("SAVE")
        c.close()
    with zyst_process(tmp_path, *NO_AOF, "--save", "") as server:
        c = connect(server)
        assert c.keys("*") == [b"kept"]
        fields = info(c)
        assert (fields["rdb_last_load_keys_loaded"], fields["rdb_last_load_keys_expired"]) == (
            "1",
            "1",
        )
        c.close()


def test_the_aof_wins_at_start_when_it_is_on(tmp_path: Path) -> None:
    with zyst_process(tmp_path, *NO_AOF, "--save", "") as server:
        c = connect(server)
        c.set("from", "rdb")
        c.execute_command("SAVE")
        c.close()
    with zyst_process(tmp_path, "--appendonly", "yes", "--save", "") as server:
        c = connect(server)
        assert c.get("from") is None
        c.close()


def test_a_corrupt_snapshot_stops_the_start_naming_the_offset(tmp_path: Path) -> None:
    with zyst_process(tmp_path, *NO_AOF, "--save", "") as server:
        c = connect(server)
        c.set("k", "v" * 100)
        c.execute_command("SAVE")
        c.close()
    path = tmp_path / "dump.rdb"
    data = bytearray(path.read_bytes())
    data[-12] ^= 0xFF  # a byte of the value: the checksum no longer matches
    path.write_bytes(bytes(data))
    server = zyst_process(tmp_path, *NO_AOF, "--save", "")
    # (It listens before it loads: the start may look fine until the load fails.)
    with contextlib.suppress(RuntimeError):
        server.start()
    assert server.proc is not None
    assert server.proc.wait(timeout=30) == 1
    log = server.log.read_text()
    assert "Internal error in RDB reading offset" in log
    assert "Terminating server after rdb file reading failure." in log


def test_a_snapshot_whose_library_cannot_load_stops_the_start_naming_the_offset(
    tmp_path: Path,
) -> None:
    """The same library twice in the file: the second FUNCTION entry is refused, and the start
    stops as for any bad file (with its offset), not with a traceback."""
    code = LIBRARY.encode()
    save_rdb_file(str(tmp_path / "dump.rdb"), Keyspace(16), [code, code])
    first_entry = len(b"REDIS0010")
    server = zyst_process(tmp_path, *NO_AOF, "--save", "")
    with contextlib.suppress(RuntimeError):
        server.start()
    assert server.proc is not None
    assert server.proc.wait(timeout=30) == 1
    log = server.log.read_text()
    assert "Traceback" not in log
    match = re.search(r"Internal error in RDB reading offset (\d+) -> function library failed", log)
    assert match is not None, log
    assert int(match.group(1)) > first_entry  # the second entry's, not the file's start
    assert "Library 'savedlib' already exists" in log


# -- the schedule -----------------------------------------------------------------------------
def test_the_save_schedule_starts_a_background_save(tmp_path: Path) -> None:
    with zyst_process(tmp_path, *NO_AOF, "--save", "1 3") as server:
        c = connect(server)
        c.set("a", 1)
        c.set("b", 2)
        assert info(c)["rdb_changes_since_last_save"] == "2"
        c.set("c", 3)
        wait_until(
            lambda: info(c)["rdb_changes_since_last_save"] == "0" and info(c)["rdb_saves"] == "1",
            "the scheduled save",
        )
        assert "3 changes in 1 seconds. Saving..." in server.log.read_text()
        c.close()
        os.kill(server.proc.pid, signal.SIGKILL)  # no final save: the schedule's file stays
        server.proc.wait()
    with zyst_process(tmp_path, *NO_AOF, "--save", "") as server:
        c = connect(server)
        assert sorted(c.keys("*")) == [b"a", b"b", b"c"]
        c.close()


def test_bgsave_schedule_while_a_child_runs(tmp_path: Path) -> None:
    with zyst_process(tmp_path, *NO_AOF, "--save", "") as server:
        c = connect(server)
        for i in range(20):
            c.set(f"k{i}", i)
        c.config_set("rdb-key-save-delay", 100_000)  # 2 s for 20 keys
        assert raw(server, "BGSAVE") == b"+Background saving started\r\n"
        for command in (("BGSAVE",), ("BGSAVE", "SCHEDULE"), ("SAVE",)):
            with pytest.raises(redis.ResponseError, match=r"^Background save already in progress$"):
                c.execute_command(*command)
        c.config_set("rdb-key-save-delay", 0)
        wait_until(lambda: info(c)["rdb_bgsave_in_progress"] == "0", "the BGSAVE")
        # Inside a transaction a BGSAVE is scheduled, and the cron starts it.
        with RawConnection(server.port) as conn:
            assert conn.pipeline([("MULTI",), ("BGSAVE",), ("EXEC",)]) == [
                b"+OK\r\n",
                b"+QUEUED\r\n",
                b"*1\r\n+Background saving scheduled\r\n",
            ]
        wait_until(lambda: info(c)["rdb_saves"] == "2", "the scheduled BGSAVE")
        c.close()


def test_a_running_child_reports_its_copy_on_write_and_logs_as_a_child(tmp_path: Path) -> None:
    """INFO's current_cow_* fields come from the running child's reports (zeros when none
    runs), and the child's log lines are marked ``C`` where the server's are ``M``."""
    with zyst_process(tmp_path, *NO_AOF, "--save", "") as server:
        c = connect(server)
        for i in range(20):
            c.set(f"k{i}", i)
        assert info(c)["current_cow_size"] == "0"
        c.config_set("rdb-key-save-delay", 150_000)  # 3 s for 20 keys
        assert raw(server, "BGSAVE") == b"+Background saving started\r\n"
        wait_until(lambda: int(info(c)["current_cow_size"]) > 0, "a report from the child")
        fields = info(c)
        assert int(fields["current_cow_peak"]) >= int(fields["current_cow_size"]) > 0
        assert fields["rdb_bgsave_in_progress"] == "1"
        wait_until(lambda: info(c)["rdb_bgsave_in_progress"] == "0", "the BGSAVE")
        fields = info(c)
        assert fields["current_cow_size"] == fields["current_cow_peak"] == "0"
        assert int(fields["rdb_last_cow_size"]) > 0
        server_pid = c.info("server")["process_id"]
        c.close()
    lines = server.log.read_text().splitlines()
    child = [line for line in lines if "Fork CoW for RDB" in line]
    assert len(child) == 1
    pid, role = child[0].split(" ", 1)[0].split(":")
    assert role == "C" and int(pid) != server_pid
    assert any(line.startswith(f"{server_pid}:M ") for line in lines)
    assert not any(line.startswith(f"{server_pid}:C ") for line in lines)


# -- stopping ---------------------------------------------------------------------------------
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_saves_when_a_schedule_is_set(tmp_path: Path, sig: int) -> None:
    with zyst_process(tmp_path, *NO_AOF) as server:  # the default schedule
        c = connect(server)
        c.set("k", "v")
        c.close()
        assert server.proc is not None
        server.proc.send_signal(sig)
        assert server.proc.wait(timeout=30) == 0
    assert "Saving the final RDB snapshot before exiting." in server.log.read_text()
    with zyst_process(tmp_path, *NO_AOF, "--save", "") as server:
        c = connect(server)
        assert c.get("k") == b"v"
        c.close()


def test_no_schedule_no_final_save(tmp_path: Path) -> None:
    with zyst_process(tmp_path, *NO_AOF, "--save", "") as server:
        c = connect(server)
        c.set("k", "v")
        c.close()
    assert not (tmp_path / "dump.rdb").exists()


@pytest.mark.parametrize(
    ("schedule", "args", "saved"),
    [
        ("3600 1", [], True),
        ("3600 1", ["NOSAVE"], False),
        ("", ["SAVE"], True),
        ("", [], False),
        ("3600 1", ["NOW", "FORCE"], True),
    ],
)
def test_shutdown_saves_as_asked(
    tmp_path: Path, schedule: str, args: list[str], saved: bool
) -> None:
    with zyst_process(tmp_path, *NO_AOF, "--save", schedule) as server:
        c = connect(server)
        c.set("k", "v")
        with pytest.raises(redis.ConnectionError):
            c.execute_command("SHUTDOWN", *args)
        assert server.proc is not None
        assert server.proc.wait(timeout=30) == 0
    assert (tmp_path / "dump.rdb").exists() == saved


def test_shutdown_stops_a_background_save_and_removes_its_file(tmp_path: Path) -> None:
    with zyst_process(tmp_path, *NO_AOF, "--save", "") as server:
        c = connect(server)
        for i in range(50):
            c.set(f"k{i}", i)
        c.config_set("rdb-key-save-delay", 1_000_000)  # 50 s: it would outlive the test
        c.execute_command("BGSAVE")
        wait_until(lambda: temp_files(tmp_path) != [], "the child's temporary file")
        child = int(temp_files(tmp_path)[0][len("temp-") : -len(".rdb")])
        with pytest.raises(redis.ConnectionError):
            c.execute_command("SHUTDOWN", "NOSAVE")
        assert server.proc is not None
        assert server.proc.wait(timeout=30) == 0
    assert temp_files(tmp_path) == []
    assert not (tmp_path / "dump.rdb").exists()
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)
    assert "There is a child saving an .rdb. Killing it!" in server.log.read_text()


def test_a_failed_final_save_keeps_the_server_running_unless_forced(tmp_path: Path) -> None:
    with zyst_process(tmp_path, *NO_AOF, "--save", "3600 1") as server:
        c = connect(server)
        # (Answered once the start-up load is over: the port is open before it.)
        assert c.ping()
        # A directory where the snapshot should go: the rename over it fails.
        (tmp_path / "dump.rdb").mkdir()
        c.set("k", "v")
        for args in ([], ["SAVE"], ["NOW"]):
            with pytest.raises(
                redis.ResponseError, match=r"^Errors trying to SHUTDOWN\. Check logs\.$"
            ):
                c.execute_command("SHUTDOWN", *args)
        assert c.get("k") == b"v"
        assert server.proc is not None
        server.proc.send_signal(signal.SIGTERM)
        # The signal's shutdown fails the same way: still serving.
        wait_until(
            lambda: "SIGTERM received but errors trying to shut down" in server.log.read_text(),
            "the failed shutdown",
        )
        assert c.ping()
        assert temp_files(tmp_path) == []
        with pytest.raises(redis.ConnectionError):
            c.execute_command("SHUTDOWN", "FORCE")
        assert server.proc.wait(timeout=30) == 0
    assert "Error trying to save the DB. Exit anyway." in server.log.read_text()


def test_flushall_saves_the_empty_dataset_when_a_schedule_is_set(tmp_path: Path) -> None:
    with zyst_process(tmp_path, *NO_AOF, "--save", "3600 1") as server:
        c = connect(server)
        c.set("k", "v")
        c.execute_command("SAVE")
        c.flushall()
        assert info(c)["rdb_changes_since_last_save"] == "0"
        os.kill(server.proc.pid, signal.SIGKILL)  # no final save
        server.proc.wait()
    with zyst_process(tmp_path, *NO_AOF, "--save", "") as server:
        c = connect(server)
        assert c.dbsize() == 0
        c.close()
