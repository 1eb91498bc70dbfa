"""RequestParser.limited, in process: the requests of a client that must log in are held back at
the first one over Redis's limits for such clients (more than 10 elements, an element over 16384
bytes), however the bytes are split into reads; the connection then refuses them or, the client
having logged in, has them parsed."""

from __future__ import annotations

import pytest

from zyst import errors
from zyst.protocol.resp import RequestParser, encode_command

PING = encode_command([b"PING"])
ELEVEN = encode_command([b"MSET", *([b"k", b"v"] * 5)])
BIG = encode_command([b"ECHO", b"x" * 20000])


def feed_in_pieces(parser: RequestParser, data: bytes, size: int) -> list[list[bytes]]:
    commands: list[list[bytes]] = []
    for start in range(0, len(data), size):
        commands += parser.feed(data[start : start + size])
    return commands


@pytest.mark.parametrize("size", [1, 3, 7, 64, 100000])
@pytest.mark.parametrize(
    ("after", "error"),
    [(ELEVEN, errors.PROTO_UNAUTH_MBULK), (BIG, errors.PROTO_UNAUTH_BULK)],
)
def test_requests_after_the_first_too_big_one_are_held(size: int, after: bytes, error: str) -> None:
    parser = RequestParser()
    parser.limited = True
    commands = feed_in_pieces(parser, PING + after + PING, size)
    assert commands == [[b"PING"]]
    assert parser.held and parser.error is None
    parser.refuse_held()
    assert parser.error == error
    assert parser.feed(PING) == []


@pytest.mark.parametrize("size", [1, 5, 100000])
def test_released_requests_are_parsed_without_limits(size: int) -> None:
    parser = RequestParser()
    parser.limited = True
    assert feed_in_pieces(parser, PING + BIG + ELEVEN, size) == [[b"PING"]]
    assert parser.held
    released = parser.release_held()
    released += parser.feed(PING)
    assert [argv[0] for argv in released] == [b"ECHO", b"MSET", b"PING"]
    assert not parser.limited and not parser.held


def test_an_element_over_the_limit_inside_a_request_under_way() -> None:
    parser = RequestParser()
    parser.limited = True
    assert parser.feed(b"*2\r\n$4\r\nECHO\r\n") == []
    assert parser.feed(b"$20000\r\n") == []
    assert parser.held
    assert parser.release_held() == []
    assert parser.feed(b"x" * 20000 + b"\r\n") == [[b"ECHO", b"x" * 20000]]


def test_within_the_limits_nothing_is_held() -> None:
    parser = RequestParser()
    parser.limited = True
    ten = encode_command([b"MSET", b"k", b"v", b"k", b"v", b"k", b"v", b"k", b"v", b"k"])
    exact = encode_command([b"ECHO", b"x" * 16384])
    assert len(feed_in_pieces(parser, ten + exact + b"PING\r\n", 5)) == 3
    assert not parser.held
