"""Generic key commands: DEL, EXISTS, the EXPIRE family, TTL, PTTL, PERSIST, TYPE, KEYS, DBSIZE
(Redis's ``db.c`` and ``expire.c``).

Every read goes through :class:`zyst.keyspace.Database` lookups, so an expired key is deleted
before anyone sees it (KEYS, which only skips them, is the exception, as in Redis).

Propagation, as Redis 7: EXPIRE, PEXPIRE and EXPIREAT reach the AOF as
``PEXPIREAT key <unix-ms> [options]`` so that replaying them later gives the same deadline; an
expiry already in the past deletes the key and propagates ``DEL key`` instead (except while the
AOF is being loaded, when the deadline is stored as is and lazy expiry takes over).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Final

from zyst import errors
from zyst.commands.args import LLONG_MAX, parse_int
from zyst.commands.table import KeySpec, Reply, command
from zyst.errors import CommandError
from zyst.glob import compile_glob
from zyst.keyspace import TYPE_NAMES
from zyst.protocol.resp import Status

if TYPE_CHECKING:
    from zyst.client import Client


@command(
    "del",
    arity=-2,
    flags=("write",),
    keys=(1, -1, 1),
    group="generic",
    summary="Delete a key",
    since="1.0.0",
    syntax="key [key ...]",
    complexity="O(N) where N is the number of keys that will be removed. When a key to remove "
    "holds a value other than a string, the individual complexity for this key is O(M) where M "
    "is the number of elements in the list, set, sorted set or hash. Removing a single key that "
    "holds a string value is O(1).",
    acl_categories=("keyspace", "write", "slow"),
    tips=(
        "request_policy:multi_shard",
        "response_policy:agg_sum",
    ),
    key_specs=(KeySpec(flags=("RM", "delete")),),
)
def del_(client: Client, argv: list[bytes]) -> Reply:
    """DEL key [key ...]

    The number of keys removed (a key named twice counts once).
    """
    delete = client.db.delete
    removed = 0
    for key in argv[1:]:
        if delete(key):
            removed += 1
    client.ctx.dirty += removed
    return removed


@command(
    "exists",
    arity=-2,
    flags=("readonly", "fast"),
    keys=(1, -1, 1),
    group="generic",
    summary="Determine if a key exists",
    since="1.0.0",
    syntax="key [key ...]",
    complexity="O(N) where N is the number of keys to check.",
    acl_categories=("keyspace", "read", "fast"),
    tips=(
        "request_policy:multi_shard",
        "response_policy:agg_sum",
    ),
    key_specs=(KeySpec(flags=("RO",)),),
)
def exists(client: Client, argv: list[bytes]) -> Reply:
    """EXISTS key [key ...]

    How many of the keys exist; a key named twice is counted twice.
    """
    lookup = client.db.lookup_read
    found = 0
    for key in argv[1:]:
        if lookup(key) is not None:
            found += 1
    return found


# -- EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT -------------------------------------------------------
_NX: Final = 1
_XX: Final = 2
_GT: Final = 4
_LT: Final = 8
_EXPIRE_FLAGS: Final = {b"NX": _NX, b"XX": _XX, b"GT": _GT, b"LT": _LT}

# C's LLONG_MIN / 1000 truncates toward zero; Python's // would round away from it.
_MIN_SECONDS: Final = -(2**63 // 1000)
_MAX_SECONDS: Final = LLONG_MAX // 1000

_EXPIRE_SYNTAX: Final = "key {} [NX | XX | GT | LT]"


def _expire_flags(argv: list[bytes]) -> int:
    """The NX/XX/GT/LT options after the time; Redis checks them before the time itself."""
    flags = 0
    for raw in argv[3:]:
        bit = _EXPIRE_FLAGS.get(raw.upper())
        if bit is None:
            raise CommandError(errors.unsupported_option(raw))
        flags |= bit
    if flags & _NX and flags & (_XX | _GT | _LT):
        raise CommandError(errors.EXPIRE_NX_CONFLICT)
    if flags & _GT and flags & _LT:
        raise CommandError(errors.EXPIRE_GT_LT_CONFLICT)
    return flags


def _expire(client: Client, argv: list[bytes], relative: bool, seconds: bool, name: str) -> int:
    """Redis's ``expireGenericCommand``: 1 if the deadline was set (or the key deleted), else 0."""
    flags = _expire_flags(argv) if len(argv) > 3 else 0
    when = parse_int(argv[2])
    if seconds:
        if when > _MAX_SECONDS or when < _MIN_SECONDS:
            raise CommandError(errors.INVALID_EXPIRE.format(name))
        when *= 1000
    now = client.ctx.keyspace.clock()
    if relative:
        if when > LLONG_MAX - now:
            raise CommandError(errors.INVALID_EXPIRE.format(name))
        when += now
    db = client.db
    key = argv[1]
    if db.lookup(key) is None:
        return 0
    if flags:
        current = db.get_expire(key)
        if flags & _NX and current is not None:
            return 0
        if flags & _XX and current is None:
            return 0
        # No TTL counts as an infinite one: GT always fails, LT always succeeds.
        if flags & _GT and (current is None or when <= current):
            return 0
        if flags & _LT and current is not None and when >= current:
            return 0
    ctx = client.ctx
    if when <= now and not ctx.loading:
        db.delete(key)
        ctx.dirty += 1
        client.propagate_as = [[b"DEL", key]]
        return 1
    db.set_expire(key, when)
    ctx.dirty += 1
    if relative or seconds:
        client.propagate_as = [[b"PEXPIREAT", key, b"%d" % when, *argv[3:]]]
    return 1


@command(
    "expire",
    arity=-3,
    flags=("write", "fast"),
    keys=(1, 1, 1),
    group="generic",
    summary="Set a key's time to live in seconds",
    since="1.0.0",
    syntax=_EXPIRE_SYNTAX.format("seconds"),
    complexity="O(1)",
    acl_categories=("keyspace", "write", "fast"),
    key_specs=(KeySpec(flags=("RW", "update")),),
)
def expire(client: Client, argv: list[bytes]) -> Reply:
    """EXPIRE key seconds [NX | XX | GT | LT]"""
    return _expire(client, argv, relative=True, seconds=True, name="expire")


@command(
    "pexpire",
    arity=-3,
    flags=("write", "fast"),
    keys=(1, 1, 1),
    group="generic",
    summary="Set a key's time to live in milliseconds",
    since="2.6.0",
    syntax=_EXPIRE_SYNTAX.format("milliseconds"),
    complexity="O(1)",
    acl_categories=("keyspace", "write", "fast"),
    key_specs=(KeySpec(flags=("RW", "update")),),
)
def pexpire(client: Client, argv: list[bytes]) -> Reply:
    """PEXPIRE key milliseconds [NX | XX | GT | LT]"""
    return _expire(client, argv, relative=True, seconds=False, name="pexpire")


@command(
    "expireat",
    arity=-3,
    flags=("write", "fast"),
    keys=(1, 1, 1),
    group="generic",
    summary="Set the expiration for a key as a UNIX timestamp",
    since="1.2.0",
    syntax=_EXPIRE_SYNTAX.format("unix-time-seconds"),
    complexity="O(1)",
    acl_categories=("keyspace", "write", "fast"),
    key_specs=(KeySpec(flags=("RW", "update")),),
)
def expireat(client: Client, argv: list[bytes]) -> Reply:
    """EXPIREAT key unix-time-seconds [NX | XX | GT | LT]"""
    return _expire(client, argv, relative=False, seconds=True, name="expireat")


@command(
    "pexpireat",
    arity=-3,
    flags=("write", "fast"),
    keys=(1, 1, 1),
    group="generic",
    summary="Set the expiration for a key as a UNIX timestamp specified in milliseconds",
    since="2.6.0",
    syntax=_EXPIRE_SYNTAX.format("unix-time-milliseconds"),
    complexity="O(1)",
    acl_categories=("keyspace", "write", "fast"),
    key_specs=(KeySpec(flags=("RW", "update")),),
)
def pexpireat(client: Client, argv: list[bytes]) -> Reply:
    """PEXPIREAT key unix-time-milliseconds [NX | XX | GT | LT]"""
    return _expire(client, argv, relative=False, seconds=False, name="pexpireat")


# -- TTL, PTTL, PERSIST -------------------------------------------------------------------------
def _ttl_ms(client: Client, key: bytes) -> int | None:
    """Milliseconds left (never negative), -1 without a TTL, ``None`` if the key is missing."""
    db = client.db
    if db.lookup_read(key) is None:
        return None
    when = db.get_expire(key)
    if when is None:
        return -1
    return max(when - client.ctx.keyspace.clock(), 0)


@command(
    "ttl",
    arity=2,
    flags=("readonly", "fast"),
    keys=(1, 1, 1),
    group="generic",
    summary="Get the time to live for a key in seconds",
    since="1.0.0",
    syntax="key",
    complexity="O(1)",
    acl_categories=("keyspace", "read", "fast"),
    tips=("nondeterministic_output",),
    key_specs=(KeySpec(flags=("RO", "access")),),
)
def ttl(client: Client, argv: list[bytes]) -> Reply:
    """TTL key

    Seconds left, rounded to the nearest second; -1 without a TTL, -2 if the key is missing.
    """
    left = _ttl_ms(client, argv[1])
    if left is None:
        return -2
    return left if left == -1 else (left + 500) // 1000


@command(
    "pttl",
    arity=2,
    flags=("readonly", "fast"),
    keys=(1, 1, 1),
    group="generic",
    summary="Get the time to live for a key in milliseconds",
    since="2.6.0",
    syntax="key",
    complexity="O(1)",
    acl_categories=("keyspace", "read", "fast"),
    tips=("nondeterministic_output",),
    key_specs=(KeySpec(flags=("RO", "access")),),
)
def pttl(client: Client, argv: list[bytes]) -> Reply:
    """PTTL key

    Milliseconds left; -1 without a TTL, -2 if the key is missing.
    """
    left = _ttl_ms(client, argv[1])
    return -2 if left is None else left


@command(
    "persist",
    arity=2,
    flags=("write", "fast"),
    keys=(1, 1, 1),
    group="generic",
    summary="Remove the expiration from a key",
    since="2.2.0",
    syntax="key",
    complexity="O(1)",
    acl_categories=("keyspace", "write", "fast"),
    key_specs=(KeySpec(flags=("RW", "update")),),
)
def persist(client: Client, argv: list[bytes]) -> Reply:
    """PERSIST key

    1 if a TTL was removed, 0 if the key is missing or had none.
    """
    db = client.db
    if db.lookup(argv[1]) is None or not db.persist(argv[1]):
        return 0
    client.ctx.dirty += 1
    return 1


# -- TYPE, KEYS, DBSIZE -------------------------------------------------------------------------
_NONE: Final = Status(b"none")
_TYPE_REPLIES: Final = {kind: Status(name) for kind, name in TYPE_NAMES.items()}


@command(
    "type",
    arity=2,
    flags=("readonly", "fast"),
    keys=(1, 1, 1),
    group="generic",
    summary="Determine the type stored at key",
    since="1.0.0",
    syntax="key",
    complexity="O(1)",
    acl_categories=("keyspace", "read", "fast"),
    key_specs=(KeySpec(flags=("RO",)),),
)
def type_(client: Client, argv: list[bytes]) -> Reply:
    """TYPE key

    A status reply: string, list, set, zset, hash, stream, or none.
    """
    value = client.db.lookup_read(argv[1])
    if value is None:
        return _NONE
    return _TYPE_REPLIES[type(value)]


@command(
    "keys",
    arity=2,
    flags=("readonly",),
    keys=(0, 0, 0),
    group="generic",
    summary="Find all keys matching the given pattern",
    since="1.0.0",
    syntax="pattern",
    complexity="O(N) with N being the number of keys in the database, under the assumption that "
    "the key names in the database and the given pattern have limited length.",
    acl_categories=("keyspace", "read", "slow", "dangerous"),
    tips=(
        "request_policy:all_shards",
        "nondeterministic_output_order",
    ),
)
def keys(client: Client, argv: list[bytes]) -> Reply:
    """KEYS pattern

    Every key matching the glob ``pattern``. Expired keys are skipped but, as in Redis, not
    deleted here (the scan must not change the dict it walks).
    """
    db = client.db
    pattern = argv[1]
    expires = db.expires
    candidates: Iterable[bytes]
    if pattern == b"*":
        # As Redis: no matching at all, so "*" lists the empty key too (the matcher would not).
        if not expires:
            return list(db.data)
        candidates = db.data
    else:
        glob = compile_glob(pattern)
        literal = glob.literal
        if literal is None:
            found = glob.select(db.data)
        elif literal in db.data:
            found = [literal]  # a pattern without wildcards names one key: no scan needed
        else:
            return []
        if not expires or not found:
            return found
        candidates = found
    now = client.ctx.keyspace.clock()
    # A key without a TTL reads as due "now", which is not past: listed.
    return [key for key in candidates if expires.get(key, now) >= now]


@command(
    "dbsize",
    arity=1,
    flags=("readonly", "fast"),
    keys=(0, 0, 0),
    group="server",
    summary="Return the number of keys in the selected database",
    since="1.0.0",
    syntax="",
    complexity="O(1)",
    acl_categories=("keyspace", "read", "fast"),
    tips=(
        "request_policy:all_shards",
        "response_policy:agg_sum",
    ),
)
def dbsize(client: Client, argv: list[bytes]) -> Reply:
    """DBSIZE

    The number of keys, counting expired ones that nothing has removed yet (as Redis does).
    """
    return len(client.db)
