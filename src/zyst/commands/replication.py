"""Replication's commands: SYNC, PSYNC and REPLCONF (what a replica sends its primary), ROLE,
WAIT, and REPLICAOF/SLAVEOF (:mod:`zyst.replication.primary` and
:mod:`zyst.replication.replica` hold the state).

A client that sends SYNC or PSYNC becomes a replica: it gets no reply to its later REPLCONF
ACKs, its output is the replication stream (pushed through :attr:`zyst.client.Client.push`),
and closing its link detaches it.
"""

from __future__ import annotations

import logging

from zyst import errors
from zyst.blocking import Acked, Blocked, deadline
from zyst.client import Client
from zyst.commands.introspection import NO_COMPLEXITY
from zyst.commands.table import Reply, command
from zyst.errors import CommandError
from zyst.numbers import strict_int
from zyst.protocol.resp import NO_REPLY, OK, ErrorReply, Status
from zyst.replication.primary import Replica, primary_of
from zyst.replication.replica import follower_of, is_master_client

log = logging.getLogger("zyst")


def _replica_of(client: Client) -> Replica:
    """The replica state of ``client`` (made on its first REPLCONF or SYNC)."""
    replica: Replica | None = client.replica
    if replica is None:
        replica = client.replica = Replica(client)
        replica.ip = client.addr.rsplit(":", 1)[0] if client.addr else ""
        ctx = client.ctx

        def lost() -> None:
            if replica.attached:
                log.info("Connection with replica %s:%d lost.", replica.ip, replica.listening_port)
            primary_of(ctx).remove(replica)

        client.on_lost = lost
    return replica


@command(
    "psync",
    arity=-3,
    flags=("admin", "noscript", "no_async_loading", "no_multi"),
    group="server",
    summary="Internal command used for replication",
    since="2.8.0",
    syntax="replicationid offset",
    complexity=NO_COMPLEXITY,
)
def psync(client: Client, argv: list[bytes]) -> Reply:
    """PSYNC replicationid offset

    Continue the stream from ``offset`` (``+CONTINUE``) when the backlog holds it, else start a
    full resynchronisation (``+FULLRESYNC <replid> <offset>``, the snapshot, the stream)."""
    replica = _replica_to_sync(client)
    if not isinstance(replica, Replica):
        return replica
    primary = primary_of(client.ctx)
    start = strict_int(argv[2])
    if start is not None and primary.try_partial(replica, argv[1], start):
        log.info(
            "Partial resynchronization request from %s accepted. Sending %d bytes of backlog "
            "starting from offset %d.",
            client.addr,
            primary.offset - start + 1,
            start,
        )
        return NO_REPLY
    log.info("Replica %s asks for synchronization", client.addr)
    primary.full_sync(replica)
    return NO_REPLY


def _replica_to_sync(client: Client) -> Replica | Reply:
    """The replica a SYNC or PSYNC of ``client`` starts, or the reply that ends it there:
    ``-NOMASTERLINK`` from a replica whose own link is down (it has no history to give), and
    nothing for a link already attached (a second SYNC is ignored, as by Redis)."""
    follower = follower_of(client.ctx)
    if follower.following and not follower.link_up:
        return ErrorReply(errors.NOMASTERLINK)
    replica = _replica_of(client)
    return NO_REPLY if replica.attached else replica


@command(
    "sync",
    arity=1,
    flags=("admin", "noscript", "no_async_loading", "no_multi"),
    group="server",
    summary="Internal command used for replication",
    complexity=NO_COMPLEXITY,
)
def sync(client: Client, argv: list[bytes]) -> Reply:
    """SYNC

    The pre-PSYNC full resynchronisation: the snapshot, then the stream."""
    replica = _replica_to_sync(client)
    if not isinstance(replica, Replica):
        return replica
    replica.psync = False
    primary_of(client.ctx).full_sync(replica)
    return NO_REPLY


@command(
    "replconf",
    arity=-1,
    flags=("admin", "noscript", "loading", "stale", "allow_busy"),
    group="server",
    summary="An internal command for configuring the replication stream",
    since="3.0.0",
    complexity="O(1)",
)
def replconf(client: Client, argv: list[bytes]) -> Reply:
    """REPLCONF <option> <value> [<option> <value> ...]

    listening-port, ip-address, capa (eof, psync2) before the sync; ``ack <offset>`` (no reply)
    and ``getack`` after it."""
    if len(argv) % 2 == 0:
        raise CommandError(errors.SYNTAX)
    replica = _replica_of(client)
    for index in range(1, len(argv), 2):
        option = argv[index].lower()
        value = argv[index + 1]
        if option == b"listening-port":
            port = strict_int(value)
            if port is None:
                raise CommandError(errors.NOT_INTEGER)
            replica.listening_port = port
        elif option == b"ip-address":
            replica.ip = value.decode("latin-1")
        elif option == b"capa":
            if value.lower() == b"eof":
                replica.capa_eof = True
            elif value.lower() == b"psync2":
                replica.capa_psync2 = True
        elif option == b"ack":
            # The replica's offset, every second: no reply (the stream is one way).
            primary_of(client.ctx).acknowledged(replica, strict_int(value))
            blocking = client.ctx.blocking
            if blocking.acks:
                blocking.serve_acks()
            return NO_REPLY
        elif option == b"getack":
            # Our primary asks for our offset (the stream's GETACK itself not counted yet).
            if is_master_client(client):
                follower_of(client.ctx).send_ack()
            return NO_REPLY
        else:
            raise CommandError(
                "ERR Unrecognized REPLCONF option: " + option.decode("latin-1", "replace")
            )
    return OK


@command(
    "role",
    arity=1,
    flags=("noscript", "loading", "stale", "fast"),
    group="server",
    summary="Return the role of the instance in the context of replication",
    since="2.8.12",
    complexity="O(1)",
    acl_categories=("admin", "dangerous"),
)
def role(client: Client, argv: list[bytes]) -> Reply:
    """ROLE

    ``[master, offset, [[ip, port, offset], ...]]`` for a primary, ``[slave, host, port,
    state, offset]`` for a replica."""
    follower = follower_of(client.ctx)
    if follower.following:
        return follower.role()
    return primary_of(client.ctx).role()


def _replicaof(client: Client, argv: list[bytes]) -> Reply:
    """REPLICAOF host port | REPLICAOF NO ONE"""
    follower = follower_of(client.ctx)
    host, port_arg = argv[1], argv[2]
    if host.lower() == b"no" and port_arg.lower() == b"one":
        if follower.following:
            follower.unfollow()
            log.info("MASTER MODE enabled (user request from '%s')", client.addr)
        return OK
    if client.replica is not None and client.replica.attached:
        raise CommandError(errors.REPLICAOF_BY_REPLICA)
    port = strict_int(port_arg)
    if port is None or not 0 <= port <= 65535:
        raise CommandError("ERR " + errors.BAD_MASTER_PORT)
    name = host.decode("latin-1")
    if follower.following and follower.host.lower() == name.lower() and follower.port == port:
        log.info(
            "REPLICAOF would result into synchronization with the master we are already "
            "connected with. No operation performed."
        )
        return Status(b"OK Already connected to specified master")
    follower.follow(name, port)
    log.info("REPLICAOF %s:%d enabled (user request from '%s')", name, port, client.addr)
    return OK


_REPLICAOF_FLAGS = ("admin", "noscript", "stale", "no_async_loading")


@command(
    "replicaof",
    arity=3,
    flags=_REPLICAOF_FLAGS,
    group="server",
    summary="Make the server a replica of another instance, or promote it as master.",
    since="5.0.0",
    syntax="host port",
    complexity="O(1)",
)
def replicaof(client: Client, argv: list[bytes]) -> Reply:
    """REPLICAOF host port | REPLICAOF NO ONE

    Follow the primary at ``host``:``port`` (its data replaces ours at the first sync), or
    stop following one and become a primary."""
    return _replicaof(client, argv)


@command(
    "slaveof",
    arity=3,
    flags=_REPLICAOF_FLAGS,
    group="server",
    summary="Make the server a replica of another instance, or promote it as master.",
    syntax="host port",
    complexity="O(1)",
)
def slaveof(client: Client, argv: list[bytes]) -> Reply:
    """SLAVEOF host port | SLAVEOF NO ONE

    REPLICAOF's older name."""
    return _replicaof(client, argv)


@command(
    "wait",
    arity=3,
    flags=("noscript",),
    group="generic",
    summary="Wait for the synchronous replication of all the write commands sent in the context "
    "of the current connection",
    since="3.0.0",
    syntax="numreplicas timeout",
    complexity="O(1)",
    acl_categories=("connection",),
    tips=("request_policy:all_shards", "response_policy:agg_min"),
)
def wait(client: Client, argv: list[bytes]) -> Reply:
    """WAIT numreplicas timeout

    The count of replicas that acknowledged the stream up to now, once it reaches
    ``numreplicas`` or ``timeout`` milliseconds pass (0: no limit). Zyst waits for the whole
    stream so far, not only this client's writes (Redis's ``c->woff``): a count at least as
    strict."""
    if follower_of(client.ctx).following:
        raise CommandError(errors.WAIT_ON_REPLICA)
    numreplicas = strict_int(argv[1])
    if numreplicas is None:
        raise CommandError(errors.NOT_INTEGER)
    timeout = strict_int(argv[2])
    if timeout is None:
        raise CommandError(errors.TIMEOUT_NOT_INTEGER)
    if timeout < 0:
        raise CommandError(errors.TIMEOUT_NEGATIVE)
    primary = primary_of(client.ctx)
    target = primary.offset
    acked = primary.acked(target)
    if acked >= numreplicas:
        return acked

    def check() -> int | None:
        count = primary.acked(target)
        return count if count >= numreplicas else None

    def timed_out() -> int:
        return primary.acked(target)

    primary.request_acks()
    ends = deadline(timeout, client.db.keyspace.clock())
    return Blocked([], Acked, ends, _no_key, at_once=acked, check=check, timeout_reply=timed_out)


def _no_key(key: bytes) -> list[bytes]:
    raise AssertionError("WAIT waits for acknowledgements, never for a key")
