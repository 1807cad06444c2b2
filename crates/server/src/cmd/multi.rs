//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//!
//! EXEC locks the union of the shards of every queued command's keys (and of
//! the watched keys) in ascending order, or stops all workers when a queued
//! command has no declared keys, then runs the queue under those locks: no
//! other client can observe a half-applied transaction.

use crate::client::{flag, Client};
use crate::dispatch::{self, CommandTable, Ctx, LockKind, Outcome};
use crate::locks::Locks;
use crate::server::Server;
use crate::stats::{bump, WorkerStats};
use smallvec::SmallVec;
use spinel_keyspace::{SBytes, WatchFlag};
use spinel_resp::ReplyBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub fn register(t: &mut CommandTable) {
    t.add_lock("multi", multi, Some(LockKind::None));
    // EXEC is run by `exec` below, straight from the dispatcher (it takes its
    // own locks); the table entry carries its metadata.
    t.add_lock("exec", exec_placeholder, Some(LockKind::None));
    t.add_lock("discard", discard, Some(LockKind::None));
    t.add("watch", watch);
    t.add_lock("unwatch", unwatch, Some(LockKind::None));
}

fn multi(ctx: &mut Ctx, _argv: &[&[u8]]) {
    if ctx.client.multi.is_some() {
        ctx.out.error("ERR MULTI calls can not be nested");
        return;
    }
    ctx.client.multi = Some(Vec::new());
    ctx.client.multi_error = false;
    ctx.client.shared.set_flag(flag::MULTI, true);
    ctx.client.shared.multi.store(0, Ordering::Relaxed);
    ctx.out.ok();
}

fn exec_placeholder(ctx: &mut Ctx, _argv: &[&[u8]]) {
    ctx.out.error("ERR EXEC without MULTI");
}

fn leave_multi(client: &mut Client) -> Option<Vec<Vec<Vec<u8>>>> {
    client.shared.set_flag(flag::MULTI, false);
    client.shared.multi.store(-1, Ordering::Relaxed);
    client.multi.take()
}

fn discard(ctx: &mut Ctx, _argv: &[&[u8]]) {
    if ctx.client.multi.is_none() {
        ctx.out.error("ERR DISCARD without MULTI");
        return;
    }
    leave_multi(ctx.client);
    ctx.client.multi_error = false;
    let srv = ctx.srv;
    unwatch_all(srv, ctx.client);
    ctx.out.ok();
}

fn watch(ctx: &mut Ctx, argv: &[&[u8]]) {
    if ctx.client.multi.is_some() {
        ctx.out.error("ERR WATCH inside MULTI is not allowed");
        return;
    }
    let flag: WatchFlag = ctx
        .client
        .watch_flag
        .get_or_insert_with(|| Arc::new(AtomicBool::new(false)))
        .clone();
    let db = ctx.ks.db;
    for key in &argv[1..] {
        if ctx
            .client
            .watched
            .iter()
            .any(|(d, k, _)| *d == db && k.as_slice() == *key)
        {
            continue;
        }
        let existed = ctx.ks.exists(key);
        let (sh, _) = ctx.ks.shard_of(key);
        sh.watched
            .entry(SBytes::new(key))
            .or_default()
            .push(flag.clone());
        ctx.client.watched.push((db, key.to_vec(), existed));
    }
    ctx.out.ok();
}

fn unwatch(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let srv = ctx.srv;
    unwatch_all(srv, ctx.client);
    ctx.out.ok();
}

/// Removes all of the client's WATCH registrations. Takes shard locks one at
/// a time, so it must be called with no shard locks held.
pub fn unwatch_all(srv: &Server, client: &mut Client) {
    let Some(flag) = client.watch_flag.take() else {
        client.watched.clear();
        return;
    };
    for (db, key, _) in client.watched.drain(..) {
        let h = srv.ks.hash(&key);
        let idx = srv.ks.shard_of(h);
        if let Some(m) = srv.ks.dbs.get(db).and_then(|d| d.shards.get(idx)) {
            let mut sh = m.lock();
            let now_empty = match sh.watched.get_mut(key.as_slice()) {
                Some(v) => {
                    v.retain(|f| !Arc::ptr_eq(f, &flag));
                    v.is_empty()
                }
                None => false,
            };
            if now_empty {
                sh.watched.remove(key.as_slice());
            }
        }
    }
}

/// Commands that touch no keyspace state and so never force EXEC into
/// exclusive mode.
fn lock_free(name: &str) -> bool {
    matches!(
        name,
        "select"
            | "ping"
            | "echo"
            | "time"
            | "lastsave"
            | "multi"
            | "discard"
            | "watch"
            | "unwatch"
    )
}

/// EXEC, run by the dispatcher without any locks held.
pub fn exec(
    srv: &'static Server,
    client: &mut Client,
    out: &mut ReplyBuf,
    wstats: &'static WorkerStats,
) -> Outcome {
    let Some(queue) = leave_multi(client) else {
        out.error("ERR EXEC without MULTI");
        return Outcome::Done;
    };
    if client.multi_error {
        client.multi_error = false;
        unwatch_all(srv, client);
        out.error("EXECABORT Transaction discarded because of previous errors.");
        return Outcome::Done;
    }
    // Work out the lock set: every queued command's shards (following
    // SELECTs inside the transaction) plus the watched keys' shards.
    let mut shards: SmallVec<[(u32, u32); 8]> = SmallVec::new();
    let mut exclusive = false;
    let mut db = client.db;
    for q in &queue {
        let argv: SmallVec<[&[u8]; 8]> = q.iter().map(|a| a.as_slice()).collect();
        let Some(cmd) = dispatch::resolve(srv, &argv) else {
            continue;
        };
        if cmd.name == "select" {
            if let Some(d) = argv.get(1).and_then(|a| crate::cmd::util::parse_i64(a)) {
                if d >= 0 && (d as usize) < srv.ks.ndbs() {
                    db = d as usize;
                }
            }
            continue;
        }
        if lock_free(cmd.name) {
            continue;
        }
        match dispatch::lock_set(srv, db, cmd, &argv) {
            Ok(Some(s)) => shards.extend(s),
            Ok(None) => exclusive = true,
            Err(_) => {}
        }
    }
    for (d, key, _) in &client.watched {
        shards.push((*d as u32, srv.ks.shard_of(srv.ks.hash(key)) as u32));
    }
    let mut locks = if exclusive {
        Locks::exclusive(&srv.ks, &srv.thread_locks)
    } else {
        Locks::keys(&srv.ks, &srv.thread_locks, client.worker, shards)
    };
    if watch_broken(srv, client, &mut locks) {
        drop(locks);
        unwatch_all(srv, client);
        out.null_array();
        return Outcome::Done;
    }
    out.array(queue.len());
    client.in_exec = true;
    // The transaction is one execution unit: its effects are propagated
    // together (wrapped in MULTI/EXEC when more than one).
    crate::propagate::unit_begin();
    let mut outcome = Outcome::Done;
    for q in &queue {
        let argv: SmallVec<[&[u8]; 8]> = q.iter().map(|a| a.as_slice()).collect();
        let Some(cmd) = dispatch::resolve(srv, &argv) else {
            out.error(&dispatch::unknown_command_error(&argv));
            continue;
        };
        let Some(handler) = cmd.handler else {
            out.error(&dispatch::unknown_command_error(&argv));
            continue;
        };
        let start = std::time::Instant::now();
        if dispatch::invoke(srv, client, out, &argv, cmd, handler, wstats, &mut locks)
            == Outcome::Close
        {
            outcome = Outcome::Close;
        }
        if let Some(c) = wstats.per_cmd.get(cmd.id) {
            bump(&c.calls, 1);
            bump(&c.usec, start.elapsed().as_micros() as u64);
        }
        // A blocking command inside a transaction never blocks.
        client.block = None;
    }
    client.in_exec = false;
    crate::propagate::unit_end();
    crate::blocking::serve_held(srv, &mut locks);
    crate::expire::drain_lazy_expired(srv, &mut locks);
    drop(locks);
    unwatch_all(srv, client);
    outcome
}

/// True when a watched key changed (or expired) since WATCH.
fn watch_broken(srv: &Server, client: &Client, locks: &mut Locks) -> bool {
    if let Some(f) = &client.watch_flag {
        if f.load(Ordering::Acquire) {
            return true;
        }
    }
    let now = crate::server::now_ms();
    for (db, key, existed) in &client.watched {
        if !existed {
            continue;
        }
        let h = srv.ks.hash(key);
        let sh = locks.shard(*db, srv.ks.shard_of(h));
        if sh.peek(h, key, now).is_none() {
            return true;
        }
    }
    false
}
