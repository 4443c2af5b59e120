//! The per-OAuth-client token bucket behind `--rate-limit` (default 300/min as in
//! Genesys), and the `inin-ratelimit-*` numbers every API response carries.
//!
//! Owns the arithmetic only; the server turns a refusal into a 429 with
//! `Retry-After` and the platform body `too.many.requests`.

use std::collections::HashMap;
use std::time::Instant;

use parking_lot::Mutex;

/// Limit used for the headers when limiting is off (never reached).
const UNLIMITED: u32 = 1_000_000;

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Token buckets keyed by OAuth client id.
#[derive(Debug)]
pub(crate) struct Limiter {
    per_minute: Mutex<Option<u32>>,
    buckets: Mutex<HashMap<String, Bucket>>,
}

/// The outcome of one request against the bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Decision {
    /// Whether the request may proceed.
    pub allowed: bool,
    /// `inin-ratelimit-allowed`.
    pub limit: u32,
    /// `inin-ratelimit-count`: requests used in the current window.
    pub count: u32,
    /// `inin-ratelimit-reset`: seconds until the bucket is full again.
    pub reset_secs: u64,
    /// `Retry-After` on a refusal: seconds until one request fits.
    pub retry_after: u64,
}

impl Limiter {
    /// A limiter allowing `per_minute` requests per client (`None`: unlimited).
    pub fn new(per_minute: Option<u32>) -> Self {
        Self {
            per_minute: Mutex::new(per_minute),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Changes the limit; buckets start full again.
    pub fn set(&self, per_minute: Option<u32>) {
        *self.per_minute.lock() = per_minute;
        self.buckets.lock().clear();
    }

    /// Takes one token for `client` at `now`.
    pub fn check(&self, client: &str, now: Instant) -> Decision {
        let limited = *self.per_minute.lock();
        let cap = limited.unwrap_or(UNLIMITED);
        let capacity = f64::from(cap);
        let rate = capacity / 60.0;
        let mut buckets = self.buckets.lock();
        if !buckets.contains_key(client) {
            buckets.insert(
                client.to_string(),
                Bucket {
                    tokens: capacity,
                    last: now,
                },
            );
        }
        let Some(bucket) = buckets.get_mut(client) else {
            return Decision {
                allowed: true,
                limit: cap,
                count: 0,
                reset_secs: 0,
                retry_after: 1,
            };
        };
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(capacity);
        bucket.last = now;
        let allowed = limited.is_none() || bucket.tokens >= 1.0;
        if allowed {
            bucket.tokens = (bucket.tokens - 1.0).max(0.0);
        }
        let used = (capacity - bucket.tokens).max(0.0);
        Decision {
            allowed,
            limit: cap,
            count: used.round() as u32,
            reset_secs: (used / rate).ceil() as u64,
            retry_after: (((1.0 - bucket.tokens) / rate).ceil() as u64).max(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bucket_refuses_then_refills() {
        let l = Limiter::new(Some(3));
        let t = Instant::now();
        for i in 1..=3 {
            let d = l.check("c", t);
            assert!(d.allowed);
            assert_eq!(d.count, i);
            assert_eq!(d.limit, 3);
        }
        let d = l.check("c", t);
        assert!(!d.allowed);
        assert_eq!(d.retry_after, 20);
        assert!(l.check("other", t).allowed, "buckets are per client");
        assert!(l.check("c", t + Duration::from_secs(20)).allowed);
        l.set(None);
        for _ in 0..100 {
            assert!(l.check("c", t).allowed);
        }
    }
}
