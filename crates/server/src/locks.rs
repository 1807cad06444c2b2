//! Shard locking for one command execution.
//!
//! Two modes (DESIGN §2):
//! - **Keys**: the shards of the command's keys, locked up front in
//!   ascending (db, shard) order. A single-key command takes one lock.
//! - **Exclusive**: the caller holds every worker's thread lock, so no other
//!   command is running anywhere; shards are then locked lazily on first use,
//!   in any order (only background tasks, which hold one shard at a time,
//!   can contend).
//!
//! Every worker thread owns a "thread lock" that it holds while it executes a
//! command; an exclusive command takes all of them (a big-reader lock whose
//! read side is a private, uncontended mutex per thread).

use parking_lot::{Mutex, MutexGuard};
use smallvec::SmallVec;
use spinel_keyspace::{Keyspace, Shard};

pub type ShardGuard = MutexGuard<'static, Shard>;

pub struct Locks {
    ks: &'static Keyspace,
    guards: SmallVec<[(u32, u32, ShardGuard); 4]>,
    exclusive: bool,
    /// Hashes of the command's first keys, computed when their shards were
    /// picked, so lookups don't hash them again: (address, length, hash) of
    /// argument slices that outlive these locks.
    known: SmallVec<[(usize, usize, u64); 2]>,
    _thread: SmallVec<[MutexGuard<'static, ()>; 1]>,
}

/// The per-worker thread locks.
pub struct ThreadLocks {
    locks: Box<[Mutex<()>]>,
}

impl ThreadLocks {
    pub fn new(n: usize) -> Self {
        ThreadLocks {
            locks: (0..n.max(1) + 1).map(|_| Mutex::new(())).collect(),
        }
    }

    pub fn len(&self) -> usize {
        self.locks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.locks.is_empty()
    }
}

impl Locks {
    /// No keys: nothing locked besides the calling thread's lock.
    #[inline(always)]
    pub fn none(ks: &'static Keyspace, tl: &'static ThreadLocks, worker: usize) -> Locks {
        let mut t = SmallVec::new();
        if let Some(l) = tl.locks.get(worker) {
            t.push(l.lock());
        }
        Locks {
            ks,
            guards: SmallVec::new(),
            exclusive: false,
            known: SmallVec::new(),
            _thread: t,
        }
    }

    /// One shard (the common single-key command): no sorting needed.
    #[inline(always)]
    pub fn one(
        ks: &'static Keyspace,
        tl: &'static ThreadLocks,
        worker: usize,
        db: usize,
        shard: usize,
    ) -> Locks {
        let mut l = Locks::none(ks, tl, worker);
        if let Some(m) = ks.dbs.get(db).and_then(|d| d.shards.get(shard)) {
            l.guards.push((db as u32, shard as u32, m.lock()));
        }
        l
    }

    /// Adds the lock of shard `(db, shard)`; for a set of shards use
    /// [`Locks::keys`], which takes them in order.
    #[inline]
    pub fn lock_shard(&mut self, db: usize, shard: usize) {
        if let Some(m) = self.ks.dbs.get(db).and_then(|d| d.shards.get(shard)) {
            self.guards.push((db as u32, shard as u32, m.lock()));
        }
    }

    /// Records the hash of an argument key. The slice must stay alive and
    /// unchanged until [`Locks::forget_hashes`] or the end of these locks.
    #[inline]
    pub fn remember_hash(&mut self, key: &[u8], h: u64) {
        if self.known.len() < self.known.inline_size() {
            self.known.push((key.as_ptr() as usize, key.len(), h));
        }
    }

    /// The hash recorded for this very slice, if any.
    #[inline]
    pub fn known_hash(&self, key: &[u8]) -> Option<u64> {
        let (p, n) = (key.as_ptr() as usize, key.len());
        self.known
            .iter()
            .find(|&&(kp, kn, _)| kp == p && kn == n)
            .map(|&(_, _, h)| h)
    }

    pub fn forget_hashes(&mut self) {
        self.known.clear();
    }

    /// Whether a held shard has keys made ready for blocked clients or keys
    /// found expired, which the end of the command must deal with.
    #[inline]
    pub fn has_followups(&self) -> bool {
        self.guards
            .iter()
            .any(|(_, _, g)| !g.ready.is_empty() || !g.expired_log.is_empty())
    }

    /// Locks the given (db, shard) pairs in ascending order.
    pub fn keys(
        ks: &'static Keyspace,
        tl: &'static ThreadLocks,
        worker: usize,
        mut shards: SmallVec<[(u32, u32); 8]>,
    ) -> Locks {
        let mut l = Locks::none(ks, tl, worker);
        shards.sort_unstable();
        shards.dedup();
        for (db, sh) in shards {
            if let Some(m) = ks
                .dbs
                .get(db as usize)
                .and_then(|d| d.shards.get(sh as usize))
            {
                l.guards.push((db, sh, m.lock()));
            }
        }
        l
    }

    /// Stops every other worker (takes all thread locks in order).
    pub fn exclusive(ks: &'static Keyspace, tl: &'static ThreadLocks) -> Locks {
        let t = tl.locks.iter().map(|m| m.lock()).collect();
        Locks {
            ks,
            guards: SmallVec::new(),
            exclusive: true,
            known: SmallVec::new(),
            _thread: t,
        }
    }

    pub fn is_exclusive(&self) -> bool {
        self.exclusive
    }

    /// The shard `(db, idx)`: a held guard, or (exclusive mode, or a command
    /// whose key set was not declared) a lock taken now and kept until the
    /// command ends.
    pub fn shard(&mut self, db: usize, idx: usize) -> &mut Shard {
        let pos = self
            .guards
            .iter()
            .position(|(d, s, _)| *d as usize == db && *s as usize == idx);
        let pos = match pos {
            Some(p) => p,
            None => {
                let db = db.min(self.ks.dbs.len() - 1);
                let idx = idx.min(self.ks.nshards() - 1);
                let g = self.ks.dbs[db].shards[idx].lock();
                self.guards.push((db as u32, idx as u32, g));
                self.guards.len() - 1
            }
        };
        let g = &mut self.guards[pos];
        crate::persist::snapshot::touch(g.0 as usize, g.1 as usize, &g.2);
        &mut g.2
    }

    /// Releases a lazily taken shard early (used by walkers such as SCAN that
    /// visit one shard at a time outside of exclusive mode).
    pub fn release(&mut self, db: usize, idx: usize) {
        if self.exclusive {
            return;
        }
        self.guards
            .retain(|(d, s, _)| !(*d as usize == db && *s as usize == idx));
    }

    pub fn held(&self, db: usize, idx: usize) -> bool {
        self.guards
            .iter()
            .any(|(d, s, _)| *d as usize == db && *s as usize == idx)
    }

    /// Visits every held shard.
    pub fn for_each_held(&mut self, mut f: impl FnMut(usize, &mut Shard)) {
        for (d, _, g) in self.guards.iter_mut() {
            f(*d as usize, g);
        }
    }

    pub fn keyspace(&self) -> &'static Keyspace {
        self.ks
    }
}
