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
DEFAULT_FAMILIES = ("strings", "bits", "keyspace", "errors", "containers")

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


def generate(seed, count, families=None):
    g = Gen(seed, families)
    total = sum(w for w, _ in g.families)
    out = ["# generated: seed=%d count=%d families=%s" % (seed, count, ",".join(families or DEFAULT_FAMILIES))]
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
