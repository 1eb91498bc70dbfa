"""Server commands: FLUSHDB, FLUSHALL, INFO, CONFIG, TIME and SHUTDOWN.

INFO writes Redis's text format (``# Section`` then ``field:value`` lines, CRLF-terminated,
sections separated by an empty line), fields in Redis's order. Every field shown is true of
this server: counters of things Zyst never does (replicas, evictions) are the 0 or -1 an idle
Redis shows for them, which is exactly their value here (the RDB fields are
:mod:`zyst.persistence.saving`'s, the fork counters ``ctx.children``'s);
fields whose meaning Zyst cannot give (allocator internals, fragmentation, recent client buffer
peaks, the replication backlog's size) are left out rather than made up. Memory is the
process's resident set: Python has no allocator counter like jemalloc's. Sections always come in
Redis's order, whatever order they were asked in.
"""

from __future__ import annotations

import hashlib
import logging
import os
import platform
import resource
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from zyst import REDIS_VERSION, __version__, errors, keyspace, migrating, supervise, timing
from zyst.busy import busy_error
from zyst.client import Client
from zyst.commands.debug import allowed_by
from zyst.commands.introspection import help_reply
from zyst.commands.table import COMMANDS, Command, Reply, command, container, subcommand
from zyst.config import format_percentile
from zyst.config_rewrite import rewrite_config
from zyst.errors import CommandError
from zyst.eviction import evictor_of
from zyst.modules import registry
from zyst.persistence.saving import saving_of
from zyst.protocol import resp
from zyst.protocol.resp import OK, ErrorReply, Map, Verbatim
from zyst.replication.primary import primary_of
from zyst.replication.replica import follower_of
from zyst.security.acl import describe_line

if TYPE_CHECKING:
    from zyst.context import ServerContext

log = logging.getLogger("zyst")

# Identifiers of this process's run, as Redis makes a new one at each start.
_RUN_ID = os.urandom(20).hex()


def _build_id() -> str:
    """What identifies this build, as Redis's hash of its version and build options: Zyst's
    version, the Python build it runs on, and whether the hot modules are compiled."""
    compiled = not keyspace.__file__.endswith(".py") if keyspace.__file__ else False
    build = f"{__version__} {sys.implementation.name} {sys.version} {compiled}"
    return hashlib.sha1(build.encode()).hexdigest()[:16]


def _compiler_version() -> str:
    """The GCC version the interpreter (and so the compiled modules) was built with; Redis's
    own "0.0.0" when another compiler built it."""
    words = platform.python_compiler().split()
    if len(words) >= 2 and words[0] == "GCC":
        return words[1]
    return "0.0.0"


_BUILD_ID = _build_id()
_COMPILER_VERSION = _compiler_version()


# -- FLUSHDB / FLUSHALL -----------------------------------------------------------------------
def _flush_mode(argv: list[bytes]) -> None:
    """``[ASYNC | SYNC]``: both flush at once here (values are freed by the garbage collector)."""
    if len(argv) > 2 or (len(argv) == 2 and argv[1].lower() not in (b"async", b"sync")):
        raise CommandError(errors.SYNTAX)


@command(
    "flushdb",
    arity=-1,
    flags=("write",),
    group="server",
    summary="Remove all keys from the current database",
    syntax="[ASYNC | SYNC]",
    complexity="O(N) where N is the number of keys in the selected database",
    acl_categories=("keyspace", "dangerous"),
    tips=(
        "request_policy:all_shards",
        "response_policy:all_succeeded",
    ),
)
def flushdb(client: Client, argv: list[bytes]) -> Reply:
    """FLUSHDB [ASYNC | SYNC]"""
    _flush_mode(argv)
    removed = len(client.db)
    signal = client.ctx.signal
    if signal.listening:
        signal.database_replaced(client.db, None)
        signal.flushed()
    client.db.flush()
    # Redis propagates FLUSHDB even when the database was empty; a moved ``dirty`` is what
    # makes the dispatcher propagate.
    client.ctx.dirty += removed or 1
    return OK


@command(
    "flushall",
    arity=-1,
    flags=("write",),
    group="server",
    summary="Remove all keys from all databases",
    syntax="[ASYNC | SYNC]",
    complexity="O(N) where N is the total number of keys in all databases",
    acl_categories=("keyspace", "dangerous"),
    tips=(
        "request_policy:all_shards",
        "response_policy:all_succeeded",
    ),
)
def flushall(client: Client, argv: list[bytes]) -> Reply:
    """FLUSHALL [ASYNC | SYNC]"""
    _flush_mode(argv)
    keyspace = client.ctx.keyspace
    removed = sum(len(db) for db in keyspace.dbs)
    signal = client.ctx.signal
    if signal.listening:
        for db in keyspace.dbs:
            signal.database_replaced(db, None)
        signal.flushed()
    keyspace.flushall()
    ctx = client.ctx
    ctx.dirty += removed + 1
    # As Redis: a snapshot being written holds data that is gone now, and with a save
    # schedule the empty dataset is saved at once (the file would otherwise bring it back).
    saving = saving_of(ctx)
    saving.kill()
    if ctx.config.save.strip():
        saving.save()
    return OK


# -- TIME / SHUTDOWN --------------------------------------------------------------------------
@command(
    "time",
    arity=1,
    flags=("loading", "stale", "fast"),
    group="server",
    summary="Return the current server time",
    since="2.6.0",
    complexity="O(1)",
    tips=("nondeterministic_output",),
)
def time_(client: Client, argv: list[bytes]) -> Reply:
    """TIME"""
    now_us = time.time_ns() // 1000
    return [b"%d" % (now_us // 1_000_000), b"%d" % (now_us % 1_000_000)]


@command(
    "shutdown",
    arity=-1,
    flags=("admin", "noscript", "loading", "stale", "no_multi", "allow_busy"),
    group="server",
    summary="Synchronously save the dataset to disk and then shut down the server",
    syntax="[NOSAVE | SAVE] [NOW] [FORCE] [ABORT]",
    complexity=(
        "O(N) when saving, where N is the total number of keys in all databases when saving "
        "data, otherwise O(1)"
    ),
)
def shutdown(client: Client, argv: list[bytes]) -> Reply:
    """SHUTDOWN [NOSAVE | SAVE] [NOW] [FORCE] [ABORT]"""
    nosave = save = abort = now = force = False
    for arg in argv[1:]:
        option = arg.lower()
        if option == b"nosave":
            nosave = True
        elif option == b"save":
            save = True
        elif option == b"now":
            # Zyst has no replicas to wait for: every shutdown is as with NOW.
            now = True
        elif option == b"force":
            force = True
        elif option == b"abort":
            abort = True
        else:
            raise CommandError(errors.SYNTAX)
    if (abort and (nosave or save or now or force)) or (nosave and save):
        raise CommandError(errors.SYNTAX)
    if abort:
        # A shutdown here is never in progress for long enough to be aborted.
        raise CommandError(errors.NO_SHUTDOWN_IN_PROGRESS)
    running = client.ctx.busy
    if running is not None:
        # A script is busy (zyst.busy): only SHUTDOWN NOSAVE may end it, and with it the server.
        if not nosave:
            return ErrorReply(busy_error(running))
        from zyst.scripting.engine import engine_of

        engine_of(client.ctx).stop_for_shutdown()
    if not client.ctx.request_shutdown(True if save else False if nosave else None, force):
        # The final save failed: the server goes on (the log says why).
        return ErrorReply(errors.SHUTDOWN_FAILED)
    client.close_after_reply = True
    return resp.NO_REPLY


# -- INFO -------------------------------------------------------------------------------------
def _human_bytes(n: int) -> str:
    """Redis's ``bytesToHuman``: 1.28M, 512B, 2.00K."""
    if n < 1024:
        return f"{n}B"
    for unit, scale in (("K", 1024), ("M", 1024**2), ("G", 1024**3), ("T", 1024**4)):
        if n < scale * 1024:
            return f"{n / scale:.2f}{unit}"
    return f"{n / 1024**5:.2f}P"


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm", "rb") as statm:
            pages = int(statm.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _total_system_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (OSError, ValueError):
        return 0


Fields = list[tuple[str, object]]


def _server(ctx: ServerContext) -> Fields:
    uptime = int(time.time() - ctx.start_time)
    uname = platform.uname()
    return [
        ("redis_version", REDIS_VERSION),
        ("redis_git_sha1", "00000000"),
        ("redis_git_dirty", 0),
        ("redis_build_id", _BUILD_ID),
        ("redis_mode", "standalone"),
        ("os", f"{uname.system} {uname.release} {uname.machine}"),
        ("arch_bits", 64 if sys.maxsize > 2**32 else 32),
        ("monotonic_clock", "POSIX clock_gettime"),
        ("multiplexing_api", "epoll" if sys.platform.startswith("linux") else "kqueue"),
        ("gcc_version", _COMPILER_VERSION),
        ("process_id", ctx.pid),
        ("process_supervised", supervise.mode()),
        ("run_id", _RUN_ID),
        ("tcp_port", ctx.tcp_port),
        ("server_time_usec", time.time_ns() // 1000),
        ("uptime_in_seconds", uptime),
        ("uptime_in_days", uptime // 86400),
        ("hz", ctx.config.hz),
        ("configured_hz", ctx.config.hz),
        ("lru_clock", int(time.time()) & ((1 << 24) - 1)),
        ("executable", sys.executable),
        ("config_file", ctx.config.config_file),
        ("io_threads_active", 0),
    ]


def _clients(ctx: ServerContext) -> Fields:
    return [
        ("connected_clients", len(ctx.clients)),
        ("cluster_connections", 0),
        ("maxclients", ctx.config.maxclients),
        ("client_recent_max_input_buffer", ctx.stats.client_recent_max_input_buffer),
        ("client_recent_max_output_buffer", ctx.stats.client_recent_max_output_buffer),
        ("blocked_clients", len(ctx.blocking)),
        ("tracking_clients", ctx.signal.tracking.clients),
        ("clients_in_timeout_table", ctx.blocking.with_timeout()),
    ]


def _memory(ctx: ServerContext) -> Fields:
    # used_memory is what the allocators hold in live blocks (zyst.memory), measured now; RSS
    # is the resident set, larger by the interpreter and by what was freed but stays resident.
    meter = evictor_of(ctx).meter
    used = meter.measure()
    rss = _rss_bytes()
    peak = meter.peak
    startup = meter.startup
    dataset = max(used - startup, 0)
    system = _total_system_memory()
    maxmemory = ctx.config.maxmemory
    return [
        ("used_memory", used),
        ("used_memory_human", _human_bytes(used)),
        ("used_memory_rss", rss),
        ("used_memory_rss_human", _human_bytes(rss)),
        ("used_memory_peak", peak),
        ("used_memory_peak_human", _human_bytes(peak)),
        ("used_memory_peak_perc", f"{100 * used / peak:.2f}%" if peak else "0.00%"),
        ("used_memory_startup", startup),
        ("used_memory_dataset", dataset),
        ("used_memory_dataset_perc", f"{100 * dataset / used:.2f}%" if used else "0.00%"),
        ("total_system_memory", system),
        ("total_system_memory_human", _human_bytes(system)),
        *_scripts_memory(ctx),
        ("maxmemory", maxmemory),
        ("maxmemory_human", _human_bytes(maxmemory)),
        ("maxmemory_policy", ctx.config.maxmemory_policy),
        ("mem_fragmentation_ratio", f"{rss / used:.2f}" if used else "0.00"),
        ("mem_fragmentation_bytes", rss - used),
        ("mem_not_counted_for_evict", 0),
        ("mem_allocator", "libc"),
        ("lazyfree_pending_objects", 0),
        ("lazyfreed_objects", 0),
    ]


def _scripts_memory(ctx: ServerContext) -> Fields:
    """INFO memory's figures of the Lua interpreters (what Lua's collector counts) and of the
    script and library sources they keep (their lengths: Python's own overhead is not told)."""
    from zyst.scripting.engine import engine_of

    engine = engine_of(ctx)
    vm_eval = engine.interpreter.memory()
    loader = engine.functions
    vm_functions = loader.interpreter.memory()
    scripts_eval = sum(len(script.body) for script in engine.scripts.values())
    functions = sum(len(library.code) for library in loader.libraries.values())
    return [
        ("used_memory_lua", vm_eval),
        ("used_memory_vm_eval", vm_eval),
        ("used_memory_lua_human", _human_bytes(vm_eval)),
        ("used_memory_scripts_eval", scripts_eval),
        ("number_of_cached_scripts", len(engine.scripts)),
        ("number_of_functions", len(loader.functions)),
        ("number_of_libraries", len(loader.libraries)),
        ("used_memory_vm_functions", vm_functions),
        ("used_memory_vm_total", vm_eval + vm_functions),
        ("used_memory_vm_total_human", _human_bytes(vm_eval + vm_functions)),
        ("used_memory_functions", functions),
        ("used_memory_scripts", scripts_eval + functions),
        ("used_memory_scripts_human", _human_bytes(scripts_eval + functions)),
    ]


# Fields of ``ctx.aof_info()`` that Redis's INFO persistence has (others are Zyst's own).
_AOF_FIELDS = (
    "aof_current_size",
    "aof_base_size",
    "aof_pending_rewrite",
    "aof_buffer_length",
    "aof_pending_bio_fsync",
    "aof_delayed_fsync",
)
# Shown while the dataset loads (Redis's order).
_LOADING_FIELDS = (
    "loading_start_time",
    "loading_total_bytes",
    "loading_rdb_used_mem",
    "loading_loaded_bytes",
    "loading_loaded_perc",
    "loading_eta_seconds",
)


def _persistence(ctx: ServerContext) -> Fields:
    aof = ctx.aof_info()
    fields: Fields = [
        ("loading", int(ctx.loading)),
        ("async_loading", 0),
        *ctx.children.cow_fields(),
        *saving_of(ctx).info_fields(),
        ("aof_enabled", aof.get("aof_enabled", 0)),
        ("aof_rewrite_in_progress", aof.get("aof_rewrite_in_progress", 0)),
        ("aof_rewrite_scheduled", aof.get("aof_rewrite_scheduled", 0)),
        ("aof_last_rewrite_time_sec", aof.get("aof_last_rewrite_time_sec", -1)),
        ("aof_current_rewrite_time_sec", aof.get("aof_current_rewrite_time_sec", -1)),
        ("aof_last_bgrewrite_status", aof.get("aof_last_bgrewrite_status", "ok")),
        ("aof_rewrites", aof.get("aof_rewrites", 0)),
        ("aof_rewrites_consecutive_failures", aof.get("aof_rewrites_consecutive_failures", 0)),
        ("aof_last_write_status", aof.get("aof_last_write_status", "ok")),
        ("aof_last_cow_size", aof.get("aof_last_cow_size", 0)),
        ("module_fork_in_progress", 0),
        ("module_fork_last_cow_size", 0),
    ]
    if aof.get("aof_enabled"):
        fields.extend((name, aof[name]) for name in _AOF_FIELDS if name in aof)
    if ctx.loading:
        fields.extend((name, aof[name]) for name in _LOADING_FIELDS if name in aof)
    return fields


def _stats(ctx: ServerContext) -> Fields:
    stats = ctx.stats
    keys = ctx.keyspace
    tracking = ctx.signal.tracking
    return [
        ("total_connections_received", stats.total_connections_received),
        ("total_commands_processed", stats.commands_run),
        ("instantaneous_ops_per_sec", stats.instantaneous_ops_per_sec),
        ("total_net_input_bytes", stats.total_net_input_bytes),
        ("total_net_output_bytes", stats.total_net_output_bytes),
        ("instantaneous_input_kbps", f"{stats.instantaneous_input_kbps:.2f}"),
        ("instantaneous_output_kbps", f"{stats.instantaneous_output_kbps:.2f}"),
        ("rejected_connections", stats.rejected_connections),
        ("sync_full", primary_of(ctx).sync_full),
        ("sync_partial_ok", primary_of(ctx).sync_partial_ok),
        ("sync_partial_err", primary_of(ctx).sync_partial_err),
        ("expired_keys", keys.expired_keys),
        ("expired_stale_perc", f"{keys.expired_stale_perc * 100:.2f}"),
        ("expired_time_cap_reached_count", keys.expired_time_cap_reached_count),
        ("evicted_keys", keys.evicted_keys),
        ("evicted_clients", 0),
        ("keyspace_hits", keys.hits),
        ("keyspace_misses", keys.misses),
        ("pubsub_channels", len(ctx.pubsub.channels)),
        ("pubsub_patterns", len(ctx.pubsub.patterns)),
        ("pubsubshard_channels", len(ctx.pubsub.shard_channels)),
        ("latest_fork_usec", ctx.children.latest_fork_usec),
        ("total_forks", ctx.children.total_forks),
        ("migrate_cached_sockets", migrating.cached_count(ctx)),
        ("tracking_total_keys", len(tracking.keys)),
        ("tracking_total_items", tracking.items),
        ("tracking_total_prefixes", len(tracking.prefixes)),
        ("total_error_replies", stats.total_error_replies),
    ]


def _replication(ctx: ServerContext) -> Fields:
    follower = follower_of(ctx)
    role: Fields = [("role", "slave" if follower.following else "master")]
    if follower.following:
        role += follower.info_fields()
    return role + primary_of(ctx).info_fields()


def _cpu(ctx: ServerContext) -> Fields:
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    thread = resource.getrusage(getattr(resource, "RUSAGE_THREAD", resource.RUSAGE_SELF))
    return [
        ("used_cpu_sys", f"{me.ru_stime:.6f}"),
        ("used_cpu_user", f"{me.ru_utime:.6f}"),
        ("used_cpu_sys_children", f"{children.ru_stime:.6f}"),
        ("used_cpu_user_children", f"{children.ru_utime:.6f}"),
        ("used_cpu_sys_main_thread", f"{thread.ru_stime:.6f}"),
        ("used_cpu_user_main_thread", f"{thread.ru_utime:.6f}"),
    ]


def _modules(ctx: ServerContext) -> Fields:
    return list(registry.info_lines())


def _errorstats(ctx: ServerContext) -> Fields:
    return [
        (f"errorstat_{code}", f"count={count}")
        for code, count in sorted(ctx.stats.error_codes.items())
    ]


def _all_commands() -> list[Command]:
    """Every command and subcommand, by name."""
    found: list[Command] = []
    for cmd in COMMANDS.values():
        found.append(cmd)
        found.extend(cmd.subcommands.values())
    return sorted(found, key=lambda cmd: cmd.name)


def _commandstats(ctx: ServerContext) -> Fields:
    # Durations are zyst.timing's: exact for a command alone in its read, shares of the
    # batch's time in a pipeline.
    return [
        (
            f"cmdstat_{cmd.name}",
            f"calls={cmd.calls},usec={cmd.duration // 1000},"
            f"usec_per_call={cmd.duration / 1000 / cmd.calls if cmd.calls else 0.0:.2f},"
            f"rejected_calls={cmd.rejected_calls},failed_calls={cmd.failed_calls}",
        )
        for cmd in _all_commands()
        if cmd.calls or cmd.rejected_calls or cmd.failed_calls
    ]


def _latencystats(ctx: ServerContext) -> Fields:
    percentiles = ctx.config.latency_tracking_info_percentiles
    fields: Fields = []
    for cmd in _all_commands():
        histogram = cmd.histogram
        if histogram is None:
            continue
        values = ",".join(
            f"p{format_percentile(p)}={timing.percentile(histogram, p):.3f}" for p in percentiles
        )
        fields.append((f"latency_percentiles_usec_{cmd.name}", values))
    return fields


def _cluster(ctx: ServerContext) -> Fields:
    return [("cluster_enabled", 0)]


def _keyspace(ctx: ServerContext) -> Fields:
    # avg_ttl is the active expiry cycle's estimate, as in Redis.
    return [
        (f"db{db.index}", f"keys={len(db)},expires={len(db.expires)},avg_ttl={db.avg_ttl}")
        for db in ctx.keyspace.dbs
        if len(db)
    ]


# name → (title, fields, in the default set); in Redis's order.
_SECTIONS: dict[str, tuple[str, Callable[[ServerContext], Fields], bool]] = {
    "server": ("Server", _server, True),
    "clients": ("Clients", _clients, True),
    "memory": ("Memory", _memory, True),
    "persistence": ("Persistence", _persistence, True),
    "stats": ("Stats", _stats, True),
    "replication": ("Replication", _replication, True),
    "cpu": ("CPU", _cpu, True),
    "modules": ("Modules", _modules, True),
    "commandstats": ("Commandstats", _commandstats, False),
    "errorstats": ("Errorstats", _errorstats, True),
    "latencystats": ("Latencystats", _latencystats, False),
    "cluster": ("Cluster", _cluster, True),
    "keyspace": ("Keyspace", _keyspace, True),
}


def info_text(ctx: ServerContext, sections: list[bytes]) -> bytes:
    """The INFO text for the requested section names (none → the default sections)."""
    wanted: set[str] = set()
    if not sections:
        sections = [b"default"]
    for raw in sections:
        name = raw.decode("utf-8", "replace").lower()
        if name == "default":
            wanted.update(n for n, (_, _, default) in _SECTIONS.items() if default)
        elif name in ("all", "everything"):
            wanted.update(_SECTIONS)
        else:
            wanted.add(name)
    parts: list[str] = []
    for name, (title, fields, _) in _SECTIONS.items():
        if name in wanted:
            lines = [f"# {title}\r\n"]
            lines.extend(f"{key}:{value}\r\n" for key, value in fields(ctx))
            parts.append("".join(lines))
    return "\r\n".join(parts).encode()


def info_fields(ctx: ServerContext, section: str) -> Fields:
    """The (field, value) pairs of one INFO section (its lower-case name), as INFO shows them
    (read by zyst.web.metrics)."""
    return _SECTIONS[section][1](ctx)


@command(
    "info",
    arity=-1,
    flags=("loading", "stale"),
    group="server",
    summary="Get information and statistics about the server",
    syntax="[section [section ...]]",
    complexity="O(1)",
    acl_categories=("dangerous",),
    tips=(
        "nondeterministic_output",
        "request_policy:all_shards",
        "response_policy:special",
    ),
)
def info(client: Client, argv: list[bytes]) -> Reply:
    """INFO [section [section ...]]"""
    return Verbatim(info_text(client.ctx, argv[1:]))


# -- CONFIG -----------------------------------------------------------------------------------
CONFIG = container(
    "config", group="server", summary="A container for server configuration commands", since="2.0.0"
)
_CONFIG_FLAGS = ("admin", "noscript", "loading", "stale")


@subcommand(
    CONFIG,
    "get",
    arity=-3,
    flags=_CONFIG_FLAGS,
    summary="Get the values of configuration parameters",
    since="2.0.0",
    syntax="parameter [parameter ...]",
    complexity="O(N) when N is the number of configuration parameters provided",
)
def config_get(client: Client, argv: list[bytes]) -> Reply:
    """CONFIG GET parameter [parameter ...]"""
    return Map(client.ctx.config.get_many(argv[2:]))


@subcommand(
    CONFIG,
    "set",
    arity=-4,
    flags=_CONFIG_FLAGS,
    summary="Set configuration parameters to the given values",
    since="2.0.0",
    syntax="parameter value [parameter value ...]",
    complexity="O(N) when N is the number of configuration parameters provided",
    tips=(
        "request_policy:all_nodes",
        "response_policy:all_succeeded",
    ),
)
def config_set(client: Client, argv: list[bytes]) -> Reply:
    """CONFIG SET parameter value [parameter value ...]"""
    if len(argv) % 2:
        raise CommandError(errors.SYNTAX)
    config = client.ctx.config
    config.set_many(
        list(zip(argv[2::2], argv[3::2], strict=True)),
        protected_ok=allowed_by(config.enable_protected_configs, client),
    )
    return OK


@subcommand(
    CONFIG,
    "resetstat",
    arity=2,
    flags=_CONFIG_FLAGS,
    summary="Reset the stats returned by INFO",
    since="2.0.0",
    complexity="O(1)",
)
def config_resetstat(client: Client, argv: list[bytes]) -> Reply:
    """CONFIG RESETSTAT"""
    ctx = client.ctx
    ctx.stats.reset()
    ctx.keyspace.reset_stats()
    timing.reset_stats(_all_commands())
    return OK


@subcommand(
    CONFIG,
    "rewrite",
    arity=2,
    flags=_CONFIG_FLAGS,
    summary="Rewrite the configuration file with the in memory configuration",
    since="2.8.0",
    complexity="O(1)",
)
def config_rewrite(client: Client, argv: list[bytes]) -> Reply:
    """CONFIG REWRITE

    Writes the running configuration into the file the server was started with, keeping its
    comments and order (see :mod:`zyst.config_rewrite`)."""
    config = client.ctx.config
    if not config.config_file:
        raise CommandError(errors.CONFIG_NO_FILE)
    try:
        users = [describe_line(user) for user in client.ctx.acl.sorted_users()]
        rewrite_config(config, config.config_file, users, registry.config_lines())
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        log.warning("CONFIG REWRITE failed: %s", reason)
        raise CommandError(errors.CONFIG_REWRITE_FAILED.format(reason)) from None
    log.warning("CONFIG REWRITE executed with success.")
    return OK


_CONFIG_HELP = [
    "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "REWRITE",
    "    Rewrite the configuration file.",
    "HELP",
    "    Prints this help.",
]


@subcommand(
    CONFIG,
    "help",
    arity=2,
    flags=("loading", "stale"),
    summary="Show helpful text about the different subcommands",
    since="5.0.0",
    complexity="O(1)",
)
def config_help(client: Client, argv: list[bytes]) -> Reply:
    """CONFIG HELP"""
    return help_reply(_CONFIG_HELP)
