//! (family module: handlers are registered in `register`)

use crate::dispatch::CommandTable;

pub fn register(_t: &mut CommandTable) {}
