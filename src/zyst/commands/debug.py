"""DEBUG: the subcommands of Redis's DEBUG that Zyst can honestly do.

``SLEEP seconds`` stops the whole server for that long (the test suites use it to make a slow
command), ``SET-ACTIVE-EXPIRE 0|1`` turns the active expiry cycle off and on,
``OBJECT key`` describes a value in Redis's format with Zyst's own figures, ``RELOAD``
saves the RDB snapshot and loads it back (:mod:`zyst.commands.reload`).
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from zyst import access, encodings, errors
from zyst.client import Client
from zyst.commands.connection import via_unix_socket
from zyst.commands.introspection import help_reply
from zyst.commands.reload import debug_reload
from zyst.commands.table import Reply, command, lookup
from zyst.errors import CommandError
from zyst.numbers import strict_int
from zyst.protocol.resp import OK, ErrorReply, Status
from zyst.types.zset import ZSet


def c_strtod(raw: bytes) -> float:
    """C's ``strtod`` as DEBUG SLEEP reads its argument: the longest leading number, else 0."""
    text = raw.decode("latin-1").lstrip()
    for end in range(len(text), 0, -1):
        try:
            return float(text[:end])
        except ValueError:
            continue
    return 0.0


def c_atoi(raw: bytes) -> int:
    """C's ``atoi``: optional sign and leading digits, else 0."""
    text = raw.decode("latin-1").lstrip()
    digits = ""
    for i, char in enumerate(text):
        if char.isdigit() or (i == 0 and char in "+-"):
            digits += char
        else:
            break
    try:
        return int(digits)
    except ValueError:
        return 0


def _length_size(length: int) -> int:
    """Bytes of an RDB length prefix."""
    if length < 1 << 6:
        return 1
    if length < 1 << 14:
        return 2
    return 5 if length <= 0xFFFFFFFF else 9


def _string_size(value: bytes) -> int:
    """Bytes of one string as an RDB file stores it (small integers in 2 to 5 bytes)."""
    number = strict_int(value)
    if number is not None and str(number).encode() == value and -(2**31) <= number < 2**31:
        return 2 if -128 <= number < 128 else 3 if -32768 <= number < 32768 else 5
    return _length_size(len(value)) + len(value)


def serialized_length(value: Any) -> int:
    """An estimate of the bytes the value takes in an RDB file, from its strings (Redis
    reports the exact size of its own serialisation, which Zyst does not write): each string
    as RDB stores it uncompressed, plus a length prefix for a collection and 8 bytes per
    sorted-set score."""
    kind = type(value)
    if kind is bytes or kind is bytearray:
        return _string_size(bytes(value))
    if kind is dict:
        items = [part for pair in value.items() for part in pair]
        return _length_size(len(value)) + sum(_string_size(item) for item in items)
    if kind is ZSet:
        members = [member for member, _ in value]
        return _length_size(len(members)) + sum(_string_size(m) + 8 for m in members)
    if kind is deque or kind is set:
        return _length_size(len(value)) + sum(_string_size(item) for item in value)
    return 0


@command(
    "debug",
    arity=-2,
    flags=("admin", "noscript", "loading", "stale"),
    group="server",
    summary="A container for debugging commands",
    complexity="Depends on subcommand.",
)
def debug(client: Client, argv: list[bytes]) -> Reply:
    """DEBUG SLEEP seconds | SET-ACTIVE-EXPIRE 0|1 | OBJECT key | HELP

    Refused unless ``enable-debug-command`` allows it (``local``: from a loopback address),
    counted as a rejected call as Redis counts it."""
    if not _allowed(client):
        # Refused before it runs: a rejected call, not a call (the dispatcher then does not
        # count it).
        _DEBUG.rejected_calls += 1
        return ErrorReply(errors.DEBUG_NOT_ALLOWED)
    sub = argv[1].lower()
    argc = len(argv)
    if sub == b"help" and argc == 2:
        return help_reply(_HELP)
    if sub == b"sleep" and argc == 3:
        seconds = c_strtod(argv[2])
        if seconds > 0:
            time.sleep(int(seconds * 1_000_000) / 1_000_000)
        return OK
    if sub == b"set-active-expire" and argc == 3:
        client.ctx.active_expire = c_atoi(argv[2]) != 0
        return OK
    if sub == b"object" and argc == 3:
        return _object(client, argv[2])
    if sub == b"reload":
        return debug_reload(client, argv[2:])
    raise CommandError(errors.subcommand_syntax(argv[1], "debug"))


_FOUND = lookup(b"debug")
assert _FOUND is not None
_DEBUG = _FOUND


def _allowed(client: Client) -> bool:
    return allowed_by(client.ctx.config.enable_debug_command, client)


def allowed_by(setting: str, client: Client) -> bool:
    """Whether an ``enable-*`` setting (``yes``, ``local`` or ``no``) lets ``client`` act:
    ``local`` is a loopback connection or the Unix socket (or no connection: the AOF loader)."""
    if setting == "yes":
        return True
    if setting == "local":
        host = client.addr.rpartition(":")[0]
        local = host in ("127.0.0.1", "[::1]", "::1") or not client.addr
        return local or via_unix_socket(client)
    return False


def _object(client: Client, key: bytes) -> Reply:
    db = client.db
    value = db.peek(key)
    if value is None:
        raise CommandError(errors.NO_SUCH_KEY)
    keyspace = db.keyspace
    clock = db.access.get(key, 0)
    idle = 0 if keyspace.lfu else access.idle_seconds(clock, keyspace.lru_clock)
    encoding = encodings.encoding(db, key, value, client.ctx.limits).decode()
    refcount = encodings.refcount(db, key, value, client.ctx.config)
    extra = ""
    if type(value) is deque:
        # Zyst's list is one block; shown as the one quicklist node Redis would describe.
        size = sum(len(item) for item in value)
        extra = (
            f" ql_nodes:1 ql_avg_node:{float(len(value)):.2f}"
            f" ql_listpack_max:{client.ctx.config.list_max_listpack_size}"
            f" ql_compressed:{int(client.ctx.config.list_compress_depth != 0)}"
            f" ql_uncompressed_size:{size}"
        )
    return Status(
        (
            f"Value at:{id(value):#x} refcount:{refcount} encoding:{encoding} "
            f"serializedlength:{serialized_length(value)} lru:{clock & 0xFFFFFF} "
            f"lru_seconds_idle:{idle}{extra}"
        ).encode()
    )


_HELP = [
    "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "OBJECT <key>",
    "    Show low level info about `key` and associated value.",
    "RELOAD [option ...]",
    "    Save the RDB on disk and reload it back to memory. Valid <option> values:",
    "    * MERGE: conflicting keys will be loaded from RDB.",
    "    * NOFLUSH: the existing database will not be removed before load, but",
    "      conflicting keys will generate an exception and kill the server.",
    "    * NOSAVE: the database will be loaded from an existing RDB file.",
    "    Examples:",
    "    * DEBUG RELOAD: verify that the server is able to persist, flush and reload",
    "      the database.",
    "    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an",
    "      existing RDB file.",
    "    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB",
    "      file to the database.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
    "HELP",
    "    Prints this help.",
]
