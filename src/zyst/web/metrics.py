"""Prometheus metrics at ``/metrics``, read from the server's state at scrape time.

The names are redis_exporter's (github.com/oliver006/redis_exporter), so dashboards and alerts
written for Redis work unchanged: the INFO fields it exports keep its names (``used_memory`` is
``redis_memory_used_bytes``, ``keyspace_hits`` is ``redis_keyspace_hits_total``), and so do the
labelled families (``redis_db_keys{db="db0"}``, ``redis_commands_total{cmd="get"}``,
``redis_errors_total{err="ERR"}``). Values are the ones INFO shows at the same instant: the
collector reads the same INFO sections, in-process instead of over a connection.

Invariants: a scrape reads counters the server keeps anyway and does a constant amount of
work per database and per command that ran (never a walk over keys); nothing is counted on
the command path for it. A counter whose redis_exporter name lacks the ``_total`` suffix
(``redis_total_error_replies``) is exposed untyped, since prometheus_client would otherwise
append the suffix and the name would no longer match.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator

from aiohttp import web
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    UnknownMetricFamily,
)
from prometheus_client.registry import Collector, CollectorRegistry

from zyst import timing
from zyst.commands.server import info_fields
from zyst.commands.table import COMMANDS, Command
from zyst.context import ServerContext

PREFIX = "redis_"

# INFO field → redis_exporter's name (after the prefix), for the fields Zyst's INFO has.
GAUGES: dict[str, str] = {
    # Server
    "uptime_in_seconds": "uptime_in_seconds",
    "process_id": "process_id",
    "io_threads_active": "io_threads_active",
    # Clients
    "connected_clients": "connected_clients",
    "blocked_clients": "blocked_clients",
    "maxclients": "max_clients",
    "tracking_clients": "tracking_clients",
    "clients_in_timeout_table": "clients_in_timeout_table",
    "client_recent_max_output_buffer": "client_recent_max_output_buffer_bytes",
    "client_recent_max_input_buffer": "client_recent_max_input_buffer_bytes",
    # Memory
    "used_memory": "memory_used_bytes",
    "used_memory_rss": "memory_used_rss_bytes",
    "used_memory_peak": "memory_used_peak_bytes",
    "used_memory_lua": "memory_used_lua_bytes",
    "used_memory_vm_eval": "memory_used_vm_eval_bytes",
    "used_memory_scripts_eval": "memory_used_scripts_eval_bytes",
    "used_memory_startup": "memory_used_startup_bytes",
    "used_memory_dataset": "memory_used_dataset_bytes",
    "number_of_cached_scripts": "number_of_cached_scripts",
    "number_of_functions": "number_of_functions",
    "number_of_libraries": "number_of_libraries",
    "used_memory_vm_functions": "memory_used_vm_functions_bytes",
    "used_memory_scripts": "memory_used_scripts_bytes",
    "used_memory_functions": "memory_used_functions_bytes",
    "used_memory_vm_total": "memory_used_vm_total",
    "maxmemory": "memory_max_bytes",
    "mem_fragmentation_ratio": "mem_fragmentation_ratio",
    "mem_fragmentation_bytes": "mem_fragmentation_bytes",
    "mem_not_counted_for_evict": "mem_not_counted_for_eviction_bytes",
    "lazyfree_pending_objects": "lazyfree_pending_objects",
    "lazyfreed_objects": "lazyfreed_objects",
    "migrate_cached_sockets": "migrate_cached_sockets_total",
    # Persistence
    "loading": "loading_dump_file",
    "async_loading": "async_loading",
    "rdb_changes_since_last_save": "rdb_changes_since_last_save",
    "rdb_bgsave_in_progress": "rdb_bgsave_in_progress",
    "rdb_last_save_time": "rdb_last_save_timestamp_seconds",
    "rdb_last_bgsave_status": "rdb_last_bgsave_status",
    "rdb_last_bgsave_time_sec": "rdb_last_bgsave_duration_sec",
    "rdb_current_bgsave_time_sec": "rdb_current_bgsave_duration_sec",
    "rdb_saves": "rdb_saves_total",
    "rdb_last_cow_size": "rdb_last_cow_size_bytes",
    "rdb_last_load_keys_expired": "rdb_last_load_expired_keys",
    "rdb_last_load_keys_loaded": "rdb_last_load_loaded_keys",
    "aof_enabled": "aof_enabled",
    "aof_rewrite_in_progress": "aof_rewrite_in_progress",
    "aof_rewrite_scheduled": "aof_rewrite_scheduled",
    "aof_last_rewrite_time_sec": "aof_last_rewrite_duration_sec",
    "aof_current_rewrite_time_sec": "aof_current_rewrite_duration_sec",
    "aof_last_cow_size": "aof_last_cow_size_bytes",
    "aof_current_size": "aof_current_size_bytes",
    "aof_base_size": "aof_base_size_bytes",
    "aof_pending_rewrite": "aof_pending_rewrite",
    "aof_buffer_length": "aof_buffer_length",
    "aof_pending_bio_fsync": "aof_pending_bio_fsync",
    "aof_delayed_fsync": "aof_delayed_fsync",
    "aof_last_bgrewrite_status": "aof_last_bgrewrite_status",
    "aof_last_write_status": "aof_last_write_status",
    "module_fork_in_progress": "module_fork_in_progress",
    "module_fork_last_cow_size": "module_fork_last_cow_size",
    # Stats
    "expired_stale_perc": "expired_stale_percentage",
    "pubsub_channels": "pubsub_channels",
    "pubsub_patterns": "pubsub_patterns",
    "pubsubshard_channels": "pubsubshard_channels",
    "tracking_total_keys": "tracking_total_keys",
    "tracking_total_items": "tracking_total_items",
    "tracking_total_prefixes": "tracking_total_prefixes",
    # Replication
    "connected_slaves": "connected_slaves",
    "repl_backlog_active": "repl_backlog_is_active",
    "repl_backlog_first_byte_offset": "repl_backlog_first_byte_offset",
    "repl_backlog_histlen": "repl_backlog_history_bytes",
    "master_repl_offset": "master_repl_offset",
    "second_repl_offset": "second_repl_offset",
    "sync_full": "replica_resyncs_full",
    "sync_partial_ok": "replica_partial_resync_accepted",
    "sync_partial_err": "replica_partial_resync_denied",
}
COUNTERS: dict[str, str] = {
    "total_connections_received": "connections_received_total",
    "total_commands_processed": "commands_processed_total",
    "rejected_connections": "rejected_connections_total",
    "total_net_input_bytes": "net_input_bytes_total",
    "total_net_output_bytes": "net_output_bytes_total",
    "expired_keys": "expired_keys_total",
    "expired_time_cap_reached_count": "expired_time_cap_reached_total",
    "evicted_keys": "evicted_keys_total",
    "evicted_clients": "evicted_clients_total",
    "keyspace_hits": "keyspace_hits_total",
    "keyspace_misses": "keyspace_misses_total",
    "used_cpu_sys": "cpu_sys_seconds_total",
    "used_cpu_user": "cpu_user_seconds_total",
    "used_cpu_sys_children": "cpu_sys_children_seconds_total",
    "used_cpu_user_children": "cpu_user_children_seconds_total",
    "used_cpu_sys_main_thread": "cpu_sys_main_thread_seconds_total",
    "used_cpu_user_main_thread": "cpu_user_main_thread_seconds_total",
    "total_error_replies": "total_error_replies",
}
# The INFO sections the plain fields come from (the labelled ones are read apart).
SECTIONS = ("server", "clients", "memory", "persistence", "stats", "replication", "cpu")
# redis_instance_info's labels, each an INFO field of the same name.
INFO_LABELS = (
    "role",
    "redis_version",
    "redis_build_id",
    "redis_mode",
    "os",
    "maxmemory_policy",
    "tcp_port",
    "run_id",
    "process_id",
    "master_replid",
)


def number(value: object) -> float | None:
    """An INFO value as a sample, as redis_exporter reads it: numbers as they are, ``ok`` and
    ``true`` 1, ``err``, ``fail`` and ``false`` 0; None for text that is no number."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    text = str(value)
    if text in ("ok", "true"):
        return 1.0
    if text in ("err", "fail", "false"):
        return 0.0
    try:
        return float(text)
    except ValueError:
        return None


class ServerCollector(Collector):
    """Everything ``/metrics`` shows, read when Prometheus asks (a custom collector: no
    metric objects kept up to date between scrapes)."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx

    def collect(self) -> Iterable[Metric]:
        ctx = self.ctx
        yield _single(GaugeMetricFamily, "up", 1.0)
        fields: dict[str, object] = {}
        for section in SECTIONS:
            fields.update(info_fields(ctx, section))
        yield from _plain(fields)
        start = GaugeMetricFamily(
            f"{PREFIX}start_time_seconds",
            "Start time of the Redis instance since unix epoch in seconds.",
        )
        start.add_metric([], float(int(time.time() - float(str(fields["uptime_in_seconds"])))))
        yield start
        for name in ("hz", "configured_hz"):
            yield _single(GaugeMetricFamily, name, float(str(fields[name])))
        info = GaugeMetricFamily(
            f"{PREFIX}instance_info", "Information about the Redis instance", labels=INFO_LABELS
        )
        info.add_metric([str(fields.get(label, "")) for label in INFO_LABELS], 1.0)
        yield info
        yield from _config(ctx)
        yield from _keyspace(ctx)
        yield from _commands(ctx.config.latency_tracking_info_percentiles)
        yield from _errors(ctx)


def _plain(fields: dict[str, object]) -> Iterator[Metric]:
    for field, value in fields.items():
        sample = number(value)
        if sample is None:
            continue
        if field == "latest_fork_usec":
            yield _single(GaugeMetricFamily, "latest_fork_seconds", sample / 1e6)
        elif field in GAUGES:
            yield _single(GaugeMetricFamily, GAUGES[field], sample)
        elif field in COUNTERS:
            name = COUNTERS[field]
            kind = CounterMetricFamily if name.endswith("_total") else UnknownMetricFamily
            yield _single(kind, name, sample)


def _single(
    kind: type[GaugeMetricFamily | CounterMetricFamily | UnknownMetricFamily],
    name: str,
    value: float,
) -> Metric:
    """A family of one unlabelled sample; its help text is redis_exporter's generic one."""
    family = kind(f"{PREFIX}{name}", f"{name} metric")
    family.add_metric([], value)
    return family


def _config(ctx: ServerContext) -> Iterator[Metric]:
    # (redis_exporter reads these with CONFIG GET.)
    yield _single(GaugeMetricFamily, "config_maxclients", float(ctx.config.maxclients))
    yield _single(GaugeMetricFamily, "config_maxmemory", float(ctx.config.maxmemory))


def _keyspace(ctx: ServerContext) -> Iterator[Metric]:
    # Every database, empty ones as zeros (redis_exporter's include-metrics-for-empty-databases,
    # its default): a database that empties shows 0 rather than vanishing.
    keys = GaugeMetricFamily(f"{PREFIX}db_keys", "Total number of keys by DB", labels=("db",))
    expiring = GaugeMetricFamily(
        f"{PREFIX}db_keys_expiring", "Total number of expiring keys by DB", labels=("db",)
    )
    avg_ttl = GaugeMetricFamily(f"{PREFIX}db_avg_ttl_seconds", "Avg TTL in seconds", labels=("db",))
    for db in ctx.keyspace.dbs:
        label = [f"db{db.index}"]
        keys.add_metric(label, float(len(db)))
        expiring.add_metric(label, float(len(db.expires)))
        if len(db):
            avg_ttl.add_metric(label, db.avg_ttl / 1000)
    yield keys
    yield expiring
    yield avg_ttl


def _all_commands() -> Iterator[Command]:
    for cmd in COMMANDS.values():
        yield cmd
        yield from cmd.subcommands.values()


def _commands(percentiles: list[float]) -> Iterator[Metric]:
    # INFO commandstats' figures, named as redis_exporter names them; a subcommand is
    # ``config|get`` as in INFO. Durations are kept in nanoseconds (zyst.timing).
    label = ("cmd",)
    calls = CounterMetricFamily(
        f"{PREFIX}commands_total", "Total number of calls per command", labels=label
    )
    duration = CounterMetricFamily(
        f"{PREFIX}commands_duration_seconds_total",
        "Total amount of time in seconds spent per command",
        labels=label,
    )
    rejected = CounterMetricFamily(
        f"{PREFIX}commands_rejected_calls_total",
        "Total number of errors prior command execution per command",
        labels=label,
    )
    failed = CounterMetricFamily(
        f"{PREFIX}commands_failed_calls_total",
        "Total number of errors within command execution per command",
        labels=label,
    )
    latencies = Metric(
        f"{PREFIX}latency_percentiles_usec",
        "A summary of latency percentile distribution per command",
        "summary",
    )
    for cmd in _all_commands():
        if not (cmd.calls or cmd.rejected_calls or cmd.failed_calls):
            continue
        name = [cmd.name]
        calls.add_metric(name, float(cmd.calls))
        duration.add_metric(name, cmd.duration // 1000 / 1e6)
        rejected.add_metric(name, float(cmd.rejected_calls))
        failed.add_metric(name, float(cmd.failed_calls))
        histogram = cmd.histogram
        if histogram is not None and cmd.calls:
            # The percentiles INFO latencystats shows (latency-tracking-info-percentiles).
            for percent in percentiles:
                latencies.add_sample(
                    latencies.name,
                    {"cmd": cmd.name, "quantile": str(round(percent / 100, 10))},
                    timing.percentile(histogram, percent),
                )
            latencies.add_sample(f"{latencies.name}_count", {"cmd": cmd.name}, float(cmd.calls))
            latencies.add_sample(f"{latencies.name}_sum", {"cmd": cmd.name}, cmd.duration / 1000)
    yield calls
    yield duration
    yield rejected
    yield failed
    yield latencies


def _errors(ctx: ServerContext) -> Iterator[Metric]:
    errors = CounterMetricFamily(
        f"{PREFIX}errors_total", "Total number of errors per error type", labels=("err",)
    )
    for code, count in sorted(ctx.stats.error_codes.items()):
        errors.add_metric([code], float(count))
    yield errors


def add_routes(app: web.Application, ctx: ServerContext) -> None:
    """Serve ``GET /metrics`` from ``app``: the text format Prometheus asks for (its
    ``Accept`` header picks classic text or OpenMetrics)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ServerCollector(ctx))

    async def scrape(request: web.Request) -> web.Response:
        encode, content_type = choose_encoder(request.headers.get("Accept", ""))
        return web.Response(body=encode(registry), headers={"Content-Type": content_type})

    app.router.add_get("/metrics", scrape)
