"""RDB lengths and strings (zyst.persistence.rdb): Redis's exact bytes for each form, and each
read back as written."""

from __future__ import annotations

import pytest

from zyst.persistence import rdb


@pytest.mark.parametrize(
    ("length", "encoded"),
    [
        (0, b"\x00"),
        (63, b"\x3f"),
        (64, b"\x40\x40"),
        (16383, b"\x7f\xff"),
        (16384, b"\x80\x00\x00\x40\x00"),
        (2**32 - 1, b"\x80\xff\xff\xff\xff"),
        (2**32, b"\x81\x00\x00\x00\x01\x00\x00\x00\x00"),
    ],
)
def test_lengths(length: int, encoded: bytes) -> None:
    out = bytearray()
    rdb.write_length(out, length)
    assert bytes(out) == encoded
    assert rdb.Reader(encoded).read_length() == length


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (b"0", b"\xc0\x00"),
        (b"-128", b"\xc0\x80"),
        (b"127", b"\xc0\x7f"),
        (b"128", b"\xc1\x80\x00"),
        (b"-32768", b"\xc1\x00\x80"),
        (b"32768", b"\xc2\x00\x80\x00\x00"),
        (b"-2147483648", b"\xc2\x00\x00\x00\x80"),
        (b"2147483648", b"\x0a2147483648"),  # past 32 bits: a plain string
        (b"007", b"\x03007"),  # not written canonically
        (b"+1", b"\x02+1"),
        (b"", b"\x00"),
        (b"a" * 20, b"\x14" + b"a" * 20),  # 20 bytes: never compressed
    ],
)
def test_strings(value: bytes, encoded: bytes) -> None:
    out = bytearray()
    rdb.write_string(out, value)
    assert bytes(out) == encoded
    assert rdb.Reader(encoded).read_string() == value


def test_long_strings_are_compressed_when_it_pays() -> None:
    for value, compressed in ((b"a" * 100, True), (bytes(range(200)), False)):
        out = bytearray()
        rdb.write_string(out, value)
        assert (out[0] == 0xC3) is compressed
        reader = rdb.Reader(bytes(out))
        assert reader.read_string() == value
        assert reader.remaining == 0
        plain = bytearray()
        rdb.write_string(plain, value, compress=False)
        assert plain[0] != 0xC3


def test_payload_footer_and_its_checks() -> None:
    framed = rdb.payload(b"body")
    assert framed[4:6] == b"\x0a\x00"
    assert rdb.payload_body(framed) == b"body"
    assert rdb.payload_body(framed[:-1] + bytes([framed[-1] ^ 1])) is None
    newer = b"body" + (rdb.RDB_VERSION + 1).to_bytes(2, "little")
    assert rdb.payload_body(newer + rdb.crc64(newer).to_bytes(8, "little")) is None
    assert rdb.payload_body(b"short") is None


@pytest.mark.parametrize("data", [b"", b"\x05ab", b"\xc3\x05\x10abc", b"\xc4", b"\xc1\x01"])
def test_cut_or_bad_strings_raise(data: bytes) -> None:
    with pytest.raises(rdb.RdbError):
        rdb.Reader(data).read_string()


def test_crc64_is_redis_s() -> None:
    """The check value Redis's own crc64 test asserts (crc64.c)."""
    assert rdb.crc64(b"123456789") == 0xE9C6D914C4B8D9CA
