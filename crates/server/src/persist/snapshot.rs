//! BGSAVE without fork: a point-in-time image taken shard by shard while
//! commands keep running (see the module documentation of `persist`), and
//! the `save <seconds> <changes>` checker.

use super::{rdb, rdb_path, saved_ok, STATE};
use crate::log;
use crate::server::{now_ms, Server};
use parking_lot::{Mutex, RwLock};
use spinel_keyspace::Shard;
use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// One BGSAVE in progress.
struct Snapshot {
    nshards: usize,
    /// Per (db * nshards + shard): not yet serialized.
    pending: Box<[AtomicBool]>,
    /// Shards serialized early because a command reached them first (with
    /// their key counts).
    copies: Mutex<HashMap<usize, (Vec<u8>, usize)>>,
    /// (keys, keys with expiry) per database at the snapshot instant.
    sizes: Vec<(usize, usize)>,
    compress: bool,
    checksum: bool,
    dirty_at_start: u64,
    clock: super::ClockPolicy,
    /// Function libraries at the snapshot instant.
    functions: Vec<Vec<u8>>,
}

/// Bytes of shards copied early during the running snapshot (what Redis
/// reports as copy-on-write size).
pub static COW_BYTES: AtomicU64 = AtomicU64::new(0);

static ACTIVE: AtomicBool = AtomicBool::new(false);
static CURRENT: RwLock<Option<Arc<Snapshot>>> = RwLock::new(None);
static DONE: (Mutex<()>, parking_lot::Condvar) = (Mutex::new(()), parking_lot::Condvar::new());

/// Called with shard `(db, idx)` locked, before a command reads or changes
/// it: while a BGSAVE is running and the shard is still pending, its
/// current contents go into the snapshot first.
#[inline]
pub fn touch(db: usize, idx: usize, shard: &Shard) {
    if !ACTIVE.load(Ordering::Acquire) {
        return;
    }
    touch_slow(db, idx, shard);
}

#[cold]
fn touch_slow(db: usize, idx: usize, shard: &Shard) {
    let Some(s) = CURRENT.read().clone() else {
        return;
    };
    let i = db * s.nshards + idx;
    if let Some(p) = s.pending.get(i) {
        if p.swap(false, Ordering::AcqRel) {
            let mut buf = Vec::new();
            let now = now_ms();
            let n = rdb::write_shard(&mut buf, shard, s.compress, &|l| s.clock.save(l, now));
            COW_BYTES.fetch_add(buf.len() as u64, Ordering::Relaxed);
            s.copies.lock().insert(i, (buf, n));
        }
    }
}

/// Blocks until no BGSAVE is running.
pub fn wait_bgsave() {
    let mut g = DONE.0.lock();
    while STATE.bgsave_in_progress.load(Ordering::Acquire) {
        DONE.1
            .wait_for(&mut g, std::time::Duration::from_millis(50));
    }
}

/// Claims the single snapshot slot (false when a snapshot is running).
fn claim() -> bool {
    STATE
        .bgsave_in_progress
        .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
        .is_ok()
}

/// The snapshot instant: with every shard held (no command is half-way),
/// marks all shards pending and records the database sizes.
fn take_instant(srv: &'static Server) {
    STATE.bgsave_started_ms.store(now_ms(), Ordering::Relaxed);
    COW_BYTES.store(0, Ordering::Relaxed);
    // Before the shards: scripts hold the scripting state while locking them.
    let functions = crate::script::library_codes();
    let n = srv.ks.nshards();
    let shards = super::lock_all(srv);
    let sizes = (0..srv.ks.ndbs())
        .map(|db| {
            let part = shards.get(db * n..(db + 1) * n).unwrap_or(&[]);
            (
                part.iter().map(|s| s.len()).sum(),
                part.iter().map(|s| s.expires.len()).sum(),
            )
        })
        .collect();
    let snap = Snapshot {
        nshards: n,
        pending: (0..shards.len()).map(|_| AtomicBool::new(true)).collect(),
        copies: Mutex::new(HashMap::new()),
        sizes,
        compress: super::compression(srv),
        checksum: super::checksum(srv),
        dirty_at_start: srv.dirty.load(Ordering::Relaxed),
        clock: super::ClockPolicy::of(srv),
        functions,
    };
    *CURRENT.write() = Some(Arc::new(snap));
    ACTIVE.store(true, Ordering::Release);
}

/// Takes the snapshot instant and starts the writer thread. False when a
/// BGSAVE is already running.
pub fn start_bgsave(srv: &'static Server) -> bool {
    if !claim() {
        return false;
    }
    STATE.last_bgsave_try.store(now_ms(), Ordering::Relaxed);
    take_instant(srv);
    log::notice(&format!(
        "Background saving started by pid {}",
        std::process::id()
    ));
    let spawned = std::thread::Builder::new()
        .name("spinel-bgsave".into())
        .spawn(move || run_bgsave(srv));
    if spawned.is_err() {
        finish(false, 0);
        return false;
    }
    true
}

/// Streams a point-in-time RDB image of the whole dataset into `w` on the
/// calling thread while commands keep running (a replica's full sync).
/// Waits for a running BGSAVE to end first. The save status and the dirty
/// counter are left alone.
pub fn stream_snapshot(srv: &'static Server, w: &mut dyn Write) -> std::io::Result<()> {
    loop {
        wait_bgsave();
        if claim() {
            break;
        }
    }
    take_instant(srv);
    let snap = CURRENT.read().clone();
    let res = match snap {
        Some(snap) => write_snapshot(srv, &snap, w),
        None => Err(std::io::Error::other("snapshot vanished")),
    };
    let ok = STATE.last_bgsave_ok.load(Ordering::Relaxed);
    let secs = STATE.last_bgsave_time_sec.load(Ordering::Relaxed);
    finish(ok, secs);
    res
}

fn finish(ok: bool, secs: i64) {
    ACTIVE.store(false, Ordering::Release);
    *CURRENT.write() = None;
    STATE.last_bgsave_ok.store(ok, Ordering::Relaxed);
    STATE.last_bgsave_time_sec.store(secs, Ordering::Relaxed);
    STATE
        .last_cow_size
        .store(COW_BYTES.load(Ordering::Relaxed), Ordering::Relaxed);
    let _g = DONE.0.lock();
    STATE.bgsave_in_progress.store(false, Ordering::Release);
    DONE.1.notify_all();
}

fn run_bgsave(srv: &'static Server) {
    let t0 = std::time::Instant::now();
    let Some(snap) = CURRENT.read().clone() else {
        finish(false, 0);
        return;
    };
    let tmp = format!("temp-bgsave-{}.rdb", std::process::id());
    let res = (|| {
        let f = std::fs::File::create(&tmp)?;
        let mut w = std::io::BufWriter::with_capacity(1 << 16, f);
        write_snapshot(srv, &snap, &mut w)?;
        w.flush()?;
        let f = w.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        std::fs::rename(&tmp, rdb_path(srv))
    })();
    let secs = t0.elapsed().as_secs() as i64;
    match res {
        Ok(()) => {
            log::notice("DB saved on disk");
            saved_ok(srv, snap.dirty_at_start);
            log::notice("Background saving terminated with success");
            finish(true, secs);
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            log::warning(&format!("Write error saving DB on disk: {}", e));
            log::warning("Background saving error");
            finish(false, secs);
        }
    }
}

/// Writes the snapshot, shard by shard, taking early copies where commands
/// got there first.
fn write_snapshot(srv: &'static Server, snap: &Snapshot, w: &mut dyn Write) -> std::io::Result<()> {
    let mut crc = 0u64;
    let mut buf = Vec::with_capacity(1 << 16);
    rdb::write_header(
        &mut buf,
        crate::server::VERSION,
        now_ms() / 1000,
        crate::info::used_memory(),
    );
    rdb::write_functions(&mut buf, &snap.functions, snap.compress);
    let n = snap.nshards;
    // `rdb-key-save-delay`: microseconds per key (a testing aid, as in Redis).
    let delay = srv.config.get_i64("rdb-key-save-delay").unwrap_or(0);
    for (db, &(keys, expires)) in snap.sizes.iter().enumerate() {
        if keys == 0 {
            continue;
        }
        rdb::write_db_header(&mut buf, db, keys, expires);
        for idx in 0..n {
            let i = db * n + idx;
            let early = snap.copies.lock().remove(&i);
            let mut written = 0;
            match early {
                Some((b, k)) => {
                    buf.extend_from_slice(&b);
                    written = k;
                }
                None => {
                    if let Some(m) = srv.ks.dbs.get(db).and_then(|d| d.shards.get(idx)) {
                        let g = m.lock();
                        let pending = snap
                            .pending
                            .get(i)
                            .is_some_and(|p| p.swap(false, Ordering::AcqRel));
                        if pending {
                            let now = now_ms();
                            written = rdb::write_shard(&mut buf, &g, snap.compress, &|l| {
                                snap.clock.save(l, now)
                            });
                        } else {
                            drop(g);
                            if let Some((b, k)) = snap.copies.lock().remove(&i) {
                                buf.extend_from_slice(&b);
                                written = k;
                            }
                        }
                    }
                }
            }
            if delay > 0 && written > 0 {
                std::thread::sleep(std::time::Duration::from_micros(
                    (delay as u64).saturating_mul(written as u64),
                ));
            }
            if buf.len() >= 1 << 16 {
                if snap.checksum {
                    crc = super::crc64::crc64(crc, &buf);
                }
                w.write_all(&buf)?;
                buf.clear();
            }
        }
    }
    if snap.checksum {
        crc = super::crc64::crc64(crc, &buf);
    }
    rdb::write_trailer(&mut buf, crc, snap.checksum);
    w.write_all(&buf)?;
    w.flush()
}

/// Checks the `save` points ten times a second and starts a BGSAVE when
/// one is reached (after a failure, retries no sooner than 5 seconds).
pub fn save_point_loop(srv: &'static Server) {
    loop {
        std::thread::sleep(std::time::Duration::from_millis(100));
        if srv.shutdown_requested.load(Ordering::Relaxed) {
            return;
        }
        if STATE.bgsave_in_progress.load(Ordering::Acquire) {
            continue;
        }
        let now = now_ms();
        let dirty = srv.dirty.load(Ordering::Relaxed);
        let last = srv.lastsave.load(Ordering::Relaxed);
        let retry_ok = STATE.last_bgsave_ok.load(Ordering::Relaxed)
            || now - STATE.last_bgsave_try.load(Ordering::Relaxed) > 5000;
        if STATE.bgsave_scheduled.swap(false, Ordering::AcqRel) {
            start_bgsave(srv);
            continue;
        }
        for (secs, changes) in srv.config.save_params() {
            if dirty >= changes.max(0) as u64 && now / 1000 - last > secs && retry_ok {
                log::notice(&format!(
                    "{} changes in {} seconds. Saving...",
                    changes, secs
                ));
                start_bgsave(srv);
                break;
            }
        }
    }
}
