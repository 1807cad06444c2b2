-- Builds the scripting environment: the `redis` API, `bit`, `cjson`, a
-- reduced `os`, read-only library tables and the read-only globals proxy
-- that every script runs in. Receives the native helpers in `rt`.
local rt = ...
local G = _G
local rawget, rawset, setmetatable, error, type, tostring, next, pairs, select, xpcall, setfenv, loadstring, load, ipairs =
      rawget, rawset, setmetatable, error, type, tostring, next, pairs, select, xpcall, setfenv, loadstring, load, ipairs

local redis = {}
local call_raw = rt.call_raw
redis.call = rt.call
redis.pcall = function(...)
  local _, v = call_raw(...)
  return v
end
redis.sha1hex = rt.sha1hex
redis.error_reply = rt.error_reply
redis.status_reply = rt.status_reply
redis.log = rt.log
redis.setresp = rt.setresp
redis.acl_check_cmd = rt.acl_check_cmd
redis.set_repl = rt.set_repl
redis.replicate_commands = function() return true end
redis.breakpoint = function() return false end
redis.debug = function() end
redis.LOG_DEBUG = 0
redis.LOG_VERBOSE = 1
redis.LOG_NOTICE = 2
redis.LOG_WARNING = 3
redis.REPL_NONE = 0
redis.REPL_AOF = 1
redis.REPL_SLAVE = 2
redis.REPL_REPLICA = 2
redis.REPL_ALL = 3
redis.REDIS_VERSION = rt.version
redis.REDIS_VERSION_NUM = rt.version_num

local bit = {}
for k, v in pairs(rt.bit) do bit[k] = v end

local cjson = {
  encode = rt.cjson_encode,
  decode = rt.cjson_decode,
  null = rt.cjson_null,
  _NAME = "cjson",
  _VERSION = "2.1.0",
}

local cmsgpack = {
  pack = rt.cmsgpack_pack,
  unpack = rt.cmsgpack_unpack,
  unpack_one = rt.cmsgpack_unpack_one,
  unpack_limit = rt.cmsgpack_unpack_limit,
  _NAME = "cmsgpack",
  _VERSION = "lua-cmsgpack 0.4.0",
  _COPYRIGHT = "Copyright (C) 2012, Salvatore Sanfilippo",
  _DESCRIPTION = "MessagePack C implementation for Lua",
}

local struct = {
  pack = rt.struct_pack,
  unpack = rt.struct_unpack,
  size = rt.struct_size,
}

G.redis = redis
G.cmsgpack = cmsgpack
G.struct = struct
G.bit = bit
G.cjson = cjson
G.os = { clock = G.os.clock }
G.__redis__err__handler = rt.handler

local allowed = {
  -- libraries
  string = true, cjson = true, bit = true, cmsgpack = true, struct = true, math = true, table = true,
  os = true,
  coroutine = true,
  -- the API
  redis = true, __redis__err__handler = true,
  -- builtins
  xpcall = true, tostring = true, setmetatable = true, next = true, assert = true, tonumber = true,
  rawequal = true, collectgarbage = true, getmetatable = true, rawset = true, rawget = true, pcall = true,
  type = true, _G = true, select = true, unpack = true, gcinfo = true, pairs = true, loadstring = true,
  load = true, ipairs = true, error = true, _VERSION = true,
}
local drop = {}
for k in pairs(G) do
  if not allowed[k] then drop[#drop + 1] = k end
end
for _, k in ipairs(drop) do rawset(G, k, nil) end

-- Read-only proxies: reads go to the real table, writes fail.
local real_of = setmetatable({}, { __mode = "k" })
local function ro_newindex()
  error("Attempt to modify a readonly table", 2)
end
local function readonly(t)
  local p = {}
  real_of[p] = t
  return setmetatable(p, { __index = t, __newindex = ro_newindex, __metatable = false })
end
for _, name in ipairs({"string", "cjson", "bit", "cmsgpack", "struct", "math", "table", "os", "coroutine", "redis"}) do
  rawset(G, name, readonly(rawget(G, name)))
end

local env = {}
real_of[env] = G
setmetatable(env, {
  __index = function(_, k)
    local v = rawget(G, k)
    if v == nil then
      error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
    end
    return v
  end,
  __newindex = ro_newindex,
  __metatable = false,
})

local raw_next = next
local function pnext(t, k)
  local r = real_of[t]
  if r ~= nil then return raw_next(r, k) end
  return raw_next(t, k)
end
G.next = pnext
G.pairs = function(t)
  if real_of[t] ~= nil then return pnext, t, nil end
  return pairs(t)
end
G.rawget = function(t, k)
  local r = real_of[t]
  if r ~= nil then return rawget(r, k) end
  return rawget(t, k)
end
G.rawset = function(t, k, v)
  if real_of[t] ~= nil then error("Attempt to modify a readonly table", 0) end
  return rawset(t, k, v)
end
-- pcall gives the message of an error table raised by redis.call, as Redis's does.
local raw_pcall = pcall
local killed = rt.killed
local function pcall_result(ok, ...)
  if ok then return ok, ... end
  local e = ...
  -- A killed script must not be able to catch its own termination.
  if killed() then error(e, 0) end
  if type(e) == "table" then
    local s = rawget(e, "err")
    if type(s) == "string" then return false, s end
  end
  return false, e
end
G.pcall = function(...)
  return pcall_result(raw_pcall(...))
end
G.loadstring = function(...)
  local f, e = loadstring(...)
  if f then setfenv(f, env) end
  return f, e
end
G.load = function(...)
  local f, e = load(...)
  if f then setfenv(f, env) end
  return f, e
end
G._G = env

local handler = rt.handler
local function run(f)
  return xpcall(f, handler)
end

-- Function libraries: while a library loads, its globals are only the
-- library API (redis.register_function, redis.log, the constants); its
-- functions then run with the regular globals.
local load_redis = {
  register_function = rt.register_function,
  log = redis.log,
  LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3,
  REDIS_VERSION = rt.version, REDIS_VERSION_NUM = rt.version_num,
}
local strict_redis = {}
real_of[strict_redis] = load_redis
setmetatable(strict_redis, {
  __index = function(_, k)
    local v = rawget(load_redis, k)
    if v == nil then
      error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
    end
    return v
  end,
  __newindex = ro_newindex,
  __metatable = false,
})
local load_api = { redis = strict_redis }
local loading = rt.loading
local fenv = {}
real_of[fenv] = G
setmetatable(fenv, {
  __index = function(_, k)
    local v
    if loading() then v = load_api[k] else v = rawget(G, k) end
    if v == nil then
      error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
    end
    return v
  end,
  __newindex = ro_newindex,
  __metatable = false,
})
local function run_fn(f, keys, args)
  return xpcall(function() return f(keys, args) end, handler)
end
return env, run, fenv, run_fn
