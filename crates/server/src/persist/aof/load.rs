//! Start-up loading of the append-only file (Redis 7.2's
//! `loadAppendOnlyFiles` / `loadSingleAppendOnlyFile`): the manifest's
//! base file (an RDB image when it starts with `REDIS`, else commands),
//! then each incremental file in order. Commands are replayed through the
//! normal command table by an internal client; the writer is not attached
//! yet, so nothing loaded is appended again. An old single `appendfilename`
//! in `dir` is moved into the directory first (Redis's upgrade).
//!
//! [`replay`] is the file format on its own (no server), used by the loader
//! and the fuzz target.

use super::manifest::{self, Manifest};
use crate::log;
use crate::server::Server;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Redis's `AOF_ANNOTATION_LINE_MAX_LEN`: `fgets` reads at most this
/// minus one bytes of a line at a time.
const LINE_MAX: usize = 1024;

/// How replaying one file ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replay {
    /// Every command was read and run.
    Ok,
    /// The file ends in the middle of a command (or inside MULTI without
    /// EXEC): everything up to `valid_up_to` was run.
    Truncated {
        valid_up_to: usize,
        reverted_multi: bool,
    },
    /// Not the AOF format at `offset`.
    Format { offset: usize },
    /// A command the server does not know, or an RDB preamble that failed
    /// to load (already described by the callback).
    Failed(String),
}

/// The result of running one command for [`replay`]: `Err` stops the load
/// with that message (an unknown command).
pub type Exec<'a> = dyn FnMut(&[&[u8]]) -> Result<(), String> + 'a;

/// Loads an RDB preamble; returns the bytes it took.
pub type Preamble<'a> = dyn FnMut(&[u8]) -> Result<usize, String> + 'a;

/// One `fgets(buf, LINE_MAX, fp)`: up to LINE_MAX - 1 bytes or through the
/// newline. None at end of file.
fn fgets(data: &[u8], pos: usize) -> Option<&[u8]> {
    let rest = data.get(pos..).filter(|r| !r.is_empty())?;
    let lim = rest.len().min(LINE_MAX - 1);
    let head = rest.get(..lim)?;
    Some(match head.iter().position(|&c| c == b'\n') {
        Some(p) => head.get(..=p).unwrap_or(head),
        None => head,
    })
}

/// C's `atoi`/`strtol` on a line: optional sign and digits, 0 if none.
fn leading_int(b: &[u8]) -> i64 {
    let mut i = 0;
    while b.get(i).is_some_and(|c| *c == b' ' || *c == b'\t') {
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
        v = v.saturating_mul(10).saturating_add((c - b'0') as i64);
        i += 1;
    }
    if neg {
        -v
    } else {
        v
    }
}

/// Replays an AOF file image: an optional RDB preamble (`REDIS` magic),
/// then RESP multibulk commands; `#` lines (`#TS:` annotations) are
/// skipped. Never panics; memory is bounded by the input.
pub fn replay(data: &[u8], preamble: &mut Preamble, exec: &mut Exec) -> Replay {
    let mut pos = 0usize;
    if data.starts_with(b"REDIS") {
        match preamble(data) {
            Ok(n) => pos = n.min(data.len()),
            Err(e) => return Replay::Failed(e),
        }
    }
    let mut valid_up_to = pos;
    let mut valid_before_multi = pos;
    let mut in_multi = false;
    let truncated = |valid_up_to| Replay::Truncated {
        valid_up_to,
        reverted_multi: false,
    };
    loop {
        let start = pos;
        let Some(line) = fgets(data, pos) else {
            break;
        };
        pos += line.len();
        if line.first() == Some(&b'#') {
            // Annotation: skip the rest of a long line too.
            if line.last() != Some(&b'\n') {
                match data
                    .get(pos..)
                    .and_then(|r| r.iter().position(|&c| c == b'\n'))
                {
                    Some(p) => pos += p + 1,
                    None => pos = data.len(),
                }
            }
            continue;
        }
        if line.first() != Some(&b'*') {
            return Replay::Format { offset: start };
        }
        if line.len() == 1 {
            return truncated(valid_up_to);
        }
        let argc = leading_int(line.get(1..).unwrap_or(&[]));
        if argc < 1 || argc > i32::MAX as i64 {
            return Replay::Format { offset: start };
        }
        let argc = argc as usize;
        // Each argument takes at least 4 bytes ("$0\r\n"): no allocation
        // beyond what the input can back.
        let mut argv: Vec<&[u8]> =
            Vec::with_capacity(argc.min(data.len().saturating_sub(pos) / 4 + 1));
        for _ in 0..argc {
            let at = pos;
            let Some(l) = fgets(data, pos) else {
                return truncated(valid_up_to);
            };
            if l.first() != Some(&b'$') {
                return Replay::Format { offset: at };
            }
            pos += l.len();
            let len = leading_int(l.get(1..).unwrap_or(&[]));
            if len < 0 {
                return Replay::Format { offset: at };
            }
            let len = len as u64;
            let avail = data.len().saturating_sub(pos) as u64;
            if len > avail {
                return truncated(valid_up_to);
            }
            let Some(arg) = data.get(pos..pos + len as usize) else {
                return truncated(valid_up_to);
            };
            argv.push(arg);
            pos += len as usize;
            // The CRLF after the argument (not checked, as in Redis).
            if data.len() - pos < 2 {
                return truncated(valid_up_to);
            }
            pos += 2;
        }
        let name = argv.first().copied().unwrap_or(&[]);
        if name.eq_ignore_ascii_case(b"multi") {
            valid_before_multi = valid_up_to;
            in_multi = true;
        } else if name.eq_ignore_ascii_case(b"exec") || name.eq_ignore_ascii_case(b"discard") {
            in_multi = false;
        }
        if let Err(e) = exec(&argv) {
            return Replay::Failed(e);
        }
        valid_up_to = pos;
    }
    if in_multi {
        return Replay::Truncated {
            valid_up_to: valid_before_multi,
            reverted_multi: true,
        };
    }
    Replay::Ok
}

// ------------------------------------------------------------------ server side

/// Outcome of loading one file (Redis's `AOF_OK`, `AOF_EMPTY`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileResult {
    Ok,
    Empty,
    Truncated,
    Failed,
}

/// The AOF directory and file names from the config.
pub struct Paths {
    pub dir: PathBuf,
    pub filename: String,
}

impl Paths {
    pub fn of(srv: &Server) -> Paths {
        Paths {
            dir: PathBuf::from(srv.config.appenddirname()),
            filename: srv.config.appendfilename(),
        }
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

fn file_size(p: &Path) -> std::io::Result<u64> {
    std::fs::metadata(p).map(|m| m.len())
}

/// Loads one file of the AOF (`loadSingleAppendOnlyFile`).
fn load_file(srv: &'static Server, paths: &Paths, name: &str, old_style: bool) -> FileResult {
    let path = paths.file(name);
    let bytes = match super::super::FileBytes::open(&path.to_string_lossy()) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            log::warning(&format!(
                "The append log file {} doesn't exist: {}",
                name, e
            ));
            return FileResult::Failed;
        }
        Err(e) => {
            log::warning(&format!(
                "Fatal error: can't open the append log file {} for reading: {}",
                name, e
            ));
            return FileResult::Failed;
        }
    };
    let data = bytes.as_slice();
    if data.is_empty() {
        return FileResult::Empty;
    }
    let mut preamble = |d: &[u8]| -> Result<usize, String> {
        if old_style {
            log::notice("Reading RDB preamble from AOF file...");
        } else {
            log::notice("Reading RDB base file on AOF loading...");
        }
        let r = super::super::load_bytes(srv, d, None);
        match r {
            Ok((sum, libs)) => {
                if let Err(e) = super::super::apply_functions(srv, libs) {
                    log::warning(&e);
                    return Err(String::new());
                }
                log::notice(&format!(
                    "Done loading RDB, keys loaded: {}, keys expired: {}.",
                    sum.loaded, sum.expired
                ));
                if old_style {
                    log::notice("Reading the remaining AOF tail...");
                }
                Ok(sum.end)
            }
            Err(e) => {
                for line in super::super::describe(name, &e) {
                    log::warning(&line);
                }
                log::warning(&if old_style {
                    format!(
                        "Error reading the RDB preamble of the AOF file {}, AOF loading aborted",
                        name
                    )
                } else {
                    format!(
                        "Error reading the RDB base file {}, AOF loading aborted",
                        name
                    )
                });
                Err(String::new())
            }
        }
    };
    let shared = srv.clients.new_shared(String::new(), String::new(), -1);
    let mut client = crate::client::Client::new(shared, 0, true);
    let mut out = spinel_resp::ReplyBuf::new(false);
    let wstats = srv.stats.worker(0);
    // Commands run as Redis's AOF client runs them: straight to the
    // handler (no maxmemory, MISCONF or ACL checks), replies dropped,
    // MULTI queued and EXEC'd.
    let mut exec = |argv: &[&[u8]]| -> Result<(), String> {
        let name0 = || String::from_utf8_lossy(argv.first().copied().unwrap_or(&[])).into_owned();
        let Some(cmd) = crate::dispatch::resolve(srv, argv) else {
            return Err(format!(
                "Unknown command '{}' reading the append only file {}",
                name0(),
                name
            ));
        };
        let Some(handler) = cmd.handler else {
            return Err(format!(
                "Unknown command '{}' reading the append only file {}",
                name0(),
                name
            ));
        };
        let argc = argv.len() as i64;
        if (cmd.arity > 0 && cmd.arity != argc) || argc < -cmd.arity {
            return Err(format!(
                "Wrong number of arguments for '{}' reading the append only file {}",
                name0(),
                name
            ));
        }
        if client.multi.is_some() && !matches!(cmd.name, "exec" | "discard" | "multi") {
            if let Some(q) = client.multi.as_mut() {
                q.push(argv.iter().map(|a| a.to_vec()).collect());
            }
        } else if cmd.name == "exec" {
            crate::cmd::multi::exec(srv, &mut client, &mut out, wstats);
        } else {
            crate::dispatch::run_command(srv, &mut client, &mut out, argv, cmd, handler, wstats);
        }
        out.buf.clear();
        // A blocking command never blocks while loading.
        client.block = None;
        Ok(())
    };
    let r = replay(data, &mut preamble, &mut exec);
    drop(bytes);
    match r {
        Replay::Ok => FileResult::Ok,
        Replay::Failed(msg) => {
            if !msg.is_empty() {
                log::warning(&msg);
            }
            FileResult::Failed
        }
        Replay::Format { offset } => {
            log::warning(&format!(
                "Bad file format reading the append only file {}: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>",
                name
            ));
            log::warning(&format!(
                "Bad file format at offset {} of the append only file {}",
                offset, name
            ));
            FileResult::Failed
        }
        Replay::Truncated {
            valid_up_to,
            reverted_multi,
        } => {
            if reverted_multi {
                log::warning(&format!(
                    "Revert incomplete MULTI/EXEC transaction in AOF file {}",
                    name
                ));
            }
            if srv.config.get_bool("aof-load-truncated").unwrap_or(true) {
                log::warning(&format!(
                    "!!! Warning: short read while loading the AOF file {}!!!",
                    name
                ));
                log::warning(&format!(
                    "!!! Truncating the AOF {} at offset {} !!!",
                    name, valid_up_to
                ));
                let t = std::fs::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .and_then(|f| f.set_len(valid_up_to as u64));
                match t {
                    Ok(()) => {
                        log::warning(&format!(
                            "AOF {} loaded anyway because aof-load-truncated is enabled",
                            name
                        ));
                        return FileResult::Truncated;
                    }
                    Err(e) => {
                        log::warning(&format!("Error truncating the AOF file {}: {}", name, e))
                    }
                }
            }
            log::warning(&format!(
                "Unexpected end of file reading the append only file {}. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server.",
                name
            ));
            FileResult::Failed
        }
    }
}

/// Moves an old single-file AOF into the directory (`aofUpgradePrepare`).
fn upgrade(paths: &Paths, am: &mut Manifest) -> Result<(), String> {
    std::fs::create_dir_all(&paths.dir).map_err(|e| {
        format!(
            "Can't open or create append-only dir {}: {}",
            paths.dir.display(),
            e
        )
    })?;
    *am = Manifest {
        base: Some(manifest::AofInfo {
            name: paths.filename.clone(),
            seq: 1,
            kind: manifest::FileType::Base,
        }),
        curr_base_seq: 1,
        ..Manifest::default()
    };
    manifest::persist(&paths.dir, &paths.filename, am)
        .map_err(|e| format!("Can't persist the AOF manifest file: {}", e))?;
    std::fs::rename(&paths.filename, paths.file(&paths.filename)).map_err(|e| {
        format!(
            "Error trying to move the old AOF file {} into dir {}: {}",
            paths.filename,
            paths.dir.display(),
            e
        )
    })?;
    let _ = manifest::fsync_dir(&paths.dir);
    log::notice(&format!(
        "Successfully migrated an old-style AOF file ({}) into the AOF directory ({}).",
        paths.filename,
        paths.dir.display()
    ));
    Ok(())
}

/// Reads the manifest (an empty one when there is no directory or file).
pub fn read_manifest(paths: &Paths) -> Result<Manifest, String> {
    if !paths.dir.is_dir() {
        return Ok(Manifest::default());
    }
    Ok(manifest::load(&paths.dir, &paths.filename)?.unwrap_or_default())
}

/// `loadAppendOnlyFiles`: false when start-up must stop (logged). Returns
/// the manifest to go on with and the base size.
fn load_all(srv: &'static Server, paths: &Paths, am: &mut Manifest) -> Result<(), ()> {
    /// Nothing expires while the files replay (Redis's `server.loading`);
    /// keys whose time has passed go once the server runs.
    struct Loading;
    impl Drop for Loading {
        fn drop(&mut self) {
            spinel_keyspace::shard::set_loading(false);
        }
    }
    spinel_keyspace::shard::set_loading(true);
    let _loading = Loading;
    let old = Path::new(&paths.filename);
    if old.is_file() {
        let dir_missing = !paths.dir.is_dir();
        let empty = am.base.is_none() && am.incr.is_empty();
        let only_old_base = am.incr.is_empty()
            && am.base.as_ref().is_some_and(|b| b.name == paths.filename)
            && !paths.file(&paths.filename).exists();
        if dir_missing || empty || only_old_base {
            if let Err(e) = upgrade(paths, am) {
                log::warning(&e);
                return Err(());
            }
        }
    }
    if am.base.is_none() && am.incr.is_empty() {
        return Ok(());
    }
    let files: Vec<manifest::AofInfo> = am.files_in_order().into_iter().cloned().collect();
    let mut total = 0u64;
    let mut base_size = 0u64;
    for f in &files {
        match file_size(&paths.file(&f.name)) {
            Ok(n) => {
                total += n;
                if f.kind == manifest::FileType::Base {
                    base_size = n;
                }
            }
            Err(e) => {
                log::warning(&format!(
                    "Unable to obtain the AOF file {} length. stat: {}",
                    f.name, e
                ));
                return Err(());
            }
        }
    }
    if total == 0 {
        return Ok(());
    }
    super::rewrite::set_loading(true, total);
    let n = files.len();
    for (i, f) in files.iter().enumerate() {
        let last = i + 1 == n;
        let t0 = Instant::now();
        let old_style = f.name == paths.filename;
        let r = load_file(srv, paths, &f.name, old_style);
        if r == FileResult::Ok || (r == FileResult::Truncated && last) {
            log::notice(&format!(
                "DB loaded from {} file {}: {:.3} seconds",
                if f.kind == manifest::FileType::Base {
                    "base"
                } else {
                    "incr"
                },
                f.name,
                t0.elapsed().as_secs_f64()
            ));
        }
        let failed = match r {
            FileResult::Truncated if !last => {
                log::warning("Fatal error: the truncated file is not the last file");
                true
            }
            FileResult::Failed => true,
            _ => false,
        };
        if failed {
            super::rewrite::set_loading(false, 0);
            return Err(());
        }
    }
    super::rewrite::set_loading(false, 0);
    super::rewrite::loaded_sizes(total, base_size);
    Ok(())
}

/// Start-up with `appendonly yes`: loads the AOF, creates the base and
/// incremental files when needed, removes history files and attaches the
/// writer (`loadDataFromDisk` + `aofOpenIfNeededOnServerStart` +
/// `aofDelHistoryFiles`). False when start-up must stop (logged).
pub fn start(srv: &'static Server) -> bool {
    let paths = Paths::of(srv);
    let mut am = match read_manifest(&paths) {
        Ok(am) => am,
        Err(e) => {
            log::warning(&e);
            return false;
        }
    };
    let t0 = Instant::now();
    let had_files =
        am.base.is_some() || !am.incr.is_empty() || Path::new(&paths.filename).is_file();
    if load_all(srv, &paths, &mut am).is_err() {
        return false;
    }
    // What loading did is not command traffic (the dirty counter keeps
    // the replayed changes, as in Redis).
    srv.stats.reset();
    if had_files {
        log::notice(&format!(
            "DB loaded from append only file: {:.3} seconds",
            t0.elapsed().as_secs_f64()
        ));
    }
    match super::rewrite::open_on_start(srv, &paths, &mut am) {
        Ok(()) => {
            super::rewrite::del_history(srv, &paths, &mut am);
            super::rewrite::install_manifest(am);
            true
        }
        Err(e) => {
            log::warning(&e);
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(data: &[u8]) -> (Replay, Vec<Vec<Vec<u8>>>) {
        let mut cmds = Vec::new();
        let r = replay(data, &mut |_| Err("no rdb".into()), &mut |a| {
            cmds.push(a.iter().map(|x| x.to_vec()).collect());
            Ok(())
        });
        (r, cmds)
    }

    #[test]
    fn commands_and_annotations() {
        let (r, c) = run(b"#TS:123\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nset\r\n$1\r\na\r\n$1\r\nb\r\n");
        assert_eq!(r, Replay::Ok);
        assert_eq!(c.len(), 2);
        assert_eq!(c[1], vec![b"set".to_vec(), b"a".to_vec(), b"b".to_vec()]);
    }

    #[test]
    fn truncated_tail() {
        let full = b"*3\r\n$3\r\nset\r\n$1\r\na\r\n$1\r\nb\r\n";
        for cut in 1..full.len() {
            let mut d = full.to_vec();
            d.extend_from_slice(&full[..cut]);
            let (r, c) = run(&d);
            assert_eq!(
                r,
                Replay::Truncated {
                    valid_up_to: full.len(),
                    reverted_multi: false
                },
                "cut {}",
                cut
            );
            assert_eq!(c.len(), 1);
        }
    }

    #[test]
    fn multi_without_exec_is_reverted() {
        let d = b"*1\r\n$4\r\nPING\r\n*1\r\n$5\r\nMULTI\r\n*1\r\n$4\r\nPING\r\n";
        let (r, _) = run(d);
        assert_eq!(
            r,
            Replay::Truncated {
                valid_up_to: 14,
                reverted_multi: true
            }
        );
    }

    #[test]
    fn format_errors() {
        assert_eq!(run(b"hello\r\n").0, Replay::Format { offset: 0 });
        assert_eq!(
            run(b"*1\r\n$4\r\nPING\r\n*0\r\n").0,
            Replay::Format { offset: 14 }
        );
        assert_eq!(run(b"*1\r\nx\r\n").0, Replay::Format { offset: 4 });
        assert_eq!(run(b"*1\r\n$-5\r\n").0, Replay::Format { offset: 4 });
        // Huge counts are bounded by the input.
        assert!(matches!(
            run(b"*2000000000\r\n$1\r\na\r\n").0,
            Replay::Truncated { .. }
        ));
    }
}
