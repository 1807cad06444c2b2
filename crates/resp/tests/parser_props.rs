//! Property tests: the parser never panics on arbitrary bytes, and feeding
//! input in arbitrary splits gives the same requests (or the same error) as
//! feeding it at once.

use proptest::prelude::*;
use spinel_resp::{Argv, Limits, Parsed, Parser};

type Outcome = (Vec<Vec<Vec<u8>>>, Option<String>);

/// Parses `input` delivered in chunks cut at `cuts`.
fn run(input: &[u8], cuts: &[usize]) -> Outcome {
    let mut p = Parser::new();
    let mut argv = Argv::default();
    let lim = Limits::default();
    let mut reqs = Vec::new();
    let mut buf: Vec<u8> = Vec::new();
    let mut fed = 0;
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    points.push(input.len());
    points.sort_unstable();
    for pt in points {
        if pt > fed {
            buf.extend_from_slice(&input[fed..pt]);
            fed = pt;
        }
        loop {
            match p.parse(&buf, &lim, &mut argv) {
                Ok(Parsed::Incomplete) => break,
                Ok(Parsed::Done(n)) => {
                    let mut v = Vec::new();
                    argv.slices(&buf, &mut v);
                    reqs.push(v.iter().map(|s| s.to_vec()).collect());
                    buf.drain(..n);
                }
                Err(e) => return (reqs, Some(e.0.to_string())),
            }
        }
    }
    (reqs, None)
}

fn resp_request() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::collection::vec(any::<u8>(), 0..20), 1..5).prop_map(|args| {
        let mut v = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            v.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            v.extend_from_slice(&a);
            v.extend_from_slice(b"\r\n");
        }
        v
    })
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic_and_split_invariant(
        input in prop::collection::vec(any::<u8>(), 0..300),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let whole = run(&input, &[]);
        let split = run(&input, &cuts);
        prop_assert_eq!(whole, split);
    }

    #[test]
    fn valid_requests_roundtrip(
        reqs in prop::collection::vec(resp_request(), 1..6),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let input: Vec<u8> = reqs.concat();
        let (parsed, err) = run(&input, &cuts);
        prop_assert!(err.is_none());
        prop_assert_eq!(parsed.len(), reqs.len());
    }

    #[test]
    fn mangled_requests_split_invariant(
        req in resp_request(),
        pos in any::<usize>(),
        byte in any::<u8>(),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let mut input = req.clone();
        let i = pos % input.len();
        input[i] = byte;
        prop_assert_eq!(run(&input, &[]), run(&input, &cuts));
    }
}
