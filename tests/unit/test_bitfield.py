"""The bit arithmetic behind the bitmap commands (zyst.types.bitfield and zyst.types.bitmap),
without a server: checked against a plain bit-by-bit model and against values redis-server
7.0.15 gave for the same operations (its overflow quirks included)."""

from __future__ import annotations

import random

import pytest

from zyst.types import bitfield, bitmap
from zyst.types.bitfield import FAIL, SAT, WRAP


def bits_of(data: bytes | bytearray) -> list[int]:
    """Every bit of ``data``, bit 0 the most significant of the first byte."""
    return [(byte >> (7 - i)) & 1 for byte in data for i in range(8)]


def model_get(data: bytes, offset: int, bits: int, signed: bool) -> int:
    padded = bits_of(data) + [0] * (offset + bits)
    value = 0
    for bit in padded[offset : offset + bits]:
        value = value * 2 + bit
    if signed and padded[offset]:
        value -= 1 << bits
    return value


def random_bytes(rng: random.Random, size: int) -> bytes:
    # Runs of 0x00 and 0xff as well as noise, so searches cross whole bytes of both.
    choice = rng.randrange(3)
    if choice == 0:
        return bytes(rng.randrange(256) for _ in range(size))
    fill = 0 if choice == 1 else 0xFF
    data = bytearray([fill] * size)
    for _ in range(rng.randrange(3)):
        if size:
            data[rng.randrange(size)] = rng.randrange(256)
    return bytes(data)


# -- fields ---------------------------------------------------------------------------------
def test_get_reads_big_endian_across_bytes_and_zeros_past_the_end() -> None:
    data = bytes([0b00000001, 0b01110000])
    # Redis's example: a 5-bit unsigned 23 at offset 7.
    assert bitfield.get_unsigned(data, 7, 5) == 23
    assert bitfield.get_unsigned(data, 0, 16) == 0x0170
    assert bitfield.get_unsigned(data, 12, 8) == 0  # half past the end
    assert bitfield.get_unsigned(b"", 1000, 63) == 0
    assert bitfield.get_signed(b"\xff", 0, 8) == -1
    assert bitfield.get_signed(b"\xff", 4, 8) == -16  # 1111 then zero padding
    assert bitfield.get_signed(b"\x80" + bytes(7), 0, 64) == -(1 << 63)


def test_get_matches_the_bit_model() -> None:
    rng = random.Random(1)
    for _ in range(2000):
        data = random_bytes(rng, rng.randrange(0, 12))
        bits = rng.randrange(1, 65)
        offset = rng.randrange(0, len(data) * 8 + 9)
        assert bitfield.get_unsigned(data, offset, bits) == model_get(data, offset, bits, False)
        assert bitfield.get_signed(data, offset, bits) == model_get(data, offset, bits, True)


def test_put_writes_only_its_bits() -> None:
    rng = random.Random(2)
    for _ in range(2000):
        bits = rng.randrange(1, 65)
        offset = rng.randrange(0, 64)
        size = (offset + bits + 7) // 8 + rng.randrange(3)
        before = random_bytes(rng, size)
        value = rng.randrange(-(1 << 64), 1 << 64)
        buf = bytearray(before)
        bitfield.put(buf, offset, bits, value)
        expected = bits_of(before)
        low = value & ((1 << bits) - 1)
        for i in range(bits):
            expected[offset + i] = (low >> (bits - 1 - i)) & 1
        assert bits_of(buf) == expected
        assert len(buf) == size


UNSIGNED_CASES = [
    # (value, increment, bits, mode, stored)
    (100, 257, 8, WRAP, 101),
    (101, 255, 8, WRAP, 100),
    (100, 257, 8, SAT, 255),
    (255, -255, 8, SAT, 0),
    (0, -1, 8, SAT, 0),
    (0, -1, 8, WRAP, 255),
    (0, -1, 8, FAIL, None),
    (255, 1, 8, FAIL, None),
    (254, 1, 8, FAIL, 255),
    (0, (1 << 63) - 1, 63, FAIL, (1 << 63) - 1),
    ((1 << 63) - 1, 1, 63, WRAP, 0),
    # A SET of -1 is the unsigned 2**64 - 1: too large, so SAT stores the maximum.
    ((1 << 64) - 1, 0, 8, SAT, 255),
    ((1 << 64) - 1, 0, 8, WRAP, 255),
    ((1 << 64) - 1, 0, 8, FAIL, None),
    (1 << 63, 0, 1, WRAP, 0),
]


@pytest.mark.parametrize(("value", "increment", "bits", "mode", "stored"), UNSIGNED_CASES)
def test_unsigned_overflow(value: int, increment: int, bits: int, mode: int, stored: int) -> None:
    assert bitfield.unsigned_result(value, increment, bits, mode) == stored


SIGNED_CASES = [
    (100, 27, 8, FAIL, 127),
    (100, 28, 8, FAIL, None),
    (100, 28, 8, WRAP, -128),
    (100, 28, 8, SAT, 127),
    (-100, -29, 8, SAT, -128),
    (-100, -29, 8, WRAP, 127),
    (-128, -1, 8, FAIL, None),
    (0, -1, 1, FAIL, -1),
    (0, 1, 1, WRAP, -1),
    ((1 << 63) - 1, 1, 64, WRAP, -(1 << 63)),
    ((1 << 63) - 1, 1, 64, SAT, (1 << 63) - 1),
    (-(1 << 63), -1, 64, SAT, -(1 << 63)),
    (-(1 << 63), -1, 64, WRAP, (1 << 63) - 1),
    (-(1 << 63), 0, 64, FAIL, -(1 << 63)),
    (300, 0, 8, SAT, 127),
    (300, 0, 8, WRAP, 44),
    (-1000, 0, 8, SAT, -128),
    (-1000, 0, 8, WRAP, 24),
    # Redis 7.0.15: SET of a value this close to -2**63 overflows *upwards* (its distance to
    # the maximum wraps in 64 bits), so SAT stores the maximum; one further away, the minimum.
    (-(1 << 63), 0, 8, SAT, 127),
    (-(1 << 63) + 127, 0, 8, SAT, 127),
    (-(1 << 63) + 128, 0, 8, SAT, -128),
    (-(1 << 63), 0, 8, WRAP, 0),
    (-(1 << 63), 0, 8, FAIL, None),
]


@pytest.mark.parametrize(("value", "increment", "bits", "mode", "stored"), SIGNED_CASES)
def test_signed_overflow(value: int, increment: int, bits: int, mode: int, stored: int) -> None:
    assert bitfield.signed_result(value, increment, bits, mode) == stored


def test_results_in_range_are_exact_sums_and_out_of_range_ones_wrap_or_clamp() -> None:
    rng = random.Random(3)
    for _ in range(3000):
        bits = rng.randrange(1, 65)
        signed = bits == 64 or rng.random() < 0.5
        top = (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1
        bottom = -top - 1 if signed else 0
        value = rng.randrange(bottom, top + 1)
        # (increments are 64-bit integers, as the commands parse them)
        increment = rng.choice(
            [rng.randrange(-4, 5), rng.randrange(-(1 << 63), 1 << 63), top - value + 1]
        )
        increment = max(min(increment, (1 << 63) - 1), -(1 << 63))
        total = value + increment
        check = bitfield.signed_result if signed else bitfield.unsigned_result
        if bottom <= total <= top:
            assert all(check(value, increment, bits, mode) == total for mode in (WRAP, SAT, FAIL))
            continue
        assert check(value, increment, bits, FAIL) is None
        assert check(value, increment, bits, SAT) == (top if total > top else bottom)
        wrapped = check(value, increment, bits, WRAP)
        assert wrapped is not None and bottom <= wrapped <= top
        assert (wrapped - total) % (1 << bits) == 0


def test_set_and_incr_fields_on_a_buffer() -> None:
    buf = bytearray(2)
    assert bitfield.set_field(buf, 0, 8, False, 255, WRAP) == (0, 255)
    assert bitfield.incr_field(buf, 0, 8, False, 100, WRAP) == (255, 99)
    assert bitfield.get(buf, 0, 8, False) == 99
    assert bitfield.set_field(buf, 4, 8, True, -1, WRAP) == (0x30, -1)
    assert buf == bytearray([0x6F, 0xF0])
    # Under FAIL an overflow writes nothing.
    assert bitfield.incr_field(buf, 4, 8, True, -128, FAIL) == (-1, None)
    assert bitfield.set_field(buf, 0, 4, False, 16, FAIL) == (6, None)
    assert buf == bytearray([0x6F, 0xF0])
    # An unsigned field sees a negative SET value as a huge unsigned number.
    assert bitfield.set_field(buf, 8, 8, False, -2, SAT) == (0xF0, 255)
    assert bitfield.set_field(buf, 8, 8, False, -2, WRAP) == (255, 254)
    assert buf == bytearray([0x6F, 0xFE])


# -- bitmaps --------------------------------------------------------------------------------
def test_count_matches_the_bit_model() -> None:
    rng = random.Random(4)
    for _ in range(2000):
        data = random_bytes(rng, rng.randrange(1, 40))
        first = rng.randrange(len(data) * 8)
        last = rng.randrange(first, len(data) * 8)
        assert bitmap.count(data, first, last) == sum(bits_of(data)[first : last + 1])
        assert bitmap.count_all(data) == sum(bits_of(data))
    assert bitmap.count_all(b"") == 0


def test_find_matches_the_bit_model() -> None:
    rng = random.Random(5)
    for _ in range(4000):
        data = random_bytes(rng, rng.randrange(1, 40))
        first = rng.randrange(len(data) * 8)
        last = rng.randrange(first, len(data) * 8)
        for bit in (0, 1):
            window = bits_of(data)[first : last + 1]
            expected = first + window.index(bit) if bit in window else -1
            assert bitmap.find(data, bit, first, last) == expected, (data, bit, first, last)


def test_find_skips_whole_bytes_of_the_other_value() -> None:
    assert bitmap.find(b"\xff" * 1000 + b"\xfe", 0, 0, 8007) == 8007
    assert bitmap.find(b"\x00" * 1000 + b"\x01", 1, 3, 8007) == 8007
    assert bitmap.find(b"\xff" * 1000, 0, 0, 7999) == -1
    assert bitmap.find(b"\x00\x80", 1, 0, 8) == 8
    assert bitmap.find(b"\x00\x80", 1, 0, 7) == -1
    assert bitmap.find(b"\x0f", 0, 4, 7) == -1
    assert bitmap.find(b"\x0f", 0, 3, 7) == 3


@pytest.mark.parametrize("where", [0, 1, 4095, 4096, 4097, 8191, 8192, 12288, 12999])
def test_find_across_blocks_of_fill(where: int) -> None:
    # Long runs are skipped a block at a time: a lone byte must be found wherever it sits,
    # block boundaries and the range's ends included.
    for bit, fill in ((1, 0x00), (0, 0xFF)):
        data = bytearray([fill] * 13000)
        data[where] = 0x10 if bit else 0xEF
        found = where * 8 + 3
        assert bitmap.find(bytes(data), bit, 0, 13000 * 8 - 1) == found
        assert bitmap.find(bytes(data), bit, 5, found) == (found if found >= 5 else -1)
        assert bitmap.find(bytes(data), bit, found + 1, 13000 * 8 - 1) == -1
        assert bitmap.find(bytes(data), bit, 0, found - 1) == -1


def test_combine_pads_shorter_sources_with_zeros() -> None:
    rng = random.Random(6)
    for _ in range(500):
        sources = [random_bytes(rng, rng.randrange(0, 70)) for _ in range(rng.randrange(1, 5))]
        size = max(len(s) for s in sources)
        padded = [s + bytes(size - len(s)) for s in sources]
        for op, fold in (
            (bitmap.AND, lambda a, b: a & b),
            (bitmap.OR, lambda a, b: a | b),
            (bitmap.XOR, lambda a, b: a ^ b),
        ):
            expected = bytearray(padded[0])
            for other in padded[1:]:
                for i in range(size):
                    expected[i] = fold(expected[i], other[i])
            assert bitmap.combine(op, sources) == bytes(expected)
    assert bitmap.invert(b"\x00\xff\x0f") == b"\xff\x00\xf0"


@pytest.mark.parametrize("size", [1, 2, 1000, 65_535, 65_536, 65_537, 200_000])
def test_counts_copied_or_viewed(size: int) -> None:
    """Up to 64 KB the count reads a copy in a scratch bitarray, above it a view of the buffer:
    the same answers, bytes or bytearray; the scratch is left empty (a shorter string counted
    next is not added to), and a bytearray can grow again afterwards."""
    rng = random.Random(size)
    data = bytearray(rng.randbytes(size))
    expected = int.from_bytes(data, "big").bit_count()
    assert bitmap.count_all(bytes(data)) == bitmap.count_all(data) == expected
    assert bitmap.count_all(b"\x81") == 2
    first, last = 3, 8 * size - 2
    window = (int.from_bytes(data, "big") >> (8 * size - 1 - last)) & (
        (1 << (last - first + 1)) - 1
    )
    assert bitmap.count(data, first, last) == bitmap.count(bytes(data), first, last)
    assert bitmap.count(data, first, last) == window.bit_count()
    assert bitmap.count(b"\x81\x01", 7, 15) == 2
    data += b"\xff"  # no view left holding the buffer
    assert bitmap.count_all(data) == expected + 8
