"""Indexes and counts at the edges of a collection, compared byte for byte with redis-server:
every pair of LRANGE indexes around ``-len-1``, ``-len``, ``-1``, ``0``, ``len-1``, ``len``,
``len+1`` and the 64-bit extremes, and every pop count around the length, on a missing key and
on lists and sets of a few lengths.
"""

from __future__ import annotations

import hiredis
import pytest

from tests.conftest import Oracle

LLONG_MAX = 2**63 - 1
LLONG_MIN = -(2**63)
LENGTHS = [0, 1, 2, 5]


def around_length(n: int) -> list[int | str]:
    """Indexes at and next to each end of a sequence of ``n``, plus the 64-bit extremes and
    spellings that are not integers at all."""
    near = {-n - 2, -n - 1, -n, -n + 1, -2, -1, 0, 1, n - 2, n - 1, n, n + 1, n + 2}
    return [
        *sorted(near),
        LLONG_MAX,
        LLONG_MAX - 1,
        LLONG_MIN,
        LLONG_MIN + 1,
        str(LLONG_MAX + 1),
        str(LLONG_MIN - 1),
        "-0",
        "+1",
        "01",
        "",
        " 1",
        "1.0",
    ]


def counts_around(n: int) -> list[int | str]:
    """Pop counts at and next to ``n``, the extremes, and counts that are refused."""
    near = {0, 1, n - 1, n, n + 1}
    return [
        *sorted(c for c in near if c >= 0),
        LLONG_MAX,
        -1,
        -n - 1,
        LLONG_MIN,
        str(LLONG_MAX + 1),
        "",
        "x",
    ]


def fill_list(n: int) -> list[tuple[str | int, ...]]:
    commands: list[tuple[str | int, ...]] = [("DEL", "l")]
    if n:
        commands.append(("RPUSH", "l", *(f"e{i}" for i in range(n))))
    return commands


@pytest.mark.parametrize("n", LENGTHS)
def test_lrange_at_every_boundary(oracle: Oracle, n: int) -> None:
    oracle.check_many(fill_list(n))
    indexes = around_length(n)
    oracle.check_many([("LRANGE", "l", start, stop) for start in indexes for stop in indexes])


@pytest.mark.parametrize("n", LENGTHS)
@pytest.mark.parametrize("pop", ["LPOP", "RPOP"])
def test_list_pop_counts_at_every_boundary(oracle: Oracle, n: int, pop: str) -> None:
    commands: list[tuple[str | int, ...]] = []
    for count in counts_around(n):
        commands += fill_list(n)
        commands += [(pop, "l", count), ("LRANGE", "l", 0, -1), ("EXISTS", "l")]
    commands += [*fill_list(n), (pop, "l"), ("LRANGE", "l", 0, -1)]
    oracle.check_many(commands)


def parsed(raw: bytes) -> object:
    reader = hiredis.Reader()
    reader.feed(raw)
    return reader.gets()


@pytest.mark.parametrize("n", LENGTHS)
def test_spop_counts_at_every_boundary(oracle: Oracle, n: int) -> None:
    # The members SPOP picks are random: compare how many came back and how many are left, and
    # the bytes themselves wherever the reply is not a choice (errors, empty, the whole set).
    members = [f"m{i}" for i in range(n)]
    for count in counts_around(n):
        setup: list[tuple[str | int, ...]] = [("DEL", "s")]
        if n:
            setup.append(("SADD", "s", *members))
        oracle.check_many(setup)
        ours, theirs = oracle.run_many([("SPOP", "s", count), ("SMEMBERS", "s"), ("EXISTS", "s")])
        popped, left = parsed(ours[0]), parsed(ours[1])
        if isinstance(popped, list):
            theirs_popped = parsed(theirs[0])
            assert isinstance(theirs_popped, list) and isinstance(left, list)
            assert len(popped) == len(theirs_popped), f"SPOP s {count!r}"
            assert sorted(popped + left) == sorted(m.encode() for m in members)
        else:
            assert ours[0] == theirs[0], f"SPOP s {count!r}"
        assert len(left) == len(parsed(theirs[1])), f"SPOP s {count!r}"
        assert ours[2] == theirs[2], f"SPOP s {count!r}"


@pytest.mark.parametrize("n", LENGTHS)
def test_lrange_on_the_wrong_type_and_bad_indexes(oracle: Oracle, n: int) -> None:
    # The indexes are parsed before the key's type is checked.
    oracle.check_many([("DEL", "str"), ("SET", "str", "v")])
    indexes = [0, -1, n, n + 1, LLONG_MAX, "x"]
    oracle.check_many([("LRANGE", "str", start, stop) for start in indexes for stop in indexes])
