"""Connection commands: PING, ECHO, SELECT, QUIT, HELLO, AUTH and the CLIENT container.

These change only the calling client's state (database, protocol, name, the user it is logged
in as) or describe the connected clients. Logging in and the checks it enables live in
:mod:`zyst.commands.guard`.
"""

from __future__ import annotations

import socket
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from zyst import REDIS_VERSION, errors
from zyst.blocking import Blocked
from zyst.client import Client, protocol_of
from zyst.commands import guard, modes
from zyst.commands.args import option_word, parse_int
from zyst.commands.introspection import NO_COMPLEXITY, help_reply
from zyst.commands.pubsub import follow_protocol, reset_client
from zyst.commands.table import Reply, call, command, container, lookup, subcommand
from zyst.errors import CommandError
from zyst.lolwut import lolwut_text
from zyst.modules import registry
from zyst.numbers import strict_int
from zyst.protocol.resp import (
    NO_REPLY,
    OK,
    PONG,
    ErrorReply,
    Map,
    Raw,
    SetReply,
    Status,
    Verbatim,
    encode_error,
)
from zyst.replication.replica import MasterLink, follower_of, is_master_client
from zyst.tracking import prefix_collision

if TYPE_CHECKING:
    from zyst.security.acl import User

_CONN_FLAGS = ("noscript", "loading", "stale", "fast", "no_auth", "allow_busy")


def valid_client_attr(value: bytes) -> bool:
    """Names and library attributes are printable ASCII without spaces (``'!'``..``'~'``)."""
    return all(0x21 <= b <= 0x7E for b in value)


@command(
    "ping",
    arity=-1,
    flags=("fast",),
    group="connection",
    summary="Ping the server",
    syntax="[message]",
    complexity="O(1)",
    tips=(
        "request_policy:all_shards",
        "response_policy:all_succeeded",
    ),
)
def ping(client: Client, argv: list[bytes]) -> Reply:
    """PING [message]

    Refused like a write while the AOF cannot be written (Redis does so, so that a health
    check sees the disk error)."""
    refusal = client.ctx.ping_refusal
    if refusal is not None:
        client.ctx.stats.rejected_calls += 1
        raise CommandError(refusal)
    if len(argv) > 2:
        raise CommandError(errors.wrong_arity("ping"))
    return argv[1] if len(argv) == 2 else PONG


@command(
    "echo",
    arity=2,
    flags=("loading", "stale", "fast"),
    group="connection",
    summary="Echo the given string",
    syntax="message",
    complexity="O(1)",
)
def echo(client: Client, argv: list[bytes]) -> Reply:
    """ECHO message"""
    return argv[1]


@command(
    "select",
    arity=2,
    flags=("loading", "stale", "fast"),
    group="connection",
    summary="Change the selected database for the current connection",
    syntax="index",
    complexity="O(1)",
)
def select(client: Client, argv: list[bytes]) -> Reply:
    """SELECT index"""
    index = strict_int(argv[1])
    # Redis reads the index as a C int: anything wider is "not an integer".
    if index is None or not -(2**31) <= index < 2**31:
        raise CommandError(errors.NOT_INTEGER)
    if not 0 <= index < len(client.ctx.keyspace.dbs):
        raise CommandError(errors.INVALID_DB)
    client.select(index)
    return OK


@command(
    "quit",
    arity=-1,
    flags=_CONN_FLAGS,
    group="connection",
    summary="Close the connection",
    complexity="O(1)",
)
def quit_(client: Client, argv: list[bytes]) -> Reply:
    """QUIT"""
    client.close_after_reply = True
    return OK


@command(
    "auth",
    arity=-2,
    flags=_CONN_FLAGS,
    group="connection",
    summary="Authenticate to the server",
    syntax="[username] password",
    complexity="O(N) where N is the number of passwords defined for the user",
)
def auth(client: Client, argv: list[bytes]) -> Reply:
    """AUTH [username] password

    Logs the connection in as ``username`` (``default`` when only a password is given, which
    is an error while the default user has no password). A failure is recorded in ACL LOG
    and leaves the connection as it was."""
    if len(argv) > 3:
        raise CommandError(errors.SYNTAX)
    if len(argv) == 2:
        if client.ctx.acl.default.nopass:
            raise CommandError(errors.AUTH_NO_PASSWORD)
        username, password = b"default", argv[1]
    else:
        username, password = argv[1], argv[2]
    if not guard.authenticate(client, username, password, argv):
        raise CommandError(errors.WRONGPASS)
    return OK


@command(
    "hello",
    arity=-1,
    flags=_CONN_FLAGS,
    group="connection",
    summary="Handshake with Redis",
    since="6.0.0",
    syntax="[protover [AUTH username password] [SETNAME clientname]]",
    complexity="O(1)",
)
def hello(client: Client, argv: list[bytes]) -> Reply:
    """HELLO [protover [AUTH username password] [SETNAME clientname]]

    The options take effect one after the other, as in Redis: a SETNAME before a failed AUTH
    (or before a bad option) has named the connection, an AUTH before a bad option has logged
    it in. Only an authenticated connection gets the handshake (and its protocol switched)."""
    version = 0
    if len(argv) >= 2:
        parsed = strict_int(argv[1])
        if parsed is None:
            raise CommandError(errors.HELLO_PROTOVER)
        if parsed not in (2, 3):
            raise CommandError(errors.NOPROTO)
        version = parsed
    i = 2
    while i < len(argv):
        option = argv[i].lower()
        remaining = len(argv) - 1 - i
        if option == b"auth" and remaining >= 2:
            if not guard.authenticate(client, argv[i + 1], argv[i + 2], argv):
                raise CommandError(errors.WRONGPASS)
            i += 3
        elif option == b"setname" and remaining >= 1:
            name = argv[i + 1]
            if not valid_client_attr(name):
                raise CommandError(errors.CLIENT_NAME_SPACES)
            client.name = name
            i += 2
        else:
            raise CommandError(errors.hello_syntax(argv[i]))
    if not client.authenticated:
        raise CommandError(errors.NOAUTH_HELLO)
    if version:
        client.resp3 = version == 3
        follow_protocol(client)  # a RESP3 subscriber turning to RESP2 enters the subscribed mode
    return Map(
        [
            (b"server", b"redis"),
            (b"version", REDIS_VERSION.encode()),
            (b"proto", 3 if client.resp3 else 2),
            (b"id", client.id),
            (b"mode", b"standalone"),
            (b"role", b"replica" if follower_of(client.ctx).following else b"master"),
            (b"modules", registry.listings()),
        ]
    )


# -- CLIENT -----------------------------------------------------------------------------------
CLIENT = container(
    "client",
    group="connection",
    summary="A container for client connection commands",
    since="2.4.0",
)
_CLIENT_FLAGS = ("noscript", "loading", "stale")


def subscription_counts(client: Client) -> tuple[int, int, int]:
    """A client's subscriptions (zyst.pubsub): channels, patterns, shard channels."""
    mine = client.subscriptions
    if mine is None:
        return (0, 0, 0)
    return (len(mine.channels), len(mine.patterns), len(mine.shard_channels))


def _connection(client: Client) -> Any:
    """The client's connection (the transport's protocol), or ``None`` (also for the link to
    our primary, whose protocol is no client connection)."""
    protocol = protocol_of(client)
    return None if isinstance(protocol, MasterLink) else protocol


def via_unix_socket(client: Client) -> bool:
    """Whether ``client`` is connected through the Unix socket (``unixsocket``)."""
    transport = client.transport_info
    if transport is None:
        return False
    sock = transport.get_extra_info("socket")
    return sock is not None and sock.family == socket.AF_UNIX


def _flags(client: Client, subscribed: bool) -> bytes:
    """Redis's flag letters for what Zyst's clients can be: S a replica, O monitoring, P
    subscribed, x in MULTI, b blocked (or held by CLIENT PAUSE), t tracking, R its redirection
    broken, B tracking in BCAST mode, d a watched key changed, c closing after the reply, A
    closing at once, U on the Unix socket, e no-evict."""
    flags = b"S" if is_attached_replica(client) else b""
    if is_master_client(client):
        flags = b"M"
    monitors = client.ctx.monitors
    if monitors and client in monitors:
        flags += b"O"
    if subscribed:
        flags += b"P"
    if client.mode & modes.MULTI:
        flags += b"x"
    conn = _connection(client)
    if conn is not None and conn.blocked:
        flags += b"b"
    tracking = client.tracking
    if tracking is not None:
        flags += b"t"
        if tracking.broken:
            flags += b"R"
        if tracking.bcast:
            flags += b"B"
    if client.watch_dirty:
        flags += b"d"
    if client.close_after_reply:
        flags += b"c"
    if client.close_asap:
        flags += b"A"
    if via_unix_socket(client):
        flags += b"U"
    if client.no_evict:
        flags += b"e"
    return flags or b"N"


def client_line(
    client: Client, current: Client | None = None, argv: list[bytes] | None = None
) -> bytes:
    """One line of CLIENT LIST / CLIENT INFO, fields in Redis 7.0's order.

    ``current`` is the client running the command ``argv``. The buffer fields are what Zyst
    holds for the client (Python cannot see allocator overhead, so these are payload bytes):

    - ``qbuf``: input received and not yet parsed, a request not complete yet; for the
      client running CLIENT LIST, also that command's own bytes as sent, as Redis's query
      buffer still holds them. ``qbuf-free``: the size of the client's read buffer
      (zyst.connection: 16 KB after a read, more for big elements, given back after two idle
      seconds), less those command bytes, which the read brought into it.
    - ``argv-mem``: the arguments of the running command (CLIENT LIST's client), or the ones
      already read of a request still arriving. ``multi-mem``: the arguments queued in MULTI.
    - ``rbs``/``rbp``: 0, Zyst has no fixed per-client reply buffer (a batch's replies are
      joined into one bytes object and handed to the transport at once); hence ``obl`` 0 too.
    - ``oll``: reply batches waiting (at the AOF gate, plus one for the transport's unsent
      bytes); ``omem``: their bytes, what client-output-buffer-limit measures.
    - ``tot-mem``: those buffers plus the client's own objects (connection, client, parser,
      name) as ``sys.getsizeof`` measures them; the kernel's socket buffers are not counted.
    - ``events``: ``r`` unless reading is paused (the output backlog reached its bound),
      ``w`` while output waits for the socket.
    """
    now = time.monotonic()
    fd = -1
    transport = client.transport_info
    if transport is not None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            fd = sock.fileno()
    conn = _connection(client)
    qbuf = qbuf_free = argv_mem = omem = oll = own = 0
    reading = True
    if conn is not None and hasattr(conn, "pending_output"):
        qbuf = conn.parser.pending_bytes()
        qbuf_free = conn.read_buffer_size
        argv_mem = conn.parser.partial_argv_bytes()
        held = conn.held_bytes
        omem = conn.pending_output()
        oll = conn.held_replies + (1 if omem > held else 0)
        reading = not conn.reading_paused
        attrs = getattr(conn, "__dict__", None)  # (none when mypyc compiled the class)
        own = sys.getsizeof(conn) + sys.getsizeof(conn.parser)
        if attrs is not None:
            own += sys.getsizeof(attrs)
    elif transport is not None and not transport.is_closing():
        omem = transport.get_write_buffer_size()
        oll = 1 if omem else 0
    if client is current and argv is not None:
        argv_mem = sum(len(arg) for arg in argv)
        # Redis's query buffer still holds the command being run: its bytes as sent (RESP).
        sent = len(b"*%d\r\n" % len(argv)) + sum(
            len(b"$%d\r\n" % len(a)) + len(a) + 2 for a in argv
        )
        qbuf += sent
        qbuf_free = max(qbuf_free - sent, 0)
    in_multi = bool(client.mode & modes.MULTI)
    multi_mem = sum(len(a) for argv in client.multi_queue for a in argv) if in_multi else 0
    sub, psub, ssub = subscription_counts(client)
    name = client.name or b""
    own += sys.getsizeof(client) + sys.getsizeof(name)
    tot_mem = own + qbuf + qbuf_free + argv_mem + multi_mem + omem
    events = (b"r" if reading else b"") + (b"w" if omem else b"")
    return b" ".join(
        [
            b"id=%d" % client.id,
            b"addr=" + client.addr.encode(),
            b"laddr=" + client.laddr.encode(),
            b"fd=%d" % fd,
            b"name=" + name,
            b"age=%d" % int(now - client.created),
            b"idle=%d" % int(now - client.last_interaction),
            b"flags=" + _flags(client, bool(sub or psub or ssub)),
            b"db=%d" % client.db.index,
            b"sub=%d" % sub,
            b"psub=%d" % psub,
            b"ssub=%d" % ssub,
            b"multi=%d" % (len(client.multi_queue) if in_multi else -1),
            b"qbuf=%d" % qbuf,
            b"qbuf-free=%d" % qbuf_free,
            b"argv-mem=%d" % argv_mem,
            b"multi-mem=%d" % multi_mem,
            b"rbs=0",
            b"rbp=0",
            b"obl=0",
            b"oll=%d" % oll,
            b"omem=%d" % omem,
            b"tot-mem=%d" % tot_mem,
            b"events=" + events,
            b"cmd=" + client.last_command,
            b"user=" + client.user.name.encode("latin-1"),
            b"redir=%d" % _redirection(client),
            b"resp=%d" % (3 if client.resp3 else 2),
        ]
    )


def _redirection(client: Client) -> int:
    """The client id tracking messages go to: 0 for the client itself, -1 when not tracking."""
    return client.tracking.redirect if client.tracking is not None else -1


def client_kind(client: Client) -> bytes:
    """Redis's client type: ``replica`` for a replica attached (SYNC or PSYNC), ``master``
    for the link to our primary, ``pubsub`` for a client with subscriptions, else
    ``normal``."""
    if is_attached_replica(client):
        return b"replica"
    if is_master_client(client):
        return b"master"
    return b"pubsub" if any(subscription_counts(client)) else b"normal"


def is_attached_replica(client: Client) -> bool:
    """Whether ``client`` is a replica this server streams to (not one only configuring)."""
    replica = client.replica
    return replica is not None and bool(replica.attached)


_CLIENT_TYPES = {b"normal", b"slave", b"replica", b"pubsub", b"master"}


def _client_type(raw: bytes) -> bytes:
    """A TYPE option's value, ``slave`` read as ``replica``; unknown ones are an error."""
    kind = raw.lower()
    if kind not in _CLIENT_TYPES:
        raise CommandError(errors.unknown_client_type(raw))
    return b"replica" if kind == b"slave" else kind


@subcommand(
    CLIENT,
    "list",
    arity=-2,
    flags=("admin", *_CLIENT_FLAGS),
    summary="Get the list of client connections",
    since="2.4.0",
    syntax="[TYPE <NORMAL | MASTER | REPLICA | PUBSUB>] [ID client-id [client-id ...]]",
    complexity="O(N) where N is the number of client connections",
    acl_categories=("connection",),
    tips=("nondeterministic_output",),
)
def client_list(client: Client, argv: list[bytes]) -> Reply:
    """CLIENT LIST [TYPE <NORMAL | MASTER | REPLICA | PUBSUB>] [ID client-id [client-id ...]]"""
    clients = list(client.ctx.clients.values())
    if len(argv) == 4 and argv[2].lower() == b"type":
        kind = _client_type(argv[3])
        clients = [c for c in clients if client_kind(c) == kind]
    elif len(argv) > 3 and argv[2].lower() == b"id":
        wanted: list[int] = []
        for raw in argv[3:]:
            value = strict_int(raw)
            if value is None:
                raise CommandError(errors.INVALID_CLIENT_ID)
            wanted.append(value)
        by_id = client.ctx.clients
        clients = [by_id[i] for i in wanted if i in by_id]
    elif len(argv) != 2:
        raise CommandError(errors.SYNTAX)
    lines = [client_line(c, client, argv) + b"\n" for c in clients]
    return Verbatim(b"".join(lines))


@subcommand(
    CLIENT,
    "info",
    arity=2,
    flags=_CLIENT_FLAGS,
    summary="Returns information about the current client connection.",
    since="6.2.0",
    complexity="O(1)",
    acl_categories=("connection",),
    tips=("nondeterministic_output",),
)
def client_info(client: Client, argv: list[bytes]) -> Reply:
    """CLIENT INFO"""
    return Verbatim(client_line(client, client, argv) + b"\n")


@subcommand(
    CLIENT,
    "id",
    arity=2,
    flags=_CLIENT_FLAGS,
    summary="Returns the client ID for the current connection",
    since="5.0.0",
    complexity="O(1)",
    acl_categories=("connection",),
)
def client_id(client: Client, argv: list[bytes]) -> Reply:
    """CLIENT ID"""
    return client.id


@subcommand(
    CLIENT,
    "setname",
    arity=3,
    flags=_CLIENT_FLAGS,
    summary="Set the current connection name",
    since="2.6.9",
    syntax="connection-name",
    complexity="O(1)",
    acl_categories=("connection",),
)
def client_setname(client: Client, argv: list[bytes]) -> Reply:
    """CLIENT SETNAME connection-name"""
    if not valid_client_attr(argv[2]):
        raise CommandError(errors.CLIENT_NAME_SPACES)
    client.name = argv[2]
    return OK


@subcommand(
    CLIENT,
    "getname",
    arity=2,
    flags=_CLIENT_FLAGS,
    summary="Get the current connection name",
    since="2.6.9",
    complexity="O(1)",
    acl_categories=("connection",),
)
def client_getname(client: Client, argv: list[bytes]) -> Reply:
    """CLIENT GETNAME"""
    return client.name or None


@subcommand(
    CLIENT,
    "setinfo",
    arity=4,
    flags=_CLIENT_FLAGS,
    summary="Set client or connection specific info",
    since="7.2.0",
    syntax="<LIB-NAME libname | LIB-VER libver>",
    complexity="O(1)",
    acl_categories=("connection",),
)
def client_setinfo(client: Client, argv: list[bytes]) -> Reply:
    """CLIENT SETINFO <LIB-NAME libname | LIB-VER libver>  (as Redis 7.2, which added it)"""
    attr = argv[2].lower()
    if attr not in (b"lib-name", b"lib-ver"):
        raise CommandError(errors.unrecognized_option(argv[2]))
    if not valid_client_attr(argv[3]):
        raise CommandError(errors.client_attr_spaces(argv[2]))
    if attr == b"lib-name":
        client.lib_name = argv[3]
    else:
        client.lib_ver = argv[3]
    return OK


@subcommand(
    CLIENT,
    "unblock",
    arity=-3,
    flags=("admin", *_CLIENT_FLAGS),
    summary="Unblock a client blocked in a blocking command from a different connection",
    since="5.0.0",
    syntax="client-id [TIMEOUT | ERROR]",
    complexity="O(log N) where N is the number of client connections",
    acl_categories=("connection",),
)
def client_unblock(client: Client, argv: list[bytes]) -> Reply:
    """CLIENT UNBLOCK client-id [TIMEOUT | ERROR]

    Ends the wait of the client ``client-id`` if it is parked by a blocking command: with
    TIMEOUT (the default) it gets the reply its command gives on timeout, with ERROR the
    ``-UNBLOCKED`` error; either way its pipeline then goes on. 1 if it was parked, else 0.
    Redis checks the reason before the id, and more than one option is a subcommand syntax
    error.
    """
    if len(argv) > 4:
        raise CommandError(errors.subcommand_syntax(argv[1], "client"))
    error = False
    if len(argv) == 4:
        reason = option_word(argv[3])
        if reason == b"error":
            error = True
        elif reason != b"timeout":
            raise CommandError(errors.CLIENT_UNBLOCK_REASON)
    target = parse_int(argv[2])
    if not client.ctx.blocking.unblock(target, error):
        return 0
    if not error:
        # Redis 7.0 counts a command ended by CLIENT UNBLOCK as failed even when it answers
        # as on timeout (the ERROR form is counted as it replies).
        unblocked = client.ctx.clients.get(target)
        cmd = lookup(unblocked.last_command) if unblocked is not None else None
        if cmd is not None:
            cmd.failed_calls += 1
    return 1


def _kill(client: Client, victim: Client) -> None:
    """Close ``victim``'s connection now, dropping what it has not been sent (as Redis frees
    it); the calling client itself is closed after its reply instead."""
    if victim is client:
        client.close_after_reply = True
        return
    client.ctx.clients.pop(victim.id, None)
    transport = victim.transport_info
    if transport is not None:
        transport.abort()


@subcommand(
    CLIENT,
    "kill",
    arity=-3,
    flags=("admin", "noscript", "loading", "stale"),
    summary="Kill the connection of a client",
    since="2.4.0",
    syntax=(
        "<ip:port | <[ID client-id] | [TYPE <NORMAL | MASTER | SLAVE | REPLICA | PUBSUB>] | "
        "[USER username] | [ADDR ip:port] | [LADDR ip:port] | [SKIPME <YES | NO>]> "
        "[[ID client-id] | [TYPE <NORMAL | MASTER | SLAVE | REPLICA | PUBSUB>] | "
        "[USER username] | [ADDR ip:port] | [LADDR ip:port] | [SKIPME <YES | NO>] ...]>"
    ),
    complexity="O(N) where N is the number of client connections",
    acl_categories=("connection",),
)
def client_kill(client: Client, argv: list[bytes]) -> Reply:
    """CLIENT KILL ip:port | CLIENT KILL <filter value> ...

    The old form kills the client connected from ``ip:port`` (itself included): OK, or an
    error when there is none. The filters (ID, TYPE, USER, ADDR, LADDR, SKIPME, all of which
    must match) answer how many clients were killed; SKIPME YES, the default, spares the
    caller. Redis 7.0 has no MAXAGE filter.
    """
    addr = laddr = None
    kind: bytes | None = None
    user: User | None = None
    wanted_id = 0
    skipme = True
    if len(argv) == 3:
        addr = argv[2]
        skipme = False
    else:
        i = 2
        while i < len(argv):
            option = argv[i].lower()
            if i + 1 >= len(argv):
                raise CommandError(errors.SYNTAX)
            value = argv[i + 1]
            if option == b"id":
                number = strict_int(value)
                if number is None or not 1 <= number < 2**63:
                    raise CommandError(errors.CLIENT_ID_POSITIVE)
                wanted_id = number
            elif option == b"type":
                kind = _client_type(value)
            elif option == b"addr":
                addr = value
            elif option == b"laddr":
                laddr = value
            elif option == b"user":
                user = client.ctx.acl.users.get(value.decode("latin-1"))
                if user is None:
                    raise CommandError(errors.no_such_user(value))
            elif option == b"skipme":
                answer = value.lower()
                if answer not in (b"yes", b"no"):
                    raise CommandError(errors.SYNTAX)
                skipme = answer == b"yes"
            else:
                raise CommandError(errors.SYNTAX)
            i += 2
    killed = 0
    for victim in list(client.ctx.clients.values()):
        if addr is not None and victim.addr.encode() != addr:
            continue
        if laddr is not None and victim.laddr.encode() != laddr:
            continue
        if kind is not None and client_kind(victim) != kind:
            continue
        if wanted_id and victim.id != wanted_id:
            continue
        if user is not None and victim.user is not user:
            continue
        if victim is client and skipme:
            continue
        _kill(client, victim)
        killed += 1
    if len(argv) == 3:
        if not killed:
            raise CommandError(errors.NO_SUCH_CLIENT)
        return OK
    return killed


# CLIENT REPLY: the reply of the command running is dropped while OFF or SKIP is set; SKIP_NEXT
# (set by CLIENT REPLY SKIP) becomes SKIP for the next command.
REPLY_OFF = 1
REPLY_SKIP = 2
REPLY_SKIP_NEXT = 4


def _quiet(client: Client, argv: list[bytes]) -> Reply:
    """Run a command of a client whose replies are turned off or skipped (modes.REPLY)."""
    flags = client.reply_flags
    if flags & REPLY_SKIP_NEXT:
        flags = (flags & ~REPLY_SKIP_NEXT) | REPLY_SKIP
    client.reply_flags = flags
    others = client.mode & ~modes.REPLY
    client.mode = others
    try:
        reply = modes.call_in_mode(client, argv) if others else call(client, argv)
    finally:
        flags = client.reply_flags
        silent = flags & (REPLY_OFF | REPLY_SKIP)
        flags &= ~REPLY_SKIP
        client.reply_flags = flags
        if flags:
            client.mode |= modes.REPLY
    if silent and type(reply) is not Blocked:
        if type(reply) is ErrorReply:
            client.ctx.stats.count_error(reply.message)
        return NO_REPLY
    return reply


modes.route(modes.REPLY, 0, _quiet)


@subcommand(
    CLIENT,
    "reply",
    arity=3,
    flags=("noscript", "loading", "stale"),
    summary="Instruct the server whether to reply to commands",
    since="3.2.0",
    syntax="<ON | OFF | SKIP>",
    complexity="O(1)",
    acl_categories=("connection",),
)
def client_reply(client: Client, argv: list[bytes]) -> Reply:
    """CLIENT REPLY <ON | OFF | SKIP>

    OFF: no replies from now on (not even to this command); SKIP: none to the next command
    (nor to this one); ON: replies again, starting with this command's OK."""
    option = argv[2].lower()
    if option == b"on":
        client.reply_flags = 0
        client.mode &= ~modes.REPLY
        return OK
    if option == b"off":
        client.reply_flags |= REPLY_OFF
    elif option == b"skip":
        if not client.reply_flags & REPLY_OFF:
            client.reply_flags |= REPLY_SKIP_NEXT
    else:
        raise CommandError(errors.SYNTAX)
    client.mode |= modes.REPLY
    return NO_REPLY


@subcommand(
    CLIENT,
    "no-evict",
    arity=3,
    flags=("admin", "noscript", "loading", "stale"),
    summary="Set client eviction mode for the current connection",
    since="7.0.0",
    syntax="<ON | OFF>",
    complexity="O(1)",
    acl_categories=("connection",),
)
def client_no_evict(client: Client, argv: list[bytes]) -> Reply:
    """CLIENT NO-EVICT <ON | OFF>  (shown as the ``e`` flag; Zyst evicts no clients)"""
    option = argv[2].lower()
    if option not in (b"on", b"off"):
        raise CommandError(errors.SYNTAX)
    client.no_evict = option == b"on"
    return OK


@subcommand(
    CLIENT,
    "getredir",
    arity=2,
    flags=("noscript", "loading", "stale"),
    summary="Get tracking notifications redirection client ID if any",
    since="6.0.0",
    complexity="O(1)",
    acl_categories=("connection",),
)
def client_getredir(client: Client, argv: list[bytes]) -> Reply:
    """CLIENT GETREDIR: the client tracking messages are redirected to, 0 for none, -1 when
    tracking is off."""
    return _redirection(client)


@subcommand(
    CLIENT,
    "tracking",
    arity=-3,
    flags=("noscript", "loading", "stale"),
    summary="Enable or disable server assisted client side caching support",
    since="6.0.0",
    syntax=(
        "<ON | OFF> [REDIRECT client-id] [PREFIX prefix [PREFIX prefix ...]] [BCAST] [OPTIN] "
        "[OPTOUT] [NOLOOP]"
    ),
    complexity="O(1). Some options may introduce additional complexity.",
    acl_categories=("connection",),
)
def client_tracking(client: Client, argv: list[bytes]) -> Reply:
    """CLIENT TRACKING <ON | OFF> [REDIRECT client-id] [PREFIX prefix [PREFIX prefix ...]]
    [BCAST] [OPTIN] [OPTOUT] [NOLOOP]

    Turns client-side caching on (see :mod:`zyst.tracking`) or off. The options are read (and
    refused) before ON or OFF is; OFF ignores them. Turning it on again replaces the options
    but may not switch BCAST or OPTIN/OPTOUT, and adds BCAST prefixes to those it has.
    """
    redirect = 0
    bcast = optin = optout = noloop = False
    prefixes: list[bytes] = []
    directory = client.ctx.clients
    i = 3
    while i < len(argv):
        option = argv[i].lower()
        more = i + 1 < len(argv)
        if option == b"redirect" and more:
            i += 1
            if redirect != 0:
                raise CommandError(errors.TRACKING_ONE_REDIRECT)
            value = strict_int(argv[i])
            if value is None:
                raise CommandError(errors.NOT_INTEGER)
            if value not in directory:
                raise CommandError(errors.TRACKING_NO_SUCH_REDIRECT)
            redirect = value
        elif option == b"bcast":
            bcast = True
        elif option == b"optin":
            optin = True
        elif option == b"optout":
            optout = True
        elif option == b"noloop":
            noloop = True
        elif option == b"prefix" and more:
            i += 1
            prefixes.append(argv[i])
        else:
            raise CommandError(errors.SYNTAX)
        i += 1
    status = argv[2].lower()
    tracking = client.ctx.signal.tracking
    if status == b"off":
        _stop_tracking(client)
        return OK
    if status != b"on":
        raise CommandError(errors.SYNTAX)
    state = client.tracking
    if prefixes and not bcast:
        raise CommandError(errors.TRACKING_PREFIX_NEEDS_BCAST)
    if state is not None and state.bcast != bcast:
        raise CommandError(errors.TRACKING_BCAST_SWITCH)
    if bcast and (optin or optout):
        raise CommandError(errors.TRACKING_OPTIN_OPTOUT_BCAST)
    if optin and optout:
        raise CommandError(errors.TRACKING_OPTIN_AND_OPTOUT)
    if state is not None and ((optin and state.optout) or (optout and state.optin)):
        raise CommandError(errors.TRACKING_OPT_SWITCH)
    overlap = None
    if bcast:
        collision = prefix_collision(state.prefixes if state is not None else set(), prefixes)
        if collision is not None:
            goes_on, message = collision
            if not goes_on:
                raise CommandError(message)
            overlap = message
    tracking.directory = directory
    tracking.enable(client, redirect, bcast, optin, optout, noloop, prefixes)
    client.mode |= modes.TRACKING
    if overlap is not None:
        # Redis 7.0 answers this overlap with its error and, having gone on to turn tracking
        # on, with OK too: two replies to one command.
        client.ctx.stats.count_error(overlap)
        CLIENT.subcommands[b"tracking"].failed_calls += 1
        return Raw(encode_error(overlap) + b"+OK\r\n")
    return OK


def _stop_tracking(client: Client) -> None:
    """Turn tracking off (CLIENT TRACKING OFF, RESET)."""
    if client.tracking is not None:
        client.ctx.signal.tracking.disable(client)
    client.mode &= ~modes.TRACKING


@subcommand(
    CLIENT,
    "caching",
    arity=3,
    flags=("noscript", "loading", "stale"),
    summary="Instruct the server about tracking or not keys in the next request",
    since="6.0.0",
    syntax="<YES | NO>",
    complexity="O(1)",
    acl_categories=("connection",),
)
def client_caching(client: Client, argv: list[bytes]) -> Reply:
    """CLIENT CACHING <YES | NO>

    For a client tracking in OPTIN mode (YES) or OPTOUT mode (NO): the keys the next command
    reads (or the next transaction, when sent before MULTI) are remembered (YES) or not (NO),
    against the mode's default."""
    state = client.tracking
    if state is None:
        raise CommandError(errors.CACHING_NOT_TRACKING)
    option = argv[2].lower()
    if option == b"yes":
        if not state.optin:
            raise CommandError(errors.CACHING_YES_NOT_OPTIN)
    elif option == b"no":
        if not state.optout:
            raise CommandError(errors.CACHING_NO_NOT_OPTOUT)
    else:
        raise CommandError(errors.SYNTAX)
    state.caching = True
    return OK


@subcommand(
    CLIENT,
    "trackinginfo",
    arity=2,
    flags=("noscript", "loading", "stale"),
    summary=(
        "Return information about server assisted client side caching for the current connection"
    ),
    since="6.2.0",
    complexity="O(1)",
    acl_categories=("connection",),
)
def client_trackinginfo(client: Client, argv: list[bytes]) -> Reply:
    """CLIENT TRACKINGINFO: the tracking flags (a set), the redirection (-1 when off) and the
    BCAST prefixes."""
    state = client.tracking
    if state is None:
        return Map([(b"flags", SetReply([b"off"])), (b"redirect", -1), (b"prefixes", [])])
    return Map(
        [
            (b"flags", SetReply([b"on", *state.flag_names()])),
            (b"redirect", state.redirect),
            (b"prefixes", sorted(state.prefixes)),
        ]
    )


# Redis's CLIENT HELP, its entries for the subcommands Zyst has (SETINFO in Redis 7.2's words).
_CLIENT_HELP = [
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "SETINFO <option> <value>",
    "    Set client meta attr. Options are:",
    "    * LIB-NAME: the client lib name.",
    "    * LIB-VER: the client lib version.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
    "HELP",
    "    Prints this help.",
]


@subcommand(
    CLIENT,
    "help",
    arity=2,
    flags=("loading", "stale"),
    summary="Show helpful text about the different subcommands",
    since="5.0.0",
    complexity="O(1)",
    acl_categories=("connection",),
)
def client_help(client: Client, argv: list[bytes]) -> Reply:
    """CLIENT HELP (Redis's text for the subcommands that exist here)"""
    return help_reply(_CLIENT_HELP)


# -- RESET ------------------------------------------------------------------------------------
# What else RESET must undo, registered by the features that own it (pub/sub unsubscribes the
# client from everything, tracking turns itself off): each is called with the client.
RESET_HOOKS: list[Callable[[Client], None]] = []
RESET_HOOKS.append(reset_client)  # RESET drops every subscription
RESET_HOOKS.append(_stop_tracking)
RESET_HOOKS.append(guard.reset_login)  # logged out: the default user, as a new connection


def _leave_multi(client: Client) -> None:
    """Leave MULTI as DISCARD does: forget the queue, the refusal mark and the watched keys."""
    client.mode &= ~modes.MULTI
    client.multi_queue = []
    client.multi_error = False
    client.watch_dirty = False
    client.ctx.signal.unwatch_all(client)


@command(
    "reset",
    arity=1,
    flags=("noscript", "loading", "stale", "fast", "no_auth", "allow_busy"),
    group="connection",
    summary="Reset the connection",
    since="6.2.0",
    complexity="O(1)",
)
def reset(client: Client, argv: list[bytes]) -> Reply:
    """RESET

    Back to a new connection's state: out of MULTI, nothing watched, database 0, RESP2, no
    name, replies on, and whatever :data:`RESET_HOOKS` undo (subscriptions, tracking). CLIENT
    NO-EVICT stays as it was, as in Redis 7.0."""
    _leave_multi(client)
    client.select(0)
    client.resp3 = False
    client.name = b""
    client.reply_flags = 0
    client.mode &= ~modes.REPLY
    for hook in RESET_HOOKS:
        hook(client)
    return RESET_STATUS


RESET_STATUS = Status(b"RESET")


# -- LOLWUT -----------------------------------------------------------------------------------
@command(
    "lolwut",
    arity=-1,
    flags=("readonly", "fast"),
    group="server",
    summary="Display some computer art and the Redis version",
    since="5.0.0",
    syntax="[VERSION version]",
    complexity=NO_COMPLEXITY,
)
def lolwut(client: Client, argv: list[bytes]) -> Reply:
    """LOLWUT [VERSION version] [argument ...]

    Redis 7.0 draws nothing of its own: it answers its version line, the art of older
    versions being chosen with VERSION (5: Schotter, 6: skyscrapers, see zyst.lolwut)."""
    version = REDIS_VERSION
    args = argv[1:]
    if len(argv) >= 3 and argv[1].lower() == b"version":
        number = strict_int(argv[2])
        if number is None:
            raise CommandError(errors.NOT_INTEGER)
        version = f"{number & 0xFFFFFFFF}.0.0"
        args = argv[3:]
    return Verbatim(lolwut_text(version, args))
