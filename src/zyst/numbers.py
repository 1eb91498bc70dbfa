"""Redis's rules for numbers written as text (``string2ll``, ``string2ld`` and ``ld2string`` in
Redis's ``util.c``).

Integers:

An optional ``-``, then ASCII digits with no leading zero (``0`` alone is fine, ``-0`` is not),
no spaces, no ``+``, at most 20 bytes, and the value must fit a signed 64-bit integer. Request
framing (``*3``, ``$5``), command arguments and stored strings read as integers (``INCR``) all
follow them, because Redis parses all three with the same function.

Long doubles (INCRBYFLOAT, HINCRBYFLOAT): Redis does this arithmetic in the C ``long double`` of
x86-64, the x87 80-bit format (a 64-bit significand, exponents down to 2**-16382, subnormals
down to 2**-16445). Python has no such type, so a finite value is held exactly as an integer
mantissa and a power of two (:data:`LongDouble`) lying on that format's grid, and every result
is rounded to the grid (to nearest, ties to even) the way the FPU would:
:func:`parse_long_double` (``strtold``, which glibc rounds correctly), :func:`add_long_double`
(one x87 addition) and :func:`format_long_double` (``%.17Lf`` with trailing zeros trimmed, the
exact decimal expansion rounded half to even, as glibc's printf does).
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    # mypyc's native 64-bit integer: a plain int to Python (annotations only, never evaluated
    # at run time, so mypy_extensions is needed only to build).
    from mypy_extensions import i64

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
LongDouble = tuple[int, int]
"""A finite long double, exactly: ``(mantissa, exponent)`` is ``mantissa * 2**exponent`` (the
mantissa signed, zero as ``(0, 0)``); infinities are floats."""

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
_ZERO: Final = (0, 0)
_FORMAT_DECIMALS: Final = 17
_FORMAT_SCALE: Final = 10**_FORMAT_DECIMALS
# Python converts at most 4300 decimal digits between int and str at once: longer numbers (a
# legal argument has up to 5119) go in chunks of this many.
_CHUNK_DIGITS: Final = 4000
_CHUNK: Final = 10**_CHUNK_DIGITS


def parse_long_double(raw: bytes) -> LongDouble | float | None:
    """The long double ``raw`` spells under Redis's ``string2ld``: a finite value as a
    :data:`LongDouble`, an infinity (``inf``, ``-infinity``…) as a float, ``None`` when it is
    no number.

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
    value: LongDouble | None
    hex_int = match.group("hint")
    if hex_int is not None:
        hex_frac = match.group("hfrac") or b""
        digits = hex_int + hex_frac
        if not digits:
            return None  # "0x" alone: strtold reads the "0" and stops at the "x"
        mantissa = int(digits, 16)
        if mantissa == 0:
            return _ZERO
        exponent2 = _bounded_exponent(match.group("hexp")) - 4 * len(hex_frac)
        if exponent2 > _LD_MAX_EXP:
            return None  # at least 2**16385
        # Far enough below the smallest subnormal, whatever the mantissa's 20480 bits.
        exponent2 = max(exponent2, _LD_MIN_EXP - 2 * _LD_PRECISION - 4 * _LD_MAX_CHARS)
        value = _round_dyadic(mantissa, exponent2)
    else:
        frac_part = match.group("frac") or b""
        digits = (match.group("int") + frac_part).lstrip(b"0")
        if not match.group("int") and not frac_part:
            return None  # ".", "e5", "+" and the like
        if not digits:
            return _ZERO
        exponent10 = _bounded_exponent(match.group("exp")) - len(frac_part)
        # The value lies in [10**(magnitude-1), 10**magnitude).
        magnitude = exponent10 + len(digits)
        if magnitude > _LD_DECIMAL_OVERFLOW or magnitude < _LD_DECIMAL_UNDERFLOW:
            return None
        numerator = _decimal_int(digits)
        if exponent10 >= 0:
            value = _round_dyadic(numerator * 10**exponent10, 0)
        else:
            value = _round_ratio(numerator, 10**-exponent10)
    if value is None or value[0] == 0:
        return None  # overflow (HUGE_VAL) or a nonzero number lost to underflow
    return (-value[0], value[1]) if negative else value


def add_long_double(a: LongDouble | float, b: LongDouble | float) -> LongDouble | None:
    """``a + b`` rounded as one long double addition; ``None`` when the sum is NaN or infinite
    (Redis's "increment would produce NaN or Infinity")."""
    if isinstance(a, float) or isinstance(b, float):
        return None  # an infinity plus anything is infinite or NaN
    a_mantissa, a_exponent = a
    b_mantissa, b_exponent = b
    if a_exponent > b_exponent:
        a_mantissa <<= a_exponent - b_exponent
        a_exponent = b_exponent
    elif b_exponent > a_exponent:
        b_mantissa <<= b_exponent - a_exponent
    total = a_mantissa + b_mantissa
    if total == 0:
        return _ZERO
    rounded = _round_dyadic(abs(total), a_exponent)
    if rounded is None:
        return None
    return (-rounded[0], rounded[1]) if total < 0 else rounded


def format_long_double(value: LongDouble) -> bytes:
    """``value`` as Redis's ``ld2string`` in its human mode writes it: ``%.17Lf``, then the
    trailing zeros of the fraction and a bare ``.`` dropped, and ``-0`` written ``0``."""
    mantissa, exponent = value
    scaled = abs(mantissa) * _FORMAT_SCALE
    if exponent >= 0:
        whole = scaled << exponent
    else:
        shift = -exponent
        whole = scaled >> shift
        twice = (scaled - (whole << shift)) << 1
        unit = 1 << shift
        if twice > unit or (twice == unit and whole & 1):
            whole += 1
    text = _decimal_text(whole).rjust(_FORMAT_DECIMALS + 1, "0")
    integer, fraction = text[:-_FORMAT_DECIMALS], text[-_FORMAT_DECIMALS:].rstrip("0")
    body = integer + "." + fraction if fraction else integer
    if mantissa < 0 and body != "0":
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
    """Decimal digits as an int, converted in chunks."""
    if len(digits) <= _CHUNK_DIGITS:
        return int(digits)
    value = 0
    for start in range(0, len(digits), _CHUNK_DIGITS):
        chunk = digits[start : start + _CHUNK_DIGITS]
        value = value * 10 ** len(chunk) + int(chunk)
    return value


def _decimal_text(value: int) -> str:
    """A non-negative int in decimal, converted in chunks."""
    if value < _CHUNK:
        return str(value)
    high, low = divmod(value, _CHUNK)
    return _decimal_text(high) + str(low).rjust(_CHUNK_DIGITS, "0")


def _grid_step(top: int) -> int:
    """The exponent of the grid's step for values in [2**top, 2**(top+1)): 64 significant bits
    for a normal value, the subnormals' fixed step below 2**-16382."""
    return max(top, _LD_MIN_EXP) - (_LD_PRECISION - 1)


def _finish(quotient: int, step: int) -> LongDouble | None:
    """``quotient * 2**step`` once rounded; ``None`` when it reached 2**16384 (overflow)."""
    if quotient == 0:
        return _ZERO
    if quotient.bit_length() + step > _LD_MAX_EXP:
        return None
    return (quotient, step)


def _round_dyadic(mantissa: int, exponent: int) -> LongDouble | None:
    """The positive ``mantissa * 2**exponent`` rounded to the nearest long double, ties to
    even (the FPU's default mode); ``None`` on overflow."""
    step = _grid_step(mantissa.bit_length() - 1 + exponent)
    shift = step - exponent
    if shift <= 0:
        return _finish(mantissa, exponent)  # already on the grid
    quotient = mantissa >> shift
    twice = (mantissa - (quotient << shift)) << 1
    unit = 1 << shift
    if twice > unit or (twice == unit and quotient & 1):
        quotient += 1
    return _finish(quotient, step)


def _round_ratio(numerator: int, denominator: int) -> LongDouble | None:
    """The positive ``numerator / denominator`` rounded to the nearest long double, ties to
    even; ``None`` on overflow."""
    # floor(log2(n / d)): the bit lengths give it to within one.
    top = numerator.bit_length() - denominator.bit_length()
    scaled_numerator = numerator << -top if top < 0 else numerator
    scaled_denominator = denominator << top if top > 0 else denominator
    if scaled_numerator < scaled_denominator:
        top -= 1
    step = _grid_step(top)
    if step >= 0:
        divisor = denominator << step
        quotient, remainder = divmod(numerator, divisor)
    else:
        divisor = denominator
        quotient, remainder = divmod(numerator << -step, divisor)
    twice = remainder << 1
    if twice > divisor or (twice == divisor and quotient & 1):
        quotient += 1
    return _finish(quotient, step)


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
    size: i64 = len(raw)
    if 0 < size <= 15:
        # The common case, plain digits (scores, increments): at most 15 of them, below
        # 10**15 < 2**53, so the double is exact. Read in a native 64-bit integer (compiled,
        # no boxing or tag checks per digit), then converted once.
        value: i64 = 0
        index: i64 = 0
        while index < size:
            digit: i64 = raw[index] - 48
            if digit < 0 or digit > 9:
                break
            value = value * 10 + digit
            index += 1
        else:
            return float(value)
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


# The smallest normal double, and the bound below which glibc's strtod calls a result tiny: x86
# detects tininess after rounding, so a value that rounds (to 53 bits, exponent unbounded) up to
# the smallest normal double is not tiny. Exact values as fractions.
_MIN_NORMAL: Final = Fraction(1, 2**1022)
_TINY_BELOW: Final = _MIN_NORMAL - Fraction(1, 2**1076)
_MIN_NORMAL_DOUBLE: Final = 2.2250738585072014e-308
# A subnormal double M * 2**-1074 (M < 2**53) written exactly in decimal has at least 715
# significant digits (5**1022 of them, at the least): a shorter decimal is never one.
_SUBNORMAL_DECIMALS: Final = 715


def parse_strtod(raw: bytes) -> float | None:
    """``raw`` read the way SORT reads a weight: C's ``strtod`` over the C string (up to a NUL
    byte) with every check made: the number must end the string, and ``ERANGE`` and NaN are
    refused. Leading whitespace is fine, and an empty string is 0 (strtod converts nothing and
    stops at its end). ``None`` when refused.

    ``ERANGE`` is glibc's: an overflow to infinity, and an underflow, which is a result below
    the smallest normal double (tiny, judged after rounding) that is not exact: ``1e-310`` is
    refused, ``0x1p-1070`` is fine."""
    end = raw.find(b"\0")
    if end >= 0:
        raw = raw[:end]
    if not raw:
        return 0.0
    text = raw.lstrip(_C_SPACE)
    parsed = _strtod(text)
    if parsed is None or parsed[1] != 0:
        return None
    value = parsed[0]
    if value != 0.0 and abs(value) <= _MIN_NORMAL_DOUBLE:
        # A subnormal result, or the smallest normal one, which a tiny value may round up to.
        if (
            abs(value) < _MIN_NORMAL_DOUBLE
            and len(text) < _SUBNORMAL_DECIMALS
            and _DECIMAL.fullmatch(text) is not None
        ):
            # Tiny (it did not round up to a normal double) and, that short, inexact: no
            # need for the exact value, which costs twenty times the parse.
            return None
        exact = _exact_value(text)
        if abs(exact) < _TINY_BELOW and exact != Fraction(value):
            return None
    return value


# No double has more significant digits than these in its exact form (a subnormal has at most
# 767 decimal ones, 1074 bits make 269 hexadecimal ones): a number written with more cannot be
# one, and only its first ones matter to how it compares with the bound of tininess.
_EXACT_DECIMALS: Final = 800
_EXACT_HEX_DIGITS: Final = 300


def _exact_value(text: bytes) -> Fraction:
    """The value of a decimal or hexadecimal number ``_strtod`` accepted, exact when it has no
    more significant digits than a double can have; otherwise a stand-in between its digits
    cut there and the next value so cut (so on the same side of the tininess bound, and no
    double either), which keeps the work small whatever the length of ``text``."""
    match = _DECIMAL.fullmatch(text)
    if match is not None:
        base, limit, half, power = 10, _EXACT_DECIMALS, b"5", 1
        exponent = _exponent(match.group(3))
    else:
        match = _HEXADECIMAL.fullmatch(text)
        assert match is not None
        base, limit, half, power = 16, _EXACT_HEX_DIGITS, b"8", 4
        exponent = _exponent(match.group(3))
    whole, _, fraction = match.group(2).partition(b".")
    digits = (whole + fraction).lstrip(b"0")
    places = len(fraction)  # digits after the point
    trimmed = digits.rstrip(b"0")
    places -= len(digits) - len(trimmed)
    if len(trimmed) > limit:
        places -= len(trimmed) - limit - 1
        trimmed = trimmed[:limit] + half
    mantissa = Fraction(int(trimmed or b"0", base))
    if base == 10:
        value = mantissa * Fraction(10) ** (exponent - places)
    else:
        value = mantissa * Fraction(2) ** (exponent - power * places)
    return -value if match.group(1) == b"-" else value


def _exponent(raw: bytes | None) -> int:
    """The exponent part (``e-12``, ``p+3``) of a number, 0 when there is none. (Its leading
    zeros are dropped first: Python refuses to read very long digit strings as integers.)"""
    if not raw:
        return 0
    negative = raw[1:2] == b"-"
    digits = raw[1:].lstrip(b"+-").lstrip(b"0")
    value = int(digits or b"0")
    return -value if negative else value


def format_double(value: float) -> bytes:
    """A double as Redis 7.0 writes it (``%.17g``, infinities as ``inf`` and ``-inf``)."""
    if math.isinf(value):
        return b"inf" if value > 0 else b"-inf"
    return b"%.17g" % value
