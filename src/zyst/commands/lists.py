"""List commands: LPUSH, RPUSH, LPOP, RPOP, LRANGE, LLEN (Redis's ``t_list.c``).

A list is a ``collections.deque`` of ``bytes``: O(1) pushes and pops at both ends, which is what
these commands need. Indexing into the middle of a deque walks its blocks, so LRANGE reads
with ``islice`` from whichever end is nearer to the range, as Redis's quicklist does.

Invariant: a list in the keyspace is never empty; a pop that takes its last element deletes
the key.

Reply details that follow Redis 7 exactly:

- ``LPOP key count`` on a missing key replies a null *array* (``*-1``), even with count 0; on
  an existing key, count 0 replies an empty array.
- The count is parsed before the key is looked up, and any bad count (not a number, negative,
  too big) gets "value is out of range, must be positive", never "not an integer".
- LRANGE parses both indexes before the lookup, so a bad index wins over WRONGTYPE.

Propagation: every command here is deterministic and propagates as received.
"""

from __future__ import annotations

from collections import deque
from itertools import islice
from typing import TYPE_CHECKING

from zyst import errors
from zyst.blocking import Blocked
from zyst.commands.args import parse_count, parse_int, parse_timeout_ms
from zyst.commands.table import KeySpec, Reply, command
from zyst.errors import CommandError
from zyst.protocol.resp import NULL_ARRAY

if TYPE_CHECKING:
    from zyst.client import Client


@command(
    "lpush",
    arity=-3,
    flags=("write", "denyoom", "fast"),
    keys=(1, 1, 1),
    group="list",
    summary="Prepend one or multiple elements to a list",
    since="1.0.0",
    syntax="key element [element ...]",
    complexity="O(1) for each element added, so O(N) to add N elements when the command is "
    "called with multiple arguments.",
    acl_categories=("write", "list", "fast"),
    key_specs=(KeySpec(flags=("RW", "insert")),),
)
def lpush(client: Client, argv: list[bytes]) -> Reply:
    """LPUSH key element [element ...]

    Each element goes to the head in turn (``LPUSH k a b`` leaves ``b a``). Replies the new
    length.
    """
    lst: deque[bytes] = client.db.get_or_create(argv[1], deque)
    if len(argv) == 3:
        lst.appendleft(argv[2])
        client.ctx.dirty += 1
    else:
        lst.extendleft(islice(argv, 2, None))
        client.ctx.dirty += len(argv) - 2
    return len(lst)


@command(
    "rpush",
    arity=-3,
    flags=("write", "denyoom", "fast"),
    keys=(1, 1, 1),
    group="list",
    summary="Append one or multiple elements to a list",
    since="1.0.0",
    syntax="key element [element ...]",
    complexity="O(1) for each element added, so O(N) to add N elements when the command is "
    "called with multiple arguments.",
    acl_categories=("write", "list", "fast"),
    key_specs=(KeySpec(flags=("RW", "insert")),),
)
def rpush(client: Client, argv: list[bytes]) -> Reply:
    """RPUSH key element [element ...]

    Appends the elements to the tail in order. Replies the new length.
    """
    lst: deque[bytes] = client.db.get_or_create(argv[1], deque)
    if len(argv) == 3:
        lst.append(argv[2])
        client.ctx.dirty += 1
    else:
        lst.extend(islice(argv, 2, None))
        client.ctx.dirty += len(argv) - 2
    return len(lst)


@command(
    "lpop",
    arity=-2,
    flags=("write", "fast"),
    keys=(1, 1, 1),
    group="list",
    summary="Remove and get the first elements in a list",
    since="1.0.0",
    syntax="key [count]",
    complexity="O(N) where N is the number of elements returned",
    acl_categories=("write", "list", "fast"),
    key_specs=(KeySpec(flags=("RW", "access", "delete")),),
)
def lpop(client: Client, argv: list[bytes]) -> Reply:
    """LPOP key [count]

    Without count: the head element, or null. With count: an array of up to count elements
    from the head, or a null array when the key is missing.
    """
    return _pop(client, argv, True)


@command(
    "rpop",
    arity=-2,
    flags=("write", "fast"),
    keys=(1, 1, 1),
    group="list",
    summary="Remove and get the last elements in a list",
    since="1.0.0",
    syntax="key [count]",
    complexity="O(N) where N is the number of elements returned",
    acl_categories=("write", "list", "fast"),
    key_specs=(KeySpec(flags=("RW", "access", "delete")),),
)
def rpop(client: Client, argv: list[bytes]) -> Reply:
    """RPOP key [count]

    Without count: the tail element, or null. With count: an array of up to count elements
    from the tail (tail first), or a null array when the key is missing.
    """
    return _pop(client, argv, False)


def _pop(client: Client, argv: list[bytes], head: bool) -> Reply:
    db = client.db
    key = argv[1]
    if len(argv) == 2:
        lst: deque[bytes] | None = db.get_typed_for_write(key, deque)
        if lst is None:
            return None
        value = lst.popleft() if head else lst.pop()
        if not lst:
            db.delete_if_empty(key, lst)
        client.ctx.dirty += 1
        return value
    if len(argv) > 3:
        raise CommandError(errors.wrong_arity("lpop" if head else "rpop"))
    count = parse_count(argv[2])
    lst = db.get_typed_for_write(key, deque)
    if lst is None:
        return NULL_ARRAY
    if count == 0:
        return []
    size = len(lst)
    if count >= size:
        items = list(lst) if head else list(reversed(lst))
        db.delete(key)
        client.ctx.dirty += size
        return items
    pop = lst.popleft if head else lst.pop
    client.ctx.dirty += count
    return [pop() for _ in range(count)]


@command(
    "lrange",
    arity=4,
    flags=("readonly",),
    keys=(1, 1, 1),
    group="list",
    summary="Get a range of elements from a list",
    since="1.0.0",
    syntax="key start stop",
    complexity="O(S+N) where S is the distance of start offset from HEAD for small lists, from "
    "nearest end (HEAD or TAIL) for large lists; and N is the number of elements in the "
    "specified range.",
    acl_categories=("read", "list", "slow"),
    key_specs=(KeySpec(flags=("RO", "access")),),
)
def lrange(client: Client, argv: list[bytes]) -> Reply:
    """LRANGE key start stop

    Both indexes are inclusive; negative ones count from the tail (-1 is the last element).
    Out-of-range indexes are clamped, and an empty range replies an empty array.
    """
    start = parse_int(argv[2])
    stop = parse_int(argv[3])
    lst: deque[bytes] | None = client.db.get_typed(argv[1], deque)
    if lst is None:
        return []
    size = len(lst)
    if start < 0:
        start = max(start + size, 0)
    if stop < 0:
        stop += size
    elif stop >= size:
        stop = size - 1
    if start > stop:  # also covers start >= size, since stop < size here
        return []
    if start == 0 and stop == size - 1:
        return list(lst)
    if start <= size - 1 - stop:
        return list(islice(lst, start, stop + 1))
    # Nearer the tail: walk from there and put the slice back in order.
    items = list(islice(reversed(lst), size - 1 - stop, size - start))
    items.reverse()
    return items


@command(
    "llen",
    arity=2,
    flags=("readonly", "fast"),
    keys=(1, 1, 1),
    group="list",
    summary="Get the length of a list",
    since="1.0.0",
    syntax="key",
    complexity="O(1)",
    acl_categories=("read", "list", "fast"),
    key_specs=(KeySpec(flags=("RO",)),),
)
def llen(client: Client, argv: list[bytes]) -> Reply:
    """LLEN key

    Replies the length of the list, 0 when the key is missing.
    """
    lst: deque[bytes] | None = client.db.get_typed(argv[1], deque)
    return 0 if lst is None else len(lst)


# -- blocking pops (zyst.blocking) -------------------------------------------------------------
def _blocking_pop(client: Client, argv: list[bytes], head: bool) -> Reply:
    """BLPOP/BRPOP: pop from the first of the keys that holds a list, as LPOP/RPOP would (and
    propagated as that), or wait for one (:class:`zyst.blocking.Blocked`)."""
    timeout = parse_timeout_ms(argv[-1])
    db = client.db
    keys = argv[1:-1]
    for key in keys:
        lst: deque[bytes] | None = db.get_typed_for_write(key, deque)
        if lst is None:
            continue
        value = lst.popleft() if head else lst.pop()
        if not lst:
            db.delete_if_empty(key, lst)
        client.ctx.dirty += 1
        client.propagate_as = [[b"LPOP" if head else b"RPOP", key]]
        return [key, value]
    deadline = timeout + db.keyspace.clock() if timeout else 0
    name, timeout_arg = argv[0], argv[-1]
    return Blocked(keys, deque, deadline, lambda key: [name, key, timeout_arg])


@command(
    "blpop",
    arity=-3,
    flags=("write", "noscript", "blocking"),
    keys=(1, -2, 1),
    group="list",
    summary="Remove and get the first element in a list, or block until one is available",
    since="2.0.0",
    syntax="key [key ...] timeout",
    complexity="O(N) where N is the number of provided keys.",
    acl_categories=("write", "list", "slow", "blocking"),
    key_specs=(KeySpec(flags=("RW", "access", "delete")),),
)
def blpop(client: Client, argv: list[bytes]) -> Reply:
    """BLPOP key [key ...] timeout

    The head of the first non-empty list among the keys, as ``[key, element]``; else the
    client waits until a list appears at one of them or ``timeout`` seconds pass (0: forever),
    and then gets a null array.
    """
    return _blocking_pop(client, argv, True)


@command(
    "brpop",
    arity=-3,
    flags=("write", "noscript", "blocking"),
    keys=(1, -2, 1),
    group="list",
    summary="Remove and get the last element in a list, or block until one is available",
    since="2.0.0",
    syntax="key [key ...] timeout",
    complexity="O(N) where N is the number of provided keys.",
    acl_categories=("write", "list", "slow", "blocking"),
    key_specs=(KeySpec(flags=("RW", "access", "delete")),),
)
def brpop(client: Client, argv: list[bytes]) -> Reply:
    """BRPOP key [key ...] timeout

    BLPOP from the tail.
    """
    return _blocking_pop(client, argv, False)
