"""Random command sequences for the differential harness.

`generate(seed, count, families)` returns script lines (the case-file format
of script.py) that are deterministic for a seed, so a failing sequence can be
reproduced and saved:  python3 tests/diff/gen.py --seed 7 --count 500 > /tmp/x.txt

Every generated command must get the same reply from two correct servers run
side by side, so the generator avoids timing races:
- relative TTLs come from a pool of distinct values at least 100 s apart
  (EXPIRE ... GT/LT compare absolute times, so near-equal values would race);
- absolute expiry times are either in the past (immediate delete) or far in
  the future (year 2096+), never near "now";
- TTL/PTTL/EXPIRETIME/PEXPIRETIME/RANDOMKEY are compared by type only (`!`),
  KEYS as a multiset (`~`), SCAN through `@scan`;
- where Valkey 8 (the usual reference) differs from Redis 7.2, the generator
  does not go: no `BITCOUNT key start` without end, OBJECT REFCOUNT by type
  only, OBJECT ENCODING with embstr == raw (`%`);
- no offsets that would allocate huge strings.

Families are registered with @family(name, weight). Adding a data type means
adding a family function that returns one line (or a list of lines) using
the shared key space `g.key()`. Families named in DEFAULT_FAMILIES run when
none are given.
"""

import argparse
import random

FAMILIES = {}


def family(name, weight):
    def register(fn):
        FAMILIES[name] = (weight, fn)
        return fn

    return register


# Families that run by default (every one registered below).
DEFAULT_FAMILIES = (
    "strings", "bits", "keyspace", "errors", "containers", "lists", "hashes", "sets", "zsets", "resp",
)

I64_MAX = 9223372036854775807
I64_MIN = -9223372036854775808


class Gen:
    def __init__(self, seed, families=None):
        self.rng = random.Random(seed)
        names = list(families or DEFAULT_FAMILIES)
        unknown = [n for n in names if n not in FAMILIES]
        if unknown:
            raise ValueError("unknown families: %s (known: %s)" % (unknown, sorted(FAMILIES)))
        self.families = [(FAMILIES[n][0], FAMILIES[n][1]) for n in names]
        self.keys = ["k%d" % i for i in range(6)] + ["{t}x", "long:key:name:0123456789"]
        self._ttl_pool = list(range(100, 100001, 100))
        self.rng.shuffle(self._ttl_pool)
        self._abs_counter = 0

    # --- value helpers -------------------------------------------------
    def key(self):
        return self.rng.choice(self.keys)

    def keys_n(self, lo=1, hi=4):
        return [self.key() for _ in range(self.rng.randint(lo, hi))]

    def choice(self, seq):
        return self.rng.choice(seq)

    def chance(self, p):
        return self.rng.random() < p

    def int_arg(self):
        r = self.rng.random()
        if r < 0.5:
            return str(self.rng.randint(-20, 100))
        if r < 0.7:
            return str(self.rng.randint(-(10**6), 10**6))
        if r < 0.85:
            return self.choice(
                [str(I64_MAX), str(I64_MIN), str(I64_MAX - 1), str(I64_MIN + 1), "0", "-0"]
            )
        return self.choice(["abc", "1.5", "", " 1", "1 ", "+1", "01", "0x10", "9223372036854775808", "-9223372036854775809", "1e3"])

    def float_arg(self):
        r = self.rng.random()
        if r < 0.4:
            return "%d.%d" % (self.rng.randint(-100, 100), self.rng.randint(0, 99))
        if r < 0.6:
            return str(self.rng.randint(-100, 100))
        return self.choice(
            ["3.0e3", "5.0e3", "1e-3", "-1.5e2", "0.1", "1.1", "2.2", "inf", "-inf", "+inf", "nan", "abc", "1e400", "", "0x10", " 1", "1.0", "17E-2", "1.23456789012345678"]
        )

    def value(self):
        r = self.rng.random()
        if r < 0.3:
            return self.int_arg()
        if r < 0.45:
            return self.float_arg()
        if r < 0.55:
            return self.choice(["x" * 44, "y" * 45, "z" * 20, "a" * 64])
        if r < 0.6:
            return self.choice(["", "\\x00\\xff", "caf\\xc3\\xa9", "with space", "\\r\\n"])
        n = self.rng.randint(1, 12)
        return "".join(self.choice("abcdefgh") for _ in range(n))

    def q(self, v):
        """Quote a value for the script format.

        Values may contain \\xHH / \\r escapes meant for double quotes and
        never contain a double quote themselves.
        """
        if v and not any(c in v for c in " \"'\\"):
            return v
        return '"%s"' % v

    def rel_ttl(self):
        """A relative TTL in seconds, unique within the sequence (>= 100 s apart)."""
        if self._ttl_pool:
            return self._ttl_pool.pop()
        return 100

    def abs_future(self):
        """A unix time far in the future, unique within the sequence."""
        self._abs_counter += 1
        return 4000000000 + self._abs_counter * 1000 + self.rng.randint(0, 500)

    def abs_past(self):
        return self.rng.randint(1, 1000000)

    def small_offset(self, hi=64):
        return self.rng.randint(0, hi)

    def index(self, span=20):
        return self.rng.randint(-span, span)


# --- strings -------------------------------------------------------------
def _set_options(g):
    opts = []
    if g.chance(0.3):
        opts.append(g.choice(["NX", "XX"]))
    r = g.rng.random()
    if r < 0.15:
        opts += ["EX", str(g.rel_ttl())]
    elif r < 0.25:
        opts += ["PX", str(g.rel_ttl() * 1000 + g.rng.randint(0, 999))]
    elif r < 0.3:
        opts += ["EXAT", str(g.abs_future())]
    elif r < 0.33:
        opts += ["PXAT", str(g.abs_future() * 1000 + 7)]
    elif r < 0.4:
        opts.append("KEEPTTL")
    elif r < 0.43:
        opts += [g.choice(["EX", "PX"]), g.choice(["0", "-5", "abc", "9223372036854775807"])]
    if g.chance(0.2):
        opts.append("GET")
    if g.chance(0.03):
        opts.append(g.choice(["NX", "XX", "EX 10", "KEEPTTL", "BOGUS", "PX"]))
    if g.chance(0.2):
        g.rng.shuffle(opts)
    return " ".join(opts)


@family("strings", 40)
def gen_strings(g):
    k = g.key()
    c = g.rng.randint(0, 27)
    v = g.q(g.value())
    if c <= 3:
        return ("SET %s %s %s" % (k, v, _set_options(g))).rstrip()
    if c <= 6:
        return "GET %s" % k
    if c == 7:
        r = g.rng.random()
        if r < 0.2:
            opt = "EX %d" % g.rel_ttl()
        elif r < 0.35:
            opt = "PX %d" % (g.rel_ttl() * 1000)
        elif r < 0.45:
            opt = "EXAT %d" % g.choice([g.abs_future(), g.abs_past()])
        elif r < 0.5:
            opt = "PXAT %d" % (g.abs_future() * 1000)
        elif r < 0.65:
            opt = "PERSIST"
        elif r < 0.7:
            opt = g.choice(["EX 0", "EX -1", "PX abc", "EX", "PERSIST EX 10", "BOGUS"])
        else:
            opt = ""
        return ("GETEX %s %s" % (k, opt)).rstrip()
    if c == 8:
        return "GETDEL %s" % k
    if c == 9:
        return "GETSET %s %s" % (k, v)
    if c == 10:
        return "SETNX %s %s" % (k, v)
    if c == 11:
        secs = g.choice([str(g.rel_ttl())] * 4 + ["0", "-1", "abc"])
        return "SETEX %s %s %s" % (k, secs, v)
    if c == 12:
        ms = g.choice([str(g.rel_ttl() * 1000)] * 4 + ["0", "-1", "1.5"])
        return "PSETEX %s %s %s" % (k, ms, v)
    if c in (13, 14):
        cmd = "MSET" if c == 13 else "MSETNX"
        pairs = " ".join("%s %s" % (kk, g.q(g.value())) for kk in g.keys_n(1, 3))
        if g.chance(0.05):
            pairs += " " + g.key()  # odd argument count
        return "%s %s" % (cmd, pairs)
    if c == 15:
        return "MGET %s" % " ".join(g.keys_n(1, 5))
    if c == 16:
        return "APPEND %s %s" % (k, v)
    if c == 17:
        return "STRLEN %s" % k
    if c == 18:
        cmd = g.choice(["GETRANGE", "GETRANGE", "SUBSTR"])
        a, b = g.index(), g.index()
        if g.chance(0.05):
            a = g.choice(["x", "1.5", str(I64_MAX), str(I64_MIN)])
        return "%s %s %s %s" % (cmd, k, a, b)
    if c == 19:
        off = g.small_offset(40)
        if g.chance(0.1):
            off = g.choice(["-1", "abc", "536870912", "4294967296"])
        return "SETRANGE %s %s %s" % (k, off, v)
    if c == 20:
        return "INCR %s" % k
    if c == 21:
        return "DECR %s" % k
    if c == 22:
        return "INCRBY %s %s" % (k, g.int_arg())
    if c == 23:
        return "DECRBY %s %s" % (k, g.int_arg())
    if c in (24, 25):
        return "INCRBYFLOAT %s %s" % (k, g.float_arg())
    if c == 26:
        k2 = g.key()
        opts = g.choice(["", "LEN", "IDX", "IDX WITHMATCHLEN", "IDX MINMATCHLEN 2", "IDX MINMATCHLEN 1 WITHMATCHLEN", "LEN IDX", "MINMATCHLEN x IDX"])
        return ("LCS %s %s %s" % (k, k2, opts)).rstrip()
    return "SET %s %s" % (k, v)


# --- bitmaps -------------------------------------------------------------
@family("bits", 15)
def gen_bits(g):
    k = g.key()
    c = g.rng.randint(0, 9)
    if c <= 1:
        off = g.small_offset(300)
        bit = g.choice(["0", "1", "1", "1"])
        if g.chance(0.05):
            off, bit = g.choice([("-1", "1"), ("4294967296", "1"), ("abc", "0"), ("7", "2"), ("7", "x")])
        return "SETBIT %s %s %s" % (k, off, bit)
    if c == 2:
        off = g.small_offset(400) if not g.chance(0.05) else g.choice(["-1", "x", "4294967296"])
        return "GETBIT %s %s" % (k, off)
    if c == 3:
        if g.chance(0.3):
            return "BITCOUNT %s" % k
        unit = g.choice(["", "", "BYTE", "BIT"])
        return ("BITCOUNT %s %d %d %s" % (k, g.index(40), g.index(40), unit)).rstrip()
    if c == 4:
        bit = g.choice(["0", "1", "1", "2"])
        form = g.rng.randint(0, 3)
        if form == 0:
            return "BITPOS %s %s" % (k, bit)
        if form == 1:
            return "BITPOS %s %s %d" % (k, bit, g.index(10))
        unit = g.choice(["", "BYTE", "BIT"])
        return ("BITPOS %s %s %d %d %s" % (k, bit, g.index(40), g.index(40), unit)).rstrip()
    if c == 5:
        op = g.choice(["AND", "OR", "XOR", "NOT", "and", "BOGUS"])
        srcs = [g.key()] if op in ("NOT",) and g.chance(0.8) else g.keys_n(1, 3)
        return "BITOP %s %s %s" % (op, g.key(), " ".join(srcs))
    if c in (6, 7, 8):
        return "BITFIELD %s %s" % (k, " ".join(_bitfield_ops(g)))
    return "BITFIELD_RO %s %s" % (k, " ".join(_bitfield_ops(g, readonly=True)))


def _bf_type(g):
    if g.chance(0.03):
        return g.choice(["i0", "u64", "i65", "x8", "u0"])
    if g.chance(0.5):
        return "i%d" % g.rng.randint(1, 64)
    return "u%d" % g.rng.randint(1, 63)


def _bf_offset(g):
    if g.chance(0.3):
        return "#%d" % g.rng.randint(0, 8)
    if g.chance(0.03):
        return g.choice(["-1", "x", "#-1"])
    return str(g.small_offset(100))


def _bitfield_ops(g, readonly=False):
    ops = []
    for _ in range(g.rng.randint(1, 4)):
        kind = "GET" if readonly else g.choice(["GET", "SET", "INCRBY", "OVERFLOW"])
        if kind == "GET":
            ops.append("GET %s %s" % (_bf_type(g), _bf_offset(g)))
        elif kind == "SET":
            ops.append("SET %s %s %s" % (_bf_type(g), _bf_offset(g), g.int_arg()))
        elif kind == "INCRBY":
            ops.append("INCRBY %s %s %s" % (_bf_type(g), _bf_offset(g), g.int_arg()))
        else:
            ops.append("OVERFLOW %s" % g.choice(["WRAP", "SAT", "FAIL", "wrap", "BOGUS"]))
    if readonly and g.chance(0.05):
        ops.append("SET u8 0 1")
    return ops


# --- keyspace ------------------------------------------------------------
@family("keyspace", 25)
def gen_keyspace(g):
    k = g.key()
    c = g.rng.randint(0, 23)
    if c <= 1:
        return "%s %s" % (g.choice(["DEL", "UNLINK"]), " ".join(g.keys_n(1, 3)))
    if c == 2:
        return "EXISTS %s" % " ".join(g.keys_n(1, 4))
    if c == 3:
        return "TYPE %s" % k
    if c == 4:
        return "%s %s %s" % (g.choice(["RENAME", "RENAMENX"]), k, g.key())
    if c == 5:
        opts = g.choice(["", "", "REPLACE", "DB 1", "DB 1 REPLACE", "DB 0", "DB 99", "DB x", "BOGUS"])
        return ("COPY %s %s %s" % (k, g.key(), opts)).rstrip()
    if c in (6, 7, 8):
        return _expire(g, k)
    if c == 9:
        return "PERSIST %s" % k
    if c in (10, 11):
        return "! %s %s" % (g.choice(["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"]), k)
    if c in (12, 13):
        return "%% OBJECT ENCODING %s" % k
    if c == 14:
        return "DBSIZE"
    if c == 15:
        return "~ KEYS %s" % g.choice(["*", "k*", "k[0-2]", "*x*", "?1", "{t}*", "k\\\\*"])
    if c == 16:
        opts = g.choice(["", "COUNT 2", "MATCH k*", "MATCH k* COUNT 1", "TYPE string", "TYPE list", "COUNT 100 TYPE string"])
        return ("@scan SCAN 0 %s" % opts).rstrip()
    if c == 17:
        return "! RANDOMKEY"
    if c == 18:
        return "TOUCH %s" % " ".join(g.keys_n(1, 3))
    if c == 19:
        return "MOVE %s %s" % (k, g.choice(["1", "1", "0", "16", "x"]))
    if c == 20:
        return g.choice(["SWAPDB 0 1", "SWAPDB 1 0", "SWAPDB 0 0", "SWAPDB 0 99"])
    if c == 21:
        return g.choice(["SELECT 1", "SELECT 0", "SELECT 0", "SELECT 0", "SELECT 16", "SELECT x"])
    if c == 22:
        # REFCOUNT only by type: Valkey 8 does not share small integers.
        return g.choice(["! OBJECT REFCOUNT %s" % k, "OBJECT FREQ %s" % k, "OBJECT BOGUS %s" % k])
    return "EXISTS %s" % k


def _expire(g, k):
    r = g.rng.random()
    if r < 0.4:
        cmd = g.choice(["EXPIRE", "PEXPIRE"])
        if g.chance(0.1):
            t = g.choice(["0", "-1", "abc", "1.5", str(I64_MAX)])
        else:
            t = g.rel_ttl()
            t = str(t if cmd == "EXPIRE" else t * 1000)
    else:
        cmd = g.choice(["EXPIREAT", "PEXPIREAT"])
        t = g.abs_past() if g.chance(0.15) else g.abs_future()
        t = str(t if cmd == "EXPIREAT" else t * 1000 + 3)
    opt = g.choice(["", "", "", "NX", "XX", "GT", "LT", "nx", "NX XX", "GT LT", "NX GT", "BOGUS"])
    return ("%s %s %s %s" % (cmd, k, t, opt)).rstrip()


# --- errors --------------------------------------------------------------
_ARITY_CASES = [
    "GET", "GET a b", "SET", "SET a", "GETEX", "GETDEL", "GETDEL a b", "GETSET a",
    "SETNX a", "SETEX a 10", "PSETEX a 10", "MSET", "MSET a", "MSETNX a", "MGET",
    "APPEND a", "STRLEN", "GETRANGE a 0", "SETRANGE a 0", "INCR", "INCRBY a",
    "INCRBYFLOAT a", "DECR", "DECRBY a", "LCS a", "SETBIT a 0", "GETBIT a",
    "BITCOUNT", "BITPOS a", "BITOP AND", "BITOP AND a", "BITFIELD",
    "DEL", "EXISTS", "TYPE", "RENAME a", "RENAMENX a", "COPY a", "EXPIRE a",
    "PEXPIRE a", "EXPIREAT a", "PERSIST", "TTL", "PTTL", "EXPIRETIME", "OBJECT",
    "OBJECT ENCODING", "DBSIZE x", "KEYS", "SCAN", "RANDOMKEY x", "MOVE a",
    "SWAPDB 0", "SELECT", "ECHO", "PING a b", "UNLINK", "TOUCH",
]


@family("errors", 6)
def gen_errors(g):
    r = g.rng.random()
    if r < 0.6:
        line = g.choice(_ARITY_CASES)
        return line if not g.chance(0.3) else line.lower()
    if r < 0.8:
        name = g.choice(["FOO", "getx", "SETT", "bogus"])
        args = " ".join(g.q(g.value()) for _ in range(g.rng.randint(0, 3)))
        return ("%s %s" % (name, args)).rstrip()
    k = g.key()
    return g.choice([
        "INCRBY %s abc" % k, "EXPIRE %s 1.5" % k, "SETRANGE %s -1 x" % k,
        "GETRANGE %s a b" % k, "SETEX %s 0 v" % k, "SETBIT %s 1 2" % k,
        "INCRBYFLOAT %s nan" % k, "SET %s v EX 0" % k,
        "SET %s v NX XX" % k, "SET %s v EX 10 PX 10" % k, "SET %s v KEEPTTL EX 10" % k,
    ])


# --- non-string types (WRONGTYPE coverage for string commands) -------------
@family("containers", 5)
def gen_containers(g):
    k = g.key()
    v = g.q(g.value())
    return g.choice([
        "LPUSH %s %s" % (k, v),
        "RPUSH %s %s %s" % (k, v, g.q(g.value())),
        "SADD %s %s" % (k, v),
        "HSET %s f %s" % (k, v),
        "ZADD %s %d %s" % (k, g.rng.randint(-5, 5), v),
    ])


# --- lists / hashes / sets / sorted sets -------------------------------------
# Each family uses its own few keys most of the time (so values grow past the
# encoding thresholds) and the shared keys otherwise (WRONGTYPE coverage).
# Replies whose order depends on a hash table (sets, hashes) are compared as
# multisets; random picks only where the result is fully determined (count
# larger than any key, or by type only); SPOP always empties the key, so both
# servers stay in the same state. Blocking pops use a 10 ms timeout.

_BIG_COUNT = "1000"


def _tkey(g, prefix):
    if g.chance(0.6):
        return "%s:%d" % (prefix, g.rng.randint(0, 2))
    return g.key()


def _member(g, pool):
    """Mostly from a small pool (so commands hit existing members)."""
    if g.chance(0.75):
        return g.choice(pool)
    return g.q(g.value())


_LIST_VALS = ["a", "b", "c", "1", "2", "-3", "x" * 44, "hello world"]


@family("lists", 10)
def gen_lists(g):
    k = _tkey(g, "l")
    c = g.rng.randint(0, 29)

    def vals(lo=1, hi=4):
        return " ".join(_member(g, _LIST_VALS) for _ in range(g.rng.randint(lo, hi)))

    end = g.choice(["LEFT", "RIGHT"])
    if c <= 4:
        return "%s %s %s" % (g.choice(["LPUSH", "RPUSH", "RPUSH"]), k, vals(1, 6))
    if c == 5:
        return "%s %s %s" % (g.choice(["LPUSHX", "RPUSHX"]), k, vals(1, 2))
    if c in (6, 7):
        return "LRANGE %s %s %s" % (k, g.choice(["0", "0", str(g.index(8))]), g.choice(["-1", "-1", str(g.index(8))]))
    if c == 8:
        return "LINDEX %s %s" % (k, g.index(8) if not g.chance(0.05) else g.int_arg())
    if c == 9:
        return "LLEN %s" % k
    if c in (10, 11):
        cmd = g.choice(["LPOP", "RPOP"])
        if g.chance(0.5):
            return "%s %s" % (cmd, k)
        return "%s %s %s" % (cmd, k, g.choice(["0", "1", "2", "5", "-1", "x"]))
    if c == 12:
        return "LSET %s %s %s" % (k, g.index(6), _member(g, _LIST_VALS))
    if c == 13:
        return "LINSERT %s %s %s %s" % (k, g.choice(["BEFORE", "AFTER", "after", "MIDDLE"]),
                                        _member(g, _LIST_VALS), _member(g, _LIST_VALS))
    if c == 14:
        return "LTRIM %s %s %s" % (k, g.index(4), g.index(8))
    if c == 15:
        return "LREM %s %s %s" % (k, g.choice(["0", "1", "-1", "2", "-2", "x"]), _member(g, _LIST_VALS))
    if c == 16:
        opts = g.choice(["", "RANK 1", "RANK -1", "RANK 2", "RANK 0", "COUNT 0", "COUNT 2", "RANK -2 COUNT 0",
                         "MAXLEN 3", "COUNT 0 MAXLEN 4", "COUNT -1", "MAXLEN -1", "RANK x"])
        return ("LPOS %s %s %s" % (k, _member(g, _LIST_VALS), opts)).rstrip()
    if c == 17:
        return "RPOPLPUSH %s %s" % (k, _tkey(g, "l"))
    if c in (18, 19):
        return "LMOVE %s %s %s %s" % (k, _tkey(g, "l"), end, g.choice(["LEFT", "RIGHT"]))
    if c == 20:
        keys = [_tkey(g, "l") for _ in range(g.rng.randint(1, 3))]
        opt = g.choice(["", "", "COUNT 2", "COUNT 10", "COUNT 0"])
        return ("LMPOP %d %s %s %s" % (len(keys), " ".join(keys), end, opt)).rstrip()
    if c == 21:
        keys = [_tkey(g, "l") for _ in range(g.rng.randint(1, 2))]
        return "%s %s 0.01" % (g.choice(["BLPOP", "BRPOP"]), " ".join(keys))
    if c == 22:
        return g.choice([
            "BLMOVE %s %s %s LEFT 0.01" % (k, _tkey(g, "l"), end),
            "BRPOPLPUSH %s %s 0.01" % (k, _tkey(g, "l")),
            "BLMPOP 0.01 2 %s %s %s COUNT 3" % (k, _tkey(g, "l"), end),
        ])
    if c == 23:
        return "%% OBJECT ENCODING %s" % k
    if c == 24:
        return g.choice(["LPUSH %s" % k, "LRANGE %s 0" % k, "LINDEX %s" % k, "LSET %s 0" % k, "LPOS %s" % k,
                         "LMPOP 0 %s LEFT" % k, "BLPOP %s" % k, "LINSERT %s BEFORE a" % k, "LREM %s 0" % k])
    if c == 25:
        opts = g.choice(["", "ALPHA", "DESC ALPHA", "LIMIT 0 2 ALPHA", "BY nosort", "ALPHA STORE %s" % _tkey(g, "l")])
        if opts == "BY nosort":
            k = "l:%d" % g.rng.randint(0, 2)  # a set's own order would be compared
        return ("SORT %s %s" % (k, opts)).rstrip()
    return "RPUSH %s %s" % (k, vals(1, 3))


_HASH_FIELDS = ["f1", "f2", "f3", "n", "fl", "", "long_field_name_" + "x" * 20]


@family("hashes", 8)
def gen_hashes(g):
    k = _tkey(g, "h")
    c = g.rng.randint(0, 24)
    f = _member(g, _HASH_FIELDS)
    if c <= 4:
        pairs = " ".join("%s %s" % (_member(g, _HASH_FIELDS), g.q(g.value())) for _ in range(g.rng.randint(1, 3)))
        return "%s %s %s" % (g.choice(["HSET", "HSET", "HMSET"]), k, pairs)
    if c == 5:
        return "HSETNX %s %s %s" % (k, f, g.q(g.value()))
    if c in (6, 7):
        return "HGET %s %s" % (k, f)
    if c == 8:
        return "HMGET %s %s" % (k, " ".join(_member(g, _HASH_FIELDS) for _ in range(g.rng.randint(1, 3))))
    if c == 9:
        return "HDEL %s %s" % (k, " ".join(_member(g, _HASH_FIELDS) for _ in range(g.rng.randint(1, 3))))
    if c == 10:
        return "%s %s" % (g.choice(["HLEN", "HLEN"]), k)
    if c == 11:
        return "HSTRLEN %s %s" % (k, f)
    if c == 12:
        return "HEXISTS %s %s" % (k, f)
    if c in (13, 14):
        return "HINCRBY %s %s %s" % (k, g.choice(["n", "n", f]), g.int_arg())
    if c == 15:
        return "HINCRBYFLOAT %s %s %s" % (k, g.choice(["fl", "fl", f]), g.float_arg())
    if c == 16:
        return "~ %s %s" % (g.choice(["HGETALL", "HKEYS", "HVALS"]), k)
    if c == 17:
        return g.choice([
            "~ HRANDFIELD %s %s" % (k, _BIG_COUNT),
            "~ HRANDFIELD %s %s WITHVALUES" % (k, _BIG_COUNT),
            "! HRANDFIELD %s" % k,
            "! HRANDFIELD %s -3 WITHVALUES" % k,
            "HRANDFIELD %s 0" % k,
            "HRANDFIELD %s x" % k,
        ])
    if c == 18:
        return g.choice(["@scan HSCAN %s 0" % k, "@scan HSCAN %s 0 MATCH f* COUNT 2" % k, "HSCAN %s x" % k])
    if c == 19:
        return "%% OBJECT ENCODING %s" % k
    if c == 20:
        return g.choice(["HSET %s f" % k, "HSET %s f v g" % k, "HGET %s" % k, "HMGET %s" % k, "HDEL %s" % k,
                         "HINCRBY %s f" % k, "HSETNX %s f" % k, "HGETALL %s x" % k, "HRANDFIELD %s 1 BOGUS" % k])
    return "HSET %s %s %s" % (k, f, g.q(g.value()))


_SET_MEMBERS = ["a", "b", "c", "1", "2", "3", "-7", "100", "x" * 30]


@family("sets", 8)
def gen_sets(g):
    k = _tkey(g, "s")
    c = g.rng.randint(0, 24)

    def members(lo=1, hi=4):
        return " ".join(_member(g, _SET_MEMBERS) for _ in range(g.rng.randint(lo, hi)))

    def skeys(lo=1, hi=3):
        return " ".join(_tkey(g, "s") for _ in range(g.rng.randint(lo, hi)))

    if c <= 4:
        return "SADD %s %s" % (k, members(1, 6))
    if c == 5:
        return "SREM %s %s" % (k, members(1, 3))
    if c == 6:
        return "~ SMEMBERS %s" % k
    if c == 7:
        return "SISMEMBER %s %s" % (k, _member(g, _SET_MEMBERS))
    if c == 8:
        return "SMISMEMBER %s %s" % (k, members(1, 3))
    if c == 9:
        return "SCARD %s" % k
    if c == 10:
        return "SMOVE %s %s %s" % (k, _tkey(g, "s"), _member(g, _SET_MEMBERS))
    if c == 11:
        return g.choice(["~ SPOP %s %s" % (k, _BIG_COUNT), "~ SRANDMEMBER %s %s" % (k, _BIG_COUNT),
                         "! SRANDMEMBER %s" % k, "! SRANDMEMBER %s -4" % k, "SRANDMEMBER %s 0" % k,
                         "SPOP %s -1" % k, "SPOP %s 0" % k])
    if c in (12, 13):
        return "~ %s %s" % (g.choice(["SINTER", "SUNION", "SDIFF"]), skeys())
    if c in (14, 15):
        return "%s %s %s" % (g.choice(["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"]), _tkey(g, "s"), skeys())
    if c == 16:
        ks = [_tkey(g, "s") for _ in range(g.rng.randint(1, 3))]
        opt = g.choice(["", "", "LIMIT 1", "LIMIT 0", "LIMIT -1"])
        return ("SINTERCARD %d %s %s" % (len(ks), " ".join(ks), opt)).rstrip()
    if c == 17:
        return g.choice(["@scan SSCAN %s 0" % k, "@scan SSCAN %s 0 MATCH [a-c] COUNT 2" % k, "SSCAN %s x" % k])
    if c == 18:
        return "%% OBJECT ENCODING %s" % k
    if c == 19:
        return g.choice(["SADD %s" % k, "SREM %s" % k, "SISMEMBER %s" % k, "SMOVE %s x" % k, "SINTERCARD 0 %s" % k,
                         "SINTERCARD 2 %s" % k, "SPOP %s 1 2" % k, "SMEMBERS", "SINTER"])
    if c == 20:
        return ("SORT %s %s" % (k, g.choice(["", "ALPHA", "DESC", "LIMIT 1 2 ALPHA"]))).rstrip()
    return "SADD %s %s" % (k, members(1, 3))


_ZSET_MEMBERS = ["a", "b", "c", "d", "m1", "m2", "x" * 40]


def _score(g):
    if g.chance(0.7):
        return str(g.rng.randint(-5, 10))
    return g.float_arg()


def _score_range(g):
    def one():
        r = g.rng.random()
        if r < 0.15:
            return g.choice(["-inf", "+inf", "inf"])
        v = str(g.rng.randint(-5, 10))
        if r < 0.4:
            return "(" + v
        if r < 0.43:
            return g.choice(["x", "(", "(x", "nan"])
        return v
    return one(), one()


def _lex_range(g):
    def one():
        return g.choice(["-", "+", "[a", "(a", "[b", "(c", "[m", "[m1", "(m2", "[x", "a", "[", "("])
    return one(), one()


# Lexicographic ranges are only defined when all scores are equal (else the
# answer depends on the skip list's random levels): they use a key that only
# ever gets score 0.
_LEX_KEY = "zlex"


@family("zsets", 10)
def gen_zsets(g):
    k = _tkey(g, "z")
    c = g.rng.randint(0, 34)

    def zkeys(lo=1, hi=3):
        return [_tkey(g, "z") for _ in range(g.rng.randint(lo, hi))]

    if c <= 4:
        flags = g.choice(["", "", "", "NX", "XX", "GT", "LT", "CH", "XX CH", "GT CH", "NX GT", "XX NX"])
        incr = g.chance(0.1)
        n = 1 if incr else g.rng.randint(1, 4)
        pairs = " ".join("%s %s" % (_score(g), _member(g, _ZSET_MEMBERS)) for _ in range(n))
        return " ".join(x for x in ["ZADD", k, flags, "INCR" if incr else "", pairs] if x)
    if c == 5:
        return "ZINCRBY %s %s %s" % (k, _score(g), _member(g, _ZSET_MEMBERS))
    if c == 6:
        return "ZSCORE %s %s" % (k, _member(g, _ZSET_MEMBERS))
    if c == 7:
        return "ZMSCORE %s %s %s" % (k, _member(g, _ZSET_MEMBERS), _member(g, _ZSET_MEMBERS))
    if c == 8:
        return "ZCARD %s" % k
    if c == 9:
        lo, hi = _score_range(g)
        return "ZCOUNT %s %s %s" % (k, lo, hi)
    if c == 10:
        lo, hi = _lex_range(g)
        return "ZLEXCOUNT %s %s %s" % (_LEX_KEY, lo, hi)
    if c == 11:
        return ("%s %s %s %s" % (g.choice(["ZRANK", "ZREVRANK"]), k, _member(g, _ZSET_MEMBERS),
                                 g.choice(["", "", "WITHSCORE"]))).rstrip()
    if c in (12, 13, 14):
        form = g.rng.randint(0, 2)
        rev = g.choice(["", "", "REV"])
        ws = g.choice(["", "WITHSCORES"])
        if form == 0:
            a, b = g.index(6), g.index(6)
            return " ".join(x for x in ["ZRANGE", k, str(a), str(b), rev, ws] if x)
        # no negative offsets: Valkey 8 answers them differently on skip lists
        limit = g.choice(["", "", "LIMIT 0 2", "LIMIT 1 -1", "LIMIT 2 1"])
        if form == 1:
            lo, hi = _score_range(g)
            return " ".join(x for x in ["ZRANGE", k, lo, hi, "BYSCORE", rev, limit, ws] if x)
        lo, hi = _lex_range(g)
        return " ".join(x for x in ["ZRANGE", _LEX_KEY, lo, hi, "BYLEX", rev, limit] if x)
    if c == 15:
        lo, hi = _score_range(g)
        cmd = g.choice(["ZRANGEBYSCORE", "ZREVRANGEBYSCORE"])
        if cmd == "ZREVRANGEBYSCORE":
            lo, hi = hi, lo
        return " ".join(x for x in [cmd, k, lo, hi, g.choice(["", "WITHSCORES"]), g.choice(["", "LIMIT 1 2"])] if x)
    if c == 16:
        lo, hi = _lex_range(g)
        return ("%s %s %s %s %s" % (g.choice(["ZRANGEBYLEX", "ZREVRANGEBYLEX"]), _LEX_KEY, lo, hi,
                                    g.choice(["", "LIMIT 0 3"]))).rstrip()
    if c == 17:
        return "ZREVRANGE %s %d %d %s" % (k, g.index(5), g.index(5), g.choice(["", "WITHSCORES"]))
    if c == 18:
        lo, hi = _score_range(g)
        return g.choice([
            "ZRANGESTORE %s %s %d %d" % (_tkey(g, "z"), k, g.index(4), g.index(4)),
            "ZRANGESTORE %s %s %s %s BYSCORE" % (_tkey(g, "z"), k, lo, hi),
        ])
    if c == 19:
        return "ZREM %s %s" % (k, " ".join(_member(g, _ZSET_MEMBERS) for _ in range(g.rng.randint(1, 3))))
    if c == 20:
        lo, hi = _score_range(g)
        llo, lhi = _lex_range(g)
        return g.choice([
            "ZREMRANGEBYRANK %s %d %d" % (k, g.index(4), g.index(4)),
            "ZREMRANGEBYSCORE %s %s %s" % (k, lo, hi),
            "ZREMRANGEBYLEX %s %s %s" % (_LEX_KEY, llo, lhi),
        ])
    if c == 21:
        cmd = g.choice(["ZPOPMIN", "ZPOPMAX"])
        return ("%s %s %s" % (cmd, k, g.choice(["", "", "1", "3", "0", "-1"]))).rstrip()
    if c == 22:
        ks = zkeys(1, 2)
        opt = g.choice(["", "COUNT 2", "COUNT 10", "COUNT 0"])
        return ("ZMPOP %d %s %s %s" % (len(ks), " ".join(ks), g.choice(["MIN", "MAX"]), opt)).rstrip()
    if c == 23:
        ks = zkeys(1, 2)
        return g.choice([
            "%s %s 0.01" % (g.choice(["BZPOPMIN", "BZPOPMAX"]), " ".join(ks)),
            "BZMPOP 0.01 %d %s %s COUNT 2" % (len(ks), " ".join(ks), g.choice(["MIN", "MAX"])),
        ])
    if c in (24, 25, 26):
        ks = zkeys(1, 3)
        op = g.choice(["ZUNION", "ZINTER", "ZDIFF", "ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"])
        parts = [op]
        if op.endswith("STORE"):
            parts.append(_tkey(g, "z"))
        parts += [str(len(ks))] + ks
        if op not in ("ZDIFF", "ZDIFFSTORE"):
            if g.chance(0.3):
                parts += ["WEIGHTS"] + [g.choice(["1", "2", "0.5", "-1", "0", "inf"]) for _ in ks]
            if g.chance(0.3):
                parts += ["AGGREGATE", g.choice(["SUM", "MIN", "MAX", "min"])]
        if not op.endswith("STORE") and g.chance(0.6):
            parts.append("WITHSCORES")
        return " ".join(parts)
    if c == 27:
        ks = zkeys(1, 3)
        return ("ZINTERCARD %d %s %s" % (len(ks), " ".join(ks), g.choice(["", "LIMIT 1"]))).rstrip()
    if c == 28:
        return g.choice([
            "~ ZRANDMEMBER %s %s" % (k, _BIG_COUNT),
            "~ ZRANDMEMBER %s %s WITHSCORES" % (k, _BIG_COUNT),
            "! ZRANDMEMBER %s" % k,
            "! ZRANDMEMBER %s -3 WITHSCORES" % k,
            "ZRANDMEMBER %s 0" % k,
        ])
    if c == 29:
        return g.choice(["@scan ZSCAN %s 0" % k, "@scan ZSCAN %s 0 MATCH m* COUNT 1" % k, "ZSCAN %s x" % k])
    if c == 30:
        return "%% OBJECT ENCODING %s" % k
    if c == 31:
        return g.choice(["ZADD %s" % k, "ZADD %s 1" % k, "ZADD %s 1 a 2" % k, "ZADD %s INCR 1 a 2 b" % k,
                         "ZRANGE %s 0" % k, "ZRANGE %s 0 1 LIMIT 0 1" % k, "ZRANGE %s a b BYLEX WITHSCORES" % k,
                         "ZUNION 0 %s" % k, "ZUNION 2 %s" % k, "ZUNIONSTORE %s 1 %s WITHSCORES" % (k, k),
                         "ZINCRBY %s x a" % k, "ZPOPMIN %s 1 2" % k, "ZMPOP 1 %s" % k])
    if c == 32:
        opts = g.choice(["", "ALPHA", "BY nosort", "BY nosort DESC LIMIT 1 2", "LIMIT 0 3 ALPHA DESC"])
        if "nosort" in opts:
            k = "z:%d" % g.rng.randint(0, 2)  # a set's own order would be compared
        return ("SORT %s %s" % (k, opts)).rstrip()
    if c == 33:
        return "ZADD %s %s" % (_LEX_KEY, " ".join("0 %s" % _member(g, _ZSET_MEMBERS) for _ in range(g.rng.randint(1, 4))))
    return "ZADD %s %s %s" % (k, _score(g), _member(g, _ZSET_MEMBERS))


# --- protocol switch ---------------------------------------------------------------------
@family("resp", 1)
def gen_resp(g):
    # Everything after this line is compared in the chosen protocol.
    return g.choice(["! HELLO 3", "! HELLO 2", "! HELLO 2"])


# Encoding thresholds: every sequence that touches collections starts by
# setting all of them, each either to its default or (half the time) to a
# small value, so conversions happen within a few commands. The choice has
# its own random stream, so the command sequence of a seed does not depend
# on it.
_THRESHOLDS = (
    ("list-max-listpack-size", "-2", (1, 2, 3, 5)),
    ("hash-max-listpack-entries", "128", (0, 1, 3, 6)),
    ("hash-max-listpack-value", "64", (4, 8, 12)),
    ("set-max-intset-entries", "512", (0, 1, 3, 6)),
    ("set-max-listpack-entries", "128", (0, 1, 3, 6)),
    ("set-max-listpack-value", "64", (4, 8, 12)),
    ("zset-max-listpack-entries", "128", (0, 1, 3, 6)),
    ("zset-max-listpack-value", "64", (4, 8, 12)),
)
_COLLECTION_FAMILIES = ("containers", "lists", "hashes", "sets", "zsets")


def threshold_prologue(seed):
    rng = random.Random("thresholds-%d" % seed)
    lines = []
    for name, default, small in _THRESHOLDS:
        value = str(rng.choice(small)) if rng.random() < 0.5 else default
        lines.append("CONFIG SET %s %s" % (name, value))
    return lines


def generate(seed, count, families=None):
    g = Gen(seed, families)
    total = sum(w for w, _ in g.families)
    out = ["# generated: seed=%d count=%d families=%s" % (seed, count, ",".join(families or DEFAULT_FAMILIES))]
    if any(f in _COLLECTION_FAMILIES for f in (families or DEFAULT_FAMILIES)):
        out.extend(threshold_prologue(seed))
    n = 0
    while n < count:
        pick = g.rng.uniform(0, total)
        for weight, fn in g.families:
            pick -= weight
            if pick <= 0:
                break
        lines = fn(g)
        if isinstance(lines, str):
            lines = [lines]
        out.extend(lines)
        n += len(lines)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--families", default=",".join(DEFAULT_FAMILIES),
                    help="comma-separated; known: %s" % ",".join(sorted(FAMILIES)))
    args = ap.parse_args()
    fams = [f for f in args.families.split(",") if f]
    print("\n".join(generate(args.seed, args.count, fams)))


if __name__ == "__main__":
    main()
