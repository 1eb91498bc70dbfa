"""The append-only file: writer, loader, and a file written by a real redis-server."""

from __future__ import annotations

import errno
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from zyst import errors
from zyst.persistence import aof
from zyst.persistence.aof import (
    AofCorruptError,
    AofFatalError,
    AofLoadResult,
    AofWriter,
    FsyncPolicy,
    load_aof,
    truncate_file,
)
from zyst.protocol.resp import encode_command

Command = tuple[int, list[bytes]]


def cmd(*args: str | bytes) -> list[bytes]:
    return [a.encode() if isinstance(a, str) else a for a in args]


def load(path: Path | str) -> tuple[list[Command], AofLoadResult]:
    seen: list[Command] = []
    result = load_aof(str(path), lambda db, argv: seen.append((db, argv)))
    return seen, result


def write_raw(path: Path, *argvs: list[bytes]) -> list[int]:
    """Write commands with encode_command; return the offset where each starts."""
    offsets = []
    chunks = []
    size = 0
    for argv in argvs:
        offsets.append(size)
        chunks.append(encode_command(argv))
        size += len(chunks[-1])
    path.write_bytes(b"".join(chunks))
    return offsets


@pytest.fixture
def aof_path(tmp_path: Path) -> Path:
    return tmp_path / "appendonly.aof"


# -- writer ------------------------------------------------------------------------------------
def test_round_trip_with_select_switching(aof_path: Path) -> None:
    commands = [
        (0, cmd("SET", "a", "1")),
        (0, cmd("INCR", "a")),
        (3, cmd("LPUSH", "l", "x", "y")),
        (3, cmd("DEL", "l")),
        (0, cmd("SET", "bin", b"\r\n\x00\xff" * 10)),
        (15, cmd("HSET", "h", "f", "v", "g", "w")),
        (15, cmd("SET", "empty", "")),
    ]
    writer = AofWriter(str(aof_path), FsyncPolicy.EVERYSEC)
    for db, argv in commands:
        writer.feed(db, argv)
    writer.close()

    seen, result = load(aof_path)
    assert seen == commands
    assert result.commands == len(commands)
    assert result.bytes_loaded == aof_path.stat().st_size
    assert not result.truncated and result.truncated_at is None

    # A SELECT is written exactly when the db changes, starting with the first command.
    expected = b"".join(
        [
            encode_command(cmd("SELECT", "0")),
            encode_command(commands[0][1]),
            encode_command(commands[1][1]),
            encode_command(cmd("SELECT", "3")),
            encode_command(commands[2][1]),
            encode_command(commands[3][1]),
            encode_command(cmd("SELECT", "0")),
            encode_command(commands[4][1]),
            encode_command(cmd("SELECT", "15")),
            encode_command(commands[5][1]),
            encode_command(commands[6][1]),
        ]
    )
    assert aof_path.read_bytes() == expected


def test_new_writer_appends_and_selects_again(aof_path: Path) -> None:
    first = AofWriter(str(aof_path), FsyncPolicy.NO)
    first.feed(4, cmd("SET", "a", "1"))
    first.close()
    size = aof_path.stat().st_size

    second = AofWriter(str(aof_path), FsyncPolicy.NO)
    assert second.size == size
    second.feed(0, cmd("SET", "b", "2"))
    second.flush()
    assert second.size == aof_path.stat().st_size
    second.close()
    second.close()  # closing twice is harmless

    assert aof_path.read_bytes()[size:].startswith(encode_command(cmd("SELECT", "0")))
    seen, _ = load(aof_path)
    assert seen == [(4, cmd("SET", "a", "1")), (0, cmd("SET", "b", "2"))]


def test_encoding_matches_encode_command_for_every_arity(aof_path: Path) -> None:
    writer = AofWriter(str(aof_path), FsyncPolicy.NO)
    argvs = [cmd(*[f"arg{i}" for i in range(n)]) for n in range(1, 8)]
    for argv in argvs:
        writer.feed(0, argv)
    writer.close()
    expected = encode_command(cmd("SELECT", "0")) + b"".join(encode_command(a) for a in argvs)
    assert aof_path.read_bytes() == expected


class FsyncCounter:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, fd: int) -> None:
        self.calls += 1


def failing_in_background(code: int = errno.EIO) -> Callable[[int], None]:
    """An fsync that fails with ``code`` in the worker thread and succeeds on the main one."""

    def fsync(fd: int) -> None:
        if threading.current_thread() is not threading.main_thread():
            raise OSError(code, os.strerror(code))

    return fsync


def writer_with_a_set(
    aof_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fsync: Callable[[int], None],
    policy: FsyncPolicy = FsyncPolicy.EVERYSEC,
    on_status: Callable[[str | None], None] | None = None,
) -> AofWriter:
    """A writer whose fsyncs go to ``fsync``, with one ``SET k v`` fed and flushed."""
    monkeypatch.setattr(os, "fsync", fsync)
    writer = AofWriter(str(aof_path), policy, on_status=on_status)
    writer.feed(0, cmd("SET", "k", "v"))
    writer.flush()
    return writer


@pytest.mark.parametrize("policy", list(FsyncPolicy))
def test_flush_writes_buffered_bytes(
    aof_path: Path, policy: FsyncPolicy, monkeypatch: pytest.MonkeyPatch
) -> None:
    fsync = FsyncCounter()
    monkeypatch.setattr(os, "fsync", fsync)
    writer = AofWriter(str(aof_path), policy)
    assert not writer.has_pending()
    writer.feed(0, cmd("SET", "k", "v"))
    assert writer.has_pending()
    assert aof_path.read_bytes() == b""  # nothing reaches the file before flush
    writer.flush()
    assert not writer.has_pending()
    data = encode_command(cmd("SELECT", "0")) + encode_command(cmd("SET", "k", "v"))
    assert aof_path.read_bytes() == data
    assert writer.size == len(data)
    assert fsync.calls == (1 if policy is FsyncPolicy.ALWAYS else 0)
    writer.flush()  # nothing pending: no write, no fsync
    assert fsync.calls == (1 if policy is FsyncPolicy.ALWAYS else 0)
    writer.close()
    assert writer.last_write_ok


def test_policy_can_change_at_runtime(aof_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fsync = FsyncCounter()
    writer = writer_with_a_set(aof_path, monkeypatch, fsync, FsyncPolicy.NO)
    assert fsync.calls == 0
    writer.policy = FsyncPolicy.ALWAYS
    writer.feed(0, cmd("SET", "k", "w"))
    writer.flush()
    assert fsync.calls == 1
    writer.close()


def test_flush_loops_on_partial_writes(aof_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_write = os.write

    def short_write(fd: int, data: bytes | memoryview) -> int:
        return real_write(fd, bytes(data[:3]))

    writer = AofWriter(str(aof_path), FsyncPolicy.NO)
    writer.feed(1, cmd("SET", "key", "a longer value"))
    monkeypatch.setattr(os, "write", short_write)
    writer.flush()
    monkeypatch.undo()
    writer.close()
    assert load(aof_path)[0] == [(1, cmd("SET", "key", "a longer value"))]


def _failing_writes(fail_after: int = 0, first_partial: int = 0) -> Callable[..., int]:
    """An ``os.write`` that writes ``first_partial`` bytes of its first call (0: all of it, for
    the first ``fail_after`` calls), then fails with ENOSPC, as a disk that fills up does."""
    real_write = os.write
    calls = 0

    def write(fd: int, data: bytes | memoryview) -> int:
        nonlocal calls
        calls += 1
        if calls <= fail_after:
            return real_write(fd, data)
        if first_partial and calls == fail_after + 1:
            return real_write(fd, bytes(data[:first_partial]))
        raise OSError(errno.ENOSPC, "No space left on device")

    return write


def test_short_write_is_cut_back_and_retried_whole(
    aof_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    statuses: list[str | None] = []
    writer = AofWriter(str(aof_path), FsyncPolicy.EVERYSEC, on_status=statuses.append)
    writer.feed(0, cmd("SET", "k", "v"))
    monkeypatch.setattr(os, "write", _failing_writes(first_partial=10))
    writer.flush()
    monkeypatch.undo()
    assert not writer.last_write_ok
    assert writer.write_error == "No space left on device"
    assert writer.refusal == "MISCONF Errors writing to the AOF file: No space left on device"
    assert statuses == [writer.refusal]
    assert writer.has_pending()
    # The partial command was cut off the file: it holds only whole commands.
    assert writer.size == 0 and aof_path.stat().st_size == 0
    assert writer.durable == 0 < writer.fed

    writer.feed(0, cmd("SET", "k2", "v2"))
    writer.flush()  # the disk has room again: the whole buffer is written
    assert writer.last_write_ok and writer.refusal is None
    assert statuses[-1] is None and len(statuses) == 2
    assert writer.durable == writer.fed
    writer.close()
    seen, result = load(aof_path)
    assert seen == [(0, cmd("SET", "k", "v")), (0, cmd("SET", "k2", "v2"))]
    assert not result.truncated


def test_short_write_that_cannot_be_cut_keeps_only_the_rest(
    aof_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_truncate(fd: int, size: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    writer = AofWriter(str(aof_path), FsyncPolicy.NO)
    writer.feed(0, cmd("SET", "k", "v"))
    monkeypatch.setattr(os, "write", _failing_writes(first_partial=10))
    monkeypatch.setattr(os, "ftruncate", no_truncate)
    writer.flush()
    monkeypatch.undo()
    assert writer.size == 10 and aof_path.stat().st_size == 10
    writer.flush()  # resumes after the 10 bytes that did reach the file
    assert writer.last_write_ok
    writer.close()
    assert load(aof_path)[0] == [(0, cmd("SET", "k", "v"))]


@pytest.mark.parametrize("partial", [0, 7])
def test_write_error_under_always_is_fatal(
    aof_path: Path, monkeypatch: pytest.MonkeyPatch, partial: int
) -> None:
    fatal: list[str] = []
    writer = AofWriter(str(aof_path), FsyncPolicy.ALWAYS, on_fatal=fatal.append)
    writer.feed(0, cmd("SET", "k", "v"))
    monkeypatch.setattr(os, "write", _failing_writes(first_partial=partial))
    with pytest.raises(AofFatalError):
        writer.flush()
    monkeypatch.undo()
    assert fatal == [
        "Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting..."
    ]
    assert writer.durable == 0
    assert aof_path.stat().st_size == 0


def test_fsync_error_under_always_is_fatal(aof_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_fsync(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    fatal: list[str] = []
    writer = AofWriter(str(aof_path), FsyncPolicy.ALWAYS, on_fatal=fatal.append)
    writer.feed(0, cmd("SET", "k", "v"))
    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(AofFatalError):
        writer.flush()
    monkeypatch.undo()
    assert fatal == [
        "Can't persist AOF for fsync error when the AOF fsync policy is 'always': "
        "Input/output error. Exiting..."
    ]
    # Written but not durable: nothing may acknowledge it.
    assert writer.durable == 0


def test_background_fsync_error_refuses_writes_until_an_fsync_succeeds(
    aof_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_fsync = os.fsync
    failing = True
    done = threading.Semaphore(0)

    def fsync(fd: int) -> None:
        try:
            if failing:
                raise OSError(errno.EIO, "Input/output error")
            real_fsync(fd)
        finally:
            done.release()

    statuses: list[str | None] = []
    writer = writer_with_a_set(aof_path, monkeypatch, fsync, on_status=statuses.append)
    writer.fsync_in_background()
    assert done.acquire(timeout=30)
    while writer.fsync_running():
        time.sleep(0.001)
    assert writer.refusal == "MISCONF Errors writing to the AOF file: Input/output error"
    assert writer.last_write_ok  # the write itself went through
    failing = False
    writer.fsync_in_background()  # nothing new written, but the last fsync failed: retried
    assert done.acquire(timeout=30)
    while writer.fsync_running():
        time.sleep(0.001)
    assert writer.refusal is None
    assert statuses == ["MISCONF Errors writing to the AOF file: Input/output error", None]
    writer.close()


class BlockingFsync:
    """An fsync that blocks until released, recording the threads it ran in."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.threads: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, fd: int) -> None:
        with self.lock:
            self.threads.append(threading.current_thread().name)
        if threading.current_thread() is not threading.main_thread():
            self.started.set()
            assert self.release.wait(timeout=30)


def test_background_fsync_does_not_block_and_never_overlaps(
    aof_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fsync = BlockingFsync()
    writer = writer_with_a_set(aof_path, monkeypatch, fsync)

    writer.fsync_in_background()  # returns although the fsync is stuck
    assert fsync.started.wait(timeout=30)
    assert writer.fsync_running()

    writer.feed(0, cmd("SET", "k", "w"))
    writer.flush()  # writing goes on meanwhile
    writer.fsync_in_background()  # the previous one is still running: skipped
    writer.fsync_in_background()
    assert writer.delayed_fsyncs == 2
    assert fsync.threads == ["zyst-aof-fsync"]

    fsync.release.set()
    writer.close()  # waits for the background fsync, then fsyncs itself
    assert fsync.threads == ["zyst-aof-fsync", "MainThread"]
    assert writer.last_write_ok


def test_background_fsync_skipped_when_nothing_new(
    aof_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fsync = FsyncCounter()
    monkeypatch.setattr(os, "fsync", fsync)
    writer = AofWriter(str(aof_path), FsyncPolicy.EVERYSEC)
    writer.fsync_in_background()
    assert not writer.fsync_running()
    writer.close()
    assert fsync.calls == 1  # only close's


def test_background_fsync_failure_is_recorded(
    aof_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = writer_with_a_set(aof_path, monkeypatch, failing_in_background())
    writer.fsync_in_background()
    writer.close()  # joins the worker
    assert writer.fsync_error == "Input/output error"
    assert writer.refusal == "MISCONF Errors writing to the AOF file: Input/output error"


# -- loader: ordinary files --------------------------------------------------------------------
def test_missing_and_empty_files_load_nothing(tmp_path: Path) -> None:
    for path in (tmp_path / "missing.aof", tmp_path / "empty.aof"):
        if path.name == "empty.aof":
            path.write_bytes(b"")
        seen, result = load(path)
        assert seen == []
        assert (result.commands, result.bytes_loaded, result.truncated) == (0, 0, False)


def test_select_switches_the_db_and_is_not_applied(aof_path: Path) -> None:
    write_raw(
        aof_path,
        cmd("SET", "a", "1"),  # before any SELECT: db 0
        cmd("select", "7"),
        cmd("SET", "b", "2"),
        cmd("SeLeCt", "0"),
        cmd("SET", "c", "3"),
    )
    seen, result = load(aof_path)
    assert seen == [(0, cmd("SET", "a", "1")), (7, cmd("SET", "b", "2")), (0, cmd("SET", "c", "3"))]
    assert result.commands == 3


def test_annotations_are_skipped(aof_path: Path) -> None:
    data = (
        b"#TS:1700000000\r\n"
        + encode_command(cmd("SET", "a", "1"))
        + b"#TS:1700000001\r\n"
        + encode_command(cmd("SET", "b", "2"))
    )
    aof_path.write_bytes(data)
    seen, result = load(aof_path)
    assert seen == [(0, cmd("SET", "a", "1")), (0, cmd("SET", "b", "2"))]
    assert result.bytes_loaded == len(data) and not result.truncated

    aof_path.write_bytes(data + b"#TS:17000")  # cut inside an annotation
    seen, result = load(aof_path)
    assert len(seen) == 2
    assert result.truncated and result.truncated_at == len(data)


def test_values_larger_than_a_read_block(aof_path: Path) -> None:
    big = bytes(range(256)) * (aof._BLOCK_SIZE // 256 * 3 + 7)
    offsets = write_raw(aof_path, cmd("SET", "a", "1"), cmd("SET", "big", big), cmd("DEL", "a"))
    seen, result = load(aof_path)
    assert seen == [(0, cmd("SET", "a", "1")), (0, cmd("SET", "big", big)), (0, cmd("DEL", "a"))]
    assert not result.truncated

    full = aof_path.read_bytes()
    aof_path.write_bytes(full[: offsets[1] + len(big) // 2])
    seen, result = load(aof_path)
    assert seen == [(0, cmd("SET", "a", "1"))]
    assert result.truncated_at == result.bytes_loaded == offsets[1]


def test_progress_is_reported(aof_path: Path) -> None:
    value = b"v" * 100_000
    write_raw(aof_path, *[cmd("SET", f"k{i}", value) for i in range(200)])
    total = aof_path.stat().st_size
    reports: list[tuple[int, int]] = []
    load_aof(str(aof_path), lambda db, argv: None, lambda done, size: reports.append((done, size)))
    assert reports[-1] == (total, total)
    assert len(reports) >= 3
    assert [done for done, _ in reports] == sorted(done for done, _ in reports)
    assert all(size == total for _, size in reports)


# -- loader: a crash during the last write -----------------------------------------------------
def test_truncated_last_command_at_every_byte(aof_path: Path) -> None:
    commands = [cmd("SELECT", "2"), cmd("SET", "a", "1"), cmd("RPUSH", "list", "x", "yz" * 20)]
    offsets = write_raw(aof_path, *commands)
    full = aof_path.read_bytes()
    last = offsets[-1]
    for cut in range(last + 1, len(full)):
        aof_path.write_bytes(full[:cut])
        seen, result = load(aof_path)
        assert seen == [(2, cmd("SET", "a", "1"))], cut
        assert result.truncated, cut
        assert result.truncated_at == last, cut
        assert result.bytes_loaded == last, cut
        assert result.commands == 1
        assert aof_path.stat().st_size == cut  # the loader leaves the file alone

    truncate_file(str(aof_path), last)
    assert aof_path.read_bytes() == full[:last]
    seen, result = load(aof_path)
    assert len(seen) == 1 and not result.truncated


# -- loader: damaged files ---------------------------------------------------------------------
GOOD = [cmd("SET", "a", "1"), cmd("SET", "bb", "22"), cmd("SET", "c", "3")]


@pytest.mark.parametrize(
    ("middle", "reason"),
    [
        (b"+SET\r\n", "expected '*', got '+'"),
        (b"SET bb 22\r\n", "expected '*', got 'S'"),
        (b"*3\r\n+SET\r\n$2\r\nbb\r\n$2\r\n22\r\n", "expected '$', got '+'"),
        (b"*3\r\n$3\r\nSET\r\n:12\r\n$2\r\n22\r\n", "expected '$', got ':'"),
        (b"*3\r\n$3\r\nSET\r\n$2\r\nbbxx$2\r\n22\r\n", "expected CRLF after a bulk string"),
        (b"*3\r\n$3\r\nSET\r\n$02\r\nbb\r\n$2\r\n22\r\n", "invalid bulk length"),
        (b"*3\r\n$3\r\nSET\r\n$-1\r\n$2\r\n22\r\n", "invalid bulk length"),
        (b"*x\r\n", "invalid multibulk length"),
        (b"*0\r\n", "a command with no arguments"),
        (b"*-1\r\n", "a command with no arguments"),
        (b"*2\r\n*1\r\n$1\r\na\r\n$1\r\nb\r\n", "expected '$', got '*'"),
        (b"\x00\x00\x00", "expected '*', got '\\x00'"),
    ],
)
def test_damage_in_the_middle_names_the_offset(aof_path: Path, middle: bytes, reason: str) -> None:
    head = encode_command(GOOD[0])
    aof_path.write_bytes(head + middle + encode_command(GOOD[2]))
    seen: list[Command] = []
    with pytest.raises(AofCorruptError) as info:
        load_aof(str(aof_path), lambda db, argv: seen.append((db, argv)))
    assert info.value.offset == len(head)
    assert reason in info.value.reason
    assert str(info.value).startswith(
        f"Bad file format reading the append only file at offset {len(head)}: "
    )
    assert seen == [(0, GOOD[0])]


def test_damage_far_into_the_file(aof_path: Path) -> None:
    commands = [cmd("SET", f"key{i}", "v" * (i % 50)) for i in range(100_000)]
    offsets = write_raw(aof_path, *commands)
    data = bytearray(aof_path.read_bytes())
    victim = 77_777
    data[offsets[victim] + 1] = ord("9")  # *3 -> *9: swallows the next commands, then fails
    aof_path.write_bytes(bytes(data))
    with pytest.raises(AofCorruptError) as info:
        load(aof_path)
    assert info.value.offset == offsets[victim]


@pytest.mark.parametrize(
    "tail",
    [
        b"*1\r\n+OK",  # hiredis would wait for the end of that line
        b"*0",
        b"*01",
        b"*3x",
        b"*3\r\nx",
        b"*3\r\n$03",
        b"*3\r\n$3\r\nSETx",
        b"*3\r\n$3\r\nSET\rx",
        b"*3\r\n$3\r\nSET\r\n$x",
        b"SET a",
    ],
)
def test_garbage_at_the_end_is_not_a_truncation(aof_path: Path, tail: bytes) -> None:
    head = encode_command(GOOD[0])
    aof_path.write_bytes(head + tail)
    with pytest.raises(AofCorruptError) as info:
        load(aof_path)
    assert info.value.offset == len(head)


def test_rdb_preamble_is_refused(aof_path: Path) -> None:
    aof_path.write_bytes(b"REDIS0011\xfa\x09redis-ver\x057.0.0")
    with pytest.raises(AofCorruptError, match="AOF has an RDB preamble; not supported yet"):
        load(aof_path)


@pytest.mark.parametrize("args", [[], ["x"], ["-1"], ["1", "2"], [""]])
def test_bad_select_is_corrupt(aof_path: Path, args: list[str]) -> None:
    offsets = write_raw(aof_path, cmd("SET", "a", "1"), cmd("SELECT", *args))
    with pytest.raises(AofCorruptError, match="invalid SELECT") as info:
        load(aof_path)
    assert info.value.offset == offsets[1]


def test_command_errors_from_apply_name_the_command(aof_path: Path) -> None:
    offsets = write_raw(aof_path, cmd("SET", "a", "1"), cmd("NOSUCH", "x"), cmd("SET", "b", "2"))

    def apply(db: int, argv: list[bytes]) -> None:
        if argv[0] == b"NOSUCH":
            raise errors.CommandError(errors.unknown_command(b"NOSUCH", argv[1:]))

    with pytest.raises(AofCorruptError) as info:
        load_aof(str(aof_path), apply)
    assert info.value.offset == offsets[1]
    assert "NOSUCH x" in info.value.reason
    assert "ERR unknown command 'NOSUCH'" in info.value.reason
    assert isinstance(info.value.__cause__, errors.CommandError)


def test_other_exceptions_from_apply_propagate(aof_path: Path) -> None:
    write_raw(aof_path, cmd("SET", "a", "1"))

    def apply(db: int, argv: list[bytes]) -> None:
        raise KeyError("boom")

    with pytest.raises(KeyError):
        load_aof(str(aof_path), apply)


# -- loader: transactions ----------------------------------------------------------------------
def test_multi_exec_applies_at_exec(aof_path: Path) -> None:
    events: list[object] = []
    write_raw(
        aof_path,
        cmd("SET", "before", "1"),
        cmd("MULTI"),
        cmd("SET", "t", "1"),
        cmd("SELECT", "5"),
        cmd("INCR", "n"),
        cmd("EXEC"),
        cmd("SET", "after", "1"),
    )

    def apply(db: int, argv: list[bytes]) -> None:
        events.append((db, argv))

    result = load_aof(str(aof_path), apply)
    assert events == [
        (0, cmd("SET", "before", "1")),
        (0, cmd("SET", "t", "1")),
        (5, cmd("INCR", "n")),
        (5, cmd("SET", "after", "1")),
    ]
    assert result.commands == 4 and not result.truncated


def test_queued_commands_wait_for_exec(aof_path: Path) -> None:
    # A queued command must not be applied before EXEC has been read.
    commands = [cmd("MULTI"), cmd("SET", "t", "1"), cmd("EXEC")]
    offsets = write_raw(aof_path, *commands)
    seen_at: list[int] = []

    def apply(db: int, argv: list[bytes]) -> None:
        seen_at.append(len(seen_at))

    aof_path.write_bytes(aof_path.read_bytes()[: offsets[2]])
    result = load_aof(str(aof_path), apply)
    assert seen_at == []
    assert result.truncated


def test_file_ending_inside_multi_drops_the_transaction(aof_path: Path) -> None:
    commands = [
        cmd("SET", "a", "1"),
        cmd("MULTI"),
        cmd("SET", "t", "1"),
        cmd("INCR", "n"),
        cmd("EXEC"),
    ]
    offsets = write_raw(aof_path, *commands)
    full = aof_path.read_bytes()
    multi_at = offsets[1]
    # Every cut from just after MULTI's first byte to just before EXEC's last byte, including
    # clean cuts between whole commands: the transaction is dropped, the file cut at MULTI.
    for cut in range(multi_at + 1, len(full)):
        aof_path.write_bytes(full[:cut])
        seen, result = load(aof_path)
        assert seen == [(0, cmd("SET", "a", "1"))], cut
        assert result.truncated and result.truncated_at == multi_at, cut
        assert result.bytes_loaded == multi_at, cut


def test_exec_without_multi_and_nested_multi_are_corrupt(aof_path: Path) -> None:
    offsets = write_raw(aof_path, cmd("SET", "a", "1"), cmd("EXEC"))
    with pytest.raises(AofCorruptError, match="EXEC without MULTI") as info:
        load(aof_path)
    assert info.value.offset == offsets[1]

    offsets = write_raw(aof_path, cmd("MULTI"), cmd("SET", "a", "1"), cmd("MULTI"))
    with pytest.raises(AofCorruptError, match="MULTI inside MULTI") as info:
        load(aof_path)
    assert info.value.offset == offsets[2]


def test_command_error_inside_transaction_names_the_queued_command(aof_path: Path) -> None:
    offsets = write_raw(aof_path, cmd("MULTI"), cmd("BAD"), cmd("EXEC"))

    def apply(db: int, argv: list[bytes]) -> None:
        raise errors.CommandError("ERR nope")

    with pytest.raises(AofCorruptError, match="command BAD failed: ERR nope") as info:
        load_aof(str(aof_path), apply)
    assert info.value.offset == offsets[1]


# -- a file written by redis-server ------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RedisServer:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = _free_port()
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--dir", str(directory),
                "--appendonly", "yes",
                "--aof-use-rdb-preamble", "no",
                # always: each write reaches the file before the reply (everysec may delay it).
                "--appendfsync", "always",
                "--save", "",
                "--daemonize", "no",
                "--logfile", str(directory / "redis.log"),
            ],
        )  # fmt: skip

    def cli(self, script: str) -> str:
        done = subprocess.run(
            ["redis-cli", "-p", str(self.port)],
            input=script,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return done.stdout

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "redis-server exited"
            try:
                if self.cli("PING\n").strip() == "PONG":
                    return
            except subprocess.CalledProcessError:
                pass
            time.sleep(0.05)
        raise TimeoutError("redis-server did not start")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        pytest.fail("redis-server and redis-cli are needed (apt-get install redis-server)")
    server = RedisServer(tmp_path)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def test_loads_a_file_written_by_redis(redis_server: RedisServer) -> None:
    before_ms = int(time.time() * 1000)
    redis_server.cli(
        "SET s1 v1\n"
        "SET s2 v2 EX 100\n"
        "LPUSH l a b c\n"
        "HSET h f1 v1 f2 v2\n"
        "EXPIRE s1 1000\n"
        "SELECT 2\n"
        "SET other x\n"
        "MULTI\n"
        "SET t1 1\n"
        "INCR n\n"
        "EXEC\n"
        "SELECT 0\n"
        "DEL l\n"
    )
    after_ms = int(time.time() * 1000)
    directory = redis_server.directory / "appendonlydir"
    manifest = (directory / "appendonly.aof.manifest").read_text()
    incr = [line.split()[1] for line in manifest.splitlines() if line.endswith("type i")]
    assert len(incr) == 1
    seen, result = load(directory / incr[0])

    assert not result.truncated
    assert result.commands == len(seen) == 9
    simple = [(db, argv) for db, argv in seen if argv[0] not in (b"SET", b"PEXPIREAT")]
    assert simple == [
        (0, cmd("LPUSH", "l", "a", "b", "c")),
        (0, cmd("HSET", "h", "f1", "v1", "f2", "v2")),
        (2, cmd("INCR", "n")),
        (0, cmd("DEL", "l")),
    ]
    assert seen[0] == (0, cmd("SET", "s1", "v1"))
    # Relative expiries are written as absolute unix times in milliseconds.
    _, set_ex = seen[1]
    assert set_ex[:4] == cmd("SET", "s2", "v2", "PXAT")
    assert before_ms + 100_000 <= int(set_ex[4]) <= after_ms + 100_000
    _, pexpireat = seen[4]
    assert pexpireat[:2] == cmd("PEXPIREAT", "s1")
    assert before_ms + 1_000_000 <= int(pexpireat[2]) <= after_ms + 1_000_000
    assert seen[5] == (2, cmd("SET", "other", "x"))
    assert seen[6] == (2, cmd("SET", "t1", "1"))

    # The base file of an AOF started empty holds nothing, and loads as such.
    base = [line.split()[1] for line in manifest.splitlines() if line.endswith("type b")]
    assert load(directory / base[0])[1].commands == 0


def test_switching_to_always_fsyncs_what_was_written_before(
    aof_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fsync = FsyncCounter()
    writer = writer_with_a_set(aof_path, monkeypatch, fsync)
    assert fsync.calls == 0
    writer.set_policy(FsyncPolicy.ALWAYS)  # nothing buffered, but written and never fsynced
    assert fsync.calls == 1
    writer.set_policy(FsyncPolicy.ALWAYS)  # nothing new: nothing to do
    assert fsync.calls == 1
    writer.set_policy(FsyncPolicy.NO)
    writer.feed(0, cmd("SET", "k", "v2"))
    writer.set_policy(FsyncPolicy.ALWAYS)  # buffered: written and fsynced
    assert fsync.calls == 2 and not writer.has_pending() and writer.durable == writer.fed
    writer.close()


def test_an_fsync_under_always_clears_a_background_fsync_error(
    aof_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    statuses: list[str | None] = []
    fsync = failing_in_background()
    writer = writer_with_a_set(aof_path, monkeypatch, fsync, on_status=statuses.append)
    writer.fsync_in_background()
    while writer.fsync_running() or writer.fsync_error is None:
        time.sleep(0.001)
    assert writer.refusal is not None
    writer.set_policy(FsyncPolicy.ALWAYS)  # fsyncs here, on the main thread: it succeeds
    assert writer.fsync_error is None and writer.refusal is None
    assert statuses == [
        "MISCONF Errors writing to the AOF file: Input/output error",
        None,
    ]
    writer.close()


@pytest.mark.parametrize("code", [errno.EBADF, errno.EINVAL])
def test_background_fsync_not_supported_is_no_error(
    aof_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    writer = writer_with_a_set(aof_path, monkeypatch, failing_in_background(code))
    writer.fsync_in_background()
    writer.close()  # joins the worker
    assert writer.fsync_error is None and writer.refusal is None
