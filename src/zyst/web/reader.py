"""The dashboard's window on the server: read-only commands run through the command table.

The dashboard asks the server what ``redis-cli`` would ask it (INFO, SCAN, TYPE, OBJECT
ENCODING, MEMORY USAGE, LRANGE, HSCAN, SLOWLOG GET, CLIENT LIST ...), through
:func:`zyst.commands.table.call` with a client of its own, rather than reading the keyspace
directly: the replies are then exactly the commands' (the same encodings, memory estimates,
paging and INFO fields), and nothing the commands know is written twice.

Invariants:

- only the commands of :data:`ALLOWED` run, and none of them writes (checked against their
  declarations when each one is resolved): the dashboard cannot change the data;
- each command is checked against the ACL user the browser logged in as
  (:meth:`zyst.security.acl.User.check`), so a restricted user sees only what it may read;
- the dashboard's own commands are left out of the statistics (INFO commandstats, the ops/s
  rate, SLOWLOG), as the AOF replay is: the page must not see itself in the charts it draws.
  Reads still count as key hits and misses and touch the keys' access clocks, as any reader's.

Handlers run on the event loop between batches of commands, so every command sees the data as
a client would, and a page costs a handful of commands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import hiredis

from zyst import errors, timing
from zyst.client import Client
from zyst.commands import table
from zyst.protocol.resp import encode_reply

if TYPE_CHECKING:
    from zyst.context import ServerContext
    from zyst.security.acl import User

# What the dashboard may run, by declared name (a subcommand's is ``parent|sub``).
ALLOWED: Final = frozenset(
    (
        "info",
        "dbsize",
        "scan",
        "type",
        "pttl",
        "object|encoding",
        "memory|usage",
        "strlen",
        "getrange",
        "llen",
        "lrange",
        "hlen",
        "hscan",
        "scard",
        "sscan",
        "zcard",
        "zrange",
        "slowlog|get",
        "client|list",
    )
)


class ReadError(Exception):
    """A command's error reply (``message``: its text); ``denied`` when the ACL refused it."""

    def __init__(self, message: str, denied: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.denied = denied


class Reader:
    """Runs the dashboard's commands for one server, as one internal client (never listed by
    CLIENT LIST: it is not among the server's connections)."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.client = Client(ctx, 0)

    def run(self, user: User, db: int, *args: bytes | str | int) -> Any:
        """The reply of one allowed command run in database ``db`` as ``user``, as RESP2 would
        carry it: bytes, int, None or lists of them. :class:`ReadError` for an error reply, a
        command not allowed, or a database that does not exist."""
        argv = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        if not 0 <= db < len(self.ctx.keyspace.dbs):
            raise ReadError(errors.INVALID_DB)
        found = table.resolve(argv)
        if not isinstance(found, table.Command) or found.name not in ALLOWED or found.write:
            raise ReadError(errors.dashboard_not_allowed(argv[0]))
        denial = user.check(found, argv)
        if denial is not None:
            message = errors.NOPERM_KEY if denial.reason == "key" else None
            raise ReadError(message or errors.noperm_command(found.name), denied=True)
        client = self.client
        client.select(db)
        try:
            reply = table.call(client, argv)
        finally:
            # Not the statistics' business (see the module's docstring).
            timing.forget()
        out: list[bytes] = []
        encode_reply(reply, False, out)
        parser = hiredis.Reader()
        parser.feed(b"".join(out))
        value = parser.gets()
        if isinstance(value, hiredis.ReplyError):
            raise ReadError(str(value))
        return value
