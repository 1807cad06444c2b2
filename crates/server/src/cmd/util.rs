//! Argument parsing helpers shared by the command families, with Redis's
//! exact error texts.

use crate::dispatch::{ERR_NOT_FLOAT, ERR_NOT_INT};

/// Redis's `string2ll` (strict: no spaces, no '+', no leading zeros).
pub fn parse_i64(a: &[u8]) -> Option<i64> {
    spinel_keyspace::value::parse_canonical_i64(a)
}

/// `getLongLongFromObjectOrReply`.
pub fn arg_i64(a: &[u8]) -> Result<i64, &'static str> {
    parse_i64(a).ok_or(ERR_NOT_INT)
}

/// `getDoubleFromObject`: strtod semantics (hex floats, inf), no leading
/// space, no trailing garbage, no NaN, overflow/underflow rejected.
pub fn parse_f64(a: &[u8]) -> Option<f64> {
    crate::cmd::zset::parse_score(a)
}

pub fn arg_f64(a: &[u8]) -> Result<f64, &'static str> {
    parse_f64(a).ok_or(ERR_NOT_FLOAT)
}

/// Case-insensitive ASCII comparison of an argument with a keyword.
#[inline]
pub fn eq_ic(a: &[u8], kw: &str) -> bool {
    a.eq_ignore_ascii_case(kw.as_bytes())
}

pub fn lossy(a: &[u8]) -> String {
    String::from_utf8_lossy(a).into_owned()
}

/// A SCAN-family cursor as Redis 7.2's `parseScanCursorOrReply` reads it
/// (SCAN, HSCAN, SSCAN and ZSCAN alike): `strtoul` on the argument as a C
/// string, so `""` is 0, a sign is allowed (`-1` wraps to the largest
/// cursor), and leading white space, trailing garbage or overflow are
/// invalid.
pub fn parse_scan_cursor(a: &[u8]) -> Option<u64> {
    let a = match a.iter().position(|&c| c == 0) {
        Some(i) => &a[..i],
        None => a,
    };
    let Some(&first) = a.first() else {
        return Some(0);
    };
    if matches!(first, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r') {
        return None;
    }
    let (neg, digits) = match first {
        b'-' => (true, &a[1..]),
        b'+' => (false, &a[1..]),
        _ => (false, a),
    };
    if digits.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}
