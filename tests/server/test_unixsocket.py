"""The Unix socket: ``unixsocket`` and ``unixsocketperm``, redis-cli -s and redis-py over it, how
CLIENT LIST and MONITOR name its clients, the file's permissions, its removal at shutdown, and
the reasons for refusing to start; each compared with redis-server given the same settings."""

from __future__ import annotations

import os
import re
import socket
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.conftest import (
    RawConnection,
    ServerProcess,
    free_port,
    redis_process,
    wait_until,
    zyst_process,
)
from tests.server.test_startup import log_messages, run_zyst


def start(kind: str, workdir: Path, *extra: str) -> tuple[ServerProcess, Path]:
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / f"{kind}.sock"
    args = ["--unixsocket", str(path), "--unixsocketperm", "700", *extra]
    if kind == "zyst":
        process = zyst_process(workdir, "--appendonly", "no", "--save", "", *args)
    else:
        process = redis_process(workdir, *args)
    return process.start(), path


@pytest.fixture(scope="module")
def servers(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, tuple[ServerProcess, Path]]]:
    started: dict[str, tuple[ServerProcess, Path]] = {}
    try:
        for kind in ("zyst", "redis"):
            started[kind] = start(
                kind, tmp_path_factory.mktemp(f"unix-{kind}"), "--enable-debug-command", "local"
            )
        yield started
    finally:
        for process, _ in started.values():
            process.stop()


def over_unix(path: Path) -> redis.Redis:
    return redis.Redis(unix_socket_path=str(path), socket_timeout=10)


def test_redis_cli_and_redis_py_over_the_unix_socket(
    servers: dict[str, tuple[ServerProcess, Path]],
) -> None:
    process, path = servers["zyst"]
    out = subprocess.run(
        ["redis-cli", "-s", str(path), "SET", "unix:key", "via the socket"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert (out.returncode, out.stdout) == (0, "OK\n")
    client = over_unix(path)
    tcp = redis.Redis(port=process.port, socket_timeout=10)
    try:
        assert client.get("unix:key") == b"via the socket"
        pipe = client.pipeline(transaction=False)
        for i in range(1000):
            pipe.rpush("unix:list", i)
        pipe.lrange("unix:list", 0, -1)
        *_, items = pipe.execute()
        assert items == [str(i).encode() for i in range(1000)]
        assert tcp.llen("unix:list") == 1000
    finally:
        client.close()
        tcp.close()


def test_unix_clients_in_client_list_and_monitor_like_redis(
    servers: dict[str, tuple[ServerProcess, Path]],
) -> None:
    seen = {}
    for kind, (_, path) in servers.items():
        client = over_unix(path)
        try:
            info = client.client_info()
            # DEBUG under enable-debug-command local: a Unix client is local.
            debug = client.execute_command("DEBUG", "SLEEP", "0")
            with client.monitor() as monitor:
                other = over_unix(path)
                other.echo("seen")
                other.close()
                line = ""
                for event in monitor.listen():
                    if event["command"] == "ECHO seen":
                        line = event["client_address"] + " " + event["client_type"]
                        break
        finally:
            client.close()
        shown = str(path)
        seen[kind] = (
            info["addr"].replace(shown, "PATH"),
            info["laddr"].replace(shown, "PATH"),
            info["flags"],
            debug,
            line.replace(shown, "PATH"),
        )
    assert seen["zyst"] == seen["redis"]
    assert seen["zyst"][:3] == ("PATH:0", "PATH:0", "U")


def test_socket_file_permissions_and_config_get_like_redis(
    servers: dict[str, tuple[ServerProcess, Path]],
) -> None:
    got = {}
    for kind, (process, path) in servers.items():
        client = redis.Redis(port=process.port, socket_timeout=10)
        config = client.config_get("unix*")
        client.close()
        assert config.pop("unixsocket") == str(path)
        got[kind] = (stat.S_IMODE(os.stat(path).st_mode), stat.S_ISSOCK(os.stat(path).st_mode))
        got[kind] += tuple(sorted(config.items()))
    assert got["zyst"] == got["redis"] == (0o700, True, ("unixsocketperm", "700"))


def test_socket_removed_at_shutdown_and_a_stale_file_replaced(tmp_path: Path) -> None:
    for kind in ("zyst", "redis"):
        workdir = tmp_path / kind
        workdir.mkdir()
        (workdir / f"{kind}.sock").write_text("left behind")
        process, path = start(kind, workdir)
        try:
            assert stat.S_ISSOCK(os.stat(path).st_mode)
            assert over_unix(path).ping()
        finally:
            process.stop()
        assert not path.exists(), kind


@pytest.mark.parametrize("perm", ["999", "1000", "-1", "7o7"])
def test_bad_unixsocketperm_stops_the_start_like_redis(tmp_path: Path, perm: str) -> None:
    port = str(free_port())
    ours = run_zyst("--port", port, "--dir", str(tmp_path), "--unixsocketperm", perm)
    oracle = redis_process(tmp_path / "redis", "--unixsocketperm", perm)
    theirs = subprocess.run(oracle.argv, capture_output=True, text=True, timeout=30, check=False)
    assert ours.returncode == theirs.returncode == 1
    # Both end their report with Redis's reason.
    assert ours.stderr.strip().splitlines()[-1] == theirs.stderr.strip().splitlines()[-1]


def test_unixsocketperm_octal_forms_like_redis(tmp_path: Path) -> None:
    shown = {}
    for kind in ("zyst", "redis"):
        workdir = tmp_path / kind
        workdir.mkdir()
        args = ["--unixsocketperm", "0770"]
        if kind == "zyst":
            process = zyst_process(workdir, "--appendonly", "no", *args).start()
        else:
            process = redis_process(workdir, *args).start()
        try:
            client = redis.Redis(port=process.port, socket_timeout=10)
            shown[kind] = client.config_get("unixsocketperm")
            client.close()
        finally:
            process.stop()
    assert shown["zyst"] == shown["redis"] == {"unixsocketperm": "770"}


def test_unix_socket_path_too_long_like_redis(tmp_path: Path) -> None:
    path = str(tmp_path / ("s" * 120))
    port = str(free_port())
    ours = run_zyst("--port", port, "--dir", str(tmp_path), "--unixsocket", path)
    oracle = redis_process(tmp_path / "redis", "--unixsocket", path)
    theirs = subprocess.run(oracle.argv, capture_output=True, text=True, timeout=30, check=False)
    assert ours.returncode == theirs.returncode == 1
    assert log_messages(ours.stdout)[-1] == log_messages(theirs.stdout)[-1]
    assert log_messages(ours.stdout)[-1].startswith("Failed opening Unix socket: unix socket path")


def test_a_unix_client_gone_is_forgotten(servers: dict[str, tuple[ServerProcess, Path]]) -> None:
    process, path = servers["zyst"]
    client = over_unix(path)
    client.client_setname("leaving")
    client.close()
    tcp = redis.Redis(port=process.port, socket_timeout=10)
    wait_until(
        lambda: all(c["name"] != "leaving" for c in tcp.client_list()), "the client to go away"
    )
    tcp.close()


def test_a_unix_client_during_a_busy_script_like_redis(tmp_path: Path) -> None:
    """A client that connects on the Unix socket while a script is busy is served meanwhile
    (-BUSY, SCRIPT KILL) and goes on once the script ends, as in Redis."""
    seen = {}
    for kind in ("zyst", "redis"):
        process, path = start(kind, tmp_path / kind, "--lua-time-limit", "10")
        try:
            with RawConnection(process.port) as runner, RawConnection(process.port) as probe:
                # Both set up before the script starts (see tests/oracle/test_busy_script_oracle).
                assert probe.command("PING") == runner.command("PING") == b"+PONG\r\n"
                runner.send_raw(b"EVAL 'while true do end' 0\r\n")
                wait_until(lambda: probe.command("PING").startswith(b"-BUSY"), "a busy script")
                with socket.socket(socket.AF_UNIX) as unix:
                    unix.settimeout(30)
                    unix.connect(str(path))
                    replies = []
                    for command in (b"PING\r\n", b"SCRIPT KILL\r\n"):
                        unix.sendall(command)
                        replies.append(unix.recv(1000).split(b" ")[0])
                    assert runner.read_reply().startswith(b"-ERR Script killed")
                    unix.sendall(b"CLIENT INFO\r\n")
                    info = unix.recv(1000)
                    replies.append(re.search(rb"flags=(\w+)", info).group(1))  # type: ignore[union-attr]
                seen[kind] = replies
        finally:
            process.stop()
    assert seen["zyst"] == seen["redis"] == [b"-BUSY", b"+OK\r\n", b"U"]


def test_a_server_on_the_unix_socket_alone(tmp_path: Path) -> None:
    """``bind ""`` (no TCP address) with a Unix socket: the server listens there only."""
    path = tmp_path / "only.sock"
    process = zyst_process(tmp_path, "--appendonly", "no", "--bind", "", "--unixsocket", str(path))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    with (tmp_path / "server.log").open("ab") as log:
        proc = subprocess.Popen(process.argv, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:

        def answers() -> bool:
            assert proc.poll() is None, (tmp_path / "server.log").read_text()
            try:
                return bool(over_unix(path).ping())
            except redis.ConnectionError:
                return False

        wait_until(answers, "the server on its Unix socket")
        with pytest.raises(redis.ConnectionError):
            redis.Redis(port=process.port, socket_timeout=10).ping()
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) == 0
    assert not path.exists()
