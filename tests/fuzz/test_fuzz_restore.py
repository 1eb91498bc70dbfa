"""No DUMP payload breaks the server: RESTORE of mutated payloads, with their checksums made
right again so that the mutation reaches the value decoder.

The payloads start as DUMPs the server itself made, of every type in each of its encodings
(small ones in listpacks and intsets, big ones in hash tables and skip lists, strings as
integers, short, and compressed). Each example restores a mutated one and then reads, writes,
dumps and inspects the key; every reply must be a reply (an error is fine, an internal error is
not), the log must stay clean and the server must answer PING.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from tests.fuzz.conftest import (
    FUZZ_SETTINGS,
    TEST_TIMEOUT,
    Checked,
    check_alive,
    check_replies,
    exchange,
    parse,
)
from zyst.persistence.rdb import crc64
from zyst.protocol.resp import encode_command

pytestmark = pytest.mark.timeout(TEST_TIMEOUT)


def _many(prefix: bytes, count: int) -> list[bytes]:
    return [prefix + b"%d" % n for n in range(count)]


# One key per type and encoding; the sizes cross the listpack and intset limits.
SOURCES: Final = (
    [b"SET", b"str:int", b"123456789"],
    [b"SET", b"str:raw", b"hello world"],
    [b"SET", b"str:lzf", b"abcd" * 40],
    [b"RPUSH", b"list:small", b"a", b"1", b"-7", b"xyz"],
    [b"RPUSH", b"list:big", *_many(b"element-", 300)],
    [b"SADD", b"set:int", b"1", b"2", b"-3", b"9223372036854775807"],
    [b"SADD", b"set:str", b"a", b"b", b"c"],
    [b"SADD", b"set:big", *_many(b"", 600)],
    [b"HSET", b"hash:small", b"f", b"v", b"n", b"12"],
    [b"HSET", b"hash:big", *_many(b"field-", 300)],
    [b"ZADD", b"zset:small", b"1", b"a", b"2.5", b"b", b"-inf", b"c"],
    [b"ZADD", b"zset:big", *[part for n in range(200) for part in (b"%d" % n, b"m%d" % n)]],
)
# What is done with the key once restored: reads of every type (most answer WRONGTYPE), writes,
# another DUMP, and the introspection that walks the value.
AFTER: Final = (
    [b"TYPE", b"r"],
    [b"OBJECT", b"ENCODING", b"r"],
    [b"GET", b"r"],
    [b"STRLEN", b"r"],
    [b"APPEND", b"r", b"x"],
    [b"LRANGE", b"r", b"0", b"-1"],
    [b"LPUSH", b"r", b"x"],
    [b"LINDEX", b"r", b"-1"],
    [b"SMEMBERS", b"r"],
    [b"SISMEMBER", b"r", b"1"],
    [b"SADD", b"r", b"x"],
    [b"HGETALL", b"r"],
    [b"HSET", b"r", b"x", b"y"],
    [b"ZRANGE", b"r", b"0", b"-1", b"WITHSCORES"],
    [b"ZADD", b"r", b"1", b"x"],
    [b"ZSCORE", b"r", b"m1"],
    [b"SORT", b"r"],
    [b"MEMORY", b"USAGE", b"r"],
    [b"DEBUG", b"OBJECT", b"r"],
    [b"DUMP", b"r"],
    [b"COPY", b"r", b"r:copy", b"REPLACE"],
    [b"DEL", b"r", b"r:copy"],
)
AFTER_BYTES: Final = b"".join(encode_command(argv) for argv in AFTER)


@pytest.fixture(scope="module")
def dumps(fuzzed: Checked) -> Iterator[list[bytes]]:
    """DUMP payloads of every key in :data:`SOURCES`, made by the server."""
    setup = b"".join(encode_command(argv) for argv in SOURCES)
    names = [argv[1] for argv in SOURCES]
    reply = exchange(
        fuzzed.server.port,
        [
            setup,
            encode_command([b"MULTI"]),
            *[encode_command([b"DUMP", name]) for name in names],
            encode_command([b"EXEC"]),
        ],
    )
    payloads = parse(reply[reply.rindex(b"*%d\r\n" % len(names)) :])
    assert all(isinstance(payload, bytes) for payload in payloads), payloads
    yield payloads


# Bytes that mean something to the RDB decoder: length encodings (00, 01, 10 and 11 in the
# top bits), the special string encodings, listpack and ziplist ends and headers.
SPECIAL_BYTES: Final = (
    *(0x00, 0x01, 0x3F, 0x40, 0x7F, 0x80, 0x81, 0xBF, 0xC0, 0xC1, 0xC2, 0xC3),
    *(0xC4, 0xE0, 0xF0, 0xF1, 0xF2, 0xF3, 0xFE, 0xFF),
)


@st.composite
def mutated_payload(draw: st.DrawFn, payload: bytes) -> bytes:
    """``payload`` with its body mutated (bytes flipped, set to special values, inserted,
    deleted, a 32-bit field replaced) and its checksum recomputed."""
    body = bytearray(payload[:-10])
    version = payload[-10:-8]
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.integers(0, 5))
        pos = draw(st.integers(0, max(len(body) - 1, 0)))
        if kind == 0 and body:
            body[pos] ^= draw(st.integers(1, 255))
        elif kind == 1 and body:
            body[pos] = draw(st.sampled_from(SPECIAL_BYTES))
        elif kind == 2:
            body[pos:pos] = draw(st.binary(min_size=1, max_size=5))
        elif kind == 3:
            del body[pos : pos + draw(st.integers(1, 8))]
        elif kind == 4:
            edge = draw(st.sampled_from([0, 1, 2**31 - 1, 2**31, 2**32 - 1]))
            body[pos : pos + 4] = edge.to_bytes(4, draw(st.sampled_from(["big", "little"])))
        else:
            del body[pos:]
    data = bytes(body) + version
    return data + crc64(data).to_bytes(8, "little")


@FUZZ_SETTINGS
@given(data=st.data())
def test_mutated_dump_payloads_never_break_the_server(
    fuzzed: Checked, dumps: list[bytes], data: st.DataObject
) -> None:
    payload = data.draw(mutated_payload(data.draw(st.sampled_from(dumps))), label="payload")
    request = encode_command([b"RESTORE", b"r", b"0", payload, b"REPLACE"]) + AFTER_BYTES
    output = exchange(fuzzed.server.port, [request])
    event("restored" if output.startswith(b"+OK") else "refused")
    check_replies(output)
    check_alive(fuzzed, [request])
