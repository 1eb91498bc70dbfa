"""zyst.persistence.saving in-process: BGSAVE beside another kind of child (an AOF rewrite, which
no other test can start yet), the schedule's points and the MISCONF rule."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from zyst import errors
from zyst.client import Client
from zyst.commands.persistence import bgsave
from zyst.config import Config
from zyst.context import ServerContext
from zyst.errors import CommandError
from zyst.persistence.saving import save_points, saving_of
from zyst.protocol.resp import Status


def _context(tmp_path: Path, save: str = "3600 1") -> ServerContext:
    return ServerContext(Config(dir=str(tmp_path), save=save, appendonly=False))


def _reap(ctx: ServerContext) -> None:
    deadline = time.monotonic() + 30
    while ctx.children.kind is not None:
        assert time.monotonic() < deadline, "the child never ended"
        ctx.children.poll()
        time.sleep(0.01)


def test_bgsave_beside_another_child_is_refused_or_scheduled(tmp_path: Path) -> None:
    ctx = _context(tmp_path)
    client = Client(ctx, 1)
    ctx.keyspace.dbs[0].data[b"k"] = b"v"
    ctx.children.start("aof", lambda: time.sleep(0.3), lambda result: None)
    try:
        with pytest.raises(CommandError) as refused:
            bgsave(client, [b"BGSAVE"])
        assert refused.value.message == errors.BGSAVE_OTHER_CHILD
        reply = bgsave(client, [b"BGSAVE", b"SCHEDULE"])
        assert isinstance(reply, Status) and reply.text == b"Background saving scheduled"
        saving = saving_of(ctx)
        saving.cron()  # the other child still runs: nothing starts
        assert saving.scheduled and ctx.children.kind == "aof"
    finally:
        _reap(ctx)
    saving.cron()
    assert ctx.children.kind == "rdb" and not saving.scheduled
    _reap(ctx)
    assert (tmp_path / "dump.rdb").exists()
    assert saving.saves == 1 and saving.last_ok and saving.changes == 0


def test_save_points() -> None:
    assert save_points("3600 1 300 100 60 10000") == [(3600, 1), (300, 100), (60, 10000)]
    assert save_points("") == []


@pytest.mark.parametrize(
    ("save", "stop_writes", "refused"),
    [("3600 1", True, True), ("", True, False), ("3600 1", False, False)],
)
def test_misconf_needs_a_schedule_and_stop_writes(
    tmp_path: Path, save: str, stop_writes: bool, refused: bool
) -> None:
    ctx = _context(tmp_path, save)
    ctx.config.stop_writes_on_bgsave_error = stop_writes
    saving = saving_of(ctx)
    assert saving.current_refusal() is None
    saving.last_ok = False
    assert saving.current_refusal() == (errors.MISCONF_RDB if refused else None)
