"""List commands (Redis's ``t_list.c``): LPUSH, RPUSH, LPUSHX, RPUSHX, LPOP, RPOP, LMPOP,
LRANGE, LLEN, LINDEX, LSET, LINSERT, LREM, LTRIM, LPOS, LMOVE, RPOPLPUSH, and the blocking
BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP (which wait through :mod:`zyst.blocking`).

A list is a ``collections.deque`` of ``bytes``: O(1) pushes and pops at both ends, which is what
most of these commands need. Indexing into the middle of a deque walks its blocks from the
nearer end (LINDEX, LSET), and LRANGE reads with ``islice`` from whichever end is nearer to the
range, as Redis's quicklist does. LREM, and LTRIM when it removes more than it keeps, rebuild
the deque in place, so the key keeps its value object and its TTL.

Invariant: a list in the keyspace is never empty; a command that takes its last element
deletes the key.

Reply details that follow Redis 7 exactly:

- ``LPOP key count`` on a missing key replies a null *array* (``*-1``), even with count 0; on
  an existing key, count 0 replies an empty array.
- LPOP's and RPOP's count is parsed before the key is looked up, and any bad count (not a
  number, negative, too big) gets "value is out of range, must be positive", never "not an
  integer".
- LRANGE, LTRIM and LREM parse their numbers before the lookup, so a bad number wins over
  WRONGTYPE; LINDEX and LSET look the key up first (LINDEX on a missing key is null whatever
  the index, LSET is "no such key").
- The words LEFT/RIGHT, BEFORE/AFTER and LPOS's and LMPOP's options are compared as Redis's
  ``strcasecmp`` compares them: up to a NUL byte (``LEFT\0x`` is LEFT).
- ``LPOS ... RANK -9223372036854775808``: Redis negates the rank in a C ``long``, which stays
  negative, so every match counts and COUNT never stops the search; Zyst does the same.

Propagation: as received, except LMPOP, which Redis 7.0 rewrites as ``LPOP key n`` or
``RPOP key n`` for the one key it popped from (``n`` the number of elements taken), and the
blocking commands, which leave as the plain command they did, whether at once or when served:
BLPOP/BRPOP as ``LPOP``/``RPOP key``, BLMPOP as LMPOP does, BRPOPLPUSH as ``RPOPLPUSH``, BLMOVE
as ``LMOVE`` (with the client's LEFT/RIGHT words at once; served, with ``left``/``right`` in
lower case, as Redis writes them then). A command that changed nothing (LPUSHX on a missing
key, LINSERT without its pivot, LREM without a match, an LTRIM that keeps everything)
propagates nothing.

Blocking details that follow Redis 7.0: BLMOVE checks its LEFT/RIGHT words, then its timeout,
then the source; it waits on the source only, and looks at the destination when it moves
something (so a served BLMOVE whose destination became another type answers WRONGTYPE).
BLMPOP parses numkeys, the side and COUNT before its timeout.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from itertools import islice
from typing import TYPE_CHECKING, Final

from zyst import errors
from zyst.blocking import Blocked, deadline
from zyst.commands.args import (
    option_word,
    parse_at_least,
    parse_count,
    parse_int,
    parse_timeout_ms,
)
from zyst.commands.table import Handler, KeySpec, Reply, command
from zyst.errors import CommandError
from zyst.numbers import LLONG_MIN
from zyst.protocol.resp import NULL_ARRAY, OK

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
    name, timeout_arg = argv[0], argv[-1]
    ends = deadline(timeout, db.keyspace.clock())
    return Blocked(keys, deque, ends, lambda key: [name, key, timeout_arg])


def _blocking_pop_command(name: str, summary: str) -> Callable[[Handler], Handler]:
    """The one declaration of BLPOP and BRPOP (they differ by the end they pop from)."""
    return command(
        name,
        arity=-3,
        flags=("write", "noscript", "blocking"),
        keys=(1, -2, 1),
        group="list",
        summary=summary,
        since="2.0.0",
        syntax="key [key ...] timeout",
        complexity="O(N) where N is the number of provided keys.",
        acl_categories=("write", "list", "slow", "blocking"),
        key_specs=(KeySpec(flags=("RW", "access", "delete")),),
    )


@_blocking_pop_command(
    "blpop", "Remove and get the first element in a list, or block until one is available"
)
def blpop(client: Client, argv: list[bytes]) -> Reply:
    """BLPOP key [key ...] timeout

    The head of the first non-empty list among the keys, as ``[key, element]``; else the
    client waits until a list appears at one of them or ``timeout`` seconds pass (0: forever),
    and then gets a null array.
    """
    return _blocking_pop(client, argv, True)


@_blocking_pop_command(
    "brpop", "Remove and get the last element in a list, or block until one is available"
)
def brpop(client: Client, argv: list[bytes]) -> Reply:
    """BRPOP key [key ...] timeout

    BLPOP from the tail.
    """
    return _blocking_pop(client, argv, False)


def _side(raw: bytes) -> bool:
    """LEFT (True) or RIGHT (False); anything else is a syntax error."""
    word = option_word(raw)
    if word == b"left":
        return True
    if word == b"right":
        return False
    raise CommandError(errors.SYNTAX)


def _push_existing(client: Client, argv: list[bytes], head: bool) -> Reply:
    lst: deque[bytes] | None = client.db.get_typed_for_write(argv[1], deque)
    if lst is None:
        return 0
    if head:
        lst.extendleft(islice(argv, 2, None))
    else:
        lst.extend(islice(argv, 2, None))
    client.ctx.dirty += len(argv) - 2
    return len(lst)


def _pushx(name: str, summary: str) -> Callable[[Handler], Handler]:
    """The one declaration of LPUSHX and RPUSHX (they differ by the end they push to)."""
    return command(
        name,
        arity=-3,
        flags=("write", "denyoom", "fast"),
        keys=(1, 1, 1),
        group="list",
        summary=summary,
        since="2.2.0",
        syntax="key element [element ...]",
        complexity="O(1) for each element added, so O(N) to add N elements when the command is "
        "called with multiple arguments.",
        acl_categories=("write", "list", "fast"),
        key_specs=(KeySpec(flags=("RW", "insert")),),
    )


@_pushx("lpushx", "Prepend an element to a list, only if the list exists")
def lpushx(client: Client, argv: list[bytes]) -> Reply:
    """LPUSHX key element [element ...]

    LPUSH, but only onto an existing list: a missing key stays missing and the reply is 0.
    """
    return _push_existing(client, argv, True)


@_pushx("rpushx", "Append an element to a list, only if the list exists")
def rpushx(client: Client, argv: list[bytes]) -> Reply:
    """RPUSHX key element [element ...]

    RPUSH, but only onto an existing list: a missing key stays missing and the reply is 0.
    """
    return _push_existing(client, argv, False)


@command(
    "lindex",
    arity=3,
    flags=("readonly",),
    keys=(1, 1, 1),
    group="list",
    summary="Get an element from a list by its index",
    since="1.0.0",
    syntax="key index",
    complexity="O(N) where N is the number of elements to traverse to get to the element at "
    "index. This makes asking for the first or the last element of the list O(1).",
    acl_categories=("read", "list", "slow"),
    key_specs=(KeySpec(flags=("RO", "access")),),
)
def lindex(client: Client, argv: list[bytes]) -> Reply:
    """LINDEX key index

    The element at ``index`` (negative counts from the tail), or null when the index is out of
    range or the key is missing. The key is looked up before the index is parsed.
    """
    lst: deque[bytes] | None = client.db.get_typed(argv[1], deque)
    if lst is None:
        return None
    index = parse_int(argv[2])
    size = len(lst)
    if index < -size or index >= size:
        return None
    return lst[index]  # a deque walks from its nearer end


@command(
    "lset",
    arity=4,
    flags=("write", "denyoom"),
    keys=(1, 1, 1),
    group="list",
    summary="Set the value of an element in a list by its index",
    since="1.0.0",
    syntax="key index element",
    complexity="O(N) where N is the length of the list. Setting either the first or the last "
    "element of the list is O(1).",
    acl_categories=("write", "list", "slow"),
    key_specs=(KeySpec(flags=("RW", "update")),),
)
def lset(client: Client, argv: list[bytes]) -> Reply:
    """LSET key index element

    Replaces the element at ``index``. A missing key is "no such key" (checked before the
    index is parsed); an index outside the list is "index out of range".
    """
    lst: deque[bytes] | None = client.db.get_typed_for_write(argv[1], deque)
    if lst is None:
        raise CommandError(errors.NO_SUCH_KEY)
    index = parse_int(argv[2])
    size = len(lst)
    if index < -size or index >= size:
        raise CommandError(errors.INDEX_OUT_OF_RANGE)
    lst[index] = argv[3]
    client.ctx.dirty += 1
    return OK


@command(
    "linsert",
    arity=5,
    flags=("write", "denyoom"),
    keys=(1, 1, 1),
    group="list",
    summary="Insert an element before or after another element in a list",
    since="2.2.0",
    syntax="key <BEFORE | AFTER> pivot element",
    complexity="O(N) where N is the number of elements to traverse before seeing the value "
    "pivot. This means that inserting somewhere on the left end on the list (head) can be "
    "considered O(1) and inserting somewhere on the right end (tail) is O(N).",
    acl_categories=("write", "list", "slow"),
    key_specs=(KeySpec(flags=("RW", "insert")),),
)
def linsert(client: Client, argv: list[bytes]) -> Reply:
    """LINSERT key <BEFORE | AFTER> pivot element

    Inserts next to the first occurrence of ``pivot`` from the head. Replies the new length,
    -1 when the pivot is not there, 0 when the key is missing. BEFORE/AFTER is checked first.
    """
    where = option_word(argv[2])
    if where == b"after":
        after = True
    elif where == b"before":
        after = False
    else:
        raise CommandError(errors.SYNTAX)
    lst: deque[bytes] | None = client.db.get_typed_for_write(argv[1], deque)
    if lst is None:
        return 0
    try:
        index = lst.index(argv[3])
    except ValueError:
        return -1
    lst.insert(index + 1 if after else index, argv[4])
    client.ctx.dirty += 1
    return len(lst)


@command(
    "lrem",
    arity=4,
    flags=("write",),
    keys=(1, 1, 1),
    group="list",
    summary="Remove elements from a list",
    since="1.0.0",
    syntax="key count element",
    complexity="O(N+M) where N is the length of the list and M is the number of elements removed.",
    acl_categories=("write", "list", "slow"),
    key_specs=(KeySpec(flags=("RW", "delete")),),
)
def lrem(client: Client, argv: list[bytes]) -> Reply:
    """LREM key count element

    Removes the first ``count`` occurrences of ``element`` from the head (count > 0), from the
    tail (count < 0), or all of them (count 0). Replies how many were removed.
    """
    limit = parse_int(argv[2])
    key = argv[1]
    db = client.db
    lst: deque[bytes] | None = db.get_typed_for_write(key, deque)
    if lst is None:
        return 0
    element = argv[3]
    from_tail = limit < 0
    # (Redis negates a count of -2**63 into itself, which no removal count ever reaches: all
    # matches go, as they do here.)
    limit = -limit if from_tail else limit
    kept: list[bytes] = []
    removed = 0
    for item in reversed(lst) if from_tail else lst:
        if item == element and (limit == 0 or removed < limit):
            removed += 1
        else:
            kept.append(item)
    if removed:
        if from_tail:
            kept.reverse()
        lst.clear()
        lst.extend(kept)
        db.delete_if_empty(key, lst)
        client.ctx.dirty += removed
    return removed


@command(
    "ltrim",
    arity=4,
    flags=("write",),
    keys=(1, 1, 1),
    group="list",
    summary="Trim a list to the specified range",
    since="1.0.0",
    syntax="key start stop",
    complexity="O(N) where N is the number of elements to be removed by the operation.",
    acl_categories=("write", "list", "slow"),
    key_specs=(KeySpec(flags=("RW", "delete")),),
)
def ltrim(client: Client, argv: list[bytes]) -> Reply:
    """LTRIM key start stop

    Keeps only the elements from ``start`` to ``stop`` (inclusive, LRANGE's rules); an empty
    range deletes the key. Always OK, a missing key included.
    """
    start = parse_int(argv[2])
    stop = parse_int(argv[3])
    key = argv[1]
    db = client.db
    lst: deque[bytes] | None = db.get_typed_for_write(key, deque)
    if lst is None:
        return OK
    size = len(lst)
    if start < 0:
        start = max(start + size, 0)
    if stop < 0:
        stop += size
    elif stop >= size:
        stop = size - 1
    if start > stop:  # also covers start >= size, since stop < size here
        db.delete(key)
        client.ctx.dirty += size
        return OK
    head, tail = start, size - 1 - stop
    if head + tail == 0:
        return OK
    if head + tail <= stop - start + 1:
        for _ in range(head):
            lst.popleft()
        for _ in range(tail):
            lst.pop()
    else:  # most of it goes: copying what stays is cheaper than popping the rest
        kept = list(islice(lst, start, stop + 1))
        lst.clear()
        lst.extend(kept)
    client.ctx.dirty += head + tail
    return OK


@command(
    "lpos",
    arity=-3,
    flags=("readonly",),
    keys=(1, 1, 1),
    group="list",
    summary="Return the index of matching elements on a list",
    since="6.0.6",
    syntax="key element [RANK rank] [COUNT num-matches] [MAXLEN len]",
    complexity="O(N) where N is the number of elements in the list, for the average case. When "
    "searching for elements near the head or the tail of the list, or when the MAXLEN option is "
    "provided, the command may run in constant time.",
    acl_categories=("read", "list", "slow"),
    key_specs=(KeySpec(flags=("RO", "access")),),
)
def lpos(client: Client, argv: list[bytes]) -> Reply:
    """LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]

    The index (as LINDEX counts it) of the ``rank``-th match of ``element``: from the head for
    a positive rank, from the tail for a negative one. With COUNT, an array of up to that many
    matches from the rank-th on (0: all of them). MAXLEN scans at most that many elements.
    Without COUNT a miss is null; with COUNT it is an empty array. Options are parsed (the last
    one of a kind wins) before the key is looked up.
    """
    element = argv[2]
    rank = 1
    count = -1  # COUNT not given
    maxlen = 0
    argc = len(argv)
    j = 3
    while j < argc:
        option = option_word(argv[j])
        more = j + 1 < argc
        if option == b"rank" and more:
            j += 1
            rank = parse_int(argv[j])
            if rank == 0:
                raise CommandError(errors.LPOS_RANK_ZERO)
        elif option == b"count" and more:
            j += 1
            count = parse_at_least(argv[j], 0, errors.LPOS_COUNT_NEGATIVE)
        elif option == b"maxlen" and more:
            j += 1
            maxlen = parse_at_least(argv[j], 0, errors.LPOS_MAXLEN_NEGATIVE)
        else:
            raise CommandError(errors.SYNTAX)
        j += 1
    lst: deque[bytes] | None = client.db.get_typed(argv[1], deque)
    if lst is None:
        return None if count == -1 else []
    from_tail = rank < 0
    if rank == LLONG_MIN:  # see the module docstring
        rank = 1
        if count > 0:
            count = 0
    elif from_tail:
        rank = -rank
    size = len(lst)
    scan = reversed(lst) if from_tail else iter(lst)
    found: list[int] = []
    matches = 0
    for index, item in enumerate(islice(scan, maxlen) if maxlen else scan):
        if item != element:
            continue
        matches += 1
        if matches < rank:
            continue
        position = size - 1 - index if from_tail else index
        if count == -1:
            return position
        found.append(position)
        if len(found) == count:
            break
    return None if count == -1 else found


# LMOVE's and RPOPLPUSH's keys: the source popped, then the destination pushed onto.
_MOVE_KEYS: Final = (
    KeySpec(flags=("RW", "access", "delete"), index=1, lastkey=0, step=1),
    KeySpec(flags=("RW", "insert"), index=2, lastkey=0, step=1),
)


def _move(client: Client, argv: list[bytes], from_head: bool, to_head: bool) -> Reply:
    """Pop from ``argv[1]`` and push onto ``argv[2]``: LMOVE and RPOPLPUSH."""
    src: deque[bytes] | None = client.db.get_typed_for_write(argv[1], deque)
    if src is None:
        return None
    return _move_from(client, src, argv, from_head, to_head)


def _move_from(
    client: Client, src: deque[bytes], argv: list[bytes], from_head: bool, to_head: bool
) -> bytes:
    """Move one element from ``src``, the list found at ``argv[1]``, onto ``argv[2]``."""
    db = client.db
    source = argv[1]
    # The destination is checked (and created) before anything moves; when it is the source,
    # this is the same deque, which the push below refills.
    dst: deque[bytes] = db.get_or_create(argv[2], deque)
    value = src.popleft() if from_head else src.pop()
    if to_head:
        dst.appendleft(value)
    else:
        dst.append(value)
    if not src:
        db.delete_if_empty(source, src)
    client.ctx.dirty += 1
    return value


@command(
    "lmove",
    arity=5,
    flags=("write", "denyoom"),
    keys=(1, 2, 1),
    group="list",
    summary="Pop an element from a list, push it to another list and return it",
    since="6.2.0",
    syntax="source destination <LEFT | RIGHT> <LEFT | RIGHT>",
    complexity="O(1)",
    acl_categories=("write", "list", "slow"),
    key_specs=_MOVE_KEYS,
)
def lmove(client: Client, argv: list[bytes]) -> Reply:
    """LMOVE source destination <LEFT | RIGHT> <LEFT | RIGHT>

    Pops from the given end of ``source`` and pushes onto the given end of ``destination``
    (created if missing; it may be ``source`` itself). Replies the element, or null when the
    source is missing; the destination is not looked at then. Emptying the source deletes it.
    """
    from_head = _side(argv[3])
    to_head = _side(argv[4])
    return _move(client, argv, from_head, to_head)


@command(
    "rpoplpush",
    arity=3,
    flags=("write", "denyoom"),
    keys=(1, 2, 1),
    group="list",
    summary="Remove the last element in a list, prepend it to another list and return it",
    since="1.2.0",
    syntax="source destination",
    complexity="O(1)",
    acl_categories=("write", "list", "slow"),
    key_specs=_MOVE_KEYS,
)
def rpoplpush(client: Client, argv: list[bytes]) -> Reply:
    """RPOPLPUSH source destination

    ``LMOVE source destination RIGHT LEFT``.
    """
    return _move(client, argv, False, True)


@command(
    "lmpop",
    arity=-4,
    flags=("write", "movablekeys"),
    group="list",
    summary="Pop elements from a list",
    since="7.0.0",
    syntax="numkeys key [key ...] <LEFT | RIGHT> [COUNT count]",
    complexity="O(N+M) where N is the number of provided keys and M is the number of elements "
    "returned.",
    acl_categories=("write", "list", "slow"),
    key_specs=(
        KeySpec(flags=("RW", "access", "delete"), index=1, step=1, keynumidx=0, firstkey=1),
    ),
)
def lmpop(client: Client, argv: list[bytes]) -> Reply:
    """LMPOP numkeys key [key ...] <LEFT | RIGHT> [COUNT count]

    Pops up to ``count`` (default 1) elements from the first of the keys that holds a list;
    replies ``[key, [element ...]]``, or a null array when none does. A key of another type
    met before a list is WRONGTYPE. Everything is parsed before any key is looked up.
    """
    keys, head, count = _mpop_arguments(argv, 1)
    reply = _mpop(client, keys, head, count)
    return NULL_ARRAY if reply is None else reply


def _mpop_arguments(argv: list[bytes], at: int) -> tuple[list[bytes], bool, int]:
    """``numkeys key [key ...] <LEFT | RIGHT> [COUNT count]`` from ``argv[at]`` on (LMPOP,
    BLMPOP): the keys, whether to pop from the head, and the count (1 when not given)."""
    numkeys = parse_at_least(argv[at], 1, errors.NUMKEYS_NOT_POSITIVE)
    where_index = at + numkeys + 1
    argc = len(argv)
    if where_index >= argc:
        raise CommandError(errors.SYNTAX)
    head = _side(argv[where_index])
    count = -1
    j = where_index + 1
    while j < argc:
        if count == -1 and j + 1 < argc and option_word(argv[j]) == b"count":
            j += 1
            count = parse_at_least(argv[j], 1, errors.COUNT_NOT_POSITIVE)
        else:
            raise CommandError(errors.SYNTAX)
        j += 1
    return argv[at + 1 : where_index], head, 1 if count == -1 else count


def _mpop(client: Client, keys: list[bytes], head: bool, count: int) -> Reply:
    """Pop up to ``count`` elements from the first of ``keys`` that holds a list, as
    ``[key, [element ...]]`` (propagated as ``LPOP``/``RPOP key n``); ``None`` when none does.
    A key of another type met before a list is WRONGTYPE."""
    db = client.db
    for key in keys:
        lst: deque[bytes] | None = db.get_typed_for_write(key, deque)
        if lst is None:
            continue
        size = len(lst)
        if count >= size:
            items = list(lst) if head else list(reversed(lst))
            db.delete(key)
        else:
            size = count
            pop = lst.popleft if head else lst.pop
            items = [pop() for _ in range(count)]
        client.ctx.dirty += size
        # Replayed as the pop it was, from the one key it touched.
        client.propagate_as = [[b"LPOP" if head else b"RPOP", key, b"%d" % size]]
        return [key, items]
    return None


@command(
    "blmpop",
    arity=-5,
    flags=("write", "blocking", "movablekeys"),
    group="list",
    summary="Pop elements from a list, or block until one is available",
    since="7.0.0",
    syntax="timeout numkeys key [key ...] <LEFT | RIGHT> [COUNT count]",
    complexity="O(N+M) where N is the number of provided keys and M is the number of elements "
    "returned.",
    acl_categories=("write", "list", "slow", "blocking"),
    key_specs=(
        KeySpec(flags=("RW", "access", "delete"), index=2, step=1, keynumidx=0, firstkey=1),
    ),
)
def blmpop(client: Client, argv: list[bytes]) -> Reply:
    """BLMPOP timeout numkeys key [key ...] <LEFT | RIGHT> [COUNT count]

    LMPOP, or when no key holds a list, wait for one (a null array when the timeout passes).
    Served, it pops from the key that became ready only.
    """
    keys, head, count = _mpop_arguments(argv, 2)
    timeout = parse_timeout_ms(argv[1])
    reply = _mpop(client, keys, head, count)
    if reply is not None:
        return reply
    name, timeout_arg = argv[0], argv[1]
    side = _SIDE_WORDS[head]
    counted = b"%d" % count
    return Blocked(
        keys,
        deque,
        deadline(timeout, client.db.keyspace.clock()),
        lambda key: [name, timeout_arg, b"1", key, side, b"COUNT", counted],
    )


# LEFT and RIGHT as Redis writes them when it propagates a served BLMOVE, by "from the head".
_SIDE_WORDS: Final = (b"right", b"left")


def _blocking_move(
    client: Client, argv: list[bytes], from_head: bool, to_head: bool, timeout_arg: bytes
) -> Reply:
    """BLMOVE and BRPOPLPUSH: LMOVE from a source that holds a list, or wait on the source
    alone (the destination is looked at once something moves)."""
    timeout = parse_timeout_ms(timeout_arg)
    rpoplpush = len(argv) == 4  # BRPOPLPUSH source destination timeout
    src: deque[bytes] | None = client.db.get_typed_for_write(argv[1], deque)
    if src is not None:
        value = _move_from(client, src, argv, from_head, to_head)
        if rpoplpush:
            client.propagate_as = [[b"RPOPLPUSH", argv[1], argv[2]]]
        else:
            client.propagate_as = [[b"LMOVE", *argv[1:5]]]
        return value
    name, destination = argv[0], argv[2]
    sides = [] if rpoplpush else [_SIDE_WORDS[from_head], _SIDE_WORDS[to_head]]
    ends = deadline(timeout, client.db.keyspace.clock())
    # Where it may not wait, BLMOVE answers as LMOVE on a missing source: a null bulk string.
    return Blocked(
        [argv[1]],
        deque,
        ends,
        lambda key: [name, key, destination, *sides, timeout_arg],
        at_once=None,
    )


_BLOCKING_MOVE_SUMMARY: Final = (
    "Pop an element from a list, push it to another list and return it; or block until one is "
    "available"
)


@command(
    "blmove",
    arity=6,
    flags=("write", "denyoom", "noscript", "blocking"),
    keys=(1, 2, 1),
    group="list",
    summary=_BLOCKING_MOVE_SUMMARY,
    since="6.2.0",
    syntax="source destination <LEFT | RIGHT> <LEFT | RIGHT> timeout",
    complexity="O(1)",
    acl_categories=("write", "list", "slow", "blocking"),
    key_specs=_MOVE_KEYS,
)
def blmove(client: Client, argv: list[bytes]) -> Reply:
    """BLMOVE source destination <LEFT | RIGHT> <LEFT | RIGHT> timeout

    LMOVE, or when the source holds no list, wait until one appears there (a null array when
    the timeout passes) and move from it then.
    """
    from_head = _side(argv[3])
    to_head = _side(argv[4])
    return _blocking_move(client, argv, from_head, to_head, argv[5])


@command(
    "brpoplpush",
    arity=4,
    flags=("write", "denyoom", "noscript", "blocking"),
    keys=(1, 2, 1),
    group="list",
    summary=_BLOCKING_MOVE_SUMMARY,
    since="2.2.0",
    syntax="source destination timeout",
    complexity="O(1)",
    acl_categories=("write", "list", "slow", "blocking"),
    key_specs=_MOVE_KEYS,
)
def brpoplpush(client: Client, argv: list[bytes]) -> Reply:
    """BRPOPLPUSH source destination timeout

    ``BLMOVE source destination RIGHT LEFT timeout``.
    """
    return _blocking_move(client, argv, False, True, argv[3])
