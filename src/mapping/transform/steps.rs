//! The case and replace steps of a value, with the cap on what they produce
//! ([`super::MAX_VALUE_BYTES`] by default): a replacement that would grow a value past
//! it stops as soon as it does, so the oversized value is never built.

use std::borrow::Cow;

use super::{Field, TransformError, trim_cow};
use crate::mapping::config::Case;
use crate::model::ErrorKind;

/// Case change, then each regex replacement in order (then a trim when there
/// were replacements and the field trims); `value_too_large` past `cap` bytes.
#[cold]
pub(super) fn case_and_replace<'a>(
    f: &'a Field,
    mut v: Cow<'a, str>,
    cap: usize,
) -> Result<Cow<'a, str>, TransformError> {
    let before = v.len();
    let too_large = |v: &str, bytes: usize| {
        TransformError::new(
            ErrorKind::ValueTooLarge,
            v,
            format!(
                "the mapping's case and replace steps would make this {before}-byte value more than {cap} bytes ({bytes} and counting); it was not built"
            ),
            "check the field's replace patterns (one that matches empty text or every \
             character multiplies the value), or shorten the value",
        )
    };
    match f.case {
        Some(Case::Lower) if has_case_or_non_ascii(v.as_bytes(), b'A') => {
            v = Cow::Owned(v.to_lowercase());
        }
        Some(Case::Upper) if has_case_or_non_ascii(v.as_bytes(), b'a') => {
            v = Cow::Owned(v.to_uppercase());
        }
        _ => {}
    }
    if v.len() > cap {
        return Err(too_large(&v, v.len()));
    }
    for (re, with) in &f.replace {
        match replace_capped(re, &v, with, cap) {
            Ok(Some(s)) => v = Cow::Owned(s),
            Ok(None) => {}
            Err(bytes) => return Err(too_large(&v, bytes)),
        }
    }
    if f.trim && !f.replace.is_empty() {
        v = trim_cow(v);
    }
    Ok(v)
}

/// `re.replace_all(v, with)` (same `$name` expansion), built piece by piece so
/// that it stops as soon as the result passes `cap` bytes: `Err` with the bytes
/// built so far. `Ok(None)` when nothing matched.
pub(super) fn replace_capped(
    re: &regex::Regex,
    v: &str,
    with: &str,
    cap: usize,
) -> Result<Option<String>, usize> {
    let mut matches = re.captures_iter(v).peekable();
    if matches.peek().is_none() {
        return Ok(None);
    }
    let mut out = String::with_capacity(v.len().min(cap));
    let mut last = 0;
    for caps in matches {
        let Some(m) = caps.get(0) else { continue };
        out.push_str(&v[last..m.start()]);
        caps.expand(with, &mut out);
        last = m.end();
        if out.len() > cap {
            return Err(out.len());
        }
    }
    out.push_str(&v[last..]);
    if out.len() > cap {
        return Err(out.len());
    }
    Ok(Some(out))
}

/// Whether `s` holds a non-ASCII byte or an ASCII letter of the case that starts
/// at `first` (`b'A'`: upper case, `b'a'`: lower case), eight bytes at a time.
pub(super) fn has_case_or_non_ascii(s: &[u8], first: u8) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let hit = |w: u64| {
        // Per byte (its low seven bits): at least `first`, and more than `first + 25`;
        // adding to a 7-bit value never carries into the next byte.
        let low = w & !HIGH;
        let ge_first = low + ONES * u64::from(0x80 - first);
        let gt_last = low + ONES * u64::from(0x80 - (first + 26));
        ((ge_first & !gt_last) | w) & HIGH != 0
    };
    let mut chunks = s.chunks_exact(8);
    for c in &mut chunks {
        let mut a = [0u8; 8];
        a.copy_from_slice(c);
        if hit(u64::from_le_bytes(a)) {
            return true;
        }
    }
    let mut tail = [0u8; 8];
    tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    hit(u64::from_le_bytes(tail))
}
