"""Pub/Sub against redis-server 7.0: subscribers on some connections, publishers on others, the
raw bytes each connection receives compared between the two servers, in RESP2 and RESP3.

Each test uses channel names of its own: the servers live for the whole session, and a
connection closed by an earlier test is forgotten by the server only when it reads the close.
Where Redis's order comes from a hash table seeded at random (the channels an argumentless
UNSUBSCRIBE goes through, PUBSUB CHANNELS), the replies are compared as sets, and what is
positional in them (the counts going down) as it stands.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import (
    Oracle,
    Pair,
    RawConnection,
    ServerProcess,
    hello3,
    parse_reply,
    zyst_process,
)
from zyst.protocol.resp import encode_command

Args = tuple[bytes | str | int, ...]


@pytest.fixture
def new_pair(zyst_proc: ServerProcess, redis_server: ServerProcess) -> Iterator[Any]:
    """Makes more connection pairs (subscribers), closed after the test."""
    made: list[Oracle] = []

    def make(resp: int = 2) -> Pair:
        oracle = Oracle(zyst_proc.port, redis_server.port)
        made.append(oracle)
        if resp == 3:
            hello3(oracle)
        return Pair(oracle)

    yield make
    for oracle in made:
        oracle.close()


def push(kind: bytes, *items: bytes | int | None, resp: int) -> bytes:
    """A message or confirmation as the server frames it."""
    parts = [b">%d\r\n" % (len(items) + 1) if resp == 3 else b"*%d\r\n" % (len(items) + 1)]
    for item in (kind, *items):
        if item is None:
            parts.append(b"_\r\n" if resp == 3 else b"$-1\r\n")
        elif isinstance(item, int):
            parts.append(b":%d\r\n" % item)
        else:
            parts.append(b"$%d\r\n%s\r\n" % (len(item), item))
    return b"".join(parts)


def wait_until_gone(publisher: Pair, *channels: bytes) -> None:
    """Poll until neither server counts a subscriber on ``channels`` (closed connections are
    forgotten once the server reads their close)."""
    deadline = time.monotonic() + 10
    args: Args = ("PUBSUB", "NUMSUB", *channels)
    while True:
        publisher.send(args)
        ours, theirs = publisher.zyst.read_replies(1), publisher.redis.read_replies(1)
        counts = [parse_reply(reply[0])[1::2] for reply in (ours, theirs)]
        if all(count == 0 for side in counts for count in side):
            return
        assert time.monotonic() < deadline, counts
        time.sleep(0.01)


@pytest.mark.parametrize("resp", [2, 3])
def test_subscribe_publish_and_unsubscribe(new_pair: Any, resp: int) -> None:
    sub, pub = new_pair(resp), new_pair()
    replies = sub.check(("SUBSCRIBE", "t1:a", "t1:b", "t1:a"), replies=3)
    assert replies[2] == push(b"subscribe", b"t1:a", 2, resp=resp)
    assert pub.check(("PUBLISH", "t1:a", "hello"))[0] == b":1\r\n"
    assert sub.read(1)[0] == push(b"message", b"t1:a", b"hello", resp=resp)
    pub.check(("PUBLISH", "t1:b", ""), ("PUBLISH", "t1:c", "lost"), ("PUBLISH", "t1:b", "x"))
    sub.read(2)
    sub.check(("UNSUBSCRIBE", "t1:a", "t1:nope"), replies=2)
    assert pub.check(("PUBLISH", "t1:a", "gone"), ("PUBLISH", "t1:b", "kept")) == [
        b":0\r\n",
        b":1\r\n",
    ]
    # Nothing but the one message came: PING's answer is the next thing after it.
    pong = b"*2\r\n$4\r\npong\r\n$0\r\n\r\n" if resp == 2 else b"+PONG\r\n"
    assert sub.check(("PING",), replies=2) == [
        push(b"message", b"t1:b", b"kept", resp=resp),
        pong,
    ]
    assert sub.check(("UNSUBSCRIBE",))[0] == push(b"unsubscribe", b"t1:b", 0, resp=resp)
    assert sub.check(("PING",))[0] == b"+PONG\r\n"


@pytest.mark.parametrize("resp", [2, 3])
def test_unsubscribing_with_no_subscription_still_answers(new_pair: Any, resp: int) -> None:
    sub = new_pair(resp)
    # (PING first: a confirmation comes after the replies before it in the same batch.)
    replies = sub.check(("PING",), ("UNSUBSCRIBE",), ("PUNSUBSCRIBE",), ("SUNSUBSCRIBE",))
    assert replies[:2] == [b"+PONG\r\n", push(b"unsubscribe", None, 0, resp=resp)]
    sub.check(("UNSUBSCRIBE", "t2:x", "t2:y"), ("PUNSUBSCRIBE", "t2:*"), replies=3)
    sub.check(("SUNSUBSCRIBE", "t2:s"), ("PING",), ("PING", "m"))
    # The counts are the channels and patterns left; shard channels count apart.
    sub.check(("PSUBSCRIBE", "t2:*"), ("SSUBSCRIBE", "t2:s"), ("SUBSCRIBE", "t2:x"))
    sub.check(("PUNSUBSCRIBE",), ("SUNSUBSCRIBE",), ("UNSUBSCRIBE",), ("PUNSUBSCRIBE",))


@pytest.mark.parametrize("resp", [2, 3])
def test_unsubscribe_all_names_every_channel(new_pair: Any, resp: int) -> None:
    sub = new_pair(resp)
    channels = [f"t3:{n}" for n in range(5)]
    sub.check(("SUBSCRIBE", *channels), replies=5)
    sub.check(("PSUBSCRIBE", "t3:*", "t3:?"), replies=2)
    sub.send(("UNSUBSCRIBE",))
    ours = sub.zyst.read_replies(5)
    theirs = sub.redis.read_replies(5)
    # Which channel comes when is the order of Redis's hash table; the count goes down by one
    # each time, patterns still counted.
    for replies in (ours, theirs):
        decoded = [parse_reply(reply) for reply in replies]
        assert sorted(entry[1] for entry in decoded) == [c.encode() for c in channels]
        assert [entry[2] for entry in decoded] == [6, 5, 4, 3, 2]
        assert all(entry[0] == b"unsubscribe" for entry in decoded)
    # Patterns go in the order they were subscribed, on both.
    sub.check(("PUNSUBSCRIBE",), replies=2)


@pytest.mark.parametrize("resp", [2, 3])
def test_a_channel_and_a_matching_pattern_both_deliver(new_pair: Any, resp: int) -> None:
    sub, other, pub = new_pair(resp), new_pair(resp), new_pair()
    sub.check(("PSUBSCRIBE", "t4:news.*"), ("SUBSCRIBE", "t4:news.1"))
    other.check(
        ("SUBSCRIBE", "t4:news.1"),
    )
    # Channel subscribers first, in subscription order, then the pattern's.
    assert pub.check(("PUBLISH", "t4:news.1", "m1"))[0] == b":3\r\n"
    assert sub.read(2) == [
        push(b"message", b"t4:news.1", b"m1", resp=resp),
        push(b"pmessage", b"t4:news.*", b"t4:news.1", b"m1", resp=resp),
    ]
    other.read(1)
    assert pub.check(("PUBLISH", "t4:news.2", "m2"))[0] == b":1\r\n"
    assert sub.read(1) == [push(b"pmessage", b"t4:news.*", b"t4:news.2", b"m2", resp=resp)]
    # KEYS's glob: classes, escapes, and an empty channel matched by no pattern.
    sub.check(("PSUBSCRIBE", "t4:[a-c]?\\*"))
    assert pub.check(
        ("PUBLISH", "t4:bx*", "hit"), ("PUBLISH", "t4:dx*", "miss"), ("PUBLISH", "", "e")
    ) == [b":1\r\n", b":0\r\n", b":0\r\n"]
    sub.read(1)


def test_resp2_subscribers_may_only_subscribe_ping_and_quit(new_pair: Any) -> None:
    sub = new_pair()
    sub.check(("SUBSCRIBE", "t5:a"))
    sub.check(
        ("GET", "k"),
        ("SET", "k", "v"),
        ("CLIENT", "LIST"),
        ("CLIENT", "NOSUCH"),
        ("NOSUCH",),
        ("SUBSCRIBE",),
        ("PING", "a", "b"),
        ("PING",),
        ("PING", "hi"),
        ("HELLO", "3"),
        ("PUBSUB", "NUMPAT"),
    )
    sub.check(("PSUBSCRIBE", "t5:*"), ("SSUBSCRIBE", "t5:s"), ("UNSUBSCRIBE",), ("GET", "k"))
    sub.check(("PUNSUBSCRIBE",), ("SUNSUBSCRIBE",))
    # No subscription left: back to normal.
    sub.check(("GET", "k"), ("PING",))
    sub.check(("SUBSCRIBE", "t5:a"), ("QUIT",))


def test_resp3_subscribers_run_any_command_between_messages(new_pair: Any) -> None:
    sub, pub = new_pair(3), new_pair()
    sub.check(("SUBSCRIBE", "t6:a"), ("SET", "t6:k", "v"), ("GET", "t6:k"), ("PING",))
    pub.check(("PUBLISH", "t6:a", "m1"))
    sub.check(("GET", "t6:k"), replies=2)
    # Publishing to itself: the message comes before PUBLISH's own reply, as in Redis.
    replies = sub.check(("GET", "t6:k"), ("PUBLISH", "t6:a", "self"), ("DEL", "t6:k"), replies=4)
    assert replies[1:3] == [push(b"message", b"t6:a", b"self", resp=3), b":1\r\n"]
    # A RESP3 subscriber that turns to RESP2 is in the subscribed mode from then on.
    sub.send(("HELLO", "2"))  # (the client ids in the replies differ)
    for conn in (sub.zyst, sub.redis):
        assert b"proto\r\n:2\r\n" in conn.read_replies(1)[0]
    sub.check(("GET", "t6:k"), ("PING",), ("HELLO", "3"))


def test_introspection_counts_live_channels_and_patterns(new_pair: Any) -> None:
    pub = new_pair()
    wait_until_gone(pub, b"t7:a", b"t7:b")
    one, two = new_pair(), new_pair(3)
    one.check(("SUBSCRIBE", "t7:a", "t7:b"), ("PSUBSCRIBE", "t7:*"), replies=3)
    two.check(("SUBSCRIBE", "t7:a"), ("SSUBSCRIBE", "t7:s1", "t7:s2"), replies=3)
    pub.check(
        ("PUBSUB", "NUMSUB", "t7:a", "t7:b", "t7:c"),
        ("PUBSUB", "NUMSUB"),
        ("PUBSUB", "SHARDNUMSUB", "t7:s1", "t7:a"),
        ("PUBSUB", "SHARDNUMSUB"),
        ("PUBSUB", "CHANNELS", "t7:[a]"),
        ("PUBSUB", "SHARDCHANNELS", "t7:s1"),
        ("PUBSUB", "HELP"),
        ("PUBSUB", "CHANNELS", "a", "b"),
        ("PUBSUB", "SHARDCHANNELS", "a", "b"),
        ("PUBSUB", "NUMPAT", "x"),
        ("PUBSUB", "NOSUCH"),
        ("PUBSUB",),
    )
    for listing in (
        ("PUBSUB", "CHANNELS", "t7:[ab]"),
        ("PUBSUB", "SHARDCHANNELS", "t7:*"),
    ):
        pub.send(listing)
        ours, theirs = pub.zyst.read_replies(1)[0], pub.redis.read_replies(1)[0]
        assert sorted(parse_reply(ours)) == sorted(parse_reply(theirs)), listing
    # SPUBLISH reaches the shard subscriber, not the pattern; PUBLISH the pattern only.
    assert pub.check(("SPUBLISH", "t7:s1", "m"), ("PUBLISH", "t7:s1", "n")) == [
        b":1\r\n",
        b":1\r\n",
    ]
    assert two.read(1) == [push(b"smessage", b"t7:s1", b"m", resp=3)]
    assert one.read(1) == [push(b"pmessage", b"t7:*", b"t7:s1", b"n", resp=2)]


def test_info_and_client_list_show_subscriptions(new_pair: Any) -> None:
    pub = new_pair()
    sub = new_pair()
    sub.check(("CLIENT", "SETNAME", "t8sub"))
    sub.check(
        ("SUBSCRIBE", "t8:a", "t8:b"), ("PSUBSCRIBE", "t8:*"), ("SSUBSCRIBE", "t8:s"), replies=4
    )
    fields = ("flags", "sub", "psub", "ssub")
    for conn in (pub.zyst, pub.redis):
        lines = parse_reply(conn.command("CLIENT", "LIST", "TYPE", "pubsub")).decode()
        line = next(line for line in lines.splitlines() if "name=t8sub " in line)
        shown = dict(item.split("=", 1) for item in line.split(" "))
        assert [shown[f] for f in fields] == ["P", "2", "1", "1"], conn
        normal = parse_reply(conn.command("CLIENT", "LIST", "TYPE", "normal")).decode()
        assert "name=t8sub " not in normal
        info = parse_reply(conn.command("INFO", "stats")).decode()
        counts = dict(line.split(":", 1) for line in info.split("\r\n") if ":" in line)
        for name in ("pubsub_channels", "pubsub_patterns", "pubsubshard_channels"):
            assert int(counts[name]) >= 1, (conn, name)


def test_a_closed_subscriber_is_forgotten(new_pair: Any) -> None:
    pub = new_pair()
    sub = new_pair()
    sub.check(("SUBSCRIBE", "t9:a"), ("PSUBSCRIBE", "t9:*"), ("SSUBSCRIBE", "t9:s"))
    assert pub.check(("PUBLISH", "t9:a", "m"))[0] == b":2\r\n"
    sub.zyst.close()
    sub.redis.close()
    wait_until_gone(pub, b"t9:a")
    pub.check(("PUBLISH", "t9:a", "m"), ("SPUBLISH", "t9:s", "m"), ("PUBSUB", "NUMSUB", "t9:a"))


# -- client-output-buffer-limit ------------------------------------------------------------------
def test_output_buffer_limit_config(oracle: Oracle) -> None:
    default = oracle.check("CONFIG", "GET", "client-output-buffer-limit")
    try:
        oracle.check_all(
            ("CONFIG", "SET", "client-output-buffer-limit", "wrong number"),
            ("CONFIG", "SET", "client-output-buffer-limit", "invalid_class 10mb 10mb 60"),
            ("CONFIG", "SET", "client-output-buffer-limit", "master 10mb 10mb 60"),
            ("CONFIG", "SET", "client-output-buffer-limit", "normal 10mbs 10mb 60"),
            ("CONFIG", "SET", "client-output-buffer-limit", "replica 10mb 10mbs 60"),
            ("CONFIG", "SET", "client-output-buffer-limit", "pubsub 10mb 10mb 60s"),
            ("CONFIG", "SET", "client-output-buffer-limit", "pubsub 10mb 10mb -1"),
            ("CONFIG", "GET", "client-output-buffer-limit"),
            ("CONFIG", "SET", "client-output-buffer-limit", "normal 1mb 2mb 60 replica 3mb 4k 70"),
            ("CONFIG", "GET", "client-output-buffer-limit"),
            ("CONFIG", "SET", "client-output-buffer-limit", "PUBSUB 5gb 6KB +80"),
            ("CONFIG", "GET", "client-output-buffer-limit"),
            ("CONFIG", "SET", "client-output-buffer-limit", ""),
            ("CONFIG", "GET", "client-output-buffer-limit"),
        )
    finally:
        value = parse_reply(default)[1]
        oracle.check("CONFIG", "SET", "client-output-buffer-limit", value)


def _fill_until_dropped(pub: Pair, channel: bytes, size: int, rounds: int) -> None:
    """Publish ``size``-byte messages, 100 per write, until neither server has a subscriber on
    ``channel`` left (PUBLISH answers 0), at most ``rounds`` writes."""
    message = b"x" * size
    batch = [("PUBLISH", channel, message)] * 100
    done = {"zyst": False, "redis": False}
    for _ in range(rounds):
        for name, conn in (("zyst", pub.zyst), ("redis", pub.redis)):
            if not done[name]:
                replies = conn.pipeline(batch)
                done[name] = replies[-1] == b":0\r\n"
        if all(done.values()):
            return
    raise AssertionError(f"subscriber still connected after {rounds * 100} messages: {done}")


def _fill_past(conn: RawConnection, channel: bytes, size: int) -> None:
    """Publish 1 KB messages until the subscriber's (t10sub) unsent output, CLIENT LIST's omem,
    is at least ``size`` bytes, or it is gone already; at most 20000 messages."""
    batch = [("PUBLISH", channel, b"x" * 1024)] * 100
    for _ in range(200):
        conn.pipeline(batch)
        listing = parse_reply(conn.command("CLIENT", "LIST", "TYPE", "pubsub")).decode()
        line = next((line for line in listing.splitlines() if " name=t10sub " in line), None)
        if line is None or int(line.split(" omem=", 1)[1].split(" ", 1)[0]) >= size:
            return
    raise AssertionError(f"the subscriber's output never reached {size} bytes")


def _small_receiver(port: int) -> socket.socket:
    """A connection with a small receive buffer: the kernel holds little of what it is sent,
    so the server's own pending output grows soon."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    return sock


def _closed(sock: socket.socket) -> bool:
    """Read what there is until the server closes; True once it has (it drops its unsent
    output, so the end comes within what was already in flight)."""
    try:
        while sock.recv(1 << 20):
            pass
    except ConnectionResetError:
        pass
    return True


@pytest.mark.parametrize("limit", ["pubsub 262144 0 0", "pubsub 0 262144 1"], ids=["hard", "soft"])
def test_a_subscriber_that_never_reads_is_disconnected(
    tmp_path_factory: pytest.TempPathFactory, redis_server: ServerProcess, limit: str
) -> None:
    # A server of its own for Zyst (its whole state is this test's); redis-server's limit is
    # restored after.
    with zyst_process(tmp_path_factory.mktemp("obuf"), "--appendonly", "no") as zyst:
        oracle = Oracle(zyst.port, redis_server.port)
        default = parse_reply(oracle.check("CONFIG", "GET", "client-output-buffer-limit"))[1]
        try:
            oracle.check("CONFIG", "SET", "client-output-buffer-limit", limit)
            subscribers = [_small_receiver(zyst.port), _small_receiver(redis_server.port)]
            for sock in subscribers:
                sock.sendall(encode_command([b"CLIENT", b"SETNAME", b"t10sub"]))
                assert sock.recv(100) == b"+OK\r\n"
                sock.sendall(encode_command([b"SUBSCRIBE", b"t10:flood"]))
                assert sock.recv(100) == push(b"subscribe", b"t10:flood", 1, resp=2)
            pub = Pair(oracle)
            if limit.endswith(" 0 0"):
                _fill_until_dropped(pub, b"t10:flood", 1024, rounds=400)
            else:
                # Past the soft limit, then nothing more: the server drops the subscriber once
                # the seconds are over, without more output to notice it.
                for conn in (pub.zyst, pub.redis):
                    _fill_past(conn, b"t10:flood", 262144)
                deadline = time.monotonic() + 15
                gone = b"*2\r\n$9\r\nt10:flood\r\n:0\r\n"
                while oracle.run("PUBSUB", "NUMSUB", "t10:flood") != (gone, gone):
                    assert time.monotonic() < deadline, "the soft limit never dropped it"
                    time.sleep(0.05)
            for sock in subscribers:
                assert _closed(sock)
                sock.close()
            # Everyone else goes on.
            oracle.check_all(("PING",), ("SET", "t10:k", "v"), ("GET", "t10:k"))
            oracle.check("PUBLISH", "t10:flood", "m")
        finally:
            oracle.check("CONFIG", "SET", "client-output-buffer-limit", default)
            oracle.close()
