"""EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT compared with redis-server, byte for byte:
conversions both ways in RESP2 and RESP3, Redis's error texts (positions and the
``script: <sha>, on @user_script:N.`` suffix included), the sandbox, script flags, the cache."""

from __future__ import annotations

import pytest

from tests.conftest import Oracle, as_argv, check_sequence
from zyst.protocol.resp import encode_command

# Scripts whose reply (or error) must be the same on both servers, run with KEYS {k1} and ARGV
# {a1, 2.5}.
SCRIPTS = [
    # Lua values to replies
    "return 1",
    "return 3.99",
    "return -3.99",
    "return 1e20",
    "return 0/0",
    "return true",
    "return false",
    "return nil",
    "return",
    "return 'x'",
    "return {1, 'two', {3, {4}}, true, false}",
    "return {1, nil, 3}",
    "return {}",
    "return {err='My Error'}",
    "return {err='ERR\\r\\nsplit'}",
    "return {ok='fine'}",
    "return {ok='a\\r\\nb'}",
    "return {double=3.5}",
    "return {double=1/0}",
    "return {map={a=1}}",
    "return {set={a=true}}",
    "return {verbatim_string={format='txt', string='hi'}}",
    "return {foo='bar'}",
    "return {1, {err='inner'}, {ok='x'}}",
    "return function() end",
    # may_replicate commands are writes to a read-only script
    "#!lua flags=no-writes\nreturn redis.call('publish', 'c', 'm')",
    "#!lua flags=no-writes\nreturn redis.pcall('publish', 'c', 'm')",
    "return KEYS",
    "return ARGV",
    "return {#KEYS, #ARGV}",
    # replies to Lua values
    "return redis.call('set', KEYS[1], 'v')",
    "return redis.call('get', KEYS[1])",
    "return type(redis.call('get', 'nokey'))",
    "return redis.call('incr', 'counter')",
    "return redis.call('incrbyfloat', 'float', '1.5')",
    "return redis.call('rpush', 'list', 'a', 'b')",
    "return redis.call('lrange', 'list', 0, -1)",
    "return redis.call('lrange', 'nokey', 0, -1)",
    "return redis.call('hset', 'h', 'f', 'v')",
    "return redis.call('hgetall', 'h')",
    "return redis.call('ping')",
    "return redis.call('get', 1.5)",
    "return redis.call('set', 'n', 10.25)",
    "return redis.call('get', 'n')",
    "return redis.call('zadd', 'z', 1.5, 'm')",
    "return redis.call('zscore', 'z', 'm')",
    "return redis.call('blpop', 'nolist', 0)",
    "return redis.call('lpop', 'nolist')",
    "return redis.pcall('lpop', 'nolist')",
    "return redis.call('brpoplpush', 'nolist', 'other', 0)",
    "return redis.call('exists', 'nokey')",
    # RESP3 inside the script
    "redis.setresp(3) return redis.call('hgetall', 'h')",
    "redis.setresp(3) return type(redis.call('get', 'nokey'))",
    "redis.setresp(3) return redis.call('zscore', 'z', 'm')",
    "redis.setresp(3) return redis.call('smembers', 'noset')",
    "redis.setresp(3) return redis.call('hgetall', 'nohash')",
    "redis.setresp(3) return {redis.call('zscore', 'z', 'm')['double']}",
    "redis.setresp(3) return true",
    # (in a table: hiredis, which reads the test's replies, takes a lone #f for "incomplete")
    "redis.setresp(3) return {false}",
    "redis.setresp(3) return {redis.call('exists', 'h') == 1}",
    # errors
    "return redis.call('incr', 'list')",
    "return redis.pcall('incr', 'list')",
    "return redis.call('nosuch')",
    "return redis.pcall('nosuch')",
    "return redis.call('get')",
    "return redis.call('eval', 'return 1', '0')",
    "return redis.call('script', 'load', 'return 1')",
    "return redis.call()",
    "return redis.pcall()",
    "return redis.call('get', {})",
    "return redis.pcall('get', {})",
    "return redis.call('get', nil)",
    "return redis.call('get', true)",
    "return pcall(redis.call, 'incr', 'list')",
    "local ok, e = pcall(redis.call, 'incr', 'list') return e",
    "local ok, e = pcall(error, {err='X'}) return e",
    "return {pcall(error, 'x')}",
    "return 1 + nil",
    "error('boom')",
    "error('boom', 0)",
    "error({err='X y'})",
    "error()",
    "error(42)",
    "local x = nil\nx.y = 1",
    "return unknown_fn()",
    "return redis.error_reply('MY err')",
    "return redis.error_reply('-X')",
    "return redis.error_reply('-X y')",
    "return redis.error_reply(1)",
    "return redis.status_reply('fine')",
    "return redis.status_reply()",
    "return redis.sha1hex('')",
    "return redis.sha1hex('abc')",
    "return redis.sha1hex()",
    "return redis.setresp(4)",
    "return redis.setresp()",
    "return redis.set_repl(9)",
    "return redis.set_repl()",
    "redis.set_repl(redis.REPL_ALL) return 1",
    "return redis.log(redis.LOG_NOTICE, 'from a script')",
    "return redis.log(9, 'x')",
    "return redis.log(1)",
    "return redis.log('x', 'y')",
    "return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING}",
    "return {redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, "
    "redis.REPL_ALL}",
    "return redis.replicate_commands()",
    "return redis.breakpoint()",
    "return redis.debug('x')",
    "return redis.REDIS_VERSION",
    "return redis.REDIS_VERSION_NUM",
    # math.random: Redis's own generator, the same sequence on both servers
    "math.randomseed(42) return {math.random(100), math.random(3, 9), tostring(math.random())}",
    "math.randomseed(7) return math.random(0)",
    "math.randomseed(7) return math.random(5, 1)",
    "math.randomseed(7) local x = math.random('a') return x",
    # the standard library that stays
    "return ('x'):rep(3)",
    "return string.format('%d-%s', 3, 'a')",
    "return table.concat({'a', 'b'}, ',')",
    "return math.floor(3.7)",
    "return tostring(_G == _G._G)",
    "return type(coroutine.create(function() end))",
    "return {type(unpack), type(loadstring), type(gcinfo), type(load), type(collectgarbage)}",
    "return getfenv",
    "return setfenv",
    "return newproxy",
    "return _VERSION",
    "local t = {} t.x = 1 return t.x",
    "local n = 0 for k, v in pairs({a=1, b=2}) do n = n + v end return n",
    "local n = 0 for i, v in ipairs({5, 6, 7}) do n = n + v end return n",
    "return loadstring('return 1 + 1')()",
    "return select('#', loadstring('syntax error'))",
]


# bit, cjson, cmsgpack and struct: outputs and errors as Redis's bundled C libraries give them.
LIBRARIES = [
    "return struct.pack('>I', 1)",
    "return struct.pack('<i', -2)",
    "return struct.pack('bBhHlLT', -1, 255, -300, 65535, -5, 7, 9)",
    "return struct.pack('!4 b i', 1, 2)",
    "return struct.pack('>d f', 1.5, 0.1)",
    "return struct.pack('c3 s', 'abcdef', 'zz')",
    "return struct.pack('c0', 'hello')",
    "return struct.pack('i16', -1)",
    "return struct.pack('i40', 1)",
    "return struct.pack('q', 1)",
    "return struct.pack('!3', 1)",
    "return struct.pack('i')",
    "return struct.pack('c5', 'ab')",
    "return struct.pack()",
    "return struct.pack('x>xI', 5)",
    "return {struct.unpack('>I', struct.pack('>I', 4000000000))}",
    "return {struct.unpack('<i h', struct.pack('<i h', -2, -3))}",
    "return {struct.unpack('bBhHlLT', struct.pack('bBhHlLT', -1, 255, -300, 65535, -5, 7, 9))}",
    "return {struct.unpack('c3 s', 'abcxyz\\0rest')}",
    "return {struct.unpack('b c0', '\\3abcdef')}",
    "return {struct.unpack('c0', 'abc')}",
    "return {struct.unpack('s', 'abc')}",
    "return {struct.unpack('>I', 'ab')}",
    "return {struct.unpack('>I', 'abcdefgh', 5)}",
    "return {struct.unpack('>I', 'abcdefgh', 0)}",
    "return {tostring(struct.unpack('>d', struct.pack('>d', 1.25)))}",
    "return {tostring(struct.unpack('<f', struct.pack('<f', 0.1)))}",
    "return {struct.unpack('!8 b d', struct.pack('!8 b d', 1, 2))}",
    "return {tostring(struct.unpack('T', struct.pack('T', -1))), struct.unpack('L', 'abcdefgh')}",
    "return struct.size('bhi!8d')",
    "return {cjson.decode('1e300'), tostring(cjson.decode('1e300')), cjson.decode('-9e18')}",
    "return {tostring(cmsgpack.unpack(cmsgpack.pack(2^64))), cmsgpack.unpack('\\207\\255')}",
    "return tostring(cmsgpack.unpack('\\207\\255\\255\\255\\255\\255\\255\\255\\255'))",
    "return struct.size('s')",
    "return struct.size('c0')",
    "return struct.size('>i4c7')",
    "return struct.size('y')",
    "return type(struct.pack)",
    "struct.pack = nil",
    "return cjson.encode({1,2,3})",
    "return cjson.encode({a=1})",
    "return cjson.encode({})",
    "return cjson.encode('a\"b/c\\\\d\\n\\1\\127\\200')",
    "return cjson.encode(1.5)",
    "return cjson.encode(1/3)",
    "return cjson.encode(1e100)",
    "return cjson.encode(123456789012345)",
    "return cjson.encode(true)",
    "return cjson.encode(nil)",
    "return cjson.encode(cjson.null)",
    "return cjson.encode({1, {2, {3}}, {x={y='z'}}})",
    "return cjson.encode({[1]=1, [3]=3})",
    "return cjson.encode({[1]=1, [30]=3})",
    "return cjson.encode({[1.5]=1})",
    "return cjson.encode({[true]=1})",
    "return cjson.encode(function() end)",
    "return cjson.encode(0/0)",
    "return cjson.encode(1/0)",
    "return cjson.encode()",
    "return cjson.encode(1, 2)",
    "local t = {} t[1] = t return cjson.encode(t)",
    "return cjson.decode('[1,2,3]')",
    'return cjson.decode(\'{"a":[1,2,{"b":"c"}]}\').a[3].b',
    "return cjson.decode('\"a\\\\u00e9\\\\ud83d\\\\ude00\"')",
    "return cjson.decode('1.5')",
    "return tostring(cjson.decode('1.5'))",
    "return cjson.decode('[1,2')",
    "return cjson.decode('{\"a\" 1}')",
    "return cjson.decode('{1:1}')",
    "return cjson.decode('[1,]')",
    "return cjson.decode('nul')",
    "return cjson.decode('')",
    "return cjson.decode('\"abc')",
    "return cjson.decode('\"a\\\\qb\"')",
    "return cjson.decode('[1] x')",
    "return cjson.decode('+1')",
    "return tostring(cjson.decode('-inf'))",
    "return tostring(cjson.decode('nan'))",
    "return cjson.decode('0x10')",
    "return type(cjson.decode('null'))",
    "return cjson.decode('[null]')",
    "return cjson.decode('{\"a\":null}')",
    "return cjson.decode()",
    "return cjson.decode({})",
    "return cjson.decode(12)",
    'return cjson.encode(cjson.decode(\'{"a":{"b":[1,2,true,false,null]}}\'))',
    "return cjson.decode('[[[[1]]]]')[1][1][1][1]",
    "return cjson.encode_max_depth(2)",
    "return cjson.encode({{{1}}})",
    "return cjson.encode_max_depth(1000)",
    "cjson.decode_max_depth(2) local ok, e = pcall(cjson.decode, '[[[1]]]') "
    "cjson.decode_max_depth(1000) return e",
    "return cjson.encode_invalid_numbers(true)",
    "return cjson.encode(0/0)",
    "return cjson.encode_invalid_numbers(false)",
    "return cjson.encode_keep_buffer(false)",
    "return {bit.tobit(0xffffffff), bit.tobit(2^32+5), bit.tobit(1.5), bit.tobit(2.5), "
    "bit.tobit(-1.5)}",
    "return {bit.band(0xff, 0x0f), bit.bor(1, 2, 4), bit.bxor(5, 3), bit.bnot(0)}",
    "return {bit.lshift(1, 31), bit.rshift(-1, 28), bit.arshift(-256, 4), "
    "bit.rol(0x80000001, 1), bit.ror(1, 1)}",
    "return {bit.tohex(255), bit.tohex(255, 2), bit.tohex(255, -4), bit.tohex(-1)}",
    "return bit.bswap(0x12345678)",
    "return bit.band('x')",
    "return bit.band()",
    "return bit.band(1, 'x')",
    "return bit.band('0x10', '3')",
    "return bit.tobit(2^53)",
    "bit.band = 1",
    "return cjson._NAME .. cjson._VERSION",
    "return cmsgpack.pack(1)",
    "return cmsgpack.pack(1, -1, 127, 128, 255, 256, 65535, 65536, 2^32, -32, -33, -128, "
    "-129, -32768, -32769, -2^31, -2^31-1)",
    "return cmsgpack.pack(1.5, 0.1, 1/0, -1/0, 2^63, -2^63, 1e300)",
    "return cmsgpack.pack('a', string.rep('x', 31), string.rep('y', 32), string.rep('z', 300))",
    "return cmsgpack.pack({1,2,3}, {a=1}, {}, true, false, nil)",
    "return cmsgpack.pack({[1]=1, [3]=3})",
    "return cmsgpack.pack(function() end)",
    "local t = {} t[1] = t return cmsgpack.pack(t)",
    "return cmsgpack.pack()",
    "return {cmsgpack.unpack(cmsgpack.pack(1, 'a', {1, 2, {x='y'}}, true))}",
    "return cmsgpack.unpack(cmsgpack.pack({1, 2, 3}))",
    "return cmsgpack.unpack('\\145')",
    "return cmsgpack.unpack('\\193')",
    "return cmsgpack.unpack()",
    "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3))}",
    "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 2)}",
    "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2)}",
    "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2, 1)}",
    "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), -1)}",
    "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 9)}",
    "return tostring(cmsgpack.unpack(cmsgpack.pack(1.5)))",
    "return tostring(cmsgpack.unpack(cmsgpack.pack(0.1)))",
    "return cmsgpack._VERSION",
    "cmsgpack.pack = 1",
    "return cjson.encode(cjson.decode(string.rep('[', 1100) .. string.rep(']', 1100)))",
    "local t = {} t[1] = t return cjson.encode(t)",
    "return cjson.encode_keep_buffer(false)",
]


@pytest.mark.parametrize("script", LIBRARIES)
def test_libraries(oracle: Oracle, script: str) -> None:
    oracle.check("EVAL", script, 0)


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_replies(o: Oracle, script: str) -> None:
    o.check("RPUSH", "list", "x")
    o.check("EVAL", script, 1, "k1", "a1", "2.5")


# Escapes from the sandbox and writes to protected tables: each refused with Redis's error.
SANDBOX = [
    "setmetatable(_G, {})",
    "local g = getmetatable(_G)\ng.__index = {}",
    "redis = function() return 1 end",
    "_G = {}",
    "foo = 1",
    "_G.foo = 1",
    "rawset(_G, 'foo', 1)",
    "redis.call = function() return 1 end",
    "string.upper = 1",
    "math.random = nil",
    "table.insert = nil",
    "coroutine.x = 1",
    "KEYS = 1",
    "return foo",
    "return os",
    "return io",
    "return debug",
    "return require",
    "return package",
    "return module",
    "loadfile('some file')",
    "dofile('some file')",
    "print('some data')",
    "return python",
    "return loadstring(string.dump(function() return 1 end))()",
    "return type(getmetatable(''))",
    "getmetatable('').__index = nil",
    "getmetatable('').__index.upper = nil",
    "return type(getmetatable(redis.call))",
    "return (tostring(redis.call):gsub('0x%x+', 'address'))",
    "return (tostring(cjson.encode):gsub('0x%x+', 'address'))",
    "local s = tostring() return s",
    "local s = type() return s",
    "return type(getmetatable(cjson.null))",
    "local f = loadstring('x = 1') f()",
    "local co = coroutine.wrap(function() y = 1 end) co()",
    "return getmetatable(_G).__index",
]


@pytest.mark.parametrize("script", SANDBOX)
def test_sandbox(oracle: Oracle, script: str) -> None:
    oracle.check("EVAL", script, 0)
    # The server is still up and the globals untouched.
    oracle.check("EVAL", "return {type(redis.call), type(string.upper), ('x'):rep(2)}", 0)
    oracle.check("EVAL", "return type(print)", 0)
    oracle.check("PING")


def test_keys_and_arguments(o: Oracle) -> None:
    check_sequence(
        o,
        [
            ("EVAL", "return {KEYS[1], KEYS[2], ARGV[1], ARGV[2]}", 2, "a", "b", "c", "d"),
            ("EVAL", "return {#KEYS, #ARGV}", 0),
            ("EVAL", "return 1", 2, "a"),
            ("EVAL", "return 1", -1),
            ("EVAL", "return 1", "x"),
            ("EVAL", "return 1"),
        ],
        {0: b"*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n"},
    )


def test_script_cache(oracle: Oracle) -> None:
    sha = "1b936e3fe509bcbc9cd0664897bbe8fd0cac101b"
    check_sequence(
        oracle,
        [
            ("SCRIPT", "FLUSH"),
            ("EVALSHA", sha, 0),
            ("EVALSHA", "fff", 0),
            ("SCRIPT", "EXISTS", sha, "00"),
            ("SCRIPT", "LOAD", "return 'hello'"),
            ("SCRIPT", "EXISTS", sha, sha.upper(), "00"),
            ("EVALSHA", sha, 0),
            ("EVALSHA", sha.upper(), 0),
            ("EVALSHA_RO", sha, 0),
            ("SCRIPT", "LOAD", "return ("),
            ("SCRIPT", "FLUSH", "x"),
            ("SCRIPT", "FLUSH", "SYNC", "x"),
            ("SCRIPT", "FLUSH", "ASYNC"),
            ("SCRIPT", "EXISTS", sha),
            ("EVAL", "return 'hello'", 0),
            ("SCRIPT", "EXISTS", sha),
            ("SCRIPT", "FLUSH", "sync"),
            ("SCRIPT", "KILL"),
            ("SCRIPT", "HELP"),
            ("SCRIPT", "NOPE"),
            ("SCRIPT",),
        ],
        {4: b"$40\r\n" + sha.encode() + b"\r\n", 7: b"$5\r\nhello\r\n"},
    )


def test_globals_survive_between_scripts_until_flush(oracle: Oracle) -> None:
    check_sequence(
        oracle,
        [
            ("SCRIPT", "FLUSH"),
            ("EVAL", "return type(KEYS)", 0),
            ("EVAL", "local f = function() return 1 end return f()", 0),
        ],
        {},
    )


SHEBANGS = [
    "#!lua flags=no-writes\nreturn redis.call('set', 'x', 'y')",
    "#!lua flags=no-writes\nreturn redis.call('get', 'x')",
    "#!lua flags=no-writes,allow-oom\nreturn 1",
    "#!lua flags=bad\nreturn 1",
    "#!lua\nreturn redis.call('set', 'x', 'y')",
    "#!lua name=x\nreturn 1",
    "#!python\nreturn 1",
    "#!lua\nerror('x')",
    "#!lua",
    "#!\nreturn 1",
    "#!lua flags=\nreturn 1",
]


@pytest.mark.parametrize("script", SHEBANGS)
def test_shebang_flags(oracle: Oracle, script: str) -> None:
    oracle.check("EVAL", script, 0)
    oracle.check("EVAL_RO", script, 0)


def test_read_only_scripts(oracle: Oracle) -> None:
    check_sequence(
        oracle,
        [
            ("SET", "k", "v"),
            ("EVAL_RO", "return redis.call('get', KEYS[1])", 1, "k"),
            ("EVAL_RO", "return redis.call('set', KEYS[1], 'w')", 1, "k"),
            ("EVAL_RO", "return redis.pcall('del', KEYS[1])", 1, "k"),
            ("GET", "k"),
        ],
        {1: b"$1\r\nv\r\n", 4: b"$1\r\nv\r\n"},
    )


def test_select_inside_a_script_stays_inside(oracle: Oracle) -> None:
    check_sequence(
        oracle,
        [
            ("SELECT", "1"),
            ("EVAL", "redis.call('select', '2') return redis.call('set', 'k', 'in2')", 0),
            ("SET", "k", "in1"),
            ("SELECT", "2"),
            ("GET", "k"),
            ("SELECT", "1"),
            ("GET", "k"),
            ("EVAL", "return redis.call('get', 'k')", 0),
            ("SELECT", "0"),
        ],
        {4: b"$3\r\nin2\r\n", 6: b"$3\r\nin1\r\n", 7: b"$3\r\nin1\r\n"},
    )


@pytest.mark.parametrize(
    "script",
    [
        "return redis.pcall('incr', KEYS[1])",
        "return redis.call('incr', KEYS[1])",
        "return {1, redis.pcall('incr', KEYS[1]), {err='NESTED error'}}",
        "local ok = pcall(redis.call, 'incr', KEYS[1]) return 1",
        "return {err='MY error'}",
        "error({err='RAISED error'})",
        "error('plain')",
        "return redis.call('nosuch')",
        "return redis.pcall('nosuch')",
    ],
)
def test_errors_are_counted(oracle: Oracle, script: str) -> None:
    # Every error reply counts once, whether a command made it inside the script or the
    # script returned or raised it, nested ones included.
    oracle.check("RPUSH", "list", "x")
    oracle.check("CONFIG", "RESETSTAT")
    oracle.run("EVAL", script, 1, "list")
    ours, theirs = oracle.run("INFO", "stats")
    field = b"total_error_replies:"
    assert (
        ours[ours.index(field) :].split(b"\r\n")[0]
        == theirs[theirs.index(field) :].split(b"\r\n")[0]
    )
    oracle.check("INFO", "errorstats")


def test_sort_of_a_set_by_a_constant_is_sorted_in_scripts(oracle: Oracle) -> None:
    check_sequence(
        oracle,
        [
            ("SADD", "myset", "z", "a", "aa", "b", "c", "azz", "aaa"),
            ("EVAL", "return redis.call('sort', KEYS[1], 'by', '_')", 1, "myset"),
            (
                "EVAL",
                "return redis.call('sort', KEYS[1], 'by', '_', 'get', '#', 'get', '_:*')",
                1,
                "myset",
            ),
        ],
        {
            1: b"*7\r\n$1\r\na\r\n$2\r\naa\r\n$3\r\naaa\r\n$3\r\nazz\r\n"
            b"$1\r\nb\r\n$1\r\nc\r\n$1\r\nz\r\n"
        },
    )


def test_a_reply_nested_past_the_lua_stack_limit(oracle: Oracle) -> None:
    # A table holding itself through another: Redis sends arrays until its Lua stack is full.
    # (Read as bytes: hiredis refuses replies nested this deep.)
    script = "local a = {}; local b = {a}; a[1] = b; return a"
    end = b"-ERR reached lua stack limit\r\n"
    replies = []
    for connection in (oracle.zyst, oracle.redis):
        connection.send_raw(encode_command(as_argv(("EVAL", script, 0))))
        raw = b""
        while not raw.endswith(end):
            chunk = connection.sock.recv(65536)
            assert chunk, raw[-100:]
            raw += chunk
        replies.append(raw)
    assert replies[0] == replies[1]
    assert replies[0] == b"*1\r\n" * 7995 + end
    oracle.check("PING")


# -- functions ---------------------------------------------------------------------------------
LIBRARY = (
    "#!lua name=mylib\n"
    "redis.register_function('myfunc', function(keys, args) "
    "return {keys[1], args[1], redis.call('ping')} end)\n"
    "redis.register_function{function_name='ro', callback=function(keys, args) "
    "return redis.call('get', keys[1]) end, flags={'no-writes', 'allow-oom'}, "
    "description='read only'}"
)
ONE_FUNCTION = (
    "#!lua name=one\n"
    "redis.register_function{function_name='only', callback=function(keys, args) return 1 end, "
    "flags={'allow-stale', 'no-cluster'}, description='the one'}"
)


def test_function_load_and_fcall(o: Oracle) -> None:
    check_sequence(
        o,
        [
            ("FUNCTION", "FLUSH"),
            ("FUNCTION", "LOAD", LIBRARY),
            ("FUNCTION", "LOAD", LIBRARY),
            ("FUNCTION", "LOAD", "REPLACE", LIBRARY),
            ("FUNCTION", "LOAD", "replace", "replace", LIBRARY),
            ("SET", "k", "v"),
            ("FCALL", "myfunc", 1, "k", "a"),
            ("FCALL", "ro", 1, "k"),
            ("FCALL_RO", "ro", 1, "k"),
            ("FCALL_RO", "myfunc", 1, "k", "a"),
            ("FCALL", "nofunc", 0),
            ("FCALL", "myfunc", "x"),
            ("FCALL", "myfunc", 5),
            ("FCALL", "myfunc", -1),
            ("FUNCTION", "LOAD", ONE_FUNCTION),
            ("FUNCTION", "LIST", "LIBRARYNAME", "on*"),
            ("FUNCTION", "LIST", "libraryname", "ON*", "WITHCODE"),
            ("FUNCTION", "LIST", "LIBRARYNAME", "zz*"),
            ("FUNCTION", "LIST", "LIBRARYNAME"),
            ("FUNCTION", "LIST", "bad"),
            ("FUNCTION", "LIST", "WITHCODE", "WITHCODE"),
            ("FUNCTION", "STATS"),
            ("FUNCTION", "DELETE", "mylib"),
            ("FUNCTION", "DELETE", "mylib"),
            ("FCALL", "myfunc", 0),
            ("FUNCTION", "LIST"),
            ("FUNCTION", "STATS"),
            ("FUNCTION", "FLUSH", "bad"),
            ("FUNCTION", "FLUSH", "SYNC", "x"),
            ("FUNCTION", "FLUSH", "ASYNC"),
            ("FUNCTION", "LIST"),
            ("FUNCTION", "KILL"),
            ("FUNCTION", "HELP"),
            ("FUNCTION", "LOAD"),
            ("FUNCTION", "LOAD", "x", "y"),
            ("FUNCTION", "LOAD", "REPLACE"),
        ],
        {1: b"$5\r\nmylib\r\n", 6: b"*3\r\n$1\r\nk\r\n$1\r\na\r\n+PONG\r\n"},
    )


BAD_LIBRARIES = [
    "return 1",
    "#!lua\nreturn 1",
    "#!lua name=a name=b\nreturn 1",
    "#!lua foo=bar\nreturn 1",
    "#!lua NAME=upper\nredis.register_function('upper_f', function() return 1 end)",
    "#!lua name=bad-name\nreturn 1",
    "#!python name=x\nreturn 1",
    "#!lua name=x",
    "#!lua name=x\nreturn 1",
    "#!lua name=x\nreturn (",
    "#!lua name=x\nredis.call('ping')",
    "#!lua name=x\nredis.register_function('f1', function() return 1 end)\n"
    "redis.register_function('f1', function() return 1 end)",
    "#!lua name=x\nredis.register_function('bad name', function() return 1 end)",
    "#!lua name=x\nredis.register_function('f2')",
    "#!lua name=x\nredis.register_function(1, 2, 3)",
    "#!lua name=x\nredis.register_function{function_name='f3', callback=function() end, "
    "flags={'bad'}}",
    "#!lua name=x\nredis.register_function{function_name='f3', callback=function() end, foo=1}",
    "#!lua name=x\nredis.register_function{callback=function() end}",
    "#!lua name=x\nredis.register_function{function_name='f3'}",
    "#!lua name=x\nredis.register_function('f3', 'notfn')",
    "#!lua name=x\nredis.register_function('f3', function() end, 3)",
    "#!lua name=x\nlocal a = string.format('x')",
    "#!lua name=x\nerror('boom')",
    "#!lua name=x\nerror({err='X table'})",
    "#!lua name=x\nfoo = 1",
    "#!lua name=x\nredis.register_function('f4', function() return 1 end) redis.x = 1",
]


@pytest.mark.parametrize("code", BAD_LIBRARIES)
def test_function_load_errors(oracle: Oracle, code: str) -> None:
    oracle.check("FUNCTION", "FLUSH")
    oracle.check(
        "FUNCTION",
        "LOAD",
        "#!lua name=taken\nredis.register_function('f1', function() return 1 end)",
    )
    oracle.check("FUNCTION", "LOAD", code)
    oracle.check("FUNCTION", "LIST", "LIBRARYNAME", "taken")
    oracle.check("FUNCTION", "FLUSH")


FUNCTION_BODIES = [
    "return redis.call('incr', 'list')",
    "return redis.pcall('incr', 'list')",
    "error('boom')",
    "return foo",
    "redis.register_function('x', function() end)",
    "return {string.format('%d', 3), cjson.encode({1}), type(redis.breakpoint), "
    "type(redis.setresp), type(redis.register_function)}",
    "return __redis__err__handler",
    "return {#keys, #args, keys[1], args[1]}",
    "return KEYS",
    "return redis.setresp(3)",
    "redis.setresp(3) return redis.call('hgetall', 'nohash')",
    "return redis.call('set', 'x', 'y')",
    "return redis.log(redis.LOG_NOTICE, 'from a function')",
]


@pytest.mark.parametrize("body", FUNCTION_BODIES)
def test_fcall_replies(o: Oracle, body: str) -> None:
    o.check("RPUSH", "list", "a")
    o.check(
        "FUNCTION",
        "LOAD",
        "REPLACE",
        f"#!lua name=lib\nredis.register_function('f', function(keys, args)\n{body}\nend)",
    )
    o.check("FCALL", "f", 1, "k1", "a1")
    o.check("FCALL_RO", "f", 1, "k1", "a1")
    o.check("FUNCTION", "FLUSH")


def test_function_names_and_load_timeout(oracle: Oracle) -> None:
    check_sequence(
        oracle,
        [
            ("FUNCTION", "FLUSH"),
            # Code that never ends is stopped after Redis's load timeout (half a second).
            ("FUNCTION", "LOAD", "#!lua name=lib\nlocal a = 1\nwhile 1 do a = a + 1 end"),
            (
                "FUNCTION",
                "LOAD",
                "#!lua name=lib\nredis.register_function('test', function() return 'hello1' end)",
            ),
            # FCALL finds a function in any case; another library may not take the name in
            # another case; a library name is exact.
            ("FCALL", "TEST", 0),
            ("FCALL", "Test", 0),
            (
                "FUNCTION",
                "LOAD",
                "#!lua name=lib2\nredis.register_function('TEST', function() return 2 end)",
            ),
            ("FUNCTION", "DELETE", "LIB"),
            ("FUNCTION", "LIST", "LIBRARYNAME", "lib2"),
            ("FUNCTION", "FLUSH"),
        ],
        {
            1: b"-ERR Error registering functions: ERR FUNCTION LOAD timeout\r\n",
            3: b"$6\r\nhello1\r\n",
        },
    )


def _memory_info(raw: bytes) -> dict[str, str]:
    lines = raw.split(b"\r\n")[1:]
    return dict(
        line.decode().split(":", 1) for line in lines if b":" in line and not line.startswith(b"#")
    )


def test_info_memory_counts_scripts_and_libraries_as_redis_does(oracle: Oracle) -> None:
    """INFO memory's script figures: the counts exactly, the Lua and source sizes present and
    moving the way Redis's do (its own figures depend on its allocator)."""
    oracle.check("SCRIPT", "FLUSH")
    oracle.check("FUNCTION", "FLUSH")
    library = "#!lua name=memlib\nredis.register_function('f1', function() return 1 end)"
    try:
        for index in range(5):
            oracle.check("SCRIPT", "LOAD", f"return {index}")
        oracle.check("FUNCTION", "LOAD", library)
        ours, theirs = (_memory_info(raw) for raw in oracle.run("INFO", "memory"))
        counts = ("number_of_cached_scripts", "number_of_functions", "number_of_libraries")
        assert (
            [ours[name] for name in counts]
            == [theirs[name] for name in counts]
            == [
                "5",
                "1",
                "1",
            ]
        )
        scripted = [name for name in theirs if "lua" in name or "script" in name or "vm_" in name]
        assert [name for name in ours if name in scripted] == scripted
        assert int(ours["used_memory_scripts_eval"]) > 0
        assert int(ours["used_memory_functions"]) >= len(library)
        oracle.check("SCRIPT", "FLUSH")
        ours, theirs = (_memory_info(raw) for raw in oracle.run("INFO", "memory"))
        assert ours["number_of_cached_scripts"] == theirs["number_of_cached_scripts"] == "0"
        assert ours["used_memory_scripts_eval"] == "0"
    finally:
        oracle.check("FUNCTION", "FLUSH")


def test_lua_memory_stays_small_over_many_scripts(oracle: Oracle) -> None:
    """Redis's own check that EVAL leaks nothing in the Lua VM: after 10,000 scripts its
    memory stays under 100 KB (garbage is collected in steps every 50 runs, as in Redis)."""
    oracle.check("SCRIPT", "FLUSH")
    oracle.check("SET", "x", "0")
    for conn in (oracle.zyst, oracle.redis):
        conn.pipeline([("EVAL", "return redis.call('incr', KEYS[1])", "1", "x")] * 10_000)
    oracle.check("GET", "x")
    for raw in oracle.run("INFO", "memory"):
        assert int(_memory_info(raw)["used_memory_lua"]) < 100 * 1024
