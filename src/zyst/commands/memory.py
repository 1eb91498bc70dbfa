"""The MEMORY command: USAGE, an estimate of the bytes a key and its value take; STATS, the
figures of :mod:`zyst.memory` under Redis's field names; DOCTOR, MALLOC-STATS, PURGE, HELP.

USAGE's estimate (:func:`zyst.memory.size_of_key`) is Python's own accounting
(``sys.getsizeof``) of the objects that hold the key and its value, plus the keyspace's
per-key share of its dict. Like Redis's ``objectComputeSize`` it
samples a collection rather than walking it: the container itself is measured exactly and the
elements from the first ``count`` of them (5 by default, every one with ``SAMPLES 0``),
averaged and multiplied by the length. The figure is comparable between keys of one Zyst, not
with Redis's byte counts (different allocators, different layouts).

Invariant: the key is looked up as stored, without lazy expiry: a key past its deadline that
nobody has removed yet still has a size, as in Redis, whose MEMORY USAGE reads the dict
directly.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from zyst import errors, memory
from zyst.commands.args import option_word, parse_int
from zyst.commands.introspection import help_reply
from zyst.commands.table import KeySpec, Reply, container, subcommand
from zyst.errors import CommandError
from zyst.eviction import evictor_of
from zyst.memory import size_of_key
from zyst.protocol.resp import OK, ErrorReply, Map, Verbatim

if TYPE_CHECKING:
    from zyst.client import Client

DEFAULT_SAMPLES = 5

MEMORY = container(
    "memory", group="server", summary="A container for memory diagnostics commands", since="4.0.0"
)

# Redis's MEMORY HELP.
_MEMORY_HELP = [
    "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR",
    "    Return memory problems reports.",
    "MALLOC-STATS",
    "    Return internal statistics report from the memory allocator.",
    "PURGE",
    "    Attempt to purge dirty pages for reclamation by the allocator.",
    "STATS",
    "    Return information about the memory usage of the server.",
    "USAGE <key> [SAMPLES <count>]",
    "    Return memory in bytes used by <key> and its value. Nested values are",
    "    sampled up to <count> times (default: 5, 0 means sample all).",
    "HELP",
    "    Prints this help.",
]


@subcommand(
    MEMORY,
    "usage",
    arity=-3,
    flags=("readonly",),
    keys=(2, 2, 1),
    summary="Estimate the memory usage of a key",
    since="4.0.0",
    syntax="key [SAMPLES count]",
    complexity="O(N) where N is the number of samples.",
    key_specs=(KeySpec(flags=("RO",)),),
)
def memory_usage(client: Client, argv: list[bytes]) -> Reply:
    """MEMORY USAGE key [SAMPLES count]

    The estimated bytes of ``key`` and its value, or a null reply for a missing key.
    ``SAMPLES 0`` measures every element; a negative count or any other word is a syntax error
    (Redis checks the options before the key, so a bad option fails even on a missing key).
    """
    samples = DEFAULT_SAMPLES
    i = 3
    while i < len(argv):
        if option_word(argv[i]) == b"samples" and i + 1 < len(argv):
            samples = parse_int(argv[i + 1])
            if samples < 0:
                raise CommandError(errors.SYNTAX)
            if samples == 0:
                samples = sys.maxsize
            i += 2
        else:
            raise CommandError(errors.SYNTAX)
    key = argv[2]
    value = client.db.data.get(key)
    if value is None:
        return None
    return size_of_key(key, value, samples)


@subcommand(
    MEMORY,
    "help",
    arity=2,
    flags=("loading", "stale"),
    summary="Show helpful text about the different subcommands",
    since="4.0.0",
    complexity="O(1)",
)
def memory_help(client: Client, argv: list[bytes]) -> Reply:
    """MEMORY HELP"""
    return help_reply(_MEMORY_HELP)


def _stats_fields(client: Client) -> dict[bytes, Reply]:
    """MEMORY STATS: Redis's fields, with what Zyst can tell truthfully (0 for what it has not:
    replication, cluster links; the allocator figures are malloc + pymalloc, the resident set
    is RSS)."""
    ctx = client.ctx
    meter = evictor_of(ctx).meter
    used = meter.measure()
    rss = memory.rss_bytes()
    startup = meter.startup
    keys = sum(len(db.data) for db in ctx.keyspace.dbs)
    dataset = max(used - startup, 0)
    fields: dict[bytes, Reply] = {
        b"peak.allocated": meter.peak,
        b"total.allocated": used,
        b"startup.allocated": startup,
        b"replication.backlog": 0,
        b"clients.slaves": 0,
        b"clients.normal": 0,
        b"cluster.links": 0,
        b"aof.buffer": 0,
        b"lua.caches": 0,
        b"functions.caches": 0,
    }
    for db in ctx.keyspace.dbs:
        if db.data:
            fields[b"db.%d" % db.index] = Map(
                [
                    (b"overhead.hashtable.main", sys.getsizeof(db.data) + sys.getsizeof(db.access)),
                    (b"overhead.hashtable.expires", sys.getsizeof(db.expires)),
                    (b"overhead.hashtable.slot-to-keys", 0),
                ]
            )
    fields.update(
        {
            b"overhead.total": startup,
            b"keys.count": keys,
            b"keys.bytes-per-key": dataset // keys if keys else 0,
            b"dataset.bytes": dataset,
            b"dataset.percentage": 100.0 * dataset / used if used else 0.0,
            b"peak.percentage": 100.0 * used / meter.peak if meter.peak else 0.0,
            b"allocator.allocated": used,
            b"allocator.active": used,
            b"allocator.resident": rss,
            b"allocator-fragmentation.ratio": 1.0,
            b"allocator-fragmentation.bytes": 0,
            b"allocator-rss.ratio": rss / used if used else 0.0,
            b"allocator-rss.bytes": rss - used,
            b"rss-overhead.ratio": 1.0,
            b"rss-overhead.bytes": 0,
            b"fragmentation": rss / used if used else 0.0,
            b"fragmentation.bytes": rss - used,
        }
    )
    return fields


@subcommand(
    MEMORY,
    "stats",
    arity=2,
    summary="Show memory usage details",
    since="4.0.0",
    complexity="O(1)",
    tips=("nondeterministic_output", "request_policy:all_shards", "response_policy:special"),
)
def memory_stats(client: Client, argv: list[bytes]) -> Reply:
    """MEMORY STATS"""
    return Map(list(_stats_fields(client).items()))


# Redis's MEMORY DOCTOR reports, the ones Zyst can make.
_DOCTOR_NOTHING = (
    "Hi Sam, I can't find any memory issue in your instance. "
    "I can only account for what occurs on this base.\n"
)
_DOCTOR_EMPTY = (
    "Hi Sam, this instance is empty or is using very little memory, "
    "my issues detector can't be used in these conditions. "
    "Please, leave for your mission on Earth and fill it with some data. "
    "The new Sam and I will be back to our programming as soon as I "
    "finished rebooting.\n"
)
_DOCTOR_PEAK = (
    "Sam, I detected a few issues in this Redis instance memory implants:\n\n"
    " * Peak memory: In the past this instance used more than 150% the memory that is "
    "currently using. The allocator is normally not able to release memory after a peak, so "
    "you can expect to see a big fragmentation ratio, however this is actually harmless and is "
    "only due to the memory peak, and if the Redis instance Resident Set Size (RSS) is "
    "currently bigger than expected, the memory will be used as soon as you fill the Redis "
    "instance with more data. If the memory peak was only occasional and you want to try to "
    "reclaim memory, please try the MEMORY PURGE command, otherwise the only other option is "
    "to shutdown and restart the instance.\n\n"
    "I'm here to keep you safe, Sam. I want to help you.\n"
)


@subcommand(
    MEMORY,
    "doctor",
    arity=2,
    summary="Outputs memory problems report",
    since="4.0.0",
    complexity="O(1)",
    tips=("nondeterministic_output", "request_policy:all_shards", "response_policy:special"),
)
def memory_doctor(client: Client, argv: list[bytes]) -> Reply:
    """MEMORY DOCTOR

    Redis's report for an empty instance (a dataset under 5 MB, the interpreter's own memory
    not counted) or for a past peak over 150% of the memory in use; else that all is well."""
    meter = evictor_of(client.ctx).meter
    used = meter.measure()
    if used - meter.startup < 5 * 1024 * 1024:
        report = _DOCTOR_EMPTY
    elif meter.peak > used * 3 // 2:
        report = _DOCTOR_PEAK
    else:
        report = _DOCTOR_NOTHING
    return Verbatim(report.encode())


@subcommand(
    MEMORY,
    "malloc-stats",
    arity=2,
    summary="Show allocator internal stats",
    since="4.0.0",
    complexity="Depends on how much memory is allocated, could be slow",
    tips=("nondeterministic_output", "request_policy:all_shards", "response_policy:special"),
)
def memory_malloc_stats(client: Client, argv: list[bytes]) -> Reply:
    """MEMORY MALLOC-STATS

    pymalloc's own report (its size classes, pools and arenas), where Redis gives jemalloc's."""
    report = memory.pymalloc_report()
    if not report:
        return b"Stats not supported for the current allocator"
    return Verbatim(report)


@subcommand(
    MEMORY,
    "purge",
    arity=2,
    summary="Ask the allocator to release memory",
    since="4.0.0",
    complexity="Depends on how much memory is allocated, could be slow",
    tips=("request_policy:all_shards", "response_policy:all_succeeded"),
)
def memory_purge(client: Client, argv: list[bytes]) -> Reply:
    """MEMORY PURGE

    Gives glibc's free memory back to the system (``malloc_trim``); pymalloc returns its empty
    arenas by itself."""
    if not memory.trim():
        return ErrorReply("ERR Error purging dirty pages")
    return OK
