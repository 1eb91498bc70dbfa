"""The blocking commands against real Redis where they need not wait: BLMOVE, BRPOPLPUSH,
BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP (and BLPOP/BRPOP) on keys that hold something, their
argument and type errors in the order Redis checks them, in RESP2 and RESP3; then a seeded
random sequence over a few keys, compared step by step, whose blocking commands find something
or time out at once (a timeout of 1 ms).

What happens while clients wait (several real clients) is in ``tests/server/test_blocking.py``;
what reaches the AOF in ``tests/crash/test_blocking_aof.py``.
"""

from __future__ import annotations

import random

from tests.conftest import Oracle

Arg = bytes | str | int

# Timeouts Redis refuses, and how: not a number, negative, or too large for a 64-bit count of
# milliseconds. (-0.001 is not among them: in long double arithmetic it rounds up to 0 ms, and
# both servers wait forever.)
BAD_TIMEOUTS = ("abc", "", "1_0", "nan", "-1", "-0.0015", "inf", "1e400", "1e16")


def seed(o: Oracle) -> None:
    o.check("FLUSHALL")
    o.check("RPUSH", "l", "a", "b", "c", "d", "e")
    o.check("ZADD", "z", "1", "one", "2", "two", "3", "three", "1.5", "x")
    o.check("SET", "s", "str")


def test_blmove_and_brpoplpush_at_once(o: Oracle) -> None:
    seed(o)
    o.check_all(
        ("BLMOVE", "l", "d", "LEFT", "RIGHT", "0"),
        ("BLMOVE", "l", "d", "right", "left", "1"),
        ("BLMOVE", "l", "l", "LEFT", "LEFT", "0.5"),
        ("BLMOVE", "l", "l", "LEFT\0x", "RiGhT", "0"),  # words compared up to a NUL
        ("BRPOPLPUSH", "l", "d", "0"),
        ("BRPOPLPUSH", "l", "l", "0"),
        ("LRANGE", "l", 0, -1),
        ("LRANGE", "d", 0, -1),
        ("RPUSH", "one", "x"),
        ("BRPOPLPUSH", "one", "new", "0"),  # empties the source: it goes
        ("EXISTS", "one"),
        ("LRANGE", "new", 0, -1),
        # Errors, in Redis's order: the words, the timeout, the source, the destination.
        ("BLMOVE", "l", "d", "UP", "LEFT", "abc"),
        ("BLMOVE", "l", "d", "LEFT", "DOWN", "abc"),
        ("BLMOVE", "s", "d", "LEFT", "LEFT", "abc"),
        ("BLMOVE", "s", "d", "LEFT", "LEFT", "-1"),
        ("BLMOVE", "s", "d", "LEFT", "LEFT", "0"),
        ("BLMOVE", "l", "s", "LEFT", "LEFT", "0"),
        ("BLMOVE", "l", "z", "LEFT", "LEFT", "0"),
        ("BRPOPLPUSH", "s", "d", "abc"),
        ("BRPOPLPUSH", "s", "d", "0"),
        ("BRPOPLPUSH", "l", "s", "0"),
        ("BRPOPLPUSH", "z", "z", "0"),
        ("LRANGE", "l", 0, -1),
        ("BLMOVE", "l", "d", "LEFT", "RIGHT"),
        ("BRPOPLPUSH", "l", "d"),
        ("BRPOPLPUSH", "l", "d", "0", "0"),
    )


def test_blmpop_at_once(o: Oracle) -> None:
    seed(o)
    o.check("RPUSH", "m", "1", "2", "3")
    o.check_all(
        ("BLMPOP", "0", "1", "l", "LEFT"),
        ("BLMPOP", "0", "2", "none", "l", "RIGHT", "COUNT", "2"),
        ("BLMPOP", "1.5", "3", "none", "m", "l", "left", "count", "100"),  # takes all of m
        ("EXISTS", "m"),
        ("BLMPOP", "0", "1", "l", "RIGHT\0", "COUNT\0junk", "1"),
        # Errors: numkeys, the side, COUNT, then the timeout, then the keys' types.
        ("BLMPOP", "abc", "0", "l", "LEFT"),
        ("BLMPOP", "abc", "-1", "l", "LEFT"),
        ("BLMPOP", "abc", "x", "l", "LEFT"),
        ("BLMPOP", "abc", "3", "l", "LEFT"),
        ("BLMPOP", "abc", "1", "l", "MIDDLE"),
        ("BLMPOP", "abc", "1", "l", "LEFT", "COUNT"),
        ("BLMPOP", "abc", "1", "l", "LEFT", "COUNT", "0"),
        ("BLMPOP", "abc", "1", "l", "LEFT", "COUNT", "-5"),
        ("BLMPOP", "abc", "1", "l", "LEFT", "COUNT", "x"),
        ("BLMPOP", "abc", "1", "l", "LEFT", "COUNT", "1", "COUNT", "1"),
        ("BLMPOP", "abc", "1", "l", "LEFT", "EXTRA"),
        ("BLMPOP", "abc", "1", "l", "LEFT"),
        ("BLMPOP", "-1", "1", "l", "LEFT"),
        ("BLMPOP", "0", "2", "s", "l", "LEFT"),
        ("BLMPOP", "0", "2", "l", "s", "LEFT"),
        ("BLMPOP", "0", "1", "z", "LEFT"),
        ("BLMPOP", "0", "9223372036854775807", "l", "LEFT"),
        ("BLMPOP", "0", "1", "l"),
        ("LRANGE", "l", 0, -1),
    )


def test_bzpopmin_bzpopmax_at_once(o: Oracle) -> None:
    seed(o)
    o.check("ZADD", "y", "-inf", "low", "+inf", "high", "0", "zero")
    o.check_all(
        ("BZPOPMIN", "z", "0"),
        ("BZPOPMAX", "z", "0"),
        ("BZPOPMIN", "none", "y", "z", "1"),
        ("BZPOPMAX", "none", "y", "0.001"),
        ("BZPOPMIN", "y", "y", "0"),  # the last member: the key goes
        ("EXISTS", "y"),
        ("ZRANGE", "z", 0, -1, "WITHSCORES"),
        ("BZPOPMIN", "s", "abc"),  # the timeout first
        ("BZPOPMIN", "s", "z", "0"),
        ("BZPOPMAX", "z", "s", "0"),  # a sorted set before the string: no error
        ("BZPOPMIN", "none", "l", "0"),
        ("BZPOPMAX", "z"),
        ("BZPOPMIN",),
    )


def test_bzmpop_at_once(o: Oracle) -> None:
    seed(o)
    o.check_all(
        ("BZMPOP", "0", "1", "z", "MIN"),
        ("BZMPOP", "0", "2", "none", "z", "MAX", "COUNT", "2"),
        ("BZMPOP", "0.1", "1", "z", "min", "count", "10"),  # takes the rest: the key goes
        ("EXISTS", "z"),
        ("ZADD", "z", "5", "a", "6", "b"),
        ("BZMPOP", "0", "1", "z", "MAX\0x", "COUNT\0", "1"),
        ("ZMPOP", "1", "z", "min\0", "COUNT\0x", "1"),  # ZMPOP shares the parser
        ("BZMPOP", "abc", "0", "z", "MIN"),
        ("BZMPOP", "abc", "-1", "z", "MIN"),
        ("BZMPOP", "abc", "2", "z", "MIN"),
        ("BZMPOP", "abc", "1", "z", "LEFT"),
        ("BZMPOP", "abc", "1", "z", "MIN", "COUNT", "0"),
        ("BZMPOP", "abc", "1", "z", "MIN", "COUNT"),
        ("BZMPOP", "abc", "1", "z", "MIN", "LIMIT", "1"),
        ("BZMPOP", "abc", "1", "z", "MIN"),
        ("BZMPOP", "-5", "1", "z", "MIN"),
        ("BZMPOP", "0", "2", "s", "z", "MIN"),
        ("BZMPOP", "0", "2", "z", "s", "MAX"),
        ("BZMPOP", "0", "1", "l", "MIN"),
        ("BZMPOP", "0", "1", "z"),
        ("ZRANGE", "z", 0, -1, "WITHSCORES"),
    )


def test_timeout_errors(o: Oracle) -> None:
    seed(o)
    for timeout in BAD_TIMEOUTS:
        o.check_all(
            ("BLMOVE", "none", "d", "LEFT", "RIGHT", timeout),
            ("BRPOPLPUSH", "none", "d", timeout),
            ("BLMPOP", timeout, "1", "none", "LEFT"),
            ("BZPOPMIN", "none", timeout),
            ("BZPOPMAX", "none", "other", timeout),
            ("BZMPOP", timeout, "1", "none", "MAX", "COUNT", "3"),
        )


# -- a seeded random sequence -------------------------------------------------------------------
KEYS = ["l", "m", "z", "y", "s", "none"]
MEMBERS = ["a", "b", "c", "d"]
# Timeouts that end at once (a null array when nothing is there) and ones never reached.
TIMEOUTS = ["0.001", "0.001", "100", "-1", "x"]


def random_command(rng: random.Random) -> tuple[Arg, ...]:
    key, other = rng.choice(KEYS), rng.choice(KEYS)
    side = rng.choice(["LEFT", "RIGHT", "left", "right"])
    # A waited timeout of 100 s is only given where something is sure to be there.
    timeout = rng.choice(TIMEOUTS)
    choice = rng.randrange(14)
    if choice in (0, 1):
        return ("RPUSH", rng.choice(["l", "m", "s"]), *rng.choices(MEMBERS, k=rng.randint(1, 4)))
    if choice in (2, 3):
        pairs = [a for _ in range(rng.randint(1, 3)) for a in (rng.randint(-3, 3), *MEMBERS[:1])]
        pairs[1::2] = rng.choices(MEMBERS, k=len(pairs) // 2)
        return ("ZADD", rng.choice(["z", "y", "s"]), *pairs)
    if choice == 4:
        return ("SET", rng.choice(["s", "m"]), "v")
    if choice == 5:
        return ("DEL", key)
    if choice == 6:
        return ("BLMOVE", key, other, side, rng.choice(["LEFT", "RIGHT"]), timeout)
    if choice == 7:
        return ("BRPOPLPUSH", key, other, timeout)
    if choice == 8:
        keys = rng.sample(KEYS, rng.randint(1, 3))
        count: tuple[Arg, ...] = ("COUNT", rng.choice([1, 2, 5])) if rng.random() < 0.6 else ()
        return ("BLMPOP", timeout, len(keys), *keys, side, *count)
    if choice == 9:
        keys = rng.sample(KEYS, rng.randint(1, 3))
        count = ("COUNT", rng.choice([1, 2, 5])) if rng.random() < 0.6 else ()
        return ("BZMPOP", timeout, len(keys), *keys, rng.choice(["MIN", "MAX"]), *count)
    if choice == 10:
        return (rng.choice(["BZPOPMIN", "BZPOPMAX"]), *rng.sample(KEYS, rng.randint(1, 3)), timeout)
    if choice == 11:
        return (rng.choice(["BLPOP", "BRPOP"]), *rng.sample(KEYS, rng.randint(1, 3)), timeout)
    if choice == 12:
        return ("LRANGE", key, 0, -1)
    return ("ZRANGE", key, 0, -1, "WITHSCORES")


def fill_before_long_waits(command: tuple[Arg, ...]) -> list[tuple[Arg, ...]]:
    """A command with a 100 s timeout would wait on an empty key: fill every key it might wait
    on first, with the type it waits for, so the sequence never waits for long."""
    if "100" not in command:
        return [command]
    name = str(command[0])
    zset = name.startswith("BZ")
    keys = [a for a in command[1:] if a in KEYS]
    fills: list[tuple[Arg, ...]] = [("DEL", *keys)]
    fills += [("ZADD", k, 1, "f") if zset else ("RPUSH", k, "f") for k in keys]
    return [*fills, command]


def test_random_sequence(o: Oracle) -> None:
    rng = random.Random(1507)
    o.check("FLUSHALL")
    for _ in range(400):
        for command in fill_before_long_waits(random_command(rng)):
            o.check(*command)
