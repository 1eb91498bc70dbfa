"""Glob-style pattern matching with the exact rules of Redis's ``stringmatchlen`` (``util.c``).

This module owns the one matcher used by KEYS, SCAN MATCH, PSUBSCRIBE, CONFIG GET and friends.

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
  nothing and ``[^]`` matches any byte;
- ranges compare bytes as C's *signed* ``char``: bytes 0x80-0xFF sort before 0x00;
- with ``nocase`` only ASCII letters fold, ranges fold their bounds after ordering them, and an
  escaped byte inside brackets is compared case-sensitively;
- an empty string is matched only by the empty pattern (``**`` does not match ``b""``), except
  for the fast path below.

Fast path: the pattern ``*`` matches everything, including the empty string. Redis's KEYS and
SCAN skip matching for exactly that pattern, so callers observe the same thing.

Speed: a pattern is compiled once (cached) into a regular expression in which every star
except the last is an atomic lazy group. Because every other token matches exactly one byte,
taking the earliest place where the text between two stars fits is always right, so the match
never backtracks into an earlier star: ``a*a*a*a*a*b`` against a long string costs about
(pattern length x string length), as Redis 7's ``skipLongerMatches`` guard achieves.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["stringmatch"]

_STAR = ord("*")
_QUESTION = ord("?")
_OPEN = ord("[")
_CLOSE = ord("]")
_CARET = ord("^")
_BACKSLASH = ord("\\")
_DASH = ord("-")

# A token is either _ANY_RUN (a run of stars) or the set of byte values one position accepts.
_ANY_RUN = None
_Token = frozenset[int] | None


def stringmatch(pattern: bytes, string: bytes, nocase: bool = False) -> bool:
    """Whether ``string`` matches the glob ``pattern``; ``nocase`` folds ASCII letters only."""
    if pattern == b"*":
        return True
    if not string:
        # Redis's matcher never enters its loop for an empty string: only b"" matches it.
        return not pattern
    return _compile(pattern, nocase).fullmatch(string) is not None


def _signed(byte: int) -> int:
    """The value of ``byte`` as C's signed ``char`` (how Redis compares range bounds)."""
    return byte - 256 if byte >= 128 else byte


def _lower(value: int) -> int:
    """C's ``tolower`` in the "C" locale: only ASCII capitals change."""
    return value + 32 if 65 <= value <= 90 else value


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


def _tokens(pattern: bytes, nocase: bool) -> list[_Token]:
    """Split ``pattern`` into star runs and one-byte sets, following Redis's scanning order."""
    tokens: list[_Token] = []
    size = len(pattern)
    pos = 0
    while pos < size:
        byte = pattern[pos]
        if byte == _STAR:
            if not tokens or tokens[-1] is not _ANY_RUN:
                tokens.append(_ANY_RUN)
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


def _regex_class(accepted: frozenset[int]) -> bytes:
    if not accepted:
        return b"(?!)"
    if len(accepted) == 256:
        return b"."
    if len(accepted) == 1:
        return re.escape(bytes(accepted))
    return b"[" + b"".join(b"\\x%02x" % byte for byte in sorted(accepted)) + b"]"


@lru_cache(maxsize=512)
def _compile(pattern: bytes, nocase: bool) -> re.Pattern[bytes]:
    """A regex equivalent to ``pattern`` on non-empty strings, to be used with ``fullmatch``."""
    segments: list[list[bytes]] = [[]]
    for token in _tokens(pattern, nocase):
        if token is _ANY_RUN:
            segments.append([])
        else:
            segments[-1].append(_regex_class(token))
    parts = [b"".join(segments[0])]
    # Between two stars, commit to the first place the segment fits (atomic group): a later
    # place can only leave less of the string for the rest of the pattern.
    parts.extend(b"(?>.*?" + b"".join(segment) + b")" for segment in segments[1:-1])
    if len(segments) > 1:
        parts.append(b".*" + b"".join(segments[-1]))
    return re.compile(b"".join(parts), re.DOTALL)
