"""Client-side caching (Redis's ``tracking.c``): which clients may hold which keys in a cache
of their own, and the invalidation messages that tell them a key changed.

A tracking client (``CLIENT TRACKING ON``) has a :class:`TrackingState` in
:attr:`zyst.client.Client.tracking`. In the default mode every key it reads is remembered in
:attr:`Tracking.keys` (key name → ids of the clients that read it: the databases are not told
apart, as in Redis); when such a key changes, expires or is evicted from the table, each of
those clients is told once and the key is forgotten until it is read again. In BCAST mode a
client reads nothing into the table: it registers prefixes (:attr:`Tracking.prefixes`, the
empty prefix matching every key), and the keys changed under a prefix are collected and sent
to its clients together once per turn of the event loop.

A message goes to the client itself as a RESP3 push (``>2 invalidate [keys]``; a null instead
of the keys after FLUSHDB and FLUSHALL), or, with ``REDIRECT id``, to that other client: a
push if it speaks RESP3, else a message of the ``__redis__:invalidate`` channel if it has
subscriptions, else nothing. A redirection whose client is gone marks the state broken and
tells the tracking client (``tracking-redir-broken``, RESP3 only).

What a client's own command invalidates for itself is held back (:meth:`Tracking.enter` /
:meth:`Tracking.leave` around its command) and sent after that command's reply, as Redis does:
an invalidation never lands inside a reply (nor inside EXEC's).

Invariants:

- ``items`` is the number of (key, client id) pairs in ``keys``; no entry of ``keys`` is empty;
- a client id is among a prefix's clients exactly while that prefix is in its state's
  ``prefixes``; a prefix with no client left is dropped;
- ``clients`` counts the clients whose ``tracking`` is set. Ids of clients that stopped
  tracking stay in ``keys`` until their key changes (Redis's lazy cleanup: disconnecting a
  client that read many keys costs nothing).

Nothing here runs while nobody tracks: the key-modified signal (:mod:`zyst.notify`) calls in
only while :attr:`Tracking.active`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from itertools import islice
from typing import TYPE_CHECKING, Final

from zyst import errors

if TYPE_CHECKING:
    from zyst.client import Client

_INVALIDATE: Final = b">2\r\n$10\r\ninvalidate\r\n"
_CHANNEL_MESSAGE: Final = b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n"
_NULLS: Final = (b"$-1\r\n", b"_\r\n")  # what a flush sends instead of keys, RESP2 / RESP3
# The eviction of table keys past tracking-table-max-keys tries this many keys per run, times
# the number of runs in a row that could not get under the limit.
_EFFORT: Final = 100


class TrackingState:
    """The tracking options of one client (``CLIENT TRACKING ON ...``), and ``caching``:
    ``CLIENT CACHING YES|NO`` given for its next command (or transaction).

    ``argv`` is the command line it is running, for a script's reads: they remember the keys
    the script was called with (Redis's ``trackingRememberKeys`` of the script's caller)."""

    __slots__ = (
        "argv",
        "bcast",
        "broken",
        "caching",
        "noloop",
        "optin",
        "optout",
        "prefixes",
        "redirect",
    )

    def __init__(self) -> None:
        self.redirect = 0
        self.bcast = False
        self.optin = False
        self.optout = False
        self.noloop = False
        self.caching = False
        self.broken = False
        self.prefixes: set[bytes] = set()
        self.argv: list[bytes] = []

    def flag_names(self) -> list[bytes]:
        """CLIENT TRACKINGINFO's flags after ``on``, in Redis's order."""
        names: list[bytes] = []
        if self.bcast:
            names.append(b"bcast")
        if self.optin:
            names.append(b"optin")
            if self.caching:
                names.append(b"caching-yes")
        if self.optout:
            names.append(b"optout")
            if self.caching:
                names.append(b"caching-no")
        if self.noloop:
            names.append(b"noloop")
        if self.broken:
            names.append(b"broken_redirect")
        return names


class Broadcast:
    """One BCAST prefix: its clients (by id) and the keys under it changed since the last
    broadcast, each with the client that changed it last (``None``: no client, an expiry)."""

    __slots__ = ("clients", "keys")

    def __init__(self) -> None:
        self.clients: dict[int, Client] = {}
        self.keys: dict[bytes, Client | None] = {}


class Tracking:
    """The tracking tables of one server (on its key-modified signal).

    ``on_change`` is called when :attr:`active` may have changed (the signal then decides
    whether to keep listening). ``directory`` is the server's clients by id, for redirections
    and the ids in ``keys``; the first ``CLIENT TRACKING ON`` attaches it."""

    __slots__ = (
        "_broadcast_due",
        "_rounds_over",
        "clients",
        "current",
        "directory",
        "items",
        "keys",
        "on_change",
        "pending",
        "prefixes",
    )

    def __init__(self, on_change: Callable[[], None]) -> None:
        self.on_change = on_change
        self.keys: dict[bytes, dict[int, None]] = {}
        self.items = 0
        self.prefixes: dict[bytes, Broadcast] = {}
        self.clients = 0
        self.directory: dict[int, Client] = {}
        # The tracking client whose command is running (Redis's current_client, as far as
        # tracking needs it), and what it invalidated for itself meanwhile (keys; None for a
        # flush), sent after its reply.
        self.current: Client | None = None
        self.pending: list[bytes | None] = []
        self._broadcast_due = False
        self._rounds_over = 0

    @property
    def active(self) -> bool:
        """Whether changes must be looked at: someone tracks, or the table still names keys."""
        return self.clients > 0 or bool(self.keys)

    # -- turning it on and off -------------------------------------------------------------------
    def enable(
        self,
        client: Client,
        redirect: int,
        bcast: bool,
        optin: bool,
        optout: bool,
        noloop: bool,
        prefixes: list[bytes],
    ) -> None:
        """``CLIENT TRACKING ON`` with these options (checked by the caller). Turning it on
        again keeps the state's prefixes and CACHING, and replaces the rest."""
        state = client.tracking
        if state is None:
            state = client.tracking = TrackingState()
            self.clients += 1
            self.on_change()
        state.redirect = redirect
        state.broken = False
        state.bcast = bcast
        state.optin = optin
        state.optout = optout
        state.noloop = noloop
        if bcast:
            for prefix in prefixes or [b""]:
                entry = self.prefixes.get(prefix)
                if entry is None:
                    entry = self.prefixes[prefix] = Broadcast()
                if client.id not in entry.clients:
                    entry.clients[client.id] = client
                    state.prefixes.add(prefix)

    def disable(self, client: Client) -> None:
        """``CLIENT TRACKING OFF``, RESET, disconnection: the client leaves its prefixes; the
        keys it read stay in the table until they change."""
        state = client.tracking
        if state is None:
            return
        for prefix in state.prefixes:
            entry = self.prefixes.get(prefix)
            if entry is None:
                continue
            entry.clients.pop(client.id, None)
            if not entry.clients:
                del self.prefixes[prefix]
        client.tracking = None
        self.clients -= 1
        self.on_change()

    # -- reads ---------------------------------------------------------------------------------
    def remember(self, client: Client, keys: list[bytes]) -> None:
        """``client`` (tracking, not BCAST) read ``keys``: tell it when they change. In OPTIN
        mode only after CLIENT CACHING YES, in OPTOUT mode unless CLIENT CACHING NO."""
        state = client.tracking
        if state is None or state.bcast:
            return
        if (state.optin and not state.caching) or (state.optout and state.caching):
            return
        table = self.keys
        client_id = client.id
        for key in keys:
            ids = table.get(key)
            if ids is None:
                ids = table[key] = {}
            if client_id not in ids:
                ids[client_id] = None
                self.items += 1

    # -- changes -------------------------------------------------------------------------------
    def invalidate(self, key: bytes, by: Client | None) -> None:
        """``key`` changed (``by`` the client running the command that changed it; ``None``
        for an expiry): tell its readers, and collect it for the BCAST prefixes it is under."""
        if self.prefixes:
            self._collect(key, by)
        self._tell_readers(key)

    def _collect(self, key: bytes, by: Client | None) -> None:
        for prefix, entry in self.prefixes.items():
            if key.startswith(prefix):
                entry.keys[key] = by
                if not self._broadcast_due:
                    self._broadcast_due = True
                    _call_soon(self.broadcast)

    def _tell_readers(self, key: bytes) -> None:
        ids = self.keys.pop(key, None)
        if ids is None:
            return
        self.items -= len(ids)
        directory = self.directory
        current = self.current
        for client_id in ids:
            target = directory.get(client_id)
            if target is None:
                continue
            state = target.tracking
            # A client that switched to BCAST since it read the key is not told of it.
            if state is None or state.bcast:
                continue
            if target is current:
                if not state.noloop:
                    self.pending.append(key)  # after its reply
                continue
            self.send(target, _key_array(key))
        if not self.keys and not self.clients:
            self.on_change()

    def flushed(self) -> None:
        """FLUSHDB or FLUSHALL: every tracking client is told that all keys are invalid (a
        null), and the table is emptied."""
        if self.clients:
            current = self.current
            for client in list(self.directory.values()):
                if client.tracking is None:
                    continue
                if client is current:
                    self.pending.append(None)
                else:
                    self.send(client, _NULLS[client.resp3])
        self.keys = {}
        self.items = 0
        if not self.clients:
            self.on_change()

    def limit(self, max_keys: int) -> None:
        """Keep the table within ``tracking-table-max-keys`` (0: no limit): forget keys past
        it, telling their readers as if the keys had changed. Each run tries a bounded number
        of keys, more after each run that could not get under the limit (Redis's
        ``trackingLimitUsedSlots``; the oldest entries go first rather than random ones)."""
        if not max_keys or len(self.keys) <= max_keys:
            self._rounds_over = 0
            return
        effort = _EFFORT * (self._rounds_over + 1)
        for key in list(islice(self.keys, effort)):
            self._tell_readers(key)
            if len(self.keys) <= max_keys:
                self._rounds_over = 0
                return
        self._rounds_over += 1

    # -- a tracking client's own command -------------------------------------------------------
    def enter(self, client: Client) -> tuple[Client | None, list[bytes | None]]:
        """``client`` starts a command: what it invalidates for itself waits for
        :meth:`leave`. Returns what :meth:`leave` restores."""
        saved = (self.current, self.pending)
        self.current = client
        self.pending = []
        return saved

    def leave(self, saved: tuple[Client | None, list[bytes | None]]) -> list[bytes]:
        """The command :meth:`enter` announced has its reply: the messages it held back for
        its client itself (the caller sends them after that reply); those for a redirection
        client are sent now."""
        client = self.current
        pending = self.pending
        self.current, self.pending = saved
        if not pending or client is None:
            return []
        own: list[bytes] = []
        for key in pending:
            value = _NULLS[client.resp3] if key is None else _key_array(key)
            self.send(client, value, own)
        return own

    # -- messages ------------------------------------------------------------------------------
    def send(self, client: Client, value: bytes, own: list[bytes] | None = None) -> None:
        """Send the invalidation of ``value`` (the encoded keys, or a null) on behalf of the
        tracking ``client``: to its redirection client, or to itself (into ``own`` when given)
        if it speaks RESP3 (Redis's ``sendTrackingMessage``)."""
        state = client.tracking
        if state is None:
            return
        redirect = state.redirect
        if redirect:
            target = self.directory.get(redirect)
            if target is None:
                state.broken = True
                if client.resp3:
                    notice = b">2\r\n$21\r\ntracking-redir-broken\r\n:%d\r\n" % redirect
                    _deliver(client, notice, own)
                return
            if target.resp3:
                target.push(_INVALIDATE + value)
            elif target.subscriptions is not None:
                target.push(_CHANNEL_MESSAGE + value)
            return
        if client.resp3:
            _deliver(client, _INVALIDATE + value, own)

    def broadcast(self) -> None:
        """Send each BCAST prefix's changed keys to its clients (once per turn of the event
        loop, as Redis does before it sleeps), prefixes and keys in byte order; a NOLOOP client
        is not sent the keys it changed itself."""
        self._broadcast_due = False
        if not self.clients:
            return
        for prefix in sorted(self.prefixes):
            entry = self.prefixes[prefix]
            changed = entry.keys
            if not changed:
                continue
            entry.keys = {}
            ordered = sorted(changed)
            everything = _keys_array(ordered)
            for client in list(entry.clients.values()):
                state = client.tracking
                if state is None:
                    continue
                if state.noloop:
                    theirs = [key for key in ordered if changed[key] is not client]
                    if theirs:
                        self.send(client, _keys_array(theirs))
                else:
                    self.send(client, everything)


def _deliver(client: Client, message: bytes, own: list[bytes] | None) -> None:
    if own is None:
        client.push(message)
    else:
        own.append(message)


def _key_array(key: bytes) -> bytes:
    return b"*1\r\n$%d\r\n%s\r\n" % (len(key), key)


def _keys_array(keys: list[bytes]) -> bytes:
    parts = [b"*%d\r\n" % len(keys)]
    for key in keys:
        parts.append(b"$%d\r\n%s\r\n" % (len(key), key))
    return b"".join(parts)


def _call_soon(callback: Callable[[], None]) -> None:
    """Run ``callback`` once the event loop has finished its current turn (at once when there
    is no loop: in-process use)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        callback()
        return
    loop.call_soon(callback)


def prefix_collision(existing: set[bytes], given: list[bytes]) -> tuple[bool, str] | None:
    """Whether BCAST prefixes overlap (one is a prefix of the other), as Redis's
    ``checkPrefixCollisionsOrReply`` checks them: each given prefix against the client's
    existing ones (in byte order), then against the given ones after it. ``None`` if none do,
    else ``(goes_on, message)``: Redis 7.0 answers the message, and when the two given prefixes
    that overlap are not the first one and another, it then turns tracking on all the same
    and answers OK too (``goes_on``)."""
    ordered = sorted(existing)
    for i, prefix in enumerate(given):
        for old in ordered:
            if _overlap(old, prefix):
                return (False, errors.prefix_overlaps_existing(prefix, old))
        for other in given[i + 1 :]:
            if _overlap(prefix, other):
                return (i > 0, errors.prefix_overlaps_given(prefix, other))
    return None


def _overlap(first: bytes, second: bytes) -> bool:
    size = min(len(first), len(second))
    return first[:size] == second[:size]
