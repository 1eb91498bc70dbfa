"""Unit tests of the redis.conf directives beyond the settings: ``include``, ``rename-command``,
Redis's settings Zyst accepts without applying (zyst.config_ignored), the directives Redis skips
or refuses, CONFIG REWRITE keeping their lines, and the syslog handler.

Error texts are Redis 7.0.15's; tests/oracle/test_redis_conf_oracle.py checks them against
redis-server itself.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT
from zyst import errors
from zyst.commands import table
from zyst.config import SETTINGS, Config, ConfigError, ConfigLoader
from zyst.config_ignored import IGNORED
from zyst.config_rewrite import rewritten_text
from zyst.logsetup import syslog_handler


def load(text: str, config: Config | None = None) -> Config:
    config = config or Config()
    ConfigLoader(config).load_text(text.encode(), "test")
    return config


def reason(text: str) -> str:
    """The last line of the report refusing ``text``: Redis's reason."""
    with pytest.raises(ConfigError) as caught:
        load(text)
    return caught.value.message.splitlines()[-1]


def test_no_directive_is_both_a_setting_and_ignored() -> None:
    assert not {setting.name for setting in SETTINGS} & set(IGNORED)


def test_ignored_directives_are_listed_once_in_the_order_first_given() -> None:
    config = load(
        "activerehashing yes\nrepl-diskless-load disabled\nport 7000\nactiverehashing no\n"
        'oom-score-adj-values "0 200 800"\nslaveof no one\n'
    )
    assert config.ignored == [
        "activerehashing",
        "repl-diskless-load",
        "oom-score-adj-values",
    ]
    assert config.port == 7000
    assert config.replicaof == ""


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("activerehashing maybe", "argument must be 'yes' or 'no'"),
        ("repl-timeout 0", "argument must be between 1 and 2147483647 inclusive"),
        ("io-threads 200", "argument must be between 1 and 128 inclusive"),
        ("repl-backlog-size 1zb", "argument must be a memory value"),
        (
            "oom-score-adj sometimes",
            "argument(s) must be one of the following: no, yes, relative, absolute",
        ),
        ("oom-score-adj-values 0 200", "wrong number of arguments"),
        ("oom-score-adj-values 0 200 3000", errors.OOM_SCORE_RANGE),
        ("replicaof localhost 70000", errors.BAD_MASTER_PORT),
        ("shutdown-on-sigterm save nosave", errors.SHUTDOWN_SAVE_AND_NOSAVE),
        ("repl-timeout 1 2", "wrong number of arguments"),
        ("sentinel monitor mymaster 127.0.0.1 6379 2", errors.SENTINEL_DIRECTIVE),
        ("mymodule.option", errors.MODULE_CONFIG_NO_VALUE),
        ("no-such-directive yes", "Bad directive or wrong number of arguments"),
        ("list-max-ziplist-entries 1 2", "Bad directive or wrong number of arguments"),
    ],
)
def test_values_are_checked_as_redis_checks_them(line: str, why: str) -> None:
    assert reason(line + "\n") == why


def test_directives_redis_skips_are_skipped_silently() -> None:
    config = load("list-max-ziplist-entries 512\nlua-replicate-commands yes\nsentinel\n")
    assert config.ignored == []


def test_loadmodule_lines_are_queued_and_module_settings_ignored() -> None:
    config = load("loadmodule /usr/lib/zyst/greet.py a b\nrejson.option 1\n")
    assert config.modules == [["/usr/lib/zyst/greet.py", "a", "b"]]
    assert config.ignored == ["rejson.option"]


# -- include ------------------------------------------------------------------------------------
def test_include_reads_the_file_in_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "common.conf").write_text("port 7001\ntimeout 30\n")
    (tmp_path / "main.conf").write_text("port 7000\ninclude common.conf\ntimeout 40\n")
    monkeypatch.chdir(tmp_path)  # a relative path is the current directory's, as in Redis
    config = Config()
    ConfigLoader(config).load_file("main.conf")
    assert (config.port, config.timeout) == (7001, 40)


def test_include_of_a_missing_file_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "missing.conf"
    with pytest.raises(ConfigError) as caught:
        load(f"include {missing}\n")
    assert caught.value.message == (
        f"Fatal error, can't open config file '{missing}': No such file or directory"
    )


def test_a_file_including_itself_stops(tmp_path: Path) -> None:
    loop = tmp_path / "loop.conf"
    loop.write_text(f"include {loop}\n")
    with pytest.raises(ConfigError) as caught:
        ConfigLoader(Config()).load_file(str(loop))
    assert caught.value.message.endswith(errors.INCLUDE_TOO_DEEP)


# -- rename-command ---------------------------------------------------------------------------
def test_renames_are_checked_line_by_line_and_kept_for_the_start() -> None:
    config = load('rename-command GET fetch\nrename-command set get\nrename-command flushall ""\n')
    assert config.renames == [(b"GET", b"fetch"), (b"set", b"get"), (b"flushall", b"")]
    # Reading a config changes nothing in the table: the server applies the renames at start.
    assert table.lookup(b"get") is table.COMMANDS[b"get"]


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("rename-command nosuch x\n", errors.RENAME_NO_SUCH_COMMAND),
        ("rename-command config|get x\n", errors.RENAME_NO_SUCH_COMMAND),
        ("rename-command get set\n", errors.RENAME_TARGET_EXISTS),
        ("rename-command get fetch\nrename-command get again\n", errors.RENAME_NO_SUCH_COMMAND),
        ("rename-command get\n", "Bad directive or wrong number of arguments"),
    ],
)
def test_bad_renames(text: str, why: str) -> None:
    assert reason(text) == why


# -- CONFIG REWRITE ---------------------------------------------------------------------------
def test_rewrite_keeps_the_lines_of_directives_that_are_no_settings() -> None:
    old = (
        b"include /etc/zyst/common.conf\n"
        b'rename-command flushall ""\n'
        b"repl-timeout 60\n"
        b"no-such-thing 1\n"
        b"port 7000\n"
    )
    config = Config()
    config.port = 7001
    new = rewritten_text(config, old).splitlines()
    # (loadmodule lines are written from the modules loaded: tests/server/test_modules.py.)
    assert new[:5] == [
        b"include /etc/zyst/common.conf",
        b'rename-command flushall ""',
        b"repl-timeout 60",
        b"# ??? no-such-thing 1",
        b"port 7001",
    ]


# -- syslog -----------------------------------------------------------------------------------
@pytest.fixture
def syslog_socket(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    path = str(tmp_path / "log")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(path)
        sock.settimeout(10)
        yield sock, path


def test_syslog_lines_carry_ident_pid_facility_and_redis_priorities(
    syslog_socket: tuple[socket.socket, str],
) -> None:
    sock, path = syslog_socket
    config = load("syslog-enabled yes\nsyslog-ident myzyst\nsyslog-facility local3\n")
    handler = syslog_handler(config, path)
    logger = logging.getLogger("zyst.test.syslog")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        for level in (logging.DEBUG, logging.INFO - 1, logging.INFO, logging.WARNING):
            logger.log(level, "level %d", level)
    finally:
        logger.removeHandler(handler)
        handler.close()
    local3 = 19 * 8
    # Redis's priorities: debug, info (verbose), notice, warning.
    expected = [(local3 + 7, 10), (local3 + 6, 19), (local3 + 5, 20), (local3 + 4, 30)]
    for priority, level in expected:
        line = sock.recv(4096)
        assert line == f"<{priority}>myzyst[{os.getpid()}]: level {level}".encode()


# -- the files in contrib/ ----------------------------------------------------------------------
def test_the_sample_config_loads_without_ignored_directives() -> None:
    config = Config()
    ConfigLoader(config).load_file(str(ROOT / "contrib" / "zyst.conf"))
    assert config.ignored == []
    assert (config.dir, config.supervised, config.appendonly) == ("/var/lib/zyst", "auto", True)
