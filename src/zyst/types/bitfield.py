"""Integer fields of 1 to 64 bits at any bit offset of a string (BITFIELD's arithmetic).

Bit 0 is the most significant bit of the first byte, as for SETBIT: a field is read and
written big-endian across byte boundaries. Bytes past the end of the string read as zero;
:func:`put` writes into a buffer the caller has already made long enough.

Fields are signed (``i1`` .. ``i64``, two's complement) or unsigned (``u1`` .. ``u63``).
:func:`set_field` and :func:`incr_field` are BITFIELD's SET and INCRBY on a buffer; the value
they store comes from :func:`unsigned_result` / :func:`signed_result`, which take a value and an
increment as Redis's 64-bit C arithmetic sees them and apply one of the overflow modes:

- ``WRAP``: keep the low bits (unsigned), or wrap into the signed range;
- ``SAT``: clamp to the field's largest or smallest value;
- ``FAIL``: store nothing (the result is ``None``).

Overflow is judged exactly as Redis 7.0 judges it, quirks included: a signed SET of a value
within ``max - 2**63`` of ``-2**63`` counts as an overflow *upwards* (Redis's limit arithmetic
wraps in 64 bits), so SAT stores the maximum; an unsigned SET of a negative value sees it as
the unsigned 64-bit number it is, so SAT stores the maximum there too.
"""

from __future__ import annotations

from typing import Final

WRAP: Final = 0
SAT: Final = 1
FAIL: Final = 2

_U64: Final = 1 << 64
_I64_MAX: Final = (1 << 63) - 1


def _as_int64(value: int) -> int:
    """``value`` as a C ``int64_t`` holding its low 64 bits (two's complement)."""
    value &= _U64 - 1
    return value - _U64 if value > _I64_MAX else value


def get_unsigned(data: bytes | bytearray, offset: int, bits: int) -> int:
    """The ``bits``-bit unsigned field at bit ``offset`` of ``data`` (zeros past its end)."""
    last_bit = offset + bits - 1
    first = offset >> 3
    end = (last_bit >> 3) + 1
    chunk = data[first:end]
    value = int.from_bytes(chunk, "big")
    missing = end - first - len(chunk)
    if missing:
        value <<= 8 * missing
    return (value >> (7 - (last_bit & 7))) & ((1 << bits) - 1)


def get_signed(data: bytes | bytearray, offset: int, bits: int) -> int:
    """The ``bits``-bit two's complement field at bit ``offset`` of ``data``."""
    value = get_unsigned(data, offset, bits)
    if value >> (bits - 1):
        value -= 1 << bits
    return value


def get(data: bytes | bytearray, offset: int, bits: int, signed: bool) -> int:
    """The field at bit ``offset`` of ``data``, signed or unsigned."""
    if signed:
        return get_signed(data, offset, bits)
    return get_unsigned(data, offset, bits)


def put(buf: bytearray, offset: int, bits: int, value: int) -> None:
    """Write the low ``bits`` bits of ``value`` (two's complement if negative) at bit
    ``offset`` of ``buf``, which must reach the field's last byte."""
    last_bit = offset + bits - 1
    first = offset >> 3
    end = (last_bit >> 3) + 1
    shift = 7 - (last_bit & 7)
    mask = ((1 << bits) - 1) << shift
    current = int.from_bytes(buf[first:end], "big")
    current = (current & ~mask) | ((value << shift) & mask)
    buf[first:end] = current.to_bytes(end - first, "big")


def unsigned_result(value: int, increment: int, bits: int, mode: int) -> int | None:
    """What an unsigned ``bits``-bit field stores for ``value + increment`` under ``mode``
    (``None``: FAIL and out of range). ``value`` is an unsigned 64-bit number (a SET's
    argument converted as C converts ``int64_t`` to ``uint64_t``), ``increment`` a signed one."""
    top = (1 << bits) - 1
    total = value + increment
    if value > top or total > top:
        limit = top
    elif total < 0:
        limit = 0
    else:
        return total
    if mode == FAIL:
        return None
    if mode == SAT:
        return limit
    return total & top


def signed_result(value: int, increment: int, bits: int, mode: int) -> int | None:
    """What a signed ``bits``-bit field stores for ``value + increment`` under ``mode``
    (``None``: FAIL and out of range); both are signed 64-bit numbers."""
    top = (1 << (bits - 1)) - 1
    bottom = -top - 1
    # Redis computes how far the value is from each limit in 64 bits, where the distance to
    # the maximum can wrap around (see the module's docstring).
    up_room = _as_int64(top - value)
    down_room = _as_int64(bottom - value)
    narrow = bits != 64
    if (
        value > top
        or (narrow and increment > up_room)
        or (value >= 0 and increment > 0 and increment > up_room)
    ):
        limit = top
    elif (
        value < bottom
        or (narrow and increment < down_room)
        or (value < 0 and increment < 0 and increment < down_room)
    ):
        limit = bottom
    else:
        return value + increment
    if mode == FAIL:
        return None
    if mode == SAT:
        return limit
    wrapped = (value + increment) & ((1 << bits) - 1)
    return wrapped - (1 << bits) if wrapped >> (bits - 1) else wrapped


def set_field(
    buf: bytearray, offset: int, bits: int, signed: bool, value: int, mode: int
) -> tuple[int, int | None]:
    """BITFIELD's SET of the signed 64-bit ``value``: ``(old value, value stored)``, the latter
    ``None`` (and nothing written) when it overflowed under FAIL. An unsigned field sees a
    negative ``value`` as C's ``uint64_t`` conversion makes it, a huge number."""
    old = get(buf, offset, bits, signed)
    if signed:
        stored = signed_result(value, 0, bits, mode)
    else:
        stored = unsigned_result(value & (_U64 - 1), 0, bits, mode)
    if stored is not None:
        put(buf, offset, bits, stored)
    return old, stored


def incr_field(
    buf: bytearray, offset: int, bits: int, signed: bool, increment: int, mode: int
) -> tuple[int, int | None]:
    """BITFIELD's INCRBY: ``(old value, value stored)``, the latter ``None`` (and nothing
    written) when it overflowed under FAIL."""
    old = get(buf, offset, bits, signed)
    if signed:
        stored = signed_result(old, increment, bits, mode)
    else:
        stored = unsigned_result(old, increment, bits, mode)
    if stored is not None:
        put(buf, offset, bits, stored)
    return old, stored
