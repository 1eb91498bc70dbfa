"""FUNCTION DUMP and FUNCTION RESTORE against redis-server: the payload of one library is the
same bytes (RDB string encoding with LZF, version, CRC-64), each server restores the other's
payloads, and the policies and errors answer as Redis's do; a restore reaches the AOF and comes
back at restart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Oracle, RawConnection, parse_reply, zyst_process
from zyst.persistence import rdb

LIB1 = (
    "#!lua name=lib1\n"
    "local function add1(a) return a + 1 end\n"
    "redis.register_function('f1', function(keys, args) return add1(1) end)\n"
    "redis.register_function('f2', function(keys, args) return add1(2) end)\n"
    "redis.register_function('f3', function(keys, args) return add1(3) end)"
)
LIB1_OTHER = "#!lua name=lib1\nredis.register_function('f6', function() return 7 end)"
LIB2 = (
    "#!lua name=lib2\n"
    "redis.register_function('f4', function() return 5 end)\n"
    "redis.register_function('f3', function() return 4 end)"
)
SHORT = "#!lua name=s\nredis.register_function('s', function() return 1 end)"


@pytest.fixture
def clean(oracle: Oracle) -> Iterator[Oracle]:
    oracle.check("FUNCTION", "FLUSH")
    try:
        yield oracle
    finally:
        oracle.check("FUNCTION", "FLUSH")


def listed(oracle: Oracle, *options: str) -> object:
    """FUNCTION LIST on both servers, the same once put in order: Redis lists libraries and
    functions in its dicts' order, which is unspecified."""

    def normal(raw: bytes) -> object:
        libraries = []
        for library in parse_reply(raw):
            fields = dict(zip(library[::2], library[1::2], strict=True))
            fields[b"functions"] = sorted(str(function) for function in fields[b"functions"])
            libraries.append(sorted(fields.items()))
        return sorted(libraries)

    ours, theirs = (normal(raw) for raw in oracle.run("FUNCTION", "LIST", *options))
    assert ours == theirs
    return ours


def dumps(oracle: Oracle) -> tuple[bytes, bytes]:
    ours, theirs = oracle.run("FUNCTION", "DUMP")
    return parse_reply(ours), parse_reply(theirs)


@pytest.mark.parametrize("code", [LIB1, SHORT, LIB2], ids=["lzf", "short", "two-functions"])
def test_one_library_dumps_to_redis_bytes_and_each_restores_the_other(
    clean: Oracle, code: str
) -> None:
    oracle = clean
    oracle.check("FUNCTION", "LOAD", code)
    ours, theirs = dumps(oracle)
    assert ours == theirs
    assert rdb.payload_body(ours) is not None
    oracle.check("FUNCTION", "FLUSH")
    # Each server takes the other's payload.
    assert oracle.zyst.command("FUNCTION", "RESTORE", theirs) == b"+OK\r\n"
    assert oracle.redis.command("FUNCTION", "RESTORE", ours) == b"+OK\r\n"
    listed(oracle, "WITHCODE")
    oracle.check("FCALL", parse_reply(oracle.zyst.command("FUNCTION", "LIST"))[0][5][0][1], "0")


def test_policies_and_collisions_answer_as_redis(clean: Oracle) -> None:
    oracle = clean
    oracle.check("FUNCTION", "LOAD", LIB1)
    payload, theirs = dumps(oracle)
    assert payload == theirs
    oracle.check("FUNCTION", "FLUSH")
    oracle.check("FUNCTION", "LOAD", LIB1_OTHER)
    oracle.check("FUNCTION", "LOAD", LIB2)
    for command in (
        ("FUNCTION", "RESTORE", payload),  # lib1 exists (APPEND by default)
        ("FUNCTION", "RESTORE", payload, "append"),
        ("FUNCTION", "RESTORE", payload, "REPLACE"),  # f3 is lib2's
        ("FCALL", "f3", "0"),
        ("FCALL", "f6", "0"),
        ("FUNCTION", "DELETE", "lib2"),
        ("FUNCTION", "RESTORE", payload, "REPLACE"),  # now lib1 is replaced
        ("FCALL", "f1", "0"),
        ("FCALL", "f6", "0"),
        ("FUNCTION", "LOAD", LIB2.replace("'f3'", "'f9'")),
        ("FUNCTION", "RESTORE", payload, "FLUSH"),
        ("FUNCTION", "RESTORE", payload, "nosuch"),
        ("FUNCTION", "RESTORE", payload, "FLUSH", "extra"),
        ("FUNCTION", "RESTORE", "bad_payload"),
        ("FUNCTION", "RESTORE", payload[:-1] + bytes([payload[-1] ^ 1])),
        ("FUNCTION", "RESTORE", rdb.payload(b"\x00\x03abc")),  # a string, not a function
        ("FUNCTION", "RESTORE", rdb.payload(b"\xf5\x10abc")),  # cut short
        ("FUNCTION", "RESTORE", rdb.payload(b"\xf5\x03abc")),  # not a library
        ("FUNCTION", "RESTORE", rdb.payload(b"")),  # nothing: OK
    ):
        oracle.check(*command)
    listed(oracle, "WITHCODE")


def test_a_payload_of_several_libraries_restores_whole_or_not_at_all(clean: Oracle) -> None:
    oracle = clean
    oracle.check("FUNCTION", "LOAD", LIB1)
    oracle.check("FUNCTION", "LOAD", LIB2.replace("'f3'", "'f9'"))
    ours, theirs = dumps(oracle)
    oracle.check("FUNCTION", "FLUSH")
    for payload in (ours, theirs):
        oracle.check("FUNCTION", "LOAD", SHORT.replace("'s'", "'f9'"))  # collides with lib2
        oracle.check("FUNCTION", "RESTORE", payload)
        listed(oracle)
        oracle.check("FUNCTION", "RESTORE", payload, "FLUSH")
        listed(oracle, "WITHCODE")
        oracle.check("FUNCTION", "FLUSH")


def test_a_restore_is_kept_across_a_restart(tmp_path: Path) -> None:
    with zyst_process(tmp_path, "--appendonly", "yes") as server, RawConnection(server.port) as c:
        assert c.command("FUNCTION", "LOAD", LIB1) == b"$4\r\nlib1\r\n"
        payload = parse_reply(c.command("FUNCTION", "DUMP"))
        c.command("FUNCTION", "FLUSH")
        assert c.command("FUNCTION", "RESTORE", payload) == b"+OK\r\n"
    again = zyst_process(tmp_path, "--appendonly", "yes", port=server.port)
    with again, RawConnection(again.port) as c:
        assert c.command("FCALL", "f2", "0") == b":3\r\n"
        assert parse_reply(c.command("FUNCTION", "DUMP")) == payload
