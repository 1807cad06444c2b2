//! Redis's glob-style matcher (`stringmatchlen` in Redis's util.c), used by
//! KEYS, SCAN MATCH, PSUBSCRIBE, CONFIG GET and ACL patterns.
//!
//! The semantics are Redis's, byte for byte, including its quirks:
//! - `*` any run of bytes, `?` any single byte;
//! - `[abc]`, `[^abc]`, ranges `[a-z]` (a reversed range `[z-a]` is swapped),
//!   `\x` inside a class matches `x` literally; an unterminated class ends at
//!   the end of the pattern;
//! - `\x` outside a class matches `x` literally (a trailing `\` matches `\`);
//! - class ranges compare bytes as C's signed `char`, and case folding is
//!   ASCII-only (the C locale), exactly as Redis does.
//!
//! Pathological patterns such as `*a*a*a*a*...b` are cut short the way Redis
//! does it: once the rest of a pattern after a `*` fails to match at every
//! position of the remaining string, no earlier `*` can help either, so the
//! whole match fails at once (`skip_longer`). Recursion is also bounded to a
//! nesting depth of 1000, past which the match fails.

/// Maximum recursion depth (one level per `*`), as in Redis.
const MAX_NESTING: u32 = 1000;

/// Returns true when `string` matches the glob `pattern`.
/// `nocase` folds ASCII letters, like Redis's `nocase` argument.
pub fn glob_match(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    let mut skip_longer = false;
    match_impl(pattern, string, nocase, &mut skip_longer, 0)
}

/// glibc's `tolower()` in the C locale applied to a `char` promoted to
/// `int`: ASCII letters fold, negative values other than -1 (`EOF`) come
/// back as their unsigned byte value, everything else is unchanged.
#[inline]
fn c_tolower(c: i32) -> i32 {
    if (i32::from(b'A')..=i32::from(b'Z')).contains(&c) {
        c + 32
    } else if (-128..=-2).contains(&c) {
        c + 256
    } else {
        c
    }
}

/// A byte as C's signed `char` promoted to `int`.
#[inline]
fn as_c_char(b: u8) -> i32 {
    i32::from(b as i8)
}

#[inline]
fn bytes_eq(a: u8, b: u8, nocase: bool) -> bool {
    if nocase {
        a.eq_ignore_ascii_case(&b)
    } else {
        a == b
    }
}

fn match_impl(pat: &[u8], s: &[u8], nocase: bool, skip_longer: &mut bool, nesting: u32) -> bool {
    if nesting > MAX_NESTING {
        return false;
    }
    // Reads past the end of the pattern behave like C's terminating NUL.
    let at = |i: usize| -> u8 { pat.get(i).copied().unwrap_or(0) };
    let mut p = 0usize;
    let mut si = 0usize;

    while p < pat.len() && si < s.len() {
        match pat[p] {
            b'*' => {
                while at(p + 1) == b'*' {
                    p += 1;
                }
                if pat.len() - p == 1 {
                    return true;
                }
                let rest = &pat[p + 1..];
                while si < s.len() {
                    if match_impl(rest, &s[si..], nocase, skip_longer, nesting + 1) {
                        return true;
                    }
                    if *skip_longer {
                        return false;
                    }
                    si += 1;
                }
                // The rest of the pattern matches nowhere in the rest of the
                // string: a longer match for an earlier `*` cannot help.
                *skip_longer = true;
                return false;
            }
            b'?' => {
                si += 1;
            }
            b'[' => {
                p += 1;
                let negate = at(p) == b'^';
                if negate {
                    p += 1;
                }
                let c = s[si];
                let mut matched = false;
                loop {
                    let rem = pat.len().saturating_sub(p);
                    if at(p) == b'\\' && rem >= 2 {
                        p += 1;
                        if at(p) == c {
                            matched = true;
                        }
                    } else if at(p) == b']' {
                        break;
                    } else if rem == 0 {
                        // Unterminated class: step back so the common
                        // advance below lands exactly on the end.
                        p -= 1;
                        break;
                    } else if rem >= 3 && at(p + 1) == b'-' {
                        let mut start = as_c_char(at(p));
                        let mut end = as_c_char(at(p + 2));
                        let mut ch = as_c_char(c);
                        if start > end {
                            std::mem::swap(&mut start, &mut end);
                        }
                        if nocase {
                            start = c_tolower(start);
                            end = c_tolower(end);
                            ch = c_tolower(ch);
                        }
                        p += 2;
                        if ch >= start && ch <= end {
                            matched = true;
                        }
                    } else if bytes_eq(at(p), c, nocase) {
                        matched = true;
                    }
                    p += 1;
                }
                if negate {
                    matched = !matched;
                }
                if !matched {
                    return false;
                }
                si += 1;
            }
            b'\\' => {
                if pat.len() - p >= 2 {
                    p += 1;
                }
                if !bytes_eq(at(p), s[si], nocase) {
                    return false;
                }
                si += 1;
            }
            other => {
                if !bytes_eq(other, s[si], nocase) {
                    return false;
                }
                si += 1;
            }
        }
        p += 1;
        if si == s.len() {
            while at(p) == b'*' {
                p += 1;
            }
            break;
        }
    }
    p >= pat.len() && si == s.len()
}

#[cfg(test)]
mod tests {
    use super::glob_match;
    use std::time::{Duration, Instant};

    fn m(p: &str, s: &str) -> bool {
        glob_match(p.as_bytes(), s.as_bytes(), false)
    }
    fn mi(p: &str, s: &str) -> bool {
        glob_match(p.as_bytes(), s.as_bytes(), true)
    }

    /// (pattern, string, nocase, expected): every row was checked against
    /// Redis's C implementation.
    const CASES: &[(&[u8], &[u8], bool, bool)] = &[
        (b"", b"", false, true),
        (b"", b"a", false, false),
        (b"a", b"", false, false),
        // Redis quirk: a pattern never matches the empty string, not even `*`
        // (KEYS/SCAN special-case a lone `*` before calling the matcher).
        (b"*", b"", false, false),
        (b"**", b"", false, false),
        (b"*", b"anything", false, true),
        (b"hello", b"hello", false, true),
        (b"hello", b"hellO", false, false),
        (b"h?llo", b"hello", false, true),
        (b"h?llo", b"hllo", false, false),
        (b"?", b"", false, false),
        (b"h*llo", b"hllo", false, true),
        (b"h*llo", b"heeeello", false, true),
        (b"*llo", b"hello", false, true),
        (b"he*", b"hello", false, true),
        (b"he*x", b"hello", false, false),
        (b"a*b*c", b"aXXbYYc", false, true),
        (b"a*b*c", b"aXXbYYcd", false, false),
        (b"a*b*c*", b"aXXbYYcd", false, true),
        (b"user:*:name", b"user:1000:name", false, true),
        (b"a*", b"a", false, true),
        (b"a**", b"a", false, true),
        (b"a?", b"a", false, false),
        (b"a***b", b"ab", false, true),
        (b"a***b", b"axxb", false, true),
        // Classes.
        (b"h[ae]llo", b"hello", false, true),
        (b"h[ae]llo", b"hillo", false, false),
        (b"h[^e]llo", b"hallo", false, true),
        (b"h[^e]llo", b"hello", false, false),
        (b"h[a-b]llo", b"hbllo", false, true),
        (b"h[a-b]llo", b"hcllo", false, false),
        (b"h[b-a]llo", b"hallo", false, true),
        (b"[z-a]", b"m", false, true),
        (b"[-a]", b"-", false, true),
        // `]` right after `a-` is taken as the range end: the class is
        // unterminated and only covers `]`..=`a`.
        (b"[a-]", b"-", false, false),
        (b"[a-]", b"_", false, true),
        (b"[\\]]", b"]", false, true),
        (b"[\\-]", b"-", false, true),
        (b"[\\-]", b"a", false, false),
        (b"[\\^a]", b"^", false, true),
        (b"[abc", b"b", false, true),
        (b"[abc", b"d", false, false),
        (b"x[", b"x", false, false),
        (b"[", b"a", false, false),
        (b"[^", b"a", false, true),
        (b"[]", b"a", false, false),
        (b"[]a]", b"a", false, false),
        (b"[a-cx-z0]", b"y", false, true),
        (b"[a-cx-z0]", b"0", false, true),
        (b"[a-cx-z0]", b"m", false, false),
        // Escapes.
        (b"\\*", b"*", false, true),
        (b"\\*", b"a", false, false),
        (b"\\?", b"?", false, true),
        (b"a\\[b", b"a[b", false, true),
        (b"a\\", b"a\\", false, true),
        (b"\\\\", b"\\", false, true),
        // Case folding.
        (b"HeLLo", b"hello", true, true),
        (b"h[A-Z]llo", b"hello", true, true),
        (b"h[^E]llo", b"hello", true, false),
        (b"maxmemory*", b"MAXMEMORY-POLICY", true, true),
        (b"maxmemory*", b"MAXMEMORY-POLICY", false, false),
        // Signed-char ranges: [a-\xff] is [-1..=97] after the swap.
        (b"[a-\xff]", b"a", false, true),
        (b"[a-\xff]", b"\xff", false, true),
        (b"[a-\xff]", b"\x80", false, false),
        (b"[a-\xff]", b"0", false, true),
        (b"[a-\xff]", b"b", false, false),
        // ...while with nocase glibc's tolower() maps -128..=-2 to 128..=254.
        // [a-\x80] is [-128..=97] without nocase but the empty [128..=97]
        // with it.
        (b"[a-\x80]", b"0", false, true),
        (b"[a-\x80]", b"\x85", false, true),
        (b"[a-\x80]", b"0", true, false),
        (b"[a-\x80]", b"\x85", true, false),
        (b"\xc3\xa4", b"\xc3\xa4", false, true),
        (b"\xc3\x84", b"\xc3\xa4", true, false),
        // Binary safety.
        (b"a\x00b", b"a\x00b", false, true),
        (b"a?b", b"a\x00b", false, true),
        (b"a\x00b", b"a", false, false),
        (b"*\x00", b"xyz\x00", false, true),
    ];

    #[test]
    fn table() {
        for &(p, s, nocase, want) in CASES {
            assert_eq!(
                glob_match(p, s, nocase),
                want,
                "pattern {:?} string {:?} nocase {}",
                String::from_utf8_lossy(p),
                String::from_utf8_lossy(s),
                nocase
            );
        }
    }

    #[test]
    fn nocase_helpers() {
        assert!(mi("SLAVE*", "slave-read-only"));
        assert!(!m("SLAVE*", "slave-read-only"));
    }

    #[test]
    fn pathological_patterns_are_fast() {
        // Redis's regression test: KEYS "a*a*a*...*b" over a long string of 'a'.
        let pat = format!("{}b", "a*".repeat(50));
        let s = "a".repeat(5000);
        let t = Instant::now();
        assert!(!m(&pat, &s));
        assert!(t.elapsed() < Duration::from_secs(2));

        let pat = "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b";
        let s = "a".repeat(10_000);
        let t = Instant::now();
        assert!(!m(pat, &s));
        assert!(m(pat, &format!("{s}b")));
        assert!(t.elapsed() < Duration::from_secs(2));

        let pat = "?*".repeat(200) + "x";
        let t = Instant::now();
        assert!(!m(&pat, &"y".repeat(3000)));
        assert!(t.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn nesting_limit() {
        // Up to 1000 nested stars work; beyond that the match gives up
        // (returns false) instead of recursing without bound, as Redis does.
        assert!(m(&"*a".repeat(1000), &"a".repeat(1000)));
        assert!(!m(&"*a".repeat(1001), &"a".repeat(1001)));
        assert!(!m(&"*a".repeat(1500), &"a".repeat(1500)));
    }
}
