//! String commands: SET and its variants, the GET family, counters, ranges,
//! INCRBYFLOAT (with x87 `long double` semantics, see [`ld80`]) and LCS.
//!
//! Encodings follow Redis: values written whole by SET/MSET/GETSET/SETNX/
//! SETEX/APPEND-on-a-new-key get `int` or `embstr`/`raw` from
//! `Value::string`; counters produce `Value::Int`; INCRBYFLOAT stores its
//! formatted result as a plain string (never `int`); values modified in
//! place (APPEND, SETRANGE, SETBIT, ...) become `Value::Raw`.

use crate::cmd::util::{eq_ic, parse_i64};
use crate::dispatch::{
    arity_error, CommandTable, Ctx, ERR_NOT_FLOAT, ERR_NOT_INT, ERR_SYNTAX, WRONGTYPE,
};
use crate::notify;
use spinel_keyspace::value::itoa_buf;
use spinel_keyspace::{SBytes, Value};
use spinel_resp::ReplyBuf;

pub fn register(t: &mut CommandTable) {
    t.add("get", get);
    t.add("set", set);
    t.add("setnx", setnx);
    t.add("setex", setex);
    t.add("psetex", psetex);
    t.add("getex", getex);
    t.add("getdel", getdel);
    t.add("getset", getset);
    t.add("mset", mset);
    t.add("msetnx", msetnx);
    t.add("mget", mget);
    t.add("append", append);
    t.add("strlen", strlen);
    t.add("getrange", getrange);
    t.add("substr", getrange);
    t.add("setrange", setrange);
    t.add("incr", incr);
    t.add("decr", decr);
    t.add("incrby", incrby);
    t.add("decrby", decrby);
    t.add("incrbyfloat", incrbyfloat);
    t.add("lcs", lcs);
}

pub const ERR_MAX_BULK: &str = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";

/// Replies the arity error (only reachable when the metadata did not
/// already reject the call).
fn arity(ctx: &mut Ctx) {
    let m = arity_error(ctx.cmd.name);
    ctx.out.error(&m);
}

/// Writes a string value as a bulk reply; false (after replying WRONGTYPE)
/// for any other type.
#[inline]
pub fn reply_string(out: &mut ReplyBuf, v: &Value) -> bool {
    match v {
        Value::Int(i) => out.bulk_int(*i),
        Value::Str(s) => out.bulk(s.as_slice()),
        Value::Raw(r) => out.bulk(r),
        _ => {
            out.error(WRONGTYPE);
            return false;
        }
    }
    true
}

/// Length of a string value's bytes (None for other types).
pub fn string_len(v: &Value) -> Option<usize> {
    match v {
        Value::Int(i) => {
            let mut b = itoa_buf::Buf::new();
            Some(b.format(*i).len())
        }
        Value::Str(s) => Some(s.len()),
        Value::Raw(r) => Some(r.len()),
        _ => None,
    }
}

/// Turns a string value into its growable raw form in place (Redis's
/// `dbUnshareStringValue`: int and embstr become raw) and returns its bytes;
/// None (value untouched) for other types.
pub fn raw_mut(v: &mut Value) -> Option<&mut Vec<u8>> {
    if !matches!(v, Value::Raw(_)) {
        let owned = std::mem::replace(v, Value::Int(0));
        *v = match owned {
            Value::Int(i) => {
                let mut b = itoa_buf::Buf::new();
                Value::Raw(Box::new(b.format(i).to_vec()))
            }
            Value::Str(s) => Value::Raw(Box::new(s.into_vec())),
            other => {
                *v = other;
                return None;
            }
        };
    }
    match v {
        Value::Raw(r) => Some(r),
        _ => None,
    }
}

/// Grows `v` with zero bytes to at least `len` bytes; false when the memory
/// cannot be had (the caller replies an error instead of aborting).
pub fn grow_zero(v: &mut Vec<u8>, len: usize) -> bool {
    if len > v.len() {
        if v.try_reserve(len - v.len()).is_err() {
            return false;
        }
        v.resize(len, 0);
    }
    true
}

pub const ERR_OOM_VALUE: &str = "ERR out of memory allocating the value";

/// Redis's `checkStringLength`: would a string of `size + append` bytes
/// exceed proto-max-bulk-len?
pub fn check_string_length(ctx: &mut Ctx, size: i64, append: i64) -> bool {
    let total = (size as u64).wrapping_add(append as u64) as i64;
    if total > ctx.srv.config.proto_max_bulk_len() || total < size || total < append {
        ctx.out.error(ERR_MAX_BULK);
        return false;
    }
    true
}

// ---------------------------------------------------------------------------
// SET family

mod flag {
    pub const NX: u32 = 1 << 0;
    pub const XX: u32 = 1 << 1;
    pub const GET: u32 = 1 << 2;
    pub const KEEPTTL: u32 = 1 << 3;
    pub const PERSIST: u32 = 1 << 4;
    pub const EX: u32 = 1 << 5;
    pub const PX: u32 = 1 << 6;
    pub const EXAT: u32 = 1 << 7;
    pub const PXAT: u32 = 1 << 8;
    pub const ANY_EXPIRE: u32 = EX | PX | EXAT | PXAT;
}

/// Redis's `parseExtendedStringArgumentsOrReply` for SET (`for_set`) and
/// GETEX: the options after the key (and value), with the same
/// acceptance of repeats and rejection of conflicts.
fn parse_ext<'a>(opts: &[&'a [u8]], for_set: bool) -> Option<(u32, Option<&'a [u8]>)> {
    use flag::*;
    let mut flags = 0u32;
    let mut expire = None;
    let mut j = 0;
    while let Some(&opt) = opts.get(j) {
        let next = opts.get(j + 1).copied();
        if for_set && eq_ic(opt, "nx") && flags & XX == 0 {
            flags |= NX;
        } else if for_set && eq_ic(opt, "xx") && flags & NX == 0 {
            flags |= XX;
        } else if for_set && eq_ic(opt, "get") {
            flags |= GET;
        } else if for_set && eq_ic(opt, "keepttl") && flags & (PERSIST | ANY_EXPIRE) == 0 {
            flags |= KEEPTTL;
        } else if !for_set && eq_ic(opt, "persist") && flags & (ANY_EXPIRE | KEEPTTL) == 0 {
            flags |= PERSIST;
        } else if let (Some(n), Some(bit)) = (next, expire_kind(opt)) {
            if flags & (KEEPTTL | PERSIST | (ANY_EXPIRE & !bit)) != 0 {
                return None;
            }
            flags |= bit;
            expire = Some(n);
            j += 1;
        } else {
            return None;
        }
        j += 1;
    }
    Some((flags, expire))
}

fn expire_kind(opt: &[u8]) -> Option<u32> {
    if eq_ic(opt, "ex") {
        Some(flag::EX)
    } else if eq_ic(opt, "px") {
        Some(flag::PX)
    } else if eq_ic(opt, "exat") {
        Some(flag::EXAT)
    } else if eq_ic(opt, "pxat") {
        Some(flag::PXAT)
    } else {
        None
    }
}

/// Redis's `getExpireMillisecondsOrReply`: the absolute expiry time in ms.
fn expire_at(arg: &[u8], flags: u32, now: i64, cmd: &str) -> Result<i64, String> {
    let v = parse_i64(arg).ok_or_else(|| ERR_NOT_INT.to_string())?;
    let invalid = || format!("ERR invalid expire time in '{}' command", cmd);
    let seconds = flags & (flag::EX | flag::EXAT) != 0;
    if v <= 0 || (seconds && v > i64::MAX / 1000) {
        return Err(invalid());
    }
    let mut ms = if seconds { v * 1000 } else { v };
    if flags & (flag::EX | flag::PX) != 0 {
        ms = ms.wrapping_add(now);
    }
    if ms <= 0 {
        return Err(invalid());
    }
    Ok(ms)
}

/// `getGenericCommand`: replies the value (or null); false after a
/// WRONGTYPE reply.
#[inline]
fn get_generic(ctx: &mut Ctx, key: &[u8]) -> bool {
    match ctx.ks.get(key) {
        None => {
            ctx.out.null();
            true
        }
        Some(e) => reply_string(ctx.out, &e.value),
    }
}

fn get(ctx: &mut Ctx, argv: &[&[u8]]) {
    let [_, key] = argv else {
        return arity(ctx);
    };
    get_generic(ctx, key);
}

/// What SET-like commands answer on success / on an NX/XX abort.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SetReply {
    /// `+OK` / null
    Ok,
    /// `:1` / `:0` (SETNX)
    Int,
}

/// `setGenericCommand` after the expire time was validated.
fn set_generic(
    ctx: &mut Ctx,
    key: &[u8],
    val: &[u8],
    flags: u32,
    at: Option<i64>,
    reply: SetReply,
) {
    if flags & flag::GET != 0 && !get_generic(ctx, key) {
        return;
    }
    if flags & (flag::NX | flag::XX) != 0 {
        let found = ctx.ks.exists(key);
        if (flags & flag::NX != 0 && found) || (flags & flag::XX != 0 && !found) {
            if flags & flag::GET == 0 {
                match reply {
                    SetReply::Ok => ctx.out.null(),
                    SetReply::Int => ctx.out.int(0),
                }
            }
            return;
        }
    }
    let v = Value::string(val);
    if flags & flag::KEEPTTL != 0 {
        ctx.ks.set_keepttl(key, v);
    } else {
        ctx.ks.set(key, v);
    }
    ctx.ks.add_dirty(1);
    ctx.ks.notify(notify::STRING, "set", key);
    if let Some(t) = at {
        ctx.ks.set_expire(key, t);
        ctx.ks.notify(notify::GENERIC, "expire", key);
        // Propagated as SET key value PXAT <ms> unless given as PXAT.
        if flags & flag::PXAT == 0 && crate::propagate::enabled() {
            let ms = crate::propagate::ms_arg(t);
            crate::propagate::rewrite(&[b"SET", key, val, b"PXAT", &ms]);
        }
    }
    if flags & flag::GET == 0 {
        match reply {
            SetReply::Ok => ctx.out.ok(),
            SetReply::Int => ctx.out.int(1),
        }
    }
}

fn set(ctx: &mut Ctx, argv: &[&[u8]]) {
    let [_, key, val, opts @ ..] = argv else {
        return arity(ctx);
    };
    if opts.is_empty() {
        // The hot path: plain SET.
        ctx.ks.set(key, Value::string(val));
        ctx.ks.add_dirty(1);
        ctx.ks.notify(notify::STRING, "set", key);
        ctx.out.ok();
        return;
    }
    let Some((flags, expire)) = parse_ext(opts, true) else {
        ctx.out.error(ERR_SYNTAX);
        return;
    };
    let at = match expire {
        None => None,
        Some(a) => match expire_at(a, flags, ctx.ks.now, "set") {
            Ok(t) => Some(t),
            Err(e) => {
                ctx.out.error(&e);
                return;
            }
        },
    };
    set_generic(ctx, key, val, flags, at, SetReply::Ok);
}

fn setnx(ctx: &mut Ctx, argv: &[&[u8]]) {
    let [_, key, val] = argv else {
        return arity(ctx);
    };
    set_generic(ctx, key, val, flag::NX, None, SetReply::Int);
}

fn setex_generic(ctx: &mut Ctx, argv: &[&[u8]], unit: u32, name: &str) {
    let [_, key, ttl, val] = argv else {
        return arity(ctx);
    };
    match expire_at(ttl, unit, ctx.ks.now, name) {
        Ok(t) => set_generic(ctx, key, val, unit, Some(t), SetReply::Ok),
        Err(e) => ctx.out.error(&e),
    }
}

fn setex(ctx: &mut Ctx, argv: &[&[u8]]) {
    setex_generic(ctx, argv, flag::EX, "setex");
}

fn psetex(ctx: &mut Ctx, argv: &[&[u8]]) {
    setex_generic(ctx, argv, flag::PX, "psetex");
}

fn getex(ctx: &mut Ctx, argv: &[&[u8]]) {
    let [_, key, opts @ ..] = argv else {
        return arity(ctx);
    };
    let Some((flags, expire)) = parse_ext(opts, false) else {
        ctx.out.error(ERR_SYNTAX);
        return;
    };
    // Pure: computed now, reported after the key lookup like Redis does.
    let at = expire.map(|a| expire_at(a, flags, ctx.ks.now, "getex"));
    match ctx.ks.get(key) {
        None => {
            ctx.out.null();
            return;
        }
        Some(e) if !e.value.is_string() => {
            ctx.out.error(WRONGTYPE);
            return;
        }
        Some(e) => {
            if let Some(Err(msg)) = &at {
                ctx.out.error(msg);
                return;
            }
            reply_string(ctx.out, &e.value);
        }
    }
    match at {
        Some(Ok(t))
            if flags & (flag::EXAT | flag::PXAT) != 0
                && t <= ctx.ks.now
                && !spinel_keyspace::shard::loading() =>
        {
            // An absolute time already in the past deletes the key.
            ctx.ks.delete(key);
            ctx.ks.notify(notify::GENERIC, "del", key);
            ctx.ks.add_dirty(1);
            let del = crate::propagate::del_name("lazyfree-lazy-expire");
            crate::propagate::rewrite(&[del, key]);
        }
        Some(Ok(t)) => {
            ctx.ks.set_expire(key, t);
            ctx.ks.notify(notify::GENERIC, "expire", key);
            ctx.ks.add_dirty(1);
            if crate::propagate::enabled() {
                let ms = crate::propagate::ms_arg(t);
                crate::propagate::rewrite(&[b"PEXPIREAT", key, &ms]);
            }
        }
        _ => {
            if flags & flag::PERSIST != 0 && ctx.ks.persist(key) {
                ctx.ks.notify(notify::GENERIC, "persist", key);
                ctx.ks.add_dirty(1);
                crate::propagate::rewrite(&[b"PERSIST", key]);
            }
        }
    }
}

fn getdel(ctx: &mut Ctx, argv: &[&[u8]]) {
    let [_, key] = argv else {
        return arity(ctx);
    };
    let found = match ctx.ks.get(key) {
        None => {
            ctx.out.null();
            false
        }
        Some(e) => {
            if !reply_string(ctx.out, &e.value) {
                return;
            }
            true
        }
    };
    if found && ctx.ks.delete(key) {
        ctx.ks.notify(notify::GENERIC, "del", key);
        ctx.ks.add_dirty(1);
        crate::propagate::rewrite(&[b"DEL", key]);
    }
}

fn getset(ctx: &mut Ctx, argv: &[&[u8]]) {
    let [_, key, val] = argv else {
        return arity(ctx);
    };
    if !get_generic(ctx, key) {
        return;
    }
    ctx.ks.set(key, Value::string(val));
    ctx.ks.notify(notify::STRING, "set", key);
    ctx.ks.add_dirty(1);
    // Propagated as SET key value.
    crate::propagate::rewrite(&[b"SET", key, val]);
}

fn mset_generic(ctx: &mut Ctx, argv: &[&[u8]], nx: bool) {
    let pairs = argv.get(1..).unwrap_or_default();
    if pairs.is_empty() || pairs.len() % 2 != 0 {
        return arity(ctx);
    }
    if nx {
        for p in pairs.chunks_exact(2) {
            if let [k, _] = p {
                if ctx.ks.exists(k) {
                    ctx.out.int(0);
                    return;
                }
            }
        }
    }
    for p in pairs.chunks_exact(2) {
        if let [k, v] = p {
            ctx.ks.set(k, Value::string(v));
            ctx.ks.notify(notify::STRING, "set", k);
        }
    }
    ctx.ks.add_dirty((pairs.len() / 2) as u64);
    if nx {
        ctx.out.int(1);
    } else {
        ctx.out.ok();
    }
}

fn mset(ctx: &mut Ctx, argv: &[&[u8]]) {
    mset_generic(ctx, argv, false);
}

fn msetnx(ctx: &mut Ctx, argv: &[&[u8]]) {
    mset_generic(ctx, argv, true);
}

fn mget(ctx: &mut Ctx, argv: &[&[u8]]) {
    let keys = argv.get(1..).unwrap_or_default();
    if keys.is_empty() {
        return arity(ctx);
    }
    ctx.out.array(keys.len());
    for key in keys {
        match ctx.ks.get(key) {
            Some(e) if e.value.is_string() => {
                reply_string(ctx.out, &e.value);
            }
            _ => ctx.out.null(),
        }
    }
}

// ---------------------------------------------------------------------------
// APPEND / STRLEN / GETRANGE / SETRANGE

fn append(ctx: &mut Ctx, argv: &[&[u8]]) {
    let [_, key, val] = argv else {
        return arity(ctx);
    };
    let max = ctx.srv.config.proto_max_bulk_len();
    let total = match ctx.ks.get_write(key) {
        None => {
            ctx.ks.set(key, Value::string(val));
            val.len()
        }
        Some(e) => {
            let Some(len) = string_len(&e.value) else {
                ctx.out.error(WRONGTYPE);
                return;
            };
            let total = (len as u64).wrapping_add(val.len() as u64);
            if total as i64 > max || (total as i64) < 0 {
                ctx.out.error(ERR_MAX_BULK);
                return;
            }
            let Some(raw) = raw_mut(&mut e.value) else {
                ctx.out.error(WRONGTYPE);
                return;
            };
            if raw.try_reserve(val.len()).is_err() {
                ctx.out.error(ERR_OOM_VALUE);
                return;
            }
            raw.extend_from_slice(val);
            raw.len()
        }
    };
    ctx.ks.modified(key);
    ctx.ks.notify(notify::STRING, "append", key);
    ctx.ks.add_dirty(1);
    ctx.out.int(total as i64);
}

fn strlen(ctx: &mut Ctx, argv: &[&[u8]]) {
    let [_, key] = argv else {
        return arity(ctx);
    };
    match ctx.ks.get(key) {
        None => ctx.out.int(0),
        Some(e) => match string_len(&e.value) {
            Some(n) => ctx.out.int(n as i64),
            None => ctx.out.error(WRONGTYPE),
        },
    }
}

/// GETRANGE's index arithmetic: the byte range to return, if any.
fn substr_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    if start < 0 && end < 0 && start > end {
        return None;
    }
    let mut start = if start < 0 {
        len.saturating_add(start)
    } else {
        start
    };
    let mut end = if end < 0 {
        len.saturating_add(end)
    } else {
        end
    };
    if start < 0 {
        start = 0;
    }
    if end < 0 {
        end = 0;
    }
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        return None;
    }
    Some((start as usize, end as usize))
}

fn getrange(ctx: &mut Ctx, argv: &[&[u8]]) {
    let [_, key, start, end] = argv else {
        return arity(ctx);
    };
    let (Some(start), Some(end)) = (parse_i64(start), parse_i64(end)) else {
        ctx.out.error(ERR_NOT_INT);
        return;
    };
    let Some(e) = ctx.ks.get(key) else {
        ctx.out.bulk(b"");
        return;
    };
    let mut buf = itoa_buf::Buf::new();
    let Some(s) = e.value.as_bytes(&mut buf) else {
        ctx.out.error(WRONGTYPE);
        return;
    };
    match substr_range(start, end, s.len()).and_then(|(a, b)| s.get(a..=b)) {
        Some(part) => ctx.out.bulk(part),
        None => ctx.out.bulk(b""),
    }
}

fn setrange(ctx: &mut Ctx, argv: &[&[u8]]) {
    let [_, key, offset, val] = argv else {
        return arity(ctx);
    };
    let Some(offset) = parse_i64(offset) else {
        ctx.out.error(ERR_NOT_INT);
        return;
    };
    if offset < 0 {
        ctx.out.error("ERR offset is out of range");
        return;
    }
    let max = ctx.srv.config.proto_max_bulk_len();
    let too_long = |off: i64, n: usize| {
        let total = (off as u64).wrapping_add(n as u64) as i64;
        total > max || total < off
    };
    let newlen = match ctx.ks.get_write(key) {
        None => {
            if val.is_empty() {
                ctx.out.int(0);
                return;
            }
            if too_long(offset, val.len()) {
                ctx.out.error(ERR_MAX_BULK);
                return;
            }
            let mut v = Vec::new();
            let off = offset as usize;
            if !grow_zero(&mut v, off + val.len()) {
                ctx.out.error(ERR_OOM_VALUE);
                return;
            }
            if let Some(dst) = v.get_mut(off..off + val.len()) {
                dst.copy_from_slice(val);
            }
            let n = v.len();
            ctx.ks.set(key, Value::Raw(Box::new(v)));
            n
        }
        Some(e) => {
            let Some(olen) = string_len(&e.value) else {
                ctx.out.error(WRONGTYPE);
                return;
            };
            if val.is_empty() {
                ctx.out.int(olen as i64);
                return;
            }
            if too_long(offset, val.len()) {
                ctx.out.error(ERR_MAX_BULK);
                return;
            }
            let Some(raw) = raw_mut(&mut e.value) else {
                ctx.out.error(WRONGTYPE);
                return;
            };
            let off = offset as usize;
            if !grow_zero(raw, off + val.len()) {
                ctx.out.error(ERR_OOM_VALUE);
                return;
            }
            if let Some(dst) = raw.get_mut(off..off + val.len()) {
                dst.copy_from_slice(val);
            }
            raw.len()
        }
    };
    ctx.ks.modified(key);
    ctx.ks.notify(notify::STRING, "setrange", key);
    ctx.ks.add_dirty(1);
    ctx.out.int(newlen as i64);
}

// ---------------------------------------------------------------------------
// Counters

/// `incrDecrCommand`: the value is updated in place (TTL kept); a missing
/// key starts at 0.
fn incr_decr(ctx: &mut Ctx, key: &[u8], by: i64) {
    let result = match ctx.ks.get_write(key) {
        None => Ok(None),
        Some(e) => {
            let old = match &e.value {
                Value::Int(i) => Ok(*i),
                Value::Str(s) => parse_i64(s).ok_or(ERR_NOT_INT),
                Value::Raw(r) => parse_i64(r).ok_or(ERR_NOT_INT),
                _ => Err(WRONGTYPE),
            };
            match old.and_then(|o| {
                o.checked_add(by)
                    .ok_or("ERR increment or decrement would overflow")
            }) {
                Ok(n) => {
                    match &mut e.value {
                        Value::Int(i) => *i = n,
                        v => *v = Value::Int(n),
                    }
                    Ok(Some(n))
                }
                Err(m) => Err(m),
            }
        }
    };
    let n = match result {
        Err(m) => {
            ctx.out.error(m);
            return;
        }
        Ok(Some(n)) => {
            ctx.ks.modified(key);
            n
        }
        Ok(None) => {
            ctx.ks.set(key, Value::Int(by));
            by
        }
    };
    ctx.ks.notify(notify::STRING, "incrby", key);
    ctx.ks.add_dirty(1);
    ctx.out.int(n);
}

fn incr(ctx: &mut Ctx, argv: &[&[u8]]) {
    let [_, key] = argv else {
        return arity(ctx);
    };
    incr_decr(ctx, key, 1);
}

fn decr(ctx: &mut Ctx, argv: &[&[u8]]) {
    let [_, key] = argv else {
        return arity(ctx);
    };
    incr_decr(ctx, key, -1);
}

fn incrby(ctx: &mut Ctx, argv: &[&[u8]]) {
    let [_, key, by] = argv else {
        return arity(ctx);
    };
    match parse_i64(by) {
        Some(by) => incr_decr(ctx, key, by),
        None => ctx.out.error(ERR_NOT_INT),
    }
}

fn decrby(ctx: &mut Ctx, argv: &[&[u8]]) {
    let [_, key, by] = argv else {
        return arity(ctx);
    };
    match parse_i64(by) {
        Some(i64::MIN) => ctx.out.error("ERR decrement would overflow"),
        Some(by) => incr_decr(ctx, key, -by),
        None => ctx.out.error(ERR_NOT_INT),
    }
}

fn incrbyfloat(ctx: &mut Ctx, argv: &[&[u8]]) {
    let [_, key, by] = argv else {
        return arity(ctx);
    };
    let cur = match ctx.ks.get_write(key) {
        None => Some(ld80::Ld::ZERO),
        Some(e) => match &e.value {
            Value::Int(i) => Some(ld80::Ld::from_i64(*i)),
            Value::Str(s) => ld80::Ld::parse(s),
            Value::Raw(r) => ld80::Ld::parse(r),
            _ => {
                ctx.out.error(WRONGTYPE);
                return;
            }
        },
    };
    let (Some(cur), Some(by)) = (cur, ld80::Ld::parse(by)) else {
        ctx.out.error(ERR_NOT_FLOAT);
        return;
    };
    let Some(sum) = cur.add_rounded(by) else {
        ctx.out.error("ERR increment would produce NaN or Infinity");
        return;
    };
    let text = sum.to_human_string();
    ctx.out.bulk(&text);
    // Propagated as SET key value KEEPTTL (no float rounding on replay).
    crate::propagate::rewrite(&[b"SET", key, &text, b"KEEPTTL"]);
    ctx.ks.set_keepttl(key, Value::Str(SBytes::from_vec(text)));
    ctx.ks.notify(notify::STRING, "incrbyfloat", key);
    ctx.ks.add_dirty(1);
}

// ---------------------------------------------------------------------------
// LCS

/// A read lookup that copies a string value out (LCS needs both at once).
enum Fetched {
    Missing,
    Bytes(Vec<u8>),
    WrongType,
}

fn fetch_string(ctx: &mut Ctx, key: &[u8]) -> Fetched {
    match ctx.ks.get(key) {
        None => Fetched::Missing,
        Some(e) => match e.value.to_bytes() {
            Some(b) => Fetched::Bytes(b),
            None => Fetched::WrongType,
        },
    }
}

fn lcs(ctx: &mut Ctx, argv: &[&[u8]]) {
    let [_, ka, kb, opts @ ..] = argv else {
        return arity(ctx);
    };
    let fa = fetch_string(ctx, ka);
    let fb = fetch_string(ctx, kb);
    let (a, b) = match (fa, fb) {
        (Fetched::WrongType, _) | (_, Fetched::WrongType) => {
            ctx.out
                .error("ERR The specified keys must contain string values");
            return;
        }
        (a, b) => {
            let bytes = |f| match f {
                Fetched::Bytes(v) => v,
                _ => Vec::new(),
            };
            (bytes(a), bytes(b))
        }
    };
    let (mut getlen, mut getidx, mut withmatchlen) = (false, false, false);
    let mut minmatchlen: i64 = 0;
    let mut j = 0;
    while let Some(&opt) = opts.get(j) {
        if eq_ic(opt, "idx") {
            getidx = true;
        } else if eq_ic(opt, "len") {
            getlen = true;
        } else if eq_ic(opt, "withmatchlen") {
            withmatchlen = true;
        } else if let (true, Some(n)) = (eq_ic(opt, "minmatchlen"), opts.get(j + 1)) {
            match parse_i64(n) {
                Some(v) => minmatchlen = v.max(0),
                None => {
                    ctx.out.error(ERR_NOT_INT);
                    return;
                }
            }
            j += 1;
        } else {
            ctx.out.error(ERR_SYNTAX);
            return;
        }
        j += 1;
    }
    if getidx && getlen {
        ctx.out
            .error("ERR If you want both the length and indexes, please just use IDX.");
        return;
    }
    if a.len() as u64 >= u32::MAX as u64 - 1 || b.len() as u64 >= u32::MAX as u64 - 1 {
        ctx.out.error("ERR String too long for LCS");
        return;
    }
    let (alen, blen) = (a.len(), b.len());
    let cells = (alen as u64 + 1) * (blen as u64 + 1);
    let bytes = cells.checked_mul(4);
    if let Some(n) = bytes {
        if n > ctx.srv.config.proto_max_bulk_len() as u64 {
            ctx.out.error(
                "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
            );
            return;
        }
    }
    let mut table: Vec<u32> = Vec::new();
    if bytes.is_none() || table.try_reserve_exact(cells as usize).is_err() {
        ctx.out
            .error("ERR Insufficient memory, failed allocating transient memory for LCS");
        return;
    }
    table.resize(cells as usize, 0);
    let w = blen + 1;
    let at = |t: &[u32], i: usize, j: usize| t.get(j + i * w).copied().unwrap_or(0);
    for i in 1..=alen {
        for j in 1..=blen {
            let v = if a.get(i - 1) == b.get(j - 1) {
                at(&table, i - 1, j - 1) + 1
            } else {
                at(&table, i - 1, j).max(at(&table, i, j - 1))
            };
            if let Some(c) = table.get_mut(j + i * w) {
                *c = v;
            }
        }
    }
    let total = at(&table, alen, blen);
    if getlen && !getidx {
        ctx.out.int(total as i64);
        return;
    }
    // Walk back from the end, collecting the LCS and its matching ranges
    // exactly as Redis does (ranges come out last-to-first).
    let mut result = vec![0u8; total as usize];
    let mut idx = total as usize;
    let mut ranges: Vec<[u32; 5]> = Vec::new();
    let (mut i, mut j) = (alen, blen);
    let unset = alen as u32;
    let (mut a_start, mut a_end, mut b_start, mut b_end) = (unset, 0u32, 0u32, 0u32);
    while i > 0 && j > 0 {
        let mut emit = false;
        if a.get(i - 1) == b.get(j - 1) {
            if let (Some(r), Some(&c)) = (result.get_mut(idx.wrapping_sub(1)), a.get(i - 1)) {
                *r = c;
            }
            if a_start == unset {
                a_start = (i - 1) as u32;
                a_end = (i - 1) as u32;
                b_start = (j - 1) as u32;
                b_end = (j - 1) as u32;
            } else if a_start == i as u32 && b_start == j as u32 {
                a_start -= 1;
                b_start -= 1;
            } else {
                emit = true;
            }
            if a_start == 0 || b_start == 0 {
                emit = true;
            }
            idx = idx.saturating_sub(1);
            i -= 1;
            j -= 1;
        } else {
            if at(&table, i - 1, j) > at(&table, i, j - 1) {
                i -= 1;
            } else {
                j -= 1;
            }
            if a_start != unset {
                emit = true;
            }
        }
        let match_len = a_end.wrapping_sub(a_start).wrapping_add(1);
        if emit {
            if getidx && (minmatchlen == 0 || match_len as i64 >= minmatchlen) {
                ranges.push([a_start, a_end, b_start, b_end, match_len]);
            }
            a_start = unset;
        }
    }
    drop(table);
    if getidx {
        ctx.out.map(2);
        ctx.out.bulk(b"matches");
        ctx.out.array(ranges.len());
        for r in &ranges {
            ctx.out.array(if withmatchlen { 3 } else { 2 });
            ctx.out.array(2);
            ctx.out.int(r[0] as i64);
            ctx.out.int(r[1] as i64);
            ctx.out.array(2);
            ctx.out.int(r[2] as i64);
            ctx.out.int(r[3] as i64);
            if withmatchlen {
                ctx.out.int(r[4] as i64);
            }
        }
        ctx.out.bulk(b"len");
        ctx.out.int(total as i64);
    } else {
        ctx.out.bulk(&result);
    }
}

// ---------------------------------------------------------------------------
// x87 long double arithmetic for INCRBYFLOAT

/// Software model of the x86-64 `long double` (x87 80-bit extended: 64-bit
/// significand, exponent range -16382..16383, gradual underflow) as Redis
/// uses it for INCRBYFLOAT: `strtold` parsing (correctly rounded, with
/// `string2ld`'s rejections), one correctly rounded addition, and
/// `ld2string(..., LD_STR_HUMAN)` (`%.17Lf`, trailing zeros trimmed, `-0`
/// shown as `0`). All three are exact to the bit, so replies match Redis on
/// x86-64 byte for byte; hosts whose `long double` is another format (e.g.
/// aarch64's binary128) would answer differently, and Spinel deliberately
/// follows x86-64.
pub mod ld80 {
    use std::cmp::Ordering;

    /// Quantum exponent of the smallest subnormal (2^-16445).
    const MIN_Q: i64 = -16445;
    /// Largest unbiased exponent.
    const MAX_EXP: i64 = 16383;
    /// `MAX_LONG_DOUBLE_CHARS`: longer inputs are rejected.
    const MAX_CHARS: usize = 5 * 1024;

    /// A finite value `m * 2^e` (sign separate, `m == 0` is zero) or an
    /// infinity.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Ld {
        Finite { neg: bool, m: u64, e: i32 },
        Inf { neg: bool },
    }

    /// Minimal arbitrary-precision unsigned integer (little-endian limbs),
    /// just what exact parsing, addition and printing need.
    #[derive(Clone, Debug, Default, PartialEq, Eq)]
    struct Big(Vec<u32>);

    impl Big {
        fn from_u128(v: u128) -> Big {
            let mut b = Big(vec![
                v as u32,
                (v >> 32) as u32,
                (v >> 64) as u32,
                (v >> 96) as u32,
            ]);
            b.trim();
            b
        }

        fn trim(&mut self) {
            while self.0.last() == Some(&0) {
                self.0.pop();
            }
        }

        fn is_zero(&self) -> bool {
            self.0.iter().all(|&w| w == 0)
        }

        fn bit_len(&self) -> i64 {
            match self.0.iter().rposition(|&w| w != 0) {
                None => 0,
                Some(i) => {
                    let top = self.0.get(i).copied().unwrap_or(0);
                    i as i64 * 32 + (32 - top.leading_zeros() as i64)
                }
            }
        }

        fn bit(&self, i: i64) -> bool {
            if i < 0 {
                return false;
            }
            let w = (i / 32) as usize;
            self.0.get(w).is_some_and(|x| (x >> (i % 32)) & 1 == 1)
        }

        /// Any bit set below position `n`?
        fn any_below(&self, n: i64) -> bool {
            if n <= 0 {
                return false;
            }
            let full = (n / 32) as usize;
            if self.0.iter().take(full).any(|&w| w != 0) {
                return true;
            }
            let rem = (n % 32) as u32;
            rem > 0
                && self
                    .0
                    .get(full)
                    .is_some_and(|&w| w & ((1u32 << rem) - 1) != 0)
        }

        /// `count` (<= 64) bits starting at bit `from`.
        fn bits_at(&self, from: i64, count: u32) -> u64 {
            let mut v = 0u64;
            for i in (0..count as i64).rev() {
                v = (v << 1) | self.bit(from + i) as u64;
            }
            v
        }

        fn mul_small(&mut self, m: u32) {
            let mut carry = 0u64;
            for w in self.0.iter_mut() {
                let p = *w as u64 * m as u64 + carry;
                *w = p as u32;
                carry = p >> 32;
            }
            if carry > 0 {
                self.0.push(carry as u32);
            }
        }

        fn add_small(&mut self, a: u32) {
            let mut carry = a as u64;
            for w in self.0.iter_mut() {
                if carry == 0 {
                    return;
                }
                let s = *w as u64 + carry;
                *w = s as u32;
                carry = s >> 32;
            }
            if carry > 0 {
                self.0.push(carry as u32);
            }
        }

        fn shl(&self, n: i64) -> Big {
            if self.is_zero() {
                return Big::default();
            }
            let n = n.max(0) as u64;
            let words = (n / 32) as usize;
            let bits = (n % 32) as u32;
            let mut out = vec![0u32; words];
            if bits == 0 {
                out.extend_from_slice(&self.0);
            } else {
                let mut carry = 0u32;
                for &w in &self.0 {
                    out.push((w << bits) | carry);
                    carry = w >> (32 - bits);
                }
                out.push(carry);
            }
            let mut b = Big(out);
            b.trim();
            b
        }

        fn cmp_big(&self, o: &Big) -> Ordering {
            let (mut x, mut y) = (self.clone(), o.clone());
            x.trim();
            y.trim();
            x.0.len()
                .cmp(&y.0.len())
                .then_with(|| x.0.iter().rev().cmp(y.0.iter().rev()))
        }

        fn add(&self, o: &Big) -> Big {
            let n = self.0.len().max(o.0.len());
            let mut out = Vec::with_capacity(n + 1);
            let mut carry = 0u64;
            for i in 0..n {
                let s = self.0.get(i).copied().unwrap_or(0) as u64
                    + o.0.get(i).copied().unwrap_or(0) as u64
                    + carry;
                out.push(s as u32);
                carry = s >> 32;
            }
            out.push(carry as u32);
            let mut b = Big(out);
            b.trim();
            b
        }

        /// `self - o`, requires `self >= o`.
        fn sub(&self, o: &Big) -> Big {
            let mut out = Vec::with_capacity(self.0.len());
            let mut borrow = 0i64;
            for (i, &w) in self.0.iter().enumerate() {
                let mut d = w as i64 - o.0.get(i).copied().unwrap_or(0) as i64 - borrow;
                borrow = 0;
                if d < 0 {
                    d += 1 << 32;
                    borrow = 1;
                }
                out.push(d as u32);
            }
            let mut b = Big(out);
            b.trim();
            b
        }

        fn divrem_small(&mut self, d: u32) -> u32 {
            let mut rem = 0u64;
            for w in self.0.iter_mut().rev() {
                let cur = (rem << 32) | *w as u64;
                *w = (cur / d as u64) as u32;
                rem = cur % d as u64;
            }
            self.trim();
            rem as u32
        }

        fn pow10(n: u32) -> Big {
            let mut b = Big(vec![1]);
            let mut left = n;
            while left >= 9 {
                b.mul_small(1_000_000_000);
                left -= 9;
            }
            if left > 0 {
                b.mul_small(10u32.pow(left));
            }
            b
        }

        fn to_decimal(&self) -> Vec<u8> {
            let mut x = self.clone();
            x.trim();
            if x.is_zero() {
                return b"0".to_vec();
            }
            let mut chunks = Vec::new();
            while !x.is_zero() {
                chunks.push(x.divrem_small(1_000_000_000));
            }
            let mut out = Vec::new();
            for (k, c) in chunks.iter().rev().enumerate() {
                if k == 0 {
                    out.extend_from_slice(c.to_string().as_bytes());
                } else {
                    out.extend_from_slice(format!("{:09}", c).as_bytes());
                }
            }
            out
        }

        /// Floor division whose quotient fits in 128 bits, plus whether the
        /// remainder is non-zero.
        fn div_small_quotient(&self, d: &Big) -> (u128, bool) {
            let qbits = (self.bit_len() - d.bit_len()).clamp(0, 127);
            let mut rem = self.clone();
            let mut q = 0u128;
            for i in (0..=qbits).rev() {
                let t = d.shl(i);
                if rem.cmp_big(&t) != Ordering::Less {
                    rem = rem.sub(&t);
                    q |= 1u128 << i;
                }
            }
            (q, !rem.is_zero())
        }
    }

    /// Rounding failure: the exact value is out of range.
    enum Range {
        Overflow,
        Underflow,
    }

    /// Rounds `n * 2^e2` (plus a sticky fraction below it when `sticky`) to
    /// the extended format, ties to even.
    fn round(neg: bool, n: &Big, e2: i64, sticky: bool) -> Result<Ld, Range> {
        if n.is_zero() {
            return Ok(Ld::Finite { neg, m: 0, e: 0 });
        }
        let l = n.bit_len();
        let top = l - 1 + e2;
        let mut q = (top - 63).max(MIN_Q);
        let shift = q - e2;
        let m = if shift <= 0 {
            // Exact: at most 64 significant bits after the shift.
            n.bits_at(0, l.min(64) as u32) << ((-shift).min(63) as u32)
        } else {
            let mut m = n.bits_at(shift, 64);
            let half = n.bit(shift - 1);
            let rest = sticky || n.any_below(shift - 1);
            if half && (rest || m & 1 == 1) {
                m = m.wrapping_add(1);
                if m == 0 {
                    m = 1 << 63;
                    q += 1;
                }
            }
            m
        };
        if m == 0 {
            return Err(Range::Underflow);
        }
        let top_bit = 63 - m.leading_zeros() as i64;
        if top_bit + q > MAX_EXP {
            return Err(Range::Overflow);
        }
        Ok(Ld::Finite {
            neg,
            m,
            e: q as i32,
        })
    }

    /// C `isspace` in the "C" locale.
    fn is_c_space(c: u8) -> bool {
        matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
    }

    /// Parses an optionally signed decimal exponent made only of digits
    /// (saturating far outside any meaningful range).
    fn parse_exp(s: &[u8]) -> Option<i64> {
        let (neg, d) = match s.first() {
            Some(b'-') => (true, s.get(1..)?),
            Some(b'+') => (false, s.get(1..)?),
            _ => (false, s),
        };
        if d.is_empty() || !d.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let mut v: i64 = 0;
        for &c in d {
            v = (v * 10 + (c - b'0') as i64).min(1_000_000_000);
        }
        Some(if neg { -v } else { v })
    }

    impl Ld {
        pub const ZERO: Ld = Ld::Finite {
            neg: false,
            m: 0,
            e: 0,
        };

        pub fn from_i64(v: i64) -> Ld {
            if v == 0 {
                return Ld::ZERO;
            }
            let a = v.unsigned_abs();
            let lz = a.leading_zeros();
            Ld::Finite {
                neg: v < 0,
                m: a << lz,
                e: -(lz as i32),
            }
        }

        /// `string2ld`: `strtold` over the whole input (no leading space,
        /// nothing left over), rejecting NaN, overflow and underflow to zero.
        pub fn parse(s: &[u8]) -> Option<Ld> {
            if s.is_empty() || s.len() >= MAX_CHARS || s.first().is_some_and(|&c| is_c_space(c)) {
                return None;
            }
            let (neg, body) = match s.first() {
                Some(b'-') => (true, s.get(1..)?),
                Some(b'+') => (false, s.get(1..)?),
                _ => (false, s),
            };
            if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
                return Some(Ld::Inf { neg });
            }
            if body.len() > 2 && (body.starts_with(b"0x") || body.starts_with(b"0X")) {
                return parse_hex(neg, body.get(2..)?);
            }
            parse_dec(neg, body)
        }

        /// `a + b` rounded like the x87 FPU; None for an infinite or NaN sum.
        pub fn add_rounded(self, other: Ld) -> Option<Ld> {
            let (
                Ld::Finite {
                    neg: na,
                    m: ma,
                    e: ea,
                },
                Ld::Finite {
                    neg: nb,
                    m: mb,
                    e: eb,
                },
            ) = (self, other)
            else {
                return None;
            };
            if ma == 0 && mb == 0 {
                return Some(Ld::Finite {
                    neg: na && nb,
                    m: 0,
                    e: 0,
                });
            }
            if ma == 0 {
                return Some(other);
            }
            if mb == 0 {
                return Some(self);
            }
            let emin = ea.min(eb) as i64;
            let xa = Big::from_u128(ma as u128).shl(ea as i64 - emin);
            let xb = Big::from_u128(mb as u128).shl(eb as i64 - emin);
            let (neg, n) = if na == nb {
                (na, xa.add(&xb))
            } else {
                match xa.cmp_big(&xb) {
                    Ordering::Equal => return Some(Ld::ZERO),
                    Ordering::Greater => (na, xa.sub(&xb)),
                    Ordering::Less => (nb, xb.sub(&xa)),
                }
            };
            round(neg, &n, emin, false).ok()
        }

        /// `ld2string(.., LD_STR_HUMAN)`: `%.17Lf` (round half to even on
        /// the exact value), trailing zeros and a trailing '.' removed,
        /// `-0` written as `0`.
        pub fn to_human_string(self) -> Vec<u8> {
            let (neg, m, e) = match self {
                Ld::Inf { neg } => {
                    return if neg {
                        b"-inf".to_vec()
                    } else {
                        b"inf".to_vec()
                    }
                }
                Ld::Finite { neg, m, e } => (neg, m, e as i64),
            };
            let mut out = Vec::new();
            if neg {
                out.push(b'-');
            }
            if e >= 0 {
                out.extend_from_slice(&Big::from_u128(m as u128).shl(e).to_decimal());
            } else {
                const SCALE: u128 = 100_000_000_000_000_000; // 10^17
                let k = -e;
                let (int, frac) = if k >= 64 {
                    (0u64, m)
                } else {
                    (m >> k, m & ((1u64 << k) - 1))
                };
                let (mut int, mut digits) = (int as u128, 0u128);
                // frac * 10^17 < 2^121; beyond 121 fraction bits it is < 1/2 ulp.
                if k <= 121 {
                    let f = frac as u128 * SCALE;
                    let q = f >> k;
                    let r = f - (q << k);
                    let half = 1u128 << (k - 1);
                    digits = q;
                    if r > half || (r == half && q & 1 == 1) {
                        digits += 1;
                    }
                    if digits == SCALE {
                        digits = 0;
                        int += 1;
                    }
                }
                out.extend_from_slice(int.to_string().as_bytes());
                let f = format!("{:017}", digits);
                let f = f.trim_end_matches('0');
                if !f.is_empty() {
                    out.push(b'.');
                    out.extend_from_slice(f.as_bytes());
                }
            }
            if out == b"-0" {
                out = b"0".to_vec();
            }
            out
        }
    }

    /// Decimal `strtold` body: digits with an optional point and exponent.
    fn parse_dec(neg: bool, s: &[u8]) -> Option<Ld> {
        let mut i = 0;
        let mut digits: Vec<u8> = Vec::new();
        let mut frac_digits: i64 = 0;
        let mut seen_digit = false;
        let mut seen_point = false;
        while let Some(&c) = s.get(i) {
            if c.is_ascii_digit() {
                seen_digit = true;
                if !(digits.is_empty() && c == b'0') {
                    digits.push(c - b'0');
                }
                if seen_point {
                    frac_digits += 1;
                }
            } else if c == b'.' && !seen_point {
                seen_point = true;
            } else {
                break;
            }
            i += 1;
        }
        if !seen_digit {
            return None;
        }
        let mut exp10: i64 = 0;
        if let Some(&c) = s.get(i) {
            if c != b'e' && c != b'E' {
                return None;
            }
            exp10 = parse_exp(s.get(i + 1..)?)?;
        }
        if digits.is_empty() {
            return Some(Ld::Finite { neg, m: 0, e: 0 });
        }
        // Leading zeros were dropped, so the value is in
        // [10^p, 10^(p+1)) with p the position of the first digit.
        let e10 = exp10 - frac_digits;
        let p = digits.len() as i64 - 1 + e10;
        if !(-4960..=4940).contains(&p) {
            return None;
        }
        let mut d = Big(vec![0]);
        for chunk in digits.chunks(9) {
            let mut v = 0u32;
            for &x in chunk {
                v = v * 10 + x as u32;
            }
            d.mul_small(10u32.pow(chunk.len() as u32));
            d.add_small(v);
        }
        let r = if e10 >= 0 {
            let mut n = d;
            let mut left = e10;
            while left >= 9 {
                n.mul_small(1_000_000_000);
                left -= 9;
            }
            if left > 0 {
                n.mul_small(10u32.pow(left as u32));
            }
            round(neg, &n, 0, false)
        } else {
            // value = d / 10^-e10: scale so the quotient has 67-68 bits.
            let b = Big::pow10((-e10) as u32);
            let k = b.bit_len() - d.bit_len() + 67;
            let (num, den) = if k >= 0 {
                (d.shl(k), b)
            } else {
                (d, b.shl(-k))
            };
            let (q, inexact) = num.div_small_quotient(&den);
            round(neg, &Big::from_u128(q), -k, inexact)
        };
        r.ok()
    }

    /// Hexadecimal `strtold` body after `0x`: hex digits with an optional
    /// point and binary exponent (`p`).
    fn parse_hex(neg: bool, s: &[u8]) -> Option<Ld> {
        let mut i = 0;
        let mut n = Big(vec![0]);
        let mut frac_digits: i64 = 0;
        let mut seen_digit = false;
        let mut seen_point = false;
        while let Some(&c) = s.get(i) {
            if let Some(v) = (c as char).to_digit(16) {
                seen_digit = true;
                if !n.is_zero() || v != 0 {
                    n.mul_small(16);
                    n.add_small(v);
                }
                if seen_point {
                    frac_digits += 1;
                }
            } else if c == b'.' && !seen_point {
                seen_point = true;
            } else {
                break;
            }
            i += 1;
        }
        if !seen_digit {
            return None;
        }
        let mut exp2: i64 = 0;
        if let Some(&c) = s.get(i) {
            if c != b'p' && c != b'P' {
                return None;
            }
            exp2 = parse_exp(s.get(i + 1..)?)?;
        }
        if n.is_zero() {
            return Some(Ld::Finite { neg, m: 0, e: 0 });
        }
        let e2 = exp2 - 4 * frac_digits;
        let top = n.bit_len() - 1 + e2;
        if !(-16500..=16400).contains(&top) {
            return None;
        }
        round(neg, &n, e2, false).ok()
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn incr(a: &str, b: &str) -> String {
            let x = Ld::parse(a.as_bytes()).expect("a");
            let y = Ld::parse(b.as_bytes()).expect("b");
            String::from_utf8(x.add_rounded(y).expect("finite").to_human_string()).expect("utf8")
        }

        #[test]
        fn known_results() {
            assert_eq!(incr("10.5", "0.1"), "10.6");
            assert_eq!(incr("1.1", "2.2"), "3.3");
            assert_eq!(incr("0", "3.0e3"), "3000");
            assert_eq!(incr("0", "-0.0"), "0");
            assert_eq!(incr("-0.0", "-1e-30"), "0");
            assert_eq!(incr("0", "1.23456789012345678"), "1.23456789012345678");
            assert_eq!(incr("0", "0x1.8p1"), "3");
            assert_eq!(incr("0", "0.000003814697265625"), "0.00000381469726562");
            assert_eq!(incr("0", "5e-18"), "0");
            assert_eq!(incr("0", "15e-18"), "0.00000000000000002");
            assert_eq!(incr("9223372036854775807", "1"), "9223372036854775808");
            assert_eq!(incr("0", "1e-4940"), "0");
            assert!(incr("0", "1e400")
                .starts_with("10000000000000000000281880683947586514586453433629"));
        }

        #[test]
        fn rejected_inputs() {
            for s in [
                "", " 1", "1 ", "abc", "nan", "1e", "1e+", ".", "0x", "0x1p", "1,5", "1.2e4932",
                "1e-5000", "--1", "1\0",
            ] {
                assert!(Ld::parse(s.as_bytes()).is_none(), "{:?}", s);
            }
            assert_eq!(Ld::parse(b"0e-5000"), Some(Ld::ZERO));
            assert_eq!(Ld::parse(b"inf"), Some(Ld::Inf { neg: false }));
            assert!(Ld::parse(b"inf")
                .and_then(|x| x.add_rounded(Ld::ZERO))
                .is_none());
        }
    }
}
