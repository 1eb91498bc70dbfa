"""The Lua side of the sandbox: the code that builds, once per interpreter, the globals scripts
see (Redis's ``scriptingInit``), given the Python functions it hands to them.

It runs as the chunk :data:`SOURCE` with the bridge functions as its arguments, so they stay
locals (upvalues) no script can reach once ``debug`` is gone. It returns the functions Python
needs: the error handler, the raw globals table and the helpers that convert replies.

Redis marks the global table and every table reachable from it read-only inside its patched Lua
core; stock Lua 5.1 has no such flag, so each of those tables is replaced by an empty *proxy*
whose metatable reads through to the real table and refuses every write with Redis's message.
``rawset``, ``setmetatable``, ``getmetatable``, ``next``, ``pairs`` and ``ipairs`` are wrapped to
treat a proxy as the table it stands for. The functions defined here carry the chunk name
:data:`CHUNK`; the error handler looks past them (and the C functions they call) to the script's
own frame, as Redis's looks past its C functions.
"""

from __future__ import annotations

from typing import Final

CHUNK: Final = "=zyst"

SOURCE: Final = r"""
local mode, bridge_call, bridge_pcall, bridge_log, bridge_setresp, bridge_set_repl,
      bridge_sha1hex, bridge_random, bridge_randomseed, bridge_known_command, bridge_unwrap,
      bridge_register, bridge_load_expired, bridge_interrupt, libs = ...
local EVAL = mode == "eval"

local G = getfenv(0)
local setfenv = setfenv
local type, tostring, select, error, unpack = type, tostring, select, error, unpack
local raw_pcall, raw_rawget, raw_rawset = pcall, rawget, rawset
local raw_setmetatable, raw_getmetatable, raw_next = setmetatable, getmetatable, next
local str_format, str_sub, str_byte, floor = string.format, string.sub, string.byte, math.floor
local dbg = debug
local OURS = "=zyst"

-- What scripts must not have (Redis never loads os, io and package; print, dofile and
-- loadfile it removes; debug goes once the error handler holds it).
-- (Redis 7.0.15's builds drop getfenv, setfenv and newproxy as well.)
local newproxy = newproxy
for _, name in ipairs({"io", "os", "package", "require", "module", "print", "dofile",
                       "loadfile", "debug", "python", "getfenv", "setfenv", "newproxy"}) do
  G[name] = nil
end

-- -- read-only tables -----------------------------------------------------------------------
local string_meta  -- what getmetatable("") answers: the strings' metatable, read-only
local real_of = raw_setmetatable({}, {__mode = "k"})   -- proxy -> the table it stands for
local fake_meta = raw_setmetatable({}, {__mode = "k"}) -- proxy -> what getmetatable answers

local function readonly_write()
  error("Attempt to modify a readonly table", 0)
end
local function readonly_newindex(t, k, v)
  error("Attempt to modify a readonly table", 2)
end

local function protect(t, index)
  local proxy = {}
  real_of[proxy] = t
  raw_setmetatable(proxy, {__index = index or t, __newindex = readonly_newindex,
                           __metatable = false})
  return proxy
end

local function protect_all(t, done)
  for k, v in raw_next, t do
    if type(v) == "table" and not real_of[v] then
      local proxy = done[v]
      if not proxy then
        proxy = protect(v)
        done[v] = proxy
        protect_all(v, done)
      end
      t[k] = proxy
    end
  end
end

-- While a FUNCTION library loads, its globals are the load-time API (load_api), not G.
local loading, load_api = false, nil
local function missing_global(t, name)
  local value = raw_rawget(loading and load_api or G, name)
  if value == nil then
    -- (A lookup from C is lupa's own, looking for debug.traceback: it gets nil.)
    local caller = dbg.getinfo(2, "S")
    if not caller or caller.what == "C" then return nil end
    error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
  end
  return value
end

G.rawset = function(t, k, v)
  if real_of[t] then readonly_write() end
  return raw_rawset(t, k, v)
end
G.setmetatable = function(t, mt)
  if real_of[t] then readonly_write() end
  return raw_setmetatable(t, mt)
end
G.getmetatable = function(t)
  if real_of[t] then return fake_meta[t] end
  -- (A Python function's metatable is lupa's: scripts must not reach it.)
  if type(t) == "userdata" then return nil end
  if type(t) == "string" then return string_meta end
  return raw_getmetatable(t)
end
G.rawget = function(t, k)
  local real = real_of[t]
  return raw_rawget(real or t, k)
end
local function next_of(t, k)
  return raw_next(real_of[t] or t, k)
end
G.next = next_of
G.pairs = function(t)
  local real = real_of[t]
  if real then return raw_next, real, nil end
  return raw_next, t, nil
end
local function ipairs_step(t, i)
  i = i + 1
  local v = t[i]
  if v ~= nil then return i, v end
end
G.ipairs = function(t)
  if type(t) ~= "table" then
    error("bad argument #1 to 'ipairs' (table expected, got " .. type(t) .. ")", 2)
  end
  return ipairs_step, real_of[t] or t, 0
end

-- Binary chunks are refused (Redis's Lua does not load them).
local raw_loadstring, raw_load = loadstring, load
G.loadstring = function(s, name)
  if type(s) == "string" and str_byte(s, 1) == 27 then
    return nil, "binary chunks are not allowed"
  end
  return raw_loadstring(s, name)
end

-- -- pcall: errors raised as tables reach the script as their message ----------------------
local function pack(...) return {n = select("#", ...), ...} end
G.pcall = function(f, ...)
  local r = pack(raw_pcall(f, ...))
  if not r[1] then
    local e = r[2]
    if type(e) == "userdata" then e = bridge_unwrap(e) end
    if type(e) == "table" then
      local msg = raw_rawget(e, "err")
      if type(msg) == "string" or type(msg) == "number" then e = msg end
    end
    return false, e
  end
  return unpack(r, 1, r.n)
end

-- -- the redis table -------------------------------------------------------------------------
local function error_table(msg)
  -- Redis's luaPushErrorBuff: "-CODE rest" keeps its code, anything else gets ERR.
  local code, rest = "ERR", msg
  if str_sub(msg, 1, 1) == "-" then
    local space = string.find(msg, " ", 1, true)
    if space then
      code, rest = str_sub(msg, 2, space - 1), str_sub(msg, space + 1)
    else
      rest = str_sub(msg, 2)
    end
  end
  rest = string.gsub(rest, "^[\r\n]+", "")
  rest = string.gsub(rest, "[\r\n]+$", "")
  return {err = code .. " " .. rest}
end

local redis = {}
redis.call = bridge_call
redis.pcall = bridge_pcall
redis.sha1hex = bridge_sha1hex
redis.error_reply = function(...)
  local s = ...
  if select("#", ...) ~= 1 or type(s) ~= "string" then
    return error_table("wrong number or type of arguments")
  end
  if str_sub(s, 1, 1) ~= "-" then s = "-" .. s end
  return error_table(s)
end
redis.status_reply = function(...)
  local s = ...
  if select("#", ...) ~= 1 or type(s) ~= "string" then
    return error_table("wrong number or type of arguments")
  end
  return {ok = s}
end
redis.log = bridge_log
redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3
redis.setresp = bridge_setresp
redis.set_repl = bridge_set_repl
redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL =
  0, 1, 2, 2, 3
if EVAL then
  redis.replicate_commands = function() return true end
  redis.breakpoint = function() return false end
  redis.debug = function() end
end
redis.acl_check_cmd = function(...)
  local n = select("#", ...)
  if n == 0 then
    error(error_table("Please specify at least one argument for this redis lib call"))
  end
  for i = 1, n do
    local v = select(i, ...)
    if type(v) ~= "string" and type(v) ~= "number" then
      error(error_table("Lua redis lib command arguments must be strings or integers"))
    end
  end
  local argv = {...}
  for i = 1, n do
    if type(argv[i]) == "number" then argv[i] = str_format("%.17g", argv[i]) end
  end
  local known = bridge_known_command(argv, n)
  if known == 0 then error(error_table("Invalid command passed to redis.acl_check_cmd()")) end
  return known == 1
end
redis.REDIS_VERSION_NUM = 0x0007000f
redis.REDIS_VERSION = "7.0.15"
G.redis = redis

-- math.random as Redis's (its own lrand48: the same sequence on every machine).
math.random = bridge_random
math.randomseed = bridge_randomseed

for name, lib in raw_next, libs do G[name] = lib end

-- -- type: the Python functions scripts call are functions to them, as Redis's C ones are --
-- (Each stands for itself in tostring by a Lua function of its own: "function: 0x...".)
local python_functions = raw_setmetatable({}, {__mode = "k"})
local function mark(t)
  for k, v in raw_next, t do
    if type(v) == "userdata" and k ~= "null" then
      python_functions[v] = tostring(function() end)
    end
  end
end
mark(redis)
mark(math)
for _, lib in raw_next, libs do mark(lib) end
local raw_type, raw_tostring = type, tostring
G.tostring = function(...)
  if select("#", ...) == 0 then error("bad argument #1 to 'tostring' (value expected)", 2) end
  return python_functions[(...)] or raw_tostring((...))
end
G.type = function(...)
  if select("#", ...) == 0 then error("bad argument #1 to 'type' (value expected)", 2) end
  local t = raw_type((...))
  if t == "userdata" and python_functions[(...)] then return "function" end
  return t
end

-- -- the error handler -------------------------------------------------------------------------
local function ours(info) return info and info.source == OURS end
local function err_handler(err)
  local level = 2
  local i = dbg.getinfo(level, "nSl")
  if i and i.what == "C" and ours(dbg.getinfo(level + 1, "nSl")) then
    level = level + 1
    i = dbg.getinfo(level, "nSl")
  end
  if ours(i) then
    repeat
      level = level + 1
      i = dbg.getinfo(level, "nSl")
    until not ours(i)
  elseif i and i.what == "C" then
    i = dbg.getinfo(level + 1, "nSl")
  end
  if type(err) == "userdata" then err = bridge_unwrap(err) end
  if type(err) ~= "table" then
    err = {err = "ERR " .. tostring(err)}
  end
  if i then
    err.source = i.source
    err.line = i.currentline
  end
  return err
end
if EVAL then G.__redis__err__handler = err_handler end

-- -- the API a FUNCTION library sees while it loads ---------------------------------------
local function strict_index(real)
  return function(t, name)
    local value = raw_rawget(real, name)
    if value == nil then
      error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
    end
    return value
  end
end
local load_redis = {register_function = bridge_register, log = bridge_log,
                    LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3,
                    REDIS_VERSION_NUM = redis.REDIS_VERSION_NUM,
                    REDIS_VERSION = redis.REDIS_VERSION}
mark(load_redis)
load_api = {redis = protect(load_redis, strict_index(load_redis))}

-- -- lock everything -----------------------------------------------------------------------
local done = {}
protect_all(G, done)
local globals_meta = protect({__index = missing_global})
local proxy_G = {}
real_of[proxy_G] = G
fake_meta[proxy_G] = globals_meta
raw_setmetatable(proxy_G, {__index = missing_global, __newindex = readonly_newindex,
                           __metatable = false})
G._G = proxy_G
raw_getmetatable("").__index = done[string] or string
string_meta = protect(raw_getmetatable(""))
setfenv(0, proxy_G)

local exported = {}
exported.handler = err_handler
exported.set_global = function(name, value) raw_rawset(G, name, value) end

-- luaL_where(L, 1) as seen from a Python function Lua called: "user_script:1: ".
exported.where = function()
  local i = dbg.getinfo(3, "Sl")
  if i and i.currentline > 0 then return i.short_src .. ":" .. i.currentline .. ": " end
  return ""
end

-- A script or function that runs long is watched by a count hook (Redis's luaMaskCountHook):
-- every 100,000 instructions Python is asked (bridge_interrupt) whether the script has been
-- killed, and, once it has run past busy-reply-threshold, serves the other clients meanwhile
-- (zyst.busy). A killed script gets an error, raised again on every line from then on, so
-- that no pcall can catch it for good.
local function run_interrupt()
  local running = dbg.getinfo(2, "S")
  if running and running.source == OURS then return end
  if bridge_interrupt() then
    dbg.sethook(run_interrupt, "l")
    error({err = "ERR Script killed by user with SCRIPT KILL..."})
  end
end

-- A script (no arguments) or a function (its KEYS and ARGV tables) run under the handler.
exported.run = function(f, handler, keys, args)
  local ok, value
  dbg.sethook(run_interrupt, "", 100000)
  if keys then
    ok, value = xpcall(function() return f(keys, args) end, handler)
  else
    ok, value = xpcall(f, handler)
  end
  dbg.sethook()
  return {ok, value}
end

-- A library's code run with the load-time API as its globals.
-- Code that runs too long is stopped (Redis's FUNCTION LOAD timeout): a count hook asks
-- Python whether the deadline passed, then raises on every line so that no pcall outlives it.
local function load_timeout()
  -- (Never in our own code: the line hook is still on when pcall returns to exported.load.)
  local running = dbg.getinfo(2, "S")
  if running and running.source == OURS then return end
  if bridge_load_expired() then
    dbg.sethook(load_timeout, "l")
    error({err = "ERR FUNCTION LOAD timeout"})
  end
end
exported.load = function(f)
  loading = true
  dbg.sethook(load_timeout, "", 100000)
  local ok, err = raw_pcall(f)
  dbg.sethook()
  loading = false
  if not ok and type(err) == "userdata" then err = bridge_unwrap(err) end
  return {ok, err}
end

return exported
"""
