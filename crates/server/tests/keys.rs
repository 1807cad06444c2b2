//! Generic keyspace commands against the real binary: exact replies and
//! error texts (checked against Redis 7.2 behaviour), TTL handling, multi-db
//! commands, SCAN guarantees under concurrent writes, keyspace events.
mod common;
use common::*;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// Parses a flat RESP array of bulk strings (a KEYS reply) into its items.
fn bulks(reply: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut lines = reply.split("\r\n");
    let head = lines.next().unwrap_or("");
    assert!(head.starts_with('*'), "not an array: {reply:?}");
    while let Some(l) = lines.next() {
        if l.starts_with('$') {
            out.push(lines.next().unwrap_or("").to_string());
        }
    }
    out
}

/// Splits a SCAN reply into (cursor, keys).
fn scan_reply(reply: &str) -> (String, Vec<String>) {
    let parts: Vec<&str> = reply.split("\r\n").collect();
    assert_eq!(parts[0], "*2", "bad SCAN reply {reply:?}");
    let cursor = parts[2].to_string();
    let keys = parts[4..]
        .chunks(2)
        .filter(|c| c.len() == 2 && c[0].starts_with('$'))
        .map(|c| c[1].to_string())
        .collect();
    (cursor, keys)
}

fn int(n: i64) -> String {
    format!(":{n}\r\n")
}

fn int_of(reply: &str) -> i64 {
    reply
        .trim_start_matches(':')
        .trim_end()
        .parse()
        .unwrap_or_else(|_| panic!("not an integer reply: {reply:?}"))
}

#[test]
fn del_unlink_exists_type_touch() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    c.cmd(&["SET", "a", "1"]);
    c.cmd(&["SET", "b", "hello"]);
    assert_eq!(c.cmd(&["EXISTS", "a", "a", "b", "nokey"]), int(3));
    assert_eq!(c.cmd(&["TYPE", "a"]), "+string\r\n");
    assert_eq!(c.cmd(&["TYPE", "nokey"]), "+none\r\n");
    assert_eq!(c.cmd(&["TOUCH", "a", "b", "nokey"]), int(2));
    assert_eq!(c.cmd(&["DEL", "a", "a", "nokey"]), int(1));
    assert_eq!(c.cmd(&["UNLINK", "b", "b"]), int(1));
    assert_eq!(c.cmd(&["EXISTS", "a", "b"]), int(0));
    assert_eq!(
        c.cmd(&["DEL"]),
        "-ERR wrong number of arguments for 'del' command\r\n"
    );
    assert_eq!(
        c.cmd(&["EXISTS"]),
        "-ERR wrong number of arguments for 'exists' command\r\n"
    );
    assert_eq!(
        c.cmd(&["TYPE", "a", "b"]),
        "-ERR wrong number of arguments for 'type' command\r\n"
    );
}

#[test]
fn type_of_every_kind() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    c.cmd(&["SET", "str", "v"]);
    c.cmd(&["RPUSH", "list", "a"]);
    c.cmd(&["SADD", "set", "a"]);
    c.cmd(&["HSET", "hash", "f", "v"]);
    c.cmd(&["ZADD", "zset", "1", "a"]);
    for (k, t) in [
        ("str", "string"),
        ("list", "list"),
        ("set", "set"),
        ("hash", "hash"),
        ("zset", "zset"),
    ] {
        assert_eq!(c.cmd(&["TYPE", k]), format!("+{t}\r\n"));
    }
    // SCAN ... TYPE filters by those names, case-insensitively.
    let (_, keys) = scan_reply(&c.cmd(&["SCAN", "0", "COUNT", "1000", "TYPE", "LIST"]));
    assert_eq!(keys, vec!["list".to_string()]);
    // Redis 7.2 accepts an unknown type name and matches nothing.
    assert_eq!(
        c.cmd(&["SCAN", "0", "COUNT", "1000", "TYPE", "nosuchtype"]),
        "*2\r\n$1\r\n0\r\n*0\r\n"
    );
}

#[test]
fn unlink_big_value_is_freed_lazily() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let mut args: Vec<String> = vec!["RPUSH".into(), "big".into()];
    args.extend((0..1000).map(|i| i.to_string()));
    let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    assert_eq!(c.cmd(&a), int(1000));
    assert_eq!(c.cmd(&["UNLINK", "big"]), int(1));
    assert_eq!(c.cmd(&["EXISTS", "big"]), int(0));
    assert_eq!(c.cmd(&a), int(1000));
    assert_eq!(c.cmd(&["DEL", "big"]), int(1));
    assert_eq!(c.cmd(&["DBSIZE"]), int(0));
}

#[test]
fn rename_and_renamenx() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(c.cmd(&["RENAME", "nokey", "x"]), "-ERR no such key\r\n");
    assert_eq!(c.cmd(&["RENAMENX", "nokey", "x"]), "-ERR no such key\r\n");
    assert_eq!(c.cmd(&["RENAME", "nokey", "nokey"]), "-ERR no such key\r\n");
    c.cmd(&["SET", "a", "1"]);
    // Renaming to itself: nothing happens.
    assert_eq!(c.cmd(&["RENAME", "a", "a"]), "+OK\r\n");
    assert_eq!(c.cmd(&["RENAMENX", "a", "a"]), int(0));
    assert_eq!(c.cmd(&["GET", "a"]), bulk("1"));
    // The TTL moves with the key; the destination's TTL is replaced.
    c.cmd(&["SET", "t", "v", "EX", "100"]);
    c.cmd(&["SET", "dst", "old", "EX", "5000"]);
    assert_eq!(c.cmd(&["RENAME", "t", "dst"]), "+OK\r\n");
    assert_eq!(c.cmd(&["GET", "dst"]), bulk("v"));
    let ttl = int_of(&c.cmd(&["TTL", "dst"]));
    assert!((99..=100).contains(&ttl), "ttl {ttl}");
    assert_eq!(c.cmd(&["EXISTS", "t"]), int(0));
    // A persistent key renamed over a volatile one stays persistent.
    c.cmd(&["SET", "p", "v"]);
    assert_eq!(c.cmd(&["RENAME", "p", "dst"]), "+OK\r\n");
    assert_eq!(c.cmd(&["TTL", "dst"]), int(-1));
    // RENAMENX refuses an existing destination.
    c.cmd(&["SET", "x", "1"]);
    assert_eq!(c.cmd(&["RENAMENX", "a", "x"]), int(0));
    assert_eq!(c.cmd(&["RENAMENX", "a", "y"]), int(1));
    assert_eq!(c.cmd(&["GET", "y"]), bulk("1"));
    assert_eq!(c.cmd(&["EXISTS", "a"]), int(0));
    // Many renames across shards keep every value.
    for i in 0..200 {
        c.cmd(&["SET", &format!("src{i}"), &i.to_string()]);
    }
    for i in 0..200 {
        assert_eq!(
            c.cmd(&["RENAME", &format!("src{i}"), &format!("dst{i}")]),
            "+OK\r\n"
        );
    }
    for i in 0..200 {
        assert_eq!(c.cmd(&["GET", &format!("dst{i}")]), bulk(&i.to_string()));
    }
    assert_eq!(
        c.cmd(&["RENAME", "a"]),
        "-ERR wrong number of arguments for 'rename' command\r\n"
    );
}

#[test]
fn renaming_an_expired_key_fails() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    c.cmd(&["SET", "e", "v", "PX", "30"]);
    std::thread::sleep(Duration::from_millis(80));
    assert_eq!(c.cmd(&["RENAME", "e", "f"]), "-ERR no such key\r\n");
    assert_eq!(c.cmd(&["EXISTS", "f"]), int(0));
}

#[test]
fn expire_options_and_errors() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    c.cmd(&["SET", "p", "v"]);
    assert_eq!(
        c.cmd(&["EXPIRE", "p", "10", "NX", "XX"]),
        "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n"
    );
    assert_eq!(
        c.cmd(&["EXPIRE", "p", "10", "nx", "gt"]),
        "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n"
    );
    assert_eq!(
        c.cmd(&["EXPIRE", "p", "10", "gt", "lt"]),
        "-ERR GT and LT options at the same time are not compatible\r\n"
    );
    assert_eq!(
        c.cmd(&["EXPIRE", "p", "10", "xx", "foo"]),
        "-ERR Unsupported option foo\r\n"
    );
    // Options are checked before the number.
    assert_eq!(
        c.cmd(&["EXPIRE", "p", "abc", "foo"]),
        "-ERR Unsupported option foo\r\n"
    );
    assert_eq!(
        c.cmd(&["EXPIRE", "p", "abc"]),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(
        c.cmd(&["EXPIRE", "p", "9223372036854775807"]),
        "-ERR invalid expire time in 'expire' command\r\n"
    );
    assert_eq!(
        c.cmd(&["EXPIRE", "p", "-9223372036854775808"]),
        "-ERR invalid expire time in 'expire' command\r\n"
    );
    assert_eq!(
        c.cmd(&["PEXPIRE", "p", "9223372036854775807"]),
        "-ERR invalid expire time in 'pexpire' command\r\n"
    );
    assert_eq!(
        c.cmd(&["EXPIREAT", "p", "9223372036854775807"]),
        "-ERR invalid expire time in 'expireat' command\r\n"
    );
    assert_eq!(c.cmd(&["TTL", "p"]), int(-1));
    // No TTL: XX and GT fail, LT and NX succeed.
    assert_eq!(c.cmd(&["EXPIRE", "p", "100", "XX"]), int(0));
    assert_eq!(c.cmd(&["EXPIRE", "p", "100", "GT"]), int(0));
    assert_eq!(c.cmd(&["EXPIRE", "p", "100", "LT"]), int(1));
    assert_eq!(c.cmd(&["PERSIST", "p"]), int(1));
    assert_eq!(c.cmd(&["EXPIRE", "p", "100", "NX"]), int(1));
    assert_eq!(c.cmd(&["EXPIRE", "p", "100", "NX"]), int(0));
    assert_eq!(c.cmd(&["EXPIRE", "p", "50", "GT"]), int(0));
    assert_eq!(c.cmd(&["EXPIRE", "p", "200", "GT"]), int(1));
    assert_eq!(c.cmd(&["EXPIRE", "p", "300", "LT"]), int(0));
    assert_eq!(c.cmd(&["EXPIRE", "p", "150", "xx", "LT"]), int(1));
    assert_eq!(c.cmd(&["TTL", "p"]), int(150));
    let pttl = int_of(&c.cmd(&["PTTL", "p"]));
    assert!((149_000..=150_000).contains(&pttl), "pttl {pttl}");
    // Missing keys.
    assert_eq!(c.cmd(&["EXPIRE", "nokey", "10"]), int(0));
    assert_eq!(c.cmd(&["PERSIST", "nokey"]), int(0));
    for cmd in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
        assert_eq!(c.cmd(&[cmd, "nokey"]), int(-2));
    }
    c.cmd(&["SET", "q", "v"]);
    for cmd in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
        assert_eq!(c.cmd(&[cmd, "q"]), int(-1));
    }
    assert_eq!(c.cmd(&["PERSIST", "q"]), int(0));
    // Absolute times come back as given.
    assert_eq!(c.cmd(&["PEXPIREAT", "q", "33177117420000"]), int(1));
    assert_eq!(c.cmd(&["PEXPIRETIME", "q"]), int(33177117420000));
    assert_eq!(c.cmd(&["EXPIRETIME", "q"]), int(33177117420));
    assert_eq!(c.cmd(&["EXPIREAT", "q", "33177117421"]), int(1));
    assert_eq!(c.cmd(&["PEXPIRETIME", "q"]), int(33177117421000));
    // PEXPIREAT accepts the largest time.
    assert_eq!(c.cmd(&["PEXPIREAT", "q", "9223372036854775807"]), int(1));
    assert_eq!(
        c.cmd(&["EXPIRE", "q"]),
        "-ERR wrong number of arguments for 'expire' command\r\n"
    );
}

#[test]
fn expire_in_the_past_deletes() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    for (cmd, arg) in [
        ("EXPIRE", "-1"),
        ("PEXPIRE", "0"),
        ("EXPIREAT", "1"),
        ("PEXPIREAT", "0"),
    ] {
        c.cmd(&["SET", "k", "v"]);
        assert_eq!(c.cmd(&[cmd, "k", arg]), int(1), "{cmd}");
        assert_eq!(c.cmd(&["EXISTS", "k"]), int(0), "{cmd}");
        assert_eq!(c.cmd(&["DBSIZE"]), int(0), "{cmd}");
    }
    // GT against no TTL fails even for a past time; LT applies it.
    c.cmd(&["SET", "k", "v"]);
    assert_eq!(c.cmd(&["EXPIRE", "k", "-5", "GT"]), int(0));
    assert_eq!(c.cmd(&["EXPIRE", "k", "-5", "LT"]), int(1));
    assert_eq!(c.cmd(&["EXISTS", "k"]), int(0));
}

#[test]
fn keys_with_a_ttl_vanish() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    c.cmd(&["SET", "k", "v", "PX", "100"]);
    let pttl = int_of(&c.cmd(&["PTTL", "k"]));
    assert!(pttl > 0 && pttl <= 100);
    std::thread::sleep(Duration::from_millis(150));
    assert_eq!(c.cmd(&["TTL", "k"]), int(-2));
    assert_eq!(c.cmd(&["EXISTS", "k"]), int(0));
    assert_eq!(c.cmd(&["TYPE", "k"]), "+none\r\n");
    // Expired keys are not listed by KEYS, SCAN or RANDOMKEY.
    c.cmd(&["SET", "live", "v"]);
    for i in 0..20 {
        c.cmd(&["SET", &format!("dead{i}"), "v", "PX", "30"]);
    }
    std::thread::sleep(Duration::from_millis(80));
    assert_eq!(bulks(&c.cmd(&["KEYS", "*"])), vec!["live".to_string()]);
    let (cursor, keys) = scan_reply(&c.cmd(&["SCAN", "0", "COUNT", "1000"]));
    assert_eq!((cursor.as_str(), keys), ("0", vec!["live".to_string()]));
    for i in 0..20 {
        c.cmd(&["SET", &format!("dead{i}"), "v", "PX", "30"]);
    }
    std::thread::sleep(Duration::from_millis(80));
    for _ in 0..20 {
        assert_eq!(c.cmd(&["RANDOMKEY"]), bulk("live"));
    }
}

#[test]
fn scan_type_filter_deletes_expired_keys() {
    let s = Server::start(&["--hz", "1"]);
    let mut c = s.conn();
    c.cmd(&["SET", "s", "v"]);
    c.cmd(&["SET", "gone", "v", "PX", "20"]);
    std::thread::sleep(Duration::from_millis(60));
    // The TYPE filter looks each key up, which deletes expired ones even
    // when the type does not match (Redis 7.2).
    assert_eq!(
        c.cmd(&["SCAN", "0", "COUNT", "1000", "TYPE", "string1"]),
        "*2\r\n$1\r\n0\r\n*0\r\n"
    );
    assert_eq!(c.cmd(&["DBSIZE"]), int(1));
    // A MATCH filter alone leaves non-matching expired keys to active expiry.
    assert_eq!(
        c.cmd(&["SCAN", "0", "COUNT", "1000", "MATCH", "s*"]),
        "*2\r\n$1\r\n0\r\n*1\r\n$1\r\ns\r\n"
    );
}

#[test]
fn active_expiry_reclaims_unread_keys() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let t0 = Instant::now();
    for i in 0..200 {
        c.cmd(&["SET", &format!("k{i}"), "v", "PX", "300"]);
    }
    c.cmd(&["SET", "stay", "v"]);
    // DBSIZE counts keys not yet reclaimed, like Redis.
    if t0.elapsed() < Duration::from_millis(250) {
        assert_eq!(c.cmd(&["DBSIZE"]), int(201));
    }
    // Nobody reads the keys: active expiry alone removes them.
    let deadline = t0 + Duration::from_millis(300 + 1500);
    loop {
        let n = int_of(&c.cmd(&["DBSIZE"]));
        if n == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "{n} keys left");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(c.cmd(&["GET", "stay"]), bulk("v"));
}

#[test]
fn multi_db_copy_move_swapdb() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    c.cmd(&["SET", "k", "v", "PX", "100000"]);
    assert_eq!(
        c.cmd(&["COPY", "k", "k"]),
        "-ERR source and destination objects are the same\r\n"
    );
    assert_eq!(
        c.cmd(&["COPY", "k", "k", "DB", "0"]),
        "-ERR source and destination objects are the same\r\n"
    );
    assert_eq!(
        c.cmd(&["COPY", "k", "k2", "DB", "16"]),
        "-ERR DB index is out of range\r\n"
    );
    assert_eq!(
        c.cmd(&["COPY", "k", "k2", "DB", "-1"]),
        "-ERR DB index is out of range\r\n"
    );
    assert_eq!(
        c.cmd(&["COPY", "k", "k2", "DB", "abc"]),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(
        c.cmd(&["COPY", "k", "k2", "DB", "4294967296"]),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(c.cmd(&["COPY", "k", "k2", "DB"]), "-ERR syntax error\r\n");
    assert_eq!(c.cmd(&["COPY", "k", "k2", "foo"]), "-ERR syntax error\r\n");
    assert_eq!(c.cmd(&["COPY", "nokey", "k2"]), int(0));
    // Same db: the copy keeps the TTL and is independent.
    assert_eq!(c.cmd(&["COPY", "k", "k2"]), int(1));
    let pttl = int_of(&c.cmd(&["PTTL", "k2"]));
    assert!((99_000..=100_000).contains(&pttl), "pttl {pttl}");
    assert_eq!(c.cmd(&["COPY", "k", "k2"]), int(0));
    c.cmd(&["SET", "k", "v2"]);
    assert_eq!(c.cmd(&["COPY", "k", "k2", "REPLACE"]), int(1));
    assert_eq!(c.cmd(&["GET", "k2"]), bulk("v2"));
    assert_eq!(c.cmd(&["TTL", "k2"]), int(-1));
    // Another db.
    c.cmd(&["SET", "t", "tv", "EX", "500"]);
    assert_eq!(c.cmd(&["COPY", "t", "t", "DB", "2"]), int(1));
    assert_eq!(c.cmd(&["COPY", "t", "t", "DB", "2"]), int(0));
    assert_eq!(c.cmd(&["COPY", "t", "t", "replace", "DB", "2"]), int(1));
    assert_eq!(c.cmd(&["SELECT", "2"]), "+OK\r\n");
    assert_eq!(c.cmd(&["GET", "t"]), bulk("tv"));
    let ttl = int_of(&c.cmd(&["TTL", "t"]));
    assert!((499..=500).contains(&ttl));
    assert_eq!(c.cmd(&["DBSIZE"]), int(1));
    c.cmd(&["SELECT", "0"]);

    // MOVE.
    assert_eq!(
        c.cmd(&["MOVE", "t", "0"]),
        "-ERR source and destination objects are the same\r\n"
    );
    assert_eq!(
        c.cmd(&["MOVE", "t", "16"]),
        "-ERR DB index is out of range\r\n"
    );
    assert_eq!(
        c.cmd(&["MOVE", "t", "x"]),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(c.cmd(&["MOVE", "nokey", "3"]), int(0));
    assert_eq!(c.cmd(&["MOVE", "t", "2"]), int(0)); // exists there
    assert_eq!(c.cmd(&["MOVE", "t", "3"]), int(1));
    assert_eq!(c.cmd(&["EXISTS", "t"]), int(0));
    c.cmd(&["SELECT", "3"]);
    assert_eq!(c.cmd(&["GET", "t"]), bulk("tv"));
    let ttl = int_of(&c.cmd(&["TTL", "t"]));
    assert!((499..=500).contains(&ttl));
    c.cmd(&["SELECT", "0"]);

    // SWAPDB.
    assert_eq!(
        c.cmd(&["SWAPDB", "0", "abc"]),
        "-ERR invalid second DB index\r\n"
    );
    assert_eq!(
        c.cmd(&["SWAPDB", "abc", "0"]),
        "-ERR invalid first DB index\r\n"
    );
    assert_eq!(
        c.cmd(&["SWAPDB", "0", "16"]),
        "-ERR DB index is out of range\r\n"
    );
    assert_eq!(
        c.cmd(&["SWAPDB", "-1", "0"]),
        "-ERR DB index is out of range\r\n"
    );
    assert_eq!(c.cmd(&["SWAPDB", "0", "0"]), "+OK\r\n");
    let db0 = int_of(&c.cmd(&["DBSIZE"]));
    assert_eq!(db0, 2); // k, k2
    assert_eq!(c.cmd(&["SWAPDB", "0", "3"]), "+OK\r\n");
    assert_eq!(c.cmd(&["DBSIZE"]), int(1));
    assert_eq!(c.cmd(&["GET", "t"]), bulk("tv"));
    let ttl = int_of(&c.cmd(&["TTL", "t"]));
    assert!((499..=500).contains(&ttl));
    // Another connection sitting in db 3 sees the old db 0.
    let mut other = s.conn();
    other.cmd(&["SELECT", "3"]);
    assert_eq!(other.cmd(&["GET", "k2"]), bulk("v2"));
    assert_eq!(other.cmd(&["DBSIZE"]), int(2));
    assert_eq!(c.cmd(&["SWAPDB", "3", "0"]), "+OK\r\n");
    assert_eq!(c.cmd(&["DBSIZE"]), int(2));
    assert_eq!(c.cmd(&["GET", "k2"]), bulk("v2"));
}

#[test]
fn swapdb_with_many_keys_and_expiry() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    for i in 0..500 {
        c.cmd(&["SET", &format!("a{i}"), "x"]);
    }
    c.cmd(&["SELECT", "1"]);
    for i in 0..300 {
        c.cmd(&["SET", &format!("b{i}"), "y", "PX", "200"]);
    }
    assert_eq!(c.cmd(&["SWAPDB", "1", "0"]), "+OK\r\n");
    assert_eq!(c.cmd(&["DBSIZE"]), int(500));
    c.cmd(&["SELECT", "0"]);
    assert_eq!(c.cmd(&["DBSIZE"]), int(300));
    // Expiry keeps working on swapped keys.
    let start = Instant::now();
    while int_of(&c.cmd(&["DBSIZE"])) != 0 {
        assert!(start.elapsed() < Duration::from_millis(2000));
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn dbsize_flushdb_flushall() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    for db in ["0", "1", "2"] {
        c.cmd(&["SELECT", db]);
        for i in 0..50 {
            c.cmd(&["SET", &format!("k{i}"), "v"]);
        }
    }
    assert_eq!(c.cmd(&["DBSIZE"]), int(50));
    assert_eq!(c.cmd(&["FLUSHDB", "foo"]), "-ERR syntax error\r\n");
    assert_eq!(
        c.cmd(&["FLUSHDB", "sync", "async"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(c.cmd(&["FLUSHALL", "now"]), "-ERR syntax error\r\n");
    assert_eq!(c.cmd(&["FLUSHDB"]), "+OK\r\n");
    assert_eq!(c.cmd(&["DBSIZE"]), int(0));
    c.cmd(&["SELECT", "1"]);
    assert_eq!(c.cmd(&["DBSIZE"]), int(50));
    assert_eq!(c.cmd(&["FLUSHDB", "ASYNC"]), "+OK\r\n");
    assert_eq!(c.cmd(&["DBSIZE"]), int(0));
    c.cmd(&["SELECT", "0"]);
    assert_eq!(c.cmd(&["SET", "k", "v"]), "+OK\r\n");
    assert_eq!(c.cmd(&["FLUSHALL", "sync"]), "+OK\r\n");
    for db in ["0", "1", "2"] {
        c.cmd(&["SELECT", db]);
        assert_eq!(c.cmd(&["DBSIZE"]), int(0));
    }
    c.cmd(&["SET", "k", "v"]);
    assert_eq!(c.cmd(&["FLUSHALL", "ASYNC"]), "+OK\r\n");
    assert_eq!(c.cmd(&["DBSIZE"]), int(0));
    assert_eq!(c.cmd(&["FLUSHALL"]), "+OK\r\n");
    assert_eq!(
        c.cmd(&["DBSIZE", "x"]),
        "-ERR wrong number of arguments for 'dbsize' command\r\n"
    );
}

#[test]
fn flush_and_swapdb_break_watch() {
    let s = Server::start(&[]);
    let mut a = s.conn();
    let mut b = s.conn();
    for (name, cmd) in [
        ("flushdb", vec!["FLUSHDB"]),
        ("flushall", vec!["FLUSHALL"]),
        ("swapdb", vec!["SWAPDB", "0", "1"]),
    ] {
        a.cmd(&["FLUSHALL"]);
        a.cmd(&["SET", "w", "1"]);
        assert_eq!(a.cmd(&["WATCH", "w"]), "+OK\r\n");
        b.cmd(&cmd);
        a.cmd(&["MULTI"]);
        a.cmd(&["PING"]);
        assert_eq!(a.cmd(&["EXEC"]), "*-1\r\n", "{name}");
    }
    // A watched key that exists on neither side is not touched.
    a.cmd(&["FLUSHALL"]);
    a.cmd(&["SET", "other", "1"]);
    assert_eq!(a.cmd(&["WATCH", "w"]), "+OK\r\n");
    b.cmd(&["FLUSHDB"]);
    a.cmd(&["MULTI"]);
    a.cmd(&["PING"]);
    assert_eq!(a.cmd(&["EXEC"]), "*1\r\n+PONG\r\n");
    // SWAPDB bringing the watched key in breaks the transaction.
    a.cmd(&["SELECT", "1"]);
    a.cmd(&["SET", "w", "x"]);
    a.cmd(&["SELECT", "0"]);
    assert_eq!(a.cmd(&["WATCH", "w"]), "+OK\r\n");
    b.cmd(&["SWAPDB", "0", "1"]);
    a.cmd(&["MULTI"]);
    a.cmd(&["PING"]);
    assert_eq!(a.cmd(&["EXEC"]), "*-1\r\n");
}

#[test]
fn keys_and_randomkey() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(c.cmd(&["RANDOMKEY"]), "$-1\r\n");
    assert_eq!(c.cmd(&["KEYS", "*"]), "*0\r\n");
    for k in ["foo", "foa", "fob", "bar", "f*", "hello"] {
        c.cmd(&["SET", k, "v"]);
    }
    let sorted = |r: &str| {
        let mut v = bulks(r);
        v.sort();
        v
    };
    assert_eq!(
        sorted(&c.cmd(&["KEYS", "*"])),
        vec!["bar", "f*", "foa", "fob", "foo", "hello"]
    );
    assert_eq!(sorted(&c.cmd(&["KEYS", "fo?"])), vec!["foa", "fob", "foo"]);
    assert_eq!(sorted(&c.cmd(&["KEYS", "fo[ab]"])), vec!["foa", "fob"]);
    assert_eq!(sorted(&c.cmd(&["KEYS", "fo[^ab]"])), vec!["foo"]);
    assert_eq!(sorted(&c.cmd(&["KEYS", "f\\*"])), vec!["f*"]);
    assert_eq!(sorted(&c.cmd(&["KEYS", "h*o"])), vec!["hello"]);
    assert_eq!(c.cmd(&["KEYS", "zzz*"]), "*0\r\n");
    let mut seen = HashSet::new();
    for _ in 0..500 {
        let r = c.cmd(&["RANDOMKEY"]);
        seen.insert(r);
        if seen.len() == 6 {
            break;
        }
    }
    assert_eq!(seen.len(), 6, "RANDOMKEY saw only {seen:?}");
    assert_eq!(
        c.cmd(&["KEYS"]),
        "-ERR wrong number of arguments for 'keys' command\r\n"
    );
}

#[test]
fn scan_arguments() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(c.cmd(&["SCAN", "0"]), "*2\r\n$1\r\n0\r\n*0\r\n");
    assert_eq!(c.cmd(&["SCAN", "abc"]), "-ERR invalid cursor\r\n");
    assert_eq!(c.cmd(&["SCAN", " 1"]), "-ERR invalid cursor\r\n");
    assert_eq!(c.cmd(&["SCAN", "1x"]), "-ERR invalid cursor\r\n");
    assert_eq!(
        c.cmd(&["SCAN", "18446744073709551616"]),
        "-ERR invalid cursor\r\n"
    );
    // Redis parses the cursor with strtoul: these are valid.
    assert_eq!(
        c.cmd(&["SCAN", "18446744073709551615"]),
        "*2\r\n$1\r\n0\r\n*0\r\n"
    );
    assert_eq!(c.cmd(&["SCAN", "-1"]), "*2\r\n$1\r\n0\r\n*0\r\n");
    assert_eq!(c.cmd(&["SCAN", "0", "COUNT", "0"]), "-ERR syntax error\r\n");
    assert_eq!(
        c.cmd(&["SCAN", "0", "COUNT", "-1"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        c.cmd(&["SCAN", "0", "COUNT", "abc"]),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(c.cmd(&["SCAN", "0", "MATCH"]), "-ERR syntax error\r\n");
    assert_eq!(c.cmd(&["SCAN", "0", "foo", "bar"]), "-ERR syntax error\r\n");
    assert_eq!(
        c.cmd(&["SCAN"]),
        "-ERR wrong number of arguments for 'scan' command\r\n"
    );
    c.cmd(&["SET", "a", "1"]);
    c.cmd(&["SET", "b", "1"]);
    c.cmd(&["SET", "ab", "1"]);
    let (cursor, mut keys) = scan_reply(&c.cmd(&["SCAN", "0", "MATCH", "a*", "COUNT", "100"]));
    keys.sort();
    assert_eq!(
        (cursor.as_str(), keys),
        ("0", vec!["a".into(), "ab".into()])
    );
}

/// Runs a full SCAN and returns every key with the number of times it came back.
fn full_scan(c: &mut Conn, extra: &[&str]) -> HashMap<String, usize> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut cursor = "0".to_string();
    let mut calls = 0;
    loop {
        let mut args = vec!["SCAN", cursor.as_str()];
        args.extend_from_slice(extra);
        let (next, keys) = scan_reply(&c.cmd(&args));
        for k in keys {
            *seen.entry(k).or_default() += 1;
        }
        calls += 1;
        assert!(calls < 100_000, "SCAN does not terminate");
        if next == "0" {
            break;
        }
        cursor = next;
    }
    seen
}

#[test]
fn scan_returns_every_key_once() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    for i in 0..2000 {
        c.cmd(&["SET", &format!("key:{i}"), "v"]);
    }
    for count in ["1", "10", "100", "100000"] {
        let seen = full_scan(&mut c, &["COUNT", count]);
        assert_eq!(seen.len(), 2000, "COUNT {count}");
        assert!(
            seen.values().all(|&n| n == 1),
            "duplicates with COUNT {count}"
        );
    }
    // A small COUNT takes several calls, each returning some keys.
    let (cursor, keys) = scan_reply(&c.cmd(&["SCAN", "0", "COUNT", "5"]));
    assert_ne!(cursor, "0");
    assert!(keys.len() >= 5);
    let seen = full_scan(&mut c, &["MATCH", "key:1*"]);
    assert_eq!(seen.len(), 1111);
}

#[test]
fn scan_under_concurrent_writes() {
    let s = Server::start(&["--threads", "2"]);
    let mut c = s.conn();
    for i in 0..3000 {
        c.cmd(&["SET", &format!("stable:{i}"), "v"]);
    }
    let port = s.port;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    let writer = std::thread::spawn(move || {
        let mut w = Conn::new(port);
        let mut i = 0u64;
        while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
            let k = format!("churn:{}", i % 500);
            if i.is_multiple_of(3) {
                w.cmd(&["DEL", &k]);
            } else {
                w.cmd(&["SET", &k, "x"]);
            }
            i += 1;
        }
        i
    });
    for _ in 0..5 {
        let seen = full_scan(&mut c, &["COUNT", "20"]);
        for i in 0..3000 {
            let k = format!("stable:{i}");
            assert_eq!(seen.get(&k), Some(&1), "{k} not returned exactly once");
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let writes = writer.join().unwrap_or(0);
    assert!(writes > 0);
}

#[test]
fn object_subcommands() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    c.cmd(&["SET", "small", "100"]);
    c.cmd(&["SET", "big", "123456"]);
    c.cmd(&["SET", "s", "hello"]);
    c.cmd(&["SET", "long", &"x".repeat(45)]);
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", "small"]), bulk("int"));
    assert_eq!(c.cmd(&["OBJECT", "encoding", "big"]), bulk("int"));
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", "s"]), bulk("embstr"));
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", "long"]), bulk("raw"));
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", "nokey"]), "$-1\r\n");
    // Small integers are Redis's shared objects.
    assert_eq!(c.cmd(&["OBJECT", "REFCOUNT", "small"]), int(2147483647));
    assert_eq!(c.cmd(&["OBJECT", "REFCOUNT", "big"]), int(1));
    assert_eq!(c.cmd(&["OBJECT", "REFCOUNT", "s"]), int(1));
    assert_eq!(c.cmd(&["OBJECT", "REFCOUNT", "nokey"]), "$-1\r\n");
    assert_eq!(c.cmd(&["OBJECT", "IDLETIME", "nokey"]), "$-1\r\n");
    assert_eq!(c.cmd(&["OBJECT", "FREQ", "nokey"]), "$-1\r\n");
    assert_eq!(
        c.cmd(&["OBJECT", "FREQ", "s"]),
        "-ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.\r\n"
    );
    assert_eq!(c.cmd(&["OBJECT", "IDLETIME", "s"]), int(0));
    std::thread::sleep(Duration::from_millis(2100));
    // OBJECT itself does not refresh the access time.
    assert!(int_of(&c.cmd(&["OBJECT", "IDLETIME", "s"])) >= 2);
    assert!(int_of(&c.cmd(&["OBJECT", "IDLETIME", "s"])) >= 2);
    // Nor do EXISTS, TYPE and TTL; a read does.
    c.cmd(&["EXISTS", "s"]);
    c.cmd(&["TYPE", "s"]);
    c.cmd(&["TTL", "s"]);
    assert!(int_of(&c.cmd(&["OBJECT", "IDLETIME", "s"])) >= 2);
    c.cmd(&["GET", "s"]);
    assert_eq!(c.cmd(&["OBJECT", "IDLETIME", "s"]), int(0));
    assert!(int_of(&c.cmd(&["OBJECT", "IDLETIME", "small"])) >= 2);
    c.cmd(&["TOUCH", "small"]);
    assert_eq!(c.cmd(&["OBJECT", "IDLETIME", "small"]), int(0));

    let help = c.cmd(&["OBJECT", "HELP"]);
    assert!(help.starts_with(
        "*15\r\n+OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+ENCODING <key>\r\n"
    ));
    assert!(help.ends_with("+HELP\r\n+    Prints this help.\r\n"));
    assert_eq!(
        c.cmd(&["OBJECT", "foo"]),
        "-ERR unknown subcommand 'foo'. Try OBJECT HELP.\r\n"
    );
    assert_eq!(
        c.cmd(&["OBJECT", "ENCODING"]),
        "-ERR wrong number of arguments for 'object|encoding' command\r\n"
    );
    assert_eq!(
        c.cmd(&["OBJECT"]),
        "-ERR wrong number of arguments for 'object' command\r\n"
    );
}

#[test]
fn object_under_lfu_policy() {
    let s = Server::start(&["--maxmemory-policy", "allkeys-lfu"]);
    let mut c = s.conn();
    c.cmd(&["SET", "k", "v"]);
    assert_eq!(
        c.cmd(&["OBJECT", "IDLETIME", "k"]),
        "-ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.\r\n"
    );
    let f = c.cmd(&["OBJECT", "FREQ", "k"]);
    assert!(f.starts_with(':'), "{f:?}");
    assert!((0..=255).contains(&int_of(&f)));
    assert_eq!(c.cmd(&["OBJECT", "FREQ", "nokey"]), "$-1\r\n");
}

#[test]
fn commands_inside_multi() {
    let s = Server::start(&["--threads", "2"]);
    let mut c = s.conn();
    c.cmd(&["SET", "a", "1"]);
    c.cmd(&["MULTI"]);
    c.cmd(&["MOVE", "a", "1"]);
    c.cmd(&["SELECT", "1"]);
    c.cmd(&["COPY", "a", "b", "DB", "2"]);
    c.cmd(&["DBSIZE"]);
    c.cmd(&["SCAN", "0"]);
    c.cmd(&["KEYS", "*"]);
    c.cmd(&["RANDOMKEY"]);
    c.cmd(&["SWAPDB", "1", "2"]);
    c.cmd(&["DBSIZE"]);
    c.cmd(&["FLUSHALL"]);
    c.cmd(&["DBSIZE"]);
    assert_eq!(
        c.cmd(&["EXEC"]),
        "*11\r\n:1\r\n+OK\r\n:1\r\n:1\r\n*2\r\n$1\r\n0\r\n*1\r\n$1\r\na\r\n*1\r\n$1\r\na\r\n$1\r\na\r\n+OK\r\n:1\r\n+OK\r\n:0\r\n"
    );
}

#[test]
fn keyspace_events() {
    let s = Server::start(&["--notify-keyspace-events", "KEA"]);
    let mut c = s.conn();
    let mut sub = s.conn();
    // Only this family's events (not `set`, which belongs to SET).
    let pattern = "__keyevent@*__:[cdempr]*";
    assert!(sub.cmd(&["PSUBSCRIBE", pattern]).starts_with("*3\r\n"));
    let expect = |sub: &mut Conn, db: usize, event: &str, key: &str| {
        let ch = format!("__keyevent@{db}__:{event}");
        assert_eq!(
            sub.read_reply(),
            format!(
                "*4\r\n$8\r\npmessage\r\n{}{}{}",
                bulk(pattern),
                bulk(&ch),
                bulk(key)
            )
        );
    };
    c.cmd(&["SET", "a", "1"]);
    c.cmd(&["EXPIRE", "a", "100"]);
    expect(&mut sub, 0, "expire", "a");
    c.cmd(&["PERSIST", "a"]);
    expect(&mut sub, 0, "persist", "a");
    c.cmd(&["RENAME", "a", "b"]);
    expect(&mut sub, 0, "rename_from", "a");
    expect(&mut sub, 0, "rename_to", "b");
    c.cmd(&["COPY", "b", "c", "DB", "1"]);
    expect(&mut sub, 1, "copy_to", "c");
    c.cmd(&["MOVE", "b", "2"]);
    expect(&mut sub, 0, "move_from", "b");
    expect(&mut sub, 2, "move_to", "b");
    c.cmd(&["SELECT", "2"]);
    c.cmd(&["EXPIRE", "b", "-1"]);
    expect(&mut sub, 2, "del", "b");
    c.cmd(&["SELECT", "1"]);
    c.cmd(&["DEL", "c", "nokey"]);
    expect(&mut sub, 1, "del", "c");
    c.cmd(&["SET", "e", "1", "PX", "10"]);
    // SET's own `expire` event may come first; wait for the expiry itself.
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        assert!(Instant::now() < deadline, "no expired event");
        let r = sub.read_reply();
        if r.contains("__keyevent@1__:expired") {
            assert!(r.ends_with(&bulk("e")));
            break;
        }
    }
}

#[test]
fn blocked_clients_are_served_by_rename_copy_move_swapdb() {
    let s = Server::start(&["--threads", "2"]);
    let mut c = s.conn();
    // (name, setup commands, trigger, db the waiter blocks in)
    type Case<'a> = (&'a str, Vec<Vec<&'a str>>, Vec<&'a str>, &'a str);
    let cases: [Case; 5] = [
        (
            "rename",
            vec![vec!["RPUSH", "src", "a"]],
            vec!["RENAME", "src", "k"],
            "0",
        ),
        (
            "copy",
            vec![vec!["RPUSH", "src", "a"]],
            vec!["COPY", "src", "k"],
            "0",
        ),
        (
            "copy db",
            vec![vec!["RPUSH", "src", "a"]],
            vec!["COPY", "src", "k", "DB", "1"],
            "1",
        ),
        (
            "move",
            vec![vec!["RPUSH", "k", "a"]],
            vec!["MOVE", "k", "1"],
            "1",
        ),
        (
            "swapdb",
            vec![
                vec!["SELECT", "1"],
                vec!["RPUSH", "k", "a"],
                vec!["SELECT", "0"],
            ],
            vec!["SWAPDB", "0", "1"],
            "0",
        ),
    ];
    for (name, setup, trigger, db) in cases {
        c.cmd(&["FLUSHALL"]);
        for a in &setup {
            c.cmd(a);
        }
        let mut b = s.conn();
        b.cmd(&["SELECT", db]);
        b.send(&[b"BLPOP", b"k", b"5"]);
        // Let the client block before the trigger.
        let deadline = Instant::now() + Duration::from_secs(2);
        while !c.cmd(&["CLIENT", "LIST"]).contains("cmd=blpop") {
            assert!(Instant::now() < deadline, "{name}: client never blocked");
            std::thread::sleep(Duration::from_millis(10));
        }
        c.cmd(&trigger);
        let t = Instant::now();
        assert_eq!(b.read_reply(), "*2\r\n$1\r\nk\r\n$1\r\na\r\n", "{name}");
        assert!(t.elapsed() < Duration::from_secs(2), "{name}: served late");
    }
}
