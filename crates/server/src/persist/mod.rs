//! RDB persistence (Redis 7.2's version 11 format): SAVE, BGSAVE, the
//! start-up load, save points, the final save at SHUTDOWN, DEBUG RELOAD,
//! and DUMP / RESTORE payloads.
//!
//! Point-in-time images without fork (DESIGN §2): a save starts by locking
//! every shard of every database in ascending order (the same order all
//! commands use), which is an instant at which no command is half-done.
//! SAVE and DEBUG RELOAD serialize while still holding them. BGSAVE marks
//! every shard "pending" at that instant and lets go; a background thread
//! then saves the shards one by one, and [`snapshot::touch`], run by
//! `Locks::shard` whenever a command gets hold of a shard, first
//! serializes a pending shard's untouched contents straight into the file
//! (copy-on-write per shard). Peak extra memory is a few shard-sized
//! buffers. Code that locks shards without going
//! through `Locks::shard` must call [`snapshot::touch`] itself before
//! changing them.
//!
//! Surface for the rest of the server:
//! - [`start`]: the start-up load and the save-point checker.
//! - [`save`], [`snapshot::start_bgsave`], [`snapshot::wait_bgsave`].
//! - [`snapshot::stream_snapshot`] / [`replace_dataset`]: a point-in-time
//!   image into any writer and a whole-dataset load (full resyncs).
//! - [`after_flushall`], [`write_denied_error`] (MISCONF).
//! - [`rdb`]: the format itself (value encoding, `DUMP` payloads, loader).
//! - [`aof`]: the append-only file (start-up load with `appendonly yes`,
//!   BGREWRITEAOF, `CONFIG SET appendonly`).

pub mod aof;
pub mod crc64;
pub mod encodings;
pub mod lzf;
pub mod rdb;
pub mod snapshot;

use crate::cmd::util::{eq_ic, parse_i64};
use crate::dispatch::{lru_clock, CommandTable, Ctx, Handler, LockKind, ERR_NOT_INT, ERR_SYNTAX};
use crate::log;
use crate::notify;
use crate::server::{now_ms, Server};
use parking_lot::MutexGuard;
use rdb::{LoadError, LoadLimits};
use spinel_keyspace::hash::HashLimits;
use spinel_keyspace::set::SetLimits;
use spinel_keyspace::{Entry, Shard};
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Once;

/// Persistence status shown by `INFO persistence`.
pub struct State {
    pub bgsave_in_progress: AtomicBool,
    pub bgsave_started_ms: AtomicI64,
    pub last_bgsave_ok: AtomicBool,
    pub last_bgsave_time_sec: AtomicI64,
    pub last_bgsave_try: AtomicI64,
    pub saves: AtomicU64,
    pub last_load_loaded: AtomicU64,
    pub last_load_expired: AtomicU64,
    pub bgsave_scheduled: AtomicBool,
    pub last_cow_size: AtomicU64,
}

pub static STATE: State = State {
    bgsave_in_progress: AtomicBool::new(false),
    bgsave_started_ms: AtomicI64::new(0),
    last_bgsave_ok: AtomicBool::new(true),
    last_bgsave_time_sec: AtomicI64::new(-1),
    last_bgsave_try: AtomicI64::new(0),
    saves: AtomicU64::new(0),
    last_load_loaded: AtomicU64::new(0),
    last_load_expired: AtomicU64::new(0),
    bgsave_scheduled: AtomicBool::new(false),
    last_cow_size: AtomicU64::new(0),
};

static HOOKS: Once = Once::new();

pub fn register(t: &mut CommandTable) {
    let none = Some(LockKind::None);
    t.add_lock("save", save_cmd as Handler, none);
    t.add_lock("bgsave", bgsave_cmd as Handler, none);
    t.add("dump", dump_cmd);
    t.add("restore", restore_cmd);
    t.add("restore-asking", restore_cmd);
    t.add_lock("bgrewriteaof", bgrewriteaof_cmd as Handler, none);
    HOOKS.call_once(|| {
        crate::cmd::server::CONFIG_SET_HOOKS
            .lock()
            .push(aof::rewrite::config_changed);
        crate::cmd::server::DEBUG_SUBCOMMANDS
            .lock()
            .push(("reload", debug_reload as Handler));
        crate::info::register_fields("persistence", persistence_fields);
        crate::info::register_fields("persistence", aof::rewrite::info_fields);
        crate::startup::SHUTDOWN_HOOKS.lock().push(shutdown_hook);
    });
}

// ------------------------------------------------------------------ settings

fn compression(srv: &Server) -> bool {
    srv.config.get_bool("rdbcompression").unwrap_or(true)
}

fn checksum(srv: &Server) -> bool {
    srv.config.get_bool("rdbchecksum").unwrap_or(true)
}

/// The RDB file (relative to `dir`, the working directory).
pub fn rdb_path(srv: &Server) -> String {
    srv.config.dbfilename()
}

fn cfg_usize(srv: &Server, name: &str, def: usize) -> usize {
    srv.config
        .get_i64(name)
        .filter(|v| *v >= 0)
        .map(|v| v as usize)
        .unwrap_or(def)
}

pub fn load_limits(srv: &Server) -> LoadLimits {
    let h = HashLimits::default();
    let s = SetLimits::default();
    LoadLimits {
        list_fill: srv
            .config
            .get_i64("list-max-listpack-size")
            .unwrap_or(spinel_keyspace::list::DEFAULT_FILL),
        hash: HashLimits {
            max_listpack_entries: cfg_usize(
                srv,
                "hash-max-listpack-entries",
                h.max_listpack_entries,
            ),
            max_listpack_value: cfg_usize(srv, "hash-max-listpack-value", h.max_listpack_value),
        },
        set: SetLimits {
            max_intset_entries: cfg_usize(srv, "set-max-intset-entries", s.max_intset_entries),
            max_listpack_entries: cfg_usize(
                srv,
                "set-max-listpack-entries",
                s.max_listpack_entries,
            ),
            max_listpack_value: cfg_usize(srv, "set-max-listpack-value", s.max_listpack_value),
        },
        zset: crate::cmd::zset::limits_of(srv),
    }
}

// ------------------------------------------------------------------ saving

/// What the RDB records of each key's access clock: idle seconds under an
/// LRU `maxmemory-policy`, the LFU counter under an LFU one, else nothing.
#[derive(Debug, Clone, Copy)]
pub struct ClockPolicy {
    lru: bool,
    lfu: bool,
    decay: u32,
}

impl ClockPolicy {
    pub fn of(srv: &Server) -> ClockPolicy {
        let p = srv.config.maxmemory_policy();
        ClockPolicy {
            lru: p.ends_with("-lru"),
            lfu: p.ends_with("-lfu"),
            decay: srv
                .config
                .get_i64("lfu-decay-time")
                .unwrap_or(1)
                .clamp(0, u32::MAX as i64) as u32,
        }
    }

    /// `estimateObjectIdleTime` / `LFUDecrAndReturn` for the file.
    pub fn save(&self, lru: u32, now: i64) -> Option<rdb::KeyClock> {
        if self.lru {
            const LRU_CLOCK_MAX: u64 = (1 << 24) - 1;
            let clock = lru_clock(now) as u64;
            let lru = lru as u64 & LRU_CLOCK_MAX;
            let idle = if clock >= lru {
                clock - lru
            } else {
                clock + (LRU_CLOCK_MAX - lru)
            };
            Some(rdb::KeyClock::Idle(idle))
        } else if self.lfu {
            let c = crate::evict::lfu_decr_and_return(lru, now, self.decay);
            Some(rdb::KeyClock::Freq(c.min(255) as u8))
        } else {
            None
        }
    }

    /// `objectSetLRUOrLFU` at load: the clock a loaded key starts with.
    pub fn restore(&self, clock: Option<rdb::KeyClock>, now: i64) -> u32 {
        match clock {
            Some(rdb::KeyClock::Freq(f)) if self.lfu => {
                (crate::evict::lfu_time_in_minutes(now) << 8) | f as u32
            }
            Some(rdb::KeyClock::Idle(i)) if !self.lfu => idle_to_clock(lru_clock(now), i),
            _ if self.lfu => (crate::evict::lfu_time_in_minutes(now) << 8) | 5,
            _ => lru_clock(now),
        }
    }
}

/// The absolute LRU clock of a key idle for `idle` seconds.
fn idle_to_clock(clock: u32, idle: u64) -> u32 {
    const LRU_CLOCK_MAX: i64 = (1 << 24) - 1;
    let mut abs = clock as i64 - idle.min(i64::MAX as u64) as i64;
    if abs < 0 {
        abs = (clock as i64 + LRU_CLOCK_MAX / 2) % LRU_CLOCK_MAX;
    }
    abs as u32
}

/// Every shard of every database, locked in ascending (db, shard) order.
pub type AllShards = Vec<MutexGuard<'static, Shard>>;

/// Locks every shard. When [`at_next_instant`] armed a hook on this
/// thread, it runs once with every shard held (the AOF rewrite switches
/// incremental files at the snapshot instant this way).
pub fn lock_all(srv: &'static Server) -> AllShards {
    let mut v = Vec::with_capacity(srv.ks.ndbs() * srv.ks.nshards());
    for db in srv.ks.dbs.iter() {
        for s in db.shards.iter() {
            v.push(s.lock());
        }
    }
    if let Some(f) = AT_INSTANT.with(|h| h.borrow_mut().take()) {
        f();
    }
    v
}

type InstantHook = Box<dyn FnOnce()>;

thread_local! {
    static AT_INSTANT: std::cell::RefCell<Option<InstantHook>> =
        const { std::cell::RefCell::new(None) };
}

/// Arms `f` to run inside the next [`lock_all`] on this thread, while
/// every shard is held.
pub fn at_next_instant(f: InstantHook) {
    AT_INSTANT.with(|h| *h.borrow_mut() = Some(f));
}

/// Disarms a hook [`at_next_instant`] armed that did not run.
pub fn clear_next_instant() {
    AT_INSTANT.with(|h| *h.borrow_mut() = None);
}

/// Receives the bytes of a file being written.
type Emit<'a> = dyn FnMut(&[u8]) -> std::io::Result<()> + 'a;

/// Writes `out` to `temp-<pid>.rdb`, fsyncs, renames over the RDB file.
fn write_file_atomically(
    srv: &Server,
    fill: &mut dyn FnMut(&mut Emit) -> std::io::Result<()>,
) -> std::io::Result<()> {
    // One foreground save at a time: they share the temp file name.
    static SAVE_LOCK: parking_lot::Mutex<()> = parking_lot::Mutex::new(());
    let _one = SAVE_LOCK.lock();
    let tmp = format!("temp-{}.rdb", std::process::id());
    let res = (|| {
        let f = std::fs::File::create(&tmp)?;
        let mut w = std::io::BufWriter::with_capacity(1 << 16, f);
        fill(&mut |b: &[u8]| w.write_all(b))?;
        w.flush()?;
        let f = w.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        std::fs::rename(&tmp, rdb_path(srv))
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}

/// The RDB image of the locked shards, streamed through `emit`.
fn serialize_locked(
    srv: &Server,
    shards: &AllShards,
    functions: &[Vec<u8>],
    emit: &mut Emit,
) -> std::io::Result<()> {
    let compress = compression(srv);
    let sum = checksum(srv);
    let mut crc = 0u64;
    let mut buf = Vec::with_capacity(1 << 16);
    rdb::write_header(
        &mut buf,
        crate::server::VERSION,
        now_ms() / 1000,
        crate::info::used_memory(),
    );
    rdb::write_functions(&mut buf, functions, compress);
    let n = srv.ks.nshards();
    let policy = ClockPolicy::of(srv);
    let now = now_ms();
    for db in 0..srv.ks.ndbs() {
        let part = shards.get(db * n..(db + 1) * n).unwrap_or(&[]);
        let keys: usize = part.iter().map(|s| s.len()).sum();
        if keys == 0 {
            continue;
        }
        let expires: usize = part.iter().map(|s| s.expires.len()).sum();
        rdb::write_db_header(&mut buf, db, keys, expires);
        for sh in part {
            rdb::write_shard(&mut buf, sh, compress, &|lru| policy.save(lru, now));
            if buf.len() >= 1 << 16 {
                if sum {
                    crc = crc64::crc64(crc, &buf);
                }
                emit(&buf)?;
                buf.clear();
            }
        }
    }
    if sum {
        crc = crc64::crc64(crc, &buf);
    }
    rdb::write_trailer(&mut buf, crc, sum);
    emit(&buf)
}

fn saved_ok(srv: &Server, dirty_at_start: u64) {
    let d = srv.dirty.load(Ordering::Relaxed);
    srv.dirty
        .store(d.saturating_sub(dirty_at_start), Ordering::Relaxed);
    srv.lastsave.store(now_ms() / 1000, Ordering::Relaxed);
    STATE.saves.fetch_add(1, Ordering::Relaxed);
}

/// `rdbSave` with every shard already locked.
/// `functions` is the library code, taken before the shards were locked
/// (scripts hold the scripting state while they lock shards).
pub fn save_with(
    srv: &'static Server,
    shards: &AllShards,
    functions: &[Vec<u8>],
) -> std::io::Result<()> {
    let dirty = srv.dirty.load(Ordering::Relaxed);
    let r = write_file_atomically(srv, &mut |emit| {
        serialize_locked(srv, shards, functions, emit)
    });
    match &r {
        Ok(()) => {
            log::notice("DB saved on disk");
            saved_ok(srv, dirty);
            STATE.last_bgsave_ok.store(true, Ordering::Relaxed);
        }
        Err(e) => {
            log::warning(&format!("Failed opening the temp RDB file temp-{}.rdb (in server root dir {}) for saving: {}",
                std::process::id(), srv.config.dir(), e));
        }
    }
    r
}

/// A foreground save (SAVE, SHUTDOWN, save on FLUSHALL).
pub fn save(srv: &'static Server) -> std::io::Result<()> {
    let functions = crate::script::library_codes();
    let shards = lock_all(srv);
    save_with(srv, &shards, &functions)
}

fn save_cmd(ctx: &mut Ctx, _argv: &[&[u8]]) {
    if STATE.bgsave_in_progress.load(Ordering::Acquire) {
        ctx.out.error("ERR Background save already in progress");
        return;
    }
    match save(ctx.srv) {
        Ok(()) => ctx.out.ok(),
        Err(_) => ctx.out.error("ERR"),
    }
}

fn bgsave_cmd(ctx: &mut Ctx, argv: &[&[u8]]) {
    let schedule = match argv.len() {
        1 => false,
        2 if eq_ic(argv[1], "schedule") => true,
        _ => {
            ctx.out.error(ERR_SYNTAX);
            return;
        }
    };
    if aof::rewrite::in_progress() {
        if schedule {
            STATE.bgsave_scheduled.store(true, Ordering::Release);
            ctx.out.simple("Background saving scheduled");
        } else {
            ctx.out.error("ERR An AOF log rewriting in progress: can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.");
        }
        return;
    }
    if STATE.bgsave_in_progress.load(Ordering::Acquire) {
        ctx.out.error("ERR Background save already in progress");
        return;
    }
    if ctx.ks.locks.is_exclusive() {
        // Inside EXEC (Redis: server.in_exec) the save starts from the
        // save-point checker once the transaction's locks are released.
        let _ = schedule;
        STATE.bgsave_scheduled.store(true, Ordering::Release);
        ctx.out.simple("Background saving scheduled");
        return;
    }
    if snapshot::start_bgsave(ctx.srv) {
        ctx.out.simple("Background saving started");
    } else {
        ctx.out.error("ERR Background save already in progress");
    }
}

/// BGREWRITEAOF.
fn bgrewriteaof_cmd(ctx: &mut Ctx, _argv: &[&[u8]]) {
    match aof::rewrite::bgrewrite(ctx.srv) {
        Ok(aof::rewrite::Started::Started) => ctx
            .out
            .simple("Background append only file rewriting started"),
        Ok(aof::rewrite::Started::Scheduled) => ctx
            .out
            .simple("Background append only file rewriting scheduled"),
        Err(e) => ctx.out.error(e),
    }
}

/// SHUTDOWN: the AOF is flushed and fsynced; then save when save points
/// are configured (or SHUTDOWN SAVE), unless NOSAVE.
fn shutdown_hook(srv: &'static Server, nosave: bool) {
    aof::rewrite::shutdown(srv);
    let forced = crate::startup::SHUTDOWN_SAVE.load(Ordering::Relaxed);
    if nosave || (!forced && srv.config.save_params().is_empty()) {
        return;
    }
    snapshot::wait_bgsave();
    log::notice("Saving the final RDB snapshot before exiting.");
    if save(srv).is_err() {
        log::warning("Error trying to save the DB, can't exit.");
    }
}

/// Redis saves right after FLUSHALL when save points are configured. The
/// caller (FLUSHALL, which stops every other worker) has just emptied the
/// keyspace, so the image is the empty one; nothing is locked here, which
/// makes this safe to call while the caller still holds shards.
pub fn after_flushall(srv: &'static Server) {
    if srv.config.save_params().is_empty() || STATE.bgsave_in_progress.load(Ordering::Acquire) {
        return;
    }
    // On its own thread: the library list needs the scripting state, which
    // a script calling FLUSHALL holds.
    let _ = std::thread::Builder::new()
        .name("spinel-save".into())
        .spawn(move || save_empty(srv));
}

fn save_empty(srv: &'static Server) {
    let dirty = srv.dirty.load(Ordering::Relaxed);
    let sum = checksum(srv);
    let r = write_file_atomically(srv, &mut |emit| {
        let mut buf = Vec::new();
        rdb::write_header(
            &mut buf,
            crate::server::VERSION,
            now_ms() / 1000,
            crate::info::used_memory(),
        );
        rdb::write_functions(&mut buf, &crate::script::library_codes(), compression(srv));
        let crc = if sum { crc64::crc64(0, &buf) } else { 0 };
        rdb::write_trailer(&mut buf, crc, sum);
        emit(&buf)
    });
    if r.is_ok() {
        log::notice("DB saved on disk");
        saved_ok(srv, dirty);
    }
}

/// Redis's `writeCommandsDeniedByDiskError` for RDB: with save points set
/// and `stop-writes-on-bgsave-error yes`, a failed last BGSAVE makes write
/// commands fail with this error until a save succeeds.
pub fn write_denied_error(srv: &Server) -> Option<&'static str> {
    if STATE.last_bgsave_ok.load(Ordering::Relaxed)
        || !srv
            .config
            .get_bool("stop-writes-on-bgsave-error")
            .unwrap_or(true)
        || srv.config.save_params().is_empty()
    {
        return None;
    }
    Some("MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.")
}

// ------------------------------------------------------------------ loading

fn describe(path: &str, e: &LoadError) -> Vec<String> {
    match e {
        LoadError::Short(off) => vec![
            format!(
                "Internal error in RDB reading offset {} of file {} -> Unexpected EOF reading RDB file",
                off, path
            ),
            "Short read or OOM loading DB. Unrecoverable error, aborting now.".to_string(),
        ],
        LoadError::Corrupt(off, msg) => vec![
            format!(
                "Internal error in RDB reading offset {} of file {} -> {}",
                off, path, msg
            ),
            "Terminating server after rdb file reading failure.".to_string(),
        ],
        LoadError::Unsupported(off, msg) => vec![
            format!("{} (file {}, offset {})", msg, path, off),
            "Terminating server after rdb file reading failure.".to_string(),
        ],
    }
}

/// Loads an RDB image into the keyspace, locking one shard per key.
/// Existing keys are an error (the keyspace is expected empty).
fn load_bytes(
    srv: &'static Server,
    bytes: &[u8],
    shards: Option<&mut AllShards>,
) -> Result<(rdb::LoadSummary, Vec<Vec<u8>>), LoadError> {
    let lim = load_limits(srv);
    // An AOF's RDB preamble keeps keys whose TTL has passed (Redis skips
    // them only when loading a plain RDB file as a master).
    let now = if spinel_keyspace::shard::loading() {
        i64::MIN
    } else {
        now_ms()
    };
    let ks = &srv.ks;
    let n = ks.nshards();
    let mut held = shards;
    let policy = ClockPolicy::of(srv);
    let mut sink = |db: usize, key: Vec<u8>, v: spinel_keyspace::Value, meta: rdb::KeyMeta| {
        let h = ks.hash(&key);
        let idx = ks.shard_of(h);
        let mut own;
        let sh: &mut Shard = match held.as_deref_mut() {
            Some(all) => match all.get_mut(db * n + idx) {
                Some(g) => g,
                None => return Err("bad shard".to_string()),
            },
            None => match ks.dbs.get(db).and_then(|d| d.shards.get(idx)) {
                Some(m) => {
                    own = m.lock();
                    &mut own
                }
                None => return Err("bad shard".to_string()),
            },
        };
        if sh.map.contains(h, &key) {
            return Err(format!(
                "RDB has duplicated key '{}' in DB {}",
                String::from_utf8_lossy(&key),
                db
            ));
        }
        sh.insert(
            h,
            &key,
            Entry::new(v, policy.restore(meta.clock, now)),
            false,
        );
        if let Some(t) = meta.expire {
            sh.set_expire(h, &key, t);
        }
        Ok(())
    };
    let mut logf = |m: &str| log::notice(m);
    let mut libs = Vec::new();
    let mut functions = |code: Vec<u8>| {
        libs.push(code);
        Ok(())
    };
    let r = rdb::load(
        bytes,
        &lim,
        ks.ndbs(),
        now,
        &mut sink,
        &mut functions,
        &mut logf,
    );
    if let Ok(s) = &r {
        STATE.last_load_loaded.store(s.loaded, Ordering::Relaxed);
        STATE.last_load_expired.store(s.expired, Ordering::Relaxed);
    }
    r.map(|s| (s, libs))
}

/// Installs function libraries read from an RDB file. Called with no
/// shard held (scripts lock shards while holding the scripting state).
fn apply_functions(srv: &'static Server, libs: Vec<Vec<u8>>) -> Result<(), String> {
    for code in libs {
        crate::script::restore_library(srv, &code)
            .map_err(|e| format!("Failed loading library: {}", e))?;
    }
    Ok(())
}

/// A file's bytes for loading: mapped read-only, so a large RDB costs no
/// heap copy on top of the dataset being built (the kernel drops pages
/// already read under memory pressure). Falls back to reading it.
enum FileBytes {
    Mapped(*const u8, usize),
    Read(Vec<u8>),
}

impl FileBytes {
    fn open(path: &str) -> std::io::Result<FileBytes> {
        use std::os::unix::io::AsRawFd;
        let f = std::fs::File::open(path)?;
        let len = f.metadata()?.len() as usize;
        if len == 0 {
            return Ok(FileBytes::Read(Vec::new()));
        }
        // SAFETY: a private read-only mapping of a regular file we opened;
        // the slice handed out never outlives `self`, which unmaps it.
        // Nothing else in the process writes the file while it is loaded
        // (loading happens before any client or save runs).
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                f.as_raw_fd(),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return std::fs::read(path).map(FileBytes::Read);
        }
        Ok(FileBytes::Mapped(p as *const u8, len))
    }

    fn as_slice(&self) -> &[u8] {
        match self {
            // SAFETY: `p` maps `len` readable bytes until `drop`.
            FileBytes::Mapped(p, len) => unsafe { std::slice::from_raw_parts(*p, *len) },
            FileBytes::Read(v) => v,
        }
    }
}

impl Drop for FileBytes {
    fn drop(&mut self) {
        if let FileBytes::Mapped(p, len) = self {
            // SAFETY: unmapping the mapping created in `open`.
            unsafe {
                libc::munmap(*p as *mut libc::c_void, *len);
            }
        }
    }
}

/// Start-up: loads `dir`/`dbfilename` when it exists and starts the save
/// point checker. False means start-up must stop (the reason is logged).
pub fn start(srv: &'static Server) -> bool {
    let path = rdb_path(srv);
    let t0 = std::time::Instant::now();
    // With `appendonly yes` Redis loads the AOF (whose base may be an RDB)
    // instead of the RDB file.
    if srv.config.appendonly() {
        if !aof::load::start(srv) {
            return false;
        }
        let _ = std::thread::Builder::new()
            .name("spinel-save".into())
            .spawn(move || snapshot::save_point_loop(srv));
        return true;
    }
    // The manifest is read (and checked) even with the AOF off, so that
    // turning it on later continues its sequence numbers.
    match aof::load::read_manifest(&aof::load::Paths::of(srv)) {
        Ok(am) => aof::rewrite::install_manifest(am),
        Err(e) => {
            log::warning(&e);
            return false;
        }
    }
    let read = FileBytes::open(&path);
    match read {
        Ok(bytes) => match load_bytes(srv, bytes.as_slice(), None) {
            Ok((s, libs)) => {
                if let Err(e) = apply_functions(srv, libs) {
                    log::warning(&format!("{} (file {})", e, path));
                    return false;
                }
                log::notice(&format!(
                    "Done loading RDB, keys loaded: {}, keys expired: {}.",
                    s.loaded, s.expired
                ));
                log::notice(&format!(
                    "DB loaded from disk: {:.3} seconds",
                    t0.elapsed().as_secs_f64()
                ));
            }
            Err(e) => {
                for line in describe(&path, &e) {
                    log::warning(&line);
                }
                return false;
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            log::warning(&format!(
                "Fatal error loading the DB {}: {}. Exiting.",
                path, e
            ));
            return false;
        }
    }
    let _ = std::thread::Builder::new()
        .name("spinel-save".into())
        .spawn(move || snapshot::save_point_loop(srv));
    true
}

/// Replaces the whole dataset with an RDB image (a replica after a full
/// sync), with every shard held so no command sees a half-loaded state.
/// On error the keyspace holds what was loaded before the error.
pub fn replace_dataset(srv: &'static Server, bytes: &[u8]) -> Result<rdb::LoadSummary, String> {
    snapshot::wait_bgsave();
    let mut shards = lock_all(srv);
    for sh in shards.iter_mut() {
        sh.touch_all_watched();
        let (old, _) = sh.take_all();
        drop(old);
    }
    let (sum, libs) = load_bytes(srv, bytes, Some(&mut shards))
        .map_err(|e| describe("(stream)", &e).join(" "))?;
    drop(shards);
    apply_functions(srv, libs)?;
    // The AOF no longer describes the dataset: it starts over.
    aof::rewrite::restart_after_sync(srv);
    Ok(sum)
}

/// DEBUG RELOAD: save, empty the keyspace, load the file back, all while
/// every shard is held.
fn debug_reload(ctx: &mut Ctx, argv: &[&[u8]]) {
    let srv = ctx.srv;
    let mut save_first = true;
    for a in argv.iter().skip(2) {
        if eq_ic(a, "nosave") {
            save_first = false;
        } else if !(eq_ic(a, "merge") || eq_ic(a, "noflush")) {
            ctx.out
                .error("ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.");
            return;
        }
    }
    if ctx.ks.locks.is_exclusive() {
        // Inside EXEC the transaction already holds shards of its own.
        ctx.out
            .error("ERR DEBUG RELOAD is not supported inside a transaction");
        return;
    }
    snapshot::wait_bgsave();
    let functions = crate::script::library_codes();
    let mut shards = lock_all(srv);
    if save_first && save_with(srv, &shards, &functions).is_err() {
        ctx.out.error("ERR Error trying to save the DB");
        return;
    }
    for sh in shards.iter_mut() {
        let (old, _) = sh.take_all();
        drop(old);
    }
    let bytes = match FileBytes::open(&rdb_path(srv)) {
        Ok(b) => b,
        Err(_) => {
            ctx.out
                .error("ERR Error trying to load the RDB dump, check server logs.");
            return;
        }
    };
    let loaded = load_bytes(srv, bytes.as_slice(), Some(&mut shards));
    drop(shards);
    match loaded
        .map_err(|e| describe(&rdb_path(srv), &e).join(" "))
        .and_then(|(_, libs)| apply_functions(srv, libs))
    {
        Ok(()) => {
            log::notice("DB reloaded by DEBUG RELOAD");
            ctx.out.ok();
        }
        Err(e) => {
            log::warning(&e);
            ctx.out
                .error("ERR Error trying to load the RDB dump, check server logs.");
        }
    }
}

// ------------------------------------------------------------------ DUMP / RESTORE

fn dump_cmd(ctx: &mut Ctx, argv: &[&[u8]]) {
    let compress = compression(ctx.srv);
    match ctx.ks.get(argv[1]) {
        None => ctx.out.null(),
        Some(e) => {
            let p = rdb::dump_payload(&e.value, compress);
            ctx.out.bulk(&p);
        }
    }
}

fn restore_cmd(ctx: &mut Ctx, argv: &[&[u8]]) {
    let key = argv[1];
    let (mut replace, mut absttl) = (false, false);
    let (mut idle, mut freq): (Option<i64>, Option<i64>) = (None, None);
    let mut j = 4;
    while j < argv.len() {
        let a = argv[j];
        let additional = argv.len() - j - 1;
        if eq_ic(a, "replace") {
            replace = true;
        } else if eq_ic(a, "absttl") {
            absttl = true;
        } else if eq_ic(a, "idletime") && additional >= 1 && freq.is_none() {
            j += 1;
            match parse_i64(argv[j]) {
                None => return ctx.out.error(ERR_NOT_INT),
                Some(v) if v < 0 => {
                    return ctx.out.error("ERR Invalid IDLETIME value, must be >= 0")
                }
                Some(v) => idle = Some(v),
            }
        } else if eq_ic(a, "freq") && additional >= 1 && idle.is_none() {
            j += 1;
            match parse_i64(argv[j]) {
                None => return ctx.out.error(ERR_NOT_INT),
                Some(v) if !(0..=255).contains(&v) => {
                    return ctx
                        .out
                        .error("ERR Invalid FREQ value, must be >= 0 and <= 255")
                }
                Some(v) => freq = Some(v),
            }
        } else {
            return ctx.out.error(ERR_SYNTAX);
        }
        j += 1;
    }
    if !replace && ctx.ks.exists(key) {
        return ctx.out.error("BUSYKEY Target key name already exists.");
    }
    let mut ttl = match parse_i64(argv[2]) {
        None => return ctx.out.error(ERR_NOT_INT),
        Some(t) if t < 0 => return ctx.out.error("ERR Invalid TTL value, must be >= 0"),
        Some(t) => t,
    };
    let Some(body) = rdb::verify_payload(argv[3]) else {
        return ctx
            .out
            .error("ERR DUMP payload version or checksum are wrong");
    };
    let value = match rdb::read_payload(body, &load_limits(ctx.srv)) {
        Ok(v) => v,
        Err(_) => return ctx.out.error("ERR Bad data format"),
    };
    let deleted = replace && ctx.ks.delete(key);
    let now = ctx.ks.now;
    if ttl > 0 && !absttl {
        ttl = ttl.saturating_add(now);
    }
    if ttl > 0 && ttl <= now && !spinel_keyspace::shard::loading() {
        if deleted {
            ctx.ks.notify(notify::GENERIC, "del", key);
            ctx.ks.add_dirty(1);
            let del = crate::propagate::del_name("lazyfree-lazy-server-del");
            crate::propagate::rewrite(&[del, key]);
        }
        return ctx.out.ok();
    }
    ctx.ks.set(key, value);
    if ttl > 0 {
        ctx.ks.set_expire(key, ttl);
        // A relative TTL is propagated as an absolute one (ABSTTL).
        if !absttl && crate::propagate::enabled() {
            let ms = crate::propagate::ms_arg(ttl);
            let mut v: Vec<&[u8]> = argv.to_vec();
            if let Some(t) = v.get_mut(2) {
                *t = &ms;
            }
            v.push(b"ABSTTL");
            crate::propagate::rewrite(&v);
        }
    }
    // objectSetLRUOrLFU: FREQ applies under an LFU policy, IDLETIME otherwise.
    let lfu = ctx.srv.config.maxmemory_policy().ends_with("-lfu");
    let clock = ctx.ks.lru_clock;
    let lru = match (freq, idle) {
        (Some(f), _) if lfu => Some(((((now / 1000 / 60) & 0xFFFF) as u32) << 8) | f as u32),
        (None, Some(i)) if !lfu => Some(idle_to_clock(clock, i as u64)),
        _ => None,
    };
    if let Some(l) = lru {
        if let Some(e) = ctx.ks.get_write(key) {
            e.lru = l;
        }
    }
    ctx.ks.notify(notify::GENERIC, "restore", key);
    ctx.ks.add_dirty(1);
    ctx.out.ok();
}

// ------------------------------------------------------------------ INFO

fn persistence_fields(srv: &'static Server) -> crate::info::Fields {
    let kv = |k: &str, v: String| (k.to_string(), v);
    let in_prog = STATE.bgsave_in_progress.load(Ordering::Relaxed);
    let cur = if in_prog {
        (now_ms() - STATE.bgsave_started_ms.load(Ordering::Relaxed)) / 1000
    } else {
        -1
    };
    let cow = if in_prog {
        snapshot::COW_BYTES.load(Ordering::Relaxed)
    } else {
        0
    };
    vec![
        kv("current_cow_size", cow.to_string()),
        kv("current_cow_peak", cow.to_string()),
        kv(
            "rdb_changes_since_last_save",
            srv.dirty.load(Ordering::Relaxed).to_string(),
        ),
        kv("rdb_bgsave_in_progress", (in_prog as u8).to_string()),
        kv(
            "rdb_last_save_time",
            srv.lastsave.load(Ordering::Relaxed).to_string(),
        ),
        kv(
            "rdb_last_bgsave_status",
            if STATE.last_bgsave_ok.load(Ordering::Relaxed) {
                "ok".into()
            } else {
                "err".into()
            },
        ),
        kv(
            "rdb_last_bgsave_time_sec",
            STATE
                .last_bgsave_time_sec
                .load(Ordering::Relaxed)
                .to_string(),
        ),
        kv("rdb_current_bgsave_time_sec", cur.to_string()),
        kv("rdb_saves", STATE.saves.load(Ordering::Relaxed).to_string()),
        kv(
            "rdb_last_cow_size",
            STATE.last_cow_size.load(Ordering::Relaxed).to_string(),
        ),
        kv(
            "rdb_last_load_keys_expired",
            STATE.last_load_expired.load(Ordering::Relaxed).to_string(),
        ),
        kv(
            "rdb_last_load_keys_loaded",
            STATE.last_load_loaded.load(Ordering::Relaxed).to_string(),
        ),
    ]
}
