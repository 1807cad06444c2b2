"""Case-script format of the differential harness.

One command per line, redis-cli quoting (see resp.split_args). Blank lines and
lines starting with `#` are comments. A command may start with a marker:

    GET k            reply compared byte for byte (the default)
    ! TTL k          reply compared by RESP type only ('+', ':', '$', '*', ...)
    ~ KEYS *         aggregate compared as an unordered multiset of elements
                     (map replies: of key/value pairs); non-aggregates exactly
    ? DEBUG ...      sent, reply read, never compared
    % OBJECT ENCODING k
                     exact, except that the bulk replies "embstr" and "raw"
                     count as equal (Valkey 8's embstr limit depends on key
                     length and TTL, Redis 7.2's is a fixed 44 bytes; the
                     generator uses this, case files check the boundary with
                     @expect)

Directives start with `@`:

    @expect "<bytes>"   the target's reply to the next command must be exactly
                        these bytes (quoted like an argument: "-ERR x\\r\\n");
                        the reference's reply is not compared. For places
                        where the reference is known to differ from Redis 7.2.
    @scan SCAN 0 MATCH k* COUNT 3
                        iterate a SCAN/SSCAN/HSCAN/ZSCAN cursor to the end on
                        each server; compare the collected elements as a
                        multiset (HSCAN/ZSCAN: of field/value pairs). The
                        cursor argument given in the line is the start cursor.
    @read N             read N more replies without sending (for commands
                        that answer with several replies, e.g. SUBSCRIBE a b)
    @conn NAME          switch to connection NAME (opened on first use) on both
                        servers; the script starts on connection `main`
    @sleep MS           sleep MS milliseconds (expiry tests)
    @timeout SECONDS    reply timeout for the following commands (default 5)

A marker or directive character never starts a real command name; to send a
command whose name starts with one of `!~?%@#`, quote it: `"#foo" a`.
"""

from resp import SplitError, split_args

EXACT = "exact"
TYPE = "type"
UNORDERED = "unordered"
SKIP = "skip"
STRENC = "strenc"

MARKERS = {"!": TYPE, "~": UNORDERED, "?": SKIP, "%": STRENC}


class ScriptError(Exception):
    pass


class Step:
    """One line of a script: a command or a directive."""

    __slots__ = ("lineno", "text", "kind", "args", "mode", "expect")

    def __init__(self, lineno, text, kind, args=None, mode=EXACT, expect=None):
        self.lineno = lineno
        self.text = text
        self.kind = kind  # "cmd", "scan", "read", "conn", "sleep", "timeout"
        self.args = args
        self.mode = mode
        self.expect = expect

    def __repr__(self):
        return "Step(%d, %r)" % (self.lineno, self.text)


def read_lines(path):
    """Lines of a case file as latin-1 text (every byte is one char)."""
    with open(path, "rb") as f:
        data = f.read()
    return data.decode("latin-1").splitlines()


def parse(lines, name="<script>"):
    """Parse script lines into a list of Steps."""
    steps = []
    pending_expect = None
    for idx, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            if line.startswith("@"):
                word, _, rest = line[1:].partition(" ")
                word = word.lower()
                rest = rest.strip()
                if word == "expect":
                    vals = split_args(rest)
                    if len(vals) != 1:
                        raise ScriptError("@expect takes one quoted argument")
                    pending_expect = vals[0]
                    continue
                if word == "scan":
                    args = split_args(rest)
                    cmd = args[0].upper() if args else b""
                    if cmd not in (b"SCAN", b"SSCAN", b"HSCAN", b"ZSCAN"):
                        raise ScriptError("@scan needs a SCAN/SSCAN/HSCAN/ZSCAN command")
                    min_args = 2 if cmd == b"SCAN" else 3
                    if len(args) < min_args:
                        raise ScriptError("@scan: missing cursor argument")
                    steps.append(Step(idx, line, "scan", args, UNORDERED))
                elif word == "read":
                    steps.append(Step(idx, line, "read", [int(rest or "1")]))
                elif word == "conn":
                    if not rest:
                        raise ScriptError("@conn needs a name")
                    steps.append(Step(idx, line, "conn", [rest]))
                elif word == "sleep":
                    steps.append(Step(idx, line, "sleep", [int(rest)]))
                elif word == "timeout":
                    steps.append(Step(idx, line, "timeout", [float(rest)]))
                else:
                    raise ScriptError("unknown directive @%s" % word)
                if pending_expect is not None:
                    raise ScriptError("@expect must be followed by a command")
                continue
            mode = EXACT
            if line[0] in MARKERS:
                mode = MARKERS[line[0]]
                line = line[1:].lstrip()
            args = split_args(line)
            if not args:
                raise ScriptError("empty command")
            steps.append(Step(idx, line, "cmd", args, mode, pending_expect))
            pending_expect = None
        except (SplitError, ValueError, ScriptError) as e:
            raise ScriptError("%s:%d: %s: %r" % (name, idx, e, raw)) from None
    if pending_expect is not None:
        raise ScriptError("%s: @expect at end of script" % name)
    return steps
