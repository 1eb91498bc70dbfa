"""The query-buffer limit in the request parser, measured as Redis measures it: an argument of
``n`` bytes is refused exactly when ``n + 2`` (with its CRLF) exceeds the limit, however its
bytes are split into reads. (Against redis-server: ``tests/oracle/test_limits_oracle.py``.)"""

from __future__ import annotations

import pytest

from zyst.protocol.resp import QUERY_BUFFER_OVERFLOW, RequestParser

LIMIT = 1000


def request(size: int) -> bytes:
    return b"*2\r\n$4\r\nECHO\r\n$%d\r\n" % size + b"x" * size + b"\r\n"


def feed_in_pieces(parser: RequestParser, data: bytes, piece: int) -> list[list[bytes]]:
    commands = []
    for start in range(0, len(data), piece):
        commands += parser.feed(data[start : start + piece])
        if parser.error is not None:
            break
    return commands


@pytest.mark.parametrize("piece", [1, 7, 100, 999, 1003, 5000])
def test_largest_argument_that_fits(piece: int) -> None:
    parser = RequestParser(max_query_buffer=LIMIT)
    commands = feed_in_pieces(parser, request(LIMIT - 2), piece)
    assert parser.error is None
    assert commands == [[b"ECHO", b"x" * (LIMIT - 2)]]


@pytest.mark.parametrize("piece", [1, 7, 100, 999, 1003])
@pytest.mark.parametrize("size", [LIMIT - 1, LIMIT, 3 * LIMIT])
def test_one_byte_more_is_refused(piece: int, size: int) -> None:
    parser = RequestParser(max_query_buffer=LIMIT)
    assert feed_in_pieces(parser, request(size), piece) == []
    assert parser.error == QUERY_BUFFER_OVERFLOW


def test_what_follows_the_argument_does_not_count() -> None:
    # The next request arriving in the same read is not in Redis's buffer yet.
    parser = RequestParser(max_query_buffer=LIMIT)
    data = request(LIMIT - 2) + b"*1\r\n$4\r\nPING\r\n"
    assert parser.feed(data[:100]) == []
    assert parser.feed(data[100:]) == [[b"ECHO", b"x" * (LIMIT - 2)], [b"PING"]]
    assert parser.error is None


def test_a_limit_lowered_between_reads_applies_to_the_next_one() -> None:
    parser = RequestParser(max_query_buffer=10 * LIMIT)
    data = request(2 * LIMIT)
    assert parser.feed(data[:500]) == []
    parser.max_query_buffer = LIMIT
    assert parser.feed(data[500:]) == []
    assert parser.error == QUERY_BUFFER_OVERFLOW
