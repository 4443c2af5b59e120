//! The one pace every call keeps: a concurrency cap (semaphore), a first-come,
//! first-served line, a shared "paused until" gate that a 429's Retry-After (or an
//! exhausted `inin-ratelimit-*` window) closes for every task at once, and an
//! even-paced bucket (governor, burst 1) whose rate the [`Pace`] policy steers by
//! the server's `inin-ratelimit-allowed`.
//!
//! Owns pacing only: what a 429 means for the call (retry, budget) lives in
//! `retry` and `api::call`, which feeds every response's headers to [`Limiter::observe`].
//!
//! - **Bucket.** governor's GCRA with burst 1, so calls leave evenly spaced and
//!   the first second never exceeds a server bucket of any capacity. governor
//!   cannot change a quota in place, so a new rate installs a new limiter, and
//!   the first call on it waits until one new interval after the previous call:
//!   the switch neither bursts nor wastes the time already waited.
//!   The bucket reads tokio's clock, the one the pause gate and every sleep use,
//!   so a paused test clock drives all three.
//! - **Line.** Waiters queue on a fair (FIFO) async mutex; only the head waits for
//!   the gate and the bucket, so calls leave in the order they asked.
//! - **Following the server.** With [`Pace::Adaptive`] (no `--rate` against a real
//!   tenant) the pace follows `allowed` up and down; with [`Pace::Fixed`] it
//!   follows it down but never above the explicit rate. Either way the pace is
//!   [`HEADROOM_PERCENT`] below `allowed` (at least one call a minute): an even
//!   pace of exactly `allowed` fits the emulator's token bucket (capacity
//!   `allowed`, refilling `allowed`/60 s, so it never runs dry) but fills a fixed
//!   60 s window (Genesys) to the last call, where network jitter moving one call
//!   across a window boundary costs a 429; the headroom absorbs that jitter and
//!   calls from other holders of the same OAuth client. When `count` reaches
//!   `allowed` anyway, every task pauses until `reset` or one call's worth of the
//!   server's rate, whichever is sooner.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::scim::client::RateHeaders;

/// How far below the server's `inin-ratelimit-allowed` the pace stays, in percent
/// (rounded up to whole calls a minute).
pub const HEADROOM_PERCENT: u32 = 2;

/// The pacing policy of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// No pacing (`--rate off`); the pause gate still holds, and once the tenant
    /// answers a 429 the pace follows its `inin-ratelimit-allowed` (as
    /// `Adaptive`), so that the throttled run stops spending calls on 429s.
    Off,
    /// `--rate N`: at most N calls a minute; lower while the server's limit is lower.
    Fixed(u32),
    /// No `--rate` against a real tenant: `start` calls a minute until the server
    /// says its limit, then that limit less the headroom, up or down.
    Adaptive {
        /// Calls a minute before the first response (Genesys's default, 300).
        start: u32,
    },
}

impl Pace {
    /// The pace before any response (`None` = unpaced).
    pub fn initial(self) -> Option<u32> {
        match self {
            Pace::Off => None,
            Pace::Fixed(n) | Pace::Adaptive { start: n } => Some(n.max(1)),
        }
    }

    /// The pace once the server says its limit is `allowed` calls a minute.
    pub fn steered(self, allowed: u32) -> Option<u32> {
        let headroom = (u64::from(allowed) * u64::from(HEADROOM_PERCENT)).div_ceil(100);
        let follow = u32::try_from(u64::from(allowed).saturating_sub(headroom))
            .unwrap_or(u32::MAX)
            .max(1);
        match self {
            Pace::Off => None,
            Pace::Fixed(n) => Some(n.max(1).min(follow)),
            Pace::Adaptive { .. } => Some(follow),
        }
    }
}

/// governor's view of tokio's clock: time since the limiter was built.
#[derive(Debug, Clone, Copy)]
struct TokioClock {
    origin: Instant,
}

impl Clock for TokioClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}

type Bucket = RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<Duration>>;

/// Shared limiter; wrap in an `Arc` (the `Api` does).
pub struct Limiter {
    pace: Pace,
    clock: TokioClock,
    semaphore: Arc<Semaphore>,
    /// The first-come, first-served line (tokio's mutex is fair).
    line: tokio::sync::Mutex<()>,
    state: parking_lot::Mutex<State>,
    /// Wakes the head of the line when the rate or the gate changes.
    changed: Notify,
}

struct State {
    /// Current calls per minute; `None` = unpaced.
    rate: Option<u32>,
    /// The bucket at `rate`.
    bucket: Option<Arc<Bucket>>,
    /// When the last slot was granted.
    last_grant: Option<Instant>,
    /// After a rate change: one new interval after `last_grant`.
    not_before: Option<Instant>,
    /// No call leaves before this.
    paused_until: Option<Instant>,
    /// Times the gate was closed.
    pauses: u64,
    /// `Pace::Off` and the tenant answered a 429: follow its limit from now on.
    throttled: bool,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.state.lock();
        f.debug_struct("Limiter")
            .field("pace", &self.pace)
            .field("rate", &s.rate)
            .field("paused_until", &s.paused_until)
            .field("pauses", &s.pauses)
            .finish_non_exhaustive()
    }
}

/// A granted slot: hold it for the duration of the HTTP exchange.
#[derive(Debug)]
pub struct Slot {
    _permit: OwnedSemaphorePermit,
}

impl Limiter {
    /// A limiter keeping `pace` with at most `concurrency` calls in flight (at least 1).
    pub fn new(pace: Pace, concurrency: usize) -> Limiter {
        let clock = TokioClock {
            origin: Instant::now(),
        };
        let rate = pace.initial();
        Limiter {
            pace,
            clock,
            semaphore: Arc::new(Semaphore::new(concurrency.max(1))),
            line: tokio::sync::Mutex::new(()),
            state: parking_lot::Mutex::new(State {
                rate,
                bucket: rate.map(|r| Arc::new(bucket(r, clock))),
                last_grant: None,
                not_before: None,
                paused_until: None,
                pauses: 0,
                throttled: false,
            }),
            changed: Notify::new(),
        }
    }

    /// Waits for a concurrency permit, then for its turn in line, then for the
    /// pause gate and the bucket. A pause or a new rate set while the head of the
    /// line waits is seen at once.
    pub async fn acquire(&self) -> Slot {
        let permit = self
            .semaphore
            .clone()
            .acquire_owned()
            .await
            .expect("the limiter's semaphore is never closed");
        let _turn = self.line.lock().await;
        loop {
            // Registered before reading the state, so a change made between the
            // read and the sleep still wakes us.
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let wait = {
                let mut s = self.state.lock();
                let now = Instant::now();
                let gate = s.paused_until.max(s.not_before).filter(|g| *g > now);
                let wait = match (gate, &s.bucket) {
                    (Some(g), _) => Some(g - now),
                    (None, None) => None,
                    (None, Some(b)) => b
                        .check()
                        .err()
                        .map(|not_until| not_until.wait_time_from(self.clock.now())),
                };
                if wait.is_none() {
                    s.last_grant = Some(now);
                }
                wait
            };
            let Some(wait) = wait else {
                return Slot { _permit: permit };
            };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = &mut changed => {}
            }
        }
    }

    /// Closes the gate for everyone for `d` (a 429's Retry-After), extending any
    /// pause already set. Calls resume one at a time at the bucket's pace. True
    /// when this set or extended the pause (what the audit log records).
    pub fn pause_for(&self, d: Duration) -> bool {
        let until = Instant::now() + d;
        let mut s = self.state.lock();
        s.throttled = true;
        if s.paused_until.is_none_or(|p| p < until) {
            s.paused_until = Some(until);
            s.pauses += 1;
            self.changed.notify_waiters();
            return true;
        }
        false
    }

    /// Steers by the server's `inin-ratelimit-*` headers: sets the pace the
    /// [`Pace`] policy derives from `allowed`, and, when `count` has reached
    /// `allowed`, pauses until the window resets or one call's worth of the
    /// server's rate has passed, whichever is sooner. Ignored when pacing is off,
    /// until the tenant has answered a 429. Returns the pause it set, if any.
    pub fn observe(&self, h: &RateHeaders) -> Option<Duration> {
        let policy = match self.pace {
            Pace::Off if !self.state.lock().throttled => return None,
            Pace::Off => Pace::Adaptive { start: 0 },
            p => p,
        };
        let allowed = h.allowed.filter(|a| *a > 0)?;
        let rate = policy.steered(allowed);
        {
            let mut s = self.state.lock();
            if s.rate != rate {
                s.rate = rate;
                s.bucket = rate.map(|r| Arc::new(bucket(r, self.clock)));
                // The fresh bucket has forgotten the previous call; the gate keeps
                // the new spacing from it.
                s.not_before = rate.zip(s.last_grant).map(|(r, t)| t + interval(r));
                self.changed.notify_waiters();
            }
        }
        if let (Some(count), Some(reset)) = (h.count, h.reset)
            && count >= allowed
            && !reset.is_zero()
        {
            // Genesys's reset is the end of a fixed window; the emulator's is when
            // its token bucket is full again, though one token is back after
            // 60/allowed s. Waiting the shorter of the two is right for both; at
            // worst a fixed window answers the next call with a 429 whose
            // Retry-After then holds everyone.
            let wait = reset.min(interval(allowed));
            return self.pause_for(wait).then_some(wait);
        }
        None
    }

    /// The current pace in calls per minute (`None` = unlimited).
    pub fn current_rate(&self) -> Option<u32> {
        self.state.lock().rate
    }

    /// The policy the limiter was built with.
    pub fn pace(&self) -> Pace {
        self.pace
    }

    /// How many times the gate was closed.
    pub fn pauses(&self) -> u64 {
        self.state.lock().pauses
    }
}

/// An even bucket of `rate` calls a minute, one call back to back at most.
fn bucket(rate: u32, clock: TokioClock) -> Bucket {
    let rate = NonZeroU32::new(rate).unwrap_or(NonZeroU32::MIN);
    RateLimiter::direct_with_clock(Quota::per_minute(rate).allow_burst(NonZeroU32::MIN), clock)
}

fn interval(rate_per_min: u32) -> Duration {
    Duration::from_nanos(60_000_000_000 / u64::from(rate_per_min.max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Paused tokio time: sleeps advance the clock instantly, so these check the
    // schedule without waiting and without timing assertions on real time.

    fn headers(allowed: u32, count: u32, reset_secs: Option<u64>) -> RateHeaders {
        RateHeaders {
            allowed: Some(allowed),
            count: Some(count),
            reset: reset_secs.map(Duration::from_secs),
        }
    }

    fn ms_since(t0: Instant) -> u128 {
        (Instant::now() - t0).as_millis()
    }

    #[tokio::test(start_paused = true)]
    async fn paces_evenly_at_the_rate() {
        let l = Limiter::new(Pace::Fixed(600), 8); // one call per 100 ms
        let t0 = Instant::now();
        let mut ms = Vec::new();
        for _ in 0..5 {
            let _s = l.acquire().await;
            ms.push(ms_since(t0));
        }
        assert_eq!(ms, vec![0, 100, 200, 300, 400]);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_waiters_share_one_bucket_first_come_first_served() {
        let l = Arc::new(Limiter::new(Pace::Fixed(60), 16)); // one per second
        let t0 = Instant::now();
        let order = Arc::new(parking_lot::Mutex::new(Vec::new()));
        let mut handles = Vec::new();
        for i in 0..8u64 {
            let (l, order) = (l.clone(), order.clone());
            handles.push(tokio::spawn(async move {
                let _s = l.acquire().await;
                order.lock().push((i, (Instant::now() - t0).as_secs()));
            }));
            // Lets task i reach its place in line before task i + 1 is spawned.
            tokio::task::yield_now().await;
        }
        for h in handles {
            h.await.expect("waiter");
        }
        let got = order.lock().clone();
        let want: Vec<(u64, u64)> = (0..8).map(|i| (i, i)).collect();
        assert_eq!(got, want, "served in arrival order, one a second");
    }

    #[tokio::test(start_paused = true)]
    async fn pause_holds_everyone_then_resumes_evenly() {
        let l = Arc::new(Limiter::new(Pace::Fixed(600), 4));
        let t0 = Instant::now();
        drop(l.acquire().await);
        l.pause_for(Duration::from_secs(5));
        let mut handles = Vec::new();
        for _ in 0..3 {
            let l = l.clone();
            handles.push(tokio::spawn(async move {
                let _s = l.acquire().await;
                ms_since(t0)
            }));
        }
        let mut ms = Vec::new();
        for h in handles {
            ms.push(h.await.expect("waiter"));
        }
        ms.sort_unstable();
        assert_eq!(ms, vec![5000, 5100, 5200]);
        assert_eq!(l.pauses(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_set_while_waiting_holds_the_waiter() {
        let l = Arc::new(Limiter::new(Pace::Fixed(60), 4));
        let t0 = Instant::now();
        drop(l.acquire().await);
        let waiter = {
            let l = l.clone();
            tokio::spawn(async move {
                let _s = l.acquire().await;
                ms_since(t0)
            })
        };
        tokio::time::sleep(Duration::from_millis(500)).await;
        l.pause_for(Duration::from_secs(5));
        assert_eq!(waiter.await.expect("waiter"), 5500, "not at 1000");
    }

    #[tokio::test(start_paused = true)]
    async fn unlimited_still_honours_pauses() {
        let l = Limiter::new(Pace::Off, 4);
        let t0 = Instant::now();
        l.pause_for(Duration::from_secs(2));
        let _s = l.acquire().await;
        assert_eq!(ms_since(t0), 2000);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrency_cap_holds() {
        let l = Arc::new(Limiter::new(Pace::Off, 2));
        let a = l.acquire().await;
        let _b = l.acquire().await;
        let l2 = l.clone();
        let third = tokio::spawn(async move {
            let _c = l2.acquire().await;
        });
        tokio::task::yield_now().await;
        assert!(!third.is_finished());
        drop(a);
        third.await.expect("third");
    }

    #[test]
    fn adaptive_follows_allowed_up_and_down_below_it() {
        let l = Limiter::new(Pace::Adaptive { start: 300 }, 4);
        assert_eq!(l.current_rate(), Some(300));
        l.observe(&headers(600, 3, Some(1)));
        assert_eq!(l.current_rate(), Some(588), "600 less 2 %");
        l.observe(&headers(1000, 3, Some(1)));
        assert_eq!(l.current_rate(), Some(980));
        l.observe(&headers(180, 3, Some(40)));
        assert_eq!(l.current_rate(), Some(176), "180 less 2 %, rounded up");
        l.observe(&headers(1, 0, None));
        assert_eq!(l.current_rate(), Some(1), "never zero");
        assert_eq!(l.pauses(), 0);
    }

    #[test]
    fn an_explicit_rate_is_a_ceiling_the_server_can_only_lower() {
        let l = Limiter::new(Pace::Fixed(300), 4);
        l.observe(&headers(600, 3, Some(1)));
        assert_eq!(l.current_rate(), Some(300), "never above --rate");
        l.observe(&headers(180, 3, Some(40)));
        assert_eq!(l.current_rate(), Some(176), "lowered to the server's");
        l.observe(&headers(100_000, 3, None));
        assert_eq!(l.current_rate(), Some(300), "back to --rate, not above");
        let off = Limiter::new(Pace::Off, 4);
        off.observe(&headers(10, 10, Some(9)));
        assert_eq!(off.current_rate(), None);
        assert_eq!(off.pauses(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_raised_pace_applies_to_the_waiting_call_without_a_burst() {
        let l = Arc::new(Limiter::new(Pace::Adaptive { start: 60 }, 4));
        let t0 = Instant::now();
        drop(l.acquire().await);
        let waiter = {
            let l = l.clone();
            tokio::spawn(async move {
                let _s = l.acquire().await;
                ms_since(t0)
            })
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
        // 3062 allowed less 2 % (62) → 3000/min: one call per 20 ms. (Intervals
        // in whole ms here: tokio's timer rounds a sleep up to the next ms.)
        l.observe(&headers(3062, 1, Some(1)));
        assert_eq!(waiter.await.expect("waiter"), 100, "not at 1000");
        let mut ms = Vec::new();
        for _ in 0..3 {
            let _s = l.acquire().await;
            ms.push(ms_since(t0));
        }
        assert_eq!(ms, vec![120, 140, 160], "evenly at the new pace");
    }

    #[tokio::test(start_paused = true)]
    async fn a_lowered_pace_spaces_the_next_call_at_the_new_interval() {
        let l = Limiter::new(Pace::Fixed(6000), 4);
        let t0 = Instant::now();
        drop(l.acquire().await);
        l.observe(&headers(62, 1, Some(1))); // 62 less 2 % (2) → 60/min
        let _s = l.acquire().await;
        assert_eq!(ms_since(t0), 1000);
    }

    #[tokio::test(start_paused = true)]
    async fn exhausted_window_pauses_until_reset_or_one_interval() {
        let l = Limiter::new(Pace::Fixed(6000), 4);
        l.observe(&headers(6, 6, Some(7)));
        assert_eq!(l.pauses(), 1);
        let t0 = Instant::now();
        let _s = l.acquire().await;
        assert_eq!(ms_since(t0), 7000, "reset sooner than 60/6 s");
        // Long after that call, so only the pause holds the next one.
        tokio::time::sleep(Duration::from_secs(60)).await;
        l.observe(&headers(6, 6, Some(50)));
        let t1 = Instant::now();
        let _s = l.acquire().await;
        assert_eq!(ms_since(t1), 10_000, "one call's worth at 6/min");
    }

    #[tokio::test(start_paused = true)]
    async fn off_follows_the_tenant_once_it_answered_a_429() {
        let l = Limiter::new(Pace::Off, 4);
        l.observe(&headers(60, 3, Some(40)));
        assert_eq!(l.current_rate(), None, "unpaced while the tenant lets it");
        l.pause_for(Duration::from_secs(1));
        l.observe(&headers(60, 3, Some(40)));
        assert_eq!(l.current_rate(), Some(58), "60 less 2 %, after the 429");
    }
}
