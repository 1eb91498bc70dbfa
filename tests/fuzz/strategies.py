"""Hypothesis strategies for the fuzz tests: commands with hostile arguments, request framing
(RESP multibulk and inline), mutations of that framing, and cuts of the bytes into writes.

Which commands are left out, and why (everything else the server lists in COMMAND is fair game,
admin commands included; the server must survive them all):

- ``SHUTDOWN``: stopping the server is what it is for.
- ``DEBUG SLEEP`` (and Redis's ``DEBUG SEGFAULT/PANIC/ASSERT/RESTART/CRASH-AND-RECOVER/OOM``,
  which Zyst refuses anyway): hanging or crashing on purpose. Other DEBUG subcommands are sent.
- ``CLIENT PAUSE``: pausing every client is its job (a long timeout would stall the PING that
  checks the server is alive). ``CLIENT UNPAUSE`` is sent.
- ``REPLICAOF``/``SLAVEOF``, ``MIGRATE``, ``SYNC``/``PSYNC``, ``FAILOVER``: they connect to other
  servers, or turn the connection into a replication stream, at addresses built from random
  arguments (which on this machine may be another test's server).
- ``CONFIG SET`` of settings that would lock the checker out or change the rules under it
  (port, bind, dir, passwords, limits, protocol limits, persistence): :data:`RISKY_SETTINGS`.
  Other settings are set to random values.
- Commands whose cost is what they were asked for, beyond what a test machine gives: offsets
  and counts that make a string of up to 512 MB (``SETRANGE``, ``SETBIT``, ``BITFIELD``) or a
  reply of billions of elements (negative counts of ``SRANDMEMBER``, ``HRANDFIELD``,
  ``ZRANDMEMBER``; ``DEBUG POPULATE``): their numbers are kept small. Redis does the same work.

Blocking commands are sent with any timeout, 0 included: the connection is closed from the
client's side after each example, which ends any wait.
"""

from __future__ import annotations

import itertools
from typing import Final

from hypothesis import strategies as st

from zyst.protocol.resp import encode_command

EXCLUDED: Final = frozenset(
    {
        b"shutdown",
        b"client|pause",
        b"replicaof",
        b"slaveof",
        b"migrate",
        b"sync",
        b"psync",
        b"failover",
    }
)
# DEBUG subcommands that hang or crash on purpose (Redis's names).
DEBUG_EXCLUDED: Final = frozenset(
    {b"sleep", b"segfault", b"panic", b"assert", b"restart", b"crash-and-recover", b"oom"}
)
DEBUG_SUBCOMMANDS: Final = (
    b"help",
    b"object",
    b"set-active-expire",
    b"reload",
    b"digest",
    b"digest-value",
    b"protocol",
    b"jmap",
    b"listpack",
    b"quicklist-packed-threshold",
    b"stringmatch-len",
    b"change-repl-id",
    b"log",
)
RISKY_SETTINGS: Final = frozenset(
    {
        b"port",
        b"bind",
        b"dir",
        b"dbfilename",
        b"logfile",
        b"pidfile",
        b"requirepass",
        b"masterauth",
        b"masteruser",
        b"protected-mode",
        b"maxclients",
        b"timeout",
        b"maxmemory",
        b"proto-max-bulk-len",
        b"client-query-buffer-limit",
        b"client-output-buffer-limit",
        b"appendonly",
        b"appendfilename",
        b"appenddirname",
        b"save",
        b"lua-time-limit",
        b"busy-reply-threshold",
        b"replicaof",
        b"slaveof",
        b"unixsocket",
        b"aclfile",
        b"enable-debug-command",
        b"enable-protected-configs",
        b"enable-module-command",
        b"tls-port",
    }
)
SAFE_SETTINGS: Final = (
    b"hash-max-listpack-entries",
    b"hash-max-listpack-value",
    b"list-max-listpack-size",
    b"set-max-intset-entries",
    b"zset-max-listpack-entries",
    b"notify-keyspace-events",
    b"slowlog-log-slower-than",
    b"slowlog-max-len",
    b"latency-monitor-threshold",
    b"hz",
    b"maxmemory-policy",
    b"lazyfree-lazy-user-del",
    b"stream-node-max-entries",
    b"activerehashing",
    b"no-such-setting",
)
# Commands whose numbers, when huge, ask the server (Redis as well) for gigabytes.
SMALL_NUMBERS_ONLY: Final = frozenset(
    {
        b"setrange",
        b"setbit",
        b"bitfield",
        b"bitfield_ro",
        b"srandmember",
        b"hrandfield",
        b"zrandmember",
        b"lolwut",
    }
)

# Numbers where parsers break: the edges of 32 and 64 bits, signs, floats, the special values
# of scores and ranges, and spellings that are almost numbers.
BOUNDARY_NUMBERS: Final = (
    b"0",
    b"1",
    b"-1",
    b"2",
    b"-2",
    b"10",
    b"2147483647",
    b"2147483648",
    b"-2147483648",
    b"-2147483649",
    b"4294967295",
    b"4294967296",
    b"9223372036854775807",
    b"9223372036854775808",
    b"-9223372036854775808",
    b"-9223372036854775809",
    b"18446744073709551615",
    b"18446744073709551616",
    b"99999999999999999999999999999",
    b"1.5",
    b"-0",
    b"-0.0",
    b"1e308",
    b"1e309",
    b"-1e309",
    b"1e-320",
    b"5e-324",
    b"0x10",
    b"inf",
    b"-inf",
    b"+inf",
    b"nan",
    b"NaN",
    b"(1",
    b"(-inf",
    b"[a",
    b"(a",
    b"-",
    b"+",
    b"",
    b" 1",
    b"1 ",
    b"01",
    b"+1",
    b"1.",
    b".1",
    b"1e",
    b"$",
    b"*",
)
SMALL_NUMBERS: Final = (b"0", b"1", b"-1", b"2", b"7", b"-3", b"100", b"1.5", b"", b"x")
KEYWORDS: Final = (
    b"NX",
    b"XX",
    b"GT",
    b"LT",
    b"CH",
    b"INCR",
    b"EX",
    b"PX",
    b"EXAT",
    b"PXAT",
    b"KEEPTTL",
    b"PERSIST",
    b"GET",
    b"WITHSCORES",
    b"WITHVALUES",
    b"LIMIT",
    b"COUNT",
    b"MATCH",
    b"TYPE",
    b"BY",
    b"STORE",
    b"ASC",
    b"DESC",
    b"ALPHA",
    b"REV",
    b"BYSCORE",
    b"BYLEX",
    b"AGGREGATE",
    b"WEIGHTS",
    b"SUM",
    b"MIN",
    b"MAX",
    b"LEFT",
    b"RIGHT",
    b"BEFORE",
    b"AFTER",
    b"RANK",
    b"MAXLEN",
    b"IDX",
    b"LEN",
    b"MINMATCHLEN",
    b"WITHMATCHLEN",
    b"BLOCK",
    b"STREAMS",
    b"GROUP",
    b"NOACK",
    b"ID",
    b"MKSTREAM",
    b"ENTRIESREAD",
    b"JUSTID",
    b"FORCE",
    b"IDLE",
    b"TIME",
    b"RETRYCOUNT",
    b"LASTID",
    b"OVERFLOW",
    b"WRAP",
    b"SAT",
    b"FAIL",
    b"u8",
    b"i64",
    b"u63",
    b"i65",
    b"#1",
    b"SCHEMA",
    b"RESET",
    b"ON",
    b"OFF",
    b"SKIP",
    b"YES",
    b"NO",
    b"SYNC",
    b"ASYNC",
    b"REPLACE",
    b"ABSTTL",
    b"FREQ",
    b"DB",
    b"COPY",
    b"AUTH",
    b"SETNAME",
    b"*",
    b"$",
    b">",
    b"0-0",
    b"0-1",
    b"18446744073709551615-18446744073709551615",
    b"return 1",
    b"return redis.call('ping')",
    b"#!lua name=lib\nredis.register_function('f', function() return 1 end)",
    b"\x00",
)
KEYS: Final = (b"k", b"k2", b"{k}1", b"{k}2", b"s", b"h", b"z", b"l", b"x:1", b"")

ANY_NUMBER: Final = st.sampled_from(BOUNDARY_NUMBERS)
ARGUMENT: Final = st.one_of(
    st.just(b""),  # the argument most often mishandled, drawn often
    ANY_NUMBER,
    st.sampled_from(KEYWORDS),
    st.sampled_from(KEYS),
    st.binary(max_size=24),
    st.integers(min_value=-(2**65), max_value=2**65).map(lambda n: b"%d" % n),
    st.floats().map(lambda f: repr(f).encode()),
)
SMALL_ARGUMENT: Final = st.one_of(
    st.sampled_from(SMALL_NUMBERS), st.sampled_from(KEYWORDS), st.sampled_from(KEYS)
)


class Catalog:
    """The commands to fuzz: names (``b"get"`` or ``b"config|set"``) with their arities, as
    the server's COMMAND lists them, minus :data:`EXCLUDED`."""

    def __init__(
        self, entries: list[tuple[bytes, int]], blocking: frozenset[bytes] = frozenset()
    ) -> None:
        self.entries = sorted(entry for entry in entries if entry[0] not in EXCLUDED)
        # Every command name (no subcommands), the excluded ones too.
        self.names = frozenset(name for name, _ in entries if b"|" not in name)
        # The commands flagged ``blocking`` (they may wait for a key, a replica, a timeout).
        self.blocking = blocking


@st.composite
def command(draw: st.DrawFn, catalog: Catalog) -> list[bytes]:
    """One command from ``catalog`` with hostile arguments: as many as its arity asks (most of
    the time) or any count."""
    name, arity = draw(st.sampled_from(catalog.entries))
    head = name.split(b"|")
    if draw(st.booleans()):  # Redis reads command names case-insensitively
        head = [part.upper() for part in head]
    wanted = abs(arity) - len(head)
    if arity < 0 or draw(st.integers(0, 9)) == 0:
        count = draw(st.integers(0, max(wanted, 0) + 6))
    else:
        count = max(wanted, 0)
    base = name.split(b"|")[0]
    if base in SMALL_NUMBERS_ONLY:
        args = draw(st.lists(SMALL_ARGUMENT, min_size=count, max_size=count))
    else:
        args = draw(st.lists(ARGUMENT, min_size=count, max_size=count))
    if name == b"debug" and args:
        args[0] = draw(st.sampled_from(DEBUG_SUBCOMMANDS))
    if name == b"config|set" and args:
        args[0] = draw(st.sampled_from(SAFE_SETTINGS))
    if name == b"client" and args and args[0].lower() == b"pause":
        args[0] = b"UNPAUSE"
    return [*head, *args]


def is_safe(argv: list[bytes]) -> bool:
    """Whether a command (after mutation) is still outside the exclusions: a mutated frame can
    turn one command into another."""
    if not argv:
        return True
    name = argv[0].lower()
    if name in (b"shutdown", b"replicaof", b"slaveof", b"migrate", b"sync", b"psync"):
        return False
    if name == b"failover":
        return False
    sub = argv[1].lower() if len(argv) > 1 else b""
    if name == b"debug" and sub not in DEBUG_SUBCOMMANDS:
        return sub not in DEBUG_EXCLUDED and sub != b"populate"
    if name == b"client" and sub == b"pause":
        return False
    if name == b"config" and sub == b"set":
        return not any(arg.lower() in RISKY_SETTINGS for arg in argv[2:])
    return name not in SMALL_NUMBERS_ONLY or all(len(arg) < 8 for arg in argv[1:])


# -- framing -----------------------------------------------------------------------------------
def inline_argument(arg: bytes) -> bytes:
    """``arg`` as one argument of an inline line (quoted when it must be)."""
    if arg and all(0x21 <= byte < 0x7F and byte not in b"\"'\\" for byte in arg):
        return arg
    return b'"' + b"".join(b"\\x%02x" % byte for byte in arg) + b'"'


def inline_line(argv: list[bytes]) -> bytes:
    return b" ".join(inline_argument(arg) for arg in argv) + b"\r\n"


# Request starts and elements that are not what a server expects: RESP3 types where requests
# only have arrays and bulk strings, nesting, and declared lengths at and past the limits.
ODD_PIECES: Final = (
    b"*2147483648\r\n",
    b"*2147483647\r\n",
    b"*1048577\r\n",
    b"*-1\r\n",
    b"*-2147483649\r\n",
    b"*0\r\n",
    b"*\r\n",
    b"*1\r\n*1\r\n$4\r\nPING\r\n",
    b"*2\r\n$4\r\nECHO\r\n*1\r\n$1\r\nx\r\n",
    b"$2147483648\r\n",
    b"$536870913\r\n",
    b"$536870912\r\n",
    b"$-1\r\n",
    b"$-2\r\n",
    b"$\r\n",
    b"$01\r\n",
    b"$+1\r\n",
    b"$ 1\r\n",
    b"$1\r",
    b"%1\r\n$1\r\na\r\n$1\r\nb\r\n",
    b"~1\r\n$1\r\na\r\n",
    b">1\r\n$1\r\na\r\n",
    b"|1\r\n+a\r\n+b\r\n",
    b"_\r\n",
    b",1.5\r\n",
    b"#t\r\n",
    b"(123\r\n",
    b"=5\r\ntxt:x\r\n",
    b"!3\r\nERR\r\n",
    b"+OK\r\n",
    b"-ERR\r\n",
    b":1\r\n",
    b"\r\n",
    b"\n",
    b"\r",
    b"\x00",
    b'"unbalanced\r\n',
    b"'unbalanced\r\n",
    b'ECHO "a"b\r\n',
    b'ECHO "\\x4"\r\n',
    b"ECHO '\\''\r\n",
    b'ECHO "\\\r\n',
    b"GET / HTTP/1.1\r\n",
    b"POST / HTTP/1.1\r\n",
    b"Host: x\r\n",
)


@st.composite
def long_line(draw: st.DrawFn) -> bytes:
    """A line around Redis's 64 KB inline limit, or a header line past it (no CR or LF)."""
    size = draw(st.sampled_from([1024, 65535, 65536, 65537, 70000]))
    prefix = draw(st.sampled_from([b"ECHO ", b"*", b"$", b"*1\r\n$", b""]))
    end = draw(st.sampled_from([b"\r\n", b"\n", b""]))
    return prefix + b"9" * size + end


@st.composite
def frame(draw: st.DrawFn, catalog: Catalog) -> bytes:
    """One request, well formed: multibulk (mostly) or inline."""
    argv = draw(command(catalog))
    if draw(st.integers(0, 3)) == 0:
        return inline_line(argv)
    return encode_command(argv)


# Keys of every type under the names the fuzzed commands use, written before some examples, so
# that commands meet real values of the right (and the wrong) type.
SEED: Final = b"".join(
    encode_command(argv)
    for argv in (
        [b"SET", b"k", b"10"],
        [b"SET", b"k2", b"hello"],
        [b"SADD", b"s", b"a", b"b", b"1"],
        [b"HSET", b"h", b"f", b"v", b"n", b"1"],
        [b"ZADD", b"z", b"1", b"a", b"2", b"b", b"inf", b"c"],
        [b"RPUSH", b"l", b"a", b"b", b"c", b"1"],
        [b"SETBIT", b"{k}2", b"100", b"1"],
    )
)


# Script bodies that return what the reply converter finds hard, or fail in odd ways (never
# an endless loop: a busy script stalls the server on purpose).
SCRIPT_BODIES: Final = (
    "return {1, 2, {3, 'a'}, nil, 5}",
    "return 3.99",
    "return -0.0",
    "return 2^63",
    "return -2^63",
    "return 1e308 * 10",
    "return 0/0",
    "return true",
    "return false",
    "return nil",
    "return {}",
    "return redis.status_reply('x')",
    "return redis.status_reply('a\\r\\nb')",
    "return redis.error_reply('')",
    "return redis.error_reply('x\\r\\ny')",
    "return {err=''}",
    "return {err={}}",
    "return {ok={}}",
    "return {ok=1}",
    "return {double=1.5}",
    "return {big_number='123'}",
    "return {map={a=1}}",
    "return {set={a=true}}",
    "return string.rep('a', 1000)",
    "return '\\0'",
    "local t = {} for i = 1, 200 do t = {t} end return t",
    "local t = {} for i = 1, 100000 do t = {t} end return t",
    "local t = {} for i = 1, 100000 do t = {t} end return cjson.encode(t)",
    "local t = {} for i = 1, 100000 do t = {t} end return cmsgpack.pack(t)",
    "local t = {} t[1000] = 1 return t",
    "local function f(n) return f(n + 1) + 1 end return f(1)",
    "return redis.call()",
    "return redis.call(nil)",
    "return redis.call('ping', {})",
    "return redis.call('get', 1.5)",
    "return redis.pcall('nosuchcommand')",
    "return redis.sha1hex('x')",
    "redis.setresp(3) return redis.call('hgetall', KEYS[1])",
    "redis.setresp(3) return redis.call('zrange', KEYS[1], 0, -1, 'withscores')",
    "redis.setresp(3) return {redis.call('ping'), redis.call('get', 'nokey')}",
    "redis.setresp(4)",
    "return cjson.decode('[1,2')",
    "return cjson.encode({1, 2, {a = 0/0}})",
    "return cmsgpack.unpack('\\255')",
    "return cmsgpack.pack({1, {2}, 'x'})",
    "return bit.tohex(65535)",
    "return struct.unpack('>I', 'ab')",
    "error('x')",
    "error({})",
    "error()",
    "error({err='ERR custom'})",
    "return redis.error_reply(nil)",
    "return tostring(redis.call)",
    "return #KEYS + #ARGV",
    "return ARGV[1] .. KEYS[1]",
    "return tonumber(ARGV[1])",
    "return redis.call('incrbyfloat', KEYS[1], ARGV[1])",
    "return loadstring('return 1')()",
    "return setmetatable({}, {__index = function() return 1 end})",
    "local ok, e = pcall(redis.call, 'get') return e",
)


def lua_literal(arg: bytes) -> str:
    """``arg`` as a Lua string literal (every byte escaped in decimal, so any byte goes)."""
    return "'" + "".join(f"\\{byte}" for byte in arg) + "'"


@st.composite
def script(draw: st.DrawFn, catalog: Catalog) -> bytes:
    """EVAL of a script that returns something odd, or calls a random command (with
    redis.call or redis.pcall) and returns what it got."""
    if draw(st.booleans()):
        body = draw(st.sampled_from(SCRIPT_BODIES))
    else:
        argv = draw(command(catalog))
        call = draw(st.sampled_from(["redis.call", "redis.pcall"]))
        body = f"return {call}({', '.join(lua_literal(arg) for arg in argv)})"
    args = draw(st.lists(ARGUMENT, max_size=3))
    return encode_command([b"EVAL", body.encode(), b"1", draw(st.sampled_from(KEYS)), *args])


@st.composite
def session(draw: st.DrawFn, catalog: Catalog) -> bytes:
    """A connection's requests: well-formed frames, sometimes after the seed keys, in RESP3,
    or inside MULTI (closed by EXEC or not)."""
    frames = draw(st.lists(st.one_of(frame(catalog), script(catalog)), min_size=1, max_size=8))
    if draw(st.booleans()):
        frames.insert(0, SEED)
    if draw(st.integers(0, 3)) == 0:
        frames.insert(0, encode_command([b"HELLO", b"3"]))
    if draw(st.integers(0, 4)) == 0:
        at = draw(st.integers(0, len(frames)))
        frames.insert(at, encode_command([b"MULTI"]))
        if draw(st.booleans()):
            frames.append(encode_command([b"EXEC"]))
    return b"".join(frames)


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` with a few random mutations: bytes flipped, inserted, deleted or repeated,
    the end cut off, a declared length changed, an odd piece spliced in."""
    buf = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.integers(0, 7))
        pos = draw(st.integers(0, len(buf)))
        if kind == 0 and pos < len(buf):  # flip some bits of one byte
            buf[pos] ^= draw(st.integers(1, 255))
        elif kind == 1:
            buf[pos:pos] = draw(st.binary(min_size=1, max_size=4))
        elif kind == 2:
            del buf[pos : pos + draw(st.integers(1, 4))]
        elif kind == 3:  # truncate
            del buf[pos:]
        elif kind == 4:  # change a declared length or count
            starts = [i for i, byte in enumerate(buf) if byte in b"*$"]
            if starts:
                start = draw(st.sampled_from(starts))
                end = buf.find(b"\r", start)
                if end > start:
                    buf[start + 1 : end] = draw(ANY_NUMBER)
        elif kind == 5:
            buf[pos:pos] = draw(st.sampled_from(ODD_PIECES))
        elif kind == 6:  # a CR or LF removed or doubled
            crlf = [i for i, byte in enumerate(buf) if byte in b"\r\n"]
            if crlf:
                at = draw(st.sampled_from(crlf))
                if draw(st.booleans()):
                    del buf[at]
                else:
                    buf[at:at] = buf[at : at + 1]
        else:  # repeat a slice
            piece = bytes(buf[pos : pos + draw(st.integers(1, 16))])
            buf[pos:pos] = piece * draw(st.integers(1, 3))
    return bytes(buf)


@st.composite
def cuts(draw: st.DrawFn, data: bytes) -> list[bytes]:
    """``data`` cut at random points into the pieces to write one after the other."""
    if len(data) < 2:
        return [data]
    points = sorted(set(draw(st.lists(st.integers(1, len(data) - 1), max_size=6))))
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]
