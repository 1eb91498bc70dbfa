"""An AOF cut short anywhere loads exactly its whole commands.

A crash can leave the AOF ending at any byte. Loading it must replay exactly the commands that
are whole (a transaction only with its EXEC), nothing more and nothing less, and the server must
then cut the file back to them so it can append again. The files here are written by Zyst
servers:

* a small one (every type, a transaction, two databases, a binary value), cut at every byte
  offset and loaded in-process; a sample of the cuts is also loaded by a real server;
* a large one (about 1 MB), cut at 200 random offsets in-process and a few by a real server.

The in-process check compares the commands the loader replays with the whole-command prefix;
the server check compares the restarted server's data with a server that was sent that prefix
as commands, and checks that the files left behind are valid (``zyst check-aof``).
"""

from __future__ import annotations

import bisect
import io
import random
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from tests.conftest import ServerProcess, as_argv, zyst_process
from tests.crash.dataset import Dataset, dump_dataset
from zyst.persistence.aof import load_aof
from zyst.persistence.checkers import check_aof_main
from zyst.protocol.resp import encode_command

SMALL: list[tuple[object, ...]] = [
    ("SET", "s", "v"),
    ("SET", "bin", b"\x00*2\r\n$1\r\n"),
    ("INCR", "n"),
    ("RPUSH", "l", "a", "b"),
    ("HSET", "h", "f", "v"),
    ("SADD", "set", "m", "7"),
    ("ZADD", "z", "1.5", "a"),
    ("MULTI",),
    ("INCR", "n"),
    ("LPUSH", "l", "c"),
    ("EXEC",),
    ("SELECT", "2"),
    ("SET", "d2", "x"),
    ("PEXPIREAT", "d2", "99999999999999"),
    ("DEL", "gone"),
]


@dataclass(frozen=True)
class Entry:
    """One command of a file: where it starts and ends, and its arguments."""

    start: int
    end: int
    argv: list[bytes]


def split_commands(data: bytes) -> list[Entry]:
    """The commands of a canonical AOF (what the writer emits), in order."""
    entries = []
    pos = 0
    while pos < len(data):
        start = pos
        line_end = data.index(b"\r\n", pos)
        argc, pos = int(data[pos + 1 : line_end]), line_end + 2
        argv = []
        for _ in range(argc):
            line_end = data.index(b"\r\n", pos)
            length = int(data[pos + 1 : line_end])
            argv.append(data[line_end + 2 : line_end + 2 + length])
            pos = line_end + 4 + length
        entries.append(Entry(start, pos, argv))
    return entries


@dataclass
class Expected:
    """What loading a prefix of a file must replay: at each boundary (an offset where a
    whole-command prefix ends, a transaction whole), how many of ``replayed`` (``(db, argv)``
    applied) and of ``sent`` (the commands as a client sends them) that prefix holds."""

    boundaries: list[int]
    replayed_counts: list[int]
    sent_counts: list[int]
    replayed: list[tuple[int, list[bytes]]]
    sent: list[list[bytes]]

    def at(self, size: int) -> tuple[int, list[tuple[int, list[bytes]]], list[list[bytes]]]:
        """For a file cut to ``size``: the boundary, the replayed and the sent commands."""
        index = bisect.bisect_right(self.boundaries, size) - 1
        return (
            self.boundaries[index],
            self.replayed[: self.replayed_counts[index]],
            self.sent[: self.sent_counts[index]],
        )


def expectations(data: bytes) -> Expected:
    expected = Expected([0], [0], [0], [], [])
    db = 0
    queued: list[tuple[int, list[bytes]]] | None = None
    for entry in split_commands(data):
        name = entry.argv[0].lower()
        expected.sent.append(entry.argv)
        if name == b"select":
            db = int(entry.argv[1])
        elif name == b"multi":
            queued = []
        elif name == b"exec":
            assert queued is not None
            expected.replayed += queued
            queued = None
        elif queued is not None:
            queued.append((db, entry.argv))
        else:
            expected.replayed.append((db, entry.argv))
        if queued is None:
            expected.boundaries.append(entry.end)
            expected.replayed_counts.append(len(expected.replayed))
            expected.sent_counts.append(len(expected.sent))
    assert expected.boundaries[-1] == len(data)
    return expected


def command_file(directory: Path) -> Path:
    """The file a server appends to: the last incr file of a multi-part AOF, or the plain
    appendonly.aof."""
    manifest = directory / "appendonlydir" / "appendonly.aof.manifest"
    if manifest.exists():
        incrs = re.findall(r"file (\S+) seq \d+ type i", manifest.read_text())
        return directory / "appendonlydir" / incrs[-1]
    return directory / "appendonly.aof"


def write_commands(port: int, commands: list[tuple[object, ...]]) -> None:
    client = redis.Redis(port=port, socket_timeout=30)
    for at in range(0, len(commands), 500):
        pipe = client.pipeline(transaction=False)
        for args in commands[at : at + 500]:
            pipe.execute_command(*args)
        pipe.execute()
    client.close()


def large_commands(rng: random.Random) -> list[tuple[object, ...]]:
    """About 1 MB of varied writes with a transaction now and then."""
    commands: list[tuple[object, ...]] = []
    size = 0
    n = 0
    while size < 1_000_000:
        n += 1
        key = f"k{rng.randrange(2000)}"
        value = "v" * rng.choice((1, 10, 100, 1000))
        choice = rng.randrange(6)
        if choice == 0:
            commands.append(("SET", key, value))
        elif choice == 1:
            commands.append(("RPUSH", f"l{n % 50}", value))
        elif choice == 2:
            commands.append(("HSET", f"h{n % 50}", key, value))
        elif choice == 3:
            commands.append(("ZADD", f"z{n % 50}", str(n), key))
        elif choice == 4:
            commands.append(("INCR", f"c{n % 50}"))
        else:
            commands += [("MULTI",), ("SADD", f"s{n % 50}", key), ("INCR", "tx"), ("EXEC",)]
            size += 60
        size += sum(len(encode_command(as_argv(args))) for args in commands[-1:])
    return commands


@dataclass
class Source:
    """A stopped server's data directory, its command file's bytes and what each cut must
    replay."""

    directory: Path
    data: bytes
    expected: Expected


def make_source(workdir: Path, commands: list[tuple[object, ...]]) -> Source:
    with zyst_process(workdir, "--appendonly", "yes", "--appendfsync", "no") as server:
        write_commands(server.port, commands)
    data = command_file(workdir).read_bytes()
    return Source(workdir, data, expectations(data))


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Source:
    source = make_source(tmp_path_factory.mktemp("small"), SMALL)
    assert 300 < len(source.data) < 1000
    return source


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Source:
    source = make_source(tmp_path_factory.mktemp("large"), large_commands(random.Random(1)))
    assert len(source.data) > 1_000_000
    return source


def check_prefix_load(path: Path, expected: Expected, size: int) -> None:
    """Load ``path`` (the file cut to ``size``) in-process: the whole-command prefix, exactly."""
    seen: list[tuple[int, list[bytes]]] = []
    result = load_aof(str(path), lambda db, argv: seen.append((db, argv)))
    boundary, replayed, _ = expected.at(size)
    assert result.bytes_loaded == boundary, size
    assert result.truncated == (size != boundary), size
    assert seen == replayed, size


def test_the_small_file_cut_at_every_offset_loads_its_whole_commands(
    small: Source, tmp_path: Path
) -> None:
    path = tmp_path / "cut.aof"
    for size in range(len(small.data) + 1):
        path.write_bytes(small.data[:size])
        check_prefix_load(path, small.expected, size)


def test_the_large_file_cut_at_random_offsets_loads_its_whole_commands(
    large: Source, tmp_path: Path
) -> None:
    path = tmp_path / "cut.aof"
    path.write_bytes(large.data)
    rng = random.Random("large")
    # Longest first: each cut is a truncation of the same file, no rewrite needed.
    for size in sorted((rng.randrange(len(large.data)) for _ in range(200)), reverse=True):
        with path.open("r+b") as file:
            file.truncate(size)
        check_prefix_load(path, large.expected, size)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server without an AOF that is sent each prefix as commands."""
    with zyst_process(tmp_path_factory.mktemp("reference"), "--appendonly", "no") as server:
        yield server


def replayed_by_a_client(reference: ServerProcess, commands: list[list[bytes]]) -> Dataset:
    client = redis.Redis(port=reference.port, socket_timeout=30)
    client.flushall()
    sent = [tuple[object, ...](argv) for argv in commands]
    write_commands(reference.port, sent)
    dataset = dump_dataset(client)
    client.close()
    return dataset


def check_restart(source: Source, size: int, workdir: Path, reference: ServerProcess) -> None:
    """A server started on the source's directory, its command file cut to ``size``, has the
    data of the whole-command prefix, and leaves valid files behind."""
    shutil.copytree(source.directory, workdir)
    with command_file(workdir).open("r+b") as file:
        file.truncate(size)
    _, _, sent = source.expected.at(size)
    with zyst_process(workdir, "--appendonly", "yes") as server:
        client = redis.Redis(port=server.port, socket_timeout=30)
        assert dump_dataset(client) == replayed_by_a_client(reference, sent), size
        client.close()
    target = workdir / "appendonlydir"
    if not target.exists():
        target = command_file(workdir)
    out = io.StringIO()
    assert check_aof_main([str(target)], io.StringIO(), out) == 0, out.getvalue()


def test_a_server_restarted_on_cut_files_has_the_whole_command_prefix(
    small: Source, large: Source, tmp_path: Path, reference: ServerProcess
) -> None:
    rng = random.Random("restart")
    entries = split_commands(small.data)
    exec_at = next(entry.start for entry in entries if entry.argv == [b"EXEC"])
    # The end, just before a transaction's EXEC, and at random.
    small_cuts = [len(small.data) - 1, exec_at, *rng.sample(range(1, len(small.data)), 2)]
    large_cuts = rng.sample(range(1, len(large.data)), 2)
    for number, size in enumerate(small_cuts):
        check_restart(small, size, tmp_path / f"small-{number}", reference)
    for number, size in enumerate(large_cuts):
        check_restart(large, size, tmp_path / f"large-{number}", reference)
