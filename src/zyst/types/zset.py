"""The sorted set: members (``bytes``) with a double score each, kept in Redis's order.

Order: by score, then by member bytes (``memcmp``, a shorter prefix first), which is how Python
compares ``bytes``. A member appears once. Scores are never NaN (the commands refuse every way
of making one). A zero score is stored as ``0.0``, never ``-0.0``: Redis keeps small sorted sets
(up to 128 members) as text in a listpack, where a negative zero reads back as ``0``; it keeps
``-0`` only in large ones, which is the one place Zyst differs.

Layout: ``scores`` maps member → score (O(1) ZSCORE); the order, standing for Redis's
skiplist, is a list of blocks of parallel score and member lists (O(log n) search, rank and
index, an insert or delete moving at most one block's pointers; see :class:`ZSet`). Scores and
members are shared with ``scores``, so the order costs two pointers a member, and reading a
range is slicing lists.

Lexicographic ranges (ZRANGEBYLEX and friends) assume every member has the same score, as
Redis documents. When they do not, Redis's answer depends on its encoding; here it is the one a
small (listpack-encoded) Redis set gives, found by a linear walk; sets of one score take the
O(log n) path, which gives the same answer.

Ranges are given as index spans ``[start, stop)`` into the order, so callers can read, count or
delete them alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    # mypyc's native 64-bit integer: a plain int to Python (annotations only, never evaluated
    # at run time, so mypy_extensions is needed only to build).
    from mypy_extensions import i64

# Pairs per block: blocks split when they pass twice this. Smaller blocks make an insert or a
# delete move fewer pointers; larger ones make fewer blocks to search and to slice a range
# from. Measured on Redis's benchmarks (1000 members): ZADD costs 12% fewer instructions than
# with 512, ZRANGE of 100 members 9% more.
_LOAD: Final = 128
# Blocks from which positions come from a Fenwick tree of the block sizes. Below, a position is
# summed over the blocks' lengths (a few instructions a block), which costs a rank about what
# the tree does and spares every insert and delete the tree's update, half of a ZADD's work
# on the structure at a thousand members.
_TREE_BLOCKS: Final = 16

# A lexicographic bound: ``(b"-", b"")`` below everything, ``(b"+", b"")`` above everything,
# ``(b"[", value)`` inclusive, ``(b"(", value)`` exclusive.
LexBound = tuple[bytes, bytes]


class ScoreRange:
    """``min``..``max`` with each end inclusive or exclusive (Redis's ``zrangespec``)."""

    __slots__ = ("max", "maxex", "min", "minex")

    def __init__(self, min: float, minex: bool, max: float, maxex: bool) -> None:
        self.min = min
        self.minex = minex
        self.max = max
        self.maxex = maxex

    def empty(self) -> bool:
        """Whether no score can be in the range at all."""
        return self.min > self.max or (self.min == self.max and (self.minex or self.maxex))

    def above_min(self, score: float) -> bool:
        return score > self.min if self.minex else score >= self.min

    def below_max(self, score: float) -> bool:
        return score < self.max if self.maxex else score <= self.max


class LexRange:
    """A range of members by their bytes (Redis's ``zlexrangespec``)."""

    __slots__ = ("max", "min")

    def __init__(self, min: LexBound, max: LexBound) -> None:
        self.min = min
        self.max = max

    def empty(self) -> bool:
        (lo_kind, lo), (hi_kind, hi) = self.min, self.max
        if lo_kind == b"+" or hi_kind == b"-":
            return True
        if lo_kind == b"-" or hi_kind == b"+":
            return False
        return lo > hi or (lo == hi and (lo_kind == b"(" or hi_kind == b"("))

    def above_min(self, member: bytes) -> bool:
        kind, value = self.min
        if kind == b"[":
            return member >= value
        if kind == b"(":
            return member > value
        return kind == b"-"

    def below_max(self, member: bytes) -> bool:
        kind, value = self.max
        if kind == b"[":
            return member <= value
        if kind == b"(":
            return member < value
        return kind == b"+"


class ZSet:
    """A sorted set. Never empty in the keyspace (the commands delete an emptied key).

    The order is kept in blocks: ``_bscores[b]`` and ``_bmembers[b]`` are two parallel lists
    holding, in order, the scores and members of block ``b``, each block following the one
    before it; ``_maxscores[b]`` / ``_maxmembers[b]`` repeat block ``b``'s last pair, so that
    the block of a pair is found by bisecting them. A block holds 1 to ``2 * _load`` pairs
    (blocks split beyond that; an emptied block goes). Every search is C's ``bisect`` over
    plain lists of floats or bytes, scores first and members only among equal scores, and a
    range of members is a list slice: no per-pair tuple is made or compared.

    Positions across blocks come from ``_tree``, a Fenwick tree of the block sizes, kept only
    while there are ``tree_blocks`` blocks or more (rebuilt when blocks come or go); with
    fewer, from the blocks' lengths.
    """

    __slots__ = (
        "_bmembers",
        "_bscores",
        "_load",
        "_maxmembers",
        "_maxscores",
        "_tree",
        "_tree_blocks",
        "scores",
    )

    def __init__(self, load: int = _LOAD, tree_blocks: int = _TREE_BLOCKS) -> None:
        self.scores: dict[bytes, float] = {}
        self._bscores: list[list[float]] = []
        self._bmembers: list[list[bytes]] = []
        self._maxscores: list[float] = []
        self._maxmembers: list[bytes] = []
        self._tree: list[int] = []
        self._load = load
        self._tree_blocks = max(tree_blocks, 2)

    def __len__(self) -> int:
        return len(self.scores)

    def __eq__(self, other: object) -> bool:
        """Same members with the same scores (the order follows from them)."""
        return isinstance(other, ZSet) and self.scores == other.scores

    __hash__ = None  # type: ignore[assignment]  # mutable, as a set or dict

    def __bool__(self) -> bool:
        return bool(self.scores)

    def __iter__(self) -> Iterator[tuple[bytes, float]]:
        """``(member, score)`` in order."""
        for b in range(len(self._bscores)):
            yield from zip(self._bmembers[b], self._bscores[b], strict=True)

    def score(self, member: bytes) -> float | None:
        return self.scores.get(member)

    # -- finding places ----------------------------------------------------------------------
    def _block_of(self, score: float, member: bytes) -> int:
        """The first block whose last pair is not below ``(score, member)`` (the last block
        when none is): where that pair is, or belongs."""
        maxscores = self._maxscores
        count = len(maxscores)
        if count == 1:
            return 0
        b = _pair_left(maxscores, self._maxmembers, score, member, 0, count)
        if b < count:  # (not a conditional expression: its mixed int kinds would be boxed)
            return b
        return count - 1

    def _offset_in(self, b: int, score: float, member: bytes) -> int:
        """Where ``(score, member)`` is, or belongs, in block ``b``."""
        scores = self._bscores[b]
        return _pair_left(scores, self._bmembers[b], score, member, 0, len(scores))

    def _start_of(self, b: int) -> int:
        """The position of block ``b``'s first pair (``scores`` and the blocks holding the
        same members, as for :meth:`_find`)."""
        tree = self._tree
        total = 0
        if not tree:
            # Summed from the nearer end.
            blocks = self._bscores
            count = len(blocks)
            if 2 * b <= count:
                for k in range(b):
                    total += len(blocks[k])
                return total
            for k in range(b, count):
                total += len(blocks[k])
            return len(self.scores) - total
        while b > 0:
            total += tree[b]
            b -= b & -b
        return total

    def _find(self, index: int) -> tuple[int, int]:
        """The block and the offset in it of position ``index`` (0 <= index < len), while
        ``scores`` and the blocks hold the same members (without a tree, their count is how far
        the last block ends)."""
        tree = self._tree
        if not tree:
            # Walked from the nearer end.
            blocks = self._bscores
            rest = len(self.scores) - index  # pairs from ``index`` on
            if index < rest:
                b = 0
                size = len(blocks[0])
                while index >= size:
                    index -= size
                    b += 1
                    size = len(blocks[b])
                return b, index
            b = len(blocks) - 1
            size = len(blocks[b])
            while rest > size:
                rest -= size
                b -= 1
                size = len(blocks[b])
            return b, size - rest
        size = len(tree) - 1
        b = 0
        step = 1 << (size.bit_length() - 1)
        while step:
            nxt = b + step
            if nxt <= size and tree[nxt] <= index:
                b = nxt
                index -= tree[nxt]
            step >>= 1
        return b, index

    def _grew(self, b: int, delta: int) -> None:
        tree = self._tree
        if tree:
            size = len(tree) - 1
            b += 1
            while b <= size:
                tree[b] += delta
                b += b & -b

    def _rebuild_tree(self) -> None:
        blocks = self._bscores
        count = len(blocks)
        if count < self._tree_blocks:
            self._tree = []
            return
        tree = [0] * (count + 1)
        for b in range(1, count + 1):
            tree[b] += len(blocks[b - 1])
            parent = b + (b & -b)
            if parent <= count:
                tree[parent] += tree[b]
        self._tree = tree

    def _left(self, score: float) -> int:
        """The position of the first pair whose score is ``score`` or more."""
        maxscores = self._maxscores
        b = _score_left(maxscores, score)
        if b == len(maxscores):
            return len(self.scores)
        return self._start_of(b) + _score_left(self._bscores[b], score)

    def _right(self, score: float) -> int:
        """The position of the first pair whose score is above ``score``."""
        maxscores = self._maxscores
        b = _score_right(maxscores, score)
        if b == len(maxscores):
            return len(self.scores)
        return self._start_of(b) + _score_right(self._bscores[b], score)

    # -- changes -----------------------------------------------------------------------------
    def add(self, member: bytes, score: float) -> bool:
        """Set ``member``'s score; True if the member is new. ``-0.0`` is stored as ``0.0``."""
        if score == 0.0:
            score = 0.0
        scores = self.scores
        old = scores.get(member)
        if old is None:
            scores[member] = score
            self._insert(score, member)
            return True
        if old != score:
            self._move(member, old, score)
        return False

    def insert(self, member: bytes, score: float) -> None:
        """Add ``member``, which is not there (a shortcut of :meth:`add` for callers that
        looked)."""
        if score == 0.0:
            score = 0.0
        self.scores[member] = score
        self._insert(score, member)

    def change(self, member: bytes, old: float, score: float) -> None:
        """Move ``member`` from its score ``old`` to ``score``, a different one (a shortcut of
        :meth:`add` for callers that looked)."""
        if score == 0.0:
            score = 0.0
        self._move(member, old, score)

    def _move(self, member: bytes, old: float, score: float) -> None:
        """:meth:`change` once ``score`` is normalised. When the pair's new place is in its
        block (a small change of score, ZINCRBY's usual one), it moves there without leaving
        the block: one search saved, and no block size changes."""
        self.scores[member] = score
        b = self._block_of(old, member)
        block_scores = self._bscores[b]
        block_members = self._bmembers[b]
        size = len(block_scores)
        i = _pair_index(block_scores, block_members, old, member, 0, size)
        last = len(self._bscores) - 1
        if (
            b > 0 and _pair_below(score, member, self._maxscores[b - 1], self._maxmembers[b - 1])
        ) or (
            b < last
            and not _pair_below(score, member, self._bscores[b + 1][0], self._bmembers[b + 1][0])
        ):
            # Another block's: where _insert finds it.
            self._unlink_at(b, i)
            self._insert(score, member)
            return
        # Its place among the block's other pairs (the pair itself, at ``i``, compares below
        # or above the new one as its old score does: they differ).
        if score > old:
            j = _pair_left(block_scores, block_members, score, member, i + 1, size) - 1
        else:
            j = _pair_left(block_scores, block_members, score, member, 0, i)
        if j == i:
            block_scores[i] = score
        else:
            block_scores.pop(i)
            block_scores.insert(j, score)
            block_members.insert(j, block_members.pop(i))
        if i == size - 1 or j == size - 1:
            self._maxscores[b] = block_scores[size - 1]
            self._maxmembers[b] = block_members[size - 1]

    def _insert(self, score: float, member: bytes) -> None:
        if not self._bscores:
            self._bscores.append([score])
            self._bmembers.append([member])
            self._maxscores.append(score)
            self._maxmembers.append(member)
            return
        b = self._block_of(score, member)
        i = self._offset_in(b, score, member)
        block_scores = self._bscores[b]
        block_members = self._bmembers[b]
        block_scores.insert(i, score)
        block_members.insert(i, member)
        size = len(block_scores)
        if i == size - 1:
            self._maxscores[b] = score
            self._maxmembers[b] = member
        if size > 2 * self._load:
            self._split(b)
        else:
            self._grew(b, 1)

    def load_sorted(self, members: list[bytes], scores: list[float]) -> None:
        """Fill this empty set with ``members`` and their ``scores`` at once (a file being
        loaded): the caller guarantees they are in the set's order, distinct, and that no
        score is NaN or ``-0.0``. The lists become the set's (they must not be used after)."""
        table = self.scores
        size = len(members)
        if size == 0:
            return
        for index in range(size):
            table[members[index]] = scores[index]
        load = self._load
        if size <= load:  # one block: the lists themselves
            self._bscores.append(scores)
            self._bmembers.append(members)
            self._maxscores.append(scores[size - 1])
            self._maxmembers.append(members[size - 1])
            return
        for start in range(0, size, load):
            stop = min(start + load, size)
            self._bscores.append(scores[start:stop])
            self._bmembers.append(members[start:stop])
            self._maxscores.append(scores[stop - 1])
            self._maxmembers.append(members[stop - 1])
        self._rebuild_tree()

    def _split(self, b: int) -> None:
        half = self._load
        block_scores = self._bscores[b]
        block_members = self._bmembers[b]
        self._bscores.insert(b + 1, block_scores[half:])
        self._bmembers.insert(b + 1, block_members[half:])
        del block_scores[half:]
        del block_members[half:]
        self._maxscores.insert(b, block_scores[-1])
        self._maxmembers.insert(b, block_members[-1])
        self._rebuild_tree()

    def remove(self, member: bytes) -> bool:
        """Remove ``member``; True if it was there."""
        score = self.scores.pop(member, None)
        if score is None:
            return False
        self._unlink(score, member)
        return True

    def _unlink(self, score: float, member: bytes) -> None:
        """Take the pair ``(score, member)``, which is there, out of the blocks."""
        b = self._block_of(score, member)
        scores = self._bscores[b]
        self._unlink_at(b, _pair_index(scores, self._bmembers[b], score, member, 0, len(scores)))

    def _unlink_at(self, b: int, i: int) -> None:
        """Take the pair at offset ``i`` of block ``b`` out of the blocks."""
        block_scores = self._bscores[b]
        block_members = self._bmembers[b]
        # pop rather than del: compiled, it goes straight to the list's code.
        block_scores.pop(i)
        block_members.pop(i)
        if not block_scores:
            self._drop_block(b)
            return
        if i == len(block_scores):
            self._maxscores[b] = block_scores[-1]
            self._maxmembers[b] = block_members[-1]
        self._grew(b, -1)

    def _drop_block(self, b: int) -> None:
        del self._bscores[b]
        del self._bmembers[b]
        del self._maxscores[b]
        del self._maxmembers[b]
        self._rebuild_tree()

    # -- positions ---------------------------------------------------------------------------
    def rank(self, member: bytes, reverse: bool = False) -> int | None:
        """``member``'s 0-based position (from the highest when ``reverse``), or None."""
        score = self.scores.get(member)
        if score is None:
            return None
        b = self._block_of(score, member)
        scores = self._bscores[b]
        rank: int = _pair_index(scores, self._bmembers[b], score, member, 0, len(scores))
        if b:
            rank += self._start_of(b)
        return len(self.scores) - 1 - rank if reverse else rank

    def at(self, index: int) -> tuple[bytes, float]:
        """The ``(member, score)`` at position ``index`` (0-based, from the lowest)."""
        b, i = self._find(index)
        return self._bmembers[b][i], self._bscores[b][i]

    def members(self, start: int, stop: int, reverse: bool = False) -> list[bytes]:
        """The members at positions ``start <= i < stop``, in order or reversed."""
        if start >= stop:
            return []
        if len(self._bmembers) == 1:
            found = self._bmembers[0][start:stop]
        else:
            found = self._gather(self._bmembers, start, stop)
        if reverse:
            found.reverse()
        return found

    def score_list(self, start: int, stop: int, reverse: bool = False) -> list[float]:
        """The scores at positions ``start <= i < stop``, in order or reversed."""
        if start >= stop:
            return []
        if len(self._bscores) == 1:
            found = self._bscores[0][start:stop]
        else:
            found = self._gather(self._bscores, start, stop)
        if reverse:
            found.reverse()
        return found

    def _gather(self, blocks: list[list[Any]], start: int, stop: int) -> list[Any]:
        b, i = self._find(start)
        left = stop - start
        found: list[Any] = []
        while left > 0:
            block = blocks[b]
            part = block[i : i + left]
            found += part
            left -= len(part)
            b += 1
            i = 0
        return found

    def items(self, start: int, stop: int, reverse: bool = False) -> list[tuple[bytes, float]]:
        """``(member, score)`` at positions ``start <= i < stop``, in order or reversed."""
        return list(
            zip(
                self.members(start, stop, reverse),
                self.score_list(start, stop, reverse),
                strict=True,
            )
        )

    def delete_span(self, start: int, stop: int) -> int:
        """Remove the members at positions ``start <= i < stop``; how many went."""
        if start >= stop:
            return 0
        b, i = self._find(start)  # while the members are still counted in ``scores``
        scores = self.scores
        for member in self.members(start, stop):
            del scores[member]
        left = stop - start
        block_scores = self._bscores[b]
        if i + left < len(block_scores):
            # Inside one block, which keeps its last pair (ZPOPMIN, ZREMRANGEBYRANK 0 0).
            del block_scores[i : i + left]
            del self._bmembers[b][i : i + left]
            self._grew(b, -left)
            return left
        first = b
        while left > 0:
            block_scores = self._bscores[b]
            part = min(left, len(block_scores) - i)
            del block_scores[i : i + part]
            del self._bmembers[b][i : i + part]
            left -= part
            b += 1
            i = 0
        # Blocks first..b-1 shrank: drop the emptied ones, refresh the others' last pairs.
        k = b - 1
        while k >= first:
            if self._bscores[k]:
                self._maxscores[k] = self._bscores[k][-1]
                self._maxmembers[k] = self._bmembers[k][-1]
            else:
                del self._bscores[k]
                del self._bmembers[k]
                del self._maxscores[k]
                del self._maxmembers[k]
            k -= 1
        self._rebuild_tree()
        return stop - start

    # -- spans: [start, stop) index ranges ---------------------------------------------------
    def score_span(self, spec: ScoreRange) -> tuple[int, int]:
        """The positions of the members whose score is in ``spec``."""
        if spec.empty() or not self.scores:
            return 0, 0
        start = self._right(spec.min) if spec.minex else self._left(spec.min)
        stop = self._left(spec.max) if spec.maxex else self._right(spec.max)
        return start, max(start, stop)

    def _member_at(self, index: int) -> bytes:
        b, i = self._find(index)
        return self._bmembers[b][i]

    def lex_span(self, spec: LexRange) -> tuple[int, int]:
        """The positions of the members in ``spec``, walking up from the lowest: the first member
        at or above the minimum, then on while members stay at or below the maximum."""
        if spec.empty() or not self.scores:
            return 0, 0
        size = len(self.scores)
        if self._bscores[0][0] == self._maxscores[-1]:
            # One score: the order is the members' order.
            score = self._maxscores[-1]
            start = self._lex_bisect(score, spec.min, True)
            stop = self._lex_bisect(score, spec.max, False)
            return start, max(start, stop)
        # Redis first checks the last member is not below the minimum and the first not above
        # the maximum, then walks.
        if not spec.above_min(self._maxmembers[-1]) or not spec.below_max(self._bmembers[0][0]):
            return 0, 0
        members = self.members(0, size)
        start = 0
        while start < size and not spec.above_min(members[start]):
            start += 1
        if start == size or not spec.below_max(members[start]):
            return 0, 0
        stop = start + 1
        while stop < size and spec.below_max(members[stop]):
            stop += 1
        return start, stop

    def lex_span_reverse(self, spec: LexRange) -> tuple[int, int]:
        """:meth:`lex_span` walking down from the highest: the first member at or below the
        maximum, then on while members stay at or above the minimum."""
        if spec.empty() or not self.scores or self._bscores[0][0] == self._maxscores[-1]:
            return self.lex_span(spec)
        if not spec.above_min(self._maxmembers[-1]) or not spec.below_max(self._bmembers[0][0]):
            return 0, 0
        members = self.members(0, len(self.scores))
        last = len(members) - 1
        while last >= 0 and not spec.below_max(members[last]):
            last -= 1
        if last < 0 or not spec.above_min(members[last]):
            return 0, 0
        first = last - 1
        while first >= 0 and spec.above_min(members[first]):
            first -= 1
        return first + 1, last + 1

    def _lex_bisect(self, score: float, bound: LexBound, is_min: bool) -> int:
        """For a one-score set: the position where ``bound`` starts (``is_min``) the range or
        ends it."""
        kind, value = bound
        if kind == b"-":
            return 0
        if kind == b"+":
            return len(self.scores)
        b = self._block_of(score, value)
        i = self._offset_in(b, score, value)
        position = self._start_of(b) + i
        inclusive = kind == b"["
        if inclusive != is_min:  # "[" as a max, "(" as a min: stop after ``value``
            block_members = self._bmembers[b]
            if i < len(block_members) and block_members[i] == value:
                position += 1
        return position


# Binary searches written out rather than bisect's: compiled, they compare native doubles and
# touch the members only among equal scores, several times cheaper than calling bisect. Their
# positions are native 64-bit integers (no tag checks on each step: a third of a search).
def _pair_left(
    scores: list[float], members: list[bytes], score: float, member: bytes, lo: i64, hi: i64
) -> i64:
    """The first position in ``[lo, hi)`` whose pair is not below ``(score, member)`` (``hi``
    when none is), the pairs there being in order."""
    while lo < hi:
        mid = (lo + hi) >> 1
        found = scores[mid]
        if found < score or (found == score and members[mid] < member):
            lo = mid + 1
        else:
            hi = mid
    return lo


def _pair_index(
    scores: list[float], members: list[bytes], score: float, member: bytes, lo: i64, hi: i64
) -> i64:
    """:func:`_pair_left` for a pair that is there: it stops on meeting it. Equal scores are
    few, so the one met is most often the pair itself, and an equality test of bytes is much
    cheaper than an order comparison."""
    while lo < hi:
        mid = (lo + hi) >> 1
        found = scores[mid]
        if found < score:
            lo = mid + 1
        elif found > score:
            hi = mid
        else:
            other = members[mid]
            if other == member:
                return mid
            if other < member:
                lo = mid + 1
            else:
                hi = mid
    return lo


def _pair_below(score: float, member: bytes, other_score: float, other_member: bytes) -> bool:
    """Whether ``(score, member)`` comes before ``(other_score, other_member)``."""
    return score < other_score or (score == other_score and member < other_member)


def _score_left(scores: list[float], score: float) -> i64:
    """The first position whose score is not below ``score``."""
    lo: i64 = 0
    hi: i64 = len(scores)
    while lo < hi:
        mid = (lo + hi) >> 1
        if scores[mid] < score:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _score_right(scores: list[float], score: float) -> i64:
    """The first position whose score is above ``score``."""
    lo: i64 = 0
    hi: i64 = len(scores)
    while lo < hi:
        mid = (lo + hi) >> 1
        if score < scores[mid]:
            hi = mid
        else:
            lo = mid + 1
    return lo
