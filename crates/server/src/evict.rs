//! `maxmemory` and key eviction, as Redis's `evict.c`.
//!
//! Before a command runs, [`before_command`] compares the allocator's byte
//! count with `maxmemory`; when it is over, keys are evicted according to
//! `maxmemory-policy` until it is under again, and commands flagged
//! `denyoom` are refused when nothing more can be evicted.
//!
//! The approximated LRU/LFU/TTL policies keep Redis's eviction pool: a small
//! global array of the best candidates seen so far, refilled each round by
//! sampling `maxmemory-samples` keys from one random shard of each database.
//! Sampling holds one shard lock at a time, and only briefly; the pool has
//! its own lock, never held while waiting for a shard. The victim is then
//! deleted under its shard's lock after checking it still exists. Eviction
//! runs before the command takes any shard lock, so it may lock shards
//! freely.
//!
//! Each entry's 24-bit access clock (`Entry::lru`) holds, as in Redis,
//! either the LRU clock in seconds or, under an LFU policy, the time of the
//! last counter decrement in minutes (high 16 bits) and a logarithmic access
//! counter (low 8 bits).

use crate::client::{flag, Client};
use crate::config::Config;
use crate::dispatch::{cflag, Command};
use crate::server::{now_ms, Server};
use parking_lot::Mutex;
use rand::Rng;
use spinel_keyspace::{Probe, SBytes, Shard};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU8, Ordering};
use std::time::{Duration, Instant};

/// The reply to a `denyoom` command while memory can't be brought under
/// `maxmemory`.
pub const OOM_ERR: &str = "OOM command not allowed when used memory > 'maxmemory'.";

/// Candidates kept between rounds (EVPOOL_SIZE).
pub const EVPOOL_SIZE: usize = 16;
/// Initial counter of a new key under LFU.
pub const LFU_INIT_VAL: u32 = 5;
/// Random shards tried per database before scanning every shard.
const SHARD_PROBES: usize = 4;
/// After a full scan found nothing to evict, don't scan again for this long.
const EMPTY_SCAN_BACKOFF_MS: i64 = 50;

/// `maxmemory-policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Policy {
    VolatileLru = 0,
    VolatileLfu = 1,
    VolatileRandom = 2,
    VolatileTtl = 3,
    AllkeysLru = 4,
    AllkeysLfu = 5,
    AllkeysRandom = 6,
    NoEviction = 7,
}

impl Policy {
    pub fn from_name(name: &str) -> Policy {
        match name {
            "volatile-lru" => Policy::VolatileLru,
            "volatile-lfu" => Policy::VolatileLfu,
            "volatile-random" => Policy::VolatileRandom,
            "volatile-ttl" => Policy::VolatileTtl,
            "allkeys-lru" => Policy::AllkeysLru,
            "allkeys-lfu" => Policy::AllkeysLfu,
            "allkeys-random" => Policy::AllkeysRandom,
            _ => Policy::NoEviction,
        }
    }

    fn from_u8(v: u8) -> Policy {
        match v {
            0 => Policy::VolatileLru,
            1 => Policy::VolatileLfu,
            2 => Policy::VolatileRandom,
            3 => Policy::VolatileTtl,
            4 => Policy::AllkeysLru,
            5 => Policy::AllkeysLfu,
            6 => Policy::AllkeysRandom,
            _ => Policy::NoEviction,
        }
    }

    pub fn is_lfu(self) -> bool {
        matches!(self, Policy::VolatileLfu | Policy::AllkeysLfu)
    }

    /// Only keys with a TTL are candidates.
    pub fn is_volatile(self) -> bool {
        matches!(
            self,
            Policy::VolatileLru
                | Policy::VolatileLfu
                | Policy::VolatileRandom
                | Policy::VolatileTtl
        )
    }

    fn is_random(self) -> bool {
        matches!(self, Policy::VolatileRandom | Policy::AllkeysRandom)
    }
}

/// Current policy and LFU parameters, readable without locks on the lookup
/// path; refreshed from the configuration before every command.
static POLICY: AtomicU8 = AtomicU8::new(Policy::NoEviction as u8);
static LFU_LOG_FACTOR: AtomicU32 = AtomicU32::new(10);
static LFU_DECAY_TIME: AtomicU32 = AtomicU32::new(1);
/// Set when an eviction run stopped at its time limit with memory still
/// over the limit; the cron thread carries on until it is under.
static EVICTING: AtomicBool = AtomicBool::new(false);
/// Unix ms before which a fruitless full scan is not repeated.
static NOTHING_UNTIL: AtomicI64 = AtomicI64::new(0);

/// Copies the eviction settings from the configuration.
#[inline]
pub fn refresh(cfg: &Config) {
    let p = Policy::from_name(cfg.maxmemory_policy()) as u8;
    if POLICY.load(Ordering::Relaxed) != p {
        POLICY.store(p, Ordering::Relaxed);
        // What was known about candidates was for another policy.
        NOTHING_UNTIL.store(0, Ordering::Relaxed);
        POOL.lock().clear();
    }
    if p == Policy::VolatileLfu as u8 || p == Policy::AllkeysLfu as u8 {
        let f = cfg.lfu_log_factor().clamp(0, u32::MAX as i64) as u32;
        LFU_LOG_FACTOR.store(f, Ordering::Relaxed);
        let d = cfg.lfu_decay_time().clamp(0, u32::MAX as i64) as u32;
        LFU_DECAY_TIME.store(d, Ordering::Relaxed);
    }
}

#[inline]
pub fn policy() -> Policy {
    Policy::from_u8(POLICY.load(Ordering::Relaxed))
}

/// Whether access clocks hold LFU counters.
#[inline]
pub fn lfu_mode() -> bool {
    policy().is_lfu()
}

// ------------------------------------------------------------------ LFU

/// LFUGetTimeInMinutes: unix minutes, 16 bits.
#[inline]
pub fn lfu_time_in_minutes(now_ms: i64) -> u32 {
    ((now_ms.max(0) / 60_000) & 0xFFFF) as u32
}

/// LFUTimeElapsed: minutes since `ldt`, with wrap-around.
fn lfu_time_elapsed(ldt: u32, now_ms: i64) -> u32 {
    let now = lfu_time_in_minutes(now_ms);
    if now >= ldt {
        now - ldt
    } else {
        65535 - ldt + now
    }
}

/// LFUDecrAndReturn: the counter after applying `lfu-decay-time` (the
/// entry itself is not changed).
pub fn lfu_decr_and_return(lru: u32, now_ms: i64, decay_time: u32) -> u32 {
    let ldt = (lru >> 8) & 0xFFFF;
    let counter = lru & 0xFF;
    let periods = lfu_time_elapsed(ldt, now_ms)
        .checked_div(decay_time)
        .unwrap_or(0);
    counter.saturating_sub(periods)
}

/// LFULogIncr: increments the counter with probability
/// 1 / ((counter - LFU_INIT_VAL) * lfu-log-factor + 1).
pub fn lfu_log_incr(counter: u32, log_factor: u32, r: f64) -> u32 {
    if counter >= 255 {
        return 255;
    }
    let base = counter.saturating_sub(LFU_INIT_VAL) as f64;
    let p = 1.0 / (base * log_factor as f64 + 1.0);
    if r < p {
        counter + 1
    } else {
        counter
    }
}

/// updateLFU: decay, then a logarithmic increment, stamped with the time.
pub fn lfu_touch(lru: u32, now_ms: i64) -> u32 {
    let decay = LFU_DECAY_TIME.load(Ordering::Relaxed);
    let factor = LFU_LOG_FACTOR.load(Ordering::Relaxed);
    let c = lfu_decr_and_return(lru, now_ms, decay);
    let r: f64 = rand::thread_rng().gen();
    let c = lfu_log_incr(c, factor, r);
    (lfu_time_in_minutes(now_ms) << 8) | c
}

/// The access clock a lookup leaves on an entry: the LRU clock, or the
/// updated LFU counter under an LFU policy.
#[inline]
pub fn touched(lru: u32, clock: u32, now_ms: i64) -> u32 {
    if lfu_mode() {
        lfu_touch(lru, now_ms)
    } else {
        clock
    }
}

/// The access clock of a new key: the LRU clock, or LFU_INIT_VAL stamped
/// with the current minute under an LFU policy.
#[inline]
pub fn initial_clock(now_ms: i64) -> u32 {
    if lfu_mode() {
        (lfu_time_in_minutes(now_ms) << 8) | LFU_INIT_VAL
    } else {
        crate::dispatch::lru_clock(now_ms)
    }
}

/// estimateObjectIdleTime in seconds (24-bit clock with wrap-around).
fn idle_seconds(clock: u32, lru: u32) -> u64 {
    const MAX: u32 = 0x00FF_FFFF;
    let (clock, lru) = (clock & MAX, lru & MAX);
    if clock >= lru {
        u64::from(clock - lru)
    } else {
        u64::from(clock) + u64::from(MAX - lru)
    }
}

// ------------------------------------------------------------------ limits

/// Outcome of an eviction run (performEvictions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evict {
    /// Under the limit (or no limit).
    Ok,
    /// Still over, but eviction goes on in the background: commands may run.
    Running,
    /// Over the limit and nothing (more) can be evicted.
    Fail,
}

/// evictionTimeLimitUs, from `maxmemory-eviction-tenacity`.
pub fn time_limit(tenacity: i64) -> Option<Duration> {
    let t = tenacity.clamp(0, 100);
    if t <= 10 {
        return Some(Duration::from_micros(50 * t as u64));
    }
    if t < 100 {
        let us = 500.0 * 1.15f64.powf(t as f64 - 10.0);
        return Some(Duration::from_micros(us as u64));
    }
    None
}

/// The `maxmemory` limit, or None when there is none.
fn limit(srv: &'static Server) -> Option<u64> {
    let max = srv.config.maxmemory();
    if max == 0 {
        return None;
    }
    Some(max)
}

/// Bytes held from the allocator (`used_memory`), without the side work
/// of INFO's variant (peak tracking, reading RSS).
#[inline]
pub fn used_memory() -> u64 {
    crate::info::counted_bytes().unwrap_or_else(crate::info::rss_bytes)
}

/// Whether `maxmemory` is ignored because this server is a replica with
/// `replica-ignore-maxmemory` (refreshed by the cron thread: finding the
/// role is too slow for every command).
fn ignored_on_replica(_srv: &'static Server) -> bool {
    REPLICA_IGNORES.load(Ordering::Relaxed)
}

static REPLICA_IGNORES: AtomicBool = AtomicBool::new(false);

fn refresh_replica(srv: &'static Server) {
    let ignore = srv
        .config
        .get_bool("replica-ignore-maxmemory")
        .unwrap_or(true)
        && srv.config.maxmemory() != 0
        && crate::info::is_replica(srv);
    REPLICA_IGNORES.store(ignore, Ordering::Relaxed);
}

/// processCommand's memory gate, run before the command takes any lock.
/// Refreshes the eviction settings, evicts when over `maxmemory`, and
/// returns true when the command must be refused with [`OOM_ERR`].
#[inline]
pub fn before_command(srv: &'static Server, client: &Client, cmd: &Command) -> bool {
    // The policy is refreshed at start-up, on CONFIG SET and by the cron,
    // not here: this runs before every command.
    if perform_evictions(srv) != Evict::Fail {
        return false;
    }
    // Inside MULTI everything but EXEC/DISCARD/QUIT/RESET is refused (queuing
    // takes memory too); EXEC only when it holds a denyoom command.
    if client.multi.is_some() && !matches!(cmd.name, "exec" | "discard" | "quit" | "reset") {
        return true;
    }
    if cmd.has(cflag::DENYOOM) {
        return true;
    }
    cmd.name == "exec" && queued_denyoom(srv, client)
}

/// Whether a queued transaction contains a denyoom command.
fn queued_denyoom(srv: &'static Server, client: &Client) -> bool {
    let Some(queue) = client.multi.as_ref() else {
        return false;
    };
    queue.iter().any(|q| {
        let argv: smallvec::SmallVec<[&[u8]; 8]> = q.iter().map(|a| a.as_slice()).collect();
        crate::dispatch::resolve(srv, &argv).is_some_and(|c| c.has(cflag::DENYOOM))
    })
}

/// execCommandAbort for an EXEC refused by the memory gate: the
/// transaction is discarded and the error is wrapped in EXECABORT.
pub fn abort_exec(srv: &'static Server, client: &mut Client) -> String {
    client.shared.set_flag(flag::MULTI, false);
    client.shared.multi.store(-1, Ordering::Relaxed);
    client.multi = None;
    client.multi_error = false;
    crate::cmd::multi::unwatch_all(srv, client);
    format!("EXECABORT Transaction discarded because of: {}", OOM_ERR)
}

/// Periodic check from the cron thread: continues an eviction that ran out
/// of time, or starts one if memory went over the limit between commands.
pub fn cron(srv: &'static Server) {
    refresh(&srv.config);
    refresh_replica(srv);
    if perform_evictions(srv) != Evict::Running {
        EVICTING.store(false, Ordering::Relaxed);
    }
}

/// performEvictions: evicts keys until used memory is under `maxmemory`,
/// the time limit is reached, or nothing is left to evict.
pub fn perform_evictions(srv: &'static Server) -> Evict {
    let Some(max) = limit(srv) else {
        return Evict::Ok;
    };
    let used = used_memory();
    if used <= max || ignored_on_replica(srv) {
        return Evict::Ok;
    }
    let pol = policy();
    if pol == Policy::NoEviction {
        return Evict::Fail;
    }
    let deadline = time_limit(
        srv.config
            .get_i64("maxmemory-eviction-tenacity")
            .unwrap_or(10),
    );
    let start = Instant::now();
    let samples = srv.config.maxmemory_samples().clamp(1, 64) as usize;
    // Summing the allocator counters isn't free: count down an estimate of
    // what is left to free and read the real figure when it reaches zero.
    let mut to_free = used - max;
    let mut now = now_ms();
    let mut rounds: u64 = 0;
    loop {
        if NOTHING_UNTIL.load(Ordering::Relaxed) > now {
            return evict_fail();
        }
        let victim = if pol.is_random() {
            random_victim(srv, pol, now)
        } else {
            pool_victim(srv, pol, samples, now)
        };
        let Some(v) = victim else {
            if used_memory() <= max {
                // Others freed memory meanwhile.
                return Evict::Ok;
            }
            NOTHING_UNTIL.store(now + EMPTY_SCAN_BACKOFF_MS, Ordering::Relaxed);
            return evict_fail();
        };
        if let Some(bytes) = delete_victim(srv, pol, &v, now) {
            to_free = to_free.saturating_sub(bytes as u64);
            if to_free == 0 {
                // By the estimate it's enough; the next command checks the
                // real figure.
                return Evict::Ok;
            }
        }
        rounds += 1;
        if rounds.is_multiple_of(16) {
            now = now_ms();
            if let Some(d) = deadline {
                if start.elapsed() > d {
                    EVICTING.store(true, Ordering::Relaxed);
                    return Evict::Running;
                }
            }
        }
    }
}

/// Nothing left to evict: memory freed by the lazy-free thread may still
/// bring usage under the limit.
fn evict_fail() -> Evict {
    if crate::lazyfree::PENDING.load(Ordering::Relaxed) > 0 {
        return Evict::Running;
    }
    Evict::Fail
}

/// Whether a background eviction is in progress.
pub fn evicting() -> bool {
    EVICTING.load(Ordering::Relaxed)
}

// ------------------------------------------------------------------ pool

/// One eviction candidate; a higher `idle` is a better victim.
#[derive(Debug, Clone)]
struct Candidate {
    idle: u64,
    db: u32,
    shard: u32,
    key: SBytes,
}

/// Redis's eviction pool: candidates in ascending `idle` order.
static POOL: Mutex<Vec<Candidate>> = Mutex::new(Vec::new());

/// evictionPoolPopulate's insertion: keeps the EVPOOL_SIZE best.
fn pool_insert(pool: &mut Vec<Candidate>, c: Candidate) {
    if let Some(i) = pool
        .iter()
        .position(|p| p.db == c.db && p.key.as_slice() == c.key.as_slice())
    {
        pool.remove(i);
    }
    let k = pool.partition_point(|p| p.idle < c.idle);
    if pool.len() >= EVPOOL_SIZE {
        if k == 0 {
            // Worse than every candidate in a full pool.
            return;
        }
        pool.remove(0);
        pool.insert(k - 1, c);
    } else {
        pool.insert(k, c);
    }
}

/// The eviction score of an entry under `pol`.
fn score(pol: Policy, lru: u32, expire: Option<i64>, clock: u32, now: i64) -> u64 {
    match pol {
        Policy::VolatileTtl => u64::MAX - expire.unwrap_or(i64::MAX).max(0) as u64,
        p if p.is_lfu() => {
            let decay = LFU_DECAY_TIME.load(Ordering::Relaxed);
            255 - u64::from(lfu_decr_and_return(lru, now, decay).min(255))
        }
        _ => idle_seconds(clock, lru),
    }
}

/// Samples up to `n` keys of one shard (the keys with a TTL for volatile
/// policies) and scores them.
fn sample_shard(
    sh: &Shard,
    db: u32,
    idx: u32,
    pol: Policy,
    n: usize,
    now: i64,
    out: &mut Vec<Candidate>,
) {
    let mut rng = rand::thread_rng();
    let clock = crate::dispatch::lru_clock(now);
    if pol.is_volatile() {
        let len = sh.expires.len();
        for _ in 0..n.min(len) {
            let i = rng.gen_range(0..len);
            let Some((k, &t)) = sh.expires.get_index(i) else {
                continue;
            };
            let h = sh.map.hasher().hash_one(k.as_slice());
            let Some(e) = sh.map.find(h, k) else {
                continue;
            };
            out.push(Candidate {
                idle: score(pol, e.lru, Some(t), clock, now),
                db,
                shard: idx,
                key: k.clone(),
            });
        }
        return;
    }
    let len = sh.map.len();
    if len == 0 {
        return;
    }
    // A run of consecutive entries from a random position (table order is
    // hash order, so the run is a random sample).
    let start = rng.gen_range(0..len);
    let first = n.min(len - start);
    let wrapped = n.min(len) - first;
    let run = sh
        .map
        .iter()
        .skip(start)
        .take(first)
        .chain(sh.map.iter().take(wrapped));
    for (k, e) in run {
        out.push(Candidate {
            idle: score(pol, e.lru, None, clock, now),
            db,
            shard: idx,
            key: k.clone(),
        });
    }
}

/// Whether a shard has candidates for `pol`.
fn has_candidates(sh: &Shard, pol: Policy) -> bool {
    if pol.is_volatile() {
        !sh.expires.is_empty()
    } else {
        !sh.map.is_empty()
    }
}

/// Samples one shard of `db` with candidates: a few random probes, then
/// (when `scan`) every shard from a random start. Returns whether one was
/// found.
fn sample_db(
    srv: &'static Server,
    db: usize,
    pol: Policy,
    n: usize,
    scan: bool,
    now: i64,
    out: &mut Vec<Candidate>,
) -> bool {
    let Some(d) = srv.ks.dbs.get(db) else {
        return false;
    };
    let nsh = d.shards.len();
    if nsh == 0 {
        return false;
    }
    let mut rng = rand::thread_rng();
    let visit = |idx: usize, out: &mut Vec<Candidate>| -> bool {
        let Some(m) = d.shards.get(idx) else {
            return false;
        };
        let sh = m.lock();
        if !has_candidates(&sh, pol) {
            return false;
        }
        sample_shard(&sh, db as u32, idx as u32, pol, n, now, out);
        true
    };
    if scan {
        let start = rng.gen_range(0..nsh);
        let found = (0..nsh).any(|i| visit((start + i) % nsh, out));
        if found {
            db_hint(srv, db).store(0, Ordering::Relaxed);
        }
        return found;
    }
    // Databases found empty by a probe are skipped for a while (a full scan
    // still finds their keys when nothing else can be evicted).
    let hint = db_hint(srv, db);
    if hint.load(Ordering::Relaxed) > now {
        return false;
    }
    let found = (0..SHARD_PROBES.min(nsh)).any(|_| visit(rng.gen_range(0..nsh), out));
    if !found {
        hint.store(now + EMPTY_SCAN_BACKOFF_MS, Ordering::Relaxed);
    }
    found
}

/// Per database: unix ms until which random probes skip it.
fn db_hint(srv: &'static Server, db: usize) -> &'static AtomicI64 {
    static HINTS: std::sync::OnceLock<Box<[AtomicI64]>> = std::sync::OnceLock::new();
    static SPARE: AtomicI64 = AtomicI64::new(0);
    HINTS
        .get_or_init(|| (0..srv.ks.ndbs()).map(|_| AtomicI64::new(0)).collect())
        .get(db)
        .unwrap_or(&SPARE)
}

/// Picks the best candidate (LRU, LFU, TTL): refills the pool from every
/// database, then takes the best entry whose key still exists.
fn pool_victim(srv: &'static Server, pol: Policy, samples: usize, now: i64) -> Option<Candidate> {
    let ndbs = srv.ks.ndbs();
    let mut fresh = Vec::with_capacity(samples * 2);
    for scan in [false, true] {
        fresh.clear();
        let mut found = false;
        for db in 0..ndbs {
            found |= sample_db(srv, db, pol, samples, scan, now, &mut fresh);
        }
        let mut pool = POOL.lock();
        for c in fresh.drain(..) {
            pool_insert(&mut pool, c);
        }
        // Go backward from the best: a key deleted since it was pooled is
        // dropped and the next one tried. The final check happens when the
        // victim is deleted under its shard lock.
        while let Some(c) = pool.pop() {
            if candidate_alive(srv, pol, &c) {
                return Some(c);
            }
        }
        drop(pool);
        if found && scan {
            // Keys were sampled but vanished meanwhile (other workers
            // evicting or deleting): the next eviction round tries again.
            break;
        }
    }
    None
}

fn candidate_alive(srv: &'static Server, pol: Policy, c: &Candidate) -> bool {
    let Some(m) = srv
        .ks
        .dbs
        .get(c.db as usize)
        .and_then(|d| d.shards.get(c.shard as usize))
    else {
        return false;
    };
    let sh = m.lock();
    let h = sh.map.hasher().hash_one(c.key.as_slice());
    if pol.is_volatile() {
        sh.expire_of(h, &c.key).is_some()
    } else {
        sh.map.contains(h, &c.key)
    }
}

/// allkeys-random / volatile-random: a random key of the next database
/// (round robin) that has one.
fn random_victim(srv: &'static Server, pol: Policy, now: i64) -> Option<Candidate> {
    static NEXT_DB: AtomicU32 = AtomicU32::new(0);
    let ndbs = srv.ks.ndbs().max(1);
    let first = NEXT_DB.fetch_add(1, Ordering::Relaxed) as usize;
    for scan in [false, true] {
        for i in 0..ndbs {
            let db = (first + i) % ndbs;
            let mut one = Vec::with_capacity(1);
            if sample_db(srv, db, pol, 1, scan, now, &mut one) {
                if let Some(c) = one.pop() {
                    return Some(c);
                }
            }
        }
    }
    None
}

/// Deletes a victim if it is still there (and, for volatile policies, still
/// has a TTL). When a key was removed (evicted or found expired), returns
/// an estimate of the bytes freed.
fn delete_victim(srv: &'static Server, pol: Policy, c: &Candidate, now: i64) -> Option<usize> {
    let m = srv
        .ks
        .dbs
        .get(c.db as usize)
        .and_then(|d| d.shards.get(c.shard as usize))?;
    let db = c.db as usize;
    let key = c.key.as_slice();
    let mut sh = m.lock();
    crate::persist::snapshot::touch(db, c.shard as usize, &sh);
    let h = sh.map.hasher().hash_one(key);
    if pol.is_volatile() && sh.expire_of(h, key).is_none() {
        return None;
    }
    let removed = match sh.probe(h, key, now) {
        Probe::Missing => None,
        Probe::Present(_) => {
            let e = sh.remove(h, key);
            if e.is_some() {
                sh.touch_watched(key);
            }
            e
        }
    };
    let lazy = std::mem::take(&mut sh.expired_log);
    crate::propagate::expired(db, &lazy);
    if removed.is_some() {
        crate::propagate::deleted(
            db,
            &[SBytes::new(key)],
            crate::propagate::lazy_flag("lazyfree-lazy-eviction"),
        );
    }
    drop(sh);
    crate::expire::expired(srv, db, &lazy);
    match removed {
        Some(e) => {
            // The table node (key + entry), a long key's own block, the
            // value's heap data.
            let long_key = if key.len() > 22 { key.len() } else { 0 };
            let bytes = std::mem::size_of::<SBytes>()
                + std::mem::size_of::<spinel_keyspace::Entry>()
                + long_key
                + e.value.heap_size();
            // Freed here, not on the lazy-free thread, so the next memory
            // check sees it.
            drop(e);
            srv.stats.evicted_keys.fetch_add(1, Ordering::Relaxed);
            crate::notify::keyspace_event(crate::notify::EVICTED, "evicted", key, db);
            Some(bytes)
        }
        None if !lazy.is_empty() => Some(0),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lfu_decay() {
        let m = 1000i64;
        let lru = ((m as u32) << 8) | 20;
        assert_eq!(lfu_decr_and_return(lru, m * 60_000, 1), 20);
        assert_eq!(lfu_decr_and_return(lru, (m + 5) * 60_000, 1), 15);
        assert_eq!(lfu_decr_and_return(lru, (m + 10) * 60_000, 2), 15);
        assert_eq!(lfu_decr_and_return(lru, (m + 50) * 60_000, 1), 0);
        assert_eq!(lfu_decr_and_return(lru, (m + 50) * 60_000, 0), 20);
    }

    #[test]
    fn lfu_incr_probability() {
        // At or below LFU_INIT_VAL the counter always grows.
        assert_eq!(lfu_log_incr(3, 10, 0.99), 4);
        assert_eq!(lfu_log_incr(5, 10, 0.99), 6);
        // Above it, with p = 1 / ((c - 5) * factor + 1).
        assert_eq!(lfu_log_incr(6, 10, 0.05), 7);
        assert_eq!(lfu_log_incr(6, 10, 0.5), 6);
        assert_eq!(lfu_log_incr(255, 0, 0.0), 255);
    }

    #[test]
    fn tenacity_limits() {
        assert_eq!(time_limit(0), Some(Duration::ZERO));
        assert_eq!(time_limit(10), Some(Duration::from_micros(500)));
        assert_eq!(time_limit(11), Some(Duration::from_micros(575)));
        assert_eq!(time_limit(100), None);
    }

    #[test]
    fn pool_keeps_best() {
        let mut pool = Vec::new();
        for i in 0..40u64 {
            pool_insert(
                &mut pool,
                Candidate {
                    idle: (i * 7) % 40,
                    db: 0,
                    shard: 0,
                    key: SBytes::new(format!("k{i}").as_bytes()),
                },
            );
        }
        assert_eq!(pool.len(), EVPOOL_SIZE);
        let idles: Vec<u64> = pool.iter().map(|c| c.idle).collect();
        assert_eq!(idles, (24..40).collect::<Vec<u64>>());
        // Re-inserting a key replaces its old score.
        let key = pool[0].key.clone();
        pool_insert(
            &mut pool,
            Candidate {
                idle: 100,
                db: 0,
                shard: 0,
                key,
            },
        );
        assert_eq!(pool.len(), EVPOOL_SIZE);
        assert_eq!(pool.last().map(|c| c.idle), Some(100));
    }

    #[test]
    fn idle_wraps() {
        assert_eq!(idle_seconds(100, 40), 60);
        assert_eq!(idle_seconds(5, 0x00FF_FFFF - 5), 10);
    }
}
