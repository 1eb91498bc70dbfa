"""INFO and CONFIG tell the truth under traffic: network rates, the port actually listened on,
and the cron frequency after CONFIG SET hz."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import redis

from tests.conftest import ROOT, RawConnection, ServerProcess, zyst_process


def test_instantaneous_network_rates_move_under_traffic(zyst_proc: ServerProcess) -> None:
    """While a client sends and receives, the sampled rates (measured once a second) become
    non-zero; Redis shows them as KiB per second with two decimals."""
    client = redis.Redis(port=zyst_proc.port, protocol=2)
    watcher = redis.Redis(port=zyst_proc.port, protocol=2)
    value = b"x" * 4096
    try:
        deadline = time.monotonic() + 30
        while True:
            pipe = client.pipeline(transaction=False)
            for n in range(20):
                pipe.set(b"k%d" % n, value)
                pipe.get(b"k%d" % n)
            pipe.execute()
            stats = watcher.info("stats")
            if stats["instantaneous_input_kbps"] > 0 and stats["instantaneous_output_kbps"] > 0:
                break
            assert time.monotonic() < deadline, stats
        raw = RawConnection(zyst_proc.port)
        text = raw.command("INFO", "stats").decode()
        raw.close()
        assert re.search(r"\r\ninstantaneous_input_kbps:\d+\.\d\d\r\n", text)
        assert re.search(r"\r\ninstantaneous_output_kbps:\d+\.\d\d\r\n", text)
        assert stats["instantaneous_ops_per_sec"] > 0
    finally:
        client.close()
        watcher.close()


def test_port_zero_is_shown_as_the_port_listened_on(tmp_path: Path) -> None:
    """Started with --port 0, the server picks a free port; CONFIG GET port and INFO tcp_port
    answer that port, not 0."""
    log = tmp_path / "server.log"
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    argv = [sys.executable, "-m", "zyst", "--port", "0", "--dir", str(tmp_path)]
    argv += ["--appendonly", "no", "--logfile", str(log)]
    with subprocess.Popen(argv, env=env) as proc:
        try:
            deadline = time.monotonic() + 30
            while not (
                found := re.search(r"port=(\d+)\.", log.read_text() if log.exists() else "")
            ):
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.02)
            port = int(found.group(1))
            assert port != 0
            client = redis.Redis(port=port, protocol=2)
            assert client.config_get("port") == {"port": str(port)}
            assert client.info("server")["tcp_port"] == port
            client.close()
        finally:
            proc.terminate()
            proc.wait(timeout=15)


def test_config_set_hz_changes_the_cron_frequency(tmp_path: Path) -> None:
    """INFO's hz is the frequency the cron runs at: after CONFIG SET hz, the active expiry
    cycle runs that often.

    The keys are laid out so that each cycle removes exactly 4 of them: in every run of 20
    keys with a TTL, 4 have expired, under the quarter that would make a cycle go on. So the
    400 expired keys take 100 cycles: 1 s at hz 100, but 100 s at the hz 1 it started with.
    """
    server = zyst_process(tmp_path, "--appendonly", "no", "--hz", "1").start()
    try:
        client = redis.Redis(port=server.port, protocol=2)
        assert client.config_set("hz", 100)
        assert client.info("server")["hz"] == 100
        pipe = client.pipeline(transaction=False)
        for group in range(100):
            for n in range(20):
                pipe.set(b"k%d:%d" % (group, n), b"v", px=1 if n < 4 else 10_000_000)
        pipe.execute()
        deadline = time.monotonic() + 30
        while client.info("stats")["expired_keys"] < 400:
            assert time.monotonic() < deadline, client.info("stats")["expired_keys"]
            time.sleep(0.05)
        client.close()
    finally:
        server.stop()
