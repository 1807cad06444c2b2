//! Command propagation (Redis's `alsoPropagate` / `propagatePendingCommands`):
//! what a command did to the dataset, as the commands that replay it.
//!
//! - Every command that changed the dataset (dirty > 0) is propagated as its
//!   argv, unless its handler replaced that with [`rewrite`] (e.g. `SET ... EX`
//!   becomes `SET ... PXAT <abs-ms>`) or suppressed it with [`prevent`] and
//!   emitted its effects with [`also`] (SPOP with a count → SREM batches).
//! - An execution unit (a command, a transaction, a script) collects its
//!   records and emits them together when it ends; a unit with more than one
//!   record is wrapped in `MULTI` ... `EXEC`, as Redis 7.2 does.
//! - Deletions the server makes on its own (active expiry, eviction, keys
//!   found expired while walking the keyspace) are emitted at once as
//!   `DEL` / `UNLINK` ([`deleted`]); keys a command finds expired join its
//!   unit ([`expired_in_unit`]).
//!
//! Everything is emitted while the command still holds its shard locks, so
//! the stream's order is the order of effects on every key (DESIGN §2).
//! The state is per thread: a unit runs on one thread from start to end.
//! When nothing consumes the stream (AOF off) all of this is skipped.

use crate::persist::aof::writer;
use spinel_keyspace::SBytes;
use std::cell::RefCell;

/// One recorded command: its database and its RESP bytes in `Pending::bytes`.
struct Op {
    db: usize,
    start: usize,
    end: usize,
}

#[derive(Default)]
struct Pending {
    /// Execution-unit nesting (command → EXEC → script → redis.call ...).
    depth: u32,
    ops: Vec<Op>,
    bytes: Vec<u8>,
    /// The running command's replacement argv (`rewrite`).
    rewritten: Option<Vec<Vec<u8>>>,
    /// The running command is not propagated itself (`prevent`).
    prevented: bool,
    /// The running command is propagated even without changes (`force`).
    forced: bool,
    /// Effects of blocked clients served while the unit runs: each is
    /// emitted as a unit of its own after the current unit.
    after: Vec<Op>,
    after_bytes: Vec<u8>,
}

thread_local! {
    static P: RefCell<Pending> = RefCell::new(Pending::default());
}

/// Whether anything consumes the stream (the AOF is on). Handlers may skip
/// building rewritten forms when this is false.
#[inline]
pub fn enabled() -> bool {
    writer::active()
}

/// The running command's own state, saved by [`enter`] for nested calls.
pub struct Frame {
    rewritten: Option<Vec<Vec<u8>>>,
    prevented: bool,
    forced: bool,
}

/// Starts a command (or any execution unit). Pair with [`leave`].
pub fn enter() -> Frame {
    P.with(|p| {
        let mut p = p.borrow_mut();
        p.depth += 1;
        Frame {
            rewritten: p.rewritten.take(),
            prevented: std::mem::replace(&mut p.prevented, false),
            forced: std::mem::replace(&mut p.forced, false),
        }
    })
}

/// Ends a command started with [`enter`]: records it (its rewritten form if
/// any) when it changed the dataset and was not prevented, and emits the
/// unit when this was the outermost level. `db` is the client's database
/// after the command (Redis's `c->db`).
pub fn leave(frame: Frame, db: usize, argv: &[&[u8]], dirty: u64) {
    let on = enabled();
    P.with(|p| {
        let mut p = p.borrow_mut();
        let rewritten = std::mem::replace(&mut p.rewritten, frame.rewritten);
        let prevented = std::mem::replace(&mut p.prevented, frame.prevented);
        let forced = std::mem::replace(&mut p.forced, frame.forced);
        if on && (dirty > 0 || forced) && !prevented {
            match &rewritten {
                Some(v) => {
                    let sl: smallvec::SmallVec<[&[u8]; 8]> =
                        v.iter().map(|a| a.as_slice()).collect();
                    push(&mut p, db, &sl);
                }
                None => push(&mut p, db, argv),
            }
        }
        p.depth = p.depth.saturating_sub(1);
        if p.depth == 0 {
            emit(&mut p);
        }
    })
}

/// Starts an execution unit that is not a command itself (EXEC).
pub fn unit_begin() {
    P.with(|p| p.borrow_mut().depth += 1);
}

/// Ends a unit started with [`unit_begin`]; emits it when outermost.
pub fn unit_end() {
    P.with(|p| {
        let mut p = p.borrow_mut();
        p.depth = p.depth.saturating_sub(1);
        if p.depth == 0 {
            emit(&mut p);
        }
    })
}

/// Replaces the running command's propagated form (Redis's
/// `rewriteClientCommandVector`). Only used when it changed the dataset.
pub fn rewrite(argv: &[&[u8]]) {
    if !enabled() {
        return;
    }
    P.with(|p| p.borrow_mut().rewritten = Some(argv.iter().map(|a| a.to_vec()).collect()));
}

/// The running command is not propagated as itself (its effects, if any,
/// were recorded with [`also`]): Redis's `preventCommandPropagation`.
pub fn prevent() {
    P.with(|p| p.borrow_mut().prevented = true);
}

/// The running command is propagated even if it changed nothing (Redis's
/// `forceCommandPropagation`: FLUSHALL / FLUSHDB on an empty dataset).
pub fn force() {
    P.with(|p| p.borrow_mut().forced = true);
}

/// Records an extra command for the current unit (Redis's `alsoPropagate`).
/// Outside any unit (a blocked client served after the command that woke it
/// ended) it is emitted at once as a unit of its own.
pub fn also(db: usize, argv: &[&[u8]]) {
    if !enabled() {
        return;
    }
    P.with(|p| {
        let mut p = p.borrow_mut();
        push(&mut p, db, argv);
        if p.depth == 0 {
            emit(&mut p);
        }
    })
}

/// The effect of serving a blocked client (e.g. `LPOP key` for a BLPOP
/// woken by a push). Redis serves blocked clients after the command that
/// made their keys ready, so this is emitted after the current unit (at
/// once outside any unit), as a unit of its own.
pub fn served(db: usize, argv: &[&[u8]]) {
    if !enabled() {
        return;
    }
    P.with(|p| {
        let mut p = p.borrow_mut();
        let start = p.after_bytes.len();
        writer::encode(&mut p.after_bytes, argv);
        let end = p.after_bytes.len();
        p.after.push(Op { db, start, end });
        if p.depth == 0 {
            emit(&mut p);
        }
    })
}

/// Keys the server deleted on its own (expiry, eviction): one `DEL` (or
/// `UNLINK` when `lazy`) each, emitted at once, outside any transaction
/// wrapper, as Redis's `propagateDeletion`. Call with the keys' shard held.
pub fn deleted(db: usize, keys: &[SBytes], lazy: bool) {
    if keys.is_empty() || !enabled() {
        return;
    }
    let name: &[u8] = if lazy { b"UNLINK" } else { b"DEL" };
    writer::feed(|f| {
        for k in keys {
            f.command(Some(db), &[name, k.as_slice()]);
        }
    });
}

/// Expired keys (lazy or active expiry), per `lazyfree-lazy-expire`.
pub fn expired(db: usize, keys: &[SBytes]) {
    if keys.is_empty() || !enabled() {
        return;
    }
    deleted(db, keys, lazy_flag("lazyfree-lazy-expire"));
}

/// Keys a command found expired (lazy expiry): their DELs join the running
/// unit, before the command's own record, as Redis's `propagateDeletion`
/// during a command (a write on an expired key becomes MULTI, DEL, the
/// write, EXEC). Outside any unit they are emitted at once.
pub fn expired_in_unit(db: usize, keys: &[SBytes]) {
    if keys.is_empty() || !enabled() {
        return;
    }
    let name: &[u8] = if lazy_flag("lazyfree-lazy-expire") {
        b"UNLINK"
    } else {
        b"DEL"
    };
    P.with(|p| {
        let mut p = p.borrow_mut();
        for k in keys {
            push(&mut p, db, &[name, k.as_slice()]);
        }
        if p.depth == 0 {
            emit(&mut p);
        }
    })
}

/// Whether a lazyfree option is on (DEL vs UNLINK in rewritten forms).
pub fn lazy_flag(name: &str) -> bool {
    crate::server::get()
        .and_then(|s| s.config.get_bool(name))
        .unwrap_or(false)
}

/// `DEL` or `UNLINK` per the named lazyfree option.
pub fn del_name(option: &str) -> &'static [u8] {
    if lazy_flag(option) {
        b"UNLINK"
    } else {
        b"DEL"
    }
}

/// Absolute unix ms as a decimal argument.
pub fn ms_arg(ms: i64) -> Vec<u8> {
    itoa::Buffer::new().format(ms).as_bytes().to_vec()
}

fn push(p: &mut Pending, db: usize, argv: &[&[u8]]) {
    let start = p.bytes.len();
    writer::encode(&mut p.bytes, argv);
    let end = p.bytes.len();
    p.ops.push(Op { db, start, end });
}

fn emit(p: &mut Pending) {
    if !p.ops.is_empty() {
        let ops = std::mem::take(&mut p.ops);
        let bytes = &p.bytes;
        writer::feed(|f| {
            let multi = ops.len() > 1;
            if multi {
                f.command(None, &[b"MULTI"]);
            }
            for op in &ops {
                if let Some(b) = bytes.get(op.start..op.end) {
                    f.encoded(Some(op.db), b);
                }
            }
            if multi {
                f.command(None, &[b"EXEC"]);
            }
        });
        p.bytes.clear();
        if p.bytes.capacity() > 1 << 20 {
            p.bytes = Vec::new();
        }
        let mut ops = ops;
        ops.clear();
        if ops.capacity() <= 1024 {
            p.ops = ops;
        }
    }
    if !p.after.is_empty() {
        let after = std::mem::take(&mut p.after);
        let bytes = &p.after_bytes;
        writer::feed(|f| {
            for op in &after {
                if let Some(b) = bytes.get(op.start..op.end) {
                    f.encoded(Some(op.db), b);
                }
            }
        });
        p.after_bytes.clear();
        if p.after_bytes.capacity() > 1 << 20 {
            p.after_bytes = Vec::new();
        }
    }
}

/// The bulk strings of a reply just written (`*n`/`~n` header or a single
/// bulk): how handlers recover the values they replied with (SPOP's popped
/// members, HINCRBYFLOAT's new value) for their rewritten forms.
pub fn bulks_in_reply(mut b: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while let Some(&t) = b.first() {
        let Some(eol) = b.windows(2).position(|w| w == b"\r\n") else {
            break;
        };
        let line = b.get(1..eol).unwrap_or(&[]);
        let rest = b.get(eol + 2..).unwrap_or(&[]);
        if t == b'$' {
            let Some(n) = std::str::from_utf8(line)
                .ok()
                .and_then(|s| s.parse::<usize>().ok())
            else {
                break;
            };
            let Some(v) = rest.get(..n) else {
                break;
            };
            out.push(v.to_vec());
            b = rest.get(n + 2..).unwrap_or(&[]);
        } else {
            b = rest;
        }
    }
    out
}
