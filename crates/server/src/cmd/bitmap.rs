//! Bitmap commands on string values: SETBIT, GETBIT, BITCOUNT, BITPOS,
//! BITOP, BITFIELD and BITFIELD_RO (Redis's bitops.c).
//!
//! Writes turn the value into `Value::Raw` (Redis's `dbUnshareStringValue`),
//! even when no bit actually changes; reads work on any string encoding
//! (integers are read through their decimal form).

use crate::cmd::string::{grow_zero, raw_mut, ERR_OOM_VALUE};
use crate::cmd::util::{eq_ic, parse_i64};
use crate::dispatch::{arity_error, CommandTable, Ctx, ERR_NOT_INT, ERR_SYNTAX, WRONGTYPE};
use crate::notify;
use spinel_keyspace::value::itoa_buf;
use spinel_keyspace::Value;

pub fn register(t: &mut CommandTable) {
    t.add("setbit", setbit);
    t.add("getbit", getbit);
    t.add("bitcount", bitcount);
    t.add("bitpos", bitpos);
    t.add("bitop", bitop);
    t.add("bitfield", bitfield);
    t.add("bitfield_ro", bitfield_ro);
}

const ERR_BIT_OFFSET: &str = "ERR bit offset is not an integer or out of range";
const ERR_BIT_VALUE: &str = "ERR bit is not an integer or out of range";
const ERR_BITFIELD_TYPE: &str =
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";

fn arity(ctx: &mut Ctx) {
    let m = arity_error(ctx.cmd.name);
    ctx.out.error(&m);
}

/// `getBitOffsetFromArgument`: a bit offset, or with `#N` (BITFIELD only)
/// N times the field width; limited to proto-max-bulk-len bytes.
fn bit_offset(ctx: &Ctx, arg: &[u8], hash_bits: Option<u32>) -> Option<u64> {
    let (digits, mul) = match (arg.first(), hash_bits) {
        (Some(b'#'), Some(bits)) if bits > 0 => (arg.get(1..)?, bits as i64),
        _ => (arg, 1),
    };
    let v = parse_i64(digits)?.wrapping_mul(mul);
    if v < 0 || (v >> 3) >= ctx.srv.config.proto_max_bulk_len() {
        return None;
    }
    Some(v as u64)
}

/// The value's bytes for reading (integers formatted into `buf`).
fn read_bytes<'a>(v: &'a Value, buf: &'a mut itoa_buf::Buf) -> Option<&'a [u8]> {
    v.as_bytes(buf)
}

// ---------------------------------------------------------------------------
// SETBIT / GETBIT

fn setbit(ctx: &mut Ctx, argv: &[&[u8]]) {
    let [_, key, offset, on] = argv else {
        return arity(ctx);
    };
    let Some(offset) = bit_offset(ctx, offset, None) else {
        ctx.out.error(ERR_BIT_OFFSET);
        return;
    };
    let on = match parse_i64(on) {
        Some(v @ (0 | 1)) => v as u8,
        _ => {
            ctx.out.error(ERR_BIT_VALUE);
            return;
        }
    };
    let byte = (offset >> 3) as usize;
    let shift = 7 - (offset & 7) as u32;
    let (old, dirty) = match ctx.ks.get_write(key) {
        None => {
            let mut v = Vec::new();
            if !grow_zero(&mut v, byte + 1) {
                ctx.out.error(ERR_OOM_VALUE);
                return;
            }
            if let Some(b) = v.get_mut(byte) {
                *b |= on << shift;
            }
            ctx.ks.set(key, Value::Raw(Box::new(v)));
            (0, true)
        }
        Some(e) => {
            let Some(raw) = raw_mut(&mut e.value) else {
                ctx.out.error(WRONGTYPE);
                return;
            };
            let grew = raw.len() < byte + 1;
            if !grow_zero(raw, byte + 1) {
                ctx.out.error(ERR_OOM_VALUE);
                return;
            }
            let Some(b) = raw.get_mut(byte) else {
                ctx.out.error(ERR_OOM_VALUE);
                return;
            };
            let old = (*b >> shift) & 1;
            if grew || old != on {
                *b = (*b & !(1 << shift)) | (on << shift);
            }
            (old, grew || old != on)
        }
    };
    if dirty {
        ctx.ks.modified(key);
        ctx.ks.notify(notify::STRING, "setbit", key);
        ctx.ks.add_dirty(1);
    }
    ctx.out.int(old as i64);
}

fn getbit(ctx: &mut Ctx, argv: &[&[u8]]) {
    let [_, key, offset] = argv else {
        return arity(ctx);
    };
    let Some(offset) = bit_offset(ctx, offset, None) else {
        ctx.out.error(ERR_BIT_OFFSET);
        return;
    };
    let Some(e) = ctx.ks.get(key) else {
        ctx.out.int(0);
        return;
    };
    let mut buf = itoa_buf::Buf::new();
    let Some(s) = read_bytes(&e.value, &mut buf) else {
        ctx.out.error(WRONGTYPE);
        return;
    };
    let bit = usize::try_from(offset >> 3)
        .ok()
        .and_then(|i| s.get(i))
        .map_or(0, |b| (b >> (7 - (offset & 7))) & 1);
    ctx.out.int(bit as i64);
}

// ---------------------------------------------------------------------------
// BITCOUNT / BITPOS

fn popcount(s: &[u8]) -> i64 {
    let mut chunks = s.chunks_exact(8);
    let mut n: u64 = 0;
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        n += u64::from_ne_bytes(w).count_ones() as u64;
    }
    for b in chunks.remainder() {
        n += b.count_ones() as u64;
    }
    n as i64
}

/// Range arithmetic shared by BITCOUNT and BITPOS (after Redis 7.2):
/// returns (start, end, first byte neg mask, last byte neg mask) in bytes.
fn bit_range(mut start: i64, mut end: i64, len: usize, isbit: bool) -> (i64, i64, u8, u8) {
    let mut totlen = len as i64;
    if isbit {
        totlen <<= 3;
    }
    if start < 0 {
        start = totlen.saturating_add(start);
    }
    if end < 0 {
        end = totlen.saturating_add(end);
    }
    if start < 0 {
        start = 0;
    }
    if end < 0 {
        end = 0;
    }
    if end >= totlen {
        end = totlen - 1;
    }
    let (mut first, mut last) = (0u8, 0u8);
    if isbit && start <= end {
        first = !((1u32 << (8 - (start & 7))) - 1) as u8;
        last = ((1u32 << (7 - (end & 7))) - 1) as u8;
        start >>= 3;
        end >>= 3;
    }
    (start, end, first, last)
}

/// BYTE | BIT unit argument.
fn parse_unit(a: &[u8]) -> Option<bool> {
    if eq_ic(a, "bit") {
        Some(true)
    } else if eq_ic(a, "byte") {
        Some(false)
    } else {
        None
    }
}

fn bitcount(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (key, range) = match argv {
        [_, key] => (*key, None),
        [_, key, start, end, unit @ ..] if unit.len() <= 1 => {
            let (Some(s), Some(e)) = (parse_i64(start), parse_i64(end)) else {
                ctx.out.error(ERR_NOT_INT);
                return;
            };
            let isbit = match unit.first() {
                None => false,
                Some(u) => match parse_unit(u) {
                    Some(b) => b,
                    None => {
                        ctx.out.error(ERR_SYNTAX);
                        return;
                    }
                },
            };
            (*key, Some((s, e, isbit)))
        }
        [_, _, ..] => {
            ctx.out.error(ERR_SYNTAX);
            return;
        }
        _ => return arity(ctx),
    };
    let Some(e) = ctx.ks.get(key) else {
        ctx.out.int(0);
        return;
    };
    let mut buf = itoa_buf::Buf::new();
    let Some(p) = read_bytes(&e.value, &mut buf) else {
        ctx.out.error(WRONGTYPE);
        return;
    };
    let (start, end, first, last) = match range {
        None => (0, p.len() as i64 - 1, 0, 0),
        Some((s, e, _)) if s < 0 && e < 0 && s > e => {
            ctx.out.int(0);
            return;
        }
        Some((s, e, isbit)) => bit_range(s, e, p.len(), isbit),
    };
    if start > end {
        ctx.out.int(0);
        return;
    }
    let (su, eu) = (start as usize, end as usize);
    let Some(slice) = p.get(su..=eu) else {
        ctx.out.int(0);
        return;
    };
    let mut count = popcount(slice);
    if first != 0 {
        count -= p.get(su).map_or(0, |b| (b & first).count_ones() as i64);
    }
    if last != 0 {
        count -= p.get(eu).map_or(0, |b| (b & last).count_ones() as i64);
    }
    ctx.out.int(count);
}

/// `redisBitpos`: position of the first bit equal to `bit` in `s`; for a
/// clear bit not found, the bit just past the end; for a set bit, -1.
fn first_bit(s: &[u8], bit: u8) -> i64 {
    let skip = if bit == 1 { 0u8 } else { 0xff };
    for (i, &b) in s.iter().enumerate() {
        if b != skip {
            let x = if bit == 1 { b } else { !b };
            return i as i64 * 8 + x.leading_zeros() as i64;
        }
    }
    if bit == 1 {
        -1
    } else {
        s.len() as i64 * 8
    }
}

fn bitpos(ctx: &mut Ctx, argv: &[&[u8]]) {
    let [_, key, bit, rest @ ..] = argv else {
        return arity(ctx);
    };
    let bit = match parse_i64(bit) {
        None => {
            ctx.out.error(ERR_NOT_INT);
            return;
        }
        Some(b @ (0 | 1)) => b as u8,
        Some(_) => {
            ctx.out.error("ERR The bit argument must be 1 or 0.");
            return;
        }
    };
    if rest.len() > 3 {
        ctx.out.error(ERR_SYNTAX);
        return;
    }
    let mut range = None;
    let mut end_given = false;
    let mut isbit = false;
    if let Some(start) = rest.first() {
        let Some(start) = parse_i64(start) else {
            ctx.out.error(ERR_NOT_INT);
            return;
        };
        if let Some(u) = rest.get(2) {
            match parse_unit(u) {
                Some(b) => isbit = b,
                None => {
                    ctx.out.error(ERR_SYNTAX);
                    return;
                }
            }
        }
        let mut end = None;
        if let Some(e) = rest.get(1) {
            match parse_i64(e) {
                Some(e) => end = Some(e),
                None => {
                    ctx.out.error(ERR_NOT_INT);
                    return;
                }
            }
            end_given = true;
        }
        range = Some((start, end));
    }
    let Some(e) = ctx.ks.get(key) else {
        ctx.out.int(if bit == 1 { -1 } else { 0 });
        return;
    };
    let mut buf = itoa_buf::Buf::new();
    let Some(p) = read_bytes(&e.value, &mut buf) else {
        ctx.out.error(WRONGTYPE);
        return;
    };
    let (mut start, end, first, last) = match range {
        None => (0, p.len() as i64 - 1, 0u8, 0u8),
        Some((s, e)) => {
            let e = e.unwrap_or(p.len() as i64 - 1);
            bit_range(s, e, p.len(), isbit)
        }
    };
    if start > end {
        ctx.out.int(-1);
        return;
    }
    let byte_at = |i: i64| {
        usize::try_from(i)
            .ok()
            .and_then(|i| p.get(i))
            .copied()
            .unwrap_or(0)
    };
    let mut bytes = end - start + 1;
    let pos: i64 = 'result: {
        if first != 0 {
            let mut t = byte_at(start);
            t = if bit == 1 { t & !first } else { t | first };
            if last != 0 && bytes == 1 {
                t = if bit == 1 { t & !last } else { t | last };
            }
            let pos = first_bit(&[t], bit);
            if bytes == 1 || (pos != -1 && pos != 8) {
                break 'result pos;
            }
            start += 1;
            bytes -= 1;
        }
        let curbytes = bytes - if last != 0 { 1 } else { 0 };
        if curbytes > 0 {
            let from = start as usize;
            let slice = p.get(from..from + curbytes as usize).unwrap_or_default();
            let pos = first_bit(slice, bit);
            if bytes == curbytes || (pos != -1 && pos != curbytes << 3) {
                break 'result pos;
            }
            start += curbytes;
            bytes -= curbytes;
        }
        let t = byte_at(end);
        let t = if bit == 1 { t & !last } else { t | last };
        first_bit(&[t], bit)
    };
    // With an explicit end, a clear bit "found" just past the range is not
    // in the range.
    if end_given && bit == 0 && pos == bytes << 3 {
        ctx.out.int(-1);
        return;
    }
    ctx.out
        .int(if pos != -1 { pos + (start << 3) } else { pos });
}

// ---------------------------------------------------------------------------
// BITOP

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    And,
    Or,
    Xor,
    Not,
}

fn bitop(ctx: &mut Ctx, argv: &[&[u8]]) {
    let [_, opname, dest, srcs @ ..] = argv else {
        return arity(ctx);
    };
    let op = if eq_ic(opname, "and") {
        Op::And
    } else if eq_ic(opname, "or") {
        Op::Or
    } else if eq_ic(opname, "xor") {
        Op::Xor
    } else if eq_ic(opname, "not") {
        Op::Not
    } else {
        ctx.out.error(ERR_SYNTAX);
        return;
    };
    if op == Op::Not && srcs.len() != 1 {
        ctx.out
            .error("ERR BITOP NOT must be called with a single source key.");
        return;
    }
    if srcs.is_empty() {
        return arity(ctx);
    }
    // Fold the sources one at a time into the result (a missing key is an
    // empty string, i.e. all zero bits).
    let mut res: Vec<u8> = Vec::new();
    for (j, key) in srcs.iter().enumerate() {
        let mut buf = itoa_buf::Buf::new();
        let src: &[u8] = match ctx.ks.get(key) {
            None => &[],
            Some(e) => match read_bytes(&e.value, &mut buf) {
                Some(s) => s,
                None => {
                    ctx.out.error(WRONGTYPE);
                    return;
                }
            },
        };
        if src.len() > res.len() && res.try_reserve(src.len() - res.len()).is_err() {
            ctx.out.error(ERR_OOM_VALUE);
            return;
        }
        if j == 0 {
            res.extend_from_slice(src);
            if op == Op::Not {
                res.iter_mut().for_each(|b| *b = !*b);
            }
            continue;
        }
        if src.len() > res.len() {
            res.resize(src.len(), 0);
        }
        let cut = src.len().min(res.len());
        let (head, tail) = res.split_at_mut(cut);
        match op {
            Op::And => {
                head.iter_mut().zip(src).for_each(|(r, s)| *r &= s);
                tail.iter_mut().for_each(|r| *r = 0);
            }
            Op::Or => head.iter_mut().zip(src).for_each(|(r, s)| *r |= s),
            Op::Xor => head.iter_mut().zip(src).for_each(|(r, s)| *r ^= s),
            Op::Not => {}
        }
    }
    let len = res.len();
    if len > 0 {
        ctx.ks.set(dest, Value::Raw(Box::new(res)));
        ctx.ks.notify(notify::STRING, "set", dest);
        ctx.ks.add_dirty(1);
    } else if ctx.ks.delete(dest) {
        ctx.ks.notify(notify::GENERIC, "del", dest);
        ctx.ks.add_dirty(1);
    }
    ctx.out.int(len as i64);
}

// ---------------------------------------------------------------------------
// BITFIELD

#[derive(Clone, Copy, PartialEq, Eq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FieldOp {
    Get,
    Set,
    Incrby,
}

#[derive(Clone, Copy)]
struct Field {
    op: FieldOp,
    offset: u64,
    value: i64,
    ow: Overflow,
    bits: u32,
    signed: bool,
}

/// `getBitfieldTypeFromArgument`: `i1`..`i64`, `u1`..`u63`.
fn field_type(a: &[u8]) -> Option<(bool, u32)> {
    let signed = match a.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return None,
    };
    // Redis reads the width with strlen(): it stops at a NUL byte.
    let digits = a.get(1..)?;
    let digits = match digits.iter().position(|&c| c == 0) {
        Some(n) => digits.get(..n)?,
        None => digits,
    };
    let bits = parse_i64(digits)?;
    if bits < 1 || (signed && bits > 64) || (!signed && bits > 63) {
        return None;
    }
    Some((signed, bits as u32))
}

fn get_unsigned(p: &[u8], mut offset: u64, bits: u32) -> u64 {
    let mut v = 0u64;
    for _ in 0..bits {
        let byte = usize::try_from(offset >> 3)
            .ok()
            .and_then(|i| p.get(i))
            .copied()
            .unwrap_or(0);
        let bit = (byte >> (7 - (offset & 7))) & 1;
        v = (v << 1) | bit as u64;
        offset += 1;
    }
    v
}

fn get_signed(p: &[u8], offset: u64, bits: u32) -> i64 {
    let mut v = get_unsigned(p, offset, bits) as i64;
    if bits < 64 && v & (1i64 << (bits - 1)) != 0 {
        v |= -1i64 << bits;
    }
    v
}

fn set_unsigned(p: &mut [u8], mut offset: u64, bits: u32, value: u64) {
    for j in 0..bits {
        let bitval = ((value >> (bits - 1 - j)) & 1) as u8;
        if let Some(b) = usize::try_from(offset >> 3).ok().and_then(|i| p.get_mut(i)) {
            let shift = 7 - (offset & 7) as u32;
            *b = (*b & !(1 << shift)) | (bitval << shift);
        }
        offset += 1;
    }
}

/// `checkUnsignedBitfieldOverflow`: Some(value to store) when `value +
/// incr` overflows `bits` (wrapped or saturated per `ow`; for FAIL the
/// value is unused).
fn unsigned_overflow(value: u64, incr: i64, bits: u32, ow: Overflow) -> Option<u64> {
    let max: u64 = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let maxincr = max.wrapping_sub(value) as i64;
    let minincr = (value as i64).wrapping_neg();
    let wrap = || value.wrapping_add(incr as u64) & !(u64::MAX.checked_shl(bits).unwrap_or(0));
    if value > max || (incr > 0 && incr > maxincr) {
        Some(match ow {
            Overflow::Wrap => wrap(),
            Overflow::Sat => max,
            Overflow::Fail => 0,
        })
    } else if incr < 0 && incr < minincr {
        Some(match ow {
            Overflow::Wrap => wrap(),
            Overflow::Sat => 0,
            Overflow::Fail => 0,
        })
    } else {
        None
    }
}

/// `checkSignedBitfieldOverflow`, same contract as `unsigned_overflow`.
fn signed_overflow(value: i64, incr: i64, bits: u32, ow: Overflow) -> Option<i64> {
    let max: i64 = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let maxincr = (max as u64).wrapping_sub(value as u64) as i64;
    let minincr = min.wrapping_sub(value);
    let wrap = || {
        let mut c = (value as u64).wrapping_add(incr as u64);
        if bits < 64 {
            let msb = 1u64 << (bits - 1);
            let mask = u64::MAX << bits;
            if c & msb != 0 {
                c |= mask;
            } else {
                c &= !mask;
            }
        }
        c as i64
    };
    if value > max || (bits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr) {
        Some(match ow {
            Overflow::Wrap => wrap(),
            Overflow::Sat => max,
            Overflow::Fail => 0,
        })
    } else if value < min
        || (bits != 64 && incr < minincr)
        || (value < 0 && incr < 0 && incr < minincr)
    {
        Some(match ow {
            Overflow::Wrap => wrap(),
            Overflow::Sat => min,
            Overflow::Fail => 0,
        })
    } else {
        None
    }
}

/// Runs one SET/INCRBY field operation on `p` (already long enough);
/// replies its result (null for an OVERFLOW FAIL). None when nothing was
/// written (FAIL), else whether the stored value changed.
fn write_field(out: &mut spinel_resp::ReplyBuf, p: &mut [u8], f: &Field) -> Option<bool> {
    if f.signed {
        let old = get_signed(p, f.offset, f.bits);
        let (ovf, newval, ret) = if f.op == FieldOp::Incrby {
            let o = signed_overflow(old, f.value, f.bits, f.ow);
            let n = o.unwrap_or_else(|| old.wrapping_add(f.value));
            (o.is_some(), n, n)
        } else {
            let o = signed_overflow(f.value, 0, f.bits, f.ow);
            (o.is_some(), o.unwrap_or(f.value), old)
        };
        if ovf && f.ow == Overflow::Fail {
            out.null();
            None
        } else {
            out.int(ret);
            set_unsigned(p, f.offset, f.bits, newval as u64);
            Some(old != newval)
        }
    } else {
        let old = get_unsigned(p, f.offset, f.bits);
        let (ovf, newval, ret) = if f.op == FieldOp::Incrby {
            let o = unsigned_overflow(old, f.value, f.bits, f.ow);
            let n = o.unwrap_or_else(|| old.wrapping_add(f.value as u64));
            (o.is_some(), n, n)
        } else {
            let v = f.value as u64;
            let o = unsigned_overflow(v, 0, f.bits, f.ow);
            (o.is_some(), o.unwrap_or(v), old)
        };
        if ovf && f.ow == Overflow::Fail {
            out.null();
            None
        } else {
            out.int(ret as i64);
            set_unsigned(p, f.offset, f.bits, newval);
            Some(old != newval)
        }
    }
}

/// A GET field read, zero-padded past the end of the string.
fn read_field(p: &[u8], f: &Field) -> i64 {
    if f.signed {
        get_signed(p, f.offset, f.bits)
    } else {
        get_unsigned(p, f.offset, f.bits) as i64
    }
}

fn bitfield(ctx: &mut Ctx, argv: &[&[u8]]) {
    bitfield_generic(ctx, argv, false);
}

fn bitfield_ro(ctx: &mut Ctx, argv: &[&[u8]]) {
    bitfield_generic(ctx, argv, true);
}

fn bitfield_generic(ctx: &mut Ctx, argv: &[&[u8]], ro: bool) {
    let [_, key, args @ ..] = argv else {
        return arity(ctx);
    };
    let mut ops: Vec<Field> = Vec::new();
    let mut ow = Overflow::Wrap;
    let mut readonly = true;
    let mut highest: u64 = 0;
    let mut j = 0;
    while let Some(&sub) = args.get(j) {
        let remargs = args.len() - j - 1;
        let op = if eq_ic(sub, "get") && remargs >= 2 {
            FieldOp::Get
        } else if eq_ic(sub, "set") && remargs >= 3 {
            FieldOp::Set
        } else if eq_ic(sub, "incrby") && remargs >= 3 {
            FieldOp::Incrby
        } else if eq_ic(sub, "overflow") && remargs >= 1 {
            let t = args.get(j + 1).copied().unwrap_or_default();
            ow = if eq_ic(t, "wrap") {
                Overflow::Wrap
            } else if eq_ic(t, "sat") {
                Overflow::Sat
            } else if eq_ic(t, "fail") {
                Overflow::Fail
            } else {
                ctx.out.error("ERR Invalid OVERFLOW type specified");
                return;
            };
            j += 2;
            continue;
        } else {
            ctx.out.error(ERR_SYNTAX);
            return;
        };
        let Some((signed, bits)) = args.get(j + 1).and_then(|a| field_type(a)) else {
            ctx.out.error(ERR_BITFIELD_TYPE);
            return;
        };
        let Some(offset) = args.get(j + 2).and_then(|a| bit_offset(ctx, a, Some(bits))) else {
            ctx.out.error(ERR_BIT_OFFSET);
            return;
        };
        let mut value = 0;
        if op != FieldOp::Get {
            readonly = false;
            highest = highest.max(offset + bits as u64 - 1);
            match args.get(j + 3).and_then(|a| parse_i64(a)) {
                Some(v) => value = v,
                None => {
                    ctx.out.error(ERR_NOT_INT);
                    return;
                }
            }
        }
        ops.push(Field {
            op,
            offset,
            value,
            ow,
            bits,
            signed,
        });
        j += if op == FieldOp::Get { 3 } else { 4 };
    }

    if readonly {
        // Reads only: a missing key reads as zeros.
        let mut buf = itoa_buf::Buf::new();
        let p: &[u8] = match ctx.ks.get(key) {
            None => &[],
            Some(e) => match read_bytes(&e.value, &mut buf) {
                Some(s) => s,
                None => {
                    ctx.out.error(WRONGTYPE);
                    return;
                }
            },
        };
        ctx.out.array(ops.len());
        for f in &ops {
            ctx.out.int(read_field(p, f));
        }
        return;
    }
    if ro {
        ctx.out
            .error("ERR BITFIELD_RO only supports the GET subcommand");
        return;
    }
    let need = (highest >> 3) as usize + 1;
    let mut created: Option<Vec<u8>> = None;
    let mut grew = false;
    let raw: &mut Vec<u8> = match ctx.ks.get_write(key) {
        None => {
            grew = true;
            created.insert(Vec::new())
        }
        Some(e) => match raw_mut(&mut e.value) {
            Some(r) => r,
            None => {
                ctx.out.error(WRONGTYPE);
                return;
            }
        },
    };
    // Like Redis, a write counts as a change when it alters the field or
    // when the string had to be created or extended for it.
    grew |= raw.len() < need;
    if !grow_zero(raw, need) {
        ctx.out.error(ERR_OOM_VALUE);
        return;
    }
    ctx.out.array(ops.len());
    let mut changes = 0u64;
    for f in &ops {
        if f.op == FieldOp::Get {
            ctx.out.int(read_field(raw, f));
        } else {
            if let Some(changed) = write_field(ctx.out, raw, f) {
                if changed || grew {
                    changes += 1;
                }
            }
        }
    }
    if let Some(v) = created {
        ctx.ks.set(key, Value::Raw(Box::new(v)));
    }
    if changes > 0 {
        ctx.ks.modified(key);
        ctx.ks.notify(notify::STRING, "setbit", key);
        ctx.ks.add_dirty(changes);
    }
}
