#!/usr/bin/env python3
"""KEYS with a pattern on a large keyspace: Zyst against a real redis-server.

Both servers are started on free ports in temporary directories (no persistence) and loaded with
the same N string keys ``key:0`` … ``key:N-1`` (zero-padded with ``--pad``) through pipelined
MSETs. Then, for each pattern,
alternating between the servers, ``KEYS pattern`` is sent twice: alone, then with a ``PING`` from
a second connection 10 ms after it. We report the median over the runs of

* **s** — seconds from sending the first KEYS until its whole reply is read (hiredis parses it);
* **cpu** — CPU seconds the server process spent meanwhile (``/proc/PID/stat``, in clock ticks,
  usually 10 ms): the server's own cost, without the client's parsing;
* **PING** — seconds the PING took: how long the server still held other clients up 10 ms into
  the second KEYS (0 when it was done by then);
* **matches** — how many keys the pattern matched (the same on both servers, or we stop).

Usage::

    python bench/keys_pattern.py                  # 1,000,000 keys, 5 runs
    python bench/keys_pattern.py --keys 100000 --runs 3 --patterns 'key:1*,*99*'

Needs ``redis-server`` in PATH, Zyst importable (``pip install -e .``) and hiredis (a Zyst
dependency). This is a measurement, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import NamedTuple

import hiredis

HOST = "127.0.0.1"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PING_DELAY = 0.01


class Sample(NamedTuple):
    seconds: float  # KEYS sent until its whole reply is parsed
    cpu: float  # CPU seconds the server process used meanwhile
    ping: float  # how long another client's PING took, sent PING_DELAY after a second KEYS
    matches: int


DEFAULT_PATTERNS = "key:1*,*99*,key:[13]?5*,*,key:12345*,key:*7,*:\\1*"


def encode(*args: bytes) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        out.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(out)


class Connection:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection((HOST, port), timeout=300)
        self.reader = hiredis.Reader()

    def send(self, *args: bytes) -> None:
        self.sock.sendall(encode(*args))

    def reply(self) -> object:
        while True:
            reply = self.reader.gets()
            if reply is not False:
                if isinstance(reply, hiredis.ReplyError):
                    raise RuntimeError(str(reply))
                return reply
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.reader.feed(chunk)

    def call(self, *args: bytes) -> object:
        self.send(*args)
        return self.reply()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def server(kind: str, directory: Path) -> Iterator[tuple[int, int]]:
    port = free_port()
    if kind == "redis":
        binary = shutil.which("redis-server")
        if binary is None:
            sys.exit("redis-server is not in PATH")
        argv = [binary, "--port", str(port), "--bind", HOST, "--dir", str(directory)]
        argv += ["--save", "", "--appendonly", "no"]
    else:
        argv = [sys.executable, "-m", "zyst", "--port", str(port), "--bind", HOST]
        argv += ["--dir", str(directory), "--appendonly", "no"]
    with open(directory / f"{kind}.log", "wb") as log:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if Connection(port).call(b"PING") == b"PONG":
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"{kind} did not start; see {directory / (kind + '.log')}")
            time.sleep(0.02)
        yield port, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def load(port: int, keys: int, pad: int, batch: int = 1000) -> None:
    conn = Connection(port)
    sent = 0
    for start in range(0, keys, batch):
        args = [b"MSET"]
        for n in range(start, min(start + batch, keys)):
            args += [b"key:%0*d" % (pad, n), b"x"]
        conn.send(*args)
        sent += 1
        if sent >= 50:  # keep a bounded number of replies in flight
            conn.reply()
            sent -= 1
    for _ in range(sent):
        conn.reply()
    if conn.call(b"DBSIZE") != keys:
        sys.exit("the load did not give the expected number of keys")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc/PID/stat (fields 14 and 15)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def measure(port: int, pid: int, pattern: bytes) -> Sample:
    main, other = Connection(port), Connection(port)
    other.call(b"PING")
    cpu = cpu_seconds(pid)
    started = time.perf_counter()
    reply = main.call(b"KEYS", pattern)
    elapsed = time.perf_counter() - started
    cpu = cpu_seconds(pid) - cpu
    assert isinstance(reply, list)
    # Again, with a PING from another client: give KEYS a head start so that the PING queues
    # behind it rather than slipping ahead.
    main.send(b"KEYS", pattern)
    time.sleep(PING_DELAY)
    pinged = time.perf_counter()
    other.call(b"PING")
    pinged = time.perf_counter() - pinged
    main.reply()
    return Sample(elapsed, cpu, pinged, len(reply))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--pad",
        type=int,
        default=0,
        help="zero-pad key numbers (12: redis-benchmark's key:__rand_int__)",
    )
    parser.add_argument("--patterns", default=DEFAULT_PATTERNS, help="comma-separated")
    parser.add_argument("--servers", default="redis,zyst", help="comma-separated")
    args = parser.parse_args()
    patterns = [p.encode() for p in args.patterns.split(",")]
    kinds = args.servers.split(",")
    results: dict[tuple[str, bytes], list[Sample]] = {}
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        ports: dict[str, tuple[int, int]] = {}
        for kind in kinds:
            directory = Path(tmp) / kind
            directory.mkdir()
            ports[kind] = stack.enter_context(server(kind, directory))
        for kind in kinds:
            print(f"loading {args.keys} keys into {kind}", file=sys.stderr)
            load(ports[kind][0], args.keys, args.pad)
        for run in range(args.runs):
            order = kinds if run % 2 == 0 else kinds[::-1]
            for pattern in patterns:
                for kind in order:
                    results.setdefault((kind, pattern), []).append(measure(*ports[kind], pattern))
    columns = ("s", "cpu", "PING")
    width = max(len("pattern"), *(len(p) for p in patterns)) + 2
    print(f"{args.keys} keys (key:{'0' * args.pad or 'N'}...), median of {args.runs} runs")
    print(
        f"{'pattern':<{width}}"
        + "".join(f"{kind + ' ' + column:>11}" for kind in kinds for column in columns)
        + f"{'matches':>10}"
    )
    for pattern in patterns:
        row = f"{pattern.decode(errors='replace'):<{width}}"
        matches = {sample.matches for kind in kinds for sample in results[(kind, pattern)]}
        if len(matches) != 1:
            sys.exit(f"{pattern!r}: the servers disagree on the number of matches: {matches}")
        for kind in kinds:
            samples = results[(kind, pattern)]
            for field in (0, 1, 2):
                row += f"{statistics.median(sample[field] for sample in samples):>11.3f}"
        print(row + f"{matches.pop():>10}")


if __name__ == "__main__":
    main()
