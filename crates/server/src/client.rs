//! Client state: the part only the owning connection touches (`Client`) and
//! the part other threads read or signal (`ClientShared`: CLIENT LIST/KILL,
//! pushes from pub/sub and MONITOR, wake-ups of blocked clients).

use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;

pub mod flag {
    pub const MULTI: u32 = 1 << 0;
    pub const MONITOR: u32 = 1 << 1;
    pub const PUBSUB: u32 = 1 << 2;
    pub const BLOCKED: u32 = 1 << 3;
    pub const NO_EVICT: u32 = 1 << 4;
    pub const NO_TOUCH: u32 = 1 << 5;
    pub const DIRTY_CAS: u32 = 1 << 6;
    pub const CLOSE_ASAP: u32 = 1 << 7;
    pub const REPLICA: u32 = 1 << 8;
    pub const MASTER: u32 = 1 << 9;
    pub const UNIX: u32 = 1 << 10;
}

/// The part of a client other threads can see.
pub struct ClientShared {
    pub id: u64,
    pub addr: String,
    pub laddr: String,
    pub fd: i32,
    pub created_ms: i64,
    pub last_ms: AtomicI64,
    pub db: AtomicUsize,
    pub resp: AtomicU32,
    pub flags: AtomicU32,
    pub name: Mutex<Vec<u8>>,
    pub lib_name: Mutex<Vec<u8>>,
    pub lib_ver: Mutex<Vec<u8>>,
    /// Command-table id of the last command, plus one (0 = none yet): an
    /// atomic store per command instead of a lock.
    pub last_cmd: AtomicUsize,
    pub sub: AtomicUsize,
    pub psub: AtomicUsize,
    pub ssub: AtomicUsize,
    /// -1 outside MULTI, else commands queued.
    pub multi: AtomicI64,
    pub qbuf: AtomicUsize,
    pub tot_net_in: AtomicU64,
    pub tot_net_out: AtomicU64,
    pub tot_cmds: AtomicU64,
    /// Set to ask the owning connection to close.
    pub kill: AtomicBool,
    /// Bytes to send to this client from other threads (pub/sub, MONITOR),
    /// already encoded for its protocol.
    pub mailbox: Mutex<Vec<u8>>,
    /// Wakes the owning connection (kill, mailbox, unblock).
    pub wake: Notify,
    /// CLIENT UNBLOCK request: 1 = timeout, 2 = error.
    pub unblock: AtomicU32,
    /// When undelivered output first exceeded the soft output-buffer limit
    /// (unix ms; 0 = below it).
    pub obuf_soft_since: AtomicI64,
}

impl ClientShared {
    pub fn has_flag(&self, f: u32) -> bool {
        self.flags.load(Ordering::Relaxed) & f != 0
    }

    pub fn set_flag(&self, f: u32, on: bool) {
        if on {
            self.flags.fetch_or(f, Ordering::Relaxed);
        } else {
            self.flags.fetch_and(!f, Ordering::Relaxed);
        }
    }

    /// Queues bytes for the client and wakes its connection.
    pub fn send(&self, bytes: &[u8]) {
        self.mailbox.lock().extend_from_slice(bytes);
        self.wake.notify_one();
    }

    pub fn request_kill(&self) {
        self.kill.store(true, Ordering::Release);
        self.wake.notify_one();
    }
}

/// Reply suppression set by CLIENT REPLY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyMode {
    On,
    Off,
    /// Skip the reply of the next command only.
    SkipNext,
    /// Skipping the current command's reply.
    Skip,
}

/// One queued command inside MULTI.
pub type QueuedCmd = Vec<Vec<u8>>;

/// Connection-local state.
pub struct Client {
    pub shared: Arc<ClientShared>,
    pub worker: usize,
    pub db: usize,
    pub resp3: bool,
    pub authenticated: bool,
    pub close_after_reply: bool,
    pub reply_mode: ReplyMode,
    /// Some while inside MULTI.
    pub multi: Option<Vec<QueuedCmd>>,
    /// A queuing error happened inside MULTI (EXEC then aborts).
    pub multi_error: bool,
    /// WATCHed keys: (db, key, whether it existed when watched).
    pub watched: Vec<(usize, Vec<u8>, bool)>,
    pub no_touch: bool,
    /// True while EXEC (or a script) runs this client's commands: blocking
    /// commands must then behave as their non-blocking forms.
    pub in_exec: bool,
    /// Shared "a watched key changed" flag registered in each watched key's shard.
    pub watch_flag: Option<spinel_keyspace::WatchFlag>,
    /// Set by a blocking handler to park this client.
    pub block: Option<crate::hooks::Block>,
    /// The last command looked up by name, with the exact name bytes (up
    /// to 16) it was called with.
    pub cmd_cache: Option<(&'static crate::dispatch::Command, [u8; 16], u8)>,
}

impl Client {
    pub fn new(shared: Arc<ClientShared>, worker: usize, authenticated: bool) -> Self {
        Client {
            shared,
            worker,
            db: 0,
            resp3: false,
            authenticated,
            close_after_reply: false,
            reply_mode: ReplyMode::On,
            multi: None,
            multi_error: false,
            watched: Vec::new(),
            no_touch: false,
            in_exec: false,
            watch_flag: None,
            block: None,
            cmd_cache: None,
        }
    }

    pub fn id(&self) -> u64 {
        self.shared.id
    }

    pub fn select(&mut self, db: usize) {
        self.db = db;
        self.shared.db.store(db, Ordering::Relaxed);
    }
}

#[derive(Default)]
pub struct ClientRegistry {
    pub map: Mutex<BTreeMap<u64, Arc<ClientShared>>>,
    next_id: AtomicU64,
    pub count: AtomicUsize,
}

impl ClientRegistry {
    pub fn new() -> Self {
        ClientRegistry {
            map: Mutex::new(BTreeMap::new()),
            next_id: AtomicU64::new(1),
            count: AtomicUsize::new(0),
        }
    }

    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    pub fn register(&self, c: Arc<ClientShared>) {
        self.map.lock().insert(c.id, c);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    pub fn unregister(&self, id: u64) {
        if self.map.lock().remove(&id).is_some() {
            self.count.fetch_sub(1, Ordering::Relaxed);
        }
    }

    pub fn get(&self, id: u64) -> Option<Arc<ClientShared>> {
        self.map.lock().get(&id).cloned()
    }

    pub fn all(&self) -> Vec<Arc<ClientShared>> {
        self.map.lock().values().cloned().collect()
    }

    pub fn new_shared(&self, addr: String, laddr: String, fd: i32) -> Arc<ClientShared> {
        let now = crate::server::now_ms();
        Arc::new(ClientShared {
            id: self.next_id(),
            addr,
            laddr,
            fd,
            created_ms: now,
            last_ms: AtomicI64::new(now),
            db: AtomicUsize::new(0),
            resp: AtomicU32::new(2),
            flags: AtomicU32::new(0),
            name: Mutex::new(Vec::new()),
            lib_name: Mutex::new(Vec::new()),
            lib_ver: Mutex::new(Vec::new()),
            last_cmd: AtomicUsize::new(0),
            sub: AtomicUsize::new(0),
            psub: AtomicUsize::new(0),
            ssub: AtomicUsize::new(0),
            multi: AtomicI64::new(-1),
            qbuf: AtomicUsize::new(0),
            tot_net_in: AtomicU64::new(0),
            tot_net_out: AtomicU64::new(0),
            tot_cmds: AtomicU64::new(0),
            kill: AtomicBool::new(false),
            mailbox: Mutex::new(Vec::new()),
            wake: Notify::new(),
            unblock: AtomicU32::new(0),
            obuf_soft_since: AtomicI64::new(0),
        })
    }
}
