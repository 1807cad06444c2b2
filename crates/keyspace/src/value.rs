//! The value stored under a key, and its Redis type and encoding names.

use crate::hash::HashValue;
use crate::list::ListValue;
use crate::sbytes::SBytes;
use crate::set::SetValue;
use crate::zset::ZSetValue;

/// Longest string Redis stores as `embstr`.
pub const EMBSTR_MAX: usize = 44;

#[derive(Debug, Clone)]
pub enum Value {
    /// A string holding a canonical 64-bit integer (`OBJECT ENCODING int`).
    Int(i64),
    /// An immutable string (`embstr` up to 44 bytes, `raw` above).
    Str(SBytes),
    /// A string modified in place (APPEND, SETRANGE, SETBIT...): always `raw`,
    /// growable without copying. Boxed so that `Value` stays 24 bytes.
    Raw(Box<Vec<u8>>),
    List(Box<ListValue>),
    /// Inline: the key node is a 64-byte allocation either way, so a hash
    /// or sorted set needs no block of its own for its header.
    Hash(HashValue),
    /// Inline like hashes: a small intset's members live in the value.
    Set(SetValue),
    ZSet(ZSetValue),
}

/// Redis's `string2ll` acceptance: the bytes are the canonical decimal form
/// of an i64 (no spaces, no '+', no leading zeros, at most 20 chars).
pub fn parse_canonical_i64(b: &[u8]) -> Option<i64> {
    if b.is_empty() || b.len() > 20 {
        return None;
    }
    let (neg, d) = if b[0] == b'-' {
        (true, &b[1..])
    } else {
        (false, b)
    };
    if d.is_empty() || (d[0] == b'0' && (d.len() > 1 || neg)) {
        return None;
    }
    let mut v: u64 = 0;
    for &c in d {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    if neg {
        if v > (i64::MAX as u64) + 1 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

impl Value {
    /// A string value from client bytes, choosing Redis's encoding.
    pub fn string(b: &[u8]) -> Value {
        if b.len() <= 20 {
            if let Some(i) = parse_canonical_i64(b) {
                return Value::Int(i);
            }
        }
        Value::Str(SBytes::new(b))
    }

    pub fn string_from_vec(v: Vec<u8>) -> Value {
        if v.len() <= 20 {
            if let Some(i) = parse_canonical_i64(&v) {
                return Value::Int(i);
            }
        }
        Value::Str(SBytes::from_vec(v))
    }

    /// `TYPE` reply.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Int(_) | Value::Str(_) | Value::Raw(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
        }
    }

    /// `OBJECT ENCODING` reply.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Int(_) => "int",
            Value::Str(s) if s.len() <= EMBSTR_MAX => "embstr",
            Value::Str(_) | Value::Raw(_) => "raw",
            Value::List(l) => l.encoding(),
            Value::Hash(h) => h.encoding(),
            Value::Set(s) => s.encoding(),
            Value::ZSet(z) => z.encoding(),
        }
    }

    pub fn is_string(&self) -> bool {
        matches!(self, Value::Int(_) | Value::Str(_) | Value::Raw(_))
    }

    /// The string bytes of a string value (integers are formatted into `buf`).
    pub fn as_bytes<'a>(&'a self, buf: &'a mut itoa_buf::Buf) -> Option<&'a [u8]> {
        match self {
            Value::Int(i) => Some(buf.format(*i)),
            Value::Str(s) => Some(s.as_slice()),
            Value::Raw(v) => Some(v.as_slice()),
            _ => None,
        }
    }

    /// Owned copy of a string value's bytes.
    pub fn to_bytes(&self) -> Option<Vec<u8>> {
        let mut b = itoa_buf::Buf::new();
        self.as_bytes(&mut b).map(|s| s.to_vec())
    }

    /// Approximate heap bytes owned by the value (for memory accounting).
    pub fn heap_size(&self) -> usize {
        match self {
            Value::Int(_) => 0,
            Value::Str(s) => s.heap_size(),
            Value::Raw(v) => 24 + v.capacity(),
            Value::List(l) => std::mem::size_of::<ListValue>() + l.heap_size(),
            Value::Hash(h) => h.heap_size(),
            Value::Set(s) => s.heap_size(),
            Value::ZSet(z) => z.heap_size(),
        }
    }

    /// Number of elements (1 for strings); used to decide lazy freeing.
    pub fn element_count(&self) -> usize {
        match self {
            Value::Int(_) | Value::Str(_) | Value::Raw(_) => 1,
            Value::List(l) => l.len(),
            Value::Hash(h) => h.len(),
            Value::Set(s) => s.len(),
            Value::ZSet(z) => z.len(),
        }
    }
}

/// A small stack buffer for formatting integers without allocating.
pub mod itoa_buf {
    pub struct Buf {
        data: [u8; 24],
    }

    impl Default for Buf {
        fn default() -> Self {
            Self::new()
        }
    }

    impl Buf {
        pub fn new() -> Self {
            Buf { data: [0; 24] }
        }

        pub fn format(&mut self, v: i64) -> &[u8] {
            let mut n = v.unsigned_abs();
            let mut i = self.data.len();
            loop {
                i -= 1;
                self.data[i] = b'0' + (n % 10) as u8;
                n /= 10;
                if n == 0 {
                    break;
                }
            }
            if v < 0 {
                i -= 1;
                self.data[i] = b'-';
            }
            &self.data[i..]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_ints() {
        assert_eq!(parse_canonical_i64(b"123"), Some(123));
        assert_eq!(parse_canonical_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_canonical_i64(b"9223372036854775808"), None);
        assert_eq!(parse_canonical_i64(b"0"), Some(0));
        assert_eq!(parse_canonical_i64(b"-0"), None);
        assert_eq!(parse_canonical_i64(b"01"), None);
        assert_eq!(parse_canonical_i64(b" 1"), None);
        assert_eq!(parse_canonical_i64(b"+1"), None);
        let mut b = itoa_buf::Buf::new();
        assert_eq!(b.format(i64::MIN), b"-9223372036854775808");
    }
}
