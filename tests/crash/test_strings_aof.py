"""The string commands of issue 15 and the AOF: what each write leaves in the file, compared
with what redis-server 7.0.15 appends for the same commands, and a restart that brings back
every key, type, value and deadline.

Relative expiries reach the file as absolute times (``SET ... PXAT``, ``PEXPIREAT``), which
depend on each server's clock: those arguments are checked to lie between the times taken
before and after the command, then masked, and the rest of the two files must be equal bytes.
"""

from __future__ import annotations

import contextlib
import random
import time
from pathlib import Path

import hiredis

from tests.conftest import RawConnection, aof_incr_bytes, aof_pair, zyst_process
from tests.crash.test_aof_expiry import redis_incr_file
from tests.oracle.test_strings_oracle import FAR_FUTURE_S, KEYS, PAST_MS, random_command

Command = tuple[str | int, ...]

# Each write of the family, its no-op forms (which leave nothing in the file) included.
# ``+100s``/``+100000ms`` mark the relative expiries whose absolute time is checked.
WRITES: list[Command] = [
    ("SET", "a", "hello"),
    ("APPEND", "a", " world"),
    ("APPEND", "new", ""),
    ("SETRANGE", "a", "0", "J"),
    ("SETRANGE", "a", "0", ""),
    ("SETRANGE", "missing", "3", ""),
    ("GETSET", "a", "x"),
    ("GETDEL", "a"),
    ("GETDEL", "a"),
    ("SETNX", "b", "1"),
    ("SETNX", "b", "2"),
    ("MSETNX", "c", "1", "d", "2"),
    ("MSETNX", "c", "1", "e", "2"),
    ("SETEX", "s", "100", "v"),
    ("PSETEX", "p", "100000", "v"),
    ("GETEX", "s"),
    ("GETEX", "s", "PERSIST"),
    ("GETEX", "s", "PERSIST"),
    ("GETEX", "s", "EX", "100"),
    ("GETEX", "s", "PX", "100000"),
    ("GETEX", "s"),
    ("GETEX", "s", "EXAT", FAR_FUTURE_S),
    ("GETEX", "s", "PXAT", FAR_FUTURE_S * 1000 + 7),
    ("GETEX", "p", "PXAT", PAST_MS),
    ("GETEX", "gone", "EX", "100"),
    ("INCRBYFLOAT", "f", "1.5"),
    ("INCRBYFLOAT", "f", "0.1"),
    ("INCRBYFLOAT", "f", "1e400"),
    ("INCRBYFLOAT", "f", "-1e400"),
    ("SET", "t", "1", "EX", "100"),
    ("INCRBYFLOAT", "t", "2"),
    ("APPEND", "t", "x"),
    ("SETRANGE", "t", "1", "yz"),
    ("INCRBYFLOAT", "f", "inf"),
    ("INCRBYFLOAT", "f", "x"),
]
# Where a relative expiry becomes an absolute time: (command name, position of the time).
ABSOLUTE_TIMES = {b"SET": 4, b"PEXPIREAT": 2}


def parse_commands(content: bytes) -> list[list[bytes]]:
    reader = hiredis.Reader()
    reader.feed(content)
    commands = []
    while (command := reader.gets()) is not False:
        commands.append(command)
    return commands


def masked(content: bytes, windows: list[tuple[int, int]]) -> list[list[bytes]]:
    """The file's commands with each absolute time that lies in one of ``windows`` (in order of
    appearance) replaced by ``b"<ms>"``; a time outside its window is left, so it differs."""
    out = []
    pending = list(windows)
    for command in parse_commands(content):
        position = ABSOLUTE_TIMES.get(command[0].upper())
        if position is not None and len(command) > position and pending:
            low, high = pending[0]
            if low <= int(command[position]) <= high:
                command[position] = b"<ms>"
                pending.pop(0)
        out.append(command)
    assert not pending, f"relative expiries not found in the file: {pending}"
    return out


def relative_ms(command: Command) -> int | None:
    """The length of the relative expiry ``command`` sets, if any."""
    name = str(command[0]).upper()
    args = [str(a).upper() for a in command]
    if name in ("SETEX",):
        return int(command[2]) * 1000
    if name == "PSETEX":
        return int(command[2])
    for option, scale in (("EX", 1000), ("PX", 1)):
        if option in args[2:]:
            return int(args[args.index(option) + 1]) * scale
    return None


def test_the_aof_holds_what_redis_appends(tmp_path: Path) -> None:
    with aof_pair(tmp_path) as (zyst, real), contextlib.ExitStack() as stack:
        conns = {
            "zyst": stack.enter_context(RawConnection(zyst.port)),
            "redis": stack.enter_context(RawConnection(real.port)),
        }
        windows: dict[str, list[tuple[int, int]]] = {"zyst": [], "redis": []}
        for command in WRITES:
            replies = {}
            for name, conn in conns.items():
                before = time.time_ns() // 1_000_000
                replies[name] = conn.command(*command)
                after = time.time_ns() // 1_000_000
                amount = relative_ms(command)
                # An error or a missing key (GETEX's null) sets no deadline.
                reply = replies[name]
                if amount is not None and not reply.startswith(b"-") and reply != b"$-1\r\n":
                    windows[name].append((before + amount, after + amount))
            assert replies["zyst"] == replies["redis"], command
        redis_file = redis_incr_file(real.dir).read_bytes()
        zyst_file = aof_incr_bytes(zyst.dir)
    expected = masked(redis_file, windows["redis"])
    assert masked(zyst_file, windows["zyst"]) == expected
    # What the masked file must say, so that two servers agreeing on a mistake still fail.
    assert [b"SET", b"f", b"1.6", b"KEEPTTL"] in expected
    assert [b"SET", b"s", b"v", b"PXAT", b"<ms>"] in expected
    assert [b"PEXPIREAT", b"s", b"<ms>"] in expected
    assert [b"PEXPIREAT", b"s", b"%d" % (FAR_FUTURE_S * 1000)] in expected
    assert [b"PERSIST", b"s"] in expected
    assert [b"DEL", b"p"] in expected
    assert [b"SET", b"a", b"x"] in expected
    assert [b"DEL", b"a"] in expected
    assert [b"SETNX", b"b", b"2"] not in expected


def dump(conn: RawConnection, keys: list[str]) -> list[tuple[str, bytes, bytes, tuple[int, int]]]:
    """Every key's type and value, and the window its absolute deadline lies in (from PTTL
    and the clock read either side of it; ``(-1, -1)`` when it has none)."""
    state = []
    for key in keys:
        kind = conn.command("TYPE", key)
        if kind == b"+string\r\n":
            value = conn.command("GET", key)
        elif kind == b"+list\r\n":
            value = conn.command("LRANGE", key, 0, -1)
        else:
            value = b""
        before = time.time_ns() // 1_000_000
        pttl = int(conn.command("PTTL", key)[1:-2])
        after = time.time_ns() // 1_000_000
        window = (before + pttl, after + pttl) if pttl >= 0 else (pttl, pttl)
        state.append((key, kind, value, window))
    return state


def test_a_restart_brings_back_every_key_value_and_deadline(tmp_path: Path) -> None:
    rng = random.Random(15)
    keys = [*KEYS, "a", "b", "c", "d", "e", "f", "s", "p", "t", "new"]
    with zyst_process(tmp_path, "--appendonly", "yes", "--appendfsync", "always") as server:
        with RawConnection(server.port) as conn:
            for command in WRITES:
                conn.command(*command)
            for _ in range(400):
                conn.command(*random_command(rng))
            before = dump(conn, keys)
        server.kill()
    with (
        zyst_process(tmp_path, "--appendonly", "yes", port=server.port) as restarted,
        RawConnection(restarted.port) as conn,
    ):
        after = dump(conn, keys)
    assert any(kind == b"+string\r\n" for _, kind, _, _ in before)
    assert any(window[0] > 0 for _, _, _, window in before)
    for old, new in zip(before, after, strict=True):
        assert old[:3] == new[:3]
        # The same absolute deadline: the two windows it was seen in overlap.
        (old_low, old_high), (new_low, new_high) = old[3], new[3]
        assert old_low <= new_high and new_low <= old_high, (old, new)
