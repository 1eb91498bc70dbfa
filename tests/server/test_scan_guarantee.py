"""SCAN's guarantee over a real socket: while other writes add, delete, rename, move and
replace keys and elements between the calls of an iteration (seeded, enough churn for the key
log to be compacted many times and collections to grow and shrink several times over), every
key or element present from the first call to the last is returned, and the iteration ends
within a bound. The writes go through the same connection between calls, so "present
throughout" is exactly known.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
import redis


def iterate(
    call: Callable[[int, int], tuple[int, list[bytes]]],
    between: Callable[[int], None],
    rng: random.Random,
    max_calls: int,
) -> list[bytes]:
    """A full iteration: ``call(cursor, count)`` until the cursor is 0, ``between(step)`` after
    each call; everything returned, in order."""
    seen: list[bytes] = []
    cursor = 0
    for step in range(max_calls):
        cursor, found = call(cursor, rng.randint(1, 20))
        seen += found
        if cursor == 0:
            return seen
        between(step)
    raise AssertionError(f"the iteration did not end within {max_calls} calls")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_scan_returns_every_key_present_throughout(r: redis.Redis, seed: int) -> None:
    rng = random.Random(seed)
    # Keys never deleted: "stable" ones from the start, "durable" ones added between calls
    # (present throughout the iterations after); "churn" ones come and go.
    stable = [b"stable:%d" % n for n in range(1500)]
    churn = {b"churn:%d" % n for n in range(1500)}
    durable: set[bytes] = set()
    serial = [len(churn)]
    pipe = r.pipeline(transaction=False)
    # Stable and churn keys mixed, so that compactions move the places of stable ones.
    for key in rng.sample(stable + sorted(churn), len(stable) + len(churn)):
        pipe.set(key, key[:1])
    pipe.execute()

    def new_name() -> bytes:
        serial[0] += 1
        # Some names come back: deleted keys added again, logged twice.
        number = serial[0] if rng.random() < 0.8 else rng.randrange(serial[0])
        return b"churn:%d" % number

    def durable_name() -> bytes:
        serial[0] += 1
        return b"durable:%d" % serial[0]

    # Keys present since the iteration began: every one must be returned.
    throughout: set[bytes] = set()

    def between(step: int) -> None:
        pipe = r.pipeline(transaction=False)
        heavy = step % 15 == 14
        size = len(churn) * 3 // 4 if heavy else min(len(churn), rng.randint(0, 60))
        victims = rng.sample(sorted(churn), size)
        for key in victims:
            pipe.delete(key)
            churn.discard(key)
        throughout.difference_update(victims)
        for _ in range(rng.randint(0, 80)):
            if rng.random() < 0.2:
                key = durable_name()
                durable.add(key)
            else:
                key = new_name()
                churn.add(key)
            how = rng.randrange(3)
            if how == 0:
                pipe.set(key, b"c")
            else:  # a collection created by its first element (two ways in the keyspace)
                pipe.delete(key)
                if how == 1:
                    pipe.sadd(key, b"m")
                else:
                    pipe.zadd(key, {b"m": 1})
                throughout.discard(key)
        # Keys that come to be at a name by RENAME, COPY or MOVE.
        for key in rng.sample(sorted(churn), min(len(churn), 10)):
            kind = rng.randrange(3)
            if kind == 2:  # to database 1 and back under the same name
                pipe.move(key, 1)
                pipe.execute_command("SELECT", 1)
                pipe.move(key, 0)
                pipe.execute_command("SELECT", 0)
                throughout.discard(key)
                continue
            target = durable_name()
            if kind == 0:
                pipe.rename(key, target)
                churn.discard(key)
                throughout.discard(key)
            else:
                pipe.copy(key, target)
            durable.add(target)
        # Writes to keys present throughout: overwritten, given a TTL and made persistent.
        for key in rng.sample(stable, 20):
            pipe.set(key, b"again")
            pipe.expire(key, 1000)
            pipe.persist(key)
        pipe.execute()

    def call(cursor: int, count: int) -> tuple[int, list[bytes]]:
        cursor, keys = r.scan(cursor, count=count)
        return int(cursor), keys

    for iteration in range(3):  # over the same log, which the writes keep up to date
        throughout.clear()
        throughout.update(stable, churn, durable)
        seen = iterate(call, between, rng, max_calls=len(throughout) + 100)
        missing = throughout - set(seen)
        assert not missing, f"{len(missing)} keys present throughout were not returned"
        assert set(r.keys("*")) == set(stable) | churn | durable  # the mirror is right
        if iteration > 0:
            assert len(throughout - set(stable)) > 100  # keys added since the log was made


def test_scan_ends_while_keys_are_added_faster_than_it_reads(r: redis.Redis) -> None:
    stable = [b"stable:%d" % n for n in range(300)]
    r.mset(dict.fromkeys(stable, b"s"))
    serial = [0]

    def flood(step: int) -> None:
        pipe = r.pipeline(transaction=False)
        for _ in range(60):
            serial[0] += 1
            pipe.set(b"new:%d" % serial[0], b"n")
        pipe.execute()

    def call(cursor: int, count: int) -> tuple[int, list[bytes]]:
        cursor, keys = r.scan(cursor, count=count)
        return int(cursor), keys

    seen = iterate(call, flood, random.Random(7), max_calls=len(stable) + 10)
    assert set(stable) <= set(seen)


# -- HSCAN, SSCAN, ZSCAN ------------------------------------------------------------------------
class Collection:
    """One large collection at ``key`` of a kind, and the writes that churn it."""

    def __init__(self, r: redis.Redis, kind: str, key: bytes) -> None:
        self.r = r
        self.kind = kind
        self.key = key

    def add(self, pipe: redis.client.Pipeline, members: list[bytes]) -> None:
        if not members:
            return
        if self.kind == "hash":
            pipe.hset(self.key, mapping={m: b"v:" + m for m in members})
        elif self.kind == "set":
            pipe.sadd(self.key, *members)
        else:
            pipe.zadd(self.key, {m: len(m) for m in members})

    def remove(self, pipe: redis.client.Pipeline, members: list[bytes]) -> None:
        if not members:
            return
        if self.kind == "hash":
            pipe.hdel(self.key, *members)
        elif self.kind == "set":
            pipe.srem(self.key, *members)
        else:
            pipe.zrem(self.key, *members)

    def touch(self, pipe: redis.client.Pipeline, members: list[bytes]) -> None:
        """Writes to members present throughout that leave them present."""
        for member in members:
            if self.kind == "hash":
                pipe.hset(self.key, member, b"v:" + member)
            elif self.kind == "set":
                pipe.sadd(self.key, member)
            else:
                pipe.zincrby(self.key, 0.5, member)

    def scan(self, cursor: int, count: int) -> tuple[int, list[bytes]]:
        if self.kind == "hash":
            next_cursor, mapping = self.r.hscan(self.key, cursor, count=count)
            return int(next_cursor), [part for pair in mapping.items() for part in pair]
        if self.kind == "set":
            next_cursor, members = self.r.sscan(self.key, cursor, count=count)
            return int(next_cursor), members
        next_cursor, pairs = self.r.zscan(self.key, cursor, count=count)
        return int(next_cursor), [part for m, s in pairs for part in (m, repr(s).encode())]


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("kind", ["hash", "set", "zset"])
def test_collection_scans_return_every_element_present_throughout(
    r: redis.Redis, kind: str, seed: int
) -> None:
    rng = random.Random(seed)
    collection = Collection(r, kind, b"big")
    # Elements never removed: "stable" ones from the start, "durable" ones added between calls
    # (present throughout the iterations after); "churn" ones come and go.
    stable = [b"stable:%d" % n for n in range(1000)]
    churn = {b"churn:%d" % n for n in range(2000)}
    durable: set[bytes] = set()
    serial = [len(churn)]
    pipe = r.pipeline(transaction=False)
    collection.add(pipe, stable + sorted(churn))
    # A second large collection iterated alongside, and its cursors mixed in.
    other = Collection(r, kind, b"other")
    other.add(pipe, [b"o:%d" % n for n in range(1500)])
    pipe.execute()
    other_cursor = [0]
    throughout: set[bytes] = set()

    def between(step: int) -> None:
        pipe = r.pipeline(transaction=False)
        phase = step % 20
        if phase == 5:  # shrink to a tenth of the churn: far fewer buckets
            victims = rng.sample(sorted(churn), len(churn) * 9 // 10)
        else:
            victims = rng.sample(sorted(churn), min(len(churn), rng.randint(0, 40)))
        collection.remove(pipe, victims)
        churn.difference_update(victims)
        throughout.difference_update(victims)
        growth = 3000 if phase == 12 else rng.randint(0, 50)  # and grow several times over
        added = []
        for _ in range(growth):
            serial[0] += 1
            if rng.random() < 0.1:
                durable.add(b"durable:%d" % serial[0])
                added.append(b"durable:%d" % serial[0])
            else:
                added.append(
                    b"churn:%d" % (serial[0] if rng.random() < 0.9 else rng.randrange(5000))
                )
                churn.add(added[-1])
        collection.add(pipe, added)
        collection.touch(pipe, rng.sample(stable, 10))
        if phase == 9 and step < 40:  # another object at the key, holding the same elements
            pipe.copy(b"big", b"twin", replace=True)
            pipe.rename(b"twin", b"big")
        pipe.execute()
        other_cursor[0] = other.scan(other_cursor[0], 7)[0]

    for iteration in range(3):  # one after the other, on the collection churned so far
        throughout.clear()
        throughout.update(stable, churn, durable)
        seen = iterate(collection.scan, between, rng, max_calls=20_000)
        names = seen if kind == "set" else seen[::2]
        missing = throughout - set(names)
        assert not missing, f"{len(missing)} elements present throughout were not returned"
        if kind == "hash":
            values = dict(zip(seen[::2], seen[1::2], strict=True))
            assert all(values[member] == b"v:" + member for member in throughout)
        if iteration > 0:
            assert len(durable & throughout) > 100  # added before, present throughout


# -- databases ----------------------------------------------------------------------------------
def all_keys(r: redis.Redis, count: int = 7) -> set[bytes]:
    return set(r.scan_iter(count=count))


def test_scan_follows_swapdb_flushdb_and_select(r: redis.Redis) -> None:
    r.mset({b"zero:%d" % n: b"0" for n in range(100)})
    r.execute_command("SELECT", 1)  # redis-py's own connection pool has one connection here
    r.mset({b"one:%d" % n: b"1" for n in range(150)})
    assert all_keys(r) == {b"one:%d" % n for n in range(150)}
    r.execute_command("SELECT", 0)
    assert all_keys(r) == {b"zero:%d" % n for n in range(100)}
    # A cursor carried into another database (or one from before FLUSHDB) means nothing
    # there, but it is no error and its iteration ends.
    cursor, _ = r.scan(0, count=5)
    r.execute_command("SELECT", 1)
    assert int(r.scan(cursor, count=5)[0]) >= 0
    # The logs move with the keys: new keys in either database are still found after.
    r.swapdb(0, 1)
    r.set(b"new-in-1", b"x")
    r.execute_command("SELECT", 0)
    r.set(b"new-in-0", b"x")
    assert all_keys(r) == {b"one:%d" % n for n in range(150)} | {b"new-in-0"}
    r.execute_command("SELECT", 1)
    assert all_keys(r) == {b"zero:%d" % n for n in range(100)} | {b"new-in-1"}
    r.flushdb()
    assert all_keys(r) == set()
    assert r.scan(cursor) == (0, [])
    r.set(b"after-flush", b"x")
    assert all_keys(r) == {b"after-flush"}
    r.execute_command("SELECT", 0)
