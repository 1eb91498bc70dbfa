"""AOF rewrites: BGREWRITEAOF, the automatic rewrite, and the AOF directory of a running server.

How a background rewrite goes, as in Redis 7.0 (each step keeps the invariants of
:mod:`zyst.persistence.aofdir`, so a crash anywhere leaves a directory that loads every
acknowledged write):

1. *Start* (parent): a new incremental file is created and a manifest naming it after the
   current ones is made durable; only then does the AOF writer switch to it. A forked child
   writes the dataset as it was at the fork into ``<dir>/temp-rewriteaof-bg-<pid>.aof`` (RDB
   format when ``aof-use-rdb-preamble`` is on and the RDB codec is there, else commands), and
   fsyncs it.
2. *Done* (parent, from the cron): the temporary file is renamed into the directory as the next
   base; a manifest naming it, with the incremental files the child covered turned into
   history, is made durable; the history files are deleted and the manifest written without
   them.
3. *Failure* (the child failed, was killed, or a parent step failed): the old base and every
   incremental file stay in use; INFO shows ``aof_last_bgrewrite_status:err`` and counts
   ``aof_rewrites_consecutive_failures``; after three failures in a row the automatic rewrite
   waits 1, 2, 4 ... up to 60 minutes between tries (BGREWRITEAOF is never held back).

The child process comes from the server's :class:`zyst.persistence.child.Children` (one child at
a time, shared with BGSAVE); this module only needs the few members :class:`ChildRunner` names.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from zyst.config import Config
from zyst.encodings import Limits
from zyst.keyspace import Keyspace
from zyst.persistence.aof import AofWriter
from zyst.persistence.aofdir import AofDir, ManifestUncertain
from zyst.persistence.durable import fsync_dir
from zyst.persistence.manifest import Manifest
from zyst.persistence.rdbfile import write_rdb
from zyst.persistence.snapshot import dataset_commands
from zyst.protocol.resp import encode_command

log = logging.getLogger("zyst")

# After this many failed rewrites in a row the automatic rewrite is held back (Redis's limit).
_LIMIT_THRESHOLD = 3
_LIMIT_MAX_MINUTES = 60


class ChildOutcome(Protocol):
    """What :class:`zyst.persistence.child.ChildResult` tells about a child that ended."""

    ok: bool
    killed: bool
    seconds: float
    cow_bytes: int


class ChildRunner(Protocol):
    """The members of :class:`zyst.persistence.child.Children` a rewrite uses."""

    kind: str | None
    pid: int

    def start(self, kind: str, work: Callable[[], None], on_done: Callable[[Any], None]) -> int:
        """Fork; the child runs ``work``; ``on_done(result)`` in the parent when it ends."""
        ...

    def kill(self) -> None: ...

    def progress(self, processed: int, total: int) -> None:
        """In the child: how far the work is (reported to the parent, throttled)."""
        ...


# -- writing a base -------------------------------------------------------------------------------
def write_base(
    path: str,
    keyspace: Keyspace,
    libraries: Sequence[bytes],
    *,
    rdb: bool,
    timestamp: bool = False,
    key_delay_us: int = 0,
    policy: str = "noeviction",
    limits: Limits | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Write the dataset into a new file at ``path`` and fsync it; returns its size. ``rdb``
    picks the RDB format (an AOF base: ``aof-base`` AUX field; ``policy`` and ``limits`` as
    for any RDB); otherwise commands: a ``#TS:`` line if ``timestamp``, the function
    libraries as FUNCTION LOAD, then every key (Redis's rewrite order). ``key_delay_us`` is
    ``rdb-key-save-delay``: a pause after each key, and ``progress(done, total)`` is told the
    keys written so far (both for the command format only)."""
    if rdb:
        with open(path, "wb") as rdb_out:
            size = write_rdb(
                rdb_out, keyspace, libraries, aof_base=True, policy=policy, limits=limits
            )
            rdb_out.flush()
            os.fsync(rdb_out.fileno())
        return size
    keys = [0]
    total = sum(len(db.data) for db in keyspace.dbs)

    def after_each_key() -> None:
        keys[0] += 1
        if delay is not None:
            delay()
        if progress is not None:
            progress(keys[0], total)

    delay = _key_delay(key_delay_us)
    after_key = after_each_key if delay is not None or progress is not None else None
    with open(path, "wb", buffering=1 << 20) as out:
        size = 0
        if timestamp:
            size += out.write(b"#TS:%d\r\n" % int(time.time()))
        for code in libraries:
            size += out.write(encode_command([b"FUNCTION", b"LOAD", code]))
        db = -1
        for db_index, argv in dataset_commands(keyspace, after_key):
            if db_index != db:
                size += out.write(encode_command([b"SELECT", b"%d" % db_index]))
                db = db_index
            size += out.write(encode_command(argv))
        out.flush()
        os.fsync(out.fileno())
    return size


def _key_delay(usec: int) -> Callable[[], None] | None:
    """Redis's ``debugDelay``: sleep ``usec`` microseconds; a negative value sleeps one
    microsecond once in ``-usec`` keys."""
    if usec > 0:
        seconds = usec / 1e6
        return lambda: time.sleep(seconds)
    if usec < 0:
        odds = -usec

        def sometimes() -> None:
            if random.randrange(odds) == 0:
                time.sleep(1e-6)

        return sometimes
    return None


# -- the directory of a running server ------------------------------------------------------
class AofRewrite:
    """The AOF directory of a running server: its manifest, the writer's current incremental
    file, background and automatic rewrites, and INFO's ``aof_*`` rewrite fields."""

    def __init__(
        self,
        config: Config,
        children: ChildRunner,
        keyspace: Keyspace,
        libraries: Callable[[], Sequence[bytes]],
        writer: Callable[[], AofWriter | None],
    ) -> None:
        self.config = config
        self.children = children
        self.keyspace = keyspace
        self.libraries = libraries
        self.writer = writer
        self.dir = AofDir(config.dir, config.appenddirname, config.appendfilename)
        self.manifest = Manifest()
        # INFO persistence.
        self.rewrites = 0
        self.consecutive_failures = 0
        self.last_ok = True
        self.last_seconds = -1
        self.last_cow = 0
        self.started = -1.0
        self.scheduled = False
        # aof_base_size: the AOF's size when the last rewrite ended (the base's at start).
        self.base_size = 0
        # Size of the live files other than the one being written (aof_current_size is this
        # plus the writer's size, read when asked: nothing is added to the write path).
        self.closed_size = 0
        # The child in progress: its pid and the format it writes.
        self._child_pid = -1
        self._child_rdb = False
        # The automatic rewrite's hold-off after repeated failures (aofRewriteLimited).
        self._next_delay_minutes = 0
        self._next_try = 0.0
        self._last_timestamp = 0

    # -- sizes -------------------------------------------------------------------------------
    def current_size(self) -> int:
        writer = self.writer()
        return self.closed_size + (writer.size if writer is not None else 0)

    def in_progress(self) -> bool:
        return self.children.kind == "aof"

    def _use_rdb(self) -> bool:
        return self.config.aof_use_rdb_preamble

    # -- start ---------------------------------------------------------------------------------
    def open_on_start(self, open_writer: Callable[[str], AofWriter]) -> AofWriter:
        """Redis's ``aofOpenIfNeededOnServerStart``: with no file at all, a base made from the
        dataset (empty but for what another source loaded); then the last incremental file
        is opened for appending, or a first one created; the manifest is made durable. OSError
        if a step fails (the server cannot start)."""
        self.dir.make_dir()
        prefix = self.config.appendfilename
        if self.manifest.is_empty():
            name = self.manifest.new_base(prefix, self._use_rdb())
            self._write_base_now(name)
            log.info("Creating AOF base file %s on server start", name)
        name = self.manifest.last_incr() or ""
        created = not name
        if created:
            name = self.manifest.new_incr(prefix)
        writer = open_writer(self.dir.file_path(name))
        try:
            self.dir.persist(self.manifest)
        except OSError:
            writer.close()
            raise
        total, base = self.dir.sizes(self.manifest)
        self.closed_size = total - writer.size
        self.base_size = base
        verb = "Creating" if created else "Opening"
        log.info("%s AOF incr file %s on server start", verb, name)
        return writer

    def _write_base_now(self, name: str) -> int:
        """Write a base in this process (at start, CONFIG SET appendonly yes): into a temporary
        file beside the directory, renamed into it once complete and durable."""
        temp = os.path.join(self.config.dir, f"temp-rewriteaof-{os.getpid()}.aof")
        try:
            size = write_base(
                temp,
                self.keyspace,
                self.libraries(),
                rdb=name.endswith(".rdb"),
                timestamp=self.config.aof_timestamp_enabled,
                policy=self.config.maxmemory_policy,
                limits=Limits(self.config),
            )
            os.rename(temp, self.dir.file_path(name))
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
        fsync_dir(self.dir.path)
        return size

    def turn_on(self, open_writer: Callable[[int, str], AofWriter]) -> AofWriter:
        """``CONFIG SET appendonly yes``: the dataset written as a new base now, in this
        process, and a new incremental file after it, both durable and in a durable manifest
        before this returns (so no write is acknowledged before it is safe); the files that
        were live become history and are deleted. A rewrite child in progress is stopped
        first (it was not writing for this AOF). OSError, the directory as it was, if a step
        fails."""
        if self.in_progress():
            log.warning(
                "AOF was enabled but there is already an AOF rewriting in background. "
                "Stopping background AOF and starting a rewrite now."
            )
            self.children.kill()
        began = time.monotonic()
        self.dir.make_dir()
        prefix = self.config.appendfilename
        updated = self.manifest.copy()
        base = updated.new_base(prefix, self._use_rdb())
        base_size = self._write_base_now(base)
        incr = updated.new_incr(prefix)
        path = self.dir.file_path(incr)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            updated.retire_incrs(keep_last=True)
            self.dir.persist(updated)
        except BaseException:
            os.close(fd)
            raise
        writer = open_writer(fd, path)
        self.manifest = self.dir.delete_history(updated)
        self.closed_size = self.base_size = base_size
        self.rewrites += 1
        self.last_ok = True
        self.consecutive_failures = 0
        self.last_seconds = int(time.monotonic() - began)
        self.scheduled = False
        log.info("AOF turned on: base %s (%d bytes), incr %s", base, base_size, incr)
        return writer

    def turn_off(self) -> None:
        """``CONFIG SET appendonly no``: a rewrite in progress is stopped (as Redis does)."""
        self.scheduled = False
        if self.in_progress():
            log.info("Killing running AOF rewrite child: %d", self.children.pid)
            self.children.kill()

    # -- BGREWRITEAOF ------------------------------------------------------------------------
    def request(self, in_exec: bool) -> str:
        """BGREWRITEAOF: ``"started"``, ``"scheduled"`` (another child runs, or inside EXEC),
        ``"in progress"`` or ``"failed"``."""
        if self.in_progress():
            return "in progress"
        if self.children.kind is not None or in_exec:
            self.scheduled = True
            # Asked for by hand: the hold-off after failures does not apply.
            self.consecutive_failures = 0
            return "scheduled"
        return "started" if self.start() else "failed"

    def start(self) -> bool:
        """Start a background rewrite (Redis's ``rewriteAppendOnlyFileBackground``)."""
        if self.children.kind is not None:
            return False
        try:
            self.dir.make_dir()
        except OSError as exc:
            log.warning("Can't open or create append-only dir %s: %s", self.dir.path, exc)
            self.last_ok = False
            return False
        writer = self.writer()
        if writer is not None and not self._open_new_incr(writer):
            self.last_ok = False
            return False
        self.rewrites += 1
        rdb = self._use_rdb()
        keyspace, libraries, config = self.keyspace, self.libraries(), self.config
        temp_of = self.dir.rewrite_temp_path
        limits = Limits(config)
        report = self.children.progress

        def work() -> None:
            # In the child: the dataset as it was at the fork.
            path = temp_of(os.getpid())
            write_base(
                path,
                keyspace,
                libraries,
                rdb=rdb,
                timestamp=config.aof_timestamp_enabled,
                key_delay_us=config.rdb_key_save_delay,
                policy=config.maxmemory_policy,
                limits=limits,
                progress=report,
            )
            log.info("Successfully created the temporary AOF base file %s", os.path.basename(path))

        try:
            pid = self.children.start("aof", work, self._done)
        except OSError as exc:
            log.warning("Can't rewrite append only file in background: fork: %s", exc)
            self.last_ok = False
            return False
        self._child_pid = pid
        self._child_rdb = rdb
        self.scheduled = False
        self.started = time.time()
        log.info("Background append only file rewriting started by pid %d", pid)
        return True

    def _open_new_incr(self, writer: AofWriter) -> bool:
        """The writer goes on in a new incremental file, named in a durable manifest first."""
        writer.flush()
        if writer.has_pending():
            # Bytes that failed to reach the current file must not start the new one, where
            # they would lose the SELECT before them.
            log.warning("Can't start an AOF rewrite while the AOF cannot be written")
            return False
        updated = self.manifest.copy()
        name = updated.new_incr(self.config.appendfilename)
        path = self.dir.file_path(name)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_TRUNC, 0o644)
        except OSError as exc:
            log.warning("Can't open the append-only file %s: %s", name, exc.strerror)
            return False
        try:
            self.dir.persist(updated)
        except OSError as exc:
            log.warning("Can't write the AOF manifest: %s", exc)
            os.close(fd)
            if not isinstance(exc, ManifestUncertain):  # (else the new manifest may name it)
                with contextlib.suppress(OSError):
                    os.unlink(path)
            return False
        self.closed_size += writer.size
        writer.switch_file(fd, path)
        self.manifest = updated
        log.info("Creating AOF incr file %s on background rewrite", name)
        return True

    def _done(self, result: ChildOutcome) -> None:
        """The child ended (Redis's ``backgroundRewriteDoneHandler``)."""
        temp = self.dir.rewrite_temp_path(self._child_pid)
        if result.ok:
            log.info("Background AOF rewrite terminated with success")
            self.last_cow = result.cow_bytes
            if self._install(temp):
                self.last_ok = True
                self.consecutive_failures = 0
                log.info("Background AOF rewrite finished successfully")
            else:
                self.last_ok = False
                self.consecutive_failures += 1
        elif result.killed:
            log.warning("Background AOF rewrite terminated by signal")
        else:
            self.last_ok = False
            self.consecutive_failures += 1
            log.warning("Background AOF rewrite terminated with error")
        with contextlib.suppress(OSError):
            os.unlink(temp)
        if self.started >= 0:
            self.last_seconds = int(time.time() - self.started)
        self.started = -1.0
        self._child_pid = -1

    def _install(self, temp: str) -> bool:
        """The child's file becomes the base; the files it covers become history."""
        updated = self.manifest.copy()
        name = updated.new_base(self.config.appendfilename, self._child_rdb)
        path = self.dir.file_path(name)
        try:
            os.rename(temp, path)
        except OSError as exc:
            log.warning(
                "Error trying to rename the temporary AOF base file %s into %s: %s",
                os.path.basename(temp),
                name,
                exc.strerror,
            )
            return False
        log.info(
            "Successfully renamed the temporary AOF base file %s into %s",
            os.path.basename(temp),
            name,
        )
        writer = self.writer()
        updated.retire_incrs(keep_last=writer is not None)
        try:
            self.dir.persist(updated)
        except OSError as exc:
            log.warning("Can't write the AOF manifest after the rewrite: %s", exc)
            if not isinstance(exc, ManifestUncertain):  # (else the new manifest may name it)
                with contextlib.suppress(OSError):
                    os.unlink(path)
            return False
        self.manifest = updated
        if writer is not None:
            try:
                self.closed_size = os.stat(path).st_size
            except OSError:
                self.closed_size = 0
            self.base_size = self.current_size()
        self.manifest = self.dir.delete_history(self.manifest)
        return True

    # -- cron ----------------------------------------------------------------------------------
    def cron(self) -> None:
        """Once per cron run: a scheduled rewrite, the automatic one, timestamp annotations."""
        if self.children.kind is None and self.scheduled and not self._limited():
            self.start()
        writer = self.writer()
        if writer is None:
            return
        if self.config.aof_timestamp_enabled:
            now = int(time.time())
            if now > self._last_timestamp:
                self._last_timestamp = now
                writer.annotate(b"#TS:%d\r\n" % now)
        percentage = self.config.auto_aof_rewrite_percentage
        if self.children.kind is not None or not percentage or writer.has_pending():
            # (Bytes the AOF could not take yet: a rewrite cannot start; the writer retries.)
            return
        size = self.current_size()
        if size <= self.config.auto_aof_rewrite_min_size:
            return
        growth = size * 100 // (self.base_size or 1) - 100
        if growth >= percentage and not self._limited():
            log.info("Starting automatic rewriting of AOF on %d%% growth", growth)
            self.start()

    def _limited(self) -> bool:
        """Redis's ``aofRewriteLimited``: after three failures in a row, wait 1, 2, 4 ... 60
        minutes between automatic tries."""
        if self.consecutive_failures < _LIMIT_THRESHOLD:
            self._next_delay_minutes = 0
            self._next_try = 0.0
            return False
        now = time.time()
        if self._next_try:
            if now < self._next_try:
                return True
            self._next_try = 0.0
            return False
        self._next_delay_minutes = min(max(1, self._next_delay_minutes * 2), _LIMIT_MAX_MINUTES)
        self._next_try = now + self._next_delay_minutes * 60
        log.warning(
            "Background AOF rewrite has repeatedly failed and triggered the limit, will retry "
            "in %d minutes",
            self._next_delay_minutes,
        )
        return True

    # -- INFO ----------------------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        running = self.in_progress()
        return {
            "aof_rewrite_in_progress": int(running),
            "aof_rewrite_scheduled": int(self.scheduled),
            "aof_last_rewrite_time_sec": self.last_seconds,
            "aof_current_rewrite_time_sec": (
                int(time.time() - self.started) if running and self.started >= 0 else -1
            ),
            "aof_last_bgrewrite_status": "ok" if self.last_ok else "err",
            "aof_rewrites": self.rewrites,
            "aof_rewrites_consecutive_failures": self.consecutive_failures,
            "aof_last_cow_size": self.last_cow,
            "aof_current_size": self.current_size(),
            "aof_base_size": self.base_size,
            "aof_pending_rewrite": int(self.scheduled),
        }
