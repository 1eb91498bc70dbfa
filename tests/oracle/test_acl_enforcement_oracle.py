"""ACL permissions enforced against redis-server 7.0: the NOPERM errors at the top level, while
queueing for MULTI, when EXEC runs a command whose rules changed, inside scripts (EVAL, FCALL;
redis.call and redis.pcall), for pub/sub channels; the ACL LOG entries each denial and failed
login leaves; the clients disconnected when their user is deleted or loses channels.

Each test makes users of its own on both session servers and deletes them after. ACL LOG
entries are compared field by field but for their age and the client's description, which
holds addresses and ids (its ``cmd=`` and ``user=`` fields are compared).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import (
    Oracle,
    RawConnection,
    ServerProcess,
    parse_reply,
    redis_process,
    zyst_process,
)

Args = tuple[bytes | str | int, ...]
_USERS = ("acl-t1", "acl-t2", "acl-ps")


@pytest.fixture
def acl_oracle(zyst_proc: ServerProcess, redis_server: ServerProcess) -> Iterator[Oracle]:
    """Both servers flushed, ACL LOG empty, the test's users deleted afterwards."""
    admin = Oracle(zyst_proc.port, redis_server.port)
    admin.check("FLUSHALL")
    admin.check("ACL", "LOG", "RESET")
    yield admin
    admin.run("ACL", "DELUSER", *_USERS)
    admin.run("ACL", "LOG", "RESET")
    admin.close()


@pytest.fixture
def connect(zyst_proc: ServerProcess, redis_server: ServerProcess) -> Iterator[Any]:
    """Makes more connection pairs, logged in as the user given; closed after the test."""
    made: list[Oracle] = []

    def make(user: str | None = None, password: str = "pw") -> Oracle:
        pair = Oracle(zyst_proc.port, redis_server.port)
        made.append(pair)
        if user is not None:
            assert pair.check("AUTH", user, password) == b"+OK\r\n"
        return pair

    yield make
    for pair in made:
        pair.close()


def log_entries(conn: RawConnection) -> list[dict[bytes, Any]]:
    """ACL LOG as dicts, without the fields that differ between servers by nature."""
    entries = []
    for flat in parse_reply(conn.command("ACL", "LOG")):
        entry = dict(zip(flat[::2], flat[1::2], strict=True))
        info = entry.pop(b"client-info")
        entry[b"cmd"] = re.search(rb" cmd=(\S*)", info).group(1)  # type: ignore[union-attr]
        entry[b"user"] = re.search(rb" user=(\S*)", info).group(1)  # type: ignore[union-attr]
        entry[b"argv-mem"] = re.search(rb" argv-mem=(\S*)", info).group(1)  # type: ignore[union-attr]
        del entry[b"age-seconds"]
        entries.append(entry)
    return entries


def same_log(admin: Oracle) -> list[dict[bytes, Any]]:
    ours, theirs = log_entries(admin.zyst), log_entries(admin.redis)
    assert ours == theirs
    return ours


def test_noperm_for_commands_keys_and_channels(acl_oracle: Oracle, connect: Any) -> None:
    acl_oracle.check(
        "ACL", "SETUSER", "acl-t1", "on", ">pw", "~k*", "&ch*", "+get", "+set", "+publish",
        "+subscribe", "+psubscribe", "+config|get", "+client", "+acl|whoami",
    )  # fmt: skip
    user = connect("acl-t1")
    replies = [
        user.check(*command)
        for command in (
            ("GET", "k1"),
            ("GET", "x"),
            ("SET", "k1", "v"),
            ("SET", "x", "v"),
            ("DEL", "k1"),
            ("CONFIG", "GET", "maxmemory"),
            ("CONFIG", "SET", "maxmemory", "0"),
            ("PUBLISH", "ch1", "m"),
            ("PUBLISH", "other", "m"),
            ("NOSUCHCOMMAND",),
            ("GET",),
            ("ACL", "WHOAMI"),
            ("SUBSCRIBE", "other"),
            ("PSUBSCRIBE", "ch*"),
            ("PSUBSCRIBE", "c*"),
        )
    ]
    assert replies[1] == (
        b"-NOPERM this user has no permissions to access one of the keys used as arguments\r\n"
    )
    assert replies[4] == b"-NOPERM this user has no permissions to run the 'del' command\r\n"
    assert replies[6] == (
        b"-NOPERM this user has no permissions to run the 'config|set' command\r\n"
    )
    assert replies[8] == (
        b"-NOPERM this user has no permissions to access one of the channels used as arguments\r\n"
    )
    assert replies[11] == b"$6\r\nacl-t1\r\n"
    entries = same_log(acl_oracle)
    assert [(e[b"reason"], e[b"object"]) for e in entries] == [
        (b"channel", b"c*"),
        (b"channel", b"other"),
        (b"command", b"config|set"),
        (b"command", b"del"),
        (b"key", b"x"),
    ]
    assert entries[1][b"count"] == 2  # PUBLISH and SUBSCRIBE to it: one entry


def test_client_list_and_kill_by_user(acl_oracle: Oracle, connect: Any) -> None:
    for name in ("acl-t1", "acl-t2"):
        acl_oracle.check("ACL", "SETUSER", name, "on", ">pw", "+@all", "~*", "&*")
    user = connect("acl-t1")
    bystander = connect("acl-t2")
    for conn in (user.zyst, user.redis):
        assert b" user=acl-t1 " in conn.command("CLIENT", "INFO")
    acl_oracle.check("CLIENT", "KILL", "USER", "nobody-like-this")
    assert acl_oracle.check("CLIENT", "KILL", "USER", "acl-t1") == b":1\r\n"
    for conn in (user.zyst, user.redis):
        assert conn.read_until_closed() == b""
    assert bystander.check("PING") == b"+PONG\r\n"
    assert acl_oracle.check("CLIENT", "KILL", "USER", "acl-t2", "SKIPME", "no") == b":1\r\n"


def test_denials_inside_multi_abort_exec(acl_oracle: Oracle, connect: Any) -> None:
    acl_oracle.check(
        "ACL", "SETUSER", "acl-t1", "on", ">pw", "~k*", "&ch*", "+get", "+multi", "+exec",
        "+publish", "+subscribe",
    )  # fmt: skip
    user = connect("acl-t1")
    replies = user.check_many(
        [
            ("MULTI",),
            ("GET", "k1"),
            ("GET", "x"),
            ("DEL", "k1"),
            ("PUBLISH", "nope", "m"),
            ("SUBSCRIBE", "nope"),
            ("EXEC",),
            ("GET", "k1"),
        ]
    )
    assert replies[6] == b"-EXECABORT Transaction discarded because of previous errors.\r\n"
    entries = same_log(acl_oracle)
    assert {e[b"context"] for e in entries} == {b"multi"}
    # A user who may not run EXEC: refused, the transaction discarded.
    acl_oracle.check("ACL", "SETUSER", "acl-t2", "on", ">pw", "~*", "+multi", "+get")
    other = connect("acl-t2")
    replies = other.check_many([("MULTI",), ("GET", "a"), ("EXEC",), ("GET", "a")])
    assert replies[2].startswith(b"-EXECABORT Transaction discarded because of: NOPERM")


def test_exec_checks_queued_commands_again(acl_oracle: Oracle, connect: Any) -> None:
    acl_oracle.check(
        "ACL", "SETUSER", "acl-t1", "on", ">pw", "~*", "&*", "+get", "+set", "+publish",
        "+multi", "+exec",
    )  # fmt: skip
    user = connect("acl-t1")
    user.check_many(
        [
            ("MULTI",),
            ("SET", "a", "1"),
            ("GET", "a"),
            ("SET", "b", "2"),
            ("PUBLISH", "c1", "m"),
        ]
    )
    acl_oracle.check("ACL", "SETUSER", "acl-t1", "-set", "resetkeys", "~a", "resetchannels")
    reply = user.check("EXEC")
    assert b"no permission to execute the command or subcommand" in reply
    assert b"no permission to access one of the channels used as arguments" in reply
    acl_oracle.check("GET", "a")
    acl_oracle.check("GET", "b")
    assert {e[b"context"] for e in same_log(acl_oracle)} == {b"multi"}
    # Rules changed by a command of the transaction itself apply to the commands after it.
    acl_oracle.check("MULTI")
    acl_oracle.check("GET", "a")
    acl_oracle.check("ACL", "SETUSER", "default", "-get")
    acl_oracle.check("GET", "a")
    acl_oracle.check("ACL", "SETUSER", "default", "+get")
    acl_oracle.check("GET", "a")
    acl_oracle.check("EXEC")


def test_scripts_run_commands_as_their_callers_user(acl_oracle: Oracle, connect: Any) -> None:
    acl_oracle.check(
        "ACL", "SETUSER", "acl-t1", "on", ">pw", "~k*", "&ch*", "+get", "+eval", "+fcall",
        "+publish",
    )  # fmt: skip
    library = (
        "#!lua name=acltest\n"
        "redis.register_function('get_it', function(keys, args) "
        "return redis.call('get', keys[1]) end)\n"
        "redis.register_function('get_x', function(keys, args) return redis.call('get', 'x') end)"
    )
    acl_oracle.check("FUNCTION", "LOAD", "REPLACE", library)
    user = connect("acl-t1")
    replies = [
        user.check(*command)
        for command in (
            ("EVAL", "return redis.call('get', 'k1')", "0"),
            ("EVAL", "return redis.call('get', 'x')", "0"),
            ("EVAL", "return redis.pcall('del', 'k1')", "0"),
            ("EVAL", "return redis.pcall('get', 'x')", "0"),
            ("EVAL", "return redis.call('publish', 'other', 'm')", "0"),
            ("EVAL", "return redis.call('publish', 'ch1', 'm')", "0"),
            ("FCALL", "get_it", "1", "k1"),
            ("FCALL", "get_it", "1", "x"),
            ("FCALL", "get_x", "0"),
            ("EVAL", "return redis.acl_check_cmd('get', 'k1')", "0"),
            ("EVAL", "return redis.acl_check_cmd('get', 'x')", "0"),
            ("EVAL", "return redis.acl_check_cmd('hset', 'k1', 'f', 1)", "0"),
        )
    ]
    assert (
        replies[2] == b"-ERR The user executing the script can't run this command or subcommand\r\n"
    )
    assert replies[9:12] == [b":1\r\n", b"$-1\r\n", b"$-1\r\n"]
    entries = same_log(acl_oracle)
    # (FCALL's own key is checked before the function runs: a top-level denial.)
    assert {(e[b"context"], e[b"cmd"]) for e in entries} == {
        (b"lua", b"eval"),
        (b"lua", b"fcall"),
        (b"toplevel", b"fcall"),
    }
    # The default user is not held back by the script's own client.
    acl_oracle.check("EVAL", "return redis.call('del', 'x')", "0")
    acl_oracle.check("FUNCTION", "DELETE", "acltest")


def test_failed_logins_are_logged(acl_oracle: Oracle, connect: Any) -> None:
    acl_oracle.check("ACL", "SETUSER", "acl-t1", "on", ">pw", "+@all")
    pair = connect()
    pair.check("AUTH", "acl-t1", "wrong")
    pair.check("AUTH", "nobody", "wrong")
    pair.check("hello", "2", "AUTH", "nobody", "x")
    entries = same_log(acl_oracle)
    assert [(e[b"object"], e[b"username"], e[b"context"]) for e in entries] == [
        (b"hello", b"nobody", b"toplevel"),
        (b"AUTH", b"nobody", b"toplevel"),
        (b"AUTH", b"acl-t1", b"toplevel"),
    ]


def test_no_auth_commands_need_no_permission(acl_oracle: Oracle, connect: Any) -> None:
    acl_oracle.check("ACL", "SETUSER", "acl-t1", "on", ">pw", "-@all")
    user = connect("acl-t1")
    for command in (("PING",), ("AUTH", "acl-t1", "pw"), ("RESET",), ("AUTH", "acl-t1", "pw")):
        user.check(*command)
    ours, theirs = user.run("HELLO", "2", "AUTH", "acl-t1", "pw")
    assert ours.startswith(b"*14\r\n") and theirs.startswith(b"*14\r\n")
    user.check("QUIT")


def test_reset_logs_out_to_the_default_user(acl_oracle: Oracle, connect: Any) -> None:
    acl_oracle.check("ACL", "SETUSER", "acl-t1", "on", ">pw", "+acl", "-get")
    user = connect("acl-t1")
    user.check("GET", "k")
    user.check("RESET")
    assert user.check("ACL", "WHOAMI") == b"$7\r\ndefault\r\n"
    user.check("GET", "k")


@pytest.mark.parametrize(
    ("rules", "subscribe", "changed", "killed"),
    [
        (("resetchannels", "&foo:1"), ("SUBSCRIBE", "foo:1"), ("resetchannels",), True),
        (("resetchannels", "&foo:1"), ("SSUBSCRIBE", "foo:1"), ("resetchannels",), True),
        (("resetchannels", "&bar:*"), ("PSUBSCRIBE", "bar:*"), ("resetchannels",), True),
        (("allchannels",), ("PSUBSCRIBE", "foo"), ("resetchannels",), True),
        (
            ("resetchannels", "&foo:1", "&bar:*"),
            ("SUBSCRIBE", "foo:1"),
            ("resetchannels", "&foo:1", "&bar:*", "&baz"),
            False,
        ),
        (("resetchannels", "&bar:*"), ("PSUBSCRIBE", "bar:*"), ("allchannels",), False),
        (("resetchannels", "&f*"), ("SUBSCRIBE", "foo"), ("resetchannels", "&fo*"), False),
        # A pattern is allowed by the same text only: &f* does not cover the pattern fo*.
        (("resetchannels", "&fo*"), ("PSUBSCRIBE", "fo*"), ("resetchannels", "&f*"), True),
        (("resetchannels", "&f*"), ("PSUBSCRIBE", "f*"), ("resetchannels", "&f*", "&g"), False),
    ],
)
def test_subscribers_killed_when_their_channels_are_revoked(
    acl_oracle: Oracle,
    connect: Any,
    rules: Args,
    subscribe: Args,
    changed: Args,
    killed: bool,
) -> None:
    acl_oracle.check("ACL", "SETUSER", "acl-ps", "on", ">pw", "+@all", *rules)
    subscriber = connect("acl-ps")
    subscriber.check("CLIENT", "SETNAME", "deathrow")
    subscriber.check(*subscribe)
    acl_oracle.check("ACL", "SETUSER", "acl-ps", *changed)
    listed = [b"name=deathrow" in reply for reply in acl_oracle.run("CLIENT", "LIST")]
    assert listed == [not killed, not killed]
    if killed:
        for conn in (subscriber.zyst, subscriber.redis):
            assert conn.read_until_closed() == b""


def test_deleting_a_user_disconnects_its_clients(acl_oracle: Oracle, connect: Any) -> None:
    acl_oracle.check("ACL", "SETUSER", "acl-t1", "on", ">pw", "+@all", "~*")
    acl_oracle.check("ACL", "SETUSER", "acl-t2", "on", ">pw", "+@all", "~*")
    other = connect("acl-t2")
    other.check("CLIENT", "SETNAME", "other")
    user = connect("acl-t1")
    # The client deleting its own user gets the reply, then is disconnected.
    assert user.check("ACL", "DELUSER", "acl-t1", "acl-t2") == b":2\r\n"
    for conn in (user.zyst, user.redis, other.zyst, other.redis):
        assert conn.read_until_closed() == b""
    assert all(b"name=other" not in reply for reply in acl_oracle.run("CLIENT", "LIST"))
    # A user deleted that no client uses: nobody is disconnected.
    acl_oracle.check("ACL", "SETUSER", "acl-t1", "on", ">pw")
    assert acl_oracle.check("ACL", "DELUSER", "acl-t1") == b":1\r\n"
    acl_oracle.check("PING")


def test_restricting_the_default_user_applies_to_its_clients(
    acl_oracle: Oracle, connect: Any
) -> None:
    pair = connect()
    pair.check("SET", "k", "v")
    try:
        acl_oracle.check("ACL", "SETUSER", "default", "-set")
        pair.check("SET", "k", "w")
        pair.check("GET", "k")
        fresh = connect()
        fresh.check("SET", "k", "w")
    finally:
        acl_oracle.check("ACL", "SETUSER", "default", "+set")
    pair.check("SET", "k", "w")
    same_log(acl_oracle)


def test_acl_load_disconnects_the_clients_of_every_user_but_default(tmp_path: Path) -> None:
    for server_kind in ("zyst", "redis"):
        workdir = tmp_path / server_kind
        workdir.mkdir()
        aclfile = workdir / "users.acl"
        aclfile.write_text("user default on nopass ~* &* +@all\nuser alice on >pw ~* &* +@all\n")
        if server_kind == "zyst":
            server = zyst_process(workdir, "--appendonly", "no", "--aclfile", str(aclfile))
        else:
            server = redis_process(workdir, "--aclfile", str(aclfile))
        with server, RawConnection(server.port) as alice, RawConnection(server.port) as plain:
            assert alice.command("AUTH", "alice", "pw") == b"+OK\r\n"
            assert plain.command("ACL", "LOAD") == b"+OK\r\n"
            assert alice.read_until_closed() == b""
            assert plain.command("PING") == b"+PONG\r\n"


def _aof_server(kind: str, workdir: Path, *extra: str) -> ServerProcess:
    aof = ("--appendonly", "yes", "--appendfsync", "always")
    if kind == "zyst":
        return zyst_process(workdir, *aof, *extra)
    return redis_process(workdir, *aof, *extra)


def test_commands_replayed_from_the_aof_are_not_checked(tmp_path: Path) -> None:
    """The AOF is replayed as no user at all: a default user restricted since then does not
    hold back what it holds (a script's writes among them)."""
    for kind in ("zyst", "redis"):
        workdir = tmp_path / kind
        workdir.mkdir()
        with _aof_server(kind, workdir) as first, RawConnection(first.port) as conn:
            conn.command("EVAL", "return redis.call('set', KEYS[1], 'v')", "1", "k")
            conn.command("SET", "plain", "w")
        aclfile = workdir / "users.acl"
        aclfile.write_text("user default on nopass ~* &* +@all -set -eval\n")
        with (
            _aof_server(kind, workdir, "--aclfile", str(aclfile)) as second,
            RawConnection(second.port) as conn,
        ):
            assert conn.command("MGET", "k", "plain") == b"*2\r\n$1\r\nv\r\n$1\r\nw\r\n", kind
            assert conn.command("SET", "k", "x").startswith(b"-NOPERM"), kind
