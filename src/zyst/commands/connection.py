"""Connection commands: PING, ECHO, SELECT, QUIT, HELLO, AUTH and the CLIENT container.

These change only the calling client's state (database, protocol, name) or describe the
connected clients. There is one user, ``default``, with no password (``nopass``), so AUTH and
HELLO AUTH answer as a Redis 7 server with no ``requirepass`` does.
"""

from __future__ import annotations

import time

from zyst import REDIS_VERSION, errors
from zyst.client import Client
from zyst.commands.args import option_word, parse_int
from zyst.commands.introspection import help_reply
from zyst.commands.pubsub import follow_protocol
from zyst.commands.table import Reply, command, container, subcommand
from zyst.errors import CommandError
from zyst.numbers import strict_int
from zyst.protocol.resp import OK, PONG, Map, Verbatim

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
    refusal = client.ctx.write_refusal
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


def _authenticate(username: bytes, password: bytes) -> None:
    """The ``default`` user has ``nopass``: any password logs it in; no other user exists."""
    if username != b"default":
        raise CommandError(errors.WRONGPASS)


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
    """AUTH [username] password"""
    if len(argv) > 3:
        raise CommandError(errors.SYNTAX)
    if len(argv) == 2:
        raise CommandError(errors.AUTH_NO_PASSWORD)
    _authenticate(argv[1], argv[2])
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
    """HELLO [protover [AUTH username password] [SETNAME clientname]]"""
    version = 0
    if len(argv) >= 2:
        parsed = strict_int(argv[1])
        if parsed is None:
            raise CommandError(errors.HELLO_PROTOVER)
        if parsed not in (2, 3):
            raise CommandError(errors.NOPROTO)
        version = parsed
    credentials: tuple[bytes, bytes] | None = None
    name: bytes | None = None
    i = 2
    while i < len(argv):
        option = argv[i].lower()
        remaining = len(argv) - 1 - i
        if option == b"auth" and remaining >= 2:
            credentials = (argv[i + 1], argv[i + 2])
            i += 3
        elif option == b"setname" and remaining >= 1:
            name = argv[i + 1]
            i += 2
        else:
            raise CommandError(errors.hello_syntax(argv[i]))
    if credentials is not None:
        _authenticate(*credentials)
    if name is not None:
        if not valid_client_attr(name):
            raise CommandError(errors.CLIENT_NAME_SPACES)
        client.name = name
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
            (b"role", b"master"),
            (b"modules", []),
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


def client_line(client: Client, current: Client | None = None, current_cmd: bytes = b"") -> bytes:
    """One line of CLIENT LIST / CLIENT INFO, fields in Redis 7.0's order.

    ``current`` is the client running the command: its ``cmd=`` is the command in progress.
    Memory figures are estimates; clients read them only as numbers.
    """
    now = time.monotonic()
    fd = -1
    # omem: the output the socket has not taken yet (what client-output-buffer-limit counts,
    # less the replies waiting for the AOF, which the client line does not see).
    omem = 0
    transport = client.transport_info
    if transport is not None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            fd = sock.fileno()
        omem = transport.get_write_buffer_size()
    cmd = current_cmd if client is current else client.last_command
    name = client.name or b""
    subscriptions = client.subscriptions
    if subscriptions is None:
        flags, sub, psub, ssub = b"N", 0, 0, 0
    else:
        flags = b"P"
        sub = len(subscriptions.channels)
        psub = len(subscriptions.patterns)
        ssub = len(subscriptions.shard_channels)
    return b" ".join(
        [
            b"id=%d" % client.id,
            b"addr=" + client.addr.encode(),
            b"laddr=" + client.laddr.encode(),
            b"fd=%d" % fd,
            b"name=" + name,
            b"age=%d" % int(now - client.created),
            b"idle=%d" % int(now - client.last_interaction),
            b"flags=" + flags,
            b"db=%d" % client.db.index,
            b"sub=%d" % sub,
            b"psub=%d" % psub,
            b"ssub=%d" % ssub,
            b"multi=-1",
            b"qbuf=0",
            b"qbuf-free=0",
            b"argv-mem=0",
            b"multi-mem=0",
            b"rbs=16384",
            b"rbp=0",
            b"obl=0",
            b"oll=0",
            b"omem=%d" % omem,
            b"tot-mem=%d" % (16384 + 2048 + len(name)),
            b"events=r",
            b"cmd=" + cmd.lower(),
            b"user=default",
            b"redir=-1",
            b"resp=%d" % (3 if client.resp3 else 2),
        ]
    )


_CLIENT_TYPES = {b"normal", b"slave", b"replica", b"pubsub", b"master"}


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
        kind = argv[3].lower()
        if kind not in _CLIENT_TYPES:
            raise CommandError(errors.unknown_client_type(argv[3]))
        # Normal clients and subscribers (Redis's "pubsub" type): no replicas or masters yet.
        if kind == b"normal":
            clients = [c for c in clients if c.subscriptions is None]
        elif kind == b"pubsub":
            clients = [c for c in clients if c.subscriptions is not None]
        else:
            clients = []
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
    lines = [client_line(c, client, b"client|list") + b"\n" for c in clients]
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
    return Verbatim(client_line(client, client, b"client|info") + b"\n")


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
    return 1 if client.ctx.blocking.unblock(target, error) else 0


# Redis's CLIENT HELP, its entries for the subcommands Zyst has (SETINFO in Redis 7.2's words).
_CLIENT_HELP = [
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "SETINFO <option> <value>",
    "    Set client meta attr. Options are:",
    "    * LIB-NAME: the client lib name.",
    "    * LIB-VER: the client lib version.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
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
