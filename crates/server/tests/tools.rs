//! The stock Redis tools against the real binary: redis-cli and
//! redis-benchmark (Debian's redis-tools; `.ci/run` installs them).
mod common;
use common::*;
use std::process::Command;

fn run(tool: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{tool} must be installed (apt-get install redis-tools): {e}"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn redis_cli_round_trip() {
    let s = Server::start(&[]);
    let p = s.port.to_string();
    assert_eq!(
        run("redis-cli", &["-p", &p, "SET", "greeting", "hello world"]).1,
        "OK\n"
    );
    assert_eq!(
        run("redis-cli", &["-p", &p, "GET", "greeting"]).1,
        "hello world\n"
    );
    assert_eq!(run("redis-cli", &["-p", &p, "INCRBY", "n", "5"]).1, "5\n");
    assert_eq!(
        run("redis-cli", &["-p", &p, "RPUSH", "l", "a", "b"]).1,
        "2\n"
    );
    assert_eq!(
        run("redis-cli", &["-p", &p, "LRANGE", "l", "0", "-1"]).1,
        "a\nb\n"
    );
    assert_eq!(run("redis-cli", &["-p", &p, "DBSIZE"]).1, "3\n");
    let (ok, info) = run("redis-cli", &["-p", &p, "INFO", "server"]);
    assert!(ok && info.contains("redis_version:7.2"), "{info}");
}

#[test]
fn redis_benchmark_completes() {
    let s = Server::start(&["--threads", "2"]);
    let p = s.port.to_string();
    let (ok, out) = run(
        "redis-benchmark",
        &[
            "-p",
            &p,
            "-t",
            "set,get,incr,mset",
            "-n",
            "2000",
            "-c",
            "20",
            "-r",
            "1000",
            "-q",
            "--csv",
        ],
    );
    assert!(ok, "redis-benchmark failed: {out}");
    for t in ["\"SET\"", "\"GET\"", "\"INCR\"", "\"MSET (10 keys)\""] {
        let line = out
            .lines()
            .find(|l| l.starts_with(t))
            .unwrap_or_else(|| panic!("{t} missing from: {out}"));
        let rps: f64 = line
            .split(',')
            .nth(1)
            .and_then(|v| v.trim_matches('"').parse().ok())
            .unwrap_or(0.0);
        assert!(rps > 0.0, "{line}");
    }
    // The data the benchmark wrote is really there.
    let (_, n) = run("redis-cli", &["-p", &p, "DBSIZE"]);
    assert!(n.trim().parse::<u64>().unwrap_or(0) > 0, "{n}");
}
