//! The command table and the path every command takes: lookup, arity and
//! auth checks, MULTI queuing, shard locking from the key specs, execution,
//! and bookkeeping (stats, slowlog, MONITOR, lazy-expired keys).
//!
//! Commands are declared once: their metadata (arity, flags, key specs, docs)
//! comes from `cmdmeta` (Redis 7.2's own command descriptions); each type
//! family module only binds handlers to names.

use crate::client::{flag, Client, ReplyMode};
use crate::cmdmeta::{self, CommandMeta};
use crate::locks::Locks;
use crate::server::Server;
use crate::stats::{bump, WorkerStats};
use smallvec::SmallVec;
use spinel_keyspace::{Entry, Keyspace, SBytes, Shard, Value};
use spinel_resp::ReplyBuf;
use std::collections::HashMap;
use std::sync::atomic::Ordering;

pub type Handler = fn(&mut Ctx, &[&[u8]]);

/// A set of (db, shard) pairs to lock.
pub type ShardSet = SmallVec<[(u32, u32); 8]>;

/// Computes the shards a command touches (for `LockKind::Custom`).
pub type ShardFn = fn(&Keyspace, usize, &[&[u8]]) -> ShardSet;

/// How a command's shards are locked.
#[derive(Clone, Copy)]
pub enum LockKind {
    /// The shards of its keys (from the key specs), in ascending order.
    Keys,
    /// No keyspace access, or walks shards one at a time itself.
    None,
    /// Stops all other workers for its duration (FLUSHALL, SWAPDB, KEYS...).
    Exclusive,
    /// Computes its own (db, shard) set (MOVE, COPY ... DB).
    Custom(ShardFn),
}

pub mod cflag {
    pub const WRITE: u32 = 1 << 0;
    pub const READONLY: u32 = 1 << 1;
    pub const DENYOOM: u32 = 1 << 2;
    pub const ADMIN: u32 = 1 << 3;
    pub const PUBSUB: u32 = 1 << 4;
    pub const NOSCRIPT: u32 = 1 << 5;
    pub const BLOCKING: u32 = 1 << 6;
    pub const LOADING: u32 = 1 << 7;
    pub const STALE: u32 = 1 << 8;
    pub const SKIP_MONITOR: u32 = 1 << 9;
    pub const SKIP_SLOWLOG: u32 = 1 << 10;
    pub const FAST: u32 = 1 << 11;
    pub const NO_AUTH: u32 = 1 << 12;
    pub const MAY_REPLICATE: u32 = 1 << 13;
    pub const NO_MULTI: u32 = 1 << 14;
    pub const MOVABLEKEYS: u32 = 1 << 15;
    pub const ALLOW_BUSY: u32 = 1 << 16;
}

fn flags_from_meta(m: &CommandMeta) -> u32 {
    let mut f = 0;
    for (name, bit) in [
        ("write", cflag::WRITE),
        ("readonly", cflag::READONLY),
        ("denyoom", cflag::DENYOOM),
        ("admin", cflag::ADMIN),
        ("pubsub", cflag::PUBSUB),
        ("noscript", cflag::NOSCRIPT),
        ("blocking", cflag::BLOCKING),
        ("loading", cflag::LOADING),
        ("stale", cflag::STALE),
        ("skip_monitor", cflag::SKIP_MONITOR),
        ("skip_slowlog", cflag::SKIP_SLOWLOG),
        ("fast", cflag::FAST),
        ("no_auth", cflag::NO_AUTH),
        ("may_replicate", cflag::MAY_REPLICATE),
        ("no_multi", cflag::NO_MULTI),
        ("movablekeys", cflag::MOVABLEKEYS),
        ("allow_busy", cflag::ALLOW_BUSY),
    ] {
        if m.has_flag(name) {
            f |= bit;
        }
    }
    f
}

pub struct Command {
    pub id: usize,
    /// Lowercase name; `parent|sub` for subcommands.
    pub name: &'static str,
    pub handler: Option<Handler>,
    pub arity: i64,
    pub flags: u32,
    pub first_key: i64,
    pub last_key: i64,
    pub step: i64,
    pub meta: Option<&'static CommandMeta>,
    pub lock: LockKind,
    /// Subcommand name (lowercase) -> command id.
    pub subs: HashMap<String, usize>,
}

impl Command {
    #[inline]
    pub fn has(&self, f: u32) -> bool {
        self.flags & f != 0
    }

    pub fn is_write(&self) -> bool {
        self.has(cflag::WRITE)
    }
}

#[derive(Default)]
pub struct CommandTable {
    pub cmds: Vec<Command>,
    by_name: HashMap<String, usize, ahash::RandomState>,
}

impl CommandTable {
    /// Case-insensitive lookup of a top-level command.
    pub fn lookup(&self, name: &[u8]) -> Option<&Command> {
        if name.len() > 64 {
            return None;
        }
        let mut buf = [0u8; 64];
        let lower = &mut buf[..name.len()];
        lower.copy_from_slice(name);
        lower.make_ascii_lowercase();
        let s = std::str::from_utf8(lower).ok()?;
        self.by_name.get(s).and_then(|&i| self.cmds.get(i))
    }

    /// `rename-command`: the command answers to `to` instead of `from`, or
    /// to no name at all when `to` is empty (its metadata keeps its name).
    pub fn rename(&mut self, from: &[u8], to: &[u8]) {
        let from = String::from_utf8_lossy(from).to_ascii_lowercase();
        if let Some(i) = self.by_name.remove(&from) {
            if !to.is_empty() {
                let to = String::from_utf8_lossy(to).to_ascii_lowercase();
                self.by_name.insert(to, i);
            }
        }
    }

    pub fn lookup_sub(&self, parent: &Command, sub: &[u8]) -> Option<&Command> {
        let s = String::from_utf8_lossy(sub).to_ascii_lowercase();
        parent.subs.get(&s).and_then(|&i| self.cmds.get(i))
    }

    pub fn by_id(&self, id: usize) -> Option<&Command> {
        self.cmds.get(id)
    }

    /// Whether a command (or `parent|sub`) is implemented.
    pub fn implemented(&self, full: &str) -> bool {
        let full = full.to_ascii_lowercase();
        match full.split_once('|') {
            None => self
                .by_name
                .get(&full)
                .and_then(|&i| self.cmds.get(i))
                .map(|c| c.handler.is_some() || !c.subs.is_empty())
                .unwrap_or(false),
            Some((p, s)) => self
                .by_name
                .get(p)
                .and_then(|&i| self.cmds.get(i))
                .map(|c| c.subs.contains_key(s))
                .unwrap_or(false),
        }
    }

    fn ensure(&mut self, name: &str, meta: Option<&'static CommandMeta>) -> usize {
        if let Some(&i) = self.by_name.get(name) {
            return i;
        }
        let id = self.cmds.len();
        self.cmds.push(Command::new(id, name, meta));
        self.by_name.insert(name.to_string(), id);
        id
    }

    /// Binds `handler` to `name` (`get`, or `config|get` for a subcommand).
    /// Arity, flags and keys come from the command's metadata.
    pub fn add(&mut self, name: &str, handler: Handler) {
        self.add_lock(name, handler, None)
    }

    /// Like `add`, with an explicit locking mode.
    pub fn add_lock(&mut self, name: &str, handler: Handler, lock: Option<LockKind>) {
        let name = name.to_ascii_lowercase();
        match name.split_once('|') {
            None => {
                let id = self.ensure(&name, cmdmeta::lookup(&name));
                if let Some(c) = self.cmds.get_mut(id) {
                    c.handler = Some(handler);
                    if let Some(l) = lock {
                        c.lock = l;
                    }
                }
            }
            Some((parent, sub)) => {
                let pid = self.ensure(parent, cmdmeta::lookup(parent));
                let id = self.cmds.len();
                let meta = cmdmeta::lookup_sub(parent, sub);
                let full: &'static str = Box::leak(name.clone().into_boxed_str());
                let mut c = Command::new(id, full, meta);
                c.handler = Some(handler);
                if let Some(l) = lock {
                    c.lock = l;
                }
                self.cmds.push(c);
                if let Some(p) = self.cmds.get_mut(pid) {
                    p.subs.insert(sub.to_string(), id);
                }
            }
        }
    }
}

impl Command {
    fn new(id: usize, name: &str, meta: Option<&'static CommandMeta>) -> Command {
        let name: &'static str = Box::leak(name.to_string().into_boxed_str());
        let (arity, flags, first, last, step) = match meta {
            Some(m) => (m.arity, flags_from_meta(m), m.first_key, m.last_key, m.step),
            None => (-1, 0, 0, 0, 0),
        };
        // Without metadata we cannot know the keys: serialize such a command.
        let lock = match meta {
            None => LockKind::Exclusive,
            Some(_) if first > 0 || flags & cflag::MOVABLEKEYS != 0 => LockKind::Keys,
            Some(_) => LockKind::None,
        };
        Command {
            id,
            name,
            handler: None,
            arity,
            flags,
            first_key: first,
            last_key: last,
            step,
            meta,
            lock,
            subs: HashMap::new(),
        }
    }

    /// Argument indexes of the keys of this invocation.
    pub fn key_positions(&self, argv: &[&[u8]]) -> Result<SmallVec<[usize; 8]>, String> {
        let mut out = SmallVec::new();
        if self.flags & cflag::MOVABLEKEYS != 0 {
            if let Some(m) = self.meta {
                // When the keys can't be found (e.g. a bad numkeys) Redis runs
                // the command without keys and lets it report its own error.
                return Ok(match cmdmeta::key_positions(m, argv) {
                    Ok(v) => v.into_iter().filter(|&i| i < argv.len()).collect(),
                    Err(_) => SmallVec::new(),
                });
            }
            return Ok(out);
        }
        if self.first_key <= 0 {
            return Ok(out);
        }
        let argc = argv.len() as i64;
        let last = if self.last_key < 0 {
            argc + self.last_key
        } else {
            self.last_key.min(argc - 1)
        };
        let step = self.step.max(1);
        let mut i = self.first_key;
        while i <= last && i < argc {
            out.push(i as usize);
            i += step;
        }
        Ok(out)
    }
}

/// Keyspace access for one command, through the shards it has locked.
pub struct Access<'a> {
    pub ks: &'static Keyspace,
    pub locks: &'a mut Locks,
    /// Database the command operates on (the client's selected db).
    pub db: usize,
    /// Command start time in unix ms (Redis freezes time per command).
    pub now: i64,
    /// The access clock for new keys and lookups: the LRU clock in seconds,
    /// or under an LFU policy a fresh LFU value (`evict::initial_clock`).
    pub lru_clock: u32,
    /// Keyspace changes made, for `dirty` / save points.
    pub dirty: u64,
    pub stats: &'static WorkerStats,
    /// Don't update access times (CLIENT NO-TOUCH, OBJECT ...).
    pub no_touch: bool,
}

/// LRU clock in seconds, 24 bits like Redis's.
pub fn lru_clock(now_ms: i64) -> u32 {
    ((now_ms / 1000) as u32) & 0x00FF_FFFF
}

impl<'a> Access<'a> {
    /// The key's hash: the one computed when its shard was locked when
    /// `key` is one of the command's arguments, else computed now.
    #[inline]
    fn hash(&self, key: &[u8]) -> u64 {
        match self.locks.known_hash(key) {
            Some(h) => h,
            None => self.ks.hash(key),
        }
    }

    #[inline]
    pub fn shard_of(&mut self, key: &[u8]) -> (&mut Shard, u64) {
        let h = self.hash(key);
        let idx = self.ks.shard_of(h);
        (self.locks.shard(self.db, idx), h)
    }

    #[inline]
    pub fn shard_in(&mut self, db: usize, key: &[u8]) -> (&mut Shard, u64) {
        let h = self.hash(key);
        let idx = self.ks.shard_of(h);
        (self.locks.shard(db, idx), h)
    }

    /// lookupKeyRead: counts a hit or miss and refreshes the access clock.
    #[inline]
    pub fn get(&mut self, key: &[u8]) -> Option<&mut Entry> {
        let (now, clock, touch) = (self.now, self.lru_clock, !self.no_touch);
        let stats = self.stats;
        let (sh, h) = self.shard_of(key);
        match sh.get(h, key, now) {
            Some(e) => {
                bump(&stats.keyspace_hits, 1);
                if touch {
                    e.lru = crate::evict::touched(e.lru, clock, now);
                }
                Some(e)
            }
            None => {
                bump(&stats.keyspace_misses, 1);
                None
            }
        }
    }

    /// lookupKeyWrite: no hit/miss accounting.
    #[inline]
    pub fn get_write(&mut self, key: &[u8]) -> Option<&mut Entry> {
        let (now, clock) = (self.now, self.lru_clock);
        let (sh, h) = self.shard_of(key);
        let e = sh.get(h, key, now)?;
        e.lru = crate::evict::touched(e.lru, clock, now);
        Some(e)
    }

    /// Existence check without touching the key or counting stats.
    pub fn exists(&mut self, key: &[u8]) -> bool {
        let now = self.now;
        let (sh, h) = self.shard_of(key);
        sh.get(h, key, now).is_some()
    }

    /// setKey: stores `v`, clearing any TTL, and signals the change.
    pub fn set(&mut self, key: &[u8], v: Value) {
        self.store(key, v, false)
    }

    /// Stores `v` keeping the key's TTL (if any) and signals the change.
    pub fn set_keepttl(&mut self, key: &[u8], v: Value) {
        self.store(key, v, true)
    }

    fn store(&mut self, key: &[u8], v: Value, keep_ttl: bool) {
        let (now, clock, db) = (self.now, self.lru_clock, self.db);
        let (sh, h) = self.shard_of(key);
        // Drop an expired previous value first so keep_ttl can't resurrect its TTL.
        let _ = sh.probe(h, key, now);
        // Under LFU an overwritten key keeps (and bumps) its counter.
        let clock = match crate::evict::lfu_mode() {
            true => sh
                .map
                .find(h, key)
                .map(|e| crate::evict::lfu_touch(e.lru, now))
                .unwrap_or(clock),
            false => clock,
        };
        let old = sh.insert(h, key, Entry::new(v, clock), keep_ttl);
        sh.touch_watched(key);
        crate::blocking::key_written(sh, db, key);
        let created = old.is_none();
        drop_value(old.map(|e| e.value));
        if created {
            // dbAdd's `new` event.
            crate::notify::keyspace_event(crate::notify::NEW, "new", key, db);
        }
    }

    /// Deletes a key; true if it existed.
    pub fn delete(&mut self, key: &[u8]) -> bool {
        self.take(key).map(|e| drop_value(Some(e.value))).is_some()
    }

    /// Removes a live key and returns it.
    pub fn take(&mut self, key: &[u8]) -> Option<Entry> {
        let now = self.now;
        let (sh, h) = self.shard_of(key);
        if let spinel_keyspace::Probe::Missing = sh.probe(h, key, now) {
            return None;
        }
        let e = sh.remove(h, key);
        if e.is_some() {
            sh.touch_watched(key);
        }
        e
    }

    /// TTL of a live key, absolute unix ms.
    pub fn expire_of(&mut self, key: &[u8]) -> Option<i64> {
        let (sh, h) = self.shard_of(key);
        sh.expire_of(h, key)
    }

    pub fn set_expire(&mut self, key: &[u8], at_ms: i64) {
        let (sh, h) = self.shard_of(key);
        sh.set_expire(h, key, at_ms);
        sh.touch_watched(key);
    }

    /// Removes a TTL; true if there was one.
    pub fn persist(&mut self, key: &[u8]) -> bool {
        let (sh, h) = self.shard_of(key);
        let r = sh.remove_expire(h, key);
        if r {
            sh.touch_watched(key);
        }
        r
    }

    /// signalModifiedKey: a value was changed in place.
    #[inline]
    pub fn modified(&mut self, key: &[u8]) {
        let (sh, _) = self.shard_of(key);
        sh.touch_watched(key);
    }

    /// Keyspace notification hook (`notify-keyspace-events`); `class` is one
    /// of the `notify::*` class bits.
    pub fn notify(&mut self, class: u32, event: &str, key: &[u8]) {
        crate::notify::keyspace_event(class, event, key, self.db);
    }

    pub fn add_dirty(&mut self, n: u64) {
        self.dirty += n;
    }
}

/// Frees a value, on a background thread when it is large (lazy free).
pub fn drop_value(v: Option<Value>) {
    if let Some(v) = v {
        if v.element_count() > 64 {
            crate::lazyfree::free_later(v);
        }
    }
}

/// What a handler sees.
pub struct Ctx<'a> {
    pub srv: &'static Server,
    pub client: &'a mut Client,
    pub out: &'a mut ReplyBuf,
    pub ks: Access<'a>,
    pub cmd: &'static Command,
}

impl<'a> Ctx<'a> {
    pub fn wrong_type(&mut self) {
        self.out.error(WRONGTYPE);
    }
}

pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
pub const ERR_SYNTAX: &str = "ERR syntax error";
pub const ERR_NOT_INT: &str = "ERR value is not an integer or out of range";
pub const ERR_NOT_FLOAT: &str = "ERR value is not a valid float";

/// The reply for a command with the wrong number of arguments.
pub fn arity_error(name: &str) -> String {
    format!("ERR wrong number of arguments for '{}' command", name)
}

/// The reply for an unknown command, quoting its first arguments like Redis.
pub fn unknown_command_error(argv: &[&[u8]]) -> String {
    let name = argv
        .first()
        .map(|a| lossy_trunc(a, 128))
        .unwrap_or_default();
    let mut args = String::new();
    for a in argv.iter().skip(1) {
        if args.len() >= 128 {
            break;
        }
        let room = 128 - args.len();
        args.push('\'');
        args.push_str(&lossy_trunc(a, room));
        args.push_str("' ");
    }
    format!(
        "ERR unknown command '{}', with args beginning with: {}",
        name, args
    )
}

/// `%.*s` of a C string: stops at the first NUL, at most `n` bytes.
fn lossy_trunc(a: &[u8], n: usize) -> String {
    let a = &a[..a.len().min(n)];
    let a = match a.iter().position(|&c| c == 0) {
        Some(p) => &a[..p],
        None => a,
    };
    String::from_utf8_lossy(a).into_owned()
}

/// Outcome of running one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// Close the connection after flushing replies.
    Close,
}

/// Runs one request for `client`, appending its reply to `out`.
pub fn execute(
    srv: &'static Server,
    client: &mut Client,
    out: &mut ReplyBuf,
    argv: &[&[u8]],
) -> Outcome {
    if argv.is_empty() {
        return Outcome::Done;
    }
    let wstats = srv.stats.worker(client.worker);
    let errors_before = out.errors;
    let reply_start = out.buf.len();
    let outcome = execute_inner(srv, client, out, argv, wstats);
    if out.errors != errors_before {
        bump(&wstats.error_replies, (out.errors - errors_before) as u64);
        if let Some(code) = out.last_error_code.take() {
            srv.stats.record_error(&code);
        }
    }
    match client.reply_mode {
        ReplyMode::On | ReplyMode::Off => {
            if client.reply_mode == ReplyMode::Off {
                out.buf.truncate(reply_start);
            }
        }
        ReplyMode::Skip => {
            out.buf.truncate(reply_start);
            client.reply_mode = ReplyMode::On;
        }
        ReplyMode::SkipNext => client.reply_mode = ReplyMode::Skip,
    }
    outcome
}

fn execute_inner(
    srv: &'static Server,
    client: &mut Client,
    out: &mut ReplyBuf,
    argv: &[&[u8]],
    wstats: &'static WorkerStats,
) -> Outcome {
    let table = &srv.commands;
    let Some(mut cmd) = lookup_cached(srv, client, argv[0]) else {
        if client.multi.is_some() {
            client.multi_error = true;
        }
        out.error(&unknown_command_error(argv));
        return Outcome::Done;
    };
    if !cmd.subs.is_empty() && argv.len() >= 2 {
        match table.lookup_sub(cmd, argv[1]) {
            Some(s) => cmd = s,
            None => {
                if client.multi.is_some() {
                    client.multi_error = true;
                }
                out.error(&format!(
                    "ERR unknown subcommand '{}'. Try {} HELP.",
                    lossy_trunc(argv[1], 128),
                    cmd.name.to_ascii_uppercase()
                ));
                return Outcome::Done;
            }
        }
    }
    let argc = argv.len() as i64;
    if (cmd.arity > 0 && cmd.arity != argc) || argc < -cmd.arity {
        reject(wstats, cmd);
        reject_reply(srv, client, out, cmd, &arity_error(cmd.name));
        return Outcome::Done;
    }
    let Some(handler) = cmd.handler else {
        out.error(&unknown_command_error(argv));
        return Outcome::Done;
    };
    if !client.authenticated && !cmd.has(cflag::NO_AUTH) {
        reject(wstats, cmd);
        reject_reply(srv, client, out, cmd, "NOAUTH Authentication required.");
        return Outcome::Done;
    }
    // maxmemory: evict, or refuse commands that would use more memory.
    if crate::evict::before_command(srv, client, cmd) {
        reject(wstats, cmd);
        if cmd.name == "exec" {
            let e = crate::evict::abort_exec(srv, client);
            out.error(&e);
        } else {
            if client.multi.is_some() {
                client.multi_error = true;
            }
            out.error(crate::evict::OOM_ERR);
        }
        return Outcome::Done;
    }
    // RESP2 clients in subscribed mode may only run a few commands.
    if !client.resp3
        && client.shared.has_flag(flag::PUBSUB)
        && !matches!(
            cmd.name,
            "ping"
                | "subscribe"
                | "ssubscribe"
                | "unsubscribe"
                | "sunsubscribe"
                | "psubscribe"
                | "punsubscribe"
                | "quit"
                | "reset"
        )
    {
        out.error(&format!(
            "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
            cmd.name
        ));
        return Outcome::Done;
    }
    // MISCONF: a failed background save stops writes (and PING), as in Redis.
    if cmd.is_write() || cmd.name == "ping" {
        if let Some(e) = crate::persist::write_denied_error(srv) {
            reject(wstats, cmd);
            reject_reply(srv, client, out, cmd, e);
            return Outcome::Done;
        }
        // The same after a failed AOF write or fsync.
        if let Some(e) = crate::persist::aof::writer::write_denied_error() {
            reject(wstats, cmd);
            reject_reply(srv, client, out, cmd, &e);
            return Outcome::Done;
        }
    }
    if client.multi.is_some()
        && !matches!(
            cmd.name,
            "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
        )
    {
        if cmd.has(cflag::NO_MULTI) {
            client.multi_error = true;
            out.error("ERR Command not allowed inside a transaction");
            return Outcome::Done;
        }
        if let Some(q) = client.multi.as_mut() {
            q.push(argv.iter().map(|a| a.to_vec()).collect());
            client.shared.multi.store(q.len() as i64, Ordering::Relaxed);
        }
        out.simple("QUEUED");
        return Outcome::Done;
    }
    let errors_before = out.errors;
    let start = crate::server::command_start();
    let outcome = if cmd.name == "exec" {
        crate::cmd::multi::exec(srv, client, out, wstats)
    } else {
        run_command(srv, client, out, argv, cmd, handler, wstats)
    };
    let us = crate::server::command_end()
        .saturating_duration_since(start)
        .as_micros() as u64;
    if let Some(c) = wstats.per_cmd.get(cmd.id) {
        bump(&c.calls, 1);
        bump(&c.usec, us);
        if out.errors != errors_before && cmd.name != "exec" {
            bump(&c.failed, 1);
        }
    }
    bump(&wstats.commands, 1);
    let ms = us / 1000;
    if ms > 0 {
        let event = if cmd.has(cflag::FAST) {
            "fast-command"
        } else {
            "command"
        };
        crate::cmd::server::latency_sample_if_needed(srv, event, ms);
    }
    after_command(srv, client, argv, cmd, us);
    outcome
}

/// Locks what `cmd` needs, runs it, and releases.
pub fn run_command(
    srv: &'static Server,
    client: &mut Client,
    out: &mut ReplyBuf,
    argv: &[&[u8]],
    cmd: &'static Command,
    handler: Handler,
    wstats: &'static WorkerStats,
) -> Outcome {
    let single_key = matches!(cmd.lock, LockKind::Keys)
        && cmd.flags & cflag::MOVABLEKEYS == 0
        && cmd.first_key > 0
        && cmd.last_key == cmd.first_key;
    let mut locks = if single_key || matches!(cmd.lock, LockKind::None) {
        // The common cases, built in place (`acquire` would do the same).
        let ks = &srv.ks;
        let mut l = Locks::none(ks, &srv.thread_locks, client.worker);
        if let Some(k) = argv.get(cmd.first_key as usize).filter(|_| single_key) {
            let h = ks.hash(k);
            l.lock_shard(client.db, ks.shard_of(h));
            l.remember_hash(k, h);
        }
        l
    } else {
        match acquire(srv, client, cmd, argv) {
            Ok(l) => l,
            Err(e) => {
                out.error(&e);
                return Outcome::Done;
            }
        }
    };
    let outcome = invoke(srv, client, out, argv, cmd, handler, wstats, &mut locks);
    locks.forget_hashes();
    if locks.has_followups() {
        // Keys this command made ready are served before anyone else can run.
        crate::blocking::serve_held(srv, &mut locks);
        crate::expire::drain_lazy_expired(srv, &mut locks);
    }
    drop(locks);
    outcome
}

/// The command named by `name`: the connection's last lookup when the name
/// is spelled the same way (pipelines repeat commands), else the table's
/// case-insensitive lookup. The table does not change after start-up.
#[inline]
fn lookup_cached(
    srv: &'static Server,
    client: &mut Client,
    name: &[u8],
) -> Option<&'static Command> {
    if let Some((c, buf, len)) = &client.cmd_cache {
        if name.len() == *len as usize && buf.get(..name.len()) == Some(name) {
            return Some(c);
        }
    }
    let c = srv.commands.lookup(name)?;
    let mut buf = [0u8; 16];
    if let Some(dst) = buf.get_mut(..name.len()) {
        dst.copy_from_slice(name);
        client.cmd_cache = Some((c, buf, name.len() as u8));
    }
    Some(c)
}

/// The (db, shard) pairs a command touches, or None when it needs
/// exclusive mode (no declared keys it can be limited to).
pub fn lock_set(
    srv: &'static Server,
    db: usize,
    cmd: &Command,
    argv: &[&[u8]],
) -> Result<Option<ShardSet>, String> {
    let ks = &srv.ks;
    match cmd.lock {
        LockKind::Keys => {
            let pos = cmd.key_positions(argv)?;
            Ok(Some(
                pos.iter()
                    .filter_map(|&i| argv.get(i))
                    .map(|k| (db as u32, ks.shard_of(ks.hash(k)) as u32))
                    .collect(),
            ))
        }
        LockKind::Custom(f) => Ok(Some(f(ks, db, argv))),
        LockKind::None | LockKind::Exclusive => Ok(None),
    }
}

/// Takes the locks `cmd` needs for this invocation.
#[inline(always)]
pub fn acquire(
    srv: &'static Server,
    client: &Client,
    cmd: &Command,
    argv: &[&[u8]],
) -> Result<Locks, String> {
    let ks = &srv.ks;
    Ok(match cmd.lock {
        LockKind::None => Locks::none(ks, &srv.thread_locks, client.worker),
        LockKind::Exclusive => Locks::exclusive(ks, &srv.thread_locks),
        LockKind::Keys if cmd.flags & cflag::MOVABLEKEYS == 0 && cmd.first_key > 0 => {
            // Fixed key positions: hash each key once, for both the shard
            // choice and the lookups (see `Access::hash`).
            let (tl, w, db) = (&srv.thread_locks, client.worker, client.db);
            if cmd.last_key == cmd.first_key {
                match argv.get(cmd.first_key as usize) {
                    Some(k) => {
                        let h = ks.hash(k);
                        let mut l = Locks::one(ks, tl, w, db, ks.shard_of(h));
                        l.remember_hash(k, h);
                        l
                    }
                    None => Locks::none(ks, tl, w),
                }
            } else {
                let pos = cmd.key_positions(argv)?;
                let mut set = ShardSet::new();
                let mut hashes: SmallVec<[(&[u8], u64); 2]> = SmallVec::new();
                for k in pos.iter().filter_map(|&i| argv.get(i)) {
                    let h = ks.hash(k);
                    set.push((db as u32, ks.shard_of(h) as u32));
                    if hashes.len() < hashes.inline_size() {
                        hashes.push((k, h));
                    }
                }
                let mut l = Locks::keys(ks, tl, w, set);
                for (k, h) in hashes {
                    l.remember_hash(k, h);
                }
                l
            }
        }
        _ => match lock_set(srv, client.db, cmd, argv)? {
            Some(shards) => Locks::keys(ks, &srv.thread_locks, client.worker, shards),
            None => Locks::exclusive(ks, &srv.thread_locks),
        },
    })
}

/// Runs a handler with locks already held.
#[allow(clippy::too_many_arguments)]
pub fn invoke(
    srv: &'static Server,
    client: &mut Client,
    out: &mut ReplyBuf,
    argv: &[&[u8]],
    cmd: &'static Command,
    handler: Handler,
    wstats: &'static WorkerStats,
    locks: &mut Locks,
) -> Outcome {
    let ks = &srv.ks;
    let db = client.db;
    let now = crate::server::command_now_ms();
    let no_touch = client.no_touch;
    let mut ctx = Ctx {
        srv,
        client,
        out,
        ks: Access {
            ks,
            locks,
            db,
            now,
            lru_clock: crate::evict::initial_clock(now),
            dirty: 0,
            stats: wstats,
            no_touch,
        },
        cmd,
    };
    let frame = crate::propagate::enter();
    // A bug in one handler must not take the server (or other clients) down:
    // the client gets an error and the worker carries on.
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler(&mut ctx, argv)));
    if res.is_err() {
        crate::log::warning(&format!("Internal error while executing '{}'", cmd.name));
        ctx.out.error("ERR internal error");
    }
    let dirty = ctx.ks.dirty;
    // Propagation, with the locks still held: keys the command found expired
    // first (their DELs), then the command (or what it was rewritten to).
    if crate::propagate::enabled() {
        crate::expire::drain_lazy_expired(srv, ctx.ks.locks);
    }
    crate::propagate::leave(frame, ctx.client.db, argv, dirty);
    let close = ctx.client.close_after_reply;
    srv.add_dirty(dirty);
    if close {
        Outcome::Close
    } else {
        Outcome::Done
    }
}

/// Resolves a command (and subcommand) by name without checks.
pub fn resolve(srv: &'static Server, argv: &[&[u8]]) -> Option<&'static Command> {
    let table = &srv.commands;
    let cmd = table.lookup(argv.first()?)?;
    if !cmd.subs.is_empty() && argv.len() >= 2 {
        return table.lookup_sub(cmd, argv[1]);
    }
    Some(cmd)
}

/// Replies to a command refused before running (Redis's rejectCommand): it
/// flags an open transaction, and a refused EXEC discards the transaction
/// with an EXECABORT naming the reason.
fn reject_reply(
    srv: &'static Server,
    client: &mut Client,
    out: &mut ReplyBuf,
    cmd: &Command,
    msg: &str,
) {
    if cmd.name == "exec" {
        client.multi = None;
        client.multi_error = false;
        client.shared.set_flag(flag::MULTI, false);
        client.shared.multi.store(-1, Ordering::Relaxed);
        crate::cmd::multi::unwatch_all(srv, client);
        out.error(&format!(
            "EXECABORT Transaction discarded because of: {}",
            msg.strip_prefix("ERR ").unwrap_or(msg)
        ));
        return;
    }
    if client.multi.is_some() {
        client.multi_error = true;
    }
    out.error(msg);
}

fn reject(wstats: &WorkerStats, cmd: &Command) {
    if let Some(c) = wstats.per_cmd.get(cmd.id) {
        bump(&c.rejected, 1);
    }
}

/// Arguments as shown in SLOWLOG and MONITOR: passwords become `(redacted)`.
pub fn redacted<'a>(cmd: &Command, argv: &[&'a [u8]]) -> SmallVec<[&'a [u8]; 8]> {
    const R: &[u8] = b"(redacted)";
    let mut v: SmallVec<[&'a [u8]; 8]> = argv.iter().copied().collect();
    match cmd.name {
        "auth" => {
            for a in v.iter_mut().skip(1) {
                *a = R;
            }
        }
        "hello" => {
            let mut i = 2;
            while i < v.len() {
                if v[i].eq_ignore_ascii_case(b"auth") {
                    for a in v.iter_mut().skip(i + 1).take(2) {
                        *a = R;
                    }
                    i += 3;
                } else {
                    i += 1;
                }
            }
        }
        "config|set" => {
            let mut i = 2;
            while i + 1 < v.len() {
                let name = v[i].to_ascii_lowercase();
                if matches!(
                    name.as_slice(),
                    b"requirepass" | b"masterauth" | b"masteruser"
                ) {
                    v[i + 1] = R;
                }
                i += 2;
            }
        }
        "migrate" => {
            let mut i = 6;
            while i < v.len() {
                if v[i].eq_ignore_ascii_case(b"auth") {
                    if let Some(a) = v.get_mut(i + 1) {
                        *a = R;
                    }
                    i += 2;
                } else if v[i].eq_ignore_ascii_case(b"auth2") {
                    for a in v.iter_mut().skip(i + 1).take(2) {
                        *a = R;
                    }
                    i += 3;
                } else {
                    i += 1;
                }
            }
        }
        _ => {}
    }
    v
}

fn after_command(
    srv: &'static Server,
    client: &mut Client,
    argv: &[&[u8]],
    cmd: &'static Command,
    us: u64,
) {
    let sh = &client.shared;
    sh.last_cmd.store(cmd.id + 1, Ordering::Relaxed);
    // Only the owning connection counts its commands: no locked add needed.
    sh.tot_cmds.store(
        sh.tot_cmds.load(Ordering::Relaxed).wrapping_add(1),
        Ordering::Relaxed,
    );
    crate::monitor::feed(srv, client, argv, cmd);
    let threshold = srv.config.slowlog_log_slower_than();
    if threshold >= 0 && us as i64 >= threshold && !cmd.has(cflag::SKIP_SLOWLOG) {
        let max = srv.config.slowlog_max_len().max(0) as usize;
        let name = String::from_utf8_lossy(&client.shared.name.lock()).into_owned();
        srv.slowlog
            .lock()
            .push(argv, us, client.shared.addr.clone(), name, max);
    }
}

/// Helper for handlers: the key's value as a string, or None / WRONGTYPE.
pub enum StrLookup {
    Missing,
    WrongType,
    Found(Vec<u8>),
}

pub fn lookup_string(ks: &mut Access, key: &[u8]) -> StrLookup {
    match ks.get(key) {
        None => StrLookup::Missing,
        Some(e) => match e.value.to_bytes() {
            Some(b) => StrLookup::Found(b),
            None => StrLookup::WrongType,
        },
    }
}

/// Keys helper used by families: a fresh owned key.
pub fn skey(k: &[u8]) -> SBytes {
    SBytes::new(k)
}

#[cfg(test)]
mod tests {
    /// Every registered command (and subcommand) carries Redis 7.2's
    /// metadata: without it arity, flags and key specs would be guesses.
    #[test]
    fn every_command_has_metadata() {
        let t = crate::cmd::table();
        let missing: Vec<&str> = t
            .cmds
            .iter()
            .filter(|c| c.handler.is_some() && c.meta.is_none())
            .map(|c| c.name)
            .collect();
        assert!(missing.is_empty(), "commands without metadata: {missing:?}");
        for c in t.cmds.iter().filter(|c| c.handler.is_some()) {
            assert_ne!(c.arity, 0, "{} has arity 0", c.name);
        }
    }
}
