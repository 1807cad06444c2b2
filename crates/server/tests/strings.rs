//! String commands against the real binary: exact RESP replies (errors
//! included) as Redis 7.2 sends them.
mod common;
use common::*;

/// Runs whitespace-separated commands and checks each raw reply.
fn check(c: &mut Conn, cases: &[(&str, &str)]) {
    for (cmd, want) in cases {
        let args: Vec<&str> = cmd.split_whitespace().collect();
        assert_eq!(c.cmd(&args), *want, "reply to `{}`", cmd);
    }
}

/// True when the server knows `RPUSH` (other value types are needed for
/// the WRONGTYPE checks).
fn has_lists(c: &mut Conn) -> bool {
    !c.cmd(&["RPUSH", "list", "a"])
        .starts_with("-ERR unknown command")
}

fn has_resp3(c: &mut Conn) -> bool {
    let mut ok = false;
    c.send(&[b"HELLO", b"3"]);
    let r = c.read_reply();
    if r.starts_with('%') {
        ok = true;
    }
    ok
}

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
const NOT_INT: &str = "-ERR value is not an integer or out of range\r\n";
const SYNTAX: &str = "-ERR syntax error\r\n";

#[test]
fn set_get_and_options() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    check(
        &mut c,
        &[
            ("SET k v", "+OK\r\n"),
            ("GET k", "$1\r\nv\r\n"),
            ("GET nosuch", "$-1\r\n"),
            ("SET k v2 NX", "$-1\r\n"),
            ("SET k v3 XX", "+OK\r\n"),
            ("SET missing v XX", "$-1\r\n"),
            ("SET k new GET", "$2\r\nv3\r\n"),
            ("SET k newer NX GET", "$3\r\nnew\r\n"),
            ("GET k", "$3\r\nnew\r\n"),
            ("SET fresh v NX GET", "$-1\r\n"),
            ("GET fresh", "$1\r\nv\r\n"),
            ("SET fresh2 v XX GET", "$-1\r\n"),
            ("EXISTS fresh2", ":0\r\n"),
            ("SET k v nx nx", "$-1\r\n"),
            ("SET k v GET GET", "$3\r\nnew\r\n"),
            ("SET k v KEEPTTL KEEPTTL", "+OK\r\n"),
            ("SET k v EX 10 EX 20", "+OK\r\n"),
            ("TTL k", ":20\r\n"),
            ("SET k v2 KEEPTTL", "+OK\r\n"),
            ("TTL k", ":20\r\n"),
            ("SET k v3", "+OK\r\n"),
            ("TTL k", ":-1\r\n"),
            ("SET k v EXAT 4102444800", "+OK\r\n"),
            ("EXPIRETIME k", ":4102444800\r\n"),
            ("SET k v PXAT 4102444800123", "+OK\r\n"),
            ("PEXPIRETIME k", ":4102444800123\r\n"),
            ("SET k v PXAT 9223372036854775807", "+OK\r\n"),
            // conflicts
            ("SET k v NX XX", SYNTAX),
            ("SET k v XX NX", SYNTAX),
            ("SET k v EX 10 PX 10", SYNTAX),
            ("SET k v EX 10 EXAT 10", SYNTAX),
            ("SET k v EX 10 KEEPTTL", SYNTAX),
            ("SET k v KEEPTTL PX 10", SYNTAX),
            ("SET k v PERSIST", SYNTAX),
            ("SET k v EX", SYNTAX),
            ("SET k v BOGUS", SYNTAX),
            ("SET k v IFEQ v", SYNTAX),
            // bad times
            (
                "SET k v EX 0",
                "-ERR invalid expire time in 'set' command\r\n",
            ),
            (
                "SET k v EX -1",
                "-ERR invalid expire time in 'set' command\r\n",
            ),
            (
                "SET k v PX 0",
                "-ERR invalid expire time in 'set' command\r\n",
            ),
            (
                "SET k v EXAT 0",
                "-ERR invalid expire time in 'set' command\r\n",
            ),
            (
                "SET k v PXAT -1",
                "-ERR invalid expire time in 'set' command\r\n",
            ),
            (
                "SET k v EX 9223372036854775807",
                "-ERR invalid expire time in 'set' command\r\n",
            ),
            (
                "SET k v EX 9223372036854776",
                "-ERR invalid expire time in 'set' command\r\n",
            ),
            (
                "SET k v PX 9223372036854775807",
                "-ERR invalid expire time in 'set' command\r\n",
            ),
            (
                "SET k v EXAT 9223372036854775807",
                "-ERR invalid expire time in 'set' command\r\n",
            ),
            ("SET k v EX abc", NOT_INT),
            ("SET k v EX 1.5", NOT_INT),
            (
                "SET k",
                "-ERR wrong number of arguments for 'set' command\r\n",
            ),
            // an absolute time in the past: set, then gone
            ("SET past v EXAT 1", "+OK\r\n"),
            ("EXISTS past", ":0\r\n"),
        ],
    );
    // binary-safe values and keys
    c.send(&[b"SET", b"", b"a\x00b\r\n\xff"]);
    assert_eq!(c.read_reply(), "+OK\r\n");
    c.send(&[b"GET", b""]);
    let r = c.read_reply();
    assert!(r.starts_with("$6\r\na\u{0}b\r\n"), "{:?}", r);
    assert_eq!(c.cmd(&["STRLEN", ""]), ":6\r\n");
}

#[test]
fn encodings() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let long = "x".repeat(45);
    let emb = "x".repeat(44);
    check(
        &mut c,
        &[
            ("SET i 123", "+OK\r\n"),
            ("OBJECT ENCODING i", "$3\r\nint\r\n"),
            ("SET i -9223372036854775808", "+OK\r\n"),
            ("OBJECT ENCODING i", "$3\r\nint\r\n"),
            ("SET i 9223372036854775808", "+OK\r\n"),
            ("OBJECT ENCODING i", "$6\r\nembstr\r\n"),
            ("SET i 01", "+OK\r\n"),
            ("OBJECT ENCODING i", "$6\r\nembstr\r\n"),
            ("INCR i", NOT_INT),
            ("SET i 1", "+OK\r\n"),
            ("INCR i", ":2\r\n"),
            ("OBJECT ENCODING i", "$3\r\nint\r\n"),
            ("APPEND a 123", ":3\r\n"),
            ("OBJECT ENCODING a", "$3\r\nint\r\n"),
            ("APPEND a 4", ":4\r\n"),
            ("OBJECT ENCODING a", "$3\r\nraw\r\n"),
            ("SETRANGE r 0 abc", ":3\r\n"),
            ("OBJECT ENCODING r", "$3\r\nraw\r\n"),
            ("INCRBYFLOAT f 3", "$1\r\n3\r\n"),
            ("OBJECT ENCODING f", "$6\r\nembstr\r\n"),
            ("SET si 1234", "+OK\r\n"),
            ("SETRANGE si 1 X", ":4\r\n"),
            ("GET si", "$4\r\n1X34\r\n"),
            ("OBJECT ENCODING si", "$3\r\nraw\r\n"),
        ],
    );
    assert_eq!(c.cmd(&["SET", "e", &emb]), "+OK\r\n");
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", "e"]), "$6\r\nembstr\r\n");
    assert_eq!(c.cmd(&["SET", "e", &long]), "+OK\r\n");
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", "e"]), "$3\r\nraw\r\n");
}

#[test]
fn get_family() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    check(
        &mut c,
        &[
            ("SET k hello", "+OK\r\n"),
            ("GETDEL k", "$5\r\nhello\r\n"),
            ("GETDEL k", "$-1\r\n"),
            ("EXISTS k", ":0\r\n"),
            ("GETSET k v1", "$-1\r\n"),
            ("GETSET k v2", "$2\r\nv1\r\n"),
            ("SET k v EX 100", "+OK\r\n"),
            ("GETSET k v2", "$1\r\nv\r\n"),
            ("TTL k", ":-1\r\n"),
            ("GETEX k", "$2\r\nv2\r\n"),
            ("GETEX missing", "$-1\r\n"),
            ("GETEX missing EX 0", "$-1\r\n"),
            ("GETEX missing EX abc", "$-1\r\n"),
            ("GETEX k EX 100", "$2\r\nv2\r\n"),
            ("TTL k", ":100\r\n"),
            ("GETEX k EXAT 4102444800", "$2\r\nv2\r\n"),
            ("EXPIRETIME k", ":4102444800\r\n"),
            ("GETEX k PXAT 4102444800999", "$2\r\nv2\r\n"),
            ("PEXPIRETIME k", ":4102444800999\r\n"),
            ("GETEX k PERSIST", "$2\r\nv2\r\n"),
            ("TTL k", ":-1\r\n"),
            (
                "GETEX k EX 0",
                "-ERR invalid expire time in 'getex' command\r\n",
            ),
            (
                "GETEX k PX -5",
                "-ERR invalid expire time in 'getex' command\r\n",
            ),
            ("GETEX k EX abc", NOT_INT),
            ("GETEX k EX", SYNTAX),
            ("GETEX k EX 10 PX 10", SYNTAX),
            ("GETEX k PERSIST EX 10", SYNTAX),
            ("GETEX k EX 10 PERSIST", SYNTAX),
            ("GETEX k NX", SYNTAX),
            ("GETEX k KEEPTTL", SYNTAX),
            ("GETEX k EXAT 1", "$2\r\nv2\r\n"),
            ("EXISTS k", ":0\r\n"),
            ("SETNX s a", ":1\r\n"),
            ("SETNX s b", ":0\r\n"),
            ("GET s", "$1\r\na\r\n"),
            ("SETEX s2 100 v", "+OK\r\n"),
            ("TTL s2", ":100\r\n"),
            (
                "SETEX s2 0 v",
                "-ERR invalid expire time in 'setex' command\r\n",
            ),
            (
                "SETEX s2 9223372036854775807 v",
                "-ERR invalid expire time in 'setex' command\r\n",
            ),
            ("SETEX s2 x v", NOT_INT),
            ("PSETEX s3 100000 v", "+OK\r\n"),
            (
                "PSETEX s3 0 v",
                "-ERR invalid expire time in 'psetex' command\r\n",
            ),
            ("MSET m1 a m2 b m3 c", "+OK\r\n"),
            (
                "MGET m1 m2 nosuch m3",
                "*4\r\n$1\r\na\r\n$1\r\nb\r\n$-1\r\n$1\r\nc\r\n",
            ),
            (
                "MSET m1 a m2",
                "-ERR wrong number of arguments for 'mset' command\r\n",
            ),
            ("MSETNX m1 x m4 y", ":0\r\n"),
            ("MGET m1 m4", "*2\r\n$1\r\na\r\n$-1\r\n"),
            ("MSETNX m4 y m5 z", ":1\r\n"),
            ("MSETNX m6 y m6 z", ":1\r\n"),
            ("GET m6", "$1\r\nz\r\n"),
            (
                "MSETNX m7",
                "-ERR wrong number of arguments for 'msetnx' command\r\n",
            ),
        ],
    );
}

#[test]
fn ranges_and_append() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    check(
        &mut c,
        &[
            ("APPEND a hello", ":5\r\n"),
            ("APPEND a _world", ":11\r\n"),
            ("GET a", "$11\r\nhello_world\r\n"),
            ("STRLEN a", ":11\r\n"),
            ("STRLEN nosuch", ":0\r\n"),
            ("SET n -12345", "+OK\r\n"),
            ("STRLEN n", ":6\r\n"),
            ("GETRANGE n 1 2", "$2\r\n12\r\n"),
            ("SET gr This_is_a_string", "+OK\r\n"),
            ("GETRANGE gr 0 3", "$4\r\nThis\r\n"),
            ("GETRANGE gr -3 -1", "$3\r\ning\r\n"),
            ("GETRANGE gr 0 -1", "$16\r\nThis_is_a_string\r\n"),
            ("GETRANGE gr 10 100", "$6\r\nstring\r\n"),
            ("GETRANGE gr 5 3", "$0\r\n\r\n"),
            ("GETRANGE gr -1 -5", "$0\r\n\r\n"),
            ("GETRANGE gr -100 -50", "$1\r\nT\r\n"),
            ("GETRANGE gr 100 200", "$0\r\n\r\n"),
            (
                "GETRANGE gr -9223372036854775808 9223372036854775807",
                "$16\r\nThis_is_a_string\r\n",
            ),
            ("GETRANGE gr a 1", NOT_INT),
            ("GETRANGE nosuch 0 -1", "$0\r\n\r\n"),
            ("SUBSTR gr 0 3", "$4\r\nThis\r\n"),
            ("SETRANGE sr 5 hello", ":10\r\n"),
            ("SETRANGE sr 0 HE", ":10\r\n"),
            ("SETRANGE sr -1 x", "-ERR offset is out of range\r\n"),
            ("SETRANGE sr abc x", NOT_INT),
            (
                "SETRANGE sr 536870912 x",
                "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n",
            ),
            (
                "SETRANGE sr 9223372036854775807 x",
                "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n",
            ),
        ],
    );
    // SETRANGE with "" stores nothing and answers the current length
    assert_eq!(c.cmd(&["SETRANGE", "sr", "100", ""]), ":10\r\n");
    assert_eq!(c.cmd(&["SETRANGE", "nokey2", "10", ""]), ":0\r\n");
    assert_eq!(c.cmd(&["EXISTS", "nokey2"]), ":0\r\n");
    c.send(&[b"GET", b"sr"]);
    assert_eq!(c.read_reply(), "$10\r\nHE\u{0}\u{0}\u{0}hello\r\n");
    // proto-max-bulk-len applies to APPEND and SETRANGE
    let s = Server::start(&["--proto-max-bulk-len", "1048576"]);
    let mut c = s.conn();
    assert_eq!(
        c.cmd(&["SETRANGE", "big", "1048576", "x"]),
        "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n"
    );
    assert_eq!(c.cmd(&["SETRANGE", "big", "1048575", "x"]), ":1048576\r\n");
    assert_eq!(
        c.cmd(&["APPEND", "big", "y"]),
        "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n"
    );
}

#[test]
fn counters() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    check(
        &mut c,
        &[
            ("INCR c", ":1\r\n"),
            ("DECR c", ":0\r\n"),
            ("INCRBY c 100", ":100\r\n"),
            ("DECRBY c 25", ":75\r\n"),
            ("DECRBY c -25", ":100\r\n"),
            ("INCRBY c abc", NOT_INT),
            ("INCRBY c 1.5", NOT_INT),
            ("INCRBY c +1", NOT_INT),
            ("INCRBY c 01", NOT_INT),
            (
                "DECRBY c -9223372036854775808",
                "-ERR decrement would overflow\r\n",
            ),
            ("SET big 9223372036854775807", "+OK\r\n"),
            ("INCR big", "-ERR increment or decrement would overflow\r\n"),
            ("INCRBY big 0", ":9223372036854775807\r\n"),
            ("SET small -9223372036854775808", "+OK\r\n"),
            (
                "DECR small",
                "-ERR increment or decrement would overflow\r\n",
            ),
            ("INCR small", ":-9223372036854775807\r\n"),
            ("SET z 0", "+OK\r\n"),
            ("INCRBY z -9223372036854775808", ":-9223372036854775808\r\n"),
            ("SET notint abc", "+OK\r\n"),
            ("INCR notint", NOT_INT),
            ("SET sp 12a", "+OK\r\n"),
            ("INCR sp", NOT_INT),
            ("SET neg0 -0", "+OK\r\n"),
            ("INCR neg0", NOT_INT),
            ("SET ttl 5", "+OK\r\n"),
            ("EXPIRE ttl 1000", ":1\r\n"),
            ("INCR ttl", ":6\r\n"),
            ("TTL ttl", ":1000\r\n"),
            ("APPEND raw 41", ":2\r\n"),
            ("APPEND raw 1", ":3\r\n"),
            ("INCR raw", ":412\r\n"),
            ("OBJECT ENCODING raw", "$3\r\nint\r\n"),
        ],
    );
}

#[test]
fn incrbyfloat_long_double_results() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    check(
        &mut c,
        &[
            ("SET f 10.50", "+OK\r\n"),
            ("INCRBYFLOAT f 0.1", "$4\r\n10.6\r\n"),
            ("INCRBYFLOAT f -5", "$3\r\n5.6\r\n"),
            ("SET f 5.0e3", "+OK\r\n"),
            ("INCRBYFLOAT f 2.0e2", "$4\r\n5200\r\n"),
            ("INCRBYFLOAT g 1.1", "$3\r\n1.1\r\n"),
            ("INCRBYFLOAT g 2.2", "$3\r\n3.3\r\n"),
            ("INCRBYFLOAT g -3.3", "$1\r\n0\r\n"),
            ("INCRBYFLOAT h 3.0e3", "$4\r\n3000\r\n"),
            ("INCRBYFLOAT h 1.5e-3", "$22\r\n3000.00150000000000006\r\n"),
            (
                "INCRBYFLOAT i 1.23456789012345678",
                "$19\r\n1.23456789012345678\r\n",
            ),
            (
                "INCRBYFLOAT j 0.000003814697265625",
                "$19\r\n0.00000381469726562\r\n",
            ),
            ("INCRBYFLOAT k 5e-18", "$1\r\n0\r\n"),
            ("INCRBYFLOAT k2 15e-18", "$19\r\n0.00000000000000002\r\n"),
            ("INCRBYFLOAT l -0.0", "$1\r\n0\r\n"),
            ("INCRBYFLOAT l -1e-30", "$1\r\n0\r\n"),
            ("INCRBYFLOAT m 0x1.8p1", "$1\r\n3\r\n"),
            ("SET n 9223372036854775807", "+OK\r\n"),
            ("INCRBYFLOAT n 1", "$19\r\n9223372036854775808\r\n"),
            ("INCRBYFLOAT o 1e17", "$18\r\n100000000000000000\r\n"),
            ("INCRBYFLOAT o 1e-5", "$18\r\n100000000000000000\r\n"),
            // errors
            (
                "INCRBYFLOAT p inf",
                "-ERR increment would produce NaN or Infinity\r\n",
            ),
            (
                "INCRBYFLOAT p -inf",
                "-ERR increment would produce NaN or Infinity\r\n",
            ),
            ("INCRBYFLOAT p nan", "-ERR value is not a valid float\r\n"),
            ("INCRBYFLOAT p abc", "-ERR value is not a valid float\r\n"),
            ("INCRBYFLOAT p 1,5", "-ERR value is not a valid float\r\n"),
            (
                "INCRBYFLOAT p 1.2e4932",
                "-ERR value is not a valid float\r\n",
            ),
            (
                "INCRBYFLOAT p 1e-5000",
                "-ERR value is not a valid float\r\n",
            ),
            ("INCRBYFLOAT p 0e-5000", "$1\r\n0\r\n"),
            ("SET q inf", "+OK\r\n"),
            (
                "INCRBYFLOAT q 1",
                "-ERR increment would produce NaN or Infinity\r\n",
            ),
            ("SET q 1.5x", "+OK\r\n"),
            ("INCRBYFLOAT q 1", "-ERR value is not a valid float\r\n"),
            ("SET ef 5", "+OK\r\n"),
            ("EXPIRE ef 1000", ":1\r\n"),
            ("INCRBYFLOAT ef 1.5", "$3\r\n6.5\r\n"),
            ("TTL ef", ":1000\r\n"),
        ],
    );
    // long double range: 1e400 is finite and printed in full
    let r = c.cmd(&["INCRBYFLOAT", "huge", "1e400"]);
    assert!(r.starts_with("$401\r\n10000000000000000000281880683947586514586453433629052038625910693539685534008629862039363994848324160522094053927317616200295822777259255734023828976593340661017797447434546173917862448116674971723778943824391593338047470675026246684401359237513603830343735485505244955964979021825038280091068414947402456898653040951017512658092615827588920183472511643316591362664138176309734806343732497430221946880\r\n"), "{}", r);
    // leading/trailing spaces are rejected
    assert_eq!(
        c.cmd(&["INCRBYFLOAT", "p", " 1"]),
        "-ERR value is not a valid float\r\n"
    );
    assert_eq!(
        c.cmd(&["INCRBYFLOAT", "p", "1 "]),
        "-ERR value is not a valid float\r\n"
    );
}

#[test]
fn lcs_resp2() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    check(
        &mut c,
        &[
            ("MSET key1 ohmytext key2 mynewtext", "+OK\r\n"),
            ("LCS key1 key2", "$6\r\nmytext\r\n"),
            ("LCS key1 key2 LEN", ":6\r\n"),
            (
                "LCS key1 key2 IDX",
                "*4\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:6\r\n",
            ),
            (
                "LCS key1 key2 IDX MINMATCHLEN 4 WITHMATCHLEN",
                "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n$3\r\nlen\r\n:6\r\n",
            ),
            ("LCS key1 key2 IDX MINMATCHLEN x", NOT_INT),
            ("LCS key1 key2 IDX MINMATCHLEN", SYNTAX),
            ("LCS key1 key2 BOGUS", SYNTAX),
            (
                "LCS key1 key2 LEN IDX",
                "-ERR If you want both the length and indexes, please just use IDX.\r\n",
            ),
            ("LCS key1 nosuch", "$0\r\n\r\n"),
            ("LCS nosuch nosuch2 IDX", "*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n"),
            ("SET li 12345", "+OK\r\n"),
            ("SET lj 2345", "+OK\r\n"),
            ("LCS li lj", "$4\r\n2345\r\n"),
        ],
    );
    if has_lists(&mut c) {
        check(
            &mut c,
            &[
                (
                    "LCS key1 list",
                    "-ERR The specified keys must contain string values\r\n",
                ),
                (
                    "LCS list key1",
                    "-ERR The specified keys must contain string values\r\n",
                ),
            ],
        );
    }
    if has_resp3(&mut c) {
        check(
            &mut c,
            &[
                (
                    "LCS key1 key2 IDX WITHMATCHLEN",
                    "%2\r\n$7\r\nmatches\r\n*2\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n*3\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n:2\r\n$3\r\nlen\r\n:6\r\n",
                ),
                ("GET nosuch", "_\r\n"),
                ("SET k v NX GET", "_\r\n"),
            ],
        );
    }
}

#[test]
fn wrong_type_everywhere() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    if !has_lists(&mut c) {
        return;
    }
    for cmd in [
        "GET list",
        "GETDEL list",
        "GETEX list",
        "GETEX list EX 10",
        "GETSET list v",
        "SET list v GET",
        "APPEND list x",
        "STRLEN list",
        "GETRANGE list 0 -1",
        "SETRANGE list 0 x",
        "INCR list",
        "DECRBY list 1",
        "INCRBYFLOAT list 1",
    ] {
        let args: Vec<&str> = cmd.split_whitespace().collect();
        assert_eq!(c.cmd(&args), WRONGTYPE, "{}", cmd);
    }
    check(
        &mut c,
        &[
            ("TYPE list", "+list\r\n"),
            ("MGET list", "*1\r\n$-1\r\n"),
            ("SETNX list v", ":0\r\n"),
            ("SET list v", "+OK\r\n"),
            ("TYPE list", "+string\r\n"),
        ],
    );
}

#[test]
fn pipelined_hot_path() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let mut batch = Vec::new();
    for i in 0..2000 {
        let k = format!("key:{}", i % 100);
        let v = format!("value-{}", i);
        batch.extend_from_slice(&encode(&[b"SET", k.as_bytes(), v.as_bytes()]));
        batch.extend_from_slice(&encode(&[b"GET", k.as_bytes()]));
        batch.extend_from_slice(&encode(&[b"INCR", b"counter"]));
    }
    c.send_raw(&batch);
    for i in 0..2000 {
        assert_eq!(c.read_reply(), "+OK\r\n");
        assert_eq!(c.read_reply(), bulk(&format!("value-{}", i)));
        assert_eq!(c.read_reply(), format!(":{}\r\n", i + 1));
    }
}
