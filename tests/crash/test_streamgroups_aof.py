"""Consumer groups through the AOF.

What a group's commands write is what Redis 7.0 writes, byte for byte (the delivery times in
the XCLAIMs aside, which are each server's clock): XREADGROUP as one ``XCLAIM ... FORCE JUSTID
LASTID`` per entry delivered (between MULTI and EXEC when there are several), with NOACK as
``XGROUP SETID ... ENTRIESREAD`` and ``XGROUP CREATECONSUMER``, XCLAIM and XAUTOCLAIM as such
XCLAIMs (also for the pending entries they drop because the entry was deleted), a blocked
XREADGROUP once it is served like one that did not wait, the other XGROUP subcommands and XACK
as themselves.

And a server restarted on that AOF rebuilds every group as it was: XINFO STREAM FULL gives the
same reply, each consumer's seen-time aside (the replay sees them again).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.conftest import (
    APPEND_ALWAYS,
    RawConnection,
    aof_incr_bytes,
    parse_reply,
    redis_process,
    zyst_process,
)
from tests.crash.test_aof_expiry import redis_incr_file
from tests.server.test_blocking import read_exactly, send, wait_blocked

Arg = str | int

# A group in use: reads of new entries and of history, acks, claims, deletions, trims.
WORKLOAD: list[tuple[Arg, ...]] = [
    ("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"),
    ("XGROUP", "CREATE", "s", "h", "0", "ENTRIESREAD", "0"),
    *(("XADD", "s", f"{n}-1", "f", f"v{n}", "n", n) for n in range(1, 11)),
    ("XREADGROUP", "GROUP", "g", "alice", "COUNT", "3", "STREAMS", "s", ">"),
    ("XREADGROUP", "GROUP", "g", "bob", "COUNT", "1", "STREAMS", "s", ">"),
    ("XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", "0"),
    ("XREADGROUP", "GROUP", "h", "carol", "NOACK", "COUNT", "4", "STREAMS", "s", ">"),
    ("XREADGROUP", "GROUP", "h", "dave", "STREAMS", "s", ">"),
    ("XACK", "s", "g", "1-1", "4-1", "99-1"),
    ("XACK", "s", "h", "7-1"),
    ("XDEL", "s", "2-1", "8-1"),
    ("XCLAIM", "s", "g", "erin", "0", "2", "3-1", "JUSTID"),
    ("XCLAIM", "s", "g", "erin", "0", "5-1", "FORCE", "RETRYCOUNT", "4", "LASTID", "6-0"),
    ("XCLAIM", "s", "h", "frank", "0", "9-1", "IDLE", "5000"),
    ("XCLAIM", "s", "h", "frank", "0", "1-1", "LASTID", "10-1"),
    ("XAUTOCLAIM", "s", "h", "gina", "0", "0", "COUNT", "3"),
    ("XAUTOCLAIM", "s", "h", "gina", "0", "0", "COUNT", "10", "JUSTID"),
    ("XGROUP", "CREATECONSUMER", "s", "g", "hank"),
    ("XGROUP", "DELCONSUMER", "s", "h", "dave"),
    ("XTRIM", "s", "MAXLEN", "6"),
    ("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">"),
    ("XGROUP", "CREATE", "s", "gone", "$"),
    ("XGROUP", "DESTROY", "s", "gone"),
    ("XGROUP", "CREATE", "t", "g", "0", "MKSTREAM"),
    ("XGROUP", "SETID", "t", "g", "5-5", "ENTRIESREAD", "3"),
    ("XADD", "t", "9-1", "a", "b"),
    ("XGROUP", "CREATE", "t", "w", "$"),
]

# XCLAIM's delivery time: whatever each server's clock said (13 digits).
_TIME = re.compile(rb"(\$4\r\nTIME\r\n\$13\r\n)\d{13}")


def blank_times(aof: bytes) -> bytes:
    return _TIME.sub(rb"\1<ms>", aof)


def run_workload(port: int, served: bool) -> None:
    """The workload; with ``served``, a blocked XREADGROUP served by an XADD at the end."""
    with RawConnection(port) as c:
        for command in WORKLOAD:
            c.command(*command)
        if served:
            with RawConnection(port) as waiter:
                send(waiter, "XREADGROUP", "GROUP", "w", "ivy", "BLOCK", "0", "STREAMS", "t", ">")
                wait_blocked(c, 1)
                c.command("XADD", "t", "10-1", "c", "d")
                read_exactly(waiter, 1)
            with RawConnection(port) as waiter:
                send(
                    waiter,
                    "XREADGROUP",
                    "GROUP",
                    "w",
                    "jo",
                    "NOACK",
                    "BLOCK",
                    "0",
                    "STREAMS",
                    "t",
                    ">",
                )
                wait_blocked(c, 1)
                c.command("XADD", "t", "11-1", "e", "f")
                read_exactly(waiter, 1)


def test_group_commands_reach_the_aof_as_in_redis(tmp_path: Path) -> None:
    # (aof_pair's servers, Zyst's without a final snapshot: only the AOF matters here.)
    with (
        zyst_process(tmp_path / "zyst", *APPEND_ALWAYS, "--save", "") as zyst,
        redis_process(tmp_path / "redis", *APPEND_ALWAYS, "--aof-use-rdb-preamble", "no") as real,
    ):
        run_workload(zyst.port, served=True)
        run_workload(real.port, served=True)
        ours = aof_incr_bytes(zyst.dir)
        theirs = redis_incr_file(real.dir).read_bytes()
    assert b"XREADGROUP" not in ours
    assert ours.count(b"XCLAIM") > 10
    assert blank_times(ours) == blank_times(theirs)


def full_info(port: int, times: bool = True, counters: bool = True) -> list[Any]:
    """XINFO STREAM FULL of each stream, the consumers' seen-time blanked; without ``times``
    the delivery times too, without ``counters`` the groups' entries-read and lag."""
    infos = []
    with RawConnection(port) as c:
        for key in ("s", "t"):
            info = parse_reply(c.command("XINFO", "STREAM", key, "FULL"))
            for group in info[info.index(b"groups") + 1]:
                if not counters:
                    for field in (b"entries-read", b"lag"):
                        group[group.index(field) + 1] = "<counter>"
                if not times:
                    for nack in group[group.index(b"pending") + 1]:
                        nack[2] = "<ms>"
                for consumer in group[group.index(b"consumers") + 1]:
                    consumer[consumer.index(b"seen-time") + 1] = "<ms>"
                    if not times:
                        for nack in consumer[consumer.index(b"pending") + 1]:
                            nack[1] = "<ms>"
            infos.append(info)
    return infos


def replayed(workdir: Path, start: Any) -> tuple[list[Any], list[Any], list[Any]]:
    """Run the workload on a server with an AOF, restart it on that AOF: XINFO STREAM FULL
    before (counters blanked), after (counters blanked), and after in full (times blanked)."""
    with start(workdir, "--appendonly", "yes", "--appendfsync", "always", "--save", "") as server:
        run_workload(server.port, served=True)
        before = full_info(server.port, counters=False)
        server.kill()
    with start(workdir, "--appendonly", "yes", "--appendfsync", "always", "--save", "") as again:
        return before, full_info(again.port, counters=False), full_info(again.port, times=False)


def test_an_aof_replays_to_the_same_groups(tmp_path: Path) -> None:
    """Entries, PELs (owners, delivery times and counts), consumers, positions come back as
    they were. The groups' read counters (entries-read, and the lag computed from it) are
    not propagated by Redis 7.0 (XCLAIM's LASTID carries no counter), so a replay finds them
    as Redis's own replay does: that is compared with redis-server's, after the same
    workload on its own AOF."""
    before, after, full = replayed(tmp_path / "zyst", zyst_process)
    assert after == before
    assert len(before[0][before[0].index(b"groups") + 1]) == 2
    _, _, redis_full = replayed(tmp_path / "redis", redis_process)
    assert full == redis_full


def test_redis_replays_the_aof_zyst_wrote(tmp_path: Path) -> None:
    """Redis reads the AOF Zyst wrote back to what Zyst reads it back to."""
    with zyst_process(
        tmp_path / "zyst", "--appendonly", "yes", "--appendfsync", "always", "--save", ""
    ) as zs:
        run_workload(zs.port, served=True)
        zs.kill()
    with zyst_process(
        tmp_path / "zyst", "--appendonly", "yes", "--save", "", port=zs.port
    ) as again:
        ours = full_info(again.port)
    (tmp_path / "redis" / "appendonlydir").mkdir(parents=True)
    for path in (tmp_path / "zyst" / "appendonlydir").iterdir():
        (tmp_path / "redis" / "appendonlydir" / path.name).write_bytes(path.read_bytes())
    with redis_process(tmp_path / "redis", "--appendonly", "yes") as real:
        assert full_info(real.port) == ours
