"""``zyst check-aof`` as a real process on AOF files written by Zyst and by redis-server, cut
short and damaged, with Redis's own ``redis-check-aof`` on the same files as the oracle: the
same verdict (exit status), the same ``ok_up_to`` and ``ok_up_to_line``, and ``--fix`` leaves
the same bytes."""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.conftest import ROOT, ServerProcess, redis_process, zyst_process

# Every type, a transaction, a second database, binary and empty values.
WRITES: list[tuple[object, ...]] = [
    ("SET", "s", "plain"),
    ("SET", "bin", b"\x00\r\n\xff"),
    ("SET", "empty", ""),
    ("INCR", "n"),
    ("RPUSH", "l", "a", "b", "c"),
    ("HSET", "h", "f1", "v1", "f2", "v2"),
    ("SADD", "set", "m1", "m2", "3"),
    ("ZADD", "z", "1.5", "a", "-2", "b"),
    ("MULTI",),
    ("INCR", "n"),
    ("LPUSH", "l", "front"),
    ("EXEC",),
    ("SELECT", "5"),
    ("SET", "five", "x" * 300),
    ("PEXPIREAT", "five", "99999999999999"),
]


def write_all(server: ServerProcess) -> None:
    client = redis.Redis(port=server.port, socket_timeout=10)
    pipe = client.pipeline(transaction=False)
    for args in WRITES:
        pipe.execute_command(*args)
    pipe.execute()
    client.close()


def command_file(directory: Path) -> Path:
    """The file holding the commands a server appended: the last incr file of a multi-part
    AOF, or a plain appendonly.aof."""
    manifest = directory / "appendonlydir" / "appendonly.aof.manifest"
    if manifest.exists():
        incrs = re.findall(r"file (\S+) seq \d+ type i", manifest.read_text())
        return directory / "appendonlydir" / incrs[-1]
    return directory / "appendonly.aof"


@pytest.fixture(scope="module")
def aof_files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, bytes]]:
    """The command file of each server after the same writes."""
    work = tmp_path_factory.mktemp("aofs")
    files = {}
    always = ("--appendonly", "yes", "--appendfsync", "always")
    with zyst_process(work / "zyst", *always) as zyst:
        write_all(zyst)
    with redis_process(work / "redis", *always, "--aof-use-rdb-preamble", "no") as real:
        write_all(real)
    files["zyst"] = command_file(work / "zyst").read_bytes()
    files["redis"] = command_file(work / "redis").read_bytes()
    yield files


def redis_check_aof() -> str:
    binary = shutil.which("redis-check-aof")
    if binary is None:
        pytest.fail("redis-check-aof is not installed (apt-get install redis-tools)")
    return binary


def zyst_check(*args: str, answer: str = "") -> tuple[int, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    done = subprocess.run(
        [sys.executable, "-m", "zyst", *args],
        input=answer,
        capture_output=True,
        text=True,
        errors="backslashreplace",
        env=env,
        timeout=60,
    )
    return done.returncode, done.stdout + done.stderr


def redis_check(*args: str, answer: str = "") -> tuple[int, str]:
    done = subprocess.run(
        [redis_check_aof(), *args],
        input=answer,
        capture_output=True,
        text=True,
        errors="backslashreplace",
        timeout=60,
    )
    return done.returncode, done.stdout + done.stderr


ANALYZED = re.compile(
    r"AOF analyzed: filename=.*, size=(\d+), ok_up_to=(\d+), "
    r"ok_up_to_line=(\d+), diff=(\d+)"
)


def analyzed(out: str) -> tuple[int, ...]:
    found = ANALYZED.findall(out)
    assert len(found) == 1, out
    return tuple(int(n) for n in found[0])


def compare(path: Path) -> tuple[int, tuple[int, ...]]:
    """Run both checkers on ``path``; they must agree. Returns (status, analyzed figures)."""
    ours = zyst_check("check-aof", str(path))
    theirs = redis_check(str(path))
    assert ours[0] == theirs[0], (path.read_bytes(), ours[1], theirs[1])
    assert analyzed(ours[1]) == analyzed(theirs[1]), (path.read_bytes(), ours[1], theirs[1])
    return ours[0], analyzed(ours[1])


def test_both_servers_write_files_both_checkers_call_valid(
    aof_files: dict[str, bytes], tmp_path: Path
) -> None:
    for origin, data in aof_files.items():
        path = tmp_path / f"{origin}.aof"
        path.write_bytes(data)
        status, (size, ok, _, diff) = compare(path)
        assert (status, size, ok, diff) == (0, len(data), len(data), 0), origin


def cut_points(data: bytes, rng: random.Random, count: int) -> list[int]:
    """Offsets to cut at: around each command's start and at random."""
    starts = [m.start() for m in re.finditer(rb"\*\d+\r\n\$", data)]
    points = {p + d for p in starts for d in (-1, 0, 1, 3) if 0 < p + d < len(data)}
    points.update(rng.randrange(1, len(data)) for _ in range(count))
    return sorted(points)


@pytest.mark.parametrize("origin", ["zyst", "redis"])
def test_files_cut_short_get_the_same_verdict_and_offset(
    aof_files: dict[str, bytes], tmp_path: Path, origin: str
) -> None:
    data = aof_files[origin]
    rng = random.Random(f"cut-{origin}")
    path = tmp_path / "cut.aof"
    points = cut_points(data, rng, 10)
    # Each cut runs two processes: a sample keeps the test short.
    for size in rng.sample(points, min(len(points), 10)):
        path.write_bytes(data[:size])
        status, (_, ok, _, _) = compare(path)
        assert status == (0 if ok == size else 1)


def structure_offsets(data: bytes) -> list[int]:
    """Where the '*', '$', CR and LF of the protocol stand in a canonical file (not the bytes
    of the values, which may hold the same characters)."""
    offsets = []
    pos = 0
    while pos < len(data):
        line_end = data.index(b"\r\n", pos)
        offsets += [pos, line_end, line_end + 1]
        argc, pos = int(data[pos + 1 : line_end]), line_end + 2
        for _ in range(argc):
            line_end = data.index(b"\r\n", pos)
            end = line_end + 2 + int(data[pos + 1 : line_end])
            offsets += [pos, line_end, line_end + 1, end, end + 1]
            pos = end + 2
    return offsets


@pytest.mark.parametrize("origin", ["zyst", "redis"])
def test_damaged_structure_bytes_get_the_same_verdict_and_offset(
    aof_files: dict[str, bytes], tmp_path: Path, origin: str
) -> None:
    """A byte of the protocol's structure ('*', '$', CR, LF) replaced: both checkers stop at
    the same command. (Damage inside a value is invisible to both; and the two differ on
    purpose on counts with a sign, a leading zero or white space, which Zyst's loader refuses
    and Redis's strtol accepts.)"""
    data = aof_files[origin]
    rng = random.Random(f"damage-{origin}")
    structure = structure_offsets(data)
    path = tmp_path / "damaged.aof"
    for at in rng.sample(structure, 6):
        path.write_bytes(data[:at] + b"X" + data[at + 1 :])
        status, (size, ok, _, _) = compare(path)
        assert status == 1 and ok <= at < size


def test_fix_leaves_the_same_bytes_as_redis_check_aof_fix(
    aof_files: dict[str, bytes], tmp_path: Path
) -> None:
    data = aof_files["redis"]
    rng = random.Random("fix")
    for size in rng.sample(range(1, len(data)), 4):
        ours, theirs = tmp_path / "ours.aof", tmp_path / "theirs.aof"
        ours.write_bytes(data[:size])
        theirs.write_bytes(data[:size])
        status, out = zyst_check("check-aof", "--fix", str(ours), answer="y\n")
        expected_status, expected_out = redis_check("--fix", str(theirs), answer="y\n")
        assert status == expected_status, (out, expected_out)
        assert ours.read_bytes() == theirs.read_bytes()
        # Declined: the file stays as it was and the exit status is Redis's.
        ours.write_bytes(data[:size])
        theirs.write_bytes(data[:size])
        status, out = zyst_check("check-aof", "--fix", str(ours), answer="n\n")
        assert status == redis_check("--fix", str(theirs), answer="n\n")[0], out
        assert ours.read_bytes() == theirs.read_bytes() == data[:size]


def test_redis_multi_part_directory_with_a_damaged_last_incr_file(tmp_path: Path) -> None:
    """Redis's own appendonlydir (empty RESP base, one incr file): both checkers judge it the
    same way whole and cut, and ``--fix --yes`` cuts the incr file where Redis's would."""
    always = ("--appendonly", "yes", "--appendfsync", "always")
    with redis_process(tmp_path / "redis", *always, "--aof-use-rdb-preamble", "no") as real:
        write_all(real)
    directory = tmp_path / "redis" / "appendonlydir"
    manifest = directory / "appendonly.aof.manifest"
    incr = command_file(tmp_path / "redis")
    whole = incr.read_bytes()
    for target in (directory, manifest):
        status, out = zyst_check("check-aof", str(target))
        assert status == 0, out
    assert redis_check(str(manifest))[0] == 0

    incr.write_bytes(whole[:-5])
    status, out = zyst_check("check-aof", str(directory))
    expected_status, expected_out = redis_check(str(manifest))
    assert status == expected_status == 1, (out, expected_out)
    # One analyzed line per file (base, incr): the incr file's figures agree.
    ours = ANALYZED.findall(out)[-1]
    theirs = ANALYZED.findall(expected_out)[-1]
    assert ours == theirs, (out, expected_out)

    status, out = zyst_check("check-aof", "--fix", "--yes", str(directory))
    assert status == 0, out
    assert incr.read_bytes() == whole[: int(theirs[1])]
    assert redis_check(str(manifest))[0] == 0


# -- RDB files and RDB preambles ------------------------------------------------------------
def redis_check_rdb(path: Path) -> tuple[int, str]:
    binary = shutil.which("redis-check-rdb")
    if binary is None:
        pytest.fail("redis-check-rdb is not installed (apt-get install redis-tools)")
    # A damaged file's bytes are echoed raw in the report, so they need not be UTF-8.
    done = subprocess.run(
        [binary, str(path)],
        capture_output=True,
        text=True,
        errors="backslashreplace",
        timeout=60,
    )
    return done.returncode, done.stdout + done.stderr


def wait_for_rewrite(client: redis.Redis) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        info = client.info("persistence")
        if not info["aof_rewrite_in_progress"] and not info["aof_rewrite_scheduled"]:
            return
        time.sleep(0.02)
    raise AssertionError("the rewrite did not end")


@pytest.fixture(scope="module")
def redis_rdb_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A redis-server directory holding dump.rdb and an appendonlydir whose base is an RDB,
    after writes of every type (big and small encodings), deadlines and a function."""
    work = tmp_path_factory.mktemp("redis-rdb")
    with redis_process(work, "--appendonly", "yes") as real:
        client = redis.Redis(port=real.port, socket_timeout=10)
        write_all(real)
        client.rpush("biglist", *range(300))
        client.hset("bighash", mapping={f"f{n}": "v" * n for n in range(200)})
        client.sadd("intset", *range(50))
        client.sadd("bigset", *(f"m{n}" for n in range(200)))
        client.zadd("bigzset", {f"m{n}": n / 3 for n in range(200)})
        client.execute_command(
            "FUNCTION",
            "LOAD",
            "#!lua name=lib\nredis.register_function('f', function() return 1 end)",
        )
        client.save()
        client.bgrewriteaof()
        wait_for_rewrite(client)
        client.set("after-rewrite", "yes")
        client.close()
    assert (work / "appendonlydir" / "appendonly.aof.manifest").exists()
    return work


def test_check_rdb_agrees_with_redis_check_rdb_on_redis_dump_whole_cut_and_damaged(
    redis_rdb_dir: Path, tmp_path: Path
) -> None:
    data = (redis_rdb_dir / "dump.rdb").read_bytes()
    path = tmp_path / "dump.rdb"
    path.write_bytes(data)
    status, out = zyst_check("check-rdb", str(path))
    expected_status, expected_out = redis_check_rdb(path)
    assert status == expected_status == 0, (out, expected_out)
    keys = re.findall(r"\[info\] (\d+) keys read", expected_out)
    assert re.findall(r"\[info\] (\d+) keys read", out) == keys
    rng = random.Random("rdb")
    for size in rng.sample(range(1, len(data)), 5):
        path.write_bytes(data[:size])
        assert zyst_check("check-rdb", str(path))[0] == redis_check_rdb(path)[0] == 1, size
    for at in rng.sample(range(9, len(data)), 5):
        path.write_bytes(data[:at] + bytes([data[at] ^ 0x41]) + data[at + 1 :])
        status, out = zyst_check("check-rdb", str(path))
        expected_status, expected_out = redis_check_rdb(path)
        assert status == expected_status == 1, (at, out, expected_out)


def test_redis_appendonlydir_with_an_rdb_base(redis_rdb_dir: Path, tmp_path: Path) -> None:
    """Redis's own directory after a rewrite (RDB base, incr file): valid for both; a cut incr
    file gets the same figures; a cut base is not valid for either and is never fixed."""
    directory = tmp_path / "appendonlydir"
    shutil.copytree(redis_rdb_dir / "appendonlydir", directory)
    manifest = directory / "appendonly.aof.manifest"
    status, out = zyst_check("check-aof", str(directory))
    assert status == redis_check(str(manifest))[0] == 0, out
    assert "RDB looks OK" in out

    incr = command_file(tmp_path)
    whole = incr.read_bytes()
    incr.write_bytes(whole[:-4])
    status, out = zyst_check("check-aof", str(directory))
    expected_status, expected_out = redis_check(str(manifest))
    assert status == expected_status == 1
    assert ANALYZED.findall(out) == ANALYZED.findall(expected_out), (out, expected_out)
    incr.write_bytes(whole)

    base = next(directory.glob("*.base.rdb"))
    data = base.read_bytes()
    base.write_bytes(data[: len(data) // 2])
    status, out = zyst_check("check-aof", "--fix", "--yes", str(directory))
    assert status == redis_check(str(manifest))[0] == 1, out
    assert base.read_bytes() == data[: len(data) // 2]


def test_zyst_rdb_and_preamble_files_are_valid_for_redis_checkers(tmp_path: Path) -> None:
    """Files made by Zyst's RDB writer: an RDB, and an AOF with an RDB preamble and a command
    tail, whole and cut in the tail."""
    from tests.unit.test_checkers import zyst_rdb

    rdb = zyst_rdb()
    path = tmp_path / "dump.rdb"
    path.write_bytes(rdb)
    assert zyst_check("check-rdb", str(path))[0] == redis_check_rdb(path)[0] == 0
    tail = (
        b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
        b"*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n"
    )
    aof = tmp_path / "preamble.aof"
    aof.write_bytes(rdb + tail)
    status, (size, ok, _, _) = compare(aof)
    assert status == 0 and size == ok == len(rdb) + len(tail)
    aof.write_bytes(rdb + tail[:-5])
    status, (_, ok, _, _) = compare(aof)
    assert status == 1 and ok == len(rdb) + tail.index(b"*2\r\n$4\r\nINCR")


def test_zyst_appendonlydir_after_a_rewrite_agrees_with_redis_check_aof(tmp_path: Path) -> None:
    """Zyst's own directory (base written by BGREWRITEAOF, then an incr file): both checkers
    call it valid, and give the same figures once its last incr file is cut."""
    with zyst_process(tmp_path, "--appendonly", "yes", "--appendfsync", "always") as zyst:
        write_all(zyst)
        client = redis.Redis(port=zyst.port, socket_timeout=10)
        client.bgrewriteaof()
        wait_for_rewrite(client)
        client.rpush("after-rewrite", "a", "b")
        client.close()
    directory = tmp_path / "appendonlydir"
    manifest = directory / "appendonly.aof.manifest"
    status, out = zyst_check("check-aof", str(directory))
    expected_status, expected_out = redis_check(str(manifest))
    assert status == expected_status == 0, (out, expected_out)
    assert ANALYZED.findall(out) == ANALYZED.findall(expected_out), (out, expected_out)
    incr = command_file(tmp_path)
    incr.write_bytes(incr.read_bytes()[:-3])
    status, out = zyst_check("check-aof", str(directory))
    expected_status, expected_out = redis_check(str(manifest))
    assert status == expected_status == 1, (out, expected_out)
    assert ANALYZED.findall(out) == ANALYZED.findall(expected_out), (out, expected_out)
