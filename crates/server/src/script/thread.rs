//! Where scripts execute, and what other connections do meanwhile.
//!
//! EVAL/EVALSHA/FCALL (and EXEC of a transaction holding one) run on one
//! dedicated thread, `spinel-script`. The calling connection moves its
//! `Client` and reply buffer there and awaits them back, so its worker's
//! event loop keeps serving every other connection it owns.
//!
//! While such a job is in flight, every connection passes `gate` before
//! dispatching a request: it waits (asynchronously, without taking any
//! lock) until the job ends, or, once the script has run longer than
//! `busy-reply-threshold`, gets Redis's answers for a busy server: `BUSY`
//! for most commands, SCRIPT KILL / FUNCTION KILL, SHUTDOWN NOSAVE and
//! FUNCTION STATS served.

use super::{kill_reply, IS_FUNCTION, RUNNING_SINCE};
use crate::client::{flag, Client};
use crate::dispatch::{self, Outcome};
use crate::server::Server;
use parking_lot::Mutex;
use smallvec::SmallVec;
use spinel_resp::ReplyBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;
use tokio::sync::Notify;

type Job = Box<dyn FnOnce() + Send>;

/// Script jobs submitted and not yet finished.
static ACTIVE: AtomicUsize = AtomicUsize::new(0);
/// Requests waiting in `gate` for the script thread to go idle. While there
/// are some, new scripts wait too instead of queuing behind the running one
/// (so that a steady stream of scripts can't starve other commands).
static WAITING: AtomicUsize = AtomicUsize::new(0);
/// Signalled when a job ends or its script starts running (waiters then
/// re-check the state and their deadline).
pub(super) static CHANGED: Notify = Notify::const_new();
static QUEUE: Mutex<Option<mpsc::Sender<Job>>> = Mutex::new(None);

/// Whether a script job is in flight: requests must pass `gate` first.
#[inline]
pub fn busy() -> bool {
    ACTIVE.load(Ordering::Acquire) != 0
}

/// Whether this request runs on the script thread: a script command
/// outside MULTI, or EXEC of a transaction that holds one.
pub fn offloaded(client: &Client, argv: &[&[u8]]) -> bool {
    let Some(name) = argv.first() else {
        return false;
    };
    match client.multi.as_ref() {
        None => is_script_command(name),
        Some(queue) => {
            name.eq_ignore_ascii_case(b"exec")
                && queue
                    .iter()
                    .any(|q| q.first().is_some_and(|n| is_script_command(n)))
        }
    }
}

fn is_script_command(name: &[u8]) -> bool {
    match name.first() {
        Some(b'e' | b'E' | b'f' | b'F') => [
            &b"eval"[..],
            b"evalsha",
            b"eval_ro",
            b"evalsha_ro",
            b"fcall",
            b"fcall_ro",
        ]
        .iter()
        .any(|n| name.eq_ignore_ascii_case(n)),
        _ => false,
    }
}

/// Hands `job` to the script thread (started on first use). Gives the job
/// back when the thread can't be started.
fn submit(job: Job) -> Result<(), Job> {
    let mut g = QUEUE.lock();
    if g.is_none() {
        let (tx, rx) = mpsc::channel::<Job>();
        let spawned = std::thread::Builder::new()
            .name("spinel-script".into())
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    job();
                }
            });
        if spawned.is_err() {
            return Err(job);
        }
        *g = Some(tx);
    }
    match g.as_ref() {
        Some(tx) => tx.send(job).map_err(|e| e.0),
        None => Err(job),
    }
}

/// Runs one request on the script thread and waits for it without
/// blocking this worker. `client` and `out` travel with the job and come
/// back updated (selected db, MULTI state, reply bytes...).
pub async fn execute(
    srv: &'static Server,
    client: &mut Client,
    out: &mut ReplyBuf,
    argv: &[&[u8]],
) -> Outcome {
    let owned: Vec<Vec<u8>> = argv.iter().map(|a| a.to_vec()).collect();
    let stand_in = Client::new(client.shared.clone(), client.worker, client.authenticated);
    let mut c = std::mem::replace(client, stand_in);
    let resp3 = out.resp3;
    let mut o = std::mem::replace(out, ReplyBuf::new(resp3));
    let (tx, rx) = tokio::sync::oneshot::channel::<(Client, ReplyBuf, Outcome)>();
    ACTIVE.fetch_add(1, Ordering::AcqRel);
    let job: Job = Box::new(move || {
        // The command's clock (key expiry, TIME) is read once: the whole
        // script sees the time it started at.
        crate::server::batch_begin();
        let sl: SmallVec<[&[u8]; 8]> = owned.iter().map(|a| a.as_slice()).collect();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            dispatch::execute(srv, &mut c, &mut o, &sl)
        }));
        crate::server::batch_end();
        let outcome = r.unwrap_or(Outcome::Close);
        ACTIVE.fetch_sub(1, Ordering::AcqRel);
        CHANGED.notify_waiters();
        let _ = tx.send((c, o, outcome));
    });
    if let Err(job) = submit(job) {
        job();
    }
    match rx.await {
        Ok((c, o, outcome)) => {
            // The script thread appended its records: the reply waits for
            // them (appendfsync always) like this worker's own.
            crate::persist::aof::writer::note_all();
            *client = c;
            *out = o;
            outcome
        }
        Err(_) => Outcome::Close,
    }
}

/// What a request does while a script job is in flight.
enum Verdict {
    /// Dispatch it normally (nothing runs, or it is refused before locking).
    Dispatch,
    /// Answered here.
    Answered,
    /// Wait for a change (the script starting or ending), at most this long.
    Wait(Option<Duration>),
}

/// Called by the connection loop before dispatching a request while
/// `busy()`: waits for the script, or answers the request as Redis does
/// for a busy server. Returns true when the request was answered.
pub async fn gate(
    srv: &'static Server,
    client: &mut Client,
    out: &mut ReplyBuf,
    argv: &[&[u8]],
) -> bool {
    let mut waiting = None;
    loop {
        let changed = CHANGED.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        if !busy() {
            return false;
        }
        match verdict(srv, client, out, argv, waiting.is_some()) {
            Verdict::Dispatch => return false,
            Verdict::Answered => return true,
            Verdict::Wait(d) => {
                if waiting.is_none() {
                    waiting = Some(Waiting::enter());
                }
                match d {
                    Some(d) => {
                        tokio::select! {
                            _ = &mut changed => {}
                            _ = tokio::time::sleep(d) => {}
                        }
                    }
                    None => changed.await,
                }
            }
        }
    }
}

/// Counts a request waiting in `gate` (see `WAITING`).
struct Waiting;

impl Waiting {
    fn enter() -> Waiting {
        WAITING.fetch_add(1, Ordering::AcqRel);
        Waiting
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        WAITING.fetch_sub(1, Ordering::AcqRel);
    }
}

fn busy_error() -> &'static str {
    if IS_FUNCTION.load(Ordering::Relaxed) {
        super::BUSY_FUNCTION
    } else {
        super::BUSY_EVAL
    }
}

fn verdict(
    srv: &'static Server,
    client: &mut Client,
    out: &mut ReplyBuf,
    argv: &[&[u8]],
    already_waiting: bool,
) -> Verdict {
    let Some(&name) = argv.first() else {
        return Verdict::Dispatch;
    };
    // Unknown commands, wrong arity and NOAUTH are answered first (the
    // dispatcher does so without taking any lock).
    let Some(cmd) = dispatch::resolve(srv, argv) else {
        return Verdict::Dispatch;
    };
    let argc = argv.len() as i64;
    if (cmd.arity > 0 && cmd.arity != argc) || argc < -cmd.arity || !client.authenticated {
        return Verdict::Dispatch;
    }
    let since = RUNNING_SINCE.load(Ordering::Acquire);
    let elapsed = crate::server::now_ms() - since;
    let threshold = srv.config.busy_reply_threshold();
    // Another script queues behind this one on the script thread, unless
    // other requests are already waiting for their turn.
    if (since == 0 || elapsed < threshold)
        && WAITING.load(Ordering::Acquire) == usize::from(already_waiting)
        && offloaded(client, argv)
    {
        return Verdict::Dispatch;
    }
    if since == 0 {
        // The job hasn't reached its script yet (or is past it).
        return Verdict::Wait(Some(Duration::from_millis(50)));
    }
    if matches!(cmd.name, "script|kill" | "function|kill") {
        kill_reply(out, cmd.name == "script|kill");
        return Verdict::Answered;
    }
    if elapsed < threshold {
        return Verdict::Wait(Some(Duration::from_millis((threshold - elapsed) as u64)));
    }
    match cmd.name {
        "shutdown" => {
            let (mut nosave, mut save, mut abort, mut flags) = (false, false, false, false);
            for a in argv.iter().skip(1) {
                let a = a.to_ascii_lowercase();
                match a.as_slice() {
                    b"nosave" => (nosave, flags) = (true, true),
                    b"save" => (save, flags) = (true, true),
                    b"now" | b"force" => flags = true,
                    b"abort" => abort = true,
                    _ => {
                        out.error(dispatch::ERR_SYNTAX);
                        return Verdict::Answered;
                    }
                }
            }
            if (abort && flags) || (nosave && save) {
                out.error(dispatch::ERR_SYNTAX);
            } else if abort {
                out.error("ERR No shutdown in progress.");
            } else if nosave {
                // The main thread shuts down the normal way (without the
                // final save); this client gets no reply, as in Redis.
                crate::startup::request_shutdown(srv, true, false);
            } else {
                out.error(busy_error());
            }
            Verdict::Answered
        }
        "function|stats" => {
            if IS_FUNCTION.load(Ordering::Relaxed) {
                super::write_function_stats(out, true);
            } else {
                out.error(busy_error());
            }
            Verdict::Answered
        }
        "exec" => {
            // A refused EXEC discards the transaction (EXECABORT).
            client.multi = None;
            client.multi_error = false;
            client.shared.set_flag(flag::MULTI, false);
            client.shared.multi.store(-1, Ordering::Relaxed);
            forget_watches_later(srv, client);
            out.error(&format!(
                "EXECABORT Transaction discarded because of: {}",
                busy_error()
            ));
            Verdict::Answered
        }
        // Transactions can be opened and dropped while busy (a pipelined
        // MULTI ... EXEC then fails as a whole, at EXEC).
        "multi" => {
            if client.multi.is_some() {
                out.error("ERR MULTI calls can not be nested");
            } else {
                client.multi = Some(Vec::new());
                client.multi_error = false;
                client.shared.set_flag(flag::MULTI, true);
                client.shared.multi.store(0, Ordering::Relaxed);
                out.ok();
            }
            Verdict::Answered
        }
        "discard" => {
            if client.multi.is_none() {
                out.error("ERR DISCARD without MULTI");
            } else {
                client.multi = None;
                client.multi_error = false;
                client.shared.set_flag(flag::MULTI, false);
                client.shared.multi.store(-1, Ordering::Relaxed);
                forget_watches_later(srv, client);
                out.ok();
            }
            Verdict::Answered
        }
        // Connection set-up touches no keyspace state: served now.
        "hello" | "auth" => {
            run_without_locks(srv, client, out, argv, cmd);
            Verdict::Answered
        }
        // Allowed while busy in Redis; here they run once the script ends
        // (they need shard locks the script may hold, or end the connection).
        "watch" | "unwatch" | "quit" | "reset" | "replconf" => Verdict::Wait(None),
        _ => {
            let _ = name;
            if client.multi.is_some() {
                client.multi_error = true;
            }
            out.error(busy_error());
            Verdict::Answered
        }
    }
}

/// Runs a command that touches no keyspace state without taking this
/// worker's lock (the script holds it).
fn run_without_locks(
    srv: &'static Server,
    client: &mut Client,
    out: &mut ReplyBuf,
    argv: &[&[u8]],
    cmd: &'static dispatch::Command,
) {
    let Some(handler) = cmd.handler else {
        return;
    };
    let wstats = srv.stats.worker(client.worker);
    // A worker index past the thread locks takes none of them.
    let mut locks = crate::locks::Locks::none(&srv.ks, &srv.thread_locks, usize::MAX);
    let _ = dispatch::invoke(srv, client, out, argv, cmd, handler, wstats, &mut locks);
}

/// Drops the client's WATCHes after the running script (unwatching takes
/// shard locks the script holds).
fn forget_watches_later(srv: &'static Server, client: &mut Client) {
    if client.watched.is_empty() && client.watch_flag.is_none() {
        return;
    }
    let mut holder = Client::new(client.shared.clone(), client.worker, client.authenticated);
    holder.watched = std::mem::take(&mut client.watched);
    holder.watch_flag = client.watch_flag.take();
    let job: Job = Box::new(move || crate::cmd::multi::unwatch_all(srv, &mut holder));
    if let Err(job) = submit(job) {
        let _ = std::thread::Builder::new()
            .name("spinel-unwatch".into())
            .spawn(job);
    }
}
