"""Strings modified in place against real Redis: APPEND, SETRANGE, SETBIT and BITFIELD mixed with
the commands that read, overwrite, copy, move or sort by the same keys, compared reply by reply
(raw bytes) with redis-server. Zyst keeps such a string as a ``bytearray`` from its first change
on (see :mod:`zyst.keyspace`); every command must see it as the string it holds.

MEMORY USAGE's figure is Zyst's own estimate: only its kind (a number or null) is compared.
"""

from __future__ import annotations

import random

import pytest

from tests.conftest import Oracle

Arg = bytes | str | int
Cmd = tuple[Arg, ...]

KEYS = ("k0", "k1", "k2", "k3")


def test_append_builds_the_string(oracle: Oracle) -> None:
    commands: list[Cmd] = [
        ("APPEND", "k", "ab"),
        ("APPEND", "k", "cd"),
        *(("APPEND", "k", "x" * 100) for _ in range(30)),
        ("STRLEN", "k"),
        ("GETRANGE", "k", "0", "5"),
        ("SETRANGE", "k", "1", "ZZ"),
        ("GET", "k"),
        ("SETBIT", "k", "0", "1"),
        ("GETRANGE", "k", "0", "3"),
        ("SET", "k", "10"),
        ("APPEND", "k", "5"),
        ("INCR", "k"),
        ("APPEND", "k", "0"),
        ("INCRBY", "k", "5"),
        ("TYPE", "k"),
    ]
    replies = oracle.check_many(commands)
    assert replies[0] == b":2\r\n" and replies[1] == b":4\r\n"
    assert replies[32] == b":3004\r\n"
    assert replies[33] == b"$6\r\nabcdxx\r\n"
    assert replies[36] == b":0\r\n"
    assert replies[37] == b"$4\r\n\xe1ZZd\r\n"
    assert replies[-4] == b":106\r\n"  # "10" + "5", plus one
    assert replies[-2] == b":1065\r\n"  # "106" + "0", plus five
    assert replies[-1] == b"+string\r\n"


def test_copy_rename_and_sort_by_see_the_changed_string(oracle: Oracle) -> None:
    commands: list[Cmd] = [
        ("SET", "w_a", "3"),
        ("APPEND", "w_a", "0"),  # 30
        ("SETRANGE", "w_b", "0", "2"),  # created by SETRANGE
        ("SET", "w_c", "1"),
        ("SETBIT", "w_c", "6", "1"),  # "1" is 0x31, bit 6 set makes 0x33: "3"
        ("RPUSH", "l", "a", "b", "c"),
        ("SORT", "l", "BY", "w_*"),
        ("SORT", "l", "BY", "nosort", "GET", "w_*", "GET", "#"),
        ("COPY", "w_a", "w_d"),
        ("APPEND", "w_a", "0"),  # 300; the copy stays 30
        ("GET", "w_d"),
        ("RPUSH", "l", "d"),
        ("SORT", "l", "BY", "w_*", "DESC"),
        ("RENAME", "w_a", "w_e"),
        ("APPEND", "w_e", "1"),
        ("MGET", "w_a", "w_b", "w_c", "w_d", "w_e", "l"),
        ("SETRANGE", "w_b", "1", "x"),  # no longer a number
        ("SORT", "l", "BY", "w_*"),
        ("SORT", "l", "BY", "w_*", "ALPHA"),
        ("MOVE", "w_e", "1"),
        ("SELECT", "1"),
        ("APPEND", "w_e", "!"),
        ("GET", "w_e"),
        ("SWAPDB", "0", "1"),
        ("GET", "w_e"),
        ("TYPE", "w_e"),
        ("SELECT", "0"),
    ]
    replies = oracle.check_many(commands)
    assert replies[6] == b"*3\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\na\r\n"  # 2, 3, 30
    assert replies[10] == b"$2\r\n30\r\n"
    assert replies[22] == b"$5\r\n3001!\r\n"


def test_lcs_bitop_and_bit_reads_on_changed_strings(oracle: Oracle) -> None:
    commands: list[Cmd] = [
        ("SET", "a", "ohmytext"),
        ("APPEND", "a", "s"),
        ("SETRANGE", "b", "0", "mynewtext"),
        ("LCS", "a", "b"),
        ("LCS", "a", "b", "IDX", "WITHMATCHLEN"),
        ("BITOP", "XOR", "c", "a", "b"),
        ("BITOP", "NOT", "d", "a"),
        ("BITOP", "AND", "e", "b"),
        ("GET", "c"),
        ("GET", "d"),
        ("GET", "e"),
        ("BITCOUNT", "a"),
        ("BITCOUNT", "b", "1", "-2"),
        ("BITCOUNT", "b", "3", "30", "BIT"),
        ("BITPOS", "a", "0"),
        ("BITPOS", "b", "1", "2", "-1", "BIT"),
        ("GETBIT", "a", "9"),
        ("BITFIELD_RO", "b", "GET", "u8", "0", "GET", "i12", "5"),
        ("BITFIELD", "b", "INCRBY", "u8", "#0", "1", "GET", "u8", "0"),
        ("GET", "b"),
        ("SUBSTR", "b", "-4", "-1"),
    ]
    oracle.check_many(commands)


def test_memory_usage_of_a_changed_string_is_a_number(oracle: Oracle) -> None:
    oracle.check_many([("SET", "k", "abc"), ("APPEND", "k", "d" * 100)])
    ours, theirs = oracle.run("MEMORY", "USAGE", "k")
    assert ours[:1] == theirs[:1] == b":"
    assert int(ours[1:]) > 100


def random_command(rng: random.Random) -> Cmd:
    """One command over ``KEYS`` (plus the list ``l`` of their suffixes), weighted toward the
    in-place writes and the reads that see them."""
    key = rng.choice(KEYS)
    other = rng.choice(KEYS)
    value = rng.choice(["", "1", "42", "-7", "abc", "x" * rng.randint(1, 40), "\x00\xff"])
    offset = rng.randint(0, 48)
    roll = rng.randrange(30)
    if roll < 5:
        return ("APPEND", key, value)
    if roll < 8:
        return ("SETRANGE", key, offset, value)
    if roll < 11:
        return ("SETBIT", key, rng.randint(0, 400), rng.randint(0, 1))
    if roll < 13:
        kind = rng.choice(["u8", "i16", "u3", "i64"])
        return (
            "BITFIELD",
            key,
            "OVERFLOW",
            rng.choice(["WRAP", "SAT"]),
            rng.choice(["SET", "INCRBY"]),
            kind,
            rng.choice([str(offset), f"#{offset % 5}"]),
            rng.randint(-300, 300),
            "GET",
            kind,
            offset,
        )
    if roll == 13:
        return ("GET", key)
    if roll == 14:
        return ("GETRANGE", key, rng.randint(-20, 20), rng.randint(-20, 20))
    if roll == 15:
        return ("STRLEN", key)
    if roll == 16:
        return ("GETBIT", key, rng.randint(0, 400))
    if roll == 17:
        return ("BITCOUNT", key, *rng.choice([(), ("0", "-1"), (1, 9, "BIT")]))
    if roll == 18:
        return ("INCR", key)
    if roll == 19:
        return ("GETSET", key, value)
    if roll == 20:
        return ("COPY", key, other, *rng.choice([(), ("REPLACE",)]))
    if roll == 21:
        return ("RENAME", key, other)
    if roll == 22:
        return ("TYPE", key)
    if roll == 23:
        return ("SORT", "l", "BY", "k*", *rng.choice([(), ("ALPHA",)]), "GET", "k*", "GET", "#")
    if roll == 24:
        return ("MGET", *KEYS)
    if roll == 25:
        return ("SET", key, value)
    if roll == 26:
        return ("BITPOS", key, rng.randint(0, 1))
    if roll == 27:
        return ("BITOP", rng.choice(["AND", "OR", "XOR"]), other, key, rng.choice(KEYS))
    if roll == 28:
        return ("LPUSH", key, "x")  # a wrong type among the strings
    return rng.choice([("DEL", key), ("MEMORY", "USAGE", key), ("LCS", key, other)])


def compare(commands: list[Cmd], ours: list[bytes], theirs: list[bytes]) -> None:
    for command, mine, real in zip(commands, ours, theirs, strict=True):
        if command[0] == "MEMORY":
            assert mine[:1] == real[:1], (command, mine, real)
        else:
            assert mine == real, f"{command!r}: zyst {mine!r} != redis {real!r}"


@pytest.mark.parametrize("seed", range(6))
def test_random_sequences_match_redis(oracle: Oracle, seed: int) -> None:
    rng = random.Random(seed)
    oracle.check("RPUSH", "l", "0", "1", "2", "3")
    commands = [random_command(rng) for _ in range(600)]
    for start in range(0, len(commands), 100):
        chunk = commands[start : start + 100]
        compare(chunk, *oracle.run_many(chunk))
    # And where it ended: every key the same.
    oracle.check_many([("GET", key) for key in KEYS] + [("TYPE", key) for key in KEYS])
