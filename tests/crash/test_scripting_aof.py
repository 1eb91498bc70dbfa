"""Scripts in the AOF: a script's writes are written as the commands it ran (never the EVAL),
wrapped in one MULTI ... EXEC when there are two or more (one alone is atomic: Redis 7.0 writes
it bare), in the script's own database; writes after
``redis.set_repl(redis.REPL_NONE)`` are left out; a restart on the file gives the same dataset."""

from __future__ import annotations

import contextlib
from pathlib import Path

import redis

from tests.conftest import redis_process, zyst_process
from tests.crash.dataset import dump_dataset
from tests.crash.test_sets_aof import aof_commands

SCRIPTS: list[tuple[tuple[str | int, ...], list[list[bytes]]]] = [
    (
        ("EVAL", "redis.call('set', KEYS[1], ARGV[1]) return redis.call('incr', 'n')", 1, "k", "v"),
        [[b"MULTI"], [b"set", b"k", b"v"], [b"incr", b"n"], [b"EXEC"]],
    ),
    (("EVAL", "return redis.call('get', 'k')", 0), []),
    (
        ("EVAL", "redis.call('set', 'x', 'y') error('after a write')", 0),
        [[b"set", b"x", b"y"]],
    ),
    (
        ("EVAL", "redis.call('select', 3) redis.call('rpush', 'l', 'a', 'b') return 1", 0),
        [[b"SELECT", b"3"], [b"rpush", b"l", b"a", b"b"]],
    ),
    (
        (
            "EVAL",
            "redis.call('set', 'kept', 1) redis.set_repl(redis.REPL_NONE) "
            "redis.call('set', 'local', 1) redis.set_repl(redis.REPL_ALL) "
            "return redis.call('del', 'kept')",
            0,
        ),
        [[b"SELECT", b"0"], [b"MULTI"], [b"set", b"kept", b"1"], [b"del", b"kept"], [b"EXEC"]],
    ),
    (("EVAL", "return redis.pcall('incr', 'x')", 0), []),
]


def test_scripts_are_written_as_their_effects(tmp_path: Path) -> None:
    with zyst_process(tmp_path, "--appendonly", "yes") as server:
        c = redis.Redis(port=server.port, socket_timeout=10)
        c.set("seed", "1")
        for command, _ in SCRIPTS:
            with contextlib.suppress(redis.ResponseError):
                c.execute_command(*command)
        c.close()
    written = aof_commands(tmp_path)
    expected = [argv for _, argvs in SCRIPTS for argv in argvs]
    assert written[-len(expected) :] == expected
    assert written[: -len(expected)] == [[b"SELECT", b"0"], [b"SET", b"seed", b"1"]]


def test_a_restart_after_scripts_gives_the_same_dataset(tmp_path: Path) -> None:
    with zyst_process(tmp_path, "--appendonly", "yes") as server:
        c = redis.Redis(port=server.port, socket_timeout=10)
        for n in range(60):
            c.eval(
                "for i = 1, 3 do redis.call('hincrby', KEYS[1], 'f' .. i, ARGV[1]) end "
                "redis.call('zadd', 'z', ARGV[1], KEYS[1]) "
                "redis.call('expire', KEYS[1], 1000 + ARGV[1]) "
                "if ARGV[1] % 7 == 0 then redis.call('del', KEYS[1]) end "
                "redis.call('select', ARGV[1] % 3) "
                "return redis.call('rpush', 'log', KEYS[1])",
                1,
                f"h{n % 9}",
                n,
            )
        before = dump_dataset(c, 3)
        c.close()
        server.kill()
    assert len(before) == 3 and len(before[0]) > 5

    with zyst_process(tmp_path, "--appendonly", "yes", port=server.port) as restarted:
        c = redis.Redis(port=restarted.port, socket_timeout=10)
        after = dump_dataset(c, 3)
        c.close()
    assert after == before


LIBRARY = (
    "#!lua name=counters\n"
    "redis.register_function('bump', function(keys, args) "
    "return redis.call('incrby', keys[1], args[1]) end)"
)


def test_libraries_come_back_after_a_restart(tmp_path: Path) -> None:
    with zyst_process(tmp_path, "--appendonly", "yes") as server:
        c = redis.Redis(port=server.port, socket_timeout=10)
        c.function_load(LIBRARY)
        c.function_load("#!lua name=gone\nredis.register_function('g', function() return 1 end)")
        c.function_delete("gone")
        assert c.fcall("bump", 1, "n", 5) == 5
        c.function_load(LIBRARY.replace("incrby", "decrby"), replace=True)
        assert c.fcall("bump", 1, "n", 2) == 3
        before = (c.function_list(withcode=True), dump_dataset(c, 1))
        c.close()
        server.kill()
    written = aof_commands(tmp_path)
    assert [argv[:2] for argv in written if argv[0].upper() == b"FUNCTION"] == [
        [b"FUNCTION", b"LOAD"],
        [b"FUNCTION", b"LOAD"],
        [b"FUNCTION", b"DELETE"],
        [b"FUNCTION", b"LOAD"],
    ]

    with zyst_process(tmp_path, "--appendonly", "yes", port=server.port) as restarted:
        c = redis.Redis(port=restarted.port, socket_timeout=10)
        assert (c.function_list(withcode=True), dump_dataset(c, 1)) == before
        assert c.fcall("bump", 1, "n", 1) == 2
        c.close()


# Blocks of writes, each reaching the AOF wrapped in MULTI ... EXEC only when it holds two or
# more changes (Redis 7.0's propagatePendingCommands), compared with redis-server's own AOF.
BLOCKS: list[list[tuple[str | int, ...]]] = [
    [("MULTI",), ("SET", "a", "1"), ("EXEC",)],
    [("MULTI",), ("SET", "c", "1"), ("SET", "d", "2"), ("EXEC",)],
    [("MULTI",), ("GET", "a"), ("EXEC",)],
    [("EVAL", "redis.call('set', 'b', '2')", 0)],
    [("EVAL", "redis.call('set', 'e', '2') redis.call('set', 'f', '2')", 0)],
    [("EVAL", "redis.call('set', 'g', '1') redis.call('get', 'g')", 0)],
    [("MULTI",), ("EVAL", "redis.call('incr', 'n')", 0), ("INCR", "n"), ("EXEC",)],
    [("MULTI",), ("EVAL", "redis.call('incr', 'n')", 0), ("GET", "n"), ("EXEC",)],
    [
        (
            "FUNCTION",
            "LOAD",
            "#!lua name=l\n"
            "redis.register_function('w', function() return redis.call('incr', 'n') end)",
        )
    ],
    [("FCALL", "w", 0)],
]


def run_blocks(port: int) -> None:
    c = redis.Redis(port=port, socket_timeout=10)
    for block in BLOCKS:
        pipe = c.pipeline(transaction=False)
        for command in block:
            pipe.execute_command(*command)
        pipe.execute()
    c.close()


def test_only_blocks_of_two_or_more_changes_are_wrapped_as_in_redis(tmp_path: Path) -> None:
    with zyst_process(tmp_path / "zyst", "--appendonly", "yes") as server:
        run_blocks(server.port)
    with redis_process(
        tmp_path / "redis", "--appendonly", "yes", "--aof-use-rdb-preamble", "no"
    ) as real:
        run_blocks(real.port)
    ours = aof_commands(tmp_path / "zyst")
    (incr,) = (tmp_path / "redis" / "appendonlydir").glob("*.incr.aof")
    theirs = aof_commands(incr)
    assert [argv[0].upper() for argv in ours].count(b"MULTI") == 3
    assert ours == theirs
