"""SORT ... STORE in the AOF: written as the list it stored (not as the SORT, whose result could
come out otherwise on replay: a set's order differs from one process to the next), and a restart
on the file brings back every key, type, value and TTL.
"""

from __future__ import annotations

import contextlib
import random
from pathlib import Path

import redis

from tests.conftest import zyst_process
from tests.crash.dataset import dump_dataset
from tests.crash.test_sets_aof import aof_commands

SEED: list[tuple[str, ...]] = [
    ("RPUSH", "l", "3", "1", "2"),
    ("SADD", "s", "b", "a", "c"),
    ("SET", "w_1", "x"),
    ("SET", "str", "v"),
]
# (command, what it writes to the AOF), run after SEED.
SCRIPT: list[tuple[tuple[str, ...], list[list[str]]]] = [
    (("SORT", "l"), []),
    (("SORT", "l", "STORE", "d"), [["RPUSH", "d", "1", "2", "3"]]),
    (
        ("SORT", "s", "BY", "nosort", "DESC", "STORE", "d"),
        [["MULTI"], ["DEL", "d"], ["RPUSH", "d", "c", "b", "a"], ["EXEC"]],
    ),
    (
        ("SORT", "l", "GET", "w_*", "GET", "#", "STORE", "str"),
        [["MULTI"], ["DEL", "str"], ["RPUSH", "str", "x", "1", "", "2", "", "3"], ["EXEC"]],
    ),
    (("SORT", "nope", "STORE", "d"), [["DEL", "d"]]),
    (("SORT", "nope", "STORE", "d"), []),
    (("SORT", "l", "LIMIT", "5", "1", "STORE", "str"), [["DEL", "str"]]),
    (("SORT", "s", "STORE", "d"), []),  # not numbers: an error, nothing written
    (("SORT_RO", "s", "ALPHA", "LIMIT", "1", "1"), []),
]


def test_store_is_written_as_the_list_it_stored(tmp_path: Path) -> None:
    with zyst_process(tmp_path, "--appendonly", "yes") as server:
        c = redis.Redis(port=server.port, socket_timeout=10)
        for command in SEED:
            c.execute_command(*command)
        for command, _ in SCRIPT:
            with contextlib.suppress(redis.ResponseError):
                c.execute_command(*command)
        c.close()
    written = aof_commands(tmp_path)
    expected = [[a.encode() for a in argv] for _, argvs in SCRIPT for argv in argvs]
    assert written[-len(expected) :] == expected
    assert [argv[0] for argv in written[: -len(expected)]] == [b"SELECT"] + [
        command[0].encode() for command in SEED
    ]


def random_write(rng: random.Random) -> tuple[str | int, ...]:
    elements = [str(n) for n in range(12)] + ["a", "b", "c", "d"]
    sources = ["l", "s", "z", "d1", "d2", "str", "gone"]
    kind = rng.randrange(7)
    if kind == 0:
        return ("RPUSH", "l", *rng.choices(elements, k=rng.randint(1, 4)))
    if kind == 1:
        return ("SADD", "s", *rng.sample(elements, rng.randint(1, 6)))
    if kind == 2:
        return ("ZADD", "z", rng.randint(0, 3), rng.choice(elements))
    if kind == 3:
        return ("SET", "w_" + rng.choice(elements), rng.choice(elements))
    if kind == 4:
        return ("EXPIRE", rng.choice(sources), rng.randint(100, 100_000))
    # SORT ... STORE, ALPHA with weights that are mostly missing: equal weights keep the
    # source's order, which for a set is its hash table's, different in the restarted process.
    words: list[str | int] = [rng.choice(["l", "s", "z", "d1", "gone"])]
    if rng.random() < 0.7:
        words += ["BY", rng.choice(["w_*", "nosort", "nokey_*"])]
    if rng.random() < 0.3:
        words += ["LIMIT", rng.randint(0, 3), rng.randint(-1, 8)]
    if rng.random() < 0.3:
        words += ["GET", rng.choice(["#", "w_*"])]
    words += ["ALPHA", "DESC"] if rng.random() < 0.5 else ["ALPHA"]
    return ("SORT", *words, "STORE", rng.choice(["d1", "d2", "str", "l"]))


def test_a_restart_brings_back_every_key(tmp_path: Path) -> None:
    with zyst_process(tmp_path, "--appendonly", "yes") as server:
        c = redis.Redis(port=server.port, socket_timeout=10)
        rng = random.Random(15)
        for _ in range(800):
            with contextlib.suppress(redis.ResponseError):  # WRONGTYPE: nothing written
                c.execute_command(*random_write(rng))
        # And for certain: a set of 40 with no weights at all, stored in its own order.
        c.sadd("big", *(f"m{n}" for n in range(40)))
        assert c.sort("big", by="nokey_*", alpha=True, store="fromset") == 40
        before = dump_dataset(c, 1)
        c.close()
        server.kill()
    stored = [value for kind, value, _ in before.get(0, {}).values() if kind == b"list"]
    assert len(stored) >= 3 and sum(len(value) > 10 for value in stored) >= 2

    with zyst_process(tmp_path, "--appendonly", "yes", port=server.port) as restarted:
        c = redis.Redis(port=restarted.port, socket_timeout=10)
        after = dump_dataset(c, 1)
        c.close()
    # Deadlines are compared as absolute times (PEXPIRETIME): the restart moves none.
    assert after == before
