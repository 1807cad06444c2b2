//! The RDB loader and RESTORE payload decoder on arbitrary bytes: no panic,
//! no hang, memory bounded by the input (collection counts are checked
//! against the bytes left before anything is allocated).
#![no_main]

use libfuzzer_sys::fuzz_target;
use spinel_server::persist::rdb;

fuzz_target!(|data: &[u8]| {
    let lim = rdb::LoadLimits::default();
    // Whole files: with and without a valid header in front.
    let mut keys = 0usize;
    let mut sink = |_db: usize, _k: Vec<u8>, _v: spinel_keyspace::Value, _m: rdb::KeyMeta| {
        keys += 1;
        Ok(())
    };
    let _ = rdb::load(data, &lim, 16, 0, &mut sink, &mut |_| Ok(()), &mut |_| {});
    let mut file = b"REDIS0011".to_vec();
    file.extend_from_slice(data);
    let _ = rdb::load(&file, &lim, 16, 0, &mut sink, &mut |_| Ok(()), &mut |_| {});
    // RESTORE: the body decoder directly (a fuzzer can't forge the CRC),
    // and the full payload check.
    let _ = rdb::read_payload(data, &lim);
    if let Some(body) = rdb::verify_payload(data) {
        let _ = rdb::read_payload(body, &lim);
    }
});
