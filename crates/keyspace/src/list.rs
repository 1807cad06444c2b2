//! List values: a single compact `Listpack` while the list is small, a
//! quicklist (a deque of listpack nodes) once it grows past
//! `list-max-listpack-size`, with Redis 7.2's conversion rules in both
//! directions so `OBJECT ENCODING` answers `listpack` / `quicklist` at the
//! same points as Redis.
//!
//! Size limits are Redis's: `fill` is the `list-max-listpack-size` value
//! (negative: a byte budget per node, -1..-5 = 4..64 KiB; positive: entries
//! per node). Byte sizes are measured the way Redis's listpack encodes the
//! entries (integers compactly, 1-5 byte headers and back-lengths), so the
//! thresholds match even though Spinel's own listpack layout is different.
//!
//! Conversions are explicit, as in Redis: callers run
//! [`ListValue::convert_for_growth`] before adding elements and
//! [`ListValue::convert_after_shrink`] after removing some.

use crate::listpack::Listpack;
use crate::value::parse_canonical_i64;
use std::collections::VecDeque;

/// Redis's default `list-max-listpack-size`.
pub const DEFAULT_FILL: i64 = -2;

/// Byte budgets for negative fill values (-1 .. -5).
const OPTIMIZATION_LEVEL: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
/// Size cap that applies even to count-limited nodes.
const SIZE_SAFETY_LIMIT: usize = 8192;
/// Redis's per-insert overestimate of an entry's encoding overhead.
const SIZE_ESTIMATE_OVERHEAD: usize = 8;
/// Listpack header (total bytes + count) plus the end marker.
const LP_OVERHEAD: usize = 7;

/// Which end of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Head,
    Tail,
}

/// Bytes one element takes in a Redis listpack (encoding + back-length).
pub fn redis_entry_size(e: &[u8]) -> usize {
    let enc = if e.len() <= 20 {
        match parse_canonical_i64(e) {
            Some(v) => int_enc_size(v),
            None => str_enc_size(e.len()),
        }
    } else {
        str_enc_size(e.len())
    };
    enc + backlen_size(enc)
}

fn int_enc_size(v: i64) -> usize {
    if (0..=127).contains(&v) {
        1
    } else if (-4096..=4095).contains(&v) {
        2
    } else if (i16::MIN as i64..=i16::MAX as i64).contains(&v) {
        3
    } else if (-8_388_608..=8_388_607).contains(&v) {
        4
    } else if (i32::MIN as i64..=i32::MAX as i64).contains(&v) {
        5
    } else {
        9
    }
}

fn str_enc_size(len: usize) -> usize {
    if len < 64 {
        1 + len
    } else if len < 4096 {
        2 + len
    } else {
        5 + len
    }
}

fn backlen_size(l: usize) -> usize {
    if l <= 127 {
        1
    } else if l < 16383 {
        2
    } else if l < 2_097_151 {
        3
    } else if l < 268_435_455 {
        4
    } else {
        5
    }
}

/// `lpBytes` of a listpack holding these entries, as Redis would encode it.
pub fn redis_lp_bytes(lp: &Listpack) -> usize {
    LP_OVERHEAD + lp.iter().map(redis_entry_size).sum::<usize>()
}

/// (size limit, count limit) of one node / of a listpack-encoded list.
fn node_limit(fill: i64) -> (usize, usize) {
    if fill >= 0 {
        let c = if fill == 0 {
            1
        } else {
            fill.min(u32::MAX as i64) as usize
        };
        (usize::MAX, c)
    } else {
        (neg_fill_limit(fill), usize::MAX)
    }
}

fn neg_fill_limit(fill: i64) -> usize {
    let off = ((-(fill.max(-1_000_000))) - 1) as usize;
    OPTIMIZATION_LEVEL[off.min(OPTIMIZATION_LEVEL.len() - 1)]
}

/// `quicklistNodeExceedsLimit`.
fn exceeds_limit(fill: i64, new_sz: usize, new_count: usize) -> bool {
    let (sz_limit, count_limit) = node_limit(fill);
    if sz_limit != usize::MAX {
        new_sz > sz_limit
    } else {
        new_sz > SIZE_SAFETY_LIMIT || new_count > count_limit
    }
}

/// Elements this large get a node of their own (a "plain" node).
fn is_large_element(sz: usize, fill: i64) -> bool {
    if fill >= 0 {
        sz > SIZE_SAFETY_LIMIT
    } else {
        sz > neg_fill_limit(fill)
    }
}

/// One quicklist node: a listpack, its Redis-encoded size, and whether it is
/// a plain node holding one large element.
#[derive(Debug, Clone, Default)]
struct Node {
    lp: Listpack,
    sz: usize,
    plain: bool,
}

impl Node {
    fn packed() -> Node {
        Node {
            lp: Listpack::new(),
            sz: LP_OVERHEAD,
            plain: false,
        }
    }

    fn plain(e: &[u8]) -> Node {
        let mut lp = Listpack::with_capacity(crate::listpack::entry_size(e.len()));
        lp.push_back(e);
        Node {
            lp,
            sz: e.len(),
            plain: true,
        }
    }

    fn from_lp(lp: Listpack) -> Node {
        let sz = redis_lp_bytes(&lp);
        Node {
            lp,
            sz,
            plain: false,
        }
    }

    #[inline]
    fn count(&self) -> usize {
        self.lp.len()
    }

    fn allows_insert(&self, fill: i64, sz: usize) -> bool {
        if self.plain || is_large_element(sz, fill) {
            return false;
        }
        !exceeds_limit(
            fill,
            self.sz + sz + SIZE_ESTIMATE_OVERHEAD,
            self.count() + 1,
        )
    }

    fn allows_merge(&self, other: &Node, fill: i64) -> bool {
        if self.plain || other.plain {
            return false;
        }
        let merged = (self.sz + other.sz).saturating_sub(LP_OVERHEAD);
        !exceeds_limit(fill, merged, self.count() + other.count())
    }

    fn resize(&mut self) {
        self.sz = if self.plain {
            self.lp.iter().next().map(|e| e.len()).unwrap_or(0)
        } else {
            redis_lp_bytes(&self.lp)
        };
    }

    fn push(&mut self, end: End, e: &[u8]) {
        match end {
            End::Head => self.lp.push_front(e),
            End::Tail => self.lp.push_back(e),
        }
        self.sz += redis_entry_size(e);
    }

    fn pop(&mut self, end: End) -> Option<Vec<u8>> {
        let v = match end {
            End::Head => self.lp.pop_front(),
            End::Tail => self.lp.pop_back(),
        }?;
        if self.plain {
            self.sz = 0;
        } else {
            self.sz = self.sz.saturating_sub(redis_entry_size(&v));
        }
        Some(v)
    }

    /// Splits off the entries from `at` on into a new node.
    fn split_off(&mut self, at: usize) -> Node {
        let mut tail = Listpack::new();
        for e in self.lp.iter().skip(at) {
            tail.push_back(e);
        }
        let n = self.count();
        self.lp.remove_range(at, n.saturating_sub(at));
        self.resize();
        Node::from_lp(tail)
    }
}

/// A list past the listpack limits: listpack nodes in a deque. Index
/// lookups walk node counts from the nearer end (O(nodes)), then scan one
/// node (bounded by the node size limit).
#[derive(Debug, Clone, Default)]
pub struct Quicklist {
    nodes: VecDeque<Node>,
    count: usize,
}

impl Quicklist {
    fn locate(&self, i: usize) -> Option<(usize, usize)> {
        if i >= self.count {
            return None;
        }
        if i <= self.count / 2 {
            let mut acc = 0;
            for (ni, n) in self.nodes.iter().enumerate() {
                if acc + n.count() > i {
                    return Some((ni, i - acc));
                }
                acc += n.count();
            }
        } else {
            let mut acc = self.count;
            for (ni, n) in self.nodes.iter().enumerate().rev() {
                acc -= n.count();
                if acc <= i {
                    return Some((ni, i - acc));
                }
            }
        }
        None
    }

    fn push(&mut self, end: End, e: &[u8], fill: i64) {
        self.count += 1;
        if is_large_element(e.len(), fill) {
            let n = Node::plain(e);
            match end {
                End::Head => self.nodes.push_front(n),
                End::Tail => self.nodes.push_back(n),
            }
            return;
        }
        let target = match end {
            End::Head => self.nodes.front_mut(),
            End::Tail => self.nodes.back_mut(),
        };
        match target {
            Some(n) if n.allows_insert(fill, e.len()) => n.push(end, e),
            full => {
                // The old end node is complete: release its growth room.
                if let Some(old) = full {
                    old.lp.shrink_to_fit();
                }
                let mut n = Node::packed();
                n.push(end, e);
                match end {
                    End::Head => self.nodes.push_front(n),
                    End::Tail => self.nodes.push_back(n),
                }
            }
        }
    }

    fn pop(&mut self, end: End) -> Option<Vec<u8>> {
        let n = match end {
            End::Head => self.nodes.front_mut(),
            End::Tail => self.nodes.back_mut(),
        }?;
        let v = n.pop(end);
        if n.count() == 0 {
            match end {
                End::Head => self.nodes.pop_front(),
                End::Tail => self.nodes.pop_back(),
            };
        }
        if v.is_some() {
            self.count -= 1;
        }
        v
    }

    fn get(&self, i: usize) -> Option<&[u8]> {
        let (ni, off) = self.locate(i)?;
        self.nodes.get(ni)?.lp.get(off)
    }

    /// Removes `n` entries starting at index `start` (quicklistDelRange).
    fn remove_range(&mut self, start: usize, n: usize) {
        let Some((mut ni, mut off)) = self.locate(start) else {
            return;
        };
        let mut left = n.min(self.count - start);
        while left > 0 && ni < self.nodes.len() {
            let Some(node) = self.nodes.get_mut(ni) else {
                break;
            };
            let cnt = node.count();
            let del = (cnt - off).min(left);
            if (off == 0 && del == cnt) || node.plain {
                self.nodes.remove(ni);
            } else {
                node.lp.remove_range(off, del);
                node.resize();
                ni += 1;
            }
            self.count -= del;
            left -= del;
            off = 0;
        }
    }

    /// Replaces the entry at `i` (quicklistReplaceEntry).
    fn replace(&mut self, i: usize, e: &[u8], fill: i64) -> bool {
        let Some((ni, off)) = self.locate(i) else {
            return false;
        };
        let large = is_large_element(e.len(), fill);
        let Some(node) = self.nodes.get_mut(ni) else {
            return false;
        };
        if !node.plain && !large {
            if let Some(old) = node.lp.get(off) {
                let old_sz = redis_entry_size(old);
                node.lp.replace(off, e);
                node.sz = node.sz - old_sz + redis_entry_size(e);
            }
            return true;
        }
        if node.plain && large {
            *node = Node::plain(e);
            return true;
        }
        if node.plain {
            // A small value where a large one was (Redis: insert it after
            // the plain node, then drop the plain node).
            self.insert(i, e, true, fill);
            if self.nodes.remove(ni).is_some() {
                self.count -= 1;
            }
            return true;
        }
        // A large value inside a packed node: split after it, put the plain
        // node between the halves, then drop the replaced entry (the head
        // half's last) and merge around the plain node unless the head half
        // is gone.
        let cnt = node.count();
        let rest = if off + 1 < cnt {
            Some(node.split_off(off + 1))
        } else {
            None
        };
        self.nodes.insert(ni + 1, Node::plain(e));
        if let Some(rest) = rest {
            self.nodes.insert(ni + 2, rest);
        }
        let single = self.nodes.get(ni).is_some_and(|n| n.count() == 1);
        if single {
            self.nodes.remove(ni);
        } else {
            if let Some(n) = self.nodes.get_mut(ni) {
                n.pop(End::Tail);
            }
            self.merge_around(ni + 1, fill);
        }
        true
    }

    /// Inserts `e` before (`after` false) or after the entry at `i`
    /// (`_quicklistInsert`).
    fn insert(&mut self, i: usize, e: &[u8], after: bool, fill: i64) -> bool {
        let Some((ni, off)) = self.locate(i) else {
            return false;
        };
        let sz = e.len();
        let Some(node) = self.nodes.get(ni) else {
            return false;
        };
        let cnt = node.count();
        let full = !node.allows_insert(fill, sz);
        let at_tail = after && off + 1 == cnt;
        let at_head = !after && off == 0;
        let avail_next = at_tail
            && self
                .nodes
                .get(ni + 1)
                .map(|n| n.allows_insert(fill, sz))
                .unwrap_or(false);
        let avail_prev = at_head
            && ni > 0
            && self
                .nodes
                .get(ni - 1)
                .map(|n| n.allows_insert(fill, sz))
                .unwrap_or(false);
        self.count += 1;
        if is_large_element(sz, fill) {
            let plain = Node::plain(e);
            if node.plain || at_tail || at_head {
                let pos = if after { ni + 1 } else { ni };
                self.nodes.insert(pos, plain);
            } else {
                let split_at = if after { off + 1 } else { off };
                let rest = match self.nodes.get_mut(ni) {
                    Some(n) => n.split_off(split_at),
                    None => return false,
                };
                self.nodes.insert(ni + 1, plain);
                self.nodes.insert(ni + 2, rest);
            }
            return true;
        }
        if !full {
            if let Some(n) = self.nodes.get_mut(ni) {
                let pos = if after { off + 1 } else { off };
                n.lp.insert(pos, e);
                n.sz += redis_entry_size(e);
            }
        } else if at_tail && avail_next {
            if let Some(n) = self.nodes.get_mut(ni + 1) {
                n.push(End::Head, e);
            }
        } else if at_head && avail_prev {
            if let Some(n) = self.nodes.get_mut(ni - 1) {
                n.push(End::Tail, e);
            }
        } else if at_tail || at_head {
            let mut n = Node::packed();
            n.push(End::Tail, e);
            let pos = if after { ni + 1 } else { ni };
            self.nodes.insert(pos, n);
        } else {
            // Split the full node at the insertion point, put the new entry
            // at the edge of the split-off half, then merge neighbours.
            let split_at = if after { off + 1 } else { off };
            let mut rest = match self.nodes.get_mut(ni) {
                Some(n) => n.split_off(split_at),
                None => return false,
            };
            if after {
                rest.push(End::Head, e);
            } else if let Some(n) = self.nodes.get_mut(ni) {
                n.push(End::Tail, e);
            }
            self.nodes.insert(ni + 1, rest);
            // Redis merges around the node it split: the part that kept the
            // original listpack (the head part when inserting after, the
            // tail part when inserting before).
            self.merge_around(if after { ni } else { ni + 1 }, fill);
        }
        true
    }

    /// `_quicklistMergeNodes` around node `c`.
    fn merge_around(&mut self, c: usize, fill: i64) {
        let mut c = c;
        // prev_prev + prev
        if c >= 2 && self.can_merge(c - 2, c - 1, fill) {
            self.merge_into(c - 2);
            c -= 1;
        }
        // next + next_next
        if c + 2 < self.nodes.len() && self.can_merge(c + 1, c + 2, fill) {
            self.merge_into(c + 1);
        }
        // center with prev, then with next
        let mut target = c;
        if c >= 1 && self.can_merge(c - 1, c, fill) {
            self.merge_into(c - 1);
            target = c - 1;
        }
        if target + 1 < self.nodes.len() && self.can_merge(target, target + 1, fill) {
            self.merge_into(target);
        }
    }

    fn can_merge(&self, a: usize, b: usize, fill: i64) -> bool {
        match (self.nodes.get(a), self.nodes.get(b)) {
            (Some(x), Some(y)) => x.allows_merge(y, fill),
            _ => false,
        }
    }

    /// Appends node `a + 1` onto node `a`.
    fn merge_into(&mut self, a: usize) {
        let Some(b) = self.nodes.remove(a + 1) else {
            return;
        };
        if let Some(n) = self.nodes.get_mut(a) {
            for e in b.lp.iter() {
                n.lp.push_back(e);
            }
            n.resize();
        }
    }
}

/// Drops entries equal to `e` from `lp` (up to `budget`, scanning from the
/// chosen end); returns how many were dropped.
fn filter_lp(lp: &mut Listpack, e: &[u8], budget: &mut usize, from_tail: bool) -> usize {
    let items: Vec<&[u8]> = lp.iter().collect();
    let mut drop = vec![false; items.len()];
    let mut removed = 0;
    let order: Box<dyn Iterator<Item = usize>> = if from_tail {
        Box::new((0..items.len()).rev())
    } else {
        Box::new(0..items.len())
    };
    for i in order {
        if *budget == 0 {
            break;
        }
        if items.get(i).copied() == Some(e) {
            if let Some(d) = drop.get_mut(i) {
                *d = true;
            }
            removed += 1;
            *budget -= 1;
        }
    }
    if removed == 0 {
        return 0;
    }
    let mut out = Listpack::with_capacity(lp.bytes());
    for (i, x) in items.iter().enumerate() {
        if !drop.get(i).copied().unwrap_or(false) {
            out.push_back(x);
        }
    }
    *lp = out;
    removed
}

/// A list value.
#[derive(Debug, Clone)]
pub enum ListValue {
    /// Small lists: one contiguous listpack (`OBJECT ENCODING listpack`).
    Pack(Listpack),
    /// Large lists (`OBJECT ENCODING quicklist`).
    Quick(Box<Quicklist>),
}

impl Default for ListValue {
    fn default() -> Self {
        ListValue::Pack(Listpack::new())
    }
}

/// Iterator over a list's elements, head to tail.
pub struct Iter<'a> {
    inner: IterInner<'a>,
}

enum IterInner<'a> {
    Pack(crate::listpack::Iter<'a>),
    Quick {
        nodes: std::collections::vec_deque::Iter<'a, Node>,
        cur: Option<crate::listpack::Iter<'a>>,
    },
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a [u8];
    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        match &mut self.inner {
            IterInner::Pack(it) => it.next(),
            IterInner::Quick { nodes, cur } => loop {
                if let Some(it) = cur {
                    if let Some(e) = it.next() {
                        return Some(e);
                    }
                }
                *cur = Some(nodes.next()?.lp.iter());
            },
        }
    }
}

impl ListValue {
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds a list from elements, choosing the encoding Redis would end up
    /// with for a list created in one go (RDB load, SORT STORE, COPY...).
    pub fn from_elements<'a, I: IntoIterator<Item = &'a [u8]>>(items: I, fill: i64) -> Self {
        let mut l = ListValue::Quick(Box::default());
        for e in items {
            l.push(End::Tail, e, fill);
        }
        l.convert_auto(fill);
        l
    }

    /// An empty listpack-encoded list with room for `elems` (no regrowth
    /// while they are pushed).
    pub fn with_room_for<'a, I: IntoIterator<Item = &'a [u8]>>(elems: I) -> Self {
        let bytes = elems
            .into_iter()
            .map(|e| crate::listpack::entry_size(e.len()))
            .sum();
        ListValue::Pack(Listpack::with_capacity(bytes))
    }

    /// Releases a listpack's spare capacity (small lists are many: their
    /// slack is most of the memory they would waste).
    pub fn fit(&mut self) {
        if let ListValue::Pack(lp) = self {
            let used = lp.bytes();
            if lp.heap_size() > used + used / 8 + 8 {
                lp.shrink_to_fit();
            }
        }
    }

    pub fn len(&self) -> usize {
        match self {
            ListValue::Pack(lp) => lp.len(),
            ListValue::Quick(q) => q.count,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            ListValue::Pack(_) => "listpack",
            ListValue::Quick(_) => "quicklist",
        }
    }

    pub fn heap_size(&self) -> usize {
        match self {
            ListValue::Pack(lp) => lp.heap_size(),
            ListValue::Quick(q) => {
                std::mem::size_of::<Quicklist>()
                    + q.nodes.capacity() * std::mem::size_of::<Node>()
                    + q.nodes.iter().map(|n| n.lp.heap_size()).sum::<usize>()
            }
        }
    }

    /// Number of quicklist nodes (1 for a listpack), for DEBUG/OBJECT.
    pub fn node_count(&self) -> usize {
        match self {
            ListValue::Pack(_) => 1,
            ListValue::Quick(q) => q.nodes.len(),
        }
    }

    pub fn iter(&self) -> Iter<'_> {
        Iter {
            inner: match self {
                ListValue::Pack(lp) => IterInner::Pack(lp.iter()),
                ListValue::Quick(q) => IterInner::Quick {
                    nodes: q.nodes.iter(),
                    cur: None,
                },
            },
        }
    }

    /// Elements from index `start` (0-based, head to tail).
    pub fn iter_from(&self, start: usize) -> Iter<'_> {
        match self {
            ListValue::Pack(lp) => {
                let mut it = lp.iter();
                if start > 0 {
                    let _ = it.nth(start - 1);
                }
                Iter {
                    inner: IterInner::Pack(it),
                }
            }
            ListValue::Quick(q) => match q.locate(start) {
                None => Iter {
                    inner: IterInner::Quick {
                        nodes: q.nodes.range(0..0),
                        cur: None,
                    },
                },
                Some((ni, off)) => {
                    let mut cur = q.nodes.get(ni).map(|n| n.lp.iter());
                    if let (Some(it), true) = (cur.as_mut(), off > 0) {
                        let _ = it.nth(off - 1);
                    }
                    Iter {
                        inner: IterInner::Quick {
                            nodes: q.nodes.range(ni + 1..),
                            cur,
                        },
                    }
                }
            },
        }
    }

    /// Visits elements from the tail towards the head; `f` returns false to
    /// stop (listpacks are read backwards through their back-lengths).
    pub fn for_each_rev(&self, mut f: impl FnMut(&[u8]) -> bool) {
        let mut visit = |lp: &Listpack| -> bool {
            for e in lp.iter().rev() {
                if !f(e) {
                    return false;
                }
            }
            true
        };
        match self {
            ListValue::Pack(lp) => {
                visit(lp);
            }
            ListValue::Quick(q) => {
                for n in q.nodes.iter().rev() {
                    if !visit(&n.lp) {
                        return;
                    }
                }
            }
        }
    }

    pub fn get(&self, i: usize) -> Option<&[u8]> {
        match self {
            ListValue::Pack(lp) => lp.get(i),
            ListValue::Quick(q) => q.get(i),
        }
    }

    /// Resolves a Redis index (negative counts from the tail).
    pub fn index(&self, i: i64) -> Option<usize> {
        let len = self.len() as i64;
        let j = if i < 0 { len + i } else { i };
        if j < 0 || j >= len {
            None
        } else {
            Some(j as usize)
        }
    }

    pub fn push(&mut self, end: End, e: &[u8], fill: i64) {
        match self {
            ListValue::Pack(lp) => match end {
                End::Head => lp.push_front(e),
                End::Tail => {
                    // Small lists grow exactly (usually in place in the
                    // allocator's size class) rather than doubling and
                    // being shrunk back by `fit`.
                    lp.reserve_exact(crate::listpack::entry_size(e.len()));
                    lp.push_back(e);
                }
            },
            ListValue::Quick(q) => q.push(end, e, fill),
        }
    }

    pub fn pop(&mut self, end: End) -> Option<Vec<u8>> {
        match self {
            ListValue::Pack(lp) => match end {
                End::Head => lp.pop_front(),
                End::Tail => lp.pop_back(),
            },
            ListValue::Quick(q) => q.pop(end),
        }
    }

    /// Replaces the element at `i`; false when out of range.
    pub fn set(&mut self, i: usize, e: &[u8], fill: i64) -> bool {
        match self {
            ListValue::Pack(lp) => lp.replace(i, e),
            ListValue::Quick(q) => q.replace(i, e, fill),
        }
    }

    /// Inserts `e` next to the element at index `i`.
    pub fn insert(&mut self, i: usize, e: &[u8], after: bool, fill: i64) -> bool {
        match self {
            ListValue::Pack(lp) => lp.insert(if after { i + 1 } else { i }, e),
            ListValue::Quick(q) => q.insert(i, e, after, fill),
        }
    }

    /// Removes `n` elements starting at index `start`.
    pub fn remove_range(&mut self, start: usize, n: usize) {
        if n == 0 || start >= self.len() {
            return;
        }
        match self {
            ListValue::Pack(lp) => lp.remove_range(start, n),
            ListValue::Quick(q) => q.remove_range(start, n),
        }
    }

    /// Removes up to `limit` (0 = all) elements equal to `e`, scanning from
    /// the head or (`from_tail`) the tail. Returns how many were removed.
    /// Nodes keep their boundaries (emptied nodes are dropped), as in Redis.
    pub fn remove_matching(&mut self, e: &[u8], limit: usize, from_tail: bool) -> usize {
        let mut budget = if limit == 0 { usize::MAX } else { limit };
        match self {
            ListValue::Pack(lp) => {
                let removed = filter_lp(lp, e, &mut budget, from_tail);
                if removed > 0 {
                    lp.shrink_to_fit();
                }
                removed
            }
            ListValue::Quick(q) => {
                let mut removed = 0;
                let n = q.nodes.len();
                for k in 0..n {
                    if budget == 0 {
                        break;
                    }
                    let ni = if from_tail { n - 1 - k } else { k };
                    if let Some(node) = q.nodes.get_mut(ni) {
                        let r = filter_lp(&mut node.lp, e, &mut budget, from_tail);
                        if r > 0 {
                            node.resize();
                            removed += r;
                        }
                    }
                }
                q.nodes.retain(|n| n.count() > 0);
                q.count -= removed;
                removed
            }
        }
    }

    /// `listTypeTryConvertListpack`: before adding `add_count` elements
    /// totalling `add_bytes`, switch a listpack to a quicklist if the result
    /// would exceed the limits.
    pub fn convert_for_growth(&mut self, fill: i64, add_bytes: usize, add_count: usize) {
        let ListValue::Pack(lp) = self else {
            return;
        };
        let (sz_limit, count_limit) = node_limit(fill);
        let new_count = lp.len() + add_count;
        // Cheap upper bound of Redis's encoded size: skip the exact scan
        // while far below the limits.
        let bound = LP_OVERHEAD + lp.bytes() + 9 * lp.len() + add_bytes;
        let size_cap = if sz_limit == usize::MAX {
            SIZE_SAFETY_LIMIT
        } else {
            sz_limit
        };
        if bound <= size_cap && new_count <= count_limit {
            return;
        }
        let sz = redis_lp_bytes(lp) + add_bytes;
        if !exceeds_limit(fill, sz, new_count) {
            return;
        }
        let lp = std::mem::take(lp);
        let mut q = Quicklist::default();
        if !lp.is_empty() {
            q.count = lp.len();
            q.nodes.push_back(Node::from_lp(lp));
        }
        *self = ListValue::Quick(Box::new(q));
    }

    /// `listTypeTryConvertQuicklist` with shrinking: after removing elements,
    /// a quicklist of one packed node under half the limits becomes a
    /// listpack again.
    pub fn convert_after_shrink(&mut self, fill: i64) {
        self.convert_quicklist(fill, true)
    }

    /// LIST_CONV_AUTO: the encoding for a freshly built list.
    pub fn convert_auto(&mut self, fill: i64) {
        match self {
            ListValue::Quick(_) => self.convert_quicklist(fill, false),
            ListValue::Pack(_) => self.convert_for_growth(fill, 0, 0),
        }
    }

    fn convert_quicklist(&mut self, fill: i64, shrinking: bool) {
        let ListValue::Quick(q) = self else {
            return;
        };
        if q.nodes.is_empty() {
            *self = ListValue::Pack(Listpack::new());
            return;
        }
        if q.nodes.len() != 1 {
            return;
        }
        let Some(node) = q.nodes.front() else {
            return;
        };
        if node.plain {
            return;
        }
        let (mut sz_limit, mut count_limit) = node_limit(fill);
        if shrinking {
            sz_limit /= 2;
            count_limit /= 2;
        }
        if node.sz > sz_limit || q.count > count_limit {
            return;
        }
        let Some(node) = q.nodes.pop_front() else {
            return;
        };
        let mut lp = node.lp;
        lp.shrink_to_fit();
        *self = ListValue::Pack(lp);
    }
}

impl ListValue {
    /// Visits the nodes head to tail as Redis's quicklist would hold them
    /// (a listpack-encoded list is one packed node): whether the node is
    /// plain (one large element) and its elements. Used by RDB/DUMP.
    pub fn for_each_node(&self, mut f: impl FnMut(bool, crate::listpack::Iter<'_>)) {
        match self {
            ListValue::Pack(lp) => f(false, lp.iter()),
            ListValue::Quick(q) => {
                for n in &q.nodes {
                    f(n.plain, n.lp.iter());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str], fill: i64) -> ListValue {
        let mut l = ListValue::new();
        for i in items {
            l.convert_for_growth(fill, i.len(), 1);
            l.push(End::Tail, i.as_bytes(), fill);
        }
        l
    }

    fn items(l: &ListValue) -> Vec<String> {
        l.iter()
            .map(|e| String::from_utf8_lossy(e).into_owned())
            .collect()
    }

    #[test]
    fn entry_sizes() {
        assert_eq!(redis_entry_size(b"1"), 2);
        assert_eq!(redis_entry_size(b"1000"), 3);
        assert_eq!(redis_entry_size(b"a"), 3);
        assert_eq!(redis_entry_size(&[b'x'; 100]), 103);
        assert_eq!(redis_entry_size(b"9223372036854775807"), 10);
    }

    /// Node sizes (plain nodes count 1), head to tail.
    fn shape(l: &ListValue) -> Vec<usize> {
        match l {
            ListValue::Pack(lp) => vec![lp.len()],
            ListValue::Quick(q) => q.nodes.iter().map(|n| n.count()).collect(),
        }
    }

    fn push_all(l: &mut ListValue, items: &[&[u8]], fill: i64) {
        for i in items {
            l.convert_for_growth(fill, i.len(), 1);
            l.push(End::Tail, i, fill);
        }
    }

    // Node shapes below were recorded from Redis 7.2 (list-max-listpack-size 4).
    #[test]
    fn insert_before_merges_around_the_split_node() {
        let mut l = ListValue::new();
        push_all(&mut l, &[b"a", b"b", b"c", b"d", b"e", b"f", b"g", b"h"], 4);
        for x in [b"f", b"g", b"h"] {
            l.remove_matching(x, 0, false);
        }
        push_all(&mut l, &[b"i"], 4);
        assert_eq!(shape(&l), vec![4, 2]);
        assert!(l.insert(2, b"X", false, 4));
        assert_eq!(shape(&l), vec![3, 4]);
        assert_eq!(items(&l), vec!["a", "b", "X", "c", "d", "e", "i"]);
    }

    #[test]
    fn lset_small_over_plain_inserts_after_then_drops_it() {
        let big = vec![b'B'; 9000];
        let mut l = ListValue::new();
        push_all(&mut l, &[b"a", b"b", &big, b"c", b"d", b"e", b"f"], 4);
        assert_eq!(shape(&l), vec![2, 1, 4]);
        assert!(l.set(2, b"x", 4));
        assert_eq!(shape(&l), vec![2, 1, 4]);
        assert_eq!(items(&l), vec!["a", "b", "x", "c", "d", "e", "f"]);
    }

    #[test]
    fn lset_large_in_packed_node_splits_and_merges_around_it() {
        let big = vec![b'B'; 9000];
        let mut l = ListValue::new();
        push_all(
            &mut l,
            &[b"a", b"b", b"c", b"d", b"e", b"f", b"g", b"h", b"i"],
            4,
        );
        for _ in 0..3 {
            l.pop(End::Head);
        }
        assert_eq!(shape(&l), vec![1, 4, 1]);
        assert!(l.set(2, &big, 4));
        assert_eq!(shape(&l), vec![2, 1, 3]);
        assert_eq!(l.get(2).map(|e| e.len()), Some(9000));
        assert_eq!(l.len(), 6);
    }

    #[test]
    fn count_fill_conversions() {
        // list-max-listpack-size 3: a 4th element converts; popping back to
        // one element (half of 3) converts back.
        let mut l = list(&["a", "b", "c"], 3);
        assert_eq!(l.encoding(), "listpack");
        l.convert_for_growth(3, 1, 1);
        l.push(End::Tail, b"d", 3);
        assert_eq!(l.encoding(), "quicklist");
        assert_eq!(l.node_count(), 2);
        for _ in 0..3 {
            l.pop(End::Tail);
            l.convert_after_shrink(3);
        }
        assert_eq!(l.encoding(), "listpack");
        assert_eq!(items(&l), vec!["a"]);
    }

    #[test]
    fn size_fill_conversion() {
        let big = "x".repeat(1000);
        let mut l = ListValue::new();
        let mut n = 0;
        while l.encoding() == "listpack" {
            l.convert_for_growth(-2, big.len(), 1);
            l.push(End::Tail, big.as_bytes(), -2);
            n += 1;
        }
        // 7 + 8 * 1004 = 8039 fits; adding a 9th (8039 + 1000) does not.
        assert_eq!(n, 9);
        assert_eq!(l.len(), 9);
        // Large elements go to plain nodes.
        let huge = "y".repeat(10000);
        l.push(End::Head, huge.as_bytes(), -2);
        assert_eq!(l.get(0).map(|e| e.len()), Some(10000));
        assert_eq!(l.get(9).map(|e| e.len()), Some(1000));
        assert_eq!(l.pop(End::Head).map(|e| e.len()), Some(10000));
    }

    #[test]
    fn quicklist_ops_match_model() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for fill in [-2i64, 3, 5, -1] {
            let mut l = ListValue::new();
            let mut m: VecDeque<Vec<u8>> = VecDeque::new();
            for step in 0..3000 {
                let len = if rng.gen_range(0..50) == 0 {
                    5000
                } else {
                    rng.gen_range(0..40)
                };
                let v: Vec<u8> = format!("{}:{}", step, "z".repeat(len)).into_bytes();
                match rng.gen_range(0..10) {
                    0 | 1 => {
                        l.convert_for_growth(fill, v.len(), 1);
                        l.push(End::Head, &v, fill);
                        m.push_front(v);
                    }
                    2 | 3 => {
                        l.convert_for_growth(fill, v.len(), 1);
                        l.push(End::Tail, &v, fill);
                        m.push_back(v);
                    }
                    4 => {
                        assert_eq!(l.pop(End::Head), m.pop_front());
                        l.convert_after_shrink(fill);
                    }
                    5 => {
                        assert_eq!(l.pop(End::Tail), m.pop_back());
                        l.convert_after_shrink(fill);
                    }
                    6 if !m.is_empty() => {
                        let i = rng.gen_range(0..m.len());
                        l.convert_for_growth(fill, v.len(), 1);
                        assert!(l.set(i, &v, fill));
                        m[i] = v;
                    }
                    7 if !m.is_empty() => {
                        let i = rng.gen_range(0..m.len());
                        let after = rng.gen_bool(0.5);
                        l.convert_for_growth(fill, v.len(), 1);
                        assert!(l.insert(i, &v, after, fill));
                        m.insert(if after { i + 1 } else { i }, v);
                    }
                    8 if !m.is_empty() => {
                        let s = rng.gen_range(0..m.len());
                        let n = rng.gen_range(0..4);
                        l.remove_range(s, n);
                        for _ in 0..n.min(m.len() - s) {
                            m.remove(s);
                        }
                        l.convert_after_shrink(fill);
                    }
                    9 if !m.is_empty() => {
                        let target = m[rng.gen_range(0..m.len())].clone();
                        let lim = rng.gen_range(0..3);
                        let tail = rng.gen_bool(0.5);
                        let got = l.remove_matching(&target, lim, tail);
                        let mut idx: Vec<usize> =
                            (0..m.len()).filter(|&i| m[i] == target).collect();
                        if tail {
                            idx.reverse();
                        }
                        if lim > 0 {
                            idx.truncate(lim);
                        }
                        idx.sort_unstable();
                        for &i in idx.iter().rev() {
                            m.remove(i);
                        }
                        assert_eq!(got, idx.len());
                        l.convert_after_shrink(fill);
                    }
                    _ => {}
                }
                assert_eq!(l.len(), m.len());
                if step % 97 == 0 {
                    let got: Vec<&[u8]> = l.iter().collect();
                    let want: Vec<&[u8]> = m.iter().map(|v| v.as_slice()).collect();
                    assert_eq!(got, want);
                    if !m.is_empty() {
                        let i = rng.gen_range(0..m.len());
                        assert_eq!(l.get(i), Some(m[i].as_slice()));
                        let tail: Vec<&[u8]> = l.iter_from(i).collect();
                        assert_eq!(tail.len(), m.len() - i);
                        let mut rev = Vec::new();
                        l.for_each_rev(|e| {
                            rev.push(e.to_vec());
                            true
                        });
                        rev.reverse();
                        assert_eq!(rev, m.iter().cloned().collect::<Vec<_>>());
                    }
                }
            }
        }
    }

    #[test]
    fn lrem_both_directions() {
        let mut l = list(&["a", "b", "a", "c", "a"], -2);
        assert_eq!(l.remove_matching(b"a", 2, true), 2);
        assert_eq!(items(&l), vec!["a", "b", "c"]);
        let mut l = list(&["a", "b", "a", "c", "a"], -2);
        assert_eq!(l.remove_matching(b"a", 0, false), 3);
        assert_eq!(items(&l), vec!["b", "c"]);
    }

    #[test]
    fn from_elements_picks_encoding() {
        let small: Vec<&[u8]> = vec![b"a", b"b"];
        assert_eq!(ListValue::from_elements(small, -2).encoding(), "listpack");
        let many: Vec<Vec<u8>> = (0..3000).map(|i| format!("v{}", i).into_bytes()).collect();
        let l = ListValue::from_elements(many.iter().map(|v| v.as_slice()), -2);
        assert_eq!(l.encoding(), "quicklist");
        assert_eq!(l.len(), 3000);
        assert_eq!(l.get(2999), Some(&b"v2999"[..]));
    }

    #[test]
    fn presized_lists_fit_exactly() {
        let elems: Vec<&[u8]> = vec![b"member:1", b"member:2", &[b'x'; 200]];
        let mut l = ListValue::with_room_for(elems.iter().copied());
        for e in &elems {
            l.push(End::Tail, e, DEFAULT_FILL);
        }
        let ListValue::Pack(lp) = &l else {
            panic!("listpack expected");
        };
        assert_eq!(lp.heap_size(), lp.bytes());
        let mut l = ListValue::new();
        for _ in 0..100 {
            l.push(End::Head, b"abc", DEFAULT_FILL);
        }
        l.fit();
        let ListValue::Pack(lp) = &l else {
            panic!("listpack expected");
        };
        assert!(lp.heap_size() <= lp.bytes() + lp.bytes() / 8 + 8);
    }

    #[test]
    fn value_is_small() {
        assert_eq!(std::mem::size_of::<ListValue>(), 32);
    }
}
