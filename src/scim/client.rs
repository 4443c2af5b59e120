//! One HTTP exchange with the SCIM API: builds the request (URL under the SCIM
//! base: `/api/v2/scim/v2` for Genesys, the API URL itself for a generic server; bearer, If-Match, SCIM content type), sends it once with a
//! timeout, and returns the raw response with the headers the caller steers by
//! (ETag, Retry-After, `inin-ratelimit-*`). Also parses both Genesys error shapes.
//!
//! No retries, no limiter, no token handling: that is `apply::api`. The bearer is
//! passed in per call and never stored or logged here.

use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{self, HeaderMap};

use crate::scim::auth::WithoutUrl;
use crate::scim::body::{BodyError, MAX_BODY_BYTES, read_capped, too_large_message};
use crate::scim::model::{PlatformError, ScimError};

pub use crate::scim::target::SCIM_PREFIX;

/// The content type the client sends.
pub const SCIM_JSON: &str = "application/scim+json";

/// HTTP methods the client uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET.
    Get,
    /// POST.
    Post,
    /// PATCH.
    Patch,
    /// PUT.
    Put,
}

impl Method {
    /// The upper-case name (`GET`, ...), as used in stats and the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
            Method::Put => "PUT",
        }
    }

    fn to_reqwest(self) -> reqwest::Method {
        match self {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Patch => reqwest::Method::PATCH,
            Method::Put => reqwest::Method::PUT,
        }
    }
}

/// A request, built once and re-sent as is on retries.
#[derive(Debug, Clone)]
pub struct Request {
    /// Method.
    pub method: Method,
    /// Path under the SCIM prefix, e.g. `/users/ID`.
    pub path: String,
    /// Query parameters (values unencoded).
    pub query: Vec<(&'static str, String)>,
    /// JSON body, already serialised.
    pub body: Option<Bytes>,
    /// ETag for If-Match.
    pub if_match: Option<String>,
    /// A Genesys platform path (`/api/v2/routing/skills`): under the API URL,
    /// not under the SCIM prefix.
    pub platform: bool,
}

impl Request {
    /// A GET of `path` with `query`.
    pub fn get(path: impl Into<String>, query: Vec<(&'static str, String)>) -> Request {
        Request {
            method: Method::Get,
            path: path.into(),
            query,
            body: None,
            if_match: None,
            platform: false,
        }
    }

    /// A GET of a Genesys platform `path` (`/api/v2/...`, under the API URL).
    pub fn platform_get(path: impl Into<String>, query: Vec<(&'static str, String)>) -> Request {
        Request {
            platform: true,
            ..Request::get(path, query)
        }
    }

    /// A request with a JSON body.
    pub fn with_json<T: serde::Serialize>(
        method: Method,
        path: impl Into<String>,
        body: &T,
        if_match: Option<&str>,
    ) -> Result<Request, serde_json::Error> {
        Ok(Request {
            method,
            path: path.into(),
            query: Vec::new(),
            body: Some(Bytes::from(serde_json::to_vec(body)?)),
            if_match: if_match.map(str::to_string),
            platform: false,
        })
    }

    /// Path and encoded query as shown in the audit log (`/users?filter=...`).
    /// Holds no secret: credentials travel only in headers.
    pub fn display_path(&self) -> String {
        if self.query.is_empty() {
            return self.path.clone();
        }
        let mut ser = url_encoded(&self.query);
        ser.insert(0, '?');
        format!("{}{}", self.path, ser)
    }
}

fn url_encoded(query: &[(&'static str, String)]) -> String {
    let mut url = reqwest::Url::parse("http://x/").expect("static URL parses");
    url.query_pairs_mut().extend_pairs(query.iter());
    url.query().unwrap_or_default().to_string()
}

/// The server's rate-limit headers (`inin-ratelimit-*`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateHeaders {
    /// `inin-ratelimit-allowed`: the limit.
    pub allowed: Option<u32>,
    /// `inin-ratelimit-count`: used in the current window.
    pub count: Option<u32>,
    /// `inin-ratelimit-reset`: seconds until the window resets.
    pub reset: Option<Duration>,
}

/// A response as received.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// HTTP status.
    pub status: u16,
    /// `ETag` header, verbatim.
    pub etag: Option<String>,
    /// `Retry-After`, in seconds.
    pub retry_after: Option<Duration>,
    /// Rate-limit headers.
    pub rate: RateHeaders,
    /// The body.
    pub body: Bytes,
}

/// A failure below HTTP: nothing (complete) came back.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TransportError {
    /// No response within the timeout.
    #[error("timed out")]
    Timeout,
    /// Connect failure, reset, or the connection closed before a full response.
    #[error("connection failed: {detail}")]
    Connection {
        /// Detail without the URL.
        detail: String,
    },
    /// The body is longer than the cap ([`MAX_BODY_BYTES`]); it was not read.
    #[error("{}", too_large_message(*limit))]
    BodyTooLarge {
        /// HTTP status of the answer.
        status: u16,
        /// The cap in bytes.
        limit: usize,
    },
}

/// The HTTP client could not be built (no TLS backend, bad system configuration).
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot build the HTTP client: {reason}")]
pub struct BuildError {
    /// reqwest's reason, without any URL.
    pub reason: String,
}

/// The HTTP client every call uses: ring crypto provider installed (once per
/// process), TLS verification on, no redirects (a redirect could carry the bearer
/// elsewhere), Nagle off, `idle_per_host` pooled connections.
pub fn build_http(
    connect_timeout: Duration,
    idle_per_host: usize,
) -> Result<reqwest::Client, BuildError> {
    // Already installed (by us or the embedding program) is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .tcp_nodelay(true)
        .pool_max_idle_per_host(idle_per_host.max(1))
        .connect_timeout(connect_timeout)
        .build()
        .map_err(|e| BuildError {
            reason: e.without_url_string(),
        })
}

/// The SCIM API endpoint: a reqwest client and the base URL.
#[derive(Debug, Clone)]
pub struct ScimClient {
    http: reqwest::Client,
    base: String,
    /// The most bytes read from one answer.
    max_body: usize,
}

impl ScimClient {
    /// A client for `api_url` (e.g. `https://api.mypurecloud.ie`).
    pub fn new(http: reqwest::Client, api_url: &str) -> ScimClient {
        ScimClient {
            http,
            base: format!("{}{}", api_url.trim_end_matches('/'), SCIM_PREFIX),
            max_body: MAX_BODY_BYTES,
        }
    }

    /// A client for a SCIM base URL as is (the one `/Users` hangs under; see
    /// `Target::scim_base`).
    pub fn with_base(http: reqwest::Client, scim_base: &str) -> ScimClient {
        ScimClient {
            http,
            base: scim_base.trim_end_matches('/').to_string(),
            max_body: MAX_BODY_BYTES,
        }
    }

    /// Reads at most `bytes` of an answer (default [`MAX_BODY_BYTES`]).
    pub fn with_max_body(mut self, bytes: usize) -> ScimClient {
        self.max_body = bytes;
        self
    }

    /// Sends `req` once with `bearer` (`Bearer ...`) and reads the whole body.
    pub async fn send(
        &self,
        req: &Request,
        bearer: &str,
        timeout: Duration,
    ) -> Result<RawResponse, TransportError> {
        let mut b = self
            .http
            .request(
                req.method.to_reqwest(),
                match req.platform {
                    // The SCIM base is `<api>/api/v2/scim/v2` for Genesys.
                    true => format!(
                        "{}{}",
                        self.base.strip_suffix(SCIM_PREFIX).unwrap_or(&self.base),
                        req.path
                    ),
                    false => format!("{}{}", self.base, req.path),
                },
            )
            .header(header::AUTHORIZATION, bearer)
            .header(header::ACCEPT, "application/scim+json, application/json")
            .timeout(timeout);
        if !req.query.is_empty() {
            b = b.query(&req.query);
        }
        if let Some(tag) = &req.if_match {
            b = b.header(header::IF_MATCH, tag);
        }
        if let Some(body) = &req.body {
            b = b.header(header::CONTENT_TYPE, SCIM_JSON).body(body.clone());
        }
        let resp = b.send().await.map_err(|e| transport(&e))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = match read_capped(resp, self.max_body).await {
            Ok(b) => b,
            Err(BodyError::Transport(e)) => return Err(transport(&e)),
            Err(BodyError::TooLarge { limit }) => {
                return Err(TransportError::BodyTooLarge { status, limit });
            }
        };
        Ok(RawResponse {
            status,
            etag: header_str(&headers, header::ETAG.as_str()).map(str::to_string),
            retry_after: header_u64(&headers, header::RETRY_AFTER.as_str())
                .map(Duration::from_secs),
            rate: RateHeaders {
                allowed: header_u64(&headers, "inin-ratelimit-allowed").map(clamp_u32),
                count: header_u64(&headers, "inin-ratelimit-count").map(clamp_u32),
                reset: header_u64(&headers, "inin-ratelimit-reset").map(Duration::from_secs),
            },
            body,
        })
    }
}

fn transport(e: &reqwest::Error) -> TransportError {
    if e.is_timeout() {
        TransportError::Timeout
    } else {
        TransportError::Connection {
            detail: e.without_url_string(),
        }
    }
}

fn clamp_u32(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

fn header_str<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}

fn header_u64(h: &HeaderMap, name: &str) -> Option<u64> {
    let v = header_str(h, name)?;
    // Seconds may come as "2" or "2.5"; round fractions up.
    if let Ok(n) = v.parse::<u64>() {
        return Some(n);
    }
    v.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite() && *f >= 0.0)
        .map(|f| f.ceil() as u64)
}

/// What an error response said, from either Genesys shape.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorDetail {
    /// SCIM `scimType` (e.g. `uniqueness`, `invalidVers`).
    pub scim_type: Option<String>,
    /// Platform `code` (e.g. `not.found`).
    pub code: Option<String>,
    /// Human-readable text.
    pub detail: String,
}

/// Parses an error body: SCIM Error (string status, scimType, detail) or platform
/// ErrorBody (integer status, code, message); anything else becomes a short excerpt.
pub fn parse_error(status: u16, body: &[u8]) -> ErrorDetail {
    if let Ok(e) = serde_json::from_slice::<ScimError>(body) {
        return ErrorDetail {
            scim_type: e.scim_type,
            code: None,
            detail: e.detail.unwrap_or_else(|| format!("HTTP {status}")),
        };
    }
    if let Ok(e) = serde_json::from_slice::<PlatformError>(body)
        && (!e.code.is_empty() || !e.message.is_empty())
    {
        return ErrorDetail {
            scim_type: None,
            code: (!e.code.is_empty()).then_some(e.code),
            detail: if e.message.is_empty() {
                format!("HTTP {status}")
            } else {
                e.message
            },
        };
    }
    // Redacted before it is cut: a secret straddling the cut would leave its prefix.
    let text = crate::secrets::redact(&String::from_utf8_lossy(body)).into_owned();
    let excerpt: String = text.trim().chars().take(200).collect();
    ErrorDetail {
        scim_type: None,
        code: None,
        detail: if excerpt.is_empty() {
            format!("HTTP {status} with no body")
        } else {
            format!("HTTP {status}: {excerpt}")
        },
    }
}

/// An ETag ready for If-Match: the header as is, or `meta.version` quoted.
pub fn etag_from_version(version: &str) -> String {
    if version.starts_with('"') || version.starts_with("W/") {
        version.to_string()
    } else {
        format!("\"{version}\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_scim_error_shape() {
        let body = br#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"409","scimType":"uniqueness","detail":"userName taken"}"#;
        let d = parse_error(409, body);
        assert_eq!(d.scim_type.as_deref(), Some("uniqueness"));
        assert_eq!(d.detail, "userName taken");
        assert_eq!(d.code, None);
    }

    #[test]
    fn parses_platform_error_shape() {
        let body = br#"{"message":"User not found","code":"not.found","status":404,"messageWithParams":"","messageParams":{},"contextId":"c","details":[],"errors":[]}"#;
        let d = parse_error(404, body);
        assert_eq!(d.code.as_deref(), Some("not.found"));
        assert_eq!(d.detail, "User not found");
        assert_eq!(d.scim_type, None);
    }

    #[test]
    fn unknown_body_becomes_an_excerpt() {
        assert_eq!(parse_error(502, b"").detail, "HTTP 502 with no body");
        assert!(
            parse_error(502, b"<html>bad gateway</html>")
                .detail
                .contains("bad gateway")
        );
    }

    #[test]
    fn issue_14_a_secret_across_the_excerpts_cut_leaves_no_prefix() {
        let token = "client-unit-token-0123456789abcdef";
        crate::secrets::register(crate::secrets::SecretKind::BearerToken, token);
        let body = format!("{} you sent {token} and more", "x".repeat(180));
        let d = parse_error(500, body.as_bytes());
        assert!(!d.detail.contains("client-u"), "{}", d.detail);
        assert!(d.detail.ends_with("you sent *** and mo"), "{}", d.detail);
    }

    #[test]
    fn display_path_encodes_the_filter() {
        let r = Request::get("/users", vec![("filter", "userName eq \"a b\"".into())]);
        assert_eq!(r.display_path(), "/users?filter=userName+eq+%22a+b%22");
    }

    #[test]
    fn version_becomes_quoted_etag() {
        assert_eq!(etag_from_version("3"), "\"3\"");
        assert_eq!(etag_from_version("\"3\""), "\"3\"");
        assert_eq!(etag_from_version("W/\"3\""), "W/\"3\"");
    }
}
