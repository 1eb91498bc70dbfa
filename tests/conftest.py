"""Shared fixtures: a Zyst server and a real redis-server, both started for the test session on
free ports, redis-py clients for each, and the byte-exact oracle that sends the same commands to
both and compares the raw replies.

The oracle tests need ``redis-server`` on PATH. When it is missing they fail (they do not skip):
CI installs it, and a test run without it must not look green.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Self

import hiredis
import pytest
import redis

from zyst.protocol.resp import encode_command

ROOT = Path(__file__).resolve().parent.parent


def stale_compiled_modules() -> list[str]:
    """Modules whose in-place build (``*.so`` beside the ``.py`` mypyc compiled, or the ``.c``
    of a C extension, from an editable install) is older than the source: Python would import
    the old compiled code."""
    stale = []
    for compiled in (ROOT / "src" / "zyst").rglob("*.so"):
        stem = compiled.name.split(".", 1)[0]
        for source in (compiled.with_name(stem + ".py"), compiled.with_name(stem + ".c")):
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


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    """Poll until ``condition()`` holds. The deadline only stops a hung test: nothing is
    asserted about how long it took."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


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
        # Run in the child before the server starts (a resource limit, say).
        self.preexec: Callable[[], None] | None = None

    def start(self) -> Self:
        """Start the process and wait until it accepts connections; a process that does not
        come up is killed before the error is raised, so nothing outlives a failed start."""
        env = dict(os.environ)
        env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                self.argv, stdout=log, stderr=subprocess.STDOUT, env=env, preexec_fn=self.preexec
            )
        _running.add(self)
        try:
            wait_for_port(self.port, self.proc, self.log)
        except BaseException:
            self.kill()
            raise
        return self

    def __enter__(self) -> Self:
        """``with zyst_process(...) as server:`` starts the server and stops it however the
        block ends (a test that killed it already is fine: stopping a dead process is a no-op)."""
        return self if self.proc is not None and self.proc.poll() is None else self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def kill(self) -> None:
        """SIGKILL: no chance to flush or clean up (a crash)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        _running.discard(self)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        _running.discard(self)


# Every server started and not yet stopped: the session's last line of defence (see
# pytest_sessionfinish) should a test leave one behind despite its try/finally.
_running: set[ServerProcess] = set()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    for server in list(_running):
        server.kill()


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


APPEND_ALWAYS = ("--appendonly", "yes", "--appendfsync", "always")


def aof_files(data_dir: Path, incr_only: bool = False) -> list[Path]:
    """The live files of the AOF directory in ``data_dir`` (Zyst's or Redis 7's
    ``appendonlydir``), in load order: the base, then the incremental files."""
    from zyst.persistence.manifest import parse

    directory = data_dir / "appendonlydir"
    current = parse((directory / "appendonly.aof.manifest").read_bytes())
    files = current.incrs if incr_only else current.live_files()
    return [directory / info.name for info in files]


def aof_incr_bytes(data_dir: Path) -> bytes:
    """The commands appended to the AOF in ``data_dir`` since its base: its incremental files,
    one after the other (what a single-file AOF held after its start)."""
    return b"".join(path.read_bytes() for path in aof_files(data_dir, incr_only=True))


# The session's servers accept DEBUG (SLEEP, OBJECT) from the tests' loopback connections.
DEBUG_LOCAL = ("--enable-debug-command", "local")


@contextlib.contextmanager
def aof_pair(workdir: Path) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Zyst (in ``workdir/zyst``) and redis-server (in ``workdir/redis``), both running with an
    AOF under ``appendfsync always``; Redis's without an RDB preamble, so that both files hold
    commands that can be compared byte for byte."""
    with (
        zyst_process(workdir / "zyst", *APPEND_ALWAYS) as zyst,
        redis_process(workdir / "redis", *APPEND_ALWAYS, "--aof-use-rdb-preamble", "no") as real,
    ):
        yield zyst, real


@pytest.fixture(scope="session")
def zyst_proc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    # No save schedule, as the redis-server oracle's: no snapshot forked in the middle of tests.
    with zyst_process(
        tmp_path_factory.mktemp("zyst"), "--appendonly", "no", "--save", "", *DEBUG_LOCAL
    ) as server:
        yield server


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with redis_process(tmp_path_factory.mktemp("redis"), *DEBUG_LOCAL) as server:
        yield server


@pytest.fixture
def r(zyst_proc: ServerProcess) -> Iterator[redis.Redis]:
    """A redis-py client (RESP2, bytes replies) on a flushed Zyst."""
    client = redis.Redis(port=zyst_proc.port, protocol=2, socket_timeout=10)
    client.flushall()
    yield client
    client.close()


@pytest.fixture
def r3(zyst_proc: ServerProcess) -> Iterator[redis.Redis]:
    """A redis-py client speaking RESP3 on a flushed Zyst."""
    client = redis.Redis(port=zyst_proc.port, protocol=3, socket_timeout=10)
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
        self.send_raw(encode_command(as_argv(args)))
        return self.read_reply()

    def pipeline(self, commands: Sequence[Sequence[bytes | str | int]]) -> list[bytes]:
        """Send every command in one write, then return the raw bytes of each reply, in order."""
        self.send_raw(b"".join(encode_command(as_argv(args)) for args in commands))
        return self.read_replies(len(commands))

    def read_replies(self, count: int) -> list[bytes]:
        """Exactly the next ``count`` whole replies (or pushes), however the bytes arrive;
        fails on any byte beyond them."""
        raw = b""
        while True:
            replies = split_replies(raw, count)
            if replies is not None:
                return replies
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError(f"connection closed; got so far: {raw!r}")
            raw += chunk

    def read_until_closed(self) -> bytes:
        """Everything the server sends until it closes the connection (or resets it)."""
        received = b""
        while True:
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                return received
            if not chunk:
                return received
            received += chunk

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def as_argv(args: Sequence[bytes | str | int]) -> list[bytes]:
    return [a if isinstance(a, bytes) else str(a).encode() for a in args]


def split_replies(raw: bytes, count: int) -> list[bytes] | None:
    """``raw`` cut into ``count`` whole RESP2/RESP3 replies, or ``None`` until that many have
    arrived. Raises if more bytes than that arrived (the server sent something unasked)."""
    replies = []
    pos = 0
    for _ in range(count):
        end = _reply_end(raw, pos)
        if end is None:
            return None
        replies.append(raw[pos:end])
        pos = end
    if pos != len(raw):
        raise AssertionError(f"bytes after {count} replies: {raw[pos:]!r}")
    return replies


def _reply_end(raw: bytes, pos: int) -> int | None:
    """Where the reply starting at ``pos`` ends, ``None`` if it is not all there yet."""
    line_end = raw.find(b"\r\n", pos)
    if line_end < 0:
        return None
    kind = raw[pos : pos + 1]
    after = line_end + 2
    if kind in (b"$", b"=", b"!"):  # blob string, verbatim string, blob error
        size = int(raw[pos + 1 : line_end])
        end = after if size < 0 else after + size + 2
        return end if len(raw) >= end else None
    if kind in (b"*", b"~", b">", b"%", b"|"):  # aggregates; a map or attribute holds pairs
        size = int(raw[pos + 1 : line_end])
        elements = size * 2 if kind in (b"%", b"|") else size
        if kind == b"|":  # an attribute comes before the reply it describes
            elements += 1
        for _ in range(max(elements, 0)):
            next_pos = _reply_end(raw, after)
            if next_pos is None:
                return None
            after = next_pos
        return after
    return after  # a one-line reply: + - : _ , # (


Args = tuple[bytes | str | int, ...]


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

    def run_many(
        self, commands: Sequence[Sequence[bytes | str | int]]
    ) -> tuple[list[bytes], list[bytes]]:
        """Pipeline ``commands`` to both servers; each one's raw replies, in order."""
        return self.zyst.pipeline(commands), self.redis.pipeline(commands)

    def check_many(self, commands: Sequence[Sequence[bytes | str | int]]) -> list[bytes]:
        """Pipeline ``commands`` to both servers and assert every reply is the same bytes."""
        ours, theirs = self.run_many(commands)
        for args, mine, redis_reply in zip(commands, ours, theirs, strict=True):
            assert mine == redis_reply, f"{tuple(args)!r}: zyst {mine!r} != redis {redis_reply!r}"
        return ours

    def close(self) -> None:
        self.zyst.close()
        self.redis.close()


class Pair:
    """One connection to Zyst and one to redis-server (an :class:`Oracle`'s), driven alike:
    the same bytes sent to both, the replies compared."""

    def __init__(self, oracle: Oracle) -> None:
        self.zyst = oracle.zyst
        self.redis = oracle.redis

    def send(self, *commands: Args) -> None:
        data = b"".join(encode_command(as_argv(command)) for command in commands)
        self.zyst.send_raw(data)
        self.redis.send_raw(data)

    def read(self, count: int) -> list[bytes]:
        """``count`` replies from each side, which must be the same bytes."""
        ours = self.zyst.read_replies(count)
        theirs = self.redis.read_replies(count)
        assert ours == theirs, f"zyst {ours!r} != redis {theirs!r}"
        return ours

    def check(self, *commands: Args, replies: int | None = None) -> list[bytes]:
        """Send ``commands`` in one write and compare the ``replies`` that come back (by
        default one per command)."""
        self.send(*commands)
        return self.read(len(commands) if replies is None else replies)

    def read_unordered(self, count: int) -> list[bytes]:
        """``count`` replies from each side, equal once sorted (a hash table's order)."""
        ours = self.zyst.read_replies(count)
        theirs = self.redis.read_replies(count)
        assert sorted(ours) == sorted(theirs), f"zyst {ours!r} != redis {theirs!r}"
        return ours


def check_sequence(
    oracle: Oracle, commands: Sequence[Sequence[bytes | str | int]], expected: dict[int, bytes]
) -> None:
    """Every reply the same bytes on both servers; ``expected`` pins some of them (by
    position), so a test cannot pass by both servers failing the same way."""
    replies = [oracle.check(*command) for command in commands]
    for position, reply in expected.items():
        assert replies[position] == reply, (commands[position], replies[position])


@pytest.fixture
def small_bulk_limit(oracle: Oracle) -> Iterator[Oracle]:
    """Both servers with proto-max-bulk-len at its floor, 1 MiB, restored afterwards."""
    oracle.check("CONFIG", "SET", "proto-max-bulk-len", "1048576")
    try:
        yield oracle
    finally:
        oracle.check("CONFIG", "SET", "proto-max-bulk-len", "536870912")


def check_keyspace_traffic(
    oracle: Oracle, traffic: Sequence[tuple[Sequence[bytes | str | int], tuple[int, int]]]
) -> None:
    """Run each command of ``traffic`` on both servers (replies compared) and check, after
    each, that INFO's keyspace_hits and keyspace_misses moved by the (hits, misses) given,
    on both."""
    oracle.check("CONFIG", "RESETSTAT")
    hits = misses = 0
    for command, (add_hits, add_misses) in traffic:
        oracle.check(*command)
        hits += add_hits
        misses += add_misses
        for reply in oracle.run("INFO", "stats"):
            fields = dict(
                line.split(":", 1) for line in reply.decode().split("\r\n") if ":" in line
            )
            assert (fields["keyspace_hits"], fields["keyspace_misses"]) == (
                str(hits),
                str(misses),
            ), command


@pytest.fixture
def oracle(zyst_proc: ServerProcess, redis_server: ServerProcess) -> Iterator[Oracle]:
    """Both servers flushed, one connection to each, RESP2 (send HELLO 3 through it for RESP3)."""
    o = Oracle(zyst_proc.port, redis_server.port)
    o.check("FLUSHALL")
    yield o
    o.close()


def parse_reply(raw: bytes) -> Any:
    """One raw reply decoded by hiredis (lists, bytes, ints; an error reply as an exception)."""
    reader = hiredis.Reader()
    reader.feed(raw)
    return reader.gets()


def reply_header(raw: bytes) -> bytes:
    """The first line of a reply: its type and length (``*3``, ``~0``, ``$1``)."""
    return raw[: raw.index(b"\r\n")]


def hello3(oracle: Oracle) -> None:
    """Switch both connections to RESP3. HELLO's reply carries each server's own version and
    client id, so only its shape is compared."""
    ours, theirs = oracle.run("HELLO", "3")
    assert ours.startswith(b"%") and theirs.startswith(b"%"), (ours, theirs)
    assert b"proto\r\n:3\r\n" in ours and b"proto\r\n:3\r\n" in theirs


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def o(request: pytest.FixtureRequest, oracle: Oracle) -> Oracle:
    """The oracle, in RESP2 or RESP3."""
    if request.param == 3:
        hello3(oracle)
    return oracle
