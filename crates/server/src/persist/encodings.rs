//! Redis's compact blob formats as they appear inside RDB files: listpack
//! (written and read), intset (written and read), and the older ziplist and
//! zipmap (read only). Readers validate every length against the blob and
//! return `None` on anything malformed.

use spinel_keyspace::value::parse_canonical_i64;

/// One decoded element: listpack and ziplist entries are either strings or
/// integers.
#[derive(Debug, Clone, PartialEq)]
pub enum Elem<'a> {
    Str(&'a [u8]),
    Int(i64),
}

impl Elem<'_> {
    pub fn to_vec(&self) -> Vec<u8> {
        match self {
            Elem::Str(s) => s.to_vec(),
            Elem::Int(i) => i.to_string().into_bytes(),
        }
    }
}

// ------------------------------------------------------------------ listpack

/// Builds a Redis listpack byte by byte (`lpAppend`).
pub struct LpWriter {
    buf: Vec<u8>,
    count: usize,
}

impl Default for LpWriter {
    fn default() -> Self {
        Self::new()
    }
}

fn backlen(l: usize, out: &mut Vec<u8>) {
    if l <= 127 {
        out.push(l as u8);
    } else if l < 16383 {
        out.push((l >> 7) as u8);
        out.push(((l & 127) | 128) as u8);
    } else if l < 2_097_151 {
        out.push((l >> 14) as u8);
        out.push((((l >> 7) & 127) | 128) as u8);
        out.push(((l & 127) | 128) as u8);
    } else if l < 268_435_455 {
        out.push((l >> 21) as u8);
        out.push((((l >> 14) & 127) | 128) as u8);
        out.push((((l >> 7) & 127) | 128) as u8);
        out.push(((l & 127) | 128) as u8);
    } else {
        out.push((l >> 28) as u8);
        out.push((((l >> 21) & 127) | 128) as u8);
        out.push((((l >> 14) & 127) | 128) as u8);
        out.push((((l >> 7) & 127) | 128) as u8);
        out.push(((l & 127) | 128) as u8);
    }
}

impl LpWriter {
    pub fn new() -> Self {
        LpWriter {
            buf: vec![0; 6],
            count: 0,
        }
    }

    /// Appends a string element (stored as an integer when it is one).
    pub fn push(&mut self, e: &[u8]) {
        match parse_canonical_i64(e) {
            Some(v) => self.push_int(v),
            None => self.push_str(e),
        }
    }

    pub fn push_int(&mut self, v: i64) {
        let start = self.buf.len();
        let b = &mut self.buf;
        if (0..=127).contains(&v) {
            b.push(v as u8);
        } else if (-4096..=4095).contains(&v) {
            let u = if v < 0 {
                ((1i64 << 13) + v) as u64
            } else {
                v as u64
            };
            b.push(((u >> 8) as u8) | 0xC0);
            b.push(u as u8);
        } else if (i16::MIN as i64..=i16::MAX as i64).contains(&v) {
            b.push(0xF1);
            b.extend_from_slice(&(v as i16).to_le_bytes());
        } else if (-8_388_608..=8_388_607).contains(&v) {
            b.push(0xF2);
            b.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
        } else if (i32::MIN as i64..=i32::MAX as i64).contains(&v) {
            b.push(0xF3);
            b.extend_from_slice(&(v as i32).to_le_bytes());
        } else {
            b.push(0xF4);
            b.extend_from_slice(&v.to_le_bytes());
        }
        let l = b.len() - start;
        backlen(l, b);
        self.count += 1;
    }

    pub fn push_str(&mut self, s: &[u8]) {
        let start = self.buf.len();
        let b = &mut self.buf;
        let n = s.len();
        if n < 64 {
            b.push(0x80 | n as u8);
        } else if n < 4096 {
            b.push(0xE0 | (n >> 8) as u8);
            b.push(n as u8);
        } else {
            b.push(0xF0);
            b.extend_from_slice(&(n as u32).to_le_bytes());
        }
        b.extend_from_slice(s);
        let l = b.len() - start;
        backlen(l, b);
        self.count += 1;
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.buf.push(0xFF);
        let total = self.buf.len() as u32;
        let n = self.count.min(65535) as u16;
        self.buf[0..4].copy_from_slice(&total.to_le_bytes());
        self.buf[4..6].copy_from_slice(&n.to_le_bytes());
        self.buf
    }
}

/// Decodes a listpack, checking its header, every entry's encoding and
/// back-length, and the terminator (Redis's deep integrity check).
pub fn lp_decode(b: &[u8]) -> Option<Vec<Elem<'_>>> {
    if b.len() < 7 {
        return None;
    }
    let total = u32::from_le_bytes(b.get(0..4)?.try_into().ok()?) as usize;
    let count = u16::from_le_bytes(b.get(4..6)?.try_into().ok()?) as usize;
    if total != b.len() || *b.last()? != 0xFF {
        return None;
    }
    let end = b.len() - 1;
    let mut p = 6usize;
    let mut out = Vec::new();
    while p < end {
        let start = p;
        let c = *b.get(p)?;
        let (elem, enc_len) = if c & 0x80 == 0 {
            (Elem::Int((c & 0x7f) as i64), 1)
        } else if c & 0xC0 == 0x80 {
            let n = (c & 0x3f) as usize;
            (Elem::Str(b.get(p + 1..p + 1 + n)?), 1 + n)
        } else if c & 0xE0 == 0xC0 {
            let u = (((c & 0x1f) as u64) << 8) | *b.get(p + 1)? as u64;
            let v = if u >= 1 << 12 {
                u as i64 - (1 << 13)
            } else {
                u as i64
            };
            (Elem::Int(v), 2)
        } else if c & 0xF0 == 0xE0 {
            let n = (((c & 0x0f) as usize) << 8) | *b.get(p + 1)? as usize;
            (Elem::Str(b.get(p + 2..p + 2 + n)?), 2 + n)
        } else {
            match c {
                0xF0 => {
                    let n = u32::from_le_bytes(b.get(p + 1..p + 5)?.try_into().ok()?) as usize;
                    let s = b.get(p + 5..(p + 5).checked_add(n)?)?;
                    (Elem::Str(s), 5 + n)
                }
                0xF1 => {
                    let v = i16::from_le_bytes(b.get(p + 1..p + 3)?.try_into().ok()?);
                    (Elem::Int(v as i64), 3)
                }
                0xF2 => {
                    let x = b.get(p + 1..p + 4)?;
                    let v =
                        ((x[0] as i32) | ((x[1] as i32) << 8) | ((x[2] as i32) << 16)) << 8 >> 8;
                    (Elem::Int(v as i64), 4)
                }
                0xF3 => {
                    let v = i32::from_le_bytes(b.get(p + 1..p + 5)?.try_into().ok()?);
                    (Elem::Int(v as i64), 5)
                }
                0xF4 => {
                    let v = i64::from_le_bytes(b.get(p + 1..p + 9)?.try_into().ok()?);
                    (Elem::Int(v), 9)
                }
                _ => return None,
            }
        };
        p = start.checked_add(enc_len)?;
        let mut bl = Vec::with_capacity(5);
        backlen(enc_len, &mut bl);
        if b.get(p..p + bl.len())? != bl.as_slice() {
            return None;
        }
        p += bl.len();
        if p > end {
            return None;
        }
        out.push(elem);
    }
    if p != end || (count != 65535 && count != out.len()) {
        return None;
    }
    Some(out)
}

// ------------------------------------------------------------------ intset

/// Encodes sorted integers as an intset of the given width (2, 4 or 8).
pub fn intset_encode(width: usize, values: impl Iterator<Item = i64>, n: usize) -> Vec<u8> {
    let mut b = Vec::with_capacity(8 + n * width);
    b.extend_from_slice(&(width as u32).to_le_bytes());
    b.extend_from_slice(&(n as u32).to_le_bytes());
    for v in values {
        match width {
            2 => b.extend_from_slice(&(v as i16).to_le_bytes()),
            4 => b.extend_from_slice(&(v as i32).to_le_bytes()),
            _ => b.extend_from_slice(&v.to_le_bytes()),
        }
    }
    b
}

/// Decodes an intset, checking the width, the size and the strict order.
pub fn intset_decode(b: &[u8]) -> Option<Vec<i64>> {
    let width = u32::from_le_bytes(b.get(0..4)?.try_into().ok()?) as usize;
    let n = u32::from_le_bytes(b.get(4..8)?.try_into().ok()?) as usize;
    if !matches!(width, 2 | 4 | 8) || n.checked_mul(width)?.checked_add(8)? != b.len() || n == 0 {
        return None;
    }
    let mut out = Vec::with_capacity(n);
    for c in b.get(8..)?.chunks_exact(width) {
        let v = match width {
            2 => i16::from_le_bytes(c.try_into().ok()?) as i64,
            4 => i32::from_le_bytes(c.try_into().ok()?) as i64,
            _ => i64::from_le_bytes(c.try_into().ok()?),
        };
        if let Some(&last) = out.last() {
            if v <= last {
                return None;
            }
        }
        out.push(v);
    }
    Some(out)
}

// ------------------------------------------------------------------ ziplist

/// Decodes a ziplist (RDB 7 and older small encodings).
pub fn ziplist_decode(b: &[u8]) -> Option<Vec<Elem<'_>>> {
    if b.len() < 11 {
        return None;
    }
    let total = u32::from_le_bytes(b.get(0..4)?.try_into().ok()?) as usize;
    let count = u16::from_le_bytes(b.get(8..10)?.try_into().ok()?) as usize;
    if total != b.len() || *b.last()? != 0xFF {
        return None;
    }
    let end = b.len() - 1;
    let mut p = 10usize;
    let mut prev_len = 0usize;
    let mut out = Vec::new();
    while p < end {
        let start = p;
        let first = *b.get(p)?;
        let prevlen = if first < 254 {
            p += 1;
            first as usize
        } else if first == 254 {
            let v = u32::from_le_bytes(b.get(p + 1..p + 5)?.try_into().ok()?) as usize;
            p += 5;
            v
        } else {
            return None;
        };
        if prevlen != prev_len {
            return None;
        }
        let c = *b.get(p)?;
        let elem = match c >> 6 {
            0 => {
                let n = (c & 0x3f) as usize;
                p += 1;
                let s = b.get(p..p + n)?;
                p += n;
                Elem::Str(s)
            }
            1 => {
                let n = (((c & 0x3f) as usize) << 8) | *b.get(p + 1)? as usize;
                p += 2;
                let s = b.get(p..p + n)?;
                p += n;
                Elem::Str(s)
            }
            2 => {
                if c != 0x80 {
                    return None;
                }
                let n = u32::from_be_bytes(b.get(p + 1..p + 5)?.try_into().ok()?) as usize;
                p += 5;
                let s = b.get(p..p.checked_add(n)?)?;
                p += n;
                Elem::Str(s)
            }
            _ => {
                p += 1;
                match c {
                    0xC0 => {
                        let v = i16::from_le_bytes(b.get(p..p + 2)?.try_into().ok()?);
                        p += 2;
                        Elem::Int(v as i64)
                    }
                    0xD0 => {
                        let v = i32::from_le_bytes(b.get(p..p + 4)?.try_into().ok()?);
                        p += 4;
                        Elem::Int(v as i64)
                    }
                    0xE0 => {
                        let v = i64::from_le_bytes(b.get(p..p + 8)?.try_into().ok()?);
                        p += 8;
                        Elem::Int(v)
                    }
                    0xF0 => {
                        let x = b.get(p..p + 3)?;
                        let v = ((x[0] as i32) | ((x[1] as i32) << 8) | ((x[2] as i32) << 16)) << 8
                            >> 8;
                        p += 3;
                        Elem::Int(v as i64)
                    }
                    0xFE => {
                        let v = *b.get(p)? as i8;
                        p += 1;
                        Elem::Int(v as i64)
                    }
                    0xF1..=0xFD => Elem::Int((c & 0x0f) as i64 - 1),
                    _ => return None,
                }
            }
        };
        if p > end {
            return None;
        }
        prev_len = p - start;
        out.push(elem);
    }
    if p != end || (count != 65535 && count != out.len()) {
        return None;
    }
    Some(out)
}

// ------------------------------------------------------------------ zipmap

/// Decodes a zipmap (RDB_TYPE_HASH_ZIPMAP, Redis 2.x) into field/value pairs.
pub fn zipmap_decode(b: &[u8]) -> Option<Vec<(&[u8], &[u8])>> {
    let mut p = 1usize;
    let mut out = Vec::new();
    let read_len = |p: &mut usize| -> Option<Option<usize>> {
        let c = *b.get(*p)?;
        match c {
            0..=253 => {
                *p += 1;
                Some(Some(c as usize))
            }
            254 => {
                let v = u32::from_le_bytes(b.get(*p + 1..*p + 5)?.try_into().ok()?) as usize;
                *p += 5;
                Some(Some(v))
            }
            _ => Some(None),
        }
    };
    while let Some(klen) = read_len(&mut p)? {
        let k = b.get(p..p.checked_add(klen)?)?;
        p += klen;
        let vlen = read_len(&mut p)??;
        let free = *b.get(p)? as usize;
        p += 1;
        let v = b.get(p..p.checked_add(vlen)?)?;
        p += vlen + free;
        out.push((k, v));
    }
    if p + 1 != b.len() {
        return None;
    }
    Some(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn listpack_matches_redis() {
        // Redis 7.2 `DUMP` of RPUSH l a 1 -5 300 70000 hello.
        let mut w = LpWriter::new();
        for e in [&b"a"[..], b"1", b"-5", b"300", b"70000", b"hello"] {
            w.push(e);
        }
        let lp = w.finish();
        let expect: &[u8] = b"\x1e\x00\x00\x00\x06\x00\x81a\x02\x01\x01\xdf\xfb\x02\xc1,\x02\xf2p\x11\x01\x04\x85hello\x06\xff";
        assert_eq!(lp, expect);
        let d = lp_decode(&lp).expect("valid");
        assert_eq!(d[2], Elem::Int(-5));
        assert_eq!(d[4], Elem::Int(70000));
        assert_eq!(d[5], Elem::Str(b"hello"));
    }

    #[test]
    fn listpack_sizes() {
        let mut w = LpWriter::new();
        let big = vec![b'x'; 5000];
        let mid = vec![b'y'; 200];
        w.push(&big);
        w.push(&mid);
        for v in [
            i64::MIN,
            -1_000_000_000,
            -100_000,
            -1000,
            127,
            128,
            40000,
            i64::MAX,
        ] {
            w.push_int(v);
        }
        let lp = w.finish();
        let d = lp_decode(&lp).expect("valid");
        assert_eq!(d.len(), 10);
        assert_eq!(d[0], Elem::Str(&big));
        assert_eq!(d[2], Elem::Int(i64::MIN));
        assert_eq!(d[5], Elem::Int(-1000));
        assert_eq!(d[9], Elem::Int(i64::MAX));
        for cut in 0..lp.len() {
            assert!(lp_decode(&lp[..cut]).is_none());
        }
    }

    /// A ziplist as Redis 2.6-6.2 wrote them (test data builder).
    pub fn ziplist(items: &[Elem]) -> Vec<u8> {
        let mut body = Vec::new();
        let mut prev = 0usize;
        let mut tail = 10usize;
        for e in items {
            let start = body.len();
            tail = 10 + start;
            if prev < 254 {
                body.push(prev as u8);
            } else {
                body.push(0xFE);
                body.extend_from_slice(&(prev as u32).to_le_bytes());
            }
            match e {
                Elem::Str(s) if s.len() <= 63 => {
                    body.push(s.len() as u8);
                    body.extend_from_slice(s);
                }
                Elem::Str(s) if s.len() <= 16383 => {
                    body.push(0x40 | (s.len() >> 8) as u8);
                    body.push(s.len() as u8);
                    body.extend_from_slice(s);
                }
                Elem::Str(s) => {
                    body.push(0x80);
                    body.extend_from_slice(&(s.len() as u32).to_be_bytes());
                    body.extend_from_slice(s);
                }
                Elem::Int(v) if (0..=12).contains(v) => body.push(0xF1 + *v as u8),
                Elem::Int(v) if (-128..=127).contains(v) => {
                    body.push(0xFE);
                    body.push(*v as i8 as u8);
                }
                Elem::Int(v) if (-32768..=32767).contains(v) => {
                    body.push(0xC0);
                    body.extend_from_slice(&(*v as i16).to_le_bytes());
                }
                Elem::Int(v) if (-8_388_608..=8_388_607).contains(v) => {
                    body.push(0xF0);
                    body.extend_from_slice(&(*v as i32).to_le_bytes()[..3]);
                }
                Elem::Int(v) if (i32::MIN as i64..=i32::MAX as i64).contains(v) => {
                    body.push(0xD0);
                    body.extend_from_slice(&(*v as i32).to_le_bytes());
                }
                Elem::Int(v) => {
                    body.push(0xE0);
                    body.extend_from_slice(&v.to_le_bytes());
                }
            }
            prev = body.len() - start;
        }
        let mut out = Vec::new();
        out.extend_from_slice(&((body.len() + 11) as u32).to_le_bytes());
        out.extend_from_slice(&(tail as u32).to_le_bytes());
        out.extend_from_slice(&(items.len() as u16).to_le_bytes());
        out.extend_from_slice(&body);
        out.push(0xFF);
        out
    }

    #[test]
    fn ziplist_decodes() {
        let big = vec![b'q'; 300];
        let huge = vec![b'h'; 20000];
        let items = vec![
            Elem::Str(b"hello"),
            Elem::Int(7),
            Elem::Int(-100),
            Elem::Int(30000),
            Elem::Int(-5_000_000),
            Elem::Int(2_000_000_000),
            Elem::Int(i64::MIN),
            Elem::Str(&big),
            Elem::Str(&huge),
            Elem::Str(b""),
        ];
        let zl = ziplist(&items);
        assert_eq!(ziplist_decode(&zl), Some(items));
        for cut in 0..zl.len() {
            assert!(ziplist_decode(&zl[..cut]).is_none());
        }
    }

    #[test]
    fn zipmap_decodes() {
        // zmlen 2, "a" -> "1" (1 free byte), "key" -> "value".
        let zm = b"\x02\x01a\x01\x011X\x03key\x05\x00value\xff";
        assert_eq!(
            zipmap_decode(zm),
            Some(vec![(&b"a"[..], &b"1"[..]), (&b"key"[..], &b"value"[..])])
        );
        assert!(zipmap_decode(&zm[..zm.len() - 1]).is_none());
    }

    #[test]
    fn intset_round_trip() {
        let b = intset_encode(4, [-5i64, 7, 100000].into_iter(), 3);
        assert_eq!(intset_decode(&b), Some(vec![-5, 7, 100000]));
        assert!(intset_decode(&b[..b.len() - 1]).is_none());
    }
}
