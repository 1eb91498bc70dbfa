"""Pub/Sub: who listens to which channel or pattern, and the delivery of messages to them.

:class:`PubSub` (one per server, ``ServerContext.pubsub``) maps every channel, pattern and shard
channel to its subscribers; each client keeps its own side in a :class:`Subscriptions`
(``Client.subscriptions``, ``None`` while it has none). Both sides change together, only through
the methods here. There are no commands in this module (they are in
:mod:`zyst.commands.pubsub`): keyspace notifications and tracking publish through it as well.

Invariants:

- a client is a subscriber of a channel in the registry exactly when the channel is in its
  own :class:`Subscriptions`; a channel or pattern nobody listens to is not in the registry (so
  ``PUBSUB CHANNELS`` and ``NUMPAT`` count only live ones);
- delivery follows Redis's order: first the channel's subscribers, in the order they
  subscribed, then, for every pattern that matches, in the order the patterns were first
  subscribed to, that pattern's subscribers in order (a client subscribed to a channel and to a
  pattern matching it gets ``message`` then ``pmessage``). Shard channels have no patterns;
- messages leave through ``Client.push``, already encoded (``*3`` in RESP2, a ``>3`` push in
  RESP3), so the connection keeps them in order with the client's replies and counts them
  against its output limit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zyst.glob import Glob, compile_glob

if TYPE_CHECKING:
    from zyst.client import Client

Subscribers = dict["Client", None]  # an ordered set: the order in which they subscribed


def _bulk(value: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(value), value)


def encode_push(resp3: bool, kind: bytes, name: bytes | None, count: int) -> bytes:
    """A subscription confirmation (``subscribe``, ``punsubscribe`` …): the kind, the channel
    or pattern (``None``: a null, when there was nothing to unsubscribe from) and the count of
    subscriptions left, as a RESP2 array or a RESP3 push."""
    null = b"_\r\n" if resp3 else b"$-1\r\n"
    shown = null if name is None else _bulk(name)
    return b"%s3\r\n%s%s:%d\r\n" % (b">" if resp3 else b"*", _bulk(kind), shown, count)


class Subscriptions:
    """One client's channels, patterns and shard channels, each in subscription order."""

    __slots__ = ("channels", "patterns", "shard_channels")

    def __init__(self) -> None:
        self.channels: dict[bytes, None] = {}
        self.patterns: dict[bytes, None] = {}
        self.shard_channels: dict[bytes, None] = {}

    @property
    def count(self) -> int:
        """Channels and patterns (what SUBSCRIBE and PSUBSCRIBE confirmations report)."""
        return len(self.channels) + len(self.patterns)

    @property
    def total(self) -> int:
        return len(self.channels) + len(self.patterns) + len(self.shard_channels)


class PubSub:
    """The server's channels, patterns and shard channels, with their subscribers."""

    def __init__(self) -> None:
        self.channels: dict[bytes, Subscribers] = {}
        # pattern → (its compiled glob, its subscribers)
        self.patterns: dict[bytes, tuple[Glob, Subscribers]] = {}
        self.shard_channels: dict[bytes, Subscribers] = {}

    # -- subscribing ------------------------------------------------------------------------
    def subscribe(self, client: Client, channel: bytes, shard: bool = False) -> bool:
        """Add ``client`` to ``channel`` (a shard channel if ``shard``); False if it was
        already there."""
        mine = _own(client)
        own = mine.shard_channels if shard else mine.channels
        if channel in own:
            return False
        own[channel] = None
        table = self.shard_channels if shard else self.channels
        subscribers = table.get(channel)
        if subscribers is None:
            subscribers = table[channel] = {}
        subscribers[client] = None
        return True

    def unsubscribe(self, client: Client, channel: bytes, shard: bool = False) -> bool:
        """Remove ``client`` from ``channel``; False if it was not there."""
        mine = client.subscriptions
        if mine is None:
            return False
        own = mine.shard_channels if shard else mine.channels
        if channel not in own:
            return False
        del own[channel]
        table = self.shard_channels if shard else self.channels
        subscribers = table[channel]
        del subscribers[client]
        if not subscribers:
            del table[channel]
        _release(client, mine)
        return True

    def psubscribe(self, client: Client, pattern: bytes) -> bool:
        """Add ``client`` to the glob ``pattern``; False if it was already there."""
        mine = _own(client)
        if pattern in mine.patterns:
            return False
        mine.patterns[pattern] = None
        entry = self.patterns.get(pattern)
        if entry is None:
            entry = self.patterns[pattern] = (compile_glob(pattern), {})
        entry[1][client] = None
        return True

    def punsubscribe(self, client: Client, pattern: bytes) -> bool:
        """Remove ``client`` from ``pattern``; False if it was not there."""
        mine = client.subscriptions
        if mine is None or pattern not in mine.patterns:
            return False
        del mine.patterns[pattern]
        subscribers = self.patterns[pattern][1]
        del subscribers[client]
        if not subscribers:
            del self.patterns[pattern]
        _release(client, mine)
        return True

    def forget(self, client: Client) -> None:
        """Remove every subscription of ``client``, telling it nothing (it disconnected, or
        RESET)."""
        mine = client.subscriptions
        if mine is None:
            return
        for channel in list(mine.channels):
            self.unsubscribe(client, channel)
        for pattern in list(mine.patterns):
            self.punsubscribe(client, pattern)
        for channel in list(mine.shard_channels):
            self.unsubscribe(client, channel, shard=True)
        client.subscriptions = None

    # -- publishing -------------------------------------------------------------------------
    def publish(self, channel: bytes, message: bytes, shard: bool = False) -> int:
        """Deliver ``message`` on ``channel`` (a shard channel if ``shard``) to its subscribers
        and to those of every matching pattern; the number of deliveries made."""
        receivers = 0
        subscribers = (self.shard_channels if shard else self.channels).get(channel)
        if subscribers:
            body = _bulk(b"smessage" if shard else b"message") + _bulk(channel) + _bulk(message)
            receivers += _deliver(subscribers, b"*3\r\n" + body, b">3\r\n" + body)
        if shard or not self.patterns:
            return receivers
        tail = _bulk(channel) + _bulk(message)
        for pattern, (glob, subscribers) in list(self.patterns.items()):
            if glob.matches(channel):
                body = _bulk(b"pmessage") + _bulk(pattern) + tail
                receivers += _deliver(subscribers, b"*4\r\n" + body, b">4\r\n" + body)
        return receivers

    # -- introspection (PUBSUB, INFO) -------------------------------------------------------
    def numsub(self, channel: bytes, shard: bool = False) -> int:
        subscribers = (self.shard_channels if shard else self.channels).get(channel)
        return len(subscribers) if subscribers else 0


def _own(client: Client) -> Subscriptions:
    mine = client.subscriptions
    if mine is None:
        mine = client.subscriptions = Subscriptions()
    return mine


def _release(client: Client, mine: Subscriptions) -> None:
    # A client left with no subscription at all is no longer a subscriber (its output limits
    # are a normal client's again).
    if not mine.total:
        client.subscriptions = None


def _deliver(subscribers: Subscribers, resp2: bytes, resp3: bytes) -> int:
    # A copy: a push never changes the registry today, but a subscriber closed for its output
    # limit must not be able to disturb this loop should that change.
    clients = tuple(subscribers)
    for client in clients:
        client.push(resp3 if client.resp3 else resp2)
    return len(clients)
