//! The listening sockets and their accept threads, and re-binding them when
//! `CONFIG SET port` or `CONFIG SET bind` changes the address (Redis's
//! changeListenPort / changeBindAddr).

use crate::net::{self, Workers};
use crate::server::Server;
use parking_lot::Mutex;
use std::net::TcpListener;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;

/// Bumped on every re-bind; an accept loop of an older generation exits.
pub static GENERATION: AtomicU64 = AtomicU64::new(0);

struct Active {
    listener: Arc<TcpListener>,
    thread: Option<JoinHandle<()>>,
}

static ACTIVE: Mutex<Vec<Active>> = Mutex::new(Vec::new());
static WORKERS: OnceLock<Arc<Workers>> = OnceLock::new();

/// Starts one accept thread per listener.
pub fn spawn(srv: &'static Server, listeners: Vec<TcpListener>, workers: &Arc<Workers>) {
    let _ = WORKERS.set(Arc::clone(workers));
    let generation = GENERATION.load(Ordering::SeqCst);
    let mut active = ACTIVE.lock();
    for l in listeners {
        let listener = Arc::new(l);
        let (l2, w) = (Arc::clone(&listener), Arc::clone(workers));
        let thread = std::thread::Builder::new()
            .name("spinel-accept".into())
            .spawn(move || net::accept_loop(srv, l2, w, generation))
            .ok();
        active.push(Active { listener, thread });
    }
}

/// Closes the current listeners and binds the configured `bind`/`port`.
/// On failure nothing listens; CONFIG SET then restores the old values and
/// calls this again, as Redis does.
pub fn rebind(srv: &'static Server, what: &str) -> Result<(), String> {
    let Some(workers) = WORKERS.get() else {
        return Ok(());
    };
    let old: Vec<Active> = std::mem::take(&mut *ACTIVE.lock());
    GENERATION.fetch_add(1, Ordering::SeqCst);
    for a in &old {
        // Wakes the thread blocked in accept(); it sees the new generation.
        // SAFETY: the fd stays open while `a.listener` is alive.
        unsafe {
            libc::shutdown(a.listener.as_raw_fd(), libc::SHUT_RDWR);
        }
    }
    for mut a in old {
        if let Some(t) = a.thread.take() {
            let _ = t.join();
        }
    }
    if srv.config.port() == 0 {
        return Ok(());
    }
    match net::bind_listeners(srv) {
        Ok(ls) => {
            spawn(srv, ls, workers);
            Ok(())
        }
        Err(e) => {
            crate::log::warning(&e);
            Err(if what == "bind" {
                "Failed to bind to specified addresses.".into()
            } else {
                "Unable to listen on this port. Check server logs.".into()
            })
        }
    }
}
