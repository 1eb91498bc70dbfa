"""String commands: SET, GET, INCR, DECR, INCRBY, DECRBY, MSET, MGET (Redis's ``t_string.c``).

A string value is stored as ``bytes``; integers are stored as their decimal spelling, as Redis
does, and read back with the strict rules of :func:`zyst.commands.args.strict_int`.

These handlers are the hot path of ``redis-benchmark`` (SET, GET, INCR, MSET), so the common
forms take short branches: ``SET key value`` parses no options, ``GET`` is one lookup.

Propagation: ``SET`` with a relative or absolute expiry reaches the AOF as
``SET key value PXAT <unix-ms>`` (dropping NX/XX/GET, as Redis 7 does), and ``SET ... GET``
without an expiry loses its ``GET`` arguments; everything else propagates as received.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from zyst import errors
from zyst.commands.args import LLONG_MAX, LLONG_MIN, parse_int
from zyst.commands.table import KeySpec, Reply, command
from zyst.errors import CommandError
from zyst.protocol.resp import OK

if TYPE_CHECKING:
    from zyst.client import Client

# SET option bits.
_NX: Final = 1
_XX: Final = 2
_GET: Final = 4
_KEEPTTL: Final = 8
_EX: Final = 16
_PX: Final = 32
_EXAT: Final = 64
_PXAT: Final = 128
_ANY_EXPIRE: Final = _EX | _PX | _EXAT | _PXAT

_EXPIRE_OPTIONS: Final = {b"EX": _EX, b"PX": _PX, b"EXAT": _EXAT, b"PXAT": _PXAT}
_INVALID_SET_EXPIRE: Final = errors.INVALID_EXPIRE.format("set")
# Results strictly between these cannot overflow 64 bits, and compare as machine integers
# once compiled (mypyc keeps integers below 2**62 unboxed).
_SAFE_MIN: Final = -4611686018427387903
_SAFE_MAX: Final = 4611686018427387903


@command(
    "set",
    arity=-3,
    flags=("write", "denyoom"),
    keys=(1, 1, 1),
    group="string",
    summary="Set the string value of a key",
    since="1.0.0",
    syntax="key value [NX | XX] [GET] [EX seconds | PX milliseconds | "
    "EXAT unix-time-seconds | PXAT unix-time-milliseconds | KEEPTTL]",
    complexity="O(1)",
    acl_categories=("write", "string", "slow"),
    key_specs=(
        KeySpec(
            flags=("RW", "access", "update", "variable_flags"),
            notes="RW and ACCESS due to the optional `GET` argument",
        ),
    ),
)
def set_(client: Client, argv: list[bytes]) -> Reply:
    """SET key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds |
    PXAT unix-time-milliseconds | KEEPTTL]

    Replies OK, or null when NX/XX stopped it; with GET, the old value (null if none) instead.
    """
    if len(argv) == 3:
        client.db.set_value(argv[1], argv[2])
        client.ctx.dirty += 1
        return OK
    return _set_with_options(client, argv)


def _set_with_options(client: Client, argv: list[bytes]) -> Reply:
    flags, expire_arg = _parse_set_options(argv)
    db = client.db
    key = argv[1]
    value = argv[2]
    # Redis's order: the expiry is validated first, then GET (which may fail with WRONGTYPE),
    # and only then NX/XX are tested.
    when_ms = 0
    if expire_arg is not None:
        when_ms = _set_expire_time(client, flags, expire_arg)
    old = None
    if flags & _GET:
        old = db.get_string(key)
    if flags & (_NX | _XX):
        found = (old is not None) if flags & _GET else (db.lookup(key) is not None)
        if (flags & _NX and found) or (flags & _XX and not found):
            return old  # null, or with GET the old value
    db.set_value(key, value, keep_ttl=bool(flags & _KEEPTTL))
    client.ctx.dirty += 1
    if expire_arg is not None:
        db.set_expire(key, when_ms)
        client.propagate_as = [[b"SET", key, value, b"PXAT", b"%d" % when_ms]]
    elif flags & _GET:
        client.propagate_as = [argv[:3] + [a for a in argv[3:] if a.upper() != b"GET"]]
    return old if flags & _GET else OK


def _parse_set_options(argv: list[bytes]) -> tuple[int, bytes | None]:
    """The option bits of a SET and its expiry argument; Redis's ``parseExtendedStringArguments``.

    An option that conflicts with one already seen is a syntax error, but repeating the same one
    is allowed (``EX 1 EX 2`` keeps the last value).
    """
    flags = 0
    expire_arg: bytes | None = None
    last = len(argv) - 1
    i = 3
    while i <= last:
        opt = argv[i].upper()
        if opt == b"NX" and not flags & _XX:
            flags |= _NX
        elif opt == b"XX" and not flags & _NX:
            flags |= _XX
        elif opt == b"GET":
            flags |= _GET
        elif opt == b"KEEPTTL" and not flags & _ANY_EXPIRE:
            flags |= _KEEPTTL
        else:
            bit = _EXPIRE_OPTIONS.get(opt, 0)
            if not bit or flags & (_KEEPTTL | (_ANY_EXPIRE & ~bit)) or i == last:
                raise CommandError(errors.SYNTAX)
            flags |= bit
            i += 1
            expire_arg = argv[i]
        i += 1
    return flags, expire_arg


def _set_expire_time(client: Client, flags: int, raw: bytes) -> int:
    """The absolute expiry (Unix ms) SET's EX/PX/EXAT/PXAT argument names."""
    when = parse_int(raw)
    seconds = flags & (_EX | _EXAT)
    if when <= 0 or (seconds and when > LLONG_MAX // 1000):
        raise CommandError(_INVALID_SET_EXPIRE)
    if seconds:
        when *= 1000
    if flags & (_EX | _PX):
        when += client.ctx.keyspace.clock()
        # Redis detects the signed overflow of this addition.
        if when > LLONG_MAX:
            raise CommandError(_INVALID_SET_EXPIRE)
    return when


@command(
    "get",
    arity=2,
    flags=("readonly", "fast"),
    keys=(1, 1, 1),
    group="string",
    summary="Get the value of a key",
    since="1.0.0",
    syntax="key",
    complexity="O(1)",
    acl_categories=("read", "string", "fast"),
    key_specs=(KeySpec(flags=("RO", "access")),),
)
def get(client: Client, argv: list[bytes]) -> Reply:
    """GET key

    The value, or null when the key does not exist; WRONGTYPE when it is not a string.
    """
    return client.db.get_string(argv[1])


@command(
    "mget",
    arity=-2,
    flags=("readonly", "fast"),
    keys=(1, -1, 1),
    group="string",
    summary="Get the values of all the given keys",
    since="1.0.0",
    syntax="key [key ...]",
    complexity="O(N) where N is the number of keys to retrieve.",
    acl_categories=("read", "string", "fast"),
    tips=("request_policy:multi_shard",),
    key_specs=(KeySpec(flags=("RO", "access")),),
)
def mget(client: Client, argv: list[bytes]) -> Reply:
    """MGET key [key ...]

    One value per key; null for a missing key and for a key that is not a string (no error).
    """
    lookup = client.db.lookup_read
    values = []
    for key in argv[1:]:
        value = lookup(key)
        values.append(value if type(value) is bytes else None)
    return values


@command(
    "mset",
    arity=-3,
    flags=("write", "denyoom"),
    keys=(1, -1, 2),
    group="string",
    summary="Set multiple keys to multiple values",
    since="1.0.1",
    syntax="key value [key value ...]",
    complexity="O(N) where N is the number of keys to set.",
    acl_categories=("write", "string", "slow"),
    tips=(
        "request_policy:multi_shard",
        "response_policy:all_succeeded",
    ),
    key_specs=(KeySpec(flags=("OW", "update")),),
)
def mset(client: Client, argv: list[bytes]) -> Reply:
    """MSET key value [key value ...]

    Always OK; every key loses its TTL. An odd number of arguments is an arity error.
    """
    count = len(argv)
    if not count & 1:
        raise CommandError(errors.wrong_arity("mset"))
    set_value = client.db.set_value
    for i in range(1, count, 2):
        set_value(argv[i], argv[i + 1])
    client.ctx.dirty += count >> 1
    return OK


def _incr_by(client: Client, key: bytes, delta: int) -> int:
    """Add ``delta`` to the integer at ``key`` (0 if missing), keeping its TTL."""
    db = client.db
    old = db.get_string_for_write(key)
    if old is None:
        value = delta
    else:
        value = parse_int(old) + delta
        if not _SAFE_MIN < value < _SAFE_MAX and (value > LLONG_MAX or value < LLONG_MIN):
            raise CommandError(errors.OVERFLOW)
    db.set_value(key, b"%d" % value, keep_ttl=True)
    client.ctx.dirty += 1
    return value


@command(
    "incr",
    arity=2,
    flags=("write", "denyoom", "fast"),
    keys=(1, 1, 1),
    group="string",
    summary="Increment the integer value of a key by one",
    since="1.0.0",
    syntax="key",
    complexity="O(1)",
    acl_categories=("write", "string", "fast"),
    key_specs=(KeySpec(flags=("RW", "access", "update")),),
)
def incr(client: Client, argv: list[bytes]) -> Reply:
    """INCR key

    The value after the increment; a missing key counts as 0.
    """
    return _incr_by(client, argv[1], 1)


@command(
    "decr",
    arity=2,
    flags=("write", "denyoom", "fast"),
    keys=(1, 1, 1),
    group="string",
    summary="Decrement the integer value of a key by one",
    since="1.0.0",
    syntax="key",
    complexity="O(1)",
    acl_categories=("write", "string", "fast"),
    key_specs=(KeySpec(flags=("RW", "access", "update")),),
)
def decr(client: Client, argv: list[bytes]) -> Reply:
    """DECR key

    The value after the decrement; a missing key counts as 0.
    """
    return _incr_by(client, argv[1], -1)


@command(
    "incrby",
    arity=3,
    flags=("write", "denyoom", "fast"),
    keys=(1, 1, 1),
    group="string",
    summary="Increment the integer value of a key by the given amount",
    since="1.0.0",
    syntax="key increment",
    complexity="O(1)",
    acl_categories=("write", "string", "fast"),
    key_specs=(KeySpec(flags=("RW", "access", "update")),),
)
def incrby(client: Client, argv: list[bytes]) -> Reply:
    """INCRBY key increment

    The increment is parsed before the key is looked at, so a bad increment wins over WRONGTYPE.
    """
    return _incr_by(client, argv[1], parse_int(argv[2]))


@command(
    "decrby",
    arity=3,
    flags=("write", "denyoom", "fast"),
    keys=(1, 1, 1),
    group="string",
    summary="Decrement the integer value of a key by the given number",
    since="1.0.0",
    syntax="key decrement",
    complexity="O(1)",
    acl_categories=("write", "string", "fast"),
    key_specs=(KeySpec(flags=("RW", "access", "update")),),
)
def decrby(client: Client, argv: list[bytes]) -> Reply:
    """DECRBY key decrement

    A decrement of -2**63 cannot be negated in 64 bits: "decrement would overflow".
    """
    decrement = parse_int(argv[2])
    if decrement == LLONG_MIN:
        raise CommandError(errors.DECREMENT_OVERFLOW)
    return _incr_by(client, argv[1], -decrement)
