"""The AOF checker (zyst.persistence.checkers) in-process: what it accepts, where it stops and
why, and check-aof's --fix on single files and multi-part directories."""

from __future__ import annotations

import io
import re
from collections import deque
from pathlib import Path

import pytest

from zyst.keyspace import Keyspace
from zyst.persistence.aof import AofCorruptError, load_aof
from zyst.persistence.checkers import check_aof_main, check_rdb_main, scan_aof
from zyst.persistence.rdbfile import write_rdb
from zyst.protocol.resp import encode_command
from zyst.types.zset import ZSet

COMMANDS: list[list[bytes]] = [
    [b"SELECT", b"0"],
    [b"SET", b"s", b"hello\r\nworld"],
    [b"RPUSH", b"l", b"a", b"", b"c"],
    [b"MULTI"],
    [b"INCR", b"n"],
    [b"HSET", b"h", b"f", b"v"],
    [b"EXEC"],
    [b"SELECT", b"3"],
    [b"ZADD", b"z", b"1.5", b"m"],
]


def build(commands: list[list[bytes]]) -> tuple[bytes, list[int]]:
    """The file and the offsets a fix may cut at (after each command outside MULTI)."""
    data = b""
    cuts = [0]
    inside = False
    for argv in commands:
        data += encode_command(argv)
        name = argv[0].lower()
        inside = (inside or name == b"multi") and name != b"exec"
        if not inside:
            cuts.append(len(data))
    return data, cuts


def lines_of(commands: list[list[bytes]]) -> int:
    return 1 + sum(1 + 2 * len(argv) for argv in commands)


def test_a_whole_file_is_valid_and_lines_are_counted_as_redis_does() -> None:
    data, _ = build(COMMANDS)
    scan = scan_aof(data)
    assert (scan.valid, scan.ok_up_to, scan.diff, scan.bad_offset) == (True, len(data), 0, None)
    assert scan.line == lines_of(COMMANDS)


def test_every_prefix_keeps_exactly_the_whole_commands_the_loader_keeps(tmp_path: Path) -> None:
    data, cuts = build(COMMANDS)
    path = tmp_path / "cut.aof"
    for size in range(len(data) + 1):
        scan = scan_aof(data[:size])
        expected = max(cut for cut in cuts if cut <= size)
        assert scan.ok_up_to == expected, size
        assert scan.valid == (size in cuts), size
        assert (scan.bad_offset is None) == (size in cuts), size
        path.write_bytes(data[:size])
        result = load_aof(str(path), lambda db, argv: None)
        assert result.bytes_loaded == expected, size


@pytest.mark.parametrize(
    ("tail", "bad_at", "reason"),
    [
        (b"+OK\r\n", 0, "expected '*' or '#', got '+'"),
        (b"*0\r\n", 1, "an empty command"),
        (b"*02\r\n$1\r\na\r\n$1\r\nb\r\n", 1, "leading zero"),
        (b"*1\r\n$01\r\na\r\n", 5, "leading zero"),
        (b"*1\r\n$-1\r\n", 5, "expected a digit after '$', got '-'"),
        (b"*1\r\n$1\r\nab\r\n", 9, "expected CRLF after a bulk string of 1 bytes, got 'b'"),
        (b"*1\r\n$1\r\na\rx", 10, "got 'x'"),
        (b"*1x\r\n", 2, "expected CRLF after the count, got 'x'"),
        (b"*1\r\n:1\r\n", 4, "expected '$', got ':'"),
        (b"*1\r\n$4\r\nEXEC\r\n", 0, "EXEC without MULTI"),
        (b"*1\r\n$5\r\nMULTI\r\n*1\r\n$5\r\nMULTI\r\n", 15, "MULTI inside a transaction"),
        (b"*2\r\n$6\r\nSELECT\r\n$1\r\nx\r\n", 0, "SELECT without a valid database index"),
        (b"*1\r\n$6\r\nSELECT\r\n", 0, "SELECT without a valid database index"),
        (b"*1\r\n$1\r\na", 8, "the file ends inside a bulk string of 1 bytes"),
        (b"*1\r\n$1\r\na\r", 8, "the file ends inside a bulk string of 1 bytes"),
        (b"*1\r\n$5\r\nMULTI\r\n", 15, "the file ends before the EXEC of the MULTI at offset 249"),
        (b"#TS:1700000000", 0, "the file ends inside an annotation line"),
        (b"*12345678901234567890\r\n", 1, "more than 18 digits"),
    ],
)
def test_the_first_bad_byte_and_the_reason(tail: bytes, bad_at: int, reason: str) -> None:
    head, _ = build(COMMANDS)
    scan = scan_aof(head + tail)
    assert scan.ok_up_to == len(head)
    assert scan.bad_offset == len(head) + bad_at
    assert scan.reason is not None and reason in scan.reason, scan.reason


def test_annotations_are_lines_and_a_scan_may_start_after_a_preamble() -> None:
    body = b"#TS:1700000000\r\n" + encode_command([b"SET", b"k", b"v"])
    scan = scan_aof(b"RDB-BYTES" + body, start=9)
    assert scan.valid and scan.ok_up_to == 9 + len(body)
    assert scan.line == 1 + 1 + 7


def test_the_checker_stops_where_the_loader_refuses(tmp_path: Path) -> None:
    """A bad command in the middle: the loader names its offset, the checker keeps what is
    before it."""
    head, _ = build(COMMANDS)
    path = tmp_path / "bad.aof"
    path.write_bytes(head + b"*1\r\n$3\r\nabcd\r\n" + encode_command([b"SET", b"a", b"b"]))
    with pytest.raises(AofCorruptError) as raised:
        load_aof(str(path), lambda db, argv: None)
    assert scan_aof(path.read_bytes()).ok_up_to == raised.value.offset == len(head)


def run(args: list[str], answer: str = "") -> tuple[int, str]:
    out = io.StringIO()
    status = check_aof_main(args, io.StringIO(answer), out)
    return status, out.getvalue()


def test_fix_asks_first_and_cuts_to_the_last_whole_command(tmp_path: Path) -> None:
    data, cuts = build(COMMANDS)
    path = tmp_path / "appendonly.aof"
    path.write_bytes(data[:-3])
    status, out = run([str(path)])
    assert status == 1
    assert f"size={len(data) - 3}, ok_up_to={cuts[-2]}," in out
    assert "is not valid. Use the --fix option" in out

    status, out = run(["--fix", str(path)], answer="n\n")
    assert status == 1 and "Aborting" in out
    assert path.read_bytes() == data[:-3]

    status, out = run(["--fix", str(path)], answer="y\n")
    assert status == 0 and "was truncated" in out
    assert path.read_bytes() == data[: cuts[-2]]
    assert run([str(path)]) == (0, run([str(path)])[1])
    assert "is valid" in run([str(path)])[1]


def test_fix_with_yes_asks_nobody_and_an_empty_file_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "a.aof"
    path.write_bytes(encode_command([b"SET", b"k", b"v"]) + b"*2\r\n$3")
    status, out = run(["--fix", "--yes", str(path)])
    assert status == 0 and "was truncated" in out
    assert path.read_bytes() == encode_command([b"SET", b"k", b"v"])
    empty = tmp_path / "empty.aof"
    empty.write_bytes(b"")
    assert run([str(empty)])[0] == 0 and "is empty" in run([str(empty)])[1]


def test_usage_and_missing_files(tmp_path: Path) -> None:
    assert run([])[0] == 1 and "Usage: zyst check-aof" in run([])[1]
    assert run(["--frobnicate", "x"])[0] == 1
    status, out = run([str(tmp_path / "missing.aof")])
    assert status == 1 and "Cannot open the file" in out


def make_dir(tmp_path: Path, files: dict[str, bytes], manifest: str) -> Path:
    directory = tmp_path / "appendonlydir"
    directory.mkdir()
    for name, data in files.items():
        (directory / name).write_bytes(data)
    (directory / "appendonly.aof.manifest").write_text(manifest)
    return directory


SET_A = encode_command([b"SELECT", b"0"]) + encode_command([b"SET", b"a", b"1"])
MANIFEST = (
    "file appendonly.aof.1.base.aof seq 1 type b\n"
    "file appendonly.aof.1.incr.aof seq 1 type h\n"
    "file appendonly.aof.2.incr.aof seq 2 type i\n"
    "file appendonly.aof.3.incr.aof seq 3 type i\n"
)


def test_a_directory_checks_the_base_and_each_incr_file_but_not_history(tmp_path: Path) -> None:
    directory = make_dir(
        tmp_path,
        {
            "appendonly.aof.1.base.aof": SET_A,
            "appendonly.aof.1.incr.aof": b"garbage",
            "appendonly.aof.2.incr.aof": SET_A,
            "appendonly.aof.3.incr.aof": b"",
        },
        MANIFEST,
    )
    for target in (directory, directory / "appendonly.aof.manifest"):
        status, out = run([str(target)])
        assert status == 0, out
        assert "BASE AOF appendonly.aof.1.base.aof is valid" in out
        assert "appendonly.aof.1.incr.aof" not in out
        assert "INCR AOF appendonly.aof.3.incr.aof is empty" in out


def test_fix_in_a_directory_only_cuts_the_last_incr_file(tmp_path: Path) -> None:
    directory = make_dir(
        tmp_path,
        {
            "appendonly.aof.1.base.aof": SET_A,
            "appendonly.aof.2.incr.aof": SET_A + b"*1\r\n",
            "appendonly.aof.3.incr.aof": SET_A + b"*3\r\n$3\r\nSET",
        },
        MANIFEST,
    )
    status, out = run(["--fix", "--yes", str(directory)])
    assert status == 1 and "appendonly.aof.2.incr.aof: it is not the last file" in out
    assert (directory / "appendonly.aof.2.incr.aof").read_bytes() == SET_A + b"*1\r\n"

    (directory / "appendonly.aof.2.incr.aof").write_bytes(SET_A)
    status, out = run(["--fix", "--yes", str(directory)])
    assert status == 0, out
    assert (directory / "appendonly.aof.3.incr.aof").read_bytes() == SET_A
    assert "The manifest and all the AOF files it lists are valid" in out


def test_a_missing_listed_file_or_a_bad_manifest_fails(tmp_path: Path) -> None:
    directory = make_dir(tmp_path, {"appendonly.aof.1.base.aof": SET_A}, MANIFEST)
    status, out = run([str(directory)])
    assert status == 1 and "appendonly.aof.2.incr.aof" in out and "Cannot open" in out
    (directory / "appendonly.aof.manifest").write_text(
        "file a.aof seq 2 type i\nfile b.aof seq 2 type i\n"
    )
    status, out = run([str(directory)])
    assert status == 1 and "non-monotonic" in out


# -- RDB files and AOF files with an RDB part ------------------------------------------------
def zyst_rdb(databases: int = 16, far_db: int = 3) -> bytes:
    """An RDB written by Zyst's writer: every type, a deadline, a function library, two
    databases."""
    keyspace = Keyspace(databases)
    db = keyspace.dbs[0]
    db.add(b"s", b"text")
    db.add(b"n", b"12345")
    db.add(b"l", deque([b"a", b"b", b"c"]))
    db.add(b"h", {b"f": b"v", b"g": b"w"})
    db.add(b"set", {b"1", b"2", b"x"})
    zset = ZSet()
    zset.add(b"m", 1.5)
    db.add(b"z", zset)
    db.set_expire(b"s", 99_999_999_999_999)
    keyspace.dbs[far_db].add(b"far", b"away")
    out = io.BytesIO()
    library = b"#!lua name=lib\nredis.register_function('f', function() return 1 end)"
    write_rdb(out, keyspace, [library])
    return out.getvalue()


def run_rdb(path: Path) -> tuple[int, str]:
    out = io.StringIO()
    return check_rdb_main([str(path)], out), out.getvalue()


def test_check_rdb_on_a_whole_file_and_on_every_cut(tmp_path: Path) -> None:
    data = zyst_rdb()
    path = tmp_path / "dump.rdb"
    path.write_bytes(data)
    status, out = run_rdb(path)
    assert status == 0, out
    assert "RDB looks OK" in out and "[info] 7 keys read" in out and "[info] 1 expires" in out
    assert "Checksum OK" in out
    for size in range(len(data)):
        path.write_bytes(data[:size])
        status, out = run_rdb(path)
        assert status == 1 and "--- RDB ERROR DETECTED ---" in out, size
        offset = int(re.findall(r"\[offset (\d+)\]", out)[-1])
        assert offset <= size, (size, out)


def test_check_rdb_finds_a_damaged_byte_and_reads_databases_past_16(tmp_path: Path) -> None:
    data = zyst_rdb()
    path = tmp_path / "dump.rdb"
    for at in range(9, len(data), 7):
        path.write_bytes(data[:at] + bytes([data[at] ^ 0x5A]) + data[at + 1 :])
        assert run_rdb(path)[0] == 1, at
    path.write_bytes(zyst_rdb(databases=40, far_db=33))
    status, out = run_rdb(path)
    assert status == 0 and "[info] 7 keys read" in out, out
    assert run_rdb(tmp_path / "missing.rdb")[0] == 1
    out = io.StringIO()
    assert check_rdb_main([], out) == 1 and "Usage: zyst check-rdb" in out.getvalue()


def test_an_aof_with_an_rdb_part_is_checked_part_by_part(tmp_path: Path) -> None:
    rdb = zyst_rdb()
    commands, cuts = build(COMMANDS)
    path = tmp_path / "appendonly.aof"
    path.write_bytes(rdb + commands)
    status, out = run([str(path)])
    assert status == 0 and "RDB looks OK" in out, out
    assert f"size={len(rdb) + len(commands)}, ok_up_to={len(rdb) + len(commands)}," in out

    # Cut in the command part: offsets count from the start of the file; --fix cuts there.
    path.write_bytes(rdb + commands[:-3])
    status, out = run([str(path)])
    assert status == 1 and f"ok_up_to={len(rdb) + cuts[-2]}," in out, out
    assert run(["--fix", "--yes", str(path)])[0] == 0
    assert path.read_bytes() == rdb + commands[: cuts[-2]]

    # A damaged RDB part cannot be fixed: nothing is cut.
    broken = rdb[:40] + b"\xff" + rdb[41:] + commands
    path.write_bytes(broken)
    status, out = run(["--fix", "--yes", str(path)])
    assert status == 1 and "RDB ERROR DETECTED" in out and "not valid, aborting" in out
    assert path.read_bytes() == broken


def test_an_aof_holding_a_line_that_starts_with_file_is_no_manifest(tmp_path: Path) -> None:
    path = tmp_path / "appendonly.aof"
    path.write_bytes(encode_command([b"SET", b"k", b"file x seq 1 type b"]))
    status, out = run([str(path)])
    assert status == 0 and "AOF analyzed" in out and "manifest" not in out, out
