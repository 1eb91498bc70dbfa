"""String commands (Redis's ``t_string.c``): SET, GET, MSET, MGET, the INCR/DECR family,
INCRBYFLOAT, APPEND, STRLEN, GETRANGE/SUBSTR, SETRANGE, GETDEL, GETEX, GETSET, SETNX, MSETNX,
SETEX, PSETEX and LCS.

A string value is stored as ``bytes``, or as a ``bytearray`` once APPEND or SETRANGE (or a bit
command) has modified it in place (see :mod:`zyst.keyspace`): the first such change copies the
string once, later ones cost the size of the change, so building a string with APPEND is linear
as in Redis. APPEND to a missing key stores the argument itself (``bytes``), as Redis stores a
shared, encoded object there; SETRANGE creates a ``bytearray``. Integers are stored as their
decimal spelling, as Redis does, and read back with the strict rules of
:func:`zyst.commands.args.strict_int`. Floats (INCRBYFLOAT) are Redis's long doubles,
computed and spelled by :mod:`zyst.numbers`. APPEND and SETRANGE refuse to grow a string
past ``proto-max-bulk-len``.

These handlers are the hot path of ``redis-benchmark`` (SET, GET, INCR, MSET), so the common
forms take short branches: ``SET key value`` parses no options, ``GET`` is one lookup.

Propagation: ``SET`` with a relative or absolute expiry reaches the AOF as
``SET key value PXAT <unix-ms>`` (dropping NX/XX/GET, as Redis 7 does), and so do SETEX and
PSETEX; ``SET ... GET`` without an expiry loses its ``GET`` arguments; GETSET becomes
``SET key value``, GETDEL ``DEL key``, INCRBYFLOAT ``SET key <result> KEEPTTL``, and GETEX
``PEXPIREAT key <unix-ms>``, ``DEL key`` (an EXAT/PXAT already past) or ``PERSIST key``.
Everything else propagates as received.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from zyst import encodings, errors
from zyst.commands.args import LLONG_MAX, LLONG_MIN, option_word, parse_int
from zyst.commands.table import Handler, KeySpec, Reply, command
from zyst.errors import CommandError
from zyst.numbers import add_long_double, format_long_double, parse_long_double
from zyst.protocol.resp import OK, Map

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
    # With GET, Redis looks the key up twice (a read for GET, a write for the rest): two
    # accesses under LFU, the second one set_value's.
    db.set_value(key, value, keep_ttl=bool(flags & _KEEPTTL), looked_up=not flags & _GET)
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
    return _parse_expiry_options(argv, 3, _SET_FLAGS, _KEEPTTL)


# SET's options other than the expiries: each one's bit and the bits it cannot follow.
_SET_FLAGS: Final = {
    b"NX": (_NX, _XX),
    b"XX": (_XX, _NX),
    b"GET": (_GET, 0),
    b"KEEPTTL": (_KEEPTTL, _ANY_EXPIRE),
}


def _parse_expiry_options(
    argv: list[bytes], start: int, others: dict[bytes, tuple[int, int]], no_expiry_with: int
) -> tuple[int, bytes | None]:
    """Options from ``argv[start]`` on: the expiries (EX PX EXAT PXAT, each followed by its
    value) and ``others`` (word → (bit, bits it conflicts with)); an expiry conflicts with a
    different expiry and with ``no_expiry_with``. Returns the bits and the expiry's value.
    Shared by SET and GETEX, which differ only in their other options."""
    flags = 0
    expire_arg: bytes | None = None
    last = len(argv) - 1
    i = start
    while i <= last:
        opt = argv[i].upper()
        other = others.get(opt)
        if other is not None and not flags & other[1]:
            flags |= other[0]
        else:
            bit = _EXPIRE_OPTIONS.get(opt, 0)
            if other is not None or not bit or flags & (no_expiry_with | (_ANY_EXPIRE & ~bit)):
                raise CommandError(errors.SYNTAX)
            if i == last:
                raise CommandError(errors.SYNTAX)
            flags |= bit
            i += 1
            expire_arg = argv[i]
        i += 1
    return flags, expire_arg


def _set_expire_time(
    client: Client, flags: int, raw: bytes, error: str = _INVALID_SET_EXPIRE
) -> int:
    """The absolute expiry (Unix ms) an EX/PX/EXAT/PXAT argument names (of SET, or with
    ``error`` naming the command, of GETEX, SETEX and PSETEX)."""
    when = parse_int(raw)
    seconds = flags & (_EX | _EXAT)
    if when <= 0 or (seconds and when > LLONG_MAX // 1000):
        raise CommandError(error)
    if seconds:
        when *= 1000
    if flags & (_EX | _PX):
        when += client.ctx.keyspace.clock()
        # Redis detects the signed overflow of this addition.
        if when > LLONG_MAX:
            raise CommandError(error)
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
        values.append(value if type(value) is bytes else _mget_other(value))
    return values


def _mget_other(value: Any) -> bytes | None:
    """MGET's answer for a value that is not ``bytes``: a copy of a string modified in place,
    null for any other type (kept apart so the loop's ``bytes`` path stays short)."""
    return bytes(value) if type(value) is bytearray else None


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


# -- the rest of t_string.c ----------------------------------------------------------------------
def _check_string_length(client: Client, size: int, extra: int) -> None:
    """Refuse a string that would grow past ``proto-max-bulk-len`` (APPEND, SETRANGE); the AOF
    being replayed is exempt, as Redis exempts the clients it must obey."""
    ctx = client.ctx
    if size + extra > ctx.config.proto_max_bulk_len and not ctx.loading:
        raise CommandError(errors.STRING_TOO_LONG)


@command(
    "append",
    arity=3,
    flags=("write", "denyoom", "fast"),
    keys=(1, 1, 1),
    group="string",
    summary="Append a value to a key",
    since="2.0.0",
    syntax="key value",
    complexity="O(1). The amortized time complexity is O(1) assuming the appended value is "
    "small and the already present value is of any size, since the dynamic string library "
    "used by Redis will double the free space available on every reallocation.",
    acl_categories=("write", "string", "fast"),
    key_specs=(KeySpec(flags=("RW", "insert")),),
)
def append(client: Client, argv: list[bytes]) -> Reply:
    """APPEND key value

    The length after appending; a missing key is created. The TTL is kept.
    """
    db = client.db
    key = argv[1]
    tail = argv[2]
    old = db.get_buffer_for_write(key)
    if old is None:
        db.set_value(key, tail, keep_ttl=True)
        client.ctx.dirty += 1
        return len(tail)
    _check_string_length(client, len(old), len(tail))
    buf = db.unshare(key, old)
    buf += tail  # in place, amortized O(len(tail))
    client.ctx.dirty += 1
    return len(buf)


@command(
    "strlen",
    arity=2,
    flags=("readonly", "fast"),
    keys=(1, 1, 1),
    group="string",
    summary="Get the length of the value stored in a key",
    since="2.2.0",
    syntax="key",
    complexity="O(1)",
    acl_categories=("read", "string", "fast"),
    key_specs=(KeySpec(flags=("RO",)),),
)
def strlen(client: Client, argv: list[bytes]) -> Reply:
    """STRLEN key

    The value's length in bytes; 0 for a missing key.
    """
    value = client.db.get_buffer(argv[1])
    return 0 if value is None else len(value)


@command(
    "getdel",
    arity=2,
    flags=("write", "fast"),
    keys=(1, 1, 1),
    group="string",
    summary="Get the value of a key and delete the key",
    since="6.2.0",
    syntax="key",
    complexity="O(1)",
    acl_categories=("write", "string", "fast"),
    key_specs=(KeySpec(flags=("RW", "access", "delete")),),
)
def getdel(client: Client, argv: list[bytes]) -> Reply:
    """GETDEL key

    The value (null if missing), and the key is gone; propagated as ``DEL key``.
    """
    db = client.db
    key = argv[1]
    value = db.get_string(key)
    if value is not None:
        db.delete(key)
        client.ctx.dirty += 1
        client.propagate_as = [[b"DEL", key]]
    return value


@command(
    "getset",
    arity=3,
    flags=("write", "denyoom", "fast"),
    keys=(1, 1, 1),
    group="string",
    summary="Set the string value of a key and return its old value",
    since="1.0.0",
    syntax="key value",
    complexity="O(1)",
    acl_categories=("write", "string", "fast"),
    key_specs=(KeySpec(flags=("RW", "access", "update")),),
)
def getset(client: Client, argv: list[bytes]) -> Reply:
    """GETSET key value

    The old value (null if none); the key loses its TTL. Propagated as ``SET key value``.
    """
    db = client.db
    key = argv[1]
    old = db.get_string(key)
    db.set_value(key, argv[2])
    client.ctx.dirty += 1
    client.propagate_as = [[b"SET", key, argv[2]]]
    return old


# GETEX's own option: it takes none of SET's NX, XX, GET and KEEPTTL.
_PERSIST: Final = 256


def _parse_getex_options(argv: list[bytes]) -> tuple[int, bytes | None]:
    """GETEX's option bits and expiry argument; as for SET, repeating an option is fine and
    mixing two kinds is a syntax error, as is an expiry keyword with nothing after it."""
    return _parse_expiry_options(argv, 2, _GETEX_FLAGS, _PERSIST)


_GETEX_FLAGS: Final = {b"PERSIST": (_PERSIST, _ANY_EXPIRE)}


@command(
    "getex",
    arity=-2,
    flags=("write", "fast"),
    keys=(1, 1, 1),
    group="string",
    summary="Get the value of a key and optionally set its expiration",
    since="6.2.0",
    syntax="key [EX seconds | PX milliseconds | EXAT unix-time-seconds | "
    "PXAT unix-time-milliseconds | PERSIST]",
    complexity="O(1)",
    acl_categories=("write", "string", "fast"),
    key_specs=(
        KeySpec(
            flags=("RW", "access", "update"),
            notes="RW and UPDATE because it changes the TTL",
        ),
    ),
)
def getex(client: Client, argv: list[bytes]) -> Reply:
    """GETEX key [EX seconds | PX milliseconds | EXAT unix-time-seconds |
    PXAT unix-time-milliseconds | PERSIST]

    The value (null if missing), after which the TTL is set or removed. Never propagated as
    itself: as ``PEXPIREAT key <unix-ms>``, ``DEL key`` (an EXAT/PXAT already past) or
    ``PERSIST key`` (only when a TTL was removed).
    """
    flags, expire_arg = _parse_getex_options(argv) if len(argv) > 2 else (0, None)
    db = client.db
    key = argv[1]
    # Redis's order: syntax, then the key (null or WRONGTYPE), and only then the expiry.
    value = db.get_string(key)
    if value is None:
        return None
    ctx = client.ctx
    if expire_arg is not None:
        error = errors.INVALID_EXPIRE.format("getex")
        when = _set_expire_time(client, flags, expire_arg, error)
        if flags & (_EXAT | _PXAT) and when <= ctx.keyspace.clock() and not ctx.loading:
            db.delete(key)
            client.propagate_as = [[b"DEL", key]]
        else:
            db.set_expire(key, when)
            client.propagate_as = [[b"PEXPIREAT", key, b"%d" % when]]
        ctx.dirty += 1
    elif flags & _PERSIST and db.persist(key):
        client.propagate_as = [[b"PERSIST", key]]
        ctx.dirty += 1
    return value


def _range_of(value: bytes | bytearray, start: int, end: int) -> bytes:
    """GETRANGE's slice: inclusive indexes, negative ones from the end, clamped to the string."""
    size = len(value)
    if start < 0 and end < 0 and start > end:
        return b""
    if start < 0:
        start = max(size + start, 0)
    if end < 0:
        end = max(size + end, 0)
    end = min(end, size - 1)
    if start > end or size == 0:
        return b""
    if type(value) is bytes:
        return value[start : end + 1]
    return bytes(memoryview(value)[start : end + 1])  # one copy, as bytes


def _getrange(client: Client, argv: list[bytes]) -> Reply:
    # The indexes are parsed before the key is looked up: a bad index wins over WRONGTYPE.
    start = parse_int(argv[2])
    end = parse_int(argv[3])
    value = client.db.get_buffer(argv[1])
    return b"" if value is None else _range_of(value, start, end)


_GETRANGE_COMPLEXITY: Final = (
    "O(N) where N is the length of the returned string. The complexity is ultimately "
    "determined by the returned length, but because creating a substring from an existing "
    "string is very cheap, it can be considered O(1) for small strings."
)


@command(
    "getrange",
    arity=4,
    flags=("readonly",),
    keys=(1, 1, 1),
    group="string",
    summary="Get a substring of the string stored at a key",
    since="2.4.0",
    syntax="key start end",
    complexity=_GETRANGE_COMPLEXITY,
    acl_categories=("read", "string", "slow"),
    key_specs=(KeySpec(flags=("RO", "access")),),
)
def getrange(client: Client, argv: list[bytes]) -> Reply:
    """GETRANGE key start end

    The bytes from ``start`` to ``end`` inclusive (negative counts from the end); an empty
    string for a missing key or an empty range.
    """
    return _getrange(client, argv)


@command(
    "substr",
    arity=4,
    flags=("readonly",),
    keys=(1, 1, 1),
    group="string",
    summary="Get a substring of the string stored at a key",
    since="1.0.0",
    syntax="key start end",
    complexity=_GETRANGE_COMPLEXITY,
    acl_categories=("read", "string", "slow"),
    key_specs=(KeySpec(flags=("RO", "access")),),
)
def substr(client: Client, argv: list[bytes]) -> Reply:
    """SUBSTR key start end

    GETRANGE under its old name (deprecated since 2.0.0).
    """
    return _getrange(client, argv)


# SETRANGE's patch goes into the string through this bytearray: a slice of a bytearray assigned
# from ``bytes`` first converts them into a new bytearray, a costlier way (measured on a 3-byte
# patch: 93 ns instead of 128). Empty between calls, so it holds no memory; only the event
# loop's thread runs commands. Its bound methods are taken once, skipping a method lookup.
_PATCH: Final = bytearray()
_PATCH_FILL: Final = _PATCH.extend
_PATCH_EMPTY: Final = _PATCH.clear


@command(
    "setrange",
    arity=4,
    flags=("write", "denyoom"),
    keys=(1, 1, 1),
    group="string",
    summary="Overwrite part of a string at key starting at the specified offset",
    since="2.2.0",
    syntax="key offset value",
    complexity="O(1), not counting the time taken to copy the new string in place. Usually, "
    "this string is very small so the amortized complexity is O(1). Otherwise, complexity is "
    "O(M) with M being the length of the value argument.",
    acl_categories=("write", "string", "slow"),
    key_specs=(KeySpec(flags=("RW", "update")),),
)
def setrange(client: Client, argv: list[bytes]) -> Reply:
    """SETRANGE key offset value

    The length after writing ``value`` at ``offset``, zero bytes filling any gap. An empty
    ``value`` changes nothing (not even creating the key). The TTL is kept.
    """
    offset = parse_int(argv[2])
    if offset < 0:
        raise CommandError(errors.OFFSET_OUT_OF_RANGE)
    db = client.db
    key = argv[1]
    patch = argv[3]
    old = db.get_buffer_for_write(key)
    if not patch:
        return 0 if old is None else len(old)
    _check_string_length(client, offset, len(patch))
    if old is None:
        buf = bytearray(offset)
        db.set_value(key, buf, keep_ttl=True)
    else:
        buf = db.unshare(key, old)
        if len(buf) < offset:
            buf += bytes(offset - len(buf))
    # In place: as long as the patch, or growing at the end (amortized by bytearray).
    _PATCH_FILL(patch)
    try:
        buf[offset : offset + len(patch)] = _PATCH
    finally:
        _PATCH_EMPTY()
    client.ctx.dirty += 1
    return len(buf)


@command(
    "msetnx",
    arity=-3,
    flags=("write", "denyoom"),
    keys=(1, -1, 2),
    group="string",
    summary="Set multiple keys to multiple values, only if none of the keys exist",
    since="1.0.1",
    syntax="key value [key value ...]",
    complexity="O(N) where N is the number of keys to set.",
    acl_categories=("write", "string", "slow"),
    tips=("request_policy:multi_shard", "response_policy:agg_min"),
    key_specs=(KeySpec(flags=("OW", "insert")),),
)
def msetnx(client: Client, argv: list[bytes]) -> Reply:
    """MSETNX key value [key value ...]

    1 when every key was set; 0, setting none, when any of them exists.
    """
    count = len(argv)
    if not count & 1:
        raise CommandError(errors.wrong_arity("msetnx"))
    db = client.db
    for i in range(1, count, 2):
        if db.lookup(argv[i]) is not None:
            return 0
    for i in range(1, count, 2):
        db.set_value(argv[i], argv[i + 1])
    client.ctx.dirty += count >> 1
    return 1


@command(
    "setnx",
    arity=3,
    flags=("write", "denyoom", "fast"),
    keys=(1, 1, 1),
    group="string",
    summary="Set the value of a key, only if the key does not exist",
    since="1.0.0",
    syntax="key value",
    complexity="O(1)",
    acl_categories=("write", "string", "fast"),
    key_specs=(KeySpec(flags=("OW", "insert")),),
)
def setnx(client: Client, argv: list[bytes]) -> Reply:
    """SETNX key value

    1 if the key was set, 0 if it already existed.
    """
    db = client.db
    key = argv[1]
    if db.lookup(key) is not None:
        return 0
    db.set_value(key, argv[2])
    client.ctx.dirty += 1
    return 1


def _set_with_expiry(client: Client, argv: list[bytes], flag: int, name: str) -> Reply:
    """SETEX and PSETEX: SET key value EX/PX, propagated as ``SET key value PXAT <unix-ms>``."""
    key = argv[1]
    value = argv[3]
    when = _set_expire_time(client, flag, argv[2], errors.INVALID_EXPIRE.format(name))
    db = client.db
    db.set_value(key, value)
    db.set_expire(key, when)
    client.ctx.dirty += 1
    client.propagate_as = [[b"SET", key, value, b"PXAT", b"%d" % when]]
    return OK


def _setex_command(
    name: str, summary: str, since: str, syntax: str
) -> Callable[[Handler], Handler]:
    """The one declaration of SETEX and PSETEX (they differ by the unit of the TTL)."""
    return command(
        name,
        arity=4,
        flags=("write", "denyoom"),
        keys=(1, 1, 1),
        group="string",
        summary=summary,
        since=since,
        syntax=syntax,
        complexity="O(1)",
        acl_categories=("write", "string", "slow"),
        key_specs=(KeySpec(flags=("OW", "update")),),
    )


@_setex_command("setex", "Set the value and expiration of a key", "2.0.0", "key seconds value")
def setex(client: Client, argv: list[bytes]) -> Reply:
    """SETEX key seconds value

    OK; the seconds must be positive.
    """
    return _set_with_expiry(client, argv, _EX, "setex")


@_setex_command(
    "psetex",
    "Set the value and expiration in milliseconds of a key",
    "2.6.0",
    "key milliseconds value",
)
def psetex(client: Client, argv: list[bytes]) -> Reply:
    """PSETEX key milliseconds value

    OK; the milliseconds must be positive.
    """
    return _set_with_expiry(client, argv, _PX, "psetex")


@command(
    "incrbyfloat",
    arity=3,
    flags=("write", "denyoom", "fast"),
    keys=(1, 1, 1),
    group="string",
    summary="Increment the float value of a key by the given amount",
    since="2.6.0",
    syntax="key increment",
    complexity="O(1)",
    acl_categories=("write", "string", "fast"),
    key_specs=(KeySpec(flags=("RW", "access", "update")),),
)
def incrbyfloat(client: Client, argv: list[bytes]) -> Reply:
    """INCRBYFLOAT key increment

    The new value as a bulk string, computed in long double arithmetic and written as Redis
    writes it (:func:`zyst.numbers.format_long_double`); a missing key counts as 0 and the
    TTL is kept. Propagated as ``SET key <new value> KEEPTTL`` so a replay cannot round
    differently.
    """
    db = client.db
    key = argv[1]
    # Redis's order: WRONGTYPE, then the stored value, then the increment.
    old = db.get_string_for_write(key)
    current = (0, 0) if old is None else parse_long_double(old)
    if current is None:
        raise CommandError(errors.NOT_FLOAT)
    increment = parse_long_double(argv[2])
    if increment is None:
        raise CommandError(errors.NOT_FLOAT)
    total = add_long_double(current, increment)
    if total is None:
        raise CommandError(errors.FLOAT_NAN_OR_INFINITY)
    value = encodings.float_string(db, key, format_long_double(total))
    db.set_value(key, value, keep_ttl=True)
    client.ctx.dirty += 1
    client.propagate_as = [[b"SET", key, value, b"KEEPTTL"]]
    return value


@command(
    "lcs",
    arity=-3,
    flags=("readonly",),
    keys=(1, 2, 1),
    group="string",
    summary="Find longest common substring",
    since="7.0.0",
    syntax="key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]",
    complexity="O(N*M) where N and M are the lengths of s1 and s2, respectively",
    acl_categories=("read", "string", "slow"),
    key_specs=(KeySpec(flags=("RO", "access")),),
)
def lcs(client: Client, argv: list[bytes]) -> Reply:
    """LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]

    The longest common subsequence of the two strings (a missing key is an empty string); with
    LEN its length; with IDX a map of ``matches`` (the matching ranges, last first, each
    ``[[a_start, a_end], [b_start, b_end]]`` plus its length with WITHMATCHLEN, those shorter
    than MINMATCHLEN left out) and ``len``.
    """
    db = client.db
    # Both keys are looked up (and counted) before either's type is judged.
    first = db.lookup_read(argv[1])
    second = db.lookup_read(argv[2])
    if (first is not None and type(first) is not bytes and type(first) is not bytearray) or (
        second is not None and type(second) is not bytes and type(second) is not bytearray
    ):
        raise CommandError(errors.LCS_NOT_STRINGS)
    a: bytes = b"" if first is None else bytes(first)
    b: bytes = b"" if second is None else bytes(second)
    want_len = want_idx = with_match_len = False
    min_match_len = 0
    i = 3
    while i < len(argv):
        opt = option_word(argv[i])
        if opt == b"idx":
            want_idx = True
        elif opt == b"len":
            want_len = True
        elif opt == b"withmatchlen":
            with_match_len = True
        elif opt == b"minmatchlen" and i + 1 < len(argv):
            min_match_len = max(parse_int(argv[i + 1]), 0)
            i += 1
        else:
            raise CommandError(errors.SYNTAX)
        i += 1
    if want_len and want_idx:
        raise CommandError(errors.LCS_LEN_AND_IDX)
    if len(a) >= 2**32 - 2 or len(b) >= 2**32 - 2:
        raise CommandError(errors.LCS_TOO_LONG)
    # Redis refuses a table (4 bytes a cell) larger than proto-max-bulk-len.
    if (len(a) + 1) * (len(b) + 1) * 4 > client.ctx.config.proto_max_bulk_len:
        raise CommandError(errors.LCS_TABLE_TOO_BIG)
    # The table is built along the shorter string (one step of Python per byte of it), each
    # line a bit mask over the longer one; "transposed" when that is a.
    transposed = len(b) < len(a)
    lines = _lcs_lines(b, a) if transposed else _lcs_lines(a, b)
    length = _lcs_length(lines, len(lines) - 1, max(len(a), len(b)))
    if want_len:
        return length
    common, matches = _lcs_walk(a, b, lines, transposed, length)
    if not want_idx:
        return common
    reply: list[list[Any]] = []
    for a_start, a_end, b_start, b_end in matches:
        match_len = a_end - a_start + 1
        if min_match_len == 0 or match_len >= min_match_len:
            entry: list[Any] = [[a_start, a_end], [b_start, b_end]]
            if with_match_len:
                entry.append(match_len)
            reply.append(entry)
    return Map([(b"matches", reply), (b"len", length)])


def _lcs_lines(outer: bytes, inner: bytes) -> list[int]:
    """The LCS table of ``outer`` and ``inner``, one integer per line, computed bit-parallel
    (Allison and Dix's recurrence, in Hyyrö's form): bit ``q`` of ``lines[p]`` is 0 exactly
    where the LCS of ``outer[:p]`` and ``inner[:q + 1]`` is one longer than that of
    ``outer[:p]`` and ``inner[:q]``, so ``LCS(outer[:p], inner[:q]) = q - popcount(lines[p] &
    (2**q - 1))``.

    A line costs a few operations on ``len(inner)``-bit integers instead of ``len(inner)``
    steps of Python. Only the byte values of ``outer`` get a mask of their places in
    ``inner``: the work and memory stay within the table's size (``len(outer) * len(inner)``
    bits), whatever the shapes of the two strings.
    """
    width = len(inner)
    full = (1 << width) - 1
    reversed_inner = inner[::-1]
    masks: dict[int, int] = {}
    for char in set(outer):
        masks[char] = int(reversed_inner.translate(_ONE_WHERE[char]) or b"0", 2)
    line = full
    lines = [line]
    for char in outer:
        matches = line & masks[char]
        line = ((line + matches) | (line - matches)) & full
        lines.append(line)
    return lines


# For each byte value c, a table mapping c to "1" and every other byte to "0".
_ONE_WHERE: list[bytes] = [
    bytes(b"1"[0] if value == char else b"0"[0] for value in range(256)) for char in range(256)
]


def _lcs_length(lines: list[int], p: int, q: int) -> int:
    """``LCS(outer[:p], inner[:q])`` from :func:`_lcs_lines`."""
    return q - (lines[p] & ((1 << q) - 1)).bit_count()


def _lcs_walk(
    a: bytes, b: bytes, lines: list[int], transposed: bool, length: int
) -> tuple[bytes, list[tuple[int, int, int, int]]]:
    """The LCS itself and its contiguous matching ranges ``(a_start, a_end, b_start, b_end)``,
    found walking back from the ends as Redis does (so the last range comes first, and ties
    between the two directions go the same way as Redis's: up, to a shorter ``a``, only when
    the cell above is strictly larger than the one to the left).

    ``lines`` is :func:`_lcs_lines` along ``a`` (along ``b`` when ``transposed``). The walk
    keeps the values of its cell and of the cell one line back, and the bytes of those two
    lines: a step along a line reads one bit of each, and only a step to another line (at most
    one per byte of the shorter string) reads a whole line. So the walk costs no more than the
    table did, where recomputing each cell from its line would be quadratic.
    """
    common = bytearray(length)
    matches: list[tuple[int, int, int, int]] = []
    i, j = len(a), len(b)
    # (p, q): the walk's cell in the lines' terms: line p, bit q.
    p, q = (j, i) if transposed else (i, j)
    size = (len(a) if transposed else len(b)) // 8 + 1
    here = length  # LCS at (p, q)
    line = lines[p].to_bytes(size, "little")
    back = lines[p - 1].to_bytes(size, "little") if p else b""  # line p - 1
    back_value = _lcs_length(lines, p - 1, q) if p else 0  # LCS at (p - 1, q)
    idx = length
    # a_start == len(a) means "no range open".
    a_start, a_end, b_start, b_end = len(a), 0, 0, 0
    while i > 0 and j > 0:
        emit = False
        if a[i - 1] == b[j - 1]:
            common[idx - 1] = a[i - 1]
            if a_start == len(a):
                a_start = a_end = i - 1
                b_start = b_end = j - 1
            elif a_start == i and b_start == j:
                a_start -= 1
                b_start -= 1
            else:
                emit = True
            if a_start == 0 or b_start == 0:
                emit = True
            idx -= 1
            here -= 1
            next_line = True
            q -= 1
        else:
            # The cell one bit back: bit q-1 of line p is 0 where that step loses one.
            bit_value = here - 1 + ((line[(q - 1) >> 3] >> ((q - 1) & 7)) & 1)
            # Redis goes up (one byte less of a) only when up is strictly larger; up is a step
            # back along the lines, or along the bits when transposed.
            next_line = bit_value <= back_value if transposed else back_value > bit_value
            if next_line:
                here = back_value
            else:
                q -= 1
                here = bit_value
                back_value += ((back[q >> 3] >> (q & 7)) & 1) - 1
            if a_start != len(a):
                emit = True
        if next_line:
            p -= 1
            line = back
            if p:
                back = lines[p - 1].to_bytes(size, "little")
                back_value = _lcs_length(lines, p - 1, q)
        i, j = (q, p) if transposed else (p, q)
        if emit:
            matches.append((a_start, a_end, b_start, b_end))
            a_start = len(a)
    return bytes(common), matches
