//! A fixed-size latency histogram: log-spaced buckets from 0.01 ms to about 28
//! hours, so a million calls cost the same few kilobytes as ten, and p50/p95/p99
//! come out within a bucket's width (about 5%).
//!
//! Owns only the counting and the percentiles; the chart that draws it lives in
//! `charts`.

/// Buckets per decade: each bucket is 10^(1/48) ≈ 4.9% wider than the last.
const PER_DECADE: usize = 48;
/// The lower edge of the first bucket, in ms (anything below counts there).
const MIN_MS: f64 = 0.01;
/// Decades covered: 0.01 ms to 10^8 ms (anything above counts in the last bucket).
const DECADES: usize = 10;
/// Number of buckets.
pub const BUCKETS: usize = PER_DECADE * DECADES;

/// Counts of latencies in log-spaced buckets.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyHistogram {
    counts: Vec<u64>,
    total: u64,
    max_ms: f64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl LatencyHistogram {
    /// An empty histogram.
    pub fn new() -> Self {
        LatencyHistogram {
            counts: vec![0; BUCKETS],
            total: 0,
            max_ms: 0.0,
        }
    }

    /// The bucket `ms` falls in (NaN and negatives in the first).
    fn index(ms: f64) -> usize {
        // NaN fails every comparison, so it lands here too.
        if ms.is_nan() || ms <= MIN_MS {
            return 0;
        }
        let i = ((ms / MIN_MS).log10() * PER_DECADE as f64).floor();
        if i >= BUCKETS as f64 {
            BUCKETS - 1
        } else {
            i as usize
        }
    }

    /// The lower edge of bucket `i`, in ms.
    pub fn lower_edge(i: usize) -> f64 {
        MIN_MS * 10f64.powf(i as f64 / PER_DECADE as f64)
    }

    /// Counts one latency.
    pub fn record(&mut self, ms: f64) {
        self.counts[Self::index(ms)] += 1;
        self.total += 1;
        if ms.is_finite() && ms > self.max_ms {
            self.max_ms = ms;
        }
    }

    /// Latencies counted.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The largest latency counted, in ms.
    pub fn max_ms(&self) -> f64 {
        self.max_ms
    }

    /// The latency below which a share `q` (0..=1) of the calls fall: the
    /// geometric middle of the bucket holding that rank (never above the largest
    /// latency seen); `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, n) in self.counts.iter().enumerate() {
            seen += n;
            if seen >= rank {
                let mid = (Self::lower_edge(i) * Self::lower_edge(i + 1)).sqrt();
                return Some(mid.min(self.max_ms));
            }
        }
        Some(self.max_ms)
    }

    /// The non-empty span of buckets merged into at most `bars` bars, each as
    /// (lower edge ms, upper edge ms, count), in order; empty when nothing was counted.
    pub fn bars(&self, bars: usize) -> Vec<(f64, f64, u64)> {
        let first = self.counts.iter().position(|&n| n > 0);
        let last = self.counts.iter().rposition(|&n| n > 0);
        let (Some(first), Some(last)) = (first, last) else {
            return Vec::new();
        };
        let span = last - first + 1;
        let per = span.div_ceil(bars.max(1));
        (first..=last)
            .step_by(per)
            .map(|lo| {
                let hi = (lo + per).min(last + 1);
                let n = self.counts[lo..hi].iter().sum();
                (Self::lower_edge(lo), Self::lower_edge(hi), n)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_uniform_spread_are_within_a_bucket() {
        let mut h = LatencyHistogram::new();
        for ms in 1..=1000 {
            h.record(ms as f64);
        }
        for (q, want) in [(0.5, 500.0), (0.95, 950.0), (0.99, 990.0)] {
            let got = h.quantile(q).unwrap();
            assert!(
                (got - want).abs() / want < 0.05,
                "p{q}: {got} is not within 5% of {want}"
            );
        }
        assert_eq!(h.total(), 1000);
        assert_eq!(h.max_ms(), 1000.0);
    }

    #[test]
    fn a_skewed_spread_has_its_tail_in_p99() {
        let mut h = LatencyHistogram::new();
        for _ in 0..990 {
            h.record(5.0);
        }
        for _ in 0..10 {
            h.record(2000.0);
        }
        assert!((h.quantile(0.5).unwrap() - 5.0).abs() < 0.3);
        assert!((h.quantile(0.99).unwrap() - 5.0).abs() < 0.3);
        assert!(h.quantile(0.999).unwrap() > 1900.0);
    }

    #[test]
    fn empty_odd_and_huge_values_stay_in_range() {
        let mut h = LatencyHistogram::new();
        assert_eq!(h.quantile(0.5), None);
        assert!(h.bars(10).is_empty());
        for ms in [f64::NAN, -3.0, 0.0, 1e12, f64::INFINITY] {
            h.record(ms);
        }
        assert_eq!(h.total(), 5);
        assert!(h.quantile(1.0).is_some());
    }

    #[test]
    fn bars_cover_every_count_once() {
        let mut h = LatencyHistogram::new();
        for ms in 1..=5000 {
            h.record(ms as f64 / 10.0);
        }
        let bars = h.bars(24);
        assert!(bars.len() <= 24, "{}", bars.len());
        assert_eq!(bars.iter().map(|b| b.2).sum::<u64>(), 5000);
        assert!(bars.windows(2).all(|w| w[0].1 <= w[1].0 + 1e-9));
    }
}
