"""Unit tests of zyst.glob: the exact matcher (the specification) and the compiled fast path.

Every case-sensitive expectation below was checked against redis-server 7.0.15 with KEYS,
including the quirks: unterminated brackets, reversed ranges, signed-char ranges and the empty
string (tests/oracle/test_glob_oracle.py repeats that check on every run). The nocase rules were
compared with Redis's CONFIG GET on random patterns over its setting names. Hypothesis then holds
the fast path to the exact matcher on random patterns over the bytes that carry meaning.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zyst.glob import compile_glob, stringmatch, stringmatch_exact

Matcher = Callable[[bytes, bytes, bool], bool]


def fast_one(pattern: bytes, string: bytes, nocase: bool) -> bool:
    return stringmatch(pattern, string, nocase)


def fast_select(pattern: bytes, string: bytes, nocase: bool) -> bool:
    return compile_glob(pattern, nocase).select([string]) == [string]


MATCHERS = pytest.mark.parametrize(
    "match", [stringmatch_exact, fast_one, fast_select], ids=["exact", "fast", "select"]
)

CASES = [
    # pattern, string, matches
    (b"", b"", True),
    (b"", b"a", False),
    (b"a", b"a", True),
    (b"a", b"b", False),
    (b"a", b"aa", False),
    (b"abc", b"abc", True),
    # stars
    (b"*", b"", False),  # an empty string meets no star (KEYS * lists it only by skipping
    (b"**", b"", False),  # the matcher altogether)
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


@MATCHERS
@pytest.mark.parametrize(("pattern", "string", "expected"), CASES)
def test_case_sensitive(match: Matcher, pattern: bytes, string: bytes, expected: bool) -> None:
    assert match(pattern, string, False) is expected


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


@MATCHERS
@pytest.mark.parametrize(("pattern", "string", "expected"), NOCASE_CASES)
def test_nocase(match: Matcher, pattern: bytes, string: bytes, expected: bool) -> None:
    assert match(pattern, string, True) is expected


def test_case_matters_without_nocase() -> None:
    assert not stringmatch(b"PORT", b"port")
    assert not stringmatch(b"[A-Z]", b"q")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("match", [stringmatch_exact, fast_one], ids=["exact", "fast"])
@pytest.mark.parametrize(
    "pattern",
    [b"a*a*a*a*a*a*a*a*a*a*b", b"*a*a*a*a*a*a*a*a*a*a*a*a*c*", b"*?*?*?*?*?*?*?*?*?*?*!"],
)
def test_many_stars_are_not_exponential(match: Matcher, pattern: bytes) -> None:
    # Without the skipLongerMatches effect each of these would take longer than the universe
    # (the timeout turns that into a failure; no time is asserted).
    assert not match(pattern, b"a" * 20_000, False)


@pytest.mark.parametrize("match", [stringmatch_exact, fast_one], ids=["exact", "fast"])
def test_thousands_of_stars_do_not_overflow_the_stack(match: Matcher) -> None:
    # 6001 bytes: the fast path hands this to the exact matcher; 301 bytes it translates.
    for stars in (3000, 150):
        assert match(b"*a" * stars + b"*", b"a" * 5000, False)
        assert not match(b"*a" * stars + b"*b", b"a" * 5000, False)


def test_same_pattern_with_and_without_nocase_is_not_confused_by_the_cache() -> None:
    assert stringmatch(b"ABC", b"abc", nocase=True)
    assert not stringmatch(b"ABC", b"abc")


# -- the fast path against the specification ----------------------------------------------------
# Every byte that means something in a pattern, a few plain ones, NUL, a capital, and bytes on
# both sides of the signed-char boundary.
PATTERN_BYTES = [bytes([b]) for b in b"*?[]^-\\abzA\x00\x7f\x80\xff"]
STRING_BYTES = [bytes([b]) for b in b"ab-]^\\*?[zA\x00\x7f\x80\xff"]
one_byte = st.sampled_from(PATTERN_BYTES)
escaped = one_byte.map(lambda byte: b"\\" + byte)
ranged = st.tuples(one_byte, one_byte).map(lambda pair: pair[0] + b"-" + pair[1])
bracket = st.tuples(
    st.sampled_from([b"[", b"[^"]),
    st.lists(st.one_of(one_byte, escaped, ranged), max_size=3).map(b"".join),
    st.sampled_from([b"]", b""]),  # unterminated, sometimes
).map(b"".join)
# Byte soup finds what nobody thought of; pieces reach ranges and escapes inside brackets.
patterns = st.one_of(
    st.lists(one_byte, max_size=12).map(b"".join),
    st.lists(st.one_of(one_byte, escaped, bracket), max_size=6).map(b"".join),
)
strings = st.lists(st.sampled_from(STRING_BYTES), max_size=10).map(b"".join)


def strings_for(pattern: bytes) -> st.SearchStrategy[bytes]:
    """Strings over the pattern's own bytes in both cases, and the usual ones: random strings
    then often hit the pattern's literals and range bounds."""
    own = {bytes([b]) for b in pattern + pattern.swapcase()}
    return st.lists(st.sampled_from(sorted(own.union(STRING_BYTES))), max_size=10).map(b"".join)


@settings(max_examples=500, deadline=None)
@given(patterns, st.data())
def test_fast_path_agrees_with_the_exact_matcher(pattern: bytes, data: st.DataObject) -> None:
    many = data.draw(st.lists(strings_for(pattern), max_size=30))
    for nocase in (False, True):
        glob = compile_glob(pattern, nocase)
        for string in many:
            expected = stringmatch_exact(pattern, string, nocase)
            assert glob.matches(string) is expected, (pattern, string, nocase)
            assert glob.select([string]) == ([string] if expected else [])
            if glob.literal is not None:
                assert expected is (string == glob.literal)


# Bytes around every boundary a bracket cares about: NUL, the ASCII capitals and small letters,
# the bytes with a meaning inside brackets, and both sides of the signed-char boundary.
EDGE_BYTES = [bytes([b]) for b in b"\x00\x01-@AZ[\\]^`az{\x7e\x7f\x80\x81\xc0\xfe\xff"]
ONE_BRACKET = [
    opening + item + b"]"
    for opening in (b"[", b"[^")
    for item in [low + b"-" + high for low in EDGE_BYTES for high in EDGE_BYTES]
    + [b"\\" + byte for byte in EDGE_BYTES]
    + EDGE_BYTES
]


def test_one_bracket_agrees_with_the_exact_matcher_on_every_edge_byte() -> None:
    # Where the signed ranges, case folding and escapes live, tried exhaustively.
    for nocase in (False, True):
        for pattern in ONE_BRACKET:
            glob = compile_glob(pattern, nocase)
            for string in EDGE_BYTES:
                expected = stringmatch_exact(pattern, string, nocase)
                assert glob.matches(string) is expected, (pattern, string, nocase)


@settings(max_examples=300, deadline=None)
@given(patterns, st.lists(strings, max_size=20), st.booleans())
def test_select_keeps_the_order_and_only_matches(
    pattern: bytes, many: list[bytes], nocase: bool
) -> None:
    chosen = compile_glob(pattern, nocase).select(iter(many))
    assert chosen == [s for s in many if stringmatch_exact(pattern, s, nocase)]


@settings(max_examples=500, deadline=None)
@given(patterns, strings)
def test_untranslated_long_patterns_agree_with_short_equivalents(
    pattern: bytes, string: bytes
) -> None:
    # A run of 2000 stars is one star: the long form goes to the exact matcher inside Glob,
    # the short one is translated. (Two stars at the end: a trailing backslash escapes one.)
    pairs = ((b"*" * 2000 + pattern, b"*" + pattern), (pattern + b"*" * 2000, pattern + b"**"))
    for long, short in pairs:
        assert compile_glob(long).matches(string) is compile_glob(short).matches(string)
        assert compile_glob(long).select([string]) == compile_glob(short).select([string])


def test_literal_is_the_one_string_matched() -> None:
    assert compile_glob(b"a\\*b\\").literal == b"a*b\\"
    assert compile_glob(b"").literal == b""
    assert compile_glob(b"[a]").literal == b"a"
    for pattern in (b"a*", b"a?", b"[ab]", b"*"):
        assert compile_glob(pattern).literal is None
    assert compile_glob(b"ab", nocase=True).literal is None
    assert compile_glob(b"1-2", nocase=True).literal == b"1-2"
