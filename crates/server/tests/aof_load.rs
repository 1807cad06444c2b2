//! The append-only file, Redis 7's multi-part layout: Valkey's directories
//! load into Spinel and Spinel's into Valkey with the same contents, the
//! old single-file AOF is loaded and moved into the directory, truncated
//! tails follow `aof-load-truncated`, damaged files stop start-up with an
//! error naming the file, BGREWRITEAOF under concurrent writes loses
//! nothing, and `CONFIG SET appendonly yes` at run time survives a restart.

mod common;
use common::{temp_dir, valkey_available, VALKEY};

use redis::Value as RV;
use std::collections::BTreeMap;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn spinel_bin() -> &'static str {
    env!("CARGO_BIN_EXE_spinel-server")
}

/// A server process (Spinel or Valkey) in a given directory.
struct Proc {
    child: Child,
    port: u16,
    dir: PathBuf,
}

fn spawn(bin: &str, dir: &Path, extra: &[&str]) -> (Child, u16) {
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
        .arg("--logfile")
        .arg(dir.join("server.log"));
    for a in extra {
        cmd.arg(a);
    }
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    (cmd.spawn().expect("spawn server"), port)
}

fn log_of(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
}

impl Proc {
    /// Starts the server; retries on another port when the one it was
    /// given turns out to be another test's server.
    fn start(bin: &str, dir: &Path, extra: &[&str]) -> Proc {
        for _ in 0..5 {
            if let Some(p) = Self::try_start(bin, dir, extra) {
                return p;
            }
        }
        panic!("{} could not get a port of its own", bin);
    }

    fn try_start(bin: &str, dir: &Path, extra: &[&str]) -> Option<Proc> {
        let (mut child, port) = spawn(bin, dir, extra);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                let mut p = Proc {
                    child,
                    port,
                    dir: dir.to_path_buf(),
                };
                // The port may be bound before loading ends (Valkey
                // answers -LOADING meanwhile): wait for a PONG, and check
                // it comes from this server.
                // A connection refused or reset while the port changes
                // hands (another test's server going away) is retried.
                let client =
                    redis::Client::open(format!("redis://127.0.0.1:{}/", port)).expect("client");
                let mut c = loop {
                    match client.get_connection() {
                        Ok(c) => break c,
                        Err(e) if Instant::now() >= deadline => panic!("connection: {e}"),
                        Err(_) => std::thread::sleep(Duration::from_millis(20)),
                    }
                };
                let want = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
                while Instant::now() < deadline {
                    let pong = matches!(
                        redis::cmd("PING").query::<RV>(&mut c),
                        Ok(RV::SimpleString(ref s)) if s == "PONG"
                    );
                    if pong {
                        let d = list(qs(&mut c, &["CONFIG", "GET", "dir"]));
                        let got = d
                            .get(1)
                            .map(|b| PathBuf::from(String::from_utf8_lossy(b).into_owned()));
                        if got.as_deref() == Some(want.as_path()) {
                            return Some(p);
                        }
                        let _ = p.child.kill();
                        let _ = p.child.wait();
                        return None;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                panic!("{} did not answer PING: {}", bin, log_of(dir));
            }
            if let Ok(Some(st)) = child.try_wait() {
                panic!(
                    "{} exited with {} during start-up: {}",
                    bin,
                    st,
                    log_of(dir)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("{} did not start", bin);
    }

    fn spinel(dir: &Path, extra: &[&str]) -> Proc {
        Self::start(spinel_bin(), dir, extra)
    }

    fn valkey(dir: &Path, extra: &[&str]) -> Proc {
        Self::start(VALKEY, dir, extra)
    }

    fn conn(&self) -> redis::Connection {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))
            .and_then(|c| c.get_connection())
            .expect("connection")
    }

    /// SHUTDOWN (no RDB save points are set) and wait for the exit.
    fn shutdown(mut self) {
        let mut c = self.conn();
        let _ = redis::cmd("SHUTDOWN").query::<RV>(&mut c);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("server did not exit: {}", log_of(&self.dir));
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts Spinel expecting start-up to fail; returns its log.
fn spinel_fails(dir: &Path, extra: &[&str]) -> String {
    let (mut child, _) = spawn(spinel_bin(), dir, extra);
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(Some(st)) = child.try_wait() {
            assert!(!st.success(), "start-up should fail");
            return log_of(dir);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("spinel kept running: {}", log_of(dir));
}

fn q(c: &mut redis::Connection, args: &[&[u8]]) -> RV {
    let mut cmd = redis::cmd(std::str::from_utf8(args[0]).expect("name"));
    for a in &args[1..] {
        cmd.arg(*a);
    }
    match cmd.query::<RV>(c) {
        Ok(v) => v,
        Err(e) => RV::SimpleString(format!("ERR: {}", e)),
    }
}

fn qs(c: &mut redis::Connection, args: &[&str]) -> RV {
    let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
    q(c, &a)
}

fn ok(c: &mut redis::Connection, args: &[&str]) {
    let r = qs(c, args);
    assert!(
        !matches!(&r, RV::SimpleString(s) if s.starts_with("ERR")),
        "{:?}: {:?}",
        args,
        r
    );
}

fn bytes(v: RV) -> Vec<u8> {
    match v {
        RV::BulkString(b) => b,
        RV::SimpleString(s) => s.into_bytes(),
        RV::Okay => b"OK".to_vec(),
        RV::Int(i) => i.to_string().into_bytes(),
        RV::Nil => b"(nil)".to_vec(),
        other => format!("{:?}", other).into_bytes(),
    }
}

fn list(v: RV) -> Vec<Vec<u8>> {
    match v {
        RV::Array(items) => items.into_iter().map(bytes).collect(),
        other => vec![bytes(other)],
    }
}

/// Writes every type, in two databases, with expiries, transactions,
/// in-place changes and deletions (what an incremental file records).
fn populate(c: &mut redis::Connection) {
    let long = "x".repeat(100);
    for cmd in [
        vec!["SET", "s", "hello"],
        vec!["SET", "n", "12345"],
        vec!["INCRBY", "n", "5"],
        vec!["SET", "long", long.as_str()],
        vec!["APPEND", "long", "tail"],
        vec!["SET", "e", "expiring", "PX", "100000000"],
        vec!["SET", "ek", "77", "EX", "100000"],
        vec!["SET", "gone", "1"],
        vec!["DEL", "gone"],
        vec!["RPUSH", "l", "a", "1", "-5", "300", "70000", "hello"],
        vec!["LPUSH", "l", "first"],
        vec!["LPOP", "l"],
        vec!["HSET", "h", "f1", "v1", "f2", "2", "f3", "-7"],
        vec!["HINCRBY", "h", "f2", "40"],
        vec!["HSET", "hlong", "f", long.as_str()],
        vec!["SADD", "si", "1", "2", "3", "-4"],
        vec!["SADD", "ss", "a", "b", "c", "1"],
        vec!["SREM", "ss", "b"],
        vec![
            "ZADD", "z", "1", "a", "2.5", "b", "-3", "c", "1e20", "d", "0.1", "e",
        ],
        vec!["ZINCRBY", "z", "2", "a"],
        vec!["EXPIRE", "h", "100000"],
        vec!["MULTI"],
        vec!["INCR", "counter"],
        vec!["RPUSH", "txlist", "x", "y"],
        vec!["EXEC"],
        vec!["SELECT", "1"],
        vec!["SET", "db1key", "v"],
        vec!["SADD", "db1set", "m"],
        vec!["SELECT", "0"],
    ] {
        ok(c, &cmd);
    }
    let rnd: Vec<u8> = (0..300u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    q(c, &[b"SET", b"rnd", &rnd]);
    q(c, &[b"SET", b"key with spaces\r\n", b"v a l"]);
    let mut args: Vec<String> = vec!["RPUSH".into(), "lbig".into()];
    for i in 0..1500 {
        args.push(format!("element-{}-{}", i, "y".repeat(i % 40)));
    }
    let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    ok(c, &a);
    let mut args: Vec<String> = vec!["HSET".into(), "hbig".into()];
    for i in 0..600 {
        args.push(format!("field{}", i));
        args.push(format!("{}", i * 3));
    }
    let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    ok(c, &a);
    let mut args: Vec<String> = vec!["SADD".into(), "sibig".into()];
    for i in 0..1000 {
        args.push(format!("{}", i * 7));
    }
    let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    ok(c, &a);
    let mut args: Vec<String> = vec!["ZADD".into(), "zbig".into()];
    for i in 0..300 {
        args.push(format!("{}", (i as f64) * 1.25 - 100.0));
        args.push(format!("member{}", i));
    }
    let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    ok(c, &a);
}

/// More writes after a rewrite (they land in the new incremental file).
fn populate_more(c: &mut redis::Connection) {
    for cmd in [
        vec!["INCR", "n"],
        vec!["RPUSH", "l", "after"],
        vec!["HDEL", "h", "f1"],
        vec!["ZREM", "z", "e"],
        vec!["SET", "late", "value"],
        vec!["PERSIST", "ek"],
        vec!["DEL", "hbig"],
        vec!["SELECT", "1"],
        vec!["SET", "db1late", "1"],
        vec!["SELECT", "0"],
    ] {
        ok(c, &cmd);
    }
}

/// (db, key) -> (type, contents, has a TTL).
type Dataset = BTreeMap<(u8, Vec<u8>), (Vec<u8>, Vec<Vec<u8>>, bool)>;

/// Everything observable about the dataset in dbs 0 and 1, from the
/// replies of read commands.
fn snapshot(c: &mut redis::Connection) -> Dataset {
    let mut out = BTreeMap::new();
    for db in 0..2u8 {
        qs(c, &["SELECT", &db.to_string()]);
        for k in list(qs(c, &["KEYS", "*"])) {
            let t = bytes(q(c, &[b"TYPE", &k]));
            let content = match t.as_slice() {
                b"string" => vec![bytes(q(c, &[b"GET", &k]))],
                b"list" => list(q(c, &[b"LRANGE", &k, b"0", b"-1"])),
                b"hash" => {
                    let v = list(q(c, &[b"HGETALL", &k]));
                    let mut pairs: Vec<Vec<u8>> = v
                        .chunks(2)
                        .map(|p| [p[0].clone(), b"=".to_vec(), p[1].clone()].concat())
                        .collect();
                    pairs.sort();
                    pairs
                }
                b"set" => {
                    let mut v = list(q(c, &[b"SMEMBERS", &k]));
                    v.sort();
                    v
                }
                b"zset" => list(q(c, &[b"ZRANGE", &k, b"0", b"-1", b"WITHSCORES"])),
                _ => vec![],
            };
            let ttl = matches!(q(c, &[b"PTTL", &k]), RV::Int(t) if t > 0);
            out.insert((db, k), (t, content, ttl));
        }
    }
    qs(c, &["SELECT", "0"]);
    out
}

fn info_field(c: &mut redis::Connection, name: &str) -> String {
    let text = bytes(qs(c, &["INFO", "persistence"]));
    let text = String::from_utf8_lossy(&text).into_owned();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{}:", name)))
        .unwrap_or("")
        .trim()
        .to_string()
}

fn wait_rewrite(c: &mut redis::Connection) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        // Both fields from one INFO reply.
        let text = bytes(qs(c, &["INFO", "persistence"]));
        let text = String::from_utf8_lossy(&text).into_owned();
        let idle = text
            .lines()
            .any(|l| l.trim() == "aof_rewrite_in_progress:0")
            && text.lines().any(|l| l.trim() == "aof_rewrite_scheduled:0");
        if idle {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("rewrite did not finish");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read dir").flatten() {
        std::fs::copy(e.path(), to.join(e.file_name())).expect("copy");
    }
}

fn manifest(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("appendonlydir/appendonly.aof.manifest")).unwrap_or_default()
}

/// Writes data into `from` (Valkey or Spinel) with a rewrite in the
/// middle, stops it, and loads its directory into the other server.
fn cross_load(from_valkey: bool, preamble: &str) {
    let src = temp_dir("src");
    let dst = temp_dir("dst");
    let args = ["--appendonly", "yes", "--aof-use-rdb-preamble", preamble];
    let p = if from_valkey {
        Proc::valkey(&src, &args)
    } else {
        Proc::spinel(&src, &args)
    };
    let mut c = p.conn();
    populate(&mut c);
    ok(&mut c, &["BGREWRITEAOF"]);
    wait_rewrite(&mut c);
    populate_more(&mut c);
    let before = snapshot(&mut c);
    assert!(before.len() > 20);
    drop(c);
    p.shutdown();
    let m = manifest(&src);
    assert!(m.contains(" type b\n") && m.contains(" type i\n"), "{}", m);
    let ext = if preamble == "yes" {
        ".base.rdb"
    } else {
        ".base.aof"
    };
    assert!(m.contains(ext), "{}", m);
    copy_dir(&src.join("appendonlydir"), &dst.join("appendonlydir"));
    let q = if from_valkey {
        Proc::spinel(&dst, &["--appendonly", "yes"])
    } else {
        Proc::valkey(&dst, &["--appendonly", "yes"])
    };
    let mut c = q.conn();
    let after = snapshot(&mut c);
    assert_eq!(after, before, "log: {}", log_of(&dst));
    drop(c);
    q.shutdown();
    let _ = std::fs::remove_dir_all(&src);
    let _ = std::fs::remove_dir_all(&dst);
}

#[test]
fn valkey_aof_dir_loads_into_spinel() {
    if !valkey_available() {
        eprintln!("valkey-server not installed; skipping");
        return;
    }
    cross_load(true, "yes");
}

#[test]
fn valkey_aof_dir_without_preamble_loads_into_spinel() {
    if !valkey_available() {
        eprintln!("valkey-server not installed; skipping");
        return;
    }
    cross_load(true, "no");
}

#[test]
fn spinel_aof_dir_loads_into_valkey() {
    if !valkey_available() {
        eprintln!("valkey-server not installed; skipping");
        return;
    }
    cross_load(false, "yes");
}

#[test]
fn spinel_aof_dir_without_preamble_loads_into_valkey() {
    if !valkey_available() {
        eprintln!("valkey-server not installed; skipping");
        return;
    }
    cross_load(false, "no");
}

#[test]
fn restart_keeps_data_and_creates_files_like_redis() {
    let dir = temp_dir("restart");
    let p = Proc::spinel(&dir, &["--appendonly", "yes"]);
    assert_eq!(
        manifest(&dir),
        "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
    );
    let mut c = p.conn();
    populate(&mut c);
    let before = snapshot(&mut c);
    drop(c);
    p.shutdown();
    let p = Proc::spinel(&dir, &["--appendonly", "yes"]);
    let mut c = p.conn();
    assert_eq!(snapshot(&mut c), before);
    assert_eq!(info_field(&mut c, "aof_enabled"), "1");
    let log = log_of(&dir);
    assert!(log.contains("DB loaded from incr file appendonly.aof.1.incr.aof"));
    assert!(log.contains("Opening AOF incr file appendonly.aof.1.incr.aof on server start"));
    // A rewrite: new base and incr, the old files deleted.
    assert_eq!(
        bytes(qs(&mut c, &["BGREWRITEAOF"])),
        b"Background append only file rewriting started"
    );
    wait_rewrite(&mut c);
    assert_eq!(
        manifest(&dir),
        "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n"
    );
    assert!(!dir.join("appendonlydir/appendonly.aof.1.incr.aof").exists());
    assert!(!dir.join("appendonlydir/appendonly.aof.1.base.rdb").exists());
    assert_eq!(info_field(&mut c, "aof_rewrites"), "1");
    assert_eq!(info_field(&mut c, "aof_last_bgrewrite_status"), "ok");
    drop(c);
    p.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn aof_disable_auto_gc_keeps_history() {
    let dir = temp_dir("gc");
    let p = Proc::spinel(
        &dir,
        &["--appendonly", "yes", "--aof-disable-auto-gc", "yes"],
    );
    let mut c = p.conn();
    ok(&mut c, &["SET", "a", "1"]);
    ok(&mut c, &["BGREWRITEAOF"]);
    wait_rewrite(&mut c);
    assert_eq!(
        manifest(&dir),
        "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.1.incr.aof seq 1 type h\nfile appendonly.aof.1.base.rdb seq 1 type h\nfile appendonly.aof.2.incr.aof seq 2 type i\n"
    );
    drop(c);
    p.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}

fn resp(args: &[&str]) -> String {
    let mut s = format!("*{}\r\n", args.len());
    for a in args {
        s.push_str(&format!("${}\r\n{}\r\n", a.len(), a));
    }
    s
}

#[test]
fn old_single_file_aof_is_loaded_and_migrated() {
    let dir = temp_dir("old");
    let mut text = String::new();
    text.push_str(&resp(&["SELECT", "0"]));
    text.push_str(&resp(&["SET", "a", "1"]));
    text.push_str(&resp(&["RPUSH", "l", "x", "y"]));
    text.push_str("#TS:1700000000\r\n");
    text.push_str(&resp(&["MULTI"]));
    text.push_str(&resp(&["INCR", "a"]));
    text.push_str(&resp(&["EXEC"]));
    std::fs::write(dir.join("appendonly.aof"), &text).expect("write");
    let p = Proc::spinel(&dir, &["--appendonly", "yes"]);
    let mut c = p.conn();
    assert_eq!(bytes(qs(&mut c, &["GET", "a"])), b"2");
    assert_eq!(
        list(qs(&mut c, &["LRANGE", "l", "0", "-1"])),
        vec![b"x".to_vec(), b"y".to_vec()]
    );
    assert!(!dir.join("appendonly.aof").exists());
    assert!(dir.join("appendonlydir/appendonly.aof").exists());
    assert_eq!(
        manifest(&dir),
        "file appendonly.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
    );
    assert!(log_of(&dir).contains(
        "Successfully migrated an old-style AOF file (appendonly.aof) into the AOF directory (appendonlydir)."
    ));
    ok(&mut c, &["SET", "b", "2"]);
    drop(c);
    p.shutdown();
    let p = Proc::spinel(&dir, &["--appendonly", "yes"]);
    let mut c = p.conn();
    assert_eq!(bytes(qs(&mut c, &["GET", "a"])), b"2");
    assert_eq!(bytes(qs(&mut c, &["GET", "b"])), b"2");
    drop(c);
    p.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn old_single_file_with_rdb_preamble() {
    // An RDB image (Spinel's own base) followed by an AOF tail, as Redis
    // 4-6 wrote with aof-use-rdb-preamble.
    let gen = temp_dir("gen");
    let p = Proc::spinel(&gen, &["--appendonly", "yes"]);
    let mut c = p.conn();
    ok(&mut c, &["SET", "from_rdb", "1"]);
    ok(&mut c, &["HSET", "h", "f", "v"]);
    ok(&mut c, &["BGREWRITEAOF"]);
    wait_rewrite(&mut c);
    drop(c);
    p.shutdown();
    let mut img = std::fs::read(gen.join("appendonlydir/appendonly.aof.2.base.rdb")).expect("base");
    assert!(img.starts_with(b"REDIS"));
    img.extend_from_slice(resp(&["SELECT", "0"]).as_bytes());
    img.extend_from_slice(resp(&["SET", "from_tail", "2"]).as_bytes());
    let dir = temp_dir("oldpre");
    std::fs::write(dir.join("appendonly.aof"), &img).expect("write");
    let p = Proc::spinel(&dir, &["--appendonly", "yes"]);
    let mut c = p.conn();
    assert_eq!(bytes(qs(&mut c, &["GET", "from_rdb"])), b"1");
    assert_eq!(bytes(qs(&mut c, &["GET", "from_tail"])), b"2");
    assert_eq!(bytes(qs(&mut c, &["HGET", "h", "f"])), b"v");
    let log = log_of(&dir);
    assert!(
        log.contains("Reading RDB preamble from AOF file..."),
        "{}",
        log
    );
    assert!(log.contains("Reading the remaining AOF tail..."), "{}", log);
    drop(c);
    p.shutdown();
    let _ = std::fs::remove_dir_all(&gen);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A directory whose incremental file ends in the middle of a command.
fn truncated_dir(tag: &str) -> (PathBuf, u64) {
    let dir = temp_dir(tag);
    let p = Proc::spinel(&dir, &["--appendonly", "yes"]);
    let mut c = p.conn();
    ok(&mut c, &["SET", "a", "1"]);
    ok(&mut c, &["SET", "b", "2"]);
    drop(c);
    p.shutdown();
    let incr = dir.join("appendonlydir/appendonly.aof.1.incr.aof");
    let good = std::fs::metadata(&incr).expect("incr").len();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&incr)
        .expect("open");
    use std::io::Write;
    f.write_all(b"*3\r\n$3\r\nSET\r\n$1\r\nc\r\n$5\r\nab")
        .expect("write");
    (dir, good)
}

#[test]
fn truncated_tail_loads_with_aof_load_truncated_yes() {
    let (dir, good) = truncated_dir("trunc-yes");
    let p = Proc::spinel(
        &dir,
        &["--appendonly", "yes", "--aof-load-truncated", "yes"],
    );
    let mut c = p.conn();
    assert_eq!(bytes(qs(&mut c, &["GET", "a"])), b"1");
    assert_eq!(bytes(qs(&mut c, &["GET", "b"])), b"2");
    assert_eq!(bytes(qs(&mut c, &["EXISTS", "c"])), b"0");
    let log = log_of(&dir);
    assert!(
        log.contains(
            "!!! Warning: short read while loading the AOF file appendonly.aof.1.incr.aof!!!"
        ),
        "{}",
        log
    );
    assert!(
        log.contains(&format!(
            "!!! Truncating the AOF appendonly.aof.1.incr.aof at offset {} !!!",
            good
        )),
        "{}",
        log
    );
    assert!(log.contains(
        "AOF appendonly.aof.1.incr.aof loaded anyway because aof-load-truncated is enabled"
    ));
    // Appending goes on after the cut: the next start sees no damage.
    ok(&mut c, &["SET", "d", "4"]);
    drop(c);
    p.shutdown();
    let p = Proc::spinel(&dir, &["--appendonly", "yes", "--aof-load-truncated", "no"]);
    let mut c = p.conn();
    assert_eq!(
        String::from_utf8_lossy(&bytes(qs(&mut c, &["GET", "d"]))),
        "4",
        "{}",
        log_of(&dir)
    );
    drop(c);
    p.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn truncated_tail_stops_start_up_with_aof_load_truncated_no() {
    let (dir, _) = truncated_dir("trunc-no");
    let log = spinel_fails(&dir, &["--appendonly", "yes", "--aof-load-truncated", "no"]);
    assert!(
        log.contains("Unexpected end of file reading the append only file appendonly.aof.1.incr.aof. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server."),
        "{}",
        log
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn corrupt_files_stop_start_up() {
    // Garbage in the middle of an incremental file.
    let dir = temp_dir("corrupt");
    let p = Proc::spinel(&dir, &["--appendonly", "yes"]);
    let mut c = p.conn();
    ok(&mut c, &["SET", "a", "1"]);
    drop(c);
    p.shutdown();
    let incr = dir.join("appendonlydir/appendonly.aof.1.incr.aof");
    let mut b = std::fs::read(&incr).expect("incr");
    let at = b.len();
    b.extend_from_slice(b"garbage\r\n");
    b.extend_from_slice(resp(&["SET", "b", "2"]).as_bytes());
    std::fs::write(&incr, &b).expect("write");
    let log = spinel_fails(&dir, &["--appendonly", "yes"]);
    assert!(
        log.contains("Bad file format reading the append only file appendonly.aof.1.incr.aof"),
        "{}",
        log
    );
    assert!(
        log.contains(&format!(
            "offset {} of the append only file appendonly.aof.1.incr.aof",
            at
        )),
        "{}",
        log
    );
    // An unknown command.
    std::fs::write(&incr, resp(&["NOSUCHCMD", "x"])).expect("write");
    let log = spinel_fails(&dir, &["--appendonly", "yes"]);
    assert!(
        log.contains(
            "Unknown command 'NOSUCHCMD' reading the append only file appendonly.aof.1.incr.aof"
        ),
        "{}",
        log
    );
    // A damaged RDB base.
    std::fs::write(&incr, b"").expect("write");
    let base = dir.join("appendonlydir/appendonly.aof.1.base.rdb");
    let mut img = std::fs::read(&base).expect("base");
    let n = img.len();
    img.truncate(n - 5);
    std::fs::write(&base, &img).expect("write");
    let log = spinel_fails(&dir, &["--appendonly", "yes"]);
    assert!(
        log.contains(
            "Error reading the RDB base file appendonly.aof.1.base.rdb, AOF loading aborted"
        ),
        "{}",
        log
    );
    // Invalid manifests.
    for (text, msg) in [
        ("", "Found an empty AOF manifest"),
        ("file a seq 1 type x\n", "Unknown AOF file type"),
        (
            "file a/b seq 1 type b\n",
            "File can't be a path, just a filename",
        ),
        ("file a seq 1\n", "Invalid AOF manifest file format"),
    ] {
        std::fs::write(dir.join("appendonlydir/appendonly.aof.manifest"), text).expect("write");
        let log = spinel_fails(&dir, &["--appendonly", "yes"]);
        assert!(log.contains(msg), "{}: {}", msg, log);
    }
    // A file the manifest lists that is missing.
    std::fs::write(
        dir.join("appendonlydir/appendonly.aof.manifest"),
        "file appendonly.aof.9.base.rdb seq 9 type b\n",
    )
    .expect("write");
    let log = spinel_fails(&dir, &["--appendonly", "yes"]);
    assert!(log.contains("appendonly.aof.9.base.rdb"), "{}", log);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bgrewriteaof_under_concurrent_writes_keeps_everything() {
    let dir = temp_dir("concurrent");
    let p = Proc::spinel(&dir, &["--appendonly", "yes", "--appendfsync", "no"]);
    let port = p.port;
    let writers: Vec<_> = (0..3)
        .map(|t| {
            std::thread::spawn(move || {
                let mut c = redis::Client::open(format!("redis://127.0.0.1:{}/", port))
                    .and_then(|c| c.get_connection())
                    .expect("conn");
                for i in 0..3000 {
                    qs(&mut c, &["INCR", "counter"]);
                    qs(&mut c, &["RPUSH", &format!("list{}", t), &i.to_string()]);
                    qs(
                        &mut c,
                        &[
                            "HSET",
                            &format!("h{}", i % 50),
                            &format!("f{}", t),
                            &i.to_string(),
                        ],
                    );
                    qs(
                        &mut c,
                        &["SET", &format!("k{}:{}", t, i % 500), &i.to_string()],
                    );
                }
            })
        })
        .collect();
    let mut c = p.conn();
    let mut rewrites = 0;
    let mut preamble = true;
    while writers.iter().any(|w| !w.is_finished()) {
        // Alternate both base formats.
        ok(
            &mut c,
            &[
                "CONFIG",
                "SET",
                "aof-use-rdb-preamble",
                if preamble { "yes" } else { "no" },
            ],
        );
        preamble = !preamble;
        let r = bytes(qs(&mut c, &["BGREWRITEAOF"]));
        if r == b"Background append only file rewriting started" {
            rewrites += 1;
        }
        wait_rewrite(&mut c);
        std::thread::sleep(Duration::from_millis(30));
    }
    for w in writers {
        w.join().expect("writer");
    }
    assert!(rewrites >= 1);
    assert_eq!(bytes(qs(&mut c, &["GET", "counter"])), b"9000");
    let before = snapshot(&mut c);
    drop(c);
    p.shutdown();
    let p = Proc::spinel(&dir, &["--appendonly", "yes"]);
    let mut c = p.conn();
    assert_eq!(snapshot(&mut c), before);
    assert_eq!(bytes(qs(&mut c, &["GET", "counter"])), b"9000");
    assert_eq!(bytes(qs(&mut c, &["LLEN", "list0"])), b"3000");
    drop(c);
    p.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bgrewriteaof_replies_like_redis() {
    let dir = temp_dir("replies");
    let p = Proc::spinel(&dir, &["--appendonly", "yes"]);
    // Enough keys that an image takes a while; the checks below are
    // pipelined right behind the command that starts one.
    let mut raw = common::Conn::new(p.port);
    let mut batch = Vec::new();
    for i in 0..50_000 {
        batch.extend_from_slice(&common::encode(&[
            b"SET",
            format!("key:{}", i).as_bytes(),
            b"some value to save",
        ]));
    }
    raw.send_raw(&batch);
    for _ in 0..50_000 {
        assert_eq!(raw.read_reply(), "+OK\r\n");
    }
    let mut pipe = common::encode(&[b"BGREWRITEAOF"]);
    pipe.extend_from_slice(&common::encode(&[b"BGREWRITEAOF"]));
    pipe.extend_from_slice(&common::encode(&[b"BGSAVE"]));
    raw.send_raw(&pipe);
    assert_eq!(
        raw.read_reply(),
        "+Background append only file rewriting started\r\n"
    );
    assert_eq!(
        raw.read_reply(),
        "-ERR Background append only file rewriting already in progress\r\n"
    );
    assert_eq!(
        raw.read_reply(),
        "-ERR An AOF log rewriting in progress: can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.\r\n"
    );
    let mut c = p.conn();
    wait_rewrite(&mut c);
    assert_eq!(info_field(&mut c, "aof_rewrites"), "1");
    // While a BGSAVE runs, the rewrite is scheduled.
    let mut pipe = common::encode(&[b"BGSAVE"]);
    pipe.extend_from_slice(&common::encode(&[b"BGREWRITEAOF"]));
    raw.send_raw(&pipe);
    assert_eq!(raw.read_reply(), "+Background saving started\r\n");
    assert_eq!(
        raw.read_reply(),
        "+Background append only file rewriting scheduled\r\n"
    );
    wait_rewrite(&mut c);
    assert_eq!(info_field(&mut c, "aof_rewrites"), "2", "{}", log_of(&dir));
    drop(c);
    p.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn config_set_appendonly_at_run_time_then_restart() {
    let dir = temp_dir("runtime");
    let p = Proc::spinel(&dir, &["--appendonly", "no"]);
    let mut c = p.conn();
    populate(&mut c);
    assert_eq!(info_field(&mut c, "aof_enabled"), "0");
    ok(&mut c, &["CONFIG", "SET", "appendonly", "yes"]);
    wait_rewrite(&mut c);
    assert_eq!(info_field(&mut c, "aof_enabled"), "1");
    populate_more(&mut c);
    let before = snapshot(&mut c);
    assert_eq!(
        manifest(&dir),
        "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
    );
    // Off and on again: a new base, the sequence goes on.
    ok(&mut c, &["CONFIG", "SET", "appendonly", "no"]);
    assert_eq!(info_field(&mut c, "aof_enabled"), "0");
    ok(&mut c, &["SET", "while_off", "1"]);
    ok(&mut c, &["CONFIG", "SET", "appendonly", "yes"]);
    wait_rewrite(&mut c);
    ok(&mut c, &["SET", "after_on", "1"]);
    assert_eq!(
        manifest(&dir),
        "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n"
    );
    let mut before = before;
    for k in ["while_off", "after_on"] {
        before.insert(
            (0, k.as_bytes().to_vec()),
            (b"string".to_vec(), vec![b"1".to_vec()], false),
        );
    }
    drop(c);
    p.shutdown();
    let p = Proc::spinel(&dir, &["--appendonly", "yes"]);
    let mut c = p.conn();
    assert_eq!(snapshot(&mut c), before);
    drop(c);
    p.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn automatic_rewrite_on_growth() {
    let dir = temp_dir("auto");
    let p = Proc::spinel(
        &dir,
        &[
            "--appendonly",
            "yes",
            "--auto-aof-rewrite-percentage",
            "100",
            "--auto-aof-rewrite-min-size",
            "4096",
        ],
    );
    let mut c = p.conn();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut i = 0;
    while info_field(&mut c, "aof_rewrites") == "0" {
        assert!(Instant::now() < deadline, "no automatic rewrite");
        ok(
            &mut c,
            &["SET", &format!("key{}", i % 20), &"v".repeat(100)],
        );
        i += 1;
    }
    wait_rewrite(&mut c);
    assert!(log_of(&dir).contains("Starting automatic rewriting of AOF on"));
    let before = snapshot(&mut c);
    drop(c);
    p.shutdown();
    let p = Proc::spinel(&dir, &["--appendonly", "yes"]);
    let mut c = p.conn();
    assert_eq!(snapshot(&mut c), before);
    drop(c);
    p.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn appendonly_toggled_during_a_rewrite_stays_consistent() {
    let dir = temp_dir("toggle");
    let p = Proc::spinel(&dir, &["--appendonly", "yes"]);
    let mut raw = common::Conn::new(p.port);
    let mut batch = Vec::new();
    for i in 0..50_000 {
        batch.extend_from_slice(&common::encode(&[
            b"SET",
            format!("k{}", i).as_bytes(),
            b"v",
        ]));
    }
    raw.send_raw(&batch);
    for _ in 0..50_000 {
        assert_eq!(raw.read_reply(), "+OK\r\n");
    }
    // Off and on again while the rewrite's image is being written.
    let mut pipe = Vec::new();
    for cmd in [
        &[&b"BGREWRITEAOF"[..]][..],
        &[b"INCR", b"during"],
        &[b"CONFIG", b"SET", b"appendonly", b"no"],
        &[b"INCR", b"during"],
        &[b"CONFIG", b"SET", b"appendonly", b"yes"],
        &[b"INCR", b"during"],
    ] {
        pipe.extend_from_slice(&common::encode(cmd));
    }
    raw.send_raw(&pipe);
    assert_eq!(
        raw.read_reply(),
        "+Background append only file rewriting started\r\n"
    );
    for _ in 0..5 {
        let r = raw.read_reply();
        assert!(!r.starts_with('-'), "{}", r);
    }
    let mut c = p.conn();
    wait_rewrite(&mut c);
    assert_eq!(info_field(&mut c, "aof_enabled"), "1");
    ok(&mut c, &["INCR", "during"]);
    assert_eq!(bytes(qs(&mut c, &["GET", "during"])), b"4");
    drop(c);
    p.shutdown();
    let p = Proc::spinel(&dir, &["--appendonly", "yes"]);
    let mut c = p.conn();
    let log = log_of(&dir);
    assert_eq!(bytes(qs(&mut c, &["GET", "during"])), b"4", "{}", log);
    assert_eq!(bytes(qs(&mut c, &["DBSIZE"])), b"50001", "{}", log);
    assert_eq!(bytes(qs(&mut c, &["GET", "k49999"])), b"v");
    drop(c);
    p.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bgrewriteaof_with_aof_off_writes_a_base_only() {
    let dir = temp_dir("off");
    let p = Proc::spinel(&dir, &["--appendonly", "yes"]);
    let mut c = p.conn();
    for _ in 0..5 {
        ok(&mut c, &["INCR", "a"]);
    }
    drop(c);
    p.shutdown();
    let p = Proc::spinel(&dir, &["--appendonly", "yes"]);
    let mut c = p.conn();
    // The replayed commands count as changes, as in Redis.
    assert_eq!(info_field(&mut c, "rdb_changes_since_last_save"), "5");
    ok(&mut c, &["CONFIG", "SET", "appendonly", "no"]);
    ok(&mut c, &["INCR", "a"]);
    assert_eq!(
        bytes(qs(&mut c, &["BGREWRITEAOF"])),
        b"Background append only file rewriting started"
    );
    wait_rewrite(&mut c);
    assert_eq!(
        manifest(&dir),
        "file appendonly.aof.2.base.rdb seq 2 type b\n"
    );
    let names: Vec<String> = std::fs::read_dir(dir.join("appendonlydir"))
        .expect("dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{:?}", names);
    drop(c);
    p.shutdown();
    let p = Proc::spinel(&dir, &["--appendonly", "yes"]);
    let mut c = p.conn();
    assert_eq!(bytes(qs(&mut c, &["GET", "a"])), b"6");
    assert_eq!(
        manifest(&dir),
        "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
    );
    drop(c);
    p.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn truncated_file_that_is_not_the_last_stops_start_up() {
    let dir = temp_dir("trunc-mid");
    let p = Proc::spinel(
        &dir,
        &[
            "--appendonly",
            "yes",
            "--aof-use-rdb-preamble",
            "no",
            "--aof-timestamp-enabled",
            "yes",
        ],
    );
    let mut c = p.conn();
    ok(&mut c, &["SET", "a", "1"]);
    ok(&mut c, &["BGREWRITEAOF"]);
    wait_rewrite(&mut c);
    ok(&mut c, &["SET", "b", "2"]);
    drop(c);
    p.shutdown();
    let base = dir.join("appendonlydir/appendonly.aof.2.base.aof");
    let text = std::fs::read(&base).expect("base");
    assert!(
        text.starts_with(b"#TS:"),
        "{}",
        String::from_utf8_lossy(&text)
    );
    // The base loads (annotations skipped) ...
    let p = Proc::spinel(&dir, &["--appendonly", "yes"]);
    let mut c = p.conn();
    assert_eq!(bytes(qs(&mut c, &["GET", "a"])), b"1");
    assert_eq!(bytes(qs(&mut c, &["GET", "b"])), b"2");
    drop(c);
    p.shutdown();
    // ... but cut short, it is not the last file: fatal.
    let mut cut = text.clone();
    cut.truncate(text.len() - 3);
    std::fs::write(&base, &cut).expect("write");
    let log = spinel_fails(
        &dir,
        &["--appendonly", "yes", "--aof-load-truncated", "yes"],
    );
    assert!(
        log.contains("Fatal error: the truncated file is not the last file"),
        "{}",
        log
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Nothing expires while the AOF replays (Redis's `server.loading`): a key
/// whose PXAT has passed but that a later record made persistent survives,
/// an already-passed PEXPIREAT sets the time instead of deleting, and keys
/// whose time has passed are gone once the server runs.
#[test]
fn keys_do_not_expire_while_loading() {
    let dir = temp_dir("loadexp");
    let mut text = String::new();
    text.push_str(&resp(&["SELECT", "0"]));
    text.push_str(&resp(&["SET", "kept", "v", "PXAT", "1000"]));
    text.push_str(&resp(&["SET", "gone", "v", "PXAT", "1000"]));
    text.push_str(&resp(&["SET", "viaexpire", "v"]));
    text.push_str(&resp(&["PEXPIREAT", "viaexpire", "1000"]));
    text.push_str(&resp(&["PERSIST", "kept"]));
    text.push_str(&resp(&["PERSIST", "viaexpire"]));
    text.push_str(&resp(&["RPUSH", "l", "a"]));
    text.push_str(&resp(&["PEXPIREAT", "l", "1000"]));
    text.push_str(&resp(&["RPUSH", "l", "b"]));
    std::fs::write(dir.join("appendonly.aof"), &text).expect("write");
    let p = Proc::spinel(&dir, &["--appendonly", "yes"]);
    let mut c = p.conn();
    assert_eq!(bytes(qs(&mut c, &["GET", "kept"])), b"v");
    assert_eq!(bytes(qs(&mut c, &["GET", "viaexpire"])), b"v");
    assert_eq!(qs(&mut c, &["EXISTS", "gone"]), RV::Int(0));
    // The list kept its elements through the replay, then expired.
    assert_eq!(qs(&mut c, &["EXISTS", "l"]), RV::Int(0));
    drop(c);
    p.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}
