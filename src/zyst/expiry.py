"""Active expiry: a periodic cycle that removes keys whose time has come, so keys nobody reads
leave memory too (lazy expiry in :mod:`zyst.keyspace` handles the keys that are read).

Like Redis (since 6.0) the cycle walks each database's TTL table incrementally rather than
drawing random samples: :class:`ActiveExpirer` keeps, per database, a snapshot of the keys with a
TTL and a cursor into it; each run checks up to a budget of keys, going on while at least a
quarter of what it checked had expired (Redis's "more than 25% stale" rule) and the time budget
lasts. A snapshot is rebuilt when its cursor reaches the end, so every key with a TTL is looked at
once per pass, and the cost of taking the snapshot is spread over that pass.
"""

from __future__ import annotations

import time

from zyst.keyspace import Keyspace

KEYS_PER_LOOP = 20
ACCEPTABLE_STALE = 0.25


class ActiveExpirer:
    """Runs the active expiry cycle over a :class:`Keyspace`."""

    def __init__(self, keyspace: Keyspace) -> None:
        self.keyspace = keyspace
        self._snapshots: dict[int, list[bytes]] = {}
        self._cursors: dict[int, int] = {}

    def run(self, time_budget: float = 0.025) -> int:
        """One cycle over every database within ``time_budget`` seconds; returns keys removed."""
        deadline = time.perf_counter() + time_budget
        removed = 0
        for db in self.keyspace.dbs:
            if not db.expires:
                self._snapshots.pop(db.index, None)
                continue
            while True:
                checked, expired = self._step(db.index)
                removed += expired
                if checked == 0 or expired < checked * ACCEPTABLE_STALE:
                    break
                if time.perf_counter() >= deadline:
                    return removed
        return removed

    def _step(self, index: int) -> tuple[int, int]:
        db = self.keyspace.dbs[index]
        snapshot = self._snapshots.get(index)
        cursor = self._cursors.get(index, 0)
        if snapshot is None or cursor >= len(snapshot):
            snapshot = list(db.expires)
            self._snapshots[index] = snapshot
            cursor = 0
        batch = snapshot[cursor : cursor + KEYS_PER_LOOP]
        self._cursors[index] = cursor + len(batch)
        now = self.keyspace.clock()
        expired = 0
        for key in batch:
            if db.is_expired(key, now) and self.keyspace.expire_if_due(db, key):
                expired += 1
        return len(batch), expired
