//! The façade every SCIM call goes through: `Api` holds the HTTP client, the token
//! cache, the shared limiter, the retry policy, the auth circuit, the counters and
//! the caller's `CallObserver`, and offers the typed calls the importer needs
//! (find/list/get/create/patch users, list/get/patch groups).
//!
//! Each attempt: circuit check → limiter slot → token → one HTTP exchange → steer
//! the limiter by the response headers → classify (done / retry / fail) → report
//! to the observer. A create whose earlier attempt may have landed (timeout,
//! dropped connection, 5xx) looks the user up before re-sending and adopts it, so
//! a user is never created twice. Decisions about what to send live in `plan`.

mod error;
mod stats;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;

pub use error::ApiError;
pub use stats::ApiStats;
use stats::Counters;

use crate::apply::limiter::Limiter;
use crate::apply::retry::{RetryPolicy, Verdict, classify_status};
use crate::cli::settings::Target;
use crate::scim::auth::{FetchHook, TokenCache, TokenFetch};
use crate::scim::client::{
    Method, RawResponse, Request, ScimClient, TransportError, build_http, etag_from_version,
    parse_error,
};
use crate::scim::filter;
use crate::scim::model::{Group, ListResponse, PatchOperation, PatchRequest, User};

/// How the façade paces and retries.
#[derive(Debug, Clone)]
pub struct ApiOptions {
    /// Calls per minute for the whole run; `None` = no pacing (`--rate off`).
    pub rate_per_min: Option<u32>,
    /// Calls in flight at most.
    pub concurrency: usize,
    /// Timeout of one attempt.
    pub timeout: Duration,
    /// Tries per call (first try included).
    pub max_attempts: u32,
    /// Retries allowed in the whole run.
    pub retry_budget: u32,
    /// First backoff step (doubles per retry, with jitter).
    pub backoff_base: Duration,
    /// Longest backoff step.
    pub backoff_cap: Duration,
    /// Consecutive authentication failures (401 after a refresh, 403) that open
    /// the circuit.
    pub circuit_threshold: u32,
}

impl Default for ApiOptions {
    fn default() -> Self {
        ApiOptions {
            rate_per_min: Some(300),
            concurrency: 8,
            timeout: Duration::from_secs(30),
            max_attempts: 5,
            retry_budget: 10_000,
            backoff_base: Duration::from_millis(250),
            backoff_cap: Duration::from_secs(30),
            circuit_threshold: 3,
        }
    }
}

/// Receives every attempt (the coordinator writes them to the audit log).
pub trait CallObserver: Send + Sync {
    /// Called once per attempt, after it ends.
    fn on_call(&self, call: &CallRecord);
}

/// An observer that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoObserver;

impl CallObserver for NoObserver {
    fn on_call(&self, _call: &CallRecord) {}
}

/// One attempt, as reported to the [`CallObserver`]. Never holds a token or secret.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRecord {
    /// Source row the call was made for, if any.
    pub row: Option<u64>,
    /// `GET`, `POST`, `PATCH`, `PUT` (`POST` for the token request).
    pub method: &'static str,
    /// Path under the SCIM prefix with the encoded query (`/users?filter=...`),
    /// or `/oauth/token`.
    pub path: String,
    /// HTTP status, if a response came back.
    pub status: Option<u16>,
    /// Duration of this attempt.
    pub latency_ms: f64,
    /// 1-based attempt number within the call.
    pub attempt: u32,
    /// `ok`, `retry` (another attempt follows) or `failed`.
    pub outcome: &'static str,
    /// The error, for `retry` and `failed`.
    pub error: Option<String>,
}

/// A resource with its version.
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned<T> {
    /// The resource as the server returned it.
    pub value: T,
    /// ETag ready for If-Match (the header, else `meta.version` quoted).
    pub etag: Option<String>,
    /// HTTP status of the final response (200 for a resource found by lookup).
    pub status: u16,
    /// Tries made by the final call.
    pub attempts: u32,
    /// Wall time of the whole call, retries and waits included.
    pub latency_ms: f64,
}

/// The result of [`Api::create_user`].
#[derive(Debug, Clone, PartialEq)]
pub struct Created {
    /// The user.
    pub user: Versioned<User>,
    /// True when an earlier attempt had created it and it was found and adopted.
    pub adopted: bool,
}

/// The SCIM client façade. Cheap to clone; all clones share one limiter, token
/// cache, budget and counters.
#[derive(Clone)]
pub struct Api {
    inner: Arc<Inner>,
}

struct Inner {
    client: ScimClient,
    tokens: TokenCache,
    limiter: Limiter,
    retry: RetryPolicy,
    observer: Arc<dyn CallObserver>,
    counters: Arc<Counters>,
    circuit: Circuit,
    timeout: Duration,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("tokens", &self.inner.tokens)
            .field("limiter", &self.inner.limiter)
            .finish_non_exhaustive()
    }
}

/// Keys a lost create is looked up by.
struct AdoptKeys<'a> {
    external_id: Option<&'a str>,
    user_name: Option<&'a str>,
}

enum Step {
    Done(RawResponse),
    Retry {
        err: ApiError,
        ambiguous: bool,
        hint: Option<Duration>,
        refresh: bool,
    },
    Fail(ApiError),
}

enum Executed {
    Response {
        resp: RawResponse,
        attempts: u32,
        latency_ms: f64,
    },
    Adopted(Box<Versioned<User>>),
}

impl Api {
    /// Builds the client for `target`. Installs the ring crypto provider if none is.
    pub fn new(
        target: &Target,
        opts: ApiOptions,
        observer: Arc<dyn CallObserver>,
    ) -> Result<Api, ApiError> {
        let http = build_http(opts.timeout, opts.concurrency).map_err(|e| ApiError::Setup {
            detail: format!("HTTP client: {e}"),
        })?;
        let counters = Arc::new(Counters::default());
        let hook: FetchHook = {
            let counters = counters.clone();
            let observer = observer.clone();
            Arc::new(move |f: &TokenFetch| {
                Counters::bump(&counters.token);
                observer.on_call(&CallRecord {
                    row: None,
                    method: "POST",
                    path: "/oauth/token".into(),
                    status: f.status,
                    latency_ms: f.latency.as_secs_f64() * 1000.0,
                    attempt: 1,
                    outcome: if f.error.is_none() { "ok" } else { "failed" },
                    error: f.error.as_ref().map(ToString::to_string),
                });
            })
        };
        Ok(Api {
            inner: Arc::new(Inner {
                client: ScimClient::new(http.clone(), &target.api_url),
                tokens: TokenCache::new(http, target, opts.timeout, Some(hook)),
                limiter: Limiter::new(opts.rate_per_min, opts.concurrency),
                retry: RetryPolicy::new(
                    opts.max_attempts,
                    opts.retry_budget,
                    opts.backoff_base,
                    opts.backoff_cap,
                ),
                observer,
                counters,
                circuit: Circuit::new(opts.circuit_threshold),
                timeout: opts.timeout,
            }),
        })
    }

    /// Users matching `filter` (one GET `/users?filter=`; build filters with
    /// `scim::filter`). Inactive users match too.
    pub async fn find_users(&self, row: Option<u64>, filter: &str) -> Result<Vec<User>, ApiError> {
        let req = Request::get("/users", vec![("filter", filter.to_string())]);
        let (resp, _, _) = self.execute_plain(row, &req).await?;
        let list: ListResponse<User> = decode(&resp)?;
        Ok(list.resources)
    }

    /// One page of users: `start` is 1-based; keep `count` ≤ 25 unless
    /// `attributes` trims the page (Genesys may 429 larger pages).
    pub async fn list_users(
        &self,
        start: u64,
        count: u64,
        attributes: Option<&str>,
        filter: Option<&str>,
    ) -> Result<ListResponse<User>, ApiError> {
        let mut query = vec![
            ("startIndex", start.max(1).to_string()),
            ("count", count.to_string()),
        ];
        if let Some(a) = attributes {
            query.push(("attributes", a.to_string()));
        }
        if let Some(f) = filter {
            query.push(("filter", f.to_string()));
        }
        let (resp, _, _) = self
            .execute_plain(None, &Request::get("/users", query))
            .await?;
        decode(&resp)
    }

    /// GET one user by id.
    pub async fn get_user(&self, row: Option<u64>, id: &str) -> Result<Versioned<User>, ApiError> {
        let req = Request::get(format!("/users/{}", encode_segment(id)), Vec::new());
        let (resp, attempts, ms) = self.execute_plain(row, &req).await?;
        versioned(resp, attempts, ms)
    }

    /// POST a new user. When an attempt's outcome is unknown (timeout, dropped
    /// connection, 5xx) the next attempt first looks the user up (externalId, or
    /// userName when there is no externalId) and adopts it if it is there; a 409
    /// uniqueness on a retried POST is resolved the same way when the existing
    /// user's externalId matches. Never sends a second POST for a user that exists.
    pub async fn create_user(&self, row: Option<u64>, user: &User) -> Result<Created, ApiError> {
        let req = Request::with_json(Method::Post, "/users", user, None).map_err(|e| {
            ApiError::Setup {
                detail: format!("serialising the user: {e}"),
            }
        })?;
        let keys = AdoptKeys {
            external_id: user.external_id.as_deref(),
            user_name: user.user_name.as_deref(),
        };
        match self.execute(row, &req, Some(&keys)).await? {
            Executed::Response {
                resp,
                attempts,
                latency_ms,
            } => Ok(Created {
                user: versioned(resp, attempts, latency_ms)?,
                adopted: false,
            }),
            Executed::Adopted(user) => {
                Counters::bump(&self.inner.counters.adopted);
                Ok(Created {
                    user: *user,
                    adopted: true,
                })
            }
        }
    }

    /// PATCH a user with `ops` (one request), guarded by `if_match` when given.
    pub async fn patch_user(
        &self,
        row: Option<u64>,
        id: &str,
        ops: Vec<PatchOperation>,
        if_match: Option<&str>,
    ) -> Result<Versioned<User>, ApiError> {
        let path = format!("/users/{}", encode_segment(id));
        self.patch(row, path, ops, if_match).await
    }

    /// One page of groups (`start` 1-based), optionally filtered (`displayName eq`).
    pub async fn list_groups(
        &self,
        start: u64,
        count: u64,
        filter: Option<&str>,
    ) -> Result<ListResponse<Group>, ApiError> {
        let mut query = vec![
            ("startIndex", start.max(1).to_string()),
            ("count", count.to_string()),
        ];
        if let Some(f) = filter {
            query.push(("filter", f.to_string()));
        }
        let (resp, _, _) = self
            .execute_plain(None, &Request::get("/groups", query))
            .await?;
        decode(&resp)
    }

    /// GET one group by id.
    pub async fn get_group(
        &self,
        row: Option<u64>,
        id: &str,
    ) -> Result<Versioned<Group>, ApiError> {
        let req = Request::get(format!("/groups/{}", encode_segment(id)), Vec::new());
        let (resp, attempts, ms) = self.execute_plain(row, &req).await?;
        versioned(resp, attempts, ms)
    }

    /// PATCH a group (membership add/remove), guarded by `if_match` when given.
    pub async fn patch_group(
        &self,
        row: Option<u64>,
        id: &str,
        ops: Vec<PatchOperation>,
        if_match: Option<&str>,
    ) -> Result<Versioned<Group>, ApiError> {
        let path = format!("/groups/{}", encode_segment(id));
        self.patch(row, path, ops, if_match).await
    }

    /// A snapshot of the counters, latency percentiles and the current pace.
    pub fn stats(&self) -> ApiStats {
        let mut s = self.inner.counters.snapshot();
        s.current_rate = self.inner.limiter.current_rate();
        s.pauses = self.inner.limiter.pauses();
        s.circuit_open = self.inner.circuit.reason().is_some();
        s
    }

    /// The shared limiter (for progress display).
    pub fn limiter(&self) -> &Limiter {
        &self.inner.limiter
    }

    async fn patch<T: DeserializeOwned + Default + HasVersion>(
        &self,
        row: Option<u64>,
        path: String,
        ops: Vec<PatchOperation>,
        if_match: Option<&str>,
    ) -> Result<Versioned<T>, ApiError> {
        let req = Request::with_json(Method::Patch, path, &PatchRequest::new(ops), if_match)
            .map_err(|e| ApiError::Setup {
                detail: format!("serialising the patch: {e}"),
            })?;
        let (resp, attempts, ms) = self.execute_plain(row, &req).await?;
        versioned(resp, attempts, ms)
    }

    async fn execute_plain(
        &self,
        row: Option<u64>,
        req: &Request,
    ) -> Result<(RawResponse, u32, f64), ApiError> {
        match self.execute(row, req, None).await? {
            Executed::Response {
                resp,
                attempts,
                latency_ms,
            } => Ok((resp, attempts, latency_ms)),
            Executed::Adopted(_) => unreachable!("adoption needs adopt keys"),
        }
    }

    /// The retry loop around [`Api::attempt`].
    async fn execute(
        &self,
        row: Option<u64>,
        req: &Request,
        adopt: Option<&AdoptKeys<'_>>,
    ) -> Result<Executed, ApiError> {
        let inner = &self.inner;
        let t0 = Instant::now();
        let mut attempts = 0u32;
        let mut refreshed = false;
        let mut maybe_landed = false;
        loop {
            if maybe_landed && let Some(keys) = adopt {
                if let Some(found) = Box::pin(self.find_adoptable(row, keys)).await? {
                    return Ok(Executed::Adopted(Box::new(found)));
                }
                maybe_landed = false;
            }
            attempts += 1;
            let (step, status, ms) = self.attempt(req, refreshed).await;
            let report = |outcome: &'static str, error: Option<String>| {
                if status.is_some() || ms > 0.0 {
                    inner.observer.on_call(&CallRecord {
                        row,
                        method: req.method.as_str(),
                        path: req.display_path(),
                        status,
                        latency_ms: ms,
                        attempt: attempts,
                        outcome,
                        error,
                    });
                }
            };
            match step {
                Step::Done(resp) => {
                    report("ok", None);
                    return Ok(Executed::Response {
                        resp,
                        attempts,
                        latency_ms: t0.elapsed().as_secs_f64() * 1000.0,
                    });
                }
                Step::Fail(err) => {
                    report("failed", Some(err.to_string()));
                    if attempts > 1
                        && err.is_uniqueness()
                        && let Some(keys) = adopt
                        && let Some(found) = Box::pin(self.find_adoptable(row, keys)).await?
                    {
                        return Ok(Executed::Adopted(Box::new(found)));
                    }
                    Counters::bump(&inner.counters.failed);
                    return Err(err.set_attempts(attempts));
                }
                Step::Retry {
                    err,
                    ambiguous,
                    hint,
                    refresh,
                } => {
                    let allowed = if refresh && !refreshed {
                        refreshed = true;
                        true
                    } else {
                        inner.retry.allow(attempts)
                    };
                    if !allowed {
                        report("failed", Some(err.to_string()));
                        Counters::bump(&inner.counters.failed);
                        return Err(err.set_attempts(attempts));
                    }
                    report("retry", Some(err.to_string()));
                    Counters::bump(&inner.counters.retries);
                    maybe_landed |= ambiguous && req.method == Method::Post;
                    if !refresh {
                        let d = inner.retry.delay(attempts, hint);
                        if !d.is_zero() {
                            tokio::time::sleep(d).await;
                        }
                    }
                }
            }
        }
    }

    /// One try: returns the step, the status if any, and the exchange's latency
    /// (0 when nothing was sent).
    async fn attempt(&self, req: &Request, refreshed: bool) -> (Step, Option<u16>, f64) {
        let inner = &self.inner;
        if let Some(reason) = inner.circuit.reason() {
            return (Step::Fail(ApiError::CircuitOpen { reason }), None, 0.0);
        }
        let _slot = inner.limiter.acquire().await;
        if let Some(reason) = inner.circuit.reason() {
            return (Step::Fail(ApiError::CircuitOpen { reason }), None, 0.0);
        }
        let token = match inner.tokens.get().await {
            Ok(t) => t,
            Err(e) if e.is_transient() => {
                let err = ApiError::Auth {
                    source: e,
                    attempts: 0,
                };
                let step = Step::Retry {
                    err,
                    ambiguous: false,
                    hint: None,
                    refresh: false,
                };
                return (step, None, 0.0);
            }
            Err(e) => {
                inner
                    .circuit
                    .trip(format!("the token endpoint refused the credentials: {e}"));
                let err = ApiError::Auth {
                    source: e,
                    attempts: 0,
                };
                return (Step::Fail(err), None, 0.0);
            }
        };
        let start = Instant::now();
        let result = inner.client.send(req, &token.bearer(), inner.timeout).await;
        let ms = start.elapsed().as_secs_f64() * 1000.0;
        inner.counters.count_method(req.method.as_str());
        inner.counters.latency(ms);
        let resp = match result {
            Ok(resp) => resp,
            Err(e) => {
                let err = match e {
                    TransportError::Timeout => ApiError::Timeout { attempts: 0 },
                    TransportError::Connection { detail } => ApiError::Connection {
                        attempts: 0,
                        detail,
                    },
                };
                let step = Step::Retry {
                    err,
                    ambiguous: true,
                    hint: None,
                    refresh: false,
                };
                return (step, None, ms);
            }
        };
        inner.limiter.observe(&resp.rate);
        let status = resp.status;
        let step = match status {
            200..=299 | 304 => {
                inner.circuit.success();
                Step::Done(resp)
            }
            401 => {
                inner.tokens.invalidate(token.generation);
                let err = http_error(&resp);
                if refreshed {
                    inner.circuit.auth_failure("401 after a token refresh");
                    Step::Fail(err)
                } else {
                    Step::Retry {
                        err,
                        ambiguous: false,
                        hint: None,
                        refresh: true,
                    }
                }
            }
            403 => {
                inner.circuit.auth_failure("403 forbidden");
                Step::Fail(http_error(&resp))
            }
            _ => match classify_status(status) {
                Verdict::Retry { ambiguous } => {
                    let hint = if status == 429 {
                        Counters::bump(&inner.counters.status_429);
                        let wait = resp
                            .retry_after
                            .or(resp.rate.reset)
                            .unwrap_or(Duration::from_secs(1));
                        inner.limiter.pause_for(wait);
                        // The shared gate does the waiting.
                        Some(Duration::ZERO)
                    } else {
                        resp.retry_after
                    };
                    Step::Retry {
                        err: http_error(&resp),
                        ambiguous,
                        hint,
                        refresh: false,
                    }
                }
                Verdict::Fail => Step::Fail(http_error(&resp)),
            },
        };
        (redact(step, token.expose()), Some(status), ms)
    }

    /// Looks for the user a lost POST may have created.
    async fn find_adoptable(
        &self,
        row: Option<u64>,
        keys: &AdoptKeys<'_>,
    ) -> Result<Option<Versioned<User>>, ApiError> {
        let found = if let Some(ext) = keys.external_id {
            self.find_users(row, &filter::eq("externalId", ext))
                .await?
                .into_iter()
                .find(|u| u.external_id.as_deref() == Some(ext))
        } else if let Some(name) = keys.user_name {
            self.find_users(row, &filter::eq("userName", name))
                .await?
                .into_iter()
                .find(|u| {
                    u.user_name
                        .as_deref()
                        .is_some_and(|n| n.eq_ignore_ascii_case(name))
                })
        } else {
            None
        };
        Ok(found.map(|u| {
            let etag = u
                .meta
                .as_ref()
                .and_then(|m| m.version.as_deref())
                .map(etag_from_version);
            Versioned {
                value: u,
                etag,
                status: 200,
                attempts: 1,
                latency_ms: 0.0,
            }
        }))
    }
}

/// Consecutive authentication failures; open means every call fails fast.
struct Circuit {
    threshold: u32,
    consecutive: AtomicU32,
    open: parking_lot::Mutex<Option<String>>,
}

impl Circuit {
    fn new(threshold: u32) -> Circuit {
        Circuit {
            threshold: threshold.max(1),
            consecutive: AtomicU32::new(0),
            open: parking_lot::Mutex::new(None),
        }
    }

    fn reason(&self) -> Option<String> {
        self.open.lock().clone()
    }

    fn success(&self) {
        self.consecutive.store(0, Ordering::Relaxed);
    }

    fn auth_failure(&self, what: &str) {
        let n = self.consecutive.fetch_add(1, Ordering::Relaxed) + 1;
        if n >= self.threshold {
            self.trip(format!(
                "{n} consecutive authentication failures, last: {what}"
            ));
        }
    }

    fn trip(&self, reason: String) {
        let mut open = self.open.lock();
        if open.is_none() {
            *open = Some(reason);
        }
    }
}

/// Scrubs the bearer token from a server-supplied error detail (a server that
/// echoes request headers must not get the token into the audit log).
fn redact(step: Step, token: &str) -> Step {
    let scrub = |err: ApiError| match err {
        ApiError::Http {
            status,
            scim_type,
            code,
            detail,
            attempts,
        } if !token.is_empty() && detail.contains(token) => ApiError::Http {
            status,
            scim_type,
            code,
            detail: detail.replace(token, "[REDACTED]"),
            attempts,
        },
        other => other,
    };
    match step {
        Step::Fail(e) => Step::Fail(scrub(e)),
        Step::Retry {
            err,
            ambiguous,
            hint,
            refresh,
        } => Step::Retry {
            err: scrub(err),
            ambiguous,
            hint,
            refresh,
        },
        done => done,
    }
}

fn http_error(resp: &RawResponse) -> ApiError {
    let d = parse_error(resp.status, &resp.body);
    ApiError::Http {
        status: resp.status,
        scim_type: d.scim_type,
        code: d.code,
        detail: d.detail,
        attempts: 0,
    }
}

fn decode<T: DeserializeOwned>(resp: &RawResponse) -> Result<T, ApiError> {
    serde_json::from_slice(&resp.body).map_err(|e| ApiError::Decode {
        status: resp.status,
        detail: e.to_string(),
    })
}

fn versioned<T: DeserializeOwned + Default + HasVersion>(
    resp: RawResponse,
    attempts: u32,
    latency_ms: f64,
) -> Result<Versioned<T>, ApiError> {
    let value: T = if resp.body.iter().all(u8::is_ascii_whitespace) {
        T::default()
    } else {
        decode(&resp)?
    };
    let etag = resp
        .etag
        .clone()
        .or_else(|| value.version().map(etag_from_version));
    Ok(Versioned {
        value,
        etag,
        status: resp.status,
        attempts,
        latency_ms,
    })
}

/// Resources carrying `meta.version`.
trait HasVersion {
    fn version(&self) -> Option<&str>;
}

impl HasVersion for User {
    fn version(&self) -> Option<&str> {
        self.meta.as_ref().and_then(|m| m.version.as_deref())
    }
}

impl HasVersion for Group {
    fn version(&self) -> Option<&str> {
        self.meta.as_ref().and_then(|m| m.version.as_deref())
    }
}

/// Percent-encodes an id for use as one path segment.
fn encode_segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests;
