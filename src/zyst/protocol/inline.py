"""Splitting an inline request line into arguments, by the rules of Redis's ``sdssplitargs``.

Syntax of a line: arguments separated by white space; an argument may be

- bare: a run of bytes ended by a space, tab, CR, LF or the end of the line;
- double-quoted: ``"..."`` with escapes ``\\xHH`` (two hex digits), ``\\n \\r \\t \\b \\a``, and
  ``\\<c>`` for any other byte ``c`` (so ``\\"`` and ``\\\\``);
- single-quoted: ``'...'`` where only ``\\'`` is an escape;
- or bare bytes followed by one quoted part (``a"b c"`` is ``ab c``), which ends the argument.

Two sets of white space are at work, as in Redis: before an argument, and after a closing quote,
white space is C's ``isspace`` (space, ``\\t \\n \\v \\f \\r``); but only space, tab, CR and LF end
a bare argument. So a vertical tab or form feed is skipped where an argument starts and is part
of the argument anywhere else (``SET a\\vb 1`` sets the key ``a\\vb``; ``ECHO x\\f`` echoes
``x\\f``).

A closing quote must be followed by white space or the end of the line, and every opened quote
must be closed; otherwise the line is invalid and :func:`split_args` returns ``None``. The line is
a C string to Redis: a NUL byte ends it.
"""

from __future__ import annotations

# C's isspace() in the C locale (Redis never sets LC_CTYPE): skipped before an argument.
_BLANK = frozenset(b" \t\n\v\f\r")
# What ends a bare argument (NUL aside, which ends the whole line).
_END = frozenset(b" \t\n\r")
_ESCAPES = {ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t", ord("b"): b"\b", ord("a"): b"\a"}
_HEX = frozenset(b"0123456789abcdefABCDEF")


def split_args(line: bytes) -> list[bytes] | None:
    """The arguments of an inline request, or ``None`` when its quotes are unbalanced or a
    closing quote is followed by something other than white space."""
    # Without quotes, vertical tabs, form feeds or NUL, every white space byte separates
    # arguments, which is what bytes.split() does. (The bytes are looked for as ints: a
    # one-byte bytes operand makes ``in`` try it as an int first, and raise and clear an
    # exception, before it searches.)
    if 0x22 in line or 0x27 in line or 0x0B in line or 0x0C in line or 0 in line:
        return _split_slowly(line)
    return line.split()


def _split_slowly(line: bytes) -> list[bytes] | None:
    nul = line.find(b"\0")
    if nul >= 0:
        line = line[:nul]
    args: list[bytes] = []
    pos = 0
    size = len(line)
    while True:
        while pos < size and line[pos] in _BLANK:
            pos += 1
        if pos >= size:
            return args
        current = bytearray()
        while pos < size:
            char = line[pos]
            if char in _END:
                break
            if char == 0x22:  # '"'
                pos = _double_quoted(line, pos + 1, current)
                break
            if char == 0x27:  # "'"
                pos = _single_quoted(line, pos + 1, current)
                break
            current.append(char)
            pos += 1
        if pos < 0:
            return None
        args.append(bytes(current))


def _double_quoted(line: bytes, pos: int, current: bytearray) -> int:
    """Append the double-quoted text starting at ``line[pos]`` (after the opening quote) to
    ``current``; the position after the closing quote, or -1 when the text is invalid."""
    size = len(line)
    while pos < size:
        char = line[pos]
        if char == 0x5C and pos + 1 < size:  # a backslash with something after it
            following = line[pos + 1]
            if (
                following == 0x78  # "x"
                and pos + 3 < size
                and line[pos + 2] in _HEX
                and line[pos + 3] in _HEX
            ):
                current.append(int(line[pos + 2 : pos + 4], 16))
                pos += 4
            else:
                current += _ESCAPES.get(following, bytes((following,)))
                pos += 2
        elif char == 0x22:  # '"'
            return _after_closing_quote(line, pos)
        else:
            current.append(char)
            pos += 1
    return -1


def _single_quoted(line: bytes, pos: int, current: bytearray) -> int:
    """As :func:`_double_quoted`, for single quotes: only ``\\'`` is an escape."""
    size = len(line)
    while pos < size:
        char = line[pos]
        if char == 0x5C and pos + 1 < size and line[pos + 1] == 0x27:
            current.append(0x27)
            pos += 2
        elif char == 0x27:
            return _after_closing_quote(line, pos)
        else:
            current.append(char)
            pos += 1
    return -1


def _after_closing_quote(line: bytes, pos: int) -> int:
    """The position after the closing quote at ``line[pos]``, or -1 when what follows it is
    neither white space nor the end of the line (``"a"b``)."""
    pos += 1
    if pos < len(line) and line[pos] not in _BLANK:
        return -1
    return pos


def quote(value: bytes) -> bytes:
    """``value`` in double quotes with C escapes, as Redis's ``sdscatrepr`` writes it (and
    :func:`split_args` reads it back): CONFIG REWRITE's values, the AOF manifest's names."""
    out = bytearray(b'"')
    for byte in value:
        if byte in b'\\"':
            out += b"\\%c" % byte
        elif byte in _NAMED_ESCAPES:
            out += _NAMED_ESCAPES[byte]
        elif 0x20 <= byte < 0x7F:
            out.append(byte)
        else:
            out += b"\\x%02x" % byte
    out += b'"'
    return bytes(out)


_NAMED_ESCAPES = {
    ord("\n"): b"\\n",
    ord("\r"): b"\\r",
    ord("\t"): b"\\t",
    ord("\a"): b"\\a",
    ord("\b"): b"\\b",
}
