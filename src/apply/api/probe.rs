//! The tenant breaker's probe: once the breaker opens, one cheap GET
//! (`/users?count=1&attributes=id`) after its delay, reported to the breaker,
//! which closes, asks for another probe, or stops the run. The probe goes
//! through the limiter like any call and is audited (row-less), but never
//! retried: the breaker decides. The decisions are `apply::breaker`'s.

use std::sync::{Arc, Weak};
use std::time::Instant;

use super::{Api, CallRecord, Inner};
use crate::apply::breaker::{Cause, Sample};
use crate::scim::client::{Request, TransportError};

impl Api {
    /// Starts probing in the background (the breaker just opened). The task
    /// holds the façade weakly, and ends as soon as the run stops, so it never
    /// keeps the run's sink alive.
    pub(super) fn start_probing(&self) {
        let weak = Arc::downgrade(&self.inner);
        tokio::spawn(probe_until_decided(weak));
    }
}

async fn probe_until_decided(weak: Weak<Inner>) {
    let mut wait = match weak.upgrade() {
        Some(inner) => inner.breaker.probe_delay(),
        None => return,
    };
    loop {
        tokio::time::sleep(wait).await;
        let Some(inner) = weak.upgrade() else {
            return;
        };
        let result = tokio::select! {
            r = probe_once(&inner) => r,
            _ = inner.breaker.stopped() => return,
        };
        match inner.breaker.probe_result(result) {
            Some(next) => wait = next,
            None => return,
        }
    }
}

/// One probe: `Ok` when the tenant answered (any status under 500), else how it
/// failed ("timed out", "answered HTTP 503", …).
async fn probe_once(inner: &Inner) -> Result<(), String> {
    let token = inner
        .tokens
        .get()
        .await
        .map_err(|e| format!("could not get a token ({e})"))?;
    let _slot = inner.limiter.acquire().await;
    let req = Request::get(
        inner.endpoints.read().users.clone(),
        vec![("count", "1".to_string()), ("attributes", "id".to_string())],
    );
    let start = Instant::now();
    let result = inner
        .client
        .send(&req, &token.bearer(), inner.timeout)
        .await;
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    inner.counters.count_method("GET");
    inner.counters.latency(ms);
    let verdict = match (super::call::health(&result), &result) {
        (None | Some(Sample::Answered), _) => Ok(()),
        (Some(Sample::Failed(Cause::Timeout)), _) => Err("timed out".to_string()),
        (Some(Sample::Failed(Cause::Connection)), _) => Err("could not connect".to_string()),
        (Some(Sample::Failed(Cause::ServerError)), Ok(resp)) => {
            Err(format!("answered HTTP {}", resp.status))
        }
        (Some(Sample::Failed(Cause::ServerError)), Err(e)) => match e {
            TransportError::BodyTooLarge { status, .. } => {
                Err(format!("answered HTTP {status} with an oversized body"))
            }
            other => Err(other.to_string()),
        },
    };
    inner.observer.on_call(&CallRecord {
        row: None,
        method: "GET",
        path: req.display_path(),
        status: result.as_ref().ok().map(|r| r.status),
        latency_ms: ms,
        attempt: 1,
        outcome: if verdict.is_ok() { "ok" } else { "failed" },
        error: verdict
            .as_ref()
            .err()
            .map(|how| format!("breaker probe {how}")),
    });
    verdict
}
