"""Lazy and active expiry, driven by an injectable clock (no sleeps)."""

from __future__ import annotations

from collections.abc import Iterable

from zyst.expiry import ActiveExpirer
from zyst.keyspace import Database, Keyspace


class FakeClock:
    def __init__(self, now: int = 1_000_000) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def new_keyspace(dbs: int = 1) -> tuple[FakeClock, Keyspace]:
    clock = FakeClock()
    return clock, Keyspace(dbs, clock=clock)


def record_expired(ks: Keyspace) -> list[tuple[int, bytes]]:
    """The (database, key) pairs ``ks`` reports expired from now on, in order."""
    expired: list[tuple[int, bytes]] = []
    ks.on_expired = lambda db, key: expired.append((db, key))
    return expired


def set_volatile(db: Database, keys: Iterable[bytes], deadline: int) -> None:
    """Set each of ``keys`` to ``v``, to expire at ``deadline`` (ms)."""
    for key in keys:
        db.set_value(key, b"v")
        db.set_expire(key, deadline)


def numbered(prefix: bytes, count: int) -> list[bytes]:
    return [prefix + b"%d" % n for n in range(count)]


def test_lazy_expiry_on_access_reports_the_key() -> None:
    clock, ks = new_keyspace(2)
    expired = record_expired(ks)
    db = ks.dbs[1]
    set_volatile(db, [b"k"], clock.now + 100)
    assert db.lookup(b"k") == b"v"
    clock.now += 100  # at the deadline: not past it yet
    assert db.lookup(b"k") == b"v"
    clock.now += 1
    assert db.lookup(b"k") is None
    assert b"k" not in db.data and b"k" not in db.expires
    assert expired == [(1, b"k")]
    assert ks.expired_keys == 1


def test_set_value_drops_ttl_unless_kept() -> None:
    clock, ks = new_keyspace()
    db = ks.dbs[0]
    set_volatile(db, [b"k"], clock.now + 10)
    db.set_value(b"k", b"w", keep_ttl=True)
    assert db.get_expire(b"k") == clock.now + 10
    db.set_value(b"k", b"x")
    assert db.get_expire(b"k") is None


def test_active_cycle_removes_keys_nobody_reads() -> None:
    clock, ks = new_keyspace()
    db = ks.dbs[0]
    set_volatile(db, numbered(b"gone:", 1000), clock.now + 10)
    set_volatile(db, numbered(b"stays:", 50), clock.now + 1_000_000)
    db.set_value(b"plain", b"v")
    clock.now += 11
    expirer = ActiveExpirer(ks)
    removed = 0
    for _ in range(100):
        removed += expirer.run(time_budget=1.0)
        if len(db.expires) == 50:
            break
    assert removed == 1000
    assert len(db) == 51
    assert all(key.startswith(b"stays:") for key in db.expires)


def test_active_cycle_sees_keys_added_after_a_pass_started() -> None:
    clock, ks = new_keyspace()
    db = ks.dbs[0]
    expirer = ActiveExpirer(ks)
    set_volatile(db, [b"first"], clock.now + 1_000)
    expirer.run()
    set_volatile(db, [b"late"], clock.now + 1)
    clock.now += 5
    for _ in range(5):
        expirer.run()
    assert db.lookup(b"first") == b"v"
    assert b"late" not in db.data


def test_active_cycle_estimates_the_average_ttl_as_redis() -> None:
    """Redis's running average: the first sample is taken whole, then each new one weighs 2%
    (whole milliseconds); a database without TTLs goes back to 0."""
    clock, ks = new_keyspace(2)
    db = ks.dbs[0]
    set_volatile(db, numbered(b"k", 10), clock.now + 10_000)
    expirer = ActiveExpirer(ks)
    expirer.run()
    assert db.avg_ttl == (10_000 // 50) * 49 + 10_000 // 50 == 10_000
    clock.now += 5_000
    expirer.run()
    assert db.avg_ttl == (10_000 // 50) * 49 + 5_000 // 50 == 9_900
    assert ks.dbs[1].avg_ttl == 0
    db.flush()
    assert db.avg_ttl == 0
    set_volatile(db, [b"k"], clock.now + 1000)
    expirer.run()
    assert db.avg_ttl == 1000
    db.persist(b"k")
    expirer.run()
    assert db.avg_ttl == 0


def test_active_cycle_estimates_the_stale_share_as_redis() -> None:
    """Each cycle's share of expired keys among those looked at weighs 5% of the estimate."""
    clock, ks = new_keyspace()
    db = ks.dbs[0]
    keys = numbered(b"k", 5)
    set_volatile(db, keys[:1], clock.now + 10)
    set_volatile(db, keys[1:], clock.now + 1_000_000)
    clock.now += 11  # past the first key's deadline
    expirer = ActiveExpirer(ks)
    assert expirer.run() == 1
    assert ks.expired_stale_perc == 0.2 * 0.05
    expirer.run()  # nothing expired this time: the estimate decays
    assert ks.expired_stale_perc == 0.2 * 0.05 * 0.95
    ks.reset_stats()
    assert ks.expired_stale_perc == 0.0


def test_active_cycle_counts_the_runs_that_hit_their_time_budget() -> None:
    clock, ks = new_keyspace()
    db = ks.dbs[0]
    set_volatile(db, numbered(b"k", 200), clock.now + 10)
    clock.now += 11
    expirer = ActiveExpirer(ks)
    expirer.run(time_budget=0.0)
    assert ks.expired_time_cap_reached_count == 1
    while db.expires:
        expirer.run()
    count = ks.expired_time_cap_reached_count
    expirer.run(time_budget=0.0)  # nothing left to expire: no reason to run out of time
    assert ks.expired_time_cap_reached_count == count


def test_read_lookups_count_hits_and_misses_write_lookups_do_not() -> None:
    clock, ks = new_keyspace(2)
    db = ks.dbs[1]
    db.set_value(b"s", b"v")
    set_volatile(db, [b"gone"], clock.now + 1)
    clock.now += 2
    assert db.lookup_read(b"s") == b"v"
    assert db.lookup_read(b"gone") is None
    assert db.get_string(b"nosuch") is None
    assert db.get_typed(b"s", bytes) == b"v"
    assert (ks.hits, ks.misses) == (2, 2)
    db.lookup(b"s")
    db.get_string_for_write(b"s")
    db.get_typed_for_write(b"nosuch", set)
    db.get_or_create(b"l", list)
    db.delete(b"nosuch")
    assert (ks.hits, ks.misses) == (2, 2)
    ks.dbs[0].lookup_read(b"x")
    assert (ks.hits, ks.misses) == (2, 3)
    ks.reset_stats()
    assert (ks.hits, ks.misses, ks.expired_keys) == (0, 0, 0)


def test_overwriting_an_expired_key_expires_it_first() -> None:
    clock, ks = new_keyspace()
    expired = record_expired(ks)
    db = ks.dbs[0]
    set_volatile(db, [b"k"], clock.now + 10)
    clock.now += 11
    db.set_value(b"k", b"w", keep_ttl=True)  # nothing to keep: the old deadline went with it
    assert expired == [(0, b"k")]
    assert db.get_expire(b"k") is None
    assert db.lookup(b"k") == b"w"


def test_nothing_expires_while_loading() -> None:
    clock, ks = new_keyspace()
    expired = record_expired(ks)
    db = ks.dbs[0]
    set_volatile(db, [b"read", b"overwritten"], clock.now - 1)
    ks.loading = True
    assert db.lookup(b"read") == b"v"
    db.set_value(b"overwritten", b"w", keep_ttl=True)
    assert db.get_expire(b"overwritten") == clock.now - 1
    assert expired == []
    ks.loading = False
    assert db.lookup(b"read") is None
    assert db.lookup(b"overwritten") is None
    assert expired == [(0, b"read"), (0, b"overwritten")]
