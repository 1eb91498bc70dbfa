"""Starting Zyst the way an operator starts Redis: Debian's stock /etc/redis/redis.conf
unchanged (daemonized, with its pid file), under systemd's and upstart's supervision, and
changing ``loglevel`` at run time.

Debian's file is installed with redis-server (CI installs it, as for the oracle tests); the
test fails, not skips, without it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.conftest import free_port, wait_for_port, wait_until, zyst_process
from tests.server.test_startup import (
    gone,
    log_messages,
    no_daemon_left,
    run_zyst,
    wait_for_pid,
    zyst_env,
)

DEBIAN_CONF = Path("/etc/redis/redis.conf")


def test_debians_stock_redis_conf_starts_zyst(tmp_path: Path) -> None:
    if not DEBIAN_CONF.is_file():
        pytest.fail(f"{DEBIAN_CONF} is missing: apt-get install redis-server")
    port = free_port()
    pidfile = tmp_path / "zyst.pid"
    log = tmp_path / "zyst.log"
    # The file is used as installed. Overridden on the command line, as a test must: the port
    # (a free one), and the three paths that belong to the system's own redis-server (its data
    # directory, log file and pid file). daemonize yes stays: the server detaches.
    with no_daemon_left(pidfile):
        parent = run_zyst(
            str(DEBIAN_CONF),
            *("--port", str(port), "--dir", str(tmp_path)),
            *("--logfile", str(log), "--pidfile", str(pidfile)),
        )
        assert parent.returncode == 0, parent.stderr
        assert parent.stdout == parent.stderr == ""
        pid = wait_for_pid(pidfile)
        client = redis.Redis(port=port, socket_timeout=10)
        assert client.ping()
        info = client.info("server")
        assert info["process_id"] == pid
        assert info["config_file"] == str(DEBIAN_CONF)
        assert client.config_get("daemonize") == {"daemonize": "yes"}
        assert client.config_get("appendonly") == {"appendonly": "no"}  # as the file says
        client.close()
        messages = log_messages(log.read_text())
        ignored = [m for m in messages if m.startswith("Accepted and ignored")]
        assert len(ignored) == 1
        listed = ignored[0].split(": ", 1)[1].split(", ")
        assert {"always-show-logo", "oom-score-adj-values", "jemalloc-bg-thread"} <= set(listed)
        assert len(listed) == len(set(listed))
        os.kill(pid, signal.SIGTERM)
        wait_until(lambda: gone(pid), "the daemon to exit")
        assert not pidfile.exists()


@pytest.fixture
def notify_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    """A datagram socket standing in for systemd's, named by $NOTIFY_SOCKET for the servers
    the test starts."""
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(30)
        monkeypatch.setenv("NOTIFY_SOCKET", str(path))
        yield sock


def test_supervised_by_systemd(tmp_path: Path, notify_socket: socket.socket) -> None:
    log = tmp_path / "zyst.log"
    # auto finds systemd from $NOTIFY_SOCKET; supervised, the server stays in the foreground
    # although daemonize says yes (the process started is the server: start() sees it live).
    server = zyst_process(
        tmp_path,
        *("--appendonly", "no", "--save", "", "--logfile", str(log)),
        *("--supervised", "auto", "--daemonize", "yes"),
        # (With or without a syslog daemon on this host: either way the start goes on.)
        *("--syslog-enabled", "yes"),
    )
    with server:
        assert notify_socket.recv(4096) == b"STATUS=Zyst is loading...\n"
        assert notify_socket.recv(4096) == b"STATUS=Ready to accept connections\n"
        assert notify_socket.recv(4096) == b"READY=1\n"
        client = redis.Redis(port=server.port, socket_timeout=10)
        info = client.info("server")
        assert server.proc is not None
        assert info["process_id"] == server.proc.pid
        assert info["process_supervised"] == "systemd"
        # CONFIG SET loglevel applies at once: SAVE's notice is logged, then not, then again.
        client.save()
        client.config_set("loglevel", "warning")
        client.save()
        client.config_set("loglevel", "notice")
        client.save()
        client.close()
        server.stop()
        assert notify_socket.recv(4096) == b"STOPPING=1\n"
    messages = log_messages(log.read_text())
    assert "Supervised by systemd" in " ".join(messages)
    assert "Traceback" not in server.log.read_text()  # (standard output and error)
    assert messages.count("DB saved on disk") == 2


def state(pid: int) -> str:
    """The state letter of process ``pid`` (``T``: stopped by a signal)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        return fh.read().rsplit(")", 1)[1].split()[0]


def test_supervised_by_upstart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPSTART_JOB", "zyst")
    server = zyst_process(tmp_path, "--appendonly", "no", "--save", "", "--supervised", "upstart")
    # Started by hand: start() would wait for a port that opens only after upstart's SIGCONT.
    with server.log.open("ab") as out:
        server.proc = subprocess.Popen(
            server.argv, stdout=out, stderr=subprocess.STDOUT, env=zyst_env()
        )
    proc = server.proc
    try:
        wait_until(lambda: state(proc.pid) == "T", "the server to stop itself")
        os.kill(proc.pid, signal.SIGCONT)
        wait_for_port(server.port, proc, server.log)
        client = redis.Redis(port=server.port, socket_timeout=10)
        assert client.info("server")["process_supervised"] == "upstart"
        client.close()
    finally:
        server.stop()
    assert "supervised by upstart, will stop to signal readiness." in log_messages(
        server.log.read_text()
    )
