//! Spinel's keyspace: databases split into hash shards, each behind its own
//! lock, holding values in compact representations with lazy and active
//! expiry.
//!
//! Locking discipline (see DESIGN §2): a command locks the shards of its keys
//! in ascending (db, shard) order, so multi-key commands never deadlock.

pub mod glob;
pub mod hash;
pub mod list;
pub mod listpack;
pub mod sbytes;
pub mod set;
pub mod shard;
pub mod table;
pub mod value;
pub mod zset;

pub use sbytes::SBytes;
pub use shard::{Entry, Probe, Shard, WatchFlag};
pub use value::Value;

use ahash::RandomState;
use parking_lot::Mutex;

/// Default number of shards per database (a power of two).
pub const DEFAULT_SHARDS: usize = 512;

pub struct Db {
    pub shards: Box<[Mutex<Shard>]>,
}

pub struct Keyspace {
    pub dbs: Box<[Db]>,
    hasher: RandomState,
    shard_mask: usize,
}

impl Keyspace {
    /// `nshards` is rounded up to a power of two.
    pub fn new(ndbs: usize, nshards: usize) -> Self {
        let nshards = nshards.max(1).next_power_of_two();
        let hasher = RandomState::with_seeds(
            rand::random(),
            rand::random(),
            rand::random(),
            rand::random(),
        );
        let dbs = (0..ndbs.max(1))
            .map(|d| Db {
                shards: (0..nshards)
                    .map(|_| Mutex::new(Shard::new(d as u32, &hasher)))
                    .collect(),
            })
            .collect();
        Keyspace {
            dbs,
            hasher,
            shard_mask: nshards - 1,
        }
    }

    #[inline]
    pub fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The shard a hash belongs to. Uses bits the tables themselves don't
    /// rely on (they use the low bits and the top 7).
    #[inline]
    pub fn shard_of(&self, h: u64) -> usize {
        ((h >> 40) as usize) & self.shard_mask
    }

    #[inline]
    pub fn nshards(&self) -> usize {
        self.shard_mask + 1
    }

    #[inline]
    pub fn ndbs(&self) -> usize {
        self.dbs.len()
    }

    /// Number of keys in a database (including not yet reclaimed expired ones).
    pub fn dbsize(&self, db: usize) -> usize {
        match self.dbs.get(db) {
            Some(d) => d.shards.iter().map(|s| s.lock().len()).sum(),
            None => 0,
        }
    }

    /// (keys, keys with expiry) for INFO keyspace.
    pub fn db_stats(&self, db: usize) -> (usize, usize) {
        match self.dbs.get(db) {
            Some(d) => d.shards.iter().fold((0, 0), |(k, e), s| {
                let s = s.lock();
                (k + s.map.len(), e + s.expires.len())
            }),
            None => (0, 0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_get_expire() {
        let ks = Keyspace::new(2, 16);
        let h = ks.hash(b"k");
        let s = ks.shard_of(h);
        let mut sh = ks.dbs[0].shards[s].lock();
        sh.insert(h, b"k", Entry::new(Value::string(b"12"), 0), false);
        assert!(matches!(
            sh.get(h, b"k", 0).map(|e| &e.value),
            Some(Value::Int(12))
        ));
        sh.set_expire(h, b"k", 100);
        assert!(sh.get(h, b"k", 50).is_some());
        assert!(sh.get(h, b"k", 100).is_some());
        assert!(sh.get(h, b"k", 101).is_none());
        assert_eq!(sh.expired_log.len(), 1);
        assert!(sh.is_empty());
        assert!(sh.expires.is_empty());
    }

    #[test]
    fn value_size() {
        // 32 bytes: a key node (24-byte key + 40-byte entry) is exactly a
        // 64-byte allocation (the size class a 56-byte node would get too),
        // which leaves room for a hash or sorted set header inline.
        assert_eq!(std::mem::size_of::<Value>(), 32);
        assert_eq!(std::mem::size_of::<Entry>(), 40);
    }
}
