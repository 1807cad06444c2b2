//! Expiry: keys removed lazily on access (in the shard) are accounted here,
//! and a background cycle samples keys with a TTL like Redis's
//! `activeExpireCycle`, so unread expired keys go away within about a second.

use crate::locks::Locks;
use crate::notify;
use crate::server::{now_ms, Server};
use spinel_keyspace::SBytes;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Keys sampled per shard per round (ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP).
const KEYS_PER_LOOP: usize = 20;
/// Repeat a shard while more than this percentage of samples was expired.
const ACCEPTABLE_STALE: usize = 10;

/// Accounts for keys the command's lookups found expired and deleted.
pub fn drain_lazy_expired(srv: &Server, locks: &mut Locks) {
    // Only shards touched by the command can have entries; they are held.
    let mut found: Vec<(usize, Vec<SBytes>)> = Vec::new();
    locks.for_each_held(|db, sh| {
        if !sh.expired_log.is_empty() {
            found.push((db, std::mem::take(&mut sh.expired_log)));
        }
    });
    for (db, keys) in found {
        // Still under the command's locks: the DELs precede its own record.
        crate::propagate::expired_in_unit(db, &keys);
        expired(srv, db, &keys);
    }
}

/// Records expired keys (stats, notifications, propagation).
pub fn expired(srv: &Server, db: usize, keys: &[SBytes]) {
    if keys.is_empty() {
        return;
    }
    srv.stats
        .expired_keys
        .fetch_add(keys.len() as u64, Ordering::Relaxed);
    for k in keys {
        notify::keyspace_event(notify::EXPIRED, "expired", k, db);
    }
}

/// Runs forever: each tick (1000/hz ms) walks a slice of the shards of every
/// database with a time budget, like Redis's slow expire cycle.
pub fn cron_loop(srv: &'static Server) {
    let mut cursor: usize = 0;
    loop {
        let hz = srv.config.hz().clamp(1, 500) as u64;
        let tick = Duration::from_millis(1000 / hz);
        std::thread::sleep(tick);
        if srv.shutdown_requested.load(Ordering::Relaxed) {
            return;
        }
        crate::stats::sample_ops(srv);
        crate::info::sample_memory();
        crate::evict::cron(srv);
        // Nothing expires under a running script (it sees one frozen time
        // and locks shards as it goes), as in Redis.
        if !crate::cmd::server::ACTIVE_EXPIRE.load(Ordering::Relaxed) || crate::script::busy() {
            continue;
        }
        // 25% of the tick, as Redis's ACTIVE_EXPIRE_CYCLE_SLOW_TIME_PERC.
        let budget = tick / 4;
        let start = Instant::now();
        let nsh = srv.ks.nshards();
        let total = nsh * srv.ks.ndbs();
        let mut visited = 0;
        // Each tick covers 1/hz of the shards, so a full sweep takes about a
        // second (an expired key is gone within ~1 s even if never read)
        // without locking every shard on every tick.
        let per_tick = total.div_ceil(hz as usize).max(1);
        while visited < per_tick && start.elapsed() < budget {
            let db = (cursor / nsh) % srv.ks.ndbs();
            let idx = cursor % nsh;
            cursor = (cursor + 1) % total;
            visited += 1;
            let Some(m) = srv.ks.dbs.get(db).and_then(|d| d.shards.get(idx)) else {
                continue;
            };
            loop {
                let mut sh = m.lock();
                if sh.expires.is_empty() {
                    // Also account keys lazily expired by lookups.
                    let lazy = std::mem::take(&mut sh.expired_log);
                    crate::propagate::expired(db, &lazy);
                    drop(sh);
                    expired(srv, db, &lazy);
                    break;
                }
                let (sampled, keys) = sh.active_expire(now_ms(), KEYS_PER_LOOP);
                let lazy = std::mem::take(&mut sh.expired_log);
                // DELs go out before the shard is released (stream order).
                crate::propagate::expired(db, &lazy);
                crate::propagate::expired(db, &keys);
                drop(sh);
                expired(srv, db, &lazy);
                let n = keys.len();
                expired(srv, db, &keys);
                if sampled == 0
                    || n * 100 / sampled <= ACCEPTABLE_STALE
                    || start.elapsed() >= budget
                {
                    break;
                }
            }
        }
    }
}
