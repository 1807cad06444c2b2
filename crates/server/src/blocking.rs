//! Blocked clients (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP; the sorted-set
//! family's BZPOPMIN, BZPOPMAX and BZMPOP plug in the same way).
//!
//! # Model
//!
//! A client that must wait is a [`Waiter`]: the keys it waits on, the
//! [`Op`] to perform when one of them becomes ready, its protocol, and a
//! one-shot channel to its connection. The waiter is queued (an `Arc`) in
//! `Shard::blocked[key]` of every key's shard, in arrival order, while the
//! blocking command still holds those shards' locks, so a push can never
//! slip in between "the key is empty" and "the client waits".
//!
//! The command that makes a key ready serves the waiters itself, inside its
//! own critical section: it takes the first live waiter, *claims* it (its
//! state mutex goes from `Waiting` to `Served`, so a waiter queued on
//! several keys is served exactly once; entries left on its other keys are
//! stale and skipped or pruned), runs the waiter's `Op` against the key
//! (the pop happens under the shard lock, so nobody else can take the
//! element), encodes the reply for the waiter's protocol and sends the
//! bytes through the channel. The waiting connection (`hooks::wait_block`)
//! writes them. This repeats, in FIFO order, while the key can still serve.
//!
//! Timeouts, CLIENT UNBLOCK and kills call the block's `cancel`, which moves
//! the waiter from `Waiting` to `Gone` and removes it from its queues; if a
//! server claimed it first, `cancel` hands back the reply it was served.
//!
//! # When keys are served
//!
//! - A family's write path (LPUSH, LMOVE's destination, ZADD...) calls
//!   [`wake`] for the key at the end of its handler: outside a transaction it
//!   serves right there, under the locks the command holds.
//! - Inside MULTI/EXEC or a script (`Client::in_exec`), [`wake`] only marks
//!   the key ready (`Shard::ready`): waiters are served after the
//!   transaction, and only with what is still there (a push followed by a
//!   pop in the same transaction wakes nobody).
//! - Any other key creation goes through `Access::store`, whose hook
//!   ([`key_written`]) marks the key ready too (RENAME, SORT STORE, RESTORE,
//!   MOVE, COPY...).
//! - Keys marked ready are served by [`serve_held`] when it is called at
//!   the end of a command or transaction with its locks still held, and in
//!   any case by the ready-key service thread, which takes the key's shard
//!   as soon as the writing command releases it.
//!
//! # Locks
//!
//! Serving an op may need another key's shard (BLMOVE's destination). A
//! shard the command already holds is used as is; in exclusive mode any
//! shard may be locked; otherwise it is only `try_lock`ed, because taking
//! it could break the ascending lock order. If that fails, the op answers
//! [`Served::Retry`]: the waiter stays first in line and the key is handed to
//! the service thread, which locks both shards in ascending order and serves
//! it. In that (contended, rare) case another client can take the element
//! between the pushing command and the service thread.
//!
//! # Plugging in a family
//!
//! ```ignore
//! struct ZPop { max: bool, count: Option<usize> }
//! impl blocking::Op for ZPop {
//!     fn ready(&self, v: &Value) -> bool { matches!(v, Value::ZSet(z) if !z.is_empty()) }
//!     fn serve(&self, ks: &mut dyn KeyStore, key: &[u8], out: &mut ReplyBuf) -> Served {
//!         // pop from ks.entry(key), write the reply into `out`, notify, add_dirty
//!         Served::Done
//!     }
//! }
//! // In BZPOPMIN: parse the timeout first (Redis's texts and rounding),
//! let deadline = match blocking::parse_timeout(argv[argc - 1], ctx.ks.now) { .. };
//! // ... then, after finding every key empty:
//! if !blocking::may_block(ctx) { ctx.out.null_array(); return; }
//! blocking::block(ctx, &keys, Box::new(ZPop { .. }), deadline);
//! // In ZADD (and every path that adds members), at the end:
//! blocking::wake(ctx, key);
//! ```

use crate::client::ClientShared;
use crate::dispatch::{Access, Ctx};
use crate::hooks::Block;
use crate::locks::{Locks, ShardGuard};
use crate::server::Server;
use parking_lot::Mutex;
use smallvec::SmallVec;
use spinel_keyspace::shard::BlockedWaiter;
use spinel_keyspace::{Entry, Probe, SBytes, Shard, Value};
use spinel_resp::ReplyBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, OnceLock};

/// What serving a waiter did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Served {
    /// A reply was written (a result or an error): the waiter is unblocked.
    Done,
    /// The op needs a shard it could not lock now; leave the waiter queued.
    Retry,
}

/// The keyspace as an op sees it: the same calls whether it runs inside the
/// client's own command (`Access`) or while being served by another
/// client's command ([`ServeCx`]).
pub trait KeyStore {
    fn db(&self) -> usize;
    /// Command time (unix ms).
    fn now(&self) -> i64;
    /// lookupKeyWrite: the live entry (expired keys are deleted first).
    fn entry(&mut self, key: &[u8]) -> Option<&mut Entry>;
    /// setKey for a new or replaced value; wakes clients blocked on it.
    fn store(&mut self, key: &[u8], v: Value);
    /// Deletes a key (an emptied collection).
    fn remove(&mut self, key: &[u8]);
    /// signalModifiedKey.
    fn modified(&mut self, key: &[u8]);
    fn notify(&mut self, class: u32, event: &str, key: &[u8]);
    fn add_dirty(&mut self, n: u64);
    /// Makes sure `key`'s shard is locked; false when it can't be locked
    /// right now without risking a deadlock (the op should return Retry).
    fn lock(&mut self, key: &[u8]) -> bool;
    /// Marks `key` as having received elements (a push into an existing
    /// collection) so its waiters are served.
    fn readied(&mut self, key: &[u8]);
}

impl<'a> KeyStore for Access<'a> {
    fn db(&self) -> usize {
        self.db
    }
    fn now(&self) -> i64 {
        self.now
    }
    fn entry(&mut self, key: &[u8]) -> Option<&mut Entry> {
        self.get_write(key)
    }
    fn store(&mut self, key: &[u8], v: Value) {
        self.set(key, v)
    }
    fn remove(&mut self, key: &[u8]) {
        self.delete(key);
    }
    fn modified(&mut self, key: &[u8]) {
        Access::modified(self, key)
    }
    fn notify(&mut self, class: u32, event: &str, key: &[u8]) {
        Access::notify(self, class, event, key)
    }
    fn add_dirty(&mut self, n: u64) {
        Access::add_dirty(self, n)
    }
    fn lock(&mut self, _key: &[u8]) -> bool {
        // A command's declared keys are all locked (or it runs exclusively).
        true
    }
    fn readied(&mut self, key: &[u8]) {
        let db = self.db;
        let (sh, _) = self.shard_of(key);
        mark_ready(sh, db, key, false);
    }
}

/// What a blocked client does once a key it waits on is ready.
pub trait Op: Send + Sync + 'static {
    /// True when `v` (the value now under the key) can serve this waiter:
    /// the type it blocks on, non-empty. Otherwise the waiter keeps waiting
    /// (e.g. BLPOP on a key that was SET to a string).
    fn ready(&self, v: &Value) -> bool;
    /// Serves the waiter from `key` (its shard is locked): performs the
    /// pop, emits events, adds dirty, and writes the reply into `out`
    /// (already set to the waiter's protocol).
    fn serve(&self, ks: &mut dyn KeyStore, key: &[u8], out: &mut ReplyBuf) -> Served;
}

enum State {
    Waiting(tokio::sync::oneshot::Sender<Vec<u8>>),
    /// Served; the reply is kept until the block ends in case a timeout
    /// races with the serve (the cancel path then returns it).
    Served(Vec<u8>),
    Gone,
}

/// A blocked client.
pub struct Waiter {
    pub client: Arc<ClientShared>,
    pub db: usize,
    pub keys: Vec<SBytes>,
    pub resp3: bool,
    pub op: Box<dyn Op>,
    /// True while `state` is `Waiting`: read without the mutex so that code
    /// holding shard locks never waits on a waiter.
    waiting: AtomicBool,
    state: Mutex<State>,
}

impl Waiter {
    fn is_live(&self) -> bool {
        self.waiting.load(Ordering::Acquire)
    }

    /// True when the client has hung up. Its connection task is parked in
    /// the wait and not reading, so the socket is peeked here: serving a
    /// dead waiter would lose the element.
    fn hung_up(&self) -> bool {
        #[cfg(unix)]
        {
            let fd = self.client.fd;
            if fd < 0 {
                return false;
            }
            let mut b = [0u8; 1];
            // SAFETY: recv on a descriptor owned by the waiting connection
            // (open for as long as the wait lasts) into a 1-byte buffer;
            // MSG_PEEK leaves any data where it is.
            let n = unsafe {
                libc::recv(
                    fd,
                    b.as_mut_ptr() as *mut libc::c_void,
                    1,
                    libc::MSG_PEEK | libc::MSG_DONTWAIT,
                )
            };
            if n == 0 {
                return true;
            }
            if n < 0 {
                let e = std::io::Error::last_os_error().raw_os_error();
                return matches!(e, Some(libc::ECONNRESET) | Some(libc::ENOTCONN));
            }
            false
        }
        #[cfg(not(unix))]
        {
            false
        }
    }
}

/// Number of clients currently blocked on keys (INFO `blocked_clients`
/// counts them through the BLOCKED flag; this counts waiters).
static WAITERS: AtomicU64 = AtomicU64::new(0);

pub fn blocked_count() -> u64 {
    WAITERS.load(Ordering::Relaxed)
}

/// Keys with at least one queued waiter in a database (INFO
/// `total_blocking_keys`; stale entries may be included until pruned).
pub fn blocking_keys(srv: &Server) -> usize {
    srv.ks
        .dbs
        .iter()
        .map(|d| {
            d.shards
                .iter()
                .map(|s| s.lock().blocked.len())
                .sum::<usize>()
        })
        .sum()
}

#[inline]
fn as_waiter(w: &BlockedWaiter) -> Option<&Waiter> {
    (**w).downcast_ref::<Waiter>()
}

#[inline]
fn same(w: &BlockedWaiter, x: &Arc<Waiter>) -> bool {
    std::ptr::eq(Arc::as_ptr(w) as *const u8, Arc::as_ptr(x) as *const u8)
}

fn live(w: &BlockedWaiter) -> bool {
    as_waiter(w).map(|w| w.is_live()).unwrap_or(false)
}

/// `getLongDoubleFromObject` approximated with doubles: strtod syntax, and a
/// magnitude overflow (still a valid long double up to ~1e4932) reads as
/// infinity instead of an error.
fn long_double_arg(a: &[u8]) -> Option<f64> {
    if a.is_empty() || a[0].is_ascii_whitespace() {
        return None;
    }
    let (v, n, _erange) = crate::cmd::zset::strtod(a);
    if n != a.len() || v.is_nan() {
        return None;
    }
    Some(v)
}

/// getTimeoutFromObjectOrReply (seconds, fractional): the absolute deadline
/// in unix ms, None for 0 (wait forever).
pub fn parse_timeout(a: &[u8], now: i64) -> Result<Option<i64>, &'static str> {
    // Redis parses timeouts as long doubles (strtold), whose range covers
    // values like 1e400 that overflow a double: those are "out of range",
    // not "not a float".
    let secs = long_double_arg(a).ok_or("ERR timeout is not a float or out of range")?;
    let ms = secs * 1000.0;
    if ms > i64::MAX as f64 {
        return Err("ERR timeout is out of range");
    }
    let t = ms.ceil();
    if t < 0.0 {
        return Err("ERR timeout is negative");
    }
    let t = t as i64;
    if t == 0 {
        return Ok(None);
    }
    if t > i64::MAX - now {
        return Err("ERR timeout is out of range");
    }
    Ok(Some(now + t))
}

/// False inside MULTI/EXEC and scripts, where blocking commands answer as if
/// the timeout had expired.
pub fn may_block(ctx: &Ctx) -> bool {
    !ctx.client.in_exec
}

/// Parks the client on `keys` (all locked by the running command) until one
/// of them can serve `op`, or until `deadline_ms` (absolute unix ms; None
/// waits forever). The timeout reply is a null array, as in Redis.
pub fn block(ctx: &mut Ctx, keys: &[&[u8]], op: Box<dyn Op>, deadline_ms: Option<i64>) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let db = ctx.ks.db;
    let mut uniq: Vec<SBytes> = Vec::with_capacity(keys.len());
    for k in keys {
        if !uniq.iter().any(|u| u.as_slice() == *k) {
            uniq.push(SBytes::new(k));
        }
    }
    let w = Arc::new(Waiter {
        client: ctx.client.shared.clone(),
        db,
        keys: uniq.clone(),
        resp3: ctx.client.resp3,
        op,
        waiting: AtomicBool::new(true),
        state: Mutex::new(State::Waiting(tx)),
    });
    for k in &uniq {
        let (sh, _) = ctx.ks.shard_of(k);
        enqueue(sh, k, w.clone());
    }
    WAITERS.fetch_add(1, Ordering::Relaxed);
    let mut timeout_reply = ReplyBuf::new(ctx.client.resp3);
    timeout_reply.null_array();
    let guard = Parked(w);
    ctx.client.block = Some(Block {
        rx,
        deadline_ms,
        cancel: Box::new(move |srv| guard.cancel(srv)),
        timeout_reply: timeout_reply.buf,
    });
}

fn enqueue(sh: &mut Shard, key: &[u8], w: Arc<Waiter>) {
    let q = sh.blocked.entry(SBytes::new(key)).or_default();
    // Keep queues from accumulating entries of waiters served elsewhere.
    while q.back().map(|x| !live(x)).unwrap_or(false) {
        q.pop_back();
    }
    while q.front().map(|x| !live(x)).unwrap_or(false) {
        q.pop_front();
    }
    if q.len() >= 64 && q.len().is_power_of_two() {
        q.retain(live);
    }
    q.push_back(w);
}

/// Owned by the block's cancel closure: ends the wait however it ends.
struct Parked(Arc<Waiter>);

impl Parked {
    fn cancel(self, srv: &'static Server) -> Option<Vec<u8>> {
        let prev = {
            let mut st = self.0.state.lock();
            self.0.waiting.store(false, Ordering::Release);
            std::mem::replace(&mut *st, State::Gone)
        };
        match prev {
            State::Waiting(_) => {
                unqueue(srv, &self.0);
                None
            }
            State::Served(bytes) => Some(bytes),
            State::Gone => None,
        }
    }
}

impl Drop for Parked {
    fn drop(&mut self) {
        let mut st = self.0.state.lock();
        self.0.waiting.store(false, Ordering::Release);
        *st = State::Gone;
        drop(st);
        WAITERS.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Removes a waiter from all its queues (one shard lock at a time; called
/// with no locks held).
fn unqueue(srv: &Server, w: &Arc<Waiter>) {
    let Some(db) = srv.ks.dbs.get(w.db) else {
        return;
    };
    for k in &w.keys {
        let idx = srv.ks.shard_of(srv.ks.hash(k));
        if let Some(m) = db.shards.get(idx) {
            remove_entry(&mut m.lock(), k, w);
        }
    }
}

fn remove_entry(sh: &mut Shard, key: &[u8], w: &Arc<Waiter>) {
    let empty = match sh.blocked.get_mut(key) {
        Some(q) => {
            q.retain(|x| !same(x, w) && live(x));
            q.is_empty()
        }
        None => false,
    };
    if empty {
        sh.blocked.remove(key);
    }
}

/// Marks `key` ready if clients wait on it. With `post`, also hands it to the
/// service thread (for writes whose command won't serve it itself).
fn mark_ready(sh: &mut Shard, db: usize, key: &[u8], post: bool) {
    if sh.blocked.is_empty() || !sh.blocked.contains_key(key) {
        return;
    }
    if !sh.ready.iter().any(|k| k.as_slice() == key) {
        sh.ready.push(SBytes::new(key));
    }
    if post {
        post_ready(db, key);
    }
}

/// Hook for `Access::store`: a key was created or overwritten.
#[inline]
pub fn key_written(sh: &mut Shard, db: usize, key: &[u8]) {
    if sh.blocked.is_empty() {
        return;
    }
    mark_ready(sh, db, key, true);
}

/// For SWAPDB and other wholesale database changes (run in exclusive
/// mode): every key of `db` that has waiters and now holds a value is
/// marked ready and handed to the service thread.
pub fn db_replaced(locks: &mut Locks, db: usize) {
    let ks = locks.keyspace();
    if db >= ks.ndbs() {
        return;
    }
    let now = crate::server::now_ms();
    for idx in 0..ks.nshards() {
        let sh = locks.shard(db, idx);
        if sh.blocked.is_empty() {
            continue;
        }
        let keys: Vec<SBytes> = sh
            .blocked
            .keys()
            .filter(|k| sh.peek(ks.hash(k), k, now).is_some())
            .cloned()
            .collect();
        for k in keys {
            mark_ready(sh, db, &k, true);
        }
    }
}

/// Called by a write path after adding elements to `key`: serves the key's
/// waiters now (or, inside a transaction, once it ends).
pub fn wake(ctx: &mut Ctx, key: &[u8]) {
    let db = ctx.ks.db;
    {
        let (sh, _) = ctx.ks.shard_of(key);
        if sh.blocked.is_empty() || !sh.blocked.contains_key(key) {
            return;
        }
        if ctx.client.in_exec {
            mark_ready(sh, db, key, true);
            return;
        }
        // With propagation on, waiters are served at the end of the command
        // (`serve_held`, still under its locks) once its own record is in
        // the stream, so their effects follow it (as in Redis) while every
        // shard they touch is still held.
        if crate::propagate::enabled() {
            mark_ready(sh, db, key, false);
            return;
        }
        sh.ready.retain(|k| k.as_slice() != key);
    }
    let srv = ctx.srv;
    let mut cx = ServeCx::new(srv, ctx.ks.locks, db, ctx.ks.now);
    cx.work.push((db, SBytes::new(key)));
    cx.run();
}

/// Serves every key marked ready in the shards `locks` holds. Meant for the
/// end of a command or transaction, before its locks are released.
pub fn serve_held(srv: &'static Server, locks: &mut Locks) {
    let mut keys: Vec<(usize, SBytes)> = Vec::new();
    locks.for_each_held(|db, sh| {
        if !sh.ready.is_empty() {
            keys.extend(std::mem::take(&mut sh.ready).into_iter().map(|k| (db, k)));
        }
    });
    if keys.is_empty() {
        return;
    }
    let now = crate::server::now_ms();
    let db = keys.first().map(|(d, _)| *d).unwrap_or(0);
    let mut cx = ServeCx::new(srv, locks, db, now);
    cx.work = keys;
    cx.run();
}

/// The context ops run in while a key is served: the server's locks plus any
/// shard it could `try_lock`.
pub struct ServeCx<'a> {
    srv: &'static Server,
    locks: &'a mut Locks,
    extra: SmallVec<[(u32, u32, ShardGuard); 2]>,
    db: usize,
    now: i64,
    lru: u32,
    dirty: u64,
    /// Keys to serve, in order (db, key).
    work: Vec<(usize, SBytes)>,
    /// Keys to hand to the service thread afterwards.
    deferred: Vec<(usize, SBytes)>,
    /// A shard an op needed but could not get (service thread retries with it).
    wanted: Option<(u32, u32)>,
}

impl<'a> ServeCx<'a> {
    fn new(srv: &'static Server, locks: &'a mut Locks, db: usize, now: i64) -> Self {
        ServeCx {
            srv,
            locks,
            extra: SmallVec::new(),
            db,
            now,
            lru: crate::evict::initial_clock(now),
            dirty: 0,
            work: Vec::new(),
            deferred: Vec::new(),
            wanted: None,
        }
    }

    fn idx(&self, key: &[u8]) -> usize {
        self.srv.ks.shard_of(self.srv.ks.hash(key))
    }

    /// The shard `(db, idx)` if this context holds it (or may take it).
    fn shard_at(&mut self, db: usize, idx: usize) -> Option<&mut Shard> {
        if self.locks.is_exclusive() || self.locks.held(db, idx) {
            return Some(self.locks.shard(db, idx));
        }
        let pos = self
            .extra
            .iter()
            .position(|(d, s, _)| *d as usize == db && *s as usize == idx)?;
        self.extra.get_mut(pos).map(|(_, _, g)| &mut **g)
    }

    fn try_take(&mut self, db: usize, idx: usize) -> bool {
        if self.locks.is_exclusive()
            || self.locks.held(db, idx)
            || self
                .extra
                .iter()
                .any(|(d, s, _)| *d as usize == db && *s as usize == idx)
        {
            return true;
        }
        let Some(m) = self.srv.ks.dbs.get(db).and_then(|d| d.shards.get(idx)) else {
            return false;
        };
        match m.try_lock() {
            Some(g) => {
                self.extra.push((db as u32, idx as u32, g));
                true
            }
            None => false,
        }
    }

    fn shard_of_key(&mut self, key: &[u8]) -> Option<(&mut Shard, u64)> {
        let h = self.srv.ks.hash(key);
        let idx = self.srv.ks.shard_of(h);
        let db = self.db;
        self.shard_at(db, idx).map(|s| (s, h))
    }

    /// Serves the queued work list, then flushes dirty and deferred keys.
    fn run(&mut self) {
        let mut guard = 0;
        while let Some((db, key)) = if self.work.is_empty() {
            None
        } else {
            Some(self.work.remove(0))
        } {
            guard += 1;
            if guard > 10_000 {
                self.deferred.push((db, key));
                continue;
            }
            self.db = db;
            self.serve_key(&key);
        }
        self.srv.add_dirty(self.dirty);
        self.dirty = 0;
        for (db, key) in std::mem::take(&mut self.deferred) {
            post_ready(db, &key);
        }
    }

    /// Serves the waiters of `key` in FIFO order while the key can serve.
    /// Waiters whose op does not accept the key's value (another type)
    /// are passed over and keep waiting.
    fn serve_key(&mut self, key: &[u8]) {
        let db = self.db;
        let idx = self.idx(key);
        let h = self.srv.ks.hash(key);
        loop {
            let now = self.now;
            // The first live waiter that the key can serve.
            let next: Arc<Waiter> = {
                let Some(sh) = self.shard_at(db, idx) else {
                    self.deferred.push((db, SBytes::new(key)));
                    return;
                };
                sh.ready.retain(|k| k.as_slice() != key);
                let Some(q) = sh.blocked.get_mut(key) else {
                    return;
                };
                q.retain(live);
                if q.is_empty() {
                    sh.blocked.remove(key);
                    return;
                }
                // Lazy expiry first, then read the value and the queue together.
                if sh.get(h, key, now).is_none() {
                    return;
                }
                let Some(e) = sh.peek(h, key, now) else {
                    return;
                };
                let found = sh.blocked.get(key).and_then(|q| {
                    q.iter()
                        .find(|c| as_waiter(c).map(|w| w.op.ready(&e.value)).unwrap_or(false))
                        .cloned()
                });
                match found.and_then(|c| c.downcast::<Waiter>().ok()) {
                    Some(w) => w,
                    None => return,
                }
            };
            // Claim it: nobody else can serve or cancel it while we hold its state.
            let mut st = next.state.lock();
            if !matches!(*st, State::Waiting(_)) {
                drop(st);
                self.unqueue_here(db, idx, key, &next);
                continue;
            }
            if next.hung_up() {
                // Dead client: drop it and let its connection task finish.
                next.waiting.store(false, Ordering::Release);
                *st = State::Gone;
                drop(st);
                next.client.request_kill();
                self.unqueue_here(db, idx, key, &next);
                continue;
            }
            let mut out = ReplyBuf::new(next.resp3);
            match next.op.serve(self, key, &mut out) {
                Served::Retry => {
                    drop(st);
                    self.deferred.push((db, SBytes::new(key)));
                    return;
                }
                Served::Done => {
                    let bytes = out.buf;
                    next.waiting.store(false, Ordering::Release);
                    if let State::Waiting(tx) = std::mem::replace(&mut *st, State::Gone) {
                        let keep = bytes.clone();
                        if tx.send(bytes).is_ok() {
                            *st = State::Served(keep);
                        }
                    }
                    drop(st);
                    self.unqueue_here(db, idx, key, &next);
                    self.forget_elsewhere(&next, key);
                }
            }
        }
    }

    fn unqueue_here(&mut self, db: usize, idx: usize, key: &[u8], w: &Arc<Waiter>) {
        if let Some(sh) = self.shard_at(db, idx) {
            remove_entry(sh, key, w);
        }
    }

    /// Drops a served waiter's entries on its other keys where that is
    /// possible without waiting for a lock (the rest are pruned later).
    fn forget_elsewhere(&mut self, w: &Arc<Waiter>, served: &[u8]) {
        if w.keys.len() < 2 {
            return;
        }
        for k in &w.keys {
            if k.as_slice() == served {
                continue;
            }
            let idx = self.idx(k);
            if self.try_take(w.db, idx) {
                if let Some(sh) = self.shard_at(w.db, idx) {
                    remove_entry(sh, k, w);
                }
            }
        }
    }
}

impl<'a> KeyStore for ServeCx<'a> {
    fn db(&self) -> usize {
        self.db
    }
    fn now(&self) -> i64 {
        self.now
    }
    fn entry(&mut self, key: &[u8]) -> Option<&mut Entry> {
        let (now, lru) = (self.now, self.lru);
        let (sh, h) = self.shard_of_key(key)?;
        let e = sh.get(h, key, now)?;
        e.lru = lru;
        Some(e)
    }
    fn store(&mut self, key: &[u8], v: Value) {
        let (now, lru, db) = (self.now, self.lru, self.db);
        let Some((sh, h)) = self.shard_of_key(key) else {
            return;
        };
        let _ = sh.probe(h, key, now);
        let old = sh.insert(h, key, Entry::new(v, lru), false);
        sh.touch_watched(key);
        let chained = sh.blocked.contains_key(key);
        crate::dispatch::drop_value(old.map(|e| e.value));
        if chained {
            self.work.push((db, SBytes::new(key)));
        }
    }
    fn remove(&mut self, key: &[u8]) {
        let now = self.now;
        let Some((sh, h)) = self.shard_of_key(key) else {
            return;
        };
        if let Probe::Present(_) = sh.probe(h, key, now) {
            let old = sh.remove(h, key);
            sh.touch_watched(key);
            crate::dispatch::drop_value(old.map(|e| e.value));
        }
    }
    fn modified(&mut self, key: &[u8]) {
        if let Some((sh, _)) = self.shard_of_key(key) {
            sh.touch_watched(key);
        }
    }
    fn notify(&mut self, class: u32, event: &str, key: &[u8]) {
        crate::notify::keyspace_event(class, event, key, self.db);
    }
    fn add_dirty(&mut self, n: u64) {
        self.dirty += n;
    }
    fn lock(&mut self, key: &[u8]) -> bool {
        let (db, idx) = (self.db, self.idx(key));
        if self.try_take(db, idx) {
            return true;
        }
        self.wanted = Some((db as u32, idx as u32));
        false
    }
    fn readied(&mut self, key: &[u8]) {
        let db = self.db;
        let has = match self.shard_of_key(key) {
            Some((sh, _)) => sh.blocked.contains_key(key),
            None => false,
        };
        if has
            && !self
                .work
                .iter()
                .any(|(d, k)| *d == db && k.as_slice() == key)
        {
            self.work.push((db, SBytes::new(key)));
        }
    }
}

// ---------------------------------------------------------------------------
// The ready-key service thread.

static SERVICE: OnceLock<Mutex<mpsc::Sender<(usize, SBytes)>>> = OnceLock::new();

/// Hands a ready key to the service thread, which serves it as soon as it
/// can lock the key's shard (i.e. after the writing command ends).
pub fn post_ready(db: usize, key: &[u8]) {
    let tx = SERVICE.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<(usize, SBytes)>();
        let spawned = std::thread::Builder::new()
            .name("spinel-unblock".into())
            .spawn(move || service_loop(rx));
        if let Err(e) = spawned {
            crate::log::warning(&format!("cannot start the unblock thread: {}", e));
        }
        Mutex::new(tx)
    });
    let _ = tx.lock().send((db, SBytes::new(key)));
}

fn service_loop(rx: mpsc::Receiver<(usize, SBytes)>) {
    while let Ok((db, key)) = rx.recv() {
        let Some(srv) = crate::server::get() else {
            continue;
        };
        serve_deferred(srv, db, &key);
    }
}

/// Serves a key outside any command: locks its shard (plus whatever shard
/// the first waiter's op turns out to need, in ascending order).
fn serve_deferred(srv: &'static Server, db: usize, key: &[u8]) {
    if db >= srv.ks.ndbs() {
        return;
    }
    let home = (db as u32, srv.ks.shard_of(srv.ks.hash(key)) as u32);
    // The spare thread lock (after the workers') keeps exclusive commands
    // out while this thread holds two shards.
    let worker = srv.thread_locks.len().saturating_sub(1);
    let mut need: SmallVec<[(u32, u32); 8]> = SmallVec::new();
    need.push(home);
    for _ in 0..64 {
        let mut locks = Locks::keys(&srv.ks, &srv.thread_locks, worker, need.clone());
        let now = crate::server::now_ms();
        let mut cx = ServeCx::new(srv, &mut locks, db, now);
        cx.work.push((db, SBytes::new(key)));
        // Serve, but keep deferred keys local: a Retry for this key is ours.
        let mut wanted = None;
        while let Some((d, k)) = if cx.work.is_empty() {
            None
        } else {
            Some(cx.work.remove(0))
        } {
            cx.db = d;
            cx.serve_key(&k);
            if let Some(w) = cx.wanted.take() {
                wanted = Some(w);
            }
        }
        srv.add_dirty(cx.dirty);
        let deferred = std::mem::take(&mut cx.deferred);
        drop(cx);
        drop(locks);
        let mut again = false;
        for (d, k) in deferred {
            if d == db && k.as_slice() == key {
                again = true;
            } else {
                post_ready(d, &k);
            }
        }
        if !again {
            return;
        }
        need.clear();
        need.push(home);
        if let Some(w) = wanted {
            need.push(w);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Nop;
    impl Op for Nop {
        fn ready(&self, _v: &Value) -> bool {
            true
        }
        fn serve(&self, _ks: &mut dyn KeyStore, _key: &[u8], _out: &mut ReplyBuf) -> Served {
            Served::Done
        }
    }

    fn waiter() -> (Arc<Waiter>, tokio::sync::oneshot::Receiver<Vec<u8>>) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        (
            Arc::new(Waiter {
                client: crate::client::ClientRegistry::new().new_shared(
                    "test".into(),
                    "test".into(),
                    -1,
                ),
                db: 0,
                keys: vec![SBytes::new(b"k")],
                resp3: false,
                op: Box::new(Nop),
                waiting: AtomicBool::new(true),
                state: Mutex::new(State::Waiting(tx)),
            }),
            rx,
        )
    }

    #[test]
    fn timeouts() {
        assert_eq!(parse_timeout(b"0", 1000), Ok(None));
        assert_eq!(parse_timeout(b"0.1", 1000), Ok(Some(1100)));
        assert_eq!(parse_timeout(b"0.0001", 1000), Ok(Some(1001)));
        assert_eq!(parse_timeout(b"-0.0001", 1000), Ok(None));
        assert_eq!(parse_timeout(b"-1", 1000), Err("ERR timeout is negative"));
        assert_eq!(
            parse_timeout(b"abc", 1000),
            Err("ERR timeout is not a float or out of range")
        );
        assert_eq!(
            parse_timeout(b"inf", 1000),
            Err("ERR timeout is out of range")
        );
    }

    #[test]
    fn enqueue_prunes_stale_entries() {
        let hasher = ahash::RandomState::new();
        let mut sh = Shard::new(0, &hasher);
        let mut rxs = Vec::new();
        let mut ws = Vec::new();
        for _ in 0..200 {
            let (w, rx) = waiter();
            rxs.push(rx);
            enqueue(&mut sh, b"k", w.clone());
            ws.push(w);
        }
        // Everyone but the last is served elsewhere.
        for w in ws.iter().take(199) {
            *w.state.lock() = State::Gone;
            w.waiting.store(false, Ordering::Release);
        }
        let (w, _rx) = waiter();
        enqueue(&mut sh, b"k", w);
        let q = sh.blocked.get(&b"k"[..]).map(|q| q.len()).unwrap_or(0);
        assert_eq!(q, 2);
        let first = sh.blocked.get(&b"k"[..]).and_then(|q| q.front().cloned());
        assert!(first.map(|f| same(&f, &ws[199])).unwrap_or(false));
    }
}
