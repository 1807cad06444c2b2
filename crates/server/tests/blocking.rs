//! Blocking list commands across connections on different worker threads:
//! FIFO service, timeouts, atomic BLMOVE, multi-key waiters served once,
//! transactions, CLIENT UNBLOCK / KILL, and an exactly-once stress run.
mod common;
use common::*;
use std::collections::HashSet;
use std::io::BufRead;
use std::time::{Duration, Instant};

/// Sends a command without reading its reply (the client blocks).
fn park(s: &Server, args: &[&str]) -> Conn {
    let mut c = s.conn();
    let a: Vec<&[u8]> = args.iter().map(|x| x.as_bytes()).collect();
    c.send(&a);
    c
}

/// True when nothing arrives on `c` within `ms`.
fn silent_for(c: &mut Conn, ms: u64) -> bool {
    c.r.get_ref()
        .set_read_timeout(Some(Duration::from_millis(ms)))
        .ok();
    let silent = c.r.fill_buf().is_err();
    c.r.get_ref()
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok();
    silent
}

/// Lets parked commands reach the server and register.
fn settle() {
    std::thread::sleep(Duration::from_millis(150));
}

fn kv(k: &str, v: &str) -> String {
    format!("*2\r\n{}{}", bulk(k), bulk(v))
}

#[test]
fn fifo_order_across_threads() {
    let s = Server::start(&["--threads", "3"]);
    let mut waiters = Vec::new();
    for _ in 0..3 {
        waiters.push(park(&s, &["BLPOP", "q", "0"]));
        settle();
    }
    let mut p = s.conn();
    assert_eq!(p.cmd(&["RPUSH", "q", "a", "b", "c", "d"]), ":4\r\n");
    for (w, v) in waiters.iter_mut().zip(["a", "b", "c"]) {
        assert_eq!(w.read_reply(), kv("q", v));
    }
    assert_eq!(p.cmd(&["LRANGE", "q", "0", "-1"]), "*1\r\n$1\r\nd\r\n");
    // Same with BRPOP and one element per push from another connection.
    let mut waiters = Vec::new();
    for _ in 0..3 {
        waiters.push(park(&s, &["BRPOP", "q2", "0"]));
        settle();
    }
    for v in ["x", "y", "z"] {
        assert_eq!(s.conn().cmd(&["LPUSH", "q2", v]), ":1\r\n");
    }
    for (w, v) in waiters.iter_mut().zip(["x", "y", "z"]) {
        assert_eq!(w.read_reply(), kv("q2", v));
    }
    assert_eq!(p.cmd(&["EXISTS", "q2"]), ":0\r\n");
}

#[test]
fn fractional_timeouts() {
    let s = Server::start(&["--threads", "2"]);
    let mut c = s.conn();
    let t = Instant::now();
    assert_eq!(c.cmd(&["BLPOP", "none", "0.25"]), "*-1\r\n");
    let el = t.elapsed();
    assert!(el >= Duration::from_millis(200), "{:?}", el);
    assert!(el < Duration::from_secs(3), "{:?}", el);
    assert_eq!(c.cmd(&["BRPOP", "none", "other", "0.1"]), "*-1\r\n");
    // BLMOVE and BRPOPLPUSH time out with a null array too.
    assert_eq!(
        c.cmd(&["BLMOVE", "none", "d", "LEFT", "LEFT", "0.1"]),
        "*-1\r\n"
    );
    assert_eq!(c.cmd(&["BRPOPLPUSH", "none", "d", "0.1"]), "*-1\r\n");
    assert_eq!(c.cmd(&["BLMPOP", "0.1", "1", "none", "LEFT"]), "*-1\r\n");
    c.send(&[b"HELLO", b"3"]);
    let _ = c.read_reply();
    assert_eq!(c.cmd(&["BLPOP", "none", "0.1"]), "_\r\n");
    // The client is usable afterwards and nothing is left queued.
    assert_eq!(c.cmd(&["RPUSH", "none", "v"]), ":1\r\n");
    assert_eq!(c.cmd(&["LLEN", "none"]), ":1\r\n");
}

#[test]
fn woken_from_another_thread_in_both_protocols() {
    let s = Server::start(&["--threads", "2"]);
    let mut w = s.conn();
    w.send(&[b"HELLO", b"3"]);
    let _ = w.read_reply();
    w.send(&[b"BLPOP", b"k", b"0"]);
    let mut w2 = park(&s, &["BLMPOP", "0", "2", "x", "k2", "RIGHT", "COUNT", "5"]);
    settle();
    let mut p = s.conn();
    assert_eq!(p.cmd(&["RPUSH", "k", "v1", "v2"]), ":2\r\n");
    assert_eq!(w.read_reply(), kv("k", "v1"));
    assert_eq!(p.cmd(&["RPUSH", "k2", "1", "2", "3"]), ":3\r\n");
    assert_eq!(
        w2.read_reply(),
        format!(
            "*2\r\n{}*3\r\n{}{}{}",
            bulk("k2"),
            bulk("3"),
            bulk("2"),
            bulk("1")
        )
    );
    assert_eq!(p.cmd(&["LRANGE", "k", "0", "-1"]), "*1\r\n$2\r\nv2\r\n");
    assert_eq!(p.cmd(&["EXISTS", "k2"]), ":0\r\n");
}

#[test]
fn blmove_is_served_atomically() {
    let s = Server::start(&["--threads", "2"]);
    let mut w = park(&s, &["BLMOVE", "src", "dst", "LEFT", "RIGHT", "0"]);
    settle();
    let mut p = s.conn();
    assert_eq!(p.cmd(&["RPUSH", "dst", "old"]), ":1\r\n");
    assert_eq!(p.cmd(&["RPUSH", "src", "x"]), ":1\r\n");
    // By the time the push has answered, the element has moved.
    assert_eq!(p.cmd(&["EXISTS", "src"]), ":0\r\n");
    assert_eq!(
        p.cmd(&["LRANGE", "dst", "0", "-1"]),
        "*2\r\n$3\r\nold\r\n$1\r\nx\r\n"
    );
    assert_eq!(w.read_reply(), bulk("x"));
    // A chain: BRPOPLPUSH a -> b feeds a BLPOP on b.
    let mut w1 = park(&s, &["BRPOPLPUSH", "a", "b", "0"]);
    settle();
    let mut w2 = park(&s, &["BLPOP", "b", "0"]);
    settle();
    assert_eq!(p.cmd(&["LPUSH", "a", "e"]), ":1\r\n");
    assert_eq!(w1.read_reply(), bulk("e"));
    assert_eq!(w2.read_reply(), kv("b", "e"));
    assert_eq!(p.cmd(&["EXISTS", "a", "b"]), ":0\r\n");
    // A destination of the wrong type: the waiter gets WRONGTYPE and the
    // element stays where it was.
    p.cmd(&["SET", "str", "v"]);
    let mut w3 = park(&s, &["BLMOVE", "c", "str", "LEFT", "LEFT", "0"]);
    settle();
    assert_eq!(p.cmd(&["RPUSH", "c", "keep"]), ":1\r\n");
    assert_eq!(
        w3.read_reply(),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
    assert_eq!(p.cmd(&["LRANGE", "c", "0", "-1"]), "*1\r\n$4\r\nkeep\r\n");
}

#[test]
fn waiter_on_two_keys_is_served_once() {
    let s = Server::start(&["--threads", "2"]);
    let mut p = s.conn();
    // Two pushes in one transaction.
    let mut w = park(&s, &["BLPOP", "k1", "k2", "0"]);
    settle();
    p.cmd(&["MULTI"]);
    p.cmd(&["RPUSH", "k1", "a"]);
    p.cmd(&["RPUSH", "k2", "b"]);
    assert_eq!(p.cmd(&["EXEC"]), "*2\r\n:1\r\n:1\r\n");
    let r = w.read_reply();
    assert!(r == kv("k1", "a") || r == kv("k2", "b"), "{}", r);
    assert!(silent_for(&mut w, 200));
    let left = p.cmd(&["LLEN", "k1"]) + &p.cmd(&["LLEN", "k2"]);
    assert!(left == ":0\r\n:1\r\n" || left == ":1\r\n:0\r\n", "{}", left);
    // Two separate pushes: the first one serves it, the second stays.
    let mut w = park(&s, &["BRPOP", "m1", "m2", "0"]);
    settle();
    assert_eq!(p.cmd(&["RPUSH", "m2", "x"]), ":1\r\n");
    assert_eq!(p.cmd(&["RPUSH", "m1", "y"]), ":1\r\n");
    assert_eq!(w.read_reply(), kv("m2", "x"));
    assert_eq!(p.cmd(&["LRANGE", "m1", "0", "-1"]), "*1\r\n$1\r\ny\r\n");
    // The stale entry on m1 does not swallow a later waiter's element.
    let mut w2 = park(&s, &["BLPOP", "m3", "0"]);
    settle();
    assert_eq!(p.cmd(&["RPUSH", "m3", "z"]), ":1\r\n");
    assert_eq!(w2.read_reply(), kv("m3", "z"));
}

#[test]
fn transactions_serve_only_what_is_left() {
    let s = Server::start(&["--threads", "2"]);
    let mut p = s.conn();
    let mut w = park(&s, &["BLPOP", "t", "0"]);
    settle();
    p.cmd(&["MULTI"]);
    p.cmd(&["RPUSH", "t", "1"]);
    p.cmd(&["LPOP", "t"]);
    assert_eq!(p.cmd(&["EXEC"]), "*2\r\n:1\r\n$1\r\n1\r\n");
    assert!(silent_for(&mut w, 300));
    assert_eq!(p.cmd(&["RPUSH", "t", "2"]), ":1\r\n");
    assert_eq!(w.read_reply(), kv("t", "2"));
    // Blocking commands inside MULTI answer at once.
    p.cmd(&["MULTI"]);
    p.cmd(&["BLPOP", "none", "0"]);
    p.cmd(&["BLMOVE", "none", "x", "LEFT", "LEFT", "0"]);
    assert_eq!(p.cmd(&["EXEC"]), "*2\r\n*-1\r\n$-1\r\n");
}

#[test]
fn other_types_and_key_creation() {
    let s = Server::start(&["--threads", "2"]);
    let mut p = s.conn();
    let mut w = park(&s, &["BLPOP", "rk", "0"]);
    settle();
    // A string under the key does not wake a list waiter.
    assert_eq!(p.cmd(&["SET", "rk", "str"]), "+OK\r\n");
    assert!(silent_for(&mut w, 200));
    p.cmd(&["DEL", "rk"]);
    // Any command that creates the list does (RENAME here).
    p.cmd(&["RPUSH", "tmp", "z"]);
    assert_eq!(p.cmd(&["RENAME", "tmp", "rk"]), "+OK\r\n");
    assert_eq!(w.read_reply(), kv("rk", "z"));
    assert_eq!(p.cmd(&["EXISTS", "rk"]), ":0\r\n");
}

#[test]
fn unblock_and_kill() {
    let s = Server::start(&["--threads", "2"]);
    let mut p = s.conn();
    let mut w = s.conn();
    let id = w.cmd(&["CLIENT", "ID"]);
    let Some(id) = id.strip_prefix(':').map(|x| x.trim().to_string()) else {
        return;
    };
    w.send(&[b"BLPOP", b"u", b"0"]);
    settle();
    let r = p.cmd(&["CLIENT", "UNBLOCK", &id]);
    if r.starts_with("-ERR") {
        return;
    }
    assert_eq!(r, ":1\r\n");
    assert_eq!(w.read_reply(), "*-1\r\n");
    w.send(&[b"BLPOP", b"u", b"0"]);
    settle();
    assert_eq!(p.cmd(&["CLIENT", "UNBLOCK", &id, "ERROR"]), ":1\r\n");
    assert_eq!(
        w.read_reply(),
        "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"
    );
    // Not blocked any more: nothing to unblock, and no stale waiter eats
    // the next push.
    assert_eq!(p.cmd(&["CLIENT", "UNBLOCK", &id]), ":0\r\n");
    assert_eq!(p.cmd(&["RPUSH", "u", "v"]), ":1\r\n");
    assert_eq!(p.cmd(&["LLEN", "u"]), ":1\r\n");
    // A killed waiter leaves its queue.
    p.cmd(&["DEL", "u"]);
    w.send(&[b"BLPOP", b"u", b"0"]);
    settle();
    let r = p.cmd(&["CLIENT", "KILL", "ID", &id]);
    if r == ":1\r\n" {
        settle();
        assert_eq!(p.cmd(&["RPUSH", "u", "v"]), ":1\r\n");
        assert_eq!(p.cmd(&["LLEN", "u"]), ":1\r\n");
    }
}

#[test]
fn hung_up_waiters_are_skipped() {
    let s = Server::start(&["--threads", "2"]);
    let mut p = s.conn();
    let gone = park(&s, &["BLPOP", "h", "0"]);
    settle();
    let mut w = park(&s, &["BLPOP", "h", "0"]);
    settle();
    gone.w.shutdown(std::net::Shutdown::Both).ok();
    drop(gone);
    settle();
    assert_eq!(p.cmd(&["RPUSH", "h", "a", "b"]), ":2\r\n");
    assert_eq!(w.read_reply(), kv("h", "a"));
    assert_eq!(p.cmd(&["LRANGE", "h", "0", "-1"]), "*1\r\n$1\r\nb\r\n");
}

#[test]
fn every_element_delivered_exactly_once() {
    let s = Server::start(&["--threads", "3"]);
    const PRODUCERS: usize = 3;
    const PER: usize = 400;
    let port = s.port;
    let consumers: Vec<_> = (0..6)
        .map(|i| {
            std::thread::spawn(move || {
                let mut c = Conn::new(port);
                let mut got = Vec::new();
                loop {
                    // Mix of pops and moves through a second list.
                    let r = if i % 2 == 0 {
                        c.cmd(&["BLPOP", "work", "other", "1"])
                    } else {
                        c.cmd(&["BLMOVE", "work", "done", "RIGHT", "LEFT", "1"])
                    };
                    if r == "*-1\r\n" {
                        break;
                    }
                    let v = r.rsplit("\r\n").nth(1).unwrap_or("").to_string();
                    got.push(v);
                }
                got
            })
        })
        .collect();
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            std::thread::spawn(move || {
                let mut c = Conn::new(port);
                for i in 0..PER {
                    let v = format!("p{}-{}", p, i);
                    let key = if i % 7 == 0 { "other" } else { "work" };
                    let r = c.cmd(&["RPUSH", key, &v]);
                    assert!(r.starts_with(':'), "{}", r);
                }
            })
        })
        .collect();
    for p in producers {
        p.join().expect("producer");
    }
    let mut seen = HashSet::new();
    let mut total = 0;
    for c in consumers {
        for v in c.join().expect("consumer") {
            assert!(seen.insert(v.clone()), "delivered twice: {}", v);
            total += 1;
        }
    }
    // Whatever was not consumed before the consumers timed out is still there.
    let mut c = s.conn();
    for key in ["work", "other"] {
        let r = c.cmd(&["LRANGE", key, "0", "-1"]);
        for v in r.split("\r\n").filter(|x| x.starts_with('p')) {
            assert!(seen.insert(v.to_string()), "duplicated: {}", v);
            total += 1;
        }
    }
    assert_eq!(total, PRODUCERS * PER);
    // Moved elements are also in `done`.
    let done = c.cmd(&["LLEN", "done"]);
    assert!(done.starts_with(':'), "{}", done);
}
