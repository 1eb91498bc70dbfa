"""Hash commands (Redis's ``t_hash.c``): HSET HSETNX HMSET HGET HMGET HDEL HLEN HEXISTS HSTRLEN
HKEYS HVALS HGETALL HINCRBY HINCRBYFLOAT HRANDFIELD.

A hash is a ``dict[bytes, bytes]``. A dict keeps insertion order, an updated field keeps its
place and a deleted then re-added field moves to the end: exactly the order of Redis's listpack
encoding, so HGETALL, HKEYS and HVALS on a small hash answer in the same order as Redis (large
hashes, which Redis keeps in a hash table, have no defined order). HINCRBY stores its result in
the field's place, as Redis's listpack does.

Invariant: a hash in the keyspace is never empty; HDEL of its last field deletes the key. The
writes that may create a hash (HSET, HSETNX, HMSET, HINCRBY) check everything that can fail
before they look the key up, or (HINCRBY) can only fail on a field that exists.

HRANDFIELD and randomness
    A dict has no O(1) random entry: one random field is found by skipping a random number of
    fields (C-level iteration, O(n) in the worst case where Redis is O(1)); counts take a copy
    of the fields, O(n). Which fields, for a positive count below the size, is a uniform sample
    of distinct fields, answered in the hash's own order (Redis answers a listpack's sample in
    that order too, and a hash table's in no defined order). A count at least the size answers
    the whole hash in order, byte for byte as Redis does for a small hash. A negative count
    draws with replacement, in draw order.

Propagation: a write here that changed something propagates as received, as in Redis (HSETNX
of a field that exists and a failed HINCRBY change nothing); HRANDFIELD is a read and
propagates nothing.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from itertools import chain, islice
from typing import TYPE_CHECKING, Final

from zyst import encodings, errors
from zyst.commands.args import LLONG_MAX, LLONG_MIN, parse_int, strict_int
from zyst.commands.table import Handler, KeySpec, Reply, command
from zyst.errors import CommandError
from zyst.numbers import add_long_double, format_long_double, parse_long_double
from zyst.protocol.resp import OK, Map, Pairs

if TYPE_CHECKING:
    from zyst.client import Client

_HSET_ARITY: Final = errors.wrong_arity("hset")
_HMSET_ARITY: Final = errors.wrong_arity("hmset")
# HRANDFIELD's count is a C long; Redis refuses LONG_MIN (its negation would overflow), and with
# WITHVALUES anything beyond half the range (the reply holds twice as many elements).
_HRANDFIELD_MIN: Final = -LLONG_MAX
_HRANDFIELD_PAIRS_MAX: Final = LLONG_MAX // 2


@command(
    "hset",
    arity=-4,
    flags=("write", "denyoom", "fast"),
    keys=(1, 1, 1),
    group="hash",
    summary="Set the string value of a hash field",
    since="2.0.0",
    syntax="key field value [field value ...]",
    complexity="O(1) for each field/value pair added, so O(N) to add N field/value pairs when "
    "the command is called with multiple field/value pairs.",
    acl_categories=("write", "hash", "fast"),
    key_specs=(KeySpec(flags=("RW", "update")),),
)
def hset(client: Client, argv: list[bytes]) -> Reply:
    """HSET key field value [field value ...]

    Replies the number of fields that were not there before (updated ones do not count). A
    field named twice takes the last value.
    """
    nargs = len(argv)
    if nargs == 4:
        db = client.db
        hash_: dict[bytes, bytes] = db.get_or_create(argv[1], dict)
        field = argv[2]
        value = argv[3]
        old = hash_.get(field)
        hash_[field] = value
        client.ctx.dirty += 1
        if old is None:
            return 1
        if len(old) > len(value) or old is value:
            encodings.hash_overwritten(db, argv[1], hash_, field, old, client.ctx.limits)
        return 0
    if nargs % 2:
        # Checked before the key is touched: a malformed HSET creates nothing.
        raise CommandError(_HSET_ARITY)
    hash_ = client.db.get_or_create(argv[1], dict)
    before = len(hash_)
    _set_fields(client, hash_, argv)
    client.ctx.dirty += (nargs - 2) // 2
    return len(hash_) - before


def _set_fields(client: Client, hash_: dict[bytes, bytes], argv: list[bytes]) -> None:
    """Set the field/value pairs of ``argv`` (from index 2) in the hash at ``argv[1]``. An
    overwrite by a shorter value (or the very same object) is told to :mod:`zyst.encodings`,
    as it may leave a hash Redis holds as a hash table with contents that would fit a
    listpack."""
    for i in range(2, len(argv), 2):
        field = argv[i]
        value = argv[i + 1]
        old = hash_.get(field)
        hash_[field] = value
        if old is not None and (len(old) > len(value) or old is value):
            encodings.hash_overwritten(client.db, argv[1], hash_, field, old, client.ctx.limits)


@command(
    "hget",
    arity=3,
    flags=("readonly", "fast"),
    keys=(1, 1, 1),
    group="hash",
    summary="Get the value of a hash field",
    since="2.0.0",
    syntax="key field",
    complexity="O(1)",
    acl_categories=("read", "hash", "fast"),
    key_specs=(KeySpec(flags=("RO", "access")),),
)
def hget(client: Client, argv: list[bytes]) -> Reply:
    """HGET key field

    Replies the field's value, or null when the field or the key is missing.
    """
    hash_: dict[bytes, bytes] | None = client.db.get_typed(argv[1], dict)
    if hash_ is None:
        return None
    return hash_.get(argv[2])


@command(
    "hdel",
    arity=-3,
    flags=("write", "fast"),
    keys=(1, 1, 1),
    group="hash",
    summary="Delete one or more hash fields",
    since="2.0.0",
    syntax="key field [field ...]",
    complexity="O(N) where N is the number of fields to be removed.",
    acl_categories=("write", "hash", "fast"),
    key_specs=(KeySpec(flags=("RW", "delete")),),
)
def hdel(client: Client, argv: list[bytes]) -> Reply:
    """HDEL key field [field ...]

    Replies the number of fields removed; removing the last field deletes the key.
    """
    key = argv[1]
    db = client.db
    hash_: dict[bytes, bytes] | None = db.get_typed_for_write(key, dict)
    if hash_ is None:
        return 0
    before = len(hash_)
    gone: list[bytes] = []  # the removed fields and their values
    for i in range(2, len(argv)):
        field = argv[i]
        value = hash_.pop(field, None)
        if value is not None:
            gone += (field, value)
            if not hash_:
                break  # Redis stops here too: the key is gone
    removed = len(gone) // 2
    if removed:
        db.delete_if_empty(key, hash_)
        client.ctx.dirty += removed
        encodings.shrunk(db, key, hash_, before, gone, client.ctx.limits)
    return removed


def _whole_hash(name: str, summary: str) -> Callable[[Handler], Handler]:
    """The one declaration of HGETALL, HKEYS and HVALS: ``name key``, every field read."""
    return command(
        name,
        arity=2,
        flags=("readonly",),
        keys=(1, 1, 1),
        group="hash",
        summary=summary,
        since="2.0.0",
        syntax="key",
        complexity="O(N) where N is the size of the hash.",
        acl_categories=("read", "hash", "slow"),
        tips=("nondeterministic_output_order",),
        key_specs=(KeySpec(flags=("RO", "access")),),
    )


@_whole_hash("hgetall", "Get all the fields and values in a hash")
def hgetall(client: Client, argv: list[bytes]) -> Reply:
    """HGETALL key

    Replies a map of every field to its value (a flat field, value, ... array in RESP2); empty
    when the key is missing.
    """
    hash_: dict[bytes, bytes] | None = client.db.get_typed(argv[1], dict)
    if hash_ is None:
        return Map(())
    # A snapshot: the reply may be encoded after later commands (MULTI, pipelines) change it.
    return Map(list(hash_.items()))


@command(
    "hsetnx",
    arity=4,
    flags=("write", "denyoom", "fast"),
    keys=(1, 1, 1),
    group="hash",
    summary="Set the value of a hash field, only if the field does not exist",
    since="2.0.0",
    syntax="key field value",
    complexity="O(1)",
    acl_categories=("write", "hash", "fast"),
    key_specs=(KeySpec(flags=("RW", "insert")),),
)
def hsetnx(client: Client, argv: list[bytes]) -> Reply:
    """HSETNX key field value

    Replies 1 if the field was set, 0 if it was there already (and is left as it was).
    """
    hash_: dict[bytes, bytes] = client.db.get_or_create(argv[1], dict)
    field = argv[2]
    if field in hash_:
        return 0  # a hash just created is empty, so it cannot get here: nothing left empty
    hash_[field] = argv[3]
    client.ctx.dirty += 1
    return 1


@command(
    "hmset",
    arity=-4,
    flags=("write", "denyoom", "fast"),
    keys=(1, 1, 1),
    group="hash",
    summary="Set multiple hash fields to multiple values",
    since="2.0.0",
    syntax="key field value [field value ...]",
    complexity="O(N) where N is the number of fields being set.",
    acl_categories=("write", "hash", "fast"),
    key_specs=(KeySpec(flags=("RW", "update")),),
)
def hmset(client: Client, argv: list[bytes]) -> Reply:
    """HMSET key field value [field value ...]

    HSET that replies OK (deprecated since Redis 4.0, kept for old clients).
    """
    nargs = len(argv)
    if nargs % 2:
        raise CommandError(_HMSET_ARITY)
    hash_: dict[bytes, bytes] = client.db.get_or_create(argv[1], dict)
    _set_fields(client, hash_, argv)
    client.ctx.dirty += (nargs - 2) // 2
    return OK


@command(
    "hmget",
    arity=-3,
    flags=("readonly", "fast"),
    keys=(1, 1, 1),
    group="hash",
    summary="Get the values of all the given hash fields",
    since="2.0.0",
    syntax="key field [field ...]",
    complexity="O(N) where N is the number of fields being requested.",
    acl_categories=("read", "hash", "fast"),
    key_specs=(KeySpec(flags=("RO", "access")),),
)
def hmget(client: Client, argv: list[bytes]) -> Reply:
    """HMGET key field [field ...]

    Replies each field's value, null for a missing field; a missing key is an empty hash (all
    nulls), not an error.
    """
    hash_: dict[bytes, bytes] | None = client.db.get_typed(argv[1], dict)
    if hash_ is None:
        return [None] * (len(argv) - 2)
    return [hash_.get(argv[i]) for i in range(2, len(argv))]


@command(
    "hlen",
    arity=2,
    flags=("readonly", "fast"),
    keys=(1, 1, 1),
    group="hash",
    summary="Get the number of fields in a hash",
    since="2.0.0",
    syntax="key",
    complexity="O(1)",
    acl_categories=("read", "hash", "fast"),
    key_specs=(KeySpec(flags=("RO",)),),
)
def hlen(client: Client, argv: list[bytes]) -> Reply:
    """HLEN key

    Replies the number of fields, 0 when the key is missing.
    """
    hash_: dict[bytes, bytes] | None = client.db.get_typed(argv[1], dict)
    return 0 if hash_ is None else len(hash_)


@command(
    "hexists",
    arity=3,
    flags=("readonly", "fast"),
    keys=(1, 1, 1),
    group="hash",
    summary="Determine if a hash field exists",
    since="2.0.0",
    syntax="key field",
    complexity="O(1)",
    acl_categories=("read", "hash", "fast"),
    key_specs=(KeySpec(flags=("RO",)),),
)
def hexists(client: Client, argv: list[bytes]) -> Reply:
    """HEXISTS key field

    Replies 1 if the hash has the field, else 0 (also when the key is missing).
    """
    hash_: dict[bytes, bytes] | None = client.db.get_typed(argv[1], dict)
    return 1 if hash_ is not None and argv[2] in hash_ else 0


@command(
    "hstrlen",
    arity=3,
    flags=("readonly", "fast"),
    keys=(1, 1, 1),
    group="hash",
    summary="Get the length of the value of a hash field",
    since="3.2.0",
    syntax="key field",
    complexity="O(1)",
    acl_categories=("read", "hash", "fast"),
    key_specs=(KeySpec(flags=("RO",)),),
)
def hstrlen(client: Client, argv: list[bytes]) -> Reply:
    """HSTRLEN key field

    Replies the length in bytes of the field's value, 0 when the field or the key is missing.
    """
    hash_: dict[bytes, bytes] | None = client.db.get_typed(argv[1], dict)
    if hash_ is None:
        return 0
    value = hash_.get(argv[2])
    return 0 if value is None else len(value)


@_whole_hash("hkeys", "Get all the fields in a hash")
def hkeys(client: Client, argv: list[bytes]) -> Reply:
    """HKEYS key

    Replies every field (an array in RESP2 and RESP3 alike); empty when the key is missing.
    """
    hash_: dict[bytes, bytes] | None = client.db.get_typed(argv[1], dict)
    return [] if hash_ is None else list(hash_)


@_whole_hash("hvals", "Get all the values in a hash")
def hvals(client: Client, argv: list[bytes]) -> Reply:
    """HVALS key

    Replies every value, in the order of the fields; empty when the key is missing.
    """
    hash_: dict[bytes, bytes] | None = client.db.get_typed(argv[1], dict)
    return [] if hash_ is None else list(hash_.values())


@command(
    "hincrby",
    arity=4,
    flags=("write", "denyoom", "fast"),
    keys=(1, 1, 1),
    group="hash",
    summary="Increment the integer value of a hash field by the given number",
    since="2.0.0",
    syntax="key field increment",
    complexity="O(1)",
    acl_categories=("write", "hash", "fast"),
    key_specs=(KeySpec(flags=("RW", "access", "update")),),
)
def hincrby(client: Client, argv: list[bytes]) -> Reply:
    """HINCRBY key field increment

    Adds the increment to the field's integer value (a missing field counts as 0) and replies
    the result. The increment is checked first; a value that is not an integer under Redis's
    rules, or a result outside 64 bits, is an error and changes nothing.
    """
    increment = parse_int(argv[3])
    hash_: dict[bytes, bytes] = client.db.get_or_create(argv[1], dict)
    field = argv[2]
    old = hash_.get(field)
    if old is None:
        # Also the case of a hash just created: the sum is the increment, which cannot fail,
        # so no empty hash is ever left behind.
        value = increment
    else:
        current = strict_int(old)
        if current is None:
            raise CommandError(errors.HASH_NOT_INTEGER)
        value = current + increment
        if value > LLONG_MAX or value < LLONG_MIN:
            raise CommandError(errors.OVERFLOW)
    new = b"%d" % value
    hash_[field] = new
    client.ctx.dirty += 1
    if old is not None and (len(old) > len(new) or old is new):
        encodings.hash_overwritten(client.db, argv[1], hash_, field, old, client.ctx.limits)
    return value


@command(
    "hincrbyfloat",
    arity=4,
    flags=("write", "denyoom", "fast"),
    keys=(1, 1, 1),
    group="hash",
    summary="Increment the float value of a hash field by the given amount",
    since="2.6.0",
    syntax="key field increment",
    complexity="O(1)",
    acl_categories=("write", "hash", "fast"),
    key_specs=(KeySpec(flags=("RW", "access", "update")),),
)
def hincrbyfloat(client: Client, argv: list[bytes]) -> Reply:
    """HINCRBYFLOAT key field increment

    INCRBYFLOAT on a hash field: long double arithmetic, the result written as Redis writes it
    (:func:`zyst.numbers.format_long_double`), a missing field counting as 0. The increment is
    checked first (an infinity is "value is NaN or Infinity"). Propagated as ``HSET key field
    <new value>``, so a replay cannot round differently.
    """
    increment = parse_long_double(argv[3])
    if increment is None:
        raise CommandError(errors.NOT_FLOAT)
    if isinstance(increment, float):
        raise CommandError(errors.NAN_OR_INFINITY)
    key, field = argv[1], argv[2]
    hash_: dict[bytes, bytes] = client.db.get_or_create(key, dict)
    old = hash_.get(field)
    current = (0, 0) if old is None else parse_long_double(old)
    if current is None:
        # The field exists, so the hash is not one just created: nothing is left empty.
        raise CommandError(errors.HASH_NOT_FLOAT)
    total = add_long_double(current, increment)
    if total is None:
        if not hash_:
            client.db.delete_if_empty(key, hash_)
        raise CommandError(errors.FLOAT_NAN_OR_INFINITY)
    value = format_long_double(total)
    hash_[field] = value
    client.ctx.dirty += 1
    if old is not None and (len(old) > len(value) or old is value):
        encodings.hash_overwritten(client.db, key, hash_, field, old, client.ctx.limits)
    client.propagate_as = [[b"HSET", key, field, value]]
    return value


@command(
    "hrandfield",
    arity=-2,
    flags=("readonly",),
    keys=(1, 1, 1),
    group="hash",
    summary="Get one or multiple random fields from a hash",
    since="6.2.0",
    syntax="key [count [WITHVALUES]]",
    complexity="O(N) where N is the number of fields returned",
    acl_categories=("read", "hash", "slow"),
    tips=("nondeterministic_output",),
    key_specs=(KeySpec(flags=("RO", "access")),),
)
def hrandfield(client: Client, argv: list[bytes]) -> Reply:
    """HRANDFIELD key [count [WITHVALUES]]

    Without count: one random field, or null when the key is missing. With count: an array of
    up to count distinct fields (the whole hash when count is at least its size), or, for a
    negative count, exactly -count fields drawn with replacement; empty when the key is missing
    or count is 0. WITHVALUES adds each field's value: a flat field, value, ... array in RESP2,
    [field, value] pairs in RESP3. The arguments are checked before the key is looked up.
    """
    nargs = len(argv)
    if nargs == 2:
        hash_: dict[bytes, bytes] | None = client.db.get_typed(argv[1], dict)
        if hash_ is None:
            return None
        return next(islice(hash_, random.randrange(len(hash_)), None))
    count = parse_int(argv[2])
    if count < _HRANDFIELD_MIN:
        raise CommandError(errors.LONG_RANGE)
    withvalues = nargs == 4
    # Redis compares the option as a C string: it ends at a NUL byte.
    if nargs > 4 or (withvalues and argv[3].split(b"\0", 1)[0].lower() != b"withvalues"):
        raise CommandError(errors.SYNTAX)
    if withvalues and not -_HRANDFIELD_PAIRS_MAX <= count <= _HRANDFIELD_PAIRS_MAX:
        raise CommandError(errors.OUT_OF_RANGE_PLAIN)
    hash_ = client.db.get_typed(argv[1], dict)
    if hash_ is None or count == 0:
        return []
    size = len(hash_)
    if count < 0:
        drawn = random.choices(list(hash_), k=-count)
        if not withvalues:
            return drawn
        return Pairs([part for field in drawn for part in (field, hash_[field])])
    if count >= size:
        if not withvalues:
            return list(hash_)
        return Pairs(list(chain.from_iterable(hash_.items())))
    fields = list(hash_)
    chosen = [fields[index] for index in sorted(_distinct_indexes(size, count))]
    if not withvalues:
        return chosen
    return Pairs([part for field in chosen for part in (field, hash_[field])])


def _distinct_indexes(size: int, count: int) -> list[int] | set[int]:
    """``count`` distinct indexes below ``size`` chosen uniformly, ``0 < count < size``."""
    if count * 3 > size:
        return random.sample(range(size), count)
    # Few of many (Redis's threshold too): drawing until enough are distinct is cheaper than
    # random.sample, and takes few extra draws at this ratio.
    picked: set[int] = set()
    draw = random.randrange
    while len(picked) < count:
        picked.add(draw(size))
    return picked
