//! Set values in Redis 7.2's three encodings, with its conversion points:
//!
//! - `intset`: every member is a canonical 64-bit integer and there are at
//!   most `set-max-intset-entries`; a sorted array of 16-, 32- or 64-bit
//!   integers, the width of the widest member ([`IntSet`]).
//! - `listpack`: at most `set-max-listpack-entries` members, none longer
//!   than `set-max-listpack-value`; members in insertion order.
//! - `hashtable`: a [`Table`] of members.
//!
//! Sets only move up (intset → listpack → hashtable), except where Redis
//! rebuilds one (SINTERSTORE's result, SPOP's remaining set); those paths
//! use the same building blocks so they end in the same encodings.

use crate::hash::{pack_entry_size, Pack, PackPos, Table, PACK_SAFETY_SIZE};
use crate::sbytes::SBytes;
use crate::value::parse_canonical_i64;
use rand::Rng;

/// Redis's default `set-max-intset-entries`.
pub const DEFAULT_MAX_INTSET_ENTRIES: usize = 512;
/// Redis's default `set-max-listpack-entries`.
pub const DEFAULT_MAX_LISTPACK_ENTRIES: usize = 128;
/// Redis's default `set-max-listpack-value`.
pub const DEFAULT_MAX_LISTPACK_VALUE: usize = 64;

/// The encoding thresholds of a set (`set-max-*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetLimits {
    pub max_intset_entries: usize,
    pub max_listpack_entries: usize,
    pub max_listpack_value: usize,
}

impl Default for SetLimits {
    fn default() -> Self {
        SetLimits {
            max_intset_entries: DEFAULT_MAX_INTSET_ENTRIES,
            max_listpack_entries: DEFAULT_MAX_LISTPACK_ENTRIES,
            max_listpack_value: DEFAULT_MAX_LISTPACK_VALUE,
        }
    }
}

impl SetLimits {
    /// Redis caps intsets at 2^30 entries whatever the configuration says.
    fn intset_max(&self) -> usize {
        self.max_intset_entries.min(1 << 30)
    }
}

/// Decimal length of an integer, sign included (Redis's `sdigits10`).
fn sdigits10(v: i64) -> usize {
    let mut n = v.unsigned_abs();
    let mut d = 1;
    while n >= 10 {
        n /= 10;
        d += 1;
    }
    d + usize::from(v < 0)
}

/// Formats `v` into `buf`, returning the bytes.
fn fmt_i64(v: i64, buf: &mut [u8; 24]) -> &[u8] {
    let mut n = v.unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

// ---------------------------------------------------------------------------
// IntSet

/// Bytes of integers an [`IntSet`] keeps inline (10 16-bit, 5 32-bit or 2
/// 64-bit members) before it moves them to a heap block. With the tag,
/// width and length bytes this makes an `IntSet` 24 bytes, and the other
/// [`SetValue`] variants fit beside its tag, so a set is 24 bytes too.
const INTSET_INLINE: usize = 21;

#[derive(Clone, PartialEq, Eq)]
enum IntRepr {
    /// `len` bytes of `buf` in use.
    Inline {
        width: u8,
        len: u8,
        buf: [u8; INTSET_INLINE],
    },
    /// A heap block of exactly `len * width` bytes.
    Heap { width: u8, data: Box<[u8]> },
}

/// A sorted set of integers stored at the narrowest width (2, 4 or 8 bytes,
/// little-endian) that holds all of them, like Redis's `intset`. Small sets
/// live inside the value itself (no allocation of their own); larger ones
/// in a heap block of exactly `len * width` bytes. The width only grows.
#[derive(Clone, PartialEq, Eq)]
pub struct IntSet(IntRepr);

impl Default for IntSet {
    fn default() -> Self {
        IntSet(IntRepr::Inline {
            width: 2,
            len: 0,
            buf: [0; INTSET_INLINE],
        })
    }
}

impl std::fmt::Debug for IntSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

fn width_for(v: i64) -> u8 {
    if i16::try_from(v).is_ok() {
        2
    } else if i32::try_from(v).is_ok() {
        4
    } else {
        8
    }
}

fn read_at(data: &[u8], width: u8, i: usize) -> Option<i64> {
    let w = width as usize;
    let b = data.get(i.checked_mul(w)?..(i + 1).checked_mul(w)?)?;
    Some(match *b {
        [x0, x1] => i16::from_le_bytes([x0, x1]) as i64,
        [x0, x1, x2, x3] => i32::from_le_bytes([x0, x1, x2, x3]) as i64,
        [x0, x1, x2, x3, x4, x5, x6, x7] => i64::from_le_bytes([x0, x1, x2, x3, x4, x5, x6, x7]),
        _ => return None,
    })
}

fn is_len(width: u8, data: &[u8]) -> usize {
    data.len() / width.max(1) as usize
}

fn is_search(width: u8, data: &[u8], v: i64) -> Result<usize, usize> {
    let (mut lo, mut hi) = (0usize, is_len(width, data));
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let x = read_at(data, width, mid).unwrap_or(0);
        match x.cmp(&v) {
            std::cmp::Ordering::Equal => return Ok(mid),
            std::cmp::Ordering::Less => lo = mid + 1,
            std::cmp::Ordering::Greater => hi = mid,
        }
    }
    Err(lo)
}

impl IntSet {
    pub fn new() -> Self {
        IntSet::default()
    }

    /// An intset of `width`-byte integers held in `data` (inline when it fits).
    fn from_parts(width: u8, data: Vec<u8>) -> Self {
        if data.len() <= INTSET_INLINE {
            let mut buf = [0u8; INTSET_INLINE];
            if let Some(dst) = buf.get_mut(..data.len()) {
                dst.copy_from_slice(&data);
            }
            IntSet(IntRepr::Inline {
                width,
                len: data.len() as u8,
                buf,
            })
        } else {
            IntSet(IntRepr::Heap {
                width,
                data: data.into_boxed_slice(),
            })
        }
    }

    #[inline]
    fn width_u8(&self) -> u8 {
        match &self.0 {
            IntRepr::Inline { width, .. } | IntRepr::Heap { width, .. } => *width,
        }
    }

    /// The encoded integers.
    #[inline]
    fn bytes(&self) -> &[u8] {
        match &self.0 {
            IntRepr::Inline { len, buf, .. } => buf.get(..*len as usize).unwrap_or_default(),
            IntRepr::Heap { data, .. } => data,
        }
    }

    #[inline]
    pub fn len(&self) -> usize {
        is_len(self.width_u8(), self.bytes())
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.bytes().is_empty()
    }

    /// Bytes per element (2, 4 or 8).
    pub fn width(&self) -> usize {
        self.width_u8() as usize
    }

    /// Heap bytes owned (0 while the integers are inline).
    pub fn heap_size(&self) -> usize {
        match &self.0 {
            IntRepr::Inline { .. } => 0,
            IntRepr::Heap { data, .. } => data.len(),
        }
    }

    #[inline]
    pub fn get(&self, i: usize) -> Option<i64> {
        read_at(self.bytes(), self.width_u8(), i)
    }

    pub fn min(&self) -> Option<i64> {
        self.get(0)
    }

    pub fn max(&self) -> Option<i64> {
        self.get(self.len().checked_sub(1)?)
    }

    pub fn contains(&self, v: i64) -> bool {
        let width = self.width_u8();
        width_for(v) <= width && is_search(width, self.bytes(), v).is_ok()
    }

    /// Adds `v`; false if it was already there.
    pub fn insert(&mut self, v: i64) -> bool {
        let (width, data) = (self.width_u8(), self.bytes());
        let w = width_for(v);
        if w > width {
            // A wider value is below the minimum or above the maximum.
            let n = is_len(width, data);
            let mut nd = Vec::with_capacity((n + 1) * w as usize);
            if v < 0 {
                nd.extend_from_slice(&v.to_le_bytes()[..w as usize]);
            }
            for i in 0..n {
                let x = read_at(data, width, i).unwrap_or(0);
                nd.extend_from_slice(&x.to_le_bytes()[..w as usize]);
            }
            if v >= 0 {
                nd.extend_from_slice(&v.to_le_bytes()[..w as usize]);
            }
            *self = IntSet::from_parts(w, nd);
            return true;
        }
        let pos = match is_search(width, data, v) {
            Ok(_) => return false,
            Err(pos) => pos,
        };
        let w = width as usize;
        let at = (pos * w).min(data.len());
        if let IntRepr::Inline { len, buf, .. } = &mut self.0 {
            let l = *len as usize;
            if l + w <= INTSET_INLINE {
                buf.copy_within(at..l, at + w);
                if let Some(dst) = buf.get_mut(at..at + w) {
                    dst.copy_from_slice(&v.to_le_bytes()[..w]);
                }
                *len += w as u8;
                return true;
            }
        }
        let data = self.bytes();
        let mut nd = Vec::with_capacity(data.len() + w);
        nd.extend_from_slice(data.get(..at).unwrap_or_default());
        nd.extend_from_slice(&v.to_le_bytes()[..w]);
        nd.extend_from_slice(data.get(at..).unwrap_or_default());
        *self = IntSet::from_parts(width, nd);
        true
    }

    /// Adds several values in one rebuild; returns how many were new.
    pub fn insert_many(&mut self, mut vals: Vec<i64>) -> usize {
        vals.sort_unstable();
        vals.dedup();
        let (width, data) = (self.width_u8(), self.bytes());
        let n = is_len(width, data);
        let mut w = width;
        if let (Some(&lo), Some(&hi)) = (vals.first(), vals.last()) {
            w = w.max(width_for(lo)).max(width_for(hi));
        }
        let mut out = Vec::with_capacity((n + vals.len()) * w as usize);
        let mut added = 0;
        let (mut i, mut j) = (0, 0);
        loop {
            let a = read_at(data, width, i);
            let b = vals.get(j).copied();
            let next = match (a, b) {
                (None, None) => break,
                (Some(x), None) => {
                    i += 1;
                    x
                }
                (None, Some(y)) => {
                    j += 1;
                    added += 1;
                    y
                }
                (Some(x), Some(y)) => {
                    if x < y {
                        i += 1;
                        x
                    } else if y < x {
                        j += 1;
                        added += 1;
                        y
                    } else {
                        i += 1;
                        j += 1;
                        x
                    }
                }
            };
            out.extend_from_slice(&next.to_le_bytes()[..w as usize]);
        }
        if added > 0 || w != width {
            *self = IntSet::from_parts(w, out);
        }
        added
    }

    /// Removes `v`; false if it was not there.
    pub fn remove(&mut self, v: i64) -> bool {
        let width = self.width_u8();
        if width_for(v) > width {
            return false;
        }
        let pos = match is_search(width, self.bytes(), v) {
            Ok(pos) => pos,
            Err(_) => return false,
        };
        let w = width as usize;
        match &mut self.0 {
            IntRepr::Inline { len, buf, .. } => {
                let l = *len as usize;
                buf.copy_within((pos + 1) * w..l, pos * w);
                *len -= w as u8;
            }
            IntRepr::Heap { data, .. } => {
                let mut d = std::mem::take(data).into_vec();
                d.drain(pos * w..(pos + 1) * w);
                *self = IntSet::from_parts(width, d);
            }
        }
        true
    }

    pub fn iter(&self) -> IntSetIter<'_> {
        IntSetIter {
            width: self.width_u8(),
            data: self.bytes(),
            i: 0,
        }
    }
}

pub struct IntSetIter<'a> {
    width: u8,
    data: &'a [u8],
    i: usize,
}

impl Iterator for IntSetIter<'_> {
    type Item = i64;
    #[inline]
    fn next(&mut self) -> Option<i64> {
        let v = read_at(self.data, self.width, self.i)?;
        self.i += 1;
        Some(v)
    }
}

// ---------------------------------------------------------------------------
// Members

/// A set member as stored: an integer (intset) or bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Member<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl Member<'_> {
    /// Calls `f` with the member's bytes (integers formatted on the stack).
    #[inline]
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match *self {
            Member::Str(s) => f(s),
            Member::Int(v) => {
                let mut buf = [0u8; 24];
                f(fmt_i64(v, &mut buf))
            }
        }
    }

    pub fn to_vec(&self) -> Vec<u8> {
        self.with_bytes(|b| b.to_vec())
    }

    pub fn to_sbytes(&self) -> SBytes {
        self.with_bytes(SBytes::new)
    }

    /// The member as an integer, if it is one in canonical form.
    pub fn as_int(&self) -> Option<i64> {
        match *self {
            Member::Int(v) => Some(v),
            Member::Str(s) => parse_int(s),
        }
    }

    pub fn len(&self) -> usize {
        match *self {
            Member::Int(v) => sdigits10(v),
            Member::Str(s) => s.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[inline]
fn parse_int(s: &[u8]) -> Option<i64> {
    if s.len() <= 20 {
        parse_canonical_i64(s)
    } else {
        None
    }
}

// ---------------------------------------------------------------------------
// Set values

/// A set value: 32 bytes (the allocator's size class for its box), small
/// intsets included, plus the data of larger ones.
#[derive(Clone)]
pub enum SetValue {
    /// `intset`: integers ascending, inline while small.
    Intset(IntSet),
    /// `listpack`: members in insertion order. The member count is not
    /// stored (it would not fit beside the intset's inline bytes); it is
    /// counted from the pack, which holds at most `set-max-listpack-entries`.
    Listpack { pack: Pack },
    /// `hashtable`.
    Table(Box<Table<SBytes>>),
}

impl Default for SetValue {
    fn default() -> Self {
        SetValue::new_intset()
    }
}

impl std::fmt::Debug for SetValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set()
            .entries(
                self.iter()
                    .map(|m| String::from_utf8_lossy(&m.to_vec()).into_owned()),
            )
            .finish()
    }
}

fn pack_find(pack: &Pack, m: &[u8]) -> Option<PackPos> {
    let mut it = pack.iter();
    while let Some(p) = it.next_pos() {
        if pack.at(p) == m {
            return Some(p);
        }
    }
    None
}

impl SetValue {
    /// An empty intset.
    pub fn new_intset() -> Self {
        SetValue::Intset(IntSet::new())
    }

    /// An empty listpack set.
    pub fn new_listpack() -> Self {
        SetValue::Listpack { pack: Pack::new() }
    }

    /// An empty hashtable set pre-sized for `cap` members.
    pub fn new_table(cap: usize) -> Self {
        SetValue::Table(Box::new(Table::with_capacity(cap)))
    }

    /// Redis's `setTypeCreate`: the encoding for a new set whose first
    /// member is `first` and that is about to receive `size_hint` members.
    pub fn create(first: &[u8], size_hint: usize, lim: &SetLimits) -> Self {
        if size_hint <= lim.max_intset_entries && parse_int(first).is_some() {
            return SetValue::new_intset();
        }
        if size_hint <= lim.max_listpack_entries {
            return SetValue::new_listpack();
        }
        SetValue::new_table(size_hint)
    }

    /// Builds a set from members (e.g. a loader) as SADD would: the first
    /// member and the count pick the starting encoding, then Redis's add
    /// rules apply.
    pub fn from_members<'a, I>(members: I, lim: &SetLimits) -> Self
    where
        I: IntoIterator<Item = &'a [u8]>,
    {
        let members: Vec<&[u8]> = members.into_iter().collect();
        let first = members.first().copied().unwrap_or_default();
        let mut s = SetValue::create(first, members.len(), lim);
        s.add_many(&members, lim);
        s
    }

    pub fn len(&self) -> usize {
        match self {
            SetValue::Intset(is) => is.len(),
            SetValue::Listpack { pack } => pack.iter().count(),
            SetValue::Table(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        match self {
            SetValue::Intset(is) => is.is_empty(),
            SetValue::Listpack { pack } => pack.bytes() == 0,
            SetValue::Table(t) => t.len() == 0,
        }
    }

    /// `OBJECT ENCODING` name.
    pub fn encoding(&self) -> &'static str {
        match self {
            SetValue::Intset { .. } => "intset",
            SetValue::Listpack { .. } => "listpack",
            SetValue::Table(_) => "hashtable",
        }
    }

    pub fn is_listpack(&self) -> bool {
        matches!(self, SetValue::Listpack { .. })
    }

    /// Element width of an intset (2, 4 or 8), None for other encodings.
    pub fn intset_width(&self) -> Option<usize> {
        match self {
            SetValue::Intset(is) => Some(is.width()),
            _ => None,
        }
    }

    /// Approximate heap bytes owned by the set.
    pub fn heap_size(&self) -> usize {
        match self {
            SetValue::Intset(is) => is.heap_size(),
            SetValue::Listpack { pack, .. } => pack.bytes(),
            SetValue::Table(t) => {
                std::mem::size_of::<Table<SBytes>>()
                    + t.heap_size()
                    + t.iter().map(|m| m.heap_size()).sum::<usize>()
            }
        }
    }

    /// Redis's `setTypeMaybeConvert`: before adding `size_hint` members,
    /// go straight to a hashtable when they could not fit the small encoding.
    pub fn maybe_convert(&mut self, size_hint: usize, lim: &SetLimits) {
        let convert = match self {
            SetValue::Listpack { .. } => size_hint > lim.max_listpack_entries,
            SetValue::Intset { .. } => size_hint > lim.max_intset_entries,
            SetValue::Table(_) => false,
        };
        if convert {
            self.convert_to_table(size_hint);
        }
    }

    /// Adds a member given as bytes; true if it was not there (Redis's
    /// `setTypeAdd`, conversions included).
    pub fn add(&mut self, m: &[u8], lim: &SetLimits) -> bool {
        match self {
            SetValue::Table(t) => {
                if t.contains(m) {
                    return false;
                }
                t.insert_new(SBytes::new(m));
                true
            }
            SetValue::Listpack { pack } => {
                if pack_find(pack, m).is_some() {
                    return false;
                }
                let count = pack.iter().count();
                if count < lim.max_listpack_entries
                    && m.len() <= lim.max_listpack_value
                    && pack.bytes() + pack_entry_size(m.len()) <= PACK_SAFETY_SIZE
                {
                    pack.push(&[m]);
                } else {
                    let cap = count + 1;
                    self.convert_to_table(cap);
                    if let SetValue::Table(t) = self {
                        t.insert_new(SBytes::new(m));
                    }
                }
                true
            }
            SetValue::Intset(is) => {
                if let Some(v) = parse_int(m) {
                    if !is.insert(v) {
                        return false;
                    }
                    let n = is.len();
                    if n > lim.intset_max() {
                        self.convert_to_table(n);
                    }
                    return true;
                }
                // A non-integer: listpack if everything will fit, else table.
                let n = is.len();
                let maxelelen = match (is.min(), is.max()) {
                    (Some(a), Some(b)) => sdigits10(a).max(sdigits10(b)),
                    _ => 0,
                };
                if n < lim.max_listpack_entries
                    && m.len() <= lim.max_listpack_value
                    && maxelelen <= lim.max_listpack_value
                {
                    self.convert_to_listpack();
                    if let SetValue::Listpack { pack } = self {
                        pack.push(&[m]);
                    }
                } else {
                    self.convert_to_table(n + 1);
                    if let SetValue::Table(t) = self {
                        t.insert_new(SBytes::new(m));
                    }
                }
                true
            }
        }
    }

    /// Adds members in order with [`SetValue::add`]'s rules, batching the
    /// work so a small encoding is rebuilt once rather than per member.
    /// Returns how many were new.
    pub fn add_many(&mut self, members: &[&[u8]], lim: &SetLimits) -> usize {
        let mut added = 0;
        let mut i = 0;
        while i < members.len() {
            match self {
                SetValue::Intset(is) => {
                    // The run of integers from here, merged in one rebuild.
                    let mut vals = Vec::new();
                    while let Some(v) = members.get(i).and_then(|m| parse_int(m)) {
                        vals.push(v);
                        i += 1;
                    }
                    if vals.is_empty() {
                        if let Some(m) = members.get(i) {
                            added += usize::from(self.add(m, lim));
                        }
                        i += 1;
                        continue;
                    }
                    added += is.insert_many(vals);
                    let n = is.len();
                    if n > lim.intset_max() {
                        self.convert_to_table(n);
                    }
                }
                SetValue::Listpack { pack } => {
                    let count = pack.iter().count();
                    let mut pending: Vec<&[u8]> = Vec::new();
                    let mut bytes = pack.bytes();
                    while let Some(&m) = members.get(i) {
                        if pack_find(pack, m).is_some() || pending.contains(&m) {
                            i += 1;
                            continue;
                        }
                        let n = count + pending.len();
                        let size = pack_entry_size(m.len());
                        if n >= lim.max_listpack_entries
                            || m.len() > lim.max_listpack_value
                            || bytes + size > PACK_SAFETY_SIZE
                        {
                            break;
                        }
                        pending.push(m);
                        bytes += size;
                        i += 1;
                    }
                    pack.push(&pending);
                    added += pending.len();
                    if let Some(m) = members.get(i) {
                        // Converts (or is a duplicate).
                        added += usize::from(self.add(m, lim));
                        i += 1;
                    }
                }
                SetValue::Table(t) => {
                    for m in members.get(i..).unwrap_or_default() {
                        if !t.contains(m) {
                            t.insert_new(SBytes::new(m));
                            added += 1;
                        }
                    }
                    i = members.len();
                }
            }
        }
        added
    }

    /// Adds an integer member (`setTypeAddAux` with an integer).
    pub fn add_int(&mut self, v: i64, lim: &SetLimits) -> bool {
        match self {
            SetValue::Intset(is) => {
                if !is.insert(v) {
                    return false;
                }
                let n = is.len();
                if n > lim.intset_max() {
                    self.convert_to_table(n);
                }
                true
            }
            _ => {
                let mut buf = [0u8; 24];
                let b = fmt_i64(v, &mut buf);
                self.add(b, lim)
            }
        }
    }

    pub fn add_member(&mut self, m: Member, lim: &SetLimits) -> bool {
        match m {
            Member::Int(v) => self.add_int(v, lim),
            Member::Str(s) => self.add(s, lim),
        }
    }

    /// Removes a member; true if it was there. Encodings never shrink here.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        match self {
            SetValue::Table(t) => t.remove(m).is_some(),
            SetValue::Listpack { pack } => match pack_find(pack, m) {
                Some(p) => {
                    pack.remove_bytes(p.start, p.end);
                    true
                }
                None => false,
            },
            SetValue::Intset(is) => match parse_int(m) {
                Some(v) => is.remove(v),
                None => false,
            },
        }
    }

    pub fn remove_member(&mut self, m: Member) -> bool {
        if let (Member::Int(v), SetValue::Intset(is)) = (m, &mut *self) {
            return is.remove(v);
        }
        m.with_bytes(|b| self.remove(b))
    }

    pub fn contains(&self, m: &[u8]) -> bool {
        match self {
            SetValue::Table(t) => t.contains(m),
            SetValue::Listpack { pack, .. } => pack_find(pack, m).is_some(),
            SetValue::Intset(is) => parse_int(m).is_some_and(|v| is.contains(v)),
        }
    }

    pub fn contains_member(&self, m: Member) -> bool {
        match (m, self) {
            (Member::Int(v), SetValue::Intset(is)) => is.contains(v),
            _ => m.with_bytes(|b| self.contains(b)),
        }
    }

    /// Switches to a hashtable pre-sized for `cap` members (no-op if it is one).
    pub fn convert_to_table(&mut self, cap: usize) {
        if let SetValue::Table(_) = self {
            return;
        }
        let mut t = Table::with_capacity(cap.max(self.len()));
        for m in self.iter() {
            t.insert_new(m.to_sbytes());
        }
        *self = SetValue::Table(Box::new(t));
    }

    /// Switches to a listpack with the members in iteration order (no-op if
    /// it is one).
    pub fn convert_to_listpack(&mut self) {
        if let SetValue::Listpack { .. } = self {
            return;
        }
        let mut bytes = Vec::new();
        for m in self.iter() {
            m.with_bytes(|b| bytes.push(b.to_vec()));
        }
        let refs: Vec<&[u8]> = bytes.iter().map(|b| b.as_slice()).collect();
        let mut pack = Pack::new();
        pack.push(&refs);
        *self = SetValue::Listpack { pack };
    }

    /// Redis's `maybeConvertToIntset`: for a set known to hold only
    /// integers, go back to an intset when the count allows.
    pub fn maybe_convert_to_intset(&mut self, lim: &SetLimits) {
        if let SetValue::Intset { .. } = self {
            return;
        }
        if self.len() > lim.intset_max() {
            return;
        }
        let mut is = IntSet::new();
        for m in self.iter() {
            match m.as_int() {
                Some(v) => {
                    is.insert(v);
                }
                None => return,
            }
        }
        *self = SetValue::Intset(is);
    }

    /// Members in encoding order (intsets ascending, listpacks in insertion
    /// order, tables in bucket order).
    pub fn iter(&self) -> SetIter<'_> {
        match self {
            SetValue::Intset(is) => SetIter::Intset(is.iter()),
            SetValue::Listpack { pack, .. } => SetIter::Listpack(pack.iter()),
            SetValue::Table(t) => SetIter::Table(t.iter()),
        }
    }

    /// A random member.
    pub fn random<R: Rng + ?Sized>(&self, rng: &mut R) -> Option<Member<'_>> {
        let n = self.len();
        if n == 0 {
            return None;
        }
        match self {
            SetValue::Intset(is) => is.get(rng.gen_range(0..n)).map(Member::Int),
            SetValue::Listpack { pack, .. } => {
                pack.iter().nth(rng.gen_range(0..n)).map(Member::Str)
            }
            SetValue::Table(t) => t.random(rng).map(|m| Member::Str(m.as_slice())),
        }
    }

    /// Removes and returns a random member (Redis's `setTypePopRandom`).
    pub fn pop_random<R: Rng + ?Sized>(&mut self, rng: &mut R) -> Option<Vec<u8>> {
        let n = self.len();
        if n == 0 {
            return None;
        }
        match self {
            SetValue::Intset(is) => {
                let v = is.get(rng.gen_range(0..n))?;
                is.remove(v);
                Some(Member::Int(v).to_vec())
            }
            SetValue::Listpack { pack } => {
                let k = rng.gen_range(0..n);
                let mut it = pack.iter();
                let mut p = it.next_pos()?;
                for _ in 0..k {
                    p = it.next_pos()?;
                }
                let m = pack.at(p).to_vec();
                pack.remove_bytes(p.start, p.end);
                Some(m)
            }
            SetValue::Table(t) => {
                let m = t.random(rng)?.to_vec();
                t.remove(&m);
                Some(m)
            }
        }
    }

    /// Removes the members at the given ascending positions of a listpack
    /// set in one pass (no-op for other encodings).
    pub fn listpack_remove_positions(&mut self, positions: &[usize]) {
        if let SetValue::Listpack { pack } = self {
            let mut next = positions.iter().peekable();
            pack.retain_indexes(|i| {
                if next.peek() == Some(&&i) {
                    next.next();
                    false
                } else {
                    true
                }
            });
        }
    }

    /// One SSCAN step: calls `f` for the members visited and returns the
    /// next cursor. Small encodings are visited whole (cursor 0 comes back).
    pub fn scan<'a>(&'a self, cursor: u64, mut f: impl FnMut(Member<'a>)) -> u64 {
        match self {
            SetValue::Table(t) => t.scan(cursor, |m| f(Member::Str(m.as_slice()))),
            _ => {
                for m in self.iter() {
                    f(m);
                }
                0
            }
        }
    }
}

pub enum SetIter<'a> {
    Intset(IntSetIter<'a>),
    Listpack(crate::hash::PackIter<'a>),
    Table(crate::hash::TableIter<'a, SBytes>),
}

impl<'a> Iterator for SetIter<'a> {
    type Item = Member<'a>;
    #[inline]
    fn next(&mut self) -> Option<Member<'a>> {
        match self {
            SetIter::Intset(it) => it.next().map(Member::Int),
            SetIter::Listpack(it) => it.next().map(Member::Str),
            SetIter::Table(it) => it.next().map(|m| Member::Str(m.as_slice())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lim() -> SetLimits {
        SetLimits::default()
    }

    fn members(s: &SetValue) -> Vec<String> {
        s.iter()
            .map(|m| String::from_utf8_lossy(&m.to_vec()).into_owned())
            .collect()
    }

    #[test]
    fn intset_widths_and_order() {
        let mut is = IntSet::new();
        assert!(is.insert(5));
        assert!(is.insert(-3));
        assert!(!is.insert(5));
        assert_eq!(is.width(), 2);
        assert!(is.insert(100_000));
        assert_eq!(is.width(), 4);
        assert!(is.insert(i64::MIN));
        assert_eq!(is.width(), 8);
        assert!(is.insert(7));
        assert_eq!(
            is.iter().collect::<Vec<_>>(),
            vec![i64::MIN, -3, 5, 7, 100_000]
        );
        assert!(is.contains(100_000));
        assert!(!is.contains(6));
        assert!(is.remove(-3));
        assert!(!is.remove(-3));
        assert_eq!(is.len(), 4);
        assert_eq!(is.min(), Some(i64::MIN));
        assert_eq!(is.max(), Some(100_000));
        assert_eq!(is.heap_size(), 32);
    }

    #[test]
    fn intset_inline_and_heap_agree_with_a_model() {
        use rand::Rng;
        let mut rng = rand::thread_rng();
        for _ in 0..300 {
            let mut is = IntSet::new();
            let mut model = std::collections::BTreeSet::new();
            for _ in 0..60 {
                let v = match rng.gen_range(0..10) {
                    0 => rng.gen_range(-100_000i64..100_000),
                    1 => rng.gen::<i64>(),
                    _ => rng.gen_range(-40i64..40),
                };
                if rng.gen_range(0..3) == 0 {
                    assert_eq!(is.remove(v), model.remove(&v));
                } else {
                    assert_eq!(is.insert(v), model.insert(v));
                }
                assert_eq!(is.len(), model.len());
                assert!(is.iter().eq(model.iter().copied()));
                assert_eq!(is.heap_size() == 0, is.len() * is.width() <= INTSET_INLINE);
            }
            let extra: Vec<i64> = (0..rng.gen_range(0..20))
                .map(|_| rng.gen_range(-50i64..50))
                .collect();
            let added = is.insert_many(extra.clone());
            let before = model.len();
            model.extend(extra);
            assert_eq!(added, model.len() - before);
            assert!(is.iter().eq(model.iter().copied()));
        }
        let mut is = IntSet::new();
        for i in 0..10 {
            is.insert(i);
        }
        assert_eq!(is.heap_size(), 0);
        is.insert(10);
        assert_eq!(is.heap_size(), 22);
        is.remove(0);
        assert_eq!(is.heap_size(), 0);
    }

    #[test]
    fn intset_to_listpack_keeps_sorted_then_insertion_order() {
        let mut s = SetValue::create(b"3", 4, &lim());
        for m in ["3", "1", "a", "2"] {
            assert!(s.add(m.as_bytes(), &lim()));
        }
        assert_eq!(s.encoding(), "listpack");
        assert_eq!(members(&s), vec!["1", "3", "a", "2"]);
        assert!(!s.add(b"1", &lim()));
        assert!(s.contains(b"a") && s.contains_member(Member::Int(2)));
    }

    #[test]
    fn intset_with_many_entries_goes_straight_to_table() {
        let mut s = SetValue::new_intset();
        for i in 0..200 {
            s.add_int(i, &lim());
        }
        assert_eq!(s.encoding(), "intset");
        s.add(b"x", &lim());
        assert_eq!(s.encoding(), "hashtable");
        assert_eq!(s.len(), 201);
        let mut s = SetValue::new_intset();
        for i in 0..512 {
            s.add_int(i, &lim());
        }
        assert_eq!(s.encoding(), "intset");
        s.add(b"512", &lim());
        assert_eq!(s.encoding(), "hashtable");
    }

    #[test]
    fn listpack_thresholds() {
        let mut s = SetValue::create(b"a", 1, &lim());
        for i in 0..128 {
            s.add(format!("m{i}").as_bytes(), &lim());
        }
        assert_eq!(s.encoding(), "listpack");
        s.add(b"m128", &lim());
        assert_eq!(s.encoding(), "hashtable");
        let mut s = SetValue::create(b"a", 1, &lim());
        s.add(&[b'x'; 64], &lim());
        assert_eq!(s.encoding(), "listpack");
        s.add(&[b'x'; 65], &lim());
        assert_eq!(s.encoding(), "hashtable");
        let mut s = SetValue::create(b"1", 1, &lim());
        s.add(b"1", &lim());
        s.add(&[b'x'; 65], &lim());
        assert_eq!(s.encoding(), "hashtable");
        let mut s = SetValue::create(b"1", 1, &lim());
        s.maybe_convert(513, &lim());
        assert_eq!(s.encoding(), "hashtable");
        assert_eq!(SetValue::create(b"a", 129, &lim()).encoding(), "hashtable");
        assert_eq!(SetValue::create(b"1", 129, &lim()).encoding(), "intset");
        assert_eq!(SetValue::create(b"01", 1, &lim()).encoding(), "listpack");
    }

    #[test]
    fn back_to_intset_and_pops() {
        let mut s = SetValue::new_listpack();
        for m in ["10", "-5", "7"] {
            s.add(m.as_bytes(), &lim());
        }
        s.maybe_convert_to_intset(&lim());
        assert_eq!(s.encoding(), "intset");
        assert_eq!(members(&s), vec!["-5", "7", "10"]);
        let mut rng = rand::thread_rng();
        let mut popped = Vec::new();
        while let Some(m) = s.pop_random(&mut rng) {
            popped.push(String::from_utf8(m).unwrap_or_default());
        }
        popped.sort();
        assert_eq!(popped, vec!["-5", "10", "7"]);
        let mut s = SetValue::new_listpack();
        s.add(b"a", &lim());
        s.add(b"1", &lim());
        s.maybe_convert_to_intset(&lim());
        assert_eq!(s.encoding(), "listpack");
    }

    #[test]
    fn add_many_matches_one_by_one() {
        use rand::Rng;
        let mut rng = rand::thread_rng();
        let lim = SetLimits {
            max_intset_entries: 20,
            max_listpack_entries: 10,
            max_listpack_value: 4,
        };
        for _ in 0..2000 {
            let n = rng.gen_range(1..30);
            let ms: Vec<String> = (0..n)
                .map(|_| match rng.gen_range(0..4) {
                    0 => format!("x{}", rng.gen_range(0..8)),
                    1 => "longmember".to_string(),
                    2 => format!("{}", rng.gen_range(-40000i64..40000)),
                    _ => format!("{}", rng.gen_range(0..15)),
                })
                .collect();
            let refs: Vec<&[u8]> = ms.iter().map(|m| m.as_bytes()).collect();
            let mut a = SetValue::create(refs[0], 1, &lim);
            let mut b = a.clone();
            let added_a: usize = refs.iter().map(|m| usize::from(a.add(m, &lim))).sum();
            let added_b = b.add_many(&refs, &lim);
            assert_eq!(added_a, added_b, "{ms:?}");
            assert_eq!(a.encoding(), b.encoding(), "{ms:?}");
            if a.encoding() != "hashtable" {
                assert_eq!(members(&a), members(&b), "{ms:?}");
            } else {
                let mut x = members(&a);
                let mut y = members(&b);
                x.sort();
                y.sort();
                assert_eq!(x, y);
            }
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(std::mem::size_of::<IntSet>(), 24);
        assert_eq!(std::mem::size_of::<SetValue>(), 24);
        assert_eq!(sdigits10(-10), 3);
        assert_eq!(sdigits10(i64::MIN), 20);
    }
}
