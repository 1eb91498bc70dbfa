"""Connection, server and introspection commands through a real socket (redis-py and raw RESP).

Covers PING ECHO SELECT QUIT HELLO AUTH CLIENT, FLUSHDB FLUSHALL INFO CONFIG TIME SHUTDOWN and
COMMAND (COUNT INFO DOCS LIST GETKEYS HELP); exact error strings are asserted on raw bytes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hiredis
import pytest
import redis

from tests.conftest import RawConnection, ServerProcess, zyst_process
from zyst.commands.introspection import parse_syntax


@pytest.fixture
def raw(zyst_proc: ServerProcess) -> Iterator[RawConnection]:
    conn = RawConnection(zyst_proc.port)
    conn.command("FLUSHALL")
    yield conn
    conn.close()


def error(text: str) -> bytes:
    return b"-" + text.encode() + b"\r\n"


# -- PING ECHO SELECT QUIT ---------------------------------------------------------------------
def test_ping_and_echo(raw: RawConnection) -> None:
    assert raw.command("PING") == b"+PONG\r\n"
    assert raw.command("PING", "hi") == b"$2\r\nhi\r\n"
    assert raw.command("PING", "a", "b") == error(
        "ERR wrong number of arguments for 'ping' command"
    )
    assert raw.command("ECHO", "") == b"$0\r\n\r\n"
    assert raw.command("ECHO") == error("ERR wrong number of arguments for 'echo' command")


def test_select(r: redis.Redis) -> None:
    r.set("k", "0")
    assert r.execute_command("SELECT", "1") in (True, b"OK")
    assert r.get("k") is None
    r.set("k", "1")
    r.execute_command("SELECT", "0")
    assert r.get("k") == b"0"


def test_select_errors(raw: RawConnection) -> None:
    assert raw.command("SELECT", "16") == error("ERR DB index is out of range")
    assert raw.command("SELECT", "-1") == error("ERR DB index is out of range")
    assert raw.command("SELECT", "x") == error("ERR value is not an integer or out of range")
    assert raw.command("SELECT", "01") == error("ERR value is not an integer or out of range")
    assert raw.command("SELECT", str(2**31)) == error("ERR value is not an integer or out of range")


def test_quit_replies_ok_then_closes(zyst_proc: ServerProcess) -> None:
    conn = RawConnection(zyst_proc.port)
    try:
        assert conn.command("QUIT") == b"+OK\r\n"
        assert conn.sock.recv(10) == b""
    finally:
        conn.close()


# -- HELLO AUTH --------------------------------------------------------------------------------
def test_hello_switches_protocol(zyst_proc: ServerProcess) -> None:
    conn = RawConnection(zyst_proc.port)
    try:
        reply = conn.command("HELLO", "3")
        assert reply.startswith(
            b"%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n"
        )
        assert b"$5\r\nproto\r\n:3\r\n" in reply
        assert reply.endswith(
            b"$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n"
        )
        assert conn.command("CLIENT", "GETNAME") == b"_\r\n"
        reply = conn.command("HELLO", "2", "SETNAME", "me")
        assert reply.startswith(b"*14\r\n") and b"$5\r\nproto\r\n:2\r\n" in reply
        assert conn.command("CLIENT", "GETNAME") == b"$2\r\nme\r\n"
        # Without a version HELLO reports and keeps the current protocol.
        assert b"proto\r\n:2\r\n" in conn.command("HELLO")
    finally:
        conn.close()


def test_hello_errors(raw: RawConnection) -> None:
    assert raw.command("HELLO", "4") == error("NOPROTO unsupported protocol version")
    assert raw.command("HELLO", "1") == error("NOPROTO unsupported protocol version")
    assert raw.command("HELLO", "x") == error(
        "ERR Protocol version is not an integer or out of range"
    )
    assert raw.command("HELLO", "3", "AUTH", "a") == error(
        "ERR Syntax error in HELLO option 'AUTH'"
    )
    assert raw.command("HELLO", "3", "SETNAME") == error(
        "ERR Syntax error in HELLO option 'SETNAME'"
    )
    assert raw.command("HELLO", "3", "AUTH", "bob", "pw") == error(
        "WRONGPASS invalid username-password pair or user is disabled."
    )
    assert raw.command("HELLO", "2", "SETNAME", "a b") == error(
        "ERR Client names cannot contain spaces, newlines or special characters."
    )
    # A failed HELLO changes nothing.
    assert raw.command("PING") == b"+PONG\r\n"


def test_hello_auth_default_user(raw: RawConnection) -> None:
    assert raw.command("HELLO", "2", "AUTH", "default", "anything").startswith(b"*14\r\n")


def test_auth(raw: RawConnection) -> None:
    assert raw.command("AUTH", "pw") == error(
        "ERR AUTH <password> called without any password configured for the default user. "
        "Are you sure your configuration is correct?"
    )
    assert raw.command("AUTH", "default", "pw") == b"+OK\r\n"
    assert raw.command("AUTH", "bob", "pw") == error(
        "WRONGPASS invalid username-password pair or user is disabled."
    )
    assert raw.command("AUTH", "a", "b", "c") == error("ERR syntax error")
    assert raw.command("AUTH") == error("ERR wrong number of arguments for 'auth' command")


# -- CLIENT --------------------------------------------------------------------------------------
def test_client_name_and_id(r: redis.Redis) -> None:
    assert r.client_getname() is None
    assert r.client_setname("worker-1")
    assert r.client_getname() in ("worker-1", b"worker-1")
    assert isinstance(r.client_id(), int)
    info = r.client_info()
    assert info["name"] == "worker-1"
    assert int(info["id"]) == r.client_id()


def test_client_setname_validation(raw: RawConnection) -> None:
    bad = error("ERR Client names cannot contain spaces, newlines or special characters.")
    assert raw.command("CLIENT", "SETNAME", "a b") == bad
    assert raw.command("CLIENT", "SETNAME", "a\nb") == bad
    assert raw.command("CLIENT", "SETNAME", "é") == bad
    assert raw.command("CLIENT", "SETNAME", "ok") == b"+OK\r\n"
    # An empty name clears it.
    assert raw.command("CLIENT", "SETNAME", "") == b"+OK\r\n"
    assert raw.command("CLIENT", "GETNAME") == b"$-1\r\n"


def test_client_setinfo(raw: RawConnection) -> None:
    assert raw.command("CLIENT", "SETINFO", "LIB-NAME", "mylib") == b"+OK\r\n"
    assert raw.command("CLIENT", "SETINFO", "lib-ver", "1.2") == b"+OK\r\n"
    assert raw.command("CLIENT", "SETINFO", "lib-foo", "x") == error(
        "ERR Unrecognized option 'lib-foo'"
    )
    assert raw.command("CLIENT", "SETINFO", "lib-name", "a b") == error(
        "ERR lib-name cannot contain spaces, newlines or special characters."
    )
    assert raw.command("CLIENT", "SETINFO", "lib-name") == error(
        "ERR wrong number of arguments for 'client|setinfo' command"
    )


CLIENT_FIELDS = [
    *[
        "id",
        "addr",
        "laddr",
        "fd",
        "name",
        "age",
        "idle",
        "flags",
        "db",
        "sub",
        "psub",
        "ssub",
        "multi",
        "qbuf",
        "qbuf-free",
    ],
    *[
        "argv-mem",
        "multi-mem",
        "rbs",
        "rbp",
        "obl",
        "oll",
        "omem",
        "tot-mem",
        "events",
        "cmd",
        "user",
        "redir",
        "resp",
    ],
]


def _fields(line: bytes) -> list[str]:
    return [pair.split(b"=", 1)[0].decode() for pair in line.split(b" ")]


def test_client_list_and_info_format(zyst_proc: ServerProcess) -> None:
    a, b = RawConnection(zyst_proc.port), RawConnection(zyst_proc.port)
    try:
        a.command("CLIENT", "SETNAME", "alpha")
        a.command("SELECT", "3")
        reply = a.command("CLIENT", "INFO")
        body = reply.split(b"\r\n", 1)[1][:-2]
        assert body.endswith(b"\n")
        line = body[:-1]
        assert _fields(line) == CLIENT_FIELDS
        assert b" name=alpha " in line and b" db=3 " in line
        assert b" cmd=client|info " in line and line.endswith(b"resp=2")
        listing = a.command("CLIENT", "LIST").split(b"\r\n", 1)[1][:-2]
        lines = listing.split(b"\n")[:-1]
        assert len(lines) >= 2
        assert all(_fields(entry) == CLIENT_FIELDS for entry in lines)
        b_id = int(b.command("CLIENT", "ID")[1:-2])
        only_b = a.command("CLIENT", "LIST", "ID", b_id).split(b"\r\n", 1)[1][:-2]
        assert only_b.startswith(b"id=%d " % b_id) and only_b.count(b"\n") == 1
        assert b"name=alpha" in a.command("CLIENT", "LIST", "TYPE", "normal")
        assert a.command("CLIENT", "LIST", "TYPE", "pubsub") == b"$0\r\n\r\n"
    finally:
        a.close()
        b.close()


def test_client_list_errors(raw: RawConnection) -> None:
    assert raw.command("CLIENT", "LIST", "TYPE", "foo") == error("ERR Unknown client type 'foo'")
    assert raw.command("CLIENT", "LIST", "ID", "x") == error("ERR Invalid client ID")
    assert raw.command("CLIENT", "LIST", "ID", "0") == b"$0\r\n\r\n"
    assert raw.command("CLIENT", "LIST", "foo") == error("ERR syntax error")
    assert raw.command("CLIENT", "LIST", "ID") == error("ERR syntax error")
    assert raw.command("CLIENT", "NOPE") == error("ERR unknown subcommand 'NOPE'. Try CLIENT HELP.")


def test_client_info_resp3_is_verbatim(zyst_proc: ServerProcess) -> None:
    conn = RawConnection(zyst_proc.port)
    try:
        conn.command("HELLO", "3")
        reply = conn.command("CLIENT", "INFO")
        assert (
            reply.startswith(b"=") and b"\r\ntxt:id=" in reply and reply.endswith(b"resp=3\n\r\n")
        )
    finally:
        conn.close()


def test_help_replies(raw: RawConnection) -> None:
    for container, lines in (("CLIENT", 52), ("CONFIG", 11), ("COMMAND", 21), ("MEMORY", 14)):
        reply = raw.command(container, "HELP")
        assert reply.startswith(b"*%d\r\n+%s <subcommand>" % (lines, container.encode()))


# -- FLUSHDB FLUSHALL TIME ---------------------------------------------------------------------
def test_flushdb_and_flushall(r: redis.Redis) -> None:
    r.set("a", "1")
    r.execute_command("SELECT", "1")
    r.set("b", "1")
    assert r.flushdb()
    assert r.dbsize() == 0
    r.execute_command("SELECT", "0")
    assert r.get("a") == b"1"
    r.execute_command("SELECT", "1")
    r.set("b", "1")
    assert r.flushall(asynchronous=True)
    assert r.dbsize() == 0
    r.execute_command("SELECT", "0")
    assert r.dbsize() == 0


def test_flush_errors(raw: RawConnection) -> None:
    assert raw.command("FLUSHDB", "SYNC") == b"+OK\r\n"
    assert raw.command("FLUSHDB", "x") == error("ERR syntax error")
    assert raw.command("FLUSHALL", "ASYNC", "SYNC") == error("ERR syntax error")


def test_flush_counts_as_change(raw: RawConnection) -> None:
    def changes() -> int:
        text = raw.command("INFO", "persistence")
        for line in text.split(b"\r\n"):
            if line.startswith(b"rdb_changes_since_last_save:"):
                return int(line.split(b":")[1])
        raise AssertionError(text)

    before = changes()
    raw.command("FLUSHALL")
    assert changes() > before


def test_time(r: redis.Redis) -> None:
    seconds, micros = r.time()
    assert abs(seconds - time.time()) < 5
    assert 0 <= micros < 1_000_000


# -- INFO ----------------------------------------------------------------------------------------
def test_info_default_sections(r: redis.Redis) -> None:
    info = r.info()
    assert info["redis_version"] == "7.0.15"
    assert info["redis_mode"] == "standalone"
    assert info["role"] == "master"
    assert info["connected_clients"] >= 1
    assert info["used_memory"] > 0 and info["used_memory_human"]
    assert info["aof_enabled"] == 0
    assert info["loading"] == 0
    assert "used_cpu_user" in info and "total_commands_processed" in info


def test_info_keyspace(r: redis.Redis) -> None:
    assert r.info("keyspace") == {}
    r.set("a", "1")
    r.set("b", "1", ex=100)
    db0 = r.info("keyspace")["db0"]
    # avg_ttl is the active expiry cycle's estimate: 0 until a cycle has sampled the key, then
    # at most its TTL (whether the cron ran in between is up to timing, as in Redis).
    assert (db0["keys"], db0["expires"]) == (2, 1)
    assert 0 <= db0["avg_ttl"] <= 100_000


def test_info_raw_format(raw: RawConnection) -> None:
    assert raw.command("INFO", "keyspace") == b"$12\r\n# Keyspace\r\n\r\n"
    assert raw.command("INFO", "nosuch") == b"$0\r\n\r\n"
    text = raw.command("INFO", "KEYSPACE", "cluster")
    assert text == b"$44\r\n# Cluster\r\ncluster_enabled:0\r\n\r\n# Keyspace\r\n\r\n"
    everything = raw.command("INFO", "everything")
    assert b"# Commandstats\r\n" in everything and b"# Server\r\n" in everything
    default = raw.command("INFO")
    assert b"# Commandstats" not in default and b"# Keyspace" in default


def test_info_resp3_is_verbatim(r3: redis.Redis, zyst_proc: ServerProcess) -> None:
    conn = RawConnection(zyst_proc.port)
    try:
        conn.command("HELLO", "3")
        assert conn.command("INFO", "keyspace") == b"=16\r\ntxt:# Keyspace\r\n\r\n"
    finally:
        conn.close()
    assert r3.info("server")["redis_version"] == "7.0.15"


# -- CONFIG --------------------------------------------------------------------------------------
def test_config_get_set(r: redis.Redis, r3: redis.Redis) -> None:
    assert r.config_get("maxmemory") == {"maxmemory": "0"}
    old = r.config_get("hz")["hz"]
    try:
        assert r.config_set("hz", 20)
        assert r3.config_get("hz") == {"hz": "20"}
    finally:
        r.config_set("hz", old)


def test_config_errors(raw: RawConnection) -> None:
    assert raw.command("CONFIG", "SET", "hz", "10", "maxmemory") == error("ERR syntax error")
    assert raw.command("CONFIG", "SET", "nosuch", "1") == error(
        "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'"
    )
    assert raw.command("CONFIG", "GET") == error(
        "ERR wrong number of arguments for 'config|get' command"
    )
    assert raw.command("CONFIG", "REWRITE") == error(
        "ERR The server is running without a config file"
    )
    assert raw.command("CONFIG", "RESETSTAT") == b"+OK\r\n"


def test_config_resetstat(r: redis.Redis) -> None:
    r.ping()
    r.config_resetstat()
    assert r.info("stats")["total_commands_processed"] <= 2


# -- SHUTDOWN ------------------------------------------------------------------------------------
def test_shutdown_abort_and_syntax(raw: RawConnection) -> None:
    assert raw.command("SHUTDOWN", "ABORT") == error("ERR No shutdown in progress.")
    assert raw.command("SHUTDOWN", "ABORT", "NOSAVE") == error("ERR syntax error")
    assert raw.command("SHUTDOWN", "SAVE", "NOSAVE") == error("ERR syntax error")
    assert raw.command("SHUTDOWN", "LATER") == error("ERR syntax error")


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[ServerProcess]:
    with zyst_process(tmp_path / "own", "--appendonly", "no") as server:
        yield server


def test_shutdown_stops_the_server(own_server: ServerProcess) -> None:
    conn = RawConnection(own_server.port)
    conn.send_raw(b"*2\r\n$8\r\nSHUTDOWN\r\n$6\r\nNOSAVE\r\n")
    assert own_server.proc is not None
    assert own_server.proc.wait(timeout=15) == 0
    conn.close()


def test_shutdown_sends_no_reply(own_server: ServerProcess) -> None:
    client = redis.Redis(port=own_server.port, socket_timeout=10)
    # redis-py treats a reply to SHUTDOWN as a failed shutdown; Redis closes without replying.
    client.shutdown(nosave=True)
    assert own_server.proc is not None
    assert own_server.proc.wait(timeout=15) == 0


# -- COMMAND ---------------------------------------------------------------------------------------
def parsed(conn: RawConnection, *args: str) -> Any:
    """A reply parsed by hiredis (redis-py reshapes COMMAND replies, and fails on Zyst's and
    Redis's alike for COMMAND DOCS and COMMAND LIST)."""
    reader = hiredis.Reader()
    reader.feed(conn.command(*args))
    return reader.gets()


def test_command_count_and_list(raw: RawConnection) -> None:
    count = parsed(raw, "COMMAND", "COUNT")
    names = parsed(raw, "COMMAND", "LIST")
    top = [n for n in names if b"|" not in n]
    assert len(top) == count == len(parsed(raw, "COMMAND"))
    for name in (b"get", b"set", b"ping", b"client|list", b"config|get", b"command|docs"):
        assert name in names
    clients = parsed(raw, "COMMAND", "LIST", "FILTERBY", "PATTERN", "client|*")
    assert set(clients) == {n for n in names if n.startswith(b"client|")}
    assert b"flushall" in parsed(raw, "COMMAND", "LIST", "FILTERBY", "ACLCAT", "dangerous")
    assert raw.command("COMMAND", "LIST", "FILTERBY", "NOPE", "x") == error("ERR syntax error")


def test_command_without_subcommand_lists_everything(raw: RawConnection) -> None:
    reply = raw.command("COMMAND")
    assert reply.startswith(b"*") and b"$3\r\nget\r\n" in reply


def test_command_info(raw: RawConnection) -> None:
    get = (
        b"*1\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n"
        b"*3\r\n+@read\r\n+@string\r\n+@fast\r\n*0\r\n*1\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RO\r\n"
        b"+access\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n"
        b"*2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n"
        b"$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n"
    )
    assert raw.command("COMMAND", "INFO", "get") == get
    assert raw.command("COMMAND", "INFO", "nosuch") == b"*1\r\n$-1\r\n"
    assert raw.command("COMMAND", "INFO", "client|id").startswith(
        b"*1\r\n*10\r\n$9\r\nclient|id\r\n:2\r\n"
    )


def test_command_docs(raw: RawConnection) -> None:
    docs = parsed(raw, "COMMAND", "DOCS", "set", "nosuch")
    assert docs[0] == b"set"
    entry = dict(zip(docs[1][::2], docs[1][1::2], strict=True))
    assert entry[b"group"] == b"string" and entry[b"since"] == b"1.0.0"
    args = [dict(zip(a[::2], a[1::2], strict=True)) for a in entry[b"arguments"]]
    assert args[0] == {b"name": b"key", b"type": b"key", b"key_spec_index": 0}
    assert args[1] == {b"name": b"value", b"type": b"string"}
    assert args[2][b"type"] == b"oneof" and args[2][b"flags"] == [b"optional"]
    assert len(docs) == 2


def test_command_getkeys(raw: RawConnection) -> None:
    assert raw.command("COMMAND", "GETKEYS", "SET", "a", "b") == b"*1\r\n$1\r\na\r\n"
    assert (
        raw.command("COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2")
        == b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"
    )
    assert raw.command("COMMAND", "GETKEYS", "nosuch", "a") == error(
        "ERR Invalid command specified"
    )
    assert raw.command("COMMAND", "GETKEYS", "PING", "a") == error(
        "ERR The command has no key arguments"
    )
    assert raw.command("COMMAND", "GETKEYS", "GET", "a", "b") == error(
        "ERR Invalid number of arguments specified for command"
    )


# -- the syntax parser behind COMMAND DOCS ----------------------------------------------------
def _shape(syntax: str) -> list[tuple[str, str, str | None, bool, bool, int]]:
    return [
        (a.name, a.type, a.token, a.optional, a.multiple, len(a.arguments))
        for a in parse_syntax(syntax)
    ]


def test_parse_syntax() -> None:
    assert _shape("key [key ...]") == [("key", "key", None, False, True, 0)]
    assert _shape("key field value [field value ...]") == [
        ("key", "key", None, False, False, 0),
        ("field-value", "block", None, False, True, 2),
    ]
    assert _shape("[NX | XX] [GET]") == [
        ("nx-xx", "oneof", None, True, False, 2),
        ("get", "pure-token", "GET", True, False, 0),
    ]
    assert _shape("[LIMIT offset count] [COUNT count]") == [
        ("limit", "block", "LIMIT", True, False, 2),
        ("count", "integer", "COUNT", True, False, 0),
    ]
    assert _shape("[ID client-id [client-id ...]]") == [
        ("client-id", "integer", "ID", True, True, 0)
    ]
    assert _shape("key <BEFORE | AFTER> pivot") == [
        ("key", "key", None, False, False, 0),
        ("before-after", "oneof", None, False, False, 2),
        ("pivot", "string", None, False, False, 0),
    ]
    hello = parse_syntax("[protover [AUTH username password] [SETNAME clientname]]")
    assert len(hello) == 1 and hello[0].optional and hello[0].type == "block"
    assert [(a.name, a.token) for a in hello[0].arguments] == [
        ("protover", None),
        ("auth", "AUTH"),
        ("clientname", "SETNAME"),
    ]
