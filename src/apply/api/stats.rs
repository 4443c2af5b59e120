//! Counters every call updates (calls by kind, 429s, retries, adoptions) and the
//! latency samples the summary's percentiles come from; `ApiStats` is the snapshot
//! the coordinator prints.

use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of the façade's counters.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ApiStats {
    /// GET calls sent (every attempt counts).
    pub get: u64,
    /// POST calls sent.
    pub post: u64,
    /// PATCH calls sent.
    pub patch: u64,
    /// PUT calls sent.
    pub put: u64,
    /// Token requests sent.
    pub token: u64,
    /// 429 responses received.
    pub status_429: u64,
    /// Retries made (attempts after the first, 401 refresh retries included).
    pub retries: u64,
    /// Creates resolved by adopting a user that an earlier attempt had created, or
    /// that a 201 with an unreadable body had acknowledged.
    pub adopted: u64,
    /// Calls that ended in an error.
    pub failed: u64,
    /// Median latency of one attempt, ms.
    pub p50_ms: f64,
    /// 95th percentile, ms.
    pub p95_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// The limiter's current pace (calls/min); `None` = unlimited.
    pub current_rate: Option<u32>,
    /// Times the shared gate was paused (429s, exhausted windows).
    pub pauses: u64,
    /// Whether the auth circuit is open.
    pub circuit_open: bool,
}

impl ApiStats {
    /// SCIM calls sent (token requests excluded).
    pub fn api_calls(&self) -> u64 {
        self.get + self.post + self.patch + self.put
    }

    /// Writes sent (POST, PATCH, PUT).
    pub fn writes(&self) -> u64 {
        self.post + self.patch + self.put
    }
}

/// Live counters, shared by every call.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub get: AtomicU64,
    pub post: AtomicU64,
    pub patch: AtomicU64,
    pub put: AtomicU64,
    pub token: AtomicU64,
    pub status_429: AtomicU64,
    pub retries: AtomicU64,
    pub adopted: AtomicU64,
    pub failed: AtomicU64,
    latencies: parking_lot::Mutex<Vec<f32>>,
}

impl Counters {
    pub fn count_method(&self, method: &str) {
        let c = match method {
            "GET" => &self.get,
            "POST" => &self.post,
            "PATCH" => &self.patch,
            "PUT" => &self.put,
            _ => &self.token,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    pub fn latency(&self, ms: f64) {
        self.latencies.lock().push(ms as f32);
    }

    pub fn bump(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> ApiStats {
        let mut lat = self.latencies.lock().clone();
        lat.sort_by(f32::total_cmp);
        let pct = |p: f64| -> f64 {
            if lat.is_empty() {
                return 0.0;
            }
            let idx = ((p * lat.len() as f64).ceil() as usize).clamp(1, lat.len()) - 1;
            f64::from(lat[idx])
        };
        let l = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ApiStats {
            get: l(&self.get),
            post: l(&self.post),
            patch: l(&self.patch),
            put: l(&self.put),
            token: l(&self.token),
            status_429: l(&self.status_429),
            retries: l(&self.retries),
            adopted: l(&self.adopted),
            failed: l(&self.failed),
            p50_ms: pct(0.50),
            p95_ms: pct(0.95),
            p99_ms: pct(0.99),
            ..ApiStats::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let c = Counters::default();
        for ms in 1..=100 {
            c.latency(f64::from(ms));
        }
        c.count_method("GET");
        c.count_method("token");
        let s = c.snapshot();
        assert_eq!((s.p50_ms, s.p95_ms, s.p99_ms), (50.0, 95.0, 99.0));
        assert_eq!((s.get, s.token, s.api_calls()), (1, 1, 1));
    }
}
