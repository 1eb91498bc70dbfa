"""Reading a dict by position, as Redis reads its hash tables by bucket: random keys for
eviction's samples, and a cursor that walks a dict a few keys at a time for the active expiry
cycle, without a copy of the keys.

A Python dict keeps its entries in an array in insertion order, deleted ones left as holes
until the dict is rebuilt. CPython's public ``PyDict_Next(dict, &pos, &key, &value)`` answers
the first live entry at index ``pos`` or after it and moves ``pos`` past it; it is called here
through ctypes. The array's length is not public: it is never more than four times the live
keys (a dict is rebuilt for three times its keys and fills two thirds of its slots), and
``PyDict_Next`` answers nothing past its end.

A rebuild (the dict growing, or shrinking its holes away) moves entries to other positions:
a cursor then skips or repeats some keys in that pass, as a Redis SCAN cursor over a table
being rehashed may repeat some.
"""

from __future__ import annotations

import ctypes
import random
from typing import Any

_next = ctypes.pythonapi.PyDict_Next
_next.argtypes = [
    ctypes.py_object,
    ctypes.POINTER(ctypes.c_ssize_t),
    ctypes.POINTER(ctypes.py_object),
    ctypes.c_void_p,
]
_next.restype = ctypes.c_int


def sample_keys(table: dict[Any, Any], count: int) -> list[Any]:
    """Up to ``count`` keys of ``table`` drawn at random (with repeats possible; fewer only
    when it has fewer keys). A draw past the end of the entries lowers the bound to it and
    draws again. Keys after a run of holes are drawn a little more often, as Redis's draws
    favour keys in short bucket chains."""
    size = len(table)
    if size == 0:
        return []
    count = min(count, size)
    bound = 4 * size + 16
    found: list[Any] = []
    position = ctypes.c_ssize_t()
    key = ctypes.py_object()
    while len(found) < count and bound > 0:
        start = random.randrange(bound)
        position.value = start
        if _next(table, ctypes.byref(position), ctypes.byref(key), None):
            found.append(key.value)
        else:
            bound = start
    return found


def keys_from(table: dict[Any, Any], position: int, count: int) -> tuple[list[Any], int]:
    """Up to ``count`` keys of ``table`` from entry ``position`` on, and the position after the
    last one; fewer (possibly none) once the end is reached, and then the position is 0 (the
    next pass starts over)."""
    found: list[Any] = []
    cursor = ctypes.c_ssize_t(position)
    key = ctypes.py_object()
    for _ in range(count):
        if not _next(table, ctypes.byref(cursor), ctypes.byref(key), None):
            return found, 0
        found.append(key.value)
    return found, cursor.value
