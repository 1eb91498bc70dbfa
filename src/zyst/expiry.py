"""Active expiry: a periodic cycle that removes keys whose time has come, so keys nobody reads
leave memory too (lazy expiry in :mod:`zyst.keyspace` handles the keys that are read).

Like Redis (since 6.0) the cycle walks each database's TTL table incrementally rather than
drawing random samples: :class:`ActiveExpirer` keeps, per database, a cursor into the TTL dict
itself (an entry position, :func:`zyst.dictpos.keys_from`); each run checks up to a budget of
keys, going on while at least a quarter of what it checked had expired (Redis's "more than 25%
stale" rule) and the time budget lasts. A pass ends at the dict's last entry and the next starts
over, so every key with a TTL is looked at once per pass (but when the dict is rebuilt
meanwhile, which moves entries: then some are looked at twice or in the next pass). No copy of
the keys is kept: a key deleted or evicted is freed at once.

The cycle also keeps the estimates INFO shows, as Redis's cycle does: each database's
``avg_ttl`` (a running average of the time left to the keys it looks at), the keyspace's
``expired_stale_perc`` (the share of looked-at keys found expired, a running average over
cycles) and ``expired_time_cap_reached_count`` (cycles that stopped on their time budget).
"""

from __future__ import annotations

import time

from zyst.dictpos import keys_from
from zyst.keyspace import Keyspace

KEYS_PER_LOOP = 20
ACCEPTABLE_STALE = 0.25


class ActiveExpirer:
    """Runs the active expiry cycle over a :class:`Keyspace`."""

    def __init__(self, keyspace: Keyspace) -> None:
        self.keyspace = keyspace
        # Per database: the entry position of its TTL dict the walk goes on from.
        self._cursors: dict[int, int] = {}
        # Keys looked at (those still having a TTL) during the current run.
        self._sampled = 0

    def run(self, time_budget: float = 0.025) -> int:
        """One cycle over every database within ``time_budget`` seconds; returns keys removed.
        Nothing happens while CLIENT PAUSE is in force (the data must stay as it is)."""
        if self.keyspace.paused:
            return 0
        self._sampled = 0
        removed = self._cycle(time.perf_counter() + time_budget)
        # Redis's running estimate: this cycle's share of expired keys weighs 5%.
        keyspace = self.keyspace
        stale = removed / self._sampled if self._sampled else 0.0
        keyspace.expired_stale_perc = stale * 0.05 + keyspace.expired_stale_perc * 0.95
        return removed

    def _cycle(self, deadline: float) -> int:
        removed = 0
        for db in self.keyspace.dbs:
            if not db.expires:
                self._cursors.pop(db.index, None)
                db.avg_ttl = 0
                continue
            while True:
                checked, expired = self._step(db.index)
                removed += expired
                if checked == 0 or expired < checked * ACCEPTABLE_STALE:
                    break
                if time.perf_counter() >= deadline:
                    self.keyspace.expired_time_cap_reached_count += 1
                    return removed
        return removed

    def _step(self, index: int) -> tuple[int, int]:
        db = self.keyspace.dbs[index]
        position = self._cursors.get(index, 0)
        batch, self._cursors[index] = keys_from(db.expires, position, KEYS_PER_LOOP)
        if not batch and position:  # the pass ended: the next one starts now
            batch, self._cursors[index] = keys_from(db.expires, 0, KEYS_PER_LOOP)
        now = self.keyspace.clock()
        expires = db.expires
        expired = sampled = ttl_sum = ttl_samples = 0
        for key in batch:
            when = expires[key]  # (read from the dict just now: there)
            sampled += 1
            # As Redis: expired once past the deadline; a deadline that is now is neither.
            if when < now:
                if self.keyspace.expire_if_due(db, key):
                    expired += 1
            elif when > now:
                ttl_sum += when - now
                ttl_samples += 1
        self._sampled += sampled
        if ttl_samples:
            # Redis's running average: the new sample weighs 2%, in whole milliseconds.
            avg_ttl = ttl_sum // ttl_samples
            if db.avg_ttl == 0:
                db.avg_ttl = avg_ttl
            db.avg_ttl = (db.avg_ttl // 50) * 49 + avg_ttl // 50
        return len(batch), expired
