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
