"""Redis's rules for integers written as text (``string2ll`` in Redis's ``util.c``).

An optional ``-``, then ASCII digits with no leading zero (``0`` alone is fine, ``-0`` is not),
no spaces, no ``+``, at most 20 bytes, and the value must fit a signed 64-bit integer. Request
framing (``*3``, ``$5``), command arguments and stored strings read as integers (``INCR``) all
follow them, because Redis parses all three with the same function.
"""

from __future__ import annotations

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
