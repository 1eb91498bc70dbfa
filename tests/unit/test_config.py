"""Unit tests of zyst.config: defaults, CONFIG GET / CONFIG SET and redis.conf loading.

The error texts are byte for byte what redis-server 7.0.15 answers to the same input.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from zyst.config import (
    SETTINGS,
    Config,
    ConfigError,
    ConfigLoader,
    apply_option,
    default_dir,
    find_setting,
    load_config_file,
    parse_memory,
)
from zyst.errors import CommandError

# -- defaults and the table -------------------------------------------------------------------


def test_defaults() -> None:
    config = Config()
    assert config.port == 6379
    assert config.bind == ["127.0.0.1"]
    assert config.appendonly is True
    assert config.appendfilename == "appendonly.aof"
    assert config.appendfsync == "everysec"
    assert config.databases == 16
    assert config.loglevel == "notice"
    assert config.logfile == ""
    assert config.daemonize is False
    assert config.hz == 10
    assert config.maxclients == 10000
    assert config.proto_max_bulk_len == 512 * 1024 * 1024
    assert config.client_query_buffer_limit == 1024 * 1024 * 1024
    assert config.timeout == 0
    assert config.save == "3600 1 300 100 60 10000"
    assert config.dbfilename == "dump.rdb"
    assert config.rdbcompression is True
    assert config.rdbchecksum is True
    assert config.stop_writes_on_bgsave_error is True
    assert config.rdb_key_save_delay == 0
    assert config.enable_protected_configs == "no"
    assert config.maxmemory == 0
    assert config.maxmemory_policy == "noeviction"


def test_defaults_are_not_shared_between_configs() -> None:
    first, second = Config(), Config()
    first.bind.append("::1")
    assert second.bind == ["127.0.0.1"]


def test_every_setting_has_an_attribute_and_a_default_its_parser_accepts() -> None:
    config = Config()
    for setting in SETTINGS:
        shown = config.format(setting.name).decode()
        args = shown.split() if setting.multi_arg else [shown]
        value = setting.parse(args)
        if setting.merge is not None:  # a value that changes part of the current one
            value = setting.merge(getattr(Config(), setting.attr), value)
        assert value == getattr(config, setting.attr), setting.name


def test_default_dir_follows_xdg() -> None:
    assert default_dir({"XDG_DATA_HOME": "/data", "HOME": "/home/u"}) == "/data/zyst"
    assert default_dir({"HOME": "/home/u"}) == "/home/u/.local/share/zyst"
    assert default_dir({"XDG_DATA_HOME": "", "HOME": "/home/u"}) == "/home/u/.local/share/zyst"
    # The XDG spec says a relative value is invalid and must be ignored.
    assert default_dir({"XDG_DATA_HOME": "rel", "HOME": "/home/u"}) == "/home/u/.local/share/zyst"


def test_config_uses_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", "/srv/xdg")
    assert Config().dir == "/srv/xdg/zyst"


def test_find_setting_ignores_case() -> None:
    setting = find_setting(b"Proto-Max-Bulk-Len")
    assert setting is not None
    assert setting.attr == "proto_max_bulk_len"
    assert find_setting("proto_max_bulk_len") is None
    assert find_setting("cluster-config-file") is None


# -- CONFIG GET -------------------------------------------------------------------------------


def test_get_exact_name() -> None:
    assert Config().get(b"port") == [(b"port", b"6379")]


def test_get_exact_name_answers_with_the_clients_spelling() -> None:
    assert Config().get(b"PORT") == [(b"PORT", b"6379")]


def test_get_unknown_name_is_empty() -> None:
    assert Config().get(b"cluster-config-file") == []
    assert Config().get(b"nosuch*") == []


def test_get_glob_is_case_insensitive_and_uses_real_names() -> None:
    assert Config().get(b"P*RT") == [(b"port", b"6379")]
    assert Config().get(b"append*") == [
        (b"appendonly", b"yes"),
        (b"appendfilename", b"appendonly.aof"),
        (b"appenddirname", b"appendonlydir"),
        (b"appendfsync", b"everysec"),
    ]


def test_get_star_lists_every_setting_once() -> None:
    names = [name for name, _ in Config().get(b"*")]
    assert names == [setting.name.encode() for setting in SETTINGS if not setting.hidden]


def test_a_hidden_setting_is_shown_by_its_exact_name_only() -> None:
    # As Redis's HIDDEN_CONFIG (rdb-key-save-delay): out of glob matches, there when named.
    assert Config().get(b"rdb-key-save-delay") == [(b"rdb-key-save-delay", b"0")]
    assert Config().get(b"rdb-key-*") == []
    assert (b"rdb-del-sync-files", b"no") in Config().get(b"rdb*")


def test_protected_setting_is_refused_unless_allowed() -> None:
    config = Config()
    with pytest.raises(CommandError) as info:
        config.set_many([(b"dbfilename", b"x.rdb")], protected_ok=False)
    assert info.value.message == (
        "ERR CONFIG SET failed (possibly related to argument 'dbfilename') - can't set "
        "protected config"
    )
    config.set_many([(b"dbfilename", b"x.rdb")])
    assert config.dbfilename == "x.rdb"
    with pytest.raises(CommandError) as info:
        config.set_many([(b"dbfilename", b"a/b.rdb")])
    assert info.value.message == (
        "ERR CONFIG SET failed (possibly related to argument 'dbfilename') - dbfilename can't "
        "be a path, just a filename"
    )


def test_get_many_deduplicates() -> None:
    pairs = Config().get_many([b"port", b"PORT", b"p?rt", b"maxmemory*", b"maxmemory"])
    assert pairs == [
        (b"port", b"6379"),
        (b"maxmemory", b"0"),
        (b"maxmemory-policy", b"noeviction"),
        (b"maxmemory-samples", b"5"),
        (b"maxmemory-eviction-tenacity", b"10"),
    ]


def test_get_formats_like_redis() -> None:
    config = Config()
    config.bind = ["127.0.0.1", "::1"]
    config.save = "900 1 300 10"
    config.appendonly = False
    got = dict(
        config.get_many(
            [b"bind", b"save", b"appendonly", b"proto-max-bulk-len", b"client-query-buffer-limit"]
        )
    )
    assert got == {
        b"bind": b"127.0.0.1 ::1",
        b"save": b"900 1 300 10",
        b"appendonly": b"no",
        b"proto-max-bulk-len": b"536870912",
        b"client-query-buffer-limit": b"1073741824",
    }


def test_get_without_glob_characters_does_not_unescape() -> None:
    # Like Redis: no '*', '?' or '[' means a plain name lookup.
    assert Config().get(b"por\\t") == []


# -- CONFIG SET -------------------------------------------------------------------------------


def set_error(config: Config, *pairs: tuple[bytes, bytes]) -> str:
    with pytest.raises(CommandError) as info:
        config.set_many(list(pairs))
    return info.value.message


def test_set_changes_values() -> None:
    config = Config()
    config.set_many([(b"appendfsync", b"ALWAYS"), (b"HZ", b"20"), (b"maxclients", b"5")])
    assert (config.appendfsync, config.hz, config.maxclients) == ("always", 20, 5)
    config.set_many([(b"appendonly", b"no"), (b"timeout", b"300"), (b"loglevel", b"debug")])
    assert (config.appendonly, config.timeout, config.loglevel) == (False, 300, "debug")


def test_set_memory_units() -> None:
    config = Config()
    config.set_many([(b"proto-max-bulk-len", b"1mb"), (b"client-query-buffer-limit", b"2GB")])
    assert config.proto_max_bulk_len == 1024 * 1024
    assert config.client_query_buffer_limit == 2 * 1024**3
    assert config.get(b"proto-max-bulk-len") == [(b"proto-max-bulk-len", b"1048576")]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", 0),
        ("5b", 5),
        ("100k", 100_000),
        ("100kB", 102_400),
        ("1m", 1_000_000),
        ("1mb", 1024**2),
        ("1g", 1_000_000_000),
        ("1GB", 1024**3),
        ("", 0),
        ("99999999999999999999", 2**64 - 1),
    ],
)
def test_parse_memory(text: str, value: int) -> None:
    assert parse_memory(text) == value


@pytest.mark.parametrize("text", ["1x", "-1", "+5", " 5", "1.5gb", "1t", "1kb5"])
def test_parse_memory_rejects(text: str) -> None:
    with pytest.raises(ValueError, match=r"^argument must be a memory value$"):
        parse_memory(text)


def test_set_hz_is_clamped_like_redis() -> None:
    config = Config()
    config.set_many([(b"hz", b"1000")])
    assert config.hz == 500
    config.set_many([(b"hz", b"0")])
    assert config.hz == 1


def test_set_save() -> None:
    config = Config()
    config.set_many([(b"save", b"900  1 300 10")])
    assert config.get(b"save") == [(b"save", b"900 1 300 10")]
    config.set_many([(b"save", b"")])
    assert config.save == ""


def test_set_unknown() -> None:
    assert (
        set_error(Config(), (b"foo", b"bar"))
        == "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"
    )
    assert (
        set_error(Config(), (b"FOO", b"1"))
        == "ERR Unknown option or number of arguments for CONFIG SET - 'FOO'"
    )


@pytest.mark.parametrize(
    "name",
    [
        "databases",
        "daemonize",
        "pidfile",
        "tcp-backlog",
        "dir",
        "logfile",
        "appendfilename",
    ],
)
def test_set_immutable(name: str) -> None:
    assert set_error(Config(), (name.encode(), b"1")) == (
        f"ERR CONFIG SET failed (possibly related to argument '{name}') - "
        "can't set immutable config"
    )


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        (
            "appendfsync",
            "bogus",
            "argument(s) must be one of the following: everysec, always, no",
        ),
        (
            "loglevel",
            "bad",
            "argument(s) must be one of the following: debug, verbose, notice, warning",
        ),
        ("appendonly", "maybe", "argument must be 'yes' or 'no'"),
        ("hz", "abc", "argument couldn't be parsed into an integer"),
        ("hz", "1.5", "argument couldn't be parsed into an integer"),
        ("hz", "007", "argument couldn't be parsed into an integer"),
        ("hz", "+5", "argument couldn't be parsed into an integer"),
        ("hz", "-0", "argument couldn't be parsed into an integer"),
        ("hz", "", "argument couldn't be parsed into an integer"),
        ("hz", "-1", "argument must be between 0 and 2147483647 inclusive"),
        ("timeout", "-1", "argument must be between 0 and 2147483647 inclusive"),
        ("timeout", "99999999999999999999", "argument couldn't be parsed into an integer"),
        ("maxclients", "0", "argument must be between 1 and 4294967295 inclusive"),
        (
            "proto-max-bulk-len",
            "10",
            "argument must be between 1048576 and 9223372036854775807 inclusive",
        ),
        (
            "client-query-buffer-limit",
            "99999999999999999999",
            "argument must be between 1048576 and 9223372036854775807 inclusive",
        ),
        ("proto-max-bulk-len", "1x", "argument must be a memory value"),
        ("save", "abc", "Invalid save parameters"),
        ("save", "1 2 3", "Invalid save parameters"),
        ("save", "1 -5", "Invalid save parameters"),
    ],
)
def test_set_bad_value(name: str, value: str, reason: str) -> None:
    assert (
        set_error(Config(), (name.encode(), value.encode()))
        == f"ERR CONFIG SET failed (possibly related to argument '{name}') - {reason}"
    )


def test_set_bad_value_names_the_setting_not_the_spelling() -> None:
    assert set_error(Config(), (b"HZ", b"abc")) == (
        "ERR CONFIG SET failed (possibly related to argument 'hz') - "
        "argument couldn't be parsed into an integer"
    )


def test_set_duplicate_names_the_second_spelling() -> None:
    assert set_error(Config(), (b"hz", b"10"), (b"HZ", b"11")) == (
        "ERR CONFIG SET failed (possibly related to argument 'HZ') - duplicate parameter"
    )


def test_set_checks_every_name_before_any_value() -> None:
    config = Config()
    assert set_error(config, (b"hz", b"x"), (b"foo", b"1")) == (
        "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"
    )
    assert set_error(config, (b"hz", b"x"), (b"databases", b"1")) == (
        "ERR CONFIG SET failed (possibly related to argument 'databases') - "
        "can't set immutable config"
    )
    # The first problem in argument order is the one reported.
    assert set_error(config, (b"databases", b"1"), (b"foo", b"1")) == (
        "ERR CONFIG SET failed (possibly related to argument 'databases') - "
        "can't set immutable config"
    )
    assert set_error(config, (b"foo", b"1"), (b"databases", b"1")) == (
        "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"
    )
    assert set_error(config, (b"hz", b"1"), (b"HZ", b"2"), (b"foo", b"1")) == (
        "ERR CONFIG SET failed (possibly related to argument 'HZ') - duplicate parameter"
    )
    assert config.hz == 10


def test_set_is_all_or_nothing() -> None:
    config = Config()
    with pytest.raises(CommandError):
        config.set_many([(b"hz", b"20"), (b"maxclients", b"7"), (b"appendonly", b"bogus")])
    assert (config.hz, config.maxclients, config.appendonly) == (10, 10000, True)


# -- change hooks -------------------------------------------------------------------------------


def test_hooks_run_after_a_change() -> None:
    config = Config()
    seen: list[tuple[str, str]] = []
    config.on_change("appendfsync", lambda name: seen.append((name, config.appendfsync)))
    config.set_many([(b"APPENDFSYNC", b"always")])
    assert seen == [("appendfsync", "always")]


def test_hooks_do_not_run_when_the_value_is_unchanged() -> None:
    config = Config()
    seen: list[str] = []
    config.on_change("appendonly", seen.append)
    config.set_many([(b"appendonly", b"yes")])
    assert seen == []


def test_a_refusing_hook_rolls_everything_back() -> None:
    config = Config()
    seen: list[tuple[str, str]] = []
    config.on_change("appendfsync", lambda name: seen.append((name, config.appendfsync)))

    def refuse(name: str) -> None:
        if not config.appendonly:
            raise ValueError("cannot stop the AOF now")

    config.on_change("appendonly", refuse)
    message = set_error(config, (b"appendfsync", b"no"), (b"appendonly", b"no"), (b"hz", b"50"))
    assert message == (
        "ERR CONFIG SET failed (possibly related to argument 'appendonly') - "
        "cannot stop the AOF now"
    )
    assert (config.appendfsync, config.appendonly, config.hz) == ("everysec", True, 10)
    # The appendfsync hook saw the change, then saw it undone.
    assert seen == [("appendfsync", "no"), ("appendfsync", "everysec")]


def test_on_change_of_unknown_setting_is_a_programming_error() -> None:
    with pytest.raises(KeyError):
        Config().on_change("nosuch", lambda name: None)


# -- config files ---------------------------------------------------------------------------


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "zyst.conf"
    path.write_text(text)
    return str(path)


def test_load_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "# Zyst configuration\n"
        "\n"
        "port 6380\n"
        "  BIND 127.0.0.1 ::1  \n"
        'appendonly "no"\n'
        "appendfsync 'always'\r\n"
        "proto-max-bulk-len 64mb\n"
        "   # an indented comment\n"
        "dir /var/lib/zyst\n"
        "daemonize no\n"
        'logfile ""\n',
    )
    config = Config()
    load_config_file(path, config)
    assert config.port == 6380
    assert config.bind == ["127.0.0.1", "::1"]
    assert config.appendonly is False
    assert config.appendfsync == "always"
    assert config.proto_max_bulk_len == 64 * 1024 * 1024
    assert config.dir == "/var/lib/zyst"
    assert config.logfile == ""


def test_load_file_relative_dir_is_made_absolute(tmp_path: Path) -> None:
    config = Config()
    load_config_file(write(tmp_path, "dir data\n"), config)
    assert config.dir == os.path.abspath("data")


def test_save_lines_add_up(tmp_path: Path) -> None:
    config = Config()
    load_config_file(write(tmp_path, "save 900 1\nsave 300 10\n"), config)
    assert config.save == "900 1 300 10"
    config = Config()
    load_config_file(write(tmp_path, 'save 900 1\nsave ""\nsave 60 10000\n'), config)
    assert config.save == "60 10000"


def test_the_last_line_wins(tmp_path: Path) -> None:
    config = Config()
    load_config_file(write(tmp_path, "port 1\nport 2\n"), config)
    assert config.port == 2


def load_error(tmp_path: Path, text: str) -> tuple[str, str]:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config_file(path, Config())
    return path, info.value.message


@pytest.mark.parametrize(
    ("text", "line", "shown", "reason"),
    [
        ("# c\n\nfoo bar\n", 3, "foo bar", "Bad directive or wrong number of arguments"),
        ("hz abc\n", 1, "hz abc", "argument couldn't be parsed into an integer"),
        ("port 1\nhz 1 2\n", 2, "hz 1 2", "wrong number of arguments"),
        ("port\n", 1, "port", "wrong number of arguments"),
        (
            "appendfsync bogus\n",
            1,
            "appendfsync bogus",
            "argument(s) must be one of the following: everysec, always, no",
        ),
        ("appendonly maybe\n", 1, "appendonly maybe", "argument must be 'yes' or 'no'"),
        ('hz "5\n', 1, 'hz "5', "Unbalanced quotes in configuration line"),
        (
            "  HZ   -1  \n",
            1,
            "HZ   -1",
            "argument must be between 0 and 2147483647 inclusive",
        ),
        ("maxmemory 1x\n", 1, "maxmemory 1x", "argument must be a memory value"),
        ("save 1\n", 1, "save 1", "Invalid save parameters"),
        (
            "appendfilename a/b\n",
            1,
            "appendfilename a/b",
            "appendfilename can't be a path, just a filename",
        ),
        (
            "no-such-setting secret\n",
            1,
            "no-such-setting secret",
            "Bad directive or wrong number of arguments",
        ),
    ],
)
def test_load_file_errors(tmp_path: Path, text: str, line: int, shown: str, reason: str) -> None:
    path, message = load_error(tmp_path, text)
    assert message == (
        "*** FATAL CONFIG FILE ERROR (Zyst 0.1.0) ***\n"
        f"Reading the configuration file '{path}', at line {line}\n"
        f">>> '{shown}'\n"
        f"{reason}"
    )


def test_daemonize_pidfile_and_tcp_backlog(tmp_path: Path) -> None:
    config = Config()
    assert (config.daemonize, config.pidfile, config.tcp_backlog) == (False, "", 511)
    load_config_file(
        write(tmp_path, "daemonize yes\npidfile /run/zyst.pid\ntcp-backlog 0\n"), config
    )
    assert (config.daemonize, config.pidfile, config.tcp_backlog) == (True, "/run/zyst.pid", 0)
    assert load_error(tmp_path, "tcp-backlog -1\n")[1].endswith(
        "argument must be between 0 and 2147483647 inclusive"
    )
    assert load_error(tmp_path, "daemonize maybe\n")[1].endswith("argument must be 'yes' or 'no'")


def test_bind_with_one_empty_argument_means_no_address(tmp_path: Path) -> None:
    config = Config()
    load_config_file(write(tmp_path, 'bind ""\n'), config)
    assert config.bind == []
    config.set_many([(b"bind", b"127.0.0.1 -::1")])
    assert config.bind == ["127.0.0.1", "-::1"]
    config.set_many([(b"bind", b"")])
    assert config.format("bind") == b""


def test_missing_file(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.conf")
    with pytest.raises(ConfigError) as info:
        load_config_file(missing, Config())
    assert info.value.message == (
        f"Fatal error, can't open config file '{missing}': No such file or directory"
    )


def test_too_many_bind_addresses() -> None:
    with pytest.raises(ValueError, match=r"^Too many bind addresses specified\.$"):
        apply_option(Config(), "bind", [f"10.0.0.{n}" for n in range(17)])


def test_apply_option() -> None:
    config = Config()
    apply_option(config, "MaxClients", ["12"])
    apply_option(config, "databases", ["4"])  # immutable at run time, settable at startup
    assert (config.maxclients, config.databases) == (12, 4)
    with pytest.raises(ValueError, match=r"^Bad directive or wrong number of arguments$"):
        apply_option(config, "nosuch", ["1"])


def test_loader_shares_save_across_sources(tmp_path: Path) -> None:
    config = Config()
    loader = ConfigLoader(config)
    loader.load_file(write(tmp_path, "save 900 1\n"))
    loader.load_options([("save", ["60", "5"])], "the command line")
    assert config.save == "900 1 60 5"


def test_settings_redis_lets_change_at_run_time() -> None:
    config = Config()
    config.set_many([(b"maxmemory", b"1gb"), (b"maxmemory-policy", b"allkeys-lru")])
    assert config.maxmemory == 1024**3
    assert config.maxmemory_policy == "allkeys-lru"
    config.set_many([(b"port", b"6390"), (b"bind", b"127.0.0.1 ::1")])
    assert config.port == 6390
    assert config.bind == ["127.0.0.1", "::1"]


def test_encoding_settings_are_accepted_with_their_aliases() -> None:
    config = Config()
    assert dict(config.get_many([b"hash-max-*"])) == {
        b"hash-max-listpack-entries": b"512",
        b"hash-max-ziplist-entries": b"512",
        b"hash-max-listpack-value": b"64",
        b"hash-max-ziplist-value": b"64",
    }
    config.set_many([(b"hash-max-ziplist-entries", b"16"), (b"list-compress-depth", b"1")])
    assert config.get_many([b"hash-max-listpack-entries"]) == [
        (b"hash-max-listpack-entries", b"16")
    ]
    assert config.list_compress_depth == 1


def test_one_argument_of_a_several_argument_setting_is_split(tmp_path: Path) -> None:
    # As Redis 7: `--save "900 1 300 10"` is two save points; `--save ""` none.
    config = Config()
    ConfigLoader(config).load_options([("save", ["900 1 300 10"])], "the command line")
    assert config.save == "900 1 300 10"
    ConfigLoader(config).load_options([("save", [""])], "the command line")
    assert config.save == ""
    ConfigLoader(config).load_options([("bind", ["127.0.0.1 ::1"])], "the command line")
    assert config.bind == ["127.0.0.1", "::1"]
