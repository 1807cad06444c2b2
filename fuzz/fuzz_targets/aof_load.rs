//! The AOF loader on arbitrary bytes: the manifest parser and the command
//! stream reader (with an RDB preamble when the input starts with `REDIS`)
//! never panic, never hang, and allocate no more than the input backs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spinel_server::persist::aof::{load, manifest};
use spinel_server::persist::rdb;

fuzz_target!(|data: &[u8]| {
    if let Ok(am) = manifest::Manifest::parse(data) {
        // What parses serializes back to something that parses the same
        // (a manifest of comments only serializes to an empty file; names
        // are kept as UTF-8, so other bytes in names do not round-trip; as
        // in Redis, a line quoting grew past 1024 bytes does not read back).
        let listed = am.base.is_some() || !am.incr.is_empty() || !am.history.is_empty();
        let text = am.to_bytes();
        let short = text.split(|&c| c == b'\n').all(|l| l.len() < 1000);
        if listed && short && std::str::from_utf8(data).is_ok() {
            let again = manifest::Manifest::parse(&text);
            assert_eq!(again.as_ref().ok(), Some(&am));
        }
    }
    let _ = manifest::split_args(data);
    let lim = rdb::LoadLimits::default();
    let mut preamble = |d: &[u8]| -> Result<usize, String> {
        let mut sink =
            |_db: usize, _k: Vec<u8>, _v: spinel_keyspace::Value, _m: rdb::KeyMeta| Ok(());
        rdb::load(d, &lim, 16, 0, &mut sink, &mut |_| Ok(()), &mut |_| {})
            .map(|s| s.end)
            .map_err(|_| String::new())
    };
    let mut args = 0usize;
    let mut exec = |argv: &[&[u8]]| -> Result<(), String> {
        args += argv.len();
        Ok(())
    };
    let _ = load::replay(data, &mut preamble, &mut exec);
});
