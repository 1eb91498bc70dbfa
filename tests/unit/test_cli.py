"""Unit tests of zyst.cli: argument parsing, --version / --help, and errors on stderr."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from zyst import REDIS_VERSION, __version__
from zyst.cli import main, parse_args, split_options
from zyst.config import SETTINGS, ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_no_arguments_gives_defaults() -> None:
    config = parse_args([])
    assert (config.port, config.bind, config.appendonly) == (6379, ["127.0.0.1"], True)


def test_options() -> None:
    config = parse_args(
        [
            "--port", "7777",
            "--bind", "127.0.0.1", "::1",
            "--dir", "/tmp/zyst-data",
            "--appendonly", "no",
            "--appendfilename", "my.aof",
            "--appendfsync", "always",
            "--databases", "4",
            "--loglevel", "warning",
            "--logfile", "/tmp/zyst.log",
            "--daemonize", "no",
            "--proto-max-bulk-len", "1gb",
        ]
    )  # fmt: skip
    assert config.port == 7777
    assert config.bind == ["127.0.0.1", "::1"]
    assert config.dir == "/tmp/zyst-data"
    assert config.appendonly is False
    assert config.appendfilename == "my.aof"
    assert config.appendfsync == "always"
    assert config.databases == 4
    assert config.loglevel == "warning"
    assert config.logfile == "/tmp/zyst.log"
    assert config.proto_max_bulk_len == 1024**3


def test_option_names_ignore_case() -> None:
    assert parse_args(["--PORT", "1234"]).port == 1234


def test_whole_option_in_one_argument() -> None:
    assert parse_args(["--port 6380", "--hz", "20"]).port == 6380


def test_value_may_start_with_dashes() -> None:
    assert parse_args(["--logfile", "--odd"]).logfile == "--odd"


def test_bare_save_means_empty() -> None:
    assert parse_args(["--save", "--port", "1"]).save == ""
    assert parse_args(["--save"]).save == ""
    assert parse_args(["--save", "900", "1", "--save", "60", "5"]).save == "900 1 60 5"


def test_every_setting_is_an_option() -> None:
    for setting in SETTINGS:
        options = split_options([f"--{setting.name}", "x"])
        assert options == [(setting.name, ["x"])]


def test_split_options_groups_values() -> None:
    assert split_options(["--bind", "a", "b", "--port", "1"]) == [
        ("bind", ["a", "b"]),
        ("port", ["1"]),
    ]


def test_config_file_then_options(tmp_path: Path) -> None:
    path = tmp_path / "zyst.conf"
    path.write_text("port 7000\nhz 20\nsave 900 1\n")
    config = parse_args([str(path), "--port", "7001", "--save", "60", "5"])
    assert (config.port, config.hz, config.save) == (7001, 20, "900 1 60 5")


def test_error_in_the_file_names_file_line_and_setting(tmp_path: Path) -> None:
    path = tmp_path / "zyst.conf"
    path.write_text("port 7000\n\nappendfsync sometimes\n")
    with pytest.raises(ConfigError) as info:
        parse_args([str(path)])
    assert info.value.message == (
        "*** FATAL CONFIG FILE ERROR (Zyst 0.1.0) ***\n"
        f"Reading the configuration file '{path}', at line 3\n"
        ">>> 'appendfsync sometimes'\n"
        "argument(s) must be one of the following: everysec, always, no"
    )


def test_error_in_an_option() -> None:
    with pytest.raises(ConfigError) as info:
        parse_args(["--port", "1", "--foo", "bar"])
    assert info.value.message == (
        "*** FATAL CONFIG FILE ERROR (Zyst 0.1.0) ***\n"
        "Reading the command line, at option 2\n"
        ">>> 'foo \"bar\"'\n"
        "Bad directive or wrong number of arguments"
    )


def test_option_with_too_many_values() -> None:
    with pytest.raises(ConfigError, match=r"wrong number of arguments$"):
        parse_args(["--port", "1", "2"])


def test_command_line_wins_over_the_file_for_daemonize(tmp_path: Path) -> None:
    conf = tmp_path / "zyst.conf"
    conf.write_text("daemonize yes\npidfile /run/zyst/zyst.pid\ntcp-backlog 1024\n")
    assert parse_args([str(conf)]).daemonize is True
    config = parse_args([str(conf), "--daemonize", "no", "--tcp-backlog", "128"])
    assert (config.daemonize, config.pidfile, config.tcp_backlog) == (
        False,
        "/run/zyst/zyst.pid",
        128,
    )


def test_argument_outside_any_option() -> None:
    with pytest.raises(ConfigError, match=r"^Unexpected argument '-x': options are written"):
        parse_args(["-x"])


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^Fatal error, can't open config file"):
        parse_args([str(tmp_path / "missing.conf")])


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == (
        f"Zyst server v={__version__} (Redis {REDIS_VERSION} compatible)\n"
    )
    assert main(["-v"]) == 0


def test_help_lists_every_setting(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Usage: zyst [/path/to/zyst.conf] [options]\n")
    for setting in SETTINGS:
        assert f"--{setting.name} " in out


def test_bad_arguments_exit_1_with_the_message_on_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--appendonly", "maybe"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.endswith(">>> 'appendonly \"maybe\"'\nargument must be 'yes' or 'no'\n")


def test_python_dash_m_zyst() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "zyst", "--version"],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT / "src")},
        check=False,
        timeout=60,
    )
    assert result.returncode == 0
    assert result.stdout.startswith("Zyst server v=")


def test_python_dash_m_zyst_error_exit_code() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "zyst", "--port", "notaport"],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT / "src")},
        check=False,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.endswith("argument couldn't be parsed into an integer\n")
