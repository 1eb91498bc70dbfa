"""The manifest of a multi-part AOF directory (Redis 7.0): which files make the dataset.

Format, one line per file, base first, then history, then incremental files in order::

    file appendonly.aof.1.base.rdb seq 1 type b
    file appendonly.aof.1.incr.aof seq 1 type i
    file appendonly.aof.2.incr.aof seq 2 type i

* ``type`` is ``b`` (the base: a dataset written by a rewrite, RDB or AOF format), ``i`` (an
  incremental file: commands appended after the base, loaded in order) or ``h`` (history: a
  file a later rewrite superseded, kept only until it is deleted; never loaded).
* A name that holds a space, a quote, a backslash or a byte that is not printable is written
  quoted and escaped (``"a b.aof"``, ``\\x01``), as Redis's ``sdscatrepr``; lines are split as
  ``sdssplitargs`` splits them. Keys are matched without regard to case; unknown keys are
  ignored (Redis reads them so, for forward compatibility), and a line needs at least three
  pairs.
* Lines starting with ``#`` are comments. Lines are read as ``fgets`` reads them into Redis's
  1024-byte buffer: a line of 1024 bytes or more (newline excluded) is an error, and so is a
  last line without its newline.

Invariants of a :class:`Manifest`: at most one base; incremental files in strictly rising
``seq`` order; ``base_seq``/``incr_seq`` are the highest sequence numbers handed out so far,
so a new file never reuses an old name.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from typing import Final

from zyst import errors
from zyst.protocol.inline import quote, split_args

BASE: Final = "b"
HISTORY: Final = "h"
INCR: Final = "i"

# fgets into a buffer of MANIFEST_MAX_LINE + 1 bytes reads at most this many bytes a call.
_FGETS_CHUNK: Final = 1024

# -- errors, as Redis words them (zyst.errors) ----------------------------------------------------
EMPTY: Final = errors.MANIFEST_EMPTY
TOO_LONG: Final = errors.MANIFEST_TOO_LONG
INVALID: Final = errors.MANIFEST_INVALID
PATH_NAME: Final = errors.MANIFEST_PATH_NAME
DUPLICATE_BASE: Final = errors.MANIFEST_DUPLICATE_BASE
NON_MONOTONIC: Final = errors.MANIFEST_NON_MONOTONIC
UNKNOWN_TYPE: Final = errors.MANIFEST_UNKNOWN_TYPE


class ManifestError(Exception):
    """The manifest cannot be read. ``line_number`` and ``line`` (trimmed) name where, when
    a line is to blame (``None`` for an empty manifest)."""

    def __init__(self, reason: str, line_number: int | None = None, line: bytes = b"") -> None:
        super().__init__(reason)
        self.reason = reason
        self.line_number = line_number
        self.line = line


@dataclass(frozen=True, slots=True)
class AofFile:
    """One line of the manifest."""

    name: str
    seq: int
    type: str


@dataclass(slots=True)
class Manifest:
    """The files of an AOF directory (see the module docstring for the invariants)."""

    base: AofFile | None = None
    history: list[AofFile] = field(default_factory=list)
    incrs: list[AofFile] = field(default_factory=list)
    base_seq: int = 0
    incr_seq: int = 0

    def copy(self) -> Manifest:
        return copy.deepcopy(self)

    def is_empty(self) -> bool:
        """No base and no incremental file: nothing to load."""
        return self.base is None and not self.incrs

    def live_files(self) -> list[AofFile]:
        """The files to load, in order: the base (if any), then the incremental files."""
        return ([self.base] if self.base is not None else []) + list(self.incrs)

    def new_base(self, prefix: str, rdb: bool) -> str:
        """Add a base named ``<prefix>.<seq>.base.rdb`` (``.aof`` unless ``rdb``) with the next
        base sequence number; the base it replaces becomes the first history file. Returns
        the new name."""
        if self.base is not None:
            self.history.insert(0, AofFile(self.base.name, self.base.seq, HISTORY))
        self.base_seq += 1
        suffix = ".rdb" if rdb else ".aof"
        name = f"{prefix}.{self.base_seq}.base{suffix}"
        self.base = AofFile(name, self.base_seq, BASE)
        return name

    def new_incr(self, prefix: str) -> str:
        """Append an incremental file ``<prefix>.<seq>.incr.aof``; returns its name."""
        self.incr_seq += 1
        name = f"{prefix}.{self.incr_seq}.incr.aof"
        self.incrs.append(AofFile(name, self.incr_seq, INCR))
        return name

    def last_incr(self) -> str | None:
        return self.incrs[-1].name if self.incrs else None

    def retire_incrs(self, keep_last: bool) -> None:
        """The incremental files a rewrite covered become history: all of them, or all but the
        last (the one still being written) when ``keep_last``."""
        kept = self.incrs[-1:] if keep_last else []
        retired = self.incrs[: len(self.incrs) - len(kept)]
        # Newest first at the head of the history list, as Redis adds each at the head.
        for info in retired:
            self.history.insert(0, AofFile(info.name, info.seq, HISTORY))
        self.incrs = kept

    def format(self) -> bytes:
        """The manifest file's bytes."""
        lines = [self.base] if self.base is not None else []
        lines += self.history + self.incrs
        return b"".join(_format_line(info) for info in lines)


def _format_line(info: AofFile) -> bytes:
    name = os.fsencode(info.name)
    shown = quote(name) if _needs_repr(name) else name
    return b"file %s seq %d type %s\n" % (shown, info.seq, info.type.encode())


def _needs_repr(name: bytes) -> bool:
    # sdsneedsrepr: anything but printable ASCII, and space, quote and backslash.
    return any(byte <= 0x20 or byte >= 0x7F or byte in b'"\\' for byte in name)


def _fgets_lines(data: bytes) -> list[bytes]:
    """``data`` cut as successive ``fgets`` calls into Redis's buffer return it."""
    pieces = []
    pos = 0
    while pos < len(data):
        newline = data.find(b"\n", pos, pos + _FGETS_CHUNK)
        end = newline + 1 if newline >= 0 else min(pos + _FGETS_CHUNK, len(data))
        pieces.append(data[pos:end])
        pos = end
    return pieces


def _atoll(text: bytes) -> int:
    """C's ``atoll``: leading white space, a sign, the digits that follow; 0 without any."""
    text = text.lstrip(b" \t\n\v\f\r")
    sign = 1
    if text[:1] in (b"+", b"-"):
        sign = -1 if text[:1] == b"-" else 1
        text = text[1:]
    digits = 0
    while digits < len(text) and 0x30 <= text[digits] <= 0x39:
        digits += 1
    return sign * int(text[:digits]) if digits else 0


def parse(data: bytes) -> Manifest:
    """Read a manifest as Redis 7.0 does; :class:`ManifestError` with Redis's reason."""
    manifest = Manifest()
    pieces = _fgets_lines(data)
    if not pieces:
        raise ManifestError(EMPTY)
    max_seq = 0
    for number, piece in enumerate(pieces, 1):
        if piece.startswith(b"#"):
            continue
        line = piece.strip(b" \t\r\n")
        if not piece.endswith(b"\n"):
            raise ManifestError(TOO_LONG, number, line)
        if not line:
            raise ManifestError(INVALID, number, line)
        argv = split_args(line)
        if argv is None or len(argv) < 6 or len(argv) % 2:
            raise ManifestError(INVALID, number, line)
        name: bytes | None = None
        seq = 0
        kind = b""
        for i in range(0, len(argv), 2):
            key = argv[i].lower()
            if key == b"file":
                name = argv[i + 1]
                if b"/" in name or b"\\" in name:
                    raise ManifestError(PATH_NAME, number, line)
            elif key == b"seq":
                seq = _atoll(argv[i + 1])
            elif key == b"type":
                kind = argv[i + 1][:1]
        # (C strings: a name or type that is empty, or starts with NUL, is missing.)
        if not name or name.startswith(b"\0") or not seq or not kind or kind == b"\0":
            raise ManifestError(INVALID, number, line)
        info = AofFile(os.fsdecode(name.split(b"\0", 1)[0]), seq, kind.decode("latin-1"))
        if info.type == BASE:
            if manifest.base is not None:
                raise ManifestError(DUPLICATE_BASE, number, line)
            manifest.base = info
            manifest.base_seq = seq
        elif info.type == HISTORY:
            manifest.history.append(info)
        elif info.type == INCR:
            if seq <= max_seq:
                raise ManifestError(NON_MONOTONIC, number, line)
            manifest.incrs.append(info)
            manifest.incr_seq = max_seq = seq
        else:
            raise ManifestError(UNKNOWN_TYPE, number, line)
    return manifest
