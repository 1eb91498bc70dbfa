"""Redis's long doubles (zyst.numbers): the x87 80-bit grid, its rounding and its spelling.

The oracle tests compare INCRBYFLOAT with redis-server on generated numbers; these pin the
format's landmarks, so a change to the grid shows up as the landmark it moved.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from zyst.numbers import LongDouble, add_long_double, format_long_double, parse_long_double


def exact(value: LongDouble | float | None) -> Fraction | float | None:
    """A parsed or computed long double as a Fraction (infinities and None as they are)."""
    if value is None or isinstance(value, float):
        return value
    mantissa, exponent = value
    return mantissa * Fraction(2) ** exponent


def grid(value: Fraction) -> LongDouble:
    """A Fraction that lies on the grid as a LongDouble."""
    exponent = -(value.denominator.bit_length() - 1)
    return (value.numerator, exponent)


SMALLEST_SUBNORMAL = Fraction(1, 2**16445)
SMALLEST_NORMAL = Fraction(1, 2**16382)
LARGEST = Fraction((2**64 - 1) * 2 ** (16383 - 63))


def test_values_lie_on_the_64_bit_grid() -> None:
    # 0.1 to the nearest multiple of 2**-67 (its exponent is -4, with 64 significant bits).
    assert exact(parse_long_double(b"0.1")) == Fraction(round(Fraction(1, 10) * 2**67), 2**67)
    assert exact(parse_long_double(b"0x1p-16445")) == SMALLEST_SUBNORMAL
    assert exact(parse_long_double(b"0x1p-16382")) == SMALLEST_NORMAL
    assert exact(parse_long_double(b"0x1.fffffffffffffffep16383")) == LARGEST


@pytest.mark.parametrize(
    ("text", "value"),
    [
        # Halfway between two neighbours: to the even one.
        (b"0x1.00000000000000008p0", Fraction(1)),
        (b"0x1.00000000000000018p0", 1 + Fraction(2, 2**64)),
        # Half the smallest subnormal is a tie with zero (refused: it underflows), a hair more
        # rounds up to it.
        (b"0x1p-16446", None),
        (b"0x1.0000000000000001p-16446", SMALLEST_SUBNORMAL),
        # Past the largest finite value by half a step: infinity (refused).
        (b"0x1.ffffffffffffffffp16383", None),
        (b"0x0p99999", Fraction(0)),
        (b"-0", Fraction(0)),
        (b"inf", float("inf")),
        (b"-INFINITY", float("-inf")),
        (b"nan", None),
        (b"1_0", None),
    ],
)
def test_parse_rounds_to_nearest_even(text: bytes, value: Fraction | float | None) -> None:
    assert exact(parse_long_double(text)) == value


def test_addition_rounds_once_and_stops_at_infinity() -> None:
    one = grid(Fraction(1))
    largest = grid(LARGEST)
    # 1 + 2**-64 is a tie between 1 and its upper neighbour: even (1) wins.
    assert exact(add_long_double(one, grid(Fraction(1, 2**64)))) == 1
    assert exact(add_long_double(one, grid(Fraction(3, 2**65)))) == 1 + Fraction(1, 2**63)
    assert add_long_double(largest, largest) is None
    assert add_long_double(float("inf"), one) is None
    assert exact(add_long_double(largest, grid(-LARGEST))) == 0


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Fraction(21, 2), b"10.5"),
        (Fraction(0), b"0"),
        (Fraction(-1, 2**60), b"0"),  # "-0.00000000000000000" trimmed is "-0", written 0
        (Fraction(-1, 2**54), b"-0.00000000000000006"),
        (Fraction(1, 2**18), b"0.00000381469726562"),  # ...5625 exactly: the tie goes to even
        (Fraction(3, 2**18), b"0.00001144409179688"),
        (Fraction(-3, 2), b"-1.5"),
        (Fraction(10**30), b"1" + b"0" * 30),
    ],
)
def test_format_is_17_decimals_trimmed(value: Fraction, text: bytes) -> None:
    assert format_long_double(grid(value)) == text


def test_format_writes_the_largest_value_in_full() -> None:
    text = format_long_double(grid(LARGEST))
    assert len(text) == 4933 and text.startswith(b"118973149535723176502")
