"""Python modules: commands added to a running Zyst from a ``.py`` file.

A module is one Python file. It declares its commands with :func:`command`, the same
declaration the built-in commands use (name, arity, flags, key positions, ACL categories), on
a function ``(client, argv)`` that returns the reply::

    # hello.py
    from zyst.modules import command

    NAME = "hello"  # the module's name (MODULE LIST, MODULE UNLOAD); default: the file's stem
    VERSION = 1     # MODULE LIST's ``ver``; default 1

    @command("hello.world", arity=1, flags=("readonly", "fast"))
    def hello_world(client, argv):
        return b"hello world"

    def on_load(args: list[bytes]) -> None:   # optional: MODULE LOAD's arguments; raise to refuse
        ...

    def on_unload() -> None:                  # optional: raise to keep the module loaded
        ...

It is loaded by ``loadmodule /path/hello.py [arg ...]`` in the config file (or
``--loadmodule``), which loads it before the data, or by ``MODULE LOAD /path/hello.py [arg ...]``
(allowed by ``enable-module-command``, as in Redis). The loader is :mod:`zyst.modules.loader`.

Handlers run as the built-in ones do: synchronously, to completion, inside the dispatcher.
Their reply may be ``bytes`` (a bulk string; ``str`` is encoded as UTF-8), ``int``, ``float``,
``bool``, ``None`` (null), a ``list`` or ``tuple`` (an array), a ``dict`` (a map), a ``set`` or
``frozenset`` (a set), or :class:`Status` / :class:`ErrorReply` (:data:`OK` is ``+OK``).
:class:`Client` is there for type hints. Raising :class:`CommandError` answers with its
message (``"ERR ..."``, ``"WRONGTYPE ..."``); any other exception (``SystemExit`` too) answers
``ERR internal error in '<name>': <type>: <message>`` and is logged with its traceback;
neither stops the server.

The keyspace API below works on the client's selected database. A write command (flag
``write``) that changes something through it is propagated to the AOF (and MONITOR) like any
command: as it was called, or as the commands :func:`replicate` named (needed when a command
is not deterministic, e.g. reads the clock: the AOF is replayed later, with modules loaded
first).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from zyst.client import Client
from zyst.errors import CommandError
from zyst.protocol.resp import OK, ErrorReply, Status

__all__ = [
    "OK",
    "Client",
    "CommandError",
    "Declaration",
    "ErrorReply",
    "Status",
    "command",
    "delete",
    "exists",
    "get_string",
    "now_ms",
    "pexpireat",
    "pttl",
    "replicate",
    "set_string",
]

Handler = Callable[[Client, list[bytes]], Any]


@dataclass(frozen=True, slots=True)
class Declaration:
    """What :func:`command` declared, kept on the handler until a loader registers it."""

    name: str
    arity: int
    flags: tuple[str, ...]
    keys: tuple[int, int, int]
    acl_categories: tuple[str, ...]
    summary: str
    since: str
    syntax: str
    complexity: str
    tips: tuple[str, ...]


def command(
    name: str,
    arity: int,
    flags: tuple[str, ...] = (),
    keys: tuple[int, int, int] = (0, 0, 0),
    acl_categories: tuple[str, ...] = (),
    summary: str = "",
    since: str = "",
    syntax: str = "",
    complexity: str = "",
    tips: tuple[str, ...] = (),
) -> Callable[[Handler], Handler]:
    """Declare the command ``name`` handled by the decorated ``(client, argv)`` function.

    ``arity`` counts the command's name: positive is exact, negative a minimum. ``flags`` are
    the built-in commands' (``write``, ``readonly``, ``denyoom``, ``admin``, ``fast``,
    ``noscript``, ``loading``, ``stale``, ``skip_monitor``, ``skip_slowlog``, ``no_auth``,
    ``no_multi``, ``allow_busy``, ``no_mandatory_keys``, ``pubsub``); ``keys`` is (first, last,
    step), ``last`` negative counting from the end (what ACL key patterns and COMMAND GETKEYS
    read, as keys that are read and written, as Redis 7.0 has a module's keys); the command has
    the ``acl_categories`` it declares (``("write", "string")``) and no others, as a Redis 7.0
    module command has none.
    ``summary``, ``since``, ``syntax`` (Redis-docs syntax: ``key [EX seconds]``) and
    ``complexity`` show in COMMAND DOCS. Nothing is registered until the module's file has
    run: the loader then checks every declaration it made and registers them together."""

    def declare(handler: Handler) -> Handler:
        declaration = Declaration(
            *(name, arity, tuple(flags), keys, tuple(acl_categories), summary, since, syntax),
            *(complexity, tuple(tips)),
        )
        DECLARED.append((declaration, handler))
        return handler

    return declare


# What :func:`command` declared since the loader last took the list (:func:`take_declared`):
# every declaration counts, whether or not its handler stays bound to a name of the module.
DECLARED: list[tuple[Declaration, Handler]] = []


def take_declared() -> list[tuple[Declaration, Handler]]:
    """The declarations made since the last call, in order; the list starts anew."""
    taken = list(DECLARED)
    DECLARED.clear()
    return taken


# -- the keyspace, for handlers ------------------------------------------------------------------
def get_string(client: Client, key: bytes) -> bytes | None:
    """The string at ``key`` in the client's database, ``None`` if there is none;
    :class:`CommandError` (WRONGTYPE) if the key holds another type. Counts as a read (INFO's
    keyspace hits and misses), as GET does."""
    return client.db.get_string(key)


def set_string(
    client: Client, key: bytes, value: bytes, pxat: int | None = None, keepttl: bool = False
) -> None:
    """Store the string ``value`` at ``key`` (any old value replaced, as SET does), expiring
    at ``pxat`` (Unix time in milliseconds) when given (a time already past deletes the key
    instead); the old TTL is dropped unless ``keepttl``."""
    db = client.db
    if pxat is not None and pxat <= db.keyspace.clock():
        db.delete(key)
        client.ctx.dirty += 1
        return
    db.set_value(key, value, keep_ttl=keepttl)
    if pxat is not None:
        db.set_expire(key, pxat)
    client.ctx.dirty += 1


def delete(client: Client, key: bytes) -> bool:
    """Remove ``key``, of any type; whether it was there."""
    if client.db.delete(key):
        client.ctx.dirty += 1
        return True
    return False


def exists(client: Client, key: bytes) -> bool:
    """Whether ``key`` exists (an expired key does not)."""
    return client.db.exists(key)


def pttl(client: Client, key: bytes) -> int:
    """Milliseconds ``key`` has left to live, as PTTL answers: -2 if it does not exist, -1 if
    it has no TTL."""
    db = client.db
    if db.lookup(key) is None:
        return -2
    when = db.get_expire(key)
    if when is None:
        return -1
    return max(when - db.keyspace.clock(), 0)


def pexpireat(client: Client, key: bytes, when_ms: int) -> bool:
    """Make ``key`` expire at Unix time ``when_ms`` (milliseconds); a time already past deletes
    it. Whether the key existed."""
    db = client.db
    if db.lookup(key) is None:
        return False
    if when_ms <= db.keyspace.clock():
        db.delete(key)
    else:
        db.set_expire(key, when_ms)
    client.ctx.dirty += 1
    return True


def now_ms(client: Client) -> int:
    """The keyspace's clock: Unix time in milliseconds, the one expiry is measured against."""
    return client.db.keyspace.clock()


def replicate(client: Client, *argv: bytes) -> None:
    """Propagate the command ``argv`` (to the AOF, replicas and MONITOR) in place of the one
    running, if it changes something; call it once per command to send several, in order.
    Use it when replaying the command as it was called would not give the same data: a
    command that reads the clock or chooses at random replicates what it did instead."""
    if not argv:
        raise ValueError("replicate() needs a command")
    pending = client.propagate_as
    if pending is None:
        pending = client.propagate_as = []
    pending.append(list(argv))
