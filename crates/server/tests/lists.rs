//! List commands against the real binary: exact RESP2/RESP3 replies (errors
//! included) as Redis 7.2 sends them, encodings around the listpack /
//! quicklist thresholds, and long-list index access.
mod common;
use common::*;
use std::time::{Duration, Instant};

/// Replies recorded from Valkey 8.1 (Redis 7.2 behaviour). `None`: run the
/// command but don't compare (HELLO, whose reply names the server).
#[rustfmt::skip]
const CASES: &[(&[&str], Option<&str>)] = &[
    (&["flushall"], Some("+OK\r\n")),
    (&["lpush", "l", "a", "b", "c"], Some(":3\r\n")),
    (&["rpush", "l", "d", "e", "1", "2", "300", "-5"], Some(":9\r\n")),
    (&["lrange", "l", "0", "-1"], Some("*9\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\nd\r\n$1\r\ne\r\n$1\r\n1\r\n$1\r\n2\r\n$3\r\n300\r\n$2\r\n-5\r\n")),
    (&["llen", "l"], Some(":9\r\n")),
    (&["llen", "nokey"], Some(":0\r\n")),
    (&["lindex", "l", "0"], Some("$1\r\nc\r\n")),
    (&["lindex", "l", "-1"], Some("$2\r\n-5\r\n")),
    (&["lindex", "l", "100"], Some("$-1\r\n")),
    (&["lindex", "l", "abc"], Some("-ERR value is not an integer or out of range\r\n")),
    (&["lindex", "nokey", "abc"], Some("$-1\r\n")),
    (&["lset", "l", "0", "x"], Some("+OK\r\n")),
    (&["lset", "l", "100", "x"], Some("-ERR index out of range\r\n")),
    (&["lset", "nokey", "0", "x"], Some("-ERR no such key\r\n")),
    (&["lset", "nokey", "abc", "x"], Some("-ERR no such key\r\n")),
    (&["lset", "l", "abc", "x"], Some("-ERR value is not an integer or out of range\r\n")),
    (&["lrange", "l", "0", "-1"], Some("*9\r\n$1\r\nx\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\nd\r\n$1\r\ne\r\n$1\r\n1\r\n$1\r\n2\r\n$3\r\n300\r\n$2\r\n-5\r\n")),
    (&["lrange", "l", "abc", "1"], Some("-ERR value is not an integer or out of range\r\n")),
    (&["lrange", "nokey", "0", "-1"], Some("*0\r\n")),
    (&["lrange", "l", "5", "2"], Some("*0\r\n")),
    (&["lrange", "l", "-100", "100"], Some("*9\r\n$1\r\nx\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\nd\r\n$1\r\ne\r\n$1\r\n1\r\n$1\r\n2\r\n$3\r\n300\r\n$2\r\n-5\r\n")),
    (&["lrange", "l", "2", "-2"], Some("*6\r\n$1\r\na\r\n$1\r\nd\r\n$1\r\ne\r\n$1\r\n1\r\n$1\r\n2\r\n$3\r\n300\r\n")),
    (&["lpop", "l"], Some("$1\r\nx\r\n")),
    (&["rpop", "l"], Some("$2\r\n-5\r\n")),
    (&["lpop", "l", "2"], Some("*2\r\n$1\r\nb\r\n$1\r\na\r\n")),
    (&["rpop", "l", "2"], Some("*2\r\n$3\r\n300\r\n$1\r\n2\r\n")),
    (&["lpop", "l", "0"], Some("*0\r\n")),
    (&["lpop", "l", "-1"], Some("-ERR value is out of range, must be positive\r\n")),
    (&["lpop", "l", "abc"], Some("-ERR value is out of range, must be positive\r\n")),
    (&["lpop", "l", "1", "2"], Some("-ERR wrong number of arguments for 'lpop' command\r\n")),
    (&["lpop", "nokey"], Some("$-1\r\n")),
    (&["lpop", "nokey", "2"], Some("*-1\r\n")),
    (&["lpop", "nokey", "0"], Some("*-1\r\n")),
    (&["rpop", "nokey", "1"], Some("*-1\r\n")),
    (&["lpushx", "nokey", "a"], Some(":0\r\n")),
    (&["rpushx", "nokey", "a"], Some(":0\r\n")),
    (&["lpushx", "l", "q"], Some(":4\r\n")),
    (&["rpushx", "l", "r", "s"], Some(":6\r\n")),
    (&["lrange", "l", "0", "-1"], Some("*6\r\n$1\r\nq\r\n$1\r\nd\r\n$1\r\ne\r\n$1\r\n1\r\n$1\r\nr\r\n$1\r\ns\r\n")),
    (&["set", "str", "x"], Some("+OK\r\n")),
    (&["lpush", "str", "a"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["lpushx", "str", "a"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["lpop", "str"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["llen", "str"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["lrange", "str", "0", "1"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["lindex", "str", "0"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["lset", "str", "0", "a"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["lrem", "str", "0", "a"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["linsert", "str", "before", "a", "b"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["lpos", "str", "a"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["ltrim", "str", "0", "1"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["rpush", "r", "a", "b", "a", "c", "a", "d", "a"], Some(":7\r\n")),
    (&["lrem", "r", "2", "a"], Some(":2\r\n")),
    (&["lrange", "r", "0", "-1"], Some("*5\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\na\r\n$1\r\nd\r\n$1\r\na\r\n")),
    (&["lrem", "r", "-1", "a"], Some(":1\r\n")),
    (&["lrange", "r", "0", "-1"], Some("*4\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\na\r\n$1\r\nd\r\n")),
    (&["lrem", "r", "0", "a"], Some(":1\r\n")),
    (&["lrange", "r", "0", "-1"], Some("*3\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n")),
    (&["lrem", "r", "0", "zz"], Some(":0\r\n")),
    (&["lrem", "r", "abc", "a"], Some("-ERR value is not an integer or out of range\r\n")),
    (&["lrem", "r", "-9223372036854775808", "a"], Some(":0\r\n") /* Redis 7.2 takes LONG_MIN as "all" */),
    (&["lrem", "nokey", "1", "a"], Some(":0\r\n")),
    (&["linsert", "r", "before", "b", "X"], Some(":4\r\n")),
    (&["linsert", "r", "after", "d", "Y"], Some(":5\r\n")),
    (&["linsert", "r", "after", "zz", "Y"], Some(":-1\r\n")),
    (&["linsert", "nokey", "after", "zz", "Y"], Some(":0\r\n")),
    (&["linsert", "r", "middle", "b", "X"], Some("-ERR syntax error\r\n")),
    (&["lrange", "r", "0", "-1"], Some("*5\r\n$1\r\nX\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\nY\r\n")),
    (&["del", "p"], Some(":0\r\n")),
    (&["rpush", "p", "a", "b", "c", "1", "2", "3", "c", "c"], Some(":8\r\n")),
    (&["lpos", "p", "c"], Some(":2\r\n")),
    (&["lpos", "p", "c", "rank", "2"], Some(":6\r\n")),
    (&["lpos", "p", "c", "rank", "-1"], Some(":7\r\n")),
    (&["lpos", "p", "c", "rank", "-2"], Some(":6\r\n")),
    (&["lpos", "p", "c", "count", "0"], Some("*3\r\n:2\r\n:6\r\n:7\r\n")),
    (&["lpos", "p", "c", "count", "2"], Some("*2\r\n:2\r\n:6\r\n")),
    (&["lpos", "p", "c", "count", "0", "rank", "-1"], Some("*3\r\n:7\r\n:6\r\n:2\r\n")),
    (&["lpos", "p", "c", "count", "0", "maxlen", "3"], Some("*1\r\n:2\r\n")),
    (&["lpos", "p", "c", "count", "0", "maxlen", "1"], Some("*0\r\n")),
    (&["lpos", "p", "zz"], Some("$-1\r\n")),
    (&["lpos", "p", "zz", "count", "0"], Some("*0\r\n")),
    (&["lpos", "nokey", "a"], Some("$-1\r\n")),
    (&["lpos", "nokey", "a", "count", "1"], Some("*0\r\n")),
    (&["lpos", "p", "c", "rank", "0"], Some("-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list\r\n")),
    (&["lpos", "p", "c", "rank", "abc"], Some("-ERR value is not an integer or out of range\r\n")),
    (&["lpos", "p", "c", "rank", "-9223372036854775808"], Some("-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n")),
    (&["lpos", "p", "c", "count", "-1"], Some("-ERR COUNT can't be negative\r\n")),
    (&["lpos", "p", "c", "count", "abc"], Some("-ERR COUNT can't be negative\r\n")),
    (&["lpos", "p", "c", "maxlen", "-1"], Some("-ERR MAXLEN can't be negative\r\n")),
    (&["lpos", "p", "c", "maxlen", "abc"], Some("-ERR MAXLEN can't be negative\r\n")),
    (&["lpos", "p", "c", "foo"], Some("-ERR syntax error\r\n")),
    (&["lpos", "p", "c", "rank"], Some("-ERR syntax error\r\n")),
    (&["lpos", "p", "c", "rank", "10"], Some("$-1\r\n")),
    (&["lpos", "p", "c", "count", "1", "rank", "10"], Some("*0\r\n")),
    (&["ltrim", "p", "1", "-2"], Some("+OK\r\n")),
    (&["lrange", "p", "0", "-1"], Some("*6\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\nc\r\n")),
    (&["ltrim", "p", "abc", "1"], Some("-ERR value is not an integer or out of range\r\n")),
    (&["ltrim", "nokey", "0", "1"], Some("+OK\r\n")),
    (&["ltrim", "p", "5", "1"], Some("+OK\r\n")),
    (&["exists", "p"], Some(":0\r\n")),
    (&["flushall"], Some("+OK\r\n")),
    (&["rpush", "a", "1", "2", "3", "4", "5"], Some(":5\r\n")),
    (&["lmpop", "1", "a", "left"], Some("*2\r\n$1\r\na\r\n*1\r\n$1\r\n1\r\n")),
    (&["lmpop", "1", "a", "right", "count", "2"], Some("*2\r\n$1\r\na\r\n*2\r\n$1\r\n5\r\n$1\r\n4\r\n")),
    (&["lmpop", "2", "nokey", "a", "left", "count", "10"], Some("*2\r\n$1\r\na\r\n*2\r\n$1\r\n2\r\n$1\r\n3\r\n")),
    (&["lmpop", "2", "nokey", "a", "left", "count", "10"], Some("*-1\r\n")),
    (&["lmpop", "1", "nokey", "left"], Some("*-1\r\n")),
    (&["lmpop", "0", "a", "left"], Some("-ERR numkeys should be greater than 0\r\n")),
    (&["lmpop", "-1", "a", "left"], Some("-ERR numkeys should be greater than 0\r\n")),
    (&["lmpop", "abc", "a", "left"], Some("-ERR numkeys should be greater than 0\r\n")),
    (&["lmpop", "1", "a", "middle"], Some("-ERR syntax error\r\n")),
    (&["lmpop", "1", "a", "left", "count", "0"], Some("-ERR count should be greater than 0\r\n")),
    (&["lmpop", "1", "a", "left", "count", "-1"], Some("-ERR count should be greater than 0\r\n")),
    (&["lmpop", "1", "a", "left", "count", "abc"], Some("-ERR count should be greater than 0\r\n")),
    (&["lmpop", "1", "a", "left", "count", "1", "count", "1"], Some("-ERR syntax error\r\n")),
    (&["lmpop", "1", "a", "left", "foo"], Some("-ERR syntax error\r\n")),
    (&["lmpop", "2", "a", "left"], Some("-ERR syntax error\r\n")),
    (&["lmpop", "5", "a", "b", "left"], Some("-ERR syntax error\r\n")),
    (&["set", "s", "x"], Some("+OK\r\n")),
    (&["lmpop", "2", "nokey", "s", "left"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["rpush", "a", "x", "y", "z"], Some(":3\r\n")),
    (&["lmpop", "2", "a", "s", "left"], Some("*2\r\n$1\r\na\r\n*1\r\n$1\r\nx\r\n")),
    (&["lmove", "a", "b", "left", "right"], Some("$1\r\ny\r\n")),
    (&["lmove", "a", "b", "right", "left"], Some("$1\r\nz\r\n")),
    (&["lrange", "b", "0", "-1"], Some("*2\r\n$1\r\nz\r\n$1\r\ny\r\n")),
    (&["lmove", "a", "a", "left", "right"], Some("$-1\r\n")),
    (&["lrange", "a", "0", "-1"], Some("*0\r\n")),
    (&["lmove", "a", "b", "up", "down"], Some("-ERR syntax error\r\n")),
    (&["lmove", "nokey", "b", "left", "left"], Some("$-1\r\n")),
    (&["lmove", "a", "s", "left", "left"], Some("$-1\r\n")),
    (&["lmove", "s", "a", "left", "left"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["rpoplpush", "a", "b"], Some("$-1\r\n")),
    (&["rpoplpush", "nokey", "b"], Some("$-1\r\n")),
    (&["lrange", "a", "0", "-1"], Some("*0\r\n")),
    (&["lrange", "b", "0", "-1"], Some("*2\r\n$1\r\nz\r\n$1\r\ny\r\n")),
    (&["rpoplpush", "b", "b"], Some("$1\r\ny\r\n")),
    (&["lrange", "b", "0", "-1"], Some("*2\r\n$1\r\ny\r\n$1\r\nz\r\n")),
    (&["blpop", "nokey", "0.01"], Some("*-1\r\n")),
    (&["blpop", "a", "b", "0"], Some("*2\r\n$1\r\nb\r\n$1\r\ny\r\n")),
    (&["brpop", "a", "b", "0"], Some("*2\r\n$1\r\nb\r\n$1\r\nz\r\n")),
    (&["blpop", "s", "0"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["blpop", "nokey", "s", "0"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["blpop", "a", "-1"], Some("-ERR timeout is negative\r\n")),
    (&["blpop", "a", "abc"], Some("-ERR timeout is not a float or out of range\r\n")),
    (&["blpop", "a", "inf"], Some("-ERR timeout is out of range\r\n")),
    (&["blpop", "a", "1e400"], Some("-ERR timeout is out of range\r\n")),
    (&["blpop", "a", "-0.0001x"], Some("-ERR timeout is not a float or out of range\r\n")),
    (&["brpoplpush", "nokey", "b", "0.01"], Some("*-1\r\n")),
    (&["rpush", "b", "q1", "q2", "q3"], Some(":3\r\n")),
    (&["brpoplpush", "b", "a", "0"], Some("$2\r\nq3\r\n")),
    (&["blmove", "nokey", "a", "left", "left", "0.01"], Some("*-1\r\n")),
    (&["blmove", "b", "a", "left", "left", "0"], Some("$2\r\nq1\r\n")),
    (&["blmove", "b", "a", "lft", "left", "0"], Some("-ERR syntax error\r\n")),
    (&["blmove", "b", "a", "left", "left", "-1"], Some("-ERR timeout is negative\r\n")),
    (&["blmpop", "0.01", "1", "nokey", "left"], Some("*-1\r\n")),
    (&["blmpop", "0", "2", "nokey", "b", "right", "count", "5"], Some("*2\r\n$1\r\nb\r\n*1\r\n$2\r\nq2\r\n")),
    (&["blmpop", "0", "0", "b", "left"], Some("-ERR numkeys should be greater than 0\r\n")),
    (&["blmpop", "-1", "1", "b", "left"], Some("-ERR timeout is negative\r\n")),
    (&["blmpop", "abc", "1", "b", "left"], Some("-ERR timeout is not a float or out of range\r\n")),
    (&["blmpop", "0", "1", "b", "left", "count", "0"], Some("-ERR count should be greater than 0\r\n")),
    (&["rpush", "one", "1"], Some(":1\r\n")),
    (&["blmpop", "0", "1", "one", "left", "count", "9"], Some("*2\r\n$3\r\none\r\n*1\r\n$1\r\n1\r\n")),
    (&["exists", "one"], Some(":0\r\n")),
    (&["hello", "3"], None),
    (&["lpop", "nokey"], Some("_\r\n")),
    (&["lpop", "nokey", "1"], Some("_\r\n")),
    (&["rpush", "h", "a", "b", "c"], Some(":3\r\n")),
    (&["lpop", "h", "0"], Some("*0\r\n")),
    (&["lmpop", "1", "nokey", "left"], Some("_\r\n")),
    (&["lmpop", "1", "h", "left", "count", "2"], Some("*2\r\n$1\r\nh\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n")),
    (&["blpop", "h", "0"], Some("*2\r\n$1\r\nh\r\n$1\r\nc\r\n")),
    (&["blpop", "nokey", "0.01"], Some("_\r\n")),
    (&["blmove", "nokey", "h", "left", "left", "0.01"], Some("_\r\n")),
    (&["brpoplpush", "nokey", "h", "0.01"], Some("_\r\n")),
    (&["blmpop", "0.01", "1", "nokey", "left"], Some("_\r\n")),
    (&["lindex", "nokey", "0"], Some("_\r\n")),
    (&["lpos", "nokey", "a"], Some("_\r\n")),
    (&["lpos", "nokey", "a", "count", "0"], Some("*0\r\n")),
    (&["lpos", "h", "c", "count", "0"], Some("*0\r\n")),
    (&["lrange", "nokey", "0", "-1"], Some("*0\r\n")),
    (&["multi"], Some("+OK\r\n")),
    (&["blpop", "nokey", "0"], Some("+QUEUED\r\n")),
    (&["brpop", "nokey", "0"], Some("+QUEUED\r\n")),
    (&["blmove", "nokey", "h", "left", "left", "0"], Some("+QUEUED\r\n")),
    (&["brpoplpush", "nokey", "h", "0"], Some("+QUEUED\r\n")),
    (&["blmpop", "0", "1", "nokey", "left"], Some("+QUEUED\r\n")),
    (&["exec"], Some("*5\r\n_\r\n_\r\n_\r\n_\r\n_\r\n")),
    (&["hello", "2"], None),
    (&["multi"], Some("+OK\r\n")),
    (&["blpop", "nokey", "0"], Some("+QUEUED\r\n")),
    (&["brpop", "nokey", "0"], Some("+QUEUED\r\n")),
    (&["blmove", "nokey", "h", "left", "left", "0"], Some("+QUEUED\r\n")),
    (&["brpoplpush", "nokey", "h", "0"], Some("+QUEUED\r\n")),
    (&["blmpop", "0", "1", "nokey", "left"], Some("+QUEUED\r\n")),
    (&["exec"], Some("*5\r\n*-1\r\n*-1\r\n$-1\r\n$-1\r\n*-1\r\n")),
    (&["multi"], Some("+OK\r\n")),
    (&["rpush", "mk", "a"], Some("+QUEUED\r\n")),
    (&["lpop", "mk"], Some("+QUEUED\r\n")),
    (&["exec"], Some("*2\r\n:1\r\n$1\r\na\r\n")),
    (&["lpop", "a", "1", "2"], Some("-ERR wrong number of arguments for 'lpop' command\r\n")),
    (&["lpop"], Some("-ERR wrong number of arguments for 'lpop' command\r\n")),
    (&["blpop", "a"], Some("-ERR wrong number of arguments for 'blpop' command\r\n")),
    (&["lpush"], Some("-ERR wrong number of arguments for 'lpush' command\r\n")),
];

#[test]
fn replies_match_redis() {
    let s = Server::start(&["--threads", "2"]);
    let mut c = s.conn();
    for (args, want) in CASES {
        let got = c.cmd(args);
        if let Some(want) = want {
            assert_eq!(&got, want, "reply to {:?}", args);
        }
    }
}

fn enc(c: &mut Conn, key: &str) -> String {
    c.cmd(&["OBJECT", "ENCODING", key])
}

const LISTPACK: &str = "$8\r\nlistpack\r\n";
const QUICKLIST: &str = "$9\r\nquicklist\r\n";

#[test]
fn encoding_follows_size_limit() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let big = "x".repeat(1000);
    // 8 entries of 1000 bytes fit in 8 KiB; the 9th push converts.
    for i in 1..=12 {
        c.cmd(&["RPUSH", "e", &big]);
        let want = if i <= 8 { LISTPACK } else { QUICKLIST };
        assert_eq!(enc(&mut c, "e"), want, "after {} pushes", i);
    }
    // Shrinking converts back only below half the limit (4 entries).
    for i in 1..=11 {
        c.cmd(&["RPOP", "e"]);
        let want = if i < 8 { QUICKLIST } else { LISTPACK };
        assert_eq!(enc(&mut c, "e"), want, "after {} pops", i);
    }
    // Integers are measured by their compact encoding (Redis converts this
    // sequence at its 1645th element).
    c.cmd(&["DEL", "e"]);
    for i in 0..1644 {
        c.cmd(&["RPUSH", "e", &(i * 1000).to_string()]);
    }
    assert_eq!(enc(&mut c, "e"), LISTPACK);
    c.cmd(&["RPUSH", "e", "1644000"]);
    assert_eq!(enc(&mut c, "e"), QUICKLIST);
    // One large element alone is already past the limit.
    c.cmd(&["RPUSH", "big", &"y".repeat(9000)]);
    assert_eq!(enc(&mut c, "big"), QUICKLIST);
}

#[test]
fn encoding_follows_count_limit() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "list-max-listpack-size", "3"]),
        "+OK\r\n"
    );
    // The scenarios of Redis's own list encoding tests.
    c.cmd(&["RPUSH", "l", "a", "b", "c"]);
    assert_eq!(enc(&mut c, "l"), LISTPACK);
    c.cmd(&["RPUSH", "l", "d"]);
    assert_eq!(enc(&mut c, "l"), QUICKLIST);
    c.cmd(&["RPOP", "l", "3"]);
    assert_eq!(enc(&mut c, "l"), LISTPACK);
    c.cmd(&["DEL", "l"]);
    c.cmd(&["RPUSH", "l", "a", "a", "a", "d"]);
    assert_eq!(enc(&mut c, "l"), QUICKLIST);
    assert_eq!(c.cmd(&["LREM", "l", "3", "a"]), ":3\r\n");
    assert_eq!(enc(&mut c, "l"), LISTPACK);
    c.cmd(&["DEL", "l"]);
    c.cmd(&["RPUSH", "l", "a", "b", "c", "d"]);
    assert_eq!(c.cmd(&["LTRIM", "l", "1", "1"]), "+OK\r\n");
    assert_eq!(enc(&mut c, "l"), LISTPACK);
    c.cmd(&["DEL", "l"]);
    c.cmd(&["RPUSH", "l", "a", "b", "c"]);
    c.cmd(&["LINSERT", "l", "BEFORE", "a", "z"]);
    assert_eq!(enc(&mut c, "l"), QUICKLIST);
    c.cmd(&["DEL", "l"]);
    c.cmd(&["RPUSH", "l", "a", "b", "c"]);
    c.cmd(&["LMOVE", "l", "dst", "LEFT", "LEFT"]);
    assert_eq!(enc(&mut c, "l"), LISTPACK);
    assert_eq!(enc(&mut c, "dst"), LISTPACK);
    assert_eq!(
        c.cmd(&["LRANGE", "l", "0", "-1"]),
        "*2\r\n$1\r\nb\r\n$1\r\nc\r\n"
    );
}

#[test]
fn long_lists_index_quickly() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    // 200k elements in one pipelined batch of RPUSHes.
    let mut batch = Vec::new();
    for chunk in 0..200 {
        let mut args: Vec<String> = vec!["RPUSH".into(), "big".into()];
        for i in 0..1000 {
            args.push(format!("v{}", chunk * 1000 + i));
        }
        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        batch.extend_from_slice(&encode(&a));
    }
    c.send_raw(&batch);
    for chunk in 0..200 {
        assert_eq!(c.read_reply(), format!(":{}\r\n", (chunk + 1) * 1000));
    }
    assert_eq!(enc(&mut c, "big"), QUICKLIST);
    let start = Instant::now();
    let mut batch = Vec::new();
    for i in 0..20000u64 {
        let idx = (i * 7919) % 200_000;
        let idx = idx.to_string();
        let a = [b"LINDEX".as_slice(), b"big", idx.as_bytes()];
        batch.extend_from_slice(&encode(&a));
    }
    c.send_raw(&batch);
    for i in 0..20000u64 {
        let idx = (i * 7919) % 200_000;
        assert_eq!(c.read_reply(), bulk(&format!("v{}", idx)));
    }
    for i in (0..200_000).step_by(997) {
        let v = format!("n{}", i);
        assert_eq!(c.cmd(&["LSET", "big", &i.to_string(), &v]), "+OK\r\n");
        assert_eq!(c.cmd(&["LINDEX", "big", &i.to_string()]), bulk(&v));
    }
    assert_eq!(c.cmd(&["LINDEX", "big", "-1"]), bulk("v199999"));
    // A list walk per lookup would take minutes here (debug build).
    assert!(start.elapsed() < Duration::from_secs(30));
    assert_eq!(c.cmd(&["LLEN", "big"]), ":200000\r\n");
    assert_eq!(c.cmd(&["LTRIM", "big", "1000", "-1001"]), "+OK\r\n");
    assert_eq!(c.cmd(&["LLEN", "big"]), ":198000\r\n");
    assert_eq!(c.cmd(&["LINDEX", "big", "0"]), bulk("v1000"));
    assert_eq!(c.cmd(&["LINDEX", "big", "994"]), bulk("n1994"));
    assert_eq!(
        c.cmd(&["LRANGE", "big", "-2", "-1"]),
        "*2\r\n$7\r\nv198998\r\n$7\r\nv198999\r\n"
    );
    assert_eq!(c.cmd(&["LPOS", "big", "v5000"]), ":4000\r\n");
    assert_eq!(c.cmd(&["LPOS", "big", "v5000", "RANK", "-1"]), ":4000\r\n");
    assert_eq!(c.cmd(&["LREM", "big", "-1", "v5000"]), ":1\r\n");
    assert_eq!(c.cmd(&["LINDEX", "big", "4000"]), bulk("v5001"));
}

#[test]
fn keyspace_events() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    if c.cmd(&["CONFIG", "SET", "notify-keyspace-events", "KEA"]) != "+OK\r\n" {
        return;
    }
    let mut sub = s.conn();
    let r = sub.cmd(&["PSUBSCRIBE", "__keyevent@0__:*"]);
    if !r.starts_with("*3") {
        return;
    }
    let events = |sub: &mut Conn, n: usize| -> Vec<String> {
        (0..n)
            .map(|_| {
                let r = sub.read_reply();
                // *4 pmessage pattern channel key: take the channel's event.
                let ch = r.split("\r\n").nth(6).unwrap_or("").to_string();
                ch.trim_start_matches("__keyevent@0__:").to_string()
            })
            .collect()
    };
    c.cmd(&["RPUSH", "k", "a", "b"]);
    // Skip when keyspace events are not delivered by this build.
    sub.r
        .get_ref()
        .set_read_timeout(Some(Duration::from_secs(2)))
        .ok();
    if std::io::BufRead::fill_buf(&mut sub.r).is_err() {
        return;
    }
    sub.r
        .get_ref()
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok();
    assert_eq!(events(&mut sub, 1), vec!["rpush"]);
    c.cmd(&["LPOP", "k"]);
    assert_eq!(events(&mut sub, 1), vec!["lpop"]);
    c.cmd(&["LSET", "k", "0", "z"]);
    c.cmd(&["LINSERT", "k", "BEFORE", "z", "y"]);
    c.cmd(&["LREM", "k", "1", "y"]);
    c.cmd(&["LTRIM", "k", "0", "-1"]);
    assert_eq!(
        events(&mut sub, 4),
        vec!["lset", "linsert", "lrem", "ltrim"]
    );
    c.cmd(&["LMOVE", "k", "k2", "LEFT", "RIGHT"]);
    assert_eq!(events(&mut sub, 3), vec!["rpush", "lpop", "del"]);
}
