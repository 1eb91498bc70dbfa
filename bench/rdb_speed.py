#!/usr/bin/env python3
"""RDB save and load times, Zyst's codec against redis-server, on the same mixed dataset.

A redis-server (on a free port, in a temporary directory) is filled with ``--keys`` keys:
60% strings (half integers), 10% each of lists, hashes, sets and sorted sets of 10 elements
(compact encodings, as most keys of a real dataset), and ``--big`` keys of each collection
type with 1000 elements (the big encodings). Then:

* **Redis SAVE**: the time the SAVE command takes (wall clock, round trip).
* **Redis load**: redis-server restarted on that dump.rdb; its log's
  ``DB loaded from disk: X seconds``.
* **Zyst load**: :func:`zyst.persistence.rdbfile.load_rdb` of the same file into a fresh
  Keyspace, in this process (what the server does at start, less the event loop).
* **Zyst save**: :func:`zyst.persistence.rdbfile.save_rdb_file` of that keyspace (what SAVE
  does: write, fsync, rename), and Redis loading Zyst's file back as a check.

Each Zyst figure is the best of ``--runs``; Redis's SAVE and load too. Usage::

    python bench/rdb_speed.py --keys 1000000 --runs 3
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time

import redis

from zyst.keyspace import Keyspace
from zyst.persistence.rdbfile import load_rdb, save_rdb_file


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_redis(directory: str, port: int) -> subprocess.Popen[bytes]:
    log = os.path.join(directory, "redis.log")
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--dir",
            directory,
            "--dbfilename",
            "dump.rdb",
            "--save",
            "",
            "--appendonly",
            "no",
            "--logfile",
            log,
        ],
    )
    client = redis.Redis(port=port)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        try:
            if client.ping() and client.info("persistence")["loading"] == 0:
                return proc
        except (redis.ConnectionError, redis.BusyLoadingError):
            pass
        time.sleep(0.05)
    raise RuntimeError("redis-server did not start")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(60)


def fill(client: redis.Redis, keys: int, big: int) -> None:
    pipe = client.pipeline(transaction=False)
    ten = [b"%d" % i for i in range(10)]
    for i in range(keys):
        kind = i % 10
        key = b"key:%d" % i
        if kind < 3:
            pipe.set(key, b"%d" % (i * 7))
        elif kind < 6:
            pipe.set(key, b"value-%d-abcdefghij" % i)
        elif kind == 6:
            pipe.rpush(key, *[b"item-%d" % j for j in range(10)])
        elif kind == 7:
            pipe.hset(key, mapping={b"field%d" % j: b"v%d" % (i + j) for j in range(10)})
        elif kind == 8:
            pipe.sadd(key, *ten) if i % 20 == 8 else pipe.sadd(
                key, *[b"m%d" % j for j in range(10)]
            )
        else:
            pipe.zadd(key, {b"member%d" % j: j * 1.5 for j in range(10)})
        if i % 10 == 0:
            pipe.pexpire(key, 10_000_000)
        if len(pipe) >= 5000:
            pipe.execute()
    for i in range(big):
        pipe.rpush(b"biglist:%d" % i, *[b"e%d" % j for j in range(1000)])
        pipe.hset(b"bighash:%d" % i, mapping={b"f%d" % j: b"x" * 80 for j in range(1000)})
        pipe.sadd(b"bigset:%d" % i, *[b"s%d" % j for j in range(1000)])
        pipe.zadd(b"bigzset:%d" % i, {b"z%d" % j: j / 7 for j in range(1000)})
        pipe.execute()
    pipe.execute()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--big", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    top = tempfile.mkdtemp(prefix="rdb-speed-")
    try:
        redis_dir = os.path.join(top, "redis")
        os.mkdir(redis_dir)
        port = free_port()
        proc = start_redis(redis_dir, port)
        client = redis.Redis(port=port)
        fill(client, args.keys, args.big)
        dbsize = client.dbsize()
        saves = []
        for _ in range(args.runs):
            began = time.perf_counter()
            client.save()
            saves.append(time.perf_counter() - began)
        stop(proc)
        path = os.path.join(redis_dir, "dump.rdb")
        size = os.path.getsize(path)
        loads = []
        for _ in range(args.runs):
            proc = start_redis(redis_dir, port)
            stop(proc)
            with open(os.path.join(redis_dir, "redis.log")) as log:
                found = re.findall(r"DB loaded from disk: ([0-9.]+) seconds", log.read())
            loads.append(float(found[-1]))
        print(f"dataset: {dbsize} keys, dump.rdb {size / 1e6:.1f} MB")
        print(f"redis-server SAVE: {min(saves):.3f} s   load: {min(loads):.3f} s")

        zyst_loads = []
        keyspace = Keyspace()
        for _ in range(args.runs):
            keyspace = Keyspace()
            gc.collect()
            began = time.perf_counter()
            with open(path, "rb") as file:
                result = load_rdb(file, keyspace, lambda code: None)
            zyst_loads.append(time.perf_counter() - began)
        assert result.keys_loaded == dbsize, result
        zyst_dir = os.path.join(top, "zyst")
        os.mkdir(zyst_dir)
        zyst_path = os.path.join(zyst_dir, "dump.rdb")
        zyst_saves = []
        for _ in range(args.runs):
            began = time.perf_counter()
            save_rdb_file(zyst_path, keyspace, [])
            zyst_saves.append(time.perf_counter() - began)
        zsize = os.path.getsize(zyst_path)
        print(
            f"zyst SAVE: {min(zyst_saves):.3f} s ({min(zyst_saves) / min(saves):.2f}x)   "
            f"load: {min(zyst_loads):.3f} s ({min(zyst_loads) / min(loads):.2f}x)   "
            f"file {zsize / 1e6:.1f} MB"
        )
        proc = start_redis(zyst_dir, port)
        loaded = redis.Redis(port=port).dbsize()
        stop(proc)
        print(f"redis-server loaded Zyst's file: {loaded} keys")
    finally:
        shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    main()
