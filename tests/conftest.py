"""Shared fixtures: a Zyst server and a real redis-server, both started for the test session on
free ports, redis-py clients for each, and the byte-exact oracle that sends the same commands to
both and compares the raw replies.

The oracle tests need ``redis-server`` on PATH. When it is missing they fail (they do not skip):
CI installs it, and a test run without it must not look green.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import hiredis
import pytest
import redis

from zyst.protocol.resp import encode_command

ROOT = Path(__file__).resolve().parent.parent


def stale_compiled_modules() -> list[str]:
    """Modules whose in-place mypyc build (``*.so`` beside the ``.py``, from an editable
    install) is older than the source: Python would import the old compiled code."""
    stale = []
    for compiled in (ROOT / "src" / "zyst").rglob("*.so"):
        source = compiled.with_name(compiled.name.split(".", 1)[0] + ".py")
        if source.exists() and source.stat().st_mtime > compiled.stat().st_mtime:
            stale.append(str(source.relative_to(ROOT)))
    return stale


def pytest_sessionstart(session: pytest.Session) -> None:
    stale = stale_compiled_modules()
    if stale:
        pytest.exit(
            "compiled modules are older than their source, the tests would run old code: "
            + ", ".join(stale)
            + " (run `pip install -e '.[test]'` again, or delete src/**/*.so to test the "
            "plain-Python code)",
            returncode=3,
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"server on port {port} did not start:\n{log.read_text()}")


class ServerProcess:
    """A server process on a port, with its data directory and log file."""

    def __init__(self, argv: list[str], port: int, workdir: Path) -> None:
        self.port = port
        self.dir = workdir
        self.log = workdir / "server.log"
        self.argv = argv
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ServerProcess:
        env = dict(os.environ)
        env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT, env=env)
        wait_for_port(self.port, self.proc, self.log)
        return self

    def kill(self) -> None:
        """SIGKILL: no chance to flush or clean up (a crash)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def zyst_process(workdir: Path, *extra: str, port: int | None = None) -> ServerProcess:
    """A Zyst server (not yet started) on a free port with its data in ``workdir``."""
    port = port or free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "zyst", "--port", str(port), "--dir", str(workdir), *extra]
    return ServerProcess(argv, port, workdir)


def redis_process(workdir: Path, *extra: str) -> ServerProcess:
    """A real redis-server (not yet started): the oracle. Fails when redis-server is missing."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail(
            "redis-server is not installed: the oracle tests cannot run "
            "(apt-get install redis-server)"
        )
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    argv = [
        binary,
        "--port",
        str(port),
        "--dir",
        str(workdir),
        "--save",
        "",
        "--appendonly",
        "no",
        "--bind",
        "127.0.0.1",
        *extra,
    ]
    return ServerProcess(argv, port, workdir)


@pytest.fixture(scope="session")
def zyst_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = zyst_process(tmp_path_factory.mktemp("zyst"), "--appendonly", "no").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = redis_process(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
def r(zyst_server: ServerProcess) -> Iterator[redis.Redis]:
    """A redis-py client (RESP2, bytes replies) on a flushed Zyst."""
    client = redis.Redis(port=zyst_server.port, protocol=2, socket_timeout=10)
    client.flushall()
    yield client
    client.close()


@pytest.fixture
def r3(zyst_server: ServerProcess) -> Iterator[redis.Redis]:
    """A redis-py client speaking RESP3 on a flushed Zyst."""
    client = redis.Redis(port=zyst_server.port, protocol=3, socket_timeout=10)
    client.flushall()
    yield client
    client.close()


class RawConnection:
    """A socket that sends commands and returns each reply's raw bytes, exactly as received."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read_reply(self) -> bytes:
        """The bytes of one whole reply (the server sends nothing unasked)."""
        reader = hiredis.Reader()
        raw = b""
        while True:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"connection closed; got so far: {raw!r}")
            raw += chunk
            reader.feed(chunk)
            if reader.gets() is not False:
                return raw

    def command(self, *args: bytes | str | int) -> bytes:
        argv = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        self.send_raw(encode_command(argv))
        return self.read_reply()

    def close(self) -> None:
        self.sock.close()


class Oracle:
    """Sends the same command to Zyst and to real Redis and compares the raw reply bytes."""

    def __init__(self, zyst_port: int, redis_port: int) -> None:
        self.zyst = RawConnection(zyst_port)
        self.redis = RawConnection(redis_port)

    def run(self, *args: bytes | str | int) -> tuple[bytes, bytes]:
        return self.zyst.command(*args), self.redis.command(*args)

    def check(self, *args: bytes | str | int) -> bytes:
        """Assert both servers answer ``args`` with the same bytes; return the reply."""
        ours, theirs = self.run(*args)
        assert ours == theirs, f"{args!r}: zyst {ours!r} != redis {theirs!r}"
        return ours

    def check_all(self, *commands: tuple[bytes | str | int, ...]) -> list[bytes]:
        return [self.check(*command) for command in commands]

    def close(self) -> None:
        self.zyst.close()
        self.redis.close()


@pytest.fixture
def oracle(zyst_server: ServerProcess, redis_server: ServerProcess) -> Iterator[Oracle]:
    """Both servers flushed, one connection to each, RESP2 (send HELLO 3 through it for RESP3)."""
    o = Oracle(zyst_server.port, redis_server.port)
    o.check("FLUSHALL")
    yield o
    o.close()
