//! BGREWRITEAOF without fork, turning the AOF on and off at run time, the
//! automatic rewrite, and the AOF state shown by `INFO persistence`.
//!
//! A rewrite takes one instant at which every shard is held (the snapshot
//! instant of `persist::snapshot`): there the writer switches to a new
//! incremental file (sequence + 1, recorded in the manifest at once, as
//! Redis's `openNewIncrAofForAppend`), so the new file holds exactly the
//! commands after the image. The image is then written in the background
//! as the new base (an RDB preamble with `aof-use-rdb-preamble yes`, else
//! commands), fsynced, renamed into the AOF directory, and the manifest is
//! replaced atomically with the new base + the newest incremental file;
//! the files it replaces become history and are deleted unless
//! `aof-disable-auto-gc yes`.
//!
//! Turning the AOF on (`CONFIG SET appendonly yes`) is a rewrite that
//! starts appending at its instant, to an incremental file the manifest
//! only lists once the base is complete (Redis's `AOF_WAIT_REWRITE`).

use super::load::Paths;
use super::manifest::{self, Manifest};
use super::writer;
use crate::log;
use crate::persist::rdb;
use crate::server::{now_ms, Server};
use parking_lot::Mutex;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicU8, Ordering};

/// `server.aof_state`.
const OFF: u8 = 0;
const ON: u8 = 1;
const WAIT_REWRITE: u8 = 2;

static AOF_STATE: AtomicU8 = AtomicU8::new(OFF);
static IN_PROGRESS: AtomicBool = AtomicBool::new(false);
static SCHEDULED: AtomicBool = AtomicBool::new(false);
static STARTED_MS: AtomicI64 = AtomicI64::new(0);
static LAST_TIME_SEC: AtomicI64 = AtomicI64::new(-1);
static LAST_OK: AtomicBool = AtomicBool::new(true);
static LAST_FAIL_MS: AtomicI64 = AtomicI64::new(0);
static REWRITES: AtomicU64 = AtomicU64::new(0);
static CONSECUTIVE_FAILURES: AtomicU64 = AtomicU64::new(0);
static LAST_COW: AtomicU64 = AtomicU64::new(0);
/// `aof_rewrite_base_size`: the AOF size right after the last rewrite
/// (or the base size after loading), for the automatic rewrite.
static REWRITE_BASE_SIZE: AtomicU64 = AtomicU64::new(0);
/// Bytes of the base and the incremental files before the current one.
static FROZEN_SIZE: AtomicU64 = AtomicU64::new(0);
static LOADING: AtomicBool = AtomicBool::new(false);
static LOADING_TOTAL: AtomicU64 = AtomicU64::new(0);
static LOADING_START: AtomicI64 = AtomicI64::new(0);
static CRON: std::sync::Once = std::sync::Once::new();

/// The manifest in force. Also serializes state changes (turning the AOF
/// on or off, a rewrite's switch and its completion).
static MANIFEST: Mutex<Option<Manifest>> = Mutex::new(None);

pub fn set_loading(on: bool, total: u64) {
    LOADING.store(on, Ordering::Relaxed);
    LOADING_TOTAL.store(total, Ordering::Relaxed);
    LOADING_START.store(now_ms() / 1000, Ordering::Relaxed);
}

pub fn loaded_sizes(total: u64, base: u64) {
    REWRITE_BASE_SIZE.store(base, Ordering::Relaxed);
    let _ = total;
}

pub fn install_manifest(am: Manifest) {
    *MANIFEST.lock() = Some(am);
}

pub fn enabled() -> bool {
    AOF_STATE.load(Ordering::Acquire) != OFF
}

pub fn in_progress() -> bool {
    IN_PROGRESS.load(Ordering::Acquire)
}

fn cfg_bool(srv: &Server, name: &str, def: bool) -> bool {
    srv.config.get_bool(name).unwrap_or(def)
}

fn size_of(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

/// `aof_current_size`.
pub fn current_size() -> u64 {
    FROZEN_SIZE.load(Ordering::Relaxed) + writer::incr_size()
}

/// Creates and opens a new incremental file (truncated, for appending).
fn open_new_incr(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(path)?;
    std::fs::OpenOptions::new().append(true).open(path)
}

fn mkdir(paths: &Paths) -> Result<(), String> {
    std::fs::create_dir_all(&paths.dir).map_err(|e| {
        format!(
            "Can't open or create append-only dir {}: {}",
            paths.dir.display(),
            e
        )
    })
}

// ------------------------------------------------------------------ base files

/// Writes `v`'s RESP multibulk form.
fn put_cmd(out: &mut Vec<u8>, argv: &[&[u8]]) {
    out.extend_from_slice(format!("*{}\r\n", argv.len()).as_bytes());
    for a in argv {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// Redis's `AOF_REWRITE_ITEMS_PER_CMD`.
const ITEMS_PER_CMD: usize = 64;

/// Emits `cmd key items...` in batches of [`ITEMS_PER_CMD`] elements
/// (`per` arguments each).
fn put_batched(out: &mut Vec<u8>, cmd: &[u8], key: &[u8], items: &[Vec<u8>], per: usize) {
    for chunk in items.chunks(ITEMS_PER_CMD * per) {
        let mut argv: Vec<&[u8]> = Vec::with_capacity(chunk.len() + 2);
        argv.push(cmd);
        argv.push(key);
        argv.extend(chunk.iter().map(|v| v.as_slice()));
        put_cmd(out, &argv);
    }
}

/// The commands that rebuild one key (`rewriteAppendOnlyFileRio`).
fn put_key(out: &mut Vec<u8>, key: &[u8], v: &spinel_keyspace::Value, expire: Option<i64>) {
    use spinel_keyspace::Value;
    match v {
        Value::Int(_) | Value::Str(_) | Value::Raw(_) => {
            let b = v.to_bytes().unwrap_or_default();
            put_cmd(out, &[b"SET", key, &b]);
        }
        Value::List(l) => {
            let items: Vec<Vec<u8>> = l.iter().map(|e| e.to_vec()).collect();
            put_batched(out, b"RPUSH", key, &items, 1);
        }
        Value::Set(s) => {
            let items: Vec<Vec<u8>> = s
                .iter()
                .map(|m| match m {
                    spinel_keyspace::set::Member::Int(i) => i.to_string().into_bytes(),
                    spinel_keyspace::set::Member::Str(b) => b.to_vec(),
                })
                .collect();
            put_batched(out, b"SADD", key, &items, 1);
        }
        Value::ZSet(z) => {
            let mut items = Vec::with_capacity(z.len() * 2);
            let mut buf = [0u8; 64];
            for (m, score) in z.iter() {
                let n = spinel_resp::format_double(score, &mut buf);
                items.push(buf.get(..n).unwrap_or(&[]).to_vec());
                items.push(m.to_vec());
            }
            put_batched(out, b"ZADD", key, &items, 2);
        }
        Value::Hash(h) => {
            let mut items = Vec::with_capacity(h.len() * 2);
            for (f, val) in h.iter() {
                items.push(f.to_vec());
                items.push(val.to_vec());
            }
            put_batched(out, b"HMSET", key, &items, 2);
        }
    }
    if let Some(t) = expire {
        put_cmd(out, &[b"PEXPIREAT", key, t.to_string().as_bytes()]);
    }
}

/// Converts an RDB image into the AOF commands that rebuild it (the base
/// file when `aof-use-rdb-preamble no`).
fn rdb_to_commands(srv: &Server, image: &[u8], w: &mut dyn Write) -> Result<(), String> {
    let lim = crate::persist::load_limits(srv);
    let mut cur_db: Option<usize> = None;
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 16);
    // `aof-timestamp-enabled`: the base starts with its time annotation.
    if cfg_bool(srv, "aof-timestamp-enabled", false) {
        buf.extend_from_slice(format!("#TS:{}\r\n", now_ms() / 1000).as_bytes());
    }
    let mut err: Option<std::io::Error> = None;
    let mut flush = |buf: &mut Vec<u8>, err: &mut Option<std::io::Error>| {
        if err.is_none() {
            if let Err(e) = w.write_all(buf) {
                *err = Some(e);
            }
        }
        buf.clear();
    };
    let out = std::cell::RefCell::new((&mut buf, &mut err));
    let r = {
        let mut sink = |db: usize, key: Vec<u8>, v: spinel_keyspace::Value, meta: rdb::KeyMeta| {
            let mut g = out.borrow_mut();
            let (b, e) = &mut *g;
            if cur_db != Some(db) {
                put_cmd(b, &[b"SELECT", db.to_string().as_bytes()]);
                cur_db = Some(db);
            }
            put_key(b, &key, &v, meta.expire);
            if b.len() >= 1 << 16 {
                flush(b, e);
            }
            Ok(())
        };
        let mut functions = |code: Vec<u8>| {
            let mut g = out.borrow_mut();
            put_cmd(g.0, &[b"FUNCTION", b"LOAD", &code]);
            Ok(())
        };
        rdb::load(
            image,
            &lim,
            srv.ks.ndbs(),
            now_ms(),
            &mut sink,
            &mut functions,
            &mut |_| {},
        )
    };
    let (b, e) = out.into_inner();
    if e.is_none() {
        if let Err(x) = w.write_all(b) {
            *e = Some(x);
        }
    }
    if let Some(x) = e.take() {
        return Err(x.to_string());
    }
    r.map(|_| ())
        .map_err(|e| crate::persist::describe("(rewrite)", &e).join(" "))
}

/// Writes the base image to `path` and fsyncs it. `image` streams the RDB
/// form of the dataset into a writer.
fn write_base(
    srv: &Server,
    path: &Path,
    rdb_preamble: bool,
    image: &mut dyn FnMut(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), String> {
    let res = (|| -> Result<(), String> {
        let f = std::fs::File::create(path).map_err(|e| e.to_string())?;
        let mut w = std::io::BufWriter::with_capacity(1 << 16, f);
        if rdb_preamble {
            image(&mut w).map_err(|e| e.to_string())?;
        } else {
            // The image goes to a scratch file first (mapped, not held in
            // the heap), then becomes commands.
            let scratch = path.with_extension("rdb-image");
            let r = (|| -> Result<(), String> {
                let f = std::fs::File::create(&scratch).map_err(|e| e.to_string())?;
                let mut sw = std::io::BufWriter::with_capacity(1 << 16, f);
                image(&mut sw).map_err(|e| e.to_string())?;
                sw.flush().map_err(|e| e.to_string())?;
                drop(sw);
                let img = crate::persist::FileBytes::open(&scratch.to_string_lossy())
                    .map_err(|e| e.to_string())?;
                rdb_to_commands(srv, img.as_slice(), &mut w)
            })();
            let _ = std::fs::remove_file(&scratch);
            r?;
        }
        w.flush().map_err(|e| e.to_string())?;
        let f = w.into_inner().map_err(|e| e.to_string())?;
        f.sync_all().map_err(|e| e.to_string())
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(path);
    }
    res
}

// ------------------------------------------------------------------ start-up

/// `aofOpenIfNeededOnServerStart`: with nothing loaded, writes a base of
/// the current (start-up) dataset; opens the last incremental file (a new
/// one when there is none), persists the manifest and attaches the writer.
pub fn open_on_start(srv: &'static Server, paths: &Paths, am: &mut Manifest) -> Result<(), String> {
    mkdir(paths)?;
    let created = am.base.is_none() && am.incr.is_empty();
    if created {
        let preamble = cfg_bool(srv, "aof-use-rdb-preamble", true);
        let name = am.new_base(&paths.filename, preamble);
        let functions = crate::script::library_codes();
        let shards = crate::persist::lock_all(srv);
        let r = write_base(srv, &paths.file(&name), preamble, &mut |w| {
            crate::persist::serialize_locked(srv, &shards, &functions, &mut |b| w.write_all(b))
        });
        drop(shards);
        r.map_err(|e| format!("Error writing the AOF base file {}: {}", name, e))?;
        log::notice(&format!("Creating AOF base file {} on server start", name));
    }
    let existed = !am.incr.is_empty();
    let name = am.last_incr(&paths.filename);
    let path = paths.file(&name);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| format!("Can't open the append-only file {}: {}", name, e))?;
    manifest::persist(&paths.dir, &paths.filename, am)
        .map_err(|e| format!("Can't persist the AOF manifest file: {}", e))?;
    let base = am
        .base
        .as_ref()
        .map(|b| size_of(&paths.file(&b.name)))
        .unwrap_or(0);
    let older: u64 = am
        .incr
        .iter()
        .take(am.incr.len().saturating_sub(1))
        .map(|i| size_of(&paths.file(&i.name)))
        .sum();
    // Like Redis, a base created here is not counted in aof_current_size
    // (nothing was loaded) until the next rewrite.
    FROZEN_SIZE.store(if created { 0 } else { base + older }, Ordering::Relaxed);
    writer::attach(srv, file, path)
        .map_err(|e| format!("Can't open the append-only file {}: {}", name, e))?;
    AOF_STATE.store(ON, Ordering::Release);
    if existed {
        log::notice(&format!("Opening AOF incr file {} on server start", name));
    } else {
        log::notice(&format!("Creating AOF incr file {} on server start", name));
    }
    start_cron(srv);
    Ok(())
}

/// `aofDelHistoryFiles`: deletes the history files (unless
/// `aof-disable-auto-gc yes`) and persists the manifest without them.
pub fn del_history(srv: &Server, paths: &Paths, am: &mut Manifest) {
    if cfg_bool(srv, "aof-disable-auto-gc", false) || am.history.is_empty() {
        return;
    }
    for h in am.history.drain(..) {
        log::notice(&format!(
            "Removing the history file {} in the background",
            h.name
        ));
        let _ = std::fs::remove_file(paths.file(&h.name));
    }
    if let Err(e) = manifest::persist(&paths.dir, &paths.filename, am) {
        log::warning(&format!("Can't persist the AOF manifest file: {}", e));
    }
}

// ------------------------------------------------------------------ rewrite

/// What BGREWRITEAOF did.
pub enum Started {
    Started,
    Scheduled,
}

/// `rewriteAppendOnlyFileBackground` as BGREWRITEAOF calls it.
pub fn bgrewrite(srv: &'static Server) -> Result<Started, &'static str> {
    if in_progress() {
        return Err("ERR Background append only file rewriting already in progress");
    }
    if crate::persist::STATE
        .bgsave_in_progress
        .load(Ordering::Acquire)
    {
        SCHEDULED.store(true, Ordering::Release);
        start_cron(srv);
        return Ok(Started::Scheduled);
    }
    if start(srv) {
        Ok(Started::Started)
    } else {
        Err("ERR Can't execute an AOF background rewriting. Please check the server logs for more information.")
    }
}

/// Claims the rewrite and starts its thread.
fn start(srv: &'static Server) -> bool {
    if IN_PROGRESS
        .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        return false;
    }
    SCHEDULED.store(false, Ordering::Release);
    STARTED_MS.store(now_ms(), Ordering::Relaxed);
    start_cron(srv);
    let spawned = std::thread::Builder::new()
        .name("spinel-aofrw".into())
        .spawn(move || run(srv));
    if spawned.is_err() {
        IN_PROGRESS.store(false, Ordering::Release);
        return false;
    }
    true
}

/// The incremental file opened at the rewrite's instant.
struct Switch {
    /// Its name, and whether the manifest does not list it yet (the AOF is
    /// being turned on).
    incr: Option<(String, bool)>,
    /// [`GENERATION`] at the instant.
    gen: u64,
}

/// Bumped each time the AOF is turned off: a temporary incremental file
/// opened before that is stale.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// At the instant (every shard held): switch the writer to a new
/// incremental file (`openNewIncrAofForAppend`).
fn switch_at_instant(srv: &'static Server, paths: &Paths) -> Result<Switch, String> {
    let mut guard = MANIFEST.lock();
    let state = AOF_STATE.load(Ordering::Acquire);
    if state == OFF {
        return Ok(Switch {
            incr: None,
            gen: GENERATION.load(Ordering::Acquire),
        });
    }
    let mut am = guard.clone().unwrap_or_default();
    // Turning the AOF on: a temporary file, named in the manifest once
    // the base is complete.
    let name = if state == WAIT_REWRITE {
        manifest::temp_incr_name(&paths.filename)
    } else {
        am.new_incr(&paths.filename)
    };
    let path = paths.file(&name);
    let file = open_new_incr(&path)
        .map_err(|e| format!("Can't open the append-only file {}: {}", name, e))?;
    if state == ON {
        manifest::persist(&paths.dir, &paths.filename, &am).map_err(|e| {
            let _ = std::fs::remove_file(&path);
            format!("Can't persist the AOF manifest file: {}", e)
        })?;
    }
    let old = writer::incr_path();
    writer::attach(srv, file, path).map_err(|e| e.to_string())?;
    if state == ON {
        // The previous file's final size (attach wrote what was pending).
        let before = old.map(|p| size_of(&p)).unwrap_or(0);
        FROZEN_SIZE.fetch_add(before, Ordering::Relaxed);
        *guard = Some(am);
    }
    log::notice(&format!(
        "Creating AOF incr file {} on background rewrite",
        name
    ));
    Ok(Switch {
        incr: Some((name, state == WAIT_REWRITE)),
        gen: GENERATION.load(Ordering::Acquire),
    })
}

fn run(srv: &'static Server) {
    let t0 = std::time::Instant::now();
    let paths = Paths::of(srv);
    let res = rewrite(srv, &paths);
    let secs = t0.elapsed().as_secs() as i64;
    LAST_TIME_SEC.store(secs, Ordering::Relaxed);
    match res {
        Ok(()) => {
            LAST_OK.store(true, Ordering::Relaxed);
            REWRITES.fetch_add(1, Ordering::Relaxed);
            CONSECUTIVE_FAILURES.store(0, Ordering::Relaxed);
            log::notice("Background AOF rewrite finished successfully");
        }
        Err(e) => {
            log::warning(&e);
            log::warning("Background AOF rewrite terminated with error");
            LAST_OK.store(false, Ordering::Relaxed);
            LAST_FAIL_MS.store(now_ms(), Ordering::Relaxed);
            CONSECUTIVE_FAILURES.fetch_add(1, Ordering::Relaxed);
            // Turning the AOF on retries until it works.
            if AOF_STATE.load(Ordering::Acquire) == WAIT_REWRITE {
                SCHEDULED.store(true, Ordering::Release);
            }
        }
    }
    IN_PROGRESS.store(false, Ordering::Release);
}

fn rewrite(srv: &'static Server, paths: &Paths) -> Result<(), String> {
    mkdir(paths)?;
    let preamble = cfg_bool(srv, "aof-use-rdb-preamble", true);
    let tmp = format!("temp-rewriteaof-bg-{}.aof", std::process::id());
    let mut switched: Option<Result<Switch, String>> = None;
    let slot = std::sync::Arc::new(Mutex::new(None::<Result<Switch, String>>));
    let s2 = slot.clone();
    let p2 = Paths::of(srv);
    // Commands in exclusive mode lock shards lazily in any order: while
    // this thread takes every shard, no command may run (the thread locks,
    // taken before any shard as workers do). Released at the instant.
    // A running BGSAVE is waited for first so clients are not held up.
    crate::persist::snapshot::wait_bgsave();
    let exclusive = crate::locks::Locks::exclusive(&srv.ks, &srv.thread_locks);
    crate::persist::at_next_instant(Box::new(move || {
        let r = switch_at_instant(srv, &p2);
        drop(exclusive);
        if r.is_ok() {
            log::notice(&format!(
                "Background append only file rewriting started by pid {}",
                std::process::id()
            ));
        }
        *s2.lock() = Some(r);
    }));
    let written = write_base(srv, Path::new(&tmp), preamble, &mut |w| {
        // The image's copy-on-write size is the rewrite's, not a BGSAVE's.
        let st = &crate::persist::STATE;
        let prev = st.last_cow_size.load(Ordering::Relaxed);
        let r = crate::persist::snapshot::stream_snapshot(srv, w);
        let cow = st.last_cow_size.swap(prev, Ordering::Relaxed);
        LAST_COW.store(cow, Ordering::Relaxed);
        r
    });
    crate::persist::clear_next_instant();
    if let Some(s) = slot.lock().take() {
        switched = Some(s);
    }
    let sw = match switched {
        Some(Ok(s)) => s,
        Some(Err(e)) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        None => {
            let _ = std::fs::remove_file(&tmp);
            return Err(written.err().unwrap_or_else(|| "no snapshot taken".into()));
        }
    };
    let fail_wait = |sw: &Switch| {
        if let Some((name, true)) = &sw.incr {
            // Turning the AOF on failed: stop appending to the file no
            // manifest lists.
            let _g = MANIFEST.lock();
            if AOF_STATE.load(Ordering::Acquire) == WAIT_REWRITE {
                let _ = writer::detach();
            }
            let _ = std::fs::remove_file(paths.file(name));
        }
    };
    if let Err(e) = written {
        fail_wait(&sw);
        return Err(format!("Error writing the AOF base file: {}", e));
    }
    log::notice(&format!(
        "Successfully created the temporary AOF base file {}",
        tmp
    ));
    log::notice("Background AOF rewrite terminated with success");
    // Install: the new base, the new incremental file, history.
    let mut guard = MANIFEST.lock();
    let state = AOF_STATE.load(Ordering::Acquire);
    let mut am = guard.clone().unwrap_or_default();
    let base = am.new_base(&paths.filename, preamble);
    let mut renamed_incr = None;
    if let Some((temp, true)) = &sw.incr {
        if state != WAIT_REWRITE || sw.gen != GENERATION.load(Ordering::Acquire) {
            // The AOF was turned off (and maybe on again) meanwhile.
            let _ = std::fs::remove_file(paths.file(temp));
        } else {
            let name = am.new_incr(&paths.filename);
            if let Err(e) = std::fs::rename(paths.file(temp), paths.file(&name)) {
                drop(guard);
                let _ = std::fs::remove_file(&tmp);
                fail_wait(&sw);
                return Err(format!(
                    "Error trying to rename the temporary AOF incr file {} into {}: {}",
                    temp, name, e
                ));
            }
            renamed_incr = Some((temp.clone(), name));
        }
    }
    // The newest incremental file stays only when it is the one opened at
    // this rewrite's instant (it holds exactly what follows the image).
    let keep = match &sw.incr {
        Some((n, false)) => am.incr.last().is_some_and(|l| &l.name == n),
        Some((_, true)) => renamed_incr.is_some(),
        None => false,
    };
    am.mark_rewritten_incr_as_history(state != OFF && keep);
    if state == OFF {
        // The AOF was turned off meanwhile: the base alone.
        for i in am.incr.drain(..) {
            am.history.push(manifest::AofInfo {
                kind: manifest::FileType::History,
                ..i
            });
        }
    }
    let base_path = paths.file(&base);
    if let Err(e) = std::fs::rename(&tmp, &base_path) {
        drop(guard);
        let _ = std::fs::remove_file(&tmp);
        fail_wait(&sw);
        return Err(format!(
            "Error trying to rename the temporary AOF base file {} into {}: {}",
            tmp, base, e
        ));
    }
    if let Err(e) = manifest::persist(&paths.dir, &paths.filename, &am) {
        let _ = std::fs::remove_file(&base_path);
        drop(guard);
        fail_wait(&sw);
        return Err(format!("Can't persist the AOF manifest file: {}", e));
    }
    log::notice(&format!(
        "Successfully renamed the temporary AOF base file {} into {}",
        tmp, base
    ));
    if let Some((temp, name)) = &renamed_incr {
        log::notice(&format!(
            "Successfully renamed the temporary AOF incr file {} into {}",
            temp, name
        ));
    }
    let base_size = size_of(&base_path);
    FROZEN_SIZE.store(base_size, Ordering::Relaxed);
    REWRITE_BASE_SIZE.store(base_size + writer::incr_size(), Ordering::Relaxed);
    if renamed_incr.is_some() {
        AOF_STATE.store(ON, Ordering::Release);
    }
    del_history(srv, paths, &mut am);
    *guard = Some(am);
    Ok(())
}

// ------------------------------------------------------------------ on / off

/// `CONFIG SET appendonly`: starts (`startAppendOnly`) or stops
/// (`stopAppendOnly`) the AOF.
pub fn config_changed(srv: &'static Server, name: &str) {
    if name != "appendonly" {
        return;
    }
    if srv.config.appendonly() {
        start_append_only(srv);
    } else {
        stop_append_only();
    }
}

/// After a replica loaded a new dataset from its master (Redis's
/// `restartAOFAfterSYNC`): the AOF starts over from a new base.
pub fn restart_after_sync(srv: &'static Server) {
    if enabled() {
        stop_append_only();
        start_append_only(srv);
    }
}

fn start_append_only(srv: &'static Server) {
    {
        let _g = MANIFEST.lock();
        if AOF_STATE.load(Ordering::Acquire) != OFF {
            return;
        }
        AOF_STATE.store(WAIT_REWRITE, Ordering::Release);
    }
    if in_progress() {
        log::warning("AOF was enabled but there is already an AOF rewriting in background. Stopping background AOF and starting a rewrite now.");
        SCHEDULED.store(true, Ordering::Release);
        start_cron(srv);
    } else if crate::persist::STATE
        .bgsave_in_progress
        .load(Ordering::Acquire)
    {
        log::warning("AOF was enabled but there is already another background operation. An AOF background was scheduled to start when possible.");
        SCHEDULED.store(true, Ordering::Release);
        start_cron(srv);
    } else if !start(srv) {
        log::warning("Redis needs to enable the AOF but can't trigger a background AOF rewrite operation. Check the above logs for more info about the error.");
        AOF_STATE.store(OFF, Ordering::Release);
    }
}

fn stop_append_only() {
    let _g = MANIFEST.lock();
    if AOF_STATE.load(Ordering::Acquire) == OFF {
        return;
    }
    if let Err(e) = writer::detach() {
        log::warning(&format!("Error flushing the AOF on disk: {}", e));
    }
    GENERATION.fetch_add(1, Ordering::AcqRel);
    AOF_STATE.store(OFF, Ordering::Release);
    SCHEDULED.store(false, Ordering::Release);
}

/// SHUTDOWN: everything appended so far reaches the disk.
pub fn shutdown(_srv: &'static Server) {
    if in_progress() {
        log::warning("There is a child rewriting the AOF. Killing it!");
        let _ = std::fs::remove_file(format!("temp-rewriteaof-bg-{}.aof", std::process::id()));
    }
    if !enabled() {
        return;
    }
    log::notice("Calling fsync() on the AOF file.");
    if let Err(e) = writer::flush_sync() {
        log::warning(&format!("Error flushing the AOF on disk: {}", e));
    }
}

// ------------------------------------------------------------------ cron

fn start_cron(srv: &'static Server) {
    CRON.call_once(|| {
        let _ = std::thread::Builder::new()
            .name("spinel-aofcron".into())
            .spawn(move || cron(srv));
    });
}

/// Ten times a second: starts a scheduled rewrite once no BGSAVE runs, and
/// the automatic rewrite (`auto-aof-rewrite-percentage/min-size`).
fn cron(srv: &'static Server) {
    loop {
        std::thread::sleep(std::time::Duration::from_millis(100));
        if srv.shutdown_requested.load(Ordering::Relaxed) {
            return;
        }
        if in_progress()
            || crate::persist::STATE
                .bgsave_in_progress
                .load(Ordering::Acquire)
        {
            continue;
        }
        if SCHEDULED.load(Ordering::Acquire) {
            if LAST_OK.load(Ordering::Relaxed)
                || now_ms() - LAST_FAIL_MS.load(Ordering::Relaxed) > 1000
            {
                start(srv);
            }
            continue;
        }
        if AOF_STATE.load(Ordering::Acquire) != ON {
            continue;
        }
        let perc = srv
            .config
            .get_i64("auto-aof-rewrite-percentage")
            .unwrap_or(100);
        let min = srv
            .config
            .get_i64("auto-aof-rewrite-min-size")
            .unwrap_or(64 << 20)
            .max(0) as u64;
        let cur = current_size();
        if perc <= 0 || cur <= min {
            continue;
        }
        // After a failure, wait a bit before trying again.
        if !LAST_OK.load(Ordering::Relaxed)
            && now_ms() - LAST_FAIL_MS.load(Ordering::Relaxed) < 60_000
        {
            continue;
        }
        let base = REWRITE_BASE_SIZE.load(Ordering::Relaxed).max(1);
        let growth = (cur * 100 / base) as i64 - 100;
        if growth >= perc {
            log::notice(&format!(
                "Starting automatic rewriting of AOF on {}% growth",
                growth
            ));
            start(srv);
        }
    }
}

// ------------------------------------------------------------------ INFO

/// The AOF fields of `INFO persistence`.
pub fn info_fields(_srv: &'static Server) -> Vec<(String, String)> {
    let kv = |k: &str, v: String| (k.to_string(), v);
    let on = AOF_STATE.load(Ordering::Acquire) != OFF;
    // Scheduled first: a rewrite starting meanwhile sets in-progress
    // before it clears scheduled, so the pair never reads (0, 0) then.
    let scheduled = SCHEDULED.load(Ordering::Acquire);
    let prog = in_progress();
    let cur = if prog {
        (now_ms() - STARTED_MS.load(Ordering::Relaxed)) / 1000
    } else {
        -1
    };
    let mut v = Vec::new();
    if prog {
        // The rewrite's image holds the snapshot slot; it is not a BGSAVE.
        v.push(kv("rdb_bgsave_in_progress", "0".into()));
        v.push(kv("rdb_current_bgsave_time_sec", "-1".into()));
    }
    if LOADING.load(Ordering::Relaxed) {
        v.push(kv("loading", "1".into()));
        v.push(kv(
            "loading_start_time",
            LOADING_START.load(Ordering::Relaxed).to_string(),
        ));
        v.push(kv(
            "loading_total_bytes",
            LOADING_TOTAL.load(Ordering::Relaxed).to_string(),
        ));
    }
    v.extend([
        kv("aof_enabled", (on as u8).to_string()),
        kv("aof_rewrite_in_progress", (prog as u8).to_string()),
        kv("aof_rewrite_scheduled", (scheduled as u8).to_string()),
        kv(
            "aof_last_rewrite_time_sec",
            LAST_TIME_SEC.load(Ordering::Relaxed).to_string(),
        ),
        kv("aof_current_rewrite_time_sec", cur.to_string()),
        kv(
            "aof_last_bgrewrite_status",
            if LAST_OK.load(Ordering::Relaxed) {
                "ok".into()
            } else {
                "err".into()
            },
        ),
        kv("aof_rewrites", REWRITES.load(Ordering::Relaxed).to_string()),
        kv(
            "aof_rewrites_consecutive_failures",
            CONSECUTIVE_FAILURES.load(Ordering::Relaxed).to_string(),
        ),
        kv("aof_last_write_status", writer::last_write_status().into()),
        kv(
            "aof_last_cow_size",
            LAST_COW.load(Ordering::Relaxed).to_string(),
        ),
    ]);
    if on {
        v.push(kv("aof_current_size", current_size().to_string()));
        v.push(kv(
            "aof_base_size",
            REWRITE_BASE_SIZE.load(Ordering::Relaxed).to_string(),
        ));
        v.push(kv("aof_pending_rewrite", "0".into()));
        v.push(kv("aof_buffer_length", writer::buffer_length().to_string()));
        v.push(kv("aof_pending_bio_fsync", "0".into()));
        v.push(kv("aof_delayed_fsync", writer::delayed_fsync().to_string()));
    }
    v
}
