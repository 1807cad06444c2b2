//! Sorted set commands against the real binary: exact RESP2/RESP3 replies
//! (errors included) as Redis 7.2 sends them, encodings around the
//! listpack/skiplist thresholds, keyspace events, blocking pops, and rank
//! queries on a 100k-member set.
mod common;
use common::*;
use std::time::{Duration, Instant};

/// Replies recorded from Valkey 8.1 (Redis 7.2 behaviour), RESP2. `None`:
/// run the command but don't compare (random output).
#[rustfmt::skip]
const RESP2_CASES: &[(&[&str], Option<&str>)] = &[
    (&["flushall"], Some("+OK\r\n")),
    (&["zadd", "z", "1", "a", "2", "b", "3.5", "c"], Some(":3\r\n")),
    (&["zrange", "z", "0", "-1", "withscores"], Some("*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$3\r\n3.5\r\n")),
    (&["zrange", "z", "0", "-1"], Some("*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n")),
    (&["zadd", "z", "nx", "xx", "1", "a"], Some("-ERR XX and NX options at the same time are not compatible\r\n")),
    (&["zadd", "z", "gt", "lt", "1", "a"], Some("-ERR GT, LT, and/or NX options at the same time are not compatible\r\n")),
    (&["zadd", "z", "gt", "nx", "1", "a"], Some("-ERR GT, LT, and/or NX options at the same time are not compatible\r\n")),
    (&["zadd", "z", "incr", "1", "a", "2", "b"], Some("-ERR INCR option supports a single increment-element pair\r\n")),
    (&["zadd", "z", "1"], Some("-ERR wrong number of arguments for 'zadd' command\r\n")),
    (&["zadd", "z", "abc", "a"], Some("-ERR value is not a valid float\r\n")),
    (&["zadd", "z", "incr", "inf", "a"], Some("$3\r\ninf\r\n")),
    (&["zadd", "z", "incr", "-inf", "a"], Some("-ERR resulting score is not a number (NaN)\r\n")),
    (&["zadd", "z", "1e400", "a"], Some("-ERR value is not a valid float\r\n")),
    (&["zadd", "z", "nan", "a"], Some("-ERR value is not a valid float\r\n")),
    (&["zrank", "z", "c", "withscore"], Some("*2\r\n:1\r\n$3\r\n3.5\r\n")),
    (&["zrank", "z", "zz", "withscore"], Some("*-1\r\n")),
    (&["zrevrank", "z", "a", "withscore"], Some("*2\r\n:0\r\n$3\r\ninf\r\n")),
    (&["zrange", "z", "0", "-1", "bylex", "limit", "0", "1", "withscores"], Some("-ERR syntax error, WITHSCORES not supported in combination with BYLEX\r\n")),
    (&["zrange", "z", "0", "-1", "limit", "0", "1"], Some("-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX\r\n")),
    (&["zrange", "z", "(1", "3", "byscore", "limit", "0", "1", "withscores"], Some("*2\r\n$1\r\nb\r\n$1\r\n2\r\n")),
    (&["zrange", "z", "[a", "[z", "bylex"], Some("*3\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\na\r\n")),
    (&["zrange", "z", "a", "z", "bylex"], Some("-ERR min or max not valid string range item\r\n")),
    (&["zrange", "z", "x", "1", "byscore"], Some("-ERR min or max is not a float\r\n")),
    (&["zpopmin", "z"], Some("*2\r\n$1\r\nb\r\n$1\r\n2\r\n")),
    (&["zpopmin", "z", "2"], Some("*4\r\n$1\r\nc\r\n$3\r\n3.5\r\n$1\r\na\r\n$3\r\ninf\r\n")),
    (&["zpopmax", "z", "0"], Some("*0\r\n")),
    (&["zmpop", "1", "z", "min", "count", "1"], Some("*-1\r\n")),
    (&["zrandmember", "z", "2", "withscores"], Some("*0\r\n")),
    (&["zunion", "1", "z", "withscores"], Some("*0\r\n")),
    (&["zscore", "z", "b"], Some("$-1\r\n")),
    (&["zmscore", "z", "b", "nope"], Some("*2\r\n$-1\r\n$-1\r\n")),
    (&["zincrby", "z", "1.5", "b"], Some("$3\r\n1.5\r\n")),
    (&["zscan", "z", "0"], Some("*2\r\n$1\r\n0\r\n*2\r\n$1\r\nb\r\n$3\r\n1.5\r\n")),
    (&["zadd", "zz", "1e17", "big", "0.1", "small"], Some(":2\r\n")),
    (&["zscan", "zz", "0"], Some("*2\r\n$1\r\n0\r\n*4\r\n$5\r\nsmall\r\n$3\r\n0.1\r\n$3\r\nbig\r\n$18\r\n100000000000000000\r\n")),
    (&["zrange", "zz", "0", "-1", "withscores"], Some("*4\r\n$5\r\nsmall\r\n$3\r\n0.1\r\n$3\r\nbig\r\n$18\r\n100000000000000000\r\n")),
    (&["zpopmin", "nokey"], Some("*0\r\n")),
    (&["zpopmin", "nokey", "2"], Some("*0\r\n")),
    (&["zmpop", "1", "nokey", "min"], Some("*-1\r\n")),
    (&["zrandmember", "nokey"], Some("$-1\r\n")),
    (&["zrandmember", "nokey", "2"], Some("*0\r\n")),
    (&["zrandmember", "nokey", "2", "withscores"], Some("*0\r\n")),
    (&["zinterstore", "d", "0", "z"], Some("-ERR at least 1 input key is needed for 'zinterstore' command\r\n")),
    (&["zunionstore", "d", "0", "z"], Some("-ERR at least 1 input key is needed for 'zunionstore' command\r\n")),
    (&["zunion", "0", "z"], Some("-ERR at least 1 input key is needed for 'zunion' command\r\n")),
    (&["zunionstore", "d", "2", "z"], Some("-ERR syntax error\r\n")),
    (&["zunionstore", "d", "1", "z", "weights", "1", "2"], Some("-ERR syntax error\r\n")),
    (&["zunionstore", "d", "1", "z", "weights", "x"], Some("-ERR weight value is not a float\r\n")),
    (&["zunionstore", "d", "1", "z", "aggregate", "foo"], Some("-ERR syntax error\r\n")),
    (&["zunionstore", "d", "-1", "z"], Some("-ERR at least 1 input key is needed for 'zunionstore' command\r\n")),
    (&["zunion", "1", "z", "foo"], Some("-ERR syntax error\r\n")),
    (&["zdiff", "1", "z", "withscores"], Some("*2\r\n$1\r\nb\r\n$3\r\n1.5\r\n")),
    (&["zdiffstore", "d", "1", "z", "withscores"], Some("-ERR syntax error\r\n")),
    (&["zintercard", "0", "z"], Some("-ERR at least 1 input key is needed for 'zintercard' command\r\n")),
    (&["zintercard", "1", "z", "limit", "-1"], Some("-ERR LIMIT can't be negative\r\n")),
    (&["zintercard", "1", "z", "limit", "x"], Some("-ERR LIMIT can't be negative\r\n")),
    (&["zmpop", "0", "z", "min"], Some("-ERR numkeys should be greater than 0\r\n")),
    (&["zmpop", "1", "z", "foo"], Some("-ERR syntax error\r\n")),
    (&["zmpop", "1", "z", "min", "count", "0"], Some("-ERR count should be greater than 0\r\n")),
    (&["zmpop", "1", "z", "min", "count", "-1"], Some("-ERR count should be greater than 0\r\n")),
    (&["zmpop", "1", "z", "min", "count", "x"], Some("-ERR count should be greater than 0\r\n")),
    (&["zmpop", "x", "z", "min"], Some("-ERR numkeys should be greater than 0\r\n")),
    (&["zrangestore", "dst", "z", "0", "-1", "withscores"], Some("-ERR syntax error\r\n")),
    (&["zrangebyscore", "z", "1", "2", "withscores", "limit", "0"], Some("-ERR syntax error\r\n")),
    (&["zrangebylex", "z", "-", "+", "limit", "0", "-1"], Some("*1\r\n$1\r\nb\r\n")),
    (&["zremrangebyscore", "z", "a", "b"], Some("-ERR min or max is not a float\r\n")),
    (&["zcount", "z", "a", "b"], Some("-ERR min or max is not a float\r\n")),
    (&["zlexcount", "z", "a", "b"], Some("-ERR min or max not valid string range item\r\n")),
    (&["zlexcount", "z", "-", "+"], Some(":1\r\n")),
    (&["zrandmember", "z", "-5", "withscores"], Some("*10\r\n$1\r\nb\r\n$3\r\n1.5\r\n$1\r\nb\r\n$3\r\n1.5\r\n$1\r\nb\r\n$3\r\n1.5\r\n$1\r\nb\r\n$3\r\n1.5\r\n$1\r\nb\r\n$3\r\n1.5\r\n")),
    (&["zrandmember", "z", "x"], Some("-ERR value is not an integer or out of range\r\n")),
    (&["zrandmember", "z", "1", "foo"], Some("-ERR syntax error\r\n")),
    (&["del", "a", "b"], Some(":0\r\n")),
    (&["zadd", "a", "-0", "x"], Some(":1\r\n")),
    (&["zscore", "a", "x"], Some("$1\r\n0\r\n")),
    (&["zadd", "b", "-0", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"], Some(":1\r\n")),
    (&["zrange", "b", "0", "-1", "withscores"], Some("*2\r\n$82\r\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n$2\r\n-0\r\n")),
    (&["zincrby", "a", "-0", "y"], Some("$2\r\n-0\r\n")),
    (&["zscore", "a", "y"], Some("$1\r\n0\r\n")),
    (&["zadd", "a", "0", "y"], Some(":0\r\n")),
    (&["zadd", "a", "-0.0", "y2"], Some(":1\r\n")),
    (&["zrange", "a", "0", "-1", "withscores"], Some("*6\r\n$1\r\nx\r\n$1\r\n0\r\n$1\r\ny\r\n$1\r\n0\r\n$2\r\ny2\r\n$1\r\n0\r\n")),
    (&["zadd", "a", "1e-320", "sub"], Some(":1\r\n")),
    (&["zscore", "a", "sub"], Some("$6\r\n1e-320\r\n")),
    (&["zadd", "a", "0x10", "hex"], Some(":1\r\n")),
    (&["zadd", "a", " 1", "sp"], Some("-ERR value is not a valid float\r\n")),
    (&["zadd", "a", "1 ", "sp"], Some("-ERR value is not a valid float\r\n")),
    (&["zadd", "a", "+1", "plus"], Some(":1\r\n")),
    (&["zadd", "a", ".5", "dot"], Some(":1\r\n")),
    (&["zadd", "a", "1.", "dot2"], Some(":1\r\n")),
    (&["zadd", "a", "1e5", "e5"], Some(":1\r\n")),
    (&["zadd", "a", "infinity", "inf1"], Some(":1\r\n")),
    (&["zadd", "a", "-Infinity", "inf2"], Some(":1\r\n")),
    (&["zadd", "a", "+inf", "inf3"], Some(":1\r\n")),
    (&["zrange", "a", "0", "-1", "withscores"], Some("*24\r\n$4\r\ninf2\r\n$4\r\n-inf\r\n$1\r\nx\r\n$1\r\n0\r\n$1\r\ny\r\n$1\r\n0\r\n$2\r\ny2\r\n$1\r\n0\r\n$3\r\nsub\r\n$6\r\n1e-320\r\n$3\r\ndot\r\n$3\r\n0.5\r\n$4\r\ndot2\r\n$1\r\n1\r\n$4\r\nplus\r\n$1\r\n1\r\n$3\r\nhex\r\n$2\r\n16\r\n$2\r\ne5\r\n$6\r\n100000\r\n$4\r\ninf1\r\n$3\r\ninf\r\n$4\r\ninf3\r\n$3\r\ninf\r\n")),
    (&["flushall"], Some("+OK\r\n")),
    (&["zadd", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"], Some(":5\r\n")),
    (&["zadd", "z", "ch", "10", "a", "2", "b", "7", "new"], Some(":2\r\n")),
    (&["zadd", "z", "xx", "ch", "11", "a", "99", "nope"], Some(":1\r\n")),
    (&["zadd", "z", "nx", "100", "a", "12", "nx1"], Some(":1\r\n")),
    (&["zadd", "z", "gt", "5", "a"], Some(":0\r\n")),
    (&["zadd", "z", "gt", "20", "a"], Some(":0\r\n")),
    (&["zadd", "z", "lt", "30", "a"], Some(":0\r\n")),
    (&["zadd", "z", "lt", "1", "a"], Some(":0\r\n")),
    (&["zadd", "z", "xx", "gt", "ch", "50", "a"], Some(":1\r\n")),
    (&["zadd", "z", "xx", "incr", "1", "nope"], Some("$-1\r\n")),
    (&["zadd", "z", "nx", "incr", "1", "a"], Some("$-1\r\n")),
    (&["zadd", "z", "gt", "incr", "-5", "a"], Some("$-1\r\n")),
    (&["zadd", "z", "incr", "0", "a"], Some("$2\r\n50\r\n")),
    (&["zadd", "z", "GT", "LT", "1", "a"], Some("-ERR GT, LT, and/or NX options at the same time are not compatible\r\n")),
    (&["zadd", "z", "Nx", "XX", "1", "a"], Some("-ERR XX and NX options at the same time are not compatible\r\n")),
    (&["zadd", "z", "nx"], Some("-ERR wrong number of arguments for 'zadd' command\r\n")),
    (&["zadd", "z", "1", "a", "2"], Some("-ERR syntax error\r\n")),
    (&["zadd", "z", "incr"], Some("-ERR wrong number of arguments for 'zadd' command\r\n")),
    (&["zrange", "z", "0", "-1", "withscores"], Some("*14\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nd\r\n$1\r\n4\r\n$1\r\ne\r\n$1\r\n5\r\n$3\r\nnew\r\n$1\r\n7\r\n$3\r\nnx1\r\n$2\r\n12\r\n$1\r\na\r\n$2\r\n50\r\n")),
    (&["object", "encoding", "z"], Some("$8\r\nlistpack\r\n")),
    (&["zadd", "z2", "xx", "1", "a"], Some(":0\r\n")),
    (&["exists", "z2"], Some(":0\r\n")),
    (&["zadd", "z2", "xx", "incr", "1", "a"], Some("$-1\r\n")),
    (&["zincrby", "z2", "nx", "a"], Some("-ERR syntax error\r\n")),
    (&["zincrby", "z2", "1.5", "m"], Some("$3\r\n1.5\r\n")),
    (&["zincrby", "z2", "abc", "m"], Some("-ERR value is not a valid float\r\n")),
    (&["zincrby", "z2", "-inf", "m"], Some("$4\r\n-inf\r\n")),
    (&["zincrby", "z2", "+inf", "m"], Some("-ERR resulting score is not a number (NaN)\r\n")),
    (&["zincrby", "z2", "1", "m"], Some("$4\r\n-inf\r\n")),
    (&["zincrby", "z2", "-inf", "m"], Some("$4\r\n-inf\r\n")),
    (&["set", "str", "x"], Some("+OK\r\n")),
    (&["zadd", "str", "1", "a"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["zincrby", "str", "1", "a"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["zrem", "str", "a"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["zcard", "str"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["zscore", "str", "a"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["zmscore", "str", "a"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["zrank", "str", "a"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["zcount", "str", "0", "1"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["zlexcount", "str", "-", "+"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["zrange", "str", "0", "-1"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["zrangestore", "d", "str", "0", "-1"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["zrangebyscore", "str", "0", "1"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["zremrangebyrank", "str", "0", "1"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["zpopmin", "str"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["zmpop", "1", "str", "min"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["zunion", "2", "z", "str"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["zinter", "2", "z", "str"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["zrandmember", "str"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["zscan", "str", "0"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["zrem", "z", "a", "nope", "b"], Some(":2\r\n")),
    (&["zrem", "z", "nope"], Some(":0\r\n")),
    (&["zrem", "nokey", "a"], Some(":0\r\n")),
    (&["zcard", "z"], Some(":5\r\n")),
    (&["zrank", "z", "c"], Some(":0\r\n")),
    (&["zrank", "z", "c", "withscore"], Some("*2\r\n:0\r\n$1\r\n3\r\n")),
    (&["zrank", "z", "c", "withscores"], Some("-ERR syntax error\r\n")),
    (&["zrank", "z", "c", "withscore", "extra"], Some("-ERR wrong number of arguments for 'zrank' command\r\n")),
    (&["zrevrank", "z", "c"], Some(":4\r\n")),
    (&["zrevrank", "z", "c", "WITHSCORE"], Some("*2\r\n:4\r\n$1\r\n3\r\n")),
    (&["zrank", "nokey", "a", "withscore"], Some("*-1\r\n")),
    (&["zrank", "nokey", "a"], Some("$-1\r\n")),
    (&["zmscore", "z", "c", "nope", "d"], Some("*3\r\n$1\r\n3\r\n$-1\r\n$1\r\n4\r\n")),
    (&["zmscore", "nokey", "x"], Some("*1\r\n$-1\r\n")),
    (&["zscore", "z", "c"], Some("$1\r\n3\r\n")),
    (&["zscore", "z", "nope"], Some("$-1\r\n")),
    (&["zcount", "z", "-inf", "+inf"], Some(":5\r\n")),
    (&["zcount", "z", "(3", "5"], Some(":2\r\n")),
    (&["zcount", "z", "3", "(5"], Some(":2\r\n")),
    (&["zcount", "z", "(3", "(3"], Some(":0\r\n")),
    (&["zcount", "z", "5", "3"], Some(":0\r\n")),
    (&["zcount", "z", "", "5"], Some(":3\r\n")),
    (&["zcount", "z", "(", "5"], Some(":3\r\n")),
    (&["zcount", "z", " 3", "5"], Some(":3\r\n")),
    (&["zcount", "z", "3x", "5"], Some("-ERR min or max is not a float\r\n")),
    (&["zcount", "nokey", "0", "1"], Some(":0\r\n")),
    (&["zadd", "lex", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e", "0", "f", "0", "g"], Some(":7\r\n")),
    (&["zlexcount", "lex", "-", "+"], Some(":7\r\n")),
    (&["zlexcount", "lex", "[b", "[d"], Some(":3\r\n")),
    (&["zlexcount", "lex", "(b", "(d"], Some(":1\r\n")),
    (&["zlexcount", "lex", "+", "-"], Some(":0\r\n")),
    (&["zlexcount", "lex", "-", "-"], Some(":0\r\n")),
    (&["zlexcount", "lex", "[d", "[b"], Some(":0\r\n")),
    (&["zlexcount", "lex", "[b"], Some("-ERR wrong number of arguments for 'zlexcount' command\r\n")),
    (&["zlexcount", "lex", "b", "d"], Some("-ERR min or max not valid string range item\r\n")),
    (&["zlexcount", "lex", "", "+"], Some("-ERR min or max not valid string range item\r\n")),
    (&["zrangebylex", "lex", "-", "+"], Some("*7\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n$1\r\nf\r\n$1\r\ng\r\n")),
    (&["zrangebylex", "lex", "[b", "(f", "limit", "1", "2"], Some("*2\r\n$1\r\nc\r\n$1\r\nd\r\n")),
    (&["zrangebylex", "lex", "[b", "(f", "limit", "1", "-5"], Some("*3\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n")),
    (&["zrangebylex", "lex", "[b", "(f", "limit", "-1", "2"], Some("*0\r\n")),
    (&["zrangebylex", "lex", "[b", "(f", "limit", "10", "2"], Some("*0\r\n")),
    (&["zrangebylex", "lex", "[b", "(f", "limit", "0", "0"], Some("*0\r\n")),
    (&["zrevrangebylex", "lex", "+", "-"], Some("*7\r\n$1\r\ng\r\n$1\r\nf\r\n$1\r\ne\r\n$1\r\nd\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n")),
    (&["zrevrangebylex", "lex", "(f", "[b", "limit", "1", "2"], Some("*2\r\n$1\r\nd\r\n$1\r\nc\r\n")),
    (&["zrevrangebylex", "lex", "[b", "(f"], Some("*0\r\n")),
    (&["zrangebylex", "lex", "-", "+", "withscores"], Some("-ERR syntax error, WITHSCORES not supported in combination with BYLEX\r\n")),
    (&["zrangebylex", "lex", "-", "+", "limit", "1"], Some("-ERR syntax error\r\n")),
    (&["zrangebylex", "lex", "-", "+", "limit", "a", "1"], Some("-ERR value is not an integer or out of range\r\n")),
    (&["zrange", "lex", "[b", "[d", "bylex", "rev"], Some("*0\r\n")),
    (&["zrange", "lex", "[d", "[b", "bylex", "rev"], Some("*3\r\n$1\r\nd\r\n$1\r\nc\r\n$1\r\nb\r\n")),
    (&["zrange", "lex", "[d", "[b", "bylex", "rev", "limit", "1", "1"], Some("*1\r\n$1\r\nc\r\n")),
    (&["zrange", "lex", "0", "-1", "rev"], Some("*7\r\n$1\r\ng\r\n$1\r\nf\r\n$1\r\ne\r\n$1\r\nd\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n")),
    (&["zrange", "lex", "1", "3", "rev", "withscores"], Some("*6\r\n$1\r\nf\r\n$1\r\n0\r\n$1\r\ne\r\n$1\r\n0\r\n$1\r\nd\r\n$1\r\n0\r\n")),
    (&["zrange", "lex", "-3", "-1"], Some("*3\r\n$1\r\ne\r\n$1\r\nf\r\n$1\r\ng\r\n")),
    (&["zrange", "lex", "-100", "100"], Some("*7\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n$1\r\nf\r\n$1\r\ng\r\n")),
    (&["zrange", "lex", "5", "2"], Some("*0\r\n")),
    (&["zrange", "lex", "0", "-1", "limit", "0", "-1"], Some("*7\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n$1\r\nf\r\n$1\r\ng\r\n")),
    (&["zrange", "lex", "0", "-1", "limit", "0", "5"], Some("-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX\r\n")),
    (&["zrange", "lex", "0", "-1", "byscore", "bylex"], Some("-ERR syntax error\r\n")),
    (&["zrange", "lex", "0", "-1", "rev", "rev"], Some("-ERR syntax error\r\n")),
    (&["zrange", "lex", "0", "-1", "foo"], Some("-ERR syntax error\r\n")),
    (&["zrange", "lex", "x", "1"], Some("-ERR value is not an integer or out of range\r\n")),
    (&["zrange", "lex", "0", "-1", "withscores", "withscores"], Some("*14\r\n$1\r\na\r\n$1\r\n0\r\n$1\r\nb\r\n$1\r\n0\r\n$1\r\nc\r\n$1\r\n0\r\n$1\r\nd\r\n$1\r\n0\r\n$1\r\ne\r\n$1\r\n0\r\n$1\r\nf\r\n$1\r\n0\r\n$1\r\ng\r\n$1\r\n0\r\n")),
    (&["zrange", "z", "2", "4", "byscore", "withscores"], Some("*4\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nd\r\n$1\r\n4\r\n")),
    (&["zrange", "z", "(2", "+inf", "byscore", "limit", "1", "2", "withscores"], Some("*4\r\n$1\r\nd\r\n$1\r\n4\r\n$1\r\ne\r\n$1\r\n5\r\n")),
    (&["zrange", "z", "+inf", "(2", "byscore", "rev", "limit", "1", "2", "withscores"], Some("*4\r\n$3\r\nnew\r\n$1\r\n7\r\n$1\r\ne\r\n$1\r\n5\r\n")),
    (&["zrange", "z", "(2", "+inf", "byscore", "rev"], Some("*0\r\n")),
    (&["zrangebyscore", "z", "-inf", "+inf", "withscores", "limit", "2", "100"], Some("*6\r\n$1\r\ne\r\n$1\r\n5\r\n$3\r\nnew\r\n$1\r\n7\r\n$3\r\nnx1\r\n$2\r\n12\r\n")),
    (&["zrangebyscore", "z", "-inf", "+inf", "limit", "2"], Some("-ERR syntax error\r\n")),
    (&["zrangebyscore", "z", "1", "2", "rev"], Some("-ERR syntax error\r\n")),
    (&["zrangebyscore", "z", "a", "b"], Some("-ERR min or max is not a float\r\n")),
    (&["zrevrangebyscore", "z", "+inf", "-inf"], Some("*5\r\n$3\r\nnx1\r\n$3\r\nnew\r\n$1\r\ne\r\n$1\r\nd\r\n$1\r\nc\r\n")),
    (&["zrevrangebyscore", "z", "-inf", "+inf"], Some("*0\r\n")),
    (&["zrevrangebyscore", "z", "5", "(3", "withscores"], Some("*4\r\n$1\r\ne\r\n$1\r\n5\r\n$1\r\nd\r\n$1\r\n4\r\n")),
    (&["zrevrange", "z", "0", "1", "withscores"], Some("*4\r\n$3\r\nnx1\r\n$2\r\n12\r\n$3\r\nnew\r\n$1\r\n7\r\n")),
    (&["zrevrange", "z", "0", "1", "limit", "0", "1"], Some("-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX\r\n")),
    (&["zrevrange", "z", "0", "1", "byscore"], Some("-ERR syntax error\r\n")),
    (&["zrangestore", "dst", "z", "0", "-1"], Some(":5\r\n")),
    (&["zrange", "dst", "0", "-1", "withscores"], Some("*10\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nd\r\n$1\r\n4\r\n$1\r\ne\r\n$1\r\n5\r\n$3\r\nnew\r\n$1\r\n7\r\n$3\r\nnx1\r\n$2\r\n12\r\n")),
    (&["object", "encoding", "dst"], Some("$8\r\nlistpack\r\n")),
    (&["zrangestore", "dst", "z", "0", "-1", "withscores"], Some("-ERR syntax error\r\n")),
    (&["zrangestore", "dst", "z", "(3", "+inf", "byscore", "limit", "0", "2"], Some(":2\r\n")),
    (&["zrange", "dst", "0", "-1", "withscores"], Some("*4\r\n$1\r\nd\r\n$1\r\n4\r\n$1\r\ne\r\n$1\r\n5\r\n")),
    (&["zrangestore", "dst", "nokey", "0", "-1"], Some(":0\r\n")),
    (&["exists", "dst"], Some(":0\r\n")),
    (&["zrangestore", "dst", "z", "10", "20"], Some(":0\r\n")),
    (&["zrangestore", "dst", "lex", "[b", "[d", "bylex"], Some(":3\r\n")),
    (&["zrange", "dst", "0", "-1"], Some("*3\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n")),
    (&["zrangestore", "dst", "lex", "[d", "[b", "bylex", "rev"], Some(":3\r\n")),
    (&["zrange", "dst", "0", "-1"], Some("*3\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n")),
    (&["zremrangebyrank", "z", "0", "0"], Some(":1\r\n")),
    (&["zremrangebyrank", "z", "-1", "-1"], Some(":1\r\n")),
    (&["zremrangebyrank", "z", "5", "1"], Some(":0\r\n")),
    (&["zremrangebyrank", "z", "a", "1"], Some("-ERR value is not an integer or out of range\r\n")),
    (&["zrange", "z", "0", "-1", "withscores"], Some("*6\r\n$1\r\nd\r\n$1\r\n4\r\n$1\r\ne\r\n$1\r\n5\r\n$3\r\nnew\r\n$1\r\n7\r\n")),
    (&["zremrangebyscore", "z", "(3", "5"], Some(":2\r\n")),
    (&["zremrangebyscore", "z", "a", "5"], Some("-ERR min or max is not a float\r\n")),
    (&["zremrangebylex", "lex", "[b", "[c"], Some(":2\r\n")),
    (&["zremrangebylex", "lex", "b", "c"], Some("-ERR min or max not valid string range item\r\n")),
    (&["zrange", "lex", "0", "-1"], Some("*5\r\n$1\r\na\r\n$1\r\nd\r\n$1\r\ne\r\n$1\r\nf\r\n$1\r\ng\r\n")),
    (&["zremrangebylex", "lex", "-", "+"], Some(":5\r\n")),
    (&["exists", "lex"], Some(":0\r\n")),
    (&["zremrangebyscore", "nokey", "0", "1"], Some(":0\r\n")),
    (&["zremrangebyrank", "nokey", "0", "1"], Some(":0\r\n")),
    (&["zadd", "p", "1", "a", "2", "b", "3", "c", "4", "d"], Some(":4\r\n")),
    (&["zpopmin", "p"], Some("*2\r\n$1\r\na\r\n$1\r\n1\r\n")),
    (&["zpopmax", "p"], Some("*2\r\n$1\r\nd\r\n$1\r\n4\r\n")),
    (&["zpopmin", "p", "0"], Some("*0\r\n")),
    (&["zpopmin", "p", "-1"], Some("-ERR value is out of range, must be positive\r\n")),
    (&["zpopmin", "p", "x"], Some("-ERR value is out of range, must be positive\r\n")),
    (&["zpopmin", "p", "1", "2"], Some("-ERR syntax error\r\n")),
    (&["zpopmax", "p", "10"], Some("*4\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nb\r\n$1\r\n2\r\n")),
    (&["exists", "p"], Some(":0\r\n")),
    (&["zpopmin", "p"], Some("*0\r\n")),
    (&["zpopmin", "p", "3"], Some("*0\r\n")),
    (&["zadd", "p", "1", "a", "2", "b", "3", "c", "4", "d"], Some(":4\r\n")),
    (&["zmpop", "2", "nokey", "p", "max", "count", "2"], Some("*2\r\n$1\r\np\r\n*2\r\n*2\r\n$1\r\nd\r\n$1\r\n4\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n")),
    (&["zmpop", "2", "nokey", "p", "min", "count", "10"], Some("*2\r\n$1\r\np\r\n*2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n")),
    (&["zmpop", "1", "p", "min"], Some("*-1\r\n")),
    (&["zmpop", "2", "p"], Some("-ERR wrong number of arguments for 'zmpop' command\r\n")),
    (&["zmpop", "2", "p", "x", "min"], Some("*-1\r\n")),
    (&["zmpop", "1", "p", "min", "count", "1", "count", "1"], Some("-ERR syntax error\r\n")),
    (&["zmpop", "1", "p", "min", "count"], Some("-ERR syntax error\r\n")),
    (&["zmpop", "1", "p", "MIN", "count", "1", "foo"], Some("-ERR syntax error\r\n")),
    (&["zmpop", "-1", "p", "min"], Some("-ERR numkeys should be greater than 0\r\n")),
    (&["zmpop", "9223372036854775807", "p", "min"], Some("-ERR syntax error\r\n")),
    (&["zadd", "u1", "1", "a", "2", "b", "3", "c"], Some(":3\r\n")),
    (&["zadd", "u2", "10", "b", "20", "c", "30", "d"], Some(":3\r\n")),
    (&["sadd", "s1", "a", "d", "x"], Some(":3\r\n")),
    (&["zunion", "2", "u1", "u2", "withscores"], Some("*8\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$2\r\n12\r\n$1\r\nc\r\n$2\r\n23\r\n$1\r\nd\r\n$2\r\n30\r\n")),
    (&["zunion", "3", "u1", "u2", "s1", "withscores"], Some("*10\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\na\r\n$1\r\n2\r\n$1\r\nb\r\n$2\r\n12\r\n$1\r\nc\r\n$2\r\n23\r\n$1\r\nd\r\n$2\r\n31\r\n")),
    (&["zunion", "3", "u1", "u2", "s1", "weights", "1", "2", "3", "withscores"], Some("*10\r\n$1\r\nx\r\n$1\r\n3\r\n$1\r\na\r\n$1\r\n4\r\n$1\r\nb\r\n$2\r\n22\r\n$1\r\nc\r\n$2\r\n43\r\n$1\r\nd\r\n$2\r\n63\r\n")),
    (&["zunion", "3", "u1", "u2", "s1", "weights", "1", "2", "withscores"], Some("-ERR weight value is not a float\r\n")),
    (&["zunion", "2", "u1", "u2", "aggregate", "min", "withscores"], Some("*8\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nd\r\n$2\r\n30\r\n")),
    (&["zunion", "2", "u1", "u2", "aggregate", "max", "withscores"], Some("*8\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$2\r\n10\r\n$1\r\nc\r\n$2\r\n20\r\n$1\r\nd\r\n$2\r\n30\r\n")),
    (&["zunion", "2", "u1", "u2", "aggregate", "max", "aggregate", "min", "withscores"], Some("*8\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nd\r\n$2\r\n30\r\n")),
    (&["zunion", "2", "u1", "u2", "weights", "inf", "-inf", "withscores"], Some("*8\r\n$1\r\nd\r\n$4\r\n-inf\r\n$1\r\nb\r\n$1\r\n0\r\n$1\r\nc\r\n$1\r\n0\r\n$1\r\na\r\n$3\r\ninf\r\n")),
    (&["zunion", "2", "u1", "u2", "weights", "0", "inf", "withscores"], Some("*8\r\n$1\r\na\r\n$1\r\n0\r\n$1\r\nb\r\n$3\r\ninf\r\n$1\r\nc\r\n$3\r\ninf\r\n$1\r\nd\r\n$3\r\ninf\r\n")),
    (&["zunion", "2", "u1", "u2", "weights", "nan", "1"], Some("-ERR weight value is not a float\r\n")),
    (&["zunion", "2", "u1", "u2", "weights", "1e400", "1"], Some("-ERR weight value is not a float\r\n")),
    (&["zinter", "2", "u1", "u2", "withscores"], Some("*4\r\n$1\r\nb\r\n$2\r\n12\r\n$1\r\nc\r\n$2\r\n23\r\n")),
    (&["zinter", "3", "u1", "u2", "s1", "withscores"], Some("*0\r\n")),
    (&["zinter", "2", "u1", "s1", "withscores"], Some("*2\r\n$1\r\na\r\n$1\r\n2\r\n")),
    (&["zinter", "2", "u1", "u2", "weights", "2", "3", "aggregate", "max", "withscores"], Some("*4\r\n$1\r\nb\r\n$2\r\n30\r\n$1\r\nc\r\n$2\r\n60\r\n")),
    (&["zinter", "2", "u1", "u1", "withscores"], Some("*6\r\n$1\r\na\r\n$1\r\n2\r\n$1\r\nb\r\n$1\r\n4\r\n$1\r\nc\r\n$1\r\n6\r\n")),
    (&["zinter", "2", "u1", "nokey", "withscores"], Some("*0\r\n")),
    (&["zdiff", "2", "u1", "u2", "withscores"], Some("*2\r\n$1\r\na\r\n$1\r\n1\r\n")),
    (&["zdiff", "2", "u1", "s1"], Some("*2\r\n$1\r\nb\r\n$1\r\nc\r\n")),
    (&["zdiff", "1", "s1"], Some("*3\r\n$1\r\na\r\n$1\r\nd\r\n$1\r\nx\r\n")),
    (&["zdiff", "2", "u1", "u1"], Some("*0\r\n")),
    (&["zdiff", "2", "u1", "u2", "weights", "1", "2"], Some("-ERR syntax error\r\n")),
    (&["zdiff", "2", "u1", "u2", "aggregate", "sum"], Some("-ERR syntax error\r\n")),
    (&["zintercard", "2", "u1", "u2"], Some(":2\r\n")),
    (&["zintercard", "2", "u1", "u2", "limit", "1"], Some(":1\r\n")),
    (&["zintercard", "2", "u1", "u2", "limit", "0"], Some(":2\r\n")),
    (&["zintercard", "2", "u1", "u2", "withscores"], Some("-ERR syntax error\r\n")),
    (&["zintercard", "2", "u1", "u2", "weights", "1", "2"], Some("-ERR syntax error\r\n")),
    (&["zintercard", "3", "u1", "u2"], Some("-ERR syntax error\r\n")),
    (&["zintercard", "x", "u1"], Some("-ERR value is not an integer or out of range\r\n")),
    (&["zunionstore", "out", "2", "u1", "u2"], Some(":4\r\n")),
    (&["zrange", "out", "0", "-1", "withscores"], Some("*8\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$2\r\n12\r\n$1\r\nc\r\n$2\r\n23\r\n$1\r\nd\r\n$2\r\n30\r\n")),
    (&["object", "encoding", "out"], Some("$8\r\nlistpack\r\n")),
    (&["zinterstore", "out", "2", "u1", "u2", "weights", "1", "1", "aggregate", "min"], Some(":2\r\n")),
    (&["zrange", "out", "0", "-1", "withscores"], Some("*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n")),
    (&["zdiffstore", "out", "2", "u1", "u2"], Some(":1\r\n")),
    (&["zrange", "out", "0", "-1", "withscores"], Some("*2\r\n$1\r\na\r\n$1\r\n1\r\n")),
    (&["zdiffstore", "out", "2", "u1", "u1"], Some(":0\r\n")),
    (&["exists", "out"], Some(":0\r\n")),
    (&["zunionstore", "out", "1", "nokey"], Some(":0\r\n")),
    (&["zunionstore", "out", "0", "u1"], Some("-ERR at least 1 input key is needed for 'zunionstore' command\r\n")),
    (&["zunionstore", "out", "2", "u1"], Some("-ERR syntax error\r\n")),
    (&["zunionstore", "out", "2", "u1", "u2", "withscores"], Some("-ERR syntax error\r\n")),
    (&["zinterstore", "out", "1", "s1"], Some(":3\r\n")),
    (&["zrange", "out", "0", "-1", "withscores"], Some("*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nd\r\n$1\r\n1\r\n$1\r\nx\r\n$1\r\n1\r\n")),
    (&["zunionstore", "u1", "2", "u1", "u2"], Some(":4\r\n")),
    (&["zrange", "u1", "0", "-1", "withscores"], Some("*8\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$2\r\n12\r\n$1\r\nc\r\n$2\r\n23\r\n$1\r\nd\r\n$2\r\n30\r\n")),
    (&["zunion", "2", "u1", "str"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["zunion", "2", "u1", "str", "foo"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["zunion", "3", "u1", "u2"], Some("-ERR syntax error\r\n")),
    (&["zunion", "1", "u1", "weights"], Some("-ERR syntax error\r\n")),
    (&["zunion", "1", "u1", "weights", "1", "2"], Some("-ERR syntax error\r\n")),
    (&["zunion", "1", "u1", "aggregate"], Some("-ERR syntax error\r\n")),
    (&["flushall"], Some("+OK\r\n")),
    (&["zadd", "zz", "1e15", "a", "1e17", "b", "1e18", "c", "4611686018427387904", "d", "4e18", "e", "5e18", "f", "-1e18", "g", "1.5e-7", "h", "-0", "i", "0.1", "j", "1e21", "k"], Some(":11\r\n")),
    (&["zrange", "zz", "0", "-1", "withscores"], Some("*22\r\n$1\r\ng\r\n$20\r\n-1000000000000000000\r\n$1\r\ni\r\n$1\r\n0\r\n$1\r\nh\r\n$6\r\n1.5e-7\r\n$1\r\nj\r\n$3\r\n0.1\r\n$1\r\na\r\n$16\r\n1000000000000000\r\n$1\r\nb\r\n$18\r\n100000000000000000\r\n$1\r\nc\r\n$19\r\n1000000000000000000\r\n$1\r\ne\r\n$19\r\n4000000000000000000\r\n$1\r\nd\r\n$19\r\n4611686018427387904\r\n$1\r\nf\r\n$5\r\n5e+18\r\n$1\r\nk\r\n$5\r\n1e+21\r\n")),
    (&["zscore", "zz", "c"], Some("$19\r\n1000000000000000000\r\n")),
    (&["zscore", "zz", "f"], Some("$5\r\n5e+18\r\n")),
    (&["zincrby", "zz", "0", "i"], Some("$1\r\n0\r\n")),
    (&["zadd", "zs", "1", "a", "2", "b", "3", "c"], Some(":3\r\n")),
    (&["zrandmember", "zs", "5"], Some("*3\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n")),
    (&["zrandmember", "zs", "5", "withscores"], Some("*6\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\na\r\n$1\r\n1\r\n")),
    (&["zrandmember", "zs", "3"], Some("*3\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n")),
    (&["zrandmember", "zs", "-1"], None),
    (&["zrandmember", "zs", "0"], Some("*0\r\n")),
    (&["zrandmember", "zs", "0", "withscores"], Some("*0\r\n")),
    (&["zrandmember", "zs", "1", "withscore"], Some("-ERR syntax error\r\n")),
    (&["zrandmember", "zs", "1", "2"], Some("-ERR syntax error\r\n")),
    (&["zrandmember", "zs", "x"], Some("-ERR value is not an integer or out of range\r\n")),
    (&["zrandmember", "zs", "-9223372036854775808"], Some("-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n")),
    (&["zrandmember", "zs", "9223372036854775807", "withscores"], Some("-ERR value is out of range\r\n")),
    (&["zrandmember", "zs", "-4611686018427387904", "withscores"], Some("-ERR value is out of range\r\n")),
    (&["zrandmember", "zs", "4611686018427387904", "withscores"], Some("-ERR value is out of range\r\n")),
    (&["zrandmember", "nokey"], Some("$-1\r\n")),
    (&["zrandmember", "nokey", "5"], Some("*0\r\n")),
    (&["zscan", "zs", "0"], Some("*2\r\n$1\r\n0\r\n*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n")),
    (&["zscan", "zs", "0", "count", "1"], Some("*2\r\n$1\r\n0\r\n*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n")),
    (&["zscan", "zs", "0", "match", "b*"], Some("*2\r\n$1\r\n0\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n")),
    (&["zscan", "zs", "0", "match"], Some("-ERR syntax error\r\n")),
    (&["zscan", "zs", "0", "count", "0"], Some("-ERR syntax error\r\n")),
    (&["zscan", "zs", "0", "count", "x"], Some("-ERR value is not an integer or out of range\r\n")),
    (&["zscan", "zs", "x"], Some("-ERR invalid cursor\r\n")),
    // strtoul, as Redis 7.2: "-1" wraps, leading white space is refused.
    (&["zscan", "zs", "-1"], Some("*2\r\n$1\r\n0\r\n*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n")),
    (&["zscan", "zs", " 1"], Some("-ERR invalid cursor\r\n")),
    (&["zscan", "zs", "18446744073709551615"], Some("*2\r\n$1\r\n0\r\n*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n")),
    (&["zscan", "zs", "18446744073709551616"], Some("-ERR invalid cursor\r\n")),
    (&["zscan", "nokey", "0"], Some("*2\r\n$1\r\n0\r\n*0\r\n")),
    (&["zscan", "nokey", "0", "count", "0"], Some("*2\r\n$1\r\n0\r\n*0\r\n")),
    (&["zscan", "nokey", "x"], Some("-ERR invalid cursor\r\n")),
    (&["zscan", "zs", "0", "foo", "bar"], Some("-ERR syntax error\r\n")),
    (&["set", "str", "x"], Some("+OK\r\n")),
    (&["zscan", "str", "0"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["zrandmember", "str"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["zrandmember", "str", "1"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["zrandmember", "zs", "9223372036854775807"], Some("*3\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n")),
];

/// RESP3 forms (doubles, nested WITHSCORES pairs, nulls), recorded from
/// Valkey 8.1. The first command switches the connection to RESP3.
#[rustfmt::skip]
const RESP3_CASES: &[(&[&str], Option<&str>)] = &[
    (&["hello", "3"], None),
    (&["del", "z"], Some(":0\r\n")),
    (&["zadd", "z", "1", "a", "2", "b", "3", "c", "4", "d"], Some(":4\r\n")),
    (&["zpopmin", "z"], Some("*2\r\n$1\r\na\r\n,1\r\n")),
    (&["zpopmin", "z", "1"], Some("*1\r\n*2\r\n$1\r\nb\r\n,2\r\n")),
    (&["zpopmax", "z", "0"], Some("*0\r\n")),
    (&["zadd", "z", "1", "a", "2", "b"], Some(":2\r\n")),
    (&["zmpop", "1", "z", "min"], Some("*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\na\r\n,1\r\n")),
    (&["zmpop", "1", "z", "max", "count", "5"], Some("*2\r\n$1\r\nz\r\n*3\r\n*2\r\n$1\r\nd\r\n,4\r\n*2\r\n$1\r\nc\r\n,3\r\n*2\r\n$1\r\nb\r\n,2\r\n")),
    (&["zmpop", "1", "z", "max", "count", "5"], Some("_\r\n")),
    (&["zadd", "z", "1", "a", "2", "b", "3", "c"], Some(":3\r\n")),
    (&["zrandmember", "nokey", "2", "withscores"], Some("*0\r\n")),
    (&["zrandmember", "nokey"], Some("_\r\n")),
    (&["zunion", "1", "z", "withscores"], Some("*3\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2\r\n*2\r\n$1\r\nc\r\n,3\r\n")),
    (&["zinter", "1", "z", "withscores"], Some("*3\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2\r\n*2\r\n$1\r\nc\r\n,3\r\n")),
    (&["zdiff", "1", "z", "withscores"], Some("*3\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2\r\n*2\r\n$1\r\nc\r\n,3\r\n")),
    (&["zrangebyscore", "z", "-inf", "+inf", "withscores"], Some("*3\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2\r\n*2\r\n$1\r\nc\r\n,3\r\n")),
    (&["zrevrangebyscore", "z", "+inf", "-inf", "withscores", "limit", "1", "1"], Some("*1\r\n*2\r\n$1\r\nb\r\n,2\r\n")),
    (&["zrevrange", "z", "0", "0", "withscores"], Some("*1\r\n*2\r\n$1\r\nc\r\n,3\r\n")),
    (&["zscan", "z", "0"], Some("*2\r\n$1\r\n0\r\n*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n")),
    (&["zrank", "z", "a", "withscore"], Some("*2\r\n:0\r\n,1\r\n")),
    (&["zrank", "z", "q", "withscore"], Some("_\r\n")),
    (&["zrank", "z", "q"], Some("_\r\n")),
    (&["zmscore", "z", "a", "q"], Some("*2\r\n,1\r\n_\r\n")),
    (&["zmscore", "nokey", "a"], Some("*1\r\n_\r\n")),
    (&["zscore", "z", "q"], Some("_\r\n")),
    (&["zincrby", "z", "1", "a"], Some(",2\r\n")),
    (&["zadd", "z", "incr", "1", "a"], Some(",3\r\n")),
    (&["zadd", "z", "nx", "incr", "1", "a"], Some("_\r\n")),
    (&["bzpopmin", "z", "0"], Some("*3\r\n$1\r\nz\r\n$1\r\nb\r\n,2\r\n")),
    (&["bzpopmax", "nokey", "0.01"], Some("_\r\n")),
    (&["bzmpop", "0.01", "1", "nokey", "min"], Some("_\r\n")),
    (&["bzmpop", "0.01", "1", "z", "min", "count", "10"], Some("*2\r\n$1\r\nz\r\n*2\r\n*2\r\n$1\r\na\r\n,3\r\n*2\r\n$1\r\nc\r\n,3\r\n")),
    (&["zpopmin", "nokey"], Some("*0\r\n")),
    (&["zpopmin", "nokey", "3"], Some("*0\r\n")),
    (&["zmpop", "1", "nokey", "min"], Some("_\r\n")),
    (&["zcard", "nokey"], Some(":0\r\n")),
    (&["zrange", "nokey", "0", "-1", "withscores"], Some("*0\r\n")),
    (&["zunion", "1", "nokey", "withscores"], Some("*0\r\n")),
    (&["del", "r3"], Some(":0\r\n")),
    (&["zadd", "r3", "1", "a", "2.5", "b", "3", "c"], Some(":3\r\n")),
    (&["zrandmember", "r3", "10", "withscores"], Some("*3\r\n*2\r\n$1\r\nc\r\n,3\r\n*2\r\n$1\r\nb\r\n,2.5\r\n*2\r\n$1\r\na\r\n,1\r\n")),
    (&["zrandmember", "r3", "10"], Some("*3\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n")),
    (&["zrandmember", "r3", "0", "withscores"], Some("*0\r\n")),
    (&["zscan", "r3", "0"], Some("*2\r\n$1\r\n0\r\n*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$3\r\n2.5\r\n$1\r\nc\r\n$1\r\n3\r\n")),
    (&["zrangebyscore", "r3", "-inf", "+inf", "withscores", "limit", "1", "1"], Some("*1\r\n*2\r\n$1\r\nb\r\n,2.5\r\n")),
    (&["zrevrangebyscore", "r3", "+inf", "-inf", "withscores"], Some("*3\r\n*2\r\n$1\r\nc\r\n,3\r\n*2\r\n$1\r\nb\r\n,2.5\r\n*2\r\n$1\r\na\r\n,1\r\n")),
    (&["zrangestore", "r3d", "r3", "0", "-1"], Some(":3\r\n")),
    (&["zrange", "r3d", "0", "-1", "withscores"], Some("*3\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2.5\r\n*2\r\n$1\r\nc\r\n,3\r\n")),
    (&["zdiff", "1", "r3", "withscores"], Some("*3\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2.5\r\n*2\r\n$1\r\nc\r\n,3\r\n")),
    (&["zmpop", "1", "r3", "min", "count", "2"], Some("*2\r\n$2\r\nr3\r\n*2\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2.5\r\n")),
    (&["zpopmax", "r3", "5"], Some("*1\r\n*2\r\n$1\r\nc\r\n,3\r\n")),
    (&["zpopmax", "r3"], Some("*0\r\n")),
    (&["zrank", "r3", "a"], Some("_\r\n")),
    (&["zincrby", "r3", "1e17", "big"], Some(",100000000000000000\r\n")),
    (&["zscore", "r3", "big"], Some(",100000000000000000\r\n")),
    (&["zadd", "r3", "incr", "0.1", "x"], Some(",0.1\r\n")),
    (&["zadd", "r3", "xx", "incr", "1", "nope"], Some("_\r\n")),
    (&["zmscore", "r3", "big", "nope", "x"], Some("*3\r\n,100000000000000000\r\n_\r\n,0.1\r\n")),
    (&["zrange", "r3", "0", "-1", "withscores"], Some("*2\r\n*2\r\n$1\r\nx\r\n,0.1\r\n*2\r\n$3\r\nbig\r\n,100000000000000000\r\n")),
];

/// OBJECT ENCODING around zset-max-listpack-entries (128) and
/// zset-max-listpack-value (64), and the conversions of stored results.
#[rustfmt::skip]
const ENCODING_CASES: &[(&[&str], Option<&str>)] = &[
    (&["config", "get", "zset-max-listpack-entries"], Some("*2\r\n$25\r\nzset-max-listpack-entries\r\n$3\r\n128\r\n")),
    (&["config", "get", "zset-max-ziplist-value"], Some("*2\r\n$22\r\nzset-max-ziplist-value\r\n$2\r\n64\r\n")),
    (&["config", "set", "zset-max-listpack-entries", "4"], Some("+OK\r\n")),
    (&["del", "a"], Some(":0\r\n")),
    (&["zadd", "a", "1", "a", "2", "b", "3", "c", "4", "d"], Some(":4\r\n")),
    (&["object", "encoding", "a"], Some("$8\r\nlistpack\r\n")),
    (&["zadd", "a", "5", "e"], Some(":1\r\n")),
    (&["object", "encoding", "a"], Some("$8\r\nskiplist\r\n")),
    (&["zrem", "a", "a", "b", "c", "d"], Some(":4\r\n")),
    (&["object", "encoding", "a"], Some("$8\r\nskiplist\r\n")),
    (&["zunionstore", "b", "1", "a"], Some(":1\r\n")),
    (&["object", "encoding", "b"], Some("$8\r\nlistpack\r\n")),
    (&["zrangestore", "c", "a", "0", "-1"], Some(":1\r\n")),
    (&["object", "encoding", "c"], Some("$8\r\nlistpack\r\n")),
    (&["config", "set", "zset-max-listpack-entries", "128"], Some("+OK\r\n")),
    (&["config", "set", "zset-max-listpack-value", "3"], Some("+OK\r\n")),
    (&["zadd", "d", "1", "abcd"], Some(":1\r\n")),
    (&["object", "encoding", "d"], Some("$8\r\nskiplist\r\n")),
    (&["zadd", "e", "1", "abc"], Some(":1\r\n")),
    (&["object", "encoding", "e"], Some("$8\r\nlistpack\r\n")),
    (&["zadd", "e", "1", "abcd"], Some(":1\r\n")),
    (&["object", "encoding", "e"], Some("$8\r\nskiplist\r\n")),
    (&["config", "set", "zset-max-listpack-value", "64"], Some("+OK\r\n")),
    (&["config", "set", "zset-max-listpack-entries", "0"], Some("+OK\r\n")),
    (&["zadd", "f", "1", "a"], Some(":1\r\n")),
    (&["object", "encoding", "f"], Some("$8\r\nskiplist\r\n")),
    (&["zunionstore", "g", "1", "f"], Some(":1\r\n")),
    (&["object", "encoding", "g"], Some("$8\r\nskiplist\r\n")),
    (&["config", "set", "zset-max-listpack-entries", "128"], Some("+OK\r\n")),
    (&["flushall"], Some("+OK\r\n")),
    (&["config", "set", "zset-max-listpack-entries", "128"], Some("+OK\r\n")),
    (&["config", "set", "zset-max-listpack-value", "64"], Some("+OK\r\n")),
    (&["object", "encoding", "nokey"], Some("$-1\r\n")),
    (&["zadd", "v64", "1", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"], Some(":1\r\n")),
    (&["object", "encoding", "v64"], Some("$8\r\nlistpack\r\n")),
    (&["zadd", "v65", "1", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"], Some(":1\r\n")),
    (&["object", "encoding", "v65"], Some("$8\r\nskiplist\r\n")),
    (&["zadd", "v64", "2", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"], Some(":1\r\n")),
    (&["object", "encoding", "v64"], Some("$8\r\nskiplist\r\n")),
    (&["zrem", "v65", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"], Some(":1\r\n")),
    (&["exists", "v65"], Some(":0\r\n")),
    (&["zadd", "v66", "1", "a"], Some(":1\r\n")),
    (&["zincrby", "v66", "1", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"], Some("$1\r\n1\r\n")),
    (&["object", "encoding", "v66"], Some("$8\r\nskiplist\r\n")),
    (&["zrem", "v66", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"], Some(":1\r\n")),
    (&["object", "encoding", "v66"], Some("$8\r\nskiplist\r\n")),
    (&["zunionstore", "v67", "1", "v66"], Some(":1\r\n")),
    (&["object", "encoding", "v67"], Some("$8\r\nlistpack\r\n")),
    (&["zrangestore", "v68", "v66", "0", "-1"], Some(":1\r\n")),
    (&["object", "encoding", "v68"], Some("$8\r\nlistpack\r\n")),
    (&["zinterstore", "v69", "2", "v64", "v64"], Some(":2\r\n")),
    (&["object", "encoding", "v69"], Some("$8\r\nskiplist\r\n")),
    (&["zadd", "e128", "0", "m0", "1", "m1", "2", "m2", "3", "m3", "4", "m4", "5", "m5", "6", "m6", "7", "m7", "8", "m8", "9", "m9", "10", "m10", "11", "m11", "12", "m12", "13", "m13", "14", "m14", "15", "m15", "16", "m16", "17", "m17", "18", "m18", "19", "m19", "20", "m20", "21", "m21", "22", "m22", "23", "m23", "24", "m24", "25", "m25", "26", "m26", "27", "m27", "28", "m28", "29", "m29", "30", "m30", "31", "m31", "32", "m32", "33", "m33", "34", "m34", "35", "m35", "36", "m36", "37", "m37", "38", "m38", "39", "m39", "40", "m40", "41", "m41", "42", "m42", "43", "m43", "44", "m44", "45", "m45", "46", "m46", "47", "m47", "48", "m48", "49", "m49", "50", "m50", "51", "m51", "52", "m52", "53", "m53", "54", "m54", "55", "m55", "56", "m56", "57", "m57", "58", "m58", "59", "m59", "60", "m60", "61", "m61", "62", "m62", "63", "m63", "64", "m64", "65", "m65", "66", "m66", "67", "m67", "68", "m68", "69", "m69", "70", "m70", "71", "m71", "72", "m72", "73", "m73", "74", "m74", "75", "m75", "76", "m76", "77", "m77", "78", "m78", "79", "m79", "80", "m80", "81", "m81", "82", "m82", "83", "m83", "84", "m84", "85", "m85", "86", "m86", "87", "m87", "88", "m88", "89", "m89", "90", "m90", "91", "m91", "92", "m92", "93", "m93", "94", "m94", "95", "m95", "96", "m96", "97", "m97", "98", "m98", "99", "m99", "100", "m100", "101", "m101", "102", "m102", "103", "m103", "104", "m104", "105", "m105", "106", "m106", "107", "m107", "108", "m108", "109", "m109", "110", "m110", "111", "m111", "112", "m112", "113", "m113", "114", "m114", "115", "m115", "116", "m116", "117", "m117", "118", "m118", "119", "m119", "120", "m120", "121", "m121", "122", "m122", "123", "m123", "124", "m124", "125", "m125", "126", "m126", "127", "m127"], Some(":128\r\n")),
    (&["object", "encoding", "e128"], Some("$8\r\nlistpack\r\n")),
    (&["zadd", "e128", "128", "m128"], Some(":1\r\n")),
    (&["object", "encoding", "e128"], Some("$8\r\nskiplist\r\n")),
    (&["zcard", "e128"], Some(":129\r\n")),
    (&["zremrangebyrank", "e128", "0", "100"], Some(":101\r\n")),
    (&["object", "encoding", "e128"], Some("$8\r\nskiplist\r\n")),
    (&["zunionstore", "e129", "1", "e128"], Some(":28\r\n")),
    (&["object", "encoding", "e129"], Some("$8\r\nlistpack\r\n")),
    (&["zadd", "f129", "0", "n0", "1", "n1", "2", "n2", "3", "n3", "4", "n4", "5", "n5", "6", "n6", "7", "n7", "8", "n8", "9", "n9", "10", "n10", "11", "n11", "12", "n12", "13", "n13", "14", "n14", "15", "n15", "16", "n16", "17", "n17", "18", "n18", "19", "n19", "20", "n20", "21", "n21", "22", "n22", "23", "n23", "24", "n24", "25", "n25", "26", "n26", "27", "n27", "28", "n28", "29", "n29", "30", "n30", "31", "n31", "32", "n32", "33", "n33", "34", "n34", "35", "n35", "36", "n36", "37", "n37", "38", "n38", "39", "n39", "40", "n40", "41", "n41", "42", "n42", "43", "n43", "44", "n44", "45", "n45", "46", "n46", "47", "n47", "48", "n48", "49", "n49", "50", "n50", "51", "n51", "52", "n52", "53", "n53", "54", "n54", "55", "n55", "56", "n56", "57", "n57", "58", "n58", "59", "n59", "60", "n60", "61", "n61", "62", "n62", "63", "n63", "64", "n64", "65", "n65", "66", "n66", "67", "n67", "68", "n68", "69", "n69", "70", "n70", "71", "n71", "72", "n72", "73", "n73", "74", "n74", "75", "n75", "76", "n76", "77", "n77", "78", "n78", "79", "n79", "80", "n80", "81", "n81", "82", "n82", "83", "n83", "84", "n84", "85", "n85", "86", "n86", "87", "n87", "88", "n88", "89", "n89", "90", "n90", "91", "n91", "92", "n92", "93", "n93", "94", "n94", "95", "n95", "96", "n96", "97", "n97", "98", "n98", "99", "n99", "100", "n100", "101", "n101", "102", "n102", "103", "n103", "104", "n104", "105", "n105", "106", "n106", "107", "n107", "108", "n108", "109", "n109", "110", "n110", "111", "n111", "112", "n112", "113", "n113", "114", "n114", "115", "n115", "116", "n116", "117", "n117", "118", "n118", "119", "n119", "120", "n120", "121", "n121", "122", "n122", "123", "n123", "124", "n124", "125", "n125", "126", "n126", "127", "n127", "128", "n128"], Some(":129\r\n")),
    (&["object", "encoding", "f129"], Some("$8\r\nskiplist\r\n")),
    (&["zadd", "g", "1", "a"], Some(":1\r\n")),
    (&["zadd", "g", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a"], Some(":0\r\n")),
    (&["object", "encoding", "g"], Some("$8\r\nskiplist\r\n")),
    (&["zcard", "g"], Some(":1\r\n")),
    (&["zadd", "h", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1", "a"], Some(":1\r\n")),
    (&["object", "encoding", "h"], Some("$8\r\nskiplist\r\n")),
    (&["zrangestore", "i", "f129", "0", "127"], Some(":128\r\n")),
    (&["object", "encoding", "i"], Some("$8\r\nlistpack\r\n")),
    (&["zrangestore", "i", "f129", "0", "128"], Some(":129\r\n")),
    (&["object", "encoding", "i"], Some("$8\r\nskiplist\r\n")),
    (&["zrangestore", "i", "f129", "-inf", "+inf", "byscore", "limit", "0", "128"], Some(":128\r\n")),
    (&["object", "encoding", "i"], Some("$8\r\nlistpack\r\n")),
    (&["zrangestore", "i", "f129", "-inf", "+inf", "byscore"], Some(":129\r\n")),
    (&["object", "encoding", "i"], Some("$8\r\nskiplist\r\n")),
    (&["zunionstore", "j", "2", "e128", "f129"], Some(":157\r\n")),
    (&["object", "encoding", "j"], Some("$8\r\nskiplist\r\n")),
    (&["zinterstore", "j", "2", "e128", "f129"], Some(":0\r\n")),
    (&["exists", "j"], Some(":0\r\n")),
    (&["zdiffstore", "j", "2", "f129", "e128"], Some(":129\r\n")),
    (&["object", "encoding", "j"], Some("$8\r\nskiplist\r\n")),
    (&["zcard", "j"], Some(":129\r\n")),
    (&["zpopmin", "f129", "100"], Some("*200\r\n$2\r\nn0\r\n$1\r\n0\r\n$2\r\nn1\r\n$1\r\n1\r\n$2\r\nn2\r\n$1\r\n2\r\n$2\r\nn3\r\n$1\r\n3\r\n$2\r\nn4\r\n$1\r\n4\r\n$2\r\nn5\r\n$1\r\n5\r\n$2\r\nn6\r\n$1\r\n6\r\n$2\r\nn7\r\n$1\r\n7\r\n$2\r\nn8\r\n$1\r\n8\r\n$2\r\nn9\r\n$1\r\n9\r\n$3\r\nn10\r\n$2\r\n10\r\n$3\r\nn11\r\n$2\r\n11\r\n$3\r\nn12\r\n$2\r\n12\r\n$3\r\nn13\r\n$2\r\n13\r\n$3\r\nn14\r\n$2\r\n14\r\n$3\r\nn15\r\n$2\r\n15\r\n$3\r\nn16\r\n$2\r\n16\r\n$3\r\nn17\r\n$2\r\n17\r\n$3\r\nn18\r\n$2\r\n18\r\n$3\r\nn19\r\n$2\r\n19\r\n$3\r\nn20\r\n$2\r\n20\r\n$3\r\nn21\r\n$2\r\n21\r\n$3\r\nn22\r\n$2\r\n22\r\n$3\r\nn23\r\n$2\r\n23\r\n$3\r\nn24\r\n$2\r\n24\r\n$3\r\nn25\r\n$2\r\n25\r\n$3\r\nn26\r\n$2\r\n26\r\n$3\r\nn27\r\n$2\r\n27\r\n$3\r\nn28\r\n$2\r\n28\r\n$3\r\nn29\r\n$2\r\n29\r\n$3\r\nn30\r\n$2\r\n30\r\n$3\r\nn31\r\n$2\r\n31\r\n$3\r\nn32\r\n$2\r\n32\r\n$3\r\nn33\r\n$2\r\n33\r\n$3\r\nn34\r\n$2\r\n34\r\n$3\r\nn35\r\n$2\r\n35\r\n$3\r\nn36\r\n$2\r\n36\r\n$3\r\nn37\r\n$2\r\n37\r\n$3\r\nn38\r\n$2\r\n38\r\n$3\r\nn39\r\n$2\r\n39\r\n$3\r\nn40\r\n$2\r\n40\r\n$3\r\nn41\r\n$2\r\n41\r\n$3\r\nn42\r\n$2\r\n42\r\n$3\r\nn43\r\n$2\r\n43\r\n$3\r\nn44\r\n$2\r\n44\r\n$3\r\nn45\r\n$2\r\n45\r\n$3\r\nn46\r\n$2\r\n46\r\n$3\r\nn47\r\n$2\r\n47\r\n$3\r\nn48\r\n$2\r\n48\r\n$3\r\nn49\r\n$2\r\n49\r\n$3\r\nn50\r\n$2\r\n50\r\n$3\r\nn51\r\n$2\r\n51\r\n$3\r\nn52\r\n$2\r\n52\r\n$3\r\nn53\r\n$2\r\n53\r\n$3\r\nn54\r\n$2\r\n54\r\n$3\r\nn55\r\n$2\r\n55\r\n$3\r\nn56\r\n$2\r\n56\r\n$3\r\nn57\r\n$2\r\n57\r\n$3\r\nn58\r\n$2\r\n58\r\n$3\r\nn59\r\n$2\r\n59\r\n$3\r\nn60\r\n$2\r\n60\r\n$3\r\nn61\r\n$2\r\n61\r\n$3\r\nn62\r\n$2\r\n62\r\n$3\r\nn63\r\n$2\r\n63\r\n$3\r\nn64\r\n$2\r\n64\r\n$3\r\nn65\r\n$2\r\n65\r\n$3\r\nn66\r\n$2\r\n66\r\n$3\r\nn67\r\n$2\r\n67\r\n$3\r\nn68\r\n$2\r\n68\r\n$3\r\nn69\r\n$2\r\n69\r\n$3\r\nn70\r\n$2\r\n70\r\n$3\r\nn71\r\n$2\r\n71\r\n$3\r\nn72\r\n$2\r\n72\r\n$3\r\nn73\r\n$2\r\n73\r\n$3\r\nn74\r\n$2\r\n74\r\n$3\r\nn75\r\n$2\r\n75\r\n$3\r\nn76\r\n$2\r\n76\r\n$3\r\nn77\r\n$2\r\n77\r\n$3\r\nn78\r\n$2\r\n78\r\n$3\r\nn79\r\n$2\r\n79\r\n$3\r\nn80\r\n$2\r\n80\r\n$3\r\nn81\r\n$2\r\n81\r\n$3\r\nn82\r\n$2\r\n82\r\n$3\r\nn83\r\n$2\r\n83\r\n$3\r\nn84\r\n$2\r\n84\r\n$3\r\nn85\r\n$2\r\n85\r\n$3\r\nn86\r\n$2\r\n86\r\n$3\r\nn87\r\n$2\r\n87\r\n$3\r\nn88\r\n$2\r\n88\r\n$3\r\nn89\r\n$2\r\n89\r\n$3\r\nn90\r\n$2\r\n90\r\n$3\r\nn91\r\n$2\r\n91\r\n$3\r\nn92\r\n$2\r\n92\r\n$3\r\nn93\r\n$2\r\n93\r\n$3\r\nn94\r\n$2\r\n94\r\n$3\r\nn95\r\n$2\r\n95\r\n$3\r\nn96\r\n$2\r\n96\r\n$3\r\nn97\r\n$2\r\n97\r\n$3\r\nn98\r\n$2\r\n98\r\n$3\r\nn99\r\n$2\r\n99\r\n")),
    (&["object", "encoding", "f129"], Some("$8\r\nskiplist\r\n")),
    (&["sort", "f129", "alpha", "limit", "0", "2"], Some("*2\r\n$4\r\nn100\r\n$4\r\nn101\r\n")),
    (&["object", "encoding", "e128"], Some("$8\r\nskiplist\r\n")),
    (&["sort_ro", "v64", "alpha"], Some("*2\r\n$64\r\naaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n$65\r\nbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\r\n")),
    (&["object", "encoding", "v64"], Some("$8\r\nskiplist\r\n")),
    (&["zadd", "small", "1", "a", "2", "b"], Some(":2\r\n")),
    (&["sort", "small", "by", "nosort"], Some("*2\r\n$1\r\na\r\n$1\r\nb\r\n")),
    (&["object", "encoding", "small"], Some("$8\r\nskiplist\r\n")),
];

fn run_cases(c: &mut Conn, cases: &[(&[&str], Option<&str>)]) {
    for (args, want) in cases {
        let got = c.cmd(args);
        if let Some(w) = want {
            assert_eq!(&got, w, "reply to {:?}", args);
        }
    }
}

#[test]
fn resp2_replies() {
    let s = Server::start(&[]);
    run_cases(&mut s.conn(), RESP2_CASES);
}

#[test]
fn resp3_replies() {
    let s = Server::start(&[]);
    run_cases(&mut s.conn(), RESP3_CASES);
}

#[test]
fn encodings() {
    let s = Server::start(&[]);
    run_cases(&mut s.conn(), ENCODING_CASES);
}

/// Reads published keyspace events until `n` have arrived: (event, key).
fn read_events(c: &mut Conn, n: usize) -> Vec<(String, String)> {
    let mut out = Vec::new();
    while out.len() < n {
        let r = c.read_reply();
        let parts: Vec<&str> = r.split("\r\n").collect();
        // *4 $8 pmessage $len pattern $len channel $len key
        let channel = parts.get(6).copied().unwrap_or("");
        let key = parts.get(8).copied().unwrap_or("");
        let ev = channel.rsplit(':').next().unwrap_or("").to_string();
        out.push((ev, key.to_string()));
    }
    out
}

#[test]
fn keyspace_events() {
    let s = Server::start(&["--notify-keyspace-events", "KEA"]);
    let mut c = s.conn();
    let mut sub = s.conn();
    sub.cmd(&["PSUBSCRIBE", "__keyevent@0__:*"]);
    let cmds: &[&[&str]] = &[
        &["ZADD", "z", "1", "a", "2", "b"],
        &["ZADD", "z", "1", "a"], // no change: no event
        &["ZADD", "z", "5", "a"],
        &["ZINCRBY", "z", "1", "a"],
        &["ZADD", "z", "INCR", "1", "b"],
        &["ZADD", "z", "NX", "9", "a"],
        &["ZREM", "z", "nope"],
        &["ZREM", "z", "a"],
        &["ZREMRANGEBYSCORE", "z", "0", "0"],
        &["ZADD", "z", "1", "c", "2", "d"],
        &["ZREMRANGEBYSCORE", "z", "1", "1"],
        &["ZREMRANGEBYRANK", "z", "0", "0"],
        &["ZADD", "z", "0", "a", "0", "b"],
        &["ZREMRANGEBYLEX", "z", "[a", "[a"],
        &["ZPOPMIN", "z"],
        &["ZPOPMAX", "z", "0"],
        &["ZADD", "z", "1", "x", "2", "y", "3", "w"],
        &["ZPOPMAX", "z", "5"],
        &["ZADD", "u", "1", "x"],
        &["ZUNIONSTORE", "d", "1", "u"],
        &["ZINTERSTORE", "d", "2", "u", "nokey"],
        &["ZDIFFSTORE", "d", "1", "u"],
        &["ZRANGESTORE", "d2", "u", "0", "-1"],
        &["ZRANGESTORE", "d2", "u", "5", "6"],
        &["ZMPOP", "1", "u", "MIN"],
        &["ZADD", "q", "1", "a"],
        &["ZREM", "q", "a", "b"],
    ];
    for cmd in cmds {
        c.cmd(cmd);
    }
    let want: &[(&str, &str)] = &[
        ("zadd", "z"),
        ("zadd", "z"),
        ("zincr", "z"),
        ("zincr", "z"),
        ("zrem", "z"),
        ("zadd", "z"),
        ("zremrangebyscore", "z"),
        ("zremrangebyrank", "z"),
        ("zadd", "z"),
        ("zremrangebylex", "z"),
        ("zpopmin", "z"),
        ("del", "z"),
        ("zadd", "z"),
        ("zpopmax", "z"),
        ("del", "z"),
        ("zadd", "u"),
        ("zunionstore", "d"),
        ("del", "d"),
        ("zdiffstore", "d"),
        ("zrangestore", "d2"),
        ("del", "d2"),
        ("zpopmin", "u"),
        ("del", "u"),
        ("zadd", "q"),
        ("zrem", "q"),
        ("del", "q"),
    ];
    let got = read_events(&mut sub, want.len());
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(e, k)| (e.to_string(), k.to_string()))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn empty_sets_never_remain() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let big: Vec<String> = (0..300).map(|i| format!("m{}", i)).collect();
    for key_kind in ["small", "big"] {
        let n = if key_kind == "small" { 5 } else { 300 };
        let fill = |c: &mut Conn| {
            let mut args = vec!["ZADD".to_string(), "k".to_string()];
            for m in big.iter().take(n) {
                args.push("1".into());
                args.push(m.clone());
            }
            let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
            c.cmd(&a);
        };
        let emptying: &[&[&str]] = &[
            &["ZREMRANGEBYRANK", "k", "0", "-1"],
            &["ZREMRANGEBYSCORE", "k", "-inf", "+inf"],
            &["ZREMRANGEBYLEX", "k", "-", "+"],
            &["ZPOPMIN", "k", "1000"],
            &["ZPOPMAX", "k", "1000"],
            &["ZMPOP", "1", "k", "MIN", "COUNT", "1000"],
        ];
        for cmd in emptying {
            fill(&mut c);
            c.cmd(cmd);
            assert_eq!(
                c.cmd(&["EXISTS", "k"]),
                ":0\r\n",
                "{:?} ({})",
                cmd,
                key_kind
            );
        }
        fill(&mut c);
        let mut args = vec!["ZREM", "k"];
        args.extend(big.iter().take(n).map(|s| s.as_str()));
        assert_eq!(c.cmd(&args), format!(":{}\r\n", n));
        assert_eq!(c.cmd(&["EXISTS", "k"]), ":0\r\n");
    }
}

#[test]
fn blocking_pops() {
    let s = Server::start(&[]);
    let mut a = s.conn();
    let mut b = s.conn();
    let mut c = s.conn();
    // Woken by ZADD on the second key, served the minimum.
    a.send(&[b"BZPOPMIN", b"bz1", b"bz2", b"0"]);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(b.cmd(&["ZADD", "bz2", "5", "x", "3", "y"]), ":2\r\n");
    assert_eq!(a.read_reply(), "*3\r\n$3\r\nbz2\r\n$1\r\ny\r\n$1\r\n3\r\n");
    assert_eq!(
        b.cmd(&["ZRANGE", "bz2", "0", "-1", "WITHSCORES"]),
        "*2\r\n$1\r\nx\r\n$1\r\n5\r\n"
    );
    // BZMPOP with COUNT takes everything and deletes the key.
    a.send(&[b"BZMPOP", b"0", b"1", b"bz3", b"MAX", b"COUNT", b"10"]);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        b.cmd(&["ZADD", "bz3", "1", "a", "2", "b", "3", "c"]),
        ":3\r\n"
    );
    assert_eq!(
        a.read_reply(),
        "*2\r\n$3\r\nbz3\r\n*3\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n"
    );
    assert_eq!(b.cmd(&["EXISTS", "bz3"]), ":0\r\n");
    // Timeouts.
    let t = Instant::now();
    assert_eq!(a.cmd(&["BZPOPMAX", "nokey", "0.2"]), "*-1\r\n");
    assert!(t.elapsed() >= Duration::from_millis(190));
    assert_eq!(a.cmd(&["BZMPOP", "0.05", "1", "nokey", "MIN"]), "*-1\r\n");
    // FIFO between two waiters.
    a.send(&[b"BZPOPMAX", b"bz1", b"0"]);
    std::thread::sleep(Duration::from_millis(100));
    c.send(&[b"BZPOPMAX", b"bz1", b"0"]);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(b.cmd(&["ZADD", "bz1", "1", "p", "2", "q"]), ":2\r\n");
    assert_eq!(a.read_reply(), "*3\r\n$3\r\nbz1\r\n$1\r\nq\r\n$1\r\n2\r\n");
    assert_eq!(c.read_reply(), "*3\r\n$3\r\nbz1\r\n$1\r\np\r\n$1\r\n1\r\n");
    // Inside MULTI the blocking forms don't block.
    assert_eq!(b.cmd(&["MULTI"]), "+OK\r\n");
    assert_eq!(b.cmd(&["BZPOPMIN", "nokey", "0"]), "+QUEUED\r\n");
    assert_eq!(b.cmd(&["EXEC"]), "*1\r\n*-1\r\n");
    // Errors.
    b.cmd(&["SET", "str", "x"]);
    assert_eq!(
        b.cmd(&["BZPOPMIN", "str", "0"]),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
    assert_eq!(
        b.cmd(&["BZPOPMIN", "nokey", "-1"]),
        "-ERR timeout is negative\r\n"
    );
    assert_eq!(
        b.cmd(&["BZPOPMIN", "nokey", "abc"]),
        "-ERR timeout is not a float or out of range\r\n"
    );
    assert_eq!(
        b.cmd(&["BZMPOP", "0", "0", "nokey", "MIN"]),
        "-ERR numkeys should be greater than 0\r\n"
    );
    // RESP3 waiter, served by a transaction's ZADDs after EXEC.
    a.cmd(&["HELLO", "3"]);
    a.send(&[b"BZPOPMIN", b"bz1", b"0"]);
    std::thread::sleep(Duration::from_millis(100));
    b.cmd(&["MULTI"]);
    b.cmd(&["ZADD", "bz1", "1.5", "m1"]);
    b.cmd(&["ZADD", "bz1", "2", "m2"]);
    assert_eq!(b.cmd(&["EXEC"]), "*2\r\n:1\r\n:1\r\n");
    assert_eq!(a.read_reply(), "*3\r\n$3\r\nbz1\r\n$2\r\nm1\r\n,1.5\r\n");
    assert_eq!(b.cmd(&["ZRANGE", "bz1", "0", "-1"]), "*1\r\n$2\r\nm2\r\n");
    // A store command creating the key wakes waiters too.
    a.send(&[b"BZPOPMAX", b"bz9", b"0"]);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(b.cmd(&["ZUNIONSTORE", "bz9", "1", "bz1"]), ":1\r\n");
    assert_eq!(a.read_reply(), "*3\r\n$3\r\nbz9\r\n$2\r\nm2\r\n,2\r\n");
}

/// Rank queries on a 100k-member set: correct answers, and fast enough that
/// they can't be linear scans.
#[test]
fn big_zset_ranks() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let n = 100_000usize;
    let mut batch = Vec::new();
    for chunk in 0..(n / 1000) {
        let mut args: Vec<Vec<u8>> = vec![b"ZADD".to_vec(), b"big".to_vec()];
        for i in chunk * 1000..(chunk + 1) * 1000 {
            // Scores 0..49999 twice: ties ordered by member.
            args.push(((i / 2) as u64).to_string().into_bytes());
            args.push(format!("m{:06}", i).into_bytes());
        }
        let a: Vec<&[u8]> = args.iter().map(|v| v.as_slice()).collect();
        batch.extend_from_slice(&encode(&a));
    }
    c.send_raw(&batch);
    for _ in 0..(n / 1000) {
        assert_eq!(c.read_reply(), ":1000\r\n");
    }
    assert_eq!(c.cmd(&["ZCARD", "big"]), ":100000\r\n");
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", "big"]), "$8\r\nskiplist\r\n");
    assert_eq!(c.cmd(&["ZRANK", "big", "m050001"]), ":50001\r\n");
    assert_eq!(c.cmd(&["ZREVRANK", "big", "m050001"]), ":49998\r\n");
    assert_eq!(
        c.cmd(&["ZRANK", "big", "m099999", "WITHSCORE"]),
        "*2\r\n:99999\r\n$5\r\n49999\r\n"
    );
    assert_eq!(
        c.cmd(&["ZRANGE", "big", "70000", "70001", "WITHSCORES"]),
        "*4\r\n$7\r\nm070000\r\n$5\r\n35000\r\n$7\r\nm070001\r\n$5\r\n35000\r\n"
    );
    assert_eq!(
        c.cmd(&["ZRANGE", "big", "-3", "-1", "REV"]),
        "*3\r\n$7\r\nm000002\r\n$7\r\nm000001\r\n$7\r\nm000000\r\n"
    );
    assert_eq!(c.cmd(&["ZCOUNT", "big", "(1000", "2000"]), ":2000\r\n");
    assert_eq!(
        c.cmd(&["ZRANGE", "big", "(1000", "+inf", "BYSCORE", "LIMIT", "30000", "1"]),
        "*1\r\n$7\r\nm032002\r\n"
    );
    // 20000 rank lookups in the middle of the set. A linear walk would take
    // ~10^9 steps; the skip list needs a few dozen per lookup.
    let t = Instant::now();
    let mut batch = Vec::new();
    for i in 0..20_000 {
        let r = (40_000 + i).to_string();
        batch.extend_from_slice(&encode(&[b"ZRANGE", b"big", r.as_bytes(), r.as_bytes()]));
        let m = format!("m{:06}", 50_000 + i);
        batch.extend_from_slice(&encode(&[b"ZRANK", b"big", m.as_bytes()]));
    }
    c.send_raw(&batch);
    for i in 0..20_000 {
        assert_eq!(
            c.read_reply(),
            bulk_array(&[&format!("m{:06}", 40_000 + i)])
        );
        assert_eq!(c.read_reply(), format!(":{}\r\n", 50_000 + i));
    }
    assert!(
        t.elapsed() < Duration::from_secs(30),
        "rank queries took {:?}",
        t.elapsed()
    );
    // Deleting a middle range keeps ranks right.
    assert_eq!(
        c.cmd(&["ZREMRANGEBYRANK", "big", "10000", "19999"]),
        ":10000\r\n"
    );
    assert_eq!(c.cmd(&["ZRANK", "big", "m020000"]), ":10000\r\n");
    assert_eq!(
        c.cmd(&["ZREMRANGEBYSCORE", "big", "-inf", "(5000"]),
        ":10000\r\n"
    );
    assert_eq!(c.cmd(&["ZCARD", "big"]), ":80000\r\n");
    assert_eq!(c.cmd(&["ZRANK", "big", "m020000"]), ":0\r\n");
}

fn bulk_array(items: &[&str]) -> String {
    let mut s = format!("*{}\r\n", items.len());
    for i in items {
        s.push_str(&bulk(i));
    }
    s
}

/// ZSCAN over a skiplist returns every member (with its score) even while
/// the set shrinks between calls.
#[test]
fn zscan_skiplist() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let mut args = vec!["ZADD".to_string(), "z".to_string()];
    for i in 0..1000 {
        args.push(format!("{}.5", i));
        args.push(format!("m{}", i));
    }
    let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    assert_eq!(c.cmd(&a), ":1000\r\n");
    let mut seen = std::collections::HashMap::new();
    let mut cursor = "0".to_string();
    let mut rounds = 0;
    loop {
        let r = c.cmd(&["ZSCAN", "z", &cursor, "COUNT", "20"]);
        let lines: Vec<&str> = r.split("\r\n").collect();
        cursor = lines[2].to_string();
        let n: usize = lines[3][1..].parse().unwrap();
        for k in 0..n / 2 {
            let m = lines[5 + 4 * k].to_string();
            let sc = lines[7 + 4 * k].to_string();
            seen.insert(m, sc);
        }
        rounds += 1;
        if rounds == 5 {
            // Remove members that were certainly not returned yet.
            let mut del = vec!["ZREM".to_string(), "z".to_string()];
            for i in 0..1000 {
                let m = format!("m{}", i);
                if !seen.contains_key(&m) && i % 2 == 0 {
                    del.push(m);
                }
            }
            let d: Vec<&str> = del.iter().map(|s| s.as_str()).collect();
            c.cmd(&d);
        }
        if cursor == "0" {
            break;
        }
    }
    let card: usize = c.cmd(&["ZCARD", "z"])[1..].trim().parse().unwrap();
    let remaining = c.cmd(&["ZRANGE", "z", "0", "-1", "WITHSCORES"]);
    let lines: Vec<&str> = remaining.split("\r\n").collect();
    for k in 0..card {
        let m = lines[2 + 4 * k];
        let sc = lines[4 + 4 * k];
        assert_eq!(seen.get(m).map(|s| s.as_str()), Some(sc), "{} missed", m);
    }
    // MATCH filters members; a listpack is returned whole with cursor 0.
    c.cmd(&["ZADD", "small", "1", "ab", "2", "ac", "3", "bb"]);
    assert_eq!(
        c.cmd(&["ZSCAN", "small", "0", "MATCH", "a*", "COUNT", "1"]),
        "*2\r\n$1\r\n0\r\n*4\r\n$2\r\nab\r\n$1\r\n1\r\n$2\r\nac\r\n$1\r\n2\r\n"
    );
}

#[test]
fn zrandmember_counts() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    for (key, n) in [("small", 20usize), ("big", 500)] {
        let mut args = vec!["ZADD".to_string(), key.to_string()];
        for i in 0..n {
            args.push(i.to_string());
            args.push(format!("m{}", i));
        }
        let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        c.cmd(&a);
        // Distinct members for positive counts (every strategy).
        for count in [1, 5, n / 2, n - 1, n, n + 10] {
            let r = c.cmd(&["ZRANDMEMBER", key, &count.to_string()]);
            let lines: Vec<&str> = r.split("\r\n").collect();
            let len: usize = lines[0][1..].parse().unwrap();
            assert_eq!(len, count.min(n), "{} count {}", key, count);
            let uniq: std::collections::HashSet<&str> =
                (0..len).map(|k| lines[2 + 2 * k]).collect();
            assert_eq!(uniq.len(), len, "{} count {}", key, count);
        }
        // Negative counts repeat members and return exactly |count|.
        let r = c.cmd(&["ZRANDMEMBER", key, "-1000", "WITHSCORES"]);
        assert!(r.starts_with("*2000\r\n"));
        let r3 = {
            let mut c3 = s.conn();
            c3.cmd(&["HELLO", "3"]);
            c3.cmd(&["ZRANDMEMBER", key, "-3", "WITHSCORES"])
        };
        assert!(r3.starts_with("*3\r\n*2\r\n$"), "{}", r3);
    }
}
