"""Strings modified in place through the AOF: a seeded random sequence of APPEND, SETRANGE,
SETBIT and BITFIELD mixed with the other string and key commands, written to a Zyst started
without an AOF, then ``CONFIG SET appendonly yes`` (whose new file is the dataset as commands:
the ``bytearray`` strings frozen as they are), in-place writes on top, and a kill. The server
restarted on the same directory must hold exactly the same keys, types, values and deadlines.
"""

from __future__ import annotations

import random
from pathlib import Path

import redis

from tests.conftest import RawConnection, aof_incr_bytes, zyst_process
from tests.crash.dataset import dump_dataset
from tests.oracle.test_raw_strings_oracle import random_command

IN_PLACE = ("APPEND", "SETRANGE", "SETBIT", "BITFIELD")


def test_a_restart_brings_back_the_changed_strings(tmp_path: Path) -> None:
    rng = random.Random(1515)
    first = [random_command(rng) for _ in range(800)]
    # After the rewrite, in-place writes only: what they leave depends on every string the
    # new file starts from.
    then = [c for c in (random_command(rng) for _ in range(1000)) if c[0] in IN_PLACE][:300]
    # Some of them with a TTL that the in-place writes keep.
    then += [
        ("SET", "k1", "base"),
        ("EXPIRE", "k1", "1000"),
        ("APPEND", "k1", "ttl"),
        ("SETBIT", "k1", "900", "1"),
    ]
    with zyst_process(tmp_path, "--appendonly", "no", "--appendfsync", "always") as server:
        with RawConnection(server.port) as conn:
            conn.pipeline([("RPUSH", "l", "0", "1", "2", "3"), *first])
            assert conn.command("CONFIG", "SET", "appendonly", "yes") == b"+OK\r\n"
            conn.pipeline(then)
        client = redis.Redis(port=server.port, protocol=2)
        before = dump_dataset(client, 1)
        client.close()
        server.kill()
    strings = [key for key, (kind, _, _) in before[0].items() if kind == b"string"]
    assert len(strings) >= 2, before
    assert before[0][b"k1"][2] > 0  # the TTL survived the writes after it
    aof = aof_incr_bytes(tmp_path)
    assert b"SETBIT" in aof and b"APPEND" in aof

    with zyst_process(tmp_path, "--appendonly", "yes", port=server.port) as restarted:
        client = redis.Redis(port=restarted.port, protocol=2)
        assert dump_dataset(client, 1) == before
        client.close()
