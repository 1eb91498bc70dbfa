"""Python modules (zyst.modules): loaded at start and by MODULE LOAD, called, listed, shown by
COMMAND, written to the AOF and replayed, unloaded; failures of a module's code answered as
errors while the server goes on. The two example modules of examples/modules are tested here.

One server (with both examples loaded by ``--loadmodule`` and MODULE allowed) serves most
tests; the ones that restart or refuse to start run servers of their own.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.conftest import (
    APPEND_ALWAYS,
    ROOT,
    RawConnection,
    ServerProcess,
    aof_incr_bytes,
    free_port,
    parse_reply,
    zyst_process,
)

EXAMPLES = ROOT / "examples" / "modules"
RATELIMIT = str(EXAMPLES / "ratelimit.py")
JSONPATH = str(EXAMPLES / "jsonpath.py")
LOAD_FAILED = "Error loading the extension. Please check the server logs."
WITH_EXAMPLES = (
    *APPEND_ALWAYS,
    "--loadmodule",
    RATELIMIT,
    "--loadmodule",
    JSONPATH,
    "--enable-module-command",
    "yes",
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with zyst_process(tmp_path_factory.mktemp("modules"), *WITH_EXAMPLES) as running:
        yield running


@pytest.fixture
def client(server: ServerProcess) -> Iterator[redis.Redis]:
    connection = redis.Redis(port=server.port, protocol=2, socket_timeout=10)
    connection.flushall()
    yield connection
    connection.close()


def write_module(directory: Path, name: str, body: str) -> str:
    path = directory / f"{name}.py"
    path.write_text(textwrap.dedent(body))
    return str(path)


HELLO = """
    from zyst.modules import OK, CommandError, command, get_string, replicate, set_string

    NAME = "hello"
    VERSION = 7
    ARGS = []

    def on_load(args):
        ARGS.extend(args)

    @command("hello.world", arity=1, flags=("readonly", "fast"))
    def world(client, argv):
        return b"hello world"

    @command("hello.args", arity=1, flags=("readonly",))
    def args(client, argv):
        return ARGS

    @command("hello.set", arity=3, flags=("write", "denyoom"), keys=(1, 1, 1))
    def hello_set(client, argv):
        set_string(client, argv[1], argv[2])
        return OK

    @command("hello.noop", arity=2, flags=("write",), keys=(1, 1, 1))
    def noop(client, argv):
        # asks for a replacement to be propagated, but changes nothing
        replicate(client, b"DEL", argv[1])
        return 0

    @command("hello.shapes", arity=1, flags=("readonly",))
    def shapes(client, argv):
        return {"text": "é", "list": (1, 2.5, None, True), "set": {b"a"}}

    @command("hello.fail", arity=2, flags=("readonly",))
    def fail(client, argv):
        kind = argv[1]
        if kind == b"error":
            raise CommandError("ERR hello refuses")
        if kind == b"value":
            raise ValueError("boom")
        if kind == b"exit":
            raise SystemExit(3)
        if kind == b"interrupt":
            raise KeyboardInterrupt
        return object()
"""


# -- the examples, loaded at start ------------------------------------------------------------
def test_examples_are_listed(client: redis.Redis, server: ServerProcess) -> None:
    listed = client.execute_command("MODULE", "LIST")
    assert listed == [
        [b"name", b"ratelimit", b"ver", 1, b"path", RATELIMIT.encode(), b"args", []],
        [b"name", b"jsonpath", b"ver", 1, b"path", JSONPATH.encode(), b"args", []],
    ]
    with RawConnection(server.port) as raw:
        info = parse_reply(raw.command("INFO", "modules")).decode()
    assert "module:name=ratelimit,ver=1,api=1,filters=0,usedby=[],using=[],options=[]" in info
    assert "module:name=jsonpath,ver=1,api=1,filters=0,usedby=[],using=[],options=[]" in info
    with redis.Redis(port=server.port, protocol=3) as resp3:
        hello = resp3.execute_command("HELLO", "3")
    assert [m[b"name"] for m in hello[b"modules"]] == [b"ratelimit", b"jsonpath"]


def test_ratelimit_counts_within_the_window(client: redis.Redis) -> None:
    allowed, remaining, reset = client.execute_command("RATELIMIT.HIT", "api:1", 3, 60000)
    assert (allowed, remaining) == (1, 2)
    assert 0 < reset <= 60000
    assert client.execute_command("RATELIMIT.HIT", "api:1", 3, 60000, 2)[:2] == [1, 0]
    assert client.execute_command("RATELIMIT.HIT", "api:1", 3, 60000)[:2] == [0, 0]
    assert client.get("api:1") == b"3"
    assert 0 < client.pttl("api:1") <= 60000
    with pytest.raises(redis.ResponseError, match=r"^limit must be a positive integer$"):
        client.execute_command("RATELIMIT.HIT", "api:1", "x", 60000)
    with pytest.raises(redis.ResponseError, match=r"^syntax error$"):
        client.execute_command("RATELIMIT.HIT", "api:1", 3, 60000, 1, 1)
    client.rpush("list", "a")
    with pytest.raises(redis.ResponseError, match=r"^WRONGTYPE"):
        client.execute_command("RATELIMIT.HIT", "list", 3, 60000)
    with pytest.raises(
        redis.ResponseError, match=r"^wrong number of arguments for 'ratelimit.hit' command$"
    ):
        client.execute_command("RATELIMIT.HIT", "api:1", 3)


def test_jsonpath_gets_and_sets_paths(client: redis.Redis) -> None:
    doc = b'{"name":"Ada","langs":["en","de"],"born":{"year":1815}}'
    assert client.execute_command("JSONPATH.SET", "u", "$", doc) == b"OK"
    assert client.get("u") == doc
    assert client.execute_command("JSONPATH.GET", "u") == doc
    assert client.execute_command("JSONPATH.GET", "u", "$.name") == b'"Ada"'
    assert client.execute_command("JSONPATH.GET", "u", "$.langs[-1]") == b'"de"'
    assert client.execute_command("JSONPATH.GET", "u", '$["born"].year') == b"1815"
    assert client.execute_command("JSONPATH.GET", "u", "$.nope") is None
    assert client.execute_command("JSONPATH.GET", "missing", "$") is None
    client.pexpire("u", 100000)
    assert client.execute_command("JSONPATH.SET", "u", "$.langs[0]", '"fr"') == b"OK"
    assert client.execute_command("JSONPATH.SET", "u", "$.born.place", '"London"') == b"OK"
    assert client.execute_command("JSONPATH.SET", "u", "$.a.b", "1") is None
    assert client.execute_command("JSONPATH.SET", "u", "$.langs[5]", "1") is None
    assert client.execute_command("JSONPATH.GET", "u", "$.langs") == b'["fr","de"]'
    assert client.execute_command("JSONPATH.GET", "u", "$.born") == (
        b'{"year":1815,"place":"London"}'
    )
    assert client.pttl("u") > 0  # a change below $ keeps the TTL
    with pytest.raises(redis.ResponseError, match=r"^new documents must be created at the root"):
        client.execute_command("JSONPATH.SET", "v", "$.a", "1")
    with pytest.raises(redis.ResponseError, match=r"^the value is not valid JSON$"):
        client.execute_command("JSONPATH.SET", "u", "$", "{nope")
    client.set("plain", "not json")
    with pytest.raises(redis.ResponseError, match=r"^the value at the key is not valid JSON$"):
        client.execute_command("JSONPATH.GET", "plain", "$")


def command(server: ServerProcess, *args: str) -> Any:
    """A reply read raw (COMMAND's replies unparsed by redis-py's callbacks)."""
    with RawConnection(server.port) as raw:
        return parse_reply(raw.command(*args))


def test_module_commands_in_command_info_docs_and_list(server: ServerProcess) -> None:
    info = command(server, "COMMAND", "INFO", "jsonpath.set")[0]
    assert info[:6] == [b"jsonpath.set", 4, [b"write", b"denyoom", b"module"], 1, 1, 1]
    assert info[6] == [b"@write", b"@string"]
    info = command(server, "COMMAND", "INFO", "RATELIMIT.HIT")[0]
    assert info[2] == [b"write", b"denyoom", b"module", b"fast"]
    assert info[6] == [b"@write", b"@string", b"@fast"]
    docs = command(server, "COMMAND", "DOCS", "jsonpath.get")
    assert docs[0] == b"jsonpath.get"
    fields = dict(zip(docs[1][::2], docs[1][1::2], strict=True))
    assert list(fields) == [b"summary", b"since", b"group", b"complexity", b"module", b"arguments"]
    assert fields[b"group"] == b"module"
    assert fields[b"module"] == b"jsonpath"
    assert fields[b"summary"] == b"Returns the JSON value at a path of a JSON document"
    assert fields[b"since"] == b"1.0.0"
    assert [arg[1] for arg in fields[b"arguments"]] == [b"key", b"path"]
    listed = command(server, "COMMAND", "LIST", "FILTERBY", "MODULE", "JSONPATH")
    assert sorted(listed) == [b"jsonpath.get", b"jsonpath.set"]
    assert command(server, "COMMAND", "LIST", "FILTERBY", "MODULE", "nope") == []
    assert command(server, "COMMAND", "GETKEYS", "jsonpath.set", "k", "$", "1") == [b"k"]


def test_acl_rules_reach_module_commands(client: redis.Redis, server: ServerProcess) -> None:
    client.execute_command("ACL", "SETUSER", "all", "on", "nopass", "+@all", "~*")
    client.execute_command(
        "ACL", "SETUSER", "reader", "on", "nopass", "-@all", "+jsonpath.get", "~*"
    )
    assert b"jsonpath.set" in client.execute_command("ACL", "CAT", "write")
    try:
        with redis.Redis(port=server.port, username="all", password="x") as everyone:
            assert everyone.execute_command("JSONPATH.SET", "k", "$", "1") == b"OK"
        with redis.Redis(port=server.port, username="reader", password="x") as reader:
            assert reader.execute_command("JSONPATH.GET", "k") == b"1"
            with pytest.raises(redis.exceptions.NoPermissionError, match=r"'jsonpath.set'"):
                reader.execute_command("JSONPATH.SET", "k", "$", "2")
    finally:
        client.execute_command("ACL", "DELUSER", "all", "reader")


# -- MODULE LOAD / UNLOAD while running -------------------------------------------------------
def test_load_call_unload_and_load_again(
    client: redis.Redis, server: ServerProcess, tmp_path: Path
) -> None:
    path = write_module(tmp_path, "hello", HELLO)
    count = command(server, "COMMAND", "COUNT")
    assert client.execute_command("MODULE", "LOAD", path, "a", "b c") == b"OK"
    assert command(server, "COMMAND", "COUNT") == count + 6
    assert client.execute_command("HELLO.WORLD") == b"hello world"
    assert client.execute_command("hello.args") == [b"a", b"b c"]
    assert client.execute_command("MODULE", "LIST")[-1] == [
        *(b"name", b"hello", b"ver", 7, b"path", path.encode()),
        *(b"args", [b"a", b"b c"]),
    ]
    # ACL rules name the new commands; +@all users run them.
    client.execute_command("ACL", "SETUSER", "greeter", "on", "nopass", "-@all", "+hello.world")
    try:
        with redis.Redis(port=server.port, username="greeter", password="x") as greeter:
            assert greeter.execute_command("hello.world") == b"hello world"
            with pytest.raises(redis.exceptions.NoPermissionError, match=r"'hello\.args'"):
                greeter.execute_command("hello.args")
    finally:
        client.execute_command("ACL", "DELUSER", "greeter")
    assert client.execute_command("MODULE", "UNLOAD", "HELLO") == b"OK"
    assert command(server, "COMMAND", "COUNT") == count
    with pytest.raises(redis.ResponseError, match=r"^unknown command 'hello.world'"):
        client.execute_command("hello.world")
    assert [m[1] for m in client.execute_command("MODULE", "LIST")] == [b"ratelimit", b"jsonpath"]
    # Loaded again (by LOADEX): new declarations, fresh COMMAND INFO.
    assert client.execute_command("MODULE", "LOADEX", path, "ARGS", "x") == b"OK"
    assert client.execute_command("hello.args") == [b"x"]
    assert command(server, "COMMAND", "INFO", "hello.world")[0][0] == b"hello.world"
    assert client.execute_command("MODULE", "UNLOAD", "hello") == b"OK"
    assert command(server, "COMMAND", "INFO", "hello.world") == [None]


def test_module_failures_answer_errors_and_the_server_goes_on(
    client: redis.Redis, server: ServerProcess, tmp_path: Path
) -> None:
    path = write_module(tmp_path, "hello", HELLO)
    assert client.execute_command("MODULE", "LOAD", path) == b"OK"
    try:
        with pytest.raises(redis.ResponseError, match=r"^hello refuses$"):
            client.execute_command("hello.fail", "error")
        expected = {
            "value": "ValueError: boom",
            "exit": "SystemExit: 3",
            "interrupt": "KeyboardInterrupt",
            "reply": "TypeError: a module command cannot reply with a object",
        }
        for kind, text in expected.items():
            with pytest.raises(redis.ResponseError) as caught:
                client.execute_command("hello.fail", kind)
            assert str(caught.value) == f"internal error in 'hello.fail': {text}"
            assert client.ping()
        log = server.log.read_text()
        assert "Module command 'hello.fail' raised:" in log
        assert 'raise ValueError("boom")' in log
        assert client.execute_command("hello.world") == b"hello world"
    finally:
        client.execute_command("MODULE", "UNLOAD", "hello")


def test_replies_of_python_values(
    client: redis.Redis, server: ServerProcess, tmp_path: Path
) -> None:
    client.execute_command("MODULE", "LOAD", write_module(tmp_path, "hello", HELLO))
    try:
        with RawConnection(server.port) as raw:
            raw.command("HELLO", "3")
            assert raw.command("hello.shapes") == (
                b"%3\r\n$4\r\ntext\r\n$2\r\n\xc3\xa9\r\n"
                b"$4\r\nlist\r\n*4\r\n:1\r\n,2.5\r\n_\r\n#t\r\n"
                b"$3\r\nset\r\n~1\r\n$1\r\na\r\n"
            )
    finally:
        client.execute_command("MODULE", "UNLOAD", "hello")


def test_load_failures_leave_nothing_behind(
    client: redis.Redis, server: ServerProcess, tmp_path: Path
) -> None:
    count = command(server, "COMMAND", "COUNT")
    cases = {
        "missing": (str(tmp_path / "missing.py"), "no such file"),
        "not python": (str(tmp_path / "lib.so"), "Zyst modules are Python files (.py)"),
        "syntax": (write_module(tmp_path, "syntax", "def (:\n"), "SyntaxError"),
        "raises": (write_module(tmp_path, "raises", "1 / 0\n"), "ZeroDivisionError"),
        "on_load": (
            write_module(
                tmp_path,
                "refuses",
                """
                from zyst.modules import command

                @command("refuses.x", arity=1)
                def x(client, argv):
                    return 1

                def on_load(args):
                    raise ValueError("needs an argument")
                """,
            ),
            "initialization failed: ValueError: needs an argument",
        ),
        "taken": (
            write_module(
                tmp_path,
                "taken",
                """
                from zyst.modules import command

                @command("taken.first", arity=1)
                def first(client, argv):
                    return 1

                @command("GET", arity=2)
                def get(client, argv):
                    return 1
                """,
            ),
            "the command 'get' already exists",
        ),
        "flag": (
            write_module(
                tmp_path,
                "flag",
                """
                from zyst.modules import command

                @command("flag.x", arity=1, flags=("blocking",))
                def x(client, argv):
                    return 1
                """,
            ),
            "unknown or unsupported flag 'blocking'",
        ),
        "name": (write_module(tmp_path, "again", "NAME = 'jsonpath'\n"), "already loaded"),
    }
    for what, (path, reason) in cases.items():
        with pytest.raises(redis.ResponseError) as caught:
            client.execute_command("MODULE", "LOAD", path)
        assert str(caught.value) == LOAD_FAILED, what
        assert f"Module {path} failed to load: " in server.log.read_text(), what
        assert reason in server.log.read_text(), what
    assert command(server, "COMMAND", "COUNT") == count
    assert command(server, "COMMAND", "INFO", "taken.first", "refuses.x") == [None, None]
    assert "    1 / 0\n" in server.log.read_text()  # the module's traceback
    assert len(client.execute_command("MODULE", "LIST")) == 2
    assert client.ping()


def test_loadex_and_unload_errors(client: redis.Redis, tmp_path: Path) -> None:
    path = write_module(
        tmp_path,
        "keeper",
        """
        from zyst.modules import command

        BUSY = [True]

        @command("keeper.release", arity=1)
        def release(client, argv):
            BUSY.clear()
            return 1

        def on_unload():
            if BUSY:
                raise RuntimeError("busy")
        """,
    )
    for args in (("CONFIG", "a", "b"), ("CONFIG", "a"), ("bogus",)):
        with pytest.raises(redis.ResponseError, match=f"^{LOAD_FAILED}$"):
            client.execute_command("MODULE", "LOADEX", path, *args)
    with pytest.raises(
        redis.ResponseError, match=r"^Error unloading module: no such module with that name$"
    ):
        client.execute_command("MODULE", "UNLOAD", "keeper")
    assert client.execute_command("MODULE", "LOAD", path) == b"OK"
    with pytest.raises(
        redis.ResponseError, match=r"^Error unloading module: operation not possible\.$"
    ):
        client.execute_command("MODULE", "UNLOAD", "keeper")
    assert [m[1] for m in client.execute_command("MODULE", "LIST")][-1] == b"keeper"
    assert client.execute_command("keeper.release") == 1
    assert client.execute_command("MODULE", "UNLOAD", "keeper") == b"OK"


# -- propagation and the AOF ------------------------------------------------------------------
def test_writes_go_to_the_aof_and_are_replayed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with zyst_process(data, *WITH_EXAMPLES) as first, redis.Redis(port=first.port) as client:
        client.execute_command("JSONPATH.SET", "doc", "$", '{"a":[1,2]}')
        client.execute_command("JSONPATH.SET", "doc", "$.a[1]", "3")
        client.execute_command("RATELIMIT.HIT", "rl", 5, 600000, 2)
        client.execute_command("RATELIMIT.HIT", "rl", 5, 600000, 9)  # refused: nothing written
        ttl = client.pttl("rl")
    incr = aof_incr_bytes(data)
    # (As the client spelled it: JSONPATH.SET.)
    assert b"$12\r\nJSONPATH.SET\r\n$3\r\ndoc\r\n$6\r\n$.a[1]\r\n$1\r\n3\r\n" in incr
    assert b"RATELIMIT.HIT" not in incr  # the clock-reading command replicates what it did
    assert b"*5\r\n$3\r\nSET\r\n$2\r\nrl\r\n$1\r\n2\r\n$4\r\nPXAT\r\n" in incr
    with zyst_process(data, *WITH_EXAMPLES) as second, redis.Redis(port=second.port) as client:
        assert client.execute_command("JSONPATH.GET", "doc") == b'{"a":[1,3]}'
        assert client.get("rl") == b"2"
        assert 0 < client.pttl("rl") <= ttl


def test_a_replacement_of_a_command_that_changed_nothing_is_dropped(
    client: redis.Redis, server: ServerProcess, tmp_path: Path
) -> None:
    path = write_module(tmp_path, "hello", HELLO)
    client.execute_command("MODULE", "LOAD", path)
    try:
        before = len(aof_incr_bytes(server.dir))
        assert client.execute_command("hello.noop", "k") == 0
        client.set("after", "1")
        written = aof_incr_bytes(server.dir)[before:]
        assert written.endswith(b"*3\r\n$3\r\nSET\r\n$5\r\nafter\r\n$1\r\n1\r\n")
        assert b"DEL" not in written
    finally:
        client.execute_command("MODULE", "UNLOAD", "hello")


# -- start -------------------------------------------------------------------------------------
def test_a_module_that_cannot_load_stops_the_start(tmp_path: Path) -> None:
    broken = write_module(tmp_path, "broken", "raise ImportError('no numpy here')\n")
    argv = [sys.executable, "-m", "zyst", "--port", str(free_port()), "--dir", str(tmp_path)]
    result = subprocess.run(
        [*argv, "--loadmodule", broken],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    assert result.returncode == 1
    assert f"Can't load module from {broken}: server aborting" in result.stderr
    assert "ImportError: no numpy here" in result.stdout


def test_loadmodule_in_a_config_file_and_config_rewrite(tmp_path: Path) -> None:
    path = write_module(tmp_path, "hello", HELLO)
    conf = tmp_path / "zyst.conf"
    conf.write_text(f'loadmodule {path} one "two words"\n')
    server = zyst_process(tmp_path / "data", "--appendonly", "no")
    server.argv.insert(3, str(conf))
    with server, redis.Redis(port=server.port) as client:
        assert client.execute_command("hello.args") == [b"one", b"two words"]
        # The default user (+@all, made before the module loaded) runs its commands too.
        with RawConnection(server.port) as raw:
            assert b"$8\r\ncommands\r\n$5\r\n+@all\r\n" in raw.command("ACL", "GETUSER", "default")
        # CONFIG REWRITE writes the loaded modules back as loadmodule lines.
        assert client.config_rewrite()
    assert f'loadmodule {path} one "two words"\n' in conf.read_text()
    assert "# ???" not in conf.read_text()


def test_monitor_shows_a_module_loaded_while_monitoring(
    client: redis.Redis, server: ServerProcess, tmp_path: Path
) -> None:
    with RawConnection(server.port) as monitor:
        assert monitor.command("MONITOR") == b"+OK\r\n"
        client.execute_command("MODULE", "LOAD", write_module(tmp_path, "hello", HELLO))
        try:
            assert client.execute_command("hello.world") == b"hello world"
            # (MODULE LOAD, an admin command, is not shown.)
            assert monitor.read_reply().endswith(b'"hello.world"\r\n')
        finally:
            client.execute_command("MODULE", "UNLOAD", "hello")
