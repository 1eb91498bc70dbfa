"""The access clocks (zyst.access): Redis's LFU arithmetic, the policy switch, and the
invariant that every database keeps exactly one clock per key whatever the commands do.

The behaviour seen by clients (OBJECT IDLETIME and OBJECT FREQ after each kind of command) is
compared with Redis in tests/oracle/test_access_clock_oracle.py.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import pytest

import zyst.commands  # noqa: F401  (declares the commands)
from tests.crash.test_whole_dataset_aof import BEFORE_ALL, EVERY_WRITE, random_mix
from zyst import access
from zyst.config import Config
from zyst.connection import Connection
from zyst.context import ServerContext
from zyst.keyspace import Keyspace
from zyst.protocol.resp import encode_command

MINUTE = 60


class _Transport:
    """Swallows the replies."""

    def write(self, data: bytes) -> None:
        pass

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def get_extra_info(self, name: str) -> Any:
        return None


def _run(config: Config, commands: Sequence[Sequence[bytes | str | int]]) -> ServerContext:
    """Run ``commands`` in order on an in-process server with ``config``."""
    ctx = ServerContext(config)
    conn = Connection(ctx, lambda wrote: 0, None)
    conn.connection_made(cast(Any, _Transport()))
    for command in commands:
        conn.data_received(encode_command([str(arg).encode() for arg in command]))
    return ctx


@pytest.mark.parametrize("policy", ["noeviction", "allkeys-lfu"])
def test_every_key_has_exactly_one_clock_after_every_write_command(
    policy: str, tmp_path: Path
) -> None:
    config = Config(dir=str(tmp_path), appendonly=False, maxmemory_policy=policy)
    commands = [*BEFORE_ALL, *random_mix(21, 3000), ("SELECT", "0"), *EVERY_WRITE]
    commands += [*random_mix(22, 1500), ("SELECT", "0"), ("SWAPDB", "0", "1")]
    ctx = _run(config, commands)
    assert sum(len(db.data) for db in ctx.keyspace.dbs) > 50  # the commands built a dataset
    for db in ctx.keyspace.dbs:
        assert db.access.keys() == db.data.keys(), db.index


def test_a_new_key_starts_at_the_lfu_initial_value() -> None:
    now = 1_700_000_000
    value = access.lfu_new(now)
    assert access.lfu_counter(value, now, 1) == access.LFU_INIT_VAL == 5
    assert value >> 8 == (now // MINUTE) & 0xFFFF


def test_lfu_counters_decay_one_per_period_and_never_below_zero() -> None:
    then = 28_333_333 * MINUTE  # on a minute boundary
    value = (access.lfu_minutes(then) << 8) | 20
    assert access.lfu_counter(value, then + 59, 1) == 20  # not a whole minute yet
    assert access.lfu_counter(value, then + 3 * MINUTE, 1) == 17
    assert access.lfu_counter(value, then + 9 * MINUTE, 2) == 16  # one per 2 minutes
    assert access.lfu_counter(value, then + 100 * MINUTE, 1) == 0
    assert access.lfu_counter(value, then + 100 * MINUTE, 0) == 20  # 0: never decays


def test_lfu_minutes_wrap_around_once() -> None:
    # Stamped 2 minutes before the 16-bit minute clock wraps, read 3 minutes after it: Redis
    # counts 65535 - then + now, so 2 + 3 - 1 = 4 minutes.
    then_minutes = 0xFFFF - 1
    value = (then_minutes << 8) | 10
    now = (0x10000 * 400 + 3) * MINUTE  # minutes modulo 2**16 == 3
    assert access.lfu_minutes(now) == 3
    assert access.lfu_counter(value, now, 1) == 10 - (0xFFFF - then_minutes + 3)


def test_an_access_decays_then_increments_and_saturates() -> None:
    now = 1_700_000_000
    value = (access.lfu_minutes(now - 2 * MINUTE) << 8) | 9
    # Log factor 0: every access counts, after the 2 minutes' decay.
    after = access.lfu_accessed(value, now, 0, 1)
    assert after & 255 == 8 and after >> 8 == access.lfu_minutes(now)
    full = (access.lfu_minutes(now) << 8) | 255
    assert access.lfu_accessed(full, now, 0, 1) & 255 == 255


def test_increments_grow_rarer_as_the_counter_grows() -> None:
    random.seed(7)
    now = 1_700_000_000
    low = (access.lfu_minutes(now) << 8) | 3  # below the initial value: always counted
    assert all(access.lfu_accessed(low, now, 10, 1) & 255 == 4 for _ in range(200))
    high = (access.lfu_minutes(now) << 8) | 105  # p = 1 / (100 * 10 + 1)
    counted = sum(access.lfu_accessed(high, now, 10, 1) & 255 == 106 for _ in range(20_000))
    assert 0 < counted < 100  # about 20


def test_idle_seconds_never_negative() -> None:
    assert access.idle_seconds(100, 130) == 30
    assert access.idle_seconds(130, 100) == 0


def test_switching_between_lru_and_lfu_restarts_every_clock() -> None:
    now_ms = [1_700_000_000_000]
    keyspace = Keyspace(2, clock=lambda: now_ms[0])
    db = keyspace.dbs[1]
    db.set_value(b"k", b"v")
    assert db.access == {b"k": 1_700_000_000}
    now_ms[0] += 90_000
    keyspace.set_lfu(True)
    assert db.access == {b"k": access.lfu_new(1_700_000_090)}
    keyspace.set_lfu(False)
    assert db.access == {b"k": 1_700_000_090}


def test_an_access_after_swapdb_moves_the_clock_of_the_swapped_in_key(tmp_path: Path) -> None:
    # The table of recently stamped keys skips a store only when the access dict already holds
    # this second's clock: keys swapped in by SWAPDB bring their own, older, clocks.
    now_ms = [1_700_000_000_000]
    keyspace = Keyspace(16, clock=lambda: now_ms[0])
    ctx = ServerContext(Config(dir=str(tmp_path), appendonly=False), keyspace)
    conn = Connection(ctx, lambda wrote: 0, None)
    replies: list[bytes] = []
    transport = _Transport()
    transport.write = replies.append  # type: ignore[method-assign]
    conn.connection_made(cast(Any, transport))

    def run(*command: str) -> bytes:
        replies.clear()
        conn.data_received(encode_command([arg.encode() for arg in command]))
        return b"".join(replies)

    run("SELECT", "1")
    run("SET", "k", "old")  # stamped at T
    now_ms[0] += 100_000
    keyspace.refresh_lru_clock()  # T + 100
    run("SELECT", "0")
    run("SET", "k", "new")
    run("GET", "k")  # db 0's k stamped T + 100 (and remembered)
    run("SWAPDB", "0", "1")
    assert run("OBJECT", "IDLETIME", "k") == b":100\r\n"  # db 1's old k, now in db 0
    run("GET", "k")  # an access: its clock moves to T + 100
    assert run("OBJECT", "IDLETIME", "k") == b":0\r\n"
    for _ in range(3):  # and the table keeps telling keys apart
        run("SET", "other", "v")
        run("GET", "other")
    assert run("OBJECT", "IDLETIME", "k") == b":0\r\n"
