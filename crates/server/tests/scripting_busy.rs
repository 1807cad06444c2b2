//! Scripts while other connections share the worker (`--threads 1`):
//! BUSY replies, SCRIPT KILL / FUNCTION KILL, UNKILLABLE after a write,
//! SHUTDOWN NOSAVE, frozen time and the maxmemory rules for scripts.

mod common;

use common::Server;
use std::time::{Duration, Instant};

const BUSY_EVAL: &str =
    "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n";
const BUSY_FUNCTION: &str =
    "-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.\r\n";
const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";
const SPIN: &[u8] = b"local i = 0 while true do i = i + 1 end";

fn one_worker() -> Server {
    Server::start(&["--threads", "1", "--busy-reply-threshold", "100"])
}

#[test]
fn busy_on_the_same_worker_and_script_kill() {
    let s = one_worker();
    let mut runner = s.conn();
    let mut other = s.conn();
    let mut killer = s.conn();
    assert_eq!(other.cmd(&["SET", "x", "1"]), "+OK\r\n");
    runner.send(&[b"EVAL", SPIN, b"0"]);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(other.cmd(&["GET", "x"]), BUSY_EVAL);
    assert_eq!(other.cmd(&["PING"]), BUSY_EVAL);
    // Unknown commands and arity errors are answered as usual.
    assert!(other
        .cmd(&["NOSUCHCMD"])
        .starts_with("-ERR unknown command 'NOSUCHCMD'"));
    assert_eq!(
        other.cmd(&["GET"]),
        "-ERR wrong number of arguments for 'get' command\r\n"
    );
    assert_eq!(other.cmd(&["FUNCTION", "STATS"]), BUSY_EVAL);
    assert_eq!(other.cmd(&["SHUTDOWN"]), BUSY_EVAL);
    assert_eq!(other.cmd(&["SHUTDOWN", "NOW"]), BUSY_EVAL);
    assert_eq!(
        other.cmd(&["SHUTDOWN", "NOSAVE", "SAVE"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(other.cmd(&["SHUTDOWN", "FOO"]), "-ERR syntax error\r\n");
    assert_eq!(
        other.cmd(&["SHUTDOWN", "ABORT"]),
        "-ERR No shutdown in progress.\r\n"
    );
    assert_eq!(other.cmd(&["FUNCTION", "KILL"]), BUSY_EVAL);
    // Connection set-up is served.
    assert_eq!(
        other.cmd(&["AUTH", "nopass"]),
        "-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n"
    );
    assert!(other
        .cmd(&["HELLO", "3"])
        .starts_with("%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n"));
    assert_eq!(other.cmd(&["HELLO", "2"]).get(..4), Some("*14\r"));
    // A transaction opened while busy is discarded at EXEC.
    assert_eq!(other.cmd(&["MULTI"]), "+OK\r\n");
    assert_eq!(other.cmd(&["INCR", "x"]), BUSY_EVAL);
    assert_eq!(
        other.cmd(&["EXEC"]),
        format!(
            "-EXECABORT Transaction discarded because of: {}",
            &BUSY_EVAL[1..]
        )
    );
    assert_eq!(killer.cmd(&["SCRIPT", "KILL"]), "+OK\r\n");
    let r = runner.read_reply();
    assert!(
        r.starts_with("-ERR Script killed by user with SCRIPT KILL... script: "),
        "{}",
        r
    );
    assert_eq!(other.cmd(&["GET", "x"]), "$1\r\n1\r\n");
    assert_eq!(runner.cmd(&["PING"]), "+PONG\r\n");
    assert_eq!(
        killer.cmd(&["SCRIPT", "KILL"]),
        "-NOTBUSY No scripts in execution right now.\r\n"
    );
}

#[test]
fn requests_before_the_threshold_wait_for_the_script() {
    let s = Server::start(&["--threads", "1", "--busy-reply-threshold", "5000"]);
    let mut runner = s.conn();
    let mut other = s.conn();
    runner.send(&[
        b"EVAL",
        b"redis.call('set','k','v') local t = os.clock() while os.clock() - t < 0.4 do end return 1",
        b"0",
    ]);
    std::thread::sleep(Duration::from_millis(100));
    let t = Instant::now();
    // Served after the script, with its effects visible.
    assert_eq!(other.cmd(&["GET", "k"]), "$1\r\nv\r\n");
    assert!(t.elapsed() >= Duration::from_millis(150));
    assert_eq!(runner.read_reply(), ":1\r\n");
}

#[test]
fn unkillable_after_a_write() {
    let s = one_worker();
    let mut runner = s.conn();
    let mut other = s.conn();
    runner.send(&[
        b"EVAL",
        b"redis.call('set','w','1') local t = os.clock() while os.clock() - t < 0.7 do end return 7",
        b"0",
    ]);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        other.cmd(&["SCRIPT", "KILL"]),
        "-UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.\r\n"
    );
    assert_eq!(other.cmd(&["GET", "w"]), BUSY_EVAL);
    assert_eq!(runner.read_reply(), ":7\r\n");
    assert_eq!(other.cmd(&["GET", "w"]), "$1\r\n1\r\n");
}

#[test]
fn functions_busy_stats_and_kill() {
    let s = one_worker();
    let mut runner = s.conn();
    let mut other = s.conn();
    assert_eq!(
        runner.cmd(&[
            "FUNCTION",
            "LOAD",
            "#!lua name=spin\nredis.register_function('spin', function() while true do end end)"
        ]),
        "$4\r\nspin\r\n"
    );
    runner.send(&[b"FCALL", b"spin", b"0"]);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(other.cmd(&["PING"]), BUSY_FUNCTION);
    assert_eq!(other.cmd(&["SCRIPT", "KILL"]), BUSY_FUNCTION);
    let stats = other.cmd(&["FUNCTION", "STATS"]);
    assert!(
        stats.starts_with(
            "*4\r\n$14\r\nrunning_script\r\n*6\r\n$4\r\nname\r\n$4\r\nspin\r\n$7\r\ncommand\r\n*3\r\n$5\r\nFCALL\r\n$4\r\nspin\r\n$1\r\n0\r\n$11\r\nduration_ms\r\n:"
        ),
        "{}",
        stats
    );
    assert!(stats.ends_with(
        "$7\r\nengines\r\n*2\r\n$3\r\nLUA\r\n*4\r\n$15\r\nlibraries_count\r\n:1\r\n$15\r\nfunctions_count\r\n:1\r\n"
    ));
    assert_eq!(other.cmd(&["FUNCTION", "KILL"]), "+OK\r\n");
    assert_eq!(
        runner.read_reply(),
        "-ERR Script killed by user with SCRIPT KILL... script: spin, on @user_function:2.\r\n"
    );
    assert_eq!(other.cmd(&["PING"]), "+PONG\r\n");
}

#[test]
fn scripts_inside_multi_exec() {
    let s = one_worker();
    let mut runner = s.conn();
    let mut other = s.conn();
    assert_eq!(runner.cmd(&["MULTI"]), "+OK\r\n");
    assert_eq!(runner.cmd(&["SET", "a", "1"]), "+QUEUED\r\n");
    assert_eq!(
        runner.cmd(&[
            "EVAL",
            SPIN.iter().map(|&c| c as char).collect::<String>().as_str(),
            "0"
        ]),
        "+QUEUED\r\n"
    );
    runner.send(&[b"EXEC"]);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(other.cmd(&["GET", "a"]), BUSY_EVAL);
    // The transaction wrote before the script: SCRIPT KILL still stops a
    // script that itself wrote nothing.
    assert_eq!(other.cmd(&["SCRIPT", "KILL"]), "+OK\r\n");
    let r = runner.read_reply();
    assert!(
        r.starts_with("*2\r\n+OK\r\n-ERR Script killed by user with SCRIPT KILL..."),
        "{}",
        r
    );
    assert_eq!(other.cmd(&["GET", "a"]), "$1\r\n1\r\n");
    // SELECT inside a script doesn't leak out of it.
    assert_eq!(
        runner.cmd(&[
            "EVAL",
            "redis.call('select', 5) return redis.call('set', 'in5', 'x')",
            "0"
        ]),
        "+OK\r\n"
    );
    assert_eq!(runner.cmd(&["EXISTS", "in5"]), ":0\r\n");
    assert_eq!(runner.cmd(&["SELECT", "5"]), "+OK\r\n");
    assert_eq!(runner.cmd(&["EXISTS", "in5"]), ":1\r\n");
}

#[test]
fn shutdown_nosave_while_busy() {
    let s = Server::start(&[
        "--threads",
        "1",
        "--busy-reply-threshold",
        "100",
        "--save",
        "1 1",
    ]);
    let mut runner = s.conn();
    let mut other = s.conn();
    assert_eq!(other.cmd(&["SET", "k", "v"]), "+OK\r\n");
    runner.send(&[
        b"EVAL",
        b"redis.call('set','w','1') while true do end",
        b"0",
    ]);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(other.cmd(&["SHUTDOWN"]), BUSY_EVAL);
    other.send(&[b"SHUTDOWN", b"NOSAVE"]);
    assert!(other.is_closed());
    assert!(runner.is_closed());
    // The server is gone and saved nothing.
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::net::TcpStream::connect(("127.0.0.1", s.port)).is_ok() {
        assert!(Instant::now() < deadline, "server still accepting");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!s.dir.join("dump.rdb").exists());
}

#[test]
fn time_is_frozen_inside_a_script() {
    let s = one_worker();
    let mut c = s.conn();
    // TIME answers the script's start time for the whole run.
    let r = c.cmd(&[
        "EVAL",
        "local a = redis.call('TIME') local t = os.clock() while os.clock() - t < 0.05 do end local b = redis.call('TIME') return {a[1] == b[1] and a[2] == b[2] and 1 or 0, #a}",
        "0",
    ]);
    assert_eq!(r, "*2\r\n:1\r\n:2\r\n");
    // A key that expires while the script runs is still there for it.
    assert_eq!(c.cmd(&["SET", "e", "1", "PX", "100"]), "+OK\r\n");
    let r = c.cmd(&[
        "EVAL",
        "local t = os.clock() while os.clock() - t < 0.25 do end return {redis.call('exists', KEYS[1]), redis.call('get', KEYS[1])}",
        "1",
        "e",
    ]);
    assert_eq!(r, "*2\r\n:1\r\n$1\r\n1\r\n");
    assert_eq!(c.cmd(&["EXISTS", "e"]), ":0\r\n");
}

#[test]
fn scripts_over_maxmemory() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(c.cmd(&["SET", "foo", "bar"]), "+OK\r\n");
    assert_eq!(c.cmd(&["CONFIG", "SET", "maxmemory", "1"]), "+OK\r\n");
    // No shebang: the first deny-oom command fails inside the script...
    let r = c.cmd(&["EVAL", "return redis.call('set','x','y')", "0"]);
    assert!(
        r.starts_with(&format!("-{} script: ", OOM)) && r.ends_with(", on @user_script:1.\r\n"),
        "{}",
        r
    );
    assert_eq!(
        c.cmd(&["EVAL", "return redis.pcall('set','x','y')", "0"]),
        format!("-{}\r\n", OOM)
    );
    assert_eq!(
        c.cmd(&["EVAL", "return redis.call('get','foo')", "0"]),
        "$3\r\nbar\r\n"
    );
    // ...but not after the script has written.
    assert_eq!(
        c.cmd(&[
            "EVAL",
            "redis.call('del','foo') return redis.call('set','x','y')",
            "0"
        ]),
        "+OK\r\n"
    );
    // With flags: refused up front unless allow-oom or no-writes.
    assert_eq!(
        c.cmd(&["EVAL", "#!lua\nreturn redis.call('get','x')", "0"]),
        format!("-{}\r\n", OOM)
    );
    assert_eq!(
        c.cmd(&[
            "EVAL",
            "#!lua flags=no-writes\nreturn redis.call('get','x')",
            "0"
        ]),
        "$1\r\ny\r\n"
    );
    assert_eq!(
        c.cmd(&[
            "EVAL",
            "#!lua flags=allow-oom\nreturn redis.call('set','z','1')",
            "0"
        ]),
        "+OK\r\n"
    );
    assert_eq!(
        c.cmd(&["EVAL_RO", "return redis.call('get','z')", "0"]),
        "$1\r\n1\r\n"
    );
    assert_eq!(c.cmd(&["CONFIG", "SET", "maxmemory", "0"]), "+OK\r\n");
    assert_eq!(
        c.cmd(&[
            "FUNCTION",
            "LOAD",
            "#!lua name=lib\nredis.register_function('w', function() return redis.call('set','f','1') end)\nredis.register_function{function_name='oom', callback=function() return redis.call('set','f','2') end, flags={'allow-oom'}}"
        ]),
        "$3\r\nlib\r\n"
    );
    assert_eq!(c.cmd(&["CONFIG", "SET", "maxmemory", "1"]), "+OK\r\n");
    assert_eq!(c.cmd(&["FCALL", "w", "0"]), format!("-{}\r\n", OOM));
    assert_eq!(c.cmd(&["FCALL", "oom", "0"]), "+OK\r\n");
    assert_eq!(c.cmd(&["CONFIG", "SET", "maxmemory", "0"]), "+OK\r\n");
    assert_eq!(c.cmd(&["GET", "f"]), "$1\r\n2\r\n");
}

#[test]
fn function_load_time_limit() {
    let s = one_worker();
    let mut c = s.conn();
    let t = Instant::now();
    assert_eq!(
        c.cmd(&["FUNCTION", "LOAD", "#!lua name=x\nwhile true do end"]),
        "-ERR Error registering functions: ERR FUNCTION LOAD timeout\r\n"
    );
    assert!(t.elapsed() < Duration::from_secs(3));
    assert_eq!(
        c.cmd(&[
            "FUNCTION",
            "LOAD",
            "#!lua name=y\nredis.register_function('f', function() return 1 end)"
        ]),
        "$1\r\ny\r\n"
    );
    assert_eq!(c.cmd(&["FCALL", "f", "0"]), ":1\r\n");
}
