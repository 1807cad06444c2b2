//! Hash values. (Representation owned by the hash family.)

use crate::sbytes::SBytes;

#[derive(Debug, Clone, Default)]
pub struct HashValue {
    pub fields: Vec<(SBytes, SBytes)>,
}

impl HashValue {
    pub fn len(&self) -> usize {
        self.fields.len()
    }
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
    pub fn encoding(&self) -> &'static str {
        "listpack"
    }
    pub fn heap_size(&self) -> usize {
        self.fields.capacity() * 48
    }
}
