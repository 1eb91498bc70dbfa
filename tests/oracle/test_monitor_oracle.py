"""MONITOR against redis-server 7.0: a monitoring connection and others running commands, the
lines each monitor receives compared between the two servers after masking what must differ
(the time, and each connection's port, named by which of the test's connections it is).

Every test ends its traffic with an ``ECHO`` of a token of its own and reads the monitors up to
that line, so lines are compared exactly (none missing, none extra) without waiting on time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.conftest import Oracle, RawConnection, ServerProcess, _reply_end, as_argv, hello3
from zyst.protocol.resp import encode_command

Args = tuple[bytes | str | int, ...]

_LINE = re.compile(rb"^\+(\d+)\.(\d{6}) \[(\d+) ([^\]]*)\](.*)$", re.S)


_BUFFERS: dict[int, bytes] = {}


def _read(conn: RawConnection, count: int) -> list[bytes]:
    """The next ``count`` whole replies (or monitor lines) of ``conn``; what arrived beyond
    them is kept for the next read."""
    raw = _BUFFERS.pop(id(conn), b"")
    while True:
        replies: list[bytes] = []
        pos = 0
        for _ in range(count):
            end = _reply_end(raw, pos)
            if end is None:
                break
            replies.append(raw[pos:end])
            pos = end
        if len(replies) == count:
            if pos < len(raw):
                _BUFFERS[id(conn)] = raw[pos:]
            return replies
        chunk = conn.sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError(f"connection closed; got so far: {raw!r}")
        raw += chunk


class Side:
    """The connections of one server, named: a monitor's lines name their clients so."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conns: dict[str, RawConnection] = {}
        self.names: dict[bytes, bytes] = {}

    def open(self, name: str) -> RawConnection:
        conn = RawConnection(self.port)
        self.conns[name] = conn
        host, port = conn.sock.getsockname()[:2]
        self.names[f"{host}:{port}".encode()] = name.encode()
        return conn

    def mask(self, line: bytes) -> bytes:
        """A monitor line without its time, its client named by connection."""
        found = _LINE.match(line)
        assert found is not None, line
        who = found.group(4)
        return b"[%s %s]%s" % (found.group(3), self.names.get(who, who), found.group(5))

    def lines_until(self, monitor: str, token: bytes) -> list[bytes]:
        """The masked lines ``monitor`` receives up to the ``ECHO token`` line, included."""
        conn = self.conns[monitor]
        lines: list[bytes] = []
        while True:
            masked = self.mask(_read(conn, 1)[0])
            lines.append(masked)
            if masked.endswith(b'"ECHO" "' + token + b'"\r\n'):
                return lines

    def close(self) -> None:
        for conn in self.conns.values():
            _BUFFERS.pop(id(conn), None)
            conn.close()


class Pair:
    """The same named connections on Zyst and on redis-server, driven alike."""

    def __init__(self, zyst_port: int, redis_port: int) -> None:
        self.sides = (Side(zyst_port), Side(redis_port))

    def open(self, *names: str, resp: int = 2) -> None:
        for name in names:
            conns = [side.open(name) for side in self.sides]
            if resp == 3:
                oracle = Oracle.__new__(Oracle)
                oracle.zyst, oracle.redis = conns
                hello3(oracle)

    def send(self, name: str, *commands: Args) -> None:
        data = b"".join(encode_command(as_argv(command)) for command in commands)
        for side in self.sides:
            side.conns[name].send_raw(data)

    def read(self, name: str, count: int) -> list[bytes]:
        """``count`` replies (monitor lines masked) from each side, which must be the same."""
        ours, theirs = (
            [side.mask(r) if _LINE.match(r) else r for r in _read(side.conns[name], count)]
            for side in self.sides
        )
        assert ours == theirs, f"zyst {ours!r} != redis {theirs!r}"
        return ours

    def check(self, name: str, *commands: Args, replies: int | None = None) -> list[bytes]:
        self.send(name, *commands)
        return self.read(name, len(commands) if replies is None else replies)

    def lines(self, monitor: str, token: str, sender: str = "c") -> list[bytes]:
        """Send ``ECHO token`` from ``sender``, then compare what ``monitor`` saw up to it."""
        self.check(sender, ("ECHO", token))
        return self.seen(monitor, token)

    def seen(self, monitor: str, token: str) -> list[bytes]:
        """Compare what ``monitor`` saw up to the ``ECHO token`` line."""
        ours, theirs = (side.lines_until(monitor, token.encode()) for side in self.sides)
        assert ours == theirs, f"zyst {ours!r}\n!= redis {theirs!r}"
        return ours

    def close(self) -> None:
        for side in self.sides:
            side.close()


@pytest.fixture
def pair(zyst_proc: ServerProcess, redis_server: ServerProcess) -> Iterator[Pair]:
    made = Pair(zyst_proc.port, redis_server.port)
    yield made
    made.close()


def start_monitor(pair: Pair, name: str = "m") -> None:
    pair.open(name)
    assert pair.check(name, ("MONITOR",)) == [b"+OK\r\n"]


def test_commands_are_shown_after_they_run(pair: Pair) -> None:
    pair.open("c")
    start_monitor(pair)
    pair.check(
        "c",
        ("SELECT", 0),
        ("SET", "mon:k", b'a\x00"\\\n\r\t\x07\x08\xff \xc3\xa9 ~'),
        ("GET", "mon:k"),
        ("NOSUCH", "x"),  # refused: not shown
        ("GET",),  # wrong arity: not shown
        ("INCR", "mon:k"),  # fails: shown
        ("CONFIG", "GET", "hz"),  # admin: not shown
        ("CLIENT", "SETNAME", "a b"),
        ("SELECT", 3),  # shown in the database it moved to
        ("SET", "mon:k3", 1),
        ("SELECT", 0),
        ("DEL", "mon:k", "mon:k3"),
    )
    assert pair.lines("m", "t1") == [
        b'[0 c] "SELECT" "0"\r\n',
        b'[0 c] "SET" "mon:k" "a\\x00\\"\\\\\\n\\r\\t\\a\\b\\xff \\xc3\\xa9 ~"\r\n',
        b'[0 c] "GET" "mon:k"\r\n',
        b'[0 c] "INCR" "mon:k"\r\n',
        b'[0 c] "CLIENT" "SETNAME" "a b"\r\n',
        b'[3 c] "SELECT" "3"\r\n',
        b'[3 c] "SET" "mon:k3" "1"\r\n',
        b'[0 c] "SELECT" "0"\r\n',
        b'[0 c] "DEL" "mon:k" "mon:k3"\r\n',
        b'[0 c] "ECHO" "t1"\r\n',
    ]


def test_scripts_are_shown_before_their_commands(pair: Pair) -> None:
    pair.open("c")
    pair.check(
        "c",
        (
            "FUNCTION",
            "LOAD",
            "REPLACE",
            "#!lua name=monlib\nredis.register_function('monf', "
            "function() return redis.call('set', 'mon:f', 'v') end)",
        ),
    )
    start_monitor(pair)
    pair.check(
        "c",
        ("EVAL", "redis.call('set', KEYS[1], ARGV[1]) return redis.pcall('nosuch')", 1, "mon:e", 7),
        ("EVALSHA", "abc", 0),
        ("EVAL_RO", "return redis.call('get', KEYS[1])", 1, "mon:e"),
        ("EVAL", "return 1", "x"),  # a bad numkeys: shown all the same, before it fails
        ("FCALL", "monf", 0),
        ("FCALL", "nosuchf", 0),
        ("DEL", "mon:e", "mon:f"),
    )
    assert pair.lines("m", "t2") == [
        b"[0 c] \"EVAL\" \"redis.call('set', KEYS[1], ARGV[1]) return redis.pcall('nosuch')\" "
        b'"1" "mon:e" "7"\r\n',
        b'[0 lua] "set" "mon:e" "7"\r\n',
        b'[0 c] "EVALSHA" "abc" "0"\r\n',
        b'[0 c] "EVAL_RO" "return redis.call(\'get\', KEYS[1])" "1" "mon:e"\r\n',
        b'[0 lua] "get" "mon:e"\r\n',
        b'[0 c] "EVAL" "return 1" "x"\r\n',
        b'[0 c] "FCALL" "monf" "0"\r\n',
        b'[0 lua] "set" "mon:f" "v"\r\n',
        b'[0 c] "FCALL" "nosuchf" "0"\r\n',
        b'[0 c] "DEL" "mon:e" "mon:f"\r\n',
        b'[0 c] "ECHO" "t2"\r\n',
    ]


def test_transactions_are_shown_as_they_run(pair: Pair) -> None:
    pair.open("c")
    start_monitor(pair)
    pair.check(
        "c",
        ("MULTI",),
        ("SET", "mon:t", 1),
        ("INCR", "mon:t"),
        ("EXEC",),
        ("MULTI",),
        ("NOSUCH",),
        ("EXEC",),
        ("MULTI",),
        ("DISCARD",),
        ("EXEC",),
        ("DEL", "mon:t"),
    )
    assert pair.lines("m", "t3") == [
        b'[0 c] "MULTI"\r\n',
        b'[0 c] "SET" "mon:t" "1"\r\n',
        b'[0 c] "INCR" "mon:t"\r\n',
        b'[0 c] "EXEC"\r\n',
        b'[0 c] "MULTI"\r\n',
        b'[0 c] "EXEC"\r\n',
        b'[0 c] "MULTI"\r\n',
        b'[0 c] "DISCARD"\r\n',
        b'[0 c] "EXEC"\r\n',
        b'[0 c] "DEL" "mon:t"\r\n',
        b'[0 c] "ECHO" "t3"\r\n',
    ]


def test_passwords_are_redacted(pair: Pair) -> None:
    pair.open("c")
    start_monitor(pair)
    # (The replies are not compared: Zyst's HELLO authenticates only its last AUTH pair.)
    pair.send(
        "c",
        ("AUTH", "pw"),
        ("AUTH", "someone", "pw"),
        ("AUTH", "a", "b", "c"),
        ("HELLO", 2, "AUTH", "nobody", "pw", "AUTH", "default", "x"),
        ("HELLO", "x", "AUTH", "default", "pw"),
        ("HELLO", 2, "SETNAME", "a b", "AUTH", "default", "pw"),
        ("HELLO", 2, "AUTH", "default", "pw", "SETNAME", "monc"),
    )
    for side in pair.sides:
        _read(side.conns["c"], 7)
    assert pair.lines("m", "t4")[:-1] == [
        b'[0 c] "AUTH" "(redacted)"\r\n',
        b'[0 c] "AUTH" "(redacted)" "(redacted)"\r\n',
        b'[0 c] "AUTH" "a" "b" "c"\r\n',
        b'[0 c] "HELLO" "2" "AUTH" "(redacted)" "(redacted)" "AUTH" "default" "x"\r\n',
        b'[0 c] "HELLO" "x" "AUTH" "default" "pw"\r\n',
        b'[0 c] "HELLO" "2" "SETNAME" "a b" "AUTH" "default" "pw"\r\n',
        b'[0 c] "HELLO" "2" "AUTH" "(redacted)" "(redacted)" "SETNAME" "monc"\r\n',
    ]


def test_a_blocked_command_is_shown_once(pair: Pair) -> None:
    pair.open("c", "b")
    start_monitor(pair)
    pair.send("b", ("BLPOP", "mon:list", 0))
    # Shown when sent: once the monitor has its line, it waits.
    pair.check("c", ("ECHO", "sent"))
    for side in pair.sides:
        side.lines_until("m", b"sent")
    pair.check("c", ("RPUSH", "mon:list", "x", "y"))
    assert pair.read("b", 1) == [b"*2\r\n$8\r\nmon:list\r\n$1\r\nx\r\n"]
    pair.check("c", ("DEL", "mon:list"))
    assert pair.lines("m", "t5") == [
        b'[0 c] "RPUSH" "mon:list" "x" "y"\r\n',
        b'[0 c] "DEL" "mon:list"\r\n',
        b'[0 c] "ECHO" "t5"\r\n',
    ]


@pytest.mark.parametrize("resp", [2, 3])
def test_what_a_monitoring_client_may_run(pair: Pair, resp: int) -> None:
    pair.open("m", resp=resp)
    pair.check("m", ("MONITOR",))
    pair.check(
        "m",
        ("PING",),
        ("GET", "mon:x"),
        ("SET", "mon:x", 1),
        ("PUBLISH", "mon:ch", "hi"),
        ("SPUBLISH", "mon:ch", "hi"),
        ("EVAL", "return 1", 0),
        ("EVAL_RO", "return 1", 0),
        ("ECHO", "hi"),
        ("SELECT", 2),
        ("SELECT", 0),
        ("MULTI",),
        ("GET", "mon:x"),
        ("PING",),
        ("EXEC",),
        ("NOSUCH",),
        ("MONITOR",),  # no reply at all
        ("PING", "after"),
        replies=23,  # the lines of its own shown commands included
    )
    # A script that declares it writes nothing may run; its line comes before its reply.
    pair.check("m", ("EVAL", "#!lua flags=no-writes\nreturn 5", 0), replies=2)


def test_several_monitors_and_reset(pair: Pair) -> None:
    pair.open("c")
    start_monitor(pair, "m1")
    start_monitor(pair, "m2")
    pair.check("c", ("SET", "mon:r", 1))
    expected = [b'[0 c] "SET" "mon:r" "1"\r\n', b'[0 c] "ECHO" "t6"\r\n']
    assert pair.lines("m1", "t6") == expected
    assert pair.seen("m2", "t6") == expected
    assert pair.check("m1", ("RESET",)) == [b"+RESET\r\n"]
    pair.check("c", ("DEL", "mon:r"))
    assert pair.lines("m2", "t7") == [
        b'[0 m1] "RESET"\r\n',  # shown, though it ended m1's monitoring
        b'[0 c] "DEL" "mon:r"\r\n',
        b'[0 c] "ECHO" "t7"\r\n',
    ]
    # m1 is a plain client again: it gets nothing unasked, and may read.
    assert pair.check("m1", ("GET", "mon:r")) == [b"$-1\r\n"]


def test_monitor_inside_a_transaction_is_refused(pair: Pair) -> None:
    pair.open("c")
    replies = pair.check("c", ("MULTI",), ("MONITOR",), ("EXEC",))
    assert replies[2] == b"*1\r\n-ERR MONITOR isn't allowed for DENY BLOCKING client\r\n"
    assert pair.check("c", ("SET", "mon:after", 1), ("DEL", "mon:after")) == [
        b"+OK\r\n",
        b":1\r\n",
    ]


def flags_of(pair: Pair, name: str) -> list[bytes]:
    """The CLIENT LIST flags of connection ``name`` on each server."""
    found: list[bytes] = []
    pattern = re.compile(rb" flags=(\S+) ")
    for side in pair.sides:
        side.conns["c"].send_raw(encode_command([b"CLIENT", b"LIST"]))
        listing = _read(side.conns["c"], 1)[0]
        port = side.conns[name].sock.getsockname()[1]
        for entry in listing.split(b"\n"):
            if b"addr=127.0.0.1:%d " % port in entry:
                match = pattern.search(entry)
                assert match is not None, entry
                found.append(match.group(1))
    return found


def test_client_list_flags(pair: Pair) -> None:
    pair.open("c")
    start_monitor(pair)
    assert flags_of(pair, "m") == [b"O", b"O"]
    pair.check("m", ("RESET",))
    assert flags_of(pair, "m") == [b"N", b"N"]
