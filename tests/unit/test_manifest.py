"""The AOF manifest read and written as Redis 7.0 does (``aofLoadManifestFromFile``,
``getAofManifestAsString``); the same manifests are given to redis-server in
tests/oracle/test_aof_dir_interop_oracle.py."""

from __future__ import annotations

import pytest

from zyst.persistence import manifest
from zyst.persistence.manifest import AofFile, Manifest, ManifestError, parse

REDIS_MANIFEST = (
    b"file appendonly.aof.3.base.rdb seq 3 type b\n"
    b"file appendonly.aof.2.base.rdb seq 2 type h\n"
    b"file appendonly.aof.5.incr.aof seq 5 type i\n"
    b"file appendonly.aof.6.incr.aof seq 6 type i\n"
)


def test_a_redis_manifest_reads_and_formats_back_to_its_bytes() -> None:
    current = parse(REDIS_MANIFEST)
    assert current.base == AofFile("appendonly.aof.3.base.rdb", 3, "b")
    assert current.history == [AofFile("appendonly.aof.2.base.rdb", 2, "h")]
    assert [info.name for info in current.incrs] == [
        "appendonly.aof.5.incr.aof",
        "appendonly.aof.6.incr.aof",
    ]
    assert (current.base_seq, current.incr_seq) == (3, 6)
    assert current.format() == REDIS_MANIFEST


def test_keys_in_any_order_and_case_comments_and_unknown_keys() -> None:
    current = parse(
        b"# written by hand\n"
        b"  TYPE b SEQ 1 File base.aof  \n"
        b"file incr.aof seq 1 type i extra value\r\n"
    )
    assert current.base == AofFile("base.aof", 1, "b")
    assert current.incrs == [AofFile("incr.aof", 1, "i")]


def test_names_that_need_quoting_are_written_as_redis_writes_them() -> None:
    odd = Manifest()
    odd.base = AofFile('a b"c\td\n\x01\xe9.aof', 1, "b")
    data = odd.format()
    assert data == b'file "a b\\"c\\td\\n\\x01\\xc3\\xa9.aof" seq 1 type b\n'
    assert parse(data).base == odd.base


@pytest.mark.parametrize(
    ("name", "shown"),
    [("plain.aof", b"plain.aof"), ("a b.aof", b'"a b.aof"'), ("tab\t.aof", b'"tab\\t.aof"')],
)
def test_a_name_is_quoted_only_when_it_must_be(name: str, shown: bytes) -> None:
    one = Manifest(base=AofFile(name, 1, "b"))
    assert one.format() == b"file " + shown + b" seq 1 type b\n"
    assert parse(one.format()).base == one.base


def test_new_files_take_the_next_numbers_and_retire_the_old_ones() -> None:
    current = parse(b"file p.1.base.rdb seq 1 type b\nfile p.1.incr.aof seq 1 type i\n")
    assert current.new_incr("p") == "p.2.incr.aof"
    assert current.new_base("p", rdb=False) == "p.2.base.aof"
    current.retire_incrs(keep_last=True)
    assert current.format() == (
        b"file p.2.base.aof seq 2 type b\n"
        b"file p.1.incr.aof seq 1 type h\n"
        b"file p.1.base.rdb seq 1 type h\n"
        b"file p.2.incr.aof seq 2 type i\n"
    )
    current.retire_incrs(keep_last=False)
    assert current.incrs == [] and current.incr_seq == 2


@pytest.mark.parametrize(
    ("data", "reason", "line"),
    [
        (b"", manifest.EMPTY, None),
        (b"file a seq 1 type b", manifest.TOO_LONG, 1),  # no newline at the end
        (b"file " + b"a" * 1020 + b" seq 1 type b\n", manifest.TOO_LONG, 1),
        (b"file a seq 1 type b\n\n", manifest.INVALID, 2),
        (b"file a seq 1\n", manifest.INVALID, 1),
        (b"file a seq 1 type b x\n", manifest.INVALID, 1),
        (b'file "a seq 1 type b\n', manifest.INVALID, 1),
        (b"file a seq x type b\n", manifest.INVALID, 1),
        (b"file a seq 0 type b\n", manifest.INVALID, 1),
        (b"name a seq 1 type b\n", manifest.INVALID, 1),
        (b"file dir/a seq 1 type b\n", manifest.PATH_NAME, 1),
        (b"file a seq 1 type b\nfile c seq 2 type b\n", manifest.DUPLICATE_BASE, 2),
        (b"file a seq 2 type i\nfile c seq 2 type i\n", manifest.NON_MONOTONIC, 2),
        (b"file a seq 1 type x\n", manifest.UNKNOWN_TYPE, 1),
    ],
    ids=[
        "empty",
        "no-newline",
        "line-too-long",
        "blank-line",
        "too-few-pairs",
        "odd-count",
        "unbalanced-quote",
        "seq-not-a-number",
        "seq-zero",
        "no-file-key",
        "path",
        "two-bases",
        "seq-not-rising",
        "unknown-type",
    ],
)
def test_bad_manifests_are_refused_with_redis_reasons(
    data: bytes, reason: str, line: int | None
) -> None:
    with pytest.raises(ManifestError) as caught:
        parse(data)
    assert (caught.value.reason, caught.value.line_number) == (reason, line)


def test_a_line_just_under_the_limit_is_read() -> None:
    name = b"a" * (1023 - len(b"file  seq 1 type b"))
    data = b"file " + name + b" seq 1 type b\n"
    assert len(data) == 1024
    assert parse(data).base == AofFile(name.decode(), 1, "b")


def test_seq_is_read_as_atoll_reads_it() -> None:
    assert parse(b"file a seq 12abc type i\n").incrs == [AofFile("a", 12, "i")]
    assert parse(b"file a seq -3 type h\n").history == [AofFile("a", -3, "h")]


def test_only_comments_is_an_empty_manifest() -> None:
    assert parse(b"# nothing yet\n").is_empty()
