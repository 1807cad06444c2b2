//! `Listpack`: a compact, contiguous sequence of byte strings, the shared
//! small-collection encoding for lists, hashes, sets and sorted sets (what
//! Redis calls `listpack`).
//!
//! Layout: entries back to back, each `varint(len) bytes backlen(len)`: the
//! length both before the payload (read forwards) and after it (read
//! backwards), so either end is reached without a scan. No per-entry heap
//! block and no pointers: 10 short members cost their bytes plus two length
//! bytes each. Middle operations are O(n) scans, which is what the size
//! thresholds (`*-max-listpack-entries/value`) keep cheap; collections that
//! grow past them convert to full structures.
//!
//! The entries occupy `buf[head..]`: pushing at the front writes into free
//! room kept before the first entry (grown in steps, so a run of head pushes
//! moves the existing entries only once per step), and popping at the front
//! just advances `head`. Both ends are O(1) amortized.

#[derive(Clone, Default)]
pub struct Listpack {
    buf: Vec<u8>,
    /// Offset of the first entry in `buf` (free room before it).
    head: u32,
    count: u32,
}

/// Largest free room kept before the first entry when a head push needs
/// more (the existing entries move once per this many bytes of pushes).
const MAX_FRONT_ROOM: usize = 1024;

impl PartialEq for Listpack {
    fn eq(&self, other: &Self) -> bool {
        self.count == other.count && self.data() == other.data()
    }
}
impl Eq for Listpack {}

impl std::fmt::Debug for Listpack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|e| String::from_utf8_lossy(e).into_owned()))
            .finish()
    }
}

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

/// The length again, laid out to be read backwards from the entry's end:
/// the last byte holds the low 7 bits, with the high bit set when more
/// groups precede it.
#[inline]
fn put_backlen(out: &mut Vec<u8>, v: usize) {
    let n = varint_len(v);
    for k in (0..n).rev() {
        let b = ((v >> (7 * k)) & 0x7f) as u8;
        out.push(if k + 1 < n { b | 0x80 } else { b });
    }
}

#[inline]
fn varint_len(mut v: usize) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

/// Encoded size of an entry with a `len`-byte payload.
#[inline]
pub fn entry_size(len: usize) -> usize {
    2 * varint_len(len) + len
}

fn encode(e: &[u8]) -> Vec<u8> {
    let mut enc = Vec::with_capacity(entry_size(e.len()));
    put_varint(&mut enc, e.len());
    enc.extend_from_slice(e);
    put_backlen(&mut enc, e.len());
    enc
}

/// Decodes the entry starting at `pos` (entries end by `end`): (payload
/// start, payload end, next entry's start).
#[inline]
fn entry_at(buf: &[u8], pos: usize, end: usize) -> Option<(usize, usize, usize)> {
    let mut v: usize = 0;
    let mut shift = 0;
    let mut p = pos;
    loop {
        if p >= end {
            return None;
        }
        let b = *buf.get(p)?;
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
    let pend = p.checked_add(v)?;
    let next = pend.checked_add(varint_len(v))?;
    if next > end {
        return None;
    }
    Some((p, pend, next))
}

/// Decodes the entry ending at `end` (entries start at or after `lo`):
/// (entry start, payload start, payload end).
#[inline]
fn entry_before(buf: &[u8], lo: usize, end: usize) -> Option<(usize, usize, usize)> {
    let mut v: usize = 0;
    let mut shift = 0;
    let mut p = end;
    loop {
        if p <= lo {
            return None;
        }
        p -= 1;
        let b = *buf.get(p)?;
        v |= ((b & 0x7f) as usize) << shift;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
        if shift > 56 {
            return None;
        }
    }
    let pend = p;
    let s = pend.checked_sub(v)?;
    let start = s.checked_sub(varint_len(v))?;
    if start < lo {
        return None;
    }
    Some((start, s, pend))
}

/// Iterates a listpack's entries from either end.
pub struct Iter<'a> {
    buf: &'a [u8],
    pos: usize,
    end: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a [u8];
    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        let (s, e, next) = entry_at(self.buf, self.pos, self.end)?;
        self.pos = next;
        self.buf.get(s..e)
    }
}

impl DoubleEndedIterator for Iter<'_> {
    #[inline]
    fn next_back(&mut self) -> Option<Self::Item> {
        let (start, s, e) = entry_before(self.buf, self.pos, self.end)?;
        self.end = start;
        self.buf.get(s..e)
    }
}

impl Listpack {
    pub fn new() -> Self {
        Listpack::default()
    }

    pub fn with_capacity(bytes: usize) -> Self {
        Listpack {
            buf: Vec::with_capacity(bytes),
            head: 0,
            count: 0,
        }
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.count as usize
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    #[inline]
    fn start(&self) -> usize {
        self.head as usize
    }

    #[inline]
    fn data(&self) -> &[u8] {
        self.buf.get(self.start()..).unwrap_or_default()
    }

    /// Bytes used by the encoded entries.
    pub fn bytes(&self) -> usize {
        self.buf.len() - self.start()
    }

    pub fn heap_size(&self) -> usize {
        self.buf.capacity()
    }

    pub fn iter(&self) -> Iter<'_> {
        Iter {
            buf: &self.buf,
            pos: self.start(),
            end: self.buf.len(),
        }
    }

    pub fn push_back(&mut self, e: &[u8]) {
        let n = e.len();
        if n < 0x80 {
            // One-byte lengths: the common case.
            self.buf.reserve(n + 2);
            self.buf.push(n as u8);
            self.buf.extend_from_slice(e);
            self.buf.push(n as u8);
        } else {
            self.buf.reserve(entry_size(n));
            put_varint(&mut self.buf, n);
            self.buf.extend_from_slice(e);
            put_backlen(&mut self.buf, n);
        }
        self.count += 1;
    }

    /// Makes room for `bytes` more without over-allocating.
    pub fn reserve_exact(&mut self, bytes: usize) {
        self.buf.reserve_exact(bytes);
    }

    pub fn push_front(&mut self, e: &[u8]) {
        let size = entry_size(e.len());
        let head = self.start();
        if head < size {
            // Move the entries right to make room, plus free room of an
            // eighth of the entries (so a run of head pushes moves them
            // O(1) times per byte pushed, and a small listpack keeps little
            // slack).
            let used = self.bytes();
            let room = size + (used / 8).min(MAX_FRONT_ROOM);
            if u32::try_from(room).is_err() {
                // Too large to keep room for: plain insertion.
                let enc = encode(e);
                self.buf.splice(head..head, enc);
                self.count += 1;
                return;
            }
            let mut nb = Vec::with_capacity(room + used);
            nb.resize(room, 0);
            nb.extend_from_slice(self.data());
            self.buf = nb;
            self.head = room as u32;
        }
        let head = self.start();
        let at = head - size;
        let n = e.len();
        let lenb = varint_len(n);
        if let Some(dst) = self.buf.get_mut(at..head) {
            let (hdr, rest) = dst.split_at_mut(lenb);
            let (payload, back) = rest.split_at_mut(n);
            for (k, b) in hdr.iter_mut().enumerate() {
                let g = ((n >> (7 * k)) & 0x7f) as u8;
                *b = if k + 1 < lenb { g | 0x80 } else { g };
            }
            payload.copy_from_slice(e);
            for (k, b) in back.iter_mut().rev().enumerate() {
                let g = ((n >> (7 * k)) & 0x7f) as u8;
                *b = if k + 1 < lenb { g | 0x80 } else { g };
            }
            self.head = at as u32;
            self.count += 1;
        }
    }

    /// Byte offset in `buf` of the entry with index `i` (the end of the
    /// entries for i == len()), walking from the nearer end.
    fn offset_of(&self, i: usize) -> Option<usize> {
        let n = self.len();
        if i > n {
            return None;
        }
        if i <= n / 2 {
            let mut pos = self.start();
            for _ in 0..i {
                let (_, _, next) = entry_at(&self.buf, pos, self.buf.len())?;
                pos = next;
            }
            Some(pos)
        } else {
            let mut pos = self.buf.len();
            for _ in i..n {
                let (start, _, _) = entry_before(&self.buf, self.start(), pos)?;
                pos = start;
            }
            Some(pos)
        }
    }

    /// Inserts before index `i` (i == len() appends). False if out of range.
    pub fn insert(&mut self, i: usize, e: &[u8]) -> bool {
        if i > self.len() {
            return false;
        }
        if i == 0 {
            self.push_front(e);
            return true;
        }
        if i == self.len() {
            self.push_back(e);
            return true;
        }
        match self.offset_of(i) {
            Some(off) => {
                self.buf.splice(off..off, encode(e));
                self.count += 1;
                true
            }
            None => false,
        }
    }

    pub fn get(&self, i: usize) -> Option<&[u8]> {
        let n = self.len();
        if i >= n {
            return None;
        }
        if i <= n / 2 {
            self.iter().nth(i)
        } else {
            self.iter().nth_back(n - 1 - i)
        }
    }

    /// Entries are gone: forget the free room too.
    fn reset_if_empty(&mut self) {
        if self.count == 0 {
            self.buf.clear();
            self.head = 0;
        }
    }

    /// Removes the entry at index `i`, returning it.
    pub fn remove(&mut self, i: usize) -> Option<Vec<u8>> {
        if i == 0 {
            return self.pop_front();
        }
        if i + 1 == self.len() {
            return self.pop_back();
        }
        let off = self.offset_of(i)?;
        let (s, e, next) = entry_at(&self.buf, off, self.buf.len())?;
        let v = self.buf.get(s..e)?.to_vec();
        self.buf.drain(off..next);
        self.count -= 1;
        Some(v)
    }

    /// Removes `n` entries starting at index `i`.
    pub fn remove_range(&mut self, i: usize, n: usize) {
        let Some(start) = self.offset_of(i) else {
            return;
        };
        let mut end = start;
        let mut removed = 0;
        while removed < n {
            match entry_at(&self.buf, end, self.buf.len()) {
                Some((_, _, next)) => {
                    end = next;
                    removed += 1;
                }
                None => break,
            }
        }
        if start == self.start() {
            // From the front: just move the start.
            match u32::try_from(end) {
                Ok(h) => self.head = h,
                Err(_) => {
                    self.buf.drain(start..end);
                }
            }
        } else {
            self.buf.drain(start..end);
        }
        self.count -= removed as u32;
        self.reset_if_empty();
    }

    /// Replaces the entry at index `i`.
    pub fn replace(&mut self, i: usize, e: &[u8]) -> bool {
        let Some(off) = self.offset_of(i) else {
            return false;
        };
        let Some((_, _, next)) = entry_at(&self.buf, off, self.buf.len()) else {
            return false;
        };
        self.buf.splice(off..next, encode(e));
        true
    }

    /// Index of the first entry equal to `e`, looking at every `step`-th
    /// entry starting at 0 (step 2 searches the keys of a key/value pack).
    pub fn find(&self, e: &[u8], step: usize) -> Option<usize> {
        let step = step.max(1);
        self.iter()
            .enumerate()
            .step_by(step)
            .find(|(_, x)| *x == e)
            .map(|(i, _)| i)
    }

    pub fn pop_front(&mut self) -> Option<Vec<u8>> {
        if self.is_empty() {
            return None;
        }
        let (s, e, next) = entry_at(&self.buf, self.start(), self.buf.len())?;
        let v = self.buf.get(s..e)?.to_vec();
        match u32::try_from(next) {
            Ok(h) => self.head = h,
            Err(_) => {
                let h = self.start();
                self.buf.drain(h..next);
            }
        }
        self.count -= 1;
        self.reset_if_empty();
        Some(v)
    }

    pub fn pop_back(&mut self) -> Option<Vec<u8>> {
        if self.is_empty() {
            return None;
        }
        let (start, s, e) = entry_before(&self.buf, self.start(), self.buf.len())?;
        let v = self.buf.get(s..e)?.to_vec();
        self.buf.truncate(start);
        self.count -= 1;
        self.reset_if_empty();
        Some(v)
    }

    pub fn clear(&mut self) {
        self.buf.clear();
        self.head = 0;
        self.count = 0;
    }

    /// Releases spare capacity at both ends.
    pub fn shrink_to_fit(&mut self) {
        if self.head > 0 {
            self.buf = self.data().to_vec();
            self.head = 0;
        } else {
            self.buf.shrink_to_fit();
        }
    }

    /// Longest entry, for the `*-max-listpack-value` checks.
    pub fn max_entry_len(&self) -> usize {
        self.iter().map(|e| e.len()).max().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_ops() {
        let mut lp = Listpack::new();
        lp.push_back(b"b");
        lp.push_front(b"a");
        lp.push_back(&[b'x'; 300]);
        assert_eq!(lp.len(), 3);
        assert_eq!(lp.get(0), Some(&b"a"[..]));
        assert_eq!(lp.get(2).map(|e| e.len()), Some(300));
        assert!(lp.insert(1, b"mid"));
        assert_eq!(lp.find(b"mid", 1), Some(1));
        assert_eq!(lp.remove(1), Some(b"mid".to_vec()));
        assert!(lp.replace(0, b"aa"));
        assert_eq!(
            lp.iter().collect::<Vec<_>>(),
            vec![&b"aa"[..], b"b", &[b'x'; 300][..]]
        );
        lp.remove_range(0, 2);
        assert_eq!(lp.len(), 1);
        assert_eq!(lp.pop_back().map(|v| v.len()), Some(300));
        assert!(lp.is_empty());
        assert_eq!(lp.bytes(), 0);
    }

    #[test]
    fn pairs_find() {
        let mut lp = Listpack::new();
        for (k, v) in [("f1", "v1"), ("v1", "x"), ("f2", "f1")] {
            lp.push_back(k.as_bytes());
            lp.push_back(v.as_bytes());
        }
        assert_eq!(lp.find(b"f1", 2), Some(0));
        assert_eq!(lp.find(b"v1", 2), Some(2));
        assert_eq!(lp.find(b"x", 2), None);
    }

    #[test]
    fn matches_a_deque_model() {
        use rand::Rng;
        use std::collections::VecDeque;
        let mut rng = rand::thread_rng();
        for _ in 0..200 {
            let mut lp = Listpack::new();
            let mut model: VecDeque<Vec<u8>> = VecDeque::new();
            for _ in 0..300 {
                let len = match rng.gen_range(0..10) {
                    0 if rng.gen_range(0..20) == 0 => rng.gen_range(16_384..20_000),
                    0 => rng.gen_range(100..600),
                    1 => 0,
                    _ => rng.gen_range(1..20),
                };
                let e = vec![rng.gen::<u8>(); len];
                let n = model.len();
                match rng.gen_range(0..12) {
                    0 | 1 => {
                        lp.push_front(&e);
                        model.push_front(e);
                    }
                    2 | 3 => {
                        lp.push_back(&e);
                        model.push_back(e);
                    }
                    4 => assert_eq!(lp.pop_front(), model.pop_front()),
                    5 => assert_eq!(lp.pop_back(), model.pop_back()),
                    6 => {
                        let i = rng.gen_range(0..=n);
                        assert!(lp.insert(i, &e));
                        model.insert(i, e);
                    }
                    7 if n > 0 => {
                        let i = rng.gen_range(0..n);
                        assert_eq!(lp.remove(i), model.remove(i));
                    }
                    8 if n > 0 => {
                        let i = rng.gen_range(0..n);
                        let k = rng.gen_range(0..4);
                        lp.remove_range(i, k);
                        for _ in 0..k.min(n - i) {
                            model.remove(i);
                        }
                    }
                    9 if n > 0 => {
                        let i = rng.gen_range(0..n);
                        assert!(lp.replace(i, &e));
                        model[i] = e;
                    }
                    10 => lp.shrink_to_fit(),
                    _ => {
                        let i = rng.gen_range(0..=n);
                        assert_eq!(lp.get(i), model.get(i).map(|v| v.as_slice()));
                    }
                }
                assert_eq!(lp.len(), model.len());
            }
            assert!(lp.iter().eq(model.iter().map(|v| v.as_slice())));
            assert!(lp.iter().rev().eq(model.iter().rev().map(|v| v.as_slice())));
            let expect: usize = model.iter().map(|v| entry_size(v.len())).sum();
            assert_eq!(lp.bytes(), expect);
        }
    }

    #[test]
    fn head_pushes_keep_bounded_room() {
        let mut lp = Listpack::new();
        for i in 0..5000u32 {
            lp.push_front(&i.to_le_bytes());
        }
        assert_eq!(lp.len(), 5000);
        assert!(lp.heap_size() <= lp.bytes() + MAX_FRONT_ROOM + 64);
        assert_eq!(lp.get(0), Some(&4999u32.to_le_bytes()[..]));
        lp.shrink_to_fit();
        assert_eq!(lp.heap_size(), lp.bytes());
    }
}
