//! List commands (Redis 7.2 `t_list.c`): pushes and pops, ranges, LINSERT,
//! LPOS, LMOVE/LMPOP, and the blocking variants BLPOP, BRPOP, BLMOVE,
//! BRPOPLPUSH and BLMPOP on top of `crate::blocking`.
//!
//! The operations that a blocked client may have to perform later (pops and
//! moves) are written against `blocking::KeyStore`, so the same code runs
//! when the client's own command finds data and when another client's push
//! serves it.

use crate::blocking::{self, KeyStore, Op, Served};
use crate::cmd::util::{eq_ic, parse_i64};
use crate::dispatch::{CommandTable, Ctx, ERR_NOT_INT, ERR_SYNTAX, WRONGTYPE};
use crate::notify;
use spinel_keyspace::list::{End, ListValue, DEFAULT_FILL};
use spinel_keyspace::{SBytes, Value};
use spinel_resp::ReplyBuf;

pub fn register(t: &mut CommandTable) {
    t.add("lpush", lpush);
    t.add("rpush", rpush);
    t.add("lpushx", lpushx);
    t.add("rpushx", rpushx);
    t.add("lpop", lpop);
    t.add("rpop", rpop);
    t.add("llen", llen);
    t.add("lindex", lindex);
    t.add("lset", lset);
    t.add("lrange", lrange);
    t.add("ltrim", ltrim);
    t.add("lrem", lrem);
    t.add("linsert", linsert);
    t.add("lpos", lpos);
    t.add("lmove", lmove);
    t.add("rpoplpush", rpoplpush);
    t.add("lmpop", lmpop);
    t.add("blpop", blpop);
    t.add("brpop", brpop);
    t.add("blmove", blmove);
    t.add("brpoplpush", brpoplpush);
    t.add("blmpop", blmpop);
}

const ERR_NO_KEY: &str = "ERR no such key";
const ERR_INDEX: &str = "ERR index out of range";
const ERR_POSITIVE: &str = "ERR value is out of range, must be positive";

/// `list-max-listpack-size`.
fn fill_of(srv: &crate::server::Server) -> i64 {
    srv.config.list_max_listpack_size()
}

fn current_fill() -> i64 {
    crate::server::get().map(fill_of).unwrap_or(DEFAULT_FILL)
}

/// getLongFromObjectOrReply.
fn arg_long(a: &[u8]) -> Result<i64, &'static str> {
    parse_i64(a).ok_or(ERR_NOT_INT)
}

/// getRangeLongFromObjectOrReply with Redis's range message.
fn arg_range(a: &[u8], min: i64, max: i64, msg: Option<&'static str>) -> Result<i64, String> {
    let v = match parse_i64(a) {
        Some(v) => v,
        None => return Err(msg.unwrap_or(ERR_NOT_INT).to_string()),
    };
    if v < min || v > max {
        return Err(match msg {
            Some(m) => m.to_string(),
            None => format!(
                "ERR value is out of range, value must between {} and {}",
                min, max
            ),
        });
    }
    Ok(v)
}

fn end_of(a: &[u8]) -> Option<End> {
    if eq_ic(a, "left") {
        Some(End::Head)
    } else if eq_ic(a, "right") {
        Some(End::Tail)
    } else {
        None
    }
}

fn pop_event(end: End) -> &'static str {
    match end {
        End::Head => "lpop",
        End::Tail => "rpop",
    }
}

fn push_event(end: End) -> &'static str {
    match end {
        End::Head => "lpush",
        End::Tail => "rpush",
    }
}

/// A key's list, for handlers: Ok(None) when missing, Err on another type.
fn list_read<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<Option<&'a mut ListValue>, ()> {
    match ctx.ks.get(key) {
        None => Ok(None),
        Some(e) => match &mut e.value {
            Value::List(l) => Ok(Some(l)),
            _ => Err(()),
        },
    }
}

fn list_write<'a>(ks: &'a mut dyn KeyStore, key: &[u8]) -> Result<Option<&'a mut ListValue>, ()> {
    match ks.entry(key) {
        None => Ok(None),
        Some(e) => match &mut e.value {
            Value::List(l) => Ok(Some(l)),
            _ => Err(()),
        },
    }
}

/// listElementsRemoved: events, deletion of an emptied list, conversion
/// back to a listpack, dirty.
fn elements_removed(ks: &mut dyn KeyStore, key: &[u8], end: End, n: usize, fill: i64) {
    ks.notify(notify::LIST, pop_event(end), key);
    let empty = match list_write(ks, key) {
        Ok(Some(l)) => {
            if l.is_empty() {
                true
            } else {
                l.convert_after_shrink(fill);
                false
            }
        }
        _ => false,
    };
    if empty {
        ks.remove(key);
        ks.notify(notify::GENERIC, "del", key);
    }
    ks.modified(key);
    ks.add_dirty(n as u64);
}

/// Reply shapes of the pop family.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// LPOP key: a bulk string.
    Bulk,
    /// LPOP key count: an array.
    Array,
    /// BLPOP: [key, element].
    KeyBulk,
    /// LMPOP/BLMPOP: [key, [elements]].
    KeyArray,
}

enum Popped {
    Missing,
    WrongType,
    /// Popped this many elements.
    Done(usize),
}

/// How a pop is propagated (Redis 7.2): BLPOP/BRPOP as `[LR]POP key`,
/// LMPOP/BLMPOP as `[LR]POP key <popped>`; plain LPOP/RPOP as themselves.
fn pop_effect(key: &[u8], end: End, n: usize, shape: Shape) -> Option<Vec<Vec<u8>>> {
    let name: &[u8] = match end {
        End::Head => b"LPOP",
        End::Tail => b"RPOP",
    };
    match shape {
        Shape::Bulk | Shape::Array => None,
        Shape::KeyBulk => Some(vec![name.to_vec(), key.to_vec()]),
        Shape::KeyArray => Some(vec![
            name.to_vec(),
            key.to_vec(),
            n.to_string().into_bytes(),
        ]),
    }
}

fn as_slices(v: &[Vec<u8>]) -> smallvec::SmallVec<[&[u8]; 4]> {
    v.iter().map(|a| a.as_slice()).collect()
}

/// Pops up to `count` elements from one end and writes the reply.
fn pop_reply(
    ks: &mut dyn KeyStore,
    key: &[u8],
    end: End,
    count: usize,
    shape: Shape,
    fill: i64,
    out: &mut ReplyBuf,
) -> Popped {
    let n = {
        let l = match list_write(ks, key) {
            Err(()) => return Popped::WrongType,
            Ok(None) => return Popped::Missing,
            Ok(Some(l)) => l,
        };
        if l.is_empty() {
            return Popped::Missing;
        }
        let n = count.min(l.len());
        match shape {
            Shape::Bulk | Shape::KeyBulk => {
                let Some(v) = l.pop(end) else {
                    return Popped::Missing;
                };
                if shape == Shape::KeyBulk {
                    out.array(2);
                    out.bulk(key);
                }
                out.bulk(&v);
                1
            }
            Shape::Array | Shape::KeyArray => {
                if shape == Shape::KeyArray {
                    out.array(2);
                    out.bulk(key);
                }
                out.array(n);
                match end {
                    End::Head => {
                        for e in l.iter().take(n) {
                            out.bulk(e);
                        }
                        l.remove_range(0, n);
                    }
                    End::Tail => {
                        let mut left = n;
                        l.for_each_rev(|e| {
                            out.bulk(e);
                            left -= 1;
                            left > 0
                        });
                        let len = l.len();
                        l.remove_range(len - n, n);
                    }
                }
                n
            }
        }
    };
    elements_removed(ks, key, end, n, fill);
    Popped::Done(n)
}

/// LMOVE's body (also run when a blocked BLMOVE is served): pops from `src`,
/// pushes onto `dst`, replies with the element.
fn move_reply(
    ks: &mut dyn KeyStore,
    src: &[u8],
    dst: &[u8],
    from: End,
    to: End,
    fill: i64,
    out: &mut ReplyBuf,
) -> Served {
    match list_write(ks, src) {
        Err(()) => {
            out.error(WRONGTYPE);
            return Served::Done;
        }
        Ok(None) => {
            out.null();
            return Served::Done;
        }
        Ok(Some(l)) if l.is_empty() => {
            out.null();
            return Served::Done;
        }
        Ok(Some(_)) => {}
    }
    if !ks.lock(dst) {
        return Served::Retry;
    }
    let dst_exists = match list_write(ks, dst) {
        Err(()) => {
            out.error(WRONGTYPE);
            return Served::Done;
        }
        Ok(d) => d.is_some(),
    };
    let v = match list_write(ks, src) {
        Ok(Some(l)) => match l.pop(from) {
            Some(v) => v,
            None => {
                out.null();
                return Served::Done;
            }
        },
        _ => {
            out.null();
            return Served::Done;
        }
    };
    // lmoveHandlePush. For src == dst the list still exists (possibly
    // empty for the moment) and the element goes back onto it.
    match list_write(ks, dst) {
        Ok(Some(d)) => {
            d.convert_for_growth(fill, v.len(), 1);
            d.push(to, &v, fill);
            ks.readied(dst);
        }
        _ => {
            debug_assert!(!dst_exists);
            let mut l = ListValue::new();
            l.convert_for_growth(fill, v.len(), 1);
            l.push(to, &v, fill);
            ks.store(dst, Value::List(Box::new(l)));
        }
    }
    ks.modified(dst);
    ks.notify(notify::LIST, push_event(to), dst);
    out.bulk(&v);
    elements_removed(ks, src, from, 1, fill);
    Served::Done
}

// ---------------------------------------------------------------------------
// Pushes

fn lpush(ctx: &mut Ctx, argv: &[&[u8]]) {
    push(ctx, argv, End::Head, false)
}

fn rpush(ctx: &mut Ctx, argv: &[&[u8]]) {
    push(ctx, argv, End::Tail, false)
}

fn lpushx(ctx: &mut Ctx, argv: &[&[u8]]) {
    push(ctx, argv, End::Head, true)
}

fn rpushx(ctx: &mut Ctx, argv: &[&[u8]]) {
    push(ctx, argv, End::Tail, true)
}

fn push(ctx: &mut Ctx, argv: &[&[u8]], end: End, xx: bool) {
    let key = argv[1];
    let elems = &argv[2..];
    let fill = fill_of(ctx.srv);
    let add_bytes: usize = elems.iter().map(|e| e.len()).sum();
    let len = match ctx.ks.get_write(key) {
        Some(e) => match &mut e.value {
            Value::List(l) => {
                l.convert_for_growth(fill, add_bytes, elems.len());
                for x in elems {
                    l.push(end, x, fill);
                }
                l.fit();
                let n = l.len();
                ctx.ks.modified(key);
                n
            }
            _ => {
                ctx.out.error(WRONGTYPE);
                return;
            }
        },
        None => {
            if xx {
                ctx.out.int(0);
                return;
            }
            let mut l = ListValue::with_room_for(elems.iter().copied());
            l.convert_for_growth(fill, add_bytes, elems.len());
            for x in elems {
                l.push(end, x, fill);
            }
            l.fit();
            let n = l.len();
            ctx.ks.set(key, Value::List(Box::new(l)));
            n
        }
    };
    ctx.ks.add_dirty(elems.len() as u64);
    ctx.ks.notify(notify::LIST, push_event(end), key);
    ctx.out.int(len as i64);
    blocking::wake(ctx, key);
}

// ---------------------------------------------------------------------------
// Pops

fn lpop(ctx: &mut Ctx, argv: &[&[u8]]) {
    pop(ctx, argv, End::Head)
}

fn rpop(ctx: &mut Ctx, argv: &[&[u8]]) {
    pop(ctx, argv, End::Tail)
}

fn pop(ctx: &mut Ctx, argv: &[&[u8]], end: End) {
    if argv.len() > 3 {
        ctx.out.error(&crate::dispatch::arity_error(ctx.cmd.name));
        return;
    }
    let count = match argv.get(2) {
        None => None,
        Some(a) => match arg_range(a, 0, i64::MAX, Some(ERR_POSITIVE)) {
            Ok(v) => Some(v as usize),
            Err(e) => {
                ctx.out.error(&e);
                return;
            }
        },
    };
    let key = argv[1];
    let fill = fill_of(ctx.srv);
    let (n, shape) = match count {
        None => (1, Shape::Bulk),
        Some(c) => (c, Shape::Array),
    };
    match list_write(&mut ctx.ks, key) {
        Err(()) => {
            ctx.out.error(WRONGTYPE);
            return;
        }
        Ok(None) => {
            if count.is_some() {
                ctx.out.null_array();
            } else {
                ctx.out.null();
            }
            return;
        }
        Ok(Some(_)) => {}
    }
    if n == 0 {
        ctx.out.array(0);
        return;
    }
    if let Popped::Missing = pop_reply(&mut ctx.ks, key, end, n, shape, fill, ctx.out) {
        ctx.out.null();
    }
}

fn lmpop(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(req) = parse_mpop(ctx, argv, 1) else {
        return;
    };
    let fill = fill_of(ctx.srv);
    for k in req.keys {
        match pop_reply(
            &mut ctx.ks,
            k,
            req.end,
            req.count,
            Shape::KeyArray,
            fill,
            ctx.out,
        ) {
            Popped::Missing => continue,
            Popped::WrongType => {
                ctx.out.error(WRONGTYPE);
                return;
            }
            Popped::Done(n) => {
                if let Some(v) = pop_effect(k, req.end, n, Shape::KeyArray) {
                    crate::propagate::rewrite(&as_slices(&v));
                }
                return;
            }
        }
    }
    ctx.out.null_array();
}

struct MpopArgs<'a> {
    keys: &'a [&'a [u8]],
    end: End,
    count: usize,
}

/// `lmpopGenericCommand`'s parsing: numkeys at `numkeys_idx`, keys, LEFT|RIGHT, [COUNT n].
fn parse_mpop<'a>(ctx: &mut Ctx, argv: &'a [&'a [u8]], numkeys_idx: usize) -> Option<MpopArgs<'a>> {
    let numkeys = match arg_range(
        argv[numkeys_idx],
        1,
        i64::MAX,
        Some("ERR numkeys should be greater than 0"),
    ) {
        Ok(v) => v as usize,
        Err(e) => {
            ctx.out.error(&e);
            return None;
        }
    };
    let where_idx = numkeys_idx.saturating_add(numkeys).saturating_add(1);
    let Some(w) = argv.get(where_idx) else {
        ctx.out.error(ERR_SYNTAX);
        return None;
    };
    let Some(end) = end_of(w) else {
        ctx.out.error(ERR_SYNTAX);
        return None;
    };
    let mut count: Option<usize> = None;
    let mut j = where_idx + 1;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        if count.is_none() && eq_ic(argv[j], "count") && more > 0 {
            j += 1;
            match arg_range(
                argv[j],
                1,
                i64::MAX,
                Some("ERR count should be greater than 0"),
            ) {
                Ok(v) => count = Some(v as usize),
                Err(e) => {
                    ctx.out.error(&e);
                    return None;
                }
            }
        } else {
            ctx.out.error(ERR_SYNTAX);
            return None;
        }
        j += 1;
    }
    Some(MpopArgs {
        keys: &argv[numkeys_idx + 1..where_idx],
        end,
        count: count.unwrap_or(1),
    })
}

// ---------------------------------------------------------------------------
// Reads and in-place edits

fn llen(ctx: &mut Ctx, argv: &[&[u8]]) {
    match list_read(ctx, argv[1]) {
        Err(()) => ctx.out.error(WRONGTYPE),
        Ok(None) => ctx.out.int(0),
        Ok(Some(l)) => {
            let n = l.len() as i64;
            ctx.out.int(n)
        }
    }
}

fn lindex(ctx: &mut Ctx, argv: &[&[u8]]) {
    let out = &mut *ctx.out;
    let l = match ctx.ks.get(argv[1]) {
        None => {
            out.null();
            return;
        }
        Some(e) => match &e.value {
            Value::List(l) => l,
            _ => {
                out.error(WRONGTYPE);
                return;
            }
        },
    };
    let i = match arg_long(argv[2]) {
        Ok(i) => i,
        Err(e) => {
            out.error(e);
            return;
        }
    };
    match l.index(i).and_then(|i| l.get(i)) {
        Some(v) => out.bulk(v),
        None => out.null(),
    }
}

fn lset(ctx: &mut Ctx, argv: &[&[u8]]) {
    let key = argv[1];
    let fill = fill_of(ctx.srv);
    let l = match ctx.ks.get_write(key) {
        None => {
            ctx.out.error(ERR_NO_KEY);
            return;
        }
        Some(e) => match &mut e.value {
            Value::List(l) => l,
            _ => {
                ctx.out.error(WRONGTYPE);
                return;
            }
        },
    };
    let i = match arg_long(argv[2]) {
        Ok(i) => i,
        Err(e) => {
            ctx.out.error(e);
            return;
        }
    };
    let v = argv[3];
    l.convert_for_growth(fill, v.len(), 1);
    let ok = match l.index(i) {
        Some(i) => l.set(i, v, fill),
        None => false,
    };
    if !ok {
        ctx.out.error(ERR_INDEX);
        return;
    }
    l.convert_after_shrink(fill);
    ctx.ks.modified(key);
    ctx.ks.notify(notify::LIST, "lset", key);
    ctx.ks.add_dirty(1);
    ctx.out.ok();
}

/// Normalizes a [start, end] range for a list of `len`; None when empty.
fn range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let llen = len as i64;
    let mut s = if start < 0 {
        llen.saturating_add(start)
    } else {
        start
    };
    let mut e = if end < 0 {
        llen.saturating_add(end)
    } else {
        end
    };
    if s < 0 {
        s = 0;
    }
    if s > e || s >= llen {
        return None;
    }
    if e >= llen {
        e = llen - 1;
    }
    Some((s as usize, e as usize))
}

fn lrange(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (start, end) = match (arg_long(argv[2]), arg_long(argv[3])) {
        (Ok(s), Ok(e)) => (s, e),
        (Err(e), _) | (_, Err(e)) => {
            ctx.out.error(e);
            return;
        }
    };
    let out = &mut *ctx.out;
    let l = match ctx.ks.get(argv[1]) {
        None => {
            out.array(0);
            return;
        }
        Some(e) => match &e.value {
            Value::List(l) => l,
            _ => {
                out.error(WRONGTYPE);
                return;
            }
        },
    };
    match range(start, end, l.len()) {
        None => out.array(0),
        Some((s, e)) => {
            let n = e - s + 1;
            out.array(n);
            for v in l.iter_from(s).take(n) {
                out.bulk(v);
            }
        }
    }
}

fn ltrim(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (start, end) = match (arg_long(argv[2]), arg_long(argv[3])) {
        (Ok(s), Ok(e)) => (s, e),
        (Err(e), _) | (_, Err(e)) => {
            ctx.out.error(e);
            return;
        }
    };
    let key = argv[1];
    let fill = fill_of(ctx.srv);
    let (trimmed, empty) = match ctx.ks.get_write(key) {
        None => {
            ctx.out.ok();
            return;
        }
        Some(e) => match &mut e.value {
            Value::List(l) => {
                let len = l.len();
                let (ltrim, rtrim) = match range(start, end, len) {
                    None => (len, 0),
                    Some((s, e)) => (s, len - e - 1),
                };
                l.remove_range(0, ltrim);
                let rest = l.len();
                l.remove_range(rest - rtrim.min(rest), rtrim);
                let empty = l.is_empty();
                if !empty {
                    l.convert_after_shrink(fill);
                }
                (ltrim + rtrim, empty)
            }
            _ => {
                ctx.out.error(WRONGTYPE);
                return;
            }
        },
    };
    ctx.ks.notify(notify::LIST, "ltrim", key);
    if empty {
        ctx.ks.delete(key);
        ctx.ks.notify(notify::GENERIC, "del", key);
    }
    if trimmed > 0 {
        ctx.ks.modified(key);
    }
    ctx.ks.add_dirty(trimmed as u64);
    ctx.out.ok();
}

fn lrem(ctx: &mut Ctx, argv: &[&[u8]]) {
    // Redis 7.2 accepts LONG_MIN: negating it overflows back to a negative
    // count that never matches, i.e. "remove all, from the tail".
    let count = match arg_range(argv[2], i64::MIN, i64::MAX, None) {
        Ok(v) => v,
        Err(e) => {
            ctx.out.error(&e);
            return;
        }
    };
    let key = argv[1];
    let fill = fill_of(ctx.srv);
    let (removed, empty) = match ctx.ks.get_write(key) {
        None => {
            ctx.out.int(0);
            return;
        }
        Some(e) => match &mut e.value {
            Value::List(l) => {
                let limit = count.unsigned_abs().min(usize::MAX as u64) as usize;
                let removed = l.remove_matching(argv[3], limit, count < 0);
                let empty = l.is_empty();
                if removed > 0 && !empty {
                    l.convert_after_shrink(fill);
                }
                (removed, empty)
            }
            _ => {
                ctx.out.error(WRONGTYPE);
                return;
            }
        },
    };
    if removed > 0 {
        ctx.ks.notify(notify::LIST, "lrem", key);
        if empty {
            ctx.ks.delete(key);
            ctx.ks.notify(notify::GENERIC, "del", key);
        }
        ctx.ks.modified(key);
        ctx.ks.add_dirty(removed as u64);
    }
    ctx.out.int(removed as i64);
}

fn linsert(ctx: &mut Ctx, argv: &[&[u8]]) {
    let after = if eq_ic(argv[2], "after") {
        true
    } else if eq_ic(argv[2], "before") {
        false
    } else {
        ctx.out.error(ERR_SYNTAX);
        return;
    };
    let key = argv[1];
    let (pivot, v) = (argv[3], argv[4]);
    let fill = fill_of(ctx.srv);
    let len = match ctx.ks.get_write(key) {
        None => {
            ctx.out.int(0);
            return;
        }
        Some(e) => match &mut e.value {
            Value::List(l) => {
                l.convert_for_growth(fill, v.len(), 1);
                match l.iter().position(|x| x == pivot) {
                    Some(i) => {
                        l.insert(i, v, after, fill);
                        Some(l.len())
                    }
                    None => None,
                }
            }
            _ => {
                ctx.out.error(WRONGTYPE);
                return;
            }
        },
    };
    match len {
        Some(n) => {
            ctx.ks.modified(key);
            ctx.ks.notify(notify::LIST, "linsert", key);
            ctx.ks.add_dirty(1);
            ctx.out.int(n as i64);
        }
        None => ctx.out.int(-1),
    }
}

fn lpos(ctx: &mut Ctx, argv: &[&[u8]]) {
    let ele = argv[2];
    let mut rank: i64 = 1;
    let mut count: i64 = -1;
    let mut maxlen: i64 = 0;
    let mut j = 3;
    while j < argv.len() {
        let opt = argv[j];
        let more = argv.len() - 1 - j;
        if eq_ic(opt, "rank") && more > 0 {
            j += 1;
            match arg_range(argv[j], -i64::MAX, i64::MAX, None) {
                Ok(0) => {
                    ctx.out.error("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list");
                    return;
                }
                Ok(v) => rank = v,
                Err(e) => {
                    ctx.out.error(&e);
                    return;
                }
            }
        } else if eq_ic(opt, "count") && more > 0 {
            j += 1;
            match arg_range(argv[j], 0, i64::MAX, Some("ERR COUNT can't be negative")) {
                Ok(v) => count = v,
                Err(e) => {
                    ctx.out.error(&e);
                    return;
                }
            }
        } else if eq_ic(opt, "maxlen") && more > 0 {
            j += 1;
            match arg_range(argv[j], 0, i64::MAX, Some("ERR MAXLEN can't be negative")) {
                Ok(v) => maxlen = v,
                Err(e) => {
                    ctx.out.error(&e);
                    return;
                }
            }
        } else {
            ctx.out.error(ERR_SYNTAX);
            return;
        }
        j += 1;
    }
    let from_tail = rank < 0;
    let rank = rank.unsigned_abs();
    let out = &mut *ctx.out;
    let l = match ctx.ks.get(argv[1]) {
        None => {
            if count != -1 {
                out.array(0);
            } else {
                out.null();
            }
            return;
        }
        Some(e) => match &e.value {
            Value::List(l) => l,
            _ => {
                out.error(WRONGTYPE);
                return;
            }
        },
    };
    let len = l.len();
    let maxlen = maxlen as u64;
    let mut hits: Vec<usize> = Vec::new();
    let mut matches: u64 = 0;
    let mut scanned: u64 = 0;
    let mut visit = |idx: usize, x: &[u8]| -> bool {
        if maxlen != 0 && scanned >= maxlen {
            return false;
        }
        scanned += 1;
        if x == ele {
            matches += 1;
            if matches >= rank {
                hits.push(idx);
                if count == -1 {
                    return false;
                }
                if count != 0 && (matches - rank + 1) >= count as u64 {
                    return false;
                }
            }
        }
        true
    };
    if from_tail {
        let mut idx = len;
        l.for_each_rev(|x| {
            idx -= 1;
            visit(idx, x)
        });
    } else {
        for (i, x) in l.iter().enumerate() {
            if !visit(i, x) {
                break;
            }
        }
    }
    if count != -1 {
        out.array(hits.len());
        for h in hits {
            out.int(h as i64);
        }
    } else {
        match hits.first() {
            Some(&h) => out.int(h as i64),
            None => out.null(),
        }
    }
}

// ---------------------------------------------------------------------------
// Moves

fn lmove(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (Some(from), Some(to)) = (end_of(argv[3]), end_of(argv[4])) else {
        ctx.out.error(ERR_SYNTAX);
        return;
    };
    do_move(ctx, argv[1], argv[2], from, to);
}

fn rpoplpush(ctx: &mut Ctx, argv: &[&[u8]]) {
    do_move(ctx, argv[1], argv[2], End::Tail, End::Head);
}

fn do_move(ctx: &mut Ctx, src: &[u8], dst: &[u8], from: End, to: End) {
    let fill = fill_of(ctx.srv);
    move_reply(&mut ctx.ks, src, dst, from, to, fill, ctx.out);
    blocking::wake(ctx, dst);
}

// ---------------------------------------------------------------------------
// Blocking variants

/// A blocked BLPOP/BRPOP/BLMPOP.
struct PopWaiter {
    end: End,
    count: usize,
    shape: Shape,
}

impl Op for PopWaiter {
    fn ready(&self, v: &Value) -> bool {
        matches!(v, Value::List(l) if !l.is_empty())
    }

    fn serve(&self, ks: &mut dyn KeyStore, key: &[u8], out: &mut ReplyBuf) -> Served {
        let fill = current_fill();
        match pop_reply(ks, key, self.end, self.count, self.shape, fill, out) {
            Popped::Done(n) => {
                if let Some(v) = pop_effect(key, self.end, n, self.shape) {
                    crate::propagate::served(ks.db(), &as_slices(&v));
                }
            }
            Popped::WrongType => out.error(WRONGTYPE),
            Popped::Missing => out.null_array(),
        }
        Served::Done
    }
}

/// A blocked BLMOVE/BRPOPLPUSH.
struct MoveWaiter {
    dst: SBytes,
    from: End,
    to: End,
    /// What serving it propagates: `LMOVE src dst <from> <to>` with the
    /// client's own direction arguments, or `RPOPLPUSH src dst`.
    effect: Vec<Vec<u8>>,
}

/// The propagated form of a BLMOVE / BRPOPLPUSH (`dirs`: BLMOVE's
/// direction arguments as given).
fn move_effect(src: &[u8], dst: &[u8], dirs: Option<(&[u8], &[u8])>) -> Vec<Vec<u8>> {
    match dirs {
        Some((f, t)) => vec![
            b"LMOVE".to_vec(),
            src.to_vec(),
            dst.to_vec(),
            f.to_vec(),
            t.to_vec(),
        ],
        None => vec![b"RPOPLPUSH".to_vec(), src.to_vec(), dst.to_vec()],
    }
}

/// Whether a move reply written from `start` carries an element (the move
/// happened).
fn moved(out: &ReplyBuf, start: usize) -> bool {
    let b = out.buf.get(start..).unwrap_or(&[]);
    b.first() == Some(&b'$') && b.get(1) != Some(&b'-')
}

impl Op for MoveWaiter {
    fn ready(&self, v: &Value) -> bool {
        matches!(v, Value::List(l) if !l.is_empty())
    }

    fn serve(&self, ks: &mut dyn KeyStore, key: &[u8], out: &mut ReplyBuf) -> Served {
        let fill = current_fill();
        let start = out.buf.len();
        let r = move_reply(ks, key, &self.dst, self.from, self.to, fill, out);
        if matches!(r, Served::Done) && moved(out, start) {
            crate::propagate::served(ks.db(), &as_slices(&self.effect));
        }
        r
    }
}

fn blpop(ctx: &mut Ctx, argv: &[&[u8]]) {
    bpop(ctx, argv, End::Head)
}

fn brpop(ctx: &mut Ctx, argv: &[&[u8]]) {
    bpop(ctx, argv, End::Tail)
}

fn bpop(ctx: &mut Ctx, argv: &[&[u8]], end: End) {
    let Some(&last) = argv.last() else {
        return;
    };
    let deadline = match blocking::parse_timeout(last, ctx.ks.now) {
        Ok(d) => d,
        Err(e) => {
            ctx.out.error(e);
            return;
        }
    };
    let keys = &argv[1..argv.len() - 1];
    block_pop(ctx, keys, end, 1, Shape::KeyBulk, deadline);
}

/// blockingPopGenericCommand: pops from the first non-empty key, or blocks.
fn block_pop(
    ctx: &mut Ctx,
    keys: &[&[u8]],
    end: End,
    count: usize,
    shape: Shape,
    deadline: Option<i64>,
) {
    let fill = fill_of(ctx.srv);
    for k in keys {
        match pop_reply(&mut ctx.ks, k, end, count, shape, fill, ctx.out) {
            Popped::Missing => continue,
            Popped::WrongType => {
                ctx.out.error(WRONGTYPE);
                return;
            }
            Popped::Done(n) => {
                if let Some(v) = pop_effect(k, end, n, shape) {
                    crate::propagate::rewrite(&as_slices(&v));
                }
                return;
            }
        }
    }
    if !blocking::may_block(ctx) {
        ctx.out.null_array();
        return;
    }
    blocking::block(
        ctx,
        keys,
        Box::new(PopWaiter { end, count, shape }),
        deadline,
    );
}

fn blmpop(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(req) = parse_mpop(ctx, argv, 2) else {
        return;
    };
    let deadline = match blocking::parse_timeout(argv[1], ctx.ks.now) {
        Ok(d) => d,
        Err(e) => {
            ctx.out.error(e);
            return;
        }
    };
    block_pop(ctx, req.keys, req.end, req.count, Shape::KeyArray, deadline);
}

fn blmove(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (Some(from), Some(to)) = (end_of(argv[3]), end_of(argv[4])) else {
        ctx.out.error(ERR_SYNTAX);
        return;
    };
    let deadline = match blocking::parse_timeout(argv[5], ctx.ks.now) {
        Ok(d) => d,
        Err(e) => {
            ctx.out.error(e);
            return;
        }
    };
    block_move(
        ctx,
        argv[1],
        argv[2],
        from,
        to,
        deadline,
        Some((argv[3], argv[4])),
    );
}

fn brpoplpush(ctx: &mut Ctx, argv: &[&[u8]]) {
    let deadline = match blocking::parse_timeout(argv[3], ctx.ks.now) {
        Ok(d) => d,
        Err(e) => {
            ctx.out.error(e);
            return;
        }
    };
    block_move(ctx, argv[1], argv[2], End::Tail, End::Head, deadline, None);
}

fn block_move(
    ctx: &mut Ctx,
    src: &[u8],
    dst: &[u8],
    from: End,
    to: End,
    deadline: Option<i64>,
    dirs: Option<(&[u8], &[u8])>,
) {
    match list_write(&mut ctx.ks, src) {
        Err(()) => {
            ctx.out.error(WRONGTYPE);
            return;
        }
        Ok(Some(_)) => {
            let start = ctx.out.buf.len();
            do_move(ctx, src, dst, from, to);
            if moved(ctx.out, start) {
                crate::propagate::rewrite(&as_slices(&move_effect(src, dst, dirs)));
            }
            return;
        }
        Ok(None) => {}
    }
    if !blocking::may_block(ctx) {
        ctx.out.null();
        return;
    }
    blocking::block(
        ctx,
        &[src],
        Box::new(MoveWaiter {
            dst: SBytes::new(dst),
            from,
            to,
            effect: move_effect(src, dst, dirs),
        }),
        deadline,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(range(0, -1, 3), Some((0, 2)));
        assert_eq!(range(-100, 100, 3), Some((0, 2)));
        assert_eq!(range(2, 1, 3), None);
        assert_eq!(range(3, 5, 3), None);
        assert_eq!(range(i64::MIN, i64::MAX, 3), Some((0, 2)));
    }
}
