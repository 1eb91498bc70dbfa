"""MODULE against real Redis 7: with no module loaded, every reply and error is Redis's, byte
for byte; both with MODULE refused (``enable-module-command no``, the default, as on the
session's servers) and allowed. Loading a file that is no module fails alike on both (Redis
cannot load a Python file, Zyst cannot load a shared library), with Redis's text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Oracle, check_sequence, redis_process, zyst_process

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
