//! SORT and SORT_RO (Redis 7.2's `sort.c`): sorts a list, set or sorted
//! set numerically or lexicographically, optionally by external keys
//! (`BY weight_*`, `BY obj_*->field`), fetching external keys (`GET`),
//! with `LIMIT`, and storing the result as a list (`STORE`, SORT only).
//!
//! BY/GET patterns name arbitrary keys, so both commands run in exclusive
//! mode: every other worker is stopped and any shard may be locked.

use crate::cmd::util::{eq_ic, parse_i64};
use crate::cmd::zset::strtod;
use crate::dispatch::{CommandTable, Ctx, LockKind, ERR_NOT_INT, ERR_SYNTAX, WRONGTYPE};
use crate::notify;
use spinel_keyspace::list::{ListValue, DEFAULT_FILL};
use spinel_keyspace::Value;
use std::cmp::Ordering;

pub fn register(t: &mut CommandTable) {
    t.add_lock("sort", sort, Some(LockKind::Exclusive));
    t.add_lock("sort_ro", sort_ro, Some(LockKind::Exclusive));
}

fn sort(ctx: &mut Ctx, argv: &[&[u8]]) {
    sort_generic(ctx, argv, false)
}

fn sort_ro(ctx: &mut Ctx, argv: &[&[u8]]) {
    sort_generic(ctx, argv, true)
}

/// One element being sorted.
struct Item {
    obj: Vec<u8>,
    score: f64,
    /// The BY value for ALPHA sorting by pattern (None: key missing).
    cmp: Option<Vec<u8>>,
}

/// A `BY`/`GET` pattern split at its `*` (and `->field`).
struct Pattern<'a> {
    prefix: &'a [u8],
    suffix: &'a [u8],
    field: Option<&'a [u8]>,
}

/// Parses a pattern like `lookupKeyByPattern`: None when it has no `*`
/// (looks nothing up). The pattern ends at a NUL byte, as a C string.
fn split_pattern(p: &[u8]) -> Option<Pattern<'_>> {
    let p = match p.iter().position(|&c| c == 0) {
        Some(n) => &p[..n],
        None => p,
    };
    let star = p.iter().position(|&c| c == b'*')?;
    let after = &p[star + 1..];
    let arrow = after
        .windows(2)
        .position(|w| w == b"->")
        .filter(|&i| i + 2 < after.len());
    Some(match arrow {
        Some(i) => Pattern {
            prefix: &p[..star],
            suffix: &after[..i],
            field: Some(&after[i + 2..]),
        },
        None => Pattern {
            prefix: &p[..star],
            suffix: after,
            field: None,
        },
    })
}

/// `lookupKeyByPattern`: the string (or hash field) the pattern names for
/// element `subst`; `#` is the element itself.
fn lookup_by_pattern(ctx: &mut Ctx, pattern: &[u8], subst: &[u8]) -> Option<Vec<u8>> {
    if pattern == b"#" || (pattern.len() > 1 && pattern[0] == b'#' && pattern[1] == 0) {
        return Some(subst.to_vec());
    }
    let pat = split_pattern(pattern)?;
    let mut key = Vec::with_capacity(pat.prefix.len() + subst.len() + pat.suffix.len());
    key.extend_from_slice(pat.prefix);
    key.extend_from_slice(subst);
    key.extend_from_slice(pat.suffix);
    let e = ctx.ks.get(&key)?;
    match pat.field {
        Some(f) => match &e.value {
            Value::Hash(h) => h.get(f).map(|v| v.to_vec()),
            _ => None,
        },
        None => e.value.to_bytes(),
    }
}

/// Redis's numeric parse of a BY value: strtod over the whole string.
fn sort_score(v: &[u8]) -> Option<f64> {
    let (s, n, erange) = strtod(v);
    let end = v.iter().position(|&c| c == 0).unwrap_or(v.len());
    if n != end || erange || s.is_nan() {
        None
    } else {
        Some(s)
    }
}

fn sort_generic(ctx: &mut Ctx, argv: &[&[u8]], readonly: bool) {
    let mut desc = false;
    let mut alpha = false;
    let mut limit_start: i64 = 0;
    let mut limit_count: i64 = -1;
    let mut dontsort = false;
    let mut sortby: Option<&[u8]> = None;
    let mut storekey: Option<&[u8]> = None;
    let mut gets: Vec<&[u8]> = Vec::new();
    let mut j = 2;
    while j < argv.len() {
        let left = argv.len() - j - 1;
        let a = argv[j];
        if eq_ic(a, "asc") {
            desc = false;
        } else if eq_ic(a, "desc") {
            desc = true;
        } else if eq_ic(a, "alpha") {
            alpha = true;
        } else if eq_ic(a, "limit") && left >= 2 {
            match (parse_i64(argv[j + 1]), parse_i64(argv[j + 2])) {
                (Some(s), Some(c)) => {
                    limit_start = s;
                    limit_count = c;
                }
                _ => {
                    ctx.out.error(ERR_NOT_INT);
                    return;
                }
            }
            j += 2;
        } else if !readonly && eq_ic(a, "store") && left >= 1 {
            storekey = Some(argv[j + 1]);
            j += 1;
        } else if eq_ic(a, "by") && left >= 1 {
            let p = argv[j + 1];
            sortby = Some(p);
            // No '*' (up to a NUL, as strchr sees it): nothing to sort by.
            let cstr = match p.iter().position(|&c| c == 0) {
                Some(n) => &p[..n],
                None => p,
            };
            if !cstr.contains(&b'*') {
                dontsort = true;
            }
            j += 1;
        } else if eq_ic(a, "get") && left >= 1 {
            gets.push(argv[j + 1]);
            j += 1;
        } else {
            ctx.out.error(ERR_SYNTAX);
            return;
        }
        j += 1;
    }

    // Load the elements to sort.
    enum Kind {
        List,
        Set,
        ZSet,
    }
    let kind;
    let mut items: Vec<Item> = Vec::new();
    let mut start: i64;
    let mut end: i64;
    {
        let entry = ctx.ks.get(argv[1]);
        kind = match entry.as_ref().map(|e| &e.value) {
            None => Kind::List,
            Some(Value::List(_)) => Kind::List,
            Some(Value::Set(_)) => Kind::Set,
            Some(Value::ZSet(_)) => Kind::ZSet,
            Some(_) => {
                ctx.out.error(WRONGTYPE);
                return;
            }
        };
        // Sets have no order of their own: with STORE the output must be
        // deterministic (it is replicated), so sort them alphabetically.
        // (Redis does the same for SORT called from a script.)
        if dontsort && matches!(kind, Kind::Set) && storekey.is_some() {
            dontsort = false;
            alpha = true;
            sortby = None;
        }
        let mut entry = entry;
        // Like Redis, SORT leaves a sorted set in the skiplist encoding.
        if let Some(e) = entry.as_mut() {
            if let Value::ZSet(z) = &mut e.value {
                z.convert_to_skiplist();
            }
        }
        let value = entry.map(|e| &e.value);
        let len = match value {
            Some(Value::List(l)) => l.len(),
            Some(Value::Set(s)) => s.len(),
            Some(Value::ZSet(z)) => z.len(),
            _ => 0,
        };
        let vlen = len as i64;
        start = limit_start.max(0).min(vlen);
        let count = limit_count.max(-1).min(vlen);
        end = if count < 0 {
            vlen - 1
        } else {
            start + count - 1
        };
        if start >= vlen {
            start = vlen - 1;
            end = vlen - 2;
        }
        if end >= vlen {
            end = vlen - 1;
        }
        let push = |items: &mut Vec<Item>, e: &[u8]| {
            items.push(Item {
                obj: e.to_vec(),
                score: 0.0,
                cmp: None,
            })
        };
        match value {
            None => {}
            Some(Value::List(l)) if dontsort && end >= start => {
                // The list's own order (reversed for DESC), only the range.
                let n = (end - start + 1) as usize;
                if desc {
                    let skip = len - 1 - start as usize;
                    let all: Vec<&[u8]> = l.iter().take(skip + 1).collect();
                    for e in all.iter().rev().take(n) {
                        push(&mut items, e);
                    }
                } else {
                    for e in l.iter().skip(start as usize).take(n) {
                        push(&mut items, e);
                    }
                }
                end -= start;
                start = 0;
            }
            Some(Value::List(_)) if dontsort => {}
            Some(Value::List(l)) => {
                for e in l.iter() {
                    push(&mut items, e);
                }
            }
            Some(Value::Set(s)) => {
                for m in s.iter() {
                    m.with_bytes(|b| push(&mut items, b));
                }
            }
            Some(Value::ZSet(z)) if dontsort && end >= start => {
                // The set's own order (reversed for DESC), only the range.
                let (a, b) = (start as usize, end as usize);
                z.range_by_rank(a, b, desc, |m, _| push(&mut items, m));
                end -= start;
                start = 0;
            }
            Some(Value::ZSet(_)) if dontsort => {}
            Some(Value::ZSet(z)) => {
                for (m, _) in z.iter() {
                    push(&mut items, m);
                }
            }
            Some(_) => {}
        }
    }

    // Scores (or comparison values) for each element.
    let mut conversion_error = false;
    if !dontsort {
        for it in items.iter_mut() {
            let byval = match sortby {
                Some(p) => match lookup_by_pattern(ctx, p, &it.obj) {
                    Some(v) => v,
                    None => continue,
                },
                None => {
                    if !alpha {
                        match sort_score(&it.obj) {
                            Some(s) => it.score = s,
                            None => conversion_error = true,
                        }
                    }
                    continue;
                }
            };
            if alpha {
                it.cmp = Some(byval);
            } else {
                match sort_score(&byval) {
                    Some(s) => it.score = s,
                    None => conversion_error = true,
                }
            }
        }
        let bypattern = sortby.is_some();
        items.sort_by(|a, b| {
            let c = if !alpha {
                a.score
                    .partial_cmp(&b.score)
                    .unwrap_or(Ordering::Equal)
                    .then_with(|| a.obj.cmp(&b.obj))
            } else if bypattern {
                match (&a.cmp, &b.cmp) {
                    (None, None) => Ordering::Equal,
                    (None, Some(_)) => Ordering::Less,
                    (Some(_), None) => Ordering::Greater,
                    (Some(x), Some(y)) => x.cmp(y),
                }
            } else {
                a.obj.cmp(&b.obj)
            };
            if desc {
                c.reverse()
            } else {
                c
            }
        });
    }

    let selected: &[Item] = if end >= start && start >= 0 {
        items
            .get(start as usize..=(end as usize).min(items.len().saturating_sub(1)))
            .unwrap_or(&[])
    } else {
        &[]
    };
    let outputlen = if gets.is_empty() {
        selected.len()
    } else {
        gets.len() * selected.len()
    };
    if conversion_error {
        ctx.out
            .error("ERR One or more scores can't be converted into double");
        return;
    }
    match storekey {
        None => {
            let mut vals: Vec<Option<Vec<u8>>> = Vec::with_capacity(outputlen);
            for it in selected {
                if gets.is_empty() {
                    vals.push(Some(it.obj.clone()));
                }
                for g in &gets {
                    vals.push(lookup_by_pattern(ctx, g, &it.obj));
                }
            }
            ctx.out.array(vals.len());
            for v in &vals {
                match v {
                    Some(b) => ctx.out.bulk(b),
                    None => ctx.out.null(),
                }
            }
        }
        Some(dst) => {
            let mut vals: Vec<Vec<u8>> = Vec::with_capacity(outputlen);
            for it in selected {
                if gets.is_empty() {
                    vals.push(it.obj.clone());
                }
                for g in &gets {
                    vals.push(lookup_by_pattern(ctx, g, &it.obj).unwrap_or_default());
                }
            }
            if !vals.is_empty() {
                let fill = ctx
                    .srv
                    .config
                    .get_i64("list-max-listpack-size")
                    .unwrap_or(DEFAULT_FILL);
                let l = ListValue::from_elements(vals.iter().map(|v| v.as_slice()), fill);
                ctx.ks.set(dst, Value::List(Box::new(l)));
                ctx.ks.notify(notify::LIST, "sortstore", dst);
                ctx.ks.add_dirty(vals.len() as u64);
                crate::blocking::wake(ctx, dst);
            } else if ctx.ks.delete(dst) {
                ctx.ks.notify(notify::GENERIC, "del", dst);
                ctx.ks.add_dirty(1);
            }
            ctx.out.int(vals.len() as i64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        let p = split_pattern(b"w_*").unwrap();
        assert_eq!((p.prefix, p.suffix, p.field), (&b"w_"[..], &b""[..], None));
        let p = split_pattern(b"h_*_x->fld").unwrap();
        assert_eq!(
            (p.prefix, p.suffix, p.field),
            (&b"h_"[..], &b"_x"[..], Some(&b"fld"[..]))
        );
        // A trailing "->" is not a field reference.
        let p = split_pattern(b"h_*->").unwrap();
        assert_eq!((p.suffix, p.field), (&b"->"[..], None));
        assert!(split_pattern(b"nosort").is_none());
    }

    #[test]
    fn scores() {
        assert_eq!(sort_score(b"1.5"), Some(1.5));
        assert_eq!(sort_score(b" 2"), Some(2.0));
        assert_eq!(sort_score(b""), Some(0.0));
        assert_eq!(sort_score(b"x"), None);
        assert_eq!(sort_score(b"1e400"), None);
        assert_eq!(sort_score(b"nan"), None);
    }
}
