//! RDB persistence and DUMP/RESTORE, checked against Valkey 8.1 (Redis 7.2
//! formats): Spinel's files load into Valkey and pass its RDB checker,
//! Valkey's files load into Spinel, DUMP payloads cross both ways (and are
//! byte-identical for the compact encodings), restarts keep the data,
//! damaged files stop start-up with an error instead of a panic.

mod common;
use common::{temp_dir, valkey_available, VALKEY};

use redis::Value as RV;
use std::collections::BTreeMap;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A server process (Spinel or Valkey) in a given directory.
struct Proc {
    child: Child,
    port: u16,
}

impl Proc {
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
            .arg("--appendonly")
            .arg("no")
            .arg("--logfile")
            .arg(dir.join("server.log"));
        for a in extra {
            cmd.arg(a);
        }
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        (cmd.spawn().expect("spawn server"), port)
    }

    fn start(bin: &str, dir: &Path, extra: &[&str]) -> Proc {
        let (mut child, port) = Self::spawn(bin, dir, extra);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Proc { child, port };
            }
            if let Ok(Some(st)) = child.try_wait() {
                panic!(
                    "{} exited with {} during start-up: {}",
                    bin,
                    st,
                    std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("{} did not start", bin);
    }

    fn spinel(dir: &Path, extra: &[&str]) -> Proc {
        Self::start(env!("CARGO_BIN_EXE_spinel-server"), dir, extra)
    }

    fn valkey(dir: &Path) -> Proc {
        Self::start(VALKEY, dir, &[])
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

fn populate(c: &mut redis::Connection) {
    let long = "x".repeat(100);
    let rnd: Vec<u8> = (0..300u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    for cmd in [
        vec!["SET", "s", "hello"],
        vec!["SET", "n", "12345"],
        vec!["SET", "neg", "-42"],
        vec!["SET", "bigint", "12345678901234"],
        vec!["SET", "long", long.as_str()],
        vec!["SET", "e", "expiring", "PX", "100000000"],
        vec!["SET", "ek", "77", "EX", "100000"],
        vec![
            "RPUSH",
            "l",
            "a",
            "1",
            "-5",
            "300",
            "70000",
            "hello",
            "-100000",
            "5000000000",
        ],
        vec!["HSET", "h", "f1", "v1", "f2", "2", "f3", "-7"],
        vec!["HSET", "hlong", "f", long.as_str()],
        vec!["SADD", "si", "1", "2", "3", "-4"],
        vec!["SADD", "swide", "1", "9000000000"],
        vec!["SADD", "ss", "a", "b", "c", "1"],
        vec![
            "ZADD", "z", "1", "a", "2.5", "b", "-3", "c", "1e20", "d", "0.1", "e",
        ],
        vec!["SELECT", "1"],
        vec!["SET", "db1key", "v"],
        vec!["SELECT", "0"],
    ] {
        let r = qs(c, &cmd);
        assert!(
            !matches!(&r, RV::SimpleString(s) if s.starts_with("ERR")),
            "{:?}: {:?}",
            cmd,
            r
        );
    }
    q(c, &[b"SET", b"rnd", &rnd]);
    let mut args: Vec<String> = vec!["RPUSH".into(), "lbig".into()];
    for i in 0..1500 {
        args.push(format!("element-{}-{}", i, "y".repeat(i % 40)));
    }
    let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    qs(c, &a);
    let mut args: Vec<String> = vec!["HSET".into(), "hbig".into()];
    for i in 0..600 {
        args.push(format!("field{}", i));
        args.push(format!("{}", i * 3));
    }
    let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    qs(c, &a);
    let mut args: Vec<String> = vec!["SADD".into(), "sibig".into()];
    for i in 0..1000 {
        args.push(format!("{}", i * 7));
    }
    let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    qs(c, &a);
    let mut args: Vec<String> = vec!["SADD".into(), "ssbig".into()];
    for i in 0..200 {
        args.push(format!("m{}", i));
    }
    let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    qs(c, &a);
    let mut args: Vec<String> = vec!["ZADD".into(), "zbig".into()];
    for i in 0..300 {
        args.push(format!("{}", (i as f64) * 1.25 - 100.0));
        args.push(format!("member{}", i));
    }
    let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    qs(c, &a);
}

/// (db, key) -> (type, encoding, contents, has a TTL).
type Dataset = BTreeMap<(u8, Vec<u8>), (Vec<u8>, Vec<u8>, Vec<Vec<u8>>, bool)>;

/// Everything observable about the dataset in dbs 0 and 1: per key its
/// type, encoding, contents and whether it has a TTL.
fn snapshot(c: &mut redis::Connection) -> Dataset {
    let mut out = BTreeMap::new();
    for db in 0..2u8 {
        qs(c, &["SELECT", &db.to_string()]);
        for k in list(qs(c, &["KEYS", "*"])) {
            let t = bytes(q(c, &[b"TYPE", &k]));
            let enc = bytes(q(c, &[b"OBJECT", b"ENCODING", &k]));
            let content = match t.as_slice() {
                b"string" => vec![bytes(q(c, &[b"GET", &k]))],
                b"list" => list(q(c, &[b"LRANGE", &k, b"0", b"-1"])),
                b"hash" => {
                    let mut v = list(q(c, &[b"HGETALL", &k]));
                    let mut pairs: Vec<Vec<u8>> = v
                        .chunks(2)
                        .map(|p| [p[0].clone(), b"=".to_vec(), p[1].clone()].concat())
                        .collect();
                    pairs.sort();
                    v.clear();
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
            out.insert((db, k), (t, enc, content, ttl));
        }
    }
    qs(c, &["SELECT", "0"]);
    out
}

fn check_rdb_with_valkey(dir: &Path) {
    // valkey-server acts as valkey-check-rdb when started under that name.
    let link = dir.join("valkey-check-rdb");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(VALKEY, &link).expect("symlink");
    let out = Command::new(&link)
        .arg(dir.join("dump.rdb"))
        .output()
        .expect("run checker");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("RDB looks OK"), "checker: {}", text);
}

#[test]
fn spinel_rdb_loads_into_valkey_and_restarts() {
    if !valkey_available() {
        eprintln!("valkey-server not installed; skipping");
        return;
    }
    let dir = temp_dir("save");
    let sp = Proc::spinel(&dir, &[]);
    let mut c = sp.conn();
    populate(&mut c);
    let before = snapshot(&mut c);
    assert_eq!(qs(&mut c, &["SAVE"]), RV::Okay);
    assert!(matches!(qs(&mut c, &["LASTSAVE"]), RV::Int(t) if t > 0));
    check_rdb_with_valkey(&dir);
    drop(c);
    drop(sp);

    let vdir = temp_dir("valkey-load");
    std::fs::copy(dir.join("dump.rdb"), vdir.join("dump.rdb")).expect("copy");
    let vk = Proc::valkey(&vdir);
    let mut vc = vk.conn();
    assert_eq!(snapshot(&mut vc), before, "valkey's view of Spinel's file");
    drop(vc);
    drop(vk);

    let sp = Proc::spinel(&dir, &[]);
    let mut c = sp.conn();
    assert_eq!(snapshot(&mut c), before, "after restart");
    let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
    assert!(
        log.contains("Loading RDB produced by version 7.2.4"),
        "{}",
        log
    );
    assert!(
        log.contains("Done loading RDB, keys loaded: 21, keys expired: 0."),
        "{}",
        log
    );
    assert!(log.contains("DB loaded from disk:"), "{}", log);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&vdir);
}

#[test]
fn valkey_rdb_loads_into_spinel() {
    if !valkey_available() {
        return;
    }
    let vdir = temp_dir("valkey-save");
    let vk = Proc::valkey(&vdir);
    let mut vc = vk.conn();
    populate(&mut vc);
    // An already expired key in the file is dropped on load.
    qs(&mut vc, &["SET", "gone", "x", "PX", "300"]);
    let mut expected = snapshot(&mut vc);
    expected.retain(|(_, k), _| k != b"gone");
    assert_eq!(qs(&mut vc, &["SAVE"]), RV::Okay);
    drop(vc);
    drop(vk);
    std::thread::sleep(Duration::from_millis(400));

    let dir = temp_dir("spinel-load");
    std::fs::copy(vdir.join("dump.rdb"), dir.join("dump.rdb")).expect("copy");
    let sp = Proc::spinel(&dir, &[]);
    let mut c = sp.conn();
    assert_eq!(snapshot(&mut c), expected);
    let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
    assert!(log.contains("keys expired: 1."), "{}", log);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&vdir);
}

#[test]
fn dump_payloads_cross_both_ways() {
    if !valkey_available() {
        return;
    }
    let vdir = temp_dir("dump-vk");
    let vk = Proc::valkey(&vdir);
    let mut vc = vk.conn();
    let dir = temp_dir("dump-sp");
    let sp = Proc::spinel(&dir, &[]);
    let mut c = sp.conn();
    populate(&mut vc);
    populate(&mut c);
    let keys = list(qs(&mut vc, &["KEYS", "*"]));
    // Encodings whose bytes depend only on the contents (not on hash order).
    let identical = [
        "s", "n", "neg", "bigint", "long", "rnd", "e", "ek", "l", "lbig", "h", "hlong", "si",
        "swide", "ss", "z", "zbig",
    ];
    for k in &keys {
        let pv = bytes(q(&mut vc, &[b"DUMP", k]));
        let ps = bytes(q(&mut c, &[b"DUMP", k]));
        let name = String::from_utf8_lossy(k).into_owned();
        if identical.contains(&name.as_str()) {
            assert_eq!(ps, pv, "DUMP {} differs", name);
        }
        // Valkey's payload into Spinel and Spinel's into Valkey.
        let mut tmp = k.clone();
        tmp.extend_from_slice(b":restored");
        assert_eq!(
            q(&mut c, &[b"RESTORE", &tmp, b"0", &pv]),
            RV::Okay,
            "{}",
            name
        );
        assert_eq!(
            q(&mut vc, &[b"RESTORE", &tmp, b"0", &ps]),
            RV::Okay,
            "{}",
            name
        );
    }
    let a = snapshot(&mut c);
    let b = snapshot(&mut vc);
    for ((db, k), v) in &a {
        if k.ends_with(b":restored") {
            let mut orig = k.clone();
            orig.truncate(k.len() - 9);
            let o = &a[&(*db, orig.clone())];
            assert_eq!(
                (&v.0, &v.2),
                (&o.0, &o.2),
                "spinel {:?}",
                String::from_utf8_lossy(k)
            );
            let ov = &b[&(*db, k.clone())];
            assert_eq!(
                (&ov.0, &ov.2),
                (&o.0, &o.2),
                "valkey {:?}",
                String::from_utf8_lossy(k)
            );
        }
    }
    drop(c);
    drop(vc);
    drop(sp);
    drop(vk);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&vdir);
}

#[test]
fn restore_errors_match_redis() {
    let s = common::Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(c.cmd(&["SET", "k", "v"]), "+OK\r\n");
    let dump = c.cmd(&["DUMP", "k"]);
    let payload: Vec<u8> = {
        let mut r = s.redis();
        bytes(qs(&mut r, &["DUMP", "k"]))
    };
    assert!(dump.starts_with('$'));
    let mut r = s.redis();
    let err = |v: RV| format!("{:?}", v);
    assert!(err(q(&mut r, &[b"RESTORE", b"k", b"0", &payload])).contains("BUSYKEY"));
    assert!(err(q(&mut r, &[b"RESTORE", b"k2", b"-1", &payload]))
        .contains("Invalid TTL value, must be >= 0"));
    assert!(
        err(q(&mut r, &[b"RESTORE", b"k2", b"0", b"garbage-payload"]))
            .contains("DUMP payload version or checksum are wrong")
    );
    assert!(
        err(q(&mut r, &[b"RESTORE", b"k2", b"0", &payload, b"BOGUS"])).contains("syntax error")
    );
    assert!(err(q(
        &mut r,
        &[b"RESTORE", b"k2", b"0", &payload, b"FREQ", b"300"]
    ))
    .contains("Invalid FREQ value"));
    assert!(err(q(
        &mut r,
        &[b"RESTORE", b"k2", b"0", &payload, b"IDLETIME", b"-1"]
    ))
    .contains("Invalid IDLETIME value"));
    // A well-formed footer around a bad body.
    let mut bad = vec![0x02u8, 0x05, 0x01];
    bad.extend_from_slice(&11u16.to_le_bytes());
    let crc = crc64(&bad);
    bad.extend_from_slice(&crc.to_le_bytes());
    assert!(err(q(&mut r, &[b"RESTORE", b"k2", b"0", &bad])).contains("Bad data format"));
    assert_eq!(
        q(&mut r, &[b"RESTORE", b"k", b"0", &payload, b"REPLACE"]),
        RV::Okay
    );
    assert_eq!(q(&mut r, &[b"RESTORE", b"k3", b"5000", &payload]), RV::Okay);
    assert!(matches!(qs(&mut r, &["PTTL", "k3"]), RV::Int(t) if t > 4000 && t <= 5000));
    // An absolute time in the past: OK, and the key is not created.
    assert_eq!(
        q(&mut r, &[b"RESTORE", b"k4", b"1", &payload, b"ABSTTL"]),
        RV::Okay
    );
    assert_eq!(qs(&mut r, &["EXISTS", "k4"]), RV::Int(0));
    assert_eq!(qs(&mut r, &["DUMP", "nokey"]), RV::Nil);
}

/// Redis's CRC-64 (Jones), for building test payloads.
fn crc64(data: &[u8]) -> u64 {
    let mut crc = 0u64;
    for &b in data {
        crc ^= b as u64;
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x95ac_9329_ac4b_c9b5
            } else {
                crc >> 1
            };
        }
    }
    crc
}

fn start_fails(dir: &Path, expect: &str) {
    let (mut child, _) = Proc::spawn(env!("CARGO_BIN_EXE_spinel-server"), dir, &[]);
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Ok(Some(st)) = child.try_wait() {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("server started with a damaged file");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(!status.success());
    let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
    assert!(log.contains(expect), "{}", log);
    assert!(log.contains("dump.rdb"), "{}", log);
    assert!(!log.contains("panicked"), "{}", log);
}

#[test]
fn damaged_files_stop_start_up() {
    let dir = temp_dir("corrupt");
    {
        let sp = Proc::spinel(&dir, &[]);
        let mut c = sp.conn();
        populate(&mut c);
        assert_eq!(qs(&mut c, &["SAVE"]), RV::Okay);
    }
    let good = std::fs::read(dir.join("dump.rdb")).expect("rdb");
    std::fs::write(dir.join("dump.rdb"), &good[..good.len() / 2]).expect("write");
    start_fails(
        &dir,
        "Short read or OOM loading DB. Unrecoverable error, aborting now.",
    );
    let mut flipped = good.clone();
    let mid = flipped.len() - 20;
    flipped[mid] ^= 0x55;
    std::fs::write(dir.join("dump.rdb"), &flipped).expect("write");
    start_fails(&dir, "offset");
    let mut badsum = good.clone();
    let n = badsum.len();
    badsum[n - 1] ^= 1;
    std::fs::write(dir.join("dump.rdb"), &badsum).expect("write");
    start_fails(&dir, "Wrong RDB checksum");
    std::fs::write(dir.join("dump.rdb"), b"NOTREDIS").expect("write");
    start_fails(&dir, "offset");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bgsave_info_and_debug_reload() {
    let dir = temp_dir("bgsave");
    let sp = Proc::spinel(&dir, &["--enable-debug-command", "yes"]);
    let mut c = sp.conn();
    populate(&mut c);
    let before = snapshot(&mut c);
    let info = bytes(qs(&mut c, &["INFO", "persistence"]));
    assert!(String::from_utf8_lossy(&info).contains("rdb_changes_since_last_save:"));
    assert_eq!(bytes(qs(&mut c, &["BGSAVE"])), b"Background saving started");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let info =
            String::from_utf8_lossy(&bytes(qs(&mut c, &["INFO", "persistence"]))).into_owned();
        if info.contains("rdb_bgsave_in_progress:0") {
            assert!(info.contains("rdb_last_bgsave_status:ok"), "{}", info);
            assert!(info.contains("rdb_changes_since_last_save:0"), "{}", info);
            break;
        }
        assert!(Instant::now() < deadline, "BGSAVE did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(qs(&mut c, &["DEBUG", "RELOAD"]), RV::Okay);
    assert_eq!(snapshot(&mut c), before);
    drop(c);
    drop(sp);
    let sp = Proc::spinel(&dir, &[]);
    let mut c = sp.conn();
    assert_eq!(snapshot(&mut c), before);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bgsave_is_point_in_time_while_writing() {
    let dir = temp_dir("bgsave-pit");
    // 50us per key: the save takes about a second while the writes go on.
    let sp = Proc::spinel(&dir, &["--rdb-key-save-delay", "50"]);
    let mut c = sp.conn();
    let mut args: Vec<String> = vec!["MSET".into()];
    for i in 0..20000 {
        args.push(format!("key:{}", i));
        args.push("before".into());
    }
    let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    qs(&mut c, &a);
    assert_eq!(bytes(qs(&mut c, &["BGSAVE"])), b"Background saving started");
    // Writes right after the snapshot instant must not reach the file.
    let mut w = sp.conn();
    for i in 0..2000 {
        qs(&mut w, &["SET", &format!("key:{}", i * 10), "after"]);
    }
    let info = String::from_utf8_lossy(&bytes(qs(&mut c, &["INFO", "persistence"]))).into_owned();
    assert!(info.contains("rdb_bgsave_in_progress:1"), "{}", info);
    assert_eq!(
        format!("{:?}", qs(&mut c, &["SAVE"])),
        format!("{:?}", qs(&mut c, &["BGSAVE"]))
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while String::from_utf8_lossy(&bytes(qs(&mut c, &["INFO", "persistence"])))
        .contains("rdb_bgsave_in_progress:1")
    {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(c);
    drop(w);
    drop(sp);
    let sp = Proc::spinel(&dir, &[]);
    let mut c = sp.conn();
    assert_eq!(qs(&mut c, &["DBSIZE"]), RV::Int(20000));
    let after = list(qs(&mut c, &["KEYS", "*"]))
        .into_iter()
        .filter(|k| bytes(q(&mut c, &[b"GET", k])) == b"after")
        .count();
    assert_eq!(after, 0, "writes after BGSAVE started leaked into the file");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn save_points_and_shutdown_save() {
    let dir = temp_dir("savepoints");
    let sp = Proc::spinel(&dir, &["--save", "1", "1"]);
    let mut c = sp.conn();
    qs(&mut c, &["SET", "a", "1"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let info =
            String::from_utf8_lossy(&bytes(qs(&mut c, &["INFO", "persistence"]))).into_owned();
        if info.contains("rdb_changes_since_last_save:0") && dir.join("dump.rdb").exists() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "save point never fired: {}",
            info
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // SHUTDOWN saves when save points are set.
    qs(&mut c, &["SET", "b", "2"]);
    let _ = qs(&mut c, &["SHUTDOWN"]);
    drop(c);
    drop(sp);
    let sp = Proc::spinel(&dir, &[]);
    let mut c = sp.conn();
    assert_eq!(bytes(qs(&mut c, &["GET", "b"])), b"2");
    // RESTORE IDLETIME sets the access clock.
    let p = bytes(qs(&mut c, &["DUMP", "b"]));
    assert_eq!(
        q(
            &mut c,
            &[b"RESTORE", b"b", b"0", &p, b"REPLACE", b"IDLETIME", b"100"]
        ),
        RV::Okay
    );
    assert!(
        matches!(qs(&mut c, &["OBJECT", "IDLETIME", "b"]), RV::Int(t) if (100..=101).contains(&t))
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// (db, key) -> (type, contents, has a TTL).
type Contents = BTreeMap<(u8, Vec<u8>), (Vec<u8>, Vec<Vec<u8>>, bool)>;

/// Type and contents only (encodings differ between Redis 7.0 and 7.2, and
/// so does the formatting of scores in replies: compared as numbers).
fn contents(d: &Dataset) -> Contents {
    d.iter()
        .map(|(k, v)| {
            let mut items = v.2.clone();
            if v.0 == b"zset" {
                for s in items.iter_mut().skip(1).step_by(2) {
                    let f: f64 = String::from_utf8_lossy(s).parse().unwrap_or(f64::NAN);
                    *s = format!("{:?}", f).into_bytes();
                }
            }
            (k.clone(), (v.0.clone(), items, v.3))
        })
        .collect()
}

#[test]
fn redis_7_0_rdb_loads_into_spinel() {
    let redis = "/usr/bin/redis-server";
    if !Path::new(redis).exists() {
        return;
    }
    let rdir = temp_dir("redis70");
    let r = Proc::start(redis, &rdir, &[]);
    let mut rc = r.conn();
    populate(&mut rc);
    let expected = contents(&snapshot(&mut rc));
    assert_eq!(qs(&mut rc, &["SAVE"]), RV::Okay);
    drop(rc);
    drop(r);
    let dir = temp_dir("redis70-spinel");
    std::fs::copy(rdir.join("dump.rdb"), dir.join("dump.rdb")).expect("copy");
    let sp = Proc::spinel(&dir, &[]);
    let mut c = sp.conn();
    let got = snapshot(&mut c);
    let gc = contents(&got);
    for (k, v) in &expected {
        assert_eq!(
            gc.get(k),
            Some(v),
            "key {:?}",
            String::from_utf8_lossy(&k.1)
        );
    }
    assert_eq!(gc.len(), expected.len());
    // Loaded values take Redis 7.2's encodings.
    assert_eq!(got[&(0, b"ss".to_vec())].1, b"listpack");
    assert_eq!(got[&(0, b"l".to_vec())].1, b"listpack");
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&rdir);
}

/// The in-process API a replica's full sync uses: a streamed point-in-time
/// image and a whole-dataset replacement.
#[test]
fn stream_snapshot_and_replace_dataset() {
    use spinel_keyspace::{Entry, Value};
    let srv = spinel_server::startup::build(spinel_server::config::Config::new(None), None);
    let put = |db: usize, k: &[u8], v: Value| {
        let h = srv.ks.hash(k);
        let idx = srv.ks.shard_of(h);
        srv.ks.dbs[db].shards[idx]
            .lock()
            .insert(h, k, Entry::new(v, 0), false);
    };
    for i in 0..1000 {
        put(
            0,
            format!("k{}", i).as_bytes(),
            Value::string(format!("v{}", i).as_bytes()),
        );
    }
    put(3, b"other", Value::Int(42));
    let mut image = Vec::new();
    spinel_server::persist::snapshot::stream_snapshot(srv, &mut image).expect("stream");
    assert!(image.starts_with(b"REDIS0011"));
    put(0, b"extra", Value::Int(1));
    let sum = spinel_server::persist::replace_dataset(srv, &image).expect("load");
    assert_eq!(sum.loaded, 1001);
    assert_eq!(srv.ks.dbsize(0), 1000);
    assert_eq!(srv.ks.dbsize(3), 1);
    let h = srv.ks.hash(b"k7");
    let idx = srv.ks.shard_of(h);
    let mut sh = srv.ks.dbs[0].shards[idx].lock();
    let e = sh.get(h, b"k7", 0).expect("k7");
    assert_eq!(e.value.to_bytes().as_deref(), Some(&b"v7"[..]));
    drop(sh);
    assert!(spinel_server::persist::replace_dataset(srv, &image[..image.len() - 3]).is_err());
}

#[test]
fn access_clocks_survive_save_and_load() {
    for (policy, opt, arg, probe) in [
        ("allkeys-lru", "IDLETIME", "1000", "IDLETIME"),
        ("allkeys-lfu", "FREQ", "100", "FREQ"),
    ] {
        let dir = temp_dir("clocks");
        let sp = Proc::spinel(&dir, &["--maxmemory-policy", policy]);
        let mut c = sp.conn();
        qs(&mut c, &["SET", "src", "v"]);
        let p = bytes(qs(&mut c, &["DUMP", "src"]));
        assert_eq!(
            q(
                &mut c,
                &[b"RESTORE", b"k", b"0", &p, opt.as_bytes(), arg.as_bytes()]
            ),
            RV::Okay
        );
        assert_eq!(qs(&mut c, &["SAVE"]), RV::Okay);
        drop(c);
        drop(sp);
        let sp = Proc::spinel(&dir, &["--maxmemory-policy", policy]);
        let mut c = sp.conn();
        let got = qs(&mut c, &["OBJECT", probe, "k"]);
        let want: i64 = arg.parse().unwrap_or(0);
        assert!(
            matches!(got, RV::Int(v) if (want..=want + 2).contains(&v)),
            "{} {:?}",
            policy,
            got
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn failed_bgsave_is_reported() {
    let dir = temp_dir("bgsave-fail");
    let sp = Proc::spinel(&dir, &[]);
    let mut c = sp.conn();
    qs(&mut c, &["SET", "a", "1"]);
    // The working directory disappears: the save can't create its file.
    std::fs::remove_dir_all(&dir).expect("rm");
    assert!(format!("{:?}", qs(&mut c, &["SAVE"])).contains("ERR"));
    assert_eq!(bytes(qs(&mut c, &["BGSAVE"])), b"Background saving started");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let info =
            String::from_utf8_lossy(&bytes(qs(&mut c, &["INFO", "persistence"]))).into_owned();
        if info.contains("rdb_bgsave_in_progress:0") {
            assert!(info.contains("rdb_last_bgsave_status:err"), "{}", info);
            assert!(info.contains("rdb_changes_since_last_save:1"), "{}", info);
            break;
        }
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn function_libraries_in_rdb_files() {
    if !valkey_available() {
        return;
    }
    let lib = "#!lua name=mylib\nredis.register_function('echo1', function(keys, args) return args[1] end)";
    // Spinel -> file -> Valkey and Spinel.
    let dir = temp_dir("functions");
    let sp = Proc::spinel(&dir, &[]);
    let mut c = sp.conn();
    assert_eq!(bytes(qs(&mut c, &["FUNCTION", "LOAD", lib])), b"mylib");
    qs(&mut c, &["SET", "k", "v"]);
    assert_eq!(qs(&mut c, &["SAVE"]), RV::Okay);
    drop(c);
    drop(sp);
    check_rdb_with_valkey(&dir);
    let vdir = temp_dir("functions-vk");
    std::fs::copy(dir.join("dump.rdb"), vdir.join("dump.rdb")).expect("copy");
    let vk = Proc::valkey(&vdir);
    let mut vc = vk.conn();
    assert_eq!(bytes(qs(&mut vc, &["FCALL", "echo1", "0", "hi"])), b"hi");
    // Valkey's own file (function + keys) back into Spinel.
    qs(&mut vc, &["SET", "k2", "v2"]);
    assert_eq!(qs(&mut vc, &["SAVE"]), RV::Okay);
    drop(vc);
    drop(vk);
    let dir2 = temp_dir("functions-back");
    std::fs::copy(vdir.join("dump.rdb"), dir2.join("dump.rdb")).expect("copy");
    let sp = Proc::spinel(&dir2, &[]);
    let mut c = sp.conn();
    assert_eq!(bytes(qs(&mut c, &["FCALL", "echo1", "0", "back"])), b"back");
    assert_eq!(bytes(qs(&mut c, &["GET", "k2"])), b"v2");
    for d in [&dir, &vdir, &dir2] {
        let _ = std::fs::remove_dir_all(d);
    }
}
