"""No input breaks the server: random and mutated requests through real sockets.

Each example opens a connection, writes its bytes (cut into several writes at random points),
ends its writing side and reads until the server closes. Then it checks:

- what came back is whole replies, and a protocol error, if any, is Redis's and the last one;
- no reply is an internal error and the server's log holds no traceback;
- a fresh connection still gets PONG (the server neither crashed nor hangs).

The inputs: well-formed requests of every command COMMAND lists (with hostile arguments, in
RESP3, inside MULTI, in Lua scripts), mutated frames, and two or three connections whose writes
take turns. Two tests also send the same bytes to redis-server: with deterministic commands,
every byte that comes back must be the same (replies, the protocol error, the close); with any
commands, the requests must be framed alike (as many replies, the same protocol error).

Examples per test and how to run more: :mod:`tests.fuzz.conftest`. What the commands leave out,
and why, is in :mod:`tests.fuzz.strategies`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

import pytest
from hypothesis import assume, event, given
from hypothesis import strategies as st

from tests.conftest import ServerProcess, redis_process
from tests.fuzz.conftest import (
    FUZZ_SETTINGS,
    TEST_TIMEOUT,
    Checked,
    check_alive,
    check_replies,
    exchange,
    exchange_all,
    split_replies,
)
from tests.fuzz.strategies import (
    ODD_PIECES,
    Catalog,
    cuts,
    frame,
    is_safe,
    long_line,
    mutated,
    session,
)
from zyst.commands.table import is_http_line
from zyst.protocol.resp import RequestParser

pytestmark = pytest.mark.timeout(TEST_TIMEOUT)


def safe_payload(data: bytes) -> bool:
    """Every command the server would read from ``data`` is still outside the exclusions."""
    parser = RequestParser()
    return all(is_safe(argv) for argv in parser.feed(data))


@FUZZ_SETTINGS
@given(data=st.data())
def test_random_commands_never_break_the_server(
    fuzzed: Checked, catalog: Catalog, data: st.DataObject
) -> None:
    payload = data.draw(session(catalog), label="payload")
    pieces = data.draw(cuts(payload), label="cuts")
    check_replies(exchange(fuzzed.server.port, pieces))
    check_alive(fuzzed, pieces)


@FUZZ_SETTINGS
@given(data=st.data())
def test_mutated_requests_never_break_the_server(
    fuzzed: Checked, catalog: Catalog, data: st.DataObject
) -> None:
    parts = data.draw(
        st.lists(
            st.one_of(frame(catalog), st.sampled_from(ODD_PIECES), long_line()),
            min_size=1,
            max_size=6,
        ),
        label="parts",
    )
    payload = data.draw(mutated(b"".join(parts)), label="payload")
    assume(safe_payload(payload))
    pieces = data.draw(cuts(payload), label="cuts")
    check_replies(exchange(fuzzed.server.port, pieces))
    check_alive(fuzzed, pieces)


@FUZZ_SETTINGS
@given(data=st.data())
def test_interleaved_connections_never_break_the_server(
    fuzzed: Checked, catalog: Catalog, data: st.DataObject
) -> None:
    """Two or three connections whose writes take turns: one may block on a key another
    writes, kill, unblock, track, watch or subscribe where the other publishes."""
    count = data.draw(st.integers(2, 3), label="connections")
    sessions = [data.draw(cuts(data.draw(session(catalog)))) for _ in range(count)]
    turns = [index for index, pieces in enumerate(sessions) for _ in pieces]
    order = data.draw(st.permutations(turns), label="order")
    outputs = exchange_all(fuzzed.server.port, sessions, list(order))
    for output in outputs:
        check_replies(output)
    check_alive(fuzzed, [piece for pieces in sessions for piece in pieces])


# Commands that run scripts, which may call anything.
SCRIPTED: Final = frozenset(
    {b"eval", b"evalsha", b"eval_ro", b"evalsha_ro", b"fcall", b"fcall_ro", b"function"}
)


# Commands whose replies depend only on the bytes sent and the data those bytes made: what two
# servers fed the same requests must answer alike, byte for byte.
DETERMINISTIC: Final = Catalog(
    [
        (b"ping", -1),
        (b"echo", 2),
        (b"set", -3),
        (b"get", 2),
        (b"del", -2),
        (b"incr", 2),
        (b"rpush", -3),
        (b"lrange", 4),
        (b"exists", -2),
        (b"strlen", 2),
        (b"hset", -4),
        (b"hgetall", 2),
        (b"nosuchcommand", -1),
    ]
)


@FUZZ_SETTINGS
@given(data=st.data())
def test_mutated_requests_as_redis_reads_them(
    zyst_proc: ServerProcess,
    redis_server: ServerProcess,
    catalog: Catalog,
    data: st.DataObject,
) -> None:
    """The same mutated requests to Zyst and to redis-server: the same bytes back, the
    protocol error at the same place with the same text, the same close. Inputs stay far below
    the 64 KB where Redis's verdict depends on how its reads were cut, and go in one write."""
    parts = data.draw(
        st.lists(
            st.one_of(frame(DETERMINISTIC), st.sampled_from(ODD_PIECES)), min_size=1, max_size=6
        ),
        label="parts",
    )
    payload = data.draw(mutated(b"".join(parts)), label="payload")
    # A mutation may turn a name into another command's (TIME, INFO): only these, or names
    # no server knows, keep the comparison exact.
    known = catalog.names - DETERMINISTIC.names
    assume(all(argv[0].lower() not in known for argv in RequestParser().feed(payload)))
    for server in (zyst_proc, redis_server):
        assert exchange(server.port, [b"FLUSHALL\r\n"]) == b"+OK\r\n"
    theirs = exchange(redis_server.port, [payload])
    # After a protocol error Redis closes the connection itself: so must Zyst, with no end of
    # input to tell it.
    closes = framing(theirs)[1] is not None
    ours = exchange(zyst_proc.port, [payload], end_writing=not closes)
    for output in (ours, theirs):
        for error in (b"-ERR Protocol error", b"-ERR unknown command"):
            if error in output:
                event(error.decode())
    assert ours == theirs, f"{payload!r}: zyst {ours!r} != redis {theirs!r}"


@pytest.fixture(scope="module")
def own_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A redis-server of this module's own: random commands change its state and settings."""
    with redis_process(
        tmp_path_factory.mktemp("fuzz-redis"), "--enable-debug-command", "local"
    ) as server:
        yield server


def framing(output: bytes) -> tuple[int, bytes | None, bool]:
    """How a server framed the requests: how many replies it sent, the protocol error it ended
    with (if any), and whether the output was cut short."""
    replies, cut = split_replies(output)
    error = replies[-1] if replies and replies[-1].startswith(b"-ERR Protocol error") else None
    return len(replies), error, cut


@FUZZ_SETTINGS
@given(data=st.data())
def test_any_commands_frame_as_redis_frames_them(
    fuzzed: Checked, own_redis: ServerProcess, catalog: Catalog, data: st.DataObject
) -> None:
    """Mutated requests of any commands to Zyst and to redis-server, cut alike into writes:
    the replies differ (the servers differ in state, versions, ids), but the requests must be
    framed alike: as many replies, and the same protocol error after them.

    Left out: commands that may block (how long depends on each server's data), scripts
    (they call any command, blocking ones included), and the lines of an HTTP request (which
    drop the replies of their own read: how the writes were grouped into reads decides what
    comes back, on both servers)."""
    parts = data.draw(
        st.lists(st.one_of(frame(catalog), st.sampled_from(ODD_PIECES)), min_size=1, max_size=6),
        label="parts",
    )
    payload = data.draw(mutated(b"".join(parts)), label="payload")
    commands = RequestParser().feed(payload)
    assume(safe_payload(payload))
    unstable = catalog.blocking | SCRIPTED
    assume(all(argv[0].lower() not in unstable for argv in commands))
    assume(not any(is_http_line(argv[0]) for argv in commands))
    pieces = data.draw(cuts(payload), label="cuts")
    ours = framing(exchange(fuzzed.server.port, pieces))
    theirs = framing(exchange(own_redis.port, pieces))
    check_alive(fuzzed, pieces)
    if theirs[1] is not None:
        event("protocol error")
    if ours[2] or theirs[2]:  # a reset took the end: only the replies both got can be compared
        event("cut short by a reset")
        return
    assert ours == theirs, f"{b''.join(pieces)!r}: zyst {ours!r} != redis {theirs!r}"
