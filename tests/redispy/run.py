#!/usr/bin/env python3
"""Run redis-py's own test suite (from its PyPI sdist) against a server.

Steps: download the pinned redis-py sdist once (cached under target/redispy/),
extract its tests, start the server under test on 127.0.0.1:PORT (default
6379, which must be free), run pytest on the selected groups with the
exclusions of tests/redispy/excluded.txt, once per RESP protocol, and report
counts. The suite runs against the sdist's own `redis` package, not the
installed one.

Environment (all optional):
  REDISPY_VERSION     redis-py version (default %(version)s)
  REDISPY_SERVER      server binary (default target/release/spinel-server)
  REDISPY_SERVER_ARGS extra server arguments (default "--threads 2" for
                      spinel binaries, none otherwise)
  REDISPY_PORT        port (default 6379)
  REDISPY_EXTERNAL    "1": use a server already listening on the port
  REDISPY_GROUPS      comma-separated groups (default: %(default_groups)s;
                      "all" = every group); see GROUPS below
  REDISPY_PROTOCOLS   comma-separated RESP versions (default "3,2")
  REDISPY_CACHE       download/extract directory (default target/redispy)
  REDISPY_PYTEST_ARGS extra pytest arguments (shell-split), e.g. "-x -vv"
  REDISPY_RUN_TIMEOUT seconds one pytest run may take before it is killed
                      (default 900; each test also has a 20 s limit)

Exit status: 0 when no selected, non-excluded test failed; 1 otherwise;
2 on setup errors. The last line reads "redispy: N passed, M failed".
"""

import os
import re
import shlex
import signal
import subprocess
import sys
import tarfile
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO_ROOT, "tests", "diff"))

from servers import DEFAULT_SPINEL, Server, default_extra_args, port_in_use  # noqa: E402

DEFAULT_VERSION = "8.1.0"

# Test groups: name -> list of (test file, regex on the test function name
# without parameters, or None for the whole file).
_STRINGS = (
    r"test_(append|bitcount|bitcount_mode|bitop_(not|not_empty_string|not_in_place|single_string|string_operands)"
    r"|bitpos|bitpos_wrong_arguments|bitpos_mode|decr|decrby|get_and_set|getdel|getex"
    r"|getex_zero_expiry_options_are_mutually_exclusive|getitem_and_setitem|getitem_raises_keyerror_for_missing_key"
    r"|getitem_does_not_raise_keyerror_for_empty_string|get_set_bit|getrange|getset|incr|incrby|incrbyfloat"
    r"|mget|mset|msetnx|psetex|psetex_timedelta|set_nx|set_xx|set_px|set_px_timedelta|set_ex|set_ex_str"
    r"|set_ex_timedelta|set_exat_timedelta|set_pxat_timedelta|set_multipleoptions|set_keepttl"
    r"|set_zero_expiry_options_are_mutually_exclusive|set_get|setex|setnx|setrange|strlen|substr|lcs"
    r"|bitfield_operations|bitfield_ro|binary_get_set|floating_point_encoding|large_responses)"
)
_KEYS = (
    r"test_(copy|copy_and_replace|copy_to_another_database|delete|delete_with_multiple_keys|delitem|unlink"
    r"|unlink_with_multiple_keys|exists|exists_contains|expire|expire_option_(nx|xx|gt|lt)"
    r"|expireat_(datetime|no_key|unixtime)|expiretime|expireat_option_(nx|xx|gt|lt)|keys|pexpire"
    r"|pexpire_option_(nx|xx|gt|lt)|pexpireat_(datetime|no_key|unixtime)|pexpireat_option_(nx|xx|gt|lt)"
    r"|pexpiretime|pttl|pttl_no_key|randomkey|rename|renamenx|ttl|ttl_nokey|type|scan|scan_type|scan_iter"
    r"|dbsize|object|move|touch)"
)
_CONNECTION = (
    r"test_(ping|echo|select|reset|quit|time|case_insensitive_command_names|command_on_invalid_key_type"
    r"|client_getname|client_setname|client_id|client_info|client_list|client_list_after_client_setname"
    r"|client_no_evict|client_no_touch|client_setinfo|hello_notI_implemented|response_callbacks"
    r"|never_decode_option|empty_response_option)"
)
_LISTS = r"test_(b?[lr]pop.*|b?lmove|b?rpoplpush.*|b?lmpop|lindex|linsert|llen|lpop_count|lpush.*|lrange|lrem|lset|ltrim|rpop_count|rpush.*|lpos|binary_lists|lists_with_.*)"
_HASHES = r"test_(h[a-z]+.*|hget_and_hset.*)"
_SETS = r"test_(s(add|card|diff.*|inter.*|ismember|members|mismember|move|pop.*|randmember.*|rem|union.*|scan.*))"
_ZSETS = r"test_(b?z[a-z]+.*)"
_SORT = r"test_sort.*"

GROUPS = {
    "strings": [("tests/test_commands.py", _STRINGS)],
    "keys": [("tests/test_commands.py", _KEYS)],
    "connection": [("tests/test_commands.py", _CONNECTION)],
    "encoding": [("tests/test_encoding.py", None)],
    "client": [("tests/test_connection.py", None)],
    "lists": [("tests/test_commands.py", _LISTS)],
    "hashes": [("tests/test_commands.py", _HASHES)],
    "sets": [("tests/test_commands.py", _SETS)],
    "zsets": [("tests/test_commands.py", _ZSETS)],
    "sort": [("tests/test_commands.py", _SORT)],
    # pipelines and transactions (MULTI/EXEC/WATCH through redis-py's Pipeline)
    "pipeline": [("tests/test_pipeline.py", None)],
    # Not in the default run yet (the whole command suite includes groups
    # Spinel does not implement yet: streams, geo, ACL, replication).
    "commands": [("tests/test_commands.py", None)],
    "pubsub": [("tests/test_pubsub.py", None)],
    "scripting": [("tests/test_scripting.py", None)],
    "lock": [("tests/test_lock.py", None)],
}
DEFAULT_GROUPS = ("strings", "keys", "connection", "encoding", "client", "lists", "hashes", "sets", "zsets", "sort",
                  "pipeline", "pubsub", "scripting", "lock")

# Tests that need what a single standalone server cannot give (a cluster,
# modules, a replica, TLS) are deselected by marker, as redis-py's own CI does.
MARKER_EXPR = ("not onlycluster and not redismod and not replica and not ssl"
               " and not cp_integration and not multidb_integration")

PYTEST_INI = """\
[pytest]
# Written by Spinel's tests/redispy/run.py (replaces the sdist's pyproject
# settings, which need plugins this run does not install).
markers =
    fixed_client
    redismod
    pipeline
    onlycluster
    onlynoncluster
    ssl
    asyncio
    replica
    experimental
    cp_integration
    no_mock_connections
    multidb_integration
    forked
timeout = 20
filterwarnings = ignore
"""


def log(msg):
    print("redispy: " + msg, flush=True)


def fail_setup(msg):
    log("SETUP ERROR: " + msg)
    print("redispy: 0 passed, 1 failed")
    sys.exit(2)


def fetch_suite(version, cache):
    """Download and extract the redis-py sdist; returns the extracted root."""
    os.makedirs(cache, exist_ok=True)
    root = os.path.join(cache, "redis-%s" % version)
    marker = os.path.join(root, ".spinel-extracted")
    if not os.path.exists(marker):
        sdist = os.path.join(cache, "redis-%s.tar.gz" % version)
        if not os.path.exists(sdist):
            log("downloading redis-py %s sdist" % version)
            cmd = [sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps",
                   "--disable-pip-version-check", "-q", "redis==%s" % version, "-d", cache]
            rc = subprocess.call(cmd)
            if rc != 0 or not os.path.exists(sdist):
                fail_setup("could not download the redis-py %s sdist (%s)" % (version, shlex.join(cmd)))
        with tarfile.open(sdist) as tar:
            members = [m for m in tar.getmembers()
                       if m.name.startswith("redis-%s/" % version) and ".." not in m.name]
            tar.extractall(cache, members=members, filter="data")
        open(marker, "w").close()
    with open(os.path.join(root, "pytest.ini"), "w") as f:
        f.write(PYTEST_INI)
    return root


def read_excluded(path):
    """Node ids to deselect; every line needs a '# reason'."""
    excluded = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            nodeid, sep, reason = line.partition("#")
            nodeid = nodeid.strip()
            if not sep or not reason.strip():
                fail_setup("%s:%d: excluded test without a reason: %s" % (path, n, nodeid))
            excluded[nodeid] = reason.strip()
    return excluded


def collect(root, files, env):
    """Node ids of the given test files (pytest --collect-only)."""
    cmd = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
           "-m", MARKER_EXPR] + files
    try:
        out = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=180)
    except subprocess.TimeoutExpired:
        fail_setup("pytest --collect-only took more than 180 s (is the server answering INFO?)")
    ids = [line.strip() for line in out.stdout.splitlines() if "::" in line and not line.startswith(" ")]
    if not ids:
        tail = (out.stdout + out.stderr).strip().splitlines()[-25:]
        fail_setup("pytest collected no tests (exit %d); output tail:\n%s" % (out.returncode, "\n".join(tail)))
    return ids


def select(ids, groups):
    chosen = []
    seen = set()
    for group in groups:
        for path, pattern in GROUPS[group]:
            rx = re.compile(pattern) if pattern else None
            for nodeid in ids:
                if not nodeid.startswith(path + "::"):
                    continue
                func = nodeid.rsplit("::", 1)[-1].split("[", 1)[0]
                if rx is None or rx.fullmatch(func):
                    if nodeid not in seen:
                        seen.add(nodeid)
                        chosen.append(nodeid)
    return chosen


def _nodeid(case):
    """pytest node id of a junit (xunit1) testcase, as excluded.txt wants it."""
    classname = case.get("classname", "")
    name = case.get("name", "")
    path = case.get("file")
    if path:
        module = path[:-3].replace("/", ".") if path.endswith(".py") else path
        rest = classname[len(module):].lstrip(".") if classname.startswith(module) else ""
        return "::".join(p for p in (path, rest, name) if p)
    return "%s::%s" % (classname, name)


def parse_junit(path):
    """Returns (passed, failed_ids, skipped) from a junit xml file."""
    passed = skipped = 0
    failed = []
    tree = ET.parse(path)
    for case in tree.iter("testcase"):
        name = _nodeid(case)
        kids = {child.tag for child in case}
        if "failure" in kids or "error" in kids:
            failed.append(name)
        elif "skipped" in kids:
            skipped += 1
        else:
            passed += 1
    return passed, failed, skipped


def run_bounded(cmd, cwd, env, limit):
    """Run cmd; returns its exit status, or None when it ran past `limit` seconds."""
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, start_new_session=True)
    try:
        return proc.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return None


def main():
    sys.stdout.reconfigure(line_buffering=True)
    version = os.environ.get("REDISPY_VERSION", DEFAULT_VERSION)
    port = int(os.environ.get("REDISPY_PORT", "6379"))
    external = os.environ.get("REDISPY_EXTERNAL") == "1"
    binary = os.environ.get("REDISPY_SERVER") or os.environ.get("SPINEL_BIN") or DEFAULT_SPINEL
    extra = os.environ.get("REDISPY_SERVER_ARGS")
    extra = default_extra_args(binary) if extra is None else shlex.split(extra)
    group_names = [g for g in os.environ.get("REDISPY_GROUPS", ",".join(DEFAULT_GROUPS)).split(",") if g]
    if group_names == ["all"]:
        group_names = list(GROUPS)
    unknown = [g for g in group_names if g not in GROUPS]
    if unknown:
        fail_setup("unknown groups %s (known: %s)" % (unknown, ", ".join(GROUPS)))
    protocols = [p for p in os.environ.get("REDISPY_PROTOCOLS", "3,2").split(",") if p]
    cache = os.environ.get("REDISPY_CACHE") or os.path.join(REPO_ROOT, "target", "redispy")
    extra_pytest = shlex.split(os.environ.get("REDISPY_PYTEST_ARGS", ""))
    run_timeout = int(os.environ.get("REDISPY_RUN_TIMEOUT", "900"))

    root = fetch_suite(version, cache)
    excluded = read_excluded(os.path.join(HERE, "excluded.txt"))

    server = None
    if external:
        if not port_in_use(port):
            fail_setup("REDISPY_EXTERNAL=1 but nothing listens on 127.0.0.1:%d" % port)
    else:
        if port_in_use(port):
            fail_setup(
                "port %d is already in use. redis-py's suite needs a server of its own on "
                "localhost:%d: stop whatever listens there (e.g. `service redis-server stop`), "
                "or set REDISPY_PORT to a free port." % (port, port)
            )
        server = Server(binary, "redispy-server", extra, port=port, log_dir=cache)
        try:
            server.start()
        except RuntimeError as e:
            fail_setup(str(e))
        log("server %s on 127.0.0.1:%d" % (shlex.join([binary] + extra), port))

    env = dict(os.environ)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.pop("PYTHONPATH", None)
    url = "redis://localhost:%d/0" % port
    total_passed = total_skipped = 0
    all_failed = []
    problems = []
    try:
        files = sorted({path for g in group_names for path, _ in GROUPS[g]})
        ids = collect(root, files + ["--redis-url=" + url], env)
        chosen = select(ids, group_names)
        chosen_set = set(chosen)
        unknown_excl = [e for e in excluded if e not in ids]
        selected = [i for i in chosen if i not in excluded]
        log("redis-py %s, groups %s: %d tests selected, %d excluded (tests/redispy/excluded.txt)"
            % (version, ",".join(group_names), len(selected), len(chosen_set & set(excluded))))
        if unknown_excl:
            log("note: %d excluded ids are not in this redis-py version: %s"
                % (len(unknown_excl), ", ".join(unknown_excl[:5])))
        for proto in protocols:
            junit = os.path.join(cache, "junit-resp%s.xml" % proto)
            if os.path.exists(junit):
                os.remove(junit)
            cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfE", "-m", MARKER_EXPR,
                   "--redis-url=" + url, "--protocol=" + proto, "--junitxml=" + junit,
                   "-o", "junit_family=xunit1"] + extra_pytest + selected
            log("running %d tests with RESP%s" % (len(selected), proto))
            t0 = time.monotonic()
            rc = run_bounded(cmd, root, env, run_timeout)
            took = time.monotonic() - t0
            if rc is None:
                problems.append("pytest (RESP%s) killed after %ds (REDISPY_RUN_TIMEOUT)" % (proto, run_timeout))
                continue
            if server is not None and not server.alive():
                problems.append("server exited during the RESP%s run; log tail:\n%s" % (proto, server.log_tail()))
            if not os.path.exists(junit):
                problems.append("pytest (RESP%s) exited %d without a report" % (proto, rc))
                continue
            passed, failed, skipped = parse_junit(junit)
            if rc not in (0, 1):
                problems.append("pytest (RESP%s) exited with status %d" % (proto, rc))
            if passed == 0:
                problems.append("no test passed with RESP%s" % proto)
            log("RESP%s: %d passed, %d failed, %d skipped in %.1fs" % (proto, passed, len(failed), skipped, took))
            total_passed += passed
            total_skipped += skipped
            all_failed += ["[RESP%s] %s" % (proto, f) for f in failed]
            if server is not None and not server.alive():
                server.start()
    finally:
        if server is not None:
            server.stop()

    if all_failed:
        log("failed tests (add to tests/redispy/excluded.txt only with a reason):")
        for f in all_failed:
            print("  " + f)
    for p in problems:
        log("ERROR: " + p)
    n_failed = len(all_failed) + len(problems)
    print("redispy: %d passed, %d failed, %d skipped" % (total_passed, n_failed, total_skipped))
    return 1 if n_failed else 0


__doc__ = __doc__ % {"version": DEFAULT_VERSION, "default_groups": ",".join(DEFAULT_GROUPS)}

if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        sys.exit(0)
    sys.exit(main())
