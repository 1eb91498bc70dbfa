"""A disk that fills up during BGSAVE: the child fails, the old snapshot stays whole, no temporary
file is left, writes are refused with Redis's MISCONF (stop-writes-on-bgsave-error) while reads
go on, and once there is room again a BGSAVE works, writes are accepted, and the snapshot holds
the dataset. The full disk is :class:`tests.crash.test_disk_faults.SmallDisk` (a small tmpfs as
root, else a file-size limit on the server, which its forked child inherits).
"""

from __future__ import annotations

import os
import random
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from tests.conftest import free_port, wait_until, zyst_process
from tests.crash.dataset import dump_dataset
from tests.crash.test_disk_faults import FAULTY_ZYST, LimitedServer, SmallDisk

MISCONF = (
    "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist "
    "to disk. Commands that may modify the data set are disabled, because this instance is "
    "configured to report errors during writes if RDB snapshotting fails "
    "(stop-writes-on-bgsave-error option). Please check the Redis logs for details about the "
    "RDB error."
)


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[SmallDisk]:
    small = SmallDisk(tmp_path / "disk", 256 * 1024)
    try:
        yield small
    finally:
        small.close()


def bgsave_ended(c: redis.Redis, status: str) -> Callable[[], bool]:
    def ended() -> bool:
        fields = c.info("persistence")
        return bool(
            fields["rdb_bgsave_in_progress"] == 0 and fields["rdb_last_bgsave_status"] == status
        )

    return ended


def test_bgsave_on_a_full_disk_refuses_writes_until_a_save_works(
    tmp_path: Path, disk: SmallDisk
) -> None:
    port = free_port()
    argv = [sys.executable, "-m", "zyst", "--port", str(port), "--dir", str(disk.path)]
    argv += ["--appendonly", "no", "--save", "3600 1", "--rdbcompression", "no"]
    server = LimitedServer(argv, port, tmp_path, disk)
    rng = random.Random(17)
    with server:
        c = redis.Redis(port=port, protocol=2, socket_timeout=30)
        c.set("first", "small")
        c.execute_command("SAVE")
        first = (disk.path / "dump.rdb").read_bytes()
        # A dataset four times the disk: no snapshot of it fits.
        pipe = c.pipeline(transaction=False)
        for i in range(1000):
            pipe.set(f"key:{i}", rng.randbytes(1024))
        pipe.execute()
        c.execute_command("BGSAVE")
        wait_until(bgsave_ended(c, "err"), "the failed BGSAVE")
        assert (disk.path / "dump.rdb").read_bytes() == first
        assert [name for name in os.listdir(disk.path) if name.startswith("temp-")] == []
        with pytest.raises(redis.ResponseError) as refused:
            c.set("refused", "v")
        assert str(refused.value) == MISCONF
        with pytest.raises(redis.ResponseError):
            c.ping()
        assert c.get("first") == b"small"
        # Room again: the next BGSAVE works and writes are accepted.
        disk.grow(server.pid)
        c.execute_command("BGSAVE")
        wait_until(bgsave_ended(c, "ok"), "the BGSAVE with room")
        assert c.set("accepted", "v")
        c.delete("accepted")
        expected = dump_dataset(c)
        c.close()
        server.kill()  # no final save: the snapshot is the BGSAVE's
    data = tmp_path / "copy"
    data.mkdir()
    (data / "dump.rdb").write_bytes((disk.path / "dump.rdb").read_bytes())
    with zyst_process(data, "--appendonly", "no", "--save", "") as restarted:
        c = redis.Redis(port=restarted.port, protocol=2)
        assert dump_dataset(c) == expected
        c.close()


def test_the_rdb_refusal_wins_over_the_aof_s_and_outlives_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both files fail at once (every fsync fails): writes get the RDB's MISCONF, as Redis's
    # writeCommandsDeniedByDiskError checks it first; when the AOF recovers, the RDB's refusal
    # stays until a BGSAVE works.
    faults = tmp_path / "faults"
    faults.mkdir()
    monkeypatch.setenv("ZYST_FAULTS", str(faults))
    data = tmp_path / "data"
    data.mkdir()
    port = free_port()
    argv = [sys.executable, str(FAULTY_ZYST), "--port", str(port), "--dir", str(data)]
    argv += ["--appendonly", "yes", "--appendfsync", "everysec", "--save", "3600 1"]
    with LimitedServer(argv, port, tmp_path, None):
        c = redis.Redis(port=port, protocol=2, socket_timeout=30)
        c.set("k", "v")
        (faults / "fsync-fail").touch()
        c.execute_command("BGSAVE")
        wait_until(bgsave_ended(c, "err"), "the failed BGSAVE")
        # The AOF's fsync runs once a second (everysec) and fails too.
        wait_until(
            lambda: c.info("persistence")["aof_last_write_status"] == "err", "the AOF's fsync"
        )
        with pytest.raises(redis.ResponseError) as refused:
            c.set("k", "w")
        assert str(refused.value) == MISCONF
        (faults / "fsync-fail").unlink()
        wait_until(
            lambda: c.info("persistence")["aof_last_write_status"] == "ok", "the AOF's recovery"
        )
        with pytest.raises(redis.ResponseError) as refused:
            c.set("k", "w")
        assert str(refused.value) == MISCONF
        c.execute_command("BGSAVE")
        wait_until(bgsave_ended(c, "ok"), "the BGSAVE that works")
        assert c.set("k", "w")
        c.close()
