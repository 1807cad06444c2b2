//! Set commands (Redis 7.2 `t_set.c`): SADD SREM SMEMBERS SISMEMBER
//! SMISMEMBER SCARD SPOP SRANDMEMBER SMOVE SINTER SINTERCARD SINTERSTORE
//! SUNION SUNIONSTORE SDIFF SDIFFSTORE SSCAN.
//!
//! The algebra commands follow Redis's algorithms step by step (which set
//! is walked, in which order results are built, which encoding a result
//! starts in), because that decides both the order of small replies and the
//! encoding of stored results. Multi-key commands read one set at a time:
//! the candidates of the walked set are copied out and filtered set by set.

use crate::cmd::hash::{
    config_usize, parse_random_count, parse_scan_opts, reply_empty_scan, MAX_RANDOM_REPLY_BYTES,
};
use crate::cmd::util::{eq_ic, parse_i64, parse_scan_cursor};
use crate::dispatch::{Access, CommandTable, Ctx, ERR_SYNTAX, WRONGTYPE};
use crate::notify;
use rand::seq::index;
use rand::Rng;
use spinel_keyspace::set::{Member, SetLimits, SetValue};
use spinel_keyspace::{SBytes, Value};
use spinel_resp::ReplyBuf;
use std::collections::HashSet;

pub fn register(t: &mut CommandTable) {
    t.add("sadd", sadd);
    t.add("srem", srem);
    t.add("smembers", smembers);
    t.add("sismember", sismember);
    t.add("smismember", smismember);
    t.add("scard", scard);
    t.add("spop", spop);
    t.add("srandmember", srandmember);
    t.add("smove", smove);
    t.add("sinter", sinter);
    t.add("sintercard", sintercard);
    t.add("sinterstore", sinterstore);
    t.add("sunion", sunion);
    t.add("sunionstore", sunionstore);
    t.add("sdiff", sdiff);
    t.add("sdiffstore", sdiffstore);
    t.add("sscan", sscan);
}

fn limits(ctx: &Ctx) -> SetLimits {
    const INTSET: usize = crate::config::param_index("set-max-intset-entries");
    const ENTRIES: usize = crate::config::param_index("set-max-listpack-entries");
    const VALUE: usize = crate::config::param_index("set-max-listpack-value");
    SetLimits {
        max_intset_entries: config_usize(ctx, INTSET),
        max_listpack_entries: config_usize(ctx, ENTRIES),
        max_listpack_value: config_usize(ctx, VALUE),
    }
}

enum Found<'a> {
    Missing,
    WrongType,
    Set(&'a mut SetValue),
}

fn read<'a>(ks: &'a mut Access, key: &[u8]) -> Found<'a> {
    match ks.get(key) {
        None => Found::Missing,
        Some(e) => match &mut e.value {
            Value::Set(s) => Found::Set(s),
            _ => Found::WrongType,
        },
    }
}

fn write<'a>(ks: &'a mut Access, key: &[u8]) -> Found<'a> {
    match ks.get_write(key) {
        None => Found::Missing,
        Some(e) => match &mut e.value {
            Value::Set(s) => Found::Set(s),
            _ => Found::WrongType,
        },
    }
}

/// A second look at a set already looked up (and type-checked) by this
/// command: no stats, no expiry side effects.
fn peek<'a>(ks: &'a mut Access, key: &[u8]) -> Option<&'a SetValue> {
    let now = ks.now;
    let (sh, h) = ks.shard_of(key);
    match sh.peek(h, key, now).map(|e| &e.value) {
        Some(Value::Set(s)) => Some(s),
        _ => None,
    }
}

#[inline]
fn reply_member(out: &mut ReplyBuf, m: Member) {
    match m {
        Member::Int(v) => out.bulk_int(v),
        Member::Str(s) => out.bulk(s),
    }
}

/// A member copied out of a set.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Owned {
    Int(i64),
    Bytes(SBytes),
}

impl Owned {
    fn of(m: Member) -> Owned {
        match m {
            Member::Int(v) => Owned::Int(v),
            Member::Str(s) => Owned::Bytes(SBytes::new(s)),
        }
    }

    fn member(&self) -> Member<'_> {
        match self {
            Owned::Int(v) => Member::Int(*v),
            Owned::Bytes(b) => Member::Str(b.as_slice()),
        }
    }
}

fn sadd(ctx: &mut Ctx, argv: &[&[u8]]) {
    let key = argv[1];
    let members = &argv[2..];
    let lim = limits(ctx);
    let added = match write(&mut ctx.ks, key) {
        Found::WrongType => {
            ctx.out.error(WRONGTYPE);
            return;
        }
        Found::Set(s) => {
            s.maybe_convert(members.len(), &lim);
            let added = s.add_many(members, &lim) as u64;
            if added > 0 {
                ctx.ks.modified(key);
            }
            added
        }
        Found::Missing => {
            let first = members.first().copied().unwrap_or_default();
            let mut s = SetValue::create(first, members.len(), &lim);
            let added = s.add_many(members, &lim) as u64;
            ctx.ks.set(key, Value::Set(s));
            added
        }
    };
    if added > 0 {
        ctx.ks.notify(notify::SET, "sadd", key);
    }
    ctx.ks.add_dirty(added);
    ctx.out.int(added as i64);
}

fn srem(ctx: &mut Ctx, argv: &[&[u8]]) {
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
        Found::Set(s) => {
            let mut deleted = 0u64;
            for m in &argv[2..] {
                if s.remove(m) {
                    deleted += 1;
                    if s.is_empty() {
                        break;
                    }
                }
            }
            (deleted, s.is_empty())
        }
    };
    if deleted > 0 {
        if emptied {
            ctx.ks.delete(key);
        }
        ctx.ks.modified(key);
        ctx.ks.notify(notify::SET, "srem", key);
        if emptied {
            ctx.ks.notify(notify::GENERIC, "del", key);
        }
        ctx.ks.add_dirty(deleted);
    }
    ctx.out.int(deleted as i64);
}

fn smembers(ctx: &mut Ctx, argv: &[&[u8]]) {
    match read(&mut ctx.ks, argv[1]) {
        Found::Missing => ctx.out.set(0),
        Found::WrongType => ctx.out.error(WRONGTYPE),
        Found::Set(s) => {
            ctx.out.set(s.len());
            for m in s.iter() {
                reply_member(ctx.out, m);
            }
        }
    }
}

fn sismember(ctx: &mut Ctx, argv: &[&[u8]]) {
    match read(&mut ctx.ks, argv[1]) {
        Found::Missing => ctx.out.int(0),
        Found::WrongType => ctx.out.error(WRONGTYPE),
        Found::Set(s) => ctx.out.int(s.contains(argv[2]) as i64),
    }
}

fn smismember(ctx: &mut Ctx, argv: &[&[u8]]) {
    let members = &argv[2..];
    match read(&mut ctx.ks, argv[1]) {
        Found::WrongType => ctx.out.error(WRONGTYPE),
        Found::Missing => {
            ctx.out.array(members.len());
            for _ in members {
                ctx.out.int(0);
            }
        }
        Found::Set(s) => {
            ctx.out.array(members.len());
            for m in members {
                ctx.out.int(s.contains(m) as i64);
            }
        }
    }
}

fn scard(ctx: &mut Ctx, argv: &[&[u8]]) {
    match read(&mut ctx.ks, argv[1]) {
        Found::Missing => ctx.out.int(0),
        Found::WrongType => ctx.out.error(WRONGTYPE),
        Found::Set(s) => ctx.out.int(s.len() as i64),
    }
}

fn smove(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (src, dst, ele) = (argv[1], argv[2], argv[3]);
    let lim = limits(ctx);
    // Both lookups first, as Redis does, then the type checks.
    let src_state = match write(&mut ctx.ks, src) {
        Found::Missing => None,
        Found::WrongType => Some(false),
        Found::Set(_) => Some(true),
    };
    let dst_state = match write(&mut ctx.ks, dst) {
        Found::Missing => None,
        Found::WrongType => Some(false),
        Found::Set(_) => Some(true),
    };
    match (src_state, dst_state) {
        (None, _) => {
            ctx.out.int(0);
            return;
        }
        (Some(false), _) | (_, Some(false)) => {
            ctx.out.error(WRONGTYPE);
            return;
        }
        _ => {}
    }
    if src == dst {
        let is = matches!(write(&mut ctx.ks, src), Found::Set(s) if s.contains(ele));
        ctx.out.int(is as i64);
        return;
    }
    let (removed, emptied) = match write(&mut ctx.ks, src) {
        Found::Set(s) => {
            let r = s.remove(ele);
            (r, s.is_empty())
        }
        _ => (false, false),
    };
    if !removed {
        ctx.out.int(0);
        return;
    }
    ctx.ks.notify(notify::SET, "srem", src);
    if emptied {
        ctx.ks.delete(src);
        ctx.ks.notify(notify::GENERIC, "del", src);
    }
    ctx.ks.modified(src);
    ctx.ks.add_dirty(1);
    let added = match write(&mut ctx.ks, dst) {
        Found::Set(s) => s.add(ele, &lim),
        _ => {
            let mut s = SetValue::create(ele, 1, &lim);
            s.add(ele, &lim);
            ctx.ks.set(dst, Value::Set(s));
            true
        }
    };
    if added {
        ctx.ks.add_dirty(1);
        ctx.ks.modified(dst);
        ctx.ks.notify(notify::SET, "sadd", dst);
    }
    ctx.out.int(1);
}

// ---------------------------------------------------------------------------
// SPOP / SRANDMEMBER

/// How much bigger the set must be than what is left for SPOP to pop
/// elements one by one rather than rebuild the remaining set.
const SPOP_MOVE_STRATEGY_MUL: usize = 5;
/// SRANDMEMBER's switch between copy-and-remove and random picks.
const SRANDMEMBER_SUB_STRATEGY_MUL: usize = 3;

fn spop(ctx: &mut Ctx, argv: &[&[u8]]) {
    if argv.len() == 3 {
        return spop_count(ctx, argv);
    }
    if argv.len() > 3 {
        ctx.out.error(ERR_SYNTAX);
        return;
    }
    let key = argv[1];
    let (ele, emptied) = match write(&mut ctx.ks, key) {
        Found::Missing => {
            ctx.out.null();
            return;
        }
        Found::WrongType => {
            ctx.out.error(WRONGTYPE);
            return;
        }
        Found::Set(s) => {
            let e = s.pop_random(&mut rand::thread_rng());
            (e, s.is_empty())
        }
    };
    ctx.ks.notify(notify::SET, "spop", key);
    match ele {
        Some(e) => {
            ctx.out.bulk(&e);
            // Propagated as SREM key member.
            crate::propagate::rewrite(&[b"SREM", key, &e]);
        }
        None => ctx.out.null(),
    }
    if emptied {
        ctx.ks.delete(key);
        ctx.ks.notify(notify::GENERIC, "del", key);
    }
    ctx.ks.modified(key);
    ctx.ks.add_dirty(1);
}

/// Adds every member of `src` to `dst` (SUNION's step); returns how many
/// were new.
fn union_into(dst: &mut SetValue, src: &SetValue, lim: &SetLimits) -> usize {
    src.iter().filter(|m| dst.add_member(*m, lim)).count()
}

fn spop_count(ctx: &mut Ctx, argv: &[&[u8]]) {
    let key = argv[1];
    let count = match parse_i64(argv[2]) {
        Some(c) if c >= 0 => c as usize,
        _ => {
            ctx.out.error("ERR value is out of range, must be positive");
            return;
        }
    };
    let lim = limits(ctx);
    let size = match write(&mut ctx.ks, key) {
        Found::Missing => {
            ctx.out.set(0);
            return;
        }
        Found::WrongType => {
            ctx.out.error(WRONGTYPE);
            return;
        }
        Found::Set(s) => s.len(),
    };
    if count == 0 {
        ctx.out.set(0);
        return;
    }
    ctx.ks.notify(notify::SET, "spop", key);
    ctx.ks.add_dirty(count.min(size) as u64);
    let reply_start = ctx.out.buf.len();
    // CASE 1: everything goes; the reply is the set as SUNION would build it.
    if count >= size {
        // Propagated as the deletion of the whole set.
        let del = crate::propagate::del_name("lazyfree-lazy-server-del");
        crate::propagate::rewrite(&[del, key]);
        if let Found::Set(s) = write(&mut ctx.ks, key) {
            let mut all = SetValue::new_intset();
            union_into(&mut all, s, &lim);
            ctx.out.set(all.len());
            for m in all.iter() {
                reply_member(ctx.out, m);
            }
        }
        ctx.ks.delete(key);
        ctx.ks.notify(notify::GENERIC, "del", key);
        return;
    }
    let remaining = size - count;
    let mut rng = rand::thread_rng();
    let out = &mut *ctx.out;
    let Found::Set(s) = write(&mut ctx.ks, key) else {
        return;
    };
    out.set(count);
    if remaining * SPOP_MOVE_STRATEGY_MUL > count {
        // CASE 2: pop `count` random members. A listpack gives them in its
        // own order (one pass over it in Redis).
        if s.is_listpack() {
            let mut picks = index::sample(&mut rng, size, count).into_vec();
            picks.sort_unstable();
            let mut pi = picks.iter().peekable();
            for (i, m) in s.iter().enumerate() {
                if pi.peek() == Some(&&i) {
                    reply_member(out, m);
                    pi.next();
                }
            }
            s.listpack_remove_positions(&picks);
        } else {
            for _ in 0..count {
                match s.pop_random(&mut rng) {
                    Some(e) => out.bulk(&e),
                    None => break,
                }
            }
        }
    } else {
        // CASE 3: most members go. Build the set of those that stay, reply
        // with what is left of the old one, and store the new set.
        let mut newset: Option<SetValue> = None;
        if s.is_listpack() {
            let mut picks = index::sample(&mut rng, size, remaining).into_vec();
            picks.sort_unstable();
            let mut ns = SetValue::new_listpack();
            let mut pi = picks.iter().peekable();
            for (i, m) in s.iter().enumerate() {
                if pi.peek() == Some(&&i) {
                    ns.add_member(m, &lim);
                    pi.next();
                }
            }
            s.listpack_remove_positions(&picks);
            newset = Some(ns);
        } else {
            for _ in 0..remaining {
                let Some(m) = s.random(&mut rng).map(Owned::of) else {
                    break;
                };
                let ns = newset.get_or_insert_with(|| match m {
                    Owned::Int(_) => SetValue::new_intset(),
                    Owned::Bytes(_) => SetValue::new_listpack(),
                });
                ns.add_member(m.member(), &lim);
                s.remove_member(m.member());
            }
        }
        for m in s.iter() {
            reply_member(out, m);
        }
        if let Some(ns) = newset {
            *s = ns;
        }
    }
    ctx.ks.modified(key);
    // Propagated as SREMs of the popped members, 1024 per command (as
    // Redis), read back from the reply just written.
    if crate::propagate::enabled() {
        let popped =
            crate::propagate::bulks_in_reply(ctx.out.buf.get(reply_start..).unwrap_or(&[]));
        crate::propagate::prevent();
        let db = ctx.ks.db;
        for chunk in popped.chunks(1024) {
            let mut v: Vec<&[u8]> = Vec::with_capacity(chunk.len() + 2);
            v.push(b"SREM");
            v.push(key);
            v.extend(chunk.iter().map(|m| m.as_slice()));
            crate::propagate::also(db, &v);
        }
    }
}

fn srandmember(ctx: &mut Ctx, argv: &[&[u8]]) {
    if argv.len() == 3 {
        return srandmember_count(ctx, argv);
    }
    if argv.len() > 3 {
        ctx.out.error(ERR_SYNTAX);
        return;
    }
    match read(&mut ctx.ks, argv[1]) {
        Found::Missing => ctx.out.null(),
        Found::WrongType => ctx.out.error(WRONGTYPE),
        Found::Set(s) => match s.random(&mut rand::thread_rng()) {
            Some(m) => reply_member(ctx.out, m),
            None => ctx.out.null(),
        },
    }
}

fn srandmember_count(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(l) = parse_random_count(ctx, argv[2]) else {
        return;
    };
    let s = match read(&mut ctx.ks, argv[1]) {
        Found::Missing => {
            ctx.out.array(0);
            return;
        }
        Found::WrongType => {
            ctx.out.error(WRONGTYPE);
            return;
        }
        Found::Set(s) => s,
    };
    let out = &mut *ctx.out;
    let size = s.len();
    let count = l.unsigned_abs();
    if count == 0 || size == 0 {
        out.array(0);
        return;
    }
    let mut rng = rand::thread_rng();
    // CASE 1: negative count (repeats), or a single member.
    if l < 0 || count == 1 {
        out.array(count as usize);
        let lp: Option<Vec<Member>> = s.is_listpack().then(|| s.iter().collect());
        for _ in 0..count {
            match &lp {
                Some(v) => {
                    if let Some(m) = v.get(rng.gen_range(0..v.len())) {
                        reply_member(out, *m);
                    }
                }
                None => match s.random(&mut rng) {
                    Some(m) => reply_member(out, m),
                    None => break,
                },
            }
            if out.buf.len() > MAX_RANDOM_REPLY_BYTES {
                ctx.client.close_after_reply = true;
                break;
            }
        }
        return;
    }
    let count = count as usize;
    // CASE 2: the whole set, in its order.
    if count >= size {
        out.array(size);
        for m in s.iter() {
            reply_member(out, m);
        }
        return;
    }
    out.array(count);
    // CASE 2.5 (listpack, its own order) and CASE 3 (most of the set).
    if s.is_listpack() || count * SRANDMEMBER_SUB_STRATEGY_MUL > size {
        let all: Vec<Member> = s.iter().collect();
        let mut picks = index::sample(&mut rng, size, count).into_vec();
        if s.is_listpack() {
            picks.sort_unstable();
        }
        for i in picks {
            if let Some(m) = all.get(i) {
                reply_member(out, *m);
            }
        }
        return;
    }
    // CASE 4: random picks until enough distinct members.
    let mut seen: HashSet<Member> = HashSet::with_capacity(count);
    while seen.len() < count {
        let Some(m) = s.random(&mut rng) else {
            break;
        };
        if seen.insert(m) {
            reply_member(out, m);
        }
    }
}

// ---------------------------------------------------------------------------
// SINTER / SINTERCARD / SINTERSTORE

/// Where an intersection goes.
enum InterTarget<'a> {
    Reply,
    Card(usize),
    Store(&'a [u8]),
}

/// Looks up every key as a set. None after replying WRONGTYPE; missing keys
/// are None entries (with their length 0).
fn lookup_all(ctx: &mut Ctx, keys: &[&[u8]]) -> Option<Vec<Option<usize>>> {
    let mut sizes = Vec::with_capacity(keys.len());
    for k in keys {
        match read(&mut ctx.ks, k) {
            Found::Missing => sizes.push(None),
            Found::WrongType => {
                ctx.out.error(WRONGTYPE);
                return None;
            }
            Found::Set(s) => sizes.push(Some(s.len())),
        }
    }
    Some(sizes)
}

/// Deletes a STORE destination for an empty result.
fn store_empty(ctx: &mut Ctx, dst: &[u8]) {
    ctx.out.int(0);
    if ctx.ks.delete(dst) {
        ctx.ks.add_dirty(1);
        ctx.ks.modified(dst);
        ctx.ks.notify(notify::GENERIC, "del", dst);
    }
}

fn store_result(ctx: &mut Ctx, dst: &[u8], set: SetValue, event: &str) {
    if set.is_empty() {
        return store_empty(ctx, dst);
    }
    let n = set.len();
    ctx.ks.set(dst, Value::Set(set));
    ctx.out.int(n as i64);
    ctx.ks.notify(notify::SET, event, dst);
    ctx.ks.add_dirty(1);
}

fn sinter_generic(ctx: &mut Ctx, keys: &[&[u8]], target: InterTarget) {
    let Some(sizes) = lookup_all(ctx, keys) else {
        return;
    };
    if sizes.iter().any(|s| s.is_none()) {
        match target {
            InterTarget::Store(dst) => store_empty(ctx, dst),
            InterTarget::Card(_) => ctx.out.int(0),
            InterTarget::Reply => ctx.out.set(0),
        }
        return;
    }
    // Smallest set first (a stable sort, as glibc's qsort behaves here).
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by_key(|&i| sizes.get(i).copied().flatten().unwrap_or(0));
    let first_key = order
        .first()
        .and_then(|&i| keys.get(i))
        .copied()
        .unwrap_or_default();
    let (mut cands, first_enc) = match peek(&mut ctx.ks, first_key) {
        Some(s) => (s.iter().map(Owned::of).collect::<Vec<_>>(), s.encoding()),
        None => (Vec::new(), "intset"),
    };
    for &j in order.iter().skip(1) {
        let Some(&k) = keys.get(j) else { continue };
        if k == first_key || cands.is_empty() {
            continue;
        }
        if let Some(s) = peek(&mut ctx.ks, k) {
            cands.retain(|m| s.contains_member(m.member()));
        }
    }
    match target {
        InterTarget::Card(limit) => {
            let n = if limit > 0 {
                cands.len().min(limit)
            } else {
                cands.len()
            };
            ctx.out.int(n as i64);
        }
        InterTarget::Reply => {
            ctx.out.set(cands.len());
            for m in &cands {
                reply_member(ctx.out, m.member());
            }
        }
        InterTarget::Store(dst) => {
            let lim = limits(ctx);
            let mut set = match first_enc {
                "intset" => SetValue::new_intset(),
                _ => SetValue::new_listpack(),
            };
            let mut only_integers = true;
            for m in &cands {
                let m = m.member();
                if only_integers && m.as_int().is_none() {
                    only_integers = false;
                }
                set.add_member(m, &lim);
            }
            if only_integers {
                set.maybe_convert_to_intset(&lim);
            }
            store_result(ctx, dst, set, "sinterstore");
        }
    }
}

fn sinter(ctx: &mut Ctx, argv: &[&[u8]]) {
    sinter_generic(ctx, &argv[1..], InterTarget::Reply)
}

fn sinterstore(ctx: &mut Ctx, argv: &[&[u8]]) {
    sinter_generic(ctx, &argv[2..], InterTarget::Store(argv[1]))
}

fn sintercard(ctx: &mut Ctx, argv: &[&[u8]]) {
    let numkeys = match parse_i64(argv[1]) {
        Some(n) if n >= 1 => n as usize,
        _ => {
            ctx.out.error("ERR numkeys should be greater than 0");
            return;
        }
    };
    if numkeys > argv.len() - 2 {
        ctx.out
            .error("ERR Number of keys can't be greater than number of args");
        return;
    }
    let mut limit = 0usize;
    let mut j = 2 + numkeys;
    while j < argv.len() {
        let more = j + 1 < argv.len();
        if eq_ic(argv[j], "limit") && more {
            j += 1;
            match parse_i64(argv[j]) {
                Some(l) if l >= 0 => limit = l as usize,
                _ => {
                    ctx.out.error("ERR LIMIT can't be negative");
                    return;
                }
            }
        } else {
            ctx.out.error(ERR_SYNTAX);
            return;
        }
        j += 1;
    }
    sinter_generic(ctx, &argv[2..2 + numkeys], InterTarget::Card(limit))
}

// ---------------------------------------------------------------------------
// SUNION / SDIFF (+STORE)

#[derive(Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Diff,
}

fn sunion_diff_generic(ctx: &mut Ctx, keys: &[&[u8]], dst: Option<&[u8]>, op: SetOp) {
    let Some(sizes) = lookup_all(ctx, keys) else {
        return;
    };
    let lim = limits(ctx);
    let first = keys.first().copied().unwrap_or_default();
    let first_exists = sizes.first().copied().flatten().is_some();
    let sameset = first_exists && keys.iter().skip(1).any(|k| *k == first);
    let mut result = SetValue::new_intset();
    match op {
        SetOp::Union => {
            for (k, size) in keys.iter().zip(&sizes) {
                if size.is_none() {
                    continue;
                }
                if let Some(s) = peek(&mut ctx.ks, k) {
                    union_into(&mut result, s, &lim);
                }
            }
        }
        SetOp::Diff if !first_exists || sameset => {}
        SetOp::Diff => {
            // Redis picks the cheaper algorithm: walk the first set and test
            // each member against the others, or copy it and subtract.
            let first_size = sizes.first().copied().flatten().unwrap_or(0);
            let present = sizes.iter().flatten();
            let algo_one: usize = present.clone().count() * first_size / 2;
            let algo_two: usize = present.sum();
            if algo_one <= algo_two {
                let mut cands: Vec<Owned> = match peek(&mut ctx.ks, first) {
                    Some(s) => s.iter().map(Owned::of).collect(),
                    None => Vec::new(),
                };
                for (k, size) in keys.iter().zip(&sizes).skip(1) {
                    if size.is_none() || cands.is_empty() {
                        continue;
                    }
                    if let Some(s) = peek(&mut ctx.ks, k) {
                        cands.retain(|m| !s.contains_member(m.member()));
                    }
                }
                for m in &cands {
                    result.add_member(m.member(), &lim);
                }
            } else {
                for (j, (k, size)) in keys.iter().zip(&sizes).enumerate() {
                    if size.is_none() {
                        continue;
                    }
                    if let Some(s) = peek(&mut ctx.ks, k) {
                        if j == 0 {
                            union_into(&mut result, s, &lim);
                        } else {
                            for m in s.iter() {
                                result.remove_member(m);
                            }
                        }
                    }
                    if result.is_empty() {
                        break;
                    }
                }
            }
        }
    }
    match dst {
        None => {
            ctx.out.set(result.len());
            for m in result.iter() {
                reply_member(ctx.out, m);
            }
            crate::dispatch::drop_value(Some(Value::Set(result)));
        }
        Some(dst) => {
            let event = if op == SetOp::Union {
                "sunionstore"
            } else {
                "sdiffstore"
            };
            store_result(ctx, dst, result, event);
        }
    }
}

fn sunion(ctx: &mut Ctx, argv: &[&[u8]]) {
    sunion_diff_generic(ctx, &argv[1..], None, SetOp::Union)
}

fn sunionstore(ctx: &mut Ctx, argv: &[&[u8]]) {
    sunion_diff_generic(ctx, &argv[2..], Some(argv[1]), SetOp::Union)
}

fn sdiff(ctx: &mut Ctx, argv: &[&[u8]]) {
    sunion_diff_generic(ctx, &argv[1..], None, SetOp::Diff)
}

fn sdiffstore(ctx: &mut Ctx, argv: &[&[u8]]) {
    sunion_diff_generic(ctx, &argv[2..], Some(argv[1]), SetOp::Diff)
}

// ---------------------------------------------------------------------------
// SSCAN

fn sscan(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(cursor) = parse_scan_cursor(argv[2]) else {
        ctx.out.error("ERR invalid cursor");
        return;
    };
    let s = match read(&mut ctx.ks, argv[1]) {
        Found::Missing => return reply_empty_scan(ctx.out),
        Found::WrongType => {
            ctx.out.error(WRONGTYPE);
            return;
        }
        Found::Set(s) => &*s,
    };
    let out = &mut *ctx.out;
    let Some(opts) = parse_scan_opts(out, &argv[3..]) else {
        return;
    };
    let mut items: Vec<Member> = Vec::new();
    let keep = |m: &Member| opts.pattern.is_none() || m.with_bytes(|b| opts.matches(b));
    let mut next = 0;
    match s {
        SetValue::Table(t) => {
            let mut cursor = cursor;
            let mut budget = opts.count.saturating_mul(10);
            let mut sampled = 0usize;
            loop {
                cursor = t.scan(cursor, |e| {
                    sampled += 1;
                    let m = Member::Str(e.as_slice());
                    if keep(&m) {
                        items.push(m);
                    }
                });
                if cursor == 0 || budget == 0 || sampled >= opts.count {
                    break;
                }
                budget -= 1;
            }
            next = cursor;
        }
        _ => items.extend(s.iter().filter(|m| keep(m))),
    }
    out.array(2);
    out.bulk(itoa::Buffer::new().format(next).as_bytes());
    out.array(items.len());
    for m in items {
        reply_member(out, m);
    }
}
