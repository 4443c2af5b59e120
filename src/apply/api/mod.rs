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
//!
//! Every attempt also reports to the tenant breaker (`apply::breaker`): while it
//! is open no attempt starts, `probe` sends the GET that decides, and once the
//! run is stopped (breaker or Ctrl-C: [`Api::halt`]) calls end with
//! [`ApiError::Stopped`] instead of retrying or sleeping.

mod call;
mod created;
mod discover;
mod discovery;
mod error;
mod permission;
mod platform;
mod probe;
mod stats;

use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;

use call::{AdoptKeys, Circuit, Executed};
pub use discover::Endpoints;
pub use error::ApiError;
pub use platform::Paged;
pub use stats::ApiStats;
use stats::Counters;

use crate::apply::breaker::{Breaker, BreakerOptions};
use crate::apply::limiter::{Limiter, Pace};
use crate::apply::retry::RetryPolicy;
use crate::scim::auth::{FetchHook, TokenCache, TokenFetch};
use crate::scim::client::{
    Method, RawResponse, Request, ScimClient, build_http, etag_from_version,
};
use crate::scim::model::{Group, ListResponse, PatchOperation, PatchRequest, User};
use crate::scim::target::{Profile, Target};

/// How the façade paces and retries.
#[derive(Debug, Clone)]
pub struct ApiOptions {
    /// How the run is paced: off, at most an explicit rate, or following the
    /// tenant's `inin-ratelimit-allowed`.
    pub pace: Pace,
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
            pace: Pace::Adaptive { start: 300 },
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
    /// Called when every call is held for `wait` (`why`: a 429's Retry-After, or
    /// the tenant's rate window used up).
    fn on_pause(&self, _wait: Duration, _why: &str) {}
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
    /// The exchanges' own time, retried attempts included; time spent waiting for
    /// the limiter or between retries is not in it.
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
    breaker: Breaker,
    timeout: Duration,
    concurrency: usize,
    profile: Profile,
    endpoints: parking_lot::RwLock<Endpoints>,
    /// Held while missing groups are created, so two rows never create one twice.
    group_creation: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("tokens", &self.inner.tokens)
            .field("limiter", &self.inner.limiter)
            .finish_non_exhaustive()
    }
}

impl Api {
    /// Builds the client for `target`. Installs the ring crypto provider if none is.
    pub fn new(
        target: &Target,
        opts: ApiOptions,
        observer: Arc<dyn CallObserver>,
    ) -> Result<Api, ApiError> {
        let token_url = target.token_url();
        for (what, url) in [
            ("api", &target.api_url),
            ("login", &target.login_url),
            ("token", &token_url),
        ] {
            let parsed = reqwest::Url::parse(url).map_err(|e| ApiError::Setup {
                detail: format!("{what} URL `{url}`: {e}"),
            })?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(ApiError::Setup {
                    detail: format!("{what} URL `{url}`: the scheme must be https"),
                });
            }
        }
        let http = build_http(opts.timeout, opts.concurrency).map_err(|e| ApiError::Setup {
            detail: format!("HTTP client: {}", e.reason),
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
                client: ScimClient::with_base(http.clone(), &target.scim_base()),
                tokens: TokenCache::new(http, target, opts.timeout, Some(hook)),
                limiter: Limiter::new(opts.pace, opts.concurrency),
                retry: RetryPolicy::new(
                    opts.max_attempts,
                    opts.retry_budget,
                    opts.backoff_base,
                    opts.backoff_cap,
                ),
                observer,
                counters,
                circuit: Circuit::new(opts.circuit_threshold),
                breaker: Breaker::new(BreakerOptions::default()),
                timeout: opts.timeout,
                concurrency: opts.concurrency,
                profile: target.profile,
                endpoints: parking_lot::RwLock::new(Endpoints::for_profile(target.profile)),
                group_creation: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// Users matching `filter` (one GET `/users?filter=`; build filters with
    /// `scim::filter`). Inactive users match too.
    pub async fn find_users(&self, row: Option<u64>, filter: &str) -> Result<Vec<User>, ApiError> {
        let req = Request::get(self.users_path(), vec![("filter", filter.to_string())]);
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
            .execute_plain(None, &Request::get(self.users_path(), query))
            .await?;
        decode(&resp)
    }

    /// Every user matching `filter` (no filter: active users only, as Genesys
    /// lists them; pass `active eq false` for the inactive ones), in pages of
    /// `count`: the first page, then the rest concurrently under the shared
    /// limiter. Returns the users and the number of pages fetched.
    pub async fn list_all_users(
        &self,
        count: u64,
        attributes: Option<&str>,
        filter: Option<&str>,
    ) -> Result<(Vec<User>, u64), ApiError> {
        use futures::StreamExt;
        let count = count.max(1);
        let first = self.list_users(1, count, attributes, filter).await?;
        let total = first.total_results;
        let mut users = first.resources;
        let step = if first.items_per_page > 0 {
            first.items_per_page
        } else {
            count
        };
        let starts: Vec<u64> = (1..)
            .map(|k| 1 + k * step)
            .take_while(|s| *s <= total)
            .collect();
        let pages = 1 + starts.len() as u64;
        let mut rest = futures::stream::iter(starts)
            .map(|start| self.list_users(start, step, attributes, filter))
            .buffered(self.inner.concurrency.max(1));
        while let Some(page) = rest.next().await {
            users.extend(page?.resources);
        }
        Ok((users, pages))
    }

    /// GET one user by id.
    pub async fn get_user(&self, row: Option<u64>, id: &str) -> Result<Versioned<User>, ApiError> {
        let req = Request::get(
            format!("{}/{}", self.users_path(), encode_segment(id)),
            Vec::new(),
        );
        let (resp, attempts, ms) = self.execute_plain(row, &req).await?;
        versioned(resp, attempts, ms)
    }

    /// POST a new user. When an attempt's outcome is unknown (timeout, dropped
    /// connection, 5xx) the next attempt first looks the user up (externalId, or
    /// userName when there is no externalId) and adopts it if it is there; a 409
    /// uniqueness on a retried POST is resolved the same way when the existing
    /// user's externalId matches. Never sends a second POST for a user that exists.
    /// A 2xx whose body cannot be read (or has no `id`) is resolved by a lookup
    /// and the user adopted (issue 14).
    pub async fn create_user(&self, row: Option<u64>, user: &User) -> Result<Created, ApiError> {
        let req = Request::with_json(Method::Post, self.users_path(), user, None).map_err(|e| {
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
            } => {
                let status = resp.status;
                let why = match versioned::<User>(resp, attempts, latency_ms) {
                    Ok(v) if v.value.id.as_deref().is_some_and(|id| !id.is_empty()) => {
                        return Ok(Created {
                            user: v,
                            adopted: false,
                        });
                    }
                    Ok(_) => "it has no `id`".to_string(),
                    Err(e) => e.to_string(),
                };
                // The user exists: find it and adopt it rather than fail or re-POST.
                let got = created::Unreadable {
                    status,
                    attempts,
                    latency_ms,
                    why,
                };
                self.adopt_acknowledged(row, user, got).await
            }
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
        let path = format!("{}/{}", self.users_path(), encode_segment(id));
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
            .execute_plain(None, &Request::get(self.groups_path(), query))
            .await?;
        decode(&resp)
    }

    /// GET one group by id.
    pub async fn get_group(
        &self,
        row: Option<u64>,
        id: &str,
    ) -> Result<Versioned<Group>, ApiError> {
        let req = Request::get(
            format!("{}/{}", self.groups_path(), encode_segment(id)),
            Vec::new(),
        );
        let (resp, attempts, ms) = self.execute_plain(row, &req).await?;
        versioned(resp, attempts, ms)
    }

    /// POST a new group named `name` (generic profile, `--create-groups`; Genesys
    /// SCIM cannot create groups).
    pub async fn create_group(
        &self,
        row: Option<u64>,
        name: &str,
    ) -> Result<Versioned<Group>, ApiError> {
        let group = Group {
            schemas: vec![crate::scim::model::SCHEMA_GROUP.to_string()],
            display_name: Some(name.to_string()),
            ..Group::default()
        };
        let req =
            Request::with_json(Method::Post, self.groups_path(), &group, None).map_err(|e| {
                ApiError::Setup {
                    detail: format!("serialising the group: {e}"),
                }
            })?;
        let (resp, attempts, ms) = self.execute_plain(row, &req).await?;
        versioned(resp, attempts, ms)
    }

    /// The lock held while missing groups are created (see `apply::groups`).
    pub(crate) async fn group_creation(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.inner.group_creation.lock().await
    }

    /// PATCH a group (membership add/remove), guarded by `if_match` when given.
    pub async fn patch_group(
        &self,
        row: Option<u64>,
        id: &str,
        ops: Vec<PatchOperation>,
        if_match: Option<&str>,
    ) -> Result<Versioned<Group>, ApiError> {
        let path = format!("{}/{}", self.groups_path(), encode_segment(id));
        self.patch(row, path, ops, if_match).await
    }

    /// Gets a token now: a run's first contact with the tenant, so that refused
    /// credentials or an unreachable login service stop it before anything else.
    /// A transient failure is tried 3 times (0.5 s, then 1 s apart). A static
    /// bearer token needs no request.
    pub async fn authenticate(&self) -> Result<(), crate::scim::auth::AuthError> {
        let mut wait = std::time::Duration::from_millis(500);
        let mut attempt = 1;
        loop {
            match self.inner.tokens.get().await {
                Ok(_) => return Ok(()),
                Err(e) if e.is_transient() && attempt < 3 => {
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// A snapshot of the counters, latency percentiles and the current pace.
    pub fn stats(&self) -> ApiStats {
        let mut s = self.inner.counters.snapshot();
        s.current_rate = self.inner.limiter.current_rate();
        s.pauses = self.inner.limiter.pauses();
        s.circuit_open = self.inner.circuit.reason().is_some();
        s
    }

    /// Stops the run's calls (Ctrl-C, SIGTERM): no new attempt, retry or backoff
    /// starts; attempts already sent finish (bounded by the timeout). Final; the
    /// first reason wins.
    pub fn halt(&self, why: &str) {
        self.inner.breaker.halt(why.to_string());
    }

    /// Why the calls stopped (a halt, or the breaker gave up on the tenant).
    pub fn stop_reason(&self) -> Option<String> {
        self.inner.breaker.stop_reason()
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
