"""Lazy and active expiry, driven by an injectable clock (no sleeps)."""

from __future__ import annotations

from zyst.expiry import ActiveExpirer
from zyst.keyspace import Keyspace


class FakeClock:
    def __init__(self, now: int = 1_000_000) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def test_lazy_expiry_on_access_reports_the_key() -> None:
    clock = FakeClock()
    ks = Keyspace(2, clock=clock)
    expired: list[tuple[int, bytes]] = []
    ks.on_expired = lambda db, key: expired.append((db, key))
    db = ks.dbs[1]
    db.set_value(b"k", b"v")
    db.set_expire(b"k", clock.now + 100)
    assert db.lookup(b"k") == b"v"
    clock.now += 99
    assert db.lookup(b"k") == b"v"
    clock.now += 1
    assert db.lookup(b"k") is None
    assert b"k" not in db.data and b"k" not in db.expires
    assert expired == [(1, b"k")]
    assert ks.expired_keys == 1


def test_set_value_drops_ttl_unless_kept() -> None:
    clock = FakeClock()
    db = Keyspace(1, clock=clock).dbs[0]
    db.set_value(b"k", b"v")
    db.set_expire(b"k", clock.now + 10)
    db.set_value(b"k", b"w", keep_ttl=True)
    assert db.get_expire(b"k") == clock.now + 10
    db.set_value(b"k", b"x")
    assert db.get_expire(b"k") is None


def test_active_cycle_removes_keys_nobody_reads() -> None:
    clock = FakeClock()
    ks = Keyspace(1, clock=clock)
    db = ks.dbs[0]
    for n in range(1000):
        db.set_value(b"gone:%d" % n, b"v")
        db.set_expire(b"gone:%d" % n, clock.now + 10)
    for n in range(50):
        db.set_value(b"stays:%d" % n, b"v")
        db.set_expire(b"stays:%d" % n, clock.now + 1_000_000)
    db.set_value(b"plain", b"v")
    clock.now += 10
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
    clock = FakeClock()
    ks = Keyspace(1, clock=clock)
    db = ks.dbs[0]
    expirer = ActiveExpirer(ks)
    db.set_value(b"first", b"v")
    db.set_expire(b"first", clock.now + 1_000)
    expirer.run()
    db.set_value(b"late", b"v")
    db.set_expire(b"late", clock.now + 1)
    clock.now += 5
    for _ in range(5):
        expirer.run()
    assert db.lookup(b"first") == b"v"
    assert b"late" not in db.data
