"""One AOF file: commands appended as they happen, replayed at startup.

File format
    RESP multibulk requests back to back, exactly as a client would send them::

        *2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n

    This is the format of each incremental file of Redis 7's multi-part AOF directory
    (:mod:`zyst.persistence.aofdir`), of a base written without an RDB preamble, and of the
    single file of Redis <= 6. A base written with ``aof-use-rdb-preamble yes`` is an RDB
    (starting ``REDIS``), possibly followed by commands: :func:`load_aof` hands that part to
    its ``preamble`` reader.

    * ``SELECT <db>`` sets the database of the commands after it. It is not a command the
      loader replays: it only changes the db index passed to ``apply``.
    * ``MULTI`` ... ``EXEC`` wraps a transaction. Its commands are replayed when ``EXEC`` is read,
      all together; a file that ends before ``EXEC`` loses the whole transaction.
    * A line starting with ``#`` is an annotation (Redis 7's ``#TS:<unix time>`` when
      ``aof-timestamp-enabled`` is on) and is skipped.

Invariants
    * The writer only ever appends, and only whole commands in canonical encoding (no leading
      zeros, every bulk string followed by CRLF). The first command a writer emits is preceded
      by ``SELECT``, so a file stays correct whatever was appended to it before.
    * A command is appended at most once: after a failed or partial ``write()``, the bytes not
      written stay buffered and the next :meth:`AofWriter.flush` continues where it stopped.
    * The loader accepts a command only if its bytes are exactly its canonical encoding, so
      ``AofLoadResult.bytes_loaded`` is an exact file offset. Only the *end* of a file may be
      incomplete (a crash in the middle of a write): the loader reports that as ``truncated``
      and leaves the file alone; the server cuts it with :func:`truncate_file` before
      appending again (Redis's ``aof-load-truncated yes``). Bytes that cannot be a command
      anywhere else raise :class:`AofCorruptError` naming the offset of the command.

Threads
    Everything runs on the event loop thread except the ``fsync`` started by
    :meth:`AofWriter.fsync_in_background` and the fsync and close of a file the writer left
    (:meth:`AofWriter.switch_file`), which run in one worker thread (like Redis's bio thread)
    so that a slow disk never stalls the event loop.
"""

from __future__ import annotations

import enum
import errno
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO, Final

import hiredis

from zyst import errors
from zyst.protocol.resp import NeedMore, encode_command, parse_one

# The loader reads this much at a time; big enough that the per-block cost is negligible.
_BLOCK_SIZE: Final = 1 << 20
# progress() is called every 1% of the file, but not more often than every this many bytes.
_PROGRESS_MIN_STEP: Final = 4 << 20
_RDB_MAGIC: Final = b"REDIS"

log = logging.getLogger("zyst")


class FsyncPolicy(enum.Enum):
    """``appendfsync``: when the written bytes are forced to disk."""

    ALWAYS = "always"
    EVERYSEC = "everysec"
    NO = "no"


class AofCorruptError(Exception):
    """The file holds bytes that are not a command, somewhere else than at its very end."""

    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(
            f"Bad file format reading the append only file at offset {offset}: {reason}"
        )
        self.offset = offset
        self.reason = reason
        # The file it is in, when the caller knows it (a file of an AOF directory).
        self.path: str | None = None


@dataclass(frozen=True, slots=True)
class AofLoadResult:
    """What :func:`load_aof` did.

    ``commands`` counts the calls to ``apply`` (SELECT, MULTI and EXEC are not counted).
    ``bytes_loaded`` is the offset just after the last command that was replayed (or, when a
    trailing transaction was dropped, the offset of its ``MULTI``): the size to truncate the file
    to when ``truncated`` is true. ``truncated_at`` is where the dropped tail starts.
    """

    commands: int
    bytes_loaded: int
    truncated: bool
    truncated_at: int | None
    seconds: float


# -- writing -----------------------------------------------------------------------------------
class AofFatalError(Exception):
    """An AOF write or fsync failed under ``appendfsync always``: the process must stop.

    Raised by :meth:`AofWriter.flush` when its ``on_fatal`` hook returns (the server's hook
    exits the process and never returns)."""


class AofWriter:
    """Appends commands to the AOF. Not thread-safe except :meth:`fsync_in_background`.

    Usage by the server: :meth:`feed` for each propagated write command, :meth:`flush` once per
    event-loop turn before the replies of that turn leave (so a reply never acknowledges a write
    that is not at least in the kernel), :meth:`fsync_in_background` once a second under
    ``EVERYSEC``.

    Offsets: the writer numbers every byte ever fed. :attr:`fed` is the offset after the last
    byte fed; :attr:`durable` the offset up to which replies may acknowledge: bytes written
    (under ``EVERYSEC`` and ``NO``) or written and fsynced (under ``ALWAYS``). A reply that
    acknowledges a change must wait until ``durable`` reaches the ``fed`` of its batch.

    Faults, as Redis 7 handles them:

    * Under ``ALWAYS`` a failed write or fsync is fatal: ``on_fatal(reason)`` is called and must
      not return (the server logs and exits, so nothing unwritten is ever acknowledged).
    * Under ``EVERYSEC`` and ``NO`` a failed write keeps the unwritten bytes buffered and sets
      :attr:`refusal` (``MISCONF ...``: the server refuses writes while it is set); the next
      successful :meth:`flush` clears it. A short write is cut back off the file with
      ``ftruncate`` so the file holds only whole commands, and the whole batch is retried; if
      the cut fails, only the unwritten rest is retried.
    * A failed background fsync sets :attr:`refusal` too, until a later fsync succeeds.

    ``on_status(refusal)`` is called on every change of :attr:`refusal`, from the loop thread or
    from the fsync thread; each change is logged once.
    """

    def __init__(
        self,
        path: str,
        policy: FsyncPolicy,
        on_status: Callable[[str | None], None] | None = None,
        on_fatal: Callable[[str], None] | None = None,
        fd: int | None = None,
    ) -> None:
        self.path = path
        self.policy = policy
        self.on_status = on_status
        self.on_fatal = on_fatal
        if fd is None:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        # (``fd``, when given, is ``path`` already opened for appending; the writer owns it.)
        self._fd: int | None = fd
        self.size: int = os.fstat(self._fd).st_size
        self._buffer = bytearray()
        # -1: nothing written yet, so the first command gets a SELECT whatever its db.
        # _selected is the db of the last SELECT written; _db equals it except while an
        # annotation waits (then -2, so that feed takes its slower path once).
        self._db = -1
        self._selected = -1
        self._annotation: bytes | None = None
        self.fed = 0
        self.durable = 0
        # strerror of the failed write / background fsync, None while they succeed.
        self.write_error: str | None = None
        self.fsync_error: str | None = None
        self.refusal: str | None = None
        # Times fsync_in_background found the previous fsync still running (INFO's
        # aof_delayed_fsync).
        self.delayed_fsyncs = 0
        # Size of the file when the last fsync started: no fsync is needed while it is current.
        self._synced_size = self.size
        # The worker thread and its state; the lock is held only to flip these fields, never
        # across an fsync, so the event loop thread never waits on the disk.
        self._lock = threading.Lock()
        self._wakeup = threading.Condition(self._lock)
        self._fsync_requested = False
        self._fsync_busy = False
        # Descriptors of files this writer has left (switch_file): the worker fsyncs and
        # closes them, in order, after any fsync it was asked for before.
        self._retired: list[int] = []
        self._stopping = False
        self._worker: threading.Thread | None = None

    @property
    def last_write_ok(self) -> bool:
        """INFO's ``aof_last_write_status``: no write error is pending."""
        return self.write_error is None

    def feed(self, db_index: int, argv: list[bytes]) -> None:
        """Buffer one command run in ``db_index``, preceded by a SELECT if the db changed (and
        by a pending ``#TS:`` annotation, see :meth:`annotate`)."""
        buffer = self._buffer
        before = len(buffer)
        if db_index != self._db:
            self._prefix(db_index)
        buffer += encode_command(argv)
        self.fed += len(buffer) - before

    def _prefix(self, db_index: int) -> None:
        # Off the common path: feed comes here only when the db changed or an annotation waits
        # (annotate sets _db to -2, which no command's db equals).
        if self._annotation is not None:
            self._buffer += self._annotation
            self._annotation = None
        if db_index != self._selected:
            self._buffer += encode_command([b"SELECT", b"%d" % db_index])
            self._selected = db_index
        self._db = db_index

    def annotate(self, line: bytes) -> None:
        """Write ``line`` (Redis's ``#TS:<unix time>\r\n``) before the next command fed, as
        ``aof-timestamp-enabled`` asks once a second: an annotation only ever precedes a
        command, so a second without writes leaves none."""
        self._annotation = line
        self._db = -2

    def switch_file(self, fd: int, path: str) -> None:
        """Go on appending to ``fd``, a new empty file opened for appending at ``path`` (an AOF
        rewrite's new incremental file), which this writer now owns. Call :meth:`flush` first:
        the current file is fsynced and closed by the worker thread (an fsync there may be
        slow; nothing waits for it: under ``always`` everything acknowledged is already
        synced). The first command in the new file gets its SELECT."""
        old = self._fd
        self._fd = fd
        self.path = path
        self.size = 0
        self._synced_size = 0
        self._db = self._selected = -1
        if self._annotation is not None:
            self._db = -2
        if old is not None:
            with self._lock:
                self._retired.append(old)
                self._start_worker()

    def has_pending(self) -> bool:
        return bool(self._buffer)

    def flush(self) -> None:
        """Write every buffered byte; under ``ALWAYS`` also fsync before returning.

        On success :attr:`durable` becomes :attr:`fed`. On failure see the class docstring.
        """
        if not self._buffer or self._fd is None:
            return
        data = self._buffer
        self._buffer = bytearray()
        written = 0
        try:
            with memoryview(data) as view:
                while written < len(data):
                    written += os.write(self._fd, view[written:])
        except OSError as exc:
            self._write_failed(data, written, exc)
            return
        self.size += written
        if self.policy is FsyncPolicy.ALWAYS:
            self._fsync_now()
        self.durable = self.fed
        if self.write_error is not None:
            log.warning("AOF write error looks solved, Zyst can write again.")
            self.write_error = None
            self._status_changed()

    def set_policy(self, policy: FsyncPolicy) -> None:
        """``CONFIG SET appendfsync``. Switching to ``ALWAYS`` fsyncs what earlier policies
        wrote at once (and what is buffered), so that everything acknowledged from now on is
        on disk, as Redis does on that switch."""
        self.policy = policy
        if policy is FsyncPolicy.ALWAYS and self._fd is not None:
            if self._buffer:
                self.flush()
            elif self.size != self._synced_size or self.fsync_error is not None:
                self._fsync_now()

    def _fsync_now(self) -> None:
        """fsync in this thread under ``ALWAYS``: a failure is fatal."""
        assert self._fd is not None
        try:
            os.fsync(self._fd)
        except OSError as exc:
            self._fatal(
                "Can't persist AOF for fsync error when the AOF fsync policy is "
                f"'always': {_strerror(exc)}. Exiting..."
            )
            return
        self._synced_size = self.size
        if self.fsync_error is not None:
            # A background fsync failed under an earlier policy: this one succeeded.
            log.warning("AOF fsync error looks solved, Zyst can write again.")
            with self._lock:
                self.fsync_error = None
                self._update_refusal()

    def _write_failed(self, data: bytearray, written: int, exc: OSError) -> None:
        reason = _strerror(exc)
        if written:
            # A short write: take the partial command back off the file, so that it only ever
            # holds whole commands, and retry the whole batch.
            first = self.write_error is None
            if first:
                log.warning(
                    "Short write while writing to the AOF file: (nwritten=%d, expected=%d)",
                    written,
                    len(data),
                )
            try:
                assert self._fd is not None
                os.ftruncate(self._fd, self.size)
                written = 0
            except OSError as cut:
                if first:
                    log.warning(
                        "Could not remove short write from the append-only file.  Zyst may "
                        "refuse to load the AOF the next time it starts.  ftruncate: %s",
                        _strerror(cut),
                    )
            reason = os.strerror(errno.ENOSPC)
        elif self.write_error is None:
            log.warning("Error writing to the AOF file: %s", reason)
        if self.policy is FsyncPolicy.ALWAYS:
            self._fatal(
                "Can't recover from AOF write error when the AOF fsync policy is 'always'. "
                "Exiting..."
            )
            return
        # Keep what did not reach the file: the next flush appends it after what did.
        self._buffer = data[written:] + self._buffer
        self.size += written
        if self.write_error != reason:
            self.write_error = reason
            self._status_changed()

    def _fatal(self, message: str) -> None:
        log.warning("%s", message)
        if self.on_fatal is not None:
            self.on_fatal(message)
        raise AofFatalError(message)

    def _status_changed(self) -> None:
        with self._lock:
            self._update_refusal()

    def _update_refusal(self) -> None:
        # Called with the lock held: both threads change the errors this is made of.
        reason = self.write_error if self.write_error is not None else self.fsync_error
        refusal = None if reason is None else errors.MISCONF_AOF.format(reason)
        if refusal != self.refusal:
            self.refusal = refusal
            if self.on_status is not None:
                self.on_status(refusal)

    def fsync_in_background(self) -> None:
        """Start an fsync in the worker thread and return at once.

        Nothing happens if nothing was written since the last fsync started (unless the last
        one failed), or if the previous fsync is still running (counted in
        :attr:`delayed_fsyncs`; Redis postpones it the same way, since a second fsync queued
        behind a slow one gains nothing).
        """
        if self._fd is None or (self.size == self._synced_size and self.fsync_error is None):
            return
        with self._lock:
            if self._fsync_busy:
                self.delayed_fsyncs += 1
                return
            self._fsync_busy = True
            self._fsync_requested = True
            self._synced_size = self.size
            self._start_worker()

    def _start_worker(self) -> None:
        # Called with the lock held: start the worker thread, or wake it up.
        if self._worker is None:
            self._worker = threading.Thread(
                target=self._fsync_worker, name="zyst-aof-fsync", daemon=True
            )
            self._worker.start()
        else:
            self._wakeup.notify()

    def fsync_running(self) -> bool:
        """Whether a background fsync is in progress."""
        with self._lock:
            return self._fsync_busy

    def close(self) -> None:
        """Flush, wait for a background fsync, fsync and close. Calling it again does nothing.

        Bytes that still cannot be written are lost (logged), as when Redis turns its AOF off.
        """
        if self._fd is None:
            return
        self.flush()
        if self._buffer:
            log.warning(
                "Closing the AOF with %d bytes that could not be written: %s",
                len(self._buffer),
                self.write_error,
            )
        worker = self._worker
        if worker is not None:
            with self._lock:
                self._stopping = True
                self._wakeup.notify()
            worker.join()
            self._worker = None
        fd = self._fd
        self._fd = None
        try:
            os.fsync(fd)
        except OSError as exc:
            log.warning("Fail to fsync the AOF file: %s", _strerror(exc))
        finally:
            os.close(fd)

    def _fsync_worker(self) -> None:
        with self._lock:
            while True:
                while not self._fsync_requested and not self._retired and not self._stopping:
                    self._wakeup.wait()
                if self._retired:
                    old = self._retired.pop(0)
                    self._lock.release()
                    try:
                        _fsync_and_close(old)
                    finally:
                        self._lock.acquire()
                    continue
                if not self._fsync_requested:
                    return
                self._fsync_requested = False
                # The current file, read under the lock: switch_file hands a descriptor it
                # replaces to this thread, so none is closed while an fsync here uses it.
                fd = self._fd
                assert fd is not None  # close() joins this thread before closing the fd
                self._lock.release()
                failure: OSError | None = None
                try:
                    os.fsync(fd)
                except OSError as exc:
                    failure = exc
                finally:
                    self._lock.acquire()
                self._fsync_busy = False
                # EBADF and EINVAL: the file cannot be fsynced at all (a filesystem without
                # fsync); Redis counts that as success rather than refuse writes forever.
                if failure is not None and failure.errno not in (errno.EBADF, errno.EINVAL):
                    error: str | None = _strerror(failure)
                else:
                    error = None
                message = None
                if error is not None and self.fsync_error is None:
                    message = f"Fail to fsync the AOF file: {error}"
                elif error is None and self.fsync_error is not None:
                    message = "AOF fsync error looks solved, Zyst can write again."
                self.fsync_error = error
                self._update_refusal()
                if message is not None:
                    # Not under the lock: a slow log must never stall the event loop, which
                    # takes the lock in fsync_in_background.
                    self._lock.release()
                    try:
                        log.warning("%s", message)
                    finally:
                        self._lock.acquire()


def _fsync_and_close(fd: int) -> None:
    """The end of a file the writer has left: made durable, then closed (errors logged)."""
    try:
        os.fsync(fd)
    except OSError as exc:
        log.warning("Fail to fsync the AOF file: %s", _strerror(exc))
    finally:
        os.close(fd)


def _strerror(exc: OSError) -> str:
    """The C library's text for the error, as Redis's ``strerror(errno)`` prints it."""
    return exc.strerror or (os.strerror(exc.errno) if exc.errno else str(exc))


def truncate_file(path: str, size: int) -> None:
    """Cut ``path`` to ``size`` bytes and make that durable (drops a truncated tail)."""
    fd = os.open(path, os.O_WRONLY)
    try:
        os.ftruncate(fd, size)
        os.fsync(fd)
    finally:
        os.close(fd)


# -- loading -----------------------------------------------------------------------------------
def load_aof(
    path: str,
    apply: Callable[[int, list[bytes]], None],
    progress: Callable[[int, int], None] | None = None,
    preamble: Callable[[BinaryIO], None] | None = None,
) -> AofLoadResult:
    """Replay the AOF at ``path``: ``apply(db_index, argv)`` for each command, in file order.

    A missing or empty file loads nothing. A file that starts with ``REDIS`` begins with an RDB
    (an AOF base written with ``aof-use-rdb-preamble yes``, or an old-style file with a
    preamble): ``preamble(file)`` reads that RDB from the start of the file, leaving the file
    just after it, and the commands after it (if any) are replayed as usual; without
    ``preamble`` such a file is an :class:`AofCorruptError`. ``progress(bytes_done,
    total_bytes)`` is called each time another 1% of the file (or 4 MB, whichever is more) has
    been read, and once at the end. A :class:`zyst.errors.CommandError` raised by ``apply``
    becomes an :class:`AofCorruptError` naming the command and its offset; any other exception
    from ``apply`` propagates as is.
    """
    started = time.monotonic()
    try:
        file = open(path, "rb")  # noqa: SIM115 - closed by the with below, after fstat
    except FileNotFoundError:
        return AofLoadResult(0, 0, False, None, time.monotonic() - started)
    with file:
        total = os.fstat(file.fileno()).st_size
        done = 0
        if file.read(len(_RDB_MAGIC)) == _RDB_MAGIC:
            if preamble is None:
                raise AofCorruptError(0, "AOF has an RDB preamble; not supported yet")
            file.seek(0)
            preamble(file)
            done = file.tell()
            if progress is not None:
                progress(done, total)
        else:
            file.seek(0)
        loader = _Loader(apply, done)
        step = max(total // 100, _PROGRESS_MIN_STEP)
        next_report = done + step
        while True:
            block = file.read(_BLOCK_SIZE)
            if not block:
                break
            done += len(block)
            loader.feed(block)
            if progress is not None and done >= next_report:
                progress(done, total)
                next_report = done + step
        loader.finish()
    if progress is not None:
        progress(done, total)
    return AofLoadResult(
        commands=loader.commands,
        bytes_loaded=loader.valid_up_to,
        truncated=loader.truncated_at is not None,
        truncated_at=loader.truncated_at,
        seconds=time.monotonic() - started,
    )


class _Loader:
    """The replay state machine, fed the file block by block (no I/O here).

    Fast path: hiredis splits the bytes into commands, and each is accepted only if the bytes
    it came from equal its canonical encoding (hiredis does not check the CRLF after a bulk
    string, and accepts other RESP types). Anything else (an annotation, a malformed command,
    hiredis's errors) is re-read from the same offset by :func:`_parse_slow`, which names the
    problem; hiredis then restarts after it.
    """

    def __init__(self, apply: Callable[[int, list[bytes]], None], start: int = 0) -> None:
        self._apply = apply
        self._reader = hiredis.Reader()
        # Bytes from file offset _base on; _pos indexes the first byte not yet consumed.
        # ``start`` is the file offset of the first byte fed (after an RDB preamble).
        self._buf = bytearray()
        self._base = start
        self._pos = 0
        self._db = 0
        # Inside MULTI: the queued commands (db, argv, offset) and the offset of MULTI.
        self._queue: list[tuple[int, list[bytes], int]] | None = None
        self._multi_at = 0
        self.commands = 0
        self.valid_up_to = start
        self.truncated_at: int | None = None

    def feed(self, block: bytes) -> None:
        # Drop what was consumed before growing the buffer (cheap on a bytearray prefix).
        if self._pos:
            del self._buf[: self._pos]
            self._base += self._pos
            self._pos = 0
        self._buf += block
        self._reader.feed(block)
        self._run()

    def finish(self) -> None:
        """End of file: what is left over must be the start of a command, cut short."""
        buf = self._buf
        while self._pos < len(buf):
            # hiredis waits for more bytes even after some it would never accept: check them.
            start = self._pos
            try:
                argv, end = _parse_slow(buf, start, self._base)
            except NeedMore:
                break
            self._pos = end
            if argv is not None:
                self._command(argv, self._base + start)
        if self._queue is not None:
            # Redis treats an unfinished transaction like a short read: it is dropped.
            self.truncated_at = self.valid_up_to = self._multi_at
        else:
            self.valid_up_to = self._base + self._pos
            if self._pos < len(buf):
                self.truncated_at = self.valid_up_to

    def _run(self) -> None:
        # The hot loop: locals only, self._pos written back before anything else looks at it.
        buf = self._buf
        gets = self._reader.gets
        apply = self._apply
        base = self._base
        pos = self._pos
        applied = 0
        try:
            while True:
                try:
                    argv = gets()
                except hiredis.ProtocolError:
                    argv = None
                if argv is False:
                    return
                if type(argv) is list and argv and _all_bytes(argv):
                    encoded = encode_command(argv)
                    if buf.startswith(encoded, pos):
                        start = pos
                        pos += len(encoded)
                        if self._queue is None and argv[0].lower() not in _SPECIAL:
                            try:
                                apply(self._db, argv)
                            except errors.CommandError as exc:
                                raise _apply_error(base + start, argv, exc) from exc
                            applied += 1
                        else:
                            self._command(argv, base + start)
                        continue
                # hiredis disagrees with a strict reading: settle this entry the slow way.
                self._pos = pos
                try:
                    parsed, end = _parse_slow(buf, pos, base)
                except NeedMore:
                    self._restart_reader()
                    return
                start = pos
                self._pos = pos = end
                if parsed is not None:
                    self._command(parsed, base + start)
                self._restart_reader()
                gets = self._reader.gets
        finally:
            self._pos = pos
            self.commands += applied

    def _restart_reader(self) -> None:
        self._reader = hiredis.Reader()
        if self._pos < len(self._buf):
            self._reader.feed(bytes(self._buf[self._pos :]))

    def _command(self, argv: list[bytes], start: int) -> None:
        """Replay one command that starts at file offset ``start``."""
        name = argv[0].lower()
        queue = self._queue
        if name == b"select":
            db = _parse_db(argv)
            if db is None:
                raise AofCorruptError(start, f"invalid SELECT {_show(argv[1:])}")
            self._db = db
        elif name == b"multi":
            if queue is not None:
                raise AofCorruptError(start, "MULTI inside MULTI")
            self._queue = []
            self._multi_at = start
        elif name == b"exec":
            if queue is None:
                raise AofCorruptError(start, "EXEC without MULTI")
            self._queue = None
            for db, queued, offset in queue:
                try:
                    self._apply(db, queued)
                except errors.CommandError as exc:
                    raise _apply_error(offset, queued, exc) from exc
            self.commands += len(queue)
        elif queue is not None:
            queue.append((self._db, argv, start))
        else:
            try:
                self._apply(self._db, argv)
            except errors.CommandError as exc:
                raise _apply_error(start, argv, exc) from exc
            self.commands += 1


_SPECIAL: Final = frozenset({b"select", b"multi", b"exec"})


def _all_bytes(argv: list[object]) -> bool:
    # A plain loop: measurably faster than all() over a generator for the usual 2-5 arguments.
    for arg in argv:  # noqa: SIM110
        if type(arg) is not bytes:
            return False
    return True


def _parse_slow(buf: bytearray, pos: int, base: int) -> tuple[list[bytes] | None, int]:
    """Read the entry at ``buf[pos]`` strictly: ``(argv, end)``, ``(None, end)`` for an
    annotation line, :class:`NeedMore` if it is incomplete, :class:`AofCorruptError` if it can
    never be a command."""
    first = buf[pos : pos + 1]
    if first == b"#":
        newline = buf.find(b"\n", pos)
        if newline < 0:
            raise NeedMore
        return None, newline + 1
    offset = base + pos
    if first != b"*":
        raise AofCorruptError(offset, f"expected '*', got {_show_byte(first)}")
    data = bytes(buf[pos:])
    try:
        argv, end = parse_one(data)
    except NeedMore:
        if not _is_command_start(data):
            raise AofCorruptError(offset, "incomplete command that cannot be valid") from None
        raise
    except errors.ProtocolError as exc:
        reason = exc.message.removeprefix("ERR Protocol error: ")
        raise AofCorruptError(offset, reason) from None
    if argv is None:
        raise AofCorruptError(offset, "a command with no arguments")
    if data[:end] != encode_command(argv):
        # parse_one does not check what follows a bulk string; find the first one that is off.
        at = 0
        for arg in argv:
            at = data.index(b"\r\n", at) + 2 + len(arg)
            if data[at : at + 2] != b"\r\n":
                break
        raise AofCorruptError(offset, f"expected CRLF after a bulk string at offset {offset + at}")
    return argv, pos + end


def _is_command_start(data: bytes) -> bool:
    """Whether ``data``, which :func:`parse_one` found incomplete, can be the beginning of a
    canonical command. parse_one checks only whole lines; this checks the part after them, and
    the CRLF after each bulk string."""
    size = len(data)
    end = data.find(b"\r\n")
    if end < 0:
        return _number_start(data[1:], positive=True)
    pos = end + 2
    for _ in range(int(data[1:end])):
        if pos >= size:
            return True
        if data[pos : pos + 1] != b"$":
            return False
        end = data.find(b"\r\n", pos)
        if end < 0:
            return _number_start(data[pos + 1 :], positive=False)
        after = end + 2 + int(data[pos + 1 : end])
        if data[after : after + 2] != b"\r\n"[: max(0, min(2, size - after))]:
            return False
        pos = after + 2
    return True


def _number_start(raw: bytes, positive: bool) -> bool:
    """Whether ``raw`` can begin a count line (digits, no leading zero, then CRLF)."""
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    if not raw:
        return True
    if not raw.isdigit():
        return False
    return raw[:1] != b"0" or (raw == b"0" and not positive)


def _parse_db(argv: list[bytes]) -> int | None:
    if len(argv) != 2 or not argv[1].isdigit() or len(argv[1]) > 10:
        return None
    return int(argv[1])


def _apply_error(offset: int, argv: list[bytes], exc: errors.CommandError) -> AofCorruptError:
    error = AofCorruptError(offset, f"command {_show(argv)} failed: {exc.message}")
    # Set here as well as by ``raise ... from exc``, which compiled code does not honour.
    error.__cause__ = exc
    return error


def _show(argv: list[bytes]) -> str:
    shown = " ".join(repr(arg[:64])[2:-1] for arg in argv[:8])
    return shown + (" ..." if len(argv) > 8 else "")


def _show_byte(raw: bytes | bytearray) -> str:
    return repr(bytes(raw))[1:] if raw else "end of file"
