"""Redis's rules for numbers written as text (``string2ll``, ``string2ld`` and ``ld2string`` in
Redis's ``util.c``).

Integers:

An optional ``-``, then ASCII digits with no leading zero (``0`` alone is fine, ``-0`` is not),
no spaces, no ``+``, at most 20 bytes, and the value must fit a signed 64-bit integer. Request
framing (``*3``, ``$5``), command arguments and stored strings read as integers (``INCR``) all
follow them, because Redis parses all three with the same function.

Long doubles (INCRBYFLOAT, HINCRBYFLOAT): Redis does this arithmetic in the C ``long double`` of
x86-64, the x87 80-bit format (a 64-bit significand, exponents down to 2**-16382, subnormals
down to 2**-16445). Python has no such type, so a finite value is held exactly as a
:class:`fractions.Fraction` lying on that format's grid, and every result is rounded to the grid
(to nearest, ties to even) the way the FPU would: :func:`parse_long_double` (``strtold``, which
glibc rounds correctly), :func:`add_long_double` (one x87 addition) and
:func:`format_long_double` (``%.17Lf`` with trailing zeros trimmed, exact decimal expansion
rounded half to even, as glibc's printf does).
"""

from __future__ import annotations

import re
from fractions import Fraction
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


# -- long doubles ------------------------------------------------------------------------------
_LD_PRECISION: Final = 64  # significand bits of the x87 extended format
_LD_MIN_EXP: Final = -16382  # exponent of the smallest normal value (2**-16382)
_LD_MAX_EXP: Final = 16384  # values at or past 2**16384 overflow to infinity
# string2ld copies the argument into a buffer of MAX_LONG_DOUBLE_CHARS (5 * 1024) bytes,
# terminator included; anything that long is refused without parsing.
_LD_MAX_CHARS: Final = 5 * 1024
# What strtold accepts once Redis has refused leading whitespace and anything left over (an
# embedded NUL included): a sign, then infinity, NaN, a hexadecimal or a decimal number.
_LD_SYNTAX: Final = re.compile(
    rb"([+-]?)(?:"
    rb"(?P<inf>inf(?:inity)?)"
    rb"|(?P<nan>nan(?:\([0-9a-z_]*\))?)"
    rb"|0x(?P<hint>[0-9a-f]*)(?:\.(?P<hfrac>[0-9a-f]*))?(?:p(?P<hexp>[+-]?[0-9]+))?"
    rb"|(?P<int>[0-9]*)(?:\.(?P<frac>[0-9]*))?(?:e(?P<exp>[+-]?[0-9]+))?"
    rb")",
    re.IGNORECASE,
)
# Decimal exponents past which a nonzero value surely overflows (10**4933 > the largest long
# double) or surely rounds to zero (10**-4952 < half the smallest subnormal, 2**-16446).
_LD_DECIMAL_OVERFLOW: Final = 4933
_LD_DECIMAL_UNDERFLOW: Final = -4952
_INF: Final = float("inf")
_FORMAT_DECIMALS: Final = 17
_FORMAT_SCALE: Final = 10**_FORMAT_DECIMALS


def parse_long_double(raw: bytes) -> Fraction | float | None:
    """The long double ``raw`` spells under Redis's ``string2ld``: a finite value as an exact
    Fraction, an infinity (``inf``, ``-infinity``…) as a float, ``None`` when it is no number.

    Refused: the empty string, 5120 bytes or more, leading whitespace or anything strtold leaves
    unparsed (trailing spaces, an embedded NUL), NaN, and a value too large (it would be
    HUGE_VAL) or too small (it would round to zero) for the format. An exact zero is fine.
    """
    if not raw or len(raw) >= _LD_MAX_CHARS:
        return None
    match = _LD_SYNTAX.fullmatch(raw)
    if match is None or match.group("nan") is not None:
        return None
    negative = match.group(1) == b"-"
    if match.group("inf") is not None:
        return -_INF if negative else _INF
    hex_int = match.group("hint")
    if hex_int is not None:
        digits = hex_int + (match.group("hfrac") or b"")
        if not digits:
            return None  # "0x" alone: strtold reads the "0" and stops at the "x"
        mantissa = int(digits, 16)
        if mantissa == 0:
            return Fraction(0)
        exp_text = match.group("hexp")
        exponent2 = _bounded_exponent(exp_text) - 4 * len(match.group("hfrac") or b"")
        value = _round_scaled(mantissa, 0, exponent2)
    else:
        int_part = match.group("int")
        frac_part = match.group("frac") or b""
        digits = int_part + frac_part
        if not digits:
            return None  # ".", "e5", "+" and the like
        digits = digits.lstrip(b"0")
        if not digits:
            return Fraction(0)
        exponent10 = _bounded_exponent(match.group("exp")) - len(frac_part)
        # The value lies in [10**(magnitude-1), 10**magnitude).
        magnitude = exponent10 + len(digits)
        if magnitude > _LD_DECIMAL_OVERFLOW:
            return None
        if magnitude < _LD_DECIMAL_UNDERFLOW:
            return None
        value = _round_scaled(_decimal_int(digits), exponent10, 0)
    if value is None or value == 0:
        return None  # overflow (HUGE_VAL) or a nonzero number lost to underflow
    return -value if negative else value


def add_long_double(a: Fraction | float, b: Fraction | float) -> Fraction | None:
    """``a + b`` rounded as one long double addition; ``None`` when the sum is NaN or infinite
    (Redis's "increment would produce NaN or Infinity")."""
    if isinstance(a, float) or isinstance(b, float):
        return None  # an infinity plus anything is infinite or NaN
    total = a + b
    if total == 0:
        return total
    magnitude = _round_ratio(abs(total.numerator), total.denominator)
    if magnitude is None:
        return None
    return magnitude if total > 0 else -magnitude


def format_long_double(value: Fraction) -> bytes:
    """``value`` as Redis's ``ld2string`` in its human mode writes it: ``%.17Lf``, then the
    trailing zeros of the fraction and a bare ``.`` dropped, and ``-0`` written ``0``."""
    scaled = abs(value) * _FORMAT_SCALE
    whole, rest = divmod(scaled.numerator, scaled.denominator)
    twice = 2 * rest
    if twice > scaled.denominator or (twice == scaled.denominator and whole & 1):
        whole += 1
    text = _decimal_text(whole).rjust(_FORMAT_DECIMALS + 1, "0")
    integer, fraction = text[:-_FORMAT_DECIMALS], text[-_FORMAT_DECIMALS:].rstrip("0")
    body = integer + "." + fraction if fraction else integer
    if value < 0 and body != "0":
        body = "-" + body
    return body.encode()


def _bounded_exponent(text: bytes | None) -> int:
    """An exponent's digits as an int, clamped far beyond any long double's range so that a
    thousand-digit exponent costs nothing (the result overflows or underflows all the same)."""
    if text is None:
        return 0
    negative = text[:1] == b"-"
    digits = text.lstrip(b"+-").lstrip(b"0")
    value = int(digits) if 0 < len(digits) <= 9 else (10**9 if digits else 0)
    return -value if negative else value


def _decimal_int(digits: bytes) -> int:
    """Decimal digits as an int, in chunks: Python refuses to convert more than 4300 digits at
    once, and a 5000-digit argument is legal."""
    value = 0
    for start in range(0, len(digits), 4000):
        chunk = digits[start : start + 4000]
        value = value * 10 ** len(chunk) + int(chunk)
    return value


def _decimal_text(value: int) -> str:
    """A non-negative int in decimal, in chunks (see :func:`_decimal_int`)."""
    if value < 10**4000:
        return str(value)
    high, low = divmod(value, 10**4000)
    return _decimal_text(high) + str(low).rjust(4000, "0")


def _round_scaled(mantissa: int, exponent10: int, exponent2: int) -> Fraction | None:
    """``mantissa * 10**exponent10 * 2**exponent2`` (mantissa > 0) rounded to a long double;
    ``None`` on overflow. Both exponents are already bounded by the caller's range checks or
    :func:`_bounded_exponent`."""
    if exponent2 > _LD_MAX_EXP + 10:
        return None
    if exponent2 < _LD_MIN_EXP - _LD_PRECISION - 10 - 4 * 5120:
        return Fraction(0)
    numerator, denominator = mantissa, 1
    if exponent10 >= 0:
        numerator *= 10**exponent10
    else:
        denominator *= 10**-exponent10
    if exponent2 >= 0:
        numerator <<= exponent2
    else:
        denominator <<= -exponent2
    return _round_ratio(numerator, denominator)


def _round_ratio(numerator: int, denominator: int) -> Fraction | None:
    """The positive ``numerator / denominator`` rounded to the nearest long double, ties to
    even (the FPU's default mode); ``None`` when that is past the largest one (overflow)."""
    # floor(log2(n / d)): the bit lengths give it to within one.
    top = numerator.bit_length() - denominator.bit_length()
    scaled_numerator = numerator << -top if top < 0 else numerator
    scaled_denominator = denominator << top if top > 0 else denominator
    if scaled_numerator < scaled_denominator:
        top -= 1
    # The grid's step: 64 significant bits for a normal value, a fixed step for subnormals.
    step = max(top, _LD_MIN_EXP) - (_LD_PRECISION - 1)
    if step >= 0:
        quotient, remainder = divmod(numerator, denominator << step)
        divisor = denominator << step
    else:
        quotient, remainder = divmod(numerator << -step, denominator)
        divisor = denominator
    twice = 2 * remainder
    if twice > divisor or (twice == divisor and quotient & 1):
        quotient += 1
    if quotient == 0:
        return Fraction(0)
    if quotient.bit_length() + step > _LD_MAX_EXP:
        return None
    return Fraction(quotient << step) if step >= 0 else Fraction(quotient, 1 << -step)
