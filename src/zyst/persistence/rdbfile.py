"""Whole RDB files, as Redis 7.0 writes and reads them (``dump.rdb``, an AOF base file's RDB
preamble).

Layout written (version 10)::

    "REDIS0010"
    AUX redis-ver, redis-bits, ctime, used-mem, aof-base   (opcode 250, two strings each)
    FUNCTION2 code                                          (opcode 245, one per library)
    for each database that has keys:
        SELECTDB n                                          (opcode 254, a length)
        RESIZEDB keys keys-with-expiry                      (opcode 251, two lengths)
        for each key:
            [EXPIRETIME_MS t]                               (opcode 252, 8 bytes LE, Unix ms)
            [IDLE seconds]  under an LRU policy             (opcode 248, a length)
            [FREQ counter]  under an LFU policy             (opcode 249, one byte)
            type byte, key string, object                   (zyst.persistence.rdbvalues)
    EOF                                                     (opcode 255)
    CRC-64 of everything before, 8 bytes LE (0 when checksums are off)

Keys past their deadline are written like the others (the loader drops them). Loading reads
versions 1 to 10 (files of 6.2 are version 9; before version 5 there is no checksum), the old
EXPIRETIME opcode (253, seconds on 4 bytes) and the function format of 7.0's release
candidates (246); module data (247 and module values) and streams are refused. A zero
checksum is not checked, as in Redis. Reading stops right after the checksum, so the caller
can go on with what follows (an AOF base file's command part).
"""

from __future__ import annotations

import contextlib
import gc
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO, Final

from zyst import REDIS_VERSION, access
from zyst.encodings import Limits
from zyst.keyspace import Keyspace
from zyst.persistence.durable import fsync_dir
from zyst.persistence.rdb import (
    OPCODE_FUNCTION2,
    OPCODE_FUNCTION_PRE_GA,
    RDB_VERSION,
    RdbError,
    Reader,
    crc64,
    write_length,
    write_string,
)
from zyst.persistence.rdbvalues import (
    READABLE_TYPES,
    EmptyKeyError,
    read_object,
    unreadable_type,
    write_entry,
)

OPCODE_MODULE_AUX: Final = 247
OPCODE_IDLE: Final = 248
OPCODE_FREQ: Final = 249
OPCODE_AUX: Final = 250
OPCODE_RESIZEDB: Final = 251
OPCODE_EXPIRETIME_MS: Final = 252
OPCODE_EXPIRETIME: Final = 253
OPCODE_SELECTDB: Final = 254
OPCODE_EOF: Final = 255

# Bytes gathered before each write to the file (and progress report).
_FLUSH_AT: Final = 1 << 20
# Keys loaded between two progress reports.
_PROGRESS_KEYS: Final = 1024

_LRU_POLICIES: Final = frozenset({"volatile-lru", "allkeys-lru"})
_LFU_POLICIES: Final = frozenset({"volatile-lfu", "allkeys-lfu"})


@dataclass
class RdbLoadResult:
    """What :func:`load_rdb` read: keys stored, keys dropped as past their deadline, empty
    collections skipped, bytes consumed (header to checksum), the RDB version and the AUX
    fields."""

    keys_loaded: int = 0
    keys_expired: int = 0
    empty_keys_skipped: int = 0
    bytes_read: int = 0
    version: int = 0
    aux: dict[bytes, bytes] = field(default_factory=dict)


# -- writing ---------------------------------------------------------------------------------
def write_rdb(
    fileobj: BinaryIO,
    keyspace: Keyspace,
    libraries: Sequence[bytes],
    *,
    compress: bool = True,
    checksum: bool = True,
    aof_base: bool = False,
    policy: str = "noeviction",
    progress: Callable[[int], None] | None = None,
    limits: Limits | None = None,
    aux: Sequence[tuple[bytes, bytes]] = (),
) -> int:
    """Write the whole RDB of ``keyspace`` and the function ``libraries`` to ``fileobj``;
    returns the bytes written. ``compress``: ``rdbcompression``; ``checksum``:
    ``rdbchecksum``; ``aof_base``: the file is an AOF base (its ``aof-base`` AUX field);
    ``aux``: more AUX fields (the replication ones: ``repl-stream-db``, ``repl-id``, ...);
    ``policy``: ``maxmemory-policy``, which decides whether each key's idle time or access
    frequency goes with it; ``limits``: the encoding thresholds (Redis's defaults if None);
    ``progress`` is called with the bytes written so far after each chunk."""
    if limits is None:
        limits = _default_limits()
    collecting = gc.isenabled()
    gc.disable()  # nothing made here lives on: the collector would only walk the keyspace
    try:
        return _write(
            *(fileobj, keyspace, libraries, compress, checksum, aof_base, policy, progress),
            *(limits, aux),
        )
    finally:
        if collecting:
            gc.enable()


def _write(
    fileobj: BinaryIO,
    keyspace: Keyspace,
    libraries: Sequence[bytes],
    compress: bool,
    checksum: bool,
    aof_base: bool,
    policy: str,
    progress: Callable[[int], None] | None,
    limits: Limits,
    aux: Sequence[tuple[bytes, bytes]],
) -> int:
    out = bytearray(b"REDIS%04d" % RDB_VERSION)
    _aux(out, b"redis-ver", REDIS_VERSION.encode())
    _aux(out, b"redis-bits", b"64")
    _aux(out, b"ctime", b"%d" % int(time.time()))
    _aux(out, b"used-mem", b"%d" % _used_memory())
    _aux(out, b"aof-base", b"1" if aof_base else b"0")
    for field_name, field_value in aux:  # (names of their own: mypyc types each local once)
        _aux(out, field_name, field_value)
    for code in libraries:
        out.append(OPCODE_FUNCTION2)
        write_string(out, code, compress)
    lru = policy in _LRU_POLICIES
    lfu = policy in _LFU_POLICIES
    clock = keyspace.clock() // 1000
    decay = keyspace.lfu_decay_time
    crc = 0
    written = 0
    for db in keyspace.dbs:
        data = db.data
        if not data:
            continue
        out.append(OPCODE_SELECTDB)
        write_length(out, db.index)
        out.append(OPCODE_RESIZEDB)
        write_length(out, len(data))
        expires = db.expires
        write_length(out, len(expires))
        clocks = db.access
        for key, value in data.items():
            if expires:
                when = expires.get(key)
                if when is not None:
                    out.append(OPCODE_EXPIRETIME_MS)
                    out += when.to_bytes(8, "little", signed=True)
            if lru:
                out.append(OPCODE_IDLE)
                write_length(out, access.idle_seconds(clocks.get(key, clock), clock))
            elif lfu:
                out.append(OPCODE_FREQ)
                stamp = clocks.get(key)
                out.append(
                    access.LFU_INIT_VAL
                    if stamp is None
                    else access.lfu_counter(stamp, clock, decay)
                )
            if type(value) is bytes:
                out.append(0)
                write_string(out, key, compress)
                write_string(out, value, compress)
            else:
                write_entry(out, key, value, limits, compress)
            if len(out) >= _FLUSH_AT:
                if checksum:
                    crc = crc64(out, crc)
                fileobj.write(out)
                written += len(out)
                out = bytearray()
                if progress is not None:
                    progress(written)
    out.append(OPCODE_EOF)
    if checksum:
        crc = crc64(out, crc)
    out += crc.to_bytes(8, "little")
    fileobj.write(out)
    written += len(out)
    if progress is not None:
        progress(written)
    return written


def save_rdb_file(
    path: str,
    keyspace: Keyspace,
    libraries: Sequence[bytes],
    *,
    compress: bool = True,
    checksum: bool = True,
    aof_base: bool = False,
    policy: str = "noeviction",
    progress: Callable[[int], None] | None = None,
    limits: Limits | None = None,
    aux: Sequence[tuple[bytes, bytes]] = (),
) -> int:
    """:func:`write_rdb` into ``path`` safely: written to ``temp-<pid>.rdb`` beside it, fsynced,
    renamed over ``path``, the directory fsynced; returns the size. On any failure the
    temporary file is removed, ``path`` is untouched and the error raised."""
    directory = os.path.dirname(path) or "."
    temp = os.path.join(directory, f"temp-{os.getpid()}.rdb")
    try:
        with open(temp, "wb") as out:
            size = write_rdb(
                out,
                keyspace,
                libraries,
                compress=compress,
                checksum=checksum,
                aof_base=aof_base,
                policy=policy,
                progress=progress,
                limits=limits,
                aux=aux,
            )
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    fsync_dir(directory)
    return size


def _aux(out: bytearray, name: bytes, value: bytes) -> None:
    out.append(OPCODE_AUX)
    write_string(out, name)
    write_string(out, value)


def _used_memory() -> int:
    """The resident set size, as INFO's used_memory reports it."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _default_limits() -> Limits:
    from zyst.config import Config

    return Limits(Config())


# -- reading ---------------------------------------------------------------------------------
def load_rdb(
    fileobj: BinaryIO,
    keyspace: Keyspace,
    on_library: Callable[[bytes], None],
    *,
    progress: Callable[[int], None] | None = None,
    keep_expired: bool | None = None,
) -> RdbLoadResult:
    """Load one RDB from ``fileobj``'s position into ``keyspace``, giving each function
    library's code to ``on_library``; the file is left right after the checksum.

    Keys past their deadline are dropped and counted, except in an AOF base (``keep_expired``,
    or when None the file's ``aof-base`` / ``aof-preamble`` AUX field): its command part
    expects the data as it was. Empty collections are skipped (counted). Raises
    :class:`RdbError` (``.offset``: where in the RDB) on anything invalid: bad header,
    unknown opcode or type, a database number past ``keyspace``'s, a key twice, a truncated
    file, a wrong checksum; what was loaded before the error stays in ``keyspace``.

    The cyclic garbage collector is paused while loading, and what is alive at the end is
    frozen (``gc.freeze``), the loaded data with it, when the collector was on."""
    reader = Reader(fileobj=fileobj)
    # The cyclic collector would walk every collection loaded so far, again and again as they
    # pile up (loading a million keys took five times as long with it on); nothing made here
    # is garbage in a cycle. Once loaded, the dataset goes to the collector's permanent
    # generation, as the server puts its data after loading: otherwise the first collection
    # after this (of the youngest generation, which now holds every object loaded) would walk
    # all of it once more, a quarter of the load's time.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _load(reader, keyspace, on_library, progress, keep_expired)
    finally:
        if collecting:
            gc.freeze()
            gc.enable()
        extra = len(reader.unread())
        if extra and fileobj.seekable():  # (a stream that cannot seek keeps what was read)
            fileobj.seek(-extra, os.SEEK_CUR)


def _load(
    reader: Reader,
    keyspace: Keyspace,
    on_library: Callable[[bytes], None],
    progress: Callable[[int], None] | None,
    keep_expired: bool | None,
) -> RdbLoadResult:
    result = RdbLoadResult()
    magic = reader.take(9)
    if magic[:5] != b"REDIS":
        raise RdbError("wrong signature, not an RDB file", 0)
    digits = magic[5:]
    version = int(digits) if digits.isdigit() else 0
    if version < 1 or version > RDB_VERSION:
        raise RdbError(f"can't handle RDB format version {digits.decode('latin-1')}", 5)
    result.version = version
    now = keyspace.clock()
    clock = keyspace.lru_clock
    lfu = keyspace.lfu
    stamp = keyspace.lru_stamp
    fresh = access.lfu_new(clock) if lfu else stamp
    minutes = access.lfu_minutes(clock) << 8
    dbs = keyspace.dbs
    db = dbs[0]
    data = db.data
    expires = db.expires
    clocks = db.access
    expire_at = -1
    idle = -1
    freq = -1
    keep = keep_expired
    read_byte = reader.read_byte
    read_string = reader.read_string
    countdown = _PROGRESS_KEYS
    while True:
        start = reader.offset
        kind = read_byte()
        if kind >= OPCODE_FUNCTION2:
            if kind == OPCODE_EXPIRETIME_MS:
                expire_at = int.from_bytes(reader.take(8), "little", signed=True)
            elif kind == OPCODE_EOF:
                break
            elif kind == OPCODE_SELECTDB:
                index = reader.read_length()
                if index >= len(dbs):
                    raise RdbError(
                        f"the file has database {index}, this server has {len(dbs)}", start
                    )
                db = dbs[index]
                data = db.data
                expires = db.expires
                clocks = db.access
            elif kind == OPCODE_RESIZEDB:
                reader.read_length()
                reader.read_length()
            elif kind == OPCODE_AUX:
                name = read_string()
                result.aux[name] = read_string()
                if keep is None and name in (b"aof-base", b"aof-preamble"):
                    keep = result.aux[name] not in (b"0", b"")
            elif kind == OPCODE_IDLE:
                idle = reader.read_length()
            elif kind == OPCODE_FREQ:
                freq = read_byte()
            elif kind == OPCODE_EXPIRETIME:
                expire_at = int.from_bytes(reader.take(4), "little", signed=True) * 1000
            elif kind in (OPCODE_FUNCTION2, OPCODE_FUNCTION_PRE_GA):
                code = read_string() if kind == OPCODE_FUNCTION2 else _pre_ga_library(reader)
                try:
                    on_library(code)
                except RdbError as exc:
                    # A library the server refuses: the error is where its entry starts.
                    if exc.offset < 0:
                        exc.offset = start
                    raise
            else:
                raise RdbError("module data is not supported", start)
            continue
        if kind not in READABLE_TYPES:
            raise RdbError(unreadable_type(kind), start)
        key = read_string()
        try:
            value = read_string() if kind == 0 else read_object(reader, kind)
        except EmptyKeyError:
            result.empty_keys_skipped += 1
            expire_at = idle = freq = -1
            continue
        if expire_at != -1 and expire_at < now and not keep:
            result.keys_expired += 1
            expire_at = idle = freq = -1
            continue
        size = len(data)
        data.setdefault(key, value)  # (one lookup in the big table, not two)
        if len(data) == size:
            raise RdbError(f"duplicate key {key!r} in database {db.index}", start)
        if expire_at != -1:
            expires[key] = expire_at
        if lfu:
            clocks[key] = minutes | freq if freq >= 0 else fresh
        elif idle >= 0:
            clocks[key] = clock - idle if idle < clock else 0
        else:
            clocks[key] = stamp
        expire_at = idle = freq = -1
        if db.scan_log is not None:
            db.scan_log.add(key, data)
        result.keys_loaded += 1
        countdown -= 1
        if countdown == 0:
            countdown = _PROGRESS_KEYS
            if progress is not None:
                progress(reader.offset)
    if version >= 5:
        expected = reader.checksum()
        stated = int.from_bytes(reader.take(8), "little")
        if stated != 0 and stated != expected:
            raise RdbError("wrong RDB checksum", reader.offset - 8)
    result.bytes_read = reader.offset
    if progress is not None:
        progress(result.bytes_read)
    return result


def _pre_ga_library(reader: Reader) -> bytes:
    """A library in 7.0 release candidates' format, as the code 7.0 keeps."""
    name = reader.read_string()
    engine = reader.read_string()
    if reader.read_length():
        reader.read_string()  # the description, no longer kept
    code = reader.read_string()
    return b"#!%s name=%s\n%s" % (engine, name, code)
