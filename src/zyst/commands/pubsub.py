"""Pub/Sub commands: SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE PUNSUBSCRIBE PUBLISH, their shard forms
SSUBSCRIBE SUNSUBSCRIBE SPUBLISH, and the PUBSUB container; and the RESP2 subscribed mode.

The registry of channels and patterns is :mod:`zyst.pubsub` (``client.ctx.pubsub``); this
module parses, declares and answers. A (un)subscription is confirmed per channel or pattern
(``subscribe foo 1``), a push in RESP3, an array in RESP2: the handlers push each confirmation
to the client (``Client.push``, which puts it into the output of the running batch, in order)
and return no reply of their own. The count a confirmation carries is the client's channels
plus patterns, or its shard channels for the shard commands, as Redis counts them.

A RESP2 client with any subscription is in the subscribed mode (the bit
:data:`zyst.commands.modes.SUBSCRIBED`, kept by :func:`follow_protocol` after every change of
its subscriptions or protocol): it may only run the (un)subscribe commands, PING (whose reply
becomes ``pong`` and the message as an array), QUIT and RESET; anything else gets Redis's
error, after the checks Redis makes first (unknown command, arity, a refused write). A RESP3
client may run anything while subscribed: its messages arrive as pushes between replies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from zyst import errors
from zyst.client import Client
from zyst.commands.introspection import help_reply
from zyst.commands.modes import SUBSCRIBED, call_in_mode, route
from zyst.commands.table import (
    Command,
    KeySpec,
    Reply,
    command,
    container,
    resolve,
    subcommand,
)
from zyst.errors import CommandError
from zyst.glob import compile_glob
from zyst.protocol.resp import NO_REPLY, PONG, ErrorReply
from zyst.pubsub import Subscriptions, encode_push

_SUBSCRIBE_FLAGS = ("pubsub", "noscript", "loading", "stale")
_PUBLISH_FLAGS = ("pubsub", "loading", "stale", "fast")
_INTROSPECTION_FLAGS = ("pubsub", "loading", "stale")
_SHARD_CHANNELS = (KeySpec(flags=("not_key",)),)


# -- the subscribed mode ----------------------------------------------------------------------
def follow_protocol(client: Client) -> None:
    """Set or clear the SUBSCRIBED mode bit of ``client`` after its subscriptions or its
    protocol changed: set exactly when it speaks RESP2 and has a subscription of any kind."""
    if client.subscriptions is not None and not client.resp3:
        client.mode |= SUBSCRIBED
    else:
        client.mode &= ~SUBSCRIBED


def reset_client(client: Client) -> None:
    """Drop every subscription of ``client`` without confirming any (RESET)."""
    client.ctx.pubsub.forget(client)
    follow_protocol(client)


# What a RESP2 subscriber may run (Redis's list in processCommand).
_ALLOWED_WHILE_SUBSCRIBED = frozenset(
    (
        "ping",
        "subscribe",
        "ssubscribe",
        "unsubscribe",
        "sunsubscribe",
        "psubscribe",
        "punsubscribe",
        "quit",
        "reset",
    )
)


def _call_subscribed(client: Client, argv: list[bytes]) -> Reply:
    """A command of a RESP2 client in the subscribed mode."""
    found = resolve(argv)
    # (Redis refuses a write for a failing AOF, MISCONF, before it looks at the mode.)
    if (
        isinstance(found, Command)
        and found.name not in _ALLOWED_WHILE_SUBSCRIBED
        and not (found.write and client.ctx.write_refusal is not None)
    ):
        client.ctx.stats.rejected_calls += 1
        client.last_command = found.wire_name
        return ErrorReply(errors.pubsub_context(found.name))
    # Allowed, or refused by call() for a reason Redis checks first: run it as if the client
    # were in no subscribed mode (another mode, MULTI, may still take it), then follow.
    client.mode &= ~SUBSCRIBED
    try:
        reply = call_in_mode(client, argv)
    finally:
        follow_protocol(client)
    if isinstance(found, Command) and found.name == "ping":
        # A RESP2 subscriber reads arrays only: PING answers as a message would.
        if reply is PONG:
            return [b"pong", b""]
        if type(reply) is bytes:
            return [b"pong", reply]
    return reply


route(SUBSCRIBED, 0, _call_subscribed)


# -- subscribing ------------------------------------------------------------------------------
def _confirm(client: Client, kind: bytes, name: bytes | None, count: int) -> None:
    client.push(encode_push(client.resp3, kind, name, count))


def _count(client: Client) -> int:
    mine = client.subscriptions
    return mine.count if mine is not None else 0


def _shard_count(client: Client) -> int:
    mine = client.subscriptions
    return len(mine.shard_channels) if mine is not None else 0


def _subscribe_each(
    client: Client,
    kind: bytes,
    names: list[bytes],
    add: Callable[[bytes], object],
    count: Callable[[Client], int],
) -> Reply:
    """(P|S)SUBSCRIBE: ``add`` each name, confirming each with the client's count after it."""
    for name in names:
        add(name)
        _confirm(client, kind, name, count(client))
    follow_protocol(client)
    return NO_REPLY


def _unsubscribe_each(
    client: Client,
    kind: bytes,
    names: list[bytes],
    held: Callable[[Subscriptions], Iterable[bytes]],
    remove: Callable[[bytes], object],
    count: Callable[[Client], int],
) -> Reply:
    """(P|S)UNSUBSCRIBE: ``remove`` each name, or every name the client ``held`` when none is
    given (one confirmation with no name when it held none), confirming each as it goes."""
    if not names:
        mine = client.subscriptions
        names = list(held(mine)) if mine is not None else []
        if not names:
            _confirm(client, kind, None, count(client))
    for name in names:
        remove(name)
        _confirm(client, kind, name, count(client))
    follow_protocol(client)
    return NO_REPLY


@command(
    "subscribe",
    arity=-2,
    flags=_SUBSCRIBE_FLAGS,
    group="pubsub",
    summary="Listen for messages published to the given channels",
    since="2.0.0",
    syntax="channel [channel ...]",
    complexity="O(N) where N is the number of channels to subscribe to.",
)
def subscribe(client: Client, argv: list[bytes]) -> Reply:
    """SUBSCRIBE channel [channel ...]"""
    registry = client.ctx.pubsub
    return _subscribe_each(
        client, b"subscribe", argv[1:], lambda name: registry.subscribe(client, name), _count
    )


@command(
    "unsubscribe",
    arity=-1,
    flags=_SUBSCRIBE_FLAGS,
    group="pubsub",
    summary="Stop listening for messages posted to the given channels",
    since="2.0.0",
    syntax="[channel [channel ...]]",
    complexity="O(N) where N is the number of clients already subscribed to a channel.",
)
def unsubscribe(client: Client, argv: list[bytes]) -> Reply:
    """UNSUBSCRIBE [channel [channel ...]]  (none: every channel, or a null if there is none)"""
    registry = client.ctx.pubsub
    return _unsubscribe_each(
        client,
        b"unsubscribe",
        argv[1:],
        lambda mine: mine.channels,
        lambda name: registry.unsubscribe(client, name),
        _count,
    )


@command(
    "psubscribe",
    arity=-2,
    flags=_SUBSCRIBE_FLAGS,
    group="pubsub",
    summary="Listen for messages published to channels matching the given patterns",
    since="2.0.0",
    syntax="pattern [pattern ...]",
    complexity="O(N) where N is the number of patterns the client is already subscribed to.",
)
def psubscribe(client: Client, argv: list[bytes]) -> Reply:
    """PSUBSCRIBE pattern [pattern ...]"""
    registry = client.ctx.pubsub
    return _subscribe_each(
        client, b"psubscribe", argv[1:], lambda name: registry.psubscribe(client, name), _count
    )


@command(
    "punsubscribe",
    arity=-1,
    flags=_SUBSCRIBE_FLAGS,
    group="pubsub",
    summary="Stop listening for messages posted to channels matching the given patterns",
    since="2.0.0",
    syntax="[pattern [pattern ...]]",
    complexity=(
        "O(N+M) where N is the number of patterns the client is already subscribed and M is "
        "the number of total patterns subscribed in the system (by any client)."
    ),
)
def punsubscribe(client: Client, argv: list[bytes]) -> Reply:
    """PUNSUBSCRIBE [pattern [pattern ...]]  (none: every pattern, or a null if there is none)"""
    registry = client.ctx.pubsub
    return _unsubscribe_each(
        client,
        b"punsubscribe",
        argv[1:],
        lambda mine: mine.patterns,
        lambda name: registry.punsubscribe(client, name),
        _count,
    )


@command(
    "ssubscribe",
    arity=-2,
    flags=_SUBSCRIBE_FLAGS,
    keys=(1, -1, 1),
    group="pubsub",
    summary="Listen for messages published to the given shard channels",
    since="7.0.0",
    syntax="shardchannel [shardchannel ...]",
    complexity="O(N) where N is the number of shard channels to subscribe to.",
    key_specs=_SHARD_CHANNELS,
)
def ssubscribe(client: Client, argv: list[bytes]) -> Reply:
    """SSUBSCRIBE shardchannel [shardchannel ...]"""
    registry = client.ctx.pubsub
    return _subscribe_each(
        client,
        b"ssubscribe",
        argv[1:],
        lambda name: registry.subscribe(client, name, shard=True),
        _shard_count,
    )


@command(
    "sunsubscribe",
    arity=-1,
    flags=_SUBSCRIBE_FLAGS,
    keys=(1, -1, 1),
    group="pubsub",
    summary="Stop listening for messages posted to the given shard channels",
    since="7.0.0",
    syntax="[shardchannel [shardchannel ...]]",
    complexity="O(N) where N is the number of clients already subscribed to a shard channel.",
    key_specs=_SHARD_CHANNELS,
)
def sunsubscribe(client: Client, argv: list[bytes]) -> Reply:
    """SUNSUBSCRIBE [shardchannel [shardchannel ...]]"""
    registry = client.ctx.pubsub
    return _unsubscribe_each(
        client,
        b"sunsubscribe",
        argv[1:],
        lambda mine: mine.shard_channels,
        lambda name: registry.unsubscribe(client, name, shard=True),
        _shard_count,
    )


# -- publishing -------------------------------------------------------------------------------
@command(
    "publish",
    arity=3,
    flags=_PUBLISH_FLAGS,
    group="pubsub",
    summary="Post a message to a channel",
    since="2.0.0",
    syntax="channel message",
    complexity=(
        "O(N+M) where N is the number of clients subscribed to the receiving channel and M is "
        "the total number of subscribed patterns (by any client)."
    ),
)
def publish(client: Client, argv: list[bytes]) -> Reply:
    """PUBLISH channel message  → the number of deliveries (channel and pattern subscribers)"""
    return client.ctx.pubsub.publish(argv[1], argv[2])


@command(
    "spublish",
    arity=3,
    flags=_PUBLISH_FLAGS,
    keys=(1, 1, 1),
    group="pubsub",
    summary="Post a message to a shard channel",
    since="7.0.0",
    syntax="shardchannel message",
    complexity=("O(N) where N is the number of clients subscribed to the receiving shard channel."),
    key_specs=_SHARD_CHANNELS,
)
def spublish(client: Client, argv: list[bytes]) -> Reply:
    """SPUBLISH shardchannel message  → the number of shard channel subscribers reached"""
    return client.ctx.pubsub.publish(argv[1], argv[2], shard=True)


# -- PUBSUB -----------------------------------------------------------------------------------
PUBSUB = container(
    "pubsub", group="pubsub", summary="A container for Pub/Sub commands", since="2.8.0"
)


def _channel_list(argv: list[bytes], channels: list[bytes]) -> list[bytes]:
    if len(argv) > 3:
        raise CommandError(errors.subcommand_syntax(argv[1], "pubsub"))
    if len(argv) == 2:
        return channels
    return compile_glob(argv[2]).select(channels)


@subcommand(
    PUBSUB,
    "channels",
    arity=-2,
    flags=_INTROSPECTION_FLAGS,
    summary="List active channels",
    since="2.8.0",
    syntax="[pattern]",
    complexity=(
        "O(N) where N is the number of active channels, and assuming constant time pattern "
        "matching (relatively short channels and patterns)"
    ),
)
def pubsub_channels(client: Client, argv: list[bytes]) -> Reply:
    """PUBSUB CHANNELS [pattern]  (channels with at least one subscriber)"""
    return _channel_list(argv, list(client.ctx.pubsub.channels))


@subcommand(
    PUBSUB,
    "numsub",
    arity=-2,
    flags=_INTROSPECTION_FLAGS,
    summary="Get the count of subscribers for channels",
    since="2.8.0",
    syntax="[channel [channel ...]]",
    complexity="O(N) for the NUMSUB subcommand, where N is the number of requested channels",
)
def pubsub_numsub(client: Client, argv: list[bytes]) -> Reply:
    """PUBSUB NUMSUB [channel [channel ...]]  → channel, count, ... (one flat array)"""
    registry = client.ctx.pubsub
    reply: list[object] = []
    for channel in argv[2:]:
        reply += (channel, registry.numsub(channel))
    return reply


@subcommand(
    PUBSUB,
    "numpat",
    arity=2,
    flags=_INTROSPECTION_FLAGS,
    summary="Get the count of unique patterns pattern subscriptions",
    since="2.8.0",
    complexity="O(1)",
)
def pubsub_numpat(client: Client, argv: list[bytes]) -> Reply:
    """PUBSUB NUMPAT  → patterns with at least one subscriber"""
    return len(client.ctx.pubsub.patterns)


@subcommand(
    PUBSUB,
    "shardchannels",
    arity=-2,
    flags=_INTROSPECTION_FLAGS,
    summary="List active shard channels",
    since="7.0.0",
    syntax="[pattern]",
    complexity=(
        "O(N) where N is the number of active shard channels, and assuming constant time "
        "pattern matching (relatively short shard channels)."
    ),
)
def pubsub_shardchannels(client: Client, argv: list[bytes]) -> Reply:
    """PUBSUB SHARDCHANNELS [pattern]"""
    return _channel_list(argv, list(client.ctx.pubsub.shard_channels))


@subcommand(
    PUBSUB,
    "shardnumsub",
    arity=-2,
    flags=_INTROSPECTION_FLAGS,
    summary="Get the count of subscribers for shard channels",
    since="7.0.0",
    syntax="[shardchannel [shardchannel ...]]",
    complexity=(
        "O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard channels"
    ),
)
def pubsub_shardnumsub(client: Client, argv: list[bytes]) -> Reply:
    """PUBSUB SHARDNUMSUB [shardchannel [shardchannel ...]]"""
    registry = client.ctx.pubsub
    reply: list[object] = []
    for channel in argv[2:]:
        reply += (channel, registry.numsub(channel, shard=True))
    return reply


# Redis's PUBSUB HELP, word for word.
_PUBSUB_HELP = [
    "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
    "HELP",
    "    Prints this help.",
]


@subcommand(
    PUBSUB,
    "help",
    arity=2,
    flags=("loading", "stale"),
    summary="Show helpful text about the different subcommands",
    since="6.2.0",
    complexity="O(1)",
)
def pubsub_help(client: Client, argv: list[bytes]) -> Reply:
    """PUBSUB HELP"""
    return help_reply(_PUBSUB_HELP)
