//! MULTI/EXEC/DISCARD/WATCH over TCP, including isolation across threads.
mod common;
use common::*;

#[test]
fn exec_runs_queue_and_reports_each_reply() {
    let s = Server::start(&["--threads", "2"]);
    let mut c = s.conn();
    assert_eq!(c.cmd(&["MULTI"]), "+OK\r\n");
    assert_eq!(c.cmd(&["SET", "a", "1"]), "+QUEUED\r\n");
    assert_eq!(c.cmd(&["INCR", "a"]), "+QUEUED\r\n");
    assert_eq!(c.cmd(&["LPUSH", "a", "x"]), "+QUEUED\r\n");
    assert_eq!(c.cmd(&["GET", "a"]), "+QUEUED\r\n");
    assert_eq!(
        c.cmd(&["EXEC"]),
        "*4\r\n+OK\r\n:2\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n$1\r\n2\r\n"
    );
    assert_eq!(c.cmd(&["EXEC"]), "-ERR EXEC without MULTI\r\n");
    assert_eq!(c.cmd(&["DISCARD"]), "-ERR DISCARD without MULTI\r\n");
}

#[test]
fn queuing_errors_abort() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    c.cmd(&["MULTI"]);
    assert_eq!(c.cmd(&["MULTI"]), "-ERR MULTI calls can not be nested\r\n");
    assert_eq!(
        c.cmd(&["WATCH", "x"]),
        "-ERR WATCH inside MULTI is not allowed\r\n"
    );
    assert_eq!(
        c.cmd(&["SET", "a"]),
        "-ERR wrong number of arguments for 'set' command\r\n"
    );
    assert_eq!(c.cmd(&["SET", "a", "1"]), "+QUEUED\r\n");
    assert_eq!(
        c.cmd(&["EXEC"]),
        "-EXECABORT Transaction discarded because of previous errors.\r\n"
    );
    assert_eq!(c.cmd(&["GET", "a"]), "$-1\r\n");
    c.cmd(&["MULTI"]);
    c.cmd(&["SET", "a", "1"]);
    assert_eq!(c.cmd(&["DISCARD"]), "+OK\r\n");
    assert_eq!(c.cmd(&["GET", "a"]), "$-1\r\n");
}

#[test]
fn watch_is_invalidated_by_other_clients() {
    let s = Server::start(&["--threads", "2"]);
    let mut a = s.conn();
    let mut b = s.conn();
    a.cmd(&["SET", "k", "1"]);
    assert_eq!(a.cmd(&["WATCH", "k"]), "+OK\r\n");
    b.cmd(&["SET", "k", "2"]);
    a.cmd(&["MULTI"]);
    a.cmd(&["SET", "k", "3"]);
    assert_eq!(a.cmd(&["EXEC"]), "*-1\r\n");
    assert_eq!(a.cmd(&["GET", "k"]), bulk("2"));
    // Untouched watch: EXEC goes through, and UNWATCH forgets.
    a.cmd(&["WATCH", "k"]);
    a.cmd(&["MULTI"]);
    a.cmd(&["SET", "k", "4"]);
    assert_eq!(a.cmd(&["EXEC"]), "*1\r\n+OK\r\n");
    a.cmd(&["WATCH", "k"]);
    b.cmd(&["SET", "k", "5"]);
    assert_eq!(a.cmd(&["UNWATCH"]), "+OK\r\n");
    a.cmd(&["MULTI"]);
    a.cmd(&["SET", "k", "6"]);
    assert_eq!(a.cmd(&["EXEC"]), "*1\r\n+OK\r\n");
    // RESP3 null for an aborted EXEC.
    a.cmd(&["HELLO", "3"]);
    a.cmd(&["WATCH", "k"]);
    b.cmd(&["DEL", "k"]);
    a.cmd(&["MULTI"]);
    a.cmd(&["GET", "k"]);
    assert_eq!(a.cmd(&["EXEC"]), "_\r\n");
}

#[test]
fn watched_key_expiring_aborts() {
    let s = Server::start(&[]);
    let mut a = s.conn();
    a.cmd(&["SET", "k", "1", "PX", "50"]);
    a.cmd(&["WATCH", "k"]);
    std::thread::sleep(std::time::Duration::from_millis(120));
    a.cmd(&["MULTI"]);
    a.cmd(&["GET", "k"]);
    assert_eq!(a.cmd(&["EXEC"]), "*-1\r\n");
}

#[test]
fn transactions_are_isolated_across_threads() {
    let s = Server::start(&["--threads", "4"]);
    let port = s.port;
    let writers: Vec<_> = (0..3)
        .map(|_| {
            std::thread::spawn(move || {
                let mut c = Conn::new(port);
                for _ in 0..300 {
                    c.cmd(&["MULTI"]);
                    c.cmd(&["INCR", "x"]);
                    c.cmd(&["INCR", "y"]);
                    c.cmd(&["INCR", "z"]);
                    let r = c.cmd(&["EXEC"]);
                    assert!(r.starts_with("*3\r\n"), "{r}");
                }
            })
        })
        .collect();
    let mut r = s.conn();
    for _ in 0..300 {
        let got = r.cmd(&["MGET", "x", "y", "z"]);
        let vals: Vec<&str> = got
            .split("\r\n")
            .filter(|l| !l.is_empty() && !l.starts_with('*') && !l.starts_with('$'))
            .collect();
        assert!(
            vals.windows(2).all(|w| w[0] == w[1]),
            "saw a half-applied transaction: {got:?}"
        );
    }
    for w in writers {
        w.join().expect("writer");
    }
    assert_eq!(r.cmd(&["GET", "z"]), bulk("900"));
}
