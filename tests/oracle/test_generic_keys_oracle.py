"""UNLINK, RENAME, RENAMENX, MOVE, COPY, SWAPDB, TOUCH, RANDOMKEY, EXPIRETIME and PEXPIRETIME
against real Redis: the same commands go to Zyst and to redis-server and the raw reply bytes
must be identical, error paths included, in RESP2 and RESP3.

Deadlines are set with absolute times (PEXPIREAT), so the TTL a command carries from one key to
another is compared exactly through PEXPIRETIME. RANDOMKEY's choice is random: each server's
answer is checked against its own keys. A seeded random sequence over a few keys, types and
databases is compared step by step; SMEMBERS, whose order Redis leaves unspecified, is compared
as sorted members.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Sequence

import pytest

from tests.conftest import Oracle, RawConnection, ServerProcess, parse_reply

Arg = bytes | str | int
Cmd = tuple[Arg, ...]

NULL2 = b"$-1\r\n"
NULL3 = b"_\r\n"
# Absolute deadlines far in the future (Unix ms), so nothing expires while a test runs.
FAR = 4_000_000_000_000


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@pytest.fixture
def second(zyst_proc: ServerProcess, redis_server: ServerProcess) -> Iterator[Oracle]:
    """Another connection to each server (the ``oracle`` fixture has flushed them)."""
    other = Oracle(zyst_proc.port, redis_server.port)
    yield other
    other.close()


def seed(o: Oracle) -> None:
    """One key of each type, two with a deadline, in database 0."""
    o.check_all(
        ("SET", "str", "v"),
        ("RPUSH", "list", "a", "b", "c"),
        ("HSET", "hash", "f", "1", "g", "2"),
        ("SADD", "set", "x"),
        ("PEXPIREAT", "str", FAR + 123),
        ("PEXPIREAT", "hash", FAR + 999),
    )


def dump_db(o: Oracle, keys: Sequence[Arg]) -> None:
    """Type, value and deadline of each of ``keys`` in the selected database, compared."""
    for key in keys:
        kind = o.check("TYPE", key)
        o.check("PEXPIRETIME", key)
        if kind == b"+string\r\n":
            o.check("GET", key)
        elif kind == b"+list\r\n":
            o.check("LRANGE", key, 0, -1)
        elif kind == b"+hash\r\n":
            o.check("HGETALL", key)
        elif kind == b"+set\r\n":
            check_unordered(o, "SMEMBERS", key)


def check_unordered(o: Oracle, *args: Arg) -> None:
    """The same reply, a set's members in any order (their count still compared exactly)."""
    ours, theirs = o.run(*args)
    if ours[:1] in (b"*", b"~") and ours[: ours.index(b"\r\n")] == theirs[: theirs.index(b"\r\n")]:
        ours, theirs = sorted(parse_reply(ours)), sorted(parse_reply(theirs))
    assert ours == theirs, f"{args!r}: zyst {ours!r} != redis {theirs!r}"


# -- arity --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ("UNLINK",),
        ("RENAME", "a"),
        ("RENAME", "a", "b", "c"),
        ("RENAMENX", "a"),
        ("RENAMENX", "a", "b", "c"),
        ("MOVE", "a"),
        ("MOVE", "a", "1", "2"),
        ("COPY", "a"),
        ("SWAPDB", "0"),
        ("SWAPDB", "0", "1", "2"),
        ("TOUCH",),
        ("RANDOMKEY", "x"),
        ("EXPIRETIME",),
        ("EXPIRETIME", "a", "b"),
        ("PEXPIRETIME",),
        ("PEXPIRETIME", "a", "b"),
    ],
    ids=lambda args: " ".join(args),
)
def test_wrong_arity(oracle: Oracle, args: Cmd) -> None:
    oracle.check(*args)


# -- UNLINK, TOUCH ------------------------------------------------------------------------------
def test_unlink(o: Oracle) -> None:
    seed(o)
    o.check_all(
        ("UNLINK", "nosuch"),
        ("UNLINK", "str", "str", "nosuch"),
        ("EXISTS", "str"),
        ("unlink", "list", "hash", "set"),
        ("DBSIZE",),
    )


def test_touch(o: Oracle) -> None:
    seed(o)
    o.check_all(
        ("TOUCH", "nosuch"),
        ("TOUCH", "str"),
        ("TOUCH", "str", "str", "list", "nosuch", "hash", "set"),
        ("touch", ""),
        ("SET", "", "empty name"),
        ("TOUCH", ""),
    )


# -- EXPIRETIME, PEXPIRETIME --------------------------------------------------------------------
def test_expiretime(o: Oracle) -> None:
    seed(o)
    base = FAR // 1000 * 1000
    o.check_all(
        ("EXPIRETIME", "nosuch"),
        ("PEXPIRETIME", "nosuch"),
        ("EXPIRETIME", "list"),
        ("PEXPIRETIME", "list"),
        ("EXPIRETIME", "str"),
        ("PEXPIRETIME", "str"),
        ("EXPIREAT", "list", base // 1000),
        ("EXPIRETIME", "list"),
        ("PEXPIRETIME", "list"),
        # Redis rounds to the nearest second: 499 ms down, 500 ms up.
        ("PEXPIREAT", "list", base + 499),
        ("EXPIRETIME", "list"),
        ("PEXPIREAT", "list", base + 500),
        ("EXPIRETIME", "list"),
        ("PEXPIREAT", "list", base + 999),
        ("EXPIRETIME", "list"),
        ("PERSIST", "list"),
        ("EXPIRETIME", "list"),
        ("PEXPIRETIME", "list"),
    )


def test_expiretime_of_a_relative_ttl(oracle: Oracle) -> None:
    """EXPIRE's deadline is now plus the seconds; each server's is checked against its clock."""
    for conn in (oracle.zyst, oracle.redis):
        before = now_ms()
        assert conn.command("SET", "k", "v", "EX", 100) == b"+OK\r\n"
        after = now_ms()
        deadline = int(conn.command("PEXPIRETIME", "k")[1:-2])
        assert before + 100_000 <= deadline <= after + 100_000
        seconds = int(conn.command("EXPIRETIME", "k")[1:-2])
        assert seconds == (deadline + 500) // 1000


# -- RENAME, RENAMENX ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["RENAME", "RENAMENX"])
def test_rename_errors_and_same_name(o: Oracle, name: str) -> None:
    seed(o)
    o.check_all(
        (name, "nosuch", "other"),
        (name, "nosuch", "nosuch"),
        (name, "str", "str"),
        ("PEXPIRETIME", "str"),
        (name, "list", "list"),
        ("LRANGE", "list", 0, -1),
        # Names are compared as bytes, a NUL included.
        (name, "str", b"str\x00"),
        ("EXISTS", "str", b"str\x00"),
        ("PEXPIRETIME", b"str\x00"),
    )


@pytest.mark.parametrize("name", ["RENAME", "RENAMENX"])
def test_rename_carries_the_ttl(o: Oracle, name: str) -> None:
    seed(o)
    o.check_all(
        (name, "str", "fresh"),
        ("EXISTS", "str"),
        ("GET", "fresh"),
        ("PEXPIRETIME", "fresh"),
        (name, "list", "fresh2"),
        ("PEXPIRETIME", "fresh2"),
        ("LRANGE", "fresh2", 0, -1),
        ("TYPE", "list"),
    )


def test_rename_over_an_existing_key(o: Oracle) -> None:
    seed(o)
    o.check_all(
        # A destination with a TTL gets the source's lack of one.
        ("RENAMENX", "list", "hash"),
        ("TYPE", "hash"),
        ("RENAME", "list", "hash"),
        ("TYPE", "hash"),
        ("LRANGE", "hash", 0, -1),
        ("PEXPIRETIME", "hash"),
        ("EXISTS", "list"),
        # And a destination without one gets the source's.
        ("RENAME", "str", "set"),
        ("GET", "set"),
        ("PEXPIRETIME", "set"),
        ("RENAMENX", "set", "hash"),
        ("DBSIZE",),
    )


# -- MOVE ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "db",
    [
        "abc",
        "",
        "1.5",
        " 1",
        "01",
        "-0",
        "2147483648",
        "-2147483649",
        "99999999999999999999",
        "-1",
        "16",
        "2147483647",
        "0",
    ],
)
def test_move_bad_database(o: Oracle, db: str) -> None:
    seed(o)
    o.check_all(("MOVE", "str", db), ("MOVE", "nosuch", db), ("EXISTS", "str"))


def test_move(o: Oracle) -> None:
    seed(o)
    o.check_all(
        ("MOVE", "nosuch", 1),
        ("MOVE", "str", 1),
        ("MOVE", "list", 1),
        ("MOVE", "hash", 15),
        ("EXISTS", "str", "list", "hash"),
        ("SET", "str", "again"),
        ("MOVE", "str", 1),  # already there: nothing moves
        ("GET", "str"),
        ("SELECT", 1),
        ("GET", "str"),
        ("PEXPIRETIME", "str"),
        ("LRANGE", "list", 0, -1),
        ("PEXPIRETIME", "list"),
        ("MOVE", "str", 0),
        ("MOVE", "list", 0),
        ("SELECT", 15),
        ("HGETALL", "hash"),
        ("PEXPIRETIME", "hash"),
        ("SELECT", 0),
        ("GET", "str"),
        ("DBSIZE",),
    )


# -- COPY ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "options",
    [
        ("DB",),
        ("DB", "abc"),
        ("DB", "-1"),
        ("DB", "16"),
        ("DB", "2147483648"),
        ("DB", "1", "DB"),
        ("REPLACE", "x"),
        ("x", "REPLACE"),
        ("x", "DB", "abc"),
        ("DB", "abc", "x"),
        ("DB", "99", "x"),
        ("REPLACEX",),
        (b"REPLACE\x00trailing",),
        (b"db\x00x", "1"),
        ("DB", b"1\x00"),
        ("DB", "0"),
        ("DB", "1", "DB", "0"),
        ("replace", "REPLACE", "Db", "3", "dB", "2"),
        (),
    ],
    ids=repr,
)
@pytest.mark.parametrize(("source", "destination"), [("str", "str"), ("str", "d"), ("no", "no")])
def test_copy_options(o: Oracle, options: Cmd, source: str, destination: str) -> None:
    seed(o)
    o.check("COPY", source, destination, *options)
    for db in (0, 1, 2, 3):
        o.check("SELECT", db)
        dump_db(o, ["str", "d", "no"])


def test_copy_every_type_with_its_ttl(o: Oracle) -> None:
    seed(o)
    for key in ("str", "list", "hash", "set"):
        o.check_all(
            ("COPY", key, f"{key}:copy"),
            ("COPY", key, f"{key}:copy"),
            ("COPY", key, key, "DB", 2),
        )
        dump_db(o, [key, f"{key}:copy"])
        o.check("SELECT", 2)
        dump_db(o, [key])
        o.check("SELECT", 0)


def test_copy_is_deep(o: Oracle) -> None:
    seed(o)
    o.check_all(
        ("COPY", "list", "l2"),
        ("COPY", "hash", "h2"),
        ("COPY", "set", "s2"),
        ("RPUSH", "list", "d"),
        ("LPOP", "l2"),
        ("HSET", "hash", "new", "1"),
        ("HDEL", "h2", "f"),
        ("SADD", "set", "y"),
        ("SADD", "s2", "z"),
        ("SET", "str", "changed", "KEEPTTL"),
    )
    dump_db(o, ["list", "l2", "hash", "h2", "set", "s2", "str"])


def test_copy_replace(o: Oracle) -> None:
    seed(o)
    o.check_all(
        ("COPY", "list", "hash"),
        ("COPY", "list", "hash", "REPLACE"),
        ("TYPE", "hash"),
        ("PEXPIRETIME", "hash"),  # the destination's TTL is gone: the source had none
        ("COPY", "str", "set", "REPLACE"),
        ("PEXPIRETIME", "set"),
        ("GET", "set"),
        ("COPY", "nosuch", "set", "REPLACE"),
        ("GET", "set"),
        ("SELECT", 1),
        ("SET", "str", "one"),
        ("SELECT", 0),
        ("COPY", "str", "str", "DB", 1),
        ("COPY", "str", "str", "DB", 1, "REPLACE"),
        ("SELECT", 1),
        ("GET", "str"),
        ("PEXPIRETIME", "str"),
    )


# -- SWAPDB -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("abc", "1"),
        ("1", "abc"),
        ("abc", "abc"),
        ("", "1"),
        ("0", "2147483648"),
        ("-2147483649", "0"),
        ("99999999999999999999", "0"),
        ("-1", "0"),
        ("0", "-1"),
        ("16", "abc"),
        ("0", "16"),
        ("2147483647", "0"),
        (b"0\x00", "1"),
        ("01", "1"),
    ],
)
def test_swapdb_errors(o: Oracle, first: str, second: str) -> None:
    seed(o)
    o.check_all(("SWAPDB", first, second), ("DBSIZE",))


def test_swapdb_swaps_keys_and_ttls(o: Oracle) -> None:
    seed(o)
    o.check_all(
        ("SWAPDB", 0, 0),
        ("DBSIZE",),
        ("SWAPDB", 0, 3),
        ("DBSIZE",),
        ("GET", "str"),
        ("SELECT", 3),
        ("DBSIZE",),
        ("GET", "str"),
        ("PEXPIRETIME", "str"),
        ("PEXPIRETIME", "hash"),
        ("SET", "in3", "x"),
        ("swapdb", 3, 0),
        ("DBSIZE",),
        ("GET", "in3"),
        ("SELECT", 0),
        ("GET", "in3"),
        ("PEXPIRETIME", "str"),
        ("SWAPDB", 5, 6),
        ("DBSIZE",),
    )


def test_swapdb_is_seen_by_clients_that_selected_a_database(o: Oracle, second: Oracle) -> None:
    second.check("SELECT", 1)
    o.check_all(("SET", "k", "in 0"), ("SET", "only0", "x"), ("PEXPIREAT", "only0", FAR))
    second.check_all(("SET", "k", "in 1"), ("PEXPIREAT", "k", FAR + 1))
    o.check("SWAPDB", 1, 0)
    o.check_all(("GET", "k"), ("PEXPIRETIME", "k"), ("EXISTS", "only0"), ("DBSIZE",))
    second.check_all(("GET", "k"), ("PEXPIRETIME", "only0"), ("DBSIZE",))
    # Writes after the swap land in what each client now sees.
    second.check("SET", "after", "1")
    o.check_all(("EXISTS", "after"), ("SELECT", 1), ("GET", "after"), ("GET", "k"))


# -- RANDOMKEY ----------------------------------------------------------------------------------
def test_randomkey_of_an_empty_database(o: Oracle) -> None:
    ours, theirs = o.run("RANDOMKEY")
    assert ours == theirs and ours in (NULL2, NULL3)
    o.check_all(("SET", "only", "v"), ("RANDOMKEY",), ("SELECT", 1), ("RANDOMKEY",))


def test_randomkey_returns_keys_of_the_selected_database(oracle: Oracle) -> None:
    names = [f"key:{n}" for n in range(40)]
    oracle.check("MSET", *(part for name in names for part in (name, "v")))
    oracle.check_all(("SELECT", 2), ("SET", "elsewhere", "v"), ("SELECT", 0))
    for conn in (oracle.zyst, oracle.redis):
        seen = {parse_reply(conn.command("RANDOMKEY")) for _ in range(400)}
        assert seen <= {name.encode() for name in names}
        # 400 draws among 40 keys: missing any one key has odds of 40 * (39/40)**400 ~ 1e-3.
        assert len(seen) >= 30
        assert conn.command("DBSIZE") == b":40\r\n"


def info_stats(conn: RawConnection) -> dict[str, int]:
    """The integer fields of ``INFO stats``."""
    text = parse_reply(conn.command("INFO", "stats")).decode()
    fields = (line.split(":", 1) for line in text.splitlines() if ":" in line)
    return {name: int(value) for name, value in fields if value.isdigit()}


@pytest.fixture
def slow_cron(oracle: Oracle) -> Iterator[Oracle]:
    """Both servers' cron at 1 Hz while the test runs, so that expired keys wait for a lookup."""
    before = [
        parse_reply(conn.command("CONFIG", "GET", "hz"))[1] for conn in (oracle.zyst, oracle.redis)
    ]
    oracle.check("CONFIG", "SET", "hz", "1")
    try:
        yield oracle
    finally:
        for conn, value in zip((oracle.zyst, oracle.redis), before, strict=True):
            assert conn.command("CONFIG", "SET", "hz", value) == b"+OK\r\n"


def expire_soon(oracle: Oracle, keys: list[str]) -> None:
    """Give ``keys`` one deadline a moment ahead and wait until it has passed."""
    deadline = now_ms() + 100
    oracle.check_many([("PEXPIREAT", key, deadline) for key in keys])
    while now_ms() <= deadline + 1:
        time.sleep(0.01)


def test_randomkey_skips_expired_keys(slow_cron: Oracle) -> None:
    oracle = slow_cron
    doomed = [f"doomed:{n}" for n in range(50)]
    oracle.check("MSET", *(part for name in doomed for part in (name, "v")), "alive", "v")
    expire_soon(oracle, doomed)
    for _ in range(20):
        oracle.check("RANDOMKEY")  # never an expired key
    # Each call removed some of the expired keys it met; how many is chance.
    oracle.check_all(("EXISTS", *doomed), ("EXISTS", "alive"))


def test_randomkey_with_every_key_expired_removes_them(slow_cron: Oracle) -> None:
    oracle = slow_cron
    doomed = [f"doomed:{n}" for n in range(30)]
    before = [info_stats(conn)["expired_keys"] for conn in (oracle.zyst, oracle.redis)]
    oracle.check("MSET", *(part for name in doomed for part in (name, "v")))
    expire_soon(oracle, doomed)
    # Not one key is left to return, and none is left in memory (whether RANDOMKEY or, now and
    # then, the cron removed it).
    oracle.check_all(("RANDOMKEY",), ("DBSIZE",))
    after = [info_stats(conn)["expired_keys"] for conn in (oracle.zyst, oracle.redis)]
    assert [a - b for a, b in zip(after, before, strict=True)] == [30, 30]


# -- keyspace hits and misses -------------------------------------------------------------------
def keyspace_stats(conn: RawConnection) -> tuple[int, int]:
    stats = info_stats(conn)
    return stats["keyspace_hits"], stats["keyspace_misses"]


def test_hits_and_misses(oracle: Oracle) -> None:
    seed(oracle)
    oracle.check("CONFIG", "RESETSTAT")
    oracle.check_all(
        ("TOUCH", "str", "nosuch", "list"),
        ("EXPIRETIME", "str"),
        ("PEXPIRETIME", "nosuch"),
        ("COPY", "str", "c1"),
        ("COPY", "nosuch", "c2"),
        ("COPY", "str", "c1"),
        ("RENAME", "c1", "c3"),
        ("RENAME", "nosuch", "c4"),
        ("RENAMENX", "c3", "list"),
        ("MOVE", "c3", 1),
        ("MOVE", "nosuch", 1),
        ("UNLINK", "nosuch", "set"),
        ("SWAPDB", 0, 1),
        ("RANDOMKEY",),
    )
    assert keyspace_stats(oracle.zyst) == keyspace_stats(oracle.redis)


# -- a seeded random sequence -------------------------------------------------------------------
KEYS: tuple[bytes, ...] = (b"a", b"b", b"c", b"", b"n\x00ul")
DBS = (0, 1, 2)


def random_command(rng: random.Random) -> Cmd:
    """One command of the family, or one that makes or changes keys for it to work on."""
    key = rng.choice(KEYS)
    other = rng.choice(KEYS)
    db = rng.choice((*DBS, *DBS, -1, 16, "x"))
    pick = rng.randrange(24)
    if pick == 0:
        return ("SET", key, rng.choice(("1", "", "text")))
    if pick == 1:
        return ("RPUSH", key, *rng.sample(("x", "y", "z"), rng.randint(1, 3)))
    if pick == 2:
        return ("HSET", key, rng.choice(("f", "g")), rng.choice(("1", "2")))
    if pick == 3:
        return ("SADD", key, *rng.sample(("m", "n", "o"), rng.randint(1, 3)))
    if pick == 4:
        return ("PEXPIREAT", key, FAR + rng.randrange(5000))
    if pick == 5:
        return ("PERSIST", key)
    if pick == 6:
        return ("SELECT", rng.choice(DBS))
    if pick == 7:
        return ("UNLINK", key, *rng.sample(KEYS, rng.randint(0, 2)))
    if pick == 8:
        return ("RENAME", key, other)
    if pick == 9:
        return ("RENAMENX", key, other)
    if pick == 10:
        return ("MOVE", key, db)
    if pick in (11, 12):
        options: list[Arg] = []
        if rng.random() < 0.5:
            options += ["DB", db]
        if rng.random() < 0.4:
            options.append("REPLACE")
        if rng.random() < 0.1:
            rng.shuffle(options)
        return ("COPY", key, other, *options)
    if pick == 13:
        return ("SWAPDB", rng.choice((*DBS, -1)), rng.choice((*DBS, "y")))
    if pick == 14:
        return ("TOUCH", key, *rng.sample(KEYS, rng.randint(0, 2)))
    if pick == 15:
        return ("EXPIRETIME", key)
    if pick == 16:
        return ("PEXPIRETIME", key)
    if pick == 17:
        return ("RANDOMKEY",)
    if pick == 18:
        return ("TYPE", key)
    if pick == 19:
        return ("DBSIZE",)
    if pick == 20:
        return ("LRANGE", key, 0, -1)
    if pick == 21:
        return ("HGETALL", key)
    if pick == 22:
        return ("SMEMBERS", key)
    return ("GET", key)


def random_commands(seed_value: int, count: int) -> list[Cmd]:
    rng = random.Random(seed_value)
    return [random_command(rng) for _ in range(count)]


@pytest.mark.parametrize("seed_value", [1, 2, 3])
def test_random_sequence(o: Oracle, seed_value: int) -> None:
    for command in random_commands(seed_value, 400):
        if command[0] == "RANDOMKEY":
            ours, theirs = o.run(*command)
            # Which key is chance; whether there is one is not, and it must exist.
            assert (ours in (NULL2, NULL3)) == (theirs in (NULL2, NULL3)), (ours, theirs)
            for conn, raw in ((o.zyst, ours), (o.redis, theirs)):
                if raw not in (NULL2, NULL3):
                    assert conn.command("EXISTS", parse_reply(raw)) == b":1\r\n"
        elif command[0] == "SMEMBERS":
            check_unordered(o, *command)
        else:
            o.check(*command)
    for db in DBS:
        o.check("SELECT", db)
        o.check("DBSIZE")
        dump_db(o, KEYS)
