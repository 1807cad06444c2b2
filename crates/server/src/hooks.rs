//! Connection-lifecycle hooks that other subsystems plug into: blocking
//! commands (a handler parks the client; the connection awaits the wake-up)
//! and clean-up when a client goes away (WATCH, pub/sub, blocked queues).

use crate::client::{Client, ClientShared};
use crate::server::Server;
use spinel_resp::ReplyBuf;

/// A parked client: set by a blocking handler in `Client::block`.
pub struct Block {
    /// Receives the reply bytes from the command that serves this waiter.
    pub rx: tokio::sync::oneshot::Receiver<Vec<u8>>,
    /// Absolute unix-ms deadline; None waits forever.
    pub deadline_ms: Option<i64>,
    /// Called on timeout (or CLIENT UNBLOCK) to dequeue the waiter; returns
    /// the reply bytes to send if the waiter had been served meanwhile.
    pub cancel: Box<dyn FnOnce(&'static Server) -> Option<Vec<u8>> + Send>,
    /// Reply written when the wait times out.
    pub timeout_reply: Vec<u8>,
}

pub fn take_block(client: &mut Client) -> Option<Block> {
    client.block.take()
}

/// Waits until the client is served, times out, is unblocked or killed.
pub async fn wait_block(srv: &'static Server, client: &mut Client, out: &mut ReplyBuf, b: Block) {
    use crate::client::flag;
    use std::sync::atomic::Ordering;
    let shared = client.shared.clone();
    shared.set_flag(flag::BLOCKED, true);
    let Block {
        mut rx,
        deadline_ms,
        cancel,
        timeout_reply,
    } = b;
    let sleep = async {
        match deadline_ms {
            Some(d) => {
                let ms = (d - crate::server::now_ms()).max(0) as u64;
                tokio::time::sleep(std::time::Duration::from_millis(ms)).await
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::pin!(sleep);
    loop {
        tokio::select! {
            r = &mut rx => {
                if let Ok(bytes) = r {
                    out.raw(&bytes);
                }
                break;
            }
            _ = &mut sleep => {
                match cancel(srv) {
                    Some(bytes) => out.raw(&bytes),
                    None => out.raw(&timeout_reply),
                }
                break;
            }
            _ = shared.wake.notified() => {
                let kill = shared.kill.load(Ordering::Acquire);
                let unblock = shared.unblock.swap(0, Ordering::AcqRel);
                if kill || unblock != 0 {
                    let _ = cancel(srv).map(|bytes| out.raw(&bytes)).or_else(|| {
                        if unblock == 2 {
                            out.error("UNBLOCKED client unblocked via CLIENT UNBLOCK");
                        } else if !kill {
                            out.raw(&timeout_reply);
                        }
                        Some(())
                    });
                    break;
                }
                // Other wake-ups (pushes) are delivered after the block ends.
                shared.wake.notify_one();
                tokio::task::yield_now().await;
            }
        }
    }
    shared.set_flag(flag::BLOCKED, false);
}

/// Called once when a connection closes.
pub fn client_closed(srv: &'static Server, c: &ClientShared) {
    for f in CLOSE_HOOKS.lock().iter() {
        f(srv, c);
    }
}

pub type CloseHook = fn(&'static Server, &ClientShared);
pub static CLOSE_HOOKS: parking_lot::Mutex<Vec<CloseHook>> = parking_lot::Mutex::new(Vec::new());
