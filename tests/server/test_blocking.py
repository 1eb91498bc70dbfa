"""Blocking pops with several real clients, each scenario run on Zyst and on redis-server and
the raw bytes every client received compared: wake-up order, one push serving several
waiters, timeouts, a client that disconnects while blocked, and a blocked client's pipeline.

No timing is asserted: a test waits (polling INFO) until the server reports its clients
blocked before it acts, and a timeout is only checked to end in a null reply.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import hiredis
import pytest

from tests.conftest import RawConnection, ServerProcess, aof_incr_bytes, zyst_process
from zyst.protocol.resp import encode_command

Scenario = Callable[[int], list[bytes]]


def blocked_clients(conn: RawConnection) -> int:
    info = conn.command("INFO", "clients").decode()
    return int(info.split("blocked_clients:")[1].split("\r\n")[0])


def wait_blocked(probe: RawConnection, count: int) -> None:
    """Poll until ``count`` clients are blocked (the deadline only stops a hung test)."""
    deadline = time.monotonic() + 30
    while blocked_clients(probe) != count:
        assert time.monotonic() < deadline, f"never saw {count} blocked clients"
        time.sleep(0.005)


def send(conn: RawConnection, *args: str | bytes) -> None:
    conn.send_raw(encode_command([a.encode() if isinstance(a, str) else a for a in args]))


def read_exactly(conn: RawConnection, count: int) -> bytes:
    """The bytes of the next ``count`` replies (the server sends nothing more meanwhile)."""
    reader = hiredis.Reader()
    raw = b""
    while count:
        chunk = conn.sock.recv(65536)
        assert chunk, f"connection closed; got so far: {raw!r}"
        raw += chunk
        reader.feed(chunk)
        while count and reader.gets() is not False:
            count -= 1
    return raw


@pytest.fixture
def both(
    zyst_proc: ServerProcess, redis_server: ServerProcess
) -> Iterator[Callable[[Scenario], None]]:
    """Run a scenario on both servers (each flushed first) and assert the same bytes."""

    def check(scenario: Scenario) -> None:
        seen = []
        for server in (zyst_proc, redis_server):
            with RawConnection(server.port) as admin:
                assert admin.command("FLUSHALL") == b"+OK\r\n"
            seen.append(scenario(server.port))
        assert seen[0] == seen[1], f"zyst {seen[0]!r} != redis {seen[1]!r}"

    yield check


def test_waiters_are_served_first_come_first_served_by_one_push(
    both: Callable[[Scenario], None],
) -> None:
    def scenario(port: int) -> list[bytes]:
        with RawConnection(port) as probe:
            waiters = [RawConnection(port) for _ in range(3)]
            try:
                for n, waiter in enumerate(waiters):
                    send(waiter, "BLPOP", "q", "0")
                    wait_blocked(probe, n + 1)
                # One push of two elements serves the first two, in the order they came.
                pushed = probe.command("RPUSH", "q", "a", "b")
                first = [read_exactly(waiters[0], 1), read_exactly(waiters[1], 1)]
                wait_blocked(probe, 1)
                pushed += probe.command("RPUSH", "q", "c")
                last = read_exactly(waiters[2], 1)
                return [pushed, *first, last, probe.command("EXISTS", "q")]
            finally:
                for waiter in waiters:
                    waiter.close()

    both(scenario)


def test_one_waiter_on_several_keys_gets_the_first_that_fills(
    both: Callable[[Scenario], None],
) -> None:
    def scenario(port: int) -> list[bytes]:
        with RawConnection(port) as probe, RawConnection(port) as waiter:
            send(waiter, "BRPOP", "a", "b", "c", "0")
            wait_blocked(probe, 1)
            # A key of another type serves nobody; the list that follows does.
            out = [probe.command("HSET", "a", "f", "v"), probe.command("RPUSH", "b", "x", "y")]
            out.append(read_exactly(waiter, 1))
            out.append(probe.command("LRANGE", "b", "0", "-1"))
            return out

    both(scenario)


@pytest.mark.parametrize("protocol", [2, 3])
def test_a_timeout_ends_in_a_null_reply(both: Callable[[Scenario], None], protocol: int) -> None:
    def scenario(port: int) -> list[bytes]:
        with RawConnection(port) as conn:
            hello = conn.command("HELLO", str(protocol))[:1]
            return [hello, conn.command("BLPOP", "nothing", "0.01"), conn.command("PING")]

    both(scenario)


def test_a_client_gone_while_blocked_is_forgotten(both: Callable[[Scenario], None]) -> None:
    def scenario(port: int) -> list[bytes]:
        with RawConnection(port) as probe:
            waiter = RawConnection(port)
            send(waiter, "BLPOP", "q", "0")
            wait_blocked(probe, 1)
            waiter.close()
            wait_blocked(probe, 0)
            return [probe.command("RPUSH", "q", "kept"), probe.command("LRANGE", "q", "0", "-1")]

    both(scenario)


def test_a_blocked_clients_pipeline_waits_behind_it(both: Callable[[Scenario], None]) -> None:
    def scenario(port: int) -> list[bytes]:
        with RawConnection(port) as probe, RawConnection(port) as waiter:
            waiter.send_raw(
                encode_command([b"BLPOP", b"q", b"0"])
                + encode_command([b"SET", b"after", b"1"])
                + encode_command([b"GET", b"after"])
            )
            wait_blocked(probe, 1)
            # The SET behind the BLPOP has not run.
            out = [probe.command("EXISTS", "after"), probe.command("LPUSH", "q", "x")]
            out.append(read_exactly(waiter, 3))
            return out

    both(scenario)


@pytest.mark.parametrize(
    "timeout",
    ["abc", "", " 1", "1 ", "1_0", "nan", "1e-5000", "-1", "-0.5", "inf", "-inf", "1e400", "1e16"],
)
def test_timeout_errors(both: Callable[[Scenario], None], timeout: str) -> None:
    def scenario(port: int) -> list[bytes]:
        with RawConnection(port) as conn:
            return [conn.command("BLPOP", "k", timeout), conn.command("BRPOP", "k", timeout)]

    both(scenario)


def test_immediate_pops_and_errors(both: Callable[[Scenario], None]) -> None:
    def scenario(port: int) -> list[bytes]:
        with RawConnection(port) as conn:
            return [
                conn.command("RPUSH", "l", "a", "b", "c"),
                conn.command("BLPOP", "missing", "l", "0"),
                conn.command("BRPOP", "l", "0"),
                conn.command("BLPOP", "l", "l", "0"),
                conn.command("EXISTS", "l"),
                conn.command("SET", "s", "x"),
                conn.command("BLPOP", "s", "0"),
                conn.command("BLPOP", "missing", "s", "0"),
                conn.command("BLPOP", "k"),
                conn.command("BRPOP"),
            ]

    both(scenario)


def test_served_pops_reach_the_aof_as_plain_pops(tmp_path: Path) -> None:
    with zyst_process(tmp_path, "--appendonly", "yes", "--appendfsync", "always") as server:
        with RawConnection(server.port) as probe, RawConnection(server.port) as waiter:
            probe.command("RPUSH", "l", "a", "b")
            assert probe.command("BLPOP", "l", "0") == b"*2\r\n$1\r\nl\r\n$1\r\na\r\n"
            send(waiter, "BRPOP", "q", "0")
            wait_blocked(probe, 1)
            probe.command("RPUSH", "q", "x", "y")
            assert read_exactly(waiter, 1) == b"*2\r\n$1\r\nq\r\n$1\r\ny\r\n"
        aof = aof_incr_bytes(tmp_path)
        assert b"BLPOP" not in aof and b"BRPOP" not in aof
        assert encode_command([b"LPOP", b"l"]) in aof
        assert aof.endswith(
            encode_command([b"RPUSH", b"q", b"x", b"y"]) + encode_command([b"RPOP", b"q"])
        )
        server.kill()
    restarted = zyst_process(tmp_path, "--appendonly", "yes", port=server.port)
    with restarted, RawConnection(restarted.port) as conn:
        assert conn.command("LRANGE", "l", "0", "-1") == b"*1\r\n$1\r\nb\r\n"
        assert conn.command("LRANGE", "q", "0", "-1") == b"*1\r\n$1\r\nx\r\n"


@pytest.mark.parametrize(
    "fill",
    [
        ("RENAME", "src", "q"),
        ("COPY", "src", "q"),
        ("SWAPDB", "0", "1"),
    ],
)
def test_a_list_put_in_place_by_another_command_serves_waiters(
    both: Callable[[Scenario], None], fill: tuple[str, ...]
) -> None:
    def scenario(port: int) -> list[bytes]:
        with RawConnection(port) as probe, RawConnection(port) as waiter:
            if fill[0] == "SWAPDB":
                probe.command("SELECT", "1")
                probe.command("RPUSH", "q", "from-db-1")
                probe.command("SELECT", "0")
            else:
                probe.command("RPUSH", "src", "a", "b")
            send(waiter, "BLPOP", "q", "0")
            wait_blocked(probe, 1)
            out = [probe.command(*fill), read_exactly(waiter, 1)]
            out.append(probe.command("LRANGE", "q", "0", "-1"))
            return out

    both(scenario)


def info_field(conn: RawConnection, name: str) -> int:
    info = conn.command("INFO", "clients").decode()
    return int(info.split(f"{name}:")[1].split("\r\n")[0])


def test_info_counts_blocked_clients_and_those_with_a_timeout(
    both: Callable[[Scenario], None],
) -> None:
    def scenario(port: int) -> list[bytes]:
        with (
            RawConnection(port) as probe,
            RawConnection(port) as forever,
            RawConnection(port) as timed,
        ):
            send(forever, "BLPOP", "a", "0")
            wait_blocked(probe, 1)
            send(timed, "BRPOP", "b", "c", "100")
            wait_blocked(probe, 2)
            counts = [
                info_field(probe, "blocked_clients"),
                info_field(probe, "clients_in_timeout_table"),
            ]
            probe.command("RPUSH", "a", "x")
            probe.command("RPUSH", "c", "y")
            read_exactly(forever, 1)
            read_exactly(timed, 1)
            wait_blocked(probe, 0)
            counts += [info_field(probe, "clients_in_timeout_table")]
            return [b"%d" % n for n in counts]

    both(scenario)


# -- every blocking command ----------------------------------------------------------------------
Arg = str | bytes

# Each blocking command waiting on ``q`` (BLMPOP and BZMPOP take up to two elements at a time),
# and whether it waits for a sorted set rather than a list.
WAITING: dict[str, tuple[tuple[Arg, ...], bool]] = {
    "blpop": (("BLPOP", "other", "q", "0"), False),
    "blmove": (("BLMOVE", "q", "dst", "LEFT", "RIGHT", "0"), False),
    "brpoplpush": (("BRPOPLPUSH", "q", "dst", "0"), False),
    "blmpop": (("BLMPOP", "0", "2", "other", "q", "RIGHT", "COUNT", "2"), False),
    "bzpopmin": (("BZPOPMIN", "other", "q", "0"), True),
    "bzpopmax": (("BZPOPMAX", "q", "0"), True),
    "bzmpop": (("BZMPOP", "0", "1", "q", "MAX", "COUNT", "2"), True),
}


def fill(zset: bool, key: str, *members: str) -> tuple[Arg, ...]:
    """The command that creates ``key`` holding ``members``: a list, or a sorted set scored in
    order (1, 2, ...)."""
    if not zset:
        return ("RPUSH", key, *members)
    return ("ZADD", key, *[a for n, m in enumerate(members, 1) for a in (str(n), m)])


def contents(conn: RawConnection, *keys: str) -> list[bytes]:
    """What ``keys`` hold: a list's elements or a sorted set's members and scores."""
    out = []
    for key in keys:
        kind = conn.command("TYPE", key)
        out.append(kind)
        if kind == b"+list\r\n":
            out.append(conn.command("LRANGE", key, "0", "-1"))
        elif kind == b"+zset\r\n":
            out.append(conn.command("ZRANGE", key, "0", "-1", "WITHSCORES"))
    return out


def served_in_turn(
    port: int, waiting: tuple[Arg, ...], fills: list[tuple[Arg, ...]], protocol: int = 2
) -> list[bytes]:
    """Three clients block with ``waiting``, one after the other; then each of ``fills`` runs.
    After each, the server's count of blocked clients says how many were served, and those are
    read, oldest first: a server that served them in another order would leave one of those
    reads waiting (and the test failing)."""
    with RawConnection(port) as probe:
        waiters = [RawConnection(port) for _ in range(3)]
        try:
            for n, waiter in enumerate(waiters):
                if protocol == 3:
                    assert waiter.command("HELLO", "3").startswith(b"%")
                send(waiter, *waiting)
                wait_blocked(probe, n + 1)
            out: list[bytes] = []
            served = 0
            for command in fills:
                out.append(probe.command(*command))
                left = blocked_clients(probe)
                out.append(b"blocked %d" % left)
                for waiter in waiters[served : 3 - left]:
                    out.append(read_exactly(waiter, 1))
                served = 3 - left
            return out + contents(probe, "q", "dst", "other")
        finally:
            for waiter in waiters:
                waiter.close()


@pytest.mark.parametrize("protocol", [2, 3])
@pytest.mark.parametrize("name", WAITING)
def test_every_blocking_command_serves_its_waiters_in_order(
    both: Callable[[Scenario], None], name: str, protocol: int
) -> None:
    waiting, zset = WAITING[name]
    # One fill serves two waiters (or one that takes two), the next serves the rest.
    fills = [fill(zset, "q", "a", "b", "c"), fill(zset, "q", "d", "e", "f", "g")]
    both(lambda port: served_in_turn(port, waiting, fills, protocol))


def test_a_list_waiter_is_not_served_by_a_sorted_set_nor_the_other_way(
    both: Callable[[Scenario], None],
) -> None:
    def scenario(port: int) -> list[bytes]:
        with (
            RawConnection(port) as probe,
            RawConnection(port) as lists,
            RawConnection(port) as zsets,
        ):
            send(lists, "BLMPOP", "0", "1", "k", "LEFT")
            wait_blocked(probe, 1)
            send(zsets, "BZPOPMAX", "k", "0")
            wait_blocked(probe, 2)
            out = [probe.command("ZADD", "k", "1", "m"), read_exactly(zsets, 1)]
            out.append(b"blocked %d" % blocked_clients(probe))
            out += [probe.command("RPUSH", "k", "x"), read_exactly(lists, 1)]
            return out

    both(scenario)


def test_blmove_chains_serve_the_next_waiters_in_the_same_pass(
    both: Callable[[Scenario], None],
) -> None:
    def scenario(port: int) -> list[bytes]:
        with RawConnection(port) as probe:
            chain = [
                ("BLMOVE", "a", "b", "LEFT", "RIGHT", "0"),
                ("BRPOPLPUSH", "b", "c", "0"),
                ("BLMPOP", "0", "1", "c", "LEFT"),
                # A ring, and two clients moving within one list.
                ("BLMOVE", "r1", "r2", "LEFT", "LEFT", "0"),
                ("BLMOVE", "r2", "r1", "RIGHT", "LEFT", "0"),
                ("BLMOVE", "rot", "rot", "LEFT", "RIGHT", "0"),
                ("BLMOVE", "rot", "rot", "LEFT", "RIGHT", "0"),
            ]
            waiters = [RawConnection(port) for _ in chain]
            try:
                for n, (waiter, command) in enumerate(zip(waiters, chain, strict=True)):
                    send(waiter, *command)
                    wait_blocked(probe, n + 1)
                # One push runs the whole chain a -> b -> c -> popped, before its reply.
                out = [probe.command("RPUSH", "a", "x", "y"), b"%d" % blocked_clients(probe)]
                out += [read_exactly(waiter, 1) for waiter in waiters[:3]]
                out += [probe.command("LPUSH", "r1", "v"), b"%d" % blocked_clients(probe)]
                out += [read_exactly(waiter, 1) for waiter in waiters[3:5]]
                out += [probe.command("RPUSH", "rot", "1", "2", "3")]
                out += [read_exactly(waiter, 1) for waiter in waiters[5:]]
                return out + contents(probe, "a", "b", "c", "r1", "r2", "rot")
            finally:
                for waiter in waiters:
                    waiter.close()

    both(scenario)


def test_a_served_blmove_whose_destination_became_another_type_answers_wrongtype(
    both: Callable[[Scenario], None],
) -> None:
    def scenario(port: int) -> list[bytes]:
        with RawConnection(port) as probe:
            commands = [
                ("BLMOVE", "src", "dst", "LEFT", "RIGHT", "0"),
                ("BRPOPLPUSH", "src", "zdst", "0"),
                ("BLPOP", "src", "0"),
            ]
            waiters = [RawConnection(port) for _ in commands]
            try:
                for n, (waiter, command) in enumerate(zip(waiters, commands, strict=True)):
                    send(waiter, *command)
                    wait_blocked(probe, n + 1)
                out = [probe.command("SET", "dst", "v"), probe.command("ZADD", "zdst", "1", "m")]
                # The first two get WRONGTYPE and stop waiting; nothing moved for them, so
                # the third gets the first element.
                out += [probe.command("RPUSH", "src", "1", "2"), b"%d" % blocked_clients(probe)]
                out += [read_exactly(waiter, 1) for waiter in waiters]
                return out + contents(probe, "src", "dst", "zdst")
            finally:
                for waiter in waiters:
                    waiter.close()

    both(scenario)


@pytest.mark.parametrize("protocol", [2, 3])
@pytest.mark.parametrize("name", WAITING)
def test_every_blocking_command_times_out_with_a_null(
    both: Callable[[Scenario], None], name: str, protocol: int
) -> None:
    # The same command with a timeout of 10 ms (the only "0" among its arguments).
    waiting = ["0.01" if a == "0" else a for a in WAITING[name][0]]

    def scenario(port: int) -> list[bytes]:
        with RawConnection(port) as conn:
            hello = conn.command("HELLO", str(protocol))[:1]
            return [hello, conn.command(*waiting), conn.command("PING")]

    both(scenario)


@pytest.mark.parametrize("name", WAITING)
def test_any_blocked_client_that_disconnects_is_forgotten(
    both: Callable[[Scenario], None], name: str
) -> None:
    waiting, zset = WAITING[name]

    def scenario(port: int) -> list[bytes]:
        with RawConnection(port) as probe:
            waiter = RawConnection(port)
            send(waiter, *waiting)
            wait_blocked(probe, 1)
            waiter.close()
            wait_blocked(probe, 0)
            return [probe.command(*fill(zset, "q", "kept")), *contents(probe, "q", "dst")]

    both(scenario)


def test_pipelines_wait_behind_each_blocking_command_in_turn(
    both: Callable[[Scenario], None],
) -> None:
    def scenario(port: int) -> list[bytes]:
        with RawConnection(port) as probe, RawConnection(port) as waiter:
            waiter.send_raw(
                b"".join(
                    encode_command([a.encode() for a in command])
                    for command in (
                        ("BZPOPMIN", "z", "0"),
                        ("ZCARD", "z"),
                        ("BLMOVE", "q", "d", "RIGHT", "LEFT", "0"),
                        ("LLEN", "d"),
                        ("BZMPOP", "0", "1", "z", "MAX", "COUNT", "5"),
                        ("SET", "after", "1"),
                    )
                )
            )
            wait_blocked(probe, 1)
            out = [probe.command("ZADD", "z", "1", "a", "2", "b")]
            # BZPOPMIN served, ZCARD ran, BLMOVE waits now; BZMPOP and SET behind it.
            wait_blocked(probe, 1)
            out += [read_exactly(waiter, 2), probe.command("EXISTS", "after")]
            out += [probe.command("RPUSH", "q", "x"), read_exactly(waiter, 4)]
            return out

    both(scenario)


@pytest.mark.parametrize(
    "fill_command",
    [
        ("ZADD", "q", "5", "new"),
        ("ZINCRBY", "q", "2.5", "new"),
        ("ZUNIONSTORE", "q", "2", "src", "nothing", "WEIGHTS", "2", "1"),
        ("ZINTERSTORE", "q", "1", "src"),
        ("ZDIFFSTORE", "q", "1", "src"),
        ("ZRANGESTORE", "q", "src", "0", "0"),
        ("RENAME", "src", "q"),
        ("COPY", "src", "q"),
        ("SWAPDB", "0", "1"),
    ],
)
def test_a_sorted_set_created_by_any_command_serves_zset_waiters(
    both: Callable[[Scenario], None], fill_command: tuple[str, ...]
) -> None:
    def scenario(port: int) -> list[bytes]:
        with RawConnection(port) as probe, RawConnection(port) as waiter:
            if fill_command[0] == "SWAPDB":
                probe.command("SELECT", "1")
                probe.command("ZADD", "q", "7", "from-db-1")
                probe.command("SELECT", "0")
            else:
                probe.command("ZADD", "src", "1", "a", "2", "b")
            send(waiter, "BZPOPMAX", "q", "0")
            wait_blocked(probe, 1)
            out = [probe.command(*fill_command), read_exactly(waiter, 1)]
            return out + contents(probe, "q", "src")

    both(scenario)


def test_a_sorted_set_written_over_another_key_serves_nobody(
    both: Callable[[Scenario], None],
) -> None:
    # Redis signals waiters when a key comes into being, not when a value is written over an
    # existing one: ZUNIONSTORE onto a string leaves a BZPOPMIN on that key waiting.
    def scenario(port: int) -> list[bytes]:
        with RawConnection(port) as probe, RawConnection(port) as waiter:
            probe.command("ZADD", "src", "1", "a", "2", "b")
            send(waiter, "BZPOPMIN", "q", "0")
            wait_blocked(probe, 1)
            out = [probe.command("SET", "q", "string")]
            out += [probe.command("ZUNIONSTORE", "q", "1", "src"), b"%d" % blocked_clients(probe)]
            out += [probe.command("ZADD", "q", "0", "c"), b"%d" % blocked_clients(probe)]
            out += [probe.command("DEL", "q"), probe.command("ZADD", "q", "3", "d")]
            return [*out, read_exactly(waiter, 1), *contents(probe, "q")]

    both(scenario)
