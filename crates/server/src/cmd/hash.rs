//! Hash commands (Redis 7.2 `t_hash.c`): HSET HSETNX HMSET HGET HMGET
//! HGETALL HDEL HLEN HEXISTS HKEYS HVALS HSTRLEN HINCRBY HINCRBYFLOAT
//! HRANDFIELD HSCAN.
//!
//! The value representation and its encoding switches live in
//! `spinel_keyspace::hash`; thresholds are read from the configuration at
//! run time (`hash-max-listpack-entries`, `hash-max-listpack-value`).
//! Also home of the HSCAN/SSCAN cursor and option parsing shared with the
//! other collection scans.

use crate::cmd::string::ld80::Ld;
use crate::cmd::util::{eq_ic, parse_i64, parse_scan_cursor};
use crate::dispatch::{arity_error, Access, CommandTable, Ctx, ERR_NOT_INT, ERR_SYNTAX, WRONGTYPE};
use crate::notify;
use rand::seq::index;
use rand::Rng;
use spinel_keyspace::glob::glob_match;
use spinel_keyspace::hash::{HashLimits, HashValue};
use spinel_keyspace::Value;
use spinel_resp::ReplyBuf;
use std::collections::HashSet;

pub fn register(t: &mut CommandTable) {
    t.add("hset", hset);
    t.add("hmset", hset);
    t.add("hsetnx", hsetnx);
    t.add("hget", hget);
    t.add("hmget", hmget);
    t.add("hgetall", hgetall);
    t.add("hkeys", hkeys);
    t.add("hvals", hvals);
    t.add("hdel", hdel);
    t.add("hlen", hlen);
    t.add("hexists", hexists);
    t.add("hstrlen", hstrlen);
    t.add("hincrby", hincrby);
    t.add("hincrbyfloat", hincrbyfloat);
    t.add("hrandfield", hrandfield);
    t.add("hscan", hscan);
}

/// Redis stops streaming an unbounded random reply when the client's output
/// limit closes it; this is Spinel's equivalent bound on one reply.
pub(crate) const MAX_RANDOM_REPLY_BYTES: usize = 1 << 30;

/// Reads a non-negative size setting, falling back to Redis's default.
/// A size parameter by its `config::param_index` (no lookup by name).
pub(crate) fn config_usize(ctx: &Ctx, param: usize) -> usize {
    ctx.srv.config.num_at(param).max(0) as usize
}

fn limits(ctx: &Ctx) -> HashLimits {
    const ENTRIES: usize = crate::config::param_index("hash-max-listpack-entries");
    const VALUE: usize = crate::config::param_index("hash-max-listpack-value");
    HashLimits {
        max_listpack_entries: config_usize(ctx, ENTRIES),
        max_listpack_value: config_usize(ctx, VALUE),
    }
}

/// A hash looked up for reading (`lookupKeyRead` + type check).
enum Found<'a> {
    Missing,
    WrongType,
    Hash(&'a mut HashValue),
}

fn read<'a>(ks: &'a mut Access, key: &[u8]) -> Found<'a> {
    match ks.get(key) {
        None => Found::Missing,
        Some(e) => match &mut e.value {
            Value::Hash(h) => Found::Hash(h),
            _ => Found::WrongType,
        },
    }
}

fn write<'a>(ks: &'a mut Access, key: &[u8]) -> Found<'a> {
    match ks.get_write(key) {
        None => Found::Missing,
        Some(e) => match &mut e.value {
            Value::Hash(h) => Found::Hash(h),
            _ => Found::WrongType,
        },
    }
}

/// Applies `f` to the hash at `key`, creating an empty one if missing
/// (`hashTypeLookupWriteOrCreate`). Returns None after replying WRONGTYPE.
/// A hash created here is stored only if it is non-empty afterwards.
fn with_hash_or_create<R>(
    ctx: &mut Ctx,
    key: &[u8],
    f: impl FnOnce(&mut HashValue, &mut ReplyBuf) -> R,
) -> Option<R> {
    match write(&mut ctx.ks, key) {
        Found::WrongType => {
            ctx.out.error(WRONGTYPE);
            None
        }
        Found::Hash(h) => Some(f(h, ctx.out)),
        Found::Missing => {
            let mut h = HashValue::new();
            let r = f(&mut h, ctx.out);
            if !h.is_empty() {
                ctx.ks.set(key, Value::Hash(h));
            }
            Some(r)
        }
    }
}

/// HSET key field value [field value ...] / HMSET (same, replies OK).
fn hset(ctx: &mut Ctx, argv: &[&[u8]]) {
    if argv.len() < 4 || argv.len() % 2 == 1 {
        ctx.out.error(&arity_error(ctx.cmd.name));
        return;
    }
    let key = argv[1];
    let pairs = &argv[2..];
    let lim = limits(ctx);
    let Some(created) = with_hash_or_create(ctx, key, |h, _| {
        h.try_conversion(pairs, &lim);
        h.set_many(pairs, &lim)
    }) else {
        return;
    };
    if ctx.cmd.name == "hmset" {
        ctx.out.ok();
    } else {
        ctx.out.int(created as i64);
    }
    ctx.ks.modified(key);
    ctx.ks.notify(notify::HASH, "hset", key);
    ctx.ks.add_dirty((pairs.len() / 2) as u64);
}

fn hsetnx(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (key, field, value) = (argv[1], argv[2], argv[3]);
    let lim = limits(ctx);
    let Some(set) = with_hash_or_create(ctx, key, |h, _| {
        if h.contains(field) {
            return false;
        }
        h.try_conversion(&argv[2..4], &lim);
        h.set(field, value, &lim);
        true
    }) else {
        return;
    };
    if set {
        ctx.out.int(1);
        ctx.ks.modified(key);
        ctx.ks.notify(notify::HASH, "hset", key);
        ctx.ks.add_dirty(1);
    } else {
        ctx.out.int(0);
    }
}

fn hget(ctx: &mut Ctx, argv: &[&[u8]]) {
    match read(&mut ctx.ks, argv[1]) {
        Found::Missing => ctx.out.null(),
        Found::WrongType => ctx.out.error(WRONGTYPE),
        Found::Hash(h) => match h.get(argv[2]) {
            Some(v) => ctx.out.bulk(v),
            None => ctx.out.null(),
        },
    }
}

fn hmget(ctx: &mut Ctx, argv: &[&[u8]]) {
    let fields = &argv[2..];
    match read(&mut ctx.ks, argv[1]) {
        Found::WrongType => ctx.out.error(WRONGTYPE),
        Found::Missing => {
            ctx.out.array(fields.len());
            for _ in fields {
                ctx.out.null();
            }
        }
        Found::Hash(h) => {
            ctx.out.array(fields.len());
            for f in fields {
                match h.get(f) {
                    Some(v) => ctx.out.bulk(v),
                    None => ctx.out.null(),
                }
            }
        }
    }
}

/// HGETALL / HKEYS / HVALS.
fn getall(ctx: &mut Ctx, key: &[u8], keys: bool, vals: bool) {
    match read(&mut ctx.ks, key) {
        Found::WrongType => ctx.out.error(WRONGTYPE),
        Found::Missing => {
            if keys && vals {
                ctx.out.map(0);
            } else {
                ctx.out.array(0);
            }
        }
        Found::Hash(h) => {
            if keys && vals {
                ctx.out.map(h.len());
            } else {
                ctx.out.array(h.len());
            }
            for (f, v) in h.iter() {
                if keys {
                    ctx.out.bulk(f);
                }
                if vals {
                    ctx.out.bulk(v);
                }
            }
        }
    }
}

fn hgetall(ctx: &mut Ctx, argv: &[&[u8]]) {
    getall(ctx, argv[1], true, true)
}

fn hkeys(ctx: &mut Ctx, argv: &[&[u8]]) {
    getall(ctx, argv[1], true, false)
}

fn hvals(ctx: &mut Ctx, argv: &[&[u8]]) {
    getall(ctx, argv[1], false, true)
}

fn hdel(ctx: &mut Ctx, argv: &[&[u8]]) {
    let key = argv[1];
    let (deleted, emptied) = match write(&mut ctx.ks, key) {
        Found::Missing => {
            ctx.out.int(0);
            return;
        }
        Found::WrongType => {
            ctx.out.error(WRONGTYPE);
            return;
        }
        Found::Hash(h) => {
            let mut deleted = 0u64;
            for f in &argv[2..] {
                if h.remove(f) {
                    deleted += 1;
                    if h.is_empty() {
                        break;
                    }
                }
            }
            (deleted, h.is_empty())
        }
    };
    if deleted > 0 {
        if emptied {
            ctx.ks.delete(key);
        }
        ctx.ks.modified(key);
        ctx.ks.notify(notify::HASH, "hdel", key);
        if emptied {
            ctx.ks.notify(notify::GENERIC, "del", key);
        }
        ctx.ks.add_dirty(deleted);
    }
    ctx.out.int(deleted as i64);
}

fn hlen(ctx: &mut Ctx, argv: &[&[u8]]) {
    match read(&mut ctx.ks, argv[1]) {
        Found::Missing => ctx.out.int(0),
        Found::WrongType => ctx.out.error(WRONGTYPE),
        Found::Hash(h) => ctx.out.int(h.len() as i64),
    }
}

fn hexists(ctx: &mut Ctx, argv: &[&[u8]]) {
    match read(&mut ctx.ks, argv[1]) {
        Found::Missing => ctx.out.int(0),
        Found::WrongType => ctx.out.error(WRONGTYPE),
        Found::Hash(h) => ctx.out.int(h.contains(argv[2]) as i64),
    }
}

fn hstrlen(ctx: &mut Ctx, argv: &[&[u8]]) {
    match read(&mut ctx.ks, argv[1]) {
        Found::Missing => ctx.out.int(0),
        Found::WrongType => ctx.out.error(WRONGTYPE),
        Found::Hash(h) => ctx.out.int(h.get(argv[2]).map_or(0, |v| v.len()) as i64),
    }
}

fn hincrby(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (key, field) = (argv[1], argv[2]);
    let Some(incr) = parse_i64(argv[3]) else {
        ctx.out.error(ERR_NOT_INT);
        return;
    };
    let lim = limits(ctx);
    let res = with_hash_or_create(ctx, key, |h, out| {
        let cur = match h.get(field) {
            None => 0,
            Some(v) => match parse_i64(v) {
                Some(v) => v,
                None => {
                    out.error("ERR hash value is not an integer");
                    return false;
                }
            },
        };
        let Some(new) = cur.checked_add(incr) else {
            out.error("ERR increment or decrement would overflow");
            return false;
        };
        let mut buf = itoa::Buffer::new();
        h.set(field, buf.format(new).as_bytes(), &lim);
        out.int(new);
        true
    });
    if res == Some(true) {
        ctx.ks.modified(key);
        ctx.ks.notify(notify::HASH, "hincrby", key);
        ctx.ks.add_dirty(1);
    }
}

fn hincrbyfloat(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (key, field) = (argv[1], argv[2]);
    let incr = match Ld::parse(argv[3]) {
        None => {
            ctx.out.error(crate::dispatch::ERR_NOT_FLOAT);
            return;
        }
        Some(Ld::Inf { .. }) => {
            ctx.out.error("ERR value is NaN or Infinity");
            return;
        }
        Some(v) => v,
    };
    let lim = limits(ctx);
    let reply_start = ctx.out.buf.len();
    let res = with_hash_or_create(ctx, key, |h, out| {
        let cur = match h.get(field) {
            None => Ld::ZERO,
            Some(v) => match Ld::parse(v) {
                Some(v) => v,
                None => {
                    out.error("ERR hash value is not a float");
                    return false;
                }
            },
        };
        let Some(sum) = cur.add_rounded(incr) else {
            out.error("ERR increment would produce NaN or Infinity");
            return false;
        };
        let text = sum.to_human_string();
        h.set(field, &text, &lim);
        out.bulk(&text);
        true
    });
    if res == Some(true) {
        ctx.ks.modified(key);
        ctx.ks.notify(notify::HASH, "hincrbyfloat", key);
        ctx.ks.add_dirty(1);
        // Propagated as HSET key field <new value> (the reply's bulk).
        if crate::propagate::enabled() {
            let reply = ctx.out.buf.get(reply_start..).unwrap_or(&[]);
            if let Some(v) = crate::propagate::bulks_in_reply(reply).into_iter().next() {
                crate::propagate::rewrite(&[b"HSET", key, field, &v]);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// HRANDFIELD

/// The range check of `getRangeLongFromObjectOrReply(-LONG_MAX, LONG_MAX)`
/// used by the random-member commands.
pub(crate) fn parse_random_count(ctx: &mut Ctx, a: &[u8]) -> Option<i64> {
    match parse_i64(a) {
        None => {
            ctx.out.error(ERR_NOT_INT);
            None
        }
        Some(i64::MIN) => {
            ctx.out.error(
                "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
            );
            None
        }
        Some(v) => Some(v),
    }
}

fn hrandfield(ctx: &mut Ctx, argv: &[&[u8]]) {
    if argv.len() >= 3 {
        let Some(l) = parse_random_count(ctx, argv[2]) else {
            return;
        };
        if argv.len() > 4 || (argv.len() == 4 && !eq_ic(argv[3], "withvalues")) {
            ctx.out.error(ERR_SYNTAX);
            return;
        }
        let withvalues = argv.len() == 4;
        if withvalues && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&l) {
            ctx.out.error("ERR value is out of range");
            return;
        }
        hrandfield_count(ctx, argv[1], l, withvalues);
        return;
    }
    match read(&mut ctx.ks, argv[1]) {
        Found::Missing => ctx.out.null(),
        Found::WrongType => ctx.out.error(WRONGTYPE),
        Found::Hash(h) => match h.random_pair(&mut rand::thread_rng()) {
            Some((f, _)) => ctx.out.bulk(f),
            None => ctx.out.null(),
        },
    }
}

fn reply_pair(out: &mut ReplyBuf, f: &[u8], v: &[u8], withvalues: bool) {
    if withvalues && out.resp3 {
        out.array(2);
    }
    out.bulk(f);
    if withvalues {
        out.bulk(v);
    }
}

fn hrandfield_count(ctx: &mut Ctx, key: &[u8], l: i64, withvalues: bool) {
    let h = match read(&mut ctx.ks, key) {
        Found::Missing => {
            ctx.out.array(0);
            return;
        }
        Found::WrongType => {
            ctx.out.error(WRONGTYPE);
            return;
        }
        Found::Hash(h) => h,
    };
    let out = &mut *ctx.out;
    let size = h.len();
    let count = l.unsigned_abs();
    if count == 0 || size == 0 {
        out.array(0);
        return;
    }
    let mut rng = rand::thread_rng();
    let flat = withvalues && !out.resp3;
    // CASE 1: negative count (repeats allowed), or a single field.
    if l < 0 || count == 1 {
        out.array(if flat {
            count as usize * 2
        } else {
            count as usize
        });
        let pairs: Option<Vec<(&[u8], &[u8])>> = h.is_listpack().then(|| h.iter().collect());
        for _ in 0..count {
            let (f, v) = match &pairs {
                Some(p) => p[rng.gen_range(0..p.len())],
                None => match h.random_pair(&mut rng) {
                    Some(p) => p,
                    None => break,
                },
            };
            reply_pair(out, f, v, withvalues);
            if out.buf.len() > MAX_RANDOM_REPLY_BYTES {
                ctx.client.close_after_reply = true;
                break;
            }
        }
        return;
    }
    let count = count as usize;
    let n = count.min(size);
    out.array(if flat { n * 2 } else { n });
    // CASE 2: the whole hash.
    if count >= size {
        for (f, v) in h.iter() {
            reply_pair(out, f, v, withvalues);
        }
        return;
    }
    // CASE 2.5 / 3: sample distinct positions; a listpack answers in its order.
    if h.is_listpack() || count * 3 > size {
        let pairs: Vec<(&[u8], &[u8])> = h.iter().collect();
        let mut picks = index::sample(&mut rng, size, count).into_vec();
        if h.is_listpack() {
            picks.sort_unstable();
        }
        for i in picks {
            if let Some(&(f, v)) = pairs.get(i) {
                reply_pair(out, f, v, withvalues);
            }
        }
        return;
    }
    // CASE 4: a big hash compared to the count: random picks until enough
    // distinct fields.
    let mut seen: HashSet<&[u8]> = HashSet::with_capacity(count);
    while seen.len() < count {
        let Some((f, v)) = h.random_pair(&mut rng) else {
            break;
        };
        if seen.insert(f) {
            reply_pair(out, f, v, withvalues);
        }
    }
}

// ---------------------------------------------------------------------------
// HSCAN (and the scan helpers shared with SSCAN)

/// COUNT / MATCH options of HSCAN, SSCAN and ZSCAN.
pub(crate) struct ScanOpts<'a> {
    pub count: usize,
    pub pattern: Option<&'a [u8]>,
}

impl ScanOpts<'_> {
    pub fn matches(&self, item: &[u8]) -> bool {
        self.pattern.is_none_or(|p| glob_match(p, item, false))
    }
}

/// Parses the options after the cursor; replies with the error and returns
/// None when they are invalid.
pub(crate) fn parse_scan_opts<'a>(out: &mut ReplyBuf, args: &[&'a [u8]]) -> Option<ScanOpts<'a>> {
    let mut opts = ScanOpts {
        count: 10,
        pattern: None,
    };
    let mut i = 0;
    while i < args.len() {
        let more = args.len() - i >= 2;
        if eq_ic(args[i], "count") && more {
            match parse_i64(args[i + 1]) {
                None => {
                    out.error(ERR_NOT_INT);
                    return None;
                }
                Some(c) if c < 1 => {
                    out.error(ERR_SYNTAX);
                    return None;
                }
                Some(c) => opts.count = usize::try_from(c).unwrap_or(usize::MAX),
            }
            i += 2;
        } else if eq_ic(args[i], "match") && more {
            let p = args[i + 1];
            opts.pattern = if p == b"*" { None } else { Some(p) };
            i += 2;
        } else {
            out.error(ERR_SYNTAX);
            return None;
        }
    }
    Some(opts)
}

/// The reply to an empty or missing collection's scan.
pub(crate) fn reply_empty_scan(out: &mut ReplyBuf) {
    out.array(2);
    out.bulk(b"0");
    out.array(0);
}

fn hscan(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(cursor) = parse_scan_cursor(argv[2]) else {
        ctx.out.error("ERR invalid cursor");
        return;
    };
    let h = match read(&mut ctx.ks, argv[1]) {
        Found::Missing => return reply_empty_scan(ctx.out),
        Found::WrongType => {
            ctx.out.error(WRONGTYPE);
            return;
        }
        Found::Hash(h) => &*h,
    };
    let out = &mut *ctx.out;
    let Some(opts) = parse_scan_opts(out, &argv[3..]) else {
        return;
    };
    let mut items: Vec<(&[u8], &[u8])> = Vec::new();
    let mut next = 0;
    if h.is_listpack() {
        h.scan(0, |f, v| {
            if opts.matches(f) {
                items.push((f, v));
            }
        });
    } else {
        // Up to COUNT elements (fields and values both count, as in Redis
        // 7.2), visiting at most ten buckets per requested element.
        let mut cursor = cursor;
        let mut budget = opts.count.saturating_mul(10);
        let mut sampled = 0usize;
        loop {
            let mut step: Vec<(&[u8], &[u8])> = Vec::new();
            cursor = match h {
                HashValue::Table(t) => t.scan(cursor, |e| step.push((&e.field, &e.value))),
                HashValue::Listpack { .. } => 0,
            };
            sampled += 2 * step.len();
            items.extend(step.into_iter().filter(|(f, _)| opts.matches(f)));
            if cursor == 0 || budget == 0 || sampled >= opts.count {
                break;
            }
            budget -= 1;
        }
        next = cursor;
    }
    out.array(2);
    out.bulk(itoa::Buffer::new().format(next).as_bytes());
    out.array(items.len() * 2);
    for (f, v) in items {
        out.bulk(f);
        out.bulk(v);
    }
}
