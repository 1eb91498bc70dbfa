"""The whole dataset through the AOF: every write command the server declares, run together with
the seeded random sequences of every family over one shared key space, then the server killed
and restarted on the same directory. The restarted server must hold exactly the same keys, types,
values and absolute deadlines (PEXPIRETIME), in every database.

The test also guards its own coverage: it asks the server (COMMAND) for every command flagged
``write`` and fails if one of them is not in :data:`EVERY_WRITE`, so a write command added
later cannot go unreplayed here.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import redis

from tests.conftest import RawConnection, zyst_process
from tests.crash.dataset import dump_dataset
from tests.oracle import (
    test_bitmaps_oracle,
    test_generic_keys_oracle,
    test_hashes_oracle,
    test_lists_oracle,
    test_sets_oracle,
    test_sort_oracle,
    test_strings_oracle,
    test_zsets_oracle,
)
from zyst.persistence import rdb

Cmd = Sequence[bytes | str | int]
DATABASES = 4
FAR = 4_000_000_000_000  # a Unix time in ms far in the future

# At least one call of every write command that does something, in an order where each finds
# what it needs. Several databases, TTLs of every kind, and the random-result commands (SPOP,
# ZMPOP, blocking pops served at once) whose propagation must say what they did.
EVERY_WRITE: list[Cmd] = [
    ("SET", "s", "10"),
    ("SET", "sx", "v", "EX", "1000"),
    ("SET", "spx", "v", "PXAT", FAR),
    ("SETEX", "se", "1000", "v"),
    ("PSETEX", "pse", "900000", "v"),
    ("SETNX", "snx", "v"),
    ("MSET", "m1", "a", "m2", "b"),
    ("MSETNX", "m3", "c", "m4", "d"),
    ("APPEND", "s", "5"),
    ("INCR", "s"),
    ("INCRBY", "s", "7"),
    ("DECR", "s"),
    ("DECRBY", "s", "3"),
    ("INCRBYFLOAT", "f", "1.1"),
    ("INCRBYFLOAT", "f", "3.0e3"),
    ("SETRANGE", "sr", "5", "abc"),
    ("SETBIT", "bits", "100", "1"),
    ("SETBIT", "bits", "7", "1"),
    ("BITFIELD", "bits", "SET", "u8", "#2", "200", "INCRBY", "i5", "3", "-1"),
    ("BITOP", "XOR", "bitop", "bits", "sr"),
    ("PFADD", "hll", "a", "b", "c"),
    ("PFADD", "hll2", *(f"e{n}" for n in range(2000))),
    ("PFCOUNT", "hll"),
    ("PFMERGE", "hll3", "hll", "hll2"),
    ("PFDEBUG", "TODENSE", "hll"),
    ("GETSET", "m1", "A"),
    ("GETDEL", "m2"),
    ("GETEX", "m3", "EX", "500"),
    ("GETEX", "m4", "PXAT", FAR),
    ("GETEX", "sx", "PERSIST"),
    ("RPUSH", "l", "a", "b", "c", "d", "e", "f", "g"),
    ("LPUSH", "l", "z"),
    ("LPUSHX", "l", "y"),
    ("RPUSHX", "l", "h"),
    ("LINSERT", "l", "BEFORE", "c", "bc"),
    ("LSET", "l", "0", "Y"),
    ("LREM", "l", "1", "b"),
    ("LTRIM", "l", "0", "8"),
    ("LPOP", "l"),
    ("RPOP", "l", "2"),
    ("LMOVE", "l", "l2", "LEFT", "RIGHT"),
    ("RPOPLPUSH", "l", "l2"),
    ("LMPOP", "2", "nolist", "l", "RIGHT", "COUNT", "1"),
    ("BLPOP", "nolist", "l", "0"),
    ("BRPOP", "l2", "0"),
    ("RPUSH", "bl", "1", "2", "3", "4", "5", "6"),
    ("BLMOVE", "bl", "l2", "RIGHT", "LEFT", "0"),
    ("BRPOPLPUSH", "bl", "l2", "0"),
    ("BLMPOP", "0", "2", "nolist", "bl", "LEFT", "COUNT", "2"),
    ("HSET", "h", "a", "1", "b", "2", "c", "x"),
    ("HMSET", "h", "d", "4"),
    ("HSETNX", "h", "e", "5"),
    ("HINCRBY", "h", "a", "10"),
    ("HINCRBYFLOAT", "h", "b", "0.25"),
    ("HDEL", "h", "c"),
    ("SADD", "st", "1", "2", "3", "a", "b", "c", "d"),
    ("SADD", "st2", "2", "3", "c", "x"),
    ("SREM", "st", "d"),
    ("SPOP", "st"),
    ("SPOP", "st", "2"),
    ("SMOVE", "st2", "st", "x"),
    ("SINTERSTORE", "sti", "st", "st2"),
    ("SUNIONSTORE", "stu", "st", "st2"),
    ("SDIFFSTORE", "std", "st", "st2"),
    ("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e", "-inf", "lo", "inf", "hi"),
    ("ZADD", "z2", "1.5", "a", "2.5", "x"),
    ("ZINCRBY", "z", "0.5", "a"),
    ("ZREM", "z", "e"),
    ("ZPOPMIN", "z"),
    ("ZPOPMAX", "z"),
    ("ZMPOP", "2", "nozset", "z", "MIN", "COUNT", "1"),
    ("ZADD", "bz", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"),
    ("BZPOPMIN", "nozset", "bz", "0"),
    ("BZPOPMAX", "bz", "0"),
    ("BZMPOP", "0", "1", "bz", "MAX", "COUNT", "2"),
    ("ZREMRANGEBYRANK", "z2", "5", "9"),
    ("ZREMRANGEBYSCORE", "z", "100", "200"),
    ("ZREMRANGEBYLEX", "z2", "[y", "[zz"),
    ("ZUNIONSTORE", "zu", "2", "z", "z2", "WEIGHTS", "2", "3"),
    ("ZINTERSTORE", "zi", "2", "z", "z2", "AGGREGATE", "MAX"),
    ("ZDIFFSTORE", "zd", "2", "z", "z2"),
    ("ZRANGESTORE", "zr", "z", "0", "-1"),
    ("XADD", "x", "1-1", "f", "v"),
    ("XADD", "x", "MAXLEN", "~", "1", "*", "f", "v", "g", "w"),
    ("XADD", "x2", "5-*", "a", "1"),
    ("XADD", "x2", "6-1", "a", "2"),
    ("XDEL", "x", "1-1"),
    ("XTRIM", "x2", "MINID", "6"),
    ("XSETID", "x2", "9-9", "ENTRIESADDED", "5", "MAXDELETEDID", "3-0"),
    ("GEOADD", "geo", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"),
    ("GEOADD", "geo", "XX", "CH", "13.5", "38", "Palermo"),
    ("GEOSEARCHSTORE", "geos", "geo", "FROMMEMBER", "Palermo", "BYRADIUS", "300", "km"),
    ("GEORADIUS", "geo", "15", "37", "200", "km", "STOREDIST", "geor"),
    ("GEORADIUSBYMEMBER", "geo", "Catania", "200", "km", "STORE", "georm"),
    ("SORT", "l2", "ALPHA", "STORE", "sorted"),
    ("SORT", "st", "ALPHA", "DESC", "LIMIT", "0", "3", "STORE", "sorted"),
    ("SORT", "nolist", "STORE", "zr"),
    ("EXPIRE", "l2", "1000"),
    ("PEXPIRE", "h", "900000"),
    ("EXPIREAT", "st", FAR // 1000),
    ("PEXPIREAT", "z", FAR),
    ("PERSIST", "se"),
    ("COPY", "h", "hcopy"),
    ("COPY", "z", "zcopy", "DB", "2"),
    ("RENAME", "hcopy", "hrenamed"),
    ("RENAMENX", "zu", "zu2"),
    ("MOVE", "zi", "1"),
    ("RESTORE", "restored", "0", rdb.payload(b"\x00\x05hello"), "IDLETIME", "10"),
    ("RESTORE", "restored", "100000", rdb.payload(b"\x00\x03new"), "REPLACE"),
    ("RESTORE-ASKING", "restored2", FAR, rdb.payload(b"\x00\x01v"), "ABSTTL", "FREQ", "1"),
    # (Nothing to move: MIGRATE's DEL in the AOF is tests/oracle/test_migrate_oracle.py's.)
    ("MIGRATE", "127.0.0.1", "1", "nokey", "0", "100"),
    ("DEL", "snx"),
    ("UNLINK", "pse"),
    # Streams and their consumer groups (XREADGROUP and the claims propagate as XCLAIM).
    ("XGROUP", "CREATE", "xg", "g", "$", "MKSTREAM"),
    *(("XADD", "xg", f"{n}-1", "f", f"v{n}") for n in range(1, 9)),
    ("XADD", "xg", "*", "f", "now"),
    ("XADD", "xg", "MAXLEN", "~", "100", "*", "f", "trim"),
    ("XREADGROUP", "GROUP", "g", "alice", "COUNT", "3", "STREAMS", "xg", ">"),
    ("XREADGROUP", "GROUP", "g", "bob", "NOACK", "COUNT", "2", "STREAMS", "xg", ">"),
    ("XREADGROUP", "GROUP", "g", "bob", "COUNT", "2", "STREAMS", "xg", ">"),
    ("XACK", "xg", "g", "1-1"),
    ("XDEL", "xg", "2-1"),
    ("XCLAIM", "xg", "g", "carol", "0", "2-1", "3-1", "JUSTID"),
    ("XAUTOCLAIM", "xg", "g", "dave", "0", "0", "COUNT", "1"),
    ("XGROUP", "CREATECONSUMER", "xg", "g", "erin"),
    ("XGROUP", "DELCONSUMER", "xg", "g", "erin"),
    ("XGROUP", "CREATE", "xg", "h", "0", "ENTRIESREAD", "0"),
    ("XGROUP", "SETID", "xg", "h", "3-1"),
    ("XGROUP", "CREATE", "xg", "gone", "0"),
    ("XGROUP", "DESTROY", "xg", "gone"),
    ("XTRIM", "xg", "MINID", "2"),
    ("XADD", "y", "5-5", "a", "b"),
    ("XSETID", "y", "9-9", "ENTRIESADDED", "3", "MAXDELETEDID", "1-1"),
    ("COPY", "x", "xcopy"),
    ("SELECT", "3"),
    ("SET", "three", "3"),
    ("RPUSH", "l3", "x"),
    ("FLUSHDB",),
    ("SET", "after-flush", "1"),
    ("SELECT", "2"),
    ("SET", "in2", "2", "EX", "2000"),
    ("SWAPDB", "2", "3"),
    ("SELECT", "0"),
]

# FLUSHALL empties everything, so it runs first, against what an earlier burst left.
BEFORE_ALL: list[Cmd] = [("SET", "gone", "1"), ("FLUSHALL",)]


def random_sort_family(rng: random.Random) -> Cmd:
    """SORT's random sequence: a SORT (STORE often among its options) or a write that fills its
    sources and weights (the model those writes keep is not needed here)."""
    if rng.random() < 0.5:
        return test_sort_oracle.random_sort(rng)
    return test_sort_oracle.random_mutation(rng, test_sort_oracle.Model())


FAMILIES: list[Callable[[random.Random], Any]] = [
    test_strings_oracle.random_command,
    test_bitmaps_oracle.random_command,
    random_sort_family,
    test_lists_oracle.random_command,
    test_hashes_oracle.random_command,
    test_sets_oracle.random_command,
    test_zsets_oracle.random_command,
    test_generic_keys_oracle.random_command,
]


def random_mix(seed: int, count: int) -> list[Cmd]:
    """``count`` commands drawn from every family's generator in turn; their key spaces overlap,
    so wrong types and collisions between families are common."""
    rng = random.Random(seed)
    return [rng.choice(FAMILIES)(rng) for _ in range(count)]


def declared_writes(c: redis.Redis) -> set[str]:
    """The names of the commands the server flags ``write``."""
    return {name.upper() for name, info in c.command().items() if "write" in info["flags"]}


def test_every_write_command_is_exercised(tmp_path: Path) -> None:
    with (
        zyst_process(tmp_path, "--appendonly", "no") as server,
        redis.Redis(port=server.port) as c,
    ):
        declared = declared_writes(c)
    exercised = {str(cmd[0]).upper() for cmd in [*BEFORE_ALL, *EVERY_WRITE]}
    assert declared - exercised == set(), "write commands missing from EVERY_WRITE"


def test_whole_dataset_replays_from_the_aof(tmp_path: Path) -> None:
    commands = [*BEFORE_ALL, *random_mix(15, 3000), ("SELECT", "0"), *EVERY_WRITE]
    commands += random_mix(16, 1500)
    with zyst_process(tmp_path, "--appendonly", "yes", "--appendfsync", "always") as server:
        with RawConnection(server.port) as raw:
            replies = raw.pipeline([*commands, ("SELECT", "0")])
        # The scripted part must have done what it says (a typo there would test nothing).
        scripted = replies[len(BEFORE_ALL) + 3001 : len(BEFORE_ALL) + 3001 + len(EVERY_WRITE)]
        errors = [(cmd, r) for cmd, r in zip(EVERY_WRITE, scripted, strict=True) if r[:1] == b"-"]
        assert errors == []
        with redis.Redis(port=server.port) as c:
            before = dump_dataset(c, DATABASES)
        server.kill()
    assert sum(len(keys) for keys in before.values()) > 50
    assert {kind for keys in before.values() for kind, _, _ in keys.values()} == {
        b"string",
        b"list",
        b"hash",
        b"set",
        b"zset",
        b"stream",
    }
    with (
        zyst_process(tmp_path, "--appendonly", "yes", port=server.port) as restarted,
        redis.Redis(port=restarted.port) as c,
    ):
        after = dump_dataset(c, DATABASES)
    assert after == before
