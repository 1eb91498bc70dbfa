"""The one "key modified" signal (Redis's ``signalModifiedKey`` and ``touchWatchedKey``): every
change to a key is reported here, once, and this module tells whoever listens. Today that is
WATCH, client-side caching (:mod:`zyst.tracking`: invalidations) and keyspace events.

Who raises it:

- the dispatcher (:func:`zyst.commands.table.call`), after a write command that changed
  something: for the keys its declaration marks as written (key specs that are not ``RO``), or
  for the keys the handler named in :attr:`zyst.client.Client.touched` when it knows better
  (DEL of some missing keys, LMPOP's one popped key, MOVE's two databases);
- the keyspace, when a key expires (lazily or by the active cycle) or is evicted;
- FLUSHDB, FLUSHALL and SWAPDB, for whole databases (:meth:`KeySignal.database_replaced`).

It costs nothing when nobody listens: :attr:`KeySignal.listening` is a plain field the raisers
test first, true only while some client watches a key, keyspace events are on, or client
tracking is active (:attr:`zyst.tracking.Tracking.active`).

Invariant: ``watched`` maps ``(db index, key)`` to the WATCH entries of the clients watching it,
and a client's ``watching`` list holds exactly its entries there; both are emptied together
(:meth:`KeySignal.unwatch_all`), so a disconnected client leaves nothing behind.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zyst.keyevents import KEY_MISS, KeyEvents
from zyst.tracking import Tracking

if TYPE_CHECKING:
    from zyst.client import Client
    from zyst.keyspace import Database, Keyspace


class Watch:
    """One key one client watches. ``stale`` is Redis's ``expired`` flag: the key had expired
    (but was still stored) when WATCH ran, so its removal is no change."""

    __slots__ = ("client", "db_index", "key", "stale")

    def __init__(self, client: Client, db_index: int, key: bytes, stale: bool) -> None:
        self.client = client
        self.db_index = db_index
        self.key = key
        self.stale = stale


class KeySignal:
    """The signal and its listeners (one per server, on the keyspace)."""

    __slots__ = ("events", "keyspace", "listening", "tracking", "watched")

    def __init__(self, keyspace: Keyspace) -> None:
        self.keyspace = keyspace
        self.watched: dict[tuple[int, bytes], list[Watch]] = {}
        # Keyspace notifications (notify-keyspace-events), published from here.
        self.events = KeyEvents()
        # Client-side caching: the clients told when keys they may cache change.
        self.tracking = Tracking(self.update_listening)
        self.listening = False

    def update_listening(self) -> None:
        """Recompute :attr:`listening` after a listener came or went."""
        self.listening = bool(self.watched) or self.events.enabled or self.tracking.active

    def set_event_flags(self, flags: int) -> None:
        """Publish the keyspace events of the classes in ``flags`` from now on."""
        self.events.flags = flags
        self.update_listening()

    # -- raising it ----------------------------------------------------------------------------
    def written(
        self,
        name: bytes,
        argv: list[bytes],
        keys: list[tuple[int, bytes]],
        rewritten: list[list[bytes]] | None,
    ) -> None:
        """Command ``name`` (lower case, ``argv`` as sent, propagated as ``rewritten`` if not
        itself) changed ``keys`` ((database index, key) pairs, in its key specs' order)."""
        if self.watched:
            for db_index, key in keys:
                self.modified(db_index, key)
        tracking = self.tracking
        if tracking.active:
            by = tracking.current
            for _, key in keys:
                tracking.invalidate(key, by)
        events = self.events
        if events.enabled:
            events.written(name, argv, keys, self._exists, rewritten)

    def expired(self, db_index: int, key: bytes) -> None:
        """``key`` expired (lazily or by the active cycle) and is gone."""
        self.events.expired(db_index, key)
        self.modified(db_index, key)
        if self.tracking.active:
            self.tracking.invalidate(key, None)

    def evicted(self, db_index: int, key: bytes) -> None:
        """``key`` was evicted (``maxmemory``) and is gone."""
        self.events.evicted(db_index, key)
        self.modified(db_index, key)
        if self.tracking.active:
            self.tracking.invalidate(key, None)

    def flushed(self) -> None:
        """FLUSHDB or FLUSHALL ran (once per command, after :meth:`database_replaced` for each
        database it empties): tracking clients learn that every key is invalid."""
        if self.tracking.active:
            self.tracking.flushed()

    def missed(self, db_index: int, key: bytes) -> None:
        """A read command looked ``key`` up and found nothing (the ``keymiss`` event)."""
        self.events.emit(KEY_MISS, b"keymiss", db_index, key)

    def _exists(self, db_index: int, key: bytes) -> bool:
        return key in self.keyspace.dbs[db_index].data

    def modified(self, db_index: int, key: bytes) -> None:
        """``key`` of database ``db_index`` was changed, created, deleted or expired."""
        entries = self.watched.get((db_index, key))
        if not entries:
            return
        data = self.keyspace.dbs[db_index].data
        for entry in list(entries):
            if entry.stale and key not in data:
                # It was already expired when watched: its removal changes nothing logically.
                entry.stale = False
                continue
            client = entry.client
            client.watch_dirty = True
            # A dirty client's EXEC fails whatever happens next: stop following its keys.
            self.unwatch_all(client)

    def database_replaced(self, emptied: Database, replaced_with: Database | None) -> None:
        """Every key of ``emptied`` goes (FLUSHDB, FLUSHALL), or is replaced by the keys of
        ``replaced_with`` (SWAPDB): a watched key changes if it existed on either side. Called
        before the change, as Redis's ``touchAllWatchedKeysInDb``."""
        index = emptied.index
        now = self.keyspace.clock()
        for (db_index, key), entries in list(self.watched.items()):
            if db_index != index:
                continue
            in_emptied = key in emptied.data
            in_new = False
            stale_after = False
            if replaced_with is not None and key in replaced_with.data:
                in_new = True
                stale_after = _is_stale(replaced_with, key, now)
            if not (in_emptied or in_new):
                continue
            for entry in list(entries):
                if entry.stale:
                    if not in_new:
                        entry.stale = False  # an expired key deleted: no logical change
                        continue
                    if stale_after:
                        continue  # expired before, expired after
                elif not in_emptied and stale_after:
                    entry.stale = True  # nothing there before, an expired key now
                    continue
                entry.client.watch_dirty = True

    # -- WATCH's bookkeeping -------------------------------------------------------------------
    def watch(self, client: Client, db: Database, key: bytes) -> None:
        """Follow ``key`` of ``db`` for ``client`` (once, however often it is named)."""
        watching = client.watching
        for entry in watching:
            if entry.db_index == db.index and entry.key == key:
                return
        entry = Watch(client, db.index, key, _is_stale(db, key, self.keyspace.clock()))
        watching.append(entry)
        self.watched.setdefault((db.index, key), []).append(entry)
        self.listening = True

    def unwatch_all(self, client: Client) -> None:
        """Forget every key ``client`` watches (UNWATCH, EXEC, DISCARD, disconnection)."""
        watching = client.watching
        if not watching:
            return
        watched = self.watched
        for entry in watching:
            slot = (entry.db_index, entry.key)
            entries = watched.get(slot)
            if entries is not None:
                entries.remove(entry)
                if not entries:
                    del watched[slot]
        client.watching = []
        self.update_listening()

    def any_expired(self, client: Client) -> bool:
        """Whether a key ``client`` watches has expired since it was watched (EXEC then fails,
        as Redis's ``isWatchedKeyExpired``)."""
        now = self.keyspace.clock()
        dbs = self.keyspace.dbs
        return any(
            not entry.stale and _is_stale(dbs[entry.db_index], entry.key, now)
            for entry in client.watching
        )


def _is_stale(db: Database, key: bytes, now_ms: int) -> bool:
    """Whether ``key`` is stored but past its deadline (Redis's ``keyIsExpired``)."""
    return key in db.data and db.is_expired(key, now_ms)
