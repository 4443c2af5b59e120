//! When a failed call is tried again and after how long: which failures are
//! retryable (429, 5xx, timeouts, dropped connections), which leave a write's
//! outcome unknown (so a POST must look before it re-sends), exponential backoff
//! with jitter that yields to the server's Retry-After, and a run-wide budget of
//! retries so a sick tenant cannot multiply the run's calls. Waiting on the shared
//! pause gate is the limiter's job (`limiter`).

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use rand::Rng;

/// What to do with a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Try again. `ambiguous`: the server may have applied the request (a POST
    /// must look the user up before re-sending).
    Retry {
        /// The request may have taken effect.
        ambiguous: bool,
    },
    /// Final: report the error.
    Fail,
}

/// Classifies an HTTP status (401 is handled by the token logic, not here).
pub fn classify_status(status: u16) -> Verdict {
    match status {
        429 => Verdict::Retry { ambiguous: false },
        // 503: the service refused before doing anything; the rest may have
        // failed after applying (a gateway timing out on a slow write).
        503 => Verdict::Retry { ambiguous: false },
        500..=599 => Verdict::Retry { ambiguous: true },
        408 => Verdict::Retry { ambiguous: true },
        _ => Verdict::Fail,
    }
}

/// Timeouts and dropped connections are retried, and leave the outcome unknown.
pub fn classify_transport() -> Verdict {
    Verdict::Retry { ambiguous: true }
}

/// Backoff schedule plus the run-wide retry budget. Share it behind an `Arc`.
#[derive(Debug)]
pub struct RetryPolicy {
    max_attempts: u32,
    base: Duration,
    cap: Duration,
    budget: AtomicU32,
    spent: AtomicU64,
}

impl RetryPolicy {
    /// At most `max_attempts` tries per call (at least 1), `budget` retries in the
    /// whole run; backoff starts at `base` and doubles up to `cap`.
    pub fn new(max_attempts: u32, budget: u32, base: Duration, cap: Duration) -> RetryPolicy {
        RetryPolicy {
            max_attempts: max_attempts.max(1),
            base,
            cap: cap.max(base),
            budget: AtomicU32::new(budget),
            spent: AtomicU64::new(0),
        }
    }

    /// Tries per call.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// Whether a call that has made `attempts` tries may make another: within the
    /// per-call limit and, if so, spends one retry from the run budget.
    pub fn allow(&self, attempts: u32) -> bool {
        if attempts >= self.max_attempts {
            return false;
        }
        let took = self
            .budget
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |b| b.checked_sub(1))
            .is_ok();
        if took {
            self.spent.fetch_add(1, Ordering::Relaxed);
        }
        took
    }

    /// Retries left in the run budget.
    pub fn remaining(&self) -> u32 {
        self.budget.load(Ordering::Acquire)
    }

    /// Retries spent so far.
    pub fn spent(&self) -> u64 {
        self.spent.load(Ordering::Relaxed)
    }

    /// The wait before try number `attempts + 1`: the server's hint if it gave
    /// one (Retry-After, else the rate-limit reset), otherwise "equal jitter"
    /// exponential backoff: half of `min(cap, base * 2^(attempts-1))` fixed, half random.
    pub fn delay(&self, attempts: u32, hint: Option<Duration>) -> Duration {
        if let Some(h) = hint {
            return h.min(self.cap.max(Duration::from_secs(120)));
        }
        let exp = attempts.saturating_sub(1).min(20);
        let full = self.base.saturating_mul(1u32 << exp).min(self.cap);
        let half = full / 2;
        let jitter = rand::rng().random_range(0..=half.as_micros() as u64);
        half + Duration::from_micros(jitter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_classify() {
        assert_eq!(classify_status(429), Verdict::Retry { ambiguous: false });
        assert_eq!(classify_status(503), Verdict::Retry { ambiguous: false });
        assert_eq!(classify_status(500), Verdict::Retry { ambiguous: true });
        assert_eq!(classify_status(502), Verdict::Retry { ambiguous: true });
        for s in [400, 403, 404, 409, 412, 413, 415] {
            assert_eq!(classify_status(s), Verdict::Fail, "{s}");
        }
    }

    #[test]
    fn per_call_limit_and_run_budget() {
        let p = RetryPolicy::new(3, 4, Duration::from_millis(10), Duration::from_secs(1));
        assert!(p.allow(1));
        assert!(p.allow(2));
        assert!(!p.allow(3), "third try was the last");
        assert!(p.allow(1));
        assert!(p.allow(1));
        assert_eq!(p.remaining(), 0);
        assert!(!p.allow(1), "budget spent");
        assert_eq!(p.spent(), 4);
    }

    #[test]
    fn backoff_grows_within_bounds_and_honours_hints() {
        let p = RetryPolicy::new(10, 100, Duration::from_millis(100), Duration::from_secs(2));
        for attempts in 1..10 {
            let full =
                (Duration::from_millis(100) * (1 << (attempts - 1))).min(Duration::from_secs(2));
            for _ in 0..50 {
                let d = p.delay(attempts, None);
                assert!(d >= full / 2 && d <= full, "{attempts}: {d:?}");
            }
        }
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
    }
}
