//! Connection and server/admin commands against the real binary: HELLO,
//! AUTH, RESET, CLIENT, CONFIG, INFO, MONITOR, SLOWLOG, DEBUG, SHUTDOWN.
mod common;
use common::*;
use std::io::{BufRead, Read};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// The integer of a `:n\r\n` reply.
fn int_of(reply: &str) -> i64 {
    reply
        .trim_start_matches(':')
        .trim_end()
        .parse()
        .expect("integer reply")
}

/// The text of a bulk or verbatim reply.
fn text_of(reply: &str) -> String {
    let body = reply.split_once("\r\n").map(|x| x.1).unwrap_or("");
    let body = body.strip_suffix("\r\n").unwrap_or(body);
    body.strip_prefix("txt:").unwrap_or(body).to_string()
}

fn hello_map(proto: u8, id: i64) -> String {
    let head = if proto == 3 { "%7" } else { "*14" };
    format!(
        "{}\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.2.4\r\n$5\r\nproto\r\n:{}\r\n$2\r\nid\r\n:{}\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n",
        head, proto, id
    )
}

#[test]
fn hello_switches_protocol() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let id = int_of(&c.cmd(&["CLIENT", "ID"]));
    assert_eq!(c.cmd(&["HELLO"]), hello_map(2, id));
    assert_eq!(c.cmd(&["HELLO", "3"]), hello_map(3, id));
    // RESP3 now: maps, nulls and verbatim strings.
    assert_eq!(c.cmd(&["CLIENT", "GETNAME"]), "_\r\n");
    assert!(c.cmd(&["INFO", "server"]).starts_with('='));
    assert_eq!(
        c.cmd(&["HELLO", "4"]),
        "-NOPROTO unsupported protocol version\r\n"
    );
    assert_eq!(
        c.cmd(&["HELLO", "x"]),
        "-ERR Protocol version is not an integer or out of range\r\n"
    );
    assert_eq!(
        c.cmd(&["HELLO", "3", "FOO"]),
        "-ERR Syntax error in HELLO option 'FOO'\r\n"
    );
    assert_eq!(
        c.cmd(&["HELLO", "3", "SETNAME", "a b"]),
        "-ERR Client names cannot contain spaces, newlines or special characters.\r\n"
    );
    assert_eq!(c.cmd(&["HELLO", "2", "SETNAME", "me"]), hello_map(2, id));
    assert_eq!(c.cmd(&["CLIENT", "GETNAME"]), bulk("me"));
    // No password configured: any password is accepted for "default".
    assert_eq!(
        c.cmd(&["HELLO", "3", "AUTH", "default", "whatever"]),
        hello_map(3, id)
    );
    assert_eq!(c.cmd(&["RESET"]), "+RESET\r\n");
    assert_eq!(c.cmd(&["CLIENT", "GETNAME"]), "$-1\r\n");
}

#[test]
fn auth_and_requirepass() {
    let s = Server::start(&["--requirepass", "s3cret"]);
    let mut c = s.conn();
    assert_eq!(c.cmd(&["PING"]), "-NOAUTH Authentication required.\r\n");
    assert_eq!(
        c.cmd(&["HELLO", "3"]),
        "-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\r\n"
    );
    let wrongpass = "-WRONGPASS invalid username-password pair or user is disabled.\r\n";
    assert_eq!(c.cmd(&["AUTH", "nope"]), wrongpass);
    assert_eq!(c.cmd(&["AUTH", "default", "nope"]), wrongpass);
    assert_eq!(c.cmd(&["AUTH", "other", "s3cret"]), wrongpass);
    assert_eq!(c.cmd(&["HELLO", "3", "AUTH", "default", "nope"]), wrongpass);
    assert_eq!(c.cmd(&["AUTH", "a", "b", "c"]), "-ERR syntax error\r\n");
    assert_eq!(c.cmd(&["AUTH", "s3cret"]), "+OK\r\n");
    assert_eq!(c.cmd(&["PING"]), "+PONG\r\n");
    // RESET logs the connection out again.
    assert_eq!(c.cmd(&["RESET"]), "+RESET\r\n");
    assert_eq!(c.cmd(&["PING"]), "-NOAUTH Authentication required.\r\n");
    let id = int_of(&{
        assert_eq!(c.cmd(&["AUTH", "default", "s3cret"]), "+OK\r\n");
        c.cmd(&["CLIENT", "ID"])
    });
    assert_eq!(c.cmd(&["RESET"]), "+RESET\r\n");
    assert_eq!(
        c.cmd(&["HELLO", "3", "AUTH", "default", "s3cret"]),
        hello_map(3, id)
    );
    assert_eq!(c.cmd(&["PING"]), "+PONG\r\n");

    // Unauthenticated clients can't announce big requests.
    let mut u = s.conn();
    u.send_raw(b"*1\r\n$20000\r\n");
    assert_eq!(
        u.read_reply(),
        "-ERR Protocol error: unauthenticated bulk length\r\n"
    );
    assert!(u.is_closed());
    let mut u = s.conn();
    u.send_raw(b"*20000\r\n");
    assert_eq!(
        u.read_reply(),
        "-ERR Protocol error: unauthenticated multibulk length\r\n"
    );

    let info = text_of(&c.cmd(&["INFO", "stats"]));
    assert!(info.contains("acl_access_denied_auth:4\r\n"), "{}", info);
}

#[test]
fn auth_without_password_configured() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(
        c.cmd(&["AUTH", "x"]),
        "-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n"
    );
    assert_eq!(c.cmd(&["AUTH", "default", "x"]), "+OK\r\n");
}

const CLIENT_FIELDS: &[&str] = &[
    "id",
    "addr",
    "laddr",
    "fd",
    "name",
    "age",
    "idle",
    "flags",
    "db",
    "sub",
    "psub",
    "ssub",
    "multi",
    "qbuf",
    "qbuf-free",
    "argv-mem",
    "multi-mem",
    "rbs",
    "rbp",
    "obl",
    "oll",
    "omem",
    "tot-mem",
    "events",
    "cmd",
    "user",
    "redir",
    "resp",
    "lib-name",
    "lib-ver",
];

fn fields(line: &str) -> Vec<(String, String)> {
    line.split(' ')
        .map(|kv| {
            let (k, v) = kv.split_once('=').expect("field=value");
            (k.to_string(), v.to_string())
        })
        .collect()
}

fn field<'a>(f: &'a [(String, String)], k: &str) -> &'a str {
    f.iter()
        .find(|(n, _)| n == k)
        .map(|(_, v)| v.as_str())
        .unwrap_or("?")
}

#[test]
fn client_list_and_info_fields() {
    let s = Server::start(&[]);
    let mut a = s.conn();
    let mut b = s.conn();
    let id_a = int_of(&a.cmd(&["CLIENT", "ID"]));
    let id_b = int_of(&b.cmd(&["CLIENT", "ID"]));
    assert_eq!(a.cmd(&["CLIENT", "SETNAME", "alpha"]), "+OK\r\n");
    assert_eq!(
        a.cmd(&["CLIENT", "SETINFO", "LIB-NAME", "spinel-test"]),
        "+OK\r\n"
    );
    assert_eq!(a.cmd(&["CLIENT", "SETINFO", "lib-ver", "1.2"]), "+OK\r\n");
    assert_eq!(a.cmd(&["SELECT", "3"]), "+OK\r\n");
    assert_eq!(b.cmd(&["MULTI"]), "+OK\r\n");
    assert_eq!(b.cmd(&["PING"]), "+QUEUED\r\n");

    let list = text_of(&a.cmd(&["CLIENT", "LIST"]));
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 2, "{}", list);
    for l in &lines {
        let f = fields(l);
        let names: Vec<&str> = f.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, CLIENT_FIELDS);
    }
    let fa = fields(
        lines
            .iter()
            .find(|l| l.starts_with(&format!("id={} ", id_a)))
            .expect("a"),
    );
    assert_eq!(field(&fa, "name"), "alpha");
    assert_eq!(field(&fa, "db"), "3");
    assert_eq!(field(&fa, "flags"), "N");
    assert_eq!(field(&fa, "cmd"), "client|list");
    assert_eq!(field(&fa, "user"), "default");
    assert_eq!(field(&fa, "resp"), "2");
    assert_eq!(field(&fa, "lib-name"), "spinel-test");
    assert_eq!(field(&fa, "lib-ver"), "1.2");
    assert_eq!(field(&fa, "laddr"), format!("127.0.0.1:{}", s.port));
    let fb = fields(
        lines
            .iter()
            .find(|l| l.starts_with(&format!("id={} ", id_b)))
            .expect("b"),
    );
    assert_eq!(field(&fb, "flags"), "x");
    assert_eq!(field(&fb, "multi"), "1");
    assert_eq!(field(&fb, "cmd"), "multi");

    // CLIENT INFO is the caller's own line, newline-terminated.
    let info = text_of(&a.cmd(&["CLIENT", "INFO"]));
    assert!(info.ends_with('\n'));
    assert_eq!(field(&fields(info.trim_end()), "cmd"), "client|info");

    let only_b = text_of(&a.cmd(&["CLIENT", "LIST", "ID", &id_b.to_string(), "999"]));
    assert_eq!(only_b.lines().count(), 1);
    assert!(only_b.starts_with(&format!("id={} ", id_b)));
    assert_eq!(text_of(&a.cmd(&["CLIENT", "LIST", "TYPE", "pubsub"])), "");
    assert_eq!(
        a.cmd(&["CLIENT", "LIST", "TYPE", "bogus"]),
        "-ERR Unknown client type 'bogus'\r\n"
    );
    assert_eq!(
        a.cmd(&["CLIENT", "LIST", "ID", "x"]),
        "-ERR Invalid client ID\r\n"
    );
    assert_eq!(
        a.cmd(&["CLIENT", "SETNAME", "has space"]),
        "-ERR Client names cannot contain spaces, newlines or special characters.\r\n"
    );
    assert_eq!(
        a.cmd(&["CLIENT", "SETINFO", "lib-name", "a b"]),
        "-ERR lib-name cannot contain spaces, newlines or special characters.\r\n"
    );
    assert_eq!(
        a.cmd(&["CLIENT", "SETINFO", "color", "red"]),
        "-ERR Unrecognized option 'color'\r\n"
    );
    assert_eq!(a.cmd(&["CLIENT", "NO-TOUCH", "on"]), "+OK\r\n");
    assert_eq!(a.cmd(&["CLIENT", "NO-EVICT", "on"]), "+OK\r\n");
    let info = text_of(&a.cmd(&["CLIENT", "INFO"]));
    assert_eq!(field(&fields(info.trim_end()), "flags"), "eT");
}

#[test]
fn client_kill_other_connection() {
    let s = Server::start(&[]);
    let mut killer = s.conn();
    let mut victim = s.conn();
    let vid = int_of(&victim.cmd(&["CLIENT", "ID"]));
    assert_eq!(
        killer.cmd(&["CLIENT", "KILL", "ID", &vid.to_string()]),
        ":1\r\n"
    );
    assert!(victim.is_closed());
    // Gone from the list at once.
    let list = text_of(&killer.cmd(&["CLIENT", "LIST"]));
    assert!(!list.contains(&format!("id={} ", vid)), "{}", list);
    assert_eq!(
        killer.cmd(&["CLIENT", "KILL", "ID", &vid.to_string()]),
        ":0\r\n"
    );
    assert_eq!(
        killer.cmd(&["CLIENT", "KILL", "1.2.3.4:5"]),
        "-ERR No such client\r\n"
    );
    assert_eq!(
        killer.cmd(&["CLIENT", "KILL", "ID", "0"]),
        "-ERR client-id should be greater than 0\r\n"
    );
    assert_eq!(
        killer.cmd(&["CLIENT", "KILL", "USER", "nobody"]),
        "-ERR No such user 'nobody'\r\n"
    );
    // Old form by address.
    let mut v2 = s.conn();
    let info = text_of(&v2.cmd(&["CLIENT", "INFO"]));
    let addr = field(&fields(info.trim_end()), "addr").to_string();
    assert_eq!(killer.cmd(&["CLIENT", "KILL", &addr]), "+OK\r\n");
    assert!(v2.is_closed());
    // SKIPME (default yes) spares the caller; TYPE normal kills the others.
    let mut v3 = s.conn();
    assert_eq!(v3.cmd(&["PING"]), "+PONG\r\n");
    assert_eq!(killer.cmd(&["CLIENT", "KILL", "TYPE", "normal"]), ":1\r\n");
    assert!(v3.is_closed());
    assert_eq!(killer.cmd(&["PING"]), "+PONG\r\n");
    // SKIPME no: the caller gets its reply, then the connection closes.
    assert_eq!(
        killer.cmd(&["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "no"]),
        ":1\r\n"
    );
    assert!(killer.is_closed());
}

#[test]
fn client_pause_delays_writes_of_other_clients() {
    let s = Server::start(&[]);
    let mut admin = s.conn();
    let mut w = s.conn();
    assert_eq!(w.cmd(&["SET", "k", "v0"]), "+OK\r\n");
    assert_eq!(admin.cmd(&["CLIENT", "PAUSE", "600", "WRITE"]), "+OK\r\n");
    // Reads go through during a WRITE pause.
    let t = Instant::now();
    assert_eq!(w.cmd(&["GET", "k"]), bulk("v0"));
    assert!(t.elapsed() < Duration::from_millis(400));
    // Writes wait for the pause to end.
    let t = Instant::now();
    assert_eq!(w.cmd(&["SET", "k", "v1"]), "+OK\r\n");
    let waited = t.elapsed();
    assert!(waited >= Duration::from_millis(300), "{:?}", waited);
    // ALL pauses reads too.
    assert_eq!(admin.cmd(&["CLIENT", "PAUSE", "400"]), "+OK\r\n");
    let t = Instant::now();
    assert_eq!(w.cmd(&["GET", "k"]), bulk("v1"));
    assert!(
        t.elapsed() >= Duration::from_millis(200),
        "{:?}",
        t.elapsed()
    );
    // UNPAUSE releases a waiting writer at once.
    assert_eq!(admin.cmd(&["CLIENT", "PAUSE", "20000", "WRITE"]), "+OK\r\n");
    w.send(&[b"SET", b"k", b"v2"]);
    std::thread::sleep(Duration::from_millis(200));
    let t = Instant::now();
    assert_eq!(admin.cmd(&["CLIENT", "UNPAUSE"]), "+OK\r\n");
    assert_eq!(w.read_reply(), "+OK\r\n");
    assert!(t.elapsed() < Duration::from_secs(5));
    assert_eq!(
        admin.cmd(&["CLIENT", "PAUSE", "10", "SOMETIMES"]),
        "-ERR CLIENT PAUSE mode must be WRITE or ALL\r\n"
    );
    assert_eq!(
        admin.cmd(&["CLIENT", "PAUSE", "-1"]),
        "-ERR timeout is negative\r\n"
    );
    assert_eq!(
        admin.cmd(&["CLIENT", "PAUSE", "x"]),
        "-ERR timeout is not an integer or out of range\r\n"
    );
}

#[test]
fn client_reply_off_and_skip() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    // SKIP: no reply for itself nor for the next command.
    c.send(&[b"CLIENT", b"REPLY", b"SKIP"]);
    c.send(&[b"SET", b"a", b"1"]);
    assert_eq!(c.cmd(&["GET", "a"]), bulk("1"));
    // OFF: nothing until ON, whose +OK is sent.
    c.send(&[b"CLIENT", b"REPLY", b"OFF"]);
    c.send(&[b"SET", b"a", b"2"]);
    c.send(&[b"GET", b"a"]);
    assert_eq!(c.cmd(&["CLIENT", "REPLY", "ON"]), "+OK\r\n");
    assert_eq!(c.cmd(&["GET", "a"]), bulk("2"));
    assert_eq!(
        c.cmd(&["CLIENT", "REPLY", "MAYBE"]),
        "-ERR syntax error\r\n"
    );
}

#[test]
fn reset_restores_connection_state() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(c.cmd(&["SELECT", "2"]), "+OK\r\n");
    assert_eq!(c.cmd(&["CLIENT", "SETNAME", "x"]), "+OK\r\n");
    assert_eq!(c.cmd(&["CLIENT", "NO-TOUCH", "on"]), "+OK\r\n");
    assert!(c.cmd(&["HELLO", "3"]).starts_with('%'));
    assert_eq!(c.cmd(&["MULTI"]), "+OK\r\n");
    assert_eq!(c.cmd(&["RESET"]), "+RESET\r\n");
    let info = text_of(&c.cmd(&["CLIENT", "INFO"]));
    let f = fields(info.trim_end());
    assert_eq!(field(&f, "db"), "0");
    assert_eq!(field(&f, "name"), "");
    assert_eq!(field(&f, "flags"), "N");
    assert_eq!(field(&f, "resp"), "2");
    assert_eq!(field(&f, "multi"), "-1");
    assert_eq!(c.cmd(&["EXEC"]), "-ERR EXEC without MULTI\r\n");
}

#[test]
fn config_get_set_round_trip() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "maxmemory-samples", "7"]),
        "+OK\r\n"
    );
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "maxmemory-samples"]),
        format!("*2\r\n{}{}", bulk("maxmemory-samples"), bulk("7"))
    );
    assert_eq!(
        c.cmd(&[
            "CONFIG",
            "SET",
            "slowlog-max-len",
            "64",
            "maxmemory-samples",
            "5"
        ]),
        "+OK\r\n"
    );
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "slowlog-max-len"]),
        format!("*2\r\n{}{}", bulk("slowlog-max-len"), bulk("64"))
    );
    assert!(c.cmd(&["HELLO", "3"]).starts_with('%'));
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "maxmemory-samples"]),
        format!("%1\r\n{}{}", bulk("maxmemory-samples"), bulk("5"))
    );
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "maxmemory-samples"]),
        "-ERR wrong number of arguments for 'config|set' command\r\n"
    );
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "maxmemory-samples", "5", "hz"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        c.cmd(&["CONFIG", "REWRITE"]),
        "-ERR The server is running without a config file\r\n"
    );
    assert_eq!(c.cmd(&["CONFIG", "RESETSTAT"]), "+OK\r\n");
}

#[test]
fn info_sections_and_fields() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(c.cmd(&["SET", "k", "v"]), "+OK\r\n");
    assert_eq!(c.cmd(&["SET", "t", "v", "EX", "100"]), "+OK\r\n");
    let _ = c.cmd(&["NOSUCHCOMMAND"]);
    let info = text_of(&c.cmd(&["INFO"]));
    let titles: Vec<&str> = info.lines().filter(|l| l.starts_with("# ")).collect();
    assert_eq!(
        titles,
        [
            "# Server",
            "# Clients",
            "# Memory",
            "# Persistence",
            "# Stats",
            "# Replication",
            "# CPU",
            "# Modules",
            "# Errorstats",
            "# Cluster",
            "# Keyspace"
        ]
    );
    for needle in [
        "redis_version:7.2.4\r\n",
        "spinel_version:",
        "redis_mode:standalone\r\n",
        &format!("tcp_port:{}\r\n", s.port),
        "connected_clients:1\r\n",
        "used_memory:",
        "used_memory_human:",
        "used_memory_rss:",
        "maxmemory_policy:noeviction\r\n",
        "rdb_changes_since_last_save:2\r\n",
        "aof_enabled:0\r\n",
        "total_commands_processed:",
        "keyspace_hits:",
        "role:master\r\n",
        "used_cpu_sys:",
        "errorstat_ERR:count=1\r\n",
        "cluster_enabled:0\r\n",
    ] {
        assert!(info.contains(needle), "missing {:?} in\n{}", needle, info);
    }
    let ks = text_of(&c.cmd(&["INFO", "keyspace"]));
    assert!(
        ks.starts_with("# Keyspace\r\ndb0:keys=2,expires=1,avg_ttl="),
        "{}",
        ks
    );
    assert!(ks.ends_with("\r\n"));
    let cs = text_of(&c.cmd(&["INFO", "commandstats"]));
    assert!(cs.starts_with("# Commandstats\r\n"), "{}", cs);
    let set_line = cs
        .lines()
        .find(|l| l.starts_with("cmdstat_set:"))
        .expect("cmdstat_set");
    assert!(
        set_line.starts_with("cmdstat_set:calls=2,usec="),
        "{}",
        set_line
    );
    assert!(set_line.contains(",usec_per_call="));
    assert!(set_line.ends_with(",rejected_calls=0,failed_calls=0"));
    let all = text_of(&c.cmd(&["INFO", "all"]));
    assert!(all.contains("# Commandstats\r\n") && all.contains("# Latencystats\r\n"));
    let two = text_of(&c.cmd(&["INFO", "cpu", "CLUSTER"]));
    assert!(
        two.starts_with("# CPU\r\n") && two.contains("\r\n\r\n# Cluster\r\ncluster_enabled:0\r\n")
    );
    assert_eq!(c.cmd(&["INFO", "nosuchsection"]), "$0\r\n\r\n");
}

#[test]
fn monitor_sees_other_clients() {
    let s = Server::start(&[]);
    let mut m = s.conn();
    assert_eq!(m.cmd(&["MONITOR"]), "+OK\r\n");
    let mut c = s.conn();
    assert_eq!(c.cmd(&["SET", "foo", "bar baz"]), "+OK\r\n");
    let info = text_of(&c.cmd(&["CLIENT", "INFO"]));
    let addr = field(&fields(info.trim_end()), "addr").to_string();
    let line = m.read_reply();
    assert!(line.starts_with('+'), "{}", line);
    assert!(
        line.ends_with(&format!(" [0 {}] \"SET\" \"foo\" \"bar baz\"\r\n", addr)),
        "{}",
        line
    );
    // Monitor clients show the O flag.
    let list = text_of(&c.cmd(&["CLIENT", "LIST"]));
    assert!(list.lines().any(|l| l.contains(" flags=O ")), "{}", list);
}

#[test]
fn slowlog_records_commands() {
    let s = Server::start(&["--slowlog-log-slower-than", "0"]);
    let mut c = s.conn();
    assert_eq!(c.cmd(&["CLIENT", "SETNAME", "slowpoke"]), "+OK\r\n");
    assert_eq!(c.cmd(&["SLOWLOG", "RESET"]), "+OK\r\n");
    assert_eq!(c.cmd(&["SET", "a", "b"]), "+OK\r\n");
    let r = c.cmd(&["SLOWLOG", "GET", "1"]);
    let info = text_of(&c.cmd(&["CLIENT", "INFO"]));
    let addr = field(&fields(info.trim_end()), "addr").to_string();
    // *1 entry of 6: id, time, duration, argv, peer, name.
    assert!(r.starts_with("*1\r\n*6\r\n:"), "{}", r);
    assert!(
        r.ends_with(&format!(
            "*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\nb\r\n{}{}",
            bulk(&addr),
            bulk("slowpoke")
        )),
        "{}",
        r
    );
    // SLOWLOG RESET, SET, SLOWLOG GET, CLIENT INFO.
    assert_eq!(c.cmd(&["SLOWLOG", "LEN"]), ":4\r\n");
    assert_eq!(
        c.cmd(&["SLOWLOG", "GET", "-2"]),
        "-ERR count should be greater than or equal to -1\r\n"
    );
    assert!(c.cmd(&["SLOWLOG", "GET", "-1"]).starts_with("*6\r\n"));
}

#[test]
fn debug_is_protected_by_default() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(
        c.cmd(&["DEBUG", "SLEEP", "0"]),
        "-ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.\r\n"
    );
    let s = Server::start(&["--enable-debug-command", "yes"]);
    let mut c = s.conn();
    assert_eq!(c.cmd(&["DEBUG", "SLEEP", "0"]), "+OK\r\n");
    assert_eq!(c.cmd(&["SET", "n", "7"]), "+OK\r\n");
    let o = c.cmd(&["DEBUG", "OBJECT", "n"]);
    assert!(o.starts_with("+Value at:0x"), "{}", o);
    assert!(
        o.contains(" refcount:2147483647 encoding:int serializedlength:2 lru:"),
        "{}",
        o
    );
    assert_eq!(c.cmd(&["DEBUG", "OBJECT", "nope"]), "-ERR no such key\r\n");
    assert_eq!(
        c.cmd(&["DEBUG", "NOPE"]),
        "-ERR unknown subcommand or wrong number of arguments for 'NOPE'. Try DEBUG HELP.\r\n"
    );
}

#[test]
fn misc_server_commands() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let t = c.cmd(&["TIME"]);
    assert!(t.starts_with("*2\r\n$10\r\n"), "{}", t);
    assert!(c.cmd(&["LASTSAVE"]).starts_with(':'));
    assert_eq!(
        c.cmd(&["READONLY"]),
        "-ERR This instance has cluster support disabled\r\n"
    );
    assert_eq!(
        c.cmd(&["SHUTDOWN", "ABORT"]),
        "-ERR No shutdown in progress.\r\n"
    );
    assert_eq!(
        c.cmd(&["SHUTDOWN", "SAVE", "NOSAVE"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(c.cmd(&["LATENCY", "LATEST"]), "*0\r\n");
    assert_eq!(c.cmd(&["LATENCY", "RESET"]), ":0\r\n");
    assert_eq!(
        c.cmd(&["LATENCY", "GRAPH", "command"]),
        "-ERR No samples available for event 'command'\r\n"
    );
    assert_eq!(c.cmd(&["SET", "k", "v"]), "+OK\r\n");
    assert!(int_of(&c.cmd(&["MEMORY", "USAGE", "k"])) > 0);
    assert_eq!(c.cmd(&["MEMORY", "USAGE", "missing"]), "$-1\r\n");
    let help = c.cmd(&["CLIENT", "HELP"]);
    assert!(help.starts_with(
        "*54\r\n+CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"
    ));
    assert!(c.cmd(&["COMMAND", "COUNT"]).starts_with(':'));
}

#[test]
fn client_unblock_wakes_a_blocked_client() {
    let s = Server::start(&[]);
    let mut b = s.conn();
    let mut c = s.conn();
    let id = int_of(&b.cmd(&["CLIENT", "ID"]));
    assert_eq!(c.cmd(&["CLIENT", "UNBLOCK", &id.to_string()]), ":0\r\n");
    b.send(&[b"BLPOP", b"nolist", b"0"]);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let list = text_of(&c.cmd(&["CLIENT", "LIST", "ID", &id.to_string()]));
        if list.contains(" flags=b ") {
            break;
        }
        assert!(Instant::now() < deadline, "client never blocked: {}", list);
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        c.cmd(&["CLIENT", "UNBLOCK", &id.to_string(), "ERROR"]),
        ":1\r\n"
    );
    assert_eq!(
        b.read_reply(),
        "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"
    );
    assert_eq!(
        c.cmd(&["CLIENT", "UNBLOCK", &id.to_string(), "MAYBE"]),
        "-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR\r\n"
    );
}

#[test]
fn shutdown_ends_the_process() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(c.cmd(&["SET", "k", "v"]), "+OK\r\n");
    c.send(&[b"SHUTDOWN", b"NOSAVE"]);
    // No reply: the connection just ends with the process.
    let mut buf = Vec::new();
    let n = c.r.read_to_end(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "{:?}", String::from_utf8_lossy(&buf));
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", s.port)).is_ok() {
        assert!(Instant::now() < deadline, "server still accepting");
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = c.r.fill_buf();
}

/// CLIENT LIST / CLIENT INFO show IPv6 peers as `[ip]:port`, like Redis's
/// anetFormatAddr, and CLIENT KILL accepts the same form.
#[test]
fn ipv6_peers_are_bracketed() {
    let srv = Server::start(&["--bind", "127.0.0.1 ::1"]);
    let s = TcpStream::connect(("::1", srv.port)).expect("connect over IPv6 loopback");
    let local = s.local_addr().expect("local addr");
    let mut c = Conn::from_stream(s);
    let info = text_of(&c.cmd(&["CLIENT", "INFO"]));
    let want = format!("addr=[::1]:{} laddr=[::1]:{} ", local.port(), srv.port);
    assert!(info.contains(&want), "{info}");
    let mut other = srv.conn();
    let list = text_of(&other.cmd(&["CLIENT", "LIST"]));
    assert!(
        list.contains(&format!("addr=[::1]:{} ", local.port())),
        "{list}"
    );
    let target = format!("[::1]:{}", local.port());
    assert_eq!(other.cmd(&["CLIENT", "KILL", &target]), "+OK\r\n");
}

/// CONFIG SET port moves the listener (existing connections stay); a port
/// that can't be bound is refused and the old one keeps listening.
#[test]
fn config_set_port_rebinds() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let busy_port = busy.local_addr().expect("addr").port().to_string();
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "port", &busy_port]),
        "-ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port. Check server logs.\r\n"
    );
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "port"]),
        format!(
            "*2\r\n$4\r\nport\r\n${}\r\n{}\r\n",
            srv.port.to_string().len(),
            srv.port
        )
    );
    assert_eq!(Conn::new(srv.port).cmd(&["PING"]), "+PONG\r\n");
    drop(busy);
    let new_port = free_port();
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "port", &new_port.to_string()]),
        "+OK\r\n"
    );
    assert_eq!(Conn::new(new_port).cmd(&["PING"]), "+PONG\r\n");
    assert!(TcpStream::connect(("127.0.0.1", srv.port)).is_err());
    assert_eq!(c.cmd(&["PING"]), "+PONG\r\n");
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "bind", "127.0.0.1 ::1"]),
        "+OK\r\n"
    );
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "bind", "1.2.3.4"]),
        "-ERR CONFIG SET failed (possibly related to argument 'bind') - Failed to bind to specified addresses.\r\n"
    );
    assert_eq!(Conn::new(new_port).cmd(&["PING"]), "+PONG\r\n");
    let v6 = TcpStream::connect(("::1", new_port)).expect("IPv6 listener after CONFIG SET bind");
    assert_eq!(Conn::from_stream(v6).cmd(&["PING"]), "+PONG\r\n");
}
