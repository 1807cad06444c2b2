//! Smoke tests for the connection loop: PING, pipelining, protocol errors.
mod common;
use common::*;

#[test]
fn ping_echo_pipeline() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(c.cmd(&["PING"]), "+PONG\r\n");
    assert_eq!(c.cmd(&["echo", "hi"]), bulk("hi"));
    let mut batch = Vec::new();
    for _ in 0..10000 {
        batch.extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
    }
    c.send_raw(&batch);
    for _ in 0..10000 {
        assert_eq!(c.read_reply(), "+PONG\r\n");
    }
    c.send_raw(b"PING\r\n");
    assert_eq!(c.read_reply(), "+PONG\r\n");
}

#[test]
fn protocol_error_closes_only_that_connection() {
    let s = Server::start(&[]);
    let mut good = s.conn();
    let mut bad = s.conn();
    bad.send_raw(b"*1\r\n$4\r\nPING\r\n*1\r\n+foo\r\n");
    assert_eq!(bad.read_reply(), "+PONG\r\n");
    assert_eq!(
        bad.read_reply(),
        "-ERR Protocol error: expected '$', got '+'\r\n"
    );
    assert!(bad.is_closed());
    assert_eq!(good.cmd(&["PING"]), "+PONG\r\n");
    let mut bad2 = s.conn();
    bad2.send_raw(b"*abc\r\n");
    assert_eq!(
        bad2.read_reply(),
        "-ERR Protocol error: invalid multibulk length\r\n"
    );
    let mut bad3 = s.conn();
    bad3.send_raw(b"SET a \"b\r\n");
    assert_eq!(
        bad3.read_reply(),
        "-ERR Protocol error: unbalanced quotes in request\r\n"
    );
    assert_eq!(good.cmd(&["PING"]), "+PONG\r\n");
}
