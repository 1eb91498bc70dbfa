"""The users file (``aclfile``) and ``user`` lines of a config file, against real Redis 7.0:
each test starts a Zyst and a redis-server with the same file, and compares what they load,
save, refuse and log. The file's path is in some messages; it is the only difference allowed.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Oracle, ServerProcess, redis_process, wait_until, zyst_process
from tests.oracle.test_acl_oracle import normalized

USERS = (
    b"user alice on #" + hashlib.sha256(b"pw").hexdigest().encode() + b" ~k* &c* -@all +get\n"
    b"user default on nopass ~* &* +@all\n"
    b"user bob off resetchannels %R~r* %W~w* -@all +@string (~x* resetchannels -@all +set)\n"
)


class Pair:
    """A Zyst and a redis-server started with the same users file, and an oracle."""

    def __init__(self, tmp_path: Path, content: bytes, *extra: str) -> None:
        self.files: list[Path] = []
        self.servers: list[ServerProcess] = []
        for name, make in (("zyst", zyst_process), ("redis", redis_process)):
            workdir = tmp_path / name
            workdir.mkdir()
            path = workdir / "users.acl"
            path.write_bytes(content)
            self.files.append(path)
            self.servers.append(make(workdir, "--aclfile", str(path), *extra))
        self.oracle: Oracle | None = None

    def start(self) -> Oracle:
        for server in self.servers:
            server.start()
        self.oracle = Oracle(self.servers[0].port, self.servers[1].port)
        return self.oracle

    def write(self, content: bytes) -> None:
        for path in self.files:
            path.write_bytes(content)

    def check(self, *command: str) -> bytes:
        """Both reply alike, each server's file path aside."""
        assert self.oracle is not None
        ours, theirs = self.oracle.run(*command)
        ours = ours.replace(str(self.files[0]).encode(), b"FILE")
        theirs = theirs.replace(str(self.files[1]).encode(), b"FILE")
        if ours != theirs:
            assert normalized(ours) == normalized(theirs), (command, ours, theirs)
        return ours

    def stop(self) -> None:
        if self.oracle is not None:
            self.oracle.close()
        for server in self.servers:
            server.stop()


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    servers = Pair(tmp_path, USERS)
    servers.start()
    yield servers
    servers.stop()


def test_the_file_is_loaded_at_start(pair: Pair) -> None:
    listed = pair.check("ACL", "LIST")
    assert b"user alice on #" in listed and b"(~x* resetchannels -@all +set)" in listed
    pair.check("ACL", "USERS")
    pair.check("ACL", "GETUSER", "bob")


def test_save_writes_what_list_shows(pair: Pair) -> None:
    pair.check("ACL", "SETUSER", "carol", "on", ">x", "%RW~a", "+@hash", "(+get ~z)")
    pair.check("ACL", "DELUSER", "alice")
    assert pair.check("ACL", "SAVE") == b"+OK\r\n"
    ours, theirs = (path.read_bytes() for path in pair.files)
    assert [normalized_line(line) for line in ours.splitlines()] == [
        normalized_line(line) for line in theirs.splitlines()
    ]
    assert ours.startswith(b"user bob off ") and ours.endswith(b"+@all\n")
    pair.check("ACL", "LOAD")
    pair.check("ACL", "LIST")


def normalized_line(line: bytes) -> object:
    return normalized(b"$%d\r\n%s\r\n" % (len(line), line))


BAD_FILES = {
    "no user keyword": b"usr alice on\n",
    "no name": b"user\n",
    "name only": b"user carol\n",
    "duplicate": b"user alice on\nuser alice off\n",
    "syntax": b"user alice on %X~a\n",
    "several errors": b"user a on ~* ~x &* &y\nuser b +nosuch -nosuch2\nfoo\n",
    "unknown command": b"user alice on +nosuch +@nosuch\n",
    "bad hash": b"user alice on #abc\n",
    "blank lines and spaces": b"\n  \nuser alice  on   ~a\t\n\n",
    "selector": b"user alice on (+get ~x) (%R~y +@string)\n",
    "unbalanced quotes kept": b'user alice on "~a\n',
    "crlf": b"user alice on ~a\r\nuser bob off\r\n",
    "no default": b"user alice on nopass +@all ~*\n",
    "default changed": b"user default on nopass ~a* &* +@all -flushall\n",
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_load_takes_all_or_nothing(pair: Pair, name: str) -> None:
    pair.check("ACL", "SETUSER", "zed", "on")
    pair.write(BAD_FILES[name])
    pair.check("ACL", "LOAD")
    pair.check("ACL", "LIST")


def test_load_of_a_missing_file(pair: Pair) -> None:
    for path in pair.files:
        path.unlink()
    reply = pair.check("ACL", "LOAD")
    assert reply == b"-ERR Error loading ACLs, opening file 'FILE': No such file or directory\r\n"


def test_save_that_cannot_write(pair: Pair) -> None:
    for path in pair.files:
        path.unlink()
        path.mkdir()
    pair.check("ACL", "SAVE")


def exit_log(server: ServerProcess) -> str:
    """Start ``server``, which must stop by itself with exit code 1; its log. (Users are
    made after the port opens, as in Redis: the port may have answered before the exit.)"""
    assert server.proc is None
    with contextlib.suppress(RuntimeError):
        server.start()
    proc = server.proc
    assert proc is not None
    wait_until(lambda: proc.poll() is not None, "the server to exit")
    assert proc.returncode == 1
    return server.log.read_text()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"user alice on %X~a\n", "/users.acl:1: Syntax error. WARNING: ACL errors detected"),
        (b"foo\n", "/users.acl:1 should start with user keyword followed by the username."),
    ],
)
def test_a_bad_file_stops_the_start(tmp_path: Path, content: bytes, message: str) -> None:
    servers = Pair(tmp_path, content)
    for server in servers.servers:
        log = exit_log(server)
        assert "Aborting Redis startup because of ACL errors: " in log
        assert message in log


CONFIG_USERS = (
    b"user alice on >pw ~k* +get\n"
    b'user bob on "(+set ~x*)" &c nopass\n'
    b"user default on nopass ~* &* +@all -flushall\n"
)


def config_pair(tmp_path: Path, content: bytes, *extra: str) -> list[ServerProcess]:
    servers = []
    for name, make in (("zyst", zyst_process), ("redis", redis_process)):
        workdir = tmp_path / name
        workdir.mkdir()
        conf = workdir / "server.conf"
        conf.write_bytes(content)
        server = make(workdir, *extra)
        # The config file must come first on the command line.
        binary = 3 if name == "zyst" else 1
        server.argv[binary:binary] = [str(conf)]
        servers.append(server)
    return servers


def test_users_declared_in_the_config_file(tmp_path: Path) -> None:
    zyst, redis = config_pair(tmp_path, CONFIG_USERS)
    with zyst, redis:
        oracle = Oracle(zyst.port, redis.port)
        try:
            ours, theirs = oracle.run("ACL", "LIST")
            assert normalized(ours) == normalized(theirs)
            assert b"user default on nopass sanitize-payload ~* &* +@all -flushall" in ours
            oracle.check("ACL", "SAVE")
        finally:
            oracle.close()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"user alice on %X~y\n", "Error in user declaration 'alice': Syntax error"),
        (b"user alice on\nuser alice off\n", "Error in user declaration 'alice': Duplicate"),
        (b"user alice on ~x ~y ~* ~z\n", "Error in user declaration '~y': Adding a pattern"),
        (
            b"user alice on +nosuch\n",
            "Error loading ACL rule '+nosuch' for the user named 'alice': Unknown command",
        ),
    ],
)
def test_bad_user_declarations_stop_the_start(tmp_path: Path, content: bytes, message: str) -> None:
    for server in config_pair(tmp_path, content):
        assert message in exit_log(server)


def test_users_in_the_config_file_and_a_users_file_do_not_mix(tmp_path: Path) -> None:
    acl = tmp_path / "users.acl"
    acl.write_bytes(USERS)
    for server in config_pair(tmp_path, CONFIG_USERS, "--aclfile", str(acl)):
        assert "Configuring Redis with users defined in redis.conf and at the same" in exit_log(
            server
        )


def user_lines(path: Path) -> list[object]:
    return [
        normalized_line(line) for line in path.read_bytes().splitlines() if line.startswith(b"user")
    ]


def test_config_rewrite_writes_the_users(tmp_path: Path) -> None:
    zyst, redis = config_pair(tmp_path, b"# users\n" + CONFIG_USERS + b"maxclients 100\n")
    with zyst, redis:
        oracle = Oracle(zyst.port, redis.port)
        try:
            oracle.check("ACL", "SETUSER", "carol", "on", "~c*", "+@hash", "(+get ~x)")
            oracle.check("ACL", "DELUSER", "alice")
            oracle.check("CONFIG", "REWRITE")
        finally:
            oracle.close()
    ours, theirs = (user_lines(server.dir / "server.conf") for server in (zyst, redis))
    assert ours == theirs
    assert len(ours) == 3
    # The users take the places of the old user lines, in the same order on both.
    first_words = [
        [line.split(b" ")[0] for line in (server.dir / "server.conf").read_bytes().splitlines()]
        for server in (zyst, redis)
    ]
    assert (
        first_words[0][:5] == first_words[1][:5] == [b"#", b"user", b"user", b"user", b"maxclients"]
    )


def test_config_rewrite_leaves_users_to_the_users_file(tmp_path: Path) -> None:
    acl = tmp_path / "users.acl"
    acl.write_bytes(USERS)
    zyst, redis = config_pair(tmp_path, b"maxclients 100\n", "--aclfile", str(acl))
    with zyst, redis:
        oracle = Oracle(zyst.port, redis.port)
        try:
            oracle.check("ACL", "SETUSER", "carol", "on")
            oracle.check("CONFIG", "REWRITE")
        finally:
            oracle.close()
    for server in (zyst, redis):
        assert user_lines(server.dir / "server.conf") == []
