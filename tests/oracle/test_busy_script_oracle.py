"""Scripts that run past busy-reply-threshold (zyst.busy), against redis-server: what the other
clients get meanwhile (BUSY, the commands still allowed, new connections), SCRIPT KILL and
FUNCTION KILL from another client, scripts that wrote and can't be killed, and SHUTDOWN NOSAVE
ending one without keeping what it wrote."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import (
    APPEND_ALWAYS,
    Oracle,
    RawConnection,
    ServerProcess,
    as_argv,
    redis_process,
    zyst_process,
)
from zyst.protocol.resp import encode_command

ENDLESS = "while true do end"
LIBRARY = (
    "#!lua name=busylib\n"
    "redis.register_function('spin', function() while true do end end)\n"
    "redis.register_function('spin_ping', function() while 1 do redis.call('ping') end end)"
)


def wait_until_busy(probe: RawConnection) -> None:
    """Poll until the server answers BUSY (the script timed out). The probe connects before
    the script starts: a connection the event loop accepted but had not set up when the script
    began is served only after it (see zyst.busy), so probes don't connect meanwhile."""
    deadline = time.monotonic() + 20
    while not probe.command("PING").startswith(b"-BUSY"):
        assert time.monotonic() < deadline, "the script never became busy"
        time.sleep(0.02)
    probe.close()


def wait_until_free(port: int) -> None:
    deadline = time.monotonic() + 20
    while True:
        with RawConnection(port) as probe:
            if probe.command("PING") == b"+PONG\r\n":
                return
        assert time.monotonic() < deadline, "the server stayed busy"
        time.sleep(0.02)


@pytest.fixture
def short_threshold(oracle: Oracle) -> Iterator[Oracle]:
    """Both servers with lua-time-limit 10 ms, restored afterwards."""
    oracle.check("CONFIG", "SET", "lua-time-limit", "10")
    try:
        yield oracle
    finally:
        for conn in (oracle.zyst, oracle.redis):
            conn.command("CONFIG", "SET", "busy-reply-threshold", "5000")


def ports(oracle: Oracle) -> tuple[int, int]:
    return oracle.zyst.sock.getpeername()[1], oracle.redis.sock.getpeername()[1]


def start_script(port: int, *commands: tuple[str, ...]) -> RawConnection:
    """Send ``commands`` (a script first) on a new connection; return once the script is busy."""
    probe = RawConnection(port)
    runner = RawConnection(port)
    runner.send_raw(b"".join(encode_command(as_argv(args)) for args in commands))
    wait_until_busy(probe)
    return runner


def mask_ids(raw: bytes) -> bytes:
    return re.sub(rb":\d+\r\n", b":N\r\n", raw)


# What other clients get while an EVAL script is busy, each from a connection made meanwhile.
WHILE_BUSY: list[list[tuple[str, ...]]] = [
    [("PING",)],
    [("FUNCTION", "STATS")],
    [("FUNCTION", "KILL")],
    [("CLIENT", "LIST")],
    [("SHUTDOWN",)],
    [("SUBSCRIBE", "x")],
    [("AUTH", "a", "b")],
    [("EVAL", "return 1", "0")],
    [("WATCH", "x"), ("UNWATCH",)],
    [("NOSUCH",)],
    [("GET",)],
    [("MULTI",), ("GET", "a"), ("SCRIPT", "KILL"), ("EXEC",)],
    [("MULTI",), ("DISCARD",)],
    [("SET", "k", "v"), ("GET", "k")],
    [("RESET",)],
    [("QUIT",)],
]


def test_other_clients_get_busy_and_script_kill_stops_the_script(
    short_threshold: Oracle,
) -> None:
    oracle = short_threshold
    replies: dict[str, list[bytes]] = {}
    for name, port in zip(("zyst", "redis"), ports(oracle), strict=True):
        # The caller pipelines a PING behind the script: it runs once the script is over.
        runner = start_script(port, ("EVAL", ENDLESS, "0"), ("PING",))
        got: list[bytes] = []
        for commands in WHILE_BUSY:
            with RawConnection(port) as other:
                got += other.pipeline(commands)
        # A client that connected while busy keeps what it set then (HELLO 3 SETNAME).
        late = RawConnection(port)
        got.append(mask_ids(late.command("HELLO", "3", "SETNAME", "late")))
        with RawConnection(port) as killer:
            got.append(killer.command("SCRIPT", "KILL"))
        got += runner.read_replies(2)
        wait_until_free(port)
        got.append(late.command("CLIENT", "GETNAME"))
        got.append(late.command("GET", "k"))
        late.close()
        runner.close()
        replies[name] = got
    assert replies["zyst"] == replies["redis"]
    assert replies["zyst"][0].startswith(b"-BUSY Redis is busy running a script.")
    assert b"+PONG\r\n" in replies["zyst"]


def test_a_killed_script_cannot_catch_the_kill_with_pcall(short_threshold: Oracle) -> None:
    oracle = short_threshold
    script = "local f = function() while 1 do redis.call('ping') end end while 1 do pcall(f) end"
    replies = []
    for port in ports(oracle):
        runner = start_script(port, ("EVAL", script, "0"))
        with RawConnection(port) as killer:
            assert killer.command("SCRIPT", "KILL") == b"+OK\r\n"
        replies.append(runner.read_reply())
        runner.close()
        wait_until_free(port)
    assert replies[0] == replies[1]
    assert b"killed by user" in replies[0]


def test_functions_are_killed_by_function_kill_only(short_threshold: Oracle) -> None:
    oracle = short_threshold
    oracle.check("FUNCTION", "LOAD", "REPLACE", LIBRARY)
    try:
        replies: dict[str, list[bytes]] = {}
        for name, port in zip(("zyst", "redis"), ports(oracle), strict=True):
            runner = start_script(port, ("FCALL", "spin_ping", "0"), ("PING",))
            with RawConnection(port) as other:
                got = [other.command("PING"), other.command("SCRIPT", "KILL")]
                stats = other.command("FUNCTION", "STATS")
                got.append(re.sub(rb"duration_ms\r\n:\d+", b"duration_ms\r\n:N", stats))
                got.append(other.command("FUNCTION", "KILL"))
            got += runner.read_replies(2)
            runner.close()
            wait_until_free(port)
            replies[name] = got
        assert replies["zyst"] == replies["redis"]
        assert b"FUNCTION KILL or SHUTDOWN NOSAVE" in replies["zyst"][0]
        assert b"spin_ping" in replies["zyst"][2]
    finally:
        oracle.check("FUNCTION", "DELETE", "busylib")


def test_a_script_running_long_but_ending_gives_the_server_back(
    short_threshold: Oracle,
) -> None:
    oracle = short_threshold
    script = "for i=1,300000 do redis.call('ping') end return 'done'"
    for port in ports(oracle):
        with RawConnection(port) as runner:
            assert runner.command("EVAL", script, "0") == b"$4\r\ndone\r\n"
        with RawConnection(port) as other:
            assert other.command("PING") == b"+PONG\r\n"


def busy_writer(server: ServerProcess) -> tuple[RawConnection, list[bytes]]:
    """Run, on ``server`` (lua-time-limit 10), a script that writes then never ends; the
    replies of SCRIPT KILL, of a plain SHUTDOWN and of a PING meanwhile."""
    with RawConnection(server.port) as setup:
        assert setup.command("SET", "before", "1") == b"+OK\r\n"
        assert setup.command("CONFIG", "SET", "lua-time-limit", "10") == b"+OK\r\n"
    runner = start_script(
        server.port, ("EVAL", "redis.call('set', KEYS[1], 'y') while true do end", "1", "x")
    )
    with RawConnection(server.port) as other:
        got = [
            other.command("SCRIPT", "KILL"),
            other.command("FUNCTION", "KILL"),
            other.command("SHUTDOWN"),
            other.command("PING"),
        ]
        other.send_raw(encode_command([b"SHUTDOWN", b"NOSAVE"]))
        got.append(other.read_until_closed())
    return runner, got


def test_shutdown_nosave_ends_a_script_that_wrote_and_keeps_nothing_of_it(
    tmp_path: Path,
) -> None:
    with redis_process(tmp_path / "redis", *APPEND_ALWAYS) as real:
        runner, expected = busy_writer(real)
        assert real.proc is not None
        real.proc.wait(timeout=30)
        runner.close()
    with zyst_process(tmp_path / "zyst", *APPEND_ALWAYS) as zyst:
        runner, got = busy_writer(zyst)
        assert zyst.proc is not None
        assert zyst.proc.wait(timeout=30) == 0
        runner.close()
    assert got == expected
    assert expected[0].startswith(b"-UNKILLABLE Sorry the script already executed write")
    # The script's SET is not in the AOF: after a restart only what came before it is there.
    again = zyst_process(tmp_path / "zyst", *APPEND_ALWAYS, port=zyst.port)
    with again, RawConnection(again.port) as check:
        assert check.command("GET", "before") == b"$1\r\n1\r\n"
        assert check.command("EXISTS", "x") == b":0\r\n"
