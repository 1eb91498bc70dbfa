"""The pytest plugin: a Zyst server for the test session and redis-py clients of it.

Loaded by pytest through the ``pytest11`` entry point wherever Zyst is installed, so it must cost
nothing until a test asks for one of its fixtures: no server, no redis-py import, no work per
test except in :func:`pytest_generate_tests`'s one membership check.

Fixtures (all named ``zyst_*``):

- ``zyst_server`` (session): a started :class:`zyst.testing.embedded.Server`; with pytest-xdist
  each worker is a session of its own, so each gets its own server.
- ``zyst_url`` (function): the URL of this test's database, made empty for the test (see
  isolation below). Every client fixture depends on it.
- ``zyst_client``: a ``redis.Redis`` of that database; ``zyst_async_client``: a
  ``redis.asyncio.Redis`` (needs pytest-asyncio). RESP2 unless ``--zyst-protocol 3``.
- ``zyst_redis_server`` (session): a real ``redis-server`` (on a Unix socket, nothing saved).
- ``zyst_and_redis_client``: the test runs twice, on Zyst and on redis-server (ids ``zyst`` and
  ``redis``); once, on Zyst, when no redis-server is installed.

Isolation (``--zyst-isolation`` / ini ``zyst_isolation``): ``flushall`` (default) empties the
server before each test; ``db`` gives each test a database of its own in turn (flushed before
use, the others keep what the tests left); ``none`` does nothing.
"""

from __future__ import annotations

import itertools
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import redis
    import redis.asyncio

    from zyst.testing.embedded import Mode, Server, SettingValue

try:
    import pytest_asyncio

    _ASYNC_FIXTURES = True
except ImportError:  # then the async client fixture says what it needs when used
    _ASYNC_FIXTURES = False

_ISOLATIONS = ("flushall", "db", "none")
# Databases a server gets under the `db` isolation: tests take them in turn.
_DB_COUNT = 64
_REDIS_START_DEADLINE = 60.0


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("zyst", "Zyst server for tests (zyst.testing)")
    options = [
        ("mode", "thread", "run the server in a 'thread' of the test process or a 'subprocess'"),
        ("protocol", "2", "RESP version of the client fixtures: 2 or 3"),
        ("isolation", "flushall", "between tests: 'flushall', 'db' (one per test) or 'none'"),
        ("redis-server", "redis-server", "the redis-server binary zyst_and_redis_* compare with"),
    ]
    for name, default, text in options:
        ini = "zyst_" + name.replace("-", "_")
        group.addoption(f"--zyst-{name}", dest=ini, default=None, help=f"{text} (ini {ini})")
        parser.addini(ini, f"{text} (default {default})", default=default)
    group.addoption(
        "--zyst-setting",
        dest="zyst_settings",
        action="append",
        default=None,
        metavar="'NAME VALUE...'",
        help="a server setting in redis.conf syntax, repeatable (ini zyst_settings: one a line)",
    )
    parser.addini("zyst_settings", "server settings, one 'name value...' a line", type="linelist")


def _option(config: pytest.Config, name: str) -> str:
    value = config.getoption(name)
    return str(value if value is not None else config.getini(name))


def _settings(config: pytest.Config) -> dict[str, list[str]]:
    lines: list[str] = config.getoption("zyst_settings") or config.getini("zyst_settings")
    settings: dict[str, list[str]] = {}
    for line in lines:
        name, *values = line.split()
        settings[name] = values or [""]
    return settings


def _protocol(config: pytest.Config) -> int:
    protocol = _option(config, "zyst_protocol")
    if protocol not in ("2", "3"):
        raise pytest.UsageError(f"--zyst-protocol must be 2 or 3, not {protocol!r}")
    return int(protocol)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "zyst_and_redis_client" not in metafunc.fixturenames:
        return
    backends = ["zyst"]
    if shutil.which(_option(metafunc.config, "zyst_redis_server")):
        backends.append("redis")
    metafunc.parametrize("zyst_and_redis_client", backends, indirect=True)


@pytest.fixture(scope="session")
def zyst_server(pytestconfig: pytest.Config) -> Iterator[Server]:
    """A Zyst server for the session (one per xdist worker), stopped at its end."""
    from zyst.testing.embedded import Server

    modes: dict[str, Mode] = {"thread": "thread", "subprocess": "subprocess"}
    mode = modes.get(_option(pytestconfig, "zyst_mode"))
    if mode is None:
        raise pytest.UsageError("--zyst-mode must be thread or subprocess")
    isolation = _option(pytestconfig, "zyst_isolation")
    if isolation not in _ISOLATIONS:
        raise pytest.UsageError(f"--zyst-isolation must be one of {_ISOLATIONS}, not {isolation!r}")
    settings: dict[str, SettingValue] = {"databases": _DB_COUNT} if isolation == "db" else {}
    settings.update(_settings(pytestconfig))
    server = Server(mode=mode, settings=settings)
    with server:
        yield server


class _Isolation:
    """Empties what the next test will use: the whole server, or the next database."""

    def __init__(self, server: Server, how: str) -> None:
        self.how = how
        self.databases = itertools.cycle(range(_DB_COUNT))
        # One connection, kept for the session (SELECT must stick to it).
        self.admin = server.client(single_connection_client=True) if how != "none" else None

    def next_db(self) -> int:
        if self.admin is None:
            return 0
        if self.how == "flushall":
            self.admin.flushall()
            return 0
        db = next(self.databases)
        self.admin.select(db)
        self.admin.flushdb()
        return db

    def close(self) -> None:
        if self.admin is not None:
            self.admin.close()


@pytest.fixture(scope="session")
def _zyst_isolation(zyst_server: Server, pytestconfig: pytest.Config) -> Iterator[_Isolation]:
    isolation = _Isolation(zyst_server, _option(pytestconfig, "zyst_isolation"))
    yield isolation
    isolation.close()


@pytest.fixture
def zyst_url(zyst_server: Server, _zyst_isolation: _Isolation) -> str:
    """``redis://127.0.0.1:PORT/DB``: this test's database, empty when the test starts."""
    return f"{zyst_server.url}/{_zyst_isolation.next_db()}"


@pytest.fixture
def zyst_client(zyst_url: str, pytestconfig: pytest.Config) -> Iterator[redis.Redis]:
    """A redis-py client of this test's database (RESP2, or 3 with ``--zyst-protocol 3``)."""
    import redis

    client = redis.Redis.from_url(zyst_url, protocol=_protocol(pytestconfig))
    yield client
    client.close()


if _ASYNC_FIXTURES:

    @pytest_asyncio.fixture
    async def zyst_async_client(
        zyst_url: str, pytestconfig: pytest.Config
    ) -> AsyncIterator[redis.asyncio.Redis]:
        """A redis-py asyncio client of this test's database (pytest-asyncio runs it)."""
        import redis.asyncio

        client = redis.asyncio.Redis.from_url(zyst_url, protocol=_protocol(pytestconfig))
        yield client
        await client.aclose()

else:

    @pytest.fixture
    def zyst_async_client() -> None:
        """Needs pytest-asyncio (``pip install pytest-asyncio``)."""
        pytest.fail(
            "the zyst_async_client fixture needs pytest-asyncio (pip install pytest-asyncio)"
        )


class RedisServer:
    """A real redis-server on a Unix socket in a temporary directory, saving nothing."""

    def __init__(self, binary: str) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="zyst-redis-"))
        self.unixsocket = str(self.dir / "redis.sock")
        self.url = f"unix://{self.unixsocket}"
        self.log_path = self.dir / "redis.log"
        argv = [binary, "--port", "0", "--unixsocket", self.unixsocket, "--dir", str(self.dir)]
        argv += ["--save", "", "--appendonly", "no", "--logfile", str(self.log_path)]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL)

    def wait(self) -> None:
        deadline = time.monotonic() + _REDIS_START_DEADLINE
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited: {self._log()}")
            try:
                with socket.socket(socket.AF_UNIX) as sock:
                    sock.connect(self.unixsocket)
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start: {self._log()}") from None
                time.sleep(0.01)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"


@pytest.fixture(scope="session")
def zyst_redis_server(pytestconfig: pytest.Config) -> Iterator[RedisServer]:
    """A real redis-server for the session (fails when the binary is missing)."""
    binary = shutil.which(_option(pytestconfig, "zyst_redis_server"))
    if binary is None:
        pytest.fail("redis-server is not installed (or give its path: --zyst-redis-server)")
    server = RedisServer(binary)
    try:
        server.wait()
        yield server
    finally:
        server.stop()


@pytest.fixture
def zyst_and_redis_client(
    request: pytest.FixtureRequest, pytestconfig: pytest.Config
) -> Iterator[redis.Redis]:
    """A redis-py client of Zyst (id ``zyst``), then of redis-server (id ``redis``): the test
    runs on each; on Zyst alone when redis-server is not installed."""
    import redis

    backend = getattr(request, "param", "zyst")
    if backend == "redis":
        url = request.getfixturevalue("zyst_redis_server").url
        client = redis.Redis.from_url(url, protocol=_protocol(pytestconfig))
        client.flushall()
    else:
        url = request.getfixturevalue("zyst_url")
        client = redis.Redis.from_url(url, protocol=_protocol(pytestconfig))
    yield client
    client.close()
