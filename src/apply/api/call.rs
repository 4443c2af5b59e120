//! One call's life: the retry loop (`execute`), one try (`attempt`: circuit,
//! limiter slot, token, exchange, classification), the look-up that adopts a
//! create an earlier try may have made, and the auth circuit. The typed calls in
//! `mod.rs` are thin wrappers over `execute`.
//!
//! The tenant breaker gates every try: none starts while it is open, and once the
//! run is stopped the loop ends with `ApiError::Stopped` instead of retrying or
//! sleeping. A call whose retries ran out on a transient failure waits for the
//! breaker's verdict, so a stopped run reports it `Stopped` (resumable).

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::permission::MissingPermissions;
use super::stats::Counters;
use super::{Api, ApiError, CallRecord, Versioned};
use crate::apply::breaker::{Cause, Class, Sample};
use crate::apply::retry::{Verdict, classify_status};
use crate::scim::client::{
    Method, RawResponse, Request, TransportError, etag_from_version, parse_error,
};
use crate::scim::filter;
use crate::scim::model::User;

/// Keys a lost create is looked up by.
pub(super) struct AdoptKeys<'a> {
    pub(super) external_id: Option<&'a str>,
    pub(super) user_name: Option<&'a str>,
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
    /// Nothing was sent: the breaker opened (or the run stopped) while this try
    /// waited for its slot; go back to the gate.
    Gated,
}

pub(super) enum Executed {
    Response {
        resp: RawResponse,
        attempts: u32,
        latency_ms: f64,
    },
    Adopted(Box<Versioned<User>>),
}

/// 429s one call may get in a row before the run stops (each one pauses every
/// worker for the tenant's Retry-After, at least a second).
pub(super) const MAX_THROTTLED: u32 = 200;

impl Api {
    pub(super) async fn execute_plain(
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

    /// The retry loop around [`Api::attempt`]. A 429 is retried after the
    /// limiter's shared pause without spending an attempt (up to
    /// [`MAX_THROTTLED`] in a row, then the run stops, resumable).
    pub(super) async fn execute(
        &self,
        row: Option<u64>,
        req: &Request,
        adopt: Option<&AdoptKeys<'_>>,
    ) -> Result<Executed, ApiError> {
        let inner = &self.inner;
        let mut attempts = 0u32;
        // 429s answered to this call: they spend no attempt (the limiter's pause
        // does the waiting for every worker), but a tenant that throttles one call
        // without end stops the run, resumable, rather than failing the row.
        let mut throttled = 0u32;
        let mut own_ms = 0.0f64;
        let mut refreshed = false;
        let mut maybe_landed = false;
        loop {
            if let Err(reason) = inner.breaker.admit().await {
                return Err(ApiError::Stopped { reason });
            }
            if maybe_landed && let Some(keys) = adopt {
                if let Some(found) = Box::pin(self.find_adoptable(row, keys)).await? {
                    return Ok(Executed::Adopted(Box::new(found)));
                }
                maybe_landed = false;
            }
            attempts += 1;
            let (step, status, ms) = self.attempt(req, refreshed).await;
            own_ms += ms;
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
                Step::Gated => {
                    attempts -= 1;
                    continue;
                }
                Step::Done(resp) => {
                    report("ok", None);
                    // The ledger counts every try, the 429s' included.
                    return Ok(Executed::Response {
                        resp,
                        attempts: attempts + throttled,
                        // The exchanges' own time: no wait for the limiter, no
                        // backoff (a row's `wait_ms` holds those).
                        latency_ms: own_ms,
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
                    return Err(err.set_attempts(attempts + throttled));
                }
                Step::Retry { err, .. } if status == Some(429) => {
                    throttled += 1;
                    if throttled > MAX_THROTTLED {
                        let reason = format!(
                            "the tenant answered 429 (too many requests) to one call {MAX_THROTTLED} \
                             times in a row, pausing as it asked each time; resume later or \
                             lower --rate"
                        );
                        report("failed", Some(err.to_string()));
                        inner.breaker.halt(reason.clone());
                        return Err(ApiError::Stopped { reason });
                    }
                    report("retry", Some(err.to_string()));
                    Counters::bump(&inner.counters.retries);
                    attempts -= 1;
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
                        // Out of retries on a sick tenant: if that tripped the
                        // breaker, its verdict decides between failed and stopped.
                        if err.is_transient()
                            && let Err(reason) = inner.breaker.admit().await
                        {
                            return Err(ApiError::Stopped { reason });
                        }
                        return Err(err.set_attempts(attempts + throttled));
                    }
                    report("retry", Some(err.to_string()));
                    Counters::bump(&inner.counters.retries);
                    maybe_landed |= ambiguous && req.method == Method::Post;
                    if !refresh {
                        let d = inner.retry.delay(attempts, hint);
                        if !d.is_zero() {
                            tokio::select! {
                                () = tokio::time::sleep(d) => {}
                                reason = inner.breaker.stopped() => {
                                    return Err(ApiError::Stopped { reason });
                                }
                            }
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
        // A stop must not wait for a slot (the limiter may be paused for a 429).
        let _slot = tokio::select! {
            slot = inner.limiter.acquire() => slot,
            _ = inner.breaker.stopped() => return (Step::Gated, None, 0.0),
        };
        if let Some(reason) = inner.circuit.reason() {
            return (Step::Fail(ApiError::CircuitOpen { reason }), None, 0.0);
        }
        if !inner.breaker.is_closed() {
            return (Step::Gated, None, 0.0);
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
        let sample = health(&result);
        let class = match req.method {
            Method::Get => Class::Read,
            _ => Class::Write,
        };
        if let Some(sample) = sample
            && inner.breaker.record(class, sample)
        {
            self.start_probing();
        }
        let resp = match result {
            Ok(resp) => resp,
            Err(e) => {
                let err = match e {
                    TransportError::BodyTooLarge { status, .. } => {
                        // Not retried: the same server would send the same flood.
                        let detail = e.to_string();
                        return (Step::Fail(ApiError::Decode { status, detail }), None, ms);
                    }
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
        if let Some(wait) = inner.limiter.observe(&resp.rate) {
            inner.observer.on_pause(
                wait,
                "the tenant's rate window is used up (inin-ratelimit-count reached allowed)",
            );
        }
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
            403 => match MissingPermissions::parse(&resp.body) {
                // Every call of this kind would be refused: stop now, naming it.
                Some(m) if m.every_call().is_some() => {
                    let reason = format!(
                        "{} (HTTP 403 on {} {}): every such call will be refused; grant it \
                         to the OAuth client's role",
                        m.describe(),
                        req.method.as_str(),
                        req.display_path()
                    );
                    inner.circuit.trip(reason.clone());
                    Step::Fail(ApiError::CircuitOpen { reason })
                }
                // Only rows that assign what the permission guards fail; not an auth
                // failure, so the circuit is not counted.
                Some(m) => Step::Fail(named(http_error(&resp), &m)),
                None => {
                    inner.circuit.auth_failure("403 forbidden");
                    Step::Fail(http_error(&resp))
                }
            },
            _ => match classify_status(status) {
                Verdict::Retry { ambiguous } => {
                    let hint = if status == 429 {
                        Counters::bump(&inner.counters.status_429);
                        let wait = resp
                            .retry_after
                            .or(resp.rate.reset)
                            .unwrap_or(Duration::from_secs(1));
                        if inner.limiter.pause_for(wait) {
                            inner.observer.on_pause(wait, "429 Retry-After");
                        }
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
        (step, Some(status), ms)
    }

    /// Looks for the user a lost POST may have created.
    pub(super) async fn find_adoptable(
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
pub(super) struct Circuit {
    threshold: u32,
    consecutive: AtomicU32,
    open: parking_lot::Mutex<Option<String>>,
}

impl Circuit {
    pub(super) fn new(threshold: u32) -> Circuit {
        Circuit {
            threshold: threshold.max(1),
            consecutive: AtomicU32::new(0),
            open: parking_lot::Mutex::new(None),
        }
    }

    pub(super) fn reason(&self) -> Option<String> {
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

/// What one exchange says about the tenant's health, for the breaker and its probe;
/// `None` for a 429, which says nothing about it (the limiter handles it).
pub(super) fn health(result: &Result<RawResponse, TransportError>) -> Option<Sample> {
    match result {
        Ok(r) if r.status == 429 => None,
        Ok(r) if r.status >= 500 => Some(Sample::Failed(Cause::ServerError)),
        Ok(_) => Some(Sample::Answered),
        Err(TransportError::Timeout) => Some(Sample::Failed(Cause::Timeout)),
        Err(TransportError::Connection { .. }) => Some(Sample::Failed(Cause::Connection)),
        // A flood is an answer: the status says whether the tenant is healthy.
        Err(TransportError::BodyTooLarge { status, .. }) if *status >= 500 => {
            Some(Sample::Failed(Cause::ServerError))
        }
        Err(TransportError::BodyTooLarge { .. }) => Some(Sample::Answered),
    }
}

/// Puts the missing permissions at the head of a 403's detail (the row's error).
fn named(err: ApiError, missing: &MissingPermissions) -> ApiError {
    match err {
        ApiError::Http {
            status,
            scim_type,
            code,
            detail,
            attempts,
        } => ApiError::Http {
            status,
            scim_type,
            code,
            detail: format!("{}: {detail}", missing.describe()),
            attempts,
        },
        other => other,
    }
}

pub(super) fn http_error(resp: &RawResponse) -> ApiError {
    let d = parse_error(resp.status, &resp.body);
    ApiError::Http {
        status: resp.status,
        scim_type: d.scim_type,
        code: d.code,
        // A server may echo the request; every secret of the run is masked here.
        detail: crate::secrets::redact(&d.detail).into_owned(),
        attempts: 0,
    }
}
