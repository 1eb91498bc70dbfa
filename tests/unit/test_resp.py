"""The request parser and the reply encoder, without sockets."""

from __future__ import annotations

import math
import tracemalloc

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zyst import errors
from zyst.protocol.inline import _split_slowly, split_args
from zyst.protocol.resp import (
    NULL_ARRAY,
    OK,
    ErrorReply,
    Map,
    Pairs,
    RequestParser,
    ScoreLists,
    ScorePairs,
    SetReply,
    Verbatim,
    encode_command,
    encode_error,
    encode_reply,
)


def parse_all(*chunks: bytes) -> tuple[list[list[bytes]], str | None]:
    parser = RequestParser()
    commands: list[list[bytes]] = []
    for chunk in chunks:
        commands += parser.feed(chunk)
    return commands, parser.error


def test_multibulk_and_pipelining() -> None:
    data = encode_command([b"SET", b"k", b"v"]) + encode_command([b"GET", b"k"])
    assert parse_all(data) == ([[b"SET", b"k", b"v"], [b"GET", b"k"]], None)


def test_binary_safe_arguments() -> None:
    value = bytes(range(256)) + b"\r\n*1\r\n$4\r\nPING\r\n"
    assert parse_all(encode_command([b"SET", b"k", value])) == ([[b"SET", b"k", value]], None)


@given(
    st.lists(st.lists(st.binary(max_size=40), min_size=1, max_size=5), min_size=1, max_size=8),
    st.data(),
)
def test_any_split_of_a_pipeline_parses_the_same(
    commands: list[list[bytes]], data: st.DataObject
) -> None:
    assert_parses_however_cut(commands, data, max_cuts=6)


def assert_parses_however_cut(
    commands: list[list[bytes]], data: st.DataObject, max_cuts: int
) -> None:
    """Encode ``commands``, cut the bytes where Hypothesis draws, and parse the pieces."""
    stream = b"".join(encode_command(argv) for argv in commands)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=max_cuts)))
    chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    assert parse_all(*chunks) == (commands, None)


@pytest.mark.parametrize(
    "pieces",
    [
        [b"*2000000000\r\n$4\r\nPING\r\n"],
        [b"*20", b"00000", b"000\r\n", b"$4\r\nPING\r\n"],
        [b"*1\r\n$4\r\nPING\r\n*2", b"000000000\r\n$4\r\n"],
        [b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n*1999999999\r\n"],
    ],
)
def test_huge_counts_are_never_allocated_up_front(pieces: list[bytes]) -> None:
    # hiredis would allocate a list for the whole count (16 GB here) on reading the header,
    # which is what the parser must never let it do, whichever way the header is split.
    parser = RequestParser()
    tracemalloc.start()
    try:
        for piece in pieces:
            parser.feed(piece)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10 * 1024 * 1024


@given(
    st.lists(
        st.lists(
            st.one_of(st.binary(max_size=8), st.integers(0, 150_000).map(lambda n: b"v" * n)),
            min_size=1,
            max_size=4,
        ),
        min_size=1,
        max_size=4,
    ),
    st.data(),
)
def test_big_arguments_split_anywhere_parse_the_same(
    commands: list[list[bytes]], data: st.DataObject
) -> None:
    # Arguments bigger than one read, so requests arrive in many pieces.
    assert_parses_however_cut(commands, data, max_cuts=12)


def test_a_big_request_read_in_small_pieces() -> None:
    argv = [b"RPUSH", b"list", *(b"%d" % n for n in range(50_000)), b"x" * 300_000]
    stream = encode_command(argv) + encode_command([b"PING"])
    pieces = [stream[at : at + 4096] for at in range(0, len(stream), 4096)]
    assert parse_all(*pieces) == ([argv, [b"PING"]], None)


def test_a_pipeline_fed_one_byte_at_a_time() -> None:
    commands = [[b"SET", b"k", b"v" * 300]] * 3 + [[b"MSET", *[b"a", b"b"] * 50]]
    stream = b"".join(encode_command(argv) for argv in commands)
    assert parse_all(*(stream[at : at + 1] for at in range(len(stream)))) == (commands, None)


def test_inline_after_a_partial_multibulk_and_back() -> None:
    stream = encode_command([b"SET", b"k", b"v"]) + b"PING\r\n" + encode_command([b"GET", b"k"])
    for cut in range(len(stream) + 1):
        assert parse_all(stream[:cut], stream[cut:]) == (
            [[b"SET", b"k", b"v"], [b"PING"], [b"GET", b"k"]],
            None,
        )


def test_inline_commands_and_empty_lines() -> None:
    assert parse_all(b"PING\r\n\r\nSET a 'b c'\nGET a\r\n") == (
        [[b"PING"], [b"SET", b"a", b"b c"], [b"GET", b"a"]],
        None,
    )


def test_inline_split_across_reads() -> None:
    assert parse_all(b"EC", b"HO hel", b"lo\r\n") == ([[b"ECHO", b"hello"]], None)


def test_inline_after_multibulk_in_one_read() -> None:
    data = encode_command([b"PING"]) + b"ECHO x\r\n" + encode_command([b"GET", b"k"])
    assert parse_all(data) == ([[b"PING"], [b"ECHO", b"x"], [b"GET", b"k"]], None)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"*3000000000\r\n", "ERR Protocol error: invalid multibulk length"),
        (b"*abc\r\n", "ERR Protocol error: invalid multibulk length"),
        (b"*1\r\n:5\r\n", "ERR Protocol error: expected '$', got ':'"),
        (b"*1\r\n$-1\r\n", "ERR Protocol error: invalid bulk length"),
        (b"*1\r\n$999999999999\r\n", "ERR Protocol error: invalid bulk length"),
        (b'ECHO "abc\r\n', "ERR Protocol error: unbalanced quotes in request"),
        (b"A" * (65 * 1024), "ERR Protocol error: too big inline request"),
        (b"*" + b"1" * (65 * 1024), "ERR Protocol error: too big mbulk count string"),
        (b"*01\r\n", "ERR Protocol error: invalid multibulk length"),
        (b"*1\r\n$03\r\nabc\r\n", "ERR Protocol error: invalid bulk length"),
        (b"*1\r\n$600000000\r\n", "ERR Protocol error: invalid bulk length"),
        (b"*2\r\n$1\r\na\r\n*1\r\n", "ERR Protocol error: expected '$', got '*'"),
    ],
)
def test_malformed_requests(data: bytes, error: str) -> None:
    commands, got = parse_all(encode_command([b"PING"]) + data)
    assert commands == [[b"PING"]]
    assert got == error
    if len(data) < 100:
        # The same wherever the bytes are cut.
        stream = encode_command([b"PING"]) + data
        for cut in range(len(stream) + 1):
            assert parse_all(stream[:cut], stream[cut:]) == ([[b"PING"]], error)


@pytest.mark.parametrize(
    ("stream", "commands", "error"),
    [
        # A header line ends at its first CR; the byte after the CR is skipped, LF or not.
        (b"*1\rX$1\r\na\r\n", [[b"a"]], None),
        (b"*2\r\n$4\r\nECHO\r\n$1\r\r\na\r\n", [[b"ECHO", b"\n"]], None),
        (b"*\r\r", [], "ERR Protocol error: invalid multibulk length"),
        # Redis looks for line ends with strchr, which stops at a NUL: such lines never end.
        (b"ECHO a\x00b\r\n", [], None),
        (b"*1\r\n\x00\r\n", [], None),
    ],
)
def test_redis_line_rules(stream: bytes, commands: list[list[bytes]], error: str | None) -> None:
    for cut in range(len(stream) + 1):
        assert parse_all(stream[:cut], stream[cut:]) == (commands, error)


def test_a_long_header_line_split_inside_its_end() -> None:
    stream = b"*1\r\n$" + b"1" * 70_000 + b"\r\n"
    invalid = ([], "ERR Protocol error: invalid bulk length")
    assert parse_all(stream) == invalid
    assert parse_all(stream[:-1], stream[-1:]) == invalid  # the CR arrived: wait for the LF
    # Before the CR arrives the line is over 64 KB with no end: refused then, as Redis does.
    assert parse_all(stream[:-2], stream[-2:]) == (
        [],
        "ERR Protocol error: too big bulk count string",
    )


def test_empty_and_negative_counts_are_ignored() -> None:
    assert parse_all(b"*0\r\n*-1\r\n" + encode_command([b"PING"])) == ([[b"PING"]], None)


def test_split_args_quoting() -> None:
    assert split_args(b"set \"a\\x41\\n\" 'it\\'s'") == [b"set", b"aA\n", b"it's"]
    assert split_args(b'"unterminated') is None
    assert split_args(b'"closed"glued') is None
    assert split_args(b"") == []


# What Redis 7.0's sdssplitargs returns for each line (checked against the C function itself;
# tests/oracle/test_protocol_bytes_oracle.py compares lines with a running redis-server).
@pytest.mark.parametrize(
    ("line", "args"),
    [
        # \v and \f are skipped before an argument, and belong to it anywhere else.
        (b"SET a\x0bb 1", [b"SET", b"a\x0bb", b"1"]),
        (b"SET\x0ckey 1", [b"SET\x0ckey", b"1"]),
        (b"ECHO x\x0c", [b"ECHO", b"x\x0c"]),
        (b"\x0b\x0c a \x0b\x0cb\x0b", [b"a", b"b\x0b"]),
        (b"a\tb\rc  d", [b"a", b"b", b"c", b"d"]),
        # After a closing quote \v and \f are white space.
        (b'"a"\x0bb', [b"a", b"b"]),
        (b"'a'\x0cb", [b"a", b"b"]),
        (b'"a"b', None),
        (b"'a'b", None),
        # A quoted part ends the argument it is glued to.
        (b'a"b c"', [b"ab c"]),
        (b"a'b c' d", [b"ab c", b"d"]),
        (b'a"b c"d', None),
        # Escapes.
        (b'"\\x41\\x4g\\x4"', [b"Ax4gx4"]),
        (b'"\\n\\r\\t\\b\\a\\z\\"\\\\"', [b'\n\r\t\b\az"\\']),
        (b"'\\n\\''", [b"\\n'"]),
        (b'"\\x00\\xff"', [b"\x00\xff"]),
        (b'"\\', None),
        (b"'\\'", None),
        (b'"a\\"', None),
        # A NUL ends the line (it is a C string to Redis), inside quotes too.
        (b"a\x00b c", [b"a"]),
        (b'"a\x00"', None),
        (b"\x00a", []),
        (b"\xa5 \xff\x80", [b"\xa5", b"\xff\x80"]),
    ],
)
def test_split_args_as_sdssplitargs(line: bytes, args: list[bytes] | None) -> None:
    assert split_args(line) == args


@given(st.binary(max_size=30).filter(lambda line: not set(line) & set(b"\"'\x0b\x0c\x00")))
def test_split_args_shortcut_is_exact(line: bytes) -> None:
    # Lines without quotes, \v, \f or NUL take bytes.split(): the same as the full splitter.
    assert split_args(line) == _split_slowly(line)


def encode(value: object, resp3: bool = False) -> bytes:
    out: list[bytes] = []
    encode_reply(value, resp3, out)
    return b"".join(out)


def test_reply_encoding_resp2_and_resp3() -> None:
    assert encode(b"x") == b"$1\r\nx\r\n"
    assert encode(OK) == b"+OK\r\n"
    assert encode(-3) == b":-3\r\n"
    for number in (0, 1, 9_999, 10_000, -1, 2**63 - 1, -(2**63)):
        assert encode(number) == b":%d\r\n" % number
    assert encode(None) == b"$-1\r\n"
    assert encode(None, resp3=True) == b"_\r\n"
    assert encode(NULL_ARRAY) == b"*-1\r\n"
    assert encode([b"a", 1, None]) == b"*3\r\n$1\r\na\r\n:1\r\n$-1\r\n"
    assert encode(Map({b"f": b"v"})) == b"*2\r\n$1\r\nf\r\n$1\r\nv\r\n"
    assert encode(Map({b"f": b"v"}), resp3=True) == b"%1\r\n$1\r\nf\r\n$1\r\nv\r\n"
    assert encode(SetReply([b"m"]), resp3=True) == b"~1\r\n$1\r\nm\r\n"
    assert encode(Pairs([b"f", b"v", b"g", b""])) == (
        b"*4\r\n$1\r\nf\r\n$1\r\nv\r\n$1\r\ng\r\n$0\r\n\r\n"
    )
    assert encode(Pairs([b"f", b"v"]), resp3=True) == b"*1\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n"
    assert encode(Pairs([]), resp3=True) == encode(Pairs([])) == b"*0\r\n"
    assert encode(1.5) == b"$3\r\n1.5\r\n"
    assert encode(1.5, resp3=True) == b",1.5\r\n"
    assert encode(Verbatim(b"hi"), resp3=True) == b"=6\r\ntxt:hi\r\n"
    assert encode(ErrorReply("ERR bad\r\nthing")) == b"-ERR bad  thing\r\n"


def test_error_text_is_written_byte_for_byte() -> None:
    # Error text holds one character per byte (zyst.errors): client bytes come back unaltered.
    assert encode(ErrorReply(errors.unknown_command(b"\xa5", [b"\xff\x00z"]))) == (
        b"-ERR unknown command '\xa5', with args beginning with: '\xff' \r\n"
    )
    assert encode_error(errors.proto_expected_dollar(b"\xa5")) == (
        b"-ERR Protocol error: expected '$', got '\xa5'\r\n"
    )
    # As Redis formats an error: CR and LF dropped at the end, turned into spaces inside.
    assert encode(ErrorReply(errors.unsupported_option(b"a\r\nb\r\n"))) == (
        b"-ERR Unsupported option a  b\r\n"
    )
    # Text of our own beyond latin-1 (there is none today) is still sent, as UTF-8.
    assert encode(ErrorReply("ERR \u2192")) == b"-ERR \xe2\x86\x92\r\n"


def plain_array(items: list[bytes | int | None]) -> bytes:
    """An array reply written out one element at a time, the obvious way."""
    out = [b"*%d\r\n" % len(items)]
    for item in items:
        if item is None:
            out.append(b"$-1\r\n")
        elif isinstance(item, int):
            out.append(b":%d\r\n" % item)
        else:
            out.append(b"$%d\r\n%s\r\n" % (len(item), item))
    return b"".join(out)


@pytest.mark.parametrize(
    "items",
    [
        [],
        [b""],
        [b"", b""],
        [b"xxx"] * 600,
        [b"ab", b"abc", b"ab"],
        [b"a" * 4095, b"b" * 4095],
        [b"a" * 4096, b"b" * 4096],
        [b"short", b"c" * 10_000],
        [b"xx", 7, b"xx"],
        [b"xx", None, b"yy"],
        # Long arrays are encoded in chunks: every length at and around a chunk's end, one
        # length throughout, and an element only the general path takes after whole chunks.
        [b"e:%d" % n for n in range(2047)],
        [b"e:%d" % n for n in range(2048)],
        [b"e:%d" % n for n in range(6000)],
        [b"abcd"] * 4097,
        [*([b"ab"] * 5000), 7, b"cd"],
        [*([b"ab"] * 5000), b"c" * 5000],
    ],
)
def test_array_encodings(items: list[bytes | int | None]) -> None:
    assert encode(items) == plain_array(items)


@given(st.lists(st.one_of(st.binary(max_size=5000), st.none(), st.integers(-5, 5)), max_size=20))
def test_any_array_encodes_like_one_element_at_a_time(items: list[bytes | int | None]) -> None:
    assert encode(items) == plain_array(items)


def test_long_maps_sets_and_score_pairs_encode_like_short_ones() -> None:
    fields = {b"f%d" % n: b"v" * (n % 7) for n in range(5000)}
    flat = [part for pair in fields.items() for part in pair]
    assert encode(Map(fields)) == plain_array(flat)
    assert encode(Map(list(fields.items())), resp3=True) == b"%5000\r\n" + plain_array(flat)[8:]
    members = list(fields)
    assert encode(SetReply(members)) == plain_array(members)
    assert encode(SetReply(members), resp3=True) == b"~5000\r\n" + plain_array(members)[7:]
    scores = [n / 3 for n in range(5000)]
    scores[7] = float("inf")
    scores[9] = float("-inf")
    expected2 = [b"*10000\r\n"]
    expected3 = [b"*5000\r\n"]
    for member, score in zip(members, scores, strict=True):
        bulk = b"$%d\r\n%s\r\n" % (len(member), member)
        expected2.append(bulk + encode(score))
        expected3.append(b"*2\r\n" + bulk + encode(score, resp3=True))
    for value in (ScoreLists(members, scores), ScorePairs(list(zip(members, scores, strict=True)))):
        assert encode(value) == b"".join(expected2)
        assert encode(value, resp3=True) == b"".join(expected3)


@given(
    st.one_of(
        st.floats(allow_nan=False),
        st.integers(-(10**19), 10**19).map(float),
        st.sampled_from([0.0, -0.0, 1e15, -1e15, 1e15 - 1, 2.0**53, 1e17, 5e-324]),
    )
)
def test_doubles_print_as_redis_prints_them(value: float) -> None:
    text = (b"inf" if value > 0 else b"-inf") if math.isinf(value) else b"%.17g" % value
    assert encode(value) == b"$%d\r\n%s\r\n" % (len(text), text)
    assert encode(value, resp3=True) == b",%s\r\n" % text
