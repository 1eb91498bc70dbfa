"""Streams through the AOF: what a server wrote, a restarted server on the same directory reads
back to the same entries and counters.

Three ways into the file: the commands as they are propagated (XADD with ``*`` or ``ms-*`` as
the ID it chose, a ``~`` trim as ``=`` and its exact result), the command-form base of a
rewrite (Redis's ``rewriteStreamObject``: XADDs, XSETID, an empty stream as XADD MAXLEN 0), and
an RDB preamble (type 19 objects).
"""

from __future__ import annotations

import random
from pathlib import Path

from tests.conftest import RawConnection, parse_reply, wait_until, zyst_process
from tests.oracle.test_streams_oracle import KEYS, random_command

Command = tuple[bytes | str | int, ...]


def dump(port: int) -> list[object]:
    """Each stream's entries and counters (not its node layout, which a rewrite makes anew,
    as Redis's does)."""
    rows: list[object] = []
    with RawConnection(port) as c:
        for key in [*KEYS, "auto", "emptied"]:
            reply = parse_reply(c.command("XINFO", "STREAM", key, "FULL", "COUNT", "0"))
            if isinstance(reply, Exception):
                rows.append((key, str(reply)))
                continue
            info = dict(zip(reply[0::2], reply[1::2], strict=True))
            for layout in (b"radix-tree-keys", b"radix-tree-nodes"):
                info.pop(layout)
            rows.append((key, info))
    return rows


def commands(seed: int) -> list[Command]:
    rng = random.Random(seed)
    state: dict[str, int] = {}
    out: list[Command] = [random_command(rng, state) for _ in range(400)]
    out += [
        ("XADD", "auto", "*", "f", "v"),
        ("XADD", "auto", "MAXLEN", "~", "1", "*", "f", "v"),
        *[("XADD", "auto", "MINID", "~", "1", "*", "n", str(n)) for n in range(150)],
        ("XADD", "auto", "MAXLEN", "~", "20", "LIMIT", "100", "*", "f", "v"),
        ("XTRIM", "auto", "MAXLEN", "~", "10"),
        ("XADD", "emptied", "1-1", "f", "v"),
        ("XDEL", "emptied", "1-1"),
        ("XSETID", "emptied", "5-5", "ENTRIESADDED", "9", "MAXDELETEDID", "3-3"),
    ]
    return out


def test_stream_writes_replay_from_the_aof(tmp_path: Path) -> None:
    with zyst_process(tmp_path, "--appendonly", "yes", "--appendfsync", "always") as server:
        with RawConnection(server.port) as c:
            c.pipeline(commands(20))
        before = dump(server.port)
        server.kill()
    aof = b"".join(p.read_bytes() for p in tmp_path.rglob("*.aof"))
    # No "*" nor "ms-*" ID, and no "~" trim, went as sent.
    assert b"$1\r\n*\r\n" not in aof and b"-*\r\n" not in aof
    assert b"$1\r\n~\r\n" not in aof
    with zyst_process(tmp_path, "--appendonly", "yes", port=server.port) as restarted:
        assert dump(restarted.port) == before


def _rewrite(port: int) -> None:
    with RawConnection(port) as c:
        assert c.command("BGREWRITEAOF").startswith(b"+")

        def done() -> bool:
            info = c.command("INFO", "persistence").decode()
            return "aof_rewrite_in_progress:0" in info and "aof_rewrite_scheduled:0" in info

        wait_until(done, "the AOF rewrite")


def test_rewritten_aof_rebuilds_streams(tmp_path: Path) -> None:
    for preamble in ("no", "yes"):
        workdir = tmp_path / preamble
        workdir.mkdir()
        args = ("--appendonly", "yes", "--aof-use-rdb-preamble", preamble)
        with zyst_process(workdir, *args) as server:
            with RawConnection(server.port) as c:
                c.pipeline(commands(21))
            _rewrite(server.port)
            before = dump(server.port)
            server.stop()
        base = b"".join(p.read_bytes() for p in workdir.rglob("*.base.*"))
        if preamble == "no":
            assert b"XSETID" in base and b"MAXLEN\r\n$1\r\n0\r\n$3\r\n0-1" in base
        else:
            assert base.startswith(b"REDIS")
        with zyst_process(workdir, *args, port=server.port) as restarted:
            assert dump(restarted.port) == before
