//! TEMPORARY stand-in for the configuration registry (being replaced).
use parking_lot::RwLock;
use std::collections::HashMap;

pub struct Config {
    vals: RwLock<HashMap<String, String>>,
}

pub enum Startup {
    Run(Config),
    Exit(i32),
}

pub fn from_args(args: &[String]) -> Startup {
    let mut m = HashMap::new();
    for (k, v) in [
        ("port", "6379"),
        ("databases", "16"),
        ("hz", "10"),
        ("maxclients", "10000"),
        ("timeout", "0"),
        ("proto-max-bulk-len", "536870912"),
        ("client-query-buffer-limit", "1073741824"),
        ("requirepass", ""),
        ("bind", "* -::*"),
        ("protected-mode", "yes"),
        ("loglevel", "notice"),
        ("logfile", ""),
        ("tcp-keepalive", "300"),
        ("tcp-backlog", "511"),
        ("busy-reply-threshold", "5000"),
        ("dir", "."),
        ("dbfilename", "dump.rdb"),
        ("save", ""),
        ("appendonly", "no"),
    ] {
        m.insert(k.to_string(), v.to_string());
    }
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    m.insert("threads".into(), threads.to_string());
    let mut i = 0;
    while i < args.len() {
        if let Some(name) = args[i].strip_prefix("--") {
            let v = args.get(i + 1).cloned().unwrap_or_default();
            m.insert(name.to_string(), v);
            i += 2;
        } else {
            i += 1;
        }
    }
    Startup::Run(Config {
        vals: RwLock::new(m),
    })
}

impl Config {
    fn i(&self, k: &str) -> i64 {
        self.vals
            .read()
            .get(k)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }
    pub fn get_string(&self, k: &str) -> Option<String> {
        self.vals.read().get(k).cloned()
    }
    pub fn get_i64(&self, k: &str) -> Option<i64> {
        self.vals.read().get(k).and_then(|v| v.parse().ok())
    }
    pub fn port(&self) -> u16 {
        self.i("port") as u16
    }
    pub fn threads(&self) -> usize {
        self.i("threads").max(1) as usize
    }
    pub fn databases(&self) -> usize {
        self.i("databases").max(1) as usize
    }
    pub fn hz(&self) -> i64 {
        self.i("hz").clamp(1, 500)
    }
    pub fn maxclients(&self) -> i64 {
        self.i("maxclients")
    }
    pub fn timeout(&self) -> i64 {
        self.i("timeout")
    }
    pub fn proto_max_bulk_len(&self) -> i64 {
        self.i("proto-max-bulk-len")
    }
    pub fn client_query_buffer_limit(&self) -> i64 {
        self.i("client-query-buffer-limit")
    }
    pub fn requirepass(&self) -> Option<Vec<u8>> {
        let p = self.get_string("requirepass").unwrap_or_default();
        if p.is_empty() {
            None
        } else {
            Some(p.into_bytes())
        }
    }
    pub fn bind(&self) -> Vec<String> {
        self.get_string("bind")
            .unwrap_or_default()
            .split_whitespace()
            .map(|s| s.to_string())
            .collect()
    }
    pub fn protected_mode(&self) -> bool {
        self.get_string("protected-mode").as_deref() == Some("yes")
    }
    pub fn tcp_keepalive(&self) -> i64 {
        self.i("tcp-keepalive")
    }
    pub fn tcp_backlog(&self) -> i64 {
        self.i("tcp-backlog")
    }
    pub fn busy_reply_threshold(&self) -> i64 {
        self.i("busy-reply-threshold")
    }
    pub fn loglevel(&self) -> String {
        self.get_string("loglevel").unwrap_or_default()
    }
    pub fn logfile(&self) -> String {
        self.get_string("logfile").unwrap_or_default()
    }
    pub fn get_matching(&self, _patterns: &[&[u8]]) -> Vec<(String, String)> {
        Vec::new()
    }
    pub fn set_many(&self, _pairs: &[(&[u8], &[u8])]) -> Result<Vec<String>, String> {
        Err("ERR not yet".into())
    }
    pub fn rewrite(&self) -> Result<(), String> {
        Err("ERR not yet".into())
    }
}
