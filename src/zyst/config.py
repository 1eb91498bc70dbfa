"""Every setting of the server: its default, how it is parsed and shown, and whether it may change.

This module owns :class:`Config` (plain typed attributes, one per setting), the declarative table
:data:`SETTINGS` that drives everything else, CONFIG GET / CONFIG SET, and the loading of
redis.conf-style files and of command-line options (:class:`ConfigLoader`).

Invariants:

- a setting is declared once, in :data:`SETTINGS`: its wire name (dashes, as Redis spells it), the
  attribute of :class:`Config` holding it, a parser from arguments to a value, a formatter from the
  value to the bytes CONFIG GET shows, and whether CONFIG SET may change it at run time;
- parsers raise :class:`ValueError` whose text is Redis's own (``argument must be 'yes' or
  'no'``); CONFIG SET wraps it in ``ERR CONFIG SET failed ...``, the file loader in a
  ``FATAL CONFIG FILE ERROR`` report naming the file and line;
- CONFIG SET is all or nothing: every name is checked before any value is parsed, and when a value
  or a change hook fails, every setting of the call gets its old value back.

Config file syntax (redis.conf)::

    # a comment
    port 6380
    bind 127.0.0.1 ::1
    appendonly "yes"
    save 900 1
    save 300 10

One directive per line, names case-insensitive, arguments split as Redis's ``sdssplitargs``
splits them (quotes allowed). ``save`` lines add up within one load; ``save ""`` clears them.
Besides the settings, the loader reads Redis's other directives: ``include <file>`` (read in
place), ``rename-command <command> <name>`` (checked here, applied to the command table at
start: :attr:`Config.renames`), ``user``, and Redis 7.0's settings Zyst does not implement
(:mod:`zyst.config_ignored`: checked, then listed in :attr:`Config.ignored` for the start-up
log).
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from zyst import __version__, errors, keyevents
from zyst.errors import CommandError, c_string
from zyst.glob import stringmatch
from zyst.numbers import LLONG_MAX, strict_int
from zyst.protocol.inline import split_args

__all__ = [
    "SETTINGS",
    "ChangeHook",
    "Config",
    "ConfigError",
    "ConfigLoader",
    "OutputLimit",
    "OutputLimits",
    "Setting",
    "apply_option",
    "default_dir",
    "find_setting",
    "load_config_file",
]

T = TypeVar("T")

ChangeHook = Callable[[str], None]
"""Called with a setting's wire name after CONFIG SET changed it; may raise ValueError to refuse."""

INT_MAX = 2**31 - 1
UINT_MAX = 2**32 - 1
ULLONG_MAX = 2**64 - 1
MAX_BIND_ADDRESSES = 16  # Redis's CONFIG_BINDADDR_MAX

# -- error texts (byte for byte Redis 7.0's) ------------------------------------------------
BAD_DIRECTIVE = "Bad directive or wrong number of arguments"
WRONG_ARG_COUNT = "wrong number of arguments"
UNBALANCED_QUOTES = "Unbalanced quotes in configuration line"
NOT_BOOL = "argument must be 'yes' or 'no'"
NOT_INTEGER = "argument couldn't be parsed into an integer"
NOT_MEMORY = "argument must be a memory value"
INVALID_SAVE = "Invalid save parameters"
FILENAME_IS_PATH = "appendfilename can't be a path, just a filename"
EMPTY_DIRNAME = "appenddirname can't be empty"
DIRNAME_IS_PATH = "appenddirname can't be a path, just a dirname"
DBFILENAME_IS_PATH = "dbfilename can't be a path, just a filename"
TOO_MANY_BIND = "Too many bind addresses specified."
IMMUTABLE = "can't set immutable config"
PROTECTED = "can't set protected config"
BAD_PERCENTILES = "Invalid latency-tracking-info-percentiles parameters"
PERCENTILES_RANGE = "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"
DUPLICATE = "duplicate parameter"
EMPTY_DIR = "dir can't be empty"
OBUF_ARG_COUNT = "Wrong number of arguments in buffer limit configuration."
OBUF_CLASS = "Invalid client class specified in buffer limit configuration."
OBUF_VALUE = "Error in hard, soft or soft_seconds setting in buffer limit configuration."
NOT_OCTAL = "argument couldn't be parsed as an octal number"


def not_in_range(low: int, high: int) -> str:
    return f"argument must be between {low} and {high} inclusive"


def not_one_of(choices: tuple[str, ...]) -> str:
    return f"argument(s) must be one of the following: {', '.join(choices)}"


def config_set_unknown(name: bytes) -> str:
    """The reply to CONFIG SET naming an unknown setting (as the client spelled it)."""
    return f"ERR Unknown option or number of arguments for CONFIG SET - '{c_string(name)}'"


def config_set_failed(name: str, reason: str) -> str:
    return f"ERR CONFIG SET failed (possibly related to argument '{name}') - {reason}"


class ConfigError(Exception):
    """The configuration (file or command line) is invalid; ``message`` is the full report."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# -- parsers: list of arguments → value, ValueError with Redis's text -----------------------
def _single(parse: Callable[[str], T]) -> Callable[[list[str]], T]:
    """A parser of exactly one argument (most settings)."""

    def parse_args(args: list[str]) -> T:
        if len(args) != 1:
            raise ValueError(WRONG_ARG_COUNT)
        return parse(args[0])

    return parse_args


def parse_bool(text: str) -> bool:
    """``yes`` or ``no``, any case."""
    lowered = text.lower()
    if lowered == "yes":
        return True
    if lowered == "no":
        return False
    raise ValueError(NOT_BOOL)


def parse_strict_int(text: str) -> int:
    """A decimal 64-bit integer written exactly as Redis's ``string2ll`` accepts it."""
    value = strict_int(text.encode("utf-8", "surrogateescape"))
    if value is None:
        raise ValueError(NOT_INTEGER)
    return value


_MEMORY = re.compile(r"([0-9]*)(|b|k|kb|m|mb|g|gb)", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2, "g": 1000**3}
_UNITS["gb"] = 1024**3


def parse_memory(text: str) -> int:
    """A byte count with an optional unit (``100``, ``100k``, ``512mb``, ``1GB``), as Redis's
    ``memtoull``: k/m/g are powers of 1000, kb/mb/gb powers of 1024, no digits means 0, and a
    number too big saturates at 2**64 - 1."""
    match = _MEMORY.fullmatch(text)
    if match is None:
        raise ValueError(NOT_MEMORY)
    digits, unit = match.groups()
    number = min(int(digits or "0"), ULLONG_MAX)
    return min(number * _UNITS[unit.lower()], ULLONG_MAX)


def _in_range(parse_number: Callable[[str], int], low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = parse_number(text)
        if not low <= value <= high:
            raise ValueError(not_in_range(low, high))
        return value

    return parse


def _integer(low: int, high: int) -> Callable[[list[str]], int]:
    return _single(_in_range(parse_strict_int, low, high))


def _memory(low: int, high: int) -> Callable[[list[str]], int]:
    return _single(_in_range(parse_memory, low, high))


def _enum(*choices: str) -> Callable[[list[str]], str]:
    def parse(text: str) -> str:
        lowered = text.lower()
        if lowered not in choices:
            raise ValueError(not_one_of(choices))
        return lowered

    return _single(parse)


_STRTOLL_OCTAL = re.compile(r"[ \t\n\v\f\r]*([-+]?)([0-7]*)")


def parse_octal(text: str) -> int:
    """A number in base 8 as C's ``strtoll(text, &end, 8)`` reads it, nothing after it (blanks
    and a sign first, an empty string is 0), as Redis reads its octal settings."""
    match = _STRTOLL_OCTAL.fullmatch(text)
    if match is None:
        raise ValueError(NOT_OCTAL)
    sign, digits = match.groups()
    value = int(digits, 8) if digits else 0
    return -value if sign == "-" else value


def _octal(high: int) -> Callable[[list[str]], int]:
    """An octal permission mask within 0..``high``; Redis shows the bounds in octal too, and
    checks the number as unsigned (a negative one is out of range)."""

    def parse(text: str) -> int:
        value = parse_octal(text)
        if not 0 <= value <= high:
            raise ValueError(f"argument must be between 0 and {high:o} inclusive")
        return value

    return _single(parse)


def _format_octal(value: int) -> bytes:
    return b"%o" % value


def _any_text(text: str) -> str:
    return text


_parse_hz_value = _in_range(parse_strict_int, 0, INT_MAX)


def _parse_hz(text: str) -> int:
    # Redis accepts 0..INT_MAX but clamps what it keeps (and shows) to 1..500.
    return max(1, min(_parse_hz_value(text), 500))


def _parse_notify_flags(text: str) -> str:
    # Kept as given once valid: CONFIG GET prints the bits back in Redis's form, which drops
    # classes outside "A" (n) when A is set, while the server still publishes them.
    keyevents.parse_flags(text)
    return text


def _format_notify_flags(value: str) -> bytes:
    return keyevents.format_flags(keyevents.parse_flags(value)).encode()


def _parse_filename(text: str) -> str:
    if not text or os.path.basename(text) != text or text in (".", ".."):
        raise ValueError(FILENAME_IS_PATH)
    return text


def _parse_dirname(text: str) -> str:
    if not text:
        raise ValueError(EMPTY_DIRNAME)
    if "/" in text or "\\" in text:
        raise ValueError(DIRNAME_IS_PATH)
    return text


def _parse_dbfilename(text: str) -> str:
    # As Redis's pathIsBaseName: no slash (an empty name is allowed, as there).
    if "/" in text:
        raise ValueError(DBFILENAME_IS_PATH)
    return text


def _parse_dir(text: str) -> str:
    # Redis chdir()s and shows getcwd(): the absolute path, resolved against the current
    # directory at the time the setting is read.
    if not text:
        raise ValueError(EMPTY_DIR)
    return os.path.abspath(text)


def _parse_bind(args: list[str]) -> list[str]:
    if len(args) > MAX_BIND_ADDRESSES:
        raise ValueError(TOO_MANY_BIND)
    # As in Redis, one empty argument means no address at all (no TCP listener).
    if args == [""]:
        return []
    return list(args)


_SAVE_NUMBER = re.compile(r"\s*[-+]?[0-9]*")


def _parse_save(args: list[str]) -> str:
    """``save <seconds> <changes> [<seconds> <changes> ...]`` or ``save ""``, normalized to
    decimal pairs (Redis reads each number with ``strtoll`` and shows it back as it stored it);
    seconds at least 1, changes at least 0."""
    if args == [""]:
        args = []
    if len(args) % 2:
        raise ValueError(INVALID_SAVE)
    numbers: list[str] = []
    for position, arg in enumerate(args):
        if not _SAVE_NUMBER.fullmatch(arg):
            raise ValueError(INVALID_SAVE)
        digits = arg.strip()
        value = int(digits) if digits.lstrip("+-") else 0
        if value < (1 if position % 2 == 0 else 0):
            raise ValueError(INVALID_SAVE)
        numbers.append(str(value))
    return " ".join(numbers)


# -- client-output-buffer-limit ----------------------------------------------------------------
# The client classes of the setting, in the order CONFIG GET shows them; a client's class is
# an index into the setting's value: OUTPUT_REPLICA for an attached replica, OUTPUT_PUBSUB for a
# subscriber, OUTPUT_NORMAL for everyone else.
OUTPUT_CLASSES = ("normal", "slave", "pubsub")
OUTPUT_NORMAL = 0
OUTPUT_REPLICA = 1
OUTPUT_PUBSUB = 2
_OUTPUT_CLASS_NAMES = {"normal": 0, "slave": 1, "replica": 1, "pubsub": 2}


@dataclass(frozen=True, slots=True)
class OutputLimit:
    """One class's ``client-output-buffer-limit``: a client whose pending output reaches
    ``hard`` bytes is disconnected at once; one that stays at ``soft`` bytes or more for longer
    than ``seconds`` too. 0 turns a limit off."""

    hard: int
    soft: int
    seconds: int


OutputLimits = tuple[OutputLimit, OutputLimit, OutputLimit]
DEFAULT_OUTPUT_LIMITS: OutputLimits = (
    OutputLimit(0, 0, 0),
    OutputLimit(256 * 1024 * 1024, 64 * 1024 * 1024, 60),
    OutputLimit(32 * 1024 * 1024, 8 * 1024 * 1024, 60),
)
_SECONDS = re.compile(r"\s*[-+]?[0-9]*")


def _parse_output_limits(args: list[str]) -> dict[int, OutputLimit]:
    """``<class> <hard> <soft> <seconds>`` repeated: the classes named, each with its new
    limits (the others keep theirs: see :func:`_merge_output_limits`). All or nothing, as
    Redis checks every group before taking any."""
    if len(args) % 4:
        raise ValueError(OBUF_ARG_COUNT)
    changes: dict[int, OutputLimit] = {}
    for start in range(0, len(args), 4):
        name, hard, soft, seconds = args[start : start + 4]
        index = _OUTPUT_CLASS_NAMES.get(name.lower())
        if index is None:
            raise ValueError(OBUF_CLASS)
        try:
            hard_bytes = parse_memory(hard)
            soft_bytes = parse_memory(soft)
        except ValueError:
            raise ValueError(OBUF_VALUE) from None
        # Redis reads the seconds with strtoll: blanks and a sign before the digits, and no
        # digits at all is 0; nothing may follow them.
        if not _SECONDS.fullmatch(seconds):
            raise ValueError(OBUF_VALUE)
        digits = seconds.strip()
        period = int(digits) if digits.lstrip("+-") else 0
        if period < 0:
            raise ValueError(OBUF_VALUE)
        changes[index] = OutputLimit(hard_bytes, soft_bytes, period)
    return changes


def _merge_output_limits(current: OutputLimits, changes: dict[int, OutputLimit]) -> OutputLimits:
    merged = list(current)
    for index, limit in changes.items():
        merged[index] = limit
    return (merged[0], merged[1], merged[2])


def _format_output_limits(value: OutputLimits) -> bytes:
    return b" ".join(
        b"%s %d %d %d" % (name.encode(), limit.hard, limit.soft, limit.seconds)
        for name, limit in zip(OUTPUT_CLASSES, value, strict=True)
    )


# -- formatters: value → the bytes CONFIG GET shows ------------------------------------------
def _parse_percentiles(args: list[str]) -> list[float]:
    """``latency-tracking-info-percentiles``: numbers within 0..100 (one empty argument: none)."""
    if not args or (len(args) == 1 and not args[0]):
        return []
    values: list[float] = []
    for arg in args:
        try:
            value = float(arg)
        except ValueError:
            value = float("nan")
        if value != value or arg.strip() != arg or value in (float("inf"), -float("inf")):
            raise ValueError(BAD_PERCENTILES)
        if not 0.0 <= value <= 100.0:
            raise ValueError(PERCENTILES_RANGE)
        values.append(value)
    return values


def format_percentile(value: float) -> str:
    """A percentile as Redis prints it: ``%f`` without trailing zeros (50, 99.9)."""
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _format_percentiles(value: list[float]) -> bytes:
    return " ".join(format_percentile(v) for v in value).encode()


def _format_bool(value: bool) -> bytes:
    return b"yes" if value else b"no"


def _format_int(value: int) -> bytes:
    return b"%d" % value


def _format_str(value: str) -> bytes:
    return value.encode("utf-8", "surrogateescape")


def _format_list(value: list[str]) -> bytes:
    return " ".join(value).encode("utf-8", "surrogateescape")


@dataclass(frozen=True, slots=True)
class Setting(Generic[T]):
    """One row of the settings table."""

    name: str
    """Wire name, as in redis.conf, CONFIG GET/SET and ``--name`` (dashes, lower case)."""
    attr: str
    """The :class:`Config` attribute holding the value."""
    parse: Callable[[list[str]], T]
    """Arguments (one per setting unless ``multi_arg``) → value; ValueError with Redis's text."""
    format: Callable[[T], bytes]
    mutable: bool
    """Whether CONFIG SET may change it while the server runs."""
    hint: str
    """What the value looks like, for ``--help``."""
    doc: str
    multi_arg: bool = False
    """Takes several arguments on a redis.conf line; CONFIG SET splits its value on spaces."""
    accumulates: bool = False
    """Several lines of one load add up (``save``) instead of the last one winning."""
    merge: Callable[[Any, Any], Any] | None = None
    """The parsed value changes only part of the current one (``client-output-buffer-limit``
    names the classes it sets): ``merge(current, parsed)`` is the new value."""
    protected: bool = False
    """CONFIG SET may change it only where ``enable-protected-configs`` allows (Redis's
    PROTECTED_CONFIG: a file name the server writes to)."""
    hidden: bool = False
    """Left out of CONFIG GET's glob matches (asked by its exact name only): a testing knob."""


_BOOL = "yes|no"
_POLICIES = (
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "noeviction",
)


# -- one constructor per kind of setting, so that each row of the table says only what is its own
def _setting(
    name: str,
    parse: Callable[[list[str]], T],
    format: Callable[[T], bytes],
    hint: str,
    doc: str,
    *,
    mutable: bool = True,
    attr: str = "",
    multi_arg: bool = False,
    accumulates: bool = False,
    merge: Callable[[Any, Any], Any] | None = None,
    protected: bool = False,
    hidden: bool = False,
) -> Setting[T]:
    """A row of the table; its attribute is its name with underscores unless ``attr`` says."""
    attr = attr or name.replace("-", "_")
    return Setting(
        name,
        attr,
        parse,
        format,
        mutable,
        hint,
        doc,
        multi_arg,
        accumulates,
        merge,
        protected,
        hidden,
    )


def _int_setting(
    name: str, low: int, high: int, doc: str, *, hint: str = "N", mutable: bool = True
) -> Setting[int]:
    """An integer within ``low..high``."""
    return _setting(name, _integer(low, high), _format_int, hint, doc, mutable=mutable)


def _memory_setting(name: str, low: int, high: int, doc: str) -> Setting[int]:
    """A byte count with an optional unit, within ``low..high``, shown as a plain number."""
    return _setting(name, _memory(low, high), _format_int, "BYTES", doc)


def _replica_settings(
    name: str,
    low: int,
    hint: str,
    doc: str,
    parse: Callable[[list[str]], Any] | None = None,
    format: Callable[[Any], bytes] = _format_int,
) -> tuple[Setting[Any], ...]:
    """A setting named ``...replica...`` and its older ``...slave...`` name, one setting under
    two names as in Redis: an integer from ``low`` to INT_MAX unless ``parse`` says."""
    attr = name.replace("-", "_")
    check = parse if parse is not None else _integer(low, INT_MAX)
    return tuple(
        _setting(alias, check, format, hint, doc, attr=attr)
        for alias in (name, name.replace("replica", "slave"))
    )


def _parse_replicaof(args: list[str]) -> str:
    """``replicaof <host> <port>`` → ``"host port"``; ``replicaof no one`` → ``""`` (a
    primary). The port is read as Redis's ``strtol`` reads it: blanks and a sign before the
    digits, nothing after them."""
    if not args:
        return ""  # (how CONFIG GET shows none: read back as none)
    if len(args) != 2:
        raise ValueError(WRONG_ARG_COUNT)
    host, port = args
    if host.lower() == "no" and port.lower() == "one":
        return ""
    if not re.fullmatch(r"[ \t\n\v\f\r]*[-+]?[0-9]*", port):
        raise ValueError(errors.BAD_MASTER_PORT)
    digits = port.strip()
    number = int(digits) if digits.lstrip("+-") else 0
    if not 0 <= number <= 65535:
        raise ValueError(errors.BAD_MASTER_PORT)
    return f"{host} {number}"


def _bool_setting(name: str, doc: str, *, mutable: bool = True) -> Setting[bool]:
    return _setting(name, _single(parse_bool), _format_bool, _BOOL, doc, mutable=mutable)


def _enum_setting(name: str, choices: tuple[str, ...], hint: str, doc: str) -> Setting[str]:
    """One of ``choices`` (any case, kept lower case); ``choices`` in the order errors list them."""
    return _setting(name, _enum(*choices), _format_str, hint, doc)


def _str_setting(
    name: str, parse: Callable[[str], str], hint: str, doc: str, *, mutable: bool = True
) -> Setting[str]:
    return _setting(name, _single(parse), _format_str, hint, doc, mutable=mutable)


# Redis tunes its compact encodings with these; Zyst has one representation per type, and uses
# them to report the encoding Redis would have (OBJECT ENCODING, zyst.encodings). Redis 7 keeps
# the older "ziplist" names as aliases of the "listpack" ones.
_ENCODING_SETTINGS: tuple[tuple[str, str, int, int], ...] = (
    ("list-max-listpack-size", "list_max_listpack_size", -5, 2**31 - 1),
    ("list-max-ziplist-size", "list_max_listpack_size", -5, 2**31 - 1),
    ("list-compress-depth", "list_compress_depth", 0, 2**31 - 1),
    ("hash-max-listpack-entries", "hash_max_listpack_entries", 0, 2**63 - 1),
    ("hash-max-ziplist-entries", "hash_max_listpack_entries", 0, 2**63 - 1),
    ("hash-max-listpack-value", "hash_max_listpack_value", 0, 2**63 - 1),
    ("hash-max-ziplist-value", "hash_max_listpack_value", 0, 2**63 - 1),
    ("set-max-intset-entries", "set_max_intset_entries", 0, 2**63 - 1),
    ("zset-max-listpack-entries", "zset_max_listpack_entries", 0, 2**63 - 1),
    ("zset-max-ziplist-entries", "zset_max_listpack_entries", 0, 2**63 - 1),
    ("zset-max-listpack-value", "zset_max_listpack_value", 0, 2**63 - 1),
    ("zset-max-ziplist-value", "zset_max_listpack_value", 0, 2**63 - 1),
)
_NO_ENCODINGS = "Redis's compact-encoding threshold (what OBJECT ENCODING reports follows it)"

SETTINGS: tuple[Setting[Any], ...] = (
    _int_setting("port", 0, 65535, "TCP port to listen on"),
    _setting(
        "bind",
        _parse_bind,
        _format_list,
        "ADDR ...",
        "addresses to listen on (-ADDR: skipped if this host lacks it; *, ::*: all)",
        multi_arg=True,
    ),
    # -- net: TLS and the Unix socket (zyst.security.tls, zyst.listeners) --
    _int_setting("tls-port", 0, 65535, "TLS port to listen on (0: none)"),
    _str_setting("tls-cert-file", _any_text, "FILE", "server certificate (chain), PEM"),
    _str_setting("tls-key-file", _any_text, "FILE", "private key of tls-cert-file, PEM"),
    _str_setting("tls-key-file-pass", _any_text, "PASS", "passphrase of tls-key-file"),
    _str_setting(
        "tls-client-cert-file",
        _any_text,
        "FILE",
        "certificate for outgoing TLS (else the server's)",
    ),
    _str_setting("tls-client-key-file", _any_text, "FILE", "private key of tls-client-cert-file"),
    _str_setting("tls-client-key-file-pass", _any_text, "PASS", "its passphrase"),
    _str_setting("tls-dh-params-file", _any_text, "FILE", "DH parameters, PEM"),
    _str_setting("tls-ca-cert-file", _any_text, "FILE", "CA certificates clients are checked with"),
    _str_setting("tls-ca-cert-dir", _any_text, "DIR", "directory of CA certificates (c_rehash)"),
    _str_setting(
        "tls-protocols", _any_text, "LIST", "TLSv1 TLSv1.1 TLSv1.2 TLSv1.3 (default 1.2+1.3)"
    ),
    _str_setting("tls-ciphers", _any_text, "LIST", "OpenSSL cipher list (TLSv1.2 and below)"),
    _str_setting("tls-ciphersuites", _any_text, "LIST", "OpenSSL TLSv1.3 ciphersuites"),
    _enum_setting(
        "tls-auth-clients",
        ("no", "yes", "optional"),
        "yes|no|optional",
        "client certificates: required, not asked for, or checked when given",
    ),
    _bool_setting("tls-prefer-server-ciphers", "the server's cipher order wins"),
    _bool_setting("tls-session-caching", "resume TLS sessions"),
    _int_setting("tls-session-cache-size", 0, INT_MAX, "TLS sessions kept (0: no limit)"),
    _int_setting("tls-session-cache-timeout", 0, INT_MAX, "seconds a TLS session stays resumable"),
    _bool_setting("tls-replication", "TLS for replication links (accepted, no replication yet)"),
    _bool_setting("tls-cluster", "TLS for the cluster bus (accepted, no cluster)"),
    _str_setting("unixsocket", _any_text, "PATH", "Unix socket to listen on", mutable=False),
    _setting(
        "unixsocketperm",
        _octal(0o777),
        _format_octal,
        "OCTAL",
        "permissions of the Unix socket file (0: as the umask leaves them)",
        mutable=False,
    ),
    # -- end of net --
    _int_setting(
        "tcp-backlog", 0, INT_MAX, "listen queue length of every listening socket", mutable=False
    ),
    _int_setting(
        "tcp-keepalive",
        0,
        INT_MAX,
        "TCP keepalive probes on accepted connections after this long idle (0: off)",
        hint="SECONDS",
    ),
    _str_setting(
        "dir", _parse_dir, "PATH", "data directory (default $XDG_DATA_HOME/zyst)", mutable=False
    ),
    _bool_setting("appendonly", "log every write to the append-only file"),
    _str_setting(
        "appendfilename",
        _parse_filename,
        "NAME",
        "name of the append-only file inside dir",
        mutable=False,
    ),
    _str_setting(
        "appenddirname",
        _parse_dirname,
        "NAME",
        "directory inside dir holding the AOF's base, incremental files and manifest",
        mutable=False,
    ),
    _enum_setting(
        "appendfsync",
        ("everysec", "always", "no"),
        "always|everysec|no",
        "when the append-only file is fsync()ed",
    ),
    _bool_setting(
        "aof-use-rdb-preamble", "an AOF rewrite writes the base in RDB format (else as commands)"
    ),
    _bool_setting(
        "aof-timestamp-enabled", "annotate the AOF with #TS:<unix time> lines, once a second"
    ),
    _int_setting(
        "auto-aof-rewrite-percentage",
        0,
        INT_MAX,
        "rewrite the AOF when it grew by this percentage since the last rewrite (0: never)",
    ),
    _memory_setting(
        "auto-aof-rewrite-min-size", 0, LLONG_MAX, "no automatic AOF rewrite below this size"
    ),
    _int_setting("databases", 1, INT_MAX, "number of databases", mutable=False),
    _enum_setting(
        "loglevel",
        ("debug", "verbose", "notice", "warning"),
        "debug|verbose|notice|warning",
        "log verbosity",
    ),
    _str_setting("logfile", str, "PATH", 'log file ("" logs to standard output)', mutable=False),
    _bool_setting(
        "daemonize",
        "run in the background, with a pid file (default /var/run/zyst.pid)",
        mutable=False,
    ),
    _str_setting(
        "pidfile", str, "PATH", "write the server's pid to this file while it runs", mutable=False
    ),
    # -- conf: supervision and syslog (zyst.supervise, zyst.logsetup) --
    _setting(
        "supervised",
        _enum("upstart", "systemd", "auto", "no"),
        _format_str,
        "upstart|systemd|auto|no",
        "tell a supervisor when the server is ready (systemd: sd_notify; auto: from the "
        "environment)",
        mutable=False,
    ),
    _bool_setting("syslog-enabled", "log to the system log too", mutable=False),
    _str_setting(
        "syslog-ident", _any_text, "NAME", "program name in the system log", mutable=False
    ),
    _setting(
        "syslog-facility",
        _enum("user", *(f"local{n}" for n in range(8))),
        _format_str,
        "user|local0..local7",
        "system log facility",
        mutable=False,
    ),
    # -- end of conf --
    _setting(
        "hz", _single(_parse_hz), _format_int, "N", "background task frequency, kept within 1..500"
    ),
    # Modules (zyst.modules): whether MODULE LOAD/LOADEX/UNLOAD may run. (``loadmodule`` lines
    # are no setting: ConfigLoader queues them in Config.modules.)
    _setting(
        "enable-module-command",
        _enum("no", "yes", "local"),
        _format_str,
        "no|yes|local",
        "whether MODULE LOAD and UNLOAD may run (local: from loopback connections only)",
        mutable=False,
    ),
    _int_setting("maxclients", 1, UINT_MAX, "most clients connected at once"),
    _memory_setting(
        "hll-sparse-max-bytes",
        0,
        LLONG_MAX,
        "largest sparse HyperLogLog (header included); past it, it turns dense",
    ),
    _memory_setting(
        "proto-max-bulk-len", 1024 * 1024, LLONG_MAX, "largest bulk string a client may send"
    ),
    _memory_setting(
        "client-query-buffer-limit", 1024 * 1024, LLONG_MAX, "largest pending input of one client"
    ),
    _setting(
        "client-output-buffer-limit",
        _parse_output_limits,
        _format_output_limits,
        "CLASS HARD SOFT SECONDS ...",
        "disconnect a client (class normal, replica or pubsub) whose pending output reaches HARD "
        "bytes, or stays at SOFT bytes or more for longer than SECONDS",
        multi_arg=True,
        merge=_merge_output_limits,
    ),
    _int_setting("timeout", 0, INT_MAX, "close clients idle this long (0: never)", hint="SECONDS"),
    _setting(
        "save",
        _parse_save,
        _format_str,
        "SECONDS CHANGES ...",
        'snapshot to dbfilename after SECONDS with at least CHANGES writes ("" never)',
        multi_arg=True,
        accumulates=True,
    ),
    _setting(
        "dbfilename",
        _single(_parse_dbfilename),
        _format_str,
        "NAME",
        "name of the RDB snapshot inside dir",
        protected=True,
    ),
    _bool_setting("rdbcompression", "LZF-compress long strings in RDB snapshots"),
    _bool_setting("rdbchecksum", "end RDB snapshots with a CRC64 checksum", mutable=False),
    _bool_setting(
        "stop-writes-on-bgsave-error", "refuse writes (MISCONF) while the last save failed"
    ),
    _bool_setting(
        "rdb-del-sync-files", "accepted and shown (no replication: no sync files are made)"
    ),
    _setting(
        "rdb-key-save-delay",
        _integer(-(2**31), INT_MAX),
        _format_int,
        "MICROSECONDS",
        "testing: a pause after each key a background save or AOF rewrite writes",
        hidden=True,
    ),
    _setting(
        "enable-protected-configs",
        _enum("no", "yes", "local"),
        _format_str,
        "no|yes|local",
        "whether CONFIG SET may change dbfilename (local: from loopback connections only)",
        mutable=False,
    ),
    # Authentication (zyst.commands.guard): requirepass is the default user's one password.
    _str_setting(
        "requirepass",
        str,
        "PASSWORD",
        'the default user\'s password ("": none, the default user is nopass)',
    ),
    _bool_setting(
        "protected-mode",
        "while the default user has no password, refuse connections from other hosts",
    ),
    # The memory cap and eviction (zyst.eviction, zyst.memory).
    _memory_setting(
        "maxmemory", 0, ULLONG_MAX, "the cap on used_memory (0: none); see maxmemory-policy"
    ),
    _enum_setting(
        "maxmemory-policy",
        _POLICIES,
        "POLICY",
        "which keys go when used_memory passes maxmemory (noeviction: writes are refused)",
    ),
    _int_setting("maxmemory-samples", 1, INT_MAX, "keys sampled per eviction pick (LRU, LFU, TTL)"),
    _int_setting(
        "maxmemory-eviction-tenacity",
        0,
        100,
        "how long one eviction run may take before it goes on in the background (0..100)",
    ),
    _setting(
        "notify-keyspace-events",
        _single(_parse_notify_flags),
        _format_notify_flags,
        "CLASSES",
        "keyspace events to publish (K E g $ l s h z x e t m d n A), '' for none",
    ),
    _int_setting("lfu-log-factor", 0, INT_MAX, "how slowly LFU access counters grow"),
    _int_setting(
        "lfu-decay-time", 0, INT_MAX, "minutes per decrement of an LFU counter", hint="MINUTES"
    ),
    *(
        _setting(name, _integer(low, high), _format_int, "N", _NO_ENCODINGS, attr=attr)
        for name, attr, low, high in _ENCODING_SETTINGS
    ),
    _int_setting(
        "stream-node-max-entries", 0, LLONG_MAX, "most entries of one stream node (0: no limit)"
    ),
    _memory_setting(
        "stream-node-max-bytes", 0, LLONG_MAX, "most bytes of one stream node (0: no limit)"
    ),
    _int_setting(
        "tracking-table-max-keys",
        0,
        LLONG_MAX,
        "most keys client-side caching remembers readers of (0: no limit)",
    ),
    _int_setting(
        "slowlog-log-slower-than",
        -1,
        LLONG_MAX,
        "log commands slower than this to SLOWLOG (-1: never)",
        hint="MICROSECONDS",
    ),
    _int_setting("slowlog-max-len", 0, LLONG_MAX, "most entries SLOWLOG keeps"),
    # Replication, as a primary (zyst.replication).
    _memory_setting(
        "repl-backlog-size", 1, LLONG_MAX, "replication stream kept for partial resyncs"
    ),
    _int_setting(
        "repl-backlog-ttl",
        0,
        LLONG_MAX,
        "seconds without replicas before the backlog is freed (0: never)",
        hint="SECONDS",
    ),
    *_replica_settings(
        "repl-ping-replica-period", 1, "SECONDS", "how often a primary PINGs its replicas"
    ),
    _int_setting(
        "repl-timeout", 1, INT_MAX, "seconds a silent replication link lives", hint="SECONDS"
    ),
    *_replica_settings(
        "min-replicas-to-write",
        0,
        "N",
        "writes are refused (NOREPLICAS) with fewer good replicas than this (0: never)",
    ),
    *_replica_settings(
        "min-replicas-max-lag",
        0,
        "SECONDS",
        "a good replica acknowledged within this many seconds (0: the check is off)",
    ),
    _bool_setting("repl-diskless-sync", "full syncs stream the snapshot, with no file"),
    _int_setting(
        "repl-diskless-sync-delay",
        0,
        INT_MAX,
        "seconds a diskless sync waits for more replicas to share it",
        hint="SECONDS",
    ),
    _int_setting(
        "repl-diskless-sync-max-replicas",
        0,
        INT_MAX,
        "a diskless sync starts at once when this many replicas wait (0: no limit)",
    ),
    # Replication, as a replica (zyst.replication.replica). replicaof follows REPLICAOF, so
    # that CONFIG REWRITE writes the primary this server follows now (as Redis does).
    *(
        _setting(
            name,
            _parse_replicaof,
            _format_str,
            "HOST PORT",
            'the primary to replicate ("no one": none); REPLICAOF changes it',
            mutable=False,
            attr="replicaof",
            multi_arg=True,
        )
        for name in ("replicaof", "slaveof")
    ),
    _str_setting("masterauth", _any_text, "PASSWORD", "password to AUTH with at the primary"),
    _str_setting("masteruser", _any_text, "USER", "ACL user to AUTH as at the primary"),
    *_replica_settings(
        "replica-read-only",
        0,
        _BOOL,
        "a replica refuses writes from its clients (READONLY)",
        _single(parse_bool),
        _format_bool,
    ),
    *_replica_settings(
        "replica-serve-stale-data",
        0,
        _BOOL,
        "a replica whose link is down still serves its data (else MASTERDOWN)",
        _single(parse_bool),
        _format_bool,
    ),
    *_replica_settings(
        "replica-ignore-maxmemory",
        0,
        _BOOL,
        "a replica evicts nothing (its primary's DELs keep it in line)",
        _single(parse_bool),
        _format_bool,
    ),
    *_replica_settings("replica-priority", 0, "N", "Sentinel promotes the lowest first (0: never)"),
    *_replica_settings(
        "replica-announce-ip",
        0,
        "IP",
        "the address a replica gives its primary (INFO, Sentinel)",
        _single(_any_text),
        _format_str,
    ),
    *_replica_settings(
        "replica-announce-port",
        0,
        "PORT",
        "the port a replica gives its primary (0: its own)",
        _integer(0, 65535),
    ),
    _bool_setting("replica-announced", "Sentinel lists this replica"),
    *(
        _setting(
            name,
            _integer(0, LLONG_MAX),
            _format_int,
            "MILLISECONDS",
            "how long a script runs before other clients get BUSY and SCRIPT KILL or FUNCTION "
            "KILL may stop it (0: at once)",
            attr="busy_reply_threshold",
        )
        # (lua-time-limit is its older name, an alias in Redis 7.)
        for name in ("busy-reply-threshold", "lua-time-limit")
    ),
    _int_setting(
        "latency-monitor-threshold",
        0,
        LLONG_MAX,
        "record LATENCY events this slow (0: off)",
        hint="MILLISECONDS",
    ),
    _setting(
        "enable-debug-command",
        _enum("no", "yes", "local"),
        _format_str,
        "no|yes|local",
        "whether DEBUG may run (local: from loopback connections only)",
        mutable=False,
    ),
    _bool_setting("latency-tracking", "per-command latency histograms (INFO latencystats)"),
    _setting(
        "latency-tracking-info-percentiles",
        _parse_percentiles,
        _format_percentiles,
        "P ...",
        "the percentiles INFO latencystats shows",
        multi_arg=True,
    ),
    # The HTTP port (zyst.web): Prometheus metrics and the dashboard; off unless a port is given.
    _int_setting(
        "metrics-port",
        0,
        65535,
        "HTTP port serving /metrics (Prometheus) and the dashboard (0: none)",
        mutable=False,
    ),
    _str_setting(
        "metrics-bind",
        _any_text,
        "ADDR",
        "the address the HTTP port listens on",
        mutable=False,
    ),
    # ACL (zyst.security): the users file, what new users may subscribe to, the log's length.
    _setting(
        "aclfile",
        _single(str),
        _format_str,
        "PATH",
        "the users file ACL LOAD reads and ACL SAVE writes (users.acl), loaded at start",
        mutable=False,
    ),
    _enum_setting(
        "acl-pubsub-default",
        ("allchannels", "resetchannels"),
        "allchannels|resetchannels",
        "the channels a new user (or selector) may use",
    ),
    _int_setting("acllog-max-len", 0, LLONG_MAX, "most entries ACL LOG keeps"),
)

_BY_NAME: dict[str, Setting[Any]] = {setting.name: setting for setting in SETTINGS}


def find_setting(name: str | bytes) -> Setting[Any] | None:
    """The setting called ``name`` (any case), or ``None``."""
    if isinstance(name, bytes):
        name = name.decode("utf-8", "replace")
    return _BY_NAME.get(name.lower())


def default_dir(environ: Mapping[str, str] | None = None) -> str:
    """``$XDG_DATA_HOME/zyst``, or ``~/.local/share/zyst`` when that variable is unset, empty
    or not absolute (as the XDG Base Directory specification says)."""
    env: Mapping[str, str] = os.environ if environ is None else environ
    base = env.get("XDG_DATA_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(env.get("HOME") or os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "zyst")


def _decode(value: bytes) -> str:
    # Values are bytes on the wire; surrogateescape keeps odd bytes intact (file names).
    return value.decode("utf-8", "surrogateescape")


@dataclass(eq=False)
class Config:
    """Every setting of one server, with its default; see :data:`SETTINGS` for the rules."""

    port: int = 6379
    bind: list[str] = field(default_factory=lambda: ["127.0.0.1"])
    tls_port: int = 0
    tls_cert_file: str = ""
    tls_key_file: str = ""
    tls_key_file_pass: str = ""
    tls_client_cert_file: str = ""
    tls_client_key_file: str = ""
    tls_client_key_file_pass: str = ""
    tls_dh_params_file: str = ""
    tls_ca_cert_file: str = ""
    tls_ca_cert_dir: str = ""
    tls_protocols: str = ""
    tls_ciphers: str = ""
    tls_ciphersuites: str = ""
    tls_auth_clients: str = "yes"
    tls_prefer_server_ciphers: bool = False
    tls_session_caching: bool = True
    tls_session_cache_size: int = 20 * 1024
    tls_session_cache_timeout: int = 300
    tls_replication: bool = False
    tls_cluster: bool = False
    unixsocket: str = ""
    unixsocketperm: int = 0
    tcp_backlog: int = 511
    tcp_keepalive: int = 300
    dir: str = field(default_factory=default_dir)
    appendonly: bool = True
    appendfilename: str = "appendonly.aof"
    appenddirname: str = "appendonlydir"
    appendfsync: str = "everysec"
    aof_use_rdb_preamble: bool = True
    aof_timestamp_enabled: bool = False
    auto_aof_rewrite_percentage: int = 100
    auto_aof_rewrite_min_size: int = 64 * 1024 * 1024
    databases: int = 16
    loglevel: str = "notice"
    logfile: str = ""
    daemonize: bool = False
    pidfile: str = ""
    supervised: str = "no"
    syslog_enabled: bool = False
    syslog_ident: str = "zyst"  # Redis's is "redis"
    syslog_facility: str = "local0"
    hz: int = 10
    enable_module_command: str = "no"
    maxclients: int = 10000
    proto_max_bulk_len: int = 512 * 1024 * 1024
    client_query_buffer_limit: int = 1024 * 1024 * 1024
    client_output_buffer_limit: OutputLimits = DEFAULT_OUTPUT_LIMITS
    timeout: int = 0
    save: str = "3600 1 300 100 60 10000"
    dbfilename: str = "dump.rdb"
    rdbcompression: bool = True
    rdbchecksum: bool = True
    stop_writes_on_bgsave_error: bool = True
    rdb_del_sync_files: bool = False
    rdb_key_save_delay: int = 0
    repl_backlog_size: int = 1024 * 1024
    repl_backlog_ttl: int = 3600
    repl_ping_replica_period: int = 10
    repl_timeout: int = 60
    min_replicas_to_write: int = 0
    min_replicas_max_lag: int = 10
    repl_diskless_sync: bool = True
    repl_diskless_sync_delay: int = 5
    repl_diskless_sync_max_replicas: int = 0
    replicaof: str = ""
    masterauth: str = ""
    masteruser: str = ""
    replica_read_only: bool = True
    replica_serve_stale_data: bool = True
    replica_ignore_maxmemory: bool = True
    replica_priority: int = 100
    replica_announce_ip: str = ""
    replica_announce_port: int = 0
    replica_announced: bool = True
    enable_protected_configs: str = "no"
    requirepass: str = ""
    protected_mode: bool = True
    maxmemory: int = 0
    maxmemory_policy: str = "noeviction"
    maxmemory_samples: int = 5
    maxmemory_eviction_tenacity: int = 10
    notify_keyspace_events: str = ""
    lfu_log_factor: int = 10
    lfu_decay_time: int = 1
    list_max_listpack_size: int = -2
    list_compress_depth: int = 0
    hash_max_listpack_entries: int = 512  # Redis 7.0's built-in default (its redis.conf says 128)
    hash_max_listpack_value: int = 64
    set_max_intset_entries: int = 512
    zset_max_listpack_entries: int = 128
    zset_max_listpack_value: int = 64
    hll_sparse_max_bytes: int = 3000
    stream_node_max_entries: int = 100
    stream_node_max_bytes: int = 4096
    tracking_table_max_keys: int = 1000000
    slowlog_log_slower_than: int = 10000
    slowlog_max_len: int = 128
    latency_monitor_threshold: int = 0
    busy_reply_threshold: int = 5000  # milliseconds
    latency_tracking: bool = True
    enable_debug_command: str = "no"
    latency_tracking_info_percentiles: list[float] = field(
        default_factory=lambda: [50.0, 99.0, 99.9]
    )
    metrics_port: int = 0
    metrics_bind: str = "127.0.0.1"
    aclfile: str = ""
    acl_pubsub_default: str = "resetchannels"
    acllog_max_len: int = 128
    # Not a setting: the file the settings came from (INFO config_file), "" if none.
    config_file: str = ""
    # Not a setting: the users the config declares (``user <name> <rules...>`` lines: the name
    # and the rules), made at start (zyst.security.acl).
    users: list[list[bytes]] = field(default_factory=list)
    # Not a setting: the config's ``rename-command old new`` lines (``new`` empty: the command
    # is disabled), checked while reading, applied to the command table at start.
    renames: list[tuple[bytes, bytes]] = field(default_factory=list)
    # Not a setting: the directives read and not applied (zyst.config_ignored), in the order
    # first seen, logged once at start.
    ignored: list[str] = field(default_factory=list)
    # Not a setting: the modules to load at start (``loadmodule <path> [arg ...]`` lines, in
    # order: the path and its arguments), loaded before the data (zyst.modules.loader).
    modules: list[list[str]] = field(default_factory=list)
    _hooks: dict[str, list[ChangeHook]] = field(default_factory=dict, init=False, repr=False)

    def on_change(self, name: str, callback: ChangeHook) -> None:
        """Call ``callback(name)`` after CONFIG SET changes setting ``name`` (not when the new
        value equals the old). The callback reads the new value from this object; raising
        ValueError refuses the change: CONFIG SET then restores every setting of its call
        (calling the hooks again) and replies with the error's text."""
        setting = find_setting(name)
        if setting is None:
            raise KeyError(f"no setting called {name!r}")
        self._hooks.setdefault(setting.name, []).append(callback)

    def format(self, name: str) -> bytes:
        """The value of setting ``name`` as CONFIG GET shows it."""
        setting = find_setting(name)
        if setting is None:
            raise KeyError(f"no setting called {name!r}")
        return self._format(setting)

    def _format(self, setting: Setting[Any]) -> bytes:
        formatted: bytes = setting.format(getattr(self, setting.attr))
        return formatted

    def get(self, pattern: bytes) -> list[tuple[bytes, bytes]]:
        """``CONFIG GET pattern``: (name, value) pairs; see :meth:`get_many`."""
        return self.get_many([pattern])

    def get_many(self, patterns: list[bytes]) -> list[tuple[bytes, bytes]]:
        """``CONFIG GET parameter [parameter ...]``: (name, value) pairs, each setting once.

        As in Redis 7, a parameter without ``*``, ``?`` or ``[`` is looked up by name (any
        case) and answered under the name as the client spelled it; other parameters are glob
        patterns matched case-insensitively against every name. Pairs come in the order of the
        parameters, then of the table."""
        found: dict[str, tuple[bytes, bytes]] = {}
        for pattern in patterns:
            if not any(char in pattern for char in b"*?["):
                setting = find_setting(pattern)
                if setting is not None and setting.name not in found:
                    found[setting.name] = (pattern, self._format(setting))
                continue
            for setting in SETTINGS:
                if setting.name not in found and not setting.hidden:
                    name = setting.name.encode()
                    if stringmatch(pattern, name, nocase=True):
                        found[setting.name] = (name, self._format(setting))
        return list(found.values())

    def set_many(self, pairs: list[tuple[bytes, bytes]], *, protected_ok: bool = True) -> None:
        """``CONFIG SET parameter value [parameter value ...]``, all or nothing.

        Raises CommandError with Redis's text: the first unknown, immutable, protected (unless
        ``protected_ok``: the caller's reading of ``enable-protected-configs``) or repeated
        name in argument order, before any value is looked at; then the first value that does
        not parse; then the first change hook that refuses. (An odd number of arguments is the
        caller's to refuse, with ``ERR syntax error`` as Redis does.)"""
        chosen: list[tuple[Setting[Any], str]] = []
        for raw_name, raw_value in pairs:
            setting = find_setting(raw_name)
            if setting is None:
                raise CommandError(config_set_unknown(raw_name))
            if not setting.mutable:
                raise CommandError(config_set_failed(c_string(raw_name), IMMUTABLE))
            if setting.protected and not protected_ok:
                raise CommandError(config_set_failed(c_string(raw_name), PROTECTED))
            if any(previous is setting for previous, _ in chosen):
                raise CommandError(config_set_failed(c_string(raw_name), DUPLICATE))
            chosen.append((setting, _decode(raw_value)))

        new_values: list[tuple[Setting[Any], Any]] = []
        for setting, text in chosen:
            args = text.split() if setting.multi_arg else [text]
            try:
                value = setting.parse(args)
            except ValueError as exc:
                raise CommandError(config_set_failed(setting.name, str(exc))) from None
            if setting.merge is not None:
                value = setting.merge(getattr(self, setting.attr), value)
            new_values.append((setting, value))

        old_values = [(setting, getattr(self, setting.attr)) for setting, _ in new_values]
        changed = [setting for setting, value in new_values if value != getattr(self, setting.attr)]
        for setting, value in new_values:
            setattr(self, setting.attr, value)
        notified: list[Setting[Any]] = []
        for setting in changed:
            try:
                self._notify(setting)
            except ValueError as exc:
                for old_setting, value in old_values:
                    setattr(self, old_setting.attr, value)
                for done in notified:
                    self._notify_quietly(done)
                raise CommandError(config_set_failed(setting.name, str(exc))) from None
            notified.append(setting)

    def _notify(self, setting: Setting[Any]) -> None:
        for callback in self._hooks.get(setting.name, ()):
            callback(setting.name)

    def _notify_quietly(self, setting: Setting[Any]) -> None:
        # While rolling back a failed CONFIG SET: the first error is the one reported.
        with contextlib.suppress(ValueError):
            self._notify(setting)


def apply_option(config: Config, name: str, args: list[str]) -> None:
    """Set ``name`` (any case) from its arguments, as a config-file line or ``--name`` option
    does; immutable settings included. Raises ValueError with Redis's text."""
    setting = find_setting(name)
    if setting is None:
        raise ValueError(BAD_DIRECTIVE)
    value = setting.parse(args)
    if setting.merge is not None:
        value = setting.merge(getattr(config, setting.attr), value)
    setattr(config, setting.attr, value)


def _quote(arg: str) -> str:
    """An argument shown as redis.conf would accept it back (how Redis echoes options)."""
    escaped = arg.replace("\\", "\\\\").replace('"', '\\"')
    escaped = "".join(c if c.isprintable() else f"\\x{ord(c) & 0xFF:02x}" for c in escaped)
    return f'"{escaped}"'


class ConfigLoader:
    """Applies directives to one :class:`Config` in order, from files and command-line options.

    One loader is one load: ``save`` lines add up across everything it reads (the first one
    replaces the default), as Redis treats the config file and its command line as one text."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._accumulated: dict[str, list[str]] = {}
        # The command names as rename-command lines read so far left them (None: none yet).
        self._command_names: set[bytes] | None = None
        self._include_depth = 0

    def load_file(self, path: str) -> None:
        """Read a redis.conf-style file; ConfigError on an unreadable file or a bad line."""
        try:
            text = Path(path).read_bytes()
        except OSError as exc:
            raise ConfigError(
                f"Fatal error, can't open config file '{path}': {exc.strerror or exc}"
            ) from None
        self.load_text(text, f"the configuration file '{path}'")

    def _include(self, path: str, origin: str, where: str, shown: str) -> None:
        """``include <path>``: that file's lines, read here as if written in place (a relative
        path is the current directory's, as in Redis)."""
        # Redis recurses without end on a file that includes itself; stop with a reason.
        if self._include_depth >= _MAX_INCLUDE_DEPTH:
            raise _fatal(origin, where, shown, errors.INCLUDE_TOO_DEEP)
        self._include_depth += 1
        try:
            self.load_file(path)
        finally:
            self._include_depth -= 1

    def load_text(self, text: bytes, origin: str) -> None:
        """Apply every directive of redis.conf-style ``text``; ``origin`` names it in errors."""
        for number, raw_line in enumerate(text.split(b"\n"), start=1):
            line = raw_line.strip(b" \t\r\n")
            if not line or line.startswith(b"#"):
                continue
            shown = line.decode("utf-8", "replace")
            args = split_args(line)
            if args is None:
                raise _fatal(origin, f"line {number}", shown, UNBALANCED_QUOTES)
            values = [_decode(arg) for arg in args[1:]]
            self.apply(_decode(args[0]), values, origin, f"line {number}", shown)

    def load_options(self, options: list[tuple[str, list[str]]], origin: str) -> None:
        """Apply ``(name, arguments)`` pairs, e.g. parsed from ``--name value`` options."""
        for number, (name, values) in enumerate(options, start=1):
            shown = " ".join([name, *(_quote(value) for value in values)])
            self.apply(name, values, origin, f"option {number}", shown)

    def apply(self, name: str, values: list[str], origin: str, where: str, shown: str) -> None:
        """Apply one directive; ConfigError naming ``origin``, ``where`` and ``shown`` if bad."""
        setting = find_setting(name)
        if setting is None:
            self._directive(name.lower(), values, origin, where, shown)
            return
        if setting.multi_arg and len(values) == 1 and values[0]:
            # As Redis 7: one argument of a several-argument setting is split as a line is
            # (`--save "900 1 300 10"`); an empty one stays (`--save ""`).
            split = split_args(values[0].encode("utf-8", "surrogateescape"))
            if split is not None:
                values = [_decode(arg) for arg in split]
        # `save ""` (or a bare `save`) clears what came before; other `save` lines add to it.
        if setting.accumulates:
            values = [] if values == [""] else self._accumulated.get(setting.name, []) + values
        try:
            apply_option(self.config, name, values)
        except ValueError as exc:
            raise _fatal(origin, where, shown, str(exc)) from None
        if setting.accumulates:
            self._accumulated[setting.name] = values

    def _directive(self, name: str, values: list[str], origin: str, where: str, shown: str) -> None:
        """A line that is not a setting: Redis's other directives (``include``,
        ``rename-command``, ``user``, ...), or one Zyst accepts without applying (a setting of
        Redis that Zyst lacks: :mod:`zyst.config_ignored`), else the bad-directive error."""
        # (Imported here: that table is built from this module's parsers.)
        from zyst.config_ignored import DEPRECATED, MULTI_ARG, ignored_directive

        check = ignored_directive(name)
        if check is not None:
            if name in MULTI_ARG and len(values) == 1 and values[0]:
                split = split_args(values[0].encode("utf-8", "surrogateescape"))
                if split is not None:
                    values = [_decode(arg) for arg in split]
            try:
                check(values)
            except ValueError as exc:
                raise _fatal(origin, where, shown, str(exc)) from None
            if name not in self.config.ignored:
                self.config.ignored.append(name)
            return
        if DEPRECATED.get(name) == len(values):
            return
        if name == "include" and len(values) == 1:
            self._include(values[0], origin, where, shown)
        elif name == "rename-command" and len(values) == 2:
            self._rename(values, origin, where, shown)
        elif name == "user" and values:
            self._declare_user(values, origin, where, shown)
        elif name == "loadmodule" and values:
            # A Python module (zyst.modules), loaded at start before the users and the data.
            self.config.modules.append(values)
        elif "." in name:
            # A module's own setting (``module.option value``): its module is not loaded.
            if not values:
                raise _fatal(origin, where, shown, errors.MODULE_CONFIG_NO_VALUE)
            if name not in self.config.ignored:
                self.config.ignored.append(name)
        elif name == "sentinel":
            # Bare, it asks for sentinel mode (which Redis decides from its command line).
            if values:
                raise _fatal(origin, where, shown, errors.SENTINEL_DIRECTIVE)
        else:
            raise _fatal(origin, where, shown, BAD_DIRECTIVE)

    def _rename(self, values: list[str], origin: str, where: str, shown: str) -> None:
        """``rename-command <command> <new name>`` (``""``: the command is gone), checked
        against the names earlier lines left; the table itself changes at start."""
        old, new = (value.encode("utf-8", "surrogateescape") for value in values)
        # (Imported here: the command table is far above this module, and only these lines
        # need it.)
        from zyst.commands import table

        if self._command_names is None:
            self._command_names = set(table.NAMES)
        problem = table.rename_problem(self._command_names, old, new)
        if problem is not None:
            raise _fatal(origin, where, shown, problem)
        self.config.renames.append((old, new))

    def _declare_user(self, values: list[str], origin: str, where: str, shown: str) -> None:
        """``user <name> <rules...>``: checked now (as Redis does while reading), made at start."""
        # (Imported here: the rule language needs the command table, far above this module.)
        from zyst.security.acl import check_declaration

        args = [value.encode("utf-8", "surrogateescape") for value in values]
        if any(declared[0] == args[0] for declared in self.config.users):
            reason = f"Error in user declaration '{values[0]}': " + _DUPLICATE_USER
            raise _fatal(origin, where, shown, reason)
        problem = check_declaration(args[1:])
        if problem is not None:
            index, why = problem
            # Redis names the word at that index of the whole line ("user", the name, the
            # rules): not the rule itself, as its index counts from the first rule.
            word = c_string((b"user", *args)[index])
            raise _fatal(origin, where, shown, f"Error in user declaration '{word}': {why}")
        self.config.users.append(args)


# Deep enough for any real layout of included files, shallow enough to stop a file that
# includes itself quickly.
_MAX_INCLUDE_DEPTH = 32
_DUPLICATE_USER = "Duplicate user found. A user can only be defined once in config files"


def _fatal(origin: str, where: str, shown: str, reason: str) -> ConfigError:
    return ConfigError(
        f"*** FATAL CONFIG FILE ERROR (Zyst {__version__}) ***\n"
        f"Reading {origin}, at {where}\n"
        f">>> '{shown}'\n"
        f"{reason}"
    )


def load_config_file(path: str, config: Config) -> None:
    """Apply the redis.conf-style file at ``path`` to ``config``; ConfigError if it is bad."""
    ConfigLoader(config).load_file(path)
