"""Per-client state: the selected database, protocol version, name and bookkeeping.

A :class:`Client` knows nothing about sockets: the connection owns the transport and gives the
client its addresses. Handlers read and change the state here (``SELECT``, ``HELLO``,
``CLIENT SETNAME``); the dispatcher reads :attr:`Client.propagate_as` after a write.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from zyst.pubsub import Subscriptions

if TYPE_CHECKING:
    from zyst.context import ServerContext
    from zyst.keyspace import Database
    from zyst.security.acl import User
    from zyst.tracking import TrackingState


class Client:
    """One connected client. ``ctx`` is the server it belongs to."""

    __slots__ = (
        "addr",
        "authenticated",
        "close_after_reply",
        "close_asap",
        "created",
        "ctx",
        "db",
        "id",
        "laddr",
        "last_command",
        "last_interaction",
        "lib_name",
        "lib_ver",
        "mode",
        "multi_error",
        "multi_queue",
        "name",
        "no_evict",
        "on_lost",
        "propagate_as",
        "push",
        "replica",
        "reply_flags",
        "resp3",
        "served",
        "subscriptions",
        "touched",
        "tracking",
        "transport_info",
        "user",
        "watch_dirty",
        "watching",
    )

    def __init__(self, ctx: ServerContext, client_id: int, addr: str = "", laddr: str = "") -> None:
        self.ctx = ctx
        self.id = client_id
        self.addr = addr
        self.laddr = laddr
        self.db: Database = ctx.keyspace.dbs[0]
        self.resp3 = False
        self.name = b""
        self.lib_name = b""
        self.lib_ver = b""
        now = time.monotonic()
        self.created = now
        self.last_interaction = now
        self.last_command = b"NULL"
        # Set by a write handler whose command must reach the AOF in another form (relative
        # expiries become absolute ones); ``None`` propagates the command as received.
        self.propagate_as: list[list[bytes]] | None = None
        self.close_after_reply = False
        # Redis's CLIENT_CLOSE_ASAP: close without sending the replies not yet written (set
        # with close_after_reply, which stops the commands that follow).
        self.close_asap = False
        self.transport_info: Any = None
        # The bits of zyst.commands.modes (MULTI, SUBSCRIBED): while any is set, the
        # connection routes this client's commands through modes.call_in_mode.
        self.mode = ctx.client_mode
        # The ACL user its commands run as (AUTH, HELLO AUTH change it), and whether it has
        # logged in: a new client is the default user, logged in when that user has no password
        # and is on (Redis's clientSetDefaultAuth). While either calls for checks,
        # ctx.client_mode and the client's mode carry the GUARDED bit (zyst.commands.guard).
        default = ctx.acl.default
        self.user: User = default
        self.authenticated = default.nopass and default.enabled
        # MULTI (zyst.commands.transactions): the queued commands, and whether one was refused
        # while queueing (EXEC then aborts).
        self.multi_queue: list[list[bytes]] = []
        self.multi_error = False
        # WATCH (zyst.notify): this client's watched keys, and whether one changed since.
        self.watching: list[Any] = []
        self.watch_dirty = False
        # Set by a write handler that knows which keys it changed better than its declaration
        # does, for the key-modified signal: (database index, key) pairs. Read only while the
        # signal has listeners.
        self.touched: list[tuple[int, bytes]] | None = None
        # Sends bytes to this client outside the reply to its own command (pub/sub messages;
        # later MONITOR lines, invalidations): its connection sets it to Connection.push, which
        # keeps the order of replies and pushes and enforces client-output-buffer-limit. A
        # client with no connection drops them.
        self.push: Callable[[bytes], None] = _drop
        # Its channels and patterns (zyst.pubsub); None while it has none, which also makes it
        # a "normal" client for the output limits rather than a "pubsub" one.
        self.subscriptions: Subscriptions | None = None
        # CLIENT REPLY's state (zyst.commands.connection; the modes.REPLY bit is set with it)
        # and CLIENT NO-EVICT's.
        self.reply_flags = 0
        self.no_evict = False
        # CLIENT TRACKING's options while it is on (zyst.tracking; the modes.TRACKING bit is
        # set with it), else None.
        self.tracking: TrackingState | None = None
        # True while the command running is a blocked client's retry, run because a key it
        # waited on is ready (zyst.blocking.BlockingManager.serve): a served XREAD answers
        # once the stream's last ID passed its own, even with those entries deleted again.
        self.served = False
        # A replica's link (zyst.replication.primary.Replica) once it sent REPLCONF, SYNC or
        # PSYNC, and what its connection calls once when it closes (detaching the replica).
        self.replica: Any = None
        self.on_lost: Callable[[], None] | None = None

    @property
    def db_index(self) -> int:
        return self.db.index

    def select(self, index: int) -> None:
        self.db = self.ctx.keyspace.dbs[index]


def protocol_of(client: Client) -> Any:
    """The protocol object of ``client``'s transport (its :class:`zyst.connection.Connection`,
    or the link to our primary for the master client), or ``None`` without a transport."""
    get_protocol = getattr(client.transport_info, "get_protocol", None)
    return get_protocol() if get_protocol is not None else None


def _drop(data: bytes) -> None:
    """Where pushes to a client without a connection go."""
