"""The set writes of issue 15 (SMOVE, SINTERSTORE, SUNIONSTORE, SDIFFSTORE) in the AOF: what
is written for each, and that a restart on the file brings back every key, type, value and TTL.
"""

from __future__ import annotations

import contextlib
import random
from pathlib import Path

import hiredis
import redis

from tests.conftest import aof_incr_bytes, redis_process, zyst_process
from tests.crash.dataset import dump_dataset

STORES = ("SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE")


def aof_commands(path: Path) -> list[list[bytes]]:
    """The commands in the AOF file ``path``, or in the incremental files of the AOF directory
    of the data directory ``path``."""
    reader = hiredis.Reader()
    reader.feed(aof_incr_bytes(path) if path.is_dir() else path.read_bytes())
    commands = []
    while (command := reader.gets()) is not False:
        commands.append(command)
    return commands


# (command, whether it changes something and so reaches the AOF), run after SEED.
SEED = [("SADD", "a", "x", "y", "1"), ("SADD", "b", "y", "2"), ("SET", "str", "v")]
SCRIPT: list[tuple[tuple[str, ...], bool]] = [
    (("SMOVE", "a", "b", "x"), True),
    (("SMOVE", "a", "b", "x"), False),  # no longer there
    (("SMOVE", "a", "a", "y"), False),  # the same set
    (("SMOVE", "nope", "b", "y"), False),
    (("SMOVE", "b", "new", "y"), True),  # the destination is created
    (("SMOVE", "new", "b", "y"), True),  # the source, emptied, is deleted
    (("SMOVE", "a", "b", "y"), True),  # already in the destination
    (("SINTERSTORE", "d", "a", "nope"), False),  # an empty result, and no destination
    (("SUNIONSTORE", "d", "a", "b"), True),
    (("SINTERSTORE", "d", "a", "b"), True),
    (("SDIFFSTORE", "d", "b", "a"), True),
    (("SINTERSTORE", "d", "a", "nope"), True),  # an empty result deletes d
    (("SUNIONSTORE", "d", "nope"), False),
    (("SDIFFSTORE", "str", "a", "a"), True),  # an empty result deletes the string
    (("SINTERSTORE", "str", "str"), False),  # and now there is nothing to delete
    (("SINTERSTORE", "a", "b", "str"), True),  # str is gone: the empty result deletes a
    (("SUNIONSTORE", "b", "b"), True),  # the same members, written again
]


def run_script(port: int) -> None:
    c = redis.Redis(port=port, socket_timeout=10)
    for command in SEED:
        c.execute_command(*command)
    for command, _ in SCRIPT:
        c.execute_command(*command)
    c.close()


def test_each_write_is_propagated_as_redis_does(tmp_path: Path) -> None:
    with zyst_process(tmp_path / "zyst", "--appendonly", "yes") as server:
        run_script(server.port)
    with redis_process(tmp_path / "redis", "--appendonly", "yes") as redis_server:
        run_script(redis_server.port)
    ours = aof_commands(tmp_path / "zyst")
    (incr,) = (tmp_path / "redis" / "appendonlydir").glob("*.incr.aof")
    theirs = aof_commands(incr)
    expected = [[a.encode() for a in command] for command, changes in SCRIPT if changes]
    assert ours[-len(expected) :] == theirs[-len(expected) :] == expected
    assert ours[: -len(expected)] == theirs[: -len(expected)]


def random_write(rng: random.Random) -> tuple[str | int, ...]:
    keys = ["s1", "s2", "s3", "str", "gone"]
    members = ["1", "2", "3", "a", "b", "c"]
    kind = rng.randrange(6)
    if kind == 0:
        return ("SADD", rng.choice(keys), *rng.sample(members, rng.randint(1, 3)))
    if kind == 1:
        return ("SMOVE", rng.choice(keys), rng.choice(keys), rng.choice(members))
    if kind == 2:
        count = rng.randint(1, 3)
        return (rng.choice(STORES), rng.choice(keys), *(rng.choice(keys) for _ in range(count)))
    if kind == 3:
        return ("EXPIRE", rng.choice(keys), rng.randint(100, 100_000))
    if kind == 4:
        return ("SET", rng.choice(keys), "v") if rng.random() < 0.2 else ("SREM", "s1", "1")
    return ("SADD", rng.choice(keys), rng.choice(members))


def test_a_restart_brings_back_every_key(tmp_path: Path) -> None:
    with zyst_process(tmp_path, "--appendonly", "yes") as server:
        c = redis.Redis(port=server.port, socket_timeout=10)
        rng = random.Random(15)
        for _ in range(600):
            with contextlib.suppress(redis.ResponseError):  # WRONGTYPE: nothing written
                c.execute_command(*random_write(rng))
        before = dump_dataset(c, 1)
        c.close()
        server.kill()
    assert any(kind == b"set" and ttl > 0 for kind, _, ttl in before.get(0, {}).values())

    with zyst_process(tmp_path, "--appendonly", "yes", port=server.port) as restarted:
        c = redis.Redis(port=restarted.port, socket_timeout=10)
        after = dump_dataset(c, 1)
        c.close()
    # Deadlines are compared as absolute times (PEXPIRETIME): the restart moves none.
    assert after == before
