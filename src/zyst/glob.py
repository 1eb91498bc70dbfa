"""Glob-style pattern matching with the exact rules of Redis's ``stringmatchlen`` (``util.c``).

This module owns glob matching for KEYS, SCAN MATCH, PSUBSCRIBE, CONFIG GET and COMMAND LIST.
Compile a pattern once with :func:`compile_glob`, then ask the :class:`Glob` about one string
(:meth:`Glob.matches`) or a whole collection (:meth:`Glob.select`); :func:`stringmatch` is the
one-off form.

Syntax of a pattern (bytes, not text):

- ``*`` matches any run of bytes, including none; consecutive stars act as one;
- ``?`` matches exactly one byte;
- ``[abc]`` matches one byte of the set, ``[^abc]`` one byte outside it; inside the brackets
  ``a-z`` is an inclusive range (a reversed range ``z-a`` is the same as ``a-z``) and ``\\x``
  stands for the byte ``x`` itself (so ``[\\]]`` matches ``]``);
- ``\\x`` outside brackets matches the byte ``x`` (a lone trailing ``\\`` matches a backslash);
- any other byte matches itself.

Redis's quirks, kept on purpose because clients can observe them:

- an unterminated ``[`` takes the rest of the pattern as its set (``[ab`` is ``[ab]``), a ``[``
  at the very end matches nothing and ``[^`` at the very end matches any byte; ``[]`` matches
  nothing and ``[^]`` matches any byte; ``[a-]`` is the range from ``a`` to ``]``;
- ranges compare bytes as C's *signed* ``char``: bytes 0x80-0xFF sort before 0x00;
- with ``nocase`` only ASCII letters fold, ranges fold their bounds after ordering them, and an
  escaped byte inside brackets is compared case-sensitively;
- an empty string is matched only by the empty pattern: not even ``*`` matches ``b""``. (KEYS and
  SCAN skip matching altogether for the pattern ``*``, so there it does list an empty key; that
  shortcut is theirs to take, PSUBSCRIBE does not take it.)

Two implementations, one meaning:

- :func:`stringmatch_exact` walks the pattern byte by byte as Redis does. It is the
  specification (the tests hold the fast path to it on random patterns, and it to redis-server)
  and it serves patterns longer than ``_MAX_TRANSLATED`` bytes, whose translation would cost
  more than it saves.
- :class:`Glob` first sorts a pattern by shape: a literal (one string); a literal prefix and
  suffix around one star run (``key:*``, ``*:name``, ``a*z``, ``*``: ``startswith`` and
  ``endswith``, which mypyc compiles to plain C calls); anything else becomes one regular
  expression, with its literal prefix and suffix checked first.

Why the regular expression never backtracks into an earlier star: every token but ``*``
matches exactly one byte, so taking the earliest place where the tokens between two stars fit
is always right (a later place only leaves less of the string for the rest). Each star but the
last becomes an atomic lazy group, and ``a*a*a*a*a*b`` against a long string costs about
(pattern length x string length), as Redis 7's ``skipLongerMatches`` guard achieves.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Final

__all__ = ["Glob", "compile_glob", "stringmatch", "stringmatch_exact"]

_STAR: Final = 0x2A  # *
_QUESTION: Final = 0x3F  # ?
_OPEN: Final = 0x5B  # [
_CLOSE: Final = 0x5D  # ]
_CARET: Final = 0x5E  # ^
_BACKSLASH: Final = 0x5C  # \
_DASH: Final = 0x2D  # -

# Longer patterns are matched by stringmatch_exact: compiling a regular expression costs about
# 10 us per pattern byte, and such patterns are rare enough not to deserve it.
_MAX_TRANSLATED: Final = 1024


def stringmatch(pattern: bytes, string: bytes, nocase: bool = False) -> bool:
    """Whether ``string`` matches the glob ``pattern``; ``nocase`` folds ASCII letters only."""
    return compile_glob(pattern, nocase).matches(string)


# -- the specification --------------------------------------------------------------------------
def stringmatch_exact(pattern: bytes, string: bytes, nocase: bool = False) -> bool:
    """Whether ``string`` matches ``pattern``, decided step by step as ``stringmatchlen`` does.

    Only the latest star is ever retried further along the string: once a star's remainder
    was tried at every later position and failed, no earlier star can do better (this is what
    Redis's ``skipLongerMatches`` records), so no recursion and no exponential cases.
    """
    size = len(pattern)
    length = len(string)
    if not length:
        return not size  # Redis's loop never starts: no star gets to match the empty string
    pos = 0  # in the pattern
    at = 0  # in the string; always < length at the top of the loop
    retry_pos = -1  # the pattern just after the latest star run (-1: no star yet)
    retry_at = 0  # where in the string that star's remainder was last tried
    while True:
        if pos < size and pattern[pos] == _STAR:
            while pos < size and pattern[pos] == _STAR:
                pos += 1
            if pos == size:
                return True  # a final star takes whatever is left
            retry_pos = pos
            retry_at = at
            continue
        if pos < size:
            accepted, pos = _step(pattern, pos, string[at], nocase)
            if accepted:
                at += 1
                if at < length:
                    continue
                # The string is used up: only stars may be left in the pattern.
                while pos < size and pattern[pos] == _STAR:
                    pos += 1
                if pos == size:
                    return True
        # A mismatch, or one of the two ran out before the other: move the latest star on.
        if retry_pos < 0:
            return False
        retry_at += 1
        if retry_at == length:
            return False  # a star's remainder is never tried against nothing
        pos = retry_pos
        at = retry_at


def _step(pattern: bytes, pos: int, byte: int, nocase: bool) -> tuple[bool, int]:
    """Whether the one-byte token at ``pattern[pos]`` (not a star) accepts ``byte``, and the
    position just after that token."""
    head = pattern[pos]
    if head == _QUESTION:
        return True, pos + 1
    if head == _OPEN:
        return _step_bracket(pattern, pos + 1, byte, nocase)
    if head == _BACKSLASH and len(pattern) - pos >= 2:
        pos += 1
        head = pattern[pos]
    if nocase:
        return _lower(head) == _lower(byte), pos + 1
    return head == byte, pos + 1


def _step_bracket(pattern: bytes, pos: int, byte: int, nocase: bool) -> tuple[bool, int]:
    """:func:`_step` for a ``[...]`` token whose first byte after ``[`` is at ``pos``."""
    size = len(pattern)
    negate = pos < size and pattern[pos] == _CARET
    if negate:
        pos += 1
    found = False
    while True:
        left = size - pos
        if left >= 2 and pattern[pos] == _BACKSLASH:
            pos += 1
            if pattern[pos] == byte:  # escaped: compared as is, even with nocase
                found = True
        elif left and pattern[pos] == _CLOSE:
            break
        elif not left:
            pos -= 1  # unterminated: the last byte of the pattern ends the token
            break
        elif left >= 3 and pattern[pos + 1] == _DASH:
            low = _signed(pattern[pos])
            high = _signed(pattern[pos + 2])
            if low > high:
                low, high = high, low
            value = _signed(byte)
            if nocase:
                low, high, value = _lower(low), _lower(high), _lower(value)
            if low <= value <= high:
                found = True
            pos += 2
        elif nocase:
            if _lower(pattern[pos]) == _lower(byte):
                found = True
        elif pattern[pos] == byte:
            found = True
        pos += 1
    return found != negate, pos + 1


def _signed(byte: int) -> int:
    """The value of ``byte`` as C's signed ``char`` (how Redis compares range bounds)."""
    return byte - 256 if byte >= 128 else byte


def _lower(value: int) -> int:
    """C's ``tolower`` in the "C" locale: only ASCII capitals change."""
    return value + 32 if 65 <= value <= 90 else value


# -- the fast path ------------------------------------------------------------------------------
# What a Glob does, by the pattern's shape.
_LITERAL: Final = 1  # one string: _prefix
_AFFIX: Final = 2  # _prefix, one star run, _suffix, all literal
_REGEX: Final = 3  # _prefix and _suffix checked first, then _test
_EXACT: Final = 4  # too long to translate: stringmatch_exact

_Test = Callable[[bytes], re.Match[bytes] | None]


class Glob:
    """A compiled glob pattern (see the module docstring); build it with :func:`compile_glob`.

    ``literal`` is the one string the pattern matches when it is a plain literal (escapes
    removed), else ``None``: a caller holding a dict can look that string up instead of
    scanning.
    """

    def __init__(self, pattern: bytes, nocase: bool) -> None:
        self.pattern = pattern
        self.nocase = nocase
        self.literal: bytes | None = None
        self._kind = _EXACT
        self._prefix = b""
        self._suffix = b""
        self._min_length = 0
        self._test: _Test = _never
        if len(pattern) <= _MAX_TRANSLATED:
            self._translate(_tokens(pattern, nocase))

    def _translate(self, tokens: list[frozenset[int] | None]) -> None:
        # Segments of one-byte tokens, split at the star runs.
        segments: list[list[frozenset[int]]] = [[]]
        for token in tokens:
            if token is None:
                segments.append([])
            else:
                segments[-1].append(token)
        first = segments[0]
        last = segments[-1]
        self._prefix = _literal_run(first)
        self._suffix = b"" if len(segments) == 1 else _literal_run(last[::-1])[::-1]
        if len(segments) == 1 and len(self._prefix) == len(first):
            self._kind = _LITERAL
            self.literal = self._prefix
        elif (
            len(segments) == 2
            and len(self._prefix) == len(first)
            and len(self._suffix) == len(last)
        ):
            self._kind = _AFFIX
            # At least one byte even for "*": an empty string never meets a star.
            self._min_length = max(1, len(first) + len(last))
        else:
            self._kind = _REGEX
            self._test = _regex(segments)

    def matches(self, string: bytes) -> bool:
        """Whether ``string`` matches the pattern."""
        kind = self._kind
        if kind == _LITERAL:
            return string == self._prefix
        if kind == _AFFIX:
            return (
                len(string) >= self._min_length
                and string.startswith(self._prefix)
                and string.endswith(self._suffix)
            )
        if kind == _REGEX:
            return (
                string.startswith(self._prefix)
                and string.endswith(self._suffix)
                and self._test(string) is not None
            )
        return stringmatch_exact(self.pattern, string, self.nocase)

    def select(self, strings: Iterable[bytes]) -> list[bytes]:
        """The strings that match, in the order given (one pass, nothing else per string)."""
        kind = self._kind
        prefix = self._prefix
        suffix = self._suffix
        if kind == _LITERAL:
            return [string for string in strings if string == prefix]
        if kind == _AFFIX:
            shortest = self._min_length
            return [
                string
                for string in strings
                if len(string) >= shortest and string.startswith(prefix) and string.endswith(suffix)
            ]
        if kind == _REGEX:
            test = self._test
            if not prefix and not suffix:
                return list(filter(test, strings))
            return [
                string
                for string in strings
                if string.startswith(prefix) and string.endswith(suffix) and test(string)
            ]
        pattern = self.pattern
        nocase = self.nocase
        return [string for string in strings if stringmatch_exact(pattern, string, nocase)]


@lru_cache(maxsize=256)
def compile_glob(pattern: bytes, nocase: bool = False) -> Glob:
    """The compiled form of ``pattern``. Recently used patterns are kept (each of at most
    ``_MAX_TRANSLATED`` bytes, or untranslated), so a caller may call this for every string."""
    return Glob(pattern, nocase)


def _never(string: bytes) -> re.Match[bytes] | None:
    return None


def _literal_run(tokens: list[frozenset[int]]) -> bytes:
    """The bytes of the leading tokens that each accept exactly one byte."""
    run = bytearray()
    for token in tokens:
        if len(token) != 1:
            break
        run.extend(token)
    return bytes(run)


def _regex(segments: list[list[frozenset[int]]]) -> _Test:
    """A test equivalent to the pattern whose star runs split it into ``segments``, for
    non-empty strings (the caller makes sure the pattern has at least one one-byte token)."""
    parts = [_regex_segment(segment) for segment in segments]
    if len(parts) == 1:
        return re.compile(parts[0], re.DOTALL).fullmatch
    # Between two stars, commit to the first place the segment fits (atomic group).
    middle = b"".join(b"(?>.*?" + part + b")" for part in parts[1:-1])
    if parts[-1]:
        return re.compile(parts[0] + middle + b".*" + parts[-1], re.DOTALL).fullmatch
    # A final star takes whatever is left: no need to look at the rest of the string.
    if len(parts) == 3 and not parts[0]:
        # "*seg*": the string contains seg somewhere; search skips ahead on literal bytes.
        return re.compile(parts[1], re.DOTALL).search
    return re.compile(parts[0] + middle, re.DOTALL).match


def _regex_segment(segment: list[frozenset[int]]) -> bytes:
    return b"".join(_regex_class(token) for token in segment)


def _regex_class(accepted: frozenset[int]) -> bytes:
    if not accepted:
        return b"(?!)"
    if len(accepted) == 256:
        return b"."
    if len(accepted) == 1:
        return re.escape(bytes(accepted))
    # Runs of consecutive bytes as ranges: "[^a]" stays short, and so does its compiling.
    runs: list[bytes] = []
    ordered = sorted(accepted)
    start = previous = ordered[0]
    for byte in [*ordered[1:], -1]:
        if byte != previous + 1:
            runs.append(
                b"\\x%02x" % start if start == previous else b"\\x%02x-\\x%02x" % (start, previous)
            )
            start = byte
        previous = byte
    return b"[" + b"".join(runs) + b"]"


# -- translation: the pattern as a list of tokens -----------------------------------------------
# A token is None (a run of stars) or the set of byte values one position accepts.
def _tokens(pattern: bytes, nocase: bool) -> list[frozenset[int] | None]:
    """Split ``pattern`` into star runs and one-byte sets, following Redis's scanning order."""
    tokens: list[frozenset[int] | None] = []
    size = len(pattern)
    pos = 0
    while pos < size:
        byte = pattern[pos]
        if byte == _STAR:
            if not tokens or tokens[-1] is not None:
                tokens.append(None)
        elif byte == _QUESTION:
            tokens.append(frozenset(range(256)))
        elif byte == _OPEN:
            accepted, pos = _bracket(pattern, pos, nocase)
            tokens.append(accepted)
        else:
            if byte == _BACKSLASH and size - pos >= 2:
                pos += 1
            tokens.append(_literal(pattern[pos], nocase))
        pos += 1
    return tokens


def _literal(byte: int, nocase: bool) -> frozenset[int]:
    if nocase:
        folded = _lower(byte)
        return frozenset(b for b in range(256) if _lower(b) == folded)
    return frozenset((byte,))


def _bracket(pattern: bytes, pos: int, nocase: bool) -> tuple[frozenset[int], int]:
    """The set of a ``[...]`` token whose ``[`` is at ``pattern[pos]``, and the index of its
    last byte (the ``]``, or the last byte of the pattern when the bracket is unterminated)."""
    size = len(pattern)
    pos += 1
    negate = pos < size and pattern[pos] == _CARET
    if negate:
        pos += 1
    accepted: set[int] = set()
    while True:
        if pos < size and pattern[pos] == _BACKSLASH and size - pos >= 2:
            pos += 1
            accepted.add(pattern[pos])  # escaped bytes ignore nocase, as in Redis
        elif pos < size and pattern[pos] == _CLOSE:
            break
        elif pos >= size:
            pos -= 1  # unterminated: the token ends with the pattern
            break
        elif size - pos >= 3 and pattern[pos + 1] == _DASH:
            low, high = _signed(pattern[pos]), _signed(pattern[pos + 2])
            if low > high:
                low, high = high, low
            if nocase:
                low, high = _lower(low), _lower(high)
                accepted.update(b for b in range(256) if low <= _lower(_signed(b)) <= high)
            else:
                accepted.update(b for b in range(256) if low <= _signed(b) <= high)
            pos += 2
        else:
            accepted |= _literal(pattern[pos], nocase)
        pos += 1
    if negate:
        return frozenset(range(256)) - accepted, pos
    return frozenset(accepted), pos
