"""Strings modified in place (APPEND, SETRANGE, SETBIT, BITFIELD): stored as a ``bytearray``
that those commands change where it stands (see :mod:`zyst.keyspace`).

Nothing here is timed. That the change costs the size of the change, not the string's, is
checked two ways that a copying implementation fails: the stored object stays the very same
buffer from one write to the next, and the memory traced by ``tracemalloc`` never grows by
anything near the string's size while a 1 MB string is written to, nor while a few of its
bytes are read (STRLEN, GETRANGE, GETBIT, BITCOUNT, BITPOS, BITFIELD). Every command that names a
key is then run on a string stored as ``bytes`` and on the same string stored as a
``bytearray``: the replies, the data and what is propagated must be the same, and no reply nor
propagated argument may hold a ``bytearray`` (a reply can be encoded later, when the buffer has
changed). The socket-level counterpart, against redis-server, is
``tests/oracle/test_raw_strings_oracle.py``.
"""

from __future__ import annotations

import tracemalloc
from typing import Any

import pytest

from tests.unit.test_expired_writes import MOVABLE, READS, WRITES, Command, Harness, case_id
from zyst.blocking import Blocked
from zyst.commands import table
from zyst.protocol.resp import Map, SetReply, encode_reply

SIZE = 1 << 20  # the big string's length

# Writes on the big string ``k`` that change it in place, each touching a few bytes, in groups
# run many times in a row (each group changes something every time round: SETBIT sets a bit and
# clears it again); the offsets stay inside the string, APPEND grows it by 100 bytes a time.
IN_PLACE_WRITES: list[list[Command]] = [
    [("APPEND", "k", "y" * 100)],
    [("SETRANGE", "k", "1000", "abc"), ("SETRANGE", "k", "1000", "xyz")],
    [("SETRANGE", "k", SIZE - 2, "abcd")],  # grows it at the end
    [("SETBIT", "k", "8001", "1"), ("SETBIT", "k", "8001", "0")],
    [("BITFIELD", "k", "INCRBY", "u8", "#300", "1", "SET", "i16", "4000", "-7")],
]


def group_id(group: list[Command]) -> str:
    return "; ".join(case_id(command)[:40] for command in group)


def stored(h: Harness, key: bytes = b"k") -> Any:
    return h.ctx.keyspace.dbs[0].data[key]


@pytest.mark.parametrize("group", IN_PLACE_WRITES, ids=group_id)
def test_a_write_keeps_the_stored_buffer(group: list[Command]) -> None:
    h = Harness()
    h("SET", "k", "x" * 100)
    h(*group[0])
    buf = stored(h)
    assert type(buf) is bytearray  # the first write turned the bytes into a buffer
    for _ in range(50):
        for command in group:
            h(*command)
            assert stored(h) is buf


@pytest.mark.parametrize("group", IN_PLACE_WRITES, ids=group_id)
def test_writes_to_a_big_string_allocate_nothing_like_its_size(group: list[Command]) -> None:
    h = Harness()
    # (Traced from before the string exists: a block allocated untraced would count whole
    # when it grows.)
    tracemalloc.start()
    try:
        h("SET", "k", "x" * SIZE)
        h("APPEND", "k", "")  # the one copy: bytes into a bytearray
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        for _ in range(50):
            for command in group:
                h(*command)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # A copy of the string would add a whole SIZE at once; growing in place adds at most the
    # bytearray's spare room (an eighth of its size) plus what the commands themselves take.
    assert peak - before < SIZE // 4


def test_a_string_created_by_append_is_the_argument_then_a_buffer() -> None:
    h = Harness()
    assert h("APPEND", "k", "ab")[0] == b":2\r\n"
    assert type(stored(h)) is bytes  # as Redis stores the argument itself
    assert h("APPEND", "k", "cd")[0] == b":4\r\n"
    assert stored(h) == bytearray(b"abcd") and type(stored(h)) is bytearray


@pytest.mark.parametrize(
    "command",
    [
        ("SETRANGE", "k", "3", "ab"),
        ("SETBIT", "k", "20", "1"),
        ("BITFIELD", "k", "SET", "u4", "0", "1"),
    ],
    ids=case_id,
)
def test_a_bit_or_range_write_creates_a_buffer(command: Command) -> None:
    h = Harness()
    h(*command)
    assert type(stored(h)) is bytearray


def test_reads_answer_bytes_and_leave_the_buffer_stored() -> None:
    h = Harness()
    h("SETRANGE", "k", "0", "hello")
    buf = stored(h)
    for command in (("GET", "k"), ("GETRANGE", "k", "1", "3"), ("MGET", "k", "k")):
        reply = table.call(h.client, [str(a).encode() for a in command])
        assert no_bytearray(reply), command
    assert h("GET", "k")[0] == b"$5\r\nhello\r\n"
    assert stored(h) is buf  # a read does not turn it back into bytes


def test_copy_does_not_share_the_buffer() -> None:
    h = Harness()
    h("SETRANGE", "k", "0", "abc")
    h("COPY", "k", "o")
    h("APPEND", "k", "x")
    h("SETBIT", "o", "0", "1")
    assert h("GET", "k")[0] == b"$4\r\nabcx\r\n"
    assert h("GET", "o")[0] == b"$3\r\n\xe1bc\r\n"
    assert stored(h) is not stored(h, b"o")


def test_rename_moves_the_buffer() -> None:
    h = Harness()
    h("SETRANGE", "k", "0", "abc")
    buf = stored(h)
    h("RENAME", "k", "o")
    h("APPEND", "o", "d")
    assert stored(h, b"o") is buf and buf == b"abcd"


def no_bytearray(value: Any) -> bool:
    """Whether ``value`` (a reply or an argument list) holds no bytearray at any depth."""
    if type(value) is bytearray:
        return False
    if isinstance(value, list | tuple):
        return all(no_bytearray(item) for item in value)
    if isinstance(value, Map):
        if not isinstance(value.pairs, dict):
            value.pairs = list(value.pairs)  # (walked here and encoded after)
        pairs = value.pairs.items() if isinstance(value.pairs, dict) else value.pairs
        return all(no_bytearray(key) and no_bytearray(item) for key, item in pairs)
    if isinstance(value, SetReply):
        value.items = list(value.items)
        return all(no_bytearray(item) for item in value.items)
    return True


def run(h: Harness, command: Command) -> tuple[Any, ...]:
    """The reply encoded in RESP2 and RESP3 (or that it blocked), the data, the TTLs, and what
    was propagated; asserting that no bytearray left in the reply or the propagation."""
    h.propagated.clear()
    reply = table.call(h.client, [str(a).encode() for a in command])
    assert no_bytearray(reply), (command, reply)
    assert all(no_bytearray(argv) for _, argv in h.propagated), h.propagated
    if isinstance(reply, Blocked):
        encoded: tuple[bytes, ...] = (b"blocked",)
    else:
        resp2: list[bytes] = []
        resp3: list[bytes] = []
        encode_reply(reply, False, resp2)
        encode_reply(reply, True, resp3)
        encoded = (b"".join(resp2), b"".join(resp3))
    # (bytes and bytearray compare equal: the data compares by content.)
    return encoded, h.state(), list(h.propagated)


@pytest.mark.parametrize("command", WRITES + READS + MOVABLE, ids=case_id)
def test_every_command_sees_a_buffer_as_the_string_it_holds(command: Command) -> None:
    outcomes = []
    for in_place in (False, True):
        h = Harness()
        h("SET", "k", "7")
        h("EXPIRE", "k", "100")
        if in_place:
            db = h.ctx.keyspace.dbs[0]
            db.unshare(b"k", db.data[b"k"])
            assert type(stored(h)) is bytearray
        outcomes.append(run(h, command))
        # And the key (or what became of it) reads the same afterwards.
        outcomes.append(run(h, ("GET", "k")))
        outcomes.append(run(h, ("GET", "o")))
    assert outcomes[:3] == outcomes[3:]


# Reads of a few bytes of the big string, once it is a buffer: none may copy it.
SMALL_READS: list[Command] = [
    ("STRLEN", "k"),
    ("GETRANGE", "k", "1000", "1010"),
    ("SUBSTR", "k", "-5", "-1"),
    ("GETBIT", "k", "8001"),
    ("BITCOUNT", "k", "10", "20"),
    ("BITCOUNT", "k", "80", "200", "BIT"),
    ("BITPOS", "k", "0", "3", "9"),
    ("BITFIELD", "k", "GET", "u8", "#300"),
    ("BITFIELD_RO", "k", "GET", "i16", "4000"),
]


@pytest.mark.parametrize("command", SMALL_READS, ids=case_id)
def test_small_reads_of_a_big_buffer_copy_nothing(command: Command) -> None:
    h = Harness()
    tracemalloc.start()
    try:
        h("SET", "k", "x" * SIZE)
        h("APPEND", "k", "")  # now a bytearray
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        for _ in range(20):
            h(*command)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak - before < SIZE // 4
