"""RESP requests in, RESP2/RESP3 replies out. No I/O here: bytes in, values or bytes out.

Requests
    :class:`RequestParser` turns the bytes a client sends into commands (lists of ``bytes``).
    The fast path hands multibulk requests (``*N\\r\\n$len\\r\\n...``) to hiredis. Anything hiredis
    refuses or that is not a multibulk request (inline commands, malformed input) is re-parsed from
    the same bytes by the pure-Python :func:`parse_one`, which follows Redis's own rules and error
    strings exactly. Invariant: the bytes a client sent are consumed exactly once, in order.

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
    ``float``      bulk string               double ``,``
    ``Verbatim``   bulk string               verbatim string ``=``
    ``bool``       integer 1/0               boolean ``#``
    ============== ========================= ==========================
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any, Final

import hiredis

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
# Multibulk requests of this many elements or more bypass hiredis (see RequestParser).
HUGE_MULTIBULK: Final = 1_000_000
_HUGE_COUNT: Final = re.compile(rb"\*[0-9]{7}")


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


class Verbatim:
    """A verbatim text reply (RESP3 ``=``, with format ``txt``), a bulk string in RESP2."""

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


def format_double(value: float) -> bytes:
    """A double as Redis writes it in a RESP2 bulk string (``%.17g`` with inf spelled out)."""
    if math.isinf(value):
        return b"inf" if value > 0 else b"-inf"
    return b"%.17g" % value


def _resp3_double(value: float) -> bytes:
    if math.isinf(value):
        return b",inf\r\n" if value > 0 else b",-inf\r\n"
    if math.isnan(value):
        return b",nan\r\n"
    return b",%.17g\r\n" % value


def _sanitize_error(message: str) -> bytes:
    # Redis never lets an error reply span lines: CR and LF become spaces.
    raw = message.encode("utf-8", errors="replace")
    if b"\r" in raw or b"\n" in raw:
        raw = raw.replace(b"\r", b" ").replace(b"\n", b" ")
    return raw


def encode_reply(value: Any, resp3: bool, out: list[bytes]) -> None:
    """Append the encoding of ``value`` to ``out`` (see the table in the module docstring)."""
    kind = type(value)
    if kind is bytes:
        out.append(b"$%d\r\n%s\r\n" % (len(value), value))
    elif kind is Status:
        out.append(value.encoded)
    elif kind is int:
        out.append(b":%d\r\n" % value)
    elif value is None:
        out.append(b"_\r\n" if resp3 else b"$-1\r\n")
    elif kind is list:
        out.append(b"*%d\r\n" % len(value))
        try:
            out.append(_bulk_strings(value))
        except (TypeError, IndexError):  # not all short bytes: one element at a time
            for item in value:
                if type(item) is bytes:
                    out.append(b"$%d\r\n%s\r\n" % (len(item), item))
                else:
                    encode_reply(item, resp3, out)
    elif kind is ErrorReply:
        out.append(b"-" + _sanitize_error(value.message) + b"\r\n")
    elif kind is Map:
        pairs = list(value.pairs.items() if isinstance(value.pairs, dict) else value.pairs)
        out.append((b"%%%d\r\n" if resp3 else b"*%d\r\n") % (len(pairs) * (1 if resp3 else 2)))
        for key, item in pairs:
            encode_reply(key, resp3, out)
            encode_reply(item, resp3, out)
    elif kind is SetReply:
        items = list(value.items)
        out.append((b"~%d\r\n" if resp3 else b"*%d\r\n") % len(items))
        for item in items:
            encode_reply(item, resp3, out)
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
    elif kind is tuple:
        encode_reply(list(value), resp3, out)
    else:  # pragma: no cover - a handler bug, caught by tests
        raise TypeError(f"cannot encode reply of type {kind.__name__}")


# "$<n>" for every length a short bulk string can have, so that encoding a long array of them
# (LRANGE, SMEMBERS, HGETALL) needs no per-element formatting in Python.
_BULK_HEADERS: Final = [b"$%d" % n for n in range(4096)]


def _bulk_strings(items: list[Any]) -> bytes:
    """The bulk-string encodings of ``items``, concatenated.

    Raises TypeError (an element that is not ``bytes``: ``len()`` or ``join`` refuses it) or
    IndexError (an element of 4096 bytes or more) for the caller's general path.
    """
    if not items:
        return b""
    parts: list[bytes] = [b""] * (2 * len(items))
    parts[0::2] = list(map(_BULK_HEADERS.__getitem__, map(len, items)))
    parts[1::2] = items
    return b"\r\n".join(parts) + b"\r\n"


def encode_error(message: str) -> bytes:
    """The bytes of an error reply."""
    return b"-" + _sanitize_error(message) + b"\r\n"


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
            *(len(a), a, len(b), b),
            *(len(c), c, len(d), d),
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


def _parse_inline(buf: bytes, pos: int) -> tuple[list[bytes] | None, int]:
    newline = buf.find(b"\n", pos)
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
    after it."""
    newline = buf.find(b"\r\n", pos)
    if newline < 0:
        if len(buf) - pos > INLINE_MAX_SIZE:
            raise errors.ProtocolError(errors.PROTO_TOO_BIG_MBULK)
        raise NeedMore
    count = strict_int(buf[pos + 1 : newline])
    if count is None or count > MAX_MULTIBULK_LENGTH:
        raise errors.ProtocolError(errors.PROTO_INVALID_MBULK)
    return count, newline + 2


def _read_bulks(
    buf: bytes, pos: int, argv: list[bytes], left: int, max_bulk: int
) -> tuple[int, int]:
    """Append to ``argv`` up to ``left`` bulk strings read from ``buf[pos:]``; return the new
    position and how many are still to come (more than 0 when ``buf`` ends first)."""
    size = len(buf)
    while left and pos < size:
        newline = buf.find(b"\r\n", pos)
        if newline < 0:
            if size - pos > INLINE_MAX_SIZE:
                raise errors.ProtocolError(errors.PROTO_TOO_BIG_BULK)
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


# Partial requests up to this size are checked against Redis's framing limits as they arrive.
_VALIDATE_PARTIAL_UP_TO: Final = 4 * INLINE_MAX_SIZE


def _encoded_length(argv: list[bytes]) -> int:
    """Bytes of ``argv`` as a canonical multibulk request (hiredis accepts only canonical ones)."""
    total = 3 + len(str(len(argv)))
    for arg in argv:
        size = len(arg)
        total += 5 + len(str(size)) + size
    return total


class RequestParser:
    """Incremental request parser for one connection.

    :meth:`feed` returns every complete command in the bytes received so far. When a request is
    malformed, the commands before it are still returned and :attr:`error` is set to Redis's
    message; the connection must reply with it and close. Requests Redis ignores (``*0``, an empty
    inline line) are never returned.

    How the fast path stays exact: the bytes given to hiredis are also kept in ``_chunks``,
    starting at the first request hiredis has not returned yet, until the stream is known to be
    at a request boundary. If hiredis stumbles (inline text after a multibulk request, a
    malformed request, RESP types other than bulk strings), the kept bytes are re-read by the slow
    path, skipping the commands already returned. The stream is taken to be at a boundary when
    the bytes end with the exact encoding of the last command returned (hiredis accepts only
    canonical encodings). A request whose payload ends with the encoding of the previous request,
    split at that very byte, could fool this; it would affect only how a *later malformed*
    request from that client is reported.
    """

    __slots__ = (
        "_chunks",
        "_mb_argv",
        "_mb_left",
        "_reader",
        "_slow",
        "error",
        "max_bulk",
        "max_query_buffer",
    )

    def __init__(
        self,
        max_bulk: int = DEFAULT_MAX_BULK_LENGTH,
        max_query_buffer: int = DEFAULT_MAX_QUERY_BUFFER,
    ) -> None:
        self._reader = hiredis.Reader()
        self._chunks: list[bytes] = []
        # Bytes not given to hiredis: the slow path's buffer (inline requests, malformed input).
        self._slow = b""
        # A multibulk request the slow path is in the middle of: elements so far, still to come.
        self._mb_argv: list[bytes] | None = None
        self._mb_left = 0
        self.error: str | None = None
        self.max_bulk = max_bulk
        self.max_query_buffer = max_query_buffer

    def pending_bytes(self) -> int:
        """Bytes received and kept for a request not yet complete (for the query-buffer limit)."""
        return len(self._slow) + sum(len(c) for c in self._chunks)

    def _check_query_buffer(self) -> None:
        if self.pending_bytes() > self.max_query_buffer:
            self.error = QUERY_BUFFER_OVERFLOW
            self._chunks.clear()
            self._slow = b""
            self._mb_argv = None

    def feed(self, data: bytes) -> list[list[bytes]]:
        commands: list[list[bytes]] = []
        if self.error is not None or not data:
            return commands
        if self._slow or self._mb_argv is not None or (not self._chunks and data[:1] != b"*"):
            self._slow_parse(self._slow + data, commands, skip=0)
        else:
            self._fast_parse(data, commands)
        return commands

    def _fast_parse(self, data: bytes, commands: list[list[bytes]]) -> None:
        if _HUGE_COUNT.search(data) is not None:
            # hiredis allocates a whole multibulk's list up front, so a header claiming billions
            # of elements would exhaust memory; such requests (or bytes that look like one) are
            # read by the slow path, which allocates as elements arrive.
            kept = b"".join(self._chunks) + data
            self._chunks.clear()
            self._reader = hiredis.Reader()
            self._slow_parse(kept, commands, skip=0)
            return
        reader = self._reader
        reader.feed(data)
        chunks = self._chunks
        chunks.append(data)
        first = len(commands)
        gets = reader.gets
        append = commands.append
        try:
            argv = gets()
            while argv is not False:
                if type(argv) is list and argv:
                    for arg in argv:
                        if type(arg) is not bytes:
                            break
                    else:
                        append(argv)
                        argv = gets()
                        continue
                # Not a plain command (an empty or negative count, or other RESP types): let
                # the slow path judge it exactly as Redis would.
                self._fall_back(commands, first)
                return
        except hiredis.ProtocolError:
            self._fall_back(commands, first)
            return
        if len(commands) > first:
            last = encode_command(commands[-1])
            tail = data if len(data) >= len(last) else b"".join(chunks)
            if tail.endswith(last):
                chunks.clear()
                return
            # A request is left partly read: keep only its bytes.
            consumed = sum(_encoded_length(argv) for argv in commands[first:])
            self._chunks = chunks = [b"".join(chunks)[consumed:]]
        elif len(chunks) % 64 == 0:
            # A big request arriving piece by piece; checked now and then, not on every read.
            self._check_query_buffer()
        if 1 < len(chunks) <= 4 and sum(map(len, chunks)) <= _VALIDATE_PARTIAL_UP_TO:
            self._chunks = chunks = [b"".join(chunks)]
        if len(chunks) == 1:
            # hiredis would wait for any count or length, and for a header line that never
            # ends; Redis refuses those at once. Checking the start of the partial request is
            # enough: a header line ends within INLINE_MAX_SIZE bytes or is refused.
            try:
                parse_one(chunks[0], 0, self.max_bulk)
            except NeedMore:
                pass
            except errors.ProtocolError as exc:
                self.error = exc.message
                chunks.clear()
                self._reader = hiredis.Reader()

    def _fall_back(self, commands: list[list[bytes]], first: int) -> None:
        joined = b"".join(self._chunks)
        skip = len(commands) - first
        self._chunks.clear()
        self._reader = hiredis.Reader()
        self._slow_parse(joined, commands, skip)

    def _slow_parse(self, buf: bytes, commands: list[list[bytes]], skip: int) -> None:
        # The first request after the skipped ones is always read here (the fast path refused it
        # or never saw it); after it, a well-formed multibulk request goes back to the fast path.
        # A multibulk request is read element by element and resumed when more bytes arrive,
        # so a huge one costs linear time however it is split.
        pos = 0
        size = len(buf)
        parsed_here = False
        try:
            while pos < size:
                if self._mb_argv is not None:
                    pos, self._mb_left = _read_bulks(
                        buf, pos, self._mb_argv, self._mb_left, self.max_bulk
                    )
                    if self._mb_left:
                        break
                    argv: list[bytes] | None = self._mb_argv
                    self._mb_argv = None
                elif buf[pos] == 0x2A:  # "*"
                    if parsed_here and not commands_need_slow(buf, pos):
                        self._slow = b""
                        self._fast_parse(buf[pos:], commands)
                        return
                    count, pos = _parse_count(buf, pos)
                    if count > 0:
                        self._mb_argv, self._mb_left = [], count
                    continue
                else:
                    argv, pos = _parse_inline(buf, pos)
                if skip:
                    skip -= 1
                    continue
                parsed_here = True
                if argv is not None:
                    commands.append(argv)
        except NeedMore:
            pass
        except errors.ProtocolError as exc:
            self.error = exc.message
            self._mb_argv = None
            self._slow = b""
            return
        self._slow = buf[pos:]
        if len(self._slow) > INLINE_MAX_SIZE:
            self._check_query_buffer()


def commands_need_slow(buf: bytes, pos: int) -> bool:
    """Whether the multibulk request at ``buf[pos]`` must be read by the slow path.

    hiredis reads ``*0``/``*-1`` and nested RESP types differently from Redis, and has no length
    limits; the slow path checks the header itself to keep those cases exact.
    """
    newline = buf.find(b"\r\n", pos, pos + 32)
    if newline < 0:
        return True
    count = strict_int(buf[pos + 1 : newline])
    return count is None or count <= 0 or count >= HUGE_MULTIBULK
