"""Splitting an inline request line into arguments, by the rules of Redis's ``sdssplitargs``.

Syntax of a line: arguments separated by white space; an argument may be

- bare: any run of non-space bytes;
- double-quoted: ``"..."`` with escapes ``\\xHH`` (two hex digits), ``\\n \\r \\t \\b \\a``, and
  ``\\<c>`` for any other byte ``c`` (so ``\\"`` and ``\\\\``);
- single-quoted: ``'...'`` where only ``\\'`` is an escape.

A closing quote must be followed by white space or the end of the line, and every opened quote
must be closed; otherwise the line is invalid and :func:`split_args` returns ``None``.
"""

from __future__ import annotations

_SPACE = frozenset(b" \n\r\t\v\f")
_ESCAPES = {ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t", ord("b"): b"\b", ord("a"): b"\a"}
_HEX = frozenset(b"0123456789abcdefABCDEF")


def split_args(line: bytes) -> list[bytes] | None:
    """The arguments of an inline request, or ``None`` when its quotes are unbalanced."""
    if b'"' not in line and b"'" not in line:
        return line.split()
    args: list[bytes] = []
    pos = 0
    size = len(line)
    while True:
        while pos < size and line[pos] in _SPACE:
            pos += 1
        if pos >= size:
            return args
        current = bytearray()
        in_double = in_single = False
        while True:
            if in_double:
                if pos >= size:
                    return None
                char = line[pos]
                if (
                    char == 0x5C
                    and pos + 3 < size
                    and line[pos + 1] == ord("x")
                    and line[pos + 2] in _HEX
                    and line[pos + 3] in _HEX
                ):
                    current.append(int(line[pos + 2 : pos + 4], 16))
                    pos += 3
                elif char == 0x5C and pos + 1 < size:
                    pos += 1
                    current += _ESCAPES.get(line[pos], bytes((line[pos],)))
                elif char == ord('"'):
                    if pos + 1 < size and line[pos + 1] not in _SPACE:
                        return None
                    in_double = False
                    pos += 1
                    break
                else:
                    current.append(char)
            elif in_single:
                if pos >= size:
                    return None
                char = line[pos]
                if char == 0x5C and pos + 1 < size and line[pos + 1] == ord("'"):
                    pos += 1
                    current.append(ord("'"))
                elif char == ord("'"):
                    if pos + 1 < size and line[pos + 1] not in _SPACE:
                        return None
                    in_single = False
                    pos += 1
                    break
                else:
                    current.append(char)
            else:
                if pos >= size:
                    break
                char = line[pos]
                if char in _SPACE:
                    break
                if char == ord('"'):
                    in_double = True
                elif char == ord("'"):
                    in_single = True
                else:
                    current.append(char)
            pos += 1
        args.append(bytes(current))
