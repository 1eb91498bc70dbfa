"""The HTTP port's ``/metrics``: scraped over HTTP from a running server, parsed with
prometheus_client's own parsers, its names checked against redis_exporter's and its values
against INFO's at the same moment.
"""

from __future__ import annotations

import asyncio
import http.client
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ROOT, ServerProcess, free_port, zyst_process
from zyst.config import Config
from zyst.context import ServerContext
from zyst.web.http import HttpPort

# The names the issue lists (redis_exporter's), each a sample every scrape must carry.
EXPECTED = (
    "redis_up",
    "redis_connected_clients",
    "redis_memory_used_bytes",
    "redis_commands_processed_total",
    "redis_commands_total",
    "redis_commands_duration_seconds_total",
    "redis_db_keys",
    "redis_db_keys_expiring",
    "redis_keyspace_hits_total",
    "redis_keyspace_misses_total",
    "redis_evicted_keys_total",
    "redis_aof_enabled",
    "redis_aof_last_write_status",
    "redis_aof_current_size_bytes",
    "redis_connected_slaves",
)

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


class MetricsServer:
    """A Zyst process with its HTTP port on, and a redis-py client of it."""

    def __init__(self, process: ServerProcess, metrics_port: int) -> None:
        self.process = process
        self.metrics_port = metrics_port
        self.client = redis.Redis(port=process.port, decode_responses=True)

    def get(self, path: str, accept: str = "") -> tuple[int, str, str]:
        """GET ``path``: status, content type, body."""
        conn = http.client.HTTPConnection("127.0.0.1", self.metrics_port, timeout=30)
        try:
            conn.request("GET", path, headers={"Accept": accept} if accept else {})
            response = conn.getresponse()
            return response.status, response.getheader("Content-Type", ""), response.read().decode()
        finally:
            conn.close()

    def scrape(self) -> Samples:
        status, _, body = self.get("/metrics")
        assert status == 200
        return {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(body)
            for sample in family.samples
        }


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MetricsServer]:
    metrics_port = free_port()
    workdir = tmp_path_factory.mktemp("metrics")
    with zyst_process(workdir, "--metrics-port", str(metrics_port)) as process:
        served = MetricsServer(process, metrics_port)
        # PING answers once the server serves, which it does after the HTTP port is up.
        served.client.ping()
        yield served
        served.client.close()


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


def info_number(info: dict[str, object], field: str) -> float:
    return float(str(info[field]))


def test_the_listed_names_are_scraped(server: MetricsServer) -> None:
    server.client.set("metrics:listed", "x")
    names = {name for name, _ in server.scrape()}
    assert [name for name in EXPECTED if name not in names] == []


def test_values_are_infos(server: MetricsServer) -> None:
    r = server.client
    r.set("metrics:plain", "1")
    r.set("metrics:ttl", "2", ex=1000)
    r.get("metrics:plain")
    r.get("metrics:missing")
    r.execute_command("SELECT", "3")
    r.set("metrics:db3", "3")
    r.execute_command("SELECT", "0")
    with pytest.raises(redis.ResponseError):
        r.execute_command("INCR", "metrics:ttl:none", "extra")
    with pytest.raises(redis.ResponseError):
        r.lpush("metrics:plain", "a")
    before = r.info("everything")
    samples = server.scrape()
    after = r.info("everything")
    # What neither INFO call nor the scrape changes is equal.
    for field, name in (
        ("keyspace_hits", "redis_keyspace_hits_total"),
        ("keyspace_misses", "redis_keyspace_misses_total"),
        ("connected_clients", "redis_connected_clients"),
        ("evicted_keys", "redis_evicted_keys_total"),
        ("expired_keys", "redis_expired_keys_total"),
        ("maxclients", "redis_max_clients"),
        ("total_connections_received", "redis_connections_received_total"),
        ("aof_enabled", "redis_aof_enabled"),
        ("connected_slaves", "redis_connected_slaves"),
        ("total_error_replies", "redis_total_error_replies"),
        ("process_id", "redis_process_id"),
    ):
        assert value(samples, name) == info_number(before, field) == info_number(after, field), (
            field
        )
    # INFO's "ok" is 1, as redis_exporter reads it.
    assert before["aof_last_write_status"] == "ok"
    assert value(samples, "redis_aof_last_write_status") == 1
    # Counters INFO itself moves: the scrape falls between the two calls.
    for field, name in (
        ("total_commands_processed", "redis_commands_processed_total"),
        ("total_net_input_bytes", "redis_net_input_bytes_total"),
    ):
        low, high = info_number(before, field), info_number(after, field)
        assert low <= value(samples, name) <= high, field
    # Every database, the empty ones as zeros.
    for index in range(16):
        db = before.get(f"db{index}")
        keys = db["keys"] if isinstance(db, dict) else 0
        expires = db["expires"] if isinstance(db, dict) else 0
        assert value(samples, "redis_db_keys", db=f"db{index}") == keys
        assert value(samples, "redis_db_keys_expiring", db=f"db{index}") == expires
    assert value(samples, "redis_db_keys_expiring", db="db0") >= 1
    assert value(samples, "redis_db_keys", db="db3") == 1
    # Per command: INFO commandstats' calls, failures and time (seconds, from its usec).
    for cmd in ("set", "get", "lpush", "incr"):
        stat = before[f"cmdstat_{cmd}"]
        assert isinstance(stat, dict)
        assert value(samples, "redis_commands_total", cmd=cmd) == stat["calls"]
        assert value(samples, "redis_commands_failed_calls_total", cmd=cmd) == stat["failed_calls"]
        assert (
            value(samples, "redis_commands_rejected_calls_total", cmd=cmd) == stat["rejected_calls"]
        )
        assert value(samples, "redis_commands_duration_seconds_total", cmd=cmd) == pytest.approx(
            stat["usec"] / 1e6
        )
    assert before["cmdstat_incr"]["rejected_calls"] == 1  # type: ignore[index]
    assert before["cmdstat_lpush"]["failed_calls"] == 1  # type: ignore[index]
    # Per error code: INFO errorstats.
    for code in ("ERR", "WRONGTYPE"):
        stat = before[f"errorstat_{code}"]
        assert isinstance(stat, dict)
        assert value(samples, "redis_errors_total", err=code) == stat["count"]
    labels = {
        label for name, labels in samples for label in labels if name == "redis_instance_info"
    }
    assert ("redis_version", "7.0.15") in labels
    assert ("tcp_port", str(server.process.port)) in labels
    assert value(samples, "redis_up") == 1


def test_openmetrics_when_asked(server: MetricsServer) -> None:
    status, content_type, body = server.get(
        "/metrics", accept="application/openmetrics-text; version=1.0.0"
    )
    assert status == 200
    assert content_type.startswith("application/openmetrics-text")
    names = {family.name for family in openmetrics_families(body)}
    assert {"redis_up", "redis_commands_processed", "redis_db_keys"} <= names


def test_unknown_paths_are_not_found(server: MetricsServer) -> None:
    assert server.get("/no-such-page")[0] == 404


def test_config_get_shows_the_settings(server: MetricsServer) -> None:
    assert server.client.config_get("metrics-*") == {
        "metrics-port": str(server.metrics_port),
        "metrics-bind": "127.0.0.1",
    }


def test_shutdown_closes_the_port_with_a_connection_open(tmp_path: Path) -> None:
    metrics_port = free_port()
    process = zyst_process(tmp_path, "--metrics-port", str(metrics_port))
    with process, socket.create_connection(("127.0.0.1", process.port)) as client:
        client.sendall(b"PING\r\n")
        assert client.recv(100) == b"+PONG\r\n"
        # A kept-alive HTTP connection, idle when the server stops.
        conn = http.client.HTTPConnection("127.0.0.1", metrics_port, timeout=30)
        conn.request("GET", "/metrics")
        assert conn.getresponse().read()
        client.sendall(b"SHUTDOWN NOSAVE\r\n")
        assert process.proc is not None
        assert process.proc.wait(timeout=60) == 0
        conn.close()
        with pytest.raises(OSError), socket.create_connection(("127.0.0.1", metrics_port)):
            pass


def test_a_busy_metrics_port_stops_the_start(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        port = free_port()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "zyst",
                "--port",
                str(port),
                "--dir",
                str(tmp_path),
                "--metrics-port",
                str(busy),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        )
    assert done.returncode == 1
    assert f"can't listen on the metrics port 127.0.0.1:{busy}" in done.stderr
    assert "Failed listening on the metrics port" in done.stdout


def test_off_by_default(r: redis.Redis) -> None:
    # The session's server runs without the HTTP port, and the server module does not load
    # aiohttp unless the port is on.
    assert r.config_get("metrics-port") == {"metrics-port": "0"}
    code = "import sys, zyst.server; print('aiohttp' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    assert done.stdout.strip() == "False", done.stderr


def fetch_keeping_alive(port: int) -> tuple[int, http.client.HTTPConnection]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/metrics")
    response = conn.getresponse()
    response.read()
    return response.status, conn


def test_the_port_stops_inside_a_running_process() -> None:
    # As an embedded server stops while its process goes on: port 0 gives the port bound,
    # and stop() closes the listener and the kept-alive connections.
    async def run() -> None:
        loop = asyncio.get_running_loop()
        port = HttpPort(ServerContext(Config()), "127.0.0.1", 0)
        await port.start()
        assert port.port != 0
        status, conn = await loop.run_in_executor(None, fetch_keeping_alive, port.port)
        assert status == 200
        await port.stop()
        assert conn.sock is not None
        assert await loop.run_in_executor(None, conn.sock.recv, 1) == b""
        conn.close()
        with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port.port)):
            pass
        await port.stop()  # (again: nothing to do)

    asyncio.run(run())
