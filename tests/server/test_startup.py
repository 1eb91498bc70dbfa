"""The server process as an operator meets it: signals, listening sockets and their backlog,
the daemon and its pid file, and the one-line reasons a server gives when it cannot start.

Each test runs its own Zyst process; where redis-server has a message for the same situation,
the same situation is given to redis-server and the lines compared.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.conftest import ROOT, ServerProcess, free_port, redis_process, wait_until, zyst_process

# An address no host has (RFC 5737 TEST-NET-1): binding it fails with EADDRNOTAVAIL.
ABSENT_ADDRESS = "192.0.2.1"


def zyst_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT / "src")}


def run_zyst(*args: str, timeout: float = 30, **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run ``python -m zyst args`` to its end (for servers that must refuse to start)."""
    return subprocess.run(
        [sys.executable, "-m", "zyst", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=zyst_env(),
        check=False,
        **kwargs,  # type: ignore[call-overload]
    )


def log_messages(output: str) -> list[str]:
    """The messages of Redis-style log lines (``pid:M date time * message``), prefix removed."""
    return re.findall(r"^\d+:[A-Z] .+? \d\d:\d\d:\d\d\.\d{3} [.\-*#] (.*)$", output, re.M)


def ipv6_loopback() -> bool:
    """Whether this host can listen on ::1."""
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


def answers(host: str, port: int) -> bool:
    client = redis.Redis(host=host, port=port, socket_timeout=10)
    try:
        return bool(client.ping())
    finally:
        client.close()


def listen_backlogs(port: int) -> dict[str, int]:
    """Listening address → backlog of every TCP socket listening on ``port``, as the kernel
    reports it (``ss``'s Send-Q column of a listening socket is its backlog)."""
    ss = shutil.which("ss")
    if ss is None:
        pytest.fail("ss is not installed: the backlog tests need it (apt-get install iproute2)")
    out = subprocess.run(
        [ss, "-ltnH", f"sport = :{port}"], capture_output=True, text=True, check=True
    ).stdout
    backlogs = {}
    for line in out.splitlines():
        _state, _queued, backlog, local = line.split()[:4]
        backlogs[local.rsplit(":", 1)[0].strip("[]")] = int(backlog)
    return backlogs


def stopped(proc: subprocess.Popen[bytes]) -> int:
    assert proc.wait(timeout=15) is not None
    return proc.returncode


# -- signals ---------------------------------------------------------------------------------
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_sighup_and_sigpipe_are_ignored_and_sigterm_shuts_down_in_order(
    tmp_path: Path, stop: signal.Signals
) -> None:
    pidfile = tmp_path / "zyst.pid"
    server = zyst_process(tmp_path, "--pidfile", str(pidfile))
    try:
        server.start()
        assert server.proc is not None
        lock = tmp_path / "zyst.lock"
        assert wait_for_pid(pidfile) == server.proc.pid
        for ignored in (signal.SIGHUP, signal.SIGPIPE):
            server.proc.send_signal(ignored)
            # Sent to the process itself: by the time PING answers, the signal was handled.
            assert answers("127.0.0.1", server.port)
            assert server.proc.poll() is None
        assert lock.exists()
        server.proc.send_signal(stop)
        assert stopped(server.proc) == 0
        assert not lock.exists()
        assert not pidfile.exists()
        messages = log_messages(server.log.read_text())
        assert f"Received {stop.name} scheduling shutdown..." in messages
        assert "Removing the pid file." in messages
        assert messages[-2:] == ["Zyst is now ready to exit, bye bye...", "Removing the pid file."]
    finally:
        server.stop()


def test_sigterm_while_loading_shuts_down_in_order(tmp_path: Path) -> None:
    # A snapshot that is a FIFO with no writer: loading blocks in open() until the signal. (An
    # AOF file of size 0 is not even opened: the AOF directory's loader skips empty files.)
    os.mkfifo(tmp_path / "dump.rdb")
    pidfile = tmp_path / "zyst.pid"
    server = zyst_process(tmp_path, "--appendonly", "no", "--pidfile", str(pidfile))
    try:
        # The listening socket is open before loading starts: clients queue in its backlog.
        server.start()
        assert server.proc is not None
        # The pid file is written once the sockets listen, just before loading.
        wait_until(pidfile.exists, "the pid file")
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as waiting:
            waiting.sendall(b"PING\r\n")
            server.proc.send_signal(signal.SIGTERM)
            assert stopped(server.proc) == 0
            # Never served (the server was loading): closed or reset, never answered.
            with contextlib.suppress(ConnectionResetError):
                assert waiting.recv(100) == b""
        assert not (tmp_path / "zyst.lock").exists()
        assert not pidfile.exists()
        messages = log_messages(server.log.read_text())
        assert "Received shutdown signal during loading, scheduling shutdown." in messages
    finally:
        server.stop()


# -- listening sockets -------------------------------------------------------------------------
def test_listen_backlog_is_tcp_backlog_like_redis(tmp_path: Path) -> None:
    zyst = zyst_process(tmp_path / "zyst", "--appendonly", "no")
    oracle = redis_process(tmp_path / "redis")
    try:
        zyst.start()
        oracle.start()
        assert listen_backlogs(oracle.port) == {"127.0.0.1": 511}
        assert listen_backlogs(zyst.port) == {"127.0.0.1": 511}
    finally:
        zyst.stop()
        oracle.stop()


def test_tcp_backlog_applies_to_every_listener_also_after_config_set(tmp_path: Path) -> None:
    server = zyst_process(
        tmp_path, "--appendonly", "no", "--tcp-backlog", "77", "--bind", "127.0.0.1"
    )
    try:
        server.start()
        client = redis.Redis(port=server.port, socket_timeout=10)
        assert client.config_get("tcp-backlog") == {"tcp-backlog": "77"}
        assert listen_backlogs(server.port) == {"127.0.0.1": 77}
        moved = free_port()
        assert client.config_set("port", moved)
        client = redis.Redis(port=moved, socket_timeout=10)
        assert listen_backlogs(moved) == {"127.0.0.1": 77}
        # Adding an address keeps the listener already there and opens one more.
        assert client.config_set("bind", f"127.0.0.1 -::1 -{ABSENT_ADDRESS}")
        expected = {"127.0.0.1": 77, "::1": 77} if ipv6_loopback() else {"127.0.0.1": 77}
        wait_until(lambda: listen_backlogs(moved) == expected, "the new listeners")
        assert client.ping()
        client.close()
    finally:
        server.stop()


def test_address_in_use_names_the_address_and_creates_no_file(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        data = tmp_path / "zyst"
        result = run_zyst("--port", str(port), "--dir", str(data), "--appendonly", "yes")
        oracle = redis_process(tmp_path / "redis", "--port", str(port))
        theirs = subprocess.run(oracle.argv, capture_output=True, text=True, timeout=30)
    lines = [
        f"Warning: Could not create server TCP listening socket 127.0.0.1:{port}: "
        "bind: Address already in use",
        f"Failed listening on port {port} (TCP), aborting.",
    ]
    assert theirs.returncode == 1
    assert log_messages(theirs.stdout)[-2:] == lines
    assert result.returncode == 1
    assert log_messages(result.stdout)[-2:] == lines
    assert "Traceback" not in result.stdout + result.stderr
    assert sorted(path.name for path in data.iterdir()) == []


def test_optional_bind_address_missing_here_is_skipped_like_redis(tmp_path: Path) -> None:
    conf = tmp_path / "zyst.conf"
    # Debian's redis.conf says `bind 127.0.0.1 -::1`: a `-` address may be absent.
    conf.write_text(f"bind 127.0.0.1 -::1 -{ABSENT_ADDRESS}\nappendonly no\n")
    server = zyst_process(tmp_path / "zyst")
    server.argv[3:3] = [str(conf)]  # the file first: `python -m zyst FILE --port ...`
    oracle = redis_process(tmp_path / "redis", "--bind", "127.0.0.1", "-::1", f"-{ABSENT_ADDRESS}")
    try:
        server.start()
        oracle.start()
        assert answers("127.0.0.1", server.port)
        if ipv6_loopback():
            assert answers("::1", server.port)
        client = redis.Redis(port=server.port, socket_timeout=10)
        assert client.config_get("bind") == {"bind": f"127.0.0.1 -::1 -{ABSENT_ADDRESS}"}
        client.close()
    finally:
        server.stop()
        oracle.stop()
    for process in (server, oracle):
        skipped = (
            f"Warning: Could not create server TCP listening socket {ABSENT_ADDRESS}:"
            f"{process.port}: bind: Cannot assign requested address"
        )
        assert skipped in log_messages(process.log.read_text())


def test_wildcard_bind_addresses(tmp_path: Path) -> None:
    # Redis's default, `bind * -::*`: every IPv4 address, and every IPv6 one if IPv6 exists.
    server = zyst_process(tmp_path, "--appendonly", "no", "--bind", "*", "-::*")
    try:
        server.start()
        expected = {"0.0.0.0", "::"} if ipv6_loopback() else {"0.0.0.0"}
        assert listen_backlogs(server.port) == dict.fromkeys(expected, 511)
        assert answers("127.0.0.1", server.port)
        if ipv6_loopback():
            assert answers("::1", server.port)
    finally:
        server.stop()


def test_nothing_to_listen_on_stops_like_redis(tmp_path: Path) -> None:
    port = free_port()
    result = run_zyst("--port", str(port), "--dir", str(tmp_path), "--bind", f"-{ABSENT_ADDRESS}")
    oracle = redis_process(tmp_path / "redis", "--port", str(port), "--bind", f"-{ABSENT_ADDRESS}")
    theirs = subprocess.run(oracle.argv, capture_output=True, text=True, timeout=30)
    assert theirs.returncode == result.returncode == 1
    assert log_messages(result.stdout)[-1] == log_messages(theirs.stdout)[-1]
    assert log_messages(result.stdout)[-1] == "Configured to not listen anywhere, exiting."


# -- the data directory ----------------------------------------------------------------------
PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE = 1
CAP_DAC_READ_SEARCH = 2


def subject_to_file_permissions() -> None:
    """In the child before exec: when running as root, drop the capabilities that let root
    ignore file permissions, so a read-only directory is read-only to the server too."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def test_unwritable_data_directory_is_a_one_line_reason(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o555)
    try:
        result = run_zyst(
            "--port", str(free_port()), "--dir", str(data), preexec_fn=subject_to_file_permissions
        )
    finally:
        data.chmod(0o755)
    reason = f"Can't open the lock file {data}/zyst.lock in the data directory: Permission denied"
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert log_messages(result.stdout)[-1] == reason
    assert result.stderr == f"zyst: {reason}\n"
    assert list(data.iterdir()) == []


def test_data_directory_under_a_file_is_a_one_line_reason(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    result = run_zyst("--port", str(free_port()), "--dir", str(tmp_path / "file" / "data"))
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    reason = f"Can't create the data directory {tmp_path}/file/data: Not a directory"
    assert result.stderr == f"zyst: {reason}\n"


# -- daemonize and pidfile -------------------------------------------------------------------
def test_command_line_daemonize_no_wins_over_the_file(tmp_path: Path) -> None:
    conf = tmp_path / "zyst.conf"
    conf.write_text("daemonize yes\nappendonly no\n")
    server = zyst_process(tmp_path, "--daemonize", "no")
    server.argv[3:3] = [str(conf)]
    try:
        server.start()
        assert server.proc is not None
        client = redis.Redis(port=server.port, socket_timeout=10)
        assert client.config_get("daemonize") == {"daemonize": "no"}
        assert client.info("server")["process_id"] == server.proc.pid
        client.close()
    finally:
        server.stop()


def gone(pid: int) -> bool:
    """Whether process ``pid`` has ended (a zombie nobody reaped counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def wait_for_pid(pidfile: Path) -> int:
    """The pid in ``pidfile``, once it is written whole (the daemon listens by then)."""
    wait_until(lambda: pidfile.exists() and pidfile.read_text().endswith("\n"), "the pid file")
    return int(pidfile.read_text())


@contextlib.contextmanager
def no_daemon_left(pidfile: Path) -> Iterator[None]:
    """Whatever the block asserts, the daemon that wrote ``pidfile`` does not outlive it."""
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError, ValueError):
            pid = int(pidfile.read_text())
            if not gone(pid):
                os.kill(pid, signal.SIGKILL)


def test_daemonize_with_pidfile(tmp_path: Path) -> None:
    port = free_port()
    pidfile = tmp_path / "zyst.pid"
    conf = tmp_path / "zyst.conf"
    conf.write_text(f"daemonize yes\npidfile {pidfile}\nport {port}\ndir {tmp_path}\n")
    log = tmp_path / "zyst.log"
    with no_daemon_left(pidfile):
        parent = run_zyst(str(conf), "--logfile", str(log))
        assert parent.returncode == 0
        assert parent.stdout == parent.stderr == ""
        pid = wait_for_pid(pidfile)
        assert pid != os.getpid()
        assert answers("127.0.0.1", port)
        client = redis.Redis(port=port, socket_timeout=10)
        assert client.info("server")["process_id"] == pid
        assert client.config_get("daemonize") == {"daemonize": "yes"}
        client.close()
        # Detached: a session of its own, so the terminal's hang-up never reaches it.
        assert os.getsid(pid) == pid
        os.kill(pid, signal.SIGTERM)
        wait_until(lambda: gone(pid), "the daemon to exit")
        assert not pidfile.exists()
        assert not (tmp_path / "zyst.lock").exists()
        assert "Zyst is now ready to exit, bye bye..." in log_messages(log.read_text())


def test_daemonize_without_logfile_logs_nowhere(tmp_path: Path) -> None:
    port = free_port()
    pidfile = tmp_path / "zyst.pid"
    with no_daemon_left(pidfile):
        parent = run_zyst(
            "--daemonize", "yes", "--pidfile", str(pidfile), "--port", str(port),
            "--dir", str(tmp_path), "--appendonly", "no",
        )  # fmt: skip
        assert (parent.returncode, parent.stdout, parent.stderr) == (0, "", "")
        pid = wait_for_pid(pidfile)
        assert answers("127.0.0.1", port)
        assert os.readlink(f"/proc/{pid}/fd/1") == os.devnull
        assert os.readlink(f"/proc/{pid}/fd/2") == os.devnull
        os.kill(pid, signal.SIGTERM)
        wait_until(lambda: gone(pid), "the daemon to exit")
        assert not pidfile.exists()


def test_tcp_backlog_pidfile_and_daemonize_are_shown_and_immutable_like_redis(
    zyst_proc: ServerProcess, redis_server: ServerProcess
) -> None:
    ours = redis.Redis(port=zyst_proc.port, socket_timeout=10)
    theirs = redis.Redis(port=redis_server.port, socket_timeout=10)
    try:
        for name in ("tcp-backlog", "pidfile", "daemonize"):
            assert ours.config_get(name) == theirs.config_get(name)
            errors = []
            for client in (ours, theirs):
                with pytest.raises(redis.ResponseError) as caught:
                    client.config_set(name, "100")
                errors.append(str(caught.value))
            assert errors[0] == errors[1]
            assert errors[0].endswith("can't set immutable config")
    finally:
        ours.close()
        theirs.close()


def test_cross_protocol_command_in_the_aof_stops_the_start(tmp_path: Path) -> None:
    """``POST`` is no command any server wrote: an AOF holding one is refused, as Redis refuses
    it as an unknown command, rather than skipped."""
    good = b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n"
    (tmp_path / "appendonly.aof").write_bytes(good + b"*2\r\n$4\r\nPOST\r\n$1\r\n/\r\n")
    result = run_zyst("--port", "0", "--dir", str(tmp_path))
    assert result.returncode == 1
    assert (
        f"Bad file format reading the append only file at offset {len(good)}: command POST / "
        "failed: Unknown command 'POST'"
    ) in result.stdout + result.stderr


def test_select_of_a_missing_database_in_the_aof_is_skipped_like_redis(tmp_path: Path) -> None:
    """redis-server answers such a SELECT with an error while loading and goes on in the
    database selected before; so does Zyst (it used to stop with a traceback)."""
    aof = (
        b"*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n"
        b"*2\r\n$6\r\nSELECT\r\n$2\r\n99\r\n*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n"
    )
    (tmp_path / "zyst").mkdir()
    (tmp_path / "zyst" / "appendonly.aof").write_bytes(aof)
    (tmp_path / "redis" / "appendonlydir").mkdir(parents=True)
    (tmp_path / "redis" / "appendonlydir" / "appendonly.aof.1.incr.aof").write_bytes(aof)
    (tmp_path / "redis" / "appendonlydir" / "appendonly.aof.manifest").write_bytes(
        b"file appendonly.aof.1.incr.aof seq 1 type i\n"
    )
    zyst = zyst_process(tmp_path / "zyst", "--appendonly", "yes")
    oracle = redis_process(tmp_path / "redis", "--appendonly", "yes")
    with zyst.start(), oracle.start():
        for server in (zyst, oracle):
            client = redis.Redis(port=server.port, db=2, socket_timeout=10)
            wait_until(lambda c=client: _loaded(c), "the AOF to load")
            assert client.mget("a", "b") == [b"1", b"2"]
            client.close()


def _loaded(client: redis.Redis) -> bool:
    try:
        client.ping()
    except redis.exceptions.BusyLoadingError:
        return False
    return True
