"""The stream type (Redis's ``t_stream.c`` data structure, without commands).

A stream ID is one Python int, ``ms << 64 | seq``: it compares and sorts as Redis's IDs do.

Layout. Entries live in *nodes* of consecutive IDs, as Redis keeps them in listpacks under a
radix tree; a Python object per entry would cost ten times Redis's memory. A node holds:

- ``ids``: ``ms - base, seq`` pairs, one pair per entry (``base`` is the ms of the node's first
  ID);
- ``offsets``: where each entry starts in ``blob``;
- ``blob``: a ``bytearray`` of encoded entries: one flag byte (bit 0 deleted, bit 1 "same fields
  as the node's master fields"), then, without that bit, a varint count of fields; then each
  field (without the bit) and value as a varint length and its bytes;
- ``master``: the field names of the first entry appended to the node (Redis's master entry).

The tail node, still appended to, is *open*: its ``ids`` and ``offsets`` are lists, whose
appends are cheap. :meth:`Node.seal` makes them compact arrays (IDs in 32-bit items while every
one fits, else 64-bit ones; offsets in 16-bit items while the blob is under 64 KiB, else 32-bit
ones) when the node is full, loaded or copied; an append to a sealed node reopens it.

The node boundaries follow Redis's rules (``stream-node-max-entries`` entries, live or deleted,
and ``stream-node-max-bytes`` of Redis's own listpack, whose size :class:`Node` tracks in
``lp_bytes``), because approximate trimming (``MAXLEN ~``) removes whole nodes and its results
must be Redis's. Deleting an entry only flags it, as Redis does, so a node's ID range and sizes
stay what Redis's would be; a node whose last live entry goes is dropped.

Invariants:

- ``firsts[i]`` is the first ID ever appended to ``nodes[i]`` (Redis's rax key), ascending;
- a node loses its last live entry only through XDEL, which drops it (an exact MINID trim
  may leave one with none, as Redis does); ``length`` is the count of live entries;
- ``last_id`` >= every ID in the stream; ``max_deleted_id`` is the largest ID removed by XDEL.
"""

from __future__ import annotations

import sys
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from typing import Final

from zyst import errors
from zyst.errors import CommandError
from zyst.types.streamgroups import Consumer, ConsumerGroup, Pending

# Range replies written in C (see streamresp.c), absent from a pure-Python install.
_c_entries_resp: Callable[[list[tuple[Node, int]]], bytes] | None
try:
    from zyst.types.streamresp import entries_resp as _compiled_entries_resp

    _c_entries_resp = _compiled_entries_resp
except ImportError:  # ZYST_PURE_PYTHON=1
    _c_entries_resp = None

MAX_ID: Final = (1 << 128) - 1
U64: Final = (1 << 64) - 1
_U64_LIMIT: Final = 1 << 64

# Entry flag bits (Redis's STREAM_ITEM_FLAG_*: the same values, so the RDB code reuses them).
FLAG_DELETED: Final = 1
FLAG_SAMEFIELDS: Final = 2

# "$<n>\r\n" for the short lengths most fields and values have (range_resp writes many).
_BULK_HEADERS: Final = [b"$%d\r\n" % n for n in range(256)]


def _bulk_header(size: int) -> bytes:
    return _BULK_HEADERS[size] if size < 256 else b"$%d\r\n" % size


# "\r\n*<n>\r\n": the end of an entry's ID and the header of its field/value array.
_ARRAY_HEADERS: Final = [b"\r\n*%d\r\n" % n for n in range(256)]


def _array_header(size: int) -> bytes:
    return _ARRAY_HEADERS[size] if size < 256 else b"\r\n*%d\r\n" % size


# "*2\r\n$<n>\r\n": an entry's pair header and its ID's bulk header (an ID has at most 41).
_ID_HEADERS: Final = [b"*2\r\n$%d\r\n" % n for n in range(42)]


# Redis's STREAM_LISTPACK_MAX_SIZE: the largest listpack, and the most an entry may carry.
LISTPACK_MAX_SIZE: Final = 1 << 30


def format_id(sid: int) -> bytes:
    """``ms-seq`` as Redis prints an ID: ``b"1526919030474-55"``."""
    return b"%d-%d" % (sid >> 64, sid & U64)


_SPACES: Final = b" \t\n\v\f\r"


def _string2ull(raw: bytes) -> int | None:
    """Redis's ``string2ull``: a canonical int64 unless negative, else what C's ``strtoull``
    takes (leading blanks, a sign, leading zeros; a minus wraps around modulo 2**64); None if
    invalid or beyond 2**64 - 1."""
    if 0 < len(raw) < 20 and raw.isdigit():
        return int(raw)  # (digits only, below 10**19: every reading gives this value)
    canonical = lp_as_int(raw)
    if canonical is not None:
        return canonical if canonical >= 0 else None
    text = raw.lstrip(_SPACES)
    negative = False
    if text[:1] in (b"+", b"-"):
        negative = text[:1] == b"-"
        text = text[1:]
    if not text or not text.isdigit():
        return None
    value = int(text)
    if value > U64:
        return None
    return (-value) % _U64_LIMIT if negative else value


def _parse_plain(arg: bytes, missing_seq: int) -> int:
    """``arg`` read as ``ms`` or ``ms-seq`` where each part is 1 to 18 ASCII digits (what
    clients send nearly always), -1 if it is not that: the general parse decides then. Such
    parts stay below 2**62, so the loops run on mypyc's unboxed ints."""
    size = len(arg)
    ms = 0
    at = 0
    while at < size:
        char = arg[at]
        if char == 45:  # "-"
            break
        if char < 48 or char > 57 or at == 18:
            return -1
        ms = ms * 10 + (char - 48)
        at += 1
    if at == 0:
        return -1
    if at == size:
        return ms << 64 | missing_seq
    at += 1
    if at == size or size - at > 18:
        return -1
    seq = 0
    while at < size:
        char = arg[at]
        if char < 48 or char > 57:
            return -1
        seq = seq * 10 + (char - 48)
        at += 1
    return ms << 64 | seq


def _parse(arg: bytes, missing_seq: int, strict: bool, star: bool) -> tuple[int, bool]:
    """Redis's ``streamGenericParseIDOrReply``: the ID and whether its sequence was given
    (False for ``ms-*`` where ``star`` allows it)."""
    plain = _parse_plain(arg, missing_seq)
    if plain >= 0:
        return plain, True
    if len(arg) > 127:
        raise CommandError(errors.STREAM_INVALID_ID)
    nul = arg.find(b"\0")
    if nul >= 0:
        arg = arg[:nul]  # Redis reads the argument as a C string
    if strict and arg in (b"-", b"+"):
        raise CommandError(errors.STREAM_INVALID_ID)
    if arg == b"-":
        return 0, True
    if arg == b"+":
        return MAX_ID, True
    dash = arg.find(b"-")
    head = arg if dash < 0 else arg[:dash]
    ms = _string2ull(head)
    if ms is None:
        raise CommandError(errors.STREAM_INVALID_ID)
    if dash < 0:
        return ms << 64 | missing_seq, True
    tail = arg[dash + 1 :]
    if star and tail == b"*":
        return ms << 64, False
    seq = _string2ull(tail)
    if seq is None:
        raise CommandError(errors.STREAM_INVALID_ID)
    return ms << 64 | seq, True


def parse_id(arg: bytes, missing_seq: int) -> int:
    """An ID argument: ``ms-seq``, ``ms`` (``missing_seq`` completes it: 0 for a start,
    2**64-1 for an end), ``-`` (0-0) or ``+`` (the largest). STREAM_INVALID_ID otherwise."""
    return _parse(arg, missing_seq, False, False)[0]


def parse_strict_id(arg: bytes, missing_seq: int) -> int:
    """As :func:`parse_id`, but ``-`` and ``+`` are invalid (Redis's strict parse)."""
    return _parse(arg, missing_seq, True, False)[0]


def parse_add_id(arg: bytes) -> tuple[int, bool]:
    """XADD's explicit ID: ``ms-seq``, ``ms`` or ``ms-*``; returns the ID and whether the
    sequence was given (False for ``ms-*``: the stream picks it)."""
    return _parse(arg, 0, True, True)


def parse_interval_id(arg: bytes, missing_seq: int) -> tuple[int, bool]:
    """A range bound of XRANGE/XREVRANGE: an ID, or ``(`` and a strict ID (exclusive).
    Returns the ID and whether it is exclusive."""
    if len(arg) > 1 and arg[0] == 40:  # "("
        return parse_strict_id(arg[1:], missing_seq), True
    return parse_id(arg, missing_seq), False


# -- Redis's listpack sizes (to place node boundaries where Redis does) -------------------------
def _backlen_size(size: int) -> int:
    if size <= 127:
        return 1
    if size < 16383:
        return 2
    if size < 2097151:
        return 3
    if size < 268435455:
        return 4
    return 5


def lp_int_size(value: int) -> int:
    """Bytes of an integer element in a listpack, its back-length included."""
    if 0 <= value <= 127:
        return 2
    if -4096 <= value <= 4095:
        return 3
    if -32768 <= value <= 32767:
        return 4
    if -8388608 <= value <= 8388607:
        return 5
    if -2147483648 <= value <= 2147483647:
        return 6
    return 10


def lp_as_int(raw: bytes) -> int | None:
    """The integer a listpack stores ``raw`` as (Redis's ``lpStringToInt64``), or None."""
    size = len(raw)
    if size == 0 or size > 20:
        return None
    if raw == b"0":
        return 0
    digits = raw[1:] if raw[0] == 45 else raw  # "-"
    if not digits or not digits.isdigit() or digits[0] == 48:
        return None
    value = int(raw)
    if -(1 << 63) <= value < (1 << 63):
        return value
    return None


def lp_str_size(raw: bytes) -> int:
    """Bytes of a string element in a listpack (an integer-looking one is stored as one)."""
    size = len(raw)
    if size and (raw[0] == 45 or 48 <= raw[0] <= 57):  # only "-" or a digit may lead an int
        number = lp_as_int(raw)
        if number is not None:
            return lp_int_size(number)
    head = size + (1 if size < 64 else 2 if size < 4096 else 5)
    return head + _backlen_size(head)


# -- varints of the entry blobs ----------------------------------------------------------------
def _put_varint(out: bytearray, value: int) -> None:
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def _put_string(out: bytearray, raw: bytes) -> None:
    size = len(raw)
    if size < 0x80:
        out.append(size)
    else:
        _put_varint(out, size)
    out += raw


class Node:
    """Up to ``stream-node-max-entries`` consecutive entries (see the module docstring)."""

    __slots__ = (
        "base",
        "blob",
        "deleted",
        "heads",
        "ids",
        "live",
        "lp_rest",
        "master",
        "master_seq",
        "offsets",
        "open_ids",
        "open_offsets",
        "wide",
    )

    def __init__(self, master: tuple[bytes, ...], base: int, master_seq: int = 0) -> None:
        # ``base`` and ``master_seq``: the node's master ID (its first), in halves.
        self.base = base
        self.master_seq = master_seq
        # Open (the tail node, still appended to): lists, whose appends are cheap, also found
        # under ``open_ids`` and ``open_offsets``; sealed: compact arrays (see seal()).
        self.open_ids: list[int] | None = []
        self.open_offsets: list[int] | None = []
        self.ids: Sequence[int] = self.open_ids
        self.offsets: Sequence[int] = self.open_offsets
        # Whether some ID half stored here needs more than 32 bits (see seal()).
        self.wide = False
        # field_heads(), kept once a reply has needed them.
        self.heads: list[bytes] | None = None
        self.blob = bytearray()
        self.master = master
        self.live = 0
        self.deleted = 0
        # Redis's listpack size without the two counters (live, deleted) that lead it: the
        # header and end byte, the master fields and their count and terminator.
        self.lp_rest = (
            7
            + lp_int_size(len(self.master))
            + sum(lp_str_size(field) for field in self.master)
            + lp_int_size(0)
        )

    def lp_bytes(self) -> int:
        """The size Redis's listpack of this node would have."""
        return self.lp_rest + lp_int_size(self.live) + lp_int_size(self.deleted)

    def id_at(self, index: int) -> int:
        ids = self.ids
        return (ids[2 * index] + self.base) << 64 | ids[2 * index + 1]

    def _push(self, sid: int, at: int) -> None:
        """Record the ID and blob offset of a new entry, widening the arrays if needed."""
        self._push_parts(sid >> 64, sid & U64, at)

    def _push_parts(self, ms: int, seq: int, at: int) -> None:
        """:meth:`_push` with the ID given as its ``ms`` and ``seq``."""
        ids = self.open_ids
        offsets = self.open_offsets
        if ids is None or offsets is None:
            ids = self.open_ids = list(self.ids)
            offsets = self.open_offsets = list(self.offsets)
            self.ids = ids
            self.offsets = offsets
        offsets.append(at)
        ms -= self.base
        ids.append(ms)
        ids.append(seq)
        if ms > 0xFFFFFFFF or seq > 0xFFFFFFFF:
            self.wide = True

    def seal(self) -> None:
        """Store the entries compactly, the node being full (or loaded whole): the IDs as
        32-bit items while every one fits, else 64-bit ones; the offsets as 16-bit items while
        the blob is under 64 KiB, else 32-bit ones; the blob without the room kept for
        appends. An append after this reopens the node (lists again)."""
        ids = self.open_ids
        if ids is not None:
            self.ids = array("Q" if self.wide else "I", ids)
            self.open_ids = None
        offsets = self.open_offsets
        if offsets is not None:
            self.offsets = array("H" if not offsets or offsets[-1] <= 0xFFFF else "I", offsets)
            self.open_offsets = None
        self.blob = bytearray(self.blob)

    def __len__(self) -> int:
        """Entries stored, live and deleted."""
        return len(self.offsets)

    def is_deleted(self, index: int) -> bool:
        return bool(self.blob[self.offsets[index]] & FLAG_DELETED)

    def append(self, ms: int, seq: int, fields: list[bytes]) -> None:
        """Append the entry ``ms-seq`` (above every ID here)."""
        blob = self.blob
        self._push_parts(ms, seq, len(blob))
        pairs = len(fields) >> 1
        master = self.master
        same = pairs == len(master)
        if same:
            for i in range(pairs):
                if fields[2 * i] != master[i]:
                    same = False
                    break
        ms_diff = ms - self.base
        # The sequence delta as Redis stores it: wrapped to a signed 64-bit value.
        seq_diff = seq - self.master_seq
        if seq_diff >= 1 << 63:
            seq_diff -= _U64_LIMIT
        elif seq_diff < -(1 << 63):
            seq_diff += _U64_LIMIT
        size = lp_int_size(FLAG_SAMEFIELDS if same else 0) + lp_int_size(ms_diff)
        size += lp_int_size(seq_diff)
        if same:
            blob.append(FLAG_SAMEFIELDS)
            for i in range(1, 2 * pairs, 2):
                value = fields[i]
                _put_string(blob, value)
                size += lp_str_size(value)
            size += lp_int_size(pairs + 3)
        else:
            blob.append(0)
            _put_varint(blob, pairs)
            size += lp_int_size(pairs)
            for item in fields:
                _put_string(blob, item)
                size += lp_str_size(item)
            size += lp_int_size(2 * pairs + 4)
        self.lp_rest += size
        self.live += 1

    def fields_at(self, index: int) -> list[bytes]:
        """The ``[field, value, ...]`` of entry ``index``."""
        blob = self.blob
        at = self.offsets[index]
        flags = blob[at]
        at += 1
        out: list[bytes] = []
        if flags & FLAG_SAMEFIELDS:
            for field in self.master:
                size = blob[at]
                at += 1
                if size >= 0x80:
                    size, at = _varint_tail(blob, at, size)
                out.append(field)
                out.append(bytes(blob[at : at + size]))
                at += size
            return out
        count = blob[at]
        at += 1
        if count >= 0x80:
            count, at = _varint_tail(blob, at, count)
        for _ in range(2 * count):
            size = blob[at]
            at += 1
            if size >= 0x80:
                size, at = _varint_tail(blob, at, size)
            out.append(bytes(blob[at : at + size]))
            at += size
        return out

    def field_heads(self) -> list[bytes]:
        """Each master field as a RESP bulk string (``$<n>\\r\\n<field>\\r\\n``), with the
        array header of a same-fields entry's pairs first: what :meth:`write_resp` repeats."""
        master = self.master
        heads = [_array_header(2 * len(master))]
        for field in master:
            heads.append(_bulk_header(len(field)) + field + b"\r\n")
        return heads

    def write_resp(self, index: int, out: list[bytes | bytearray]) -> None:
        """Append entry ``index`` as RESP, ``*2 id *2n field value ...``, in pieces to ``out``
        (joined once by the caller: cheaper than growing one buffer piece by piece). A
        same-fields entry takes its field names from :meth:`field_heads`, kept in ``heads``
        after the first."""
        blob = self.blob
        at: int = self.offsets[index]
        flags: int = blob[at]
        at += 1
        ids = self.ids
        # The two halves of the ID as stored: no 128-bit int to build and split again.
        sid = b"%d-%d" % (ids[2 * index] + self.base, ids[2 * index + 1])
        out.append(_ID_HEADERS[len(sid)])
        out.append(sid)
        if flags & FLAG_SAMEFIELDS:
            heads = self.heads
            if heads is None:
                heads = self.heads = self.field_heads()
            out.append(heads[0])
            for i in range(1, len(heads)):
                size: int = blob[at]
                at += 1
                if size >= 0x80:
                    size, at = _varint_tail(blob, at, size)
                out.append(heads[i])
                out.append(_bulk_header(size))
                out.append(blob[at : at + size])
                out.append(b"\r\n")
                at += size
            return
        count: int = blob[at]
        at += 1
        if count >= 0x80:
            count, at = _varint_tail(blob, at, count)
        out.append(_array_header(2 * count))
        for _ in range(2 * count):
            size = blob[at]
            at += 1
            if size >= 0x80:
                size, at = _varint_tail(blob, at, size)
            out.append(_bulk_header(size))
            out.append(blob[at : at + size])
            out.append(b"\r\n")
            at += size

    def mark_deleted(self, index: int) -> None:
        self.blob[self.offsets[index]] |= FLAG_DELETED
        self.live -= 1
        self.deleted += 1

    def find(self, sid: int) -> int:
        """The index of the first entry whose ID is >= ``sid`` (``len(self)`` if none)."""
        # Compared as (ms - base, seq) pairs, the way the arrays hold them: no 128-bit ints.
        ms = (sid >> 64) - self.base
        if ms < 0:
            return 0
        seq = sid & U64
        ids = self.ids
        lo = 0
        hi = len(self.offsets)
        while lo < hi:
            mid = (lo + hi) >> 1
            at_ms: int = ids[2 * mid]
            if at_ms < ms or (at_ms == ms and ids[2 * mid + 1] < seq):
                lo = mid + 1
            else:
                hi = mid
        return lo

    def last_id(self) -> int:
        """The ID of the last entry stored (deleted or not), as Redis's lpGetEdgeStreamID."""
        return self.id_at(len(self.offsets) - 1)


def node_from_entries(
    master: list[bytes], entries: list[tuple[int, int, list[bytes]]], lp_bytes: int
) -> Node:
    """A node rebuilt from Redis's listpack contents: its master fields, then each entry's ID,
    flags (deleted, same fields) and ``[field, value, ...]``; ``lp_bytes`` is that listpack's
    size."""
    first = entries[0][0] if entries else 0
    node = Node(tuple(master), first >> 64, first & U64)
    blob = node.blob
    for sid, flags, fields in entries:
        node._push(sid, len(blob))
        if flags & FLAG_SAMEFIELDS:
            blob.append(flags & (FLAG_DELETED | FLAG_SAMEFIELDS))
            for value in fields[1::2]:
                _put_string(blob, value)
        else:
            blob.append(flags & FLAG_DELETED)
            _put_varint(blob, len(fields) >> 1)
            for item in fields:
                _put_string(blob, item)
        if flags & FLAG_DELETED:
            node.deleted += 1
        else:
            node.live += 1
    node.lp_rest = lp_bytes - lp_int_size(node.live) - lp_int_size(node.deleted)
    node.seal()
    return node


def _write_positions(positions: list[tuple[Node, int]]) -> bytes:
    """The entries at ``positions`` as one RESP array of ``[id, [field, value, ...]]``: by the
    C extension when there is one."""
    if _c_entries_resp is not None:
        return _c_entries_resp(positions)
    return write_positions_portable(positions)


def write_positions_portable(positions: list[tuple[Node, int]]) -> bytes:
    """:func:`_write_positions` in Python (the reference the C extension is tested against)."""
    out: list[bytes | bytearray] = [b"*%d\r\n" % len(positions)]
    for node, index in positions:
        node.write_resp(index, out)
    return b"".join(out)


def _varint_tail(blob: bytearray, at: int, first: int) -> tuple[int, int]:
    value = first & 0x7F
    shift = 7
    while True:
        byte = blob[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, at
        shift += 7


def _rax_nodes(keys: list[bytes], depth: int) -> int:
    """Nodes of a rax holding ``keys`` (sorted, same length, distinct), below ``depth`` bytes
    of shared prefix, counting the node at ``depth`` itself."""
    if not keys:
        return 1
    if len(keys) == 1:
        # One key left: a compressed node for the rest of it (if any), then its key node.
        return 2 if depth < len(keys[0]) else 1
    # Find the longest common prefix beyond depth: a compressed node covers it.
    first, last = keys[0], keys[-1]
    common = depth
    while common < len(first) and first[common] == last[common]:
        common += 1
    nodes = 0
    if common > depth:
        nodes += 1  # the compressed node from depth to common
    # A branching node at common, with one child per distinct next byte.
    nodes += 1
    group: list[bytes] = []
    for key in keys:
        if group and group[0][common] != key[common]:
            nodes += _rax_nodes(group, common + 1)
            group = []
        group.append(key)
    nodes += _rax_nodes(group, common + 1)
    return nodes


def _copy_group(group: ConsumerGroup) -> ConsumerGroup:
    twin = ConsumerGroup(group.last_id, group.entries_read)
    for name, consumer in group.consumers.items():
        other = Consumer(name, consumer.seen_time_ms)
        twin.consumers[name] = other
        for sid, nack in consumer.pending.items():
            copied = Pending(other, nack.delivery_time_ms, nack.delivery_count)
            twin.pending[sid] = copied
            other.pending[sid] = copied
    return twin


class Stream:
    """A stream: its entries in nodes, its counters, its consumer groups (see the module
    docstring for the layout and invariants)."""

    __slots__ = (
        "entries_added",
        "firsts",
        "groups",
        "last_ms",
        "last_seq",
        "length",
        "max_deleted_id",
        "nodes",
    )

    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self.firsts: list[int] = []
        self.length = 0
        # The last ID, in halves (XADD works with them; ``last_id`` joins them).
        self.last_ms = 0
        self.last_seq = 0
        self.entries_added = 0
        self.max_deleted_id = 0
        self.groups: dict[bytes, ConsumerGroup] | None = None

    def __len__(self) -> int:
        return self.length

    @property
    def last_id(self) -> int:
        """The largest ID the stream has held (Redis's ``last_id``), whole."""
        return self.last_ms << 64 | self.last_seq

    @last_id.setter
    def last_id(self, sid: int) -> None:
        self.last_ms = sid >> 64
        self.last_seq = sid & U64

    def __eq__(self, other: object) -> bool:
        """The same entries, counters and consumer group names (tests compare keyspaces)."""
        if not isinstance(other, Stream):
            return NotImplemented
        mine = (self.length, self.last_id, self.entries_added, self.max_deleted_id)
        theirs = (other.length, other.last_id, other.entries_added, other.max_deleted_id)
        return (
            mine == theirs
            and sorted(self.groups or ()) == sorted(other.groups or ())
            and list(self.entries()) == list(other.entries())
        )

    __hash__ = None  # type: ignore[assignment]

    def first_id(self) -> int:
        """The first live entry's ID, 0 when empty."""
        for node in self.nodes:
            if node.live:
                for index in range(len(node)):
                    if not node.is_deleted(index):
                        return node.id_at(index)
        return 0

    def live_count(self) -> int:
        """The live entries counted node by node (``length`` must equal it)."""
        return sum(node.live for node in self.nodes)

    def restore_node(self, master_id: int, node: Node) -> None:
        """Append a node read from an RDB object (its master ID above every node's)."""
        self.nodes.append(node)
        self.firsts.append(master_id)

    def last_live_id(self) -> int:
        """The last live entry's ID (Redis's ``streamLastValidID``), 0 when empty."""
        for node in reversed(self.nodes):
            if node.live:
                for index in range(len(node) - 1, -1, -1):
                    if not node.is_deleted(index):
                        return node.id_at(index)
        return 0

    def first_stored_id(self) -> int:
        """The first entry's ID, deleted or not, MAX_ID when there is none (Redis's
        ``streamGetEdgeID(s, 1, 0, ...)``, which XADD/XTRIM's MINID rewrite uses)."""
        return self.firsts[0] if self.firsts else MAX_ID

    def radix_tree_nodes(self) -> int:
        """The node count of Redis's radix tree of the node keys (XINFO STREAM's
        ``radix-tree-nodes``): keys are the 16 big-endian bytes of the first IDs; a run of
        single-child nodes is one compressed node, as in ``rax.c``."""
        keys = [sid.to_bytes(16, "big") for sid in self.firsts]
        return _rax_nodes(keys, 0)

    def add(
        self, sid: int, fields: list[bytes], max_entries: int = 100, max_bytes: int = 4096
    ) -> None:
        """Append an entry; the caller checked that ``sid`` > ``last_id``. ``max_entries``
        and ``max_bytes`` are the server's stream-node-max-entries/-bytes (0: no limit)."""
        self.add_parts(sid >> 64, sid & U64, fields, max_entries, max_bytes)

    def add_parts(
        self, ms: int, seq: int, fields: list[bytes], max_entries: int, max_bytes: int
    ) -> None:
        """:meth:`add` with the ID given in halves (XADD has them: no 128-bit int to split)."""
        node = self.nodes[-1] if self.nodes else None
        if node is not None:
            if max_bytes == 0 or max_bytes > LISTPACK_MAX_SIZE:
                max_bytes = LISTPACK_MAX_SIZE
            total = 0
            for item in fields:
                total += len(item)
            if node.lp_bytes() + total >= max_bytes or (max_entries and len(node) >= max_entries):
                node = None
        if node is None:
            master = tuple(fields[0::2])
            if self.nodes:
                last = self.nodes[-1]
                last.seal()
                if last.master == master:
                    master = last.master  # one tuple for a run of nodes of the same fields
            node = Node(master, ms, seq)
            self.nodes.append(node)
            self.firsts.append(ms << 64 | seq)
        node.append(ms, seq, fields)
        self.length += 1
        self.entries_added += 1
        self.last_ms = ms
        self.last_seq = seq

    def _locate(self, sid: int) -> tuple[int, int]:
        """The node holding ``sid`` if any, and the index of the first entry >= ``sid`` in it;
        (-1, 0) when ``sid`` is before the first node."""
        at = bisect_right(self.firsts, sid) - 1
        if at < 0:
            return -1, 0
        return at, self.nodes[at].find(sid)

    def lookup(self, sid: int) -> list[bytes] | None:
        """One entry's ``[field, value, ...]``, None if absent or deleted."""
        at, index = self._locate(sid)
        if at < 0:
            return None
        node = self.nodes[at]
        if index < len(node) and node.id_at(index) == sid and not node.is_deleted(index):
            return node.fields_at(index)
        return None

    def delete(self, sid: int) -> bool:
        """Remove one entry (XDEL); False if there was none. Updates ``max_deleted_id``."""
        at, index = self._locate(sid)
        if at < 0:
            return False
        node = self.nodes[at]
        if index >= len(node) or node.id_at(index) != sid or node.is_deleted(index):
            return False
        self._remove(at, index)
        if sid > self.max_deleted_id:
            self.max_deleted_id = sid
        return True

    def _remove(self, at: int, index: int) -> None:
        node = self.nodes[at]
        if node.live == 1:
            del self.nodes[at]
            del self.firsts[at]
        else:
            node.mark_deleted(index)
        self.length -= 1

    def _positions(self, start: int, end: int, count: int, rev: bool) -> list[tuple[Node, int]]:
        """Where the live entries with ``start <= id <= end`` are, in the order asked, at most
        ``count`` of them (0: all)."""
        out: list[tuple[Node, int]] = []
        if start > end or not self.nodes:
            return out
        nodes = self.nodes
        if not rev:
            at, index = self._locate(start)
            if at < 0:
                at, index = 0, 0
            while at < len(nodes):
                node = nodes[at]
                size = len(node)
                # Per entry, compare IDs only in a node that reaches past ``end``, and read
                # flags only in one with deleted entries.
                bounded = end != MAX_ID and node.last_id() > end
                deleted = node.deleted > 0
                while index < size:
                    if bounded and node.id_at(index) > end:
                        return out
                    if not (deleted and node.is_deleted(index)):
                        out.append((node, index))
                        if count and len(out) >= count:
                            return out
                    index += 1
                at += 1
                index = 0
            return out
        at, index = self._locate(end)
        if at < 0:
            return out
        node = nodes[at]
        index = node.find(end + 1) - 1 if end < MAX_ID else len(node) - 1
        while at >= 0:
            node = nodes[at]
            bounded = node.id_at(0) < start
            deleted = node.deleted > 0
            while index >= 0:
                if bounded and node.id_at(index) < start:
                    return out
                if not (deleted and node.is_deleted(index)):
                    out.append((node, index))
                    if count and len(out) >= count:
                        return out
                index -= 1
            at -= 1
            if at >= 0:
                index = len(nodes[at]) - 1
        return out

    def range(
        self, start: int, end: int, count: int = 0, rev: bool = False
    ) -> list[tuple[int, list[bytes]]]:
        """Entries with ``start <= id <= end``, ascending (descending if ``rev``), at most
        ``count`` of them (0: all)."""
        return [
            (node.id_at(index), node.fields_at(index))
            for node, index in self._positions(start, end, count, rev)
        ]

    def range_resp(self, start: int, end: int, count: int = 0, rev: bool = False) -> bytes:
        """:meth:`range` as the RESP array a range reply is (the same in RESP2 and RESP3):
        ``[[id, [field, value, ...]], ...]``, written straight from the nodes' bytes."""
        return _write_positions(self._positions(start, end, count, rev))

    def range_ids_resp(self, start: int, end: int, count: int) -> tuple[list[int], bytes]:
        """The IDs of the entries :meth:`range_resp` would give (ascending), and its reply."""
        positions = self._positions(start, end, count, False)
        return [node.id_at(index) for node, index in positions], _write_positions(positions)

    def entries(self) -> Iterator[tuple[int, list[bytes]]]:
        """Every live entry, ascending, one node decoded at a time."""
        for node in self.nodes:
            for index in range(len(node)):
                if not node.is_deleted(index):
                    yield node.id_at(index), node.fields_at(index)

    def ids(self) -> list[int]:
        """Every live ID, ascending (for tests and small streams)."""
        return [sid for sid, _ in self.range(0, MAX_ID)]

    def trim(self, maxlen: int | None, minid: int | None, approx: bool, limit: int) -> int:
        """Redis's ``streamTrim``: remove entries from the head until at most ``maxlen``
        remain, or none below ``minid``. ``approx`` removes whole nodes only; ``limit`` (not
        0) caps the entries removed, counted by whole nodes. Returns how many went."""
        removed = 0
        nodes = self.nodes
        while nodes:
            if maxlen is not None and self.length <= maxlen:
                break
            node = nodes[0]
            entries = node.live
            if limit and removed + entries > limit:
                break
            if maxlen is not None:
                whole = self.length - entries >= maxlen
            else:
                assert minid is not None
                whole = node.last_id() < minid
            if whole:
                del nodes[0]
                del self.firsts[0]
                self.length -= entries
                removed += entries
                continue
            if approx:
                break
            for index in range(len(node)):
                if maxlen is not None:
                    if self.length <= maxlen:
                        break
                elif node.id_at(index) >= minid:  # type: ignore[operator]
                    break
                if not node.is_deleted(index):
                    node.mark_deleted(index)
                    self.length -= 1
                    removed += 1
            break
        return removed

    def copy(self) -> Stream:
        """A deep copy: entries, counters, and the consumer groups with their consumers and
        pending entries (COPY's, as Redis's ``streamDup``)."""
        other = Stream()
        other.firsts = list(self.firsts)
        for node in self.nodes:
            twin = Node(node.master, node.base, node.master_seq)
            twin.ids = twin.open_ids = list(node.ids)
            twin.offsets = twin.open_offsets = list(node.offsets)
            twin.blob = bytearray(node.blob)
            twin.wide = node.wide
            twin.seal()
            twin.live = node.live
            twin.deleted = node.deleted
            twin.lp_rest = node.lp_rest
            other.nodes.append(twin)
        other.length = self.length
        other.last_ms = self.last_ms
        other.last_seq = self.last_seq
        other.entries_added = self.entries_added
        other.max_deleted_id = self.max_deleted_id
        if self.groups is not None:
            other.groups = {name: _copy_group(group) for name, group in self.groups.items()}
        return other

    def memory(self) -> int:
        """Bytes held by the stream (MEMORY USAGE): its objects as Python accounts them, the
        consumer groups estimated per pending entry and consumer."""
        size = sys.getsizeof
        total = size(self) + size(self.nodes) + size(self.firsts)
        for node, first in zip(self.nodes, self.firsts, strict=True):
            total += size(node) + size(node.ids) + size(node.offsets) + size(node.blob)
            total += size(first) + size(node.master)
        for group in (self.groups or {}).values():
            total += 200 + 150 * len(group.pending) + 150 * len(group.consumers)
        return total
