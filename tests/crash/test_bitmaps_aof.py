"""The bitmap writes (SETBIT, BITOP, BITFIELD) in the AOF: the file holds exactly what
redis-server 7.0.15 appends for the same commands (only the writes that changed something, as
received), and a restart on the file brings back every key, value and TTL.
"""

from __future__ import annotations

import contextlib
import random
from pathlib import Path

from tests.conftest import RawConnection, aof_incr_bytes, aof_pair, zyst_process
from tests.crash.test_aof_expiry import redis_incr_file
from tests.crash.test_strings_aof import parse_commands
from tests.oracle.test_bitmaps_oracle import random_command

Cmd = tuple[str | int, ...]

# Each write, and whether it changed something (so Redis propagates it).
SCRIPT: list[tuple[Cmd, bool]] = [
    (("SETBIT", "a", "7", "1"), True),  # creates the key
    (("SETBIT", "a", "7", "1"), False),  # the bit was already set
    (("SETBIT", "a", "7", "0"), True),
    (("SETBIT", "a", "3", "0"), False),
    (("SETBIT", "a", "30", "0"), True),  # grows the string, bit unchanged
    (("SETBIT", "a", "-1", "1"), False),  # an error
    (("SET", "b", "\x0f\x0f"), True),
    (("BITOP", "OR", "c", "a", "b"), True),
    (("BITOP", "AND", "c", "nope"), True),  # an empty result deletes c
    (("BITOP", "AND", "c", "nope"), False),  # and then there is nothing to delete
    (("BITOP", "NOT", "c", "b"), True),
    (("BITOP", "XOR", "c", "a", "b", "c"), True),
    (("BITFIELD", "f", "GET", "u8", "0"), False),  # GETs only
    (("BITFIELD", "f", "SET", "u8", "0", "0"), True),  # creates the key, value unchanged
    (("BITFIELD", "f", "SET", "u8", "0", "0"), False),
    (("BITFIELD", "f", "SET", "i8", "0", "-5", "GET", "u8", "0"), True),
    (("BITFIELD", "f", "INCRBY", "i8", "0", "5", "INCRBY", "u4", "#1", "0"), True),
    (("BITFIELD", "f", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "256"), False),
    (("BITFIELD", "f", "OVERFLOW", "SAT", "INCRBY", "u8", "0", "256"), True),
    (("BITFIELD", "f", "OVERFLOW", "SAT", "INCRBY", "u8", "0", "1"), False),  # stays at 255
    (("BITFIELD", "f", "INCRBY", "u8", "0", "0", "SET", "u1", "40", "0"), True),  # grows
    # Redis's quirk: every write failed, so nothing is propagated, yet the key was created.
    (("BITFIELD", "g", "OVERFLOW", "FAIL", "SET", "u2", "0", "9"), False),
    (("BITFIELD", "f", "SET", "u65", "0", "1"), False),
    (("BITFIELD_RO", "f", "GET", "u8", "0"), False),
    (("SELECT", "2"), False),
    (("SETBIT", "a", "0", "1"), True),
]


def test_the_aof_holds_what_redis_appends(tmp_path: Path) -> None:
    with aof_pair(tmp_path) as (zyst, real), contextlib.ExitStack() as stack:
        conns = [stack.enter_context(RawConnection(s.port)) for s in (zyst, real)]
        for command, _ in SCRIPT:
            ours, theirs = (conn.command(*command) for conn in conns)
            assert ours == theirs, command
        assert conns[0].command("SELECT", "0") == b"+OK\r\n"
        assert conns[0].command("EXISTS", "g") == b":1\r\n"
        zyst_file = aof_incr_bytes(zyst.dir)
        redis_file = redis_incr_file(real.dir).read_bytes()
    ours = parse_commands(zyst_file)
    assert ours == parse_commands(redis_file)
    expected = [[str(a).encode() for a in command] for command, changed in SCRIPT if changed]
    # The file also says which database each write went to.
    assert [command for command in ours if command[0] != b"SELECT"] == expected


def dump(conn: RawConnection, keys: tuple[str, ...]) -> list[tuple[str, bytes, bytes, int]]:
    """Every key's type, value (as GET answers it) and TTL in seconds."""
    rows = []
    for key in keys:
        kind = conn.command("TYPE", key)
        value = conn.command("GET", key) if kind == b"+string\r\n" else b""
        rows.append((key, kind, value, int(conn.command("TTL", key)[1:])))
    return rows


def test_a_restart_brings_back_every_key(tmp_path: Path) -> None:
    rng = random.Random(15)
    commands = [random_command(rng) for _ in range(2000)]
    # Redis propagates nothing when every write of a BITFIELD fails under OVERFLOW FAIL, even
    # when the key was created or grown: a replay can differ there, so those stay out.
    commands = [
        c for c in commands if not (c[0] == "BITFIELD" and any(str(a).upper() == "FAIL" for a in c))
    ]
    # A bitmap that keeps its TTL through the writes after it.
    commands += [
        ("DEL", "k0"),
        ("SETBIT", "k0", "3", "1"),
        ("EXPIRE", "k0", "1000"),
        ("BITFIELD", "k0", "INCRBY", "u8", "8", "3"),
        ("SETBIT", "k0", "100", "1"),
    ]
    keys = ("k0", "k1", "k2", "k3")
    with zyst_process(tmp_path, "--appendonly", "yes", "--appendfsync", "always") as server:
        with RawConnection(server.port) as conn:
            conn.pipeline(commands)
            before = dump(conn, keys)
        server.kill()
    assert any(kind == b"+string\r\n" and ttl > 0 for _, kind, _, ttl in before)
    aof = aof_incr_bytes(tmp_path)
    assert all(name in aof for name in (b"SETBIT", b"BITOP", b"BITFIELD"))

    with (
        zyst_process(tmp_path, "--appendonly", "yes", port=server.port) as restarted,
        RawConnection(restarted.port) as conn,
    ):
        after = dump(conn, keys)
    for old, new in zip(before, after, strict=True):
        assert old[:3] == new[:3]
        assert (old[3] == -1) == (new[3] == -1) and 0 <= old[3] - new[3] <= 10, (old, new)


def test_a_replay_ignores_proto_max_bulk_len(tmp_path: Path) -> None:
    # Written under the default limit, replayed under a smaller one: the AOF is obeyed, as
    # Redis obeys it, so the bits past the new limit are set again.
    far = 9_000_000  # bit offset: byte 1125000, past 1 MiB
    with zyst_process(tmp_path, "--appendonly", "yes", "--appendfsync", "always") as server:
        with RawConnection(server.port) as conn:
            assert conn.command("SETBIT", "s", far, "1") == b":0\r\n"
            assert conn.command("BITFIELD", "f", "SET", "u8", far, "7") == b"*1\r\n:0\r\n"
        server.kill()
    with (
        zyst_process(
            tmp_path, "--appendonly", "yes", "--proto-max-bulk-len", "1mb", port=server.port
        ) as restarted,
        RawConnection(restarted.port) as conn,
    ):
        assert conn.command("STRLEN", "s") == b":1125001\r\n"
        assert conn.command("BITPOS", "s", "1") == b":%d\r\n" % far
        assert conn.command("GETRANGE", "f", 1_125_000, -1) == b"$1\r\n\x07\r\n"
        # A client, though, is held to the limit.
        assert conn.command("GETBIT", "s", far) == (
            b"-ERR bit offset is not an integer or out of range\r\n"
        )
