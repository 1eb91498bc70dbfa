"""``replica-serve-stale-data no``: while a replica's link to its primary is down, its clients
may run only the commands flagged ``stale`` (INFO, PING, REPLICAOF, CONFIG, ...); the others get
Redis's ``MASTERDOWN`` error, and an EXEC whose queue holds one of them is refused as a whole.

While that holds, every client has the :data:`~zyst.commands.modes.STALE` bit (new ones through
:attr:`zyst.context.ServerContext.client_mode`), so their commands come here first; the rest of
the time nobody pays anything. The master client never has the bit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zyst import errors
from zyst.commands import modes
from zyst.commands.table import Command, Reply, call, resolve

if TYPE_CHECKING:
    from zyst.client import Client
    from zyst.context import ServerContext


def _serves_stale(cmd: Command) -> bool:
    return "stale" in cmd.flags


def _denied(client: Client, cmd: Command) -> bool:
    """Whether ``cmd`` must wait for the link (Redis's ``is_denystale_command``)."""
    if cmd.name == "exec":
        queued = (resolve(argv) for argv in client.multi_queue)
        return any(isinstance(found, Command) and not _serves_stale(found) for found in queued)
    return not _serves_stale(cmd)


def _call_stale(client: Client, argv: list[bytes]) -> Reply:
    found = resolve(argv)
    if isinstance(found, Command) and _denied(client, found):
        return modes.reject(client, found, argv, errors.MASTERDOWN)
    mode = client.mode & ~modes.STALE
    client.mode = mode
    try:
        return call(client, argv) if not mode else modes.call_in_mode(client, argv)
    finally:
        client.mode |= client.ctx.client_mode & modes.STALE


modes.route(modes.STALE, -14, _call_stale)


def serve_stale(ctx: ServerContext, serve: bool, master: Client | None = None) -> None:
    """Let every client (but ``master``) run any command (``serve``), or only the stale ones."""
    if serve:
        ctx.client_mode &= ~modes.STALE
        for client in ctx.clients.values():
            client.mode &= ~modes.STALE
        return
    ctx.client_mode |= modes.STALE
    for client in ctx.clients.values():
        if client is not master:
            client.mode |= modes.STALE
