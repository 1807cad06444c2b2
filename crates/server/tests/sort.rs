//! SORT / SORT_RO against the real binary: numeric and ALPHA ordering,
//! LIMIT, BY patterns (keys and `->field` hash lookups, `nosort`), GET
//! (`#`, several), STORE, errors, on lists, sets and sorted sets. Replies
//! recorded from Valkey 8.1 (Redis 7.2 behaviour).
mod common;
use common::*;

#[rustfmt::skip]
const CASES: &[(&[&str], Option<&str>)] = &[
    (&["flushall"], Some("+OK\r\n")),
    (&["rpush", "l", "3", "1", "2", "10", "b"], Some(":5\r\n")),
    (&["sort", "l"], Some("-ERR One or more scores can't be converted into double\r\n")),
    (&["sort", "l", "alpha"], Some("*5\r\n$1\r\n1\r\n$2\r\n10\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\nb\r\n")),
    (&["sort", "l", "desc", "alpha"], Some("*5\r\n$1\r\nb\r\n$1\r\n3\r\n$1\r\n2\r\n$2\r\n10\r\n$1\r\n1\r\n")),
    (&["sort", "l", "limit", "1", "2", "alpha"], Some("*2\r\n$2\r\n10\r\n$1\r\n2\r\n")),
    (&["sort", "l", "by", "nosort"], Some("*5\r\n$1\r\n3\r\n$1\r\n1\r\n$1\r\n2\r\n$2\r\n10\r\n$1\r\nb\r\n")),
    (&["sort", "l", "by", "nosort", "desc", "limit", "1", "2"], Some("*2\r\n$2\r\n10\r\n$1\r\n2\r\n")),
    (&["zadd", "z", "1", "c", "2", "a", "3", "b"], Some(":3\r\n")),
    (&["sort", "z"], Some("-ERR One or more scores can't be converted into double\r\n")),
    (&["sort", "z", "alpha"], Some("*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n")),
    (&["object", "encoding", "z"], Some("$8\r\nskiplist\r\n")),
    (&["sort", "z", "by", "nosort", "desc"], Some("*3\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\nc\r\n")),
    (&["sort", "z", "by", "nosort", "limit", "1", "5"], Some("*2\r\n$1\r\na\r\n$1\r\nb\r\n")),
    (&["sadd", "s", "5", "2", "9"], Some(":3\r\n")),
    (&["sort", "s"], Some("*3\r\n$1\r\n2\r\n$1\r\n5\r\n$1\r\n9\r\n")),
    (&["sort", "s", "by", "nosort"], Some("*3\r\n$1\r\n2\r\n$1\r\n5\r\n$1\r\n9\r\n")),
    (&["mset", "w_1", "10", "w_2", "5", "w_3", "1", "w_10", "100"], Some("+OK\r\n")),
    (&["sort", "l", "by", "w_*", "get", "#", "get", "w_*"], Some("*10\r\n$1\r\nb\r\n$-1\r\n$1\r\n3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n5\r\n$1\r\n1\r\n$2\r\n10\r\n$2\r\n10\r\n$3\r\n100\r\n")),
    (&["hset", "h_1", "f", "3", "name", "one"], Some(":2\r\n")),
    (&["hset", "h_2", "f", "1", "name", "two"], Some(":2\r\n")),
    (&["hset", "h_3", "f", "2", "name", "three"], Some(":2\r\n")),
    (&["sort", "l", "by", "h_*->f", "get", "h_*->name", "get", "#", "get", "h_*->nope"], Some("*15\r\n$-1\r\n$2\r\n10\r\n$-1\r\n$-1\r\n$1\r\nb\r\n$-1\r\n$3\r\ntwo\r\n$1\r\n2\r\n$-1\r\n$5\r\nthree\r\n$1\r\n3\r\n$-1\r\n$3\r\none\r\n$1\r\n1\r\n$-1\r\n")),
    (&["sort", "l", "by", "h_*->f", "limit", "0", "2", "store", "dst"], Some(":2\r\n")),
    (&["lrange", "dst", "0", "-1"], Some("*2\r\n$2\r\n10\r\n$1\r\nb\r\n")),
    (&["object", "encoding", "dst"], Some("$8\r\nlistpack\r\n")),
    (&["sort_ro", "l", "store", "dst"], Some("-ERR syntax error\r\n")),
    (&["sort", "l", "limit", "x", "1"], Some("-ERR value is not an integer or out of range\r\n")),
    (&["sort", "l", "foo"], Some("-ERR syntax error\r\n")),
    (&["sort", "l", "limit", "0"], Some("-ERR syntax error\r\n")),
    (&["rpush", "nums", "1", "x", "2"], Some(":3\r\n")),
    (&["sort", "nums"], Some("-ERR One or more scores can't be converted into double\r\n")),
    (&["sort", "nums", "by", "nosort"], Some("*3\r\n$1\r\n1\r\n$1\r\nx\r\n$1\r\n2\r\n")),
    (&["sort", "nums", "alpha"], Some("*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\nx\r\n")),
    (&["sort", "nokey"], Some("*0\r\n")),
    (&["sort", "nokey", "store", "dst2"], Some(":0\r\n")),
    (&["exists", "dst2"], Some(":0\r\n")),
    (&["set", "str", "x"], Some("+OK\r\n")),
    (&["sort", "str"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["sort", "l", "get"], Some("-ERR syntax error\r\n")),
    (&["sort", "l", "by"], Some("-ERR syntax error\r\n")),
    (&["sort", "l", "store"], Some("-ERR syntax error\r\n")),
    (&["sort", "l", "get", "#", "store", "dst3"], Some("-ERR One or more scores can't be converted into double\r\n")),
    (&["lrange", "dst3", "0", "-1"], Some("*0\r\n")),
    (&["sort", "l", "by", "nosort", "get", "w_*", "store", "dst4"], Some(":5\r\n")),
    (&["lrange", "dst4", "0", "-1"], Some("*5\r\n$1\r\n1\r\n$2\r\n10\r\n$1\r\n5\r\n$3\r\n100\r\n$0\r\n\r\n")),
    (&["sort", "l", "by", "w_*->x"], Some("*5\r\n$1\r\n1\r\n$2\r\n10\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\nb\r\n")),
    (&["sort", "l", "limit", "-5", "2"], Some("-ERR One or more scores can't be converted into double\r\n")),
    (&["sort", "l", "limit", "3", "100"], Some("-ERR One or more scores can't be converted into double\r\n")),
    (&["sort", "l", "limit", "10", "2"], Some("-ERR One or more scores can't be converted into double\r\n")),
    (&["sort", "l", "limit", "0", "-5"], Some("-ERR One or more scores can't be converted into double\r\n")),
    (&["sort", "l", "limit", "0", "0"], Some("-ERR One or more scores can't be converted into double\r\n")),
    (&["rpush", "fl", "1.5", " 2", "1e400", "inf", "-inf"], Some(":5\r\n")),
    (&["sort", "fl"], Some("-ERR One or more scores can't be converted into double\r\n")),
    (&["rpush", "fl2", "1.5", " 2", "inf", "-inf", "", "1e-5"], Some(":6\r\n")),
    (&["sort", "fl2"], Some("*6\r\n$4\r\n-inf\r\n$0\r\n\r\n$4\r\n1e-5\r\n$3\r\n1.5\r\n$2\r\n 2\r\n$3\r\ninf\r\n")),
    (&["sort", "fl2", "desc"], Some("*6\r\n$3\r\ninf\r\n$2\r\n 2\r\n$3\r\n1.5\r\n$4\r\n1e-5\r\n$0\r\n\r\n$4\r\n-inf\r\n")),
    (&["hello", "3"], None),
    (&["sort", "l", "get", "nope_*"], Some("-ERR One or more scores can't be converted into double\r\n")),
    (&["sort", "s", "by", "nosort", "store", "sst"], Some(":3\r\n")),
    (&["lrange", "sst", "0", "-1"], Some("*3\r\n$1\r\n2\r\n$1\r\n5\r\n$1\r\n9\r\n")),
];

#[test]
fn recorded_replies() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    for (args, want) in CASES {
        let got = c.cmd(args);
        if let Some(w) = want {
            assert_eq!(&got, w, "reply to {:?}", args);
        }
    }
}

#[test]
fn store_encodings_and_events() {
    let s = Server::start(&["--notify-keyspace-events", "KEA"]);
    let mut c = s.conn();
    let mut sub = s.conn();
    sub.cmd(&["PSUBSCRIBE", "__keyevent@0__:sortstore"]);
    let mut args = vec!["RPUSH".to_string(), "l".to_string()];
    for i in (0..300).rev() {
        args.push(i.to_string());
    }
    let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    assert_eq!(c.cmd(&a), ":300\r\n");
    assert_eq!(c.cmd(&["SORT", "l", "STORE", "dst"]), ":300\r\n");
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", "dst"]), "$8\r\nlistpack\r\n");
    assert_eq!(c.cmd(&["LINDEX", "dst", "0"]), bulk("0"));
    assert_eq!(c.cmd(&["LINDEX", "dst", "-1"]), bulk("299"));
    let mut args = vec!["RPUSH".to_string(), "l2".to_string()];
    for i in 0..1000 {
        args.push(format!("x{}", i).repeat(10));
    }
    let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    assert_eq!(c.cmd(&a), ":1000\r\n");
    assert_eq!(c.cmd(&["SORT", "l2", "ALPHA", "STORE", "dst"]), ":1000\r\n");
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", "dst"]), "$9\r\nquicklist\r\n");
    assert_eq!(
        c.cmd(&["SORT", "l", "LIMIT", "0", "3", "STORE", "dst"]),
        ":3\r\n"
    );
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", "dst"]), "$8\r\nlistpack\r\n");
    let ev = sub.read_reply();
    assert!(ev.ends_with("$3\r\ndst\r\n"), "{}", ev);
    // Numeric sort of a big set, by pattern with GET, DESC and LIMIT.
    let mut args = vec!["SADD".to_string(), "s".to_string()];
    for i in 0..1000 {
        args.push(i.to_string());
        c.cmd(&["SET", &format!("w_{}", i), &(1000 - i).to_string()]);
    }
    let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    assert_eq!(c.cmd(&a), ":1000\r\n");
    assert_eq!(
        c.cmd(&["SORT", "s", "LIMIT", "10", "2"]),
        "*2\r\n$2\r\n10\r\n$2\r\n11\r\n"
    );
    assert_eq!(
        c.cmd(&["SORT", "s", "BY", "w_*", "DESC", "LIMIT", "0", "2", "GET", "#", "GET", "w_*"]),
        "*4\r\n$1\r\n0\r\n$4\r\n1000\r\n$1\r\n1\r\n$3\r\n999\r\n"
    );
    assert_eq!(
        c.cmd(&["SORT_RO", "s", "BY", "w_*", "LIMIT", "0", "1"]),
        "*1\r\n$3\r\n999\r\n"
    );
    // BY nosort with STORE on a set: sorted alphabetically for determinism.
    assert_eq!(
        c.cmd(&["SORT", "s", "BY", "nosort", "LIMIT", "0", "3", "STORE", "d2"]),
        ":3\r\n"
    );
    assert_eq!(
        c.cmd(&["LRANGE", "d2", "0", "-1"]),
        "*3\r\n$1\r\n0\r\n$1\r\n1\r\n$2\r\n10\r\n"
    );
}
