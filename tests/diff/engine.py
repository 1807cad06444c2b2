"""Runs case scripts against two servers and compares their replies."""

import time

import resp
from resp import Conn, Reply, show
from script import EXACT, SKIP, STRENC, TYPE, UNORDERED


class Mismatch:
    def __init__(self, script, lineno, command, mode, ref, target, note=""):
        self.script = script
        self.lineno = lineno
        self.command = command
        self.mode = mode
        self.ref = ref
        self.target = target
        self.note = note

    def render(self, ref_name="reference", target_name="target"):
        if self.mode == "expect":
            ref_name = "expected"
        width = max(len(ref_name), len(target_name))
        lines = [
            "  %s:%d  [%s]  %s" % (self.script, self.lineno, self.mode, self.command),
            "    %-*s %s" % (width + 1, ref_name + ":", self.ref),
            "    %-*s %s" % (width + 1, target_name + ":", self.target),
        ]
        if self.note:
            lines.append("    note: %s" % self.note)
        return "\n".join(lines)


class Side:
    """One server as seen by a script: named connections to host:port."""

    def __init__(self, name, addr):
        self.name = name
        self.addr = addr
        self.conns = {}
        self.timeout = 5.0

    def conn(self, name):
        c = self.conns.get(name)
        if c is None or (not c.buf and c.peer_closed()):
            if c is not None:
                c.close()
            c = Conn(self.addr[0], self.addr[1], timeout=self.timeout)
            self.conns[name] = c
        c.timeout = self.timeout
        return c

    def close(self):
        for c in self.conns.values():
            c.close()
        self.conns.clear()


def admin(addr, *args, timeout=10.0):
    """Send one command on a fresh connection; returns the Reply."""
    c = Conn(addr[0], addr[1], timeout=timeout)
    try:
        c.send_command(list(args))
        return c.read_reply()
    finally:
        c.close()


def _sorted_children(reply):
    kids = [k.raw for k in reply.children]
    if reply.type == "%":
        kids = [kids[i] + kids[i + 1] for i in range(0, len(kids) - 1, 2)]
    return sorted(kids)


_STRING_ENCODINGS = (b"$6\r\nembstr\r\n", b"$3\r\nraw\r\n")


def compare(mode, ref, tgt):
    """Return None when equal under `mode`, else a short note."""
    if mode == SKIP:
        return None
    if mode == EXACT:
        return None if ref.raw == tgt.raw else ""
    if mode == STRENC:
        if ref.raw == tgt.raw or (ref.raw in _STRING_ENCODINGS and tgt.raw in _STRING_ENCODINGS):
            return None
        return ""
    if mode == TYPE:
        return None if ref.type == tgt.type else "RESP types differ"
    if mode == UNORDERED:
        if ref.type != tgt.type:
            return "RESP types differ"
        if ref.children is None or tgt.children is None:
            return None if ref.raw == tgt.raw else ""
        if len(ref.children) != len(tgt.children):
            return "element counts differ: %d vs %d" % (len(ref.children), len(tgt.children))
        if _sorted_children(ref) != _sorted_children(tgt):
            return "element multisets differ"
        return None
    raise ValueError(mode)


def _scan_pairs(cmd, args):
    if cmd == b"HSCAN":
        return not any(a.upper() == b"NOVALUES" for a in args[3:])
    return cmd == b"ZSCAN"


def full_scan(conn, args, max_rounds=100000):
    """Iterate a SCAN-family cursor to 0. Returns (Reply-like, elements|None).

    On an error or malformed reply, returns (that reply, None).
    """
    cmd = args[0].upper()
    cur_idx = 1 if cmd == b"SCAN" else 2
    pairs = _scan_pairs(cmd, args)
    elements = []
    args = list(args)
    for _ in range(max_rounds):
        conn.send_command(args)
        reply = conn.read_reply()
        ok = (
            reply.type in ("*",)
            and reply.children is not None
            and len(reply.children) == 2
            and reply.children[1].children is not None
        )
        if not ok:
            return reply, None
        cursor = reply.children[0].payload()
        kids = [k.raw for k in reply.children[1].children]
        if pairs:
            kids = [kids[i] + kids[i + 1] for i in range(0, len(kids) - 1, 2)]
        elements.extend(kids)
        if cursor == b"0" or cursor is None:
            return reply, sorted(elements)
        args[cur_idx] = cursor
    return Reply(b"<scan did not finish>", "timeout"), None


class TargetUnresponsive(Exception):
    """The target stopped answering while the reference answered."""


# A script stops after this many commands the target alone left unanswered.
MAX_TARGET_TIMEOUTS = 3


class ScriptResult:
    def __init__(self, name):
        self.name = name
        self.compared = 0
        self.mismatches = []
        self.error = None
        self.seconds = 0.0
        self.target_timeouts = 0

    @property
    def ok(self):
        return not self.mismatches and self.error is None


class Engine:
    def __init__(self, ref_addr, target_addr, ref_name="reference", target_name="target"):
        self.ref_addr = ref_addr
        self.target_addr = target_addr
        self.ref_name = ref_name
        self.target_name = target_name
        # When set, called as trace(script, step, ref_reply, target_reply) per command.
        self.trace = None

    def reset_servers(self):
        for addr in (self.ref_addr, self.target_addr):
            r = admin(addr, b"FLUSHALL")
            if r.raw != b"+OK\r\n":
                raise RuntimeError("FLUSHALL on %s:%d answered %s" % (addr[0], addr[1], show(r.raw)))

    def run(self, name, steps, stop_after=None):
        """Run parsed steps; returns a ScriptResult."""
        result = ScriptResult(name)
        t0 = time.monotonic()
        ref = Side(self.ref_name, self.ref_addr)
        tgt = Side(self.target_name, self.target_addr)
        current = "main"
        try:
            self.reset_servers()
            for step in steps:
                if stop_after is not None and len(result.mismatches) >= stop_after:
                    break
                if step.kind == "conn":
                    current = step.args[0]
                elif step.kind == "sleep":
                    time.sleep(step.args[0] / 1000.0)
                elif step.kind == "timeout":
                    ref.timeout = tgt.timeout = step.args[0]
                elif step.kind == "read":
                    for _ in range(step.args[0]):
                        r = ref.conn(current).read_reply()
                        t = tgt.conn(current).read_reply()
                        if self.trace:
                            self.trace(name, step, r, t, compare(step.mode, r, t) is None)
                        self._check(result, step, step.mode, r, t)
                elif step.kind == "scan":
                    r_reply, r_elems = full_scan(ref.conn(current), step.args)
                    t_reply, t_elems = full_scan(tgt.conn(current), step.args)
                    result.compared += 1
                    if r_elems is None or t_elems is None:
                        if r_elems is not None or t_elems is not None or r_reply.raw != t_reply.raw:
                            result.mismatches.append(
                                Mismatch(name, step.lineno, step.text, "scan",
                                         show(r_reply.raw), show(t_reply.raw))
                            )
                    elif r_elems != t_elems:
                        result.mismatches.append(
                            Mismatch(name, step.lineno, step.text, "scan",
                                     _elems(r_elems), _elems(t_elems),
                                     "collected elements differ")
                        )
                else:
                    rc = ref.conn(current)
                    tc = tgt.conn(current)
                    rc.send_command(step.args)
                    r = rc.read_reply()
                    tc.send_command(step.args)
                    t = tc.read_reply()
                    if step.args[0].upper() == b"QUIT":
                        # The server closes after +OK: wait for it, so the next
                        # command goes to a fresh connection on both sides.
                        closed = [c.read_until_close(1.0)[1] for c in (rc, tc)]
                        if closed[0] != closed[1]:
                            result.mismatches.append(
                                Mismatch(name, step.lineno, step.text, "closed",
                                         "closed=%s" % closed[0], "closed=%s" % closed[1],
                                         "connection state after QUIT differs"))
                    if self.trace:
                        ok = t.raw == step.expect if step.expect is not None else compare(step.mode, r, t) is None
                        self.trace(name, step, r, t, ok)
                    if step.expect is not None:
                        result.compared += 1
                        if t.type == "timeout" and r.type != "timeout":
                            result.target_timeouts += 1
                        if t.raw != step.expect:
                            result.mismatches.append(
                                Mismatch(name, step.lineno, step.text, "expect",
                                         show(step.expect), show(t.raw),
                                         "(reference answered %s)" % show(r.raw))
                            )
                    else:
                        self._check(result, step, step.mode, r, t)
        except TargetUnresponsive as e:
            result.error = str(e)
        except (OSError, resp.ProtocolError, RuntimeError) as e:
            result.error = "%s: %s" % (type(e).__name__, e)
        finally:
            ref.close()
            tgt.close()
            result.seconds = time.monotonic() - t0
        return result

    def _check(self, result, step, mode, r, t):
        if t.type == "timeout" and r.type != "timeout":
            result.target_timeouts += 1
        if mode == SKIP:
            self._give_up_if_unresponsive(result)
            return
        result.compared += 1
        note = compare(mode, r, t)
        if note is not None:
            result.mismatches.append(
                Mismatch(result.name, step.lineno, step.text, mode, show(r.raw), show(t.raw), note)
            )
        self._give_up_if_unresponsive(result)

    @staticmethod
    def _give_up_if_unresponsive(result):
        if result.target_timeouts >= MAX_TARGET_TIMEOUTS:
            raise TargetUnresponsive(
                "target left %d commands unanswered; rest of the script skipped" % result.target_timeouts
            )


def _elems(elems, limit=20):
    shown = ", ".join(show(e, 60) for e in elems[:limit])
    more = " ... (%d total)" % len(elems) if len(elems) > limit else ""
    return "[%s%s]" % (shown, more)
