//! Set values. (Representation owned by the set family.)

use crate::sbytes::SBytes;

#[derive(Debug, Clone, Default)]
pub struct SetValue {
    pub members: Vec<SBytes>,
}

impl SetValue {
    pub fn len(&self) -> usize {
        self.members.len()
    }
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
    pub fn encoding(&self) -> &'static str {
        "listpack"
    }
    pub fn heap_size(&self) -> usize {
        self.members.capacity() * 24
    }
}
