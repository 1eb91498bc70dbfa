"""Bit-level reading of strings seen as bitmaps: counting, searching and combining bits.

Bit 0 is the most significant bit of the first byte (Redis's SETBIT order). Ranges are given
in bits, both ends inclusive and inside the string (``0 <= first <= last < 8 * len``): the
commands clamp their arguments before calling. The work is done by C-speed primitives
(a popcount over the string's bytes, ``int.from_bytes``,
``bytes.startswith`` and ``lstrip``, ``bytes.translate``), never a Python loop over bits or
bytes, so a long string costs about what copying it costs.

Every function reads ``bytes`` or a ``bytearray`` alike (a string modified in place is stored as
the latter, see :mod:`zyst.keyspace`) and returns ``bytes``.
"""

from __future__ import annotations

from typing import Final

from bitarray import bitarray

AND: Final = 0
OR: Final = 1
XOR: Final = 2

_INVERT: Final = bytes(range(255, -1, -1))
# Searches skip blocks of bytes that hold no bit worth finding by comparing them with these
# (``startswith`` at an offset is a ``memcmp``, no copy).
_BLOCK: Final = 4096
_ZEROS: Final = bytes(_BLOCK)
_ONES: Final = b"\xff" * _BLOCK


# Counting: with Zyst's C extension (:mod:`zyst.types.popcount`, built by every compiled
# install), which uses the CPU's popcount instruction: 1 KB in about 0.1 us. The counters Python
# itself can reach are several times slower on the same 1 KB (bitarray's wheel 0.30 us, as it is
# built without ``-mpopcnt`` and counts with libgcc's software popcount; ``int.from_bytes(...)
# .bit_count()`` 0.87 us; numpy's ``bitwise_count`` 1.56 us, gmpy2 1.35 us, both spent in
# getting there). A pure-Python install, which has no C extension, counts with bitarray
# through a view of the string.
def count_bytes_portable(data: bytes | bytearray, start: int, end: int, /) -> int:
    """Set bits in ``data[start:end]`` (byte offsets), counted by bitarray: the counter of a
    pure-Python install."""
    with memoryview(data) as view:
        return int(bitarray(buffer=view[start:end], endian="big").count())


try:
    from zyst.types.popcount import count as _count_bytes
except ImportError:  # a pure-Python install (ZYST_PURE_PYTHON=1)
    _count_bytes = count_bytes_portable


def count_all(data: bytes | bytearray) -> int:
    """How many bits of ``data`` are set."""
    return _count_bytes(data, 0, len(data))


def count(data: bytes | bytearray, first: int, last: int) -> int:
    """How many of the bits ``first`` .. ``last`` of ``data`` are set."""
    first_byte = first >> 3
    last_byte = last >> 3
    head = 0xFF >> (first & 7)  # the bits of the first byte from ``first`` on
    tail = (0xFF00 >> ((last & 7) + 1)) & 0xFF  # the bits of the last byte up to ``last``
    if first_byte == last_byte:
        return (data[first_byte] & head & tail).bit_count()
    inner = _count_bytes(data, first_byte + 1, last_byte) if last_byte > first_byte + 1 else 0
    return (data[first_byte] & head).bit_count() + inner + (data[last_byte] & tail).bit_count()


def _first_in_byte(byte: int, bit: int) -> int:
    """The position (0-7, from the most significant) of the first ``bit`` in ``byte``, or 8."""
    if not bit:
        byte ^= 0xFF
    return 8 - byte.bit_length()


def _first_byte_not(data: bytes | bytearray, fill: bytes, start: int, end: int) -> int:
    """The index of the first byte of ``data[start:end]`` other than ``fill`` (one byte), or
    -1."""
    block = _ZEROS if fill == b"\0" else _ONES
    while start + _BLOCK <= end and data.startswith(block, start):
        start += _BLOCK
    chunk = data[start : min(start + _BLOCK, end)]
    rest = chunk.lstrip(fill)
    return start + len(chunk) - len(rest) if rest else -1


def find(data: bytes | bytearray, bit: int, first: int, last: int) -> int:
    """The position of the first bit equal to ``bit`` among bits ``first`` .. ``last`` of
    ``data``, or -1 when there is none."""
    first_byte = first >> 3
    last_byte = last >> 3
    # Bits outside the range are forced to the other value in the edge bytes.
    head = (0xFF00 >> (first & 7)) & 0xFF  # bits of the first byte before ``first``
    tail = 0xFF >> ((last & 7) + 1)  # bits of the last byte after ``last``
    byte = data[first_byte]
    outside = head | (tail if last_byte == first_byte else 0)
    byte = (byte | outside) if bit == 0 else (byte & ~outside)
    where = _first_in_byte(byte, bit)
    if where < 8:
        return first_byte * 8 + where
    if last_byte == first_byte:
        return -1
    index = _first_byte_not(data, b"\0" if bit else b"\xff", first_byte + 1, last_byte)
    if index >= 0:
        return index * 8 + _first_in_byte(data[index], bit)
    byte = data[last_byte]
    byte = (byte | tail) if bit == 0 else (byte & ~tail)
    where = _first_in_byte(byte, bit)
    return last_byte * 8 + where if where < 8 else -1


def invert(data: bytes | bytearray) -> bytes:
    """Every bit of ``data`` flipped (BITOP NOT)."""
    return bytes(data.translate(_INVERT))  # (no copy of bytes; a bytearray's, as bytes)


def combine(op: int, sources: list[bytes | bytearray]) -> bytes:
    """``sources`` combined bit by bit with ``op`` (AND, OR, XOR), each read as if padded with
    zero bytes to the longest one's length, which is the result's length."""
    size = max(len(source) for source in sources)
    if len(sources) == 1:
        return bytes(sources[0])
    acc = -1
    for index, source in enumerate(sources):
        value = int.from_bytes(source, "big")
        if len(source) < size:
            value <<= 8 * (size - len(source))
        if index == 0:
            acc = value
        elif op == AND:
            acc &= value
        elif op == OR:
            acc |= value
        else:
            acc ^= value
    return acc.to_bytes(size, "big")
