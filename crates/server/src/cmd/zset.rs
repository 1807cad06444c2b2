//! Sorted set commands (Redis 7.2's `t_zset.c`): ZADD and friends, range
//! reads and deletions by rank, score and lex, pops (blocking ones plug into
//! `blocking`), set algebra (sets count as members with score 1), random
//! members and ZSCAN.
//!
//! The representation lives in `spinel_keyspace::zset`; this module parses
//! arguments with Redis's rules (strtod for scores, `(`/`[` bounds), applies
//! the operations and writes the replies (scores with Redis 7.2's double
//! formatting: bulk strings in RESP2, doubles in RESP3, `WITHSCORES` pairs as
//! nested arrays in RESP3).

use crate::blocking::{self, KeyStore, Op, Served};
use crate::cmd::util::{eq_ic, parse_i64, parse_scan_cursor};
use crate::dispatch::{
    Access, CommandTable, Ctx, ERR_NOT_FLOAT, ERR_NOT_INT, ERR_SYNTAX, WRONGTYPE,
};
use crate::notify;
use rand::Rng;
use spinel_keyspace::glob::glob_match;
use spinel_keyspace::zset::{
    AddFlags, AddOutcome, LexBound, LexRange, Limits, RangeSpec, ScoreRange, ZSetValue,
};
use spinel_keyspace::Value;
use spinel_resp::ReplyBuf;
use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

pub fn register(t: &mut CommandTable) {
    t.add("zadd", zadd);
    t.add("zincrby", zincrby);
    t.add("zrem", zrem);
    t.add("zcard", zcard);
    t.add("zscore", zscore);
    t.add("zmscore", zmscore);
    t.add("zrank", zrank);
    t.add("zrevrank", zrevrank);
    t.add("zcount", zcount);
    t.add("zlexcount", zlexcount);
    t.add("zrange", zrange);
    t.add("zrangestore", zrangestore);
    t.add("zrevrange", zrevrange);
    t.add("zrangebyscore", zrangebyscore);
    t.add("zrevrangebyscore", zrevrangebyscore);
    t.add("zrangebylex", zrangebylex);
    t.add("zrevrangebylex", zrevrangebylex);
    t.add("zremrangebyrank", zremrangebyrank);
    t.add("zremrangebyscore", zremrangebyscore);
    t.add("zremrangebylex", zremrangebylex);
    t.add("zpopmin", zpopmin);
    t.add("zpopmax", zpopmax);
    t.add("zmpop", zmpop);
    t.add("bzpopmin", bzpopmin);
    t.add("bzpopmax", bzpopmax);
    t.add("bzmpop", bzmpop);
    t.add("zunion", zunion);
    t.add("zinter", zinter);
    t.add("zdiff", zdiff);
    t.add("zunionstore", zunionstore);
    t.add("zinterstore", zinterstore);
    t.add("zdiffstore", zdiffstore);
    t.add("zintercard", zintercard);
    t.add("zrandmember", zrandmember);
    t.add("zscan", zscan);
}

const ERR_MINMAX_FLOAT: &str = "ERR min or max is not a float";
const ERR_MINMAX_LEX: &str = "ERR min or max not valid string range item";
const ERR_POSITIVE: &str = "ERR value is out of range, must be positive";

// ---------------------------------------------------------------------------
// Configuration

/// `zset-max-listpack-entries` / `zset-max-listpack-value`.
pub fn limits_of(srv: &crate::server::Server) -> Limits {
    const ENTRIES: usize = crate::config::param_index("zset-max-listpack-entries");
    const VALUE: usize = crate::config::param_index("zset-max-listpack-value");
    Limits {
        max_entries: srv.config.num_at(ENTRIES).max(0) as usize,
        max_value: srv.config.num_at(VALUE).max(0) as usize,
    }
}

// ---------------------------------------------------------------------------
// Number parsing with C's strtod rules

#[inline]
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn starts_with_ic(s: &[u8], p: &[u8]) -> bool {
    s.len() >= p.len() && s[..p.len()].eq_ignore_ascii_case(p)
}

/// C `strtod` over bytes (the input ends at the first NUL, like a C
/// string). Returns (value, bytes consumed, ERANGE). Consumes nothing when
/// no number starts the input.
pub fn strtod(input: &[u8]) -> (f64, usize, bool) {
    let s = match input.iter().position(|&c| c == 0) {
        Some(n) => &input[..n],
        None => input,
    };
    let mut i = 0;
    while i < s.len() && is_space(s[i]) {
        i += 1;
    }
    let num_start = i;
    let mut neg = false;
    if let Some(&c) = s.get(i) {
        if c == b'+' || c == b'-' {
            neg = c == b'-';
            i += 1;
        }
    }
    let rest = &s[i..];
    if starts_with_ic(rest, b"inf") {
        let l = if starts_with_ic(rest, b"infinity") {
            8
        } else {
            3
        };
        let v = if neg {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
        return (v, i + l, false);
    }
    if starts_with_ic(rest, b"nan") {
        let mut l = 3;
        if rest.get(3) == Some(&b'(') {
            if let Some(close) = rest[4..]
                .iter()
                .position(|&c| !(c.is_ascii_alphanumeric() || c == b'_'))
            {
                if rest.get(4 + close) == Some(&b')') {
                    l = 4 + close + 1;
                }
            }
        }
        return (f64::NAN, i + l, false);
    }
    if rest.len() >= 2 && rest[0] == b'0' && (rest[1] | 0x20) == b'x' {
        if let Some((v, n)) = parse_hex_float(&rest[2..]) {
            let v = if neg { -v } else { v };
            let erange = v.is_infinite() || (v != 0.0 && v.abs() < f64::MIN_POSITIVE);
            return (v, i + 2 + n, erange);
        }
        // "0x" without hex digits: just the "0".
        return (if neg { -0.0 } else { 0.0 }, i + 1, false);
    }
    let mut j = 0;
    let mut digits = 0;
    let mut nonzero = false;
    while j < rest.len() && rest[j].is_ascii_digit() {
        nonzero |= rest[j] != b'0';
        j += 1;
        digits += 1;
    }
    if j < rest.len() && rest[j] == b'.' {
        j += 1;
        while j < rest.len() && rest[j].is_ascii_digit() {
            nonzero |= rest[j] != b'0';
            j += 1;
            digits += 1;
        }
    }
    if digits == 0 {
        return (0.0, 0, false);
    }
    if j < rest.len() && (rest[j] | 0x20) == b'e' {
        let mut k = j + 1;
        if k < rest.len() && (rest[k] == b'+' || rest[k] == b'-') {
            k += 1;
        }
        let exp_start = k;
        while k < rest.len() && rest[k].is_ascii_digit() {
            k += 1;
        }
        if k > exp_start {
            j = k;
        }
    }
    let text = &s[num_start..i + j];
    let v = std::str::from_utf8(text)
        .ok()
        .and_then(|t| t.parse::<f64>().ok())
        .unwrap_or(0.0);
    let erange =
        v.is_infinite() || (v == 0.0 && nonzero) || (v != 0.0 && v.abs() < f64::MIN_POSITIVE);
    (v, i + j, erange)
}

/// The part of a hex float after "0x": (value, bytes consumed).
fn parse_hex_float(s: &[u8]) -> Option<(f64, usize)> {
    let mut i = 0;
    let mut mant: u64 = 0;
    let mut exp: i64 = 0;
    let mut any = false;
    let mut frac = false;
    while let Some(&c) = s.get(i) {
        if c == b'.' && !frac {
            frac = true;
            i += 1;
            continue;
        }
        let Some(d) = (c as char).to_digit(16) else {
            break;
        };
        any = true;
        if mant >> 60 == 0 {
            mant = mant * 16 + d as u64;
            if frac {
                exp -= 4;
            }
        } else if !frac {
            exp += 4;
        }
        i += 1;
    }
    if !any {
        return None;
    }
    if let Some(&c) = s.get(i) {
        if c | 0x20 == b'p' {
            let mut k = i + 1;
            let mut eneg = false;
            if let Some(&sgn) = s.get(k) {
                if sgn == b'+' || sgn == b'-' {
                    eneg = sgn == b'-';
                    k += 1;
                }
            }
            let st = k;
            let mut e: i64 = 0;
            while let Some(&d) = s.get(k) {
                if !d.is_ascii_digit() {
                    break;
                }
                e = (e * 10 + (d - b'0') as i64).min(1 << 20);
                k += 1;
            }
            if k > st {
                exp += if eneg { -e } else { e };
                i = k;
            }
        }
    }
    let v = (mant as f64) * 2f64.powi(exp.clamp(-2000, 2000) as i32);
    Some((v, i))
}

/// `getDoubleFromObject` (`string2d`): the whole argument is a number, no
/// leading space, no overflow, not NaN.
pub fn parse_score(a: &[u8]) -> Option<f64> {
    if a.is_empty() || is_space(a[0]) {
        return None;
    }
    let (v, n, erange) = strtod(a);
    if n != a.len() || v.is_nan() || (erange && (v.is_infinite() || v == 0.0)) {
        return None;
    }
    Some(v)
}

/// One end of a score range (`zslParseRange`): strtod up to the end of the
/// C string, `(` for an exclusive bound.
fn parse_range_item(a: &[u8]) -> Option<(f64, bool)> {
    let (ex, body) = match a.first() {
        Some(b'(') => (true, &a[1..]),
        _ => (false, a),
    };
    let end = body.iter().position(|&c| c == 0).unwrap_or(body.len());
    let (v, n, _) = strtod(body);
    if n != end || v.is_nan() {
        return None;
    }
    Some((v, ex))
}

pub fn parse_score_range(min: &[u8], max: &[u8]) -> Option<ScoreRange> {
    let (min, minex) = parse_range_item(min)?;
    let (max, maxex) = parse_range_item(max)?;
    Some(ScoreRange {
        min,
        max,
        minex,
        maxex,
    })
}

/// `zslParseLexRangeItem`.
fn parse_lex_item(a: &[u8]) -> Option<LexBound> {
    let alone = a.len() == 1 || a.get(1) == Some(&0);
    match a.first() {
        Some(b'+') if alone => Some(LexBound::PosInf),
        Some(b'-') if alone => Some(LexBound::NegInf),
        Some(b'(') => Some(LexBound::Excl(a[1..].to_vec())),
        Some(b'[') => Some(LexBound::Incl(a[1..].to_vec())),
        _ => None,
    }
}

pub fn parse_lex_range(min: &[u8], max: &[u8]) -> Option<LexRange> {
    Some(LexRange {
        min: parse_lex_item(min)?,
        max: parse_lex_item(max)?,
    })
}

/// `getRangeLongFromObjectOrReply` with a custom message for both errors.
fn arg_range(a: &[u8], min: i64, max: i64, msg: &'static str) -> Result<i64, &'static str> {
    match parse_i64(a) {
        Some(v) if (min..=max).contains(&v) => Ok(v),
        _ => Err(msg),
    }
}

/// `getPositiveLongFromObjectOrReply` without a message.
fn arg_positive(a: &[u8]) -> Result<i64, &'static str> {
    arg_range(a, 0, i64::MAX, ERR_POSITIVE)
}

/// getTimeoutFromObjectOrReply (seconds): absolute deadline in unix ms,
/// None for 0 (wait forever).
fn parse_timeout(a: &[u8], now: i64) -> Result<Option<i64>, &'static str> {
    let secs = parse_score(a).ok_or("ERR timeout is not a float or out of range")?;
    let ms = secs * 1000.0;
    if ms > i64::MAX as f64 {
        return Err("ERR timeout is out of range");
    }
    let t = ms.ceil();
    if t < 0.0 {
        return Err("ERR timeout is negative");
    }
    let t = t as i64;
    if t == 0 {
        return Ok(None);
    }
    if t > i64::MAX - now {
        return Err("ERR timeout is out of range");
    }
    Ok(Some(now + t))
}

// ---------------------------------------------------------------------------
// Replies

/// Redis 7.2's `d2string`: integral values in the safe range print as
/// integers, everything else in the shortest round-trip form.
pub fn d2string(v: f64, buf: &mut [u8; 40]) -> usize {
    if v.is_finite() && v != 0.0 {
        const LIM: f64 = (i64::MAX / 2) as f64;
        if (-LIM..=LIM).contains(&v) {
            let l = v as i64;
            if l as f64 == v {
                let mut b = itoa::Buffer::new();
                let s = b.format(l).as_bytes();
                buf[..s.len()].copy_from_slice(s);
                return s.len();
            }
        }
    }
    spinel_resp::format_double(v, buf)
}

/// `addReplyDouble`.
pub fn reply_score(out: &mut ReplyBuf, v: f64) {
    let mut b = [0u8; 40];
    let n = d2string(v, &mut b);
    if out.resp3 {
        out.raw(b",");
        out.raw(&b[..n]);
        out.raw(b"\r\n");
    } else {
        out.bulk(&b[..n]);
    }
}

/// Header for `n` members, flat pairs in RESP2 / nested in RESP3.
fn reply_pairs_len(out: &mut ReplyBuf, n: usize, withscores: bool) {
    out.array(if withscores && !out.resp3 { n * 2 } else { n });
}

fn reply_pair(out: &mut ReplyBuf, m: &[u8], s: f64, withscores: bool) {
    if withscores && out.resp3 {
        out.array(2);
    }
    out.bulk(m);
    if withscores {
        reply_score(out, s);
    }
}

// ---------------------------------------------------------------------------
// Key access

/// lookupKey + checkType: Ok(None) when missing, Err when another type.
fn zset_of(v: Option<&mut spinel_keyspace::Entry>) -> Result<Option<&mut ZSetValue>, ()> {
    match v {
        None => Ok(None),
        Some(e) => match &mut e.value {
            Value::ZSet(z) => Ok(Some(z)),
            _ => Err(()),
        },
    }
}

fn zread<'a>(ks: &'a mut Access, key: &[u8]) -> Result<Option<&'a mut ZSetValue>, ()> {
    zset_of(ks.get(key))
}

fn zwrite<'a>(ks: &'a mut Access, key: &[u8]) -> Result<Option<&'a mut ZSetValue>, ()> {
    zset_of(ks.get_write(key))
}

/// Deletes a key whose sorted set became empty (with its `del` event).
fn drop_if_empty(ctx: &mut Ctx, key: &[u8], empty: bool) {
    if empty {
        ctx.ks.delete(key);
        ctx.ks.notify(notify::GENERIC, "del", key);
    }
}

// ---------------------------------------------------------------------------
// ZADD / ZINCRBY

fn zadd(ctx: &mut Ctx, argv: &[&[u8]]) {
    zadd_generic(ctx, argv, false)
}

fn zincrby(ctx: &mut Ctx, argv: &[&[u8]]) {
    zadd_generic(ctx, argv, true)
}

fn zadd_generic(ctx: &mut Ctx, argv: &[&[u8]], incr_cmd: bool) {
    let key = argv[1];
    let mut f = AddFlags {
        incr: incr_cmd,
        ..AddFlags::default()
    };
    let mut ch = false;
    let mut idx = 2;
    while let Some(&o) = argv.get(idx) {
        if eq_ic(o, "nx") {
            f.nx = true;
        } else if eq_ic(o, "xx") {
            f.xx = true;
        } else if eq_ic(o, "ch") {
            ch = true;
        } else if eq_ic(o, "incr") {
            f.incr = true;
        } else if eq_ic(o, "gt") {
            f.gt = true;
        } else if eq_ic(o, "lt") {
            f.lt = true;
        } else {
            break;
        }
        idx += 1;
    }
    let elements = argv.len() - idx;
    if elements % 2 == 1 || elements == 0 {
        ctx.out.error(ERR_SYNTAX);
        return;
    }
    let elements = elements / 2;
    if f.nx && f.xx {
        ctx.out
            .error("ERR XX and NX options at the same time are not compatible");
        return;
    }
    if (f.nx && (f.gt || f.lt)) || (f.gt && f.lt) {
        ctx.out
            .error("ERR GT, LT, and/or NX options at the same time are not compatible");
        return;
    }
    if f.incr && elements > 1 {
        ctx.out
            .error("ERR INCR option supports a single increment-element pair");
        return;
    }
    let mut scores = Vec::with_capacity(elements);
    let mut maxelelen = 0;
    for j in 0..elements {
        match parse_score(argv[idx + 2 * j]) {
            Some(s) => scores.push(s),
            None => {
                ctx.out.error(ERR_NOT_FLOAT);
                return;
            }
        }
        maxelelen = maxelelen.max(argv[idx + 2 * j + 1].len());
    }
    let lim = limits_of(ctx.srv);
    let mut exists = true;
    match zwrite(&mut ctx.ks, key) {
        Err(()) => {
            ctx.out.error(WRONGTYPE);
            return;
        }
        Ok(Some(z)) => z.maybe_convert(elements, maxelelen, lim),
        Ok(None) => exists = false,
    }
    if !exists {
        if f.xx {
            if f.incr {
                ctx.out.null();
            } else {
                ctx.out.int(0);
            }
            return;
        }
        let z = ZSetValue::create(elements, maxelelen, lim);
        ctx.ks.set(key, Value::ZSet(z));
    }
    let (mut added, mut updated, mut processed) = (0u64, 0u64, 0u64);
    let mut score = 0.0;
    let mut nan = false;
    if let Ok(Some(z)) = zwrite(&mut ctx.ks, key) {
        for (j, &s) in scores.iter().enumerate() {
            let member = argv[idx + 2 * j + 1];
            match z.add(s, member, f, lim) {
                AddOutcome::Nan => {
                    nan = true;
                    break;
                }
                AddOutcome::Added(v) => {
                    added += 1;
                    processed += 1;
                    score = v;
                }
                AddOutcome::Updated(v) => {
                    updated += 1;
                    processed += 1;
                    score = v;
                }
                AddOutcome::Same(v) => {
                    processed += 1;
                    score = v;
                }
                AddOutcome::Nop => {}
            }
        }
    }
    if !nan {
        ctx.ks.add_dirty(added + updated);
    }
    if added > 0 || updated > 0 {
        ctx.ks.modified(key);
        let ev = if f.incr { "zincr" } else { "zadd" };
        ctx.ks.notify(notify::ZSET, ev, key);
    }
    if nan {
        ctx.out.error("ERR resulting score is not a number (NaN)");
    } else if f.incr {
        if processed > 0 {
            reply_score(ctx.out, score);
        } else {
            ctx.out.null();
        }
    } else {
        ctx.out.int(if ch { added + updated } else { added } as i64);
    }
    if added > 0 {
        blocking::wake(ctx, key);
    }
}

// ---------------------------------------------------------------------------
// ZREM / ZCARD / ZSCORE / ZMSCORE / ZRANK

fn zrem(ctx: &mut Ctx, argv: &[&[u8]]) {
    let key = argv[1];
    let (deleted, empty) = match zwrite(&mut ctx.ks, key) {
        Err(()) => {
            ctx.out.error(WRONGTYPE);
            return;
        }
        Ok(None) => {
            ctx.out.int(0);
            return;
        }
        Ok(Some(z)) => {
            let mut deleted = 0u64;
            for m in &argv[2..] {
                if z.remove(m) {
                    deleted += 1;
                }
                if z.is_empty() {
                    break;
                }
            }
            (deleted, z.is_empty())
        }
    };
    if deleted > 0 {
        ctx.ks.notify(notify::ZSET, "zrem", key);
        drop_if_empty(ctx, key, empty);
        ctx.ks.modified(key);
        ctx.ks.add_dirty(deleted);
    }
    ctx.out.int(deleted as i64);
}

fn zcard(ctx: &mut Ctx, argv: &[&[u8]]) {
    match zread(&mut ctx.ks, argv[1]) {
        Err(()) => ctx.out.error(WRONGTYPE),
        Ok(None) => ctx.out.int(0),
        Ok(Some(z)) => ctx.out.int(z.len() as i64),
    }
}

fn zscore(ctx: &mut Ctx, argv: &[&[u8]]) {
    match zread(&mut ctx.ks, argv[1]) {
        Err(()) => ctx.out.error(WRONGTYPE),
        Ok(None) => ctx.out.null(),
        Ok(Some(z)) => match z.score(argv[2]) {
            Some(s) => reply_score(ctx.out, s),
            None => ctx.out.null(),
        },
    }
}

fn zmscore(ctx: &mut Ctx, argv: &[&[u8]]) {
    match zread(&mut ctx.ks, argv[1]) {
        Err(()) => ctx.out.error(WRONGTYPE),
        Ok(z) => {
            ctx.out.array(argv.len() - 2);
            for m in &argv[2..] {
                match z.as_ref().and_then(|z| z.score(m)) {
                    Some(s) => reply_score(ctx.out, s),
                    None => ctx.out.null(),
                }
            }
        }
    }
}

fn zrank(ctx: &mut Ctx, argv: &[&[u8]]) {
    zrank_generic(ctx, argv, false)
}

fn zrevrank(ctx: &mut Ctx, argv: &[&[u8]]) {
    zrank_generic(ctx, argv, true)
}

fn zrank_generic(ctx: &mut Ctx, argv: &[&[u8]], rev: bool) {
    if argv.len() > 4 {
        ctx.out.error(&crate::dispatch::arity_error(ctx.cmd.name));
        return;
    }
    let withscore = match argv.get(3) {
        None => false,
        Some(a) if eq_ic(a, "withscore") => true,
        Some(_) => {
            ctx.out.error(ERR_SYNTAX);
            return;
        }
    };
    let found = match zread(&mut ctx.ks, argv[1]) {
        Err(()) => {
            ctx.out.error(WRONGTYPE);
            return;
        }
        Ok(None) => None,
        Ok(Some(z)) => z.rank(argv[2], rev),
    };
    match found {
        Some((r, s)) => {
            if withscore {
                ctx.out.array(2);
            }
            ctx.out.int(r as i64);
            if withscore {
                reply_score(ctx.out, s);
            }
        }
        None if withscore => ctx.out.null_array(),
        None => ctx.out.null(),
    }
}

// ---------------------------------------------------------------------------
// ZCOUNT / ZLEXCOUNT

fn zcount(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(r) = parse_score_range(argv[2], argv[3]) else {
        ctx.out.error(ERR_MINMAX_FLOAT);
        return;
    };
    match zread(&mut ctx.ks, argv[1]) {
        Err(()) => ctx.out.error(WRONGTYPE),
        Ok(None) => ctx.out.int(0),
        Ok(Some(z)) => ctx.out.int(z.count_in(&r) as i64),
    }
}

fn zlexcount(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(r) = parse_lex_range(argv[2], argv[3]) else {
        ctx.out.error(ERR_MINMAX_LEX);
        return;
    };
    match zread(&mut ctx.ks, argv[1]) {
        Err(()) => ctx.out.error(WRONGTYPE),
        Ok(None) => ctx.out.int(0),
        Ok(Some(z)) => ctx.out.int(z.count_in(&r) as i64),
    }
}

// ---------------------------------------------------------------------------
// ZRANGE family

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RangeType {
    Auto,
    Rank,
    Score,
    Lex,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    Auto,
    Fwd,
    Rev,
}

enum Range {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange),
}

fn zrange(ctx: &mut Ctx, argv: &[&[u8]]) {
    zrange_generic(ctx, argv, 1, false, RangeType::Auto, Dir::Auto)
}

fn zrangestore(ctx: &mut Ctx, argv: &[&[u8]]) {
    zrange_generic(ctx, argv, 2, true, RangeType::Auto, Dir::Auto)
}

fn zrevrange(ctx: &mut Ctx, argv: &[&[u8]]) {
    zrange_generic(ctx, argv, 1, false, RangeType::Rank, Dir::Rev)
}

fn zrangebyscore(ctx: &mut Ctx, argv: &[&[u8]]) {
    zrange_generic(ctx, argv, 1, false, RangeType::Score, Dir::Fwd)
}

fn zrevrangebyscore(ctx: &mut Ctx, argv: &[&[u8]]) {
    zrange_generic(ctx, argv, 1, false, RangeType::Score, Dir::Rev)
}

fn zrangebylex(ctx: &mut Ctx, argv: &[&[u8]]) {
    zrange_generic(ctx, argv, 1, false, RangeType::Lex, Dir::Fwd)
}

fn zrevrangebylex(ctx: &mut Ctx, argv: &[&[u8]]) {
    zrange_generic(ctx, argv, 1, false, RangeType::Lex, Dir::Rev)
}

/// Sanitized 0-based inclusive rank range, or None when empty.
fn rank_span(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let llen = len as i64;
    let mut start = if start < 0 { llen + start } else { start };
    let mut end = if end < 0 { llen + end } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= llen {
        return None;
    }
    if end >= llen {
        end = llen - 1;
    }
    Some((start as usize, end as usize))
}

/// `zrangeGenericCommand`: ZRANGE, ZRANGESTORE and the older forms.
fn zrange_generic(
    ctx: &mut Ctx,
    argv: &[&[u8]],
    argc_start: usize,
    store: bool,
    mut rt: RangeType,
    mut dir: Dir,
) {
    let key = argv[argc_start];
    let mut minidx = argc_start + 1;
    let mut maxidx = argc_start + 2;
    let mut withscores = false;
    let mut offset: i64 = 0;
    let mut limit: i64 = -1;
    let mut j = argc_start + 3;
    while j < argv.len() {
        let left = argv.len() - j - 1;
        let a = argv[j];
        if !store && eq_ic(a, "withscores") {
            withscores = true;
        } else if eq_ic(a, "limit") && left >= 2 {
            match (parse_i64(argv[j + 1]), parse_i64(argv[j + 2])) {
                (Some(o), Some(l)) => {
                    offset = o;
                    limit = l;
                }
                _ => {
                    ctx.out.error(ERR_NOT_INT);
                    return;
                }
            }
            j += 2;
        } else if dir == Dir::Auto && eq_ic(a, "rev") {
            dir = Dir::Rev;
        } else if rt == RangeType::Auto && eq_ic(a, "bylex") {
            rt = RangeType::Lex;
        } else if rt == RangeType::Auto && eq_ic(a, "byscore") {
            rt = RangeType::Score;
        } else {
            ctx.out.error(ERR_SYNTAX);
            return;
        }
        j += 1;
    }
    if dir == Dir::Auto {
        dir = Dir::Fwd;
    }
    if rt == RangeType::Auto {
        rt = RangeType::Rank;
    }
    if limit != -1 && rt == RangeType::Rank {
        ctx.out.error(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        );
        return;
    }
    if withscores && rt == RangeType::Lex {
        ctx.out
            .error("ERR syntax error, WITHSCORES not supported in combination with BYLEX");
        return;
    }
    let rev = dir == Dir::Rev;
    if rev && rt != RangeType::Rank {
        std::mem::swap(&mut minidx, &mut maxidx);
    }
    let range = match rt {
        RangeType::Score => match parse_score_range(argv[minidx], argv[maxidx]) {
            Some(r) => Range::Score(r),
            None => {
                ctx.out.error(ERR_MINMAX_FLOAT);
                return;
            }
        },
        RangeType::Lex => match parse_lex_range(argv[minidx], argv[maxidx]) {
            Some(r) => Range::Lex(r),
            None => {
                ctx.out.error(ERR_MINMAX_LEX);
                return;
            }
        },
        _ => match (parse_i64(argv[minidx]), parse_i64(argv[maxidx])) {
            (Some(a), Some(b)) => Range::Rank(a, b),
            _ => {
                ctx.out.error(ERR_NOT_INT);
                return;
            }
        },
    };
    if store {
        let mut items: Vec<(Vec<u8>, f64)> = Vec::new();
        match zread(&mut ctx.ks, key) {
            Err(()) => {
                ctx.out.error(WRONGTYPE);
                return;
            }
            Ok(None) => {}
            Ok(Some(z)) => {
                let mut push = |m: &[u8], s: f64| items.push((m.to_vec(), s));
                run_range(z, &range, rev, offset, limit, &mut push);
            }
        }
        let hint = match range {
            Range::Rank(..) => items.len(),
            _ => 0,
        };
        store_result(ctx, argv[1], items, "zrangestore", Some(hint));
        return;
    }
    let out = &mut *ctx.out;
    let z = match zread(&mut ctx.ks, key) {
        Err(()) => {
            out.error(WRONGTYPE);
            return;
        }
        Ok(None) => {
            out.array(0);
            return;
        }
        Ok(Some(z)) => z,
    };
    if let Range::Rank(a, b) = range {
        match rank_span(a, b, z.len()) {
            None => out.array(0),
            Some((s, e)) => {
                reply_pairs_len(out, e - s + 1, withscores);
                z.range_by_rank(s, e, rev, |m, sc| reply_pair(out, m, sc, withscores));
            }
        }
        return;
    }
    let d = out.deferred_array();
    let mut emit = |m: &[u8], s: f64| reply_pair(out, m, s, withscores);
    let n = run_range(z, &range, rev, offset, limit, &mut emit);
    let n = if withscores && !out.resp3 { n * 2 } else { n };
    out.finish_array(d, n);
}

/// Runs a parsed range over `z`, returning the number of elements visited.
fn run_range(
    z: &ZSetValue,
    range: &Range,
    rev: bool,
    offset: i64,
    limit: i64,
    f: &mut dyn FnMut(&[u8], f64),
) -> usize {
    match range {
        Range::Rank(a, b) => match rank_span(*a, *b, z.len()) {
            None => 0,
            Some((s, e)) => {
                z.range_by_rank(s, e, rev, |m, sc| f(m, sc));
                e - s + 1
            }
        },
        Range::Score(r) => run_limited(z, r, rev, offset, limit, f),
        Range::Lex(r) => run_limited(z, r, rev, offset, limit, f),
    }
}

fn run_limited<R: RangeSpec>(
    z: &ZSetValue,
    r: &R,
    rev: bool,
    offset: i64,
    limit: i64,
    f: &mut dyn FnMut(&[u8], f64),
) -> usize {
    // A negative offset walks off the end in Redis: nothing is returned.
    if offset < 0 || (offset > 0 && offset as u64 >= z.len() as u64) {
        return 0;
    }
    z.range(r, rev, offset as usize, limit, |m, s| f(m, s))
}

/// Stores a result set (sorted, distinct) under `dst`, or deletes `dst` when
/// it is empty; replies with the cardinality (ZRANGESTORE, Z*STORE).
fn store_result(
    ctx: &mut Ctx,
    dst: &[u8],
    mut items: Vec<(Vec<u8>, f64)>,
    event: &str,
    sequential: Option<usize>,
) {
    if items.is_empty() {
        if ctx.ks.delete(dst) {
            ctx.ks.notify(notify::GENERIC, "del", dst);
            ctx.ks.add_dirty(1);
        }
        ctx.out.int(0);
        return;
    }
    let lim = limits_of(ctx.srv);
    let n = items.len();
    let z = match sequential {
        // ZRANGESTORE adds the elements one by one in emission order to a
        // set created for `hint` members (a listpack stores -0 as 0 until
        // the set converts).
        Some(hint) => {
            let mut z = ZSetValue::create(hint, 0, lim);
            for (m, s) in &items {
                z.insert(*s, m, lim);
            }
            z
        }
        None => {
            if !items
                .windows(2)
                .all(|w| cmp_pairs(&w[0], &w[1]) == Ordering::Less)
            {
                items.sort_by(cmp_pairs);
            }
            ZSetValue::from_sorted(items.iter().map(|(m, s)| (m.as_slice(), *s)), lim)
        }
    };
    ctx.ks.set(dst, Value::ZSet(z));
    ctx.ks.notify(notify::ZSET, event, dst);
    ctx.ks.add_dirty(1);
    ctx.out.int(n as i64);
    blocking::wake(ctx, dst);
}

// ---------------------------------------------------------------------------
// ZREMRANGEBY*

fn zremrangebyrank(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (Some(a), Some(b)) = (parse_i64(argv[2]), parse_i64(argv[3])) else {
        ctx.out.error(ERR_NOT_INT);
        return;
    };
    zremrange_generic(ctx, argv[1], Range::Rank(a, b), "zremrangebyrank");
}

fn zremrangebyscore(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(r) = parse_score_range(argv[2], argv[3]) else {
        ctx.out.error(ERR_MINMAX_FLOAT);
        return;
    };
    zremrange_generic(ctx, argv[1], Range::Score(r), "zremrangebyscore");
}

fn zremrangebylex(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(r) = parse_lex_range(argv[2], argv[3]) else {
        ctx.out.error(ERR_MINMAX_LEX);
        return;
    };
    zremrange_generic(ctx, argv[1], Range::Lex(r), "zremrangebylex");
}

fn zremrange_generic(ctx: &mut Ctx, key: &[u8], range: Range, event: &str) {
    let (deleted, empty) = match zwrite(&mut ctx.ks, key) {
        Err(()) => {
            ctx.out.error(WRONGTYPE);
            return;
        }
        Ok(None) => {
            ctx.out.int(0);
            return;
        }
        Ok(Some(z)) => {
            let n = match &range {
                Range::Rank(a, b) => match rank_span(*a, *b, z.len()) {
                    None => {
                        ctx.out.int(0);
                        return;
                    }
                    Some((s, e)) => z.remove_range_by_rank(s, e),
                },
                Range::Score(r) => z.remove_range(r),
                Range::Lex(r) => z.remove_range(r),
            };
            (n, z.is_empty())
        }
    };
    if deleted > 0 {
        drop_if_empty_after(ctx, key, empty, event);
        ctx.ks.add_dirty(deleted as u64);
    }
    ctx.out.int(deleted as i64);
}

/// signalModifiedKey + the command's event (+ `del` when emptied).
fn drop_if_empty_after(ctx: &mut Ctx, key: &[u8], empty: bool, event: &str) {
    if empty {
        ctx.ks.delete(key);
    }
    ctx.ks.modified(key);
    ctx.ks.notify(notify::ZSET, event, key);
    if empty {
        ctx.ks.notify(notify::GENERIC, "del", key);
    }
}

// ---------------------------------------------------------------------------
// Pops

/// Reply shapes of `genericZpopCommand`.
#[derive(Debug, Clone, Copy)]
struct PopShape {
    /// Emit the key name (BZPOP*, ZMPOP, BZMPOP).
    emitkey: bool,
    /// Each member/score pair as its own array.
    nested: bool,
}

enum Popped {
    Missing,
    WrongType,
    /// Popped this many elements.
    Done(usize),
}

/// How a pop is propagated (Redis 7.2): BZPOPMIN/BZPOPMAX as
/// `ZPOPMIN|ZPOPMAX key`, ZMPOP/BZMPOP as `ZPOPMIN|ZPOPMAX key <popped>`;
/// plain ZPOPMIN/ZPOPMAX as themselves (`None`).
fn pop_effect(
    key: &[u8],
    max: bool,
    count: i64,
    n: usize,
    shape: PopShape,
) -> Option<Vec<Vec<u8>>> {
    if !shape.emitkey || n == 0 {
        return None;
    }
    let name: &[u8] = if max { b"ZPOPMAX" } else { b"ZPOPMIN" };
    let mut v = vec![name.to_vec(), key.to_vec()];
    if count >= 0 {
        v.push(n.to_string().into_bytes());
    }
    Some(v)
}

fn as_slices(v: &[Vec<u8>]) -> smallvec::SmallVec<[&[u8]; 4]> {
    v.iter().map(|a| a.as_slice()).collect()
}

/// Pops up to `count` (-1: a single element, plain form) from `key`,
/// writing the reply; events, dirty and key deletion included. Written
/// against `KeyStore` so blocked clients are served by the same code.
fn pop_key(
    ks: &mut dyn KeyStore,
    key: &[u8],
    max: bool,
    count: i64,
    shape: PopShape,
    out: &mut ReplyBuf,
) -> Popped {
    let (items, empty) = {
        let z = match ks.entry(key) {
            None => return Popped::Missing,
            Some(e) => match &mut e.value {
                Value::ZSet(z) => z,
                _ => return Popped::WrongType,
            },
        };
        if count == 0 {
            out.array(0);
            return Popped::Done(0);
        }
        let n = if count < 0 {
            1
        } else {
            (count as u64).min(z.len() as u64) as usize
        };
        let mut items = Vec::with_capacity(n);
        for _ in 0..n {
            match z.pop(max) {
                Some(p) => items.push(p),
                None => break,
            }
        }
        (items, z.is_empty())
    };
    let n = items.len();
    ks.add_dirty(n as u64);
    if n > 0 {
        ks.notify(notify::ZSET, if max { "zpopmax" } else { "zpopmin" }, key);
    }
    match (shape.emitkey, shape.nested) {
        (false, false) => out.array(n * 2),
        (false, true) => out.array(n),
        (true, false) => {
            out.array(n * 2 + 1);
            out.bulk(key);
        }
        (true, true) => {
            out.array(2);
            out.bulk(key);
            out.array(n);
        }
    }
    for (m, s) in &items {
        if shape.nested {
            out.array(2);
        }
        out.bulk(m);
        reply_score(out, *s);
    }
    if empty {
        ks.remove(key);
        ks.notify(notify::GENERIC, "del", key);
    }
    ks.modified(key);
    Popped::Done(n)
}

fn zpopmin(ctx: &mut Ctx, argv: &[&[u8]]) {
    zpop_minmax(ctx, argv, false)
}

fn zpopmax(ctx: &mut Ctx, argv: &[&[u8]]) {
    zpop_minmax(ctx, argv, true)
}

fn zpop_minmax(ctx: &mut Ctx, argv: &[&[u8]], max: bool) {
    if argv.len() > 3 {
        ctx.out.error(ERR_SYNTAX);
        return;
    }
    let mut count = -1;
    if let Some(a) = argv.get(2) {
        match arg_positive(a) {
            Ok(c) => count = c,
            Err(e) => {
                ctx.out.error(e);
                return;
            }
        }
    }
    let shape = PopShape {
        emitkey: false,
        nested: ctx.out.resp3 && count != -1,
    };
    match pop_key(&mut ctx.ks, argv[1], max, count, shape, ctx.out) {
        Popped::Missing => ctx.out.array(0),
        Popped::WrongType => ctx.out.error(WRONGTYPE),
        Popped::Done(_) => {}
    }
}

/// ZMPOP/BZMPOP arguments.
struct MpopArgs<'a> {
    keys: &'a [&'a [u8]],
    max: bool,
    count: i64,
}

fn parse_mpop<'a>(argv: &'a [&'a [u8]], numkeys_idx: usize) -> Result<MpopArgs<'a>, &'static str> {
    let numkeys = arg_range(
        argv.get(numkeys_idx).copied().unwrap_or(b""),
        1,
        i64::MAX,
        "ERR numkeys should be greater than 0",
    )?;
    let where_idx = (numkeys_idx as u64)
        .saturating_add(numkeys as u64)
        .saturating_add(1);
    if where_idx >= argv.len() as u64 {
        return Err(ERR_SYNTAX);
    }
    let where_idx = where_idx as usize;
    let w = argv[where_idx];
    let max = if eq_ic(w, "min") {
        false
    } else if eq_ic(w, "max") {
        true
    } else {
        return Err(ERR_SYNTAX);
    };
    let mut count = -1;
    let mut j = where_idx + 1;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        if count == -1 && eq_ic(argv[j], "count") && more > 0 {
            j += 1;
            count = arg_range(argv[j], 1, i64::MAX, "ERR count should be greater than 0")?;
        } else {
            return Err(ERR_SYNTAX);
        }
        j += 1;
    }
    if count == -1 {
        count = 1;
    }
    Ok(MpopArgs {
        keys: &argv[numkeys_idx + 1..where_idx],
        max,
        count,
    })
}

const KEYED_NESTED: PopShape = PopShape {
    emitkey: true,
    nested: true,
};

fn zmpop(ctx: &mut Ctx, argv: &[&[u8]]) {
    let a = match parse_mpop(argv, 1) {
        Ok(a) => a,
        Err(e) => {
            ctx.out.error(e);
            return;
        }
    };
    for k in a.keys {
        match pop_key(&mut ctx.ks, k, a.max, a.count, KEYED_NESTED, ctx.out) {
            Popped::Missing => continue,
            Popped::WrongType => ctx.out.error(WRONGTYPE),
            Popped::Done(n) => {
                if let Some(v) = pop_effect(k, a.max, a.count, n, KEYED_NESTED) {
                    crate::propagate::rewrite(&as_slices(&v));
                }
            }
        }
        return;
    }
    ctx.out.null_array();
}

/// A client blocked in BZPOPMIN/BZPOPMAX/BZMPOP.
struct ZPopWaiter {
    max: bool,
    count: i64,
    shape: PopShape,
}

impl Op for ZPopWaiter {
    fn ready(&self, v: &Value) -> bool {
        matches!(v, Value::ZSet(z) if !z.is_empty())
    }

    fn serve(&self, ks: &mut dyn KeyStore, key: &[u8], out: &mut ReplyBuf) -> Served {
        match pop_key(ks, key, self.max, self.count, self.shape, out) {
            Popped::Done(n) => {
                if let Some(v) = pop_effect(key, self.max, self.count, n, self.shape) {
                    crate::propagate::served(ks.db(), &as_slices(&v));
                }
            }
            Popped::WrongType => out.error(WRONGTYPE),
            Popped::Missing => out.null_array(),
        }
        Served::Done
    }
}

fn bzpopmin(ctx: &mut Ctx, argv: &[&[u8]]) {
    bzpop(ctx, argv, false)
}

fn bzpopmax(ctx: &mut Ctx, argv: &[&[u8]]) {
    bzpop(ctx, argv, true)
}

fn bzpop(ctx: &mut Ctx, argv: &[&[u8]], max: bool) {
    let Some(&last) = argv.last() else {
        return;
    };
    let deadline = match parse_timeout(last, ctx.ks.now) {
        Ok(d) => d,
        Err(e) => {
            ctx.out.error(e);
            return;
        }
    };
    let shape = PopShape {
        emitkey: true,
        nested: false,
    };
    block_pop(ctx, &argv[1..argv.len() - 1], max, -1, shape, deadline);
}

fn bzmpop(ctx: &mut Ctx, argv: &[&[u8]]) {
    let deadline = match parse_timeout(argv[1], ctx.ks.now) {
        Ok(d) => d,
        Err(e) => {
            ctx.out.error(e);
            return;
        }
    };
    let a = match parse_mpop(argv, 2) {
        Ok(a) => a,
        Err(e) => {
            ctx.out.error(e);
            return;
        }
    };
    block_pop(ctx, a.keys, a.max, a.count, KEYED_NESTED, deadline);
}

/// `blockingGenericZpopCommand`: pops from the first non-empty key, or
/// parks the client.
fn block_pop(
    ctx: &mut Ctx,
    keys: &[&[u8]],
    max: bool,
    count: i64,
    shape: PopShape,
    deadline: Option<i64>,
) {
    for k in keys {
        match pop_key(&mut ctx.ks, k, max, count, shape, ctx.out) {
            Popped::Missing => continue,
            Popped::WrongType => ctx.out.error(WRONGTYPE),
            Popped::Done(n) => {
                if let Some(v) = pop_effect(k, max, count, n, shape) {
                    crate::propagate::rewrite(&as_slices(&v));
                }
            }
        }
        return;
    }
    if !blocking::may_block(ctx) {
        ctx.out.null_array();
        return;
    }
    blocking::block(
        ctx,
        keys,
        Box::new(ZPopWaiter { max, count, shape }),
        deadline,
    );
}

// ---------------------------------------------------------------------------
// ZUNION / ZINTER / ZDIFF (+STORE), ZINTERCARD

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

#[inline]
fn aggregate(target: &mut f64, val: f64, a: Aggregate) {
    match a {
        Aggregate::Sum => {
            *target += val;
            // +inf + -inf: Redis keeps 0.
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Aggregate::Min => {
            if val < *target {
                *target = val;
            }
        }
        Aggregate::Max => {
            if val > *target {
                *target = val;
            }
        }
    }
}

/// One input of a set operation.
struct Src<'a> {
    key: &'a [u8],
    len: usize,
    weight: f64,
}

/// Visits a source's members (a set's members score 1).
fn src_each(ks: &mut Access, key: &[u8], mut f: impl FnMut(&[u8], f64)) {
    let Some(e) = ks.get_write(key) else {
        return;
    };
    match &e.value {
        Value::ZSet(z) => {
            for (m, s) in z.iter() {
                f(m, s);
            }
        }
        Value::Set(st) => {
            for m in st.iter() {
                m.with_bytes(|b| f(b, 1.0));
            }
        }
        _ => {}
    }
}

/// Keeps the candidates found in source `key` (`f` gets their score there).
fn src_filter(
    ks: &mut Access,
    key: &[u8],
    cands: &mut Vec<(Vec<u8>, f64)>,
    mut f: impl FnMut(&mut f64, Option<f64>) -> bool,
) {
    let Some(e) = ks.get_write(key) else {
        cands.retain_mut(|c| f(&mut c.1, None));
        return;
    };
    match &e.value {
        Value::ZSet(z) => cands.retain_mut(|c| f(&mut c.1, z.score(&c.0))),
        Value::Set(st) => cands.retain_mut(|c| f(&mut c.1, st.contains(&c.0).then_some(1.0))),
        _ => cands.retain_mut(|c| f(&mut c.1, None)),
    }
}

fn cmp_pairs(a: &(Vec<u8>, f64), b: &(Vec<u8>, f64)) -> Ordering {
    a.1.partial_cmp(&b.1)
        .unwrap_or(Ordering::Equal)
        .then_with(|| a.0.cmp(&b.0))
}

fn zunion(ctx: &mut Ctx, argv: &[&[u8]]) {
    setop_generic(ctx, argv, None, 1, SetOp::Union, false)
}

fn zinter(ctx: &mut Ctx, argv: &[&[u8]]) {
    setop_generic(ctx, argv, None, 1, SetOp::Inter, false)
}

fn zdiff(ctx: &mut Ctx, argv: &[&[u8]]) {
    setop_generic(ctx, argv, None, 1, SetOp::Diff, false)
}

fn zunionstore(ctx: &mut Ctx, argv: &[&[u8]]) {
    setop_generic(ctx, argv, Some(argv[1]), 2, SetOp::Union, false)
}

fn zinterstore(ctx: &mut Ctx, argv: &[&[u8]]) {
    setop_generic(ctx, argv, Some(argv[1]), 2, SetOp::Inter, false)
}

fn zdiffstore(ctx: &mut Ctx, argv: &[&[u8]]) {
    setop_generic(ctx, argv, Some(argv[1]), 2, SetOp::Diff, false)
}

fn zintercard(ctx: &mut Ctx, argv: &[&[u8]]) {
    setop_generic(ctx, argv, None, 1, SetOp::Inter, true)
}

/// `zunionInterDiffGenericCommand`.
fn setop_generic(
    ctx: &mut Ctx,
    argv: &[&[u8]],
    dst: Option<&[u8]>,
    numkeys_idx: usize,
    op: SetOp,
    card_only: bool,
) {
    let setnum = match parse_i64(argv[numkeys_idx]) {
        Some(n) => n,
        None => {
            ctx.out.error(ERR_NOT_INT);
            return;
        }
    };
    if setnum < 1 {
        ctx.out.error(&format!(
            "ERR at least 1 input key is needed for '{}' command",
            ctx.cmd.name
        ));
        return;
    }
    if setnum as u64 > (argv.len() - (numkeys_idx + 1)) as u64 {
        ctx.out.error(ERR_SYNTAX);
        return;
    }
    let setnum = setnum as usize;
    let mut srcs: Vec<Src> = Vec::with_capacity(setnum);
    for k in &argv[numkeys_idx + 1..numkeys_idx + 1 + setnum] {
        let len = match ctx.ks.get(k) {
            None => 0,
            Some(e) => match &e.value {
                Value::ZSet(z) => z.len(),
                Value::Set(s) => s.len(),
                _ => {
                    ctx.out.error(WRONGTYPE);
                    return;
                }
            },
        };
        srcs.push(Src {
            key: k,
            len,
            weight: 1.0,
        });
    }
    let mut agg = Aggregate::Sum;
    let mut withscores = false;
    let mut limit: i64 = 0;
    let mut j = numkeys_idx + 1 + setnum;
    while j < argv.len() {
        let remaining = argv.len() - j;
        let a = argv[j];
        if op != SetOp::Diff && !card_only && remaining > setnum && eq_ic(a, "weights") {
            j += 1;
            for s in srcs.iter_mut() {
                match parse_score(argv[j]) {
                    Some(w) => s.weight = w,
                    None => {
                        ctx.out.error("ERR weight value is not a float");
                        return;
                    }
                }
                j += 1;
            }
        } else if op != SetOp::Diff && !card_only && remaining >= 2 && eq_ic(a, "aggregate") {
            let v = argv[j + 1];
            agg = if eq_ic(v, "sum") {
                Aggregate::Sum
            } else if eq_ic(v, "min") {
                Aggregate::Min
            } else if eq_ic(v, "max") {
                Aggregate::Max
            } else {
                ctx.out.error(ERR_SYNTAX);
                return;
            };
            j += 2;
        } else if dst.is_none() && !card_only && eq_ic(a, "withscores") {
            withscores = true;
            j += 1;
        } else if card_only && remaining >= 2 && eq_ic(a, "limit") {
            match arg_range(argv[j + 1], 0, i64::MAX, "ERR LIMIT can't be negative") {
                Ok(l) => limit = l,
                Err(e) => {
                    ctx.out.error(e);
                    return;
                }
            }
            j += 2;
        } else {
            ctx.out.error(ERR_SYNTAX);
            return;
        }
    }
    if op != SetOp::Diff {
        srcs.sort_by_key(|s| s.len);
    }
    let mut result: Vec<(Vec<u8>, f64)> = match op {
        SetOp::Union => {
            let cap = srcs.last().map(|s| s.len).unwrap_or(0);
            let mut acc: HashMap<Vec<u8>, f64, ahash::RandomState> =
                HashMap::with_capacity_and_hasher(cap, ahash::RandomState::new());
            for s in &srcs {
                if s.len == 0 {
                    continue;
                }
                let w = s.weight;
                src_each(&mut ctx.ks, s.key, |m, sc| {
                    let mut score = w * sc;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    match acc.get_mut(m) {
                        Some(t) => aggregate(t, score, agg),
                        None => {
                            acc.insert(m.to_vec(), score);
                        }
                    }
                });
            }
            acc.into_iter().collect()
        }
        SetOp::Inter => {
            let mut cands: Vec<(Vec<u8>, f64)> = Vec::new();
            if srcs.first().map(|s| s.len).unwrap_or(0) > 0 {
                let w0 = srcs[0].weight;
                src_each(&mut ctx.ks, srcs[0].key, |m, sc| {
                    let mut score = w0 * sc;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    cands.push((m.to_vec(), score));
                });
                for s in &srcs[1..] {
                    if cands.is_empty() {
                        break;
                    }
                    let w = s.weight;
                    src_filter(&mut ctx.ks, s.key, &mut cands, |acc, v| match v {
                        Some(v) => {
                            aggregate(acc, v * w, agg);
                            true
                        }
                        None => false,
                    });
                }
            }
            cands
        }
        SetOp::Diff => {
            let mut cands: Vec<(Vec<u8>, f64)> = Vec::new();
            if srcs.first().map(|s| s.len).unwrap_or(0) > 0 {
                src_each(&mut ctx.ks, srcs[0].key, |m, sc| {
                    cands.push((m.to_vec(), sc))
                });
                for s in &srcs[1..] {
                    if cands.is_empty() {
                        break;
                    }
                    if s.len == 0 {
                        continue;
                    }
                    src_filter(&mut ctx.ks, s.key, &mut cands, |_, v| v.is_none());
                }
            }
            cands
        }
    };
    if card_only {
        let n = result.len() as u64;
        let n = if limit > 0 { n.min(limit as u64) } else { n };
        ctx.out.int(n as i64);
        return;
    }
    match dst {
        Some(d) => {
            let ev = match op {
                SetOp::Union => "zunionstore",
                SetOp::Inter => "zinterstore",
                SetOp::Diff => "zdiffstore",
            };
            store_result(ctx, d, result, ev, None);
        }
        None => {
            result.sort_by(cmp_pairs);
            reply_pairs_len(ctx.out, result.len(), withscores);
            for (m, s) in &result {
                reply_pair(ctx.out, m, *s, withscores);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// ZRANDMEMBER

/// Largest reply ZRANDMEMBER builds before giving up on the client (Redis
/// would be stopped by the output buffer limits).
const RAND_REPLY_MAX: usize = 512 << 20;

fn zrandmember(ctx: &mut Ctx, argv: &[&[u8]]) {
    if argv.len() >= 3 {
        let Some(l) = parse_i64(argv[2]) else {
            ctx.out.error(ERR_NOT_INT);
            return;
        };
        if l == i64::MIN {
            ctx.out.error(
                "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
            );
            return;
        }
        if argv.len() > 4 || (argv.len() == 4 && !eq_ic(argv[3], "withscores")) {
            ctx.out.error(ERR_SYNTAX);
            return;
        }
        let withscores = argv.len() == 4;
        if withscores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&l) {
            ctx.out.error("ERR value is out of range");
            return;
        }
        zrandmember_count(ctx, argv[1], l, withscores);
        return;
    }
    let mut rng = rand::thread_rng();
    match zread(&mut ctx.ks, argv[1]) {
        Err(()) => ctx.out.error(WRONGTYPE),
        Ok(None) => ctx.out.null(),
        Ok(Some(z)) => match z.random(&mut rng) {
            Some((m, _)) => ctx.out.bulk(m),
            None => ctx.out.null(),
        },
    }
}

fn zrandmember_count(ctx: &mut Ctx, key: &[u8], l: i64, withscores: bool) {
    let out = &mut *ctx.out;
    let z = match zread(&mut ctx.ks, key) {
        Err(()) => {
            out.error(WRONGTYPE);
            return;
        }
        Ok(None) => {
            out.array(0);
            return;
        }
        Ok(Some(z)) => z,
    };
    let size = z.len();
    let uniq = l >= 0;
    let count = l.unsigned_abs();
    if count == 0 || size == 0 {
        out.array(0);
        return;
    }
    let mut rng = rand::thread_rng();
    // Case 1: repetitions allowed (or a single element).
    if !uniq || count == 1 {
        let start = out.len();
        reply_pairs_len(out, count as usize, withscores);
        for _ in 0..count {
            if let Some((m, s)) = z.random(&mut rng) {
                reply_pair(out, m, s, withscores);
            }
            if out.len() - start > RAND_REPLY_MAX {
                out.buf.truncate(start);
                ctx.client.close_after_reply = true;
                return;
            }
        }
        return;
    }
    // Case 2: the whole set (Redis walks it from the highest element).
    if count >= size as u64 {
        reply_pairs_len(out, size, withscores);
        z.range_by_rank(0, size - 1, true, |m, s| reply_pair(out, m, s, withscores));
        return;
    }
    let count = count as usize;
    reply_pairs_len(out, count, withscores);
    if z.is_listpack() {
        // Case 2.5: distinct members in set order (selection sampling).
        let mut need = count;
        let mut left = size;
        for (m, s) in z.iter() {
            if need == 0 {
                break;
            }
            if rng.gen_range(0..left) < need {
                reply_pair(out, m, s, withscores);
                need -= 1;
            }
            left -= 1;
        }
        return;
    }
    if count * 3 > size {
        // Case 3: a random subset of ranks by partial shuffle.
        let mut ranks: Vec<usize> = (0..size).collect();
        for i in 0..count {
            let j = rng.gen_range(i..size);
            ranks.swap(i, j);
        }
        for &r in &ranks[..count] {
            if let Some((m, s)) = z.get_by_rank(r) {
                reply_pair(out, m, s, withscores);
            }
        }
    } else {
        // Case 4: random ranks until enough distinct ones.
        let mut seen: HashSet<usize> = HashSet::with_capacity(count);
        while seen.len() < count {
            let r = rng.gen_range(0..size);
            if seen.insert(r) {
                if let Some((m, s)) = z.get_by_rank(r) {
                    reply_pair(out, m, s, withscores);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// ZSCAN

fn zscan(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(mut cursor) = parse_scan_cursor(argv[2]) else {
        ctx.out.error("ERR invalid cursor");
        return;
    };
    let out = &mut *ctx.out;
    let z = match zread(&mut ctx.ks, argv[1]) {
        Err(()) => {
            out.error(WRONGTYPE);
            return;
        }
        Ok(None) => {
            out.array(2);
            out.bulk(b"0");
            out.array(0);
            return;
        }
        Ok(Some(z)) => z,
    };
    let mut count: i64 = 10;
    let mut pat: Option<&[u8]> = None;
    let mut i = 3;
    while i < argv.len() {
        let left = argv.len() - i;
        if eq_ic(argv[i], "count") && left >= 2 {
            match parse_i64(argv[i + 1]) {
                None => {
                    out.error(ERR_NOT_INT);
                    return;
                }
                Some(c) if c < 1 => {
                    out.error(ERR_SYNTAX);
                    return;
                }
                Some(c) => count = c,
            }
            i += 2;
        } else if eq_ic(argv[i], "match") && left >= 2 {
            let p = argv[i + 1];
            pat = if p == b"*" { None } else { Some(p) };
            i += 2;
        } else {
            out.error(ERR_SYNTAX);
            return;
        }
    }
    let mut items: Vec<(Vec<u8>, f64)> = Vec::new();
    if z.is_listpack() {
        cursor = z.scan_step(cursor, |m, s| items.push((m.to_vec(), s)));
    } else {
        let mut maxiter = count.saturating_mul(10);
        loop {
            cursor = z.scan_step(cursor, |m, s| items.push((m.to_vec(), s)));
            maxiter -= 1;
            if cursor == 0 || maxiter <= 0 || items.len() as i64 >= count {
                break;
            }
        }
    }
    if let Some(p) = pat {
        items.retain(|(m, _)| glob_match(p, m, false));
    }
    out.array(2);
    let mut cb = itoa::Buffer::new();
    out.bulk(cb.format(cursor).as_bytes());
    out.array(items.len() * 2);
    let mut b = [0u8; 40];
    let skiplist = !z.is_listpack();
    for (m, s) in &items {
        out.bulk(m);
        if skiplist {
            // Redis formats hashtable-held scores with ld2string(LD_STR_AUTO),
            // i.e. "%.17Lg"; listpack scores come out as stored.
            out.bulk(fmt_g17(*s).as_bytes());
        } else {
            let n = d2string(*s, &mut b);
            out.bulk(&b[..n]);
        }
    }
}

/// C's `%.17g` (the digits `%.17Lg` prints for a double).
pub fn fmt_g17(v: f64) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if v == 0.0 {
        return if v.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let e = format!("{:.16e}", v);
    let (mant, exp) = e.split_once('e').unwrap_or((e.as_str(), "0"));
    let x: i32 = exp.parse().unwrap_or(0);
    fn trim(s: &str) -> &str {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.')
        } else {
            s
        }
    }
    if (-4..17).contains(&x) {
        let fixed = format!("{:.*}", (16 - x) as usize, v);
        trim(&fixed).to_string()
    } else {
        let sign = if x < 0 { '-' } else { '+' };
        format!("{}e{}{:02}", trim(mant), sign, x.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g17() {
        assert_eq!(fmt_g17(29.21), "29.210000000000001");
        assert_eq!(fmt_g17(0.1), "0.10000000000000001");
        assert_eq!(fmt_g17(1.0), "1");
        assert_eq!(fmt_g17(1.5e300), "1.5000000000000001e+300");
        assert_eq!(fmt_g17(1e-5), "1.0000000000000001e-05");
        assert_eq!(fmt_g17(-3.0), "-3");
        assert_eq!(fmt_g17(1e17), "1e+17");
    }

    #[test]
    fn strtod_forms() {
        assert_eq!(strtod(b"1.5"), (1.5, 3, false));
        assert_eq!(strtod(b"  -2e3x"), (-2000.0, 6, false));
        assert_eq!(strtod(b"1e"), (1.0, 1, false));
        assert_eq!(strtod(b"abc").1, 0);
        assert_eq!(strtod(b"").1, 0);
        assert_eq!(strtod(b"0x10"), (16.0, 4, false));
        assert_eq!(strtod(b"0x1p4"), (16.0, 5, false));
        assert_eq!(strtod(b"0x"), (0.0, 1, false));
        assert_eq!(strtod(b"-inf").0, f64::NEG_INFINITY);
        assert_eq!(strtod(b"Infinity").1, 8);
        assert!(strtod(b"nan").0.is_nan());
        assert!(strtod(b"1e400").2);
        assert!(strtod(b"1e-400").2);
        assert!(!strtod(b"0e-400").2);
        assert_eq!(strtod(b"1\0junk"), (1.0, 1, false));
    }

    #[test]
    fn score_args() {
        assert_eq!(parse_score(b"1"), Some(1.0));
        assert_eq!(parse_score(b"+1"), Some(1.0));
        assert_eq!(parse_score(b".5"), Some(0.5));
        assert_eq!(parse_score(b"1."), Some(1.0));
        assert_eq!(parse_score(b"0x10"), Some(16.0));
        assert_eq!(parse_score(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_score(b" 1"), None);
        assert_eq!(parse_score(b"1 "), None);
        assert_eq!(parse_score(b""), None);
        assert_eq!(parse_score(b"nan"), None);
        assert_eq!(parse_score(b"1e400"), None);
        assert_eq!(parse_score(b"1e-400"), None);
        assert_eq!(parse_score(b"1e-320"), Some(1e-320));
        assert_eq!(parse_score(b"abc"), None);
    }

    #[test]
    fn ranges() {
        let r = parse_score_range(b"(1.5", b"+inf").unwrap();
        assert!(r.minex && !r.maxex && r.min == 1.5 && r.max == f64::INFINITY);
        assert!(parse_score_range(b"x", b"1").is_none());
        assert!(parse_score_range(b"(", b"1").is_some());
        assert!(parse_score_range(b" 1", b"1").is_some());
        assert!(parse_score_range(b"nan", b"1").is_none());
        assert!(parse_lex_range(b"-", b"+").is_some());
        assert!(parse_lex_range(b"[a", b"(b").is_some());
        assert!(parse_lex_range(b"a", b"+").is_none());
        assert!(parse_lex_range(b"+x", b"+").is_none());
        assert!(parse_lex_range(b"", b"+").is_none());
    }

    #[test]
    fn doubles() {
        let f = |v: f64| {
            let mut b = [0u8; 40];
            let n = d2string(v, &mut b);
            String::from_utf8_lossy(&b[..n]).into_owned()
        };
        assert_eq!(f(1e17), "100000000000000000");
        assert_eq!(f(5e18), "5e+18");
        assert_eq!(f(-0.0), "-0");
        assert_eq!(f(1.5), "1.5");
        assert_eq!(f(f64::INFINITY), "inf");
        assert_eq!(f(4611686018427387904.0), "4611686018427387904");
    }
}
