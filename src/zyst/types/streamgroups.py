"""Consumer groups of a stream: groups, their consumers and their pending entries (Redis's
``streamCG``, ``streamConsumer`` and ``streamNACK``), with no command parsing in them.

A group remembers the last ID it delivered (``last_id``) and how many entries it has read
(``entries_read``, Redis 7's logical read counter: :data:`INVALID_ENTRIES_READ` when it cannot
be known). Each entry delivered and not yet acknowledged is a :class:`Pending` (a NACK), held
twice under its ID: in the group's PEL and in its consumer's; both PELs (:class:`PEL`) are
ordered by ID, which is the order every command lists them in.

Invariants:

- ``group.pending[sid] is p`` exactly when ``p.consumer.pending[sid] is p``, and
  ``p.consumer`` is in ``group.consumers`` under its name (every NACK has a consumer);
- consumers and groups are listed in the order of their names' bytes (Redis keeps them in
  radix trees), which is why :func:`sorted_groups` and :meth:`ConsumerGroup.sorted_consumers`
  exist: the dicts themselves are in insertion order.

The counters that need the stream (:func:`group_lag`, :func:`estimate_entries_read`,
:func:`advance`) follow Redis 7.0's ``t_stream.c`` rules, where a deleted entry (a
*tombstone*) between the group's position and the end makes the counter unknowable.
"""

from __future__ import annotations

import secrets
from bisect import bisect_left
from collections.abc import Iterator
from typing import Final, Protocol

# ``entries_read`` of a group whose read counter is unknown (Redis's SCG_INVALID_ENTRIES_READ).
INVALID_ENTRIES_READ: Final = -1
# The largest stream ID (both halves all ones).
_MAX_ID: Final = (1 << 128) - 1


class Stream(Protocol):
    """What the counters read of a stream (:class:`zyst.types.stream.Stream` has it all)."""

    @property
    def length(self) -> int: ...

    @property
    def last_id(self) -> int: ...

    @property
    def entries_added(self) -> int: ...

    @property
    def max_deleted_id(self) -> int: ...

    def first_id(self) -> int: ...

    def range(
        self, start: int, end: int, count: int, rev: bool = False
    ) -> list[tuple[int, list[bytes]]]: ...


# A PEL's dict is keyed by ``key_of(sid)``, not by the ID itself: Python hashes an int by its
# value modulo 2**61 - 1, under which 2**64 is 8, so ``ms << 64 | seq`` hashes to ``8 * ms +
# seq`` and the IDs of a busy stream (hundreds of entries each millisecond) share a few
# thousand hash values among hundreds of thousands: an insert then cost 900 ns instead of 90.
# ``key_of`` multiplies ``ms`` by ``2**64 + _SPREAD`` instead: still one-to-one and in ID order
# (``seq`` stays below the multiplier), with ``_SPREAD`` drawn per process so that the hashes
# of IDs a client chooses cannot be made to collide.
_SPREAD: Final = secrets.randbits(62) | 1
_MS_UNIT: Final = (1 << 64) + _SPREAD


def key_of(sid: int) -> int:
    """The PEL key of stream ID ``sid`` (ordered as the IDs are)."""
    return sid + (sid >> 64) * _SPREAD


def _sid_of(key: int) -> int:
    """The stream ID whose :func:`key_of` is ``key``."""
    ms, seq = divmod(key, _MS_UNIT)
    return ms << 64 | seq


class PEL:
    """Pending entries by ID (a mapping ``int -> Pending``), iterated in ID order.

    A dict holds them under :func:`key_of` their IDs; a sorted list of those keys gives the
    order. An acknowledgement, the most frequent change, only deletes from the dict: its key
    stays in the list, *stale*, until stale keys outnumber live ones and the list is rebuilt
    without them (amortized O(1)). New deliveries come in increasing ID order and are
    appended; an older ID (a claim, a group moved back) is inserted in place.

    Invariant: ``_keys`` is sorted, without duplicates, and holds every key of ``_map``;
    ``_stale`` is how many of its keys are not keys of ``_map``.
    """

    __slots__ = ("_keys", "_map", "_stale")

    def __init__(self) -> None:
        self._map: dict[int, Pending] = {}
        self._keys: list[int] = []
        self._stale = 0

    def __len__(self) -> int:
        return len(self._map)

    def __contains__(self, sid: int) -> bool:
        return key_of(sid) in self._map

    def __getitem__(self, sid: int) -> Pending:
        return self._map[key_of(sid)]

    def get(self, sid: int) -> Pending | None:
        return self._map.get(key_of(sid))

    def get_key(self, key: int) -> Pending | None:
        """:meth:`get` by :func:`key_of` the ID; None at once when ``key`` is above every
        key held (a new delivery, the common case)."""
        keys = self._keys
        if not keys or key > keys[-1]:
            return None
        return self._map.get(key)

    def __setitem__(self, sid: int, nack: Pending) -> None:
        key = key_of(sid)
        if key in self._map:
            self._map[key] = nack
        else:
            self.add_key(key, nack)

    def add_new(self, sid: int, nack: Pending) -> None:
        """:meth:`__setitem__` for an ``sid`` the caller knows is not pending here."""
        self.add_key(key_of(sid), nack)

    def add_key(self, key: int, nack: Pending) -> None:
        """:meth:`add_new` by :func:`key_of` the ID."""
        keys = self._keys
        if not keys or key > keys[-1]:
            keys.append(key)
        else:
            at = bisect_left(keys, key)
            if at < len(keys) and keys[at] == key:
                self._stale -= 1  # a stale key comes back to life
            else:
                keys.insert(at, key)
        self._map[key] = nack

    def __delitem__(self, sid: int) -> None:
        self.del_key(key_of(sid))

    def del_key(self, key: int) -> None:
        """``del self[sid]`` by :func:`key_of` the ID."""
        del self._map[key]
        self._removed()

    def pop(self, sid: int) -> Pending | None:
        """Remove ``sid``'s NACK and return it; None if there is none."""
        return self.pop_key(key_of(sid))

    def pop_key(self, key: int) -> Pending | None:
        """:meth:`pop` by :func:`key_of` the ID."""
        nack = self._map.pop(key, None)
        if nack is not None:
            self._removed()
        return nack

    def _removed(self) -> None:
        self._stale += 1
        if self._stale > 64 and self._stale > len(self._map):
            found = self._map
            self._keys = [key for key in self._keys if key in found]
            self._stale = 0

    def irange(self, minimum: int = 0, maximum: int = (1 << 128) - 1) -> Iterator[int]:
        """The IDs from ``minimum`` to ``maximum`` (both included), in order. The PEL may lose
        entries meanwhile (not gain them)."""
        keys = self._keys
        found = self._map
        at = bisect_left(keys, key_of(minimum))
        end = len(keys)
        last = key_of(maximum)
        while at < end:
            key = keys[at]
            if key > last:
                return
            if key in found:
                yield _sid_of(key)
            at += 1

    def first_from(self, minimum: int) -> int:
        """The smallest pending ID >= ``minimum``; -1 if none."""
        for sid in self.irange(minimum):
            return sid
        return -1

    def last(self) -> int:
        """The largest pending ID; -1 if none."""
        keys = self._keys
        found = self._map
        at = len(keys) - 1
        while at >= 0:
            if keys[at] in found:
                return _sid_of(keys[at])
            at -= 1
        return -1

    def __iter__(self) -> Iterator[int]:
        return self.irange()

    def items(self) -> Iterator[tuple[int, Pending]]:
        """(ID, NACK) pairs in ID order."""
        keys = self._keys
        found = self._map
        for key in keys:
            nack = found.get(key)
            if nack is not None:
                yield _sid_of(key), nack


class Pending:
    """One delivered, unacknowledged entry (a NACK): when it was last delivered (Unix ms),
    how many times, and to whom."""

    __slots__ = ("consumer", "delivery_count", "delivery_time_ms")

    def __init__(self, consumer: Consumer, delivery_time_ms: int, delivery_count: int = 1) -> None:
        self.consumer = consumer
        self.delivery_time_ms = delivery_time_ms
        self.delivery_count = delivery_count


class Consumer:
    """A consumer of a group: its name, when it was last seen (Unix ms) and its own PEL."""

    __slots__ = ("name", "pending", "seen_time_ms")

    def __init__(self, name: bytes, seen_time_ms: int) -> None:
        self.name = name
        self.seen_time_ms = seen_time_ms
        self.pending = PEL()


class ConsumerGroup:
    """A consumer group: its position, its read counter, its PEL and its consumers."""

    __slots__ = ("consumers", "entries_read", "last_id", "pending")

    def __init__(self, last_id: int, entries_read: int = INVALID_ENTRIES_READ) -> None:
        self.last_id = last_id
        self.entries_read = entries_read
        self.pending = PEL()
        self.consumers: dict[bytes, Consumer] = {}

    def sorted_consumers(self) -> list[Consumer]:
        """The consumers in Redis's order (by name)."""
        consumers = self.consumers
        return [consumers[name] for name in sorted(consumers)]

    def create_consumer(self, name: bytes, now_ms: int) -> Consumer | None:
        """Add the consumer ``name``, seen now; None if there is one by that name."""
        if name in self.consumers:
            return None
        consumer = self.consumers[name] = Consumer(name, now_ms)
        return consumer

    def delete_consumer(self, consumer: Consumer) -> int:
        """Remove ``consumer`` and its pending entries from the group (they are dropped, not
        handed to anyone); returns how many it had."""
        pel = self.pending
        for sid in consumer.pending:
            del pel[sid]
        del self.consumers[consumer.name]
        return len(consumer.pending)

    def ack(self, sid: int) -> bool:
        """Acknowledge ``sid``: forget its NACK in both PELs. False if it was not pending."""
        key = key_of(sid)
        nack = self.pending.pop_key(key)
        if nack is None:
            return False
        nack.consumer.pending.del_key(key)
        return True

    def deliver(self, sid: int, consumer: Consumer, now_ms: int) -> Pending:
        """Record that ``sid`` was delivered to ``consumer`` now as a new message (XREADGROUP
        ``>``): a fresh NACK, or, when one exists already (the group's position was moved
        back), that NACK handed to ``consumer`` with its count reset to 1."""
        key = key_of(sid)
        nack = self.pending.get_key(key)
        if nack is None:
            nack = Pending(consumer, now_ms)
            # Pending in neither PEL (a consumer's NACKs are all in the group's).
            self.pending.add_key(key, nack)
            consumer.pending.add_key(key, nack)
            return nack
        if nack.consumer is not consumer:
            del nack.consumer.pending[sid]
            consumer.pending[sid] = nack
            nack.consumer = consumer
        nack.delivery_time_ms = now_ms
        nack.delivery_count = 1
        return nack

    def transfer(self, sid: int, nack: Pending, consumer: Consumer) -> None:
        """Make ``consumer`` the owner of ``sid``'s NACK (XCLAIM, XAUTOCLAIM)."""
        if nack.consumer is not consumer:
            del nack.consumer.pending[sid]
            consumer.pending[sid] = nack
            nack.consumer = consumer

    def force_pending(self, sid: int, consumer: Consumer, delivery_time_ms: int) -> Pending:
        """A NACK for ``sid`` that was not pending, owned by ``consumer``, delivered once
        (XCLAIM ... FORCE): the caller sets its time and count."""
        nack = Pending(consumer, delivery_time_ms)
        self.pending[sid] = nack
        consumer.pending[sid] = nack
        return nack

    def drop(self, sid: int, nack: Pending) -> None:
        """Forget ``sid``'s NACK, whose entry is no longer in the stream (XCLAIM,
        XAUTOCLAIM)."""
        del self.pending[sid]
        del nack.consumer.pending[sid]


def sorted_groups(groups: dict[bytes, ConsumerGroup] | None) -> list[tuple[bytes, ConsumerGroup]]:
    """A stream's groups as (name, group) in Redis's order (by name)."""
    if not groups:
        return []
    return [(name, groups[name]) for name in sorted(groups)]


def last_entry_id(stream: Stream) -> int:
    """The ID of the stream's last live entry (0 when empty): what XREADGROUP compares the
    group's position with, which may be below ``last_id`` after deletions."""
    found = stream.range(0, _MAX_ID, 1, True)
    return found[0][0] if found else 0


def range_has_tombstones(stream: Stream, start: int, end: int = _MAX_ID) -> bool:
    """Whether an entry with an ID in ``start..end`` may have been deleted: Redis only
    knows the largest deleted ID, so this says whether that one is in the range (and after the
    first live entry)."""
    deleted = stream.max_deleted_id
    if not stream.length or not deleted:
        return False
    if stream.first_id() > deleted:
        return False
    return start <= deleted <= end


def estimate_entries_read(stream: Stream, sid: int) -> int:
    """The logical read counter of ``sid`` (how many entries were ever added up to it), or
    :data:`INVALID_ENTRIES_READ` where it cannot be known: an ID between the first and last
    entries with deletions around, or an ID past the end."""
    added = stream.entries_added
    if not added:
        return 0
    last = stream.last_id
    if not stream.length and sid <= last:
        return added
    if sid == last:
        return added
    if sid > last:
        return INVALID_ENTRIES_READ
    first = stream.first_id()
    deleted = stream.max_deleted_id
    if not deleted or deleted < first:
        if sid < first:
            return added - stream.length
        if sid == first:
            return added - stream.length + 1
    return INVALID_ENTRIES_READ


def group_lag(stream: Stream, group: ConsumerGroup) -> int | None:
    """How many entries the group has yet to be delivered (XINFO's ``lag``), None when
    deletions make it unknowable."""
    added = stream.entries_added
    if not added:
        return 0
    read = group.entries_read
    if read != INVALID_ENTRIES_READ and not range_has_tombstones(stream, group.last_id):
        return added - read
    read = estimate_entries_read(stream, group.last_id)
    if read != INVALID_ENTRIES_READ:
        return added - read
    return None


def advance(stream: Stream, group: ConsumerGroup, sid: int) -> None:
    """Move the group's position to ``sid``, an entry it delivers now (above ``last_id``),
    counting the read: one more when the counter is known and nothing after ``sid`` was
    deleted, else estimated afresh."""
    if group.entries_read != INVALID_ENTRIES_READ and not range_has_tombstones(stream, sid):
        group.entries_read += 1
    elif stream.entries_added:
        group.entries_read = estimate_entries_read(stream, sid)
    group.last_id = sid


def copy_groups(groups: dict[bytes, ConsumerGroup] | None) -> dict[bytes, ConsumerGroup] | None:
    """A deep copy of a stream's groups (COPY): new groups, consumers and NACKs, each NACK
    shared by its group's and its consumer's PEL as in the original."""
    if groups is None:
        return None
    copied: dict[bytes, ConsumerGroup] = {}
    for name, group in groups.items():
        twin = copied[name] = ConsumerGroup(group.last_id, group.entries_read)
        consumers = twin.consumers
        for consumer_name, consumer in group.consumers.items():
            consumers[consumer_name] = Consumer(consumer_name, consumer.seen_time_ms)
        pel = twin.pending
        for sid, nack in group.pending.items():
            owner = consumers[nack.consumer.name]
            clone = Pending(owner, nack.delivery_time_ms, nack.delivery_count)
            pel[sid] = clone
            owner.pending[sid] = clone
    return copied
