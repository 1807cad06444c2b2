//! List values. (Representation owned by the list family.)

use crate::sbytes::SBytes;
use std::collections::VecDeque;

#[derive(Debug, Clone, Default)]
pub struct ListValue {
    pub items: VecDeque<SBytes>,
}

impl ListValue {
    pub fn len(&self) -> usize {
        self.items.len()
    }
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    pub fn encoding(&self) -> &'static str {
        "listpack"
    }
    pub fn heap_size(&self) -> usize {
        self.items.capacity() * std::mem::size_of::<SBytes>()
            + self.items.iter().map(|s| s.heap_size()).sum::<usize>()
    }
}
