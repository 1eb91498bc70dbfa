"""CONFIG SET of settings the server acts on at run time: port and bind (listen anew),
appendonly (the AOF starts from the current data) and appendfsync."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import redis

from tests.conftest import free_port, zyst_process


def test_config_set_port_listens_on_the_new_port(tmp_path: Path) -> None:
    with zyst_process(tmp_path, "--appendonly", "no") as server:
        client = redis.Redis(port=server.port, protocol=2)
        new_port = free_port()
        assert client.config_set("port", new_port)
        moved = redis.Redis(port=new_port, protocol=2)
        assert moved.ping()
        assert moved.config_get("port") == {"port": str(new_port)}
        assert moved.info("server")["tcp_port"] == new_port
        with pytest.raises(OSError), socket.create_connection(("127.0.0.1", server.port), 1):
            pass
        # The port of another listener is refused with Redis's words, and nothing changes.
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            with pytest.raises(redis.ResponseError, match="Unable to listen on this port"):
                moved.config_set("port", taken.getsockname()[1])
        assert moved.config_get("port") == {"port": str(new_port)}
        assert moved.ping()
        moved.shutdown(nosave=True)


def test_config_set_appendonly_writes_the_dataset_first(tmp_path: Path) -> None:
    with zyst_process(tmp_path, "--appendonly", "no") as server:
        client = redis.Redis(port=server.port, protocol=2)
        client.set("before", "1")
        client.rpush("list", "a", "b")
        client.set("ttl", "x", ex=1000)
        client.function_load(
            "#!lua name=kept\nredis.register_function('k', function() return 7 end)"
        )
        assert client.config_set("appendonly", "yes")
        client.set("after", "2")
        assert client.config_set("appendfsync", "always")
        client.set("durable", "3")
        client.close()
        server.kill()
    with zyst_process(tmp_path, "--appendonly", "yes", port=server.port) as restarted:
        client = redis.Redis(port=restarted.port, protocol=2)
        assert client.mget("before", "after", "durable") == [b"1", b"2", b"3"]
        assert client.lrange("list", 0, -1) == [b"a", b"b"]
        assert 0 < client.ttl("ttl") <= 1000
        # The functions were written with the dataset, as Redis's rewrite writes them.
        assert client.fcall("k", 0) == 7
