"""zyst.Server / zyst.serve: a server started and stopped from Python, in a thread of this
process or in a child process, on a TCP port or a Unix socket, with or without persistence."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import redis
import redis.asyncio

import zyst
from zyst.testing import ServerError


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


def test_import_zyst_does_not_start_the_server_stack() -> None:
    code = "import sys, zyst; print(sorted(m for m in sys.modules if m.startswith('zyst')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['zyst']"


def test_thread_server_serves_then_stops_and_cleans_up() -> None:
    with zyst.serve() as server:
        assert server.mode == "thread"
        assert server.port > 0 and server.url == f"redis://127.0.0.1:{server.port}"
        client = server.client()
        assert client.set("k", "v") and client.get("k") == b"v"
        # In this process, but on a loop and a thread of its own.
        assert client.info("server")["process_id"] == os.getpid()
        assert any(t.name == "zyst-server" for t in threading.enumerate())
        data_dir = server.dir
        client.close()
    assert not server.running
    assert refused(server_port := client.connection_pool.connection_kwargs["port"])
    assert server_port > 0
    assert not data_dir.exists()
    assert not any(t.name == "zyst-server" for t in threading.enumerate())


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_a_thread_server_leaves_the_process_wide_state_to_the_host() -> None:
    logger = logging.getLogger("zyst")
    host = Records()
    logger.addHandler(host)
    frozen, level = gc.get_freeze_count(), logger.level
    try:
        with zyst.serve() as server:
            # The host's handler stays, and sees the server's lines.
            assert host in logger.handlers
            assert f"Running mode=standalone, port={server.port}." in host.messages
            assert gc.get_freeze_count() == frozen
        # Stopped: its own file handler is gone, the host's is there, the level is the host's.
        assert logger.handlers == [host]
        assert logger.level == level
    finally:
        logger.removeHandler(host)


def test_two_thread_servers_are_independent(tmp_path: Path) -> None:
    with zyst.serve() as one, zyst.serve() as two:
        assert one.port != two.port
        one.client().set("where", "one")
        assert two.client().get("where") is None
        one_port, two_port = one.port, two.port
        # Each log holds its own server's lines only.
        one_log, two_log = one.log_path.read_text(), two.log_path.read_text()
    assert f"port={one_port}." in one_log and f"port={two_port}." not in one_log
    assert f"port={two_port}." in two_log and f"port={one_port}." not in two_log


def test_two_servers_cannot_share_a_data_directory(tmp_path: Path) -> None:
    with (
        zyst.serve(dir=tmp_path),
        pytest.raises(ServerError, match="is in use by another Zyst server"),
    ):
        zyst.serve(dir=tmp_path)


def test_unix_socket_only(tmp_path: Path) -> None:
    path = tmp_path / "zyst.sock"
    with zyst.Server(port=None, unixsocket=path) as server:
        assert server.url == f"unix://{path}"
        with pytest.raises(ServerError):
            _ = server.port
        assert redis.Redis.from_url(server.url).ping()
        assert server.client().ping()
    assert not path.exists()


@pytest.mark.parametrize("mode", ["thread", "subprocess"])
def test_persistence_keeps_the_data_across_restarts(tmp_path: Path, mode: str) -> None:
    with zyst.Server(dir=tmp_path, persistence=True, mode=mode) as server:  # type: ignore[arg-type]
        server.client().set("kept", "yes")
    assert (tmp_path / "appendonlydir").is_dir()
    with zyst.Server(dir=tmp_path, persistence=True, mode=mode) as server:  # type: ignore[arg-type]
        assert server.client().get("kept") == b"yes"


def test_without_persistence_nothing_is_written(tmp_path: Path) -> None:
    with zyst.Server(dir=tmp_path) as server:
        server.client().set("k", "v")
        assert server.client().config_get("appendonly") == {"appendonly": "no"}
        assert server.client().config_get("save") == {"save": ""}
    assert sorted(path.name for path in tmp_path.iterdir()) == ["zyst.log"]


def test_subprocess_server_runs_in_a_child() -> None:
    with zyst.serve(mode="subprocess", settings={"maxmemory": "10mb"}) as server:
        client = server.client(decode_responses=True)
        pid = int(client.info("server")["process_id"])
        assert pid != os.getpid()
        assert client.config_get("maxmemory") == {"maxmemory": "10485760"}
    assert refused(client.connection_pool.connection_kwargs["port"])
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_settings_and_config_file(tmp_path: Path) -> None:
    conf = tmp_path / "zyst.conf"
    conf.write_text("maxmemory 1mb\nhz 20\n")
    settings = {"requirepass": "secret", "hz": 30, "rdbcompression": False}
    with zyst.serve(config_file=conf, settings=settings) as server:
        with pytest.raises(redis.AuthenticationError):
            # (retry=None: redis-py would retry the refused connection three times.)
            server.client(retry=None).ping()
        client = server.client(password="secret", decode_responses=True)
        assert client.config_get("maxmemory")["maxmemory"] == "1048576"
        assert client.config_get("hz")["hz"] == "30"
        assert client.config_get("rdbcompression")["rdbcompression"] == "no"


def test_a_start_that_fails_says_why(tmp_path: Path) -> None:
    with pytest.raises(ServerError, match="Bad directive or wrong number of arguments"):
        zyst.serve(settings={"no-such-setting": "1"})
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for mode in ("thread", "subprocess"):
            with pytest.raises(ServerError, match=f"Failed listening on port {port}"):
                zyst.serve(port=port, mode=mode)  # type: ignore[arg-type]
    assert not any(t.name == "zyst-server" for t in threading.enumerate())


def test_arguments_that_cannot_work_are_refused() -> None:
    with pytest.raises(ValueError, match="needs a unixsocket"):
        zyst.Server(port=None)
    with pytest.raises(ValueError, match="loglevel"):
        zyst.Server(mode="subprocess", settings={"loglevel": "warning"})
    with pytest.raises(ValueError, match="mode must be"):
        zyst.Server(mode="fork")  # type: ignore[arg-type]


def test_shutdown_by_a_client_then_stop() -> None:
    server = zyst.serve()
    server.client(retry=None).shutdown(nosave=True)
    server.stop()
    assert not server.running
    server.stop()  # twice is fine


def test_async_use() -> None:
    async def main() -> bytes | None:
        async with zyst.Server() as server:
            client = redis.asyncio.Redis(port=server.port)
            await client.set("a", "1")
            value: bytes | None = await client.get("a")
            await client.aclose()
            return value

    assert asyncio.run(main()) == b"1"
