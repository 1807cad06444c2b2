"""Raw-socket protocol cases: malformed requests, inline commands, pipelining.

Each case sends exact bytes on a fresh connection and observes
(reply bytes, whether the server closed the connection, whether a second
connection opened beforehand still answers PING). The observation of the
target must equal the reference's, and where a case names `expect`, it must
also equal that (Redis 7.2's behaviour, written out).
"""

import time

from resp import Conn, show

ERR_PROTO = b"-ERR Protocol error: "


class Case:
    def __init__(self, name, chunks, replies=None, expect=None, expect_closed=None, delay=0.0):
        self.name = name
        self.chunks = chunks if isinstance(chunks, list) else [chunks]
        self.replies = replies  # None: read until the server closes
        self.expect = expect
        self.expect_closed = expect_closed
        self.delay = delay


def _multibulk(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def _bytewise(data):
    return [data[i : i + 1] for i in range(len(data))]


CASES = [
    Case("invalid multibulk length", b"*abc\r\n",
         expect=ERR_PROTO + b"invalid multibulk length\r\n", expect_closed=True),
    Case("multibulk length too large", b"*10000000000\r\n",
         expect=ERR_PROTO + b"invalid multibulk length\r\n", expect_closed=True),
    Case("expected $ got +", b"*1\r\n+foo\r\n",
         expect=ERR_PROTO + b"expected '$', got '+'\r\n", expect_closed=True),
    Case("negative bulk length", b"*1\r\n$-5\r\n",
         expect=ERR_PROTO + b"invalid bulk length\r\n", expect_closed=True),
    Case("non-numeric bulk length", b"*1\r\n$abc\r\n",
         expect=ERR_PROTO + b"invalid bulk length\r\n", expect_closed=True),
    Case("bulk length above proto-max-bulk-len", b"*1\r\n$1000000000000\r\n",
         expect=ERR_PROTO + b"invalid bulk length\r\n", expect_closed=True),
    Case("unbalanced quotes inline", b'"unbalanced\r\n',
         expect=ERR_PROTO + b"unbalanced quotes in request\r\n", expect_closed=True),
    Case("unbalanced single quote inline", b"SET 'a b\r\n",
         expect=ERR_PROTO + b"unbalanced quotes in request\r\n", expect_closed=True),
    Case("too big inline request", b"a" * 70000,
         expect=ERR_PROTO + b"too big inline request\r\n", expect_closed=True),
    Case("too big mbulk count string", b"*" + b"1" * 70000,
         expect=ERR_PROTO + b"too big mbulk count string\r\n", expect_closed=True),
    Case("too big bulk count string", b"*1\r\n$" + b"1" * 70000,
         expect=ERR_PROTO + b"too big bulk count string\r\n", expect_closed=True),
    Case("replies before the error are sent",
         b"PING\r\n*1\r\n$4\r\nPING\r\n*abc\r\nPING\r\n",
         expect=b"+PONG\r\n+PONG\r\n" + ERR_PROTO + b"invalid multibulk length\r\n",
         expect_closed=True),
    Case("pipeline 10000 PINGs in one write", _multibulk(b"PING") * 10000,
         replies=10000, expect=b"+PONG\r\n" * 10000, expect_closed=False),
    Case("pipeline mixed commands", _multibulk(b"SET", b"p", b"1") + _multibulk(b"INCR", b"p") * 100 + _multibulk(b"GET", b"p"),
         replies=102),
    Case("inline SET/GET with CRLF", b"SET a b\r\nGET a\r\n", replies=2,
         expect=b"+OK\r\n$1\r\nb\r\n", expect_closed=False),
    Case("inline with bare LF", b"SET a b\nGET a\n", replies=2,
         expect=b"+OK\r\n$1\r\nb\r\n", expect_closed=False),
    Case("blank inline lines are ignored", b"\r\n\n\r\n  \r\nPING\r\n", replies=1,
         expect=b"+PONG\r\n", expect_closed=False),
    Case("inline quoting", b"SET \"a b\" 'c d'\r\nGET \"a b\"\r\nECHO \"\\x41\\n\"\r\n", replies=3,
         expect=b"+OK\r\n$3\r\nc d\r\n$2\r\nA\n\r\n", expect_closed=False),
    Case("inline unknown command", b"FOO bar\r\n", replies=1),
    Case("inline mixed with multibulk", b"PING\r\n" + _multibulk(b"ECHO", b"x") + b"ECHO y\r\n", replies=3,
         expect=b"+PONG\r\n$1\r\nx\r\n$1\r\ny\r\n"),
    Case("empty multibulk is ignored", b"*0\r\n*-1\r\nPING\r\n", replies=1,
         expect=b"+PONG\r\n", expect_closed=False),
    Case("multibulk sent one byte at a time", _bytewise(_multibulk(b"SET", b"split", b"value") + _multibulk(b"GET", b"split")),
         replies=2, expect=b"+OK\r\n$5\r\nvalue\r\n", delay=0.001),
    Case("inline sent one byte at a time", _bytewise(b"ECHO hello\r\n"), replies=1,
         expect=b"$5\r\nhello\r\n", delay=0.001),
    Case("binary-safe bulk argument", _multibulk(b"SET", b"bin", b"a\x00\r\n\xffb") + _multibulk(b"GET", b"bin"),
         replies=2, expect=b"+OK\r\n$6\r\na\x00\r\n\xffb\r\n"),
    Case("empty bulk argument", _multibulk(b"ECHO", b""), replies=1, expect=b"$0\r\n\r\n"),
    Case("1 MiB bulk argument in pieces",
         [_multibulk(b"SET", b"big", b"v" * (1 << 20))[i : i + 65536] for i in range(0, (1 << 20) + 40, 65536)]
         + [_multibulk(b"STRLEN", b"big")],
         replies=2, expect=b"+OK\r\n:1048576\r\n"),
    Case("QUIT closes after +OK", _multibulk(b"QUIT") + _multibulk(b"PING"),
         expect=b"+OK\r\n", expect_closed=True),
    Case("inline QUIT", b"QUIT\r\n", expect=b"+OK\r\n", expect_closed=True),
    Case("wrong arity inline", b"GET\r\n", replies=1,
         expect=b"-ERR wrong number of arguments for 'get' command\r\n"),
    # Redis looks for the inline newline with strchr(), which stops at the NUL:
    # it keeps waiting for more data and sends no reply.
    Case("null byte in inline command", b"ECHO a\x00b\r\n", replies=1),
    Case("multibulk count with plus sign", b"*+1\r\n$4\r\nPING\r\n"),
]


def observe(addr, case, timeout=3.0):
    """Run one case on a server; returns (bytes, closed, other_connection_ok)."""
    other = Conn(addr[0], addr[1], timeout=timeout)
    victim = Conn(addr[0], addr[1], timeout=timeout)
    try:
        for chunk in case.chunks:
            victim.send(chunk)
            if case.delay:
                time.sleep(case.delay)
        if case.replies is None:
            data, closed = victim.read_until_close(timeout)
        else:
            parts = []
            for _ in range(case.replies):
                r = victim.read_reply()
                parts.append(r.raw)
                if r.type in ("closed", "timeout"):
                    break
            data = b"".join(parts)
            closed = victim.closed
        other.send_command([b"PING"])
        other_ok = other.read_reply().raw == b"+PONG\r\n"
        return data, closed, other_ok
    finally:
        victim.close()
        other.close()


def run_case(case, ref_addr, target_addr):
    """Returns a list of problem descriptions (empty when the case passes)."""
    ref = observe(ref_addr, case)
    tgt = observe(target_addr, case)
    problems = []
    if ref != tgt:
        problems.append(
            "reference and target differ:\n    reference: %s closed=%s other_ok=%s\n    target:    %s closed=%s other_ok=%s"
            % (show(ref[0]), ref[1], ref[2], show(tgt[0]), tgt[1], tgt[2])
        )
    if case.expect is not None and tgt[0] != case.expect:
        problems.append("target reply %s, expected %s" % (show(tgt[0]), show(case.expect)))
    if case.expect_closed is not None and tgt[1] != case.expect_closed:
        problems.append("target connection closed=%s, expected closed=%s" % (tgt[1], case.expect_closed))
    if not tgt[2]:
        problems.append("target: a second connection stopped answering PING")
    return problems
