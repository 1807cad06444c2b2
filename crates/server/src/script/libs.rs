//! Native libraries exposed to scripts: `bit` (LuaBitOp semantics) and
//! `cjson` (lua-cjson's encoding rules).
//!
//! Each function returns `(ok, value)`; on failure `value` is the message
//! that the Lua wrapper raises at the caller's position.

use mlua::{LightUserData, Lua, MultiValue, Table, Value};

type Ret = mlua::Result<(bool, Value)>;

fn fail(lua: &Lua, msg: &str) -> Ret {
    Ok((false, Value::String(lua.create_string(msg)?)))
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Nil => "nil",
        Value::Boolean(_) => "boolean",
        Value::LightUserData(_) => "userdata",
        Value::Integer(_) | Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Table(_) => "table",
        Value::Function(_) => "function",
        Value::Thread(_) => "thread",
        _ => "userdata",
    }
}

/// LuaBitOp's argument conversion: the number's low 32 bits after rounding.
fn tobit_f(n: f64) -> u32 {
    let t = n + 6_755_399_441_055_744.0;
    t.to_bits() as u32
}

fn num_arg(lua: &Lua, args: &[Value], i: usize, fname: &str) -> Result<u32, String> {
    let v = args.get(i).cloned().unwrap_or(Value::Nil);
    let got = if args.len() <= i {
        "no value"
    } else {
        type_name(&v)
    };
    match &v {
        Value::Integer(n) => Ok(tobit_f(*n as f64)),
        Value::Number(n) => Ok(tobit_f(*n)),
        Value::String(_) => match lua.coerce_number(v.clone()) {
            Ok(Some(n)) => Ok(tobit_f(n)),
            _ => Err(format!(
                "bad argument #{} to '{}' (number expected, got {})",
                i + 1,
                fname,
                got
            )),
        },
        _ => Err(format!(
            "bad argument #{} to '{}' (number expected, got {})",
            i + 1,
            fname,
            got
        )),
    }
}

fn int(b: u32) -> Value {
    Value::Number(b as i32 as f64)
}

pub fn bit_table(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    fn unary(lua: &Lua, name: &'static str, f: fn(u32) -> u32) -> mlua::Result<mlua::Function> {
        lua.create_function(move |lua, args: MultiValue| -> Ret {
            let a: Vec<Value> = args.into_iter().collect();
            match num_arg(lua, &a, 0, name) {
                Ok(x) => Ok((true, int(f(x)))),
                Err(e) => fail(lua, &e),
            }
        })
    }
    fn fold(lua: &Lua, name: &'static str, f: fn(u32, u32) -> u32) -> mlua::Result<mlua::Function> {
        lua.create_function(move |lua, args: MultiValue| -> Ret {
            let a: Vec<Value> = args.into_iter().collect();
            let mut acc = match num_arg(lua, &a, 0, name) {
                Ok(x) => x,
                Err(e) => return fail(lua, &e),
            };
            for i in 1..a.len() {
                match num_arg(lua, &a, i, name) {
                    Ok(x) => acc = f(acc, x),
                    Err(e) => return fail(lua, &e),
                }
            }
            Ok((true, int(acc)))
        })
    }
    fn shift(
        lua: &Lua,
        name: &'static str,
        f: fn(u32, u32) -> u32,
    ) -> mlua::Result<mlua::Function> {
        lua.create_function(move |lua, args: MultiValue| -> Ret {
            let a: Vec<Value> = args.into_iter().collect();
            let x = match num_arg(lua, &a, 0, name) {
                Ok(x) => x,
                Err(e) => return fail(lua, &e),
            };
            let n = match num_arg(lua, &a, 1, name) {
                Ok(x) => x & 31,
                Err(e) => return fail(lua, &e),
            };
            Ok((true, int(f(x, n))))
        })
    }
    t.set("tobit", unary(lua, "tobit", |x| x)?)?;
    t.set("bnot", unary(lua, "bnot", |x| !x)?)?;
    t.set("bswap", unary(lua, "bswap", |x| x.swap_bytes())?)?;
    t.set("band", fold(lua, "band", |a, b| a & b)?)?;
    t.set("bor", fold(lua, "bor", |a, b| a | b)?)?;
    t.set("bxor", fold(lua, "bxor", |a, b| a ^ b)?)?;
    t.set("lshift", shift(lua, "lshift", |x, n| x << n)?)?;
    t.set("rshift", shift(lua, "rshift", |x, n| x >> n)?)?;
    t.set(
        "arshift",
        shift(lua, "arshift", |x, n| ((x as i32) >> n) as u32)?,
    )?;
    t.set("rol", shift(lua, "rol", |x, n| x.rotate_left(n))?)?;
    t.set("ror", shift(lua, "ror", |x, n| x.rotate_right(n))?)?;
    t.set(
        "tohex",
        lua.create_function(|lua, args: MultiValue| -> Ret {
            let a: Vec<Value> = args.into_iter().collect();
            let mut b = match num_arg(lua, &a, 0, "tohex") {
                Ok(x) => x,
                Err(e) => return fail(lua, &e),
            };
            let mut n: i32 = if matches!(a.get(1), None | Some(Value::Nil)) {
                8
            } else {
                match num_arg(lua, &a, 1, "tohex") {
                    Ok(x) => x as i32,
                    Err(e) => return fail(lua, &e),
                }
            };
            let digits: &[u8; 16] = if n < 0 {
                n = n.saturating_neg();
                b"0123456789ABCDEF"
            } else {
                b"0123456789abcdef"
            };
            let n = n.clamp(0, 8) as usize;
            let mut buf = [0u8; 8];
            for i in (0..n).rev() {
                buf[i] = digits[(b & 15) as usize];
                b >>= 4;
            }
            Ok((true, Value::String(lua.create_string(&buf[..n])?)))
        })?,
    )?;
    Ok(t)
}

/// `%.14g`, the number format of Lua 5.1 and lua-cjson.
pub fn fmt_g14(n: f64) -> String {
    let mut buf = [0u8; 64];
    // SAFETY: the buffer is large enough for any %.14g output and
    // snprintf always NUL-terminates within the given size.
    let len = unsafe {
        libc::snprintf(
            buf.as_mut_ptr() as *mut libc::c_char,
            buf.len(),
            c"%.14g".as_ptr(),
            n,
        )
    };
    let len = (len.max(0) as usize).min(buf.len() - 1);
    String::from_utf8_lossy(&buf[..len]).into_owned()
}

pub const JSON_MAX_DEPTH: usize = 1000;

fn json_escape(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &c in s {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            c if c < 0x20 || c == 0x7f => {
                out.extend_from_slice(format!("\\u{:04x}", c).as_bytes());
            }
            c => out.push(c),
        }
    }
    out.push(b'"');
}

fn json_number(out: &mut Vec<u8>, n: f64) -> Result<(), String> {
    if !n.is_finite() {
        return Err("Cannot serialise number: must not be NaN or Inf".into());
    }
    out.extend_from_slice(fmt_g14(n).as_bytes());
    Ok(())
}

fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Integer(i) => Some(*i as f64),
        Value::Number(n) => Some(*n),
        _ => None,
    }
}

fn json_encode(out: &mut Vec<u8>, v: &Value, depth: usize, base: usize) -> Result<(), String> {
    match v {
        Value::Nil => out.extend_from_slice(b"null"),
        Value::LightUserData(p) if p.0.is_null() => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Integer(_) | Value::Number(_) => json_number(out, as_f64(v).unwrap_or(0.0))?,
        Value::String(s) => json_escape(out, &s.as_bytes()),
        Value::Table(t) => {
            let depth = depth + 1;
            if depth > JSON_MAX_DEPTH
                || base.abs_diff(super::lua::stack_pos()) > super::lua::STACK_BUDGET
            {
                return Err(format!("Cannot serialise, excessive nesting ({})", depth));
            }
            // Array if every key is a positive integer and the array is not
            // excessively sparse (lua-cjson's defaults: ratio 2, safe 10).
            let mut max = 0usize;
            let mut items = 0usize;
            let mut is_array = true;
            for pair in t.clone().pairs::<Value, Value>() {
                let (k, _) = pair.map_err(|e| e.to_string())?;
                match as_f64(&k) {
                    Some(n) if n >= 1.0 && n.floor() == n && n < 1e15 => {
                        max = max.max(n as usize);
                        items += 1;
                    }
                    _ => {
                        is_array = false;
                        break;
                    }
                }
            }
            if is_array && max > 0 {
                if max > items * 2 && max > 10 {
                    return Err("Cannot serialise table: excessively sparse array".into());
                }
                out.push(b'[');
                for i in 1..=max {
                    if i > 1 {
                        out.push(b',');
                    }
                    let e: Value = t.raw_get(i).map_err(|e| e.to_string())?;
                    json_encode(out, &e, depth, base)?;
                }
                out.push(b']');
            } else {
                out.push(b'{');
                let mut first = true;
                for pair in t.clone().pairs::<Value, Value>() {
                    let (k, val) = pair.map_err(|e| e.to_string())?;
                    if !first {
                        out.push(b',');
                    }
                    first = false;
                    match &k {
                        Value::String(s) => json_escape(out, &s.as_bytes()),
                        Value::Integer(_) | Value::Number(_) => {
                            let s = fmt_g14(as_f64(&k).unwrap_or(0.0));
                            json_escape(out, s.as_bytes())
                        }
                        _ => {
                            return Err(
                                "Cannot serialise table: table key must be a number or string"
                                    .into(),
                            )
                        }
                    }
                    out.push(b':');
                    json_encode(out, &val, depth, base)?;
                }
                out.push(b'}');
            }
        }
        other => {
            return Err(format!(
                "Cannot serialise {}: type not supported",
                type_name(other)
            ))
        }
    }
    Ok(())
}

pub fn cjson_encode(lua: &Lua, args: MultiValue) -> Ret {
    if args.len() != 1 {
        return fail(lua, "bad argument #1 to 'encode' (expected 1 argument)");
    }
    let v = args.into_iter().next().unwrap_or(Value::Nil);
    let mut out = Vec::new();
    match json_encode(&mut out, &v, 0, super::lua::stack_pos()) {
        Ok(()) => Ok((true, Value::String(lua.create_string(&out)?))),
        Err(e) => fail(lua, &e),
    }
}

/// lua-cjson's decoder: its tokens, error messages and nesting limit.
struct JsonParser<'a, 'l> {
    lua: &'l Lua,
    /// Input up to its first NUL (the C decoder stops there).
    b: &'a [u8],
    pos: usize,
    depth: usize,
}

#[derive(Clone)]
enum Tok {
    ObjBegin,
    ObjEnd,
    ArrBegin,
    ArrEnd,
    Str(Vec<u8>),
    Num(f64),
    Bool(bool),
    Null,
    Colon,
    Comma,
    End,
    Error(&'static str),
}

fn tok_name(t: &Tok) -> &'static str {
    match t {
        Tok::ObjBegin => "T_OBJ_BEGIN",
        Tok::ObjEnd => "T_OBJ_END",
        Tok::ArrBegin => "T_ARR_BEGIN",
        Tok::ArrEnd => "T_ARR_END",
        Tok::Str(_) => "T_STRING",
        Tok::Num(_) => "T_NUMBER",
        Tok::Bool(_) => "T_BOOLEAN",
        Tok::Null => "T_NULL",
        Tok::Colon => "T_COLON",
        Tok::Comma => "T_COMMA",
        Tok::End => "T_END",
        Tok::Error(e) => e,
    }
}

fn hex4(b: &[u8]) -> Option<u32> {
    let s = b.get(..4)?;
    let mut v = 0u32;
    for &c in s {
        v = (v << 4) | (c as char).to_digit(16)?;
    }
    Some(v)
}

impl<'a, 'l> JsonParser<'a, 'l> {
    fn at(&self, i: usize) -> u8 {
        self.b.get(i).copied().unwrap_or(0)
    }

    fn invalid_number(&self) -> bool {
        let mut p = self.pos;
        if self.at(p) == b'+' {
            return true;
        }
        if self.at(p) == b'-' {
            p += 1;
        }
        let c = self.at(p);
        if c == b'0' {
            let c2 = self.at(p + 1);
            return c2 == b'x' || c2 == b'X' || c2.is_ascii_digit();
        }
        if c != 0 && c <= b'9' {
            return false;
        }
        let rest = self.b.get(p..).unwrap_or(&[]);
        let starts = |w: &[u8]| rest.len() >= 3 && rest[..3].eq_ignore_ascii_case(w);
        starts(b"inf") || starts(b"nan")
    }

    fn number(&mut self) -> Tok {
        let rest = self.b.get(self.pos..).unwrap_or(&[]);
        let mut c = rest.to_vec();
        c.push(0);
        let mut end: *mut libc::c_char = std::ptr::null_mut();
        // SAFETY: `c` is NUL-terminated and outlives the call; strtod only
        // reads it and sets `end` inside it.
        let v = unsafe { libc::strtod(c.as_ptr() as *const libc::c_char, &mut end) };
        let used = (end as usize).saturating_sub(c.as_ptr() as usize);
        if used == 0 {
            return Tok::Error("invalid number");
        }
        self.pos += used;
        Tok::Num(v)
    }

    fn string(&mut self) -> Tok {
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            let ch = self.at(self.pos);
            if ch == b'"' {
                break;
            }
            if ch == 0 {
                return Tok::Error("unexpected end of string");
            }
            if ch == b'\\' {
                let e = match self.at(self.pos + 1) {
                    b'"' => b'"',
                    b'\\' => b'\\',
                    b'/' => b'/',
                    b'b' => 0x08,
                    b'f' => 0x0c,
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    b'u' => match self.unicode_escape(&mut out) {
                        Some(()) => continue,
                        None => return Tok::Error("invalid unicode escape code"),
                    },
                    _ => return Tok::Error("invalid escape code"),
                };
                out.push(e);
                self.pos += 2;
                continue;
            }
            out.push(ch);
            self.pos += 1;
        }
        self.pos += 1;
        Tok::Str(out)
    }

    fn unicode_escape(&mut self, out: &mut Vec<u8>) -> Option<()> {
        let mut cp = hex4(self.b.get(self.pos + 2..)?)?;
        let mut len = 6;
        if cp & 0xF800 == 0xD800 {
            if cp & 0x400 != 0 {
                return None;
            }
            if self.at(self.pos + 6) != b'\\' || self.at(self.pos + 7) != b'u' {
                return None;
            }
            let low = hex4(self.b.get(self.pos + 8..)?)?;
            if low & 0xFC00 != 0xDC00 {
                return None;
            }
            cp = (((cp & 0x3FF) << 10) | (low & 0x3FF)) + 0x10000;
            len = 12;
        }
        let c = char::from_u32(cp)?;
        let mut buf = [0u8; 4];
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        self.pos += len;
        Some(())
    }

    /// The next token and its (0-based) index.
    fn next(&mut self) -> (Tok, usize) {
        while matches!(self.at(self.pos), b' ' | b'\t' | b'\r' | b'\n') {
            self.pos += 1;
        }
        let idx = self.pos;
        let ch = self.at(self.pos);
        let simple = match ch {
            0 => Some(Tok::End),
            b'{' => Some(Tok::ObjBegin),
            b'}' => Some(Tok::ObjEnd),
            b'[' => Some(Tok::ArrBegin),
            b']' => Some(Tok::ArrEnd),
            b':' => Some(Tok::Colon),
            b',' => Some(Tok::Comma),
            _ => None,
        };
        if let Some(t) = simple {
            if !matches!(t, Tok::End) {
                self.pos += 1;
            }
            return (t, idx);
        }
        let rest = self.b.get(self.pos..).unwrap_or(&[]);
        let t = if ch == b'"' {
            self.string()
        } else if ch == b'-' || ch.is_ascii_digit() {
            self.number()
        } else if rest.starts_with(b"true") {
            self.pos += 4;
            Tok::Bool(true)
        } else if rest.starts_with(b"false") {
            self.pos += 5;
            Tok::Bool(false)
        } else if rest.starts_with(b"null") {
            self.pos += 4;
            Tok::Null
        } else if self.invalid_number() {
            self.number()
        } else {
            Tok::Error("invalid token")
        };
        let idx = if matches!(t, Tok::Error(_)) {
            self.pos
        } else {
            idx
        };
        (t, idx)
    }

    fn err(&self, expected: &str, t: &Tok, idx: usize) -> String {
        format!(
            "Expected {} but found {} at character {}",
            expected,
            tok_name(t),
            idx + 1
        )
    }

    /// A scalar token as a Lua value, or None for `[` / `{`.
    fn scalar(&self, t: Tok, idx: usize) -> Result<Option<Value>, String> {
        let lua = self.lua;
        Ok(Some(match t {
            Tok::Str(s) => Value::String(lua.create_string(&s).map_err(|e| e.to_string())?),
            Tok::Num(n) => Value::Number(n),
            Tok::Bool(b) => Value::Boolean(b),
            Tok::Null => Value::LightUserData(LightUserData(std::ptr::null_mut())),
            Tok::ObjBegin | Tok::ArrBegin => return Ok(None),
            other => return Err(self.err("value", &other, idx)),
        }))
    }

    /// Parses one value starting with token `t` (iteratively, so nesting
    /// depth costs no native stack).
    fn value(&mut self, t: Tok, idx: usize) -> Result<Value, String> {
        let lua = self.lua;
        let le = |e: mlua::Error| e.to_string();
        // Open containers: (table, is_object, next array index, pending key).
        let mut stack: Vec<(Table, bool, usize, Option<Vec<u8>>)> = Vec::new();
        let mut cur = (t, idx);
        loop {
            // Parse a value from `cur`; containers are pushed and their
            // first element (or end) is read.
            let mut done: Option<Value> = match self.scalar(cur.0.clone(), cur.1)? {
                Some(v) => Some(v),
                None => {
                    let is_obj = matches!(cur.0, Tok::ObjBegin);
                    self.depth += 1;
                    if self.depth > JSON_MAX_DEPTH {
                        return Err(format!(
                            "Found too many nested data structures ({}) at character {}",
                            self.depth, self.pos
                        ));
                    }
                    let tbl = lua.create_table().map_err(le)?;
                    let (t, i) = self.next();
                    let closes = if is_obj {
                        matches!(t, Tok::ObjEnd)
                    } else {
                        matches!(t, Tok::ArrEnd)
                    };
                    if closes {
                        self.depth -= 1;
                        Some(Value::Table(tbl))
                    } else {
                        if is_obj {
                            let Tok::Str(k) = t else {
                                return Err(self.err("object key string", &t, i));
                            };
                            let (c, ci) = self.next();
                            if !matches!(c, Tok::Colon) {
                                return Err(self.err("colon", &c, ci));
                            }
                            stack.push((tbl, true, 0, Some(k)));
                            cur = self.next();
                        } else {
                            stack.push((tbl, false, 1, None));
                            cur = (t, i);
                        }
                        None
                    }
                }
            };
            // Store finished values into their containers, closing those
            // that end.
            while let Some(v) = done.take() {
                let Some((tbl, is_obj, n, key)) = stack.last_mut() else {
                    return Ok(v);
                };
                if *is_obj {
                    let k = key.take().unwrap_or_default();
                    tbl.raw_set(lua.create_string(&k).map_err(le)?, v)
                        .map_err(le)?;
                } else {
                    tbl.raw_set(*n, v).map_err(le)?;
                    *n += 1;
                }
                let is_obj = *is_obj;
                let (c, ci) = self.next();
                let (end, what) = if is_obj {
                    (matches!(c, Tok::ObjEnd), "comma or object end")
                } else {
                    (matches!(c, Tok::ArrEnd), "comma or array end")
                };
                if end {
                    self.depth -= 1;
                    done = stack.pop().map(|(t, ..)| Value::Table(t));
                    continue;
                }
                if !matches!(c, Tok::Comma) {
                    return Err(self.err(what, &c, ci));
                }
                if is_obj {
                    let (t, i) = self.next();
                    let Tok::Str(k) = t else {
                        return Err(self.err("object key string", &t, i));
                    };
                    let (c, ci) = self.next();
                    if !matches!(c, Tok::Colon) {
                        return Err(self.err("colon", &c, ci));
                    }
                    if let Some(top) = stack.last_mut() {
                        top.3 = Some(k);
                    }
                }
                cur = self.next();
            }
        }
    }
}

pub fn cjson_decode(lua: &Lua, args: MultiValue) -> Ret {
    if args.len() != 1 {
        return fail(lua, "bad argument #1 to 'decode' (expected 1 argument)");
    }
    let v = args.into_iter().next().unwrap_or(Value::Nil);
    let bytes = match &v {
        Value::String(s) => s.as_bytes().to_vec(),
        Value::Integer(_) | Value::Number(_) => match lua.coerce_string(v.clone()) {
            Ok(Some(s)) => s.as_bytes().to_vec(),
            _ => Vec::new(),
        },
        other => {
            return fail(
                lua,
                &format!(
                    "bad argument #1 to 'decode' (string expected, got {})",
                    type_name(other)
                ),
            )
        }
    };
    if bytes.len() >= 2 && (bytes[0] == 0 || bytes[1] == 0) {
        return fail(lua, "JSON parser does not support UTF-16 or UTF-32");
    }
    let end = bytes.iter().position(|&c| c == 0).unwrap_or(bytes.len());
    let mut p = JsonParser {
        lua,
        b: &bytes[..end],
        pos: 0,
        depth: 0,
    };
    let (t, i) = p.next();
    let r = p.value(t, i).and_then(|v| {
        let (t, i) = p.next();
        if matches!(t, Tok::End) {
            Ok(v)
        } else {
            Err(p.err("the end", &t, i))
        }
    });
    match r {
        Ok(v) => Ok((true, v)),
        Err(e) => fail(lua, &e),
    }
}

/// lua-cmsgpack's nesting limit: deeper tables are packed as nil.
const MSGPACK_MAX_NESTING: usize = 16;

fn mp_int(out: &mut Vec<u8>, n: i64) {
    if n >= 0 {
        if n <= 127 {
            out.push(n as u8);
        } else if n <= 0xff {
            out.extend_from_slice(&[0xcc, n as u8]);
        } else if n <= 0xffff {
            out.push(0xcd);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        } else if n <= 0xffff_ffff {
            out.push(0xce);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    } else if n >= -32 {
        out.push(n as i8 as u8);
    } else if n >= -128 {
        out.extend_from_slice(&[0xd0, n as i8 as u8]);
    } else if n >= -32768 {
        out.push(0xd1);
        out.extend_from_slice(&(n as i16).to_be_bytes());
    } else if n >= -2_147_483_648 {
        out.push(0xd2);
        out.extend_from_slice(&(n as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn mp_number(out: &mut Vec<u8>, d: f64) {
    if d.is_finite() && (d as i64) as f64 == d {
        mp_int(out, d as i64);
        return;
    }
    let f = d as f32;
    if f as f64 == d || (d.is_nan() && f.is_nan()) {
        out.push(0xca);
        out.extend_from_slice(&f.to_be_bytes());
    } else {
        out.push(0xcb);
        out.extend_from_slice(&d.to_be_bytes());
    }
}

fn mp_len(out: &mut Vec<u8>, n: usize, fix: u8, fix_max: usize, c8: Option<u8>, c16: u8, c32: u8) {
    if n < fix_max {
        out.push(fix | n as u8);
    } else if let (Some(c), true) = (c8, n <= 0xff) {
        out.extend_from_slice(&[c, n as u8]);
    } else if n <= 0xffff {
        out.push(c16);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(c32);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

fn mp_encode(out: &mut Vec<u8>, v: &Value, level: usize) -> mlua::Result<()> {
    match v {
        Value::Nil => out.push(0xc0),
        Value::Boolean(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Integer(i) => mp_int(out, *i),
        Value::Number(n) => mp_number(out, *n),
        Value::String(s) => {
            let b = s.as_bytes();
            mp_len(out, b.len(), 0xa0, 32, Some(0xd9), 0xda, 0xdb);
            out.extend_from_slice(&b);
        }
        Value::Table(t) if level < MSGPACK_MAX_NESTING => {
            // An array when every key is a positive integer and there are
            // no holes.
            let mut count = 0usize;
            let mut max = 0usize;
            let mut array = true;
            for pair in t.clone().pairs::<Value, Value>() {
                let (k, _) = pair?;
                match as_f64(&k) {
                    Some(n) if n >= 1.0 && n.floor() == n && n < 1e15 => {
                        count += 1;
                        max = max.max(n as usize);
                    }
                    _ => {
                        array = false;
                        break;
                    }
                }
            }
            if array && max == count {
                mp_len(out, count, 0x90, 16, None, 0xdc, 0xdd);
                for i in 1..=count {
                    let e: Value = t.raw_get(i)?;
                    mp_encode(out, &e, level + 1)?;
                }
            } else {
                let n = t.clone().pairs::<Value, Value>().count();
                mp_len(out, n, 0x80, 16, None, 0xde, 0xdf);
                for pair in t.clone().pairs::<Value, Value>() {
                    let (k, val) = pair?;
                    mp_encode(out, &k, level + 1)?;
                    mp_encode(out, &val, level + 1)?;
                }
            }
        }
        _ => out.push(0xc0),
    }
    Ok(())
}

pub fn cmsgpack_pack(lua: &Lua, args: MultiValue) -> Ret {
    if args.is_empty() {
        return fail(
            lua,
            "bad argument #0 to 'pack' (MessagePack pack needs input.)",
        );
    }
    let mut out = Vec::new();
    for v in args.iter() {
        mp_encode(&mut out, v, 0)?;
    }
    Ok((true, Value::String(lua.create_string(&out)?)))
}

enum MpErr {
    Missing,
    Bad,
    Lua(mlua::Error),
}

impl From<mlua::Error> for MpErr {
    fn from(e: mlua::Error) -> Self {
        MpErr::Lua(e)
    }
}

fn take<'a>(b: &'a [u8], pos: &mut usize, n: usize) -> Result<&'a [u8], MpErr> {
    let end = pos.checked_add(n).ok_or(MpErr::Missing)?;
    let s = b.get(*pos..end).ok_or(MpErr::Missing)?;
    *pos = end;
    Ok(s)
}

fn be(b: &[u8]) -> u64 {
    b.iter().fold(0u64, |acc, &c| (acc << 8) | c as u64)
}

fn mp_decode(lua: &Lua, b: &[u8], pos: &mut usize, base: usize) -> Result<Value, MpErr> {
    if base.abs_diff(super::lua::stack_pos()) > super::lua::STACK_BUDGET {
        return Err(MpErr::Bad);
    }
    let c = take(b, pos, 1)?[0];
    let num = |n: f64| Ok(Value::Number(n));
    let string =
        |lua: &Lua, s: &[u8]| -> Result<Value, MpErr> { Ok(Value::String(lua.create_string(s)?)) };
    match c {
        0x00..=0x7f => num(c as f64),
        0xe0..=0xff => num(c as i8 as f64),
        0xc0 => Ok(Value::Nil),
        0xc2 => Ok(Value::Boolean(false)),
        0xc3 => Ok(Value::Boolean(true)),
        0xcc => num(be(take(b, pos, 1)?) as f64),
        0xcd => num(be(take(b, pos, 2)?) as f64),
        0xce => num(be(take(b, pos, 4)?) as f64),
        0xcf => num(be(take(b, pos, 8)?) as f64),
        0xd0 => num(be(take(b, pos, 1)?) as u8 as i8 as f64),
        0xd1 => num(be(take(b, pos, 2)?) as u16 as i16 as f64),
        0xd2 => num(be(take(b, pos, 4)?) as u32 as i32 as f64),
        0xd3 => num(be(take(b, pos, 8)?) as i64 as f64),
        0xca => num(f32::from_bits(be(take(b, pos, 4)?) as u32) as f64),
        0xcb => num(f64::from_bits(be(take(b, pos, 8)?))),
        0xa0..=0xbf => {
            let n = (c & 0x1f) as usize;
            string(lua, take(b, pos, n)?)
        }
        0xd9 | 0xc4 => {
            let n = be(take(b, pos, 1)?) as usize;
            string(lua, take(b, pos, n)?)
        }
        0xda | 0xc5 => {
            let n = be(take(b, pos, 2)?) as usize;
            string(lua, take(b, pos, n)?)
        }
        0xdb | 0xc6 => {
            let n = be(take(b, pos, 4)?) as usize;
            string(lua, take(b, pos, n)?)
        }
        0x90..=0x9f | 0xdc | 0xdd => {
            let n = match c {
                0xdc => be(take(b, pos, 2)?) as usize,
                0xdd => be(take(b, pos, 4)?) as usize,
                _ => (c & 0x0f) as usize,
            };
            let t = lua.create_table()?;
            for i in 0..n {
                let v = mp_decode(lua, b, pos, base)?;
                t.raw_set(i + 1, v)?;
            }
            Ok(Value::Table(t))
        }
        0x80..=0x8f | 0xde | 0xdf => {
            let n = match c {
                0xde => be(take(b, pos, 2)?) as usize,
                0xdf => be(take(b, pos, 4)?) as usize,
                _ => (c & 0x0f) as usize,
            };
            let t = lua.create_table()?;
            for _ in 0..n {
                let k = mp_decode(lua, b, pos, base)?;
                let v = mp_decode(lua, b, pos, base)?;
                if !k.is_nil() {
                    t.raw_set(k, v)?;
                }
            }
            Ok(Value::Table(t))
        }
        _ => Err(MpErr::Bad),
    }
}

/// Decodes up to `limit` objects (0: all) from `offset`; returns the
/// values and the offset after them (-1 when the input is exhausted).
fn mp_unpack(lua: &Lua, b: &[u8], limit: usize, offset: usize) -> Result<(Vec<Value>, i64), MpErr> {
    let mut pos = offset;
    let mut out = Vec::new();
    let base = super::lua::stack_pos();
    while pos < b.len() && (limit == 0 || out.len() < limit) {
        out.push(mp_decode(lua, b, &mut pos, base)?);
    }
    let next = if pos >= b.len() { -1 } else { pos as i64 };
    Ok((out, next))
}

fn mp_fail(lua: &Lua, e: MpErr) -> mlua::Result<MultiValue> {
    let msg = match e {
        MpErr::Missing => "Missing bytes in input.",
        MpErr::Bad => "Bad data format in input.",
        MpErr::Lua(e) => return Err(e),
    };
    let mut mv = MultiValue::new();
    mv.push_back(Value::Boolean(false));
    mv.push_back(Value::String(lua.create_string(msg)?));
    Ok(mv)
}

fn mp_bytes(lua: &Lua, v: Option<&Value>, fname: &str) -> Result<Vec<u8>, String> {
    match v {
        Some(Value::String(s)) => Ok(s.as_bytes().to_vec()),
        Some(v @ (Value::Integer(_) | Value::Number(_))) => Ok(lua
            .coerce_string(v.clone())
            .ok()
            .flatten()
            .map(|s| s.as_bytes().to_vec())
            .unwrap_or_default()),
        other => Err(format!(
            "bad argument #1 to '{}' (string expected, got {})",
            fname,
            other.map(type_name).unwrap_or("no value")
        )),
    }
}

/// cmsgpack.unpack / unpack_one / unpack_limit. Returns `(true, values...)`
/// or `(false, message)`; `with_offset` puts the next offset first.
fn unpack_generic(
    lua: &Lua,
    args: MultiValue,
    fname: &str,
    limit_arg: Option<usize>,
) -> mlua::Result<MultiValue> {
    let a: Vec<Value> = args.into_iter().collect();
    let b = match mp_bytes(lua, a.first(), fname) {
        Ok(b) => b,
        Err(e) => {
            let mut mv = MultiValue::new();
            mv.push_back(Value::Boolean(false));
            mv.push_back(Value::String(lua.create_string(&e)?));
            return Ok(mv);
        }
    };
    let num_at = |i: usize| -> usize {
        a.get(i)
            .and_then(as_f64)
            .map(|n| if n > 0.0 { n as usize } else { 0 })
            .unwrap_or(0)
    };
    let (limit, offset, with_offset) = match limit_arg {
        None => (0, 0, false),
        Some(1) => (1, num_at(1), true),
        Some(_) => (num_at(1), num_at(2), true),
    };
    match mp_unpack(lua, &b, limit, offset) {
        Ok((vals, next)) => {
            let mut mv = MultiValue::new();
            mv.push_back(Value::Boolean(true));
            if with_offset {
                mv.push_back(Value::Number(next as f64));
            }
            for v in vals {
                mv.push_back(v);
            }
            Ok(mv)
        }
        Err(e) => mp_fail(lua, e),
    }
}

pub fn cmsgpack_unpack(lua: &Lua, args: MultiValue) -> mlua::Result<MultiValue> {
    unpack_generic(lua, args, "unpack", None)
}

pub fn cmsgpack_unpack_one(lua: &Lua, args: MultiValue) -> mlua::Result<MultiValue> {
    unpack_generic(lua, args, "unpack_one", Some(1))
}

pub fn cmsgpack_unpack_limit(lua: &Lua, args: MultiValue) -> mlua::Result<MultiValue> {
    unpack_generic(lua, args, "unpack_limit", Some(0))
}

// ------------------------------------------------------------------ struct

const STRUCT_MAXINTSIZE: usize = 32;
const STRUCT_MAXALIGN: usize = 8;

struct Fmt<'a> {
    f: &'a [u8],
    i: usize,
    little: bool,
    align: usize,
}

impl<'a> Fmt<'a> {
    fn new(f: &'a [u8]) -> Self {
        Fmt {
            f,
            i: 0,
            little: true,
            align: 1,
        }
    }

    fn getnum(&mut self, df: usize) -> Result<usize, String> {
        if !self.f.get(self.i).is_some_and(|c| c.is_ascii_digit()) {
            return Ok(df);
        }
        let mut a: usize = 0;
        while let Some(c) = self.f.get(self.i).filter(|c| c.is_ascii_digit()) {
            a = a
                .checked_mul(10)
                .and_then(|a| a.checked_add((c - b'0') as usize))
                .filter(|&a| a <= i32::MAX as usize)
                .ok_or_else(|| "integral size overflow".to_string())?;
            self.i += 1;
        }
        Ok(a)
    }

    fn optsize(&mut self, opt: u8) -> Result<usize, String> {
        Ok(match opt {
            b'B' | b'b' => 1,
            b'H' | b'h' => 2,
            b'L' | b'l' | b'T' => 8,
            b'f' => 4,
            b'd' => 8,
            b'x' => 1,
            b'c' => self.getnum(1)?,
            b'i' | b'I' => {
                let sz = self.getnum(4)?;
                if sz > STRUCT_MAXINTSIZE {
                    return Err(format!(
                        "integral size {} is larger than limit of {}",
                        sz, STRUCT_MAXINTSIZE
                    ));
                }
                sz
            }
            _ => 0,
        })
    }

    fn toalign(&self, len: usize, opt: u8, size: usize) -> usize {
        if size == 0 || opt == b'c' {
            return 0;
        }
        let size = size.min(self.align);
        (size - (len & (size - 1))) & (size - 1)
    }

    fn control(&mut self, opt: u8, fname: &str) -> Result<(), String> {
        match opt {
            b' ' => {}
            b'>' => self.little = false,
            b'<' => self.little = true,
            b'!' => {
                let a = self.getnum(STRUCT_MAXALIGN)?;
                if a == 0 || !a.is_power_of_two() {
                    return Err(format!("alignment {} is not a power of 2", a));
                }
                self.align = a;
            }
            c => {
                return Err(format!(
                    "bad argument #1 to '{}' (invalid format option '{}')",
                    fname, c as char
                ))
            }
        }
        Ok(())
    }
}

fn struct_num(lua: &Lua, v: Option<&Value>, arg: usize, fname: &str) -> Result<f64, String> {
    // pack keeps a nil below its arguments, so a missing one reads as nil.
    let v = Some(v.unwrap_or(&Value::Nil));
    match v {
        Some(Value::Integer(i)) => Ok(*i as f64),
        Some(Value::Number(n)) => Ok(*n),
        Some(v @ Value::String(_)) => {
            lua.coerce_number(v.clone()).ok().flatten().ok_or_else(|| {
                format!(
                    "bad argument #{} to '{}' (number expected, got string)",
                    arg, fname
                )
            })
        }
        other => Err(format!(
            "bad argument #{} to '{}' (number expected, got {})",
            arg,
            fname,
            other.map(type_name).unwrap_or("no value")
        )),
    }
}

fn struct_str(lua: &Lua, v: Option<&Value>, arg: usize, fname: &str) -> Result<Vec<u8>, String> {
    match v {
        Some(Value::String(s)) => Ok(s.as_bytes().to_vec()),
        Some(v @ (Value::Integer(_) | Value::Number(_))) => Ok(lua
            .coerce_string(v.clone())
            .ok()
            .flatten()
            .map(|s| s.as_bytes().to_vec())
            .unwrap_or_default()),
        other => Err(format!(
            "bad argument #{} to '{}' (string expected, got {})",
            arg,
            fname,
            other.map(type_name).unwrap_or("no value")
        )),
    }
}

fn struct_pack_impl(lua: &Lua, a: &[Value]) -> Result<Vec<u8>, String> {
    let fmt = struct_str(lua, a.first(), 1, "pack")?;
    let mut h = Fmt::new(&fmt);
    let mut out = Vec::new();
    let mut arg = 1usize;
    while let Some(&opt) = h.f.get(h.i) {
        h.i += 1;
        let mut size = h.optsize(opt)?;
        let pad = h.toalign(out.len(), opt, size);
        out.extend(std::iter::repeat_n(0u8, pad));
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let n = struct_num(lua, a.get(arg), arg + 1, "pack")?;
                arg += 1;
                let mut value: u64 = if n < 0.0 { n as i64 as u64 } else { n as u64 };
                let mut buf = vec![0u8; size];
                for k in 0..size {
                    let idx = if h.little { k } else { size - 1 - k };
                    buf[idx] = (value & 0xff) as u8;
                    value = if k < 8 { value >> 8 } else { 0 };
                }
                out.extend_from_slice(&buf);
            }
            b'x' => out.push(0),
            b'f' => {
                let f = struct_num(lua, a.get(arg), arg + 1, "pack")? as f32;
                arg += 1;
                out.extend_from_slice(&if h.little {
                    f.to_le_bytes()
                } else {
                    f.to_be_bytes()
                });
            }
            b'd' => {
                let d = struct_num(lua, a.get(arg), arg + 1, "pack")?;
                arg += 1;
                out.extend_from_slice(&if h.little {
                    d.to_le_bytes()
                } else {
                    d.to_be_bytes()
                });
            }
            b'c' | b's' => {
                let s = struct_str(lua, a.get(arg), arg + 1, "pack")?;
                arg += 1;
                if size == 0 {
                    size = s.len();
                }
                if s.len() < size {
                    return Err(format!(
                        "bad argument #{} to 'pack' (string too short)",
                        arg + 1
                    ));
                }
                out.extend_from_slice(&s[..size]);
                if opt == b's' {
                    out.push(0);
                }
            }
            _ => h.control(opt, "pack")?,
        }
    }
    Ok(out)
}

pub fn struct_pack(lua: &Lua, args: MultiValue) -> Ret {
    let a: Vec<Value> = args.into_iter().collect();
    match struct_pack_impl(lua, &a) {
        Ok(b) => Ok((true, Value::String(lua.create_string(&b)?))),
        Err(e) => fail(lua, &e),
    }
}

fn struct_unpack_impl(lua: &Lua, a: &[Value]) -> Result<Vec<Value>, String> {
    let fmt = struct_str(lua, a.first(), 1, "unpack")?;
    let data = struct_str(lua, a.get(1), 2, "unpack")?;
    let start = match a.get(2) {
        None | Some(Value::Nil) => 1.0,
        v => struct_num(lua, v, 3, "unpack")?,
    };
    if start < 1.0 {
        return Err("bad argument #3 to 'unpack' (offset must be 1 or greater)".into());
    }
    let ld = data.len();
    let mut pos = start as usize - 1;
    let mut h = Fmt::new(&fmt);
    let mut out: Vec<Value> = Vec::new();
    let short = || "bad argument #2 to 'unpack' (data string too short)".to_string();
    while let Some(&opt) = h.f.get(h.i) {
        h.i += 1;
        let mut size = h.optsize(opt)?;
        pos += h.toalign(pos, opt, size);
        if size > ld || pos > ld - size {
            return Err(short());
        }
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let bytes = &data[pos..pos + size];
                let mut l: u64 = 0;
                if h.little {
                    for &c in bytes.iter().rev() {
                        l = (l << 8) | c as u64;
                    }
                } else {
                    for &c in bytes {
                        l = (l << 8) | c as u64;
                    }
                }
                let n = if opt.is_ascii_lowercase() && size > 0 && size <= 8 {
                    let mask = u64::MAX << (size * 8 - 1);
                    if l & mask != 0 {
                        l |= mask;
                    }
                    l as i64 as f64
                } else {
                    l as f64
                };
                out.push(Value::Number(n));
            }
            b'x' => {}
            b'f' => {
                let mut b = [0u8; 4];
                b.copy_from_slice(&data[pos..pos + 4]);
                let f = if h.little {
                    f32::from_le_bytes(b)
                } else {
                    f32::from_be_bytes(b)
                };
                out.push(Value::Number(f as f64));
            }
            b'd' => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&data[pos..pos + 8]);
                let d = if h.little {
                    f64::from_le_bytes(b)
                } else {
                    f64::from_be_bytes(b)
                };
                out.push(Value::Number(d));
            }
            b'c' => {
                if size == 0 {
                    let prev = match out.pop() {
                        Some(Value::Number(n)) => n,
                        Some(Value::Integer(i)) => i as f64,
                        _ => return Err("format 'c0' needs a previous size".into()),
                    };
                    size = if prev > 0.0 { prev as usize } else { 0 };
                    if size > ld || pos > ld - size {
                        return Err(short());
                    }
                }
                out.push(Value::String(
                    lua.create_string(&data[pos..pos + size])
                        .map_err(|e| e.to_string())?,
                ));
            }
            b's' => {
                let Some(e) = data[pos..].iter().position(|&c| c == 0) else {
                    return Err("unfinished string in data".into());
                };
                size = e + 1;
                out.push(Value::String(
                    lua.create_string(&data[pos..pos + e])
                        .map_err(|e| e.to_string())?,
                ));
            }
            _ => h.control(opt, "unpack")?,
        }
        pos += size;
    }
    out.push(Value::Number((pos + 1) as f64));
    Ok(out)
}

pub fn struct_unpack(lua: &Lua, args: MultiValue) -> mlua::Result<MultiValue> {
    let a: Vec<Value> = args.into_iter().collect();
    let mut mv = MultiValue::new();
    match struct_unpack_impl(lua, &a) {
        Ok(vals) => {
            mv.push_back(Value::Boolean(true));
            for v in vals {
                mv.push_back(v);
            }
        }
        Err(e) => {
            mv.push_back(Value::Boolean(false));
            mv.push_back(Value::String(lua.create_string(&e)?));
        }
    }
    Ok(mv)
}

pub fn struct_size(lua: &Lua, args: MultiValue) -> Ret {
    let a: Vec<Value> = args.into_iter().collect();
    let fmt = match struct_str(lua, a.first(), 1, "size") {
        Ok(f) => f,
        Err(e) => return fail(lua, &e),
    };
    let mut h = Fmt::new(&fmt);
    let mut pos = 0usize;
    while let Some(&opt) = h.f.get(h.i) {
        h.i += 1;
        let size = match h.optsize(opt) {
            Ok(s) => s,
            Err(e) => return fail(lua, &e),
        };
        pos += h.toalign(pos, opt, size);
        if opt == b's' {
            return fail(
                lua,
                "bad argument #1 to 'size' (option 's' has no fixed size)",
            );
        } else if opt == b'c' && size == 0 {
            return fail(
                lua,
                "bad argument #1 to 'size' (option 'c0' has no fixed size)",
            );
        }
        if !opt.is_ascii_alphanumeric() {
            if let Err(e) = h.control(opt, "size") {
                return fail(lua, &e);
            }
        }
        pos += size;
    }
    Ok((true, Value::Number(pos as f64)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g14() {
        assert_eq!(fmt_g14(1.0), "1");
        assert_eq!(fmt_g14(1.5), "1.5");
        assert_eq!(fmt_g14(1e100), "1e+100");
        assert_eq!(fmt_g14(0.1), "0.1");
    }

    #[test]
    fn tobit() {
        assert_eq!(tobit_f(-1.0) as i32, -1);
        assert_eq!(tobit_f(4294967295.0) as i32, -1);
        assert_eq!(tobit_f(1.0), 1);
    }
}
