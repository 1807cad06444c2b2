//! MONITOR: every executed command is echoed to monitoring clients.

use crate::client::{Client, ClientShared};
use crate::dispatch::{cflag, Command};
use crate::server::Server;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

pub static MONITORS: Mutex<Vec<Arc<ClientShared>>> = Mutex::new(Vec::new());
pub static COUNT: AtomicUsize = AtomicUsize::new(0);

pub fn add(c: Arc<ClientShared>) {
    let mut m = MONITORS.lock();
    if !m.iter().any(|x| x.id == c.id) {
        m.push(c);
        COUNT.store(m.len(), Ordering::Relaxed);
    }
}

pub fn remove(id: u64) {
    let mut m = MONITORS.lock();
    m.retain(|x| x.id != id);
    COUNT.store(m.len(), Ordering::Relaxed);
}

/// Redis's monitor line: `+<unix.micros> [<db> <addr>] "cmd" "arg" ...`.
pub fn format_line(db: usize, addr: &str, argv: &[&[u8]]) -> Vec<u8> {
    let us = crate::server::now_us();
    let mut s = format!(
        "+{}.{:06} [{} {}]",
        us / 1_000_000,
        us % 1_000_000,
        db,
        addr
    )
    .into_bytes();
    for a in argv {
        s.push(b' ');
        s.extend_from_slice(&repr(a));
    }
    s.extend_from_slice(b"\r\n");
    s
}

/// `sdscatrepr`: a quoted, escaped representation.
pub fn repr(a: &[u8]) -> Vec<u8> {
    let mut s = vec![b'"'];
    for &c in a {
        match c {
            b'\\' => s.extend_from_slice(b"\\\\"),
            b'"' => s.extend_from_slice(b"\\\""),
            b'\n' => s.extend_from_slice(b"\\n"),
            b'\r' => s.extend_from_slice(b"\\r"),
            b'\t' => s.extend_from_slice(b"\\t"),
            0x07 => s.extend_from_slice(b"\\a"),
            0x08 => s.extend_from_slice(b"\\b"),
            c if c.is_ascii_graphic() || c == b' ' => s.push(c),
            c => s.extend_from_slice(format!("\\x{:02x}", c).as_bytes()),
        }
    }
    s.push(b'"');
    s
}

pub fn feed(_srv: &Server, client: &Client, argv: &[&[u8]], cmd: &Command) {
    if COUNT.load(Ordering::Relaxed) == 0 || cmd.has(cflag::SKIP_MONITOR) || cmd.has(cflag::ADMIN) {
        return;
    }
    let line = format_line(client.db, &client.shared.addr, argv);
    for m in MONITORS.lock().iter() {
        if m.id != client.id() {
            m.send(&line);
        }
    }
}
