//! BGSAVE is a point-in-time image: clients overwrite, delete and create
//! keys (in several databases) while the save runs, and the file still
//! holds exactly the data of the instant BGSAVE was accepted. The file is
//! checked by loading it into a fresh Spinel (and into Valkey, which also
//! proves that shards saved out of order, with repeated SELECTDB, load in
//! Redis 7.2). The streaming form (`stream_snapshot`) is checked the same
//! way in-process.

mod common;
use common::{temp_dir, VALKEY};

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Strings in db 0 (k:N), hashes (h:N), lists (l:N), keys with a TTL
/// (t:N), strings in db 1 (d1:N) and db 5 (d5:N).
const STRINGS: usize = 20000;
const HASHES: usize = 500;
const LISTS: usize = 200;
const TTLS: usize = 500;
const DB1: usize = 2000;
const DB5: usize = 100;

struct Proc {
    child: Child,
    port: u16,
}

impl Proc {
    fn start(bin: &str, dir: &Path, extra: &[&str]) -> Proc {
        let port = common::free_port();
        let mut cmd = Command::new(bin);
        cmd.arg("--port")
            .arg(port.to_string())
            .arg("--bind")
            .arg("127.0.0.1")
            .arg("--dir")
            .arg(dir)
            .arg("--save")
            .arg("")
            .arg("--appendonly")
            .arg("no");
        for a in extra {
            cmd.arg(a);
        }
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        let mut p = Proc {
            child: cmd.spawn().expect("spawn server"),
            port,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return p;
            }
            if let Ok(Some(st)) = p.child.try_wait() {
                panic!("{} exited with {} during start-up", bin, st);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("{} did not start", bin);
    }

    fn conn(&self) -> redis::Connection {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))
            .and_then(|c| c.get_connection())
            .expect("connection")
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn populate(c: &mut redis::Connection) {
    let mut p = redis::pipe();
    for i in 0..STRINGS {
        p.cmd("SET")
            .arg(format!("k:{}", i))
            .arg(format!("old:{}", i))
            .ignore();
    }
    for i in 0..HASHES {
        p.cmd("HSET")
            .arg(format!("h:{}", i))
            .arg("f0")
            .arg(format!("old{}", i))
            .arg("f1")
            .arg("x")
            .ignore();
    }
    for i in 0..LISTS {
        p.cmd("RPUSH")
            .arg(format!("l:{}", i))
            .arg("a")
            .arg("b")
            .arg(i)
            .ignore();
    }
    for i in 0..TTLS {
        p.cmd("SET")
            .arg(format!("t:{}", i))
            .arg("ttl")
            .arg("EX")
            .arg(100000)
            .ignore();
    }
    p.cmd("SELECT").arg(1).ignore();
    for i in 0..DB1 {
        p.cmd("SET")
            .arg(format!("d1:{}", i))
            .arg(format!("old:{}", i))
            .ignore();
    }
    p.cmd("SELECT").arg(5).ignore();
    for i in 0..DB5 {
        p.cmd("SADD")
            .arg(format!("d5:{}", i))
            .arg("m1")
            .arg("m2")
            .ignore();
    }
    p.cmd("SELECT").arg(0).ignore();
    p.query::<()>(c).expect("populate");
}

fn info_field(c: &mut redis::Connection, section: &str, field: &str) -> String {
    let text: String = redis::cmd("INFO").arg(section).query(c).expect("info");
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{}:", field)).map(str::to_string))
        .unwrap_or_default()
}

/// One round of writes after the instant: overwrites, deletes, new keys,
/// hash and list changes, TTL changes, other databases.
fn mutate(c: &mut redis::Connection, round: u64, seed: u64) -> u64 {
    let mut p = redis::pipe();
    let mut n = 0u64;
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(round);
    let mut next = |m: usize| {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((x >> 33) as usize) % m
    };
    for _ in 0..200 {
        let i = next(STRINGS);
        match next(10) {
            0 => p.cmd("DEL").arg(format!("k:{}", i)).ignore(),
            1 => p.cmd("SET").arg(format!("fresh:{}", i)).arg(1).ignore(),
            2 => p
                .cmd("HSET")
                .arg(format!("h:{}", next(HASHES)))
                .arg("f0")
                .arg("new")
                .arg("f2")
                .arg("added")
                .ignore(),
            3 => p
                .cmd("RPUSH")
                .arg(format!("l:{}", next(LISTS)))
                .arg("new")
                .ignore(),
            4 => p.cmd("PERSIST").arg(format!("t:{}", next(TTLS))).ignore(),
            5 => p
                .cmd("SELECT")
                .arg(1)
                .ignore()
                .cmd("SET")
                .arg(format!("d1:{}", next(DB1)))
                .arg("new")
                .ignore()
                .cmd("SELECT")
                .arg(0)
                .ignore(),
            6 => p
                .cmd("SELECT")
                .arg(5)
                .ignore()
                .cmd("DEL")
                .arg(format!("d5:{}", next(DB5)))
                .ignore()
                .cmd("SELECT")
                .arg(0)
                .ignore(),
            _ => p
                .cmd("SET")
                .arg(format!("k:{}", i))
                .arg(format!("new:{}", round))
                .ignore(),
        };
        n += 1;
    }
    p.query::<()>(c).expect("mutate");
    n
}

/// Every key holds its value from before the save.
fn verify(c: &mut redis::Connection, who: &str) {
    let size = |c: &mut redis::Connection, db: i64| -> i64 {
        redis::cmd("SELECT").arg(db).query::<()>(c).expect("select");
        redis::cmd("DBSIZE").query(c).expect("dbsize")
    };
    assert_eq!(
        size(c, 0),
        (STRINGS + HASHES + LISTS + TTLS) as i64,
        "{}: db 0 size",
        who
    );
    assert_eq!(size(c, 1), DB1 as i64, "{}: db 1 size", who);
    assert_eq!(size(c, 5), DB5 as i64, "{}: db 5 size", who);
    redis::cmd("SELECT").arg(0).query::<()>(c).expect("select");
    for chunk in (0..STRINGS).collect::<Vec<_>>().chunks(1000) {
        let keys: Vec<String> = chunk.iter().map(|i| format!("k:{}", i)).collect();
        let vals: Vec<Option<String>> = redis::cmd("MGET").arg(&keys).query(c).expect("mget");
        for (i, v) in chunk.iter().zip(vals) {
            assert_eq!(v, Some(format!("old:{}", i)), "{}: k:{}", who, i);
        }
    }
    let mut p = redis::pipe();
    for i in 0..HASHES {
        p.cmd("HGETALL").arg(format!("h:{}", i));
    }
    let hs: Vec<Vec<String>> = p.query(c).expect("hgetall");
    for (i, h) in hs.iter().enumerate() {
        // Field order is an encoding detail: compare as pairs.
        let mut pairs: Vec<(String, String)> = h
            .chunks(2)
            .map(|kv| (kv[0].clone(), kv.get(1).cloned().unwrap_or_default()))
            .collect();
        pairs.sort();
        assert_eq!(
            pairs,
            vec![
                ("f0".to_string(), format!("old{}", i)),
                ("f1".to_string(), "x".to_string())
            ],
            "{}: h:{}",
            who,
            i
        );
    }
    let mut p = redis::pipe();
    for i in 0..LISTS {
        p.cmd("LRANGE").arg(format!("l:{}", i)).arg(0).arg(-1);
    }
    let ls: Vec<Vec<String>> = p.query(c).expect("lrange");
    for (i, l) in ls.iter().enumerate() {
        assert_eq!(
            l,
            &vec!["a".to_string(), "b".to_string(), i.to_string()],
            "{}: l:{}",
            who,
            i
        );
    }
    let mut p = redis::pipe();
    for i in 0..TTLS {
        p.cmd("TTL").arg(format!("t:{}", i));
    }
    let ttls: Vec<i64> = p.query(c).expect("ttl");
    for (i, t) in ttls.iter().enumerate() {
        assert!(*t > 90000, "{}: t:{} ttl {}", who, i, t);
    }
    let fresh: Vec<String> = redis::cmd("KEYS").arg("fresh:*").query(c).expect("keys");
    assert!(fresh.is_empty(), "{}: keys created after the instant", who);
    redis::cmd("SELECT").arg(1).query::<()>(c).expect("select");
    let keys: Vec<String> = (0..DB1).map(|i| format!("d1:{}", i)).collect();
    let vals: Vec<Option<String>> = redis::cmd("MGET").arg(&keys).query(c).expect("mget");
    for (i, v) in vals.into_iter().enumerate() {
        assert_eq!(v, Some(format!("old:{}", i)), "{}: d1:{}", who, i);
    }
    redis::cmd("SELECT").arg(5).query::<()>(c).expect("select");
    let mut p = redis::pipe();
    for i in 0..DB5 {
        p.cmd("SCARD").arg(format!("d5:{}", i));
    }
    let cards: Vec<i64> = p.query(c).expect("scard");
    assert!(cards.iter().all(|n| *n == 2), "{}: db 5 sets", who);
    redis::cmd("SELECT").arg(0).query::<()>(c).expect("select");
}

#[test]
fn bgsave_file_holds_the_instant_under_concurrent_writes() {
    let dir = temp_dir("src");
    let sp = Proc::start(
        env!("CARGO_BIN_EXE_spinel-server"),
        &dir,
        &["--threads", "2"],
    );
    let mut c = sp.conn();
    populate(&mut c);
    verify(&mut c, "before the save");
    // The save thread sleeps per key it saves, so the clients reach most
    // shards first (they serialize those themselves) while the save
    // thread also saves some: both paths run.
    redis::cmd("CONFIG")
        .arg("SET")
        .arg("rdb-key-save-delay")
        .arg(100)
        .query::<()>(&mut c)
        .expect("config");
    let stop = Arc::new(AtomicBool::new(false));
    let during = Arc::new(AtomicU64::new(0));
    let reply: String = redis::cmd("BGSAVE").query(&mut c).expect("bgsave");
    assert_eq!(reply, "Background saving started");
    let writers: Vec<_> = (0..3u64)
        .map(|w| {
            let mut wc = sp.conn();
            let stop = stop.clone();
            let during = during.clone();
            std::thread::spawn(move || {
                let mut round = 0;
                while !stop.load(Ordering::Acquire) {
                    let n = mutate(&mut wc, round, w + 1);
                    during.fetch_add(n, Ordering::Relaxed);
                    round += 1;
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut writes_while_saving = 0;
    loop {
        if info_field(&mut c, "persistence", "rdb_bgsave_in_progress") == "0" {
            break;
        }
        writes_while_saving = during.load(Ordering::Relaxed);
        assert!(Instant::now() < deadline, "BGSAVE did not finish");
        std::thread::sleep(Duration::from_millis(10));
    }
    stop.store(true, Ordering::Release);
    for w in writers {
        w.join().expect("writer");
    }
    assert_eq!(
        info_field(&mut c, "persistence", "rdb_last_bgsave_status"),
        "ok"
    );
    assert!(
        writes_while_saving > 1000,
        "only {} writes while saving",
        writes_while_saving
    );
    let cow: u64 = info_field(&mut c, "persistence", "rdb_last_cow_size")
        .parse()
        .unwrap_or(0);
    assert!(cow > 0, "no shard was serialized by a command");
    drop(c);
    drop(sp);

    let dir2 = temp_dir("load");
    std::fs::copy(dir.join("dump.rdb"), dir2.join("dump.rdb")).expect("copy");
    let sp2 = Proc::start(env!("CARGO_BIN_EXE_spinel-server"), &dir2, &[]);
    verify(&mut sp2.conn(), "spinel after restart");
    drop(sp2);

    if common::valkey_available() {
        let dir3 = temp_dir("valkey");
        std::fs::copy(dir.join("dump.rdb"), dir3.join("dump.rdb")).expect("copy");
        let vk = Proc::start(VALKEY, &dir3, &[]);
        verify(&mut vk.conn(), "valkey");
        drop(vk);
        let _ = std::fs::remove_dir_all(&dir3);
    }
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&dir2);
}

#[test]
fn bgsave_while_idle_and_back_to_back() {
    // No writes: every shard goes through the save thread; a second save
    // right after the first gives the same data.
    let dir = temp_dir("idle");
    let sp = Proc::start(env!("CARGO_BIN_EXE_spinel-server"), &dir, &[]);
    let mut c = sp.conn();
    populate(&mut c);
    for _ in 0..2 {
        let _: String = redis::cmd("BGSAVE").query(&mut c).expect("bgsave");
        let deadline = Instant::now() + Duration::from_secs(60);
        while info_field(&mut c, "persistence", "rdb_bgsave_in_progress") != "0" {
            assert!(Instant::now() < deadline);
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(
            info_field(&mut c, "persistence", "rdb_last_bgsave_status"),
            "ok"
        );
    }
    drop(c);
    drop(sp);
    let sp = Proc::start(env!("CARGO_BIN_EXE_spinel-server"), &dir, &[]);
    verify(&mut sp.conn(), "after idle saves");
    drop(sp);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn stream_snapshot_is_point_in_time_under_concurrent_changes() {
    use spinel_keyspace::{Entry, Value};
    let srv = spinel_server::startup::build(spinel_server::config::Config::new(None), None);
    const N: usize = 50000;
    let put = |db: usize, k: &[u8], v: Value| {
        let h = srv.ks.hash(k);
        let idx = srv.ks.shard_of(h);
        srv.ks.dbs[db].shards[idx]
            .lock()
            .insert(h, k, Entry::new(v, 0), false);
    };
    for i in 0..N {
        put(
            0,
            format!("k{}", i).as_bytes(),
            Value::string(format!("old{}", i).as_bytes()),
        );
    }
    for i in 0..100 {
        put(
            2,
            format!("o{}", i).as_bytes(),
            Value::string(format!("old{}", i).as_bytes()),
        );
    }
    // A command's view: lock the shard, let the snapshot copy it, change
    // it. Step i writes "new<i>" into one key.
    let step_key = |i: usize| -> (usize, String) {
        if i.is_multiple_of(10) {
            (2, format!("o{}", (i * 7) % 100))
        } else {
            (0, format!("k{}", (i * 7919) % N))
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    let st = stop.clone();
    let mutator = std::thread::spawn(move || {
        let mut i = 0usize;
        while !st.load(Ordering::Acquire) {
            let (db, k) = step_key(i);
            let h = srv.ks.hash(k.as_bytes());
            let idx = srv.ks.shard_of(h);
            let mut g = srv.ks.dbs[db].shards[idx].lock();
            spinel_server::persist::snapshot::touch(db, idx, &g);
            let v = format!("new{}", i);
            g.insert(
                h,
                k.as_bytes(),
                Entry::new(Value::string(v.as_bytes()), 0),
                false,
            );
            drop(g);
            i += 1;
        }
        i
    });
    std::thread::sleep(Duration::from_millis(5));
    let mut image = Vec::new();
    spinel_server::persist::snapshot::stream_snapshot(srv, &mut image).expect("stream");
    stop.store(true, Ordering::Release);
    let steps = mutator.join().expect("mutator");
    assert!(steps > 0);
    let sum = spinel_server::persist::replace_dataset(srv, &image).expect("load");
    assert_eq!(sum.loaded as usize, N + 100);
    assert_eq!(srv.ks.dbsize(0), N);
    assert_eq!(srv.ks.dbsize(2), 100);
    let get = |db: usize, k: &str| -> Option<Vec<u8>> {
        let h = srv.ks.hash(k.as_bytes());
        let idx = srv.ks.shard_of(h);
        let mut sh = srv.ks.dbs[db].shards[idx].lock();
        sh.get(h, k.as_bytes(), 0)
            .and_then(|e| e.value.to_bytes().map(|b| b.to_vec()))
    };
    // The image is the state after some prefix 0..t of the steps: t is one
    // past the latest step it shows, and every key must match the state
    // those steps give (no earlier step lost, no later one in).
    let keys: Vec<(usize, String)> = (0..N)
        .map(|i| (0, format!("k{}", i)))
        .chain((0..100).map(|i| (2, format!("o{}", i))))
        .collect();
    let mut t = 0usize;
    for (db, k) in &keys {
        let v = get(*db, k).unwrap_or_default();
        if let Some(n) = std::str::from_utf8(&v)
            .ok()
            .and_then(|s| s.strip_prefix("new"))
            .and_then(|s| s.parse::<usize>().ok())
        {
            t = t.max(n + 1);
        }
    }
    let mut want: std::collections::HashMap<(usize, String), Vec<u8>> = keys
        .iter()
        .map(|(db, k)| {
            let n = &k[1..];
            ((*db, k.clone()), format!("old{}", n).into_bytes())
        })
        .collect();
    for i in 0..t {
        want.insert(step_key(i), format!("new{}", i).into_bytes());
    }
    for (db, k) in &keys {
        assert_eq!(
            get(*db, k).as_deref(),
            want.get(&(*db, k.clone())).map(|v| v.as_slice()),
            "{} (image taken after {} of {} steps)",
            k,
            t,
            steps
        );
    }
}
