//! Hash values, and `Table`, the chained hash table that is the big encoding
//! of hashes and sets.
//!
//! A hash is a [`Listpack`] of alternating field/value entries while it is
//! small (`OBJECT ENCODING listpack`), and a [`Table`] of [`HashEntry`] once
//! it has more than `hash-max-listpack-entries` fields or a field or value
//! longer than `hash-max-listpack-value` bytes (`hashtable`). As in Redis 7.2
//! the conversion is one way: a hash never goes back to a listpack.
//!
//! `Table` is a power-of-two array of bucket chains that resizes like Redis's
//! `dict` (grow when full, shrink below 10% fill). That shape is what lets
//! HSCAN/SSCAN use Redis's reverse-binary cursor: an element present for the
//! whole scan is returned at least once even when other clients add or remove
//! elements (and the table grows or shrinks) between calls. A map with
//! positional cursors cannot promise that, since removals move elements.

use crate::listpack::Listpack;
use crate::sbytes::SBytes;
use ahash::RandomState;
use rand::Rng;
use std::sync::OnceLock;

/// Redis's built-in `hash-max-listpack-entries` (the sample redis.conf
/// sets 128).
pub const DEFAULT_MAX_LISTPACK_ENTRIES: usize = 512;
/// Redis's default `hash-max-listpack-value`.
pub const DEFAULT_MAX_LISTPACK_VALUE: usize = 64;

/// The listpack thresholds of a hash (`hash-max-listpack-*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashLimits {
    pub max_listpack_entries: usize,
    pub max_listpack_value: usize,
}

impl Default for HashLimits {
    fn default() -> Self {
        HashLimits {
            max_listpack_entries: DEFAULT_MAX_LISTPACK_ENTRIES,
            max_listpack_value: DEFAULT_MAX_LISTPACK_VALUE,
        }
    }
}

// ---------------------------------------------------------------------------
// Table

/// What a `Table` stores: anything with a byte-string key.
pub trait TableEntry {
    fn key(&self) -> &[u8];
}

impl TableEntry for SBytes {
    #[inline]
    fn key(&self) -> &[u8] {
        self.as_slice()
    }
}

/// Smallest non-empty table (Redis's `DICT_HT_INITIAL_SIZE`).
const MIN_BUCKETS: usize = 4;
/// Shrink when fewer than this percent of the buckets are used.
const MIN_FILL_PERCENT: usize = 10;

fn hasher() -> &'static RandomState {
    static H: OnceLock<RandomState> = OnceLock::new();
    H.get_or_init(|| {
        RandomState::with_seeds(
            rand::random(),
            rand::random(),
            rand::random(),
            rand::random(),
        )
    })
}

/// The hash `Table` buckets by (its low bits).
#[inline]
pub fn table_hash(key: &[u8]) -> u64 {
    hasher().hash_one(key)
}

type Link<E> = Option<Box<Node<E>>>;

#[derive(Clone)]
struct Node<E> {
    next: Link<E>,
    e: E,
}

/// Power-of-two bucket count holding `n` entries at load factor <= 1.
fn buckets_for(n: usize) -> usize {
    n.max(MIN_BUCKETS)
        .checked_next_power_of_two()
        .unwrap_or(1 << (usize::BITS - 1))
}

/// A chained hash table with power-of-two bucket arrays and Redis's scan
/// cursor. New entries go to the head of their chain; resizing rehashes every
/// entry at once (no incremental rehash).
#[derive(Clone)]
pub struct Table<E> {
    buckets: Box<[Link<E>]>,
    len: usize,
}

impl<E> Default for Table<E> {
    fn default() -> Self {
        Table {
            buckets: Box::new([]),
            len: 0,
        }
    }
}

impl<E: TableEntry> Table<E> {
    pub fn new() -> Self {
        Table::default()
    }

    /// An empty table pre-sized for `n` entries (Redis's `dictExpand`).
    pub fn with_capacity(n: usize) -> Self {
        let mut t = Table::new();
        if n > 0 {
            t.resize_to(buckets_for(n));
        }
        t
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of buckets (a power of two, or 0).
    pub fn bucket_count(&self) -> usize {
        self.buckets.len()
    }

    #[inline]
    fn slot(&self, key: &[u8]) -> usize {
        (table_hash(key) as usize) & self.buckets.len().wrapping_sub(1)
    }

    pub fn get(&self, key: &[u8]) -> Option<&E> {
        if self.len == 0 {
            return None;
        }
        let mut cur = self.buckets.get(self.slot(key))?.as_deref();
        while let Some(n) = cur {
            if n.e.key() == key {
                return Some(&n.e);
            }
            cur = n.next.as_deref();
        }
        None
    }

    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut E> {
        if self.len == 0 {
            return None;
        }
        let i = self.slot(key);
        let mut cur = self.buckets.get_mut(i)?.as_deref_mut();
        while let Some(n) = cur {
            if n.e.key() == key {
                return Some(&mut n.e);
            }
            cur = n.next.as_deref_mut();
        }
        None
    }

    pub fn contains(&self, key: &[u8]) -> bool {
        self.get(key).is_some()
    }

    /// Adds an entry whose key is known to be absent.
    pub fn insert_new(&mut self, e: E) {
        if self.len >= self.buckets.len() {
            self.resize_to(buckets_for(self.len + 1));
        }
        let i = self.slot(e.key());
        if let Some(b) = self.buckets.get_mut(i) {
            let next = b.take();
            *b = Some(Box::new(Node { next, e }));
            self.len += 1;
        }
    }

    /// Adds or replaces an entry; returns the replaced one.
    pub fn insert(&mut self, e: E) -> Option<E> {
        if let Some(old) = self.get_mut(e.key()) {
            return Some(std::mem::replace(old, e));
        }
        self.insert_new(e);
        None
    }

    /// Removes the entry with `key`, shrinking the table when it gets
    /// sparse (Redis's `htNeedsResize` + `dictResize`).
    pub fn remove(&mut self, key: &[u8]) -> Option<E> {
        if self.len == 0 {
            return None;
        }
        let i = self.slot(key);
        let mut link = self.buckets.get_mut(i)?;
        while link.as_ref().is_some_and(|n| n.e.key() != key) {
            link = &mut link.as_mut()?.next;
        }
        let mut node = link.take()?;
        *link = node.next.take();
        self.len -= 1;
        let size = self.buckets.len();
        if size > MIN_BUCKETS && self.len * 100 / size < MIN_FILL_PERCENT {
            self.resize_to(buckets_for(self.len));
        }
        let Node { e, .. } = *node;
        Some(e)
    }

    /// Grows the bucket array so `n` entries fit at load factor 1.
    pub fn reserve(&mut self, n: usize) {
        let want = buckets_for(n);
        if want > self.buckets.len() {
            self.resize_to(want);
        }
    }

    fn resize_to(&mut self, size: usize) {
        let mut nb: Box<[Link<E>]> = (0..size).map(|_| None).collect();
        let mask = size.wrapping_sub(1);
        let old = std::mem::take(&mut self.buckets);
        for mut link in old.into_vec() {
            while let Some(mut node) = link {
                link = node.next.take();
                let i = (table_hash(node.e.key()) as usize) & mask;
                if let Some(b) = nb.get_mut(i) {
                    node.next = b.take();
                    *b = Some(node);
                }
            }
        }
        self.buckets = nb;
    }

    pub fn iter(&self) -> TableIter<'_, E> {
        TableIter {
            buckets: self.buckets.iter(),
            cur: None,
        }
    }

    /// A random entry: a random non-empty bucket, then a random entry of its
    /// chain (Redis's `dictGetRandomKey`).
    pub fn random<R: Rng + ?Sized>(&self, rng: &mut R) -> Option<&E> {
        if self.len == 0 || self.buckets.is_empty() {
            return None;
        }
        let mask = self.buckets.len() - 1;
        let mut start = rng.gen::<usize>() & mask;
        let mut tries = 0;
        let head = loop {
            if let Some(Some(n)) = self.buckets.get(start) {
                break n;
            }
            tries += 1;
            start = if tries < 1000 {
                rng.gen::<usize>() & mask
            } else {
                (start + 1) & mask
            };
        };
        let mut chain_len = 0;
        let mut cur = Some(&**head);
        while let Some(n) = cur {
            chain_len += 1;
            cur = n.next.as_deref();
        }
        let mut k = rng.gen_range(0..chain_len);
        let mut cur = &**head;
        while k > 0 {
            cur = cur.next.as_deref()?;
            k -= 1;
        }
        Some(&cur.e)
    }

    /// One step of Redis's `dictScan`: visits the bucket `cursor` points at
    /// and returns the next cursor (0 when the scan is complete). The cursor
    /// counts with its bits reversed, so the buckets a scan has visited stay
    /// visited when the table doubles or halves between calls.
    pub fn scan<'a>(&'a self, cursor: u64, mut f: impl FnMut(&'a E)) -> u64 {
        if self.len == 0 || self.buckets.is_empty() {
            return 0;
        }
        let m0 = (self.buckets.len() - 1) as u64;
        let mut cur = self
            .buckets
            .get((cursor & m0) as usize)
            .and_then(|b| b.as_deref());
        while let Some(n) = cur {
            f(&n.e);
            cur = n.next.as_deref();
        }
        let mut v = cursor | !m0;
        v = v.reverse_bits();
        v = v.wrapping_add(1);
        v.reverse_bits()
    }

    /// Heap bytes of the bucket array and the nodes (not the entries' own heap).
    pub fn heap_size(&self) -> usize {
        self.buckets.len() * std::mem::size_of::<Link<E>>()
            + self.len * std::mem::size_of::<Node<E>>()
    }
}

pub struct TableIter<'a, E> {
    buckets: std::slice::Iter<'a, Link<E>>,
    cur: Option<&'a Node<E>>,
}

impl<'a, E> Iterator for TableIter<'a, E> {
    type Item = &'a E;
    #[inline]
    fn next(&mut self) -> Option<&'a E> {
        loop {
            if let Some(n) = self.cur {
                self.cur = n.next.as_deref();
                return Some(&n.e);
            }
            self.cur = self.buckets.next()?.as_deref();
        }
    }
}

impl<E: TableEntry + std::fmt::Debug> std::fmt::Debug for Table<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

// ---------------------------------------------------------------------------
// Pack

/// Redis refuses to grow a listpack past 1 GiB (`lpSafeToAdd`).
pub const PACK_SAFETY_SIZE: usize = 1 << 30;

#[inline]
fn put_varint(out: &mut Vec<u8>, mut v: usize) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// Bytes an entry of `len` payload bytes takes in a [`Pack`].
#[inline]
pub fn pack_entry_size(len: usize) -> usize {
    let mut n = 1;
    let mut v = len;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n + len
}

/// The small encoding of hashes and sets (`OBJECT ENCODING listpack`):
/// entries back to back as `varint(len) bytes`, the layout of
/// [`Listpack`], in one heap block of exactly the bytes used. The entry
/// count is kept by the owner (a hash keeps it beside the pointer; a set
/// counts its entries), so a small hash or set value is 24 bytes plus its
/// entries plus one length byte per entry.
/// Every change reallocates the block, as Redis's listpack does.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Pack(Box<[u8]>);

/// An entry's position in a [`Pack`]: `start..end` is the whole encoded
/// entry, `data..end` its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackPos {
    pub start: usize,
    pub data: usize,
    pub end: usize,
}

pub struct PackIter<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> PackIter<'a> {
    /// The next entry's position.
    #[inline]
    pub fn next_pos(&mut self) -> Option<PackPos> {
        let start = self.pos;
        let mut v: usize = 0;
        let mut shift = 0;
        let mut p = start;
        loop {
            let b = *self.buf.get(p)?;
            p += 1;
            v |= ((b & 0x7f) as usize) << shift;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
            if shift > 56 {
                return None;
            }
        }
        let end = p.checked_add(v).filter(|&e| e <= self.buf.len())?;
        self.pos = end;
        Some(PackPos {
            start,
            data: p,
            end,
        })
    }
}

impl<'a> Iterator for PackIter<'a> {
    type Item = &'a [u8];
    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        let p = self.next_pos()?;
        self.buf.get(p.data..p.end)
    }
}

impl std::fmt::Debug for Pack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|e| String::from_utf8_lossy(e).into_owned()))
            .finish()
    }
}

impl Pack {
    pub fn new() -> Self {
        Pack::default()
    }

    /// Encoded size in bytes (also its heap size).
    #[inline]
    pub fn bytes(&self) -> usize {
        self.0.len()
    }

    #[inline]
    pub fn iter(&self) -> PackIter<'_> {
        PackIter {
            buf: &self.0,
            pos: 0,
        }
    }

    /// The payload at a position returned by this pack's iterator.
    #[inline]
    pub fn at(&self, p: PackPos) -> &[u8] {
        self.0.get(p.data..p.end).unwrap_or_default()
    }

    /// Appends entries (one reallocation).
    pub fn push(&mut self, entries: &[&[u8]]) {
        let add: usize = entries.iter().map(|e| pack_entry_size(e.len())).sum();
        let mut v = std::mem::take(&mut self.0).into_vec();
        v.reserve_exact(add);
        for e in entries {
            put_varint(&mut v, e.len());
            v.extend_from_slice(e);
        }
        self.0 = v.into_boxed_slice();
    }

    /// Removes the encoded bytes `start..end` (whole entries).
    pub fn remove_bytes(&mut self, start: usize, end: usize) {
        let len = self.0.len();
        let (start, end) = (start.min(len), end.min(len));
        if start >= end {
            return;
        }
        let mut v = std::mem::take(&mut self.0).into_vec();
        v.drain(start..end);
        self.0 = v.into_boxed_slice();
    }

    /// Replaces the entry at `p` with `e`.
    pub fn replace(&mut self, p: PackPos, e: &[u8]) {
        let len = self.0.len();
        let (start, end) = (p.start.min(len), p.end.min(len));
        let mut enc = Vec::with_capacity(pack_entry_size(e.len()));
        put_varint(&mut enc, e.len());
        enc.extend_from_slice(e);
        if end - start == enc.len() {
            if let Some(dst) = self.0.get_mut(start..end) {
                dst.copy_from_slice(&enc);
            }
            return;
        }
        let mut v = Vec::with_capacity(len - (end - start) + enc.len());
        v.extend_from_slice(self.0.get(..start).unwrap_or_default());
        v.extend_from_slice(&enc);
        v.extend_from_slice(self.0.get(end..).unwrap_or_default());
        self.0 = v.into_boxed_slice();
    }

    /// Keeps the entries for which `keep(index)` is true (one rebuild).
    pub fn retain_indexes(&mut self, mut keep: impl FnMut(usize) -> bool) {
        let mut v = Vec::with_capacity(self.0.len());
        let mut it = self.iter();
        let mut i = 0;
        while let Some(p) = it.next_pos() {
            if keep(i) {
                v.extend_from_slice(self.0.get(p.start..p.end).unwrap_or_default());
            }
            i += 1;
        }
        self.0 = v.into_boxed_slice();
    }

    /// A copy as the shared [`Listpack`] type.
    pub fn to_listpack(&self) -> Listpack {
        let mut lp = Listpack::with_capacity(self.bytes());
        for e in self.iter() {
            lp.push_back(e);
        }
        lp
    }
}

// ---------------------------------------------------------------------------
// Hash values

/// One field of a hash in the `hashtable` encoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HashEntry {
    pub field: SBytes,
    pub value: SBytes,
}

impl TableEntry for HashEntry {
    #[inline]
    fn key(&self) -> &[u8] {
        self.field.as_slice()
    }
}

/// A hash value: 24 bytes plus its data.
#[derive(Clone)]
pub enum HashValue {
    /// `listpack`: alternating field, value entries; `pairs` fields.
    Listpack { pairs: u32, pack: Pack },
    /// `hashtable`.
    Table(Box<Table<HashEntry>>),
}

impl Default for HashValue {
    fn default() -> Self {
        HashValue::Listpack {
            pairs: 0,
            pack: Pack::new(),
        }
    }
}

impl std::fmt::Debug for HashValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.iter().map(|(k, v)| {
                (
                    String::from_utf8_lossy(k).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                )
            }))
            .finish()
    }
}

/// Positions of `field` and its value in a field/value pack.
fn pack_find_pair(pack: &Pack, field: &[u8]) -> Option<(PackPos, PackPos)> {
    let mut it = pack.iter();
    while let Some(f) = it.next_pos() {
        let v = it.next_pos()?;
        if pack.at(f) == field {
            return Some((f, v));
        }
    }
    None
}

impl HashValue {
    /// An empty hash (listpack encoding).
    pub fn new() -> Self {
        HashValue::default()
    }

    /// Builds a hash from pairs (e.g. a loader) as HSET would. Later
    /// duplicates of a field overwrite earlier ones.
    pub fn from_pairs<'a, I>(pairs: I, lim: &HashLimits) -> Self
    where
        I: IntoIterator<Item = (&'a [u8], &'a [u8])>,
    {
        let args: Vec<&[u8]> = pairs.into_iter().flat_map(|(f, v)| [f, v]).collect();
        let mut h = HashValue::new();
        h.try_conversion(&args, lim);
        h.set_many(&args, lim);
        h
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        match self {
            HashValue::Listpack { pairs, .. } => *pairs as usize,
            HashValue::Table(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `OBJECT ENCODING` name.
    pub fn encoding(&self) -> &'static str {
        match self {
            HashValue::Listpack { .. } => "listpack",
            HashValue::Table(_) => "hashtable",
        }
    }

    pub fn is_listpack(&self) -> bool {
        matches!(self, HashValue::Listpack { .. })
    }

    /// Approximate heap bytes owned by the hash.
    pub fn heap_size(&self) -> usize {
        match self {
            HashValue::Listpack { pack, .. } => pack.bytes(),
            HashValue::Table(t) => {
                std::mem::size_of::<Table<HashEntry>>()
                    + t.heap_size()
                    + t.iter()
                        .map(|e| e.field.heap_size() + e.value.heap_size())
                        .sum::<usize>()
            }
        }
    }

    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match self {
            HashValue::Listpack { pack, .. } => {
                pack_find_pair(pack, field).map(|(_, v)| pack.at(v))
            }
            HashValue::Table(t) => t.get(field).map(|e| e.value.as_slice()),
        }
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        match self {
            HashValue::Listpack { pack, .. } => pack_find_pair(pack, field).is_some(),
            HashValue::Table(t) => t.contains(field),
        }
    }

    /// Redis's `hashTypeSet`: sets `field` to `value`; true when the field is
    /// new. Converts to a table before adding a field or value longer than
    /// `max_listpack_value`, and after growing past `max_listpack_entries`.
    pub fn set(&mut self, field: &[u8], value: &[u8], lim: &HashLimits) -> bool {
        if let HashValue::Listpack { pack, .. } = self {
            if field.len() > lim.max_listpack_value
                || value.len() > lim.max_listpack_value
                || pack.bytes() + field.len() + value.len() + 20 > PACK_SAFETY_SIZE
            {
                self.convert_to_table(0);
            }
        }
        match self {
            HashValue::Listpack { pairs, pack } => {
                if let Some((_, v)) = pack_find_pair(pack, field) {
                    pack.replace(v, value);
                    // Redis re-checks the length after every write, updates
                    // included (the limit may have been lowered meanwhile).
                    if *pairs as usize > lim.max_listpack_entries {
                        self.convert_to_table(0);
                    }
                    return false;
                }
                pack.push(&[field, value]);
                *pairs += 1;
                if *pairs as usize > lim.max_listpack_entries || *pairs == u32::MAX {
                    self.convert_to_table(0);
                }
                true
            }
            HashValue::Table(t) => match t.get_mut(field) {
                Some(e) => {
                    e.value = SBytes::new(value);
                    false
                }
                None => {
                    t.insert_new(HashEntry {
                        field: SBytes::new(field),
                        value: SBytes::new(value),
                    });
                    true
                }
            },
        }
    }

    /// Sets each field/value pair of `args` in order with [`HashValue::set`]'s
    /// rules, appending new fields of a listpack in one go. Returns how many
    /// fields were new.
    pub fn set_many(&mut self, args: &[&[u8]], lim: &HashLimits) -> usize {
        let mut created = 0;
        let mut i = 0;
        while let (Some(&f), Some(&v)) = (args.get(i), args.get(i + 1)) {
            match self {
                HashValue::Listpack { pairs, pack } => {
                    let mut pending: Vec<(&[u8], &[u8])> = Vec::new();
                    let mut bytes = pack.bytes();
                    while let (Some(&f), Some(&v)) = (args.get(i), args.get(i + 1)) {
                        if f.len() > lim.max_listpack_value || v.len() > lim.max_listpack_value {
                            break;
                        }
                        if let Some(p) = pending.iter_mut().find(|p| p.0 == f) {
                            p.1 = v;
                        } else if let Some((_, vp)) = pack_find_pair(pack, f) {
                            pack.replace(vp, v);
                        } else {
                            let n = *pairs as usize + pending.len();
                            let size = pack_entry_size(f.len()) + pack_entry_size(v.len());
                            if n >= lim.max_listpack_entries
                                || n + 1 >= u32::MAX as usize
                                || bytes + size > PACK_SAFETY_SIZE
                            {
                                break;
                            }
                            bytes += size;
                            pending.push((f, v));
                        }
                        i += 2;
                    }
                    let flat: Vec<&[u8]> = pending.iter().flat_map(|&(f, v)| [f, v]).collect();
                    pack.push(&flat);
                    *pairs += pending.len() as u32;
                    created += pending.len();
                    if let (Some(&f), Some(&v)) = (args.get(i), args.get(i + 1)) {
                        created += usize::from(self.set(f, v, lim));
                        i += 2;
                    }
                }
                HashValue::Table(_) => {
                    created += usize::from(self.set(f, v, lim));
                    i += 2;
                }
            }
        }
        if let HashValue::Listpack { pairs, .. } = self {
            if *pairs as usize > lim.max_listpack_entries {
                self.convert_to_table(0);
            }
        }
        created
    }

    /// Redis's `hashTypeTryConversion` for the field/value arguments a
    /// command is about to set: more pairs than `max_listpack_entries`, or
    /// any argument longer than `max_listpack_value`, converts up front.
    pub fn try_conversion(&mut self, args: &[&[u8]], lim: &HashLimits) {
        let HashValue::Listpack { pack, .. } = self else {
            return;
        };
        let cur_bytes = pack.bytes();
        let new_fields = args.len() / 2;
        if new_fields > lim.max_listpack_entries {
            self.convert_to_table(new_fields);
            return;
        }
        let mut sum = 0usize;
        for a in args {
            if a.len() > lim.max_listpack_value {
                self.convert_to_table(0);
                return;
            }
            sum += a.len();
        }
        if cur_bytes.saturating_add(sum) > PACK_SAFETY_SIZE {
            self.convert_to_table(0);
        }
    }

    /// Switches to the `hashtable` encoding, pre-sized for at least `cap`
    /// fields. No-op when already a table.
    pub fn convert_to_table(&mut self, cap: usize) {
        let HashValue::Listpack { pairs, pack } = self else {
            return;
        };
        let mut t = Table::with_capacity(cap.max(*pairs as usize));
        let mut it = pack.iter();
        while let Some(f) = it.next() {
            let v = it.next().unwrap_or_default();
            t.insert(HashEntry {
                field: SBytes::new(f),
                value: SBytes::new(v),
            });
        }
        *self = HashValue::Table(Box::new(t));
    }

    /// Removes a field; true if it existed.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self {
            HashValue::Listpack { pairs, pack } => match pack_find_pair(pack, field) {
                Some((f, v)) => {
                    pack.remove_bytes(f.start, v.end);
                    *pairs -= 1;
                    true
                }
                None => false,
            },
            HashValue::Table(t) => t.remove(field).is_some(),
        }
    }

    /// Fields and values in encoding order.
    pub fn iter(&self) -> HashIter<'_> {
        match self {
            HashValue::Listpack { pack, .. } => HashIter::Listpack(pack.iter()),
            HashValue::Table(t) => HashIter::Table(t.iter()),
        }
    }

    /// A random field and its value.
    pub fn random_pair<R: Rng + ?Sized>(&self, rng: &mut R) -> Option<(&[u8], &[u8])> {
        match self {
            HashValue::Listpack { pairs, pack } => {
                if *pairs == 0 {
                    return None;
                }
                let i = rng.gen_range(0..*pairs as usize);
                let mut it = pack.iter().skip(2 * i);
                Some((it.next()?, it.next()?))
            }
            HashValue::Table(t) => t
                .random(rng)
                .map(|e| (e.field.as_slice(), e.value.as_slice())),
        }
    }

    /// One HSCAN step: calls `f` for the fields visited and returns the next
    /// cursor. A listpack is visited whole (cursor 0 comes back), as in Redis.
    pub fn scan<'a>(&'a self, cursor: u64, mut f: impl FnMut(&'a [u8], &'a [u8])) -> u64 {
        match self {
            HashValue::Listpack { .. } => {
                for (k, v) in self.iter() {
                    f(k, v);
                }
                0
            }
            HashValue::Table(t) => t.scan(cursor, |e| f(&e.field, &e.value)),
        }
    }
}

pub enum HashIter<'a> {
    Listpack(PackIter<'a>),
    Table(TableIter<'a, HashEntry>),
}

impl<'a> Iterator for HashIter<'a> {
    type Item = (&'a [u8], &'a [u8]);
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            HashIter::Listpack(it) => {
                let f = it.next()?;
                let v = it.next()?;
                Some((f, v))
            }
            HashIter::Table(it) => it.next().map(|e| (e.field.as_slice(), e.value.as_slice())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};

    fn lim() -> HashLimits {
        HashLimits {
            max_listpack_entries: 128,
            max_listpack_value: 64,
        }
    }

    #[test]
    fn listpack_basics_and_conversion_on_count() {
        let mut h = HashValue::new();
        for i in 0..128 {
            assert!(h.set(format!("f{i}").as_bytes(), b"v", &lim()));
        }
        assert_eq!(h.encoding(), "listpack");
        assert!(!h.set(b"f3", b"new", &lim()));
        assert_eq!(h.get(b"f3"), Some(&b"new"[..]));
        assert!(h.set(b"f128", b"v", &lim()));
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.len(), 129);
        assert_eq!(h.get(b"f3"), Some(&b"new"[..]));
        assert!(h.remove(b"f3"));
        assert!(!h.remove(b"f3"));
        assert_eq!(h.len(), 128);
        assert_eq!(h.encoding(), "hashtable");
    }

    #[test]
    fn conversion_on_long_field_or_value() {
        let mut h = HashValue::new();
        h.set(b"a", &[b'x'; 64], &lim());
        assert_eq!(h.encoding(), "listpack");
        h.set(b"b", &[b'x'; 65], &lim());
        assert_eq!(h.encoding(), "hashtable");
        let mut h = HashValue::new();
        h.set(&[b'k'; 65], b"1", &lim());
        assert_eq!(h.encoding(), "hashtable");
        let mut h = HashValue::new();
        h.try_conversion(&[b"a", &[b'x'; 65]], &lim());
        assert_eq!(h.encoding(), "hashtable");
        let mut h = HashValue::new();
        let args: Vec<&[u8]> = vec![b"a"; 258];
        h.try_conversion(&args, &lim());
        assert_eq!(h.encoding(), "hashtable");
        let mut h = HashValue::new();
        let args: Vec<&[u8]> = vec![b"a"; 256];
        h.try_conversion(&args, &lim());
        assert_eq!(h.encoding(), "listpack");
    }

    #[test]
    fn iter_random_and_listpack_scan() {
        let mut h = HashValue::new();
        h.set(b"a", b"1", &lim());
        h.set(b"b", b"2", &lim());
        let all: Vec<_> = h.iter().collect();
        assert_eq!(all, vec![(&b"a"[..], &b"1"[..]), (&b"b"[..], &b"2"[..])]);
        let mut rng = rand::thread_rng();
        for _ in 0..20 {
            let (f, v) = h.random_pair(&mut rng).unwrap_or_default();
            assert_eq!(h.get(f), Some(v));
        }
        let mut seen = 0;
        assert_eq!(h.scan(0, |_, _| seen += 1), 0);
        assert_eq!(seen, 2);
    }

    #[test]
    fn table_grows_and_shrinks() {
        let mut t: Table<SBytes> = Table::new();
        for i in 0..1000 {
            t.insert_new(SBytes::from(format!("m{i}").as_str()));
        }
        assert_eq!(t.len(), 1000);
        assert_eq!(t.bucket_count(), 1024);
        for i in 0..1000 {
            assert!(t.contains(format!("m{i}").as_bytes()));
        }
        for i in 0..995 {
            assert!(t.remove(format!("m{i}").as_bytes()).is_some());
        }
        assert_eq!(t.len(), 5);
        assert!(t.bucket_count() <= 64);
        let rest: HashSet<Vec<u8>> = t.iter().map(|e| e.to_vec()).collect();
        assert_eq!(rest.len(), 5);
        let mut rng = rand::thread_rng();
        let mut picked = HashSet::new();
        for _ in 0..500 {
            picked.insert(t.random(&mut rng).map(|e| e.to_vec()).unwrap_or_default());
        }
        assert_eq!(picked, rest);
    }

    /// The SCAN guarantee: elements present for the whole scan are returned
    /// at least once although the table is resized between steps.
    #[test]
    fn scan_survives_resizes() {
        use rand::SeedableRng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for round in 0..10 {
            let mut t: Table<SBytes> = Table::new();
            let stable: Vec<String> = (0..200).map(|i| format!("s{round}:{i}")).collect();
            for s in &stable {
                t.insert_new(SBytes::from(s.as_str()));
            }
            let mut churn: Vec<String> = Vec::new();
            let mut seen: HashMap<Vec<u8>, usize> = HashMap::new();
            let mut cursor = 0u64;
            let mut steps = 0;
            loop {
                cursor = t.scan(cursor, |e| *seen.entry(e.to_vec()).or_default() += 1);
                steps += 1;
                // Grow a lot, then shrink a lot, between steps.
                if rng.gen_bool(0.5) {
                    for _ in 0..rng.gen_range(0..300) {
                        let k = format!("c{}", rng.gen::<u64>());
                        t.insert(SBytes::from(k.as_str()));
                        churn.push(k);
                    }
                } else {
                    let n = rng.gen_range(0..=churn.len());
                    for k in churn.drain(..n) {
                        t.remove(k.as_bytes());
                    }
                }
                if cursor == 0 || steps > 100_000 {
                    break;
                }
            }
            assert_eq!(cursor, 0);
            for s in &stable {
                assert!(seen.contains_key(s.as_bytes()), "missed {s}");
            }
        }
    }

    #[test]
    fn set_many_matches_one_by_one() {
        let mut rng = rand::thread_rng();
        let lim = HashLimits {
            max_listpack_entries: 6,
            max_listpack_value: 4,
        };
        for _ in 0..2000 {
            let n = rng.gen_range(1..12);
            let args: Vec<String> = (0..2 * n)
                .map(|_| match rng.gen_range(0..5) {
                    0 => "toolong".to_string(),
                    _ => format!("f{}", rng.gen_range(0..9)),
                })
                .collect();
            let refs: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
            let mut a = HashValue::new();
            a.set(b"f1", b"x", &lim);
            let mut b = a.clone();
            let ca: usize = refs
                .chunks(2)
                .map(|p| usize::from(a.set(p[0], p[1], &lim)))
                .sum();
            let cb = b.set_many(&refs, &lim);
            assert_eq!(ca, cb, "{args:?}");
            assert_eq!(a.encoding(), b.encoding(), "{args:?}");
            let mut x: Vec<_> = a.iter().collect();
            let mut y: Vec<_> = b.iter().collect();
            if a.is_listpack() {
                assert_eq!(x, y, "{args:?}");
            }
            x.sort();
            y.sort();
            assert_eq!(x, y, "{args:?}");
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(std::mem::size_of::<HashValue>(), 24);
        assert_eq!(std::mem::size_of::<Table<HashEntry>>(), 24);
    }

    #[test]
    fn pack_edits() {
        let mut p = Pack::new();
        p.push(&[b"a", b"bb", &[b'x'; 200]]);
        assert_eq!(p.bytes(), 2 + 3 + 202);
        let mut it = p.iter();
        let a = it.next_pos().unwrap_or(PackPos {
            start: 0,
            data: 0,
            end: 0,
        });
        let b = it.next_pos().unwrap_or(a);
        p.replace(b, b"cc");
        assert_eq!(
            p.iter().collect::<Vec<_>>(),
            vec![&b"a"[..], b"cc", &[b'x'; 200][..]]
        );
        p.replace(b, b"dddd");
        assert_eq!(p.iter().nth(1), Some(&b"dddd"[..]));
        p.retain_indexes(|i| i != 1);
        assert_eq!(p.iter().count(), 2);
        p.remove_bytes(0, 2);
        assert_eq!(p.iter().collect::<Vec<_>>(), vec![&[b'x'; 200][..]]);
        assert_eq!(p.to_listpack().len(), 1);
    }
}
