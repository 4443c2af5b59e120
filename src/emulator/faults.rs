//! Deterministic fault injection for tests: `--fail-rate` (random 500/502/503 before
//! the request is applied), `--drop-rate` (the connection is closed with no answer,
//! either before or after the request is applied), `--latency-ms MIN..MAX`, all drawn
//! from one generator seeded by `--seed`.
//!
//! Owns the decisions; the server carries them out on the SCIM and platform API only.

use std::time::Duration;

use parking_lot::Mutex;
use rand::Rng;
use rand::rngs::SmallRng;

use super::config::LatencyRange;

/// What to do to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// Serve normally.
    None,
    /// Answer this 5xx without applying the request.
    Fail(u16),
    /// Close the connection without applying the request.
    DropBefore,
    /// Apply the request, then close the connection without answering.
    DropAfter,
}

/// The fault settings and their generator.
#[derive(Debug)]
pub(crate) struct Faults {
    fail_rate: f64,
    drop_rate: f64,
    latency: Option<LatencyRange>,
    rng: Mutex<SmallRng>,
}

impl Faults {
    /// Fault settings drawing from `rng`.
    pub fn new(
        fail_rate: f64,
        drop_rate: f64,
        latency: Option<LatencyRange>,
        rng: SmallRng,
    ) -> Self {
        Self {
            fail_rate,
            drop_rate,
            latency,
            rng: Mutex::new(rng),
        }
    }

    /// Whether any fault or latency is configured (the fast path skips the lock).
    pub fn active(&self) -> bool {
        self.fail_rate > 0.0 || self.drop_rate > 0.0 || self.latency.is_some()
    }

    /// Draws the delay and the fault for one request.
    pub fn decide(&self) -> (Option<Duration>, Fault) {
        if !self.active() {
            return (None, Fault::None);
        }
        let mut rng = self.rng.lock();
        let delay = self
            .latency
            .map(|l| Duration::from_millis(rng.random_range(l.min..=l.max)));
        let fault = if self.drop_rate > 0.0 && rng.random_bool(self.drop_rate) {
            if rng.random_bool(0.5) {
                Fault::DropBefore
            } else {
                Fault::DropAfter
            }
        } else if self.fail_rate > 0.0 && rng.random_bool(self.fail_rate) {
            [500, 502, 503][rng.random_range(0..3)].into()
        } else {
            Fault::None
        };
        (delay, fault)
    }
}

impl From<u16> for Fault {
    fn from(status: u16) -> Self {
        Fault::Fail(status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn draws(seed: u64) -> Vec<Fault> {
        let f = Faults::new(
            0.3,
            0.2,
            Some(LatencyRange { min: 1, max: 3 }),
            SmallRng::seed_from_u64(seed),
        );
        (0..200).map(|_| f.decide().1).collect()
    }

    #[test]
    fn seeded_faults_repeat_and_mix() {
        let a = draws(9);
        assert_eq!(a, draws(9));
        for want in [Fault::DropBefore, Fault::DropAfter, Fault::None] {
            assert!(a.contains(&want), "{want:?}");
        }
        assert!(a.iter().any(|f| matches!(f, Fault::Fail(500 | 502 | 503))));
        let none = Faults::new(0.0, 0.0, None, SmallRng::seed_from_u64(1));
        assert!(!none.active());
        assert_eq!(none.decide(), (None, Fault::None));
    }
}
