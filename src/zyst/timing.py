"""How long commands take: the per-command calls and durations of INFO commandstats and
latencystats, and the slow commands SLOWLOG and LATENCY keep.

How durations are measured, cheaply: the connection reads the clock once before and once
after a batch of commands (the commands of one read, run back to back) and hands the batch's
time to :func:`account`. Meanwhile the dispatcher (:func:`zyst.commands.table.call`) keeps a
:class:`~zyst.commands.table.RunLog`:

- a command that cannot be slow (flagged ``fast``, or O(1): GET, SET, INCR …) is only counted;
  at the end of the batch such commands share the batch's time equally: their ``usec`` and
  latency histograms are **estimates** (exact for a command alone in its read, as when a
  client waits for each reply);
- a command that can be slow (KEYS, LRANGE, SINTER, EXEC, DEBUG …: ``Command.can_be_slow``)
  is timed one by one, between two clock reads, so its time is exact and the others share
  only what remains (:func:`untimed_share`): the slow command of a pipeline, or inside EXEC,
  is the one SLOWLOG and LATENCY see;
- while SLOWLOG's threshold is below a millisecond every command is timed one by one, since
  then any command may have to be logged with its arguments.

The time is the wall time of the batch on the server, reply encoding included, as Redis's
durations include its reply building. A process serves one server, so the counters live on the
command declarations themselves (native fields, no lookups per command).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from zyst.client import Client
    from zyst.config import Config

# What is told of each command of a slow batch: client, declaration, arguments, microseconds.
# (None: the arguments of a command not timed one by one, which are not kept.)
SlowSink = Callable[["Client", "Command", "list[bytes] | None", int], None]

# Histogram buckets over nanoseconds: values below 64 have one bucket each, larger ones 32
# buckets per power of two (a precision of 1/32, about 3%), up to about 10^12 ns (17 minutes).
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
        """Follow ``config``. While SLOWLOG's threshold is below a millisecond, every command
        is timed one by one: then even one that cannot be slow may be logged, with its
        arguments (at the cost of two clock reads per command)."""
        self.slower_than = config.slowlog_log_slower_than
        every = 0 <= self.slower_than < 1000
        for cmd in COMMANDS.values():
            for one in (cmd, *cmd.subcommands.values()):
                one.timed = every or one.can_be_slow
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


def account(client: Client, elapsed: float, parked: list[bytes] | None) -> None:
    """Count what ran since the last call (see :class:`~zyst.commands.table.RunLog`) as a
    batch taking ``elapsed`` seconds in all.

    ``parked``: the arguments of a command of the batch that blocked (BLPOP with nothing to
    pop); it is counted when it is served or gives up, as Redis counts a blocked command once,
    when it unblocks."""
    log = LOG
    if parked is not None:
        _unpark(parked)
    timed = log.timed
    if not timed:
        touched = log.touched
        if not touched or elapsed >= TIMING.bar:
            if touched:
                _batch_by_command(client, elapsed)
            return
        # The common case: commands that cannot be slow, an equal share each.
        count = 0
        for cmd in touched:
            count += cmd.batch_calls
        share = int(elapsed * 1e9) // count if count else 0
        index = bucket(share) if TIMING.tracking else -1
        for cmd in touched:
            _add(cmd, cmd.batch_calls, share, index)
            cmd.batch_calls = 0
        touched.clear()
        return
    _batch_by_command(client, elapsed)


def _unpark(argv: list[bytes]) -> None:
    cmd = lookup(argv[0])
    if cmd is None:
        return
    timed = LOG.timed
    if timed and timed[-1][0] is cmd:
        timed.pop()
    elif cmd.batch_calls > 0:
        cmd.batch_calls -= 1


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
    for cmd in LOG.touched:
        cmd.batch_calls = 0
    LOG.touched.clear()
    LOG.timed.clear()


def untimed_share(elapsed: float, timed: list[tuple[float, int]], untimed: int) -> float:
    """The time (seconds) each of ``untimed`` commands not timed one by one gets of a batch of
    ``elapsed`` seconds: an equal share of what the commands the client sent and that were
    timed (``timed``: seconds, nesting) did not take. A command run inside another one (EXEC's)
    is part of that one's time, so it is not taken off twice."""
    outside = sum(seconds for seconds, nesting in timed if nesting == 0)
    return max(elapsed - outside, 0.0) / untimed if untimed else 0.0


def _batch_by_command(client: Client, elapsed: float) -> None:
    """A batch with timed commands, or one slow enough for SLOWLOG or LATENCY: each timed
    command counted with its own time, the others with their share, and told to SLOWLOG and
    LATENCY when the batch is that slow (the others without their arguments, which are not
    kept: below SLOWLOG's millisecond every command is timed, see :meth:`Timing.update`)."""
    log = LOG
    touched = [(cmd, cmd.batch_calls) for cmd in log.touched]
    timed = list(log.timed)
    forget()
    count = sum(calls for _, calls in touched)
    share = untimed_share(elapsed, [(t[1], t[2]) for t in timed], count)
    tracking = TIMING.tracking
    sinks = TIMING.log_slow if elapsed >= TIMING.bar else []
    ns = int(share * 1e9)
    for cmd, calls in touched:
        _add(cmd, calls, ns, bucket(ns) if tracking else -1)
        for sink in sinks:
            sink(client, cmd, None, ns // 1000)
    for cmd, seconds, _, argv in timed:
        ns = int(seconds * 1e9)
        _add(cmd, 1, ns, bucket(ns) if tracking else -1)
        for sink in sinks:
            sink(client, cmd, argv, ns // 1000)


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


# Imported last: the command table's package imports SLOWLOG and LATENCY, which import this
# module and need TIMING and the functions above to exist already (a module that imports
# zyst.context, and through it this one, before zyst.commands must still load).
from zyst.commands.table import COMMANDS, LOG, Command, lookup  # noqa: E402
