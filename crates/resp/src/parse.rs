//! Request parser: RESP multibulk and inline commands, with Redis's exact
//! protocol errors and limits.
//!
//! The parser is zero-copy and resumable: arguments are byte ranges into the
//! caller's read buffer, and a multibulk request that arrives in many reads is
//! not re-scanned from its start on every read.

/// Longest inline request (and longest length line) Redis accepts: 64 KiB.
pub const PROTO_INLINE_MAX_SIZE: usize = 1024 * 64;
/// Limits applied to clients that have not authenticated when a password is set.
pub const UNAUTH_MAX_MULTIBULK: i64 = 10;
pub const UNAUTH_MAX_BULK: i64 = 16384;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// `proto-max-bulk-len`.
    pub max_bulk_len: i64,
    /// True when `requirepass` is set and the client has not authenticated.
    pub unauthenticated: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bulk_len: 512 * 1024 * 1024,
            unauthenticated: false,
        }
    }
}

/// A protocol error; the text is what follows `-ERR ` on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtoError(pub &'static str);

impl ProtoError {
    pub fn message(&self) -> String {
        format!("ERR Protocol error: {}", self.0)
    }
}

/// Parsed arguments of one request: ranges into the read buffer, or into
/// `inline` for inline requests (which may contain unescaped quotes).
#[derive(Debug, Default)]
pub struct Argv {
    pub ranges: Vec<(usize, usize)>,
    pub inline: Vec<u8>,
    pub is_inline: bool,
}

impl Argv {
    pub fn clear(&mut self) {
        self.ranges.clear();
        self.inline.clear();
        self.is_inline = false;
    }

    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Fills `out` with slices of the arguments.
    pub fn slices<'a>(&'a self, buf: &'a [u8], out: &mut Vec<&'a [u8]>) {
        let src = if self.is_inline {
            &self.inline[..]
        } else {
            buf
        };
        for &(s, e) in &self.ranges {
            out.push(src.get(s..e).unwrap_or(&[]));
        }
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct MultiBulk {
    /// Arguments still to read.
    remaining: usize,
    /// Offset of the next unread byte.
    pos: usize,
    /// Length of the bulk being read, once its header was parsed.
    bulk: Option<usize>,
}

/// Outcome of one `parse` call.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// Need more bytes; call again with the same buffer grown.
    Incomplete,
    /// A request of `consumed` bytes was parsed into the `Argv` (possibly
    /// with zero arguments: an empty inline line or `*0`).
    Done(usize),
}

#[derive(Debug, Default)]
pub struct Parser {
    mb: Option<MultiBulk>,
}

/// Redis's `string2ll` for protocol lengths: optional '-', digits, no spaces,
/// no leading zeros, fits in i64.
fn parse_len(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let (neg, digits) = if s[0] == b'-' {
        (true, &s[1..])
    } else {
        (false, s)
    };
    if digits.is_empty() {
        return None;
    }
    if digits.len() > 1 && digits[0] == b'0' {
        return None;
    }
    let mut v: i64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as i64)?;
    }
    if neg {
        if v == 0 {
            return None;
        }
        Some(-v)
    } else {
        Some(v)
    }
}

/// Fast path for a length line starting at `from`: 1 to 18 digits (no
/// sign, no leading zero) then `\r` and at least one more byte. Returns the
/// value and the position of the `\r`; None sends the caller to the general
/// path (`find_cr` + `parse_len`), which gives the same result for these
/// inputs and handles everything else.
#[inline]
fn quick_len(buf: &[u8], from: usize) -> Option<(i64, usize)> {
    let s = buf.get(from..)?;
    let mut v: i64 = 0;
    let mut i = 0;
    while let Some(&c) = s.get(i) {
        if c == b'\r' {
            break;
        }
        if !c.is_ascii_digit() || i >= 18 {
            return None;
        }
        v = v * 10 + (c - b'0') as i64;
        i += 1;
    }
    let cr = from + i;
    if i == 0 || (i > 1 && s.first() == Some(&b'0')) || cr + 1 >= buf.len() {
        return None;
    }
    Some((v, cr))
}

/// Fast path for a common request: a multibulk request whose length lines
/// all take [`quick_len`]'s fast path and that is complete in `buf`, within
/// the limits. Anything else (None) goes through the general, resumable
/// path, which parses it the same way or reports the error.
#[inline]
fn parse_whole(buf: &[u8], limits: &Limits, argv: &mut Argv) -> Option<usize> {
    if buf.first() != Some(&b'*') {
        return None;
    }
    let (n, cr) = quick_len(buf, 1)?;
    let max_args = if limits.unauthenticated {
        UNAUTH_MAX_MULTIBULK
    } else {
        1024
    };
    if n == 0 || n > max_args {
        return None;
    }
    let max_bulk = if limits.unauthenticated {
        limits.max_bulk_len.min(UNAUTH_MAX_BULK)
    } else {
        limits.max_bulk_len
    };
    let mut pos = cr + 2;
    for _ in 0..n {
        if buf.get(pos) != Some(&b'$') {
            return None;
        }
        let (l, cr) = quick_len(buf, pos + 1)?;
        if l > max_bulk {
            return None;
        }
        let start = cr + 2;
        let end = start + l as usize;
        // Redis skips the two bytes after the payload without checking them.
        if buf.len() < end + 2 {
            return None;
        }
        argv.ranges.push((start, end));
        pos = end + 2;
    }
    Some(pos)
}

fn find_cr(buf: &[u8], from: usize) -> Option<usize> {
    buf.get(from..)?
        .iter()
        .position(|&c| c == b'\r')
        .map(|p| p + from)
}

impl Parser {
    pub fn new() -> Self {
        Parser { mb: None }
    }

    /// True while a multibulk request is partially read.
    pub fn in_progress(&self) -> bool {
        self.mb.is_some()
    }

    /// Parses one request from the start of `buf`. On `Done(n)` the caller
    /// executes `argv` and drops the first `n` bytes; on `Incomplete` it keeps
    /// the buffer as is and calls again after the next read.
    pub fn parse(
        &mut self,
        buf: &[u8],
        limits: &Limits,
        argv: &mut Argv,
    ) -> Result<Parsed, ProtoError> {
        if self.mb.is_none() {
            argv.clear();
            if let Some(used) = parse_whole(buf, limits, argv) {
                return Ok(Parsed::Done(used));
            }
            argv.clear();
            if buf.is_empty() {
                return Ok(Parsed::Incomplete);
            }
            if buf[0] != b'*' {
                return parse_inline(buf, argv);
            }
            // Multibulk count line.
            let (n, cr) = match quick_len(buf, 1) {
                Some(q) => q,
                None => {
                    let cr = match find_cr(buf, 0) {
                        Some(p) => p,
                        None => {
                            if buf.len() > PROTO_INLINE_MAX_SIZE {
                                return Err(ProtoError("too big mbulk count string"));
                            }
                            return Ok(Parsed::Incomplete);
                        }
                    };
                    if cr + 1 >= buf.len() {
                        return Ok(Parsed::Incomplete);
                    }
                    match parse_len(&buf[1..cr]) {
                        Some(n) => (n, cr),
                        None => return Err(ProtoError("invalid multibulk length")),
                    }
                }
            };
            if n > i32::MAX as i64 {
                return Err(ProtoError("invalid multibulk length"));
            }
            if limits.unauthenticated && n > UNAUTH_MAX_MULTIBULK {
                return Err(ProtoError("unauthenticated multibulk length"));
            }
            let pos = cr + 2;
            if n <= 0 {
                return Ok(Parsed::Done(pos));
            }
            argv.ranges.reserve((n as usize).min(1024));
            self.mb = Some(MultiBulk {
                remaining: n as usize,
                pos,
                bulk: None,
            });
        }
        let mut st = match self.mb {
            Some(st) => st,
            None => return Ok(Parsed::Incomplete),
        };
        let res = parse_bulks(buf, limits, argv, &mut st);
        match res {
            Ok(Parsed::Done(n)) => {
                self.mb = None;
                Ok(Parsed::Done(n))
            }
            Ok(Parsed::Incomplete) => {
                self.mb = Some(st);
                Ok(Parsed::Incomplete)
            }
            Err(e) => {
                self.mb = None;
                Err(e)
            }
        }
    }

    /// Forgets any partial request (after an error or a buffer reset).
    pub fn reset(&mut self) {
        self.mb = None;
    }
}

fn parse_bulks(
    buf: &[u8],
    limits: &Limits,
    argv: &mut Argv,
    st: &mut MultiBulk,
) -> Result<Parsed, ProtoError> {
    while st.remaining > 0 {
        let len = match st.bulk {
            Some(l) => l,
            None => {
                let quick = match buf.get(st.pos) {
                    Some(b'$') => quick_len(buf, st.pos + 1),
                    _ => None,
                };
                let (l, cr) = match quick {
                    Some(q) => q,
                    None => {
                        let cr = match find_cr(buf, st.pos) {
                            Some(p) => p,
                            None => {
                                if buf.len() - st.pos > PROTO_INLINE_MAX_SIZE {
                                    return Err(ProtoError("too big bulk count string"));
                                }
                                return Ok(Parsed::Incomplete);
                            }
                        };
                        if cr + 1 >= buf.len() {
                            return Ok(Parsed::Incomplete);
                        }
                        if buf[st.pos] != b'$' {
                            return Err(expected_dollar(buf[st.pos]));
                        }
                        match parse_len(&buf[st.pos + 1..cr]) {
                            Some(l) if l >= 0 => (l, cr),
                            _ => return Err(ProtoError("invalid bulk length")),
                        }
                    }
                };
                if l > limits.max_bulk_len {
                    return Err(ProtoError("invalid bulk length"));
                }
                if limits.unauthenticated && l > UNAUTH_MAX_BULK {
                    return Err(ProtoError("unauthenticated bulk length"));
                }
                st.pos = cr + 2;
                st.bulk = Some(l as usize);
                l as usize
            }
        };
        // Redis skips the two bytes after the payload without checking them.
        if buf.len() < st.pos + len + 2 {
            return Ok(Parsed::Incomplete);
        }
        argv.ranges.push((st.pos, st.pos + len));
        st.pos += len + 2;
        st.bulk = None;
        st.remaining -= 1;
    }
    Ok(Parsed::Done(st.pos))
}

fn expected_dollar(c: u8) -> ProtoError {
    // The message embeds the offending character; keep a static table for
    // printable ASCII and a generic text otherwise.
    static MSGS: [&str; 95] = {
        macro_rules! m {
            ($($c:literal)*) => { [$(concat!("expected '$', got '", $c, "'")),*] };
        }
        m!(" " "!" "\"" "#" "$" "%" "&" "'" "(" ")" "*" "+" "," "-" "." "/"
           "0" "1" "2" "3" "4" "5" "6" "7" "8" "9" ":" ";" "<" "=" ">" "?"
           "@" "A" "B" "C" "D" "E" "F" "G" "H" "I" "J" "K" "L" "M" "N" "O"
           "P" "Q" "R" "S" "T" "U" "V" "W" "X" "Y" "Z" "[" "\\" "]" "^" "_"
           "`" "a" "b" "c" "d" "e" "f" "g" "h" "i" "j" "k" "l" "m" "n" "o"
           "p" "q" "r" "s" "t" "u" "v" "w" "x" "y" "z" "{" "|" "}" "~")
    };
    if (32..127).contains(&c) {
        ProtoError(MSGS[(c - 32) as usize])
    } else {
        ProtoError("expected '$', got '?'")
    }
}

fn parse_inline(buf: &[u8], argv: &mut Argv) -> Result<Parsed, ProtoError> {
    // Redis looks for the newline with strchr(), which stops at a NUL byte:
    // an inline request with a NUL before its newline never completes.
    let nl = match buf.iter().position(|&c| c == b'\n' || c == 0) {
        Some(p) if buf[p] == b'\n' => p,
        _ => {
            if buf.len() > PROTO_INLINE_MAX_SIZE {
                return Err(ProtoError("too big inline request"));
            }
            return Ok(Parsed::Incomplete);
        }
    };
    let mut line = &buf[..nl];
    if let Some((&b'\r', rest)) = line.split_last() {
        line = rest;
    }
    argv.is_inline = true;
    split_args(line, argv).map_err(|_| ProtoError("unbalanced quotes in request"))?;
    Ok(Parsed::Done(nl + 1))
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Unbalanced quotes (or a closing quote not followed by a space).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unbalanced;

/// Port of Redis's `sdssplitargs`: the argument grammar of inline commands,
/// redis-cli and config files. Results are appended to `argv.inline` with
/// their ranges in `argv.ranges`.
pub fn split_args(line: &[u8], argv: &mut Argv) -> Result<(), Unbalanced> {
    let mut p = 0usize;
    let at = |i: usize| -> u8 { line.get(i).copied().unwrap_or(0) };
    loop {
        while p < line.len() && is_space(line[p]) {
            p += 1;
        }
        if p >= line.len() {
            return Ok(());
        }
        let start = argv.inline.len();
        let (mut inq, mut insq, mut done) = (false, false, false);
        while !done {
            let c = at(p);
            let end = p >= line.len();
            if inq {
                let hex = if c == b'\\' && at(p + 1) == b'x' {
                    hex_val(at(p + 2)).zip(hex_val(at(p + 3)))
                } else {
                    None
                };
                if let Some((h, l)) = hex {
                    argv.inline.push(h * 16 + l);
                    p += 4;
                    continue;
                }
                if end {
                    return Err(Unbalanced);
                } else if c == b'\\' && p + 1 < line.len() {
                    p += 1;
                    let e = match line[p] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        o => o,
                    };
                    argv.inline.push(e);
                } else if c == b'"' {
                    if p + 1 < line.len() && !is_space(line[p + 1]) {
                        return Err(Unbalanced);
                    }
                    done = true;
                } else {
                    argv.inline.push(c);
                }
            } else if insq {
                if end {
                    return Err(Unbalanced);
                } else if c == b'\\' && at(p + 1) == b'\'' && p + 1 < line.len() {
                    p += 1;
                    argv.inline.push(b'\'');
                } else if c == b'\'' {
                    if p + 1 < line.len() && !is_space(line[p + 1]) {
                        return Err(Unbalanced);
                    }
                    done = true;
                } else {
                    argv.inline.push(c);
                }
            } else if end {
                done = true;
            } else {
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => done = true,
                    b'"' => inq = true,
                    b'\'' => insq = true,
                    _ => argv.inline.push(c),
                }
            }
            if p < line.len() {
                p += 1;
            }
        }
        argv.ranges.push((start, argv.inline.len()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The length fast path agrees with the general path wherever it
    /// answers, and declines everything unusual.
    #[test]
    fn quick_len_matches_general_path() {
        let cases: &[&[u8]] = &[
            b"0\r\n",
            b"1\r\n",
            b"12\r\n",
            b"012\r\n",
            b"-1\r\n",
            b"\r\n",
            b"3",
            b"3\r",
            b"999999999999999999\r\n",
            b"9999999999999999999\r\n",
            b"1 \r\n",
            b"+1\r\n",
            b"4x\r\n",
            b"00\r\n",
        ];
        for c in cases {
            let general = find_cr(c, 0)
                .filter(|&cr| cr + 1 < c.len())
                .map(|cr| (parse_len(&c[..cr]), cr));
            match quick_len(c, 0) {
                Some((v, cr)) => assert_eq!(general, Some((Some(v), cr)), "{:?}", c),
                None => assert!(
                    matches!(general, None | Some((None, _)))
                        || c.first() == Some(&b'-')
                        || c.len() > 20,
                    "{:?}",
                    c
                ),
            }
        }
    }

    fn parse_all(input: &[u8]) -> Result<Vec<Vec<Vec<u8>>>, ProtoError> {
        let mut p = Parser::new();
        let mut argv = Argv::default();
        let mut off = 0;
        let mut out = vec![];
        let lim = Limits::default();
        loop {
            match p.parse(&input[off..], &lim, &mut argv)? {
                Parsed::Incomplete => return Ok(out),
                Parsed::Done(n) => {
                    let mut v = vec![];
                    argv.slices(&input[off..], &mut v);
                    out.push(v.iter().map(|s| s.to_vec()).collect());
                    off += n;
                }
            }
        }
    }

    /// Whole requests (fast path) and the same bytes fed one at a time
    /// (resumable path) parse alike, errors and limits included.
    #[test]
    fn whole_and_incremental_agree() {
        let inputs: &[&[u8]] = &[
            b"*2\r\n$3\r\nGET\r\n$1\r\na\r\n*3\r\n$3\r\nSET\r\n$0\r\n\r\n$2\r\nxy\r\n",
            b"*1\r\n$02\r\nab\r\n",
            b"*2\r\n$3\r\nGET\r\n$20000\r\n",
            b"*11\r\n$1\r\na\r\n",
            b"*1\r\n$-1\r\n",
            b"*1\r\n:1\r\n",
            b"*0\r\n*1\r\n$4\r\nPING\r\n",
        ];
        for unauth in [false, true] {
            let lim = Limits {
                max_bulk_len: 512 * 1024 * 1024,
                unauthenticated: unauth,
            };
            for input in inputs {
                let mut whole = Vec::new();
                let mut p = Parser::new();
                let mut argv = Argv::default();
                let mut off = 0;
                loop {
                    match p.parse(&input[off..], &lim, &mut argv) {
                        Ok(Parsed::Done(n)) => {
                            whole.push(Ok((n, argv.ranges.clone())));
                            off += n;
                        }
                        Ok(Parsed::Incomplete) => break,
                        Err(e) => {
                            whole.push(Err(e));
                            break;
                        }
                    }
                }
                let mut step = Vec::new();
                let mut p = Parser::new();
                let (mut off, mut end) = (0, 0);
                while end <= input.len() {
                    match p.parse(&input[off..end], &lim, &mut argv) {
                        Ok(Parsed::Done(n)) => {
                            step.push(Ok((n, argv.ranges.clone())));
                            off += n;
                        }
                        Ok(Parsed::Incomplete) => end += 1,
                        Err(e) => {
                            step.push(Err(e));
                            break;
                        }
                    }
                }
                assert_eq!(whole, step, "{:?} unauth={}", input, unauth);
            }
        }
    }

    #[test]
    fn multibulk() {
        let r = parse_all(b"*2\r\n$3\r\nGET\r\n$1\r\na\r\n*1\r\n$4\r\nPING\r\n").unwrap();
        assert_eq!(
            r,
            vec![vec![b"GET".to_vec(), b"a".to_vec()], vec![b"PING".to_vec()]]
        );
    }

    #[test]
    fn inline() {
        let r = parse_all(b"SET a \"b c\\x41\" 'd\\'e'\r\nPING\n\r\n").unwrap();
        assert_eq!(
            r,
            vec![
                vec![
                    b"SET".to_vec(),
                    b"a".to_vec(),
                    b"b cA".to_vec(),
                    b"d'e".to_vec()
                ],
                vec![b"PING".to_vec()],
                vec![]
            ]
        );
    }

    #[test]
    fn errors() {
        assert_eq!(
            parse_all(b"*abc\r\n").unwrap_err().0,
            "invalid multibulk length"
        );
        assert_eq!(
            parse_all(b"*1\r\n+foo\r\n").unwrap_err().0,
            "expected '$', got '+'"
        );
        assert_eq!(
            parse_all(b"*1\r\n$-5\r\n").unwrap_err().0,
            "invalid bulk length"
        );
        assert_eq!(
            parse_all(b"\"unbalanced\r\n").unwrap_err().0,
            "unbalanced quotes in request"
        );
        assert_eq!(
            parse_all(b"\"a\"b\r\n").unwrap_err().0,
            "unbalanced quotes in request"
        );
    }

    #[test]
    fn incremental_equals_whole() {
        let input = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";
        for split in 1..input.len() {
            let mut p = Parser::new();
            let mut argv = Argv::default();
            let lim = Limits::default();
            assert_eq!(
                p.parse(&input[..split], &lim, &mut argv).unwrap(),
                Parsed::Incomplete
            );
            assert_eq!(
                p.parse(input, &lim, &mut argv).unwrap(),
                Parsed::Done(input.len())
            );
            assert_eq!(argv.len(), 3);
        }
    }
}
