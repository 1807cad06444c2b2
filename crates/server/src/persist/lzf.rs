//! LZF, as Redis uses it for RDB strings: the compressor follows liblzf's
//! `lzf_compress` (HLOG 16, VERY_FAST) step by step so the output bytes are
//! the ones Redis writes; the decompressor is bounds-checked.

const HLOG: u32 = 16;
const HSIZE: usize = 1 << HLOG;
const MAX_LIT: usize = 1 << 5;
const MAX_OFF: usize = 1 << 13;
const MAX_REF: usize = (1 << 8) + (1 << 3);

#[inline]
fn idx(h: u32) -> usize {
    ((h >> (3 * 8 - HLOG)).wrapping_sub(h.wrapping_mul(5)) as usize) & (HSIZE - 1)
}

/// Compresses `input` into at most `out_len` bytes; `None` when it does not
/// fit (Redis then stores the string uncompressed).
pub fn compress(input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    let in_len = input.len();
    if in_len == 0 || out_len == 0 {
        return None;
    }
    HTAB.with(|t| {
        let mut t = t.borrow_mut();
        let (htab, touched) = &mut *t;
        if htab.len() != HSIZE {
            *htab = vec![0usize; HSIZE];
        }
        let r = compress_with(input, out_len, htab, touched);
        // Leave the table all zero for the next call, touching only the
        // slots this input used.
        for &i in touched.iter() {
            if let Some(x) = htab.get_mut(i as usize) {
                *x = 0;
            }
        }
        touched.clear();
        r
    })
}

thread_local! {
    /// The hash table (slot value 0 means "never seen": the C code's offsets
    /// are relative to the input start and reject a reference equal to it),
    /// kept per thread so a call doesn't pay for clearing 64K slots.
    static HTAB: std::cell::RefCell<(Vec<usize>, Vec<u32>)> =
        const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

fn compress_with(
    input: &[u8],
    out_len: usize,
    htab: &mut [usize],
    touched: &mut Vec<u32>,
) -> Option<Vec<u8>> {
    let in_len = input.len();
    let at = |i: usize| -> u8 { input.get(i).copied().unwrap_or(0) };
    let mut out = vec![0u8; out_len + 8];
    let out_end = out_len;
    let mut ip = 0usize;
    let mut op = 1usize; // start run
    let mut lit: usize = 0;
    let mut hval: u32 = ((at(0) as u32) << 8) | at(1) as u32;
    while in_len >= 2 && ip < in_len - 2 {
        hval = (hval << 8) | at(ip + 2) as u32;
        let slot = idx(hval);
        let r = htab[slot];
        htab[slot] = ip;
        touched.push(slot as u32);
        let off = ip.wrapping_sub(r).wrapping_sub(1);
        if r < ip
            && off < MAX_OFF
            && r > 0
            && at(r + 2) == at(ip + 2)
            && at(r) == at(ip)
            && at(r + 1) == at(ip + 1)
        {
            let mut len = 2usize;
            let maxlen = (in_len - ip - len).min(MAX_REF);
            if op + 3 + 1 >= out_end && op - usize::from(lit == 0) + 3 + 1 >= out_end {
                return None;
            }
            out[op - lit - 1] = (lit as u8).wrapping_sub(1);
            op -= usize::from(lit == 0);
            'm: {
                if maxlen > 16 {
                    for _ in 0..16 {
                        len += 1;
                        if at(r + len) != at(ip + len) {
                            break 'm;
                        }
                    }
                }
                loop {
                    len += 1;
                    if !(len < maxlen && at(r + len) == at(ip + len)) {
                        break;
                    }
                }
            }
            len -= 2;
            ip += 1;
            if len < 7 {
                out[op] = ((off >> 8) + (len << 5)) as u8;
                op += 1;
            } else {
                out[op] = ((off >> 8) + (7 << 5)) as u8;
                out[op + 1] = (len - 7) as u8;
                op += 2;
            }
            out[op] = off as u8;
            op += 1;
            lit = 0;
            op += 1;
            ip += len + 1;
            if ip >= in_len - 2 {
                break;
            }
            ip -= 2;
            hval = ((at(ip) as u32) << 8) | at(ip + 1) as u32;
            hval = (hval << 8) | at(ip + 2) as u32;
            htab[idx(hval)] = ip;
            touched.push(idx(hval) as u32);
            ip += 1;
            hval = (hval << 8) | at(ip + 2) as u32;
            htab[idx(hval)] = ip;
            touched.push(idx(hval) as u32);
            ip += 1;
        } else {
            if op >= out_end {
                return None;
            }
            lit += 1;
            out[op] = at(ip);
            op += 1;
            ip += 1;
            if lit == MAX_LIT {
                out[op - lit - 1] = (lit - 1) as u8;
                lit = 0;
                op += 1;
            }
        }
    }
    if op + 3 > out_end {
        return None;
    }
    while ip < in_len {
        lit += 1;
        out[op] = at(ip);
        op += 1;
        ip += 1;
        if lit == MAX_LIT {
            out[op - lit - 1] = (lit - 1) as u8;
            lit = 0;
            op += 1;
        }
    }
    out[op - lit - 1] = (lit as u8).wrapping_sub(1);
    op -= usize::from(lit == 0);
    out.truncate(op);
    Some(out)
}

/// Decompresses into exactly `out_len` bytes; `None` on malformed input.
pub fn decompress(input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    let mut out: Vec<u8> = Vec::with_capacity(out_len);
    let mut ip = 0usize;
    while ip < input.len() {
        let ctrl = *input.get(ip)? as usize;
        ip += 1;
        if ctrl < (1 << 5) {
            let n = ctrl + 1;
            if out.len() + n > out_len {
                return None;
            }
            out.extend_from_slice(input.get(ip..ip + n)?);
            ip += n;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                len += *input.get(ip)? as usize;
                ip += 1;
            }
            let back = ((ctrl & 0x1f) << 8) + *input.get(ip)? as usize + 1;
            ip += 1;
            len += 2;
            if back > out.len() || out.len() + len > out_len {
                return None;
            }
            let start = out.len() - back;
            for i in 0..len {
                let b = *out.get(start + i)?;
                out.push(b);
            }
        }
    }
    if out.len() != out_len {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let cases: Vec<Vec<u8>> = vec![
            b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".to_vec(),
            b"hello world hello world hello world hello world!".to_vec(),
            (0..5000u32).map(|i| (i % 251) as u8).collect(),
            (0..5000u32).map(|i| ((i * 7919) % 13) as u8).collect(),
        ];
        for c in cases {
            let z = compress(&c, c.len() - 4).expect("compressible");
            assert_eq!(decompress(&z, c.len()).as_deref(), Some(&c[..]));
        }
        assert!(compress(b"abcdefghijklmnopqrstuvwxyz", 22).is_none());
        assert!(decompress(&[0xff, 0xff], 10).is_none());
    }

    #[test]
    fn redis_bytes() {
        // `DUMP` of a 40-byte 'a' string in Redis 7.2 carries this LZF body.
        let z = compress(&[b'a'; 40], 36).expect("compressible");
        assert_eq!(
            z,
            vec![0x01, b'a', b'a', 0xe0, 0x1b, 0x00, 0x01, b'a', b'a']
        );
    }
}
