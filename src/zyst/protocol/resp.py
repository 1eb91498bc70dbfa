"""RESP requests in, RESP2/RESP3 replies out. No I/O here: bytes in, values or bytes out.

Requests
    :class:`RequestParser` turns the bytes a client sends into commands (lists of ``bytes``).
    Plain multibulk requests (``*N\\r\\n$len\\r\\n...``, what client libraries send) are read
    by a small walker over the framing; anything else (inline commands, malformed input, huge
    element counts) by an exact parser that follows Redis's own rules and error strings.
    Invariant: the bytes a client sent are consumed exactly once, in order.

Replies
    Handlers return plain values and :func:`encode_reply` writes them for the client's protocol
    version; the difference between RESP2 and RESP3 lives only here:

    ============== ========================= ==========================
    value          RESP2                     RESP3
    ============== ========================= ==========================
    ``bytes``      bulk string               bulk string
    ``int``        integer                   integer
    ``None``       null bulk ``$-1``         null ``_``
    ``NULL_ARRAY`` null array ``*-1``        null ``_``
    ``list``       array                     array
    ``Status``     simple string             simple string
    ``ErrorReply`` error                     error
    ``Map``        flat array                map ``%``
    ``SetReply``   array                     set ``~``
    ``Pairs``      flat array a, b, ...      array of ``[a, b]``
    ``float``      bulk string               double ``,``
    ``Verbatim``   bulk string               verbatim string ``=``
    ``bool``       integer 1/0               boolean ``#``
    ``ScorePairs`` flat array                array of 2-arrays
    ``ScoreLists`` flat array                array of 2-arrays
    ``HumanDouble`` bulk string              double ``,`` (its text)
    ============== ========================= ==========================
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from itertools import chain
from typing import Any, Final

from zyst import errors
from zyst.numbers import strict_int
from zyst.protocol.inline import split_args

# Redis's limits on request framing (networking.c).
INLINE_MAX_SIZE: Final = 64 * 1024
MAX_MULTIBULK_LENGTH: Final = 2**31 - 1
DEFAULT_MAX_BULK_LENGTH: Final = 512 * 1024 * 1024
DEFAULT_MAX_QUERY_BUFFER: Final = 1024 * 1024 * 1024
# RequestParser.error when a client's unparsed input outgrew the query buffer limit: Redis
# closes such a client without a reply.
QUERY_BUFFER_OVERFLOW: Final = "query buffer limit reached"
# The largest element count and bulk string a client that must log in first may send (Redis's
# networking.c, for clients for which authRequired holds).
UNAUTH_MAX_COUNT: Final = 10
UNAUTH_MAX_BULK: Final = 16384


# -- reply value types -------------------------------------------------------------------------
class Status:
    """A simple string reply (``+OK``); its encoding is computed once."""

    __slots__ = ("encoded", "text")

    def __init__(self, text: bytes) -> None:
        self.text = text
        self.encoded = b"+" + text + b"\r\n"


class ErrorReply:
    """An error reply; ``message`` is the full text (``ERR ...``)."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message


class Map:
    """A map reply: pairs of values (a dict or a list of 2-tuples)."""

    __slots__ = ("pairs",)

    def __init__(self, pairs: Iterable[tuple[Any, Any]]) -> None:
        self.pairs = pairs


class SetReply:
    """A set reply (RESP3 ``~``), an array in RESP2."""

    __slots__ = ("items",)

    def __init__(self, items: Iterable[Any]) -> None:
        self.items = items


class Pairs:
    """An array of pairs (HRANDFIELD ... WITHVALUES): each pair a two-element array in RESP3,
    all of them one flat array in RESP2. ``items`` is that flat list, ``a1, b1, a2, b2, ...``."""

    __slots__ = ("items",)

    def __init__(self, items: list[Any]) -> None:
        self.items = items


class KeyedArrays:
    """``(key, value)`` pairs sent as a map in RESP3 and as an array of two-element arrays in
    RESP2 (XREAD's reply, as Redis sends it)."""

    __slots__ = ("pairs",)

    def __init__(self, pairs: list[tuple[Any, Any]]) -> None:
        self.pairs = pairs


class Verbatim:
    """A verbatim text reply (RESP3 ``=``, with format ``txt``), a bulk string in RESP2."""

    __slots__ = ("text",)

    def __init__(self, text: bytes) -> None:
        self.text = text


class ScorePairs:
    """``(member, score)`` pairs (ZRANGE WITHSCORES and the like): one flat array in RESP2, an
    array of two-element arrays in RESP3, as Redis sends them."""

    __slots__ = ("pairs",)

    def __init__(self, pairs: list[tuple[bytes, float]]) -> None:
        self.pairs = pairs


class ScoreLists:
    """:class:`ScorePairs` given as two parallel lists, members and scores (a range of a sorted
    set is two list slices: no pair is made)."""

    __slots__ = ("members", "scores")

    def __init__(self, members: list[bytes], scores: list[float]) -> None:
        self.members = members
        self.scores = scores


class Raw:
    """Bytes already encoded, sent as they are (what EXEC puts in the slot of a queued command
    that pushed messages to its own client, as Redis's reply buffer has them there)."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


class HumanDouble:
    """A double already written in Redis's human form (``addReplyHumanLongDouble``: GEOPOS's
    coordinates): a bulk string in RESP2, a RESP3 double carrying the same text."""

    __slots__ = ("text",)

    def __init__(self, text: bytes) -> None:
        self.text = text


class _NullArray:
    __slots__ = ()


class _NoReply:
    __slots__ = ()


OK: Final = Status(b"OK")
PONG: Final = Status(b"PONG")
QUEUED: Final = Status(b"QUEUED")
NULL_ARRAY: Final = _NullArray()
# A command that sends nothing back (SHUTDOWN, when the server goes down).
NO_REPLY: Final = _NoReply()


# Whole doubles below this in magnitude print the same with %d as with %.17g.
_EXACT: Final = 1e15

# Integer replies from 0 to 9999, encoded once (Redis keeps the same range of shared integers):
# counts, lengths and 0/1 answers are most of the integer replies a server sends.
_INTEGER_REPLIES: Final = [b":%d\r\n" % n for n in range(10_000)]


def encode_integer(number: int) -> bytes:
    """The integer reply ``:<number>\\r\\n``."""
    if 0 <= number < 10_000:
        return _INTEGER_REPLIES[number]
    return b":%d\r\n" % number


def format_double(value: float) -> bytes:
    """A double as Redis writes it in a RESP2 bulk string (``%.17g`` with inf spelled out)."""
    if -_EXACT < value < _EXACT:
        whole = int(value)
        # A whole number below 10**15 prints the same with %d, several times faster; -0 is the
        # one whole value %d would print differently ("0").
        if whole == value and (whole or math.copysign(1.0, value) > 0):
            return b"%d" % whole
    elif math.isinf(value):
        return b"inf" if value > 0 else b"-inf"
    return b"%.17g" % value


def _resp3_double(value: float) -> bytes:
    if math.isinf(value):
        return b",inf\r\n" if value > 0 else b",-inf\r\n"
    if math.isnan(value):
        return b",nan\r\n"
    return b"," + format_double(value) + b"\r\n"


def _error_bytes(message: str) -> bytes:
    """The bytes of an error text (see :mod:`zyst.errors`: one character per byte, so latin-1
    gives back the bytes a client sent), on one line as Redis sends it: CR and LF at the end
    are dropped, those inside become spaces."""
    try:
        raw = message.encode("latin-1")
    except UnicodeEncodeError:  # text of our own beyond latin-1 (no client bytes in it)
        raw = message.encode("utf-8")
    if 13 in raw or 10 in raw:  # CR, LF (as ints: see split_args)
        raw = raw.rstrip(b"\r\n").replace(b"\r", b" ").replace(b"\n", b" ")
    return raw


def encode_reply(value: Any, resp3: bool, out: list[bytes]) -> None:
    """Append the encoding of ``value`` to ``out`` (see the table in the module docstring)."""
    kind = type(value)
    if kind is bytes:
        out.append(b"$%d\r\n%s\r\n" % (len(value), value))
    elif kind is Status:
        out.append(value.encoded)
    elif kind is int:
        out.append(encode_integer(value))
    elif value is None:
        out.append(b"_\r\n" if resp3 else b"$-1\r\n")
    elif kind is list:
        n = len(value)
        out.append(_ARRAY_HEADERS[n] if n < 1024 else b"*%d\r\n" % n)
        _encode_elements(value, resp3, out)
    elif kind is ErrorReply:
        out.append(b"-" + _error_bytes(value.message) + b"\r\n")
    elif kind is Map:
        pairs = value.pairs.items() if isinstance(value.pairs, dict) else value.pairs
        flat = list(chain.from_iterable(pairs))
        out.append((b"%%%d\r\n" if resp3 else b"*%d\r\n") % (len(flat) // (2 if resp3 else 1)))
        _encode_elements(flat, resp3, out)
    elif kind is SetReply:
        items = value.items if type(value.items) is list else list(value.items)
        out.append((b"~%d\r\n" if resp3 else b"*%d\r\n") % len(items))
        _encode_elements(items, resp3, out)
    elif kind is float:
        if resp3:
            out.append(_resp3_double(value))
        else:
            text = format_double(value)
            out.append(b"$%d\r\n%s\r\n" % (len(text), text))
    elif kind is Verbatim:
        if resp3:
            out.append(b"=%d\r\ntxt:%s\r\n" % (len(value.text) + 4, value.text))
        else:
            out.append(b"$%d\r\n%s\r\n" % (len(value.text), value.text))
    elif kind is bool:
        if resp3:
            out.append(b"#t\r\n" if value else b"#f\r\n")
        else:
            out.append(b":1\r\n" if value else b":0\r\n")
    elif kind is _NullArray:
        out.append(b"_\r\n" if resp3 else b"*-1\r\n")
    elif kind is _NoReply:
        pass
    elif kind is Raw:
        out.append(value.data)
    elif kind is HumanDouble:
        text = value.text
        out.append(b",%s\r\n" % text if resp3 else b"$%d\r\n%s\r\n" % (len(text), text))
    elif kind is Pairs:
        items = value.items
        if not resp3:
            encode_reply(items, False, out)
        else:
            out.append(b"*%d\r\n" % (len(items) // 2))
            for index in range(0, len(items), 2):
                out.append(b"*2\r\n")
                encode_reply(items[index], True, out)
                encode_reply(items[index + 1], True, out)
    elif kind is tuple:
        encode_reply(list(value), resp3, out)
    elif kind is ScorePairs:
        pairs = value.pairs
        members = [member for member, _ in pairs]
        scores = [score for _, score in pairs]
        _encode_score_lists(members, scores, resp3, out)
    elif kind is ScoreLists:
        _encode_score_lists(value.members, value.scores, resp3, out)
    elif kind is KeyedArrays:
        pairs = value.pairs
        out.append((b"%%%d\r\n" if resp3 else b"*%d\r\n") % len(pairs))
        for key, item in pairs:
            if not resp3:
                out.append(b"*2\r\n")
            encode_reply(key, resp3, out)
            encode_reply(item, resp3, out)
    else:  # pragma: no cover - a handler bug, caught by tests
        raise TypeError(f"cannot encode reply of type {kind.__name__}")


# "$<n>" for every length a short bulk string can have, so that encoding a long array of them
# (LRANGE, SMEMBERS, HGETALL) needs no per-element formatting in Python.
_BULK_HEADERS: Final = [b"$%d" % n for n in range(4096)]
_BULK_HEADERS_CRLF: Final = [b"$%d\r\n" % n for n in range(4096)]
_BULK_SEPARATORS: Final = [b"\r\n$%d\r\n" % n for n in range(4096)]
_ARRAY_HEADERS: Final = [b"*%d\r\n" % n for n in range(1024)]
# Long arrays are encoded this many elements at a time: one join over a whole array of a million
# elements is several times slower than a thousand joins (its buffer table, 80 bytes an
# element, falls out of the caches), and small replies stay one join.
_CHUNK: Final = 2048


def _encode_elements(items: list[Any], resp3: bool, out: list[bytes]) -> None:
    """Append the encodings of ``items`` (an array's elements, after its header) to ``out``."""
    mark = len(out)
    try:
        if len(items) <= _CHUNK:
            encoded = _bulk_strings(items)
            if encoded is not None:
                out.append(encoded)
                return
        else:
            for start in range(0, len(items), _CHUNK):
                encoded = _bulk_strings(items[start : start + _CHUNK])
                if encoded is None:
                    break
                out.append(encoded)
            else:
                return
    except IndexError:  # an element of 4096 bytes or more
        pass
    # Not all short bytes (a nested array, an integer, a long string): one element at a time.
    del out[mark:]
    for item in items:
        if type(item) is bytes:
            out.append(b"$%d\r\n%s\r\n" % (len(item), item))
        else:
            encode_reply(item, resp3, out)


def _bulk_strings(items: list[Any]) -> bytes | None:
    """The bulk-string encodings of ``items``, concatenated; ``None`` if one of them is not
    ``bytes`` (found without raising: an exception costs more than encoding a short array).

    Raises IndexError (an element of 4096 bytes or more) for the caller's general path.
    Elements all of one length (the usual list of fixed-size values) are joined around one
    shared header, with no per-element work at all.
    """
    if not items:
        return b""
    first = items[0]
    if type(first) is not bytes:
        return None
    size = len(first)
    uniform = True
    for item in items:
        if type(item) is not bytes:
            return None
        if len(item) != size:
            uniform = False
    if not uniform:
        return _mixed_bulk_strings(items)
    return _BULK_HEADERS_CRLF[size] + _BULK_SEPARATORS[size].join(items) + b"\r\n"


def _mixed_bulk_strings(items: list[bytes]) -> bytes:
    parts: list[bytes] = [b""] * (2 * len(items) + 1)
    parts[0:-1:2] = [_BULK_HEADERS[len(item)] for item in items]
    parts[1::2] = items
    return b"\r\n".join(parts)


def _encode_score_lists(
    members: list[bytes], scores: list[float], resp3: bool, out: list[bytes]
) -> None:
    """Append the encoding of member-score pairs: member and score bulk strings one after the
    other in RESP2, ``[member, double]`` arrays in RESP3."""
    size = len(members)
    out.append(b"*%d\r\n" % (size if resp3 else 2 * size))
    for start in range(0, size, _CHUNK):
        stop = min(size, start + _CHUNK)
        parts: list[bytes] = []
        for index in range(start, stop):
            member = members[index]
            score = scores[index]
            if resp3:
                parts.append(b"*2\r\n$%d\r\n%s\r\n" % (len(member), member))
                parts.append(_resp3_double(score))
            else:
                text = format_double(score)
                parts.append(_bulk_header(len(member)))
                parts.append(member)
                parts.append(_bulk_header(len(text)))
                parts.append(text)
        if not resp3:
            parts.append(b"")
        out.append((b"" if resp3 else b"\r\n").join(parts))


def _bulk_header(size: int) -> bytes:
    """``$<size>`` (without its CRLF)."""
    return _BULK_HEADERS[size] if size < 4096 else b"$%d" % size


def encode_error(message: str) -> bytes:
    """The bytes of an error reply."""
    return b"-" + _error_bytes(message) + b"\r\n"


def encode_command(argv: list[bytes]) -> bytes:
    """A command as a RESP multibulk request (the form of an AOF entry).

    Runs once per command written to the AOF and once per read on the request path, so the
    usual short commands take one formatting operation.
    """
    size = len(argv)
    if size == 3:
        a, b, c = argv
        return b"*3\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(a), a, len(b), b, len(c), c)
    if size == 2:
        a, b = argv
        return b"*2\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(a), a, len(b), b)
    if size == 4:
        a, b, c, d = argv
        return b"*4\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (
            len(a),
            a,
            len(b),
            b,
            len(c),
            c,
            len(d),
            d,
        )
    parts = [b"*%d\r\n" % size]
    for arg in argv:
        parts.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(parts)


# -- request parsing ---------------------------------------------------------------------------
class NeedMore(Exception):
    """:func:`parse_one` needs more bytes to finish the request at the start of its input."""


def parse_one(
    buf: bytes, pos: int = 0, max_bulk: int = DEFAULT_MAX_BULK_LENGTH
) -> tuple[list[bytes] | None, int]:
    """Parse the single request starting at ``buf[pos]``, the way Redis's networking.c does.

    Returns ``(argv, new_pos)``; ``argv`` is ``None`` for requests Redis ignores (an empty inline
    line, ``*0`` or a negative count). Raises :class:`NeedMore` when the request is incomplete and
    :class:`zyst.errors.ProtocolError` (with Redis's message) when it is malformed.
    """
    if buf[pos : pos + 1] == b"*":
        return _parse_multibulk(buf, pos, max_bulk)
    return _parse_inline(buf, pos)


def _line_end(buf: bytes, pos: int, end: bytes) -> int:
    """Where the line at ``buf[pos]`` ends (its first ``end`` byte), or -1, as Redis finds it:
    with ``strchr``, which also stops at a NUL byte, so a line holding one never ends."""
    found = buf.find(end, pos)
    if found > pos and buf.find(b"\0", pos, found) >= 0:
        return -1
    return found


def _parse_inline(buf: bytes, pos: int) -> tuple[list[bytes] | None, int]:
    newline = _line_end(buf, pos, b"\n")
    if newline < 0:
        if len(buf) - pos > INLINE_MAX_SIZE:
            raise errors.ProtocolError(errors.PROTO_TOO_BIG_INLINE)
        raise NeedMore
    line = buf[pos:newline]
    if line.endswith(b"\r"):
        line = line[:-1]
    args = split_args(line)
    if args is None:
        raise errors.ProtocolError(errors.PROTO_UNBALANCED)
    return (args or None), newline + 1


def _parse_multibulk(buf: bytes, pos: int, max_bulk: int) -> tuple[list[bytes] | None, int]:
    count, pos = _parse_count(buf, pos)
    if count <= 0:
        return None, pos
    argv: list[bytes] = []
    pos, left = _read_bulks(buf, pos, argv, count, max_bulk)
    if left:
        raise NeedMore
    return argv, pos


def _parse_count(buf: bytes, pos: int) -> tuple[int, int]:
    """The element count of the multibulk header at ``buf[pos]`` (``*N\r\n``), and the position
    after it.

    Like Redis, the line ends at its first CR and the byte after the CR is skipped unread.
    """
    newline = _line_end(buf, pos, b"\r")
    if newline < 0:
        if len(buf) - pos > INLINE_MAX_SIZE:
            raise errors.ProtocolError(errors.PROTO_TOO_BIG_MBULK)
        raise NeedMore
    if newline + 1 >= len(buf):  # the LF is still to come
        raise NeedMore
    count = strict_int(buf[pos + 1 : newline])
    if count is None or count > MAX_MULTIBULK_LENGTH:
        raise errors.ProtocolError(errors.PROTO_INVALID_MBULK)
    return count, newline + 2


def _read_bulks(
    buf: bytes, pos: int, argv: list[bytes], left: int, max_bulk: int
) -> tuple[int, int]:
    """Append to ``argv`` up to ``left`` bulk strings read from ``buf[pos:]``; return the new
    position and how many are still to come (more than 0 when ``buf`` ends first).

    The header lines end as in :func:`_parse_count`; the two bytes after the data are skipped.
    """
    size = len(buf)
    while left and pos < size:
        newline = _line_end(buf, pos, b"\r")
        if newline < 0:
            if size - pos > INLINE_MAX_SIZE:
                raise errors.ProtocolError(errors.PROTO_TOO_BIG_BULK)
            break
        if newline + 1 >= size:  # the LF is still to come
            break
        if buf[pos] != 0x24:  # "$"
            raise errors.ProtocolError(errors.proto_expected_dollar(buf[pos : pos + 1]))
        length = strict_int(buf[pos + 1 : newline])
        if length is None or length < 0 or length > max_bulk:
            raise errors.ProtocolError(errors.PROTO_INVALID_BULK)
        end = newline + 2 + length
        if end + 2 > size:
            break
        argv.append(buf[newline + 2 : end])
        pos = end + 2
        left -= 1
    return pos, left


# -- the request walker: plain multibulk requests, read without copying or calling out --------
# What the walker found at the position it returns.
_COMPLETE: Final = 0  # everything up to the end of the bytes was read
_SHORT: Final = 1  # the request or element there is plain so far, and needs more bytes
_OTHER: Final = 2  # the request or element there is not plain: the exact parser must judge it
# Digits in a plain element count; a longer header goes to the exact parser, which checks it
# against Redis's limit. (No one allocates for a count: elements are appended as they are read.)
_COUNT_DIGITS: Final = 6
_LENGTH_DIGITS: Final = 18


def _read_decimal(buf: bytes, pos: int, max_digits: int) -> tuple[int, int]:
    """The number in the ``<digits>\\r\\n`` line at ``buf[pos]`` and the position after it.

    The value is -1 when the line has not ended yet (no CR and LF so far, and no byte refused so
    far), and -2 when it is not plain: empty, a leading zero, a sign, any other byte, more than
    ``max_digits`` digits, or a CR not followed by LF. (The exact parser then decides what Redis
    would do with it.)
    """
    size = len(buf)
    value = 0
    index = pos
    while index < size:
        byte = buf[index]
        if byte == 13:  # "\r"
            if index == pos or (buf[pos] == 48 and index - pos > 1):  # empty, or "07"
                return -2, 0
            if index + 1 >= size:
                return -1, 0
            if buf[index + 1] != 10:  # "\n"
                return -2, 0
            return value, index + 2
        digit = byte - 48
        if digit < 0 or digit > 9 or index - pos >= max_digits:
            return -2, 0
        value = value * 10 + digit
        index += 1
    return -1, 0


def _read_plain_elements(
    buf: bytes, pos: int, argv: list[bytes], left: int, max_bulk: int
) -> tuple[int, int, int]:
    """Append to ``argv`` up to ``left`` bulk strings (``$<len>\\r\\n<bytes>\\r\\n``) from
    ``buf[pos:]``. Returns the position after the last one read, how many are still to come,
    and the status there (:data:`_COMPLETE` when none are)."""
    size = len(buf)
    while left:
        if pos >= size:
            return pos, left, _SHORT
        if buf[pos] != 36:  # "$"
            return pos, left, _OTHER
        length, start = _read_decimal(buf, pos + 1, _LENGTH_DIGITS)
        if length < 0:
            return pos, left, (_SHORT if length == -1 else _OTHER)
        if length > max_bulk:
            return pos, left, _OTHER
        end = start + length
        if end + 2 > size:
            return pos, left, _SHORT
        # (Like Redis, the two bytes after the data are skipped unread.)
        argv.append(buf[start:end])
        pos = end + 2
        left -= 1
    return pos, 0, _COMPLETE


def _read_plain_requests(
    buf: bytes, pos: int, commands: list[list[bytes]], max_bulk: int
) -> tuple[int, int]:
    """Append every complete plain request at ``buf[pos:]`` to ``commands``: a multibulk request
    of 1 to 999,999 bulk strings, with canonical numbers. Returns where it stopped (the start of
    the first request not read) and the status there."""
    size = len(buf)
    while pos < size:
        if buf[pos] != 42:  # "*"
            return pos, _OTHER
        count, start = _read_decimal(buf, pos + 1, _COUNT_DIGITS)
        if count <= 0:  # incomplete (-1), not plain (-2), or "*0" (which Redis ignores)
            return pos, (_SHORT if count == -1 else _OTHER)
        argv: list[bytes] = []
        end, left, status = _read_plain_elements(buf, start, argv, count, max_bulk)
        if left:
            return pos, status
        commands.append(argv)
        pos = end
    return pos, _COMPLETE


def _element_size(buf: bytes, pos: int) -> tuple[int, int]:
    """The size of the whole bulk string starting at ``buf[pos]`` and of its ``$<length>``
    header line, when that header is complete and plain, else (0, 0): how many bytes to wait for
    before reading it is worth trying again."""
    if pos < len(buf) and buf[pos] == 36:  # "$"
        length, start = _read_decimal(buf, pos + 1, _LENGTH_DIGITS)
        if length >= 0:
            return start - pos + length + 2, start - pos
    return 0, 0


def _unauthenticated_cut(buf: bytes, left: int, max_bulk: int) -> tuple[int, str]:
    """Where in ``buf`` the first request header or element header Redis refuses from a client
    that must log in starts (a count above :data:`UNAUTH_MAX_COUNT`, a length above
    :data:`UNAUTH_MAX_BULK`), and the error; (-1, "") when the bytes there hold none. ``left``:
    the elements of a request in progress still to come at ``buf[0]``. Headers the parser
    itself refuses, and incomplete ones, end the search (the parser answers them)."""
    pos = 0
    size = len(buf)
    while True:
        if not left:
            if pos >= size:
                return -1, ""
            if buf[pos] != 42:  # "*": an inline request has no such limit
                newline = _line_end(buf, pos, b"\n")
                if newline < 0:
                    return -1, ""
                pos = newline + 1
                continue
            newline = _line_end(buf, pos, b"\r")
            if newline < 0 or newline + 1 >= size:
                return -1, ""
            count = strict_int(buf[pos + 1 : newline])
            if count is None or count > MAX_MULTIBULK_LENGTH:
                return -1, ""
            if count > UNAUTH_MAX_COUNT:
                return pos, errors.PROTO_UNAUTH_MBULK
            pos = newline + 2
            left = max(count, 0)
            continue
        if pos >= size or buf[pos] != 36:  # "$"
            return -1, ""
        newline = _line_end(buf, pos, b"\r")
        if newline < 0 or newline + 1 >= size:
            return -1, ""
        length = strict_int(buf[pos + 1 : newline])
        if length is None or length < 0 or length > max_bulk:
            return -1, ""
        if length > UNAUTH_MAX_BULK:
            return pos, errors.PROTO_UNAUTH_BULK
        pos = newline + 2 + length + 2
        if pos > size:
            return -1, ""
        left -= 1


class RequestParser:
    """Incremental request parser for one connection.

    :meth:`feed` returns every complete command in the bytes received so far. When a request is
    malformed, the commands before it are still returned and :attr:`error` is set to Redis's
    message; the connection must reply with it and close. Requests Redis ignores (``*0``, an empty
    inline line) are never returned.

    How it reads:

    - Complete plain multibulk requests (the form client libraries send, in whole batches) are
      read by the walker functions above, compiled to C by mypyc: one pass over the framing, one
      slice per argument.
    - Anything else (inline commands, ``*0``, element counts of seven digits or more, malformed
      framing) is read by the exact parser (:func:`_parse_inline`, :func:`_parse_count`,
      :func:`_read_bulks`), which follows Redis's networking.c and its error strings.
    - A request that has not fully arrived is read element by element (``_argv``, ``_left``)
      and resumed as bytes arrive; only the element in progress is kept (``_pending``), and a
      big one is waited for whole (``_need``). So each byte of a multibulk request is copied a
      bounded number of times however the request is split, and a huge request costs linear
      time. (Inline requests and header lines, which Redis caps at 64 KB, are searched again
      with each read, as Redis does.)

    Invariant: the bytes a client sent are consumed exactly once, in order; ``_pending`` always
    starts at a request boundary or, while ``_argv`` is set, at an element boundary.

    Why not hiredis here (the AOF loader uses it): hiredis allocates a whole multibulk's list
    when it reads the header, so every read had to be scanned for huge counts first, and knowing
    where its requests ended took re-encoding the last one. With those, it cost more per
    command than this walker does alone (measured: 323 against 254 ns per SET in a batch of 16),
    and its errors are not Redis's.
    """

    __slots__ = (
        "_argv",
        "_header",
        "_held",
        "_held_error",
        "_left",
        "_need",
        "_pending",
        "_pending_size",
        "error",
        "limited",
        "max_bulk",
        "max_query_buffer",
    )

    def __init__(
        self,
        max_bulk: int = DEFAULT_MAX_BULK_LENGTH,
        max_query_buffer: int = DEFAULT_MAX_QUERY_BUFFER,
    ) -> None:
        self._pending: list[bytes] = []
        self._pending_size = 0
        # Parsing waits until ``_pending`` holds this many bytes (a big element arriving), of
        # which the first ``_header`` are the element's ``$<length>`` line.
        self._need = 0
        self._header = 0
        # A multibulk request being read element by element: its elements so far, and how many
        # are still to come.
        self._argv: list[bytes] | None = None
        self._left = 0
        self.error: str | None = None
        self.max_bulk = max_bulk
        self.max_query_buffer = max_query_buffer
        # Set while the client must log in first: a request over Redis's limits for such
        # clients is not parsed, it and what follows are held (``held``) until the commands
        # before it have run; then the connection refuses them (:meth:`refuse_held`) or, the
        # client having logged in meanwhile, parses them (:meth:`release_held`).
        self.limited = False
        self._held: list[bytes] | None = None
        self._held_error = ""

    def pending_bytes(self) -> int:
        """Bytes received and not yet parsed (for the query-buffer limit). Like Redis's query
        buffer, this leaves out the arguments of a partial request already read."""
        return self._pending_size

    def awaiting(self) -> int:
        """Bytes still to come of the element being received, when parsing waits for one
        whose size is known; else 0 (the read buffer is sized by it)."""
        need = self._need
        return need - self._pending_size if need else 0

    def partial_argv_bytes(self) -> int:
        """Bytes of the arguments already read of a request not yet complete (Redis's
        ``argv-mem`` of a client between reads)."""
        argv = self._argv
        return sum(len(arg) for arg in argv) if argv is not None else 0

    @property
    def held(self) -> bool:
        """Whether requests are held back by the limits of :attr:`limited`."""
        return self._held is not None

    def release_held(self) -> list[list[bytes]]:
        """The client has logged in: no limits from now on; the held requests, parsed."""
        held = self._held
        self._held = None
        self.limited = False
        return self.feed(b"".join(held)) if held else []

    def refuse_held(self) -> None:
        """The client still has not logged in: the held request is a protocol error."""
        self._held = None
        self.error = self._held_error

    def feed(self, data: bytes) -> list[list[bytes]]:
        commands: list[list[bytes]] = []
        if self.error is not None or not data:
            return commands
        if self._held is not None:
            self._held.append(data)  # behind the held request, in order
            return commands
        pending = self._pending
        if pending:
            pending.append(data)
            self._pending_size += len(data)
            self._check_query_buffer()
            if self._pending_size < self._need or self.error is not None:
                return commands
            buf = b"".join(pending)
            pending.clear()
            self._pending_size = 0
            self._need = 0
        else:
            buf = data
        if self.limited:
            cut, error = _unauthenticated_cut(
                buf, self._left if self._argv is not None else 0, self.max_bulk
            )
            if cut >= 0:
                self._held = [buf[cut:]]
                self._held_error = error
                buf = buf[:cut]
        try:
            self._parse(buf, commands)
        except errors.ProtocolError as exc:
            self.error = exc.message
            self._pending.clear()
            self._pending_size = 0
            self._argv = None
        return commands

    def _parse(self, buf: bytes, commands: list[list[bytes]]) -> None:
        pos = 0
        if self._argv is not None:
            pos = self._continue_multibulk(buf, pos, commands)
        size = len(buf)
        while 0 <= pos < size:
            pos, status = _read_plain_requests(buf, pos, commands, self.max_bulk)
            if status == _COMPLETE:
                return
            # Not plain, or not complete: a partial request is then read element by element
            # from its header on, so that its bytes are never walked again.
            pos = self._read_one_exactly(buf, pos, commands)

    def _read_one_exactly(self, buf: bytes, pos: int, commands: list[list[bytes]]) -> int:
        """Read the request at ``buf[pos]`` with the exact parser; the position after it, or -1
        when it is incomplete (its bytes are then kept)."""
        try:
            if buf[pos] != 42:  # "*"
                argv, end = _parse_inline(buf, pos)
                if argv is not None:
                    commands.append(argv)
                return end
            count, start = _parse_count(buf, pos)
        except NeedMore:
            self._keep(buf, pos, 0, 0)
            return -1
        if count <= 0:
            return start
        self._argv = []
        self._left = count
        return self._continue_multibulk(buf, start, commands)

    def _continue_multibulk(self, buf: bytes, pos: int, commands: list[list[bytes]]) -> int:
        """Read elements of the request in ``_argv`` from ``buf[pos:]``; the position after the
        request when it is complete, else -1 (the bytes of the element in progress are kept)."""
        argv = self._argv
        assert argv is not None
        pos, left, status = _read_plain_elements(buf, pos, argv, self._left, self.max_bulk)
        if status == _OTHER:
            # An element the walker does not take: the exact parser raises Redis's error, or
            # reads it (and the rest) the way Redis would.
            pos, left = _read_bulks(buf, pos, argv, left, self.max_bulk)
        self._left = left
        if left:
            need, header = _element_size(buf, pos)
            self._keep(buf, pos, need, header)
            return -1
        self._argv = None
        commands.append(argv)
        return pos

    def _keep(self, buf: bytes, pos: int, need: int, header: int) -> None:
        rest = buf[pos:] if pos else buf
        self._pending = [rest] if rest else []
        self._pending_size = len(rest)
        self._need = need
        self._header = header
        self._check_query_buffer()

    def _check_query_buffer(self) -> None:
        """Give up on a client whose query buffer outgrew ``max_query_buffer``, measured as
        Redis measures it: the bytes not yet parsed, except that while a big element arrives
        the buffer holds only that element's bytes (Redis has consumed its header line and reads
        no further than its end). So an element of ``n`` bytes is refused exactly when its
        ``n + 2`` bytes with their CRLF exceed the limit, however they are split into reads."""
        size = self._pending_size
        if self._need:
            size = min(size, self._need) - self._header
        if size > self.max_query_buffer:
            self.error = QUERY_BUFFER_OVERFLOW
            self._pending.clear()
            self._pending_size = 0
            self._argv = None
