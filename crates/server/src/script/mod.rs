//! Lua scripting: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT.
//!
//! One Lua 5.1 interpreter serves every client. A script runs as a single
//! atomic step: its command takes the exclusive lock (all workers stopped),
//! so the commands it calls see and change the dataset with nobody else
//! running. Scripts are cached by the SHA1 of their body.
//!
//! While a script runs, `RUNNING_SINCE` holds its start time: connections
//! served by other workers answer `BUSY` once the script has run longer
//! than `busy-reply-threshold`, and answer SCRIPT KILL / FUNCTION KILL /
//! SHUTDOWN NOSAVE themselves (`busy_intercept`, called before dispatch
//! without taking any lock).

mod libs;
mod lua;

use crate::client::Client;
use crate::dispatch::{CommandTable, Ctx, LockKind};
use crate::server::Server;
use lua::{Engine, RunState, Script};
use parking_lot::Mutex;
use spinel_resp::ReplyBuf;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

pub const REDIS_VERSION: &str = "7.2.4";
pub const REDIS_VERSION_NUM: i64 = 0x0007_0204;

/// Start time (unix ms) of the running script; 0 when none runs.
pub static RUNNING_SINCE: AtomicI64 = AtomicI64::new(0);
/// SCRIPT KILL was requested for the running script.
static KILL: AtomicBool = AtomicBool::new(false);
/// The running script has called a write command (it can't be killed).
static WROTE: AtomicBool = AtomicBool::new(false);

pub const BUSY_EVAL: &str =
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
const NOSCRIPT: &str = "NOSCRIPT No matching script. Please use EVAL.";

pub mod flags {
    pub const NO_WRITES: u32 = 1 << 0;
    pub const ALLOW_OOM: u32 = 1 << 1;
    pub const ALLOW_STALE: u32 = 1 << 2;
    pub const NO_CLUSTER: u32 = 1 << 3;
    pub const ALLOW_CROSS_SLOT: u32 = 1 << 4;
}

struct State {
    engine: Engine,
    scripts: HashMap<String, Script>,
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
    let func = st
        .engine
        .compile(&src, "user_script")
        .map_err(|m| format!("ERR Error compiling script (new function): {}", m))?;
    st.scripts.insert(sha.clone(), Script { func, flags });
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
    fn start() -> RunningGuard {
        KILL.store(false, Ordering::Relaxed);
        WROTE.store(false, Ordering::Relaxed);
        RUNNING_SINCE.store(crate::server::now_ms().max(1), Ordering::Release);
        RunningGuard
    }
}

impl Drop for RunningGuard {
    fn drop(&mut self) {
        RUNNING_SINCE.store(0, Ordering::Release);
        KILL.store(false, Ordering::Relaxed);
        WROTE.store(false, Ordering::Relaxed);
    }
}

fn run_eval(ctx: &mut Ctx, argv: &[&[u8]], by_sha: bool, ro_cmd: bool) {
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
    if let Some(f) = script.flags {
        if f & flags::NO_WRITES != 0 {
            read_only = true;
        } else if ro_cmd {
            ctx.out
                .error("ERR Can not execute a script with write flag using *_ro command.");
            return;
        }
    }
    let func = script.func.clone();
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
    };
    {
        let _running = RunningGuard::start();
        st.engine.run(&func, keys, args, &sha, &mut rs, ctx.out);
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
    let old = STATE.lock().take();
    drop(old);
    ctx.out.ok();
}

/// SCRIPT KILL's reply for the current state.
fn kill_reply(out: &mut ReplyBuf) {
    if RUNNING_SINCE.load(Ordering::Acquire) == 0 {
        out.error("NOTBUSY No scripts in execution right now.");
    } else if WROTE.load(Ordering::Relaxed) {
        out.error("UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.");
    } else {
        KILL.store(true, Ordering::Relaxed);
        out.ok();
    }
}

fn script_kill(ctx: &mut Ctx, _argv: &[&[u8]]) {
    kill_reply(ctx.out)
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

/// Called by the connection loop before dispatching a request. While a
/// script runs, answers SCRIPT KILL / FUNCTION KILL and SHUTDOWN NOSAVE
/// directly, and `BUSY` to everything else once the script has run longer
/// than `busy-reply-threshold`. Returns true when the request was answered.
pub fn busy_intercept(
    srv: &Server,
    client: &mut Client,
    out: &mut ReplyBuf,
    argv: &[&[u8]],
) -> bool {
    let since = RUNNING_SINCE.load(Ordering::Acquire);
    if since == 0 {
        return false;
    }
    let Some(&name) = argv.first() else {
        return false;
    };
    let sub = argv.get(1).copied().unwrap_or(b"");
    if argv.len() == 2
        && (name.eq_ignore_ascii_case(b"script") || name.eq_ignore_ascii_case(b"function"))
        && sub.eq_ignore_ascii_case(b"kill")
    {
        if name.eq_ignore_ascii_case(b"function") {
            // The running script is an EVAL script.
            out.error(BUSY_EVAL);
        } else {
            kill_reply(out);
        }
        return true;
    }
    if crate::server::now_ms() - since < srv.config.busy_reply_threshold() {
        return false;
    }
    if name.eq_ignore_ascii_case(b"shutdown")
        && argv
            .iter()
            .skip(1)
            .any(|a| a.eq_ignore_ascii_case(b"nosave"))
    {
        crate::log::warning("User requested shutdown...");
        crate::log::warning("Redis is now ready to exit, bye bye...");
        std::process::exit(0);
    }
    if client.multi.is_some() {
        client.multi_error = true;
    }
    out.error(BUSY_EVAL);
    true
}

/// Memory used by the Lua interpreter (INFO `used_memory_lua`).
pub fn used_memory() -> usize {
    STATE
        .try_lock()
        .and_then(|g| g.as_ref().map(|s| s.engine.used_memory()))
        .unwrap_or(0)
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
