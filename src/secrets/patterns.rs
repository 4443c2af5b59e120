//! The pattern rules of the redactor: masks what looks like a secret whatever its
//! value (bearer tokens and Basic credentials after their scheme, secret-looking
//! query, form or JSON parameters, URL passwords). Catches secrets nobody registered;
//! the registered values themselves are the job of the parent module.

use std::borrow::Cow;

/// Parameter names whose values are never written.
const SECRET_PARAMS: [&str; 6] = [
    "access_token",
    "client_secret",
    "password",
    "token",
    "refresh_token",
    "secret",
];

/// Returns `s` with secrets replaced by `***` (borrowed when there is nothing to hide).
pub fn redact(s: &str) -> Cow<'_, str> {
    let lower_needed = s.bytes().any(|b| b == b'=' || b == b':' || b == b' ');
    if !lower_needed {
        return Cow::Borrowed(s);
    }
    let lower = s.to_ascii_lowercase();
    let mut hide: Vec<(usize, usize)> = Vec::new();
    // `Bearer <token>` / `Basic <credentials>`.
    for scheme in ["bearer ", "basic "] {
        let mut from = 0;
        while let Some(i) = lower[from..].find(scheme) {
            let start = from + i + scheme.len();
            let end = token_end(s, start);
            if end > start {
                hide.push((start, end));
            }
            from = end.max(start);
        }
    }
    // `name=value` and `"name":"value"` for secret names.
    for name in SECRET_PARAMS {
        let mut from = 0;
        while let Some(i) = lower[from..].find(name) {
            let at = from + i;
            from = at + name.len();
            let before_ok = at == 0 || !is_word(lower.as_bytes()[at - 1]);
            if !before_ok {
                continue;
            }
            let rest = &s[from..];
            let skip = rest
                .bytes()
                .take_while(|b| matches!(b, b'"' | b'\'' | b' ' | b':' | b'='))
                .count();
            let sep = &rest[..skip];
            if !(sep.contains('=') || sep.contains(':')) {
                continue;
            }
            let start = from + skip;
            let end = token_end(s, start);
            if end > start {
                hide.push((start, end));
            }
        }
    }
    // `scheme://user:password@host`.
    if let Some(i) = s.find("://") {
        let start = i + 3;
        let end = token_end(s, start);
        if let Some(at) = s[start..end].rfind('@')
            && let Some(colon) = s[start..start + at].find(':')
        {
            hide.push((start + colon + 1, start + at));
        }
    }
    if hide.is_empty() {
        return Cow::Borrowed(s);
    }
    hide.sort_unstable();
    let mut out = String::with_capacity(s.len());
    let mut pos = 0;
    for (start, end) in hide {
        if start < pos {
            pos = pos.max(end);
            continue;
        }
        out.push_str(&s[pos..start]);
        out.push_str("***");
        pos = end;
    }
    out.push_str(&s[pos..]);
    Cow::Owned(out)
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// End of a token starting at `start`: up to whitespace, quote, `&`, `,` or `;`.
fn token_end(s: &str, start: usize) -> usize {
    s[start..]
        .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '&' | ',' | ';' | '}'))
        .map_or(s.len(), |i| start + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_tokens_and_secrets() {
        let cases = [
            (
                "Authorization: Bearer abc.def-ghi",
                "Authorization: Bearer ***",
            ),
            (
                "grant_type=client_credentials&client_secret=s3cr3t&x=1",
                "grant_type=client_credentials&client_secret=***&x=1",
            ),
            (
                r#"{"access_token":"tok123","expires_in":3600}"#,
                r#"{"access_token":"***","expires_in":3600}"#,
            ),
            ("https://me:pa55@host/x", "https://me:***@host/x"),
            ("Basic Y2xpZW50OnNlY3JldA==", "Basic ***"),
            ("password = hunter2", "password = ***"),
        ];
        for (input, want) in cases {
            assert_eq!(redact(input), want, "{input}");
        }
    }

    #[test]
    fn leaves_ordinary_text_alone() {
        for s in [
            "/api/v2/scim/v2/Users?filter=userName eq \"a@b.com\"",
            "userName already taken",
            "tokens=3",
            "HTTP 409: uniqueness",
        ] {
            assert!(matches!(redact(s), Cow::Borrowed(_)), "{s}");
        }
    }
}
