"""MIGRATE against redis-server, in both directions: Zyst moving keys to a redis-server, and a
redis-server moving keys to Zyst, each compared with a redis-server moving the same keys to
another redis-server. Replies, what the target ends up holding, what the source keeps, what the
target is sent (AUTH, SELECT only when the database changes, RESTORE with the TTL left) and what
the source's AOF gets (DEL of the moved keys) must be Redis's."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import (
    Oracle,
    RawConnection,
    ServerProcess,
    aof_pair,
    check_sequence,
    parse_reply,
    redis_process,
)
from tests.oracle.test_dump_restore_oracle import _aof

Command = tuple[str | int | bytes, ...]


@pytest.fixture(scope="module")
def spare(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A second redis-server: the target of the moves that Zyst and redis-server both make."""
    with redis_process(tmp_path_factory.mktemp("spare"), "--enable-debug-command", "local") as s:
        yield s


@pytest.fixture(scope="module")
def locked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A redis-server with a password (MIGRATE's AUTH and AUTH2)."""
    with redis_process(tmp_path_factory.mktemp("locked"), "--requirepass", "foobar") as s:
        yield s


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def flush(*ports: int, password: str | None = None) -> None:
    for port in ports:
        with RawConnection(port) as conn:
            if password is not None:
                assert conn.command("AUTH", password) == b"+OK\r\n"
            assert conn.command("FLUSHALL") == b"+OK\r\n"


def test_argument_errors_answer_as_redis(oracle: Oracle, spare: ServerProcess) -> None:
    port = spare.port
    oracle.check("CONFIG", "RESETSTAT")
    oracle.check("SET", "k", "v")
    commands: list[Command] = [
        ("MIGRATE", "127.0.0.1", port, "k", 0, 100, "COPY", "REPLACE", "AUTH"),
        ("MIGRATE", "127.0.0.1", port, "k", 0, 100, "AUTH2", "u"),
        ("MIGRATE", "127.0.0.1", port, "k", 0, 100, "bogus"),
        ("MIGRATE", "127.0.0.1", port, "k", 0, 100, "KEYS", "a"),
        ("MIGRATE", "127.0.0.1", port, "", 0, 100, "bogus", "KEYS", "a"),
        ("MIGRATE", "127.0.0.1", port, "k", "x", 100),
        ("MIGRATE", "127.0.0.1", port, "k", 0, "y"),
        ("MIGRATE", "127.0.0.1", port, "k", "x", "y"),  # the timeout is read first
        ("MIGRATE", "127.0.0.1", port, "nokey", 0, 100),
        ("MIGRATE", "127.0.0.1", port, "", 0, 100),  # the empty key does not exist
        ("MIGRATE", "127.0.0.1", port, "", 0, 100, "KEYS"),
        ("MIGRATE", "127.0.0.1", port, "", 0, 100, "KEYS", "no1", "no2"),
        ("MIGRATE", "nosuchhost.invalid", port, "k", 0, 100),
        ("MIGRATE", "127.0.0.1", -5, "k", 0, 100),  # no such service: no connection at all
        ("MIGRATE", "127.0.0.1", 1, "k", 0, 100),  # refused: seen when writing
        ("MIGRATE", "127.0.0.1", "abc", "k", 0, 100),  # port 0
        ("MIGRATE", "127.0.0.1", 1, "k", 0, 100, "AUTH", "x", "AUTH2", "a", "b", "KEYS"),
        ("MIGRATE",),
        ("MIGRATE", "127.0.0.1", port, "k", 0),
        ("EXISTS", "k"),
        ("INFO", "errorstats"),
        ("COMMAND", "GETKEYS", "MIGRATE", "h", 1, "k", 0, 0),
        ("COMMAND", "GETKEYS", "MIGRATE", "h", 1, "", 0, 0, "AUTH", "keys", "KEYS", "a", "b"),
        ("COMMAND", "GETKEYS", "MIGRATE", "h", 1, "k", 0, 0, "KEYS", "a"),
        ("COMMAND", "GETKEYSANDFLAGS", "MIGRATE", "h", 1, "", 0, 0, "KEYS", "a", "b"),
        ("COMMAND", "GETKEYSANDFLAGS", "MIGRATE", "h", 1, "k", 0, 0, "COPY"),
    ]
    check_sequence(
        oracle,
        commands,
        {
            0: b"-ERR syntax error\r\n",
            3: b"-ERR When using MIGRATE KEYS option, the key argument must be set to the "
            b"empty string\r\n",
            5: b"-ERR value is not an integer or out of range\r\n",
            8: b"+NOKEY\r\n",
            12: b"-IOERR error or timeout connecting to the client\r\n",
            14: b"-IOERR error or timeout writing to target instance\r\n",
            19: b":1\r\n",
        },
    )
    # Calls, refused calls and failed calls alike (the times differ).
    stats = [
        re.search(rb"cmdstat_migrate:calls=(\d+),.*(rejected_calls=\d+,failed_calls=\d+)", raw)
        for raw in oracle.run("INFO", "commandstats")
    ]
    assert stats[0] is not None and stats[1] is not None
    assert stats[0].groups() == stats[1].groups() == (b"17", b"rejected_calls=2,failed_calls=13")


def fill(port: int) -> None:
    """Keys of every type, some with a TTL, in database 0 of the server on ``port``."""
    with RawConnection(port) as conn:
        for command in (
            ("SET", "str", "value"),
            ("SET", "ttl", "x", "EX", 1000),
            ("RPUSH", "list", "a", "b", "c", "1", "2"),
            ("HSET", "hash", "f1", "v1", "f2", "v2"),
            ("SADD", "set", "1", "2", "x"),
            ("ZADD", "zset", "1", "a", "2.5", "b"),
            # More than MIGRATE's 64 KiB chunks, even compressed.
            ("RPUSH", "big", *[hashlib.sha1(b"%d" % i).hexdigest() for i in range(5000)]),
            ("SET", "busy", "here"),
            ("SET", "k1", "v1"),
            ("SET", "k2", "v2"),
            ("SET", "k3", "v3"),
        ):
            assert not conn.command(*command).startswith(b"-"), command


MOVES: list[Command] = [
    ("str", 9, 5000),
    ("ttl", 9, 5000),
    ("list", 9, 5000, "COPY"),
    ("list", 9, 5000, "COPY"),  # BUSYKEY on the target
    ("list", 9, 5000, "COPY", "REPLACE"),
    ("hash", 9, 5000, "REPLACE"),
    ("big", 9, 10000),
    ("", 9, 5000, "KEYS", "nokey", "set", "zset", "nokey2"),
    ("", 9, 5000, "KEYS", "k1", "busy", "k2"),  # busy is there: k1 and k2 still move
    ("k3", 3, 0),  # another database (a timeout of 0 is 1000 ms)
    ("nokey", 9, 5000),
]


def run_moves(source: int, target: int) -> tuple[list[bytes], dict[str, object]]:
    """Fill ``source``, make the moves towards ``target``: the replies, then what both hold."""
    flush(source, target)
    fill(source)
    with RawConnection(target) as conn:
        assert conn.command("SELECT", 9) == b"+OK\r\n"
        assert conn.command("SET", "busy", "there") == b"+OK\r\n"
    replies = []
    with RawConnection(source) as conn:
        for move in MOVES:
            replies.append(conn.command("MIGRATE", "127.0.0.1", target, *move))
    return replies, {"source": contents(source), "target": contents(target)}


def contents(port: int) -> dict[str, object]:
    """Every key of databases 0, 3 and 9: type, value and whether it has a TTL (and the TTL
    is sane)."""
    out: dict[str, object] = {}
    with RawConnection(port) as conn:
        for db in (0, 3, 9):
            conn.command("SELECT", db)
            for key in sorted(parse_reply(conn.command("KEYS", "*"))):
                kind = parse_reply(conn.command("TYPE", key)).decode()
                read = {
                    "string": ("GET", key),
                    "list": ("LRANGE", key, 0, -1),
                    "hash": ("HGETALL", key),
                    "set": ("SMEMBERS", key),
                    "zset": ("ZRANGE", key, 0, -1, "WITHSCORES"),
                }[kind]
                value = parse_reply(conn.command(*read))
                if kind in ("hash", "set"):
                    value = sorted(value)
                ttl = parse_reply(conn.command("TTL", key))
                assert ttl == -1 or 990 <= ttl <= 1000, (key, ttl)
                out[f"{db}:{key.decode()}"] = (kind, value, ttl > 0)
    return out


def test_keys_move_in_both_directions_as_between_two_redis_servers(
    zyst_proc: ServerProcess, redis_server: ServerProcess, spare: ServerProcess
) -> None:
    baseline = run_moves(redis_server.port, spare.port)
    assert baseline[0][:4] == [
        b"+OK\r\n",
        b"+OK\r\n",
        b"+OK\r\n",
        b"-ERR Target instance replied with error: BUSYKEY Target key name already exists.\r\n",
    ]
    assert "0:str" not in baseline[1]["source"] and "9:str" in baseline[1]["target"]
    from_zyst = run_moves(zyst_proc.port, spare.port)
    to_zyst = run_moves(redis_server.port, zyst_proc.port)
    assert from_zyst == baseline
    assert to_zyst == baseline


def monitored(target: int, source: int, moves: list[Command]) -> list[list[bytes]]:
    """The commands ``target`` receives (seen through MONITOR) while ``source`` makes
    ``moves`` towards it, each MIGRATE's reply checked to be OK."""
    flush(source, target)
    with RawConnection(source) as conn:
        assert conn.command("MSET", "a", "1", "b", "2", "c", "3") == b"+OK\r\n"
        assert conn.command("PEXPIRE", "c", 100_000_000) == b":1\r\n"
    with RawConnection(target) as monitor, RawConnection(source) as conn:
        assert monitor.command("MONITOR") == b"+OK\r\n"
        for move in moves:
            assert conn.command("MIGRATE", "127.0.0.1", target, *move) == b"+OK\r\n", move
        with RawConnection(target) as marker:
            marker.command("ECHO", "done")
        seen: list[list[bytes]] = []
        while not seen or seen[-1][:1] != [b"ECHO"]:
            line = monitor.read_reply()
            for entry in line.split(b"\r\n"):
                if entry.startswith(b"+") and b"]" in entry:
                    words = re.findall(rb'"((?:[^"\\]|\\.)*)"', entry.split(b"]", 1)[1])
                    seen.append(words)
    return seen[:-1]


def test_target_gets_auth_select_and_restore_as_redis_sends_them(
    zyst_proc: ServerProcess, redis_server: ServerProcess, spare: ServerProcess
) -> None:
    moves: list[Command] = [
        ("a", 5, 5000, "COPY"),
        ("a", 5, 5000, "COPY", "REPLACE"),  # same database: no SELECT
        ("b", 6, 5000),
        ("c", 6, 5000, "REPLACE"),
    ]
    theirs = monitored(spare.port, redis_server.port, moves)
    ours = monitored(spare.port, zyst_proc.port, moves)
    assert [words[0] for words in theirs] == [
        b"SELECT",
        b"RESTORE",
        b"RESTORE",
        b"SELECT",
        b"RESTORE",
        b"RESTORE",
    ]
    for mine, real in zip(ours, theirs, strict=True):
        if real[0] == b"RESTORE" and real[1] == b"c":  # the TTL left: nearly the same
            assert abs(int(mine[2]) - int(real[2])) < 5000
            mine[2] = real[2] = b"<ttl>"
        assert mine == real


def test_auth_and_auth2_towards_a_server_with_a_password(
    zyst_proc: ServerProcess, redis_server: ServerProcess, locked: ServerProcess
) -> None:
    moves: list[Command] = [
        ("list", 0, 5000),  # no password: NOAUTH from the target
        ("list", 0, 5000, "AUTH", "foobar"),
        ("list2", 0, 5000, "AUTH", "wrong"),
        ("list2", 0, 5000, "AUTH2", "default", "foobar"),
        ("list3", 0, 5000, "AUTH2", "nobody", "foobar"),
    ]
    results = []
    for source in (redis_server.port, zyst_proc.port):
        flush(source)
        flush(locked.port, password="foobar")
        with RawConnection(source) as conn:
            for key in ("list", "list2", "list3"):
                assert conn.command("RPUSH", key, "a", "b") == b":2\r\n"
            replies = [conn.command("MIGRATE", "127.0.0.1", locked.port, *m) for m in moves]
            left = parse_reply(conn.command("KEYS", "*"))
        with RawConnection(locked.port) as conn:
            conn.command("AUTH", "foobar")
            moved = sorted(parse_reply(conn.command("KEYS", "*")))
        results.append((replies, sorted(left), moved))
    assert results[0] == results[1]
    replies, left, moved = results[0]
    target_error = b"-ERR Target instance replied with error: "
    assert replies[0] == target_error + b"NOAUTH Authentication required.\r\n"
    assert replies[1] == b"+OK\r\n"
    # The cached connection stays authenticated: a wrong AUTH fails, and fails the keys, but
    # their RESTORE went through (as in Redis): the key is on both sides.
    assert replies[2].startswith(target_error + b"WRONGPASS")
    assert replies[3] == target_error + b"BUSYKEY Target key name already exists.\r\n"
    assert replies[4].startswith(target_error + b"WRONGPASS")
    assert left == [b"list2", b"list3"] and moved == [b"list", b"list2", b"list3"]


def test_a_target_that_does_not_answer_in_time_is_an_ioerr(
    zyst_proc: ServerProcess, redis_server: ServerProcess, spare: ServerProcess
) -> None:
    replies = []
    for source in (redis_server.port, zyst_proc.port):
        flush(source, spare.port)
        with (
            RawConnection(source) as conn,
            RawConnection(spare.port) as sleeper,
            RawConnection(spare.port) as stats,
        ):
            assert conn.command("SET", "key", "v") == b"+OK\r\n"
            connections = received(stats)
            sleeper.send_raw(b"*3\r\n$5\r\nDEBUG\r\n$5\r\nSLEEP\r\n$3\r\n1.0\r\n")
            time.sleep(0.1)  # (lets DEBUG SLEEP start: not an assertion)
            # ("127.1" is 127.0.0.1 under a name no other test caches a connection by.)
            replies.append(conn.command("MIGRATE", "127.1", spare.port, "key", 9, 300))
            assert sleeper.read_reply() == b"+OK\r\n"
            replies.append(conn.command("EXISTS", "key"))
            # A timeout is not retried: one connection was made.
            replies.append(b"%d" % (received(stats) - connections))
    expected = [b"-IOERR error or timeout reading to target instance\r\n", b":1\r\n", b"1"]
    assert replies[:3] == expected
    assert replies[3:] == expected


def received(conn: RawConnection) -> int:
    """The connections the server behind ``conn`` has accepted so far (INFO stats)."""
    info = parse_reply(conn.command("INFO", "stats")).decode()
    return int(re.search(r"total_connections_received:(\d+)", info).group(1))  # type: ignore[union-attr]


def test_the_connection_is_cached_and_released_after_ten_seconds(
    r: object, zyst_proc: ServerProcess, spare: ServerProcess
) -> None:
    flush(spare.port)

    def cached() -> int:
        with RawConnection(zyst_proc.port) as conn:
            info = parse_reply(conn.command("INFO", "stats")).decode()
        return int(re.search(r"migrate_cached_sockets:(\d+)", info).group(1))  # type: ignore[union-attr]

    def clients(conn: RawConnection) -> set[str]:
        listing = parse_reply(conn.command("CLIENT", "LIST")).decode()
        return set(re.findall(r"^id=(\d+) ", listing, re.MULTILINE))

    with RawConnection(zyst_proc.port) as conn, RawConnection(spare.port) as target:
        # (Another test may have left one: it goes within its ten seconds.)
        wait_for(lambda: cached() == 0, "an earlier cached connection to go")
        before = clients(target)
        connections = received(target)
        assert conn.command("MSET", "a", "1", "b", "2") == b"+OK\r\n"
        assert conn.command("MIGRATE", "127.0.0.1", spare.port, "a", 0, 1000) == b"+OK\r\n"
        assert cached() == 1
        assert conn.command("MIGRATE", "127.0.0.1", spare.port, "b", 0, 1000) == b"+OK\r\n"
        assert cached() == 1
        assert received(target) - connections == 1  # the same connection twice
        # Zyst's connection is the one client the target gained; it stays open, then goes.
        (link,) = clients(target) - before
        wait_for(lambda: cached() == 0, "the idle connection to be released")
        wait_for(lambda: link not in clients(target), "the target to see it closed")


def test_a_migrate_reaches_the_aof_as_del_of_the_moved_keys(
    tmp_path: Path, spare: ServerProcess
) -> None:
    with aof_pair(tmp_path) as (zyst, real):
        for source in (real, zyst):
            flush(spare.port)
            with RawConnection(spare.port) as conn:
                assert conn.command("SET", "busy", "x") == b"+OK\r\n"
            with RawConnection(source.port) as conn:
                assert conn.command("MSET", "a", "1", "b", "2", "busy", "3") == b"+OK\r\n"
                conn.command(
                    "MIGRATE", "127.0.0.1", spare.port, "", 0, 5000, "KEYS", "a", "busy", "b"
                )
                assert (
                    conn.command(
                        "MIGRATE", "127.0.0.1", spare.port, "busy", 0, 5000, "COPY", "REPLACE"
                    )
                    == b"+OK\r\n"
                )
                assert (
                    conn.command("MIGRATE", "127.0.0.1", spare.port, "busy", 0, 5000, "REPLACE")
                    == b"+OK\r\n"
                )
                assert conn.command("DBSIZE") == b":0\r\n"
        assert _aof(zyst.dir) == _aof(real.dir)
        assert b"DEL\r\n$1\r\na\r\n$1\r\nb\r\n" in _aof(real.dir)


REDACTED_CASES: list[Command] = [
    ("MIGRATE", "127.0.0.1", 1, "nokey", 9, 100, "AUTH", "secret"),
    ("MIGRATE", "127.0.0.1", 1, "nokey", 9, 100, "COPY", "AUTH2", "user", "secret"),
    ("MIGRATE", "127.0.0.1", 1, "k", 9, 100, "AUTH", "secret", "KEYS", "a"),  # error after
    ("MIGRATE", "127.0.0.1", 1, "", 9, 100, "AUTH2", "u", "p", "bogus", "AUTH", "shown"),
    ("MIGRATE", "127.0.0.1", 1, "", 9, 100, "KEYS", "AUTH", "key"),  # keys, not a password
    ("MIGRATE", "127.0.0.1", 1, "nokey", 9, 100, "AUTH"),
]


def test_passwords_are_redacted_in_slowlog_and_monitor(oracle: Oracle) -> None:
    with (
        RawConnection(oracle.zyst.sock.getpeername()[1]) as ours,
        RawConnection(oracle.redis.sock.getpeername()[1]) as theirs,
    ):
        monitors = (ours, theirs)
        for monitor in monitors:
            assert monitor.command("MONITOR") == b"+OK\r\n"
        oracle.check("CONFIG", "SET", "slowlog-log-slower-than", "0")
        try:
            oracle.check("SLOWLOG", "RESET")
            for command in REDACTED_CASES:
                oracle.check(*command)
            logged = [
                [entry[3] for entry in parse_reply(raw)]
                for raw in oracle.run("SLOWLOG", "GET", "-1")
            ]
        finally:
            oracle.check("CONFIG", "SET", "slowlog-log-slower-than", "10000")
        assert logged[0] == logged[1]
        assert logged[0][-2][-2:] == [b"AUTH", b"(redacted)"]
        oracle.check("ECHO", "end")
        seen = []
        for monitor in monitors:
            lines: list[bytes] = []
            while not lines or b'"ECHO"' not in lines[-1]:
                for line in monitor.read_reply().split(b"\r\n"):
                    if line:
                        lines.append(line.split(b"]", 1)[1])
            seen.append(lines)
        assert seen[0] == seen[1]
        assert any(
            b'"AUTH2" "(redacted)" "(redacted)" "bogus" "AUTH" "shown"' in s for s in seen[0]
        )


def test_a_cached_connection_the_target_closed_is_replaced_once(
    zyst_proc: ServerProcess, redis_server: ServerProcess, spare: ServerProcess
) -> None:
    replies = []
    for source in (redis_server.port, zyst_proc.port):
        flush(source, spare.port)
        with RawConnection(source) as conn, RawConnection(spare.port) as target:
            assert conn.command("MSET", "a", "1", "b", "2") == b"+OK\r\n"
            replies.append(conn.command("MIGRATE", "127.0.0.1", spare.port, "a", 0, 5000))
            # The target drops MIGRATE's connections (the clients whose last command was
            # RESTORE: this one's, and any other server's still cached).
            clients = parse_reply(target.command("CLIENT", "LIST")).decode().splitlines()
            for line in clients:
                if "cmd=restore" in line:
                    client_id = re.search(r"id=(\d+)", line).group(1)  # type: ignore[union-attr]
                    assert target.command("CLIENT", "KILL", "ID", client_id) == b":1\r\n"
            replies.append(conn.command("MIGRATE", "127.0.0.1", spare.port, "b", 0, 5000))
            replies.append(conn.command("DBSIZE"))
            replies.append(target.command("DBSIZE"))
    assert replies[:4] == [b"+OK\r\n", b"+OK\r\n", b":0\r\n", b":2\r\n"]
    assert replies[4:] == replies[:4]
