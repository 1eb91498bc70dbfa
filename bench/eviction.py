#!/usr/bin/env python3
"""Eviction quality: the hit ratio of Zyst and of a real redis-server used as a cache under
``maxmemory``, on the same skewed workload.

For each policy, each server is started on a free port (no persistence) and measured once
without a limit: ``used_memory`` empty, then with all N keys loaded (``key:0`` ... with values
of ``--value`` bytes); the dataset's cost is the difference. Then the server is emptied, its
``maxmemory`` set to its empty ``used_memory`` plus ``--fraction`` of that cost (the same cap
relative to what each server's dataset costs it), and the workload runs: a cache-aside loop of
``--ops`` reads of keys drawn from a Zipf distribution (exponent ``--skew``, seeded), each miss
followed by a SET of the key, pipelined ``--batch`` reads at a time (then the misses' SETs).
The hit ratio is counted over the second half of the reads (the first half warms the cache).

We report per policy and server: the hit ratio, the keys held at the end, ``used_memory``
against ``maxmemory``, RSS, and keys evicted.

Usage::

    python bench/eviction.py                                  # 50,000 keys, 200,000 reads
    python bench/eviction.py --keys 20000 --ops 60000 --json  # what the test runs

Needs ``redis-server`` in PATH and Zyst importable. A measurement, not a test (the test in
tests/server/test_eviction_hit_ratio.py runs it small and checks the ratios).
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import redis

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(kind: str, policy: str) -> Iterator[redis.Redis]:
    """A fresh Zyst or redis-server under ``policy``, stopped afterwards."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix=f"evict-{kind}-") as workdir:
        common = ["--port", str(port), "--dir", workdir, "--save", "", "--appendonly", "no"]
        if kind == "zyst":
            argv = [sys.executable, "-m", "zyst", *common]
        else:
            binary = shutil.which("redis-server")
            if binary is None:
                raise SystemExit("redis-server is not in PATH")
            argv = [binary, *common, "--bind", HOST]
        argv += ["--maxmemory-policy", policy]
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(host=HOST, port=port, socket_timeout=120)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    client.ping()
                    break
                except (redis.exceptions.ConnectionError, redis.exceptions.BusyLoadingError):
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise
                    time.sleep(0.05)
            yield client
        finally:
            client.close()
            proc.terminate()
            proc.wait(timeout=30)


def zipf_keys(keys: int, ops: int, skew: float, seed: int) -> list[int]:
    """``ops`` key numbers in 0..keys-1 drawn with P(k) proportional to 1/(k+1)**skew, the key
    numbers shuffled (so that popularity is unrelated to the order keys were created in)."""
    rng = random.Random(seed)
    cumulative = list(itertools.accumulate(1.0 / (k + 1) ** skew for k in range(keys)))
    total = cumulative[-1]
    names = list(range(keys))
    rng.shuffle(names)
    return [names[bisect.bisect_left(cumulative, rng.random() * total)] for _ in range(ops)]


def info(client: redis.Redis, field: str) -> int:
    return int(client.info("everything")[field])


def load_all(client: redis.Redis, keys: int, value: bytes) -> None:
    pipe = client.pipeline(transaction=False)
    for n in range(keys):
        pipe.set(f"key:{n}", value)
        if n % 1000 == 999:
            pipe.execute()
    pipe.execute()


def measure(
    kind: str, policy: str, draws: list[int], keys: int, value: bytes, fraction: float, batch: int
) -> dict[str, float]:
    """Run the workload on one server; its figures."""
    with server(kind, policy) as client:
        empty = info(client, "used_memory")
        load_all(client, keys, value)
        dataset = info(client, "used_memory") - empty
        client.flushall()
        empty = info(client, "used_memory")
        limit = empty + int(dataset * fraction)
        client.config_set("maxmemory", limit)
        hits = reads = 0
        half = len(draws) // 2
        began = time.monotonic()
        for start in range(0, len(draws), batch):
            chunk = draws[start : start + batch]
            pipe = client.pipeline(transaction=False)
            for n in chunk:
                pipe.get(f"key:{n}")
            found = pipe.execute()
            pipe = client.pipeline(transaction=False)
            for offset, (n, got) in enumerate(zip(chunk, found, strict=True)):
                if start + offset >= half:
                    reads += 1
                    hits += got is not None
                if got is None:
                    pipe.set(f"key:{n}", value)
            pipe.execute()
        seconds = time.monotonic() - began
        return {
            "hit_ratio": hits / reads,
            "keys_held": client.dbsize(),
            "dataset": dataset,
            "maxmemory": limit,
            "used_memory": info(client, "used_memory"),
            "used_memory_rss": info(client, "used_memory_rss"),
            "evicted_keys": info(client, "evicted_keys"),
            "seconds": seconds,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--policies", default="allkeys-lru,allkeys-lfu")
    parser.add_argument("--keys", type=int, default=50_000)
    parser.add_argument("--ops", type=int, default=200_000)
    parser.add_argument("--value", type=int, default=100, help="value size in bytes")
    parser.add_argument("--skew", type=float, default=1.0, help="the Zipf exponent")
    parser.add_argument("--fraction", type=float, default=0.3, help="cap: share of the dataset")
    parser.add_argument("--batch", type=int, default=100, help="reads per pipeline")
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    draws = zipf_keys(args.keys, args.ops, args.skew, args.seed)
    value = b"v" * args.value
    results: dict[str, dict[str, dict[str, float]]] = {}
    for policy in args.policies.split(","):
        results[policy] = {
            kind: measure(kind, policy, draws, args.keys, value, args.fraction, args.batch)
            for kind in ("zyst", "redis")
        }
    if args.json:
        print(json.dumps(results))
        return
    print(
        f"{args.keys} keys of {args.value} bytes, {args.ops} Zipf({args.skew}) reads, "
        f"cap = {args.fraction:.0%} of each server's dataset"
    )
    header = ("policy", "server", "hit ratio", "keys held", "used/max", "RSS MiB", "evicted")
    print("{:<12} {:<6} {:>9} {:>9} {:>9} {:>8} {:>8}".format(*header))
    for policy, by_kind in results.items():
        for kind, r in by_kind.items():
            print(
                f"{policy:<12} {kind:<6} {r['hit_ratio']:9.4f} {r['keys_held']:9.0f} "
                f"{r['used_memory'] / r['maxmemory']:9.3f} {r['used_memory_rss'] / 2**20:8.1f} "
                f"{r['evicted_keys']:8.0f}"
            )


if __name__ == "__main__":
    main()
