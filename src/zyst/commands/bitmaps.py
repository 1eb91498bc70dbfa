"""Bitmap commands (Redis's ``bitops.c``): SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD
and BITFIELD_RO, on string values seen as arrays of bits.

Bit 0 is the most significant bit of the first byte. Reads treat the bits past a string's end
as zeros; writes (SETBIT, BITFIELD's SET and INCRBY) first grow the string with zero bytes so
the highest bit they touch exists, and keep its TTL. Bit offsets are refused past
``proto-max-bulk-len`` bytes, except while the AOF is replayed (as Redis exempts the clients it
must obey). The bit arithmetic itself lives in :mod:`zyst.types.bitmap` and
:mod:`zyst.types.bitfield`.

Writes change the string in place: the first one turns a ``bytes`` value into the
``bytearray`` stored from then on (:meth:`zyst.keyspace.Database.unshare`, one copy, as Redis
unshares even when nothing changes), later ones cost what they touch, so SETBIT is O(1) and
BITFIELD's writes O(1) each, growth amortized. Reads take either type without copying.

Propagation, as Redis decides it: SETBIT only when it created the key, grew the string or
flipped the bit; BITOP when it stored a result or deleted its destination; BITFIELD only when a
SET or INCRBY counted as a change (a BITFIELD of GETs never). Each goes to the AOF as received.
As in Redis, a BITFIELD whose every write failed (OVERFLOW FAIL) still creates or grows the key
but is not propagated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from zyst import errors
from zyst.commands.args import c_string, option_word, parse_int, strict_int
from zyst.commands.table import KeySpec, Reply, command
from zyst.errors import CommandError
from zyst.types import bitfield, bitmap

if TYPE_CHECKING:
    from zyst.client import Client

_GET: Final = 0
_SET: Final = 1
_INCRBY: Final = 2

_OVERFLOW_MODES: Final = {b"wrap": bitfield.WRAP, b"sat": bitfield.SAT, b"fail": bitfield.FAIL}
_BITOP_OPS: Final = {b"and": bitmap.AND, b"or": bitmap.OR, b"xor": bitmap.XOR, b"not": -1}
_U64: Final = 1 << 64
_I64_MAX: Final = (1 << 63) - 1  # (BITFIELD's ``#n`` offsets are computed in 64 bits)


def _bit_offset(client: Client, raw: bytes) -> int:
    """A bit offset (SETBIT, GETBIT): a non-negative integer whose byte lies below
    ``proto-max-bulk-len``."""
    offset = strict_int(raw)
    if offset is None or offset < 0:
        raise CommandError(errors.BIT_OFFSET)
    ctx = client.ctx
    if offset >> 3 >= ctx.config.proto_max_bulk_len and not ctx.loading:
        raise CommandError(errors.BIT_OFFSET)
    return offset


def _clamp(start: int, end: int, total: int) -> tuple[int, int]:
    """A range of BITCOUNT or BITPOS over ``total`` units (bytes or bits): negative ends count
    from the end, then both are clamped into the string; ``start > end`` means empty."""
    if start < 0:
        start = max(start + total, 0)
    if end < 0:
        end = max(end + total, 0)
    return start, min(end, total - 1)


def _is_bit_unit(raw: bytes) -> bool:
    """BITCOUNT's and BITPOS's unit word: BIT (True) or BYTE (False)."""
    word = option_word(raw)
    if word == b"bit":
        return True
    if word != b"byte":
        raise CommandError(errors.SYNTAX)
    return False


@command(
    "setbit",
    arity=4,
    flags=("write", "denyoom"),
    keys=(1, 1, 1),
    group="bitmap",
    summary="Sets or clears the bit at offset in the string value stored at key",
    since="2.2.0",
    syntax="key offset value",
    complexity="O(1)",
    acl_categories=("write", "bitmap", "slow"),
    key_specs=(KeySpec(flags=("RW", "access", "update")),),
)
def setbit(client: Client, argv: list[bytes]) -> Reply:
    """SETBIT key offset value

    The bit's previous value. The string grows with zero bytes to reach ``offset``; a missing
    key is created. Nothing changes (nor propagates) when the bit already had the value.
    """
    offset = _bit_offset(client, argv[2])
    on = strict_int(argv[3])
    if on is None or (on != 0 and on != 1):
        raise CommandError(errors.BIT_VALUE)
    db = client.db
    key = argv[1]
    value = db.get_buffer_for_write(key)
    byte = offset >> 3
    mask = 0x80 >> (offset & 7)
    if value is None:
        buf = bytearray(byte + 1)
        db.set_value(key, buf, keep_ttl=True)
        grown = True
    else:
        buf = db.unshare(key, value)
        grown = byte >= len(buf)
        if grown:
            buf += bytes(byte + 1 - len(buf))
    current = buf[byte]
    was = 1 if current & mask else 0
    if was == on and not grown:
        return was
    if was != on:
        buf[byte] = current ^ mask
    client.ctx.dirty += 1
    return was


@command(
    "getbit",
    arity=3,
    flags=("readonly", "fast"),
    keys=(1, 1, 1),
    group="bitmap",
    summary="Returns the bit value at offset in the string value stored at key",
    since="2.2.0",
    syntax="key offset",
    complexity="O(1)",
    acl_categories=("read", "bitmap", "fast"),
    key_specs=(KeySpec(flags=("RO", "access")),),
)
def getbit(client: Client, argv: list[bytes]) -> Reply:
    """GETBIT key offset

    The bit at ``offset``: 0 past the end of the string and for a missing key.
    """
    offset = _bit_offset(client, argv[2])
    value = client.db.get_buffer(argv[1])
    if value is None:
        return 0
    byte = offset >> 3
    if byte >= len(value):
        return 0
    return (value[byte] >> (7 - (offset & 7))) & 1


@command(
    "bitcount",
    arity=-2,
    flags=("readonly",),
    keys=(1, 1, 1),
    group="bitmap",
    summary="Count set bits in a string",
    since="2.6.0",
    syntax="key [start end [BYTE | BIT]]",
    complexity="O(N)",
    acl_categories=("read", "bitmap", "slow"),
    key_specs=(KeySpec(flags=("RO", "access")),),
)
def bitcount(client: Client, argv: list[bytes]) -> Reply:
    """BITCOUNT key [start end [BYTE | BIT]]

    The number of set bits, in the whole string or from ``start`` to ``end`` inclusive (bytes,
    or bits with BIT; negative counts from the end). A missing key answers 0 before any
    argument is looked at.
    """
    value = client.db.get_buffer(argv[1])
    if value is None:
        return 0
    argc = len(argv)
    if argc == 2:
        return bitmap.count_all(value)
    if argc != 4 and argc != 5:
        raise CommandError(errors.SYNTAX)
    start = parse_int(argv[2])
    end = parse_int(argv[3])
    # (Redis answers this before reading the unit word.)
    if start < 0 and end < 0 and start > end:
        return 0
    in_bits = argc == 5 and _is_bit_unit(argv[4])
    total = len(value) * 8 if in_bits else len(value)
    start, end = _clamp(start, end, total)
    if start > end:
        return 0
    if in_bits:
        return bitmap.count(value, start, end)
    if start == 0 and end == len(value) - 1:
        return bitmap.count_all(value)
    return bitmap.count(value, start * 8, end * 8 + 7)


@command(
    "bitpos",
    arity=-3,
    flags=("readonly",),
    keys=(1, 1, 1),
    group="bitmap",
    summary="Find first bit set or clear in a string",
    since="2.8.7",
    syntax="key bit [start [end [BYTE | BIT]]]",
    complexity="O(N)",
    acl_categories=("read", "bitmap", "slow"),
    key_specs=(KeySpec(flags=("RO", "access")),),
)
def bitpos(client: Client, argv: list[bytes]) -> Reply:
    """BITPOS key bit [start [end [BYTE | BIT]]]

    The position of the first bit equal to ``bit`` in the range, or -1. A missing key is all
    zeros (0 for a clear bit, -1 for a set one). Looking for a clear bit with no ``end`` given,
    the string counts as padded with zeros: all ones answers the first bit past its end; with
    ``end`` given, -1.
    """
    bit = parse_int(argv[2])
    if bit != 0 and bit != 1:
        raise CommandError(errors.BIT_ARGUMENT)
    value = client.db.get_buffer(argv[1])
    if value is None:
        return -1 if bit else 0
    argc = len(argv)
    end_given = False
    if argc == 3:
        first, last = 0, len(value) * 8 - 1
    elif argc <= 6:
        start = parse_int(argv[3])
        in_bits = argc == 6 and _is_bit_unit(argv[5])
        total = len(value)
        if argc >= 5:
            end = parse_int(argv[4])
            end_given = True
        else:
            end = total - 1
        if in_bits:
            total *= 8
        start, end = _clamp(start, end, total)
        if start > end:
            return -1
        first, last = (start, end) if in_bits else (start * 8, end * 8 + 7)
    else:
        raise CommandError(errors.SYNTAX)
    if first > last:
        return -1
    found = bitmap.find(value, bit, first, last)
    if found >= 0 or bit or end_given:
        return found
    # No clear bit up to the string's end: the zero padding after it holds the first one.
    return ((last >> 3) + 1) * 8


@command(
    "bitop",
    arity=-4,
    flags=("write", "denyoom"),
    keys=(2, -1, 1),
    group="bitmap",
    summary="Perform bitwise operations between strings",
    since="2.6.0",
    syntax="operation destkey key [key ...]",
    complexity="O(N)",
    acl_categories=("write", "bitmap", "slow"),
    key_specs=(
        KeySpec(flags=("OW", "update"), index=2, lastkey=0),
        KeySpec(flags=("RO", "access"), index=3, lastkey=-1),
    ),
)
def bitop(client: Client, argv: list[bytes]) -> Reply:
    """BITOP <AND | OR | XOR | NOT> destkey key [key ...]

    The length of the result, stored at ``destkey`` (losing its TTL), which is as long as the
    longest source; shorter sources and missing keys read as zeros. An empty result deletes
    ``destkey``, of whatever type, without looking at its deadline (Redis's ``dbDelete``).
    """
    op = _BITOP_OPS.get(option_word(argv[1]))
    if op is None:
        raise CommandError(errors.SYNTAX)
    if op < 0 and len(argv) != 4:
        raise CommandError(errors.BITOP_NOT_ONE_KEY)
    db = client.db
    sources: list[bytes | bytearray] = []
    size = 0
    for key in argv[3:]:
        value = db.lookup_read(key)
        if value is None:
            value = b""
        elif type(value) is not bytes and type(value) is not bytearray:
            raise CommandError(errors.WRONGTYPE)
        sources.append(value)
        if len(value) > size:
            size = len(value)
    destination = argv[2]
    if size:
        result = bitmap.invert(sources[0]) if op < 0 else bitmap.combine(op, sources)
        # Redis stores the result as a raw string (OBJECT ENCODING), as modified in place.
        db.set_value(destination, bytearray(result))
        client.ctx.dirty += 1
    elif db.delete_stored(destination):
        client.ctx.dirty += 1
    return size


_BITFIELD_SYNTAX: Final = (
    "key [GET encoding offset | [OVERFLOW <WRAP | SAT | FAIL>] <SET encoding offset value | "
    "INCRBY encoding offset increment> [GET encoding offset | [OVERFLOW <WRAP | SAT | FAIL>] "
    "<SET encoding offset value | INCRBY encoding offset increment> ...]]"
)

# One BITFIELD operation: (opcode, signed, bits, offset, argument, overflow mode).
_Op = tuple[int, bool, int, int, int, int]


def _field_type(raw: bytes) -> tuple[bool, int]:
    """A field type, ``i1``..``i64`` or ``u1``..``u63`` (lower case only): (signed, bits)."""
    if not raw or raw[0] not in b"iu":
        raise CommandError(errors.BITFIELD_TYPE)
    signed = raw[0] == 0x69  # "i"
    bits = strict_int(c_string(raw[1:]))  # Redis reads the width as a C string
    if bits is None or bits < 1 or bits > (64 if signed else 63):
        raise CommandError(errors.BITFIELD_TYPE)
    return signed, bits


def _field_offset(client: Client, raw: bytes, bits: int) -> int:
    """A field's bit offset: an integer, or ``#n`` for the n-th field of this width."""
    by_index = raw[:1] == b"#"
    offset = strict_int(raw[1:] if by_index else raw)
    if offset is None:
        raise CommandError(errors.BIT_OFFSET)
    if by_index:
        # Redis multiplies in 64 bits, where a huge index wraps around.
        offset = (offset * bits) & (_U64 - 1)
        if offset > _I64_MAX:
            offset -= _U64
    ctx = client.ctx
    if offset < 0 or (offset >> 3 >= ctx.config.proto_max_bulk_len and not ctx.loading):
        raise CommandError(errors.BIT_OFFSET)
    return offset


def _parse_bitfield(client: Client, argv: list[bytes]) -> list[_Op]:
    """BITFIELD's operations, each with the overflow mode in force where it stands; every
    argument is checked before anything runs."""
    ops: list[_Op] = []
    mode = bitfield.WRAP
    argc = len(argv)
    j = 2
    while j < argc:
        left = argc - j - 1
        name = option_word(argv[j])
        if name == b"get" and left >= 2:
            opcode = _GET
        elif name == b"set" and left >= 3:
            opcode = _SET
        elif name == b"incrby" and left >= 3:
            opcode = _INCRBY
        elif name == b"overflow" and left >= 1:
            found = _OVERFLOW_MODES.get(option_word(argv[j + 1]))
            if found is None:
                raise CommandError(errors.BITFIELD_OVERFLOW)
            mode = found
            j += 2
            continue
        else:
            raise CommandError(errors.SYNTAX)
        signed, bits = _field_type(argv[j + 1])
        offset = _field_offset(client, argv[j + 2], bits)
        argument = 0
        if opcode != _GET:
            argument = parse_int(argv[j + 3])
            j += 4
        else:
            j += 3
        ops.append((opcode, signed, bits, offset, argument, mode))
    return ops


def _bitfield(client: Client, argv: list[bytes], read_only: bool) -> Reply:
    ops = _parse_bitfield(client, argv)
    db = client.db
    key = argv[1]
    highest = -1  # the last bit a SET or INCRBY touches
    for opcode, _, bits, offset, _, _ in ops:
        if opcode != _GET and offset + bits - 1 > highest:
            highest = offset + bits - 1
    if highest < 0:
        value = db.get_buffer(key)
        data = b"" if value is None else value
        return [bitfield.get(data, offset, bits, signed) for _, signed, bits, offset, _, _ in ops]
    if read_only:
        raise CommandError(errors.BITFIELD_RO_GET_ONLY)
    old = db.get_buffer_for_write(key)
    size = (highest >> 3) + 1
    # Creating or growing the key counts as a change for each operation that writes.
    grown = old is None or len(old) < size
    if old is None:
        buf = bytearray(size)
        db.set_value(key, buf, keep_ttl=True)
    else:
        buf = db.unshare(key, old)
        if len(buf) < size:
            buf += bytes(size - len(buf))
    replies: list[int | None] = []
    changes = 0
    for opcode, signed, bits, offset, argument, mode in ops:
        if opcode == _GET:
            replies.append(bitfield.get(buf, offset, bits, signed))
            continue
        if opcode == _SET:
            current, stored = bitfield.set_field(buf, offset, bits, signed, argument, mode)
        else:
            current, stored = bitfield.incr_field(buf, offset, bits, signed, argument, mode)
        if stored is None:  # OVERFLOW FAIL
            replies.append(None)
            continue
        replies.append(current if opcode == _SET else stored)
        if grown or stored != current:
            changes += 1
    client.ctx.dirty += changes
    return replies


@command(
    "bitfield",
    arity=-2,
    flags=("write", "denyoom"),
    keys=(1, 1, 1),
    group="bitmap",
    summary="Perform arbitrary bitfield integer operations on strings",
    since="3.2.0",
    syntax=_BITFIELD_SYNTAX,
    complexity="O(1) for each subcommand specified",
    acl_categories=("write", "bitmap", "slow"),
    key_specs=(
        KeySpec(
            flags=("RW", "access", "update", "variable_flags"),
            notes="This command allows both access and modification of the key",
        ),
    ),
)
def bitfield_(client: Client, argv: list[bytes]) -> Reply:
    """BITFIELD key [GET encoding offset | [OVERFLOW <WRAP | SAT | FAIL>]
    <SET encoding offset value | INCRBY encoding offset increment> ...]

    One reply per GET, SET or INCRBY, in order: GET the field, SET its old value, INCRBY its
    new one; null for a SET or INCRBY that overflowed under OVERFLOW FAIL (nothing written).
    Fields are ``i1``..``i64`` or ``u1``..``u63``; an offset ``#n`` means n times the width.
    With only GETs the key is read as by BITFIELD_RO.
    """
    return _bitfield(client, argv, False)


@command(
    "bitfield_ro",
    arity=-2,
    flags=("readonly", "fast"),
    keys=(1, 1, 1),
    group="bitmap",
    summary="Perform arbitrary bitfield integer operations on strings. "
    "Read-only variant of BITFIELD",
    since="6.0.0",
    syntax="key [GET encoding offset [GET encoding offset ...]]",
    complexity="O(1) for each subcommand specified",
    acl_categories=("read", "bitmap", "fast"),
    key_specs=(KeySpec(flags=("RO", "access")),),
)
def bitfield_ro(client: Client, argv: list[bytes]) -> Reply:
    """BITFIELD_RO key [GET encoding offset [GET encoding offset ...]]

    BITFIELD's GETs; a SET or INCRBY, once every argument has been checked, is refused.
    """
    return _bitfield(client, argv, True)
