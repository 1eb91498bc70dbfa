"""maxmemory's replies against redis-server: the settings, and ``-OOM`` for plain commands,
MULTI (at queue time and at EXEC) and scripts (EVAL with and without flags, functions).

Both servers run with ``maxmemory 1`` under ``noeviction`` (always out of memory, as Redis's
own suite does it) and are given the limit back between cases; each pair is started for this
module so that the session servers keep no limit.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import Oracle, RawConnection, check_sequence, redis_process, zyst_process

OOM = b"-OOM command not allowed when used memory > 'maxmemory'.\r\n"


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int]]:
    """A Zyst and a redis-server of their own: their ports."""
    args = ("--save", "", "--appendonly", "no")
    with (
        zyst_process(tmp_path_factory.mktemp("zyst"), *args) as ours,
        redis_process(tmp_path_factory.mktemp("redis"), *args) as theirs,
    ):
        yield ours.port, theirs.port


@pytest.fixture
def capped(servers: tuple[int, int]) -> Iterator[Oracle]:
    """Fresh connections to both servers, compared reply for reply."""
    oracle = Oracle(*servers)
    try:
        yield oracle
    finally:
        oracle.close()


@pytest.fixture
def oom(capped: Oracle) -> Iterator[Oracle]:
    """Both servers out of memory (``maxmemory 1``, ``noeviction``), the limit lifted after."""
    capped.check("FLUSHALL")
    capped.check("FUNCTION", "FLUSH")
    capped.check("SET", "present", "1")
    capped.check("CONFIG", "SET", "maxmemory-policy", "noeviction")
    capped.check("CONFIG", "SET", "maxmemory", "1")
    try:
        yield capped
    finally:
        capped.check("CONFIG", "SET", "maxmemory", "0")


@pytest.mark.parametrize(
    "name",
    [
        "maxmemory",
        "maxmemory-policy",
        "maxmemory-samples",
        "maxmemory-eviction-tenacity",
        "lfu-log-factor",
        "lfu-decay-time",
    ],
)
def test_config_get_of_each_setting(capped: Oracle, name: str) -> None:
    capped.check("CONFIG", "GET", name)


def test_config_set_ranges(capped: Oracle) -> None:
    for name, values in [
        ("maxmemory-samples", ("0", "1", "64", "65", "x", "10")),
        ("maxmemory-eviction-tenacity", ("-1", "0", "100", "101", "10")),
        ("maxmemory-policy", ("allkeys-lfu", "volatile-ttl", "bogus", "noeviction")),
        ("maxmemory", ("10mb", "1gb", "-1", "x", "0")),
    ]:
        for value in values:
            capped.check("CONFIG", "SET", name, value)
            capped.check("CONFIG", "GET", name)


def test_denyoom_commands_are_refused_others_run(oom: Oracle) -> None:
    check_sequence(
        oom,
        [
            ("SET", "k", "v"),
            ("GET", "present"),
            ("APPEND", "present", "x"),
            ("INCR", "present"),  # denyoom too, though it grows nothing
            ("DEL", "present"),
            ("LPUSH", "l", "a"),
            ("EXISTS", "present"),
            ("PING",),
        ],
        {0: OOM, 1: b"$1\r\n1\r\n", 4: b":1\r\n"},
    )
    ours, theirs = oom.run("INFO", "commandstats")
    refused = b"cmdstat_lpush:calls=0,usec=0,usec_per_call=0.00,rejected_calls=1,failed_calls=0"
    assert refused in ours and refused in theirs


def test_multi_refuses_at_queue_time_and_exec_aborts(oom: Oracle) -> None:
    check_sequence(
        oom,
        [
            ("MULTI",),
            ("GET", "present"),  # anything queued is refused when out of memory
            ("SET", "k", "v"),
            ("EXEC",),
            ("MULTI",),
            ("DISCARD",),
        ],
        {1: OOM, 3: b"-EXECABORT Transaction discarded because of previous errors.\r\n"},
    )


def test_exec_of_a_denyoom_transaction_queued_before_the_limit(
    capped: Oracle, servers: tuple[int, int]
) -> None:
    capped.check("FLUSHALL")
    capped.check("CONFIG", "SET", "maxmemory-policy", "noeviction")
    capped.check("MULTI")
    capped.check("SET", "k", "v")
    # Another connection lowers the limit while the transaction is open.
    for port in servers:
        with RawConnection(port) as other:
            assert other.command("CONFIG", "SET", "maxmemory", "1") == b"+OK\r\n"
    try:
        reply = capped.check("EXEC")
        assert reply.startswith(b"-EXECABORT") and b"OOM" in reply, reply
        capped.check("MULTI")
        capped.check("CONFIG", "SET", "maxmemory", "0")  # refused: anything queued is
        capped.check("DISCARD")
    finally:
        capped.check("CONFIG", "SET", "maxmemory", "0")
    capped.check("MULTI")
    capped.check("GET", "k")
    capped.check("EXEC")


def test_scripts(oom: Oracle) -> None:
    check_sequence(
        oom,
        [
            # No shebang: the script runs; its first denyoom call fails.
            ("EVAL", "return redis.call('set', 'k', 'v')", "0"),
            ("EVAL", "return redis.pcall('set', 'k', 'v')", "0"),
            ("EVAL", "return redis.call('get', 'present')", "0"),
            # After a write that is not denyoom, the script may go on writing.
            ("EVAL", "redis.call('del', 'gone'); return redis.call('get', 'present')", "0"),
            ("EVAL", "redis.call('del', 'present'); return redis.call('set', 'k', 'v')", "0"),
            # Declared flags: refused before running unless no-writes or allow-oom.
            ("EVAL", "#!lua\nreturn 1", "0"),
            ("EVAL", "#!lua flags=no-writes\nreturn redis.call('get', 'k')", "0"),
            ("EVAL", "#!lua flags=allow-oom\nreturn redis.call('set', 'k2', 'v')", "0"),
            ("EVAL_RO", "#!lua flags=no-writes\nreturn 1", "0"),
            ("EVAL_RO", "return redis.call('get', 'k')", "0"),
        ],
        {5: OOM},
    )


def test_script_oom_error_text(oom: Oracle) -> None:
    ours = oom.check("EVAL", "return redis.call('set', 'k', 'v')", "0")
    assert ours.startswith(b"-OOM command not allowed"), ours
    pcall = oom.check("EVAL", "return redis.pcall('set', 'k', 'v')", "0")
    assert pcall.startswith(b"-OOM"), pcall


def test_evalsha_and_functions(oom: Oracle) -> None:
    plain = "return redis.call('set', KEYS[1], 'v')"
    flagged = "#!lua\nreturn 1"
    oom.check("CONFIG", "SET", "maxmemory", "0")
    sha_plain = oom.check("SCRIPT", "LOAD", plain)
    sha_flagged = oom.check("SCRIPT", "LOAD", flagged)
    library = (
        "#!lua name=lib\n"
        "redis.register_function('plain', function(keys) "
        "return redis.call('set', keys[1], 1) end)\n"
        "redis.register_function{function_name='free', callback=function(keys) "
        "return redis.call('set', keys[1], 1) end, flags={'allow-oom'}}\n"
        "redis.register_function{function_name='reader', callback=function(keys) "
        "return redis.call('get', keys[1]) end, flags={'no-writes'}}\n"
    )
    oom.check("FUNCTION", "LOAD", library)
    oom.check("CONFIG", "SET", "maxmemory", "1")
    check_sequence(
        oom,
        [
            ("EVALSHA", sha_plain.split(b"\r\n")[1], "1", "a"),
            ("EVALSHA", sha_flagged.split(b"\r\n")[1], "0"),
            ("FCALL", "plain", "1", "a"),
            ("FCALL", "free", "1", "a"),
            ("FCALL", "reader", "1", "a"),
            ("FCALL_RO", "reader", "1", "a"),
            ("FUNCTION", "LOAD", "REPLACE", library),
            ("FUNCTION", "DELETE", "lib"),
        ],
        {1: OOM, 2: OOM, 3: b"+OK\r\n"},
    )


def test_eviction_leaves_memory_under_the_limit_for_both(capped: Oracle) -> None:
    """Under allkeys-random with the limit at 1 byte, every key goes and writes still fail
    (nothing left to evict), on both servers alike."""
    capped.check("FLUSHALL")
    for n in range(20):
        capped.check("SET", f"k{n}", "v")
    capped.check("CONFIG", "SET", "maxmemory-policy", "allkeys-random")
    capped.check("CONFIG", "SET", "maxmemory", "1")
    try:
        check_sequence(capped, [("SET", "x", "y"), ("DBSIZE",), ("GET", "k1")], {0: OOM})
    finally:
        capped.check("CONFIG", "SET", "maxmemory", "0")
        capped.check("CONFIG", "SET", "maxmemory-policy", "noeviction")


def _used_memory(conn: RawConnection) -> int:
    info = conn.command("INFO", "memory").decode()
    return int(info.split("used_memory:")[1].split("\r\n")[0])


def test_a_write_that_outgrows_its_arguments_is_evicted_for_before_the_next_reply(
    servers: tuple[int, int],
) -> None:
    """SETBIT at a far offset stores far more than it was sent: the check before the next
    command (a read) still sees it and evicts, and a tracking client gets the evicted key's
    invalidation before that command's reply (Redis's suite: "Tracking invalidation message of
    eviction keys should be before response")."""
    for port in servers:
        conn = RawConnection(port)
        try:
            assert conn.command("FLUSHALL") == b"+OK\r\n"
            conn.command("HELLO", "3")
            assert conn.command("CLIENT", "TRACKING", "on") == b"+OK\r\n"
            limit = _used_memory(conn) + 100 * 1024
            conn.command("CONFIG", "SET", "maxmemory", limit)
            conn.command("CONFIG", "SET", "maxmemory-policy", "volatile-random")
            assert conn.command("SETEX", "volatile-key", 10000, "x") == b"+OK\r\n"
            assert conn.command("GET", "volatile-key") == b"$1\r\nx\r\n"
            assert conn.command("SETBIT", "big-key", 1600000, 0) == b":0\r\n"
            # The invalidation push first, then GETBIT's own reply.
            conn.send_raw(b"*3\r\n$6\r\nGETBIT\r\n$7\r\nbig-key\r\n$1\r\n0\r\n")
            assert conn.read_replies(2) == [
                b">2\r\n$10\r\ninvalidate\r\n*1\r\n$12\r\nvolatile-key\r\n",
                b":0\r\n",
            ]
        finally:
            conn.command("CONFIG", "SET", "maxmemory", 0)
            conn.command("CONFIG", "SET", "maxmemory-policy", "noeviction")
            conn.close()
