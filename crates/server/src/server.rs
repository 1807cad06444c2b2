//! Process-wide state. Redis keeps these in one global struct; here they are
//! grouped by concern, and most are atomics so worker threads never contend
//! on them.

use crate::client::ClientRegistry;
use crate::config::Config;
use crate::dispatch::CommandTable;
use crate::locks::ThreadLocks;
use crate::stats::Stats;
use parking_lot::Mutex;
use spinel_keyspace::Keyspace;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

pub const VERSION: &str = "7.2.4";
pub const SPINEL_VERSION: &str = env!("CARGO_PKG_VERSION");

pub struct Server {
    pub config: Config,
    pub ks: Keyspace,
    pub thread_locks: ThreadLocks,
    pub commands: CommandTable,
    pub clients: ClientRegistry,
    pub stats: Stats,
    pub started: Instant,
    pub started_unix: i64,
    pub run_id: String,
    pub port: AtomicU64,
    /// Writes since the last successful save.
    pub dirty: AtomicU64,
    pub lastsave: AtomicI64,
    pub shutdown_requested: AtomicBool,
    /// Clients are paused until this unix-ms time (CLIENT PAUSE).
    pub pause_until_ms: AtomicI64,
    /// True when the pause applies to writes only.
    pub pause_write_only: AtomicBool,
    pub slowlog: Mutex<crate::slowlog::SlowLog>,
    pub config_file: Option<String>,
}

static SERVER: OnceLock<&'static Server> = OnceLock::new();

pub fn install(s: Server) -> &'static Server {
    let s: &'static Server = Box::leak(Box::new(s));
    let _ = SERVER.set(s);
    s
}

/// The running server, once installed.
pub fn get() -> Option<&'static Server> {
    SERVER.get().copied()
}

thread_local! {
    /// (unix ms, end of the previous command) while a worker processes one
    /// batch of pipelined requests; (0, None) outside a batch.
    static BATCH_CLOCK: std::cell::Cell<(i64, Option<Instant>)> =
        const { std::cell::Cell::new((0, None)) };
}

/// Marks the start of a batch of requests read together: commands in it
/// share one millisecond clock reading (as Redis caches its clock per event
/// loop turn) and each command's duration starts where the previous ended.
pub fn batch_begin() {
    BATCH_CLOCK.with(|c| c.set((now_ms(), Some(Instant::now()))));
}

/// Ends the batch: later readings go back to the system clock.
pub fn batch_end() {
    BATCH_CLOCK.with(|c| c.set((0, None)));
}

/// Command time in unix ms: the batch's reading inside a batch.
#[inline]
pub fn command_now_ms() -> i64 {
    let (ms, _) = BATCH_CLOCK.with(|c| c.get());
    if ms != 0 {
        ms
    } else {
        now_ms()
    }
}

/// Start instant for timing a command.
#[inline]
pub fn command_start() -> Instant {
    match BATCH_CLOCK.with(|c| c.get()) {
        (_, Some(t)) => t,
        _ => Instant::now(),
    }
}

/// End instant of a command; inside a batch it also starts the next one.
#[inline]
pub fn command_end() -> Instant {
    let t = Instant::now();
    BATCH_CLOCK.with(|c| {
        let (ms, last) = c.get();
        if last.is_some() {
            c.set((ms, Some(t)));
        }
    });
    t
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

/// 40 hex chars, like Redis's run_id.
pub fn random_hex(n: usize) -> String {
    use rand::Rng;
    let mut r = rand::thread_rng();
    (0..n)
        .map(|_| char::from(b"0123456789abcdef"[r.gen_range(0..16)]))
        .collect()
}

impl Server {
    pub fn add_dirty(&self, n: u64) {
        if n > 0 {
            self.dirty.fetch_add(n, Ordering::Relaxed);
        }
    }

    pub fn uptime_secs(&self) -> u64 {
        self.started.elapsed().as_secs()
    }
}
