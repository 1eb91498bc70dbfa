#!/usr/bin/env python3
"""Persistence figures, Zyst against a real redis-server side by side: SAVE, the load of a
dump.rdb at start, and BGREWRITEAOF under load.

* **SAVE** — both servers (AOF off) get the same mixed dataset through ``redis-cli --pipe``
  (``--keys`` keys: 70% strings, 10% lists, 10% hashes, 5% sets, 5% sorted sets, small ones in
  their compact encodings plus a few large ones of each type); the wall time of ``SAVE`` as the
  client sees it, and the size of the file.
* **RDB load** — each server's dump.rdb is copied into a fresh directory and the server started
  there (AOF off): seconds until it answers PING, against an empty start; DBSIZE is checked.
  Each server also loads the *other's* file (DBSIZE checked): the files are interchangeable.
* **BGREWRITEAOF under load** — both servers with ``appendonly yes`` (everysec) and the dataset;
  ``redis-benchmark -t set -P 1`` runs twice: alone, and while rewrites run back to back for its
  whole length. Its p50/p99/max latency for both runs, the rewrites completed, and the peak
  private memory of the rewriting child (``Private_Dirty`` + ``Private_Clean`` from
  ``/proc/CHILD/smaps_rollup``, polled every 20 ms): what the fork costs in RAM.

Usage::

    python bench/persistence.py                    # 1,000,000 keys
    python bench/persistence.py --keys 100000 --requests 50000

Writes the tables to stdout, ``--out-md`` and ``--out-json``. Reuses bench.py's server handling.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench as core  # (bench.py beside this file)

HOST = core.HOST
SERVERS = core.SERVERS


# --------------------------------------------------------------------------------------------
# The dataset.


def dataset_commands(keys: int) -> bytes:
    """RESP commands creating ``keys`` keys of mixed types, deterministically. Every 20,000th
    collection is large (1,000 elements) so both encodings of each type are in the file."""
    out = bytearray()
    encode = core.encode_command
    for n in range(keys):
        slot = n % 20
        large = n % 20_000 < 20 and slot >= 14
        size = 1000 if large else 5
        if slot < 14:
            out += encode("SET", f"string:{n}", f"value-{n:010d}")
        elif slot < 16:
            out += encode("RPUSH", f"list:{n}", *(f"item-{n}-{i}" for i in range(size)))
        elif slot < 18:
            pairs = [part for i in range(size) for part in (f"field{i}", f"{n * 7 + i}")]
            out += encode("HSET", f"hash:{n}", *pairs)
        elif slot == 18:
            members = [str(n + i) if i % 2 == 0 or large else f"m{i}" for i in range(size)]
            out += encode("SADD", f"set:{n}", *members)
        else:
            pairs = [part for i in range(size) for part in (f"{i * 1.5}", f"member-{i}")]
            out += encode("ZADD", f"zset:{n}", *pairs)
        if n % 10 == 3:
            out += encode("PEXPIRE", f"string:{n}", "86400000")
    return bytes(out)


def pipe_in(server: core.Server, stream: Path, keys: int) -> None:
    with open(stream, "rb") as commands:
        piped = subprocess.run(
            [core.REDIS_CLI, "-h", HOST, "-p", str(server.port), "--pipe"],
            stdin=commands,
            capture_output=True,
            text=True,
            timeout=core.BENCHMARK_TIMEOUT,
        )
    if piped.returncode != 0 or "errors: 0," not in piped.stdout:
        raise core.BenchError(f"redis-cli --pipe into {server.kind} failed:\n{piped.stdout}")
    if (loaded := core.dbsize(server)) != keys:
        raise core.BenchError(f"{server.kind} holds {loaded} keys after loading {keys}")


def start(
    kind: str, parent: Path, extra: Sequence[str], prepare: Path | None = None
) -> core.Server:
    """A server of ``kind`` in a fresh directory (with ``prepare`` copied in as dump.rdb)."""
    directory = Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=parent))
    if prepare is not None:
        shutil.copyfile(prepare, directory / "dump.rdb")
    server = core.Server(kind, core.free_port(), directory, core.Persistence(False, "everysec"))
    # Both servers get the same settings, Redis's defaults but for what ``extra`` says.
    program = [core.REDIS_SERVER] if kind == "redis" else [sys.executable, "-m", "zyst"]
    server.argv = [
        *program,
        *("--port", str(server.port), "--bind", HOST, "--dir", str(directory)),
        *("--save", "", *extra),
    ]
    server.start()
    try:
        server.wait_ready(timeout=600)
    except core.BenchError:
        server.stop()
        raise
    return server


# --------------------------------------------------------------------------------------------
# SAVE and load.


@dataclass
class SaveResult:
    server: str
    keys: int
    save_seconds: float
    file_bytes: int
    empty_start_seconds: float
    load_start_seconds: float
    loads_other_file: bool


def run_save_and_load(keys: int, parent: Path, stream: Path) -> list[SaveResult]:
    files: dict[str, Path] = {}
    saves: dict[str, tuple[float, int]] = {}
    for kind in SERVERS:
        server = start(kind, parent, ["--appendonly", "no"])
        try:
            pipe_in(server, stream, keys)
            began = time.perf_counter()
            if core.call(server.port, "SAVE", timeout=600) != b"OK":
                raise core.BenchError(f"SAVE failed on {kind}")
            seconds = time.perf_counter() - began
            kept = parent / f"{kind}.rdb"
            shutil.copyfile(server.dir / "dump.rdb", kept)
            files[kind] = kept
            saves[kind] = (seconds, kept.stat().st_size)
            print(f"save    {kind:<5} {seconds:8.3f} s", file=sys.stderr)
        finally:
            server.stop()
    results = []
    for kind in SERVERS:
        empty = start(kind, parent, ["--appendonly", "no"])
        empty_seconds = time.perf_counter() - empty.started_at
        empty.stop()
        loaded = start(kind, parent, ["--appendonly", "no"], prepare=files[kind])
        load_seconds = time.perf_counter() - loaded.started_at
        try:
            if (size := core.dbsize(loaded)) != keys:
                raise core.BenchError(f"{kind} loaded {size} keys from its dump of {keys}")
        finally:
            loaded.stop()
        other = "zyst" if kind == "redis" else "redis"
        crossed = start(kind, parent, ["--appendonly", "no"], prepare=files[other])
        try:
            loads_other = core.dbsize(crossed) == keys
        finally:
            crossed.stop()
        print(
            f"load    {kind:<5} {load_seconds:8.3f} s (other's file: {loads_other})",
            file=sys.stderr,
        )
        results.append(
            SaveResult(kind, keys, *saves[kind], empty_seconds, load_seconds, loads_other)
        )
    return results


# --------------------------------------------------------------------------------------------
# BGREWRITEAOF under load.


@dataclass
class RewriteResult:
    server: str
    keys: int
    requests: int
    quiet_rps: float
    quiet_p50_ms: float
    quiet_p99_ms: float
    quiet_max_ms: float
    busy_rps: float
    busy_p50_ms: float
    busy_p99_ms: float
    busy_max_ms: float
    rewrites: int
    rewrite_seconds: float
    child_peak_private_bytes: int
    reported_cow_bytes: int


def benchmark_latency(server: core.Server, requests: int) -> tuple[float, float, float, float]:
    """redis-benchmark -t set -P 1: (rps, p50 ms, p99 ms, max ms)."""
    argv = [core.REDIS_BENCHMARK, "-h", HOST, "-p", str(server.port), "-c", "50"]
    argv += ["-n", str(requests), "-P", "1", "-t", "set", "-r", "1000000", "--csv"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=core.BENCHMARK_TIMEOUT)
    rows = [row for row in csv.reader(done.stdout.splitlines()) if row and row[0] != "test"]
    if done.returncode != 0 or not rows:
        raise core.BenchError(f"redis-benchmark against {server.kind} failed: {done.stderr}")
    row = rows[-1]
    # "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms",
    # "p99_latency_ms","max_latency_ms"
    return float(row[1]), float(row[4]), float(row[6]), float(row[7])


def info_field(server: core.Server, section: str, name: str) -> str:
    text = core.call(server.port, "INFO", section)
    assert isinstance(text, bytes)
    for line in text.decode().splitlines():
        if line.startswith(name + ":"):
            return line.split(":", 1)[1].strip()
    return ""


def child_pids(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(part) for part in text.split()]


def private_bytes(pid: int) -> int:
    total = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith(("Private_Dirty:", "Private_Clean:")):
                total += int(line.split()[1]) * 1024
    except OSError:
        return 0
    return total


class RewriteLoop(threading.Thread):
    """Runs BGREWRITEAOF back to back until :attr:`stop` is set, watching the child's memory."""

    def __init__(self, server: core.Server) -> None:
        super().__init__()
        self.server = server
        self.stop = threading.Event()
        self.rewrites = 0
        self.seconds = 0.0
        self.peak = 0

    def run(self) -> None:
        server = self.server
        while not self.stop.is_set():
            began = time.perf_counter()
            if not isinstance(core.call(server.port, "BGREWRITEAOF"), bytes):
                time.sleep(0.02)  # refused (one still running): try again
                continue
            while not self.stop.is_set():
                for child in child_pids(server.pid):
                    self.peak = max(self.peak, private_bytes(child))
                if info_field(server, "persistence", "aof_rewrite_in_progress") == "0":
                    self.rewrites += 1
                    self.seconds += time.perf_counter() - began
                    break
                time.sleep(0.02)


def run_rewrite(keys: int, requests: int, parent: Path, stream: Path) -> list[RewriteResult]:
    results = []
    for kind in SERVERS:
        server = start(kind, parent, ["--appendonly", "yes", "--appendfsync", "everysec"])
        try:
            pipe_in(server, stream, keys)
            quiet = benchmark_latency(server, requests)
            rewriting = RewriteLoop(server)
            rewriting.start()
            try:
                busy = benchmark_latency(server, requests)
            finally:
                rewriting.stop.set()
                rewriting.join()
            deadline = time.monotonic() + 600
            while info_field(server, "persistence", "aof_rewrite_in_progress") != "0":
                if time.monotonic() > deadline:
                    raise core.BenchError(f"{kind}'s rewrite never ended")
                time.sleep(0.05)
            cow = int(info_field(server, "persistence", "aof_last_cow_size") or 0)
            result = RewriteResult(
                kind,
                keys,
                requests,
                *quiet,
                *busy,
                rewriting.rewrites,
                rewriting.seconds / max(rewriting.rewrites, 1),
                rewriting.peak,
                cow,
            )
            print(
                f"rewrite {kind:<5} p99 {quiet[2]:.3f} -> {busy[2]:.3f} ms, "
                f"{rewriting.rewrites} rewrites, child peak {rewriting.peak / 2**20:.1f} MiB",
                file=sys.stderr,
            )
            results.append(result)
        finally:
            server.stop()
    return results


# --------------------------------------------------------------------------------------------
# Reporting.


def ratio(by: dict[str, float]) -> str:
    return f"{by['zyst'] / by['redis']:.2f}" if by.get("redis") else "-"


def save_table(results: Sequence[SaveResult], markdown: bool) -> str:
    rows = [
        [
            r.server,
            f"{r.keys:,}",
            f"{r.save_seconds:.3f}",
            f"{r.file_bytes / 2**20:.1f}",
            f"{r.load_start_seconds:.3f}",
            f"{r.load_start_seconds - r.empty_start_seconds:.3f}",
            "yes" if r.loads_other_file else "NO",
        ]
        for r in results
    ]
    by = {r.server: r for r in results}
    rows.append(
        [
            "Zyst/Redis",
            "",
            ratio({k: v.save_seconds for k, v in by.items()}),
            ratio({k: float(v.file_bytes) for k, v in by.items()}),
            ratio({k: v.load_start_seconds for k, v in by.items()}),
            ratio({k: v.load_start_seconds - v.empty_start_seconds for k, v in by.items()}),
            "",
        ]
    )
    headers = [
        "server",
        "keys",
        "SAVE (s)",
        "dump.rdb MiB",
        "start with it (s)",
        "of which loading (s)",
        "loads the other's file",
    ]
    return core.table(headers, rows, markdown)


def rewrite_table(results: Sequence[RewriteResult], markdown: bool) -> str:
    rows = [
        [
            r.server,
            f"{r.quiet_rps:,.0f}",
            f"{r.quiet_p50_ms:.3f}",
            f"{r.quiet_p99_ms:.3f}",
            f"{r.quiet_max_ms:.1f}",
            f"{r.busy_rps:,.0f}",
            f"{r.busy_p50_ms:.3f}",
            f"{r.busy_p99_ms:.3f}",
            f"{r.busy_max_ms:.1f}",
            str(r.rewrites),
            f"{r.rewrite_seconds:.2f}",
            f"{r.child_peak_private_bytes / 2**20:.1f}",
            f"{r.reported_cow_bytes / 2**20:.1f}",
        ]
        for r in results
    ]
    headers = [
        "server",
        "rps alone",
        "p50",
        "p99",
        "max",
        "rps rewriting",
        "p50",
        "p99",
        "max",
        "rewrites",
        "s each",
        "child peak private MiB",
        "aof_last_cow_size MiB",
    ]
    return core.table(headers, rows, markdown)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=300_000, help="per benchmark run")
    parser.add_argument("--skip-rewrite", action="store_true")
    parser.add_argument("--out-md", type=Path, default=core.RESULTS_DIR / "persistence.md")
    parser.add_argument("--out-json", type=Path, default=core.RESULTS_DIR / "persistence.json")
    args = parser.parse_args(argv)
    load_at_start = os.getloadavg()[0]
    meta: dict[str, object] = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "redis": core.tool_version([core.REDIS_SERVER, "--version"]),
        "zyst": core.tool_version([sys.executable, "-m", "zyst", "--version"]),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "loadavg_at_start": load_at_start,
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
    }
    with tempfile.TemporaryDirectory(prefix="zyst-bench-persist-") as tmp:
        parent = Path(tmp)
        stream = parent / "dataset.resp"
        stream.write_bytes(dataset_commands(args.keys))
        try:
            saves = run_save_and_load(args.keys, parent, stream)
            rewrites = (
                [] if args.skip_rewrite else run_rewrite(args.keys, args.requests, parent, stream)
            )
        except core.BenchError as exc:
            print(f"bench: {exc}", file=sys.stderr)
            return 1

    def report(markdown: bool) -> str:
        heading = "## " if markdown else ""
        parts = [
            f"{'# ' if markdown else ''}Persistence: Zyst vs redis-server, {meta['date']}",
            f"{meta['zyst']}; {meta['redis']}; Python {meta['python']}; {meta['cpus']} CPUs; "
            f"load average at start {load_at_start:.2f}",
            f"{heading}SAVE and loading dump.rdb",
            f"{args.keys:,} keys of mixed types (bench/persistence.py dataset_commands); SAVE "
            "is the wall time of the command; loading is the start with the file minus an empty "
            "start.",
            save_table(saves, markdown),
        ]
        if rewrites:
            parts += [
                f"{heading}BGREWRITEAOF under load",
                f"redis-benchmark -t set -P 1 -c 50 -n {args.requests:,} (latency in ms), alone "
                "and while BGREWRITEAOF runs back to back for the whole run; the child's peak "
                "private memory polled from /proc.",
                rewrite_table(rewrites, markdown),
            ]
        return "\n\n".join(parts) + "\n"

    print(report(markdown=False))
    args.out_md.parent.mkdir(parents=True, exist_ok=True)
    args.out_md.write_text(report(markdown=True))
    raw = {
        "meta": meta,
        "save": [asdict(r) for r in saves],
        "rewrite": [asdict(r) for r in rewrites],
    }
    args.out_json.write_text(json.dumps(raw, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
