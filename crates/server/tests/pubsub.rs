//! Pub/sub over TCP: replies in RESP2 and RESP3, pattern delivery, ordering
//! across worker threads, subscribed-mode restrictions.
mod common;
use common::*;

#[test]
fn subscribe_publish_unsubscribe_resp2() {
    let s = Server::start(&["--threads", "2"]);
    let mut sub = s.conn();
    let mut publ = s.conn();
    assert_eq!(
        sub.cmd(&["SUBSCRIBE", "a", "b"]),
        "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n"
    );
    assert_eq!(
        sub.read_reply(),
        "*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n"
    );
    assert_eq!(
        sub.cmd(&["PSUBSCRIBE", "h?llo"]),
        "*3\r\n$10\r\npsubscribe\r\n$5\r\nh?llo\r\n:3\r\n"
    );
    assert_eq!(publ.cmd(&["PUBLISH", "a", "hi"]), ":1\r\n");
    assert_eq!(
        sub.read_reply(),
        "*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$2\r\nhi\r\n"
    );
    assert_eq!(publ.cmd(&["PUBLISH", "hello", "x"]), ":1\r\n");
    assert_eq!(
        sub.read_reply(),
        "*4\r\n$8\r\npmessage\r\n$5\r\nh?llo\r\n$5\r\nhello\r\n$1\r\nx\r\n"
    );
    assert_eq!(
        sub.cmd(&["GET", "a"]),
        "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n"
    );
    assert_eq!(sub.cmd(&["PING"]), "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    assert_eq!(
        publ.cmd(&["PUBSUB", "NUMSUB", "a", "zz"]),
        "*4\r\n$1\r\na\r\n:1\r\n$2\r\nzz\r\n:0\r\n"
    );
    assert_eq!(publ.cmd(&["PUBSUB", "NUMPAT"]), ":1\r\n");
    assert_eq!(
        sub.cmd(&["UNSUBSCRIBE", "a"]),
        "*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:2\r\n"
    );
    assert_eq!(
        sub.cmd(&["UNSUBSCRIBE"]),
        "*3\r\n$11\r\nunsubscribe\r\n$1\r\nb\r\n:1\r\n"
    );
    assert_eq!(
        sub.cmd(&["PUNSUBSCRIBE"]),
        "*3\r\n$12\r\npunsubscribe\r\n$5\r\nh?llo\r\n:0\r\n"
    );
    assert_eq!(
        sub.cmd(&["UNSUBSCRIBE"]),
        "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n"
    );
    assert_eq!(sub.cmd(&["PING"]), "+PONG\r\n");
    drop(sub);
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert_eq!(publ.cmd(&["PUBLISH", "a", "hi"]), ":0\r\n");
}

#[test]
fn resp3_push_messages() {
    let s = Server::start(&[]);
    let mut sub = s.conn();
    let mut publ = s.conn();
    sub.cmd(&["HELLO", "3"]);
    assert_eq!(
        sub.cmd(&["SUBSCRIBE", "c"]),
        ">3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n"
    );
    publ.cmd(&["PUBLISH", "c", "m"]);
    assert_eq!(
        sub.read_reply(),
        ">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n"
    );
    // RESP3 clients may run any command while subscribed.
    assert_eq!(sub.cmd(&["ECHO", "x"]), bulk("x"));
    assert_eq!(
        sub.cmd(&["SSUBSCRIBE", "s"]),
        ">3\r\n$10\r\nssubscribe\r\n$1\r\ns\r\n:1\r\n"
    );
    assert_eq!(publ.cmd(&["SPUBLISH", "s", "z"]), ":1\r\n");
    assert_eq!(
        sub.read_reply(),
        ">3\r\n$8\r\nsmessage\r\n$1\r\ns\r\n$1\r\nz\r\n"
    );
}

#[test]
fn messages_arrive_complete_and_in_order_across_threads() {
    let s = Server::start(&["--threads", "4"]);
    let n = 3000;
    let mut subs: Vec<Conn> = (0..4).map(|_| s.conn()).collect();
    for c in subs.iter_mut() {
        c.cmd(&["SUBSCRIBE", "ch"]);
    }
    let port = s.port;
    let publishers: Vec<_> = (0..2)
        .map(|p| {
            std::thread::spawn(move || {
                let mut c = Conn::new(port);
                for i in 0..n {
                    let m = format!("{p}:{i}");
                    assert_eq!(c.cmd(&["PUBLISH", "ch", &m]), ":4\r\n");
                }
            })
        })
        .collect();
    for p in publishers {
        p.join().expect("publisher");
    }
    for c in subs.iter_mut() {
        let mut next = [0usize; 2];
        for _ in 0..2 * n {
            let r = c.read_reply();
            let payload = r.rsplit("\r\n").nth(1).expect("payload").to_string();
            let (p, i) = payload.split_once(':').expect("p:i");
            let p: usize = p.parse().expect("p");
            let i: usize = i.parse().expect("i");
            assert_eq!(i, next[p], "out of order from publisher {p}");
            next[p] += 1;
        }
    }
}

#[test]
fn keyspace_notifications() {
    let s = Server::start(&["--notify-keyspace-events", "KEA"]);
    let mut sub = s.conn();
    let mut c = s.conn();
    sub.cmd(&["PSUBSCRIBE", "__key*__:*"]);
    c.cmd(&["SET", "foo", "bar"]);
    assert_eq!(
        sub.read_reply(),
        "*4\r\n$8\r\npmessage\r\n$10\r\n__key*__:*\r\n$18\r\n__keyspace@0__:foo\r\n$3\r\nset\r\n"
    );
    assert_eq!(
        sub.read_reply(),
        "*4\r\n$8\r\npmessage\r\n$10\r\n__key*__:*\r\n$18\r\n__keyevent@0__:set\r\n$3\r\nfoo\r\n"
    );
}
