"""A disk that fills up or fails: no write is ever acknowledged that the AOF does not hold.

What Redis 7 does, and so Zyst:

- ``appendfsync always``: a failed AOF write or fsync ends the process before any reply that
  depends on it leaves;
- ``everysec`` and ``no``: writes (and PING) are refused with ``MISCONF`` while reads go on, the
  unwritten tail is kept and retried, and writes are accepted again once it is written. Zyst also
  holds the replies of the writes caught in the failed batch until they are in the file.

The full disk is a small tmpfs when this process may mount one (root in CI), else a file-size
limit (RLIMIT_FSIZE) on the server process. Faults a real disk cannot be made to show on demand
(a failing or slow fsync, a slow write) are injected by ``faulty_zyst.py``, the real server with
``os.fsync``/``os.write`` wrapped.
"""

from __future__ import annotations

import contextlib
import random
import resource
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import RawConnection, ServerProcess, aof_files, free_port, wait_until
from zyst.keyspace import Keyspace
from zyst.persistence.aof import load_aof
from zyst.persistence.rdbfile import load_rdb
from zyst.protocol.resp import encode_command

VALUE = b"v" * 1000
FAULTY_ZYST = Path(__file__).with_name("faulty_zyst.py")


# -- a disk that fills up ----------------------------------------------------------------------
class SmallDisk:
    """A directory on a disk of ``size`` bytes; :meth:`grow` gives it room again."""

    def __init__(self, path: Path, size: int) -> None:
        self.path = path
        self.size = size
        path.mkdir(parents=True)
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
            capture_output=True,
        )
        self.tmpfs = mounted.returncode == 0
        self.filler = path / "filler"
        # What strerror says once the disk is full. At a file-size limit a write that starts
        # below it is short, which Redis (and so Zyst) reports as ENOSPC; one that starts at it
        # fails with EFBIG.
        self.full_errors = {"No space left on device"}
        if not self.tmpfs:
            self.full_errors.add("File too large")

    def preexec(self) -> None:
        """Run in the server's process before exec: the file-size limit, when not on tmpfs."""
        if not self.tmpfs:
            # Without this the kernel kills the process at the limit instead of failing write().
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            # Only the soft limit: the test may raise it again without privileges.
            resource.setrlimit(resource.RLIMIT_FSIZE, (self.size, resource.RLIM_INFINITY))

    def fill(self, pid: int, aof: Path) -> None:
        """Leave no room for the AOF to grow, behind the server's back."""
        if self.tmpfs:
            with self.filler.open("wb") as out, contextlib.suppress(OSError):
                while True:
                    out.write(b"\0" * 4096)
                    out.flush()
        else:
            size = aof.stat().st_size
            resource.prlimit(pid, resource.RLIMIT_FSIZE, (size, resource.RLIM_INFINITY))

    def grow(self, pid: int | None) -> None:
        self.filler.unlink(missing_ok=True)
        if self.tmpfs:
            subprocess.run(
                ["mount", "-o", "remount,size=64m", str(self.path)], check=True, capture_output=True
            )
        elif pid is not None:
            unlimited = (resource.RLIM_INFINITY, resource.RLIM_INFINITY)
            resource.prlimit(pid, resource.RLIMIT_FSIZE, unlimited)

    def close(self) -> None:
        if self.tmpfs:
            subprocess.run(["umount", "-l", str(self.path)], capture_output=True)


class LimitedServer(ServerProcess):
    """A server process started with ``preexec`` run in the child (a file-size limit)."""

    def __init__(self, argv: list[str], port: int, workdir: Path, disk: SmallDisk | None) -> None:
        super().__init__(argv, port, workdir)
        self.disk = disk
        self.preexec = disk.preexec if disk is not None else None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def zyst_on(
    workdir: Path, data: Path, *extra: str, disk: SmallDisk | None = None, port: int | None = None
) -> LimitedServer:
    port = port or free_port()
    argv = [sys.executable, str(FAULTY_ZYST), "--port", str(port), "--dir", str(data)]
    argv += ["--appendonly", "yes", *extra]
    return LimitedServer(argv, port, workdir, disk)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    disk = SmallDisk(tmp_path / "disk", 96 * 1024)
    try:
        yield disk
    finally:
        disk.close()


@pytest.fixture
def faults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The directory faulty_zyst.py watches for fault files."""
    path = tmp_path / "faults"
    path.mkdir()
    monkeypatch.setenv("ZYST_FAULTS", str(path))
    return path


# -- talking to the server ---------------------------------------------------------------------
_OPEN: list[RawConnection] = []


def connect(port: int) -> RawConnection:
    """A raw connection closed at the end of the test, whatever happens in it, to a server
    done starting (its first PING answered: the start fsyncs the AOF directory, which a fault
    injected too early would make fail)."""
    conn = RawConnection(port)
    _OPEN.append(conn)
    assert conn.command("PING") == b"+PONG\r\n"
    return conn


@pytest.fixture(autouse=True)
def _close_connections() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


def readable(conn: RawConnection) -> bool:
    return bool(select.select([conn.sock], [], [], 0)[0])


def closed_without_reply(conn: RawConnection) -> bool:
    """Whether the server closed ``conn`` sending nothing more (EOF, or a reset)."""
    try:
        return conn.sock.recv(100) == b""
    except ConnectionResetError:
        return True


def set_key(conn: RawConnection, n: int) -> None:
    conn.send_raw(encode_command([b"SET", b"key:%d" % n, VALUE]))


def reply_or_refusal(writer: RawConnection, probe: RawConnection) -> bytes | None:
    """The writer's reply, or None once the probe sees the server refuse writes (the writer's
    reply then stays held) or the server is gone. Replies that left before the refusal are in
    the writer's socket by the time the probe's PING is answered, so none is missed."""
    while True:
        if readable(writer):
            try:
                return writer.read_reply()
            except ConnectionError:
                return None
        try:
            pong = probe.command("PING")
        except (ConnectionError, OSError):
            return None
        if pong.startswith(b"-MISCONF"):
            return writer.read_reply() if readable(writer) else None


def fill_until_refused(port: int) -> tuple[list[int], int, RawConnection, RawConnection]:
    """SET 1 KB values one at a time until one is not acknowledged: ``(acknowledged numbers,
    the number left waiting, writer, probe)``."""
    writer, probe = connect(port), connect(port)
    acknowledged: list[int] = []
    for n in range(10_000):
        set_key(writer, n)
        reply = reply_or_refusal(writer, probe)
        if reply is None:
            return acknowledged, n, writer, probe
        assert reply == b"+OK\r\n"
        acknowledged.append(n)
    raise AssertionError("the disk never filled up")


def keys_in_aof(data_dir: Path) -> set[bytes]:
    """The keys of the AOF directory in ``data_dir``: those of its base's RDB part, and those
    its commands name."""
    keys: set[bytes] = set()
    base = Keyspace(16)
    for path in aof_files(data_dir):
        load_aof(
            str(path),
            lambda db, argv: keys.add(argv[1]),
            preamble=lambda fileobj: load_rdb(fileobj, base, lambda code: None),
        )
    return keys | {key for db in base.dbs for key in db.data}


def assert_all_back(port: int, numbers: list[int]) -> None:
    conn = connect(port)
    try:
        for n in numbers:
            reply = conn.command("GET", b"key:%d" % n)
            assert reply == b"$1000\r\n" + VALUE + b"\r\n", f"key:{n} lost"
    finally:
        conn.close()


# -- a full disk -------------------------------------------------------------------------------
@dataclass
class FilledDisk:
    """A server whose AOF is on a small disk, written to until one write was not acknowledged."""

    server: LimitedServer
    acknowledged: list[int]
    waiting: int
    """The number of the write left unacknowledged."""
    writer: RawConnection
    probe: RawConnection


@pytest.fixture
def filled(
    tmp_path: Path, small_disk: SmallDisk, faults: Path, policy: str
) -> Iterator[FilledDisk]:
    """``policy`` is the test's parameter: the appendfsync policy of the server."""
    with zyst_on(tmp_path, small_disk.path, "--appendfsync", policy, disk=small_disk) as server:
        yield FilledDisk(server, *fill_until_refused(server.port))


def restarted_on(tmp_path: Path, disk: SmallDisk, filled: FilledDisk) -> LimitedServer:
    """The server of ``filled`` started again on the same data (after it died)."""
    return zyst_on(tmp_path, disk.path, port=filled.server.port)


@pytest.mark.parametrize("policy", ["everysec", "no"])
def test_full_disk_refuses_writes_keeps_the_tail_and_recovers(
    tmp_path: Path, small_disk: SmallDisk, filled: FilledDisk
) -> None:
    acknowledged, writer, probe = filled.acknowledged, filled.writer, filled.probe
    misconf = probe.command("PING").decode()
    assert misconf in {
        f"-MISCONF Errors writing to the AOF file: {error}\r\n" for error in small_disk.full_errors
    }
    # Every acknowledged write is in the file; the one caught by the full disk is not
    # acknowledged (its reply is held), and nothing more is accepted.
    assert {b"key:%d" % n for n in acknowledged} <= keys_in_aof(small_disk.path)
    assert not readable(writer)
    assert probe.command("SET", "refused", "x").decode() == misconf
    assert probe.command("PING").decode() == misconf
    assert probe.command("INCR", "counter").decode() == misconf
    # Reads go on.
    assert probe.command("GET", b"key:%d" % acknowledged[0]) == b"$1000\r\n" + VALUE + b"\r\n"
    assert probe.command("EXISTS", "refused") == b":0\r\n"
    assert b"aof_last_write_status:err" in probe.command("INFO", "persistence")

    small_disk.grow(filled.server.pid)
    # The cron retries the tail; once it is written the held reply leaves and writes are
    # accepted again.
    wait_until(lambda: probe.command("PING") == b"+PONG\r\n", "the AOF write to recover")
    assert writer.read_reply() == b"+OK\r\n"
    acknowledged.append(filled.waiting)
    assert probe.command("SET", "after", "yes") == b"+OK\r\n"
    assert b"aof_last_write_status:ok" in probe.command("INFO", "persistence")
    writer.close()
    probe.close()
    log = filled.server.log_text()
    failures = log.count("Error writing to the AOF file") + log.count(
        "Short write while writing to the AOF file"
    )
    assert failures == 1, log
    assert log.count("AOF write error looks solved, Zyst can write again.") == 1, log
    filled.server.kill()

    with restarted_on(tmp_path, small_disk, filled) as restarted:
        assert_all_back(restarted.port, acknowledged)
        conn = connect(restarted.port)
        assert conn.command("GET", "after") == b"$3\r\nyes\r\n"
        assert conn.command("EXISTS", "refused", "counter") == b":0\r\n"
        conn.close()


@pytest.mark.parametrize("policy", ["everysec", "no"])
def test_kill_9_on_a_full_disk_loses_nothing_acknowledged(
    tmp_path: Path, small_disk: SmallDisk, filled: FilledDisk
) -> None:
    filled.server.kill()
    filled.writer.close()
    filled.probe.close()
    small_disk.grow(None)
    with restarted_on(tmp_path, small_disk, filled) as restarted:
        assert_all_back(restarted.port, filled.acknowledged)
        # The file holds whole commands only: the short write was cut back.
        assert "short read" not in restarted.log_text()


@pytest.mark.parametrize("policy", ["always"])
def test_full_disk_under_always_exits_before_acknowledging(
    tmp_path: Path, small_disk: SmallDisk, filled: FilledDisk
) -> None:
    server = filled.server
    assert server.proc is not None
    assert server.proc.wait(timeout=60) == 1
    # The write that failed was never answered: its connection closed without a reply.
    assert closed_without_reply(filled.writer)
    filled.writer.close()
    filled.probe.close()
    log = server.log_text()
    assert (
        "Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting..."
        in log
    ), log
    assert not (small_disk.path / "zyst.lock").exists()
    assert {b"key:%d" % n for n in filled.acknowledged} <= keys_in_aof(small_disk.path)
    small_disk.grow(None)
    with restarted_on(tmp_path, small_disk, filled) as restarted:
        assert_all_back(restarted.port, filled.acknowledged)


# -- fsync and write faults, injected ----------------------------------------------------------
def send_held_set(conn: RawConnection, faults: Path, call: str) -> None:
    """Send a SET and wait until the server is inside ``call`` (``fsync`` or ``write``) for it,
    held there until the test removes ``<call>-hold``."""
    (faults / f"{call}-hold").touch()
    conn.send_raw(encode_command([b"SET", b"k", b"v"]))
    wait_until((faults / f"{call}-entered").exists, f"the AOF {call} to start")


def test_failing_fsync_under_always_exits_without_replying(tmp_path: Path, faults: Path) -> None:
    with zyst_on(tmp_path, tmp_path / "data", "--appendfsync", "always") as server:
        conn = connect(server.port)
        assert conn.command("SET", "before", "1") == b"+OK\r\n"
        send_held_set(conn, faults, "fsync")
        # Had the reply left before the fsync, +OK would be readable now.
        assert not readable(conn)
        (faults / "fsync-fail").touch()
        (faults / "fsync-hold").unlink()
        assert closed_without_reply(conn)
        conn.close()
        assert server.proc is not None and server.proc.wait(timeout=60) == 1
        assert (
            "Can't persist AOF for fsync error when the AOF fsync policy is 'always': "
            "Input/output error. Exiting..." in server.log_text()
        )


@pytest.mark.parametrize(
    ("policy", "call"), [("always", "fsync"), ("everysec", "write"), ("no", "write")]
)
def test_reply_waits_for_the_disk(tmp_path: Path, faults: Path, policy: str, call: str) -> None:
    """Under always the reply waits for the fsync; under everysec and no the AOF is written (not
    fsynced) before the reply leaves, so a crash of the process alone never loses an
    acknowledged write."""
    with zyst_on(tmp_path, tmp_path / "data", "--appendfsync", policy) as server:
        conn = connect(server.port)
        send_held_set(conn, faults, call)
        # The call has not returned: a reply sent before it would already be in the socket.
        assert not readable(conn)
        (faults / f"{call}-hold").unlink()
        assert conn.read_reply() == b"+OK\r\n"
        conn.close()


def test_failing_background_fsync_refuses_writes_until_one_succeeds(
    tmp_path: Path, faults: Path
) -> None:
    server = zyst_on(tmp_path, tmp_path / "data", "--appendfsync", "everysec").start()
    try:
        conn = connect(server.port)
        (faults / "fsync-fail").touch()
        assert conn.command("SET", "k", "v") == b"+OK\r\n"  # written; the fsync comes later
        misconf = b"-MISCONF Errors writing to the AOF file: Input/output error\r\n"
        wait_until(lambda: conn.command("PING") == misconf, "the background fsync to fail")
        assert conn.command("SET", "k2", "v") == misconf
        assert conn.command("GET", "k") == b"$1\r\nv\r\n"
        (faults / "fsync-fail").unlink()
        wait_until(lambda: conn.command("PING") == b"+PONG\r\n", "an fsync to succeed")
        assert conn.command("SET", "k2", "v") == b"+OK\r\n"
        conn.close()
        log = server.log_text()
        assert log.count("Fail to fsync the AOF file: Input/output error") == 1, log
    finally:
        server.stop()


def test_config_set_appendonly_yes_replaces_the_old_file(tmp_path: Path, faults: Path) -> None:
    """Deleted keys must not come back: turning the AOF on writes a fresh file from the data."""
    data = tmp_path / "data"
    server = zyst_on(tmp_path, data, "--appendfsync", "always").start()
    try:
        conn = connect(server.port)
        assert conn.command("SET", "x", "1") == b"+OK\r\n"
        assert conn.command("SET", "kept", "1") == b"+OK\r\n"
        assert conn.command("CONFIG", "SET", "appendonly", "no") == b"+OK\r\n"
        assert conn.command("DEL", "x") == b":1\r\n"
        assert conn.command("SET", "while-off", "1") == b"+OK\r\n"
        assert conn.command("CONFIG", "SET", "appendonly", "yes") == b"+OK\r\n"
        assert conn.command("SET", "after", "1") == b"+OK\r\n"
        conn.close()
        assert not list(data.glob("temp-*"))
        server.kill()
        restarted = zyst_on(tmp_path, data, port=server.port).start()
        try:
            conn = connect(restarted.port)
            assert conn.command("EXISTS", "x") == b":0\r\n"
            assert conn.command("EXISTS", "kept", "while-off", "after") == b":3\r\n"
            conn.close()
        finally:
            restarted.stop()
    finally:
        server.stop()


def test_config_set_appendonly_yes_fails_cleanly_on_a_full_disk(
    tmp_path: Path, small_disk: SmallDisk, faults: Path
) -> None:
    server = zyst_on(tmp_path, small_disk.path, "--appendonly", "no", disk=small_disk).start()
    try:
        conn = connect(server.port)
        # Values that do not compress: the new base is an RDB, whose strings LZF would shrink.
        noise = random.Random(1).randbytes(len(VALUE))
        pipe = b"".join(encode_command([b"SET", b"key:%d" % n, noise]) for n in range(200))
        conn.send_raw(pipe)
        replies = b""
        while len(replies) < 200 * 5:
            replies += conn.sock.recv(65536)
        assert replies == b"+OK\r\n" * 200
        assert conn.command("CONFIG", "SET", "appendonly", "yes") == (
            b"-ERR CONFIG SET failed (possibly related to argument 'appendonly') - "
            b"Unable to turn on AOF. Check server logs.\r\n"
        )
        assert conn.command("CONFIG", "GET", "appendonly") == (
            b"*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n"
        )
        assert conn.command("SET", "still", "writable") == b"+OK\r\n"
        assert not list(small_disk.path.glob("temp-*"))
        conn.close()
    finally:
        with contextlib.suppress(Exception):
            server.stop()
