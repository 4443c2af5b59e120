//! The wall-clock time callers lost waiting for the writer: the union of their
//! waits, not their sum, so that several workers blocked at once count once and the
//! total never exceeds the run's own duration (summary.json `sink_seconds`).

use std::time::Instant;

use parking_lot::Mutex;

/// Accumulates waits as a union of intervals on one clock.
#[derive(Debug)]
pub(super) struct LostTime {
    epoch: Instant,
    /// (end of the last wait counted, total counted), in nanoseconds since `epoch`.
    state: Mutex<(u64, u64)>,
}

impl LostTime {
    pub(super) fn new() -> Self {
        LostTime {
            epoch: Instant::now(),
            state: Mutex::new((0, 0)),
        }
    }

    fn at(&self, t: Instant) -> u64 {
        u64::try_from(t.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX)
    }

    /// Counts a wait from `since` until now, less the part an earlier-ending wait
    /// already counted (waits are counted as they end, so overlaps count once).
    pub(super) fn add(&self, since: Instant) {
        self.add_span(since, Instant::now());
    }

    fn add_span(&self, since: Instant, until: Instant) {
        let (start, end) = (self.at(since), self.at(until));
        let mut s = self.state.lock();
        let from = start.max(s.0);
        if end > from {
            s.1 = s.1.saturating_add(end - from);
        }
        s.0 = s.0.max(end);
    }

    /// Seconds counted so far.
    pub(super) fn seconds(&self) -> f64 {
        self.state.lock().1 as f64 / 1e9
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn overlapping_waits_count_once_and_apart_ones_add_up() {
        let lost = LostTime::new();
        let t0 = lost.epoch;
        let ms = |n| t0 + Duration::from_millis(n);
        // Four workers blocked over the same 100 ms: 100 ms, not 400.
        for _ in 0..4 {
            lost.add_span(ms(0), ms(100));
        }
        // Nested and overlapping: [50, 150] adds only [100, 150].
        lost.add_span(ms(50), ms(150));
        // Apart: [200, 260] adds 60.
        lost.add_span(ms(200), ms(260));
        assert!((lost.seconds() - 0.210).abs() < 1e-9, "{}", lost.seconds());
    }
}
