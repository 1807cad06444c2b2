//! The AOF writer: the append buffer that propagation feeds, and the
//! background thread that writes it to the current incremental file.
//!
//! Commands append their records to one shared buffer while they still hold
//! their shard locks (see `propagate`), so the buffer's order is the order of
//! effects on every key. A background thread (`spinel-aof`) swaps the buffer
//! out, writes it, and fsyncs according to `appendfsync`:
//!
//! - `always`: every batch is fsynced before anyone is told it is durable.
//!   Replies wait for it (group commit): before a worker writes a batch of
//!   replies to its sockets it awaits [`reply_barrier`], which returns once
//!   the fsynced position covers everything that worker appended. Other
//!   connections on the worker keep running meanwhile, and every record
//!   appended while one fsync runs shares the next one.
//! - `everysec`: written as soon as possible, fsynced once a second.
//! - `no`: written, fsync left to the kernel.
//!
//! Positions are byte offsets in the stream of everything ever appended
//! (across files), so "durable up to" is one comparison.
//!
//! Write errors follow Redis: with `always` the server cannot keep its
//! promise and exits; otherwise the unwritten bytes stay buffered, the
//! writer retries, `aof_last_write_status` turns to `err`, and write
//! commands are refused with `MISCONF Errors writing to the AOF file: ...`
//! until a write succeeds again.

use crate::log;
use crate::server::Server;
use parking_lot::{Condvar, Mutex};
use std::cell::Cell;
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The append side, taken by commands under their shard locks.
struct Append {
    buf: Vec<u8>,
    /// Total bytes ever appended (the end position of `buf`).
    produced: u64,
    /// Database the stream last selected (-1: none yet in this file).
    selected_db: i64,
    /// Unix seconds of the last `#TS:` annotation.
    cur_ts: i64,
}

/// The file side, taken by the background thread and by attach/detach.
/// Lock order: `io` before `append`.
struct Io {
    file: Option<File>,
    path: PathBuf,
    /// Bytes in the current incremental file.
    size: u64,
}

struct Writer {
    append: Mutex<Append>,
    io: Mutex<Io>,
    /// Wakes the background thread.
    kick: Condvar,
    kick_lock: Mutex<bool>,
    /// Appending is on (an incremental file is attached).
    active: AtomicBool,
    /// Mirrors `Io::size` for lock-free readers.
    size: AtomicU64,
    /// Mirrors `Append::buf.len()` (INFO aof_buffer_length).
    buffered: AtomicU64,
    /// Stream position known to be on disk (fsynced).
    synced: AtomicU64,
    /// Stream position written to the file (maybe not fsynced).
    written: AtomicU64,
    /// Tells async waiters that `synced` moved.
    synced_notify: tokio::sync::Notify,
    /// 0 when the last write succeeded, else its errno (or -1 unknown).
    write_errno: AtomicI32,
    /// Last background fsync failed (errno), 0 if fine.
    fsync_errno: AtomicI32,
    /// Writes postponed because an fsync was in progress (always 0 here:
    /// fsync and write are done by the same thread, in order).
    delayed_fsync: AtomicU64,
}

static WRITER: OnceLock<Writer> = OnceLock::new();
static THREAD: OnceLock<()> = OnceLock::new();
/// Buffered bytes that wake the background thread early.
const KICK_BYTES: u64 = 4 << 20;
/// How often the background thread writes without being asked.
const WRITE_INTERVAL: Duration = Duration::from_millis(5);

/// `aof-timestamp-enabled`, refreshed by the background thread (and on
/// attach) so appending never looks a config name up.
static TIMESTAMPS: AtomicBool = AtomicBool::new(false);

fn refresh_config(srv: &Server) {
    let ts = srv
        .config
        .get_bool("aof-timestamp-enabled")
        .unwrap_or(false);
    TIMESTAMPS.store(ts, Ordering::Relaxed);
}

thread_local! {
    /// The stream position this thread's commands last appended up to:
    /// what its pending replies must wait for under `appendfsync always`.
    static LAST: Cell<u64> = const { Cell::new(0) };
}

fn w() -> &'static Writer {
    WRITER.get_or_init(|| Writer {
        append: Mutex::new(Append {
            buf: Vec::new(),
            produced: 0,
            selected_db: -1,
            cur_ts: 0,
        }),
        io: Mutex::new(Io {
            file: None,
            path: PathBuf::new(),
            size: 0,
        }),
        kick: Condvar::new(),
        kick_lock: Mutex::new(false),
        active: AtomicBool::new(false),
        size: AtomicU64::new(0),
        buffered: AtomicU64::new(0),
        synced: AtomicU64::new(0),
        written: AtomicU64::new(0),
        synced_notify: tokio::sync::Notify::new(),
        write_errno: AtomicI32::new(0),
        fsync_errno: AtomicI32::new(0),
        delayed_fsync: AtomicU64::new(0),
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Fsync {
    Always,
    EverySec,
    No,
}

fn policy(srv: &Server) -> Fsync {
    match srv.config.appendfsync() {
        "always" => Fsync::Always,
        "no" => Fsync::No,
        _ => Fsync::EverySec,
    }
}

fn server() -> Option<&'static Server> {
    crate::server::get()
}

// ------------------------------------------------------------------ public API

/// Starts appending to `file`, an incremental AOF file opened for append,
/// at `path`. Anything still buffered for a previous file is written and
/// fsynced to that file first. The stream's selected db is forgotten, so the
/// next record in the new file starts with a `SELECT`.
///
/// Must be called with every shard held (exclusive mode) or before clients
/// are accepted: no command may be appending meanwhile.
///
/// If what is buffered cannot be written to the previous file, nothing
/// changes (the previous file stays attached) and the error is returned:
/// those records belong before the switch (a rewrite's base already holds
/// their effects), never in the new file.
pub fn attach(srv: &'static Server, file: File, path: PathBuf) -> std::io::Result<()> {
    let wr = w();
    start_thread(srv)?;
    refresh_config(srv);
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut io = wr.io.lock();
    if io.file.is_some() {
        flush_locked(wr, &mut io, true)?;
    }
    let mut ap = wr.append.lock();
    if io.file.is_none() && !wr.active.load(Ordering::Acquire) {
        // Nothing was attached: nothing buffered belongs anywhere.
        ap.buf.clear();
        wr.buffered.store(0, Ordering::Relaxed);
    }
    io.file = Some(file);
    io.path = path;
    io.size = size;
    wr.size.store(size, Ordering::Relaxed);
    ap.selected_db = -1;
    ap.cur_ts = 0;
    wr.active.store(true, Ordering::Release);
    drop(ap);
    drop(io);
    kick();
    Ok(())
}

/// Writes and fsyncs what is buffered, then stops appending
/// (`appendonly no`). The buffer is dropped if it cannot be written.
pub fn detach() -> std::io::Result<()> {
    let wr = w();
    let mut io = wr.io.lock();
    let res = flush_locked(wr, &mut io, true);
    let mut ap = wr.append.lock();
    wr.active.store(false, Ordering::Release);
    ap.buf.clear();
    ap.selected_db = -1;
    wr.buffered.store(0, Ordering::Relaxed);
    // Nobody may wait for records that will never reach a file.
    wr.synced.fetch_max(ap.produced, Ordering::AcqRel);
    wr.written.fetch_max(ap.produced, Ordering::AcqRel);
    drop(ap);
    io.file = None;
    io.size = 0;
    wr.size.store(0, Ordering::Relaxed);
    drop(io);
    wr.synced_notify.notify_waiters();
    res
}

/// Whether commands are being appended (an incremental file is attached).
#[inline]
pub fn active() -> bool {
    match WRITER.get() {
        Some(wr) => wr.active.load(Ordering::Acquire),
        None => false,
    }
}

/// Writes everything buffered so far and fsyncs it (shutdown, BGREWRITEAOF
/// switching files, `appendonly no`).
pub fn flush_sync() -> std::io::Result<()> {
    let Some(wr) = WRITER.get() else {
        return Ok(());
    };
    let mut io = wr.io.lock();
    flush_locked(wr, &mut io, true)
}

/// Bytes in the current incremental file (written, not counting the buffer):
/// for auto-rewrite and `aof_current_size`.
pub fn incr_size() -> u64 {
    WRITER
        .get()
        .map(|wr| wr.size.load(Ordering::Relaxed))
        .unwrap_or(0)
}

/// Path of the incremental file being appended to, if any.
pub fn incr_path() -> Option<PathBuf> {
    let wr = WRITER.get()?;
    let io = wr.io.lock();
    io.file.as_ref().map(|_| io.path.clone())
}

/// INFO persistence: `aof_last_write_status` (`ok` / `err`).
pub fn last_write_status() -> &'static str {
    match WRITER.get() {
        Some(wr)
            if wr.write_errno.load(Ordering::Relaxed) != 0
                || wr.fsync_errno.load(Ordering::Relaxed) != 0 =>
        {
            "err"
        }
        _ => "ok",
    }
}

/// INFO persistence: `aof_buffer_length` (bytes appended, not yet written).
pub fn buffer_length() -> u64 {
    WRITER
        .get()
        .map(|wr| wr.buffered.load(Ordering::Relaxed))
        .unwrap_or(0)
}

/// INFO persistence: `aof_delayed_fsync`.
pub fn delayed_fsync() -> u64 {
    WRITER
        .get()
        .map(|wr| wr.delayed_fsync.load(Ordering::Relaxed))
        .unwrap_or(0)
}

/// The writer's INFO persistence fields, in Redis's order where they appear
/// among the `aof_*` lines shown while AOF is on (`aof_buffer_length`,
/// `aof_delayed_fsync`) plus `aof_last_write_status`.
pub fn info_fields() -> Vec<(&'static str, String)> {
    vec![
        ("aof_last_write_status", last_write_status().to_string()),
        ("aof_buffer_length", buffer_length().to_string()),
        ("aof_delayed_fsync", delayed_fsync().to_string()),
    ]
}

/// Redis's `writeCommandsDeniedByDiskError` for the AOF: after a failed
/// write (or background fsync) write commands are refused until a write
/// succeeds again.
pub fn write_denied_error() -> Option<String> {
    let wr = WRITER.get()?;
    if !wr.active.load(Ordering::Relaxed) {
        return None;
    }
    let e = match wr.write_errno.load(Ordering::Relaxed) {
        0 => wr.fsync_errno.load(Ordering::Relaxed),
        e => e,
    };
    if e == 0 {
        return None;
    }
    Some(format!(
        "MISCONF Errors writing to the AOF file: {}",
        strerror(e)
    ))
}

// ------------------------------------------------------------ feeding

/// Appends one execution unit's records. `f` writes into the buffer through
/// a [`Feed`], which inserts `SELECT` and `#TS:` annotations as Redis's
/// `feedAppendOnlyFile` does. Called by `propagate` with the shard locks of
/// the command still held. Returns false (and writes nothing) when the AOF
/// is off.
pub fn feed(f: impl FnOnce(&mut Feed)) -> bool {
    let Some(wr) = WRITER.get() else {
        return false;
    };
    if !wr.active.load(Ordering::Acquire) {
        return false;
    }
    let ts = TIMESTAMPS.load(Ordering::Relaxed);
    let mut ap = wr.append.lock();
    if !wr.active.load(Ordering::Acquire) {
        return false;
    }
    let before = ap.buf.len() as u64;
    let mut fd = Feed {
        ap: &mut ap,
        timestamps: ts,
    };
    f(&mut fd);
    let len = ap.buf.len() as u64;
    let end = ap.produced;
    drop(ap);
    wr.buffered.store(len, Ordering::Relaxed);
    LAST.with(|l| l.set(end));
    // The background thread writes on its own schedule (every few ms) or
    // when a reply waits for an fsync (`reply_barrier` kicks it); a wake-up
    // per command would cost a syscall each. A large buffer is written now.
    if before < KICK_BYTES && len >= KICK_BYTES {
        kick();
    }
    true
}

/// Writes records into the append buffer (see [`feed`]).
pub struct Feed<'a> {
    ap: &'a mut Append,
    timestamps: bool,
}

impl Feed<'_> {
    /// One command. `db` is the database it runs in, or `None` for records
    /// that must not cause a `SELECT` (MULTI / EXEC).
    pub fn command(&mut self, db: Option<usize>, argv: &[&[u8]]) {
        let start = self.ap.buf.len();
        self.annotate();
        if let Some(db) = db {
            if db as i64 != self.ap.selected_db {
                let d = db.to_string();
                encode(&mut self.ap.buf, &[b"SELECT", d.as_bytes()]);
                self.ap.selected_db = db as i64;
            }
        }
        encode(&mut self.ap.buf, argv);
        self.ap.produced += (self.ap.buf.len() - start) as u64;
    }

    /// A command already encoded as RESP (see [`encode`]).
    pub fn encoded(&mut self, db: Option<usize>, resp: &[u8]) {
        let start = self.ap.buf.len();
        self.annotate();
        if let Some(db) = db {
            if db as i64 != self.ap.selected_db {
                let d = db.to_string();
                encode(&mut self.ap.buf, &[b"SELECT", d.as_bytes()]);
                self.ap.selected_db = db as i64;
            }
        }
        self.ap.buf.extend_from_slice(resp);
        self.ap.produced += (self.ap.buf.len() - start) as u64;
    }

    fn annotate(&mut self) {
        if !self.timestamps {
            return;
        }
        let now = crate::server::now_ms() / 1000;
        if self.ap.cur_ts < now {
            self.ap
                .buf
                .extend_from_slice(format!("#TS:{}\r\n", now).as_bytes());
            self.ap.cur_ts = now;
        }
    }
}

/// Appends `argv` as a RESP multibulk, as Redis's `catAppendOnlyGenericCommand`.
pub fn encode(buf: &mut Vec<u8>, argv: &[&[u8]]) {
    let mut num = itoa::Buffer::new();
    buf.push(b'*');
    buf.extend_from_slice(num.format(argv.len()).as_bytes());
    buf.extend_from_slice(b"\r\n");
    for a in argv {
        buf.push(b'$');
        buf.extend_from_slice(num.format(a.len()).as_bytes());
        buf.extend_from_slice(b"\r\n");
        buf.extend_from_slice(a);
        buf.extend_from_slice(b"\r\n");
    }
}

// ------------------------------------------------------------ group commit

/// Marks that this thread's next replies depend on everything appended so
/// far by anyone (a reply handed over by another thread, e.g. a served
/// blocked client's).
pub fn note_all() {
    if let Some(wr) = WRITER.get() {
        if wr.active.load(Ordering::Relaxed) {
            let p = wr.append.lock().produced;
            LAST.with(|l| l.set(l.get().max(p)));
        }
    }
}

/// Group commit: under `appendfsync always`, waits until everything this
/// thread appended is fsynced, so no reply acknowledges a write that a crash
/// could lose. Returns at once otherwise.
pub async fn reply_barrier() {
    let Some(wr) = WRITER.get() else {
        return;
    };
    let pos = LAST.with(|l| l.get());
    if wr.synced.load(Ordering::Acquire) >= pos || server().map(policy) != Some(Fsync::Always) {
        return;
    }
    loop {
        let notified = wr.synced_notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if wr.synced.load(Ordering::Acquire) >= pos
            || !wr.active.load(Ordering::Acquire)
            || server().map(policy) != Some(Fsync::Always)
        {
            return;
        }
        kick();
        notified.await;
    }
}

// ------------------------------------------------------------ background

fn kick() {
    if let Some(wr) = WRITER.get() {
        let mut k = wr.kick_lock.lock();
        *k = true;
        wr.kick.notify_one();
    }
}

fn start_thread(srv: &'static Server) -> std::io::Result<()> {
    if THREAD.get().is_some() {
        return Ok(());
    }
    std::thread::Builder::new()
        .name("spinel-aof".into())
        .spawn(move || background(srv))?;
    let _ = THREAD.set(());
    Ok(())
}

fn background(srv: &'static Server) {
    let wr = w();
    let mut last_fsync = Instant::now();
    loop {
        {
            let mut k = wr.kick_lock.lock();
            if !*k {
                wr.kick.wait_for(&mut k, WRITE_INTERVAL);
            }
            *k = false;
        }
        refresh_config(srv);
        if !wr.active.load(Ordering::Acquire) {
            continue;
        }
        let pol = policy(srv);
        let mut io = wr.io.lock();
        let res = write_locked(wr, &mut io);
        match res {
            Ok(()) => {}
            Err(e) => {
                drop(io);
                if pol == Fsync::Always {
                    log::warning(&format!(
                        "Error writing to the AOF file: {}",
                        strerror_of(&e)
                    ));
                    log::warning("Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting...");
                    std::process::exit(1);
                }
                // Retry soon; the bytes stay buffered.
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
        }
        let written = wr.written.load(Ordering::Acquire);
        let need_sync = match pol {
            Fsync::Always => wr.synced.load(Ordering::Acquire) < written,
            Fsync::EverySec => {
                wr.synced.load(Ordering::Acquire) < written
                    && last_fsync.elapsed() >= Duration::from_secs(1)
            }
            Fsync::No => false,
        };
        if need_sync {
            let r = io.file.as_ref().map(|f| f.sync_data()).unwrap_or(Ok(()));
            last_fsync = Instant::now();
            match r {
                Ok(()) => {
                    wr.synced.fetch_max(written, Ordering::AcqRel);
                    if wr.fsync_errno.swap(0, Ordering::Relaxed) != 0 {
                        log::notice("AOF fsync is now OK");
                    }
                }
                Err(e) => {
                    if pol == Fsync::Always {
                        log::warning(&format!(
                            "Can't persist AOF for fsync error when the AOF fsync policy is 'always': {}. Exiting...",
                            strerror_of(&e)
                        ));
                        std::process::exit(1);
                    }
                    log::warning(&format!(
                        "Error trying to fsync the AOF file: {}",
                        strerror_of(&e)
                    ));
                    wr.fsync_errno
                        .store(e.raw_os_error().unwrap_or(-1), Ordering::Relaxed);
                }
            }
        } else if pol != Fsync::Always {
            // Nobody waits for an fsync outside `always`: count what is
            // written as settled for the barrier (which returns anyway).
            wr.synced.fetch_max(written, Ordering::AcqRel);
        }
        drop(io);
        wr.synced_notify.notify_waiters();
    }
}

/// Writes the buffer to the file (no fsync). Called with `io` held.
fn write_locked(wr: &Writer, io: &mut Io) -> std::io::Result<()> {
    let (mut data, end) = {
        let mut ap = wr.append.lock();
        let data = std::mem::take(&mut ap.buf);
        wr.buffered.store(0, Ordering::Relaxed);
        (data, ap.produced)
    };
    if data.is_empty() {
        return Ok(());
    }
    let Some(file) = io.file.as_mut() else {
        // Detached meanwhile: nothing to write to.
        return Ok(());
    };
    let mut done = 0usize;
    let res = loop {
        match file.write(&data[done..]) {
            Ok(0) => {
                break Err(std::io::Error::from_raw_os_error(libc::ENOSPC));
            }
            Ok(n) => {
                done += n;
                if done == data.len() {
                    break Ok(());
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => break Err(e),
        }
    };
    match res {
        Ok(()) => {
            io.size += data.len() as u64;
            wr.size.store(io.size, Ordering::Relaxed);
            wr.written.fetch_max(end, Ordering::AcqRel);
            if wr.write_errno.swap(0, Ordering::Relaxed) != 0 {
                log::warning("AOF write error looks solved, Redis can write again.");
            }
            Ok(())
        }
        Err(e) => {
            // As Redis: a partial write is truncated away if possible, so
            // the file never ends in half a command; otherwise the part that
            // made it stays and is dropped from the buffer.
            if done > 0 {
                match file.set_len(io.size) {
                    Ok(()) => done = 0,
                    Err(te) => {
                        log::warning(&format!(
                            "Could not remove short write from the append-only file. Redis may refuse to load the AOF the next time it starts. ftruncate: {}",
                            strerror_of(&te)
                        ));
                        io.size += done as u64;
                        wr.size.store(io.size, Ordering::Relaxed);
                    }
                }
            }
            let rest = data.split_off(done);
            let mut ap = wr.append.lock();
            let mut merged = rest;
            merged.extend_from_slice(&ap.buf);
            ap.buf = merged;
            wr.buffered.store(ap.buf.len() as u64, Ordering::Relaxed);
            drop(ap);
            let errno = e.raw_os_error().unwrap_or(-1);
            if wr.write_errno.swap(errno, Ordering::Relaxed) == 0 {
                log::warning(&format!(
                    "Error writing to the AOF file: {}",
                    strerror_of(&e)
                ));
            }
            Err(e)
        }
    }
}

/// Write + fsync with `io` held; updates the positions and wakes waiters.
fn flush_locked(wr: &Writer, io: &mut Io, sync: bool) -> std::io::Result<()> {
    write_locked(wr, io)?;
    if sync {
        if let Some(f) = io.file.as_ref() {
            f.sync_data()?;
        }
        let written = wr.written.load(Ordering::Acquire);
        wr.synced.fetch_max(written, Ordering::AcqRel);
        wr.synced_notify.notify_waiters();
    }
    Ok(())
}

fn strerror(errno: i32) -> String {
    if errno <= 0 {
        return "Unknown error".to_string();
    }
    strerror_of(&std::io::Error::from_raw_os_error(errno))
}

/// `strerror(3)` text of an I/O error (without Rust's "(os error N)").
fn strerror_of(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_resp() {
        let mut b = Vec::new();
        encode(&mut b, &[b"SET", b"k", b""]);
        assert_eq!(b, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
    }

    #[test]
    fn strerror_text() {
        assert_eq!(strerror(libc::ENOSPC), "No space left on device");
    }
}
