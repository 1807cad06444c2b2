//! INFO: the report of Redis 7.2's sections and field names, filled with
//! Spinel's own numbers.
//!
//! Each section is built as an ordered list of `field:value` pairs. Other
//! subsystems (persistence, replication, pub/sub, blocking, scripting) add
//! or override fields of a section with [`register_fields`]: a field with an
//! existing name replaces the default value in place, a new one is appended,
//! so the order clients see stays Redis's.
//!
//! Memory: `used_memory` is the number of bytes the program holds from the
//! allocator, counted by [`CountingAlloc`] when the binary installs it as
//! its global allocator (the equivalent of Redis's `zmalloc_used_memory`);
//! without it the RSS stands in. The RSS comes from `/proc/self/statm`. The
//! split between overhead and dataset is an estimate: start-up memory,
//! client buffers and the per-key table entries (key and value slots, hash
//! index and expiry entries) count as overhead.

use crate::client::{flag, ClientShared};
use crate::server::{self, Server};
use parking_lot::Mutex;
use spinel_keyspace::{Entry, SBytes};
use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::collections::HashSet;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;

/// A section's fields, in output order.
pub type Fields = Vec<(String, String)>;

/// Adds or overrides fields of one section (`"persistence"`, `"replication"`...).
pub type FieldsFn = fn(&'static Server) -> Fields;

static PROVIDERS: Mutex<Vec<(&'static str, FieldsFn)>> = Mutex::new(Vec::new());

/// Registers `f` to contribute fields to `section` (lowercase name).
pub fn register_fields(section: &'static str, f: FieldsFn) {
    PROVIDERS.lock().push((section, f));
}

/// Failed AUTH / HELLO AUTH attempts (`acl_access_denied_auth`).
pub static ACL_DENIED_AUTH: AtomicU64 = AtomicU64::new(0);

/// The sections `INFO` prints, in Redis's order.
const SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "commandstats",
    "errorstats",
    "latencystats",
    "cluster",
    "keyspace",
];

/// What `INFO` was asked for (Redis's `genInfoSectionDict`).
#[derive(Debug, Default)]
pub struct Selection {
    pub all: bool,
    pub everything: bool,
    pub names: HashSet<String>,
}

const DEFAULT_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "module_list",
    "errorstats",
    "cluster",
    "keyspace",
];

impl Selection {
    /// Parses `INFO [section ...]` arguments.
    pub fn from_args(args: &[&[u8]]) -> Selection {
        let mut s = Selection::default();
        if args.is_empty() {
            s.add_defaults();
            return s;
        }
        for a in args {
            let name = String::from_utf8_lossy(a).to_ascii_lowercase();
            match name.as_str() {
                "all" => s.all = true,
                "everything" => {
                    s.everything = true;
                    s.all = true;
                }
                "default" => s.add_defaults(),
                _ => {
                    s.names.insert(name);
                }
            }
        }
        s
    }

    fn add_defaults(&mut self) {
        for d in DEFAULT_SECTIONS {
            self.names.insert((*d).to_string());
        }
    }

    fn wants(&self, section: &str) -> bool {
        if self.all {
            return true;
        }
        if section == "modules" {
            return self.names.contains("modules") || self.names.contains("module_list");
        }
        self.names.contains(section)
    }
}

fn title(section: &str) -> &'static str {
    match section {
        "server" => "Server",
        "clients" => "Clients",
        "memory" => "Memory",
        "persistence" => "Persistence",
        "stats" => "Stats",
        "replication" => "Replication",
        "cpu" => "CPU",
        "modules" => "Modules",
        "commandstats" => "Commandstats",
        "errorstats" => "Errorstats",
        "latencystats" => "Latencystats",
        "cluster" => "Cluster",
        "keyspace" => "Keyspace",
        _ => "",
    }
}

/// The full INFO text for a selection.
pub fn generate(srv: &'static Server, sel: &Selection) -> String {
    let mut out = String::with_capacity(4096);
    let mut n = 0;
    for &sec in SECTIONS {
        if !sel.wants(sec) {
            continue;
        }
        if n > 0 {
            out.push_str("\r\n");
        }
        n += 1;
        let _ = write!(out, "# {}\r\n", title(sec));
        for (k, v) in section(srv, sec) {
            out.push_str(&k);
            out.push(':');
            out.push_str(&v);
            out.push_str("\r\n");
        }
    }
    out
}

/// One section's fields, defaults merged with registered providers.
pub fn section(srv: &'static Server, name: &str) -> Fields {
    let mut f = match name {
        "server" => server_fields(srv),
        "clients" => clients_fields(srv),
        "memory" => memory_fields(srv),
        "persistence" => persistence_fields(srv),
        "stats" => stats_fields(srv),
        "replication" => replication_fields(srv),
        "cpu" => cpu_fields(),
        "commandstats" => commandstats_fields(srv),
        "errorstats" => errorstats_fields(srv),
        "cluster" => vec![kv("cluster_enabled", cluster_enabled(srv) as u8)],
        "keyspace" => keyspace_fields(srv),
        _ => Vec::new(),
    };
    let providers: Vec<FieldsFn> = PROVIDERS
        .lock()
        .iter()
        .filter(|(s, _)| *s == name)
        .map(|(_, p)| *p)
        .collect();
    for p in providers {
        merge(&mut f, p(srv));
    }
    f
}

/// Overrides fields with the same name in place, appends the others.
pub fn merge(base: &mut Fields, extra: Fields) {
    for (k, v) in extra {
        match base.iter_mut().find(|(bk, _)| *bk == k) {
            Some(slot) => slot.1 = v,
            None => base.push((k, v)),
        }
    }
}

/// The value of one field, as INFO would print it.
pub fn field(srv: &'static Server, section_name: &str, name: &str) -> Option<String> {
    section(srv, section_name)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

fn kv(k: &str, v: impl ToString) -> (String, String) {
    (k.to_string(), v.to_string())
}

/// Redis's `%.2f`.
fn f2(v: f64) -> String {
    format!("{:.2}", v)
}

pub fn cluster_enabled(srv: &Server) -> bool {
    srv.config
        .get_string("cluster-enabled")
        .map(|v| v.eq_ignore_ascii_case("yes"))
        .unwrap_or(false)
}

/// True when this server follows a master (set by replication through the
/// log role, or reported in the replication section).
pub fn is_replica(srv: &'static Server) -> bool {
    if crate::log::role() == b'S' {
        return true;
    }
    let has_provider = PROVIDERS.lock().iter().any(|(s, _)| *s == "replication");
    has_provider && field(srv, "replication", "role").as_deref() == Some("slave")
}

/// Redis's `bytesToHuman`.
pub fn human_bytes(n: u64) -> String {
    const K: f64 = 1024.0;
    let d = n as f64;
    if n < 1024 {
        format!("{}B", n)
    } else if n < 1024 * 1024 {
        format!("{:.2}K", d / K)
    } else if n < 1024 * 1024 * 1024 {
        format!("{:.2}M", d / (K * K))
    } else if n < 1024u64.pow(4) {
        format!("{:.2}G", d / (K * K * K))
    } else if n < 1024u64.pow(5) {
        format!("{:.2}T", d / (K * K * K * K))
    } else if n < 1024u64.pow(6) {
        format!("{:.2}P", d / (K * K * K * K * K))
    } else {
        format!("{}B", n)
    }
}

// ---------------------------------------------------------------- server

fn uname() -> (String, String, String) {
    // SAFETY: `utsname` is plain old data; uname fills it or fails.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `u` is a valid, writable utsname.
    if unsafe { libc::uname(&mut u) } != 0 {
        return ("Linux".into(), String::new(), String::new());
    }
    fn field(f: &[libc::c_char]) -> String {
        let bytes: Vec<u8> = f
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }
    (field(&u.sysname), field(&u.release), field(&u.machine))
}

/// A stable 16-hex-digit id of this build.
fn build_id() -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in server::SPINEL_VERSION
        .bytes()
        .chain(server::VERSION.bytes())
        .chain(env!("CARGO_PKG_NAME").bytes())
    {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{:016x}", h)
}

fn absolute(path: &str) -> String {
    let p = std::path::Path::new(path);
    if p.is_absolute() {
        return path.to_string();
    }
    match std::env::current_dir() {
        Ok(d) => d.join(p).to_string_lossy().into_owned(),
        Err(_) => path.to_string(),
    }
}

fn server_fields(srv: &'static Server) -> Fields {
    let (sys, rel, mach) = uname();
    let uptime = srv.uptime_secs();
    let hz = srv.config.hz();
    let exe = std::env::current_exe()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let config_file = srv.config_file.as_deref().map(absolute).unwrap_or_default();
    let supervised = match srv.config.get_string("supervised").as_deref() {
        Some("systemd") => "systemd",
        Some("upstart") => "upstart",
        _ => "no",
    };
    let port = srv.port.load(Ordering::Relaxed);
    let mut f = vec![
        kv("redis_version", server::VERSION),
        kv("spinel_version", server::SPINEL_VERSION),
        kv("redis_git_sha1", "00000000"),
        kv("redis_git_dirty", 0),
        kv("redis_build_id", build_id()),
        kv(
            "redis_mode",
            if cluster_enabled(srv) {
                "cluster"
            } else {
                "standalone"
            },
        ),
        kv("os", format!("{} {} {}", sys, rel, mach)),
        kv("arch_bits", usize::BITS),
        kv("monotonic_clock", "POSIX clock_gettime"),
        kv("multiplexing_api", "epoll"),
        kv("atomicvar_api", "c11-builtin"),
        kv("gcc_version", "0.0.0"),
        kv("process_id", std::process::id()),
        kv("process_supervised", supervised),
        kv("run_id", &srv.run_id),
        kv("tcp_port", port),
        kv("server_time_usec", server::now_us()),
        kv("uptime_in_seconds", uptime),
        kv("uptime_in_days", uptime / 86400),
        kv("hz", hz),
        kv("configured_hz", hz),
        kv("lru_clock", crate::dispatch::lru_clock(server::now_ms())),
        kv("executable", exe),
        kv("config_file", config_file),
        kv("io_threads_active", 0),
    ];
    if port != 0 {
        let mut binds = srv.config.bind();
        if binds.is_empty() {
            binds = vec!["*".into(), "-::*".into()];
        }
        let mut l = String::from("name=tcp");
        for b in binds {
            let _ = write!(l, ",bind={}", b);
        }
        let _ = write!(l, ",port={}", port);
        f.push(kv("listener0", l));
    }
    f
}

// ---------------------------------------------------------------- clients

fn clients_fields(srv: &'static Server) -> Fields {
    let all = srv.clients.all();
    let mut connected = 0u64;
    let mut blocked = 0u64;
    let mut max_in = 0usize;
    let mut max_out = 0usize;
    for c in &all {
        if !c.has_flag(flag::REPLICA) {
            connected += 1;
        }
        if c.has_flag(flag::BLOCKED) {
            blocked += 1;
        }
        max_in = max_in.max(c.qbuf.load(Ordering::Relaxed));
        max_out = max_out.max(c.mailbox.lock().len());
    }
    vec![
        kv("connected_clients", connected),
        kv("cluster_connections", 0),
        kv("maxclients", srv.config.maxclients()),
        kv("client_recent_max_input_buffer", max_in),
        kv("client_recent_max_output_buffer", max_out),
        kv("blocked_clients", blocked),
        kv("tracking_clients", 0),
        kv("clients_in_timeout_table", 0),
        kv("total_blocking_keys", 0),
        kv("total_blocking_keys_on_nokey", 0),
    ]
}

/// Approximate bytes held by one client: query buffer, pending output and
/// the fixed per-connection buffers.
pub fn client_memory(c: &ClientShared) -> u64 {
    const FIXED: u64 = 16 * 1024 + 1024;
    FIXED
        + std::mem::size_of::<crate::client::Client>() as u64
        + std::mem::size_of::<ClientShared>() as u64
        + c.qbuf.load(Ordering::Relaxed) as u64
        + c.mailbox.lock().len() as u64
}

// ---------------------------------------------------------------- memory

static PEAK: AtomicU64 = AtomicU64::new(0);
static STARTUP: OnceLock<u64> = OnceLock::new();

/// A global allocator wrapper that counts the bytes held by the program.
///
/// Each thread adds to its own cache line (one writer per slot, so no
/// contended read-modify-write on the allocation path); readers sum the
/// slots. Threads beyond the slot count share one atomic counter.
///
/// ```ignore
/// #[global_allocator]
/// static GLOBAL: spinel_server::info::CountingAlloc<mimalloc::MiMalloc> =
///     spinel_server::info::CountingAlloc::new(mimalloc::MiMalloc);
/// ```
pub struct CountingAlloc<A> {
    inner: A,
}

impl<A> CountingAlloc<A> {
    pub const fn new(inner: A) -> Self {
        CountingAlloc { inner }
    }
}

const ALLOC_SLOTS: usize = 256;

#[repr(align(64))]
struct AllocSlot(AtomicI64);

static ALLOC_COUNTS: [AllocSlot; ALLOC_SLOTS] =
    [const { AllocSlot(AtomicI64::new(0)) }; ALLOC_SLOTS];
static ALLOC_SHARED: AllocSlot = AllocSlot(AtomicI64::new(0));
static ALLOC_NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);
static ALLOC_COUNTING: AtomicBool = AtomicBool::new(false);

thread_local! {
    static ALLOC_MY_SLOT: Cell<usize> = const { Cell::new(usize::MAX) };
}

#[inline]
fn count_alloc(delta: i64) {
    let slot = ALLOC_MY_SLOT
        .try_with(|c| {
            let v = c.get();
            if v != usize::MAX {
                return v;
            }
            let v = ALLOC_NEXT_SLOT.fetch_add(1, Ordering::Relaxed);
            ALLOC_COUNTING.store(true, Ordering::Relaxed);
            c.set(v);
            v
        })
        .unwrap_or(usize::MAX);
    match ALLOC_COUNTS.get(slot) {
        // Only this thread writes its slot.
        Some(s) => s.0.store(
            s.0.load(Ordering::Relaxed).wrapping_add(delta),
            Ordering::Relaxed,
        ),
        None => {
            ALLOC_SHARED.0.fetch_add(delta, Ordering::Relaxed);
        }
    }
}

// SAFETY: every call is forwarded unchanged to the inner allocator; the
// wrapper only records sizes.
/// How many bytes an allocator really hands out for a block: Redis's
/// `used_memory` counts usable sizes (size classes included), not requests.
pub trait UsableSize {
    /// # Safety
    /// `ptr` must be a live block from this allocator of `size` requested bytes.
    unsafe fn usable_size(&self, ptr: *mut u8, size: usize) -> usize;
}

impl UsableSize for mimalloc::MiMalloc {
    #[inline]
    unsafe fn usable_size(&self, ptr: *mut u8, _size: usize) -> usize {
        // SAFETY: ptr is a live mimalloc block (caller's contract).
        unsafe { libmimalloc_sys::mi_usable_size(ptr as *const std::ffi::c_void) }
    }
}

impl UsableSize for std::alloc::System {
    #[inline]
    unsafe fn usable_size(&self, _ptr: *mut u8, size: usize) -> usize {
        size
    }
}

unsafe impl<A: GlobalAlloc + UsableSize> GlobalAlloc for CountingAlloc<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { self.inner.alloc(layout) };
        if !p.is_null() {
            // SAFETY: p was just returned for this layout.
            count_alloc(unsafe { self.inner.usable_size(p, layout.size()) } as i64);
        }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { self.inner.alloc_zeroed(layout) };
        if !p.is_null() {
            // SAFETY: p was just returned for this layout.
            count_alloc(unsafe { self.inner.usable_size(p, layout.size()) } as i64);
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: ptr is live until the dealloc below.
        let n = unsafe { self.inner.usable_size(ptr, layout.size()) };
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { self.inner.dealloc(ptr, layout) };
        count_alloc(-(n as i64));
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: ptr is live until the realloc below.
        let old = unsafe { self.inner.usable_size(ptr, layout.size()) };
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { self.inner.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            // SAFETY: p was just returned with new_size bytes.
            let new = unsafe { self.inner.usable_size(p, new_size) };
            count_alloc(new as i64 - old as i64);
        }
        p
    }
}

/// Bytes held from the allocator, when [`CountingAlloc`] is installed.
pub fn counted_bytes() -> Option<u64> {
    if !ALLOC_COUNTING.load(Ordering::Relaxed) {
        return None;
    }
    let sum: i64 = ALLOC_COUNTS
        .iter()
        .map(|s| s.0.load(Ordering::Relaxed))
        .fold(ALLOC_SHARED.0.load(Ordering::Relaxed), i64::wrapping_add);
    Some(sum.max(0) as u64)
}

/// What the allocator reports.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllocStats {
    /// Bytes handed out to the program.
    pub allocated: u64,
    /// Bytes the allocator holds from the system (in use or free).
    pub active: u64,
}

pub fn alloc_stats() -> AllocStats {
    let rss = rss_bytes();
    match counted_bytes() {
        Some(n) => AllocStats {
            allocated: n,
            active: rss.max(n),
        },
        None => AllocStats {
            allocated: rss,
            active: rss,
        },
    }
}

/// Redis's `used_memory` (also updates the peak).
pub fn used_memory() -> u64 {
    let used = alloc_stats().allocated;
    PEAK.fetch_max(used, Ordering::Relaxed);
    used
}

/// Samples memory so the peak is tracked between INFO calls.
pub fn sample_memory() {
    let _ = used_memory();
}

/// Records the memory in use at start-up (first call wins).
pub fn record_startup_memory() {
    let _ = STARTUP.get_or_init(used_memory);
}

pub fn peak_memory() -> u64 {
    PEAK.load(Ordering::Relaxed).max(used_memory())
}

/// Resident set size from `/proc/self/statm`.
pub fn rss_bytes() -> u64 {
    let Ok(s) = std::fs::read_to_string("/proc/self/statm") else {
        return 0;
    };
    let pages: u64 = s
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages * if page > 0 { page as u64 } else { 4096 }
}

fn total_system_memory() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let (pages, page) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    if pages > 0 && page > 0 {
        pages as u64 * page as u64
    } else {
        0
    }
}

/// Keys and keys with a TTL in every database (one shard lock at a time).
fn key_counts(srv: &Server) -> (u64, u64) {
    let (mut keys, mut expires) = (0u64, 0u64);
    for db in srv.ks.dbs.iter() {
        for sh in db.shards.iter() {
            let sh = sh.lock();
            keys += sh.map.len() as u64;
            expires += sh.expires.len() as u64;
        }
    }
    (keys, expires)
}

/// Table bytes per key beyond the key and value heap data: the map entry
/// (hash, key slot, value slot) and its index slot.
const PER_KEY: u64 = (8 + std::mem::size_of::<SBytes>() + std::mem::size_of::<Entry>() + 9) as u64;
/// Per key with a TTL: the expiry map entry and its index slot.
const PER_EXPIRE: u64 = (8 + std::mem::size_of::<SBytes>() + 8 + 9) as u64;

fn memory_fields(srv: &'static Server) -> Fields {
    let a = alloc_stats();
    let used = a.allocated;
    PEAK.fetch_max(used, Ordering::Relaxed);
    let peak = PEAK.load(Ordering::Relaxed).max(used);
    let rss = rss_bytes();
    let startup = STARTUP.get().copied().unwrap_or(0).min(used);
    let clients: u64 = srv.clients.all().iter().map(|c| client_memory(c)).sum();
    let (keys, expires) = key_counts(srv);
    let overhead = (startup + clients + keys * PER_KEY + expires * PER_EXPIRE).min(used);
    let dataset = used - overhead;
    let net = (used - startup).max(1);
    let maxmemory = srv
        .config
        .get_string("maxmemory")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    let policy = srv
        .config
        .get_string("maxmemory-policy")
        .unwrap_or_else(|| "noeviction".into());
    let active = a.active.max(used);
    let resident = rss.max(active);
    let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let total_sys = total_system_memory();
    vec![
        kv("used_memory", used),
        kv("used_memory_human", human_bytes(used)),
        kv("used_memory_rss", rss),
        kv("used_memory_rss_human", human_bytes(rss)),
        kv("used_memory_peak", peak),
        kv("used_memory_peak_human", human_bytes(peak)),
        kv(
            "used_memory_peak_perc",
            format!("{}%", f2(ratio(used * 100, peak))),
        ),
        kv("used_memory_overhead", overhead),
        kv("used_memory_startup", startup),
        kv("used_memory_dataset", dataset),
        kv(
            "used_memory_dataset_perc",
            format!("{}%", f2(dataset as f64 * 100.0 / net as f64)),
        ),
        kv("allocator_allocated", used),
        kv("allocator_active", active),
        kv("allocator_resident", resident),
        kv("total_system_memory", total_sys),
        kv("total_system_memory_human", human_bytes(total_sys)),
        kv("used_memory_lua", 0),
        kv("used_memory_vm_eval", 0),
        kv("used_memory_lua_human", human_bytes(0)),
        kv("used_memory_scripts_eval", 0),
        kv("number_of_cached_scripts", 0),
        kv("number_of_functions", 0),
        kv("number_of_libraries", 0),
        kv("used_memory_vm_functions", 0),
        kv("used_memory_vm_total", 0),
        kv("used_memory_vm_total_human", human_bytes(0)),
        kv("used_memory_functions", 0),
        kv("used_memory_scripts", 0),
        kv("used_memory_scripts_human", human_bytes(0)),
        kv("maxmemory", maxmemory),
        kv("maxmemory_human", human_bytes(maxmemory)),
        kv("maxmemory_policy", policy),
        kv("allocator_frag_ratio", f2(ratio(active, used))),
        kv("allocator_frag_bytes", active - used),
        kv("allocator_rss_ratio", f2(ratio(resident, active))),
        kv("allocator_rss_bytes", resident - active),
        kv("rss_overhead_ratio", f2(ratio(rss, resident))),
        kv("rss_overhead_bytes", rss as i64 - resident as i64),
        kv("mem_fragmentation_ratio", f2(ratio(rss, used))),
        kv("mem_fragmentation_bytes", rss as i64 - used as i64),
        kv("mem_not_counted_for_evict", 0),
        kv("mem_replication_backlog", 0),
        kv("mem_total_replication_buffers", 0),
        kv("mem_clients_slaves", 0),
        kv("mem_clients_normal", clients),
        kv("mem_cluster_links", 0),
        kv("mem_aof_buffer", 0),
        kv("mem_allocator", "libc"),
        kv("active_defrag_running", 0),
        kv(
            "lazyfree_pending_objects",
            crate::lazyfree::PENDING.load(Ordering::Relaxed),
        ),
        kv(
            "lazyfreed_objects",
            crate::lazyfree::FREED.load(Ordering::Relaxed),
        ),
    ]
}

// ---------------------------------------------------------------- persistence

fn persistence_fields(srv: &'static Server) -> Fields {
    let aof = srv
        .config
        .get_string("appendonly")
        .map(|v| v.eq_ignore_ascii_case("yes"))
        .unwrap_or(false);
    vec![
        kv("loading", 0),
        kv("async_loading", 0),
        kv("current_cow_peak", 0),
        kv("current_cow_size", 0),
        kv("current_cow_size_age", 0),
        kv("current_fork_perc", "0.00"),
        kv("current_save_keys_processed", 0),
        kv("current_save_keys_total", 0),
        kv(
            "rdb_changes_since_last_save",
            srv.dirty.load(Ordering::Relaxed),
        ),
        kv("rdb_bgsave_in_progress", 0),
        kv("rdb_last_save_time", srv.lastsave.load(Ordering::Relaxed)),
        kv("rdb_last_bgsave_status", "ok"),
        kv("rdb_last_bgsave_time_sec", -1),
        kv("rdb_current_bgsave_time_sec", -1),
        kv("rdb_saves", 0),
        kv("rdb_last_cow_size", 0),
        kv("rdb_last_load_keys_expired", 0),
        kv("rdb_last_load_keys_loaded", 0),
        kv("aof_enabled", aof as u8),
        kv("aof_rewrite_in_progress", 0),
        kv("aof_rewrite_scheduled", 0),
        kv("aof_last_rewrite_time_sec", -1),
        kv("aof_current_rewrite_time_sec", -1),
        kv("aof_last_bgrewrite_status", "ok"),
        kv("aof_rewrites", 0),
        kv("aof_rewrites_consecutive_failures", 0),
        kv("aof_last_write_status", "ok"),
        kv("aof_last_cow_size", 0),
        kv("module_fork_in_progress", 0),
        kv("module_fork_last_cow_size", 0),
    ]
}

// ---------------------------------------------------------------- stats

fn stats_fields(srv: &'static Server) -> Fields {
    let st = &srv.stats;
    let (ops, in_kbps, out_kbps) = st.instantaneous();
    let cmd_usec: u64 = (0..srv.commands.cmds.len())
        .map(|id| st.cmd_sum(id).1)
        .sum();
    vec![
        kv(
            "total_connections_received",
            st.connections_received.load(Ordering::Relaxed),
        ),
        kv("total_commands_processed", st.sum(|w| &w.commands)),
        kv("instantaneous_ops_per_sec", ops),
        kv("total_net_input_bytes", st.sum(|w| &w.net_in)),
        kv("total_net_output_bytes", st.sum(|w| &w.net_out)),
        kv("total_net_repl_input_bytes", 0),
        kv("total_net_repl_output_bytes", 0),
        kv("instantaneous_input_kbps", f2(in_kbps)),
        kv("instantaneous_output_kbps", f2(out_kbps)),
        kv("instantaneous_input_repl_kbps", "0.00"),
        kv("instantaneous_output_repl_kbps", "0.00"),
        kv(
            "rejected_connections",
            st.rejected_connections.load(Ordering::Relaxed),
        ),
        kv("sync_full", 0),
        kv("sync_partial_ok", 0),
        kv("sync_partial_err", 0),
        kv("expired_keys", st.expired_keys.load(Ordering::Relaxed)),
        kv("expired_stale_perc", "0.00"),
        kv("expired_time_cap_reached_count", 0),
        kv(
            "expire_cycle_cpu_milliseconds",
            st.expire_cycle_cpu_ms.load(Ordering::Relaxed),
        ),
        kv("evicted_keys", st.evicted_keys.load(Ordering::Relaxed)),
        kv("evicted_clients", 0),
        kv("total_eviction_exceeded_time", 0),
        kv("current_eviction_exceeded_time", 0),
        kv("keyspace_hits", st.sum(|w| &w.keyspace_hits)),
        kv("keyspace_misses", st.sum(|w| &w.keyspace_misses)),
        kv("pubsub_channels", 0),
        kv("pubsub_patterns", 0),
        kv("pubsubshard_channels", 0),
        kv("latest_fork_usec", 0),
        kv("total_forks", 0),
        kv("migrate_cached_sockets", 0),
        kv("slave_expires_tracked_keys", 0),
        kv("active_defrag_hits", 0),
        kv("active_defrag_misses", 0),
        kv("active_defrag_key_hits", 0),
        kv("active_defrag_key_misses", 0),
        kv("total_active_defrag_time", 0),
        kv("current_active_defrag_time", 0),
        kv("tracking_total_keys", 0),
        kv("tracking_total_items", 0),
        kv("tracking_total_prefixes", 0),
        kv(
            "unexpected_error_replies",
            st.unexpected_error_replies.load(Ordering::Relaxed),
        ),
        kv("total_error_replies", st.sum(|w| &w.error_replies)),
        kv("dump_payload_sanitizations", 0),
        kv("total_reads_processed", 0),
        kv("total_writes_processed", 0),
        kv("io_threaded_reads_processed", 0),
        kv("io_threaded_writes_processed", 0),
        kv("reply_buffer_shrinks", 0),
        kv("reply_buffer_expands", 0),
        kv("eventloop_cycles", 0),
        kv("eventloop_duration_sum", 0),
        kv("eventloop_duration_cmd_sum", cmd_usec),
        kv("instantaneous_eventloop_cycles_per_sec", 0),
        kv("instantaneous_eventloop_duration_usec", 0),
        kv(
            "acl_access_denied_auth",
            ACL_DENIED_AUTH.load(Ordering::Relaxed),
        ),
        kv("acl_access_denied_cmd", 0),
        kv("acl_access_denied_key", 0),
        kv("acl_access_denied_channel", 0),
    ]
}

// ---------------------------------------------------------------- replication

fn replid() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| server::random_hex(40))
}

fn replication_fields(srv: &'static Server) -> Fields {
    let backlog = srv
        .config
        .get_string("repl-backlog-size")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(1024 * 1024);
    let role = if crate::log::role() == b'S' {
        "slave"
    } else {
        "master"
    };
    vec![
        kv("role", role),
        kv("connected_slaves", 0),
        kv("master_failover_state", "no-failover"),
        kv("master_replid", replid()),
        kv("master_replid2", "0".repeat(40)),
        kv("master_repl_offset", 0),
        kv("second_repl_offset", -1),
        kv("repl_backlog_active", 0),
        kv("repl_backlog_size", backlog),
        kv("repl_backlog_first_byte_offset", 0),
        kv("repl_backlog_histlen", 0),
    ]
}

// ---------------------------------------------------------------- cpu

fn rusage(who: libc::c_int) -> (String, String) {
    // SAFETY: `rusage` is plain old data; getrusage fills it or fails.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid, writable rusage.
    if unsafe { libc::getrusage(who, &mut ru) } != 0 {
        return ("0.000000".into(), "0.000000".into());
    }
    let tv = |t: libc::timeval| format!("{}.{:06}", t.tv_sec, t.tv_usec);
    (tv(ru.ru_stime), tv(ru.ru_utime))
}

fn cpu_fields() -> Fields {
    let (sys, user) = rusage(libc::RUSAGE_SELF);
    let (csys, cuser) = rusage(libc::RUSAGE_CHILDREN);
    let (tsys, tuser) = rusage(libc::RUSAGE_THREAD);
    vec![
        kv("used_cpu_sys", sys),
        kv("used_cpu_user", user),
        kv("used_cpu_sys_children", csys),
        kv("used_cpu_user_children", cuser),
        kv("used_cpu_sys_main_thread", tsys),
        kv("used_cpu_user_main_thread", tuser),
    ]
}

// ---------------------------------------------------------------- command and error stats

fn commandstats_fields(srv: &'static Server) -> Fields {
    let mut f = Vec::new();
    for c in &srv.commands.cmds {
        let (calls, usec, rejected, failed) = srv.stats.cmd_sum(c.id);
        if calls == 0 && rejected == 0 && failed == 0 {
            continue;
        }
        let per_call = if calls == 0 {
            0.0
        } else {
            usec as f64 / calls as f64
        };
        f.push((
            format!("cmdstat_{}", c.name),
            format!(
                "calls={},usec={},usec_per_call={},rejected_calls={},failed_calls={}",
                calls,
                usec,
                f2(per_call),
                rejected,
                failed
            ),
        ));
    }
    f
}

fn errorstats_fields(srv: &'static Server) -> Fields {
    srv.stats
        .errors
        .lock()
        .iter()
        .map(|(code, n)| (format!("errorstat_{}", code), format!("count={}", n)))
        .collect()
}

// ---------------------------------------------------------------- keyspace

/// Entries sampled per shard to estimate the average TTL.
const TTL_SAMPLES_PER_SHARD: usize = 8;

fn keyspace_fields(srv: &'static Server) -> Fields {
    let now = server::now_ms();
    let mut f = Vec::new();
    for (i, db) in srv.ks.dbs.iter().enumerate() {
        let (mut keys, mut expires) = (0u64, 0u64);
        let (mut ttl_sum, mut ttl_n) = (0i128, 0i128);
        for sh in db.shards.iter() {
            let sh = sh.lock();
            keys += sh.map.len() as u64;
            expires += sh.expires.len() as u64;
            for (_, &at) in sh.expires.iter().take(TTL_SAMPLES_PER_SHARD) {
                ttl_sum += (at - now).max(0) as i128;
                ttl_n += 1;
            }
        }
        if keys == 0 {
            continue;
        }
        let avg_ttl = if ttl_n > 0 { ttl_sum / ttl_n } else { 0 };
        f.push((
            format!("db{}", i),
            format!("keys={},expires={},avg_ttl={}", keys, expires, avg_ttl),
        ));
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human() {
        assert_eq!(human_bytes(0), "0B");
        assert_eq!(human_bytes(1023), "1023B");
        assert_eq!(human_bytes(1024), "1.00K");
        assert_eq!(human_bytes(1017600), "993.75K");
        assert_eq!(human_bytes(5107712), "4.87M");
        assert_eq!(human_bytes(2059173888), "1.92G");
    }

    #[test]
    fn selection() {
        let s = Selection::from_args(&[]);
        assert!(s.wants("server") && s.wants("keyspace") && s.wants("modules"));
        assert!(!s.wants("commandstats") && !s.wants("latencystats"));
        let s = Selection::from_args(&[b"ALL"]);
        assert!(s.wants("commandstats") && s.wants("latencystats"));
        let s = Selection::from_args(&[b"CPU", b"keyspace"]);
        assert!(s.wants("cpu") && s.wants("keyspace") && !s.wants("server"));
        let s = Selection::from_args(&[b"default", b"commandstats"]);
        assert!(s.wants("server") && s.wants("commandstats"));
        let s = Selection::from_args(&[b"module_list"]);
        assert!(s.wants("modules"));
    }

    #[test]
    fn merge_overrides_in_place() {
        let mut a = vec![kv("a", 1), kv("b", 2)];
        merge(&mut a, vec![kv("b", 3), kv("c", 4)]);
        assert_eq!(a, vec![kv("a", 1), kv("b", 3), kv("c", 4)]);
    }
}
