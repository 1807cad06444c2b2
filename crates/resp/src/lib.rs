//! RESP2/RESP3 wire protocol for Spinel: a zero-copy, resumable request
//! parser with Redis's exact protocol errors, and a reply encoder that writes
//! straight into the connection's output buffer.

pub mod double;
pub mod parse;
pub mod reply;

pub use double::{double_to_string, format_double};
pub use parse::{split_args, Argv, Limits, Parsed, Parser, ProtoError, Unbalanced};
pub use reply::{Deferred, ReplyBuf};
