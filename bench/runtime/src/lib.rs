//! Shared by the two responders: counts the complete RESP multibulk
//! requests at the front of a buffer.

/// Complete requests in `buf` and the bytes they take: `(count, consumed)`.
pub fn count(buf: &[u8]) -> (usize, usize) {
    fn num(b: &[u8], i: &mut usize) -> Option<usize> {
        let mut v = 0usize;
        while *i < b.len() && b[*i] != b'\r' {
            v = v * 10 + (b[*i] - b'0') as usize;
            *i += 1;
        }
        if *i + 1 >= b.len() {
            return None;
        }
        *i += 2;
        Some(v)
    }
    let (mut n, mut pos) = (0, 0);
    loop {
        let mut i = pos;
        if i >= buf.len() || buf[i] != b'*' {
            return (n, pos);
        }
        i += 1;
        let Some(argc) = num(buf, &mut i) else {
            return (n, pos);
        };
        for _ in 0..argc {
            if i >= buf.len() {
                return (n, pos);
            }
            i += 1;
            let Some(l) = num(buf, &mut i) else {
                return (n, pos);
            };
            i += l + 2;
            if i > buf.len() {
                return (n, pos);
            }
        }
        n += 1;
        pos = i;
    }
}
