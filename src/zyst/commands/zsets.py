"""Sorted-set commands (Redis's ``t_zset.c``): ZADD, ZRANGE and the rest, on
:class:`zyst.types.zset.ZSet`; the blocking BZPOPMIN, BZPOPMAX and BZMPOP wait through
:mod:`zyst.blocking` for a sorted set to be created at one of their keys (by ZADD, a *STORE
onto a missing key, RENAME ...).

Invariant: a sorted set in the keyspace is never empty; the command that removes its last
member deletes the key.

Arguments are checked in Redis's order (options, then numbers, then the key's type), because
that order decides which error a bad command gets. Scores are read and written by
:mod:`zyst.numbers` (``parse_double``, ``parse_range_double``, ``%.17g``).

Propagation (what Redis 7.0 writes to the AOF):

- ZPOPMIN / ZPOPMAX go as sent: they take the lowest or highest members, which a replay finds
  again.
- ZMPOP becomes ``ZPOPMIN|ZPOPMAX key count`` for the key it popped from, with the count of
  members it actually took; so does BZMPOP, at once or when served.
- BZPOPMIN / BZPOPMAX become ``ZPOPMIN|ZPOPMAX key`` for the key they popped from.
- ZADD (INCR included), ZINCRBY, the ZREMRANGEBY* and the *STORE commands go as sent.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from zyst import encodings, errors
from zyst.blocking import Blocked, deadline
from zyst.commands.args import option_word, parse_count, parse_int, parse_timeout_ms
from zyst.commands.table import Handler, KeySpec, Reply, command
from zyst.errors import CommandError
from zyst.numbers import LLONG_MAX, parse_double, parse_range_double
from zyst.protocol.resp import NULL_ARRAY, ScoreLists, ScorePairs
from zyst.types.zset import LexBound, LexRange, ScoreRange, ZSet

if TYPE_CHECKING:
    from zyst.client import Client

_RW_UPDATE: Final = (KeySpec(flags=("RW", "update")),)
_RO_ACCESS: Final = (KeySpec(flags=("RO", "access")),)
_RW_DELETE: Final = (KeySpec(flags=("RW", "delete")),)
_RW_ACCESS_DELETE: Final = (KeySpec(flags=("RW", "access", "delete")),)
_KEYNUM_READ: Final = (KeySpec(flags=("RO", "access"), index=1, step=1, keynumidx=0, firstkey=1),)
_STORE_KEYNUM: Final = (
    KeySpec(flags=("OW", "update"), index=1, lastkey=0, step=1),
    KeySpec(flags=("RO", "access"), index=2, step=1, keynumidx=0, firstkey=1),
)

_RANGE_COMPLEXITY: Final = (
    "O(log(N)+M) with N being the number of elements in the sorted set and M the number of "
    "elements being returned. If M is constant (e.g. always asking for the first 10 elements "
    "with LIMIT), you can consider it O(log(N))."
)
_REMRANGE_COMPLEXITY: Final = (
    "O(log(N)+M) with N being the number of elements in the sorted set and M the number of "
    "elements removed by the operation."
)

# ZRANGE's kinds of range and directions (Redis's zrange_type / zrange_direction); AUTO means
# "not fixed by the command name, the arguments may choose".
_AUTO: Final = 0
_RANK: Final = 1
_SCORE: Final = 2
_LEX: Final = 3
_FORWARD: Final = 1
_REVERSE: Final = 2


def _zcommand(
    name: str,
    arity: int,
    flags: tuple[str, ...],
    summary: str,
    since: str,
    syntax: str,
    complexity: str,
    tips: tuple[str, ...] = (),
    keys: tuple[int, int, int] = (1, 1, 1),
    key_specs: tuple[KeySpec, ...] = _RO_ACCESS,
) -> Callable[[Handler], Handler]:
    """Declare a sorted-set command. Its ACL categories follow from its flags, as they do for
    every command of the family in Redis: read or write, then fast or slow."""
    categories = (
        "write" if "write" in flags else "read",
        "sortedset",
        "fast" if "fast" in flags else "slow",
    )
    return command(
        name,
        arity=arity,
        flags=flags,
        keys=keys,
        group="sorted-set",
        summary=summary,
        since=since,
        syntax=syntax,
        complexity=complexity,
        acl_categories=categories,
        tips=tips,
        key_specs=key_specs,
    )


# -- argument parsing ---------------------------------------------------------------------------
def parse_score(raw: bytes, error: str = errors.NOT_FLOAT) -> float:
    value = parse_double(raw)
    if value is None:
        raise CommandError(error)
    return value


def parse_score_range(low: bytes, high: bytes) -> ScoreRange:
    """``min max`` of ZRANGEBYSCORE and friends: numbers, ``(`` before one makes it exclusive."""
    minex = low[:1] == b"("
    maxex = high[:1] == b"("
    lo = parse_range_double(low[1:] if minex else low)
    hi = parse_range_double(high[1:] if maxex else high)
    if lo is None or hi is None:
        raise CommandError(errors.MIN_MAX_NOT_FLOAT)
    return ScoreRange(lo, minex, hi, maxex)


def _lex_bound(raw: bytes) -> LexBound | None:
    first = raw[:1]
    if first in (b"(", b"["):
        return first, raw[1:]
    # Redis reads ``+`` and ``-`` as C strings: what follows a NUL byte is not looked at.
    if first in (b"+", b"-") and raw[1:2] in (b"", b"\0"):
        return first, b""
    return None


def parse_lex_range(low: bytes, high: bytes) -> LexRange:
    lo = _lex_bound(low)
    hi = _lex_bound(high)
    if lo is None or hi is None:
        raise CommandError(errors.MIN_MAX_NOT_LEX)
    return LexRange(lo, hi)


def _rank_span(size: int, start: int, end: int) -> tuple[int, int]:
    """Redis's reading of ``start end`` ranks (negative from the end, clamped): ``[a, b)``."""
    if start < 0:
        start += size
    if end < 0:
        end += size
    if start < 0:
        start = 0
    if start > end or start >= size:
        return 0, 0
    if end >= size:
        end = size - 1
    return start, end + 1


# A command's ``min max`` (or ``start stop``) arguments, parsed before the key is looked up (a
# bad range is the error even for a missing key), as the span ``[a, b)`` they cover in a set.
_Span = Callable[[ZSet], tuple[int, int]]


def _by_rank(low: bytes, high: bytes) -> _Span:
    start = parse_int(low)
    end = parse_int(high)
    return lambda zset: _rank_span(len(zset), start, end)


def _by_score(low: bytes, high: bytes) -> _Span:
    spec = parse_score_range(low, high)
    return lambda zset: zset.score_span(spec)


def _by_lex(low: bytes, high: bytes) -> _Span:
    spec = parse_lex_range(low, high)
    return lambda zset: zset.lex_span(spec)


def _read(client: Client, key: bytes) -> ZSet | None:
    zset: ZSet | None = client.db.get_typed(key, ZSet)
    return zset


def _write(client: Client, key: bytes) -> ZSet | None:
    zset: ZSet | None = client.db.get_typed_for_write(key, ZSet)
    return zset


def store_result(client: Client, key: bytes, result: ZSet) -> int:
    """Put ``result`` at ``key`` (replacing whatever is there, its TTL too), or delete ``key``
    when ``result`` is empty, as Redis's *STORE commands do; the reply is the size."""
    db = client.db
    if result:
        if db.keyspace.waited and db.lookup(key) is None:
            db.note_ready(key)  # a new key, not one written over: see Database.note_ready
        db.set_value(key, result)
        client.ctx.dirty += 1
    elif key in db.data:
        # Redis deletes the destination without looking at its deadline (``dbDelete``): a key
        # whose time had come goes as a plain deletion, not counted as expired, and the command
        # itself is propagated (replayed, it deletes the key all the same).
        db.delete_stored(key)
        client.ctx.dirty += 1
    return len(result)


# -- ZADD / ZINCRBY ---------------------------------------------------------------------------
# ZADD's options, as bits.
_NX: Final = 1
_XX: Final = 2
_CH: Final = 4
_INCR: Final = 8
_GT: Final = 16
_LT: Final = 32
_ZADD_FLAGS: Final = {b"nx": _NX, b"xx": _XX, b"ch": _CH, b"incr": _INCR, b"gt": _GT, b"lt": _LT}


def _zadd(client: Client, argv: list[bytes], incr: bool) -> Reply:
    """Redis's ``zaddGenericCommand``: options, then score-member pairs."""
    if len(argv) == 4:
        # One pair and no option (the usual call): no option word is a number, so a score
        # that parses means there is none, and what follows is :func:`_zadd_pairs`'s path
        # for that case, minus its bookkeeping.
        score = parse_double(argv[2])
        if score is not None:
            return _zadd_one(client, argv[1], score, argv[3], incr)
    return _zadd_pairs(client, argv, incr)


def _zadd_one(client: Client, key: bytes, score: float, member: bytes, incr: bool) -> Reply:
    """ZADD key score member, or ZINCRBY (``incr``): the reply as :func:`_zadd_pairs` gives
    it."""
    zset = _write(client, key)
    if zset is None:
        zset = ZSet()
        client.db.add(key, zset)
    current = zset.scores.get(member)
    if current is None:
        zset.insert(member, score)
        client.ctx.dirty += 1
        return score if incr else 1
    if incr:
        score += current
        if math.isnan(score):
            raise CommandError(errors.SCORE_NAN)
    if score != current:
        zset.change(member, current, score)
        client.ctx.dirty += 1
    return score if incr else 0


def zadd_scored(client: Client, argv: list[bytes], scores: list[float]) -> Reply:
    """ZADD ``argv`` (options, then score-member pairs) whose ``scores`` were read already
    (GEOADD, which computes them): ZADD's reply, the scores' texts not read again."""
    if len(argv) == 4:
        return _zadd_one(client, argv[1], scores[0], argv[3], False)
    return _zadd_pairs(client, argv, False, scores)


def _zadd_pairs(
    client: Client, argv: list[bytes], incr: bool, parsed: list[float] | None = None
) -> Reply:
    """:func:`_zadd` in general (``parsed``: the scores, when the caller read them)."""
    options = 0
    index = 2
    size = len(argv)
    while index < size:
        word = argv[index]
        if len(word) > 4:  # no option is longer: a score (the usual case) ends them
            break
        bit = _ZADD_FLAGS.get(word.lower(), 0)
        if not bit:
            break
        options |= bit
        index += 1
    incr = incr or options & _INCR != 0
    nx, xx = options & _NX != 0, options & _XX != 0
    gt, lt = options & _GT != 0, options & _LT != 0
    count = size - index
    if count % 2 or not count:
        raise CommandError(errors.SYNTAX)
    if nx and xx:
        raise CommandError(errors.ZADD_XX_NX)
    if (gt and nx) or (lt and nx) or (gt and lt):
        raise CommandError(errors.ZADD_GT_LT_NX)
    if incr and count > 2:
        raise CommandError(errors.ZADD_INCR_PAIRS)
    scores = [parse_score(argv[i]) for i in range(index, size, 2)] if parsed is None else parsed
    key = argv[1]
    db = client.db
    zset = _write(client, key)
    added = updated = processed = 0
    score = 0.0
    if zset is None:
        if xx:
            return None if incr else 0
        zset = ZSet()
        db.add(key, zset)
    members = zset.scores
    for pair, new in enumerate(scores):
        member = argv[index + 2 * pair + 1]
        current = members.get(member)
        if current is None:
            if xx:
                continue
            zset.insert(member, new)
            added += 1
        else:
            if nx:
                continue
            if incr:
                new += current
                if math.isnan(new):
                    raise CommandError(errors.SCORE_NAN)
            if (lt and new >= current) or (gt and new <= current):
                continue
            if new != current:
                zset.change(member, current, new)
                updated += 1
        processed += 1
        score = new
    client.ctx.dirty += added + updated
    if incr:
        return score if processed else None
    return added + updated if options & _CH else added


@_zcommand(
    "zadd",
    arity=-4,
    flags=("write", "denyoom", "fast"),
    summary="Add one or more members to a sorted set, or update its score if it already exists",
    since="1.2.0",
    syntax="key [NX | XX] [GT | LT] [CH] [INCR] score member [score member ...]",
    complexity="O(log(N)) for each item added, where N is the number of elements in the sorted "
    "set.",
    key_specs=_RW_UPDATE,
)
def zadd(client: Client, argv: list[bytes]) -> Reply:
    """ZADD key [NX | XX] [GT | LT] [CH] [INCR] score member [score member ...]

    Replies the number of members added (added or changed with CH); with INCR the new score,
    or null when the options kept the member as it was.
    """
    return _zadd(client, argv, False)


@_zcommand(
    "zincrby",
    arity=4,
    flags=("write", "denyoom", "fast"),
    summary="Increment the score of a member in a sorted set",
    since="1.2.0",
    syntax="key increment member",
    complexity="O(log(N)) where N is the number of elements in the sorted set.",
    key_specs=(KeySpec(flags=("RW", "access", "update")),),
)
def zincrby(client: Client, argv: list[bytes]) -> Reply:
    """ZINCRBY key increment member

    ZADD INCR under another name: Redis parses it with ZADD's code, so an increment spelled
    like a ZADD option (``nx``) is taken as one and ends in a syntax error.
    """
    return _zadd(client, argv, True)


# -- single-member commands -------------------------------------------------------------------
@_zcommand(
    "zrem",
    arity=-3,
    flags=("write", "fast"),
    summary="Remove one or more members from a sorted set",
    since="1.2.0",
    syntax="key member [member ...]",
    complexity="O(M*log(N)) with N being the number of elements in the sorted set and M the "
    "number of elements to be removed.",
    key_specs=_RW_DELETE,
)
def zrem(client: Client, argv: list[bytes]) -> Reply:
    """ZREM key member [member ...]

    Replies the number of members removed; removing the last one deletes the key.
    """
    key = argv[1]
    zset = _write(client, key)
    if zset is None:
        return 0
    before = len(zset)
    gone: list[bytes] = []
    for index in range(2, len(argv)):
        if zset.remove(argv[index]):
            gone.append(argv[index])
            if not zset:
                break
    removed = len(gone)
    if removed:
        client.db.delete_if_empty(key, zset)
        client.ctx.dirty += removed
        encodings.shrunk(client.db, key, zset, before, gone, client.ctx.limits)
    return removed


@_zcommand(
    "zcard",
    arity=2,
    flags=("readonly", "fast"),
    summary="Get the number of members in a sorted set",
    since="1.2.0",
    syntax="key",
    complexity="O(1)",
    key_specs=(KeySpec(flags=("RO",)),),
)
def zcard(client: Client, argv: list[bytes]) -> Reply:
    """ZCARD key

    The number of members, 0 when the key is missing.
    """
    zset = _read(client, argv[1])
    return 0 if zset is None else len(zset)


@_zcommand(
    "zscore",
    arity=3,
    flags=("readonly", "fast"),
    summary="Get the score associated with the given member in a sorted set",
    since="1.2.0",
    syntax="key member",
    complexity="O(1)",
)
def zscore(client: Client, argv: list[bytes]) -> Reply:
    """ZSCORE key member

    The member's score (a RESP3 double), null when the key or the member is missing.
    """
    zset = _read(client, argv[1])
    return None if zset is None else zset.scores.get(argv[2])


@_zcommand(
    "zmscore",
    arity=-3,
    flags=("readonly", "fast"),
    summary="Get the score associated with the given members in a sorted set",
    since="6.2.0",
    syntax="key member [member ...]",
    complexity="O(N) where N is the number of members being requested.",
)
def zmscore(client: Client, argv: list[bytes]) -> Reply:
    """ZMSCORE key member [member ...]

    One score or null per member; a missing key is an empty set.
    """
    zset = _read(client, argv[1])
    if zset is None:
        return [None] * (len(argv) - 2)
    get = zset.scores.get
    return [get(member) for member in argv[2:]]


def _declare_rank(name: str, reverse: bool, summary: str) -> None:
    """Declare ZRANK (``reverse`` false: 0-based position from the lowest score) or ZREVRANK
    (from the highest); both reply null when the key or the member is missing."""

    def handler(client: Client, argv: list[bytes]) -> Reply:
        zset = _read(client, argv[1])
        return None if zset is None else zset.rank(argv[2], reverse)

    handler.__doc__ = f"{name.upper()} key member"
    _zcommand(
        name,
        arity=3,
        flags=("readonly", "fast"),
        summary=summary,
        since="2.0.0",
        syntax="key member",
        complexity="O(log(N))",
    )(handler)


_declare_rank("zrank", False, "Determine the index of a member in a sorted set")
_declare_rank(
    "zrevrank",
    True,
    "Determine the index of a member in a sorted set, with scores ordered from high to low",
)


# -- counting ---------------------------------------------------------------------------------
def _declare_count(
    name: str, by: Callable[[bytes, bytes], _Span], summary: str, since: str
) -> None:
    """Declare ZCOUNT (``by`` score, ``(`` makes a bound exclusive) or ZLEXCOUNT (``by`` bytes,
    ``[`` inclusive, ``(`` exclusive, ``-`` and ``+`` the ends): the number of members in the
    range ``min max``, 0 when the key is missing."""

    def handler(client: Client, argv: list[bytes]) -> Reply:
        span = by(argv[2], argv[3])
        zset = _read(client, argv[1])
        if zset is None:
            return 0
        start, stop = span(zset)
        return stop - start

    handler.__doc__ = f"{name.upper()} key min max"
    _zcommand(
        name,
        arity=4,
        flags=("readonly", "fast"),
        summary=summary,
        since=since,
        syntax="key min max",
        complexity="O(log(N)) with N being the number of elements in the sorted set.",
    )(handler)


_declare_count(
    "zcount",
    _by_score,
    "Count the members in a sorted set with scores within the given values",
    "2.0.0",
)
_declare_count(
    "zlexcount",
    _by_lex,
    "Count the number of members in a sorted set between a given lexicographical range",
    "2.8.9",
)


# -- ZRANGE and its family ----------------------------------------------------------------------
def _zrange(
    client: Client, argv: list[bytes], first: int, store: bool, kind: int, direction: int
) -> Reply:
    """Redis's ``zrangeGenericCommand``: ``argv[first]`` is the source key, then min, max and
    the options. Returns the reply, or for ZRANGESTORE the result to store (a ZSet)."""
    withscores = False
    offset, limit = 0, -1
    index = first + 3
    size = len(argv)
    while index < size:
        word = argv[index].lower()
        left = size - index - 1
        if not store and word == b"withscores":
            withscores = True
        elif word == b"limit" and left >= 2:
            offset = parse_int(argv[index + 1])
            limit = parse_int(argv[index + 2])
            index += 2
        elif direction == _AUTO and word == b"rev":
            direction = _REVERSE
        elif kind == _AUTO and word == b"bylex":
            kind = _LEX
        elif kind == _AUTO and word == b"byscore":
            kind = _SCORE
        else:
            raise CommandError(errors.SYNTAX)
        index += 1
    reverse = direction == _REVERSE
    if kind == _AUTO:
        kind = _RANK
    # Redis tells "no LIMIT" by a count of -1, so ``LIMIT 0 -1`` counts as none.
    if limit != -1 and kind == _RANK:
        raise CommandError(errors.ZRANGE_LIMIT)
    if withscores and kind == _LEX:
        raise CommandError(errors.ZRANGE_LEX_WITHSCORES)
    low, high = argv[first + 1], argv[first + 2]
    if reverse and kind != _RANK:  # given as max, min
        low, high = high, low
    score_spec: ScoreRange | None = None
    lex_spec: LexRange | None = None
    start = end = 0
    if kind == _RANK:
        start = parse_int(low)
        end = parse_int(high)
    elif kind == _SCORE:
        score_spec = parse_score_range(low, high)
    else:
        lex_spec = parse_lex_range(low, high)
    zset = _read(client, argv[first])
    if zset is None:
        return ZSet() if store else []
    if kind == _RANK:
        a, b = _rank_span(len(zset), start, end)
        if reverse:
            a, b = len(zset) - b, len(zset) - a
    else:
        if score_spec is not None:
            a, b = zset.score_span(score_spec)
        elif lex_spec is not None:
            a, b = zset.lex_span_reverse(lex_spec) if reverse else zset.lex_span(lex_spec)
        a, b = _limited(zset, a, b, offset, limit, reverse)
    if store:
        result = ZSet()
        for member, score in zset.items(a, b, reverse):
            result.add(member, score)
        return result
    if withscores:
        return ScoreLists(zset.members(a, b, reverse), zset.score_list(a, b, reverse))
    return zset.members(a, b, reverse)


def _limited(
    zset: ZSet, start: int, stop: int, offset: int, limit: int, reverse: bool
) -> tuple[int, int]:
    """The span left of ``[start, stop)`` after LIMIT ``offset count``: Redis skips ``offset``
    members (a negative offset skips them all) and then takes ``count`` (negative: no limit)."""
    if offset < 0 or limit == 0 or (offset > 0 and offset >= len(zset)):
        return 0, 0
    if reverse:
        stop -= offset
    else:
        start += offset
    if limit > 0 and stop - start > limit:
        if reverse:
            start = stop - limit
        else:
            stop = start + limit
    return start, stop


def _declare_range(
    name: str, kind: int, direction: int, summary: str, since: str, syntax: str, complexity: str
) -> None:
    """Declare ZRANGE or one of its older forms, whose name fixes the kind of range (rank,
    score, bytes) and the direction that ZRANGE reads from its arguments."""

    def handler(client: Client, argv: list[bytes]) -> Reply:
        return _zrange(client, argv, 1, False, kind, direction)

    handler.__doc__ = f"{name.upper()} {syntax}"
    _zcommand(
        name,
        arity=-4,
        flags=("readonly",),
        summary=summary,
        since=since,
        syntax=syntax,
        complexity=complexity,
    )(handler)


_BY_RANK_COMPLEXITY: Final = (
    "O(log(N)+M) with N being the number of elements in the sorted set and M the number of "
    "elements returned."
)
_HIGH_TO_LOW: Final = ", with scores ordered from high to low"

_declare_range(
    "zrange",
    _AUTO,
    _AUTO,
    "Return a range of members in a sorted set",
    "1.2.0",
    "key start stop [BYSCORE | BYLEX] [REV] [LIMIT offset count] [WITHSCORES]",
    _BY_RANK_COMPLEXITY,
)
_declare_range(
    "zrevrange",
    _RANK,
    _REVERSE,
    f"Return a range of members in a sorted set, by index{_HIGH_TO_LOW}",
    "1.2.0",
    "key start stop [WITHSCORES]",
    _BY_RANK_COMPLEXITY,
)
_declare_range(
    "zrangebyscore",
    _SCORE,
    _FORWARD,
    "Return a range of members in a sorted set, by score",
    "1.0.5",
    "key min max [WITHSCORES] [LIMIT offset count]",
    _RANGE_COMPLEXITY,
)
_declare_range(
    "zrevrangebyscore",
    _SCORE,
    _REVERSE,
    f"Return a range of members in a sorted set, by score{_HIGH_TO_LOW}",
    "2.2.0",
    "key max min [WITHSCORES] [LIMIT offset count]",
    _RANGE_COMPLEXITY,
)
_declare_range(
    "zrangebylex",
    _LEX,
    _FORWARD,
    "Return a range of members in a sorted set, by lexicographical range",
    "2.8.9",
    "key min max [LIMIT offset count]",
    _RANGE_COMPLEXITY,
)
_declare_range(
    "zrevrangebylex",
    _LEX,
    _REVERSE,
    "Return a range of members in a sorted set, by lexicographical range, ordered from higher "
    "to lower strings.",
    "2.8.9",
    "key max min [LIMIT offset count]",
    _RANGE_COMPLEXITY,
)


@_zcommand(
    "zrangestore",
    arity=-5,
    flags=("write", "denyoom"),
    summary="Store a range of members from sorted set into another key",
    since="6.2.0",
    syntax="dst src min max [BYSCORE | BYLEX] [REV] [LIMIT offset count]",
    complexity="O(log(N)+M) with N being the number of elements in the sorted set and M the "
    "number of elements stored into the destination key.",
    keys=(1, 2, 1),
    key_specs=(
        KeySpec(flags=("OW", "update"), index=1, lastkey=0, step=1),
        KeySpec(flags=("RO", "access"), index=2, lastkey=0, step=1),
    ),
)
def zrangestore(client: Client, argv: list[bytes]) -> Reply:
    """ZRANGESTORE dst src min max [BYSCORE | BYLEX] [REV] [LIMIT offset count]

    Stores what ZRANGE would reply at ``dst`` (deleting ``dst`` when that is nothing) and
    replies its size.
    """
    result: ZSet = _zrange(client, argv, 2, True, _AUTO, _AUTO)
    return store_result(client, argv[1], result)


# -- removing ranges ----------------------------------------------------------------------------
def _remove_span(client: Client, key: bytes, zset: ZSet, start: int, stop: int) -> int:
    before = len(zset)
    gone = [member for member, _ in zset.items(start, stop)]  # for zyst.encodings
    removed = zset.delete_span(start, stop)
    if removed:
        client.db.delete_if_empty(key, zset)
        client.ctx.dirty += removed
        encodings.shrunk(client.db, key, zset, before, gone, client.ctx.limits)
    return removed


def _declare_remrange(
    name: str, by: Callable[[bytes, bytes], _Span], summary: str, since: str, syntax: str
) -> None:
    """Declare ZREMRANGEBYRANK (``start stop``, negative from the end), ZREMRANGEBYSCORE or
    ZREMRANGEBYLEX (``min max``): remove the members in that range and reply how many."""

    def handler(client: Client, argv: list[bytes]) -> Reply:
        span = by(argv[2], argv[3])
        zset = _write(client, argv[1])
        if zset is None:
            return 0
        a, b = span(zset)
        return _remove_span(client, argv[1], zset, a, b)

    handler.__doc__ = f"{name.upper()} {syntax}"
    _zcommand(
        name,
        arity=4,
        flags=("write",),
        summary=summary,
        since=since,
        syntax=syntax,
        complexity=_REMRANGE_COMPLEXITY,
        key_specs=_RW_DELETE,
    )(handler)


_declare_remrange(
    "zremrangebyrank",
    _by_rank,
    "Remove all members in a sorted set within the given indexes",
    "2.0.0",
    "key start stop",
)
_declare_remrange(
    "zremrangebyscore",
    _by_score,
    "Remove all members in a sorted set within the given scores",
    "1.2.0",
    "key min max",
)
_declare_remrange(
    "zremrangebylex",
    _by_lex,
    "Remove all members in a sorted set between the given lexicographical range",
    "2.8.9",
    "key min max",
)


# -- popping ------------------------------------------------------------------------------------
def _pop(
    client: Client, key: bytes, zset: ZSet, count: int, highest: bool
) -> list[tuple[bytes, float]]:
    """Remove and return up to ``count`` members from the low (or high) end of ``zset``."""
    size = len(zset)
    count = min(count, size)
    if highest:
        popped = zset.items(size - count, size, True)
        zset.delete_span(size - count, size)
    else:
        popped = zset.items(0, count)
        zset.delete_span(0, count)
    client.db.delete_if_empty(key, zset)
    client.ctx.dirty += count
    encodings.shrunk(client.db, key, zset, size, [m for m, _ in popped], client.ctx.limits)
    return popped


def _declare_pop(name: str, highest: bool, summary: str) -> None:
    """Declare ZPOPMIN or ZPOPMAX (``highest``). Without count the reply is ``[member, score]``
    (flat in RESP3 too); with a count, member-score pairs."""

    def handler(client: Client, argv: list[bytes]) -> Reply:
        if len(argv) > 3:
            raise CommandError(errors.SYNTAX)
        count = parse_count(argv[2]) if len(argv) == 3 else -1
        key = argv[1]
        zset = _write(client, key)
        if zset is None or count == 0:
            return []
        if count == -1:
            member, score = _pop(client, key, zset, 1, highest)[0]
            return [member, score]
        return ScorePairs(_pop(client, key, zset, count, highest))

    handler.__doc__ = f"{name.upper()} key [count]"
    _zcommand(
        name,
        arity=-2,
        flags=("write", "fast"),
        summary=summary,
        since="5.0.0",
        syntax="key [count]",
        complexity="O(log(N)*M) with N being the number of elements in the sorted set, and M "
        "being the number of elements popped.",
        key_specs=_RW_ACCESS_DELETE,
    )(handler)


_declare_pop("zpopmin", False, "Remove and return members with the lowest scores in a sorted set")
_declare_pop("zpopmax", True, "Remove and return members with the highest scores in a sorted set")


def _positive_long(raw: bytes, error: str) -> int:
    """A count from 1 to LONG_MAX, ``error`` for anything else (not a number included)."""
    value = parse_int(raw, error)
    if value < 1:
        raise CommandError(error)
    return value


@_zcommand(
    "zmpop",
    arity=-4,
    flags=("write", "movablekeys"),
    summary="Remove and return members with scores in a sorted set",
    since="7.0.0",
    syntax="numkeys key [key ...] <MIN | MAX> [COUNT count]",
    complexity="O(K) + O(M*log(N)) where K is the number of provided keys, N being the number "
    "of elements in the sorted set, and M being the number of elements popped.",
    keys=(0, 0, 0),
    key_specs=(
        KeySpec(flags=("RW", "access", "delete"), index=1, step=1, keynumidx=0, firstkey=1),
    ),
)
def zmpop(client: Client, argv: list[bytes]) -> Reply:
    """ZMPOP numkeys key [key ...] <MIN | MAX> [COUNT count]

    Pops from the first of the keys that holds a sorted set: ``[key, [[member, score], ...]]``,
    or a null array when none does.
    """
    keys, highest, count = _zmpop_arguments(argv, 1)
    reply = _zmpop(client, keys, highest, count)
    return NULL_ARRAY if reply is None else reply


def _zmpop_arguments(argv: list[bytes], at: int) -> tuple[list[bytes], bool, int]:
    """``numkeys key [key ...] <MIN | MAX> [COUNT count]`` from ``argv[at]`` on (ZMPOP, BZMPOP):
    the keys, whether to pop the highest scores, and the count (1 when not given)."""
    numkeys = _positive_long(argv[at], errors.NUMKEYS_NOT_POSITIVE)
    where = at + numkeys + 1
    argc = len(argv)
    if where >= argc:
        raise CommandError(errors.SYNTAX)
    side = option_word(argv[where])
    if side not in (b"min", b"max"):
        raise CommandError(errors.SYNTAX)
    count = -1
    index = where + 1
    while index < argc:
        if count == -1 and option_word(argv[index]) == b"count" and index + 1 < argc:
            count = _positive_long(argv[index + 1], errors.COUNT_NOT_POSITIVE)
            index += 2
        else:
            raise CommandError(errors.SYNTAX)
    return argv[at + 1 : where], side == b"max", 1 if count == -1 else count


def _zmpop(client: Client, keys: list[bytes], highest: bool, count: int) -> Reply:
    """Pop up to ``count`` members from the first of ``keys`` that holds a sorted set, as
    ``[key, [[member, score], ...]]`` (propagated as ``ZPOPMIN|ZPOPMAX key n``); ``None`` when
    none does. A key of another type met first is WRONGTYPE."""
    for key in keys:
        zset = _write(client, key)
        if zset is None:
            continue
        popped = _pop(client, key, zset, count, highest)
        client.propagate_as = [[b"ZPOPMAX" if highest else b"ZPOPMIN", key, b"%d" % len(popped)]]
        return [key, [[member, score] for member, score in popped]]
    return None


# -- blocking pops (zyst.blocking) ---------------------------------------------------------------
def _declare_blocking_pop(name: str, highest: bool, summary: str) -> None:
    """Declare BZPOPMIN or BZPOPMAX (``highest``): ``[key, member, score]`` from the first key
    that holds a sorted set, else wait for one (a null array when the timeout passes)."""

    def handler(client: Client, argv: list[bytes]) -> Reply:
        timeout = parse_timeout_ms(argv[-1])
        keys = argv[1:-1]
        for key in keys:
            zset = _write(client, key)
            if zset is None:
                continue
            member, score = _pop(client, key, zset, 1, highest)[0]
            client.propagate_as = [[b"ZPOPMAX" if highest else b"ZPOPMIN", key]]
            return [key, member, score]
        command_name, timeout_arg = argv[0], argv[-1]
        return Blocked(
            keys,
            ZSet,
            deadline(timeout, client.db.keyspace.clock()),
            lambda key: [command_name, key, timeout_arg],
        )

    handler.__doc__ = f"{name.upper()} key [key ...] timeout"
    _zcommand(
        name,
        arity=-3,
        flags=("write", "noscript", "blocking", "fast"),
        summary=summary,
        since="5.0.0",
        syntax="key [key ...] timeout",
        complexity="O(log(N)) with N being the number of elements in the sorted set.",
        keys=(1, -2, 1),
        key_specs=_RW_ACCESS_DELETE,
    )(handler)


_declare_blocking_pop(
    "bzpopmin",
    False,
    "Remove and return the member with the lowest score from one or more sorted sets, or block "
    "until one is available",
)
_declare_blocking_pop(
    "bzpopmax",
    True,
    "Remove and return the member with the highest score from one or more sorted sets, or block "
    "until one is available",
)


@_zcommand(
    "bzmpop",
    arity=-5,
    flags=("write", "blocking", "movablekeys"),
    summary="Remove and return members with scores in a sorted set or block until one is available",
    since="7.0.0",
    syntax="timeout numkeys key [key ...] <MIN | MAX> [COUNT count]",
    complexity="O(K) + O(M*log(N)) where K is the number of provided keys, N being the number "
    "of elements in the sorted set, and M being the number of elements popped.",
    keys=(0, 0, 0),
    key_specs=(
        KeySpec(flags=("RW", "access", "delete"), index=2, step=1, keynumidx=0, firstkey=1),
    ),
)
def bzmpop(client: Client, argv: list[bytes]) -> Reply:
    """BZMPOP timeout numkeys key [key ...] <MIN | MAX> [COUNT count]

    ZMPOP, or when no key holds a sorted set, wait for one (a null array when the timeout
    passes). Everything but the timeout is parsed first, as Redis does. Served, it pops from
    the key that became ready only.
    """
    keys, highest, count = _zmpop_arguments(argv, 2)
    timeout = parse_timeout_ms(argv[1])
    reply = _zmpop(client, keys, highest, count)
    if reply is not None:
        return reply
    name, timeout_arg = argv[0], argv[1]
    side = b"MAX" if highest else b"MIN"
    counted = b"%d" % count
    return Blocked(
        keys,
        ZSet,
        deadline(timeout, client.db.keyspace.clock()),
        lambda key: [name, timeout_arg, b"1", key, side, b"COUNT", counted],
    )


# -- ZRANDMEMBER --------------------------------------------------------------------------------
@_zcommand(
    "zrandmember",
    arity=-2,
    flags=("readonly",),
    summary="Get one or multiple random elements from a sorted set",
    since="6.2.0",
    syntax="key [count [WITHSCORES]]",
    complexity="O(N) where N is the number of elements returned",
    tips=("nondeterministic_output",),
)
def zrandmember(client: Client, argv: list[bytes]) -> Reply:
    """ZRANDMEMBER key [count [WITHSCORES]]

    Without count: one random member (null when the key is missing). A positive count: that
    many distinct members (all of them at most); a negative one: that many draws, repeats
    allowed.
    """
    if len(argv) == 2:
        zset = _read(client, argv[1])
        if zset is None:
            return None
        return zset.at(random.randrange(len(zset)))[0]
    count = parse_int(argv[2])
    if count < -LLONG_MAX:  # Redis's count is a C long, negated for "repeats allowed"
        raise CommandError(errors.LONG_RANGE)
    if len(argv) > 4 or (len(argv) == 4 and argv[3].lower() != b"withscores"):
        raise CommandError(errors.SYNTAX)
    withscores = len(argv) == 4
    # C division truncates: the bounds are ±(LONG_MAX // 2).
    if withscores and (count < -(LLONG_MAX // 2) or count > LLONG_MAX // 2):
        raise CommandError(errors.OUT_OF_RANGE_PLAIN)
    zset = _read(client, argv[1])
    if zset is None or count == 0:
        return []
    size = len(zset)
    if count < 0:
        picks = [zset.at(random.randrange(size)) for _ in range(-count)]
    elif count >= size:
        picks = zset.items(0, size)
    else:
        picks = [zset.at(i) for i in random.sample(range(size), count)]
    if withscores:
        return ScorePairs(picks)
    return [member for member, _ in picks]


# -- ZUNION / ZINTER / ZDIFF and their STORE forms ------------------------------------------------
_UNION: Final = 0
_INTER: Final = 1
_DIFF: Final = 2


def _source(client: Client, key: bytes) -> dict[bytes, float]:
    """An input of ZUNION and friends as member → score: a sorted set, or a set whose members
    all score 1; missing keys are empty."""
    value = client.db.lookup_read(key)
    if value is None:
        return {}
    if type(value) is ZSet:
        return value.scores
    if type(value) is set:
        return dict.fromkeys(value, 1.0)
    raise CommandError(errors.WRONGTYPE)


def _aggregate(total: float, value: float, how: bytes) -> float:
    if how == b"sum":
        total += value
        return 0.0 if math.isnan(total) else total
    if how == b"min":
        return value if value < total else total
    return value if value > total else total


def _weighted(score: float, weight: float) -> float:
    value = score * weight
    return 0.0 if math.isnan(value) else value


def _combine(
    client: Client, argv: list[bytes], numkeys_at: int, op: int, store: bool, card: bool
) -> Reply:
    """Redis's ``zunionInterDiffGenericCommand``. Returns the result as a ZSet, or for
    ZINTERCARD the count; ``withscores`` is read here and returned alongside."""
    name = argv[0].decode("latin-1").lower()
    setnum = parse_int(argv[numkeys_at])
    if setnum < 1:
        raise CommandError(errors.zset_input_keys(name))
    first = numkeys_at + 1
    if setnum > len(argv) - first:
        raise CommandError(errors.SYNTAX)
    sources = [_source(client, key) for key in argv[first : first + setnum]]
    weights = [1.0] * setnum
    how = b"sum"
    withscores = False
    limit = 0
    index = first + setnum
    size = len(argv)
    while index < size:
        remaining = size - index
        word = argv[index].lower()
        if op != _DIFF and not card and remaining >= setnum + 1 and word == b"weights":
            for i in range(setnum):
                weights[i] = parse_score(argv[index + 1 + i], errors.WEIGHT_NOT_FLOAT)
            index += setnum + 1
        elif op != _DIFF and not card and remaining >= 2 and word == b"aggregate":
            how = argv[index + 1].lower()
            if how not in (b"sum", b"min", b"max"):
                raise CommandError(errors.SYNTAX)
            index += 2
        elif not store and not card and word == b"withscores":
            withscores = True
            index += 1
        elif card and remaining >= 2 and word == b"limit":
            limit = parse_int(argv[index + 1], errors.LIMIT_NEGATIVE)
            if limit < 0:
                raise CommandError(errors.LIMIT_NEGATIVE)
            index += 2
        else:
            raise CommandError(errors.SYNTAX)
    result: dict[bytes, float] = {}
    if op != _DIFF:
        # Smallest input first, as Redis sorts them: the order the sums are made in.
        order = sorted(range(setnum), key=lambda i: len(sources[i]))
        sources = [sources[i] for i in order]
        weights = [weights[i] for i in order]
    if op == _INTER:
        if sources[0]:
            for member, score in sources[0].items():
                total = _weighted(score, weights[0])
                for other, weight in zip(sources[1:], weights[1:], strict=True):
                    found = other.get(member)
                    if found is None:
                        break
                    total = _aggregate(total, _weighted(found, weight), how)
                else:
                    result[member] = total
                    if card and limit and len(result) >= limit:
                        break
    elif op == _UNION:
        for source, weight in zip(sources, weights, strict=True):
            for member, score in source.items():
                value = _weighted(score, weight)
                if member in result:
                    result[member] = _aggregate(result[member], value, how)
                else:
                    result[member] = value
    else:
        rest = sources[1:]
        for member, score in sources[0].items():
            if not any(member in other for other in rest):
                result[member] = score
    if card:
        return len(result)
    if store:
        zset = ZSet()
        for member, score in result.items():
            zset.add(member, score)
        return store_result(client, argv[1], zset)
    # Redis builds a reply in a skiplist, where a score of -0 stays -0.
    items = [(member, score) for score, member in sorted((s, m) for m, s in result.items())]
    if withscores:
        return ScorePairs(items)
    return [member for member, _ in items]


def _declare_combine(
    name: str, op: int, store: bool, summary: str, since: str, syntax: str, complexity: str
) -> None:
    """Declare one of ZUNION, ZINTER, ZDIFF or their STORE forms."""
    if store:
        flags: tuple[str, ...] = ("write", "denyoom", "movablekeys")
        keys = (1, 1, 1)
        specs: tuple[KeySpec, ...] = _STORE_KEYNUM
        arity = -4
    else:
        flags = ("readonly", "movablekeys")
        keys = (0, 0, 0)
        specs = _KEYNUM_READ
        arity = -3

    def handler(client: Client, argv: list[bytes]) -> Reply:
        return _combine(client, argv, 2 if store else 1, op, store, False)

    handler.__doc__ = f"{name.upper()} {syntax}"
    _zcommand(
        name,
        arity=arity,
        flags=flags,
        summary=summary,
        since=since,
        syntax=syntax,
        complexity=complexity,
        keys=keys,
        key_specs=specs,
    )(handler)


_UNION_COMPLEXITY: Final = (
    "O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being "
    "the number of elements in the resulting sorted set."
)
_INTER_COMPLEXITY: Final = (
    "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the "
    "number of input sorted sets and M being the number of elements in the resulting sorted set."
)
_DIFF_COMPLEXITY: Final = (
    "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N "
    "is the size of the first set, and K is the size of the result set."
)
_WEIGHTS: Final = "[WEIGHTS weight [weight ...]] [AGGREGATE <SUM | MIN | MAX>]"

_declare_combine(
    "zunion",
    _UNION,
    False,
    "Add multiple sorted sets",
    "6.2.0",
    f"numkeys key [key ...] {_WEIGHTS} [WITHSCORES]",
    _UNION_COMPLEXITY,
)
_declare_combine(
    "zinter",
    _INTER,
    False,
    "Intersect multiple sorted sets",
    "6.2.0",
    f"numkeys key [key ...] {_WEIGHTS} [WITHSCORES]",
    _INTER_COMPLEXITY,
)
_declare_combine(
    "zdiff",
    _DIFF,
    False,
    "Subtract multiple sorted sets",
    "6.2.0",
    "numkeys key [key ...] [WITHSCORES]",
    _DIFF_COMPLEXITY,
)
_declare_combine(
    "zunionstore",
    _UNION,
    True,
    "Add multiple sorted sets and store the resulting sorted set in a new key",
    "2.0.0",
    f"destination numkeys key [key ...] {_WEIGHTS}",
    _UNION_COMPLEXITY.replace("M*log", "M log"),
)
_declare_combine(
    "zinterstore",
    _INTER,
    True,
    "Intersect multiple sorted sets and store the resulting sorted set in a new key",
    "2.0.0",
    f"destination numkeys key [key ...] {_WEIGHTS}",
    _INTER_COMPLEXITY,
)
_declare_combine(
    "zdiffstore",
    _DIFF,
    True,
    "Subtract multiple sorted sets and store the resulting sorted set in a new key",
    "6.2.0",
    "destination numkeys key [key ...]",
    _DIFF_COMPLEXITY,
)


@_zcommand(
    "zintercard",
    arity=-3,
    flags=("readonly", "movablekeys"),
    summary="Intersect multiple sorted sets and return the cardinality of the result",
    since="7.0.0",
    syntax="numkeys key [key ...] [LIMIT limit]",
    complexity="O(N*K) worst case with N being the smallest input sorted set, K being the number "
    "of input sorted sets.",
    keys=(0, 0, 0),
    key_specs=_KEYNUM_READ,
)
def zintercard(client: Client, argv: list[bytes]) -> Reply:
    """ZINTERCARD numkeys key [key ...] [LIMIT limit]

    The size of the intersection, counting stops at ``limit`` (0: no limit).
    """
    return _combine(client, argv, 1, _INTER, False, True)
