//! `KeyTable`: the main key → entry table of a shard.
//!
//! An open-addressing table (hashbrown's SwissTable) of thin pointers to
//! heap nodes that hold the key and its entry together: 8 bytes plus one
//! control byte per slot, and one allocation per key sized to its contents.
//! Compared with storing entries inline in the table (or in a dense vector
//! that grows by doubling), empty slots cost 9 bytes instead of a whole
//! entry, which keeps per-key overhead below Redis's dictEntry + robj + sds.

use crate::sbytes::SBytes;
use crate::shard::Entry;
use ahash::RandomState;
use hashbrown::HashTable;

struct Node {
    key: SBytes,
    entry: Entry,
}

pub struct KeyTable {
    table: HashTable<Box<Node>>,
    hasher: RandomState,
}

impl KeyTable {
    pub fn with_hasher(hasher: RandomState) -> Self {
        KeyTable {
            table: HashTable::new(),
            hasher,
        }
    }

    pub fn hasher(&self) -> &RandomState {
        &self.hasher
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.table.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Slots allocated (for memory accounting).
    pub fn capacity(&self) -> usize {
        self.table.capacity()
    }

    #[inline]
    pub fn find(&self, h: u64, key: &[u8]) -> Option<&Entry> {
        self.table
            .find(h, |n| n.key.as_slice() == key)
            .map(|n| &n.entry)
    }

    #[inline]
    pub fn find_mut(&mut self, h: u64, key: &[u8]) -> Option<&mut Entry> {
        self.table
            .find_mut(h, |n| n.key.as_slice() == key)
            .map(|n| &mut n.entry)
    }

    #[inline]
    pub fn contains(&self, h: u64, key: &[u8]) -> bool {
        self.find(h, key).is_some()
    }

    /// Inserts or replaces; returns the previous entry.
    pub fn insert(&mut self, h: u64, key: &[u8], entry: Entry) -> Option<Entry> {
        if let Some(n) = self.table.find_mut(h, |n| n.key.as_slice() == key) {
            return Some(std::mem::replace(&mut n.entry, entry));
        }
        let hasher = &self.hasher;
        self.table.insert_unique(
            h,
            Box::new(Node {
                key: SBytes::new(key),
                entry,
            }),
            |n| hasher.hash_one(n.key.as_slice()),
        );
        None
    }

    pub fn remove(&mut self, h: u64, key: &[u8]) -> Option<Entry> {
        match self.table.find_entry(h, |n| n.key.as_slice() == key) {
            Ok(occ) => {
                let (node, _) = occ.remove();
                Some(node.entry)
            }
            Err(_) => None,
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&SBytes, &Entry)> {
        self.table.iter().map(|n| (&n.key, &n.entry))
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&SBytes, &mut Entry)> {
        self.table.iter_mut().map(|n| (&n.key, &mut n.entry))
    }

    pub fn keys(&self) -> impl Iterator<Item = &SBytes> {
        self.table.iter().map(|n| &n.key)
    }

    /// The i-th entry in table order (O(n); used for random sampling of the
    /// small per-shard tables).
    pub fn nth(&self, i: usize) -> Option<(&SBytes, &Entry)> {
        self.iter().nth(i)
    }

    pub fn clear(&mut self) {
        self.table.clear();
    }

    /// Frees unused slots after many deletions.
    pub fn shrink_to_fit(&mut self) {
        let hasher = &self.hasher;
        self.table
            .shrink_to_fit(|n| hasher.hash_one(n.key.as_slice()));
    }

    /// Approximate bytes used by the table and its nodes (not the values'
    /// own heap data).
    pub fn overhead_bytes(&self) -> usize {
        self.table.capacity() * (std::mem::size_of::<usize>() + 1)
            + self.table.len() * std::mem::size_of::<Node>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Value;

    #[test]
    fn insert_find_remove() {
        let hs = RandomState::with_seeds(1, 2, 3, 4);
        let mut t = KeyTable::with_hasher(hs.clone());
        for i in 0..1000 {
            let k = format!("key:{i}");
            let h = hs.hash_one(k.as_bytes());
            assert!(t
                .insert(h, k.as_bytes(), Entry::new(Value::Int(i), 0))
                .is_none());
        }
        assert_eq!(t.len(), 1000);
        let h = hs.hash_one(&b"key:7"[..]);
        assert!(matches!(
            t.find(h, b"key:7").map(|e| &e.value),
            Some(Value::Int(7))
        ));
        assert!(t.remove(h, b"key:7").is_some());
        assert!(t.find(h, b"key:7").is_none());
        assert_eq!(t.iter().count(), 999);
    }
}
