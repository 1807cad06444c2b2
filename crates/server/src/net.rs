//! Networking: listeners, per-core worker event loops, and the connection
//! loop (read, parse, execute, write) that owns a client end to end.
//!
//! Each worker is one OS thread running a single-threaded tokio runtime; an
//! accepted socket is handed to one worker (round robin) and never moves.
//! A pipelined batch is parsed and executed from one read and its replies
//! leave in one write.

use crate::client::{flag, Client, ClientShared};
use crate::dispatch::{self, Outcome};
use crate::log;
use crate::server::{now_ms, Server};
use crate::stats::bump;
use bytes::{Buf, BytesMut};
use smallvec::SmallVec;
use spinel_resp::{Argv, Limits, Parsed, Parser, ReplyBuf};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};

const DENIED: &str = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Set up an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

/// Output buffered beyond this is flushed mid-batch.
const FLUSH_THRESHOLD: usize = 64 * 1024;
const READ_CHUNK: usize = 16 * 1024;

/// Handles to the worker threads.
pub struct Workers {
    senders: Vec<UnboundedSender<std::net::TcpStream>>,
    next: std::sync::atomic::AtomicUsize,
}

impl Workers {
    pub fn dispatch(&self, s: std::net::TcpStream) {
        if self.senders.is_empty() {
            return;
        }
        let n = self.senders.len();
        let i = self.next.fetch_add(1, Ordering::Relaxed) % n;
        let _ = self.senders[i].send(s);
    }
}

/// Starts `n` worker threads.
pub fn start_workers(srv: &'static Server, n: usize) -> std::io::Result<Arc<Workers>> {
    let mut senders = Vec::with_capacity(n);
    for i in 0..n {
        let (tx, mut rx) = unbounded_channel::<std::net::TcpStream>();
        senders.push(tx);
        std::thread::Builder::new()
            .name(format!("spinel-w{}", i))
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        log::warning(&format!("worker {} failed to start: {}", i, e));
                        return;
                    }
                };
                let local = tokio::task::LocalSet::new();
                local.block_on(&rt, async move {
                    while let Some(s) = rx.recv().await {
                        tokio::task::spawn_local(async move {
                            if let Err(e) = serve(srv, s, i).await {
                                log::verbose(&format!("connection error: {}", e));
                            }
                        });
                    }
                });
            })?;
    }
    Ok(Arc::new(Workers {
        senders,
        next: std::sync::atomic::AtomicUsize::new(0),
    }))
}

/// Binds every address of the `bind` directive. A leading `-` marks an
/// optional address (failure to bind it is not fatal), as in Redis.
pub fn bind_listeners(srv: &Server) -> Result<Vec<std::net::TcpListener>, String> {
    let port = srv.config.port();
    let backlog = srv.config.tcp_backlog().clamp(1, i32::MAX as i64) as i32;
    let mut out = Vec::new();
    let mut binds = srv.config.bind();
    if binds.is_empty() {
        binds = vec!["*".into(), "-::*".into()];
    }
    for b in binds {
        let (optional, addr) = match b.strip_prefix('-') {
            Some(a) => (true, a.to_string()),
            None => (false, b.clone()),
        };
        let ip: IpAddr = match addr.as_str() {
            "*" => IpAddr::from([0, 0, 0, 0]),
            "::*" => "::".parse().unwrap_or(IpAddr::from([0, 0, 0, 0])),
            a => match a.parse() {
                Ok(ip) => ip,
                Err(_) => {
                    if optional {
                        continue;
                    }
                    return Err(format!("Invalid bind address '{}'", a));
                }
            },
        };
        match listen(SocketAddr::new(ip, port), backlog) {
            Ok(l) => out.push(l),
            Err(e) => {
                if optional {
                    continue;
                }
                return Err(format!(
                    "Failed listening on port {} (tcp), aborting. ({})",
                    port, e
                ));
            }
        }
    }
    if out.is_empty() {
        return Err(format!(
            "Failed listening on port {} (tcp), aborting.",
            port
        ));
    }
    Ok(out)
}

fn listen(addr: SocketAddr, backlog: i32) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Socket, Type};
    let domain = if addr.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    };
    let s = Socket::new(domain, Type::STREAM, None)?;
    s.set_reuse_address(true)?;
    if addr.is_ipv6() {
        s.set_only_v6(true)?;
    }
    s.bind(&addr.into())?;
    s.listen(backlog)?;
    Ok(s.into())
}

/// Blocking accept loop for one listener; runs on its own thread.
pub fn accept_loop(
    srv: &'static Server,
    l: Arc<std::net::TcpListener>,
    workers: Arc<Workers>,
    generation: u64,
) {
    loop {
        if crate::listen::GENERATION.load(Ordering::SeqCst) != generation {
            return;
        }
        match l.accept() {
            Ok((s, peer)) => {
                srv.stats
                    .connections_received
                    .fetch_add(1, Ordering::Relaxed);
                if let Err(e) = admit(srv, &s, peer) {
                    srv.stats
                        .rejected_connections
                        .fetch_add(1, Ordering::Relaxed);
                    let _ = std::io::Write::write_all(&mut &s, e.as_bytes());
                    continue;
                }
                workers.dispatch(s);
            }
            Err(e) => {
                if srv.shutdown_requested.load(Ordering::Relaxed)
                    || crate::listen::GENERATION.load(Ordering::SeqCst) != generation
                {
                    return;
                }
                log::warning(&format!("Accepting client connection: {}", e));
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

/// Connection-level admission: maxclients and protected mode.
fn admit(srv: &Server, _s: &std::net::TcpStream, peer: SocketAddr) -> Result<(), &'static str> {
    let n = srv.clients.count.load(Ordering::Relaxed) as i64;
    if n >= srv.config.maxclients() {
        return Err("-ERR max number of clients reached\r\n");
    }
    if srv.config.protected_mode() && srv.config.requirepass().is_none() {
        let binds = srv.config.bind();
        let default_bind = binds.is_empty()
            || binds
                .iter()
                .all(|b| matches!(b.as_str(), "*" | "-*" | "::*" | "-::*" | "0.0.0.0"));
        let loopback = match peer.ip() {
            IpAddr::V4(ip) => ip.is_loopback(),
            IpAddr::V6(ip) => {
                ip.is_loopback()
                    || ip
                        .to_ipv4_mapped()
                        .map(|v| v.is_loopback())
                        .unwrap_or(false)
            }
        };
        if default_bind && !loopback {
            return Err(DENIED);
        }
    }
    Ok(())
}

fn fmt_addr(a: std::io::Result<SocketAddr>) -> String {
    match a {
        Ok(SocketAddr::V4(v)) => format!("{}:{}", v.ip(), v.port()),
        Ok(SocketAddr::V6(v)) => match v.ip().to_ipv4_mapped() {
            Some(ip4) => format!("{}:{}", ip4, v.port()),
            // anetFormatAddr: IPv6 addresses are bracketed.
            None => format!("[{}]:{}", v.ip(), v.port()),
        },
        Err(_) => "?:0".into(),
    }
}

fn set_keepalive(s: &std::net::TcpStream, secs: i64) {
    if secs <= 0 {
        return;
    }
    let sock = socket2::SockRef::from(s);
    let ka = socket2::TcpKeepalive::new()
        .with_time(Duration::from_secs(secs as u64))
        .with_interval(Duration::from_secs((secs as u64 / 3).max(1)));
    let _ = sock.set_tcp_keepalive(&ka);
}

/// Unregisters a client however its connection ends.
struct Registration {
    srv: &'static Server,
    shared: Arc<ClientShared>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        crate::monitor::remove(self.shared.id);
        crate::hooks::client_closed(self.srv, &self.shared);
        self.srv.clients.unregister(self.shared.id);
    }
}

async fn serve(srv: &'static Server, s: std::net::TcpStream, worker: usize) -> std::io::Result<()> {
    s.set_nonblocking(true)?;
    let _ = s.set_nodelay(true);
    set_keepalive(&s, srv.config.tcp_keepalive());
    let addr = fmt_addr(s.peer_addr());
    let laddr = fmt_addr(s.local_addr());
    let fd = {
        use std::os::fd::AsRawFd;
        s.as_raw_fd()
    };
    let mut stream = tokio::net::TcpStream::from_std(s)?;
    let shared = srv.clients.new_shared(addr, laddr, fd);
    srv.clients.register(shared.clone());
    let _reg = Registration {
        srv,
        shared: shared.clone(),
    };
    let authenticated = srv.config.requirepass().is_none();
    let mut client = Client::new(shared.clone(), worker, authenticated);
    let res: std::io::Result<()> = async {
        let mut rbuf = BytesMut::with_capacity(READ_CHUNK);
        let mut out = ReplyBuf::new(false);
        let mut parser = Parser::new();
        let mut argv = Argv::default();
        let mut ahead = Lookahead::default();
        let wstats = srv.stats.worker(worker);

        loop {
            let timeout = srv.config.timeout();
            let idle_limit = if timeout > 0
                && !shared.has_flag(flag::PUBSUB)
                && !shared.has_flag(flag::BLOCKED)
                && !shared.has_flag(flag::MONITOR)
            {
                Some(Duration::from_secs(timeout as u64))
            } else {
                None
            };
            if rbuf.capacity() - rbuf.len() < READ_CHUNK / 2 {
                rbuf.reserve(READ_CHUNK);
            }
            let n = tokio::select! {
                biased;
                _ = shared.wake.notified() => {
                    if shared.kill.load(Ordering::Acquire) {
                        return Ok(());
                    }
                    let pending = std::mem::take(&mut *shared.mailbox.lock());
                    if !pending.is_empty() {
                        // Another thread's reply: wait for all appended records.
                        crate::persist::aof::writer::note_all();
                        crate::persist::aof::writer::reply_barrier().await;
                        stream.write_all(&pending).await?;
                        bump(&wstats.net_out, pending.len() as u64);
                    }
                    continue;
                }
                r = stream.read_buf(&mut rbuf) => r?,
                _ = sleep_opt(idle_limit) => {
                    log::verbose("Closing idle client");
                    return Ok(());
                }
            };
            if n == 0 {
                return Ok(());
            }
            bump(&wstats.net_in, n as u64);
            shared.tot_net_in.fetch_add(n as u64, Ordering::Relaxed);
            crate::server::batch_begin();
            ahead.clear();
            shared
                .last_ms
                .store(crate::server::command_now_ms(), Ordering::Relaxed);

            let mut consumed = 0usize;
            let mut close = false;
            loop {
                let limits = Limits {
                    max_bulk_len: srv.config.proto_max_bulk_len(),
                    unauthenticated: !client.authenticated,
                };
                let base = &rbuf[consumed..];
                if ahead.is_empty() && !parser.in_progress() {
                    ahead.fill(srv, &client, base, consumed, &limits);
                }
                let parsed = match ahead.take(consumed, &limits, &mut argv) {
                    Some(used) => Ok(Parsed::Done(used)),
                    None => parser.parse(base, &limits, &mut argv),
                };
                match parsed {
                    Ok(Parsed::Incomplete) => break,
                    Ok(Parsed::Done(used)) => {
                        let mut sl: SmallVec<[&[u8]; 8]> = SmallVec::new();
                        let src: &[u8] = if argv.is_inline { &argv.inline } else { base };
                        for &(a, b) in &argv.ranges {
                            sl.push(src.get(a..b).unwrap_or(&[]));
                        }
                        if sl.is_empty() {
                            consumed += used;
                            continue;
                        }
                        // CLIENT PAUSE: hold the command until the pause ends.
                        let paused = is_paused_for(srv, &sl);
                        while is_paused_for(srv, &sl) {
                            if !out.is_empty() {
                                crate::persist::aof::writer::reply_barrier().await;
                                stream.write_all(&out.buf).await?;
                                out.clear();
                            }
                            tokio::time::sleep(Duration::from_millis(5)).await;
                            if shared.kill.load(Ordering::Acquire) {
                                return Ok(());
                            }
                        }
                        if paused {
                            crate::server::batch_begin();
                        }
                        // While a script runs (on the script thread) requests
                        // wait for it or get BUSY, without taking any lock.
                        if crate::script::busy()
                            && crate::script::gate(srv, &mut client, &mut out, &sl).await
                        {
                            consumed += used;
                            continue;
                        }
                        let outcome = if crate::script::offloaded(&client, &sl) {
                            let o = crate::script::execute_on_script_thread(
                                srv,
                                &mut client,
                                &mut out,
                                &sl,
                            )
                            .await;
                            crate::server::batch_begin();
                            o
                        } else {
                            dispatch::execute(srv, &mut client, &mut out, &sl)
                        };
                        let blocked = crate::hooks::take_block(&mut client);
                        drop(sl);
                        consumed += used;
                        if outcome == Outcome::Close {
                            close = true;
                            break;
                        }
                        if let Some(b) = blocked {
                            if !out.is_empty() {
                                crate::persist::aof::writer::reply_barrier().await;
                                stream.write_all(&out.buf).await?;
                                out.clear();
                            }
                            crate::hooks::wait_block(srv, &mut client, &mut out, b).await;
                            // Served by another command: its records first.
                            crate::persist::aof::writer::note_all();
                            crate::server::batch_begin();
                        }
                        if out.len() >= FLUSH_THRESHOLD {
                            bump(&wstats.net_out, out.len() as u64);
                            crate::persist::aof::writer::reply_barrier().await;
                            stream.write_all(&out.buf).await?;
                            out.clear();
                        }
                        if shared.kill.load(Ordering::Acquire) {
                            return Ok(());
                        }
                    }
                    Err(e) => {
                        out.error(&e.message());
                        log::verbose(&format!(
                            "Protocol error ({}) from client: id={} addr={}",
                            e.0, shared.id, shared.addr
                        ));
                        close = true;
                        break;
                    }
                }
            }
            crate::server::batch_end();
            if consumed > 0 {
                rbuf.advance(consumed);
            }
            shared.qbuf.store(rbuf.len(), Ordering::Relaxed);
            if !close && rbuf.len() as i64 > srv.config.client_query_buffer_limit() {
                log::warning(&format!(
                    "Closing client that reached max query buffer length: id={} addr={} (qbuf initial bytes: {:?})",
                    shared.id,
                    shared.addr,
                    String::from_utf8_lossy(&rbuf[..rbuf.len().min(64)])
                ));
                return Ok(());
            }
            let pending = std::mem::take(&mut *shared.mailbox.lock());
            if !pending.is_empty() {
                out.raw(&pending);
                crate::persist::aof::writer::note_all();
            }
            if !out.is_empty() {
                // appendfsync always: replies leave once their records are on disk.
                crate::persist::aof::writer::reply_barrier().await;
                bump(&wstats.net_out, out.len() as u64);
                shared
                    .tot_net_out
                    .fetch_add(out.len() as u64, Ordering::Relaxed);
                stream.write_all(&out.buf).await?;
                out.clear();
                if out.buf.capacity() > 1 << 20 {
                    out.buf = Vec::with_capacity(256);
                }
            }
            if close {
                let _ = stream.shutdown().await;
                return Ok(());
            }
        }
    }
    .await;
    crate::cmd::multi::unwatch_all(srv, &mut client);
    res
}

async fn sleep_opt(d: Option<Duration>) {
    match d {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending::<()>().await,
    }
}

fn is_paused_for(srv: &Server, argv: &[&[u8]]) -> bool {
    let until = srv.pause_until_ms.load(Ordering::Relaxed);
    if until == 0 || until <= now_ms() {
        return false;
    }
    if !srv.pause_write_only.load(Ordering::Relaxed) {
        return true;
    }
    match argv.first().and_then(|n| srv.commands.lookup(n)) {
        Some(c) => c.is_write() || c.has(crate::dispatch::cflag::MAY_REPLICATE),
        None => false,
    }
}

/// Requests of a pipelined batch parsed ahead of their execution.
const LOOK_AHEAD: usize = 16;

/// The next requests of a batch, parsed in one go so that the keys they
/// name can be looked up back to back (their cache misses then overlap
/// instead of each request stalling on its own when it runs); the
/// connection loop then takes the parsed requests one by one.
#[derive(Default)]
struct Lookahead {
    parser: Parser,
    argv: Argv,
    /// Per request: bytes used, and its argument ranges (relative to the
    /// request's first byte) in `ranges`.
    reqs: Vec<(usize, usize, usize)>,
    ranges: Vec<(usize, usize)>,
    /// Next request to hand out, and its offset in the read buffer.
    next: usize,
    at: usize,
    /// The limits the requests were parsed under.
    limits: (i64, bool),
    /// (db, shard, hash, key start, key end) of the requests' first keys.
    keys: Vec<(u32, u32, u64, usize, usize)>,
}

impl Lookahead {
    fn is_empty(&self) -> bool {
        self.next >= self.reqs.len()
    }

    fn clear(&mut self) {
        self.reqs.clear();
        self.ranges.clear();
        self.next = 0;
    }

    /// The request at offset `at` of the read buffer, if it was parsed
    /// ahead under the same limits: fills `argv` and returns its length.
    #[inline]
    fn take(&mut self, at: usize, limits: &Limits, argv: &mut Argv) -> Option<usize> {
        let &(used, a, b) = self.reqs.get(self.next)?;
        if at != self.at || self.limits != (limits.max_bulk_len, limits.unauthenticated) {
            self.clear();
            return None;
        }
        argv.clear();
        argv.ranges.extend_from_slice(self.ranges.get(a..b)?);
        self.next += 1;
        self.at += used;
        Some(used)
    }

    /// Parses up to [`LOOK_AHEAD`] complete multibulk requests from the
    /// start of `buf` (offset `at` of the read buffer) and, when there are
    /// several, looks their keys up. Stops at anything else (inline
    /// requests, errors, a partial request): the connection's own parser
    /// handles those.
    fn fill(
        &mut self,
        srv: &'static Server,
        client: &Client,
        buf: &[u8],
        at: usize,
        limits: &Limits,
    ) {
        self.clear();
        self.keys.clear();
        self.at = at;
        self.limits = (limits.max_bulk_len, limits.unauthenticated);
        let mut off = 0usize;
        while self.reqs.len() < LOOK_AHEAD {
            let Some(rest) = buf.get(off..).filter(|r| r.first() == Some(&b'*')) else {
                break;
            };
            self.parser.reset();
            let used = match self.parser.parse(rest, limits, &mut self.argv) {
                Ok(Parsed::Done(used)) if !self.argv.is_inline => used,
                _ => break,
            };
            let start = self.ranges.len();
            self.ranges.extend_from_slice(&self.argv.ranges);
            self.reqs.push((used, start, self.ranges.len()));
            if let Some(k) = first_key(srv, client, rest, &self.argv.ranges) {
                self.keys
                    .push((client.db as u32, 0, 0, off + k.0, off + k.1));
            }
            off += used;
        }
        self.parser.reset();
        if self.keys.len() >= 2 {
            touch_keys(&srv.ks, buf, &mut self.keys);
        }
    }
}

/// The range of the first key of a request whose command has fixed key
/// positions.
fn first_key(
    srv: &'static Server,
    client: &Client,
    req: &[u8],
    ranges: &[(usize, usize)],
) -> Option<(usize, usize)> {
    let &(a, b) = ranges.first()?;
    let name = req.get(a..b)?;
    let cmd = match &client.cmd_cache {
        Some((c, nb, nl)) if nb.get(..*nl as usize) == Some(name) => *c,
        _ => srv.commands.lookup(name)?,
    };
    if !matches!(cmd.lock, dispatch::LockKind::Keys)
        || cmd.flags & dispatch::cflag::MOVABLEKEYS != 0
        || cmd.first_key <= 0
    {
        return None;
    }
    ranges.get(cmd.first_key as usize).copied()
}

/// Looks the keys up back to back, each shard locked once (never waiting:
/// this is only a hint, and a shard busy elsewhere is skipped).
fn touch_keys(
    ks: &'static spinel_keyspace::Keyspace,
    buf: &[u8],
    keys: &mut [(u32, u32, u64, usize, usize)],
) {
    let mut held: SmallVec<[(u32, u32, crate::locks::ShardGuard); LOOK_AHEAD]> = SmallVec::new();
    // Per key: its guard in `held` (usize::MAX: none).
    let mut slot = [usize::MAX; LOOK_AHEAD];
    for (k, s) in keys.iter_mut().zip(slot.iter_mut()) {
        let h = ks.hash(buf.get(k.3..k.4).unwrap_or(&[]));
        let (db, sh) = (k.0, ks.shard_of(h) as u32);
        k.1 = sh;
        k.2 = h;
        let m = ks
            .dbs
            .get(db as usize)
            .and_then(|d| d.shards.get(sh as usize));
        match m.and_then(|m| m.try_lock()) {
            Some(g) => {
                *s = held.len();
                held.push((db, sh, g));
            }
            // Busy, or already held for an earlier key.
            None => {
                if let Some(i) = held.iter().position(|g| g.0 == db && g.1 == sh) {
                    *s = i;
                }
            }
        }
    }
    // No atomic operation between the lookups: the CPU overlaps them.
    for (&(_, _, h, a, b), &s) in keys.iter().zip(slot.iter()) {
        let (Some(g), Some(key)) = (held.get(s), buf.get(a..b)) else {
            continue;
        };
        if let Some(e) = g.2.map.find(h, key) {
            let first = match &e.value {
                spinel_keyspace::Value::Str(s) => s.as_slice().first().copied(),
                spinel_keyspace::Value::Raw(r) => r.first().copied(),
                _ => None,
            };
            std::hint::black_box(first);
        }
    }
}
