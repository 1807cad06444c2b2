//! Reply encoder: writes RESP2 or RESP3 replies straight into a byte buffer.
//!
//! Handlers never build reply trees; they append to the connection's output
//! buffer, so a pipelined batch of replies leaves in one `write`.

use crate::double::format_double;

/// A placeholder for an aggregate header whose length is known only after
/// its elements are written (Redis's "deferred length" replies).
#[derive(Debug, Clone, Copy)]
pub struct Deferred {
    pos: usize,
    kind: u8,
}

/// Output buffer for one connection (or one nested execution, e.g. a script call).
#[derive(Debug, Default, Clone)]
pub struct ReplyBuf {
    pub buf: Vec<u8>,
    pub resp3: bool,
    /// Number of error replies written since the last `take_errors` (for stats).
    pub errors: u32,
    /// First word of the last error written (e.g. "ERR", "WRONGTYPE"), for errorstats.
    pub last_error_code: Option<String>,
}

impl ReplyBuf {
    pub fn new(resp3: bool) -> Self {
        ReplyBuf {
            buf: Vec::with_capacity(256),
            resp3,
            errors: 0,
            last_error_code: None,
        }
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    #[inline]
    fn header(&mut self, prefix: u8, n: i64) {
        self.buf.push(prefix);
        let mut b = itoa::Buffer::new();
        self.buf.extend_from_slice(b.format(n).as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    #[inline]
    pub fn ok(&mut self) {
        self.buf.extend_from_slice(b"+OK\r\n");
    }

    #[inline]
    pub fn simple(&mut self, s: &str) {
        self.buf.push(b'+');
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    /// Writes `-{msg}\r\n`. `msg` carries its code (`ERR ...`, `WRONGTYPE ...`).
    /// Newlines inside the message are replaced by spaces, as Redis does.
    pub fn error(&mut self, msg: &str) {
        self.errors += 1;
        let code = msg.split(' ').next().unwrap_or("ERR");
        if self.last_error_code.as_deref() != Some(code) {
            self.last_error_code = Some(code.to_string());
        }
        self.buf.push(b'-');
        for &c in msg.as_bytes() {
            self.buf
                .push(if c == b'\r' || c == b'\n' { b' ' } else { c });
        }
        self.buf.extend_from_slice(b"\r\n");
    }

    #[inline]
    pub fn int(&mut self, v: i64) {
        self.header(b':', v);
    }

    #[inline]
    pub fn bulk(&mut self, b: &[u8]) {
        self.header(b'$', b.len() as i64);
        self.buf.extend_from_slice(b);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// A bulk string holding the decimal form of an integer.
    pub fn bulk_int(&mut self, v: i64) {
        let mut b = itoa::Buffer::new();
        let s = b.format(v);
        self.bulk(s.as_bytes());
    }

    #[inline]
    pub fn null(&mut self) {
        if self.resp3 {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"$-1\r\n");
        }
    }

    #[inline]
    pub fn null_array(&mut self) {
        if self.resp3 {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"*-1\r\n");
        }
    }

    #[inline]
    pub fn array(&mut self, n: usize) {
        self.header(b'*', n as i64);
    }

    /// A map of `pairs` key/value pairs (RESP2: a flat array of 2*pairs).
    #[inline]
    pub fn map(&mut self, pairs: usize) {
        if self.resp3 {
            self.header(b'%', pairs as i64);
        } else {
            self.header(b'*', 2 * pairs as i64);
        }
    }

    #[inline]
    pub fn set(&mut self, n: usize) {
        if self.resp3 {
            self.header(b'~', n as i64);
        } else {
            self.header(b'*', n as i64);
        }
    }

    #[inline]
    pub fn push(&mut self, n: usize) {
        if self.resp3 {
            self.header(b'>', n as i64);
        } else {
            self.header(b'*', n as i64);
        }
    }

    /// A double as Redis 7.2 writes it (shortest round-trip form).
    pub fn double(&mut self, v: f64) {
        let mut tmp = [0u8; 40];
        let n = format_double(v, &mut tmp);
        let s = &tmp[..n];
        if self.resp3 {
            self.buf.push(b',');
            self.buf.extend_from_slice(s);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(s);
        }
    }

    pub fn boolean(&mut self, v: bool) {
        if self.resp3 {
            self.buf
                .extend_from_slice(if v { b"#t\r\n" } else { b"#f\r\n" });
        } else {
            self.int(v as i64);
        }
    }

    /// Verbatim text (`=len\r\ntxt:...`), a plain bulk string in RESP2.
    pub fn verbatim(&mut self, s: &[u8]) {
        if self.resp3 {
            self.header(b'=', s.len() as i64 + 4);
            self.buf.extend_from_slice(b"txt:");
            self.buf.extend_from_slice(s);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(s);
        }
    }

    pub fn big_number(&mut self, s: &str) {
        if self.resp3 {
            self.buf.push(b'(');
            self.buf.extend_from_slice(s.as_bytes());
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(s.as_bytes());
        }
    }

    /// Appends raw, already encoded RESP bytes.
    pub fn raw(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }

    fn deferred(&mut self, kind: u8) -> Deferred {
        let pos = self.buf.len();
        Deferred { pos, kind }
    }

    fn finish(&mut self, d: Deferred, n: usize) {
        let mut hdr = Vec::with_capacity(24);
        hdr.push(d.kind);
        let mut b = itoa::Buffer::new();
        hdr.extend_from_slice(b.format(n).as_bytes());
        hdr.extend_from_slice(b"\r\n");
        let pos = d.pos.min(self.buf.len());
        self.buf.splice(pos..pos, hdr);
    }

    pub fn deferred_array(&mut self) -> Deferred {
        self.deferred(b'*')
    }

    pub fn finish_array(&mut self, d: Deferred, n: usize) {
        self.finish(d, n)
    }

    pub fn deferred_map(&mut self) -> Deferred {
        let kind = if self.resp3 { b'%' } else { b'*' };
        self.deferred(kind)
    }

    pub fn finish_map(&mut self, d: Deferred, pairs: usize) {
        let n = if d.kind == b'%' { pairs } else { pairs * 2 };
        self.finish(d, n)
    }

    pub fn deferred_set(&mut self) -> Deferred {
        let kind = if self.resp3 { b'~' } else { b'*' };
        self.deferred(kind)
    }

    pub fn finish_set(&mut self, d: Deferred, n: usize) {
        self.finish(d, n)
    }

    /// Clears the buffer, keeping its allocation.
    pub fn clear(&mut self) {
        self.buf.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resp2_forms() {
        let mut r = ReplyBuf::new(false);
        r.ok();
        r.int(-5);
        r.bulk(b"hi");
        r.null();
        r.null_array();
        r.map(2);
        r.double(1.5);
        r.error("ERR bad\r\nthing");
        assert_eq!(
            r.buf,
            b"+OK\r\n:-5\r\n$2\r\nhi\r\n$-1\r\n*-1\r\n*4\r\n$3\r\n1.5\r\n-ERR bad  thing\r\n"
                .to_vec()
        );
        assert_eq!(r.errors, 1);
        assert_eq!(r.last_error_code.as_deref(), Some("ERR"));
    }

    #[test]
    fn resp3_forms() {
        let mut r = ReplyBuf::new(true);
        r.null();
        r.map(1);
        r.set(2);
        r.double(f64::INFINITY);
        r.boolean(true);
        r.verbatim(b"ab");
        assert_eq!(
            r.buf,
            b"_\r\n%1\r\n~2\r\n,inf\r\n#t\r\n=6\r\ntxt:ab\r\n".to_vec()
        );
    }

    #[test]
    fn deferred() {
        let mut r = ReplyBuf::new(false);
        r.ok();
        let d = r.deferred_map();
        r.bulk(b"a");
        r.int(1);
        r.finish_map(d, 1);
        assert_eq!(r.buf, b"+OK\r\n*2\r\n$1\r\na\r\n:1\r\n".to_vec());
    }
}
