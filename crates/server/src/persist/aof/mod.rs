//! Append-only file, Redis 7's multi-part layout: an `appenddirname`
//! directory holding a manifest, one base file (RDB preamble or AOF
//! commands) and incremental AOF files.
//!
//! - [`writer`]: appends the commands each write produced (fed by the
//!   propagation hook while the command still holds its shard locks),
//!   `appendfsync always|everysec|no` with group commit.
//! - [`manifest`]: the manifest format and file naming.
//! - [`load`]: start-up loading of a directory or an old single file.
//! - [`rewrite`]: BGREWRITEAOF without fork, and turning AOF on at run time.

pub mod load;
pub mod manifest;
pub mod rewrite;
pub mod writer;
