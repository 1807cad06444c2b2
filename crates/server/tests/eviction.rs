//! maxmemory and eviction: every `maxmemory-policy`, the OOM gate for
//! `denyoom` commands, the LRU/LFU approximations, `evicted_keys`.
mod common;
use common::*;

const OOM: &str = "-OOM command not allowed when used memory > 'maxmemory'.\r\n";
/// Value size used to fill the server.
const VAL: usize = 1000;
/// Room above the memory in use when the limit is set.
const ROOM: u64 = 2 * 1024 * 1024;
/// INFO itself allocates a little while it is produced.
const SLACK: u64 = 64 * 1024;

fn info_field(c: &mut Conn, section: &str, name: &str) -> u64 {
    let r = c.cmd(&["INFO", section]);
    let prefix = format!("{name}:");
    r.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in INFO {section}: {r}"))
}

fn used(c: &mut Conn) -> u64 {
    info_field(c, "memory", "used_memory")
}

fn evicted(c: &mut Conn) -> u64 {
    info_field(c, "stats", "evicted_keys")
}

fn int(r: &str) -> i64 {
    r.trim_start_matches(':')
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("not an integer reply: {r:?}"))
}

/// Sets the limit to the memory in use now plus `room`; returns it.
fn limit_from_now(c: &mut Conn, room: u64) -> u64 {
    let max = used(c) + room;
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "maxmemory", &max.to_string()]),
        "+OK\r\n"
    );
    max
}

/// Writes `n` keys `<prefix>:<i>` (with a TTL of `ttl(i)` seconds when
/// given) in pipelined batches; returns how many writes were refused
/// with the OOM error.
fn fill(c: &mut Conn, prefix: &str, n: usize, ttl: Option<&dyn Fn(usize) -> u64>) -> usize {
    let val = "x".repeat(VAL);
    let mut refused = 0;
    let mut i = 0;
    while i < n {
        let end = (i + 100).min(n);
        let mut batch = Vec::new();
        for j in i..end {
            let key = format!("{prefix}:{j}");
            match ttl {
                Some(f) => {
                    let t = f(j).to_string();
                    batch.extend(encode(&[
                        b"SET",
                        key.as_bytes(),
                        val.as_bytes(),
                        b"EX",
                        t.as_bytes(),
                    ]));
                }
                None => batch.extend(encode(&[b"SET", key.as_bytes(), val.as_bytes()])),
            }
        }
        c.send_raw(&batch);
        for _ in i..end {
            let r = c.read_reply();
            if r == OOM {
                refused += 1;
            } else {
                assert_eq!(r, "+OK\r\n");
            }
        }
        i = end;
    }
    refused
}

fn exists(c: &mut Conn, key: &str) -> bool {
    int(&c.cmd(&["EXISTS", key])) == 1
}

/// How many of `<prefix>:<i>` for i in `range` still exist.
fn survivors(c: &mut Conn, prefix: &str, range: std::ops::Range<usize>) -> usize {
    range
        .filter(|i| exists(c, &format!("{prefix}:{i}")))
        .count()
}

fn reset(c: &mut Conn, policy: &str) {
    assert_eq!(c.cmd(&["CONFIG", "SET", "maxmemory", "0"]), "+OK\r\n");
    assert_eq!(c.cmd(&["FLUSHALL", "SYNC"]), "+OK\r\n");
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "maxmemory-policy", policy]),
        "+OK\r\n"
    );
}

#[test]
fn every_policy_keeps_memory_under_the_limit() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    for policy in [
        "allkeys-lru",
        "allkeys-lfu",
        "allkeys-random",
        "volatile-lru",
        "volatile-lfu",
        "volatile-random",
        "volatile-ttl",
    ] {
        reset(&mut c, policy);
        let before = evicted(&mut c);
        let max = limit_from_now(&mut c, ROOM);
        let volatile = policy.starts_with("volatile");
        let ttl = |i: usize| 1000 + i as u64;
        let n = 6000; // about three times the room
        let refused = fill(&mut c, "k", n, if volatile { Some(&ttl) } else { None });
        assert_eq!(refused, 0, "{policy}: writes refused");
        let now = used(&mut c);
        assert!(
            now <= max + SLACK,
            "{policy}: used_memory {now} over maxmemory {max}"
        );
        let gone = evicted(&mut c) - before;
        let left = int(&c.cmd(&["DBSIZE"])) as u64;
        assert!(gone > 0, "{policy}: nothing evicted");
        assert_eq!(left + gone, n as u64, "{policy}: keys lost or doubled");
        assert!(left > 100, "{policy}: evicted too much ({left} left)");
    }
}

#[test]
fn noeviction_refuses_writes_but_serves_reads_and_deletes() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(c.cmd(&["SET", "keep", "v"]), "+OK\r\n");
    limit_from_now(&mut c, ROOM);
    let refused = fill(&mut c, "k", 4000, None);
    assert!(refused > 0, "no write was refused");
    assert_eq!(evicted(&mut c), 0);
    assert_eq!(c.cmd(&["SET", "x", "y"]), OOM);
    assert_eq!(c.cmd(&["GET", "keep"]), bulk("v"));
    assert_eq!(c.cmd(&["PING"]), "+PONG\r\n");
    let rejected = info_field(&mut c, "stats", "total_error_replies");
    assert!(rejected as usize >= refused);
    // Inside MULTI every command is refused; EXEC then aborts.
    assert_eq!(c.cmd(&["MULTI"]), "+OK\r\n");
    assert_eq!(c.cmd(&["GET", "keep"]), OOM);
    assert_eq!(
        c.cmd(&["EXEC"]),
        "-EXECABORT Transaction discarded because of previous errors.\r\n"
    );
    // DEL is not denyoom: it works, and frees room for writes again.
    let mut freed = 0;
    for i in 0..4000 {
        freed += int(&c.cmd(&["DEL", &format!("k:{i}")]));
    }
    assert!(freed > 0);
    assert_eq!(c.cmd(&["SET", "x", "y"]), "+OK\r\n");
    assert_eq!(c.cmd(&["GET", "x"]), bulk("y"));
}

#[test]
fn exec_with_a_write_is_aborted_when_memory_runs_out_after_queuing() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let mut admin = s.conn();
    assert_eq!(c.cmd(&["SET", "x", "old"]), "+OK\r\n");
    assert_eq!(c.cmd(&["MULTI"]), "+OK\r\n");
    assert_eq!(c.cmd(&["SET", "x", "new"]), "+QUEUED\r\n");
    assert_eq!(c.cmd(&["GET", "x"]), "+QUEUED\r\n");
    assert_eq!(admin.cmd(&["CONFIG", "SET", "maxmemory", "1"]), "+OK\r\n");
    assert_eq!(
        c.cmd(&["EXEC"]),
        "-EXECABORT Transaction discarded because of: OOM command not allowed when used memory > 'maxmemory'.\r\n"
    );
    // The transaction is gone.
    assert_eq!(c.cmd(&["EXEC"]), "-ERR EXEC without MULTI\r\n");
    // A read-only transaction queued before memory ran out still runs.
    assert_eq!(admin.cmd(&["CONFIG", "SET", "maxmemory", "0"]), "+OK\r\n");
    assert_eq!(c.cmd(&["MULTI"]), "+OK\r\n");
    assert_eq!(c.cmd(&["GET", "x"]), "+QUEUED\r\n");
    assert_eq!(admin.cmd(&["CONFIG", "SET", "maxmemory", "1"]), "+OK\r\n");
    assert_eq!(c.cmd(&["EXEC"]), format!("*1\r\n{}", bulk("old")));
    assert_eq!(admin.cmd(&["CONFIG", "SET", "maxmemory", "0"]), "+OK\r\n");
    assert_eq!(c.cmd(&["GET", "x"]), bulk("old"));
}

#[test]
fn volatile_policies_only_evict_keys_with_a_ttl() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    for policy in [
        "volatile-lru",
        "volatile-lfu",
        "volatile-random",
        "volatile-ttl",
    ] {
        reset(&mut c, policy);
        // Persistent keys written before the limit is set.
        assert_eq!(fill(&mut c, "p", 500, None), 0);
        limit_from_now(&mut c, ROOM);
        let ttl = |_: usize| 1000;
        assert_eq!(fill(&mut c, "v", 3000, Some(&ttl)), 0, "{policy}");
        assert!(evicted(&mut c) > 0, "{policy}: nothing evicted");
        assert_eq!(survivors(&mut c, "p", 0..500), 500, "{policy}");
        // With no volatile key left to evict, writes are refused.
        let refused = fill(&mut c, "q", 4000, None);
        assert!(refused > 0, "{policy}: persistent writes never refused");
        assert_eq!(survivors(&mut c, "p", 0..500), 500, "{policy}");
    }
}

#[test]
fn volatile_ttl_evicts_the_soonest_expiring_first() {
    let s = Server::start(&["--maxmemory-policy", "volatile-ttl"]);
    let mut c = s.conn();
    limit_from_now(&mut c, ROOM);
    // Key i expires after 1000 + i seconds: low i expire first.
    let ttl = |i: usize| 1000 + i as u64;
    assert_eq!(fill(&mut c, "v", 4000, Some(&ttl)), 0);
    let early = survivors(&mut c, "v", 0..1000);
    let late = survivors(&mut c, "v", 3000..4000);
    assert!(
        late > early * 2,
        "soonest-expiring keys not preferred: {early} early vs {late} late survivors"
    );
}

#[test]
fn allkeys_lru_keeps_the_recently_used_keys() {
    let s = Server::start(&["--maxmemory-policy", "allkeys-lru"]);
    let mut c = s.conn();
    let max = limit_from_now(&mut c, 3 * 1024 * 1024);
    assert_eq!(fill(&mut c, "old", 2000, None), 0);
    // The LRU clock has a resolution of one second.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    // Read a hot tenth of the old keys, then write new ones.
    for i in 0..200 {
        assert!(c.cmd(&["GET", &format!("old:{i}")]).starts_with("$1000"));
    }
    assert_eq!(fill(&mut c, "new", 1500, None), 0);
    assert!(used(&mut c) <= max + SLACK);
    let hot = survivors(&mut c, "old", 0..200);
    let cold = survivors(&mut c, "old", 200..2000);
    assert!(evicted(&mut c) > 0);
    // Hot keys survive far more often than untouched ones.
    let hot_rate = hot as f64 / 200.0;
    let cold_rate = cold as f64 / 1800.0;
    assert!(
        hot_rate > 0.9 && hot_rate > cold_rate + 0.3,
        "hot {hot}/200 vs cold {cold}/1800"
    );
}

#[test]
fn allkeys_lfu_keeps_the_frequently_used_keys() {
    let s = Server::start(&["--maxmemory-policy", "allkeys-lfu"]);
    let mut c = s.conn();
    let max = limit_from_now(&mut c, 3 * 1024 * 1024);
    assert_eq!(fill(&mut c, "k", 2000, None), 0);
    for _ in 0..30 {
        for i in 0..200 {
            assert!(c.cmd(&["GET", &format!("k:{i}")]).starts_with("$1000"));
        }
    }
    assert!(int(&c.cmd(&["OBJECT", "FREQ", "k:0"])) > 5);
    // New keys start with the same counter as the cold ones, so both are
    // evicted alike: write enough to replace most of them.
    assert_eq!(fill(&mut c, "new", 4000, None), 0);
    assert!(used(&mut c) <= max + SLACK);
    let hot = survivors(&mut c, "k", 0..200);
    let cold = survivors(&mut c, "k", 200..2000);
    assert!(evicted(&mut c) > 0);
    let hot_rate = hot as f64 / 200.0;
    let cold_rate = cold as f64 / 1800.0;
    assert!(
        hot_rate > 0.9 && hot_rate > cold_rate + 0.3,
        "hot {hot}/200 vs cold {cold}/1800"
    );
}

#[test]
fn object_freq_grows_with_accesses_under_lfu() {
    let s = Server::start(&["--maxmemory-policy", "allkeys-lfu"]);
    let mut c = s.conn();
    assert_eq!(c.cmd(&["SET", "k", "v"]), "+OK\r\n");
    // New keys start at LFU_INIT_VAL.
    assert_eq!(c.cmd(&["OBJECT", "FREQ", "k"]), ":5\r\n");
    // OBJECT itself doesn't count as an access.
    assert_eq!(c.cmd(&["OBJECT", "FREQ", "k"]), ":5\r\n");
    // The first accesses always count; later ones logarithmically.
    assert_eq!(c.cmd(&["GET", "k"]), bulk("v"));
    assert_eq!(c.cmd(&["OBJECT", "FREQ", "k"]), ":6\r\n");
    let mut last = 6;
    for _ in 0..10 {
        for _ in 0..100 {
            c.cmd(&["GET", "k"]);
        }
        let f = int(&c.cmd(&["OBJECT", "FREQ", "k"]));
        assert!(f >= last && f <= 255);
        last = f;
    }
    assert!(last > 8, "counter only reached {last} after 1000 reads");
    // An overwrite keeps the counter.
    assert_eq!(c.cmd(&["SET", "k", "w"]), "+OK\r\n");
    assert!(int(&c.cmd(&["OBJECT", "FREQ", "k"])) >= last);
    // A faster-growing counter with lfu-log-factor 0.
    assert_eq!(c.cmd(&["CONFIG", "SET", "lfu-log-factor", "0"]), "+OK\r\n");
    assert_eq!(c.cmd(&["SET", "f", "v"]), "+OK\r\n");
    for _ in 0..20 {
        c.cmd(&["GET", "f"]);
    }
    assert_eq!(c.cmd(&["OBJECT", "FREQ", "f"]), ":25\r\n");
    // Under LRU, OBJECT FREQ is an error and IDLETIME works.
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"]),
        "+OK\r\n"
    );
    assert!(c
        .cmd(&["OBJECT", "FREQ", "f"])
        .starts_with("-ERR An LFU maxmemory policy is not selected"));
    c.cmd(&["GET", "f"]);
    assert_eq!(c.cmd(&["OBJECT", "IDLETIME", "f"]), ":0\r\n");
}

#[test]
fn evictions_are_counted_and_notified() {
    let s = Server::start(&[
        "--maxmemory-policy",
        "allkeys-random",
        "--notify-keyspace-events",
        "Ee",
    ]);
    let mut c = s.conn();
    let mut sub = s.conn();
    assert!(sub
        .cmd(&["SUBSCRIBE", "__keyevent@0__:evicted"])
        .contains("subscribe"));
    limit_from_now(&mut c, ROOM);
    assert_eq!(fill(&mut c, "k", 4000, None), 0);
    let n = evicted(&mut c);
    assert!(n > 0);
    assert_eq!(int(&c.cmd(&["DBSIZE"])) as u64 + n, 4000);
    let msg = sub.read_reply();
    assert!(
        msg.contains("__keyevent@0__:evicted") && msg.contains("k:"),
        "unexpected message {msg:?}"
    );
}
