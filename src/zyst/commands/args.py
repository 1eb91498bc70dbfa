"""Argument parsing shared by the command modules, with Redis's own rules.

Integers follow :mod:`zyst.numbers` (Redis's ``string2ll``); anything else is "not an integer or
out of range".
"""

from __future__ import annotations

from zyst import errors
from zyst.errors import CommandError
from zyst.numbers import LLONG_MAX, LLONG_MIN, strict_int

__all__ = ["LLONG_MAX", "LLONG_MIN", "parse_count", "parse_int", "strict_int"]


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
