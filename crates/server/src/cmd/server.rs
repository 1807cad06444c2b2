//! Server and introspection commands: INFO, CONFIG, COMMAND, TIME,
//! LASTSAVE, SHUTDOWN, MONITOR, SLOWLOG, LATENCY, DEBUG, MEMORY, and
//! READONLY/READWRITE outside cluster mode.
//!
//! Replies and errors are Redis 7.2's.

use crate::client::flag;
use crate::cmd::client::reply_help;
use crate::cmd::util::{eq_ic, lossy, parse_f64, parse_i64};
use crate::dispatch::{CommandTable, Ctx, Handler, LockKind, ERR_NOT_INT, ERR_SYNTAX};
use crate::server::{now_ms, now_us, Server};
use parking_lot::Mutex;
use spinel_keyspace::Value;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};

pub fn register(t: &mut CommandTable) {
    let none = Some(LockKind::None);
    for (name, h) in [
        ("time", time as Handler),
        ("lastsave", lastsave),
        ("info", info),
        ("config|get", config_get),
        ("config|set", config_set),
        ("config|resetstat", config_resetstat),
        ("config|rewrite", config_rewrite),
        ("config|help", config_help),
        ("command", command),
        ("command|count", command),
        ("command|info", command),
        ("command|docs", command),
        ("command|list", command),
        ("command|getkeys", command),
        ("command|getkeysandflags", command),
        ("command|help", command),
        ("shutdown", shutdown),
        ("monitor", monitor),
        ("slowlog|get", slowlog_get),
        ("slowlog|len", slowlog_len),
        ("slowlog|reset", slowlog_reset),
        ("slowlog|help", slowlog_help),
        ("latency|latest", latency_latest),
        ("latency|history", latency_history),
        ("latency|reset", latency_reset),
        ("latency|graph", latency_graph),
        ("latency|doctor", latency_doctor),
        ("latency|help", latency_help),
        ("debug", debug),
        ("memory|doctor", memory_doctor),
        ("memory|malloc-stats", memory_malloc_stats),
        ("memory|purge", memory_purge),
        ("memory|stats", memory_stats),
        ("memory|help", memory_help),
        ("readonly", readonly),
        ("readwrite", readwrite),
    ] {
        t.add_lock(name, h, none);
    }
    // MEMORY USAGE locks its key's shard.
    t.add("memory|usage", memory_usage);
}

fn arity_ok(ctx: &mut Ctx, argv: &[&[u8]], arity: i64) -> bool {
    let n = argv.len() as i64;
    let ok = if arity >= 0 { n == arity } else { n >= -arity };
    if !ok {
        ctx.out.error(&crate::dispatch::arity_error(ctx.cmd.name));
    }
    ok
}

/// An error line from another module's message, with `ERR ` added when the
/// message does not start with an error code.
fn error_line(msg: &str) -> String {
    let first = msg.split(' ').next().unwrap_or("");
    if first.len() >= 2 && first.bytes().all(|b| b.is_ascii_uppercase()) {
        msg.to_string()
    } else {
        format!("ERR {}", msg)
    }
}

// ------------------------------------------------------------------ TIME, LASTSAVE

fn time(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let us = now_us();
    ctx.out.array(2);
    ctx.out.bulk_int(us / 1_000_000);
    ctx.out.bulk_int(us % 1_000_000);
}

fn lastsave(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let t = ctx.srv.lastsave.load(Ordering::Relaxed);
    ctx.out.int(t);
}

// ------------------------------------------------------------------ INFO

fn info(ctx: &mut Ctx, argv: &[&[u8]]) {
    let sel = crate::info::Selection::from_args(argv.get(1..).unwrap_or(&[]));
    let text = crate::info::generate(ctx.srv, &sel);
    ctx.out.verbatim(text.as_bytes());
}

// ------------------------------------------------------------------ CONFIG

/// Reacts to a changed parameter (`CONFIG SET`).
pub type ConfigSetHook = fn(&'static Server, &str);
/// Subsystems that must act when one of their parameters changes at run time.
pub static CONFIG_SET_HOOKS: Mutex<Vec<ConfigSetHook>> = Mutex::new(Vec::new());

fn config_get(ctx: &mut Ctx, argv: &[&[u8]]) {
    if !arity_ok(ctx, argv, -3) {
        return;
    }
    let pairs = ctx.srv.config.get_matching(&argv[2..]);
    ctx.out.map(pairs.len());
    for (k, v) in pairs {
        ctx.out.bulk(k.as_bytes());
        ctx.out.bulk(v.as_bytes());
    }
}

fn config_set(ctx: &mut Ctx, argv: &[&[u8]]) {
    if !arity_ok(ctx, argv, -4) {
        return;
    }
    if !argv.len().is_multiple_of(2) {
        ctx.out.error(ERR_SYNTAX);
        return;
    }
    let pairs: Vec<(&[u8], &[u8])> = argv[2..].chunks(2).map(|p| (p[0], p[1])).collect();
    let srv = ctx.srv;
    let mut apply = |name: &str| -> Result<(), String> {
        match name {
            "port" | "bind" => crate::listen::rebind(srv, name),
            _ => Ok(()),
        }
    };
    match ctx.srv.config.set_many_ext(&pairs, false, &mut apply) {
        Ok(changed) => {
            apply_config_changes(ctx.srv, &changed);
            ctx.out.ok();
        }
        Err(e) => ctx.out.error(&error_line(&e)),
    }
}

/// Side effects of changed parameters that live outside the config table.
pub fn apply_config_changes(srv: &'static Server, changed: &[String]) {
    for name in changed {
        match name.as_str() {
            "loglevel" => {
                if let Some(l) = crate::log::Level::from_name(&srv.config.loglevel()) {
                    crate::log::set_level(l);
                }
            }
            "logfile" => {
                let f = srv.config.logfile();
                if crate::log::logfile() != f {
                    if let Err(e) = crate::log::set_logfile(&f) {
                        crate::log::warning(&format!("Can't open the log file: {}", e));
                    }
                }
            }
            "notify-keyspace-events" => crate::notify::refresh(srv),
            "maxmemory-policy" | "lfu-log-factor" | "lfu-decay-time" | "maxmemory" => {
                crate::evict::refresh(&srv.config)
            }
            "slowlog-max-len" => {
                let max = srv.config.get_i64("slowlog-max-len").unwrap_or(128).max(0) as usize;
                let mut sl = srv.slowlog.lock();
                while sl.entries.len() > max {
                    sl.entries.pop_back();
                }
            }
            _ => {}
        }
        let hooks: Vec<ConfigSetHook> = CONFIG_SET_HOOKS.lock().clone();
        for h in hooks {
            h(srv, name);
        }
    }
}

fn config_resetstat(ctx: &mut Ctx, _argv: &[&[u8]]) {
    ctx.srv.stats.reset();
    crate::info::ACL_DENIED_AUTH.store(0, Ordering::Relaxed);
    crate::lazyfree::FREED.store(0, Ordering::Relaxed);
    ctx.out.ok();
}

fn config_rewrite(ctx: &mut Ctx, _argv: &[&[u8]]) {
    if ctx.srv.config_file.is_none() {
        ctx.out
            .error("ERR The server is running without a config file");
        return;
    }
    // The config registry logs the outcome itself.
    match ctx.srv.config.rewrite() {
        Ok(()) => ctx.out.ok(),
        Err(e) => ctx.out.error(&error_line(&e)),
    }
}

fn config_help(ctx: &mut Ctx, _argv: &[&[u8]]) {
    reply_help(
        ctx,
        "CONFIG",
        &[
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
        ],
    );
}

// ------------------------------------------------------------------ COMMAND

fn command(ctx: &mut Ctx, argv: &[&[u8]]) {
    let srv = ctx.srv;
    crate::cmdmeta::command_command(ctx.out, argv, &|name| srv.commands.implemented(name));
}

// ------------------------------------------------------------------ SHUTDOWN

/// Keeps the reply channels of clients parked by SHUTDOWN open until the
/// process exits (they never get a reply, as in Redis).
static SHUTDOWN_WAITERS: Mutex<Vec<tokio::sync::oneshot::Sender<Vec<u8>>>> = Mutex::new(Vec::new());

fn shutdown(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (mut nosave, mut save, mut abort, mut any_flag) = (false, false, false, false);
    for a in argv.iter().skip(1) {
        if eq_ic(a, "nosave") {
            nosave = true;
            any_flag = true;
        } else if eq_ic(a, "save") {
            save = true;
            any_flag = true;
        } else if eq_ic(a, "now") || eq_ic(a, "force") {
            any_flag = true;
        } else if eq_ic(a, "abort") {
            abort = true;
        } else {
            ctx.out.error(ERR_SYNTAX);
            return;
        }
    }
    if (abort && any_flag) || (nosave && save) {
        ctx.out.error(ERR_SYNTAX);
        return;
    }
    if abort {
        ctx.out.error("ERR No shutdown in progress.");
        return;
    }
    // The main thread runs the shutdown (final save hooks, pid file) and
    // exits the process; this client stays parked until then, like Redis's
    // BLOCKED_SHUTDOWN client. Running it here would hold this worker's lock
    // while the save hooks may need every worker stopped.
    let (tx, rx) = tokio::sync::oneshot::channel();
    SHUTDOWN_WAITERS.lock().push(tx);
    ctx.client.block = Some(crate::hooks::Block {
        rx,
        deadline_ms: None,
        cancel: Box::new(|_| None),
        timeout_reply: b"-ERR Errors trying to SHUTDOWN. Check logs.\r\n".to_vec(),
    });
    crate::startup::request_shutdown(ctx.srv, nosave, save);
}

// ------------------------------------------------------------------ MONITOR

fn monitor(ctx: &mut Ctx, _argv: &[&[u8]]) {
    if ctx.client.in_exec {
        ctx.out
            .error("ERR MONITOR isn't allowed for DENY BLOCKING client");
        return;
    }
    let shared = ctx.client.shared.clone();
    // Already a monitor (or a replica): ignored without a reply.
    if shared.has_flag(flag::MONITOR) || shared.has_flag(flag::REPLICA) {
        return;
    }
    shared.set_flag(flag::MONITOR, true);
    crate::monitor::add(shared);
    ctx.out.ok();
}

// ------------------------------------------------------------------ SLOWLOG

fn slowlog_get(ctx: &mut Ctx, argv: &[&[u8]]) {
    if !arity_ok(ctx, argv, -2) {
        return;
    }
    if argv.len() > 3 {
        ctx.out.error(&format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try SLOWLOG HELP.",
            lossy(&argv[1][..argv[1].len().min(128)])
        ));
        return;
    }
    let sl = ctx.srv.slowlog.lock();
    let len = sl.entries.len();
    let mut count = 10usize;
    if let Some(a) = argv.get(2) {
        match parse_i64(a) {
            Some(-1) => count = len,
            Some(n) if n >= 0 => count = n as usize,
            _ => {
                drop(sl);
                ctx.out
                    .error("ERR count should be greater than or equal to -1");
                return;
            }
        }
    }
    let count = count.min(len);
    ctx.out.array(count);
    for e in sl.entries.iter().take(count) {
        ctx.out.array(6);
        ctx.out.int(e.id as i64);
        ctx.out.int(e.time);
        ctx.out.int(e.duration_us as i64);
        ctx.out.array(e.argv.len());
        for a in &e.argv {
            ctx.out.bulk(a);
        }
        ctx.out.bulk(e.peer.as_bytes());
        ctx.out.bulk(e.name.as_bytes());
    }
}

fn slowlog_len(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let n = ctx.srv.slowlog.lock().entries.len();
    ctx.out.int(n as i64);
}

fn slowlog_reset(ctx: &mut Ctx, _argv: &[&[u8]]) {
    ctx.srv.slowlog.lock().entries.clear();
    ctx.out.ok();
}

fn slowlog_help(ctx: &mut Ctx, _argv: &[&[u8]]) {
    reply_help(
        ctx,
        "SLOWLOG",
        &[
            "GET [<count>]",
            "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "    Entries are made of:",
            "    id, timestamp, time in microseconds, arguments array, client IP and port,",
            "    client name",
            "LEN",
            "    Return the length of the slowlog.",
            "RESET",
            "    Reset the slowlog.",
        ],
    );
}

// ------------------------------------------------------------------ LATENCY

/// Samples kept per event (Redis's LATENCY_TS_LEN).
const LATENCY_TS_LEN: usize = 160;

#[derive(Clone, Copy, Default)]
struct LatencySample {
    /// Unix seconds; 0 = unused slot.
    time: i64,
    /// Milliseconds.
    latency: u64,
}

struct LatencySeries {
    idx: usize,
    max: u64,
    samples: [LatencySample; LATENCY_TS_LEN],
}

static LATENCY: Mutex<BTreeMap<String, LatencySeries>> = Mutex::new(BTreeMap::new());

/// Records a latency sample for `event` (Redis's `latencyAddSample`):
/// samples within the same second keep the highest value.
pub fn latency_add_sample(event: &str, ms: u64) {
    let now = now_ms() / 1000;
    let mut m = LATENCY.lock();
    let ts = m.entry(event.to_string()).or_insert_with(|| LatencySeries {
        idx: 0,
        max: 0,
        samples: [LatencySample::default(); LATENCY_TS_LEN],
    });
    ts.max = ts.max.max(ms);
    let prev = (ts.idx + LATENCY_TS_LEN - 1) % LATENCY_TS_LEN;
    if let Some(p) = ts.samples.get_mut(prev) {
        if p.time == now {
            p.latency = p.latency.max(ms);
            return;
        }
    }
    if let Some(s) = ts.samples.get_mut(ts.idx) {
        *s = LatencySample {
            time: now,
            latency: ms,
        };
    }
    ts.idx = (ts.idx + 1) % LATENCY_TS_LEN;
}

fn latency_threshold(srv: &Server) -> i64 {
    srv.config.get_i64("latency-monitor-threshold").unwrap_or(0)
}

/// `latencyAddSampleIfNeeded`: records `ms` for `event` when latency
/// monitoring is on and `ms` reaches the threshold.
pub fn latency_sample_if_needed(srv: &Server, event: &str, ms: u64) {
    let t = latency_threshold(srv);
    if t > 0 && ms as i64 >= t {
        latency_add_sample(event, ms);
    }
}

fn latency_latest(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let m = LATENCY.lock();
    ctx.out.array(m.len());
    for (event, ts) in m.iter() {
        let last = (ts.idx + LATENCY_TS_LEN - 1) % LATENCY_TS_LEN;
        let s = ts.samples.get(last).copied().unwrap_or_default();
        ctx.out.array(4);
        ctx.out.bulk(event.as_bytes());
        ctx.out.int(s.time);
        ctx.out.int(s.latency as i64);
        ctx.out.int(ts.max as i64);
    }
}

fn latency_history(ctx: &mut Ctx, argv: &[&[u8]]) {
    if !arity_ok(ctx, argv, 3) {
        return;
    }
    let m = LATENCY.lock();
    let Some(ts) = m.get(lossy(argv[2]).as_str()) else {
        ctx.out.array(0);
        return;
    };
    let samples: Vec<LatencySample> = (0..LATENCY_TS_LEN)
        .filter_map(|j| ts.samples.get((ts.idx + j) % LATENCY_TS_LEN).copied())
        .filter(|s| s.time != 0)
        .collect();
    ctx.out.array(samples.len());
    for s in samples {
        ctx.out.array(2);
        ctx.out.int(s.time);
        ctx.out.int(s.latency as i64);
    }
}

fn latency_reset(ctx: &mut Ctx, argv: &[&[u8]]) {
    let mut m = LATENCY.lock();
    let n = if argv.len() <= 2 {
        let n = m.len();
        m.clear();
        n
    } else {
        argv[2..]
            .iter()
            .filter(|e| m.remove(lossy(e).as_str()).is_some())
            .count()
    };
    ctx.out.int(n as i64);
}

fn latency_graph(ctx: &mut Ctx, argv: &[&[u8]]) {
    if !arity_ok(ctx, argv, 3) {
        return;
    }
    let event = lossy(argv[2]);
    let m = LATENCY.lock();
    let Some(ts) = m.get(event.as_str()) else {
        drop(m);
        ctx.out
            .error(&format!("ERR No samples available for event '{}'", event));
        return;
    };
    let live: Vec<LatencySample> = (0..LATENCY_TS_LEN)
        .filter_map(|j| ts.samples.get((ts.idx + j) % LATENCY_TS_LEN).copied())
        .filter(|s| s.time != 0)
        .collect();
    let high = live.iter().map(|s| s.latency).max().unwrap_or(0);
    let low = live.iter().map(|s| s.latency).min().unwrap_or(0);
    let mut g = format!(
        "{} - high {} ms, low {} ms (all time high {} ms)\n",
        event, high, low, ts.max
    );
    g.push_str(&"-".repeat(80));
    g.push('\n');
    let now = now_ms() / 1000;
    for s in &live {
        g.push_str(&format!("{}s ago: {} ms\n", now - s.time, s.latency));
    }
    drop(m);
    ctx.out.verbatim(g.as_bytes());
}

fn latency_doctor(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let threshold = latency_threshold(ctx.srv);
    let m = LATENCY.lock();
    let mut report = String::new();
    if m.is_empty() && threshold == 0 {
        report.push_str("I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n");
    } else if m.is_empty() {
        report.push_str("Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sleep tonight.\n");
    } else {
        report.push_str("Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n");
        let now = now_ms() / 1000;
        for (n, (event, ts)) in m.iter().enumerate() {
            let live: Vec<LatencySample> =
                ts.samples.iter().copied().filter(|s| s.time != 0).collect();
            let k = live.len().max(1) as u64;
            let avg = live.iter().map(|s| s.latency).sum::<u64>() / k;
            let oldest = live.iter().map(|s| s.time).min().unwrap_or(now);
            let period = (now - oldest).max(1);
            let mad = live
                .iter()
                .map(|s| (avg as i64 - s.latency as i64).unsigned_abs())
                .sum::<u64>()
                / k;
            report.push_str(&format!(
                "{}. {}: {} latency spikes (average {}ms, mean deviation {}ms, period {:.2} sec). Worst all time event {}ms.\n",
                n + 1,
                event,
                live.len(),
                avg,
                mad,
                period as f64 / k as f64,
                ts.max
            ));
        }
        report.push_str("\nWhile there are latency events logged, I'm not able to suggest any easy fix. Please use the Redis community to get some help, providing this report in your help request.\n");
    }
    drop(m);
    ctx.out.verbatim(report.as_bytes());
}

fn latency_help(ctx: &mut Ctx, _argv: &[&[u8]]) {
    reply_help(
        ctx,
        "LATENCY",
        &[
            "DOCTOR",
            "    Return a human readable latency analysis report.",
            "GRAPH <event>",
            "    Return an ASCII latency graph for the <event> class.",
            "HISTORY <event>",
            "    Return time-latency samples for the <event> class.",
            "LATEST",
            "    Return the latest latency samples for all events.",
            "RESET [<event> ...]",
            "    Reset latency data of one or more <event> classes.",
            "    (default: reset all data for all event classes)",
            "HISTOGRAM [COMMAND ...]",
            "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
            "    If no commands are specified then all histograms are replied.",
        ],
    );
}

// ------------------------------------------------------------------ DEBUG

/// When false the background expiry cycle should skip its work
/// (DEBUG SET-ACTIVE-EXPIRE 0).
pub static ACTIVE_EXPIRE: AtomicBool = AtomicBool::new(true);

/// DEBUG subcommands provided by other modules (name in lowercase); they run
/// with the same checks as the built-in ones.
pub static DEBUG_SUBCOMMANDS: Mutex<Vec<(&'static str, Handler)>> = Mutex::new(Vec::new());

/// Whether the client may run DEBUG (`enable-debug-command`).
fn debug_allowed(ctx: &Ctx) -> bool {
    let v = ctx
        .srv
        .config
        .get_string("enable-debug-command")
        .unwrap_or_else(|| "no".into())
        .to_ascii_lowercase();
    match v.as_str() {
        "yes" => true,
        "local" => {
            let sh = &ctx.client.shared;
            sh.has_flag(flag::UNIX) || is_loopback_addr(&sh.addr)
        }
        _ => false,
    }
}

fn is_loopback_addr(addr: &str) -> bool {
    let host = match addr.rfind(':') {
        Some(i) => &addr[..i],
        None => addr,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match host.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) => ip.is_loopback(),
        Ok(std::net::IpAddr::V6(ip)) => ip.is_loopback(),
        Err(_) => false,
    }
}

fn debug(ctx: &mut Ctx, argv: &[&[u8]]) {
    if !debug_allowed(ctx) {
        ctx.out.error("ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.");
        return;
    }
    if !arity_ok(ctx, argv, -2) {
        return;
    }
    let sub = String::from_utf8_lossy(argv[1]).to_ascii_lowercase();
    let n = argv.len();
    match sub.as_str() {
        "help" if n == 2 => debug_help(ctx),
        "sleep" if n == 3 => {
            let secs = parse_f64(argv[2]).unwrap_or(0.0);
            if secs > 0.0 && secs.is_finite() {
                std::thread::sleep(std::time::Duration::from_secs_f64(secs.min(1e9)));
            }
            ctx.out.ok();
        }
        "object" if n == 3 => debug_object(ctx, argv[2]),
        "set-active-expire" if n == 3 => {
            ACTIVE_EXPIRE.store(parse_i64(argv[2]).unwrap_or(0) != 0, Ordering::Relaxed);
            ctx.out.ok();
        }
        "protocol" if n == 3 => debug_protocol(ctx, argv[2]),
        "log" if n == 3 => {
            crate::log::warning(&format!("DEBUG LOG: {}", lossy(argv[2])));
            ctx.out.ok();
        }
        _ => {
            let ext = DEBUG_SUBCOMMANDS
                .lock()
                .iter()
                .find(|(name, _)| *name == sub)
                .map(|(_, h)| *h);
            match ext {
                Some(h) => h(ctx, argv),
                None => ctx.out.error(&format!(
                    "ERR unknown subcommand or wrong number of arguments for '{}'. Try DEBUG HELP.",
                    lossy(&argv[1][..argv[1].len().min(128)])
                )),
            }
        }
    }
}

fn debug_help(ctx: &mut Ctx) {
    reply_help(
        ctx,
        "DEBUG",
        &[
            "LOG <message>",
            "    Write <message> to the server log.",
            "OBJECT <key>",
            "    Show low level info about the `key` and associated value.",
            "PROTOCOL <type>",
            "    Reply with a test value of the specified type. <type> can be: string,",
            "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
            "    true, false.",
            "SET-ACTIVE-EXPIRE <0|1>",
            "    Setting it to 0 disables expiring keys in background when they are not",
            "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
            "    default.",
            "SLEEP <seconds>",
            "    Stop the server for <seconds>. Decimals allowed.",
        ],
    );
}

/// Bytes of an RDB length prefix.
fn rdb_len_size(n: usize) -> usize {
    if n < 1 << 6 {
        1
    } else if n < 1 << 14 {
        2
    } else if n <= u32::MAX as usize {
        5
    } else {
        9
    }
}

/// Bytes of a string in an RDB file (integer encodings included; LZF
/// compression is not taken into account).
fn rdb_string_size(b: &[u8]) -> usize {
    if b.len() <= 11 {
        if let Some(v) = parse_i64(b) {
            if (i8::MIN as i64..=i8::MAX as i64).contains(&v) {
                return 2;
            } else if (i16::MIN as i64..=i16::MAX as i64).contains(&v) {
                return 3;
            } else if (i32::MIN as i64..=i32::MAX as i64).contains(&v) {
                return 5;
            }
        }
    }
    rdb_len_size(b.len()) + b.len()
}

/// Approximate `serializedlength` of a value.
fn serialized_len(v: &Value) -> usize {
    match v.to_bytes() {
        Some(b) => rdb_string_size(&b),
        None => {
            // Compact encodings are stored as one blob; estimate from the
            // in-memory size.
            let n = v.heap_size();
            rdb_len_size(n) + n
        }
    }
}

fn debug_object(ctx: &mut Ctx, key: &[u8]) {
    let now = ctx.ks.now;
    let clock = ctx.ks.lru_clock;
    let shared_ints = shared_integers(ctx.srv);
    let (sh, h) = ctx.ks.shard_of(key);
    let Some(e) = sh.peek(h, key, now) else {
        ctx.out.error("ERR no such key");
        return;
    };
    let refcount: i64 = match e.value {
        Value::Int(i) if shared_ints && (0..10000).contains(&i) => i32::MAX as i64,
        _ => 1,
    };
    let lru = e.lru & 0x00FF_FFFF;
    let idle = if clock >= lru {
        (clock - lru) as u64
    } else {
        clock as u64 + (0x00FF_FFFF - lru) as u64
    };
    let line = format!(
        "Value at:0x{:x} refcount:{} encoding:{} serializedlength:{} lru:{} lru_seconds_idle:{}",
        e as *const _ as usize,
        refcount,
        e.value.encoding(),
        serialized_len(&e.value),
        lru,
        idle
    );
    ctx.out.simple(&line);
}

/// Small integers are shared objects in Redis unless an LRU/LFU maxmemory
/// policy needs per-object clocks.
fn shared_integers(srv: &Server) -> bool {
    let maxmemory = srv
        .config
        .get_string("maxmemory")
        .map(|v| v.trim() != "0" && !v.trim().is_empty())
        .unwrap_or(false);
    let policy = srv
        .config
        .get_string("maxmemory-policy")
        .unwrap_or_default();
    !(maxmemory && (policy.ends_with("-lru") || policy.ends_with("-lfu")))
}

/// DEBUG PROTOCOL: fixed sample replies (3.141 is Redis's own test double).
#[allow(clippy::approx_constant)]
fn debug_protocol(ctx: &mut Ctx, kind: &[u8]) {
    let k = String::from_utf8_lossy(kind).to_ascii_lowercase();
    let resp3 = ctx.out.resp3;
    let out = &mut *ctx.out;
    match k.as_str() {
        "string" => out.bulk(b"Hello World"),
        "integer" => out.int(12345),
        "double" => out.double(3.141),
        "bignum" => out.big_number("1234567999999999999999999999999999999"),
        "null" => out.null(),
        "array" => {
            out.array(3);
            for i in 0..3 {
                out.int(i);
            }
        }
        "set" => {
            out.set(3);
            for i in 0..3 {
                out.int(i);
            }
        }
        "map" => {
            out.map(3);
            for i in 0..3 {
                out.int(i);
                out.boolean(i == 1);
            }
        }
        "attrib" => {
            if resp3 {
                out.raw(b"|1\r\n");
                out.bulk(b"key-popularity");
                out.array(2);
                out.bulk(b"key:123");
                out.int(90);
            }
            out.bulk(b"Some real reply following the attribute");
        }
        "push" => {
            if !resp3 {
                out.error("ERR RESP2 is not supported by this command");
                return;
            }
            out.push(2);
            out.bulk(b"server-cpu-usage");
            out.int(42);
            out.bulk(b"Some real reply following the push reply");
        }
        "true" => out.boolean(true),
        "false" => out.boolean(false),
        "verbatim" => out.verbatim(b"This is a verbatim\nstring"),
        _ => out.error("ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false"),
    }
}

// ------------------------------------------------------------------ MEMORY

fn memory_usage(ctx: &mut Ctx, argv: &[&[u8]]) {
    if !arity_ok(ctx, argv, -3) {
        return;
    }
    let mut i = 3;
    while i < argv.len() {
        if eq_ic(argv[i], "samples") && i + 1 < argv.len() {
            match parse_i64(argv[i + 1]) {
                Some(n) if n >= 0 => {}
                Some(_) => {
                    ctx.out.error(ERR_SYNTAX);
                    return;
                }
                None => {
                    ctx.out.error(ERR_NOT_INT);
                    return;
                }
            }
            i += 2;
        } else {
            ctx.out.error(ERR_SYNTAX);
            return;
        }
    }
    let key = argv[2];
    let now = ctx.ks.now;
    let (sh, h) = ctx.ks.shard_of(key);
    match sh.peek(h, key, now) {
        None => ctx.out.null(),
        Some(e) => {
            let key_heap = if key.len() > spinel_keyspace::sbytes::INLINE_CAP {
                key.len()
            } else {
                0
            };
            let n = std::mem::size_of::<spinel_keyspace::Entry>()
                + std::mem::size_of::<spinel_keyspace::SBytes>()
                + 16
                + key_heap
                + e.value.heap_size();
            ctx.out.int(n as i64);
        }
    }
}

fn memory_doctor(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let used = crate::info::used_memory();
    let text = if used < 5 * 1024 * 1024 {
        "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n"
    } else {
        "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n"
    };
    ctx.out.verbatim(text.as_bytes());
}

fn memory_malloc_stats(ctx: &mut Ctx, _argv: &[&[u8]]) {
    ctx.out
        .verbatim(b"Stats not supported for the current allocator");
}

fn memory_purge(ctx: &mut Ctx, _argv: &[&[u8]]) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory back to the system.
    unsafe {
        libc::malloc_trim(0);
    }
    ctx.out.ok();
}

fn memory_stats(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let srv = ctx.srv;
    let mem = crate::info::section(srv, "memory");
    let get = |k: &str| -> i64 {
        mem.iter()
            .find(|(n, _)| n == k)
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0)
    };
    let keys: i64 = (0..srv.ks.ndbs())
        .map(|d| srv.ks.db_stats(d).0 as i64)
        .sum();
    let used = get("used_memory");
    let startup = get("used_memory_startup");
    let overhead = get("used_memory_overhead");
    let dataset = get("used_memory_dataset");
    let peak = get("used_memory_peak");
    let rss = get("used_memory_rss");
    let out = &mut *ctx.out;
    out.map(19);
    for (k, v) in [
        ("peak.allocated", peak),
        ("total.allocated", used),
        ("startup.allocated", startup),
        ("replication.backlog", 0),
        ("clients.slaves", 0),
        ("clients.normal", get("mem_clients_normal")),
        ("cluster.links", 0),
        ("aof.buffer", 0),
        ("lua.caches", 0),
        ("functions.caches", 0),
        ("overhead.total", overhead),
        ("keys.count", keys),
        (
            "keys.bytes-per-key",
            if keys > 0 {
                (used - startup).max(0) / keys
            } else {
                0
            },
        ),
        ("dataset.bytes", dataset),
    ] {
        out.bulk(k.as_bytes());
        out.int(v);
    }
    let net = (used - startup).max(1) as f64;
    out.bulk(b"dataset.percentage");
    out.double(dataset as f64 * 100.0 / net);
    out.bulk(b"peak.percentage");
    out.double(if peak > 0 {
        used as f64 * 100.0 / peak as f64
    } else {
        0.0
    });
    out.bulk(b"allocator.allocated");
    out.int(get("allocator_allocated"));
    out.bulk(b"rss-overhead.bytes");
    out.int(rss - get("allocator_resident"));
    out.bulk(b"fragmentation");
    out.double(if used > 0 {
        rss as f64 / used as f64
    } else {
        0.0
    });
}

fn memory_help(ctx: &mut Ctx, _argv: &[&[u8]]) {
    reply_help(
        ctx,
        "MEMORY",
        &[
            "DOCTOR",
            "    Return memory problems reports.",
            "MALLOC-STATS",
            "    Return internal statistics report from the memory allocator.",
            "PURGE",
            "    Attempt to purge dirty pages for reclamation by the allocator.",
            "STATS",
            "    Return information about the memory usage of the server.",
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value. Nested values are",
            "    sampled up to <count> times (default: 5, 0 means sample all).",
        ],
    );
}

// ------------------------------------------------------------------ READONLY / READWRITE

fn readonly(ctx: &mut Ctx, _argv: &[&[u8]]) {
    if !crate::info::cluster_enabled(ctx.srv) {
        ctx.out
            .error("ERR This instance has cluster support disabled");
        return;
    }
    ctx.out.ok();
}

fn readwrite(ctx: &mut Ctx, _argv: &[&[u8]]) {
    if !crate::info::cluster_enabled(ctx.srv) {
        ctx.out
            .error("ERR This instance has cluster support disabled");
        return;
    }
    ctx.out.ok();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_lines() {
        assert_eq!(error_line("ERR x"), "ERR x");
        assert_eq!(error_line("WRONGTYPE x"), "WRONGTYPE x");
        assert_eq!(
            error_line("Rewriting config file: denied"),
            "ERR Rewriting config file: denied"
        );
    }

    #[test]
    fn rdb_sizes() {
        assert_eq!(rdb_string_size(b"1"), 2);
        assert_eq!(rdb_string_size(b"hello"), 6);
        assert_eq!(rdb_string_size(b"123456789012"), 13);
        assert_eq!(rdb_string_size(b"1000"), 3);
        assert_eq!(rdb_string_size(b"100000"), 5);
    }

    #[test]
    fn loopback() {
        assert!(is_loopback_addr("127.0.0.1:5000"));
        assert!(is_loopback_addr("[::1]:5000"));
        assert!(is_loopback_addr("::1:5000"));
        assert!(!is_loopback_addr("10.0.0.1:5000"));
    }

    #[test]
    fn latency_samples_merge_within_a_second() {
        latency_add_sample("test-event", 5);
        latency_add_sample("test-event", 9);
        latency_add_sample("test-event", 3);
        let m = LATENCY.lock();
        let ts = m
            .get("test-event")
            .map(|t| (t.max, t.samples.iter().filter(|s| s.time != 0).count()));
        assert!(matches!(ts, Some((9, 1..=2))));
    }
}
