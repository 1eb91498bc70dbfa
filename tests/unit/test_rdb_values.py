"""One value <-> one RDB object (zyst.persistence.rdbvalues): every type in every encoding Redis
7.0 writes and reads, the encoding chosen for each, the old encodings, DUMP payloads, and
damaged input (always RdbError, never another exception)."""

from __future__ import annotations

import contextlib
import math
import struct
from collections import deque

import pytest

from zyst.config import Config
from zyst.encodings import Limits
from zyst.persistence import rdbvalues as rv
from zyst.persistence.rdb import RdbError, Reader, payload, write_length, write_string
from zyst.types.zset import ZSet


def limits(**settings: int) -> Limits:
    config = Config()
    for name, value in settings.items():
        setattr(config, name, value)
    return Limits(config)


def zset(pairs: dict[bytes, float]) -> ZSet:
    value = ZSet()
    for member, score in pairs.items():
        value.add(member, score)
    return value


def encode(value: object, lim: Limits | None = None, compress: bool = True) -> bytes:
    out = bytearray()
    rv.write_value(out, value, lim or limits(), compress)
    return bytes(out)


def decode(data: bytes) -> object:
    reader = Reader(data)
    value = rv.read_value(reader)
    assert reader.remaining == 0
    return value


SAMPLES: list[tuple[str, object, int]] = [
    ("int-string", b"12345", rv.TYPE_STRING),
    ("negative-int", b"-2147483648", rv.TYPE_STRING),
    ("not-canonical", b"0123", rv.TYPE_STRING),
    ("raw-string", b"hello world", rv.TYPE_STRING),
    ("lzf-string", b"abc" * 100, rv.TYPE_STRING),
    ("empty-string", b"", rv.TYPE_STRING),
    ("list", deque([b"a", b"1", b"-5000", b"70000", b"x" * 70, b"y" * 5000, b"9" * 19]), 18),
    ("long-list", deque(b"element-%d" % i for i in range(3000)), rv.TYPE_LIST_QUICKLIST_2),
    ("hash-listpack", {b"f": b"v", b"n": b"-12", b"big": b"9223372036854775807"}, 16),
    ("hash-table", {b"f%d" % i: b"v" * 65 for i in range(3)}, rv.TYPE_HASH),
    ("intset-16", {b"1", b"-32768", b"32767"}, rv.TYPE_SET_INTSET),
    ("intset-32", {b"1", b"-2147483648"}, rv.TYPE_SET_INTSET),
    ("intset-64", {b"1", b"-9223372036854775808", b"9223372036854775807"}, 11),
    ("set-table", {b"a", b"1", b"b"}, rv.TYPE_SET),
    ("zset-listpack", {b"a": 1.5, b"b": -2.0, b"c": math.inf, b"d": -math.inf, b"e": 1e300}, 17),
    ("zset-skiplist", {b"m%d" % i: i / 3 for i in range(200)}, rv.TYPE_ZSET_2),
]


@pytest.mark.parametrize(("name", "value", "kind"), SAMPLES, ids=[s[0] for s in SAMPLES])
@pytest.mark.parametrize("compress", [True, False])
def test_round_trip_in_the_encoding_redis_writes(
    name: str, value: object, kind: int, compress: bool
) -> None:
    if isinstance(value, dict) and name.startswith("zset"):
        value = zset(value)
    data = encode(value, compress=compress)
    assert data[0] == kind
    assert decode(data) == value


def test_a_bytearray_is_written_as_the_string_it_holds() -> None:
    assert encode(bytearray(b"123")) == encode(b"123")
    assert decode(encode(bytearray(b"x" * 50))) == b"x" * 50


def test_strings_take_the_integer_and_lzf_forms() -> None:
    assert encode(b"7") == b"\x00\xc0\x07"
    assert encode(b"-300") == b"\x00\xc1" + (-300).to_bytes(2, "little", signed=True)
    assert encode(b"a" * 40)[1] == 0xC3  # LZF
    assert encode(b"a" * 40, compress=False)[1] == 40


def test_encoding_thresholds_follow_the_limits() -> None:
    assert encode({b"f": b"v" * 64})[0] == rv.TYPE_HASH_LISTPACK
    assert encode({b"f": b"v" * 65})[0] == rv.TYPE_HASH
    assert encode({b"f": b"v"}, limits(hash_max_listpack_entries=0))[0] == rv.TYPE_HASH
    many = {b"%d" % i: b"" for i in range(512)}
    assert encode(many)[0] == rv.TYPE_HASH_LISTPACK  # Redis's compiled-in default: 512
    many[b"one-more"] = b""
    assert encode(many)[0] == rv.TYPE_HASH
    del many[b"one-more"]
    assert encode(set(many))[0] == rv.TYPE_SET_INTSET
    assert encode(set(many), limits(set_max_intset_entries=511))[0] == rv.TYPE_SET
    assert encode({b"01"})[0] == rv.TYPE_SET  # not a canonical integer
    members = {b"m%d" % i: 1.0 for i in range(128)}
    assert encode(zset(members))[0] == rv.TYPE_ZSET_LISTPACK
    members[b"one-more"] = 2.0
    assert encode(zset(members))[0] == rv.TYPE_ZSET_2
    assert encode(zset({b"x" * 65: 1.0}))[0] == rv.TYPE_ZSET_2
    assert encode(zset({b"x" * 65: 1.0}), limits(zset_max_listpack_value=65))[0] == 17


def node_sizes(data: bytes) -> list[int]:
    """Element counts of each listpack node of a quicklist 2 object."""
    reader = Reader(data)
    assert reader.read_byte() == rv.TYPE_LIST_QUICKLIST_2
    counts = []
    for _ in range(reader.read_length()):
        assert reader.read_length() == 2
        blob = reader.read_string()
        counts.append(blob[4] | blob[5] << 8)
    return counts


def test_list_nodes_are_filled_as_pushes_fill_them() -> None:
    # One-byte strings take 3 bytes each. An element joins a node while the node's bytes, the
    # element's raw size and 8 more stay within the budget (8 KB for the default fill -2):
    # 7 + 3 * k + 1 + 8 <= 8192 for k elements already there, so 2726 a node.
    items = deque([b"a"] * 6000)
    assert node_sizes(encode(items)) == [2726, 2726, 548]
    assert node_sizes(encode(items, limits(list_max_listpack_size=-1)))[0] == 1361
    # A positive fill is a count, within the 8 KB safety cap.
    assert node_sizes(encode(items, limits(list_max_listpack_size=5)))[:2] == [5, 5]
    assert node_sizes(encode(items, limits(list_max_listpack_size=10000)))[0] == 2726
    assert node_sizes(encode(items, limits(list_max_listpack_size=0)))[:2] == [1, 1]


def test_negative_zero_and_big_integers_as_scores() -> None:
    value = zset({b"z": -0.0, b"big": 2.0**62, b"bigger": 2.0**63, b"tiny": 5e-324})
    back = decode(encode(value))
    assert isinstance(back, ZSet)
    assert back.scores == {b"z": 0.0, b"big": 2.0**62, b"bigger": 2.0**63, b"tiny": 5e-324}


def test_a_loaded_big_zset_works_as_one_built_member_by_member() -> None:
    """Thousands of members (many blocks, and the position tree over them) built at once
    by the loader: ranks, ranges and later changes agree with a set built by ZADDs."""
    built = zset({b"m%05d" % i: float(i % 700) for i in range(5000)})
    loaded = decode(encode(built))
    assert isinstance(loaded, ZSet)
    assert loaded.items(0, 5000) == built.items(0, 5000)
    for member in (b"m00000", b"m02500", b"m04999", b"m00700"):
        assert loaded.rank(member) == built.rank(member)
        assert loaded.rank(member, reverse=True) == built.rank(member, reverse=True)
    for value in (loaded, built):
        value.add(b"new", 350.5)
        value.remove(b"m00001")
    assert loaded.items(0, 5000) == built.items(0, 5000)
    assert loaded.rank(b"new") == built.rank(b"new")


def test_zset_read_out_of_order_is_still_sorted() -> None:
    body = bytearray([rv.TYPE_ZSET_2])
    write_length(body, 3)
    for member, score in ((b"b", 1.0), (b"a", 3.0), (b"c", 2.0)):
        write_string(body, member)
        body += struct.pack("<d", score)
    value = decode(bytes(body))
    assert isinstance(value, ZSet)
    assert [m for m, _ in value] == [b"b", b"c", b"a"]


# -- old encodings, made by hand --------------------------------------------------------------
def ziplist(items: list[bytes | int]) -> bytes:
    """A ziplist as Redis 6 wrote them (for the reader's tests)."""
    entries = bytearray()
    previous = 0
    last = 10
    for item in items:
        entry = bytearray([previous] if previous < 254 else [254, *previous.to_bytes(4, "little")])
        if isinstance(item, int):
            if 0 <= item <= 12:
                entry.append(0xF1 + item)
            elif -128 <= item <= 127:
                entry += b"\xfe" + item.to_bytes(1, "little", signed=True)
            elif -32768 <= item <= 32767:
                entry += b"\xc0" + item.to_bytes(2, "little", signed=True)
            elif -(2**23) <= item < 2**23:
                entry += b"\xf0" + item.to_bytes(3, "little", signed=True)
            elif -(2**31) <= item < 2**31:
                entry += b"\xd0" + item.to_bytes(4, "little", signed=True)
            else:
                entry += b"\xe0" + item.to_bytes(8, "little", signed=True)
        elif len(item) < 64:
            entry += bytes([len(item)]) + item
        elif len(item) < 16384:
            entry += bytes([0x40 | len(item) >> 8, len(item) & 0xFF]) + item
        else:
            entry += b"\x80" + len(item).to_bytes(4, "big") + item
        last = 10 + len(entries)
        entries += entry
        previous = len(entry)
    size = 10 + len(entries) + 1
    head = size.to_bytes(4, "little") + last.to_bytes(4, "little")
    return head + len(items).to_bytes(2, "little") + entries + b"\xff"


def blob_object(kind: int, blob: bytes) -> bytes:
    out = bytearray([kind])
    write_string(out, blob)
    return bytes(out)


ZIPLIST_ITEMS: list[bytes | int] = [
    b"a",
    0,
    12,
    13,
    -1,
    300,
    -70000,
    2**40,
    b"x" * 300,
    b"y" * 20000,
]
ZIPLIST_TEXT = [b"a", b"0", b"12", b"13", b"-1", b"300", b"-70000", b"%d" % 2**40]
ZIPLIST_TEXT += [b"x" * 300, b"y" * 20000]


def test_list_ziplist_and_quicklist_1() -> None:
    assert decode(blob_object(rv.TYPE_LIST_ZIPLIST, ziplist(ZIPLIST_ITEMS))) == deque(ZIPLIST_TEXT)
    body = bytearray([rv.TYPE_LIST_QUICKLIST])
    write_length(body, 3)
    write_string(body, ziplist([b"a", 1]))
    write_string(body, ziplist([]))  # an empty node is skipped, as Redis does
    write_string(body, ziplist([b"b"]))
    assert decode(bytes(body)) == deque([b"a", b"1", b"b"])


def test_hash_and_zset_ziplists() -> None:
    assert decode(blob_object(rv.TYPE_HASH_ZIPLIST, ziplist([b"f", 1, b"g", b"v"]))) == {
        b"f": b"1",
        b"g": b"v",
    }
    value = decode(
        blob_object(rv.TYPE_ZSET_ZIPLIST, ziplist([b"a", 1, b"b", b"2.5", b"c", b"inf"]))
    )
    assert value == zset({b"a": 1.0, b"b": 2.5, b"c": math.inf})


def zipmap(pairs: list[tuple[bytes, bytes]], count: int | None = None, free: int = 0) -> bytes:
    out = bytearray([len(pairs) if count is None else count])
    for field, value in pairs:
        for part, tail in ((field, b""), (value, bytes([free]))):
            size = len(part)
            out += bytes([size]) if size < 254 else b"\xfe" + size.to_bytes(4, "little")
            out += tail + part
        out += b"\x00" * free
    return bytes(out) + b"\xff"


def test_zipmap_hash() -> None:
    pairs = [(b"f1", b"v1"), (b"long", b"z" * 300)]
    assert decode(blob_object(rv.TYPE_HASH_ZIPMAP, zipmap(pairs))) == dict(pairs)
    assert decode(blob_object(rv.TYPE_HASH_ZIPMAP, zipmap(pairs, count=254, free=3))) == dict(pairs)


def test_plain_list_and_text_score_zset() -> None:
    body = bytearray([rv.TYPE_LIST])
    write_length(body, 2)
    write_string(body, b"1")
    write_string(body, b"two")
    assert decode(bytes(body)) == deque([b"1", b"two"])
    body = bytearray([rv.TYPE_ZSET])
    write_length(body, 3)
    for member, text in ((b"a", b"\x031.5"), (b"b", b"\xfe"), (b"c", b"\xff")):
        write_string(body, member)
        body += text
    assert decode(bytes(body)) == zset({b"a": 1.5, b"b": math.inf, b"c": -math.inf})


# -- refused input -----------------------------------------------------------------------------
def table(kind: int, parts: list[bytes]) -> bytes:
    body = bytearray([kind])
    write_length(body, len(parts) // (2 if kind in (rv.TYPE_HASH,) else 1))
    for part in parts:
        write_string(body, part)
    return bytes(body)


def listpack(items: list[bytes]) -> bytes:
    entries = bytearray()
    for item in items:
        rv._lp_append(entries, item)
    return rv._lp_finish(entries, len(items))


def intset(width: int, numbers: list[int]) -> bytes:
    code = {2: "h", 4: "i", 8: "q"}[width]
    return struct.pack(f"<II{len(numbers)}{code}", width, len(numbers), *numbers)


REFUSED: list[tuple[str, bytes]] = [
    ("set-duplicate", table(rv.TYPE_SET, [b"a", b"a"])),
    ("hash-duplicate", table(rv.TYPE_HASH, [b"f", b"1", b"f", b"2"])),
    ("hash-listpack-duplicate", blob_object(16, listpack([b"f", b"1", b"f", b"2"]))),
    ("hash-listpack-odd", blob_object(16, listpack([b"f", b"1", b"g"]))),
    ("zset-listpack-duplicate", blob_object(17, listpack([b"a", b"1", b"a", b"2"]))),
    ("zset-listpack-nan", blob_object(17, listpack([b"a", b"nan"]))),
    ("zset-listpack-bad-score", blob_object(17, listpack([b"a", b"one"]))),
    ("hash-ziplist-duplicate", blob_object(13, ziplist([b"f", 1, b"f", 2]))),
    ("zipmap-duplicate", blob_object(9, zipmap([(b"f", b"1"), (b"f", b"2")]))),
    ("zipmap-wrong-count", blob_object(9, zipmap([(b"f", b"1")], count=3))),
    ("intset-unsorted", blob_object(11, intset(2, [2, 1]))),
    ("intset-duplicate", blob_object(11, intset(4, [1, 1]))),
    (
        "intset-bad-width",
        blob_object(11, intset(2, [1])[:0] + b"\x03\x00\x00\x00\x01\x00\x00\x00abc"),
    ),
    ("intset-size", blob_object(11, intset(2, [1, 2])[:-1])),
    (
        "listpack-count",
        blob_object(16, listpack([b"f", b"v"])[:4] + b"\x03\x00" + b"\x81f\x02\x81v\x02\xff"),
    ),
    ("listpack-total", blob_object(16, b"\x00" + listpack([b"f", b"v"])[1:])),
    ("listpack-backlen", blob_object(16, listpack([b"f", b"v"]).replace(b"f\x02", b"f\x03"))),
    ("listpack-no-end", blob_object(16, listpack([b"f", b"v"])[:-1] + b"\x00")),
    (
        "ziplist-tail",
        blob_object(
            10, ziplist([b"a", b"b"])[:4] + b"\x00\x00\x00\x00" + ziplist([b"a", b"b"])[8:]
        ),
    ),
    ("ziplist-prevlen", blob_object(10, ziplist([b"a", b"b"]).replace(b"\x03\x01b", b"\x05\x01b"))),
    ("zset-nan", b"\x05\x01\x01a" + struct.pack("<d", math.nan)),
    (
        "zset-duplicate",
        b"\x05\x02\x01a" + struct.pack("<d", 1.0) + b"\x01a" + struct.pack("<d", 2.0),
    ),
    ("quicklist-container", b"\x12\x01\x03" + blob_object(0, listpack([b"a"]))[1:]),
    ("quicklist-empty-node", b"\x12\x01\x02\x00"),
    ("stream", b"\x0f\x00"),
    ("stream-2", b"\x13\x00"),
    ("module", b"\x07\x00"),
    ("unknown-type", b"\x08\x00"),
    ("unknown-type-high", b"\x14\x00"),
    ("huge-length", b"\x02\x81\xff\xff\xff\xff\xff\xff\xff\xff\x01a"),
    ("huge-string", b"\x00\x81\x7f\xff\xff\xff\xff\xff\xff\xff"),
    ("huge-lzf", b"\x00\xc3\x05\x81\x00\x00\x00\xff\xff\xff\xff\xff\x01\x61\x61"),
    ("bad-length-encoding", b"\x00\x82"),
    ("bad-string-encoding", b"\x00\xc4"),
]


@pytest.mark.parametrize(("name", "data"), REFUSED, ids=[r[0] for r in REFUSED])
def test_invalid_objects_are_refused(name: str, data: bytes) -> None:
    with pytest.raises(RdbError) as caught:
        rv.read_value(Reader(data))
    assert not isinstance(caught.value, rv.EmptyKeyError)


EMPTY: list[tuple[str, bytes]] = [
    ("list", b"\x01\x00"),
    ("set", b"\x02\x00"),
    ("zset", b"\x05\x00"),
    ("hash", b"\x04\x00"),
    ("quicklist-2", b"\x12\x00"),
    ("quicklist-2-empty-node", b"\x12\x01\x02" + blob_object(0, listpack([]))[1:]),
    ("quicklist-1-empty-node", b"\x0e\x01" + blob_object(0, ziplist([]))[1:]),
    ("list-ziplist", blob_object(10, ziplist([]))),
    ("hash-listpack", blob_object(16, listpack([]))),
    ("zset-listpack", blob_object(17, listpack([]))),
    ("hash-ziplist", blob_object(13, ziplist([]))),
    ("zset-ziplist", blob_object(12, ziplist([]))),
    ("intset", blob_object(11, intset(2, []))),
]


@pytest.mark.parametrize(("name", "data"), EMPTY, ids=[e[0] for e in EMPTY])
def test_empty_collections_are_refused(name: str, data: bytes) -> None:
    with pytest.raises(rv.EmptyKeyError):
        rv.read_value(Reader(data))


def every_encoding() -> list[bytes]:
    objects = []
    for name, value, _ in SAMPLES:
        if name.startswith("zset"):
            value = zset(value)  # type: ignore[arg-type]
        if name not in ("long-list", "zset-skiplist", "list"):  # smaller inputs, same code
            objects.append(encode(value))
    objects.append(encode(zset({b"a": 1.0, b"b": 2.0})))
    objects.append(encode(deque([b"a", b"12", b"x" * 70])))
    objects.append(blob_object(rv.TYPE_LIST_ZIPLIST, ziplist([b"a", 5, 300, -70000, 2**40])))
    objects.append(blob_object(rv.TYPE_HASH_ZIPMAP, zipmap([(b"f", b"v")], free=1)))
    objects.append(blob_object(rv.TYPE_ZSET_ZIPLIST, ziplist([b"a", 1, b"b", b"2.5"])))
    return objects


def test_every_truncation_is_an_rdb_error() -> None:
    for data in every_encoding():
        for cut in range(len(data)):
            with pytest.raises(RdbError):
                rv.read_value(Reader(data[:cut]))


def test_every_damaged_byte_is_an_rdb_error_or_a_value() -> None:
    """Each byte replaced by a few others: the reader gives a value or an RdbError, nothing
    else (no IndexError, MemoryError, struct.error ...)."""
    for data in every_encoding():
        for at in range(len(data)):
            for byte in {0x00, 0x01, 0x3F, 0x7F, 0x80, 0xC0, 0xF0, 0xFE, 0xFF, data[at] ^ 0x01}:
                damaged = data[:at] + bytes([byte]) + data[at + 1 :]
                with contextlib.suppress(RdbError):
                    rv.read_value(Reader(damaged))


# -- DUMP payloads -----------------------------------------------------------------------------
def test_payload_round_trip_and_footer() -> None:
    value = {b"f": b"v"}
    data = rv.dump_payload(value, limits())
    assert data[-10:-8] == b"\x0a\x00"
    assert data == payload(encode(value))
    assert rv.restore_payload(data) == value


def test_payload_refusals() -> None:
    data = rv.dump_payload(b"hello", limits())
    with pytest.raises(rv.PayloadError):
        rv.restore_payload(data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.raises(rv.PayloadError):
        rv.restore_payload(data[:9])
    with pytest.raises(rv.PayloadError):
        rv.restore_payload(payload(b"\x00\x01a")[:-10] + b"\x0b\x00" + b"\x00" * 8)
    with pytest.raises(rv.EmptyKeyError):
        rv.restore_payload(payload(b"\x02\x00"))
    bad = payload(b"\x02\x02\x01a\x01a")
    with pytest.raises(RdbError) as caught:
        rv.restore_payload(bad)
    assert not isinstance(caught.value, rv.PayloadError)
