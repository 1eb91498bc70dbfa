"""What RENAME, MOVE, COPY, SWAPDB and RANDOMKEY change and propagate, in-process with a
settable clock (the replies themselves are compared with Redis's in
``tests/oracle/test_generic_keys_oracle.py``).

Redis 7.0 propagates these commands as received, and only when they changed something; the
expired keys they meet leave as ``DEL`` first.
"""

from __future__ import annotations

import pytest

from tests.unit.test_expired_writes import DEADLINE, Harness

CHANGES = [
    ("RENAME", "a", "b"),
    ("RENAMENX", "a", "b"),
    ("MOVE", "a", "3"),
    ("COPY", "a", "b"),
    ("COPY", "a", "a", "DB", "3", "REPLACE"),
    ("SWAPDB", "0", "3"),
    ("SWAPDB", "2", "2"),  # changes nothing, yet Redis counts and propagates it
    ("UNLINK", "a", "nosuch"),
]
NO_CHANGES = [
    ("RENAME", "a", "a"),
    ("RENAMENX", "a", "a"),
    ("RENAMENX", "a", "taken"),
    ("RENAME", "nosuch", "b"),
    ("MOVE", "a", "0"),
    ("MOVE", "a", "2"),  # exists there
    ("MOVE", "nosuch", "3"),
    ("COPY", "a", "taken"),
    ("COPY", "nosuch", "b"),
    ("COPY", "a", "a", "DB", "2"),
    ("SWAPDB", "0", "16"),
    ("UNLINK", "nosuch"),
    ("TOUCH", "a"),
    ("RANDOMKEY",),
    ("EXPIRETIME", "a"),
]


def seeded() -> Harness:
    h = Harness()
    h("SET", "a", "1")
    h("PEXPIREAT", "a", DEADLINE)
    h("SET", "taken", "2")
    h("SELECT", "2")
    h("SET", "a", "other")
    h("SELECT", "0")
    h.propagated.clear()
    return h


@pytest.mark.parametrize("command", CHANGES, ids=" ".join)
def test_changes_propagate_as_received(command: tuple[str, ...]) -> None:
    h = seeded()
    h(*command)
    assert h.propagated == [(0, [part.encode() for part in command])]


@pytest.mark.parametrize("command", NO_CHANGES, ids=" ".join)
def test_nothing_changed_nothing_propagated(command: tuple[str, ...]) -> None:
    h = seeded()
    state = h.state()
    h(*command)
    assert h.propagated == []
    assert h.state() == state


@pytest.mark.parametrize("command", [("RENAME", "a", "b"), ("MOVE", "a", "3"), ("COPY", "a", "b")])
def test_the_deadline_goes_with_the_value(command: tuple[str, ...]) -> None:
    h = seeded()
    h(*command)
    target = h.ctx.keyspace.dbs[3 if command[0] == "MOVE" else 0]
    assert target.data[b"b" if command[0] != "MOVE" else b"a"] == b"1"
    assert target.expires[b"b" if command[0] != "MOVE" else b"a"] == DEADLINE


def test_swapdb_moves_data_and_deadlines_under_the_clients() -> None:
    h = seeded()
    dbs = h.ctx.keyspace.dbs
    first, third = dbs[0], dbs[3]
    data, expires = first.data, first.expires
    assert h("SWAPDB", "0", "3")[0] == b"+OK\r\n"
    # The Database objects (which clients hold) stay; their contents change places.
    assert dbs[0] is first and dbs[3] is third and h.client.db is first
    assert third.data is data and third.expires is expires
    assert first.data == {} and first.expires == {}
    assert h("GET", "a")[0] == b"$-1\r\n"


def test_copy_shares_nothing_with_the_source() -> None:
    h = Harness()
    h("RPUSH", "l", "x")
    h("HSET", "h", "f", "v")
    h("SADD", "s", "m")
    for key in ("l", "h", "s"):
        h("COPY", key, key + "2")
    data = h.ctx.keyspace.dbs[0].data
    for key in (b"l", b"h", b"s"):
        assert data[key] == data[key + b"2"] and data[key] is not data[key + b"2"]


def test_randomkey_removes_the_expired_keys_it_meets() -> None:
    h = Harness()
    h("SELECT", "4")
    for n in range(10):
        h("SET", f"k{n}", "v")
        h("PEXPIREAT", f"k{n}", DEADLINE)
    h.now = DEADLINE + 1
    h.propagated.clear()
    assert h("RANDOMKEY") == (b"$-1\r\n", b"_\r\n")
    assert sorted(h.propagated) == sorted((4, [b"DEL", b"k%d" % n]) for n in range(10))
    assert h.ctx.keyspace.dbs[4].data == {}
    assert h.ctx.keyspace.expired_keys == 10


def test_randomkey_never_returns_an_expired_key() -> None:
    h = Harness()
    for n in range(30):
        h("SET", f"k{n}", "v")
        if n != 17:
            h("PEXPIREAT", f"k{n}", DEADLINE)
    h.now = DEADLINE + 1
    h.propagated.clear()
    for _ in range(5):
        assert h("RANDOMKEY")[0] == b"$3\r\nk17\r\n"
    # Whatever expired keys the walks met were removed, and only those.
    removed = h.ctx.keyspace.expired_keys
    assert removed > 0
    assert len(h.propagated) == removed
    assert all(argv[0] == b"DEL" and argv[1] != b"k17" for _, argv in h.propagated)


def test_randomkey_draws_every_key() -> None:
    h = Harness()
    for n in range(20):
        h("SET", f"k{n}", "v")
    seen = {h("RANDOMKEY")[0] for _ in range(400)}
    # Missing one of 20 keys in 400 draws has odds of 20 * (19/20)**400, about 2e-8.
    assert len(seen) == 20


@pytest.mark.parametrize("command", [("RENAME", "a", "b"), ("MOVE", "a", "3")], ids=" ".join)
def test_a_key_found_alive_does_not_expire_halfway(command: tuple[str, ...]) -> None:
    """A clock that moves on with every reading: ``a`` is at its deadline millisecond when the
    command looks it up, past it a moment later. The command must finish with what it found
    (were ``a`` expired on the way, the file would hold ``DEL a`` and then a RENAME or MOVE
    that fails on replay)."""
    h = seeded()
    readings = iter(range(DEADLINE, DEADLINE + 100))
    h.ctx.keyspace.clock = lambda: next(readings)
    h(*command)
    assert h.propagated == [(0, [part.encode() for part in command])]
    assert h.ctx.keyspace.expired_keys == 0
