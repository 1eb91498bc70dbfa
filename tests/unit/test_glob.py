"""Unit tests of zyst.glob.stringmatch.

Every case-sensitive expectation below was checked against redis-server 7.0.15 with KEYS,
including the quirks: unterminated brackets, reversed ranges, signed-char ranges and the empty
string. The nocase rules were compared with Redis's CONFIG GET on random patterns over its
setting names.
"""

from __future__ import annotations

import time

import pytest

from zyst.glob import stringmatch

CASES = [
    # pattern, string, matches
    (b"", b"", True),
    (b"", b"a", False),
    (b"a", b"a", True),
    (b"a", b"b", False),
    (b"a", b"aa", False),
    (b"abc", b"abc", True),
    # stars
    (b"*", b"", True),  # fast path, as KEYS * and SCAN without MATCH
    (b"**", b"", False),  # Redis never matches an empty string against a non-empty pattern
    (b"*", b"anything", True),
    (b"a*", b"a", True),
    (b"a*", b"abc", True),
    (b"a**", b"a", True),
    (b"*a", b"a", True),
    (b"*a", b"ba", True),
    (b"*a", b"ab", False),
    (b"a*b", b"ab", True),
    (b"a*b", b"axxb", True),
    (b"a*b", b"axxbx", False),
    (b"a*b*c", b"abbbc", True),
    (b"a***b", b"a-b", True),
    (b"*b*", b"abc", True),
    (b"*x*", b"abc", False),
    (b"h*llo", b"heeeello", True),
    # question mark
    (b"?", b"a", True),
    (b"?", b"", False),
    (b"?", b"ab", False),
    (b"h?llo", b"hallo", True),
    (b"h?llo", b"hllo", False),
    (b"??*", b"ab", True),
    (b"??*", b"a", False),
    # sets
    (b"h[ae]llo", b"hello", True),
    (b"h[ae]llo", b"hallo", True),
    (b"h[ae]llo", b"hillo", False),
    (b"h[^e]llo", b"hallo", True),
    (b"h[^e]llo", b"hello", False),
    (b"h[a-b]llo", b"hbllo", True),
    (b"h[a-b]llo", b"hcllo", False),
    (b"[z-a]", b"m", True),  # reversed range
    (b"[z-a]", b"A", False),
    (b"[a-]", b"a", True),  # "a-]" is the range a..] (reversed), unterminated
    (b"[a-]", b"^", True),
    (b"[a-]", b"-", False),
    (b"[]", b"]", False),  # empty set
    (b"[]a]", b"a", False),
    (b"[]a]", b"]", False),
    (b"[^]", b"x", True),
    (b"[!a]", b"!", True),  # '!' is not a negation in Redis
    (b"[!a]", b"b", False),
    (b"[-a]", b"-", True),
    (b"[a-c-e]", b"-", True),
    (b"[a-c-e]", b"d", False),
    # escapes
    (b"\\*", b"*", True),
    (b"\\*", b"a", False),
    (b"\\?", b"?", True),
    (b"\\[a]", b"[a]", True),
    (b"a\\", b"a\\", True),  # a lone trailing backslash is a backslash
    (b"\\\\", b"\\", True),
    (b"[\\]]", b"]", True),
    (b"[\\]]", b"\\", False),
    (b"[\\-]", b"-", True),
    (b"[\\^a]", b"^", True),
    (b"[a\\-z]", b"b", False),
    (b"[a\\-z]", b"-", True),
    # unterminated brackets take the rest of the pattern
    (b"[", b"[", False),
    (b"a[", b"a[", False),
    (b"[^", b"x", True),
    (b"[ab", b"b", True),
    (b"[ab", b"ab", False),
    (b"[ab*", b"*", True),
    (b"x[\\", b"x\\", True),
    (b"[\\]", b"]", True),
    # bytes above 0x7f sort below 0x00 in ranges (C's signed char)
    (b"[\x00-\xff]", b"\xff", True),
    (b"[\x00-\xff]", b"\x00", True),
    (b"[\x00-\xff]", b"a", False),
    (b"[\x80-\x7f]", b"a", True),
    (b"[a-\x80]", b"\x90", True),
    (b"[a-\x80]", b"z", False),
    (b"\xff*", b"\xff\x00", True),
    (b"?", b"\x00", True),
]


@pytest.mark.parametrize(("pattern", "string", "expected"), CASES)
def test_case_sensitive(pattern: bytes, string: bytes, expected: bool) -> None:
    assert stringmatch(pattern, string) is expected


NOCASE_CASES = [
    (b"PORT", b"port", True),
    (b"p?RT", b"port", True),
    (b"*FSYNC", b"appendfsync", True),
    (b"[A-Z]", b"q", True),
    (b"[a-z]", b"Q", True),
    (b"[A-z]", b"_", False),  # bounds fold after ordering: A-z becomes a-z
    (b"[^P]ort", b"port", False),
    (b"[\\P]ort", b"port", False),  # an escaped byte inside brackets keeps its case
    (b"[\\p]ort", b"Port", False),
    (b"\\Port", b"port", True),  # outside brackets an escaped byte folds
    (b"\xc9", b"\xe9", False),  # only ASCII letters fold
]


@pytest.mark.parametrize(("pattern", "string", "expected"), NOCASE_CASES)
def test_nocase(pattern: bytes, string: bytes, expected: bool) -> None:
    assert stringmatch(pattern, string, nocase=True) is expected


def test_case_matters_without_nocase() -> None:
    assert not stringmatch(b"PORT", b"port")
    assert not stringmatch(b"[A-Z]", b"q")


@pytest.mark.parametrize(
    "pattern",
    [b"a*a*a*a*a*a*a*a*a*a*b", b"*a*a*a*a*a*a*a*a*a*a*a*a*c*", b"*?*?*?*?*?*?*?*?*?*?*!"],
)
def test_many_stars_are_not_exponential(pattern: bytes) -> None:
    # Without the skipLongerMatches effect each of these takes longer than the universe.
    string = b"a" * 20_000
    started = time.perf_counter()
    assert not stringmatch(pattern, string)
    assert time.perf_counter() - started < 2.0


def test_thousands_of_stars_do_not_overflow_the_stack() -> None:
    assert stringmatch(b"*a" * 3000 + b"*", b"a" * 5000)
    assert not stringmatch(b"*a" * 3000 + b"*b", b"a" * 5000)


def test_same_pattern_with_and_without_nocase_is_not_confused_by_the_cache() -> None:
    assert stringmatch(b"ABC", b"abc", nocase=True)
    assert not stringmatch(b"ABC", b"abc")
