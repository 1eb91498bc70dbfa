"""MODULE against real Redis 7: with no module loaded, every reply and error is Redis's, byte
for byte; both with MODULE refused (``enable-module-command no``, the default, as on the
session's servers) and allowed. Loading a file that is no module fails alike on both (Redis
cannot load a Python file, Zyst cannot load a shared library), with Redis's text.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import (
    ROOT,
    Oracle,
    check_sequence,
    parse_reply,
    redis_process,
    zyst_process,
)

NOT_ALLOWED = (
    b'-ERR MODULE command not allowed. If the enable-module-command option is set to "local", '
    b"you can run it from a local connection, otherwise you need to set this option in the "
    b"configuration file, and then restart the server.\r\n"
)
LOAD_FAILED = b"-ERR Error loading the extension. Please check the server logs.\r\n"


def test_module_refused_by_default(o: Oracle) -> None:
    commands: list[tuple[str, ...]] = [
        ("MODULE", "LOAD", "/nonexistent/module.py"),
        ("MODULE", "LOADEX", "/nonexistent/module.py", "ARGS", "a"),
        ("MODULE", "UNLOAD", "nope"),
        ("MODULE", "LIST"),
        ("MODULE", "HELP"),
        ("MODULE",),
        ("MODULE", "foo"),
        ("MODULE", "LIST", "extra"),
        ("MODULE", "UNLOAD"),
        ("MODULE", "HELP", "extra"),
        ("COMMAND", "LIST", "FILTERBY", "MODULE", "nope"),
        ("INFO", "modules"),
    ]
    check_sequence(o, commands, {0: NOT_ALLOWED, 2: NOT_ALLOWED, 3: b"*0\r\n"})


def test_refusals_count_as_rejected_calls(o: Oracle) -> None:
    o.check("CONFIG", "RESETSTAT")
    o.check("MODULE", "LOAD", "/nonexistent/module.py")
    o.check("MODULE", "LIST")
    ours, theirs = o.run("INFO", "commandstats")
    # (Times differ; the counts must not.)
    mine, real = (
        [
            re.sub(rb"usec=\d+,usec_per_call=[\d.]+,", b"", line)
            for line in reply.split(b"\r\n")
            if line.startswith(b"cmdstat_module")
        ]
        for reply in (ours, theirs)
    )
    assert sorted(mine) == sorted(real)  # (Redis lists them in its hash table's order)
    assert b"cmdstat_module|load:calls=0" in b"".join(mine)


@pytest.fixture(scope="module")
def allowed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Oracle]:
    workdir = tmp_path_factory.mktemp("module-oracle")
    extra = ("--enable-module-command", "yes", "--save", "", "--appendonly", "no")
    with (
        zyst_process(workdir / "zyst", *extra) as zyst,
        redis_process(workdir / "redis", "--enable-module-command", "yes") as real,
    ):
        oracle = Oracle(zyst.port, real.port)
        yield oracle
        oracle.close()


def test_module_failures_when_allowed(allowed: Oracle, tmp_path: Path) -> None:
    not_a_module = tmp_path / "plain.txt"
    not_a_module.write_text("nothing\n")
    commands: list[tuple[str, ...]] = [
        ("MODULE", "LOAD", "/nonexistent/module.py"),
        ("MODULE", "LOAD", str(not_a_module), "a"),
        ("MODULE", "LOADEX", "/nonexistent/module.py"),
        ("MODULE", "LOADEX", "/nonexistent/module.py", "CONFIG", "a"),
        ("MODULE", "LOADEX", "/nonexistent/module.py", "bogus"),
        ("MODULE", "UNLOAD", "nope"),
        ("MODULE", "LIST"),
    ]
    check_sequence(
        allowed,
        commands,
        {
            0: LOAD_FAILED,
            1: LOAD_FAILED,
            5: b"-ERR Error unloading module: no such module with that name\r\n",
            6: b"*0\r\n",
        },
    )


# -- a module loaded into both: a C module into redis-server, its Python twin into Zyst -------
TWIN = """
from zyst.modules import Status, command

NAME = "hello"
VERSION = 3


def answer(client, argv):
    return Status(b"OK")


# Arity -1: what a Redis 7.0 module command has. (One handler for all three, as the C module.)
command("hello.world", arity=-1, flags=("readonly", "fast"))(answer)
command("hello.set", arity=-1, flags=("write", "denyoom"), keys=(1, 1, 1))(answer)
command("hello.keys", arity=-1, flags=("admin",), keys=(1, -1, 2))(answer)
"""


@pytest.fixture
def loaded(allowed: Oracle, tmp_path: Path) -> Iterator[Oracle]:
    """``hello`` loaded on both servers: built from tests/assets/modules/hello.c for Redis (the
    C compiler is needed, as for the compiled install), the Python twin for Zyst."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.fail("no C compiler (cc) to build the C module redis-server loads")
    library = tmp_path / "hello.so"
    subprocess.run(
        [compiler, "-shared", "-fPIC", "-o", str(library), str(ROOT / C_MODULE)], check=True
    )
    twin = tmp_path / "hello.py"
    twin.write_text(TWIN)
    assert allowed.zyst.command("MODULE", "LOAD", str(twin)) == b"+OK\r\n"
    assert allowed.redis.command("MODULE", "LOAD", str(library)) == b"+OK\r\n"
    yield allowed
    allowed.check("MODULE", "UNLOAD", "hello")


C_MODULE = "tests/assets/modules/hello.c"


def test_module_commands_shown_as_redis_shows_them(loaded: Oracle) -> None:
    for name in ("hello.world", "hello.set", "hello.keys"):
        loaded.check("COMMAND", "INFO", name)
        loaded.check("COMMAND", "DOCS", name)
    loaded.check("COMMAND", "INFO", "HELLO.SET", "nope")
    loaded.check("COMMAND", "GETKEYS", "hello.keys", "a", "1", "b", "2", "c")
    loaded.check("COMMAND", "GETKEYSANDFLAGS", "hello.set", "k", "v")
    loaded.check("COMMAND", "GETKEYS", "hello.world", "x")
    loaded.check("INFO", "modules")
    for args in (("FILTERBY", "MODULE", "HELLO"), ("FILTERBY", "ACLCAT", "write")):
        ours, theirs = loaded.run("COMMAND", "LIST", *args)
        # (Redis lists in its hash table's order; Zyst lacks some of Redis's commands.)
        mine, real = sorted(parse_reply(ours)), sorted(parse_reply(theirs))
        assert [n for n in mine if n.startswith(b"hello")] == [
            n for n in real if n.startswith(b"hello")
        ]
    ours, theirs = loaded.run("COMMAND", "LIST", "FILTERBY", "MODULE", "hello")
    expected = [b"hello.keys", b"hello.set", b"hello.world"]
    assert sorted(parse_reply(ours)) == sorted(parse_reply(theirs)) == expected
    ours, theirs = loaded.run("MODULE", "LIST")
    # The same but for the path (a .py file here, a .so there).
    mine, real = parse_reply(ours), parse_reply(theirs)
    assert (
        [m[:5] + m[6:] for m in mine]
        == [m[:5] + m[6:] for m in real]
        == [[b"name", b"hello", b"ver", 3, b"path", b"args", []]]
    )
    loaded.check("MODULE", "UNLOAD", "nope")


def test_module_unloaded_and_refused_twice_alike(loaded: Oracle, tmp_path: Path) -> None:
    ours, theirs = loaded.run("MODULE", "LIST")
    assert parse_reply(ours)[0][1] == parse_reply(theirs)[0][1] == b"hello"
    loaded.check("MODULE", "UNLOAD", "HELLO")
    check_sequence(
        loaded,
        [
            ("COMMAND", "INFO", "hello.set"),
            ("MODULE", "LIST"),
            ("MODULE", "UNLOAD", "hello"),
            ("INFO", "modules"),
            ("hello.world",),
        ],
        {0: b"*1\r\n$-1\r\n", 1: b"*0\r\n"},
    )
    # Loaded again for the fixture's UNLOAD.
    twin = tmp_path / "hello.py"
    assert loaded.zyst.command("MODULE", "LOAD", str(twin)) == b"+OK\r\n"
    assert loaded.redis.command("MODULE", "LOAD", str(tmp_path / "hello.so")) == b"+OK\r\n"
    # Loading a module whose name is taken fails alike.
    assert loaded.zyst.command("MODULE", "LOAD", str(twin)) == LOAD_FAILED
    assert loaded.redis.command("MODULE", "LOAD", str(tmp_path / "hello.so")) == LOAD_FAILED
