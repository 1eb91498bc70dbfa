"""Commands on keys whose deadline has passed, on Zyst and on redis-server: the same reply
bytes, the same data afterwards, the same count of expired keys.

Every command of ``tests/unit/test_expired_writes.py`` runs on its own key of every type, all of
them given one deadline; once the wall clock is past it, the commands go out in one pipeline.
Whether a key is then removed by the command's own lookup or by the active cycle first, the
command must find it missing. ``hz 1`` for the duration makes the lookup the usual path (the
in-process tests pin it down with a settable clock).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import hiredis
import pytest

from tests.conftest import Oracle, RawConnection
from tests.unit.test_expired_writes import LATER, MOVABLE, NOW, READS, SEEDS, WRITES, Command
from zyst.commands import table

TYPE_QUERIES = {
    b"+string\r\n": ("GET",),
    b"+list\r\n": ("LRANGE", 0, -1),
    b"+hash\r\n": ("HGETALL",),
    b"+set\r\n": ("SMEMBERS",),
    b"+zset\r\n": ("ZRANGE", 0, -1, "WITHSCORES"),
    b"+stream\r\n": ("XRANGE", "-", "+"),
}


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def on_key(command: Command, index: int, later: int) -> Command:
    """``command`` on this case's own keys, its fake-clock times turned into real ones."""
    out: list[str | int] = []
    for arg in command[1:]:
        if arg == "k" or arg == "o":
            out.append(f"case:{index}:{arg}")
        elif arg == LATER:
            out.append(later)
        elif arg == LATER // 1000:
            out.append(later // 1000)
        elif arg == NOW:
            out.append(now_ms() - 1_000)
        else:
            out.append(arg)
    return (command[0], *out)


def is_blocking(name: str) -> bool:
    declaration = table.lookup(name.encode())
    assert declaration is not None, name
    return "blocking" in declaration.flags


def info_field(conn: RawConnection, section: str, field: str) -> int:
    reader = hiredis.Reader()
    reader.feed(conn.command("INFO", section))
    text: bytes = reader.gets()
    for line in text.decode().splitlines():
        if line.startswith(field + ":"):
            return int(line.split(":", 1)[1])
    raise AssertionError(f"INFO {section} has no {field}")


@pytest.fixture
def slow_cron(oracle: Oracle) -> Iterator[Oracle]:
    """Both servers' cron at 1 Hz while the test runs, then back as it was."""
    before = [conn.command("CONFIG", "GET", "hz") for conn in (oracle.zyst, oracle.redis)]
    oracle.check("CONFIG", "SET", "hz", "1")
    try:
        yield oracle
    finally:
        for conn, reply in zip((oracle.zyst, oracle.redis), before, strict=True):
            value = reply.split(b"\r\n")[-2]
            assert conn.command("CONFIG", "SET", "hz", value) == b"+OK\r\n"


def test_commands_on_expired_keys_match_redis(slow_cron: Oracle) -> None:
    oracle = slow_cron
    later = now_ms() + 10_000_000
    # Blocking commands would stall the pipeline for their timeouts, which Redis at hz 1 ends up
    # to a second late, long enough for the EX 5 cases to expire on the server that went first:
    # they are compared in tests/server/test_blocking.py instead.
    commands = [c for c in WRITES + READS + MOVABLE if not is_blocking(str(c[0]))]
    cases = [
        (kind, on_key(command, index, later))
        for index, (kind, command) in enumerate(
            (kind, command) for kind in SEEDS for command in commands
        )
    ]
    keys = [f"case:{index}:k" for index in range(len(cases))]
    oracle.check_many(
        [
            (SEEDS[kind][0], key, *SEEDS[kind][2:])
            for key, (kind, _) in zip(keys, cases, strict=True)
        ]
    )
    # One deadline for all, far enough ahead to be still to come when the pipeline runs (were it
    # not, PEXPIREAT would delete the keys at once on both servers, and the cases would test
    # plain missing keys).
    deadline = now_ms() + 300
    oracle.check_many([("PEXPIREAT", key, deadline) for key in keys])
    expired_before = [info_field(c, "stats", "expired_keys") for c in (oracle.zyst, oracle.redis)]
    while now_ms() <= deadline + 1:
        time.sleep(0.01)

    oracle.check_many([command for _, command in cases])

    touched = [f"case:{index}:{name}" for index in range(len(cases)) for name in "ko"]
    types = oracle.check_many([("TYPE", key) for key in touched])
    ttls = oracle.run_many([("PTTL", key) for key in touched])
    for key, ours, theirs in zip(touched, *ttls, strict=True):
        # Deadlines set by the commands differ by the milliseconds between the two servers.
        assert (int(ours[1:-2]) > 0) == (int(theirs[1:-2]) > 0), key
        if int(theirs[1:-2]) < 0:
            assert ours == theirs, key
    queries = [
        (TYPE_QUERIES[type_reply][0], key, *TYPE_QUERIES[type_reply][1:])
        for key, type_reply in zip(touched, types, strict=True)
        if type_reply != b"+none\r\n"
    ]
    ours, theirs = oracle.run_many(queries)
    for query, mine, redis_reply in zip(queries, ours, theirs, strict=True):
        if query[0] == "SMEMBERS":  # no defined order
            mine, redis_reply = sorted(mine.split(b"\r\n")), sorted(redis_reply.split(b"\r\n"))
        assert mine == redis_reply, f"{query}: zyst {mine!r} != redis {redis_reply!r}"

    expired_after = [info_field(c, "stats", "expired_keys") for c in (oracle.zyst, oracle.redis)]
    deltas = [after - before for after, before in zip(expired_after, expired_before, strict=True)]
    assert deltas[0] == deltas[1]
