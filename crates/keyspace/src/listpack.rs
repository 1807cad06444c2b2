//! `Listpack`: a compact, contiguous sequence of byte strings, the shared
//! small-collection encoding for lists, hashes, sets and sorted sets (what
//! Redis calls `listpack`).
//!
//! Layout: entries back to back, each `varint(len) bytes`. No per-entry heap
//! block and no pointers: 10 short members cost their bytes plus one length
//! byte each. Operations are O(n) scans, which is what the size thresholds
//! (`*-max-listpack-entries/value`) keep cheap; collections that grow past
//! them convert to full structures.

#[derive(Clone, Default, PartialEq, Eq)]
pub struct Listpack {
    buf: Vec<u8>,
    count: u32,
}

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

#[inline]
fn varint_len(mut v: usize) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

/// Decodes the entry at `pos`: (payload start, payload end).
#[inline]
fn entry_at(buf: &[u8], pos: usize) -> Option<(usize, usize)> {
    let mut v: usize = 0;
    let mut shift = 0;
    let mut p = pos;
    loop {
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
    let end = p.checked_add(v)?;
    if end > buf.len() {
        return None;
    }
    Some((p, end))
}

pub struct Iter<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a [u8];
    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        let (s, e) = entry_at(self.buf, self.pos)?;
        self.pos = e;
        Some(&self.buf[s..e])
    }
}

impl Listpack {
    pub fn new() -> Self {
        Listpack::default()
    }

    pub fn with_capacity(bytes: usize) -> Self {
        Listpack {
            buf: Vec::with_capacity(bytes),
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

    /// Bytes used by the encoded entries.
    pub fn bytes(&self) -> usize {
        self.buf.len()
    }

    pub fn heap_size(&self) -> usize {
        self.buf.capacity()
    }

    pub fn iter(&self) -> Iter<'_> {
        Iter {
            buf: &self.buf,
            pos: 0,
        }
    }

    pub fn push_back(&mut self, e: &[u8]) {
        put_varint(&mut self.buf, e.len());
        self.buf.extend_from_slice(e);
        self.count += 1;
    }

    pub fn push_front(&mut self, e: &[u8]) {
        self.insert_at_offset(0, e);
    }

    /// Byte offset of the entry with index `i` (== bytes() for i == len()).
    fn offset_of(&self, i: usize) -> Option<usize> {
        let mut pos = 0;
        for _ in 0..i {
            let (_, e) = entry_at(&self.buf, pos)?;
            pos = e;
        }
        Some(pos)
    }

    fn insert_at_offset(&mut self, off: usize, e: &[u8]) {
        let mut enc = Vec::with_capacity(varint_len(e.len()) + e.len());
        put_varint(&mut enc, e.len());
        enc.extend_from_slice(e);
        self.buf.splice(off..off, enc);
        self.count += 1;
    }

    /// Inserts before index `i` (i == len() appends). False if out of range.
    pub fn insert(&mut self, i: usize, e: &[u8]) -> bool {
        if i > self.len() {
            return false;
        }
        match self.offset_of(i) {
            Some(off) => {
                self.insert_at_offset(off, e);
                true
            }
            None => false,
        }
    }

    pub fn get(&self, i: usize) -> Option<&[u8]> {
        self.iter().nth(i)
    }

    /// Removes the entry at index `i`, returning it.
    pub fn remove(&mut self, i: usize) -> Option<Vec<u8>> {
        let off = self.offset_of(i)?;
        let (s, e) = entry_at(&self.buf, off)?;
        let v = self.buf[s..e].to_vec();
        self.buf.drain(off..e);
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
            match entry_at(&self.buf, end) {
                Some((_, e)) => {
                    end = e;
                    removed += 1;
                }
                None => break,
            }
        }
        self.buf.drain(start..end);
        self.count -= removed as u32;
    }

    /// Replaces the entry at index `i`.
    pub fn replace(&mut self, i: usize, e: &[u8]) -> bool {
        let Some(off) = self.offset_of(i) else {
            return false;
        };
        let Some((_, end)) = entry_at(&self.buf, off) else {
            return false;
        };
        let mut enc = Vec::with_capacity(varint_len(e.len()) + e.len());
        put_varint(&mut enc, e.len());
        enc.extend_from_slice(e);
        self.buf.splice(off..end, enc);
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
        self.remove(0)
    }

    pub fn pop_back(&mut self) -> Option<Vec<u8>> {
        if self.is_empty() {
            return None;
        }
        self.remove(self.len() - 1)
    }

    pub fn clear(&mut self) {
        self.buf.clear();
        self.count = 0;
    }

    pub fn shrink_to_fit(&mut self) {
        self.buf.shrink_to_fit();
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
}
