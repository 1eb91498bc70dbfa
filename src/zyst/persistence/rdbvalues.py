"""One value <-> one RDB object (a type byte and its encoding), every type Zyst has, in the
encodings Redis 7.0 writes and every older one it still reads; and DUMP/RESTORE payloads.

Writing picks what Redis 7.0 would write for the same contents:

======== ============================================== =====================================
type     compact (``encodings.fits``)                   otherwise
======== ============================================== =====================================
string   ``0``: integer, plain or LZF string (:func:`zyst.persistence.rdb.write_string`)
list     ``18`` quicklist 2: listpack nodes filled as a run of RPUSH fills them
         (``list-max-listpack-size``); an element of 1 GB or more alone in a plain node
hash     ``16`` listpack of field, value, ...           ``4``: count, then field and value
set      ``11`` intset                                  ``2``: count, then the members
zset     ``17`` listpack of member, score, ...          ``5``: count, then member and binary
                                                        double, highest score first
stream   ``19``: its nodes as Redis's listpacks under their 16-byte master IDs, the counters,
         then the consumer groups with their PELs and consumers (see :func:`_write_stream`)
======== ============================================== =====================================

Reading accepts those and the older types: ``1`` list, ``3`` zset with text scores, ``9``
zipmap hash, ``10`` ziplist list, ``12``/``13`` ziplist zset/hash, ``14`` quicklist of ziplists,
``15`` stream of Redis 5 and 6 (without the Redis 7 counters).
Every blob is checked whole before it is used (sizes, headers, each entry's bounds, the
back-lengths, counts, ordering where there is one), and every length read from the input is
checked against the bytes that are there before anything is allocated for it, so a damaged
input raises :class:`~zyst.persistence.rdb.RdbError`, never anything else. As in Redis 7.0:
duplicate members or fields, NaN scores and unsorted intsets are refused; an empty collection
raises :class:`EmptyKeyError` (a file loader skips the key, RESTORE refuses it; an empty
stream is a value like any other); module values are refused.

Layouts (little-endian unless said):

- *listpack*: total bytes (4), element count (2, 65535 when not known), entries, ``0xFF``.
  An entry is an encoding with its data, then its own size written backwards (1 to 5 bytes of
  7 bits, the high bit set on all but the first): ``0xxxxxxx`` 7-bit unsigned integer,
  ``10xxxxxx`` string up to 63 bytes, ``110xxxxx x`` 13-bit signed integer, ``1110xxxx x``
  string up to 4095 bytes (length big-endian), ``0xF0`` string with a 4-byte length,
  ``0xF1``-``0xF4`` 16, 24, 32 and 64-bit signed integers. Strings that spell a 64-bit integer
  canonically are stored as integers.
- *ziplist*: total bytes (4), offset of the last entry (4), count (2), entries, ``0xFF``. An
  entry is the previous entry's size (1 byte, or ``0xFE`` and 4), an encoding and its data:
  ``00xxxxxx`` / ``01xxxxxx x`` (big-endian) / ``0x80`` and 4 bytes big-endian: string lengths;
  ``0xC0`` int16, ``0xD0`` int32, ``0xE0`` int64, ``0xF0`` int24, ``0xFE`` int8,
  ``0xF1``-``0xFD`` the integers 0 to 12.
- *intset*: width of each integer (4: 2, 4 or 8), count (4), the integers ascending.
- *zipmap*: count (1, 254 when not known), then per pair the field's length (1 byte, or 254
  and 4), the field, the value's length, one byte of free space count, the value and the free
  bytes; ``0xFF``.
"""

from __future__ import annotations

import math
import struct
from collections import deque
from typing import Final

from zyst.encodings import INTSET_CAP, Limits
from zyst.numbers import strict_int
from zyst.persistence.rdb import (
    RDB_VERSION,
    RdbError,
    Reader,
    crc64,
    write_length,
    write_string,
)
from zyst.types.stream import (
    FLAG_DELETED,
    FLAG_SAMEFIELDS,
    U64,
    Node,
    Stream,
    node_from_entries,
)
from zyst.types.streamgroups import Consumer, ConsumerGroup, Pending, estimate_entries_read
from zyst.types.zset import ZSet

# Object types (Redis's RDB_TYPE_*).
TYPE_STRING: Final = 0
TYPE_LIST: Final = 1
TYPE_SET: Final = 2
TYPE_ZSET: Final = 3
TYPE_HASH: Final = 4
TYPE_ZSET_2: Final = 5
TYPE_MODULE: Final = 6
TYPE_MODULE_2: Final = 7
TYPE_HASH_ZIPMAP: Final = 9
TYPE_LIST_ZIPLIST: Final = 10
TYPE_SET_INTSET: Final = 11
TYPE_ZSET_ZIPLIST: Final = 12
TYPE_HASH_ZIPLIST: Final = 13
TYPE_LIST_QUICKLIST: Final = 14
TYPE_STREAM_LISTPACKS: Final = 15
TYPE_HASH_LISTPACK: Final = 16
TYPE_ZSET_LISTPACK: Final = 17
TYPE_LIST_QUICKLIST_2: Final = 18
TYPE_STREAM_LISTPACKS_2: Final = 19

# The object types read here.
READABLE_TYPES: Final = frozenset(
    {
        TYPE_STRING,
        TYPE_LIST,
        TYPE_SET,
        TYPE_ZSET,
        TYPE_HASH,
        TYPE_ZSET_2,
        TYPE_HASH_ZIPMAP,
        TYPE_LIST_ZIPLIST,
        TYPE_SET_INTSET,
        TYPE_ZSET_ZIPLIST,
        TYPE_HASH_ZIPLIST,
        TYPE_LIST_QUICKLIST,
        TYPE_HASH_LISTPACK,
        TYPE_ZSET_LISTPACK,
        TYPE_LIST_QUICKLIST_2,
        TYPE_STREAM_LISTPACKS,
        TYPE_STREAM_LISTPACKS_2,
    }
)

# Quicklist node containers.
_NODE_PLAIN: Final = 1
_NODE_PACKED: Final = 2
# List nodes: the byte budgets of fill -1 .. -5, the cap of a positive (count) fill, what each
# insertion is reckoned to add beyond the element, and the element size that gets a plain node
# of its own (Redis's optimization_level, SIZE_SAFETY_LIMIT, SIZE_ESTIMATE_OVERHEAD and
# packed_threshold).
_NODE_BYTES: Final = (4096, 8192, 16384, 32768, 65536)
_NODE_SAFETY_BYTES: Final = 8192
_NODE_OVERHEAD: Final = 8
_PLAIN_THRESHOLD: Final = 1 << 30

_LP_UNKNOWN_COUNT: Final = 65535
_LP_INT_WIDTHS: Final = (2, 3, 4, 8)  # the integers coded 0xF1 .. 0xF4
_INTSET_CODES: Final = {2: "h", 4: "i", 8: "q"}  # struct codes of the intset widths
_POWERS_OF_TEN: Final = tuple(10.0**power for power in range(16))
_ZSET_INT_LIMIT: Final = float(((1 << 63) - 1) // 2)  # scores within it are stored as integers

_DOUBLE: Final = struct.Struct("<d")


class EmptyKeyError(RdbError):
    """An empty collection: a file loader skips the key, RESTORE refuses it."""


class PayloadError(RdbError):
    """A DUMP payload whose RDB version is too new or whose checksum is wrong."""


# -- writing ---------------------------------------------------------------------------------
def write_value(out: bytearray, value: object, limits: Limits, compress: bool) -> None:
    """Append ``value`` as its type byte and RDB object."""
    write_entry(out, None, value, limits, compress)


def write_entry(
    out: bytearray, key: bytes | None, value: object, limits: Limits, compress: bool
) -> None:
    """Append ``value``'s type byte, then ``key`` as a string unless it is None (an RDB file's
    key entry), then the object."""
    if type(value) is bytes:
        out.append(TYPE_STRING)
        if key is not None:
            write_string(out, key, compress)
        write_string(out, value, compress)
    elif type(value) is bytearray:
        out.append(TYPE_STRING)
        if key is not None:
            write_string(out, key, compress)
        write_string(out, bytes(value), compress)
    elif type(value) is deque:
        _write_list(out, key, value, limits.list_max_listpack_size, compress)
    elif type(value) is dict:
        _write_hash(out, key, value, limits, compress)
    elif type(value) is set:
        _write_set(out, key, value, limits, compress)
    elif type(value) is ZSet:
        _write_zset(out, key, value, limits, compress)
    elif type(value) is Stream:
        out.append(TYPE_STREAM_LISTPACKS_2)
        if key is not None:
            write_string(out, key, compress)
        _write_stream(out, value, compress)
    else:
        raise TypeError(f"no RDB encoding for {type(value).__name__}")


def _lp_backlen(buf: bytearray, size: int) -> None:
    """Append the back-length of an entry of ``size`` bytes (encoding and data)."""
    if size <= 127:
        buf.append(size)
    elif size < 16383:
        buf.append(size >> 7)
        buf.append((size & 127) | 128)
    elif size < 2097151:
        buf.append(size >> 14)
        buf.append(((size >> 7) & 127) | 128)
        buf.append((size & 127) | 128)
    elif size < 268435455:
        buf.append(size >> 21)
        buf.append(((size >> 14) & 127) | 128)
        buf.append(((size >> 7) & 127) | 128)
        buf.append((size & 127) | 128)
    else:
        buf.append(size >> 28)
        buf.append(((size >> 21) & 127) | 128)
        buf.append(((size >> 14) & 127) | 128)
        buf.append(((size >> 7) & 127) | 128)
        buf.append((size & 127) | 128)


def _lp_int(buf: bytearray, value: int) -> None:
    """Append a listpack integer entry, in the smallest encoding that holds ``value``."""
    if 0 <= value <= 127:
        buf.append(value)
        buf.append(1)
    elif -4096 <= value <= 4095:
        if value < 0:
            value += 1 << 13
        buf.append((value >> 8) | 0xC0)
        buf.append(value & 0xFF)
        buf.append(2)
    elif -32768 <= value <= 32767:
        buf.append(0xF1)
        buf += (value & 0xFFFF).to_bytes(2, "little")
        buf.append(3)
    elif -8388608 <= value <= 8388607:
        buf.append(0xF2)
        buf += (value & 0xFFFFFF).to_bytes(3, "little")
        buf.append(4)
    elif -2147483648 <= value <= 2147483647:
        buf.append(0xF3)
        buf += (value & 0xFFFFFFFF).to_bytes(4, "little")
        buf.append(5)
    else:
        buf.append(0xF4)
        buf += (value & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "little")
        buf.append(9)


def _lp_append(buf: bytearray, item: bytes) -> None:
    """Append ``item`` as a listpack entry: an integer when it spells one canonically."""
    size = len(item)
    if 0 < size <= 20:
        first = item[0]
        if 48 <= first <= 57 or first == 45:  # a digit or "-": maybe an integer
            number = strict_int(item)
            if number is not None:
                _lp_int(buf, number)
                return
    if size < 64:
        buf.append(0x80 | size)
        buf += item
        _lp_backlen(buf, size + 1)
    elif size < 4096:
        buf.append(0xE0 | (size >> 8))
        buf.append(size & 0xFF)
        buf += item
        _lp_backlen(buf, size + 2)
    else:
        buf.append(0xF0)
        buf += size.to_bytes(4, "little")
        buf += item
        _lp_backlen(buf, size + 5)


def _lp_finish(entries: bytearray, count: int) -> bytes:
    """The listpack holding ``entries`` (``count`` of them)."""
    head = (len(entries) + 7).to_bytes(4, "little") + (
        count if count < _LP_UNKNOWN_COUNT else _LP_UNKNOWN_COUNT
    ).to_bytes(2, "little")
    return head + entries + b"\xff"


def _lp_score(buf: bytearray, score: float) -> None:
    """Append a sorted-set score as Redis stores it in a listpack: an integer when it is one
    (within +-2**62), else ``%.17g`` (``inf``, ``-inf``)."""
    if -_ZSET_INT_LIMIT <= score <= _ZSET_INT_LIMIT:
        number = int(score)
        if number == score:
            _lp_int(buf, number)
            return
        _lp_append(buf, b"%.17g" % score)
    elif math.isinf(score):
        _lp_append(buf, b"inf" if score > 0 else b"-inf")
    else:
        _lp_append(buf, b"%.17g" % score)


def _write_list(
    out: bytearray, key: bytes | None, items: deque[bytes], fill: int, compress: bool
) -> None:
    """A quicklist 2: nodes filled in order as Redis's pushes at the tail fill them."""
    budget = _NODE_BYTES[-fill - 1] if -len(_NODE_BYTES) <= fill < 0 else 0
    nodes: list[bytes] = []
    plain: list[bool] = []
    entries = bytearray()
    count = 0  # elements in the node being filled (0: none is open)
    for item in items:
        size = len(item)
        if size >= _PLAIN_THRESHOLD:
            if count:
                nodes.append(_lp_finish(entries, count))
                plain.append(False)
                entries = bytearray()
                count = 0
            nodes.append(bytes(item))
            plain.append(True)
            continue
        if count:
            estimate = len(entries) + 7 + size + _NODE_OVERHEAD
            fits = estimate <= budget if budget else estimate <= _NODE_SAFETY_BYTES and count < fill
            if not fits:
                nodes.append(_lp_finish(entries, count))
                plain.append(False)
                entries = bytearray()
                count = 0
        _lp_append(entries, item)
        count += 1
    if count:
        nodes.append(_lp_finish(entries, count))
        plain.append(False)
    out.append(TYPE_LIST_QUICKLIST_2)
    if key is not None:
        write_string(out, key, compress)
    write_length(out, len(nodes))
    for index in range(len(nodes)):
        out.append(_NODE_PLAIN if plain[index] else _NODE_PACKED)
        write_string(out, nodes[index], compress)


def _write_hash(
    out: bytearray, key: bytes | None, value: dict[bytes, bytes], limits: Limits, compress: bool
) -> None:
    longest = limits.hash_max_listpack_value
    if len(value) <= limits.hash_max_listpack_entries:
        entries = bytearray()
        for field, item in value.items():
            if len(field) > longest or len(item) > longest:
                break
            _lp_append(entries, field)
            _lp_append(entries, item)
        else:
            out.append(TYPE_HASH_LISTPACK)
            if key is not None:
                write_string(out, key, compress)
            write_string(out, _lp_finish(entries, 2 * len(value)), compress)
            return
    out.append(TYPE_HASH)
    if key is not None:
        write_string(out, key, compress)
    write_length(out, len(value))
    for field, item in value.items():
        write_string(out, field, compress)
        write_string(out, item, compress)


def _write_set(
    out: bytearray, key: bytes | None, value: set[bytes], limits: Limits, compress: bool
) -> None:
    if len(value) <= min(limits.set_max_intset_entries, INTSET_CAP):
        numbers: list[int] = []
        for member in value:
            number = strict_int(member)
            if number is None:
                break
            numbers.append(number)
        else:
            numbers.sort()
            low = numbers[0] if numbers else 0
            high = numbers[-1] if numbers else 0
            if low >= -32768 and high <= 32767:
                width, code = 2, "h"
            elif low >= -2147483648 and high <= 2147483647:
                width, code = 4, "i"
            else:
                width, code = 8, "q"
            blob = struct.pack(f"<II{len(numbers)}{code}", width, len(numbers), *numbers)
            out.append(TYPE_SET_INTSET)
            if key is not None:
                write_string(out, key, compress)
            write_string(out, blob, compress)
            return
    out.append(TYPE_SET)
    if key is not None:
        write_string(out, key, compress)
    write_length(out, len(value))
    for member in value:
        write_string(out, member, compress)


def _write_zset(
    out: bytearray, key: bytes | None, value: ZSet, limits: Limits, compress: bool
) -> None:
    longest = limits.zset_max_listpack_value
    if len(value) <= limits.zset_max_listpack_entries:
        entries = bytearray()
        members = value.members(0, len(value))
        scores = value.score_list(0, len(value))
        for index in range(len(members)):
            member = members[index]
            if len(member) > longest:
                break
            _lp_append(entries, member)
            _lp_score(entries, scores[index])
        else:
            out.append(TYPE_ZSET_LISTPACK)
            if key is not None:
                write_string(out, key, compress)
            write_string(out, _lp_finish(entries, 2 * len(value)), compress)
            return
    out.append(TYPE_ZSET_2)
    if key is not None:
        write_string(out, key, compress)
    write_length(out, len(value))
    # Highest first, as Redis writes its skiplist (a loader then always inserts at the head).
    pack = _DOUBLE.pack
    for member, score in reversed(value.items(0, len(value))):
        write_string(out, member, compress)
        out += pack(score)


# -- reading ---------------------------------------------------------------------------------
def read_value(reader: Reader) -> object:
    """The type byte and the object after it, as a Zyst value."""
    return read_object(reader, reader.read_byte())


def read_object(reader: Reader, kind: int) -> object:
    """The object of type ``kind`` at the reader's position, as a Zyst value."""
    if kind == TYPE_STRING:
        return reader.read_string()
    start = reader.offset
    if kind in (TYPE_LIST_QUICKLIST_2, TYPE_LIST_QUICKLIST):
        return _read_quicklist(reader, kind == TYPE_LIST_QUICKLIST_2, start)
    if kind == TYPE_HASH_LISTPACK:
        return _listpack_hash(reader.read_string(), reader, start)
    if kind == TYPE_ZSET_LISTPACK:
        return _listpack_zset(reader.read_string(), reader, start)
    if kind == TYPE_SET_INTSET:
        return _intset_members(reader.read_string(), reader, start)
    if kind == TYPE_HASH:
        return _read_hash(reader, start)
    if kind == TYPE_SET:
        return _read_set(reader, start)
    if kind in (TYPE_ZSET_2, TYPE_ZSET):
        return _read_zset(reader, kind == TYPE_ZSET_2, start)
    if kind == TYPE_LIST:
        return _read_plain_list(reader, start)
    if kind == TYPE_LIST_ZIPLIST:
        items = _ziplist_items(reader.read_string(), reader, start)
        if not items:
            raise EmptyKeyError("empty list", start)
        return deque(items)
    if kind in (TYPE_HASH_ZIPLIST, TYPE_ZSET_ZIPLIST):
        items = _ziplist_items(reader.read_string(), reader, start)
        return _pairs(items, kind == TYPE_ZSET_ZIPLIST, reader, start)
    if kind == TYPE_HASH_ZIPMAP:
        return _zipmap_hash(reader.read_string(), reader, start)
    if kind in (TYPE_STREAM_LISTPACKS_2, TYPE_STREAM_LISTPACKS):
        return _read_stream(reader, kind == TYPE_STREAM_LISTPACKS_2, start)
    raise RdbError(unreadable_type(kind), start - 1)


def unreadable_type(kind: int) -> str:
    """Why the object type ``kind`` cannot be read."""
    if kind in (TYPE_MODULE, TYPE_MODULE_2):
        return "module values are not supported"
    return f"unknown object type {kind}"


def _count(reader: Reader, start: int, minimum: int = 1) -> int:
    """A collection's element count, which cannot be more than the bytes left could hold
    (each element takes at least ``minimum`` bytes) when the reader is over bytes."""
    count = reader.read_length()
    if reader.fileobj is None and count * minimum > reader.remaining:
        raise reader.error("collection length larger than the data", start)
    if count == 0:
        raise EmptyKeyError("empty collection", start)
    return count


def _read_plain_list(reader: Reader, start: int) -> deque[bytes]:
    items: deque[bytes] = deque()
    read = reader.read_string
    for _ in range(_count(reader, start)):
        items.append(read())
    return items


def _read_quicklist(reader: Reader, version2: bool, start: int) -> deque[bytes]:
    items: deque[bytes] = deque()
    for _ in range(_count(reader, start, 2 if version2 else 1)):
        container = _NODE_PACKED
        if version2:
            container = reader.read_length()
            if container != _NODE_PACKED and container != _NODE_PLAIN:
                raise reader.error("quicklist integrity check failed", start)
        node_start = reader.offset
        blob = reader.read_string()
        if not blob:
            raise reader.error("empty quicklist node", node_start)
        if container == _NODE_PLAIN:
            items.append(blob)
        elif version2:
            items.extend(_listpack_items(blob, reader, node_start))
        else:
            items.extend(_ziplist_items(blob, reader, node_start))
    if not items:
        raise EmptyKeyError("empty list", start)
    return items


def _read_hash(reader: Reader, start: int) -> dict[bytes, bytes]:
    count = _count(reader, start, 2)
    value: dict[bytes, bytes] = {}
    read = reader.read_string
    for _ in range(count):
        field = read()
        value[field] = read()
    if len(value) != count:
        raise reader.error("duplicate hash fields", start)
    return value


def _read_set(reader: Reader, start: int) -> set[bytes]:
    count = _count(reader, start)
    value: set[bytes] = set()
    read = reader.read_string
    for _ in range(count):
        value.add(read())
    if len(value) != count:
        raise reader.error("duplicate set members", start)
    return value


def _read_zset(reader: Reader, binary: bool, start: int) -> ZSet:
    count = _count(reader, start, 2)
    members: list[bytes] = []
    scores: list[float] = []
    read = reader.read_string
    for _ in range(count):
        members.append(read())
        score = reader.read_binary_double() if binary else reader.read_text_double()
        if score != score:
            raise reader.error("sorted set with a NaN score", start)
        scores.append(score)
    if binary:  # written highest first
        members.reverse()
        scores.reverse()
    return _zset_of(members, scores, reader, start)


def _zset_of(members: list[bytes], scores: list[float], reader: Reader, start: int) -> ZSet:
    """The sorted set of ``members`` with ``scores``, refused if a member comes twice. Built
    at once when they come in order (as Redis writes them), else member by member."""
    value = ZSet()
    size = len(scores)
    for index in range(size):
        if scores[index] == 0.0:
            scores[index] = 0.0  # no -0.0 in a ZSet
    ordered = True
    for index in range(1, size):
        previous = scores[index - 1]
        score = scores[index]
        if score < previous or (score == previous and members[index] <= members[index - 1]):
            ordered = False
            break
    if ordered:
        value.load_sorted(members, scores)
        if len(value.scores) != len(members):
            raise reader.error("duplicate sorted set members", start)
        return value
    for index in range(len(members)):
        if not value.add(members[index], scores[index]):
            raise reader.error("duplicate sorted set members", start)
    return value


def _pairs(items: list[bytes], zset: bool, reader: Reader, start: int) -> dict[bytes, bytes] | ZSet:
    """A hash or sorted set from the flat ``items`` of a ziplist."""
    size = len(items)
    if size == 0:
        raise EmptyKeyError("empty collection", start)
    if size & 1:
        raise reader.error("odd number of elements in a pair encoding", start)
    if not zset:
        return _hash_of(items, reader, start)
    scores = [_parse_score(text, reader, start) for text in items[1::2]]
    return _zset_of(items[0::2], scores, reader, start)


def _hash_of(items: list[bytes], reader: Reader, start: int) -> dict[bytes, bytes]:
    """The hash of the fields and values in ``items`` (alternating), refused if a field
    comes twice."""
    value: dict[bytes, bytes] = {}
    size = len(items)
    for index in range(0, size - 1, 2):
        value[items[index]] = items[index + 1]
    if len(value) * 2 != size:
        raise reader.error("duplicate hash fields", start)
    return value


def _listpack_hash(blob: bytes, reader: Reader, start: int) -> dict[bytes, bytes]:
    items = _listpack_items(blob, reader, start)
    if not items:
        raise EmptyKeyError("empty hash", start)
    if len(items) & 1:
        raise reader.error("odd number of elements in a hash listpack", start)
    return _hash_of(items, reader, start)


def _listpack_zset(blob: bytes, reader: Reader, start: int) -> ZSet:
    scores: list[float] = []
    members = _listpack_items(blob, reader, start, scores)
    if not members:
        raise EmptyKeyError("empty sorted set", start)
    if len(members) != len(scores):
        raise reader.error("odd number of elements in a sorted set listpack", start)
    return _zset_of(members, scores, reader, start)


def _listpack_items(
    blob: bytes, reader: Reader, start: int, scores: list[float] | None = None
) -> list[bytes]:
    """The elements of the listpack ``blob``, every byte of it checked. Given ``scores``,
    every second element (a sorted set's scores) is parsed and appended there instead."""
    size = len(blob)
    if size < 7 or int.from_bytes(blob[0:4], "little") != size or blob[size - 1] != 0xFF:
        raise reader.error("listpack integrity check failed", start)
    declared = blob[4] | (blob[5] << 8)
    end = size - 1
    pos = 6
    count = 0
    items: list[bytes] = []
    while pos < end:
        first = blob[pos]
        number = 0
        text = b""
        is_text = True
        if 0x80 <= first < 0xC0:  # a string of up to 63 bytes: the most common entry
            after = pos + 1 + (first & 0x3F)
            if after >= end or blob[after] != after - pos:
                break
            text = blob[pos + 1 : after]
            pos = after + 1
        elif first < 0x80:  # 0..127
            if pos + 1 >= end or blob[pos + 1] != 1:
                break
            number = first
            is_text = False
            pos += 2
        else:
            if first < 0xE0:
                if pos + 2 > end:
                    break
                number = ((first & 0x1F) << 8) | blob[pos + 1]
                if number >= 4096:
                    number -= 8192
                is_text = False
                entry = 2
            elif first < 0xF0:
                if pos + 2 > end:
                    break
                entry = 2 + (((first & 0x0F) << 8) | blob[pos + 1])
                if pos + entry > end:
                    break
                text = blob[pos + 2 : pos + entry]
            elif first == 0xF0:
                if pos + 5 > end:
                    break
                entry = 5 + int.from_bytes(blob[pos + 1 : pos + 5], "little")
                if pos + entry > end:
                    break
                text = blob[pos + 5 : pos + entry]
            elif first <= 0xF4:
                entry = 1 + _LP_INT_WIDTHS[first - 0xF1]
                if pos + entry > end:
                    break
                number = int.from_bytes(blob[pos + 1 : pos + entry], "little", signed=True)
                is_text = False
            else:
                break
            # The back-length: the entry's size, in as many bytes as its canonical form takes.
            back = bytearray()
            _lp_backlen(back, entry)
            after = pos + entry + len(back)
            if after > end or blob[pos + entry : after] != back:
                break
            pos = after
        if scores is not None and count & 1:
            if is_text:
                scores.append(_parse_score(text, reader, start))
            else:
                scores.append(float(number))
        elif is_text:
            items.append(text)
        else:
            items.append(b"%d" % number)
        count += 1
    if pos != end:
        raise reader.error("listpack integrity check failed", start)
    if declared != _LP_UNKNOWN_COUNT and declared != count:
        raise reader.error("listpack integrity check failed", start)
    return items


def _parse_score(text: bytes, reader: Reader, start: int) -> float:
    """A score written as text (``%.17g``, ``inf``, ``-inf``). Short decimals, the common
    case, are computed exactly without a float parser: an integer of at most 15 digits
    divided by a power of ten up to 10**22 (both exact doubles, and IEEE division rounds
    correctly, so this is the double nearest the text, as strtod gives)."""
    size = len(text)
    if 0 < size <= 17:
        negative = text[0] == 45  # "-"
        digits = 0
        fraction = -1  # digits after the point; -1 while none was seen
        mantissa = 0
        for index in range(1 if negative else 0, size):
            char = text[index]
            if 48 <= char <= 57:
                mantissa = mantissa * 10 + char - 48
                digits += 1
                if fraction >= 0:
                    fraction += 1
            elif char == 46 and fraction < 0:  # "."
                fraction = 0
            else:
                digits = 0  # anything else: the general parser decides
                break
        if 0 < digits <= 15 and fraction != 0:
            value = float(mantissa) / _POWERS_OF_TEN[fraction] if fraction > 0 else float(mantissa)
            return -value if negative else value
    try:
        score = float(text)
    except ValueError:
        raise reader.error("invalid sorted set score", start) from None
    if score != score:
        raise reader.error("sorted set with a NaN score", start)
    return score


def _ziplist_items(blob: bytes, reader: Reader, start: int) -> list[bytes]:
    """The elements of the ziplist ``blob``, every byte of it checked."""
    size = len(blob)
    if size < 11 or int.from_bytes(blob[0:4], "little") != size or blob[size - 1] != 0xFF:
        raise reader.error("ziplist integrity check failed", start)
    tail = int.from_bytes(blob[4:8], "little")
    declared = blob[8] | (blob[9] << 8)
    end = size - 1
    pos = 10
    last = 10
    previous = 0
    items: list[bytes] = []
    while pos < end:
        # The previous entry's size.
        if blob[pos] < 0xFE:
            stated = blob[pos]
            header = 1
        else:
            if blob[pos] == 0xFF or pos + 5 > end:
                break
            stated = int.from_bytes(blob[pos + 1 : pos + 5], "little")
            header = 5
        if stated != previous or pos + header >= end:
            break
        at = pos + header
        code = blob[at]
        kind = code >> 6
        if kind == 0:
            length = code & 0x3F
            data = at + 1
        elif kind == 1:
            if at + 2 > end:
                break
            length = ((code & 0x3F) << 8) | blob[at + 1]
            data = at + 2
        elif code == 0x80:
            if at + 5 > end:
                break
            length = int.from_bytes(blob[at + 1 : at + 5], "big")
            data = at + 5
        elif kind == 2:
            break  # 0x81..0xBF: no such string encoding
        else:
            data = at + 1
            if code == 0xC0:
                length = 2
            elif code == 0xD0:
                length = 4
            elif code == 0xE0:
                length = 8
            elif code == 0xF0:
                length = 3
            elif code == 0xFE:
                length = 1
            elif 0xF1 <= code <= 0xFD:
                length = 0
            else:
                break
        if data + length > end:
            break
        if kind < 2 or code == 0x80:
            items.append(blob[data : data + length])
        elif length == 0:
            items.append(b"%d" % ((code & 0x0F) - 1))
        else:
            items.append(b"%d" % int.from_bytes(blob[data : data + length], "little", signed=True))
        last = pos
        previous = data + length - pos
        pos = data + length
    if pos != end or tail != last:
        raise reader.error("ziplist integrity check failed", start)
    if declared != 0xFFFF and declared != len(items):
        raise reader.error("ziplist integrity check failed", start)
    return items


def _intset_members(blob: bytes, reader: Reader, start: int) -> set[bytes]:
    """The members of the intset ``blob``: ascending, no duplicates, not empty."""
    size = len(blob)
    if size < 8:
        raise reader.error("intset integrity check failed", start)
    width = int.from_bytes(blob[0:4], "little")
    count = int.from_bytes(blob[4:8], "little")
    code = _INTSET_CODES.get(width)
    if code is None or 8 + count * width != size:
        raise reader.error("intset integrity check failed", start)
    if count == 0:
        raise EmptyKeyError("empty intset", start)
    numbers = struct.unpack_from(f"<{count}{code}", blob, 8)
    previous = numbers[0]
    for index in range(1, count):
        number = numbers[index]
        if number <= previous:
            raise reader.error("intset integrity check failed", start)
        previous = number
    return {b"%d" % number for number in numbers}


def _zipmap_hash(blob: bytes, reader: Reader, start: int) -> dict[bytes, bytes]:
    """The hash in the zipmap ``blob`` (Redis 2.4 and older)."""
    size = len(blob)
    if size < 2 or blob[size - 1] != 0xFF:
        raise reader.error("zipmap integrity check failed", start)
    end = size - 1
    pos = 1
    value: dict[bytes, bytes] = {}
    count = 0
    while pos < end:
        length, pos = _zipmap_length(blob, pos, end, reader, start)
        field = blob[pos : pos + length]
        pos += length
        if pos >= end:
            break
        length, pos = _zipmap_length(blob, pos, end, reader, start)
        if pos >= end:
            break
        free = blob[pos]
        pos += 1
        item = blob[pos : pos + length]
        pos += length + free
        if pos > end:
            break
        value[field] = item
        count += 1
    if pos != end or count == 0 or len(value) != count:
        raise reader.error("zipmap integrity check failed", start)
    if blob[0] != 254 and blob[0] != count:
        raise reader.error("zipmap integrity check failed", start)
    return value


def _zipmap_length(blob: bytes, pos: int, end: int, reader: Reader, start: int) -> tuple[int, int]:
    if blob[pos] < 254:
        return blob[pos], pos + 1
    if pos + 5 > end:
        raise reader.error("zipmap integrity check failed", start)
    return int.from_bytes(blob[pos + 1 : pos + 5], "little"), pos + 5


# -- streams ----------------------------------------------------------------------------------
def _signed64(value: int) -> int:
    """A 64-bit difference as Redis's int64 cast of a uint64 subtraction."""
    value &= U64
    return value - (1 << 64) if value >= 1 << 63 else value


def _write_stream(out: bytearray, stream: Stream, compress: bool) -> None:
    """Redis's ``RDB_TYPE_STREAM_LISTPACKS_2`` object: the node count, each node's master ID
    (16 bytes big-endian) and listpack; the length, last ID, first ID, largest deleted ID,
    entries added; the groups: name, last ID, read counter (-1 as 2**64-1), the PEL (each ID
    in 16 bytes, its delivery time in 8 bytes little-endian, its count), then the consumers:
    name, seen time, and the IDs of their PEL."""
    write_length(out, len(stream.nodes))
    for first, node in zip(stream.firsts, stream.nodes, strict=True):
        write_string(out, first.to_bytes(16, "big"), compress)
        write_string(out, _stream_listpack(first, node), compress)
    write_length(out, stream.length)
    for sid in (stream.last_id, stream.first_id(), stream.max_deleted_id):
        write_length(out, sid >> 64)
        write_length(out, sid & U64)
    write_length(out, stream.entries_added)
    groups = sorted(stream.groups.items()) if stream.groups else []
    write_length(out, len(groups))
    for name, group in groups:
        write_string(out, name, compress)
        write_length(out, group.last_id >> 64)
        write_length(out, group.last_id & U64)
        write_length(out, group.entries_read & U64)
        write_length(out, len(group.pending))
        for sid, nack in group.pending.items():
            out += sid.to_bytes(16, "big")
            out += (nack.delivery_time_ms & U64).to_bytes(8, "little")
            write_length(out, nack.delivery_count)
        consumers = group.sorted_consumers()
        write_length(out, len(consumers))
        for consumer in consumers:
            write_string(out, consumer.name, compress)
            out += (consumer.seen_time_ms & U64).to_bytes(8, "little")
            write_length(out, len(consumer.pending))
            for sid in consumer.pending:
                out += sid.to_bytes(16, "big")


def _stream_listpack(master_id: int, node: Node) -> bytes:
    """One node as Redis's listpack: the master entry (live count, deleted count, the master
    fields, 0), then per entry its flags, ID deltas, fields (unless the same as the
    master's) and values, and its element count."""
    buf = bytearray()
    master = node.master
    _lp_int(buf, node.live)
    _lp_int(buf, node.deleted)
    _lp_int(buf, len(master))
    for field in master:
        _lp_append(buf, field)
    _lp_int(buf, 0)
    count = 4 + len(master)
    master_ms, master_seq = master_id >> 64, master_id & U64
    for index in range(len(node)):
        sid = node.id_at(index)
        flags = node.blob[node.offsets[index]] & (FLAG_DELETED | FLAG_SAMEFIELDS)
        fields = node.fields_at(index)
        _lp_int(buf, flags)
        _lp_int(buf, _signed64((sid >> 64) - master_ms))
        _lp_int(buf, _signed64((sid & U64) - master_seq))
        pairs = len(fields) // 2
        if flags & FLAG_SAMEFIELDS:
            for value in fields[1::2]:
                _lp_append(buf, value)
            _lp_int(buf, pairs + 3)
            count += pairs + 4
        else:
            _lp_int(buf, pairs)
            for item in fields:
                _lp_append(buf, item)
            _lp_int(buf, 2 * pairs + 4)
            count += 2 * pairs + 5
    return _lp_finish(buf, count)


def _lp_number(item: bytes, reader: Reader, start: int) -> int:
    number = strict_int(item)
    if number is None:
        raise reader.error("stream listpack integrity check failed", start)
    return number


def _read_stream_node(key: bytes, blob: bytes, reader: Reader, start: int) -> tuple[int, Node]:
    """A node from its master ID and listpack, every part of it checked as Redis's deep
    ``streamValidateListpackIntegrity`` does; returns the master ID and the node."""
    if len(key) != 16:
        raise reader.error("Stream node key entry is not the size of a stream ID", start)
    master_id = int.from_bytes(key, "big")
    items = _listpack_items(blob, reader, start)
    if not items:
        raise reader.error("Empty listpack inside stream", start)
    bad = "stream listpack integrity check failed"
    if len(items) < 4:
        raise reader.error(bad, start)
    live = _lp_number(items[0], reader, start)
    deleted = _lp_number(items[1], reader, start)
    master_count = _lp_number(items[2], reader, start)
    if live < 0 or deleted < 0 or master_count < 0 or 4 + master_count > len(items):
        raise reader.error(bad, start)
    master = items[3 : 3 + master_count]
    at = 3 + master_count
    if _lp_number(items[at], reader, start) != 0:
        raise reader.error(bad, start)
    at += 1
    master_ms, master_seq = master_id >> 64, master_id & U64
    entries: list[tuple[int, int, list[bytes]]] = []
    seen_live = seen_deleted = 0
    previous = -1
    for _ in range(live + deleted):
        if at + 3 > len(items):
            raise reader.error(bad, start)
        flags = _lp_number(items[at], reader, start)
        ms = (master_ms + _lp_number(items[at + 1], reader, start)) & U64
        seq = (master_seq + _lp_number(items[at + 2], reader, start)) & U64
        at += 3
        if flags & FLAG_SAMEFIELDS:
            if at + master_count > len(items):
                raise reader.error(bad, start)
            fields = [
                part
                for pair in zip(master, items[at : at + master_count], strict=True)
                for part in pair
            ]
            at += master_count
            extra = master_count + 3
        else:
            if at >= len(items):
                raise reader.error(bad, start)
            pairs = _lp_number(items[at], reader, start)
            at += 1
            if pairs < 0 or at + 2 * pairs > len(items):
                raise reader.error(bad, start)
            fields = items[at : at + 2 * pairs]
            at += 2 * pairs
            extra = 2 * pairs + 4
        if at >= len(items) or _lp_number(items[at], reader, start) != extra:
            raise reader.error(bad, start)
        at += 1
        sid = ms << 64 | seq
        if sid <= previous or (not entries and sid != master_id):
            raise reader.error(bad, start)
        previous = sid
        if flags & FLAG_DELETED:
            seen_deleted += 1
        else:
            seen_live += 1
        entries.append((sid, flags, fields))
    if at != len(items) or seen_live != live or seen_deleted != deleted:
        raise reader.error(bad, start)
    return master_id, node_from_entries(master, entries, len(blob))


def _read_stream(reader: Reader, version2: bool, start: int) -> Stream:
    """A stream object of type 19 (or 15, which lacks the Redis 7 counters)."""
    stream = Stream()
    for _ in range(reader.read_length()):
        key = reader.read_string()
        blob = reader.read_string()
        master_id, node = _read_stream_node(key, blob, reader, start)
        if stream.firsts and master_id <= stream.firsts[-1]:
            raise reader.error("Listpack re-added with existing key", start)
        stream.restore_node(master_id, node)
    stream.length = reader.read_length()
    stream.last_id = reader.read_length() << 64 | reader.read_length()
    if version2:
        reader.read_length()  # the first ID: ours is always that of the first live entry
        reader.read_length()
        stream.max_deleted_id = reader.read_length() << 64 | reader.read_length()
        stream.entries_added = reader.read_length()
    else:
        stream.entries_added = stream.length
    if stream.length != stream.live_count():
        raise reader.error("Stream length inconsistent with rax entries", start)
    for _ in range(reader.read_length()):
        name = reader.read_string()
        last_id = reader.read_length() << 64 | reader.read_length()
        if version2:
            entries_read = _signed64(reader.read_length())
        else:
            entries_read = estimate_entries_read(stream, last_id)
        if stream.groups is None:
            stream.groups = {}
        if name in stream.groups:
            raise reader.error("Duplicated consumer group name", start)
        group = ConsumerGroup(last_id, entries_read)
        stream.groups[name] = group
        nacks: dict[int, tuple[int, int]] = {}
        for _ in range(reader.read_length()):
            sid = int.from_bytes(reader.take(16), "big")
            when = int.from_bytes(reader.take(8), "little", signed=True)
            if sid in nacks:
                raise reader.error("Duplicated global PEL entry", start)
            nacks[sid] = (when, reader.read_length())
        for _ in range(reader.read_length()):
            consumer_name = reader.read_string()
            if consumer_name in group.consumers:
                raise reader.error("Duplicate stream consumer detected.", start)
            seen = int.from_bytes(reader.take(8), "little", signed=True)
            consumer = Consumer(consumer_name, seen)
            group.consumers[consumer_name] = consumer
            for _ in range(reader.read_length()):
                sid = int.from_bytes(reader.take(16), "big")
                found = nacks.get(sid)
                if found is None or sid in group.pending:
                    raise reader.error("Consumer entry not found in group global PEL", start)
                nack = Pending(consumer, found[0], found[1])
                group.pending[sid] = nack
                consumer.pending[sid] = nack
        if len(group.pending) != len(nacks):
            raise reader.error("Stream CG PEL entry without consumer", start)
    return stream


# -- DUMP payloads -------------------------------------------------------------------------------
def dump_payload(value: object, limits: Limits, compress: bool = True) -> bytes:
    """DUMP's reply for ``value``: its type byte and object, the RDB version (2 bytes) and the
    CRC-64 of all that (8 bytes), little-endian."""
    out = bytearray()
    write_value(out, value, limits, compress)
    out += RDB_VERSION.to_bytes(2, "little")
    out += crc64(out).to_bytes(8, "little")
    return bytes(out)


def restore_payload(data: bytes) -> object:
    """The value in the DUMP payload ``data``. :class:`PayloadError` when its version is newer
    than Redis 7.0's or its checksum is wrong; :class:`RdbError` when the body is not a valid
    object (:class:`EmptyKeyError` for an empty collection). Bytes after the object are
    ignored, as Redis does."""
    if len(data) < 10:
        raise PayloadError("payload too short", 0)
    footer = data[-10:]
    if int.from_bytes(footer[:2], "little") > RDB_VERSION:
        raise PayloadError("payload version too new", len(data) - 10)
    if crc64(data[:-8]) != int.from_bytes(footer[2:], "little"):
        raise PayloadError("payload checksum mismatch", len(data) - 8)
    return read_value(Reader(data[:-10]))
