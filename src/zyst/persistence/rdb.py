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

import math
import struct
from typing import BinaryIO, Final

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
_DOUBLE: Final = struct.Struct("<d")


class RdbError(ValueError):
    """Bytes that are not what the RDB format allows where they stand. ``offset``, when known,
    is the position in the file (or payload) of the value or byte found wrong."""

    def __init__(self, message: str, offset: int = -1) -> None:
        super().__init__(message)
        self.offset = offset


def crc64(data: bytes | bytearray | memoryview, crc: int = 0) -> int:
    """Redis's CRC-64 of ``data``; or, given the ``crc`` of the bytes before it, of all of
    them."""
    return int(_CRC64.calc(data, crc))


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


# How much a file-backed Reader reads at once, and the most it asks the file for in one read
# (a length read from a damaged file must not allocate more than the file holds).
_CHUNK: Final = 1 << 20
_MAX_READ: Final = 1 << 26
# The most that LZF data can grow when decompressed (a back reference of 264 bytes coded in
# three), with room to spare: a larger claimed size is a damaged length.
_LZF_MAX_RATIO: Final = 100


class Reader:
    """Reads RDB values in order, from ``data`` or from ``fileobj`` (read ahead in chunks, from
    its current position); each method raises :class:`RdbError` when the bytes run out or are
    not a valid encoding.

    ``offset`` is the position of the next byte relative to where reading started. A
    file-backed reader reads ahead of what it has consumed: :meth:`unread` gives the bytes
    read from the file but not consumed (the caller seeks back by their length).
    """

    def __init__(self, data: bytes = b"", fileobj: BinaryIO | None = None) -> None:
        self.data = data
        self.pos = 0
        self.fileobj = fileobj
        # Offset of data[0] from the start, and the CRC of everything before data[crc_from].
        self.base = 0
        self.crc = 0
        self.crc_from = 0

    @property
    def remaining(self) -> int:
        """Bytes left in ``data`` (a reader over bytes: what is left to read)."""
        return len(self.data) - self.pos

    @property
    def offset(self) -> int:
        return self.base + self.pos

    def error(self, message: str, offset: int = -1) -> RdbError:
        """An :class:`RdbError` at ``offset`` (default: the next byte)."""
        return RdbError(message, self.base + self.pos if offset < 0 else offset)

    def checksum(self) -> int:
        """The CRC-64 of every byte consumed so far."""
        self.crc = crc64(self.data[self.crc_from : self.pos], self.crc)
        self.crc_from = self.pos
        return self.crc

    def unread(self) -> bytes:
        """Bytes read ahead from the file and not consumed."""
        return self.data[self.pos :]

    def _fill(self, count: int) -> None:
        """Make ``count`` bytes available at ``pos``, reading the file; RdbError at its end."""
        fileobj = self.fileobj
        data = self.data
        pos = self.pos
        if fileobj is None:
            raise RdbError("unexpected end of data", self.base + len(data))
        self.crc = crc64(data[self.crc_from : pos], self.crc)
        parts = [data[pos:]]
        have = len(data) - pos
        while have < count:
            piece = fileobj.read(min(max(count - have, _CHUNK), _MAX_READ))
            if not piece:
                raise RdbError("unexpected end of file", self.base + pos + have)
            parts.append(piece)
            have += len(piece)
        self.data = b"".join(parts)
        self.base += pos
        self.pos = 0
        self.crc_from = 0

    def take(self, count: int) -> bytes:
        """The next ``count`` bytes."""
        end = self.pos + count
        if end > len(self.data):
            self._fill(count)
            end = count
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def read_byte(self) -> int:
        pos = self.pos
        if pos >= len(self.data):
            self._fill(1)
            pos = 0
        self.pos = pos + 1
        return self.data[pos]

    def read_type(self) -> int:
        return self.read_byte()

    def _read_length_or_encoding(self) -> tuple[int, bool]:
        first = self.read_byte()
        kind = first >> 6
        if kind == 0:
            return first & 0x3F, False
        if kind == 1:
            return ((first & 0x3F) << 8) | self.read_byte(), False
        if kind == 3:
            return first & 0x3F, True
        if first == 0x80:
            return int.from_bytes(self.take(4), "big"), False
        if first == 0x81:
            return int.from_bytes(self.take(8), "big"), False
        raise self.error("unknown length encoding", self.offset - 1)

    def read_length(self) -> int:
        length, encoded = self._read_length_or_encoding()
        if encoded:
            raise self.error("an encoded value where a length belongs")
        return length

    def read_string(self) -> bytes:
        data = self.data
        pos = self.pos
        if pos + 5 < len(data):
            first = data[pos]
            if first < 0x40:  # the common case: a short plain string, all of it here
                end = pos + 1 + first
                if end <= len(data):
                    self.pos = end
                    return data[pos + 1 : end]
            elif first == 0xC0:  # an 8-bit integer
                self.pos = pos + 2
                number = data[pos + 1]
                return b"%d" % (number - 256 if number > 127 else number)
            elif first == 0xC1:  # a 16-bit integer
                self.pos = pos + 3
                number = data[pos + 1] | (data[pos + 2] << 8)
                return b"%d" % (number - 65536 if number > 32767 else number)
        return self._read_string()

    def _read_string(self) -> bytes:
        length, encoded = self._read_length_or_encoding()
        if not encoded:
            return self.take(length)
        if length == _ENC_INT8 & 0x3F:
            return b"%d" % int.from_bytes(self.take(1), "little", signed=True)
        if length == _ENC_INT16 & 0x3F:
            return b"%d" % int.from_bytes(self.take(2), "little", signed=True)
        if length == _ENC_INT32 & 0x3F:
            return b"%d" % int.from_bytes(self.take(4), "little", signed=True)
        if length == _ENC_LZF & 0x3F:
            start = self.offset
            packed_size = self.read_length()
            size = self.read_length()
            if size > packed_size * _LZF_MAX_RATIO + 64:
                raise self.error("invalid LZF data", start)
            packed = self.take(packed_size)
            try:
                plain = lzf.decompress(packed, size) if size else b""
            except ValueError as exc:
                raise self.error("invalid LZF data", start) from exc
            if plain is None or len(plain) != size:
                raise self.error("invalid LZF data", start)
            return bytes(plain)
        raise self.error("unknown string encoding", self.offset - 1)

    def read_binary_double(self) -> float:
        """A double as 8 bytes little-endian (``ZSET_2`` scores)."""
        value: float = _DOUBLE.unpack(self.take(8))[0]
        return value

    def read_text_double(self) -> float:
        """A double as the old ``ZSET`` type wrote it: a length byte (253 NaN, 254 +inf,
        255 -inf) and that many characters."""
        size = self.read_byte()
        if size == 253:
            return math.nan
        if size == 254:
            return math.inf
        if size == 255:
            return -math.inf
        start = self.offset
        text = self.take(size)
        try:
            return float(text)
        except ValueError:
            raise self.error("invalid double", start) from None
