#!/usr/bin/env python3
"""Zyst against a real redis-server, side by side on the same machine in the same run.

Three figures, each described in ``bench/README.md``:

* **throughput and CPU** — ``redis-benchmark`` runs every test at every pipeline depth against
  both servers, alternating between them (Redis then Zyst, Zyst then Redis on the next run, so
  neither always goes first) and repeating ``--runs`` times. Each test is a separate
  ``redis-benchmark`` invocation so that the CPU time the server process spent (utime + stime from
  ``/proc/PID/stat``, read just before and just after) belongs to that test alone; it is reported
  as CPU microseconds per request. Both servers are flushed before every invocation.
* **memory** — RSS of a fresh server before and after loading N string keys through
  ``redis-cli --pipe``; bytes per key is the difference divided by N.
* **AOF load** — seconds from starting the process until it answers PING, with a plain AOF of N
  SET commands in its directory (and, for scale, the same with an empty directory).

Usage::

    python bench/bench.py                       # everything, with the defaults below
    python bench/bench.py --runs 1 --requests 20000 --memory 100000 --load 100000
    python bench/bench.py --tests set,get --pipelines 16 --memory 0 --load 0
    python bench/bench.py --only-memory --memory 500000

Writes the tables to stdout and to ``--out-md``, every raw run to ``--out-json`` and, when
matplotlib is installed, a bar chart of the Zyst/Redis throughput ratios to ``--out-png``.

Only the standard library is needed (matplotlib is optional, for the chart). The servers get
temporary directories under one temporary parent that is removed at the end, and free ports picked
by binding port 0; after a server answers PING we check through ``INFO server`` that it is our
process answering, not someone else's server that got the port first.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import math
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO

REDIS_SERVER = "/usr/bin/redis-server"
REDIS_BENCHMARK = "/usr/bin/redis-benchmark"
REDIS_CLI = "/usr/bin/redis-cli"

RESULTS_DIR = Path(__file__).resolve().parent / "results"
DEFAULT_TESTS = (
    "set,get,incr,lpush,rpush,lpop,rpop,sadd,hset,spop,"
    "lrange_100,lrange_300,lrange_500,lrange_600,mset"
)
SERVERS = ("redis", "zyst")


@dataclass(frozen=True)
class FamilyTest:
    """A test redis-benchmark has no ``-t`` name for: ``command`` in its custom-command form,
    after ``setup`` has filled the data it reads. ``__rand_int__`` in the command becomes a
    random number below ``-r`` (:data:`FAMILY_KEYSPACE`), zero-padded to 12 digits: fine for
    keys, fields and members (the setup writes them the same way), not for integer arguments
    (Redis refuses leading zeros there), which are fixed instead."""

    command: tuple[str, ...]
    setup: tuple[tuple[str, ...], ...] = ()
    # ``-r`` for this test, when not FAMILY_KEYSPACE.
    keyspace: int = 0


FAMILY_KEYSPACE = 1000
# Entries of the stream the consumer-group tests read and acknowledge: more than the requests
# of a run (50,000 at pipeline 1, 100,000 deeper), so that every XREADGROUP delivers a new
# entry; and the keyspace XACK draws its IDs from, so that most XACKs acknowledge one.
STREAM_ENTRIES = 300_000
# Fills a stream with entries 0-1, 1-1, ... (one script: setup commands go one per connection)
# and creates group g at its start; with ARGV[2] = 1, delivers them all to consumer c.
_FILL_STREAM = (
    "for i = 0, tonumber(ARGV[1]) - 1 do redis.call('XADD', KEYS[1], i .. '-1', 'f', 'v') end "
    "redis.call('XGROUP', 'CREATE', KEYS[1], 'g', '0') "
    "if ARGV[2] == '1' then "
    "redis.call('XREADGROUP', 'GROUP', 'g', 'c', 'STREAMS', KEYS[1], '>') end "
    "return 1"
)


def _padded(prefix: str, count: int, start: int = 0) -> list[str]:
    """``prefix`` + each number of ``range(start, start + count)`` as ``__rand_int__`` writes it."""
    return [f"{prefix}{n:012d}" for n in range(start, start + count)]


def _fields(count: int) -> list[str]:
    return [part for field in _padded("f:", count) for part in (field, "v")]


def _scores(count: int) -> list[str]:
    return [part for n, member in enumerate(_padded("m:", count)) for part in (str(n), member)]


def _points(count: int) -> list[str]:
    """GEOADD's arguments for ``count`` points on a grid over a degree square of Sicily (a
    search of 10 km around its middle finds about 30 of 1000)."""
    side = math.isqrt(count - 1) + 1
    return [
        part
        for n, member in enumerate(_padded("m:", count))
        for part in (f"{13 + (n % side) / side:.6f}", f"{38 + (n // side) / side:.6f}", member)
    ]


# The command families beyond the classic redis-benchmark tests (issue 15): run by --families.
# A family whose command Zyst does not know yet is skipped with a notice.
FAMILY_TESTS: dict[str, FamilyTest] = {
    "hincrby": FamilyTest(("HINCRBY", "h", "f:__rand_int__", "1")),
    "hmget": FamilyTest(
        ("HMGET", "h", "f:__rand_int__", "f:__rand_int__", "f:__rand_int__"),
        (("HSET", "h", *_fields(FAMILY_KEYSPACE)),),
    ),
    "sismember": FamilyTest(
        ("SISMEMBER", "s", "__rand_int__"), (("SADD", "s", *_padded("", FAMILY_KEYSPACE)),)
    ),
    "sinter": FamilyTest(
        ("SINTER", "s1", "s2"),
        (("SADD", "s1", *_padded("", 100)), ("SADD", "s2", *_padded("", 100, start=50))),
    ),
    "setrange": FamilyTest(("SETRANGE", "str", "100", "xyz")),
    "getbit": FamilyTest(("GETBIT", "bits", "4000"), (("SETBIT", "bits", "8000", "1"),)),
    "bitcount": FamilyTest(("BITCOUNT", "bits"), (("SET", "bits", "x" * 1000),)),
    "lindex": FamilyTest(("LINDEX", "l", "500"), (("RPUSH", "l", *_padded("", FAMILY_KEYSPACE)),)),
    "lpos": FamilyTest(
        ("LPOS", "l", "__rand_int__"), (("RPUSH", "l", *_padded("", FAMILY_KEYSPACE)),)
    ),
    "zadd": FamilyTest(("ZADD", "z", "__rand_int__", "m:__rand_int__")),
    "zincrby": FamilyTest(("ZINCRBY", "z", "1", "m:__rand_int__")),
    "zrangebyscore_100": FamilyTest(
        ("ZRANGEBYSCORE", "z", "100", "199"), (("ZADD", "z", *_scores(FAMILY_KEYSPACE)),)
    ),
    "zrange_100": FamilyTest(
        ("ZRANGE", "z", "0", "99"), (("ZADD", "z", *_scores(FAMILY_KEYSPACE)),)
    ),
    "zrank": FamilyTest(
        ("ZRANK", "z", "m:__rand_int__"), (("ZADD", "z", *_scores(FAMILY_KEYSPACE)),)
    ),
    # PFADD of one of 1000 elements to one HLL (sparse, about 2 KB: most adds change nothing);
    # PFCOUNT of one dense HLL, whose count is cached after the first (what Redis does too),
    # and of two, a union, merged and estimated each time (never cached).
    "pfadd": FamilyTest(("PFADD", "hll", "e:__rand_int__")),
    "pfcount": FamilyTest(("PFCOUNT", "hll"), (("PFADD", "hll", *_padded("e:", 5000)),)),
    "pfcount_2": FamilyTest(
        ("PFCOUNT", "hll1", "hll2"),
        (("PFADD", "hll1", *_padded("a:", 5000)), ("PFADD", "hll2", *_padded("b:", 5000))),
    ),
    # XREADGROUP + XACK of one entry, as two tests (redis-benchmark runs one command per
    # test): each XREADGROUP delivers one new entry (it becomes pending: the PEL insert and the
    # XCLAIM it propagates as); each XACK names one of the 300,000 pending entries, drawn at
    # random, so at least 85% of them acknowledge one (the rest find it acknowledged already).
    "xreadgroup": FamilyTest(
        ("XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "s", ">"),
        (("EVAL", _FILL_STREAM, "1", "s", str(STREAM_ENTRIES), "0"),),
    ),
    "xack": FamilyTest(
        ("XACK", "s", "g", "__rand_int__-1"),
        (("EVAL", _FILL_STREAM, "1", "s", str(STREAM_ENTRIES), "1"),),
        keyspace=STREAM_ENTRIES,
    ),
    "geoadd": FamilyTest(("GEOADD", "geo", "13.__rand_int__", "38.__rand_int__", "m:__rand_int__")),
    "geosearch_byradius": FamilyTest(
        ("GEOSEARCH", "geo", "FROMLONLAT", "13.5", "38.5", "BYRADIUS", "10", "km"),
        (("GEOADD", "geo", *_points(FAMILY_KEYSPACE)),),
    ),
    "scan": FamilyTest(
        ("SCAN", "0", "COUNT", "10"),
        (("MSET", *[p for k in _padded("k:", FAMILY_KEYSPACE) for p in (k, "v")]),),
    ),
    "xadd": FamilyTest(("XADD", "x", "*", "f", "v:__rand_int__")),
    # From a random ID (__rand_int__ reads as its milliseconds, leading zeros and all, as
    # Redis's string2ull takes them) ten entries on: the stream holds IDs 0-1 .. 1009-1.
    "xrange_10": FamilyTest(
        ("XRANGE", "xs", "__rand_int__", "+", "COUNT", "10"),
        tuple(("XADD", "xs", f"{n}-1", "f", "v", "g", str(n)) for n in range(FAMILY_KEYSPACE + 10)),
    ),
}
DEFAULT_FAMILIES = ",".join(FAMILY_TESTS)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
HOST = "127.0.0.1"

# How long a single redis-benchmark invocation, a server start or an AOF load may take before we
# give up: generous, because Zyst at pipeline 1 on a busy two-core machine is slow.
BENCHMARK_TIMEOUT = 900.0
START_TIMEOUT = 900.0


class BenchError(RuntimeError):
    """Something went wrong that makes a figure meaningless: a server died, a tool failed."""


# --------------------------------------------------------------------------------------------
# A tiny RESP client: enough for PING, INFO, FLUSHALL and DBSIZE over a fresh socket each time.


class ServerError(Exception):
    """An error reply (``-ERR ...``, ``-LOADING ...``)."""


Reply = bytes | int | None


def encode_command(*args: str | bytes) -> bytes:
    """The RESP multibulk form of one command."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg.encode() if isinstance(arg, str) else arg
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


def read_reply(stream: BinaryIO) -> Reply:
    """One simple reply (status, error, integer or bulk string) from ``stream``."""
    line = stream.readline()
    if not line.endswith(b"\r\n"):
        raise ConnectionError("connection closed before a whole reply arrived")
    kind, body = line[:1], line[1:-2]
    if kind == b"+":
        return body
    if kind == b"-":
        raise ServerError(body.decode(errors="replace"))
    if kind == b":":
        return int(body)
    if kind == b"$":
        length = int(body)
        return None if length < 0 else stream.read(length + 2)[:-2]
    raise ValueError(f"unexpected reply line {line!r}")


def call(port: int, *args: str | bytes, timeout: float = 120.0) -> Reply:
    """Send one command to ``port`` on a new connection and return its reply."""
    with (
        socket.create_connection((HOST, port), timeout=timeout) as sock,
        sock.makefile("rb") as stream,
    ):
        sock.sendall(encode_command(*args))
        return read_reply(stream)


def free_port() -> int:
    """A TCP port nobody listens on right now (another process may still take it before us)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


# --------------------------------------------------------------------------------------------
# Server processes.


@dataclass(frozen=True)
class Persistence:
    """The AOF settings both servers get: ``--aof no|everysec|always``."""

    appendonly: bool
    appendfsync: str

    @classmethod
    def from_option(cls, value: str) -> Persistence:
        return cls(False, "everysec") if value == "no" else cls(True, value)


class Server:
    """One redis-server or Zyst process that we started, on its own port and directory."""

    def __init__(
        self,
        kind: str,
        port: int,
        directory: Path,
        persistence: Persistence,
        program: str | None = None,
    ) -> None:
        # ``kind`` is the column the server's figures go to; ``program`` what runs (the same,
        # except in a control run, where a second redis-server stands in Zyst's column).
        self.kind = kind
        self.port = port
        self.dir = directory
        self.log_path = directory / f"{kind}.log"
        yes_no = "yes" if persistence.appendonly else "no"
        if (program or kind) == "redis":
            self.argv = [
                REDIS_SERVER,
                *("--port", str(port), "--bind", HOST, "--dir", str(directory)),
                *("--save", "", "--appendonly", yes_no),
                *("--appendfsync", persistence.appendfsync, "--aof-use-rdb-preamble", "no"),
                *("--appendfilename", "appendonly.aof", "--daemonize", "no"),
            ]
        else:
            self.argv = [
                sys.executable,
                *("-m", "zyst", "--port", str(port), "--bind", HOST, "--dir", str(directory)),
                *("--appendonly", yes_no, "--appendfsync", persistence.appendfsync),
            ]
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    @property
    def pid(self) -> int:
        assert self.proc is not None, "server not started"
        return self.proc.pid

    def start(self) -> None:
        with open(self.log_path, "wb") as log:
            self.started_at = time.perf_counter()
            self.proc = subprocess.Popen(
                self.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )

    def wait_ready(self, timeout: float = START_TIMEOUT) -> float:
        """Poll PING every 10 ms until ``+PONG`` (a loading server answers ``-LOADING``).

        Returns the seconds since :meth:`start`. Raises BenchError if the process exits first."""
        assert self.proc is not None, "server not started"
        deadline = self.started_at + timeout
        while True:
            if self.proc.poll() is not None:
                raise BenchError(
                    f"{self.kind} exited with {self.proc.returncode}:\n{self.log_tail()}"
                )
            try:
                if call(self.port, "PING", timeout=5.0) == b"PONG":
                    elapsed = time.perf_counter() - self.started_at
                    break
            except (OSError, ServerError):
                pass
            if time.perf_counter() > deadline:
                raise BenchError(f"{self.kind} did not answer PING within {timeout:.0f} s")
            time.sleep(0.01)
        info = call(self.port, "INFO", "server")
        match = re.search(rb"process_id:(\d+)", info if isinstance(info, bytes) else b"")
        if not match or int(match.group(1)) != self.pid:
            raise BenchError(
                f"port {self.port} is answered by another process than our {self.kind}"
            )
        return elapsed

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def cpu_seconds(self) -> float:
        """User + system CPU time of the whole process (all threads), from /proc/PID/stat."""
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        # The command name (field 2) is in parentheses and may hold spaces; fields after it are
        # numbered from 3 (state), so utime (14) and stime (15) are at 11 and 12.
        fields = stat[stat.rindex(")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def rss_bytes(self) -> int:
        """Resident set size (VmRSS) from /proc/PID/status."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise BenchError(f"no VmRSS for {self.kind} (pid {self.pid})")


@contextmanager
def running(
    kind: str,
    parent: Path,
    persistence: Persistence,
    prepare: Callable[[Path], None] | None = None,
    program: str | None = None,
) -> Iterator[tuple[Server, float]]:
    """Start a server in a fresh directory under ``parent``, yield it with its start-up seconds.

    ``prepare`` may put files (an AOF) in the directory first. A port stolen between picking and
    binding shows up as the process exiting or as a foreign process answering: then we retry."""
    for attempt in range(3):
        directory = Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=parent))
        if prepare is not None:
            prepare(directory)
        server = Server(kind, free_port(), directory, persistence, program)
        server.start()
        try:
            ready_after = server.wait_ready()
        except BenchError:
            server.stop()
            if attempt == 2:
                raise
            continue
        try:
            yield server, ready_after
        finally:
            server.stop()
        return


# --------------------------------------------------------------------------------------------
# Throughput and CPU per request.


@dataclass
class Sample:
    """One redis-benchmark invocation: one server, one test, one pipeline depth, one run."""

    run: int
    server: str
    test: str
    pipeline: int
    requests: int
    rps: float
    cpu_seconds: float

    @property
    def cpu_us_per_request(self) -> float:
        return self.cpu_seconds / self.requests * 1e6


def test_name(csv_name: str) -> str:
    """The ``-t`` name of a CSV row: ``"LRANGE_100 (first 100 elements)"`` → ``lrange_100``."""
    return csv_name.split(" ", 1)[0].lower()


def run_benchmark(
    server: Server, test: str, pipeline: int, requests: int, clients: int
) -> tuple[float, float]:
    """Run one test against ``server``; return (requests per second, server CPU seconds).

    The LRANGE tests first fill the list with as many LPUSHes, reported as their own row
    ``"LPUSH (needed to benchmark LRANGE)"``. That row is not a result, and the CPU clock restarts
    when it appears, so the CPU figure is the LRANGE part alone. This needs redis-benchmark's
    output line by line as it comes; it buffers stdout when writing to a pipe, so we run it under
    ``stdbuf -oL`` (without stdbuf the fill is counted in the LRANGE CPU, see ``fill_in_cpu``)."""
    call(server.port, "FLUSHALL")
    argv = [REDIS_BENCHMARK, "-h", HOST, "-p", str(server.port), "-c", str(clients)]
    argv += ["-n", str(requests), "-P", str(pipeline), "--csv"]
    family = FAMILY_TESTS.get(test)
    if family is None:
        argv += ["-t", test]
    else:
        for command in family.setup:
            call(server.port, *command)
        argv += ["-r", str(family.keyspace or FAMILY_KEYSPACE), *family.command]
    stdbuf = shutil.which("stdbuf")
    if stdbuf:
        argv = [stdbuf, "-oL", *argv]
    rps: float | None = None
    with tempfile.TemporaryFile() as errors:
        cpu_start = server.cpu_seconds()
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=errors, text=True)
        watchdog = threading.Timer(BENCHMARK_TIMEOUT, proc.kill)
        watchdog.start()
        try:
            assert proc.stdout is not None
            for row in csv.reader(proc.stdout):
                if len(row) < 2 or row[0] == "test":
                    continue
                if "(needed to benchmark" in row[0]:
                    cpu_start = server.cpu_seconds()
                elif family is not None or test_name(row[0]) == test:
                    rps = float(row[1])
            proc.wait()
        finally:
            watchdog.cancel()
        cpu_end = server.cpu_seconds()
        errors.seek(0)
        stderr = errors.read().decode(errors="replace").strip()
    if proc.returncode != 0 or rps is None:
        raise BenchError(
            f"redis-benchmark {test} -P {pipeline} against {server.kind} failed "
            f"(exit {proc.returncode}, result row {'found' if rps else 'missing'}):\n{stderr}"
        )
    if stderr:
        print(f"  warning: redis-benchmark said on stderr: {stderr[:300]}", file=sys.stderr)
    return rps, cpu_end - cpu_start


def knows(server: Server, name: str) -> bool:
    """Whether ``server`` has the command ``name`` (a family test of a command it lacks is
    skipped, with a notice)."""
    with (
        socket.create_connection((HOST, server.port), timeout=30) as sock,
        sock.makefile("rb") as stream,
    ):
        sock.sendall(encode_command("COMMAND", "INFO", name))
        stream.readline()  # the array of one entry
        known = stream.readline() not in (b"$-1\r\n", b"*-1\r\n")  # nil: no such command
    if not known:
        print(f"bench: {server.kind} has no {name} yet: its test is skipped", file=sys.stderr)
    return known


def fill_in_cpu() -> bool:
    """Whether LRANGE CPU figures include the LPUSH fill (when stdbuf is missing)."""
    return shutil.which("stdbuf") is None


def requests_for(pipeline: int, requests: int | None) -> int:
    """``--requests`` if given, else 50000 at pipeline 1 and 100000 when pipelining."""
    if requests is not None:
        return requests
    return 50_000 if pipeline == 1 else 100_000


def run_throughput(args: argparse.Namespace, parent: Path) -> list[Sample]:
    """Every test x pipeline x server, ``args.runs`` times, servers alternating test by test."""
    persistence = Persistence.from_option(args.aof)
    samples: list[Sample] = []
    with (
        running("redis", parent, persistence) as (redis, _),
        running("zyst", parent, persistence, program="redis" if args.control else None) as (
            zyst,
            _,
        ),
    ):
        servers = {"redis": redis, "zyst": zyst}
        args.families = [f for f in args.families if knows(zyst, FAMILY_TESTS[f].command[0])]
        for run in range(1, args.runs + 1):
            # Swap who goes first on every other run, so neither profits from going first.
            order = SERVERS if run % 2 else SERVERS[::-1]
            for pipeline in args.pipelines:
                requests = requests_for(pipeline, args.requests)
                for test in [*args.tests, *args.families]:
                    for kind in order:
                        rps, cpu = run_benchmark(
                            servers[kind], test, pipeline, requests, args.clients
                        )
                        sample = Sample(run, kind, test, pipeline, requests, rps, cpu)
                        samples.append(sample)
                        print(
                            f"run {run}/{args.runs}  P{pipeline:<3} {test:<11} {kind:<5} "
                            f"{rps:>11,.0f} req/s  {sample.cpu_us_per_request:7.2f} µs CPU/req",
                            file=sys.stderr,
                        )
    return samples


@dataclass
class ThroughputRow:
    """The medians over runs of one test at one pipeline depth."""

    test: str
    pipeline: int
    redis_rps: float
    zyst_rps: float
    redis_cpu_us: float
    zyst_cpu_us: float

    @property
    def ratio(self) -> float:
        return self.zyst_rps / self.redis_rps

    @property
    def cpu_ratio(self) -> float:
        return self.zyst_cpu_us / self.redis_cpu_us if self.redis_cpu_us else float("nan")


def summarize(
    samples: Sequence[Sample], tests: Sequence[str], pipelines: Sequence[int]
) -> list[ThroughputRow]:
    """One row per pipeline depth and test (in that order), medians over the runs."""
    runs: dict[tuple[str, str, int], list[Sample]] = {}
    for s in samples:
        runs.setdefault((s.server, s.test, s.pipeline), []).append(s)

    def medians(kind: str, test: str, pipeline: int) -> tuple[float, float]:
        chosen = runs[kind, test, pipeline]
        return (
            statistics.median(s.rps for s in chosen),
            statistics.median(s.cpu_us_per_request for s in chosen),
        )

    rows = []
    for pipeline in pipelines:
        for test in tests:
            redis_rps, redis_cpu = medians("redis", test, pipeline)
            zyst_rps, zyst_cpu = medians("zyst", test, pipeline)
            rows.append(ThroughputRow(test, pipeline, redis_rps, zyst_rps, redis_cpu, zyst_cpu))
    return rows


def geomean(values: Sequence[float]) -> float:
    finite = [v for v in values if v > 0 and v == v]  # drop NaN (no measurable Redis CPU)
    return statistics.geometric_mean(finite) if finite else float("nan")


# --------------------------------------------------------------------------------------------
# Memory and AOF load.


def set_commands(count: int) -> bytes:
    """RESP ``SET key:<n> <16 random bytes>`` for n in 0..count-1, as one byte string."""
    values = os.urandom(16 * count)
    return b"".join(
        b"*3\r\n$3\r\nSET\r\n$%d\r\nkey:%d\r\n$16\r\n%s\r\n"
        % (len(b"key:%d" % n), n, values[16 * n : 16 * n + 16])
        for n in range(count)
    )


def dbsize(server: Server) -> int:
    size = call(server.port, "DBSIZE")
    assert isinstance(size, int)
    return size


@dataclass
class MemoryResult:
    server: str
    keys: int
    rss_before: int
    rss_after: int

    @property
    def bytes_per_key(self) -> float:
        return (self.rss_after - self.rss_before) / self.keys


def run_memory(keys: int, parent: Path) -> list[MemoryResult]:
    """Load ``keys`` keys into a fresh server (AOF off) with redis-cli --pipe; RSS before/after."""
    stream = parent / "memory.resp"
    stream.write_bytes(set_commands(keys))
    results = []
    for kind in SERVERS:
        with running(kind, parent, Persistence(False, "everysec")) as (server, _):
            before = server.rss_bytes()
            with open(stream, "rb") as commands:
                piped = subprocess.run(
                    [REDIS_CLI, "-h", HOST, "-p", str(server.port), "--pipe"],
                    stdin=commands,
                    capture_output=True,
                    text=True,
                    timeout=BENCHMARK_TIMEOUT,
                )
            if piped.returncode != 0 or f"errors: 0, replies: {keys}" not in piped.stdout:
                raise BenchError(
                    f"redis-cli --pipe into {kind} failed:\n{piped.stdout}{piped.stderr}"
                )
            if (loaded := dbsize(server)) != keys:
                raise BenchError(f"{kind} holds {loaded} keys after loading {keys}")
            results.append(MemoryResult(kind, keys, before, server.rss_bytes()))
            print(f"memory  {kind:<5} {results[-1].bytes_per_key:8.1f} bytes/key", file=sys.stderr)
    return results


@dataclass
class LoadResult:
    server: str
    keys: int
    empty_start_seconds: float
    load_seconds: float


def run_load(keys: int, parent: Path) -> list[LoadResult]:
    """Seconds until PONG with a plain AOF of ``keys`` SETs in the directory, and with none.

    Both servers find it as ``<dir>/appendonly.aof``: Zyst reads that file, and Redis 7 (no
    manifest in ``appendonlydir``) loads such an old-style AOF and then converts it."""
    aof = parent / "load.aof"
    aof.write_bytes(encode_command("SELECT", "0") + set_commands(keys))

    def put_aof(directory: Path) -> None:
        shutil.copyfile(aof, directory / "appendonly.aof")

    persistence = Persistence(True, "everysec")
    results = []
    for kind in SERVERS:
        with running(kind, parent, persistence) as (server, empty_seconds):
            pass
        with running(kind, parent, persistence, prepare=put_aof) as (server, load_seconds):
            if (loaded := dbsize(server)) != keys:
                raise BenchError(f"{kind} loaded {loaded} keys from an AOF of {keys}")
        results.append(LoadResult(kind, keys, empty_seconds, load_seconds))
        print(f"load    {kind:<5} {load_seconds:8.3f} s", file=sys.stderr)
    return results


# --------------------------------------------------------------------------------------------
# Reporting.


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], markdown: bool) -> str:
    """Right-aligned columns (first one left-aligned), as plain text or as a Markdown table."""
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        padded = [
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |" if markdown else "  ".join(padded)

    rule = ["-" * w if i == 0 else "-" * (w - 1) + ":" for i, w in enumerate(widths)]
    return "\n".join([line(headers), line(rule), *(line(r) for r in rows)])


def throughput_tables(
    rows: Sequence[ThroughputRow], pipelines: Sequence[int], markdown: bool
) -> str:
    headers = [
        "test",
        "pipeline",
        "Redis req/s",
        "Zyst req/s",
        "Zyst/Redis",
        "Redis CPU µs/req",
        "Zyst CPU µs/req",
        "CPU Zyst/Redis",
    ]
    body = [
        [
            r.test,
            str(r.pipeline),
            f"{r.redis_rps:,.0f}",
            f"{r.zyst_rps:,.0f}",
            f"{r.ratio:.3f}",
            f"{r.redis_cpu_us:.2f}",
            f"{r.zyst_cpu_us:.2f}",
            f"{r.cpu_ratio:.2f}",
        ]
        for r in rows
    ]
    means = [
        [
            f"P{p}",
            f"{geomean([r.ratio for r in rows if r.pipeline == p]):.3f}",
            f"{geomean([r.cpu_ratio for r in rows if r.pipeline == p]):.2f}",
        ]
        for p in pipelines
    ]
    geo = ["pipeline", "geomean Zyst/Redis req/s", "geomean CPU Zyst/Redis"]
    return table(headers, body, markdown) + "\n\n" + table(geo, means, markdown)


def memory_table(results: Sequence[MemoryResult], markdown: bool) -> str:
    by = {r.server: r for r in results}
    rows = [
        [
            kind,
            f"{by[kind].keys:,}",
            f"{by[kind].rss_before / 2**20:.1f}",
            f"{by[kind].rss_after / 2**20:.1f}",
            f"{by[kind].bytes_per_key:.1f}",
        ]
        for kind in SERVERS
    ]
    ratio = by["zyst"].bytes_per_key / by["redis"].bytes_per_key
    rows.append(
        [
            "Zyst/Redis",
            "",
            "",
            f"{by['zyst'].rss_after / by['redis'].rss_after:.2f}",
            f"{ratio:.2f}",
        ]
    )
    headers = ["server", "keys", "RSS before MiB", "RSS after MiB", "bytes/key"]
    return table(headers, rows, markdown)


def load_table(results: Sequence[LoadResult], markdown: bool) -> str:
    by = {r.server: r for r in results}
    rows = [
        [
            kind,
            f"{by[kind].keys:,}",
            f"{by[kind].empty_start_seconds:.3f}",
            f"{by[kind].load_seconds:.3f}",
        ]
        for kind in SERVERS
    ]
    rows.append(
        [
            "Zyst/Redis",
            "",
            f"{by['zyst'].empty_start_seconds / by['redis'].empty_start_seconds:.1f}",
            f"{by['zyst'].load_seconds / by['redis'].load_seconds:.1f}",
        ]
    )
    headers = ["server", "keys in AOF", "start, empty dir (s)", "start, with AOF (s)"]
    return table(headers, rows, markdown)


def write_chart(rows: Sequence[ThroughputRow], pipelines: Sequence[int], path: Path) -> bool:
    """Bars of Zyst/Redis req/s, one group of tests per pipeline depth; False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    groups = [[r for r in rows if r.pipeline == p] for p in pipelines]
    width = max(len(g) for g in groups)
    fig, ax = plt.subplots(figsize=(max(8.0, 0.45 * width * len(groups) + 2), 5))
    ticks: list[float] = []
    labels: list[str] = []
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for g, (pipeline, group) in enumerate(zip(pipelines, groups, strict=True)):
        start = g * (width + 1.5)
        xs = [start + i for i in range(len(group))]
        ax.bar(
            xs,
            [r.ratio for r in group],
            color=colors[g % len(colors)],
            label=f"pipeline {pipeline}",
        )
        ticks += xs
        labels += [r.test for r in group]
    ax.axhline(1.0, color="black", linewidth=1, linestyle="--")
    ax.set_xticks(ticks, labels, rotation=60, ha="right")
    ax.set_ylabel("Zyst req/s ÷ Redis req/s (median)")
    ax.set_title("Zyst throughput relative to redis-server (1.0 = as fast)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def tool_version(argv: Sequence[str]) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=False).stdout.strip()


# --------------------------------------------------------------------------------------------
# Command line.


def comma_list(text: str) -> list[str]:
    return [item.strip().lower() for item in text.split(",") if item.strip()]


def int_list(text: str) -> list[int]:
    return [int(item) for item in comma_list(text)]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark Zyst against redis-server (see bench/README.md).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--tests",
        type=comma_list,
        default=DEFAULT_TESTS,
        help="redis-benchmark -t names, comma-separated",
    )
    parser.add_argument(
        "--families",
        type=comma_list,
        default=DEFAULT_FAMILIES,
        help="tests of the command families redis-benchmark has no -t for ('' for none): "
        + ", ".join(FAMILY_TESTS),
    )
    parser.add_argument(
        "--requests",
        type=int,
        default=None,
        help="requests per test (default: 50000 at pipeline 1, else 100000)",
    )
    parser.add_argument("--clients", type=int, default=50, help="parallel connections")
    parser.add_argument(
        "--pipelines", type=int_list, default="1,16", help="pipeline depths, comma-separated"
    )
    parser.add_argument("--runs", type=int, default=3, help="runs per server, test and depth")
    parser.add_argument(
        "--control",
        action="store_true",
        help="throughput only, with a second redis-server in Zyst's place: the noise floor",
    )
    parser.add_argument(
        "--aof",
        choices=["no", "everysec", "always"],
        default="no",
        help="AOF of both servers during the throughput runs",
    )
    parser.add_argument(
        "--memory",
        type=int,
        default=1_000_000,
        metavar="N",
        help="keys for the memory figure (0 skips it)",
    )
    parser.add_argument(
        "--load",
        type=int,
        default=1_000_000,
        metavar="N",
        help="keys in the AOF for the load figure (0 skips it)",
    )
    parser.add_argument("--only-memory", action="store_true", help="run the memory figure only")
    parser.add_argument("--only-load", action="store_true", help="run the AOF load figure only")
    parser.add_argument(
        "--skip-throughput", action="store_true", help="memory and load figures only"
    )
    parser.add_argument("--out-md", type=Path, default=RESULTS_DIR / "bench.md")
    parser.add_argument("--out-png", type=Path, default=RESULTS_DIR / "bench.png")
    parser.add_argument("--out-json", type=Path, default=RESULTS_DIR / "bench.json")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.clients < 1 or (args.requests is not None and args.requests < 1):
        parser.error("--runs, --clients and --requests must be positive")
    if not args.tests or not args.pipelines or min(args.pipelines) < 1:
        parser.error("--tests and --pipelines need at least one entry, depths >= 1")
    unknown = [f for f in args.families if f not in FAMILY_TESTS]
    if unknown:
        parser.error(f"--families: unknown {', '.join(unknown)}")
    only = args.only_memory or args.only_load
    args.do_throughput = not (only or args.skip_throughput)
    args.do_memory = args.memory > 0 and (args.only_memory or not args.only_load)
    args.do_load = args.load > 0 and (args.only_load or not args.only_memory)
    if args.control and (only or args.skip_throughput):
        parser.error("--control is a throughput run")
    if args.control:  # (the memory and load figures would compare Zyst, not the control)
        args.do_memory = args.do_load = False
    if (args.only_memory and args.memory <= 0) or (args.only_load and args.load <= 0):
        parser.error("--only-memory/--only-load need --memory/--load greater than 0")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    for tool in (REDIS_SERVER, REDIS_BENCHMARK, REDIS_CLI):
        if not os.access(tool, os.X_OK):
            print(
                f"bench: {tool} is missing (apt-get install redis-server redis-tools)",
                file=sys.stderr,
            )
            return 1
    meta: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "redis": tool_version([REDIS_SERVER, "--version"]),
        "zyst": tool_version([sys.executable, "-m", "zyst", "--version"]),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "loadavg_at_start": os.getloadavg(),
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
    }
    samples: list[Sample] = []
    memory: list[MemoryResult] = []
    load: list[LoadResult] = []
    with tempfile.TemporaryDirectory(prefix="zyst-bench-") as tmp:
        parent = Path(tmp)
        try:
            if args.do_throughput:
                samples = run_throughput(args, parent)
            if args.do_memory:
                memory = run_memory(args.memory, parent)
            if args.do_load:
                load = run_load(args.load, parent)
        except BenchError as exc:
            print(f"bench: {exc}", file=sys.stderr)
            return 1

    def report(markdown: bool) -> str:
        heading = "## " if markdown else ""
        parts = [
            f"{'# ' if markdown else ''}Zyst vs redis-server, {meta['date']}",
            f"{meta['zyst']}; {meta['redis']}; Python {meta['python']}; {meta['cpus']} CPUs; "
            f"load average at start {meta['loadavg_at_start'][0]:.2f}",
        ]
        if samples:
            rows = summarize(samples, args.tests, args.pipelines)
            depths = ", ".join(f"P{p}: {requests_for(p, args.requests):,}" for p in args.pipelines)
            parts += [
                f"{heading}Throughput and CPU per request",
                f"redis-benchmark, {args.clients} clients, requests per test {depths}, "
                f"median of {args.runs} run(s), AOF {args.aof}. "
                + (
                    "CONTROL RUN: the Zyst columns are a second redis-server, so the ratios "
                    "show how far two identical servers differ on this machine. "
                    if args.control
                    else ""
                )
                + "CPU is the server process's "
                "utime+stime over the run divided by the requests"
                + (
                    " (LRANGE rows include the LPUSH fill: stdbuf not found)."
                    if fill_in_cpu()
                    else "; for LRANGE tests the LPUSH fill is left out."
                ),
                throughput_tables(rows, args.pipelines, markdown),
            ]
            if args.families:
                parts += [
                    f"{heading}Command families (custom commands)",
                    "The same, for commands redis-benchmark has no -t test for, in its "
                    f"custom-command form with -r {FAMILY_KEYSPACE} (or the test's own) after a "
                    "setup (bench/bench.py FAMILY_TESTS); kept apart so that the classic tests' "
                    "geometric means stay comparable across versions.",
                    throughput_tables(
                        summarize(samples, args.families, args.pipelines),
                        args.pipelines,
                        markdown,
                    ),
                ]
        if memory:
            parts += [
                f"{heading}Memory",
                f"RSS of a fresh server (AOF off) before and after `redis-cli --pipe` of "
                f"{args.memory:,} SETs of `key:<n>` to a 16-byte random value; bytes/key is the "
                "RSS growth divided by the keys.",
                memory_table(memory, markdown),
            ]
        if load:
            parts += [
                f"{heading}AOF load",
                "Seconds from starting the process until it answers PING: with an empty "
                f"directory, and with a plain AOF of {args.load:,} SETs (DBSIZE checked after).",
                load_table(load, markdown),
            ]
        return "\n\n".join(parts) + "\n"

    print(report(markdown=False))
    for path in (args.out_md, args.out_json, args.out_png):
        path.parent.mkdir(parents=True, exist_ok=True)
    args.out_md.write_text(report(markdown=True))
    raw = {
        "meta": meta,
        "throughput": [asdict(s) | {"cpu_us_per_request": s.cpu_us_per_request} for s in samples],
        "memory": [asdict(m) | {"bytes_per_key": m.bytes_per_key} for m in memory],
        "load": [asdict(r) for r in load],
    }
    args.out_json.write_text(json.dumps(raw, indent=2) + "\n")
    written = [args.out_md, args.out_json]
    if samples:
        if write_chart(
            summarize(samples, args.tests, args.pipelines), args.pipelines, args.out_png
        ):
            written.append(args.out_png)
        else:
            print("bench: matplotlib is not installed, no chart written", file=sys.stderr)
    print("wrote " + ", ".join(str(p) for p in written), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
