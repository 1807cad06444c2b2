//! Sorted set values, in Redis's two encodings:
//!
//! - `listpack`: a [`Pack`], one contiguous heap block holding
//!   `member, score` pairs ordered by (score, member). Scores that are
//!   integers take one to eight bytes. Used while the set has at most
//!   `zset-max-listpack-entries` members of at most `zset-max-listpack-value`
//!   bytes; every operation is a linear scan over a few hundred bytes.
//! - `skiplist`: a [`SkipList`], Redis's skip list with spans (O(log n) rank
//!   and score lookups, O(log n + m) range reads) plus a hash index from
//!   member to node. Nodes live in one arena vector addressed by `u32`, and
//!   the hash index chains through the nodes themselves, so a member's bytes
//!   are stored once.
//!
//! The order is Redis's: by score, then by member bytes (memcmp).

use crate::sbytes::SBytes;
use rand::Rng;
use smallvec::{smallvec, SmallVec};
use std::cmp::Ordering;
use std::sync::OnceLock;

/// The encoding thresholds (`zset-max-listpack-entries` / `-value`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_entries: usize,
    pub max_value: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entries: 128,
            max_value: 64,
        }
    }
}

/// Largest listpack Redis builds (`LISTPACK_MAX_SAFETY_SIZE`).
const PACK_MAX_SAFE_BYTES: usize = 1 << 30;

/// A score interval (`zrangespec`): `(1.5` style bounds are exclusive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreRange {
    pub min: f64,
    pub max: f64,
    pub minex: bool,
    pub maxex: bool,
}

impl ScoreRange {
    #[inline]
    pub fn gte_min(&self, v: f64) -> bool {
        if self.minex {
            v > self.min
        } else {
            v >= self.min
        }
    }

    #[inline]
    pub fn lte_max(&self, v: f64) -> bool {
        if self.maxex {
            v < self.max
        } else {
            v <= self.max
        }
    }

    #[inline]
    pub fn contains(&self, v: f64) -> bool {
        self.gte_min(v) && self.lte_max(v)
    }

    /// Ranges that can never match anything.
    pub fn is_empty(&self) -> bool {
        self.min > self.max || (self.min == self.max && (self.minex || self.maxex))
    }
}

/// One end of a lexicographic interval (`zlexrangespec`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LexBound {
    /// `-`: below every string.
    NegInf,
    /// `+`: above every string.
    PosInf,
    /// `[value`
    Incl(Vec<u8>),
    /// `(value`
    Excl(Vec<u8>),
}

impl LexBound {
    fn exclusive(&self) -> bool {
        !matches!(self, LexBound::Incl(_))
    }

    /// Redis's `sdscmplex` between two bounds.
    fn cmp_bound(&self, other: &LexBound) -> Ordering {
        use LexBound::*;
        match (self, other) {
            (NegInf, NegInf) | (PosInf, PosInf) => Ordering::Equal,
            (NegInf, _) | (_, PosInf) => Ordering::Less,
            (PosInf, _) | (_, NegInf) => Ordering::Greater,
            (Incl(a) | Excl(a), Incl(b) | Excl(b)) => a.as_slice().cmp(b.as_slice()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexRange {
    pub min: LexBound,
    pub max: LexBound,
}

impl LexRange {
    #[inline]
    pub fn gte_min(&self, v: &[u8]) -> bool {
        match &self.min {
            LexBound::NegInf => true,
            LexBound::PosInf => false,
            LexBound::Incl(m) => v >= m.as_slice(),
            LexBound::Excl(m) => v > m.as_slice(),
        }
    }

    #[inline]
    pub fn lte_max(&self, v: &[u8]) -> bool {
        match &self.max {
            LexBound::NegInf => false,
            LexBound::PosInf => true,
            LexBound::Incl(m) => v <= m.as_slice(),
            LexBound::Excl(m) => v < m.as_slice(),
        }
    }

    #[inline]
    pub fn contains(&self, v: &[u8]) -> bool {
        self.gte_min(v) && self.lte_max(v)
    }

    pub fn is_empty(&self) -> bool {
        match self.min.cmp_bound(&self.max) {
            Ordering::Greater => true,
            Ordering::Equal => self.min.exclusive() || self.max.exclusive(),
            Ordering::Less => false,
        }
    }
}

/// A score or lexicographic interval.
pub trait RangeSpec {
    fn gte_min(&self, score: f64, member: &[u8]) -> bool;
    fn lte_max(&self, score: f64, member: &[u8]) -> bool;
    fn is_empty(&self) -> bool;
}

impl RangeSpec for ScoreRange {
    #[inline]
    fn gte_min(&self, score: f64, _: &[u8]) -> bool {
        ScoreRange::gte_min(self, score)
    }
    #[inline]
    fn lte_max(&self, score: f64, _: &[u8]) -> bool {
        ScoreRange::lte_max(self, score)
    }
    fn is_empty(&self) -> bool {
        ScoreRange::is_empty(self)
    }
}

impl RangeSpec for LexRange {
    #[inline]
    fn gte_min(&self, _: f64, member: &[u8]) -> bool {
        LexRange::gte_min(self, member)
    }
    #[inline]
    fn lte_max(&self, _: f64, member: &[u8]) -> bool {
        LexRange::lte_max(self, member)
    }
    fn is_empty(&self) -> bool {
        LexRange::is_empty(self)
    }
}

fn pack_in_range<R: RangeSpec>(items: &[PackItem], r: &R) -> bool {
    match (items.first(), items.last()) {
        (Some(f), Some(l)) => {
            !r.is_empty() && r.gte_min(l.score, l.member) && r.lte_max(f.score, f.member)
        }
        _ => false,
    }
}

/// `zzlFirstInRange`: index of the first pair at or above the minimum,
/// if it is also within the maximum.
fn pack_first_in<R: RangeSpec>(items: &[PackItem], r: &R) -> Option<usize> {
    if !pack_in_range(items, r) {
        return None;
    }
    let i = items.iter().position(|i| r.gte_min(i.score, i.member))?;
    let it = items.get(i)?;
    r.lte_max(it.score, it.member).then_some(i)
}

/// `zzlLastInRange`.
fn pack_last_in<R: RangeSpec>(items: &[PackItem], r: &R) -> Option<usize> {
    if !pack_in_range(items, r) {
        return None;
    }
    let i = items.iter().rposition(|i| r.lte_max(i.score, i.member))?;
    let it = items.get(i)?;
    r.gte_min(it.score, it.member).then_some(i)
}

/// The (score, member) order of a sorted set.
#[inline]
fn cmp_entry(s1: f64, m1: &[u8], s2: f64, m2: &[u8]) -> Ordering {
    if s1 < s2 {
        Ordering::Less
    } else if s1 > s2 {
        Ordering::Greater
    } else {
        m1.cmp(m2)
    }
}

// ---------------------------------------------------------------------------
// Pack: the listpack encoding.
// ---------------------------------------------------------------------------

/// Compact sorted pairs: `varint(len) member`, then the score: one byte
/// `b < 0xC0` for the integers -64..=127 (`b - 64`), `0xC0 + n` followed by
/// an `n`-byte little-endian signed integer (n <= 7), or `0xC8` followed by
/// the 8 bytes of an f64. There is no header: the pack is exactly its
/// pairs, and counting them is a scan (packs are small by definition).
#[derive(Clone, Default, PartialEq)]
pub struct Pack {
    buf: Box<[u8]>,
}

const SCORE_SMALL_LIMIT: u8 = 0xC0;
const SCORE_SMALL_BIAS: i64 = 64;
const SCORE_INT: u8 = 0xC0;
const SCORE_F64: u8 = 0xC8;

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

/// Integer-valued scores are stored as integers, like Redis's listpack
/// (which also turns -0 into 0).
fn put_score(out: &mut Vec<u8>, s: f64) {
    const LIMIT: f64 = (1u64 << 53) as f64;
    if s.fract() == 0.0 && s.abs() < LIMIT {
        let i = s as i64;
        if (-SCORE_SMALL_BIAS..(SCORE_SMALL_LIMIT as i64 - SCORE_SMALL_BIAS)).contains(&i) {
            out.push((i + SCORE_SMALL_BIAS) as u8);
            return;
        }
        let mut n = 1u8;
        while n < 7 {
            let bits = 8 * n as u32;
            let lo = -(1i64 << (bits - 1));
            let hi = (1i64 << (bits - 1)) - 1;
            if (lo..=hi).contains(&i) {
                break;
            }
            n += 1;
        }
        out.push(SCORE_INT + n);
        out.extend_from_slice(&i.to_le_bytes()[..n as usize]);
    } else {
        out.push(SCORE_F64);
        out.extend_from_slice(&s.to_bits().to_le_bytes());
    }
}

fn encoded_len(member: &[u8], s: f64) -> usize {
    let mut v = Vec::with_capacity(10);
    put_varint(&mut v, member.len());
    put_score(&mut v, s);
    v.len() + member.len()
}

/// One decoded pair: byte span `[start, end)` in the pack.
#[derive(Debug, Clone, Copy)]
pub struct PackItem<'a> {
    pub start: usize,
    pub end: usize,
    pub member: &'a [u8],
    pub score: f64,
}

#[inline]
fn decode_at(buf: &[u8], pos: usize) -> Option<PackItem<'_>> {
    let mut len: usize = 0;
    let mut shift = 0;
    let mut p = pos;
    loop {
        let b = *buf.get(p)?;
        p += 1;
        len |= ((b & 0x7f) as usize) << shift;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
        if shift > 56 {
            return None;
        }
    }
    let mend = p.checked_add(len)?;
    let member = buf.get(p..mend)?;
    let tag = *buf.get(mend)?;
    let sstart = mend + 1;
    let (score, end) = if tag < SCORE_SMALL_LIMIT {
        ((tag as i64 - SCORE_SMALL_BIAS) as f64, sstart)
    } else if tag == SCORE_F64 {
        let b: [u8; 8] = buf.get(sstart..sstart + 8)?.try_into().ok()?;
        (f64::from_bits(u64::from_le_bytes(b)), sstart + 8)
    } else if tag < SCORE_F64 {
        let n = (tag - SCORE_INT) as usize;
        let bytes = buf.get(sstart..sstart + n)?;
        let mut b = [0u8; 8];
        b[..n].copy_from_slice(bytes);
        if n > 0 && bytes[n - 1] & 0x80 != 0 {
            for x in b[n..].iter_mut() {
                *x = 0xff;
            }
        }
        (i64::from_le_bytes(b) as f64, sstart + n)
    } else {
        return None;
    };
    Some(PackItem {
        start: pos,
        end,
        member,
        score,
    })
}

pub struct PackIter<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for PackIter<'a> {
    type Item = PackItem<'a>;
    #[inline]
    fn next(&mut self) -> Option<PackItem<'a>> {
        let it = decode_at(self.buf, self.pos)?;
        self.pos = it.end;
        Some(it)
    }
}

impl std::fmt::Debug for Pack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(
                self.iter()
                    .map(|i| (String::from_utf8_lossy(i.member).into_owned(), i.score)),
            )
            .finish()
    }
}

impl Pack {
    pub fn new() -> Self {
        Pack::default()
    }

    /// Number of pairs (a scan).
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Bytes of the encoded pairs.
    pub fn bytes(&self) -> usize {
        self.buf.len()
    }

    #[inline]
    pub fn iter(&self) -> PackIter<'_> {
        PackIter {
            buf: &self.buf,
            pos: 0,
        }
    }

    /// All pairs decoded, in order.
    pub fn items(&self) -> Vec<PackItem<'_>> {
        let mut v = Vec::with_capacity(self.len());
        v.extend(self.iter());
        v
    }

    pub fn find(&self, member: &[u8]) -> Option<PackItem<'_>> {
        self.iter().find(|i| i.member == member)
    }

    fn splice(&mut self, start: usize, end: usize, ins: &[u8]) {
        let start = start.min(self.buf.len());
        let end = end.clamp(start, self.buf.len());
        let mut v = Vec::with_capacity(self.buf.len() - (end - start) + ins.len());
        v.extend_from_slice(&self.buf[..start]);
        v.extend_from_slice(ins);
        v.extend_from_slice(&self.buf[end..]);
        self.buf = v.into_boxed_slice();
    }

    /// Inserts a member that is not present, at its ordered position.
    pub fn insert(&mut self, member: &[u8], score: f64) {
        let pos = self
            .iter()
            .find(|i| cmp_entry(i.score, i.member, score, member) == Ordering::Greater)
            .map(|i| i.start)
            .unwrap_or(self.buf.len());
        let mut enc = Vec::with_capacity(member.len() + 10);
        put_varint(&mut enc, member.len());
        enc.extend_from_slice(member);
        put_score(&mut enc, score);
        self.splice(pos, pos, &enc);
    }

    /// Appends a pair known to sort after every present one.
    fn push_sorted(&mut self, out: &mut Vec<u8>, member: &[u8], score: f64) {
        put_varint(out, member.len());
        out.extend_from_slice(member);
        put_score(out, score);
    }

    /// Removes the pairs in the byte span `[start, end)`, `n` of them.
    fn remove_span(&mut self, start: usize, end: usize, n: usize) {
        if n == 0 {
            return;
        }
        self.splice(start, end, &[]);
    }

    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let it = self.find(member)?;
        let (s, e, score) = (it.start, it.end, it.score);
        self.remove_span(s, e, 1);
        Some(score)
    }
}

// ---------------------------------------------------------------------------
// SkipList: the skiplist encoding.
// ---------------------------------------------------------------------------

const NIL: u32 = u32::MAX;
const HEAD: u32 = 0;
const MAX_LEVEL: usize = 32;

#[derive(Debug, Clone, Copy)]
struct Level {
    next: u32,
    span: u32,
}

const EMPTY_LEVEL: Level = Level { next: NIL, span: 0 };

#[derive(Debug, Clone)]
struct Node {
    ele: SBytes,
    score: f64,
    back: u32,
    /// Next node in the same hash bucket (or in the free list).
    hnext: u32,
    /// Levels; four inline (see the `sizes` test).
    lv: SmallVec<[Level; 4]>,
}

fn hasher() -> &'static ahash::RandomState {
    static H: OnceLock<ahash::RandomState> = OnceLock::new();
    H.get_or_init(|| {
        ahash::RandomState::with_seeds(
            rand::random(),
            rand::random(),
            rand::random(),
            rand::random(),
        )
    })
}

#[inline]
fn hash_of(m: &[u8]) -> u64 {
    hasher().hash_one(m)
}

/// Redis's `zslRandomLevel`: P(level > k) = 0.25^k.
fn random_level() -> usize {
    let r: u64 = rand::random();
    if r == 0 {
        MAX_LEVEL
    } else {
        ((r.leading_zeros() / 2 + 1) as usize).min(MAX_LEVEL)
    }
}

#[derive(Clone)]
pub struct SkipList {
    /// Arena; index 0 is the header (MAX_LEVEL levels, no element).
    nodes: Vec<Node>,
    /// Free arena slots, chained through `hnext`.
    free: u32,
    tail: u32,
    level: usize,
    len: usize,
    /// Hash index heads (power-of-two size, or empty).
    buckets: Vec<u32>,
    /// Heap bytes owned by members and spilled level arrays.
    extra_heap: usize,
}

impl std::fmt::Debug for SkipList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(
                self.iter()
                    .map(|(m, s)| (String::from_utf8_lossy(m).into_owned(), s)),
            )
            .finish()
    }
}

impl Default for SkipList {
    fn default() -> Self {
        SkipList::new()
    }
}

impl SkipList {
    pub fn new() -> Self {
        SkipList::with_capacity(0)
    }

    pub fn with_capacity(n: usize) -> Self {
        let mut nodes = Vec::with_capacity(n.saturating_add(1));
        nodes.push(Node {
            ele: SBytes::default(),
            score: 0.0,
            back: NIL,
            hnext: NIL,
            lv: smallvec![EMPTY_LEVEL; MAX_LEVEL],
        });
        let mut s = SkipList {
            nodes,
            free: NIL,
            tail: NIL,
            level: 1,
            len: 0,
            buckets: Vec::new(),
            extra_heap: 0,
        };
        if n > 0 {
            s.rehash(n.next_power_of_two().max(4));
        }
        s
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn heap_size(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<Node>()
            + self.buckets.capacity() * 4
            + MAX_LEVEL * std::mem::size_of::<Level>()
            + self.extra_heap
    }

    #[inline]
    fn nd(&self, i: u32) -> &Node {
        &self.nodes[i as usize]
    }

    #[inline]
    fn nd_mut(&mut self, i: u32) -> &mut Node {
        &mut self.nodes[i as usize]
    }

    #[inline]
    fn next(&self, i: u32, l: usize) -> u32 {
        self.nd(i).lv[l].next
    }

    #[inline]
    fn span(&self, i: u32, l: usize) -> u32 {
        self.nd(i).lv[l].span
    }

    #[inline]
    fn first(&self) -> u32 {
        self.next(HEAD, 0)
    }

    fn node_heap(n: &Node) -> usize {
        n.ele.heap_size()
            + if n.lv.spilled() {
                n.lv.capacity() * std::mem::size_of::<Level>()
            } else {
                0
            }
    }

    fn alloc(&mut self, ele: SBytes, score: f64, level: usize) -> u32 {
        let node = Node {
            ele,
            score,
            back: NIL,
            hnext: NIL,
            lv: smallvec![EMPTY_LEVEL; level],
        };
        self.extra_heap += Self::node_heap(&node);
        if self.free != NIL {
            let i = self.free;
            self.free = self.nd(i).hnext;
            *self.nd_mut(i) = node;
            i
        } else {
            self.nodes.push(node);
            (self.nodes.len() - 1) as u32
        }
    }

    fn release(&mut self, i: u32) -> SBytes {
        let free = self.free;
        let n = self.nd_mut(i);
        let heap = Self::node_heap(n);
        let ele = std::mem::take(&mut n.ele);
        n.lv = SmallVec::new();
        n.hnext = free;
        n.back = NIL;
        self.free = i;
        self.extra_heap = self.extra_heap.saturating_sub(heap);
        ele
    }

    // --- hash index ---

    #[inline]
    fn bucket_of(&self, m: &[u8]) -> usize {
        (hash_of(m) as usize) & (self.buckets.len().wrapping_sub(1))
    }

    fn find(&self, m: &[u8]) -> u32 {
        if self.buckets.is_empty() {
            return NIL;
        }
        let mut i = self.buckets[self.bucket_of(m)];
        while i != NIL {
            let n = self.nd(i);
            if n.ele.as_slice() == m {
                return i;
            }
            i = n.hnext;
        }
        NIL
    }

    /// Adds node `i` (already linked into the list) to the hash index.
    fn hash_link(&mut self, i: u32) {
        if self.len > self.buckets.len() {
            // The rebuild indexes every listed node, `i` included.
            let size = (self.buckets.len() * 2).max(4);
            self.rehash(size);
            return;
        }
        let b = self.bucket_of(&self.nd(i).ele);
        let head = self.buckets[b];
        self.nd_mut(i).hnext = head;
        self.buckets[b] = i;
    }

    fn hash_unlink(&mut self, i: u32) {
        if self.buckets.is_empty() {
            return;
        }
        let b = self.bucket_of(&self.nd(i).ele);
        let next = self.nd(i).hnext;
        if self.buckets[b] == i {
            self.buckets[b] = next;
            return;
        }
        let mut p = self.buckets[b];
        while p != NIL {
            let pn = self.nd(p).hnext;
            if pn == i {
                self.nd_mut(p).hnext = next;
                return;
            }
            p = pn;
        }
    }

    fn rehash(&mut self, size: usize) {
        let size = size.next_power_of_two();
        self.buckets = vec![NIL; size];
        let mut x = self.first();
        while x != NIL {
            let b = self.bucket_of(&self.nd(x).ele);
            let head = self.buckets[b];
            self.nd_mut(x).hnext = head;
            self.buckets[b] = x;
            x = self.next(x, 0);
        }
    }

    /// Shrinks the hash index and the arena after many deletions.
    fn maybe_shrink(&mut self) {
        if self.buckets.len() > 4 && self.len * 8 < self.buckets.len() {
            let size = self.len.next_power_of_two().max(4);
            self.rehash(size);
        }
        if self.nodes.len() > 64 && self.len * 4 < self.nodes.len() {
            self.compact();
        }
    }

    /// Rebuilds the arena without free slots.
    fn compact(&mut self) {
        let mut items: Vec<(SBytes, f64)> = Vec::with_capacity(self.len);
        let mut x = self.first();
        while x != NIL {
            let n = self.nd_mut(x);
            items.push((std::mem::take(&mut n.ele), n.score));
            x = n.lv[0].next;
        }
        let mut s = SkipList::with_capacity(items.len());
        // Inserting from the greatest element makes every insertion O(1).
        for (ele, score) in items.into_iter().rev() {
            s.insert_new(ele, score);
        }
        *self = s;
    }

    // --- skip list proper ---

    /// Whether node `a` sorts before (`score`, `ele`).
    #[inline]
    fn node_lt(&self, a: u32, score: f64, ele: &[u8]) -> bool {
        let n = self.nd(a);
        n.score < score || (n.score == score && n.ele.as_slice() < ele)
    }

    /// Links an allocated node (its level array already sized) into the list.
    fn link(&mut self, xi: u32) {
        let mut update = [HEAD; MAX_LEVEL];
        let mut rank = [0u32; MAX_LEVEL];
        let (score, level) = (self.nd(xi).score, self.nd(xi).lv.len());
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            rank[i] = if i == self.level - 1 { 0 } else { rank[i + 1] };
            loop {
                let nx = self.next(x, i);
                if nx == NIL {
                    break;
                }
                let lt = {
                    let n = self.nd(nx);
                    let me = self.nd(xi);
                    n.score < score || (n.score == score && n.ele.as_slice() < me.ele.as_slice())
                };
                if !lt {
                    break;
                }
                rank[i] = rank[i].wrapping_add(self.span(x, i));
                x = nx;
            }
            update[i] = x;
        }
        if level > self.level {
            let len = self.len as u32;
            for i in self.level..level {
                rank[i] = 0;
                update[i] = HEAD;
                self.nd_mut(HEAD).lv[i].span = len;
            }
            self.level = level;
        }
        for i in 0..level {
            let u = update[i];
            let (unext, uspan) = {
                let l = self.nd(u).lv[i];
                (l.next, l.span)
            };
            let d = rank[0].wrapping_sub(rank[i]);
            {
                let xl = &mut self.nd_mut(xi).lv[i];
                xl.next = unext;
                xl.span = uspan.wrapping_sub(d);
            }
            let ul = &mut self.nd_mut(u).lv[i];
            ul.next = xi;
            ul.span = d.wrapping_add(1);
        }
        for (i, &u) in update.iter().enumerate().take(self.level).skip(level) {
            let l = &mut self.nodes[u as usize].lv[i];
            l.span = l.span.wrapping_add(1);
        }
        self.nd_mut(xi).back = if update[0] == HEAD { NIL } else { update[0] };
        let n0 = self.next(xi, 0);
        if n0 != NIL {
            self.nd_mut(n0).back = xi;
        } else {
            self.tail = xi;
        }
        self.len += 1;
    }

    /// Adds a member known to be absent.
    fn insert_new(&mut self, ele: SBytes, score: f64) -> u32 {
        let xi = self.alloc(ele, score, random_level());
        self.link(xi);
        self.hash_link(xi);
        xi
    }

    /// The update vector for the position of node `xi` (its predecessors).
    fn predecessors(&self, xi: u32) -> [u32; MAX_LEVEL] {
        let mut update = [HEAD; MAX_LEVEL];
        let (score, ele) = (self.nd(xi).score, self.nd(xi).ele.as_slice());
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let nx = self.next(x, i);
                if nx == NIL || nx == xi || !self.node_lt(nx, score, ele) {
                    break;
                }
                x = nx;
            }
            update[i] = x;
        }
        update
    }

    /// Unlinks node `x` given its predecessors (`zslDeleteNode`).
    fn unlink(&mut self, x: u32, update: &[u32; MAX_LEVEL]) {
        for (i, &u) in update.iter().enumerate().take(self.level) {
            if self.next(u, i) == x {
                let xl = self.nd(x).lv[i];
                let ul = &mut self.nodes[u as usize].lv[i];
                ul.span = ul.span.wrapping_add(xl.span).wrapping_sub(1);
                ul.next = xl.next;
            } else {
                let ul = &mut self.nodes[u as usize].lv[i];
                ul.span = ul.span.wrapping_sub(1);
            }
        }
        let n0 = self.next(x, 0);
        let back = self.nd(x).back;
        if n0 != NIL {
            self.nd_mut(n0).back = back;
        } else {
            self.tail = back;
        }
        while self.level > 1 && self.next(HEAD, self.level - 1) == NIL {
            self.level -= 1;
        }
        self.len -= 1;
    }

    /// Removes node `x` from list and index, returning its member.
    fn delete_node(&mut self, x: u32, update: &[u32; MAX_LEVEL]) -> SBytes {
        self.unlink(x, update);
        self.hash_unlink(x);
        self.release(x)
    }

    fn delete_at(&mut self, x: u32) -> SBytes {
        let update = self.predecessors(x);
        self.delete_node(x, &update)
    }

    /// `zslUpdateScore`: moves node `x` to its new position (in place when
    /// the order does not change).
    fn update_score(&mut self, x: u32, newscore: f64) {
        let back = self.nd(x).back;
        let n0 = self.next(x, 0);
        if (back == NIL || self.nd(back).score < newscore)
            && (n0 == NIL || self.nd(n0).score > newscore)
        {
            self.nd_mut(x).score = newscore;
            return;
        }
        let update = self.predecessors(x);
        self.unlink(x, &update);
        let n = self.nd_mut(x);
        n.score = newscore;
        for l in n.lv.iter_mut() {
            *l = EMPTY_LEVEL;
        }
        n.back = NIL;
        self.link(x);
    }

    /// 1-based rank of node `x` (`zslGetRank`).
    fn rank_of(&self, xi: u32) -> usize {
        let (score, ele) = (self.nd(xi).score, self.nd(xi).ele.as_slice());
        let mut x = HEAD;
        let mut rank: usize = 0;
        for i in (0..self.level).rev() {
            loop {
                let nx = self.next(x, i);
                if nx == NIL {
                    break;
                }
                let n = self.nd(nx);
                if n.score < score || (n.score == score && n.ele.as_slice() <= ele) {
                    rank += self.span(x, i) as usize;
                    x = nx;
                } else {
                    break;
                }
            }
            if x == xi {
                return rank;
            }
        }
        0
    }

    /// Node with 1-based `rank` (`zslGetElementByRank`).
    fn by_rank(&self, rank: usize) -> u32 {
        let mut x = HEAD;
        let mut traversed: usize = 0;
        for i in (0..self.level).rev() {
            loop {
                let nx = self.next(x, i);
                if nx == NIL || traversed + self.span(x, i) as usize > rank {
                    break;
                }
                traversed += self.span(x, i) as usize;
                x = nx;
            }
            if traversed == rank {
                return if x == HEAD { NIL } else { x };
            }
        }
        NIL
    }

    fn in_range<R: RangeSpec>(&self, r: &R) -> bool {
        if r.is_empty() || self.len == 0 {
            return false;
        }
        let (t, f) = (self.nd(self.tail), self.nd(self.first()));
        r.gte_min(t.score, &t.ele) && r.lte_max(f.score, &f.ele)
    }

    /// `zslFirstInRange` / `zslFirstInLexRange`.
    fn first_in<R: RangeSpec>(&self, r: &R) -> u32 {
        if !self.in_range(r) {
            return NIL;
        }
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let nx = self.next(x, i);
                if nx == NIL {
                    break;
                }
                let n = self.nd(nx);
                if r.gte_min(n.score, &n.ele) {
                    break;
                }
                x = nx;
            }
        }
        let x = self.next(x, 0);
        if x == NIL {
            return NIL;
        }
        let n = self.nd(x);
        if r.lte_max(n.score, &n.ele) {
            x
        } else {
            NIL
        }
    }

    /// `zslLastInRange` / `zslLastInLexRange`.
    fn last_in<R: RangeSpec>(&self, r: &R) -> u32 {
        if !self.in_range(r) {
            return NIL;
        }
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let nx = self.next(x, i);
                if nx == NIL {
                    break;
                }
                let n = self.nd(nx);
                if !r.lte_max(n.score, &n.ele) {
                    break;
                }
                x = nx;
            }
        }
        if x == HEAD {
            return NIL;
        }
        let n = self.nd(x);
        if r.gte_min(n.score, &n.ele) {
            x
        } else {
            NIL
        }
    }

    /// `zslDeleteRangeByScore` / `ByLex`: from the first node not below the
    /// minimum, deletes while nodes stay within the maximum.
    fn delete_range<R: RangeSpec>(&mut self, r: &R) -> usize {
        let mut update = [HEAD; MAX_LEVEL];
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let nx = self.next(x, i);
                if nx == NIL {
                    break;
                }
                let n = self.nd(nx);
                if r.gte_min(n.score, &n.ele) {
                    break;
                }
                x = nx;
            }
            update[i] = x;
        }
        let mut x = self.next(x, 0);
        let mut removed = 0;
        while x != NIL {
            let (keep, next) = {
                let n = self.nd(x);
                (!r.lte_max(n.score, &n.ele), n.lv[0].next)
            };
            if keep {
                break;
            }
            self.delete_node(x, &update);
            removed += 1;
            x = next;
        }
        removed
    }

    /// Deletes the nodes with 1-based ranks `start..=end`.
    fn delete_rank_range(&mut self, start: usize, end: usize) -> usize {
        if start == 0 || end < start || start > self.len {
            return 0;
        }
        let mut update = [HEAD; MAX_LEVEL];
        let mut x = HEAD;
        let mut traversed: usize = 0;
        for i in (0..self.level).rev() {
            loop {
                let nx = self.next(x, i);
                if nx == NIL || traversed + self.span(x, i) as usize >= start {
                    break;
                }
                traversed += self.span(x, i) as usize;
                x = nx;
            }
            update[i] = x;
        }
        traversed += 1;
        let mut x = self.next(x, 0);
        let mut removed = 0;
        while x != NIL && traversed <= end {
            let next = self.next(x, 0);
            self.delete_node(x, &update);
            removed += 1;
            traversed += 1;
            x = next;
        }
        removed
    }

    /// Iterates in ascending order.
    pub fn iter(&self) -> SkipIter<'_> {
        SkipIter {
            s: self,
            x: self.first(),
        }
    }

    /// Hash-index scan step (Redis's reverse-binary cursor): visits one
    /// bucket and returns the next cursor (0 when done). Elements present
    /// for the whole scan are visited at least once even if the index is
    /// resized between calls.
    pub fn scan_step(&self, cursor: u64, mut f: impl FnMut(&[u8], f64)) -> u64 {
        if self.buckets.is_empty() || self.len == 0 {
            return 0;
        }
        let m = (self.buckets.len() - 1) as u64;
        let mut i = self.buckets[(cursor & m) as usize];
        while i != NIL {
            let n = self.nd(i);
            f(&n.ele, n.score);
            i = n.hnext;
        }
        let mut v = cursor | !m;
        v = v.reverse_bits();
        v = v.wrapping_add(1);
        v.reverse_bits()
    }
}

pub struct SkipIter<'a> {
    s: &'a SkipList,
    x: u32,
}

impl<'a> Iterator for SkipIter<'a> {
    type Item = (&'a [u8], f64);
    #[inline]
    fn next(&mut self) -> Option<(&'a [u8], f64)> {
        if self.x == NIL {
            return None;
        }
        let n = self.s.nodes.get(self.x as usize)?;
        self.x = n.lv.first().map(|l| l.next).unwrap_or(NIL);
        Some((n.ele.as_slice(), n.score))
    }
}

// ---------------------------------------------------------------------------
// ZSetValue: the value stored under a key.
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub enum ZSetValue {
    Listpack(Pack),
    Skiplist(Box<SkipList>),
}

impl Default for ZSetValue {
    fn default() -> Self {
        ZSetValue::Listpack(Pack::new())
    }
}

/// `ZADD` options for one element (`ZADD_IN_*`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AddFlags {
    pub nx: bool,
    pub xx: bool,
    pub gt: bool,
    pub lt: bool,
    pub incr: bool,
}

/// What `add` did (`ZADD_OUT_*`), with the resulting score when processed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AddOutcome {
    /// The increment produced NaN; nothing changed.
    Nan,
    Added(f64),
    Updated(f64),
    /// Processed, score unchanged.
    Same(f64),
    /// Skipped because of NX/XX/GT/LT.
    Nop,
}

/// Ascending iterator over either encoding.
pub enum Iter<'a> {
    Pack(PackIter<'a>),
    Skip(SkipIter<'a>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], f64);
    #[inline]
    fn next(&mut self) -> Option<(&'a [u8], f64)> {
        match self {
            Iter::Pack(p) => p.next().map(|i| (i.member, i.score)),
            Iter::Skip(s) => s.next(),
        }
    }
}

impl ZSetValue {
    pub fn new_listpack() -> Self {
        ZSetValue::Listpack(Pack::new())
    }

    pub fn new_skiplist(capacity: usize) -> Self {
        ZSetValue::Skiplist(Box::new(SkipList::with_capacity(capacity.min(1 << 16))))
    }

    /// `zsetTypeCreate`: the encoding for a set expected to hold about
    /// `size_hint` members of up to `value_len_hint` bytes.
    pub fn create(size_hint: usize, value_len_hint: usize, lim: Limits) -> Self {
        if size_hint <= lim.max_entries && value_len_hint <= lim.max_value {
            ZSetValue::new_listpack()
        } else {
            ZSetValue::new_skiplist(size_hint)
        }
    }

    pub fn len(&self) -> usize {
        match self {
            ZSetValue::Listpack(p) => p.len(),
            ZSetValue::Skiplist(s) => s.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            ZSetValue::Listpack(_) => "listpack",
            ZSetValue::Skiplist(_) => "skiplist",
        }
    }

    pub fn is_listpack(&self) -> bool {
        matches!(self, ZSetValue::Listpack(_))
    }

    pub fn heap_size(&self) -> usize {
        match self {
            ZSetValue::Listpack(p) => p.bytes(),
            ZSetValue::Skiplist(s) => std::mem::size_of::<SkipList>() + s.heap_size(),
        }
    }

    pub fn iter(&self) -> Iter<'_> {
        match self {
            ZSetValue::Listpack(p) => Iter::Pack(p.iter()),
            ZSetValue::Skiplist(s) => Iter::Skip(s.iter()),
        }
    }

    /// Longest member, and the sum of member lengths.
    pub fn member_lengths(&self) -> (usize, usize) {
        self.iter()
            .fold((0, 0), |(m, t), (e, _)| (m.max(e.len()), t + e.len()))
    }

    /// Converts to the skiplist encoding (no-op if already).
    pub fn convert_to_skiplist(&mut self) {
        if let ZSetValue::Listpack(p) = self {
            let items = p.items();
            let mut s = SkipList::with_capacity(items.len());
            for it in items.iter().rev() {
                s.insert_new(SBytes::new(it.member), it.score);
            }
            *self = ZSetValue::Skiplist(Box::new(s));
        }
    }

    /// Converts to the listpack encoding (no-op if already).
    pub fn convert_to_listpack(&mut self) {
        if let ZSetValue::Skiplist(s) = self {
            let mut p = Pack::new();
            let mut buf = Vec::new();
            for (m, sc) in s.iter() {
                p.push_sorted(&mut buf, m, sc);
            }
            p.buf = buf.into_boxed_slice();
            *self = ZSetValue::Listpack(p);
        }
    }

    /// Builds a set from distinct members already in (score, member) order,
    /// choosing the encoding the way `zsetConvertToListpackIfNeeded` would.
    pub fn from_sorted<'a, I>(items: I, lim: Limits) -> Self
    where
        I: IntoIterator<Item = (&'a [u8], f64)>,
        I::IntoIter: DoubleEndedIterator + ExactSizeIterator + Clone,
    {
        let it = items.into_iter();
        let n = it.len();
        let (maxlen, total) = it
            .clone()
            .fold((0, 0), |(m, t), (e, _)| (m.max(e.len()), t + e.len()));
        if n <= lim.max_entries && maxlen <= lim.max_value && total < PACK_MAX_SAFE_BYTES {
            let mut p = Pack::new();
            let mut buf = Vec::with_capacity(total + 10 * n);
            for (m, s) in it {
                p.push_sorted(&mut buf, m, s);
            }
            p.buf = buf.into_boxed_slice();
            ZSetValue::Listpack(p)
        } else {
            let mut s = SkipList::with_capacity(n);
            // From the greatest down: each insertion stops at the head.
            for (m, sc) in it.rev() {
                s.insert_new(SBytes::new(m), sc);
            }
            ZSetValue::Skiplist(Box::new(s))
        }
    }

    /// `zsetTypeMaybeConvert`: switch to a skiplist ahead of adding about
    /// `size_hint` members of up to `value_len_hint` bytes.
    pub fn maybe_convert(&mut self, size_hint: usize, value_len_hint: usize, lim: Limits) {
        if self.is_listpack() && (size_hint > lim.max_entries || value_len_hint > lim.max_value) {
            self.convert_to_skiplist();
        }
    }

    /// `zsetConvertToListpackIfNeeded`.
    pub fn convert_to_listpack_if_needed(
        &mut self,
        maxelelen: usize,
        totelelen: usize,
        lim: Limits,
    ) {
        if let ZSetValue::Skiplist(s) = self {
            if s.len() <= lim.max_entries
                && maxelelen <= lim.max_value
                && totelelen < PACK_MAX_SAFE_BYTES
            {
                self.convert_to_listpack();
            }
        }
    }

    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            ZSetValue::Listpack(p) => p.find(member).map(|i| i.score),
            ZSetValue::Skiplist(s) => {
                let x = s.find(member);
                if x == NIL {
                    None
                } else {
                    Some(s.nd(x).score)
                }
            }
        }
    }

    pub fn contains(&self, member: &[u8]) -> bool {
        self.score(member).is_some()
    }

    /// `zsetAdd`.
    pub fn add(&mut self, score: f64, member: &[u8], f: AddFlags, lim: Limits) -> AddOutcome {
        if score.is_nan() {
            return AddOutcome::Nan;
        }
        let cur = self.score(member);
        let mut score = score;
        match cur {
            Some(curscore) => {
                if f.nx {
                    return AddOutcome::Nop;
                }
                if f.incr {
                    score += curscore;
                    if score.is_nan() {
                        return AddOutcome::Nan;
                    }
                }
                if (f.lt && score >= curscore) || (f.gt && score <= curscore) {
                    return AddOutcome::Nop;
                }
                if score == curscore {
                    return AddOutcome::Same(score);
                }
                match self {
                    ZSetValue::Listpack(p) => {
                        p.remove(member);
                        p.insert(member, score);
                    }
                    ZSetValue::Skiplist(s) => {
                        let x = s.find(member);
                        if x != NIL {
                            s.update_score(x, score);
                        }
                    }
                }
                AddOutcome::Updated(score)
            }
            None => {
                if f.xx {
                    return AddOutcome::Nop;
                }
                if let ZSetValue::Listpack(p) = self {
                    if p.len() + 1 > lim.max_entries
                        || member.len() > lim.max_value
                        || p.bytes() + encoded_len(member, score) >= PACK_MAX_SAFE_BYTES
                    {
                        self.convert_to_skiplist();
                    }
                }
                match self {
                    ZSetValue::Listpack(p) => p.insert(member, score),
                    ZSetValue::Skiplist(s) => {
                        s.insert_new(SBytes::new(member), score);
                    }
                }
                AddOutcome::Added(score)
            }
        }
    }

    /// Adds or overwrites a member (no options).
    pub fn insert(&mut self, score: f64, member: &[u8], lim: Limits) {
        self.add(score, member, AddFlags::default(), lim);
    }

    /// `zsetDel`.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match self {
            ZSetValue::Listpack(p) => p.remove(member).is_some(),
            ZSetValue::Skiplist(s) => {
                let x = s.find(member);
                if x == NIL {
                    return false;
                }
                s.delete_at(x);
                s.maybe_shrink();
                true
            }
        }
    }

    /// 0-based rank (from the lowest, or from the highest when `rev`) and score.
    pub fn rank(&self, member: &[u8], rev: bool) -> Option<(usize, f64)> {
        let len = self.len();
        let (r, score) = match self {
            ZSetValue::Listpack(p) => {
                let (i, it) = p.iter().enumerate().find(|(_, it)| it.member == member)?;
                (i, it.score)
            }
            ZSetValue::Skiplist(s) => {
                let x = s.find(member);
                if x == NIL {
                    return None;
                }
                let r = s.rank_of(x);
                if r == 0 {
                    return None;
                }
                (r - 1, s.nd(x).score)
            }
        };
        Some((if rev { len - 1 - r } else { r }, score))
    }

    /// The element at 0-based ascending rank `r`.
    pub fn get_by_rank(&self, r: usize) -> Option<(&[u8], f64)> {
        match self {
            ZSetValue::Listpack(p) => p.iter().nth(r).map(|i| (i.member, i.score)),
            ZSetValue::Skiplist(s) => {
                let x = s.by_rank(r + 1);
                if x == NIL {
                    None
                } else {
                    let n = s.nd(x);
                    Some((n.ele.as_slice(), n.score))
                }
            }
        }
    }

    /// Visits the elements with 0-based ranks `start..=end` (clamped by the
    /// caller to the set), in ascending order, or descending ranks when `rev`.
    pub fn range_by_rank(
        &self,
        start: usize,
        end: usize,
        rev: bool,
        mut f: impl FnMut(&[u8], f64),
    ) {
        let len = self.len();
        if start > end || start >= len {
            return;
        }
        let end = end.min(len - 1);
        let n = end - start + 1;
        match self {
            ZSetValue::Listpack(p) => {
                let items = p.items();
                for k in start..=end {
                    let idx = if rev { len - 1 - k } else { k };
                    if let Some(it) = items.get(idx) {
                        f(it.member, it.score);
                    }
                }
            }
            ZSetValue::Skiplist(s) => {
                let mut x = if rev {
                    if start == 0 {
                        s.tail
                    } else {
                        s.by_rank(len - start)
                    }
                } else if start == 0 {
                    s.first()
                } else {
                    s.by_rank(start + 1)
                };
                for _ in 0..n {
                    if x == NIL {
                        break;
                    }
                    let nd = s.nd(x);
                    f(&nd.ele, nd.score);
                    x = if rev { nd.back } else { nd.lv[0].next };
                }
            }
        }
    }

    /// Visits the elements in range `r` (a [`ScoreRange`] or [`LexRange`]),
    /// from the lowest (or the highest when `rev`), skipping `offset` of them
    /// and visiting at most `limit` (negative: no limit). Returns the count.
    /// Follows Redis's walk exactly: find the first (last) element in range,
    /// then continue while the far bound holds.
    pub fn range<R: RangeSpec>(
        &self,
        r: &R,
        rev: bool,
        offset: usize,
        limit: i64,
        mut f: impl FnMut(&[u8], f64),
    ) -> usize {
        let mut emitted = 0usize;
        let room = |emitted: usize| limit < 0 || (emitted as u64) < limit as u64;
        match self {
            ZSetValue::Listpack(p) => {
                let items = p.items();
                let start = if rev {
                    pack_last_in(&items, r)
                } else {
                    pack_first_in(&items, r)
                };
                let Some(start) = start else {
                    return 0;
                };
                let mut idx = if rev {
                    match start.checked_sub(offset) {
                        Some(i) => i as isize,
                        None => return 0,
                    }
                } else {
                    (start + offset) as isize
                };
                while idx >= 0 && room(emitted) {
                    let Some(it) = items.get(idx as usize) else {
                        break;
                    };
                    let ok = if rev {
                        r.gte_min(it.score, it.member)
                    } else {
                        r.lte_max(it.score, it.member)
                    };
                    if !ok {
                        break;
                    }
                    f(it.member, it.score);
                    emitted += 1;
                    idx += if rev { -1 } else { 1 };
                }
            }
            ZSetValue::Skiplist(s) => {
                let start = if rev { s.last_in(r) } else { s.first_in(r) };
                if start == NIL {
                    return 0;
                }
                let mut x = start;
                if offset > 0 {
                    let rank = s.rank_of(start);
                    let target = if rev {
                        rank.checked_sub(offset).filter(|&t| t >= 1)
                    } else {
                        Some(rank + offset).filter(|&t| t <= s.len)
                    };
                    x = match target {
                        Some(t) => s.by_rank(t),
                        None => NIL,
                    };
                }
                while x != NIL && room(emitted) {
                    let nd = s.nd(x);
                    let ok = if rev {
                        r.gte_min(nd.score, &nd.ele)
                    } else {
                        r.lte_max(nd.score, &nd.ele)
                    };
                    if !ok {
                        break;
                    }
                    f(&nd.ele, nd.score);
                    emitted += 1;
                    x = if rev { nd.back } else { nd.lv[0].next };
                }
            }
        }
        emitted
    }

    /// ZCOUNT / ZLEXCOUNT.
    pub fn count_in<R: RangeSpec>(&self, r: &R) -> usize {
        match self {
            ZSetValue::Listpack(p) => {
                let items = p.items();
                let Some(start) = pack_first_in(&items, r) else {
                    return 0;
                };
                items[start..]
                    .iter()
                    .take_while(|i| r.lte_max(i.score, i.member))
                    .count()
            }
            ZSetValue::Skiplist(s) => {
                let first = s.first_in(r);
                if first == NIL {
                    return 0;
                }
                let len = s.len as i64;
                let mut count = len - (s.rank_of(first) as i64 - 1);
                let last = s.last_in(r);
                if last != NIL {
                    count -= len - s.rank_of(last) as i64;
                }
                count.max(0) as usize
            }
        }
    }

    /// Removes the elements with 0-based ranks `start..=end`.
    pub fn remove_range_by_rank(&mut self, start: usize, end: usize) -> usize {
        let len = self.len();
        if start > end || start >= len {
            return 0;
        }
        let end = end.min(len - 1);
        match self {
            ZSetValue::Listpack(p) => {
                let span = {
                    let items = p.items();
                    match (items.get(start), items.get(end)) {
                        (Some(a), Some(b)) => Some((a.start, b.end)),
                        _ => None,
                    }
                };
                match span {
                    Some((a, b)) => {
                        p.remove_span(a, b, end - start + 1);
                        end - start + 1
                    }
                    None => 0,
                }
            }
            ZSetValue::Skiplist(s) => {
                let n = s.delete_rank_range(start + 1, end + 1);
                s.maybe_shrink();
                n
            }
        }
    }

    /// ZREMRANGEBYSCORE / ZREMRANGEBYLEX.
    pub fn remove_range<R: RangeSpec>(&mut self, r: &R) -> usize {
        match self {
            ZSetValue::Listpack(p) => {
                let span = {
                    let items = p.items();
                    pack_first_in(&items, r).and_then(|start| {
                        let n = items[start..]
                            .iter()
                            .take_while(|i| r.lte_max(i.score, i.member))
                            .count();
                        let last = items.get(start + n.checked_sub(1)?)?;
                        Some((items[start].start, last.end, n))
                    })
                };
                match span {
                    Some((a, b, n)) => {
                        p.remove_span(a, b, n);
                        n
                    }
                    None => 0,
                }
            }
            ZSetValue::Skiplist(s) => {
                let n = s.delete_range(r);
                s.maybe_shrink();
                n
            }
        }
    }

    /// Removes and returns the lowest (or highest when `max`) element.
    pub fn pop(&mut self, max: bool) -> Option<(Vec<u8>, f64)> {
        match self {
            ZSetValue::Listpack(p) => {
                let (start, end, member, score) = {
                    let it = if max {
                        p.iter().last()?
                    } else {
                        p.iter().next()?
                    };
                    (it.start, it.end, it.member.to_vec(), it.score)
                };
                p.remove_span(start, end, 1);
                Some((member, score))
            }
            ZSetValue::Skiplist(s) => {
                let x = if max { s.tail } else { s.first() };
                if x == NIL {
                    return None;
                }
                let score = s.nd(x).score;
                let ele = s.delete_at(x);
                s.maybe_shrink();
                Some((ele.into_vec(), score))
            }
        }
    }

    /// A uniformly random element.
    pub fn random<R: Rng>(&self, rng: &mut R) -> Option<(&[u8], f64)> {
        let len = self.len();
        if len == 0 {
            return None;
        }
        self.get_by_rank(rng.gen_range(0..len))
    }

    /// One ZSCAN step. A listpack is returned whole with cursor 0.
    pub fn scan_step(&self, cursor: u64, mut f: impl FnMut(&[u8], f64)) -> u64 {
        match self {
            ZSetValue::Listpack(p) => {
                for it in p.iter() {
                    f(it.member, it.score);
                }
                0
            }
            ZSetValue::Skiplist(s) => s.scan_step(cursor, f),
        }
    }

    /// Checks the internal invariants (tests and debugging).
    pub fn validate(&self) -> Result<(), String> {
        match self {
            ZSetValue::Listpack(p) => {
                let items = p.items();
                if items.last().map(|i| i.end).unwrap_or(0) != p.bytes() {
                    return Err("trailing bytes".into());
                }
                for w in items.windows(2) {
                    if cmp_entry(w[0].score, w[0].member, w[1].score, w[1].member) != Ordering::Less
                    {
                        return Err("pack out of order".into());
                    }
                }
                Ok(())
            }
            ZSetValue::Skiplist(s) => {
                let mut n = 0;
                let mut prev: Option<(Vec<u8>, f64)> = None;
                let mut x = s.first();
                let mut back = NIL;
                while x != NIL {
                    let nd = s.nd(x);
                    if nd.back != back {
                        return Err("bad backward link".into());
                    }
                    if let Some((pm, ps)) = &prev {
                        if cmp_entry(*ps, pm, nd.score, &nd.ele) != Ordering::Less {
                            return Err("skiplist out of order".into());
                        }
                    }
                    if s.find(&nd.ele) != x {
                        return Err("hash index mismatch".into());
                    }
                    n += 1;
                    if s.rank_of(x) != n {
                        return Err(format!("rank of #{} is {}", n, s.rank_of(x)));
                    }
                    prev = Some((nd.ele.to_vec(), nd.score));
                    back = x;
                    x = nd.lv[0].next;
                }
                if back != s.tail {
                    return Err("bad tail".into());
                }
                if n != s.len {
                    return Err(format!("len {} but {} nodes", s.len, n));
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn lim() -> Limits {
        Limits::default()
    }

    #[test]
    fn sizes() {
        assert_eq!(std::mem::size_of::<ZSetValue>(), 16);
        // Four levels inline: only 1 node in 256 (level > 4 at p = 1/4)
        // keeps its levels in a separate block, so the upper levels of a
        // search do not take a second cache miss per step.
        assert_eq!(std::mem::size_of::<Node>(), 80);
    }

    #[test]
    fn score_encoding_roundtrip() {
        for s in [
            0.0,
            -0.0,
            1.0,
            -64.0,
            -65.0,
            127.0,
            -128.0,
            32767.0,
            -32769.0,
            -1.0,
            127.0,
            128.0,
            -129.0,
            1e15,
            -((1u64 << 52) as f64),
            9007199254740993.0,
            1.5,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e300,
            5e-324,
        ] {
            let mut v = Vec::new();
            put_varint(&mut v, 1);
            v.push(b'x');
            put_score(&mut v, s);
            let it = decode_at(&v, 0).expect("decodes");
            assert_eq!(it.end, v.len());
            if s == 0.0 {
                assert_eq!(it.score.to_bits(), 0.0f64.to_bits());
            } else {
                assert_eq!(it.score, s);
            }
        }
        let mut v = Vec::new();
        put_score(&mut v, 5.0);
        assert_eq!(v, vec![69]);
        v.clear();
        put_score(&mut v, 200.0);
        assert_eq!(v, vec![0xC2, 200, 0]);
    }

    #[test]
    fn listpack_basics_and_conversion() {
        let mut z = ZSetValue::create(3, 1, lim());
        assert_eq!(
            z.add(2.0, b"b", AddFlags::default(), lim()),
            AddOutcome::Added(2.0)
        );
        z.insert(1.0, b"a", lim());
        z.insert(1.0, b"c", lim());
        assert_eq!(
            z.iter().map(|(m, _)| m.to_vec()).collect::<Vec<_>>(),
            vec![b"a".to_vec(), b"c".to_vec(), b"b".to_vec()]
        );
        assert_eq!(z.rank(b"b", false), Some((2, 2.0)));
        assert_eq!(z.rank(b"b", true), Some((0, 2.0)));
        let inc = AddFlags {
            incr: true,
            ..Default::default()
        };
        assert_eq!(z.add(5.0, b"a", inc, lim()), AddOutcome::Updated(6.0));
        assert_eq!(z.pop(true), Some((b"a".to_vec(), 6.0)));
        z.validate().unwrap();
        let small = Limits {
            max_entries: 2,
            max_value: 64,
        };
        z.insert(3.0, b"d", small);
        assert_eq!(z.encoding(), "skiplist");
        z.validate().unwrap();
        assert_eq!(z.len(), 3);
        z.convert_to_listpack_if_needed(1, 3, lim());
        assert_eq!(z.encoding(), "listpack");
        z.validate().unwrap();
    }

    #[test]
    fn big_skiplist_ranks() {
        let mut z = ZSetValue::new_skiplist(0);
        for i in 0..10000u32 {
            z.insert((i % 100) as f64, format!("m{:05}", i).as_bytes(), lim());
        }
        z.validate().unwrap();
        let (r, s) = z.rank(b"m00150", false).unwrap();
        assert_eq!(s, 50.0);
        let (m, _) = z.get_by_rank(r).unwrap();
        assert_eq!(m, b"m00150");
        let range = ScoreRange {
            min: 10.0,
            max: 20.0,
            minex: true,
            maxex: false,
        };
        assert_eq!(z.count_in(&range), 1000);
        let mut got = Vec::new();
        z.range(&range, true, 5, 3, |m, s| got.push((m.to_vec(), s)));
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].1, 20.0);
        assert_eq!(z.remove_range(&range), 1000);
        assert_eq!(z.remove_range_by_rank(0, 99), 100);
        z.validate().unwrap();
        let mut seen = std::collections::HashSet::new();
        let mut c = 0;
        loop {
            c = z.scan_step(c, |m, _| {
                seen.insert(m.to_vec());
            });
            if c == 0 {
                break;
            }
        }
        assert_eq!(seen.len(), z.len());
        while z.len() > 10 {
            z.pop(false);
        }
        z.validate().unwrap();
    }

    #[derive(Debug, Clone)]
    enum Op {
        Add(u8, i8),
        Incr(u8, i8),
        Rem(u8),
        RemRank(u8, u8),
        RemScore(i8, i8, bool),
        Pop(bool),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (any::<u8>(), any::<i8>()).prop_map(|(m, s)| Op::Add(m % 64, s % 16)),
            1 => (any::<u8>(), any::<i8>()).prop_map(|(m, s)| Op::Incr(m % 64, s % 4)),
            2 => any::<u8>().prop_map(|m| Op::Rem(m % 64)),
            1 => (any::<u8>(), any::<u8>()).prop_map(|(a, b)| Op::RemRank(a % 8, b % 8)),
            1 => (any::<i8>(), any::<i8>(), any::<bool>()).prop_map(|(a, b, e)| Op::RemScore(a % 16, b % 16, e)),
            1 => any::<bool>().prop_map(Op::Pop),
        ]
    }

    fn member(m: u8) -> Vec<u8> {
        format!("m{:02}", m).into_bytes()
    }

    proptest! {
        #[test]
        fn model(ops in proptest::collection::vec(op(), 1..300), skip in any::<bool>()) {
            let l = Limits { max_entries: if skip { 0 } else { 16 }, max_value: 64 };
            let mut z = ZSetValue::create(1, 3, l);
            let mut model: BTreeMap<Vec<u8>, f64> = BTreeMap::new();
            let sorted = |m: &BTreeMap<Vec<u8>, f64>| {
                let mut v: Vec<(Vec<u8>, f64)> = m.iter().map(|(k, v)| (k.clone(), *v)).collect();
                v.sort_by(|a, b| cmp_entry(a.1, &a.0, b.1, &b.0));
                v
            };
            for o in ops {
                match o {
                    Op::Add(m, s) => {
                        z.insert(s as f64, &member(m), l);
                        model.insert(member(m), s as f64);
                    }
                    Op::Incr(m, s) => {
                        let f = AddFlags { incr: true, ..Default::default() };
                        z.add(s as f64, &member(m), f, l);
                        *model.entry(member(m)).or_insert(0.0) += s as f64;
                    }
                    Op::Rem(m) => {
                        prop_assert_eq!(z.remove(&member(m)), model.remove(&member(m)).is_some());
                    }
                    Op::RemRank(a, b) => {
                        let v = sorted(&model);
                        let (a, b) = (a as usize, b as usize);
                        let n = z.remove_range_by_rank(a, b);
                        let mut exp = 0;
                        if a <= b {
                            for (k, _) in v.iter().skip(a).take(b - a + 1) {
                                model.remove(k);
                                exp += 1;
                            }
                        }
                        prop_assert_eq!(n, exp);
                    }
                    Op::RemScore(a, b, ex) => {
                        let r = ScoreRange { min: a as f64, max: b as f64, minex: ex, maxex: false };
                        let n = z.remove_range(&r);
                        let before = model.len();
                        model.retain(|_, s| !r.contains(*s));
                        prop_assert_eq!(n, before - model.len());
                    }
                    Op::Pop(max) => {
                        let v = sorted(&model);
                        let exp = if max { v.last().cloned() } else { v.first().cloned() };
                        let got = z.pop(max);
                        prop_assert_eq!(got.clone(), exp);
                        if let Some((k, _)) = got { model.remove(&k); }
                    }
                }
                prop_assert!(z.validate().is_ok(), "{:?}", z.validate());
                let v = sorted(&model);
                let got: Vec<(Vec<u8>, f64)> = z.iter().map(|(m, s)| (m.to_vec(), s)).collect();
                prop_assert_eq!(&got, &v);
                for (i, (k, s)) in v.iter().enumerate() {
                    prop_assert_eq!(z.rank(k, false), Some((i, *s)));
                }
                let r = ScoreRange { min: -3.0, max: 5.0, minex: true, maxex: false };
                let mut fwd = Vec::new();
                z.range(&r, false, 1, 4, |m, _| fwd.push(m.to_vec()));
                let exp: Vec<Vec<u8>> = v.iter().filter(|(_, s)| r.contains(*s)).skip(1).take(4).map(|(k, _)| k.clone()).collect();
                prop_assert_eq!(fwd, exp);
                let mut rv = Vec::new();
                z.range(&r, true, 2, -1, |m, _| rv.push(m.to_vec()));
                let exp: Vec<Vec<u8>> = v.iter().rev().filter(|(_, s)| r.contains(*s)).skip(2).map(|(k, _)| k.clone()).collect();
                prop_assert_eq!(rv, exp);
                prop_assert_eq!(z.count_in(&r), v.iter().filter(|(_, s)| r.contains(*s)).count());
                let mut rr = Vec::new();
                z.range_by_rank(1, 5, true, |m, _| rr.push(m.to_vec()));
                let exp: Vec<Vec<u8>> = v.iter().rev().skip(1).take(5).map(|(k, _)| k.clone()).collect();
                prop_assert_eq!(rr, exp);
            }
        }
    }
    fn bound(kind: u8, m: u8) -> LexBound {
        match kind % 4 {
            0 => LexBound::NegInf,
            1 => LexBound::PosInf,
            2 => LexBound::Incl(member(m)),
            _ => LexBound::Excl(member(m)),
        }
    }

    proptest! {
        #[test]
        fn lex_model(ms in proptest::collection::btree_set(0u8..64, 0..60),
                     k1 in any::<u8>(), m1 in 0u8..64, k2 in any::<u8>(), m2 in 0u8..64,
                     rev in any::<bool>(), off in 0usize..5, lim in -1i64..6, skip in any::<bool>()) {
            let l = Limits { max_entries: if skip { 0 } else { 128 }, max_value: 64 };
            let mut z = ZSetValue::create(1, 3, l);
            for m in &ms {
                z.insert(0.0, &member(*m), l);
            }
            let r = LexRange { min: bound(k1, m1), max: bound(k2, m2) };
            let all: Vec<Vec<u8>> = ms.iter().map(|m| member(*m)).filter(|m| r.contains(m)).collect();
            prop_assert_eq!(z.count_in(&r), if r.is_empty() { 0 } else { all.len() });
            let mut got = Vec::new();
            z.range(&r, rev, off, lim, |m, _| got.push(m.to_vec()));
            let mut exp: Vec<Vec<u8>> = if r.is_empty() { Vec::new() } else { all.clone() };
            if rev { exp.reverse(); }
            let exp: Vec<Vec<u8>> = exp.into_iter().skip(off).take(if lim < 0 { usize::MAX } else { lim as usize }).collect();
            prop_assert_eq!(got, exp);
            let n = z.remove_range(&r);
            prop_assert_eq!(n, if r.is_empty() { 0 } else { all.len() });
            prop_assert!(z.validate().is_ok());
            prop_assert_eq!(z.len(), ms.len() - n);
        }
    }
}
