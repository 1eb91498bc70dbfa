"""The geo writes in the AOF: the file holds exactly what redis-server 7.0.15 appends for the
same commands (GEOADD as the ZADD it runs, the storing searches as sent, only what changed
something), and a restart on the file brings back every point.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from tests.conftest import RawConnection, aof_incr_bytes, aof_pair, zyst_process
from tests.crash.test_aof_expiry import redis_incr_file
from tests.crash.test_strings_aof import parse_commands

Cmd = tuple[str, ...]

SCRIPT: list[Cmd] = [
    ("GEOADD", "g", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"),
    ("GEOADD", "g", "13.361389", "38.115556", "Palermo"),  # unchanged: not propagated
    ("GEOADD", "g", "ch", "XX", "13", "38", "Palermo", "1", "1", "nothere"),
    ("GEOADD", "g", "NX", "1", "1", "x", "2", "2", "Catania"),
    ("GEOADD", "g", "200", "1", "bad"),  # an error
    ("GEOSEARCHSTORE", "d", "g", "FROMMEMBER", "Palermo", "BYRADIUS", "300", "km", "STOREDIST"),
    ("GEOSEARCHSTORE", "d", "g", "FROMLONLAT", "-50", "0", "BYRADIUS", "1", "km"),  # deletes d
    ("GEOSEARCHSTORE", "d", "g", "FROMLONLAT", "-50", "0", "BYRADIUS", "1", "km"),  # nothing
    ("GEORADIUS", "g", "15", "37", "200", "km", "STORE", "e"),
    ("GEORADIUS", "g", "15", "37", "200", "km"),  # a write command that wrote nothing
    ("GEORADIUSBYMEMBER", "g", "x", "10", "km", "STOREDIST", "f"),
    ("GEORADIUS", "nokey", "15", "37", "200", "km", "STORE", "e"),  # deletes e
    ("GEORADIUS_RO", "g", "15", "37", "200", "km"),
    ("GEOSEARCH", "g", "FROMMEMBER", "x", "BYBOX", "10", "10", "km"),
]


def test_the_aof_holds_what_redis_appends(tmp_path: Path) -> None:
    with aof_pair(tmp_path) as (zyst, real), contextlib.ExitStack() as stack:
        conns = [stack.enter_context(RawConnection(s.port)) for s in (zyst, real)]
        for command in SCRIPT:
            ours, theirs = (conn.command(*command) for conn in conns)
            assert ours == theirs, command
        zyst_file = aof_incr_bytes(zyst.dir)
        redis_file = redis_incr_file(real.dir).read_bytes()
        contents = [conns[0].command("ZRANGE", key, "0", "-1", "WITHSCORES") for key in "gdef"]
    ours = parse_commands(zyst_file)
    assert ours == parse_commands(redis_file)
    assert ours[1][:2] == [b"zadd", b"g"]  # (after the SELECT)
    assert [command[0] for command in ours] == [
        b"SELECT", b"zadd", b"zadd", b"zadd",
        b"GEOSEARCHSTORE", b"GEOSEARCHSTORE", b"GEORADIUS", b"GEORADIUSBYMEMBER", b"GEORADIUS",
    ]  # fmt: skip
    # Replayed, the file gives the same sets.
    with (
        zyst_process(tmp_path / "zyst", "--appendonly", "yes") as again,
        RawConnection(again.port) as conn,
    ):
        for key, before in zip("gdef", contents, strict=True):
            assert conn.command("ZRANGE", key, "0", "-1", "WITHSCORES") == before
    assert contents[0].startswith(b"*6\r\n") and contents[2] == b"*0\r\n"
