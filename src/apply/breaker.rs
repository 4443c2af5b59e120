//! The tenant breaker: decides when a tenant that keeps failing (5xx, timeouts,
//! dropped connections) must stop the run, and holds the run's halt (Ctrl-C).
//!
//! Every attempt reports a [`Sample`] of its [`Class`]; when most of the last
//! `window` reads, or most of the last `window` writes, failed for such transient
//! causes, the breaker opens (reads and writes are counted apart so that lookups
//! that answer cannot hide creates that all hang): no new attempt starts
//! (calls wait at [`Breaker::admit`]), and a probe (one cheap GET, sent by
//! `api::probe` after `probe_delay`) decides. A probe that answers closes it
//! again; one that fails is retried once after twice the delay, then the breaker
//! stops the run. A breaker that re-opens `max_trips` times in a row, with
//! answering probes in between (a tenant that answers GETs but hangs on writes),
//! stops it too. A stop (breaker or [`Breaker::halt`]) is final: every waiting
//! and every later call fails with the reason, so its row ends `pending`.
//!
//! The decisions ([`Tracker`]) are plain and synchronous, tested without a
//! network; [`Breaker`] wraps them with the gate calls wait on. Sending the probe
//! is the façade's (`api::probe`); the auth circuit is `api::call`'s.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::sync::watch;

/// Why an attempt counts against the tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cause {
    /// An HTTP 5xx answer.
    ServerError,
    /// No answer within the timeout.
    Timeout,
    /// The connection failed or was dropped.
    Connection,
}

impl Cause {
    fn plural(self) -> &'static str {
        match self {
            Cause::ServerError => "5xx",
            Cause::Timeout => "timeouts",
            Cause::Connection => "dropped connections",
        }
    }
}

/// Which window an attempt counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// GET.
    Read,
    /// POST, PATCH, PUT, DELETE.
    Write,
}

impl Class {
    fn at(self) -> usize {
        match self {
            Class::Read => 0,
            Class::Write => 1,
        }
    }
}

/// How one attempt ended, as the breaker sees it (a 429 is neither: the limiter
/// deals with it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sample {
    /// The tenant answered (2xx, 3xx, 4xx).
    Answered,
    /// The tenant failed.
    Failed(Cause),
}

/// The breaker's thresholds.
#[derive(Debug, Clone)]
pub struct BreakerOptions {
    /// Attempts remembered, per class.
    pub window: usize,
    /// Attempts in a window before it may trip.
    pub min_calls: usize,
    /// Share of failed attempts in the window that trips it (0–1).
    pub failure_ratio: f64,
    /// Wait before the first probe (doubles for the second).
    pub probe_delay: Duration,
    /// Probes sent before an unanswered tenant stops the run.
    pub probes: u32,
    /// Trips in a row (without `window` answered attempts between them) that stop
    /// the run even though the probes answered.
    pub max_trips: u32,
}

impl Default for BreakerOptions {
    fn default() -> Self {
        BreakerOptions {
            window: 20,
            min_calls: 8,
            failure_ratio: 0.8,
            probe_delay: Duration::from_secs(2),
            probes: 2,
            max_trips: 3,
        }
    }
}

/// What the breaker does after a probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeVerdict {
    /// The tenant answered: calls go on.
    Close,
    /// Probe again after this wait.
    Again(Duration),
    /// Stop the run, for this reason.
    Stop(String),
}

/// The breaker's decisions, without I/O or clocks.
#[derive(Debug)]
pub struct Tracker {
    opts: BreakerOptions,
    /// The last attempts, reads and writes apart.
    windows: [VecDeque<Sample>; 2],
    /// What tripped the breaker, while it is open.
    tripped: Option<String>,
    /// Trips since the last healthy stretch.
    trips: u32,
    /// Probes sent since the breaker opened.
    probes: u32,
    /// What the probes since the breaker opened said (for the stop message).
    probe_notes: Vec<String>,
    /// Answered attempts since the breaker last closed, per class.
    answered_since_close: [usize; 2],
    /// The class whose window tripped last.
    tripped_class: Class,
}

impl Tracker {
    /// A closed breaker.
    pub fn new(opts: BreakerOptions) -> Tracker {
        let opts = BreakerOptions {
            window: opts.window.max(1),
            min_calls: opts.min_calls.clamp(1, opts.window.max(1)),
            probes: opts.probes.max(1),
            max_trips: opts.max_trips.max(1),
            ..opts
        };
        Tracker {
            windows: [
                VecDeque::with_capacity(opts.window),
                VecDeque::with_capacity(opts.window),
            ],
            opts,
            tripped: None,
            trips: 0,
            probes: 0,
            probe_notes: Vec::new(),
            answered_since_close: [0; 2],
            tripped_class: Class::Write,
        }
    }

    /// Whether the breaker is open (probing).
    pub fn is_open(&self) -> bool {
        self.tripped.is_some()
    }

    /// Takes in one attempt; true when it opened the breaker (start probing).
    /// Attempts that end while it is open were sent before it opened: ignored.
    pub fn record(&mut self, class: Class, sample: Sample) -> bool {
        if self.is_open() {
            return false;
        }
        let i = class.at();
        let window = &mut self.windows[i];
        if window.len() == self.opts.window {
            window.pop_front();
        }
        window.push_back(sample);
        if sample == Sample::Answered {
            self.answered_since_close[i] += 1;
            // A healthy stretch of the class that tripped forgets earlier trips.
            if class == self.tripped_class && self.answered_since_close[i] >= self.opts.window {
                self.trips = 0;
            }
            return false;
        }
        let failed = failed_in(window);
        let n = window.len();
        if n < self.opts.min_calls || (failed as f64) < self.opts.failure_ratio * n as f64 {
            return false;
        }
        self.trips += 1;
        self.probes = 0;
        self.probe_notes.clear();
        self.tripped_class = class;
        self.tripped = Some(describe(class, window));
        true
    }

    /// The wait before the next probe.
    pub fn probe_delay(&self) -> Duration {
        self.opts
            .probe_delay
            .saturating_mul(1u32 << self.probes.min(8))
    }

    /// Takes in a probe's result (`Err` says how it failed: "timed out", …).
    pub fn probe_result(&mut self, result: Result<(), String>) -> ProbeVerdict {
        let Some(tripped) = self.tripped.clone() else {
            return ProbeVerdict::Close;
        };
        let waited = self.probe_delay();
        self.probes += 1;
        match result {
            Ok(()) if self.trips >= self.opts.max_trips => ProbeVerdict::Stop(format!(
                "{tripped}; it tripped {} times in a row although probes answered in between \
                 (the tenant answers reads but fails these calls)",
                self.trips
            )),
            Ok(()) => {
                self.tripped = None;
                self.windows.iter_mut().for_each(VecDeque::clear);
                self.answered_since_close = [0; 2];
                ProbeVerdict::Close
            }
            Err(how) => {
                let when = if self.probes == 1 {
                    format!("a probe {} later {how} too", secs(waited))
                } else {
                    format!("another {} after that {how}", secs(waited))
                };
                self.probe_notes.push(when);
                if self.probes >= self.opts.probes {
                    ProbeVerdict::Stop(format!("{tripped}; {}", self.probe_notes.join(", ")))
                } else {
                    ProbeVerdict::Again(self.probe_delay())
                }
            }
        }
    }
}

fn failed_in(window: &VecDeque<Sample>) -> usize {
    window
        .iter()
        .filter(|s| matches!(s, Sample::Failed(_)))
        .count()
}

/// "the tenant failed 9 of the last 10 writes (7 timeouts, 2 5xx)".
fn describe(class: Class, window: &VecDeque<Sample>) -> String {
    {
        let mut causes: Vec<(Cause, usize)> = Vec::new();
        for s in window {
            if let Sample::Failed(c) = s {
                match causes.iter_mut().find(|(k, _)| k == c) {
                    Some((_, n)) => *n += 1,
                    None => causes.push((*c, 1)),
                }
            }
        }
        causes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let what: Vec<String> = causes
            .iter()
            .map(|(c, n)| format!("{n} {}", c.plural()))
            .collect();
        format!(
            "the tenant failed {} of the last {} {} ({})",
            failed_in(window),
            window.len(),
            match class {
                Class::Read => "reads",
                Class::Write => "writes",
            },
            what.join(", ")
        )
    }
}

fn secs(d: Duration) -> String {
    format!("{} s", d.as_secs_f64().round())
}

/// Whether calls may go out.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Gate {
    Closed,
    Open,
    Stopped(String),
}

/// The shared breaker: the [`Tracker`] behind a lock, and the gate calls wait on.
#[derive(Debug)]
pub struct Breaker {
    tracker: parking_lot::Mutex<Tracker>,
    gate: watch::Sender<Gate>,
}

impl Breaker {
    /// A closed breaker.
    pub fn new(opts: BreakerOptions) -> Breaker {
        Breaker {
            tracker: parking_lot::Mutex::new(Tracker::new(opts)),
            gate: watch::channel(Gate::Closed).0,
        }
    }

    /// Takes in one attempt; true when it opened the breaker (the caller starts
    /// the probes).
    pub fn record(&self, class: Class, sample: Sample) -> bool {
        if self.stop_reason().is_some() {
            return false;
        }
        let opened = {
            let mut t = self.tracker.lock();
            let opened = t.record(class, sample);
            if opened {
                tracing::warn!(
                    "pausing calls: {}; probing the tenant in {}",
                    t.tripped.as_deref().unwrap_or_default(),
                    secs(t.probe_delay())
                );
            }
            opened
        };
        if opened {
            self.gate.send_if_modified(|g| {
                let change = *g == Gate::Closed;
                if change {
                    *g = Gate::Open;
                }
                change
            });
        }
        opened
    }

    /// Waits while the breaker is open; `Err(reason)` once the run is stopped.
    pub async fn admit(&self) -> Result<(), String> {
        let mut rx = self.gate.subscribe();
        loop {
            match &*rx.borrow_and_update() {
                Gate::Closed => return Ok(()),
                Gate::Stopped(why) => return Err(why.clone()),
                Gate::Open => {}
            }
            if rx.changed().await.is_err() {
                return Ok(());
            }
        }
    }

    /// Whether a call may start now (not open, not stopped).
    pub fn is_closed(&self) -> bool {
        *self.gate.borrow() == Gate::Closed
    }

    /// Resolves with the reason once the run is stopped (breaker or halt).
    pub async fn stopped(&self) -> String {
        let mut rx = self.gate.subscribe();
        loop {
            if let Gate::Stopped(why) = &*rx.borrow_and_update() {
                return why.clone();
            }
            if rx.changed().await.is_err() {
                return std::future::pending().await;
            }
        }
    }

    /// Why the run stopped, once it did.
    pub fn stop_reason(&self) -> Option<String> {
        match &*self.gate.borrow() {
            Gate::Stopped(why) => Some(why.clone()),
            _ => None,
        }
    }

    /// Stops every call from starting (Ctrl-C); the first reason wins.
    pub fn halt(&self, why: String) {
        self.gate.send_if_modified(|g| {
            if matches!(g, Gate::Stopped(_)) {
                false
            } else {
                *g = Gate::Stopped(why);
                true
            }
        });
    }

    /// The wait before the next probe.
    pub fn probe_delay(&self) -> Duration {
        self.tracker.lock().probe_delay()
    }

    /// Takes in a probe's result; `Some(wait)` when another probe must follow.
    pub fn probe_result(&self, result: Result<(), String>) -> Option<Duration> {
        let verdict = self.tracker.lock().probe_result(result);
        match verdict {
            ProbeVerdict::Close => {
                let closed = self.gate.send_if_modified(|g| {
                    let change = *g == Gate::Open;
                    if change {
                        *g = Gate::Closed;
                    }
                    change
                });
                if closed {
                    tracing::warn!("the tenant answered a probe: calls go on");
                }
                None
            }
            ProbeVerdict::Again(wait) => Some(wait),
            ProbeVerdict::Stop(why) => {
                self.halt(why);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests;
