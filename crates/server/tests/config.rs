//! Configuration: loading (files, includes, command line, stdin), Redis's
//! fatal error reports, CONFIG GET / SET / REWRITE against the real binary.
mod common;
use common::*;
use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_spinel-server");

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "spinel-cfgtest-{}-{}-{}",
        std::process::id(),
        tag,
        free_port()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run spinel-server")
}

fn fatal(line: Option<(usize, &str)>, msg: &str) -> String {
    let mut s = "\n*** FATAL CONFIG FILE ERROR (Redis 7.2.4) ***\n".to_string();
    if let Some((n, l)) = line {
        s.push_str(&format!(
            "Reading the configuration file, at line {}\n>>> '{}'\n",
            n, l
        ));
    }
    s.push_str(msg);
    s.push('\n');
    s
}

/// A server started from a config file (or stdin), killed on drop.
struct FileServer {
    child: Child,
    port: u16,
}

impl FileServer {
    fn wait(child: Child, port: u16) -> FileServer {
        let s = FileServer { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return s;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("spinel-server did not start on port {}", port);
    }

    fn start(file: &Path, extra: &[&str]) -> FileServer {
        let port = free_port();
        let child = Command::new(BIN)
            .arg(file)
            .args(["--port", &port.to_string()])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        FileServer::wait(child, port)
    }

    fn conn(&self) -> Conn {
        Conn::new(self.port)
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn map1(k: &str, v: &str) -> String {
    format!("*2\r\n{}{}", bulk(k), bulk(v))
}

#[test]
fn bad_config_file_is_fatal() {
    let d = tmpdir("bad");
    let f = d.join("bad.conf");
    std::fs::write(&f, "# comment\nport 7000\nport \"abc\"\n").unwrap();
    let out = run(&[f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        fatal(
            Some((3, "port \"abc\"")),
            "argument couldn't be parsed into an integer"
        )
    );
    std::fs::write(&f, "loglevel loud\n").unwrap();
    let out = run(&[f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        fatal(
            Some((1, "loglevel loud")),
            "argument(s) must be one of the following: debug, verbose, notice, warning, nothing"
        )
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn command_line_errors_are_fatal() {
    let out = run(&["--port", "abc"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        fatal(
            Some((2, "port \"abc\"")),
            "argument couldn't be parsed into an integer"
        )
    );
    let out = run(&["--nosuch", "1"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        fatal(
            Some((2, "nosuch \"1\"")),
            "Bad directive or wrong number of arguments"
        )
    );
    let out = run(&["--maxmemory", "1tb"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        fatal(
            Some((2, "maxmemory \"1tb\"")),
            "argument must be a memory value"
        )
    );
    let out = run(&["/nonexistent-spinel-dir/x.conf"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains(
        "# Fatal error, can't open config file '/nonexistent-spinel-dir/x.conf': No such file or directory"
    ));
}

#[test]
fn version_and_help() {
    let out = run(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!(
            "Spinel server v={} sha=00000000:0 malloc=libc bits=64 build=0\n",
            env!("CARGO_PKG_VERSION")
        )
    );
    let out = run(&["-v"]);
    assert_eq!(out.status.code(), Some(0));
    // Like redis-server: usage on stderr, exit status 1.
    let out = run(&["--help"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr)
        .starts_with("Usage: ./spinel-server [/path/to/redis.conf] [options] [-]\n"));
}

#[test]
fn config_get_set_round_trip() {
    let s = Server::start(&["--maxmemory", "2mb", "--notify-keyspace-events", "KEA"]);
    let mut c = s.conn();
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "port"]),
        map1("port", &s.port.to_string())
    );
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "maxmemory"]),
        map1("maxmemory", "2097152")
    );
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "notify-keyspace-events"]),
        map1("notify-keyspace-events", "AKE")
    );
    assert_eq!(c.cmd(&["CONFIG", "GET", "save"]), map1("save", ""));
    assert_eq!(c.cmd(&["CONFIG", "GET", "bind"]), map1("bind", "127.0.0.1"));
    assert_eq!(c.cmd(&["CONFIG", "GET", "nosuch"]), "*0\r\n");
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "*slave-read*"]),
        map1("slave-read-only", "yes")
    );
    // Several parameters, one reply entry each.
    let r = c.cmd(&["CONFIG", "GET", "hz", "HZ", "h?"]);
    assert_eq!(r, map1("hz", "10"));

    assert_eq!(
        c.cmd(&["CONFIG", "SET", "maxmemory", "1gb", "timeout", "7"]),
        "+OK\r\n"
    );
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "maxmemory"]),
        map1("maxmemory", "1073741824")
    );
    assert_eq!(c.cmd(&["CONFIG", "GET", "timeout"]), map1("timeout", "7"));
    assert_eq!(
        c.cmd(&[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "normal 1kb 2mb 3"
        ]),
        "+OK\r\n"
    );
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "client-output-buffer-limit"]),
        map1(
            "client-output-buffer-limit",
            "normal 1024 2097152 3 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
        )
    );
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "foo", "1"]),
        "-ERR Unknown option or number of arguments for CONFIG SET - 'foo'\r\n"
    );
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "timeout", "9", "port", "abc"]),
        "-ERR CONFIG SET failed (possibly related to argument 'port') - argument couldn't be parsed into an integer\r\n"
    );
    // All or nothing.
    assert_eq!(c.cmd(&["CONFIG", "GET", "timeout"]), map1("timeout", "7"));
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "databases", "2"]),
        "-ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config\r\n"
    );
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "hz", "5", "hz", "6"]),
        "-ERR CONFIG SET failed (possibly related to argument 'hz') - duplicate parameter\r\n"
    );
    assert_eq!(
        c.cmd(&["CONFIG", "REWRITE"]),
        "-ERR The server is running without a config file\r\n"
    );
}

#[test]
fn config_file_include_and_rewrite() {
    let d = tmpdir("rw");
    let conf = d.join("spinel.conf");
    let extra = d.join("extra.conf");
    std::fs::write(&extra, "maxclients 123\n").unwrap();
    std::fs::write(
        &conf,
        format!(
            "# Spinel test config\nbind 127.0.0.1\nsave \"\"\n\n# limits\ntimeout 0\ninclude {}\nappendonly no\ndir {}\n",
            extra.display(),
            d.display()
        ),
    )
    .unwrap();
    let s = FileServer::start(&conf, &[]);
    let mut c = s.conn();
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "maxclients"]),
        map1("maxclients", "123")
    );
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "dir"]),
        map1("dir", d.to_str().unwrap())
    );
    assert_eq!(
        c.cmd(&[
            "CONFIG",
            "SET",
            "timeout",
            "30",
            "maxmemory-policy",
            "allkeys-lru"
        ]),
        "+OK\r\n"
    );
    assert_eq!(c.cmd(&["CONFIG", "REWRITE"]), "+OK\r\n");
    let text = std::fs::read_to_string(&conf).unwrap();
    let port = s.port;
    let expect = format!(
        "# Spinel test config\nbind 127.0.0.1\nsave \"\"\n\n# limits\ntimeout 30\ninclude {}\nappendonly no\ndir \"{}\"\n\n# Generated by CONFIG REWRITE\nmaxmemory-policy allkeys-lru\nport {}\nmaxclients 123\nlatency-tracking-info-percentiles 50 99 99.9\n",
        extra.display(),
        d.display(),
        port
    );
    assert_eq!(text, expect);
    drop(c);
    drop(s);
    // The rewritten file starts a server with the same settings.
    let s = FileServer::start(&conf, &[]);
    let mut c = s.conn();
    assert_eq!(c.cmd(&["CONFIG", "GET", "timeout"]), map1("timeout", "30"));
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "maxmemory-policy"]),
        map1("maxmemory-policy", "allkeys-lru")
    );
    drop(c);
    drop(s);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn config_from_stdin() {
    let d = tmpdir("stdin");
    let port = free_port();
    let mut child = Command::new(BIN)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    if let Some(mut input) = child.stdin.take() {
        write!(
            input,
            "port {}\nbind 127.0.0.1\nsave \"\"\ndir {}\nhz 25\n",
            port,
            d.display()
        )
        .unwrap();
    }
    let s = FileServer::wait(child, port);
    let mut c = s.conn();
    assert_eq!(c.cmd(&["CONFIG", "GET", "hz"]), map1("hz", "25"));
    drop(c);
    drop(s);
    let _ = std::fs::remove_dir_all(&d);
}

/// `rename-command`: the old name is unknown, the new one runs the command,
/// an empty name removes it; bad directives stop start-up as in Redis.
#[test]
fn rename_command() {
    let out = run(&["--rename-command", "nosuch", "x"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        fatal(
            Some((2, "rename-command \"nosuch\" \"x\"")),
            "No such command in rename-command"
        )
    );
    let out = run(&["--rename-command", "get", "set"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        fatal(
            Some((2, "rename-command \"get\" \"set\"")),
            "Target command name already exists"
        )
    );
    let srv = Server::start(&[
        "--rename-command",
        "FLUSHALL",
        "",
        "--rename-command",
        "set",
        "store",
        "--rename-command",
        "STORE",
        "put",
    ]);
    let mut c = srv.conn();
    assert_eq!(
        c.cmd(&["FLUSHALL"]),
        "-ERR unknown command 'FLUSHALL', with args beginning with: \r\n"
    );
    assert_eq!(
        c.cmd(&["SET", "k", "v"]),
        "-ERR unknown command 'SET', with args beginning with: 'k' 'v' \r\n"
    );
    assert_eq!(c.cmd(&["PUT", "k", "v"]), "+OK\r\n");
    assert_eq!(c.cmd(&["GET", "k"]), "$1\r\nv\r\n");
}
