//! Double formatting exactly as Redis 7.2 replies with doubles (`fpconv_dtoa`):
//! the shortest digit string that round-trips, laid out like `%g` with
//! Redis's own thresholds for switching to exponent form.

use std::io::Write;

/// Writes `v` into `out` and returns the number of bytes written.
/// `out` must hold at least 32 bytes.
pub fn format_double(v: f64, out: &mut [u8]) -> usize {
    if v.is_nan() {
        return copy(out, b"nan");
    }
    if v.is_infinite() {
        return copy(out, if v > 0.0 { b"inf" } else { b"-inf" });
    }
    if v == 0.0 {
        return copy(out, if v.is_sign_negative() { b"-0" } else { b"0" });
    }
    // Redis's double2ll fast path: integral values within ±LLONG_MAX/2
    // print as integers.
    const HALF: f64 = (i64::MAX / 2) as f64;
    if (-HALF..=HALF).contains(&v) && v.fract() == 0.0 {
        let mut b = itoa::Buffer::new();
        let s = b.format(v as i64);
        return copy(out, s.as_bytes());
    }
    // Shortest round-trip digits from Rust's formatter: "d.ddddde[-]x".
    let mut tmp = [0u8; 40];
    let len = {
        let mut cur = std::io::Cursor::new(&mut tmp[..]);
        if write!(cur, "{:e}", v.abs()).is_err() {
            return copy(out, b"0");
        }
        cur.position() as usize
    };
    let s = &tmp[..len];
    let epos = s.iter().position(|&c| c == b'e').unwrap_or(len);
    let mut digits = [0u8; 24];
    let mut nd = 0usize;
    for &c in &s[..epos] {
        if c.is_ascii_digit() && nd < digits.len() {
            digits[nd] = c;
            nd += 1;
        }
    }
    let exp10: i32 = std::str::from_utf8(s.get(epos + 1..).unwrap_or(b"0"))
        .ok()
        .and_then(|e| e.parse().ok())
        .unwrap_or(0);
    // value = 0.d1d2... * 10^(exp10+1) = digits * 10^K
    let k = exp10 - (nd as i32 - 1);
    let neg = v < 0.0;
    let mut pos = 0;
    if neg {
        out[0] = b'-';
        pos = 1;
    }
    pos + emit_digits(&digits[..nd], k, neg, &mut out[pos..])
}

fn copy(out: &mut [u8], s: &[u8]) -> usize {
    out[..s.len()].copy_from_slice(s);
    s.len()
}

/// Port of fpconv's `emit_digits`.
fn emit_digits(digits: &[u8], k: i32, neg: bool, dest: &mut [u8]) -> usize {
    let mut ndigits = digits.len() as i32;
    let exp = (k + ndigits - 1).abs();
    // plain integer
    if k >= 0 && exp < ndigits + 7 {
        let nd = ndigits as usize;
        dest[..nd].copy_from_slice(digits);
        for b in dest[nd..nd + k as usize].iter_mut() {
            *b = b'0';
        }
        return nd + k as usize;
    }
    // decimal without exponent
    if k < 0 && (k > -7 || exp < 4) {
        let offset = ndigits - k.abs();
        if offset <= 0 {
            let off = (-offset) as usize;
            dest[0] = b'0';
            dest[1] = b'.';
            for b in dest[2..2 + off].iter_mut() {
                *b = b'0';
            }
            dest[2 + off..2 + off + digits.len()].copy_from_slice(digits);
            return digits.len() + 2 + off;
        } else {
            let off = offset as usize;
            dest[..off].copy_from_slice(&digits[..off]);
            dest[off] = b'.';
            dest[off + 1..digits.len() + 1].copy_from_slice(&digits[off..]);
            return digits.len() + 1;
        }
    }
    // exponent form
    ndigits = ndigits.min(18 - neg as i32);
    let nd = ndigits as usize;
    let mut idx = 0;
    dest[idx] = digits[0];
    idx += 1;
    if nd > 1 {
        dest[idx] = b'.';
        idx += 1;
        dest[idx..idx + nd - 1].copy_from_slice(&digits[1..nd]);
        idx += nd - 1;
    }
    dest[idx] = b'e';
    idx += 1;
    dest[idx] = if k + ndigits - 1 < 0 { b'-' } else { b'+' };
    idx += 1;
    let mut e = exp;
    let mut cent = 0;
    if e > 99 {
        cent = e / 100;
        dest[idx] = b'0' + cent as u8;
        idx += 1;
        e -= cent * 100;
    }
    if e > 9 {
        let dec = e / 10;
        dest[idx] = b'0' + dec as u8;
        idx += 1;
        e -= dec * 10;
    } else if cent != 0 {
        dest[idx] = b'0';
        idx += 1;
    }
    dest[idx] = b'0' + (e % 10) as u8;
    idx + 1
}

/// Convenience: the formatted double as a `String`.
pub fn double_to_string(v: f64) -> String {
    let mut b = [0u8; 40];
    let n = format_double(v, &mut b);
    String::from_utf8_lossy(&b[..n]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::double_to_string as f;

    #[test]
    fn forms() {
        assert_eq!(f(1.5), "1.5");
        assert_eq!(f(1.1), "1.1");
        assert_eq!(f(3.0), "3");
        assert_eq!(f(-2.25), "-2.25");
        assert_eq!(f(1e21), "1e+21");
        assert_eq!(f(123456789.0), "123456789");
        assert_eq!(f(0.0001), "0.0001");
        assert_eq!(f(1e-7), "1e-7");
        assert_eq!(f(1.5e300), "1.5e+300");
        assert_eq!(f(f64::INFINITY), "inf");
        assert_eq!(f(f64::NEG_INFINITY), "-inf");
        assert_eq!(f(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(f(1e15), "1000000000000000");
        assert_eq!(f(1e17), "100000000000000000");
        assert_eq!(f(1e21), "1e+21");
        assert_eq!(f(1234567.0), "1234567");
    }
}
