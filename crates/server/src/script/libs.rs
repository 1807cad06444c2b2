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

fn json_to_lua(lua: &Lua, v: &serde_json::Value) -> mlua::Result<Value> {
    Ok(match v {
        serde_json::Value::Null => Value::LightUserData(LightUserData(std::ptr::null_mut())),
        serde_json::Value::Bool(b) => Value::Boolean(*b),
        serde_json::Value::Number(n) => Value::Number(n.as_f64().unwrap_or(0.0)),
        serde_json::Value::String(s) => Value::String(lua.create_string(s)?),
        serde_json::Value::Array(a) => {
            let t = lua.create_table_with_capacity(a.len(), 0)?;
            for (i, e) in a.iter().enumerate() {
                t.raw_set(i + 1, json_to_lua(lua, e)?)?;
            }
            Value::Table(t)
        }
        serde_json::Value::Object(m) => {
            let t = lua.create_table_with_capacity(0, m.len())?;
            for (k, e) in m {
                t.raw_set(k.as_str(), json_to_lua(lua, e)?)?;
            }
            Value::Table(t)
        }
    })
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
    match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(j) => Ok((true, json_to_lua(lua, &j)?)),
        Err(e) => {
            let msg = if e.is_eof() {
                format!(
                    "Expected value but found T_END at character {}",
                    bytes.len() + 1
                )
            } else {
                format!(
                    "Expected value but found invalid token at character {}",
                    e.column()
                )
            };
            fail(lua, &msg)
        }
    }
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
