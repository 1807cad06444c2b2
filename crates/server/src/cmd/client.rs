//! Connection state commands: HELLO, AUTH, RESET and the CLIENT family
//! (ID, INFO, LIST, KILL, SETNAME, GETNAME, SETINFO, PAUSE, UNPAUSE, REPLY,
//! NO-EVICT, NO-TOUCH, UNBLOCK, GETREDIR, CACHING, TRACKINGINFO, HELP).
//!
//! Replies and errors are Redis 7.2's. Authentication knows one user,
//! `default`, whose password is `requirepass` (no password: any password
//! is accepted, as for Redis's `nopass` default user).

use crate::client::{flag, Client, ClientShared, ReplyMode};
use crate::cmd::util::{eq_ic, lossy, parse_i64};
use crate::dispatch::{CommandTable, Ctx, LockKind, ERR_NOT_INT, ERR_SYNTAX};
use crate::server::{now_ms, Server};
use parking_lot::Mutex;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Extra clean-up run by RESET after the built-in state is cleared (for
/// subsystems that keep per-client state, e.g. cluster READONLY mode).
pub type ResetHook = fn(&'static Server, &mut Client);
pub static RESET_HOOKS: Mutex<Vec<ResetHook>> = Mutex::new(Vec::new());

pub fn register(t: &mut CommandTable) {
    let none = Some(LockKind::None);
    t.add_lock("hello", hello, none);
    t.add_lock("auth", auth, none);
    t.add_lock("reset", reset, none);
    for (name, h) in [
        ("client|id", client_id as crate::dispatch::Handler),
        ("client|info", client_info),
        ("client|list", client_list),
        ("client|kill", client_kill),
        ("client|setname", client_setname),
        ("client|getname", client_getname),
        ("client|setinfo", client_setinfo),
        ("client|pause", client_pause),
        ("client|unpause", client_unpause),
        ("client|reply", client_reply),
        ("client|no-evict", client_no_evict),
        ("client|no-touch", client_no_touch),
        ("client|unblock", client_unblock),
        ("client|getredir", client_getredir),
        ("client|caching", client_caching),
        ("client|trackinginfo", client_trackinginfo),
        ("client|help", client_help),
    ] {
        t.add_lock(name, h, none);
    }
}

/// Replies with the arity error when `argv` does not fit `arity` (Redis's
/// convention: positive = exact, negative = at least). Returns true when it
/// fits. The dispatcher checks arity from the command metadata already; this
/// keeps the handlers safe on their own.
fn arity_ok(ctx: &mut Ctx, argv: &[&[u8]], arity: i64) -> bool {
    let n = argv.len() as i64;
    let ok = if arity >= 0 { n == arity } else { n >= -arity };
    if !ok {
        ctx.out.error(&crate::dispatch::arity_error(ctx.cmd.name));
    }
    ok
}

// ------------------------------------------------------------------ auth

/// Constant-time byte comparison (no early exit on the first difference).
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = (a.len() ^ b.len()) as u8 | ((a.len() != b.len()) as u8);
    for (i, &x) in a.iter().enumerate() {
        diff |= x ^ b.get(i).copied().unwrap_or(!x);
    }
    diff == 0
}

/// Checks a username/password pair against the `default` user.
pub fn check_credentials(srv: &Server, user: &[u8], pass: &[u8]) -> bool {
    if user != b"default" {
        return false;
    }
    match srv.config.requirepass() {
        None => true,
        Some(p) => ct_eq(&p, pass),
    }
}

const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

/// Authenticates the client; on failure replies WRONGPASS and returns false.
fn authenticate(ctx: &mut Ctx, user: &[u8], pass: &[u8]) -> bool {
    if check_credentials(ctx.srv, user, pass) {
        ctx.client.authenticated = true;
        true
    } else {
        crate::info::ACL_DENIED_AUTH.fetch_add(1, Ordering::Relaxed);
        crate::log::verbose(&format!(
            "Authentication failed for client id={} addr={}",
            ctx.client.id(),
            ctx.client.shared.addr
        ));
        ctx.out.error(WRONGPASS);
        false
    }
}

fn auth(ctx: &mut Ctx, argv: &[&[u8]]) {
    if !arity_ok(ctx, argv, -2) {
        return;
    }
    if argv.len() > 3 {
        ctx.out.error(ERR_SYNTAX);
        return;
    }
    let (user, pass): (&[u8], &[u8]) = if argv.len() == 2 {
        if ctx.srv.config.requirepass().is_none() {
            ctx.out.error(
                "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
            );
            return;
        }
        (b"default", argv[1])
    } else {
        (argv[1], argv[2])
    };
    if authenticate(ctx, user, pass) {
        ctx.out.ok();
    }
}

// ------------------------------------------------------------------ hello

/// Sets the protocol of the connection (its reply encoder included).
pub fn set_protocol(ctx: &mut Ctx, ver: i64) {
    let resp3 = ver == 3;
    ctx.client.resp3 = resp3;
    ctx.out.resp3 = resp3;
    ctx.client.shared.resp.store(ver as u32, Ordering::Relaxed);
}

fn hello(ctx: &mut Ctx, argv: &[&[u8]]) {
    let mut ver: i64 = 0;
    let mut next = 1;
    if let Some(v) = argv.get(1) {
        match parse_i64(v) {
            Some(n) => ver = n,
            None => {
                ctx.out
                    .error("ERR Protocol version is not an integer or out of range");
                return;
            }
        }
        next = 2;
        if !(2..=3).contains(&ver) {
            ctx.out.error("NOPROTO unsupported protocol version");
            return;
        }
    }
    let mut creds: Option<(&[u8], &[u8])> = None;
    let mut name: Option<&[u8]> = None;
    let mut j = next;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        let opt = argv[j];
        if eq_ic(opt, "auth") && more >= 2 {
            creds = Some((argv[j + 1], argv[j + 2]));
            j += 3;
        } else if eq_ic(opt, "setname") && more >= 1 {
            let n = argv[j + 1];
            if !valid_name(n) {
                ctx.out.error(ERR_BAD_NAME);
                return;
            }
            name = Some(n);
            j += 2;
        } else {
            ctx.out.error(&format!(
                "ERR Syntax error in HELLO option '{}'",
                lossy(opt)
            ));
            return;
        }
    }
    if let Some((u, p)) = creds {
        if !authenticate(ctx, u, p) {
            return;
        }
    }
    if !ctx.client.authenticated {
        ctx.out.error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
        return;
    }
    if let Some(n) = name {
        *ctx.client.shared.name.lock() = n.to_vec();
    }
    if ver != 0 {
        set_protocol(ctx, ver);
    }
    let srv = ctx.srv;
    let proto = ctx.client.shared.resp.load(Ordering::Relaxed) as i64;
    let id = ctx.client.id() as i64;
    let out = &mut *ctx.out;
    out.map(7);
    out.bulk(b"server");
    out.bulk(b"redis");
    out.bulk(b"version");
    out.bulk(crate::server::VERSION.as_bytes());
    out.bulk(b"proto");
    out.int(proto);
    out.bulk(b"id");
    out.int(id);
    out.bulk(b"mode");
    out.bulk(if crate::info::cluster_enabled(srv) {
        b"cluster"
    } else {
        b"standalone"
    });
    out.bulk(b"role");
    out.bulk(if crate::info::is_replica(srv) {
        b"replica"
    } else {
        b"master"
    });
    out.bulk(b"modules");
    out.array(0);
}

// ------------------------------------------------------------------ reset

fn reset(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let shared = ctx.client.shared.clone();
    if shared.has_flag(flag::MASTER) || shared.has_flag(flag::REPLICA) {
        ctx.out
            .error("ERR can only reset normal client connections");
        return;
    }
    let srv = ctx.srv;
    clear_connection_state(srv, ctx.client);
    ctx.out.resp3 = false;
    ctx.out.simple("RESET");
}

/// Redis's `clearClientConnectionState`: what RESET restores.
pub fn clear_connection_state(srv: &'static Server, client: &mut Client) {
    let shared = client.shared.clone();
    if shared.has_flag(flag::MONITOR) {
        crate::monitor::remove(shared.id);
        shared.set_flag(flag::MONITOR, false);
    }
    client.select(0);
    client.resp3 = false;
    shared.resp.store(2, Ordering::Relaxed);
    client.authenticated = srv.config.requirepass().is_none();
    // DISCARD and UNWATCH.
    client.multi = None;
    client.multi_error = false;
    shared.set_flag(flag::MULTI, false);
    shared.multi.store(-1, Ordering::Relaxed);
    crate::cmd::multi::unwatch_all(srv, client);
    shared.set_flag(flag::DIRTY_CAS, false);
    // Leave every channel, pattern and shard channel.
    crate::cmd::pubsub::on_close(srv, &shared);
    shared.sub.store(0, Ordering::Relaxed);
    shared.psub.store(0, Ordering::Relaxed);
    shared.ssub.store(0, Ordering::Relaxed);
    shared.set_flag(flag::PUBSUB, false);
    shared.name.lock().clear();
    // CLIENT REPLY OFF / SKIP are cleared; a skip already applying to this
    // very command still applies (as in Redis).
    if matches!(client.reply_mode, ReplyMode::Off | ReplyMode::SkipNext) {
        client.reply_mode = ReplyMode::On;
    }
    client.no_touch = false;
    shared.set_flag(flag::NO_TOUCH | flag::NO_EVICT, false);
    let hooks: Vec<ResetHook> = RESET_HOOKS.lock().clone();
    for h in hooks {
        h(srv, client);
    }
}

// ------------------------------------------------------------------ CLIENT

const ERR_BAD_NAME: &str =
    "ERR Client names cannot contain spaces, newlines or special characters.";

/// Client names and library attributes: printable ASCII without spaces.
fn valid_name(n: &[u8]) -> bool {
    n.iter().all(|&c| (b'!'..=b'~').contains(&c))
}

fn client_id(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let id = ctx.client.id() as i64;
    ctx.out.int(id);
}

/// What only the calling connection knows about itself, for its own
/// CLIENT LIST / INFO line.
pub struct SelfView<'a> {
    pub client: &'a Client,
    pub cmd: &'static str,
    pub argv_mem: usize,
}

/// Redis's client type for LIST/KILL TYPE filters.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ClientType {
    Normal,
    Replica,
    PubSub,
    Master,
}

fn type_by_name(n: &[u8]) -> Option<ClientType> {
    let s = String::from_utf8_lossy(n).to_ascii_lowercase();
    match s.as_str() {
        "normal" => Some(ClientType::Normal),
        "slave" | "replica" => Some(ClientType::Replica),
        "pubsub" => Some(ClientType::PubSub),
        "master" => Some(ClientType::Master),
        _ => None,
    }
}

fn type_of(c: &ClientShared) -> ClientType {
    if c.has_flag(flag::MASTER) {
        ClientType::Master
    } else if c.has_flag(flag::REPLICA) && !c.has_flag(flag::MONITOR) {
        ClientType::Replica
    } else if c.has_flag(flag::PUBSUB) {
        ClientType::PubSub
    } else {
        ClientType::Normal
    }
}

fn flags_string(c: &ClientShared, me: Option<&SelfView>) -> String {
    let mut s = String::new();
    let f = c.flags.load(Ordering::Relaxed);
    let has = |b: u32| f & b != 0;
    if has(flag::MONITOR) {
        s.push('O');
    } else if has(flag::REPLICA) {
        s.push('S');
    }
    if has(flag::MASTER) {
        s.push('M');
    }
    if has(flag::PUBSUB) {
        s.push('P');
    }
    let in_multi = match me {
        Some(v) => v.client.multi.is_some(),
        None => has(flag::MULTI) || c.multi.load(Ordering::Relaxed) >= 0,
    };
    if in_multi {
        s.push('x');
    }
    if has(flag::BLOCKED) {
        s.push('b');
    }
    let dirty = has(flag::DIRTY_CAS)
        || me
            .and_then(|v| v.client.watch_flag.as_ref())
            .map(|w| w.load(Ordering::Relaxed))
            .unwrap_or(false);
    if dirty {
        s.push('d');
    }
    if me.map(|v| v.client.close_after_reply).unwrap_or(false) {
        s.push('c');
    }
    if has(flag::CLOSE_ASAP) || c.kill.load(Ordering::Relaxed) {
        s.push('A');
    }
    if has(flag::UNIX) {
        s.push('U');
    }
    if has(flag::NO_EVICT) {
        s.push('e');
    }
    if has(flag::NO_TOUCH) {
        s.push('T');
    }
    if s.is_empty() {
        s.push('N');
    }
    s
}

/// One CLIENT LIST line (without the trailing newline), in Redis 7.2's format.
pub fn client_info_line(c: &ClientShared, me: Option<&SelfView>) -> String {
    let now = now_ms();
    let age = (now / 1000 - c.created_ms / 1000).max(0);
    let idle = (now / 1000 - c.last_ms.load(Ordering::Relaxed) / 1000).max(0);
    let db = match me {
        Some(v) => v.client.db,
        None => c.db.load(Ordering::Relaxed),
    };
    let multi = match me {
        Some(v) => v
            .client
            .multi
            .as_ref()
            .map(|q| q.len() as i64)
            .unwrap_or(-1),
        None => c.multi.load(Ordering::Relaxed),
    };
    let multi_mem: usize = me
        .and_then(|v| v.client.multi.as_ref())
        .map(|q| q.iter().flatten().map(|a| a.len()).sum())
        .unwrap_or(0);
    let argv_mem = me.map(|v| v.argv_mem).unwrap_or(0);
    let pending = c.mailbox.lock().len();
    let cmd: String = match me {
        Some(v) => v.cmd.to_string(),
        None => match c.last_cmd.load(Ordering::Relaxed) {
            0 => "NULL".to_string(),
            id => crate::server::get()
                .and_then(|s| s.commands.by_id(id - 1))
                .map(|x| x.name)
                .unwrap_or("NULL")
                .to_string(),
        },
    };
    let name = lossy(&c.name.lock());
    let lib_name = lossy(&c.lib_name.lock());
    let lib_ver = lossy(&c.lib_ver.lock());
    let tot_mem = crate::info::client_memory(c) as usize + argv_mem + multi_mem;
    format!(
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} qbuf={} qbuf-free={} argv-mem={} multi-mem={} rbs={} rbp={} obl={} oll={} omem={} tot-mem={} events={} cmd={} user=default redir=-1 resp={} lib-name={} lib-ver={}",
        c.id,
        c.addr,
        c.laddr,
        c.fd,
        name,
        age,
        idle,
        flags_string(c, me),
        db,
        c.sub.load(Ordering::Relaxed),
        c.psub.load(Ordering::Relaxed),
        c.ssub.load(Ordering::Relaxed),
        multi,
        c.qbuf.load(Ordering::Relaxed),
        0,
        argv_mem,
        multi_mem,
        16 * 1024,
        16 * 1024,
        0,
        0,
        pending,
        tot_mem,
        if pending > 0 { "rw" } else { "r" },
        cmd,
        c.resp.load(Ordering::Relaxed),
        lib_name,
        lib_ver
    )
}

fn self_view<'a>(ctx: &'a Ctx, argv: &[&[u8]]) -> SelfView<'a> {
    SelfView {
        client: ctx.client,
        cmd: ctx.cmd.name,
        argv_mem: argv.iter().map(|a| a.len()).sum(),
    }
}

/// A line for `c`, using the caller's own view when `c` is the caller.
fn line_for(ctx: &Ctx, argv: &[&[u8]], c: &Arc<ClientShared>) -> String {
    if c.id == ctx.client.id() {
        client_info_line(c, Some(&self_view(ctx, argv)))
    } else {
        client_info_line(c, None)
    }
}

fn client_info(ctx: &mut Ctx, argv: &[&[u8]]) {
    let shared = ctx.client.shared.clone();
    let mut s = client_info_line(&shared, Some(&self_view(ctx, argv)));
    s.push('\n');
    ctx.out.verbatim(s.as_bytes());
}

fn client_list(ctx: &mut Ctx, argv: &[&[u8]]) {
    if !arity_ok(ctx, argv, -2) {
        return;
    }
    let mut type_filter: Option<ClientType> = None;
    let mut ids: Option<Vec<u64>> = None;
    if argv.len() == 4 && eq_ic(argv[2], "type") {
        match type_by_name(argv[3]) {
            Some(t) => type_filter = Some(t),
            None => {
                ctx.out
                    .error(&format!("ERR Unknown client type '{}'", lossy(argv[3])));
                return;
            }
        }
    } else if argv.len() > 3 && eq_ic(argv[2], "id") {
        let mut v = Vec::new();
        for a in &argv[3..] {
            match parse_i64(a) {
                Some(id) => v.push(id as u64),
                None => {
                    ctx.out.error("ERR Invalid client ID");
                    return;
                }
            }
        }
        ids = Some(v);
    } else if argv.len() != 2 {
        ctx.out.error(ERR_SYNTAX);
        return;
    }
    let mut s = String::new();
    match ids {
        Some(ids) => {
            for id in ids {
                if let Some(c) = ctx.srv.clients.get(id) {
                    s.push_str(&line_for(ctx, argv, &c));
                    s.push('\n');
                }
            }
        }
        None => {
            for c in ctx.srv.clients.all() {
                if type_filter.is_some_and(|t| type_of(&c) != t) {
                    continue;
                }
                s.push_str(&line_for(ctx, argv, &c));
                s.push('\n');
            }
        }
    }
    ctx.out.verbatim(s.as_bytes());
}

/// Disconnects another client now: it disappears from CLIENT LIST at once
/// and its connection closes as soon as its worker notices.
pub fn kill_client(srv: &Server, c: &ClientShared) {
    c.request_kill();
    crate::monitor::remove(c.id);
    srv.clients.unregister(c.id);
}

fn client_kill(ctx: &mut Ctx, argv: &[&[u8]]) {
    if !arity_ok(ctx, argv, -3) {
        return;
    }
    let mut addr: Option<&[u8]> = None;
    let mut laddr: Option<&[u8]> = None;
    let mut ctype: Option<ClientType> = None;
    let mut id: Option<u64> = None;
    let mut maxage: Option<i64> = None;
    let mut skipme = true;
    let old_form = argv.len() == 3;
    if old_form {
        addr = Some(argv[2]);
        skipme = false;
    } else {
        let mut i = 2;
        while i < argv.len() {
            let opt = argv[i];
            let Some(&val) = argv.get(i + 1) else {
                ctx.out.error(ERR_SYNTAX);
                return;
            };
            if eq_ic(opt, "id") {
                match parse_i64(val) {
                    Some(v) if v >= 1 => id = Some(v as u64),
                    _ => {
                        ctx.out.error("ERR client-id should be greater than 0");
                        return;
                    }
                }
            } else if eq_ic(opt, "type") {
                match type_by_name(val) {
                    Some(t) => ctype = Some(t),
                    None => {
                        ctx.out
                            .error(&format!("ERR Unknown client type '{}'", lossy(val)));
                        return;
                    }
                }
            } else if eq_ic(opt, "addr") {
                addr = Some(val);
            } else if eq_ic(opt, "laddr") {
                laddr = Some(val);
            } else if eq_ic(opt, "user") {
                if val != b"default" {
                    ctx.out.error(&format!("ERR No such user '{}'", lossy(val)));
                    return;
                }
            } else if eq_ic(opt, "skipme") {
                if eq_ic(val, "yes") {
                    skipme = true;
                } else if eq_ic(val, "no") {
                    skipme = false;
                } else {
                    ctx.out.error(ERR_SYNTAX);
                    return;
                }
            } else if eq_ic(opt, "maxage") {
                match parse_i64(val) {
                    Some(v) => maxage = Some(v),
                    None => {
                        ctx.out.error(ERR_NOT_INT);
                        return;
                    }
                }
            } else {
                ctx.out.error(ERR_SYNTAX);
                return;
            }
            i += 2;
        }
    }
    let me = ctx.client.id();
    let now_s = now_ms() / 1000;
    let mut killed = 0i64;
    let mut kill_self = false;
    for c in ctx.srv.clients.all() {
        if addr.is_some_and(|a| a != c.addr.as_bytes()) {
            continue;
        }
        if laddr.is_some_and(|a| a != c.laddr.as_bytes()) {
            continue;
        }
        if ctype.is_some_and(|t| type_of(&c) != t) {
            continue;
        }
        if id.is_some_and(|i| i != c.id) {
            continue;
        }
        if maxage.is_some_and(|m| m > 0 && now_s - c.created_ms / 1000 < m) {
            continue;
        }
        if c.id == me {
            if skipme {
                continue;
            }
            kill_self = true;
        } else {
            kill_client(ctx.srv, &c);
        }
        killed += 1;
    }
    if kill_self {
        ctx.client.close_after_reply = true;
    }
    if old_form {
        if killed == 0 {
            ctx.out.error("ERR No such client");
        } else {
            ctx.out.ok();
        }
    } else {
        ctx.out.int(killed);
    }
}

fn client_setname(ctx: &mut Ctx, argv: &[&[u8]]) {
    if !arity_ok(ctx, argv, 3) {
        return;
    }
    if !valid_name(argv[2]) {
        ctx.out.error(ERR_BAD_NAME);
        return;
    }
    *ctx.client.shared.name.lock() = argv[2].to_vec();
    ctx.out.ok();
}

fn client_getname(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let name = ctx.client.shared.name.lock().clone();
    if name.is_empty() {
        ctx.out.null();
    } else {
        ctx.out.bulk(&name);
    }
}

fn client_setinfo(ctx: &mut Ctx, argv: &[&[u8]]) {
    if !arity_ok(ctx, argv, 4) {
        return;
    }
    let attr = argv[2];
    let shared = ctx.client.shared.clone();
    let slot = if eq_ic(attr, "lib-name") {
        &shared.lib_name
    } else if eq_ic(attr, "lib-ver") {
        &shared.lib_ver
    } else {
        ctx.out
            .error(&format!("ERR Unrecognized option '{}'", lossy(attr)));
        return;
    };
    if !valid_name(argv[3]) {
        ctx.out.error(&format!(
            "ERR {} cannot contain spaces, newlines or special characters.",
            lossy(attr)
        ));
        return;
    }
    *slot.lock() = argv[3].to_vec();
    ctx.out.ok();
}

/// Redis's `getTimeoutFromObjectOrReply` in milliseconds: the absolute
/// deadline (0 for a zero timeout).
fn timeout_ms(ctx: &mut Ctx, a: &[u8]) -> Option<i64> {
    let Some(t) = parse_i64(a) else {
        ctx.out
            .error("ERR timeout is not an integer or out of range");
        return None;
    };
    if t < 0 {
        ctx.out.error("ERR timeout is negative");
        return None;
    }
    if t == 0 {
        return Some(0);
    }
    let now = ctx.ks.now;
    match t.checked_add(now) {
        Some(v) => Some(v),
        None => {
            ctx.out.error("ERR timeout is out of range");
            None
        }
    }
}

fn client_pause(ctx: &mut Ctx, argv: &[&[u8]]) {
    if !arity_ok(ctx, argv, -3) {
        return;
    }
    if argv.len() > 4 {
        ctx.out.error(&crate::dispatch::arity_error(ctx.cmd.name));
        return;
    }
    let mut all = true;
    if let Some(m) = argv.get(3) {
        if eq_ic(m, "write") {
            all = false;
        } else if !eq_ic(m, "all") {
            ctx.out.error("ERR CLIENT PAUSE mode must be WRITE or ALL");
            return;
        }
    }
    let Some(end) = timeout_ms(ctx, argv[2]) else {
        return;
    };
    let srv = ctx.srv;
    // A later end time already in force is kept; the mode is replaced.
    let now = now_ms();
    let cur = srv.pause_until_ms.load(Ordering::Relaxed);
    let until = if cur > now { cur.max(end) } else { end };
    srv.pause_write_only.store(!all, Ordering::Relaxed);
    srv.pause_until_ms.store(until, Ordering::Relaxed);
    ctx.out.ok();
}

fn client_unpause(ctx: &mut Ctx, _argv: &[&[u8]]) {
    ctx.srv.pause_until_ms.store(0, Ordering::Relaxed);
    ctx.srv.pause_write_only.store(false, Ordering::Relaxed);
    ctx.out.ok();
}

fn client_reply(ctx: &mut Ctx, argv: &[&[u8]]) {
    if !arity_ok(ctx, argv, 3) {
        return;
    }
    let m = argv[2];
    if eq_ic(m, "on") {
        ctx.client.reply_mode = ReplyMode::On;
        ctx.out.ok();
    } else if eq_ic(m, "off") {
        ctx.client.reply_mode = ReplyMode::Off;
    } else if eq_ic(m, "skip") {
        if ctx.client.reply_mode != ReplyMode::Off {
            ctx.client.reply_mode = ReplyMode::SkipNext;
        }
    } else {
        ctx.out.error(ERR_SYNTAX);
    }
}

/// Parses ON|OFF.
fn on_off(a: &[u8]) -> Option<bool> {
    if eq_ic(a, "on") {
        Some(true)
    } else if eq_ic(a, "off") {
        Some(false)
    } else {
        None
    }
}

fn client_no_evict(ctx: &mut Ctx, argv: &[&[u8]]) {
    if !arity_ok(ctx, argv, 3) {
        return;
    }
    match on_off(argv[2]) {
        Some(on) => {
            ctx.client.shared.set_flag(flag::NO_EVICT, on);
            ctx.out.ok();
        }
        None => ctx.out.error(ERR_SYNTAX),
    }
}

fn client_no_touch(ctx: &mut Ctx, argv: &[&[u8]]) {
    if !arity_ok(ctx, argv, 3) {
        return;
    }
    match on_off(argv[2]) {
        Some(on) => {
            ctx.client.no_touch = on;
            ctx.client.shared.set_flag(flag::NO_TOUCH, on);
            ctx.out.ok();
        }
        None => ctx.out.error(ERR_SYNTAX),
    }
}

fn client_unblock(ctx: &mut Ctx, argv: &[&[u8]]) {
    if !arity_ok(ctx, argv, -3) {
        return;
    }
    if argv.len() > 4 {
        ctx.out.error(&crate::dispatch::arity_error(ctx.cmd.name));
        return;
    }
    let mut mode = 1u32;
    if let Some(r) = argv.get(3) {
        if eq_ic(r, "timeout") {
            mode = 1;
        } else if eq_ic(r, "error") {
            mode = 2;
        } else {
            ctx.out
                .error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
            return;
        }
    }
    let Some(id) = parse_i64(argv[2]) else {
        ctx.out.error(ERR_NOT_INT);
        return;
    };
    match ctx.srv.clients.get(id as u64) {
        Some(c) if c.has_flag(flag::BLOCKED) => {
            c.unblock.store(mode, Ordering::Release);
            c.wake.notify_one();
            ctx.out.int(1);
        }
        _ => ctx.out.int(0),
    }
}

fn client_getredir(ctx: &mut Ctx, _argv: &[&[u8]]) {
    ctx.out.int(-1);
}

fn client_caching(ctx: &mut Ctx, argv: &[&[u8]]) {
    if !arity_ok(ctx, argv, 3) {
        return;
    }
    ctx.out.error("ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled");
}

fn client_trackinginfo(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let out = &mut *ctx.out;
    out.map(3);
    out.bulk(b"flags");
    out.set(1);
    out.bulk(b"off");
    out.bulk(b"redirect");
    out.int(-1);
    out.bulk(b"prefixes");
    out.array(0);
}

/// Redis's `addReplyHelp`: a header, the lines, and the HELP entry.
pub fn reply_help(ctx: &mut Ctx, command: &str, lines: &[&str]) {
    let out = &mut *ctx.out;
    out.array(lines.len() + 3);
    out.simple(&format!(
        "{} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        command
    ));
    for l in lines {
        out.simple(l);
    }
    out.simple("HELP");
    out.simple("    Print this help.");
}

const CLIENT_HELP: &[&str] = &[
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "SETINFO <option> <value>",
    "    Set client meta attr. Options are:",
    "    * LIB-NAME: the client lib name.",
    "    * LIB-VER: the client lib version.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
    "NO-TOUCH (ON|OFF)",
    "    Will not touch LRU/LFU stats when this mode is on.",
];

fn client_help(ctx: &mut Ctx, _argv: &[&[u8]]) {
    reply_help(ctx, "CLIENT", CLIENT_HELP);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(valid_name(b"abc-1.2_x"));
        assert!(valid_name(b""));
        assert!(!valid_name(b"a b"));
        assert!(!valid_name(b"a\nb"));
        assert!(!valid_name("é".as_bytes()));
    }

    #[test]
    fn constant_time_eq() {
        assert!(ct_eq(b"secret", b"secret"));
        assert!(!ct_eq(b"secret", b"secreT"));
        assert!(!ct_eq(b"secret", b"secret1"));
        assert!(!ct_eq(b"", b"x"));
        assert!(ct_eq(b"", b""));
    }

    #[test]
    fn types() {
        assert!(type_by_name(b"SLAVE") == Some(ClientType::Replica));
        assert!(type_by_name(b"replica") == Some(ClientType::Replica));
        assert!(type_by_name(b"foo").is_none());
    }
}
