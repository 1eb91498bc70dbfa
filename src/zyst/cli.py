"""The command line, shaped like redis-server's: arguments → :class:`zyst.config.Config` → server.

Syntax::

    zyst [CONFIG_FILE] [--<setting> value ...] ...
    zyst -v | --version
    zyst -h | --help
    zyst check-aof [--fix] [--yes] FILE|DIR
    zyst check-rdb FILE

The optional first argument (when it does not start with ``-``) is a redis.conf-style file. Every
setting of :data:`zyst.config.SETTINGS` can then be given as ``--<name>`` followed by its
arguments (``--bind 127.0.0.1 ::1`` takes several); options are applied after the file, in order,
so they win. As in redis-server, the argument right after ``--<name>`` is always its value (so
``--logfile --odd-name`` works), a bare ``--save`` means ``--save ""``, and one argument may hold a
whole option (``"--port 6380"``).

``check-aof`` and ``check-rdb`` run the file checkers of :mod:`zyst.persistence.checkers`
(Redis's ``redis-check-aof`` and ``redis-check-rdb``) instead of a server.
"""

from __future__ import annotations

import os
import sys

from zyst import REDIS_VERSION, __version__
from zyst.config import SETTINGS, Config, ConfigError, ConfigLoader
from zyst.protocol.inline import split_args

__all__ = ["main", "parse_args", "split_options", "usage", "version"]


def version() -> str:
    """The ``--version`` line."""
    return f"Zyst server v={__version__} (Redis {REDIS_VERSION} compatible)"


def usage() -> str:
    """The ``--help`` text, listing every setting of the table."""
    width = max(len(f"--{s.name} {s.hint}") for s in SETTINGS)
    lines = [
        "Usage: zyst [/path/to/zyst.conf] [options]",
        "       zyst -v or --version",
        "       zyst -h or --help",
        "       zyst check-aof [--fix] [--yes] <file.aof|file.manifest|appendonlydir>",
        "       zyst check-rdb <file.rdb>",
        "",
        "The configuration file uses redis.conf syntax (include, rename-command, user lines;",
        "Redis 7.0 settings Zyst does not implement are accepted and logged as ignored);",
        "options are applied after it.",
        "",
        "Options (each setting of the configuration file, as --name value):",
    ]
    lines += [f"  {f'--{s.name} {s.hint}':<{width}}  {s.doc}" for s in SETTINGS]
    lines += [
        "",
        "BYTES take units: 100k, 512mb, 1gb (k, m, g = 1000^n; kb, mb, gb = 1024^n).",
        "",
        "Examples:",
        "  zyst                                  (defaults: port 6379, 127.0.0.1)",
        "  zyst /etc/zyst/zyst.conf",
        "  zyst /etc/redis/redis.conf --dir /tmp/zyst",
        "  zyst --port 7777 --appendonly no",
        "  zyst /etc/zyst/zyst.conf --loglevel verbose --bind 127.0.0.1 ::1",
    ]
    return "\n".join(lines)


def split_options(args: list[str]) -> list[tuple[str, list[str]]]:
    """Group ``--name value ...`` arguments into ``(name, values)`` pairs, as redis-server does.

    Raises ConfigError for an argument that belongs to no option."""
    options: list[tuple[str, list[str]]] = []
    needs_value = False
    for position, arg in enumerate(args):
        if arg.startswith("--") and not needs_value:
            words = split_args(arg[2:].encode("utf-8", "surrogateescape"))
            if not words:
                raise ConfigError(f"Invalid option '{arg}'")
            name, *values = (word.decode("utf-8", "surrogateescape") for word in words)
            needs_value = not values
            if needs_value and name.lower() == "save":
                # `--save` with nothing after it (or before another option) means `--save ""`.
                following = args[position + 1] if position + 1 < len(args) else None
                if following is None or following.startswith("--"):
                    values, needs_value = [""], False
            options.append((name, values))
        elif options:
            options[-1][1].append(arg)
            needs_value = False
        else:
            raise ConfigError(
                f"Unexpected argument '{arg}': options are written --name value (see zyst --help)"
            )
    return options


def parse_args(argv: list[str]) -> Config:
    """The configuration given by ``argv`` (without the program name): defaults, then the
    config file if the first argument names one, then the options. ConfigError if invalid."""
    config = Config()
    loader = ConfigLoader(config)
    args = list(argv)
    if args and not args[0].startswith("-"):
        config.config_file = os.path.abspath(args[0])
        loader.load_file(args.pop(0))
    loader.load_options(split_options(args), "the command line")
    return config


def main(argv: list[str] | None = None) -> int:
    """Run ``zyst`` with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("-v", "--version"):
        print(version())
        return 0
    if args and args[0] in ("-h", "--help"):
        print(usage())
        return 0
    if args and args[0] in ("check-aof", "check-rdb"):
        from zyst.persistence import checkers

        if args[0] == "check-aof":
            return checkers.check_aof_main(args[1:], sys.stdin, sys.stdout)
        return checkers.check_rdb_main(args[1:], sys.stdout)
    try:
        config = parse_args(args)
    except ConfigError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    # Imported here: the server pulls in the whole stack, which parsing arguments never needs.
    from zyst.server import run

    return run(config)
