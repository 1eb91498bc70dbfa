"""KEYS with tricky patterns against real Redis: the glob rules (zyst.glob) as clients see them.

Both servers hold the same keys, built from the bytes that mean something in a pattern. KEYS
lists keys in each server's own dict order, so each reply is cut into its elements by their
lengths (checking the framing byte for byte) and the elements are compared as sorted raw bytes.
"""

from __future__ import annotations

import random
import time

import pytest

from tests.conftest import Oracle

ALPHABET = b"ab-]^\\*?[zA\x00\x7f\x80\xff"
PATTERN_ALPHABET = b"*?[]^-\\abzA\x00\x7f\x80\xff"

FIXED_KEYS = [
    b"",
    b"a",
    b"b",
    b"A",
    b"ab",
    b"aB",
    b"abc",
    b"a*b",
    b"a?b",
    b"a-b",
    b"[",
    b"]",
    b"[a]",
    b"\\",
    b"a\\",
    b"^",
    b"-",
    b"\x00",
    b"a\x00b",
    b"\x7f",
    b"\x80",
    b"\xff",
    b"x\xffy",
    b"\r\n",
    b"key:1",
    b"key:10",
    b"key:2",
    b"key:x:name",
    b"user:1:name",
]


def keyspace() -> list[bytes]:
    rng = random.Random(14)
    keys = set(FIXED_KEYS)
    while len(keys) < 150:
        keys.add(bytes(rng.choice(ALPHABET) for _ in range(rng.randint(1, 6))))
    return sorted(keys)


def random_patterns(count: int) -> list[bytes]:
    rng = random.Random(10)
    return [
        bytes(rng.choice(PATTERN_ALPHABET) for _ in range(rng.randint(0, 8))) for _ in range(count)
    ]


TRICKY = [
    b"*",
    b"**",
    b"",
    b"?",
    b"??",
    b"a*",
    b"*b",
    b"a*b",
    b"*a*",
    b"*?*",
    b"a**",
    b"key:*",
    b"key:1*",
    b"*:name",
    b"key:*:name",
    b"*:*:name",
    b"key:[12]",
    b"key:[1-2]*",
    b"key:[^1]*",
    b"[z-a]",
    b"[a-]",
    b"[]",
    b"[]a]",
    b"[^]",
    b"[!a]",
    b"[-a]",
    b"[",
    b"a[",
    b"[^",
    b"[ab",
    b"[ab*",
    b"x[\\",
    b"[\\]",
    b"[\\]]",
    b"[\\-]",
    b"\\*",
    b"a\\*b",
    b"a\\",
    b"\\",
    b"\\\\",
    b"\\[a]",
    b"[\x00-\xff]",
    b"[\x80-\x7f]",
    b"[a-\x80]",
    b"\xff*",
    b"*\xff*",
    b"?\x00?",
    b"a\x00b",
    b"[\x00]*",
    b"\r\n",
    b"a",
    b"nope",
    b"a?b",
    b"*a*b*",
    b"*[ab]*[ab]*",
]


def sorted_elements(raw: bytes) -> tuple[bytes, list[bytes]]:
    """The ``*N`` header of an array of bulk strings and its elements, each as the raw bytes of
    its ``$len`` line and data, in sorted order; fails unless ``raw`` is exactly that array."""
    header, rest = raw.split(b"\r\n", 1)
    assert header.startswith(b"*"), raw
    elements = []
    for _ in range(int(header[1:])):
        length_line, rest = rest.split(b"\r\n", 1)
        assert length_line.startswith(b"$"), raw
        size = int(length_line[1:])
        assert rest[size : size + 2] == b"\r\n", raw
        elements.append(length_line + b"\r\n" + rest[:size])
        rest = rest[size + 2 :]
    assert rest == b"", raw
    return header, sorted(elements)


def keys_agree(oracle: Oracle, pattern: bytes) -> int:
    """KEYS ``pattern`` on both servers gives the same elements; returns how many."""
    ours, theirs = oracle.run("KEYS", pattern)
    header, elements = sorted_elements(ours)
    assert (header, elements) == sorted_elements(theirs), f"KEYS {pattern!r}: {ours!r} {theirs!r}"
    return len(elements)


@pytest.fixture
def loaded(oracle: Oracle) -> Oracle:
    args: list[bytes | str | int] = ["MSET"]
    for key in keyspace():
        args += [key, b"v"]
    oracle.check(*args)
    return oracle


def test_tricky_patterns(loaded: Oracle) -> None:
    matched = [keys_agree(loaded, pattern) for pattern in TRICKY]
    assert matched[0] == len(keyspace())  # "*" lists the empty key too
    assert matched[1] == len(keyspace()) - 1  # "**" does not
    assert sum(1 for count in matched if count) > len(TRICKY) // 2  # not all empty replies


def test_random_patterns(loaded: Oracle) -> None:
    matched = [keys_agree(loaded, pattern) for pattern in random_patterns(600)]
    assert sum(1 for count in matched if count) > 100  # the test sees matches, not just misses


def test_every_one_byte_bracket(oracle: Oracle) -> None:
    # Signed-char ranges, reversed ranges and escapes, on keys of one byte around each boundary.
    edges = [bytes([b]) for b in b"\x00\x01-@AZ[\\]^`az{\x7e\x7f\x80\x81\xc0\xfe\xff"]
    args: list[bytes | str | int] = ["MSET"]
    for key in edges:
        args += [key, b"v"]
    oracle.check(*args)
    items = [low + b"-" + high for low in edges for high in edges]
    items += [b"\\" + byte for byte in edges] + edges
    for opening in (b"[", b"[^"):
        for item in items:
            keys_agree(oracle, opening + item + b"]")


@pytest.mark.parametrize(
    "pattern",
    [
        b"*" * 2000 + b"a",  # longer than Zyst translates: its exact matcher answers
        b"a" + b"*" * 2000,
        b"*" * 1500 + b"[ab]" + b"*" * 1500,
        b"?" * 2000,
        b"[" + b"a" * 2000,
        b"key:" + b"\\" * 2001,
    ],
)
def test_long_patterns(loaded: Oracle, pattern: bytes) -> None:
    keys_agree(loaded, pattern)


def test_literal_patterns_name_one_key(loaded: Oracle) -> None:
    for pattern in (b"a", b"key:10", b"a\\*b", b"\\a", b"[a]", b"\x00", b"", b"missing"):
        keys_agree(loaded, pattern)
    loaded.check("DEL", "")
    assert keys_agree(loaded, b"") == 0


def test_expired_keys_are_left_out(oracle: Oracle) -> None:
    oracle.check("MSET", "keep:1", "v", "keep:2", "v")
    oracle.check("SET", "gone:1", "v", "PX", 1)
    oracle.check("SET", "gone", "v", "PX", 1)
    # Wait until both servers leave them out (KEYS deletes nothing, so this changes nothing).
    deadline = time.monotonic() + 10
    while oracle.run("KEYS", "gone*") != (b"*0\r\n", b"*0\r\n"):
        assert time.monotonic() < deadline, "the keys did not expire"
        time.sleep(0.005)
    for pattern in (b"gone:1", b"gone", b"*:1", b"*:[12]", b"*", b"*o*"):
        keys_agree(oracle, pattern)
