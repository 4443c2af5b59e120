//! Calls over the run's time in a bounded number of buckets: the bucket width
//! starts at one second and doubles (merging neighbours) whenever the run outgrows
//! [`MAX_BUCKETS`], so a three-day run costs what a three-minute one does.
//!
//! Owns the bucketing only; rates per minute are derived for the chart, which
//! draws them (`charts`).

use chrono::{DateTime, Utc};

/// At most this many buckets are kept.
pub const MAX_BUCKETS: usize = 240;

/// What happened in one bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bucket {
    /// SCIM calls sent (token requests excluded).
    pub calls: u64,
    /// Calls answered 429.
    pub throttled: u64,
    /// Pauses recorded (notes about the shared gate pausing).
    pub pauses: u64,
}

/// Calls per bucket from the first event on.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    start: Option<DateTime<Utc>>,
    width_ms: i64,
    buckets: Vec<Bucket>,
}

impl Default for Timeline {
    fn default() -> Self {
        Self::new()
    }
}

impl Timeline {
    /// An empty timeline with one-second buckets.
    pub fn new() -> Self {
        Timeline {
            start: None,
            width_ms: 1000,
            buckets: Vec::new(),
        }
    }

    /// Sets where bucket 0 starts (the run's start); events before it count in
    /// bucket 0. Without it the first event sets it.
    pub fn start_at(&mut self, ts: DateTime<Utc>) {
        if self.start.is_none() {
            self.start = Some(ts);
        }
    }

    /// The bucket for `ts`, growing (and coarsening) the timeline as needed.
    fn bucket(&mut self, ts: DateTime<Utc>) -> &mut Bucket {
        let start = *self.start.get_or_insert(ts);
        let offset = (ts - start).num_milliseconds().max(0);
        let mut i = offset / self.width_ms;
        while i >= MAX_BUCKETS as i64 {
            self.coarsen();
            i = offset / self.width_ms;
        }
        let i = i as usize;
        if self.buckets.len() <= i {
            self.buckets.resize(i + 1, Bucket::default());
        }
        &mut self.buckets[i]
    }

    /// Doubles the width, merging neighbouring buckets.
    fn coarsen(&mut self) {
        self.width_ms *= 2;
        self.buckets = self
            .buckets
            .chunks(2)
            .map(|c| {
                c.iter().fold(Bucket::default(), |a, b| Bucket {
                    calls: a.calls + b.calls,
                    throttled: a.throttled + b.throttled,
                    pauses: a.pauses + b.pauses,
                })
            })
            .collect();
    }

    /// Counts one call at `ts` (a 429 when `throttled`).
    pub fn call(&mut self, ts: DateTime<Utc>, throttled: bool) {
        let b = self.bucket(ts);
        b.calls += 1;
        if throttled {
            b.throttled += 1;
        }
    }

    /// Counts one pause at `ts`.
    pub fn pause(&mut self, ts: DateTime<Utc>) {
        self.bucket(ts).pauses += 1;
    }

    /// Width of a bucket, in seconds.
    pub fn width_seconds(&self) -> f64 {
        self.width_ms as f64 / 1000.0
    }

    /// The buckets, in time order.
    pub fn buckets(&self) -> &[Bucket] {
        &self.buckets
    }

    /// Each bucket as (minutes since the start, calls per minute in it).
    pub fn rates_per_minute(&self) -> Vec<(f64, f64)> {
        let w = self.width_seconds();
        self.buckets
            .iter()
            .enumerate()
            .map(|(i, b)| (i as f64 * w / 60.0, b.calls as f64 * 60.0 / w))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp_millis(1_790_000_000_000 + ms).unwrap()
    }

    #[test]
    fn calls_land_in_one_second_buckets_while_short() {
        let mut t = Timeline::new();
        t.call(at(0), false);
        t.call(at(999), true);
        t.call(at(2500), false);
        t.pause(at(2600));
        assert_eq!(t.width_seconds(), 1.0);
        let b = t.buckets();
        assert_eq!(b.len(), 3);
        assert_eq!((b[0].calls, b[0].throttled), (2, 1));
        assert_eq!(b[1], Bucket::default());
        assert_eq!((b[2].calls, b[2].pauses), (1, 1));
        assert_eq!(t.rates_per_minute()[0], (0.0, 120.0));
    }

    #[test]
    fn a_long_run_stays_bounded_and_keeps_every_call() {
        let mut t = Timeline::new();
        // Three days, one call every ten seconds, a 429 every hour.
        let n = 3 * 24 * 360;
        for i in 0..n {
            t.call(at(i * 10_000), i % 360 == 0);
        }
        assert!(t.buckets().len() <= MAX_BUCKETS, "{}", t.buckets().len());
        assert_eq!(t.buckets().iter().map(|b| b.calls).sum::<u64>(), n as u64);
        assert_eq!(t.buckets().iter().map(|b| b.throttled).sum::<u64>(), 72);
        // The rate per minute is the same whatever the width: 6 calls a minute.
        let (_, r) = t.rates_per_minute()[5];
        assert!((r - 6.0).abs() < 0.5, "{r}");
    }

    #[test]
    fn events_before_the_start_count_in_the_first_bucket() {
        let mut t = Timeline::new();
        t.start_at(at(5000));
        t.call(at(0), false);
        assert_eq!(t.buckets()[0].calls, 1);
    }
}
