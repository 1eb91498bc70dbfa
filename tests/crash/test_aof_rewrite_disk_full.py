"""A disk that fills up or fails during an AOF rewrite, as Redis 7.0 handles it: the rewrite
fails (``aof_last_bgrewrite_status:err``), the old base and incremental files stay the ones the
manifest names and the ones in use, no temporary file is left, writes go on being acknowledged (a
failed rewrite alone refuses nothing; only a failed AOF write does), no acknowledged write is
lost across a kill -9, and the next rewrite works.

Where it fails:

- in the child, writing the base (a full disk: ENOSPC);
- at the start, making the manifest that names the new incremental file durable (a full disk, or
  the directory's fsync after the manifest's rename);
- at the end, renaming the child's file into the directory, or making the manifest that names it
  durable (a full disk, or the directory's fsync after the manifest's rename).

The disk is :class:`tests.crash.test_disk_faults.SmallDisk`; the faults no real disk shows on
demand come from ``faulty_zyst.py`` (fault files holding a path pattern).
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from tests.conftest import wait_until
from tests.crash.test_disk_faults import (
    LimitedServer,
    SmallDisk,
    connect,
    zyst_on,
)
from zyst import errors
from zyst.protocol.resp import encode_command

OPTIONS = ("--aof-use-rdb-preamble", "yes", "--auto-aof-rewrite-percentage", "0", "--save", "")
STARTED = b"+Background append only file rewriting started\r\n"
MANIFEST = "appendonly.aof.manifest"
Written = dict[bytes, bytes]


@pytest.fixture
def faults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The directory faulty_zyst.py watches for fault files."""
    path = tmp_path / "faults"
    path.mkdir()
    monkeypatch.setenv("ZYST_FAULTS", str(path))
    return path


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[SmallDisk]:
    small = SmallDisk(tmp_path / "disk", 512 * 1024)
    if not small.tmpfs:
        small.close()
        pytest.fail("these tests need a tmpfs (run as root): a file-size limit is no full disk")
    try:
        yield small
    finally:
        small.close()


def fill(disk: SmallDisk) -> None:
    """Take every free byte of the disk (unbuffered: nothing is left to fail at the close)."""
    with (disk.path / "filler").open("ab", buffering=0) as out:
        try:
            while True:
                out.write(b"\0" * 4096)
        except OSError:
            pass


def write(c: redis.Redis, written: Written, count: int, rng: random.Random) -> None:
    """``count`` new 1 KB keys, each acknowledged (a refusal raises)."""
    for _ in range(count):
        key = b"key:%d" % len(written)
        value = rng.randbytes(1000)
        assert c.set(key, value) is True
        written[key] = value


def assert_all_there(port: int, written: Written) -> None:
    c = redis.Redis(port=port, protocol=2)
    try:
        assert c.dbsize() == len(written)
        keys = list(written)
        assert c.mget(keys) == [written[key] for key in keys]
    finally:
        c.close()


def manifest_files(data: Path) -> list[str]:
    text = (data / "appendonlydir" / MANIFEST).read_text()
    return [line.split()[1] for line in text.splitlines() if line.strip()]


def assert_files_whole(data: Path, named: list[str]) -> None:
    """The manifest names ``named`` (the files in use), all there; no temporary file is left."""
    assert manifest_files(data) == named
    for name in named:
        assert (data / "appendonlydir" / name).exists(), f"{name} is gone"
    assert [name for name in os.listdir(data) if name.startswith("temp-rewriteaof")] == []


def rewrite_ended(c: redis.Redis, status: str) -> Callable[[], bool]:
    def ended() -> bool:
        fields = c.info("persistence")
        return bool(
            fields["aof_rewrite_in_progress"] == 0 and fields["aof_last_bgrewrite_status"] == status
        )

    return ended


def restart_check(tmp_path: Path, data: Path, name: str, written: Written) -> None:
    """Start a server on ``data`` (a crash's leftovers) and find every acknowledged write."""
    workdir = tmp_path / name
    workdir.mkdir()
    with zyst_on(workdir, data, *OPTIONS) as restarted:
        assert_all_there(restarted.port, written)


def check_as_if_killed(tmp_path: Path, disk: SmallDisk, name: str, written: Written) -> None:
    """What a kill -9 would leave now (no write in flight: the files are the state) loads
    every acknowledged write: checked on a copy, the server goes on."""
    copy = tmp_path / name / "data"
    shutil.copytree(disk.path / "appendonlydir", copy / "appendonlydir")
    restart_check(tmp_path, copy, f"{name}-server", written)


def rewrite_and_crash(
    tmp_path: Path,
    server: LimitedServer,
    c: redis.Redis,
    faults: Path,
    written: Written,
    rng: random.Random,
) -> None:
    """After the failure: writes are still acknowledged; with room again BGREWRITEAOF works
    (a crash while its child runs, or after it, loses nothing); kill -9; a restart has all."""
    write(c, written, 5, rng)
    assert c.ping() is True
    assert server.disk is not None
    (faults / "fsync-entered").unlink(missing_ok=True)
    (faults / "fsync-hold").write_text("*/temp-rewriteaof-bg-*.aof")
    assert c.execute_command("BGREWRITEAOF") is True
    wait_until((faults / "fsync-entered").exists, "the child's fsync")
    write(c, written, 5, rng)
    check_as_if_killed(tmp_path, server.disk, "during-rewrite", written)
    (faults / "fsync-hold").unlink()
    wait_until(rewrite_ended(c, "ok"), "the rewrite with room")
    assert c.info("persistence")["aof_rewrites_consecutive_failures"] == 0
    write(c, written, 10, rng)
    c.close()
    server.kill()
    restart_check(tmp_path, server.disk.path, "restarted", written)


# -- 1. the child's base does not fit ---------------------------------------------------------
@pytest.mark.parametrize("policy", ["always", "everysec"])
def test_bgrewriteaof_on_a_full_disk(
    tmp_path: Path,
    disk: SmallDisk,
    faults: Path,
    policy: str,
) -> None:
    rng = random.Random(policy)
    server = zyst_on(tmp_path, disk.path, "--appendfsync", policy, *OPTIONS, disk=disk)
    with server:
        assert server.pid is not None
        c = redis.Redis(port=server.port, protocol=2, socket_timeout=30)
        written: Written = {}
        write(c, written, 150, rng)
        before = manifest_files(disk.path)
        # Hold the rewrite's start once its new incremental file exists (at the fsync of the
        # manifest naming it), give that file room to grow, and fill the rest of the disk: the
        # child's base finds no room, while every AOF write still has some.
        (faults / "fsync-hold").write_text("*.manifest")
        starter = connect(server.port)
        starter.send_raw(encode_command([b"BGREWRITEAOF"]))
        wait_until((faults / "fsync-entered").exists, "the start of the rewrite")
        names = os.listdir(disk.path / "appendonlydir")
        incr = [name for name in names if name.endswith(".incr.aof") and name not in before]
        assert len(incr) == 1
        new_incr = disk.path / "appendonlydir" / incr[0]
        subprocess.run(["fallocate", "-n", "-l", "96KiB", str(new_incr)], check=True)
        fill(disk)
        (faults / "fsync-hold").unlink()
        assert starter.read_reply() == STARTED
        starter.close()
        # Writes while the child fails and after: all acknowledged (no MISCONF).
        write(c, written, 20, rng)
        wait_until(rewrite_ended(c, "err"), "the failed rewrite")
        fields = c.info("persistence")
        assert fields["aof_rewrites_consecutive_failures"] == 1
        assert fields["aof_last_write_status"] == "ok"
        write(c, written, 20, rng)
        assert c.ping() is True
        assert_files_whole(disk.path, [*before, incr[0]])
        check_as_if_killed(tmp_path, disk, "after-failure", written)
        disk.grow(server.pid)
        rewrite_and_crash(tmp_path, server, c, faults, written, rng)


# -- 2. the manifest (or the rename) at the start or the end ----------------------------------
def _full_disk(disk: SmallDisk, server: LimitedServer, faults: Path) -> Callable[[], None]:
    fill(disk)
    return lambda: disk.grow(server.pid)


def _fault(
    kind: str, pattern: str
) -> Callable[[SmallDisk, LimitedServer, Path], Callable[[], None]]:
    def inject(disk: SmallDisk, server: LimitedServer, faults: Path) -> Callable[[], None]:
        (faults / kind).write_text(pattern)
        return (faults / kind).unlink

    return inject


FAULTS = {
    # At the start: the new incremental file is made, the manifest naming it is not durable.
    "start/disk-full": ("start", _full_disk),
    "start/dir-fsync": ("start", _fault("fsync-fail", "*/appendonlydir")),
    # At the end: the child's file is complete, installing it fails.
    "end/rename": ("end", _fault("rename-fail", "*.base.rdb")),
    "end/disk-full": ("end", _full_disk),
    "end/dir-fsync": ("end", _fault("fsync-fail", "*/appendonlydir")),
}


@pytest.mark.parametrize("case", list(FAULTS))
def test_a_failed_manifest_update_keeps_the_old_files(
    tmp_path: Path,
    disk: SmallDisk,
    faults: Path,
    case: str,
) -> None:
    when, inject = FAULTS[case]
    rng = random.Random(case)
    server = zyst_on(tmp_path, disk.path, "--appendfsync", "everysec", *OPTIONS, disk=disk)
    with server:
        c = redis.Redis(port=server.port, protocol=2, socket_timeout=30)
        written: Written = {}
        write(c, written, 100, rng)
        before = manifest_files(disk.path)
        if when == "start":
            clear = inject(disk, server, faults)
            with pytest.raises(redis.ResponseError) as failed:
                c.execute_command("BGREWRITEAOF")
            assert str(failed.value) == errors.AOF_REWRITE_FAILED.removeprefix("ERR ")
            failures = 0  # Redis counts only a rewrite that started
        else:
            # The child holds at its file's fsync (the file written whole) while the fault is
            # put in place.
            (faults / "fsync-hold").write_text("*/temp-rewriteaof-bg-*.aof")
            assert c.execute_command("BGREWRITEAOF") is True
            wait_until((faults / "fsync-entered").exists, "the child's fsync")
            clear = inject(disk, server, faults)
            (faults / "fsync-hold").unlink()
            failures = 1
        wait_until(rewrite_ended(c, "err"), "the failed rewrite")
        assert c.info("persistence")["aof_rewrites_consecutive_failures"] == failures
        clear()
        # The old files stay: the manifest before (and the incremental file a started rewrite
        # added). A manifest renamed in whose directory entry may not be durable can be either
        # (a crash may leave either), so every file of both must be there.
        now = manifest_files(disk.path)
        if not case.endswith("dir-fsync"):
            assert now == before + now[len(before) :] and len(now) - len(before) == (when == "end")
        assert_files_whole(disk.path, now)
        for name in before:
            assert (disk.path / "appendonlydir" / name).exists(), f"{name} is gone"
        write(c, written, 20, rng)
        assert c.info("persistence")["aof_last_write_status"] == "ok"
        check_as_if_killed(tmp_path, disk, "after-failure", written)
        rewrite_and_crash(tmp_path, server, c, faults, written, rng)
