"""Replication figures, Zyst against redis-server on this machine, side by side in one run.

- **Lag under load**: for each pair (primary → replica: Redis → Redis, Zyst → Zyst, Redis →
  Zyst, Zyst → Redis), redis-benchmark writes to the primary (SET, pipeline 16, 50 clients)
  while a probe client sets a key on the primary and polls the replica until it shows the new
  value, again and again; the figures are those probes' lags (median, 99th percentile,
  maximum), and how long the replica took to catch up once the load stopped.
- **Failover**: three servers (a primary, two replicas) watched by three redis-sentinel
  processes (down-after-milliseconds 1000); the primary gets SIGKILL, and the figure is the
  time until every sentinel names the new primary and it accepts a write.

Usage: ``python bench/replication.py [--requests N] [--rounds K]``; prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Proc:
    port: int
    popen: subprocess.Popen[bytes]

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


def _wait(condition: object, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.005)


def _start(kind: str, workdir: Path, *extra: str, conf: Path | None = None) -> Proc:
    port = _free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    common = ["--port", str(port), "--dir", str(workdir), "--save", "", "--appendonly", "no"]
    common += ["--repl-diskless-sync-delay", "0"]
    if kind == "zyst":
        argv = [sys.executable, "-m", "zyst", *([str(conf)] if conf else []), *common, *extra]
    else:
        argv = ["redis-server", *([str(conf)] if conf else []), *common, *extra]
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    log = (workdir / "log").open("ab")
    popen = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)
    proc = Proc(port, popen)

    def up() -> bool:
        try:
            return bool(proc.client().ping())
        except redis.ConnectionError:
            return False

    _wait(up, f"{kind} on {port}")
    return proc


def _repl(client: redis.Redis) -> dict[str, object]:
    return dict(client.info("replication"))


def _caught_up(primary: redis.Redis, replica: redis.Redis) -> bool:
    ours = _repl(replica)
    return ours.get("master_link_status") == "up" and ours.get("slave_repl_offset") == _repl(
        primary
    ).get("master_repl_offset")


def lag(
    primary_kind: str, replica_kind: str, requests: int, base: Path
) -> tuple[list[float], float, float]:
    """A probe's lags (seconds from its SET on the primary until the replica shows it, one
    after the other while the load runs), seconds to catch up after the load, and the load's
    requests per second."""
    primary = _start(primary_kind, base / "p")
    replica = _start(replica_kind, base / "r", "--replicaof", "127.0.0.1", str(primary.port))
    try:
        p, r = primary.client(), replica.client()
        _wait(lambda: _caught_up(p, r), "the first sync")
        load = subprocess.Popen(
            ["redis-benchmark", "-p", str(primary.port), "-t", "set", "-n", str(requests),
             "-P", "16", "-r", "100000", "-d", "64", "-q"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        lags: list[float] = []
        probe = 0
        while load.poll() is None:
            probe += 1
            value = b"%d" % probe
            began = time.monotonic()
            p.set("probe", value)
            while r.get("probe") != value:
                pass
            lags.append(time.monotonic() - began)
        stopped = time.monotonic()
        _wait(lambda: _caught_up(p, r), "the replica to catch up")
        caught = time.monotonic() - stopped
        output = load.stdout.read().decode() if load.stdout is not None else ""
        rps = float(output.rsplit("SET:", 1)[-1].split("requests")[0].strip() or 0)
        return lags, caught, rps
    finally:
        replica.stop()
        primary.stop()


def failover(kind: str, base: Path) -> float:
    """Seconds from SIGKILL of the primary until all sentinels name a new primary that takes
    writes."""
    servers = [_start(kind, base / "s0")]
    for n in (1, 2):
        servers.append(
            _start(kind, base / f"s{n}", "--replicaof", "127.0.0.1", str(servers[0].port))
        )
    sentinels = []
    try:
        for n in range(3):
            port = _free_port()
            workdir = base / f"sentinel{n}"
            workdir.mkdir(parents=True)
            conf = workdir / "sentinel.conf"
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {workdir}\n"
                f"sentinel monitor m 127.0.0.1 {servers[0].port} 2\n"
                "sentinel down-after-milliseconds m 1000\nsentinel failover-timeout m 5000\n"
            )
            popen = subprocess.Popen(
                ["redis-sentinel", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            sentinels.append(Proc(port, popen))
        watchers = [s.client() for s in sentinels]

        def discovered() -> bool:
            try:
                return all(
                    len(w.sentinel_slaves("m")) == 2 and len(w.sentinel_sentinels("m")) == 2
                    for w in watchers
                )
            except redis.ConnectionError:
                return False

        _wait(discovered, "the sentinels")
        old = servers[0].port
        killed = time.monotonic()
        servers[0].popen.send_signal(signal.SIGKILL)
        servers[0].popen.wait()

        def promoted() -> bool:
            ports = {int(w.sentinel_get_master_addr_by_name("m")[1]) for w in watchers}
            if len(ports) != 1 or old in ports:
                return False
            try:
                return bool(redis.Redis(port=ports.pop()).set("after", "1"))
            except redis.ResponseError:
                return False

        _wait(promoted, "the failover", 120)
        return time.monotonic() - killed
    finally:
        for proc in [*sentinels, *servers]:
            proc.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    for program in ("redis-server", "redis-benchmark", "redis-sentinel"):
        if shutil.which(program) is None:
            print(f"{program} is missing", file=sys.stderr)
            return 1
    pairs = [("redis", "redis"), ("zyst", "zyst"), ("redis", "zyst"), ("zyst", "redis")]
    print(
        "| primary → replica | load (SET/s) | probes | lag median (ms) | p99 | max |"
        " catch-up after load (ms) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for primary_kind, replica_kind in pairs:
        lags: list[float] = []
        catches: list[float] = []
        loads: list[float] = []
        for _ in range(args.rounds):
            with tempfile.TemporaryDirectory() as tmp:
                seen, caught, rps = lag(primary_kind, replica_kind, args.requests, Path(tmp))
            lags += seen
            catches.append(caught)
            loads.append(rps)
        ordered = sorted(lags) or [0.0]
        p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
        print(
            f"| {primary_kind} → {replica_kind} | {statistics.median(loads):,.0f} |"
            f" {len(lags)} | {statistics.median(ordered) * 1000:.2f} | {p99 * 1000:.2f} |"
            f" {ordered[-1] * 1000:.2f} | {statistics.median(catches) * 1000:.0f} |"
        )
    print()
    print("| servers under Sentinel | failover seconds (each round) |")
    print("|---|---|")
    for kind in ("redis", "zyst"):
        times = []
        for _ in range(args.rounds):
            with tempfile.TemporaryDirectory() as tmp:
                times.append(failover(kind, Path(tmp)))
        print(f"| {kind} | {', '.join(f'{t:.2f}' for t in times)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
