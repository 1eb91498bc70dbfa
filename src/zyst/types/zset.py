"""The sorted set: members (``bytes``) with a double score each, kept in Redis's order.

Order: by score, then by member bytes (``memcmp``, a shorter prefix first), which is how Python
compares ``bytes``. A member appears once. Scores are never NaN (the commands refuse every way
of making one). A zero score is stored as ``0.0``, never ``-0.0``: Redis keeps small sorted sets
(up to 128 members) as text in a listpack, where a negative zero reads back as ``0``; it keeps
``-0`` only in large ones, which is the one place Zyst differs.

Layout: ``scores`` maps member → score (O(1) ZSCORE), ``order`` is a
:class:`sortedcontainers.SortedList` of ``(score, member)`` (O(log n) insert, delete, rank and
index), standing for Redis's skiplist.

Lexicographic ranges (ZRANGEBYLEX and friends) assume every member has the same score, as
Redis documents. When they do not, Redis's answer depends on its encoding; here it is the one a
small (listpack-encoded) Redis set gives, found by a linear walk; sets of one score take the
O(log n) path, which gives the same answer.

Ranges are given as index spans ``[start, stop)`` into the order, so callers can read, count or
delete them alike.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Final

from sortedcontainers import SortedList

_INF: Final = math.inf

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
    """A sorted set. Never empty in the keyspace (the commands delete an emptied key)."""

    __slots__ = ("order", "scores")

    def __init__(self) -> None:
        self.scores: dict[bytes, float] = {}
        self.order = SortedList()

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
        for score, member in self.order:
            yield member, score

    def score(self, member: bytes) -> float | None:
        return self.scores.get(member)

    def add(self, member: bytes, score: float) -> bool:
        """Set ``member``'s score; True if the member is new. ``-0.0`` is stored as ``0.0``."""
        if score == 0.0:
            score = 0.0
        scores = self.scores
        old = scores.get(member)
        if old is not None:
            if old == score:
                return False
            self.order.remove((old, member))
        scores[member] = score
        self.order.add((score, member))
        return old is None

    def remove(self, member: bytes) -> bool:
        """Remove ``member``; True if it was there."""
        score = self.scores.pop(member, None)
        if score is None:
            return False
        self.order.remove((score, member))
        return True

    def rank(self, member: bytes, reverse: bool = False) -> int | None:
        """``member``'s 0-based position (from the highest when ``reverse``), or None."""
        score = self.scores.get(member)
        if score is None:
            return None
        rank: int = self.order.index((score, member))
        return len(self.scores) - 1 - rank if reverse else rank

    def at(self, index: int) -> tuple[bytes, float]:
        """The ``(member, score)`` at position ``index`` (0-based, from the lowest)."""
        score, member = self.order[index]
        return member, score

    def items(self, start: int, stop: int, reverse: bool = False) -> list[tuple[bytes, float]]:
        """``(member, score)`` at positions ``start <= i < stop``, in order or reversed."""
        if start >= stop:
            return []
        return [(m, s) for s, m in self.order.islice(start, stop, reverse=reverse)]

    def delete_span(self, start: int, stop: int) -> int:
        """Remove the members at positions ``start <= i < stop``; how many went."""
        if start >= stop:
            return 0
        order = self.order
        scores = self.scores
        for _, member in order.islice(start, stop):
            del scores[member]
        del order[start:stop]
        return stop - start

    # -- spans: [start, stop) index ranges ---------------------------------------------------
    def score_span(self, spec: ScoreRange) -> tuple[int, int]:
        """The positions of the members whose score is in ``spec``."""
        if spec.empty() or not self.scores:
            return 0, 0
        order = self.order
        if spec.minex:
            start = len(order) if spec.min == _INF else order.bisect_left((_above(spec.min), b""))
        else:
            start = order.bisect_left((spec.min, b""))
        if spec.maxex:
            stop = order.bisect_left((spec.max, b""))
        else:
            stop = len(order) if spec.max == _INF else order.bisect_left((_above(spec.max), b""))
        return start, max(start, stop)

    def lex_span(self, spec: LexRange) -> tuple[int, int]:
        """The positions of the members in ``spec``, walking up from the lowest: the first member
        at or above the minimum, then on while members stay at or below the maximum."""
        if spec.empty() or not self.scores:
            return 0, 0
        order = self.order
        size = len(order)
        if order[0][0] == order[-1][0]:  # one score: the order is the members' order
            score = order[0][0]
            start = self._lex_bisect(score, spec.min, True)
            stop = self._lex_bisect(score, spec.max, False)
            return start, max(start, stop)
        # Redis first checks the last member is not below the minimum and the first not above
        # the maximum, then walks.
        if not spec.above_min(order[-1][1]) or not spec.below_max(order[0][1]):
            return 0, 0
        start = 0
        while start < size and not spec.above_min(order[start][1]):
            start += 1
        if start == size or not spec.below_max(order[start][1]):
            return 0, 0
        stop = start + 1
        while stop < size and spec.below_max(order[stop][1]):
            stop += 1
        return start, stop

    def lex_span_reverse(self, spec: LexRange) -> tuple[int, int]:
        """:meth:`lex_span` walking down from the highest: the first member at or below the
        maximum, then on while members stay at or above the minimum."""
        order = self.order
        if spec.empty() or not self.scores or order[0][0] == order[-1][0]:
            return self.lex_span(spec)
        if not spec.above_min(order[-1][1]) or not spec.below_max(order[0][1]):
            return 0, 0
        last = len(order) - 1
        while last >= 0 and not spec.below_max(order[last][1]):
            last -= 1
        if last < 0 or not spec.above_min(order[last][1]):
            return 0, 0
        first = last - 1
        while first >= 0 and spec.above_min(order[first][1]):
            first -= 1
        return first + 1, last + 1

    def _lex_bisect(self, score: float, bound: LexBound, is_min: bool) -> int:
        """For a one-score set: the position where ``bound`` starts (``is_min``) the range or
        ends it."""
        kind, value = bound
        order = self.order
        if kind == b"-":
            return 0
        if kind == b"+":
            return len(order)
        inclusive = kind == b"["
        if inclusive == is_min:  # "[" as a min, "(" as a max: stop before ``value``
            return int(order.bisect_left((score, value)))
        return int(order.bisect_right((score, value)))


def _above(score: float) -> float:
    """The smallest double greater than ``score`` (finite, or -inf)."""
    return math.nextafter(score, _INF)
