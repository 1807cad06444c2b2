//! The Lua 5.1 interpreter scripts run in: its sandbox, the `redis` API,
//! and the conversions between RESP replies and Lua values (both ways),
//! following Redis 7.2's rules.

use super::libs;
use crate::client::Client;
use crate::dispatch::{self, cflag};
use crate::locks::Locks;
use crate::server::Server;
use crate::stats::{bump, WorkerStats};
use mlua::{
    ffi, Function, HookTriggers, Lua, LuaOptions, MultiValue, StdLib, Table, Value, VmState,
};
use smallvec::SmallVec;
use spinel_resp::ReplyBuf;
use std::cell::Cell;
use std::ffi::c_int;
use std::sync::atomic::Ordering;

/// Lua memory ceiling: a script that allocates past it fails with a Lua
/// error instead of exhausting the process.
const MEMORY_LIMIT: usize = 1 << 30;
/// Native stack a nested conversion may use before it gives up.
pub const STACK_BUDGET: usize = 1024 * 1024;

/// An address on the current stack, to measure recursion depth in bytes.
#[inline(never)]
pub fn stack_pos() -> usize {
    let x = 0u8;
    std::hint::black_box(&x) as *const u8 as usize
}

/// VM instructions between two checks for SCRIPT KILL.
const HOOK_EVERY: u32 = 100_000;

pub const ERR_KILLED: &str = "Script killed by user with SCRIPT KILL...";

/// How long FUNCTION LOAD may run a library's code (Redis's LOAD_TIMEOUT_MS).
const LOAD_TIMEOUT_MS: i64 = 500;
/// When the library code being loaded under FUNCTION LOAD's time limit
/// started (unix ms; 0 = none).
static LOAD_STARTED: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

/// What a running script's native callbacks operate on: the calling client
/// and the locks its command holds (set for the duration of one run).
pub struct RunState {
    pub srv: &'static Server,
    pub client: *mut Client,
    pub locks: *mut Locks,
    pub wstats: &'static WorkerStats,
    /// Protocol of command replies seen by the script (redis.setresp).
    pub resp3: bool,
    /// Write commands are refused (EVAL_RO, `no-writes`).
    pub read_only: bool,
    /// Memory was over `maxmemory` when the script started and it may not
    /// ignore that: its first deny-oom command, before any write, fails.
    pub oom: bool,
    /// The script's start time in unix microseconds: TIME inside a script
    /// answers it for the whole run, as Redis's cached clock does.
    pub now_us: i64,
}

thread_local! {
    static RUN: Cell<*mut RunState> = const { Cell::new(std::ptr::null_mut()) };
}

/// Makes `st` the running script's state until the guard drops.
pub struct RunGuard {
    prev: *mut RunState,
}

impl RunGuard {
    pub fn enter(st: &mut RunState) -> RunGuard {
        let prev = RUN.with(|r| r.replace(st as *mut RunState));
        RunGuard { prev }
    }
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        let prev = self.prev;
        RUN.with(|r| r.set(prev));
    }
}

fn with_run<R>(f: impl FnOnce(&mut RunState) -> R) -> Option<R> {
    let p = RUN.with(|r| r.get());
    if p.is_null() {
        return None;
    }
    // SAFETY: the pointer is set by RunGuard for the duration of a script
    // run on this thread, from a RunState that outlives the guard; Lua
    // callbacks run synchronously inside that run and do not nest.
    Some(f(unsafe { &mut *p }))
}

/// A compiled script.
/// A compiled script (its function lives in the engine's script table:
/// host-side handles to Lua values are a scarce resource).
pub struct Script {
    /// Shebang flags (`None`: no shebang, EVAL compatibility mode).
    pub flags: Option<u32>,
}

pub struct Engine {
    pub lua: Lua,
    run: Function,
    env: Table,
    fenv: Table,
    run_fn: Function,
    /// Compiled scripts by SHA1.
    cache: Table,
    /// The raw `next`, for walking tables while writing replies.
    next: Function,
}

/// A function registered by a library being loaded.
pub struct Registered {
    pub name: String,
    pub callback: Function,
    pub flags: u32,
    pub description: Option<Vec<u8>>,
}

/// Registrations collected while a library's code runs (FUNCTION LOAD),
/// and an error to report as is (not as a Lua error) if one occurred.
#[derive(Default)]
pub struct LoadCtx {
    pub funcs: Vec<Registered>,
    pub direct_error: Option<String>,
}

thread_local! {
    static LOADING: std::cell::RefCell<Option<LoadCtx>> = const { std::cell::RefCell::new(None) };
}

fn valid_name(n: &[u8]) -> bool {
    !n.is_empty() && n.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

/// redis.register_function, during FUNCTION LOAD.
fn register_function(lua: &Lua, args: MultiValue) -> Ret {
    let a: Vec<Value> = args.into_iter().collect();
    let (name, callback, flags_v, desc) = match a.as_slice() {
        [Value::Table(t)] => {
            let mut name = Value::Nil;
            let mut cb = Value::Nil;
            let mut fl = Value::Nil;
            let mut desc = Value::Nil;
            for pair in t.clone().pairs::<Value, Value>() {
                let (k, v) = pair?;
                let key =
                    match &k {
                        Value::String(s) => s.as_bytes().to_vec(),
                        _ => return fail(
                            lua,
                            "named argument key given to redis.register_function is not a string",
                        ),
                    };
                match key.as_slice() {
                    b"function_name" => name = v,
                    b"callback" => cb = v,
                    b"flags" => fl = v,
                    b"description" => desc = v,
                    other => {
                        return fail(
                            lua,
                            &format!(
                                "unknown argument given to redis.register_function: {}",
                                String::from_utf8_lossy(other)
                            ),
                        )
                    }
                }
            }
            (name, cb, fl, desc)
        }
        [n, f] => (n.clone(), f.clone(), Value::Nil, Value::Nil),
        _ => return fail(lua, "wrong number of arguments to redis.register_function"),
    };
    let name = match name {
        Value::String(s) => s.as_bytes().to_vec(),
        Value::Nil => {
            return fail(
                lua,
                "redis.register_function must get a function name argument",
            )
        }
        _ => {
            return fail(
                lua,
                "function_name argument given to redis.register_function must be a string",
            )
        }
    };
    let callback = match callback {
        Value::Function(f) => f,
        Value::Nil => return fail(lua, "redis.register_function must get a callback argument"),
        _ => {
            return fail(
                lua,
                "callback argument given to redis.register_function must be a function",
            )
        }
    };
    let mut flags = 0u32;
    match flags_v {
        Value::Nil => {}
        Value::Table(t) => {
            for v in t.sequence_values::<Value>() {
                let f = match v? {
                    Value::String(s) => s.as_bytes().to_vec(),
                    _ => return fail(lua, "unknown flag given"),
                };
                flags |= match f.as_slice() {
                    b"no-writes" => super::flags::NO_WRITES,
                    b"allow-oom" => super::flags::ALLOW_OOM,
                    b"allow-stale" => super::flags::ALLOW_STALE,
                    b"no-cluster" => super::flags::NO_CLUSTER,
                    b"allow-cross-slot-keys" => super::flags::ALLOW_CROSS_SLOT,
                    _ => return fail(lua, "unknown flag given"),
                };
            }
        }
        _ => return fail(
            lua,
            "flags argument to redis.register_function must be a table representing function flags",
        ),
    }
    let description = match desc {
        Value::Nil => None,
        Value::String(s) => Some(s.as_bytes().to_vec()),
        _ => {
            return fail(
                lua,
                "description argument given to redis.register_function must be a string",
            )
        }
    };
    let direct = |msg: &str| -> Ret {
        LOADING.with(|l| {
            if let Some(ctx) = l.borrow_mut().as_mut() {
                ctx.direct_error.get_or_insert_with(|| msg.to_string());
            }
        });
        fail(lua, msg)
    };
    if !valid_name(&name) {
        return direct("Function names can only contain letters, numbers, or underscores(_) and must be at least one character long");
    }
    let name = String::from_utf8_lossy(&name).into_owned();
    let dup = LOADING.with(|l| {
        l.borrow()
            .as_ref()
            .map(|ctx| ctx.funcs.iter().any(|f| f.name == name))
    });
    match dup {
        None => {
            return fail(
                lua,
                "redis.register_function can only be called on FUNCTION LOAD command",
            )
        }
        Some(true) => return direct("Function already exists in the library"),
        Some(false) => {}
    }
    LOADING.with(|l| {
        if let Some(ctx) = l.borrow_mut().as_mut() {
            ctx.funcs.push(Registered {
                name,
                callback,
                flags,
                description,
            });
        }
    });
    Ok((true, Value::Nil))
}

type Ret = mlua::Result<(bool, Value)>;

/// Calls its upvalue (a function returning `(ok, value)`) with its
/// arguments; returns `value`, or raises it when `ok` is false.
unsafe extern "C-unwind" fn raise_tramp(l: *mut ffi::lua_State) -> c_int {
    tramp(l, false)
}

/// Like `raise_tramp`, prefixing the message with the caller's position.
unsafe extern "C-unwind" fn raise_tramp_where(l: *mut ffi::lua_State) -> c_int {
    tramp(l, true)
}

unsafe fn tramp(l: *mut ffi::lua_State, with_where: bool) -> c_int {
    let n = ffi::lua_gettop(l);
    ffi::lua_pushvalue(l, ffi::lua_upvalueindex(1));
    ffi::lua_insert(l, 1);
    ffi::lua_call(l, n, 2);
    if ffi::lua_toboolean(l, -2) != 0 {
        return 1;
    }
    if with_where {
        ffi::luaL_where(l, 1);
        ffi::lua_insert(l, -2);
        ffi::lua_concat(l, 2);
    }
    ffi::lua_error(l)
}

/// Like `raise_tramp_where` for functions returning `(true, values...)` or
/// `(false, message)`.
unsafe extern "C-unwind" fn raise_tramp_multi(l: *mut ffi::lua_State) -> c_int {
    let n = ffi::lua_gettop(l);
    ffi::lua_pushvalue(l, ffi::lua_upvalueindex(1));
    ffi::lua_insert(l, 1);
    ffi::lua_call(l, n, ffi::LUA_MULTRET);
    let nres = ffi::lua_gettop(l);
    if nres >= 1 && ffi::lua_toboolean(l, 1) != 0 {
        return nres - 1;
    }
    ffi::lua_settop(l, 2);
    ffi::luaL_where(l, 1);
    ffi::lua_insert(l, -2);
    ffi::lua_concat(l, 2);
    ffi::lua_error(l)
}

/// Wraps a `(true, values...)` / `(false, message)` function.
fn raiser_multi(lua: &Lua, f: Function) -> mlua::Result<Function> {
    // SAFETY: as in `raiser`.
    unsafe {
        lua.exec_raw(f, |state| {
            ffi::lua_pushcclosure(state, raise_tramp_multi, 1);
        })
    }
}

/// Wraps `f` (returning `(ok, value)`) in a C closure that raises on failure.
fn raiser(lua: &Lua, f: Function, with_where: bool) -> mlua::Result<Function> {
    let t: ffi::lua_CFunction = if with_where {
        raise_tramp_where
    } else {
        raise_tramp
    };
    // SAFETY: the closure pops its one argument (the upvalue) and pushes
    // the new C closure, which exec_raw returns.
    unsafe {
        lua.exec_raw(f, |state| {
            ffi::lua_pushcclosure(state, t, 1);
        })
    }
}

/// An error table as Redis builds it from a `-CODE message` reply or a bare
/// message (which gets the `ERR` code).
fn error_table(lua: &Lua, msg: &[u8]) -> mlua::Result<Value> {
    let (code, text): (&[u8], &[u8]) = if let Some(rest) = msg.strip_prefix(b"-") {
        match rest.iter().position(|&c| c == b' ') {
            Some(p) => (&rest[..p], &rest[p + 1..]),
            None => (b"ERR", rest),
        }
    } else {
        (b"ERR", msg)
    };
    let mut t = text;
    while let Some((&last, rest)) = t.split_last() {
        if last == b'\r' || last == b'\n' {
            t = rest;
        } else {
            break;
        }
    }
    while let Some((&first, rest)) = t.split_first() {
        if first == b'\r' || first == b'\n' {
            t = rest;
        } else {
            break;
        }
    }
    let mut full = Vec::with_capacity(code.len() + 1 + t.len());
    full.extend_from_slice(code);
    full.push(b' ');
    full.extend_from_slice(t);
    let tbl = lua.create_table()?;
    tbl.raw_set("err", lua.create_string(&full)?)?;
    Ok(Value::Table(tbl))
}

fn fail(lua: &Lua, msg: &str) -> Ret {
    Ok((false, error_table(lua, msg.as_bytes())?))
}

impl Engine {
    pub fn new(srv: &'static Server) -> mlua::Result<Engine> {
        let lua = Lua::new_with(
            StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::OS,
            LuaOptions::default(),
        )?;
        let _ = lua.set_memory_limit(MEMORY_LIMIT);
        let rt = lua.create_table()?;
        rt.set("call", lua.create_function(redis_call)?)?;
        rt.set(
            "sha1hex",
            lua.create_function(|lua, args: MultiValue| -> Ret {
                if args.len() != 1 {
                    return fail(lua, "wrong number of arguments");
                }
                let v = args.into_iter().next().unwrap_or(Value::Nil);
                let bytes = match lua.coerce_string(v) {
                    Ok(Some(s)) => s.as_bytes().to_vec(),
                    _ => Vec::new(),
                };
                let hex = super::sha1_hex(&bytes);
                Ok((true, Value::String(lua.create_string(&hex)?)))
            })?,
        )?;
        rt.set(
            "error_reply",
            lua.create_function(|lua, args: MultiValue| -> Ret {
                let v = args.into_iter().next().unwrap_or(Value::Nil);
                let s = match (&v, lua.coerce_string(v.clone())) {
                    (Value::String(_) | Value::Integer(_) | Value::Number(_), Ok(Some(s))) => {
                        s.as_bytes().to_vec()
                    }
                    _ => return fail(lua, "wrong number or type of arguments"),
                };
                let mut m = Vec::with_capacity(s.len() + 1);
                if !s.starts_with(b"-") {
                    m.push(b'-');
                }
                m.extend_from_slice(&s);
                Ok((true, error_table(lua, &m)?))
            })?,
        )?;
        rt.set(
            "status_reply",
            lua.create_function(|lua, args: MultiValue| -> Ret {
                let v = args.into_iter().next().unwrap_or(Value::Nil);
                let s = match (&v, lua.coerce_string(v.clone())) {
                    (Value::String(_) | Value::Integer(_) | Value::Number(_), Ok(Some(s))) => s,
                    _ => return fail(lua, "wrong number or type of arguments"),
                };
                let t = lua.create_table()?;
                t.raw_set("ok", s)?;
                Ok((true, Value::Table(t)))
            })?,
        )?;
        rt.set(
            "log",
            lua.create_function(|lua, args: MultiValue| -> Ret {
                let a: Vec<Value> = args.into_iter().collect();
                if a.len() < 2 {
                    return fail(lua, "redis.log() requires two arguments or more.");
                }
                let level = match a
                    .first()
                    .and_then(|v| lua.coerce_number(v.clone()).ok().flatten())
                {
                    Some(n) if matches!(a.first(), Some(Value::Integer(_) | Value::Number(_))) => n,
                    _ => return fail(lua, "First argument must be a number (log level)."),
                };
                let level = match level as i64 {
                    0 => crate::log::Level::Debug,
                    1 => crate::log::Level::Verbose,
                    2 => crate::log::Level::Notice,
                    3 => crate::log::Level::Warning,
                    _ => return fail(lua, "Invalid debug level."),
                };
                let mut msg = Vec::new();
                for (i, v) in a.iter().skip(1).enumerate() {
                    if i > 0 {
                        msg.push(b' ');
                    }
                    if let Ok(Some(s)) = lua.coerce_string(v.clone()) {
                        msg.extend_from_slice(&s.as_bytes());
                    }
                }
                crate::log::log(level, &String::from_utf8_lossy(&msg));
                Ok((true, Value::Nil))
            })?,
        )?;
        rt.set(
            "setresp",
            lua.create_function(|lua, args: MultiValue| -> Ret {
                if args.len() != 1 {
                    return fail(lua, "redis.setresp() requires one argument.");
                }
                let v = args.into_iter().next().unwrap_or(Value::Nil);
                let n = match &v {
                    Value::Integer(i) => *i as f64,
                    Value::Number(n) => *n,
                    _ => lua.coerce_number(v.clone()).ok().flatten().unwrap_or(0.0),
                };
                if n != 2.0 && n != 3.0 {
                    return fail(lua, "RESP version must be 2 or 3.");
                }
                with_run(|st| st.resp3 = n == 3.0);
                Ok((true, Value::Nil))
            })?,
        )?;
        rt.set(
            "set_repl",
            lua.create_function(|lua, args: MultiValue| -> Ret {
                if args.len() != 1 {
                    return fail(lua, "redis.set_repl() requires one argument.");
                }
                let v = args.into_iter().next().unwrap_or(Value::Nil);
                let n = lua.coerce_number(v).ok().flatten().unwrap_or(-1.0) as i64;
                if !(0..=3).contains(&n) {
                    return fail(
                        lua,
                        "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.",
                    );
                }
                Ok((true, Value::Nil))
            })?,
        )?;
        rt.set(
            "acl_check_cmd",
            lua.create_function(|lua, args: MultiValue| -> Ret {
                let argv = match lua_args(lua, args) {
                    Ok(a) => a,
                    Err(e) => return fail(lua, &e),
                };
                let known = with_run(|st| {
                    let sl: SmallVec<[&[u8]; 8]> = argv.iter().map(|a| a.as_slice()).collect();
                    dispatch::resolve(st.srv, &sl).is_some_and(|c| c.handler.is_some())
                })
                .unwrap_or(false);
                if !known {
                    return fail(lua, "Invalid command passed to redis.acl_check_cmd()");
                }
                Ok((true, Value::Boolean(true)))
            })?,
        )?;
        rt.set("bit", libs::bit_table(&lua)?)?;
        rt.set("cjson_encode", lua.create_function(libs::cjson_encode)?)?;
        rt.set("cjson_decode", lua.create_function(libs::cjson_decode)?)?;
        rt.set(
            "struct_pack",
            raiser(&lua, lua.create_function(libs::struct_pack)?, true)?,
        )?;
        rt.set(
            "struct_size",
            raiser(&lua, lua.create_function(libs::struct_size)?, true)?,
        )?;
        rt.set(
            "struct_unpack",
            raiser_multi(&lua, lua.create_function(libs::struct_unpack)?)?,
        )?;
        rt.set(
            "cmsgpack_pack",
            raiser(&lua, lua.create_function(libs::cmsgpack_pack)?, true)?,
        )?;
        for (name, f) in [
            (
                "cmsgpack_unpack",
                lua.create_function(libs::cmsgpack_unpack)?,
            ),
            (
                "cmsgpack_unpack_one",
                lua.create_function(libs::cmsgpack_unpack_one)?,
            ),
            (
                "cmsgpack_unpack_limit",
                lua.create_function(libs::cmsgpack_unpack_limit)?,
            ),
        ] {
            rt.set(name, raiser_multi(&lua, f)?)?;
        }
        rt.set(
            "cjson_null",
            Value::LightUserData(mlua::LightUserData(std::ptr::null_mut())),
        )?;
        rt.set("handler", lua.create_function(error_handler)?)?;
        rt.set("register_function", lua.create_function(register_function)?)?;
        rt.set(
            "killed",
            lua.create_function(|_, ()| Ok(super::KILL.load(Ordering::Relaxed)))?,
        )?;
        rt.set(
            "loading",
            lua.create_function(|_, ()| Ok(LOADING.with(|l| l.borrow().is_some())))?,
        )?;
        // The API functions raise their errors from C functions, so that the
        // calling Lua frame stays on the stack even for `return redis.call(..)`
        // (a tail call) and the error reports the script's line.
        rt.set("call_raw", rt.get::<Function>("call")?)?;
        for name in [
            "call",
            "sha1hex",
            "error_reply",
            "status_reply",
            "log",
            "setresp",
            "set_repl",
            "acl_check_cmd",
            "register_function",
        ] {
            let f: Function = rt.get(name)?;
            rt.set(name, raiser(&lua, f, false)?)?;
        }
        for name in ["cjson_encode", "cjson_decode"] {
            let f: Function = rt.get(name)?;
            rt.set(name, raiser(&lua, f, true)?)?;
        }
        let bit: Table = rt.get("bit")?;
        let names: Vec<String> = bit
            .clone()
            .pairs::<String, Value>()
            .filter_map(|p| p.ok().map(|(k, _)| k))
            .collect();
        for name in names {
            let f: Function = bit.get(name.as_str())?;
            bit.set(name.as_str(), raiser(&lua, f, true)?)?;
        }
        rt.set("version", super::REDIS_VERSION)?;
        rt.set("version_num", super::REDIS_VERSION_NUM)?;
        let next: Function = lua.globals().raw_get("next")?;
        let cache = lua.create_table()?;
        let (env, run, fenv, run_fn): (Table, Function, Table, Function) = lua
            .load(include_str!("prelude.lua"))
            .set_name("=prelude")
            .call(rt)?;
        lua.set_hook(
            HookTriggers::new().every_nth_instruction(HOOK_EVERY),
            move |_lua, _dbg| {
                super::check_slow(srv);
                let load = LOAD_STARTED.load(Ordering::Relaxed);
                if load != 0 && crate::server::now_ms() - load > LOAD_TIMEOUT_MS {
                    return Err(mlua::Error::RuntimeError(
                        "FUNCTION LOAD timeout".to_string(),
                    ));
                }
                if super::KILL.load(Ordering::Relaxed) {
                    super::log_kill();
                    return Err(mlua::Error::RuntimeError(ERR_KILLED.to_string()));
                }
                Ok(VmState::Continue)
            },
        );
        Ok(Engine {
            lua,
            run,
            env,
            fenv,
            run_fn,
            cache,
            next,
        })
    }

    /// Compiles a script body (the shebang line, if any, already blanked)
    /// into the script table under `sha`.
    pub fn compile(&self, body: &[u8], name: &str, sha: &str) -> Result<(), String> {
        let f = self
            .lua
            .load(body)
            .set_name(format!("@{}", name))
            .set_environment(self.env.clone())
            .into_function()
            .map_err(|e| match e {
                mlua::Error::SyntaxError { message, .. } => message,
                other => other.to_string(),
            })?;
        self.cache.raw_set(sha, f).map_err(|e| e.to_string())
    }

    /// Drops every compiled script.
    pub fn flush_scripts(&mut self) {
        if let Ok(t) = self.lua.create_table() {
            self.cache = t;
        }
        let _ = self.lua.gc_collect();
    }

    /// Runs a library's code (FUNCTION LOAD) and returns the functions it
    /// registered, or the error text.
    pub fn load_library(&self, code: &[u8], timeout: bool) -> Result<Vec<Registered>, String> {
        let chunk = self
            .lua
            .load(code)
            .set_name("@user_function")
            .set_environment(self.fenv.clone())
            .into_function()
            .map_err(|e| {
                format!(
                    "ERR Error compiling function: {}",
                    match e {
                        mlua::Error::SyntaxError { message, .. } => message,
                        other => host_error_message(&other),
                    }
                )
            })?;
        LOADING.with(|l| *l.borrow_mut() = Some(LoadCtx::default()));
        if timeout {
            LOAD_STARTED.store(crate::server::now_ms().max(1), Ordering::Relaxed);
        }
        let res = self.run.call::<MultiValue>(chunk);
        LOAD_STARTED.store(0, Ordering::Relaxed);
        let ctx = LOADING.with(|l| l.borrow_mut().take()).unwrap_or_default();
        let mut vals = match res {
            Ok(v) => v.into_iter(),
            Err(e) => return Err(format!("ERR {}", host_error_message(&e))),
        };
        if !matches!(vals.next(), Some(Value::Boolean(true))) {
            if let Some(d) = ctx.direct_error {
                return Err(format!("ERR {}", d));
            }
            let v = vals.next().unwrap_or(Value::Nil);
            let msg = match script_error_text(&v, "") {
                m if m.contains(" script: ") => m
                    .rsplit_once(" script: ")
                    .map(|(a, _)| a.to_string())
                    .unwrap_or(m),
                m => m,
            };
            return Err(format!("ERR Error registering functions: {}", msg));
        }
        if ctx.funcs.is_empty() {
            return Err("ERR No functions registered".into());
        }
        Ok(ctx.funcs)
    }

    /// Runs `func` with KEYS and ARGV set; the reply (or the error reply)
    /// is written to `out`.
    pub fn run(
        &self,
        sha: &str,
        keys: &[&[u8]],
        args: &[&[u8]],
        st: &mut RunState,
        out: &mut ReplyBuf,
    ) {
        let fname = sha;
        let res = (|| -> mlua::Result<MultiValue> {
            let func: Function = self.cache.raw_get(sha)?;
            let g = self.lua.globals();
            g.raw_set("KEYS", self.string_array(keys)?)?;
            g.raw_set("ARGV", self.string_array(args)?)?;
            let _guard = RunGuard::enter(st);
            self.run.call::<MultiValue>(func)
        })();
        self.finish(res, st, fname, out)
    }

    /// Runs a library function `func(keys, args)` (FCALL).
    pub fn run_function(
        &self,
        func: &Function,
        keys: &[&[u8]],
        args: &[&[u8]],
        fname: &str,
        st: &mut RunState,
        out: &mut ReplyBuf,
    ) {
        let res = (|| -> mlua::Result<MultiValue> {
            let k = self.string_array(keys)?;
            let a = self.string_array(args)?;
            let _guard = RunGuard::enter(st);
            self.run_fn.call::<MultiValue>((func.clone(), k, a))
        })();
        self.finish(res, st, fname, out)
    }

    fn finish(
        &self,
        res: mlua::Result<MultiValue>,
        st: &RunState,
        fname: &str,
        out: &mut ReplyBuf,
    ) {
        let script_resp3 = st.resp3;
        let mut vals = match res {
            Ok(v) => v.into_iter(),
            Err(e) => {
                out.error(&format!("ERR {}", host_error_message(&e)));
                return;
            }
        };
        let ok = matches!(vals.next(), Some(Value::Boolean(true)));
        let v = vals.next().unwrap_or(Value::Nil);
        if ok {
            let mut tmp = ReplyBuf::new(out.resp3);
            match lua_to_resp(&self.lua, &mut tmp, &v, script_resp3, &self.next) {
                Ok(()) => {
                    out.buf.extend_from_slice(&tmp.buf);
                    out.errors += tmp.errors;
                    if tmp.last_error_code.is_some() {
                        out.last_error_code = tmp.last_error_code;
                    }
                }
                Err(e) => out.error(&e),
            }
            return;
        }
        out.error(&script_error_text(&v, fname));
        // Failed runs may leave large garbage behind.
        let _ = self.lua.gc_collect();
    }

    fn string_array(&self, items: &[&[u8]]) -> mlua::Result<Table> {
        let t = self.lua.create_table_with_capacity(items.len(), 0)?;
        for (i, a) in items.iter().enumerate() {
            t.raw_set(i + 1, self.lua.create_string(a)?)?;
        }
        Ok(t)
    }

    pub fn used_memory(&self) -> usize {
        self.lua.used_memory()
    }
}

/// The text of an error that ended a script: `<err> script: <name>, on
/// <source>:<line>.` when the error's position is known.
fn script_error_text(v: &Value, fname: &str) -> String {
    match v {
        Value::Table(t) => {
            let msg: Option<mlua::String> = match t.raw_get::<Value>("err") {
                Ok(Value::String(s)) => Some(s),
                _ => None,
            };
            let msg = msg
                .map(|s| String::from_utf8_lossy(&s.as_bytes()).into_owned())
                .unwrap_or_else(|| "ERR unknown error".to_string());
            let source: Option<String> = match t.raw_get::<Value>("source") {
                Ok(Value::String(s)) => Some(String::from_utf8_lossy(&s.as_bytes()).into_owned()),
                _ => None,
            };
            let line: Option<i64> = match t.raw_get::<Value>("line") {
                Ok(Value::Integer(i)) => Some(i),
                Ok(Value::Number(n)) => Some(n as i64),
                _ => None,
            };
            match (source, line) {
                (Some(s), Some(l)) => format!("{} script: {}, on {}:{}.", msg, fname, s, l),
                _ => msg,
            }
        }
        Value::String(s) => format!("ERR {}", String::from_utf8_lossy(&s.as_bytes())),
        Value::Error(e) => format!("ERR {}", host_error_message(e)),
        _ => "ERR unknown error".to_string(),
    }
}

/// The message of a host-side error without the binding's decorations.
fn host_error_message(e: &mlua::Error) -> String {
    match e {
        mlua::Error::CallbackError { cause, .. } => host_error_message(cause),
        mlua::Error::RuntimeError(m) => m.clone(),
        mlua::Error::MemoryError(_) => "not enough memory".to_string(),
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

/// The message handler every script runs under (Redis's
/// `__redis__err__handler`): turns any error into an error table and
/// records where in the user's code it was raised.
fn error_handler(lua: &Lua, err: Value) -> mlua::Result<Value> {
    let t = match &err {
        Value::Table(t) => t.clone(),
        other => {
            let msg = match other {
                Value::Error(e) => host_error_message(e),
                Value::Nil => "nil".to_string(),
                v => match lua.coerce_string(v.clone()) {
                    Ok(Some(s)) => String::from_utf8_lossy(&s.as_bytes()).into_owned(),
                    _ => v.type_name().to_string(),
                },
            };
            let t = lua.create_table()?;
            t.raw_set("err", format!("ERR {}", msg))?;
            t
        }
    };
    for level in 1..64 {
        let Some(d) = lua.inspect_stack(level) else {
            break;
        };
        let src = d.source();
        if src.what == "C" {
            continue;
        }
        let source = src.source.as_deref().unwrap_or("");
        if source != "=prelude" {
            let line = d.curr_line();
            t.raw_set("source", source.to_string())?;
            t.raw_set("line", line as i64)?;
            break;
        }
    }
    Ok(Value::Table(t))
}

/// Converts redis.call's arguments to a command line.
fn lua_args(lua: &Lua, args: MultiValue) -> Result<Vec<Vec<u8>>, String> {
    if args.is_empty() {
        return Err("Please specify at least one argument for this redis lib call".into());
    }
    let mut argv = Vec::with_capacity(args.len());
    for v in args {
        match &v {
            Value::String(s) => argv.push(s.as_bytes().to_vec()),
            Value::Integer(_) | Value::Number(_) => match lua.coerce_string(v.clone()) {
                Ok(Some(s)) => argv.push(s.as_bytes().to_vec()),
                _ => {
                    return Err(
                        "Lua redis lib command arguments must be strings or integers".into(),
                    )
                }
            },
            _ => return Err("Lua redis lib command arguments must be strings or integers".into()),
        }
    }
    Ok(argv)
}

/// Commands that must never run from inside a script, whatever their
/// metadata says (they would re-enter the scripting engine).
fn script_command(name: &str) -> bool {
    let top = name.split('|').next().unwrap_or(name);
    matches!(
        top,
        "eval"
            | "evalsha"
            | "eval_ro"
            | "evalsha_ro"
            | "script"
            | "function"
            | "fcall"
            | "fcall_ro"
    )
}

/// redis.call / redis.pcall: runs one command under the script's locks.
fn redis_call(lua: &Lua, args: MultiValue) -> Ret {
    let argv = match lua_args(lua, args) {
        Ok(a) => a,
        Err(e) => return fail(lua, &e),
    };
    let p = RUN.with(|r| r.get());
    if p.is_null() {
        return fail(
            lua,
            "redis.call can only be used inside a script invocation",
        );
    }
    // SAFETY: see with_run.
    let st = unsafe { &mut *p };
    let sl: SmallVec<[&[u8]; 8]> = argv.iter().map(|a| a.as_slice()).collect();
    let cmd = match dispatch::resolve(st.srv, &sl) {
        Some(c) if c.handler.is_some() => c,
        _ => return fail(lua, "Unknown Redis command called from script"),
    };
    let argc = sl.len() as i64;
    if (cmd.arity > 0 && cmd.arity != argc) || argc < -cmd.arity {
        return fail(
            lua,
            "Wrong number of args calling Redis command from script",
        );
    }
    if cmd.has(cflag::NOSCRIPT) || script_command(cmd.name) {
        return fail(lua, "This Redis command is not allowed from script");
    }
    if cmd.is_write() {
        if st.read_only {
            return fail(
                lua,
                "Write commands are not allowed from read-only scripts.",
            );
        }
        if st.oom && cmd.has(cflag::DENYOOM) && !super::WROTE.load(Ordering::Relaxed) {
            return fail(lua, &format!("-{}", crate::evict::OOM_ERR));
        }
        super::WROTE.store(true, Ordering::Relaxed);
    }
    let Some(handler) = cmd.handler else {
        return fail(lua, "Unknown Redis command called from script");
    };
    // SAFETY: the client and locks outlive the run (they belong to the
    // EVAL invocation that set up the RunState) and nothing else touches
    // them while the script runs.
    let client = unsafe { &mut *st.client };
    let locks = unsafe { &mut *st.locks };
    // MONITOR shows commands run by scripts as coming from "lua".
    if crate::monitor::COUNT.load(Ordering::Relaxed) > 0
        && !cmd.has(cflag::SKIP_MONITOR)
        && !cmd.has(cflag::ADMIN)
    {
        let line = crate::monitor::format_line(client.db, "lua", &sl);
        for m in crate::monitor::MONITORS.lock().iter() {
            m.send(&line);
        }
    }
    let mut scratch = ReplyBuf::new(st.resp3);
    let saved_resp3 = client.resp3;
    client.resp3 = st.resp3;
    let start = std::time::Instant::now();
    if cmd.name == "time" {
        scratch.array(2);
        scratch.bulk_int(st.now_us / 1_000_000);
        scratch.bulk_int(st.now_us % 1_000_000);
    } else {
        dispatch::invoke(
            st.srv,
            client,
            &mut scratch,
            &sl,
            cmd,
            handler,
            st.wstats,
            locks,
        );
    }
    client.resp3 = saved_resp3;
    client.block = None;
    if let Some(c) = st.wstats.per_cmd.get(cmd.id) {
        bump(&c.calls, 1);
        bump(&c.usec, start.elapsed().as_micros() as u64);
        if scratch.errors > 0 {
            bump(&c.failed, 1);
        }
    }
    if scratch.buf.first() == Some(&b'-') {
        let end = scratch
            .buf
            .iter()
            .position(|&c| c == b'\r')
            .unwrap_or(scratch.buf.len());
        return Ok((false, error_table(lua, &scratch.buf[..end])?));
    }
    let mut pos = 0;
    match resp_to_lua(lua, &scratch.buf, &mut pos, stack_pos()) {
        Ok(v) => Ok((true, v)),
        Err(RespErr::Lua(e)) => Err(e),
        Err(RespErr::Bad) => fail(lua, "Error parsing command reply"),
    }
}

enum RespErr {
    Bad,
    Lua(mlua::Error),
}

impl From<mlua::Error> for RespErr {
    fn from(e: mlua::Error) -> Self {
        RespErr::Lua(e)
    }
}

fn read_line<'a>(buf: &'a [u8], pos: &mut usize) -> Result<&'a [u8], RespErr> {
    let rest = buf.get(*pos..).ok_or(RespErr::Bad)?;
    let end = rest
        .windows(2)
        .position(|w| w == b"\r\n")
        .ok_or(RespErr::Bad)?;
    *pos += end + 2;
    Ok(&rest[..end])
}

fn parse_int(b: &[u8]) -> Result<i64, RespErr> {
    std::str::from_utf8(b)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(RespErr::Bad)
}

fn read_bulk<'a>(buf: &'a [u8], pos: &mut usize, n: i64) -> Result<&'a [u8], RespErr> {
    let n = usize::try_from(n).map_err(|_| RespErr::Bad)?;
    let b = buf.get(*pos..*pos + n).ok_or(RespErr::Bad)?;
    *pos += n + 2;
    Ok(b)
}

/// A command reply (RESP2 or RESP3 bytes) as the Lua value Redis gives scripts.
fn resp_to_lua(lua: &Lua, buf: &[u8], pos: &mut usize, base: usize) -> Result<Value, RespErr> {
    if base.abs_diff(stack_pos()) > STACK_BUDGET {
        return Err(RespErr::Bad);
    }
    let kind = *buf.get(*pos).ok_or(RespErr::Bad)?;
    *pos += 1;
    let line = read_line(buf, pos)?;
    let single = |k: &str, v: Value| -> Result<Value, RespErr> {
        let t = lua.create_table()?;
        t.raw_set(k, v)?;
        Ok(Value::Table(t))
    };
    Ok(match kind {
        b':' => Value::Number(parse_int(line)? as f64),
        b'$' => {
            let n = parse_int(line)?;
            if n < 0 {
                Value::Boolean(false)
            } else {
                Value::String(lua.create_string(read_bulk(buf, pos, n)?)?)
            }
        }
        b'+' => single("ok", Value::String(lua.create_string(line)?))?,
        b'-' => single("err", Value::String(lua.create_string(line)?))?,
        b'*' | b'>' => {
            let n = parse_int(line)?;
            if n < 0 {
                return Ok(Value::Boolean(false));
            }
            let t = lua.create_table()?;
            for i in 0..n {
                let v = resp_to_lua(lua, buf, pos, base)?;
                t.raw_set(i + 1, v)?;
            }
            Value::Table(t)
        }
        b'%' => {
            let n = parse_int(line)?;
            let m = lua.create_table()?;
            for _ in 0..n.max(0) {
                let k = resp_to_lua(lua, buf, pos, base)?;
                let v = resp_to_lua(lua, buf, pos, base)?;
                if !k.is_nil() {
                    m.raw_set(k, v)?;
                }
            }
            single("map", Value::Table(m))?
        }
        b'~' => {
            let n = parse_int(line)?;
            let m = lua.create_table()?;
            for _ in 0..n.max(0) {
                let k = resp_to_lua(lua, buf, pos, base)?;
                if !k.is_nil() {
                    m.raw_set(k, true)?;
                }
            }
            single("set", Value::Table(m))?
        }
        b'_' => Value::Nil,
        b'#' => Value::Boolean(line == b"t"),
        b',' => {
            let s = std::str::from_utf8(line).map_err(|_| RespErr::Bad)?;
            let d = match s {
                "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                "nan" => f64::NAN,
                s => s.parse().map_err(|_| RespErr::Bad)?,
            };
            single("double", Value::Number(d))?
        }
        b'(' => single("big_number", Value::String(lua.create_string(line)?))?,
        b'=' => {
            let n = parse_int(line)?;
            let b = read_bulk(buf, pos, n)?;
            let (fmt, s) = if b.len() >= 4 && b.get(3) == Some(&b':') {
                (&b[..3], &b[4..])
            } else {
                (&b"txt"[..], b)
            };
            let inner = lua.create_table()?;
            inner.raw_set("format", lua.create_string(fmt)?)?;
            inner.raw_set("string", lua.create_string(s)?)?;
            single("verbatim_string", Value::Table(inner))?
        }
        b'!' => {
            let n = parse_int(line)?;
            let b = read_bulk(buf, pos, n)?;
            single("err", Value::String(lua.create_string(b)?))?
        }
        _ => return Err(RespErr::Bad),
    })
}

/// `(long long)d` as x86-64 computes it: out-of-range values and NaN give
/// the "integer indefinite" value.
fn c_trunc(d: f64) -> i64 {
    const LIM: f64 = 9_223_372_036_854_775_808.0; // 2^63
    if d.is_nan() || !(-LIM..LIM).contains(&d) {
        i64::MIN
    } else {
        d as i64
    }
}

fn lua_bytes(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        _ => None,
    }
}

fn sanitize(b: &[u8]) -> String {
    let s: Vec<u8> = b
        .iter()
        .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c })
        .collect();
    String::from_utf8_lossy(&s).into_owned()
}

/// Nesting limit of a script's reply: where Redis's Lua stack can't grow
/// any more, the value at that depth becomes an error.
const MAX_REPLY_DEPTH: usize = 7995;

/// An aggregate being written by `lua_to_resp`. Its table (and a map's
/// current key) are kept in a Lua-side holder table, not as host handles,
/// whose number is limited.
enum Frame {
    Array {
        next: usize,
        header: spinel_resp::Deferred,
    },
    /// A map (key and value) or set (keys) walked with `next`.
    Pairs { set: bool, value: Option<Value> },
}

/// A script's return value as a RESP reply (Redis's luaReplyToRedisReply),
/// written without native recursion.
fn lua_to_resp(
    lua: &Lua,
    out: &mut ReplyBuf,
    v: &Value,
    script_resp3: bool,
    next_fn: &Function,
) -> Result<(), String> {
    let le = |e: mlua::Error| format!("ERR {}", e);
    let holder = lua.create_table().map_err(le)?;
    let mut stack: Vec<Frame> = Vec::new();
    let mut pending: Option<Value> = Some(v.clone());
    loop {
        if let Some(v) = pending.take() {
            if stack.len() >= MAX_REPLY_DEPTH {
                out.error("ERR reached lua stack limit");
            } else if let Some((f, t)) = write_value(out, &v, script_resp3)? {
                let slot = 2 * stack.len() + 1;
                holder.raw_set(slot, t).map_err(le)?;
                holder.raw_set(slot + 1, Value::Nil).map_err(le)?;
                stack.push(f);
            }
        }
        let depth = stack.len();
        let Some(top) = stack.last_mut() else {
            return Ok(());
        };
        let slot = 2 * (depth - 1) + 1;
        match top {
            Frame::Array { next, .. } => {
                let t: Table = holder.raw_get(slot).map_err(le)?;
                let e: Value = t.raw_get(*next + 1).unwrap_or(Value::Nil);
                if e.is_nil() {
                    if let Some(Frame::Array { next, header }) = stack.pop() {
                        out.finish_array(header, next);
                    }
                    holder.raw_set(slot, Value::Nil).map_err(le)?;
                } else {
                    *next += 1;
                    pending = Some(e);
                }
            }
            Frame::Pairs { set, value } => {
                if let Some(v) = value.take() {
                    pending = Some(v);
                    continue;
                }
                let t: Value = holder.raw_get(slot).map_err(le)?;
                let key: Value = holder.raw_get(slot + 1).map_err(le)?;
                let (k, v): (Value, Value) = next_fn.call((t, key)).map_err(le)?;
                if k.is_nil() {
                    stack.pop();
                    holder.raw_set(slot, Value::Nil).map_err(le)?;
                    holder.raw_set(slot + 1, Value::Nil).map_err(le)?;
                } else {
                    holder.raw_set(slot + 1, k.clone()).map_err(le)?;
                    if !*set {
                        *value = Some(v);
                    }
                    pending = Some(k);
                }
            }
        }
    }
}

/// Writes a scalar or the header of an aggregate; returns the frame that
/// writes the aggregate's elements.
fn write_value(
    out: &mut ReplyBuf,
    v: &Value,
    script_resp3: bool,
) -> Result<Option<(Frame, Table)>, String> {
    match v {
        Value::String(s) => out.bulk(&s.as_bytes()),
        Value::Boolean(b) => {
            if script_resp3 {
                out.boolean(*b);
            } else if *b {
                out.int(1);
            } else {
                out.null();
            }
        }
        Value::Integer(i) => out.int(*i),
        Value::Number(n) => out.int(c_trunc(*n)),
        Value::Table(t) => {
            let field = |k: &str| -> Value { t.raw_get::<Value>(k).unwrap_or(Value::Nil) };
            if let Some(e) = lua_bytes(&field("err")) {
                out.error(&sanitize(&e));
                return Ok(None);
            }
            if let Some(s) = lua_bytes(&field("ok")) {
                out.simple(&sanitize(&s));
                return Ok(None);
            }
            match field("double") {
                Value::Number(n) => {
                    out.double(n);
                    return Ok(None);
                }
                Value::Integer(i) => {
                    out.double(i as f64);
                    return Ok(None);
                }
                _ => {}
            }
            if let Some(s) = lua_bytes(&field("big_number")) {
                out.big_number(&sanitize(&s));
                return Ok(None);
            }
            for (name, set) in [("map", false), ("set", true)] {
                if let Value::Table(m) = field(name) {
                    let n = m.pairs::<Value, Value>().count();
                    if set {
                        out.set(n);
                    } else {
                        out.map(n);
                    }
                    return Ok(Some((Frame::Pairs { set, value: None }, m)));
                }
            }
            if let Value::Table(vt) = field("verbatim_string") {
                let fmt = vt
                    .raw_get::<Value>("format")
                    .ok()
                    .and_then(|v| lua_bytes(&v));
                let s = vt
                    .raw_get::<Value>("string")
                    .ok()
                    .and_then(|v| lua_bytes(&v));
                if let (Some(fmt), Some(s)) = (fmt, s) {
                    if out.resp3 {
                        let mut b = fmt.get(..3).unwrap_or(b"txt").to_vec();
                        b.push(b':');
                        b.extend_from_slice(&s);
                        out.buf.push(b'=');
                        out.buf.extend_from_slice(b.len().to_string().as_bytes());
                        out.buf.extend_from_slice(b"\r\n");
                        out.buf.extend_from_slice(&b);
                        out.buf.extend_from_slice(b"\r\n");
                    } else {
                        out.bulk(&s);
                    }
                    return Ok(None);
                }
            }
            let header = out.deferred_array();
            return Ok(Some((Frame::Array { next: 0, header }, t.clone())));
        }
        _ => out.null(),
    }
    Ok(None)
}
