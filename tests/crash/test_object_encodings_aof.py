"""OBJECT ENCODING after a restart on the AOF: replaying the file makes the same history, so
Zyst reports after the restart what redis-server reports after its own, for the writes whose
history decides the encoding (zyst.encodings): the same as before the restart, except where the
AOF holds another command than the one sent (INCRBYFLOAT is written as SET, so its key is an
integer after a restart, in both).
"""

from __future__ import annotations

from pathlib import Path

import redis

from tests.conftest import redis_process, zyst_process

# Small thresholds, the same for both servers and for both of their runs (CONFIG SET is not
# in the AOF).
THRESHOLDS = (
    *("--set-max-intset-entries", "4"),
    *("--hash-max-listpack-entries", "3", "--hash-max-listpack-value", "5"),
    *("--zset-max-listpack-entries", "3", "--zset-max-listpack-value", "5"),
)
AOF = ("--appendonly", "yes", "--appendfsync", "always")

HISTORY: list[tuple[str, ...]] = [
    ("SET", "int", "12"),
    ("SET", "emb", "abc"),
    ("APPEND", "emb", "d"),  # raw
    ("SETRANGE", "range", "0", "7"),  # raw, one byte
    ("INCRBYFLOAT", "float", "3"),  # embstr though it spells an integer
    ("SET", "copied", "5"),
    ("COPY", "copied", "copy"),
    ("SADD", "set", "1", "2", "a"),
    ("SREM", "set", "a"),  # a hash table of integers
    ("SADD", "set2", "1", "2", "3", "4", "5"),
    ("SREM", "set2", "5"),
    ("SMOVE", "set2", "set3", "4"),
    ("HSET", "hash", "f", "123456"),
    ("HSET", "hash", "f", "1"),  # a hash table that would fit a listpack
    ("HSET", "hash2", "a", "1", "b", "2", "c", "3", "d", "4"),
    ("HDEL", "hash2", "d"),
    ("ZADD", "zset", "1", "a", "2", "b", "3", "c", "4", "d"),
    ("ZREM", "zset", "d"),
    ("ZADD", "zset2", "1", "abcdefg", "2", "b"),
    ("ZPOPMIN", "zset2"),
    ("RENAME", "zset2", "renamed"),
    ("COPY", "hash", "hashcopy"),
    ("MOVE", "set", "1"),
]


def encodings(port: int) -> dict[tuple[int, bytes], tuple[bytes, int]]:
    """(db, key) → (OBJECT ENCODING, OBJECT REFCOUNT) of every key in databases 0 and 1."""
    out: dict[tuple[int, bytes], tuple[bytes, int]] = {}
    for db in (0, 1):
        c = redis.Redis(port=port, db=db, socket_timeout=10)
        for key in c.keys("*"):
            encoding = c.execute_command("OBJECT", "ENCODING", key)
            out[(db, key)] = (encoding, c.execute_command("OBJECT", "REFCOUNT", key))
        c.close()
    return out


def test_encodings_survive_a_restart(tmp_path: Path) -> None:
    before = {}
    after = {}
    for name, make, extra in (
        ("zyst", zyst_process, ()),
        ("redis", redis_process, ("--aof-use-rdb-preamble", "no")),
    ):
        workdir = tmp_path / name
        with make(workdir, *AOF, *THRESHOLDS, *extra) as server:
            c = redis.Redis(port=server.port, socket_timeout=10)
            for command in HISTORY:
                c.execute_command(*command)
            c.close()
            before[name] = encodings(server.port)
        with make(workdir, *AOF, *THRESHOLDS, *extra) as server:
            after[name] = encodings(server.port)
    assert before["zyst"] == before["redis"]
    assert after["zyst"] == after["redis"]
    float_key = (0, b"float")
    assert before["zyst"].pop(float_key) == (b"embstr", 1)
    assert after["zyst"].pop(float_key) == (b"int", 2**31 - 1)
    assert after["zyst"] == before["zyst"]
    assert before["zyst"][(0, b"hash")] == (b"hashtable", 1)  # the history did show
