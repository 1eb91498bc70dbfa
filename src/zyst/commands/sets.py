"""Set commands (Redis's ``t_set.c``): SADD, SREM, SMEMBERS, SISMEMBER, SMISMEMBER, SCARD,
SPOP, SRANDMEMBER, SMOVE, and the algebra SINTER, SINTERCARD, SUNION, SDIFF and their STORE forms.

A set is a ``set[bytes]``.

Invariant: a set in the keyspace is never empty; removing its last member deletes the key.

The order members are listed in
    Redis keeps a small set of integers (all members canonical 64-bit integers, at most
    ``set-max-intset-entries`` of them) as a sorted array, an *intset*, and lists it in
    ascending numeric order; any other set is a hash table whose order is its own. Every reply
    that lists a whole set (SMEMBERS, SRANDMEMBER or SPOP with a count that takes all of it, SPOP
    of at least 5/6 of it, which Redis answers by walking what it popped, and the results of
    SINTER, SUNION and SDIFF, which Redis builds or walks as an intset when it can) lists an
    all-integer set of at most that many members in ascending order (:func:`_listed`), and any
    other set in Python's order. That matches Redis wherever Redis's
    order is defined: a Redis set that holds only integers but is a hash table (it once held a
    string, or was larger) has no defined order, so ascending is as good an order as any. The
    only difference left: an intset Redis keeps after ``set-max-intset-entries`` is lowered
    below its size is sorted in Redis and not here. The test costs nothing on a set of strings:
    the first member that is not an integer ends it.

SPOP and randomness
    Python sets offer no O(1) random member. When the set's hash table is small (up to 2048
    slots, i.e. sets up to about 1300 members) SPOP picks a uniformly random member by skipping
    a random number of members, which is a few microseconds of C-level iteration. Larger sets
    use ``set.pop()``, which is O(1) but takes members in hash-table order: that order is
    unpredictable from outside (bytes hashes are seeded per process unless ``PYTHONHASHSEED``
    fixes them) but it is not a fresh random choice on every call. The size test uses the
    table's size (``sys.getsizeof``), not the member count, because a set that shrank keeps its
    large table, and skipping through it would cost O(table).

Propagation (what Redis 7 writes to the AOF, so that a replay removes the same members):

- ``SPOP key`` becomes ``SREM key member``.
- ``SPOP key count`` that takes the whole set becomes ``DEL key``.
- Any other ``SPOP key count`` becomes one ``SREM key member [member ...]`` of the popped
  members (Redis 7.0 writes one SREM per member inside MULTI/EXEC, 7.2 batches them; a single
  SREM replays the same and is atomic on its own).
- SMOVE and the STORE forms propagate as received, when they change something: a SMOVE that
  moved a member, a STORE that wrote its destination or deleted it (an empty result deletes
  the destination; when there was none, nothing changed and nothing is written).
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from itertools import islice
from typing import TYPE_CHECKING, Final

from zyst import encodings, errors
from zyst.commands.args import LLONG_MAX, parse_at_least, parse_count, strict_int
from zyst.commands.table import Handler, KeySpec, Reply, command
from zyst.errors import CommandError
from zyst.protocol.resp import SetReply

if TYPE_CHECKING:
    from collections.abc import Collection

    from zyst.client import Client
    from zyst.keyspace import Database

# ``sys.getsizeof`` of a set whose table has 2048 slots is 32984 bytes on 64-bit CPython 3.11.
_UNIFORM_MAX_SET_BYTES: Final = 40_000

_EMPTY_SET: Final = SetReply(())

# Redis caps ``set-max-intset-entries`` at 2**30 (the intset's own limit).
_INTSET_CAP: Final = 1 << 30


def _listed(client: Client, members: Collection[bytes]) -> list[bytes]:
    """``members`` in the order Redis lists them (see "The order members are listed in" in the
    module docstring): ascending numbers when they are all canonical 64-bit integers and no
    more than ``set-max-intset-entries``, else the collection's own order. Always a new list,
    so a reply encoded later is not changed by later commands (MULTI, pipelines)."""
    limit = client.ctx.config.set_max_intset_entries
    if len(members) <= limit and len(members) <= _INTSET_CAP:
        # Canonical integers sort as text once split by sign: a longer one is further from 0,
        # and among those of one length the byte order is the numeric order (reversed for
        # negatives). Sorting the text with C comparisons beats parsing and formatting numbers.
        negatives: list[bytes] = []
        others: list[bytes] = []
        for member in members:
            if strict_int(member) is None:
                return list(members)
            if member[0] == 45:  # "-"
                negatives.append(member)
            else:
                others.append(member)
        negatives.sort(reverse=True)
        negatives.sort(key=len, reverse=True)
        others.sort()
        others.sort(key=len)
        negatives += others
        return negatives
    return list(members)


@command(
    "sadd",
    arity=-3,
    flags=("write", "denyoom", "fast"),
    keys=(1, 1, 1),
    group="set",
    summary="Add one or more members to a set",
    since="1.0.0",
    syntax="key member [member ...]",
    complexity="O(1) for each element added, so O(N) to add N elements when the command is "
    "called with multiple arguments.",
    acl_categories=("write", "set", "fast"),
    key_specs=(KeySpec(flags=("RW", "insert")),),
)
def sadd(client: Client, argv: list[bytes]) -> Reply:
    """SADD key member [member ...]

    Replies the number of members that were not in the set already.
    """
    members: set[bytes] = client.db.get_or_create(argv[1], set)
    before = len(members)
    if len(argv) == 3:
        members.add(argv[2])
    else:
        members.update(islice(argv, 2, None))
    added = len(members) - before
    client.ctx.dirty += added
    return added


@command(
    "srem",
    arity=-3,
    flags=("write", "fast"),
    keys=(1, 1, 1),
    group="set",
    summary="Remove one or more members from a set",
    since="1.0.0",
    syntax="key member [member ...]",
    complexity="O(N) where N is the number of members to be removed.",
    acl_categories=("write", "set", "fast"),
    key_specs=(KeySpec(flags=("RW", "delete")),),
)
def srem(client: Client, argv: list[bytes]) -> Reply:
    """SREM key member [member ...]

    Replies the number of members removed; removing the last one deletes the key.
    """
    key = argv[1]
    db = client.db
    members: set[bytes] | None = db.get_typed_for_write(key, set)
    if members is None:
        return 0
    before = len(members)
    if len(argv) == 3:
        members.discard(argv[2])
        gone: Collection[bytes] = argv[2:]
    else:
        gone = [member for member in islice(argv, 2, None) if member in members]
        members.difference_update(gone)
    removed = before - len(members)
    if removed:
        db.delete_if_empty(key, members)
        client.ctx.dirty += removed
        encodings.shrunk(db, key, members, before, gone, client.ctx.limits)
    return removed


@command(
    "smembers",
    arity=2,
    flags=("readonly",),
    keys=(1, 1, 1),
    group="set",
    summary="Get all the members in a set",
    since="1.0.0",
    syntax="key",
    complexity="O(N) where N is the set cardinality.",
    acl_categories=("read", "set", "slow"),
    tips=("nondeterministic_output_order",),
    key_specs=(KeySpec(flags=("RO", "access")),),
)
def smembers(client: Client, argv: list[bytes]) -> Reply:
    """SMEMBERS key

    Replies every member (a RESP3 set, an array in RESP2); empty when the key is missing.
    """
    members: set[bytes] | None = client.db.get_typed(argv[1], set)
    if members is None:
        return _EMPTY_SET
    return SetReply(_listed(client, members))


@command(
    "spop",
    arity=-2,
    flags=("write", "fast"),
    keys=(1, 1, 1),
    group="set",
    summary="Remove and return one or multiple random members from a set",
    since="1.0.0",
    syntax="key [count]",
    complexity="Without the count argument O(1), otherwise O(N) where N is the value of the "
    "passed count.",
    acl_categories=("write", "set", "fast"),
    tips=("nondeterministic_output",),
    key_specs=(KeySpec(flags=("RW", "access", "delete")),),
)
def spop(client: Client, argv: list[bytes]) -> Reply:
    """SPOP key [count]

    Without count: one random member, or null when the key is missing. With count: a set of up
    to count random members (empty when the key is missing or count is 0). The count is parsed
    before the key is looked up; any bad count is "value is out of range, must be positive".
    """
    db = client.db
    key = argv[1]
    if len(argv) == 2:
        members: set[bytes] | None = db.get_typed_for_write(key, set)
        if members is None:
            return None
        member = _pop_one(members)
        if not members:
            db.delete_if_empty(key, members)
        else:
            encodings.set_popped(db, key, members, member, client.ctx.limits)
        client.ctx.dirty += 1
        client.propagate_as = [[b"SREM", key, member]]
        return member
    if len(argv) > 3:
        raise CommandError(errors.SYNTAX)
    count = parse_count(argv[2])
    members = db.get_typed_for_write(key, set)
    if members is None or count == 0:
        return _EMPTY_SET
    size = len(members)
    if count >= size:
        db.delete(key)
        client.ctx.dirty += size
        client.propagate_as = [[b"DEL", key]]
        return SetReply(_listed(client, members))
    popped = _pop_many(members, count)
    if (size - count) * 5 <= count:
        # Redis then lists the members it popped in the set's own order (sorted for an intset),
        # and builds a new set of the members left, whose encoding owes nothing to the old one.
        popped = _listed(client, popped)
        encodings.rebuilt(db, key)
    else:
        encodings.shrunk(db, key, members, size, popped, client.ctx.limits)
    client.ctx.dirty += count
    client.propagate_as = [[b"SREM", key, *popped]]
    return SetReply(popped)


def _pop_one(members: set[bytes]) -> bytes:
    """Remove and return a member of the non-empty ``members`` (see the module docstring)."""
    if sys.getsizeof(members) <= _UNIFORM_MAX_SET_BYTES:
        member = next(islice(members, random.randrange(len(members)), None))
        members.remove(member)
        return member
    return members.pop()


def _pop_many(members: set[bytes], count: int) -> list[bytes]:
    """Remove and return ``count`` members, ``0 < count < len(members)``."""
    # A uniform sample costs O(len(members)); that is cheap for a small table, and when count is
    # a good part of the set it is of the order of the reply anyway.
    if sys.getsizeof(members) <= _UNIFORM_MAX_SET_BYTES or count * 4 > len(members):
        popped = random.sample(tuple(members), count)
        members.difference_update(popped)
        return popped
    pop = members.pop
    return [pop() for _ in range(count)]


# -- membership ---------------------------------------------------------------------------------
@command(
    "sismember",
    arity=3,
    flags=("readonly", "fast"),
    keys=(1, 1, 1),
    group="set",
    summary="Determine if a given value is a member of a set",
    since="1.0.0",
    syntax="key member",
    complexity="O(1)",
    acl_categories=("read", "set", "fast"),
    key_specs=(KeySpec(flags=("RO",)),),
)
def sismember(client: Client, argv: list[bytes]) -> Reply:
    """SISMEMBER key member

    Replies 1 if member is in the set, else 0 (also when the key is missing).
    """
    members: set[bytes] | None = client.db.get_typed(argv[1], set)
    return 1 if members is not None and argv[2] in members else 0


@command(
    "smismember",
    arity=-3,
    flags=("readonly", "fast"),
    keys=(1, 1, 1),
    group="set",
    summary="Returns the membership associated with the given elements for a set",
    since="6.2.0",
    syntax="key member [member ...]",
    complexity="O(N) where N is the number of elements being checked for membership",
    acl_categories=("read", "set", "fast"),
    key_specs=(KeySpec(flags=("RO", "access")),),
)
def smismember(client: Client, argv: list[bytes]) -> Reply:
    """SMISMEMBER key member [member ...]

    Replies an array with 1 or 0 for each member, in the order given; all 0 when the key is
    missing.
    """
    members: set[bytes] | None = client.db.get_typed(argv[1], set)
    if members is None:
        return [0] * (len(argv) - 2)
    return [1 if member in members else 0 for member in islice(argv, 2, None)]


@command(
    "scard",
    arity=2,
    flags=("readonly", "fast"),
    keys=(1, 1, 1),
    group="set",
    summary="Get the number of members in a set",
    since="1.0.0",
    syntax="key",
    complexity="O(1)",
    acl_categories=("read", "set", "fast"),
    key_specs=(KeySpec(flags=("RO",)),),
)
def scard(client: Client, argv: list[bytes]) -> Reply:
    """SCARD key

    Replies the number of members, 0 when the key is missing.
    """
    members: set[bytes] | None = client.db.get_typed(argv[1], set)
    return 0 if members is None else len(members)


# -- random members -----------------------------------------------------------------------------
@command(
    "srandmember",
    arity=-2,
    flags=("readonly",),
    keys=(1, 1, 1),
    group="set",
    summary="Get one or multiple random members from a set",
    since="1.0.0",
    syntax="key [count]",
    complexity="Without the count argument O(1), otherwise O(N) where N is the absolute value "
    "of the passed count.",
    acl_categories=("read", "set", "slow"),
    tips=("nondeterministic_output",),
    key_specs=(KeySpec(flags=("RO", "access")),),
)
def srandmember(client: Client, argv: list[bytes]) -> Reply:
    """SRANDMEMBER key [count]

    Without count: a random member, or null when the key is missing. With count (an array in
    RESP3 too, as in Redis): a positive count gives that many distinct members, or the whole set
    (listed as SMEMBERS lists it) when it has no more than count; a negative count gives -count
    members drawn independently, so repeats are possible. Empty when the key is missing or count
    is 0. The count is parsed before the key is looked up; it may be anything from -LONG_MAX to
    LONG_MAX.

    Unlike Redis, picking from a large set is O(set size), not O(1): a Python set has no
    random access (see "SPOP and randomness" in the module docstring).
    """
    db = client.db
    if len(argv) == 2:
        members: set[bytes] | None = db.get_typed(argv[1], set)
        return None if members is None else _random_member(members)
    if len(argv) > 3:
        raise CommandError(errors.SYNTAX)
    count = strict_int(argv[2])
    if count is None:
        raise CommandError(errors.NOT_INTEGER)
    if count < -LLONG_MAX:
        raise CommandError(errors.LONG_RANGE)
    members = db.get_typed(argv[1], set)
    if members is None or count == 0:
        return []
    if count == 1 or count == -1:
        return [_random_member(members)]
    if count < 0:
        return random.choices(tuple(members), k=-count)
    if count >= len(members):
        return _listed(client, members)
    return random.sample(tuple(members), count)


def _random_member(members: set[bytes]) -> bytes:
    """A uniformly random member of the non-empty ``members``, left in place: O(len(members)),
    a C-level walk to a random position."""
    return next(islice(members, random.randrange(len(members)), None))


# -- moving a member ----------------------------------------------------------------------------
@command(
    "smove",
    arity=4,
    flags=("write", "fast"),
    keys=(1, 2, 1),
    group="set",
    summary="Move a member from one set to another",
    since="1.0.0",
    syntax="source destination member",
    complexity="O(1)",
    acl_categories=("write", "set", "fast"),
    key_specs=(
        KeySpec(flags=("RW", "access", "delete"), index=1, lastkey=0),
        KeySpec(flags=("RW", "insert"), index=2, lastkey=0),
    ),
)
def smove(client: Client, argv: list[bytes]) -> Reply:
    """SMOVE source destination member

    Replies 1 if member was in source (it is then removed from there and added to destination,
    which is created if missing), else 0. As in Redis: both keys are looked up first; a missing
    source replies 0 whatever destination holds; then a source, and then a destination, of
    another type is WRONGTYPE; with source and destination the same set nothing changes and the
    reply says whether member is in it. A source left empty is deleted. Propagated as received.
    """
    db = client.db
    source_key, destination_key, member = argv[1], argv[2], argv[3]
    source = db.lookup(source_key)
    destination = db.lookup(destination_key)
    if source is None:
        return 0
    if type(source) is not set or (destination is not None and type(destination) is not set):
        raise CommandError(errors.WRONGTYPE)
    if source is destination:
        return 1 if member in source else 0
    if member not in source:
        return 0
    source.remove(member)
    if not source:
        db.delete_if_empty(source_key, source)
    else:
        encodings.shrunk(db, source_key, source, len(source) + 1, (member,), client.ctx.limits)
    ctx = client.ctx
    ctx.dirty += 1
    if destination is None:
        db.set_value(destination_key, {member})
        ctx.dirty += 1
    elif member not in destination:
        destination.add(member)
        ctx.dirty += 1
    elif ctx.signal.listening:
        client.touched = [(db.index, source_key)]  # the destination had it: unchanged
    return 1


# -- intersection, union, difference ------------------------------------------------------------
def _sources(db: Database, keys: list[bytes]) -> list[set[bytes] | None]:
    """The set at each of ``keys`` (``None`` when missing), looked up in order with read
    lookups (Redis counts keyspace hits and misses for the STORE forms' sources too). A key of
    another type raises WRONGTYPE, after every key before it was looked up; one after a
    missing key still does."""
    return [db.get_typed(key, set) for key in keys]


def _intersection(sets: list[set[bytes] | None]) -> set[bytes]:
    """A new set: the members common to all ``sets``; a missing one makes it empty."""
    present = [s for s in sets if s is not None]
    if len(present) < len(sets):
        return set()
    present.sort(key=len)
    return present[0].intersection(*present[1:])


def _union(sets: list[set[bytes] | None]) -> set[bytes]:
    """A new set: the members of any of ``sets``."""
    return set().union(*[s for s in sets if s is not None])


def _difference(sets: list[set[bytes] | None]) -> set[bytes]:
    """A new set: the members of the first of ``sets`` in none of the others."""
    first = sets[0]
    if first is None:
        return set()
    return first.difference(*[s for s in islice(sets, 1, None) if s is not None])


def _store(client: Client, destination: bytes, result: set[bytes]) -> int:
    """The STORE forms' end: ``result`` (a new set) replaces ``destination`` whatever it held,
    its TTL dropped; an empty result deletes ``destination`` instead. A change propagates the
    command as received; deleting a destination that was not there changes nothing.

    As in Redis, the deletion does not look at the destination's deadline: one whose time had
    come is deleted (and the command propagated), not expired."""
    db = client.db
    if result:
        db.set_value(destination, result)
        client.ctx.dirty += 1
        return len(result)
    if db.delete_stored(destination):
        client.ctx.dirty += 1
    return 0


_SET_ALGEBRA_KEYS: Final = (KeySpec(flags=("RO", "access")),)
_COMPLEXITY_INTER: Final = (
    "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets."
)
_COMPLEXITY_UNION: Final = "O(N) where N is the total number of elements in all given sets."


def _store_keys(destination_flags: tuple[str, ...]) -> tuple[KeySpec, ...]:
    return (
        KeySpec(flags=destination_flags, index=1, lastkey=0),
        KeySpec(flags=("RO", "access"), index=2, lastkey=-1),
    )


def _algebra(name: str, summary: str, complexity: str) -> Callable[[Handler], Handler]:
    """The one declaration of SINTER, SUNION and SDIFF: ``name key [key ...]``, read only."""
    return command(
        name,
        arity=-2,
        flags=("readonly",),
        keys=(1, -1, 1),
        group="set",
        summary=summary,
        since="1.0.0",
        syntax="key [key ...]",
        complexity=complexity,
        acl_categories=("read", "set", "slow"),
        tips=("nondeterministic_output_order",),
        key_specs=_SET_ALGEBRA_KEYS,
    )


def _algebra_store(
    name: str, summary: str, complexity: str, destination_flags: tuple[str, ...]
) -> Callable[[Handler], Handler]:
    """The one declaration of the STORE forms: ``name destination key [key ...]``."""
    return command(
        name,
        arity=-3,
        flags=("write", "denyoom"),
        keys=(1, -1, 1),
        group="set",
        summary=summary,
        since="1.0.0",
        syntax="destination key [key ...]",
        complexity=complexity,
        acl_categories=("write", "set", "slow"),
        key_specs=_store_keys(destination_flags),
    )


@_algebra("sinter", "Intersect multiple sets", _COMPLEXITY_INTER)
def sinter(client: Client, argv: list[bytes]) -> Reply:
    """SINTER key [key ...]

    Replies the members of every set (a RESP3 set); a missing key is an empty set.
    """
    return SetReply(_listed(client, _intersection(_sources(client.db, argv[1:]))))


@command(
    "sintercard",
    arity=-3,
    flags=("readonly", "movablekeys"),
    group="set",
    summary="Intersect multiple sets and return the cardinality of the result",
    since="7.0.0",
    syntax="numkeys key [key ...] [LIMIT limit]",
    complexity=_COMPLEXITY_INTER,
    acl_categories=("read", "set", "slow"),
    key_specs=(KeySpec(flags=("RO", "access"), index=1, step=1, keynumidx=0, firstkey=1),),
)
def sintercard(client: Client, argv: list[bytes]) -> Reply:
    """SINTERCARD numkeys key [key ...] [LIMIT limit]

    Replies the size of the intersection, counting no further than limit when it is not 0.
    Checked in Redis's order before any key is looked up: numkeys from 1 to LONG_MAX (else
    "numkeys should be greater than 0"), no more keys than arguments, then each option (LIMIT
    from 0 to LONG_MAX, the last one wins; anything else is a syntax error).
    """
    numkeys = parse_at_least(argv[1], 1, errors.NUMKEYS_NOT_POSITIVE)
    if numkeys > len(argv) - 2:
        raise CommandError(errors.NUMKEYS_TOO_MANY)
    limit = 0
    index = 2 + numkeys
    while index < len(argv):
        if argv[index].lower() != b"limit" or index + 1 == len(argv):
            raise CommandError(errors.SYNTAX)
        limit = parse_at_least(argv[index + 1], 0, errors.LIMIT_NEGATIVE)
        index += 2
    sets = _sources(client.db, argv[2 : 2 + numkeys])
    present = [s for s in sets if s is not None]
    if len(present) < len(sets):
        return 0
    present.sort(key=len)
    smallest = present[0]
    others = present[1:]
    if not limit:
        return len(smallest.intersection(*others))
    found = 0
    for member in smallest:
        for other in others:
            if member not in other:
                break
        else:
            found += 1
            if found >= limit:
                break
    return found


@_algebra_store(
    "sinterstore",
    "Intersect multiple sets and store the resulting set in a key",
    _COMPLEXITY_INTER,
    ("RW", "update"),
)
def sinterstore(client: Client, argv: list[bytes]) -> Reply:
    """SINTERSTORE destination key [key ...]

    Stores the intersection at destination (deleted when it is empty); replies its size.
    """
    return _store(client, argv[1], _intersection(_sources(client.db, argv[2:])))


@_algebra("sunion", "Add multiple sets", _COMPLEXITY_UNION)
def sunion(client: Client, argv: list[bytes]) -> Reply:
    """SUNION key [key ...]

    Replies the members of any of the sets (a RESP3 set); a missing key is an empty set.
    """
    return SetReply(_listed(client, _union(_sources(client.db, argv[1:]))))


@_algebra_store(
    "sunionstore",
    "Add multiple sets and store the resulting set in a key",
    _COMPLEXITY_UNION,
    ("OW", "update"),
)
def sunionstore(client: Client, argv: list[bytes]) -> Reply:
    """SUNIONSTORE destination key [key ...]

    Stores the union at destination (deleted when it is empty); replies its size.
    """
    return _store(client, argv[1], _union(_sources(client.db, argv[2:])))


@_algebra("sdiff", "Subtract multiple sets", _COMPLEXITY_UNION)
def sdiff(client: Client, argv: list[bytes]) -> Reply:
    """SDIFF key [key ...]

    Replies the members of the first set that are in none of the others (a RESP3 set); a
    missing key is an empty set.
    """
    return SetReply(_listed(client, _difference(_sources(client.db, argv[1:]))))


@_algebra_store(
    "sdiffstore",
    "Subtract multiple sets and store the resulting set in a key",
    _COMPLEXITY_UNION,
    ("OW", "update"),
)
def sdiffstore(client: Client, argv: list[bytes]) -> Reply:
    """SDIFFSTORE destination key [key ...]

    Stores the difference at destination (deleted when it is empty); replies its size.
    """
    return _store(client, argv[1], _difference(_sources(client.db, argv[2:])))
