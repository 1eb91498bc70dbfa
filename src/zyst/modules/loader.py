"""Loading and unloading Python modules: a ``.py`` file's declarations in and out of the table.

A load runs the file as a fresh Python module, takes the declarations :func:`zyst.modules.command`
made while it ran, checks every one (a name no command has, known flags and categories), calls
the module's ``on_load(args)`` if it has one, and only then registers the commands: a module
that fails at any step leaves nothing behind. An unload calls ``on_unload()`` (raising keeps the
module) and removes its commands. Either way the ACL catalogue and MONITOR follow the table.

The loaded modules are listed in :mod:`zyst.modules.registry`. The reasons a load or an
unload fails are logged here; MODULE answers with Redis's fixed texts.
"""

from __future__ import annotations

import importlib.util
import itertools
import logging
import sys
import traceback
import types
from importlib.abc import Loader
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from zyst import errors
from zyst.commands import introspection, monitor, table
from zyst.commands.table import Command, Handler, KeySpec
from zyst.errors import CommandError
from zyst.modules import Declaration, take_declared
from zyst.modules.registry import MODULES, LoadedModule, find
from zyst.protocol.resp import ErrorReply, Map, SetReply, Status
from zyst.security import acl
from zyst.timing import TIMING

if TYPE_CHECKING:
    from zyst.client import Client

log = logging.getLogger("zyst")

# The flags a module command may declare: those whose meaning the dispatcher gives any command.
# (Not ``blocking`` nor ``movablekeys``: parking a client and finding keys need more than a
# handler.)
MODULE_FLAGS: Final = frozenset(
    (
        "write",
        "readonly",
        "denyoom",
        "admin",
        "pubsub",
        "noscript",
        "loading",
        "stale",
        "skip_monitor",
        "skip_slowlog",
        "fast",
        "no_auth",
        "no_mandatory_keys",
        "no_multi",
        "allow_busy",
    )
)
# Redis's order of command flags (COMMAND INFO lists them so), ``module`` in its place.
_FLAG_ORDER: Final = (
    "write",
    "readonly",
    "denyoom",
    "module",
    "admin",
    "pubsub",
    "noscript",
    "blocking",
    "loading",
    "stale",
    "skip_monitor",
    "skip_slowlog",
    "asking",
    "fast",
    "no_auth",
    "no_mandatory_keys",
    "no_async_loading",
    "no_multi",
    "movablekeys",
    "allow_busy",
)
_IMPORT_NAMES = itertools.count(1)


class ModuleError(Exception):
    """A load or unload that failed; ``reason`` is what the log says (load) or Redis's text
    after ``Error unloading module:`` (unload)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def load(path: str, args: list[bytes]) -> LoadedModule:
    """Load the module file at ``path`` with ``args`` (its ``on_load`` argument); ModuleError
    (logged) if it cannot be, with nothing of it left registered."""
    try:
        return _load(path, args)
    except ModuleError as exc:
        log.warning("Module %s failed to load: %s", path, exc.reason)
        raise


def _load(path: str, args: list[bytes]) -> LoadedModule:
    if not path.endswith(".py"):
        raise ModuleError("Zyst modules are Python files (.py)")
    if not Path(path).is_file():
        raise ModuleError("no such file")
    import_name = f"zyst_module_{next(_IMPORT_NAMES)}_{Path(path).stem}"
    spec = importlib.util.spec_from_file_location(import_name, path)
    if spec is None or spec.loader is None:
        raise ModuleError("not a Python source file")
    namespace = importlib.util.module_from_spec(spec)
    # In sys.modules while loaded, as an imported module is (dataclasses, pickle and
    # tracebacks look modules up there).
    sys.modules[import_name] = namespace
    try:
        return _run_and_register(path, args, namespace, spec.loader)
    except BaseException:
        del sys.modules[import_name]
        raise


def _run_and_register(
    path: str, args: list[bytes], namespace: types.ModuleType, loader: Loader
) -> LoadedModule:
    take_declared()  # (what an import of a module file outside a load declared is no load's)
    try:
        loader.exec_module(namespace)
    except BaseException as exc:  # the module's own code: anything it raises is its failure
        log.warning("Module %s raised while running:\n%s", path, _traceback(exc))
        raise ModuleError(_described(exc)) from None
    finally:
        declared = take_declared()
    name = getattr(namespace, "NAME", Path(path).stem)
    version = getattr(namespace, "VERSION", 1)
    if not isinstance(name, str) or not name or any(c.isspace() for c in name):
        raise ModuleError(f"NAME must be a non-empty string without spaces, not {name!r}")
    if type(version) is not int:
        raise ModuleError(f"VERSION must be an integer, not {version!r}")
    if find(name) is not None:
        raise ModuleError(f"a module called '{name}' is already loaded")
    _check_names(declared)
    commands = [_command(declaration, handler, name) for declaration, handler in declared]
    on_load = getattr(namespace, "on_load", None)
    if on_load is not None:
        try:
            on_load(list(args))
        except BaseException as exc:  # the module refused its arguments, or failed
            log.warning("Module %s on_load raised:\n%s", path, _traceback(exc))
            raise ModuleError(f"initialization failed: {_described(exc)}") from None
    module = LoadedModule(name, version, path, list(args), namespace, commands)
    for cmd in commands:
        table.register(cmd)
        acl.command_added(cmd)
    monitor.wrap_new_commands()
    MODULES[name] = module
    log.info("Module '%s' loaded from %s", name, path)
    return module


def unload(name: str) -> None:
    """Unload the module called ``name``: its ``on_unload()`` runs first and may refuse by
    raising. ModuleError with Redis's reason text if it cannot be."""
    module = find(name)
    if module is None:
        raise ModuleError("no such module with that name")
    on_unload = getattr(module.namespace, "on_unload", None)
    if on_unload is not None:
        try:
            on_unload()
        except BaseException as exc:  # the module's choice (or its bug): it stays loaded
            log.warning(
                "Module %s OnUnload failed.  Unload canceled.\n%s", module.name, _traceback(exc)
            )
            raise ModuleError("operation not possible.") from None
    for cmd in module.commands:
        table.unregister(cmd)
        acl.command_removed(cmd)
    del MODULES[module.name]
    sys.modules.pop(module.namespace.__name__, None)
    log.info("Module %s unloaded", module.name)


def _check_names(declared: list[tuple[Declaration, Handler]]) -> None:
    """Refuse a module that declares a command twice."""
    names = [declaration.name.lower() for declaration, _ in declared]
    for name in names:
        if names.count(name) > 1:
            raise ModuleError(f"the command '{name}' is declared twice")


def _command(declaration: Declaration, handler: Handler, module: str) -> Command:
    """The table's declaration of one module command, checked."""
    name = declaration.name.lower()
    if not name or any(c.isspace() or c == "|" for c in name):
        raise ModuleError(f"invalid command name {declaration.name!r}")
    if table.lookup(name.encode()) is not None:
        raise ModuleError(f"the command '{name}' already exists")
    if type(declaration.arity) is not int or declaration.arity == 0:
        raise ModuleError(f"'{name}': arity must be a non-zero integer")
    unknown = [flag for flag in declaration.flags if flag not in MODULE_FLAGS]
    if unknown:
        raise ModuleError(f"'{name}': unknown or unsupported flag '{unknown[0]}'")
    categories = [c.lstrip("@").lower() for c in declaration.acl_categories]
    bad = [c for c in categories if c not in introspection.CATEGORY_ORDER]
    if bad:
        raise ModuleError(f"'{name}': unknown ACL category '{bad[0]}'")
    first, last, step = declaration.keys
    if first < 0 or step < 0 or (first > 0 and (step == 0 or 0 <= last < first)):
        raise ModuleError(f"'{name}': invalid key positions {declaration.keys}")
    flags = {*declaration.flags, "module"}
    cmd = Command(
        name=name,
        handler=_guarded(name, handler),
        arity=declaration.arity,
        flags=tuple(flag for flag in _FLAG_ORDER if flag in flags),
        first_key=first,
        last_key=last,
        key_step=step,
        group="module",
        summary=declaration.summary,
        since=declaration.since,
        syntax=declaration.syntax,
        complexity=declaration.complexity,
        acl_categories=tuple(categories),
        tips=declaration.tips,
        # Redis's key spec for a module command's (first, last, step): read and written.
        key_specs=(KeySpec(flags=("RW", "access", "update")),) if first > 0 else (),
        module=module,
    )
    # Timed one by one as the built-in ones are (zyst.timing): while SLOWLOG's threshold is
    # below a millisecond, every command is.
    cmd.timed = cmd.can_be_slow or 0 <= TIMING.slower_than < 1000
    return cmd


def _guarded(name: str, handler: Handler) -> Handler:
    """``handler`` made safe for the dispatcher: its reply turned into reply values the encoder
    knows; a replacement it asked to propagate (``replicate``) dropped when it changed
    nothing; an exception it raises (other than CommandError, its error reply), even
    ``SystemExit``, answered as ``ERR internal error in '<name>': <type>: <message>`` and
    logged with its traceback, the server going on."""

    def run(client: Client, argv: list[bytes]) -> Any:
        ctx = client.ctx
        dirty = ctx.dirty
        try:
            return to_reply(handler(client, argv))
        except CommandError:
            raise
        except BaseException as exc:  # module code: whatever it raises must not stop the server
            log.warning("Module command '%s' raised:\n%s", name, _traceback(exc))
            raise CommandError(errors.module_command_raised(name, _described(exc))) from None
        finally:
            if ctx.dirty == dirty:
                client.propagate_as = None

    return run


def _traceback(exc: BaseException) -> str:
    """The traceback of ``exc`` as Python prints it (the log's formatter shows messages only)."""
    return "".join(traceback.format_exception(exc)).rstrip()


def _described(exc: BaseException) -> str:
    """``Type: message``, or the type alone for an exception without a message."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


_PLAIN: Final = frozenset((bytes, int, float, bool, type(None), Status, ErrorReply))


def to_reply(value: Any) -> Any:
    """A module handler's return value as the reply encoder takes it (see :mod:`zyst.modules`);
    TypeError for a value no reply can stand for."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is str:
        return value.encode()
    if kind is list or kind is tuple:
        return [to_reply(item) for item in value]
    if kind is dict:
        return Map([(to_reply(k), to_reply(v)) for k, v in value.items()])
    if kind is set or kind is frozenset:
        return SetReply([to_reply(item) for item in value])
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"a module command cannot reply with a {kind.__name__}")


def load_at_start(queued: list[list[str]]) -> str | None:
    """Load the modules the config names (``loadmodule path [arg ...]`` lines, in order), as
    Redis does before it loads the data; why the server cannot start, or ``None``."""
    for path, *args in queued:
        try:
            load(path, [arg.encode("utf-8", "surrogateescape") for arg in args])
        except ModuleError:
            return f"Can't load module from {path}: server aborting"
    return None
