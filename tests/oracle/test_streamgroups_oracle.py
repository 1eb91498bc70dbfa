"""Stream consumer groups against real Redis 7.0: XGROUP, XREADGROUP, XACK, XPENDING, XCLAIM,
XAUTOCLAIM, XINFO GROUPS and CONSUMERS.

Replies are compared byte for byte, in RESP2 and RESP3, except the fields that count
milliseconds since something happened (XPENDING's idle time, XINFO CONSUMERS' idle), which
are compared with that one number blanked out: the two servers cannot deliver at the same
millisecond. A seeded random sequence drives several groups and consumers through reads,
acks, claims, deletions and trims; then several clients block in XREADGROUP and are served,
or woken with Redis's error when their group or stream goes. What the commands propagate is
in ``tests/crash/test_streamgroups_aof.py``.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from tests.conftest import Oracle, RawConnection, ServerProcess, parse_reply
from tests.oracle.test_keyevents_oracle import redis_events
from tests.server.test_blocking import read_exactly, send, wait_blocked

Arg = bytes | str | int

# Every error, in the order Redis checks them (a later argument's error must not win).
ERRORS: list[tuple[Arg, ...]] = [
    ("XGROUP", "CREATE", "s", "g", "$"),
    ("XGROUP", "CREATE", "s", "g", "0", "ENTRIESREAD", "-2"),
    ("XGROUP", "CREATE", "s", "g", "0", "ENTRIESREAD", "x", "MKSTREAM"),
    ("XGROUP", "CREATE", "s", "g", "0", "MKSTREAM", "BOGUS"),
    ("XGROUP", "CREATE", "s", "g", "+", "MKSTREAM"),
    ("XGROUP", "CREATE", "s", "g", "1-*", "MKSTREAM"),
    ("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM", "MKSTREAM", "MKSTREAM", "MKSTREAM"),
    ("XGROUP", "SETID", "s", "g", "0", "MKSTREAM"),
    ("XGROUP", "SETID", "s", "g", "0", "ENTRIESREAD"),
    ("XGROUP", "SETID", "nokey", "g", "0"),
    ("XGROUP", "SETID", "str", "g", "0"),
    ("XGROUP", "DESTROY", "nokey", "g"),
    ("XGROUP", "CREATECONSUMER", "s", "g", "c"),
    ("XGROUP", "DELCONSUMER", "s", "nogroup", "c"),
    ("XGROUP", "DESTROY", "s", "g", "extra"),
    ("XGROUP", "NOSUCH"),
    ("XGROUP", "HELP", "x"),
    ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">", "s2"),
    ("XREADGROUP", "COUNT", "1", "STREAMS", "s", ">", "x"),
    ("XREADGROUP", "GROUP", "g", "c", "COUNT", "x", "STREAMS", "s", ">"),
    ("XREADGROUP", "GROUP", "g", "c", "BLOCK", "-1", "STREAMS", "s", ">"),
    ("XREADGROUP", "GROUP", "g", "c", "BLOCK", "1.5", "STREAMS", "s", ">"),
    ("XREADGROUP", "GROUP", "g", "c", "BOGUS", "STREAMS", "s", ">"),
    ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "$"),
    ("XREADGROUP", "GROUP", "nogroup", "c", "STREAMS", "s", ">"),
    ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "nokey", ">"),
    ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "str", ">"),
    ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "bad-id"),
    ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "-"),
    ("XACK", "s", "g", "1-1", "bad"),
    ("XACK", "str", "g", "1-1"),
    ("XACK", "nokey", "g", "bad"),
    ("XPENDING", "s", "g", "-"),
    ("XPENDING", "s", "g", "-", "+"),
    ("XPENDING", "s", "g", "-", "+", "x"),
    ("XPENDING", "s", "g", "IDLE", "x", "-", "+", "1"),
    ("XPENDING", "s", "g", "IDLE", "5", "-", "+"),
    ("XPENDING", "s", "g", "(+", "+", "1"),
    ("XPENDING", "s", "g", "-", "(-", "1"),
    ("XPENDING", "s", "g", "(-", "+", "1"),
    ("XPENDING", "s", "nogroup"),
    ("XPENDING", "str", "g"),
    ("XPENDING", "s", "g", "-", "+", "1", "c", "extra", "x"),
    ("XCLAIM", "s", "nogroup", "c", "0", "1-1"),
    ("XCLAIM", "s", "g", "c", "x", "1-1"),
    ("XCLAIM", "s", "g", "c", "0", "1-1", "BOGUS"),
    ("XCLAIM", "s", "g", "c", "0", "1-1", "IDLE", "x"),
    ("XCLAIM", "s", "g", "c", "0", "1-1", "TIME", "x"),
    ("XCLAIM", "s", "g", "c", "0", "1-1", "RETRYCOUNT", "x"),
    ("XCLAIM", "s", "g", "c", "0", "1-1", "LASTID", "+"),
    ("XCLAIM", "s", "g", "c", "0", "1-1", "IDLE"),
    ("XCLAIM", "str", "g", "c", "0", "1-1"),
    ("XAUTOCLAIM", "s", "g", "c", "x", "0"),
    ("XAUTOCLAIM", "s", "g", "c", "0", "x"),
    ("XAUTOCLAIM", "s", "g", "c", "0", "(+"),
    ("XAUTOCLAIM", "s", "g", "c", "0", "0", "COUNT", "0"),
    ("XAUTOCLAIM", "s", "g", "c", "0", "0", "COUNT", "8070450532247928833"),
    ("XAUTOCLAIM", "s", "g", "c", "0", "0", "COUNT"),
    ("XAUTOCLAIM", "s", "g", "c", "0", "0", "BOGUS"),
    ("XAUTOCLAIM", "s", "nogroup", "c", "0", "0"),
    ("XAUTOCLAIM", "str", "g", "c", "0", "0"),
    ("XINFO", "GROUPS", "nokey"),
    ("XINFO", "GROUPS", "str"),
    ("XINFO", "CONSUMERS", "s", "nogroup"),
    ("XINFO", "CONSUMERS", "nokey", "g"),
    ("XINFO", "GROUPS"),
]


def seed_errors(o: Oracle) -> None:
    o.check("SET", "str", "x")
    o.check("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
    o.check("XADD", "s", "1-1", "f", "v")


@pytest.mark.parametrize("resp", [2, 3])
def test_errors_in_redis_order(oracle: Oracle, resp: int) -> None:
    if resp == 3:
        oracle.run("HELLO", "3")
    oracle.check("XGROUP", "CREATE", "s", "g", "$")  # no key yet
    seed_errors(oracle)
    for command in ERRORS:
        oracle.check(*command)
    oracle.check("XINFO", "GROUPS", "s")  # nothing above changed the group


def blank_idle(raw: bytes, command: tuple[Arg, ...]) -> Any:
    """The reply with its milliseconds-since fields replaced by a marker (RESP2)."""
    if raw.startswith(b"-"):
        return raw  # (hiredis makes errors exceptions, which compare by identity)
    reply = parse_reply(raw)
    name = str(command[0]).upper()
    if name == "XPENDING" and len(command) > 3 and isinstance(reply, list):
        return [[entry[0], entry[1], "idle", entry[3]] for entry in reply]
    if name == "XINFO" and str(command[1]).upper() == "CONSUMERS" and isinstance(reply, list):
        return [[*entry[:5], "idle"] for entry in reply]
    return reply


def check_blanked(o: Oracle, *command: Arg) -> Any:
    ours, theirs = o.run(*command)
    mine, redis_reply = blank_idle(ours, command), blank_idle(theirs, command)
    assert mine == redis_reply, f"{command!r}: zyst {ours!r} != redis {theirs!r}"
    return mine


def test_reads_acks_and_claims(oracle: Oracle) -> None:
    o = oracle
    for sid in ("1-1", "1-2", "2-1", "3-1", "4-1"):
        o.check("XADD", "s", sid, "f", sid, "n", "1")
    expected: list[tuple[tuple[Arg, ...], bytes | None]] = [
        (("XGROUP", "CREATE", "s", "g", "0"), b"+OK\r\n"),
        (("XREADGROUP", "GROUP", "g", "alice", "COUNT", "2", "STREAMS", "s", ">"), None),
        (("XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", ">"), None),
        (("XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", ">"), b"*-1\r\n"),
    ]
    for command, reply in expected:
        got = o.check(*command)
        if reply is not None:
            assert got == reply
    commands: list[tuple[Arg, ...]] = [
        ("XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "0"),
        ("XREADGROUP", "GROUP", "g", "alice", "COUNT", "1", "STREAMS", "s", "1-1"),
        ("XREADGROUP", "GROUP", "g", "carol", "STREAMS", "s", "0"),  # creates carol, empty
        ("XPENDING", "s", "g"),
        ("XPENDING", "s", "g", "-", "+", "10"),
        ("XPENDING", "s", "g", "(1-1", "(4-1", "10", "bob"),
        ("XPENDING", "s", "g", "IDLE", "0", "-", "+", "2"),
        ("XPENDING", "s", "g", "-", "+", "10", "nobody"),
        ("XINFO", "GROUPS", "s"),
        ("XINFO", "CONSUMERS", "s", "g"),
        ("XACK", "s", "g", "1-1", "1-1", "9-9"),
        ("XDEL", "s", "2-1"),
        ("XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", "0"),  # 2-1 deleted: a null
        ("XCLAIM", "s", "g", "carol", "0", "1-2", "2-1", "3-1", "JUSTID"),
        ("XPENDING", "s", "g"),
        ("XCLAIM", "s", "g", "dave", "0", "4-1", "RETRYCOUNT", "7", "TIME", "1000"),
        ("XCLAIM", "s", "g", "dave", "0", "1-1", "FORCE", "JUSTID", "LASTID", "9-0"),
        ("XCLAIM", "s", "g", "dave", "3600000", "3-1"),
        ("XPENDING", "s", "g", "-", "+", "10"),
        ("XINFO", "GROUPS", "s"),
        ("XAUTOCLAIM", "s", "g", "erin", "0", "0", "COUNT", "2"),
        ("XAUTOCLAIM", "s", "g", "erin", "0", "(1-2", "JUSTID"),
        ("XAUTOCLAIM", "s", "g", "erin", "3600000", "0"),
        ("XINFO", "CONSUMERS", "s", "g"),
        ("XGROUP", "DELCONSUMER", "s", "g", "erin"),
        ("XGROUP", "DELCONSUMER", "s", "g", "erin"),
        ("XGROUP", "CREATECONSUMER", "s", "g", "erin"),
        ("XGROUP", "CREATECONSUMER", "s", "g", "erin"),
        ("XPENDING", "s", "g"),
        ("XGROUP", "SETID", "s", "g", "1-2", "ENTRIESREAD", "2"),
        ("XINFO", "GROUPS", "s"),
        ("XREADGROUP", "GROUP", "g", "frank", "NOACK", "STREAMS", "s", ">"),
        ("XINFO", "GROUPS", "s"),
        ("XGROUP", "SETID", "s", "g", "$"),
        ("XGROUP", "CREATE", "s", "g2", "$", "ENTRIESREAD", "3"),
        ("XGROUP", "CREATE", "s", "g", "0"),
        ("XGROUP", "CREATE", "new", "g", "$", "MKSTREAM"),
        ("XINFO", "GROUPS", "s"),
        ("XINFO", "GROUPS", "new"),
        ("XGROUP", "DESTROY", "s", "g2"),
        ("XGROUP", "DESTROY", "s", "g2"),
        ("XGROUP", "HELP"),
        ("XINFO", "GROUPS", "s"),
    ]
    for command in commands:
        check_blanked(o, *command)


@pytest.mark.parametrize("resp", [2, 3])
def test_replies_in_resp3(oracle: Oracle, resp: int) -> None:
    o = oracle
    if resp == 3:
        o.run("HELLO", "3")
    o.check("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
    o.check("XADD", "s", "1-1", "a", "1")
    o.check("XADD", "t", "1-1", "b", "2")
    o.check("XGROUP", "CREATE", "t", "g", "0")
    o.check("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "t", ">", ">")
    o.check("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "t", "0", "0")
    o.check("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "t", ">", ">")
    o.check("XPENDING", "s", "g")
    o.check("XINFO", "GROUPS", "s")
    o.check("XAUTOCLAIM", "s", "g", "d", "0", "0")
    o.check("XCLAIM", "t", "g", "d", "0", "1-1")
    o.check("XGROUP", "CREATE", "t", "empty", "$")
    o.check("XPENDING", "t", "empty")
    o.check("XINFO", "GROUPS", "t")


# -- seeded random sequences ---------------------------------------------------------------------
KEYS = ("s1", "s2")
GROUPS = ("g1", "g2")
CONSUMERS = ("c1", "c2", "c3")


def random_command(rng: random.Random, clock: list[int]) -> tuple[Arg, ...]:
    key = rng.choice(KEYS)
    group = rng.choice(GROUPS)
    consumer = rng.choice(CONSUMERS)

    def some_id() -> str:
        return f"{rng.randint(1, clock[0] + 1)}-{rng.randint(0, 2)}"

    roll = rng.random()
    if roll < 0.22:
        clock[0] += rng.randint(0, 2)
        return ("XADD", key, f"{clock[0]}-*", "f", str(rng.randint(0, 9)))
    if roll < 0.40:
        count = rng.choice(((), ("COUNT", str(rng.randint(1, 3)))))
        noack = ("NOACK",) if rng.random() < 0.15 else ()
        start = ">" if rng.random() < 0.75 else rng.choice(("0", some_id()))
        return ("XREADGROUP", "GROUP", group, consumer, *count, *noack, "STREAMS", key, start)
    if roll < 0.52:
        return ("XACK", key, group, *(some_id() for _ in range(rng.randint(1, 3))))
    if roll < 0.60:
        option = rng.choice(((), ("FORCE",), ("RETRYCOUNT", "3"), ("LASTID", some_id())))
        return ("XCLAIM", key, group, consumer, "0", some_id(), some_id(), "JUSTID", *option)
    if roll < 0.66:
        return ("XAUTOCLAIM", key, group, consumer, "0", some_id(), "COUNT", "2", "JUSTID")
    if roll < 0.72:
        return ("XDEL", key, some_id())
    if roll < 0.75:
        return ("XTRIM", key, "MAXLEN", str(rng.randint(0, 6)))
    if roll < 0.80:
        extended = rng.choice(((), ("-", "+", "5"), ("-", "+", "5", consumer)))
        return ("XPENDING", key, group, *extended)
    if roll < 0.86:
        return ("XINFO", rng.choice(("GROUPS", "CONSUMERS")), key, group)[
            : 3 if rng.random() < 0.5 else 4
        ]
    if roll < 0.90:
        return ("XGROUP", "CREATE", key, group, rng.choice(("$", "0", some_id())), "MKSTREAM")
    if roll < 0.93:
        return ("XGROUP", "SETID", key, group, rng.choice(("$", "0", some_id())))
    if roll < 0.95:
        return ("XGROUP", "DELCONSUMER", key, group, consumer)
    if roll < 0.97:
        return ("XGROUP", "CREATECONSUMER", key, group, consumer)
    if roll < 0.98:
        return ("XGROUP", "DESTROY", key, group)
    return ("DEL", key)


@pytest.mark.parametrize("seed", range(4))
def test_random_sequence(oracle: Oracle, seed: int) -> None:
    rng = random.Random(seed)
    clock = [1]
    for _ in range(250):
        command = random_command(rng, clock)
        if command[:2] == ("XINFO", "GROUPS") and len(command) == 4:
            command = command[:3]
        check_blanked(oracle, *command)
    for key in KEYS:
        check_blanked(oracle, "XINFO", "GROUPS", key)
        for group in GROUPS:
            check_blanked(oracle, "XINFO", "CONSUMERS", key, group)
            check_blanked(oracle, "XPENDING", key, group, "-", "+", "100")


# -- blocking (several clients) ------------------------------------------------------------------
class Clients:
    """``count`` extra connections to each server, driven alike."""

    def __init__(self, oracle: Oracle, count: int) -> None:
        self.oracle = oracle
        zyst_port = oracle.zyst.sock.getpeername()[1]
        redis_port = oracle.redis.sock.getpeername()[1]
        self.zyst = [RawConnection(zyst_port) for _ in range(count)]
        self.redis = [RawConnection(redis_port) for _ in range(count)]

    def send(self, index: int, *args: str) -> None:
        send(self.zyst[index], *args)
        send(self.redis[index], *args)

    def read(self, index: int) -> bytes:
        ours = read_exactly(self.zyst[index], 1)
        theirs = read_exactly(self.redis[index], 1)
        assert ours == theirs, f"client {index}: zyst {ours!r} != redis {theirs!r}"
        return ours

    def wait_blocked(self, count: int) -> None:
        wait_blocked(self.oracle.zyst, count)
        wait_blocked(self.oracle.redis, count)

    def close(self) -> None:
        for conn in self.zyst + self.redis:
            conn.close()


@pytest.fixture
def clients(oracle: Oracle) -> Any:
    made: list[Clients] = []

    def make(count: int) -> Clients:
        made.append(Clients(oracle, count))
        return made[-1]

    yield make
    for group in made:
        group.close()


def test_blocked_readers_served_in_order(oracle: Oracle, clients: Any) -> None:
    o = oracle
    o.check("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
    o.check("XGROUP", "CREATE", "t", "g", "$", "MKSTREAM")
    c = clients(3)
    c.send(0, "XREADGROUP", "GROUP", "g", "alice", "BLOCK", "0", "STREAMS", "s", "t", ">", ">")
    c.wait_blocked(1)
    c.send(1, "XREADGROUP", "GROUP", "g", "bob", "COUNT", "5", "BLOCK", "0", "STREAMS", "s", ">")
    c.wait_blocked(2)
    c.send(2, "XREADGROUP", "GROUP", "g", "carol", "NOACK", "BLOCK", "0", "STREAMS", "s", ">")
    c.wait_blocked(3)
    o.check("XADD", "t", "1-1", "f", "v")  # alice, on her second key
    assert b"alice" not in c.read(0)
    o.check("XADD", "s", "1-1", "f", "v")  # bob takes it; carol still waits
    c.read(1)
    c.wait_blocked(1)
    o.check("MULTI")
    o.check("XADD", "s", "2-1", "f", "v")
    o.check("XADD", "s", "3-1", "f", "v")
    o.check("EXEC")
    c.read(2)  # carol: both, unacknowledged
    check_blanked(o, "XINFO", "CONSUMERS", "s", "g")
    o.check("XPENDING", "s", "g")
    o.check("XINFO", "GROUPS", "s")


def test_a_reader_left_waiting_does_not_hold_back_another_group(
    oracle: Oracle, clients: Any
) -> None:
    """One new entry, three readers: the first of group g takes it, the second of g finds
    nothing and waits on, and the third, of group h, behind them, gets the entry too."""
    o = oracle
    o.check("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
    o.check("XGROUP", "CREATE", "s", "h", "$")
    c = clients(3)
    c.send(0, "XREADGROUP", "GROUP", "g", "alice", "BLOCK", "0", "STREAMS", "s", ">")
    c.wait_blocked(1)
    c.send(1, "XREADGROUP", "GROUP", "g", "bob", "BLOCK", "0", "STREAMS", "s", ">")
    c.wait_blocked(2)
    c.send(2, "XREADGROUP", "GROUP", "h", "carol", "BLOCK", "0", "STREAMS", "s", ">")
    c.wait_blocked(3)
    o.check("XADD", "s", "1-1", "f", "v")
    assert b"1-1" in c.read(0)
    assert b"1-1" in c.read(2)
    c.wait_blocked(1)  # bob
    o.check("XINFO", "GROUPS", "s")


def test_a_stream_swapped_away_wakes_its_group_readers(oracle: Oracle, clients: Any) -> None:
    """SWAPDB takes the stream from under a blocked reader: it is answered, as when deleted."""
    o = oracle
    o.check("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
    c = clients(1)
    c.send(0, "XREADGROUP", "GROUP", "g", "alice", "BLOCK", "0", "STREAMS", "s", ">")
    c.wait_blocked(1)
    o.check("SWAPDB", "0", "1")
    assert c.read(0).startswith(b"-UNBLOCKED")
    o.check("SWAPDB", "0", "1")
    o.check("XINFO", "GROUPS", "s")


def test_destroyed_group_wakes_its_readers(oracle: Oracle, clients: Any) -> None:
    o = oracle
    o.check("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
    o.check("XGROUP", "CREATE", "s", "h", "$")
    c = clients(2)
    c.send(0, "XREADGROUP", "GROUP", "g", "alice", "BLOCK", "0", "STREAMS", "s", ">")
    c.send(1, "XREADGROUP", "GROUP", "h", "bob", "BLOCK", "0", "STREAMS", "s", ">")
    c.wait_blocked(2)
    o.check("XGROUP", "DESTROY", "s", "g")
    assert c.read(0).startswith(b"-NOGROUP")
    c.wait_blocked(1)
    o.check("XADD", "s", "1-1", "f", "v")
    c.read(1)


@pytest.mark.parametrize(
    "removal",
    [("DEL", "s"), ("SET", "s", "x"), ("FLUSHALL",), ("RENAME", "s", "s2"), ("EXPIRE", "s", "0")],
)
def test_removed_stream_wakes_its_group_readers(
    oracle: Oracle, clients: Any, removal: tuple[str, ...]
) -> None:
    o = oracle
    o.check("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
    c = clients(2)
    c.send(0, "XREADGROUP", "GROUP", "g", "alice", "BLOCK", "0", "STREAMS", "s", ">")
    c.send(1, "XREAD", "BLOCK", "0", "STREAMS", "s", "$")
    c.wait_blocked(2)
    o.check(*removal)
    assert c.read(0) == b"-UNBLOCKED the stream key no longer exists\r\n"
    c.wait_blocked(1)  # XREAD waits on
    o.check("DEL", "s")
    o.check("XADD", "s", "5-1", "f", "v")
    c.read(1)


def test_blocked_reader_in_multi_and_timeout(oracle: Oracle, clients: Any) -> None:
    o = oracle
    o.check("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
    o.check("MULTI")
    o.check("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">")
    o.check("EXEC")
    o.check("XREADGROUP", "GROUP", "g", "c", "BLOCK", "1", "STREAMS", "s", ">")
    o.check(
        "EVAL", "return redis.call('XREADGROUP','GROUP','g','c','BLOCK','0','STREAMS','s','>')", "0"
    )
    o.check("EVAL", "return redis.call('XREADGROUP','GROUP','g','c','STREAMS','s','>')", "0")


def test_blocked_reader_served_by_an_entry_deleted_at_once(oracle: Oracle, clients: Any) -> None:
    """Redis serves a blocked reader when the stream's last ID passes the group's, even if that
    entry is gone by then (XADD and XDEL in one transaction): it gets the key and no entries."""
    o = oracle
    o.check("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
    c = clients(1)
    c.send(0, "XREADGROUP", "GROUP", "g", "alice", "BLOCK", "0", "STREAMS", "s", ">")
    c.wait_blocked(1)
    o.check_many([("MULTI",), ("XADD", "s", "1-1", "f", "v"), ("XDEL", "s", "1-1"), ("EXEC",)])
    assert c.read(0) == b"*1\r\n*2\r\n$1\r\ns\r\n*0\r\n"
    o.check("XINFO", "GROUPS", "s")


# -- keyspace events -----------------------------------------------------------------------------
EVENT_SCRIPT: list[tuple[str, ...]] = [
    ("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"),
    ("XADD", "s", "1-1", "f", "v"),
    ("XADD", "s", "2-1", "f", "v"),
    ("XREADGROUP", "GROUP", "g", "alice", "COUNT", "1", "STREAMS", "s", ">"),
    ("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">"),  # alice exists now
    ("XREADGROUP", "GROUP", "g", "bob", "NOACK", "STREAMS", "s", "0"),
    ("XACK", "s", "g", "1-1"),
    ("XCLAIM", "s", "g", "carol", "0", "2-1"),
    ("XAUTOCLAIM", "s", "g", "dave", "0", "0"),
    ("XGROUP", "CREATECONSUMER", "s", "g", "erin"),
    ("XGROUP", "CREATECONSUMER", "s", "g", "erin"),
    ("XGROUP", "DELCONSUMER", "s", "g", "erin"),
    ("XGROUP", "DELCONSUMER", "s", "g", "nobody"),
    ("XGROUP", "SETID", "s", "g", "0"),
    ("XGROUP", "DESTROY", "s", "g"),
    ("XGROUP", "DESTROY", "s", "g"),
]


@pytest.mark.parametrize("flags", ["KEA", "KEAn", "Et", "Kg"])
def test_keyspace_events_as_in_redis(
    zyst_proc: ServerProcess, redis_server: ServerProcess, flags: str
) -> None:
    theirs = redis_events(redis_server.port, EVENT_SCRIPT, flags)
    ours = redis_events(zyst_proc.port, EVENT_SCRIPT, flags)
    assert ours == theirs
    if flags == "KEA":
        assert (b"__keyevent@0__:xgroup-createconsumer", b"s") in theirs


@pytest.mark.parametrize("resp", [2, 3])
def test_replies_through_lua(oracle: Oracle, resp: int) -> None:
    """Group replies converted for scripts (maps, nulls, null arrays), in both protocols."""
    o = oracle
    o.check("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
    o.check("XADD", "s", "1-1", "f", "v")
    o.check("XADD", "s", "2-1", "f", "v")
    o.check("XGROUP", "CREATE", "s", "h", "0")
    o.check("XDEL", "s", "2-1")
    setresp = f"redis.setresp({resp}) "
    for call in (
        "'XREADGROUP', 'GROUP', 'g', 'c', 'STREAMS', 's', '0'",
        "'XREADGROUP', 'GROUP', 'h', 'c', 'STREAMS', 's', '>'",
        "'XREADGROUP', 'GROUP', 'h', 'c', 'STREAMS', 's', '0'",
        "'XINFO', 'GROUPS', 's'",
        "'XPENDING', 's', 'g'",
        "'XPENDING', 's', 'h'",
        "'XAUTOCLAIM', 's', 'h', 'd', '0', '0', 'JUSTID'",
        "'XCLAIM', 's', 'h', 'd', '0', '1-1'",
    ):
        o.check("EVAL", f"{setresp}return redis.call({call})", "0")
