"""Argument parsing shared by the command modules, with Redis's own rules.

Integers follow :mod:`zyst.numbers` (Redis's ``string2ll``); anything else is "not an integer or
out of range".
"""

from __future__ import annotations

from typing import Final

from zyst import errors
from zyst.errors import CommandError
from zyst.numbers import LLONG_MAX, LLONG_MIN, parse_long_double, strict_int

__all__ = [
    "LLONG_MAX",
    "LLONG_MIN",
    "c_string",
    "option_word",
    "parse_count",
    "parse_int",
    "parse_timeout_ms",
    "strict_int",
]


def c_string(raw: bytes) -> bytes:
    """``raw`` as C reads it: up to its first NUL byte."""
    end = raw.find(b"\0")
    return raw if end < 0 else raw[:end]


# option_word's answers for the arguments it has seen (short ones that start with a letter, up
# to a bound; not the numbers and IDs parsers also try as options): clients send the same few
# option words over and over, and a dict lookup is cheaper than find() and lower().
_WORDS: dict[bytes, bytes] = {}
_WORDS_MAX: Final = 4096
_WORD_MAX_LEN: Final = 24


def option_word(raw: bytes) -> bytes:
    """An option word as Redis's ``strcasecmp`` sees it: up to the first NUL, in lower case
    (``LEFT\0x`` is LEFT)."""
    word = _WORDS.get(raw)
    if word is None:
        word = c_string(raw).lower()
        if (
            0 < len(raw) <= _WORD_MAX_LEN
            and 97 <= (raw[0] | 0x20) <= 122
            and len(_WORDS) < _WORDS_MAX
        ):
            _WORDS[raw] = word
    return word


def parse_int(raw: bytes, error: str = errors.NOT_INTEGER) -> int:
    """``raw`` as a signed 64-bit integer; raises ``error`` (by default Redis's
    "value is not an integer or out of range") when it is not one."""
    value = strict_int(raw)
    if value is None:
        raise CommandError(error)
    return value


def parse_at_least(raw: bytes, minimum: int, error: str) -> int:
    """``raw`` as a 64-bit integer of at least ``minimum``; a non-integer and a smaller number
    alike raise ``error`` (LPOS's COUNT and MAXLEN, LMPOP's and SINTERCARD's numkeys, ...)."""
    value = strict_int(raw)
    if value is None or value < minimum:
        raise CommandError(error)
    return value


def parse_count(raw: bytes) -> int:
    """A pop count (LPOP, RPOP, SPOP): a non-negative integer; anything else, negative numbers
    and non-numbers alike, is Redis's "value is out of range, must be positive"."""
    count = parse_int(raw, errors.OUT_OF_RANGE)
    if count < 0:
        raise CommandError(errors.OUT_OF_RANGE)
    return count


def parse_timeout_ms(raw: bytes) -> int:
    """A blocking command's timeout (seconds, a long double) in whole milliseconds, rounded
    up, as Redis's ``getTimeoutFromObjectOrReply``: 0 means forever. What ``string2ld`` refuses
    is "timeout is not a float or out of range"; a negative value, an infinity, and anything
    too large for a 64-bit count of milliseconds (where Redis's conversion to ``long long``
    gives a negative number on x86-64), "timeout is negative"."""
    value = parse_long_double(raw)
    if value is None:
        raise CommandError(errors.TIMEOUT_NOT_FLOAT)
    if isinstance(value, float):  # an infinity
        raise CommandError(errors.TIMEOUT_NEGATIVE)
    mantissa, exponent = value
    scaled = mantissa * 1000
    # ceil(mantissa * 1000 * 2**exponent), exactly.
    millis = scaled << exponent if exponent >= 0 else -((-scaled) >> -exponent)
    if millis < 0 or millis >= LLONG_MAX + 1:
        raise CommandError(errors.TIMEOUT_NEGATIVE)
    return millis
