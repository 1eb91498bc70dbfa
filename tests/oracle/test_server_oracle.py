"""Connection, server and introspection commands sent to Zyst and to real Redis 7.

Deterministic replies and every error are compared byte for byte; replies that carry ids, times
or memory figures (HELLO, INFO, CLIENT LIST/INFO/ID, TIME) are compared by shape. CLIENT SETINFO
is left out: Zyst answers it as Redis 7.2 does, the oracle is 7.0.
"""

from __future__ import annotations

from typing import Any

import hiredis
import pytest

from tests.conftest import Oracle


def parse(raw: bytes) -> Any:
    reader = hiredis.Reader()
    reader.feed(raw)
    return reader.gets()


ERRORS = [
    ("PING", "a", "b"),
    ("ECHO",),
    ("SELECT", "16"),
    ("SELECT", "-1"),
    ("SELECT", "x"),
    ("SELECT", "1", "2"),
    ("AUTH", "pw"),
    ("AUTH", "nobody", "pw"),
    ("AUTH", "a", "b", "c"),
    ("AUTH",),
    ("HELLO", "4"),
    ("HELLO", "1"),
    ("HELLO", "x"),
    ("HELLO", "3", "AUTH", "a"),
    ("HELLO", "3", "setname"),
    ("HELLO", "3", "foo"),
    ("HELLO", "3", "AUTH", "nobody", "pw"),
    ("HELLO", "2", "SETNAME", "a b"),
    ("CLIENT",),
    ("CLIENT", "NOPE"),
    ("CLIENT", "SETNAME", "a b"),
    ("CLIENT", "SETNAME", "a\nb"),
    ("CLIENT", "SETNAME"),
    ("CLIENT", "GETNAME", "x"),
    ("CLIENT", "ID", "x"),
    ("CLIENT", "INFO", "x"),
    ("CLIENT", "LIST", "TYPE", "foo"),
    ("CLIENT", "LIST", "ID", "x"),
    ("CLIENT", "LIST", "ID"),
    ("CLIENT", "LIST", "foo"),
    ("FLUSHDB", "x"),
    ("FLUSHDB", "ASYNC", "SYNC"),
    ("FLUSHALL", "x"),
    ("TIME", "x"),
    ("SHUTDOWN", "ABORT"),
    ("SHUTDOWN", "ABORT", "NOSAVE"),
    ("SHUTDOWN", "SAVE", "NOSAVE"),
    ("SHUTDOWN", "LATER"),
    ("CONFIG",),
    ("CONFIG", "NOPE"),
    ("CONFIG", "GET"),
    ("CONFIG", "SET", "hz"),
    ("CONFIG", "SET", "hz", "10", "maxmemory"),
    ("CONFIG", "SET", "nosuch", "1"),
    ("CONFIG", "REWRITE"),
    ("CONFIG", "REWRITE", "x"),
    ("CONFIG", "RESETSTAT", "x"),
    ("COMMAND", "NOPE"),
    ("COMMAND", "COUNT", "x"),
    ("COMMAND", "GETKEYS"),
    ("COMMAND", "GETKEYS", "nosuch", "a"),
    ("COMMAND", "GETKEYS", "PING", "a"),
    ("COMMAND", "GETKEYS", "GET", "a", "b"),
    ("COMMAND", "LIST", "FILTERBY"),
]


@pytest.mark.parametrize("args", ERRORS, ids=lambda a: " ".join(a))
def test_errors_match(oracle: Oracle, args: tuple[str, ...]) -> None:
    reply = oracle.check(*args)
    assert reply.startswith(b"-")


def test_simple_replies_match(oracle: Oracle) -> None:
    oracle.check_all(
        ("PING",),
        ("PING", "hello"),
        ("ECHO", "x y"),
        ("SELECT", "2"),
        ("SELECT", "0"),
        ("AUTH", "default", "whatever"),
        ("CLIENT", "GETNAME"),
        ("CLIENT", "SETNAME", "oracle-test"),
        ("CLIENT", "GETNAME"),
        ("CLIENT", "SETNAME", ""),
        ("CLIENT", "GETNAME"),
        ("CLIENT", "LIST", "TYPE", "pubsub"),
        ("CLIENT", "LIST", "ID", "999999"),
        ("CLIENT", "LIST", "ID", "0", "-1"),
        ("FLUSHDB",),
        ("FLUSHDB", "ASYNC"),
        ("FLUSHALL", "SYNC"),
        ("CONFIG", "GET", "maxmemory"),
        ("CONFIG", "GET", "no-such-setting"),
        ("CONFIG", "RESETSTAT"),
        ("INFO", "keyspace"),
        ("INFO", "nosuch"),
        ("INFO", "cluster", "keyspace"),
        ("INFO", "keyspace", "CLUSTER"),
        ("INFO", "nosuch", "other"),
        ("COMMAND", "INFO", "nosuch"),
        ("COMMAND", "DOCS", "nosuch"),
        ("COMMAND", "GETKEYS", "SET", "k", "v"),
        ("COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"),
        ("COMMAND", "GETKEYS", "DEL", "a", "b", "c"),
        ("QUIT",),
    )


def test_config_get_several_matches_as_a_map(oracle: Oracle) -> None:
    # Redis answers several parameters in its dict's order: compare the pairs, not the order.
    ours, theirs = (
        parse(raw) for raw in oracle.run("CONFIG", "GET", "maxmemory-policy", "databases")
    )
    assert dict(zip(ours[::2], ours[1::2], strict=True)) == dict(
        zip(theirs[::2], theirs[1::2], strict=True)
    )


def _help_entries(lines: list[bytes]) -> dict[bytes, list[bytes]]:
    """A HELP reply's entries: each unindented line (``GETNAME``, ``KILL <ip:port>``) with the
    indented lines explaining it; the title line is left out."""
    entries: dict[bytes, list[bytes]] = {}
    current: list[bytes] = []
    for line in lines[1:]:
        if not line.startswith(b" "):
            current = entries.setdefault(line, [])
        else:
            current.append(line)
    return entries


def _subcommand_of(entry: bytes) -> bytes:
    return entry.split(b" ", 1)[0].lower()


# Zyst has CLIENT SETINFO as Redis 7.2 does: its entry, in 7.2's words (7.2's networking.c).
_SETINFO_HELP = {
    b"SETINFO <option> <value>": [
        b"    Set client meta attr. Options are:",
        b"    * LIB-NAME: the client lib name.",
        b"    * LIB-VER: the client lib version.",
    ]
}


@pytest.mark.parametrize("container", ["CLIENT", "CONFIG", "COMMAND", "MEMORY"])
def test_help_lists_what_exists_in_redis_words(oracle: Oracle, container: str) -> None:
    """Each HELP names exactly the subcommands Zyst has (COMMAND INFO's list, plus COMMAND
    with none), each explained in Redis's words, in Redis's order."""
    ours, theirs = (parse(raw) for raw in oracle.run(container, "HELP"))
    assert ours[0] == theirs[0]
    our_entries, their_entries = _help_entries(ours), _help_entries(theirs)
    their_entries.update(_SETINFO_HELP)
    for entry, lines in our_entries.items():
        assert their_entries.get(entry) == lines, entry
    # Redis's order, SETINFO where 7.2 puts it (after SETNAME).
    order = [e for e in their_entries if e in our_entries and e not in _SETINFO_HELP]
    if b"SETINFO <option> <value>" in our_entries:
        order.insert(order.index(b"SETNAME <name>") + 1, b"SETINFO <option> <value>")
    assert list(our_entries) == order
    info = parse(oracle.zyst.command("COMMAND", "INFO", container))[0]
    subcommands = {sub[0].split(b"|", 1)[1] for sub in info[9]}
    if container == "COMMAND":
        subcommands.add(b"(no")  # "(no subcommand)"
    assert {_subcommand_of(entry) for entry in our_entries} == subcommands


def test_info_keyspace_without_ttls_matches(oracle: Oracle) -> None:
    oracle.check_all(("SET", "a", "1"), ("SELECT", "3"), ("SET", "b", "1"), ("SELECT", "0"))
    oracle.check("INFO", "keyspace")
    oracle.check("FLUSHALL")


# COMMAND INFO of commands whose metadata Zyst declares in full (no request/response tips).
DECLARED = [
    "echo",
    "select",
    "quit",
    "hello",
    "auth",
    "shutdown",
    "client|id",
    "client|getname",
    "client|setname",
    "client|help",
    "config|get",
    "config|rewrite",
    "config|resetstat",
    "config|help",
    "command|count",
    "command|help",
    "command|getkeys",
    "psync",
    "sync",
    "replconf",
    "role",
    "replicaof",
    "slaveof",
]


@pytest.mark.parametrize("name", DECLARED)
def test_command_info_matches(oracle: Oracle, name: str) -> None:
    oracle.check("COMMAND", "INFO", name)


def test_command_info_resp3_matches(oracle: Oracle) -> None:
    ours, theirs = oracle.run("HELLO", "3")
    assert parse(ours).keys() == parse(theirs).keys()
    oracle.check("COMMAND", "INFO", "echo", "nosuch", "select")
    oracle.check("INFO", "keyspace")


def _without_tips(entry: list[Any]) -> list[Any]:
    return entry[:7] + entry[8:9]


def test_command_info_with_tips_matches_otherwise(oracle: Oracle) -> None:
    # Zyst has no request/response policy tips (they only matter to cluster proxies).
    for name in (
        "ping",
        "time",
        "flushdb",
        "flushall",
        "info",
        "client|info",
        "client|list",
        "config|set",
    ):
        ours, theirs = (parse(raw)[0] for raw in oracle.run("COMMAND", "INFO", name))
        assert _without_tips(ours) == _without_tips(theirs), name


def test_command_docs_shape(oracle: Oracle) -> None:
    for name in ("echo", "select", "time", "hello", "client|setname", "config|get"):
        ours, theirs = (parse(raw) for raw in oracle.run("COMMAND", "DOCS", name))
        ours_map = dict(zip(ours[1][::2], ours[1][1::2], strict=True))
        theirs_map = dict(zip(theirs[1][::2], theirs[1][1::2], strict=True))
        for field in (b"summary", b"since", b"group", b"complexity"):
            assert ours_map[field] == theirs_map[field], (name, field)
        assert (b"arguments" in ours_map) == (b"arguments" in theirs_map), name


def test_hello_shape(oracle: Oracle) -> None:
    for version in ("2", "3"):
        ours, theirs = (parse(raw) for raw in oracle.run("HELLO", version))
        if isinstance(ours, dict):
            ours, theirs = list(ours.items()), list(theirs.items())
        else:
            ours, theirs = (
                list(zip(ours[::2], ours[1::2], strict=True)),
                list(zip(theirs[::2], theirs[1::2], strict=True)),
            )
        assert [k for k, _ in ours] == [k for k, _ in theirs]
        assert [v for k, v in ours if k != b"id"] == [v for k, v in theirs if k != b"id"]


def _fields(line: bytes) -> list[bytes]:
    return [pair.split(b"=", 1)[0] for pair in line.split(b" ")]


def test_client_info_and_list_shape(oracle: Oracle) -> None:
    oracle.check("CLIENT", "SETNAME", "shape")
    ours, theirs = (parse(raw) for raw in oracle.run("CLIENT", "INFO"))
    assert ours.endswith(b"\n") and theirs.endswith(b"\n")
    assert _fields(ours.rstrip(b"\n")) == _fields(theirs.rstrip(b"\n"))
    assert b" name=shape " in ours and b" cmd=client|info " in ours
    ours, theirs = (parse(raw) for raw in oracle.run("CLIENT", "LIST"))
    for line in ours.rstrip(b"\n").split(b"\n"):
        assert _fields(line) == _fields(theirs.split(b"\n")[0])
    ours, theirs = oracle.run("CLIENT", "ID")
    assert ours[:1] == theirs[:1] == b":"


def test_time_shape(oracle: Oracle) -> None:
    ours, theirs = (parse(raw) for raw in oracle.run("TIME"))
    assert len(ours) == len(theirs) == 2
    assert abs(int(ours[0]) - int(theirs[0])) <= 2
    assert all(part.isdigit() for part in ours)


def _sections(text: bytes) -> dict[bytes, list[bytes]]:
    sections: dict[bytes, list[bytes]] = {}
    current = b""
    for line in text.split(b"\r\n"):
        if line.startswith(b"# "):
            current = line[2:]
            sections[current] = []
        elif line:
            sections[current].append(line.split(b":", 1)[0])
    return sections


@pytest.mark.parametrize("args", [(), ("default",), ("all",), ("everything",), ("server", "stats")])
def test_info_shape(oracle: Oracle, args: tuple[str, ...]) -> None:
    ours, theirs = (_sections(parse(raw)) for raw in oracle.run("INFO", *args))
    assert list(ours) == list(theirs)
    for section, fields in ours.items():
        if section in (b"Commandstats", b"Errorstats", b"Latencystats"):
            continue  # per-command counters: Zyst keeps none yet
        missing = set(fields) - set(theirs[section])
        assert not missing, (section, missing)
    important = {
        b"Server": [
            b"redis_version",
            b"redis_mode",
            b"os",
            b"arch_bits",
            b"process_id",
            b"tcp_port",
            b"uptime_in_seconds",
            b"uptime_in_days",
            b"hz",
            b"executable",
            b"config_file",
        ],
        b"Clients": [b"connected_clients", b"blocked_clients", b"maxclients"],
        b"Memory": [
            b"used_memory",
            b"used_memory_human",
            b"used_memory_rss",
            b"maxmemory",
            b"maxmemory_policy",
        ],
        b"Persistence": [
            b"loading",
            b"aof_enabled",
            b"aof_rewrite_in_progress",
            b"aof_last_write_status",
            b"rdb_changes_since_last_save",
        ],
        b"Stats": [
            b"total_connections_received",
            b"total_commands_processed",
            b"instantaneous_ops_per_sec",
            b"rejected_connections",
            b"expired_keys",
            b"keyspace_hits",
            b"keyspace_misses",
        ],
        b"Replication": [b"role", b"connected_slaves", b"master_replid", b"master_repl_offset"],
        b"CPU": [b"used_cpu_sys", b"used_cpu_user"],
    }
    for section, fields in important.items():
        if section in ours:
            assert set(fields) <= set(ours[section]), section


def test_info_keyspace_with_ttls_shape(oracle: Oracle) -> None:
    oracle.check_all(("SET", "a", "1"), ("SET", "b", "1", "EX", "100"))
    ours, theirs = (parse(raw) for raw in oracle.run("INFO", "keyspace"))
    assert (
        ours.split(b"avg_ttl=")[0]
        == theirs.split(b"avg_ttl=")[0]
        == b"# Keyspace\r\ndb0:keys=2,expires=1,"
    )
