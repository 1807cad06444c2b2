//! Set commands against the real binary: exact RESP2/RESP3 replies (errors
//! included) as Redis 7.2 sends them, intset/listpack/hashtable encodings
//! around the thresholds (stored results of the algebra commands and
//! SPOP's rebuilt sets included), random-member counts, keyspace events,
//! and SSCAN's guarantee while other clients modify the set.
mod common;
use common::*;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// Replies recorded from Valkey 8.1 (Redis 7.2 behaviour). `None`: run the
/// command but don't compare (HELLO names the server). Small sets only, so
/// reply order is the encodings' deterministic order.
#[rustfmt::skip]
const CASES: &[(&[&str], Option<&str>)] = &[
    (&["flushall"], Some("+OK\r\n")),
    (&["sadd", "s", "3", "1", "a", "2"], Some(":4\r\n")),
    (&["sadd", "s", "1", "b"], Some(":1\r\n")),
    (&["sadd", "s"], Some("-ERR wrong number of arguments for 'sadd' command\r\n")),
    (&["smembers", "s"], Some("*5\r\n$1\r\n1\r\n$1\r\n3\r\n$1\r\na\r\n$1\r\n2\r\n$1\r\nb\r\n")),
    (&["scard", "s"], Some(":5\r\n")),
    (&["scard", "nokey"], Some(":0\r\n")),
    (&["sismember", "s", "a"], Some(":1\r\n")),
    (&["sismember", "s", "zz"], Some(":0\r\n")),
    (&["sismember", "nokey", "a"], Some(":0\r\n")),
    (&["smismember", "s", "a", "zz", "1"], Some("*3\r\n:1\r\n:0\r\n:1\r\n")),
    (&["smismember", "nokey", "a", "b"], Some("*2\r\n:0\r\n:0\r\n")),
    (&["smembers", "nokey"], Some("*0\r\n")),
    (&["srem", "s", "a", "zz"], Some(":1\r\n")),
    (&["srem", "s", "zz"], Some(":0\r\n")),
    (&["srem", "nokey", "a"], Some(":0\r\n")),
    (&["smembers", "s"], Some("*4\r\n$1\r\n1\r\n$1\r\n3\r\n$1\r\n2\r\n$1\r\nb\r\n")),
    (&["srem", "s", "1", "2", "3", "b"], Some(":4\r\n")),
    (&["exists", "s"], Some(":0\r\n")),
    (&["sadd", "i", "5", "3", "1", "-7", "100000"], Some(":5\r\n")),
    (&["smembers", "i"], Some("*5\r\n$2\r\n-7\r\n$1\r\n1\r\n$1\r\n3\r\n$1\r\n5\r\n$6\r\n100000\r\n")),
    (&["sadd", "i", "3", "9223372036854775807"], Some(":1\r\n")),
    (&["smembers", "i"], Some("*6\r\n$2\r\n-7\r\n$1\r\n1\r\n$1\r\n3\r\n$1\r\n5\r\n$6\r\n100000\r\n$19\r\n9223372036854775807\r\n")),
    (&["srem", "i", "100000", "-7"], Some(":2\r\n")),
    (&["smembers", "i"], Some("*4\r\n$1\r\n1\r\n$1\r\n3\r\n$1\r\n5\r\n$19\r\n9223372036854775807\r\n")),
    (&["sadd", "l", "b", "3", "1", "a", "2"], Some(":5\r\n")),
    (&["sadd", "i2", "3", "4", "5", "6", "1"], Some(":5\r\n")),
    (&["sadd", "l2", "c", "b", "a", "4", "3"], Some(":5\r\n")),
    (&["sinter", "i", "i2"], Some("*3\r\n$1\r\n1\r\n$1\r\n3\r\n$1\r\n5\r\n")),
    (&["sinter", "l", "l2"], Some("*3\r\n$1\r\nb\r\n$1\r\n3\r\n$1\r\na\r\n")),
    (&["sinter", "i", "l"], Some("*2\r\n$1\r\n1\r\n$1\r\n3\r\n")),
    (&["sinter", "l", "i"], Some("*2\r\n$1\r\n1\r\n$1\r\n3\r\n")),
    (&["sinter", "i", "nokey"], Some("*0\r\n")),
    (&["sinter", "nokey"], Some("*0\r\n")),
    (&["sinter", "i", "i"], Some("*4\r\n$1\r\n1\r\n$1\r\n3\r\n$1\r\n5\r\n$19\r\n9223372036854775807\r\n")),
    (&["sunion", "i", "l"], Some("*7\r\n$1\r\n1\r\n$1\r\n3\r\n$1\r\n5\r\n$19\r\n9223372036854775807\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\n2\r\n")),
    (&["sunion", "l", "i"], Some("*7\r\n$1\r\nb\r\n$1\r\n3\r\n$1\r\n1\r\n$1\r\na\r\n$1\r\n2\r\n$1\r\n5\r\n$19\r\n9223372036854775807\r\n")),
    (&["sunion", "nokey"], Some("*0\r\n")),
    (&["sunion", "nokey", "i"], Some("*4\r\n$1\r\n1\r\n$1\r\n3\r\n$1\r\n5\r\n$19\r\n9223372036854775807\r\n")),
    (&["sdiff", "i", "i2"], Some("*1\r\n$19\r\n9223372036854775807\r\n")),
    (&["sdiff", "l", "i"], Some("*3\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\n2\r\n")),
    (&["sdiff", "l2", "l"], Some("*2\r\n$1\r\nc\r\n$1\r\n4\r\n")),
    (&["sdiff", "i", "nokey", "i2"], Some("*1\r\n$19\r\n9223372036854775807\r\n")),
    (&["sdiff", "nokey", "i"], Some("*0\r\n")),
    (&["sdiff", "i", "i"], Some("*0\r\n")),
    (&["sdiff", "l", "l2", "i"], Some("*1\r\n$1\r\n2\r\n")),
    (&["sintercard", "2", "i", "i2"], Some(":3\r\n")),
    (&["sintercard", "2", "i", "i2", "limit", "1"], Some(":1\r\n")),
    (&["sintercard", "2", "i", "i2", "limit", "0"], Some(":3\r\n")),
    (&["sintercard", "2", "l", "l2", "LIMIT", "2"], Some(":2\r\n")),
    (&["sintercard", "1", "nokey"], Some(":0\r\n")),
    (&["sintercard", "2", "l", "nokey"], Some(":0\r\n")),
    (&["sintercard", "0", "i"], Some("-ERR numkeys should be greater than 0\r\n")),
    (&["sintercard", "-1", "i"], Some("-ERR numkeys should be greater than 0\r\n")),
    (&["sintercard", "x", "i"], Some("-ERR numkeys should be greater than 0\r\n")),
    (&["sintercard", "3", "i", "i2"], Some("-ERR Number of keys can't be greater than number of args\r\n")),
    (&["sintercard", "1", "i", "limit", "-1"], Some("-ERR LIMIT can't be negative\r\n")),
    (&["sintercard", "1", "i", "limit", "x"], Some("-ERR LIMIT can't be negative\r\n")),
    (&["sintercard", "1", "i", "limit"], Some("-ERR syntax error\r\n")),
    (&["sintercard", "1", "i", "foo"], Some("-ERR syntax error\r\n")),
    (&["sintercard", "1", "i", "limit", "1", "limit", "2"], Some(":2\r\n")),
    (&["sinterstore", "d1", "i", "i2"], Some(":3\r\n")),
    (&["object", "encoding", "d1"], Some("$6\r\nintset\r\n")),
    (&["smembers", "d1"], Some("*3\r\n$1\r\n1\r\n$1\r\n3\r\n$1\r\n5\r\n")),
    (&["sinterstore", "d2", "l", "l2"], Some(":3\r\n")),
    (&["object", "encoding", "d2"], Some("$8\r\nlistpack\r\n")),
    (&["smembers", "d2"], Some("*3\r\n$1\r\nb\r\n$1\r\n3\r\n$1\r\na\r\n")),
    (&["sinterstore", "d3", "l", "i"], Some(":2\r\n")),
    (&["object", "encoding", "d3"], Some("$6\r\nintset\r\n")),
    (&["smembers", "d3"], Some("*2\r\n$1\r\n1\r\n$1\r\n3\r\n")),
    (&["sunionstore", "d4", "i", "i2"], Some(":6\r\n")),
    (&["object", "encoding", "d4"], Some("$6\r\nintset\r\n")),
    (&["smembers", "d4"], Some("*6\r\n$1\r\n1\r\n$1\r\n3\r\n$1\r\n4\r\n$1\r\n5\r\n$1\r\n6\r\n$19\r\n9223372036854775807\r\n")),
    (&["sunionstore", "d5", "i", "l"], Some(":7\r\n")),
    (&["object", "encoding", "d5"], Some("$8\r\nlistpack\r\n")),
    (&["smembers", "d5"], Some("*7\r\n$1\r\n1\r\n$1\r\n3\r\n$1\r\n5\r\n$19\r\n9223372036854775807\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\n2\r\n")),
    (&["sdiffstore", "d6", "l", "i"], Some(":3\r\n")),
    (&["object", "encoding", "d6"], Some("$8\r\nlistpack\r\n")),
    (&["smembers", "d6"], Some("*3\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\n2\r\n")),
    (&["sdiffstore", "d7", "i", "i2"], Some(":1\r\n")),
    (&["smembers", "d7"], Some("*1\r\n$19\r\n9223372036854775807\r\n")),
    (&["sinterstore", "d1", "i", "nokey"], Some(":0\r\n")),
    (&["exists", "d1"], Some(":0\r\n")),
    (&["sdiffstore", "d2", "i", "i"], Some(":0\r\n")),
    (&["exists", "d2"], Some(":0\r\n")),
    (&["sunionstore", "d9", "nokey"], Some(":0\r\n")),
    (&["exists", "d9"], Some(":0\r\n")),
    (&["sunionstore", "i", "i", "l"], Some(":7\r\n")),
    (&["smembers", "i"], Some("*7\r\n$1\r\n1\r\n$1\r\n3\r\n$1\r\n5\r\n$19\r\n9223372036854775807\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\n2\r\n")),
    (&["object", "encoding", "i"], Some("$8\r\nlistpack\r\n")),
    (&["smove", "l", "dst", "1"], Some(":1\r\n")),
    (&["smove", "l", "dst", "a"], Some(":1\r\n")),
    (&["smembers", "dst"], Some("*2\r\n$1\r\n1\r\n$1\r\na\r\n")),
    (&["object", "encoding", "dst"], Some("$8\r\nlistpack\r\n")),
    (&["smove", "l", "dst", "zz"], Some(":0\r\n")),
    (&["smove", "nosrc", "dst", "a"], Some(":0\r\n")),
    (&["smove", "dst", "dst", "a"], Some(":1\r\n")),
    (&["smove", "dst", "dst", "zz"], Some(":0\r\n")),
    (&["sadd", "one", "x"], Some(":1\r\n")),
    (&["smove", "one", "dst2", "x"], Some(":1\r\n")),
    (&["exists", "one"], Some(":0\r\n")),
    (&["smembers", "dst2"], Some("*1\r\n$1\r\nx\r\n")),
    (&["spop", "nokey"], Some("$-1\r\n")),
    (&["spop", "nokey", "3"], Some("*0\r\n")),
    (&["spop", "nokey", "0"], Some("*0\r\n")),
    (&["spop", "l", "-1"], Some("-ERR value is out of range, must be positive\r\n")),
    (&["spop", "l", "abc"], Some("-ERR value is out of range, must be positive\r\n")),
    (&["spop", "l", "1", "2"], Some("-ERR syntax error\r\n")),
    (&["spop", "l", "0"], Some("*0\r\n")),
    (&["srandmember", "nokey"], Some("$-1\r\n")),
    (&["srandmember", "nokey", "3"], Some("*0\r\n")),
    (&["srandmember", "nokey", "-3"], Some("*0\r\n")),
    (&["srandmember", "l", "0"], Some("*0\r\n")),
    (&["srandmember", "l", "abc"], Some("-ERR value is not an integer or out of range\r\n")),
    (&["srandmember", "l", "1", "2"], Some("-ERR syntax error\r\n")),
    (&["srandmember", "l", "-9223372036854775808"], Some("-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n")),
    (&["srandmember", "l", "100"], Some("*3\r\n$1\r\nb\r\n$1\r\n3\r\n$1\r\n2\r\n")),
    (&["sadd", "ss", "z", "1", "y"], Some(":3\r\n")),
    (&["spop", "ss", "3"], Some("*3\r\n$1\r\nz\r\n$1\r\n1\r\n$1\r\ny\r\n")),
    (&["exists", "ss"], Some(":0\r\n")),
    (&["sadd", "ss2", "5", "3", "8"], Some(":3\r\n")),
    (&["spop", "ss2", "100"], Some("*3\r\n$1\r\n3\r\n$1\r\n5\r\n$1\r\n8\r\n")),
    (&["sadd", "pair", "m"], Some(":1\r\n")),
    (&["spop", "pair"], Some("$1\r\nm\r\n")),
    (&["exists", "pair"], Some(":0\r\n")),
    (&["sscan", "l2", "0"], Some("*2\r\n$1\r\n0\r\n*5\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\n4\r\n$1\r\n3\r\n")),
    (&["sscan", "l2", "0", "match", "[ab]"], Some("*2\r\n$1\r\n0\r\n*2\r\n$1\r\nb\r\n$1\r\na\r\n")),
    (&["sscan", "l2", "0", "count", "1", "match", "*"], Some("*2\r\n$1\r\n0\r\n*5\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\n4\r\n$1\r\n3\r\n")),
    (&["sscan", "i2", "0", "match", "1*"], Some("*2\r\n$1\r\n0\r\n*1\r\n$1\r\n1\r\n")),
    (&["sscan", "l2", "01"], Some("*2\r\n$1\r\n0\r\n*5\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\n4\r\n$1\r\n3\r\n")),
    // strtoul, as Redis 7.2: "-1" wraps to the largest cursor.
    (&["sscan", "l2", "-1"], Some("*2\r\n$1\r\n0\r\n*5\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\n4\r\n$1\r\n3\r\n")),
    (&["sscan", "l2", " 1"], Some("-ERR invalid cursor\r\n")),
    (&["sscan", "l2", "x"], Some("-ERR invalid cursor\r\n")),
    (&["sscan", "l2", "0", "count", "0"], Some("-ERR syntax error\r\n")),
    (&["sscan", "l2", "0", "match"], Some("-ERR syntax error\r\n")),
    (&["sscan", "nokey", "0", "count", "0"], Some("*2\r\n$1\r\n0\r\n*0\r\n")),
    (&["set", "str", "x"], Some("+OK\r\n")),
    (&["sadd", "str", "a"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["srem", "str", "a"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["smembers", "str"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["sismember", "str", "a"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["smismember", "str", "a"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["scard", "str"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["spop", "str"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["spop", "str", "2"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["srandmember", "str"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["srandmember", "str", "2"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["smove", "str", "dst", "a"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["smove", "dst", "str", "a"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["smove", "nosrc", "str", "a"], Some(":0\r\n")),
    (&["sinter", "i", "str"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["sinter", "nokey", "str"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["sintercard", "2", "i", "str"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["sinterstore", "d", "str"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["sunion", "i", "str"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["sunionstore", "d", "i", "str"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["sdiff", "str", "i"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["sdiff", "i", "str"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["sdiffstore", "d", "i", "str"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["sscan", "str", "0"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["hello", "3"], None),
    (&["smembers", "i2"], Some("~5\r\n$1\r\n1\r\n$1\r\n3\r\n$1\r\n4\r\n$1\r\n5\r\n$1\r\n6\r\n")),
    (&["smembers", "nokey"], Some("~0\r\n")),
    (&["sinter", "i2", "i"], Some("~3\r\n$1\r\n1\r\n$1\r\n3\r\n$1\r\n5\r\n")),
    (&["sinter", "i2", "nokey"], Some("~0\r\n")),
    (&["sunion", "i2"], Some("~5\r\n$1\r\n1\r\n$1\r\n3\r\n$1\r\n4\r\n$1\r\n5\r\n$1\r\n6\r\n")),
    (&["sdiff", "i2"], Some("~5\r\n$1\r\n1\r\n$1\r\n3\r\n$1\r\n4\r\n$1\r\n5\r\n$1\r\n6\r\n")),
    (&["spop", "nokey", "2"], Some("~0\r\n")),
    (&["spop", "i2", "0"], Some("~0\r\n")),
    (&["srandmember", "i2", "10"], Some("*5\r\n$1\r\n1\r\n$1\r\n3\r\n$1\r\n4\r\n$1\r\n5\r\n$1\r\n6\r\n")),
    (&["srandmember", "nokey", "2"], Some("*0\r\n")),
    (&["smismember", "i2", "1", "2"], Some("*2\r\n:1\r\n:0\r\n")),
    (&["sscan", "i2", "0"], Some("*2\r\n$1\r\n0\r\n*5\r\n$1\r\n1\r\n$1\r\n3\r\n$1\r\n4\r\n$1\r\n5\r\n$1\r\n6\r\n")),
    (&["sintercard", "1", "i2"], Some(":5\r\n")),
    (&["hello", "2"], None),
];

#[test]
fn replies_match_redis() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    for (args, want) in CASES {
        let got = c.cmd(args);
        if let Some(want) = want {
            assert_eq!(&got, want, "{args:?}");
        }
    }
}

fn enc(c: &mut Conn, key: &str) -> String {
    c.cmd(&["object", "encoding", key])
}

fn sadd(c: &mut Conn, key: &str, members: impl IntoIterator<Item = String>) -> String {
    let mut args: Vec<String> = vec!["sadd".into(), key.into()];
    args.extend(members);
    let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    c.cmd(&refs)
}

fn ints(r: std::ops::Range<i64>) -> impl Iterator<Item = String> {
    r.map(|i| i.to_string())
}

fn strs(prefix: &'static str, n: usize) -> impl Iterator<Item = String> {
    (0..n).map(move |i| format!("{prefix}{i}"))
}

const INTSET: &str = "$6\r\nintset\r\n";
const LISTPACK: &str = "$8\r\nlistpack\r\n";
const HASHTABLE: &str = "$9\r\nhashtable\r\n";

#[test]
fn encodings_at_thresholds() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    // Integers: intset up to 512 members, then a hashtable.
    sadd(&mut c, "i", ints(0..512));
    assert_eq!(enc(&mut c, "i"), INTSET);
    sadd(&mut c, "i", ints(512..513));
    assert_eq!(enc(&mut c, "i"), HASHTABLE);
    // A string into an intset: listpack while it would fit (fewer than 128
    // members), straight to a hashtable otherwise.
    sadd(&mut c, "a", ints(0..127));
    sadd(&mut c, "a", ["x".to_string()]);
    assert_eq!(enc(&mut c, "a"), LISTPACK);
    sadd(&mut c, "b", ints(0..128));
    sadd(&mut c, "b", ["x".to_string()]);
    assert_eq!(enc(&mut c, "b"), HASHTABLE);
    sadd(&mut c, "c", ints(0..200));
    sadd(&mut c, "c", ["x".to_string()]);
    assert_eq!(enc(&mut c, "c"), HASHTABLE);
    assert_eq!(c.cmd(&["scard", "c"]), ":201\r\n");
    // Strings: listpack up to 128 members and 64 bytes each.
    sadd(&mut c, "l", strs("m", 128));
    assert_eq!(enc(&mut c, "l"), LISTPACK);
    sadd(&mut c, "l", strs("n", 1));
    assert_eq!(enc(&mut c, "l"), HASHTABLE);
    sadd(&mut c, "v", ["a".to_string(), "x".repeat(64)]);
    assert_eq!(enc(&mut c, "v"), LISTPACK);
    sadd(&mut c, "v", ["x".repeat(65)]);
    assert_eq!(enc(&mut c, "v"), HASHTABLE);
    sadd(&mut c, "w", ["1".to_string(), "x".repeat(65)]);
    assert_eq!(enc(&mut c, "w"), HASHTABLE);
    // The first member and the count of one SADD pick the starting encoding.
    sadd(&mut c, "d", strs("m", 129));
    assert_eq!(enc(&mut c, "d"), HASHTABLE);
    sadd(&mut c, "e", std::iter::repeat_n("a".to_string(), 129));
    assert_eq!(enc(&mut c, "e"), HASHTABLE);
    sadd(&mut c, "f", std::iter::repeat_n("1".to_string(), 513));
    assert_eq!(enc(&mut c, "f"), HASHTABLE);
    sadd(&mut c, "g", std::iter::repeat_n("1".to_string(), 512));
    assert_eq!(enc(&mut c, "g"), INTSET);
    sadd(&mut c, "g2", ["x".to_string()]);
    sadd(&mut c, "g2", std::iter::repeat_n("x".to_string(), 129));
    assert_eq!(enc(&mut c, "g2"), HASHTABLE);
    // Removing members never shrinks the encoding.
    c.cmd(&["srem", "l", "n0", "m0", "m1"]);
    assert_eq!(enc(&mut c, "l"), HASHTABLE);
    // "01" is not an integer.
    sadd(&mut c, "z", ["01".to_string()]);
    assert_eq!(enc(&mut c, "z"), LISTPACK);
}

#[test]
fn stored_results_and_rebuilt_sets_take_redis_encodings() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    sadd(&mut c, "big1", ints(0..600));
    sadd(&mut c, "big2", ints(0..600).chain(["x".to_string()]));
    sadd(&mut c, "b3", ints(0..300).chain(["y".to_string()]));
    sadd(&mut c, "b4", ints(0..100).chain(["w".repeat(70)]));
    assert_eq!(enc(&mut c, "big2"), HASHTABLE);
    // An all-integer intersection of two hashtables becomes an intset when
    // it fits one, a hashtable when it doesn't.
    assert_eq!(c.cmd(&["sinterstore", "d1", "big2", "b3"]), ":300\r\n");
    assert_eq!(enc(&mut c, "d1"), INTSET);
    assert_eq!(c.cmd(&["sinterstore", "d2", "big2", "big2"]), ":601\r\n");
    assert_eq!(enc(&mut c, "d2"), HASHTABLE);
    assert_eq!(c.cmd(&["sinterstore", "d3", "b4", "big2"]), ":100\r\n");
    assert_eq!(enc(&mut c, "d3"), INTSET);
    // Difference and union results keep the encoding they were built in:
    // walking the first set adds only what survives...
    assert_eq!(c.cmd(&["sdiffstore", "d4", "big2", "big1"]), ":1\r\n");
    assert_eq!(enc(&mut c, "d4"), LISTPACK);
    assert_eq!(c.cmd(&["smembers", "d4"]), "*1\r\n$1\r\nx\r\n");
    assert_eq!(c.cmd(&["sdiffstore", "d5", "b3", "big1"]), ":1\r\n");
    assert_eq!(enc(&mut c, "d5"), LISTPACK);
    // ...copying it and subtracting keeps the big encoding.
    sadd(&mut c, "i1", ints(1..6));
    sadd(&mut c, "i2", ints(7..10));
    assert_eq!(c.cmd(&["sdiffstore", "d7", "big2", "i1", "i2"]), ":593\r\n");
    assert_eq!(enc(&mut c, "d7"), HASHTABLE);
    assert_eq!(c.cmd(&["sunionstore", "d6", "i1", "b4"]), ":101\r\n");
    assert_eq!(enc(&mut c, "d6"), HASHTABLE);
    // SPOP taking most of a set rebuilds what stays in a small encoding.
    sadd(&mut c, "p1", strs("m", 1000));
    c.cmd(&["spop", "p1", "900"]);
    assert_eq!(enc(&mut c, "p1"), LISTPACK);
    assert_eq!(c.cmd(&["scard", "p1"]), ":100\r\n");
    sadd(&mut c, "p2", strs("m", 1000));
    c.cmd(&["spop", "p2", "800"]);
    assert_eq!(enc(&mut c, "p2"), HASHTABLE);
    sadd(&mut c, "p3", ints(0..600));
    c.cmd(&["spop", "p3", "590"]);
    assert_eq!(enc(&mut c, "p3"), LISTPACK);
    sadd(&mut c, "p4", ints(0..500));
    c.cmd(&["spop", "p4", "490"]);
    assert_eq!(enc(&mut c, "p4"), INTSET);
    sadd(&mut c, "p5", strs("m", 1000));
    c.cmd(&["spop", "p5", "10"]);
    assert_eq!(enc(&mut c, "p5"), HASHTABLE);
    assert_eq!(c.cmd(&["scard", "p5"]), ":990\r\n");
}

fn members(r: &mut redis::Connection, args: &[&str]) -> Vec<String> {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(r).unwrap_or_default()
}

#[test]
fn random_members_and_pops() {
    let s = Server::start(&[]);
    let mut r = s.redis();
    let mut c = s.conn();
    for (key, n, ints_only) in [
        ("small", 10usize, false),
        ("iset", 300, true),
        ("big", 500, false),
    ] {
        if ints_only {
            sadd(&mut c, key, ints(0..n as i64));
        } else {
            sadd(&mut c, key, strs("m", n));
        }
        for count in [1i64, 3, 9, 10, 11, 100, 299, 300, 499, 500, 501] {
            let got = members(&mut r, &["SRANDMEMBER", key, &count.to_string()]);
            let want = (count as usize).min(n);
            assert_eq!(got.len(), want, "{key} {count}");
            assert_eq!(
                got.iter().collect::<HashSet<_>>().len(),
                want,
                "distinct {key} {count}"
            );
        }
        let got = members(&mut r, &["SRANDMEMBER", key, "-1000"]);
        assert_eq!(got.len(), 1000);
    }
    // SPOP with a count: distinct members, all gone from the set afterwards.
    for (n, count) in [
        (10usize, 3usize),
        (10, 9),
        (10, 10),
        (10, 20),
        (500, 10),
        (500, 450),
        (300, 100),
    ] {
        c.cmd(&["del", "p"]);
        if n == 300 {
            sadd(&mut c, "p", ints(0..300));
        } else {
            sadd(&mut c, "p", strs("m", n));
        }
        let popped = members(&mut r, &["SPOP", "p", &count.to_string()]);
        assert_eq!(popped.len(), count.min(n));
        let popped: HashSet<String> = popped.into_iter().collect();
        assert_eq!(popped.len(), count.min(n));
        let rest: HashSet<String> = members(&mut r, &["SMEMBERS", "p"]).into_iter().collect();
        assert_eq!(rest.len(), n - count.min(n));
        assert!(rest.is_disjoint(&popped));
    }
    // Single SPOP until empty: the key goes away.
    c.cmd(&["del", "q"]);
    sadd(&mut c, "q", strs("m", 5));
    let mut got = HashSet::new();
    for _ in 0..5 {
        got.insert(c.cmd(&["spop", "q"]));
    }
    assert_eq!(got.len(), 5);
    assert_eq!(c.cmd(&["exists", "q"]), ":0\r\n");
    assert_eq!(c.cmd(&["spop", "q"]), "$-1\r\n");
    // RESP3: SPOP with a count replies with a set, SRANDMEMBER with an array.
    c.cmd(&["hello", "3"]);
    sadd(&mut c, "t", strs("m", 5));
    assert!(c.cmd(&["spop", "t", "2"]).starts_with("~2\r\n"));
    assert!(c.cmd(&["srandmember", "t", "2"]).starts_with("*2\r\n"));
    assert!(c.cmd(&["smembers", "t"]).starts_with("~3\r\n"));
}

#[test]
fn algebra_on_hashtables() {
    let s = Server::start(&[]);
    let mut r = s.redis();
    let mut c = s.conn();
    sadd(&mut c, "a", strs("m", 1000));
    sadd(&mut c, "b", (500..1500).map(|i| format!("m{i}")));
    sadd(&mut c, "c", ints(0..700));
    let set = |v: Vec<String>| v.into_iter().collect::<HashSet<String>>();
    let inter = set(members(&mut r, &["SINTER", "a", "b"]));
    assert_eq!(inter, (500..1000).map(|i| format!("m{i}")).collect());
    let union = set(members(&mut r, &["SUNION", "a", "b", "c"]));
    assert_eq!(union.len(), 2200);
    let diff = set(members(&mut r, &["SDIFF", "a", "b"]));
    assert_eq!(diff, (0..500).map(|i| format!("m{i}")).collect());
    let diff = set(members(&mut r, &["SDIFF", "b", "a", "c", "nokey"]));
    assert_eq!(diff, (1000..1500).map(|i| format!("m{i}")).collect());
    assert_eq!(c.cmd(&["sintercard", "2", "a", "b"]), ":500\r\n");
    assert_eq!(
        c.cmd(&["sintercard", "2", "a", "b", "limit", "7"]),
        ":7\r\n"
    );
    assert_eq!(c.cmd(&["sintercard", "3", "a", "b", "c"]), ":0\r\n");
    assert_eq!(c.cmd(&["sunionstore", "u", "a", "b", "c"]), ":2200\r\n");
    assert_eq!(c.cmd(&["sdiffstore", "u", "u", "c"]), ":1500\r\n");
    assert_eq!(c.cmd(&["sinterstore", "u", "u", "a"]), ":1000\r\n");
    assert_eq!(
        c.cmd(&["smismember", "u", "m0", "m999", "m1000"]),
        "*3\r\n:1\r\n:1\r\n:0\r\n"
    );
    assert_eq!(c.cmd(&["smove", "u", "c", "m5"]), ":1\r\n");
    assert_eq!(c.cmd(&["sismember", "c", "m5"]), ":1\r\n");
    assert_eq!(c.cmd(&["scard", "u"]), ":999\r\n");
}

#[test]
fn keyspace_events() {
    let s = Server::start(&["--notify-keyspace-events", "KEA"]);
    let mut sub = s.conn();
    sub.cmd(&["psubscribe", "__keyevent@0__:*"]);
    let mut c = s.conn();
    let steps: &[(&[&str], &[&str])] = &[
        (&["sadd", "s", "a", "b", "c"], &["sadd"]),
        (&["sadd", "s", "a"], &[]),
        (&["srem", "s", "zz"], &[]),
        (&["srem", "s", "a"], &["srem"]),
        (&["smove", "s", "d", "b"], &["srem", "sadd"]),
        (&["smove", "s", "d", "c"], &["srem", "del", "sadd"]),
        (&["spop", "d"], &["spop"]),
        (&["spop", "d", "5"], &["spop", "del"]),
        (&["sadd", "x", "1", "2"], &["sadd"]),
        (&["sinterstore", "y", "x", "x"], &["sinterstore"]),
        (&["sunionstore", "y", "x"], &["sunionstore"]),
        (&["sdiffstore", "y", "x", "x"], &["del"]),
        (&["sdiffstore", "y", "x", "x"], &[]),
        (&["srem", "x", "1", "2"], &["srem", "del"]),
    ];
    for (cmd, events) in steps {
        c.cmd(cmd);
        for e in *events {
            let msg = sub.read_reply();
            let got = msg.split("\r\n").nth(6).unwrap_or_default().to_string();
            assert_eq!(got, format!("__keyevent@0__:{e}"), "{cmd:?}");
        }
    }
    c.cmd(&["sadd", "last", "1"]);
    let msg = sub.read_reply();
    assert!(
        msg.contains("__keyevent@0__:sadd"),
        "unexpected event before: {msg:?}"
    );
}

/// SSCAN returns every member that exists for the whole scan at least once,
/// while another client grows the set (the table doubles) and shrinks it
/// again (the table halves) between the scan's calls.
#[test]
fn sscan_survives_concurrent_resizes() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let stable: Vec<String> = strs("stable:", 200).collect();
    sadd(&mut c, "s", stable.iter().cloned());
    assert_eq!(enc(&mut c, "s"), HASHTABLE);
    let stop = Arc::new(AtomicBool::new(false));
    let rounds = Arc::new(AtomicU64::new(0));
    let writer = {
        let stop = stop.clone();
        let rounds = rounds.clone();
        let mut w = s.conn();
        std::thread::spawn(move || {
            let mut round = 0u64;
            while !stop.load(Ordering::Relaxed) && round < 10_000 {
                let tmp: Vec<String> = (0..3000).map(|i| format!("tmp:{round}:{i}")).collect();
                for chunk in tmp.chunks(500) {
                    let mut a = vec!["sadd", "s"];
                    a.extend(chunk.iter().map(|m| m.as_str()));
                    w.cmd(&a);
                }
                for chunk in tmp.chunks(500) {
                    let mut a = vec!["srem", "s"];
                    a.extend(chunk.iter().map(|m| m.as_str()));
                    w.cmd(&a);
                }
                round += 1;
                rounds.store(round, Ordering::Relaxed);
            }
        })
    };
    let mut r = s.redis();
    let mut scans = 0;
    while scans < 20 || rounds.load(Ordering::Relaxed) < 10 {
        scans += 1;
        let mut seen: HashSet<String> = HashSet::new();
        let mut cursor: u64 = 0;
        let mut calls = 0;
        loop {
            let (next, items): (u64, Vec<String>) = redis::cmd("SSCAN")
                .arg("s")
                .arg(cursor)
                .arg("COUNT")
                .arg(7)
                .query(&mut r)
                .unwrap_or((0, Vec::new()));
            seen.extend(items);
            cursor = next;
            calls += 1;
            if cursor == 0 || calls > 1_000_000 {
                break;
            }
        }
        for m in &stable {
            assert!(seen.contains(m), "SSCAN missed {m}");
        }
    }
    stop.store(true, Ordering::Relaxed);
    let _ = writer.join();
    assert_eq!(c.cmd(&["scard", "s"]), ":200\r\n");
}
