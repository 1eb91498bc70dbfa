"""Redis's RDB encoding, the parts Zyst writes and reads so far: lengths, strings (integer and
LZF forms included) and the footer of a DUMP-style payload (FUNCTION DUMP and RESTORE).

Formats, as Redis 7.0 writes them (``rdb.c``):

- a *length* is one byte ``00xxxxxx`` (up to 63), two bytes ``01xxxxxx xxxxxxxx`` (up to
  16383, big-endian), ``0x80`` and 4 bytes big-endian (up to 2**32 - 1), or ``0x81`` and 8;
- a *string* is a length and its bytes; or ``11000000``/``11000001``/``11000010`` and a
  little-endian 8/16/32-bit integer for a string that is that integer written canonically
  (11 bytes at most); or ``11000011``, the compressed length, the plain length and LZF data
  (liblzf's format: Redis compresses strings longer than 20 bytes when that saves at least
  four bytes);
- a *payload* (DUMP, FUNCTION DUMP) is the body, the RDB version as 2 bytes little-endian and
  the CRC-64 (Jones polynomial, reflected, as Redis's ``crc64``) of everything before it, 8
  bytes little-endian.

LZF is done by ``python-lzf`` (liblzf, the library Redis ships: the same bytes) and the CRC by
``anycrc`` (its ``CRC64-REDIS`` model).
"""

from __future__ import annotations

from typing import Final

import anycrc
import lzf

from zyst.numbers import strict_int

RDB_VERSION: Final = 10  # Redis 7.0

# Opcodes of the function libraries in an RDB or a FUNCTION DUMP payload.
OPCODE_FUNCTION_PRE_GA: Final = 246  # 7.0 release candidates: name, engine, description, code
OPCODE_FUNCTION2: Final = 245  # 7.0: the library's whole code

_ENC_INT8: Final = 0xC0
_ENC_INT16: Final = 0xC1
_ENC_INT32: Final = 0xC2
_ENC_LZF: Final = 0xC3

_CRC64: Final = anycrc.Model("CRC64-REDIS")


class RdbError(ValueError):
    """Bytes that are not what the RDB format allows where they stand."""


def crc64(data: bytes) -> int:
    """Redis's CRC-64 of ``data``."""
    return int(_CRC64.calc(data))


def write_length(out: bytearray, length: int) -> None:
    if length < 1 << 6:
        out.append(length)
    elif length < 1 << 14:
        out += bytes(((length >> 8) | 0x40, length & 0xFF))
    elif length < 1 << 32:
        out.append(0x80)
        out += length.to_bytes(4, "big")
    else:
        out.append(0x81)
        out += length.to_bytes(8, "big")


def write_string(out: bytearray, data: bytes, compress: bool = True) -> None:
    """Append ``data`` as Redis's ``rdbSaveRawString`` writes it (``compress``: the
    ``rdbcompression`` setting)."""
    size = len(data)
    if size <= 11:
        value = strict_int(data)
        if value is not None and b"%d" % value == data:
            if -(1 << 7) <= value < 1 << 7:
                out.append(_ENC_INT8)
                out += value.to_bytes(1, "little", signed=True)
                return
            if -(1 << 15) <= value < 1 << 15:
                out.append(_ENC_INT16)
                out += value.to_bytes(2, "little", signed=True)
                return
            if -(1 << 31) <= value < 1 << 31:
                out.append(_ENC_INT32)
                out += value.to_bytes(4, "little", signed=True)
                return
    if compress and size > 20:
        # Kept only when it saves at least four bytes (liblzf given size - 4 bytes of room).
        packed = lzf.compress(data, size - 4)
        if packed:
            out.append(_ENC_LZF)
            write_length(out, len(packed))
            write_length(out, size)
            out += packed
            return
    write_length(out, size)
    out += data


def payload(body: bytes | bytearray) -> bytes:
    """``body`` with the footer of a DUMP payload: the RDB version and the CRC-64."""
    framed = bytes(body) + RDB_VERSION.to_bytes(2, "little")
    return framed + crc64(framed).to_bytes(8, "little")


def payload_body(data: bytes) -> bytes | None:
    """The body of the DUMP payload ``data``, or None when its version is newer than Zyst's
    RDB version or its checksum is wrong (Redis's ``verifyDumpPayload``)."""
    if len(data) < 10:
        return None
    footer = data[-10:]
    if int.from_bytes(footer[:2], "little") > RDB_VERSION:
        return None
    if crc64(data[:-8]).to_bytes(8, "little") != footer[2:]:
        return None
    return data[:-10]


class Reader:
    """Reads RDB values from ``data`` in order; each method raises :class:`RdbError` when the
    bytes run out or are not a valid encoding."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    @property
    def remaining(self) -> int:
        return len(self.data) - self.pos

    def _take(self, count: int) -> bytes:
        end = self.pos + count
        if end > len(self.data):
            raise RdbError("unexpected end of data")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def read_type(self) -> int:
        return self._take(1)[0]

    def _read_length_or_encoding(self) -> tuple[int, bool]:
        first = self._take(1)[0]
        kind = first >> 6
        if kind == 0:
            return first & 0x3F, False
        if kind == 1:
            return ((first & 0x3F) << 8) | self._take(1)[0], False
        if kind == 3:
            return first & 0x3F, True
        if first == 0x80:
            return int.from_bytes(self._take(4), "big"), False
        if first == 0x81:
            return int.from_bytes(self._take(8), "big"), False
        raise RdbError("unknown length encoding")

    def read_length(self) -> int:
        length, encoded = self._read_length_or_encoding()
        if encoded:
            raise RdbError("an encoded value where a length belongs")
        return length

    def read_string(self) -> bytes:
        length, encoded = self._read_length_or_encoding()
        if not encoded:
            return self._take(length)
        if length == _ENC_INT8 & 0x3F:
            return b"%d" % int.from_bytes(self._take(1), "little", signed=True)
        if length == _ENC_INT16 & 0x3F:
            return b"%d" % int.from_bytes(self._take(2), "little", signed=True)
        if length == _ENC_INT32 & 0x3F:
            return b"%d" % int.from_bytes(self._take(4), "little", signed=True)
        if length == _ENC_LZF & 0x3F:
            packed_size = self.read_length()
            size = self.read_length()
            packed = self._take(packed_size)
            try:
                plain = lzf.decompress(packed, size) if size else b""
            except ValueError as exc:
                raise RdbError("invalid LZF data") from exc
            if plain is None or len(plain) != size:
                raise RdbError("invalid LZF data")
            return bytes(plain)
        raise RdbError("unknown string encoding")
