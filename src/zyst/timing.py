"""How long commands take: the per-command calls and durations of INFO commandstats and
latencystats, and the slow commands SLOWLOG and LATENCY keep.

How durations are measured, cheaply: for most commands the dispatcher
(:func:`zyst.commands.table.call`) does one thing, it notes the declaration and the arguments in
its :class:`~zyst.commands.table.RunLog`. The
connection reads the clock once before and once after a batch of commands (the commands of one
read, run back to back) and hands the batch's time to :func:`account`, which counts the calls and
shares the time out:

- a batch of one command (a client that waits for each reply) gives that command its exact time;
- in a pipelined batch each command gets an equal share of the batch's time: ``usec`` and the
  latency histograms are then **estimates**, exact in total per batch but not per command;
- the commands that can be slow (neither flagged ``fast`` nor O(1): KEYS, LRANGE, SINTER, EXEC,
  DEBUG …, ``Command.timed``) are timed one by one by the dispatcher, so theirs are exact, and
  the other commands of their batch share what remains (:func:`durations`): the slow command
  of a pipeline, or inside EXEC, is the one SLOWLOG and LATENCY see.

The time is the wall time of the batch on the server, reply encoding included, as Redis's
durations include its reply building. A process serves one server, so the counters live on the
command declarations themselves (native fields, no lookups per command).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from zyst.commands.table import LOG, Command

if TYPE_CHECKING:
    from zyst.client import Client
    from zyst.config import Config

# What is told of each command of a slow batch: client, declaration, arguments, microseconds.
SlowSink = Callable[["Client", Command, list[bytes], int], None]

# Histogram buckets over nanoseconds: values below 64 have one bucket each, larger ones 32
# buckets per power of two (a precision of 1/32, about 3%), up to about 10^12 ns (17 minutes).
_NO_ARGS: Final[list[bytes]] = []
_SUB_BITS: Final = 5
_DIRECT: Final = 1 << (_SUB_BITS + 1)
BUCKETS: Final = 1216


def bucket(ns: int) -> int:
    """The histogram bucket of a duration of ``ns`` nanoseconds."""
    if ns < _DIRECT:
        return ns if ns > 0 else 0
    shift = ns.bit_length() - _SUB_BITS - 1
    index = (shift << _SUB_BITS) + (ns >> shift)
    return index if index < BUCKETS else BUCKETS - 1


def bucket_high(index: int) -> int:
    """The largest duration (ns) bucket ``index`` holds."""
    if index < _DIRECT:
        return index
    shift = (index >> _SUB_BITS) - 1
    mantissa = (index & ((1 << _SUB_BITS) - 1)) | (1 << _SUB_BITS)
    return ((mantissa + 1) << shift) - 1


class Timing:
    """The settings that decide what a batch's time feeds, followed through CONFIG SET.

    ``bar`` is the batch duration (seconds) from which a batch may hold a slow command:
    the smaller of ``slowlog-log-slower-than`` and ``latency-monitor-threshold``, infinite when
    both are off. Below it a batch costs one loop over its commands.
    """

    def __init__(self) -> None:
        self.slower_than = 10000  # microseconds, -1: SLOWLOG off
        self.latency_threshold = 0  # milliseconds, 0: LATENCY off
        self.tracking = True
        self.bar = 0.01
        # What is told of each command of a slow batch (client, declaration, arguments,
        # microseconds): SLOWLOG and LATENCY register here (they import this module).
        self.log_slow: list[SlowSink] = []

    def update(self, config: Config) -> None:
        self.slower_than = config.slowlog_log_slower_than
        self.latency_threshold = config.latency_monitor_threshold
        self.tracking = config.latency_tracking
        bar = float("inf")
        if self.slower_than >= 0:
            bar = self.slower_than / 1e6
        if self.latency_threshold > 0:
            bar = min(bar, self.latency_threshold / 1e3)
        self.bar = bar


TIMING: Final = Timing()


def follow_settings(config: Config) -> None:
    """Take the timing settings from ``config`` now and after every CONFIG SET of them."""
    TIMING.update(config)
    for name in (
        "slowlog-log-slower-than",
        "latency-monitor-threshold",
        "latency-tracking",
    ):
        config.on_change(name, lambda _name: TIMING.update(config))


def account(client: Client, elapsed: float, parked: bool) -> None:
    """Count the commands run since the last call as calls taking ``elapsed`` seconds in all.

    ``parked``: the last of them blocked (BLPOP with nothing to pop); it is counted when it is
    served or gives up, as Redis counts a blocked command once, when it unblocks."""
    log = LOG
    if parked:
        log.drop_last()
    count = log.count
    if count == 0:
        log.timed.clear()
        return
    if log.timed or elapsed >= TIMING.bar:
        _batch_by_command(client, elapsed)
        return
    # Every command of the batch gets the same share, so a run of the same command (a
    # pipeline of GETs) is counted in one go: per command this loop does one comparison and
    # lets the arguments go.
    share = int(elapsed * 1e9) // count
    index = bucket(share) if TIMING.tracking else -1
    cmds = log.cmds
    argvs = log.argvs
    previous = cmds[0]
    run = 0
    for i in range(count):
        cmd = cmds[i]
        argvs[i] = _NO_ARGS
        if cmd is previous:
            run += 1
        else:
            _add(previous, run, share, index)
            previous = cmd
            run = 1
    _add(previous, run, share, index)
    log.count = 0


def _add(cmd: Command, calls: int, each: int, index: int) -> None:
    """Count ``calls`` calls of ``cmd`` of ``each`` ns, in histogram bucket ``index`` (-1:
    latency tracking is off)."""
    cmd.calls += calls
    cmd.duration += each * calls
    if index >= 0:
        histogram = cmd.histogram
        if histogram is None:
            histogram = cmd.histogram = [0] * BUCKETS
        histogram[index] += calls


def count_unblocked(cmd: Command | None, failed: bool) -> None:
    """Count a blocked command that ended without running again (a timeout, CLIENT UNBLOCK)."""
    if cmd is None:
        return
    _add(cmd, 1, 0, bucket(0) if TIMING.tracking else -1)
    if failed:
        cmd.failed_calls += 1


def forget() -> None:
    """Drop what ran without being counted (the AOF replay, which Redis does not count)."""
    LOG.forget()


def durations(count: int, timed: list[tuple[int, float, int]], elapsed: float) -> list[float]:
    """Each command's time (seconds) in a batch of ``count`` commands taking ``elapsed``: the
    measured time of the timed ones (position, seconds, nesting), and an equal share of what
    the commands the client sent did not measure for the others."""
    measured = [-1.0] * count
    outside = 0.0
    for position, seconds, nesting in timed:
        if position < count:
            measured[position] = seconds
            if nesting == 0:
                outside += seconds
    rest = count - sum(1 for seconds in measured if seconds >= 0)
    share = max(elapsed - outside, 0.0) / rest if rest else 0.0
    return [seconds if seconds >= 0 else share for seconds in measured]


def _batch_by_command(client: Client, elapsed: float) -> None:
    """A batch with timed commands, or one slow enough for SLOWLOG or LATENCY: each command
    counted with its own time, and told to them when the batch is that slow."""
    log = LOG
    ran = log.cmds[: log.count]
    argvs = log.argvs[: log.count]
    times = durations(len(ran), log.timed, elapsed)
    log.forget()
    tracking = TIMING.tracking
    sinks = TIMING.log_slow if elapsed >= TIMING.bar else []
    for i, cmd in enumerate(ran):
        ns = int(times[i] * 1e9)
        _add(cmd, 1, ns, bucket(ns) if tracking else -1)
        for sink in sinks:
            sink(client, cmd, argvs[i], ns // 1000)


def reset_stats(commands: list[Command]) -> None:
    """CONFIG RESETSTAT: every command's calls, time, errors and histogram back to nothing."""
    for cmd in commands:
        cmd.calls = 0
        cmd.duration = 0
        cmd.rejected_calls = 0
        cmd.failed_calls = 0
        cmd.histogram = None


def percentile(histogram: list[int], percent: float) -> float:
    """The duration (microseconds) under which ``percent`` % of the samples fall: the top of
    the bucket holding that sample, as HdrHistogram's value-at-percentile reports it."""
    total = sum(histogram)
    if total == 0:
        return 0.0
    wanted = max(int(percent / 100.0 * total + 0.5), 1)
    seen = 0
    last = 0
    for index, count in enumerate(histogram):
        if count:
            seen += count
            last = index
            if seen >= wanted:
                return bucket_high(index) / 1000.0
    return bucket_high(last) / 1000.0


def cumulative_usec(histogram: list[int]) -> list[tuple[int, int]]:
    """LATENCY HISTOGRAM's buckets: (microseconds, samples up to it), the bounds doubling from
    1024 ns as Redis's log iteration of its histogram does, leaving out bounds that add
    nothing."""
    rows: list[tuple[int, int]] = []
    total = sum(histogram)
    bound = 1024
    index = 0
    seen = 0
    previous = 0
    while seen < total:
        while index < BUCKETS and bucket_high(index) < bound:
            seen += histogram[index]
            index += 1
        if seen > previous:
            rows.append((bound // 1000, seen))
        previous = seen
        bound *= 2
    return rows


def now() -> float:
    """The clock the batches are timed with (monotonic seconds)."""
    return time.monotonic()
