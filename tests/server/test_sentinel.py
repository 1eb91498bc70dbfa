"""Redis Sentinel (Debian's redis-sentinel) managing Zyst servers: three sentinels watch a Zyst
primary with two Zyst replicas. The primary is killed with SIGKILL; Sentinel promotes a
replica (REPLICAOF NO ONE, CONFIG REWRITE), points the other at it, and turns the old primary
into a replica once it is back; redis-py's Sentinel client follows, and no write acknowledged
with WAIT 1 before the kill is lost."""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from functools import partial
from pathlib import Path

import pytest
import redis
from redis.sentinel import Sentinel

from tests.conftest import ServerProcess, free_port, wait_until
from tests.server.test_replication_primary import _caught_up, _info, _linked

NAME = "mymaster"


def _sentinel_binary() -> str:
    binary = shutil.which("redis-sentinel")
    if binary is None:
        pytest.fail("redis-sentinel is not installed (apt-get install redis-sentinel)")
    return binary


def _config_file(workdir: Path, name: str, lines: list[str]) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    conf = workdir / name
    conf.write_text("\n".join(lines) + "\n")
    return conf


def _zyst_with_config(workdir: Path, *lines: str) -> ServerProcess:
    """A Zyst server started from a redis.conf file of its own (CONFIG REWRITE writes it)."""
    port = free_port()
    settings = ["appendonly yes", "appendfsync always", "repl-diskless-sync-delay 0", 'save ""']
    conf = _config_file(
        workdir, "zyst.conf", [f"port {port}", f'dir "{workdir}"', *settings, *lines]
    )
    return ServerProcess([sys.executable, "-m", "zyst", str(conf)], port, workdir)


def _sentinel(workdir: Path, primary_port: int) -> ServerProcess:
    port = free_port()
    watch = [
        f"sentinel monitor {NAME} 127.0.0.1 {primary_port} 2",
        f"sentinel down-after-milliseconds {NAME} 1000",
        f"sentinel failover-timeout {NAME} 5000",
        f"sentinel parallel-syncs {NAME} 1",
    ]
    lines = [f"port {port}", "bind 127.0.0.1", f'dir "{workdir}"', *watch]
    conf = _config_file(workdir, "sentinel.conf", lines)
    return ServerProcess([_sentinel_binary(), str(conf)], port, workdir)


@contextmanager
def _running(*servers: ServerProcess) -> Iterator[None]:
    with ExitStack() as stack:
        for server in servers:
            stack.enter_context(server)
        yield


def _discovered(sentinel: redis.Redis) -> bool:
    slaves = sentinel.sentinel_slaves(NAME)
    return len(slaves) == 2 and len(sentinel.sentinel_sentinels(NAME)) == 2


def _primary_port(sentinel: redis.Redis) -> int:
    reply = sentinel.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", NAME)
    return int(reply[1])


def test_sentinel_fails_over_a_set_of_zyst_servers(tmp_path: Path) -> None:
    first = _zyst_with_config(tmp_path / "z1")
    replicas = [
        _zyst_with_config(tmp_path / f"z{n}", f"replicaof 127.0.0.1 {first.port}") for n in (2, 3)
    ]
    servers = {server.port: server for server in (first, *replicas)}
    sentinels = [_sentinel(tmp_path / f"s{n}", first.port) for n in (1, 2, 3)]
    with _running(first, *replicas, *sentinels):
        primary = redis.Redis(port=first.port)
        for replica in replicas:
            wait_until(lambda: _linked(redis.Redis(port=replica.port)), "a replica's sync")  # noqa: B023
        watchers = [redis.Redis(port=s.port) for s in sentinels]
        # Each sentinel found both replicas (from INFO) and the two other sentinels (from
        # the __sentinel__:hello channel on the Zyst servers).
        for watcher in watchers:
            wait_until(partial(_discovered, watcher), "the sentinels to discover the topology")
        acknowledged = []
        for n in range(200):
            primary.set(f"key{n}", n)
            if n % 20 == 19:
                assert primary.wait(1, 60_000) >= 1  # (a bound for a broken WAIT)
                acknowledged = list(range(n + 1))
        killed_at = time.monotonic()
        first.kill()
        wait_until(
            lambda: all(_primary_port(w) != first.port for w in watchers), "the failover", 90
        )
        failover_seconds = time.monotonic() - killed_at
        new_port = _primary_port(watchers[0])
        assert new_port in servers and new_port != first.port
        promoted = redis.Redis(port=new_port)
        wait_until(lambda: _info(promoted)["role"] == "master", "the promotion")
        other_port = next(p for p in servers if p not in (first.port, new_port))
        other = redis.Redis(port=other_port)
        wait_until(
            lambda: _info(other).get("master_port") == new_port and _caught_up(promoted, other),
            "the other replica to follow the new primary",
        )
        # Sentinel made the promotion permanent in the promoted server's config file.
        conf = (servers[new_port].dir / "zyst.conf").read_text()
        assert "replicaof" not in conf
        assert (
            f"replicaof 127.0.0.1 {new_port}" in (servers[other_port].dir / "zyst.conf").read_text()
        )
        # No acknowledged write lost.
        values = promoted.mget([f"key{n}" for n in acknowledged])
        assert values == [str(n).encode() for n in acknowledged]
        # redis-py's Sentinel client writes to the new primary.
        client = Sentinel([("127.0.0.1", s.port) for s in sentinels]).master_for(NAME)
        client.set("after-failover", "1")
        assert promoted.get("after-failover") == b"1"
        # The old primary comes back (its AOF holds its data) and is made a replica.
        with first:
            old = redis.Redis(port=first.port)
            wait_until(
                lambda: _info(old).get("master_port") == new_port and _caught_up(promoted, old),
                "the old primary to rejoin as a replica",
                90,
            )
            assert old.get("after-failover") == b"1"
            assert old.mget([f"key{n}" for n in acknowledged]) == values
        print(f"sentinel failover of Zyst took {failover_seconds:.1f} s")
