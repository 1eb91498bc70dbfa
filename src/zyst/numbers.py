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
    # ``bytes.isdigit`` is ASCII-only, so other scripts' digits are refused like in Redis.
    if raw.isdigit():
        # The common case: no sign, no leading zero, too short (< 19 digits) to overflow.
        if raw[0] != 48 and len(raw) < 19:  # 48 is "0"
            return int(raw)
    elif raw[:1] != b"-" or not raw[1:].isdigit():
        return None
    # Only "0" itself may start with a zero ("-0" and "007" may not); then the range check.
    first_digit = raw[1] if raw[0] == 45 else raw[0]  # 45 is "-"
    if len(raw) > 20 or (first_digit == 48 and len(raw) > 1):
        return None
    value = int(raw)
    if value < LLONG_MIN or value > LLONG_MAX:
        return None
    return value
