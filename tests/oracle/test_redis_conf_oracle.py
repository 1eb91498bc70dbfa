"""redis.conf against redis-server: every setting Redis 7.0 has (its own CONFIG GET * list,
aliases included, with its values) is read by Zyst; a bad line is refused with Redis's reason;
``rename-command`` renames and disables commands as Redis does (raw reply bytes compared).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.conftest import Oracle, RawConnection, ServerProcess, redis_process, zyst_process
from zyst.config import SETTINGS, Config, ConfigError, ConfigLoader
from zyst.config_ignored import IGNORED
from zyst.protocol.inline import quote


def test_every_setting_redis_lists_is_read_with_redis_values(redis_server: ServerProcess) -> None:
    client = redis.Redis(port=redis_server.port, socket_timeout=10)
    pairs: dict[str, str] = client.config_get("*")  # type: ignore[assignment]
    client.close()
    names = set(pairs)
    known = {setting.name for setting in SETTINGS} | set(IGNORED)
    assert names - known == set()
    lines = [
        b"%s %s" % (name.encode(), quote(value.encode()))
        for name, value in pairs.items()
        # (An unset replicaof shows as "", which no config file can say: Redis refuses it too.)
        if not (name in ("replicaof", "slaveof") and not value)
    ]
    config = Config()
    ConfigLoader(config).load_text(b"\n".join([*lines, b"replicaof no one"]), "redis's values")
    # (slaveof, left out above, is replicaof's alias: that one came as "replicaof no one".)
    assert set(config.ignored) == names - {setting.name for setting in SETTINGS} - {"slaveof"}


BAD_LINES = [
    "activerehashing maybe",
    "repl-timeout 0",
    "io-threads 200",
    "repl-backlog-size 1zb",
    "oom-score-adj sometimes",
    "oom-score-adj-values 0 200",
    "oom-score-adj-values 0 200 3000",
    "replicaof localhost 70000",
    "shutdown-on-sigterm save nosave",
    "sentinel monitor mymaster 127.0.0.1 6379 2",
    "mymodule.option",
    "rename-command nosuch x",
    "rename-command get set",
    "no-such-directive yes",
    "list-max-ziplist-entries 1 2",
    "cluster-announce-hostname bad_name",
    "maxmemory-clients 200%",
    "maxmemory-clients 10x",
]


def test_bad_lines_are_refused_with_redis_reason(tmp_path: Path) -> None:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed (apt-get install redis-server)")
    for number, line in enumerate(BAD_LINES):
        path = tmp_path / f"bad{number}.conf"
        path.write_text(f"port 0\n{line}\n")
        result = subprocess.run(
            [binary, str(path)], capture_output=True, text=True, timeout=30, check=False
        )
        assert result.returncode == 1, line
        theirs = result.stderr.strip().splitlines()[-1]
        with pytest.raises(ConfigError) as caught:
            ConfigLoader(Config()).load_file(str(path))
        ours = caught.value.message.splitlines()
        assert ours[-1] == theirs, line
        assert ours[-2] == f">>> '{line}'"


RENAMES = """\
rename-command set xset
rename-command get set
rename-command flushall ""
rename-command Echo Say
rename-command config cfg
"""


@pytest.fixture
def renamed(tmp_path: Path) -> Iterator[tuple[Oracle, int, int]]:
    """The oracle on two servers started with RENAMES, and their ports."""
    conf = tmp_path / "renames.conf"
    conf.write_text(RENAMES)
    zyst = zyst_process(tmp_path / "zyst", "--appendonly", "no", "--save", "")
    zyst.argv.insert(3, str(conf))
    real = redis_process(tmp_path / "redis")
    real.argv.insert(1, str(conf))
    with zyst, real:
        oracle = Oracle(zyst.port, real.port)
        yield oracle, zyst.port, real.port
        oracle.close()


def test_rename_command_as_redis(renamed: tuple[Oracle, int, int]) -> None:
    oracle, zyst_port, redis_port = renamed
    check = oracle.check
    check("XSET", "k", "v")
    check("xset", "k", "v")
    check("SET", "k")  # now GET
    check("GET", "k")
    check("SET", "k", "v")  # GET's arity, under its old name in the error
    check("FLUSHALL")
    check("say", "hello")
    check("ECHO", "hello")
    check("COMMAND", "INFO", "xset", "set", "get", "flushall", "say", "echo")
    check("CFG", "GET", "maxmemory")  # a command with subcommands
    check("cfg", "nosuch")
    check("CONFIG", "GET", "maxmemory")
    check("MULTI")
    check("xset", "a", "1")
    check("flushall")
    check("EXEC")
    check("EVAL", "return redis.call('xset', 'b', '2')", "0")
    check("EVAL", "return redis.call('flushall')", "0")
    check("EVAL", "return redis.call('get', 'b')", "0")
    check("ACL", "SETUSER", "u", "on", "nopass", "+get", "+xset")
    check("ACL", "DRYRUN", "u", "set", "k")
    check("ACL", "DRYRUN", "u", "xset", "k", "v")
    # MONITOR shows a renamed command as it was called (the line after the timestamp).
    shown = []
    for port, server in ((zyst_port, oracle.zyst), (redis_port, oracle.redis)):
        with RawConnection(port) as monitor:
            assert monitor.command("MONITOR") == b"+OK\r\n"
            server.command("xset", "m", "1")
            shown.append(monitor.read_reply().split(b"] ", 1)[1])
    assert shown[0] == shown[1] == b'"xset" "m" "1"\r\n'
