"""The registry of channels and patterns (zyst.pubsub), driven in-process by random
(un)subscriptions of a few clients and held to a plain model: both sides agree, nothing empty
is kept, and a message reaches exactly the model's subscribers, channel ones first."""

from __future__ import annotations

import random

import pytest

from zyst.client import Client
from zyst.config import Config
from zyst.context import ServerContext
from zyst.glob import stringmatch_exact
from zyst.pubsub import PubSub

NAMES = [b"a", b"b", b"ab", b"news.1", b""]
PATTERNS = [b"a*", b"*", b"news.?", b"[ab]", b"\\*"]


def check(registry: PubSub, clients: list[Client], model: dict[int, dict[str, set[bytes]]]) -> None:
    for client in clients:
        mine = model[client.id]
        if not any(mine.values()):
            assert client.subscriptions is None
            continue
        assert client.subscriptions is not None
        assert set(client.subscriptions.channels) == mine["channels"]
        assert set(client.subscriptions.patterns) == mine["patterns"]
        assert set(client.subscriptions.shard_channels) == mine["shard"]
    for table, kind in ((registry.channels, "channels"), (registry.shard_channels, "shard")):
        expected = {
            name: {c.id for c in clients if name in model[c.id][kind]}
            for name in NAMES
            if any(name in model[c.id][kind] for c in clients)
        }
        assert {name: {c.id for c in subs} for name, subs in table.items()} == expected
    expected_patterns = {
        pattern: {c.id for c in clients if pattern in model[c.id]["patterns"]}
        for pattern in PATTERNS
        if any(pattern in model[c.id]["patterns"] for c in clients)
    }
    shown = {pattern: {c.id for c in entry[1]} for pattern, entry in registry.patterns.items()}
    assert shown == expected_patterns


@pytest.mark.parametrize("seed", range(20))
def test_random_subscriptions_agree_with_a_model(seed: int) -> None:
    rnd = random.Random(seed)
    ctx = ServerContext(Config())
    registry = ctx.pubsub
    received: list[tuple[int, bytes]] = []
    clients = [Client(ctx, n) for n in range(4)]
    for client in clients:
        client.push = lambda data, n=client.id: received.append((n, data))
    model: dict[int, dict[str, set[bytes]]] = {
        c.id: {"channels": set(), "patterns": set(), "shard": set()} for c in clients
    }
    for _ in range(200):
        client = rnd.choice(clients)
        mine = model[client.id]
        op = rnd.randrange(7)
        name, pattern = rnd.choice(NAMES), rnd.choice(PATTERNS)
        if op == 0:
            assert registry.subscribe(client, name) == (name not in mine["channels"])
            mine["channels"].add(name)
        elif op == 1:
            assert registry.unsubscribe(client, name) == (name in mine["channels"])
            mine["channels"].discard(name)
        elif op == 2:
            assert registry.psubscribe(client, pattern) == (pattern not in mine["patterns"])
            mine["patterns"].add(pattern)
        elif op == 3:
            assert registry.punsubscribe(client, pattern) == (pattern in mine["patterns"])
            mine["patterns"].discard(pattern)
        elif op == 4:
            assert registry.subscribe(client, name, shard=True) == (name not in mine["shard"])
            mine["shard"].add(name)
        elif op == 5:
            registry.forget(client)
            model[client.id] = {"channels": set(), "patterns": set(), "shard": set()}
        else:
            received.clear()
            shard = rnd.random() < 0.3
            count = registry.publish(name, b"m", shard=shard)
            kind = "shard" if shard else "channels"
            direct = [c.id for c in clients if name in model[c.id][kind]]
            by_pattern = (
                []
                if shard
                else [
                    c.id
                    for c in clients
                    for p in model[c.id]["patterns"]
                    if stringmatch_exact(p, name)
                ]
            )
            assert count == len(received) == len(direct) + len(by_pattern)
            # Channel subscribers first, each told once per subscription.
            assert sorted(n for n, _ in received[: len(direct)]) == sorted(direct)
            assert sorted(n for n, _ in received[len(direct) :]) == sorted(by_pattern)
        check(registry, clients, model)
