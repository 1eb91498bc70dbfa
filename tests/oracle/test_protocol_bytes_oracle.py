"""Request bytes as Redis reads them and error bytes as Redis writes them, compared raw with a
real redis-server: inline splitting (``sdssplitargs``), client bytes quoted in error replies
(``%s`` stops at NUL, nothing decoded), and HTTP request lines, which close the connection."""

from __future__ import annotations

import socket
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import Oracle, RawConnection, ServerProcess, redis_process, zyst_process
from tests.server.test_protocol import exchange_with_each
from zyst.commands.table import CROSS_PROTOCOL_WARNING


def until_closed(servers: tuple[ServerProcess, ServerProcess], payload: bytes) -> bytes:
    """Send ``payload`` to both servers, end the writing side, and return what each sent back
    before closing (asserted the same)."""

    def send(sock: socket.socket) -> None:
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)

    ours, theirs = exchange_with_each((servers[0].port, servers[1].port), send)
    assert ours == theirs, f"{payload!r}: zyst {ours!r} != redis {theirs!r}"
    return ours


def inline(oracle: Oracle, line: bytes) -> bytes:
    """Send one inline request line to both servers; assert the same reply bytes."""
    replies = []
    for conn in (oracle.zyst, oracle.redis):
        conn.send_raw(line + b"\r\n")
        replies.append(conn.read_reply())
    assert replies[0] == replies[1], f"{line!r}: zyst {replies[0]!r} != redis {replies[1]!r}"
    return replies[0]


# -- item 5: inline requests split as sdssplitargs splits them ---------------------------------
def test_vertical_tab_inside_a_key_is_part_of_it(oracle: Oracle) -> None:
    assert inline(oracle, b"SET a\x0bb 1") == b"+OK\r\n"
    assert oracle.check("KEYS", "*") == b"*1\r\n$3\r\na\x0bb\r\n"
    assert oracle.check("GET", b"a\x0bb") == b"$1\r\n1\r\n"


def test_form_feed_inside_a_command_name_is_part_of_it(oracle: Oracle) -> None:
    assert inline(oracle, b"SET\x0ckey 1") == (
        b"-ERR unknown command 'SET\x0ckey', with args beginning with: '1' \r\n"
    )
    assert oracle.check("DBSIZE") == b":0\r\n"


def bulk(arg: bytes) -> bytes:
    """ECHO's reply: its one argument, as the line was split."""
    return b"$%d\r\n%s\r\n" % (len(arg), arg)


def unknown(name: bytes, *args: bytes) -> bytes:
    """Redis's reply to an unknown command: its name and arguments, as the line was split."""
    quoted = b"".join(b"'%s' " % arg for arg in args)
    return b"-ERR unknown command '%s', with args beginning with: %s\r\n" % (name, quoted)


@pytest.mark.parametrize(
    ("line", "reply"),
    [
        (b"ECHO x\x0c", bulk(b"x\x0c")),
        (b"ECHO x\x0b\x0c", bulk(b"x\x0b\x0c")),
        # Skipped where an argument starts (isspace), kept anywhere else.
        (b"\x0b\x0cECHO x", bulk(b"x")),
        (b"ECHO \x0b\x0cx", bulk(b"x")),
        (b"ECHO \x0bx\x0by", bulk(b"x\x0by")),
        (b"ECHO\x0b", unknown(b"ECHO\x0b")),
        # After a closing quote, \v and \f are white space.
        (b'ECHO "a"\x0b', bulk(b"a")),
        (b"ECHO 'a'\x0c", bulk(b"a")),
        (b'ECHO "a"\x0b\x0c ', bulk(b"a")),
        (b"NOPE \"a\"\x0bb 'c'\x0cd", unknown(b"NOPE", b"a", b"b", b"c", b"d")),
        # Only space, tab, CR and LF end a bare argument.
        (b"NOPE a\x0bb\tc\x0cd\re  f", unknown(b"NOPE", b"a\x0bb", b"c\x0cd", b"e", b"f")),
        (b"NOPE \x0b\x0c\t \x0b", unknown(b"NOPE")),
        # Quotes and escapes.
        (b'ECHO "\\x41\\x4g\\n\\r\\t\\b\\a\\z\\"\\\\"', bulk(b'Ax4g\n\r\t\x08\x07z"\\')),
        (b"ECHO 'it\\'s \\n \\x41'", bulk(b"it's \\n \\x41")),
        (b'ECHO "a\\x00b"', bulk(b"a\x00b")),
        (b'ECHO "\\xff\\x80\\xA5"', bulk(b"\xff\x80\xa5")),
        (b'ECHO ab"cd ef"', bulk(b"abcd ef")),
        (b"ECHO a'b c'", bulk(b"ab c")),
        (b'ECHO ""', bulk(b"")),
        (b"ECHO ''", bulk(b"")),
        (b'ECHO "\'"', bulk(b"'")),
        (b"ECHO '\"'", bulk(b'"')),
        (b'NOPE "a" \'b\' c"d e"', unknown(b"NOPE", b"a", b"b", b"cd e")),
        # Bytes >= 0x80 are plain bytes.
        (b"ECHO \xa5\xff", bulk(b"\xa5\xff")),
        (b"NOPE\xe9 \xa5 \xff\xfe", unknown(b"NOPE\xe9", b"\xa5", b"\xff\xfe")),
    ],
)
def test_inline_splitting_matches_redis(oracle: Oracle, line: bytes, reply: bytes) -> None:
    assert inline(oracle, line) == reply


@pytest.mark.parametrize(
    "stream",
    [
        b'ECHO "a"b\r\nPING\r\n',
        b"ECHO 'a'\x00\r\nPING\r\n",
        b'ECHO "a\\"\r\nPING\r\n',
        b'ECHO "\\\r\nPING\r\n',
        b"ECHO 'a\\'\r\nPING\r\n",
        # A NUL ends the line for Redis (it searches for the LF with strchr): it never ends.
        b'ECHO "a\x00b"\r\nPING\r\n',
        b"PING\r\nECHO \x00\r\nPING\r\n",
    ],
)
def test_invalid_inline_lines_match_redis(
    zyst_proc: ServerProcess, redis_server: ServerProcess, stream: bytes
) -> None:
    until_closed((zyst_proc, redis_server), stream)


# Bytes that matter to the splitter, and a few that do not.
_LINE_BYTES = list(b" \t\x0b\x0c\r\"'\\x0aF\x80\xff")


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(_LINE_BYTES), max_size=16).map(bytes))
def test_any_inline_line_splits_as_redis_splits_it(
    zyst_proc: ServerProcess, redis_server: ServerProcess, line: bytes
) -> None:
    # The arguments come back whole through a list: RPUSH them, then LRANGE.
    until_closed(
        (zyst_proc, redis_server),
        b"DEL inline-args\r\nRPUSH inline-args " + line + b"\r\nLRANGE inline-args 0 -1\r\n",
    )


# -- item 6: client bytes in error replies, as Redis prints them -------------------------------
@pytest.mark.parametrize(
    "argv",
    [
        (b"FOO\xa5", b"\xa5\x00z", b"\xff\xfe"),
        (b"\x00", b"x"),
        (b"NOPE", b"a\x00b", b"\x00", b"c"),
        (b"NOPE", b"a\r\nb", b"c\n", b"\r"),
        (b"N\xc3\xa9", b"\xc3\xa9", b"\xed\xa0\x80"),
        # Redis quotes arguments while it has written fewer than 128 bytes of them.
        (b"NOPE", b"a" * 100, b"b" * 100, b"c" * 10),
        (b"NOPE", b"a" * 126, b"b"),
        (b"NOPE", b"a" * 125, b"b", b"c"),
        (b"NOPE", b"a" * 300),
        (b"NOPE", *[b"xy"] * 40),
        (b"N" * 200, b"x"),
        (b"NOPE",),
    ],
)
def test_unknown_command_error_bytes(oracle: Oracle, argv: tuple[bytes, ...]) -> None:
    assert oracle.check(*argv).startswith(b"-ERR unknown command '")


@pytest.mark.parametrize(
    "argv",
    [
        (b"CLIENT", b"\xa5\xff"),
        (b"CLIENT", b"\x00"),
        (b"CONFIG", b"x" * 200),
        (b"config", b"\xe9t\xe9", b"x"),
        (b"COMMAND", b"a\r\nb"),
    ],
)
def test_unknown_subcommand_error_bytes(oracle: Oracle, argv: tuple[bytes, ...]) -> None:
    assert oracle.check(*argv).startswith(b"-ERR unknown subcommand '")


@pytest.mark.parametrize(
    ("argv", "found"),
    [
        ((b"PING\x00abc", b"x"), b"$1\r\nx\r\n"),
        ((b"ECHO\x00", b"x"), b"$1\r\nx\r\n"),
        ((b"CLIENT", b"GETNAME\x00x"), b"$-1\r\n"),
    ],
)
def test_nul_inside_a_name(oracle: Oracle, argv: tuple[bytes, ...], found: bytes) -> None:
    # Redis hashes the whole name but compares names as C strings, up to the NUL: when the
    # hash of the name lands in the bucket of the command it starts with (its hash seed is
    # random: a few processes in a hundred), that command runs. Otherwise, and always in Zyst, the
    # name is unknown, and the error quotes it up to the NUL.
    ours, theirs = oracle.run(*argv)
    if argv[0] == b"CLIENT":
        sub = argv[1].split(b"\0")[0]
        expected = b"-ERR unknown subcommand '%s'. Try CLIENT HELP.\r\n" % sub
    else:
        name = argv[0].split(b"\0")[0]
        expected = b"-ERR unknown command '%s', with args beginning with: 'x' \r\n" % name
    assert ours == expected
    assert theirs in (expected, found)


@pytest.mark.parametrize(
    "argv",
    [
        (b"HELLO", b"3", b"\xa5\x00x"),
        (b"HELLO", b"3", b"\xc3\xa9\xff"),
        (b"HELLO", b"3", b"o" * 300),
        (b"HELLO", b"3", b"a\r\nb"),
        (b"HELLO", b"3", b"a\nb"),
        (b"HELLO", b"3", b"a\rb"),
        (b"CLIENT", b"LIST", b"TYPE", b"\xa5x\x00y"),
        (b"CLIENT", b"LIST", b"TYPE", b"t" * 300),
        (b"CONFIG", b"SET", b"\xa5\x00x", b"1"),
        (b"CONFIG", b"SET", b"port\xff", b"1"),
        (b"CONFIG", b"SET", b"hz", b"10", b"\xe9" * 200, b"1"),
        (b"EXPIRE", b"k", b"10", b"\xa5\x00z"),
        (b"EXPIRE", b"k", b"10", b"nx\r\n"),
        (b"EXPIRE", b"k", b"10", b"nx\n"),
        (b"EXPIRE", b"k", b"10", b"nx\r"),
        (b"EXPIRE", b"k", b"10", b"a\r\nb\n"),
        (b"PEXPIRE", b"k", b"10", b"\xff" * 200),
    ],
)
def test_option_error_bytes(oracle: Oracle, argv: tuple[bytes, ...]) -> None:
    assert oracle.check(*argv).startswith(b"-ERR ")


def test_error_bytes_under_resp3(oracle: Oracle) -> None:
    oracle.run("HELLO", "3")  # (the replies differ in the client id)
    assert oracle.check(b"FOO\xa5", b"\xff\x00") == (
        b"-ERR unknown command 'FOO\xa5', with args beginning with: '\xff' \r\n"
    )


@pytest.mark.parametrize(
    ("stream", "got"),
    [
        (b"*1\r\n\xa5\r\n", b"\xa5"),
        (b"*2\r\n$1\r\na\r\n\xff\r\n", b"\xff"),
        (b"*1\r\n\xc3\xa9\r\n", b"\xc3"),
    ],
)
def test_expected_dollar_error_bytes(
    zyst_proc: ServerProcess, redis_server: ServerProcess, stream: bytes, got: bytes
) -> None:
    reply = until_closed((zyst_proc, redis_server), stream)
    assert reply == b"-ERR Protocol error: expected '$', got '" + got + b"'\r\n"


# -- item 7: an HTTP request is not a stream of commands ---------------------------------------
def closed_without_reply(sock: socket.socket) -> bool:
    """Read until the server closes: True when it closed having sent nothing. A server that
    neither answers nor closes fails the test at the socket timeout."""
    received = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        received += chunk
    return received == b""


def send_and_wait_for_close(port: int, payload: bytes) -> bool:
    """Send ``payload`` on a new connection (its writing side left open): see
    :func:`closed_without_reply`."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(payload)
        return closed_without_reply(sock)


HTTP_POST = (
    b"POST / HTTP/1.1\r\n"
    b"Host: 127.0.0.1:6379\r\n"
    b"Content-Type: text/plain\r\n"
    b"Content-Length: 15\r\n"
    b"\r\n"
    b"SET pwned yes\r\n"
)


@pytest.mark.parametrize(
    "payload",
    [
        HTTP_POST,
        b"PING\r\n" + HTTP_POST,
        b"SET before 1\r\nHost: example.com\r\nSET pwned yes\r\n",
        # A GET request line is a wrong-arity GET, whose error is not sent either.
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\nSET pwned yes\r\n",
        b"post /\r\nSET pwned yes\r\n",
        b"HOST:\r\nSET pwned yes\r\n",
        b"pOsT\r\nSET pwned yes\r\n",
        # Compared as C strings: a NUL ends the name.
        b"*2\r\n$8\r\nPOST\x00abc\r\n$1\r\nx\r\n*3\r\n$3\r\nSET\r\n$5\r\npwned\r\n$3\r\nyes\r\n",
        b"*1\r\n$6\r\nhost:\x00\r\nSET pwned yes\r\n",
    ],
)
def test_http_request_closes_the_connection(
    oracle: Oracle, zyst_proc: ServerProcess, redis_server: ServerProcess, payload: bytes
) -> None:
    for server in (zyst_proc, redis_server):
        assert send_and_wait_for_close(server.port, payload), server.argv[0]
    assert oracle.check("GET", "pwned") == b"$-1\r\n"
    if b"before" in payload:
        # Commands before the line run; only their replies are not sent.
        assert oracle.check("GET", "before") == b"$1\r\n1\r\n"


def test_http_request_after_answered_commands(
    oracle: Oracle, zyst_proc: ServerProcess, redis_server: ServerProcess
) -> None:
    # Replies of earlier reads have left; the connection closes at the POST.
    for server in (zyst_proc, redis_server):
        conn = RawConnection(server.port)
        try:
            assert conn.command("SET", "a", "1") == b"+OK\r\n"
            conn.send_raw(b"POST / HTTP/1.1\r\nSET pwned yes\r\n")
            assert closed_without_reply(conn.sock), server.argv[0]
        finally:
            conn.close()
    assert oracle.check("MGET", "a", "pwned") == b"*2\r\n$1\r\n1\r\n$-1\r\n"


@pytest.mark.parametrize(
    "argv",
    [("POSTAL", "x"), ("host", "x"), ("Host:x",), ("host:a",), (" post",), ("posT ",)],
)
def test_names_close_to_http_are_unknown_commands(oracle: Oracle, argv: tuple[str, ...]) -> None:
    assert oracle.check(*argv).startswith(b"-ERR unknown command")


def test_post_and_host_are_not_commands(oracle: Oracle) -> None:
    nil = b"$-1\r\n"
    assert oracle.check("COMMAND", "INFO", "post", "host:", "POST") == b"*3\r\n" + nil * 3
    for conn in (oracle.zyst, oracle.redis):
        names = conn.command("COMMAND", "LIST")
        assert b"\r\npost\r\n" not in names
        assert b"\r\nhost:\r\n" not in names


def test_http_request_is_logged_once_a_minute(tmp_path_factory: pytest.TempPathFactory) -> None:
    servers = [
        zyst_process(tmp_path_factory.mktemp("zyst-http"), "--appendonly", "no"),
        redis_process(tmp_path_factory.mktemp("redis-http")),
    ]
    try:
        for server in servers:
            server.start()
            for _ in range(3):
                assert send_and_wait_for_close(server.port, HTTP_POST)
            # The log is written before the connection closes; poll only to be safe.
            deadline = time.monotonic() + 10
            while CROSS_PROTOCOL_WARNING not in server.log.read_text():
                assert time.monotonic() < deadline, server.log.read_text()
                time.sleep(0.05)
            conn = RawConnection(server.port)
            try:
                assert conn.command("PING") == b"+PONG\r\n"
            finally:
                conn.close()
            assert server.log.read_text().count(CROSS_PROTOCOL_WARNING) == 1
    finally:
        for server in servers:
            server.stop()
