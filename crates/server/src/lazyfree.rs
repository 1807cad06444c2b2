//! Lazy freeing: large values are dropped on a background thread so that
//! deleting a huge collection never stalls the worker that deleted it.

use spinel_keyspace::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Mutex, OnceLock};

static TX: OnceLock<Mutex<Sender<Box<dyn Send>>>> = OnceLock::new();
/// Objects handed to the lazy-free thread and not yet freed.
pub static PENDING: AtomicU64 = AtomicU64::new(0);
pub static FREED: AtomicU64 = AtomicU64::new(0);

fn sender() -> Option<Sender<Box<dyn Send>>> {
    let m = TX.get_or_init(|| {
        let (tx, rx) = channel::<Box<dyn Send>>();
        let _ = std::thread::Builder::new()
            .name("lazyfree".into())
            .spawn(move || {
                while let Ok(v) = rx.recv() {
                    drop(v);
                    PENDING.fetch_sub(1, Ordering::Relaxed);
                    FREED.fetch_add(1, Ordering::Relaxed);
                }
            });
        Mutex::new(tx)
    });
    m.lock().ok().map(|g| g.clone())
}

/// Drops `v` on the lazy-free thread.
pub fn free_later(v: Value) {
    free_boxed(Box::new(v));
}

/// Drops anything on the lazy-free thread (e.g. a whole flushed table).
pub fn free_boxed(b: Box<dyn Send>) {
    if let Some(tx) = sender() {
        PENDING.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = tx.send(b) {
            PENDING.fetch_sub(1, Ordering::Relaxed);
            drop(e);
        }
    }
}
