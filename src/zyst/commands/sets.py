"""Set commands: SADD, SREM, SMEMBERS, SPOP (Redis's ``t_set.c``).

A set is a ``set[bytes]``. Its iteration order is Python's, not Redis's (Redis lists small
integer sets sorted and others in hash-table order); Redis defines no order for SMEMBERS, so
neither do we.

Invariant: a set in the keyspace is never empty; removing its last member deletes the key.

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
"""

from __future__ import annotations

import random
import sys
from itertools import islice
from typing import TYPE_CHECKING, Final

from zyst import errors
from zyst.commands.args import parse_count
from zyst.commands.table import KeySpec, Reply, command
from zyst.errors import CommandError
from zyst.protocol.resp import SetReply

if TYPE_CHECKING:
    from zyst.client import Client

# ``sys.getsizeof`` of a set whose table has 2048 slots is 32984 bytes on 64-bit CPython 3.11.
_UNIFORM_MAX_SET_BYTES: Final = 40_000

_EMPTY_SET: Final = SetReply(())


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
    else:
        members.difference_update(islice(argv, 2, None))
    removed = before - len(members)
    if removed:
        db.delete_if_empty(key, members)
        client.ctx.dirty += removed
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
    # A snapshot: the reply may be encoded after later commands (MULTI, pipelines) change it.
    return SetReply(list(members))


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
        return SetReply(list(members))
    popped = _pop_many(members, count)
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
