"""Counters in INFO that tools read, against Redis: commands run, rejected calls, error
replies and their codes."""

from __future__ import annotations

import time

from tests.conftest import Oracle


def info_fields(raw: bytes) -> dict[str, str]:
    text = raw.split(b"\r\n", 1)[1].decode()
    return dict(line.split(":", 1) for line in text.split("\r\n") if ":" in line)


def test_error_and_command_counters_match_redis(oracle: Oracle) -> None:
    oracle.check("CONFIG", "RESETSTAT")
    oracle.check("AUTH", "nopass-configured")
    oracle.check("NOSUCHCOMMAND", "x")
    oracle.check("SET", "k")
    oracle.check("SET", "k", "v")
    oracle.check("LPUSH", "k", "x")
    oracle.check("GET", "k")
    ours, theirs = (info_fields(raw) for raw in oracle.run("INFO", "everything"))
    for field in ("total_error_replies", "errorstat_ERR", "errorstat_WRONGTYPE"):
        assert ours[field] == theirs[field], field
    # Both count the INFO being run; the rejected calls are left out.
    assert ours["total_commands_processed"] == theirs["total_commands_processed"] == "5"


def _counters(oracle: Oracle, *names: str) -> tuple[dict[str, str], dict[str, str]]:
    ours, theirs = (info_fields(raw) for raw in oracle.run("INFO", "stats"))
    return {n: ours[n] for n in names}, {n: theirs[n] for n in names}


# Every command Zyst has that looks a key up, read lookups and write lookups, on hits, misses,
# wrong types and an expired key. Redis counts a hit or a miss for each read lookup
# (lookupKeyRead*: GET, MGET per key, EXISTS per key, TTL, TYPE, SET ... GET, LRANGE...) and
# nothing for write lookups (SET NX, INCR, LPOP, HDEL, EXPIRE, PERSIST, DEL...). Each command
# comes with the (hits, misses) it adds.
HIT, MISS, NONE = (1, 0), (0, 1), (0, 0)
_KEYSPACE_TRAFFIC: list[tuple[tuple[str | int, ...], tuple[int, int]]] = [
    (("GET", "s"), MISS),
    (("SET", "s", "1"), NONE),
    (("GET", "s"), HIT),
    (("MGET", "s", "nosuch", "s"), (2, 1)),
    (("EXISTS", "s", "nosuch", "s"), (2, 1)),
    (("TTL", "s"), HIT),
    (("PTTL", "nosuch"), MISS),
    (("TYPE", "s"), HIT),
    (("TYPE", "nosuch"), MISS),
    (("SET", "s", "2", "GET"), HIT),
    (("SET", "t", "2", "GET"), MISS),
    (("SET", "s", "3", "NX"), NONE),
    (("SET", "u", "3", "XX"), NONE),
    (("SET", "s", "4", "XX", "GET"), HIT),
    (("INCR", "n"), NONE),
    (("INCRBY", "n", "5"), NONE),
    (("DECR", "n"), NONE),
    (("MSET", "a", "1", "b", "2"), NONE),
    (("LPUSH", "l", "x", "y"), NONE),
    (("RPUSH", "l", "z"), NONE),
    (("LRANGE", "l", "0", "-1"), HIT),
    (("LRANGE", "nosuch", "0", "-1"), MISS),
    (("LLEN", "l"), HIT),
    (("LLEN", "nosuch"), MISS),
    (("LPOP", "l"), NONE),
    (("RPOP", "l", "1"), NONE),
    (("LPOP", "nosuch"), NONE),
    (("HSET", "h", "f", "v", "g", "w"), NONE),
    (("HGET", "h", "f"), HIT),
    (("HGET", "nosuch", "f"), MISS),
    (("HGETALL", "h"), HIT),
    (("HDEL", "h", "f"), NONE),
    (("HDEL", "nosuch", "f"), NONE),
    (("SADD", "set", "m1", "m2"), NONE),
    (("SMEMBERS", "nosuch"), MISS),
    (("SREM", "set", "m1"), NONE),
    (("SPOP", "set"), NONE),
    (("SPOP", "set", "5"), NONE),
    (("GET", "l"), HIT),
    (("HGET", "s", "f"), HIT),
    (("LLEN", "h"), HIT),
    (("EXPIRE", "s", "100"), NONE),
    (("PEXPIRE", "nosuch", "100"), NONE),
    (("PERSIST", "s"), NONE),
    (("KEYS", "h*"), NONE),
    (("DBSIZE",), NONE),
    (("DEL", "s", "nosuch"), NONE),
    (("GET", "s"), MISS),
]


def test_keyspace_hits_and_misses_match_redis(oracle: Oracle) -> None:
    """The same commands move keyspace_hits and keyspace_misses as on Redis, one by one, each
    by what the table says."""
    oracle.check("CONFIG", "RESETSTAT")
    hits = misses = 0
    for command, (hit, miss) in _KEYSPACE_TRAFFIC:
        oracle.check(*command)
        hits, misses = hits + hit, misses + miss
        ours, theirs = _counters(oracle, "keyspace_hits", "keyspace_misses")
        assert ours == theirs, command
        assert theirs == {"keyspace_hits": str(hits), "keyspace_misses": str(misses)}, command
    assert theirs == {"keyspace_hits": "16", "keyspace_misses": "11"}


def test_an_expired_key_is_a_miss(oracle: Oracle) -> None:
    oracle.check("SET", "e", "v", "PX", "1")
    oracle.check("SET", "f", "v", "PX", "1")
    oracle.check("CONFIG", "RESETSTAT")
    # KEYS leaves the counters alone and lists no expired key: wait on it.
    deadline = time.monotonic() + 10
    while any(reply != b"*0\r\n" for reply in oracle.run("KEYS", "*")):
        assert time.monotonic() < deadline
    oracle.check("GET", "e")
    oracle.check("EXISTS", "f")
    ours, theirs = _counters(oracle, "keyspace_hits", "keyspace_misses")
    assert ours == theirs == {"keyspace_hits": "0", "keyspace_misses": "2"}


def test_resetstat_zeroes_the_keyspace_counters(oracle: Oracle) -> None:
    oracle.check_all(("SET", "k", "v"), ("GET", "k"), ("GET", "nosuch"))
    oracle.check("CONFIG", "RESETSTAT")
    ours, theirs = _counters(oracle, "keyspace_hits", "keyspace_misses")
    assert ours == theirs == {"keyspace_hits": "0", "keyspace_misses": "0"}


def test_net_bytes_match_redis(oracle: Oracle) -> None:
    """Identical requests and identical replies: identical byte counts, the INFO request
    included (counted when read, before it runs) and its own reply not yet."""
    oracle.check("CONFIG", "RESETSTAT")
    oracle.check("SET", "k", "v" * 1000)
    oracle.check("GET", "k")
    oracle.check("MGET", "k", "nosuch", "k")
    oracle.check("PING")
    oracle.check("NOSUCHCOMMAND", "x")
    # An inline command too, and two commands in one write (a pipeline).
    for conn in (oracle.zyst, oracle.redis):
        conn.send_raw(b"PING\r\n")
    assert oracle.zyst.read_reply() == oracle.redis.read_reply() == b"+PONG\r\n"
    pipeline = b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nPING\r\n"
    for conn in (oracle.zyst, oracle.redis):
        conn.send_raw(pipeline)
    replies = [b"", b""]
    for i, conn in enumerate((oracle.zyst, oracle.redis)):
        while not replies[i].endswith(b"+PONG\r\n"):
            replies[i] += conn.sock.recv(65536)
    assert replies[0] == replies[1]
    names = ("total_net_input_bytes", "total_net_output_bytes")
    ours, theirs = _counters(oracle, *names)
    assert ours == theirs
    assert int(theirs["total_net_input_bytes"]) > 1000
    assert int(theirs["total_net_output_bytes"]) > 3000
