"""Zyst servers behind twemproxy (Debian's ``nutcracker``): three Zyst servers in a ``redis: true``
pool, driven through the proxy by redis-benchmark and by redis-py. The values must come back
exactly (a 1 MB value, binary bytes), the commands twemproxy splits per server (MGET, MSET, DEL,
UNLINK) must add up, every key must live on exactly one server, the servers' error replies must
pass through the proxy byte for byte as redis-server's would, and a ``redis_db: 2`` pool must
put its keys in database 2. (twemproxy sends ``SELECT 2`` first on each new server connection
of that pool; without ``redis_db`` or ``redis_auth`` it sends nothing of its own.)

The pool is the one of ``examples/twemproxy/nutcracker.yml`` on free ports. The tests need
``nutcracker``, ``redis-benchmark`` and ``redis-server`` (the oracle); when one is missing they
fail, they do not skip, as the oracle tests do.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import cast

import pytest
import redis
from redis.typing import EncodableT, FieldT

from tests.conftest import RawConnection, ServerProcess, free_port, wait_until, zyst_process

# Names give the ketama ring its points, so that which server owns a key does not depend on the
# free ports the servers got: the spread of the keys below is the same on every run.
NAMES = ("zyst1", "zyst2", "zyst3")

# What the proxy's clients may expect of a server: an answer within this long (ms).
SERVER_TIMEOUT_MS = 30_000


def proxy_client(port: int) -> redis.Redis:
    """A redis-py client fit for twemproxy: RESP2 and no CLIENT SETINFO on connect. The proxy
    closes the connection of a client that sends HELLO or CLIENT, which redis-py 8 does by
    default."""
    return redis.Redis(port=port, protocol=2, driver_info=None, socket_timeout=30)


def nutcracker_binary() -> str:
    """The nutcracker program. Debian installs it in /usr/sbin, which an ordinary user's PATH
    may lack."""
    binary = shutil.which("nutcracker") or shutil.which(
        "nutcracker", path="/usr/local/sbin:/usr/sbin"
    )
    if binary is None:
        pytest.fail(
            "nutcracker is not installed: the twemproxy tests cannot run "
            "(apt-get install nutcracker)"
        )
    return binary


def pool_config(name: str, listen: int, servers: list[ServerProcess], *extra: str) -> str:
    """One pool of nutcracker's YAML configuration: the example's settings, ``extra`` lines
    added."""
    lines = [
        f"{name}:",
        f"  listen: 127.0.0.1:{listen}",
        "  redis: true",
        "  hash: fnv1a_64",
        "  distribution: ketama",
        "  auto_eject_hosts: false",
        "  server_retry_timeout: 2000",
        "  server_failure_limit: 2",
        f"  timeout: {SERVER_TIMEOUT_MS}",
        "  server_connections: 1",
        *(f"  {line}" for line in extra),
        "  servers:",
        *(f"   - 127.0.0.1:{s.port}:1 {n}" for s, n in zip(servers, NAMES, strict=True)),
    ]
    return "\n".join(lines) + "\n"


@dataclass
class Sharded:
    """Three Zyst servers and the proxy's two pools in front of them: ``port`` uses the
    servers' database 0, ``db2_port`` their database 2."""

    servers: list[ServerProcess]
    proxy: ServerProcess
    db2_port: int

    @property
    def port(self) -> int:
        return self.proxy.port

    def direct(self, db: int = 0) -> list[redis.Redis]:
        """A client connected straight to each server, bypassing the proxy."""
        return [redis.Redis(port=s.port, db=db, socket_timeout=10) for s in self.servers]

    def keys_by_server(self, db: int = 0) -> list[set[bytes]]:
        clients = self.direct(db)
        try:
            # Bytes: the clients do not decode replies (redis-py types them bytes | str).
            return [set(cast("list[bytes]", client.keys("*"))) for client in clients]
        finally:
            for client in clients:
                client.close()


@pytest.fixture(scope="module")
def sharded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sharded]:
    binary = nutcracker_binary()
    workdir = tmp_path_factory.mktemp("twemproxy")
    started: list[ServerProcess] = []
    try:
        for name in NAMES:
            server = zyst_process(workdir / name, "--save", "", "--appendonly", "no")
            started.append(server.start())
        servers = list(started)
        port, db2_port = free_port(), free_port()
        config = workdir / "nutcracker.yml"
        config.write_text(
            pool_config("zyst", port, servers, "preconnect: true")
            # Not preconnected: its server connections, and the SELECT that opens each one, come
            # with the first request (test_a_redis_db_pool_selects_the_database watches them).
            + pool_config("zyst_db2", db2_port, servers, "redis_db: 2")
        )
        proxy_dir = workdir / "proxy"
        proxy_dir.mkdir()
        argv = [
            binary, "-c", str(config), "-s", str(free_port()), "-a", "127.0.0.1",
            # Its log into the file ServerProcess shows when the proxy fails to start.
            "-o", str(proxy_dir / "server.log"),
        ]  # fmt: skip
        proxy = ServerProcess(argv, port, proxy_dir)
        started.append(proxy.start())
        client = proxy_client(port)
        wait_until(lambda: client.ping(), "the proxy to answer PING")
        client.close()
        yield Sharded(servers, proxy, db2_port)
    finally:
        for process in reversed(started):
            process.stop()


@pytest.fixture
def proxied(sharded: Sharded) -> Iterator[redis.Redis]:
    """A redis-py client of the proxy, the servers flushed (directly: FLUSHALL has no key, so
    the proxy does not forward it)."""
    for server in sharded.direct():
        server.flushall()
        server.close()
    client = proxy_client(sharded.port)
    yield client
    client.close()


def test_redis_benchmark_through_the_proxy(sharded: Sharded, proxied: redis.Redis) -> None:
    tests = ["set", "get", "incr", "lpush", "lpop", "sadd", "hset"]
    run = subprocess.run(
        [
            "redis-benchmark", "-p", str(sharded.port), "-t", ",".join(tests),
            "-n", "5000", "-r", "1000", "-q",
        ],
        capture_output=True, text=True, timeout=100, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    # -q redraws its progress line with \r; every piece of it counts.
    lines = [line for line in re.split(r"[\r\n]+", run.stdout + run.stderr) if line.strip()]
    # twemproxy does not forward CONFIG: the benchmark says so once and goes on without it.
    lines.remove("WARNING: Could not fetch server CONFIG")
    assert [line for line in lines if re.search(r"err", line, re.IGNORECASE)] == []
    done = {
        m[1] for line in lines if (m := re.match(r"\s*(\w+): [\d.]+ requests per second", line))
    }
    assert done == {test.upper() for test in tests}
    keys = sharded.keys_by_server()
    assert all(keys), [len(k) for k in keys]
    assert sum(len(k) for k in keys) == len(set().union(*keys))


def test_commands_through_the_proxy_read_back_exactly(
    sharded: Sharded, proxied: redis.Redis
) -> None:
    # The id in the middle of the key: twemproxy computes fnv1a_64 in 32 bits, where keys that
    # differ only in their last characters hash close together on the ring ("key:0" to
    # "key:299" miss one of the three servers entirely, with redis-server behind it too).
    strings = {f"user:{n}:name".encode(): f"value {n}".encode() for n in range(300)}
    pipe = proxied.pipeline(transaction=False)
    for key, value in strings.items():
        pipe.set(key, value)
    assert pipe.execute() == [True] * len(strings)
    for key, value in strings.items():
        assert proxied.get(key) == value
    # MGET, MSET, DEL and UNLINK are cut into one command per server by the proxy, the replies
    # put back together in the client's order. (EXISTS too, but nutcracker 0.5.0 answers the
    # count of one part only, whatever the servers: not tested with several keys.)
    assert proxied.mget(list(strings)) == list(strings.values())
    assert proxied.mget(["user:7:name", "missing", "user:250:name", "user:7:name"]) == [
        b"value 7",
        None,
        b"value 250",
        b"value 7",
    ]
    assert [proxied.exists(key) for key in ("user:0:name", "user:299:name", "missing")] == [
        1,
        1,
        0,
    ]
    assert proxied.delete(*[f"user:{n}:name" for n in range(10)], "missing", "user:0:name") == 10
    assert proxied.unlink("user:10:name", "user:11:name", "missing") == 2
    for n in range(12):
        del strings[f"user:{n}:name".encode()]
    assert proxied.mget([f"user:{n}:name" for n in range(8, 14)]) == [
        None,
        None,
        None,
        None,
        b"value 12",
        b"value 13",
    ]
    many = {f"mset:{n}:x".encode(): str(n).encode() for n in range(40)}
    assert proxied.mset(many) is True
    assert proxied.mget(list(many)) == list(many.values())
    strings.update(many)

    assert [proxied.incr("counter") for _ in range(5)] == [1, 2, 3, 4, 5]
    assert proxied.incrby("counter", 100) == 105
    strings[b"counter"] = b"105"

    assert proxied.set("ttl:key", "v") is True
    assert proxied.expire("ttl:key", 1000) is True
    assert 0 < proxied.ttl("ttl:key") <= 1000
    assert proxied.ttl("counter") == -1
    assert proxied.ttl("missing") == -2
    strings[b"ttl:key"] = b"v"

    fields: dict[FieldT, EncodableT] = {f"field{n}".encode(): f"{n}".encode() for n in range(50)}
    assert proxied.hset("hash", mapping=fields) == 50
    assert proxied.hincrby("hash", "field3", 10) == 13
    fields[b"field3"] = b"13"
    assert proxied.hgetall("hash") == fields
    assert proxied.hmget("hash", ["field1", "nope", "field49"]) == [b"1", None, b"49"]

    assert proxied.rpush("list", *range(100)) == 100
    assert proxied.lpush("list", "head") == 101
    assert proxied.lpop("list") == b"head"
    assert proxied.rpop("list") == b"99"
    assert proxied.lrange("list", 0, -1) == [str(n).encode() for n in range(99)]

    # 1 MiB holding every byte value, \r\n and NUL among them; binary keys as well.
    big = bytes(range(256)) * 4096
    binary = b"\r\n\x00$3\r\n*1\r\n\x00\xff\xfe\r\n-ERR\r\n"
    assert proxied.set("big", big) is True
    assert proxied.set(b"bin\x00key\r\n", binary) is True
    assert proxied.get("big") == big
    assert proxied.strlen("big") == len(big)
    assert proxied.get(b"bin\x00key\r\n") == binary
    assert proxied.mget(["big", b"bin\x00key\r\n", "user:20:name"]) == [big, binary, b"value 20"]
    strings[b"big"] = big
    strings[b"bin\x00key\r\n"] = binary

    written = {*strings, b"hash", b"list"}
    keys = sharded.keys_by_server()
    assert all(keys), f"a server got no key: {[len(k) for k in keys]}"
    for key in written:
        assert sum(key in on_server for on_server in keys) == 1, key
    assert set().union(*keys) == written
    sizes = []
    for server in sharded.direct():
        sizes.append(server.dbsize())
        server.close()
    assert sum(sizes) == len(written)
    assert proxied.mget(list(strings)) == list(strings.values())


def test_error_replies_pass_through_the_proxy_intact(
    sharded: Sharded, proxied: redis.Redis, redis_server: ServerProcess
) -> None:
    """The raw bytes of each error, through the proxy from Zyst, as a redis-server sends them."""
    commands: list[tuple[str, ...]] = [
        ("SET", "twemproxy:text", "abc"),
        ("INCR", "twemproxy:text"),
        ("LPUSH", "twemproxy:text", "x"),
        ("HSET", "twemproxy:hash", "f", "v"),
        ("HINCRBYFLOAT", "twemproxy:hash", "f", "1"),
        ("EXPIRE", "twemproxy:text", "soon"),
        ("DEL", "twemproxy:text", "twemproxy:hash"),
    ]
    with RawConnection(sharded.port) as proxy, RawConnection(redis_server.port) as real:
        ours = [proxy.command(*command) for command in commands]
        theirs = [real.command(*command) for command in commands]
    assert ours == theirs
    assert ours == [
        b"+OK\r\n",
        b"-ERR value is not an integer or out of range\r\n",
        b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        b":1\r\n",
        b"-ERR hash value is not a float\r\n",
        b"-ERR value is not an integer or out of range\r\n",
        b":2\r\n",
    ]


def test_a_redis_db_pool_selects_the_database(sharded: Sharded, proxied: redis.Redis) -> None:
    """twemproxy opens each server connection of a ``redis_db: 2`` pool with ``SELECT 2``, in
    the same write as the first request; the pool's keys land in database 2 of the servers,
    while its clients see database 0."""
    written = {f"db2:{n}:x".encode(): str(n).encode() for n in range(60)}
    with contextlib.ExitStack() as stack:
        monitors = []
        for client in sharded.direct():
            stack.callback(client.close)
            monitors.append(stack.enter_context(client.monitor()))  # type: ignore[no-untyped-call]
        pool = proxy_client(sharded.db2_port)
        stack.callback(pool.close)
        for key, value in written.items():
            assert pool.set(key, value) is True
        assert pool.mget(list(written)) == list(written.values())
        # Each server's first two commands: the proxy's SELECT, then the request it came with.
        seen = [[monitor.next_command() for _ in range(2)] for monitor in monitors]
    for first, second in seen:
        assert first["command"] == "SELECT 2"
        assert second["command"].startswith("SET db2:") and second["db"] == 2
        assert first["client_address"] == second["client_address"]
    in_db2 = sharded.keys_by_server(db=2)
    assert all(in_db2), [len(k) for k in in_db2]
    assert sum(len(k) for k in in_db2) == len(written)
    assert set().union(*in_db2) == set(written)
    assert sharded.keys_by_server(db=0) == [set(), set(), set()]
    # The other pool, on database 0 of the same servers, does not see them.
    assert proxied.mget(list(written)) == [None] * len(written)
