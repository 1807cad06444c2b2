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

/// `getLongDoubleFromObject`/`getDoubleFromObject`: strtod semantics,
/// no trailing garbage, no spaces, NaN rejected.
pub fn parse_f64(a: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(a).ok()?;
    if s.is_empty()
        || s.starts_with(|c: char| c.is_ascii_whitespace())
        || s.ends_with(|c: char| c.is_ascii_whitespace())
    {
        return None;
    }
    let lower = s.to_ascii_lowercase();
    let v = match lower.as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => f64::INFINITY,
        "-inf" | "-infinity" => f64::NEG_INFINITY,
        _ => {
            // Rust accepts "nan"/"inf" words and forms strtod rejects; filter.
            if lower.contains("nan") || lower.contains("inf") {
                return None;
            }
            if lower.starts_with("0x") || lower.starts_with("-0x") || lower.starts_with("+0x") {
                return None;
            }
            s.parse::<f64>().ok()?
        }
    };
    if v.is_nan() {
        None
    } else {
        Some(v)
    }
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
