"""maxmemory with eviction, through a real server: per policy, twice the limit's worth of keys
is written and the server must stay at the limit and remove the right keys.

Margins stated once here:

- ``used_memory`` (INFO, measured when asked) ends at most :data:`USED_MARGIN` of the limit
  above it: eviction runs before each command and brings the figure under the limit, and one
  command (a pipelined SET of 100 bytes) adds little after that.
- The resident set grows by at most :data:`RSS_FACTOR` times the room the limit gave above the
  empty server's ``used_memory``, plus :data:`RSS_SLACK`: the keys' memory is reused as keys
  are evicted and others written, and RSS levels off (pymalloc's free blocks stay resident but
  are used again; the dict tables are what grow in steps).
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.conftest import ServerProcess, wait_until, zyst_process

HEADROOM = 4 * 1024 * 1024
USED_MARGIN = 0.01
RSS_FACTOR = 2.5
RSS_SLACK = 8 * 1024 * 1024
VALUE = b"v" * 100
REFUSED = "command not allowed when used memory"
POLICIES = [
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    with zyst_process(tmp_path, "--save", "", "--appendonly", "no") as running:
        yield running


def connect(server: ServerProcess) -> redis.Redis:
    return redis.Redis(port=server.port, socket_timeout=60)


def info(c: redis.Redis, field: str) -> int:
    return int(c.info("everything")[field])


def write(
    c: redis.Redis, prefix: str, count: int, ttl: int | None = None, hot: list[str] | None = None
) -> None:
    """SET ``prefix:0`` ... ``prefix:<count-1>`` (with EX ``ttl``), pipelined; every 50 keys
    the ``hot`` keys are read once (an access each)."""
    pipe = c.pipeline(transaction=False)
    for n in range(count):
        pipe.set(f"{prefix}:{n}", VALUE, ex=ttl)
        if hot and n % 50 == 0:
            for key in hot:
                pipe.get(key)
        if n % 500 == 499:
            pipe.execute()
    pipe.execute()


def cap(c: redis.Redis, policy: str) -> int:
    """Set ``maxmemory`` to the empty server's used_memory plus :data:`HEADROOM`."""
    c.flushall()
    c.config_set("maxmemory-policy", policy)
    limit = info(c, "used_memory") + HEADROOM
    c.config_set("maxmemory", limit)
    return limit


def keys_for_twice_the_room(c: redis.Redis) -> int:
    """How many keys of :data:`VALUE` fill twice the :data:`HEADROOM` (by MEMORY USAGE)."""
    c.set("probe", VALUE, ex=1000)
    size = int(c.memory_usage("probe") or 0)
    c.delete("probe")
    assert size > 100
    return 2 * HEADROOM // size


@pytest.mark.parametrize("policy", POLICIES)
def test_twice_the_limit_stays_at_the_limit(server: ServerProcess, policy: str) -> None:
    c = connect(server)
    rss_before = info(c, "used_memory_rss")
    limit = cap(c, policy)
    count = keys_for_twice_the_room(c)
    # Keys without a TTL first: a volatile policy must never touch them.
    persistent = 2000
    write(c, "persistent", persistent)
    write(c, "volatile", count, ttl=10_000)
    used = info(c, "used_memory")
    rss = info(c, "used_memory_rss")
    evicted = info(c, "evicted_keys")
    print(f"{policy}: limit {limit} used {used} rss {rss_before}->{rss} evicted {evicted}")
    assert used <= limit * (1 + USED_MARGIN), (used, limit)
    assert rss - rss_before <= RSS_FACTOR * HEADROOM + RSS_SLACK, (rss_before, rss)
    assert evicted > count // 4
    assert c.dbsize() == persistent + count - evicted
    kept = sum(c.exists(f"persistent:{n}") for n in range(persistent))
    if policy.startswith("volatile"):
        assert kept == persistent
    else:
        assert kept < persistent  # the oldest keys, among the first to go


def test_noeviction_refuses_writes_at_the_limit(server: ServerProcess) -> None:
    c = connect(server)
    limit = cap(c, "noeviction")
    count = keys_for_twice_the_room(c)
    with pytest.raises(
        redis.exceptions.ResponseError, match="command not allowed when used memory"
    ):
        write(c, "k", count)
    assert info(c, "evicted_keys") == 0
    assert info(c, "used_memory") <= limit * (1 + USED_MARGIN)
    assert c.get("k:0") == VALUE  # reads go on
    assert c.delete("k:0") == 1  # and deleting


def test_volatile_policy_with_no_volatile_key_left_refuses(server: ServerProcess) -> None:
    c = connect(server)
    cap(c, "volatile-lru")
    count = keys_for_twice_the_room(c)
    c.set("ttl", "x", ex=1000)
    with pytest.raises(
        redis.exceptions.ResponseError, match="command not allowed when used memory"
    ):
        write(c, "k", count)
    assert c.exists("ttl") == 0  # the one key it could evict went first
    assert info(c, "evicted_keys") == 1


def test_lru_keeps_the_keys_read_since(server: ServerProcess) -> None:
    c = connect(server)
    cap(c, "allkeys-lru")
    count = keys_for_twice_the_room(c)
    hot = [f"hot:{n}" for n in range(100)]
    for key in hot:
        c.set(key, VALUE)
    # The access clock counts whole seconds, as Redis's: keys written within a second of the
    # hot keys' last read tie with them. So the keys go in batches of half the room, the
    # clock moving on by two seconds between batches, the hot keys read all along: every
    # batch then finds older keys with more idle time than any hot one to evict.
    for batch in range(4):
        last = f"batch{batch - 1}:{count // 4 - 1}" if batch else hot[-1]
        wait_until(lambda key=last: c.object("idletime", key) >= 2, "the access clock to move")
        c.mget(hot)
        write(c, f"batch{batch}", count // 4, hot=hot)
    kept = sum(c.exists(key) for key in hot)
    assert kept >= 95, kept
    assert info(c, "evicted_keys") > count // 2


def test_lfu_keeps_the_keys_read_often(server: ServerProcess) -> None:
    c = connect(server)
    cap(c, "allkeys-lfu")
    count = keys_for_twice_the_room(c)
    hot = [f"hot:{n}" for n in range(100)]
    for key in hot:
        c.set(key, VALUE)
    for _ in range(20):
        c.mget(hot)
    write(c, "cold", count)
    kept = sum(c.exists(key) for key in hot)
    assert kept >= 95, kept
    assert int(c.object("freq", "hot:0") or 0) > 5


def test_volatile_ttl_evicts_the_nearest_deadlines(server: ServerProcess) -> None:
    c = connect(server)
    cap(c, "volatile-ttl")
    count = keys_for_twice_the_room(c)
    # Deadlines in an order unrelated to the order of writing.
    ttls = list(range(10_000, 10_000 + count))
    random.Random(7).shuffle(ttls)
    pipe = c.pipeline(transaction=False)
    for n, ttl in enumerate(ttls):
        pipe.set(f"k:{n}", VALUE, ex=ttl)
        if n % 500 == 499:
            pipe.execute()
    pipe.execute()
    survivors = sorted(ttl for n, ttl in enumerate(ttls) if c.exists(f"k:{n}"))
    assert 0 < len(survivors) < count
    # Under random choice the survivors' deadlines would spread evenly; nearest-first leaves
    # the later ones. (Sampling makes it approximate, as in Redis.)
    median = survivors[len(survivors) // 2]
    assert median > 10_000 + count * 0.7, (median, count)


def test_evicted_keyspace_events(server: ServerProcess) -> None:
    c = connect(server)
    c.config_set("notify-keyspace-events", "Ee")
    sub = connect(server).pubsub()
    sub.subscribe("__keyevent@0__:evicted")
    assert sub.get_message(timeout=10)["type"] == "subscribe"  # type: ignore[index]
    cap(c, "allkeys-random")
    write(c, "k", keys_for_twice_the_room(c))
    evicted = info(c, "evicted_keys")
    assert evicted > 0
    keys = set()
    while len(keys) < evicted:
        message = sub.get_message(timeout=10)
        assert message is not None, len(keys)
        keys.add(message["data"])
    assert all(not c.exists(key) for key in keys)
    assert sub.get_message(timeout=0.2) is None
    sub.close()


def test_evictions_reach_the_aof_as_del(tmp_path: Path) -> None:
    args = ("--save", "", "--appendonly", "yes", "--appendfsync", "always")
    with zyst_process(tmp_path, *args) as first:
        c = connect(first)
        cap(c, "allkeys-lru")
        write(c, "k", keys_for_twice_the_room(c))
        c.config_set("maxmemory", 0)  # (no eviction while the keys are read below)
        evicted = info(c, "evicted_keys")
        assert evicted > 0
        before = {key: c.get(key) for key in c.scan_iter(count=1000)}
    incr = b"".join(p.read_bytes() for p in (tmp_path / "appendonlydir").glob("*.incr.aof"))
    assert len(re.findall(rb"\*2\r\n\$3\r\nDEL\r\n\$\d+\r\nk:", incr)) == evicted
    with zyst_process(tmp_path, *args) as second:
        c = connect(second)
        after = {key: c.get(key) for key in c.scan_iter(count=1000)}
    assert after == before


def test_used_memory_drops_when_keys_are_freed(server: ServerProcess) -> None:
    """The figure eviction is driven by must fall when keys go (RSS need not: freed memory
    stays resident); else evicting would seem to free nothing."""
    c = connect(server)
    c.flushall()
    empty = info(c, "used_memory")
    write(c, "k", 40_000)
    full = info(c, "used_memory")
    assert full - empty > 40_000 * 100
    pipe = c.pipeline(transaction=False)
    for n in range(0, 40_000, 2):
        pipe.delete(f"k:{n}")
    pipe.execute()
    half = info(c, "used_memory")
    # Half the keys and their values are freed; the dict tables keep their size until rebuilt.
    assert full - half > 0.3 * (full - empty), (empty, full, half)
    c.flushall()
    # (The client's read buffer, grown by the pipeline, is counted too: the cron shrinks it
    # once the reads that needed it are over.)
    wait_until(
        lambda: info(c, "used_memory") - empty < 0.05 * (full - empty),
        "used_memory to come back near its empty figure",
    )
