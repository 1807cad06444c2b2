//! Keyspace notifications (`notify-keyspace-events`).

/// Event classes, as in Redis's NOTIFY_* flags.
pub const KEYSPACE: u32 = 1 << 0; // K
pub const KEYEVENT: u32 = 1 << 1; // E
pub const GENERIC: u32 = 1 << 2; // g
pub const STRING: u32 = 1 << 3; // $
pub const LIST: u32 = 1 << 4; // l
pub const SET: u32 = 1 << 5; // s
pub const HASH: u32 = 1 << 6; // h
pub const ZSET: u32 = 1 << 7; // z
pub const EXPIRED: u32 = 1 << 8; // x
pub const EVICTED: u32 = 1 << 9; // e
pub const STREAM: u32 = 1 << 10; // t
pub const KEY_MISS: u32 = 1 << 11; // m
pub const LOADED: u32 = 1 << 12; // module only
pub const MODULE: u32 = 1 << 13; // d
pub const NEW: u32 = 1 << 14; // n

/// Publishes a keyspace event if the configured classes include it.
/// (Delivery is wired to pub/sub by the pub/sub module.)
pub fn keyspace_event(class: u32, event: &str, key: &[u8], db: usize) {
    if FLAGS.load(std::sync::atomic::Ordering::Relaxed) & class == 0 {
        return;
    }
    if let Some(hook) = HOOK.get() {
        hook(class, event, key, db);
    }
}

pub type Hook = fn(u32, &str, &[u8], usize);
pub static HOOK: std::sync::OnceLock<Hook> = std::sync::OnceLock::new();

/// Every class `A` stands for.
pub const ALL: u32 =
    GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

/// Current `notify-keyspace-events` flags (kept in sync by `refresh`).
pub static FLAGS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// Redis's keyspaceEventsStringToFlags; None for an invalid character.
pub fn parse_flags(s: &str) -> Option<u32> {
    let mut f = 0;
    for c in s.chars() {
        f |= match c {
            'A' => ALL,
            'g' => GENERIC,
            '$' => STRING,
            'l' => LIST,
            's' => SET,
            'h' => HASH,
            'z' => ZSET,
            'x' => EXPIRED,
            'e' => EVICTED,
            'K' => KEYSPACE,
            'E' => KEYEVENT,
            't' => STREAM,
            'm' => KEY_MISS,
            'd' => MODULE,
            'n' => NEW,
            _ => return None,
        };
    }
    Some(f)
}

/// Re-reads `notify-keyspace-events` from the config.
pub fn refresh(srv: &crate::server::Server) {
    let s = srv
        .config
        .get_string("notify-keyspace-events")
        .unwrap_or_default();
    let f = parse_flags(&s).unwrap_or(0);
    // Without K or E nothing is delivered.
    let f = if f & (KEYSPACE | KEYEVENT) == 0 { 0 } else { f };
    FLAGS.store(f, std::sync::atomic::Ordering::Relaxed);
}
