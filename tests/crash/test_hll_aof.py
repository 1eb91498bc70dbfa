"""HyperLogLog writes in the AOF: the file holds exactly what redis-server 7.0.15 appends for the
same commands (PFADD only when it created the key or raised a register, PFMERGE always, PFCOUNT
when it refreshed the cached cardinality, PFDEBUG when it turned an HLL dense), and a restart on
the file brings back every HLL byte for byte.
"""

from __future__ import annotations

import contextlib
import random
from pathlib import Path

from tests.conftest import RawConnection, aof_incr_bytes, aof_pair, zyst_process
from tests.crash.test_aof_expiry import redis_incr_file
from tests.crash.test_strings_aof import parse_commands

Cmd = tuple[str | int | bytes, ...]

# Each command, and whether Redis propagates it.
SCRIPT: list[tuple[Cmd, bool]] = [
    (("PFADD", "h"), True),  # creates the key
    (("PFADD", "h"), False),
    (("PFCOUNT", "h"), True),  # the creation left the cache stale: refreshed
    (("PFCOUNT", "h"), False),  # now cached
    (("PFADD", "h", "a", "b", "c"), True),
    (("PFADD", "h", "a"), False),
    (("PFCOUNT", "h"), True),
    (("PFCOUNT", "h", "nope"), False),  # a union: nothing cached
    (("PFCOUNT", "nope"), False),
    (("PFMERGE", "m", "h"), True),
    (("PFMERGE", "m"), True),  # always, even with nothing new
    (("PFDEBUG", "ENCODING", "m"), False),
    (("PFDEBUG", "TODENSE", "m"), True),
    (("PFDEBUG", "TODENSE", "m"), False),
    (("PFDEBUG", "GETREG", "h"), True),  # turned dense
    (("PFDEBUG", "GETREG", "h"), False),
    (("SET", "s", "not an hll"), True),
    (("PFADD", "s", "x"), False),  # an error
    (("MULTI",), False),
    (("PFADD", "t", "1"), False),  # queued: the transaction goes to the file as a whole
    (("PFCOUNT", "t"), False),
    (("EXEC",), False),
]
# MULTI, the two commands and EXEC, as Redis writes them.
TRANSACTION = [[b"MULTI"], [b"PFADD", b"t", b"1"], [b"PFCOUNT", b"t"], [b"EXEC"]]


def test_the_aof_holds_what_redis_appends(tmp_path: Path) -> None:
    with aof_pair(tmp_path) as (zyst, real), contextlib.ExitStack() as stack:
        conns = [stack.enter_context(RawConnection(s.port)) for s in (zyst, real)]
        for command, _ in SCRIPT:
            ours, theirs = (conn.command(*command) for conn in conns)
            assert ours == theirs, command
        zyst_file = aof_incr_bytes(zyst.dir)
        redis_file = redis_incr_file(real.dir).read_bytes()
    ours = parse_commands(zyst_file)
    assert ours == parse_commands(redis_file)
    expected = [[str(a).encode() for a in command] for command, changed in SCRIPT if changed]
    assert [command for command in ours if command[0] != b"SELECT"] == expected + TRANSACTION


def test_a_restart_brings_back_every_hll(tmp_path: Path) -> None:
    rng = random.Random(20)
    keys = [f"h{i}" for i in range(4)]
    commands: list[Cmd] = []
    for _ in range(300):
        key = rng.choice(keys)
        roll = rng.random()
        if roll < 0.7:
            commands.append(("PFADD", key, *(rng.randbytes(8) for _ in range(rng.randint(0, 60)))))
        elif roll < 0.85:
            commands.append(("PFCOUNT", key))
        elif roll < 0.95:
            commands.append(("PFMERGE", key, *rng.sample(keys, 2)))
        else:
            commands.append(("PFDEBUG", "TODENSE", key))
    with zyst_process(tmp_path, "--appendonly", "yes", "--appendfsync", "always") as server:
        with RawConnection(server.port) as conn:
            conn.pipeline(commands)
            before = [conn.command("GET", key) for key in keys]
        server.kill()
    assert any(b"HYLL\x00" in value for value in before)  # some went dense
    with (
        zyst_process(tmp_path, "--appendonly", "yes", port=server.port) as restarted,
        RawConnection(restarted.port) as conn,
    ):
        assert [conn.command("GET", key) for key in keys] == before
