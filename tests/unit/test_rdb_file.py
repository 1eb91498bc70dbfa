"""Whole RDB files (zyst.persistence.rdbfile): the layout Redis 7.0 writes, loading of every
version and opcode, the files of Redis's own test assets, and damaged files (an RdbError with
its offset, never anything else)."""

from __future__ import annotations

import io
import os
from collections import deque
from pathlib import Path
from typing import Any

import pytest

from zyst import REDIS_VERSION, access
from zyst.keyspace import Keyspace
from zyst.persistence.rdb import RdbError, Reader, crc64, write_length, write_string
from zyst.persistence.rdbfile import RdbLoadResult, load_rdb, save_rdb_file, write_rdb
from zyst.types.zset import ZSet

ASSETS = Path(__file__).parent.parent / "assets" / "rdb"
NOW = 1_800_000_000_000  # ms


def clock() -> int:
    return NOW


def zset(pairs: dict[bytes, float]) -> ZSet:
    value = ZSet()
    for member, score in pairs.items():
        value.add(member, score)
    return value


def sample_keyspace() -> Keyspace:
    keyspace = Keyspace(clock=clock)
    db0, db3, db15 = keyspace.dbs[0], keyspace.dbs[3], keyspace.dbs[15]
    db0.data.update(
        {
            b"str": b"hello",
            b"int": b"-42",
            b"raw": bytearray(b"x" * 100),
            b"list": deque([b"a", b"1", b"b" * 100]),
            b"hash": {b"f": b"v", b"n": b"7"},
            b"bighash": {b"f%d" % i: b"v" * 100 for i in range(3)},
            b"intset": {b"1", b"2", b"-3"},
            b"set": {b"a", b"b"},
            b"zset": zset({b"a": 1.0, b"b": 2.5}),
            b"bigzset": zset({b"m%d" % i: i * 0.5 for i in range(200)}),
        }
    )
    db0.expires[b"str"] = NOW + 5000
    db3.data[b"in3"] = b"three"
    db3.expires[b"in3"] = NOW + 1
    db15.data[b"last"] = deque([b"z"])
    for db in keyspace.dbs:
        for key in db.data:
            db.note_created(key)
    return keyspace


LIBRARY = b"#!lua name=lib\nredis.register_function('f', function() return 1 end)"


def dump(keyspace: Keyspace, **options: object) -> bytes:
    out = io.BytesIO()
    size = write_rdb(out, keyspace, [LIBRARY], **options)  # type: ignore[arg-type]
    assert size == len(out.getvalue())
    return out.getvalue()


def load(data: bytes, **options: object) -> tuple[Keyspace, list[bytes], RdbLoadResult]:
    keyspace = Keyspace(clock=clock)
    libraries: list[bytes] = []
    result = load_rdb(io.BytesIO(data), keyspace, libraries.append, **options)  # type: ignore[arg-type]
    return keyspace, libraries, result


def test_round_trip_of_every_database_type_expiry_and_library() -> None:
    source = sample_keyspace()
    data = dump(source)
    keyspace, libraries, result = load(data)
    assert libraries == [LIBRARY]
    for ours, theirs in zip(keyspace.dbs, source.dbs, strict=True):
        expected = {k: bytes(v) if type(v) is bytearray else v for k, v in theirs.data.items()}
        assert ours.data == expected
        assert ours.expires == theirs.expires
        assert set(ours.access) == set(ours.data)
    assert result.keys_loaded == 12
    assert result.bytes_read == len(data)


def opcodes(data: bytes) -> list[tuple[int, Any]]:
    """The file as a list of (opcode, what follows) up to EOF, keys as (type, key)."""
    reader = Reader(data[9:])
    found: list[tuple[int, Any]] = []
    from zyst.persistence.rdbvalues import read_object

    while True:
        kind = reader.read_byte()
        if kind == 0xFF:
            found.append((kind, reader.take(8)))
            assert reader.remaining == 0
            return found
        if kind == 0xFA:
            found.append((kind, (reader.read_string(), reader.read_string())))
        elif kind == 0xF5:
            found.append((kind, reader.read_string()))
        elif kind == 0xFE:
            found.append((kind, reader.read_length()))
        elif kind == 0xFB:
            found.append((kind, (reader.read_length(), reader.read_length())))
        elif kind == 0xFC:
            found.append((kind, int.from_bytes(reader.take(8), "little")))
        elif kind == 0xF8:
            found.append((kind, reader.read_length()))
        elif kind == 0xF9:
            found.append((kind, reader.read_byte()))
        else:
            key = reader.read_string()
            read_object(reader, kind)
            found.append((kind, key))


def test_layout_as_redis_writes_it() -> None:
    data = dump(sample_keyspace())
    assert data[:9] == b"REDIS0010"
    found = opcodes(data)
    aux = [value for kind, value in found if kind == 0xFA]
    assert [name for name, _ in aux] == [
        b"redis-ver",
        b"redis-bits",
        b"ctime",
        b"used-mem",
        b"aof-base",
    ]
    assert aux[0][1] == REDIS_VERSION.encode()
    assert aux[1][1] == b"64"
    assert aux[4][1] == b"0"
    kinds = [kind for kind, _ in found]
    assert kinds.index(0xF5) < kinds.index(0xFE)  # functions before the databases
    assert [value for kind, value in found if kind == 0xFE] == [0, 3, 15]
    assert [value for kind, value in found if kind == 0xFB] == [(10, 1), (1, 1), (1, 0)]
    assert [value for kind, value in found if kind == 0xFC] == [NOW + 5000, NOW + 1]
    assert 0xF8 not in kinds and 0xF9 not in kinds  # noeviction: no access clocks
    assert int.from_bytes(data[-8:], "little") == crc64(data[:-8])
    assert (0x12, b"list") in found and (0x10, b"hash") in found and (0x04, b"bighash") in found


def test_checksum_off_writes_zero_and_is_not_checked() -> None:
    data = dump(sample_keyspace(), checksum=False)
    assert data[-8:] == b"\x00" * 8
    keyspace, _, _ = load(data)
    assert keyspace.dbs[0].data[b"str"] == b"hello"


def test_aof_base_flag_and_uncompressed_strings() -> None:
    data = dump(sample_keyspace(), aof_base=True, compress=False)
    assert (0xFA, (b"aof-base", b"1")) in opcodes(data)
    assert b"x" * 100 in data


def test_replication_aux_fields_are_written_and_read_back() -> None:
    """The replication fields a snapshot carries (repl-stream-db, repl-id, repl-offset) go
    in after the standard ones, and every type still round-trips with them."""
    fields = [(b"repl-stream-db", b"3"), (b"repl-id", b"a" * 40), (b"repl-offset", b"1234")]
    data = dump(sample_keyspace(), aux=fields)
    for field in fields:
        assert (0xFA, field) in opcodes(data)
    keyspace, _, result = load(data)
    assert all(result.aux[name] == value for name, value in fields)
    assert keyspace.dbs[0].data.keys() == sample_keyspace().dbs[0].data.keys()


def test_reading_stops_right_after_the_checksum() -> None:
    data = dump(sample_keyspace())
    tail = b"*1\r\n$4\r\nPING\r\n"
    file = io.BytesIO(b"junk" + data + tail)
    file.seek(4)
    result = load_rdb(file, Keyspace(clock=clock), lambda code: None)
    assert result.bytes_read == len(data)
    assert file.read() == tail


def test_keys_past_their_deadline_are_dropped_unless_an_aof_base() -> None:
    source = sample_keyspace()
    source.dbs[0].expires[b"int"] = NOW - 1
    keyspace, _, result = load(dump(source))
    assert b"int" not in keyspace.dbs[0].data
    assert result.keys_expired == 1
    keyspace, _, result = load(dump(source, aof_base=True))
    assert keyspace.dbs[0].expires[b"int"] == NOW - 1
    assert result.keys_expired == 0
    keyspace, _, _ = load(dump(source), keep_expired=True)
    assert b"int" in keyspace.dbs[0].data


def test_idle_times_under_an_lru_policy() -> None:
    source = sample_keyspace()
    source.dbs[0].access[b"str"] = NOW // 1000 - 300
    data = dump(source, policy="allkeys-lru")
    idles = [value for kind, value in opcodes(data) if kind == 0xF8]
    assert len(idles) == 12 and 300 in idles
    keyspace, _, _ = load(data)
    assert keyspace.dbs[0].access[b"str"] == keyspace.lru_clock - 300


def test_frequencies_under_an_lfu_policy() -> None:
    source = sample_keyspace()
    source.set_lfu(True)
    source.dbs[0].access[b"str"] = (access.lfu_minutes(source.lru_clock) << 8) | 77
    data = dump(source, policy="volatile-lfu")
    freqs = [value for kind, value in opcodes(data) if kind == 0xF9]
    assert sorted(set(freqs)) == [access.LFU_INIT_VAL, 77]
    keyspace = Keyspace(clock=clock)
    keyspace.set_lfu(True)
    load_rdb(io.BytesIO(data), keyspace, lambda code: None)
    assert access.lfu_counter(keyspace.dbs[0].access[b"str"], keyspace.lru_clock, 1) == 77


def handmade(version: int, body: bytes, checksum: bool = True) -> bytes:
    data = b"REDIS%04d" % version + body + b"\xff"
    return data + crc64(data).to_bytes(8, "little") if checksum else data


def string(data: bytes) -> bytes:
    out = bytearray()
    write_string(out, data)
    return bytes(out)


def test_old_opcodes_and_versions() -> None:
    pre_ga = b"\xf6" + string(b"lib") + string(b"LUA") + b"\x01" + string(b"desc") + string(b"code")
    body = pre_ga + b"\xfe\x02" + b"\xfd" + (NOW // 1000 + 10).to_bytes(4, "little")
    body += b"\x00" + string(b"k") + string(b"v")
    keyspace, libraries, result = load(handmade(9, body))
    assert libraries == [b"#!LUA name=lib\ncode"]
    assert keyspace.dbs[2].expires[b"k"] == NOW + 10_000
    # Before version 5 there is no checksum: the file ends at EOF.
    file = io.BytesIO(handmade(4, b"\x00" + string(b"k") + string(b"v"), checksum=False) + b"tail")
    result = load_rdb(file, Keyspace(clock=clock), lambda code: None)
    assert result.keys_loaded == 1 and file.read() == b"tail"


REFUSED = [
    ("signature", b"REDIX0010\xff" + b"\x00" * 8, 0),
    ("version-11", handmade(11, b""), 5),
    ("version-0", handmade(0, b""), 5),
    ("module-aux", handmade(10, b"\xf7\x00"), 9),
    ("database-16", handmade(10, b"\xfe\x10"), 9),
    ("duplicate-key", handmade(10, b"\x00\x01k\x01v\x00\x01k\x01w"), 14),
    ("duplicate-key-same-value", handmade(10, b"\x00\x01k\xc0\x01\x00\x01k\xc0\x01"), 14),
    ("stream-node-key", handmade(10, b"\x13\x01k\x01\x01x\x01\x01y"), 12),
    ("unknown-type", handmade(10, b"\x08\x01k\x00"), 9),
    ("checksum", handmade(10, b"")[:-1] + b"\x00", 10),
]


@pytest.mark.parametrize(("name", "data", "offset"), REFUSED, ids=[r[0] for r in REFUSED])
def test_refused_files_name_the_offset(name: str, data: bytes, offset: int) -> None:
    with pytest.raises(RdbError) as caught:
        load(data)
    assert caught.value.offset == offset


def small_file() -> bytes:
    keyspace = Keyspace(clock=clock)
    db = keyspace.dbs[1]
    db.data.update(
        {
            b"s": b"v",
            b"n": b"300",
            b"l": deque([b"a", b"2"]),
            b"h": {b"f": b"1"},
            b"i": {b"1", b"2"},
            b"t": {b"a"},
            b"z": zset({b"a": 1.5}),
            b"Z": zset({b"x" * 70: 2.0}),
        }
    )
    db.expires[b"s"] = NOW + 1000
    for key in db.data:
        db.note_created(key)
    return dump(keyspace, policy="allkeys-lru")


def test_every_truncation_is_an_rdb_error_at_or_before_the_cut() -> None:
    data = small_file()
    for cut in range(len(data)):
        with pytest.raises(RdbError) as caught:
            load(data[:cut])
        assert 0 <= caught.value.offset <= cut


def test_every_damaged_byte_is_an_rdb_error() -> None:
    """With the checksum on, a byte changed anywhere is found: by the parser or by the CRC."""
    data = small_file()
    for at in range(len(data)):
        for flip in (0x01, 0x80, 0xFF):
            damaged = data[:at] + bytes([data[at] ^ flip]) + data[at + 1 :]
            with pytest.raises(RdbError):
                load(damaged)


def test_empty_keys_are_skipped_and_counted() -> None:
    body = b"\x02\x01s\x00" + b"\x00\x01k\x01v"
    keyspace, _, result = load(handmade(10, body))
    assert keyspace.dbs[0].data == {b"k": b"v"}
    assert result.empty_keys_skipped == 1


def test_progress_reports_grow_to_the_size() -> None:
    keyspace = Keyspace(clock=clock)
    keyspace.dbs[0].data.update({b"k%d" % i: b"v" * 100 for i in range(20000)})
    seen: list[int] = []
    out = io.BytesIO()
    size = write_rdb(out, keyspace, [], progress=seen.append, compress=False)
    assert len(seen) > 1 and seen == sorted(seen) and seen[-1] == size
    seen.clear()
    load_rdb(
        io.BytesIO(out.getvalue()), Keyspace(clock=clock), lambda c: None, progress=seen.append
    )
    assert len(seen) > 1 and seen == sorted(seen) and seen[-1] == size


def test_save_rdb_file_replaces_the_file_whole(tmp_path: Path) -> None:
    path = tmp_path / "dump.rdb"
    path.write_bytes(b"old")
    size = save_rdb_file(str(path), sample_keyspace(), [LIBRARY])
    assert path.stat().st_size == size
    assert os.listdir(tmp_path) == ["dump.rdb"]
    keyspace, libraries, _ = load(path.read_bytes())
    assert libraries == [LIBRARY] and keyspace.dbs[3].data == {b"in3": b"three"}

    def fail(written: int) -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        save_rdb_file(str(path), sample_keyspace(), [], progress=fail)
    assert os.listdir(tmp_path) == ["dump.rdb"]
    assert path.stat().st_size == size


# -- Redis's own test assets (tests/assets of Redis 7.0.15) --------------------------------
def load_asset(name: str) -> tuple[Keyspace, RdbLoadResult, bytes]:
    keyspace = Keyspace(clock=clock)
    with (ASSETS / name).open("rb") as file:
        result = load_rdb(file, keyspace, lambda code: None)
        rest = file.read()
    return keyspace, result, rest


def test_encodings_rdb() -> None:
    """Redis 2.x's encodings (zipmap hashes, ziplist lists and zsets, intsets, text-score
    zsets), with the contents Redis's "RDB encoding loading test" expects."""
    keyspace, result, _ = load_asset("encodings.rdb")
    data = keyspace.dbs[0].data
    mixed = [b"1", b"2", b"3", b"a", b"b", b"c", b"100000", b"6000000000"]
    assert data[b"compressible"] == b"a" * 137
    assert data[b"hash"] == {
        b"a": b"1", b"aa": b"10", b"aaa": b"100", b"b": b"2", b"bb": b"20", b"bbb": b"200",
        b"c": b"3", b"cc": b"30", b"ccc": b"300", b"ddd": b"400", b"eee": b"5000000000",
    }  # fmt: skip
    assert data[b"hash_zipped"] == {b"a": b"1", b"b": b"2", b"c": b"3"}
    assert data[b"list"] == deque(mixed * 3)
    assert data[b"list_zipped"] == deque(mixed)
    assert data[b"number"] == b"10"
    assert data[b"set"] == set(mixed)
    assert data[b"set_zipped_1"] == {b"1", b"2", b"3", b"4"}
    assert data[b"set_zipped_2"] == {b"100000", b"200000", b"300000", b"400000"}
    assert data[b"set_zipped_3"] == {b"%d000000000" % i for i in range(1, 7)}
    assert data[b"string"] == b"Hello World"
    assert data[b"zset"] == zset(
        {b"a": 1, b"b": 2, b"c": 3, b"aa": 10, b"bb": 20, b"cc": 30, b"aaa": 100, b"bbb": 200,
         b"ccc": 300, b"aaaa": 1000, b"cccc": 123456789, b"bbbb": 5000000000}
    )  # fmt: skip
    assert data[b"zset_zipped"] == zset({b"a": 1, b"b": 2, b"c": 3})
    assert len(data) == 13 and result.version == 4


def test_older_assets() -> None:
    assert load_asset("hash-zipmap.rdb")[0].dbs[0].data == {b"hash": {b"f1": b"v1", b"f2": b"v2"}}
    assert load_asset("hash-ziplist.rdb")[0].dbs[0].data == {b"hash": {b"f1": b"v1", b"f2": b"v2"}}
    assert load_asset("list-quicklist.rdb")[0].dbs[0].data == {b"list": deque([b"7"]), b"x": b"7"}
    assert load_asset("zset-ziplist.rdb")[0].dbs[0].data == {
        b"zset": zset({b"one": 1.0, b"two": 2.0})
    }
    _keyspace, result, _ = load_asset("scriptbackup.rdb")  # an old "lua" AUX field: ignored
    assert result.aux[b"lua"] and result.keys_loaded == 0


def test_corrupt_assets() -> None:
    _keyspace, result, _ = load_asset("corrupt_empty_keys.rdb")
    assert result.empty_keys_skipped == 9 and result.keys_loaded == 0
    with pytest.raises(RdbError) as caught:
        load_asset("corrupt_ziplist.rdb")
    assert caught.value.offset > 0


def test_aof_with_an_rdb_preamble_goes_on_after_the_checksum() -> None:
    keyspace, result, rest = load_asset("rdb-preamble.aof")
    assert keyspace.dbs[0].data == {b"k1": b"v1", b"k2": b"v2"}
    assert rest.startswith(b"*2\r\n$6\r\nSELECT\r\n")
    assert result.bytes_read + len(rest) == (ASSETS / "rdb-preamble.aof").stat().st_size


def test_a_length_too_large_for_the_file_is_not_allocated() -> None:
    body = b"\x00\x01k\x81" + (1 << 40).to_bytes(8, "big")
    with pytest.raises(RdbError):
        load(handmade(10, body))
    body = b"\x02\x01k\x81" + (1 << 60).to_bytes(8, "big") + b"\x01a"
    with pytest.raises(RdbError):
        load(handmade(10, body))


def test_write_length_covers_every_width() -> None:
    for length in (0, 63, 64, 16383, 16384, 2**32 - 1, 2**32):
        out = bytearray()
        write_length(out, length)
        assert Reader(bytes(out)).read_length() == length
