"""Redis's partial quicksort (``pqsort.c``: Bentley and McIlroy's quicksort that only recurses
into the parts overlapping a range of positions).

Redis sorts a search's results with it when only the first few are wanted (GEOSEARCH ...
COUNT n). The positions it sorts get the elements a full sort would put there, but elements
that compare equal may end up in another order than a stable sort gives, so to reply as Redis
does, equal distances included, the same algorithm runs here, step for step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Compare = Callable[[Any, Any], int]


def pqsort(items: list[Any], cmp: Compare, first: int, last: int) -> None:
    """Sort ``items`` in place far enough that positions ``first..last`` (inclusive) hold what
    a full sort by ``cmp`` (negative, zero or positive, as C's) puts there."""
    _pqsort(items, 0, len(items), cmp, first, last)


def _med3(v: list[Any], a: int, b: int, c: int, cmp: Compare) -> int:
    if cmp(v[a], v[b]) < 0:
        if cmp(v[b], v[c]) < 0:
            return b
        return c if cmp(v[a], v[c]) < 0 else a
    if cmp(v[b], v[c]) > 0:
        return b
    return a if cmp(v[a], v[c]) < 0 else c


def _vecswap(v: list[Any], a: int, b: int, n: int) -> None:
    for i in range(n):
        v[a + i], v[b + i] = v[b + i], v[a + i]


def _pqsort(v: list[Any], a: int, n: int, cmp: Compare, lo: int, hi: int) -> None:
    """Sort the ``n`` elements from ``a`` on, as far as they overlap ``lo..hi``."""
    while True:
        if n < 7:  # insertion sort
            for pm in range(a + 1, a + n):
                pl = pm
                while pl > a and cmp(v[pl - 1], v[pl]) > 0:
                    v[pl - 1], v[pl] = v[pl], v[pl - 1]
                    pl -= 1
            return
        pm = a + n // 2
        if n > 7:
            pl = a
            pn = a + n - 1
            if n > 40:
                d = n // 8
                pl = _med3(v, pl, pl + d, pl + 2 * d, cmp)
                pm = _med3(v, pm - d, pm, pm + d, cmp)
                pn = _med3(v, pn - 2 * d, pn - d, pn, cmp)
            pm = _med3(v, pl, pm, pn, cmp)
        v[a], v[pm] = v[pm], v[a]
        pa = pb = a + 1
        pc = pd = a + n - 1
        # Three-way partition around v[a]: equal elements gather at both ends first.
        while True:
            while pb <= pc:
                result = cmp(v[pb], v[a])
                if result > 0:
                    break
                if result == 0:
                    v[pa], v[pb] = v[pb], v[pa]
                    pa += 1
                pb += 1
            while pb <= pc:
                result = cmp(v[pc], v[a])
                if result < 0:
                    break
                if result == 0:
                    v[pc], v[pd] = v[pd], v[pc]
                    pd -= 1
                pc -= 1
            if pb > pc:
                break
            v[pb], v[pc] = v[pc], v[pb]
            pb += 1
            pc -= 1
        pn = a + n
        r = min(pa - a, pb - pa)
        _vecswap(v, a, pb - r, r)
        r = min(pd - pc, pn - pd - 1)
        _vecswap(v, pb, pn - r, r)
        r = pb - pa
        if r > 1 and _overlaps(a, a + r - 1, lo, hi):
            _pqsort(v, a, r, cmp, lo, hi)
        r = pd - pc
        if r <= 1:
            return
        a = pn - r
        n = r
        if not _overlaps(a, a + r - 1, lo, hi):
            return


def _overlaps(left: int, right: int, lo: int, hi: int) -> bool:
    return not ((lo < left and hi < left) or (lo > right and hi > right))
