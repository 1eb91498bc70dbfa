"""RDB snapshots of one server: SAVE, BGSAVE, the ``save`` schedule, the snapshot loaded at
start, and what INFO and LASTSAVE tell about them (Redis 7.0's ``rdb.c`` and the save part of
its ``serverCron``).

Invariants:

- the snapshot lives at ``<dir>/<dbfilename>`` and is only ever replaced whole: it is written
  as ``temp-<pid>.rdb`` beside it (``pid``: the process writing, the forked child for BGSAVE),
  fsynced, renamed over it and the directory fsynced (:mod:`zyst.persistence.rdbfile`);
- at most one child runs at a time, shared with the AOF rewrite (``ctx.children``); a child
  that ends in any way but success leaves no temporary file behind (the parent removes it);
- ``changes`` (INFO's ``rdb_changes_since_last_save``) is ``ctx.dirty`` less its value when
  the last successful save began: ``ctx.dirty`` itself only grows, since the dispatcher and the
  connections compare it before and after a command to see whether it wrote;
- a failed BGSAVE (not a failed SAVE, as in Redis) makes :attr:`Saving.refusal` the ``MISCONF``
  error while ``stop-writes-on-bgsave-error`` is on and a ``save`` schedule is set, until a
  save succeeds; :attr:`Saving.on_status` is called whenever it may have changed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from zyst import errors
from zyst.errors import CommandError
from zyst.perserver import state_of
from zyst.persistence.rdb import RdbError
from zyst.persistence.rdbfile import load_rdb, save_rdb_file

if TYPE_CHECKING:
    from zyst.context import ServerContext
    from zyst.persistence.child import ChildResult

log = logging.getLogger("zyst")

CHILD_KIND = "rdb"
RETRY_DELAY = 5
"""Seconds after a failed background save before the schedule tries again (Redis's
``CONFIG_BGSAVE_RETRY_DELAY``)."""


def save_points(setting: str) -> list[tuple[int, int]]:
    """The ``save`` setting as ``(seconds, changes)`` pairs, in the order given."""
    numbers = [int(word) for word in setting.split()]
    return list(zip(numbers[::2], numbers[1::2], strict=True))


def temp_name(pid: int) -> str:
    """The name a process writes its snapshot under before renaming it (Redis's)."""
    return f"temp-{pid}.rdb"


class Saving:
    """The snapshot state of one server; :func:`saving_of` gives a server's."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        # As Redis: at start the data counts as saved.
        self.lastsave = int(time.time())
        self.saved_dirty = ctx.dirty
        self.dirty_before_bgsave = 0
        self.last_ok = True
        self.lastbgsave_try = 0
        self.saves = 0
        self.bgsave_started = -1
        self.last_bgsave_seconds = -1
        self.last_cow = 0
        self.keys_total = 0
        self.child_pid = -1
        # BGSAVE SCHEDULE (or BGSAVE in a transaction) while another child ran.
        self.scheduled = False
        self.keys_loaded = 0
        self.keys_expired = 0
        # The AUX fields of the snapshot last loaded (a replica reads its replication ones).
        self.last_aux: dict[bytes, bytes] = {}
        # The replication AUX fields a snapshot carries (set by the server:
        # zyst.replication.replica.snapshot_aux); read in the child, at the fork's moment.
        self.aux_fields: Callable[[], list[tuple[bytes, bytes]]] = list
        self.refusal: str | None = None
        # Called once with the outcome (True: saved) when the running BGSAVE child ends (the
        # replicas waiting for this snapshot: zyst.replication.primary).
        self.on_done: list[Callable[[bool], None]] = []
        self.on_status: Callable[[], None] = self._set_refusal

    # -- where and what --------------------------------------------------------------------
    @property
    def path(self) -> str:
        config = self.ctx.config
        return os.path.join(config.dir, config.dbfilename)

    @property
    def changes(self) -> int:
        """Writes since the last successful save began (``rdb_changes_since_last_save``)."""
        return self.ctx.dirty - self.saved_dirty

    def in_progress(self) -> bool:
        """Whether a BGSAVE child runs."""
        return self.ctx.children.kind == CHILD_KIND

    def _write(self, progress: Callable[[int], None] | None = None) -> None:
        """Write the snapshot (in this process: SAVE, or the child of BGSAVE)."""
        from zyst.scripting.engine import engine_of

        ctx = self.ctx
        config = ctx.config
        save_rdb_file(
            self.path,
            ctx.keyspace,
            engine_of(ctx).functions.codes(),
            compress=config.rdbcompression,
            checksum=config.rdbchecksum,
            policy=config.maxmemory_policy,
            progress=progress,
            limits=ctx.limits,
            aux=self.aux_fields(),
        )

    # -- SAVE ------------------------------------------------------------------------------
    def save(self) -> bool:
        """Write the snapshot now, in this process (SAVE, SHUTDOWN, FLUSHALL); whether it
        worked (why not is logged). A failure leaves the old snapshot and the status alone."""
        began = self.ctx.dirty
        try:
            self._write()
        except OSError as exc:
            log.warning("Write error saving DB on disk: %s", exc.strerror or exc)
            return False
        except Exception as exc:  # a value the writer refuses must not take the server down
            log.warning("Error saving DB on disk: %s", exc)
            return False
        log.info("DB saved on disk")
        self.saved_dirty = began
        self.lastsave = int(time.time())
        self.last_ok = True
        self.on_status()
        return True

    # -- BGSAVE ----------------------------------------------------------------------------
    def background(self) -> bool:
        """Start a child that writes the snapshot; False if one could not start (another
        child runs, or fork failed: then the status is an error, as in Redis)."""
        ctx = self.ctx
        children = ctx.children
        if children.kind is not None:
            return False
        self.saves += 1
        self.dirty_before_bgsave = ctx.dirty
        self.lastbgsave_try = int(time.time())
        self.keys_total = sum(len(db) for db in ctx.keyspace.dbs)
        try:
            pid = children.start(CHILD_KIND, self._child_work, self._done)
        except OSError as exc:
            self.last_ok = False
            log.warning("Can't save in background: fork: %s", exc.strerror)
            self.on_status()
            return False
        self.child_pid = pid
        self.bgsave_started = int(time.time())
        log.info("Background saving started by pid %d", pid)
        return True

    def _child_work(self) -> None:
        # In the forked child: an exception makes it exit with 1 (a failed save).
        children = self.ctx.children
        total = self.keys_total
        delay = self.ctx.config.rdb_key_save_delay
        if delay > 0:
            # rdb-key-save-delay, a testing knob: the pause Redis makes after each key, made
            # here all at once before writing, with the temporary file already there.
            open(os.path.join(self.ctx.config.dir, temp_name(os.getpid())), "wb").close()
            time.sleep(delay * total / 1_000_000)

        def progress(written: int) -> None:
            # (The writer tells bytes, not keys: the count of keys is only known at the end.)
            children.progress(0, total)

        self._write(progress)
        children.progress(total, total)
        log.info("DB saved on disk")

    def _done(self, result: ChildResult) -> None:
        """The child ended (reaped by ``ctx.children``): take its outcome."""
        if result.ok:
            log.info("Background saving terminated with success")
            self.saved_dirty = self.dirty_before_bgsave
            self.lastsave = int(time.time())
            self.last_ok = True
            self.last_cow = result.cow_bytes
        else:
            if result.killed:
                log.warning("Background saving terminated by signal %d", signal.SIGUSR1)
            else:
                log.warning("Background saving error")
                # (A child we stopped on purpose is no error, as Redis's SIGUSR1.)
                self.last_ok = False
            # A child that did not finish may have left its temporary file.
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(self.ctx.config.dir, temp_name(self.child_pid)))
        self.last_bgsave_seconds = int(time.time()) - self.bgsave_started
        self.bgsave_started = -1
        self.child_pid = -1
        self.on_status()
        hooks, self.on_done = self.on_done, []
        for hook in hooks:
            hook(result.ok)

    def kill(self) -> None:
        """Stop a running BGSAVE child (its temporary file removed), as SHUTDOWN and
        FLUSHALL do."""
        if self.in_progress():
            self.ctx.children.kill()

    # -- the schedule ----------------------------------------------------------------------
    def cron(self) -> None:
        """Run by the server's cron while no child runs: start a BGSAVE when a ``save``
        point is reached, or when one was scheduled. After a failed one, the next waits
        :data:`RETRY_DELAY` seconds."""
        if self.ctx.children.kind is not None:
            return
        now = int(time.time())
        may_retry = self.last_ok or now - self.lastbgsave_try > RETRY_DELAY
        if not may_retry:
            return
        changes = self.changes
        for seconds, needed in save_points(self.ctx.config.save):
            if changes >= needed and now - self.lastsave > seconds:
                log.info("%d changes in %d seconds. Saving...", needed, seconds)
                self.background()
                return
        if self.scheduled and self.background():
            self.scheduled = False

    # -- stop-writes-on-bgsave-error -------------------------------------------------------
    def current_refusal(self) -> str | None:
        """The ``MISCONF`` error writes get now, or None."""
        config = self.ctx.config
        if not self.last_ok and config.stop_writes_on_bgsave_error and config.save.strip():
            return errors.MISCONF_RDB
        return None

    def _set_refusal(self) -> None:
        # Without a server to combine it with the AOF's refusal (in-process use).
        self.refusal = self.current_refusal()
        self.ctx.write_refusal = self.refusal

    # -- loading at start ------------------------------------------------------------------
    def load(self) -> bool:
        """Load the snapshot into the (empty) keyspace, as at start with the AOF off; False
        when there is none. Raises :class:`zyst.persistence.rdb.RdbError` (with ``offset``)
        on a bad file and OSError when it cannot be read."""
        on_library = library_loader(self.ctx)
        try:
            fileobj = open(self.path, "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            return False
        began = time.monotonic()
        ctx = self.ctx
        ctx.loading = True
        try:
            with fileobj:
                result = load_rdb(fileobj, ctx.keyspace, on_library)
        finally:
            ctx.loading = False
        self.last_aux = result.aux
        self.keys_loaded = result.keys_loaded
        self.keys_expired = result.keys_expired
        _log_aux(result.aux)
        log.info(
            "Done loading RDB, keys loaded: %d, keys expired: %d.",
            result.keys_loaded,
            result.keys_expired,
        )
        log.info("DB loaded from disk: %.3f seconds", time.monotonic() - began)
        return True

    # -- INFO ------------------------------------------------------------------------------
    def info_fields(self) -> list[tuple[str, object]]:
        """INFO persistence's RDB fields, in Redis's order (from current_fork_perc on)."""
        running = self.in_progress()
        now = int(time.time())
        children = self.ctx.children
        processed = children.processed if running else 0
        total = self.keys_total if running else 0
        return [
            ("current_fork_perc", f"{100 * processed / total if total else 0:.2f}"),
            ("current_save_keys_processed", processed),
            ("current_save_keys_total", total),
            ("rdb_changes_since_last_save", self.changes),
            ("rdb_bgsave_in_progress", int(running)),
            ("rdb_last_save_time", self.lastsave),
            ("rdb_last_bgsave_status", "ok" if self.last_ok else "err"),
            ("rdb_last_bgsave_time_sec", self.last_bgsave_seconds),
            (
                "rdb_current_bgsave_time_sec",
                now - self.bgsave_started if running and self.bgsave_started >= 0 else -1,
            ),
            ("rdb_saves", self.saves),
            ("rdb_last_cow_size", self.last_cow),
            ("rdb_last_load_keys_expired", self.keys_expired),
            ("rdb_last_load_keys_loaded", self.keys_loaded),
        ]


def _log_aux(aux: dict[bytes, bytes]) -> None:
    """What Redis logs of a loaded file's AUX fields: the version that wrote it, its age, the
    memory it used."""
    version = aux.get(b"redis-ver")
    if version is not None:
        log.info("Loading RDB produced by version %s", version.decode("latin-1"))
    created = aux.get(b"ctime")
    if created is not None and created.lstrip(b"-").isdigit():
        log.info("RDB age %d seconds", int(time.time()) - int(created))
    memory = aux.get(b"used-mem")
    if memory is not None and memory.isdigit():
        log.info("RDB memory usage when created %.2f Mb", int(memory) / (1024 * 1024))


def library_loader(ctx: ServerContext) -> Callable[[bytes], None]:
    """Where an RDB's function libraries go when it is loaded into ``ctx``'s server (a
    snapshot, an AOF base): each is loaded as FUNCTION LOAD would, and one that cannot be (a
    name already there, code that does not compile) fails the whole load with an
    :class:`~zyst.persistence.rdb.RdbError` (the loader gives it the entry's offset), as
    Redis's load fails."""
    from zyst.scripting.engine import engine_of

    functions = engine_of(ctx).functions

    def on_library(code: bytes) -> None:
        try:
            functions.load(code, replace=False)
        except CommandError as exc:
            raise RdbError(f"function library failed to load: {exc.message}") from None

    return on_library


def empty_dataset(ctx: ServerContext) -> None:
    """Every key and function library gone, before a snapshot is loaded in place of the
    dataset (Redis's ``emptyData``: DEBUG RELOAD, a replica's full sync). WATCH and client
    tracking see the keys go, as with FLUSHALL."""
    from zyst.scripting.engine import engine_of

    keyspace = ctx.keyspace
    signal = ctx.signal
    if signal.listening:
        for db in keyspace.dbs:
            signal.database_replaced(db, None)
        signal.flushed()
    keyspace.flushall()
    engine_of(ctx).functions.flush()


def saving_of(ctx: ServerContext) -> Saving:
    """The snapshot state of the server ``ctx``."""
    return state_of(ctx, Saving, Saving)
