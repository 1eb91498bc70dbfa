"""Client-side caching against redis-server 7.0: a tracking connection, the connections that
change keys, and the redirection connection, driven alike on both servers; every byte each
connection receives (replies, RESP3 pushes, ``__redis__:invalidate`` messages) is compared.

Client ids differ between the two servers, so a REDIRECT names each side's own id
(:meth:`Pair.send_each`). That nothing else arrived is shown by the next reply: a PING's answer
must be the very next bytes (``RawConnection.read_replies`` fails on anything beyond what is
expected).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import (
    Oracle,
    RawConnection,
    ServerProcess,
    as_argv,
    hello3,
    parse_reply,
)
from tests.conftest import (
    Pair as OraclePair,
)
from tests.oracle.test_busy_script_oracle import wait_until_busy
from zyst.protocol.resp import encode_command

Args = tuple[bytes | str | int, ...]
PONG = b"+PONG\r\n"


class Pair(OraclePair):
    """One connection to Zyst and one to redis-server, driven alike, knowing its client id
    on each."""

    def __init__(self, oracle: Oracle) -> None:
        super().__init__(oracle)
        # This connection's id on each server (they may differ).
        self.ids = (
            parse_reply(oracle.zyst.command("CLIENT", "ID")),
            parse_reply(oracle.redis.command("CLIENT", "ID")),
        )

    def send_each(self, zyst: Args, redis: Args) -> None:
        self.zyst.send_raw(encode_command(as_argv(zyst)))
        self.redis.send_raw(encode_command(as_argv(redis)))

    def redirect_to(self, other: Pair, *options: str) -> list[bytes]:
        """CLIENT TRACKING ON REDIRECT <other's id on each server> ``options``."""
        zyst_id, redis_id = other.ids
        self.send_each(
            ("CLIENT", "TRACKING", "ON", "REDIRECT", zyst_id, *options),
            ("CLIENT", "TRACKING", "ON", "REDIRECT", redis_id, *options),
        )
        return self.read(1)

    def nothing_more(self) -> None:
        """Nothing arrived beyond what was read: the next thing is PING's answer."""
        reply = self.check(("PING",))[0]
        assert reply in (PONG, b"*2\r\n$4\r\npong\r\n$0\r\n\r\n"), reply


@pytest.fixture
def new_pair(zyst_proc: ServerProcess, redis_server: ServerProcess) -> Iterator[Any]:
    """Makes connection pairs, closed after the test (the first one flushes both servers)."""
    made: list[Oracle] = []

    def make(resp: int = 2) -> Pair:
        oracle = Oracle(zyst_proc.port, redis_server.port)
        if not made:
            oracle.check("FLUSHALL")
            oracle.check("CONFIG", "SET", "tracking-table-max-keys", "1000000")
        made.append(oracle)
        if resp == 3:
            hello3(oracle)
        return Pair(oracle)

    yield make
    for oracle in made:
        oracle.close()


def invalidate(*keys: bytes, resp: int = 3) -> bytes:
    """An invalidation as the tracking client itself gets it (RESP3) or as a
    ``__redis__:invalidate`` message (RESP2, to a redirection client)."""
    head = b">2\r\n$10\r\ninvalidate\r\n"
    if resp == 2:
        head = b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n"
    return head + b"*%d\r\n" % len(keys) + b"".join(b"$%d\r\n%s\r\n" % (len(k), k) for k in keys)


def subscribed_redirection(new_pair: Any) -> Pair:
    """A RESP2 connection subscribed to ``__redis__:invalidate``."""
    redirection: Pair = new_pair()
    redirection.check(("SUBSCRIBE", "__redis__:invalidate"))
    return redirection


# -- the default mode ---------------------------------------------------------------------------
def test_resp3_push_after_a_read_key_changes(new_pair: Any) -> None:
    tracker, writer = new_pair(3), new_pair()
    assert tracker.check(("CLIENT", "TRACKING", "ON"))[0] == b"+OK\r\n"
    writer.check(("SET", "t:a", "1"), ("SET", "t:b", "1"))
    tracker.check(("GET", "t:a"), ("MGET", "t:c", "t:d"), ("STRLEN", "t:e"))
    writer.check(("INCR", "t:b"))  # never read: no message
    writer.check(("INCR", "t:a"), ("DEL", "t:c", "t:d"), ("SET", "t:d", "x"), ("SET", "t:e", "y"))
    assert tracker.check(("PING",), replies=4) == [
        invalidate(b"t:a"),
        invalidate(b"t:d"),  # DEL of a missing key changes nothing; SET changes it
        invalidate(b"t:e"),
        PONG,
    ]
    # Told once: the key is forgotten until it is read again.
    writer.check(("INCR", "t:a"))
    tracker.nothing_more()
    # A read queued in a transaction that is discarded never ran: nothing is remembered.
    tracker.check(("MULTI",), ("GET", "t:f"), ("DISCARD",))
    writer.check(("SET", "t:f", "1"))
    tracker.nothing_more()


def test_resp2_redirect_to_a_subscriber_and_flush(new_pair: Any) -> None:
    redirection = subscribed_redirection(new_pair)
    tracker, writer = new_pair(), new_pair()
    assert tracker.redirect_to(redirection) == [b"+OK\r\n"]
    tracker.check(("GET", "r:a"), ("HGET", "r:h", "f"), ("EXISTS", "r:x", "r:y"))
    writer.check(("HSET", "r:h", "f", "v"), ("SET", "r:y", "1"))
    assert redirection.read(2) == [invalidate(b"r:h", resp=2), invalidate(b"r:y", resp=2)]
    tracker.check(("GET", "r:a"))
    writer.check(("FLUSHDB",))
    null = b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n$-1\r\n"
    assert redirection.read(1) == [null]
    writer.check(("SET", "r:a", "1"))  # the flush emptied the table
    redirection.nothing_more()
    tracker.nothing_more()  # RESP2 and redirected: the tracker itself gets nothing


def test_redirect_to_a_resp2_client_without_subscriptions_sends_nothing(new_pair: Any) -> None:
    quiet, tracker, writer = new_pair(), new_pair(), new_pair()
    tracker.redirect_to(quiet)
    tracker.check(("GET", "q:a"))
    writer.check(("SET", "q:a", "1"))
    quiet.nothing_more()
    tracker.nothing_more()


def test_redirect_to_a_resp3_client_gets_pushes(new_pair: Any) -> None:
    redirection, tracker, writer = new_pair(3), new_pair(), new_pair()
    tracker.redirect_to(redirection)
    tracker.check(("GET", "p:a"))
    writer.check(("SET", "p:a", "1"))
    writer.check(("FLUSHALL",))
    # The flush's null is the tracking client's own protocol's (RESP2 here), as in Redis.
    assert redirection.read(2) == [invalidate(b"p:a"), b">2\r\n$10\r\ninvalidate\r\n$-1\r\n"]


def test_own_changes_are_told_after_the_reply(new_pair: Any) -> None:
    tracker = new_pair(3)
    tracker.check(("CLIENT", "TRACKING", "ON"), ("HSET", "o:h", "f", "1"), ("HGET", "o:h", "f"))
    assert tracker.check(("HDEL", "o:h", "f"), replies=2) == [b":1\r\n", invalidate(b"o:h")]
    tracker.check(("MSET", "o:a", "1", "o:b", "2"), ("GET", "o:a"))
    replies = tracker.check(("MULTI",), ("INCR", "o:a"), ("GET", "o:b"), ("EXEC",), replies=5)
    assert replies[3:] == [b"*2\r\n:2\r\n$1\r\n2\r\n", invalidate(b"o:a")]
    # Read then written inside one transaction: told after EXEC's reply.
    replies = tracker.check(("MULTI",), ("GET", "o:c"), ("SET", "o:c", "1"), ("EXEC",), replies=5)
    assert replies[4] == invalidate(b"o:c")
    tracker.check(("GET", "o:a"))
    assert tracker.check(("FLUSHDB",), replies=2) == [
        b"+OK\r\n",
        b">2\r\n$10\r\ninvalidate\r\n_\r\n",
    ]
    tracker.check(("GET", "o:a"))
    replies = tracker.check(("MULTI",), ("FLUSHDB",), ("EXEC",), replies=4)
    assert replies[2:] == [b"*1\r\n+OK\r\n", b">2\r\n$10\r\ninvalidate\r\n_\r\n"]


def test_lazy_expiry_is_told_after_the_reply(new_pair: Any) -> None:
    tracker = new_pair(3)
    tracker.check(("DEBUG", "SET-ACTIVE-EXPIRE", "0"))
    try:
        now = _server_ms(tracker)
        deadline = now + 20
        tracker.check(("CLIENT", "TRACKING", "ON"), ("MSET", "e:x", "1", "e:y", "2"))
        tracker.check(("PEXPIREAT", "e:y", deadline), ("GET", "e:y"))
        while _server_ms(tracker) <= deadline:  # (TIME reads no key)
            time.sleep(0.005)
        replies = tracker.check(("MGET", "e:x", "e:y"), replies=2)
        assert replies == [b"*2\r\n$1\r\n1\r\n_\r\n", invalidate(b"e:y")]
    finally:
        tracker.check(("DEBUG", "SET-ACTIVE-EXPIRE", "1"))


def _server_ms(pair: Pair) -> int:
    """The later of the two servers' clocks, in Unix milliseconds."""
    pair.send(("TIME",))
    times = [parse_reply(conn.read_replies(1)[0]) for conn in (pair.zyst, pair.redis)]
    return max(int(seconds) * 1000 + int(micros) // 1000 for seconds, micros in times)


def test_noloop_skips_own_changes(new_pair: Any) -> None:
    redirection = subscribed_redirection(new_pair)
    tracker, writer = new_pair(), new_pair()
    tracker.redirect_to(redirection, "NOLOOP")
    tracker.check(("MGET", "n:a", "n:loop", "n:b"))
    writer.check(("SET", "n:a", "1"))
    tracker.check(("SET", "n:loop", "1"))
    writer.check(("SET", "n:b", "1"))
    assert redirection.read(2) == [invalidate(b"n:a", resp=2), invalidate(b"n:b", resp=2)]
    # A script the client runs is the client's own change too.
    tracker.check(("GET", "n:s"))
    tracker.check(("EVAL", "return redis.call('set', KEYS[1], '2')", "1", "n:s"))
    writer.check(("SET", "n:s", "3"))
    redirection.nothing_more()


# -- scripts ---------------------------------------------------------------------------------------
def test_a_script_that_reads_caches_its_declared_keys(new_pair: Any) -> None:
    tracker, writer = new_pair(3), new_pair()
    tracker.check(("CLIENT", "TRACKING", "ON"))
    tracker.check(("EVAL", "redis.call('set', 's:3', 'bar')", "2", "s:1", "s:2"))
    writer.check(("MSET", "s:2", "2", "s:1", "2", "s:3", "x"))
    tracker.nothing_more()
    tracker.check(("EVAL", "redis.call('get', 's:3')", "2", "s:1", "s:2"))
    writer.check(("MSET", "s:2", "2", "s:1", "2", "s:3", "y"))
    assert tracker.check(("PING",), replies=3) == [invalidate(b"s:2"), invalidate(b"s:1"), PONG]
    tracker.check(("EVAL_RO", "redis.call('ping')", "1", "s:1"))
    writer.check(("SET", "s:1", "3"))
    tracker.nothing_more()
    tracker.check(("EVAL_RO", "return redis.call('get', KEYS[1])", "1", "s:1"))
    writer.check(("SET", "s:1", "4"))
    assert tracker.check(("PING",), replies=2) == [invalidate(b"s:1"), PONG]


# -- OPTIN / OPTOUT -------------------------------------------------------------------------------
def test_optin_and_optout_with_caching(new_pair: Any) -> None:
    tracker, writer = new_pair(3), new_pair()
    tracker.check(("CLIENT", "TRACKING", "ON", "OPTIN"))
    tracker.check(("GET", "c:a"))
    tracker.check(("CLIENT", "CACHING", "YES"), ("GET", "c:b"), ("GET", "c:c"))
    # CACHING YES before MULTI covers the whole transaction.
    tracker.check(("CLIENT", "CACHING", "YES"), ("MULTI",), ("GET", "c:d"), ("EXEC",), replies=4)
    tracker.check(("GET", "c:e"))
    writer.check(*(("SET", key, "1") for key in ("c:a", "c:b", "c:c", "c:d", "c:e")))
    assert tracker.check(("PING",), replies=3) == [invalidate(b"c:b"), invalidate(b"c:d"), PONG]
    tracker.check(("CLIENT", "TRACKING", "OFF"), ("CLIENT", "TRACKING", "ON", "OPTOUT"))
    tracker.check(("CLIENT", "CACHING", "NO"), ("GET", "c:a"), ("GET", "c:b"))
    writer.check(("SET", "c:a", "2"), ("SET", "c:b", "2"))
    assert tracker.check(("PING",), replies=2) == [invalidate(b"c:b"), PONG]


def test_trackinginfo_and_getredir(new_pair: Any) -> None:
    for resp in (2, 3):
        client = new_pair(resp)
        client.check(("CLIENT", "TRACKINGINFO"), ("CLIENT", "GETREDIR"))
        for options in (
            ("ON",),
            ("ON", "NOLOOP"),
            ("OFF",),
            ("ON", "OPTIN"),
            ("OFF",),
            ("ON", "OPTOUT"),
        ):
            client.check(("CLIENT", "TRACKING", *options), ("CLIENT", "TRACKINGINFO"))
        client.check(("CLIENT", "CACHING", "NO"), ("CLIENT", "TRACKINGINFO"))
        client.check(("CLIENT", "GETREDIR"), ("CLIENT", "TRACKING", "OFF"))
        client.check(("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "foo", "PREFIX", "bar"))
        client.check(("CLIENT", "TRACKINGINFO"), ("CLIENT", "TRACKING", "OFF"))
        client.check(("CLIENT", "TRACKING", "ON", "BCAST"), ("CLIENT", "TRACKINGINFO"))
        client.check(("CLIENT", "TRACKING", "OFF"), ("CLIENT", "TRACKINGINFO"))


def test_broken_redirection(new_pair: Any) -> None:
    redirection, tracker, writer = new_pair(), new_pair(3), new_pair()
    ids = redirection.ids
    tracker.redirect_to(redirection)
    tracker.check(("GET", "b:a"))
    assert redirection.check(("QUIT",)) == [b"+OK\r\n"]
    # Poll until both servers have seen the redirection connection go.
    deadline = time.monotonic() + 10
    while True:
        lists = [
            parse_reply(reply).decode()
            for reply in (
                writer.zyst.command("CLIENT", "LIST"),
                writer.redis.command("CLIENT", "LIST"),
            )
        ]
        if not any(f"id={i} " in text for i, text in zip(ids, lists, strict=True)):
            break
        assert time.monotonic() < deadline
        time.sleep(0.01)
    writer.check(("SET", "b:a", "1"))
    ours = tracker.zyst.read_replies(1)[0]
    theirs = tracker.redis.read_replies(1)[0]
    assert ours == b">2\r\n$21\r\ntracking-redir-broken\r\n:%d\r\n" % ids[0]
    assert theirs == b">2\r\n$21\r\ntracking-redir-broken\r\n:%d\r\n" % ids[1]
    zyst_info, redis_info = (
        parse_reply(conn.command("CLIENT", "TRACKINGINFO"))
        for conn in (tracker.zyst, tracker.redis)
    )
    assert list(zyst_info[b"flags"]) == list(redis_info[b"flags"]) == [b"on", b"broken_redirect"]
    assert (zyst_info[b"redirect"], redis_info[b"redirect"]) == ids
    flags = [_client_field(conn, "flags") for conn in (tracker.zyst, tracker.redis)]
    assert flags == [b"tR", b"tR"]


def _client_field(conn: RawConnection, name: str) -> bytes:
    line: bytes = parse_reply(conn.command("CLIENT", "INFO"))
    fields = dict(part.split(b"=", 1) for part in line.split())
    return fields[name.encode()]


def test_client_list_flags_and_redir(new_pair: Any) -> None:
    client, other = new_pair(), new_pair()
    conns = (client.zyst, client.redis)
    assert [_client_field(c, "flags") + _client_field(c, "redir") for c in conns] == [b"N-1"] * 2
    client.check(("CLIENT", "TRACKING", "ON"))
    assert [_client_field(c, "flags") + _client_field(c, "redir") for c in conns] == [b"t0"] * 2
    client.check(("CLIENT", "TRACKING", "OFF"), ("CLIENT", "TRACKING", "ON", "BCAST"))
    assert [_client_field(c, "flags") for c in conns] == [b"tB"] * 2
    client.check(("CLIENT", "TRACKING", "OFF"))
    client.redirect_to(other)
    assert [int(_client_field(c, "redir")) for c in conns] == list(other.ids)
    client.check(("RESET",), ("CLIENT", "TRACKINGINFO"), ("CLIENT", "GETREDIR"))
    assert [_client_field(c, "flags") for c in conns] == [b"N"] * 2


# -- BCAST ----------------------------------------------------------------------------------------
def test_bcast_prefixes_and_noloop(new_pair: Any) -> None:
    redirection = subscribed_redirection(new_pair)
    tracker, writer = new_pair(), new_pair()
    tracker.redirect_to(redirection, "BCAST", "PREFIX", "a:", "PREFIX", "b:")
    tracker.check(
        ("MULTI",),
        *(("INCR", k) for k in ("b:2", "a:1", "b:1", "c:1", "a:2")),
        ("EXEC",),
        replies=7,
    )
    # One message per prefix, in byte order, keys in byte order.
    assert redirection.read(2) == [
        invalidate(b"a:1", b"a:2", resp=2),
        invalidate(b"b:1", b"b:2", resp=2),
    ]
    tracker.redirect_to(redirection, "BCAST", "PREFIX", "c:")  # adds a prefix
    writer.check(("MSET", "c:9", "1", "c:1", "1", "d:1", "1"))
    assert redirection.read(1) == [invalidate(b"c:1", b"c:9", resp=2)]
    tracker.check(("CLIENT", "TRACKING", "OFF"))
    tracker.redirect_to(redirection, "BCAST", "NOLOOP")
    writer.check(("SET", "x:1", "1"))
    assert redirection.read(1) == [invalidate(b"x:1", resp=2)]
    tracker.check(("SET", "x:loop", "1"))
    writer.check(("SET", "x:2", "1"))
    assert redirection.read(1) == [invalidate(b"x:2", resp=2)]


def test_bcast_expired_keys_and_resp3(new_pair: Any) -> None:
    tracker, writer = new_pair(3), new_pair()
    tracker.check(("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "x:"))
    writer.check(("SET", "x:e", "v", "PX", "1"), ("SET", "y:e", "v", "PX", "1"))
    assert tracker.read(1) == [invalidate(b"x:e")]
    # The active expiry cycle removes it: told again.
    assert tracker.read(1) == [invalidate(b"x:e")]
    tracker.nothing_more()


def test_switching_to_bcast_forgets_keys_read_before(new_pair: Any) -> None:
    tracker, writer = new_pair(3), new_pair()
    tracker.check(("CLIENT", "TRACKING", "ON"), ("GET", "w:a"))
    tracker.check(("CLIENT", "TRACKING", "OFF"), ("CLIENT", "TRACKING", "ON", "BCAST"))
    writer.check(("INCR", "w:a"))
    assert tracker.check(("PING",), replies=2) == [invalidate(b"w:a"), PONG]  # as a broadcast


# -- errors ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "options",
    [
        ("ON", "BCAST", "PREFIX", "FOOBAR", "PREFIX", "FOO"),
        ("ON", "BCAST", "PREFIX", "FOO", "PREFIX", "FOOBAR"),
        ("ON", "PREFIX", "a"),
        ("ON", "BCAST", "OPTIN"),
        ("ON", "BCAST", "OPTOUT"),
        ("ON", "OPTIN", "OPTOUT"),
        ("ON", "REDIRECT", "notanumber"),
        ("ON", "REDIRECT", "999999"),
        ("ON", "REDIRECT", "0"),
        ("ON", "BADOPTION"),
        ("ON", "PREFIX"),
        ("MAYBE",),
        ("MAYBE", "BADOPTION"),
        ("OFF", "BCAST", "PREFIX", "x"),
    ],
)
def test_tracking_errors(new_pair: Any, options: Args) -> None:
    client = new_pair()
    client.check(("CLIENT", "TRACKING", *options), ("CLIENT", "TRACKINGINFO"))


def test_tracking_errors_against_the_current_state(new_pair: Any) -> None:
    client, other = new_pair(), new_pair()
    client.check(
        ("CLIENT", "CACHING", "YES"),
        ("CLIENT", "TRACKING", "ON", "OPTIN"),
        ("CLIENT", "CACHING", "NO"),
        ("CLIENT", "CACHING", "MAYBE"),
        ("CLIENT", "TRACKING", "ON", "OPTOUT"),
        ("CLIENT", "TRACKING", "ON", "BCAST"),
        ("CLIENT", "TRACKING", "OFF"),
        ("CLIENT", "TRACKING", "ON", "OPTOUT"),
        ("CLIENT", "CACHING", "YES"),
        ("CLIENT", "TRACKING", "ON", "OPTIN"),
        ("CLIENT", "TRACKING", "OFF"),
        ("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "FOO", "PREFIX", "BAR"),
        ("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "FO"),
        ("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "BARB"),
        ("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "BAR"),
        ("CLIENT", "TRACKING", "ON"),
        ("CLIENT", "TRACKINGINFO"),
        ("CLIENT", "TRACKING", "OFF"),
    )
    zyst_id, redis_id = other.ids
    client.send_each(
        ("CLIENT", "TRACKING", "ON", "REDIRECT", zyst_id, "REDIRECT", zyst_id),
        ("CLIENT", "TRACKING", "ON", "REDIRECT", redis_id, "REDIRECT", redis_id),
    )
    client.read(1)


def test_overlapping_later_prefixes_answer_twice(new_pair: Any) -> None:
    """Redis 7.0 answers the error and then, having turned tracking on anyway, OK."""
    client = new_pair()
    options = ("ON", "BCAST", "PREFIX", "a", "PREFIX", "b", "PREFIX", "bc")
    assert client.check(("CLIENT", "TRACKING", *options), replies=2)[1] == b"+OK\r\n"
    client.check(("CLIENT", "TRACKINGINFO"))


# -- other connections' commands ------------------------------------------------------------------
def test_unblocked_blmove_is_told_after_its_reply(new_pair: Any) -> None:
    tracker, writer = new_pair(3), new_pair()
    writer.check(("RPUSH", "l:2", "a"))
    tracker.check(("CLIENT", "TRACKING", "ON"), ("LRANGE", "l:2", "0", "-1"))
    tracker.send(("BLMOVE", "l:1", "l:2", "LEFT", "LEFT", "0"))
    deadline = time.monotonic() + 10
    while not all(
        b"blocked_clients:1" in c.command("INFO", "clients") for c in (writer.zyst, writer.redis)
    ):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    writer.check(("RPUSH", "l:1", "foo"))
    assert tracker.read(2) == [b"$3\r\nfoo\r\n", invalidate(b"l:2")]


def test_table_limit_evicts_keys_and_tells_their_readers(new_pair: Any) -> None:
    redirection = subscribed_redirection(new_pair)
    tracker, admin = new_pair(), new_pair()
    tracker.redirect_to(redirection)
    tracker.check(("MGET", "m:1", "m:2", "m:3"))
    admin.check(("CONFIG", "SET", "tracking-table-max-keys", "1"))
    try:
        tracker.check(("PING",))  # the limit is applied before a tracking client's command
        ours = redirection.zyst.read_replies(2)
        theirs = redirection.redis.read_replies(2)
        # Which keys go is Redis's random pick; two of the three, one message each.
        assert len({*ours}) == len({*theirs}) == 2
        assert all(m in [invalidate(k, resp=2) for k in (b"m:1", b"m:2", b"m:3")] for m in ours)
        for conn in (admin.zyst, admin.redis):
            assert b"tracking_total_keys:1\r\n" in conn.command("INFO", "stats")
    finally:
        admin.check(("CONFIG", "SET", "tracking-table-max-keys", "1000000"))


def test_info_counts(new_pair: Any) -> None:
    tracker, bcast, writer = new_pair(), new_pair(), new_pair()
    deadline = time.monotonic() + 10
    while True:  # earlier tests' connections may not be gone yet
        counts = [_info_field(c, "tracking_clients") for c in (writer.zyst, writer.redis)]
        if counts == [b"0", b"0"]:
            break
        assert time.monotonic() < deadline, counts
        time.sleep(0.01)
    tracker.check(("CLIENT", "TRACKING", "ON"), ("MGET", "i:1", "i:2"))
    bcast.check(("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "i:", "PREFIX", "j:"))
    other = new_pair()
    other.check(("CLIENT", "TRACKING", "ON"), ("GET", "i:1"))
    fields = (
        "tracking_clients",
        "tracking_total_keys",
        "tracking_total_items",
        "tracking_total_prefixes",
    )
    for conn in (writer.zyst, writer.redis):
        assert [_info_field(conn, name) for name in fields] == [b"3", b"2", b"3", b"2"]
    writer.check(("SET", "i:1", "x"))
    tracker.check(("CLIENT", "TRACKING", "OFF"))  # its key stays in the table until it changes
    for conn in (writer.zyst, writer.redis):
        assert [_info_field(conn, name) for name in fields] == [b"2", b"1", b"1", b"2"]
    # A tracking client that disconnects stops tracking; a BCAST one leaves its prefixes.
    for pair in (other, bcast):
        pair.zyst.close()
        pair.redis.close()
    deadline = time.monotonic() + 10
    while True:
        counts = [[_info_field(c, name) for name in fields] for c in (writer.zyst, writer.redis)]
        if counts == [[b"0", b"1", b"1", b"0"]] * 2:
            break
        assert time.monotonic() < deadline, counts
        time.sleep(0.01)


def _info_field(conn: RawConnection, name: str) -> bytes:
    text: bytes = parse_reply(conn.command("INFO"))
    for line in text.split(b"\r\n"):
        if line.startswith(name.encode() + b":"):
            return line.split(b":", 1)[1]
    raise AssertionError(name)


def test_keys_are_names_whatever_the_database_and_swapdb_tells_nobody(new_pair: Any) -> None:
    tracker, writer = new_pair(3), new_pair()
    tracker.check(("CLIENT", "TRACKING", "ON"), ("SELECT", "1"), ("GET", "d:a"), ("GET", "d:b"))
    writer.check(("SET", "d:a", "in db 0"))
    assert tracker.check(("PING",), replies=2) == [invalidate(b"d:a"), PONG]
    # Redis 7.0's SWAPDB touches watched keys but invalidates no tracked one.
    writer.check(("SELECT", "1"), ("SET", "d:b", "1"), replies=2)
    assert tracker.check(("PING",), replies=2) == [invalidate(b"d:b"), PONG]
    tracker.check(("GET", "d:b"))
    writer.check(("SWAPDB", "0", "1"))
    tracker.nothing_more()
    writer.check(("SWAPDB", "0", "1"), ("SELECT", "9"), ("FLUSHDB",))
    assert tracker.check(("PING",), replies=2) == [b">2\r\n$10\r\ninvalidate\r\n_\r\n", PONG]


def test_a_read_refused_while_a_script_is_busy_is_not_remembered(new_pair: Any) -> None:
    tracker, runner, killer, writer = new_pair(3), new_pair(), new_pair(), new_pair()
    probes = [RawConnection(conn.sock.getpeername()[1]) for conn in (writer.zyst, writer.redis)]
    killer.check(("CONFIG", "SET", "lua-time-limit", "10"))
    try:
        tracker.check(("CLIENT", "TRACKING", "ON"))
        runner.send(("EVAL", "while true do end", "0"))
        for probe in probes:
            wait_until_busy(probe)
        [refused] = tracker.check(("GET", "bz:a"))
        assert refused.startswith(b"-BUSY")
        killer.check(("SCRIPT", "KILL"))
        runner.read(1)
        writer.check(("SET", "bz:a", "1"))
        tracker.nothing_more()
    finally:
        killer.check(("CONFIG", "SET", "lua-time-limit", "5000"))
