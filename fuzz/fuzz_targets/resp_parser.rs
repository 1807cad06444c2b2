//! Fuzzes the RESP request parser: arbitrary bytes, fed whole and in two
//! pieces, must never panic and must give the same result both ways.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spinel_resp::{Argv, Limits, Parsed, Parser};

fn run(data: &[u8], cut: usize) -> (usize, Option<&'static str>) {
    let mut p = Parser::new();
    let mut argv = Argv::default();
    let lim = Limits { max_bulk_len: 1 << 20, unauthenticated: false };
    let mut buf: Vec<u8> = data[..cut].to_vec();
    let mut n = 0;
    let mut rest = &data[cut..];
    loop {
        match p.parse(&buf, &lim, &mut argv) {
            Ok(Parsed::Done(k)) => {
                n += 1;
                buf.drain(..k);
            }
            Ok(Parsed::Incomplete) => {
                if rest.is_empty() {
                    return (n, None);
                }
                buf.extend_from_slice(rest);
                rest = &[];
            }
            Err(e) => return (n, Some(e.0)),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let cut = if data.is_empty() { 0 } else { data[0] as usize % (data.len() + 1) };
    assert_eq!(run(data, 0.min(data.len())), run(data, cut));
});
