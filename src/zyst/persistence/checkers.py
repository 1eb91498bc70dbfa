"""Offline checks of persistence files: ``zyst check-aof`` and ``zyst check-rdb``.

Syntax::

    zyst check-aof [--fix] [--yes] FILE|DIR
    zyst check-rdb FILE

They behave as Redis 7.0's ``redis-check-aof`` and ``redis-check-rdb`` do, on Redis's files and
Zyst's: they say whether a file is valid and, when it is not, the offset where reading went wrong
and why. Exit status 0 means valid (or fixed, or empty); 1 means not valid, a fix refused or
impossible, or a file that cannot be read.

check-aof
    ``FILE`` is a plain AOF (Redis <= 6 style, or Zyst's), an AOF whose start is an RDB (an RDB
    preamble, or the base file of a multi-part AOF), or the manifest of a multi-part AOF;
    ``DIR`` is a Redis 7 ``appendonlydir`` (the manifest in it is found by its ``.manifest``
    suffix). Every file the manifest lists (the base, then the incr files in order) is checked;
    history files are not.

    An AOF part is read as Zyst's loader (:mod:`zyst.persistence.aof`) reads it: only canonical
    RESP multibulk commands (no leading zeros, no empty command, CRLF after every bulk string),
    ``#`` annotation lines, ``MULTI`` ... ``EXEC`` not nested, ``SELECT`` with a valid index.
    The report line gives the file's ``size``, ``ok_up_to`` (the end of its last whole command
    outside a transaction: what Zyst would keep), ``ok_up_to_line`` (Redis's line counter where
    reading stopped: one more than the CRLFs read; in a directory it runs on from file to file,
    as if they were one) and ``diff`` (the bytes after ok_up_to).

    ``--fix`` cuts the file to ``ok_up_to`` after asking (``Continue? [y/N]``, from stdin;
    ``--yes`` answers yes). In a multi-part AOF only the last incr file may be cut, as Redis
    allows: an earlier file that is not valid cannot be fixed this way. An RDB part that is not
    valid is never fixed.

check-rdb
    Reads the whole RDB (every value decoded, the checksum compared) with Zyst's RDB loader and
    reports the offset of the first byte it could not accept.

Messages are this module's own words; the facts (offsets, sizes, counts) and the exit statuses
are Redis's.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Final, TextIO

from zyst.keyspace import Keyspace
from zyst.persistence import manifest as manifests
from zyst.persistence.aof import truncate_file
from zyst.persistence.rdb import RdbError
from zyst.persistence.rdbfile import RdbLoadResult, load_rdb

__all__ = [
    "AofScan",
    "check_aof_main",
    "check_rdb",
    "check_rdb_main",
    "scan_aof",
]

# A canonical count line: what the writer emits and the loader accepts.
_ARRAY: Final = re.compile(rb"\*([1-9][0-9]{0,18})\r\n")
_BULK: Final = re.compile(rb"\$(0|[1-9][0-9]{0,18})\r\n")
_MAX_DIGITS: Final = 19
_RDB_MAGIC: Final = b"REDIS"
_MANIFEST_SUFFIX: Final = ".manifest"
_TEMP_PREFIX: Final = "temp-"
# The databases a checked RDB is loaded into (Redis's default count); a file with more is
# loaded again into as many as it names.
_DATABASES: Final = 16
_MORE_DATABASES: Final = re.compile(r"the file has database (\d+)")

AOF_USAGE: Final = "Usage: zyst check-aof [--fix] [--yes] <file.aof|file.manifest|appendonlydir>"
RDB_USAGE: Final = "Usage: zyst check-rdb <file.rdb>"

Buffer = bytes | bytearray | mmap.mmap


# -- the AOF part --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class AofScan:
    """What :func:`scan_aof` found in ``data[start:]``.

    ``ok_up_to`` is the offset after the last whole command that is not inside an unfinished
    transaction (where a fix cuts); ``bad_offset`` and ``reason`` say where and why reading
    stopped before the end (both None for a valid part). ``line`` is Redis's line counter
    where reading stopped."""

    size: int
    ok_up_to: int
    line: int
    bad_offset: int | None
    reason: str | None

    @property
    def valid(self) -> bool:
        return self.ok_up_to == self.size

    @property
    def diff(self) -> int:
        return self.size - self.ok_up_to


class _Stop(Exception):
    """Reading stops at ``offset``: a byte no valid file has there, or the end of the file."""

    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(reason)
        self.offset = offset
        self.reason = reason


def scan_aof(data: Buffer, start: int = 0, line: int = 1) -> AofScan:
    """Check the AOF commands in ``data`` from ``start`` to its end (no I/O, nothing replayed);
    ``line`` is the line counter's value at ``start``."""
    scanner = _Scanner(data, line)
    size = len(data)
    pos = ok = start
    multi_at = -1
    try:
        while pos < size:
            first = data[pos]
            if first == 0x2A:  # '*'
                begin = pos
                name, pos = scanner.command(pos)
                if name == b"multi":
                    if multi_at >= 0:
                        raise _Stop(begin, "MULTI inside a transaction")
                    multi_at = begin
                elif name == b"exec":
                    if multi_at < 0:
                        raise _Stop(begin, "EXEC without MULTI")
                    multi_at = -1
            elif first == 0x23:  # '#': an annotation line (Redis 7's #TS:...)
                newline = data.find(b"\n", pos)
                if newline < 0:
                    raise _Stop(pos, "the file ends inside an annotation line")
                pos = newline + 1
                scanner.line += 1
            else:
                raise _Stop(pos, f"expected '*' or '#', got {_show(data, pos)}")
            if multi_at < 0:
                ok = pos
        if multi_at >= 0:
            raise _Stop(size, f"the file ends before the EXEC of the MULTI at offset {multi_at}")
    except _Stop as stop:
        return AofScan(size, ok, scanner.line, stop.offset, stop.reason)
    return AofScan(size, ok, scanner.line, None, None)


class _Scanner:
    """Reads one command at a time; ``line`` counts the CRLFs read, from 1 (Redis's way)."""

    def __init__(self, data: Buffer, line: int) -> None:
        self.data = data
        self.size = len(data)
        self.line = line

    def command(self, pos: int) -> tuple[bytes, int]:
        """Read the command at ``pos``: ``(lower-cased name if special, end offset)``."""
        data = self.data
        begin = pos
        match = _ARRAY.match(data, pos)
        if match is None:
            self._bad_count(pos, 0x2A, positive=True)
        assert match is not None
        argc = int(match.group(1))
        pos = match.end()
        self.line += 1
        name = b""
        argv1 = b""
        for index in range(argc):
            match = _BULK.match(data, pos)
            if match is None:
                self._bad_count(pos, 0x24, positive=False)
            assert match is not None
            length = int(match.group(1))
            self.line += 1
            first = match.end()
            end = first + length
            if data[end : end + 2] != b"\r\n":
                self._bad_bulk_end(first, end, length)
            if index == 0 and length <= 6:
                name = bytes(data[first:end]).lower()
            elif index == 1 and name == b"select":
                argv1 = bytes(data[first:end])
            pos = end + 2
            self.line += 1
        if name == b"select" and (argc != 2 or not argv1.isdigit() or len(argv1) > 10):
            raise _Stop(begin, "SELECT without a valid database index")
        return name, pos

    def _bad_count(self, pos: int, prefix: int, positive: bool) -> None:
        """Say what is wrong with the count line at ``pos`` (one a regex did not accept)."""
        data, size = self.data, self.size
        want = chr(prefix)
        if pos >= size:
            raise _Stop(pos, f"the file ends where a '{want}' line should start")
        if data[pos] != prefix:
            raise _Stop(pos, f"expected '{want}', got {_show(data, pos)}")
        at = pos + 1
        while at < size and at - pos <= _MAX_DIGITS and 0x30 <= data[at] <= 0x39:
            at += 1
        digits = bytes(data[pos + 1 : at])
        if at - pos > _MAX_DIGITS:
            raise _Stop(pos + 1, f"a '{want}' count of more than {_MAX_DIGITS - 1} digits")
        if digits.startswith(b"0") and (positive or len(digits) > 1):
            what = "an empty command" if digits == b"0" else "a count with a leading zero"
            raise _Stop(pos + 1, what)
        if at >= size:
            raise _Stop(pos, f"the file ends inside a '{want}' line")
        if not digits:
            raise _Stop(at, f"expected a digit after '{want}', got {_show(data, at)}")
        if data[at] != 0x0D:
            raise _Stop(at, f"expected CRLF after the count, got {_show(data, at)}")
        if at + 1 >= size:
            raise _Stop(pos, f"the file ends inside a '{want}' line")
        raise _Stop(at + 1, f"expected CRLF after the count, got {_show(data, at + 1)}")

    def _bad_bulk_end(self, first: int, end: int, length: int) -> None:
        """The bulk string of ``length`` bytes at ``first`` is not followed by CRLF."""
        data, size = self.data, self.size
        for at, want in ((end, 0x0D), (end + 1, 0x0A)):
            if at >= size:
                raise _Stop(
                    first,
                    f"the file ends inside a bulk string of {length} bytes and its CRLF "
                    f"({size - first} bytes left)",
                )
            if data[at] != want:
                raise _Stop(
                    at,
                    f"expected CRLF after a bulk string of {length} bytes, got {_show(data, at)}",
                )
        raise AssertionError("the bulk string ends with CRLF")  # pragma: no cover


def _show(data: Buffer, at: int) -> str:
    return repr(bytes(data[at : at + 1]))[1:]


# -- the manifest of a multi-part AOF ------------------------------------------------------
def _is_manifest(path: str) -> bool:
    """Whether the first line that is not a comment starts with ``file``. (Redis looks for
    such a line anywhere in the file, so an AOF holding a value that starts a line with
    ``file`` passes for a manifest; here an AOF's first command decides.)"""
    with open(path, "rb") as file:
        for line in file:
            if not line.startswith(b"#"):
                return line.startswith(b"file")
    return False


def _find_manifest(directory: str) -> str:
    names = sorted(
        name
        for name in os.listdir(directory)
        if name.endswith(_MANIFEST_SUFFIX) and not name.startswith(_TEMP_PREFIX)
    )
    if len(names) != 1:
        found = ", ".join(names) if names else "none"
        raise _Abort(f"Expected one manifest (*{_MANIFEST_SUFFIX}) in {directory}, found {found}")
    return os.path.join(directory, names[0])


# -- the RDB part ------------------------------------------------------------------------
def load_for_check(file: BinaryIO) -> tuple[RdbLoadResult, Keyspace]:
    """Read the RDB at ``file``'s position to its checksum; RdbError with the offset (from that
    position) of the first byte found wrong."""
    start = file.tell()
    databases = _DATABASES
    while True:
        keyspace = Keyspace(databases)
        try:
            return load_rdb(file, keyspace, lambda code: None), keyspace
        except RdbError as exc:
            more = _MORE_DATABASES.match(str(exc))
            if more is None or databases > _DATABASES:
                raise
            databases = int(more.group(1)) + 1
            file.seek(start)


def check_rdb(file: BinaryIO, name: str, out: TextIO) -> int | None:
    """Check the RDB at the start of ``file`` and report as redis-check-rdb does; return the
    offset after its checksum, or None when it is not valid."""

    def say(offset: int, text: str) -> None:
        print(f"[offset {offset}] {text}", file=out, flush=True)

    say(0, f"Checking RDB file {name}")
    try:
        result, keyspace = load_for_check(file)
    except RdbError as exc:
        print("--- RDB ERROR DETECTED ---", file=out)
        say(max(exc.offset, 0), str(exc))
        return None
    end = result.bytes_read
    for field, value in result.aux.items():
        print(f"AUX FIELD {_text(field)} = '{_text(value)}'", file=out)
    if result.version >= 5:
        file.seek(end - 8)
        if file.read(8) == bytes(8):
            say(end, "RDB file was saved with checksum disabled: no check performed.")
        else:
            say(end, "Checksum OK")
    say(end, "\\o/ RDB looks OK! \\o/")
    expires = sum(len(db.expires) for db in keyspace.dbs)
    read = result.keys_loaded + result.keys_expired + result.empty_keys_skipped
    print(f"[info] {read} keys read", file=out)
    print(f"[info] {expires + result.keys_expired} expires", file=out)
    print(f"[info] {result.keys_expired} already expired", file=out, flush=True)
    return end


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "backslashreplace")


def check_rdb_main(args: list[str], out: TextIO) -> int:
    """``zyst check-rdb`` with ``args`` (after the subcommand); returns the exit status."""
    if len(args) != 1 or args[0].startswith("-"):
        print(RDB_USAGE, file=out)
        return 1
    try:
        file = open(args[0], "rb")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        print(f"Cannot open the file {args[0]}: {exc.strerror}", file=out)
        return 1
    with file:
        return 0 if check_rdb(file, args[0], out) is not None else 1


# -- the command ---------------------------------------------------------------------------
class _Abort(Exception):
    """Print the message and exit with status 1."""


class _AofChecker:
    def __init__(self, fix: bool, yes: bool, stdin: TextIO, out: TextIO) -> None:
        self.fix = fix
        self.yes = yes
        self.stdin = stdin
        self.out = out
        # Redis's line counter, which goes on across the files of a directory.
        self.line = 1

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def check(self, path: str) -> None:
        try:
            manifest = _is_manifest(path) if not os.path.isdir(path) else False
        except OSError as exc:
            raise _Abort(f"Cannot open the file {path}: {exc.strerror}, aborting") from None
        if os.path.isdir(path):
            self.check_multi_part(_find_manifest(path))
        elif manifest:
            self.check_multi_part(path)
        else:
            self.say(f"Checking the AOF file {path}")
            state = self.check_file(path, path, last=True)
            self.say(f"AOF {path} {state}")

    def check_multi_part(self, manifest: str) -> None:
        directory = os.path.dirname(manifest) or "."
        self.say(f"Checking the multi-part AOF of manifest {manifest}")
        try:
            with open(manifest, "rb") as file:
                listing = manifests.parse(file.read())
        except manifests.ManifestError as exc:
            where = "" if exc.line_number is None else f" (line {exc.line_number})"
            raise _Abort(f"The manifest {manifest} is not valid: {exc.reason}{where}") from None
        except OSError as exc:
            raise _Abort(f"Cannot read the manifest {manifest}: {exc.strerror}") from None
        # The files Redis loads, in order: the base, then the incr files (history is not).
        parts = listing.live_files()
        for number, part in enumerate(parts, 1):
            role = "BASE" if part.type == manifests.BASE else "INCR"
            path = os.path.join(directory, part.name)
            self.say(f"Checking the {role} AOF {part.name}")
            state = self.check_file(part.name, path, last=number == len(parts))
            self.say(f"{role} AOF {part.name} {state}")
        self.say("The manifest and all the AOF files it lists are valid")

    def check_file(self, name: str, path: str, last: bool) -> str:
        """Check one AOF file (RDB part first if it starts like an RDB); return its state
        ("is valid", "is empty", "was truncated") or raise _Abort."""
        try:
            file = open(path, "r+b" if self.fix else "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise _Abort(f"Cannot open the file {path}: {exc.strerror}, aborting") from None
        with file:
            size = os.fstat(file.fileno()).st_size
            if size == 0:
                return "is empty"
            start = 0
            if size >= 8 and file.read(len(_RDB_MAGIC)) == _RDB_MAGIC:
                file.seek(0)
                start = self.check_rdb_part(name, file)
            with _mapped(file.fileno(), size) as data:
                scan = scan_aof(data, start, self.line)
        self.line = scan.line
        if scan.bad_offset is not None:
            self.say(f"0x{scan.bad_offset:16x}: {scan.reason} (offset {scan.bad_offset})")
        self.say(
            f"AOF analyzed: filename={name}, size={scan.size}, ok_up_to={scan.ok_up_to}, "
            f"ok_up_to_line={scan.line}, diff={scan.diff}"
        )
        if scan.valid:
            return "is valid"
        if not self.fix:
            raise _Abort(f"AOF {name} is not valid. Use the --fix option to try fixing it.")
        if not last:
            raise _Abort(f"Cannot truncate AOF {name}: it is not the last file")
        self.say(
            f"This will shrink the AOF {name} from {scan.size} bytes, with {scan.diff} bytes, "
            f"to {scan.ok_up_to} bytes"
        )
        if not self.confirm():
            raise _Abort("Aborting...")
        try:
            truncate_file(path, scan.ok_up_to)
        except OSError as exc:
            raise _Abort(f"Failed to truncate AOF {name}: {exc.strerror}") from None
        return "was truncated"

    def confirm(self) -> bool:
        print("Continue? [y/N]: ", end="", file=self.out, flush=True)
        if self.yes:
            self.say("y (--yes)")
            return True
        answer = self.stdin.readline()
        if not self.stdin.isatty():
            self.say("")  # the answer was not echoed: end the prompt's line
        return answer[:1] in ("y", "Y")

    def check_rdb_part(self, name: str, file: BinaryIO) -> int:
        """Check the RDB at the start of ``file``; return where the AOF part begins."""
        end = check_rdb(file, name, self.out)
        if end is None:
            raise _Abort(f"The RDB part of AOF {name} is not valid, aborting")
        self.say("The RDB part is valid, going on with the AOF part...")
        return end


@contextlib.contextmanager
def _mapped(fd: int, size: int) -> Iterator[mmap.mmap]:
    mapped = mmap.mmap(fd, size, access=mmap.ACCESS_READ)
    try:
        yield mapped
    finally:
        mapped.close()


def check_aof_main(args: list[str], stdin: TextIO, out: TextIO) -> int:
    """``zyst check-aof`` with ``args`` (after the subcommand); returns the exit status."""
    options = [arg for arg in args if arg.startswith("--")]
    paths = [arg for arg in args if not arg.startswith("--")]
    if len(paths) != 1 or any(option not in ("--fix", "--yes") for option in options):
        print(AOF_USAGE, file=out)
        return 1
    checker = _AofChecker("--fix" in options, "--yes" in options, stdin, out)
    try:
        checker.check(paths[0])
    except _Abort as abort:
        checker.say(str(abort))
        return 1
    return 0
