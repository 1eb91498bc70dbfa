"""zyst.types.streamgroups without a server: the two PELs of a group kept in step, consumers
listed by name, deep copies, and Redis 7.0's read counters (entries-read, lag) around
deletions."""

from __future__ import annotations

import random

from zyst.types.stream import Stream
from zyst.types.streamgroups import (
    INVALID_ENTRIES_READ,
    PEL,
    Consumer,
    ConsumerGroup,
    Pending,
    advance,
    copy_groups,
    estimate_entries_read,
    group_lag,
    key_of,
    range_has_tombstones,
    sorted_groups,
)


def sid(ms: int, seq: int = 0) -> int:
    return ms << 64 | seq


def consistent(group: ConsumerGroup) -> None:
    """Every NACK in the group's PEL is its consumer's, and nothing else is."""
    owned = {}
    for consumer in group.consumers.values():
        for key, nack in consumer.pending.items():
            assert nack.consumer is consumer
            owned[key] = nack
    assert owned == dict(group.pending.items())
    assert list(group.pending) == sorted(group.pending)


def test_deliver_ack_transfer_and_delete_keep_both_pels_in_step() -> None:
    group = ConsumerGroup(0)
    alice = group.create_consumer(b"alice", 1)
    bob = group.create_consumer(b"bob", 2)
    assert alice is not None and bob is not None
    assert group.create_consumer(b"alice", 3) is None
    for ms in (3, 1, 2):
        group.deliver(sid(ms), alice, 10)
    nack = group.deliver(sid(2), bob, 20)  # delivered again to another: handed over, count 1
    assert (nack.consumer, nack.delivery_count, nack.delivery_time_ms) == (bob, 1, 20)
    consistent(group)
    assert list(alice.pending) == [sid(1), sid(3)]
    group.transfer(sid(3), group.pending[sid(3)], bob)
    forced = group.force_pending(sid(9), alice, 30)
    assert forced.delivery_count == 1
    consistent(group)
    assert group.ack(sid(2)) and not group.ack(sid(2))
    group.drop(sid(9), forced)
    consistent(group)
    assert group.delete_consumer(bob) == 1  # sid(3)
    consistent(group)
    assert list(group.pending) == [sid(1)]
    assert [c.name for c in group.sorted_consumers()] == [b"alice"]


def test_names_are_listed_in_byte_order() -> None:
    group = ConsumerGroup(0)
    for name in (b"b", b"a\xff", b"A", b"a"):
        group.create_consumer(name, 0)
    assert [c.name for c in group.sorted_consumers()] == [b"A", b"a", b"a\xff", b"b"]
    groups = {b"z": ConsumerGroup(0), b"m": ConsumerGroup(0)}
    assert [name for name, _ in sorted_groups(groups)] == [b"m", b"z"]
    assert sorted_groups(None) == []


def test_copies_are_deep_and_share_each_nack_between_its_two_pels() -> None:
    group = ConsumerGroup(sid(5), 4)
    alice = group.create_consumer(b"alice", 7)
    assert alice is not None
    group.deliver(sid(1), alice, 8)
    copied = copy_groups({b"g": group})
    assert copied is not None and copy_groups(None) is None
    twin = copied[b"g"]
    assert (twin.last_id, twin.entries_read) == (sid(5), 4)
    consistent(twin)
    twin.ack(sid(1))
    assert sid(1) in group.pending and sid(1) in alice.pending


def filled(count: int) -> Stream:
    stream = Stream()
    for ms in range(1, count + 1):
        stream.add(sid(ms), [b"f", b"v"])
    return stream


def test_read_counters_without_deletions() -> None:
    stream = filled(5)
    group = ConsumerGroup(0, 0)
    assert group_lag(stream, group) == 5
    advance(stream, group, sid(1))
    advance(stream, group, sid(2))
    assert (group.entries_read, group_lag(stream, group)) == (2, 3)
    assert estimate_entries_read(stream, sid(5)) == 5  # the last ID
    assert estimate_entries_read(stream, sid(1)) == 1  # the first entry
    assert estimate_entries_read(stream, 0) == 0  # before the first
    assert estimate_entries_read(stream, sid(9)) == INVALID_ENTRIES_READ  # the future
    assert estimate_entries_read(Stream(), sid(3)) == 0


def test_a_deletion_ahead_makes_the_counter_unknown() -> None:
    stream = filled(5)
    stream.delete(sid(4))
    stream.max_deleted_id = sid(4)
    assert range_has_tombstones(stream, sid(2))
    assert not range_has_tombstones(stream, sid(5))
    group = ConsumerGroup(sid(1), INVALID_ENTRIES_READ)
    assert group_lag(stream, group) is None  # between the first and last: unknowable
    advance(stream, group, sid(2))  # a deletion ahead: estimated afresh, still unknown
    assert group.entries_read == INVALID_ENTRIES_READ
    advance(stream, group, sid(5))  # the last ID: known again
    assert (group.entries_read, group_lag(stream, group)) == (5, 0)


def test_the_pel_is_an_ordered_mapping_through_many_removals() -> None:
    """Against a plain dict, over random inserts (mostly increasing, some older), removals
    and re-inserts: enough removals for the list of IDs to be rebuilt many times. The IDs
    span millisecond halves near 2**64 and sequence halves of both sizes, as the PEL keys
    them (key_of) differently from the IDs."""
    rng = random.Random(20)
    pel = PEL()
    model: dict[int, Pending] = {}
    owner = Consumer(b"c", 0)
    top = 0

    def as_id(n: int) -> int:  # both halves exercised, near 0 and near 2**64
        ms = (1 << 64) - 10**6 + n // 4 if n % 7 else n // 4
        return ms << 64 | ((1 << 64) - 4 + n % 4 if n % 3 else n % 4)

    for step in range(20_000):
        roll = rng.random()
        if roll < 0.55:
            top += rng.randint(1, 3)
            sid = top if rng.random() < 0.8 else rng.randint(0, top)
            sid = as_id(sid)
            nack = Pending(owner, step)
            pel[sid] = model[sid] = nack
        elif roll < 0.9 and model:
            sid = rng.choice(list(model)) if rng.random() < 0.9 else as_id(rng.randint(0, top))
            assert pel.pop(sid) is model.pop(sid, None)
        elif model:
            sid = rng.choice(list(model))
            del pel[sid]
            del model[sid]
        # Stale IDs are dropped once they outnumber the live ones (memory stays bounded).
        assert len(pel._keys) <= 2 * len(pel) + 66
        if step % 997 == 0:
            low, high = sorted((as_id(rng.randint(0, top)), as_id(rng.randint(0, top))))
            assert list(pel.irange(low, high)) == sorted(s for s in model if low <= s <= high)
    assert list(pel.items()) == sorted(model.items())
    assert len(pel) == len(model) and list(pel) == sorted(model)
    assert pel.last() == max(model) and pel.first_from(0) == min(model)
    assert pel.first_from(max(model) + 1) == -1 and PEL().last() == -1
    for sid in model:
        assert sid in pel and pel[sid] is model[sid] and pel.get(sid) is model[sid]


def test_the_ids_of_a_busy_stream_hash_apart_in_a_pel() -> None:
    """Hundreds of entries a millisecond: as plain ints, ``ms << 64 | seq`` hash to ``8 * ms +
    seq`` (2**64 is 8 modulo 2**61 - 1), 300,000 such IDs to about 8,000 values, and every
    PEL insert walked a chain of collisions. Their PEL keys hash apart, in ID order."""
    ids = [(1_764_580_000_000 + n // 300) << 64 | n % 300 for n in range(300_000)]
    assert len({hash(sid) for sid in ids}) < 10_000  # the trap itself
    keys = [key_of(sid) for sid in ids]
    assert len({hash(key) for key in keys}) == len(ids)
    assert keys == sorted(keys)
