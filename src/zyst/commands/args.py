"""Argument parsing shared by the command modules, with Redis's own rules.

Integers follow :mod:`zyst.numbers` (Redis's ``string2ll``); anything else is "not an integer or
out of range".
"""

from __future__ import annotations

import math
import re

from zyst import errors
from zyst.errors import CommandError
from zyst.numbers import LLONG_MAX, LLONG_MIN, strict_int

__all__ = [
    "LLONG_MAX",
    "LLONG_MIN",
    "parse_count",
    "parse_int",
    "parse_timeout_ms",
    "strict_int",
]


def parse_int(raw: bytes, error: str = errors.NOT_INTEGER) -> int:
    """``raw`` as a signed 64-bit integer; raises ``error`` (by default Redis's
    "value is not an integer or out of range") when it is not one."""
    value = strict_int(raw)
    if value is None:
        raise CommandError(error)
    return value


def parse_count(raw: bytes) -> int:
    """A pop count (LPOP, RPOP, SPOP): a non-negative integer; anything else, negative numbers
    and non-numbers alike, is Redis's "value is out of range, must be positive"."""
    count = parse_int(raw, errors.OUT_OF_RANGE)
    if count < 0:
        raise CommandError(errors.OUT_OF_RANGE)
    return count


# A number as C's strtold reads it, whole: decimal or hexadecimal, or inf/infinity/nan.
_LONG_DOUBLE = re.compile(
    rb"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
    rb"|0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?\d+)?"
    rb"|inf(?:inity)?|nan)",
    re.IGNORECASE,
)


def parse_timeout_ms(raw: bytes) -> int:
    """A blocking command's timeout (seconds, a double) in whole milliseconds, rounded up, as
    Redis's ``getTimeoutFromObjectOrReply``: 0 means forever. Text strtold would not read
    whole (spaces, ``1_0``), NaN and underflow are "timeout is not a float or out of range";
    a negative value, and anything too large for a 64-bit count of milliseconds (where Redis's
    conversion wraps to a negative number), "timeout is negative"."""
    if _LONG_DOUBLE.fullmatch(raw) is None or len(raw) >= 5 * 1024:
        raise CommandError(errors.TIMEOUT_NOT_FLOAT)
    text = raw.decode("ascii")
    value = float.fromhex(text) if "x" in text.lower() else float(text)
    if value != value or (value == 0.0 and any(c in "123456789" for c in text.split("e")[0])):
        raise CommandError(errors.TIMEOUT_NOT_FLOAT)  # NaN, or too small to be told from 0
    if value in (math.inf, -math.inf) or abs(value) * 1000.0 >= 2.0**63:
        raise CommandError(errors.TIMEOUT_NEGATIVE)
    millis = math.ceil(value * 1000.0)
    if millis < 0:
        raise CommandError(errors.TIMEOUT_NEGATIVE)
    return millis
