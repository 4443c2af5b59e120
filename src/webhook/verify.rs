//! Checks a delivery the way a Standard Webhooks receiver does: the three
//! headers present, `webhook-timestamp` within 5 minutes of now (either way),
//! and one of the space-separated `v1,` signatures matching the HMAC of
//! `<id>.<timestamp>.<raw body>`. Also reads deliveries as saved by a receiver:
//! headers as `Name: value` lines or a JSON object, or a whole raw HTTP request.

use std::collections::HashMap;

use super::WebhookSecret;

/// How far `webhook-timestamp` may be from now, either way, in seconds.
pub const TOLERANCE_SECS: i64 = 5 * 60;

/// Why a delivery does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// A required header is missing.
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    /// `webhook-timestamp` is not Unix seconds.
    #[error("webhook-timestamp is not a Unix time in seconds")]
    BadTimestamp,
    /// The timestamp is more than 5 minutes old (a replay, or a slow queue).
    #[error("webhook-timestamp is {0} s old (more than 5 minutes)")]
    TooOld(i64),
    /// The timestamp is more than 5 minutes ahead (a wrong clock).
    #[error("webhook-timestamp is {0} s in the future (more than 5 minutes)")]
    TooNew(i64),
    /// No `v1,` signature matches (wrong secret, or altered id, timestamp or body).
    #[error("no matching signature (wrong secret, or the id, timestamp or body was altered)")]
    NoMatchingSignature,
}

/// Headers by lower-case name.
pub type Headers = HashMap<String, String>;

/// Verifies a delivery at time `now` (Unix seconds); the delivery's id when valid.
pub fn verify(
    secret: &WebhookSecret,
    headers: &Headers,
    body: &[u8],
    now: i64,
) -> Result<String, VerifyError> {
    let get = |name: &'static str| {
        headers
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .ok_or(VerifyError::MissingHeader(name))
    };
    let id = get("webhook-id")?;
    let ts_raw = get("webhook-timestamp")?;
    let sig = get("webhook-signature")?;
    let ts: i64 = ts_raw.parse().map_err(|_| VerifyError::BadTimestamp)?;
    if now - ts > TOLERANCE_SECS {
        return Err(VerifyError::TooOld(now - ts));
    }
    if ts - now > TOLERANCE_SECS {
        return Err(VerifyError::TooNew(ts - now));
    }
    if !secret.matches(id, ts_raw, body, sig) {
        return Err(VerifyError::NoMatchingSignature);
    }
    Ok(id.to_string())
}

/// Why saved headers or a raw request could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Neither a JSON object of strings nor `Name: value` lines.
    #[error(
        "headers must be a JSON object of strings or `Name: value` lines (line {0} is neither)"
    )]
    Headers(usize),
    /// A raw request without the blank line that ends its headers.
    #[error("not an HTTP request: no blank line after the headers")]
    NoBody,
}

/// Reads headers saved as a JSON object (`{"webhook-id": "..."}`) or as
/// `Name: value` lines (an HTTP request line, if present, is skipped).
pub fn parse_headers(text: &str) -> Result<Headers, ParseError> {
    if text.trim_start().starts_with('{') {
        let map: HashMap<String, serde_json::Value> =
            serde_json::from_str(text).map_err(|_| ParseError::Headers(1))?;
        return map
            .into_iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => Ok((k.to_ascii_lowercase(), s)),
                serde_json::Value::Number(n) => Ok((k.to_ascii_lowercase(), n.to_string())),
                _ => Err(ParseError::Headers(1)),
            })
            .collect();
    }
    let mut out = Headers::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || (i == 0 && is_request_line(line)) {
            continue;
        }
        let (name, value) = line.split_once(':').ok_or(ParseError::Headers(i + 1))?;
        out.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
    }
    Ok(out)
}

fn is_request_line(line: &str) -> bool {
    line.contains(" HTTP/") && !line.contains(':')
        || line
            .split_whitespace()
            .last()
            .is_some_and(|w| w.starts_with("HTTP/"))
}

/// Splits a raw HTTP request (request line, headers, blank line, body) into its
/// headers and its body, byte for byte.
pub fn parse_request(raw: &[u8]) -> Result<(Headers, Vec<u8>), ParseError> {
    let (head_end, body_start) = match find(raw, b"\r\n\r\n") {
        Some(i) => (i, i + 4),
        None => find(raw, b"\n\n")
            .map(|i| (i, i + 2))
            .ok_or(ParseError::NoBody)?,
    };
    let head = String::from_utf8_lossy(&raw[..head_end]);
    Ok((parse_headers(&head)?, raw[body_start..].to_vec()))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    fn delivery(now: i64) -> (Headers, Vec<u8>) {
        let s = WebhookSecret::parse(SECRET).unwrap();
        let body = br#"{"type":"user.created"}"#.to_vec();
        let h = Headers::from([
            ("webhook-id".into(), "msg_1".into()),
            ("webhook-timestamp".into(), now.to_string()),
            ("webhook-signature".into(), s.sign("msg_1", now, &body)),
        ]);
        (h, body)
    }

    #[test]
    fn accepts_a_good_delivery_and_rejects_each_alteration() {
        let s = WebhookSecret::parse(SECRET).unwrap();
        let now = 1_790_000_000;
        let (h, body) = delivery(now);
        assert_eq!(verify(&s, &h, &body, now), Ok("msg_1".into()));
        assert_eq!(verify(&s, &h, &body, now + 300), Ok("msg_1".into()));
        assert_eq!(
            verify(&s, &h, &body, now + 301),
            Err(VerifyError::TooOld(301))
        );
        assert_eq!(
            verify(&s, &h, &body, now - 301),
            Err(VerifyError::TooNew(301))
        );
        let tampered = br#"{"type":"user.failed"}"#;
        assert_eq!(
            verify(&s, &h, tampered, now),
            Err(VerifyError::NoMatchingSignature)
        );
        let other = WebhookSecret::parse("whsec_c2Vjb25kLXNlY3JldC1rZXk=").unwrap();
        assert_eq!(
            verify(&other, &h, &body, now),
            Err(VerifyError::NoMatchingSignature)
        );
        let mut no_sig = h.clone();
        no_sig.remove("webhook-signature");
        assert_eq!(
            verify(&s, &no_sig, &body, now),
            Err(VerifyError::MissingHeader("webhook-signature"))
        );
    }

    #[test]
    fn reads_header_lines_json_and_raw_requests() {
        let lines =
            parse_headers("POST /hook HTTP/1.1\r\nWebhook-Id: msg_1\r\nwebhook-timestamp: 5\r\n")
                .unwrap();
        assert_eq!(lines["webhook-id"], "msg_1");
        assert_eq!(lines["webhook-timestamp"], "5");
        let json = parse_headers(r#"{"Webhook-Id":"msg_1","webhook-timestamp":5}"#).unwrap();
        assert_eq!(json["webhook-id"], "msg_1");
        assert_eq!(json["webhook-timestamp"], "5");
        assert_eq!(parse_headers("no colon here"), Err(ParseError::Headers(1)));
        let (h, body) =
            parse_request(b"POST /hook HTTP/1.1\r\nwebhook-id: msg_1\r\n\r\n{\"a\":1}\r\n")
                .unwrap();
        assert_eq!(h["webhook-id"], "msg_1");
        assert_eq!(body, b"{\"a\":1}\r\n");
        assert_eq!(parse_request(b"webhook-id: x"), Err(ParseError::NoBody));
    }
}
