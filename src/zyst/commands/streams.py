"""Stream commands without consumer groups (Redis's ``t_stream.c``): XADD, XLEN, XRANGE,
XREVRANGE, XDEL, XTRIM, XREAD (BLOCK waits through :mod:`zyst.blocking`), XSETID, and the XINFO
container with XINFO STREAM and XINFO HELP (``zyst.commands.streamgroups`` adds GROUPS and
CONSUMERS to it). The type itself is :class:`zyst.types.stream.Stream`.

Unlike the other collections, an emptied stream stays (XDEL and XTRIM never delete the key):
its last ID and counters must survive.

Propagation (what Redis 7.0 writes to the AOF):

- XADD goes with the ID it chose in place of ``*`` or ``ms-*``, and a ``~`` trim as ``=`` with
  the resulting length (MAXLEN) or first ID (MINID), so a replay trims exactly as it did;
- XTRIM with ``~`` likewise, and only when it removed something;
- XDEL when it removed something; XSETID as sent; the reads never.

Keyspace events: ``xadd`` then ``xtrim`` (when its trim removed entries), ``xtrim``, ``xdel``,
``xsetid``, published from the handlers (:meth:`zyst.keyevents.KeyEvents.command_event`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from zyst import errors
from zyst.blocking import Blocked, deadline
from zyst.commands.args import option_word, parse_int
from zyst.commands.introspection import help_reply
from zyst.commands.modes import SCRIPT
from zyst.commands.table import Handler, KeySpec, Reply, command, container, subcommand
from zyst.errors import CommandError
from zyst.keyevents import STREAM
from zyst.numbers import LLONG_MAX
from zyst.protocol.resp import NULL_ARRAY, OK, KeyedArrays, Map, Raw
from zyst.types.stream import (
    LISTPACK_MAX_SIZE,
    MAX_ID,
    U64,
    Stream,
    format_id,
    parse_add_id,
    parse_interval_id,
    parse_strict_id,
)
from zyst.types.streamgroups import INVALID_ENTRIES_READ, group_lag, sorted_groups

if TYPE_CHECKING:
    from zyst.client import Client

_RW_UPDATE: Final = (KeySpec(flags=("RW", "update")),)
_RW_DELETE: Final = (KeySpec(flags=("RW", "delete")),)
_RO: Final = (KeySpec(flags=("RO",)),)
_RO_ACCESS: Final = (KeySpec(flags=("RO", "access")),)
_SUB_RO_ACCESS: Final = (KeySpec(flags=("RO", "access"), index=2),)

# XREAD BLOCK without COUNT serves at most this many entries per stream (Redis's
# XREAD_BLOCKED_DEFAULT_COUNT), so a waiter with an old ID is not sent a whole stream.
_BLOCKED_DEFAULT_COUNT: Final = b"1000"


def _xcommand(
    name: str,
    arity: int,
    flags: tuple[str, ...],
    summary: str,
    syntax: str,
    complexity: str,
    key_specs: tuple[KeySpec, ...],
    keys: tuple[int, int, int] = (1, 1, 1),
    tips: tuple[str, ...] = (),
) -> Callable[[Handler], Handler]:
    """Declare a stream command; its ACL categories follow from its flags, as in Redis."""
    categories: tuple[str, ...] = ("write" if "write" in flags else "read", "stream")
    categories += ("fast" if "fast" in flags else "slow",)
    if "blocking" in flags:
        categories += ("blocking",)
    return command(
        name,
        arity=arity,
        flags=flags,
        keys=keys,
        group="stream",
        summary=summary,
        since="5.0.0",
        syntax=syntax,
        complexity=complexity,
        acl_categories=categories,
        tips=tips,
        key_specs=key_specs,
    )


def entries_reply(entries: list[tuple[int, list[bytes]]]) -> list[Any]:
    """Entries as Redis replies them: ``[id, [field, value, ...]]`` each."""
    return [[format_id(sid), fields] for sid, fields in entries]


def read_stream(client: Client, key: bytes) -> Stream | None:
    """The stream at ``key`` for a read command (WRONGTYPE if not one), None if missing."""
    value: Stream | None = client.db.get_typed(key, Stream)
    return value


def stream_event(client: Client, event: bytes, key: bytes) -> None:
    """Publish the stream keyspace event ``event`` for ``key`` (nothing to do, and nothing
    called, while nobody listens to the key-modified signal)."""
    signal = client.ctx.signal
    if signal.listening:
        signal.events.command_event(STREAM, event, client.db.index, key)


def _note_ready(client: Client, key: bytes) -> None:
    """Wake who waits for ``key``: XADD adds to a stream that may exist already, which
    :meth:`zyst.keyspace.Database.add` does not report (it only sees new keys)."""
    db = client.db
    if db.keyspace.waited:
        db.note_ready(key)


# -- XADD and XTRIM's options ------------------------------------------------------------------
class TrimArgs:
    """XADD's and XTRIM's parsed options (Redis's ``streamAddTrimArgs``)."""

    __slots__ = (
        "approx",
        "arg_at",
        "id",
        "id_given",
        "limit",
        "maxlen",
        "minid",
        "no_mkstream",
        "seq_given",
    )

    def __init__(self) -> None:
        self.maxlen: int | None = None
        self.minid: int | None = None
        self.approx = False
        self.limit = 0
        self.arg_at = 0  # where the MAXLEN count or MINID id is, for the rewrite
        self.id = 0
        self.id_given = False
        self.seq_given = True
        self.no_mkstream = False

    @property
    def trims(self) -> bool:
        return self.maxlen is not None or self.minid is not None


def _parse_trim(
    client: Client, argv: list[bytes], xadd: bool, node_entries: int
) -> tuple[TrimArgs, int]:
    """Redis's ``streamParseAddOrTrimArgsOrReply``: the options and, for XADD, where its ID
    argument is."""
    args = TrimArgs()
    limit_given = False
    argc = len(argv)
    i = 2
    while i < argc:
        more = argc - 1 - i
        opt = argv[i]
        if xadd and opt == b"*":
            break
        word = option_word(opt)
        if word == b"maxlen" and more:
            if args.trims:
                raise CommandError(errors.STREAM_MAXLEN_MINID)
            args.approx = False
            following = argv[i + 1]
            if more >= 2 and following == b"~":
                args.approx = True
                i += 1
            elif more >= 2 and following == b"=":
                i += 1
            maxlen = parse_int(argv[i + 1])
            if maxlen < 0:
                raise CommandError(errors.STREAM_MAXLEN_NEGATIVE)
            i += 1
            args.maxlen = maxlen
            args.arg_at = i
        elif word == b"minid" and more:
            if args.trims:
                raise CommandError(errors.STREAM_MAXLEN_MINID)
            args.approx = False
            following = argv[i + 1]
            if more >= 2 and following == b"~":
                args.approx = True
                i += 1
            elif more >= 2 and following == b"=":
                i += 1
            args.minid = parse_strict_id(argv[i + 1], 0)
            i += 1
            args.arg_at = i
        elif word == b"limit" and more:
            limit = parse_int(argv[i + 1])
            if limit < 0:
                raise CommandError(errors.STREAM_LIMIT_NEGATIVE)
            args.limit = limit
            limit_given = True
            i += 1
        elif xadd and word == b"nomkstream":
            args.no_mkstream = True
        elif xadd:
            args.id, args.seq_given = parse_add_id(opt)
            args.id_given = True
            break
        else:
            raise CommandError(errors.SYNTAX)
        i += 1
    if args.limit and not args.trims:
        raise CommandError(errors.STREAM_LIMIT_NO_STRATEGY)
    if not xadd and not args.trims:
        raise CommandError(errors.STREAM_XTRIM_NO_STRATEGY)
    if client.ctx.loading:
        # The AOF has the trim rewritten to its exact result: no cap on the work.
        args.limit = 0
    elif limit_given:
        if not args.approx:
            raise CommandError(errors.STREAM_LIMIT_NO_APPROX)
    elif args.approx:
        limit = 100 * node_entries
        if limit <= 0:
            limit = 10000
        args.limit = min(limit, 1000000)
    else:
        args.limit = 0
    return args, i


def _trim(stream: Stream, args: TrimArgs) -> int:
    return stream.trim(args.maxlen, args.minid, args.approx, args.limit)


def _rewrite_trim(stream: Stream, args: TrimArgs, argv: list[bytes]) -> list[bytes]:
    """``argv`` with a ``~`` trim rewritten as ``=`` and its exact result."""
    out = list(argv)
    out[args.arg_at - 1] = b"="
    if args.maxlen is not None:
        out[args.arg_at] = b"%d" % stream.length
    else:
        out[args.arg_at] = format_id(stream.first_stored_id())
    return out


# -- XADD --------------------------------------------------------------------------------------
# XADD key * field value ...: no option to parse (the form nearly every XADD takes).
_PLAIN_ADD: Final = TrimArgs()


def _next_id(stream: Stream, args: TrimArgs, now_ms: int) -> tuple[int, int]:
    """The ID XADD adds at, as its ``ms`` and ``seq`` (no 128-bit int on the usual path), or
    Redis's error: "Elements are too large" for ``ms-*`` after ``ms-18446744073709551615``
    (Redis's append fails there without setting errno), else the one for an ID not above the
    last. The caller checked that the stream is not exhausted (``last_id`` < MAX_ID)."""
    last_ms = stream.last_ms
    last_seq = stream.last_seq
    if not args.id_given:
        if now_ms > last_ms:
            return now_ms, 0
        if last_seq < U64:
            return last_ms, last_seq + 1
        return last_ms + 1, 0
    ms = args.id >> 64
    seq = args.id & U64
    if not args.seq_given and ms == last_ms:
        if last_seq == U64:
            raise CommandError(errors.STREAM_TOO_LARGE)
        return ms, last_seq + 1
    if ms < last_ms or (ms == last_ms and seq <= last_seq):
        raise CommandError(errors.STREAM_XADD_SMALLER)
    return ms, seq


@_xcommand(
    "xadd",
    arity=-5,
    flags=("write", "denyoom", "fast"),
    summary="Appends a new entry to a stream",
    syntax=(
        "key [NOMKSTREAM] [MAXLEN | MINID [= | ~] threshold [LIMIT count]] * | id "
        "field value [field value ...]"
    ),
    complexity=(
        "O(1) when adding a new entry, O(N) when trimming where N being the number of entries "
        "evicted."
    ),
    key_specs=(
        KeySpec(
            flags=("RW", "update"),
            notes="UPDATE instead of INSERT because of the optional trimming feature",
        ),
    ),
    tips=("nondeterministic_output",),
)
def xadd(client: Client, argv: list[bytes]) -> Reply:
    """XADD key [NOMKSTREAM] [<MAXLEN | MINID> [= | ~] threshold [LIMIT count]] <* | id>
    field value [field value ...]"""
    config = client.ctx.config
    max_entries = config.stream_node_max_entries
    if argv[2] == b"*":
        args = _PLAIN_ADD
        at = 2
    else:
        args, at = _parse_trim(client, argv, True, max_entries)
    fields = argv[at + 1 :]
    if len(fields) < 2 or len(fields) % 2:
        raise CommandError(errors.wrong_arity("xadd"))
    if args.id_given and args.seq_given and args.id == 0:
        raise CommandError(errors.STREAM_XADD_ZERO_ID)
    key = argv[1]
    db = client.db
    stream: Stream | None = db.get_typed_for_write(key, Stream)
    if stream is None:
        if args.no_mkstream:
            return None
        stream = Stream()
        db.add(key, stream)
    if stream.last_ms == U64 and stream.last_seq == U64:
        raise CommandError(errors.STREAM_EXHAUSTED)
    ms, seq = _next_id(stream, args, db.keyspace.clock())
    total = 0
    for item in fields:
        total += len(item)
    if total > LISTPACK_MAX_SIZE:
        raise CommandError(errors.STREAM_TOO_LARGE)
    stream.add_parts(ms, seq, fields, max_entries, config.stream_node_max_bytes)
    reply = b"%d-%d" % (ms, seq)
    ctx = client.ctx
    ctx.dirty += 1
    stream_event(client, b"xadd", key)
    propagated = argv
    if args.trims:
        if _trim(stream, args):
            stream_event(client, b"xtrim", key)
        if args.approx and ctx.propagating:
            propagated = _rewrite_trim(stream, args, argv)
    if ctx.propagating and not (args.id_given and args.seq_given):
        if propagated is argv:
            propagated = list(argv)
        propagated[at] = reply
    if propagated is not argv:
        client.propagate_as = [propagated]
    _note_ready(client, key)
    return reply


@_xcommand(
    "xtrim",
    arity=-4,
    flags=("write",),
    summary="Trims the stream to (approximately if '~' is passed) a certain size",
    syntax="key MAXLEN | MINID [= | ~] threshold [LIMIT count]",
    complexity=(
        "O(N), with N being the number of evicted entries. Constant times are very small "
        "however, since entries are organized in macro nodes containing multiple entries that "
        "can be released with a single deallocation."
    ),
    key_specs=_RW_DELETE,
    tips=("nondeterministic_output",),
)
def xtrim(client: Client, argv: list[bytes]) -> Reply:
    """XTRIM key <MAXLEN | MINID> [= | ~] threshold [LIMIT count]"""
    args, _ = _parse_trim(client, argv, False, client.ctx.config.stream_node_max_entries)
    key = argv[1]
    stream: Stream | None = client.db.get_typed_for_write(key, Stream)
    if stream is None:
        return 0
    removed = _trim(stream, args)
    if removed:
        stream_event(client, b"xtrim", key)
        if args.approx:
            client.propagate_as = [_rewrite_trim(stream, args, argv)]
        client.ctx.dirty += removed
    return removed


# -- reading -----------------------------------------------------------------------------------
@_xcommand(
    "xlen",
    arity=2,
    flags=("readonly", "fast"),
    summary="Return the number of entries in a stream",
    syntax="key",
    complexity="O(1)",
    key_specs=_RO,
)
def xlen(client: Client, argv: list[bytes]) -> Reply:
    """XLEN key"""
    stream = read_stream(client, argv[1])
    return 0 if stream is None else stream.length


def _xrange(client: Client, argv: list[bytes], rev: bool) -> Reply:
    low, high = (argv[3], argv[2]) if rev else (argv[2], argv[3])
    start, start_excl = parse_interval_id(low, 0)
    if start_excl:
        if start == MAX_ID:
            raise CommandError(errors.STREAM_INVALID_START)
        start += 1
    end, end_excl = parse_interval_id(high, U64)
    if end_excl:
        if end == 0:
            raise CommandError(errors.STREAM_INVALID_END)
        end -= 1
    count = -1
    argc = len(argv)
    j = 4
    while j < argc:
        if option_word(argv[j]) == b"count" and j + 1 < argc:
            count = max(parse_int(argv[j + 1]), 0)
            j += 2
        else:
            raise CommandError(errors.SYNTAX)
    stream = read_stream(client, argv[1])
    if stream is None:
        return []
    if count == 0:
        return NULL_ARRAY
    return Raw(stream.range_resp(start, end, max(count, 0), rev))


@_xcommand(
    "xrange",
    arity=-4,
    flags=("readonly",),
    summary="Return a range of elements in a stream, with IDs matching the specified IDs interval",
    syntax="key start end [COUNT count]",
    complexity=(
        "O(N) with N being the number of elements being returned. If N is constant (e.g. "
        "always asking for the first 10 elements with COUNT), you can consider it O(1)."
    ),
    key_specs=_RO_ACCESS,
)
def xrange(client: Client, argv: list[bytes]) -> Reply:
    """XRANGE key start end [COUNT count]"""
    return _xrange(client, argv, False)


@_xcommand(
    "xrevrange",
    arity=-4,
    flags=("readonly",),
    summary=(
        "Return a range of elements in a stream, with IDs matching the specified IDs interval, "
        "in reverse order (from greater to smaller IDs) compared to XRANGE"
    ),
    syntax="key end start [COUNT count]",
    complexity=(
        "O(N) with N being the number of elements returned. If N is constant (e.g. always "
        "asking for the first 10 elements with COUNT), you can consider it O(1)."
    ),
    key_specs=_RO_ACCESS,
)
def xrevrange(client: Client, argv: list[bytes]) -> Reply:
    """XREVRANGE key end start [COUNT count]"""
    return _xrange(client, argv, True)


class ReadArgs:
    """XREAD's and XREADGROUP's parsed options (the shared part of Redis's
    ``xreadCommand``): ``timeout_ms`` is -1 without BLOCK; ``keys`` and ``ids`` are the raw
    arguments after STREAMS."""

    __slots__ = ("consumer", "count", "group", "ids", "keys", "noack", "timeout_ms")

    def __init__(self) -> None:
        self.timeout_ms = -1
        self.count = 0
        self.keys: list[bytes] = []
        self.ids: list[bytes] = []
        self.group: bytes | None = None
        self.consumer: bytes | None = None
        self.noack = False


def parse_read(client: Client, argv: list[bytes], group: bool) -> ReadArgs:
    """The options of XREAD (``group`` False) or XREADGROUP, checked in Redis's order."""
    args = ReadArgs()
    argc = len(argv)
    streams_at = 0
    i = 1
    while i < argc:
        more = argc - i - 1
        word = option_word(argv[i])
        if word == b"block" and more:
            if client.mode & SCRIPT:
                raise CommandError(errors.STREAM_BLOCK_IN_SCRIPT.format(errors.c_string(argv[0])))
            i += 1
            timeout = parse_int(argv[i], errors.TIMEOUT_NOT_INTEGER)
            if timeout < 0:
                raise CommandError(errors.TIMEOUT_NEGATIVE)
            args.timeout_ms = timeout
        elif word == b"count" and more:
            i += 1
            args.count = max(parse_int(argv[i]), 0)
        elif word == b"streams" and more:
            streams_at = i + 1
            if (argc - streams_at) % 2:
                raise CommandError(errors.STREAM_UNBALANCED)
            break
        elif word == b"group" and more >= 2:
            if not group:
                raise CommandError(errors.STREAM_GROUP_ONLY_XREADGROUP)
            args.group = argv[i + 1]
            args.consumer = argv[i + 2]
            i += 2
        elif word == b"noack":
            if not group:
                raise CommandError(errors.STREAM_NOACK_ONLY_XREADGROUP)
            args.noack = True
        else:
            raise CommandError(errors.SYNTAX)
        i += 1
    if not streams_at:
        raise CommandError(errors.SYNTAX)
    half = (argc - streams_at) // 2
    args.keys = argv[streams_at : streams_at + half]
    args.ids = argv[streams_at + half :]
    return args


def xread_keys(argv: list[bytes]) -> list[bytes]:
    """XREAD's keys for COMMAND GETKEYS: half of the words after the first STREAMS."""
    for i in range(1, len(argv)):
        if option_word(argv[i]) == b"streams":
            rest = argv[i + 1 :]
            if len(rest) % 2 == 0 and rest:
                return rest[: len(rest) // 2]
            break
    raise CommandError(errors.GETKEYS_INVALID_ARGUMENTS)


@command(
    "xread",
    arity=-4,
    flags=("readonly", "blocking", "movablekeys"),
    keys=(0, 0, 0),
    group="stream",
    summary=(
        "Return never seen elements in multiple streams, with IDs greater than the ones "
        "reported by the caller for each stream. Can block."
    ),
    since="5.0.0",
    syntax="[COUNT count] [BLOCK milliseconds] STREAMS key [key ...] id [id ...]",
    complexity=(
        "For each stream mentioned: O(N) with N being the number of elements being returned, "
        "it means that XREAD-ing with a fixed COUNT is O(1). Note that when the BLOCK option is "
        "used, XADD will pay O(M) time in order to serve the M clients blocked on the stream "
        "getting new data."
    ),
    acl_categories=("read", "stream", "slow", "blocking"),
    key_specs=(
        KeySpec(
            flags=("RO", "access"), keyword="STREAMS", startfrom=1, lastkey=-1, step=1, limit=2
        ),
    ),
    getkeys=xread_keys,
)
def xread(client: Client, argv: list[bytes]) -> Reply:
    """XREAD [COUNT count] [BLOCK milliseconds] STREAMS key [key ...] id [id ...]

    A stream is served when it has a live entry after the ID; a blocked reader served once its
    stream is ready, when its last ID passed the reader's even if those entries are deleted
    again (an XADD and XDEL in one MULTI: an empty array for that stream), as in Redis."""
    served = client.served
    args = parse_read(client, argv, False)
    after: list[int] = []
    db = client.db
    for key, raw in zip(args.keys, args.ids, strict=True):
        stream = read_stream(client, key)
        if raw == b"$":
            after.append(stream.last_id if stream is not None else 0)
        elif raw == b">":
            raise CommandError(errors.STREAM_GT_ONLY_XREADGROUP)
        else:
            after.append(parse_strict_id(raw, 0))
    found: list[tuple[Any, Any]] = []
    for key, gt in zip(args.keys, after, strict=True):
        value = db.lookup_read(key)
        if type(value) is not Stream:
            continue
        if (value.last_id > gt) if served else (value.length and value.last_live_id() > gt):
            found.append((key, Raw(value.range_resp(gt + 1, MAX_ID, args.count))))
    if found:
        return KeyedArrays(found)
    if args.timeout_ms < 0:
        return NULL_ARRAY
    count = b"%d" % args.count if args.count else _BLOCKED_DEFAULT_COUNT
    waits = dict(zip(args.keys, after, strict=True))

    def serve_with(key: bytes) -> list[bytes]:
        return [b"XREAD", b"COUNT", count, b"BLOCK", b"0", b"STREAMS", key, format_id(waits[key])]

    ends = deadline(args.timeout_ms, db.keyspace.clock())
    return Blocked(list(args.keys), Stream, ends, serve_with, independent=True)


# -- changes -----------------------------------------------------------------------------------
@_xcommand(
    "xdel",
    arity=-3,
    flags=("write", "fast"),
    summary=(
        "Removes the specified entries from the stream. Returns the number of items actually "
        "deleted, that may be different from the number of IDs passed in case certain IDs do "
        "not exist."
    ),
    syntax="key id [id ...]",
    complexity="O(1) for each single item to delete in the stream, regardless of the stream size.",
    key_specs=_RW_DELETE,
)
def xdel(client: Client, argv: list[bytes]) -> Reply:
    """XDEL key id [id ...]"""
    key = argv[1]
    stream: Stream | None = client.db.get_typed_for_write(key, Stream)
    if stream is None:
        return 0
    ids = [parse_strict_id(raw, 0) for raw in argv[2:]]
    deleted = 0
    for sid in ids:
        if stream.delete(sid):
            deleted += 1
    if deleted:
        stream_event(client, b"xdel", key)
        client.ctx.dirty += deleted
    return deleted


@_xcommand(
    "xsetid",
    arity=-3,
    flags=("write", "denyoom", "fast"),
    summary="An internal command for replicating stream values",
    syntax="key last-id [ENTRIESADDED entries_added] [MAXDELETEDID max_deleted_entry_id]",
    complexity="O(1)",
    key_specs=_RW_UPDATE,
)
def xsetid(client: Client, argv: list[bytes]) -> Reply:
    """XSETID key last-id [ENTRIESADDED entries-added] [MAXDELETEDID max-deleted-id]"""
    sid = parse_strict_id(argv[2], 0)
    entries_added = -1
    max_deleted = 0
    argc = len(argv)
    i = 3
    while i < argc:
        more = argc - 1 - i
        word = option_word(argv[i])
        if word == b"entriesadded" and more:
            entries_added = parse_int(argv[i + 1])
            if entries_added < 0:
                raise CommandError(errors.STREAM_ENTRIES_ADDED_NEGATIVE)
        elif word == b"maxdeletedid" and more:
            max_deleted = parse_strict_id(argv[i + 1], 0)
            if sid < max_deleted:
                raise CommandError(errors.STREAM_XSETID_BELOW_MAXDELETED)
        else:
            raise CommandError(errors.SYNTAX)
        i += 2
    key = argv[1]
    stream: Stream | None = client.db.get_typed_for_write(key, Stream)
    if stream is None:
        raise CommandError(errors.NO_SUCH_KEY)
    if stream.length:
        if sid < stream.last_live_id():
            raise CommandError(errors.STREAM_XSETID_SMALLER)
        if entries_added != -1 and stream.length > entries_added:
            raise CommandError(errors.STREAM_XSETID_ENTRIES_ADDED)
    stream.last_id = sid
    if entries_added != -1:
        stream.entries_added = entries_added
    if max_deleted:
        stream.max_deleted_id = max_deleted
    client.ctx.dirty += 1
    stream_event(client, b"xsetid", key)
    return OK


# -- XINFO -------------------------------------------------------------------------------------
XINFO = container(
    "xinfo", group="stream", summary="A container for stream introspection commands", since="5.0.0"
)

_XINFO_HELP: Final = [
    "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
    "HELP",
    "    Prints this help.",
]


@subcommand(
    XINFO,
    "help",
    arity=2,
    flags=("loading", "stale"),
    summary="Show helpful text about the different subcommands",
    since="5.0.0",
    syntax="",
    complexity="O(1)",
    acl_categories=("stream", "slow"),
)
def xinfo_help(client: Client, argv: list[bytes]) -> Reply:
    """XINFO HELP"""
    return help_reply(_XINFO_HELP)


def _group_rows(stream: Stream, count: int) -> list[Any]:
    """XINFO STREAM FULL's ``groups``: each group with its PEL and consumers (up to ``count``
    pending entries each; 0: all)."""
    rows: list[Any] = []
    if not stream.groups:
        return rows
    for name, group in sorted_groups(stream.groups):
        pel: list[Any] = []
        for sid, nack in group.pending.items():
            if count and len(pel) >= count:
                break
            pel.append(
                [format_id(sid), nack.consumer.name, nack.delivery_time_ms, nack.delivery_count]
            )
        consumers: list[Any] = []
        for consumer in group.sorted_consumers():
            own: list[Any] = []
            for sid, nack in consumer.pending.items():
                if count and len(own) >= count:
                    break
                own.append([format_id(sid), nack.delivery_time_ms, nack.delivery_count])
            consumers.append(
                Map(
                    [
                        (b"name", consumer.name),
                        (b"seen-time", consumer.seen_time_ms),
                        (b"pel-count", len(consumer.pending)),
                        (b"pending", own),
                    ]
                )
            )
        read = group.entries_read
        rows.append(
            Map(
                [
                    (b"name", name),
                    (b"last-delivered-id", format_id(group.last_id)),
                    (b"entries-read", None if read == INVALID_ENTRIES_READ else read),
                    (b"lag", group_lag(stream, group)),
                    (b"pel-count", len(group.pending)),
                    (b"pending", pel),
                    (b"consumers", consumers),
                ]
            )
        )
    return rows


@subcommand(
    XINFO,
    "stream",
    arity=-3,
    flags=("readonly",),
    keys=(2, 2, 1),
    summary="Get information about a stream",
    since="5.0.0",
    syntax="key [FULL [COUNT count]]",
    complexity="O(1)",
    acl_categories=("read", "stream", "slow"),
    key_specs=_SUB_RO_ACCESS,
)
def xinfo_stream(client: Client, argv: list[bytes]) -> Reply:
    """XINFO STREAM key [FULL [COUNT count]]"""
    stream = read_stream(client, argv[2])
    if stream is None:
        raise CommandError(errors.NO_SUCH_KEY)
    options = argv[3:]
    full = bool(options)
    count = 10
    if options:
        if len(options) not in (1, 3) or option_word(options[0]) != b"full":
            raise CommandError(errors.subcommand_syntax(argv[1], "xinfo"))
        if len(options) == 3:
            if option_word(options[1]) != b"count":
                raise CommandError(errors.subcommand_syntax(argv[1], "xinfo"))
            count = parse_int(options[2])
            if count < 0:
                count = 10
    pairs: list[tuple[Any, Any]] = [
        (b"length", stream.length),
        (b"radix-tree-keys", len(stream.nodes)),
        (b"radix-tree-nodes", stream.radix_tree_nodes()),
        (b"last-generated-id", format_id(stream.last_id)),
        (b"max-deleted-entry-id", format_id(stream.max_deleted_id)),
        (b"entries-added", stream.entries_added),
        (b"recorded-first-entry-id", format_id(stream.first_id())),
    ]
    if not full:
        first = stream.range(0, MAX_ID, 1)
        last = stream.range(0, MAX_ID, 1, True)
        pairs.append((b"groups", len(stream.groups) if stream.groups else 0))
        pairs.append((b"first-entry", entries_reply(first)[0] if first else None))
        pairs.append((b"last-entry", entries_reply(last)[0] if last else None))
    else:
        pairs.append((b"entries", entries_reply(stream.range(0, MAX_ID, count))))
        pairs.append((b"groups", _group_rows(stream, count)))
    return Map(pairs)


__all__ = [
    "LLONG_MAX",
    "XINFO",
    "ReadArgs",
    "TrimArgs",
    "entries_reply",
    "parse_read",
    "read_stream",
    "xread_keys",
]
