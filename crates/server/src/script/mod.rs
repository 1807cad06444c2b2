//! Lua scripting: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT.
//!
//! One Lua 5.1 interpreter serves every client. A script runs as a single
//! atomic step: its command takes the exclusive lock (all workers stopped),
//! so the commands it calls see and change the dataset with nobody else
//! running. Scripts are cached by the SHA1 of their body.
//!
//! Scripts execute on their own thread (`thread.rs`): the worker that owns
//! the calling connection keeps serving its other connections, which wait
//! for the script or, once it has run longer than `busy-reply-threshold`,
//! get `BUSY` (SCRIPT KILL / FUNCTION KILL / SHUTDOWN NOSAVE still work).
//! While a script runs, `RUNNING_SINCE` holds its start time.

mod libs;
mod lua;
mod thread;

pub use thread::{busy, execute as execute_on_script_thread, gate, offloaded};

use crate::client::Client;
use crate::dispatch::{CommandTable, Ctx, LockKind};
use crate::server::Server;
use lua::{Engine, RunState, Script};
use parking_lot::Mutex;
use spinel_resp::ReplyBuf;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};

/// Loaded libraries and functions, kept apart from the interpreter's lock
/// so that FUNCTION STATS can answer while a function runs.
static LIBRARY_COUNT: AtomicUsize = AtomicUsize::new(0);
static FUNCTION_COUNT: AtomicUsize = AtomicUsize::new(0);

pub const REDIS_VERSION: &str = "7.2.4";
pub const REDIS_VERSION_NUM: i64 = 0x0007_0204;

/// Start time (unix ms) of the running script; 0 when none runs.
pub static RUNNING_SINCE: AtomicI64 = AtomicI64::new(0);
/// The running script is a library function (FCALL), not an EVAL script.
static IS_FUNCTION: AtomicBool = AtomicBool::new(false);
/// The running script's name (SHA1 or function name) and, for a function,
/// the command that called it (FUNCTION STATS).
static RUNNING: Mutex<Option<(String, Vec<Vec<u8>>)>> = Mutex::new(None);
/// The "slow script" warning was logged for the running script.
static SLOW_LOGGED: AtomicBool = AtomicBool::new(false);
/// The kill of the running script was logged.
static KILL_LOGGED: AtomicBool = AtomicBool::new(false);
/// SCRIPT KILL was requested for the running script.
static KILL: AtomicBool = AtomicBool::new(false);
/// The running script has called a write command (it can't be killed).
static WROTE: AtomicBool = AtomicBool::new(false);

pub const BUSY_EVAL: &str =
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
pub const BUSY_FUNCTION: &str =
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";
const NOSCRIPT: &str = "NOSCRIPT No matching script. Please use EVAL.";

pub mod flags {
    pub const NO_WRITES: u32 = 1 << 0;
    pub const ALLOW_OOM: u32 = 1 << 1;
    pub const ALLOW_STALE: u32 = 1 << 2;
    pub const NO_CLUSTER: u32 = 1 << 3;
    pub const ALLOW_CROSS_SLOT: u32 = 1 << 4;
}

/// A function of a loaded library.
struct FuncInfo {
    name: String,
    callback: mlua::Function,
    flags: u32,
    description: Option<Vec<u8>>,
}

struct Library {
    name: String,
    code: Vec<u8>,
    funcs: Vec<FuncInfo>,
}

struct State {
    engine: Engine,
    scripts: HashMap<String, Script>,
    /// Libraries in load order.
    libraries: Vec<Library>,
}

impl State {
    fn find_function(&self, name: &[u8]) -> Option<&FuncInfo> {
        self.libraries
            .iter()
            .flat_map(|l| l.funcs.iter())
            .find(|f| f.name.as_bytes() == name)
    }
}

static STATE: Mutex<Option<State>> = Mutex::new(None);

pub fn register(t: &mut CommandTable) {
    t.add_lock("eval", eval, Some(LockKind::Exclusive));
    t.add_lock("evalsha", evalsha, Some(LockKind::Exclusive));
    t.add_lock("eval_ro", eval_ro, Some(LockKind::Exclusive));
    t.add_lock("evalsha_ro", evalsha_ro, Some(LockKind::Exclusive));
    t.add_lock("script|load", script_load, Some(LockKind::None));
    t.add_lock("script|exists", script_exists, Some(LockKind::None));
    t.add_lock("script|flush", script_flush, Some(LockKind::None));
    t.add_lock("script|kill", script_kill, Some(LockKind::None));
    t.add_lock("script|help", script_help, Some(LockKind::None));
    t.add_lock("fcall", fcall, Some(LockKind::Exclusive));
    t.add_lock("fcall_ro", fcall_ro, Some(LockKind::Exclusive));
    // Library changes are exclusive so they reach the AOF in the order they ran.
    t.add_lock("function|load", function_load, Some(LockKind::Exclusive));
    t.add_lock("function|list", function_list, Some(LockKind::None));
    t.add_lock(
        "function|delete",
        function_delete,
        Some(LockKind::Exclusive),
    );
    t.add_lock("function|flush", function_flush, Some(LockKind::Exclusive));
    t.add_lock("function|stats", function_stats, Some(LockKind::None));
    t.add_lock("function|kill", function_kill, Some(LockKind::None));
    t.add_lock("function|help", function_help, Some(LockKind::None));
    t.add_lock("function|dump", function_dump, Some(LockKind::None));
    t.add_lock(
        "function|restore",
        function_restore,
        Some(LockKind::Exclusive),
    );
}

/// SHA1 of `data` as 40 lowercase hex digits.
pub fn sha1_hex(data: &[u8]) -> String {
    sha1_smol::Sha1::from(data).digest().to_string()
}

/// Parses a `#!lua flags=...` first line. Returns the flags (None without
/// a shebang) and the length of the shebang line.
fn shebang(body: &[u8]) -> Result<(Option<u32>, usize), String> {
    if !body.starts_with(b"#!") {
        return Ok((None, 0));
    }
    let Some(end) = body.iter().position(|&c| c == b'\n') else {
        return Err("ERR Invalid script shebang".into());
    };
    let line = String::from_utf8_lossy(&body[2..end]).into_owned();
    let mut parts = line.split(' ').filter(|p| !p.is_empty());
    let engine = parts.next().unwrap_or("");
    if engine != "lua" {
        return Err(format!("ERR Could not find scripting engine '{}'", engine));
    }
    let mut f = 0;
    for p in parts {
        let Some(list) = p.strip_prefix("flags=") else {
            return Err(format!("ERR Unknown lua shebang option: {}", p));
        };
        for fl in list.split(',').filter(|s| !s.is_empty()) {
            f |= match fl {
                "no-writes" => flags::NO_WRITES,
                "allow-oom" => flags::ALLOW_OOM,
                "allow-stale" => flags::ALLOW_STALE,
                "no-cluster" => flags::NO_CLUSTER,
                "allow-cross-slot-keys" => flags::ALLOW_CROSS_SLOT,
                other => return Err(format!("ERR Unexpected flag in script shebang: {}", other)),
            };
        }
    }
    Ok((Some(f), end))
}

fn state<'a>(
    srv: &'static Server,
    g: &'a mut parking_lot::MutexGuard<'static, Option<State>>,
) -> Result<&'a mut State, String> {
    if g.is_none() {
        let engine = Engine::new(srv).map_err(|e| format!("ERR {}", e))?;
        **g = Some(State {
            engine,
            scripts: HashMap::new(),
            libraries: Vec::new(),
        });
    }
    g.as_mut()
        .ok_or_else(|| "ERR scripting engine unavailable".to_string())
}

/// Compiles and caches `body`; returns its SHA1.
fn load(st: &mut State, body: &[u8]) -> Result<String, String> {
    let sha = sha1_hex(body);
    if st.scripts.contains_key(&sha) {
        return Ok(sha);
    }
    let (flags, sb_len) = shebang(body)?;
    // The shebang line is blanked, not removed, so line numbers stay right.
    let src: std::borrow::Cow<[u8]> = if sb_len > 0 {
        let mut v = body.to_vec();
        for c in v.iter_mut().take(sb_len) {
            *c = b' ';
        }
        std::borrow::Cow::Owned(v)
    } else {
        std::borrow::Cow::Borrowed(body)
    };
    st.engine
        .compile(&src, "user_script", &sha)
        .map_err(|m| format!("ERR Error compiling script (new function): {}", m))?;
    st.scripts.insert(sha.clone(), Script { flags });
    Ok(sha)
}

fn eval(ctx: &mut Ctx, argv: &[&[u8]]) {
    run_eval(ctx, argv, false, false)
}

fn evalsha(ctx: &mut Ctx, argv: &[&[u8]]) {
    run_eval(ctx, argv, true, false)
}

fn eval_ro(ctx: &mut Ctx, argv: &[&[u8]]) {
    run_eval(ctx, argv, false, true)
}

fn evalsha_ro(ctx: &mut Ctx, argv: &[&[u8]]) {
    run_eval(ctx, argv, true, true)
}

/// Clears the "script running" state when a run ends, however it ends.
struct RunningGuard;

impl RunningGuard {
    fn start(function: bool, name: &str, argv: &[&[u8]]) -> RunningGuard {
        let cmd = if function {
            argv.iter().map(|a| a.to_vec()).collect()
        } else {
            Vec::new()
        };
        *RUNNING.lock() = Some((name.to_string(), cmd));
        KILL.store(false, Ordering::Relaxed);
        WROTE.store(false, Ordering::Relaxed);
        SLOW_LOGGED.store(false, Ordering::Relaxed);
        KILL_LOGGED.store(false, Ordering::Relaxed);
        IS_FUNCTION.store(function, Ordering::Relaxed);
        RUNNING_SINCE.store(crate::server::now_ms().max(1), Ordering::Release);
        thread::CHANGED.notify_waiters();
        RunningGuard
    }
}

/// Logs the kill of the running script (once).
pub(crate) fn log_kill() {
    if !KILL_LOGGED.swap(true, Ordering::Relaxed) {
        crate::log::warning("Lua script killed by user with SCRIPT KILL.");
    }
}

/// Logs Redis's "slow script" warning once the running script has passed
/// `busy-reply-threshold` (called from the interpreter's periodic hook).
pub(crate) fn check_slow(srv: &'static Server) {
    let since = RUNNING_SINCE.load(Ordering::Acquire);
    if since == 0 || SLOW_LOGGED.load(Ordering::Relaxed) {
        return;
    }
    let elapsed = crate::server::now_ms() - since;
    if elapsed < srv.config.busy_reply_threshold() {
        return;
    }
    SLOW_LOGGED.store(true, Ordering::Relaxed);
    let name = RUNNING
        .lock()
        .as_ref()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    crate::log::warning(&format!(
        "Slow script detected: still in execution after {} milliseconds. You can try killing the script using the {} command. Script name is: {}.",
        elapsed,
        if IS_FUNCTION.load(Ordering::Relaxed) { "FUNCTION KILL" } else { "SCRIPT KILL" },
        name
    ));
}

impl Drop for RunningGuard {
    fn drop(&mut self) {
        RUNNING_SINCE.store(0, Ordering::Release);
        KILL.store(false, Ordering::Relaxed);
        WROTE.store(false, Ordering::Relaxed);
        *RUNNING.lock() = None;
    }
}

/// Scripts are shown to MONITOR before the commands they run (their own
/// command metadata says skip_monitor, so the dispatcher doesn't).
fn feed_monitors(client: &Client, argv: &[&[u8]]) {
    if crate::monitor::COUNT.load(Ordering::Relaxed) == 0 {
        return;
    }
    let line = crate::monitor::format_line(client.db, &client.shared.addr, argv);
    for m in crate::monitor::MONITORS.lock().iter() {
        if m.id != client.id() {
            m.send(&line);
        }
    }
}

fn run_eval(ctx: &mut Ctx, argv: &[&[u8]], by_sha: bool, ro_cmd: bool) {
    feed_monitors(ctx.client, argv);
    let (Some(&body), Some(&nk)) = (argv.get(1), argv.get(2)) else {
        return;
    };
    let Some(numkeys) = crate::cmd::util::parse_i64(nk) else {
        ctx.out.error(crate::dispatch::ERR_NOT_INT);
        return;
    };
    if numkeys > (argv.len() - 3) as i64 {
        ctx.out
            .error("ERR Number of keys can't be greater than number of args");
        return;
    }
    if numkeys < 0 {
        ctx.out.error("ERR Number of keys can't be negative");
        return;
    }
    let nk = numkeys as usize;
    let keys = &argv[3..3 + nk];
    let args = &argv[3 + nk..];
    let srv = ctx.srv;
    let mut g = STATE.lock();
    let st = match state(srv, &mut g) {
        Ok(s) => s,
        Err(e) => {
            ctx.out.error(&e);
            return;
        }
    };
    let sha = if by_sha {
        let s = String::from_utf8_lossy(body).to_ascii_lowercase();
        if s.len() != 40 || !st.scripts.contains_key(&s) {
            ctx.out.error(NOSCRIPT);
            return;
        }
        s
    } else {
        match load(st, body) {
            Ok(s) => s,
            Err(e) => {
                ctx.out.error(&e);
                return;
            }
        }
    };
    let Some(script) = st.scripts.get(&sha) else {
        ctx.out.error(NOSCRIPT);
        return;
    };
    let mut read_only = ro_cmd;
    let oom = out_of_memory(srv);
    if let Some(f) = script.flags {
        if f & flags::NO_WRITES != 0 {
            read_only = true;
        } else if ro_cmd {
            ctx.out
                .error("ERR Can not execute a script with write flag using *_ro command.");
            return;
        }
        if oom && f & (flags::ALLOW_OOM | flags::NO_WRITES) == 0 {
            refuse_oom(ctx);
            return;
        }
    }
    // Scripts without a shebang may not run their first deny-oom command.
    let allow_oom = script.flags.is_some_and(|f| f & flags::ALLOW_OOM != 0);
    let saved_db = ctx.client.db;
    let saved_in_exec = ctx.client.in_exec;
    ctx.client.in_exec = true;
    let mut rs = RunState {
        srv,
        client: ctx.client as *mut Client,
        locks: ctx.ks.locks as *mut crate::locks::Locks,
        wstats: ctx.ks.stats,
        resp3: false,
        read_only,
        oom: oom && !allow_oom,
        now_us: crate::server::now_us(),
    };
    hold_key_shards(ctx, keys);
    {
        let _running = RunningGuard::start(false, &sha, argv);
        st.engine.run(&sha, keys, args, &mut rs, ctx.out);
    }
    ctx.client.in_exec = saved_in_exec;
    if ctx.client.db != saved_db {
        ctx.client.select(saved_db);
    }
}

fn script_load(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(&body) = argv.get(2) else {
        return;
    };
    let mut g = STATE.lock();
    let r = state(ctx.srv, &mut g).and_then(|st| load(st, body));
    match r {
        Ok(sha) => ctx.out.bulk(sha.as_bytes()),
        Err(e) => ctx.out.error(&e),
    }
}

fn script_exists(ctx: &mut Ctx, argv: &[&[u8]]) {
    let g = STATE.lock();
    ctx.out.array(argv.len().saturating_sub(2));
    for a in argv.iter().skip(2) {
        let s = String::from_utf8_lossy(a).to_ascii_lowercase();
        let found = g.as_ref().is_some_and(|st| st.scripts.contains_key(&s));
        ctx.out.int(found as i64);
    }
}

fn script_flush(ctx: &mut Ctx, argv: &[&[u8]]) {
    if argv.len() > 3 {
        ctx.out
            .error("ERR SCRIPT FLUSH only support SYNC|ASYNC option");
        return;
    }
    if let Some(m) = argv.get(2) {
        if !m.eq_ignore_ascii_case(b"sync") && !m.eq_ignore_ascii_case(b"async") {
            ctx.out
                .error("ERR SCRIPT FLUSH only support SYNC|ASYNC option");
            return;
        }
    }
    // Library functions live in the same interpreter, so only the script
    // cache is dropped.
    if let Some(st) = STATE.lock().as_mut() {
        st.scripts.clear();
        st.engine.flush_scripts();
    }
    ctx.out.ok();
}

/// SCRIPT KILL's (`eval`) or FUNCTION KILL's reply for the current state.
fn kill_reply(out: &mut ReplyBuf, eval: bool) {
    let function = IS_FUNCTION.load(Ordering::Relaxed);
    if RUNNING_SINCE.load(Ordering::Acquire) == 0 {
        out.error("NOTBUSY No scripts in execution right now.");
    } else if WROTE.load(Ordering::Relaxed) {
        out.error("UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.");
    } else if eval && function {
        out.error(BUSY_FUNCTION);
    } else if !eval && !function {
        out.error(BUSY_EVAL);
    } else {
        KILL.store(true, Ordering::Relaxed);
        out.ok();
    }
}

fn script_kill(ctx: &mut Ctx, _argv: &[&[u8]]) {
    kill_reply(ctx.out, true)
}

fn script_help(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let lines: &[&str] = &[
        "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "EXISTS <sha1> [<sha1> ...]",
        "    Return information about the existence of the scripts in the script cache.",
        "FLUSH [ASYNC|SYNC]",
        "    Flush the Lua scripts cache. Very dangerous on replicas.",
        "    When called without the optional mode argument, the behavior is determined",
        "     by the lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the scripts cache.",
        "    * SYNC: Synchronously flush the scripts cache.",
        "KILL",
        "    Kill the currently executing Lua script.",
        "LOAD <script>",
        "    Load a script into the scripts cache without executing it.",
        "HELP",
        "    Print this help.",
    ];
    ctx.out.array(lines.len());
    for l in lines {
        ctx.out.simple(l);
    }
}

/// Locks the shards of the declared keys up front (the others are locked
/// when first used): the active-expiry cycle, which takes one shard at a
/// time, then can't remove them while the script runs with its clock
/// frozen at the start.
fn hold_key_shards(ctx: &mut Ctx, keys: &[&[u8]]) {
    for k in keys {
        let _ = ctx.ks.shard_of(k);
    }
}

/// Redis's `pre_command_oom_state`: `maxmemory` is set and used memory is
/// over it with nothing more to evict (a script start checks it once).
fn out_of_memory(srv: &'static Server) -> bool {
    let max = srv.config.maxmemory();
    max != 0 && crate::evict::used_memory() > max && !crate::evict::evicting()
}

/// A script that may write, without `allow-oom`, while out of memory: as
/// a command of its own it fails the memory gate; inside a transaction
/// the script itself refuses to start.
fn refuse_oom(ctx: &mut Ctx) {
    if ctx.client.in_exec {
        ctx.out.error(
            "OOM allow-oom flag is not set on the script, can not run it when used memory > 'maxmemory'",
        );
    } else {
        ctx.out.error(crate::evict::OOM_ERR);
    }
}

fn parse_numkeys(ctx: &mut Ctx, argv: &[&[u8]], not_int: &str) -> Option<usize> {
    let nk = argv.get(2)?;
    let Some(numkeys) = crate::cmd::util::parse_i64(nk) else {
        ctx.out.error(not_int);
        return None;
    };
    if numkeys > (argv.len() - 3) as i64 {
        ctx.out
            .error("ERR Number of keys can't be greater than number of args");
        return None;
    }
    if numkeys < 0 {
        ctx.out.error("ERR Number of keys can't be negative");
        return None;
    }
    Some(numkeys as usize)
}

fn fcall(ctx: &mut Ctx, argv: &[&[u8]]) {
    run_fcall(ctx, argv, false)
}

fn fcall_ro(ctx: &mut Ctx, argv: &[&[u8]]) {
    run_fcall(ctx, argv, true)
}

fn run_fcall(ctx: &mut Ctx, argv: &[&[u8]], ro_cmd: bool) {
    feed_monitors(ctx.client, argv);
    let Some(&fname) = argv.get(1) else {
        return;
    };
    let srv = ctx.srv;
    let mut g = STATE.lock();
    let st = match state(srv, &mut g) {
        Ok(s) => s,
        Err(e) => {
            ctx.out.error(&e);
            return;
        }
    };
    let Some(f) = st.find_function(fname) else {
        ctx.out.error("ERR Function not found");
        return;
    };
    let (callback, fflags, name) = (f.callback.clone(), f.flags, f.name.clone());
    let Some(nk) = parse_numkeys(ctx, argv, "ERR Bad number of keys provided") else {
        return;
    };
    let read_only = fflags & flags::NO_WRITES != 0;
    if ro_cmd && !read_only {
        ctx.out
            .error("ERR Can not execute a script with write flag using *_ro command.");
        return;
    }
    let oom = out_of_memory(srv);
    if oom && fflags & (flags::ALLOW_OOM | flags::NO_WRITES) == 0 {
        refuse_oom(ctx);
        return;
    }
    let keys = &argv[3..3 + nk];
    let args = &argv[3 + nk..];
    let saved_db = ctx.client.db;
    let saved_in_exec = ctx.client.in_exec;
    ctx.client.in_exec = true;
    let mut rs = RunState {
        srv,
        client: ctx.client as *mut Client,
        locks: &mut *ctx.ks.locks as *mut crate::locks::Locks,
        wstats: ctx.ks.stats,
        resp3: false,
        read_only,
        oom: false,
        now_us: crate::server::now_us(),
    };
    hold_key_shards(ctx, keys);
    {
        let _running = RunningGuard::start(true, &name, argv);
        st.engine
            .run_function(&callback, keys, args, &name, &mut rs, ctx.out);
    }
    ctx.client.in_exec = saved_in_exec;
    if ctx.client.db != saved_db {
        ctx.client.select(saved_db);
    }
}

/// Parses a library's `#!lua name=<lib>` first line.
fn library_name(code: &[u8]) -> Result<(String, usize), String> {
    if !code.starts_with(b"#!") {
        return Err("ERR Missing library metadata".into());
    }
    let Some(end) = code.iter().position(|&c| c == b'\n') else {
        return Err("ERR Invalid library metadata".into());
    };
    let line = String::from_utf8_lossy(&code[2..end]).into_owned();
    let mut parts = line.split(' ').filter(|p| !p.is_empty());
    let engine = parts.next().unwrap_or("");
    if !engine.eq_ignore_ascii_case("lua") {
        return Err(format!("ERR Engine '{}' not found", engine));
    }
    let mut name = None;
    for p in parts {
        match p.strip_prefix("name=") {
            Some(n) => name = Some(n.to_string()),
            None => return Err(format!("ERR Invalid metadata value given: {}", p)),
        }
    }
    let Some(name) = name else {
        return Err("ERR Library name was not given".into());
    };
    if name.is_empty() || !name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_') {
        return Err("ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long".into());
    }
    Ok((name, end))
}

fn function_load(ctx: &mut Ctx, argv: &[&[u8]]) {
    let mut replace = false;
    let mut i = 2;
    while i + 1 < argv.len() {
        if argv[i].eq_ignore_ascii_case(b"replace") {
            replace = true;
            i += 1;
        } else {
            ctx.out.error(&format!(
                "ERR Unknown option given: {}",
                String::from_utf8_lossy(argv[i])
            ));
            return;
        }
    }
    let Some(&code) = argv.get(i).filter(|_| i + 1 == argv.len()) else {
        ctx.out.error("ERR Function code is missing");
        return;
    };
    let mut g = STATE.lock();
    let st = match state(ctx.srv, &mut g) {
        Ok(s) => s,
        Err(e) => {
            ctx.out.error(&e);
            return;
        }
    };
    match install_library(st, code, replace, true) {
        Ok(name) => {
            // Redis's server.dirty++: saved and propagated.
            ctx.ks.add_dirty(1);
            ctx.out.bulk(name.as_bytes())
        }
        Err(e) => ctx.out.error(&e),
    }
}

/// Runs a library's code and builds it (not yet installed).
fn build_library(st: &State, code: &[u8], timeout: bool) -> Result<Library, String> {
    let (name, sb_len) = library_name(code)?;
    let mut src = code.to_vec();
    for c in src.iter_mut().take(sb_len) {
        *c = b' ';
    }
    let funcs = st.engine.load_library(&src, timeout)?;
    Ok(Library {
        name,
        code: code.to_vec(),
        funcs: funcs
            .into_iter()
            .map(|r| FuncInfo {
                name: r.name,
                callback: r.callback,
                flags: r.flags,
                description: r.description,
            })
            .collect(),
    })
}

/// FUNCTION LOAD: builds and installs a library; returns its name.
/// `timeout`: FUNCTION LOAD stops code that runs past 500 ms (loading an
/// RDB file or FUNCTION RESTORE doesn't).
fn install_library(
    st: &mut State,
    code: &[u8],
    replace: bool,
    timeout: bool,
) -> Result<String, String> {
    let (name, _) = library_name(code)?;
    let existing = st.libraries.iter().position(|l| l.name == name);
    if existing.is_some() && !replace {
        return Err(format!("ERR Library '{}' already exists", name));
    }
    let lib = build_library(st, code, timeout)?;
    for f in &lib.funcs {
        let clash = st
            .libraries
            .iter()
            .filter(|l| l.name != name)
            .any(|l| l.funcs.iter().any(|x| x.name == f.name));
        if clash {
            return Err(format!("ERR Function {} already exists", f.name));
        }
    }
    match existing {
        Some(p) => {
            if let Some(slot) = st.libraries.get_mut(p) {
                *slot = lib;
            }
        }
        None => st.libraries.push(lib),
    }
    sync_codes(st);
    Ok(name)
}

/// Copy of the libraries' code, kept apart from the interpreter's lock so
/// that it can be read while a script runs.
static LIBRARY_CODES: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

/// Refreshes `LIBRARY_CODES` after a change to the libraries.
fn sync_codes(st: &State) {
    *LIBRARY_CODES.lock() = st.libraries.iter().map(|l| l.code.clone()).collect();
    LIBRARY_COUNT.store(st.libraries.len(), Ordering::Relaxed);
    FUNCTION_COUNT.store(
        st.libraries.iter().map(|l| l.funcs.len()).sum(),
        Ordering::Relaxed,
    );
}

/// The code of every loaded library, in load order (for RDB files).
pub fn library_codes() -> Vec<Vec<u8>> {
    LIBRARY_CODES.lock().clone()
}

/// Loads a library from an RDB file (replacing one of the same name).
pub fn restore_library(srv: &'static Server, code: &[u8]) -> Result<String, String> {
    let mut g = STATE.lock();
    let st = state(srv, &mut g)?;
    install_library(st, code, true, false)
}

fn function_dump(ctx: &mut Ctx, _argv: &[&[u8]]) {
    use crate::persist::rdb;
    let compress = ctx.srv.config.get_bool("rdbcompression").unwrap_or(true);
    let mut out = Vec::new();
    for code in library_codes() {
        out.push(rdb::OP_FUNCTION2);
        rdb::write_string(&mut out, &code, compress);
    }
    out.extend_from_slice(&rdb::RDB_VERSION.to_le_bytes());
    let crc = crate::persist::crc64::crc64(0, &out);
    out.extend_from_slice(&crc.to_le_bytes());
    ctx.out.bulk(&out);
}

fn function_restore(ctx: &mut Ctx, argv: &[&[u8]]) {
    use crate::persist::rdb;
    let Some(&payload) = argv.get(2) else {
        return;
    };
    #[derive(PartialEq)]
    enum Policy {
        Flush,
        Append,
        Replace,
    }
    let policy = match argv.get(3) {
        None => Policy::Append,
        Some(p) if argv.len() == 4 && p.eq_ignore_ascii_case(b"flush") => Policy::Flush,
        Some(p) if argv.len() == 4 && p.eq_ignore_ascii_case(b"append") => Policy::Append,
        Some(p) if argv.len() == 4 && p.eq_ignore_ascii_case(b"replace") => Policy::Replace,
        Some(_) => {
            ctx.out.error(
                "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.",
            );
            return;
        }
    };
    let Some(body) = rdb::verify_payload(payload) else {
        ctx.out
            .error("ERR DUMP payload version or checksum are wrong");
        return;
    };
    let mut r = rdb::Reader::new(body);
    let mut codes = Vec::new();
    while r.pos < body.len() {
        match r.u8() {
            Ok(rdb::OP_FUNCTION2) => {}
            Ok(rdb::OP_FUNCTION_PRE_GA) => {
                ctx.out.error("ERR Pre-GA function format not supported");
                return;
            }
            _ => {
                ctx.out.error("ERR given type is not a function");
                return;
            }
        }
        match r.string() {
            Ok(c) => codes.push(c),
            Err(_) => {
                ctx.out
                    .error("ERR failed loading the given functions payload");
                return;
            }
        }
    }
    let mut g = STATE.lock();
    let st = match state(ctx.srv, &mut g) {
        Ok(s) => s,
        Err(e) => {
            ctx.out.error(&e);
            return;
        }
    };
    let mut new_libs: Vec<Library> = Vec::new();
    for code in &codes {
        let lib = match build_library(st, code, false) {
            Ok(l) => l,
            Err(e) => {
                ctx.out.error(&e);
                return;
            }
        };
        if new_libs.iter().any(|l| l.name == lib.name) {
            ctx.out
                .error(&format!("ERR Library '{}' already exists", lib.name));
            return;
        }
        for f in &lib.funcs {
            if new_libs
                .iter()
                .any(|l| l.funcs.iter().any(|x| x.name == f.name))
            {
                ctx.out
                    .error(&format!("ERR Function {} already exists", f.name));
                return;
            }
        }
        new_libs.push(lib);
    }
    if policy == Policy::Flush {
        st.libraries = new_libs;
        sync_codes(st);
        ctx.ks.add_dirty(1);
        ctx.out.ok();
        return;
    }
    // Join: the kept libraries are the current ones, minus those replaced.
    let kept: Vec<&Library> = st
        .libraries
        .iter()
        .filter(|l| policy == Policy::Append || !new_libs.iter().any(|n| n.name == l.name))
        .collect();
    for n in &new_libs {
        if kept.iter().any(|l| l.name == n.name) {
            ctx.out
                .error(&format!("ERR Library {} already exists", n.name));
            return;
        }
        for f in &n.funcs {
            if kept
                .iter()
                .any(|l| l.funcs.iter().any(|x| x.name == f.name))
            {
                ctx.out
                    .error(&format!("ERR Function {} already exists", f.name));
                return;
            }
        }
    }
    for n in new_libs {
        match st.libraries.iter().position(|l| l.name == n.name) {
            Some(p) => {
                if let Some(slot) = st.libraries.get_mut(p) {
                    *slot = n;
                }
            }
            None => st.libraries.push(n),
        }
    }
    sync_codes(st);
    ctx.ks.add_dirty(1);
    ctx.out.ok();
}

fn flag_names(f: u32) -> Vec<&'static str> {
    let mut v = Vec::new();
    for (bit, name) in [
        (flags::NO_WRITES, "no-writes"),
        (flags::ALLOW_OOM, "allow-oom"),
        (flags::ALLOW_STALE, "allow-stale"),
        (flags::NO_CLUSTER, "no-cluster"),
        (flags::ALLOW_CROSS_SLOT, "allow-cross-slot-keys"),
    ] {
        if f & bit != 0 {
            v.push(name);
        }
    }
    v
}

fn function_list(ctx: &mut Ctx, argv: &[&[u8]]) {
    let mut with_code = false;
    let mut pattern: Option<&[u8]> = None;
    let mut i = 2;
    while i < argv.len() {
        let a = argv[i];
        if a.eq_ignore_ascii_case(b"withcode") && !with_code {
            with_code = true;
            i += 1;
        } else if a.eq_ignore_ascii_case(b"libraryname") && pattern.is_none() {
            let Some(&p) = argv.get(i + 1) else {
                ctx.out.error("ERR library name argument was not given");
                return;
            };
            pattern = Some(p);
            i += 2;
        } else {
            ctx.out.error(&format!(
                "ERR Unknown argument {}",
                String::from_utf8_lossy(a)
            ));
            return;
        }
    }
    let g = STATE.lock();
    let libs: Vec<&Library> = g
        .as_ref()
        .map(|st| {
            st.libraries
                .iter()
                .filter(|l| {
                    pattern.is_none_or(|p| {
                        spinel_keyspace::glob::glob_match(p, l.name.as_bytes(), false)
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    ctx.out.array(libs.len());
    for l in libs {
        ctx.out.map(if with_code { 4 } else { 3 });
        ctx.out.bulk(b"library_name");
        ctx.out.bulk(l.name.as_bytes());
        ctx.out.bulk(b"engine");
        ctx.out.bulk(b"LUA");
        ctx.out.bulk(b"functions");
        ctx.out.array(l.funcs.len());
        for f in &l.funcs {
            ctx.out.map(3);
            ctx.out.bulk(b"name");
            ctx.out.bulk(f.name.as_bytes());
            ctx.out.bulk(b"description");
            match &f.description {
                Some(d) => ctx.out.bulk(d),
                None => ctx.out.null(),
            }
            ctx.out.bulk(b"flags");
            let names = flag_names(f.flags);
            ctx.out.set(names.len());
            for n in names {
                ctx.out.bulk(n.as_bytes());
            }
        }
        if with_code {
            ctx.out.bulk(b"library_code");
            ctx.out.bulk(&l.code);
        }
    }
}

fn function_delete(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(&name) = argv.get(2) else {
        return;
    };
    let mut g = STATE.lock();
    let removed = g.as_mut().and_then(|st| {
        let p = st
            .libraries
            .iter()
            .position(|l| l.name.as_bytes() == name)?;
        let lib = st.libraries.remove(p);
        sync_codes(st);
        Some(lib)
    });
    match removed {
        Some(_) => {
            ctx.ks.add_dirty(1);
            ctx.out.ok()
        }
        None => ctx.out.error("ERR Library not found"),
    }
}

fn function_flush(ctx: &mut Ctx, argv: &[&[u8]]) {
    let ok = match argv.len() {
        2 => true,
        3 => argv[2].eq_ignore_ascii_case(b"sync") || argv[2].eq_ignore_ascii_case(b"async"),
        _ => false,
    };
    if !ok {
        ctx.out
            .error("ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
        return;
    }
    if let Some(st) = STATE.lock().as_mut() {
        st.libraries.clear();
        sync_codes(st);
    }
    ctx.ks.add_dirty(1);
    ctx.out.ok();
}

fn function_stats(ctx: &mut Ctx, _argv: &[&[u8]]) {
    write_function_stats(ctx.out, false)
}

/// FUNCTION STATS's reply; `running` adds the running function (name, the
/// command that called it, how long it has run).
fn write_function_stats(out: &mut ReplyBuf, running: bool) {
    let libs = LIBRARY_COUNT.load(Ordering::Relaxed);
    let funcs = FUNCTION_COUNT.load(Ordering::Relaxed);
    out.map(2);
    out.bulk(b"running_script");
    let info = if running {
        RUNNING.lock().clone()
    } else {
        None
    };
    match info {
        Some((name, cmd)) => {
            let since = RUNNING_SINCE.load(Ordering::Acquire);
            out.map(3);
            out.bulk(b"name");
            out.bulk(name.as_bytes());
            out.bulk(b"command");
            out.array(cmd.len());
            for a in &cmd {
                out.bulk(a);
            }
            out.bulk(b"duration_ms");
            out.int((crate::server::now_ms() - since).max(0));
        }
        None => out.null(),
    }
    out.bulk(b"engines");
    out.map(1);
    out.bulk(b"LUA");
    out.map(2);
    out.bulk(b"libraries_count");
    out.int(libs as i64);
    out.bulk(b"functions_count");
    out.int(funcs as i64);
}

fn function_kill(ctx: &mut Ctx, _argv: &[&[u8]]) {
    kill_reply(ctx.out, false)
}

fn function_help(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let lines: &[&str] = &[
        "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "LOAD [REPLACE] <FUNCTION CODE>",
        "    Create a new library with the given library name and code.",
        "DELETE <LIBRARY NAME>",
        "    Delete the given library.",
        "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
        "    Return general information on all the libraries:",
        "    * Library name",
        "    * The engine used to run the Library",
        "    * Functions list",
        "    * Library code (if WITHCODE is given)",
        "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
        "STATS",
        "    Return information about the current function running:",
        "    * Function name",
        "    * Command used to run the function",
        "    * Duration in MS that the function is running",
        "    If no function is running, return nil",
        "    In addition, returns a list of available engines.",
        "KILL",
        "    Kill the current running function.",
        "FLUSH [ASYNC|SYNC]",
        "    Delete all the libraries.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the libraries.",
        "    * SYNC: Synchronously flush the libraries.",
        "DUMP",
        "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
        "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
        "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
        "    control how to handle existing libraries (default APPEND):",
        "    * FLUSH: delete all existing libraries.",
        "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
        "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
        "      libraries with the new libraries (notice that even on this option there is a chance of failure",
        "      in case of functions name collision with another library).",
        "HELP",
        "    Print this help.",
    ];
    ctx.out.array(lines.len());
    for l in lines {
        ctx.out.simple(l);
    }
}

/// Memory used by the Lua interpreter (INFO `used_memory_lua`).
pub fn used_memory() -> usize {
    STATE
        .try_lock()
        .and_then(|g| g.as_ref().map(|s| s.engine.used_memory()))
        .unwrap_or(0)
}

/// Loaded function libraries and functions (INFO `number_of_libraries`,
/// `number_of_functions`).
pub fn function_counts() -> (usize, usize) {
    STATE
        .try_lock()
        .and_then(|g| {
            g.as_ref().map(|st| {
                (
                    st.libraries.len(),
                    st.libraries.iter().map(|l| l.funcs.len()).sum(),
                )
            })
        })
        .unwrap_or((0, 0))
}

/// Number of cached scripts (INFO `number_of_cached_scripts`).
pub fn cached_scripts() -> usize {
    STATE
        .try_lock()
        .and_then(|g| g.as_ref().map(|s| s.scripts.len()))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha() {
        assert_eq!(sha1_hex(b""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    }

    #[test]
    fn shebangs() {
        assert_eq!(shebang(b"return 1").ok(), Some((None, 0)));
        assert_eq!(
            shebang(b"#!lua flags=no-writes,allow-oom\nreturn 1").ok(),
            Some((Some(flags::NO_WRITES | flags::ALLOW_OOM), 31))
        );
        assert!(shebang(b"#!lua").is_err());
        assert!(shebang(b"#!lua flags=bad\n").is_err());
        assert!(shebang(b"#!py\n").is_err());
    }
}
