"""The directives of Redis 7.0's redis.conf that Zyst reads but does not apply.

A redis.conf written for Redis (Debian's ``/etc/redis/redis.conf``, a tuned production file)
must start Zyst unchanged. Every directive Redis 7.0.15 knows is therefore either a setting of
:data:`zyst.config.SETTINGS` (applied), or listed here: checked as Redis checks it (so a typo
still stops the start with Redis's message), then kept only to be named once in the start-up
log as accepted and ignored. They are not settings: CONFIG GET does not show them, CONFIG SET
does not know them, and CONFIG REWRITE keeps their lines as they were.

Invariants: a name is either here or in SETTINGS, never both (a test checks it); each row's
parser raises ValueError with Redis's own text, as the settings' parsers do.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from zyst import errors
from zyst.config import (
    INT_MAX,
    NOT_MEMORY,
    UINT_MAX,
    ULLONG_MAX,
    WRONG_ARG_COUNT,
    _any_text,
    _enum,
    _integer,
    _memory,
    _single,
    parse_bool,
)
from zyst.numbers import LLONG_MAX, strict_int

__all__ = ["DEPRECATED", "IGNORED", "MULTI_ARG", "Parser", "ignored_directive"]

Parser = Callable[[list[str]], object]

_INT_MIN = -(2**31)
_LONG_MAX = LLONG_MAX
_BOOL: Parser = _single(parse_bool)
_TEXT: Parser = _single(_any_text)
_SHUTDOWN_FLAGS = ("default", "save", "nosave", "now", "force")
_STRTOLL = re.compile(r"[ \t\n\v\f\r]*[-+]?[0-9]+")


def _oom_values(args: list[str]) -> object:
    """``oom-score-adj-values <primary> <replica> <child>``, each within -2000..2000."""
    if len(args) != 3:
        raise ValueError(WRONG_ARG_COUNT)
    for arg in args:
        if not _STRTOLL.fullmatch(arg) or not -2000 <= int(arg) <= 2000:
            raise ValueError(errors.OOM_SCORE_RANGE)
    return args


def _shutdown_flags(args: list[str]) -> object:
    """``shutdown-on-sigint`` / ``-sigterm``: some of default, save, nosave, now, force."""
    parse = _enum(*_SHUTDOWN_FLAGS)
    flags = {parse([arg]) for arg in args} if args else {parse([""])}
    if {"save", "nosave"} <= flags:
        raise ValueError(errors.SHUTDOWN_SAVE_AND_NOSAVE)
    return flags


def _memory_or_percent(args: list[str]) -> object:
    """``maxmemory-clients``: a byte count with a unit, or a percentage of maxmemory (0..100)."""
    if len(args) == 1 and len(args[0]) > 1 and args[0].endswith("%"):
        number = strict_int(args[0][:-1].encode())
        if number is not None and number >= 0:
            if number > 100:
                raise ValueError(errors.PERCENT_TOO_BIG)
            return args
    try:
        return _memory(0, LLONG_MAX)(args)
    except ValueError as exc:
        if str(exc) == NOT_MEMORY:
            raise ValueError(errors.NOT_MEMORY_OR_PERCENT) from None
        raise


def _hostname(args: list[str]) -> object:
    text = _TEXT(args)
    assert isinstance(text, str)
    if len(text) >= 256:
        raise ValueError(errors.HOSTNAME_TOO_LONG)
    if not re.fullmatch(r"[A-Za-z0-9.-]*", text):
        raise ValueError(errors.HOSTNAME_CHARACTERS)
    return text


# name → how Redis checks its value. Aliases (Redis's older "slave" names) have rows of their own.
_ROWS: tuple[tuple[tuple[str, ...], Parser], ...] = (
    # -- general, process and memory allocator --
    (("always-show-logo", "set-proc-title", "disable-thp", "activerehashing"), _BOOL),
    (("dynamic-hz", "jemalloc-bg-thread", "crash-log-enabled", "crash-memcheck-enabled"), _BOOL),
    (("use-exit-on-panic", "io-threads-do-reads"), _BOOL),
    (("proc-title-template", "ignore-warnings", "bind-source-addr"), _TEXT),
    (("server_cpulist", "bio_cpulist", "aof_rewrite_cpulist", "bgsave_cpulist"), _TEXT),
    (("io-threads",), _integer(1, 128)),
    (("socket-mark-id",), _integer(0, UINT_MAX)),
    (("oom-score-adj",), _enum("no", "yes", "relative", "absolute")),
    (("oom-score-adj-values",), _oom_values),
    (("watchdog-period", "shutdown-timeout"), _integer(0, INT_MAX)),
    (("shutdown-on-sigint", "shutdown-on-sigterm"), _shutdown_flags),
    (("active-expire-effort",), _integer(1, 10)),
    (("key-load-delay",), _integer(_INT_MIN, INT_MAX)),
    (("loading-process-events-interval-bytes",), _integer(1024, INT_MAX)),
    (("sanitize-dump-payload",), _enum("no", "yes", "clients")),
    (("propagation-error-behavior",), _enum("ignore", "panic", "panic-on-replicas")),
    (("maxmemory-clients",), _memory_or_percent),
    # -- lazy freeing and active defragmentation --
    (("lazyfree-lazy-eviction", "lazyfree-lazy-expire", "lazyfree-lazy-server-del"), _BOOL),
    (("lazyfree-lazy-user-del", "lazyfree-lazy-user-flush", "activedefrag"), _BOOL),
    (("active-defrag-cycle-min", "active-defrag-cycle-max"), _integer(1, 99)),
    (("active-defrag-threshold-lower", "active-defrag-threshold-upper"), _integer(0, 1000)),
    (("active-defrag-max-scan-fields",), _integer(1, _LONG_MAX)),
    (("active-defrag-ignore-bytes",), _memory(1, LLONG_MAX)),
    # -- persistence details --
    (("aof-rewrite-incremental-fsync", "rdb-save-incremental-fsync"), _BOOL),
    (("no-appendfsync-on-rewrite", "aof-load-truncated", "aof-disable-auto-gc"), _BOOL),
    # -- replication --
    (("replica-lazy-flush", "slave-lazy-flush"), _BOOL),
    (("replica-ignore-disk-write-errors",), _BOOL),
    (("repl-disable-tcp-nodelay",), _BOOL),
    (("repl-diskless-load",), _enum("disabled", "on-empty-db", "swapdb")),
    # -- cluster --
    (("cluster-enabled", "cluster-require-full-coverage"), _BOOL),
    (("cluster-replica-no-failover", "cluster-slave-no-failover"), _BOOL),
    (("cluster-allow-reads-when-down", "cluster-allow-pubsubshard-when-down"), _BOOL),
    (("cluster-allow-replica-migration",), _BOOL),
    (("cluster-config-file", "cluster-announce-ip"), _TEXT),
    (("cluster-announce-hostname",), _hostname),
    (("cluster-replica-validity-factor", "cluster-slave-validity-factor"), _integer(0, INT_MAX)),
    (("cluster-migration-barrier",), _integer(0, INT_MAX)),
    (("cluster-port", "cluster-announce-bus-port", "cluster-announce-port"), _integer(0, 65535)),
    (("cluster-announce-tls-port",), _integer(0, 65535)),
    (("cluster-node-timeout",), _integer(0, LLONG_MAX)),
    (("cluster-link-sendbuf-limit",), _memory(0, ULLONG_MAX)),
    (("cluster-preferred-endpoint-type",), _enum("ip", "hostname", "unknown-endpoint")),
)

IGNORED: dict[str, Parser] = {name: parse for names, parse in _ROWS for name in names}
"""Every directive accepted and not applied, by lower-case name, with its value's check."""

DEPRECATED: dict[str, int] = {
    "list-max-ziplist-entries": 1,
    "list-max-ziplist-value": 1,
    "lua-replicate-commands": 1,
}
"""Directives Redis 7.0 itself skips without a word (with exactly this many arguments)."""


MULTI_ARG = frozenset({"oom-score-adj-values", "shutdown-on-sigint", "shutdown-on-sigterm"})
"""Directives of several arguments: one argument holding them all is split, as for settings."""


def ignored_directive(name: str) -> Parser | None:
    """The check of directive ``name`` (any case) when Zyst accepts it without applying it."""
    return IGNORED.get(name.lower())
