"""The flags a command runs with, as Redis's ``getCommandFlags`` computes them for the checks made
before it runs (CLIENT PAUSE WRITE, a monitoring client's limits).

They are the declaration's flags, except that a script says what it does itself: EVAL of a
script whose ``#!lua`` line declares flags, and FCALL of a function, run as writes unless the
script declares ``no-writes``, and lose Redis's ``may_replicate`` either way (a script without
such a line keeps its command's flags); EXEC runs with the flags of the commands it queued.
Only the three flags those checks read are computed: :data:`READONLY`, :data:`WRITE` and
:data:`MAY_REPLICATE`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from zyst.commands import modes, table
from zyst.commands.table import Command, resolve
from zyst.errors import CommandError
from zyst.scripting.engine import engine_of, script_flags
from zyst.scripting.flags import COMPAT, NO_WRITES
from zyst.scripting.interpreter import sha1hex

if TYPE_CHECKING:
    from zyst.client import Client

READONLY: Final = 1
WRITE: Final = 2
# Redis's may_replicate: commands that may reach replicas without being writes (PUBLISH; the
# list is table.MAY_REPLICATE).
MAY_REPLICATE: Final = 4

_EVALS: Final = frozenset(("eval", "eval_ro"))
_EVALSHAS: Final = frozenset(("evalsha", "evalsha_ro"))
_FCALLS: Final = frozenset(("fcall", "fcall_ro"))


def declared(cmd: Command) -> int:
    """The flags of ``cmd``'s declaration."""
    bits = MAY_REPLICATE if cmd.name in table.MAY_REPLICATE else 0
    if cmd.write:
        bits |= WRITE
    if "readonly" in cmd.flags:
        bits |= READONLY
    return bits


def effective(client: Client, cmd: Command, argv: list[bytes]) -> int:
    """The flags ``argv`` (a command of ``cmd``, sent by ``client``) runs with."""
    name = cmd.name
    if name in _EVALS or name in _EVALSHAS or name in _FCALLS:
        flags = _script_flags(client, name, argv[1])
        if flags is None or flags & COMPAT:
            return declared(cmd)
        bits = declared(cmd) & READONLY
        return bits if flags & NO_WRITES else bits | WRITE
    if name == "exec" and client.mode & modes.MULTI:
        bits = 0
        for queued in client.multi_queue:
            found = resolve(queued)
            if isinstance(found, Command):
                bits |= effective(client, found, queued)
        return bits
    return declared(cmd)


def _script_flags(client: Client, name: str, target: bytes) -> int | None:
    """The flags of the script or function ``target`` names, ``None`` if there is none (yet):
    EVAL's script is looked up in the cache, else its ``#!lua`` line is read."""
    engine = engine_of(client.ctx)
    if name in _FCALLS:
        found = engine.functions.functions.get(target.lower())
        return found[1].flags if found is not None else None
    if name in _EVALSHAS:
        if len(target) != 40:
            return None
        script = engine.scripts.get(target.decode("latin-1").lower())
        return script.flags if script is not None else None
    script = engine.scripts.get(sha1hex(target))
    if script is not None:
        return script.flags
    try:
        return script_flags(target)[0]
    except CommandError:
        return None
