//! SLOWLOG: commands that ran longer than `slowlog-log-slower-than`.

use std::collections::VecDeque;

pub const SLOWLOG_ENTRY_MAX_ARGC: usize = 32;
pub const SLOWLOG_ENTRY_MAX_STRING: usize = 128;

pub struct SlowEntry {
    pub id: u64,
    pub time: i64,
    pub duration_us: u64,
    pub argv: Vec<Vec<u8>>,
    pub peer: String,
    pub name: String,
}

#[derive(Default)]
pub struct SlowLog {
    pub entries: VecDeque<SlowEntry>,
    pub next_id: u64,
}

impl SlowLog {
    /// Records a command, trimming arguments as Redis does.
    pub fn push(
        &mut self,
        argv: &[&[u8]],
        duration_us: u64,
        peer: String,
        name: String,
        max_len: usize,
    ) {
        let mut args: Vec<Vec<u8>> = Vec::new();
        let n = argv.len().min(SLOWLOG_ENTRY_MAX_ARGC);
        for (i, a) in argv.iter().take(n).enumerate() {
            if n == SLOWLOG_ENTRY_MAX_ARGC && i == n - 1 && argv.len() > n {
                args.push(format!("... ({} more arguments)", argv.len() - n + 1).into_bytes());
            } else if a.len() > SLOWLOG_ENTRY_MAX_STRING {
                let mut v = a[..SLOWLOG_ENTRY_MAX_STRING].to_vec();
                v.extend_from_slice(
                    format!("... ({} more bytes)", a.len() - SLOWLOG_ENTRY_MAX_STRING).as_bytes(),
                );
                args.push(v);
            } else {
                args.push(a.to_vec());
            }
        }
        self.entries.push_front(SlowEntry {
            id: self.next_id,
            time: crate::server::now_ms() / 1000,
            duration_us,
            argv: args,
            peer,
            name,
        });
        self.next_id += 1;
        while self.entries.len() > max_len {
            self.entries.pop_back();
        }
    }
}
