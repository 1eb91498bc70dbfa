"""Introspection against real Redis: INFO commandstats/errorstats/latencystats, SLOWLOG,
LATENCY, CLIENT LIST/INFO/KILL/REPLY/NO-EVICT/GETREDIR, RESET, HELLO, ECHO, LOLWUT, DEBUG and
COMMAND GETKEYSANDFLAGS.

Durations, ids, times and addresses differ between the two servers: those tests compare
everything else (names, counts, flags, arguments) and check the varying fields' shape.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import (
    Oracle,
    RawConnection,
    ServerProcess,
    parse_reply,
    redis_process,
    split_replies,
    zyst_process,
)
from zyst.protocol.resp import encode_command


def info_fields(raw: bytes) -> dict[str, str]:
    reply = parse_reply(raw)
    text = reply.decode() if isinstance(reply, bytes) else str(reply)
    return dict(line.split(":", 1) for line in text.split("\r\n") if ":" in line)


def info_both(oracle: Oracle, section: str) -> tuple[dict[str, str], dict[str, str]]:
    ours, theirs = oracle.run("INFO", section)
    return info_fields(ours), info_fields(theirs)


def counts(value: str) -> dict[str, str]:
    """``calls=1,usec=3,...`` without the durations."""
    fields = dict(part.split("=", 1) for part in value.split(","))
    return {k: v for k, v in fields.items() if not k.startswith("usec")}


@pytest.fixture
def settings(oracle: Oracle) -> Iterator[Oracle]:
    """The oracle, with the timing settings back to their defaults afterwards."""
    yield oracle
    oracle.check(
        "CONFIG",
        "SET",
        "slowlog-log-slower-than",
        "10000",
        "slowlog-max-len",
        "128",
        "latency-monitor-threshold",
        "0",
        "latency-tracking",
        "yes",
        "latency-tracking-info-percentiles",
        "50 99 99.9",
    )
    oracle.check("SLOWLOG", "RESET")
    oracle.run("LATENCY", "RESET")


# -- INFO commandstats / errorstats / latencystats ----------------------------------------------
def test_commandstats_count_calls_rejections_and_failures_as_redis(oracle: Oracle) -> None:
    oracle.check("CONFIG", "RESETSTAT")
    oracle.check("SET", "k", "v")
    oracle.check("GET", "k")
    oracle.check("GET", "missing")
    oracle.check("GET")  # wrong arity: rejected
    oracle.check("INCR", "k")  # not an integer: failed
    oracle.check("LPUSH", "k", "x")  # WRONGTYPE: failed
    oracle.check("NOSUCHCOMMAND", "x")  # unknown: no command to count, an ERR
    oracle.run("CLIENT", "ID")
    ours, theirs = info_both(oracle, "commandstats")
    for name in ("set", "get", "incr", "lpush", "client|id"):
        key = f"cmdstat_{name}"
        assert counts(ours[key]) == counts(theirs[key]), name
        assert re.fullmatch(r"calls=\d+,usec=\d+,usec_per_call=\d+\.\d\d,.*", ours[key])
    assert counts(ours["cmdstat_get"])["calls"] == "2"
    assert counts(ours["cmdstat_get"])["rejected_calls"] == "1"
    assert counts(ours["cmdstat_incr"])["failed_calls"] == "1"
    ours, theirs = info_both(oracle, "errorstats")
    assert ours == theirs
    assert ours["errorstat_ERR"] == "count=3"
    assert ours["errorstat_WRONGTYPE"] == "count=1"


def test_commandstats_of_scripts_and_functions_as_redis(oracle: Oracle) -> None:
    """A script or function that ends in an error, a missing script or function, bad key
    counts: failed calls of EVAL/EVALSHA/FCALL; an error a script catches is not its own."""
    oracle.check(
        "FUNCTION",
        "LOAD",
        "REPLACE",
        "#!lua name=stats\n"
        "redis.register_function('boom', function() return redis.call('incr', 's') end)",
    )
    try:
        oracle.check("CONFIG", "RESETSTAT")
        oracle.check("SET", "s", "x")
        for command in (
            ("EVAL", "return 1", "0"),
            ("EVAL", "error('no')", "0"),
            ("EVAL", "return redis.call('incr', 's')", "0"),
            ("EVAL", "return redis.pcall('incr', 's')", "0"),
            ("EVAL", "redis.pcall('incr', 's') return 1", "0"),
            ("EVAL", "return {err='mine'}", "0"),
            ("EVAL", "return 1", "5"),
            ("EVAL", "return 1"),
            ("EVALSHA", "0" * 40, "0"),
            ("EVALSHA", "short", "0"),
            ("FCALL", "boom", "0"),
            ("FCALL", "nosuch", "0"),
            ("FCALL", "boom", "x"),
            ("EVAL_RO", "return redis.call('set', 'a', 'b')", "0"),
        ):
            oracle.check(*command)
        ours, theirs = info_both(oracle, "commandstats")
        for name in ("eval", "evalsha", "fcall", "eval_ro", "incr", "set"):
            key = f"cmdstat_{name}"
            assert counts(ours[key]) == counts(theirs[key]), name
        assert counts(ours["cmdstat_eval"])["failed_calls"] == "5"
        ours, theirs = info_both(oracle, "errorstats")
        assert ours == theirs
    finally:
        oracle.check("FUNCTION", "DELETE", "stats")


def test_commandstats_count_every_command_of_a_pipeline(oracle: Oracle) -> None:
    oracle.check("CONFIG", "RESETSTAT")
    pipeline = [("GET", "a")] * 5 + [("INCR", "n")] * 3 + [("GET", "a"), ("LRANGE", "l", "0", "-1")]
    oracle.check_many(pipeline)
    ours, theirs = info_both(oracle, "commandstats")
    for name, calls in (("get", "6"), ("incr", "3"), ("lrange", "1")):
        key = f"cmdstat_{name}"
        assert counts(ours[key]) == counts(theirs[key]), name
        assert counts(ours[key])["calls"] == calls


def test_commandstats_count_the_commands_exec_runs(oracle: Oracle) -> None:
    oracle.check("CONFIG", "RESETSTAT")
    oracle.check("MULTI")
    oracle.check("SET", "a", "b")
    oracle.check("AUTH", "a")
    oracle.check("GET", "a")
    oracle.check("EXEC")
    oracle.check("EXEC")
    ours, theirs = info_both(oracle, "commandstats")
    for name in ("multi", "set", "auth", "get", "exec"):
        key = f"cmdstat_{name}"
        assert counts(ours[key]) == counts(theirs[key]), name
    assert counts(ours["cmdstat_set"])["calls"] == "1"


def test_a_blocked_command_is_counted_once_when_it_ends(
    oracle: Oracle, zyst_proc: ServerProcess, redis_server: ServerProcess
) -> None:
    """Served, timed out or unblocked with an error: one call each (none while waiting)."""
    oracle.check("CONFIG", "RESETSTAT")
    for port, main in ((zyst_proc.port, oracle.zyst), (redis_server.port, oracle.redis)):
        with RawConnection(port) as waiting:
            waiting_id = parse_reply(waiting.command("CLIENT", "ID"))
            for ending in (("LPUSH", "list", "a"), ("CLIENT", "UNBLOCK", str(waiting_id))):
                waiting.send_raw(encode_command([b"BLPOP", b"list", b"0"]))
                deadline = time.monotonic() + 10
                while b"blocked_clients:1" not in main.command("INFO", "clients"):
                    assert time.monotonic() < deadline
                    time.sleep(0.01)
                main.command(*ending)
                waiting.read_reply()
            waiting.send_raw(encode_command([b"BLPOP", b"list", b"0"]))
            deadline = time.monotonic() + 10
            while b"blocked_clients:1" not in main.command("INFO", "clients"):
                assert time.monotonic() < deadline
                time.sleep(0.01)
            main.command("CLIENT", "UNBLOCK", str(waiting_id), "ERROR")
            assert waiting.read_reply().startswith(b"-UNBLOCKED")
    ours, theirs = info_both(oracle, "commandstats")
    assert counts(ours["cmdstat_blpop"]) == counts(theirs["cmdstat_blpop"])
    assert counts(ours["cmdstat_blpop"])["calls"] == "3"
    ours, theirs = info_both(oracle, "errorstats")
    assert ours == theirs


def test_resetstat_forgets_commandstats_errorstats_and_latencystats(oracle: Oracle) -> None:
    oracle.check("SET", "k", "v")
    oracle.check("GET")
    oracle.check("CONFIG", "RESETSTAT")
    for section in ("commandstats", "errorstats", "latencystats"):
        ours, theirs = info_both(oracle, section)
        # Only CONFIG RESETSTAT itself (counted after it ran) and INFO since.
        assert set(ours) == set(theirs), section
        assert all(key.endswith(("config|resetstat", "_info")) for key in ours), ours


def test_latencystats_follow_tracking_and_percentiles(settings: Oracle) -> None:
    oracle = settings
    oracle.check("CONFIG", "RESETSTAT")
    oracle.check("CONFIG", "SET", "latency-tracking", "no")
    oracle.check("SET", "a", "b")
    ours, theirs = info_both(oracle, "latencystats")
    assert "latency_percentiles_usec_set" not in ours
    assert "latency_percentiles_usec_set" not in theirs
    oracle.check("CONFIG", "SET", "latency-tracking", "yes")
    oracle.check("CONFIG", "SET", "latency-tracking-info-percentiles", "0.0 50.0 100.0")
    assert oracle.check("CONFIG", "GET", "latency-tracking-info-percentiles").endswith(
        b"$8\r\n0 50 100\r\n"
    )
    oracle.check("SET", "a", "b")
    oracle.run("CLIENT", "ID")
    ours, theirs = info_both(oracle, "latencystats")
    shape = r"p0=\d+\.\d{3},p50=\d+\.\d{3},p100=\d+\.\d{3}"
    for name in ("set", "client|id"):
        key = f"latency_percentiles_usec_{name}"
        assert re.fullmatch(shape, ours[key]), ours
        assert re.fullmatch(shape, theirs[key]), theirs


@pytest.mark.parametrize("bad", ["10.0 50.0 a", "10.0 50.0 101.0", "-1"])
def test_bad_percentiles_are_refused_as_redis(settings: Oracle, bad: str) -> None:
    settings.check("CONFIG", "SET", "latency-tracking-info-percentiles", bad)
    settings.check("CONFIG", "GET", "latency-tracking-info-percentiles")


def test_a_debug_sleep_is_the_slowest_in_latencystats(settings: Oracle) -> None:
    oracle = settings
    oracle.check("CONFIG", "RESETSTAT")
    oracle.check("CONFIG", "SET", "latency-tracking-info-percentiles", "50")
    oracle.check("DEBUG", "SLEEP", "0.05")
    oracle.check("SET", "k", "v")
    for fields in info_both(oracle, "latencystats"):
        debug = float(fields["latency_percentiles_usec_debug"].split("=")[1])
        setting = float(fields["latency_percentiles_usec_set"].split("=")[1])
        assert debug >= 50000 > setting


def test_info_sections_commandstats_and_latencystats_only_when_asked(oracle: Oracle) -> None:
    oracle.check("PING")
    for raw in oracle.run("INFO"):
        assert b"# Commandstats" not in raw and b"# Latencystats" not in raw
        assert b"# Errorstats" in raw
    for raw in oracle.run("INFO", "everything"):
        assert b"# Commandstats" in raw and b"# Latencystats" in raw


# -- SLOWLOG ------------------------------------------------------------------------------------
def slowlog_args(oracle: Oracle, count: int = -1) -> tuple[list[object], list[object]]:
    """Each entry's arguments and client name, newest first, from both servers; the other
    fields' shape checked."""
    both = []
    for raw in oracle.run("SLOWLOG", "GET", count):
        entries = parse_reply(raw)
        for entry in entries:
            assert len(entry) == 6
            entry_id, when, usec, _, addr, _ = entry
            assert isinstance(entry_id, int) and isinstance(usec, int) and usec >= 0
            assert abs(when - time.time()) < 60
            assert re.fullmatch(rb"127\.0\.0\.1:\d+", addr)
        both.append([[entry[3], entry[5]] for entry in entries])
    return both[0], both[1]


def test_slowlog_logs_trimmed_and_redacted_arguments(settings: Oracle) -> None:
    oracle = settings
    oracle.check("CLIENT", "SETNAME", "logger")
    oracle.check("CONFIG", "SET", "slowlog-log-slower-than", "0")
    oracle.check("SLOWLOG", "RESET")
    oracle.check("SADD", "set", *range(3, 34))  # 33 arguments: trimmed to 32
    oracle.check("SADD", "set", "foo", "A" * 129)  # one byte over
    oracle.check("AUTH", "default", "secret")
    oracle.run("HELLO", "2", "AUTH", "default", "secret")
    oracle.check("MULTI")
    oracle.check("SET", "k", "v")
    oracle.check("EXEC")  # not logged: its commands are
    oracle.check("CONFIG", "SET", "slowlog-log-slower-than", "-1")
    ours, theirs = slowlog_args(oracle)
    assert ours == theirs
    assert [b"AUTH", b"(redacted)", b"(redacted)"] in [entry[0] for entry in ours]
    assert ours[0][1] == b"logger"
    assert [e[0][-1] for e in ours if e[0][0] == b"SADD"] == [
        b"A" * 128 + b"... (1 more bytes)",
        b"... (2 more arguments)",
    ]
    oracle.check("CLIENT", "SETNAME", "")


def test_slowlog_len_get_count_reset_and_max_len(settings: Oracle) -> None:
    oracle = settings
    oracle.check("CONFIG", "SET", "slowlog-log-slower-than", "0", "slowlog-max-len", "3")
    oracle.check("SLOWLOG", "RESET")
    for command in (("SET", "key", "test"), ("SADD", "set", "a"), ("INCR", "n"), ("PING",)):
        oracle.check(*command)
    assert oracle.check("SLOWLOG", "LEN") == b":3\r\n"
    assert oracle.check("SLOWLOG", "GET", "0") == b"*0\r\n"
    ours, theirs = slowlog_args(oracle, 1)
    assert ours == theirs == [[[b"SLOWLOG", b"GET", b"0"], b""]]
    for bad in ("-2", "-222", "x"):
        oracle.check("SLOWLOG", "GET", bad)
    oracle.check("SLOWLOG", "GET", "1", "2")
    oracle.check("SLOWLOG", "HELP")
    oracle.check("SLOWLOG", "NOPE")
    oracle.check("CONFIG", "SET", "slowlog-log-slower-than", "-1")
    oracle.check("SLOWLOG", "RESET")
    assert oracle.check("SLOWLOG", "LEN") == b":0\r\n"


def test_the_slow_command_of_a_pipeline_is_the_one_logged(settings: Oracle) -> None:
    """A batch's time goes to its slow command, not shared out equally (zyst.timing)."""
    oracle = settings
    oracle.check("CONFIG", "SET", "slowlog-log-slower-than", "100000")
    oracle.check("SLOWLOG", "RESET")
    oracle.check_many([("PING",), ("SET", "a", "1"), ("DEBUG", "SLEEP", "0.2"), ("GET", "a")])
    ours, theirs = slowlog_args(oracle)
    assert ours == theirs == [[[b"DEBUG", b"SLEEP", b"0.2"], b""]]
    oracle.check("SLOWLOG", "RESET")
    oracle.check_many([("MULTI",), ("DEBUG", "SLEEP", "0.2"), ("EXEC",)])
    ours, theirs = slowlog_args(oracle)
    assert ours == theirs == [[[b"DEBUG", b"SLEEP", b"0.2"], b""]]
    for raw in oracle.run("SLOWLOG", "GET"):
        assert parse_reply(raw)[0][2] >= 200000


# -- LATENCY ------------------------------------------------------------------------------------
def test_latency_monitor_records_slow_commands(settings: Oracle) -> None:
    oracle = settings
    oracle.run("LATENCY", "RESET")
    oracle.check("CONFIG", "SET", "latency-monitor-threshold", "0")
    assert oracle.check("LATENCY", "DOCTOR").startswith(b"$")  # "I'm sorry, Dave" on both
    oracle.check("LATENCY", "LATEST")
    oracle.check("CONFIG", "SET", "latency-monitor-threshold", "100")
    oracle.check("DEBUG", "SLEEP", "0.15")
    for raw in oracle.run("LATENCY", "LATEST"):
        [[event, when, latest, worst]] = parse_reply(raw)
        assert event == b"command" and 150 <= latest == worst < 1000
        assert abs(when - time.time()) < 60
    for raw in oracle.run("LATENCY", "HISTORY", "command"):
        [[_, latency]] = parse_reply(raw)
        assert latency >= 150
    oracle.check("LATENCY", "HISTORY", "nothing")
    oracle.check("LATENCY", "GRAPH", "nothing")
    for raw in oracle.run("LATENCY", "GRAPH", "command"):
        text = parse_reply(raw).decode()
        assert re.match(
            r"command - high \d+ ms, low \d+ ms \(all time high \d+ ms\)\n-{80}\n", text
        )
    for raw in oracle.run("LATENCY", "DOCTOR"):
        assert b"1. command: 1 latency spikes (average " in raw
    oracle.check("LATENCY", "RESET", "nothing")
    assert oracle.check("LATENCY", "RESET", "COMMAND") == b":1\r\n"
    assert oracle.check("LATENCY", "LATEST") == b"*0\r\n"
    oracle.check("LATENCY", "HELP")
    oracle.check("LATENCY", "HELP", "xxx")
    oracle.check("LATENCY", "NOPE")


def test_latency_histogram_counts_calls_per_command(settings: Oracle) -> None:
    oracle = settings
    oracle.check("CONFIG", "RESETSTAT")
    oracle.check("SET", "a", "b")
    oracle.check("SET", "a", "c")
    oracle.check("GET", "a")
    oracle.run("CLIENT", "ID")
    oracle.check("LATENCY", "HISTOGRAM", "nothing")
    ours, theirs = oracle.run("LATENCY", "HISTOGRAM", "nothing", "set", "GET", "client")
    for raw in (ours, theirs):
        reply = parse_reply(raw)
        histograms = dict(zip(reply[::2], reply[1::2], strict=True))
        assert set(histograms) == {b"set", b"get", b"client|id"}
        calls = {name: h[1] for name, h in histograms.items()}
        assert calls == {b"set": 2, b"get": 1, b"client|id": 1}
        for histogram in histograms.values():
            buckets = histogram[3]
            assert buckets[-1] == histogram[1]  # cumulative


# -- CLIENT -------------------------------------------------------------------------------------
def client_fields(line: bytes) -> list[tuple[str, str]]:
    return [tuple(part.split("=", 1)) for part in line.decode().strip().split(" ")]  # type: ignore[misc]


def test_client_info_has_redis_fields_in_order(oracle: Oracle) -> None:
    ours, theirs = oracle.run("CLIENT", "INFO")
    mine = client_fields(parse_reply(ours))
    redis = client_fields(parse_reply(theirs))
    assert [name for name, _ in mine] == [name for name, _ in redis]
    same = ("name", "flags", "db", "sub", "psub", "ssub", "multi", "qbuf", "cmd", "user", "redir")
    assert [f for f in mine if f[0] in same] == [f for f in redis if f[0] in same]
    assert dict(mine)["argv-mem"] == dict(redis)["argv-mem"] == "10"


def test_client_list_shows_multi_queue_and_flags(
    oracle: Oracle, zyst_proc: ServerProcess, redis_server: ServerProcess
) -> None:
    with RawConnection(zyst_proc.port) as a, RawConnection(redis_server.port) as b:
        lines = []
        for conn, main in ((a, oracle.zyst), (b, oracle.redis)):
            conn.command("SELECT", "3")
            conn.command("CLIENT", "SETNAME", "queuer")
            conn.command("WATCH", "w")
            main.command("SET", "w", "1")
            conn.command("MULTI")
            conn.command("SET", "x", "1")
            conn.command("INCR", "y")
            cid = parse_reply(conn.command("CLIENT", "ID"))  # queued
            assert cid == b"QUEUED"
            listing = parse_reply(main.command("CLIENT", "LIST", "TYPE", "normal")).decode()
            line = next(ln for ln in listing.splitlines() if "name=queuer" in ln)
            lines.append(dict(client_fields(line.encode())))
            conn.command("DISCARD")
        # (Not cmd=: Redis shows the last command queued, Zyst the last one that ran.)
        keep = ("flags", "db", "multi", "name", "qbuf", "argv-mem")
        assert {k: lines[0][k] for k in keep} == {k: lines[1][k] for k in keep}
        assert lines[0]["multi"] == "3" and lines[0]["flags"].startswith("x")
    oracle.check("CLIENT", "LIST", "TYPE", "pubsub")
    oracle.check("CLIENT", "LIST", "TYPE", "master")
    oracle.check("CLIENT", "LIST", "TYPE", "nope")


@pytest.mark.parametrize(
    "args",
    [
        ("CLIENT", "KILL", "000.123.321.567:0000"),
        ("CLIENT", "KILL", "127.0.0.1:"),
        ("CLIENT", "KILL", "ID", "0"),
        ("CLIENT", "KILL", "ID", "x"),
        ("CLIENT", "KILL", "TYPE", "wrong"),
        ("CLIENT", "KILL", "USER", "wrong"),
        ("CLIENT", "KILL", "SKIPME", "yes_or_no"),
        ("CLIENT", "KILL", "MAXAGE", "10"),
        ("CLIENT", "KILL", "ID", "1", "TYPE"),
        ("CLIENT", "KILL", "ADDR", "1.1.1.1:1", "ID", "1"),
        ("CLIENT", "KILL", "TYPE", "master"),
        ("CLIENT", "KILL", "USER", "default", "ADDR", "1.1.1.1:1"),
    ],
)
def test_client_kill_errors_and_misses_as_redis(oracle: Oracle, args: tuple[str, ...]) -> None:
    oracle.check(*args)


def test_client_kill_by_id_addr_and_skipme(
    oracle: Oracle, zyst_proc: ServerProcess, redis_server: ServerProcess
) -> None:
    for port, main in ((zyst_proc.port, oracle.zyst), (redis_server.port, oracle.redis)):
        with RawConnection(port) as victim:
            victim_id = parse_reply(victim.command("CLIENT", "ID"))
            assert main.command("CLIENT", "KILL", "ID", str(victim_id)) == b":1\r\n"
            assert victim.read_until_closed() == b""
        with RawConnection(port) as victim:
            info = parse_reply(victim.command("CLIENT", "INFO")).decode()
            addr = re.search(r"addr=(\S+)", info)
            assert addr is not None
            assert main.command("CLIENT", "KILL", addr.group(1)) == b"+OK\r\n"
            assert victim.read_until_closed() == b""
        # SKIPME yes (the default) spares the caller; no kills it after its reply.
        own = parse_reply(main.command("CLIENT", "ID"))
        assert main.command("CLIENT", "KILL", "ID", str(own)) == b":0\r\n"
        assert main.command("CLIENT", "KILL", "ID", str(own), "SKIPME", "no") == b":1\r\n"
        assert main.read_until_closed() == b""


def replies_of(conn: RawConnection, commands: list[tuple[str, ...]], expected: int) -> bytes:
    """Send ``commands`` in one write and return the bytes of the ``expected`` replies."""
    conn.send_raw(b"".join(encode_command([a.encode() for a in c]) for c in commands))
    raw = b""
    while split_replies(raw, expected) is None:
        raw += conn.sock.recv(65536)
    return raw


@pytest.mark.parametrize(
    ("commands", "expected"),
    [
        (
            [("CLIENT", "REPLY", "OFF"), ("PING",), ("GET",), ("CLIENT", "REPLY", "ON"), ("PING",)],
            2,
        ),
        ([("CLIENT", "REPLY", "SKIP"), ("PING", "a"), ("PING", "b")], 1),
        ([("CLIENT", "REPLY", "SKIP"), ("CLIENT", "REPLY", "ON"), ("PING",)], 2),
        ([("CLIENT", "REPLY", "OFF"), ("CLIENT", "REPLY", "SKIP"), ("CLIENT", "REPLY", "ON")], 1),
        ([("CLIENT", "REPLY", "WRONG"), ("PING",)], 2),
    ],
)
def test_client_reply_as_redis(
    oracle: Oracle, commands: list[tuple[str, ...]], expected: int
) -> None:
    ours = replies_of(oracle.zyst, commands, expected)
    theirs = replies_of(oracle.redis, commands, expected)
    assert ours == theirs
    oracle.check("PING", "after")  # nothing more was sent


def test_client_no_evict_getredir_and_flags(oracle: Oracle) -> None:
    oracle.check("CLIENT", "NO-EVICT", "wrong")
    oracle.check("CLIENT", "NO-EVICT", "on")
    for raw in oracle.run("CLIENT", "INFO"):
        assert " flags=e " in parse_reply(raw).decode()
    oracle.check("CLIENT", "NO-EVICT", "off")
    assert oracle.check("CLIENT", "GETREDIR") == b":-1\r\n"
    oracle.check("CLIENT", "GETNAME")
    oracle.check("CLIENT", "SETNAME", "with space")
    oracle.check("CLIENT", "SETNAME", "ok")
    oracle.check("CLIENT", "GETNAME")
    oracle.check("CLIENT", "SETNAME", "")


# -- RESET, HELLO, ECHO, LOLWUT -----------------------------------------------------------------
def test_reset_leaves_multi_watch_db_name_and_protocol(oracle: Oracle) -> None:
    oracle.check("WATCH", "w")
    oracle.check("SELECT", "2")
    oracle.check("CLIENT", "SETNAME", "before")
    oracle.check("CLIENT", "NO-EVICT", "on")
    oracle.run("HELLO", "3")
    oracle.check("MULTI")
    oracle.check("SET", "x", "1")
    assert oracle.check("RESET") == b"+RESET\r\n"
    ours, theirs = oracle.run("CLIENT", "INFO")
    keep = ("name", "flags", "db", "multi", "resp")
    mine = dict(client_fields(parse_reply(ours)))
    redis = dict(client_fields(parse_reply(theirs)))
    assert {k: mine[k] for k in keep} == {k: redis[k] for k in keep}
    assert mine["db"] == "0" and mine["multi"] == "-1" and mine["resp"] == "2"
    oracle.check("EXISTS", "x")
    # Nothing watched any more: a change of w does not abort the next transaction.
    oracle.check("SET", "w", "changed")
    oracle.check_many([("MULTI",), ("GET", "w"), ("EXEC",)])
    oracle.check("RESET", "extra")


def test_reset_ends_client_reply_off(oracle: Oracle) -> None:
    ours = replies_of(oracle.zyst, [("CLIENT", "REPLY", "OFF"), ("RESET",), ("PING",)], 2)
    theirs = replies_of(oracle.redis, [("CLIENT", "REPLY", "OFF"), ("RESET",), ("PING",)], 2)
    assert ours == theirs == b"+RESET\r\n+PONG\r\n"


@pytest.mark.parametrize(
    "args",
    [
        ("HELLO", "4"),
        ("HELLO", "x"),
        ("HELLO", "2", "AUTH", "nobody", "pw"),
        ("HELLO", "2", "AUTH", "default"),
        ("HELLO", "2", "SETNAME", "a b"),
        ("HELLO", "2", "WHAT"),
        ("HELLO", "2", "SETNAME"),
        ("ECHO", "hello"),
        ("ECHO",),
        ("ECHO", "a", "b"),
        ("LOLWUT", "VERSION", "x"),
        ("LOLWUT", "VERSION", "7"),
        ("LOLWUT", "VERSION", "-1"),
        ("LOLWUT", "VERSION", "9", "10", "20"),
        ("LOLWUT", "1", "2"),
        ("LOLWUT",),
    ],
)
def test_connection_commands_as_redis(oracle: Oracle, args: tuple[str, ...]) -> None:
    oracle.check(*args)


def test_hello_auth_and_setname(oracle: Oracle) -> None:
    ours, theirs = oracle.run("HELLO", "2", "AUTH", "default", "any", "SETNAME", "helloer")
    mine, redis = parse_reply(ours), parse_reply(theirs)
    assert mine[::2] == redis[::2]
    assert mine[5] == redis[5] == 2  # proto
    oracle.check("CLIENT", "GETNAME")
    oracle.check("CLIENT", "SETNAME", "")


# -- DEBUG --------------------------------------------------------------------------------------
def test_debug_object_sleep_and_errors(oracle: Oracle) -> None:
    oracle.check("DEBUG", "SLEEP", "0")
    oracle.check("DEBUG", "OBJECT", "missing")
    oracle.check("DEBUG", "NOPE")
    oracle.check("DEBUG", "SLEEP")
    for value, encoding in (("12345", "int"), ("hello", "embstr"), ("x" * 100, "raw")):
        oracle.check("SET", "s", value)
        ours, theirs = oracle.run("DEBUG", "OBJECT", "s")
        pattern = (
            rb"\+Value at:0x[0-9a-f]+ refcount:\d+ encoding:(\w+) serializedlength:(\d+) "
            rb"lru:\d+ lru_seconds_idle:\d+\r\n"
        )
        mine, redis = re.fullmatch(pattern, ours), re.fullmatch(pattern, theirs)
        assert mine is not None and redis is not None, (ours, theirs)
        assert mine.group(1) == redis.group(1) == encoding.encode()
    oracle.check("RPUSH", "l", "a", "bb")
    ours, theirs = oracle.run("DEBUG", "OBJECT", "l")
    for raw in (ours, theirs):
        assert re.search(rb"encoding:quicklist .* ql_nodes:1 ql_avg_node:2\.00 ", raw)


def test_debug_set_active_expire_stops_and_restarts_the_cycle(zyst_proc: ServerProcess) -> None:
    with RawConnection(zyst_proc.port) as conn:
        conn.command("FLUSHALL")
        assert conn.command("DEBUG", "SET-ACTIVE-EXPIRE", "0") == b"+OK\r\n"
        conn.command("SET", "k", "v", "PX", "1")
        time.sleep(0.3)  # several cron ticks pass (hz 10); none removes the key
        assert conn.command("DBSIZE") == b":1\r\n"
        conn.command("DEBUG", "SET-ACTIVE-EXPIRE", "1")
        deadline = time.monotonic() + 10
        while conn.command("DBSIZE") != b":0\r\n":
            assert time.monotonic() < deadline
            time.sleep(0.01)


# -- COMMAND GETKEYSANDFLAGS --------------------------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ("SET", "k1", "v1"),
        ("SET", "k1", "v1", "GET"),
        ("BITFIELD", "k", "GET", "u8", "0"),
        ("BITFIELD", "k", "INCRBY", "u8", "0", "1"),
        ("MSET", "k1", "v1", "k2", "v2"),
        ("LMOVE", "k1", "k2", "left", "right"),
        ("SORT", "k1", "STORE", "k2"),
        ("SORT", "k1"),
        ("ZUNIONSTORE", "dst", "2", "a", "b"),
        ("LMPOP", "2", "a", "b", "LEFT"),
        ("GET", "k"),
        ("DEL", "a", "b", "c"),
        ("PING",),
        ("NOSUCH", "x"),
        ("GET",),
        ("ZUNIONSTORE", "dst", "5", "a"),
    ],
)
def test_command_getkeysandflags_as_redis(oracle: Oracle, args: tuple[str, ...]) -> None:
    oracle.check("COMMAND", "GETKEYSANDFLAGS", *args)


def test_command_help_lists_getkeysandflags(oracle: Oracle) -> None:
    for raw in oracle.run("COMMAND", "HELP"):
        assert b"GETKEYSANDFLAGS <full-command>" in raw


def test_debug_is_refused_unless_enabled(tmp_path: Path) -> None:
    with (
        zyst_process(tmp_path / "zyst", "--appendonly", "no") as zyst,
        redis_process(tmp_path / "redis") as real,
    ):
        oracle = Oracle(zyst.port, real.port)
        oracle.check("CONFIG", "GET", "enable-debug-command")
        oracle.check("DEBUG", "SLEEP", "0")
        oracle.check("CONFIG", "SET", "enable-debug-command", "yes")
        ours, theirs = info_both(oracle, "commandstats")
        assert counts(ours["cmdstat_debug"]) == counts(theirs["cmdstat_debug"])
        oracle.close()


@pytest.mark.parametrize("args", [(), ("40", "4", "6"), ("1",), ("100", "0", "1")])
def test_lolwut_version_5_draws_schotter(oracle: Oracle, args: tuple[str, ...]) -> None:
    """The squares of the first two rows are straight (the same on both servers), the rest
    are turned at random: the drawing's size and its first and last lines are compared."""
    ours, theirs = (
        parse_reply(raw).split(b"\n") for raw in oracle.run("LOLWUT", "VERSION", "5", *args)
    )
    assert len(ours) == len(theirs)
    # The last drawing line (before the blank and the caption) is made of turned squares, so
    # only its width is the same.
    # (At one column a single braille character covers the first row and part of the
    # turned ones, so its first line varies too.)
    assert ours[-2:] == theirs[-2:]
    assert args == ("1",) or ours[0] == theirs[0]
    assert [len(line.decode()) for line in ours] == [len(line.decode()) for line in theirs]
    assert ours[-2].startswith(b"Georg Nees - schotter, plotter on paper, 1968. Redis ver. ")


def test_lolwut_version_5_arguments_must_be_integers(oracle: Oracle) -> None:
    oracle.check("LOLWUT", "VERSION", "5", "x")
    oracle.check("LOLWUT", "VERSION", "5", "10", "y")


def test_client_list_cmd_names_the_last_command_as_redis(oracle: Oracle) -> None:
    """``cmd=`` after commands run, refused (unknown: NULL; wrong arity: the command) and
    queued in MULTI (the queued command)."""
    steps: list[tuple[str, ...]] = [
        ("GET", "a"),
        ("NOSUCH",),
        ("GET",),
        ("CONFIG", "NOSUCH"),
        ("CONFIG", "GET"),
        ("MULTI",),
        ("SET", "a", "1"),
        ("NOSUCH",),
        ("CONFIG", "GET"),
        ("SUBSCRIBE", "x"),
        ("DISCARD",),
    ]
    seen = []
    for conn in (oracle.zyst, oracle.redis):
        with RawConnection(conn.sock.getpeername()[1]) as watched:
            watched.command("CLIENT", "SETNAME", "watched")
            shown = []
            for step in steps:
                watched.command(*step)
                listing = conn.command("CLIENT", "LIST").decode()
                line = next(row for row in listing.split("\n") if "name=watched" in row)
                shown.append(re.search(r" cmd=(\S+)", line).group(1))  # type: ignore[union-attr]
            seen.append(shown)
    assert seen[0] == seen[1]
    assert seen[0][1] == "NULL"
