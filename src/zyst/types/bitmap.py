"""Bit-level reading of strings seen as bitmaps: counting, searching and combining bits.

Bit 0 is the most significant bit of the first byte (Redis's SETBIT order). Ranges are given
in bits, both ends inclusive and inside the string (``0 <= first <= last < 8 * len``): the
commands clamp their arguments before calling. The work is done by C-speed primitives
(bitarray's popcount over a copy or a view of the string, ``int.from_bytes``,
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


# Counting goes through bitarray, whose popcount is the cheapest one Python can reach (measured
# on 1 KB: 0.27 us, where ``int.from_bytes(...).bit_count()`` takes 0.87 and is not ahead even
# on 1 byte). Up to this size the string is copied into one scratch bitarray, kept for the
# purpose (a new bitarray's constructor and its keyword arguments cost more than the copy: 1 KB
# counts in 0.27 us instead of 0.32 copied into a new bitarray, 0.47 viewed); longer strings
# are counted through a view of their buffer (1 MB: 158 us instead of 180 copied). What is left
# is the popcount itself: bitarray's wheel is built without ``-mpopcnt``, so it counts with
# libgcc's software popcount (3,700 instructions for 1 KB; a build with ``-mpopcnt`` counts
# 1 KB in 0.17 us and 1 MB in 49 us).
_COPY_UP_TO: Final = 65536
# The scratch bitarray is empty between calls, so it holds no memory. Only the event loop's
# thread counts bits, and nothing runs between filling and emptying it. Its bound methods are
# taken once: a call through them skips the method lookup.
_SCRATCH: Final = bitarray(endian="big")
_FILL: Final = _SCRATCH.frombytes
_COUNT: Final = _SCRATCH.count
_EMPTY: Final = _SCRATCH.clear


def count_all(data: bytes | bytearray) -> int:
    """How many bits of ``data`` are set."""
    if len(data) > _COPY_UP_TO:
        # (The view is gone when this returns, so a bytearray can grow again.)
        return int(bitarray(buffer=data, endian="big").count())
    _FILL(data)
    try:
        return int(_COUNT())
    finally:
        _EMPTY()


def count(data: bytes | bytearray, first: int, last: int) -> int:
    """How many of the bits ``first`` .. ``last`` of ``data`` are set."""
    if len(data) > _COPY_UP_TO:
        return int(bitarray(buffer=data, endian="big").count(1, first, last + 1))
    _FILL(data)
    try:
        return int(_COUNT(1, first, last + 1))
    finally:
        _EMPTY()


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
