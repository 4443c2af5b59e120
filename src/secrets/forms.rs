//! The spellings one secret value can take on its way back to us: raw, base64
//! (standard and URL-safe, padded or not), percent-encoded (as form bodies, URIs and
//! JavaScript encode it, `+` or `%20` for a space, upper or lower hex) and
//! JSON-escaped (with and without `\/`, non-ASCII as is or as `\uXXXX`), plus those
//! encodings of its base64 forms.
//!
//! Pure functions over strings: no registry, no I/O (see `secrets` for both).

use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};

/// Bytes each percent-encoder leaves alone, besides ASCII letters and digits.
/// RFC 3986 unreserved; `application/x-www-form-urlencoded` (WHATWG, `serde_urlencoded`,
/// reqwest's `.form()`); JavaScript's `encodeURIComponent`.
const KEEP_SETS: [&[u8]; 3] = [b"-._~", b"*-._", b"-_.!~*'()"];

/// Every form of `value` worth looking for, deduplicated. `extra_base64` are other
/// plaintexts whose base64 must be hidden too (`client_id:client_secret`, the Basic
/// header's payload): base64 of a value inside a longer plaintext depends on its
/// alignment, so the whole plaintext is encoded.
pub fn forms(value: &str, extra_base64: &[String]) -> BTreeSet<String> {
    let mut base: BTreeSet<String> = BTreeSet::new();
    if value.is_empty() {
        return base;
    }
    base.insert(value.to_string());
    for plain in std::iter::once(value).chain(extra_base64.iter().map(String::as_str)) {
        for engine in [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD] {
            base.insert(engine.encode(plain.as_bytes()));
        }
    }
    let mut out = BTreeSet::new();
    for form in &base {
        out.insert(form.clone());
        let json = json_escaped(form);
        if json.contains('/') {
            out.insert(json.replace('/', "\\/"));
        }
        if !json.is_ascii() {
            // Serialisers that write ASCII only escape the rest as `\uXXXX`.
            out.insert(ascii_json(&json, true));
            out.insert(ascii_json(&json, false));
        }
        out.insert(json);
        for keep in KEEP_SETS {
            for space_plus in [true, false] {
                for upper in [true, false] {
                    out.insert(percent_encoded(form, keep, space_plus, upper));
                }
            }
        }
    }
    out
}

/// `s` as it appears inside a JSON string (serde_json's escaping, quotes removed).
pub fn json_escaped(s: &str) -> String {
    let quoted = serde_json::Value::String(s.to_string()).to_string();
    quoted[1..quoted.len() - 1].to_string()
}

/// `json` (already JSON-escaped) with every non-ASCII character as `\uXXXX` (UTF-16,
/// so a surrogate pair past U+FFFF), in upper or lower hex.
pub fn ascii_json(json: &str, upper: bool) -> String {
    let mut out = String::with_capacity(json.len() * 2);
    for c in json.chars() {
        if c.is_ascii() {
            out.push(c);
            continue;
        }
        let mut units = [0u16; 2];
        for u in c.encode_utf16(&mut units) {
            if upper {
                out.push_str(&format!("\\u{u:04X}"));
            } else {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    out
}

/// `s` percent-encoded: letters, digits and `keep` stay; a space is `+` when
/// `space_plus`; every other byte is `%XX` in upper or lower hex.
pub fn percent_encoded(s: &str, keep: &[u8], space_plus: bool, upper: bool) -> String {
    const UPPER: &[u8; 16] = b"0123456789ABCDEF";
    const LOWER: &[u8; 16] = b"0123456789abcdef";
    let hex = if upper { UPPER } else { LOWER };
    let mut out = String::with_capacity(s.len() * 3);
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || keep.contains(&b) {
            out.push(char::from(b));
        } else if b == b' ' && space_plus {
            out.push('+');
        } else {
            out.push('%');
            out.push(char::from(hex[usize::from(b >> 4)]));
            out.push(char::from(hex[usize::from(b & 0xf)]));
        }
    }
    out
}
