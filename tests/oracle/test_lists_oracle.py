"""The list commands of issue 15 against real Redis: LPUSHX RPUSHX LINDEX LSET LINSERT LREM
LTRIM LPOS LMOVE RPOPLPUSH LMPOP. The same commands go to Zyst and to redis-server and the raw
replies are compared byte for byte, error paths included, in RESP2 and RESP3; then a seeded
random sequence over a few keys (lists, a string, missing keys; negative indexes and counts
common) is compared step by step. Lists are ordered, so every comparison is exact.

How Redis propagates these commands is checked against its AOF in
``tests/crash/test_lists_aof.py``.
"""

from __future__ import annotations

import random

import pytest

from tests.conftest import Oracle, hello3
from tests.oracle.test_stats_oracle import _counters

WRONGTYPE = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
SYNTAX = b"-ERR syntax error\r\n"
NOT_INTEGER = b"-ERR value is not an integer or out of range\r\n"
LLONG_MIN = "-9223372036854775808"
LLONG_MAX = "9223372036854775807"

Arg = bytes | str | int


def seed(o: Oracle) -> None:
    """``l``: a b c a d a (a list with repeats), ``s``: a string."""
    o.check("DEL", "l", "m", "s")
    o.check("RPUSH", "l", "a", "b", "c", "a", "d", "a")
    o.check("SET", "s", "x")


def test_pushx(o: Oracle) -> None:
    seed(o)
    o.check_all(
        ("LPUSHX", "nope", "a"),
        ("RPUSHX", "nope", "a", "b"),
        ("EXISTS", "nope"),
        ("LPUSHX", "l", "x"),
        ("LPUSHX", "l", "y", "z"),
        ("RPUSHX", "l", "p"),
        ("RPUSHX", "l", "q", "r"),
        ("LRANGE", "l", 0, -1),
        ("LPUSHX", "s", "x"),
        ("RPUSHX", "s", "x"),
        ("LPUSHX", "l"),
        ("RPUSHX",),
    )


def test_lindex(o: Oracle) -> None:
    seed(o)
    for index in (0, 1, 5, 6, 7, -1, -6, -7, LLONG_MAX, LLONG_MIN):
        o.check("LINDEX", "l", index)
    o.check_all(
        ("LINDEX", "nope", 0),
        ("LINDEX", "nope", "abc"),  # the key is looked up first: null, not an error
        ("LINDEX", "l", "abc"),
        ("LINDEX", "l", "1.0"),
        ("LINDEX", "l", "9223372036854775808"),
        ("LINDEX", "s", 0),
        ("LINDEX", "s", "abc"),
        ("LINDEX", "l"),
        ("LINDEX", "l", 0, 1),
    )


def test_lset(o: Oracle) -> None:
    seed(o)
    o.check_all(
        ("LSET", "l", 0, "A"),
        ("LSET", "l", -1, "Z"),
        ("LSET", "l", 3, "M"),
        ("LSET", "l", -6, "first"),
        ("LRANGE", "l", 0, -1),
        ("LSET", "l", 6, "x"),
        ("LSET", "l", -7, "x"),
        ("LSET", "l", LLONG_MIN, "x"),
        ("LSET", "l", "abc", "x"),
        ("LSET", "nope", 0, "x"),
        ("LSET", "nope", "abc", "x"),  # "no such key" before the index is parsed
        ("LSET", "s", 0, "x"),
        ("LSET", "s", "abc", "x"),
        ("LSET", "l", 0),
        ("LRANGE", "l", 0, -1),
    )


def test_linsert(o: Oracle) -> None:
    seed(o)
    o.check_all(
        ("LINSERT", "l", "BEFORE", "a", "x"),
        ("LINSERT", "l", "after", "a", "y"),
        ("LINSERT", "l", "After", "d", "z"),
        ("LINSERT", "l", "before", "nothere", "z"),
        ("LINSERT", "l", "AFTER", "a", "a"),
        ("LRANGE", "l", 0, -1),
        ("LINSERT", "nope", "BEFORE", "a", "x"),
        ("LINSERT", "nope", "MIDDLE", "a", "x"),  # the syntax error comes first
        ("LINSERT", "s", "BEFORE", "a", "x"),
        ("LINSERT", "s", "BEHIND", "a", "x"),
        ("LINSERT", "l", "BEFORE", "a"),
        ("EXISTS", "nope"),
    )


def test_lrem(o: Oracle) -> None:
    for count in (0, 1, 2, 3, 4, -1, -2, -4, LLONG_MIN, LLONG_MAX):
        seed(o)
        o.check("LREM", "l", count, "a")
        o.check("LRANGE", "l", 0, -1)
    seed(o)
    o.check_all(
        ("LREM", "l", 0, "nothere"),
        ("LREM", "l", 1, "b"),
        ("LREM", "l", 0, "c"),
        ("LREM", "l", 0, "d"),
        ("LREM", "l", 0, "a"),  # the last elements: the key goes
        ("EXISTS", "l"),
        ("LREM", "nope", 0, "a"),
        ("LREM", "s", 0, "a"),
        ("LREM", "s", "abc", "a"),  # the count is parsed first
        ("LREM", "nope", "abc", "a"),
        ("LREM", "l", "1.5", "a"),
        ("LREM", "l", 0),
    )


@pytest.mark.parametrize(
    ("start", "stop"),
    [
        (0, -1),
        (1, -2),
        (2, 3),
        (-3, -1),
        (0, 0),
        (-1, -1),
        (5, 100),
        (3, 2),
        (6, 10),
        (-100, 100),
        (-100, -7),
        (LLONG_MIN, LLONG_MAX),
        (1, 0),
    ],
)
def test_ltrim(o: Oracle, start: int | str, stop: int | str) -> None:
    seed(o)
    o.check_all(("LTRIM", "l", start, stop), ("LRANGE", "l", 0, -1), ("EXISTS", "l"))


def test_ltrim_errors(o: Oracle) -> None:
    seed(o)
    o.check_all(
        ("LTRIM", "nope", 0, 1),
        ("LTRIM", "s", 0, 1),
        ("LTRIM", "s", "x", 1),  # numbers are parsed before the lookup
        ("LTRIM", "l", 0, "x"),
        ("LTRIM", "l", 0),
        ("LRANGE", "l", 0, -1),
    )


LPOS_CASES: list[tuple[Arg, ...]] = [
    ("a",),
    ("b",),
    ("nothere",),
    ("a", "RANK", 1),
    ("a", "RANK", 2),
    ("a", "RANK", 3),
    ("a", "RANK", 4),
    ("a", "RANK", -1),
    ("a", "RANK", -3),
    ("a", "RANK", -4),
    ("a", "RANK", LLONG_MAX),
    ("a", "RANK", LLONG_MIN),
    ("a", "RANK", LLONG_MIN, "COUNT", 2),
    ("a", "RANK", LLONG_MIN, "COUNT", 0),
    ("a", "RANK", LLONG_MIN, "MAXLEN", 3),
    ("a", "RANK", "-9223372036854775807"),
    ("a", "COUNT", 0),
    ("a", "COUNT", 1),
    ("a", "COUNT", 2),
    ("a", "COUNT", 10),
    ("nothere", "COUNT", 0),
    ("a", "RANK", 2, "COUNT", 0),
    ("a", "RANK", -2, "COUNT", 1),
    ("a", "RANK", -1, "COUNT", 0, "MAXLEN", 3),
    ("a", "MAXLEN", 1),
    ("a", "MAXLEN", 3),
    ("d", "MAXLEN", 4),
    ("d", "MAXLEN", 5),
    ("d", "MAXLEN", 0),
    ("d", "RANK", -1, "MAXLEN", 2),
    ("a", "rank", 2, "count", 5, "maxlen", 100),
    ("a", "RANK", 2, "RANK", 1),  # the last one wins
    ("a", "COUNT", 1, "COUNT", 0),
    # errors
    ("a", "RANK", 0),
    ("a", "RANK", "abc"),
    ("a", "RANK", "9223372036854775808"),
    ("a", "COUNT", -1),
    ("a", "COUNT", "abc"),
    ("a", "COUNT", LLONG_MIN),
    ("a", "MAXLEN", -1),
    ("a", "MAXLEN", "x"),
    ("a", "RANK"),
    ("a", "COUNT"),
    ("a", "MAXLEN"),
    ("a", "FOO", 1),
    ("a", "RANK", 0, "FOO"),  # options fail in order
    ("a", "FOO", "RANK", 0),
    ("a", "COUNT", 1, "RANK", 0),
]


@pytest.mark.parametrize("args", LPOS_CASES, ids=lambda args: " ".join(map(str, args)))
def test_lpos(o: Oracle, args: tuple[Arg, ...]) -> None:
    seed(o)
    for key in ("l", "nope", "s"):
        o.check("LPOS", key, *args)


def test_lpos_arity(o: Oracle) -> None:
    o.check_all(("LPOS",), ("LPOS", "l"))


@pytest.mark.parametrize("wherefrom", ["LEFT", "RIGHT"])
@pytest.mark.parametrize("whereto", ["LEFT", "RIGHT"])
def test_lmove(o: Oracle, wherefrom: str, whereto: str) -> None:
    seed(o)
    o.check_all(
        ("LMOVE", "l", "m", wherefrom, whereto),
        ("LMOVE", "l", "m", wherefrom, whereto),
        ("LMOVE", "l", "l", wherefrom, whereto),
        ("LRANGE", "l", 0, -1),
        ("LRANGE", "m", 0, -1),
        ("DEL", "l"),
        ("RPUSH", "l", "only"),
        ("LMOVE", "l", "l", wherefrom, whereto),  # one element onto itself: still there
        ("LRANGE", "l", 0, -1),
        ("LMOVE", "l", "m", wherefrom, whereto),  # the source empties and goes
        ("EXISTS", "l"),
        ("LRANGE", "m", 0, -1),
        ("LMOVE", "l", "m", wherefrom, whereto),
    )


def test_lmove_errors(o: Oracle) -> None:
    seed(o)
    o.check_all(
        ("LMOVE", "l", "s", "LEFT", "RIGHT"),  # nothing moves
        ("LRANGE", "l", 0, -1),
        ("LMOVE", "s", "l", "LEFT", "RIGHT"),
        ("LMOVE", "nope", "s", "LEFT", "RIGHT"),  # no source: the destination is not checked
        ("LMOVE", "l", "m", "UP", "RIGHT"),
        ("LMOVE", "l", "m", "LEFT", "DOWN"),
        ("LMOVE", "nope", "m", "UP", "RIGHT"),
        ("LMOVE", "s", "m", "LEFT", "DOWN"),  # the words are checked before the keys
        ("LMOVE", "l", "m", "left", "Right"),
        ("LMOVE", "l", "m", "LEFT"),
        ("LMOVE", "l", "m", "LEFT", "RIGHT", "LEFT"),
        ("LRANGE", "m", 0, -1),
    )


def test_rpoplpush(o: Oracle) -> None:
    seed(o)
    o.check_all(
        ("RPOPLPUSH", "l", "m"),
        ("RPOPLPUSH", "l", "m"),
        ("RPOPLPUSH", "l", "l"),
        ("LRANGE", "l", 0, -1),
        ("LRANGE", "m", 0, -1),
        ("RPOPLPUSH", "l", "s"),
        ("RPOPLPUSH", "s", "l"),
        ("RPOPLPUSH", "nope", "s"),
        ("RPOPLPUSH", "nope", "m"),
        ("RPOPLPUSH", "l"),
        ("RPOPLPUSH", "l", "m", "x"),
    )
    for _ in range(5):
        o.check("RPOPLPUSH", "l", "m")
    o.check_all(("EXISTS", "l"), ("LRANGE", "m", 0, -1))


def test_lmpop(o: Oracle) -> None:
    seed(o)
    o.check_all(
        ("RPUSH", "m", "1", "2", "3"),
        ("LMPOP", 1, "l", "LEFT"),
        ("LMPOP", 1, "l", "RIGHT"),
        ("LMPOP", 1, "l", "left", "COUNT", 2),
        ("LMPOP", 1, "l", "right", "count", 1),
        ("LMPOP", 2, "nope", "m", "RIGHT", "COUNT", 2),
        ("LMPOP", 3, "nope", "l", "m", "LEFT", "COUNT", 100),  # takes all: l goes
        ("EXISTS", "l"),
        ("LMPOP", 2, "nope", "m", "LEFT", "COUNT", LLONG_MAX),
        ("LMPOP", 2, "nope", "m", "LEFT"),  # nothing anywhere: a null array
        ("LMPOP", 1, "nope", "LEFT", "COUNT", 1),
        ("RPUSH", "l", "a"),
        ("LMPOP", 3, "nope", "s", "l", "LEFT"),  # a string before any list
        ("LMPOP", 3, "nope", "l", "s", "LEFT"),  # a list before it: fine
        ("LMPOP", 2, "s", "s", "RIGHT"),
        ("LMPOP", 1, "l", "l", "LEFT"),  # "l" is the direction's place: syntax error
    )


LMPOP_ERRORS: list[tuple[Arg, ...]] = [
    (0, "l", "LEFT"),
    (-1, "l", "LEFT"),
    ("abc", "l", "LEFT"),
    ("1.0", "l", "LEFT"),
    (LLONG_MIN, "l", "LEFT"),
    (LLONG_MAX, "l", "LEFT"),
    ("9223372036854775806", "l", "LEFT"),
    (2, "l", "LEFT"),
    (3, "l", "m", "LEFT"),
    (1, "l", "UP"),
    (1, "l", "LEFT", "COUNT"),
    (1, "l", "LEFT", "COUNT", 0),
    (1, "l", "LEFT", "COUNT", -1),
    (1, "l", "LEFT", "COUNT", "abc"),
    (1, "l", "LEFT", "COUNT", LLONG_MIN),
    (1, "l", "LEFT", "COUNT", "9223372036854775808"),
    (1, "l", "LEFT", "COUNT", 1, "COUNT", 1),
    (1, "l", "LEFT", "FOO", 1),
    (1, "l", "LEFT", "1"),
    (1, "s", "LEFT", "COUNT", 0),  # arguments are parsed before any key is looked at
    (1, "s", "UP"),
    (0, "s", "UP"),
]


@pytest.mark.parametrize("args", LMPOP_ERRORS, ids=lambda args: " ".join(map(str, args)))
def test_lmpop_errors(o: Oracle, args: tuple[Arg, ...]) -> None:
    seed(o)
    o.check("LMPOP", *args)
    o.check("LRANGE", "l", 0, -1)


def test_lmpop_arity(o: Oracle) -> None:
    o.check_all(("LMPOP",), ("LMPOP", 1), ("LMPOP", 1, "l"))


def test_words_stop_at_a_nul_byte(o: Oracle) -> None:
    """Redis compares LEFT/RIGHT, BEFORE/AFTER and the option names with strcasecmp, which
    stops at a NUL byte: ``LEFT\\0x`` is LEFT."""
    seed(o)
    o.check_all(
        ("LMOVE", "l", "m", b"LEFT\0x", b"right\0"),
        ("LMOVE", "l", "m", b"\0LEFT", "RIGHT"),
        ("LINSERT", "l", b"before\0after", "b", "z"),
        ("LPOS", "l", "a", b"RANK\0", 2, b"count\0\0", 0, b"MAXLEN\0z", 0),
        ("LMPOP", 1, "l", b"left\0", b"COUNT\0zz", 2),
        ("LRANGE", "l", 0, -1),
        ("LRANGE", "m", 0, -1),
    )


def test_keyspace_hits_and_misses(oracle: Oracle) -> None:
    """LINDEX and LPOS are reads (a hit or a miss each); the others are writes (neither)."""
    seed(oracle)
    oracle.check("CONFIG", "RESETSTAT")
    commands: list[tuple[Arg, ...]] = [
        ("LINDEX", "l", 0),
        ("LINDEX", "nope", 0),
        ("LINDEX", "s", 0),
        ("LINDEX", "l", "abc"),
        ("LPOS", "l", "a"),
        ("LPOS", "nope", "a", "COUNT", 0),
        ("LPOS", "l", "a", "RANK", 0),  # fails before the lookup
        ("LPUSHX", "l", "x"),
        ("RPUSHX", "nope", "x"),
        ("LSET", "l", 0, "y"),
        ("LINSERT", "l", "BEFORE", "y", "z"),
        ("LREM", "l", 1, "z"),
        ("LTRIM", "l", 0, -1),
        ("LMOVE", "l", "m", "LEFT", "LEFT"),
        ("RPOPLPUSH", "nope", "m"),
        ("LMPOP", 2, "nope", "m", "LEFT"),
    ]
    for command in commands:
        oracle.check(*command)
        ours, theirs = _counters(oracle, "keyspace_hits", "keyspace_misses")
        assert ours == theirs, command
    assert theirs == {"keyspace_hits": "4", "keyspace_misses": "2"}


# -- a random sequence ------------------------------------------------------------------------
KEYS = ["l", "m", "s", "nope"]
ELEMENTS = ["a", "b", "c", "1", ""]
INDEXES = [0, 1, 2, -1, -2, -3, 5, -10, 100]


def random_command(rng: random.Random) -> tuple[Arg, ...]:
    key = rng.choice(KEYS)
    other = rng.choice(KEYS)
    element = rng.choice(ELEMENTS)
    side = rng.choice(["LEFT", "RIGHT", "left", "right"])
    index = rng.choice(INDEXES)
    choice = rng.randrange(23)
    if choice in (0, 20, 21, 22):  # pushes often enough that the lists are seldom empty
        return ("RPUSH", rng.choice(["l", "m", "s"]), *rng.choices(ELEMENTS, k=rng.randint(1, 5)))
    if choice == 1:
        return ("LPUSH", rng.choice(["l", "m"]), *rng.choices(ELEMENTS, k=rng.randint(1, 3)))
    if choice == 2:
        return (rng.choice(["LPUSHX", "RPUSHX"]), key, *rng.choices(ELEMENTS, k=rng.randint(1, 3)))
    if choice == 3:
        return ("LINDEX", key, index)
    if choice == 4:
        return ("LSET", key, index, element)
    if choice == 5:
        return ("LINSERT", key, rng.choice(["BEFORE", "AFTER"]), element, rng.choice(ELEMENTS))
    if choice == 6:
        return ("LREM", key, rng.choice([0, 1, 2, -1, -2]), element)
    if choice == 7:
        return ("LTRIM", key, index, rng.choice(INDEXES))
    if choice in (8, 9):
        options: list[Arg] = []
        if rng.random() < 0.5:
            options += ["RANK", rng.choice([1, 2, -1, -2, 3])]
        if rng.random() < 0.5:
            options += ["COUNT", rng.choice([0, 1, 2])]
        if rng.random() < 0.3:
            options += ["MAXLEN", rng.choice([0, 1, 3])]
        return ("LPOS", key, element, *options)
    if choice in (10, 11):
        return ("LMOVE", key, other, side, rng.choice(["LEFT", "RIGHT"]))
    if choice == 12:
        return ("RPOPLPUSH", key, other)
    if choice in (13, 14):
        keys = rng.sample(KEYS, rng.randint(1, 3))
        count: tuple[Arg, ...] = ("COUNT", rng.choice([1, 2, 5])) if rng.random() < 0.6 else ()
        return ("LMPOP", len(keys), *keys, side, *count)
    if choice == 15:
        return (rng.choice(["LPOP", "RPOP"]), key, *rng.choice([(), (1,), (3,)]))
    if choice == 16:
        return ("SET", "s", element)
    if choice == 17:
        return ("DEL", rng.choice(KEYS))
    if choice == 18:
        return ("LLEN", key)
    return ("LRANGE", key, 0, -1)


@pytest.mark.parametrize("seed_value", range(6))
def test_random_sequence(oracle: Oracle, seed_value: int) -> None:
    rng = random.Random(seed_value)
    if seed_value % 2:
        hello3(oracle)
    for _ in range(400):
        command = random_command(rng)
        oracle.check(*command)
    for key in KEYS:
        oracle.check("TYPE", key)
        if key != "s":
            oracle.check("LRANGE", key, 0, -1)


@pytest.mark.parametrize(
    "args",
    [
        ("LMPOP", 2, "a", "b", "LEFT"),
        ("LMPOP", 1, "a", "RIGHT", "COUNT", 3),
        ("LMPOP", 3, "a", "b", "LEFT"),  # the direction counts as a key: Redis checks only room
        ("LMPOP", 4, "a", "b", "LEFT"),
        ("LMPOP", 0, "a", "LEFT"),
        ("LMPOP", -1, "a", "LEFT"),
        ("LMPOP", "x", "a", "LEFT"),
        ("LMPOP", "2x", "a", "b", "LEFT"),  # atoi reads the leading digits
        ("LMPOP", " +1", "a", "LEFT"),
        ("LMPOP", b"1\0", "a", "LEFT"),
        ("LMPOP", "4294967297", "a", "LEFT"),  # cut to a 32-bit int: 1
        ("LMPOP", "99999999999999999999", "a", "LEFT"),  # LONG_MAX cut to an int: -1
        ("LMPOP", 1, "a"),
        ("LMOVE", "a", "b", "LEFT", "RIGHT"),
        ("RPOPLPUSH", "a", "b"),
        ("LPOS", "a", "b", "RANK", 1),
        ("LINSERT", "a", "BEFORE", "p", "e"),
    ],
    ids=lambda args: " ".join(map(str, args)),
)
def test_command_getkeys(oracle: Oracle, args: tuple[Arg, ...]) -> None:
    oracle.check("COMMAND", "GETKEYS", *args)
