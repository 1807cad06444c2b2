//! Generic keyspace commands: DEL UNLINK EXISTS TYPE TOUCH, RENAME RENAMENX
//! COPY MOVE, the EXPIRE / TTL family, OBJECT, and the whole-database
//! commands (DBSIZE RANDOMKEY KEYS SCAN FLUSHDB FLUSHALL SWAPDB).
//!
//! Locking (see `dispatch::LockKind`):
//! - single- and multi-key commands lock the shards of their keys;
//! - MOVE and COPY ... DB lock the key's shard in both databases (`Custom`);
//! - DBSIZE, RANDOMKEY and SCAN are walkers: they hold no shard up front and
//!   visit shards one at a time (`visit`), so they never stall the server;
//! - KEYS, FLUSHDB, FLUSHALL and SWAPDB stop every other worker (`Exclusive`)
//!   because their result must be a single point in time.
//!
//! A SCAN cursor is the index of the next shard to visit. Each call visits
//! whole shards until it has gathered COUNT keys or reached the end, so a key
//! present for the whole iteration is returned exactly once: keys never move
//! between shards (the shard comes from the key's hash).

use crate::cmd::util::{eq_ic, lossy, parse_i64, parse_scan_cursor};
use crate::dispatch::{drop_value, CommandTable, Ctx, LockKind, ERR_NOT_INT, ERR_SYNTAX};
use crate::notify;
use crate::stats::bump;
use rand::Rng;
use smallvec::SmallVec;
use spinel_keyspace::glob::glob_match;
use spinel_keyspace::{Entry, Keyspace, SBytes, Shard, Value};

pub fn register(t: &mut CommandTable) {
    t.add("del", del);
    t.add("unlink", unlink);
    t.add("exists", exists);
    t.add("type", type_cmd);
    t.add("touch", touch);
    t.add("rename", rename);
    t.add("renamenx", renamenx);
    t.add_lock("copy", copy, Some(LockKind::Custom(copy_shards)));
    t.add_lock("move", move_cmd, Some(LockKind::Custom(move_shards)));
    t.add_lock("swapdb", swapdb, Some(LockKind::Exclusive));
    t.add_lock("dbsize", dbsize, Some(LockKind::None));
    t.add_lock("flushdb", flushdb, Some(LockKind::Exclusive));
    t.add_lock("flushall", flushall, Some(LockKind::Exclusive));
    t.add_lock("randomkey", randomkey, Some(LockKind::None));
    t.add_lock("keys", keys, Some(LockKind::Exclusive));
    t.add_lock("scan", scan, Some(LockKind::None));
    t.add("expire", expire);
    t.add("pexpire", pexpire);
    t.add("expireat", expireat);
    t.add("pexpireat", pexpireat);
    t.add("ttl", ttl);
    t.add("pttl", pttl);
    t.add("expiretime", expiretime);
    t.add("pexpiretime", pexpiretime);
    t.add("persist", persist);
    t.add("object|encoding", object_encoding);
    t.add("object|refcount", object_refcount);
    t.add("object|idletime", object_idletime);
    t.add("object|freq", object_freq);
    t.add_lock("object|help", object_help, Some(LockKind::None));
}

const ERR_NO_SUCH_KEY: &str = "ERR no such key";
const ERR_SAME_OBJECT: &str = "ERR source and destination objects are the same";
const ERR_DB_RANGE: &str = "ERR DB index is out of range";

/// Redis's shared integers: string values 0..9999 are one shared object
/// (unless an LRU/LFU maxmemory policy needs per-key access clocks).
const OBJ_SHARED_INTEGERS: i64 = 10000;
/// `OBJECT REFCOUNT` of a shared object.
const OBJ_SHARED_REFCOUNT: i64 = i32::MAX as i64;
/// Values with more elements than this are freed on the lazy-free thread
/// (Redis's LAZYFREE_THRESHOLD).
const LAZYFREE_THRESHOLD: usize = 64;
/// Redis's LRU clock wraps at 24 bits.
const LRU_CLOCK_MAX: u32 = 0x00FF_FFFF;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// Runs `f` on shard `(db, idx)`: through the command's own guard when it
/// holds that shard, otherwise locking it only for the duration of `f`
/// (walkers visit one shard at a time and hold nothing else). Keys that `f`
/// expired lazily are accounted before the lock is released.
/// None when `(db, idx)` does not exist.
fn visit<R>(ctx: &mut Ctx, db: usize, idx: usize, f: impl FnOnce(&mut Shard) -> R) -> Option<R> {
    if ctx.ks.locks.held(db, idx) {
        return Some(f(ctx.ks.locks.shard(db, idx)));
    }
    let m = ctx.srv.ks.dbs.get(db).and_then(|d| d.shards.get(idx))?;
    let mut g = m.lock();
    // A running BGSAVE must copy the shard before anything changes it.
    crate::persist::snapshot::touch(db, idx, &g);
    let r = f(&mut g);
    let expired = std::mem::take(&mut g.expired_log);
    crate::propagate::expired(db, &expired);
    drop(g);
    crate::expire::expired(ctx.srv, db, &expired);
    Some(r)
}

/// Runs `f` on two distinct shards at once (SWAPDB, exclusive mode only).
/// Both are locked in ascending order unless the command already holds one
/// of them; then the first one's contents are moved through a staging shard
/// while the second is visited, which is safe because nothing else runs.
fn with_pair<R>(
    ctx: &mut Ctx,
    a: (usize, usize),
    b: (usize, usize),
    f: impl FnOnce(&mut Shard, &mut Shard) -> R,
) -> Option<R> {
    let held = ctx.ks.locks.held(a.0, a.1) || ctx.ks.locks.held(b.0, b.1);
    if !held && a != b {
        let ks = &ctx.srv.ks;
        let ma = ks.dbs.get(a.0).and_then(|d| d.shards.get(a.1))?;
        let mb = ks.dbs.get(b.0).and_then(|d| d.shards.get(b.1))?;
        let (mut ga, mut gb) = if a < b {
            let ga = ma.lock();
            (ga, mb.lock())
        } else {
            let gb = mb.lock();
            (ma.lock(), gb)
        };
        crate::persist::snapshot::touch(a.0, a.1, &ga);
        crate::persist::snapshot::touch(b.0, b.1, &gb);
        let r = f(&mut ga, &mut gb);
        let ea = std::mem::take(&mut ga.expired_log);
        let eb = std::mem::take(&mut gb.expired_log);
        crate::propagate::expired(a.0, &ea);
        crate::propagate::expired(b.0, &eb);
        drop(ga);
        drop(gb);
        crate::expire::expired(ctx.srv, a.0, &ea);
        crate::expire::expired(ctx.srv, b.0, &eb);
        return Some(r);
    }
    let mut staged = visit(ctx, a.0, a.1, |sa| {
        let empty = Shard::new(sa.db, sa.map.hasher());
        std::mem::replace(sa, empty)
    })?;
    let r = visit(ctx, b.0, b.1, |sb| f(&mut staged, sb));
    visit(ctx, a.0, a.1, |sa| std::mem::swap(sa, &mut staged));
    r
}

/// Runs `f` with the command's current database switched to `db`
/// (cross-database commands: MOVE, COPY ... DB).
fn in_db<R>(ctx: &mut Ctx, db: usize, f: impl FnOnce(&mut Ctx) -> R) -> R {
    let saved = ctx.ks.db;
    ctx.ks.db = db;
    let r = f(ctx);
    ctx.ks.db = saved;
    r
}

/// dbAdd (+ setExpire): stores `entry` under `key` in the command's current
/// database, keeping its access clock, with an optional absolute expiry.
fn add_entry(ctx: &mut Ctx, key: &[u8], entry: Entry, expire: Option<i64>) {
    let db = ctx.ks.db;
    let (sh, h) = ctx.ks.shard_of(key);
    let old = sh.insert(h, key, entry, false);
    if let Some(t) = expire {
        sh.set_expire(h, key, t);
    }
    sh.touch_watched(key);
    crate::blocking::key_written(sh, db, key);
    drop_value(old.map(|e| e.value));
    ctx.ks.notify(notify::NEW, "new", key);
}

/// scanDatabaseForReadyKeys, for one shard whose contents were replaced
/// (SWAPDB): every key with blocked clients that now exists is ready.
fn signal_ready_all(ks: &Keyspace, sh: &mut Shard, now_ms: i64) {
    if sh.blocked.is_empty() {
        return;
    }
    let live: Vec<SBytes> = sh
        .blocked
        .keys()
        .filter(|k| is_live(ks, sh, k.as_slice(), now_ms))
        .cloned()
        .collect();
    let db = sh.db as usize;
    for k in &live {
        crate::blocking::key_written(sh, db, k.as_slice());
    }
}

/// How a deleted value is freed.
#[derive(Clone, Copy)]
enum Lazy {
    /// Big values on the lazy-free thread (UNLINK).
    Always,
    /// Like `Always` when this `lazyfree-*` directive is `yes`, else inline
    /// (as Redis's `dbDelete` with `lazyfree-lazy-server-del` etc.).
    Config(&'static str),
}

/// Deletes a live key; true if it existed. The value is freed per `lazy`
/// (only big values are worth handing to the lazy-free thread, so the
/// directive is only read for those).
fn delete_key(ctx: &mut Ctx, key: &[u8], lazy: Lazy) -> bool {
    let Some(e) = ctx.ks.take(key) else {
        return false;
    };
    let background = e.value.element_count() > LAZYFREE_THRESHOLD
        && match lazy {
            Lazy::Always => true,
            Lazy::Config(name) => config_yes(ctx, name),
        };
    if background {
        drop_value(Some(e.value));
    } else {
        drop(e);
    }
    true
}

/// `getIntFromObjectOrReply` with a NULL message: a DB index argument.
fn parse_db_index(a: &[u8]) -> Option<i64> {
    parse_i64(a).filter(|&v| i32::try_from(v).is_ok())
}

fn config_yes(ctx: &Ctx, name: &str) -> bool {
    ctx.srv
        .config
        .get_string(name)
        .map(|v| v.eq_ignore_ascii_case("yes"))
        .unwrap_or(false)
}

fn maxmemory_policy(ctx: &Ctx) -> String {
    ctx.srv
        .config
        .get_string("maxmemory-policy")
        .unwrap_or_else(|| "noeviction".to_string())
        .to_ascii_lowercase()
}

fn lfu_policy(ctx: &Ctx) -> bool {
    maxmemory_policy(ctx).ends_with("-lfu")
}

/// Whether values 0..9999 are Redis's shared integer objects: true unless
/// maxmemory is set together with an LRU or LFU policy.
fn shared_integers(ctx: &Ctx) -> bool {
    let maxmemory = ctx
        .srv
        .config
        .get_string("maxmemory")
        .map(|v| v.trim() != "0" && !v.trim().is_empty())
        .unwrap_or(false);
    let p = maxmemory_policy(ctx);
    !(maxmemory && (p.ends_with("-lru") || p.ends_with("-lfu")))
}

/// Whether a key present in `sh` is logically expired (keyIsExpired).
fn is_expired(sh: &Shard, key: &[u8], now_ms: i64) -> bool {
    if sh.expires.is_empty() {
        return false;
    }
    let h = sh.map.hasher().hash_one(key);
    matches!(sh.expire_of(h, key), Some(t) if t < now_ms)
}

/// Keys in `sh` that are live at `now_ms` (no lazy deletion).
fn is_live(ks: &Keyspace, sh: &Shard, key: &[u8], now_ms: i64) -> bool {
    sh.peek(ks.hash(key), key, now_ms).is_some()
}

/// Marks dirty the WATCHers of every key watched in `sh` that currently
/// exists there or in `other` (the keys replacing it), like Redis's
/// `touchAllWatchedKeysInDb`. `other` holds the live watched keys found in
/// the replacing shard.
fn touch_existing_watched(ks: &Keyspace, sh: &mut Shard, other: &[SBytes], now_ms: i64) {
    if sh.watched.is_empty() {
        return;
    }
    let hit: Vec<SBytes> = sh
        .watched
        .keys()
        .filter(|k| {
            is_live(ks, sh, k.as_slice(), now_ms)
                || other.iter().any(|o| o.as_slice() == k.as_slice())
        })
        .cloned()
        .collect();
    for k in hit {
        sh.touch_watched(k.as_slice());
    }
}

/// The keys watched in shard `a` that are live in shard `b`.
fn watched_live_elsewhere(ks: &Keyspace, a: &Shard, b: &Shard, now_ms: i64) -> Vec<SBytes> {
    a.watched
        .keys()
        .filter(|k| is_live(ks, b, k.as_slice(), now_ms))
        .cloned()
        .collect()
}

// ---------------------------------------------------------------------------
// DEL UNLINK EXISTS TYPE TOUCH
// ---------------------------------------------------------------------------

fn del_generic(ctx: &mut Ctx, argv: &[&[u8]], lazy: Lazy) {
    let mut n = 0;
    for key in argv.iter().skip(1) {
        if delete_key(ctx, key, lazy) {
            ctx.ks.notify(notify::GENERIC, "del", key);
            ctx.ks.add_dirty(1);
            n += 1;
        }
    }
    ctx.out.int(n);
}

fn del(ctx: &mut Ctx, argv: &[&[u8]]) {
    del_generic(ctx, argv, Lazy::Config("lazyfree-lazy-user-del"))
}

fn unlink(ctx: &mut Ctx, argv: &[&[u8]]) {
    del_generic(ctx, argv, Lazy::Always)
}

/// lookupKeyReadWithFlags(LOOKUP_NOTOUCH): hit/miss stats, no access clock.
fn lookup_notouch<R>(ctx: &mut Ctx, key: &[u8], f: impl FnOnce(Option<&mut Entry>) -> R) -> R {
    let saved = ctx.ks.no_touch;
    ctx.ks.no_touch = true;
    let r = f(ctx.ks.get(key));
    ctx.ks.no_touch = saved;
    r
}

fn exists(ctx: &mut Ctx, argv: &[&[u8]]) {
    let mut n = 0;
    for key in argv.iter().skip(1) {
        if lookup_notouch(ctx, key, |e| e.is_some()) {
            n += 1;
        }
    }
    ctx.out.int(n);
}

fn type_cmd(ctx: &mut Ctx, argv: &[&[u8]]) {
    let t = lookup_notouch(ctx, argv[1], |e| e.map(|e| e.value.type_name()));
    ctx.out.simple(t.unwrap_or("none"));
}

fn touch(ctx: &mut Ctx, argv: &[&[u8]]) {
    // TOUCH refreshes the access clock even for a CLIENT NO-TOUCH client.
    let saved = ctx.ks.no_touch;
    ctx.ks.no_touch = false;
    let mut n = 0;
    for key in argv.iter().skip(1) {
        if ctx.ks.get(key).is_some() {
            n += 1;
        }
    }
    ctx.ks.no_touch = saved;
    ctx.out.int(n);
}

// ---------------------------------------------------------------------------
// RENAME RENAMENX COPY MOVE
// ---------------------------------------------------------------------------

fn rename_generic(ctx: &mut Ctx, argv: &[&[u8]], nx: bool) {
    let (src, dst) = (argv[1], argv[2]);
    if ctx.ks.get_write(src).is_none() {
        ctx.out.error(ERR_NO_SUCH_KEY);
        return;
    }
    if src == dst {
        if nx {
            ctx.out.int(0);
        } else {
            ctx.out.ok();
        }
        return;
    }
    let expire = ctx.ks.expire_of(src);
    if ctx.ks.get_write(dst).is_some() {
        if nx {
            ctx.out.int(0);
            return;
        }
        // Overwrite: the old value goes (without a `del` event), then the
        // key is created anew.
        delete_key(ctx, dst, Lazy::Config("lazyfree-lazy-server-del"));
    }
    let Some(entry) = ctx.ks.take(src) else {
        ctx.out.error(ERR_NO_SUCH_KEY);
        return;
    };
    add_entry(ctx, dst, entry, expire);
    ctx.ks.notify(notify::GENERIC, "rename_from", src);
    ctx.ks.notify(notify::GENERIC, "rename_to", dst);
    ctx.ks.add_dirty(1);
    if nx {
        ctx.out.int(1);
    } else {
        ctx.out.ok();
    }
}

fn rename(ctx: &mut Ctx, argv: &[&[u8]]) {
    rename_generic(ctx, argv, false)
}

fn renamenx(ctx: &mut Ctx, argv: &[&[u8]]) {
    rename_generic(ctx, argv, true)
}

/// The destination DB of `COPY src dst [DB n] [REPLACE]`, when the options
/// parse; errors are reported by the handler.
fn copy_dest_db(argv: &[&[u8]], ndbs: usize) -> Option<usize> {
    let mut db = None;
    let mut j = 3;
    while j < argv.len() {
        let a = argv[j];
        if eq_ic(a, "replace") {
            j += 1;
        } else if eq_ic(a, "db") && j + 1 < argv.len() {
            let v = parse_db_index(argv[j + 1])?;
            if v < 0 || v as usize >= ndbs {
                return None;
            }
            db = Some(v as usize);
            j += 2;
        } else {
            return None;
        }
    }
    db
}

/// COPY locks the source key's shard and the destination key's shard in the
/// destination database.
fn copy_shards(ks: &Keyspace, db: usize, argv: &[&[u8]]) -> SmallVec<[(u32, u32); 8]> {
    let mut v = SmallVec::new();
    let shard = |k: &[u8]| ks.shard_of(ks.hash(k)) as u32;
    if let Some(src) = argv.get(1) {
        v.push((db as u32, shard(src)));
    }
    if let Some(dst) = argv.get(2) {
        let ddb = copy_dest_db(argv, ks.ndbs()).unwrap_or(db);
        v.push((ddb as u32, shard(dst)));
    }
    v
}

fn copy(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (src, dst) = (argv[1], argv[2]);
    let src_db = ctx.ks.db;
    let mut dst_db = src_db;
    let mut replace = false;
    let mut j = 3;
    while j < argv.len() {
        let a = argv[j];
        if eq_ic(a, "replace") {
            replace = true;
        } else if eq_ic(a, "db") && j + 1 < argv.len() {
            let Some(v) = parse_db_index(argv[j + 1]) else {
                ctx.out.error(ERR_NOT_INT);
                return;
            };
            if v < 0 || v as usize >= ctx.srv.ks.ndbs() {
                ctx.out.error(ERR_DB_RANGE);
                return;
            }
            dst_db = v as usize;
            j += 1;
        } else {
            ctx.out.error(ERR_SYNTAX);
            return;
        }
        j += 1;
    }
    if (src_db != 0 || dst_db != 0) && config_yes(ctx, "cluster-enabled") {
        ctx.out
            .error("ERR Copying to another database is not allowed in cluster mode");
        return;
    }
    if src_db == dst_db && src == dst {
        ctx.out.error(ERR_SAME_OBJECT);
        return;
    }
    // lookupKeyRead on the source: counts a hit or miss.
    let Some(value) = ctx.ks.get(src).map(|e| e.value.clone()) else {
        ctx.out.int(0);
        return;
    };
    let expire = ctx.ks.expire_of(src);
    let clock = ctx.ks.lru_clock;
    let done = in_db(ctx, dst_db, |ctx| {
        if ctx.ks.get_write(dst).is_some() {
            if !replace {
                return false;
            }
            delete_key(ctx, dst, Lazy::Config("lazyfree-lazy-server-del"));
        }
        add_entry(ctx, dst, Entry::new(value, clock), expire);
        ctx.ks.notify(notify::GENERIC, "copy_to", dst);
        true
    });
    if done {
        ctx.ks.add_dirty(1);
        ctx.out.int(1);
    } else {
        ctx.out.int(0);
    }
}

/// The target DB of `MOVE key db` when it is valid and differs from `db`.
fn move_dest_db(argv: &[&[u8]], db: usize, ndbs: usize) -> Option<usize> {
    let v = parse_db_index(argv.get(2)?)?;
    if v < 0 || v as usize >= ndbs || v as usize == db {
        return None;
    }
    Some(v as usize)
}

/// MOVE locks the key's shard in the source and the target database.
fn move_shards(ks: &Keyspace, db: usize, argv: &[&[u8]]) -> SmallVec<[(u32, u32); 8]> {
    let mut v = SmallVec::new();
    if let Some(key) = argv.get(1) {
        let idx = ks.shard_of(ks.hash(key)) as u32;
        v.push((db as u32, idx));
        if let Some(d) = move_dest_db(argv, db, ks.ndbs()) {
            v.push((d as u32, idx));
        }
    }
    v
}

fn move_cmd(ctx: &mut Ctx, argv: &[&[u8]]) {
    if config_yes(ctx, "cluster-enabled") {
        ctx.out.error("ERR MOVE is not allowed in cluster mode");
        return;
    }
    let key = argv[1];
    let Some(v) = parse_db_index(argv[2]) else {
        ctx.out.error(ERR_NOT_INT);
        return;
    };
    if v < 0 || v as usize >= ctx.srv.ks.ndbs() {
        ctx.out.error(ERR_DB_RANGE);
        return;
    }
    let (src_db, dst_db) = (ctx.ks.db, v as usize);
    if src_db == dst_db {
        ctx.out.error(ERR_SAME_OBJECT);
        return;
    }
    if ctx.ks.get_write(key).is_none() {
        ctx.out.int(0);
        return;
    }
    let expire = ctx.ks.expire_of(key);
    if in_db(ctx, dst_db, |ctx| ctx.ks.get_write(key).is_some()) {
        ctx.out.int(0);
        return;
    }
    let Some(entry) = ctx.ks.take(key) else {
        ctx.out.int(0);
        return;
    };
    in_db(ctx, dst_db, |ctx| add_entry(ctx, key, entry, expire));
    ctx.ks.notify(notify::GENERIC, "move_from", key);
    in_db(ctx, dst_db, |ctx| {
        ctx.ks.notify(notify::GENERIC, "move_to", key)
    });
    ctx.ks.add_dirty(1);
    ctx.out.int(1);
}

// ---------------------------------------------------------------------------
// SWAPDB DBSIZE FLUSHDB FLUSHALL
// ---------------------------------------------------------------------------

fn swapdb(ctx: &mut Ctx, argv: &[&[u8]]) {
    if config_yes(ctx, "cluster-enabled") {
        ctx.out.error("ERR SWAPDB is not allowed in cluster mode");
        return;
    }
    let Some(id1) = parse_db_index(argv[1]) else {
        ctx.out.error("ERR invalid first DB index");
        return;
    };
    let Some(id2) = parse_db_index(argv[2]) else {
        ctx.out.error("ERR invalid second DB index");
        return;
    };
    let n = ctx.srv.ks.ndbs() as i64;
    if id1 < 0 || id1 >= n || id2 < 0 || id2 >= n {
        ctx.out.error(ERR_DB_RANGE);
        return;
    }
    let (d1, d2) = (id1 as usize, id2 as usize);
    if d1 != d2 {
        let ks = ctx.ks.ks;
        let now = ctx.ks.now;
        for idx in 0..ks.nshards() {
            swap_shards(ctx, ks, (d1, d2), idx, now);
        }
    }
    ctx.ks.add_dirty(1);
    ctx.out.ok();
}

/// Swaps the contents of shard `idx` of two databases. WATCH registrations
/// stay where they are (clients keep watching "their" database); watchers of
/// keys that exist on either side are marked dirty first, as Redis's
/// `touchAllWatchedKeysInDb` does.
fn swap_shards(
    ctx: &mut Ctx,
    ks: &'static Keyspace,
    (d1, d2): (usize, usize),
    idx: usize,
    now: i64,
) {
    with_pair(ctx, (d1, idx), (d2, idx), |a, b| {
        let a_in_b = watched_live_elsewhere(ks, a, b, now);
        let b_in_a = watched_live_elsewhere(ks, b, a, now);
        touch_existing_watched(ks, a, &a_in_b, now);
        touch_existing_watched(ks, b, &b_in_a, now);
        std::mem::swap(&mut a.map, &mut b.map);
        std::mem::swap(&mut a.expires, &mut b.expires);
        signal_ready_all(ks, a, now);
        signal_ready_all(ks, b, now);
    });
}

fn dbsize(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let db = ctx.ks.db;
    let mut n = 0usize;
    for idx in 0..ctx.srv.ks.nshards() {
        n += visit(ctx, db, idx, |sh| sh.len()).unwrap_or(0);
    }
    ctx.out.int(n as i64);
}

/// FLUSHDB / FLUSHALL option: `Some(true)` to free asynchronously.
fn flush_mode(ctx: &Ctx, argv: &[&[u8]]) -> Option<bool> {
    match argv.len() {
        1 => Some(config_yes(ctx, "lazyfree-lazy-user-flush")),
        2 if eq_ic(argv[1], "sync") => Some(false),
        2 if eq_ic(argv[1], "async") => Some(true),
        _ => None,
    }
}

/// Empties one database; returns the number of keys removed.
fn flush_db(ctx: &mut Ctx, db: usize, lazy: bool) -> usize {
    let ks = ctx.ks.ks;
    let now = ctx.ks.now;
    let mut removed = 0;
    for idx in 0..ks.nshards() {
        let old = visit(ctx, db, idx, |sh| {
            touch_existing_watched(ks, sh, &[], now);
            if sh.is_empty() {
                return None;
            }
            Some(sh.take_all())
        })
        .flatten();
        if let Some((map, n)) = old {
            removed += n;
            if lazy && n > 0 {
                crate::lazyfree::free_boxed(Box::new(map));
            } else {
                drop(map);
            }
        }
    }
    removed
}

fn flushdb(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(lazy) = flush_mode(ctx, argv) else {
        ctx.out.error(ERR_SYNTAX);
        return;
    };
    let db = ctx.ks.db;
    let n = flush_db(ctx, db, lazy);
    ctx.ks.add_dirty(n as u64);
    // Propagated even when the database was already empty.
    crate::propagate::force();
    ctx.out.ok();
}

fn flushall(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(lazy) = flush_mode(ctx, argv) else {
        ctx.out.error(ERR_SYNTAX);
        return;
    };
    let mut n = 0;
    for db in 0..ctx.srv.ks.ndbs() {
        n += flush_db(ctx, db, lazy);
    }
    ctx.ks.add_dirty(n as u64);
    // Propagated even when the dataset was already empty.
    crate::propagate::force();
    // With save points configured, Redis saves the now empty dataset.
    crate::persist::after_flushall(ctx.srv);
    ctx.out.ok();
}

// ---------------------------------------------------------------------------
// RANDOMKEY KEYS SCAN
// ---------------------------------------------------------------------------

fn randomkey(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let db = ctx.ks.db;
    let nsh = ctx.srv.ks.nshards();
    let now = ctx.ks.now;
    // Each round either returns a key or deletes expired ones, so it ends;
    // the bound only guards against a concurrently refilled keyspace.
    for _ in 0..1000 {
        let mut sizes = Vec::with_capacity(nsh);
        let mut total = 0usize;
        for idx in 0..nsh {
            let n = visit(ctx, db, idx, |sh| sh.len()).unwrap_or(0);
            total += n;
            sizes.push(n);
        }
        if total == 0 {
            break;
        }
        // A shard chosen with probability proportional to its size, then a
        // random key in it: every key is equally likely.
        let mut r = rand::thread_rng().gen_range(0..total);
        let mut pick = 0;
        for (i, &n) in sizes.iter().enumerate() {
            if r < n {
                pick = i;
                break;
            }
            r -= n;
        }
        if let Some(Some(k)) = visit(ctx, db, pick, |sh| sh.random_key(now)) {
            ctx.out.bulk(k.as_slice());
            return;
        }
    }
    ctx.out.null();
}

fn keys(ctx: &mut Ctx, argv: &[&[u8]]) {
    let pattern = argv[1];
    let all = pattern == b"*";
    let db = ctx.ks.db;
    let now = ctx.ks.now;
    let mut found: Vec<SBytes> = Vec::new();
    for idx in 0..ctx.srv.ks.nshards() {
        visit(ctx, db, idx, |sh| {
            for k in sh.map.keys() {
                if !all && !glob_match(pattern, k.as_slice(), false) {
                    continue;
                }
                if is_expired(sh, k.as_slice(), now) {
                    continue;
                }
                found.push(k.clone());
            }
        });
    }
    ctx.out.array(found.len());
    for k in &found {
        ctx.out.bulk(k.as_slice());
    }
}

fn scan(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(cursor) = parse_scan_cursor(argv[1]) else {
        ctx.out.error("ERR invalid cursor");
        return;
    };
    let mut count: i64 = 10;
    let mut pattern: Option<&[u8]> = None;
    let mut type_name: Option<&[u8]> = None;
    let mut i = 2;
    while i < argv.len() {
        let more = argv.len() - i >= 2;
        if eq_ic(argv[i], "count") && more {
            let Some(c) = parse_i64(argv[i + 1]) else {
                ctx.out.error(ERR_NOT_INT);
                return;
            };
            if c < 1 {
                ctx.out.error(ERR_SYNTAX);
                return;
            }
            count = c;
        } else if eq_ic(argv[i], "match") && more {
            let p = argv[i + 1];
            pattern = if p == b"*" { None } else { Some(p) };
        } else if eq_ic(argv[i], "type") && more {
            type_name = Some(argv[i + 1]);
        } else {
            ctx.out.error(ERR_SYNTAX);
            return;
        }
        i += 2;
    }
    let db = ctx.ks.db;
    let now = ctx.ks.now;
    let nsh = ctx.srv.ks.nshards() as u64;
    let mut next = cursor;
    let mut gathered: u64 = 0;
    let mut keys: Vec<SBytes> = Vec::new();
    let (mut hits, mut misses) = (0u64, 0u64);
    while next < nsh && gathered < count as u64 {
        let idx = next as usize;
        next += 1;
        visit(ctx, db, idx, |sh| {
            gathered += sh.len() as u64;
            let mut expired: Vec<SBytes> = Vec::new();
            for (k, e) in sh.map.iter() {
                if let Some(p) = pattern {
                    if !glob_match(p, k.as_slice(), false) {
                        continue;
                    }
                }
                let dead = is_expired(sh, k.as_slice(), now);
                if dead {
                    // Deleted either by the TYPE lookup or by expireIfNeeded.
                    expired.push(k.clone());
                }
                if let Some(t) = type_name {
                    // Redis looks the key up to get its type: an expired
                    // key is deleted there and reads as "none" (and, being
                    // gone, then passes the expiry filter).
                    let name = if dead {
                        misses += 1;
                        "none"
                    } else {
                        hits += 1;
                        e.value.type_name()
                    };
                    if !t.eq_ignore_ascii_case(name.as_bytes()) {
                        continue;
                    }
                } else if dead {
                    continue;
                }
                keys.push(k.clone());
            }
            // Expired keys met on the way are deleted (expireIfNeeded).
            for k in expired {
                let h = sh.map.hasher().hash_one(k.as_slice());
                let _ = sh.probe(h, k.as_slice(), now);
            }
        });
    }
    if hits > 0 {
        bump(&ctx.ks.stats.keyspace_hits, hits);
    }
    if misses > 0 {
        bump(&ctx.ks.stats.keyspace_misses, misses);
    }
    let next = if next >= nsh { 0 } else { next };
    ctx.out.array(2);
    ctx.out.bulk_int(next as i64);
    ctx.out.array(keys.len());
    for k in &keys {
        ctx.out.bulk(k.as_slice());
    }
}

// ---------------------------------------------------------------------------
// EXPIRE family, TTL family, PERSIST
// ---------------------------------------------------------------------------

const EXPIRE_NX: u8 = 1;
const EXPIRE_XX: u8 = 2;
const EXPIRE_GT: u8 = 4;
const EXPIRE_LT: u8 = 8;

fn parse_expire_flags(argv: &[&[u8]]) -> Result<u8, String> {
    let mut f = 0;
    for a in argv.iter().skip(3) {
        if eq_ic(a, "nx") {
            f |= EXPIRE_NX;
        } else if eq_ic(a, "xx") {
            f |= EXPIRE_XX;
        } else if eq_ic(a, "gt") {
            f |= EXPIRE_GT;
        } else if eq_ic(a, "lt") {
            f |= EXPIRE_LT;
        } else {
            return Err(format!("ERR Unsupported option {}", lossy(a)));
        }
    }
    if f & EXPIRE_NX != 0 && f & (EXPIRE_XX | EXPIRE_GT | EXPIRE_LT) != 0 {
        return Err("ERR NX and XX, GT or LT options at the same time are not compatible".into());
    }
    if f & EXPIRE_GT != 0 && f & EXPIRE_LT != 0 {
        return Err("ERR GT and LT options at the same time are not compatible".into());
    }
    Ok(f)
}

/// EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT. `basetime` is 0 for the absolute
/// forms, the command time otherwise.
fn expire_generic(ctx: &mut Ctx, argv: &[&[u8]], relative: bool, seconds: bool) {
    let key = argv[1];
    let flags = match parse_expire_flags(argv) {
        Ok(f) => f,
        Err(e) => {
            ctx.out.error(&e);
            return;
        }
    };
    let Some(mut when) = parse_i64(argv[2]) else {
        ctx.out.error(ERR_NOT_INT);
        return;
    };
    let invalid = format!("ERR invalid expire time in '{}' command", ctx.cmd.name);
    if seconds {
        match when.checked_mul(1000) {
            Some(w) => when = w,
            None => {
                ctx.out.error(&invalid);
                return;
            }
        }
    }
    let basetime = if relative { ctx.ks.now } else { 0 };
    if when > i64::MAX - basetime {
        ctx.out.error(&invalid);
        return;
    }
    when += basetime;
    if ctx.ks.get_write(key).is_none() {
        ctx.out.int(0);
        return;
    }
    if flags != 0 {
        let current = ctx.ks.expire_of(key);
        if flags & EXPIRE_NX != 0 && current.is_some() {
            ctx.out.int(0);
            return;
        }
        if flags & EXPIRE_XX != 0 && current.is_none() {
            ctx.out.int(0);
            return;
        }
        // No TTL counts as an infinite one.
        if flags & EXPIRE_GT != 0 && current.is_none_or(|c| when <= c) {
            ctx.out.int(0);
            return;
        }
        if flags & EXPIRE_LT != 0 && current.is_some_and(|c| when >= c) {
            ctx.out.int(0);
            return;
        }
    }
    if when <= ctx.ks.now && !spinel_keyspace::shard::loading() {
        // A time in the past deletes the key (propagated as a DEL); not
        // while loading the AOF (checkAlreadyExpired).
        delete_key(ctx, key, Lazy::Config("lazyfree-lazy-expire"));
        ctx.ks.add_dirty(1);
        ctx.ks.notify(notify::GENERIC, "del", key);
        ctx.out.int(1);
        let del = crate::propagate::del_name("lazyfree-lazy-expire");
        crate::propagate::rewrite(&[del, key]);
        return;
    }
    ctx.ks.set_expire(key, when);
    ctx.out.int(1);
    ctx.ks.notify(notify::GENERIC, "expire", key);
    ctx.ks.add_dirty(1);
    // Propagated as PEXPIREAT <abs ms>, options kept (as Redis).
    if crate::propagate::enabled() && (relative || seconds) {
        let ms = crate::propagate::ms_arg(when);
        let mut v: SmallVec<[&[u8]; 8]> = SmallVec::new();
        v.push(b"PEXPIREAT");
        v.push(key);
        v.push(&ms);
        v.extend(argv.iter().skip(3).copied());
        crate::propagate::rewrite(&v);
    }
}

fn expire(ctx: &mut Ctx, argv: &[&[u8]]) {
    expire_generic(ctx, argv, true, true)
}

fn pexpire(ctx: &mut Ctx, argv: &[&[u8]]) {
    expire_generic(ctx, argv, true, false)
}

fn expireat(ctx: &mut Ctx, argv: &[&[u8]]) {
    expire_generic(ctx, argv, false, true)
}

fn pexpireat(ctx: &mut Ctx, argv: &[&[u8]]) {
    expire_generic(ctx, argv, false, false)
}

/// TTL, PTTL, EXPIRETIME, PEXPIRETIME.
fn ttl_generic(ctx: &mut Ctx, argv: &[&[u8]], ms: bool, absolute: bool) {
    let key = argv[1];
    if !lookup_notouch(ctx, key, |e| e.is_some()) {
        ctx.out.int(-2);
        return;
    }
    let Some(at) = ctx.ks.expire_of(key) else {
        ctx.out.int(-1);
        return;
    };
    let t = if absolute { at } else { at - ctx.ks.now }.max(0);
    ctx.out.int(if ms {
        t
    } else {
        ((t as i128 + 500) / 1000) as i64
    });
}

fn ttl(ctx: &mut Ctx, argv: &[&[u8]]) {
    ttl_generic(ctx, argv, false, false)
}

fn pttl(ctx: &mut Ctx, argv: &[&[u8]]) {
    ttl_generic(ctx, argv, true, false)
}

fn expiretime(ctx: &mut Ctx, argv: &[&[u8]]) {
    ttl_generic(ctx, argv, false, true)
}

fn pexpiretime(ctx: &mut Ctx, argv: &[&[u8]]) {
    ttl_generic(ctx, argv, true, true)
}

fn persist(ctx: &mut Ctx, argv: &[&[u8]]) {
    let key = argv[1];
    if ctx.ks.get_write(key).is_some() && ctx.ks.persist(key) {
        ctx.ks.notify(notify::GENERIC, "persist", key);
        ctx.ks.add_dirty(1);
        ctx.out.int(1);
    } else {
        ctx.out.int(0);
    }
}

// ---------------------------------------------------------------------------
// OBJECT
// ---------------------------------------------------------------------------

/// objectCommandLookup: a read lookup that leaves the access clock alone.
fn object_lookup<R>(ctx: &mut Ctx, key: &[u8], f: impl FnOnce(&Entry) -> R) -> Option<R> {
    lookup_notouch(ctx, key, |e| e.map(|e| f(e)))
}

fn object_encoding(ctx: &mut Ctx, argv: &[&[u8]]) {
    match object_lookup(ctx, argv[2], |e| e.value.encoding()) {
        Some(enc) => ctx.out.bulk(enc.as_bytes()),
        None => ctx.out.null(),
    }
}

fn object_refcount(ctx: &mut Ctx, argv: &[&[u8]]) {
    let shared = shared_integers(ctx);
    let r = object_lookup(ctx, argv[2], |e| match e.value {
        Value::Int(i) if shared && (0..OBJ_SHARED_INTEGERS).contains(&i) => OBJ_SHARED_REFCOUNT,
        _ => 1,
    });
    match r {
        Some(n) => ctx.out.int(n),
        None => ctx.out.null(),
    }
}

/// Seconds since the last access, from 24-bit LRU clocks (with wrap-around).
fn idle_seconds(now_clock: u32, lru: u32) -> i64 {
    let lru = lru & LRU_CLOCK_MAX;
    let now_clock = now_clock & LRU_CLOCK_MAX;
    if now_clock >= lru {
        i64::from(now_clock - lru)
    } else {
        i64::from(now_clock) + i64::from(LRU_CLOCK_MAX - lru)
    }
}

fn object_idletime(ctx: &mut Ctx, argv: &[&[u8]]) {
    let clock = ctx.ks.lru_clock;
    let Some(lru) = object_lookup(ctx, argv[2], |e| e.lru) else {
        ctx.out.null();
        return;
    };
    if lfu_policy(ctx) {
        ctx.out.error("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.");
        return;
    }
    ctx.out.int(idle_seconds(clock, lru));
}

/// Redis's LFUDecrAndReturn: the access clock holds the last decrement
/// time in minutes (16 bits) and a logarithmic counter (8 bits).
fn lfu_counter(lru: u32, now_ms: i64, decay_minutes: i64) -> i64 {
    let ldt = i64::from((lru >> 8) & 0xFFFF);
    let counter = i64::from(lru & 0xFF);
    let now_min = (now_ms / 1000 / 60) & 0xFFFF;
    let elapsed = if now_min >= ldt {
        now_min - ldt
    } else {
        65535 - ldt + now_min
    };
    let periods = if decay_minutes > 0 {
        elapsed / decay_minutes
    } else {
        0
    };
    if periods > counter {
        0
    } else {
        counter - periods
    }
}

fn object_freq(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(lru) = object_lookup(ctx, argv[2], |e| e.lru) else {
        ctx.out.null();
        return;
    };
    if !lfu_policy(ctx) {
        ctx.out.error("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.");
        return;
    }
    let decay = ctx.srv.config.get_i64("lfu-decay-time").unwrap_or(1);
    ctx.out.int(lfu_counter(lru, ctx.ks.now, decay));
}

const OBJECT_HELP: &[&str] = &[
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
];

fn object_help(ctx: &mut Ctx, _argv: &[&[u8]]) {
    ctx.out.array(OBJECT_HELP.len());
    for l in OBJECT_HELP {
        ctx.out.simple(l);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_parsing_follows_strtoul() {
        assert_eq!(parse_scan_cursor(b"0"), Some(0));
        assert_eq!(parse_scan_cursor(b""), Some(0));
        assert_eq!(parse_scan_cursor(b"+7"), Some(7));
        assert_eq!(parse_scan_cursor(b"-1"), Some(u64::MAX));
        assert_eq!(parse_scan_cursor(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_scan_cursor(b"18446744073709551616"), None);
        assert_eq!(parse_scan_cursor(b" 1"), None);
        assert_eq!(parse_scan_cursor(b"1 "), None);
        assert_eq!(parse_scan_cursor(b"-"), None);
        assert_eq!(parse_scan_cursor(b"abc"), None);
        assert_eq!(parse_scan_cursor(b"12\0zz"), Some(12));
    }

    #[test]
    fn expire_flag_errors() {
        let a: Vec<&[u8]> = vec![b"expire", b"k", b"1", b"nx", b"gt"];
        assert!(parse_expire_flags(&a).is_err());
        let a: Vec<&[u8]> = vec![b"expire", b"k", b"1", b"GT", b"lt"];
        assert_eq!(
            parse_expire_flags(&a),
            Err("ERR GT and LT options at the same time are not compatible".into())
        );
        let a: Vec<&[u8]> = vec![b"expire", b"k", b"1", b"xx", b"gt"];
        assert_eq!(parse_expire_flags(&a), Ok(EXPIRE_XX | EXPIRE_GT));
    }

    #[test]
    fn idle_time_wraps() {
        assert_eq!(idle_seconds(10, 4), 6);
        assert_eq!(idle_seconds(2, LRU_CLOCK_MAX - 3), 5);
    }

    #[test]
    fn lfu_decay() {
        let now_min = 1000i64;
        let lru = ((now_min as u32) << 8) | 20;
        assert_eq!(lfu_counter(lru, now_min * 60_000, 1), 20);
        assert_eq!(lfu_counter(lru, (now_min + 5) * 60_000, 1), 15);
        assert_eq!(lfu_counter(lru, (now_min + 50) * 60_000, 1), 0);
        assert_eq!(lfu_counter(lru, (now_min + 50) * 60_000, 0), 20);
    }

    #[test]
    fn copy_and_move_targets() {
        let a: Vec<&[u8]> = vec![b"copy", b"a", b"b", b"REPLACE", b"db", b"3"];
        assert_eq!(copy_dest_db(&a, 16), Some(3));
        let a: Vec<&[u8]> = vec![b"copy", b"a", b"b", b"db", b"16"];
        assert_eq!(copy_dest_db(&a, 16), None);
        let a: Vec<&[u8]> = vec![b"move", b"a", b"2"];
        assert_eq!(move_dest_db(&a, 0, 16), Some(2));
        assert_eq!(move_dest_db(&a, 2, 16), None);
    }
}
