//! The RDB format (version 11, Redis 7.2): value encoding for files and
//! `DUMP` payloads, and a bounds-checked reader for every type and encoding
//! Redis 7.2 can load.

use super::crc64::crc64;
use super::encodings::{
    intset_decode, intset_encode, lp_decode, ziplist_decode, zipmap_decode, Elem, LpWriter,
};
use super::lzf;
use spinel_keyspace::hash::{HashLimits, HashValue};
use spinel_keyspace::list::ListValue;
use spinel_keyspace::set::{Member, SetLimits, SetValue};
use spinel_keyspace::value::parse_canonical_i64;
use spinel_keyspace::zset::{self, ZSetValue};
use spinel_keyspace::{Shard, Value};

pub const RDB_VERSION: u16 = 11;

pub const TYPE_STRING: u8 = 0;
pub const TYPE_LIST: u8 = 1;
pub const TYPE_SET: u8 = 2;
pub const TYPE_ZSET: u8 = 3;
pub const TYPE_HASH: u8 = 4;
pub const TYPE_ZSET_2: u8 = 5;
pub const TYPE_MODULE_PRE_GA: u8 = 6;
pub const TYPE_MODULE_2: u8 = 7;
pub const TYPE_HASH_ZIPMAP: u8 = 9;
pub const TYPE_LIST_ZIPLIST: u8 = 10;
pub const TYPE_SET_INTSET: u8 = 11;
pub const TYPE_ZSET_ZIPLIST: u8 = 12;
pub const TYPE_HASH_ZIPLIST: u8 = 13;
pub const TYPE_LIST_QUICKLIST: u8 = 14;
pub const TYPE_STREAM_LISTPACKS: u8 = 15;
pub const TYPE_HASH_LISTPACK: u8 = 16;
pub const TYPE_ZSET_LISTPACK: u8 = 17;
pub const TYPE_LIST_QUICKLIST_2: u8 = 18;
pub const TYPE_STREAM_LISTPACKS_2: u8 = 19;
pub const TYPE_SET_LISTPACK: u8 = 20;
pub const TYPE_STREAM_LISTPACKS_3: u8 = 21;

pub const OP_FUNCTION2: u8 = 245;
pub const OP_FUNCTION_PRE_GA: u8 = 246;
pub const OP_MODULE_AUX: u8 = 247;
pub const OP_IDLE: u8 = 248;
pub const OP_FREQ: u8 = 249;
pub const OP_AUX: u8 = 250;
pub const OP_RESIZEDB: u8 = 251;
pub const OP_EXPIRETIME_MS: u8 = 252;
pub const OP_EXPIRETIME: u8 = 253;
pub const OP_SELECTDB: u8 = 254;
pub const OP_EOF: u8 = 255;

const ENC_INT8: u8 = 0;
const ENC_INT16: u8 = 1;
const ENC_INT32: u8 = 2;
const ENC_LZF: u8 = 3;

const QUICKLIST_NODE_PLAIN: u64 = 1;
const QUICKLIST_NODE_PACKED: u64 = 2;

// ====================================================================== writer

pub fn write_len(out: &mut Vec<u8>, n: u64) {
    if n < 1 << 6 {
        out.push(n as u8);
    } else if n < 1 << 14 {
        out.push(0x40 | (n >> 8) as u8);
        out.push(n as u8);
    } else if n <= u32::MAX as u64 {
        out.push(0x80);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// `rdbEncodeInteger`: the 8/16/32-bit special encodings.
fn encode_int(out: &mut Vec<u8>, v: i64) -> bool {
    if (i8::MIN as i64..=i8::MAX as i64).contains(&v) {
        out.push(0xC0 | ENC_INT8);
        out.push(v as i8 as u8);
    } else if (i16::MIN as i64..=i16::MAX as i64).contains(&v) {
        out.push(0xC0 | ENC_INT16);
        out.extend_from_slice(&(v as i16).to_le_bytes());
    } else if (i32::MIN as i64..=i32::MAX as i64).contains(&v) {
        out.push(0xC0 | ENC_INT32);
        out.extend_from_slice(&(v as i32).to_le_bytes());
    } else {
        return false;
    }
    true
}

/// `rdbSaveRawString`: integer encoding for short canonical integers, LZF
/// for strings over 20 bytes when compression is on, else length + bytes.
pub fn write_string(out: &mut Vec<u8>, s: &[u8], compress: bool) {
    if s.len() <= 11 {
        if let Some(v) = parse_canonical_i64(s) {
            if encode_int(out, v) {
                return;
            }
        }
    }
    if compress && s.len() > 20 {
        if let Some(z) = lzf::compress(s, s.len() - 4) {
            out.push(0xC0 | ENC_LZF);
            write_len(out, z.len() as u64);
            write_len(out, s.len() as u64);
            out.extend_from_slice(&z);
            return;
        }
    }
    write_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

fn write_int_string(out: &mut Vec<u8>, v: i64) {
    if !encode_int(out, v) {
        let s = v.to_string();
        write_len(out, s.len() as u64);
        out.extend_from_slice(s.as_bytes());
    }
}

/// Redis's `d2string`, the text a listpack-encoded sorted set keeps for a score.
pub fn d2string(v: f64) -> Vec<u8> {
    if v == 0.0 {
        return if v.is_sign_negative() {
            b"-0".to_vec()
        } else {
            b"0".to_vec()
        };
    }
    let lim = (i64::MAX / 2) as f64;
    if v.is_finite() && (-lim..=lim).contains(&v) && (v as i64) as f64 == v {
        return (v as i64).to_string().into_bytes();
    }
    let mut buf = [0u8; 40];
    let n = spinel_resp::format_double(v, &mut buf);
    buf.get(..n).unwrap_or(b"0").to_vec()
}

/// Writes a value as `rdbSaveObjectType` + `rdbSaveObject` do.
pub fn write_value(out: &mut Vec<u8>, v: &Value, compress: bool) {
    match v {
        Value::Int(i) => {
            out.push(TYPE_STRING);
            write_int_string(out, *i);
        }
        Value::Str(s) => {
            out.push(TYPE_STRING);
            write_string(out, s.as_slice(), compress);
        }
        Value::Raw(s) => {
            out.push(TYPE_STRING);
            write_string(out, s, compress);
        }
        Value::List(l) => {
            out.push(TYPE_LIST_QUICKLIST_2);
            write_list(out, l, compress);
        }
        Value::Hash(h) => write_hash(out, h, compress),
        Value::Set(s) => write_set(out, s, compress),
        Value::ZSet(z) => write_zset(out, z, compress),
    }
}

fn write_list(out: &mut Vec<u8>, l: &ListValue, compress: bool) {
    write_len(out, l.node_count() as u64);
    l.for_each_node(|plain, elems| {
        if plain {
            write_len(out, QUICKLIST_NODE_PLAIN);
            let mut it = elems;
            write_string(out, it.next().unwrap_or(b""), compress);
        } else {
            write_len(out, QUICKLIST_NODE_PACKED);
            let mut w = LpWriter::new();
            for e in elems {
                w.push(e);
            }
            write_string(out, &w.finish(), compress);
        }
    });
}

fn write_hash(out: &mut Vec<u8>, h: &HashValue, compress: bool) {
    if h.is_listpack() {
        out.push(TYPE_HASH_LISTPACK);
        let mut w = LpWriter::new();
        for (f, v) in h.iter() {
            w.push(f);
            w.push(v);
        }
        write_string(out, &w.finish(), compress);
    } else {
        out.push(TYPE_HASH);
        write_len(out, h.len() as u64);
        for (f, v) in h.iter() {
            write_string(out, f, compress);
            write_string(out, v, compress);
        }
    }
}

fn write_set(out: &mut Vec<u8>, s: &SetValue, compress: bool) {
    match s {
        SetValue::Intset { .. } => {
            out.push(TYPE_SET_INTSET);
            let width = s.intset_width().unwrap_or(8);
            let b = intset_encode(width, s.iter().map(|m| m.as_int().unwrap_or(0)), s.len());
            write_string(out, &b, compress);
        }
        SetValue::Listpack { .. } => {
            out.push(TYPE_SET_LISTPACK);
            let mut w = LpWriter::new();
            for m in s.iter() {
                match m {
                    Member::Int(i) => w.push_int(i),
                    Member::Str(b) => w.push(b),
                }
            }
            write_string(out, &w.finish(), compress);
        }
        SetValue::Table(_) => {
            out.push(TYPE_SET);
            write_len(out, s.len() as u64);
            for m in s.iter() {
                m.with_bytes(|b| write_string(out, b, compress));
            }
        }
    }
}

fn write_zset(out: &mut Vec<u8>, z: &ZSetValue, compress: bool) {
    if z.is_listpack() {
        out.push(TYPE_ZSET_LISTPACK);
        let mut w = LpWriter::new();
        for (m, sc) in z.iter() {
            w.push(m);
            w.push(&d2string(sc));
        }
        write_string(out, &w.finish(), compress);
    } else {
        out.push(TYPE_ZSET_2);
        write_len(out, z.len() as u64);
        // Greatest first, as Redis writes it (loading then inserts at the head).
        let items: Vec<(&[u8], f64)> = z.iter().collect();
        for (m, sc) in items.into_iter().rev() {
            write_string(out, m, compress);
            out.extend_from_slice(&sc.to_le_bytes());
        }
    }
}

/// An auxiliary field (`RDB_OPCODE_AUX`).
pub fn write_aux(out: &mut Vec<u8>, key: &str, val: &[u8]) {
    out.push(OP_AUX);
    write_string(out, key.as_bytes(), false);
    write_string(out, val, false);
}

/// The file header: magic, version and the aux fields Redis 7.2 writes.
pub fn write_header(out: &mut Vec<u8>, version: &str, ctime: i64, used_mem: u64) {
    out.extend_from_slice(format!("REDIS{:04}", RDB_VERSION).as_bytes());
    write_aux(out, "redis-ver", version.as_bytes());
    write_aux(out, "redis-bits", b"64");
    write_aux(out, "ctime", ctime.to_string().as_bytes());
    write_aux(out, "used-mem", used_mem.to_string().as_bytes());
    write_aux(out, "aof-base", b"0");
}

/// The function libraries (`RDB_OPCODE_FUNCTION2` + code each), written
/// after the aux fields as Redis does.
pub fn write_functions(out: &mut Vec<u8>, codes: &[Vec<u8>], compress: bool) {
    for c in codes {
        out.push(OP_FUNCTION2);
        write_string(out, c, compress);
    }
}

/// SELECTDB + RESIZEDB.
pub fn write_db_header(out: &mut Vec<u8>, db: usize, keys: usize, expires: usize) {
    out.push(OP_SELECTDB);
    write_len(out, db as u64);
    out.push(OP_RESIZEDB);
    write_len(out, keys as u64);
    write_len(out, expires as u64);
}

/// A key's access clock as RDB files carry it: idle seconds (LRU
/// policies) or the LFU counter (LFU policies).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyClock {
    Idle(u64),
    Freq(u8),
}

/// Per-key metadata read before a key: expiry and access clock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyMeta {
    pub expire: Option<i64>,
    pub clock: Option<KeyClock>,
}

/// One key: optional expiry, optional access clock, type, key, value.
pub fn write_key(out: &mut Vec<u8>, key: &[u8], v: &Value, meta: KeyMeta, compress: bool) {
    if let Some(t) = meta.expire {
        out.push(OP_EXPIRETIME_MS);
        out.extend_from_slice(&t.to_le_bytes());
    }
    match meta.clock {
        Some(KeyClock::Idle(secs)) => {
            out.push(OP_IDLE);
            write_len(out, secs);
        }
        Some(KeyClock::Freq(f)) => {
            out.push(OP_FREQ);
            out.push(f);
        }
        None => {}
    }
    let start = out.len();
    write_value(out, v, compress);
    // The type byte goes before the key: move the key in after it.
    let mut k = Vec::with_capacity(key.len() + 5);
    write_string(&mut k, key, compress);
    let at = start + 1;
    out.splice(at..at, k);
}

/// Serializes every key of a shard (expiry checks are the loader's job, as
/// in Redis, which also saves keys whose time has passed). `clock` maps an
/// entry's access clock to what the file records (nothing by default).
pub fn write_shard(
    out: &mut Vec<u8>,
    shard: &Shard,
    compress: bool,
    clock: &dyn Fn(u32) -> Option<KeyClock>,
) -> usize {
    let mut n = 0;
    for (k, e) in shard.map.iter() {
        let h = shard.map.hasher().hash_one(k.as_slice());
        let meta = KeyMeta {
            expire: shard.expire_of(h, k.as_slice()),
            clock: clock(e.lru),
        };
        write_key(out, k.as_slice(), &e.value, meta, compress);
        n += 1;
    }
    n
}

/// EOF opcode and checksum (0 when checksums are off), given the CRC of
/// everything written before it.
pub fn write_trailer(out: &mut Vec<u8>, crc_before: u64, checksum: bool) {
    out.push(OP_EOF);
    let crc = if checksum {
        crc64(crc_before, &[OP_EOF])
    } else {
        0
    };
    out.extend_from_slice(&crc.to_le_bytes());
}

/// A `DUMP` payload: value, RDB version (2 bytes LE), CRC64 (8 bytes LE).
pub fn dump_payload(v: &Value, compress: bool) -> Vec<u8> {
    let mut out = Vec::new();
    write_value(&mut out, v, compress);
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(0, &out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// `verifyDumpPayload`: footer version not newer than ours, checksum right.
/// Returns the value bytes.
pub fn verify_payload(p: &[u8]) -> Option<&[u8]> {
    if p.len() < 10 {
        return None;
    }
    let body_end = p.len() - 10;
    let ver = u16::from_le_bytes(p.get(body_end..body_end + 2)?.try_into().ok()?);
    if ver > RDB_VERSION {
        return None;
    }
    let crc = u64::from_le_bytes(p.get(body_end + 2..)?.try_into().ok()?);
    if crc64(0, p.get(..body_end + 2)?) != crc {
        return None;
    }
    p.get(..body_end)
}

// ====================================================================== reader

/// Why loading stopped.
#[derive(Debug, Clone, PartialEq)]
pub enum LoadError {
    /// The data ended early (offset where more was needed).
    Short(usize),
    /// Structurally invalid data at an offset.
    Corrupt(usize, String),
    /// A type Spinel cannot hold (modules, streams, functions).
    Unsupported(usize, String),
}

/// Size thresholds that decide the encodings of loaded values.
#[derive(Debug, Clone, Copy)]
pub struct LoadLimits {
    pub list_fill: i64,
    pub hash: HashLimits,
    pub set: SetLimits,
    pub zset: zset::Limits,
}

impl Default for LoadLimits {
    fn default() -> Self {
        LoadLimits {
            list_fill: spinel_keyspace::list::DEFAULT_FILL,
            hash: HashLimits::default(),
            set: SetLimits::default(),
            zset: zset::Limits::default(),
        }
    }
}

/// A cursor over RDB bytes. Every read is bounds-checked.
pub struct Reader<'a> {
    pub b: &'a [u8],
    pub pos: usize,
}

/// Most elements a collection header may announce before its data is seen
/// (each element takes at least one byte, so a longer count is corrupt).
fn check_count(r: &Reader, n: u64) -> Result<usize, LoadError> {
    if n > (r.b.len() - r.pos.min(r.b.len())) as u64 {
        return Err(LoadError::Short(r.pos));
    }
    Ok(n as usize)
}

impl<'a> Reader<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        Reader { b, pos: 0 }
    }

    fn corrupt<T>(&self, what: &str) -> Result<T, LoadError> {
        Err(LoadError::Corrupt(self.pos, what.to_string()))
    }

    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], LoadError> {
        let end = self.pos.checked_add(n).ok_or(LoadError::Short(self.pos))?;
        let s = self
            .b
            .get(self.pos..end)
            .ok_or(LoadError::Short(self.pos))?;
        self.pos = end;
        Ok(s)
    }

    pub fn u8(&mut self) -> Result<u8, LoadError> {
        Ok(self.bytes(1)?[0])
    }

    fn arr<const N: usize>(&mut self) -> Result<[u8; N], LoadError> {
        let s = self.bytes(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    /// A length, or an encoding marker (`Err(enc)` in the inner result).
    fn len_or_enc(&mut self) -> Result<Result<u64, u8>, LoadError> {
        let c = self.u8()?;
        match c >> 6 {
            0 => Ok(Ok((c & 0x3f) as u64)),
            1 => Ok(Ok((((c & 0x3f) as u64) << 8) | self.u8()? as u64)),
            2 => match c {
                0x80 => Ok(Ok(u32::from_be_bytes(self.arr()?) as u64)),
                0x81 => Ok(Ok(u64::from_be_bytes(self.arr()?))),
                _ => self.corrupt("unknown length encoding"),
            },
            _ => Ok(Err(c & 0x3f)),
        }
    }

    pub fn length(&mut self) -> Result<u64, LoadError> {
        match self.len_or_enc()? {
            Ok(n) => Ok(n),
            Err(_) => self.corrupt("unexpected string encoding"),
        }
    }

    pub fn string(&mut self) -> Result<Vec<u8>, LoadError> {
        match self.len_or_enc()? {
            Ok(n) => {
                let n = usize::try_from(n).map_err(|_| LoadError::Short(self.pos))?;
                Ok(self.bytes(n)?.to_vec())
            }
            Err(ENC_INT8) => Ok((self.u8()? as i8).to_string().into_bytes()),
            Err(ENC_INT16) => Ok(i16::from_le_bytes(self.arr()?).to_string().into_bytes()),
            Err(ENC_INT32) => Ok(i32::from_le_bytes(self.arr()?).to_string().into_bytes()),
            Err(ENC_LZF) => {
                let clen = self.length()?;
                let len = self.length()?;
                let clen = usize::try_from(clen).map_err(|_| LoadError::Short(self.pos))?;
                let at = self.pos;
                let z = self.bytes(clen)?;
                // Decompressed data can't exceed what LZF can expand to.
                if len == 0 || len > (clen as u64).saturating_mul(300).saturating_add(16) {
                    return Err(LoadError::Corrupt(at, "invalid LZF lengths".into()));
                }
                lzf::decompress(z, len as usize)
                    .ok_or_else(|| LoadError::Corrupt(at, "invalid LZF compressed string".into()))
            }
            Err(_) => self.corrupt("unknown string encoding"),
        }
    }

    fn binary_double(&mut self) -> Result<f64, LoadError> {
        Ok(f64::from_le_bytes(self.arr()?))
    }

    /// `rdbLoadDoubleValue`: the old text form of a score.
    fn text_double(&mut self) -> Result<f64, LoadError> {
        let n = self.u8()?;
        match n {
            255 => Ok(f64::NEG_INFINITY),
            254 => Ok(f64::INFINITY),
            253 => Ok(f64::NAN),
            _ => {
                let s = self.bytes(n as usize)?;
                match parse_score(s) {
                    Some(v) => Ok(v),
                    None => self.corrupt("invalid double value"),
                }
            }
        }
    }

    pub fn u64_le(&mut self) -> Result<u64, LoadError> {
        Ok(u64::from_le_bytes(self.arr()?))
    }

    pub fn u32_le(&mut self) -> Result<u32, LoadError> {
        Ok(u32::from_le_bytes(self.arr()?))
    }
}

fn parse_score(s: &[u8]) -> Option<f64> {
    let t = std::str::from_utf8(s).ok()?.trim();
    match t.to_ascii_lowercase().as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => Some(f64::INFINITY),
        "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
        "nan" | "-nan" => Some(f64::NAN),
        _ => t.parse().ok(),
    }
}

fn elem_score(e: &Elem) -> Option<f64> {
    match e {
        Elem::Int(i) => Some(*i as f64),
        Elem::Str(s) => parse_score(s),
    }
}

fn build_zset(
    at: usize,
    mut items: Vec<(Vec<u8>, f64)>,
    lim: &LoadLimits,
) -> Result<Value, LoadError> {
    if items.iter().any(|(_, s)| s.is_nan()) {
        return Err(LoadError::Corrupt(
            at,
            "Zset with NAN score detected".into(),
        ));
    }
    {
        let mut seen = std::collections::HashSet::with_capacity(items.len());
        for (m, _) in &items {
            if !seen.insert(m.as_slice()) {
                return Err(LoadError::Corrupt(
                    at,
                    "Duplicate zset fields detected".into(),
                ));
            }
        }
    }
    // -0 and 0 sort apart under total_cmp but are equal scores: order by member.
    items.sort_by(|a, b| {
        a.1.partial_cmp(&b.1)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.0.cmp(&b.0))
    });
    let z = ZSetValue::from_sorted(items.iter().map(|(m, s)| (m.as_slice(), *s)), lim.zset);
    Ok(Value::ZSet(z))
}

fn build_hash(
    at: usize,
    pairs: Vec<(Vec<u8>, Vec<u8>)>,
    lim: &LoadLimits,
) -> Result<Value, LoadError> {
    let n = pairs.len();
    let h = HashValue::from_pairs(
        pairs.iter().map(|(f, v)| (f.as_slice(), v.as_slice())),
        &lim.hash,
    );
    if h.len() != n {
        return Err(LoadError::Corrupt(
            at,
            "Duplicate hash fields detected".into(),
        ));
    }
    Ok(Value::Hash(h))
}

fn build_set(at: usize, members: Vec<Vec<u8>>, lim: &LoadLimits) -> Result<Value, LoadError> {
    let n = members.len();
    let s = SetValue::from_members(members.iter().map(|m| m.as_slice()), &lim.set);
    if s.len() != n {
        return Err(LoadError::Corrupt(
            at,
            "Duplicate set members detected".into(),
        ));
    }
    Ok(Value::Set(s))
}

fn build_list(items: Vec<Vec<u8>>, lim: &LoadLimits) -> Value {
    Value::List(Box::new(ListValue::from_elements(
        items.iter().map(|e| e.as_slice()),
        lim.list_fill,
    )))
}

/// Reads one value of RDB type `t`. `Ok(None)`: an empty collection, which
/// Redis skips.
pub fn read_value(r: &mut Reader, t: u8, lim: &LoadLimits) -> Result<Option<Value>, LoadError> {
    let at = r.pos;
    let bad = |what: &str| LoadError::Corrupt(at, what.to_string());
    let v = match t {
        TYPE_STRING => Value::string_from_vec(r.string()?),
        TYPE_LIST => {
            let n = {
                let n = r.length()?;
                check_count(r, n)?
            };
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                items.push(r.string()?);
            }
            if items.is_empty() {
                return Ok(None);
            }
            build_list(items, lim)
        }
        TYPE_SET => {
            let n = {
                let n = r.length()?;
                check_count(r, n)?
            };
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                items.push(r.string()?);
            }
            if items.is_empty() {
                return Ok(None);
            }
            build_set(at, items, lim)?
        }
        TYPE_ZSET | TYPE_ZSET_2 => {
            let n = {
                let n = r.length()?;
                check_count(r, n)?
            };
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                let m = r.string()?;
                let s = if t == TYPE_ZSET_2 {
                    r.binary_double()?
                } else {
                    r.text_double()?
                };
                items.push((m, s));
            }
            if items.is_empty() {
                return Ok(None);
            }
            build_zset(at, items, lim)?
        }
        TYPE_HASH => {
            let n = {
                let n = r.length()?;
                check_count(r, n)?
            };
            let mut pairs = Vec::with_capacity(n);
            for _ in 0..n {
                let f = r.string()?;
                let v = r.string()?;
                pairs.push((f, v));
            }
            if pairs.is_empty() {
                return Ok(None);
            }
            build_hash(at, pairs, lim)?
        }
        TYPE_LIST_QUICKLIST | TYPE_LIST_QUICKLIST_2 => {
            let n = {
                let n = r.length()?;
                check_count(r, n)?
            };
            let mut items = Vec::new();
            for _ in 0..n {
                let container = if t == TYPE_LIST_QUICKLIST_2 {
                    r.length()?
                } else {
                    QUICKLIST_NODE_PACKED
                };
                let blob = r.string()?;
                match container {
                    QUICKLIST_NODE_PLAIN => items.push(blob),
                    QUICKLIST_NODE_PACKED => {
                        let elems = if t == TYPE_LIST_QUICKLIST_2 {
                            lp_decode(&blob)
                        } else {
                            ziplist_decode(&blob)
                        }
                        .ok_or_else(|| bad("Listpack integrity check failed"))?;
                        items.extend(elems.iter().map(|e| e.to_vec()));
                    }
                    _ => return Err(bad("Quicklist integrity check failed")),
                }
            }
            if items.is_empty() {
                return Ok(None);
            }
            build_list(items, lim)
        }
        TYPE_LIST_ZIPLIST => {
            let blob = r.string()?;
            let elems =
                ziplist_decode(&blob).ok_or_else(|| bad("Ziplist integrity check failed"))?;
            if elems.is_empty() {
                return Ok(None);
            }
            build_list(elems.iter().map(|e| e.to_vec()).collect(), lim)
        }
        TYPE_SET_INTSET => {
            let blob = r.string()?;
            let vals = intset_decode(&blob).ok_or_else(|| bad("Intset integrity check failed"))?;
            build_set(
                at,
                vals.iter().map(|v| v.to_string().into_bytes()).collect(),
                lim,
            )?
        }
        TYPE_SET_LISTPACK => {
            let blob = r.string()?;
            let elems =
                lp_decode(&blob).ok_or_else(|| bad("Set listpack integrity check failed"))?;
            if elems.is_empty() {
                return Ok(None);
            }
            build_set(at, elems.iter().map(|e| e.to_vec()).collect(), lim)?
        }
        TYPE_ZSET_ZIPLIST | TYPE_ZSET_LISTPACK => {
            let blob = r.string()?;
            let elems = if t == TYPE_ZSET_LISTPACK {
                lp_decode(&blob)
            } else {
                ziplist_decode(&blob)
            }
            .ok_or_else(|| bad("Zset listpack integrity check failed"))?;
            if elems.len() % 2 != 0 {
                return Err(bad("Zset listpack integrity check failed"));
            }
            if elems.is_empty() {
                return Ok(None);
            }
            let mut items = Vec::with_capacity(elems.len() / 2);
            for pair in elems.chunks_exact(2) {
                let sc = elem_score(&pair[1]).ok_or_else(|| bad("invalid zset score"))?;
                items.push((pair[0].to_vec(), sc));
            }
            build_zset(at, items, lim)?
        }
        TYPE_HASH_ZIPLIST | TYPE_HASH_LISTPACK => {
            let blob = r.string()?;
            let elems = if t == TYPE_HASH_LISTPACK {
                lp_decode(&blob)
            } else {
                ziplist_decode(&blob)
            }
            .ok_or_else(|| bad("Hash listpack integrity check failed"))?;
            if elems.len() % 2 != 0 {
                return Err(bad("Hash listpack integrity check failed"));
            }
            if elems.is_empty() {
                return Ok(None);
            }
            let pairs = elems
                .chunks_exact(2)
                .map(|p| (p[0].to_vec(), p[1].to_vec()))
                .collect();
            build_hash(at, pairs, lim)?
        }
        TYPE_HASH_ZIPMAP => {
            let blob = r.string()?;
            let pairs = zipmap_decode(&blob).ok_or_else(|| bad("Zipmap integrity check failed"))?;
            if pairs.is_empty() {
                return Ok(None);
            }
            build_hash(
                at,
                pairs
                    .iter()
                    .map(|(f, v)| (f.to_vec(), v.to_vec()))
                    .collect(),
                lim,
            )?
        }
        TYPE_MODULE_PRE_GA | TYPE_MODULE_2 => {
            return Err(LoadError::Unsupported(
                at,
                "The RDB file contains module data I can't load: no matching module".into(),
            ))
        }
        TYPE_STREAM_LISTPACKS | TYPE_STREAM_LISTPACKS_2 | TYPE_STREAM_LISTPACKS_3 => {
            return Err(LoadError::Unsupported(
                at,
                "The RDB file contains stream data I can't load".into(),
            ))
        }
        _ => {
            return Err(LoadError::Corrupt(
                at,
                format!("Unknown RDB encoding type {}", t),
            ))
        }
    };
    Ok(Some(v))
}

/// Decodes a `RESTORE` body (value bytes without the footer). Trailing
/// bytes after the value are an error, as are empty collections.
pub fn read_payload(body: &[u8], lim: &LoadLimits) -> Result<Value, LoadError> {
    let mut r = Reader::new(body);
    let t = r.u8()?;
    match read_value(&mut r, t, lim)? {
        Some(v) if r.pos == body.len() => Ok(v),
        Some(_) => Err(LoadError::Corrupt(r.pos, "trailing bytes".into())),
        None => Err(LoadError::Corrupt(r.pos, "empty key".into())),
    }
}

/// What a whole-file load reports.
#[derive(Debug, Default, Clone)]
pub struct LoadSummary {
    pub loaded: u64,
    pub expired: u64,
    pub version: Option<String>,
    pub ctime: Option<i64>,
    pub used_mem: Option<u64>,
    /// Bytes the image took (an AOF tail may follow an RDB preamble).
    pub end: usize,
}

/// Where loaded keys go: `(db, key, value, expire_ms)`; an `Err` stops the
/// load (e.g. a duplicate key).
pub type Sink<'s> = dyn FnMut(usize, Vec<u8>, Value, KeyMeta) -> Result<(), String> + 's;

/// Loads a whole RDB file image. Keys whose expiry is before `now_ms` are
/// skipped and counted; function library code goes to `functions`. `log`
/// receives Redis's informational lines.
pub fn load(
    b: &[u8],
    lim: &LoadLimits,
    ndbs: usize,
    now_ms: i64,
    sink: &mut Sink,
    functions: &mut dyn FnMut(Vec<u8>) -> Result<(), String>,
    log: &mut dyn FnMut(&str),
) -> Result<LoadSummary, LoadError> {
    let mut r = Reader::new(b);
    let magic = r.bytes(9)?;
    if &magic[..5] != b"REDIS" {
        return Err(LoadError::Corrupt(
            0,
            "Wrong signature trying to load DB from file".into(),
        ));
    }
    let ver: u32 = std::str::from_utf8(&magic[5..])
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    if !(1..=RDB_VERSION as u32).contains(&ver) {
        return Err(LoadError::Corrupt(
            5,
            format!("Can't handle RDB format version {}", ver),
        ));
    }
    let mut sum = LoadSummary::default();
    let mut db = 0usize;
    let mut meta = KeyMeta::default();
    loop {
        let t = r.u8()?;
        match t {
            OP_EXPIRETIME_MS => {
                meta.expire = Some(r.u64_le()? as i64);
                continue;
            }
            OP_EXPIRETIME => {
                meta.expire = Some(r.u32_le()? as i64 * 1000);
                continue;
            }
            OP_IDLE => {
                meta.clock = Some(KeyClock::Idle(r.length()?));
                continue;
            }
            OP_FREQ => {
                meta.clock = Some(KeyClock::Freq(r.u8()?));
                continue;
            }
            OP_EOF => break,
            OP_SELECTDB => {
                let d = r.length()?;
                if d >= ndbs as u64 {
                    return Err(LoadError::Corrupt(
                        r.pos,
                        format!("FATAL: Data file was created with a Redis server configured to handle more than {} databases. Exiting", ndbs),
                    ));
                }
                db = d as usize;
                continue;
            }
            OP_RESIZEDB => {
                r.length()?;
                r.length()?;
                continue;
            }
            OP_AUX => {
                let k = r.string()?;
                let v = r.string()?;
                let vs = String::from_utf8_lossy(&v).into_owned();
                match k.as_slice() {
                    b"redis-ver" => {
                        log(&format!("Loading RDB produced by version {}", vs));
                        sum.version = Some(vs);
                    }
                    b"ctime" => {
                        let ct: i64 = vs.parse().unwrap_or(0);
                        let age = (now_ms / 1000 - ct).max(0);
                        log(&format!("RDB age {} seconds", age));
                        sum.ctime = Some(ct);
                    }
                    b"used-mem" => {
                        let m: u64 = vs.parse().unwrap_or(0);
                        log(&format!(
                            "RDB memory usage when created {:.2} Mb",
                            m as f64 / (1024.0 * 1024.0)
                        ));
                        sum.used_mem = Some(m);
                    }
                    b"aof-base" if vs == "1" => log("RDB is base AOF"),
                    _ => {}
                }
                continue;
            }
            OP_MODULE_AUX => {
                return Err(LoadError::Unsupported(
                    r.pos,
                    "The RDB file contains AUX module data I can't load: no matching module".into(),
                ))
            }
            OP_FUNCTION2 => {
                let at = r.pos;
                let code = r.string()?;
                functions(code).map_err(|e| {
                    LoadError::Corrupt(at, format!("Failed loading library: {}", e))
                })?;
                continue;
            }
            OP_FUNCTION_PRE_GA => {
                return Err(LoadError::Unsupported(
                    r.pos,
                    "Pre-release function format not supported".into(),
                ))
            }
            _ => {}
        }
        let key = r.string()?;
        let v = read_value(&mut r, t, lim)?;
        let m = std::mem::take(&mut meta);
        let Some(v) = v else {
            continue;
        };
        if matches!(m.expire, Some(e) if e < now_ms) {
            sum.expired += 1;
            continue;
        }
        let at = r.pos;
        sink(db, key, v, m).map_err(|e| LoadError::Corrupt(at, e))?;
        sum.loaded += 1;
    }
    if ver >= 5 {
        let at = r.pos;
        let expected = r.u64_le()?;
        if expected != 0 {
            let got = crc64(0, b.get(..at).unwrap_or(&[]));
            if got != expected {
                return Err(LoadError::Corrupt(
                    at,
                    format!(
                        "Wrong RDB checksum expected: ({:x}) got ({:x}). Aborting now.",
                        expected, got
                    ),
                ));
            }
        }
    }
    sum.end = r.pos;
    Ok(sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v_roundtrip(v: &Value) -> Value {
        let p = dump_payload(v, true);
        let body = verify_payload(&p).expect("valid payload");
        read_payload(body, &LoadLimits::default()).expect("loads")
    }

    #[test]
    fn list_dump_matches_redis() {
        let l = ListValue::from_elements(
            [&b"a"[..], b"1", b"-5", b"300", b"70000", b"hello"],
            spinel_keyspace::list::DEFAULT_FILL,
        );
        let p = dump_payload(&Value::List(Box::new(l)), true);
        let expect: &[u8] = b"\x12\x01\x02\x1e\x1e\x00\x00\x00\x06\x00\x81a\x02\x01\x01\xdf\xfb\x02\xc1,\x02\xf2p\x11\x01\x04\x85hello\x06\xff\x0b\x00\xcb?\x93\xcdg\xdc\xbe\x00";
        assert_eq!(p, expect);
    }

    #[test]
    fn string_dump_matches_redis() {
        let p = dump_payload(&Value::string(&[b'a'; 40]), true);
        let expect: &[u8] =
            b"\x00\xc3\t(\x01aa\xe0\x1b\x00\x01aa\x0b\x00\xa6\xd6\x92\xd9S\xbaj\x94";
        assert_eq!(p, expect);
    }

    #[test]
    fn values_round_trip() {
        let vals = vec![
            Value::string(b"12345"),
            Value::string(b"hello"),
            Value::string(&[b'z'; 100]),
            Value::Int(i64::MIN),
        ];
        for v in &vals {
            let w = v_roundtrip(v);
            assert_eq!(v.to_bytes(), w.to_bytes());
        }
    }

    fn body(t: u8, blob: &[u8]) -> Vec<u8> {
        let mut b = vec![t];
        write_string(&mut b, blob, false);
        b
    }

    fn strings(v: &Value) -> Vec<Vec<u8>> {
        match v {
            Value::List(l) => l.iter().map(|e| e.to_vec()).collect(),
            Value::Hash(h) => {
                let mut p: Vec<Vec<u8>> = h.iter().map(|(f, v)| [f, b"=", v].concat()).collect();
                p.sort();
                p
            }
            Value::ZSet(z) => z
                .iter()
                .map(|(m, s)| [m, b"=", s.to_string().as_bytes()].concat())
                .collect(),
            Value::Set(s) => {
                let mut m: Vec<Vec<u8>> = s.iter().map(|m| m.to_vec()).collect();
                m.sort();
                m
            }
            other => vec![other.to_bytes().unwrap_or_default()],
        }
    }

    #[test]
    fn old_encodings_load() {
        use super::super::encodings::tests::ziplist;
        let lim = LoadLimits::default();
        let zl = ziplist(&[
            Elem::Str(b"a"),
            Elem::Int(5),
            Elem::Str(b"b"),
            Elem::Int(-2),
        ]);
        let v = read_payload(&body(TYPE_LIST_ZIPLIST, &zl), &lim).expect("list ziplist");
        assert_eq!(
            strings(&v),
            vec![b"a".to_vec(), b"5".to_vec(), b"b".to_vec(), b"-2".to_vec()]
        );
        assert_eq!(v.encoding(), "listpack");
        let v = read_payload(&body(TYPE_HASH_ZIPLIST, &zl), &lim).expect("hash ziplist");
        assert_eq!(strings(&v), vec![b"a=5".to_vec(), b"b=-2".to_vec()]);
        let v = read_payload(&body(TYPE_ZSET_ZIPLIST, &zl), &lim).expect("zset ziplist");
        assert_eq!(strings(&v), vec![b"b=-2".to_vec(), b"a=5".to_vec()]);
        // Quicklist v1: ziplist nodes.
        let mut q = vec![TYPE_LIST_QUICKLIST];
        write_len(&mut q, 2);
        write_string(&mut q, &zl, true);
        write_string(&mut q, &ziplist(&[Elem::Str(b"tail")]), true);
        let v = read_payload(&q, &lim).expect("quicklist v1");
        assert_eq!(v.element_count(), 5);
        // Zipmap hash.
        let zm = b"\x02\x01a\x01\x011X\x03key\x05\x00value\xff";
        let v = read_payload(&body(TYPE_HASH_ZIPMAP, zm), &lim).expect("zipmap");
        assert_eq!(strings(&v), vec![b"a=1".to_vec(), b"key=value".to_vec()]);
        // RDB_TYPE_ZSET: text scores, including the special lengths.
        let mut z = vec![TYPE_ZSET];
        write_len(&mut z, 3);
        write_string(&mut z, b"x", false);
        z.extend_from_slice(b"\x031.5");
        write_string(&mut z, b"y", false);
        z.push(255);
        write_string(&mut z, b"w", false);
        z.push(254);
        let v = read_payload(&z, &lim).expect("text zset");
        assert_eq!(
            strings(&v),
            vec![b"y=-inf".to_vec(), b"x=1.5".to_vec(), b"w=inf".to_vec()]
        );
        // Plain old types.
        let mut s = vec![TYPE_SET];
        write_len(&mut s, 2);
        write_string(&mut s, b"1", false);
        write_string(&mut s, b"2", false);
        let v = read_payload(&s, &lim).expect("set");
        assert_eq!(v.encoding(), "intset");
        // Duplicates are corrupt, as in Redis.
        let mut s = vec![TYPE_SET];
        write_len(&mut s, 2);
        write_string(&mut s, b"a", false);
        write_string(&mut s, b"a", false);
        assert!(read_payload(&s, &lim).is_err());
        // Streams and modules are refused.
        assert!(matches!(
            read_payload(&[TYPE_STREAM_LISTPACKS_3, 0], &lim),
            Err(LoadError::Unsupported(..))
        ));
    }

    #[test]
    fn truncated_payloads_never_panic() {
        let l = ListValue::from_elements(
            [&b"a"[..], b"1", b"-5"],
            spinel_keyspace::list::DEFAULT_FILL,
        );
        let mut body = Vec::new();
        write_value(&mut body, &Value::List(Box::new(l)), true);
        for cut in 0..body.len() {
            assert!(read_payload(&body[..cut], &LoadLimits::default()).is_err());
        }
        for i in 0..body.len() {
            for x in [0u8, 0xff, 0x40, 0x80, 0xc3] {
                let mut b = body.clone();
                b[i] = x;
                let _ = read_payload(&b, &LoadLimits::default());
            }
        }
    }
}
