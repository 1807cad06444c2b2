//! Redis-style logging.
//!
//! Every line has Redis's layout, because operators and test harnesses grep
//! for it:
//!
//! ```text
//! 12345:M 25 Nov 2026 13:01:37.328 * Ready to accept connections tcp
//! ```
//!
//! `pid:role dd Mon yyyy hh:mm:ss.mmm <level> message`, where the level
//! character is `.` debug, `-` verbose, `*` notice and `#` warning, and the
//! role is `M` (master), `S` (replica), `C` (child / before start-up
//! completes) or `X` (sentinel). Time is local time, as Redis prints it.
//!
//! The logger is process-global (as in Redis) and safe to call from any
//! thread: the level and role are atomics, and each line is written with a
//! single write while a mutex keeps lines whole. With a log file, the file is
//! opened in append mode for every line, exactly like Redis, so rotating it
//! by renaming works without a signal.

use parking_lot::Mutex;
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Redis truncates formatted log messages to `LOG_MAX_LEN - 1` bytes.
const LOG_MAX_LEN: usize = 1024;

/// Log verbosity, ordered from most to least verbose (Redis's `LL_*`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Hash)]
pub enum Level {
    Debug = 0,
    Verbose = 1,
    Notice = 2,
    Warning = 3,
    /// Only valid as a threshold: `loglevel nothing` silences everything.
    Nothing = 4,
}

impl Level {
    /// The name used by the `loglevel` directive.
    pub fn name(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Verbose => "verbose",
            Level::Notice => "notice",
            Level::Warning => "warning",
            Level::Nothing => "nothing",
        }
    }

    /// Parses a `loglevel` value (case-insensitive).
    pub fn from_name(name: &str) -> Option<Level> {
        [
            Level::Debug,
            Level::Verbose,
            Level::Notice,
            Level::Warning,
            Level::Nothing,
        ]
        .into_iter()
        .find(|l| l.name().eq_ignore_ascii_case(name))
    }

    fn from_u8(v: u8) -> Level {
        match v {
            0 => Level::Debug,
            1 => Level::Verbose,
            2 => Level::Notice,
            3 => Level::Warning,
            _ => Level::Nothing,
        }
    }

    /// The character printed before the message.
    pub fn marker(self) -> u8 {
        match self {
            Level::Debug => b'.',
            Level::Verbose => b'-',
            Level::Notice => b'*',
            Level::Warning | Level::Nothing => b'#',
        }
    }
}

static LEVEL: AtomicU8 = AtomicU8::new(Level::Notice as u8);
static ROLE: AtomicU8 = AtomicU8::new(b'M');
/// Empty path: standard output.
static SINK: Mutex<String> = Mutex::new(String::new());

/// Sets the level and the destination (`""` = standard output).
/// A log file that cannot be opened falls back to standard output; use
/// [`set_logfile`] to get the error.
pub fn init(level: Level, logfile: &str) {
    set_level(level);
    if set_logfile(logfile).is_err() {
        SINK.lock().clear();
    }
}

pub fn set_level(level: Level) {
    LEVEL.store(level as u8, Ordering::Relaxed);
}

pub fn level() -> Level {
    Level::from_u8(LEVEL.load(Ordering::Relaxed))
}

/// Whether a message at `level` would be written; lets callers skip
/// formatting.
#[inline]
pub fn enabled(level: Level) -> bool {
    level != Level::Nothing && (level as u8) >= LEVEL.load(Ordering::Relaxed)
}

/// Sets the role character: `M` master, `S` replica, `C` child or early
/// start-up, `X` sentinel.
pub fn set_role(role: u8) {
    ROLE.store(role, Ordering::Relaxed);
}

pub fn role() -> u8 {
    ROLE.load(Ordering::Relaxed)
}

/// Switches the destination: `""` is standard output, anything else a file
/// opened in append mode (created if missing). On error the destination is
/// left unchanged.
pub fn set_logfile(path: &str) -> io::Result<()> {
    if !path.is_empty() {
        OpenOptions::new().append(true).create(true).open(path)?;
    }
    *SINK.lock() = path.to_string();
    Ok(())
}

/// The current log file (`""` for standard output).
pub fn logfile() -> String {
    SINK.lock().clone()
}

/// Logs `msg` at `level` in Redis's format (messages longer than 1023 bytes
/// are cut, as Redis does).
pub fn log(level: Level, msg: &str) {
    log_with_role(role(), level, msg);
}

/// Like [`log`] with an explicit role character for this line only.
pub fn log_with_role(role: u8, level: Level, msg: &str) {
    if !enabled(level) {
        return;
    }
    let bytes = msg.as_bytes();
    let bytes = bytes.get(..LOG_MAX_LEN - 1).unwrap_or(bytes);
    let line = format_line(std::process::id(), role, level, SystemTime::now(), bytes);
    emit(&line);
}

/// Writes `msg` as is, without prefix or newline (Redis's `LL_RAW`, used for
/// the ASCII-art logo).
pub fn log_raw(level: Level, msg: &str) {
    if enabled(level) {
        emit(msg.as_bytes());
    }
}

pub fn debug(msg: &str) {
    log(Level::Debug, msg)
}

pub fn verbose(msg: &str) {
    log(Level::Verbose, msg)
}

pub fn notice(msg: &str) {
    log(Level::Notice, msg)
}

pub fn warning(msg: &str) {
    log(Level::Warning, msg)
}

/// `log_notice!("Ready to accept connections {}", "tcp")`: formats only when
/// the level is enabled.
#[macro_export]
macro_rules! log_notice {
    ($($arg:tt)*) => {
        if $crate::log::enabled($crate::log::Level::Notice) {
            $crate::log::log($crate::log::Level::Notice, &format!($($arg)*));
        }
    };
}

#[macro_export]
macro_rules! log_warning {
    ($($arg:tt)*) => {
        if $crate::log::enabled($crate::log::Level::Warning) {
            $crate::log::log($crate::log::Level::Warning, &format!($($arg)*));
        }
    };
}

#[macro_export]
macro_rules! log_verbose {
    ($($arg:tt)*) => {
        if $crate::log::enabled($crate::log::Level::Verbose) {
            $crate::log::log($crate::log::Level::Verbose, &format!($($arg)*));
        }
    };
}

#[macro_export]
macro_rules! log_debug {
    ($($arg:tt)*) => {
        if $crate::log::enabled($crate::log::Level::Debug) {
            $crate::log::log($crate::log::Level::Debug, &format!($($arg)*));
        }
    };
}

fn emit(line: &[u8]) {
    let sink = SINK.lock();
    if sink.is_empty() {
        let mut out = io::stdout().lock();
        let _ = out.write_all(line);
        let _ = out.flush();
    } else if let Ok(mut f) = OpenOptions::new()
        .append(true)
        .create(true)
        .open(sink.as_str())
    {
        let _ = f.write_all(line);
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Broken-down local time of `secs` since the epoch.
fn local_tm(secs: i64) -> Option<libc::tm> {
    let t: libc::time_t = secs as libc::time_t;
    // SAFETY: `tm` is plain old data; localtime_r only writes into it and
    // reads `t`, and returns null on failure, which is checked.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            None
        } else {
            Some(tm)
        }
    }
}

/// `pid:role dd Mon yyyy hh:mm:ss.mmm c msg\n`
fn format_line(pid: u32, role: u8, level: Level, now: SystemTime, msg: &[u8]) -> Vec<u8> {
    let (secs, millis) = match now.duration_since(UNIX_EPOCH) {
        Ok(d) => (d.as_secs() as i64, d.subsec_millis()),
        Err(_) => (0, 0),
    };
    let stamp = match local_tm(secs) {
        Some(tm) => {
            let month = usize::try_from(tm.tm_mon)
                .ok()
                .and_then(|m| MONTHS.get(m))
                .copied()
                .unwrap_or("Jan");
            format!(
                "{:02} {} {} {:02}:{:02}:{:02}.{:03}",
                tm.tm_mday,
                month,
                i64::from(tm.tm_year) + 1900,
                tm.tm_hour,
                tm.tm_min,
                tm.tm_sec,
                millis
            )
        }
        None => format!("01 Jan 1970 00:00:00.{millis:03}"),
    };
    let mut line = Vec::with_capacity(40 + msg.len());
    line.extend_from_slice(pid.to_string().as_bytes());
    line.push(b':');
    line.push(role);
    line.push(b' ');
    line.extend_from_slice(stamp.as_bytes());
    line.push(b' ');
    line.push(level.marker());
    line.push(b' ');
    line.extend_from_slice(msg);
    line.push(b'\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn level_names_and_order() {
        assert_eq!(Level::from_name("NOTICE"), Some(Level::Notice));
        assert_eq!(Level::from_name("nothing"), Some(Level::Nothing));
        assert_eq!(Level::from_name("loud"), None);
        assert!(Level::Debug < Level::Verbose && Level::Warning < Level::Nothing);
        for l in [Level::Debug, Level::Verbose, Level::Notice, Level::Warning] {
            assert_eq!(Level::from_name(l.name()), Some(l));
        }
    }

    #[test]
    fn line_format() {
        let t = UNIX_EPOCH + Duration::from_millis(1_764_075_697_328);
        let line = format_line(5694, b'M', Level::Notice, t, b"Server initialized");
        let s = String::from_utf8(line).unwrap_or_default();
        // 5694:M 25 Nov 2025 13:01:37.328 * Server initialized (local time)
        assert!(s.starts_with("5694:M "), "{s}");
        assert!(s.ends_with(".328 * Server initialized\n"), "{s}");
        let fields: Vec<&str> = s.split(' ').collect();
        assert_eq!(fields.len(), 8, "{s}");
        assert_eq!(fields[1].len(), 2);
        assert!(MONTHS.contains(&fields[2]));
        assert_eq!(fields[3].len(), 4);
        assert_eq!(fields[4].len(), 12);
        assert_eq!(&fields[4][2..3], ":");
        let w = format_line(1, b'S', Level::Warning, t, b"x");
        assert!(String::from_utf8_lossy(&w).contains(" # x"));
        let d = format_line(1, b'C', Level::Debug, t, b"x");
        assert!(String::from_utf8_lossy(&d).starts_with("1:C "));
        assert!(String::from_utf8_lossy(&d).ends_with(" . x\n"));
        let v = format_line(1, b'M', Level::Verbose, t, b"x");
        assert!(String::from_utf8_lossy(&v).ends_with(" - x\n"));
    }

    #[test]
    fn local_time_matches_libc() {
        let tm = local_tm(0);
        assert!(tm.is_some());
    }

    /// The global logger is exercised in one test to avoid races between
    /// tests that change it.
    #[test]
    fn file_output_levels_and_threads() {
        let dir = std::env::temp_dir().join(format!("spinel-log-test-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("spinel.log");
        let _ = std::fs::remove_file(&path);
        let p = path.to_string_lossy().to_string();

        assert!(set_logfile("/nonexistent-dir/x/y.log").is_err());
        init(Level::Notice, &p);
        assert_eq!(logfile(), p);
        debug("hidden debug");
        verbose("hidden verbose");
        notice("shown notice");
        warning("shown warning");
        crate::log_notice!("formatted {}", 42);
        crate::log_debug!("never {}", 1);
        set_level(Level::Debug);
        assert_eq!(level(), Level::Debug);
        debug("shown debug");
        set_level(Level::Nothing);
        warning("hidden warning");
        assert!(!enabled(Level::Warning));
        set_level(Level::Notice);

        let threads: Vec<_> = (0..8)
            .map(|t| {
                std::thread::spawn(move || {
                    for i in 0..50 {
                        notice(&format!("thread {t} line {i}"));
                    }
                })
            })
            .collect();
        for t in threads {
            let _ = t.join();
        }
        let long = "x".repeat(5000);
        notice(&long);

        let text = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(!text.contains("hidden"));
        assert!(text.contains(" * shown notice\n"));
        assert!(text.contains(" # shown warning\n"));
        assert!(text.contains(" * formatted 42\n"));
        assert!(text.contains(" . shown debug\n"));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.iter().filter(|l| l.contains(" thread ")).count(), 400);
        for l in &lines {
            assert!(l.starts_with(&format!("{}:M ", std::process::id())), "{l}");
        }
        let last = lines.last().copied().unwrap_or("");
        assert!(last.ends_with(&"x".repeat(1023)));
        assert!(!last.ends_with(&"x".repeat(1024)));

        init(Level::Notice, "");
        assert_eq!(logfile(), "");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
