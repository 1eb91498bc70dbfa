"""HyperLogLog in Redis's own representation, byte for byte (Redis's ``hyperloglog.c``).

An HLL is a string value. Its 16-byte header is the magic ``HYLL``, one encoding byte (0 dense,
1 sparse), three zero bytes, then the cached cardinality as 8 little-endian bytes whose top bit
(bit 7 of byte 15) set means "stale". 16384 registers (P = 14) of 6 bits follow:

- dense: 12288 bytes, register ``i`` at bit ``6 * i`` counted from the least significant bit of
  each byte (the value is exactly ``HEADER + 12288`` bytes long);
- sparse: run-length opcodes covering the 16384 registers in order: ``00xxxxxx`` ZERO (1..64
  zero registers), ``01xxxxxx yyyyyyyy`` XZERO (1..16384 zeros), ``1vvvvvxx`` VAL (1..4
  registers of value 1..32).

An element's register and value come from MurmurHash64A (seed 0xadc83b19) of its bytes: the low
14 bits pick the register, and the value is the position of the lowest set bit of the other 50
(plus one, at most 51). The cardinality estimate is Otmar Ertl's, computed from the histogram of
register values in the same floating-point operations as Redis, so the answers are equal.

The functions work on a ``bytearray`` holding the whole value (header included) and change it in
place: a sparse HLL grows, shrinks and turns dense (the ``bytearray``'s content replaced) exactly
as Redis's does, so GET afterwards answers Redis's bytes. A value that fails
:func:`is_valid` is not an HLL (WRONGTYPE); one that passes it but whose sparse opcodes do not
cover exactly 16384 registers is corrupted (INVALIDOBJ), detected, never trusted further. (The
reference is the redis-server 7.0.15 Debian ships, which carries the fix for CVE-2025-32023:
its conversion to dense and its merge refuse opcodes running past the last register, where
7.0.15's source stopped at them and went on.)

The hot loops (hashing, dense registers, histograms) come from the C extension
:mod:`zyst.types.hllcore` when it is built; the Python definitions below are the same
algorithms, used by a pure-Python install.
"""

from __future__ import annotations

import math
import struct
from typing import Final

HEADER: Final = 16
REGISTERS: Final = 16384
DENSE_BYTES: Final = 12288  # 16384 registers of 6 bits
DENSE_SIZE: Final = HEADER + DENSE_BYTES
DENSE: Final = 0
SPARSE: Final = 1
SEED: Final = 0xADC83B19
_MASK64: Final = (1 << 64) - 1
_M: Final = 0xC6A4A7935BD1E995
_VAL_MAX_VALUE: Final = 32
_VAL_MAX_LEN: Final = 4
_ZERO_MAX_LEN: Final = 64
_XZERO_MAX_LEN: Final = 16384
_Q: Final = 50  # hash bits left for the run of zeros
_ALPHA_INF: Final = 0.721347520444481703680  # 0.5 / ln(2)

# A new HLL: sparse, its registers as one XZERO of 16384, a valid cached cardinality of 0.
EMPTY: Final = b"HYLL\x01\x00\x00\x00" + bytes(8) + b"\x7f\xff"


def is_valid_py(value: bytes | bytearray) -> bool:
    """Whether a string is an HLL as Redis checks before using one: long enough for the header,
    the magic, a known encoding, and a dense one exactly the dense size."""
    size = len(value)
    if size < HEADER or not value.startswith(b"HYLL"):
        return False
    encoding = value[4]
    if encoding > SPARSE:
        return False
    return encoding != DENSE or size == DENSE_SIZE


def cached_py(value: bytes | bytearray) -> int:
    """The cached cardinality, -1 when it is marked stale."""
    if value[15] & 0x80:
        return -1
    return int.from_bytes(value[8:16], "little")


def set_cached(buf: bytearray, card: int) -> None:
    buf[8:16] = (card & _MASK64).to_bytes(8, "little")


def invalidate(buf: bytearray) -> None:
    buf[15] |= 0x80


# -- hashing ---------------------------------------------------------------------------------
def murmur64a(data: bytes) -> int:
    """MurmurHash64A of ``data`` with Redis's seed (little-endian words, as on x86)."""
    size = len(data)
    h = SEED ^ ((size * _M) & _MASK64)
    body = size - (size & 7)
    for at in range(0, body, 8):
        k = int.from_bytes(data[at : at + 8], "little")
        k = (k * _M) & _MASK64
        k ^= k >> 47
        k = (k * _M) & _MASK64
        h ^= k
        h = (h * _M) & _MASK64
    if size & 7:
        h ^= int.from_bytes(data[body:], "little")
        h = (h * _M) & _MASK64
    h ^= h >> 47
    h = (h * _M) & _MASK64
    h ^= h >> 47
    return h


def pattern_py(data: bytes) -> int:
    """An element's register and value packed as ``value << 14 | register``."""
    h = murmur64a(data)
    rest = (h >> 14) | (1 << _Q)
    return ((rest & -rest).bit_length() << 14) | (h & (REGISTERS - 1))


# -- dense registers -------------------------------------------------------------------------
def dense_get(buf: bytes | bytearray, index: int) -> int:
    """Register ``index`` of a dense HLL."""
    bit = index * 6
    at = HEADER + (bit >> 3)
    shift = bit & 7
    if shift <= 2:  # within one byte (the last register must not read past the end)
        return (buf[at] >> shift) & 63
    return ((buf[at] >> shift) | (buf[at + 1] << (8 - shift))) & 63


def dense_put(buf: bytearray, index: int, value: int) -> None:
    """Store ``value`` (0..63) in register ``index`` of a dense HLL."""
    bit = index * 6
    at = HEADER + (bit >> 3)
    shift = bit & 7
    buf[at] = (buf[at] & ~(63 << shift) & 0xFF) | ((value << shift) & 0xFF)
    if shift > 2:
        buf[at + 1] = (buf[at + 1] & ~(63 >> (8 - shift)) & 0xFF) | (value >> (8 - shift))


def dense_add_py(buf: bytearray, elements: list[bytes], start: int) -> int:
    """Add ``elements[start:]`` to a dense HLL: how many raised a register."""
    changed = 0
    for at in range(start, len(elements)):
        pat = pattern(elements[at])
        index = pat & (REGISTERS - 1)
        count = pat >> 14
        if count > dense_get(buf, index):
            dense_put(buf, index, count)
            changed += 1
    return changed


def unpack_py(buf: bytes | bytearray) -> bytearray:
    """A dense HLL's registers, one byte each."""
    raw = bytearray(REGISTERS)
    at = HEADER
    for i in range(0, REGISTERS, 4):
        # Four registers in three bytes.
        b0 = buf[at]
        b1 = buf[at + 1]
        b2 = buf[at + 2]
        raw[i] = b0 & 63
        raw[i + 1] = ((b0 >> 6) | (b1 << 2)) & 63
        raw[i + 2] = ((b1 >> 4) | (b2 << 4)) & 63
        raw[i + 3] = b2 >> 2
        at += 3
    return raw


def pack_py(buf: bytearray, raw: bytes | bytearray) -> None:
    """Store registers given one byte each (0..63) into a dense HLL."""
    at = HEADER
    for i in range(0, REGISTERS, 4):
        r0 = raw[i]
        r1 = raw[i + 1]
        r2 = raw[i + 2]
        r3 = raw[i + 3]
        buf[at] = (r0 | (r1 << 6)) & 0xFF
        buf[at + 1] = ((r1 >> 2) | (r2 << 4)) & 0xFF
        buf[at + 2] = ((r2 >> 4) | (r3 << 2)) & 0xFF
        at += 3


def dense_histogram_py(buf: bytes | bytearray) -> list[int]:
    """The histogram of a dense HLL's register values."""
    return histogram_raw(unpack(buf))


def raw_max_py(dst: bytearray, src: bytes | bytearray) -> None:
    """Raise each byte of ``dst`` to ``src``'s at the same place."""
    for i in range(len(dst)):
        if src[i] > dst[i]:
            dst[i] = src[i]


def histogram_raw_py(raw: bytes | bytearray) -> list[int]:
    """How many registers hold each value 0..63 (registers one byte each, values < 64)."""
    histo = [0] * 64
    for value in range(64):
        histo[value] = raw.count(value)
    return histo


# -- sparse opcodes --------------------------------------------------------------------------
def _zero_run(length: int) -> bytes:
    """The opcode of a run of ``length`` zero registers: ZERO up to 64, else XZERO."""
    if length > _ZERO_MAX_LEN:
        length -= 1
        return bytes(((length >> 8) | 0x40, length & 0xFF))
    return bytes((length - 1,))


def _val(value: int, length: int) -> int:
    return ((value - 1) << 2) | (length - 1) | 0x80


def _span(buf: bytes | bytearray, p: int, end: int) -> int:
    """Registers covered by the opcode at ``p`` (an XZERO cut by the end reads a zero byte, as
    Redis reads the string's terminator)."""
    op = buf[p]
    if op & 0xC0 == 0:
        return (op & 0x3F) + 1
    if op & 0x80:
        return (op & 3) + 1
    low = buf[p + 1] if p + 1 < end else 0
    return (((op & 0x3F) << 8) | low) + 1


def to_dense(buf: bytearray) -> bool:
    """Turn a sparse HLL into a dense one in place (the header, cached cardinality included,
    kept); a dense one is left alone. False, and nothing changed, if the opcodes are corrupt."""
    if buf[4] == DENSE:
        return True
    raw = bytearray(REGISTERS)
    end = len(buf)
    p = HEADER
    idx = 0
    while p < end:
        op = buf[p]
        if op & 0xC0 == 0:
            idx += (op & 0x3F) + 1
            p += 1
        elif op & 0x80 == 0:
            idx += _span(buf, p, end)
            p += 2
        else:
            runlen = (op & 3) + 1
            if runlen + idx > REGISTERS:
                return False
            value = ((op >> 2) & 0x1F) + 1
            raw[idx : idx + runlen] = bytes((value,)) * runlen
            idx += runlen
            p += 1
        if idx > REGISTERS:
            return False
    if idx != REGISTERS:
        return False
    dense = bytearray(DENSE_SIZE)
    dense[:HEADER] = buf[:HEADER]
    dense[4] = DENSE
    pack(dense, raw)
    buf[:] = dense
    return True


def sparse_seek_py(buf: bytes | bytearray, index: int) -> tuple[int, int, int, int]:
    """The walk to the opcode covering register ``index``: its offset (the value's length if
    none does), the previous opcode's (-1 if none), the first register it covers, and how many
    it covers (0 if there was no opcode at all)."""
    end = len(buf)
    p = HEADER
    first = 0
    prev = -1
    span = 0
    while p < end:
        span = _span(buf, p, end)
        if index <= first + span - 1:
            break
        prev = p
        p += 2 if buf[p] & 0xC0 == 0x40 else 1
        first += span
    return p, prev, first, span


def sparse_set(buf: bytearray, index: int, count: int, max_bytes: int) -> int:
    """Raise register ``index`` of a sparse HLL to ``count`` (Redis's ``hllSparseSet``, step for
    step: the same opcode splits and merges, the same promotion to dense past ``max_bytes`` or
    for a value a VAL cannot hold). 1 if it changed, 0 if not, -1 if the HLL is corrupt."""
    if count > _VAL_MAX_VALUE:
        return _promote(buf, index, count)
    end = len(buf)
    p, prev, first, span = sparse_seek(buf, index)
    if span == 0 or p >= end:
        return -1
    op = buf[p]
    is_xzero = op & 0xC0 == 0x40
    oldlen = 2 if is_xzero else 1
    has_next = p + oldlen < end
    if op & 0x80:
        old = ((op >> 2) & 0x1F) + 1
        if old >= count:
            return 0
        if span == 1:
            buf[p] = _val(count, 1)
            _merge_vals(buf, prev, end)
            return 1
    elif not is_xzero and span == 1:
        buf[p] = _val(count, 1)
        _merge_vals(buf, prev, end)
        return 1
    last = first + span - 1
    seq = bytearray()
    if op & 0x80:
        current = ((op >> 2) & 0x1F) + 1
        if index != first:
            seq.append(_val(current, index - first))
        seq.append(_val(count, 1))
        if index != last:
            seq.append(_val(current, last - index))
    else:
        if index != first:
            seq += _zero_run(index - first)
        seq.append(_val(count, 1))
        if index != last:
            seq += _zero_run(last - index)
    delta = len(seq) - oldlen
    if delta > 0 and end + delta > max_bytes:
        return _promote(buf, index, count)
    if has_next:
        buf[p : p + oldlen] = seq
    else:
        # The last opcode: what follows it is gone; the length moves by the difference (an XZERO
        # cut by the end loses the byte it never had, as in Redis).
        buf[p:] = seq
        del buf[end + delta :]
    _merge_vals(buf, prev, end + delta)
    return 1


def _merge_vals(buf: bytearray, prev: int, end: int) -> None:
    """Join adjacent VAL opcodes of one value whose runs fit one opcode, over the up to five
    opcodes from the one before the change (Redis's step 4), and mark the cache stale."""
    p = prev if prev >= 0 else HEADER
    scan = 5
    while p < end:
        if scan == 0:
            break
        scan -= 1
        op = buf[p]
        if op & 0xC0 == 0x40:
            p += 2
            continue
        if op & 0xC0 == 0:
            p += 1
            continue
        if p + 1 < end and buf[p + 1] & 0x80:
            nxt = buf[p + 1]
            value = ((op >> 2) & 0x1F) + 1
            if value == ((nxt >> 2) & 0x1F) + 1:
                length = (op & 3) + (nxt & 3) + 2
                if length <= _VAL_MAX_LEN:
                    buf[p + 1] = _val(value, length)
                    del buf[p]
                    end -= 1
                    continue
        p += 1
    invalidate(buf)


def _promote(buf: bytearray, index: int, count: int) -> int:
    if not to_dense(buf):
        return -1
    if count > dense_get(buf, index):
        dense_put(buf, index, count)
    return 1


def add(buf: bytearray, elements: list[bytes], start: int, max_bytes: int) -> int:
    """Add ``elements[start:]`` to the HLL: how many of them changed a register, -1 if the
    HLL turned out corrupt (the changes made before that stay, as in Redis). The cached
    cardinality is not touched here (PFADD marks it stale when something changed)."""
    updated = 0
    at = start
    size = len(elements)
    while at < size and buf[4] == SPARSE:
        pat = pattern(elements[at])
        result = sparse_set(buf, pat & (REGISTERS - 1), pat >> 14, max_bytes)
        if result < 0:
            return -1
        updated += result
        at += 1
    if at < size:
        if buf[4] != DENSE:
            return -1
        updated += dense_add(buf, elements, at)
    return updated


# -- registers out: histograms and merges ----------------------------------------------------
def sparse_histogram_py(buf: bytes | bytearray) -> list[int] | None:
    """The histogram of a sparse HLL's register values, ``None`` if its opcodes do not cover
    exactly 16384 registers."""
    histo = [0] * 64
    end = len(buf)
    p = HEADER
    idx = 0
    while p < end:
        op = buf[p]
        if op & 0xC0 == 0:
            runlen = (op & 0x3F) + 1
            histo[0] += runlen
            p += 1
        elif op & 0x80 == 0:
            runlen = _span(buf, p, end)
            histo[0] += runlen
            p += 2
        else:
            runlen = (op & 3) + 1
            histo[((op >> 2) & 0x1F) + 1] += runlen
            p += 1
        idx += runlen
    if idx != REGISTERS:
        return None
    return histo


def histogram(buf: bytes | bytearray) -> list[int] | None:
    """The histogram of register values of a valid HLL, ``None`` if it is corrupt."""
    if buf[4] == DENSE:
        return dense_histogram(buf)
    return sparse_histogram(buf)


def merge_into(raw: bytearray, buf: bytes | bytearray) -> bool:
    """Raise each of ``raw``'s registers (one byte each) to the HLL's; False if it is corrupt."""
    if buf[4] == DENSE:
        raw_max(raw, unpack(buf))
        return True
    end = len(buf)
    p = HEADER
    i = 0
    while p < end:
        op = buf[p]
        if op & 0xC0 == 0:
            i += (op & 0x3F) + 1
            p += 1
        elif op & 0x80 == 0:
            i += _span(buf, p, end)
            p += 2
        else:
            runlen = (op & 3) + 1
            if runlen + i > REGISTERS:
                return False
            value = ((op >> 2) & 0x1F) + 1
            for at in range(i, i + runlen):
                if value > raw[at]:
                    raw[at] = value
            i += runlen
            p += 1
        if i > REGISTERS:
            return False
    return i == REGISTERS


def store_max(buf: bytearray, raw: bytes | bytearray, max_bytes: int) -> None:
    """Raise the HLL's registers to ``raw``'s (PFMERGE's write into its destination): register
    by register in order through :func:`sparse_set` while it is sparse (so it may turn dense
    part way, as Redis's does), then all at once."""
    i = 0
    while i < REGISTERS and buf[4] == SPARSE:
        value = raw[i]
        if value:
            sparse_set(buf, i, value, max_bytes)
        i += 1
    if i < REGISTERS:
        # (The registers before i already hold at least raw's values: a max again changes nothing.)
        regs = unpack(buf)
        raw_max(regs, raw)
        pack(buf, regs)
    invalidate(buf)


# -- the estimate ----------------------------------------------------------------------------
def _sigma(x: float) -> float:
    if x == 1.0:
        return math.inf
    y = 1.0
    z = x
    while True:
        x *= x
        before = z
        z += x * y
        y += y
        if before == z:
            return z


def _tau(x: float) -> float:
    if x == 0.0 or x == 1.0:
        return 0.0
    y = 1.0
    z = 1 - x
    while True:
        x = math.sqrt(x)
        before = z
        y *= 0.5
        z -= math.pow(1 - x, 2.0) * y
        if before == z:
            return z / 3


def estimate(histo: list[int]) -> int:
    """The cardinality from a histogram of register values (Ertl's estimator, in Redis's order
    of operations). Answered as Redis's reply shows it: a signed 64-bit integer."""
    m = float(REGISTERS)
    z = m * _tau((m - histo[_Q + 1]) / m)
    for j in range(_Q, 0, -1):
        z += histo[j]
        z *= 0.5
    z += m * _sigma(histo[0] / m)
    if z == 0.0:
        # Only registers above 51 (a hand-made value): C divides by zero, and x86's llround of
        # the infinity is the smallest long long.
        return -(1 << 63)
    e = _ALPHA_INF * m * m / z
    if e >= 9.223372036854775808e18:
        # Too large for a long long (hand-made registers near 51): llround's x86 answer again.
        return -(1 << 63)
    whole = math.floor(e)
    if e - whole >= 0.5:
        whole += 1
    return int(whole)


def count(buf: bytes | bytearray) -> int:
    """The cardinality of a valid HLL's registers (not cached), -1 if it is corrupt; a count
    Redis would reply as negative is returned modulo 2**64 (see :func:`to_signed`)."""
    histo = histogram(buf)
    if histo is None:
        return -1
    return estimate(histo) & _MASK64


def to_signed(card: int) -> int:
    """A cardinality as Redis replies it (``long long``)."""
    return card - (1 << 64) if card >= 1 << 63 else card


def decode(buf: bytes | bytearray) -> bytes:
    """PFDEBUG DECODE's text for a sparse HLL: ``z:len``, ``Z:len``, ``v:value,len``."""
    parts: list[bytes] = []
    end = len(buf)
    p = HEADER
    while p < end:
        op = buf[p]
        if op & 0xC0 == 0:
            parts.append(b"z:%d" % ((op & 0x3F) + 1))
            p += 1
        elif op & 0x80 == 0:
            parts.append(b"Z:%d" % _span(buf, p, end))
            p += 2
        else:
            parts.append(b"v:%d,%d" % (((op >> 2) & 0x1F) + 1, (op & 3) + 1))
            p += 1
    return b" ".join(parts)


def word(value: int) -> bytes:
    """An unsigned 64-bit integer as 8 little-endian bytes (PFSELFTEST's elements)."""
    return struct.pack("<Q", value & _MASK64)


# The C extension's versions of the loops above, when it is built.
try:
    from zyst.types.hllcore import cached as cached
    from zyst.types.hllcore import dense_add as dense_add
    from zyst.types.hllcore import dense_histogram as dense_histogram
    from zyst.types.hllcore import histogram_raw as histogram_raw
    from zyst.types.hllcore import is_valid as is_valid
    from zyst.types.hllcore import pack as pack
    from zyst.types.hllcore import pattern as pattern
    from zyst.types.hllcore import raw_max as raw_max
    from zyst.types.hllcore import sparse_histogram as sparse_histogram
    from zyst.types.hllcore import sparse_seek as sparse_seek
    from zyst.types.hllcore import unpack as unpack
except ImportError:  # a pure-Python install (ZYST_PURE_PYTHON=1)
    dense_add = dense_add_py
    dense_histogram = dense_histogram_py
    cached = cached_py
    histogram_raw = histogram_raw_py
    is_valid = is_valid_py
    pack = pack_py
    pattern = pattern_py
    raw_max = raw_max_py
    sparse_histogram = sparse_histogram_py
    sparse_seek = sparse_seek_py
    unpack = unpack_py
