"""SCAN, HSCAN, SSCAN and ZSCAN against real Redis, in RESP2 and RESP3.

Compared byte for byte: errors (cursor, options, their order against the key lookup), and every
reply Redis's order defines, which is a compact collection's: a listpack hash or sorted set and
an intset, answered whole in one call with cursor 0 whatever the cursor given. Compared as sets:
what full iterations return (keys of the keyspace, members of hash-table collections), whose
order and cursors are each server's own. The guarantee under concurrent writes is
``tests/server/test_scan_guarantee.py``'s.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Sequence

import pytest

from tests.conftest import Oracle, RawConnection, parse_reply

Arg = bytes | str | int

WRONGTYPE = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
SYNTAX = b"-ERR syntax error\r\n"
NOT_INTEGER = b"-ERR value is not an integer or out of range\r\n"
INVALID_CURSOR = b"-ERR invalid cursor\r\n"
EMPTY_SCAN = b"*2\r\n$1\r\n0\r\n*0\r\n"

# Cursors strtoul takes whole: signs, leading zeros, wrap-around, nothing at all, a NUL ending
# the number early.
VALID_CURSORS = [
    "",
    "0",
    "-0",
    "+0",
    "000",
    "7",
    "+7",
    "-1",
    "18446744073709551615",
    "-18446744073709551615",
    "0018446744073709551615",
    "5\x00junk",
    "\x00",
]
INVALID_CURSORS = [
    " 1",
    "\t1",
    "\n0",
    "\x0b0",
    "1 ",
    "+",
    "-",
    "--1",
    "+-1",
    "x",
    "0x10",
    "1.0",
    "1e3",
    "18446744073709551616",
    "-18446744073709551616",
    "99999999999999999999999",
]
# What follows the cursor: options that fail, in the order Redis reports them.
BAD_OPTIONS: list[tuple[str, ...]] = [
    ("COUNT",),
    ("COUNT", "0"),
    ("COUNT", "-1"),
    ("COUNT", "x"),
    ("COUNT", ""),
    ("COUNT", "1.5"),
    ("COUNT", " 1"),
    ("COUNT", "9223372036854775808"),
    ("MATCH",),
    ("TYPE",),
    ("BOGUS",),
    ("BOGUS", "1"),
    ("COUNT", "5", "MATCH"),
    ("MATCH", "*", "COUNT", "0"),
    ("COUNT", "0", "BOGUS", "1"),
    ("COUNT", "x", "COUNT", "0"),
    ("count", "0"),
]
# Option lists that parse, for every scan command.
GOOD_OPTIONS: list[tuple[str, ...]] = [
    (),
    ("COUNT", "1"),
    ("count", "3", "match", "*"),
    ("MATCH", "a*"),
    ("MATCH", "x", "MATCH", "*a*"),
    ("MATCH", ""),
    ("COUNT", "9223372036854775807"),
    ("COUNT", "2", "COUNT", "1000"),
]


def scan_args(command: str, key: str) -> tuple[str, ...]:
    """The command and its key (none for SCAN)."""
    return (command,) if command == "SCAN" else (command, key)


def full_scan(conn: RawConnection, prefix: Sequence[Arg], *options: Arg) -> list[bytes]:
    """Everything a full iteration returns, in order (duplicates kept)."""
    elements: list[bytes] = []
    cursor: bytes = b"0"
    for _ in range(100_000):
        reply = parse_reply(conn.command(*prefix, cursor, *options))
        cursor, found = reply
        elements += found
        if cursor == b"0":
            return elements
    raise AssertionError(f"{prefix!r} {options!r}: the iteration did not end")


def full_scans(o: Oracle, prefix: Sequence[Arg], *options: Arg) -> tuple[list[bytes], list[bytes]]:
    return full_scan(o.zyst, prefix, *options), full_scan(o.redis, prefix, *options)


def as_pairs(flat: list[bytes]) -> set[tuple[bytes, bytes]]:
    pairs = set(zip(flat[::2], flat[1::2], strict=True))
    assert len(pairs) * 2 == len(flat), f"duplicates in {flat!r}"
    return pairs


def populate(o: Oracle, commands: Sequence[Sequence[Arg]]) -> None:
    o.check_many(commands)


@pytest.fixture
def small(o: Oracle) -> Oracle:
    """A compact hash, set and sorted set, a string, and a set Redis keeps as a hash table."""
    populate(
        o,
        [
            ("HSET", "h", "a1", "x", "b", "y", "a2", "z"),
            ("SADD", "s", "3", "-2", "10"),
            ("ZADD", "z", "2", "a", "1", "b"),
            ("SET", "str", "v"),
            ("SADD", "strings", "a", "b"),
        ],
    )
    return o


@pytest.fixture
def encodings(oracle: Oracle) -> Iterator[Oracle]:
    """Restores the compact-encoding limits the test changes on both servers."""
    names = (
        "hash-max-listpack-entries",
        "hash-max-listpack-value",
        "set-max-intset-entries",
        "zset-max-listpack-entries",
        "zset-max-listpack-value",
    )
    before = {name: parse_reply(oracle.redis.command("CONFIG", "GET", name))[1] for name in names}
    yield oracle
    for name, value in before.items():
        oracle.check("CONFIG", "SET", name, value)


# -- errors -------------------------------------------------------------------------------------
@pytest.mark.parametrize("cursor", VALID_CURSORS + INVALID_CURSORS)
def test_cursors_as_strtoul_reads_them(small: Oracle, cursor: str) -> None:
    o = small
    if cursor in INVALID_CURSORS:
        for args in (
            ("SCAN", cursor),
            ("SCAN", cursor, "BOGUS"),
            ("HSCAN", "h", cursor),
            ("HSCAN", "nope", cursor),
            ("SSCAN", "str", cursor),
            ("ZSCAN", "z", cursor, "COUNT", "0"),
        ):
            assert o.check(*args) == INVALID_CURSOR
        return
    # Compact collections answer whole whatever the cursor; an empty database has nothing.
    o.check_all(
        ("HSCAN", "h", cursor),
        ("SSCAN", "s", cursor),
        ("ZSCAN", "z", cursor),
        ("HSCAN", "nope", cursor),
        ("SELECT", "9"),
        ("SCAN", cursor),
        ("SCAN", cursor, "COUNT", "1", "TYPE", "string"),
        ("SELECT", "0"),
    )


@pytest.mark.parametrize("command", ["SCAN", "HSCAN", "SSCAN", "ZSCAN"])
@pytest.mark.parametrize("options", BAD_OPTIONS, ids=" ".join)
def test_option_errors(small: Oracle, command: str, options: tuple[str, ...]) -> None:
    o = small
    key = {"HSCAN": "h", "SSCAN": "s", "ZSCAN": "z"}.get(command, "")
    reply = o.check(*scan_args(command, key), "0", *options)
    assert reply in (SYNTAX, NOT_INTEGER)
    if command != "SCAN":
        # The key comes before the options: a missing one answers an empty iteration, one of
        # another type WRONGTYPE.
        assert o.check(command, "nope", "0", *options) == EMPTY_SCAN
        assert o.check(command, "str", "0", *options) == WRONGTYPE


@pytest.mark.parametrize("command", ["HSCAN", "SSCAN", "ZSCAN"])
def test_type_is_scan_only_and_wrongtype(small: Oracle, command: str) -> None:
    o = small
    key = {"HSCAN": "h", "SSCAN": "s", "ZSCAN": "z"}[command]
    assert o.check(command, key, "0", "TYPE", "string") == SYNTAX
    assert o.check(command, "nope", "0", "TYPE", "string") == EMPTY_SCAN
    other = "s" if command != "SSCAN" else "h"
    assert o.check(command, other, "0") == WRONGTYPE
    o.check_all((command,), (command, key), ("SCAN",))


# -- compact collections: one call, Redis's order, byte for byte --------------------------------
@pytest.mark.parametrize("cursor", ["0", "1", "12345", "-1"])
@pytest.mark.parametrize("options", GOOD_OPTIONS, ids=" ".join)
def test_compact_collections_answer_whole(o: Oracle, cursor: str, options: tuple[str, ...]) -> None:
    populate(
        o,
        [
            # A listpack keeps insertion order; an updated field keeps its place, a deleted and
            # re-added one goes to the end.
            ("HSET", "h", "b", "1", "a", "2", "", "empty", "ab", "3", "a\x00b", "nul"),
            ("HSET", "h", "b", "updated", "c", "4"),
            ("HDEL", "h", "a"),
            ("HSET", "h", "a", "back"),
            ("HINCRBY", "h", "ab", "5"),
            # An intset lists ascending numbers.
            ("SADD", "i", "30", "-2", "100", "0", "-9223372036854775808", "9223372036854775807"),
            ("SADD", "i", "7", "12"),
            ("SREM", "i", "100"),
            # A listpack sorted set lists by score, then member.
            ("ZADD", "z", "2", "b", "1", "c", "2", "a", "-inf", "lo", "inf", "hi", "1.5", "f"),
            ("ZADD", "z", "1e20", "big", "3.14159", "pi", "0", "zero", "-0", "negzero"),
            ("ZADD", "z", "9.8813129168249309e-323", "tiny", "-1.25", "neg", "10", "ab"),
            ("ZINCRBY", "z", "0.1", "pi"),
        ],
    )
    o.check_all(
        ("HSCAN", "h", cursor, *options),
        ("SSCAN", "i", cursor, *options),
        ("ZSCAN", "z", cursor, *options),
    )


def collection_commands(kind: str, key: str, size: int, width: int) -> list[tuple[Arg, ...]]:
    """Commands that build a ``kind`` collection of ``size`` elements, element ``width`` bytes
    (for a hash: its values' width; fields stay short)."""
    if kind == "hash":
        return [("HSET", key, f"f{n}", str(n).rjust(width, "v")) for n in range(size)]
    if kind == "intset":
        return [("SADD", key, *(str(n * 7 - 300) for n in range(size)))]
    return [("ZADD", key, n % 5, f"m{n}".rjust(width, "x")) for n in range(size)]


def compare_collection(o: Oracle, kind: str, key: str, compact: bool) -> None:
    command = {"hash": "HSCAN", "intset": "SSCAN", "zset": "ZSCAN"}[kind]
    if compact:
        reply = o.check(command, key, "0", "COUNT", "1")
        assert reply.startswith(b"*2\r\n$1\r\n0\r\n")
        return
    ours, theirs = full_scans(o, (command, key))
    if kind == "intset":
        assert sorted(ours) == sorted(theirs) and len(set(ours)) == len(ours)
    else:
        assert as_pairs(ours) == as_pairs(theirs)
    if len(theirs) >= 10:
        # Iterated, not answered whole: COUNT 1 gives a bucket or so (that ten or more elements
        # all share one is too unlikely to matter).
        for conn in (o.zyst, o.redis):
            cursor, first = parse_reply(conn.command(command, key, "0", "COUNT", "1"))
            assert cursor != b"0" and len(first) < len(theirs)


@pytest.mark.parametrize(
    ("kind", "entries", "value"),
    [
        ("hash", "hash-max-listpack-entries", "hash-max-listpack-value"),
        ("zset", "zset-max-listpack-entries", "zset-max-listpack-value"),
        ("intset", "set-max-intset-entries", ""),
    ],
)
def test_the_compact_limits_as_redis_draws_them(
    encodings: Oracle, kind: str, entries: str, value: str
) -> None:
    o = encodings
    limit = int(parse_reply(o.redis.command("CONFIG", "GET", entries))[1])
    for size, compact in ((limit, True), (limit + 1, False)):
        populate(o, collection_commands(kind, f"{kind}:{size}", size, 4))
        compare_collection(o, kind, f"{kind}:{size}", compact)
    if value:
        width = int(parse_reply(o.redis.command("CONFIG", "GET", value))[1])
        for size, compact in ((width, True), (width + 1, False)):
            populate(o, collection_commands(kind, f"{kind}:w{size}", 10, size))
            compare_collection(o, kind, f"{kind}:w{size}", compact)
    # The limits are settings: read when the collection is written (and here when it is read).
    o.check("CONFIG", "SET", entries, "3")
    for size, compact in ((3, True), (4, False)):
        populate(o, collection_commands(kind, f"{kind}:c{size}", size, 4))
        compare_collection(o, kind, f"{kind}:c{size}", compact)
    o.check("CONFIG", "SET", entries, "0")
    populate(o, collection_commands(kind, f"{kind}:none", 1, 4))
    compare_collection(o, kind, f"{kind}:none", False)


def test_sets_of_strings_are_hash_tables(o: Oracle) -> None:
    # Redis 7.0 keeps every set that holds a non-integer in a hash table, however small.
    populate(o, [("SADD", "s", "a", "b", "1", "-0", "07", "+3")])
    for options in ((), ("COUNT", "100"), ("COUNT", "1"), ("MATCH", "?")):
        ours, theirs = full_scans(o, ("SSCAN", "s"), *options)
        assert sorted(ours) == sorted(theirs)
    ours, theirs = o.run("SSCAN", "s", "0")
    assert parse_reply(ours)[0] == parse_reply(theirs)[0] == b"0"
    assert sorted(parse_reply(ours)[1]) == sorted(parse_reply(theirs)[1])


@pytest.mark.parametrize("kind", ["hash", "set", "zset"])
def test_a_collection_that_shrank_back_is_still_iterated(o: Oracle, kind: str) -> None:
    """Grown past the limit, then shrunk to contents that would fit: Redis keeps its hash
    table (or skiplist), so the scan goes in pages, not whole."""
    add = {"hash": "HSET", "set": "SADD", "zset": "ZADD"}[kind]
    remove = {"hash": "HDEL", "set": "SREM", "zset": "ZREM"}[kind]
    limit = {"hash": 512, "set": 512, "zset": 128}[kind]
    pairs = kind != "set"
    for start in range(0, limit + 50, 50):
        words = [w for n in range(start, start + 50) for w in ((n, n) if pairs else (n,))]
        o.check(add, "grown", *words)
    o.check(remove, "grown", *range(100, limit + 50))
    o.check("OBJECT", "ENCODING", "grown")
    scan = {"hash": "HSCAN", "set": "SSCAN", "zset": "ZSCAN"}[kind]
    ours, theirs = (parse_reply(raw) for raw in o.run(scan, "grown", "0", "COUNT", "10"))
    assert ours[0] != b"0" and theirs[0] != b"0"
    ours_all, theirs_all = full_scans(o, (scan, "grown"), "COUNT", "10")
    assert sorted(ours_all) == sorted(theirs_all)


# -- the keyspace: MATCH, TYPE, COUNT -----------------------------------------------------------
def mixed_keyspace(size: int) -> list[tuple[Arg, ...]]:
    commands: list[tuple[Arg, ...]] = [
        ("SET", "", "the empty key"),
        ("SET", "*", "star"),
        ("SET", "a\x00b", "nul"),
        ("SET", "UPPER", "x"),
    ]
    for n in range(size):
        kind = n % 5
        if kind == 0:
            commands.append(("SET", f"user:{n}", n))
        elif kind == 1:
            commands.append(("RPUSH", f"list:{n}", n))
        elif kind == 2:
            commands.append(("HSET", f"user:{n}:h", "f", n))
        elif kind == 3:
            commands.append(("SADD", f"set:{n}", n))
        else:
            commands.append(("ZADD", f"z{n}", n, "m"))
    return commands


SCAN_FILTERS: list[tuple[str, ...]] = [
    (),
    ("MATCH", "*"),
    ("MATCH", "user:*"),
    ("MATCH", "*1*"),
    ("MATCH", ""),
    ("MATCH", "a?b"),
    ("MATCH", "[a-z]*:[0-9]"),
    ("TYPE", "string"),
    ("TYPE", "LIST"),
    ("TYPE", "hash"),
    ("TYPE", "Set"),
    ("TYPE", "zset"),
    ("TYPE", "stream"),
    ("TYPE", "none"),
    ("TYPE", "nonsense"),
    ("TYPE", ""),
    ("TYPE", "string", "MATCH", "user:1*"),
    ("MATCH", "user:*", "TYPE", "hash", "COUNT", "3"),
    ("TYPE", "set", "TYPE", "zset"),
]


@pytest.mark.parametrize("count", ["1", "7", "10", "1000"])
@pytest.mark.parametrize("filters", SCAN_FILTERS, ids=" ".join)
def test_scan_filters_as_sets(o: Oracle, count: str, filters: tuple[str, ...]) -> None:
    populate(o, mixed_keyspace(300))
    ours, theirs = full_scans(o, ("SCAN",), "COUNT", count, *filters)
    assert len(set(ours)) == len(ours), "a key listed twice with no writes going on"
    assert sorted(ours) == sorted(theirs)


def test_scan_type_lookups_count_as_reads(o: Oracle) -> None:
    # TYPE looks each candidate key up as a read: keyspace_hits grows by the keys it meets.
    populate(o, mixed_keyspace(40))
    o.check("CONFIG", "RESETSTAT")
    full_scans(o, ("SCAN",), "COUNT", "1000", "TYPE", "hash")
    full_scans(o, ("SCAN",), "COUNT", "1000", "MATCH", "user:*", "TYPE", "string")
    full_scans(o, ("SCAN",), "COUNT", "1000")
    counters = []
    for conn in (o.zyst, o.redis):
        info = parse_reply(conn.command("INFO", "stats")).decode()
        counters.append([line for line in info.splitlines() if line.startswith("keyspace_")])
    assert counters[0] == counters[1]


def test_count_is_a_number_of_elements_read(o: Oracle) -> None:
    populate(o, [("SET", f"key:{n}", n) for n in range(1000)])
    populate(
        o, [("HSET", "big", *(f"f{n}" if i % 2 == 0 else n for n in range(600) for i in (0, 1)))]
    )
    populate(o, [("SADD", "bigset", *(f"m{n}" for n in range(300)))])
    populate(
        o, [("ZADD", "bigz", *(f"{n}" if i == 0 else f"m{n}" for n in range(300) for i in (0, 1)))]
    )
    # Plenty asked for (Redis stops once it has COUNT, even with nothing left to read):
    # everything in one call, and the iteration is over.
    for args in (
        ("SCAN", "0", "COUNT", "5000"),
        ("HSCAN", "big", "0", "COUNT", "100000"),
        ("SSCAN", "bigset", "0", "COUNT", "100000"),
        ("ZSCAN", "bigz", "0", "COUNT", "1000000"),
    ):
        ours, theirs = (parse_reply(raw) for raw in o.run(*args))
        assert ours[0] == theirs[0] == b"0", args
        assert sorted(ours[1]) == sorted(theirs[1])
    # Fewer asked for: a cursor that goes on, and at least that many elements. Redis reads
    # whole buckets and may give a few more; so does Zyst for a collection, while SCAN gives
    # exactly that many.
    for args, per_element in (
        (("SCAN", "0", "COUNT", "10"), 1),
        (("SCAN", "0"), 1),
        (("HSCAN", "big", "0", "COUNT", "7"), 2),
        (("SSCAN", "bigset", "0", "COUNT", "3"), 1),  # (Redis reads at most 30 buckets)
        (("ZSCAN", "bigz", "0"), 2),
    ):
        ours, theirs = (parse_reply(raw) for raw in o.run(*args))
        wanted = (int(args[-1]) if "COUNT" in args else 10) * per_element
        assert ours[0] != b"0" and theirs[0] != b"0", args
        assert len(theirs[1]) >= wanted
        if args[0] == "SCAN":
            assert len(ours[1]) == wanted
        else:
            assert wanted <= len(ours[1]) < wanted + 10 * per_element
    # A MATCH nothing passes still reads COUNT elements: an empty page, a cursor going on.
    ours, theirs = (parse_reply(raw) for raw in o.run("SCAN", "0", "MATCH", "nothing*"))
    assert ours[1] == theirs[1] == [] and ours[0] != b"0" and theirs[0] != b"0"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def test_expired_keys_are_never_returned(o: Oracle) -> None:
    populate(o, [("SET", f"keep:{n}", n) for n in range(60)])
    populate(o, [("SET", f"gone:{n}", n) for n in range(60)])
    populate(o, [("HSET", f"gone:h{n}", "f", n) for n in range(20)])
    deadline = now_ms() + 200
    populate(o, [("PEXPIREAT", f"gone:{n}", deadline) for n in range(60)])
    populate(o, [("PEXPIREAT", f"gone:h{n}", deadline) for n in range(20)])
    while now_ms() <= deadline + 1:
        time.sleep(0.01)
    for options in ((), ("COUNT", "3"), ("TYPE", "hash"), ("MATCH", "gone:*")):
        ours, theirs = full_scans(o, ("SCAN",), *options)
        assert sorted(ours) == sorted(theirs)
        assert not any(key.startswith(b"gone:") for key in ours)
    # Every expired key met was removed (the ones the active cycle did not remove first).
    assert o.check("DBSIZE") == b":60\r\n"


@pytest.mark.parametrize("size", [6, 60])
def test_keys_deleted_and_set_again_are_listed_once(o: Oracle, size: int) -> None:
    # Applications count keys with one SCAN (huey: the length of SCAN MATCH prefix*). Keys
    # deleted and set again since an earlier iteration are listed once by a call that reads the
    # whole database, as Redis lists them.
    populate(o, [("SET", f"r:{n}", n) for n in range(size)] + [("SET", "c:1", "1")])
    full_scans(o, ("SCAN",))
    churn = [("DEL", f"r:{n}") for n in range(1, size, 2)]
    churn += [("SET", f"r:{n}", "again") for n in range(1, size, 2)]
    populate(o, [*churn, *churn, ("DEL", "r:0")])
    # (The default COUNT, 10, reads a handful of keys whole too.)
    counts = [("COUNT", "100"), ("COUNT", "1000"), *([()] if size < 10 else [])]
    for options in (count + match for count in counts for match in ((), ("MATCH", "r:*"))):
        ours, theirs = (parse_reply(raw) for raw in o.run("SCAN", "0", *options))
        assert ours[0] == theirs[0] == b"0", options
        assert len(set(ours[1])) == len(ours[1]), f"a key listed twice: {ours[1]!r}"
        assert sorted(ours[1]) == sorted(theirs[1]), options


# -- a seeded random sequence -------------------------------------------------------------------
SEQUENCE_KEYS = ["h1", "h2", "s1", "s2", "z1", "z2", "str", "nope"]
FIELDS = ["a", "b", "c", "ab", "", "1", "-3", "17", "x\x00y", "aa"]
VALUES = ["1", "v", "", "long" * 17, "-2", "3.5"]
SCORES = ["1", "2", "-1", "0", "1.5", "inf", "-inf", "2.25"]
PATTERNS = ["*", "a*", "?", "*b", "[a-c]", "1*", "", "x*y"]


def random_command(rng: random.Random) -> tuple[str, ...]:
    key = rng.choice(SEQUENCE_KEYS)
    fields = rng.choices(FIELDS, k=rng.randint(1, 3))
    kind = rng.randrange(14)
    if kind < 2:
        return ("HSET", key, *(part for f in fields for part in (f, rng.choice(VALUES))))
    if kind == 2:
        return ("HDEL", key, *fields)
    if kind < 5:
        members = [f if rng.random() < 0.7 else str(rng.randint(-50, 50)) for f in fields]
        return ("SADD", key, *members) if rng.random() < 0.3 else ("SADD", key, *fields[:1])
    if kind == 5:
        return ("SREM", key, *fields)
    if kind == 6:
        return ("ZADD", key, *(part for f in fields for part in (rng.choice(SCORES), f)))
    if kind == 7:
        return ("ZREM", key, *fields)
    if kind == 8:
        return rng.choice([("DEL", key), ("SET", "str", "x"), ("SADD", key, "5", "-5", "0")])
    options: list[str] = []
    for _ in range(rng.randint(0, 2)):
        option = rng.choice(["MATCH", "COUNT", "TYPE", "BOGUS"])
        value = rng.choice(PATTERNS) if option == "MATCH" else rng.choice(["1", "5", "0", "x"])
        options += [option, value] if rng.random() < 0.95 else [option]
    cursor = rng.choice(["0", "0", "1", "99", "-1", "x"])
    scan = rng.choice(["HSCAN", "SSCAN", "ZSCAN", "SCAN"])
    return ("SCAN", cursor, *options) if scan == "SCAN" else (scan, key, cursor, *options)


def compare_scan(o: Oracle, step: int, command: tuple[str, ...]) -> None:
    """A scan's replies: exact when Redis's order is defined (errors, a compact collection's),
    as sets of a full iteration otherwise."""
    ours, theirs = o.run(*command)
    if theirs.startswith(b"-") or ours.startswith(b"-"):
        assert ours == theirs, (step, command, ours, theirs)
        return
    if command[0] == "SCAN":
        options = command[2:]
        # A handful of keys: read whole by the first call, each listed once (keys deleted and
        # added again too).
        ours_all, theirs_all = full_scans(o, ("SCAN",), *options)
        assert sorted(ours_all) == sorted(theirs_all), (step, command)
        return
    encoding = parse_reply(o.redis.command("OBJECT", "ENCODING", command[1]))
    if encoding in (b"listpack", b"intset", None):  # compact, or no key at all
        assert ours == theirs, (step, command, ours, theirs)
        return
    # A hash table (once grown past the limits, Redis stays one): a full iteration from 0, as
    # sets (a cursor never issued means nothing in particular to either server).
    ours_all, theirs_all = full_scans(o, command[:2], *command[3:])
    if command[0] == "SSCAN":
        assert sorted(ours_all) == sorted(theirs_all), (step, command)
    else:
        assert as_pairs(ours_all) == as_pairs(theirs_all), (step, command)


@pytest.mark.parametrize("seed", [15, 1515])
def test_random_sequence_matches_redis(o: Oracle, seed: int) -> None:
    rng = random.Random(seed)
    for step in range(1200):
        command = random_command(rng)
        if command[0].endswith("SCAN"):
            compare_scan(o, step, command)
        else:
            o.check(*command)
