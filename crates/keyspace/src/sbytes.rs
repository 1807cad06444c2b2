//! `SBytes`: an immutable byte string that stores up to 22 bytes inline.
//!
//! Most keys and many values are short (`user:1000`, a 16-byte token); keeping
//! them inline avoids a heap block and a pointer chase per key. The type is
//! 24 bytes, the same as a `Vec<u8>`.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

pub const INLINE_CAP: usize = 22;

#[derive(Clone)]
pub enum SBytes {
    Inline { len: u8, data: [u8; INLINE_CAP] },
    Heap(Box<[u8]>),
}

impl SBytes {
    #[inline]
    pub fn new(b: &[u8]) -> Self {
        if b.len() <= INLINE_CAP {
            let mut data = [0u8; INLINE_CAP];
            data[..b.len()].copy_from_slice(b);
            SBytes::Inline {
                len: b.len() as u8,
                data,
            }
        } else {
            SBytes::Heap(b.into())
        }
    }

    #[inline]
    pub fn from_vec(v: Vec<u8>) -> Self {
        if v.len() <= INLINE_CAP {
            Self::new(&v)
        } else {
            SBytes::Heap(v.into_boxed_slice())
        }
    }

    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        match self {
            SBytes::Inline { len, data } => &data[..(*len as usize).min(INLINE_CAP)],
            SBytes::Heap(b) => b,
        }
    }

    /// Heap bytes owned beyond the struct itself (for memory accounting).
    #[inline]
    pub fn heap_size(&self) -> usize {
        match self {
            SBytes::Inline { .. } => 0,
            SBytes::Heap(b) => b.len(),
        }
    }

    pub fn into_vec(self) -> Vec<u8> {
        match self {
            SBytes::Inline { .. } => self.as_slice().to_vec(),
            SBytes::Heap(b) => b.into_vec(),
        }
    }
}

impl Default for SBytes {
    fn default() -> Self {
        SBytes::Inline {
            len: 0,
            data: [0; INLINE_CAP],
        }
    }
}

impl Deref for SBytes {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl Borrow<[u8]> for SBytes {
    #[inline]
    fn borrow(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsRef<[u8]> for SBytes {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl PartialEq for SBytes {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}
impl Eq for SBytes {}

impl PartialOrd for SBytes {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for SBytes {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_slice().cmp(other.as_slice())
    }
}

impl Hash for SBytes {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state)
    }
}

impl fmt::Debug for SBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_slice()))
    }
}

impl From<&[u8]> for SBytes {
    fn from(b: &[u8]) -> Self {
        SBytes::new(b)
    }
}

impl From<Vec<u8>> for SBytes {
    fn from(v: Vec<u8>) -> Self {
        SBytes::from_vec(v)
    }
}

impl From<&str> for SBytes {
    fn from(s: &str) -> Self {
        SBytes::new(s.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_and_roundtrip() {
        assert_eq!(std::mem::size_of::<SBytes>(), 24);
        for n in [0usize, 1, 22, 23, 100] {
            let v: Vec<u8> = (0..n as u8).collect();
            let s = SBytes::new(&v);
            assert_eq!(&*s, &v[..]);
            assert_eq!(SBytes::from_vec(v.clone()), s);
        }
    }
}
