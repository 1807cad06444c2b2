//! The AOF manifest (Redis 7's `<appendfilename>.manifest` in the
//! `appenddirname` directory): one line per file,
//! `file <name> seq <n> type <b|h|i>`, base first, then history, then the
//! incremental files in order. Names needing it are quoted as Redis's
//! `sdscatrepr` does and parsed back with `sdssplitargs` rules.

use std::io::Write;
use std::path::{Path, PathBuf};

/// What a file listed in the manifest is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    Base,
    History,
    Incr,
}

impl FileType {
    fn letter(self) -> char {
        match self {
            FileType::Base => 'b',
            FileType::History => 'h',
            FileType::Incr => 'i',
        }
    }
}

/// One file of the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AofInfo {
    pub name: String,
    pub seq: i64,
    pub kind: FileType,
}

/// The parsed manifest (Redis's `aofManifest`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    pub base: Option<AofInfo>,
    pub incr: Vec<AofInfo>,
    pub history: Vec<AofInfo>,
    pub curr_base_seq: i64,
    pub curr_incr_seq: i64,
}

/// Redis's `MANIFEST_MAX_LINE`.
const MAX_LINE: usize = 1024;

/// File names derived from `appendfilename`.
pub fn manifest_name(appendfilename: &str) -> String {
    format!("{}.manifest", appendfilename)
}

pub fn temp_manifest_name(appendfilename: &str) -> String {
    format!("temp-{}.manifest", appendfilename)
}

/// The temporary incremental file used while AOF is being turned on.
pub fn temp_incr_name(appendfilename: &str) -> String {
    format!("temp-{}.incr", appendfilename)
}

pub fn base_name(appendfilename: &str, seq: i64, rdb: bool) -> String {
    format!(
        "{}.{}.base.{}",
        appendfilename,
        seq,
        if rdb { "rdb" } else { "aof" }
    )
}

pub fn incr_name(appendfilename: &str, seq: i64) -> String {
    format!("{}.{}.incr.aof", appendfilename, seq)
}

impl Manifest {
    /// Parses manifest contents; the error is Redis's log line.
    pub fn parse(data: &[u8]) -> Result<Manifest, &'static str> {
        let mut am = Manifest::default();
        let mut maxseq = 0i64;
        let mut rest = data;
        let mut linenum = 0usize;
        loop {
            if rest.is_empty() {
                if linenum == 0 {
                    return Err("Found an empty AOF manifest");
                }
                break;
            }
            // fgets with a MAX_LINE + 1 buffer: up to MAX_LINE bytes or
            // through the newline.
            let take = match rest.iter().take(MAX_LINE).position(|&c| c == b'\n') {
                Some(p) => p + 1,
                None => rest.len().min(MAX_LINE),
            };
            let (buf, tail) = rest.split_at(take);
            rest = tail;
            linenum += 1;
            if buf.first() == Some(&b'#') {
                continue;
            }
            if !buf.contains(&b'\n') {
                return Err("The AOF manifest file contains too long line");
            }
            let line = trim(buf);
            if line.is_empty() {
                return Err("Invalid AOF manifest file format");
            }
            let argv = match split_args(line) {
                Some(a) if a.len() >= 6 && a.len() % 2 == 0 => a,
                _ => return Err("Invalid AOF manifest file format"),
            };
            let mut name: Option<String> = None;
            let mut seq = 0i64;
            let mut kind = 0u8;
            for pair in argv.chunks(2) {
                let (k, v) = match pair {
                    [k, v] => (k, v),
                    _ => continue,
                };
                if k.eq_ignore_ascii_case(b"file") {
                    if v.contains(&b'/') || v.contains(&b'\\') {
                        return Err("File can't be a path, just a filename");
                    }
                    name = Some(String::from_utf8_lossy(v).into_owned());
                } else if k.eq_ignore_ascii_case(b"seq") {
                    seq = atoll(v);
                } else if k.eq_ignore_ascii_case(b"type") {
                    kind = v.first().copied().unwrap_or(0);
                }
            }
            let name = match name {
                Some(n) if !n.is_empty() && seq != 0 && kind != 0 => n,
                _ => return Err("Invalid AOF manifest file format"),
            };
            match kind {
                b'b' => {
                    if am.base.is_some() {
                        return Err("Found duplicate base file information");
                    }
                    am.base = Some(AofInfo {
                        name,
                        seq,
                        kind: FileType::Base,
                    });
                    am.curr_base_seq = seq;
                }
                b'h' => am.history.push(AofInfo {
                    name,
                    seq,
                    kind: FileType::History,
                }),
                b'i' => {
                    if seq <= maxseq {
                        return Err("Found a non-monotonic sequence number");
                    }
                    am.incr.push(AofInfo {
                        name,
                        seq,
                        kind: FileType::Incr,
                    });
                    am.curr_incr_seq = seq;
                    maxseq = seq;
                }
                _ => return Err("Unknown AOF file type"),
            }
        }
        Ok(am)
    }

    /// The manifest text (Redis's `getAofManifestAsString`).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let all = self
            .base
            .iter()
            .chain(self.history.iter())
            .chain(self.incr.iter());
        for ai in all {
            out.extend_from_slice(b"file ");
            if needs_repr(ai.name.as_bytes()) {
                repr(&mut out, ai.name.as_bytes());
            } else {
                out.extend_from_slice(ai.name.as_bytes());
            }
            out.extend_from_slice(
                format!(" seq {} type {}\n", ai.seq, ai.kind.letter()).as_bytes(),
            );
        }
        out
    }

    /// A new base file name; the current base becomes history
    /// (`getNewBaseFileNameAndMarkPreAsHistory`).
    pub fn new_base(&mut self, appendfilename: &str, rdb: bool) -> String {
        if let Some(mut b) = self.base.take() {
            b.kind = FileType::History;
            self.history.insert(0, b);
        }
        self.curr_base_seq += 1;
        let name = base_name(appendfilename, self.curr_base_seq, rdb);
        self.base = Some(AofInfo {
            name: name.clone(),
            seq: self.curr_base_seq,
            kind: FileType::Base,
        });
        name
    }

    /// A new incremental file, appended to the list (`getNewIncrAofName`).
    pub fn new_incr(&mut self, appendfilename: &str) -> String {
        self.curr_incr_seq += 1;
        let name = incr_name(appendfilename, self.curr_incr_seq);
        self.incr.push(AofInfo {
            name: name.clone(),
            seq: self.curr_incr_seq,
            kind: FileType::Incr,
        });
        name
    }

    /// The incremental file to append to, created when there is none
    /// (`getLastIncrAofName`).
    pub fn last_incr(&mut self, appendfilename: &str) -> String {
        match self.incr.last() {
            Some(ai) => ai.name.clone(),
            None => self.new_incr(appendfilename),
        }
    }

    /// After a rewrite: every incremental file but the `keep_last` newest
    /// one becomes history (`markRewrittenIncrAofAsHistory`).
    pub fn mark_rewritten_incr_as_history(&mut self, keep_last: bool) {
        let keep = if keep_last { self.incr.pop() } else { None };
        // Redis adds each at the head of the history, newest first.
        for mut ai in self.incr.drain(..).rev() {
            ai.kind = FileType::History;
            self.history.insert(0, ai);
        }
        if let Some(k) = keep {
            self.incr.push(k);
        }
    }

    /// Names of base and incremental files, in loading order.
    pub fn files_in_order(&self) -> Vec<&AofInfo> {
        self.base.iter().chain(self.incr.iter()).collect()
    }
}

/// Writes the manifest atomically into `dir`: temp file, fsync, rename,
/// directory fsync (`persistAofManifest`).
pub fn persist(dir: &Path, appendfilename: &str, am: &Manifest) -> std::io::Result<()> {
    let tmp = dir.join(temp_manifest_name(appendfilename));
    let dst = dir.join(manifest_name(appendfilename));
    let res = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&am.to_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, &dst)?;
        fsync_dir(dir)
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}

/// Reads and parses the manifest in `dir`. `Ok(None)`: no manifest file.
pub fn load(dir: &Path, appendfilename: &str) -> Result<Option<Manifest>, String> {
    let path: PathBuf = dir.join(manifest_name(appendfilename));
    match std::fs::read(&path) {
        Ok(b) => Manifest::parse(&b).map(Some).map_err(|e| e.to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!(
            "Fatal error: can't open the AOF manifest file {} for reading: {}",
            path.display(),
            e
        )),
    }
}

pub fn fsync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

fn trim(b: &[u8]) -> &[u8] {
    let ws = |c: &u8| matches!(c, b' ' | b'\t' | b'\r' | b'\n');
    let start = b.iter().position(|c| !ws(c)).unwrap_or(b.len());
    let end = b.iter().rposition(|c| !ws(c)).map_or(start, |p| p + 1);
    b.get(start..end).unwrap_or(&[])
}

/// C's `atoll`: optional blanks and sign, then digits up to the first
/// other character; 0 when there are none. Saturates instead of wrapping.
fn atoll(b: &[u8]) -> i64 {
    let mut i = 0;
    while b.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
        i += 1;
    }
    let neg = match b.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let mut v: i64 = 0;
    while let Some(c) = b.get(i).filter(|c| c.is_ascii_digit()) {
        let d = (c - b'0') as i64;
        v = if neg {
            v.saturating_mul(10).saturating_sub(d)
        } else {
            v.saturating_mul(10).saturating_add(d)
        };
        i += 1;
    }
    v
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Redis's `sdssplitargs`: None on unbalanced quotes or a closing quote
/// not followed by a space.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        while line.get(i).is_some_and(|&c| is_space(c)) {
            i += 1;
        }
        if i >= line.len() {
            return Some(out);
        }
        let mut cur = Vec::new();
        let (mut inq, mut insq) = (false, false);
        loop {
            let c = line.get(i).copied();
            if inq {
                match c {
                    None => return None,
                    Some(b'\\') => {
                        let n = line.get(i + 1).copied();
                        let h = (
                            line.get(i + 2).copied().and_then(hex),
                            line.get(i + 3).copied().and_then(hex),
                        );
                        match (n, h) {
                            (Some(b'x'), (Some(a), Some(b))) => {
                                cur.push(a * 16 + b);
                                i += 3;
                            }
                            (Some(n), _) => {
                                cur.push(match n {
                                    b'n' => b'\n',
                                    b'r' => b'\r',
                                    b't' => b'\t',
                                    b'b' => 0x08,
                                    b'a' => 0x07,
                                    o => o,
                                });
                                i += 1;
                            }
                            (None, _) => cur.push(b'\\'),
                        }
                    }
                    Some(b'"') => {
                        if line.get(i + 1).is_some_and(|&c| !is_space(c)) {
                            return None;
                        }
                        i += 1;
                        break;
                    }
                    Some(c) => cur.push(c),
                }
            } else if insq {
                match c {
                    None => return None,
                    Some(b'\\') if line.get(i + 1) == Some(&b'\'') => {
                        cur.push(b'\'');
                        i += 1;
                    }
                    Some(b'\'') => {
                        if line.get(i + 1).is_some_and(|&c| !is_space(c)) {
                            return None;
                        }
                        i += 1;
                        break;
                    }
                    Some(c) => cur.push(c),
                }
            } else {
                match c {
                    None => break,
                    Some(c) if is_space(c) => break,
                    Some(b'"') => inq = true,
                    Some(b'\'') => insq = true,
                    Some(c) => cur.push(c),
                }
            }
            i += 1;
        }
        out.push(cur);
    }
}

/// Redis's `sdsneedsrepr`, plus `'` (which `sdssplitargs` would take for
/// an opening quote, so Redis could not read such a name back).
fn needs_repr(s: &[u8]) -> bool {
    s.iter()
        .any(|&c| c == b'\\' || c == b'"' || c == b'\'' || !(0x21..=0x7e).contains(&c))
}

/// Redis's `sdscatrepr`.
fn repr(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &c in s {
        match c {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x07 => out.extend_from_slice(b"\\a"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x20..=0x7e => out.push(c),
            _ => out.extend_from_slice(format!("\\x{:02x}", c).as_bytes()),
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_redis_manifest() {
        let text = b"file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.1.base.rdb seq 1 type h\nfile appendonly.aof.3.incr.aof seq 3 type i\nfile appendonly.aof.4.incr.aof seq 4 type i\n";
        let am = Manifest::parse(text).unwrap();
        assert_eq!(am.base.as_ref().unwrap().name, "appendonly.aof.2.base.rdb");
        assert_eq!(am.history.len(), 1);
        assert_eq!(am.incr.len(), 2);
        assert_eq!(am.curr_incr_seq, 4);
        assert_eq!(am.to_bytes(), text.to_vec());
    }

    #[test]
    fn quoted_names_roundtrip() {
        let mut am = Manifest::default();
        am.new_base("my file.aof", true);
        am.new_incr("my file.aof");
        let b = am.to_bytes();
        assert_eq!(
            b,
            b"file \"my file.aof.1.base.rdb\" seq 1 type b\nfile \"my file.aof.1.incr.aof\" seq 1 type i\n"
                .to_vec()
        );
        assert_eq!(Manifest::parse(&b).unwrap(), am);
    }

    #[test]
    fn errors_like_redis() {
        let e = |t: &[u8]| Manifest::parse(t).unwrap_err();
        assert_eq!(e(b""), "Found an empty AOF manifest");
        assert_eq!(
            e(b"file a seq 1 type b"),
            "The AOF manifest file contains too long line"
        );
        assert_eq!(e(b"\n"), "Invalid AOF manifest file format");
        assert_eq!(e(b"file a seq 1\n"), "Invalid AOF manifest file format");
        assert_eq!(
            e(b"file a seq 0 type b\n"),
            "Invalid AOF manifest file format"
        );
        assert_eq!(
            e(b"file a/b seq 1 type b\n"),
            "File can't be a path, just a filename"
        );
        assert_eq!(e(b"file a seq 1 type x\n"), "Unknown AOF file type");
        assert_eq!(
            e(b"file a seq 1 type b\nfile b seq 2 type b\n"),
            "Found duplicate base file information"
        );
        assert_eq!(
            e(b"file a seq 2 type i\nfile b seq 2 type i\n"),
            "Found a non-monotonic sequence number"
        );
        assert_eq!(
            e(b"file \"a seq 1 type b\n"),
            "Invalid AOF manifest file format"
        );
        let long = vec![b'a'; 2000];
        assert_eq!(e(&long), "The AOF manifest file contains too long line");
        // Comments are skipped; extra key/value pairs are accepted.
        assert!(Manifest::parse(b"# x\nfile a seq 1 type b foo bar\n").is_ok());
    }

    #[test]
    fn rewrite_bookkeeping() {
        let mut am = Manifest::default();
        am.new_base("appendonly.aof", true);
        am.new_incr("appendonly.aof");
        am.new_incr("appendonly.aof");
        am.new_base("appendonly.aof", true);
        am.mark_rewritten_incr_as_history(true);
        assert_eq!(am.base.as_ref().unwrap().name, "appendonly.aof.2.base.rdb");
        assert_eq!(am.incr.len(), 1);
        assert_eq!(am.incr[0].name, "appendonly.aof.2.incr.aof");
        let h: Vec<&str> = am.history.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(
            h,
            ["appendonly.aof.1.incr.aof", "appendonly.aof.1.base.rdb"]
        );
    }
}
