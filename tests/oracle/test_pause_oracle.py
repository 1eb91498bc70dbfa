"""CLIENT PAUSE and CLIENT UNPAUSE against redis-server 7.0, with several connections: what is
held and what runs, compared byte for byte. A held client is recognised by polling CLIENT LIST
until its flags show ``b`` (no timing assumptions); every test ends with CLIENT UNPAUSE, so the
session's servers are left unpaused whatever happens.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest

from tests.conftest import ServerProcess, parse_reply
from tests.oracle.test_monitor_oracle import _LINE, Pair, RawConnection, _read, start_monitor
from zyst.protocol.resp import encode_command


@pytest.fixture
def pair(zyst_proc: ServerProcess, redis_server: ServerProcess) -> Iterator[Pair]:
    made = Pair(zyst_proc.port, redis_server.port)
    made.open("admin")
    start_monitor(made)  # never paused: it unpauses whatever a test leaves behind
    try:
        yield made
    finally:
        for side in made.sides:
            ask(side.conns["m"], b"CLIENT", b"UNPAUSE")
        made.close()


def ask(conn: RawConnection, *args: bytes) -> object:
    """Ask a monitoring connection ``args``: its reply, the monitor lines before it skipped."""
    conn.send_raw(encode_command(list(args)))
    while True:
        reply = _read(conn, 1)[0]
        if not _LINE.match(reply):
            return parse_reply(reply)


def client_fields(pair: Pair, name: str) -> list[dict[bytes, bytes]]:
    """Connection ``name``'s CLIENT LIST fields on each server (asked by the monitor); empty
    fields for a side that has not accepted the connection yet (it was just opened)."""
    found = []
    for side in pair.sides:
        listing = ask(side.conns["m"], b"CLIENT", b"LIST")
        assert isinstance(listing, bytes)
        port = side.conns[name].sock.getsockname()[1]
        line = re.search(rb"(?m)^.*addr=127\.0\.0\.1:%d .*$" % port, listing)
        fields = line.group(0).split(b" ") if line is not None else []
        found.append(dict(field.split(b"=", 1) for field in fields))
    return found


def wait_held(pair: Pair, name: str, command: bytes) -> None:
    """Poll until connection ``name`` is held on both servers, on ``command``."""
    deadline = time.monotonic() + 10
    while True:
        fields = client_fields(pair, name)
        if all(b"b" in f.get(b"flags", b"") for f in fields):
            assert [f[b"cmd"] for f in fields] == [command, command]
            return
        assert time.monotonic() < deadline, fields
        time.sleep(0.01)


def blocked_clients(pair: Pair) -> list[bytes]:
    counts = []
    for side in pair.sides:
        info = ask(side.conns["m"], b"INFO", b"clients")
        assert isinstance(info, bytes)
        counts.append(re.search(rb"blocked_clients:(\d+)", info).group(1))  # type: ignore[union-attr]
    return counts


def test_pause_write_holds_writes_not_reads(pair: Pair) -> None:
    pair.open("c")
    pair.check("admin", ("SET", "pause:k", "old"))
    assert pair.check("admin", ("CLIENT", "PAUSE", 100000, "WRITE")) == [b"+OK\r\n"]
    # Reads go on; the write waits, and the read behind it in the pipeline with it.
    pair.send("c", ("GET", "pause:k"), ("PING",), ("SET", "pause:k", "new"), ("GET", "pause:k"))
    assert pair.read("c", 2) == [b"$3\r\nold\r\n", b"+PONG\r\n"]
    wait_held(pair, "c", b"set")
    assert blocked_clients(pair) == [b"1", b"1"]
    # Clients with no write to make are not held.
    pair.open("d")
    assert pair.check("d", ("GET", "pause:k"), ("EXISTS", "pause:k")) == [
        b"$3\r\nold\r\n",
        b":1\r\n",
    ]
    assert pair.check("admin", ("CLIENT", "UNPAUSE")) == [b"+OK\r\n"]
    assert pair.read("c", 2) == [b"+OK\r\n", b"$3\r\nnew\r\n"]
    pair.check("admin", ("DEL", "pause:k"))


@pytest.mark.parametrize(
    "command",
    [
        ("PUBLISH", "pause:ch", "x"),
        ("SPUBLISH", "pause:ch", "x"),
        ("EVAL", "return 1", 0),
        ("EVAL", "#!lua\nreturn 1", 0),
        ("FCALL", "pause_rw", 0),
        ("INCR", "pause:n"),
    ],
    ids=["publish", "spublish", "eval", "eval-shebang", "fcall", "incr"],
)
def test_pause_write_holds_what_may_replicate(pair: Pair, command: tuple[str, ...]) -> None:
    pair.check(
        "admin",
        (
            "FUNCTION",
            "LOAD",
            "REPLACE",
            "#!lua name=pauselib\n"
            "redis.register_function('pause_rw', function() return 1 end)\n"
            "redis.register_function{function_name='pause_ro', callback=function() return 2 end,"
            " flags={'no-writes'}}",
        ),
    )
    pair.open("c")
    pair.check("admin", ("CLIENT", "PAUSE", 100000, "WRITE"))
    pair.send("c", command)
    wait_held(pair, "c", command[0].lower().encode())
    pair.check("admin", ("CLIENT", "UNPAUSE"))
    pair.read("c", 1)
    pair.check("admin", ("DEL", "pause:n"))


def test_pause_write_lets_read_only_scripts_and_transactions_run(pair: Pair) -> None:
    pair.check(
        "admin",
        (
            "FUNCTION",
            "LOAD",
            "REPLACE",
            "#!lua name=pauselib\n"
            "redis.register_function('pause_rw', function() return 1 end)\n"
            "redis.register_function{function_name='pause_ro', callback=function() return 2 end,"
            " flags={'no-writes'}}",
        ),
    )
    pair.open("c")
    pair.check("admin", ("CLIENT", "PAUSE", 100000, "WRITE"))
    assert pair.check(
        "c",
        ("EVAL", "#!lua flags=no-writes\nreturn 3", 0),
        ("EVAL_RO", "return 4", 0),
        ("FCALL", "pause_ro", 0),
        ("FCALL_RO", "pause_ro", 0),
        ("MULTI",),
        ("GET", "pause:x"),
        ("EVAL", "#!lua flags=no-writes\nreturn 5", 0),
        ("PING",),
        ("EXEC",),
        ("CLIENT", "PAUSE", "x"),
        ("CLIENT", "PAUSE", -1),
        ("CLIENT", "PAUSE", 10, "SOMETIMES"),
        ("CLIENT", "PAUSE", 10, "WRITE", "X"),
        ("NOSUCH",),
        ("SET", "pause:x"),
    ) == [
        b":3\r\n",
        b":4\r\n",
        b":2\r\n",
        b":2\r\n",
        b"+OK\r\n",
        b"+QUEUED\r\n",
        b"+QUEUED\r\n",
        b"+QUEUED\r\n",
        b"*3\r\n$-1\r\n:5\r\n+PONG\r\n",
        b"-ERR timeout is not an integer or out of range\r\n",
        b"-ERR timeout is negative\r\n",
        b"-ERR CLIENT PAUSE mode must be WRITE or ALL\r\n",
        b"-ERR unknown subcommand or wrong number of arguments for 'PAUSE'. Try CLIENT HELP.\r\n",
        b"-ERR unknown command 'NOSUCH', with args beginning with: \r\n",
        b"-ERR wrong number of arguments for 'set' command\r\n",
    ]
    # Inside MULTI, a write is held before it is queued; EXEC of a queued write is held.
    pair.check("c", ("MULTI",))
    pair.send("c", ("SET", "pause:x", 1))
    wait_held(pair, "c", b"set")
    pair.check("admin", ("CLIENT", "UNPAUSE"))
    assert pair.read("c", 1) == [b"+QUEUED\r\n"]
    pair.check("admin", ("CLIENT", "PAUSE", 100000, "WRITE"))
    pair.send("c", ("EXEC",))
    wait_held(pair, "c", b"exec")
    pair.check("admin", ("CLIENT", "UNPAUSE"))
    assert pair.read("c", 1) == [b"*1\r\n+OK\r\n"]
    pair.check("admin", ("DEL", "pause:x"))


def test_pause_all_holds_everyone_but_monitors(pair: Pair) -> None:
    pair.open("c")
    start_monitor(pair, "w")
    pair.check("admin", ("CLIENT", "PAUSE", 100000, "ALL"))
    pair.send("c", ("PING",), ("GET", "pause:a"))
    pair.send("admin", ("CLIENT", "UNPAUSE"))  # held too
    wait_held(pair, "c", b"ping")
    wait_held(pair, "admin", b"client|unpause")
    assert blocked_clients(pair) == [b"2", b"2"]
    # A later CLIENT PAUSE WRITE keeps the more restrictive ALL (and the later end).
    for side in pair.sides:
        assert ask(side.conns["m"], b"CLIENT", b"PAUSE", b"10", b"WRITE") == b"OK"
    pair.open("d")
    pair.send("d", ("GET", "pause:a"))
    wait_held(pair, "d", b"get")
    # The monitor may end it.
    for side in pair.sides:
        assert ask(side.conns["m"], b"CLIENT", b"UNPAUSE") == b"OK"
    assert pair.read("admin", 1) == [b"+OK\r\n"]
    assert pair.read("c", 2) == [b"+PONG\r\n", b"$-1\r\n"]
    assert pair.read("d", 1) == [b"$-1\r\n"]
    # What ran once the pause ended was shown then (CLIENT UNPAUSE is admin: never shown).
    assert pair.lines("w", "p4", sender="admin") == [
        b'[0 m] "INFO" "clients"\r\n',  # the monitor's own commands run meanwhile
        b'[0 c] "PING"\r\n',
        b'[0 c] "GET" "pause:a"\r\n',
        b'[0 d] "GET" "pause:a"\r\n',
        b'[0 admin] "ECHO" "p4"\r\n',
    ]


def test_a_pause_ends_by_itself(pair: Pair) -> None:
    pair.open("c")
    pair.check("admin", ("CLIENT", "PAUSE", 50, "WRITE"))
    pair.send("c", ("SET", "pause:t", 1), ("DEL", "pause:t"))
    assert pair.read("c", 2) == [b"+OK\r\n", b":1\r\n"]
    # A timeout of 0 pauses nothing.
    pair.check("admin", ("CLIENT", "PAUSE", 0, "ALL"))
    assert pair.check("c", ("PING",)) == [b"+PONG\r\n"]


def test_a_pause_starts_at_the_end_of_a_transaction(pair: Pair) -> None:
    pair.open("c")
    assert (
        pair.check(
            "admin",
            ("MULTI",),
            ("SET", "pause:1", "a"),
            ("CLIENT", "PAUSE", 100000, "WRITE"),
            ("SET", "pause:2", "b"),
            ("EXEC",),
        )[-1]
        == b"*3\r\n+OK\r\n+OK\r\n+OK\r\n"
    )
    pair.send("c", ("SET", "pause:3", "c"))
    wait_held(pair, "c", b"set")
    assert pair.check("admin", ("MGET", "pause:1", "pause:2", "pause:3")) == [
        b"*3\r\n$1\r\na\r\n$1\r\nb\r\n$-1\r\n"
    ]
    pair.check("admin", ("CLIENT", "UNPAUSE"))
    assert pair.read("c", 1) == [b"+OK\r\n"]
    pair.check("admin", ("DEL", "pause:1", "pause:2", "pause:3"))


def expired_keys(pair: Pair) -> list[int]:
    counts = []
    for side in pair.sides:
        side.conns["admin"].send_raw(encode_command([b"INFO", b"stats"]))
        info = parse_reply(_read(side.conns["admin"], 1)[0])
        counts.append(int(re.search(rb"expired_keys:(\d+)", info).group(1)))  # type: ignore[union-attr]
    return counts


def test_keys_do_not_expire_during_a_pause(pair: Pair) -> None:
    before = expired_keys(pair)
    pair.check("admin", ("SET", "pause:e1", 1, "PX", 1), ("SET", "pause:e2", 1, "PX", 1))
    pair.check("admin", ("CLIENT", "PAUSE", 100000, "WRITE"))
    # Once their time has come they look missing, but stay stored and are not counted.
    # (Each server on its own: their clocks pass the keys' deadline at different moments.)
    deadline = time.monotonic() + 10
    for side in pair.sides:
        while side.conns["admin"].command("EXISTS", "pause:e1", "pause:e2") != b":0\r\n":
            assert time.monotonic() < deadline
            time.sleep(0.01)
    assert pair.check("admin", ("GET", "pause:e1"), ("SCAN", 0, "MATCH", "pause:e*")) == [
        b"$-1\r\n",
        b"*2\r\n$1\r\n0\r\n*0\r\n",
    ]
    assert [after - was for after, was in zip(expired_keys(pair), before, strict=True)] == [0, 0]
    pair.check("admin", ("CLIENT", "UNPAUSE"))
    pair.check("admin", ("GET", "pause:e1"), ("GET", "pause:e2"))
    assert [after - was for after, was in zip(expired_keys(pair), before, strict=True)] == [2, 2]
