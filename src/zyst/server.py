"""The server process: data directory, AOF load, listeners, cron, shutdown.

:func:`run` is the whole life of a server: detach if ``daemonize`` says so, lock the data
directory, listen, write the pid file, replay the AOF, serve until SIGTERM/SIGINT or
``SHUTDOWN``, then flush the AOF and exit (SIGHUP and SIGPIPE are ignored, as in Redis). The
cron runs ``hz`` times a second: active expiry, the ops/sec sample, and under ``appendfsync
everysec`` a background fsync once a second.

Propagation: :class:`zyst.propagation.Propagation` is the one place every change leaves through;
it feeds the AOF writer (and is where replicas and MONITOR will attach). AOF bytes are written
once per event loop turn; under ``always`` the write is followed by an fsync before any reply is
released.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import gc
import logging
import os
import signal
import ssl
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, BinaryIO

from zyst import REDIS_VERSION, __version__, commands, encodings, errors, supervise, timing
from zyst.busy import EventPump
from zyst.client import Client
from zyst.clientscron import ClientsCron
from zyst.commands import guard, latency, maxmemory, stale, table
from zyst.commands.pause import OFF as PAUSE_OFF
from zyst.commands.pause import pause_of
from zyst.config import Config
from zyst.connection import Connection, ReplyGate, output_check_of
from zyst.context import ServerContext
from zyst.daemon import DEFAULT_PIDFILE, daemonize, remove_pidfile, write_pidfile
from zyst.errors import CommandError
from zyst.eviction import evictor_of
from zyst.expiry import ActiveExpirer
from zyst.fdlimit import FdLimitError, adjust_open_files_limit
from zyst.listeners import (
    Listener,
    ListenError,
    check_somaxconn,
    listen_address,
    open_listeners,
    open_unix_listener,
)
from zyst.logsetup import RedisFormatter, setup_logging
from zyst.modules.loader import load_at_start
from zyst.persistence.aof import (
    AofCorruptError,
    AofLoadResult,
    AofWriter,
    FsyncPolicy,
    load_aof,
    truncate_file,
)
from zyst.persistence.aofdir import AofLoadError
from zyst.persistence.manifest import ManifestError
from zyst.persistence.rdb import RdbError
from zyst.persistence.rdbfile import load_rdb
from zyst.persistence.rewrite import AofRewrite
from zyst.persistence.saving import CHILD_KIND, library_loader, saving_of
from zyst.propagation import Propagation
from zyst.protocol.resp import ErrorReply
from zyst.replication.primary import Primary, primary_of
from zyst.replication.replica import follower_of, resume_history, snapshot_aux
from zyst.scripting.engine import engine_of
from zyst.security import aclfile, tls
from zyst.security.acl import Acl, AclError

if TYPE_CHECKING:
    from zyst.web.http import HttpPort

log = logging.getLogger("zyst")


class DataDirLock:
    """An exclusive lock on the data directory, so two servers never share one AOF."""

    def __init__(self, directory: str) -> None:
        self.path = os.path.join(directory, "zyst.lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock; RuntimeError with a one-line reason if the directory is in use or
        the lock file cannot be created (an unwritable directory)."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise RuntimeError(
                f"Can't open the lock file {self.path} in the data directory: {exc.strerror}"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            holder = ""
            with contextlib.suppress(OSError), open(self.path, encoding="utf-8") as fh:
                holder = fh.read().strip()
            raise RuntimeError(
                f"the data directory {os.path.dirname(self.path)} is in use by another Zyst "
                f"server{f' (pid {holder})' if holder else ''}; two servers must not share one "
                "data directory (choose another with --dir)"
            ) from None
        self._fd = fd
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError as exc:
            self.release()
            raise RuntimeError(f"Can't write the lock file {self.path}: {exc.strerror}") from None

    def forget(self) -> None:
        """Close this process's copy of the lock without removing the file (a forked child:
        the parent still holds the lock)."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.path)
            os.close(self._fd)
            self._fd = None


class Server:
    """One running server: its context, listeners, AOF writer and cron."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.ctx = ServerContext(config)
        # requirepass, and the clients of users ACL commands change (zyst.commands.guard).
        guard.follow_users(self.ctx)
        self.propagation = Propagation()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.listeners: list[Listener] = []
        # TLS (tls-port, on the bind addresses) and the Unix socket (unixsocket).
        self.tls = tls.Tls(config)
        self.tls.on_context = self._use_tls_context
        self.tls_listeners: list[Listener] = []
        self.unix_listener: Listener | None = None
        self.connections: set[Connection] = set()
        self.gate: ReplyGate | None = None
        self.lock: DataDirLock | None = None
        self.expirer = ActiveExpirer(self.ctx.keyspace)
        self.clients_cron = ClientsCron(self.ctx, self.connections)
        self._stopping: asyncio.Event | None = None
        self._cron_task: asyncio.Task[None] | None = None
        self._factory: Any = None
        self._bound: tuple[list[str], int] = ([], -1)
        self._tls_bound: tuple[list[str], int] = ([], 0)
        self.ctx.keyspace.on_expired = self._on_expired
        # (maxmemory: the CAPPED bit follows the setting; evicted keys' DEL take the path of
        # expired ones.)
        maxmemory.follow_settings(self.ctx)
        self.ctx.request_shutdown = self._request_shutdown
        self.ctx.aof_info = self._aof_info
        self.saving = saving_of(self.ctx)
        self.primary = primary_of(self.ctx)
        self.primary.on_active = self._replication_active
        self.primary.request_flush = self.propagation.request_flush
        self.follower = follower_of(self.ctx)
        self.follower.on_change = self._on_role_change
        self.saving.aux_fields = lambda: snapshot_aux(self.ctx)
        self.follower.on_dataset_replaced = self._restart_aof
        config.on_change("replica-serve-stale-data", lambda name: self._on_role_change())
        # Writes are refused while the AOF or the RDB snapshot cannot be written; the RDB's
        # refusal wins, as in Redis. The AOF's is kept apart to combine them.
        self._aof_refusal: str | None = None
        self.saving.on_status = self._refresh_refusal
        config.on_change("min-replicas-max-lag", lambda name: self._refresh_refusal())
        # (min-replicas-to-write refuses writes from the start, before any replica came.)
        self._refresh_refusal()
        for name in (
            "save",
            "stop-writes-on-bgsave-error",
            "min-replicas-to-write",
            "replica-read-only",
        ):
            config.on_change(name, lambda name: self._refresh_refusal())
        self.ctx.children.child_setup = self._in_child
        self.rewrite = AofRewrite(
            config,
            self.ctx.children,
            self.ctx.keyspace,
            lambda: engine_of(self.ctx).functions.codes(),
            lambda: self.aof,
        )
        self.ctx.request_aof_rewrite = self.rewrite.request
        # While the AOF loads: INFO's loading_* fields (start time, total and loaded bytes).
        self._loading: dict[str, int] = {}
        # Set when the server is embedded in a host process (zyst.testing.embedded): called
        # once it serves; the host keeps its own signal handlers.
        self.on_serving: Callable[[Server], None] | None = None
        # The HTTP port (metrics-port: zyst.web), while it serves; what run() exits with.
        self.http: HttpPort | None = None
        self.exit_code = 0

    def _in_child(self) -> None:
        """In a forked child: let go of what only the server may hold (the data directory's
        lock stays with the parent: closing the child's copy does not release it)."""
        if self.lock is not None:
            self.lock.forget()

    # -- propagation ---------------------------------------------------------------------
    @property
    def aof(self) -> AofWriter | None:
        """The AOF writer while the AOF is on (it lives in :attr:`propagation`)."""
        return self.propagation.aof

    @aof.setter
    def aof(self, writer: AofWriter | None) -> None:
        self.propagation.aof = writer
        self._follow_propagation()
        self._aof_refusal = None if writer is None else writer.refusal
        self._refresh_refusal()

    def _follow_propagation(self) -> None:
        """Changes are propagated while the AOF is on or replicas take them."""
        propagation = self.propagation
        wanted = propagation.aof is not None or propagation.replication is not None
        self.ctx.set_propagation(propagation.propagate if wanted else None)

    def _replication_active(self, primary: Primary) -> None:
        """The first replica attached: the replication stream takes every change from now."""
        self._route_replication()

    def _route_replication(self) -> None:
        """Our changes feed the replication stream while we have a history to feed and no
        primary: a replica's stream is its primary's, passed on unchanged
        (zyst.replication.replica), and its own clients' writes go to no replica."""
        primary = self.primary
        wanted = primary.backlog is not None and not self.follower.following
        self.propagation.replication = primary if wanted else None
        self._follow_propagation()

    def _on_role_change(self) -> None:
        """REPLICAOF changed the role, or a replica's link went up or down."""
        self._route_replication()
        self._refresh_refusal()
        # A replica expires nothing itself (keys past their deadline only look missing): its
        # primary's DELs remove them, as in Redis. CLIENT PAUSE holds expiry the same way.
        follower = self.follower
        following = follower.following
        self.ctx.keyspace.paused = following or pause_of(self.ctx).kind != PAUSE_OFF
        serve = not following or follower.link_up or self.config.replica_serve_stale_data
        stale.serve_stale(self.ctx, serve, follower.client)
        maxmemory.apply_cap(self.ctx)

    def _on_expired(self, db_index: int, key: bytes) -> None:
        self.ctx.propagate(db_index, [b"DEL", key])

    # -- AOF -----------------------------------------------------------------------------
    def aof_path(self) -> str:
        """The AOF directory (``<dir>/<appenddirname>``)."""
        return self.rewrite.dir.path

    def read_manifest(self) -> None:
        """Read the AOF directory's manifest (at start, whether the AOF is on or not, as Redis
        does: BGREWRITEAOF works on it either way). ManifestError if it is unreadable."""
        self.rewrite.manifest = self.rewrite.dir.read_manifest()

    def load_aof(self) -> None:
        """Replay the AOF directory (moving a legacy single file in first, as Redis 7.0)."""
        aofdir = self.rewrite.dir
        self.read_manifest()
        if aofdir.needs_upgrade(self.rewrite.manifest):
            self.rewrite.manifest = aofdir.upgrade(self.rewrite.manifest)
        current = self.rewrite.manifest
        if current.is_empty():
            log.info("No AOF in %s yet: starting empty", aofdir.path)
            return
        total, _ = aofdir.sizes(current)
        if total == 0:
            return
        loader = Client(self.ctx, 0)

        call = commands.call

        databases = len(self.ctx.keyspace.dbs)

        def apply(db_index: int, argv: list[bytes]) -> None:
            # A SELECT of a database this server does not have fails, as it does in Redis,
            # which goes on loading into the database selected before.
            if loader.db.index != db_index and db_index < databases:
                loader.select(db_index)
            reply = call(loader, argv)
            timing.forget()  # a replayed command is no call of a client's (as in Redis)
            if loader.close_asap:
                # POST or Host: (a cross-protocol request) is no command Redis could have written.
                raise CommandError(f"Unknown command '{argv[0].decode('utf-8', 'replace')}'")
            if type(reply) is ErrorReply:
                # Replaying what was accepted once must not fail; an unknown command means the
                # file is not ours to load. Other errors are logged, as Redis does.
                if reply.message.startswith("ERR unknown command"):
                    raise CommandError(f"Unknown command '{argv[0].decode('utf-8', 'replace')}'")
                log.debug("AOF command %r answered %s", argv[:1], reply.message)

        last_report = [0.0]
        # Bytes of the files loaded before the current one.
        loaded = [0]
        self._loading = {
            "loading_start_time": int(time.time()),
            "loading_total_bytes": total,
            "loading_loaded_bytes": 0,
        }

        def progress(done: int, size: int) -> None:
            self._loading["loading_loaded_bytes"] = loaded[0] + done
            now = time.monotonic()
            if now - last_report[0] >= 1.0:
                last_report[0] = now
                log.info(
                    "Loading AOF: %.1f%% (%d of %d bytes)",
                    100.0 * (loaded[0] + done) / max(total, 1),
                    loaded[0] + done,
                    total,
                )

        keyspace = self.ctx.keyspace
        on_library = library_loader(self.ctx)

        def preamble(fileobj: BinaryIO) -> None:
            # A base written with aof-use-rdb-preamble (or an old file with a preamble).
            try:
                load_rdb(fileobj, keyspace, on_library, progress=lambda done: progress(done, 0))
            except RdbError as exc:
                raise AofCorruptError(
                    exc.offset, f"Error reading the RDB preamble: {exc}"
                ) from None

        def load_file(path: str) -> AofLoadResult:
            result = load_aof(path, apply, progress, preamble)
            loaded[0] += os.path.getsize(path)
            return result

        self.ctx.loading = True
        try:
            result = aofdir.load(current, load_file)
        finally:
            self.ctx.loading = False
            self._loading = {}
        if result.truncated_path is not None:
            log.warning(
                "!!! Warning: short read while loading the AOF file %s: the last command was "
                "cut off (a crash while writing?). Loaded up to offset %d; the incomplete tail "
                "is removed.",
                result.truncated_path,
                result.truncated_to,
            )
            truncate_file(result.truncated_path, result.truncated_to)
        keys = sum(len(db) for db in self.ctx.keyspace.dbs)
        log.info(
            "DB loaded from append only file: %d commands, %d keys, %d bytes",
            result.commands,
            keys,
            result.total_size,
        )

    def open_aof(self) -> None:
        """Open the AOF directory for appending at start (creating its first files if need
        be); OSError if it cannot be."""
        self.aof = self.rewrite.open_on_start(self._new_writer)

    def _new_writer(self, path: str, fd: int | None = None) -> AofWriter:
        return AofWriter(
            path,
            FsyncPolicy(self.config.appendfsync),
            on_status=self._on_aof_status,
            on_fatal=self._die,
            fd=fd,
        )

    def _on_aof_status(self, refusal: str | None) -> None:
        """The AOF writer's error state changed (maybe from its fsync thread): while it stands,
        writes and PING are refused with ``refusal`` (``MISCONF ...``), as in Redis. When it
        clears, replies held for the failed write may leave: a release is scheduled (thread-safe,
        and never run inside the flush or the handler that cleared it)."""
        self._aof_refusal = refusal
        self._refresh_refusal()
        loop, gate = self.loop, self.gate
        if refusal is None and loop is not None and gate is not None and not loop.is_closed():
            loop.call_soon_threadsafe(gate.release)

    def _refresh_refusal(self) -> None:
        """Set ``ctx.write_refusal`` from the two sources of ``MISCONF``: a failed background
        save (stop-writes-on-bgsave-error) first, else the AOF's write error."""
        saving = self.saving
        saving.refusal = saving.current_refusal()
        misconf = saving.refusal or self._aof_refusal
        self.ctx.ping_refusal = misconf
        readonly = None
        if self.follower.following and self.config.replica_read_only:
            readonly = errors.READONLY_REPLICA
        self.ctx.write_refusal = misconf or self._replicas_refusal() or readonly

    def _replicas_refusal(self) -> str | None:
        """NOREPLICAS while min-replicas-to-write asks for more good replicas (online, and
        acknowledged within min-replicas-max-lag seconds) than there are."""
        config = self.config
        need = config.min_replicas_to_write
        lag = config.min_replicas_max_lag
        if not need or not lag or self.follower.following:
            return None  # (a replica's writes are its primary's: never refused for this)
        if self.primary.good_replicas(lag) >= need:
            return None
        return errors.NOREPLICAS

    def _die(self, reason: str) -> None:
        """Exit at once, sending nothing more: an AOF write failed under ``appendfsync always``
        and what the held replies acknowledge is not on disk (the writer has logged why)."""
        for handler in log.handlers:
            with contextlib.suppress(Exception):
                handler.flush()
        if self.lock is not None:
            self.lock.release()
        os._exit(1)

    def _aof_info(self) -> dict[str, Any]:
        aof = self.aof
        info = self.rewrite.info()
        info.update(
            aof_enabled=int(aof is not None),
            aof_last_write_status="ok" if aof is None or aof.refusal is None else "err",
            aof_buffer_length=0,  # (written before each reply leaves: nothing waits here)
            aof_pending_bio_fsync=int(aof is not None and aof.fsync_running()),
            aof_delayed_fsync=aof.delayed_fsyncs if aof is not None else 0,
            aof_fsync=self.config.appendfsync,
        )
        loading = self._loading
        if loading:
            total = loading["loading_total_bytes"]
            done = loading["loading_loaded_bytes"]
            elapsed = int(time.time()) - loading["loading_start_time"]
            eta = (elapsed * (total - done)) // (done + 1) if elapsed else 1
            info.update(loading)
            info.update(
                loading_rdb_used_mem=0,
                loading_loaded_perc=f"{100.0 * done / total if total else 0.0:.2f}",
                loading_eta_seconds=eta,
            )
        return info

    def _on_config_change(self, name: str) -> None:
        if name == "appendfsync" and self.aof is not None:
            self.aof.set_policy(FsyncPolicy(self.config.appendfsync))
        elif name == "appendonly":
            if self.config.appendonly and self.aof is None:
                self._start_aof()
            elif not self.config.appendonly and self.aof is not None:
                self.rewrite.turn_off()
                self.aof.close()
                self.aof = None
                if self.gate is not None:
                    # Nothing to wait for any more: replies held for the old file leave now.
                    self.gate.release()

    def _restart_aof(self) -> None:
        """A full sync replaced the dataset: the AOF starts again from it, as CONFIG SET
        appendonly yes does (a new base written now, then the stream appended), so that the
        files never describe a mix of the old data and the new stream (Redis stops its AOF
        before such a load and starts it again after)."""
        if self.aof is None:
            return
        self.rewrite.turn_off()
        self.aof.close()
        self.aof = None
        try:
            self._start_aof()
        except ValueError:
            log.warning("The AOF stays off after the sync: it could not be started again")

    def _start_aof(self) -> None:
        """Turn the AOF on at run time: a new base made from the dataset and a new incremental
        file replace the files there were (old ones would bring back keys deleted while the
        AOF was off), then changes are appended. Both files and their manifest are durable
        before CONFIG SET answers, and no command runs meanwhile, so no write is acknowledged
        before it is safe."""
        try:
            self.aof = self.rewrite.turn_on(lambda fd, path: self._new_writer(path, fd))
        except OSError as exc:
            log.warning("Can't turn on the AOF in %s: %s", self.aof_path(), exc)
            raise ValueError(errors.AOF_TURN_ON_FAILED) from exc

    def _on_maxclients_change(self, name: str) -> None:
        """CONFIG SET maxclients: raise the open-file limit for it, or refuse with the number
        of clients the operating system allows (Redis's updateMaxclients)."""
        wanted = self.config.maxclients
        try:
            allowed = adjust_open_files_limit(wanted)
        except FdLimitError:
            allowed = 0
        if allowed != wanted:
            raise ValueError(errors.maxclients_unavailable(allowed))

    def _on_output_limit_change(self, name: str) -> None:
        """CONFIG SET client-output-buffer-limit: the size from which each connection checks
        its output against the hard limits before sending it."""
        check = output_check_of(self.config)
        for conn in self.connections:
            conn.output_check = check

    def _on_request_limit_change(self, name: str) -> None:
        """CONFIG SET proto-max-bulk-len / client-query-buffer-limit: as in Redis, the new limit
        holds for the clients already connected too, from their next bytes on."""
        for conn in self.connections:
            conn.parser.max_bulk = self.config.proto_max_bulk_len
            conn.parser.max_query_buffer = self.config.client_query_buffer_limit

    # -- lifecycle -----------------------------------------------------------------------
    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        self.loop = loop
        self._stopping = asyncio.Event()
        self.gate = ReplyGate(loop, self.propagation.flush, self.propagation.failing)
        self.propagation.schedule = loop.call_soon
        self.ctx.blocking.call_later = loop.call_later
        self.ctx.blocking.call_soon = loop.call_soon
        evictor_of(self.ctx).call_soon = loop.call_soon

        def factory() -> Connection:
            conn = Connection(
                self.ctx,
                self.propagation.hold_offset,
                self.gate,
                self.connections.discard,
            )
            self.connections.add(conn)
            return conn

        self._factory = factory
        # A script that runs past busy-reply-threshold serves the clients through this.
        self.ctx.busy_pump = EventPump(loop, self.connections, self.all_listeners, factory)
        if self.config.metrics_port:
            # (Imported here: a server without the HTTP port never loads aiohttp.)
            from zyst.web.http import HttpPort

            http = HttpPort(self.ctx, self.config.metrics_bind, self.config.metrics_port)
            try:
                await http.start()
            except OSError as exc:
                address = f"{self.config.metrics_bind}:{self.config.metrics_port}"
                log.warning("Failed listening on the metrics port %s: %s, aborting.", address, exc)
                print(f"zyst: can't listen on the metrics port {address}: {exc}", file=sys.stderr)
                self.exit_code = 1
                return
            self.http = http
        # run() opened the listening sockets before loading the data; accept on them now.
        for listener in self.all_listeners():
            listener.start(loop, factory)
        for name in ("port", "bind"):
            self.config.on_change(name, self._on_listen_change)
        for name in tls.RECONFIGURING:
            self.config.on_change(name, self.tls.settings_changed)
        self.config.on_change("tls-auth-clients", self.tls.auth_clients_changed)
        self.config.on_change("tls-port", self._on_tls_port_change)
        for name in ("proto-max-bulk-len", "client-query-buffer-limit"):
            self.config.on_change(name, self._on_request_limit_change)
        self.config.on_change("maxclients", self._on_maxclients_change)
        self.config.on_change("client-output-buffer-limit", self._on_output_limit_change)
        if self.on_serving is None:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self._signal_shutdown, sig)
        log.info("Running mode=standalone, port=%d.", self.ctx.tcp_port)
        if self.listeners or self.tls_listeners:
            log.info("Ready to accept connections tcp")
        if self.unix_listener is not None:
            log.info(
                "The server is now ready to accept connections at %s", self.unix_listener.address
            )
        supervise.notify("STATUS=Ready to accept connections")
        supervise.notify("READY=1")
        self._cron_task = loop.create_task(self._cron())
        if self.config.replicaof:
            host, port = self.config.replicaof.rsplit(" ", 1)
            # A snapshot loaded at start that carries our replication history (written while
            # we were a replica) lets the first PSYNC continue it, as Redis does.
            resume = resume_history(self.ctx, self.saving.last_aux)
            self.follower.follow(host, int(port), resume=resume)
        if self.on_serving is not None:
            self.on_serving(self)
        await self._stopping.wait()
        await self._shutdown()

    def _listen(self, entries: list[str], port: int) -> int:
        """Listen on the ``bind`` entries at ``port`` (0: a free one), replacing the listeners
        there were; returns the port. A listener whose address and port stay is kept as it is
        (a second socket there would collide with it). Raises ListenError, leaving the old
        listeners, if a required address fails. Until :meth:`serve` runs, new sockets only
        queue connections in their backlog."""
        self.listeners, port = self._replace_listeners(self.listeners, entries, port, None)
        self.ctx.tcp_port = port
        # Port 0 asks for a free one: from now on the setting is the port actually used, so
        # CONFIG GET and CONFIG REWRITE tell the truth.
        self.config.port = port
        self._bound = (list(entries), port)
        return port

    def _replace_listeners(
        self,
        current: list[Listener],
        entries: list[str],
        port: int,
        context: ssl.SSLContext | None,
    ) -> tuple[list[Listener], int]:
        """The listeners on ``entries`` at ``port`` that replace ``current``: those whose
        address and port stay are kept, the others closed once the new ones are open (none
        closed when one fails: ListenError)."""
        wanted = {listen_address(entry)[0] for entry in entries}
        kept = [
            listener
            for listener in current
            if port != 0 and listener.port == port and listener.address in wanted
        ]
        staying = {listener.address for listener in kept}
        fresh, port = open_listeners(
            [entry for entry in entries if listen_address(entry)[0] not in staying],
            port,
            self.config.tcp_backlog,
            context,
        )
        for listener in current:
            if listener not in kept:
                listener.close()
        if self.loop is not None:
            for listener in fresh:
                listener.start(self.loop, self._factory)
        return kept + fresh, port

    def _listen_tls(self, entries: list[str], port: int) -> None:
        """Listen with TLS on the ``bind`` entries at ``port`` (0: nowhere), replacing the TLS
        listeners there were. TlsConfigError when TLS is not configured and cannot be;
        ListenError, leaving the old listeners, if a required address fails."""
        if port == 0:
            for listener in self.tls_listeners:
                listener.close()
            self.tls_listeners = []
        else:
            context = self.tls.ensure()
            self.tls_listeners, _ = self._replace_listeners(
                self.tls_listeners, entries, port, context
            )
        self._tls_bound = (list(entries), port)

    def _use_tls_context(self, context: ssl.SSLContext) -> None:
        for listener in self.tls_listeners:
            listener.use_context(self.loop, self._factory, context)

    def all_listeners(self) -> list[Listener]:
        """Every listening socket: plain TCP, TLS, the Unix socket."""
        unix = [self.unix_listener] if self.unix_listener is not None else []
        return self.listeners + self.tls_listeners + unix

    def _on_tls_port_change(self, name: str) -> None:
        """CONFIG SET tls-port: configure TLS if it is not yet, listen there (0: stop)."""
        try:
            self._listen_tls(list(self.config.bind), self.config.tls_port)
        except tls.TlsConfigError:
            raise ValueError(errors.TLS_UPDATE_FAILED) from None
        except OSError as exc:
            log.warning("CONFIG SET tls-port %d: %s", self.config.tls_port, exc)
            raise ValueError(errors.TLS_PORT_FAILED) from exc

    def _close_unix(self) -> None:
        """Close the Unix socket and remove its file (at exit, as Redis does)."""
        listener, self.unix_listener = self.unix_listener, None
        if listener is None:
            return
        listener.close()
        log.info("Removing the unix socket file.")
        try:
            os.unlink(listener.address)
        except OSError as exc:
            log.warning("Error removing the unix socket file: %s", exc.strerror)

    def _on_listen_change(self, name: str) -> None:
        """CONFIG SET port/bind: listen anew, or refuse (Redis's words) and keep listening.
        ``bind`` moves the TLS listeners too."""
        wanted = (list(self.config.bind), self.config.port)
        if name == "bind" and self._tls_bound[1] and wanted[0] != self._tls_bound[0]:
            try:
                self._listen_tls(wanted[0], self._tls_bound[1])
            except OSError as exc:
                log.warning("CONFIG SET bind: could not listen with TLS: %s", exc)
                raise ValueError("Failed to bind to specified addresses.") from exc
        if wanted == self._bound:
            return
        try:
            self._listen(*wanted)
        except OSError as exc:
            if name == "bind" and self._tls_bound[1]:
                # Back to where the TLS listeners were, as the plain ones stay there.
                with contextlib.suppress(OSError):
                    self._listen_tls(self._bound[0], self._tls_bound[1])
            addresses = " ".join(wanted[0])
            log.warning(
                "CONFIG SET %s: could not listen on %s port %d: %s", name, addresses, wanted[1], exc
            )
            if name == "port":
                raise ValueError("Unable to listen on this port") from exc
            raise ValueError("Failed to bind to specified addresses.") from exc
        log.info("Listening anew on %s, port %d", " ".join(wanted[0]), self.ctx.tcp_port)

    def _signal_shutdown(self, sig: int) -> None:
        name = "SIGINT" if sig == signal.SIGINT else "SIGTERM"
        log.warning("Received %s scheduling shutdown...", name)
        if not self._request_shutdown(None, False):
            log.warning(
                "%s received but errors trying to shut down the server, check the logs for "
                "more information",
                name,
            )

    def _request_shutdown(self, save: bool | None, force: bool) -> bool:
        """Redis's finishShutdown, up to the point of no return: stop a child, write the final
        snapshot when ``save`` is True, or None with a ``save`` schedule set. When that save
        fails (without ``force``) the server goes on and this is False; else the server
        stops once the running command's batch is done."""
        log.warning("User requested shutdown...")
        supervise.notify("STOPPING=1")
        children = self.ctx.children
        if children.kind == CHILD_KIND:
            log.warning("There is a child saving an .rdb. Killing it!")
            self.saving.kill()
        elif children.kind is not None:
            log.warning("There is a child rewriting the AOF. Killing it!")
            self.rewrite.turn_off()
        if save or (save is None and self.config.save.strip()):
            log.info("Saving the final RDB snapshot before exiting.")
            supervise.notify("STATUS=Saving the final RDB snapshot")
            if not self.saving.save():
                if not force:
                    supervise.notify("STATUS=Error trying to save the DB, can't exit.")
                    log.warning("Error trying to save the DB, can't exit.")
                    log.warning(
                        "Errors trying to shut down the server. Check the logs for more "
                        "information."
                    )
                    return False
                log.warning("Error trying to save the DB. Exit anyway.")
        if self._stopping is not None:
            self._stopping.set()
        return True

    async def _shutdown(self) -> None:
        if self._cron_task is not None:
            self._cron_task.cancel()
        # A child still writing a snapshot is of no use once we are gone (Redis kills it too).
        self.ctx.children.kill()
        for listener in self.listeners + self.tls_listeners:
            listener.close()
        self._close_unix()
        if self.http is not None:
            await self.http.stop()
            self.http = None
        if self.gate is not None:
            self.gate.release()
        if self.aof is not None:
            log.info("Calling fsync() on the AOF file.")
            self.aof.close()
            self.aof = None
        for conn in list(self.connections):
            conn.close()
        log.warning("Zyst is now ready to exit, bye bye...")

    async def _cron(self) -> None:
        last_fsync = time.monotonic()
        while True:
            # Read each time: CONFIG SET hz takes effect at once (INFO shows it as the hz).
            interval = 1.0 / max(1, min(self.config.hz, 500))
            await asyncio.sleep(interval)
            try:
                self.ctx.keyspace.refresh_lru_clock()
                self.ctx.children.poll()
                if self.config.maxmemory:
                    # (Corrects the estimate with what the commands' own did not see.)
                    evictor_of(self.ctx).meter.measure()
                if self.ctx.active_expire:
                    began = time.monotonic()
                    self.expirer.run(time_budget=interval * 0.25)
                    latency.sample_if_needed("expire-cycle", time.monotonic() - began)
                encodings.prune(self.ctx.keyspace)
                self.clients_cron.tick()
                tracking = self.ctx.signal.tracking
                if tracking.clients:
                    # (Also done before each command of a tracking client: this is for a
                    # server left idle after CONFIG SET tracking-table-max-keys.)
                    tracking.limit(self.config.tracking_table_max_keys)
                now = time.monotonic()
                self._sample_ops(now)
                # A scheduled or automatic AOF rewrite; timestamp annotations.
                self.rewrite.cron()
                self.saving.cron()
                if self.primary.replicas or self.primary.backlog is not None:
                    self.primary.cron()
                if self.follower.following:
                    self.follower.cron()
                if self.config.min_replicas_to_write:
                    # Good replicas come and go with their acknowledgements: a refusal of writes
                    # follows them (Redis's refreshGoodSlavesCount, run from its cron).
                    self._refresh_refusal()
                aof = self.aof
                gate = self.gate
                if gate is not None and (gate.pending() or (aof and aof.write_error)):
                    # Retry a write that failed (every tick, as Redis retries on each turn of
                    # its loop); replies waiting for it leave once it is written.
                    gate.release()
                if aof is not None and now - last_fsync >= 1.0:
                    last_fsync = now
                    if aof.policy is FsyncPolicy.EVERYSEC or aof.fsync_error is not None:
                        # Also retried under another policy: a failed fsync refuses writes
                        # until one succeeds.
                        self.propagation.flush()
                        aof.fsync_in_background()
            except Exception:  # the cron must survive anything one run does
                log.exception("cron run failed")

    def _sample_ops(self, now: float) -> None:
        # Commands per second and network KiB per second (INFO's instantaneous_* fields).
        self.ctx.stats.sample(now)


def _new_event_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # uvloop is optional: plain asyncio works everywhere
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop


class _ShutdownSignal(BaseException):
    """SIGTERM or SIGINT arrived while starting, before the event loop took the signals over
    (a BaseException, as KeyboardInterrupt: no `except Exception` on the way may swallow it)."""


def _shutdown_while_starting(signum: int, frame: object) -> None:
    log.warning("Received shutdown signal during loading, scheduling shutdown.")
    raise _ShutdownSignal(signum)


def _fatal(reason: str) -> int:
    """Log why the server cannot start, say it on standard error too; the exit code."""
    log.warning("%s", reason)
    print(f"zyst: {reason}", file=sys.stderr)
    return 1


def load_users(acl: Acl, config: Config) -> str | None:
    """Make the users the config declares, then load the users file, as Redis does at start;
    why the server cannot start, or ``None``."""
    if config.aclfile and config.users:
        return (
            "Configuring Redis with users defined in redis.conf and at the same setting an ACL "
            "file path is invalid. This setup is very likely to lead to configuration errors "
            "and security holes, please define either an ACL file or declare users directly "
            "in your redis.conf, but not both."
        )
    failure = acl.load_declared(config.users)
    if failure is not None:
        log.warning("%s", failure)
        return "Critical error while loading ACLs. Exiting."
    if config.aclfile:
        try:
            aclfile.load(acl, config.aclfile)
        except AclError as exc:
            return f"Aborting Redis startup because of ACL errors: {exc.message[4:]}"
    return None


def log_ignored(config: Config) -> None:
    """Name, once, the directives the configuration gave that Zyst does not apply."""
    if config.ignored:
        log.info(
            "Accepted and ignored (Redis settings Zyst does not implement): %s",
            ", ".join(config.ignored),
        )


def run(config: Config, on_serving: Callable[[Server], None] | None = None) -> int:
    """Run a server with ``config`` until it is shut down; returns the process exit code.

    The order is Redis's: what the configuration names is checked first (log file, data
    directory), then the process detaches if ``daemonize`` says so; the listening sockets are
    opened before the data is loaded, so a server that cannot listen touches no file and
    clients that connect while it loads wait in the listen queue.

    With ``on_serving`` the server is embedded in a host process, in a thread of its own
    (:mod:`zyst.testing.embedded`): ``on_serving(server)`` is called in that thread once it
    serves, and what belongs to the whole process is left to the host: signal handlers, the
    ``zyst`` logger's handlers, daemonizing, the garbage collector's frozen generation."""
    embedded = on_serving is not None
    if not embedded:
        # As Redis: a hang-up of the terminal or a write to a closed socket must not end the
        # server.
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        try:
            setup_logging(config)
        except OSError as exc:
            print(f"zyst: Can't open the log file: {exc.strerror}", file=sys.stderr)
            return 1
    try:
        os.makedirs(config.dir, exist_ok=True)
    except OSError as exc:
        return _fatal(f"Can't create the data directory {config.dir}: {exc.strerror}")
    # A supervised server stays in the foreground: its manager keeps it (Redis's rule). An
    # embedded one belongs to its host: neither supervised nor detached.
    supervised = False if embedded else supervise.start(config.supervised)
    if config.daemonize and not supervised and not embedded:
        config.pidfile = config.pidfile or DEFAULT_PIDFILE
        if daemonize():
            return 0
    RedisFormatter.server_pid = os.getpid()
    log.info("Zyst is starting oO0OoO0OoO0Oo")
    log.info(
        "Zyst version=%s (Redis %s compatible), bits=64, pid=%d, just started",
        __version__,
        REDIS_VERSION,
        os.getpid(),
    )
    log_ignored(config)
    try:
        config.maxclients = adjust_open_files_limit(config.maxclients)
    except FdLimitError as exc:
        return _fatal(str(exc))
    lock = DataDirLock(config.dir)
    try:
        lock.acquire()
    except RuntimeError as exc:
        return _fatal(str(exc))
    # Until the event loop serves, SIGTERM and SIGINT end the start orderly (exit code 0).
    previous = {}
    if not embedded:
        previous = {
            sig: signal.signal(sig, _shutdown_while_starting)
            for sig in (signal.SIGTERM, signal.SIGINT)
        }
    server = Server(config)
    server.lock = lock
    server.on_serving = on_serving
    pidfile = ""
    try:
        if tls.wanted(config):
            try:
                server.tls.configure()
            except tls.TlsConfigError:
                return _fatal("Failed to configure TLS. Check logs for more info.")
        try:
            server._listen(config.bind, config.port)
        except ListenError as exc:
            log.warning("Failed listening on port %d (TCP), aborting.", config.port)
            print(f"zyst: {exc}", file=sys.stderr)
            return 1
        if config.tls_port:
            try:
                server._listen_tls(config.bind, config.tls_port)
            except ListenError as exc:
                log.warning("Failed listening on port %d (TLS), aborting.", config.tls_port)
                print(f"zyst: {exc}", file=sys.stderr)
                return 1
        if config.unixsocket:
            try:
                server.unix_listener = open_unix_listener(
                    config.unixsocket, config.unixsocketperm, config.tcp_backlog
                )
            except ListenError as exc:
                return _fatal(f"Failed opening Unix socket: {exc}")
        if not server.all_listeners():
            return _fatal("Configured to not listen anywhere, exiting.")
        check_somaxconn(config.tcp_backlog)
        for old, new in config.renames:
            table.rename(old, new)
        # Modules before the users (whose rules may name module commands) and the data (whose
        # AOF may hold module commands), as Redis orders them.
        failure = load_at_start(config.modules)
        if failure is not None:
            return _fatal(failure)
        failure = load_users(server.ctx.acl, config)
        if failure is not None:
            return _fatal(failure)
        if config.pidfile and write_pidfile(config.pidfile):
            pidfile = config.pidfile
        try:
            if config.appendonly:
                server.load_aof()
            else:
                server.read_manifest()
        except ManifestError as exc:
            log.warning("*** FATAL AOF MANIFEST FILE ERROR ***")
            if exc.line_number is not None:
                log.warning("Reading the manifest file, at line %d", exc.line_number)
                log.warning(">>> '%s'", exc.line.decode("utf-8", "replace"))
            return _fatal(exc.reason)
        except AofCorruptError as exc:
            log.warning("Fatal error loading the AOF %s: %s", exc.path or server.aof_path(), exc)
            print(f"zyst: {exc}", file=sys.stderr)
            return 1
        except AofLoadError as exc:
            return _fatal(str(exc))
        except OSError as exc:
            return _fatal(f"Can't load the append only file {exc.filename}: {exc.strerror}")
        if config.appendonly:
            try:
                server.open_aof()
            except OSError as exc:
                return _fatal(f"Can't open the append-only file {exc.filename}: {exc.strerror}")
            log.info("AOF enabled: %s (appendfsync %s)", server.aof_path(), config.appendfsync)
        else:
            try:
                server.saving.load()
            except RdbError as exc:
                log.warning("Internal error in RDB reading offset %d -> %s", exc.offset, exc)
                log.warning("Terminating server after rdb file reading failure.")
                print(
                    f"zyst: bad RDB file {server.saving.path} at offset {exc.offset}: {exc}",
                    file=sys.stderr,
                )
                return 1
            except OSError as exc:
                return _fatal(f"Fatal error loading the DB: {exc.strerror}. Exiting.")
        # What exists now (the loaded dataset, the command table) lives for the whole run: keep
        # it out of the cyclic garbage collector's scans, which would otherwise walk every
        # collection in the keyspace on each full collection.
        if not embedded:
            gc.collect()
            gc.freeze()
        for name in ("appendfsync", "appendonly"):
            config.on_change(name, server._on_config_change)
        loop = _new_event_loop()
        try:
            loop.run_until_complete(server.serve())
        finally:
            loop.close()
        return server.exit_code
    except _ShutdownSignal:
        server.ctx.children.kill()
        if server.aof is not None:
            server.aof.close()
            server.aof = None
        log.warning("Zyst is now ready to exit, bye bye...")
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for listener in server.listeners + server.tls_listeners:
            listener.close()
        server._close_unix()
        if pidfile:
            remove_pidfile(pidfile)
        lock.release()
