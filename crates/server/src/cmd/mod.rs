//! Command families. Each module binds its handlers in `register`; the
//! metadata (arity, flags, key specs, docs) comes from `cmdmeta`.

use crate::dispatch::CommandTable;

pub mod bitmap;
pub mod client;
pub mod connection;
pub mod hash;
pub mod keys;
pub mod list;
pub mod multi;
pub mod pubsub;
pub mod server;
pub mod set;
pub mod sort;
pub mod string;
pub mod util;
pub mod zset;

/// Builds the full command table.
pub fn table() -> CommandTable {
    let mut t = CommandTable::default();
    connection::register(&mut t);
    client::register(&mut t);
    server::register(&mut t);
    keys::register(&mut t);
    string::register(&mut t);
    bitmap::register(&mut t);
    list::register(&mut t);
    multi::register(&mut t);
    pubsub::register(&mut t);
    hash::register(&mut t);
    set::register(&mut t);
    zset::register(&mut t);
    sort::register(&mut t);
    crate::script::register(&mut t);
    crate::persist::register(&mut t);
    t
}
