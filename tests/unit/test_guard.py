"""The GUARDED mode bit (zyst.commands.guard), in process: set exactly on the clients whose
commands need an authentication or ACL check, so that the default user with no password and
every permission routes nothing."""

from __future__ import annotations

from zyst.client import Client
from zyst.commands import guard, modes
from zyst.commands.table import call
from zyst.config import Config
from zyst.context import ServerContext
from zyst.protocol.resp import ErrorReply


def connected(ctx: ServerContext, client_id: int = 1) -> Client:
    client = Client(ctx, client_id, "127.0.0.1:5000", "127.0.0.1:6379")
    ctx.clients[client.id] = client
    guard.admit(client)
    return client


def test_default_user_without_password_is_not_guarded() -> None:
    ctx = ServerContext(Config())
    guard.follow_users(ctx)
    client = connected(ctx)
    assert client.authenticated
    assert client.mode & modes.GUARDED == 0


def test_requirepass_guards_new_clients_until_they_log_in() -> None:
    ctx = ServerContext(Config(requirepass="pw"))
    guard.follow_users(ctx)
    client = connected(ctx)
    assert not client.authenticated
    assert client.mode & modes.GUARDED
    reply = modes.call_in_mode(client, [b"GET", b"k"])
    assert isinstance(reply, ErrorReply) and reply.message.startswith("NOAUTH")
    assert modes.call_in_mode(client, [b"AUTH", b"pw"]) is not None
    assert client.authenticated
    assert client.mode & modes.GUARDED == 0  # logged in as an unrestricted user: no checks


def test_a_restricted_user_stays_guarded_and_a_widened_one_is_released() -> None:
    ctx = ServerContext(Config())
    guard.follow_users(ctx)
    client = connected(ctx)
    ctx.acl.setuser("default", [b"-get"])
    assert client.mode & modes.GUARDED
    reply = modes.call_in_mode(client, [b"get", b"k"])
    assert isinstance(reply, ErrorReply) and reply.message.startswith("NOPERM")
    ctx.acl.setuser("default", [b"+@all"])
    assert client.mode & modes.GUARDED == 0
    assert call(client, [b"get", b"k"]) is None


def test_removing_the_password_releases_waiting_clients() -> None:
    ctx = ServerContext(Config(requirepass="pw"))
    guard.follow_users(ctx)
    client = connected(ctx)
    ctx.config.set_many([(b"requirepass", b"")])
    assert client.mode & modes.GUARDED == 0
    ctx.config.set_many([(b"requirepass", b"again")])
    assert client.mode & modes.GUARDED  # never logged in, and a password again
