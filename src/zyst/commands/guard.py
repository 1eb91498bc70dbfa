"""Enforcing authentication and ACL permissions: the GUARDED mode, logging in, and what
becomes of clients whose user changes.

Redis checks every command before it runs (``processCommand``): a client that must log in
first (the default user has a password, or is off, and the client has not authenticated) may
only run the ``no_auth`` commands (AUTH, HELLO, QUIT, RESET), everything else gets
``-NOAUTH``; then the client's user must be allowed the command, its keys and its channels
(:meth:`zyst.security.acl.User.check`), else ``-NOPERM``, with an entry in ACL LOG. Unknown
commands and wrong arities are answered first, as usual.

Invariant: a client whose commands need either check has the
:data:`~zyst.commands.modes.GUARDED` bit set, so that the default user with no password and
every permission (``+@all ~* &*``) costs nothing per command. The bit is set when the client
connects (:func:`admit`) and again whenever a login, RESET or ACL change may have made it needed
(:func:`refresh`); a route that finds nothing left to check clears it.

The same check runs for each queued command when EXEC runs it (the rules may have changed since
it was queued) and for each command a script calls, as the user who called the script, with
Redis's texts for each place. Every denial and every failed login is recorded in ACL LOG
(``toplevel``, ``multi`` or ``lua``).

When ACL SETUSER, DELUSER or LOAD change users (:attr:`zyst.security.acl.Acl.listeners`), as
Redis 7.0 does: the clients of a user that no longer exists are disconnected (the one whose
command did it after its reply); subscribers left holding a channel or pattern their user may
no longer use are disconnected.

Protected mode (:func:`refuses_connection`): while ``protected-mode`` is on and the default
user has no password, connections from any IP address but 127.0.0.1 and ::1 are sent Redis's
``-DENIED`` text and closed (a Unix socket is local).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Final

from zyst import errors
from zyst.commands import modes
from zyst.commands.table import ON_REJECT, Command, Reply, call, note_refused, resolve
from zyst.protocol.resp import ErrorReply

if TYPE_CHECKING:
    from zyst.client import Client
    from zyst.context import ServerContext
    from zyst.security.acl import Denial, User

# The contexts ACL LOG records a denial in.
TOPLEVEL: Final = "toplevel"
MULTI: Final = "multi"
LUA: Final = "lua"

_LOOPBACK: Final = frozenset(("127.0.0.1", "::1"))

# What a denial answers at the top level, in EXEC and in a script, by its reason.
_EXEC_MESSAGES: Final = {
    "command": errors.EXEC_ACL_COMMAND,
    "key": errors.EXEC_ACL_KEY,
    "channel": errors.EXEC_ACL_CHANNEL,
}
_SCRIPT_MESSAGES: Final = {
    "command": errors.SCRIPT_ACL_COMMAND,
    "key": errors.SCRIPT_ACL_KEY,
    "channel": errors.SCRIPT_ACL_CHANNEL,
}


# -- who needs checks --------------------------------------------------------------------------
def must_log_in(client: Client) -> bool:
    """Whether ``client`` may run only the ``no_auth`` commands: it has not authenticated and
    the default user has a password or is off (Redis's authRequired)."""
    if client.authenticated:
        return False
    default = client.ctx.acl.default
    return not default.nopass or not default.enabled


def _needs_guard(client: Client) -> bool:
    return not client.user.unrestricted() or must_log_in(client)


def refresh(client: Client) -> None:
    """Set or clear ``client``'s GUARDED bit after something its checks depend on changed."""
    if _needs_guard(client):
        client.mode |= modes.GUARDED
    else:
        client.mode &= ~modes.GUARDED


# -- logging in --------------------------------------------------------------------------------
def _limit_requests(client: Client) -> None:
    """Apply Redis's limits on the requests of a client that must log in (at most 10
    arguments, none longer than 16384 bytes) exactly while it must."""
    parser = getattr(_connection(client), "parser", None)
    if parser is not None:
        parser.limited = must_log_in(client)


def log_in(client: Client, user: User) -> None:
    """``client`` is now authenticated as ``user``."""
    client.user = user
    client.authenticated = True
    refresh(client)
    _limit_requests(client)


def authenticate(client: Client, username: bytes, password: bytes, argv: list[bytes]) -> bool:
    """Log ``client`` in as ``username`` if ``password`` is one of its passwords (or it has
    ``nopass``) and it is on; else record the failure in ACL LOG (``argv``: the AUTH or HELLO
    command running) and leave the client as it was."""
    acl = client.ctx.acl
    name = username.decode("latin-1")
    user = acl.authenticate(name, password)
    if user is None:
        context = MULTI if client.mode & modes.MULTI else TOPLEVEL
        acl.log.add(client, "auth", context, argv[0], name, argv)
        return False
    log_in(client, user)
    return True


def reset_login(client: Client) -> None:
    """Back to a new connection's login (RESET): the default user, authenticated only if it
    has no password and is on."""
    default = client.ctx.acl.default
    client.user = default
    client.authenticated = default.nopass and default.enabled
    refresh(client)
    _limit_requests(client)


# -- the GUARDED route -----------------------------------------------------------------------
def _guarded(client: Client, argv: list[bytes]) -> Reply:
    """Check a command of a GUARDED client, then run it as the other modes say."""
    locked = must_log_in(client)
    if not locked and client.user.unrestricted():
        client.mode &= ~modes.GUARDED  # nothing left to check (a password removed, say)
        return call_in_mode(client, argv)
    found = resolve(argv)
    if type(found) is not Command:
        return _pass_on(client, argv)  # unknown, wrong arity: answered as for anyone
    assert isinstance(found, Command)
    if locked:
        if "no_auth" not in found.flags:
            return _reject(client, argv, found, errors.NOAUTH)
        return _pass_on(client, argv)
    if client.mode & modes.MULTI and "no_multi" in found.flags:
        return _pass_on(client, argv)  # refused by MULTI, which Redis checks first
    denial = client.user.check(found, argv)
    if denial is None:
        return _pass_on(client, argv)
    # Logged with the refused command as the client's current one (CLIENT LIST's cmd=).
    note_refused(client, argv)
    context = MULTI if client.mode & modes.MULTI else TOPLEVEL
    client.ctx.acl.log.add(client, denial.reason, context, denial.subject, None, argv)
    return _reject(client, argv, found, _message(denial, found))


def call_in_mode(client: Client, argv: list[bytes]) -> Reply:
    """Run ``argv`` as the client's other modes (if any) say."""
    return modes.call_in_mode(client, argv) if client.mode else call(client, argv)


def _pass_on(client: Client, argv: list[bytes]) -> Reply:
    """Run a command that passed the checks through the other modes; the bit is cleared while
    it runs (so that the modes below do not route it back here) and set again after it as the
    client's state then calls for (AUTH, RESET, an ACL change may have changed it)."""
    client.mode &= ~modes.GUARDED
    try:
        return call_in_mode(client, argv)
    finally:
        refresh(client)


def _message(denial: Denial, cmd: Command) -> str:
    if denial.reason == "key":
        return errors.NOPERM_KEY
    if denial.reason == "channel":
        return errors.NOPERM_CHANNEL
    return errors.noperm_command(cmd.name)


def _reject(client: Client, argv: list[bytes], cmd: Command, message: str) -> Reply:
    """Refuse ``argv`` before it runs, as Redis's rejectCommand: a rejected call, and inside
    MULTI the transaction marked to abort (EXEC itself aborts it at once)."""
    client.ctx.stats.rejected_calls += 1
    cmd.rejected_calls += 1
    note_refused(client, argv)
    if client.mode & modes.MULTI:
        client.multi_error = True
    answer = ON_REJECT.get(argv[0].lower())
    if answer is not None:
        return answer(client, message)
    return ErrorReply(message)


modes.route(modes.GUARDED, -20, _guarded)


# -- EXEC and scripts ------------------------------------------------------------------------
def exec_refusal(client: Client, argv: list[bytes]) -> ErrorReply | None:
    """EXEC's check of a queued command just before it runs: the error that replaces its
    reply when its user may no longer run it (logged in the ``multi`` context), else None."""
    user = client.user
    if user.unrestricted():
        return None
    found = resolve(argv)
    if type(found) is not Command:
        return None
    assert isinstance(found, Command)
    denial = user.check(found, argv)
    if denial is None:
        return None
    # Logged as a command of EXEC's (CLIENT LIST's cmd=exec), as Redis does.
    running = client.last_command
    client.last_command = b"exec"
    # (EXEC's own line is the running command: four bytes, whatever its case.)
    client.ctx.acl.log.add(client, denial.reason, MULTI, denial.subject, None, [b"exec"])
    client.last_command = running
    return ErrorReply(_EXEC_MESSAGES.get(denial.reason, errors.EXEC_ACL_COMMAND))


def script_refusal(
    caller: Client, running: list[bytes], cmd: Command, argv: list[bytes]
) -> str | None:
    """The check of a command a script calls, as the user who called the script (``caller``,
    running ``running``: its EVAL or FCALL): the script's error text (without ``ERR``) when it
    may not, logged in the ``lua`` context."""
    user = caller.user
    if user.unrestricted():
        return None
    denial = user.check(cmd, argv)
    if denial is None:
        return None
    caller.ctx.acl.log.add(caller, denial.reason, LUA, denial.subject, None, running)
    return _SCRIPT_MESSAGES.get(denial.reason, errors.SCRIPT_ACL_COMMAND)


# -- users changed or deleted ------------------------------------------------------------------
def follow_users(ctx: ServerContext) -> None:
    """React to ACL changes from now on, and to ``requirepass`` (the default user's password)."""
    ctx.acl.listeners.append(lambda users: users_changed(ctx, users))
    if ctx.config.requirepass:
        ctx.acl.set_requirepass(ctx.config.requirepass)
    ctx.config.on_change("requirepass", lambda name: _requirepass_changed(ctx))


def _requirepass_changed(ctx: ServerContext) -> None:
    ctx.acl.set_requirepass(ctx.config.requirepass)
    users_changed(ctx, [ctx.acl.default])


def users_changed(ctx: ServerContext, users: Iterable[User]) -> None:
    """After ``users`` were changed or deleted: disconnect the clients of deleted users and the
    subscribers that lost a channel, and set every client's checks anew."""
    acl = ctx.acl
    changed = {id(user): user for user in users}
    for client in list(ctx.clients.values()):
        user = client.user
        if id(user) in changed:
            if acl.users.get(user.name) is not user:
                _disconnect(client)  # its user was deleted (or replaced by ACL LOAD)
                continue
            if client.subscriptions is not None and _lost_channels(client, user):
                _disconnect(client)
                continue
        refresh(client)
        _limit_requests(client)


def _lost_channels(client: Client, user: User) -> bool:
    """Whether a subscriber holds a channel or pattern ``user`` may no longer use."""
    mine = client.subscriptions
    assert mine is not None
    if user.check_channels(mine.patterns, True) is not None:
        return True
    channels = [*mine.channels, *mine.shard_channels]
    return user.check_channels(channels, False) is not None


def _disconnect(client: Client) -> None:
    """Close a client whose user is gone: the one running the command that did it after its
    reply, any other at once; meanwhile it is the default user, logged out (as Redis does,
    defensively)."""
    default = client.ctx.acl.default
    client.user = default
    client.authenticated = False
    client.mode |= modes.GUARDED
    conn = _connection(client)
    if conn is not None and getattr(conn, "running", False):
        client.close_after_reply = True
        return
    client.ctx.clients.pop(client.id, None)
    transport = client.transport_info
    if transport is not None:
        transport.abort()


def _connection(client: Client) -> Any:
    get_protocol = getattr(client.transport_info, "get_protocol", None)
    return get_protocol() if get_protocol is not None else None


# -- new connections ---------------------------------------------------------------------------
def admit(client: Client) -> None:
    """Set up a new connection's client: GUARDED if the default user it starts as calls for
    checks (once per connection, so that a rule loaded at any time is followed), and its
    requests limited while it must log in."""
    refresh(client)
    _limit_requests(client)


def refuses_connection(ctx: ServerContext, transport: Any) -> bool:
    """Whether protected mode refuses a new connection (Redis 7.0's clientAcceptHandler): it
    is on, the default user has no password, and the peer's IP address is not 127.0.0.1 or ::1
    (compared as text, as Redis does). ``bind`` plays no part. A connection without an IP peer
    (a Unix socket) is local."""
    if not ctx.config.protected_mode or not ctx.acl.default.nopass:
        return False
    peer = transport.get_extra_info("peername")
    return isinstance(peer, tuple) and bool(peer) and peer[0] not in _LOOPBACK
