//! The configuration registry.
//!
//! Every parameter is declared exactly once in [`PARAMS`]: its name, an
//! optional alias, flags (immutable, sensitive, hidden, protected,
//! multi-argument) and its type with validation and default. Everything else
//! (config file and command-line loading, `CONFIG GET`, `CONFIG SET`,
//! `CONFIG REWRITE`) is driven by that table and follows Redis 7.2:
//!
//! * `spinel-server [configfile] [--directive value ...]`: the command-line
//!   options are appended to the file contents as extra lines, one per
//!   `--name`, exactly as redis-server does (so errors report the same line
//!   numbers and quoting).
//! * Config file lines are split with Redis's `sdssplitargs` rules, `#`
//!   starts a comment, `include <path-or-glob>` nests files, later
//!   directives override earlier ones.
//! * Errors print Redis's `*** FATAL CONFIG FILE ERROR ***` block on stderr
//!   and the process exits with status 1.
//!
//! Storage: booleans, integers and enums live in one `AtomicI64` per
//! parameter, so reading them never locks or allocates (the per-command
//! getters such as [`Config::timeout`] are a single relaxed load). Strings
//! and the structured parameters (`save`, `bind`, `client-output-buffer-limit`,
//! ...) are kept in their normalised `CONFIG GET` form behind a read-write
//! lock.

use crate::log;
use parking_lot::{Mutex, RwLock};
use spinel_keyspace::glob::glob_match;
use spinel_resp::{split_args, Argv};
use std::collections::{HashMap, HashSet, VecDeque};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering::Relaxed};
use std::sync::OnceLock;

// ---------------------------------------------------------------------------
// Parameter table
// ---------------------------------------------------------------------------

/// Cannot be changed with `CONFIG SET`.
const IMMUTABLE: u16 = 1;
/// Value is secret: redacted from logs, SLOWLOG, MONITOR (still returned by
/// `CONFIG GET`, as in Redis).
const SENSITIVE: u16 = 2;
/// Only returned by `CONFIG GET` for an exact name, never for a pattern.
const HIDDEN: u16 = 4;
/// `CONFIG SET` needs `enable-protected-configs`.
const PROTECTED: u16 = 8;
/// Takes several arguments (space separated in `CONFIG SET`).
const MULTI_ARG: u16 = 16;

/// Numeric flags: accepts memory units, a percentage, or is octal.
const MEM: u8 = 1;
const PCT: u8 = 2;
const OCT: u8 = 4;

const INT_MAX: i64 = i32::MAX as i64;
const INT_MIN: i64 = i32::MIN as i64;
const UINT_MAX: i64 = u32::MAX as i64;
const LONG_MAX: i64 = i64::MAX;
const ULLONG_MAX: i64 = -1; // u64::MAX, compared unsigned

type Check = fn(&[u8]) -> Result<(), &'static str>;

#[derive(Clone, Copy)]
enum Kind {
    Bool(bool),
    /// `unsigned`: bounds are compared as unsigned values, like Redis's
    /// unsigned/size_t parameters (a negative input wraps and is reported
    /// as out of range).
    Num {
        min: i64,
        max: i64,
        def: i64,
        flags: u8,
        unsigned: bool,
    },
    /// `bitflags`: several names may be given and are OR-ed together.
    Enum {
        vals: &'static [(&'static str, i64)],
        def: i64,
        bitflags: bool,
    },
    /// `empty_null`: an empty value means "not set".
    Str {
        def: Option<&'static str>,
        empty_null: bool,
        check: Option<Check>,
    },
    Special(Sp),
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Sp {
    Dir,
    Save,
    ClientOutputBufferLimit,
    OomScoreAdjValues,
    NotifyKeyspaceEvents,
    Bind,
    ReplicaOf,
    LatencyPercentiles,
}

#[derive(Clone, Copy)]
struct Param {
    name: &'static str,
    alias: Option<&'static str>,
    flags: u16,
    kind: Kind,
}

const fn b(name: &'static str, alias: Option<&'static str>, flags: u16, def: bool) -> Param {
    Param {
        name,
        alias,
        flags,
        kind: Kind::Bool(def),
    }
}

/// Signed numeric parameter.
const fn int(
    name: &'static str,
    alias: Option<&'static str>,
    flags: u16,
    min: i64,
    max: i64,
    def: i64,
    nflags: u8,
) -> Param {
    Param {
        name,
        alias,
        flags,
        kind: Kind::Num {
            min,
            max,
            def,
            flags: nflags,
            unsigned: false,
        },
    }
}

/// Unsigned numeric parameter (bounds compared unsigned).
const fn uint(
    name: &'static str,
    alias: Option<&'static str>,
    flags: u16,
    min: i64,
    max: i64,
    def: i64,
    nflags: u8,
) -> Param {
    Param {
        name,
        alias,
        flags,
        kind: Kind::Num {
            min,
            max,
            def,
            flags: nflags,
            unsigned: true,
        },
    }
}

const fn en(
    name: &'static str,
    flags: u16,
    vals: &'static [(&'static str, i64)],
    def: i64,
) -> Param {
    Param {
        name,
        alias: None,
        flags,
        kind: Kind::Enum {
            vals,
            def,
            bitflags: flags & MULTI_ARG != 0,
        },
    }
}

const fn st(
    name: &'static str,
    alias: Option<&'static str>,
    flags: u16,
    def: Option<&'static str>,
    empty_null: bool,
    check: Option<Check>,
) -> Param {
    Param {
        name,
        alias,
        flags,
        kind: Kind::Str {
            def,
            empty_null,
            check,
        },
    }
}

const fn sp(name: &'static str, alias: Option<&'static str>, flags: u16, s: Sp) -> Param {
    Param {
        name,
        alias,
        flags,
        kind: Kind::Special(s),
    }
}

const MOD: u16 = 0;
const NONE: Option<&'static str> = None;
const NULL_STR: Option<&'static str> = None;

const SUPERVISED: &[(&str, i64)] = &[("upstart", 1), ("systemd", 2), ("auto", 3), ("no", 0)];
const SYSLOG_FACILITY: &[(&str, i64)] = &[
    ("user", 8),
    ("local0", 128),
    ("local1", 136),
    ("local2", 144),
    ("local3", 152),
    ("local4", 160),
    ("local5", 168),
    ("local6", 176),
    ("local7", 184),
];
const REPL_DISKLESS_LOAD: &[(&str, i64)] = &[("disabled", 0), ("on-empty-db", 1), ("swapdb", 2)];
/// Same numbering as [`log::Level`].
const LOGLEVEL: &[(&str, i64)] = &[
    ("debug", 0),
    ("verbose", 1),
    ("notice", 2),
    ("warning", 3),
    ("nothing", 4),
];
const MAXMEMORY_POLICY: &[(&str, i64)] = &[
    ("volatile-lru", 0),
    ("volatile-lfu", 1),
    ("volatile-random", 2),
    ("volatile-ttl", 3),
    ("allkeys-lru", 4),
    ("allkeys-lfu", 5),
    ("allkeys-random", 6),
    ("noeviction", 7),
];
const APPENDFSYNC: &[(&str, i64)] = &[("everysec", 0), ("always", 1), ("no", 2)];
const OOM_SCORE_ADJ: &[(&str, i64)] = &[("no", 0), ("yes", 1), ("relative", 1), ("absolute", 2)];
const ACL_PUBSUB_DEFAULT: &[(&str, i64)] = &[("allchannels", 1), ("resetchannels", 0)];
const SANITIZE_DUMP: &[(&str, i64)] = &[("no", 0), ("yes", 1), ("clients", 2)];
/// `enable-*-command` / `enable-protected-configs`.
const PROTECTED_ACTION: &[(&str, i64)] = &[("no", 0), ("yes", 1), ("local", 2)];
const ENDPOINT_TYPE: &[(&str, i64)] = &[("ip", 0), ("hostname", 1), ("unknown-endpoint", 2)];
const PROPAGATION_ERROR: &[(&str, i64)] = &[("ignore", 0), ("panic", 1), ("panic-on-replicas", 2)];
const TLS_AUTH_CLIENTS: &[(&str, i64)] = &[("no", 0), ("yes", 1), ("optional", 2)];

/// `shutdown-on-sigint` / `shutdown-on-sigterm` flags.
pub const SHUTDOWN_SAVE: i64 = 1;
pub const SHUTDOWN_NOSAVE: i64 = 2;
pub const SHUTDOWN_NOW: i64 = 4;
pub const SHUTDOWN_FORCE: i64 = 8;
const SHUTDOWN_ON_SIG: &[(&str, i64)] = &[
    ("default", 0),
    ("save", SHUTDOWN_SAVE),
    ("nosave", SHUTDOWN_NOSAVE),
    ("now", SHUTDOWN_NOW),
    ("force", SHUTDOWN_FORCE),
];

/// Every parameter, declared once. Order is the order of `CONFIG GET *`
/// and of lines appended by `CONFIG REWRITE`.
const PARAMS: &[Param] = &[
    // Spinel's own.
    int("threads", NONE, IMMUTABLE, 1, 1024, 0, 0),
    // Booleans.
    b("rdbchecksum", NONE, IMMUTABLE, true),
    b("daemonize", NONE, IMMUTABLE, false),
    b("io-threads-do-reads", NONE, IMMUTABLE, false),
    b("always-show-logo", NONE, IMMUTABLE, false),
    b("protected-mode", NONE, MOD, true),
    b("rdbcompression", NONE, MOD, true),
    b("rdb-del-sync-files", NONE, MOD, false),
    b("activerehashing", NONE, MOD, true),
    b("stop-writes-on-bgsave-error", NONE, MOD, true),
    b("set-proc-title", NONE, IMMUTABLE, true),
    b("dynamic-hz", NONE, MOD, true),
    b("lazyfree-lazy-eviction", NONE, MOD, false),
    b("lazyfree-lazy-expire", NONE, MOD, false),
    b("lazyfree-lazy-server-del", NONE, MOD, false),
    b("lazyfree-lazy-user-del", NONE, MOD, false),
    b("lazyfree-lazy-user-flush", NONE, MOD, false),
    b("repl-disable-tcp-nodelay", NONE, MOD, false),
    b("repl-diskless-sync", NONE, MOD, true),
    b("aof-rewrite-incremental-fsync", NONE, MOD, true),
    b("no-appendfsync-on-rewrite", NONE, MOD, false),
    b("cluster-require-full-coverage", NONE, MOD, true),
    b("rdb-save-incremental-fsync", NONE, MOD, true),
    b("aof-load-truncated", NONE, MOD, true),
    b("aof-use-rdb-preamble", NONE, MOD, true),
    b("aof-timestamp-enabled", NONE, MOD, false),
    b(
        "cluster-replica-no-failover",
        Some("cluster-slave-no-failover"),
        MOD,
        false,
    ),
    b("replica-lazy-flush", Some("slave-lazy-flush"), MOD, false),
    b(
        "replica-serve-stale-data",
        Some("slave-serve-stale-data"),
        MOD,
        true,
    ),
    b("replica-read-only", Some("slave-read-only"), MOD, true),
    b(
        "replica-ignore-maxmemory",
        Some("slave-ignore-maxmemory"),
        MOD,
        true,
    ),
    b("jemalloc-bg-thread", NONE, MOD, true),
    b("activedefrag", NONE, MOD, false),
    b("syslog-enabled", NONE, IMMUTABLE, false),
    b("cluster-enabled", NONE, IMMUTABLE, false),
    b("appendonly", NONE, MOD, false),
    b("cluster-allow-reads-when-down", NONE, MOD, false),
    b("cluster-allow-pubsubshard-when-down", NONE, MOD, true),
    b("crash-log-enabled", NONE, MOD, true),
    b("crash-memcheck-enabled", NONE, MOD, true),
    b("use-exit-on-panic", NONE, HIDDEN, false),
    b("disable-thp", NONE, IMMUTABLE, true),
    b("cluster-allow-replica-migration", NONE, MOD, true),
    b("replica-announced", NONE, MOD, true),
    b("latency-tracking", NONE, MOD, true),
    b("aof-disable-auto-gc", NONE, MOD, false),
    b("replica-ignore-disk-write-errors", NONE, MOD, false),
    // Strings.
    st("aclfile", NONE, IMMUTABLE, Some(""), false, None),
    st("unixsocket", NONE, IMMUTABLE, NULL_STR, true, None),
    st("pidfile", NONE, IMMUTABLE, NULL_STR, true, None),
    st(
        "replica-announce-ip",
        Some("slave-announce-ip"),
        MOD,
        NULL_STR,
        true,
        None,
    ),
    st("masteruser", NONE, SENSITIVE, NULL_STR, true, None),
    st("cluster-announce-ip", NONE, MOD, NULL_STR, true, None),
    st(
        "cluster-config-file",
        NONE,
        IMMUTABLE,
        Some("nodes.conf"),
        false,
        None,
    ),
    st(
        "cluster-announce-hostname",
        NONE,
        MOD,
        NULL_STR,
        true,
        Some(check_hostname),
    ),
    st(
        "cluster-announce-human-nodename",
        NONE,
        MOD,
        NULL_STR,
        true,
        None,
    ),
    st("syslog-ident", NONE, IMMUTABLE, Some("redis"), false, None),
    st(
        "dbfilename",
        NONE,
        PROTECTED,
        Some("dump.rdb"),
        false,
        Some(check_dbfilename),
    ),
    st(
        "appendfilename",
        NONE,
        IMMUTABLE,
        Some("appendonly.aof"),
        false,
        Some(check_aof_filename),
    ),
    st(
        "appenddirname",
        NONE,
        IMMUTABLE,
        Some("appendonlydir"),
        false,
        Some(check_aof_dirname),
    ),
    st("server_cpulist", NONE, IMMUTABLE, NULL_STR, true, None),
    st("bio_cpulist", NONE, IMMUTABLE, NULL_STR, true, None),
    st("aof_rewrite_cpulist", NONE, IMMUTABLE, NULL_STR, true, None),
    st("bgsave_cpulist", NONE, IMMUTABLE, NULL_STR, true, None),
    st("ignore-warnings", NONE, MOD, Some(""), false, None),
    st(
        "proc-title-template",
        NONE,
        MOD,
        Some("{title} {listen-addr} {server-mode}"),
        false,
        Some(check_proc_title_template),
    ),
    st("bind-source-addr", NONE, MOD, NULL_STR, true, None),
    st("logfile", NONE, IMMUTABLE, Some(""), false, None),
    st(
        "locale-collate",
        NONE,
        MOD,
        Some(""),
        false,
        Some(check_locale),
    ),
    st("masterauth", NONE, SENSITIVE, NULL_STR, true, None),
    st("requirepass", NONE, SENSITIVE, NULL_STR, true, None),
    // Enums.
    en("supervised", IMMUTABLE, SUPERVISED, 0),
    en("syslog-facility", IMMUTABLE, SYSLOG_FACILITY, 128),
    en("repl-diskless-load", MOD, REPL_DISKLESS_LOAD, 0),
    en("loglevel", MOD, LOGLEVEL, 2),
    en("maxmemory-policy", MOD, MAXMEMORY_POLICY, 7),
    en("appendfsync", MOD, APPENDFSYNC, 0),
    en("oom-score-adj", MOD, OOM_SCORE_ADJ, 0),
    en("acl-pubsub-default", MOD, ACL_PUBSUB_DEFAULT, 0),
    en("sanitize-dump-payload", MOD, SANITIZE_DUMP, 0),
    en("enable-protected-configs", IMMUTABLE, PROTECTED_ACTION, 0),
    en("enable-debug-command", IMMUTABLE, PROTECTED_ACTION, 0),
    en("enable-module-command", IMMUTABLE, PROTECTED_ACTION, 0),
    en("cluster-preferred-endpoint-type", MOD, ENDPOINT_TYPE, 0),
    en("propagation-error-behavior", MOD, PROPAGATION_ERROR, 0),
    en("shutdown-on-sigint", MULTI_ARG, SHUTDOWN_ON_SIG, 0),
    en("shutdown-on-sigterm", MULTI_ARG, SHUTDOWN_ON_SIG, 0),
    // Integers.
    int("databases", NONE, IMMUTABLE, 1, INT_MAX, 16, 0),
    int("port", NONE, MOD, 0, 65535, 6379, 0),
    int("io-threads", NONE, IMMUTABLE, 1, 128, 1, 0),
    int("auto-aof-rewrite-percentage", NONE, MOD, 0, INT_MAX, 100, 0),
    int(
        "cluster-replica-validity-factor",
        Some("cluster-slave-validity-factor"),
        MOD,
        0,
        INT_MAX,
        10,
        0,
    ),
    int(
        "list-max-listpack-size",
        Some("list-max-ziplist-size"),
        MOD,
        INT_MIN,
        INT_MAX,
        -2,
        0,
    ),
    int("tcp-keepalive", NONE, MOD, 0, INT_MAX, 300, 0),
    int("cluster-migration-barrier", NONE, MOD, 0, INT_MAX, 1, 0),
    int("active-defrag-cycle-min", NONE, MOD, 1, 99, 1, 0),
    int("active-defrag-cycle-max", NONE, MOD, 1, 99, 25, 0),
    int("active-defrag-threshold-lower", NONE, MOD, 0, 1000, 10, 0),
    int("active-defrag-threshold-upper", NONE, MOD, 0, 1000, 100, 0),
    int("lfu-log-factor", NONE, MOD, 0, INT_MAX, 10, 0),
    int("lfu-decay-time", NONE, MOD, 0, INT_MAX, 1, 0),
    int(
        "replica-priority",
        Some("slave-priority"),
        MOD,
        0,
        INT_MAX,
        100,
        0,
    ),
    int("repl-diskless-sync-delay", NONE, MOD, 0, INT_MAX, 5, 0),
    int("maxmemory-samples", NONE, MOD, 1, 64, 5, 0),
    int("maxmemory-eviction-tenacity", NONE, MOD, 0, 100, 10, 0),
    int("timeout", NONE, MOD, 0, INT_MAX, 0, 0),
    int(
        "replica-announce-port",
        Some("slave-announce-port"),
        MOD,
        0,
        65535,
        0,
        0,
    ),
    int("tcp-backlog", NONE, IMMUTABLE, 0, INT_MAX, 511, 0),
    int("cluster-port", NONE, IMMUTABLE, 0, 65535, 0, 0),
    int("cluster-announce-bus-port", NONE, MOD, 0, 65535, 0, 0),
    int("cluster-announce-port", NONE, MOD, 0, 65535, 0, 0),
    int("cluster-announce-tls-port", NONE, MOD, 0, 65535, 0, 0),
    int("repl-timeout", NONE, MOD, 1, INT_MAX, 60, 0),
    int(
        "repl-ping-replica-period",
        Some("repl-ping-slave-period"),
        MOD,
        1,
        INT_MAX,
        10,
        0,
    ),
    int("list-compress-depth", NONE, MOD, 0, INT_MAX, 0, 0),
    int("rdb-key-save-delay", NONE, HIDDEN, INT_MIN, INT_MAX, 0, 0),
    int("key-load-delay", NONE, HIDDEN, INT_MIN, INT_MAX, 0, 0),
    int("active-expire-effort", NONE, MOD, 1, 10, 1, 0),
    int("hz", NONE, MOD, 0, INT_MAX, 10, 0),
    int(
        "min-replicas-to-write",
        Some("min-slaves-to-write"),
        MOD,
        0,
        INT_MAX,
        0,
        0,
    ),
    int(
        "min-replicas-max-lag",
        Some("min-slaves-max-lag"),
        MOD,
        0,
        INT_MAX,
        10,
        0,
    ),
    int("watchdog-period", NONE, HIDDEN, 0, INT_MAX, 0, 0),
    int("shutdown-timeout", NONE, MOD, 0, INT_MAX, 10, 0),
    int(
        "repl-diskless-sync-max-replicas",
        NONE,
        MOD,
        0,
        INT_MAX,
        0,
        0,
    ),
    // Unsigned int.
    uint("maxclients", NONE, MOD, 1, UINT_MAX, 10000, 0),
    uint("unixsocketperm", NONE, IMMUTABLE, 0, 0o777, 0, OCT),
    uint("socket-mark-id", NONE, IMMUTABLE, 0, UINT_MAX, 0, 0),
    // Unsigned long (bounds compared signed, as in Redis).
    int(
        "active-defrag-max-scan-fields",
        NONE,
        MOD,
        1,
        LONG_MAX,
        1000,
        0,
    ),
    int("slowlog-max-len", NONE, MOD, 0, LONG_MAX, 128, 0),
    int("acllog-max-len", NONE, MOD, 0, LONG_MAX, 128, 0),
    // Long long.
    int(
        "busy-reply-threshold",
        Some("lua-time-limit"),
        MOD,
        0,
        LONG_MAX,
        5000,
        0,
    ),
    int("cluster-node-timeout", NONE, MOD, 0, LONG_MAX, 15000, 0),
    int("slowlog-log-slower-than", NONE, MOD, -1, LONG_MAX, 10000, 0),
    int("latency-monitor-threshold", NONE, MOD, 0, LONG_MAX, 0, 0),
    int(
        "proto-max-bulk-len",
        NONE,
        MOD,
        1024 * 1024,
        LONG_MAX,
        512 * 1024 * 1024,
        MEM,
    ),
    int("stream-node-max-entries", NONE, MOD, 0, LONG_MAX, 100, 0),
    int(
        "repl-backlog-size",
        NONE,
        MOD,
        1,
        LONG_MAX,
        1024 * 1024,
        MEM,
    ),
    // Unsigned long long.
    uint("maxmemory", NONE, MOD, 0, ULLONG_MAX, 0, MEM),
    uint(
        "cluster-link-sendbuf-limit",
        NONE,
        MOD,
        0,
        ULLONG_MAX,
        0,
        MEM,
    ),
    // size_t.
    uint(
        "hash-max-listpack-entries",
        Some("hash-max-ziplist-entries"),
        MOD,
        0,
        LONG_MAX,
        512,
        0,
    ),
    uint("set-max-intset-entries", NONE, MOD, 0, LONG_MAX, 512, 0),
    uint("set-max-listpack-entries", NONE, MOD, 0, LONG_MAX, 128, 0),
    uint("set-max-listpack-value", NONE, MOD, 0, LONG_MAX, 64, MEM),
    uint(
        "zset-max-listpack-entries",
        Some("zset-max-ziplist-entries"),
        MOD,
        0,
        LONG_MAX,
        128,
        0,
    ),
    uint(
        "active-defrag-ignore-bytes",
        NONE,
        MOD,
        1,
        LONG_MAX,
        100 << 20,
        MEM,
    ),
    uint(
        "hash-max-listpack-value",
        Some("hash-max-ziplist-value"),
        MOD,
        0,
        LONG_MAX,
        64,
        MEM,
    ),
    uint("stream-node-max-bytes", NONE, MOD, 0, LONG_MAX, 4096, MEM),
    uint(
        "zset-max-listpack-value",
        Some("zset-max-ziplist-value"),
        MOD,
        0,
        LONG_MAX,
        64,
        MEM,
    ),
    uint("hll-sparse-max-bytes", NONE, MOD, 0, LONG_MAX, 3000, MEM),
    uint(
        "tracking-table-max-keys",
        NONE,
        MOD,
        0,
        LONG_MAX,
        1_000_000,
        0,
    ),
    uint(
        "client-query-buffer-limit",
        NONE,
        MOD,
        1024 * 1024,
        LONG_MAX,
        1024 * 1024 * 1024,
        MEM,
    ),
    // ssize_t.
    int("maxmemory-clients", NONE, MOD, -100, LONG_MAX, 0, MEM | PCT),
    // time_t / off_t.
    int("repl-backlog-ttl", NONE, MOD, 0, LONG_MAX, 3600, 0),
    int(
        "auto-aof-rewrite-min-size",
        NONE,
        MOD,
        0,
        LONG_MAX,
        64 * 1024 * 1024,
        MEM,
    ),
    int(
        "loading-process-events-interval-bytes",
        NONE,
        HIDDEN,
        1024,
        INT_MAX,
        2 * 1024 * 1024,
        0,
    ),
    // TLS (accepted and reported; Spinel does not serve TLS).
    int("tls-port", NONE, MOD, 0, 65535, 0, 0),
    int(
        "tls-session-cache-size",
        NONE,
        MOD,
        0,
        INT_MAX,
        20 * 1024,
        0,
    ),
    int("tls-session-cache-timeout", NONE, MOD, 0, INT_MAX, 300, 0),
    b("tls-cluster", NONE, MOD, false),
    b("tls-replication", NONE, MOD, false),
    en("tls-auth-clients", MOD, TLS_AUTH_CLIENTS, 1),
    b("tls-prefer-server-ciphers", NONE, MOD, false),
    b("tls-session-caching", NONE, MOD, true),
    st("tls-cert-file", NONE, MOD, NULL_STR, true, None),
    st("tls-key-file", NONE, MOD, NULL_STR, true, None),
    st("tls-key-file-pass", NONE, SENSITIVE, NULL_STR, true, None),
    st("tls-client-cert-file", NONE, MOD, NULL_STR, true, None),
    st("tls-client-key-file", NONE, MOD, NULL_STR, true, None),
    st(
        "tls-client-key-file-pass",
        NONE,
        SENSITIVE,
        NULL_STR,
        true,
        None,
    ),
    st("tls-dh-params-file", NONE, MOD, NULL_STR, true, None),
    st("tls-ca-cert-file", NONE, MOD, NULL_STR, true, None),
    st("tls-ca-cert-dir", NONE, MOD, NULL_STR, true, None),
    st("tls-protocols", NONE, MOD, NULL_STR, true, None),
    st("tls-ciphers", NONE, MOD, NULL_STR, true, None),
    st("tls-ciphersuites", NONE, MOD, NULL_STR, true, None),
    // Structured parameters.
    sp("dir", NONE, PROTECTED, Sp::Dir),
    sp("save", NONE, MULTI_ARG, Sp::Save),
    sp(
        "client-output-buffer-limit",
        NONE,
        MULTI_ARG,
        Sp::ClientOutputBufferLimit,
    ),
    sp(
        "oom-score-adj-values",
        NONE,
        MULTI_ARG,
        Sp::OomScoreAdjValues,
    ),
    sp(
        "notify-keyspace-events",
        NONE,
        MOD,
        Sp::NotifyKeyspaceEvents,
    ),
    sp("bind", NONE, MULTI_ARG, Sp::Bind),
    sp(
        "replicaof",
        Some("slaveof"),
        IMMUTABLE | MULTI_ARG,
        Sp::ReplicaOf,
    ),
    sp(
        "latency-tracking-info-percentiles",
        NONE,
        MULTI_ARG,
        Sp::LatencyPercentiles,
    ),
];

const NPARAMS: usize = PARAMS.len();

const fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Index of a parameter, resolved at compile time.
const fn idx(name: &str) -> usize {
    let mut i = 0;
    while i < PARAMS.len() {
        if bytes_eq(PARAMS[i].name.as_bytes(), name.as_bytes()) {
            return i;
        }
        i += 1;
    }
    panic!("unknown configuration parameter");
}

/// A parameter's index, resolved at compile time, for hot paths:
/// `const P: usize = config::param_index("hz");` then `config.num_at(P)`.
pub const fn param_index(name: &str) -> usize {
    idx(name)
}

const I_THREADS: usize = idx("threads");
const I_PORT: usize = idx("port");
const I_DATABASES: usize = idx("databases");
const I_HZ: usize = idx("hz");
const I_MAXCLIENTS: usize = idx("maxclients");
const I_TIMEOUT: usize = idx("timeout");
const I_PROTO_MAX_BULK_LEN: usize = idx("proto-max-bulk-len");
const I_QUERY_BUF_LIMIT: usize = idx("client-query-buffer-limit");
const I_REQUIREPASS: usize = idx("requirepass");
const I_BIND: usize = idx("bind");
const I_PROTECTED_MODE: usize = idx("protected-mode");
const I_TCP_KEEPALIVE: usize = idx("tcp-keepalive");
const I_TCP_BACKLOG: usize = idx("tcp-backlog");
const I_BUSY_REPLY: usize = idx("busy-reply-threshold");
const I_LOGLEVEL: usize = idx("loglevel");
const I_LOGFILE: usize = idx("logfile");
const I_SLOWLOG_SLOWER: usize = idx("slowlog-log-slower-than");
const I_SLOWLOG_MAX_LEN: usize = idx("slowlog-max-len");
const I_MAXMEMORY: usize = idx("maxmemory");
const I_MAXMEMORY_POLICY: usize = idx("maxmemory-policy");
const I_MAXMEMORY_SAMPLES: usize = idx("maxmemory-samples");
const I_LFU_LOG_FACTOR: usize = idx("lfu-log-factor");
const I_LFU_DECAY_TIME: usize = idx("lfu-decay-time");
const I_NOTIFY: usize = idx("notify-keyspace-events");
const I_SAVE: usize = idx("save");
const I_APPENDONLY: usize = idx("appendonly");
const I_APPENDFSYNC: usize = idx("appendfsync");
const I_DBFILENAME: usize = idx("dbfilename");
const I_APPENDFILENAME: usize = idx("appendfilename");
const I_APPENDDIRNAME: usize = idx("appenddirname");
const I_PIDFILE: usize = idx("pidfile");
const I_DAEMONIZE: usize = idx("daemonize");
const I_UNIXSOCKET: usize = idx("unixsocket");
const I_UNIXSOCKETPERM: usize = idx("unixsocketperm");
const I_COBL: usize = idx("client-output-buffer-limit");
const I_REPLICAOF: usize = idx("replicaof");
const I_MASTERAUTH: usize = idx("masterauth");
const I_CLUSTER_ENABLED: usize = idx("cluster-enabled");
const I_ENABLE_PROTECTED: usize = idx("enable-protected-configs");
const I_ENABLE_DEBUG: usize = idx("enable-debug-command");
const I_ACTIVEDEFRAG: usize = idx("activedefrag");
const I_SHUTDOWN_SIGINT: usize = idx("shutdown-on-sigint");
const I_SHUTDOWN_SIGTERM: usize = idx("shutdown-on-sigterm");
const I_LIST_MAX_LISTPACK_SIZE: usize = idx("list-max-listpack-size");
const I_LIST_COMPRESS_DEPTH: usize = idx("list-compress-depth");
const I_HASH_MAX_ENTRIES: usize = idx("hash-max-listpack-entries");
const I_HASH_MAX_VALUE: usize = idx("hash-max-listpack-value");
const I_SET_MAX_INTSET: usize = idx("set-max-intset-entries");
const I_SET_MAX_ENTRIES: usize = idx("set-max-listpack-entries");
const I_SET_MAX_VALUE: usize = idx("set-max-listpack-value");
const I_ZSET_MAX_ENTRIES: usize = idx("zset-max-listpack-entries");
const I_ZSET_MAX_VALUE: usize = idx("zset-max-listpack-value");
const I_STREAM_MAX_BYTES: usize = idx("stream-node-max-bytes");
const I_STREAM_MAX_ENTRIES: usize = idx("stream-node-max-entries");
const I_HLL_SPARSE_MAX: usize = idx("hll-sparse-max-bytes");
const I_ACTIVE_EXPIRE_EFFORT: usize = idx("active-expire-effort");
const I_LATENCY_MONITOR: usize = idx("latency-monitor-threshold");

/// Redis clamps `hz` into this range.
const MIN_HZ: i64 = 1;
const MAX_HZ: i64 = 500;

const DEFAULT_SAVE: &str = "3600 1 300 100 60 10000";
const DEFAULT_BIND: &str = "* -::*";
const DEFAULT_COBL: [(u64, u64, i64); 3] = [
    (0, 0, 0),
    (256 * 1024 * 1024, 64 * 1024 * 1024, 60),
    (32 * 1024 * 1024, 8 * 1024 * 1024, 60),
];
const DEFAULT_OOM: [i64; 3] = [0, 200, 800];
const DEFAULT_LATENCY_PERCENTILES: &str = "50 99 99.9";
const MAX_BIND_ADDRS: usize = 16;
const REWRITE_SIGNATURE: &[u8] = b"# Generated by CONFIG REWRITE";

/// A name in the lookup table: primary names and aliases are separate
/// entries (as in Redis, `CONFIG GET *` lists both).
struct Entry {
    name: &'static str,
    param: usize,
}

struct Tables {
    entries: Vec<Entry>,
    by_name: HashMap<&'static str, usize, ahash::RandomState>,
}

fn tables() -> &'static Tables {
    static T: OnceLock<Tables> = OnceLock::new();
    T.get_or_init(|| {
        let mut entries = Vec::with_capacity(NPARAMS * 2);
        for (i, p) in PARAMS.iter().enumerate() {
            entries.push(Entry {
                name: p.name,
                param: i,
            });
            if let Some(a) = p.alias {
                entries.push(Entry { name: a, param: i });
            }
        }
        let mut by_name = HashMap::with_hasher(ahash::RandomState::new());
        for (e, entry) in entries.iter().enumerate() {
            by_name.insert(entry.name, e);
        }
        Tables { entries, by_name }
    })
}

/// Finds the lookup entry for `name` (case-insensitive), without allocating
/// for names up to 64 bytes.
fn find_entry(name: &[u8]) -> Option<&'static Entry> {
    let t = tables();
    let mut buf = [0u8; 64];
    let lower: &[u8] = if name.iter().any(|c| c.is_ascii_uppercase()) {
        let dst = buf.get_mut(..name.len())?;
        for (d, s) in dst.iter_mut().zip(name) {
            *d = s.to_ascii_lowercase();
        }
        dst
    } else {
        name
    };
    let s = std::str::from_utf8(lower).ok()?;
    t.by_name.get(s).and_then(|&e| t.entries.get(e))
}

fn find_param(name: &str) -> Option<usize> {
    find_entry(name.as_bytes()).map(|e| e.param)
}

/// Whether `name` is a sensitive parameter (its value must not appear in
/// logs, SLOWLOG or MONITOR output).
pub fn is_sensitive(name: &[u8]) -> bool {
    find_entry(name)
        .and_then(|e| PARAMS.get(e.param))
        .map(|p| p.flags & SENSITIVE != 0)
        .unwrap_or(false)
}

/// Number of CPUs this process may run on (`taskset -c 0` gives 1).
pub fn cpu_count() -> i64 {
    // SAFETY: cpu_set_t is plain data; sched_getaffinity fills it.
    let n = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) == 0 {
            libc::CPU_COUNT(&set) as i64
        } else {
            0
        }
    };
    let n = if n > 0 {
        n
    } else {
        std::thread::available_parallelism()
            .map(|n| n.get() as i64)
            .unwrap_or(1)
    };
    n.clamp(1, 1024)
}

// ---------------------------------------------------------------------------
// Validators
// ---------------------------------------------------------------------------

fn is_basename(v: &[u8]) -> bool {
    !v.contains(&b'/') && !v.contains(&b'\\')
}

fn check_dbfilename(v: &[u8]) -> Result<(), &'static str> {
    if !is_basename(v) {
        return Err("dbfilename can't be a path, just a filename");
    }
    Ok(())
}

fn check_aof_filename(v: &[u8]) -> Result<(), &'static str> {
    if v.is_empty() {
        return Err("appendfilename can't be empty");
    }
    if !is_basename(v) {
        return Err("appendfilename can't be a path, just a filename");
    }
    Ok(())
}

fn check_aof_dirname(v: &[u8]) -> Result<(), &'static str> {
    if v.is_empty() {
        return Err("appenddirname can't be empty");
    }
    if !is_basename(v) {
        return Err("appenddirname can't be a path, just a dirname");
    }
    Ok(())
}

fn check_hostname(v: &[u8]) -> Result<(), &'static str> {
    if v.len() >= 256 {
        return Err("Hostnames must be less than 256 characters");
    }
    if !v
        .iter()
        .all(|&c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.')
    {
        return Err("Hostnames may only contain alphanumeric characters, hyphens or dots");
    }
    Ok(())
}

/// Expands a `proc-title-template` the way validation does (unknown
/// variables or unbalanced braces are invalid; so is an empty result).
fn check_proc_title_template(v: &[u8]) -> Result<(), &'static str> {
    const ERR: &str = "template format is invalid or contains unknown variables";
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&c) = v.get(i) {
        match c {
            b'{' if v.get(i + 1) == Some(&b'{') => {
                out.push(b'{');
                i += 2;
            }
            b'}' if v.get(i + 1) == Some(&b'}') => {
                out.push(b'}');
                i += 2;
            }
            b'}' => return Err(ERR),
            b'{' => {
                let rest = v.get(i + 1..).unwrap_or(&[]);
                let end = rest.iter().position(|&c| c == b'}').ok_or(ERR)?;
                let var = rest.get(..end).unwrap_or(&[]);
                let val: &[u8] = match var {
                    b"title" | b"server-mode" | b"unixsocket" | b"config-file" => b"",
                    b"listen-addr" => b"*:6379",
                    b"port" => b"6379",
                    b"tls-port" => b"0",
                    _ => return Err(ERR),
                };
                out.extend_from_slice(val);
                i += end + 2;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    if out.iter().all(|&c| c == b' ') {
        return Err(ERR);
    }
    Ok(())
}

fn check_locale(v: &[u8]) -> Result<(), &'static str> {
    if v.is_empty() || v == b"C" || v == b"POSIX" {
        return Ok(());
    }
    let c = std::ffi::CString::new(v).map_err(|_| "Invalid locale name")?;
    // SAFETY: valid NUL-terminated string; the locale object is freed.
    unsafe {
        let l = libc::newlocale(libc::LC_COLLATE_MASK, c.as_ptr(), std::ptr::null_mut());
        if l.is_null() {
            return Err("Invalid locale name");
        }
        libc::freelocale(l);
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Number parsing (ports of Redis's helpers, same acceptance rules)
// ---------------------------------------------------------------------------

/// Redis's `string2ll`: strict decimal, no spaces, no `+`, no leading zeros.
pub fn string2ll(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    if neg {
        if v > (i64::MAX as u64) + 1 {
            None
        } else {
            Some((v as i64).wrapping_neg())
        }
    } else if v > i64::MAX as u64 {
        None
    } else {
        Some(v as i64)
    }
}

/// C `strtoll(s, &end, base)` requiring `*end == '\0'`: leading white space
/// and a sign are accepted, an empty string is 0. `strict_range`: overflow
/// is an error (errno checked) instead of saturating.
fn c_strtoll(s: &[u8], base: u32, strict_range: bool) -> Option<i64> {
    if s.is_empty() {
        return Some(0);
    }
    let mut i = 0;
    while s
        .get(i)
        .is_some_and(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c))
    {
        i += 1;
    }
    let mut neg = false;
    if let Some(&c) = s.get(i) {
        if c == b'+' || c == b'-' {
            neg = c == b'-';
            i += 1;
        }
    }
    let start = i;
    let mut v: i128 = 0;
    let mut overflow = false;
    while let Some(d) = s.get(i).and_then(|&c| (c as char).to_digit(base)) {
        v = v * i128::from(base) + i128::from(d);
        if v > i128::from(u64::MAX) {
            overflow = true;
            v = i128::from(u64::MAX);
        }
        i += 1;
    }
    if i == start || i != s.len() {
        return None;
    }
    let v = if neg { -v } else { v };
    if v > i128::from(i64::MAX) || v < i128::from(i64::MIN) || overflow {
        if strict_range {
            return None;
        }
        return Some(if neg { i64::MIN } else { i64::MAX });
    }
    Some(v as i64)
}

/// Redis's `memtoull`: `<digits>[b|k|kb|m|mb|g|gb]`, units case-insensitive
/// (`k` = 1000, `kb` = 1024, ...).
pub fn memtoull(s: &[u8]) -> Option<u64> {
    if s.first() == Some(&b'-') {
        return None;
    }
    let ndigits = s.iter().take_while(|c| c.is_ascii_digit()).count();
    let (digits, unit) = s.split_at(ndigits);
    let unit = unit.to_ascii_lowercase();
    let mul: u64 = match unit.as_slice() {
        b"" | b"b" => 1,
        b"k" => 1000,
        b"kb" => 1024,
        b"m" => 1000 * 1000,
        b"mb" => 1024 * 1024,
        b"g" => 1000 * 1000 * 1000,
        b"gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    if digits.len() >= 128 {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        // strtoull saturates on overflow.
        v = v.saturating_mul(10).saturating_add(u64::from(c - b'0'));
    }
    Some(v.wrapping_mul(mul))
}

/// Redis's numericParseString: memory units, `N%` (stored negative),
/// octal, or a strict integer, depending on `flags`.
fn parse_number(v: &[u8], flags: u8) -> Result<i64, String> {
    if flags & MEM != 0 {
        if let Some(n) = memtoull(v) {
            return Ok(n as i64);
        }
    }
    if flags & PCT != 0 && v.len() > 1 && v.last() == Some(&b'%') {
        if let Some(n) = v.get(..v.len() - 1).and_then(string2ll) {
            if n >= 0 {
                return Ok(-n);
            }
        }
    }
    if flags & OCT != 0 {
        if let Some(n) = c_strtoll(v, 8, true) {
            return Ok(n);
        }
    }
    if flags == 0 {
        if let Some(n) = string2ll(v) {
            return Ok(n);
        }
    }
    Err(if flags & MEM != 0 && flags & PCT != 0 {
        "argument must be a memory or percent value"
    } else if flags & MEM != 0 {
        "argument must be a memory value"
    } else if flags & OCT != 0 {
        "argument couldn't be parsed as an octal number"
    } else {
        "argument couldn't be parsed into an integer"
    }
    .to_string())
}

/// Redis's numericBoundaryCheck.
fn check_bounds(v: i64, min: i64, max: i64, flags: u8, unsigned: bool) -> Result<(), String> {
    if unsigned {
        let (u, lo, hi) = (v as u64, min as u64, max as u64);
        if u > hi || u < lo {
            return Err(if flags & OCT != 0 {
                format!("argument must be between {:o} and {:o} inclusive", lo, hi)
            } else {
                format!("argument must be between {} and {} inclusive", lo, hi)
            });
        }
    } else if flags & PCT != 0 && v < 0 {
        if v < min {
            return Err(format!(
                "percentage argument must be less or equal to {}",
                min.unsigned_abs()
            ));
        }
    } else if v > max || v < min {
        return Err(format!(
            "argument must be between {} and {} inclusive",
            min, max
        ));
    }
    Ok(())
}

/// Redis's `sdscatrepr`: a double-quoted, escaped representation.
pub fn repr(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() + 2);
    out.push(b'"');
    for &c in s {
        match c {
            b'\\' | b'"' => {
                out.push(b'\\');
                out.push(c);
            }
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x07 => out.extend_from_slice(b"\\a"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x20..=0x7e => out.push(c),
            _ => out.extend_from_slice(format!("\\x{:02x}", c).as_bytes()),
        }
    }
    out.push(b'"');
    out
}

/// `%f` then trailing zeros (and a trailing dot) removed.
fn fmt_double(v: f64) -> String {
    let mut s = format!("{:.6}", v);
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    s
}

/// Redis's `string2d`: a full, finite-or-infinite number, no leading space.
fn string2d(s: &[u8]) -> Option<f64> {
    let first = *s.first()?;
    if first.is_ascii_whitespace() {
        return None;
    }
    let t = std::str::from_utf8(s).ok()?;
    let v: f64 = t.parse().ok()?;
    if v.is_nan() {
        return None;
    }
    Some(v)
}

/// Writes bytes as `Ngb`/`Nmb`/`Nkb` when exact (Redis's
/// `rewriteConfigFormatMemory`).
fn format_memory(v: u64) -> String {
    const GB: u64 = 1024 * 1024 * 1024;
    const MB: u64 = 1024 * 1024;
    const KB: u64 = 1024;
    if v != 0 && v.is_multiple_of(GB) {
        format!("{}gb", v / GB)
    } else if v != 0 && v.is_multiple_of(MB) {
        format!("{}mb", v / MB)
    } else if v != 0 && v.is_multiple_of(KB) {
        format!("{}kb", v / KB)
    } else {
        v.to_string()
    }
}

fn strerror(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(p) => s[..p].to_string(),
        None => s,
    }
}

// ---------------------------------------------------------------------------
// Keyspace-event flags (notify-keyspace-events)
// ---------------------------------------------------------------------------

const N_KEYSPACE: u32 = 1 << 0;
const N_KEYEVENT: u32 = 1 << 1;
const N_GENERIC: u32 = 1 << 2;
const N_STRING: u32 = 1 << 3;
const N_LIST: u32 = 1 << 4;
const N_SET: u32 = 1 << 5;
const N_HASH: u32 = 1 << 6;
const N_ZSET: u32 = 1 << 7;
const N_EXPIRED: u32 = 1 << 8;
const N_EVICTED: u32 = 1 << 9;
const N_STREAM: u32 = 1 << 10;
const N_KEY_MISS: u32 = 1 << 11;
const N_MODULE: u32 = 1 << 13;
const N_NEW: u32 = 1 << 14;
const N_ALL: u32 = N_GENERIC
    | N_STRING
    | N_LIST
    | N_SET
    | N_HASH
    | N_ZSET
    | N_EXPIRED
    | N_EVICTED
    | N_STREAM
    | N_MODULE;

fn keyspace_events_to_flags(s: &[u8]) -> Option<u32> {
    let mut f = 0;
    for &c in s {
        f |= match c {
            b'A' => N_ALL,
            b'g' => N_GENERIC,
            b'$' => N_STRING,
            b'l' => N_LIST,
            b's' => N_SET,
            b'h' => N_HASH,
            b'z' => N_ZSET,
            b'x' => N_EXPIRED,
            b'e' => N_EVICTED,
            b'K' => N_KEYSPACE,
            b'E' => N_KEYEVENT,
            b't' => N_STREAM,
            b'm' => N_KEY_MISS,
            b'd' => N_MODULE,
            b'n' => N_NEW,
            _ => return None,
        };
    }
    Some(f)
}

fn keyspace_flags_to_string(f: u32) -> String {
    let mut s = String::new();
    if f & N_ALL == N_ALL {
        s.push('A');
    } else {
        for (bit, c) in [
            (N_GENERIC, 'g'),
            (N_STRING, '$'),
            (N_LIST, 'l'),
            (N_SET, 's'),
            (N_HASH, 'h'),
            (N_ZSET, 'z'),
            (N_EXPIRED, 'x'),
            (N_EVICTED, 'e'),
            (N_STREAM, 't'),
            (N_MODULE, 'd'),
            (N_NEW, 'n'),
        ] {
            if f & bit != 0 {
                s.push(c);
            }
        }
    }
    for (bit, c) in [(N_KEYSPACE, 'K'), (N_KEYEVENT, 'E'), (N_KEY_MISS, 'm')] {
        if f & bit != 0 {
            s.push(c);
        }
    }
    s
}

// ---------------------------------------------------------------------------
// The registry
// ---------------------------------------------------------------------------

/// A validated new value, ready to be stored.
#[derive(Clone, Debug, PartialEq)]
enum Val {
    Num(i64),
    Str(Option<Vec<u8>>),
    Dir(Vec<u8>),
}

/// What `from_args` decided.
pub enum Startup {
    Run(Config),
    Exit(i32),
}

/// The live configuration. Shared by all threads; every getter is cheap.
pub struct Config {
    nums: Box<[AtomicI64; NPARAMS]>,
    strs: RwLock<Vec<Option<Vec<u8>>>>,
    file: Option<String>,
    /// `rename-command <old> <new>` directives, in file order.
    renames: Vec<(Vec<u8>, Vec<u8>)>,
    /// `user ...` directives (arguments after `user`), in file order.
    users: Vec<Vec<Vec<u8>>>,
    /// Serialises CONFIG SET and CONFIG REWRITE.
    write_lock: Mutex<()>,
}

fn default_num(i: usize) -> i64 {
    match PARAMS.get(i).map(|p| p.kind) {
        Some(Kind::Bool(v)) => v as i64,
        Some(Kind::Num { .. }) if i == I_THREADS => cpu_count(),
        Some(Kind::Num { def, .. }) => def,
        Some(Kind::Enum { def, .. }) => def,
        _ => 0,
    }
}

fn cobl_string(v: &[(u64, u64, i64); 3]) -> String {
    let names = ["normal", "slave", "pubsub"];
    let mut s = String::new();
    for (k, (h, so, secs)) in v.iter().enumerate() {
        if k > 0 {
            s.push(' ');
        }
        s.push_str(&format!("{} {} {} {}", names[k], h, so, secs));
    }
    s
}

fn parse_cobl_canonical(s: &[u8]) -> [(u64, u64, i64); 3] {
    let mut out = DEFAULT_COBL;
    let toks: Vec<&[u8]> = s.split(|&c| c == b' ').filter(|t| !t.is_empty()).collect();
    for ch in toks.chunks(4) {
        if let [class, h, so, secs] = ch {
            let k = match *class {
                b"normal" => 0,
                b"slave" => 1,
                b"pubsub" => 2,
                _ => continue,
            };
            if let (Some(h), Some(so), Some(secs)) = (
                std::str::from_utf8(h).ok().and_then(|x| x.parse().ok()),
                std::str::from_utf8(so).ok().and_then(|x| x.parse().ok()),
                std::str::from_utf8(secs).ok().and_then(|x| x.parse().ok()),
            ) {
                if let Some(slot) = out.get_mut(k) {
                    *slot = (h, so, secs);
                }
            }
        }
    }
    out
}

fn default_str(i: usize) -> Option<Vec<u8>> {
    match PARAMS.get(i).map(|p| p.kind) {
        Some(Kind::Str { def, .. }) => def.map(|d| d.as_bytes().to_vec()),
        Some(Kind::Special(Sp::ReplicaOf)) => None,
        Some(Kind::Special(s)) => Some(
            match s {
                Sp::Dir => String::new(),
                Sp::Save => DEFAULT_SAVE.to_string(),
                Sp::ClientOutputBufferLimit => cobl_string(&DEFAULT_COBL),
                Sp::OomScoreAdjValues => "0 200 800".to_string(),
                Sp::NotifyKeyspaceEvents => String::new(),
                Sp::Bind => DEFAULT_BIND.to_string(),
                Sp::ReplicaOf => String::new(),
                Sp::LatencyPercentiles => DEFAULT_LATENCY_PERCENTILES.to_string(),
            }
            .into_bytes(),
        ),
        _ => None,
    }
}

fn enum_error(vals: &[(&str, i64)]) -> String {
    let names: Vec<&str> = vals.iter().map(|v| v.0).collect();
    let mut s = format!(
        "argument(s) must be one of the following: {}",
        names.join(", ")
    );
    s.truncate(255);
    s
}

fn enum_name(vals: &[(&'static str, i64)], v: i64, bitflags: bool) -> String {
    let mut names: Vec<&str> = Vec::new();
    let mut unmatched = v;
    for &(n, ev) in vals {
        if ev == v {
            return n.to_string();
        }
        if bitflags && ev != 0 && ev == (unmatched & ev) {
            names.push(n);
            unmatched &= !ev;
        }
    }
    if names.is_empty() || unmatched != 0 {
        return "unknown".to_string();
    }
    names.join(" ")
}

fn split_words(s: &[u8]) -> Vec<&[u8]> {
    s.split(|&c| c == b' ').filter(|t| !t.is_empty()).collect()
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::new(None)
    }
}

impl Config {
    /// A configuration with every parameter at its default.
    pub fn new(file: Option<String>) -> Config {
        let strs = (0..NPARAMS).map(default_str).collect();
        Config {
            nums: Box::new(std::array::from_fn(|i| AtomicI64::new(default_num(i)))),
            strs: RwLock::new(strs),
            file,
            renames: Vec::new(),
            users: Vec::new(),
            write_lock: Mutex::new(()),
        }
    }

    #[inline]
    fn num(&self, i: usize) -> i64 {
        self.nums.get(i).map(|a| a.load(Relaxed)).unwrap_or(0)
    }

    fn str_bytes(&self, i: usize) -> Option<Vec<u8>> {
        self.strs.read().get(i).cloned().flatten()
    }

    /// Current value of parameter `i` in `CONFIG GET` form.
    fn value_bytes(&self, i: usize) -> Vec<u8> {
        let Some(p) = PARAMS.get(i) else {
            return Vec::new();
        };
        match p.kind {
            Kind::Bool(_) => {
                if self.num(i) != 0 {
                    b"yes".to_vec()
                } else {
                    b"no".to_vec()
                }
            }
            Kind::Num { flags, .. } => {
                let v = self.num(i);
                if flags & PCT != 0 && v < 0 {
                    format!("{}%", v.unsigned_abs()).into_bytes()
                } else if flags & MEM != 0 {
                    (v as u64).to_string().into_bytes()
                } else if flags & OCT != 0 {
                    format!("{:o}", v as u64).into_bytes()
                } else {
                    v.to_string().into_bytes()
                }
            }
            Kind::Enum { vals, bitflags, .. } => {
                enum_name(vals, self.num(i), bitflags).into_bytes()
            }
            Kind::Special(Sp::Dir) => current_dir_bytes(),
            Kind::Str { .. } | Kind::Special(_) => self.str_bytes(i).unwrap_or_default(),
        }
    }

    fn snapshot(&self, i: usize) -> Val {
        match PARAMS.get(i).map(|p| p.kind) {
            Some(Kind::Bool(_)) | Some(Kind::Num { .. }) | Some(Kind::Enum { .. }) => {
                Val::Num(self.num(i))
            }
            Some(Kind::Special(Sp::Dir)) => Val::Dir(current_dir_bytes()),
            _ => Val::Str(self.str_bytes(i)),
        }
    }

    /// Validates `args` for parameter `i` (one argument unless MULTI_ARG).
    /// `loading` selects the config-file semantics of `save` (appending to
    /// the lines already read).
    fn parse(&self, i: usize, args: &[&[u8]], save_append: bool) -> Result<Val, String> {
        let p = PARAMS
            .get(i)
            .ok_or_else(|| "unknown parameter".to_string())?;
        let one = args.first().copied().unwrap_or(b"");
        match p.kind {
            Kind::Bool(_) => {
                let v = if one.eq_ignore_ascii_case(b"yes") {
                    1
                } else if one.eq_ignore_ascii_case(b"no") {
                    0
                } else {
                    return Err("argument must be 'yes' or 'no'".into());
                };
                if i == I_ACTIVEDEFRAG && v == 1 {
                    return Err("Active defragmentation cannot be enabled: it requires a Redis server compiled with a modified Jemalloc like the one shipped by default with the Redis source distribution".into());
                }
                Ok(Val::Num(v))
            }
            Kind::Num {
                min,
                max,
                flags,
                unsigned,
                ..
            } => {
                let v = parse_number(one, flags)?;
                check_bounds(v, min, max, flags, unsigned)?;
                let v = if i == I_HZ {
                    v.clamp(MIN_HZ, MAX_HZ)
                } else {
                    v
                };
                Ok(Val::Num(v))
            }
            Kind::Enum { vals, bitflags, .. } => {
                if args.is_empty() || (!bitflags && args.len() != 1) {
                    return Err(enum_error(vals));
                }
                let mut v = 0;
                for a in args {
                    let mut matched = false;
                    for &(n, ev) in vals {
                        if n.as_bytes().eq_ignore_ascii_case(a) {
                            v |= ev;
                            matched = true;
                        }
                    }
                    if !matched {
                        return Err(enum_error(vals));
                    }
                }
                if bitflags && v & SHUTDOWN_SAVE != 0 && v & SHUTDOWN_NOSAVE != 0 {
                    return Err(
                        "shutdown options SAVE and NOSAVE can't be used simultaneously".into(),
                    );
                }
                Ok(Val::Num(v))
            }
            Kind::Str {
                empty_null, check, ..
            } => {
                if let Some(c) = check {
                    c(one).map_err(|e| e.to_string())?;
                }
                if empty_null && one.is_empty() {
                    Ok(Val::Str(None))
                } else {
                    Ok(Val::Str(Some(one.to_vec())))
                }
            }
            Kind::Special(s) => self.parse_special(s, i, args, save_append),
        }
    }

    fn parse_special(
        &self,
        s: Sp,
        i: usize,
        args: &[&[u8]],
        save_append: bool,
    ) -> Result<Val, String> {
        match s {
            Sp::Dir => {
                if args.len() != 1 {
                    return Err("wrong number of arguments".into());
                }
                Ok(Val::Dir(args.first().copied().unwrap_or(b"").to_vec()))
            }
            Sp::Save => {
                // Like Redis's multi-argument configs, a single non-empty
                // argument ("3600 1 300 100", e.g. from `--save "1 1"`) is
                // split into arguments.
                let mut split = Argv::default();
                let split_slices: Vec<&[u8]>;
                let args: &[&[u8]] = if args.len() == 1 && args.first() == Some(&&b""[..]) {
                    &[]
                } else if args.len() == 1 {
                    let one = args.first().copied().unwrap_or(b"");
                    if split_args(one, &mut split).is_err() {
                        return Err("Invalid save parameters".into());
                    }
                    split_slices = split
                        .ranges
                        .iter()
                        .map(|&(a, b)| split.inline.get(a..b).unwrap_or(b""))
                        .collect();
                    &split_slices
                } else {
                    args
                };
                if !args.len().is_multiple_of(2) {
                    return Err("Invalid save parameters".into());
                }
                let mut pairs = Vec::new();
                for (j, a) in args.iter().enumerate() {
                    let v = c_strtoll(a, 10, false).ok_or("Invalid save parameters")?;
                    if (j % 2 == 0 && v < 1) || (j % 2 == 1 && v < 0) {
                        return Err("Invalid save parameters".into());
                    }
                    pairs.push(v);
                }
                let mut out = String::new();
                if save_append {
                    if let Some(cur) = self.str_bytes(i) {
                        out = String::from_utf8_lossy(&cur).into_owned();
                    }
                }
                for ch in pairs.chunks(2) {
                    if let [secs, changes] = ch {
                        if !out.is_empty() {
                            out.push(' ');
                        }
                        // `changes` is a C int in Redis.
                        out.push_str(&format!("{} {}", secs, *changes as i32));
                    }
                }
                Ok(Val::Str(Some(out.into_bytes())))
            }
            Sp::ClientOutputBufferLimit => {
                if !args.len().is_multiple_of(4) {
                    return Err("Wrong number of arguments in buffer limit configuration.".into());
                }
                let mut next = parse_cobl_canonical(&self.str_bytes(i).unwrap_or_default());
                for ch in args.chunks(4) {
                    let [class, hard, soft, secs] = ch else {
                        continue;
                    };
                    let k = if class.eq_ignore_ascii_case(b"normal") {
                        0
                    } else if class.eq_ignore_ascii_case(b"slave")
                        || class.eq_ignore_ascii_case(b"replica")
                    {
                        1
                    } else if class.eq_ignore_ascii_case(b"pubsub") {
                        2
                    } else {
                        return Err(
                            "Invalid client class specified in buffer limit configuration.".into(),
                        );
                    };
                    let bad = || {
                        "Error in hard, soft or soft_seconds setting in buffer limit configuration."
                            .to_string()
                    };
                    let h = memtoull(hard).ok_or_else(bad)?;
                    let s = memtoull(soft).ok_or_else(bad)?;
                    let secs = c_strtoll(secs, 10, false).ok_or_else(bad)?;
                    // soft_seconds is a C int.
                    let secs = i64::from(secs as i32);
                    if secs < 0 {
                        return Err(bad());
                    }
                    if let Some(slot) = next.get_mut(k) {
                        *slot = (h, s, secs);
                    }
                }
                Ok(Val::Str(Some(cobl_string(&next).into_bytes())))
            }
            Sp::OomScoreAdjValues => {
                if args.len() != 3 {
                    return Err("wrong number of arguments".into());
                }
                let mut vals = Vec::with_capacity(3);
                for a in args {
                    match c_strtoll(a, 10, false) {
                        Some(v) if (-2000..=2000).contains(&v) => vals.push(v.to_string()),
                        _ => {
                            return Err("Invalid oom-score-adj-values, elements must be between -2000 and 2000.".into())
                        }
                    }
                }
                Ok(Val::Str(Some(vals.join(" ").into_bytes())))
            }
            Sp::NotifyKeyspaceEvents => {
                if args.len() != 1 {
                    return Err("wrong number of arguments".into());
                }
                let f = keyspace_events_to_flags(args.first().copied().unwrap_or(b""))
                    .ok_or("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")?;
                Ok(Val::Str(Some(keyspace_flags_to_string(f).into_bytes())))
            }
            Sp::Bind => {
                if args.len() > MAX_BIND_ADDRS {
                    return Err("Too many bind addresses specified.".into());
                }
                let args: &[&[u8]] = if args.len() == 1 && args.first() == Some(&&b""[..]) {
                    &[]
                } else {
                    args
                };
                Ok(Val::Str(Some(args.join(&b' '))))
            }
            Sp::ReplicaOf => {
                let [host, port] = args else {
                    return Err("wrong number of arguments".into());
                };
                if host.eq_ignore_ascii_case(b"no") && port.eq_ignore_ascii_case(b"one") {
                    return Ok(Val::Str(None));
                }
                match c_strtoll(port, 10, true) {
                    Some(p) if (0..=65535).contains(&p) => {
                        let mut v = host.to_vec();
                        v.push(b' ');
                        v.extend_from_slice(p.to_string().as_bytes());
                        Ok(Val::Str(Some(v)))
                    }
                    _ => Err("Invalid master port".into()),
                }
            }
            Sp::LatencyPercentiles => {
                let args: &[&[u8]] = if args.len() == 1 && args.first() == Some(&&b""[..]) {
                    &[]
                } else {
                    args
                };
                let mut out = Vec::with_capacity(args.len());
                for a in args {
                    let v = string2d(a)
                        .ok_or("Invalid latency-tracking-info-percentiles parameters")?;
                    if !(0.0..=100.0).contains(&v) {
                        return Err("latency-tracking-info-percentiles parameters should sit between [0.0,100.0]".into());
                    }
                    out.push(fmt_double(v));
                }
                Ok(Val::Str(Some(out.join(" ").into_bytes())))
            }
        }
    }

    /// Stores a validated value. Only `dir` can fail (chdir).
    fn store(&self, i: usize, v: Val) -> Result<(), String> {
        match v {
            Val::Num(n) => {
                if let Some(a) = self.nums.get(i) {
                    a.store(n, Relaxed);
                }
            }
            Val::Str(s) => {
                if let Some(slot) = self.strs.write().get_mut(i) {
                    *slot = s;
                }
            }
            Val::Dir(d) => {
                use std::os::unix::ffi::OsStrExt;
                std::env::set_current_dir(std::ffi::OsStr::from_bytes(&d))
                    .map_err(|e| strerror(&e))?;
            }
        }
        Ok(())
    }

    // -----------------------------------------------------------------------
    // Generic accessors
    // -----------------------------------------------------------------------

    /// The value of `name` (or an alias) as `CONFIG GET` prints it.
    pub fn get_string(&self, name: &str) -> Option<String> {
        let i = find_param(name)?;
        Some(String::from_utf8_lossy(&self.value_bytes(i)).into_owned())
    }

    /// Raw bytes of a parameter's value.
    pub fn get_bytes(&self, name: &str) -> Option<Vec<u8>> {
        find_param(name).map(|i| self.value_bytes(i))
    }

    /// A numeric, boolean (0/1) or enum parameter; lock-free and
    /// allocation-free. `None` for unknown names and string parameters.
    pub fn get_i64(&self, name: &str) -> Option<i64> {
        let i = find_param(name)?;
        match PARAMS.get(i)?.kind {
            Kind::Bool(_) | Kind::Num { .. } | Kind::Enum { .. } => Some(self.num(i)),
            _ => None,
        }
    }

    /// A boolean parameter.
    pub fn get_bool(&self, name: &str) -> Option<bool> {
        let i = find_param(name)?;
        match PARAMS.get(i)?.kind {
            Kind::Bool(_) => Some(self.num(i) != 0),
            _ => None,
        }
    }

    /// An enum parameter's name (first matching name for single-valued
    /// enums).
    pub fn get_enum(&self, name: &str) -> Option<&'static str> {
        let i = find_param(name)?;
        match PARAMS.get(i)?.kind {
            Kind::Enum { vals, .. } => {
                let v = self.num(i);
                vals.iter().find(|e| e.1 == v).map(|e| e.0)
            }
            _ => None,
        }
    }

    // -----------------------------------------------------------------------
    // Typed getters
    // -----------------------------------------------------------------------

    pub fn port(&self) -> u16 {
        self.nums[I_PORT].load(Relaxed) as u16
    }
    /// Worker threads (Spinel's `threads`).
    pub fn threads(&self) -> usize {
        self.nums[I_THREADS].load(Relaxed).max(1) as usize
    }
    pub fn databases(&self) -> usize {
        self.nums[I_DATABASES].load(Relaxed).max(1) as usize
    }
    /// Already clamped to 1..=500.
    #[inline]
    pub fn hz(&self) -> i64 {
        self.nums[I_HZ].load(Relaxed)
    }
    #[inline]
    pub fn maxclients(&self) -> i64 {
        self.nums[I_MAXCLIENTS].load(Relaxed)
    }
    #[inline]
    pub fn timeout(&self) -> i64 {
        self.nums[I_TIMEOUT].load(Relaxed)
    }
    #[inline]
    pub fn proto_max_bulk_len(&self) -> i64 {
        self.nums[I_PROTO_MAX_BULK_LEN].load(Relaxed)
    }
    #[inline]
    pub fn client_query_buffer_limit(&self) -> i64 {
        self.nums[I_QUERY_BUF_LIMIT].load(Relaxed)
    }
    #[inline]
    pub fn slowlog_log_slower_than(&self) -> i64 {
        self.nums[I_SLOWLOG_SLOWER].load(Relaxed)
    }
    #[inline]
    pub fn slowlog_max_len(&self) -> i64 {
        self.nums[I_SLOWLOG_MAX_LEN].load(Relaxed)
    }
    pub fn requirepass(&self) -> Option<Vec<u8>> {
        self.str_bytes(I_REQUIREPASS)
    }
    pub fn masterauth(&self) -> Option<Vec<u8>> {
        self.str_bytes(I_MASTERAUTH)
    }
    /// Bind addresses (empty: listen on none).
    pub fn bind(&self) -> Vec<String> {
        let v = self.str_bytes(I_BIND).unwrap_or_default();
        split_words(&v)
            .into_iter()
            .map(|w| String::from_utf8_lossy(w).into_owned())
            .collect()
    }
    pub fn protected_mode(&self) -> bool {
        self.nums[I_PROTECTED_MODE].load(Relaxed) != 0
    }
    pub fn tcp_keepalive(&self) -> i64 {
        self.nums[I_TCP_KEEPALIVE].load(Relaxed)
    }
    pub fn tcp_backlog(&self) -> i64 {
        self.nums[I_TCP_BACKLOG].load(Relaxed)
    }
    pub fn busy_reply_threshold(&self) -> i64 {
        self.nums[I_BUSY_REPLY].load(Relaxed)
    }
    pub fn loglevel(&self) -> String {
        self.loglevel_level().name().to_string()
    }
    pub fn loglevel_level(&self) -> log::Level {
        let v = self.nums[I_LOGLEVEL].load(Relaxed);
        LOGLEVEL
            .iter()
            .find(|e| e.1 == v)
            .and_then(|e| log::Level::from_name(e.0))
            .unwrap_or(log::Level::Notice)
    }
    pub fn logfile(&self) -> String {
        String::from_utf8_lossy(&self.str_bytes(I_LOGFILE).unwrap_or_default()).into_owned()
    }
    /// Absolute path of the config file the server started from.
    pub fn config_file(&self) -> Option<String> {
        self.file.clone()
    }
    pub fn maxmemory(&self) -> u64 {
        self.nums[I_MAXMEMORY].load(Relaxed) as u64
    }
    pub fn maxmemory_policy(&self) -> &'static str {
        let v = self.nums[I_MAXMEMORY_POLICY].load(Relaxed);
        MAXMEMORY_POLICY
            .iter()
            .find(|e| e.1 == v)
            .map(|e| e.0)
            .unwrap_or("noeviction")
    }
    pub fn maxmemory_samples(&self) -> i64 {
        self.nums[I_MAXMEMORY_SAMPLES].load(Relaxed)
    }
    pub fn lfu_log_factor(&self) -> i64 {
        self.nums[I_LFU_LOG_FACTOR].load(Relaxed)
    }
    pub fn lfu_decay_time(&self) -> i64 {
        self.nums[I_LFU_DECAY_TIME].load(Relaxed)
    }
    /// Normalised flag string (e.g. `"AKE"`).
    pub fn notify_keyspace_events(&self) -> String {
        String::from_utf8_lossy(&self.str_bytes(I_NOTIFY).unwrap_or_default()).into_owned()
    }
    /// `save` as (seconds, changes) pairs.
    pub fn save_params(&self) -> Vec<(i64, i64)> {
        let v = self.str_bytes(I_SAVE).unwrap_or_default();
        let nums: Vec<i64> = split_words(&v)
            .into_iter()
            .filter_map(|w| std::str::from_utf8(w).ok()?.parse().ok())
            .collect();
        nums.chunks(2)
            .filter_map(|c| match c {
                [a, b] => Some((*a, *b)),
                _ => None,
            })
            .collect()
    }
    pub fn appendonly(&self) -> bool {
        self.nums[I_APPENDONLY].load(Relaxed) != 0
    }
    /// `everysec`, `always` or `no`.
    pub fn appendfsync(&self) -> &'static str {
        let v = self.nums[I_APPENDFSYNC].load(Relaxed);
        APPENDFSYNC
            .iter()
            .find(|e| e.1 == v)
            .map(|e| e.0)
            .unwrap_or("everysec")
    }
    /// The working directory (`dir`), absolute.
    pub fn dir(&self) -> String {
        String::from_utf8_lossy(&current_dir_bytes()).into_owned()
    }
    pub fn dbfilename(&self) -> String {
        String::from_utf8_lossy(&self.str_bytes(I_DBFILENAME).unwrap_or_default()).into_owned()
    }
    pub fn appendfilename(&self) -> String {
        String::from_utf8_lossy(&self.str_bytes(I_APPENDFILENAME).unwrap_or_default()).into_owned()
    }
    pub fn appenddirname(&self) -> String {
        String::from_utf8_lossy(&self.str_bytes(I_APPENDDIRNAME).unwrap_or_default()).into_owned()
    }
    pub fn pidfile(&self) -> Option<String> {
        self.str_bytes(I_PIDFILE)
            .map(|v| String::from_utf8_lossy(&v).into_owned())
    }
    pub fn daemonize(&self) -> bool {
        self.nums[I_DAEMONIZE].load(Relaxed) != 0
    }
    pub fn unixsocket(&self) -> Option<String> {
        self.str_bytes(I_UNIXSOCKET)
            .map(|v| String::from_utf8_lossy(&v).into_owned())
    }
    pub fn unixsocketperm(&self) -> u32 {
        self.nums[I_UNIXSOCKETPERM].load(Relaxed) as u32
    }
    /// `(hard, soft, soft_seconds)` for the normal, replica and pubsub
    /// classes, in that order.
    pub fn client_output_buffer_limits(&self) -> [(u64, u64, i64); 3] {
        parse_cobl_canonical(&self.str_bytes(I_COBL).unwrap_or_default())
    }
    /// `replicaof` as (host, port).
    pub fn replicaof(&self) -> Option<(String, u16)> {
        let v = self.str_bytes(I_REPLICAOF)?;
        let s = String::from_utf8_lossy(&v).into_owned();
        let (h, p) = s.rsplit_once(' ')?;
        Some((h.to_string(), p.parse().ok()?))
    }
    pub fn cluster_enabled(&self) -> bool {
        self.nums[I_CLUSTER_ENABLED].load(Relaxed) != 0
    }
    /// `enable-debug-command`: 0 no, 1 yes, 2 local.
    pub fn enable_debug_command(&self) -> i64 {
        self.nums[I_ENABLE_DEBUG].load(Relaxed)
    }
    /// `enable-protected-configs`: 0 no, 1 yes, 2 local.
    pub fn enable_protected_configs(&self) -> i64 {
        self.nums[I_ENABLE_PROTECTED].load(Relaxed)
    }
    /// `shutdown-on-sigint` flags (`SHUTDOWN_*`).
    pub fn shutdown_on_sigint(&self) -> i64 {
        self.nums[I_SHUTDOWN_SIGINT].load(Relaxed)
    }
    /// `shutdown-on-sigterm` flags (`SHUTDOWN_*`).
    pub fn shutdown_on_sigterm(&self) -> i64 {
        self.nums[I_SHUTDOWN_SIGTERM].load(Relaxed)
    }
    /// A numeric parameter by its [`param_index`].
    #[inline]
    pub fn num_at(&self, i: usize) -> i64 {
        self.num(i)
    }
    pub fn list_max_listpack_size(&self) -> i64 {
        self.nums[I_LIST_MAX_LISTPACK_SIZE].load(Relaxed)
    }
    pub fn list_compress_depth(&self) -> i64 {
        self.nums[I_LIST_COMPRESS_DEPTH].load(Relaxed)
    }
    pub fn hash_max_listpack_entries(&self) -> i64 {
        self.nums[I_HASH_MAX_ENTRIES].load(Relaxed)
    }
    pub fn hash_max_listpack_value(&self) -> i64 {
        self.nums[I_HASH_MAX_VALUE].load(Relaxed)
    }
    pub fn set_max_intset_entries(&self) -> i64 {
        self.nums[I_SET_MAX_INTSET].load(Relaxed)
    }
    pub fn set_max_listpack_entries(&self) -> i64 {
        self.nums[I_SET_MAX_ENTRIES].load(Relaxed)
    }
    pub fn set_max_listpack_value(&self) -> i64 {
        self.nums[I_SET_MAX_VALUE].load(Relaxed)
    }
    pub fn zset_max_listpack_entries(&self) -> i64 {
        self.nums[I_ZSET_MAX_ENTRIES].load(Relaxed)
    }
    pub fn zset_max_listpack_value(&self) -> i64 {
        self.nums[I_ZSET_MAX_VALUE].load(Relaxed)
    }
    pub fn stream_node_max_bytes(&self) -> i64 {
        self.nums[I_STREAM_MAX_BYTES].load(Relaxed)
    }
    pub fn stream_node_max_entries(&self) -> i64 {
        self.nums[I_STREAM_MAX_ENTRIES].load(Relaxed)
    }
    pub fn hll_sparse_max_bytes(&self) -> i64 {
        self.nums[I_HLL_SPARSE_MAX].load(Relaxed)
    }
    pub fn active_expire_effort(&self) -> i64 {
        self.nums[I_ACTIVE_EXPIRE_EFFORT].load(Relaxed)
    }
    pub fn latency_monitor_threshold(&self) -> i64 {
        self.nums[I_LATENCY_MONITOR].load(Relaxed)
    }
    /// `rename-command` directives from the config file, in order.
    pub fn rename_commands(&self) -> &[(Vec<u8>, Vec<u8>)] {
        &self.renames
    }
    /// `user` directives from the config file (arguments after `user`).
    pub fn users(&self) -> &[Vec<Vec<u8>>] {
        &self.users
    }

    // -----------------------------------------------------------------------
    // CONFIG GET
    // -----------------------------------------------------------------------

    /// `CONFIG GET pattern [pattern ...]`: (name, value) pairs, each
    /// parameter once. A pattern without glob characters is an exact
    /// (case-insensitive) lookup and is echoed as given; glob patterns match
    /// all names and aliases case-insensitively, except hidden parameters.
    pub fn get_matching(&self, patterns: &[&[u8]]) -> Vec<(String, String)> {
        let t = tables();
        let mut out: Vec<(String, usize)> = Vec::new();
        let seen = |out: &Vec<(String, usize)>, n: &[u8]| {
            out.iter()
                .any(|(k, _)| k.as_bytes().eq_ignore_ascii_case(n))
        };
        for pat in patterns {
            if !pat.iter().any(|c| matches!(c, b'[' | b'*' | b'?')) {
                if seen(&out, pat) {
                    continue;
                }
                if let Some(e) = find_entry(pat) {
                    out.push((String::from_utf8_lossy(pat).into_owned(), e.param));
                }
                continue;
            }
            for e in &t.entries {
                let hidden = PARAMS
                    .get(e.param)
                    .map(|p| p.flags & HIDDEN != 0)
                    .unwrap_or(true);
                if hidden || seen(&out, e.name.as_bytes()) {
                    continue;
                }
                if glob_match(pat, e.name.as_bytes(), true) {
                    out.push((e.name.to_string(), e.param));
                }
            }
        }
        out.into_iter()
            .map(|(k, i)| {
                (
                    k,
                    String::from_utf8_lossy(&self.value_bytes(i)).into_owned(),
                )
            })
            .collect()
    }

    // -----------------------------------------------------------------------
    // CONFIG SET
    // -----------------------------------------------------------------------

    /// `CONFIG SET name value [name value ...]` from a client that is not
    /// known to be local (protected parameters need
    /// `enable-protected-configs yes`). See [`Config::set_many_ext`].
    pub fn set_many(&self, pairs: &[(&[u8], &[u8])]) -> Result<Vec<String>, String> {
        self.set_many_ext(pairs, false, &mut |_| Ok(()))
    }

    /// `CONFIG SET`, all or nothing: every name and value is validated
    /// first, then all are stored, then `apply(name)` runs for each
    /// parameter whose value changed (canonical names). If storing or an
    /// `apply` fails, every parameter is restored (and `apply` is run again
    /// for the restored ones). `local_client` allows protected parameters
    /// under `enable-protected-configs local`.
    ///
    /// Returns the canonical names of the parameters whose value changed,
    /// or the full error line (`ERR ...`).
    pub fn set_many_ext(
        &self,
        pairs: &[(&[u8], &[u8])],
        local_client: bool,
        apply: &mut dyn FnMut(&str) -> Result<(), String>,
    ) -> Result<Vec<String>, String> {
        let _guard = self.write_lock.lock();
        // (param index, entry pointer identity, name as registered)
        let mut chosen: Vec<(usize, *const Entry, &'static str)> = Vec::new();
        let mut invalid_name: Option<&[u8]> = None;
        let mut err: Option<(String, String)> = None;
        for (name, _) in pairs {
            let Some(e) = find_entry(name) else {
                if invalid_name.is_none() && err.is_none() {
                    invalid_name = Some(name);
                }
                continue;
            };
            if invalid_name.is_some() || err.is_some() {
                continue;
            }
            let flags = PARAMS.get(e.param).map(|p| p.flags).unwrap_or(IMMUTABLE);
            let protected_ok = match self.enable_protected_configs() {
                1 => true,
                2 => local_client,
                _ => false,
            };
            if flags & IMMUTABLE != 0 {
                err = Some((
                    String::from_utf8_lossy(name).into_owned(),
                    "can't set immutable config".into(),
                ));
                continue;
            }
            if flags & PROTECTED != 0 && !protected_ok {
                err = Some((
                    String::from_utf8_lossy(name).into_owned(),
                    "can't set protected config".into(),
                ));
                continue;
            }
            if chosen.iter().any(|c| std::ptr::eq(c.1, e)) {
                err = Some((
                    String::from_utf8_lossy(name).into_owned(),
                    "duplicate parameter".into(),
                ));
                continue;
            }
            chosen.push((e.param, e as *const Entry, e.name));
        }
        if let Some(n) = invalid_name {
            return Err(format!(
                "ERR Unknown option or number of arguments for CONFIG SET - '{}'",
                String::from_utf8_lossy(n)
            ));
        }
        if let Some((n, e)) = err {
            return Err(format!(
                "ERR CONFIG SET failed (possibly related to argument '{}') - {}",
                n, e
            ));
        }
        let fail = |n: &str, e: &str| {
            format!(
                "ERR CONFIG SET failed (possibly related to argument '{}') - {}",
                n, e
            )
        };
        // Back up, then set one by one (validating each against the values
        // set before it, as Redis does); roll back on the first failure.
        let old: Vec<Val> = chosen.iter().map(|c| self.snapshot(c.0)).collect();
        let old_get: Vec<Vec<u8>> = chosen.iter().map(|c| self.value_bytes(c.0)).collect();
        for (k, ((i, _, regname), (_, value))) in chosen.iter().zip(pairs).enumerate() {
            let multi = PARAMS
                .get(*i)
                .map(|p| p.flags & MULTI_ARG != 0)
                .unwrap_or(false);
            let args: Vec<&[u8]> = if multi {
                if value.is_empty() {
                    Vec::new()
                } else {
                    value.split(|&c| c == b' ').collect()
                }
            } else {
                vec![*value]
            };
            let r = self.parse(*i, &args, false).and_then(|v| self.store(*i, v));
            if let Err(e) = r {
                self.restore(chosen.get(..=k).unwrap_or(&chosen), &old);
                return Err(fail(regname, &e));
            }
        }
        // Which parameters really changed.
        let mut changed: Vec<String> = Vec::new();
        for ((i, _, _), before) in chosen.iter().zip(&old_get) {
            let name = PARAMS.get(*i).map(|p| p.name).unwrap_or("");
            if self.value_bytes(*i) != *before && !changed.iter().any(|c| c == name) {
                changed.push(name.to_string());
            }
        }
        for name in &changed {
            let r = self.builtin_apply(name).and_then(|_| apply(name));
            if let Err(e) = r {
                log::warning(&format!(
                    "Failed applying new configuration. Possibly related to new {} setting. Restoring previous settings.",
                    name
                ));
                self.restore(&chosen, &old);
                for n in &changed {
                    if let Err(e2) = self.builtin_apply(n).and_then(|_| apply(n)) {
                        log::warning(&format!(
                            "Failed applying restored failed CONFIG SET command: {}",
                            e2
                        ));
                    }
                }
                return Err(fail(name, &e));
            }
        }
        Ok(changed)
    }

    fn restore(&self, chosen: &[(usize, *const Entry, &'static str)], old: &[Val]) {
        for ((i, _, name), v) in chosen.iter().zip(old) {
            if let Err(e) = self.store(*i, v.clone()) {
                log::warning(&format!(
                    "Failed restoring failed CONFIG SET command. Error setting {}: {}",
                    name, e
                ));
            }
        }
    }

    /// Effects the registry applies itself.
    fn builtin_apply(&self, name: &str) -> Result<(), String> {
        if name == "loglevel" {
            log::set_level(self.loglevel_level());
        }
        Ok(())
    }

    // -----------------------------------------------------------------------
    // CONFIG REWRITE
    // -----------------------------------------------------------------------

    /// `CONFIG REWRITE`: rewrites the config file the server started from,
    /// keeping comments and unknown lines, updating directives in place and
    /// appending new ones after `# Generated by CONFIG REWRITE`. Returns the
    /// full error line on failure.
    pub fn rewrite(&self) -> Result<(), String> {
        let Some(path) = self.file.clone() else {
            return Err("ERR The server is running without a config file".into());
        };
        let _guard = self.write_lock.lock();
        match self.rewrite_to(Path::new(&path)) {
            Ok(()) => {
                log::warning("CONFIG REWRITE executed with success.");
                Ok(())
            }
            Err(e) => {
                let msg = strerror(&e);
                log::warning(&format!("CONFIG REWRITE failed: {}", msg));
                Err(format!("ERR Rewriting config file: {}", msg))
            }
        }
    }

    /// The new file contents for `old` (Redis's rewriteConfig steps 1-4).
    fn rewrite_content(&self, old: &[u8]) -> Vec<u8> {
        let mut st = RewriteState::read(old);
        for i in 0..NPARAMS {
            self.rewrite_param(i, &mut st);
        }
        st.remove_orphaned();
        st.content()
    }

    fn rewrite_to(&self, path: &Path) -> std::io::Result<()> {
        let old = match std::fs::read(path) {
            Ok(v) => v,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        let content = self.rewrite_content(&old);
        overwrite_file(path, &content)
    }

    fn rewrite_param(&self, i: usize, st: &mut RewriteState) {
        let Some(p) = PARAMS.get(i) else {
            return;
        };
        let name = p.name;
        let line = |rest: &[u8]| {
            let mut l = name.as_bytes().to_vec();
            l.push(b' ');
            l.extend_from_slice(rest);
            l
        };
        match p.kind {
            Kind::Bool(def) => {
                let v = self.num(i) != 0;
                let yn: &[u8] = if v { b"yes" } else { b"no" };
                st.rewrite_line(name, line(yn), v != def);
            }
            Kind::Num { flags, .. } => {
                let v = self.num(i);
                let force = v != default_num(i);
                let text = if flags & PCT != 0 && v < 0 {
                    format!("{}%", v.unsigned_abs())
                } else if flags & MEM != 0 {
                    format_memory(v as u64)
                } else if flags & OCT != 0 {
                    format!("{:o}", v as u64)
                } else {
                    v.to_string()
                };
                st.rewrite_line(name, line(text.as_bytes()), force);
            }
            Kind::Enum {
                vals,
                def,
                bitflags,
                ..
            } => {
                let v = self.num(i);
                st.rewrite_line(
                    name,
                    line(enum_name(vals, v, bitflags).as_bytes()),
                    v != def,
                );
            }
            Kind::Str { def, .. } => match self.str_bytes(i) {
                None => st.mark(name),
                Some(v) => {
                    let force = def.map(|d| d.as_bytes() != v.as_slice()).unwrap_or(true);
                    st.rewrite_line(name, line(&repr(&v)), force);
                }
            },
            Kind::Special(s) => self.rewrite_special(s, i, name, st),
        }
    }

    fn rewrite_special(&self, s: Sp, i: usize, name: &'static str, st: &mut RewriteState) {
        let cur = self.str_bytes(i).unwrap_or_default();
        let mk = |rest: &[u8]| {
            let mut l = name.as_bytes().to_vec();
            l.push(b' ');
            l.extend_from_slice(rest);
            l
        };
        match s {
            Sp::Dir => {
                let d = current_dir_bytes();
                if d.is_empty() {
                    st.mark(name);
                } else {
                    st.rewrite_line(name, mk(&repr(&d)), true);
                }
            }
            Sp::Save => {
                let pairs = self.save_params();
                if pairs.is_empty() {
                    st.rewrite_line(name, b"save \"\"".to_vec(), true);
                } else {
                    for (secs, changes) in pairs {
                        st.rewrite_line(
                            name,
                            format!("save {} {}", secs, changes).into_bytes(),
                            true,
                        );
                    }
                }
                st.mark(name);
            }
            Sp::ClientOutputBufferLimit => {
                let v = parse_cobl_canonical(&cur);
                for (k, class) in ["normal", "replica", "pubsub"].iter().enumerate() {
                    let (Some(&(h, so, secs)), Some(&d)) = (v.get(k), DEFAULT_COBL.get(k)) else {
                        continue;
                    };
                    let force = (h, so, secs) != d;
                    let l = format!(
                        "{} {} {} {} {}",
                        name,
                        class,
                        format_memory(h),
                        format_memory(so),
                        secs
                    );
                    st.rewrite_line(name, l.into_bytes(), force);
                }
            }
            Sp::OomScoreAdjValues => {
                let vals: Vec<i64> = split_words(&cur)
                    .into_iter()
                    .filter_map(|w| std::str::from_utf8(w).ok()?.parse().ok())
                    .collect();
                let force = vals.as_slice() != DEFAULT_OOM.as_slice();
                st.rewrite_line(name, mk(&cur), force);
            }
            Sp::NotifyKeyspaceEvents => {
                st.rewrite_line(name, mk(&repr(&cur)), !cur.is_empty());
            }
            Sp::Bind => {
                if cur == DEFAULT_BIND.as_bytes() {
                    st.mark(name);
                } else if cur.is_empty() {
                    st.rewrite_line(name, mk(b"\"\""), true);
                } else {
                    st.rewrite_line(name, mk(&cur), true);
                }
            }
            Sp::ReplicaOf => {
                if self.cluster_enabled() || self.str_bytes(i).is_none() {
                    st.mark(name);
                } else {
                    st.rewrite_line(name, mk(&cur), true);
                }
            }
            Sp::LatencyPercentiles => {
                if cur.is_empty() {
                    st.rewrite_line(name, mk(b"\"\""), true);
                } else {
                    st.rewrite_line(name, mk(&cur), true);
                }
            }
        }
    }
}

fn current_dir_bytes() -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    std::env::current_dir()
        .map(|p| p.as_os_str().as_bytes().to_vec())
        .unwrap_or_default()
}

/// Writes `content` to a temporary file next to `path`, syncs it and
/// renames it over `path`.
fn overwrite_file(path: &Path, content: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut tmp_name = path.as_os_str().to_os_string();
    tmp_name.push(format!(".{:06x}", rand::random::<u32>() & 0xff_ffff));
    let tmp = PathBuf::from(tmp_name);
    let res = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(content)?;
        f.sync_all()?;
        f.set_permissions(std::fs::Permissions::from_mode(0o644))?;
        std::fs::rename(&tmp, path)
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}

/// Redis's rewriteConfigState.
struct RewriteState {
    lines: Vec<Vec<u8>>,
    option_to_line: HashMap<String, VecDeque<usize>>,
    rewritten: HashSet<String>,
    needs_signature: bool,
}

fn trim_line(l: &[u8]) -> &[u8] {
    let is_ws = |c: &u8| matches!(c, b' ' | b'\t' | b'\r' | b'\n');
    let start = l.iter().position(|c| !is_ws(c)).unwrap_or(l.len());
    let end = l
        .iter()
        .rposition(|c| !is_ws(c))
        .map(|p| p + 1)
        .unwrap_or(start);
    l.get(start..end.max(start)).unwrap_or(&[])
}

fn split_line(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut argv = Argv::default();
    split_args(line, &mut argv).ok()?;
    Some(
        argv.ranges
            .iter()
            .map(|&(s, e)| argv.inline.get(s..e).unwrap_or(&[]).to_vec())
            .collect(),
    )
}

impl RewriteState {
    fn read(old: &[u8]) -> RewriteState {
        let mut st = RewriteState {
            lines: Vec::new(),
            option_to_line: HashMap::new(),
            rewritten: HashSet::new(),
            needs_signature: true,
        };
        if old.is_empty() {
            return st;
        }
        for raw in old.split(|&c| c == b'\n') {
            let line = trim_line(raw).to_vec();
            let linenum = st.lines.len();
            if line.is_empty() || line.first() == Some(&b'#') {
                if st.needs_signature && line == REWRITE_SIGNATURE {
                    st.needs_signature = false;
                }
                st.lines.push(line);
                continue;
            }
            let argv = match split_line(&line) {
                Some(a) if !a.is_empty() => a,
                _ => {
                    let mut aux = b"# ??? ".to_vec();
                    aux.extend_from_slice(&line);
                    st.lines.push(aux);
                    continue;
                }
            };
            st.lines.push(line);
            let mut opt =
                String::from_utf8_lossy(argv.first().map(|a| a.as_slice()).unwrap_or(b""))
                    .to_ascii_lowercase();
            // An alias line is rewritten under the primary name.
            if let Some(e) = find_entry(opt.as_bytes()) {
                if let Some(p) = PARAMS.get(e.param) {
                    opt = p.name.to_string();
                }
            } else if let Some(p) = opt.find("slave") {
                opt.replace_range(p..p + 5, "replica");
            }
            st.option_to_line.entry(opt).or_default().push_back(linenum);
        }
        st
    }

    fn mark(&mut self, option: &str) {
        self.rewritten.insert(option.to_string());
    }

    fn rewrite_line(&mut self, option: &str, line: Vec<u8>, force: bool) {
        self.mark(option);
        let reuse = self
            .option_to_line
            .get_mut(option)
            .and_then(|l| l.pop_front());
        if let Some(l) = self.option_to_line.get(option) {
            if l.is_empty() {
                self.option_to_line.remove(option);
            }
        }
        match reuse {
            Some(n) => {
                if let Some(slot) = self.lines.get_mut(n) {
                    *slot = line;
                }
            }
            None if force => {
                if self.needs_signature {
                    self.lines.push(REWRITE_SIGNATURE.to_vec());
                    self.needs_signature = false;
                }
                self.lines.push(line);
            }
            None => {}
        }
    }

    fn remove_orphaned(&mut self) {
        for (opt, nums) in self.option_to_line.iter() {
            if !self.rewritten.contains(opt) {
                continue;
            }
            for &n in nums {
                if let Some(slot) = self.lines.get_mut(n) {
                    slot.clear();
                }
            }
        }
        let rewritten = &self.rewritten;
        self.option_to_line.retain(|k, _| !rewritten.contains(k));
    }

    fn content(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut was_empty = false;
        for l in &self.lines {
            if l.is_empty() {
                if was_empty {
                    continue;
                }
                was_empty = true;
            } else {
                was_empty = false;
            }
            out.extend_from_slice(l);
            out.push(b'\n');
        }
        out
    }
}

// ---------------------------------------------------------------------------
// Loading: command line, config files, includes
// ---------------------------------------------------------------------------

/// A fatal loading error.
#[derive(Debug, PartialEq)]
enum LoadError {
    /// Printed as Redis's FATAL CONFIG FILE ERROR block.
    Fatal {
        at: Option<(usize, Vec<u8>)>,
        msg: String,
    },
    /// Logged as a warning line, then exit 1.
    Logged(String),
}

/// Directives that older versions accepted and are now ignored.
const DEPRECATED: &[(&str, usize, usize)] = &[
    ("list-max-ziplist-entries", 2, 2),
    ("list-max-ziplist-value", 2, 2),
    ("lua-replicate-commands", 2, 2),
];

struct Loader {
    cfg: Config,
    save_loaded: bool,
    module_configs: Vec<Vec<u8>>,
    depth: usize,
    /// Command names as `rename-command` directives leave them (lowercase),
    /// built on the first directive.
    cmd_names: Option<std::collections::HashSet<Vec<u8>>>,
}

impl Loader {
    fn new(file: Option<String>) -> Loader {
        Loader {
            cfg: Config::new(file),
            save_loaded: false,
            module_configs: Vec::new(),
            depth: 0,
            cmd_names: None,
        }
    }

    /// Redis's loadServerConfigFromString.
    fn load_string(&mut self, text: &[u8]) -> Result<(), LoadError> {
        for (n, raw) in text.split(|&c| c == b'\n').enumerate() {
            let line = trim_line(raw);
            if line.is_empty() || line.first() == Some(&b'#') {
                continue;
            }
            let fatal = |msg: String| LoadError::Fatal {
                at: Some((n + 1, line.to_vec())),
                msg,
            };
            let Some(argv) = split_line(line) else {
                return Err(fatal("Unbalanced quotes in configuration line".into()));
            };
            let Some((name, args)) = argv.split_first() else {
                continue;
            };
            let name = name.to_ascii_lowercase();
            self.directive(&name, args).map_err(|e| match e {
                LoadError::Fatal { at: None, msg } => fatal(msg),
                other => other,
            })?;
        }
        let logfile = self.cfg.logfile();
        if !logfile.is_empty() {
            if let Err(e) = std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(&logfile)
            {
                return Err(LoadError::Fatal {
                    at: None,
                    msg: format!("Can't open the log file: {}", strerror(&e)),
                });
            }
        }
        if self.cfg.cluster_enabled() && self.cfg.str_bytes(I_REPLICAOF).is_some() {
            return Err(LoadError::Fatal {
                at: None,
                msg: "replicaof directive not allowed in cluster mode".into(),
            });
        }
        Ok(())
    }

    /// One directive; errors without a position get the current line.
    fn directive(&mut self, name: &[u8], args: &[Vec<u8>]) -> Result<(), LoadError> {
        let err = |m: &str| LoadError::Fatal {
            at: None,
            msg: m.to_string(),
        };
        let argc = args.len() + 1;
        if let Some(e) = find_entry(name) {
            let i = e.param;
            let multi = PARAMS
                .get(i)
                .map(|p| p.flags & MULTI_ARG != 0)
                .unwrap_or(false);
            if !multi && argc != 2 {
                return Err(err("wrong number of arguments"));
            }
            let args: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
            let append = i == I_SAVE && self.save_loaded;
            let v = self.cfg.parse(i, &args, append).map_err(|m| err(&m))?;
            self.cfg.store(i, v).map_err(|m| err(&m))?;
            if i == I_SAVE {
                self.save_loaded = true;
            }
            return Ok(());
        }
        if DEPRECATED
            .iter()
            .any(|&(n, lo, hi)| n.as_bytes() == name && (lo..=hi).contains(&argc))
        {
            return Ok(());
        }
        match name {
            b"include" if argc == 2 => {
                let path = args.first().cloned().unwrap_or_default();
                self.include(&path)
            }
            b"rename-command" if argc == 3 => {
                if let [from, to] = args {
                    // As Redis: the command must exist under that name at
                    // this point of the file, and the new name must be free.
                    let names = self.cmd_names.get_or_insert_with(|| {
                        crate::cmdmeta::all()
                            .iter()
                            .map(|m| m.name.as_bytes().to_vec())
                            .collect()
                    });
                    if !names.remove(&from.to_ascii_lowercase()) {
                        return Err(LoadError::Fatal {
                            at: None,
                            msg: "No such command in rename-command".into(),
                        });
                    }
                    if !to.is_empty() && !names.insert(to.to_ascii_lowercase()) {
                        return Err(LoadError::Fatal {
                            at: None,
                            msg: "Target command name already exists".into(),
                        });
                    }
                    self.cfg.renames.push((from.clone(), to.clone()));
                }
                Ok(())
            }
            b"user" if argc >= 2 => {
                self.cfg.users.push(args.to_vec());
                Ok(())
            }
            b"loadmodule" if argc >= 2 => Err(LoadError::Logged(format!(
                "Module {} failed to load: modules are not supported",
                String::from_utf8_lossy(args.first().map(|a| a.as_slice()).unwrap_or(b""))
            ))),
            _ if name.contains(&b'.') => {
                if argc != 2 {
                    return Err(err("Module config specified without value"));
                }
                self.module_configs.push(name.to_vec());
                Ok(())
            }
            b"sentinel" => {
                if argc != 1 {
                    return Err(err("sentinel directive while not in sentinel mode"));
                }
                Ok(())
            }
            _ => Err(err("Bad directive or wrong number of arguments")),
        }
    }

    /// `include <path>`: a path with `*`, `?` or `[` is a glob (no match is
    /// fine); otherwise the file must exist.
    fn include(&mut self, path: &[u8]) -> Result<(), LoadError> {
        use std::os::unix::ffi::OsStrExt;
        if self.depth > 32 {
            return Err(LoadError::Logged(format!(
                "Fatal error, can't open config file '{}': Too many levels of includes",
                String::from_utf8_lossy(path)
            )));
        }
        let files = if path.iter().any(|c| matches!(c, b'*' | b'?' | b'[')) {
            expand_glob(path)
        } else {
            vec![PathBuf::from(std::ffi::OsStr::from_bytes(path))]
        };
        let mut text = Vec::new();
        for f in files {
            let data = std::fs::read(&f).map_err(|e| {
                LoadError::Logged(format!(
                    "Fatal error, can't open config file '{}': {}",
                    f.display(),
                    strerror(&e)
                ))
            })?;
            text.extend_from_slice(&data);
        }
        self.depth += 1;
        let r = self.load_string(&text);
        self.depth -= 1;
        r
    }
}

/// Expands a glob(3)-style pattern (wildcards allowed in any path
/// component; a leading `.` must be matched explicitly), sorted.
fn expand_glob(pattern: &[u8]) -> Vec<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let absolute = pattern.first() == Some(&b'/');
    let mut cur: Vec<PathBuf> = vec![if absolute {
        PathBuf::from("/")
    } else {
        PathBuf::new()
    }];
    for comp in pattern.split(|&c| c == b'/').filter(|c| !c.is_empty()) {
        let wild = comp.iter().any(|c| matches!(c, b'*' | b'?' | b'['));
        let mut next = Vec::new();
        for base in &cur {
            if !wild {
                next.push(base.join(std::ffi::OsStr::from_bytes(comp)));
                continue;
            }
            let dir = if base.as_os_str().is_empty() {
                Path::new(".")
            } else {
                base.as_path()
            };
            let Ok(rd) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut names: Vec<Vec<u8>> = rd
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().as_bytes().to_vec())
                .filter(|n| n.first() != Some(&b'.') || comp.first() == Some(&b'.'))
                .filter(|n| glob_match(comp, n, false))
                .collect();
            names.sort();
            for n in names {
                next.push(base.join(std::ffi::OsStr::from_bytes(&n)));
            }
        }
        cur = next;
    }
    let mut out: Vec<PathBuf> = cur.into_iter().filter(|p| p.exists()).collect();
    out.sort();
    out
}

/// Builds the option text redis-server appends after the config file:
/// each `--name` starts a new line, the following arguments are its
/// (quoted) values. Returns (options, read-config-from-stdin).
fn command_line_options(args: &[String], start: usize) -> (Vec<u8>, bool) {
    let mut options: Vec<u8> = Vec::new();
    let mut from_stdin = false;
    let mut handled_last = true;
    let last = args.len().saturating_sub(1);
    for (j, a) in args.iter().enumerate().skip(start) {
        let ab = a.as_bytes();
        let next_is_opt = args.get(j + 1).is_some_and(|n| n.starts_with("--"));
        if ab == b"-" && (j == 0 || j == last) {
            from_stdin = true;
        } else if handled_last && ab.starts_with(b"--") {
            if !options.is_empty() {
                options.push(b'\n');
            }
            options.extend_from_slice(ab.get(2..).unwrap_or(b""));
            options.push(b' ');
            let argc_tmp = split_line(ab).map(|v| v.len()).unwrap_or(0);
            if argc_tmp == 1 {
                handled_last = false;
                let is_save = a.eq_ignore_ascii_case("--save");
                let is_sentinel = a.eq_ignore_ascii_case("--sentinel");
                if j != last && next_is_opt && is_save {
                    options.extend_from_slice(b"\"\"");
                    handled_last = true;
                } else if j == last && is_save {
                    options.extend_from_slice(b"\"\"");
                } else if j != last && next_is_opt && is_sentinel {
                    handled_last = true;
                }
            } else {
                handled_last = true;
            }
        } else {
            options.extend_from_slice(&repr(ab));
            options.push(b' ');
            handled_last = true;
        }
    }
    (options, from_stdin)
}

const USAGE: &str = "Usage: ./spinel-server [/path/to/redis.conf] [options] [-]
       ./spinel-server - (read config from stdin)
       ./spinel-server -v or --version
       ./spinel-server -h or --help

Examples:
       ./spinel-server (run the server with default conf)
       echo 'maxmemory 128mb' | ./spinel-server -
       ./spinel-server /etc/redis/6379.conf
       ./spinel-server --port 7777
       ./spinel-server --port 7777 --replicaof 127.0.0.1 8888
       ./spinel-server /etc/myredis.conf --loglevel verbose -
       ./spinel-server /etc/myredis.conf --loglevel verbose
";

/// The `--version` line.
pub fn version_line() -> String {
    format!(
        "Spinel server v={} sha=00000000:0 malloc=libc bits=64 build=0",
        env!("CARGO_PKG_VERSION")
    )
}

/// Outcome of [`load`] besides a configuration.
#[derive(Debug, PartialEq)]
enum Early {
    Version,
    Usage,
}

/// Parses the command line and loads the configuration, without printing.
fn load(args: &[String], stdin: &mut dyn Read) -> Result<Result<Config, Early>, LoadError> {
    use std::os::unix::ffi::OsStrExt;
    if let Some(first) = args.first() {
        if first == "-v" || first == "--version" {
            return Ok(Err(Early::Version));
        }
        if first == "--help" || first == "-h" {
            return Ok(Err(Early::Usage));
        }
    }
    let mut start = 0;
    let mut file: Option<String> = None;
    if let Some(first) = args.first() {
        if !first.starts_with('-') {
            let abs = std::path::absolute(first)
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_else(|_| first.clone());
            file = Some(abs);
            start = 1;
        }
    }
    let (options, from_stdin) = command_line_options(args, start);
    let mut text: Vec<u8> = Vec::new();
    if let Some(f) = &file {
        let data = std::fs::read(std::ffi::OsStr::from_bytes(f.as_bytes())).map_err(|e| {
            LoadError::Logged(format!(
                "Fatal error, can't open config file '{}': {}",
                f,
                strerror(&e)
            ))
        })?;
        text.extend_from_slice(&data);
    }
    if from_stdin {
        log::log_with_role(b'C', log::Level::Warning, "Reading config from stdin");
        let mut buf = Vec::new();
        let _ = stdin.read_to_end(&mut buf);
        text.extend_from_slice(&buf);
    }
    text.push(b'\n');
    text.extend_from_slice(&options);
    let mut loader = Loader::new(file);
    loader.load_string(&text)?;
    if !loader.module_configs.is_empty() {
        return Err(LoadError::Logged(
            "Module Configuration detected without loadmodule directive or no ApplyConfig call: aborting"
                .into(),
        ));
    }
    Ok(Ok(loader.cfg))
}

fn fatal_report(err: &LoadError) -> Vec<u8> {
    let mut out = Vec::new();
    if let LoadError::Fatal { at, msg } = err {
        out.extend_from_slice(
            format!(
                "\n*** FATAL CONFIG FILE ERROR (Redis {}) ***\n",
                crate::server::VERSION
            )
            .as_bytes(),
        );
        if let Some((n, line)) = at {
            out.extend_from_slice(
                format!("Reading the configuration file, at line {}\n", n).as_bytes(),
            );
            out.extend_from_slice(b">>> '");
            out.extend_from_slice(line);
            out.extend_from_slice(b"'\n");
        }
        out.extend_from_slice(msg.as_bytes());
        out.push(b'\n');
    }
    out
}

/// `spinel-server [configfile] [--directive value ...]`, as redis-server:
/// prints the version, usage or a config error itself.
pub fn from_args(args: &[String]) -> Startup {
    match load(args, &mut std::io::stdin()) {
        Ok(Ok(cfg)) => Startup::Run(cfg),
        Ok(Err(Early::Version)) => {
            println!("{}", version_line());
            Startup::Exit(0)
        }
        Ok(Err(Early::Usage)) => {
            eprint!("{}", USAGE);
            Startup::Exit(1)
        }
        Err(e @ LoadError::Fatal { .. }) => {
            let _ = std::io::stderr().write_all(&fatal_report(&e));
            Startup::Exit(1)
        }
        Err(LoadError::Logged(msg)) => {
            log::log_with_role(b'C', log::Level::Warning, &msg);
            Startup::Exit(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "spinel-config-test-{}-{}-{}",
            std::process::id(),
            tag,
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn args(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn load_args(v: &[&str]) -> Result<Config, LoadError> {
        match load(&args(v), &mut std::io::empty()) {
            Ok(Ok(c)) => Ok(c),
            Ok(Err(e)) => panic!("unexpected early exit {:?}", e),
            Err(e) => Err(e),
        }
    }

    fn load_text(text: &str) -> Result<Config, LoadError> {
        let mut l = Loader::new(None);
        l.load_string(text.as_bytes())?;
        Ok(l.cfg)
    }

    fn fatal(e: LoadError) -> String {
        String::from_utf8(fatal_report(&e)).unwrap()
    }

    fn get(c: &Config, name: &str) -> String {
        c.get_string(name).unwrap()
    }

    fn set(c: &Config, pairs: &[(&str, &str)]) -> Result<Vec<String>, String> {
        let p: Vec<(&[u8], &[u8])> = pairs
            .iter()
            .map(|(a, b)| (a.as_bytes(), b.as_bytes()))
            .collect();
        c.set_many(&p)
    }

    #[test]
    fn table_is_consistent() {
        let mut seen = HashSet::new();
        for p in PARAMS {
            assert!(seen.insert(p.name), "duplicate {}", p.name);
            if let Some(a) = p.alias {
                assert!(seen.insert(a), "duplicate alias {}", a);
            }
            assert_eq!(p.name, p.name.to_ascii_lowercase());
        }
        // Every default passes its own validation.
        let c = Config::default();
        for (i, p) in PARAMS.iter().enumerate() {
            if matches!(p.kind, Kind::Special(Sp::Dir | Sp::ReplicaOf)) {
                continue;
            }
            let v = c.value_bytes(i);
            let multi = p.flags & MULTI_ARG != 0;
            let args: Vec<&[u8]> = if multi {
                if v.is_empty() {
                    vec![]
                } else {
                    v.split(|&c| c == b' ').collect()
                }
            } else {
                vec![&v[..]]
            };
            let parsed = c.parse(i, &args, false);
            assert!(parsed.is_ok(), "{}: {:?}", p.name, parsed);
        }
    }

    #[test]
    fn defaults_match_redis() {
        let c = Config::default();
        // CONFIG GET * of Redis 7.2 (values that do not depend on the host).
        let expect = [
            ("port", "6379"),
            ("bind", "* -::*"),
            ("protected-mode", "yes"),
            ("requirepass", ""),
            ("databases", "16"),
            ("dbfilename", "dump.rdb"),
            ("save", "3600 1 300 100 60 10000"),
            ("appendonly", "no"),
            ("appendfilename", "appendonly.aof"),
            ("appenddirname", "appendonlydir"),
            ("appendfsync", "everysec"),
            ("maxclients", "10000"),
            ("timeout", "0"),
            ("tcp-keepalive", "300"),
            ("tcp-backlog", "511"),
            ("loglevel", "notice"),
            ("logfile", ""),
            ("pidfile", ""),
            ("daemonize", "no"),
            ("hz", "10"),
            ("proto-max-bulk-len", "536870912"),
            ("client-query-buffer-limit", "1073741824"),
            ("busy-reply-threshold", "5000"),
            ("lua-time-limit", "5000"),
            ("maxmemory", "0"),
            ("maxmemory-policy", "noeviction"),
            ("maxmemory-samples", "5"),
            ("maxmemory-eviction-tenacity", "10"),
            ("lfu-log-factor", "10"),
            ("lfu-decay-time", "1"),
            ("notify-keyspace-events", ""),
            ("list-max-listpack-size", "-2"),
            ("list-max-ziplist-size", "-2"),
            ("list-compress-depth", "0"),
            ("hash-max-listpack-entries", "512"),
            ("hash-max-ziplist-entries", "512"),
            ("hash-max-listpack-value", "64"),
            ("set-max-intset-entries", "512"),
            ("set-max-listpack-entries", "128"),
            ("set-max-listpack-value", "64"),
            ("zset-max-listpack-entries", "128"),
            ("zset-max-listpack-value", "64"),
            ("stream-node-max-bytes", "4096"),
            ("stream-node-max-entries", "100"),
            ("slowlog-log-slower-than", "10000"),
            ("slowlog-max-len", "128"),
            ("latency-monitor-threshold", "0"),
            (
                "client-output-buffer-limit",
                "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
            ),
            ("oom-score-adj-values", "0 200 800"),
            ("oom-score-adj", "no"),
            ("latency-tracking-info-percentiles", "50 99 99.9"),
            ("enable-debug-command", "no"),
            ("enable-protected-configs", "no"),
            ("replicaof", ""),
            ("slaveof", ""),
            ("slave-read-only", "yes"),
            ("unixsocketperm", "0"),
            ("maxmemory-clients", "0"),
            ("auto-aof-rewrite-min-size", "67108864"),
            ("repl-backlog-size", "1048576"),
            ("shutdown-on-sigint", "default"),
            ("proc-title-template", "{title} {listen-addr} {server-mode}"),
            ("syslog-ident", "redis"),
            ("io-threads", "1"),
            ("lazyfree-lazy-user-flush", "no"),
        ];
        for (k, v) in expect {
            assert_eq!(get(&c, k), v, "{}", k);
        }
        assert_eq!(c.threads() as i64, cpu_count());
        assert_eq!(get(&c, "dir"), c.dir());
        assert!(c.dir().starts_with('/'));
        // 196 Redis 7.2 names (with aliases, without hidden ones) + threads.
        assert_eq!(c.get_matching(&[b"*"]).len(), 197);
    }

    #[test]
    fn number_parsers() {
        assert_eq!(string2ll(b"0"), Some(0));
        assert_eq!(string2ll(b"-12"), Some(-12));
        assert_eq!(string2ll(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(string2ll(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            "",
            "01",
            "+1",
            " 1",
            "1 ",
            "-0",
            "9223372036854775808",
            "1a",
            "-",
        ] {
            assert_eq!(string2ll(bad.as_bytes()), None, "{:?}", bad);
        }
        assert_eq!(memtoull(b"1k"), Some(1000));
        assert_eq!(memtoull(b"1KB"), Some(1024));
        assert_eq!(memtoull(b"2m"), Some(2_000_000));
        assert_eq!(memtoull(b"2Mb"), Some(2 * 1024 * 1024));
        assert_eq!(memtoull(b"1g"), Some(1_000_000_000));
        assert_eq!(memtoull(b"1gB"), Some(1 << 30));
        assert_eq!(memtoull(b"100"), Some(100));
        assert_eq!(memtoull(b"7b"), Some(7));
        assert_eq!(memtoull(b""), Some(0));
        assert_eq!(memtoull(b"99999999999999999999999"), Some(u64::MAX));
        for bad in ["-1", "1.5gb", "1t", "abc", "1 k"] {
            assert_eq!(memtoull(bad.as_bytes()), None, "{:?}", bad);
        }
        assert_eq!(c_strtoll(b"", 10, false), Some(0));
        assert_eq!(c_strtoll(b" +5", 10, false), Some(5));
        assert_eq!(c_strtoll(b"5 ", 10, false), None);
        assert_eq!(c_strtoll(b"  ", 10, false), None);
        assert_eq!(c_strtoll(b"777", 8, true), Some(0o777));
        assert_eq!(c_strtoll(b"8", 8, true), None);
        assert_eq!(
            c_strtoll(b"99999999999999999999", 10, false),
            Some(i64::MAX)
        );
        assert_eq!(c_strtoll(b"99999999999999999999", 10, true), None);
    }

    #[test]
    fn repr_quotes_like_redis() {
        assert_eq!(repr(b"a\"b"), b"\"a\\\"b\"".to_vec());
        assert_eq!(
            repr(b"x\\y\n\r\t\x07\x08\x01\xff"),
            b"\"x\\\\y\\n\\r\\t\\a\\b\\x01\\xff\"".to_vec()
        );
        assert_eq!(repr(b""), b"\"\"".to_vec());
    }

    #[test]
    fn config_set_value_errors() {
        let c = Config::default();
        let cases = [
            ("port", "abc", "argument couldn't be parsed into an integer"),
            ("port", "70000", "argument must be between 0 and 65535 inclusive"),
            ("timeout", " 1", "argument couldn't be parsed into an integer"),
            ("timeout", "01", "argument couldn't be parsed into an integer"),
            ("appendonly", "maybe", "argument must be 'yes' or 'no'"),
            ("maxmemory", "abc", "argument must be a memory value"),
            ("maxmemory", "-1", "argument must be a memory value"),
            (
                "proto-max-bulk-len",
                "99999999999999999999999",
                "argument must be between 1048576 and 9223372036854775807 inclusive",
            ),
            (
                "maxclients",
                "0",
                "argument must be between 1 and 4294967295 inclusive",
            ),
            (
                "hash-max-listpack-entries",
                "-1",
                "argument must be between 0 and 9223372036854775807 inclusive",
            ),
            (
                "slowlog-max-len",
                "-1",
                "argument must be between 0 and 9223372036854775807 inclusive",
            ),
            (
                "slowlog-log-slower-than",
                "-2",
                "argument must be between -1 and 9223372036854775807 inclusive",
            ),
            (
                "maxmemory-clients",
                "200%",
                "percentage argument must be less or equal to 100",
            ),
            (
                "maxmemory-clients",
                "x%",
                "argument must be a memory or percent value",
            ),
            (
                "loglevel",
                "foo",
                "argument(s) must be one of the following: debug, verbose, notice, warning, nothing",
            ),
            (
                "shutdown-on-sigint",
                "save nosave",
                "shutdown options SAVE and NOSAVE can't be used simultaneously",
            ),
            (
                "shutdown-on-sigint",
                "foo",
                "argument(s) must be one of the following: default, save, nosave, now, force",
            ),
            (
                "notify-keyspace-events",
                "Kq",
                "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.",
            ),
            ("save", "100 1 200", "Invalid save parameters"),
            ("save", "0 1", "Invalid save parameters"),
            ("save", "100 1  200 2", "Invalid save parameters"),
            (
                "client-output-buffer-limit",
                "master 1 2 3",
                "Invalid client class specified in buffer limit configuration.",
            ),
            (
                "client-output-buffer-limit",
                "normal 1 2",
                "Wrong number of arguments in buffer limit configuration.",
            ),
            (
                "client-output-buffer-limit",
                "normal x 2 3",
                "Error in hard, soft or soft_seconds setting in buffer limit configuration.",
            ),
            (
                "oom-score-adj-values",
                "0 200 5000",
                "Invalid oom-score-adj-values, elements must be between -2000 and 2000.",
            ),
            ("oom-score-adj-values", "1 2", "wrong number of arguments"),
            (
                "maxmemory-samples",
                "100",
                "argument must be between 1 and 64 inclusive",
            ),
            (
                "proc-title-template",
                "{title} {foo}",
                "template format is invalid or contains unknown variables",
            ),
            (
                "proc-title-template",
                "{title} {port",
                "template format is invalid or contains unknown variables",
            ),
            (
                "cluster-announce-hostname",
                "a_b",
                "Hostnames may only contain alphanumeric characters, hyphens or dots",
            ),
            ("locale-collate", "xx-nonexistent", "Invalid locale name"),
            (
                "latency-tracking-info-percentiles",
                "50 101",
                "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]",
            ),
            (
                "latency-tracking-info-percentiles",
                "a",
                "Invalid latency-tracking-info-percentiles parameters",
            ),
        ];
        for (name, value, err) in cases {
            assert_eq!(
                set(&c, &[(name, value)]),
                Err(format!(
                    "ERR CONFIG SET failed (possibly related to argument '{}') - {}",
                    name, err
                )),
                "{} {}",
                name,
                value
            );
        }
        // Nothing changed.
        assert_eq!(get(&c, "port"), "6379");
        assert_eq!(get(&c, "save"), DEFAULT_SAVE);
    }

    #[test]
    fn config_set_name_errors() {
        let c = Config::default();
        assert_eq!(
            set(&c, &[("foo", "1"), ("port", "2")]),
            Err("ERR Unknown option or number of arguments for CONFIG SET - 'foo'".into())
        );
        assert_eq!(
            set(&c, &[("Databases", "2")]),
            Err("ERR CONFIG SET failed (possibly related to argument 'Databases') - can't set immutable config".into())
        );
        assert_eq!(
            set(&c, &[("dir", "/tmp")]),
            Err("ERR CONFIG SET failed (possibly related to argument 'dir') - can't set protected config".into())
        );
        assert_eq!(
            set(&c, &[("dbfilename", "x.rdb")]),
            Err("ERR CONFIG SET failed (possibly related to argument 'dbfilename') - can't set protected config".into())
        );
        assert_eq!(
            set(&c, &[("port", "7"), ("PORT", "8")]),
            Err(
                "ERR CONFIG SET failed (possibly related to argument 'PORT') - duplicate parameter"
                    .into()
            )
        );
        assert_eq!(
            set(&c, &[("list-max-ziplist-entries", "1")]),
            Err("ERR Unknown option or number of arguments for CONFIG SET - 'list-max-ziplist-entries'".into())
        );
        // An alias and its primary name are distinct entries (as in Redis).
        assert!(set(
            &c,
            &[("replica-read-only", "yes"), ("slave-read-only", "no")]
        )
        .is_ok());
        assert_eq!(get(&c, "replica-read-only"), "no");
        // The error names the parameter as registered (alias here).
        assert_eq!(
            set(&c, &[("slave-priority", "x")]),
            Err("ERR CONFIG SET failed (possibly related to argument 'slave-priority') - argument couldn't be parsed into an integer".into())
        );
    }

    #[test]
    fn config_set_normalises_values() {
        let c = Config::default();
        let ok = |pairs: &[(&str, &str)]| set(&c, pairs).unwrap();
        ok(&[("notify-keyspace-events", "KEA")]);
        assert_eq!(get(&c, "notify-keyspace-events"), "AKE");
        ok(&[("notify-keyspace-events", "Kdn")]);
        assert_eq!(get(&c, "notify-keyspace-events"), "dnK");
        ok(&[("notify-keyspace-events", "KEAmn")]);
        assert_eq!(get(&c, "notify-keyspace-events"), "AKEm");
        ok(&[("notify-keyspace-events", "")]);
        assert_eq!(get(&c, "notify-keyspace-events"), "");
        ok(&[("maxmemory", "1K")]);
        assert_eq!(get(&c, "maxmemory"), "1000");
        assert_eq!(c.maxmemory(), 1000);
        ok(&[("maxmemory", "")]);
        assert_eq!(get(&c, "maxmemory"), "0");
        ok(&[("maxmemory", "99999999999999999999999")]);
        assert_eq!(get(&c, "maxmemory"), "18446744073709551615");
        ok(&[("maxmemory", "2gb")]);
        assert_eq!(c.maxmemory(), 2 << 30);
        ok(&[("hz", "0")]);
        assert_eq!(get(&c, "hz"), "1");
        ok(&[("hz", "1000")]);
        assert_eq!(c.hz(), 500);
        ok(&[("maxmemory-clients", "10%")]);
        assert_eq!(get(&c, "maxmemory-clients"), "10%");
        ok(&[("oom-score-adj", "relative")]);
        assert_eq!(get(&c, "oom-score-adj"), "yes");
        ok(&[("shutdown-on-sigint", "now save")]);
        assert_eq!(get(&c, "shutdown-on-sigint"), "save now");
        assert_eq!(c.shutdown_on_sigint(), SHUTDOWN_SAVE | SHUTDOWN_NOW);
        ok(&[("shutdown-on-sigint", "default now")]);
        assert_eq!(get(&c, "shutdown-on-sigint"), "now");
        ok(&[(
            "client-output-buffer-limit",
            "normal 1kb 2mb 3 replica 1 2 3",
        )]);
        assert_eq!(
            get(&c, "client-output-buffer-limit"),
            "normal 1024 2097152 3 slave 1 2 3 pubsub 33554432 8388608 60"
        );
        assert_eq!(
            c.client_output_buffer_limits(),
            [(1024, 2 << 20, 3), (1, 2, 3), (32 << 20, 8 << 20, 60)]
        );
        ok(&[("latency-tracking-info-percentiles", "50 99.90 100")]);
        assert_eq!(get(&c, "latency-tracking-info-percentiles"), "50 99.9 100");
        ok(&[("bind", "127.0.0.1 ::1")]);
        assert_eq!(c.bind(), vec!["127.0.0.1".to_string(), "::1".to_string()]);
        ok(&[("save", "100 1 200 2")]);
        assert_eq!(c.save_params(), vec![(100, 1), (200, 2)]);
        ok(&[("save", "")]);
        assert_eq!(get(&c, "save"), "");
        ok(&[("loglevel", "NOTICE")]);
        assert_eq!(get(&c, "loglevel"), "notice");
        ok(&[("appendonly", "YES")]);
        assert_eq!(get(&c, "appendonly"), "yes");
        ok(&[("requirepass", "secret")]);
        assert_eq!(c.requirepass(), Some(b"secret".to_vec()));
        ok(&[("requirepass", "")]);
        assert_eq!(c.requirepass(), None);
        assert!(is_sensitive(b"requirepass"));
        assert!(is_sensitive(b"MASTERAUTH"));
        assert!(!is_sensitive(b"port"));
    }

    #[test]
    fn config_set_reports_changes_and_is_atomic() {
        let c = Config::default();
        assert_eq!(
            set(
                &c,
                &[
                    ("timeout", "5"),
                    ("maxclients", "10000"),
                    ("lua-time-limit", "7")
                ]
            ),
            Ok(vec![
                "timeout".to_string(),
                "busy-reply-threshold".to_string()
            ])
        );
        assert_eq!(c.timeout(), 5);
        assert_eq!(c.busy_reply_threshold(), 7);
        // The second value is invalid: the first is not applied.
        assert!(set(&c, &[("timeout", "9"), ("port", "x")]).is_err());
        assert_eq!(c.timeout(), 5);
        // A failing apply hook restores everything.
        let p: Vec<(&[u8], &[u8])> = vec![(b"timeout", b"11"), (b"port", b"1234")];
        let mut calls = Vec::new();
        let r = c.set_many_ext(&p, false, &mut |n| {
            calls.push(n.to_string());
            if n == "port" && c.port() == 1234 {
                Err("Unable to listen on this port. Check server logs.".into())
            } else {
                Ok(())
            }
        });
        assert_eq!(
            r,
            Err("ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port. Check server logs.".into())
        );
        assert_eq!(c.timeout(), 5);
        assert_eq!(c.port(), 6379);
        assert_eq!(calls, vec!["timeout", "port", "timeout", "port"]);
        // Protected configs under `enable-protected-configs local`.
        let c = load_text("enable-protected-configs local\n").unwrap();
        let p: Vec<(&[u8], &[u8])> = vec![(b"dbfilename", b"x.rdb")];
        assert!(c.set_many_ext(&p, false, &mut |_| Ok(())).is_err());
        assert!(c.set_many_ext(&p, true, &mut |_| Ok(())).is_ok());
        assert_eq!(c.dbfilename(), "x.rdb");
    }

    #[test]
    fn config_get_patterns() {
        let c = Config::default();
        let g = |pats: &[&str]| {
            let p: Vec<&[u8]> = pats.iter().map(|s| s.as_bytes()).collect();
            c.get_matching(&p)
        };
        let kv = |k: &str, v: &str| (k.to_string(), v.to_string());
        assert_eq!(g(&["PORT"]), vec![kv("PORT", "6379")]);
        assert_eq!(g(&["port", "PORT", "po*"]), vec![kv("port", "6379")]);
        assert_eq!(g(&["nosuch"]), vec![]);
        assert_eq!(g(&["*slave-read*"]), vec![kv("slave-read-only", "yes")]);
        assert_eq!(
            g(&["*-read-only"]),
            vec![kv("replica-read-only", "yes"), kv("slave-read-only", "yes")]
        );
        assert_eq!(g(&["LIST-MAX-*"]).len(), 2);
        // Hidden parameters need the exact name.
        assert_eq!(g(&["rdb-key*"]), vec![]);
        assert_eq!(
            g(&["rdb-key-save-delay"]),
            vec![kv("rdb-key-save-delay", "0")]
        );
        assert_eq!(g(&["requirepass"]), vec![kv("requirepass", "")]);
        assert_eq!(
            g(&["maxmemory-p*", "maxmemory-policy"]),
            vec![kv("maxmemory-policy", "noeviction")]
        );
    }

    #[test]
    fn typed_getters_and_get_i64() {
        let c = load_text(
            "port 7000\nthreads 3\nslowlog-max-len 5\nmaxmemory-policy allkeys-lfu\nunixsocketperm 700\nlfu-decay-time 4\n",
        )
        .unwrap();
        assert_eq!(c.port(), 7000);
        assert_eq!(c.threads(), 3);
        assert_eq!(c.slowlog_max_len(), 5);
        assert_eq!(c.get_i64("slowlog-max-len"), Some(5));
        assert_eq!(c.get_i64("SLOWLOG-MAX-LEN"), Some(5));
        assert_eq!(c.get_i64("lfu-decay-time"), Some(4));
        assert_eq!(c.get_i64("protected-mode"), Some(1));
        assert_eq!(c.get_i64("dir"), None);
        assert_eq!(c.get_i64("nosuch"), None);
        assert_eq!(c.get_bool("protected-mode"), Some(true));
        assert_eq!(c.get_enum("maxmemory-policy"), Some("allkeys-lfu"));
        assert_eq!(c.maxmemory_policy(), "allkeys-lfu");
        assert_eq!(c.unixsocketperm(), 0o700);
        assert_eq!(get(&c, "unixsocketperm"), "700");
        assert_eq!(c.loglevel(), "notice");
        assert_eq!(c.pidfile(), None);
        assert_eq!(c.replicaof(), None);
        let c = load_text("replicaof 10.0.0.1 6380\n").unwrap();
        assert_eq!(c.replicaof(), Some(("10.0.0.1".to_string(), 6380)));
        assert_eq!(get(&c, "slaveof"), "10.0.0.1 6380");
    }

    #[test]
    fn file_syntax() {
        let c = load_text(
            "# comment\n\n   port 7001  \r\nPORT 7002\nrequirepass \"a b\\x41\\n\"\nbind 127.0.0.1 ::1\nsave 100 1\nsave 200 2\nsave 300 3\n  # indented comment\nlist-max-ziplist-entries 1\nlua-replicate-commands yes\nrename-command FLUSHALL \"\"\nuser default on nopass ~* +@all\n",
        )
        .unwrap();
        assert_eq!(c.port(), 7002);
        assert_eq!(c.requirepass(), Some(b"a bA\n".to_vec()));
        assert_eq!(c.bind(), vec!["127.0.0.1", "::1"]);
        assert_eq!(get(&c, "save"), "100 1 200 2 300 3");
        assert_eq!(
            c.rename_commands(),
            &[(b"FLUSHALL".to_vec(), Vec::new())][..]
        );
        assert_eq!(c.users().len(), 1);
        // `save ""` clears, later lines append.
        let c = load_text("save \"\"\nsave 60 1\n").unwrap();
        assert_eq!(get(&c, "save"), "60 1");
        let c = load_text("save \"\"\n").unwrap();
        assert_eq!(get(&c, "save"), "");
        // bind "" listens nowhere.
        let c = load_text("bind \"\"\n").unwrap();
        assert!(c.bind().is_empty());
        // hz is clamped after loading.
        let c = load_text("hz 100000\n").unwrap();
        assert_eq!(c.hz(), 500);
    }

    #[test]
    fn file_errors() {
        let e = load_text("port 7000\nport 1 2\n").unwrap_err();
        assert_eq!(
            fatal(e),
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.2.4) ***\nReading the configuration file, at line 2\n>>> 'port 1 2'\nwrong number of arguments\n"
        );
        let cases = [
            ("loglevel foo", "argument(s) must be one of the following: debug, verbose, notice, warning, nothing"),
            ("maxmemory abc", "argument must be a memory value"),
            ("appendonly maybe", "argument must be 'yes' or 'no'"),
            ("port 70000", "argument must be between 0 and 65535 inclusive"),
            ("port \"abc", "Unbalanced quotes in configuration line"),
            ("nosuch 1", "Bad directive or wrong number of arguments"),
            ("include", "Bad directive or wrong number of arguments"),
            ("foo.bar 1 2", "Module config specified without value"),
            ("unixsocketperm 999", "argument couldn't be parsed as an octal number"),
            ("replicaof 127.0.0.1 99999", "Invalid master port"),
            ("replicaof 127.0.0.1", "wrong number of arguments"),
            ("dbfilename a/b", "dbfilename can't be a path, just a filename"),
            ("appendfilename \"\"", "appendfilename can't be empty"),
            ("activedefrag yes", "Active defragmentation cannot be enabled: it requires a Redis server compiled with a modified Jemalloc like the one shipped by default with the Redis source distribution"),
            ("sentinel monitor x", "sentinel directive while not in sentinel mode"),
            ("dir /nonexistent-spinel-dir", "No such file or directory"),
        ];
        for (line, msg) in cases {
            let e = load_text(&format!("# x\n{}\n", line)).unwrap_err();
            assert_eq!(
                e,
                LoadError::Fatal {
                    at: Some((2, line.as_bytes().to_vec())),
                    msg: msg.to_string()
                },
                "{}",
                line
            );
        }
        // Checks after the whole file have no line.
        let e = load_text("logfile /nonexistent-spinel-dir/x.log\n").unwrap_err();
        assert_eq!(
            fatal(e),
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.2.4) ***\nCan't open the log file: No such file or directory\n"
        );
        let e = load_text("cluster-enabled yes\nreplicaof 1.2.3.4 5\n").unwrap_err();
        assert_eq!(
            e,
            LoadError::Fatal {
                at: None,
                msg: "replicaof directive not allowed in cluster mode".into()
            }
        );
    }

    #[test]
    fn command_line() {
        let (o, stdin) = command_line_options(
            &args(&[
                "--port",
                "7",
                "--save",
                "",
                "--bind",
                "a",
                "b",
                "--loglevel",
                "x y",
            ]),
            0,
        );
        assert!(!stdin);
        assert_eq!(
            String::from_utf8(o).unwrap(),
            "port \"7\" \nsave \"\" \nbind \"a\" \"b\" \nloglevel \"x y\" "
        );
        // `--save` followed by an option or at the end means `save ""`.
        let (o, _) = command_line_options(&args(&["--save", "--port", "1", "--save"]), 0);
        assert_eq!(
            String::from_utf8(o).unwrap(),
            "save \"\"\nport \"1\" \nsave \"\""
        );
        // "--port 6380" as one argument.
        let (o, _) = command_line_options(&args(&["--port 6380", "--hz", "5"]), 0);
        assert_eq!(String::from_utf8(o).unwrap(), "port 6380 \nhz \"5\" ");
        let (_, stdin) = command_line_options(&args(&["--port", "1", "-"]), 0);
        assert!(stdin);

        let c = load_args(&["--port", "7003", "--save", "", "--maxmemory", "1mb"]).unwrap();
        assert_eq!(c.port(), 7003);
        assert_eq!(get(&c, "save"), "");
        assert_eq!(c.maxmemory(), 1 << 20);
        assert_eq!(c.config_file(), None);

        let e = load_args(&["--port", "abc"]).unwrap_err();
        assert_eq!(
            fatal(e),
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.2.4) ***\nReading the configuration file, at line 2\n>>> 'port \"abc\"'\nargument couldn't be parsed into an integer\n"
        );
        let e = load_args(&["--nosuch", "1"]).unwrap_err();
        assert_eq!(
            fatal(e),
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.2.4) ***\nReading the configuration file, at line 2\n>>> 'nosuch \"1\"'\nBad directive or wrong number of arguments\n"
        );
        assert!(matches!(
            load(&args(&["--version"]), &mut std::io::empty()),
            Ok(Err(Early::Version))
        ));
        assert!(matches!(
            load(&args(&["-v"]), &mut std::io::empty()),
            Ok(Err(Early::Version))
        ));
        assert!(matches!(
            load(&args(&["-h"]), &mut std::io::empty()),
            Ok(Err(Early::Usage))
        ));
        assert!(version_line().starts_with("Spinel server v="));
        // Config from standard input.
        let mut input: &[u8] = b"port 7004\n";
        match load(&args(&["-"]), &mut input) {
            Ok(Ok(c)) => assert_eq!(c.port(), 7004),
            _ => panic!("stdin config not loaded"),
        }
    }

    #[test]
    fn config_file_and_includes() {
        let d = tmpdir("inc");
        let main = d.join("main.conf");
        std::fs::create_dir_all(d.join("conf.d")).unwrap();
        std::fs::write(d.join("conf.d/a.conf"), "maxclients 111\n").unwrap();
        std::fs::write(d.join("conf.d/b.conf"), "maxclients 222\ntimeout 3\n").unwrap();
        std::fs::write(d.join("conf.d/.hidden.conf"), "timeout 99\n").unwrap();
        std::fs::write(d.join("inner.conf"), "hz 20\n").unwrap();
        std::fs::write(
            &main,
            format!(
                "port 7005\ninclude {}/conf.d/*.conf\ninclude {}/inner.conf\ninclude {}/empty.d/*.conf\n",
                d.display(),
                d.display(),
                d.display()
            ),
        )
        .unwrap();
        let c = load_args(&[main.to_str().unwrap(), "--hz", "30"]).unwrap();
        assert_eq!(c.port(), 7005);
        assert_eq!(c.maxclients(), 222);
        assert_eq!(c.timeout(), 3);
        assert_eq!(c.hz(), 30);
        assert_eq!(c.config_file().as_deref(), main.to_str());
        // An error inside an included file reports that file's line.
        std::fs::write(d.join("bad.conf"), "# one\nport x\n").unwrap();
        std::fs::write(&main, format!("port 1\ninclude {}/bad.conf\n", d.display())).unwrap();
        let e = load_args(&[main.to_str().unwrap()]).unwrap_err();
        assert_eq!(
            e,
            LoadError::Fatal {
                at: Some((2, b"port x".to_vec())),
                msg: "argument couldn't be parsed into an integer".into()
            }
        );
        // A missing non-glob include is fatal.
        std::fs::write(&main, format!("include {}/missing.conf\n", d.display())).unwrap();
        let e = load_args(&[main.to_str().unwrap()]).unwrap_err();
        assert_eq!(
            e,
            LoadError::Logged(format!(
                "Fatal error, can't open config file '{}/missing.conf': No such file or directory",
                d.display()
            ))
        );
        let e = load_args(&[d.join("nope.conf").to_str().unwrap()]).unwrap_err();
        assert!(
            matches!(e, LoadError::Logged(m) if m.starts_with("Fatal error, can't open config file"))
        );
        let _ = std::fs::remove_dir_all(&d);
    }

    /// The rewrite of a file like Redis's own test (lines reused in place,
    /// unknown lines kept, defaults dropped, new lines appended).
    #[test]
    fn rewrite_content() {
        let old = "# top comment\nport 7994\n\n# another\nhash-max-listpack-entries 200\nslaveof 127.0.0.1 1\nsave 100 1\nsave 200 2\n\nmaxmemory 2gb\nloglevel notice\ntimeout 0\nbind 127.0.0.1\nrename-command FLUSHALL \"\"\nhash-max-ziplist-value 100\nbad \"quote\n";
        let mut l = Loader::new(None);
        l.load_string(
            b"port 7994\nhash-max-listpack-entries 200\nsave 100 1\nmaxmemory 2gb\ntimeout 0\nbind 127.0.0.1\n",
        )
        .unwrap();
        let c = l.cfg;
        set(
            &c,
            &[
                ("maxmemory-policy", "allkeys-lru"),
                ("notify-keyspace-events", "KA"),
                ("requirepass", "a\"b"),
                ("client-output-buffer-limit", "pubsub 64mb 16mb 120"),
                ("timeout", "5"),
            ],
        )
        .unwrap();
        let out = String::from_utf8(c.rewrite_content(old.as_bytes())).unwrap();
        let dir = String::from_utf8(repr(&current_dir_bytes())).unwrap();
        let expect = format!(
            "# top comment\nport 7994\n\n# another\nhash-max-listpack-entries 200\n\nsave 100 1\n\nmaxmemory 2gb\nloglevel notice\ntimeout 5\nbind 127.0.0.1\nrename-command FLUSHALL \"\"\nhash-max-listpack-value 64\n# ??? bad \"quote\n\n# Generated by CONFIG REWRITE\nrequirepass \"a\\\"b\"\nmaxmemory-policy allkeys-lru\ndir {}\nclient-output-buffer-limit pubsub 64mb 16mb 120\nnotify-keyspace-events \"AK\"\nlatency-tracking-info-percentiles 50 99 99.9\n",
            dir
        );
        assert_eq!(out, expect);
        // Rewriting again: as in Redis, the existing client-output-buffer-limit
        // line is reused for the first class (normal, at its default) and the
        // changed pubsub class is appended; everything else is stable.
        let again = String::from_utf8(c.rewrite_content(out.as_bytes())).unwrap();
        assert_eq!(
            again,
            expect.replace(
                "client-output-buffer-limit pubsub 64mb 16mb 120\n",
                "client-output-buffer-limit normal 0 0 0\n"
            ) + "\nclient-output-buffer-limit pubsub 64mb 16mb 120\n"
        );
        // From an empty file.
        let fresh = String::from_utf8(Config::default().rewrite_content(b"")).unwrap();
        assert_eq!(
            fresh,
            format!(
                "# Generated by CONFIG REWRITE\ndir {}\nsave 3600 1\nsave 300 100\nsave 60 10000\nlatency-tracking-info-percentiles 50 99 99.9\n",
                dir
            )
        );
    }

    #[test]
    fn rewrite_file() {
        assert_eq!(
            Config::default().rewrite(),
            Err("ERR The server is running without a config file".into())
        );
        let d = tmpdir("rw");
        let f = d.join("r.conf");
        std::fs::write(&f, "# keep me\nport 7010\nappendonly yes\n").unwrap();
        let c = load_args(&[f.to_str().unwrap()]).unwrap();
        set(&c, &[("appendonly", "no"), ("maxclients", "50")]).unwrap();
        c.rewrite().unwrap();
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(
            text.starts_with("# keep me\nport 7010\nappendonly no\n"),
            "{}",
            text
        );
        assert!(text.contains("\nmaxclients 50\n"));
        // The rewritten file loads back to the same values.
        let c2 = load_args(&[f.to_str().unwrap()]).unwrap();
        assert_eq!(c2.maxclients(), 50);
        assert!(!c2.appendonly());
        assert_eq!(get(&c2, "save"), get(&c, "save"));
        // No temporary files left behind.
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 1);
        let _ = std::fs::remove_dir_all(&d);
    }
}
