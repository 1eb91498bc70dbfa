"""The bit counters BITCOUNT uses: the C extension ``zyst.types.popcount`` (with the CPU's
popcount instruction), the portable bitarray counter of pure-Python installs, and the bit-range
count built on them, all checked against counting bit by bit."""

from __future__ import annotations

import random

import pytest

from zyst.types import bitmap

# A compiled install (what CI runs) must have the extension; a plain-Python one (src/**/*.so
# deleted, ZYST_PURE_PYTHON=1) has none, and only the portable counter is tested there.
if bitmap.__file__ is not None and bitmap.__file__.endswith(".so"):
    from zyst.types import popcount
else:
    popcount = pytest.importorskip("zyst.types.popcount", reason="a plain-Python install")


def reference(data: bytes, start: int, end: int) -> int:
    return sum(bin(byte).count("1") for byte in data[start:end])


def samples() -> list[bytes]:
    rnd = random.Random(7)
    found = [b"", b"\x00", b"\xff", b"\x80\x01", bytes(range(256)) * 3, b"\xff" * 1000]
    # Every length around the 8- and 32-byte steps of the C loop, in dense and sparse bytes.
    for size in (*range(70), 255, 256, 257, 1000, 4099):
        found.append(rnd.randbytes(size))
        found.append(bytes(rnd.choice((0, 0, 0, 1, 128, 255)) for _ in range(size)))
    return found


def test_the_extension_is_built_and_uses_the_instruction() -> None:
    """A compiled install has the extension, on this x86-64 machine with POPCNT."""
    assert bitmap._count_bytes is popcount.count
    assert popcount.hardware() is True


@pytest.mark.parametrize("counter", [popcount.count, bitmap.count_bytes_portable])
def test_byte_spans_count_like_bit_by_bit(counter: object) -> None:
    rnd = random.Random(11)
    count = popcount.count if counter is popcount.count else bitmap.count_bytes_portable
    for data in samples():
        assert count(data, 0, len(data)) == reference(data, 0, len(data))
        assert count(bytearray(data), 0, len(data)) == reference(data, 0, len(data))
        for _ in range(20):
            start = rnd.randrange(len(data) + 1)
            end = rnd.randrange(start, len(data) + 1)
            assert count(data, start, end) == reference(data, start, end), (data, start, end)


@pytest.mark.parametrize(("start", "end"), [(-1, 2), (2, 1), (0, 5), (5, 5)])
def test_spans_outside_the_buffer_are_refused(start: int, end: int) -> None:
    for data in (b"abcd", bytearray(b"abcd")):
        with pytest.raises(ValueError, match="byte range outside the buffer"):
            popcount.count(data, start, end)


def test_bit_ranges_count_like_bit_by_bit() -> None:
    rnd = random.Random(13)
    for data in samples():
        if not data:
            continue
        bits = "".join(f"{byte:08b}" for byte in data)
        for _ in range(30):
            first = rnd.randrange(len(bits))
            last = rnd.randrange(first, len(bits))
            assert bitmap.count(data, first, last) == bits[first : last + 1].count("1")
        assert bitmap.count_all(data) == bits.count("1")
