//! Command families. Each module binds its handlers in `register`; the
//! metadata (arity, flags, key specs, docs) comes from `cmdmeta`.

use crate::dispatch::CommandTable;

pub mod connection;
pub mod util;

/// Builds the full command table.
pub fn table() -> CommandTable {
    let mut t = CommandTable::default();
    connection::register(&mut t);
    t
}
