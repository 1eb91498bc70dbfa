"""Values crossing between Redis replies and Lua, by Redis's rules (``script_lua.c``).

Into Lua (:func:`reply_to_lua`): a command's reply is first encoded in the script client's
protocol (RESP2 unless the script called ``redis.setresp(3)``), then read back the way Redis reads
its own reply buffer, so RESP2 and RESP3 differ exactly as they do in Redis: integers become
numbers, bulk strings strings, null bulk strings and null arrays ``false``, status replies
``{ok=...}``, errors ``{err=...}``, and in RESP3 null is ``nil``, booleans booleans, doubles
``{double=n}``, maps ``{map={...}}``, sets ``{set={member=true}}``, big numbers
``{big_number=s}``, verbatim strings ``{verbatim_string={format=f, string=s}}``.

Out of Lua (:func:`lua_to_reply`): a string is a bulk string, a number the integer it truncates
to, a boolean ``1``/null in a RESP2 script and a boolean in a RESP3 one, a table an error, a
status, a double, a big number, a verbatim string, a map, a set (by the field it carries, in
that order) or else an array of its elements from index 1 up to the first ``nil``; anything else
is null.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Final

from lupa import lua51

from zyst.protocol.resp import ErrorReply, Map, SetReply, Status, Verbatim

LuaRuntime = lua51.LuaRuntime
_lua_type = lua51.lua_type

# The C cast Redis makes from a Lua number to a long long gives this for NaN, infinities and
# numbers out of range (x86-64's "integer indefinite" value).
_INDEFINITE = -(2**63)


class ReplyReader:
    """Reads one encoded reply into Lua values of ``lua`` (see the module docstring)."""

    __slots__ = ("lua", "new_table", "pos", "raw")

    def __init__(self, lua: Any) -> None:
        self.lua = lua
        self.new_table: Callable[..., Any] = lua.table
        self.raw = b""
        self.pos = 0

    def read(self, raw: bytes) -> tuple[bool, Any]:
        """The Lua value of the reply ``raw``, and whether it was an error."""
        self.raw = raw
        self.pos = 0
        return raw[:1] == b"-", self._value()

    def _line(self) -> bytes:
        end = self.raw.index(b"\r\n", self.pos)
        line = self.raw[self.pos + 1 : end]
        self.pos = end + 2
        return line

    def _value(self) -> Any:
        kind = self.raw[self.pos : self.pos + 1]
        line = self._line()
        if kind == b"$":
            size = int(line)
            if size < 0:
                return False
            data = self.raw[self.pos : self.pos + size]
            self.pos += size + 2
            return data
        if kind == b":":
            return int(line)
        if kind == b"*" or kind == b">":
            count = int(line)
            if count < 0:
                return False
            return self.lua.table_from([self._value() for _ in range(count)])
        if kind == b"+":
            return _field_table(self.lua, b"ok", line)
        if kind == b"-":
            return error_table(self.lua, b"-" + line, from_command=True)
        if kind == b"_":
            return None
        if kind == b"#":
            return line == b"t"
        if kind == b",":
            return _field_table(self.lua, b"double", float(line))
        if kind == b"%":
            inner = self.new_table()
            for _ in range(int(line)):
                key = self._value()
                inner[key] = self._value()
            return _field_table(self.lua, b"map", inner)
        if kind == b"~":
            inner = self.new_table()
            for _ in range(int(line)):
                inner[self._value()] = True
            return _field_table(self.lua, b"set", inner)
        if kind == b"(":
            return _field_table(self.lua, b"big_number", line)
        if kind == b"=":
            size = int(line)
            data = self.raw[self.pos : self.pos + size]
            self.pos += size + 2
            verbatim = _field_table(self.lua, b"format", data[:3])
            verbatim[b"string"] = data[4:]
            return _field_table(self.lua, b"verbatim_string", verbatim)
        if kind == b"|":  # attributes are read past, as Redis does
            for _ in range(int(line) * 2):
                self._value()
            return self._value()
        raise ValueError(f"unexpected reply type {kind!r}")


def error_table(lua: Any, message: bytes, from_command: bool = False) -> Any:
    """Redis's ``luaPushErrorBuff``: ``{err="CODE message"}`` from ``-CODE message`` (a message
    without a leading ``-`` gets the code ``ERR``), CR and LF trimmed from the message's ends.
    An error a command replied carries ``ignore_error_stats_update`` (it was counted once)."""
    code = b"ERR"
    rest = message
    if message[:1] == b"-":
        code, space, rest = message[1:].partition(b" ")
        if not space:
            code, rest = b"ERR", message[1:]
    table = _field_table(lua, b"err", code + b" " + rest.strip(b"\r\n"))
    if from_command:
        table[b"ignore_error_stats_update"] = True
    return table


def _field_table(lua: Any, name: bytes, value: Any) -> Any:
    """The Lua table ``{name = value}``."""
    table = lua.table()
    table[name] = value
    return table


def _integer(number: float) -> int:
    if isinstance(number, int):
        return number if -(2**63) <= number < 2**63 else _INDEFINITE
    if math.isnan(number) or not -(2.0**63) <= number < 2.0**63:
        return _INDEFINITE
    return int(number)


# How deep Redis's conversion of nested tables goes before its Lua stack is full (a table
# holding itself, a chain of arrays): the nested value there is this error instead.
STACK_LIMIT: Final = 7995
STACK_LIMIT_ERROR: Final = "ERR reached lua stack limit"


def lua_to_reply(
    value: Any,
    resp3: bool,
    rawget: Callable[[Any, Any], Any],
    depth: int = 0,
    on_error: Callable[[str, bool, bool], None] | None = None,
) -> Any:
    """The reply for the Lua value a script returned; ``resp3`` is the script's protocol (set
    by ``redis.setresp``), ``rawget`` Lua's own ``rawget`` (fields are read raw, as Redis).

    ``on_error(message, counted, nested)`` hears of each error reply made (for the error
    statistics): ``counted`` when it is a command's error, counted already when it failed;
    ``nested`` when it is inside an array, map or set."""
    if depth >= STACK_LIMIT:
        return ErrorReply(STACK_LIMIT_ERROR)
    depth += 1
    kind = type(value)
    if kind is bytes:
        return value
    if kind is bool:
        if resp3:
            return value
        return 1 if value else None
    if kind is int or kind is float:
        return _integer(value)
    if value is None or _lua_type(value) != "table":
        return None
    field = rawget(value, b"err")
    if type(field) is bytes:
        message = field.decode("latin-1")
        if on_error is not None:
            on_error(message, rawget(value, b"ignore_error_stats_update") is True, depth > 1)
        return ErrorReply(message)
    field = rawget(value, b"ok")
    if type(field) is bytes:
        return Status(field.replace(b"\r", b" ").replace(b"\n", b" "))
    field = rawget(value, b"double")
    if type(field) is int or type(field) is float:
        return float(field)
    field = rawget(value, b"big_number")
    if type(field) is bytes:
        # (Sent as a bulk string: the reply encoder has no RESP3 big number type yet.)
        return field.replace(b"\r", b" ").replace(b"\n", b" ")
    field = rawget(value, b"verbatim_string")
    if field is not None and _lua_type(field) == "table":
        form = rawget(field, b"format")
        text = rawget(field, b"string")
        if type(form) is bytes and type(text) is bytes:
            return Verbatim(text) if form == b"txt" else text
    field = rawget(value, b"map")
    if field is not None and _lua_type(field) == "table":
        return Map(
            [
                (
                    lua_to_reply(key, resp3, rawget, depth, on_error),
                    lua_to_reply(item, resp3, rawget, depth, on_error),
                )
                for key, item in field.items()
            ]
        )
    field = rawget(value, b"set")
    if field is not None and _lua_type(field) == "table":
        return SetReply([lua_to_reply(key, resp3, rawget, depth, on_error) for key in field])
    items = []
    index = 1
    while True:
        item = rawget(value, index)
        if item is None:
            break
        items.append(lua_to_reply(item, resp3, rawget, depth, on_error))
        index += 1
    return items
