"""The libraries Redis gives scripts besides Lua's own: ``bit`` (LuaBitOp 1.0), ``cjson``
(lua-cjson 2.1), ``cmsgpack`` (lua-cmsgpack 0.4) and ``struct`` (Roberto Ierusalimschy's, as
x86-64 builds it: little-endian, short 2 bytes, long 8), written in Python after Redis's bundled
C sources and handed to the sandbox as tables of Python functions.

Lua calls a Python function as it calls a C function, so, as in Redis, a script's frame stays
on the stack (``return cjson.encode(x)`` is no tail call that would lose the line number). An
error is raised as ``LuaError(message)`` with the position of the calling line in front, as
``luaL_error`` writes it (:attr:`Libraries.where`).

Values arrive as lupa gives them: Lua strings as ``bytes``, numbers as ``int`` (whole ones) or
``float``, booleans as ``bool``, ``nil`` as ``None``, tables and the rest as lupa objects.
"""

from __future__ import annotations

import math
import re
import struct
import sys
from collections.abc import Callable
from typing import Any, Final, NoReturn

from lupa import lua51

_lua_type = lua51.lua_type


class Libraries:
    """The libraries of one interpreter. ``where`` is filled in once the prelude has run."""

    def __init__(self, lua: Any) -> None:
        self.lua = lua
        self.rawget: Callable[[Any, Any], Any] = lua.eval("rawget")
        self.rawequal: Callable[[Any, Any], bool] = lua.eval("rawequal")
        self.null = lua.eval("newproxy()")
        self.where: Callable[[], bytes] = lambda: b""
        self.encode_max_depth = 1000
        self.decode_max_depth = 1000
        self.encode_invalid_numbers = 0
        self.encode_number_precision = 14

    def fail(self, message: str | bytes) -> NoReturn:
        text = message.encode("latin-1") if isinstance(message, str) else message
        raise lua51.LuaError(self.where() + text)

    def bad_argument(self, index: int, function: str, problem: str) -> NoReturn:
        self.fail(f"bad argument #{index} to '{function}' ({problem})")

    def check_number(self, args: tuple[Any, ...], index: int, function: str) -> float:
        """luaL_checknumber: a number, or a string that reads as one."""
        value = args[index - 1] if index <= len(args) else _NO_VALUE
        number = _to_number(value) if value is not _NO_VALUE else None
        if number is None:
            got = "no value" if value is _NO_VALUE else _type_name(value)
            self.bad_argument(index, function, f"number expected, got {got}")
        return number

    def table(self) -> Any:
        """The Lua table of library tables, by name."""
        libs = self.lua.table()
        libs[b"bit"] = self._bit()
        libs[b"cjson"] = self._cjson()
        libs[b"cmsgpack"] = self._cmsgpack()
        libs[b"struct"] = self._struct()
        return libs

    # -- bit ------------------------------------------------------------------------------
    def _bit(self) -> Any:
        lib = self.lua.table()

        def unary(name: str, op: Callable[[int], int]) -> Callable[..., int]:
            def function(*args: Any) -> int:
                return _signed(op(_bits(self.check_number(args, 1, name))))

            return function

        def fold(name: str, op: Callable[[int, int], int]) -> Callable[..., int]:
            def function(*args: Any) -> int:
                result = _bits(self.check_number(args, 1, name))
                for index in range(len(args), 1, -1):
                    result = op(result, _bits(self.check_number(args, index, name)))
                return _signed(result)

            return function

        def shift(name: str, op: Callable[[int, int], int]) -> Callable[..., int]:
            def function(*args: Any) -> int:
                value = _bits(self.check_number(args, 1, name))
                count = _bits(self.check_number(args, 2, name)) & 31
                return _signed(op(value, count) & _MASK32)

            return function

        def tohex(*args: Any) -> bytes:
            value = _bits(self.check_number(args, 1, "tohex"))
            digits = _bits(self.check_number(args, 2, "tohex")) if len(args) > 1 else 8
            digits = _signed(digits)
            alphabet = "0123456789abcdef"
            if digits < 0:
                digits = -digits
                alphabet = "0123456789ABCDEF"
            digits = min(digits, 8)
            out = []
            for _ in range(digits):
                out.append(alphabet[value & 15])
                value >>= 4
            return "".join(reversed(out)).encode()

        functions: dict[str, Callable[..., Any]] = {
            "tobit": unary("tobit", lambda b: b),
            "bnot": unary("bnot", lambda b: ~b & _MASK32),
            "bswap": unary(
                "bswap",
                lambda b: int.from_bytes(b.to_bytes(4, "little"), "big"),
            ),
            "band": fold("band", lambda a, b: a & b),
            "bor": fold("bor", lambda a, b: a | b),
            "bxor": fold("bxor", lambda a, b: a ^ b),
            "lshift": shift("lshift", lambda b, n: b << n),
            "rshift": shift("rshift", lambda b, n: b >> n),
            "arshift": shift("arshift", lambda b, n: _signed(b) >> n),
            "rol": shift("rol", lambda b, n: (b << n) | (b >> (32 - n))),
            "ror": shift("ror", lambda b, n: (b >> n) | (b << (32 - n))),
            "tohex": tohex,
        }
        for name, function in functions.items():
            lib[name.encode()] = function
        return lib

    # -- cjson ----------------------------------------------------------------------------
    def _cjson(self) -> Any:
        lib = self.lua.table()
        lib[b"encode"] = self._json_encode
        lib[b"decode"] = self._json_decode
        lib[b"encode_max_depth"] = self._setting("encode_max_depth", 1, 2**31 - 1)
        lib[b"decode_max_depth"] = self._setting("decode_max_depth", 1, 2**31 - 1)
        lib[b"encode_number_precision"] = self._setting("encode_number_precision", 1, 14)
        lib[b"encode_invalid_numbers"] = self._json_invalid_numbers
        lib[b"encode_keep_buffer"] = self._json_keep_buffer
        lib[b"null"] = self.null
        lib[b"_NAME"] = b"cjson"
        lib[b"_VERSION"] = b"2.1.0"
        return lib

    def _setting(self, name: str, low: int, high: int) -> Callable[..., int]:
        """A cjson setting function: ``f([value])`` sets (when given) and returns it."""

        def function(*args: Any) -> int:
            if len(args) > 1:
                self.bad_argument(len(args), name, "found too many arguments")
            if args and args[0] is not None:
                value = int(self.check_number(args, 1, name))
                if not low <= value <= high:
                    self.bad_argument(1, name, f"expected integer between {low} and {high}")
                setattr(self, name, value)
            return int(getattr(self, name))

        return function

    def _json_invalid_numbers(self, *args: Any) -> Any:
        if args and args[0] is not None:
            value = args[0]
            if value is True or value == b"on":
                self.encode_invalid_numbers = 1
            elif value is False or value == b"off":
                self.encode_invalid_numbers = 0
            elif value == b"null":
                self.encode_invalid_numbers = 2
            else:
                option = _to_text(value)
                self.bad_argument(1, "encode_invalid_numbers", f"invalid option '{option}'")
        return {0: False, 1: True, 2: b"null"}[self.encode_invalid_numbers]

    def _json_keep_buffer(self, *args: Any) -> None:
        return None

    def _json_encode(self, *args: Any) -> bytes:
        """cjson.encode(value): the JSON text, as lua-cjson 2.1 writes it."""
        if len(args) != 1:
            self.bad_argument(1, "encode", "expected 1 argument")
        out: list[bytes] = []
        with _DeepRecursion():
            self._encode(args[0], 0, out)
        return b"".join(out)

    def _encode_error(self, value: Any, reason: str) -> NoReturn:
        self.fail(f"Cannot serialise {_type_name(value)}: {reason}")

    def _encode_number(self, value: float, out: list[bytes]) -> None:
        number = float(value)
        if math.isinf(number) or math.isnan(number):
            if self.encode_invalid_numbers == 0:
                self._encode_error(value, "must not be NaN or Inf")
            if self.encode_invalid_numbers == 2:
                out.append(b"null")
                return
            if math.isnan(number):
                out.append(b"nan")
                return
        out.append(b"%.*g" % (self.encode_number_precision, number))

    def _encode(self, value: Any, depth: int, out: list[bytes]) -> None:
        kind = type(value)
        if kind is bytes:
            out.append(_json_string(value))
        elif kind is bool:
            out.append(b"true" if value else b"false")
        elif kind is int or kind is float:
            self._encode_number(value, out)
        elif value is None:
            out.append(b"null")
        elif _lua_type(value) == "table":
            depth += 1
            if depth > self.encode_max_depth:
                self.fail(f"Cannot serialise, excessive nesting ({depth})")
            length = self._array_length(value)
            if length > 0:
                out.append(b"[")
                for index in range(1, length + 1):
                    if index > 1:
                        out.append(b",")
                    self._encode(self.rawget(value, index), depth, out)
                out.append(b"]")
                return
            out.append(b"{")
            first = True
            for key, item in value.items():
                if not first:
                    out.append(b",")
                first = False
                key_kind = type(key)
                if key_kind is int or key_kind is float:
                    out.append(b'"')
                    self._encode_number(key, out)
                    out.append(b'":')
                elif key_kind is bytes:
                    out.append(_json_string(key) + b":")
                else:
                    self._encode_error(key, "table key must be a number or string")
                self._encode(item, depth, out)
            out.append(b"}")
        elif self.rawequal(value, self.null):
            out.append(b"null")
        else:
            self._encode_error(value, "type not supported")

    def _array_length(self, table: Any) -> int:
        """lua-cjson's lua_array_length: the largest key when every key is a whole number
        from 1 on, -1 otherwise; an excessively sparse array is an error."""
        largest = 0
        items = 0
        for key in table:
            if (type(key) is int or type(key) is float) and key >= 1 and math.floor(key) == key:
                largest = max(largest, int(key))
                items += 1
                continue
            return -1
        if largest > items * 2 and largest > 10:
            self._encode_error(table, "excessively sparse array")
        return largest

    def _json_decode(self, *args: Any) -> Any:
        """cjson.decode(text): the Lua value of a JSON text, as lua-cjson 2.1 reads it."""
        if len(args) != 1:
            self.bad_argument(1, "decode", "expected 1 argument")
        text = args[0]
        if type(text) is int or type(text) is float:
            text = b"%.14g" % text
        if type(text) is not bytes:
            got = "no value" if text is _NO_VALUE else _type_name(text)
            self.bad_argument(1, "decode", f"string expected, got {got}")
        if len(text) >= 2 and (text[0] == 0 or text[1] == 0):
            self.fail("JSON parser does not support UTF-16 or UTF-32")
        with _DeepRecursion():
            return _JsonReader(self, text).document()

    # -- struct (Roberto Ierusalimschy's struct library as Redis bundles it) --------------------
    def _struct(self) -> Any:
        lib = self.lua.table()
        lib[b"pack"] = self._struct_pack
        lib[b"unpack"] = self._struct_unpack
        lib[b"size"] = self._struct_size
        return lib

    def _check_string(self, args: tuple[Any, ...], index: int, function: str) -> bytes:
        """luaL_checklstring: a string, or a number as Lua prints it."""
        value = args[index - 1] if index <= len(args) else _NO_VALUE
        if type(value) is int or type(value) is float:
            return b"%.14g" % value
        if type(value) is not bytes:
            got = "no value" if value is _NO_VALUE else _type_name(value)
            self.bad_argument(index, function, f"string expected, got {got}")
        return value

    def _struct_option(self, fmt: bytes, pos: int, function: str) -> tuple[int, int, int]:
        """The option at ``pos``: (option byte, its size, the position after it)."""
        opt = fmt[pos]
        pos += 1
        size = _STRUCT_SIZES.get(opt)
        if size is not None:
            return opt, size, pos
        if opt in b"ciI":
            default = 1 if opt == ord("c") else 4
            number, pos = self._struct_number(fmt, pos, default)
            if opt != ord("c") and number > 32:
                self.fail(f"integral size {number} is larger than limit of 32")
            return opt, number, pos
        return opt, 0, pos

    def _struct_number(self, fmt: bytes, pos: int, default: int) -> tuple[int, int]:
        if pos >= len(fmt) or not 48 <= fmt[pos] <= 57:
            return default, pos
        number = 0
        while pos < len(fmt) and 48 <= fmt[pos] <= 57:
            number = number * 10 + fmt[pos] - 48
            if number > 2**31 - 1:
                self.fail("integral size overflow")
            pos += 1
        return number, pos

    def _struct_control(
        self, opt: int, fmt: bytes, pos: int, state: list[int], function: str
    ) -> int:
        """Options that change the endianness or alignment (state: [little, align])."""
        if opt == ord(" "):
            return pos
        if opt == ord(">"):
            state[0] = 0
            return pos
        if opt == ord("<"):
            state[0] = 1
            return pos
        if opt == ord("!"):
            align, pos = self._struct_number(fmt, pos, 8)
            if align <= 0 or align & (align - 1):
                self.fail(f"alignment {align} is not a power of 2")
            state[1] = align
            return pos
        self.bad_argument(1, function, f"invalid format option '{chr(opt)}'")

    @staticmethod
    def _struct_align(length: int, opt: int, size: int, align: int) -> int:
        if size == 0 or opt == ord("c"):
            return 0
        size = min(size, align)
        return (size - (length & (size - 1))) & (size - 1)

    def _struct_pack(self, *args: Any) -> bytes:
        """struct.pack(format, value, ...)"""
        fmt = self._check_string(args, 1, "pack")
        # (Redis's pack pushes a nil after its arguments: the first one missing is "nil".)
        args = (*args, None)
        nul = fmt.find(b"\0")
        fmt = fmt if nul < 0 else fmt[:nul]
        state = [1, 1]
        out = bytearray()
        arg = 2
        pos = 0
        while pos < len(fmt):
            opt, size, pos = self._struct_option(fmt, pos, "pack")
            pad = self._struct_align(len(out), opt, size, state[1])
            out += bytes(pad)
            if opt in b"bBhHlLTiI":
                number = self.check_number(args, arg, "pack")
                arg += 1
                value = _truncate_int64(number) & ((1 << 64) - 1)
                raw = value.to_bytes(8, "little") + bytes(max(0, size - 8))
                raw = raw[:size]
                out += raw if state[0] else raw[::-1]
            elif opt == ord("x"):
                out.append(0)
            elif opt in b"fd":
                number = self.check_number(args, arg, "pack")
                arg += 1
                code = "f" if opt == ord("f") else "d"
                try:
                    packed = struct.pack(("<" if state[0] else ">") + code, number)
                except OverflowError:
                    packed = struct.pack(
                        ("<" if state[0] else ">") + code, math.copysign(math.inf, number)
                    )
                out += packed
            elif opt in b"cs":
                text = self._check_string(args, arg, "pack")
                arg += 1
                length = size if size else len(text)
                if len(text) < length:
                    self.bad_argument(arg, "pack", "string too short")
                out += text[:length]
                if opt == ord("s"):
                    out.append(0)
            else:
                pos = self._struct_control(opt, fmt, pos, state, "pack")
        return bytes(out)

    def _struct_unpack(self, *args: Any) -> Any:
        """struct.unpack(format, data [, position]): the values, then the next position."""
        fmt = self._check_string(args, 1, "unpack")
        nul = fmt.find(b"\0")
        fmt = fmt if nul < 0 else fmt[:nul]
        data = self._check_string(args, 2, "unpack")
        start = 1
        if len(args) >= 3 and args[2] is not None:
            start = int(self.check_number(args, 3, "unpack"))
        if start <= 0:
            self.bad_argument(3, "unpack", "offset must be 1 or greater")
        position = start - 1
        state = [1, 1]
        values: list[Any] = []
        pos = 0
        size_of_data = len(data)
        while pos < len(fmt):
            opt, size, pos = self._struct_option(fmt, pos, "unpack")
            position += self._struct_align(position, opt, size, state[1])
            if not (size <= size_of_data and position <= size_of_data - size):
                self.bad_argument(2, "unpack", "data string too short")
            if opt in b"bBhHlLTiI":
                raw = data[position : position + size]
                value = int.from_bytes(raw, "little" if state[0] else "big")
                value &= (1 << 64) - 1
                bits = min(size, 8) * 8
                if opt in b"bhli" and size and value >> (bits - 1) & 1:
                    value -= 1 << bits
                values.append(float(value))
            elif opt in b"fd":
                code = "f" if opt == ord("f") else "d"
                raw = data[position : position + size]
                values.append(struct.unpack(("<" if state[0] else ">") + code, raw)[0])
            elif opt == ord("c"):
                if size == 0:
                    if not values or not isinstance(values[-1], float | int):
                        self.fail("format 'c0' needs a previous size")
                    size = int(values.pop())
                    if not (size <= size_of_data and position <= size_of_data - size):
                        self.bad_argument(2, "unpack", "data string too short")
                values.append(data[position : position + size])
            elif opt == ord("s"):
                end = data.find(b"\0", position)
                if end < 0:
                    self.fail("unfinished string in data")
                size = end - position + 1
                values.append(data[position:end])
            elif opt != ord("x"):
                pos = self._struct_control(opt, fmt, pos, state, "unpack")
            position += size
        values.append(position + 1)
        return tuple(_whole(value) for value in values)

    def _struct_size(self, *args: Any) -> int:
        """struct.size(format): the bytes the format packs into."""
        fmt = self._check_string(args, 1, "size")
        nul = fmt.find(b"\0")
        fmt = fmt if nul < 0 else fmt[:nul]
        state = [1, 1]
        position = 0
        pos = 0
        while pos < len(fmt):
            opt, size, pos = self._struct_option(fmt, pos, "size")
            position += self._struct_align(position, opt, size, state[1])
            if opt == ord("s"):
                self.bad_argument(1, "size", "option 's' has no fixed size")
            if opt == ord("c") and size == 0:
                self.bad_argument(1, "size", "option 'c0' has no fixed size")
            if not chr(opt).isalnum():
                pos = self._struct_control(opt, fmt, pos, state, "size")
            position += size
        return position

    # -- cmsgpack -------------------------------------------------------------------------
    def _cmsgpack(self) -> Any:
        lib = self.lua.table()
        lib[b"pack"] = self._mp_pack
        lib[b"unpack"] = self._mp_unpack
        lib[b"unpack_one"] = self._mp_unpack_one
        lib[b"unpack_limit"] = self._mp_unpack_limit
        lib[b"_NAME"] = b"cmsgpack"
        lib[b"_VERSION"] = b"lua-cmsgpack 0.4.0"
        lib[b"_COPYRIGHT"] = b"Copyright (C) 2012, Salvatore Sanfilippo"
        lib[b"_DESCRIPTION"] = b"MessagePack C implementation for Lua"
        return lib

    def _mp_pack(self, *args: Any) -> bytes:
        """cmsgpack.pack(value, ...): the values packed one after the other."""
        if not args:
            self.bad_argument(0, "pack", "MessagePack pack needs input.")
        out = bytearray()
        for value in args:
            self._mp_encode(value, 0, out)
        return bytes(out)

    def _mp_encode(self, value: Any, level: int, out: bytearray) -> None:
        kind = type(value)
        if kind is bytes:
            size = len(value)
            if size < 32:
                out.append(0xA0 | size)
            elif size <= 0xFF:
                out += b"\xd9" + bytes([size])
            elif size <= 0xFFFF:
                out += b"\xda" + size.to_bytes(2, "big")
            else:
                out += b"\xdb" + size.to_bytes(4, "big")
            out += value
        elif kind is bool:
            out.append(0xC3 if value else 0xC2)
        elif kind is int or kind is float:
            number = float(value)
            if (
                not math.isinf(number)
                and not math.isnan(number)
                and -(2.0**63) <= number < 2.0**63
                and number == int(number)
            ):
                _mp_int(int(number), out)
            else:
                try:
                    single = struct.unpack(">f", struct.pack(">f", number))[0]
                except OverflowError:  # beyond a float: no float equals it
                    single = None
                if single == number:
                    out += b"\xca" + struct.pack(">f", number)
                else:
                    out += b"\xcb" + struct.pack(">d", number)
        elif value is not None and _lua_type(value) == "table" and level < 16:
            self._mp_encode_table(value, level, out)
        else:
            out.append(0xC0)

    def _mp_encode_table(self, table: Any, level: int, out: bytearray) -> None:
        keys = list(table)
        largest = 0
        is_array = True
        for key in keys:
            if (type(key) is not int and type(key) is not float) or key <= 0 or key != int(key):
                is_array = False
                break
            largest = max(largest, int(key))
        if is_array and largest == len(keys):
            _mp_header(len(keys), 0x90, b"\xdc", b"\xdd", out)
            for index in range(1, len(keys) + 1):
                self._mp_encode(table[index], level + 1, out)
            return
        _mp_header(len(keys), 0x80, b"\xde", b"\xdf", out)
        for key, item in table.items():
            self._mp_encode(key, level + 1, out)
            self._mp_encode(item, level + 1, out)

    def _mp_unpack(self, *args: Any) -> Any:
        """cmsgpack.unpack(data): every value packed in ``data``."""
        return self._mp_unpack_full(args, "unpack", 0, 0)

    def _mp_unpack_one(self, *args: Any) -> Any:
        offset = self._opt_integer(args, 2, "unpack_one")
        return self._mp_unpack_full(args[:1], "unpack_one", 1, offset)

    def _mp_unpack_limit(self, *args: Any) -> Any:
        limit = int(self.check_number(args, 2, "unpack_limit"))
        offset = self._opt_integer(args, 3, "unpack_limit")
        return self._mp_unpack_full(args[:1], "unpack_limit", limit, offset)

    def _opt_integer(self, args: tuple[Any, ...], index: int, name: str) -> int:
        if index > len(args) or args[index - 1] is None:
            return 0
        return int(self.check_number(args, index, name))

    def _mp_unpack_full(self, args: tuple[Any, ...], name: str, limit: int, offset: int) -> Any:
        data = args[0] if args else _NO_VALUE
        if type(data) is int or type(data) is float:
            data = b"%.14g" % data
        if type(data) is not bytes:
            got = "no value" if data is _NO_VALUE else _type_name(data)
            self.bad_argument(1, name, f"string expected, got {got}")
        decode_all = not limit and not offset
        if offset < 0 or limit < 0:
            self.fail(
                f"Invalid request to unpack with offset of {offset} and limit of {len(data)}."
            )
        if offset > len(data):
            self.fail(f"Start offset {offset} greater than input length {len(data)}.")
        if decode_all:
            limit = 2**31 - 1
        reader = _MsgpackReader(self.lua, data, offset)
        values: list[Any] = []
        with _DeepRecursion():
            while reader.pos < len(data) and len(values) < limit:
                try:
                    values.append(reader.value())
                except _MissingBytes:
                    self.fail("Missing bytes in input.")
                except _BadFormat:
                    self.fail("Bad data format in input.")
        if not decode_all:
            values.insert(0, -1 if reader.pos >= len(data) else reader.pos)
        return tuple(values)


# -- bit helpers -----------------------------------------------------------------------------
_MASK32: Final = 0xFFFFFFFF
_NO_VALUE: Final = object()


def _bits(number: float) -> int:
    """LuaBitOp's argument conversion: the low 32 bits of ``number + 2**52 + 2**51`` as a
    double (whole numbers below 2**51 in size: the number rounded to even, modulo 2**32)."""
    raw = struct.unpack("<Q", struct.pack("<d", number + 6755399441055744.0))[0]
    return int(raw & _MASK32)


def _signed(bits: int) -> int:
    bits &= _MASK32
    return bits - (1 << 32) if bits & 0x80000000 else bits


def _to_number(value: Any) -> float | None:
    """lua_tonumber: numbers, and strings that read whole as one (decimal or hex)."""
    kind = type(value)
    if kind is int or kind is float:
        return float(value)
    if kind is bytes:
        text = value.strip(b" \t\n\v\f\r")
        match = _NUMBER.fullmatch(text)
        if match is None or not text:
            return None
        if text[:2].lower() in (b"0x",) or text[1:3].lower() == b"0x":
            return float(int(text, 16))
        return float(text)
    return None


_NUMBER: Final = re.compile(
    rb"[+-]?(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf(?:inity)?|nan)",
    re.IGNORECASE,
)


def _to_text(value: Any) -> str:
    return value.decode("latin-1") if type(value) is bytes else str(value)


def _type_name(value: Any) -> str:
    if value is None:
        return "nil"
    kind = type(value)
    if kind is bytes:
        return "string"
    if kind is bool:
        return "boolean"
    if kind is int or kind is float:
        return "number"
    return str(_lua_type(value) or "userdata")


# -- cjson helpers ---------------------------------------------------------------------------
_ESCAPES: Final = {
    **{code: b"\\u%04x" % code for code in range(32)},
    8: b"\\b",
    9: b"\\t",
    10: b"\\n",
    12: b"\\f",
    13: b"\\r",
    34: b'\\"',
    47: b"\\/",
    92: b"\\\\",
    127: b"\\u007f",
}
_ESCAPE_TABLE: Final = {
    code: _ESCAPES.get(code, bytes([code])).decode("latin-1") for code in range(256)
}
_NEEDS_ESCAPE: Final = re.compile(rb'[\x00-\x1f"/\\\x7f]')


def _json_string(raw: bytes) -> bytes:
    if _NEEDS_ESCAPE.search(raw) is None:
        return b'"' + raw + b'"'
    return b'"' + raw.decode("latin-1").translate(_ESCAPE_TABLE).encode("latin-1") + b'"'


_TOKEN_NAMES: Final = {
    "{": "T_OBJ_BEGIN",
    "}": "T_OBJ_END",
    "[": "T_ARR_BEGIN",
    "]": "T_ARR_END",
    ":": "T_COLON",
    ",": "T_COMMA",
    "end": "T_END",
    "string": "T_STRING",
    "number": "T_NUMBER",
    "boolean": "T_BOOLEAN",
    "null": "T_NULL",
}
_DECODE_ESCAPES: Final = {
    ord('"'): b'"',
    ord("\\"): b"\\",
    ord("/"): b"/",
    ord("b"): b"\b",
    ord("f"): b"\f",
    ord("n"): b"\n",
    ord("r"): b"\r",
    ord("t"): b"\t",
}
_STRTOD: Final = re.compile(
    rb"[ \t\n\v\f\r]*[+-]?(?:0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)"
    rb"(?:[pP][+-]?\d+)?|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf(?:inity)?|nan)",
    re.IGNORECASE,
)


class _Token:
    __slots__ = ("index", "kind", "value")

    def __init__(self, kind: str, index: int, value: Any = None) -> None:
        self.kind = kind
        self.index = index
        self.value = value


class _JsonReader:
    """lua-cjson's decoder over one text (which ends at its first NUL byte, as a C string)."""

    def __init__(self, libs: Libraries, text: bytes) -> None:
        self.libs = libs
        self.lua = libs.lua
        nul = text.find(b"\0")
        self.text = text if nul < 0 else text[:nul]
        self.pos = 0
        self.depth = 0

    def document(self) -> Any:
        value = self.value(self.next())
        token = self.next()
        if token.kind != "end":
            self.expected("the end", token)
        return value

    def expected(self, what: str, token: _Token) -> NoReturn:
        found = token.value if token.kind == "error" else _TOKEN_NAMES[token.kind]
        self.libs.fail(f"Expected {what} but found {found} at character {token.index + 1}")

    def descend(self) -> None:
        self.depth += 1
        if self.depth > self.libs.decode_max_depth:
            self.libs.fail(
                f"Found too many nested data structures ({self.depth}) at character {self.pos}"
            )

    def value(self, token: _Token) -> Any:
        kind = token.kind
        if kind in ("string", "number", "boolean"):
            return token.value
        if kind == "null":
            return self.libs.null
        if kind == "{":
            return self.object()
        if kind == "[":
            return self.array()
        self.expected("value", token)

    def object(self) -> Any:
        self.descend()
        table = self.lua.table()
        token = self.next()
        if token.kind == "}":
            self.depth -= 1
            return table
        while True:
            if token.kind != "string":
                self.expected("object key string", token)
            key = token.value
            token = self.next()
            if token.kind != ":":
                self.expected("colon", token)
            table[key] = self.value(self.next())
            token = self.next()
            if token.kind == "}":
                self.depth -= 1
                return table
            if token.kind != ",":
                self.expected("comma or object end", token)
            token = self.next()

    def array(self) -> Any:
        self.descend()
        table = self.lua.table()
        token = self.next()
        if token.kind == "]":
            self.depth -= 1
            return table
        index = 1
        while True:
            table[index] = self.value(token)
            index += 1
            token = self.next()
            if token.kind == "]":
                self.depth -= 1
                return table
            if token.kind != ",":
                self.expected("comma or array end", token)
            token = self.next()

    def next(self) -> _Token:
        text = self.text
        size = len(text)
        while self.pos < size and text[self.pos] in b" \t\n\r":
            self.pos += 1
        start = self.pos
        if start >= size:
            return _Token("end", start)
        char = chr(text[start])
        if char in "{}[]:,":
            self.pos += 1
            return _Token(char, start)
        if char == '"':
            return self.string(start)
        if char == "-" or char.isdigit():
            return self.number(start)
        for word, value in ((b"true", True), (b"false", False)):
            if text.startswith(word, start):
                self.pos += len(word)
                return _Token("boolean", start, value)
        if text.startswith(b"null", start):
            self.pos += 4
            return _Token("null", start)
        if char in "+iInN" and self._invalid_number(start):
            return self.number(start)
        return _Token("error", start, "invalid token")

    def _invalid_number(self, start: int) -> bool:
        rest = self.text[start:]
        if rest[:1] == b"+":
            return True
        if rest[:1] == b"-":
            rest = rest[1:]
        return rest[:3].lower() in (b"inf", b"nan")

    def number(self, start: int) -> _Token:
        match = _STRTOD.match(self.text, start)
        if match is None:
            return _Token("error", start, "invalid number")
        raw = match.group(0).strip()
        self.pos = match.end()
        lowered = raw.lower().lstrip(b"+-")
        negative = raw.startswith(b"-")
        if lowered.startswith(b"0x"):
            number = float.fromhex(raw.decode("ascii"))
        elif lowered.startswith(b"inf"):
            number = -math.inf if negative else math.inf
        elif lowered.startswith(b"nan"):
            number = math.nan
        else:
            number = float(raw)
        return _Token("number", start, _whole(number))

    def string(self, start: int) -> _Token:
        text = self.text
        pos = start + 1
        out = bytearray()
        while True:
            if pos >= len(text):
                self.pos = pos
                return _Token("error", pos, "unexpected end of string")
            char = text[pos]
            if char == 34:
                self.pos = pos + 1
                return _Token("string", start, bytes(out))
            if char == 92:
                escape = text[pos + 1] if pos + 1 < len(text) else 0
                if escape == ord("u"):
                    decoded = self.unicode_escape(pos)
                    if decoded is None:
                        self.pos = pos
                        return _Token("error", pos, "invalid unicode escape code")
                    out += decoded[0]
                    pos += decoded[1]
                    continue
                replacement = _DECODE_ESCAPES.get(escape)
                if replacement is None:
                    self.pos = pos
                    return _Token("error", pos, "invalid escape code")
                out += replacement
                pos += 2
                continue
            out.append(char)
            pos += 1

    def unicode_escape(self, pos: int) -> tuple[bytes, int] | None:
        """The UTF-8 bytes of the ``\\uXXXX`` escape (or surrogate pair) at ``pos`` and its
        length, or ``None`` when it is not a valid one."""
        code = _hex4(self.text[pos + 2 : pos + 6])
        if code is None:
            return None
        length = 6
        if 0xD800 <= code <= 0xDFFF:
            if code > 0xDBFF or self.text[pos + 6 : pos + 8] != b"\\u":
                return None
            low = _hex4(self.text[pos + 8 : pos + 12])
            if low is None or not 0xDC00 <= low <= 0xDFFF:
                return None
            code = (((code & 0x3FF) << 10) | (low & 0x3FF)) + 0x10000
            length = 12
        return chr(code).encode("utf-8", "surrogatepass"), length


# struct's fixed sizes (x86-64: short 2, long and size_t 8).
_STRUCT_SIZES: Final = {
    ord("b"): 1,
    ord("B"): 1,
    ord("h"): 2,
    ord("H"): 2,
    ord("l"): 8,
    ord("L"): 8,
    ord("T"): 8,
    ord("f"): 4,
    ord("d"): 8,
    ord("x"): 1,
}


def _truncate_int64(number: float) -> int:
    """C's cast of a double to a 64-bit integer (toward zero; what does not fit wraps)."""
    if math.isnan(number) or math.isinf(number):
        return -(2**63)
    return int(number)


def _whole(value: Any) -> Any:
    """A number for Lua: a whole float below 2**53 as an int (lupa hands it to Lua as the same
    number), an int beyond that as a float (lupa refuses ints past a C long; Lua has doubles)."""
    if type(value) is float and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if type(value) is int and abs(value) >= 2**53:
        return float(value)
    return value


def _mp_int(number: int, out: bytearray) -> None:
    if number >= 0:
        if number <= 127:
            out.append(number)
        elif number <= 0xFF:
            out += b"\xcc" + number.to_bytes(1, "big")
        elif number <= 0xFFFF:
            out += b"\xcd" + number.to_bytes(2, "big")
        elif number <= 0xFFFFFFFF:
            out += b"\xce" + number.to_bytes(4, "big")
        else:
            out += b"\xcf" + number.to_bytes(8, "big")
    elif number >= -32:
        out += number.to_bytes(1, "big", signed=True)
    elif number >= -128:
        out += b"\xd0" + number.to_bytes(1, "big", signed=True)
    elif number >= -32768:
        out += b"\xd1" + number.to_bytes(2, "big", signed=True)
    elif number >= -(2**31):
        out += b"\xd2" + number.to_bytes(4, "big", signed=True)
    else:
        out += b"\xd3" + number.to_bytes(8, "big", signed=True)


def _mp_header(size: int, fix: int, short: bytes, long: bytes, out: bytearray) -> None:
    if size <= 15:
        out.append(fix | size)
    elif size <= 0xFFFF:
        out += short + size.to_bytes(2, "big")
    else:
        out += long + size.to_bytes(4, "big")


class _MissingBytes(Exception):
    pass


class _BadFormat(Exception):
    pass


# First byte -> (struct format, size) of the fixed-size numbers.
_MP_NUMBERS: Final = {
    0xCC: (">B", 1),
    0xCD: (">H", 2),
    0xCE: (">I", 4),
    0xCF: (">q", 8),  # (pushed as a signed 64-bit integer on 64-bit builds)
    0xD0: (">b", 1),
    0xD1: (">h", 2),
    0xD2: (">i", 4),
    0xD3: (">q", 8),
    0xCA: (">f", 4),
    0xCB: (">d", 8),
}


class _MsgpackReader:
    """lua-cmsgpack's decoder: Lua values from the bytes of ``data`` from ``pos`` on."""

    def __init__(self, lua: Any, data: bytes, pos: int) -> None:
        self.lua = lua
        self.data = data
        self.pos = pos

    def take(self, size: int) -> bytes:
        if self.pos + size > len(self.data):
            raise _MissingBytes
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def value(self) -> Any:
        first = self.take(1)[0]
        number = _MP_NUMBERS.get(first)
        if number is not None:
            return _whole(struct.unpack(number[0], self.take(number[1]))[0])
        if first == 0xC0:
            return None
        if first == 0xC3:
            return True
        if first == 0xC2:
            return False
        if first in (0xD9, 0xDA, 0xDB):
            size = int.from_bytes(self.take({0xD9: 1, 0xDA: 2, 0xDB: 4}[first]), "big")
            return self.take(size)
        if first in (0xDC, 0xDD):
            return self.array(int.from_bytes(self.take(2 if first == 0xDC else 4), "big"))
        if first in (0xDE, 0xDF):
            return self.map(int.from_bytes(self.take(2 if first == 0xDE else 4), "big"))
        if first & 0x80 == 0:
            return first
        if first & 0xE0 == 0xE0:
            return first - 256
        if first & 0xE0 == 0xA0:
            return self.take(first & 0x1F)
        if first & 0xF0 == 0x90:
            return self.array(first & 0x0F)
        if first & 0xF0 == 0x80:
            return self.map(first & 0x0F)
        raise _BadFormat

    def array(self, size: int) -> Any:
        table = self.lua.table()
        for index in range(1, size + 1):
            item = self.value()
            if item is not None:
                table[index] = item
        return table

    def map(self, size: int) -> Any:
        table = self.lua.table()
        for _ in range(size):
            key = self.value()
            item = self.value()
            if key is not None and item is not None:
                table[key] = item
        return table


class _DeepRecursion:
    """Room for the Python recursion a nesting of 1000 Lua tables takes."""

    def __enter__(self) -> None:
        self.previous = sys.getrecursionlimit()
        sys.setrecursionlimit(max(self.previous, 20_000))

    def __exit__(self, *exc_info: object) -> None:
        sys.setrecursionlimit(self.previous)


def _hex4(raw: bytes) -> int | None:
    if len(raw) != 4 or not all(c in b"0123456789abcdefABCDEF" for c in raw):
        return None
    return int(raw, 16)


def install(lua: Any) -> Libraries:
    """The libraries of the interpreter ``lua`` (their table: :meth:`Libraries.table`)."""
    return Libraries(lua)
