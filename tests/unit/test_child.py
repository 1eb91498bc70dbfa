"""zyst.persistence.child: the one forked child (BGSAVE, AOF rewrite), run for real."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest

from zyst.persistence.child import Children, ChildResult, private_dirty_bytes


def _wait(children: Children, done: list[ChildResult]) -> ChildResult:
    deadline = time.monotonic() + 30
    while not done:
        assert time.monotonic() < deadline, "the child never ended"
        children.poll()
        time.sleep(0.01)
    return done[0]


def test_work_runs_in_the_child_and_on_done_gets_its_end(tmp_path: Path) -> None:
    children = Children()
    done: list[ChildResult] = []
    target = tmp_path / "out"

    def work() -> None:
        target.write_text(str(os.getpid()))

    pid = children.start("rdb", work, done.append)
    assert children.kind == "rdb" and children.pid == pid
    assert children.total_forks == 1 and children.latest_fork_usec > 0
    result = _wait(children, done)
    assert result.ok and not result.killed and result.exit_code == 0
    assert result.kind == "rdb" and result.pid == pid
    assert target.read_text() == str(pid) != str(os.getpid())
    assert children.kind is None and children.pid == -1
    assert len(done) == 1  # once only, however often the cron polls afterwards
    children.poll()
    assert len(done) == 1


def test_a_failing_work_is_reported_as_failed() -> None:
    children = Children()
    done: list[ChildResult] = []

    def work() -> None:
        raise OSError(28, "No space left on device")

    children.start("aof", work, done.append)
    result = _wait(children, done)
    assert not result.ok and not result.killed and result.exit_code == 1


def test_one_child_at_a_time_and_kill_ends_it() -> None:
    children = Children()
    done: list[ChildResult] = []
    children.start("rdb", lambda: time.sleep(60), done.append)
    with pytest.raises(RuntimeError):
        children.start("aof", lambda: None, done.append)
    children.kill()
    assert len(done) == 1
    assert done[0].killed and not done[0].ok
    assert children.kind is None
    # The slot is free again.
    children.start("aof", lambda: None, done.append)
    children.wait()
    assert len(done) == 2 and done[1].ok


def test_the_child_closes_inherited_listening_sockets(tmp_path: Path) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    other = socket.socket()  # not listening: left open
    report = tmp_path / "fds"
    try:

        def work() -> None:
            alive = []
            for fd in (listener.fileno(), other.fileno()):
                try:
                    os.fstat(fd)
                    alive.append(fd)
                except OSError:
                    pass
            report.write_text(" ".join(map(str, alive)))

        children = Children()
        done: list[ChildResult] = []
        children.start("rdb", work, done.append)
        children.wait()
        assert done[0].ok
        assert report.read_text() == str(other.fileno())
        # Still open here: only the child's copy went.
        assert listener.getsockname()[1] > 0
    finally:
        listener.close()
        other.close()


def test_progress_and_copy_on_write_reach_the_parent() -> None:
    children = Children()
    done: list[ChildResult] = []
    ballast = [bytearray(4096) for _ in range(2000)]  # ~8 MB the child will dirty

    def work() -> None:
        for page in ballast:
            page[0] = 1
        children.progress(7, 9)
        time.sleep(60)  # stay until killed, so the report is read while it runs

    children.start("rdb", work, done.append)
    deadline = time.monotonic() + 30
    while children.processed != 7:
        assert time.monotonic() < deadline, "no progress report arrived"
        children.poll()
        time.sleep(0.01)
    assert children.total == 9
    assert children.cow_bytes >= 4 * 1024 * 1024
    children.kill()
    assert done[0].killed and done[0].cow_bytes >= 4 * 1024 * 1024


def test_private_dirty_bytes_counts_this_process() -> None:
    assert private_dirty_bytes() > 0
