//! Counters for INFO. Hot counters live per worker thread (each written by
//! one thread only, so no cache line ping-pong) and are summed on read.

use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

#[derive(Default)]
pub struct CmdStat {
    pub calls: AtomicU64,
    pub usec: AtomicU64,
    pub rejected: AtomicU64,
    pub failed: AtomicU64,
}

pub struct WorkerStats {
    pub commands: AtomicU64,
    pub net_in: AtomicU64,
    pub net_out: AtomicU64,
    pub keyspace_hits: AtomicU64,
    pub keyspace_misses: AtomicU64,
    pub error_replies: AtomicU64,
    /// Indexed by command id.
    pub per_cmd: Box<[CmdStat]>,
}

impl WorkerStats {
    fn new(ncmds: usize) -> Self {
        WorkerStats {
            commands: AtomicU64::new(0),
            net_in: AtomicU64::new(0),
            net_out: AtomicU64::new(0),
            keyspace_hits: AtomicU64::new(0),
            keyspace_misses: AtomicU64::new(0),
            error_replies: AtomicU64::new(0),
            per_cmd: (0..ncmds).map(|_| CmdStat::default()).collect(),
        }
    }
}

#[inline]
pub fn bump(c: &AtomicU64, n: u64) {
    // Single writer per worker: a plain load+store is enough and avoids a locked RMW.
    c.store(c.load(Relaxed).wrapping_add(n), Relaxed);
}

pub struct Stats {
    pub workers: Box<[WorkerStats]>,
    pub connections_received: AtomicU64,
    pub rejected_connections: AtomicU64,
    pub expired_keys: AtomicU64,
    pub evicted_keys: AtomicU64,
    pub expire_cycle_cpu_ms: AtomicU64,
    pub unexpected_error_replies: AtomicU64,
    /// errorstats: error code -> count.
    pub errors: Mutex<BTreeMap<String, u64>>,
    /// Ops/sec samples for instantaneous_ops_per_sec (filled by the cron).
    pub ops_samples: Mutex<OpsSamples>,
}

#[derive(Default)]
pub struct OpsSamples {
    pub last_ms: i64,
    pub last_cmds: u64,
    pub last_in: u64,
    pub last_out: u64,
    pub samples: [(f64, f64, f64); 16],
    pub idx: usize,
}

impl Stats {
    /// `nworkers` worker threads plus one slot for background/other threads.
    pub fn new(nworkers: usize, ncmds: usize) -> Self {
        Stats {
            workers: (0..nworkers + 1).map(|_| WorkerStats::new(ncmds)).collect(),
            connections_received: AtomicU64::new(0),
            rejected_connections: AtomicU64::new(0),
            expired_keys: AtomicU64::new(0),
            evicted_keys: AtomicU64::new(0),
            expire_cycle_cpu_ms: AtomicU64::new(0),
            unexpected_error_replies: AtomicU64::new(0),
            errors: Mutex::new(BTreeMap::new()),
            ops_samples: Mutex::new(OpsSamples::default()),
        }
    }

    pub fn worker(&self, i: usize) -> &WorkerStats {
        let i = i.min(self.workers.len() - 1);
        &self.workers[i]
    }

    pub fn sum(&self, f: impl Fn(&WorkerStats) -> &AtomicU64) -> u64 {
        self.workers.iter().map(|w| f(w).load(Relaxed)).sum()
    }

    pub fn cmd_sum(&self, id: usize) -> (u64, u64, u64, u64) {
        let mut r = (0, 0, 0, 0);
        for w in self.workers.iter() {
            if let Some(c) = w.per_cmd.get(id) {
                r.0 += c.calls.load(Relaxed);
                r.1 += c.usec.load(Relaxed);
                r.2 += c.rejected.load(Relaxed);
                r.3 += c.failed.load(Relaxed);
            }
        }
        r
    }

    pub fn record_error(&self, code: &str) {
        let mut m = self.errors.lock();
        if m.len() >= 128 && !m.contains_key(code) {
            // Redis caps errorstats at 128 distinct codes.
            return;
        }
        *m.entry(code.to_string()).or_insert(0) += 1;
    }

    /// CONFIG RESETSTAT.
    pub fn reset(&self) {
        for w in self.workers.iter() {
            for c in [
                &w.commands,
                &w.net_in,
                &w.net_out,
                &w.keyspace_hits,
                &w.keyspace_misses,
                &w.error_replies,
            ] {
                c.store(0, Relaxed);
            }
            for c in w.per_cmd.iter() {
                c.calls.store(0, Relaxed);
                c.usec.store(0, Relaxed);
                c.rejected.store(0, Relaxed);
                c.failed.store(0, Relaxed);
            }
        }
        for c in [
            &self.connections_received,
            &self.rejected_connections,
            &self.expired_keys,
            &self.evicted_keys,
            &self.unexpected_error_replies,
        ] {
            c.store(0, Relaxed);
        }
        self.errors.lock().clear();
    }
}

/// Takes one instantaneous-ops sample (called by the cron every tick).
pub fn sample_ops(srv: &crate::server::Server) {
    let now = crate::server::now_ms();
    let cmds = srv.stats.sum(|w| &w.commands);
    let inb = srv.stats.sum(|w| &w.net_in);
    let outb = srv.stats.sum(|w| &w.net_out);
    let mut s = srv.stats.ops_samples.lock();
    if s.last_ms > 0 && now > s.last_ms {
        let dt = (now - s.last_ms) as f64 / 1000.0;
        let i = s.idx % 16;
        s.samples[i] = (
            cmds.saturating_sub(s.last_cmds) as f64 / dt,
            inb.saturating_sub(s.last_in) as f64 / dt,
            outb.saturating_sub(s.last_out) as f64 / dt,
        );
        s.idx = s.idx.wrapping_add(1);
    }
    s.last_ms = now;
    s.last_cmds = cmds;
    s.last_in = inb;
    s.last_out = outb;
}

impl Stats {
    /// (ops/sec, input kbps, output kbps) averaged over the samples.
    pub fn instantaneous(&self) -> (u64, f64, f64) {
        let s = self.ops_samples.lock();
        let n = s.idx.clamp(1, 16) as f64;
        let (a, b, c) = s.samples.iter().fold((0.0, 0.0, 0.0), |acc, x| {
            (acc.0 + x.0, acc.1 + x.1, acc.2 + x.2)
        });
        ((a / n) as u64, b / n / 1024.0, c / n / 1024.0)
    }
}
