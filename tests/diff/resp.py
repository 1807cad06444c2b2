"""RESP2/RESP3 wire helpers for the differential harness (stdlib only).

`Conn.read_reply()` returns a `Reply`: the exact bytes of one complete
top-level reply plus a parsed tree, so replies can be compared byte for byte
(the default) or structurally (by type, or as an unordered multiset of
aggregate elements).

`split_args()` splits a line the way redis-cli does (sdssplitargs): double
quotes understand \\n \\r \\t \\b \\a \\\\ \\" and \\xHH escapes, single quotes
only \\'.
"""

import select
import socket
import time

CRLF = b"\r\n"

# RESP types whose payload is one line.
LINE_TYPES = frozenset(b"+-:_,#(")
# RESP types whose payload is a length-prefixed blob.
BLOB_TYPES = frozenset(b"$!=")
# RESP types with N child elements.
ARRAY_TYPES = frozenset(b"*~>")
# RESP types with N key/value pairs (2N children).
MAP_TYPES = frozenset(b"%|")

# Sentinel replies for things that are not RESP data.
CLOSED = b"<connection closed>"
TIMEOUT = b"<no reply: timeout>"


class ProtocolError(Exception):
    """The server sent bytes that are not valid RESP."""


class Reply:
    """One complete reply: exact bytes, RESP type byte and child replies.

    `type` is the first byte as a one-character str ('+', '$', '*', ...), or
    'closed' / 'timeout' for the sentinels. For an attribute-prefixed reply
    (`|`), `attribute` holds the attribute and the rest describes the real
    reply that followed it; `raw` covers both.
    """

    __slots__ = ("raw", "type", "children", "attribute", "is_null")

    def __init__(self, raw, rtype, children=None, attribute=None, is_null=False):
        self.raw = raw
        self.type = rtype
        self.children = children
        self.attribute = attribute
        self.is_null = is_null

    @classmethod
    def sentinel(cls, raw):
        return cls(raw, "closed" if raw == CLOSED else "timeout")

    def is_error(self):
        return self.type in ("-", "!")

    def payload(self):
        """Bytes of a simple/blob reply without framing, or None."""
        if self.children is not None or self.type in ("closed", "timeout"):
            return None
        raw = self.raw[len(self.attribute.raw):] if self.attribute is not None else self.raw
        if self.type in ("$", "!", "="):
            if self.is_null:
                return None
            start = raw.index(CRLF) + 2
            return raw[start:-2]
        return raw[1:-2]

    def __repr__(self):
        return "Reply(%r)" % (self.raw,)


class Conn:
    """A blocking client connection that keeps a read buffer."""

    def __init__(self, host, port, timeout=5.0):
        self.addr = (host, port)
        self.timeout = timeout
        self.sock = socket.create_connection(self.addr, timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.closed = False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
        self.closed = True

    def peer_closed(self):
        """True when the server has closed the connection (checked without blocking)."""
        if self.closed:
            return True
        if self.buf:
            return False
        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
            if readable and not self.sock.recv(1, socket.MSG_PEEK):
                self.closed = True
        except OSError:
            self.closed = True
        return self.closed

    def send(self, data):
        try:
            self.sock.sendall(data)
        except OSError:
            self.closed = True

    def send_command(self, args):
        self.send(encode_command(args))

    def _fill(self, deadline):
        """Read more bytes into the buffer; False on EOF, raises on timeout."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout()
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(1 << 16)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            return False
        self.buf += chunk
        return True

    def read_reply(self, timeout=None):
        """Read one complete reply; returns a Reply (or a sentinel Reply)."""
        if self.closed and not self.buf:
            return Reply.sentinel(CLOSED)
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            try:
                parsed = parse_reply(self.buf, 0)
            except ProtocolError:
                raise
            if parsed is not None:
                reply, end = parsed
                del self.buf[:end]
                return reply
            try:
                if not self._fill(deadline):
                    self.closed = True
                    return Reply.sentinel(CLOSED)
            except socket.timeout:
                return Reply.sentinel(TIMEOUT)
            except OSError:
                self.closed = True
                return Reply.sentinel(CLOSED)

    def read_until_close(self, timeout=2.0):
        """Read everything until EOF or `timeout`; returns (bytes, closed)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if not self._fill(deadline):
                    data = bytes(self.buf)
                    self.buf.clear()
                    self.closed = True
                    return data, True
            except socket.timeout:
                data = bytes(self.buf)
                self.buf.clear()
                return data, False
            except OSError:
                data = bytes(self.buf)
                self.buf.clear()
                self.closed = True
                return data, True


def _find_line(buf, pos):
    end = buf.find(CRLF, pos)
    if end < 0:
        return None
    return end


def parse_reply(buf, pos):
    """Parse one reply from `buf` at `pos`.

    Returns (Reply, end_pos), or None when more bytes are needed.
    Raises ProtocolError on malformed input.
    """
    if pos >= len(buf):
        return None
    t = buf[pos]
    line_end = _find_line(buf, pos)
    if line_end is None:
        return None
    header = bytes(buf[pos + 1 : line_end])
    rtype = chr(t)
    after = line_end + 2
    if t in LINE_TYPES:
        return Reply(bytes(buf[pos:after]), rtype, is_null=(t == ord("_"))), after
    if t in BLOB_TYPES:
        n = _int(header, rtype)
        if n < 0:
            if n != -1:
                raise ProtocolError("bad blob length %r" % header)
            return Reply(bytes(buf[pos:after]), rtype, is_null=True), after
        end = after + n + 2
        if len(buf) < end:
            return None
        if buf[end - 2 : end] != CRLF:
            raise ProtocolError("blob not terminated by CRLF")
        return Reply(bytes(buf[pos:end]), rtype), end
    if t in ARRAY_TYPES or t in MAP_TYPES:
        n = _int(header, rtype)
        if n < 0:
            if n != -1 or t not in ARRAY_TYPES:
                raise ProtocolError("bad aggregate length %r" % header)
            return Reply(bytes(buf[pos:after]), rtype, is_null=True), after
        count = n * 2 if t in MAP_TYPES else n
        children = []
        cur = after
        for _ in range(count):
            parsed = parse_reply(buf, cur)
            if parsed is None:
                return None
            child, cur = parsed
            children.append(child)
        if t == ord("|"):
            # Attribute: the real reply follows and belongs to it.
            attr = Reply(bytes(buf[pos:cur]), rtype, children)
            parsed = parse_reply(buf, cur)
            if parsed is None:
                return None
            inner, cur = parsed
            return (
                Reply(
                    bytes(buf[pos:cur]),
                    inner.type,
                    inner.children,
                    attribute=attr,
                    is_null=inner.is_null,
                ),
                cur,
            )
        return Reply(bytes(buf[pos:cur]), rtype, children), cur
    raise ProtocolError("unknown RESP type byte %r" % chr(t))


def _int(header, rtype):
    try:
        return int(header)
    except ValueError:
        raise ProtocolError("bad length %r for type %r" % (header, rtype)) from None


def encode_command(args):
    """Encode a list of bytes/str arguments as a RESP multibulk request."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        out.append(b"$%d\r\n" % len(a))
        out.append(a)
        out.append(CRLF)
    return b"".join(out)


class SplitError(ValueError):
    pass


_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "a": "\a"}
_HEX = "0123456789abcdefABCDEF"


def split_args(line):
    """Split a command line like redis-cli/sdssplitargs; returns list of bytes.

    `line` is a str holding bytes as latin-1 code points (see read_lines()),
    so UTF-8 text in a case file passes through unchanged.
    """
    args = []
    i = 0
    n = len(line)
    while True:
        while i < n and line[i].isspace():
            i += 1
        if i >= n:
            return args
        cur = []
        in_dq = in_sq = False
        while True:
            if in_dq:
                if i >= n:
                    raise SplitError("unbalanced double quotes")
                c = line[i]
                if (
                    c == "\\"
                    and i + 3 < n
                    and line[i + 1] == "x"
                    and line[i + 2] in _HEX
                    and line[i + 3] in _HEX
                ):
                    cur.append(chr(int(line[i + 2 : i + 4], 16)))
                    i += 3
                elif c == "\\" and i + 1 < n:
                    i += 1
                    cur.append(_ESCAPES.get(line[i], line[i]))
                elif c == '"':
                    if i + 1 < n and not line[i + 1].isspace():
                        raise SplitError("closing quote must be followed by a space")
                    in_dq = False
                    i += 1
                    break
                else:
                    cur.append(c)
            elif in_sq:
                if i >= n:
                    raise SplitError("unbalanced single quotes")
                c = line[i]
                if c == "\\" and i + 1 < n and line[i + 1] == "'":
                    i += 1
                    cur.append("'")
                elif c == "'":
                    if i + 1 < n and not line[i + 1].isspace():
                        raise SplitError("closing quote must be followed by a space")
                    in_sq = False
                    i += 1
                    break
                else:
                    cur.append(c)
            else:
                if i >= n or line[i].isspace():
                    break
                c = line[i]
                if c == '"' and not cur:
                    in_dq = True
                elif c == "'" and not cur:
                    in_sq = True
                else:
                    cur.append(c)
            i += 1
        args.append(_to_bytes(cur))


def _to_bytes(chars):
    # Lines are decoded as latin-1, so every char (literal or \xHH) is a byte.
    return "".join(chars).encode("latin-1")


def quote_arg(b):
    """Render bytes as a redis-cli style argument (inverse of split_args)."""
    if b and all(33 <= c < 127 and c not in b"\"'\\" for c in b):
        return b.decode()
    out = ['"']
    for c in b:
        ch = chr(c)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif 32 <= c < 127:
            out.append(ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        else:
            out.append("\\x%02x" % c)
    out.append('"')
    return "".join(out)


def show(raw, limit=300):
    """Human-readable rendering of raw reply bytes, truncated."""
    text = repr(bytes(raw))
    if len(text) > limit:
        text = text[:limit] + "... (%d bytes)" % len(raw)
    return text
