"""FUNCTION libraries (Redis's ``functions.c`` and ``function_lua.c``): loading a library's code,
the functions it registers, and the registry of libraries and functions.

A library is Lua code after a ``#!lua name=<library>`` line. Loading it runs the code once in
the functions interpreter with only the load-time API (``redis.register_function``,
``redis.log``, the log levels and the version) as its globals; each ``register_function`` adds
a function. A load that fails, or registers nothing, or collides with another library's
function, changes nothing (a replaced library stays as it was).

Invariants: :attr:`LibraryLoader.functions` maps every function name of every library (in lower
case) to its library and function, and a function name belongs to one library only, whatever
its case.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, NoReturn

from lupa import lua51

from zyst import errors
from zyst.errors import CommandError
from zyst.protocol.inline import split_args
from zyst.scripting.convert import error_table
from zyst.scripting.flags import FLAG_NAMES
from zyst.scripting.interpreter import FUNCTIONS, Interpreter, lua_text

if TYPE_CHECKING:
    from zyst.scripting.engine import Engine


# How long a library's code may run while it loads, in seconds (Redis's LOAD_TIMEOUT_MS).
LOAD_TIMEOUT: Final = 0.5


@dataclass(slots=True)
class Function:
    """A registered function: its callback (a Lua function), description and flags."""

    name: bytes
    callback: Any
    description: bytes | None
    flags: int


@dataclass(slots=True)
class Library:
    """A loaded library: its name, whole code (the shebang line included) and functions, in
    the order registered."""

    name: bytes
    code: bytes
    functions: dict[bytes, Function] = field(default_factory=dict)


def valid_name(name: bytes) -> bool:
    """Library and function names: letters, digits and underscores, at least one."""
    return bool(name) and all(
        c == 95 or 48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122 for c in name
    )


def library_metadata(code: bytes) -> tuple[bytes, bytes, bytes]:
    """The engine, the library name and the code after the shebang line (which keeps its line
    feed) of a library's code. Raises :class:`CommandError` with Redis's message."""
    if not code.startswith(b"#!"):
        raise CommandError(errors.FUNCTION_MISSING_METADATA)
    end = code.find(b"\n")
    if end < 0:
        raise CommandError(errors.FUNCTION_INVALID_METADATA)
    parts = split_args(code[:end])
    if not parts:
        raise CommandError(errors.FUNCTION_INVALID_METADATA)
    name: bytes | None = None
    for part in parts[1:]:
        if part[:5].lower() == b"name=":
            if name is not None:
                raise CommandError(errors.FUNCTION_NAME_TWICE)
            name = part[5:]
            continue
        raise CommandError(errors.function_bad_metadata(part))
    if name is None:
        raise CommandError(errors.FUNCTION_NO_NAME)
    return parts[0][2:], name, code[end:]


class LibraryLoader:
    """The libraries of one server and the interpreter their code runs in."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.libraries: dict[bytes, Library] = {}
        # Every function by its name in lower case (FCALL finds functions in any case, as
        # Redis's dict of functions compares names without case).
        self.functions: dict[bytes, tuple[Library, Function]] = {}
        self.interpreter = self._interpreter()
        # The library being loaded (register_function adds to it), or None; when its load
        # runs out of time (time.monotonic(); None: never, as when the AOF is replayed).
        self._loading: Library | None = None
        self._deadline: float | None = None

    def _interpreter(self) -> Interpreter:
        return Interpreter(self.engine, FUNCTIONS, self._register, self._load_expired)

    def _load_expired(self) -> bool:
        return self._deadline is not None and time.monotonic() > self._deadline

    def flush(self) -> None:
        """FUNCTION FLUSH: no library left, and a fresh interpreter."""
        self.libraries.clear()
        self.functions.clear()
        self.interpreter = self._interpreter()

    def delete(self, name: bytes) -> None:
        library = self.libraries.pop(name, None)
        if library is None:
            raise CommandError(errors.FUNCTION_LIBRARY_NOT_FOUND)
        for function in library.functions:
            del self.functions[function.lower()]

    def load(self, code: bytes, replace: bool) -> bytes:
        """FUNCTION LOAD: load ``code`` as a library (in place of the one of the same name with
        ``replace``); its name. Raises :class:`CommandError` with Redis's message."""
        engine, name, body = library_metadata(code)
        if not valid_name(name):
            raise CommandError(errors.FUNCTION_BAD_NAME)
        if engine.lower() != b"lua":
            raise CommandError(errors.function_no_engine(engine))
        old = self.libraries.get(name)
        if old is not None and not replace:
            raise CommandError(errors.function_library_exists(name))
        library = Library(name, code)
        interpreter = self.interpreter
        compiled = interpreter.compile(body, b"@user_function")
        if type(compiled) is tuple:
            message = compiled[1] if len(compiled) > 1 else b""
            raise CommandError(errors.function_compile(message))
        self._loading = library
        if not self.engine.ctx.loading:
            self._deadline = time.monotonic() + LOAD_TIMEOUT
        try:
            outcome = interpreter.load(compiled)
        finally:
            self._loading = None
            self._deadline = None
        rawget = interpreter.rawget
        if not rawget(outcome, 1):
            raise CommandError(
                errors.function_register_failed(_error_text(rawget, rawget(outcome, 2)))
            )
        if not library.functions:
            raise CommandError(errors.FUNCTION_NONE_REGISTERED)
        for new_name in library.functions:
            owner = self.functions.get(new_name.lower())
            if owner is not None and owner[0] is not old:
                raise CommandError(errors.function_exists(new_name))
        if old is not None:
            for old_name in old.functions:
                del self.functions[old_name.lower()]
        self.libraries[name] = library
        for function_name, function in library.functions.items():
            self.functions[function_name.lower()] = (library, function)
        return name

    # -- FUNCTION DUMP and RESTORE -------------------------------------------------------------
    def codes(self) -> list[bytes]:
        """The code of every library, in the order they were loaded (FUNCTION DUMP)."""
        return [library.code for library in self.libraries.values()]

    def restore(self, codes: list[bytes], policy: bytes) -> None:
        """FUNCTION RESTORE: add the libraries of ``codes`` with ``policy`` (``flush``: in place
        of every library; ``append``: none may exist already; ``replace``: in place of those of
        the same names). All or nothing: each library is first loaded apart (FUNCTION LOAD's
        errors), then the names are checked against the loaded ones (Redis's
        ``libraryJoin``), and only then is anything changed. Raises :class:`CommandError`."""
        staged = LibraryLoader(self.engine)
        for code in codes:
            staged.load(code, False)
        if policy == b"flush":
            self.flush()
            for code in codes:
                self.load(code, False)
            return
        replace = policy == b"replace"
        for name in staged.libraries:
            if name in self.libraries and not replace:
                raise CommandError(errors.function_restore_library_exists(name))
        replaced = set(staged.libraries) if replace else set()
        for key, (_, function) in staged.functions.items():
            owner = self.functions.get(key)
            if owner is not None and owner[0].name not in replaced:
                raise CommandError(errors.function_exists(function.name))
        for code in codes:
            self.load(code, replace)

    # -- redis.register_function -----------------------------------------------------------
    def _register(self, *args: Any) -> None:
        """redis.register_function(name, callback) or redis.register_function{function_name=,
        callback=, description=, flags=}: add a function to the library being loaded."""
        library = self._loading
        if library is None:
            self._fail(errors.SCRIPT_REGISTER_OUTSIDE)
        if not 1 <= len(args) <= 2:
            self._fail("wrong number of arguments to redis.register_function")
        if len(args) == 1:
            name, callback, description, flags = self._named_arguments(args[0])
        else:
            text = lua_text(args[0])
            if text is None:
                self._fail("first argument to redis.register_function must be a string")
            name = text
            callback = args[1]
            if lua51.lua_type(callback) != "function":
                self._fail("second argument to redis.register_function must be a function")
            description, flags = None, 0
        if not valid_name(name):
            self._fail(errors.FUNCTION_BAD_NAME[4:])
        if name in library.functions:
            self._fail("Function already exists in the library")
        library.functions[name] = Function(name, callback, description, flags)

    def _named_arguments(self, table: Any) -> tuple[bytes, Any, bytes | None, int]:
        if lua51.lua_type(table) != "table":
            self._fail(
                "calling redis.register_function with a single argument is only applicable to "
                "Lua table (representing named arguments)."
            )
        name: bytes | None = None
        description: bytes | None = None
        callback: Any = None
        flags = 0
        for key, value in table.items():
            key_text = lua_text(key)
            if key_text is None:
                self._fail("named argument key given to redis.register_function is not a string")
            key_text = key_text.lower()
            if key_text == b"function_name":
                name = lua_text(value)
                if name is None:
                    self._fail(
                        "function_name argument given to redis.register_function must be a string"
                    )
            elif key_text == b"description":
                description = lua_text(value)
                if description is None:
                    self._fail(
                        "description argument given to redis.register_function must be a string"
                    )
            elif key_text == b"callback":
                if lua51.lua_type(value) != "function":
                    self._fail(
                        "callback argument given to redis.register_function must be a function"
                    )
                callback = value
            elif key_text == b"flags":
                if lua51.lua_type(value) != "table":
                    self._fail(
                        "flags argument to redis.register_function must be a table representing "
                        "function flags"
                    )
                index = 1
                while True:
                    flag = value[index]
                    if flag is None:
                        break
                    flag_text = lua_text(flag)
                    bit = FLAG_NAMES.get(flag_text.lower()) if flag_text is not None else None
                    if bit is None:
                        self._fail("unknown flag given")
                    flags |= bit
                    index += 1
            else:
                self._fail("unknown argument given to redis.register_function")
        if name is None:
            self._fail("redis.register_function must get a function name argument")
        if callback is None:
            self._fail("redis.register_function must get a callback argument")
        return name, callback, description, flags

    def _fail(self, message: str) -> NoReturn:
        raise lua51.LuaError(error_table(self.interpreter.lua, message.encode()))


def _error_text(rawget: Any, value: Any) -> str:
    """luaExtractErrorInformation's message: a string error gets ``ERR``, a table its ``err``."""
    if type(value) is bytes or type(value) is int or type(value) is float:
        return "ERR " + (lua_text(value) or b"").decode("latin-1")
    if value is not None and lua51.lua_type(value) == "table":
        message = lua_text(rawget(value, b"err"))
        if message is not None:
            return message.decode("latin-1")
    return ""
