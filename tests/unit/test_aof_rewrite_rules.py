"""When a rewrite starts, as Redis 7.0 decides it (``bgrewriteaofCommand``, the cron's
scheduled and automatic rewrites, ``aofRewriteLimited``), with a stand-in for the forked child:
the fork itself is tested on real servers (tests/server/test_aof_rewrite.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from zyst.config import Config
from zyst.keyspace import Keyspace
from zyst.persistence import rewrite
from zyst.persistence.rewrite import AofRewrite


class Children:
    """Runs nothing: remembers what was started; ``kind`` is set by the test."""

    def __init__(self) -> None:
        self.kind: str | None = None
        self.pid = -1
        self.started: list[str] = []

    def start(self, kind: str, work: Callable[[], None], on_done: Callable[[Any], None]) -> int:
        self.kind, self.pid = kind, 4242
        self.started.append(kind)
        return self.pid

    def kill(self) -> None:
        self.kind, self.pid = None, -1

    def progress(self, processed: int, total: int) -> None:
        pass


@pytest.fixture
def children() -> Children:
    return Children()


@pytest.fixture
def aof(tmp_path: Path, children: Children) -> AofRewrite:
    return AofRewrite(Config(dir=str(tmp_path)), children, Keyspace(16), list, lambda: None)


def test_bgrewriteaof_while_another_child_runs_is_scheduled(
    aof: AofRewrite, children: Children
) -> None:
    children.kind = "rdb"
    aof.consecutive_failures = 5
    assert aof.request(in_exec=False) == "scheduled"
    # Asked for by hand: the hold-off after failures is lifted.
    assert aof.scheduled and aof.consecutive_failures == 0
    assert aof.info()["aof_rewrite_scheduled"] == 1
    aof.cron()
    assert children.started == []  # the other child still runs
    children.kind = None
    aof.cron()
    assert children.started == ["aof"] and not aof.scheduled
    assert aof.request(in_exec=False) == "in progress"


def test_inside_exec_it_is_scheduled_even_with_no_child(
    aof: AofRewrite, children: Children
) -> None:
    assert aof.request(in_exec=True) == "scheduled"
    assert children.started == []


def test_after_three_failures_the_cron_waits_longer_each_time(
    aof: AofRewrite, children: Children, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1_000_000.0]
    monkeypatch.setattr(rewrite.time, "time", lambda: now[0])
    aof.scheduled = True
    aof.consecutive_failures = 3
    waits = []
    for _ in range(8):
        aof.cron()  # limited: sets the next try
        assert children.started == []
        start = now[0]
        while not children.started:
            now[0] += 60
            aof.cron()
        waits.append(int((now[0] - start) // 60))
        children.kind, children.started = None, []
        aof.scheduled = True
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60]
    # Fewer than three failures in a row: no wait at all.
    aof.consecutive_failures = 2
    aof.cron()
    assert children.started == ["aof"]
