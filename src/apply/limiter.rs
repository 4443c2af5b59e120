//! The one pace every call keeps: a concurrency cap (semaphore), a shared "paused
//! until" gate that a 429's Retry-After (or an exhausted `inin-ratelimit-*` window)
//! sets for every task at once, and an even-paced bucket of `rate` calls a minute.
//!
//! The bucket is GCRA (the algorithm governor implements) written out here so the
//! rate can be lowered at run time when the server's `inin-ratelimit-allowed` says
//! its limit is lower, and so waiting calls are served first come, first served.
//! The default burst is 1 (calls leave evenly spaced), so the first second never
//! exceeds a server bucket of any capacity. Retry policy lives in `retry`.

use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::scim::client::RateHeaders;

/// Shared limiter; wrap in an `Arc` (the `Api` does).
#[derive(Debug)]
pub struct Limiter {
    semaphore: std::sync::Arc<Semaphore>,
    state: parking_lot::Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// Configured calls per minute; `None` = unlimited.
    configured: Option<u32>,
    /// Current calls per minute (configured, or lower if the server said so).
    rate: Option<u32>,
    /// Calls allowed back to back.
    burst: u32,
    /// GCRA theoretical arrival time of the next call.
    tat: Instant,
    /// No call leaves before this.
    paused_until: Option<Instant>,
    /// Times the gate was closed.
    pauses: u64,
}

/// A granted slot: hold it for the duration of the HTTP exchange.
#[derive(Debug)]
pub struct Slot {
    _permit: OwnedSemaphorePermit,
}

impl Limiter {
    /// `rate_per_min`: `None` for no pacing; `concurrency`: calls in flight at most
    /// (at least 1). The burst is 1: an evenly paced stream.
    pub fn new(rate_per_min: Option<u32>, concurrency: usize) -> Limiter {
        Limiter::with_burst(rate_per_min, concurrency, 1)
    }

    /// Like [`Limiter::new`] with an explicit burst (calls allowed back to back).
    pub fn with_burst(rate_per_min: Option<u32>, concurrency: usize, burst: u32) -> Limiter {
        let rate = rate_per_min.filter(|r| *r > 0);
        Limiter {
            semaphore: std::sync::Arc::new(Semaphore::new(concurrency.max(1))),
            state: parking_lot::Mutex::new(State {
                configured: rate,
                rate,
                burst: burst.max(1),
                tat: Instant::now(),
                paused_until: None,
                pauses: 0,
            }),
        }
    }

    /// Waits for a concurrency permit, then for the pause gate, then for the
    /// bucket. Waiters are served in order; a pause set while a call waits moves
    /// it behind the pause (and re-paces it, so a pause never ends in a burst).
    pub async fn acquire(&self) -> Slot {
        let permit = self
            .semaphore
            .clone()
            .acquire_owned()
            .await
            .expect("the limiter's semaphore is never closed");
        loop {
            let (at, pause_seen) = {
                let mut s = self.state.lock();
                let now = Instant::now();
                let pause = s.paused_until.filter(|p| *p > now);
                let earliest = pause.unwrap_or(now);
                match s.rate {
                    None => (earliest, pause),
                    Some(rate) => {
                        let interval = interval(rate);
                        let tau = interval * (s.burst - 1);
                        let start = earliest.max(s.tat.checked_sub(tau).unwrap_or(s.tat));
                        s.tat = s.tat.max(start) + interval;
                        (start, pause)
                    }
                }
            };
            if at > Instant::now() {
                tokio::time::sleep_until(at).await;
            }
            // A pause that began while we slept sends us back in line.
            let now = Instant::now();
            let paused = self.state.lock().paused_until.filter(|p| *p > now);
            match paused {
                Some(p) if Some(p) != pause_seen => continue,
                _ => return Slot { _permit: permit },
            }
        }
    }

    /// Closes the gate for everyone for `d` (a 429's Retry-After), extending any
    /// pause already set, and restarts the bucket after it so calls resume evenly.
    pub fn pause_for(&self, d: Duration) {
        let until = Instant::now() + d;
        let mut s = self.state.lock();
        if s.paused_until.is_none_or(|p| p < until) {
            s.paused_until = Some(until);
            s.pauses += 1;
        }
        if s.tat < until {
            s.tat = until;
        }
    }

    /// Steers by the server's `inin-ratelimit-*` headers: lowers the rate to
    /// `allowed` when that is below the current rate, and, when `count` has
    /// reached `allowed`, pauses until the window resets or one call's worth of
    /// the server's rate has passed, whichever is sooner. Ignored when pacing is off.
    pub fn observe(&self, h: &RateHeaders) {
        let mut pause = None;
        {
            let mut s = self.state.lock();
            let Some(rate) = s.rate else {
                return;
            };
            if let Some(allowed) = h.allowed.filter(|a| *a > 0) {
                if allowed < rate {
                    s.rate = Some(allowed);
                }
                if let (Some(count), Some(reset)) = (h.count, h.reset)
                    && count >= allowed
                    && !reset.is_zero()
                {
                    // Genesys's reset is the end of a fixed window; the emulator's is
                    // when its token bucket is full again, though one token is back
                    // after 60/allowed s. Waiting the shorter of the two is right for
                    // both; at worst a fixed window answers the next call with a 429
                    // whose Retry-After then holds everyone.
                    pause = Some(reset.min(interval(allowed)));
                }
            }
        }
        if let Some(d) = pause {
            self.pause_for(d);
        }
    }

    /// The current pace in calls per minute (`None` = unlimited).
    pub fn current_rate(&self) -> Option<u32> {
        self.state.lock().rate
    }

    /// The configured pace.
    pub fn configured_rate(&self) -> Option<u32> {
        self.state.lock().configured
    }

    /// How many times the gate was closed.
    pub fn pauses(&self) -> u64 {
        self.state.lock().pauses
    }
}

fn interval(rate_per_min: u32) -> Duration {
    Duration::from_nanos(60_000_000_000 / u64::from(rate_per_min.max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    // Paused tokio time: sleeps advance the clock instantly, so these check the
    // schedule without waiting and without timing assertions on real time.

    #[tokio::test(start_paused = true)]
    async fn paces_evenly_at_the_rate() {
        let l = Limiter::new(Some(600), 8); // one call per 100 ms
        let t0 = Instant::now();
        let mut times = Vec::new();
        for _ in 0..5 {
            let _s = l.acquire().await;
            times.push(Instant::now() - t0);
        }
        let ms: Vec<u128> = times.iter().map(|d| d.as_millis()).collect();
        assert_eq!(ms, vec![0, 100, 200, 300, 400]);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_waiters_share_one_bucket() {
        let l = Arc::new(Limiter::new(Some(60), 16)); // one per second
        let t0 = Instant::now();
        let mut handles = Vec::new();
        for _ in 0..6 {
            let l = l.clone();
            handles.push(tokio::spawn(async move {
                let _s = l.acquire().await;
                (Instant::now() - t0).as_secs()
            }));
        }
        let mut secs = Vec::new();
        for h in handles {
            secs.push(h.await.unwrap());
        }
        secs.sort();
        assert_eq!(secs, vec![0, 1, 2, 3, 4, 5]);
    }

    #[tokio::test(start_paused = true)]
    async fn pause_holds_everyone_then_resumes_evenly() {
        let l = Limiter::new(Some(600), 4);
        let t0 = Instant::now();
        let _ = l.acquire().await;
        l.pause_for(Duration::from_secs(5));
        let mut ms = Vec::new();
        for _ in 0..3 {
            let _s = l.acquire().await;
            ms.push((Instant::now() - t0).as_millis());
        }
        assert_eq!(ms, vec![5000, 5100, 5200]);
        assert_eq!(l.pauses(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn unlimited_still_honours_pauses() {
        let l = Limiter::new(None, 4);
        let t0 = Instant::now();
        l.pause_for(Duration::from_secs(2));
        let _s = l.acquire().await;
        assert_eq!((Instant::now() - t0).as_secs(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrency_cap_holds() {
        let l = Arc::new(Limiter::new(None, 2));
        let a = l.acquire().await;
        let _b = l.acquire().await;
        let l2 = l.clone();
        let third = tokio::spawn(async move {
            let _c = l2.acquire().await;
        });
        tokio::task::yield_now().await;
        assert!(!third.is_finished());
        drop(a);
        third.await.unwrap();
    }

    #[test]
    fn headers_lower_the_rate_never_raise_it() {
        let l = Limiter::new(Some(300), 4);
        l.observe(&RateHeaders {
            allowed: Some(180),
            count: Some(3),
            reset: Some(Duration::from_secs(40)),
        });
        assert_eq!(l.current_rate(), Some(180));
        l.observe(&RateHeaders {
            allowed: Some(1000),
            count: Some(3),
            reset: None,
        });
        assert_eq!(l.current_rate(), Some(180));
        assert_eq!(l.pauses(), 0);
        let off = Limiter::new(None, 4);
        off.observe(&RateHeaders {
            allowed: Some(10),
            count: Some(10),
            reset: Some(Duration::from_secs(9)),
        });
        assert_eq!(off.current_rate(), None);
        assert_eq!(off.pauses(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn exhausted_window_pauses_until_reset_or_one_interval() {
        let l = Limiter::new(Some(6000), 4);
        l.observe(&RateHeaders {
            allowed: Some(6),
            count: Some(6),
            reset: Some(Duration::from_secs(7)),
        });
        assert_eq!(l.pauses(), 1);
        let t0 = Instant::now();
        let _s = l.acquire().await;
        assert_eq!(
            (Instant::now() - t0).as_secs(),
            7,
            "reset sooner than 60/6 s"
        );
        l.observe(&RateHeaders {
            allowed: Some(6),
            count: Some(6),
            reset: Some(Duration::from_secs(50)),
        });
        let t1 = Instant::now();
        let _s = l.acquire().await;
        assert_eq!(
            (Instant::now() - t1).as_secs(),
            10,
            "one call's worth at 6/min"
        );
    }
}
