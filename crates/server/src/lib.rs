//! Spinel server: networking, sessions, command dispatch and the command
//! families, on top of the `spinel-resp` protocol crate and the
//! `spinel-keyspace` storage crate.

pub mod blocking;
pub mod client;
pub mod cmd;
pub mod cmdmeta;
pub mod config;
pub mod dispatch;
pub mod evict;
pub mod expire;
pub mod hooks;
pub mod info;
pub mod lazyfree;
pub mod listen;
pub mod locks;
pub mod log;
pub mod monitor;
pub mod net;
pub mod notify;
pub mod persist;
pub mod propagate;
pub mod script;
pub mod server;
pub mod slowlog;
pub mod startup;
pub mod stats;
