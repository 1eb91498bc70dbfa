"""LATENCY: the latency monitor (events at least ``latency-monitor-threshold`` ms long, the worst
per second, the last 160 seconds of them per event) and the per-command histograms of
``latency-tracking`` (LATENCY HISTOGRAM).

The events Zyst records are the ones it can measure honestly: ``command`` (a command without
the ``fast`` flag) and ``fast-command``, with durations from :mod:`zyst.timing`, and
``expire-cycle`` (one run of the active expiry cycle, timed by the server's cron).
"""

from __future__ import annotations

import time
from typing import Final

from zyst import errors
from zyst.client import Client
from zyst.commands.introspection import help_reply
from zyst.commands.table import COMMANDS, Command, Reply, container, lookup, subcommand
from zyst.errors import CommandError
from zyst.protocol.resp import Map, Verbatim
from zyst.timing import TIMING, cumulative_usec

SERIES_LEN: Final = 160  # Redis's LATENCY_TS_LEN


class Series:
    """One event's samples: (unix second, ms), oldest first, and its all-time maximum."""

    def __init__(self) -> None:
        self.samples: list[tuple[int, int]] = []
        self.max = 0

    def add(self, now: int, ms: int) -> None:
        self.max = max(self.max, ms)
        if self.samples and self.samples[-1][0] == now:
            # One sample per second: the worst of that second.
            if ms > self.samples[-1][1]:
                self.samples[-1] = (now, ms)
            return
        self.samples.append((now, ms))
        if len(self.samples) > SERIES_LEN:
            del self.samples[0]


class LatencyMonitor:
    """The events by name, in the order they first happened."""

    def __init__(self) -> None:
        self.events: dict[str, Series] = {}

    def add_sample(self, event: str, ms: int) -> None:
        series = self.events.get(event)
        if series is None:
            series = self.events[event] = Series()
        series.add(int(time.time()), ms)

    def record(self, client: Client, cmd: Command, argv: list[bytes] | None, usec: int) -> None:
        threshold = TIMING.latency_threshold
        ms = usec // 1000
        if threshold and ms >= threshold:
            self.add_sample("fast-command" if cmd.fast else "command", ms)


MONITOR: Final = LatencyMonitor()


def sample_if_needed(event: str, seconds: float) -> None:
    """Record ``event`` (a background task's name, e.g. ``expire-cycle``) if it took at least
    ``latency-monitor-threshold`` milliseconds."""
    threshold = TIMING.latency_threshold
    ms = int(seconds * 1000)
    if threshold and ms >= threshold:
        MONITOR.add_sample(event, ms)


TIMING.log_slow.append(MONITOR.record)

LATENCY = container(
    "latency",
    group="server",
    summary="A container for latency diagnostics commands",
    since="2.8.13",
)
_FLAGS = ("admin", "noscript", "loading", "stale")
_TIPS = ("nondeterministic_output", "request_policy:all_nodes", "response_policy:special")


@subcommand(
    LATENCY,
    "latest",
    arity=2,
    flags=_FLAGS,
    summary="Return the latest latency samples for all events.",
    since="2.8.13",
    complexity="O(1)",
    tips=_TIPS,
)
def latency_latest(client: Client, argv: list[bytes]) -> Reply:
    """LATENCY LATEST: [event, time, latest ms, all-time max ms] per event."""
    return [
        [name.encode(), series.samples[-1][0], series.samples[-1][1], series.max]
        for name, series in MONITOR.events.items()
    ]


@subcommand(
    LATENCY,
    "history",
    arity=3,
    flags=_FLAGS,
    summary="Return timestamp-latency samples for the event.",
    since="2.8.13",
    syntax="event",
    complexity="O(1)",
    tips=_TIPS,
)
def latency_history(client: Client, argv: list[bytes]) -> Reply:
    """LATENCY HISTORY event: [time, ms] pairs, oldest first (none for an unknown event)."""
    series = MONITOR.events.get(argv[2].decode("utf-8", "replace"))
    if series is None:
        return []
    return [[when, ms] for when, ms in series.samples]


@subcommand(
    LATENCY,
    "reset",
    arity=-2,
    flags=_FLAGS,
    summary="Reset latency data for one or more events.",
    since="2.8.13",
    syntax="[event [event ...]]",
    complexity="O(1)",
    tips=("request_policy:all_nodes", "response_policy:all_succeeded"),
)
def latency_reset(client: Client, argv: list[bytes]) -> Reply:
    """LATENCY RESET [event [event ...]]: how many events were forgotten (names in any case)."""
    events = MONITOR.events
    if len(argv) == 2:
        count = len(events)
        events.clear()
        return count
    count = 0
    for raw in argv[2:]:
        wanted = raw.decode("utf-8", "replace").lower()
        for name in [name for name in events if name.lower() == wanted]:
            del events[name]
            count += 1
    return count


def _graph(name: str, series: Series) -> bytes:
    """LATENCY GRAPH's heading: the high, low and all-time high of the samples."""
    values = [ms for _, ms in series.samples]
    high = max(values) if values else 0
    low = min(values) if values else 0
    text = f"{name} - high {high} ms, low {low} ms (all time high {series.max} ms)\n"
    text += "-" * 80 + "\n"
    return text.encode() + _sparkline(series)


# Redis's sparkline characters, from lowest to highest, and the filled ones LATENCY GRAPH uses.
_CHARSET = b"_-`"
_FILL_CHARSET = b"_o#"
_ROWS = 4
_COLUMNS = 80


def _sparkline(series: Series) -> bytes:
    """The samples drawn as Redis's filled sparkline (sparkline.c): four rows where each sample
    is a column whose height follows its value between the lowest and the highest, a blank
    line, then each sample's age as a label written downwards; 80 columns per block."""
    samples = series.samples
    if not samples:
        return b""
    values = [ms for _, ms in samples]
    low = min(values)
    relmax = float(max(values) - low) or 1.0
    steps = len(_CHARSET) * _ROWS
    now = int(time.time())
    labels = [_ago(now - when) for when, _ in samples]
    blocks: list[bytes] = []
    for first in range(0, len(values), _COLUMNS):
        chunk = range(first, min(first + _COLUMNS, len(values)))
        lines: list[bytes] = []
        for row in range(_ROWS):
            line = bytearray()
            for j in chunk:
                step = int(int((values[j] - low) * steps) / relmax)
                step = min(max(step, 0), steps - 1)
                index = step - (_ROWS - row - 1) * len(_CHARSET)
                if 0 <= index < len(_CHARSET):
                    line.append(_FILL_CHARSET[index])
                elif index >= len(_CHARSET):
                    line.append(ord("|"))
                else:
                    line.append(ord(" "))
            lines.append(bytes(line))
        lines.append(b" " * len(chunk))
        depth = max(len(labels[j]) for j in chunk)
        for i in range(depth):
            lines.append(bytes(labels[j][i] if i < len(labels[j]) else 32 for j in chunk))
        blocks.append(b"".join(line + b"\n" for line in lines))
    return b"\n".join(blocks)


def _ago(seconds: int) -> bytes:
    if seconds < 60:
        return b"%ds" % seconds
    if seconds < 3600:
        return b"%dm" % (seconds // 60)
    if seconds < 86400:
        return b"%dh" % (seconds // 3600)
    return b"%dd" % (seconds // 86400)


@subcommand(
    LATENCY,
    "graph",
    arity=3,
    flags=_FLAGS,
    summary="Return a latency graph for the event.",
    since="2.8.13",
    syntax="event",
    complexity="O(1)",
    tips=_TIPS,
)
def latency_graph(client: Client, argv: list[bytes]) -> Reply:
    """LATENCY GRAPH event"""
    name = argv[2].decode("utf-8", "replace")
    series = MONITOR.events.get(name)
    if series is None:
        raise CommandError(errors.latency_no_samples(argv[2]))
    return Verbatim(_graph(name, series))


_NO_MONITOR = (
    "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. "
    'You may use "CONFIG SET latency-monitor-threshold <milliseconds>." in order to enable '
    "it. If we weren't in a deep space mission I'd suggest to take a look at "
    "https://redis.io/topics/latency-monitor.\n"
)
_SPIKES = (
    "Dave, I have observed latency spikes in this Redis instance. You don't mind talking about "
    "it, do you Dave?\n\n"
)
_NO_SPIKES = (
    "Dave, no latency spike was observed during the lifetime of this Redis instance, not in "
    "the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and "
    "think things over.\n"
)
_NO_FIX = (
    "\nWhile there are latency events logged, I'm not able to suggest any easy fix. Please use "
    "the Redis community to get some help, providing this report in your help request.\n"
)
_ADVICE_SLOWLOG_ENABLE = (
    "- There are latency issues with potentially slow commands you are using. Try to enable the "
    "Slow Log Redis feature using the command 'CONFIG SET slowlog-log-slower-than {}'. If the "
    "Slow log is disabled Redis is not able to log slow commands execution for you.\n"
)
_ADVICE_SLOWLOG_TUNE = (
    "- Your current Slow Log configuration only logs events that are slower than your "
    "configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than {}'.\n"
)
_ADVICE_SLOWLOG_INSPECT = (
    "- Check your Slow Log to understand what are the commands you are running which are too "
    "slow to execute. Please check https://redis.io/commands/slowlog for more information.\n"
)
_ADVICE_SCHEDULER = (
    "- The system is slow to execute Redis code paths not containing system calls. This usually "
    "means the system does not provide Redis CPU time to run for long periods. You should try "
    "to:\n"
    "  1) Lower the system load.\n"
    "  2) Use a computer / VM just for Redis if you are running other software in the same "
    "system.\n"
    '  3) Check if you have a "noisy neighbour" problem.\n'
    "  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in your "
    "system.\n"
    "  5) Check if the problem is allocator-related by recompiling Redis with MALLOC=libc, if "
    "you are using Jemalloc. However this may create fragmentation problems.\n"
)
_ADVICE_LARGE_OBJECTS = (
    "- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking "
    "operation. If you have very large objects that are often deleted, expired, or evicted, "
    "try to fragment those objects into multiple smaller objects.\n"
)
_ADVICE_THP = (
    "- I detected a non zero amount of anonymous huge pages used by your process. This creates "
    "very serious latency events in different conditions, especially when Redis is persisting "
    "on disk. To disable THP support use the command 'echo never > "
    "/sys/kernel/mm/transparent_hugepage/enabled', make sure to also add it into /etc/rc.local "
    "so that the command will be executed again after a reboot. Note that even if you have "
    "already disabled THP, you still need to restart the Redis process to get rid of the huge "
    "pages already created.\n"
)


def _anon_huge_pages() -> int:
    """Bytes of anonymous huge pages this process uses (Redis's THP check), 0 if unknown."""
    try:
        with open("/proc/self/smaps_rollup", "rb") as smaps:
            for line in smaps:
                if line.startswith(b"AnonHugePages:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return 0
    return 0


def doctor_report(slower_than: int, threshold: int) -> str:
    """LATENCY DOCTOR's report, in Redis's words, for the events Zyst records."""
    events = MONITOR.events
    if not events and threshold == 0:
        return _NO_MONITOR
    report = ""
    advices = 0
    slowlog_enable = slowlog_tune = inspect = scheduler = large = False
    now = int(time.time())
    for number, (name, series) in enumerate(events.items(), 1):
        if number == 1:
            report += _SPIKES
        values = [ms for _, ms in series.samples]
        count = len(values)
        avg = sum(values) // count if count else 0
        mad = sum(abs(avg - v) for v in values) // count if count else 0
        period = (now - min(when for when, _ in series.samples)) or 1 if count else 0
        report += (
            f"{number}. {name}: {count} latency spikes (average {avg}ms, mean deviation "
            f"{mad}ms, period {period / count if count else float('nan'):.2f} sec). Worst all "
            f"time event {series.max}ms."
        )
        if name == "command":
            if slower_than < 0:
                slowlog_enable = True
                advices += 1
            elif slower_than // 1000 > threshold:
                slowlog_tune = True
                advices += 1
            inspect = large = True
            advices += 2
        elif name == "fast-command":
            scheduler = True
            advices += 1
        report += "\n"
    thp = _anon_huge_pages() > 0
    if thp:
        advices += 1
    if not events and advices == 0:
        return report + _NO_SPIKES
    if events and advices == 0:
        return report + _NO_FIX
    report += "\nI have a few advices for you:\n\n"
    if slowlog_enable:
        report += _ADVICE_SLOWLOG_ENABLE.format(threshold * 1000)
    if slowlog_tune:
        report += _ADVICE_SLOWLOG_TUNE.format(threshold * 1000)
    if inspect:
        report += _ADVICE_SLOWLOG_INSPECT
    if scheduler:
        report += _ADVICE_SCHEDULER
    if large:
        report += _ADVICE_LARGE_OBJECTS
    if thp:
        report += _ADVICE_THP
    return report


@subcommand(
    LATENCY,
    "doctor",
    arity=2,
    flags=_FLAGS,
    summary="Return a human readable latency analysis report.",
    since="2.8.13",
    complexity="O(1)",
    tips=_TIPS,
)
def latency_doctor(client: Client, argv: list[bytes]) -> Reply:
    """LATENCY DOCTOR"""
    config = client.ctx.config
    report = doctor_report(config.slowlog_log_slower_than, config.latency_monitor_threshold)
    return Verbatim(report.encode())


def _histogram_entry(cmd: Command) -> Map:
    histogram = cmd.histogram
    assert histogram is not None
    return Map(
        [
            (b"calls", sum(histogram)),
            (b"histogram_usec", Map(cumulative_usec(histogram))),
        ]
    )


def _with_histograms(cmd: Command) -> list[Command]:
    """``cmd`` and its subcommands that have a histogram."""
    found = [cmd] if cmd.histogram is not None else []
    return found + [sub for sub in cmd.subcommands.values() if sub.histogram is not None]


@subcommand(
    LATENCY,
    "histogram",
    arity=-2,
    flags=_FLAGS,
    summary="Return the cumulative distribution of latencies of a subset of commands or all.",
    since="7.0.0",
    syntax="[command [command ...]]",
    complexity=("O(N) where N is the number of commands with latency information being retrieved."),
    tips=_TIPS,
)
def latency_histogram(client: Client, argv: list[bytes]) -> Reply:
    """LATENCY HISTOGRAM [command [command ...]]: per command name (``container|sub`` for a
    subcommand) its calls and cumulative histogram; unknown names are left out."""
    chosen: list[Command] = []
    if len(argv) == 2:
        for cmd in COMMANDS.values():
            chosen += _with_histograms(cmd)
    else:
        for raw in argv[2:]:
            found = _find(raw)
            if found is not None:
                chosen += _with_histograms(found)
    return Map([(cmd.name.encode(), _histogram_entry(cmd)) for cmd in chosen])


def _find(name: bytes) -> Command | None:
    """A command, or a subcommand spelled ``container|sub``, in any case."""
    if b"|" in name:
        parent_name, _, sub = name.partition(b"|")
        parent = lookup(parent_name)
        return None if parent is None else parent.subcommands.get(sub.lower())
    return lookup(name)


_HELP = [
    "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR",
    "    Return a human readable latency analysis report.",
    "GRAPH <event>",
    "    Return an ASCII latency graph for the <event> class.",
    "HISTORY <event>",
    "    Return time-latency samples for the <event> class.",
    "LATEST",
    "    Return the latest latency samples for all events.",
    "RESET [<event> ...]",
    "    Reset latency data of one or more <event> classes.",
    "    (default: reset all data for all event classes)",
    "HISTOGRAM [COMMAND ...]",
    "    Return a cumulative distribution of latencies in the format of a histogram for the "
    "specified command names.",
    "    If no commands are specified then all histograms are replied.",
    "HELP",
    "    Prints this help.",
]


@subcommand(
    LATENCY,
    "help",
    arity=2,
    flags=("loading", "stale"),
    summary="Show helpful text about the different subcommands.",
    since="2.8.13",
    complexity="O(1)",
)
def latency_help(client: Client, argv: list[bytes]) -> Reply:
    """LATENCY HELP"""
    return help_reply(_HELP)
