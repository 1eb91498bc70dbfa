"""Redis's rules for integers written as text (``string2ll`` in Redis's ``util.c``).

An optional ``-``, then ASCII digits with no leading zero (``0`` alone is fine, ``-0`` is not),
no spaces, no ``+``, at most 20 bytes, and the value must fit a signed 64-bit integer. Request
framing (``*3``, ``$5``), command arguments and stored strings read as integers (``INCR``) all
follow them, because Redis parses all three with the same function.
"""

from __future__ import annotations

import math
import re
from typing import Final

LLONG_MIN: Final = -(2**63)
LLONG_MAX: Final = 2**63 - 1


def strict_int(raw: bytes) -> int | None:
    """The signed 64-bit integer ``raw`` spells under Redis's rules, or ``None``."""
    # A loop over the digits rather than ``int()``: compiled, it is several times faster on the
    # short numbers that requests are made of, and it checks the characters on the way.
    size = len(raw)
    if size == 0 or size > 20:
        return None
    negative = raw[0] == 45  # "-"
    start = 1 if negative else 0
    if start == size or (raw[start] == 48 and (negative or size > 1)):  # "-", "-0", "007"
        return None
    value = 0
    for index in range(start, size):
        digit = raw[index] - 48
        if digit < 0 or digit > 9:
            return None
        value = value * 10 + digit
    if negative:
        value = -value
    if size - start >= 19 and (value < LLONG_MIN or value > LLONG_MAX):
        return None
    return value


# -- doubles (sorted-set scores) ----------------------------------------------------------------
# Redis reads a score with the C library's ``strtod`` and writes one with ``%.17g``. Two rules
# for reading, because Redis has two callers:
#
# - ``parse_double`` is ``getDoubleFromObject`` (ZADD scores, ZINCRBY, WEIGHTS): the whole
#   argument must be one number, with no leading space; an overflow (``1e400``), an underflow to
#   zero (``1e-400``) and NaN are refused. ``inf``/``infinity`` in any case and C99 hexadecimal
#   (``0x1p3``) are numbers, as strtod reads them.
# - ``parse_range_double`` is ``zslParseRange`` (ZRANGEBYSCORE and ZCOUNT bounds, after the
#   ``(``): strtod with only "nothing may follow" checked, so leading spaces pass, overflow gives
#   an infinity, underflow zero, and an empty bound is 0. The argument is a C string there: a NUL
#   byte ends it. NaN is still refused.

_DECIMAL: Final = re.compile(rb"([+-]?)(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_HEXADECIMAL: Final = re.compile(
    rb"([+-]?)0[xX]([0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)([pP][+-]?\d+)?"
)
_INFINITY: Final = re.compile(rb"([+-]?)(?:inf|infinity)", re.IGNORECASE)
# What ``isspace`` says yes to in the C locale.
_C_SPACE: Final = b" \t\n\v\f\r"


def _strtod(text: bytes) -> tuple[float, int] | None:
    """``text`` read whole as strtod reads a number: ``(value, range)`` where range is 1 for
    an overflow, -1 for an underflow to zero and 0 otherwise; ``None`` when it is not a number
    (or is NaN, which no caller accepts)."""
    match = _DECIMAL.fullmatch(text)
    if match is not None:
        value = float(text)
        if value == 0.0:
            return value, (-1 if match.group(2).strip(b"0.") else 0)
        return value, (1 if math.isinf(value) else 0)
    match = _INFINITY.fullmatch(text)
    if match is not None:
        return (-math.inf if match.group(1) == b"-" else math.inf), 0
    match = _HEXADECIMAL.fullmatch(text)
    if match is not None:
        try:
            value = float.fromhex(text.decode("ascii"))
        except OverflowError:
            return (-math.inf if match.group(1) == b"-" else math.inf), 1
        if value == 0.0:
            return value, (-1 if match.group(2).strip(b"0.") else 0)
        return value, 0
    return None


def parse_double(raw: bytes) -> float | None:
    """The double ``raw`` spells under Redis's ``getDoubleFromObject`` rules, or ``None``."""
    # Redis refuses an empty argument and a leading space before calling strtod; ``_strtod``
    # reads the whole text as one number, so neither gets through it.
    parsed = _strtod(raw)
    if parsed is None or parsed[1] != 0:
        return None
    return parsed[0]


def parse_range_double(raw: bytes) -> float | None:
    """A score-range bound (without its ``(``) under ``zslParseRange``'s rules, or ``None``."""
    end = raw.find(b"\0")
    if end >= 0:
        raw = raw[:end]
    if not raw:
        return 0.0
    parsed = _strtod(raw.lstrip(_C_SPACE))
    return None if parsed is None else parsed[0]


def format_double(value: float) -> bytes:
    """A double as Redis 7.0 writes it (``%.17g``, infinities as ``inf`` and ``-inf``)."""
    if math.isinf(value):
        return b"inf" if value > 0 else b"-inf"
    return b"%.17g" % value
