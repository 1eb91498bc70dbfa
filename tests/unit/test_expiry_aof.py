"""What an expiring key leaves in the AOF, through the real server object in-process: a
settable clock decides when keys expire, so the lazy path (a command looks the key up) and the
active path (the cron's cycle) are each taken on purpose. Both must append ``DEL key``, after a
``SELECT`` of the key's database when the file was last in another one, and loading the file
again must not bring the key back.

The same guarantees over a socket, kill -9 and restart, and compared with redis-server's own
AOF: ``tests/crash/test_aof_expiry.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from zyst.client import Client
from zyst.commands import table
from zyst.config import Config
from zyst.protocol.resp import encode_command
from zyst.server import Server

NOW = 1_700_000_000_000
DEADLINE = NOW + 500

Command = tuple[str | int, ...]


def resp(*commands: Command) -> bytes:
    return b"".join(encode_command([str(a).encode() for a in c]) for c in commands)


def expiring_key_in_db_3(deadline: int) -> list[Command]:
    """Writes that leave ``k`` in db 3 expiring at ``deadline``, the client back in db 0 after
    one more write there. A fresh AOF holds them after a ``SELECT 0``."""
    return [
        ("SET", "a", "1"),
        ("SELECT", 3),
        ("SET", "k", "v"),
        ("PEXPIREAT", "k", deadline),
        ("SELECT", 0),
        ("SET", "b", "2"),
    ]


class Running:
    """A :class:`Server` with its AOF open under ``appendfsync always``, not listening, one client
    and a settable clock."""

    def __init__(self, directory: Path) -> None:
        self.now = NOW
        config = Config(dir=str(directory), appendonly=True, appendfsync="always")
        self.server = Server(config)
        self.server.ctx.keyspace.clock = lambda: self.now
        self.server.load_aof()
        self.server.open_aof()
        self.client = Client(self.server.ctx, 1)
        self.path = directory / config.appenddirname / f"{config.appendfilename}.1.incr.aof"

    def __call__(self, *args: str | int) -> object:
        reply = table.call(self.client, [str(a).encode() for a in args])
        self.server.propagation.flush()
        return reply

    def expire_actively(self) -> int:
        removed = self.server.expirer.run(time_budget=1.0)
        self.server.propagation.flush()
        return removed

    def close(self) -> None:
        if self.server.aof is not None:
            self.server.aof.close()
            self.server.aof = None


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    r = Running(tmp_path)
    try:
        yield r
    finally:
        r.close()


def write_expiring_key_in_db_3(r: Running) -> bytes:
    """``k`` in db 3 with a deadline, then a write in db 0; returns the AOF so far."""
    writes = expiring_key_in_db_3(DEADLINE)
    for write in writes:
        r(*write)
    before = resp(("SELECT", 0), *writes)
    assert r.path.read_bytes() == before
    return before


def test_lazy_expiry_appends_del_with_its_select(running: Running, tmp_path: Path) -> None:
    before = write_expiring_key_in_db_3(running)
    running.now = DEADLINE + 1
    running("SELECT", 3)
    assert running("GET", "k") is None  # the lookup expires it
    assert running.path.read_bytes() == before + resp(("SELECT", 3), ("DEL", "k"))
    running("SET", "c", "3")  # still db 3: no SELECT needed
    assert running.path.read_bytes() == before + resp(
        ("SELECT", 3), ("DEL", "k"), ("SET", "c", "3")
    )
    assert_reload_has_no(tmp_path, running, b"k")


def test_active_expiry_appends_del_with_its_select(running: Running, tmp_path: Path) -> None:
    before = write_expiring_key_in_db_3(running)
    running.now = DEADLINE + 1
    assert running.expire_actively() == 1
    assert running.path.read_bytes() == before + resp(("SELECT", 3), ("DEL", "k"))
    running("SET", "c", "3")  # the client is in db 0: the file must switch back
    expected = before + resp(("SELECT", 3), ("DEL", "k"), ("SELECT", 0), ("SET", "c", "3"))
    assert running.path.read_bytes() == expected
    assert_reload_has_no(tmp_path, running, b"k")


def test_overwriting_an_expired_key_appends_del_first(running: Running) -> None:
    running("SET", "k", "v", "PXAT", DEADLINE)
    running.now = DEADLINE + 1
    running("RPUSH", "k", "x")
    running("SET", "s", "v", "PXAT", DEADLINE)
    running("SET", "s", "w", "KEEPTTL")
    assert running.path.read_bytes() == resp(
        ("SELECT", 0),
        ("SET", "k", "v", "PXAT", DEADLINE),
        ("DEL", "k"),
        ("RPUSH", "k", "x"),
        ("SET", "s", "v", "PXAT", DEADLINE),
        ("DEL", "s"),
        ("SET", "s", "w", "KEEPTTL"),
    )


def test_a_key_not_yet_expired_leaves_nothing(running: Running) -> None:
    running("SET", "k", "v", "PXAT", DEADLINE)
    running.now = DEADLINE  # the deadline itself: not past
    assert running("GET", "k") == b"v"
    assert running.expire_actively() == 0
    assert running.path.read_bytes() == resp(("SELECT", 0), ("SET", "k", "v", "PXAT", DEADLINE))


def assert_reload_has_no(directory: Path, running: Running, key: bytes) -> None:
    """Load the file into a fresh server: ``key`` must not be there at all, not even as an
    expired entry waiting to be removed."""
    running.close()
    again = Running(directory)
    try:
        assert all(key not in db.data for db in again.server.ctx.keyspace.dbs)
    finally:
        again.close()
