"""Hash commands: HSET, HGET, HDEL, HGETALL (Redis's ``t_hash.c``).

A hash is a ``dict[bytes, bytes]``. A dict keeps insertion order, an updated field keeps its
place and a deleted then re-added field moves to the end: exactly the order of Redis's listpack
encoding, so HGETALL on a small hash answers in the same order as Redis (large hashes, which
Redis keeps in a hash table, have no defined order).

Invariant: a hash in the keyspace is never empty; HDEL of its last field deletes the key.

Propagation: every command here propagates as received.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zyst import errors
from zyst.commands.table import KeySpec, Reply, command
from zyst.errors import CommandError
from zyst.protocol.resp import Map

if TYPE_CHECKING:
    from zyst.client import Client

_HSET_ARITY = errors.wrong_arity("hset")


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
        hash_: dict[bytes, bytes] = client.db.get_or_create(argv[1], dict)
        field = argv[2]
        added = field not in hash_
        hash_[field] = argv[3]
        client.ctx.dirty += 1
        return 1 if added else 0
    if nargs % 2:
        # Checked before the key is touched: a malformed HSET creates nothing.
        raise CommandError(_HSET_ARITY)
    hash_ = client.db.get_or_create(argv[1], dict)
    before = len(hash_)
    for i in range(2, nargs, 2):
        hash_[argv[i]] = argv[i + 1]
    client.ctx.dirty += (nargs - 2) // 2
    return len(hash_) - before


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
    removed = 0
    for i in range(2, len(argv)):
        if hash_.pop(argv[i], None) is not None:
            removed += 1
            if not hash_:
                break  # Redis stops here too: the key is gone
    if removed:
        db.delete_if_empty(key, hash_)
        client.ctx.dirty += removed
    return removed


@command(
    "hgetall",
    arity=2,
    flags=("readonly",),
    keys=(1, 1, 1),
    group="hash",
    summary="Get all the fields and values in a hash",
    since="2.0.0",
    syntax="key",
    complexity="O(N) where N is the size of the hash.",
    acl_categories=("read", "hash", "slow"),
    tips=("nondeterministic_output_order",),
    key_specs=(KeySpec(flags=("RO", "access")),),
)
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
