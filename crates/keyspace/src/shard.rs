//! One shard of one database: the keys whose hash falls in it, their expiry
//! times, and the per-key bookkeeping that must change under the same lock
//! (watchers, blocked clients).
//!
//! All lookups take the key's precomputed hash, so a command hashes each key
//! once: the same hash picks the shard and probes the table.

use crate::sbytes::SBytes;
use crate::table::KeyTable;
use crate::value::Value;
use ahash::RandomState;
use indexmap::map::raw_entry_v1::RawEntryMut;
use indexmap::map::RawEntryApiV1;
use indexmap::IndexMap;
use rand::Rng;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Set while an append-only file is being replayed: nothing expires then
/// (Redis's `keyIsExpired` under `server.loading`), so a key whose TTL
/// passed but that a later record made persistent loads as it was.
static LOADING: AtomicBool = AtomicBool::new(false);

pub fn set_loading(on: bool) {
    LOADING.store(on, Ordering::Relaxed);
}

#[inline]
pub fn loading() -> bool {
    LOADING.load(Ordering::Relaxed)
}

/// A stored value plus its access clock (LRU seconds or LFU counter).
#[derive(Debug, Clone)]
pub struct Entry {
    pub value: Value,
    pub lru: u32,
}

impl Entry {
    pub fn new(value: Value, lru: u32) -> Self {
        Entry { value, lru }
    }
}

/// Keys with a waiting WATCH: each flag is set when the key changes.
pub type WatchFlag = Arc<AtomicBool>;

/// A client blocked on a key of this shard (BLPOP, BZPOPMIN...). The server
/// defines the concrete type (its `blocking` module); the shard only keeps
/// each key's FIFO so that the command making the key ready serves the
/// waiters under this shard's lock.
pub type BlockedWaiter = Arc<dyn std::any::Any + Send + Sync>;

pub struct Shard {
    pub db: u32,
    pub map: KeyTable,
    /// Absolute expiry times in unix milliseconds, for keys that have one.
    pub expires: IndexMap<SBytes, i64, RandomState>,
    /// WATCHed keys in this shard.
    pub watched: HashMap<SBytes, Vec<WatchFlag>, RandomState>,
    /// Keys removed by lazy expiry since the owner last drained this list
    /// (the server turns them into `expired` events and propagated DELs).
    pub expired_log: Vec<SBytes>,
    /// Clients blocked on keys of this shard, in arrival order per key.
    pub blocked: HashMap<SBytes, VecDeque<BlockedWaiter>, RandomState>,
    /// Keys with blocked clients that were written since they were last
    /// served (the server serves them when the writing command ends).
    pub ready: Vec<SBytes>,
}

/// Outcome of probing a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    Missing,
    /// Present (the payload is kept for source compatibility; always 0).
    Present(usize),
}

impl Shard {
    pub fn new(db: u32, hasher: &RandomState) -> Self {
        Shard {
            db,
            map: KeyTable::with_hasher(hasher.clone()),
            expires: IndexMap::with_hasher(hasher.clone()),
            watched: HashMap::with_hasher(hasher.clone()),
            expired_log: Vec::new(),
            blocked: HashMap::with_hasher(hasher.clone()),
            ready: Vec::new(),
        }
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.map.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Expiry time of a key, if it has one (no expiry check).
    #[inline]
    pub fn expire_of(&self, h: u64, key: &[u8]) -> Option<i64> {
        if self.expires.is_empty() {
            return None;
        }
        self.expires
            .raw_entry_v1()
            .from_hash(h, |k| k.as_slice() == key)
            .map(|(_, &t)| t)
    }

    /// Finds a live key, deleting it first if it has expired (lazy expiry).
    #[inline]
    pub fn probe(&mut self, h: u64, key: &[u8], now_ms: i64) -> Probe {
        if !self.map.contains(h, key) {
            return Probe::Missing;
        }
        if let Some(t) = self.expire_of(h, key) {
            if t < now_ms && !loading() {
                self.remove(h, key);
                self.expired_log.push(SBytes::new(key));
                return Probe::Missing;
            }
        }
        Probe::Present(0)
    }

    #[inline]
    pub fn get(&mut self, h: u64, key: &[u8], now_ms: i64) -> Option<&mut Entry> {
        if !self.expires.is_empty() {
            if let Probe::Missing = self.probe(h, key, now_ms) {
                return None;
            }
        }
        self.map.find_mut(h, key)
    }

    /// Read-only lookup that does not delete an expired key (for paths that
    /// must not write, such as a replica or a read under a shared view).
    pub fn peek(&self, h: u64, key: &[u8], now_ms: i64) -> Option<&Entry> {
        let e = self.map.find(h, key)?;
        match self.expire_of(h, key) {
            Some(t) if t < now_ms && !loading() => None,
            _ => Some(e),
        }
    }

    /// Inserts or overwrites a key. Unless `keep_ttl`, any expiry is cleared.
    /// Returns the previous value.
    pub fn insert(&mut self, h: u64, key: &[u8], entry: Entry, keep_ttl: bool) -> Option<Entry> {
        if !keep_ttl {
            self.remove_expire(h, key);
        }
        self.map.insert(h, key, entry)
    }

    /// Removes a key and its expiry; returns its entry.
    pub fn remove(&mut self, h: u64, key: &[u8]) -> Option<Entry> {
        let e = self.map.remove(h, key)?;
        self.remove_expire(h, key);
        Some(e)
    }

    pub fn set_expire(&mut self, h: u64, key: &[u8], at_ms: i64) {
        match self
            .expires
            .raw_entry_mut_v1()
            .from_hash(h, |k| k.as_slice() == key)
        {
            RawEntryMut::Occupied(mut o) => {
                *o.get_mut() = at_ms;
            }
            RawEntryMut::Vacant(v) => {
                v.insert_hashed_nocheck(h, SBytes::new(key), at_ms);
            }
        }
    }

    /// Clears a key's expiry; true if it had one.
    pub fn remove_expire(&mut self, h: u64, key: &[u8]) -> bool {
        if self.expires.is_empty() {
            return false;
        }
        match self
            .expires
            .raw_entry_mut_v1()
            .from_hash(h, |k| k.as_slice() == key)
        {
            RawEntryMut::Occupied(o) => {
                o.swap_remove();
                true
            }
            RawEntryMut::Vacant(_) => false,
        }
    }

    /// Marks WATCHers of `key` dirty.
    #[inline]
    pub fn touch_watched(&mut self, key: &[u8]) {
        if self.watched.is_empty() {
            return;
        }
        if let Some(flags) = self.watched.get(key) {
            for f in flags {
                f.store(true, Ordering::Release);
            }
        }
    }

    /// Marks every WATCHer in this shard dirty (FLUSHDB, SWAPDB...).
    pub fn touch_all_watched(&mut self) {
        for flags in self.watched.values() {
            for f in flags {
                f.store(true, Ordering::Release);
            }
        }
    }

    /// Removes all keys; returns the old tables so they can be dropped elsewhere.
    pub fn take_all(&mut self) -> (KeyTable, usize) {
        let hasher = self.map.hasher().clone();
        let n = self.map.len();
        let old = std::mem::replace(&mut self.map, KeyTable::with_hasher(hasher.clone()));
        self.expires = IndexMap::with_hasher(hasher);
        (old, n)
    }

    /// One round of Redis's active expiry on this shard: samples up to
    /// `samples` keys with an expiry, deletes the expired ones.
    /// Returns (sampled, expired keys).
    pub fn active_expire(&mut self, now_ms: i64, samples: usize) -> (usize, Vec<SBytes>) {
        let n = self.expires.len();
        if n == 0 {
            return (0, Vec::new());
        }
        let mut rng = rand::thread_rng();
        let mut expired = Vec::new();
        let take = samples.min(n);
        let mut sampled = 0;
        for _ in 0..take {
            let len = self.expires.len();
            if len == 0 {
                break;
            }
            let i = rng.gen_range(0..len);
            sampled += 1;
            let Some((k, &t)) = self.expires.get_index(i) else {
                break;
            };
            if t < now_ms && !loading() {
                let key = k.clone();
                let h = self.expires.hasher().hash_one(key.as_slice());
                self.remove(h, &key);
                expired.push(key);
            }
        }
        (sampled, expired)
    }

    /// A random live key (expired keys found on the way are deleted).
    pub fn random_key(&mut self, now_ms: i64) -> Option<SBytes> {
        let mut rng = rand::thread_rng();
        for _ in 0..100 {
            let len = self.map.len();
            if len == 0 {
                return None;
            }
            let i = rng.gen_range(0..len);
            let key = self.map.nth(i)?.0.clone();
            let h = self.map.hasher().hash_one(key.as_slice());
            if let Probe::Present(_) = self.probe(h, &key, now_ms) {
                return Some(key);
            }
        }
        None
    }
}
