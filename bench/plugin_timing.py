"""Wall time of one sample test module run by pytest against Zyst's plugin (thread and subprocess
modes), fakeredis, and an external redis-server.

The module has TESTS tests of about CALLS redis-py calls each (strings, lists, hashes, sets,
sorted sets, a pipeline); every variant runs the same file through a fixture ``r`` that its own
conftest.py defines. Each variant runs as ``python -m pytest`` in a fresh process, ROUNDS times;
the script prints the median wall time of the whole run (start-up included) and of the tests
alone (pytest's own "in N s").

    python bench/plugin_timing.py [--rounds 5] [--tests 10] [--calls 300]

Needs fakeredis (``pip install -e '.[bench]'``) and redis-server on PATH.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SAMPLE = """
import pytest

CALLS = {calls}


@pytest.mark.parametrize("n", range({tests}))
def test_mixed_workload(r, n):
    done = 0
    i = 0
    while done < CALLS:
        key = f"k:{{n}}:{{i}}"
        r.set(key, i)
        assert r.get(key) == str(i).encode()
        assert r.incr(key) == i + 1
        r.rpush(f"l:{{n}}", i)
        r.hset(f"h:{{n}}", f"f{{i}}", i)
        r.sadd(f"s:{{n}}", i)
        r.zadd(f"z:{{n}}", {{f"m{{i}}": i}})
        assert r.exists(key) == 1
        done += 8
        if i % 10 == 0:
            assert r.llen(f"l:{{n}}") == i + 1
            assert len(r.hgetall(f"h:{{n}}")) == i + 1
            assert r.zcard(f"z:{{n}}") == i + 1
            with r.pipeline() as pipe:
                pipe.lrange(f"l:{{n}}", 0, 9).smembers(f"s:{{n}}").zrange(f"z:{{n}}", 0, -1)
                pipe.execute()
            done += 4
        i += 1
"""

CONFTESTS = {
    "zyst-thread": """
import pytest


@pytest.fixture
def r(zyst_client):
    return zyst_client
""",
    "zyst-subprocess": """
import pytest


@pytest.fixture
def r(zyst_client):
    return zyst_client
""",
    "fakeredis": """
import fakeredis
import pytest


@pytest.fixture
def r():
    client = fakeredis.FakeRedis()
    yield client
    client.close()
""",
    "redis-server": """
import os

import pytest
import redis


@pytest.fixture
def r():
    client = redis.Redis(port=int(os.environ["BENCH_REDIS_PORT"]))
    client.flushall()
    yield client
    client.close()
""",
}

_IN = re.compile(r" in ([0-9.]+)s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_variant(name: str, workdir: Path, env: dict[str, str]) -> tuple[float, float]:
    """One pytest run of the sample in ``workdir/name``: (wall seconds, pytest's seconds)."""
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(workdir / name)]
    if name == "zyst-subprocess":
        args += ["--zyst-mode", "subprocess"]
    began = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, env=env, cwd=workdir / name)
    wall = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"{name} failed:\n{done.stdout}\n{done.stderr}")
    match = _IN.search(done.stdout.strip().splitlines()[-1])
    return wall, float(match.group(1)) if match else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tests", type=int, default=10)
    parser.add_argument("--calls", type=int, default=300)
    options = parser.parse_args()
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed")
    with tempfile.TemporaryDirectory(prefix="plugin-timing-") as tmp:
        workdir = Path(tmp)
        for name, conftest in CONFTESTS.items():
            (workdir / name).mkdir()
            (workdir / name / "conftest.py").write_text(conftest)
            (workdir / name / "pytest.ini").write_text("[pytest]\n")
            sample = SAMPLE.format(calls=options.calls, tests=options.tests)
            (workdir / name / "test_sample.py").write_text(sample)
        port = free_port()
        redis_dir = workdir / "redis-data"
        redis_dir.mkdir()
        server = subprocess.Popen(
            [binary, "--port", str(port), "--save", "", "--appendonly", "no"],
            cwd=redis_dir,
            stdout=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            env = dict(os.environ, BENCH_REDIS_PORT=str(port))
            results: dict[str, list[tuple[float, float]]] = {name: [] for name in CONFTESTS}
            for _ in range(options.rounds):
                for name in CONFTESTS:
                    results[name].append(run_variant(name, workdir, env))
        finally:
            server.terminate()
            server.wait()
    calls = options.tests * options.calls
    print(f"{options.tests} tests x ~{options.calls} calls, median of {options.rounds} runs")
    print(f"{'variant':<16} {'wall s':>8} {'tests s':>8} {'calls/s in tests':>17}")
    for name, runs in results.items():
        wall = statistics.median(run[0] for run in runs)
        inside = statistics.median(run[1] for run in runs)
        print(f"{name:<16} {wall:8.2f} {inside:8.2f} {calls / inside:17.0f}")


if __name__ == "__main__":
    main()
