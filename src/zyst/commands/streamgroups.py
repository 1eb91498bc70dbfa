"""Stream consumer groups: XGROUP, XREADGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM and
XINFO GROUPS / CONSUMERS (Redis 7.0's ``t_stream.c``); the structures are
:mod:`zyst.types.streamgroups`.

Propagation follows Redis, so that a replica or an AOF rebuilds groups, PELs and positions
exactly: XREADGROUP is never propagated as itself but as one ``XCLAIM key group consumer 0 id
TIME ms RETRYCOUNT n FORCE JUSTID LASTID last-id`` per entry it delivers (with NOACK, one
``XGROUP SETID key group last-id ENTRIESREAD n`` instead, and ``XGROUP CREATECONSUMER`` for a
consumer it creates); XCLAIM and XAUTOCLAIM are propagated as such XCLAIMs too (one per entry
claimed, or dropped from the PEL because it was deleted from the stream). Several propagated
commands leave between ``MULTI`` and ``EXEC``, as Redis 7.0 wraps them.

Keyspace events (class ``t``): ``xgroup-create``, ``xgroup-setid``, ``xgroup-destroy``,
``xgroup-createconsumer`` (also from XREADGROUP, XCLAIM, XAUTOCLAIM when they create the
consumer), ``xgroup-delconsumer``. Only XGROUP CREATE ... MKSTREAM signals the key as
modified (WATCH, tracking), as in Redis: the other commands change group metadata only.

Blocking: XREADGROUP ... BLOCK with only ``>`` IDs and nothing new parks the client (see
:mod:`zyst.blocking`) on its stream keys; it is served when an entry is added, answers NOGROUP
when its group is destroyed meanwhile, and UNBLOCKED when its stream is deleted or replaced.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Final

from zyst import errors
from zyst.blocking import Blocked, deadline
from zyst.commands.args import c_string, option_word, parse_int
from zyst.commands.introspection import help_reply
from zyst.commands.streams import XINFO, parse_read, stream_event
from zyst.commands.table import KeySpec, Reply, command, container, subcommand
from zyst.errors import CommandError
from zyst.protocol.resp import NULL_ARRAY, OK, KeyedArrays, Map, Raw
from zyst.types.stream import (
    MAX_ID,
    Stream,
    format_id,
    parse_id,
    parse_interval_id,
    parse_strict_id,
)
from zyst.types.streamgroups import (
    INVALID_ENTRIES_READ,
    Consumer,
    ConsumerGroup,
    Pending,
    advance,
    group_lag,
    sorted_groups,
)

if TYPE_CHECKING:
    from zyst.client import Client

_U64: Final = (1 << 64) - 1
# What a blocked XREADGROUP without COUNT reads when served (Redis's
# XREAD_BLOCKED_DEFAULT_COUNT): a client that blocks wants new entries, not a flood.
_BLOCKED_DEFAULT_COUNT: Final = 1000
# XAUTOCLAIM looks at up to this many PEL entries per entry it may claim (Redis's
# attempts_factor), and its COUNT may not exceed LONG_MAX / 16 (the deleted IDs' buffer).
_ATTEMPTS_FACTOR: Final = 10
_AUTOCLAIM_MAX_COUNT: Final = ((1 << 63) - 1) // 16


def _physical_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):  # pragma: no cover  (every Linux answers)
        return 1 << 40


# XAUTOCLAIM sets aside 16 bytes per COUNT for the IDs it deletes; Redis answers an error when
# that allocation fails, which on Linux's default overcommit means more than the machine has.
_AUTOCLAIM_MAX_BYTES: Final = _physical_memory()


# -- helpers -----------------------------------------------------------------------------------
def _now(client: Client) -> int:
    return int(client.db.keyspace.clock())


def _changed(client: Client, count: int = 1) -> None:
    """Count ``count`` changes, naming no key as modified (group metadata only: Redis signals
    nothing to WATCH or tracking)."""
    client.ctx.dirty += count
    client.touched = []


# An empty array of entries, as written ahead of time (a blocked reader served nothing).
_NO_ENTRIES: Final = b"*0\r\n"


def _entry(sid: int, fields: list[bytes] | None) -> list[Any]:
    return [format_id(sid), NULL_ARRAY if fields is None else fields]


def _xclaim_argv(
    key: bytes, group_name: bytes, group: ConsumerGroup, sid: bytes, nack: Pending
) -> list[bytes]:
    """The XCLAIM that recreates ``nack`` on a replica (Redis's streamPropagateXCLAIM)."""
    return [
        b"XCLAIM",
        key,
        group_name,
        nack.consumer.name,
        b"0",
        sid,
        b"TIME",
        b"%d" % nack.delivery_time_ms,
        b"RETRYCOUNT",
        b"%d" % nack.delivery_count,
        b"FORCE",
        b"JUSTID",
        b"LASTID",
        format_id(group.last_id),
    ]


def _setid_argv(key: bytes, group_name: bytes, group: ConsumerGroup) -> list[bytes]:
    return [
        b"XGROUP",
        b"SETID",
        key,
        group_name,
        format_id(group.last_id),
        b"ENTRIESREAD",
        b"%d" % group.entries_read,
    ]


def _propagate(client: Client, commands: list[list[bytes]], dirty: int) -> None:
    """Propagate ``commands`` instead of the command run (none: nothing), wrapped in MULTI/EXEC
    when there are several, if anything changed since the handler began (``dirty`` was then
    the count): an unchanged command is not propagated, and must leave nothing behind."""
    if client.ctx.dirty == dirty:
        return
    if len(commands) > 1:
        commands = [[b"MULTI"], *commands, [b"EXEC"]]
    client.propagate_as = commands


def _consumer(
    client: Client, key: bytes, group: ConsumerGroup, name: bytes, now: int
) -> tuple[Consumer, bool]:
    """The consumer ``name`` of ``group`` (seen now), created if missing (counted as a change,
    with its event); and whether it was created."""
    consumer = group.consumers.get(name)
    if consumer is not None:
        consumer.seen_time_ms = now
        return consumer, False
    consumer = group.consumers[name] = Consumer(name, now)
    _changed(client)
    stream_event(client, b"xgroup-createconsumer", key)
    return consumer, True


def _group_or_nogroup(
    client: Client, key: bytes, group_name: bytes
) -> tuple[Stream, ConsumerGroup]:
    """The stream at ``key`` and its group ``group_name``; NOGROUP if either is missing."""
    stream: Stream | None = client.db.get_typed(key, Stream)
    group = None
    if stream is not None and stream.groups:
        group = stream.groups.get(group_name)
    if stream is None or group is None:
        raise CommandError(errors.nogroup_key_or_group(key, group_name))
    return stream, group


def _incr(sid: int) -> int:
    """The next ID (0-0 after the largest, as Redis's streamIncrID leaves it)."""
    return 0 if sid == MAX_ID else sid + 1


# -- XGROUP ------------------------------------------------------------------------------------
XGROUP: Final = container("xgroup", "stream", "A container for consumer groups commands", "5.0.0")

_XGROUP_HELP: Final = [
    "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
    "HELP",
    "    Prints this help.",
]


class _GroupCall:
    """What every XGROUP subcommand but HELP starts with, in Redis's order: the options of
    CREATE and SETID, the key (which must exist, unless CREATE ... MKSTREAM), the group (which
    SETID, CREATECONSUMER and DELCONSUMER need)."""

    __slots__ = ("entries_read", "group", "mkstream", "stream")

    def __init__(self, client: Client, argv: list[bytes], sub: bytes) -> None:
        self.mkstream = False
        self.entries_read = INVALID_ENTRIES_READ
        create = sub == b"create"
        argc = len(argv)
        i = 5
        while i < argc:
            word = option_word(argv[i])
            if create and word == b"mkstream":
                self.mkstream = True
                i += 1
            elif (create or sub == b"setid") and word == b"entriesread" and i + 1 < argc:
                value = parse_int(argv[i + 1])
                if value < 0 and value != INVALID_ENTRIES_READ:
                    raise CommandError(errors.XGROUP_ENTRIES_READ)
                self.entries_read = value
                i += 2
            else:
                raise CommandError(errors.subcommand_syntax(argv[1], argv[0].decode("latin-1")))
        key, name = argv[2], argv[3]
        self.stream: Stream | None = client.db.get_typed_for_write(key, Stream)
        self.group: ConsumerGroup | None = None
        if self.mkstream:
            return
        if self.stream is None:
            raise CommandError(errors.XGROUP_KEY_REQUIRED)
        if self.stream.groups:
            self.group = self.stream.groups.get(name)
        if self.group is None and sub in (b"setid", b"createconsumer", b"delconsumer"):
            raise CommandError(errors.nogroup_for_key(name, key))


def _wrong_words(argv: list[bytes]) -> CommandError:
    return CommandError(errors.subcommand_syntax(argv[1], argv[0].decode("latin-1")))


@subcommand(
    XGROUP,
    "create",
    arity=-5,
    flags=("write", "denyoom"),
    keys=(2, 2, 1),
    summary="Create a consumer group.",
    since="5.0.0",
    syntax="key groupname id|$ [MKSTREAM] [ENTRIESREAD entries_read]",
    complexity="O(1)",
    acl_categories=("write", "stream", "slow"),
    key_specs=(KeySpec(flags=("RW", "insert")),),
)
def xgroup_create(client: Client, argv: list[bytes]) -> Reply:
    """XGROUP CREATE key groupname id|$ [MKSTREAM] [ENTRIESREAD entries_read]

    A new group at ``id`` (``$``: the stream's last ID); BUSYGROUP if the name is taken.
    MKSTREAM makes an empty stream where the key is missing.
    """
    call = _GroupCall(client, argv, b"create")
    if len(argv) > 8:
        raise _wrong_words(argv)
    key, name = argv[2], argv[3]
    stream = call.stream
    if c_string(argv[4]) == b"$":
        start = stream.last_id if stream is not None else 0
    else:
        start = parse_strict_id(argv[4], 0)
    db = client.db
    if stream is None:
        stream = Stream()
        db.add(key, stream)
        client.ctx.dirty += 1
        client.touched = [(db.index, key)]
    if stream.groups is None:
        stream.groups = {}
    if name in stream.groups:
        raise CommandError(errors.BUSYGROUP)
    stream.groups[name] = ConsumerGroup(start, call.entries_read)
    client.ctx.dirty += 1
    if client.touched is None:
        client.touched = []
    stream_event(client, b"xgroup-create", key)
    return OK


@subcommand(
    XGROUP,
    "setid",
    arity=-5,
    flags=("write",),
    keys=(2, 2, 1),
    summary="Set a consumer group to an arbitrary last delivered ID value.",
    since="5.0.0",
    syntax="key groupname id|$ [ENTRIESREAD entries_read]",
    complexity="O(1)",
    acl_categories=("write", "stream", "slow"),
    key_specs=(KeySpec(flags=("RW", "update")),),
)
def xgroup_setid(client: Client, argv: list[bytes]) -> Reply:
    """XGROUP SETID key groupname id|$ [ENTRIESREAD entries_read]

    Moves the group's last delivered ID (``$``: the stream's last ID); its read counter
    becomes ``entries_read``, unknown (-1) when not given.
    """
    call = _GroupCall(client, argv, b"setid")
    if len(argv) not in (5, 7):
        raise _wrong_words(argv)
    stream, group = call.stream, call.group
    assert stream is not None and group is not None
    group.last_id = stream.last_id if c_string(argv[4]) == b"$" else parse_id(argv[4], 0)
    group.entries_read = call.entries_read
    _changed(client)
    stream_event(client, b"xgroup-setid", argv[2])
    return OK


@subcommand(
    XGROUP,
    "destroy",
    arity=4,
    flags=("write",),
    keys=(2, 2, 1),
    summary="Destroy a consumer group.",
    since="5.0.0",
    syntax="key groupname",
    complexity="O(N) where N is the number of entries in the group's pending entries list (PEL).",
    acl_categories=("write", "stream", "slow"),
    key_specs=(KeySpec(flags=("RW", "delete")),),
)
def xgroup_destroy(client: Client, argv: list[bytes]) -> Reply:
    """XGROUP DESTROY key groupname

    1 if the group was there and is gone (its blocked readers answer NOGROUP), else 0.
    """
    call = _GroupCall(client, argv, b"destroy")
    stream = call.stream
    if call.group is None or stream is None or stream.groups is None:
        return 0
    del stream.groups[argv[3]]
    _changed(client)
    stream_event(client, b"xgroup-destroy", argv[2])
    # Readers blocked on this group must learn it is gone.
    client.db.note_ready(argv[2])
    return 1


@subcommand(
    XGROUP,
    "createconsumer",
    arity=5,
    flags=("write", "denyoom"),
    keys=(2, 2, 1),
    summary="Create a consumer in a consumer group.",
    since="6.2.0",
    syntax="key groupname consumername",
    complexity="O(1)",
    acl_categories=("write", "stream", "slow"),
    key_specs=(KeySpec(flags=("RW", "insert")),),
)
def xgroup_createconsumer(client: Client, argv: list[bytes]) -> Reply:
    """XGROUP CREATECONSUMER key groupname consumername

    1 if the consumer was created, 0 if it existed.
    """
    group = _GroupCall(client, argv, b"createconsumer").group
    assert group is not None
    if argv[4] in group.consumers:
        return 0
    _consumer(client, argv[2], group, argv[4], _now(client))
    return 1


@subcommand(
    XGROUP,
    "delconsumer",
    arity=5,
    flags=("write",),
    keys=(2, 2, 1),
    summary="Delete a consumer from a consumer group.",
    since="5.0.0",
    syntax="key groupname consumername",
    complexity="O(1)",
    acl_categories=("write", "stream", "slow"),
    key_specs=(KeySpec(flags=("RW", "delete")),),
)
def xgroup_delconsumer(client: Client, argv: list[bytes]) -> Reply:
    """XGROUP DELCONSUMER key groupname consumername

    Removes the consumer and its pending entries (they are not handed to anyone); replies how
    many it had, 0 if there was no such consumer.
    """
    group = _GroupCall(client, argv, b"delconsumer").group
    assert group is not None
    consumer = group.consumers.get(argv[4])
    if consumer is None:
        return 0
    pending = group.delete_consumer(consumer)
    _changed(client)
    stream_event(client, b"xgroup-delconsumer", argv[2])
    return pending


@subcommand(
    XGROUP,
    "help",
    arity=2,
    flags=("loading", "stale"),
    summary="Show helpful text about the different subcommands",
    since="5.0.0",
    complexity="O(1)",
    acl_categories=("stream", "slow"),
)
def xgroup_help(client: Client, argv: list[bytes]) -> Reply:
    """XGROUP HELP"""
    return help_reply(_XGROUP_HELP)


# -- XREADGROUP --------------------------------------------------------------------------------


def _xreadgroup_keys(argv: list[bytes]) -> list[bytes]:
    """XREADGROUP's keys: the first half of what follows STREAMS (Redis's xreadGetKeys)."""
    for i in range(4, len(argv)):
        if argv[i].lower() == b"streams":
            rest = argv[i + 1 :]
            return rest[: len(rest) // 2]
    return []


def _deliver_new(
    client: Client,
    key: bytes,
    stream: Stream,
    group_name: bytes,
    group: ConsumerGroup,
    consumer: Consumer,
    ids: list[int],
    noack: bool,
    now: int,
    out: list[list[bytes]],
) -> None:
    """The entries ``ids`` (those after the group's position), each made pending for
    ``consumer`` (unless ``noack``) and the position moved past it; the commands that replay
    this go to ``out`` (only while changes are propagated: nobody reads them otherwise)."""
    moved = False
    propagating = client.ctx.propagating
    for sid in ids:
        if sid > group.last_id:
            advance(stream, group, sid)
            moved = True
        if not noack:
            nack = group.deliver(sid, consumer, now)
            if propagating:
                out.append(_xclaim_argv(key, group_name, group, format_id(sid), nack))
    if noack and moved and propagating:
        out.append(_setid_argv(key, group_name, group))


def _deliver_history(
    stream: Stream, consumer: Consumer, start: int, count: int, now: int
) -> list[Any]:
    """``consumer``'s pending entries from ``start`` on (all when ``count`` is 0), each counted
    as delivered again; a deleted entry comes as its ID and a null."""
    reply: list[Any] = []
    pending = consumer.pending
    for sid in pending.irange(minimum=start):
        if count and len(reply) >= count:
            break
        fields = stream.lookup(sid)
        if fields is not None:
            nack = pending[sid]
            nack.delivery_time_ms = now
            nack.delivery_count += 1
        reply.append(_entry(sid, fields))
    return reply


@command(
    "xreadgroup",
    arity=-7,
    flags=("write", "blocking", "movablekeys"),
    group="stream",
    summary="Return new entries from a stream using a consumer group, or access the history of "
    "the pending entries for a given consumer. Can block.",
    since="5.0.0",
    syntax="GROUP group consumer [COUNT count] [BLOCK milliseconds] [NOACK] STREAMS key "
    "[key ...] id [id ...]",
    complexity="For each stream mentioned: O(M) with M being the number of elements returned. If "
    "M is constant (e.g. always asking for the first 10 elements with COUNT), you can consider "
    "it O(1). On the other side when XREADGROUP blocks, XADD will pay the O(N) time in order to "
    "serve the N clients blocked on the stream getting new data.",
    acl_categories=("write", "stream", "slow", "blocking"),
    key_specs=(
        KeySpec(
            flags=("RO", "access"),
            keyword="STREAMS",
            startfrom=4,
            lastkey=-1,
            step=1,
            limit=2,
        ),
    ),
    getkeys=_xreadgroup_keys,
)
def xreadgroup(client: Client, argv: list[bytes]) -> Reply:
    """XREADGROUP GROUP group consumer [COUNT count] [BLOCK milliseconds] [NOACK]
    STREAMS key [key ...] id [id ...]

    For each stream: with ``>``, the entries the group has not delivered yet, now pending for
    ``consumer`` (not with NOACK); with an ID, ``consumer``'s own pending entries after it.
    Streams with nothing to give are left out; none at all gives a null array, or with BLOCK
    the client waits for new entries (``>`` only).
    """
    served = client.served
    args = parse_read(client, argv, True)
    if args.group is None:
        raise CommandError(errors.XREADGROUP_NO_GROUP)
    group_name = args.group
    consumer_name = args.consumer or b""
    count = args.count
    noack = args.noack
    keys = args.keys
    half = len(keys)
    db = client.db
    groups: list[ConsumerGroup] = []
    starts: list[int] = []  # -1 for ">"
    for j in range(half):
        key = keys[j]
        stream: Stream | None = db.get_typed(key, Stream)
        group = None
        if stream is not None and stream.groups:
            group = stream.groups.get(group_name)
        if group is None:
            if served:
                raise CommandError(errors.NOGROUP_BLOCKED)
            raise CommandError(
                errors.nogroup_key_or_group(key, group_name, " in XREADGROUP with GROUP option")
            )
        groups.append(group)
        arg = args.ids[j]
        text = c_string(arg)
        if text == b"$":
            raise CommandError(errors.XREADGROUP_DOLLAR)
        # (The largest ID reads as ">": Redis marks ">" with it.)
        sid = -1 if text == b">" else parse_strict_id(arg, 0)
        starts.append(-1 if sid == MAX_ID else sid)
    now = _now(client)
    dirty = client.ctx.dirty
    results: list[tuple[bytes, Any]] = []
    commands: list[list[bytes]] = []
    for j in range(half):
        key = keys[j]
        stream = db.get_typed(key, Stream)
        if stream is None:
            continue
        group = groups[j]
        start = starts[j]
        ids: list[int] = []
        resp = _NO_ENTRIES
        if start < 0:
            # Redis serves a reader when an entry after the group's position is there; a
            # blocked one already when the stream's last ID passed it (the entry may be gone).
            beyond = stream.last_id > group.last_id
            if beyond:
                ids, resp = stream.range_ids_resp(_incr(group.last_id), MAX_ID, count)
            if not ids and not (served and beyond):
                continue
        consumer, created = _consumer(client, key, group, consumer_name, now)
        if created and noack:
            commands.append([b"XGROUP", b"CREATECONSUMER", key, group_name, consumer_name])
        if start < 0:
            _deliver_new(
                client, key, stream, group_name, group, consumer, ids, noack, now, commands
            )
            results.append((key, Raw(resp)))
        else:
            results.append((key, _deliver_history(stream, consumer, _incr(start), count, now)))
        _changed(client)
    if results:
        _propagate(client, commands, dirty)
        return KeyedArrays(results)
    if args.timeout_ms < 0:
        return NULL_ARRAY
    waited = list(keys)
    retry = [b"XREADGROUP", b"GROUP", group_name, consumer_name, b"COUNT"]
    retry.append(b"%d" % (count or _BLOCKED_DEFAULT_COUNT))
    retry += [b"BLOCK", b"0"]
    if noack:
        retry.append(b"NOACK")

    def serve_with(key: bytes) -> list[bytes]:
        return [*retry, b"STREAMS", key, b">"]

    ends = deadline(args.timeout_ms, db.keyspace.clock())
    return Blocked(
        waited, Stream, ends, serve_with, gone=errors.UNBLOCKED_STREAM_GONE, independent=True
    )


# -- XACK --------------------------------------------------------------------------------------
@command(
    "xack",
    arity=-4,
    flags=("write", "fast"),
    keys=(1, 1, 1),
    group="stream",
    summary="Marks a pending message as correctly processed, effectively removing it from the "
    "pending entries list of the consumer group. Return value of the command is the number of "
    "messages successfully acknowledged, that is, the IDs we were actually able to resolve in "
    "the PEL.",
    since="5.0.0",
    syntax="key group id [id ...]",
    complexity="O(1) for each message ID processed.",
    acl_categories=("write", "stream", "fast"),
    key_specs=(KeySpec(flags=("RW", "update")),),
)
def xack(client: Client, argv: list[bytes]) -> Reply:
    """XACK key group id [id ...]

    Removes the IDs from the group's PEL (and their consumers'); replies how many were pending.
    A missing key or group acknowledges nothing. All the IDs are checked before any is acked.
    """
    stream: Stream | None = client.db.get_typed(argv[1], Stream)
    if stream is None or not stream.groups:
        return 0
    group = stream.groups.get(argv[2])
    if group is None:
        return 0
    ids = [parse_strict_id(arg, 0) for arg in argv[3:]]
    acked = 0
    for sid in ids:
        if group.ack(sid):
            acked += 1
    if acked:
        _changed(client, acked)
    return acked


# -- XPENDING ----------------------------------------------------------------------------------
@command(
    "xpending",
    arity=-3,
    flags=("readonly",),
    keys=(1, 1, 1),
    group="stream",
    summary="Return information and entries from a stream consumer group pending entries list, "
    "that are messages fetched but never acknowledged.",
    since="5.0.0",
    syntax="key group [[IDLE min-idle-time] start end count [consumer]]",
    complexity="O(N) with N being the number of elements returned, so asking for a small fixed "
    "number of entries per call is O(1). O(M), where M is the total number of entries scanned "
    "when used with the IDLE filter. When the command returns just the summary and the list of "
    "consumers is small, it runs in O(1) time; otherwise, an additional O(N) time for iterating "
    "every consumer.",
    acl_categories=("read", "stream", "slow"),
    tips=("nondeterministic_output",),
    key_specs=(KeySpec(flags=("RO", "access")),),
)
def xpending(client: Client, argv: list[bytes]) -> Reply:
    """XPENDING key group [[IDLE min-idle-time] start end count [consumer]]

    Without a range, the summary: how many are pending, the smallest and largest pending IDs,
    and each consumer with pending entries and how many. With one, up to ``count`` pending
    entries from ``start`` to ``end`` (``(`` excludes; of ``consumer`` only, if given), idle
    for at least IDLE ms: ID, consumer, ms since last delivered, deliveries.
    """
    argc = len(argv)
    if argc != 3 and (argc < 6 or argc > 9):
        raise CommandError(errors.SYNTAX)
    min_idle = count = 0
    start = end = 0
    consumer_name: bytes | None = None
    if argc >= 6:
        at = 3
        if option_word(argv[3]) == b"idle":
            min_idle = parse_int(argv[4])
            if argc < 8:
                raise CommandError(errors.SYNTAX)
            at += 2
        count = max(parse_int(argv[at + 2]), 0)
        start, exclusive = parse_interval_id(argv[at], 0)
        if exclusive:
            if start == MAX_ID:
                raise CommandError(errors.STREAM_INVALID_START)
            start += 1
        end, exclusive = parse_interval_id(argv[at + 1], _U64)
        if exclusive:
            if end == 0:
                raise CommandError(errors.STREAM_INVALID_END)
            end -= 1
        if at + 3 < argc:
            consumer_name = argv[at + 3]
    stream: Stream | None = client.db.get_typed(argv[1], Stream)
    group = None
    if stream is not None and stream.groups:
        group = stream.groups.get(argv[2])
    if group is None:
        raise CommandError(errors.nogroup_key_or_group(argv[1], argv[2]))
    if argc == 3:
        pel = group.pending
        if not pel:
            return [0, None, None, NULL_ARRAY]
        owners = [
            [consumer.name, b"%d" % len(consumer.pending)]
            for consumer in group.sorted_consumers()
            if consumer.pending
        ]
        return [len(pel), format_id(pel.first_from(0)), format_id(pel.last()), owners]
    if consumer_name is not None:
        found = group.consumers.get(consumer_name)
        if found is None:
            return []
        pel = found.pending
    else:
        pel = group.pending
    now = _now(client)
    reply: list[Any] = []
    if count and start <= end:
        for sid in pel.irange(minimum=start, maximum=end):
            nack = pel[sid]
            idle = now - nack.delivery_time_ms
            if min_idle and idle < min_idle:
                continue
            reply.append([format_id(sid), nack.consumer.name, max(idle, 0), nack.delivery_count])
            if len(reply) >= count:
                break
    return reply


# -- XCLAIM and XAUTOCLAIM ---------------------------------------------------------------------
@command(
    "xclaim",
    arity=-6,
    flags=("write", "fast"),
    keys=(1, 1, 1),
    group="stream",
    summary="Changes (or acquires) ownership of a message in a consumer group, as if the message "
    "was delivered to the specified consumer.",
    since="5.0.0",
    syntax="key group consumer min-idle-time id [id ...] [IDLE ms] "
    "[TIME unix-time-milliseconds] [RETRYCOUNT count] [FORCE] [JUSTID] [LASTID lastid]",
    complexity="O(log N) with N being the number of messages in the PEL of the consumer group.",
    acl_categories=("write", "stream", "fast"),
    tips=("nondeterministic_output",),
    key_specs=(KeySpec(flags=("RW", "update")),),
)
def xclaim(client: Client, argv: list[bytes]) -> Reply:
    """XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms]
    [TIME unix-time-milliseconds] [RETRYCOUNT count] [FORCE] [JUSTID] [LASTID lastid]

    Gives ``consumer`` the pending entries among the IDs that have been idle at least
    ``min-idle-time`` ms (FORCE: also IDs not pending, if in the stream), as delivered now (or
    at IDLE/TIME), their delivery count incremented (not with JUSTID; RETRYCOUNT sets it).
    Replies the entries claimed (their IDs with JUSTID). Pending entries no longer in the
    stream are dropped from the PEL. LASTID moves the group's position forward.
    """
    key, group_name = argv[1], argv[2]
    stream, group = _group_or_nogroup(client, key, group_name)
    min_idle = max(parse_int(argv[4], errors.XCLAIM_MIN_IDLE), 0)
    # (ID, as given: Redis propagates the argument itself.)
    ids: list[tuple[int, bytes]] = []
    argc = len(argv)
    j = 5
    while j < argc:
        try:
            ids.append((parse_strict_id(argv[j], 0), argv[j]))
        except CommandError:
            break
        j += 1
    now = _now(client)
    delivery = retry_count = -1
    force = justid = False
    last_id = 0
    while j < argc:
        more = argc - 1 - j
        word = option_word(argv[j])
        if word == b"force":
            force = True
        elif word == b"justid":
            justid = True
        elif word == b"idle" and more:
            j += 1
            delivery = now - parse_int(argv[j], errors.XCLAIM_IDLE)
        elif word == b"time" and more:
            j += 1
            delivery = parse_int(argv[j], errors.XCLAIM_TIME)
        elif word == b"retrycount" and more:
            j += 1
            retry_count = parse_int(argv[j], errors.XCLAIM_RETRYCOUNT)
        elif word == b"lastid" and more:
            j += 1
            last_id = parse_strict_id(argv[j], 0)
        else:
            raise CommandError(errors.xclaim_unrecognized(argv[j]))
        j += 1
    moved = False
    if last_id > group.last_id:
        group.last_id = last_id
        moved = True
    if delivery < 0 or delivery > now:
        delivery = now
    consumer: Consumer | None = None
    reply: list[Any] = []
    commands: list[list[bytes]] = []
    changes = 0
    dirty = client.ctx.dirty
    for sid, raw in ids:
        nack = group.pending.get(sid)
        fields = stream.lookup(sid)
        if fields is None:
            if nack is not None:
                commands.append(_xclaim_argv(key, group_name, group, raw, nack))
                moved = False
                changes += 1
                group.drop(sid, nack)
            continue
        fresh = False
        if nack is None:
            if not force:
                continue
            fresh = True
        elif min_idle and now - nack.delivery_time_ms < min_idle:
            continue
        if consumer is None:
            consumer = _consumer(client, key, group, argv[3], now)[0]
        if fresh:
            nack = group.force_pending(sid, consumer, delivery)
        else:
            assert nack is not None
            group.transfer(sid, nack, consumer)
        nack.delivery_time_ms = delivery
        if retry_count >= 0:
            nack.delivery_count = retry_count
        elif not justid:
            nack.delivery_count += 1
        reply.append(format_id(sid) if justid else [format_id(sid), fields])
        commands.append(_xclaim_argv(key, group_name, group, raw, nack))
        moved = False
        changes += 1
    if moved:
        commands.append(_setid_argv(key, group_name, group))
        changes += 1
    if changes:
        _changed(client, changes)
    _propagate(client, commands, dirty)
    return reply


@command(
    "xautoclaim",
    arity=-6,
    flags=("write", "fast"),
    keys=(1, 1, 1),
    group="stream",
    summary="Changes (or acquires) ownership of messages in a consumer group, as if the messages "
    "were delivered to the specified consumer.",
    since="6.2.0",
    syntax="key group consumer min-idle-time start [COUNT count] [JUSTID]",
    complexity="O(1) if COUNT is small.",
    acl_categories=("write", "stream", "fast"),
    tips=("nondeterministic_output",),
    key_specs=(KeySpec(flags=("RW", "delete")),),
)
def xautoclaim(client: Client, argv: list[bytes]) -> Reply:
    """XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID]

    XCLAIM of up to COUNT (100) pending entries from ``start`` on, idle at least
    ``min-idle-time`` ms, looking at no more than ten times COUNT. Replies the ID to continue
    from (0-0 at the end), the entries claimed (IDs with JUSTID), and the IDs dropped from the
    PEL because they were deleted from the stream.
    """
    min_idle = max(parse_int(argv[4], errors.XAUTOCLAIM_MIN_IDLE), 0)
    start, exclusive = parse_interval_id(argv[5], 0)
    if exclusive:
        if start == MAX_ID:
            raise CommandError(errors.STREAM_INVALID_START)
        start += 1
    count = 100
    justid = False
    argc = len(argv)
    j = 6
    while j < argc:
        more = argc - 1 - j
        word = option_word(argv[j])
        if word == b"count" and more:
            count = parse_int(argv[j + 1], errors.XAUTOCLAIM_COUNT)
            if count < 1 or count > _AUTOCLAIM_MAX_COUNT:
                raise CommandError(errors.XAUTOCLAIM_COUNT)
            j += 1
        elif word == b"justid":
            justid = True
        else:
            raise CommandError(errors.SYNTAX)
        j += 1
    key, group_name = argv[1], argv[2]
    stream, group = _group_or_nogroup(client, key, group_name)
    if count * 16 > _AUTOCLAIM_MAX_BYTES:
        raise CommandError(errors.XAUTOCLAIM_NO_MEMORY)
    now = _now(client)
    dirty = client.ctx.dirty
    attempts = count * _ATTEMPTS_FACTOR
    consumer: Consumer | None = None
    claimed: list[Any] = []
    deleted: list[bytes] = []
    commands: list[list[bytes]] = []
    pel = group.pending
    # The PEL loses entries as they are dropped: walk it by ID, not by position.
    sid = pel.first_from(start)
    while attempts and count and sid >= 0:
        attempts -= 1
        nack = pel[sid]
        fields = stream.lookup(sid)
        if fields is None:
            commands.append(_xclaim_argv(key, group_name, group, format_id(sid), nack))
            group.drop(sid, nack)
            deleted.append(format_id(sid))
            count -= 1
        elif not (min_idle and now - nack.delivery_time_ms < min_idle):
            if consumer is None:
                consumer = _consumer(client, key, group, argv[3], now)[0]
            group.transfer(sid, nack, consumer)
            nack.delivery_time_ms = now
            if not justid:
                nack.delivery_count += 1
            claimed.append(format_id(sid) if justid else [format_id(sid), fields])
            count -= 1
            commands.append(_xclaim_argv(key, group_name, group, format_id(sid), nack))
        sid = pel.first_from(sid + 1) if sid != MAX_ID else -1
    # The ID to go on from: the next one not looked at, 0-0 at the end.
    cursor = max(sid, 0)
    if commands:
        _changed(client, len(commands))
    _propagate(client, commands, dirty)
    return [format_id(cursor), claimed, deleted]


# -- XINFO GROUPS and CONSUMERS ----------------------------------------------------------------
@subcommand(
    XINFO,
    "groups",
    arity=3,
    flags=("readonly",),
    keys=(2, 2, 1),
    summary="List the consumer groups of a stream",
    since="5.0.0",
    syntax="key",
    complexity="O(1)",
    acl_categories=("read", "stream", "slow"),
    key_specs=(KeySpec(flags=("RO", "access")),),
)
def xinfo_groups(client: Client, argv: list[bytes]) -> Reply:
    """XINFO GROUPS key

    Each group, by name: name, consumers, pending, last-delivered-id, entries-read (null when
    unknown) and lag (null when unknowable).
    """
    stream: Stream | None = client.db.get_typed(argv[2], Stream)
    if stream is None:
        raise CommandError(errors.NO_SUCH_KEY)
    reply: list[Any] = []
    for name, group in sorted_groups(stream.groups):
        read = group.entries_read
        reply.append(
            Map(
                [
                    (b"name", name),
                    (b"consumers", len(group.consumers)),
                    (b"pending", len(group.pending)),
                    (b"last-delivered-id", format_id(group.last_id)),
                    (b"entries-read", None if read == INVALID_ENTRIES_READ else read),
                    (b"lag", group_lag(stream, group)),
                ]
            )
        )
    return reply


@subcommand(
    XINFO,
    "consumers",
    arity=4,
    flags=("readonly",),
    keys=(2, 2, 1),
    summary="List the consumers in a consumer group",
    since="5.0.0",
    syntax="key groupname",
    complexity="O(1)",
    acl_categories=("read", "stream", "slow"),
    tips=("nondeterministic_output",),
    key_specs=(KeySpec(flags=("RO", "access")),),
)
def xinfo_consumers(client: Client, argv: list[bytes]) -> Reply:
    """XINFO CONSUMERS key groupname

    Each consumer of the group, by name: name, pending, idle (ms since last seen).
    """
    stream: Stream | None = client.db.get_typed(argv[2], Stream)
    if stream is None:
        raise CommandError(errors.NO_SUCH_KEY)
    group = stream.groups.get(argv[3]) if stream.groups else None
    if group is None:
        raise CommandError(errors.nogroup_for_key(argv[3], argv[2]))
    now = _now(client)
    return [
        Map(
            [
                (b"name", consumer.name),
                (b"pending", len(consumer.pending)),
                (b"idle", max(now - consumer.seen_time_ms, 0)),
            ]
        )
        for consumer in group.sorted_consumers()
    ]
