"""Logging in against redis-server 7.0: AUTH, HELLO ... AUTH, ``requirepass`` and the commands
an unauthenticated connection may run, compared byte for byte on fresh connections.

HELLO's reply carries each server's client id: :func:`masked` hides it before comparing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.conftest import (
    Oracle,
    RawConnection,
    ServerProcess,
    free_port,
    redis_process,
    wait_until,
    zyst_process,
)

Args = tuple[bytes | str | int, ...]
_ID = re.compile(rb"(\$2\r\nid\r\n|id\r\n):\d+\r\n")


def masked(reply: bytes) -> bytes:
    """A reply with HELLO's client id hidden."""
    return _ID.sub(rb"\1:ID\r\n", reply)


def same_replies(pair: tuple[ServerProcess, ServerProcess], *commands: Args) -> list[bytes]:
    """Send ``commands`` one by one on a new connection to each server; every reply must be the
    same bytes (client ids masked). The replies, for the test to pin some of them."""
    oracle = Oracle(pair[0].port, pair[1].port)
    try:
        replies = []
        for command in commands:
            ours, theirs = oracle.run(*command)
            assert masked(ours) == masked(theirs), f"{command!r}: zyst {ours!r} != {theirs!r}"
            replies.append(masked(ours))
        return replies
    finally:
        oracle.close()


@pytest.fixture(scope="module")
def locked(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Zyst and redis-server started with ``requirepass secret``."""
    workdir = tmp_path_factory.mktemp("locked")
    with (
        zyst_process(
            workdir / "zyst", "--appendonly", "no", "--save", "", "--requirepass", "secret"
        ) as zyst,
        redis_process(workdir / "redis", "--requirepass", "secret") as real,
    ):
        yield zyst, real


def test_auth_without_any_password_configured(oracle: Oracle) -> None:
    replies = [
        oracle.check(*command)
        for command in (
            ("AUTH", "foo"),
            ("AUTH", "a", "b", "c"),
            ("AUTH", "default", "anything"),
            ("AUTH", "nosuchuser", "pass"),
            ("AUTH",),
        )
    ]
    assert replies[0].startswith(b"-ERR AUTH <password> called without any password")
    assert replies[1] == b"-ERR syntax error\r\n"
    assert replies[2] == b"+OK\r\n"
    assert replies[3].startswith(b"-WRONGPASS")


def test_hello_auth_without_password_configured(oracle: Oracle) -> None:
    ours, theirs = oracle.run("HELLO", "2", "AUTH", "default", "whatever")
    assert masked(ours) == masked(theirs)
    oracle.check("HELLO", "2", "AUTH", "nobody", "whatever")


def test_unauthenticated_connection_may_run_only_the_no_auth_commands(
    locked: tuple[ServerProcess, ServerProcess],
) -> None:
    replies = same_replies(
        locked,
        ("FOO",),
        ("GET",),
        ("GET", "a"),
        ("PING",),
        ("ECHO", "a"),
        ("CLIENT", "INFO"),
        ("HELLO",),
        ("HELLO", "3"),
        ("HELLO", "3", "SETNAME", "early"),
        ("HELLO", "4"),
        ("HELLO", "3", "AUTH", "default", "bad", "SETNAME", "zz"),
        ("MULTI",),
        ("EXEC",),
        ("AUTH", "wrong"),
        ("AUTH", "default", "wrong"),
        ("AUTH", "nobody", "secret"),
        ("GET", "a"),
        ("RESET",),
    )
    assert replies[0].startswith(b"-ERR unknown command 'FOO'")
    assert replies[1] == b"-ERR wrong number of arguments for 'get' command\r\n"
    assert replies[2] == b"-NOAUTH Authentication required.\r\n"
    assert replies[7].startswith(b"-NOAUTH HELLO must be called with the client already")
    assert replies[10].startswith(b"-WRONGPASS")
    assert replies[16] == b"-NOAUTH Authentication required.\r\n"
    assert replies[17] == b"+RESET\r\n"


def test_hello_options_take_effect_in_order(locked: tuple[ServerProcess, ServerProcess]) -> None:
    replies = same_replies(
        locked,
        # SETNAME before a failed AUTH names the connection; after a failed AUTH it does not.
        ("HELLO", "2", "SETNAME", "first", "AUTH", "default", "bad"),
        ("HELLO", "2", "AUTH", "default", "bad", "SETNAME", "second"),
        ("HELLO", "3", "AUTH", "default", "secret", "BOGUS"),
        ("CLIENT", "GETNAME"),
        ("HELLO", "3", "SETNAME", "bad name"),
        ("HELLO", "3", "AUTH", "default", "secret", "SETNAME", "third"),
        ("CLIENT", "GETNAME"),
        ("SET", "k", "v"),
        ("GET", "k"),
    )
    assert replies[3] == b"$5\r\nfirst\r\n"  # and the AUTH before BOGUS logged it in
    assert replies[5].startswith(b"%7\r\n")
    assert replies[6] == b"$5\r\nthird\r\n"
    assert replies[8] == b"$1\r\nv\r\n"


def test_auth_then_commands_then_reset_logs_out(
    locked: tuple[ServerProcess, ServerProcess],
) -> None:
    replies = same_replies(
        locked,
        ("AUTH", "secret"),
        ("SET", "foo", "100"),
        ("INCR", "foo"),
        ("CLIENT", "SETNAME", "me"),
        ("RESET",),
        ("GET", "foo"),
        ("CLIENT", "GETNAME"),
        ("AUTH", "default", "secret"),
        ("GET", "foo"),
        ("QUIT",),
    )
    assert replies[2] == b":101\r\n"
    assert replies[5] == b"-NOAUTH Authentication required.\r\n"
    assert replies[8] == b"$3\r\n101\r\n"


def test_noauth_inside_multi_and_exec(locked: tuple[ServerProcess, ServerProcess]) -> None:
    same_replies(
        locked,
        ("AUTH", "secret"),
        ("MULTI",),
        ("SET", "a", "1"),
        ("RESET",),
        ("MULTI",),
        ("AUTH", "secret"),
        ("MULTI",),
        ("GET", "a"),
        ("EXEC",),
    )


def test_pipelined_auth_then_commands(locked: tuple[ServerProcess, ServerProcess]) -> None:
    oracle = Oracle(locked[0].port, locked[1].port)
    try:
        oracle.check_many([("GET", "x"), ("AUTH", "secret"), ("GET", "x"), ("PING",)])
    finally:
        oracle.close()


def unauthenticated_exchange(port: int, request: bytes) -> bytes:
    with RawConnection(port) as conn:
        conn.send_raw(request)
        return conn.read_until_closed()


def test_unauthenticated_requests_are_limited_in_size(
    locked: tuple[ServerProcess, ServerProcess],
) -> None:
    big = b"x" * 20000
    eleven = b"*11\r\n$4\r\nMSET\r\n" + b"$1\r\nk\r\n$1\r\nv\r\n" * 5
    for request in (
        b"*100\r\n",
        b"*1\r\n$100000000\r\n",
        # The commands before the request over the limit are answered first.
        b"PING\r\n*2\r\n$4\r\nECHO\r\n$20000\r\n" + big + b"\r\nPING\r\n",
        b"*1\r\n$4\r\nPING\r\n" + eleven,
        # A multibulk header that is wrong anyway gets its own error.
        b"*x\r\n",
    ):
        answers = [unauthenticated_exchange(server.port, request) for server in locked]
        assert answers[0] == answers[1], (request[:40], answers)
        assert answers[0].endswith(b"\r\n"), answers
    assert unauthenticated_exchange(locked[0].port, b"*100\r\n") == (
        b"-ERR Protocol error: unauthenticated multibulk length\r\n"
    )
    # Logged in by a command before it in the same write: no such limit.
    for server in locked:
        with RawConnection(server.port) as conn:
            conn.send_raw(
                b"*2\r\n$4\r\nAUTH\r\n$6\r\nsecret\r\n"
                + eleven
                + b"*2\r\n$4\r\nECHO\r\n$20000\r\n"
                + big
                + b"\r\n"
            )
            assert conn.read_replies(3) == [
                b"+OK\r\n",
                b"+OK\r\n",
                b"$20000\r\n" + big + b"\r\n",
            ]


def test_binary_requirepass(tmp_path: Path) -> None:
    with (
        zyst_process(tmp_path / "zyst", "--appendonly", "no", "--save", "") as zyst,
        redis_process(tmp_path / "redis") as real,
    ):
        pair = (zyst, real)
        same_replies(pair, ("CONFIG", "SET", "requirepass", b"abc\x00def"))
        replies = same_replies(
            pair,
            ("AUTH", "abc"),
            ("GET", "k"),
            ("AUTH", b"abc\x00def"),
            ("GET", "k"),
            ("CONFIG", "GET", "requirepass"),
            ("CONFIG", "SET", "requirepass", ""),
        )
        assert replies[0].startswith(b"-WRONGPASS")
        assert replies[2] == b"+OK\r\n"
        assert replies[4] == b"*2\r\n$11\r\nrequirepass\r\n$7\r\nabc\x00def\r\n"
        # No password any more: a new connection is logged in at once.
        same_replies(pair, ("GET", "k"), ("AUTH", "x"))


def test_config_set_requirepass_locks_new_connections_only(tmp_path: Path) -> None:
    with (
        zyst_process(tmp_path / "zyst", "--appendonly", "no", "--save", "") as zyst,
        redis_process(tmp_path / "redis") as real,
    ):
        pair = (zyst, real)
        before = Oracle(zyst.port, real.port)
        try:
            before.check("CONFIG", "SET", "requirepass", "pw")
            # Connected while there was no password: still logged in.
            before.check("SET", "k", "v")
            replies = same_replies(pair, ("GET", "k"), ("AUTH", "pw"), ("GET", "k"))
            assert replies[0] == b"-NOAUTH Authentication required.\r\n"
            # A connection waiting for AUTH when the password goes away may run anything.
            waiting = Oracle(zyst.port, real.port)
            try:
                waiting.check("GET", "k")
                before.check("CONFIG", "SET", "requirepass", "")
                waiting.check("GET", "k")
                before.check("CONFIG", "SET", "requirepass", "again")
                waiting.check("GET", "k")  # not logged in, and a password again
                waiting.check("AUTH", "again")
                waiting.check("GET", "k")
            finally:
                waiting.close()
        finally:
            before.close()


def test_requirepass_and_protected_mode_settings(tmp_path: Path) -> None:
    config = tmp_path / "zyst.conf"
    config.write_text("requirepass fromfile\nprotected-mode no\n")
    from_file = zyst_process(tmp_path / "zyst", "--appendonly", "no")
    from_file.argv.insert(3, str(config))  # the file comes before the options
    with (
        from_file as zyst,
        redis_process(
            tmp_path / "redis", "--requirepass", "fromfile", "--protected-mode", "no"
        ) as real,
    ):
        same_replies(
            (zyst, real),
            ("AUTH", "fromfile"),
            ("CONFIG", "GET", "requirepass"),
            ("CONFIG", "GET", "protected-mode"),
            ("CONFIG", "SET", "protected-mode", "maybe"),
            ("CONFIG", "SET", "protected-mode", "yes"),
            ("CONFIG", "GET", "protected-mode"),
        )
    with (
        zyst_process(tmp_path / "zyst2", "--appendonly", "no", "--requirepass", "cli") as zyst,
        redis_process(tmp_path / "redis2", "--requirepass", "cli") as real,
    ):
        same_replies((zyst, real), ("GET", "x"), ("AUTH", "cli"), ("CONFIG", "GET", "require*"))


def test_failed_logins_are_counted_as_failed_calls(
    locked: tuple[ServerProcess, ServerProcess],
) -> None:
    for server in locked:
        client = redis.Redis(port=server.port, password="secret")
        client.config_resetstat()
        with RawConnection(server.port) as conn:
            conn.command("AUTH", "wrong")
            conn.command("GET", "x")
        stats = client.info("commandstats")
        assert stats["cmdstat_auth"]["failed_calls"] == 1, server.argv
        assert stats["cmdstat_get"]["rejected_calls"] == 1, server.argv
        client.close()


def test_new_connection_needs_auth_when_default_user_is_off(tmp_path: Path) -> None:
    port = free_port()
    with zyst_process(tmp_path, "--appendonly", "no", port=port):
        admin = redis.Redis(port=port)
        admin.execute_command("ACL", "SETUSER", "default", "off")
        with RawConnection(port) as conn:
            assert conn.command("PING") == b"-NOAUTH Authentication required.\r\n"
        admin.execute_command("ACL", "SETUSER", "default", "on")
        wait_until(lambda: admin.ping(), "the default user on again")
        with RawConnection(port) as conn:
            assert conn.command("PING") == b"+PONG\r\n"
        admin.close()
