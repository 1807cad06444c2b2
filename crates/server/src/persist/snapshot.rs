//! BGSAVE without fork: a point-in-time image taken shard by shard while
//! commands keep running (see the module documentation of `persist`), and
//! the `save <seconds> <changes>` checker.
//!
//! Memory: a shard is serialized by whoever reaches it first (the save
//! thread, or a command about to read or change it) and its bytes go
//! straight on into the file, so the extra memory of a save is the few
//! shard-sized buffers being serialized at that moment, whatever the write
//! load. Shards therefore reach the file in no fixed order; each change of
//! database is preceded by a SELECTDB opcode (with RESIZEDB the first time),
//! which loaders accept anywhere in the file. For [`stream_snapshot`], whose
//! writer belongs to the calling thread, early copies wait in a queue that
//! the streaming thread empties before each shard of its own.

use super::{rdb, rdb_path, saved_ok, STATE};
use crate::log;
use crate::server::{now_ms, Server};
use parking_lot::{Condvar, Mutex, RwLock};
use spinel_keyspace::Shard;
use std::collections::VecDeque;
use std::io::{BufWriter, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

/// Appends serialized shards to an image in the order they come, keeping
/// the running checksum and switching databases as needed.
struct Emitter {
    crc: u64,
    checksum: bool,
    db: Option<usize>,
    /// Per database: its SELECTDB + RESIZEDB header is written.
    started: Vec<bool>,
}

impl Emitter {
    fn new(checksum: bool, ndbs: usize) -> Emitter {
        Emitter {
            crc: 0,
            checksum,
            db: None,
            started: vec![false; ndbs],
        }
    }

    fn raw(&mut self, w: &mut dyn Write, b: &[u8]) -> std::io::Result<()> {
        if self.checksum {
            self.crc = super::crc64::crc64(self.crc, b);
        }
        w.write_all(b)
    }

    /// The keys of one shard of `db`.
    fn put(
        &mut self,
        w: &mut dyn Write,
        sizes: &[(usize, usize)],
        db: usize,
        body: &[u8],
    ) -> std::io::Result<()> {
        if body.is_empty() {
            return Ok(());
        }
        if self.db != Some(db) {
            let mut h = Vec::with_capacity(24);
            match self.started.get_mut(db) {
                Some(s) if !*s => {
                    *s = true;
                    let (keys, expires) = sizes.get(db).copied().unwrap_or((0, 0));
                    rdb::write_db_header(&mut h, db, keys, expires);
                }
                _ => {
                    h.push(rdb::OP_SELECTDB);
                    rdb::write_len(&mut h, db as u64);
                }
            }
            self.raw(w, &h)?;
            self.db = Some(db);
        }
        self.raw(w, body)
    }

    /// EOF and checksum.
    fn finish(&mut self, w: &mut dyn Write) -> std::io::Result<()> {
        let mut t = Vec::with_capacity(9);
        rdb::write_trailer(&mut t, self.crc, self.checksum);
        w.write_all(&t)?;
        w.flush()
    }
}

/// The BGSAVE file, shared by the save thread and the commands that
/// serialize shards early.
struct FileSink {
    w: Option<BufWriter<std::fs::File>>,
    em: Emitter,
    /// The first error; later shards are not written.
    err: Option<std::io::Error>,
}

enum Sink {
    File(Mutex<FileSink>),
    /// (database, serialized keys, key count) waiting for the streaming
    /// thread.
    Queue(Mutex<VecDeque<(usize, Vec<u8>, usize)>>),
}

/// One BGSAVE in progress.
struct Snapshot {
    nshards: usize,
    /// Per (db * nshards + shard): not yet serialized. Shards empty at the
    /// snapshot instant are never pending.
    pending: Box<[AtomicBool]>,
    /// Shards pending at the instant, and how many have reached the sink.
    total: usize,
    done: AtomicUsize,
    /// Keys serialized by commands and not yet paid for by the save
    /// thread's `rdb-key-save-delay` sleeps.
    unpaid_keys: AtomicUsize,
    sink: Sink,
    /// Signalled (with the sink's mutex) when a shard reaches the sink.
    cv: Condvar,
    /// (keys, keys with expiry) per database at the snapshot instant.
    sizes: Vec<(usize, usize)>,
    compress: bool,
    dirty_at_start: u64,
    clock: super::ClockPolicy,
    /// Header and function libraries, for a sink written by its owner.
    preamble: Vec<u8>,
}

impl Snapshot {
    fn serialize(&self, shard: &Shard, buf: &mut Vec<u8>) -> usize {
        let now = now_ms();
        write_shard_prefetched(buf, shard, self.compress, &|l| self.clock.save(l, now))
    }

    /// A serialized shard of `db` reaches the sink.
    fn deliver(&self, db: usize, buf: Vec<u8>, keys: usize) {
        match &self.sink {
            Sink::File(m) => {
                let mut g = m.lock();
                let f = &mut *g;
                if f.err.is_none() {
                    if let Some(w) = f.w.as_mut() {
                        if let Err(e) = f.em.put(w, &self.sizes, db, &buf) {
                            f.err = Some(e);
                        }
                    }
                }
                self.done.fetch_add(1, Ordering::AcqRel);
                drop(g);
            }
            Sink::Queue(q) => {
                let mut g = q.lock();
                g.push_back((db, buf, keys));
                self.done.fetch_add(1, Ordering::AcqRel);
                drop(g);
            }
        }
        self.cv.notify_all();
    }
}

/// [`rdb::write_shard`] with the entries a few steps ahead prefetched:
/// each entry is its own allocation, and walking them one cache miss at a
/// time is most of the cost of serializing a large shard (and so of how
/// long a command that reaches a pending shard waits).
fn write_shard_prefetched(
    out: &mut Vec<u8>,
    shard: &Shard,
    compress: bool,
    clock: &dyn Fn(u32) -> Option<rdb::KeyClock>,
) -> usize {
    const AHEAD: usize = 24;
    let items: Vec<_> = shard.map.iter().collect();
    let with_expiry = !shard.expires.is_empty();
    for (i, (k, e)) in items.iter().enumerate() {
        if let Some((next, _)) = items.get(i + AHEAD) {
            prefetch(*next as *const _ as *const i8);
        }
        let key = k.as_slice();
        let expire = if with_expiry {
            shard.expire_of(shard.map.hasher().hash_one(key), key)
        } else {
            None
        };
        let meta = rdb::KeyMeta {
            expire,
            clock: clock(e.lru),
        };
        rdb::write_key(out, key, &e.value, meta, compress);
    }
    items.len()
}

#[inline(always)]
fn prefetch(p: *const i8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint; it never faults, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch(p, std::arch::x86_64::_MM_HINT_T0)
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Bytes of shards serialized by commands during the running snapshot
/// (what Redis reports as copy-on-write size).
pub static COW_BYTES: AtomicU64 = AtomicU64::new(0);

static ACTIVE: AtomicBool = AtomicBool::new(false);
static CURRENT: RwLock<Option<Arc<Snapshot>>> = RwLock::new(None);
static DONE: (Mutex<()>, Condvar) = (Mutex::new(()), Condvar::new());

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
            let n = s.serialize(shard, &mut buf);
            COW_BYTES.fetch_add(buf.len() as u64, Ordering::Relaxed);
            s.unpaid_keys.fetch_add(n, Ordering::Relaxed);
            s.deliver(db, buf, n);
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

/// The RDB header and function libraries.
fn preamble(functions: &[Vec<u8>], compress: bool) -> Vec<u8> {
    let mut buf = Vec::with_capacity(256);
    rdb::write_header(
        &mut buf,
        crate::server::VERSION,
        now_ms() / 1000,
        crate::info::used_memory(),
    );
    rdb::write_functions(&mut buf, functions, compress);
    buf
}

/// The snapshot instant: with every shard held (no command is half-way),
/// marks the non-empty shards pending and records the database sizes.
/// `to_file`: the BGSAVE temp file, created (with the preamble written)
/// before the instant so commands can write shards into it at once.
fn take_instant(srv: &'static Server, to_file: Option<&str>) -> Arc<Snapshot> {
    STATE.bgsave_started_ms.store(now_ms(), Ordering::Relaxed);
    COW_BYTES.store(0, Ordering::Relaxed);
    let compress = super::compression(srv);
    let checksum = super::checksum(srv);
    let ndbs = srv.ks.ndbs();
    // Before the shards: scripts hold the scripting state while locking them.
    let functions = crate::script::library_codes();
    let pre = preamble(&functions, compress);
    let sink = match to_file {
        Some(path) => {
            let mut em = Emitter::new(checksum, ndbs);
            let opened = std::fs::File::create(path).and_then(|f| {
                let mut w = BufWriter::with_capacity(1 << 16, f);
                em.raw(&mut w, &pre)?;
                Ok(w)
            });
            let (w, err) = match opened {
                Ok(w) => (Some(w), None),
                Err(e) => (None, Some(e)),
            };
            Sink::File(Mutex::new(FileSink { w, em, err }))
        }
        None => Sink::Queue(Mutex::new(VecDeque::new())),
    };
    let n = srv.ks.nshards();
    let shards = super::lock_all(srv);
    let sizes = (0..ndbs)
        .map(|db| {
            let part = shards.get(db * n..(db + 1) * n).unwrap_or(&[]);
            (
                part.iter().map(|s| s.len()).sum(),
                part.iter().map(|s| s.expires.len()).sum(),
            )
        })
        .collect();
    let pending: Box<[AtomicBool]> = shards
        .iter()
        .map(|s| AtomicBool::new(!s.is_empty()))
        .collect();
    let total = pending.iter().filter(|p| p.load(Ordering::Relaxed)).count();
    let snap = Arc::new(Snapshot {
        nshards: n,
        pending,
        total,
        done: AtomicUsize::new(0),
        unpaid_keys: AtomicUsize::new(0),
        sink,
        cv: Condvar::new(),
        sizes,
        compress,
        dirty_at_start: srv.dirty.load(Ordering::Relaxed),
        clock: super::ClockPolicy::of(srv),
        preamble: if to_file.is_some() { Vec::new() } else { pre },
    });
    *CURRENT.write() = Some(snap.clone());
    ACTIVE.store(true, Ordering::Release);
    drop(shards);
    snap
}

fn temp_name() -> String {
    format!("temp-bgsave-{}.rdb", std::process::id())
}

/// Takes the snapshot instant and starts the writer thread. False when a
/// BGSAVE is already running.
pub fn start_bgsave(srv: &'static Server) -> bool {
    if !claim() {
        return false;
    }
    STATE.last_bgsave_try.store(now_ms(), Ordering::Relaxed);
    let snap = take_instant(srv, Some(&temp_name()));
    log::notice(&format!(
        "Background saving started by pid {}",
        std::process::id()
    ));
    let spawned = std::thread::Builder::new()
        .name("spinel-bgsave".into())
        .spawn(move || run_bgsave(srv, snap));
    if spawned.is_err() {
        let _ = std::fs::remove_file(temp_name());
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
    let snap = take_instant(srv, None);
    let res = stream_to(srv, &snap, w);
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

/// `rdb-key-save-delay`: microseconds per key (a testing aid, as in
/// Redis). The save thread sleeps for every key of the image, including
/// those commands serialized, so a save lasts about as long as in Redis.
fn key_delay(srv: &Server, snap: &Snapshot, keys: usize) {
    let keys = keys + snap.unpaid_keys.swap(0, Ordering::Relaxed);
    let delay = srv.config.get_i64("rdb-key-save-delay").unwrap_or(0);
    if delay > 0 && keys > 0 {
        std::thread::sleep(std::time::Duration::from_micros(
            (delay as u64).saturating_mul(keys as u64),
        ));
    }
}

/// Visits the pending shards in order, serializing each one no command
/// has reached yet (with the shard locked) and handing it to `put`.
/// `between` runs before each shard (the streaming thread empties its
/// queue there).
fn save_pending(
    srv: &'static Server,
    snap: &Snapshot,
    between: &mut dyn FnMut() -> std::io::Result<()>,
    put: &mut dyn FnMut(usize, Vec<u8>, usize) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let n = snap.nshards;
    for (db, d) in srv.ks.dbs.iter().enumerate() {
        for (idx, m) in d.shards.iter().enumerate() {
            let i = db * n + idx;
            let is_pending = |p: &AtomicBool| p.load(Ordering::Acquire);
            if !snap.pending.get(i).is_some_and(is_pending) {
                continue;
            }
            between()?;
            let g = m.lock();
            let mine = snap
                .pending
                .get(i)
                .is_some_and(|p| p.swap(false, Ordering::AcqRel));
            if !mine {
                continue;
            }
            let mut buf = Vec::new();
            let keys = snap.serialize(&g, &mut buf);
            drop(g);
            put(db, buf, keys)?;
            key_delay(srv, snap, keys);
        }
    }
    Ok(())
}

fn run_bgsave(srv: &'static Server, snap: Arc<Snapshot>) {
    let t0 = std::time::Instant::now();
    let tmp = temp_name();
    let res = write_file(srv, &snap).and_then(|f| {
        f.sync_all()?;
        std::fs::rename(&tmp, rdb_path(srv))
    });
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

/// The BGSAVE writer: saves the shards no command reached first, waits for
/// those being serialized by commands, and closes the file.
fn write_file(srv: &'static Server, snap: &Snapshot) -> std::io::Result<std::fs::File> {
    let Sink::File(m) = &snap.sink else {
        return Err(std::io::Error::other("snapshot has no file"));
    };
    if let Some(e) = m.lock().err.take() {
        return Err(e);
    }
    save_pending(srv, snap, &mut || Ok(()), &mut |db, buf, keys| {
        snap.deliver(db, buf, keys);
        Ok(())
    })?;
    let mut g = m.lock();
    while snap.done.load(Ordering::Acquire) < snap.total {
        snap.cv
            .wait_for(&mut g, std::time::Duration::from_millis(50));
    }
    drop(g);
    key_delay(srv, snap, 0);
    let mut g = m.lock();
    let f = &mut *g;
    if let Some(e) = f.err.take() {
        return Err(e);
    }
    let mut w =
        f.w.take()
            .ok_or_else(|| std::io::Error::other("snapshot file closed"))?;
    f.em.finish(&mut w)?;
    w.into_inner().map_err(|e| e.into_error())
}

/// The streaming writer: like [`write_file`], emptying the queue of early
/// copies into `w` before each shard of its own.
fn stream_to(srv: &'static Server, snap: &Snapshot, w: &mut dyn Write) -> std::io::Result<()> {
    let Sink::Queue(q) = &snap.sink else {
        return Err(std::io::Error::other("snapshot has no queue"));
    };
    let mut em = Emitter::new(super::checksum(srv), snap.sizes.len());
    let mut out = std::io::BufWriter::with_capacity(1 << 16, w);
    em.raw(&mut out, &snap.preamble)?;
    let em = std::cell::RefCell::new(em);
    let out = std::cell::RefCell::new(out);
    let drain = || -> std::io::Result<()> {
        loop {
            let Some((db, buf, _)) = q.lock().pop_front() else {
                return Ok(());
            };
            em.borrow_mut()
                .put(&mut *out.borrow_mut(), &snap.sizes, db, &buf)?;
        }
    };
    save_pending(srv, snap, &mut || drain(), &mut |db, buf, _| {
        snap.done.fetch_add(1, Ordering::AcqRel);
        em.borrow_mut()
            .put(&mut *out.borrow_mut(), &snap.sizes, db, &buf)
    })?;
    loop {
        drain()?;
        let mut g = q.lock();
        if g.is_empty() && snap.done.load(Ordering::Acquire) >= snap.total {
            break;
        }
        if g.is_empty() {
            snap.cv
                .wait_for(&mut g, std::time::Duration::from_millis(50));
        }
    }
    key_delay(srv, snap, 0);
    let mut out = out.into_inner();
    em.into_inner().finish(&mut out)?;
    out.flush()
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
