//! Bitmap commands against the real binary: exact RESP replies (errors
//! included) as Redis 7.2 sends them.
mod common;
use common::*;

fn check(c: &mut Conn, cases: &[(&str, &str)]) {
    for (cmd, want) in cases {
        let args: Vec<&str> = cmd.split_whitespace().collect();
        assert_eq!(c.cmd(&args), *want, "reply to `{}`", cmd);
    }
}

fn set_bin(c: &mut Conn, key: &str, val: &[u8]) {
    c.send(&[b"SET", key.as_bytes(), val]);
    assert_eq!(c.read_reply(), "+OK\r\n");
}

fn get_raw(c: &mut Conn, key: &str) -> Vec<u8> {
    c.send(&[b"GET", key.as_bytes()]);
    let mut line = Vec::new();
    use std::io::{BufRead, Read};
    c.r.read_until(b'\n', &mut line).expect("read");
    let n: i64 = String::from_utf8_lossy(&line[1..line.len() - 2])
        .parse()
        .expect("len");
    if n < 0 {
        return Vec::new();
    }
    let mut b = vec![0u8; n as usize + 2];
    c.r.read_exact(&mut b).expect("read");
    b.truncate(n as usize);
    b
}

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
const NOT_INT: &str = "-ERR value is not an integer or out of range\r\n";
const SYNTAX: &str = "-ERR syntax error\r\n";
const BAD_OFFSET: &str = "-ERR bit offset is not an integer or out of range\r\n";
const BAD_BIT: &str = "-ERR bit is not an integer or out of range\r\n";
const BAD_TYPE: &str =
    "-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.\r\n";

#[test]
fn setbit_getbit() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    check(
        &mut c,
        &[
            ("SETBIT b 7 1", ":0\r\n"),
            ("GET b", "$1\r\n\u{1}\r\n"),
            ("SETBIT b 7 0", ":1\r\n"),
            ("SETBIT b 0 1", ":0\r\n"),
        ],
    );
    assert_eq!(get_raw(&mut c, "b"), b"\x80");
    check(
        &mut c,
        &[
            ("SETBIT b 100 1", ":0\r\n"),
            ("STRLEN b", ":13\r\n"),
            ("GETBIT b 0", ":1\r\n"),
            ("GETBIT b 1", ":0\r\n"),
            ("GETBIT b 100", ":1\r\n"),
            ("GETBIT b 1000", ":0\r\n"),
            ("GETBIT nosuch 5", ":0\r\n"),
            ("GETBIT b -1", BAD_OFFSET),
            ("GETBIT b x", BAD_OFFSET),
            ("GETBIT b 4294967295", ":0\r\n"),
            ("GETBIT b 4294967296", BAD_OFFSET),
            ("SETBIT b 1 2", BAD_BIT),
            ("SETBIT b 1 -1", BAD_BIT),
            ("SETBIT b 1 x", BAD_BIT),
            ("SETBIT b -1 1", BAD_OFFSET),
            ("SETBIT b 4294967296 1", BAD_OFFSET),
            ("SET n 1234", "+OK\r\n"),
            ("GETBIT n 2", ":1\r\n"),
            ("SETBIT n 0 0", ":0\r\n"),
            ("GET n", "$4\r\n1234\r\n"),
            ("OBJECT ENCODING n", "$3\r\nraw\r\n"),
            ("SET e abc", "+OK\r\n"),
            ("SETBIT e 0 0", ":0\r\n"),
            ("OBJECT ENCODING e", "$3\r\nraw\r\n"),
            ("SET t v", "+OK\r\n"),
            ("EXPIRE t 1000", ":1\r\n"),
            ("SETBIT t 100 1", ":0\r\n"),
            ("TTL t", ":1000\r\n"),
        ],
    );
    // the offset limit follows proto-max-bulk-len
    let s = Server::start(&["--proto-max-bulk-len", "1048576"]);
    let mut c = s.conn();
    assert_eq!(c.cmd(&["SETBIT", "lim", "8388608", "1"]), BAD_OFFSET);
    assert_eq!(c.cmd(&["SETBIT", "lim", "8388607", "1"]), ":0\r\n");
    assert_eq!(c.cmd(&["STRLEN", "lim"]), ":1048576\r\n");
}

#[test]
fn bitcount_bitpos() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    check(
        &mut c,
        &[
            ("SET mykey foobar", "+OK\r\n"),
            ("BITCOUNT mykey", ":26\r\n"),
            ("BITCOUNT mykey 0 0", ":4\r\n"),
            ("BITCOUNT mykey 1 1", ":6\r\n"),
            ("BITCOUNT mykey 1 -2", ":18\r\n"),
            ("BITCOUNT mykey -100 100", ":26\r\n"),
            ("BITCOUNT mykey 3 1", ":0\r\n"),
            ("BITCOUNT mykey -1 -2", ":0\r\n"),
            ("BITCOUNT mykey 5 30 BIT", ":17\r\n"),
            ("BITCOUNT mykey 0 -1 bit", ":26\r\n"),
            ("BITCOUNT mykey -5 -1 BIT", ":2\r\n"),
            ("BITCOUNT mykey 0 -1 byte", ":26\r\n"),
            ("BITCOUNT mykey 0 -1 BOGUS", SYNTAX),
            ("BITCOUNT mykey 0 -1 BIT extra", SYNTAX),
            // Redis 7.2 needs both start and end (Valkey 8 made end optional)
            ("BITCOUNT mykey 0", SYNTAX),
            ("BITCOUNT mykey a 1", NOT_INT),
            ("BITCOUNT nosuch", ":0\r\n"),
            ("BITCOUNT nosuch 0 -1 BOGUS", SYNTAX),
            ("BITCOUNT mykey -9223372036854775808 -1 BIT", ":26\r\n"),
            ("SET num 255", "+OK\r\n"),
            ("BITCOUNT num", ":11\r\n"),
            ("BITPOS nosuch 0", ":0\r\n"),
            ("BITPOS nosuch 1", ":-1\r\n"),
            (
                "BITPOS mykey 2",
                "-ERR The bit argument must be 1 or 0.\r\n",
            ),
            ("BITPOS mykey x", NOT_INT),
            ("BITPOS mykey 1 x", NOT_INT),
            ("BITPOS mykey 1 0 -1 BOGUS", SYNTAX),
            ("BITPOS mykey 1 0 -1 BIT extra", SYNTAX),
            ("BITPOS mykey 1 2 1", ":-1\r\n"),
        ],
    );
    set_bin(&mut c, "bp", b"\xff\xf0\x00");
    set_bin(&mut c, "ones", b"\xff\xff\xff");
    set_bin(&mut c, "zeros", b"\x00\x00");
    check(
        &mut c,
        &[
            ("BITPOS bp 0", ":12\r\n"),
            ("BITPOS bp 1", ":0\r\n"),
            ("BITPOS bp 1 1", ":8\r\n"),
            ("BITPOS bp 1 2", ":-1\r\n"),
            ("BITPOS bp 0 0 0", ":-1\r\n"),
            ("BITPOS bp 0 0 -1", ":12\r\n"),
            ("BITPOS bp 1 7 15 BIT", ":7\r\n"),
            ("BITPOS bp 0 7 15 BIT", ":12\r\n"),
            ("BITPOS bp 0 0 11 BIT", ":-1\r\n"),
            ("BITPOS bp 0 -5 -1 BIT", ":19\r\n"),
            ("BITPOS ones 0", ":24\r\n"),
            ("BITPOS ones 0 0", ":24\r\n"),
            ("BITPOS ones 0 0 -1", ":-1\r\n"),
            ("BITPOS ones 0 0 -1 BIT", ":-1\r\n"),
            ("BITPOS zeros 1", ":-1\r\n"),
            ("BITPOS zeros 0", ":0\r\n"),
        ],
    );
}

#[test]
fn bitop() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    check(
        &mut c,
        &[
            ("SET k1 foobar", "+OK\r\n"),
            ("SET k2 abcdef", "+OK\r\n"),
            ("BITOP AND dest k1 k2", ":6\r\n"),
            ("GET dest", "$6\r\n`bc`ab\r\n"),
            ("BITOP OR dest k1 k2", ":6\r\n"),
            ("GET dest", "$6\r\ngoofev\r\n"),
            ("OBJECT ENCODING dest", "$3\r\nraw\r\n"),
            ("SET short ab", "+OK\r\n"),
            ("BITOP OR dest short k1", ":6\r\n"),
            ("GET dest", "$6\r\ngoobar\r\n"),
            ("BITOP XOR dest k1 k1", ":6\r\n"),
            ("BITCOUNT dest", ":0\r\n"),
            ("BITOP AND dest k1 nosuch", ":6\r\n"),
            ("BITCOUNT dest", ":0\r\n"),
            ("BITOP AND dest nosuch nosuch2", ":0\r\n"),
            ("EXISTS dest", ":0\r\n"),
            ("BITOP NOT dest nosuch", ":0\r\n"),
            (
                "BITOP NOT dest k1 k2",
                "-ERR BITOP NOT must be called with a single source key.\r\n",
            ),
            ("BITOP BOGUS dest k1", SYNTAX),
            ("BITOP DIFF dest k1 k2", SYNTAX),
            ("SET n 123", "+OK\r\n"),
            ("BITOP AND dest n n", ":3\r\n"),
            ("GET dest", "$3\r\n123\r\n"),
            ("EXPIRE dest 100", ":1\r\n"),
            ("BITOP OR dest n", ":3\r\n"),
            ("TTL dest", ":-1\r\n"),
        ],
    );
    set_bin(&mut c, "one", b"\x0f\xf0");
    assert_eq!(c.cmd(&["BITOP", "NOT", "dest", "one"]), ":2\r\n");
    assert_eq!(get_raw(&mut c, "dest"), b"\xf0\x0f");
    if !c
        .cmd(&["RPUSH", "l", "a"])
        .starts_with("-ERR unknown command")
    {
        check(
            &mut c,
            &[
                ("BITOP AND dest k1 l", WRONGTYPE),
                ("BITOP AND l k1", ":6\r\n"),
                ("TYPE l", "+string\r\n"),
                ("RPUSH l2 a", ":1\r\n"),
                ("SETBIT l2 0 1", WRONGTYPE),
                ("GETBIT l2 0", WRONGTYPE),
                ("BITCOUNT l2", WRONGTYPE),
                ("BITPOS l2 1", WRONGTYPE),
                ("BITFIELD l2 GET u8 0", WRONGTYPE),
                ("BITFIELD l2 SET u8 0 1", WRONGTYPE),
                ("BITFIELD_RO l2 GET u8 0", WRONGTYPE),
            ],
        );
    }
}

#[test]
fn bitfield() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    check(
        &mut c,
        &[
            ("BITFIELD bf SET i8 0 100 GET i8 0", "*2\r\n:0\r\n:100\r\n"),
            ("BITFIELD bf INCRBY i8 0 100", "*1\r\n:-56\r\n"),
            (
                "BITFIELD bf OVERFLOW SAT INCRBY i8 0 -100",
                "*1\r\n:-128\r\n",
            ),
            ("BITFIELD bf OVERFLOW FAIL INCRBY i8 0 -1", "*1\r\n$-1\r\n"),
            (
                "BITFIELD bf GET u8 0 GET i8 0 GET u4 0 GET i4 4 GET u1 7",
                "*5\r\n:128\r\n:-128\r\n:8\r\n:0\r\n:0\r\n",
            ),
            (
                "BITFIELD bf SET u8 #1 255 GET u8 #1 GET u8 8",
                "*3\r\n:0\r\n:255\r\n:255\r\n",
            ),
            (
                "BITFIELD bf OVERFLOW SAT INCRBY u2 100 5 INCRBY u2 100 -5",
                "*2\r\n:3\r\n:0\r\n",
            ),
            (
                "BITFIELD bf OVERFLOW WRAP INCRBY u2 100 5 INCRBY u2 100 -5",
                "*2\r\n:1\r\n:0\r\n",
            ),
            (
                "BITFIELD bf SET i64 0 9223372036854775807 INCRBY i64 0 1",
                "*2\r\n:-9151595917793558528\r\n:-9223372036854775808\r\n",
            ),
            (
                "BITFIELD bf OVERFLOW SAT SET i64 0 9223372036854775807 INCRBY i64 0 1",
                "*2\r\n:-9223372036854775808\r\n:9223372036854775807\r\n",
            ),
            (
                "BITFIELD bf SET u63 0 9223372036854775807 GET u63 0",
                "*2\r\n:4611686018427387903\r\n:9223372036854775807\r\n",
            ),
            (
                "BITFIELD bf OVERFLOW SAT SET u8 0 256 GET u8 0",
                "*2\r\n:255\r\n:255\r\n",
            ),
            (
                "BITFIELD bf OVERFLOW FAIL SET u8 0 256 GET u8 0",
                "*2\r\n$-1\r\n:255\r\n",
            ),
            ("BITFIELD bf SET u8 0 -1 GET u8 0", "*2\r\n:255\r\n:255\r\n"),
            ("BITFIELD bf GET u64 0", BAD_TYPE),
            ("BITFIELD bf GET i65 0", BAD_TYPE),
            ("BITFIELD bf GET i0 0", BAD_TYPE),
            ("BITFIELD bf GET I8 0", BAD_TYPE),
            ("BITFIELD bf GET u8 -1", BAD_OFFSET),
            ("BITFIELD bf GET u8 #-1", BAD_OFFSET),
            ("BITFIELD bf GET u8 4294967296", BAD_OFFSET),
            ("BITFIELD bf GET u8 4294967288", "*1\r\n:0\r\n"),
            ("BITFIELD bf SET u8 0 x", NOT_INT),
            (
                "BITFIELD bf OVERFLOW BOGUS GET u8 0",
                "-ERR Invalid OVERFLOW type specified\r\n",
            ),
            ("BITFIELD bf OVERFLOW", SYNTAX),
            ("BITFIELD bf GET u8", SYNTAX),
            ("BITFIELD bf BOGUS u8 0", SYNTAX),
            ("BITFIELD bf", "*0\r\n"),
            ("BITFIELD nosuch GET u8 0 GET i16 100", "*2\r\n:0\r\n:0\r\n"),
            ("EXISTS nosuch", ":0\r\n"),
            (
                "BITFIELD nosuch3 OVERFLOW FAIL INCRBY u2 0 10",
                "*1\r\n$-1\r\n",
            ),
            ("STRLEN nosuch3", ":1\r\n"),
            ("BITFIELD_RO bf GET u8 8 GET i16 8", "*2\r\n:255\r\n:-1\r\n"),
            ("BITFIELD_RO bf", "*0\r\n"),
            (
                "BITFIELD_RO bf SET u8 0 1",
                "-ERR BITFIELD_RO only supports the GET subcommand\r\n",
            ),
            (
                "BITFIELD_RO bf INCRBY u8 0 1",
                "-ERR BITFIELD_RO only supports the GET subcommand\r\n",
            ),
            ("BITFIELD_RO bf GET u8", SYNTAX),
            ("BITFIELD_RO bf OVERFLOW SAT GET u8 8", "*1\r\n:255\r\n"),
            ("BITFIELD_RO nosuch GET u8 0", "*1\r\n:0\r\n"),
            ("SET num 1234", "+OK\r\n"),
            ("BITFIELD num GET u8 0 GET u8 #3", "*2\r\n:49\r\n:52\r\n"),
            ("BITFIELD num SET u8 0 50", "*1\r\n:49\r\n"),
            ("GET num", "$4\r\n2234\r\n"),
            ("OBJECT ENCODING num", "$3\r\nraw\r\n"),
        ],
    );
    set_bin(&mut c, "bfs", b"\x01\x02\x03\x04");
    check(
        &mut c,
        &[
            (
                "BITFIELD bfs GET u32 0 GET i32 0 GET u16 #1 GET u8 #3 GET u8 #4",
                "*5\r\n:16909060\r\n:16909060\r\n:772\r\n:4\r\n:0\r\n",
            ),
            (
                "BITFIELD bfs SET u16 #1 65535 GET u32 0",
                "*2\r\n:772\r\n:16973823\r\n",
            ),
        ],
    );
    assert_eq!(get_raw(&mut c, "bfs"), b"\x01\x02\xff\xff");
}
