//! The audit log, streamed once into what the report shows: calls over time (with
//! 429s and pauses), a latency histogram, the run's first and last timestamps,
//! the head (SHA-256 of the last line) and whether the log is sealed.
//!
//! Reads line by line and keeps only the last line whole, so memory does not grow
//! with the log. Does not check the chain (see `audit::verify`).

use std::io::BufRead;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::error::ReportError;
use super::histogram::LatencyHistogram;
use super::timeline::Timeline;
use crate::audit::EventKind;
use crate::model::Outcome;

/// The parts of an audit line the report reads; the rest is skipped.
#[derive(Deserialize)]
struct Line<'a> {
    ts: DateTime<Utc>,
    kind: EventKind,
    #[serde(default)]
    row: Option<u64>,
    #[serde(borrow, default)]
    path: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    status: Option<u16>,
    #[serde(default)]
    latency_ms: Option<f64>,
    #[serde(borrow, default)]
    detail: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    outcome: Option<std::borrow::Cow<'a, str>>,
}

/// Everything the report takes from the audit log.
#[derive(Debug, Clone, Default)]
pub struct AuditStats {
    /// Complete lines read.
    pub lines: u64,
    /// SCIM calls (token requests excluded).
    pub calls: u64,
    /// Calls answered 429.
    pub throttled: u64,
    /// Pause notes.
    pub pauses: u64,
    /// Calls over time.
    pub timeline: Timeline,
    /// The calls' latencies.
    pub latency: LatencyHistogram,
    /// The first line's timestamp.
    pub first: Option<DateTime<Utc>>,
    /// The last line's timestamp.
    pub last: Option<DateTime<Utc>>,
    /// Lowercase hex SHA-256 of the last complete line (the head, when sealed).
    pub head: Option<String>,
    /// Whether the last line is a seal.
    pub sealed: bool,
    /// Lines that are not audit events this release can read (left out).
    pub unreadable: u64,
    /// The first of them, and why.
    pub first_unreadable: Option<String>,
    /// Each input row's last decided outcome (what an unfinished run did so far),
    /// one byte per row: 0 undecided, else 1 + the index in [`Outcome::ALL`].
    last_outcome: Vec<u8>,
    /// Decisions about rows without an input row number (a sync's leavers), per
    /// outcome.
    unnumbered: std::collections::BTreeMap<&'static str, u64>,
}

/// Rows past this number are not tracked one by one (a bound on memory: one byte
/// per row up to here).
const MAX_TRACKED_ROW: u64 = 100_000_000;

impl AuditStats {
    /// Counts one event.
    fn add(&mut self, l: &Line<'_>) {
        self.first.get_or_insert(l.ts);
        self.last = Some(l.ts);
        self.sealed = l.kind == EventKind::Seal;
        match l.kind {
            EventKind::Start => self.timeline.start_at(l.ts),
            EventKind::Call if l.path.as_deref() != Some("/oauth/token") => {
                let throttled = l.status == Some(429);
                self.calls += 1;
                self.throttled += u64::from(throttled);
                self.timeline.call(l.ts, throttled);
                if let Some(ms) = l.latency_ms {
                    self.latency.record(ms);
                }
            }
            EventKind::Note if l.detail.as_deref().is_some_and(|d| d.contains("pause")) => {
                self.pauses += 1;
                self.timeline.pause(l.ts);
            }
            EventKind::Decision => {
                let Some(o) = l.outcome.as_deref().and_then(Outcome::parse) else {
                    return;
                };
                match l.row.filter(|r| (1..=MAX_TRACKED_ROW).contains(r)) {
                    Some(row) => {
                        let i = (row - 1) as usize;
                        if self.last_outcome.len() <= i {
                            self.last_outcome.resize(i + 1, 0);
                        }
                        let code = Outcome::ALL.iter().position(|x| *x == o).unwrap_or(0);
                        self.last_outcome[i] = code as u8 + 1;
                    }
                    None => *self.unnumbered.entry(o.as_str()).or_default() += 1,
                }
            }
            _ => {}
        }
    }
}

impl AuditStats {
    /// Rows per outcome, by the last decision the log holds for each row (every
    /// outcome a key): what an unfinished run, with no ledger, did so far.
    pub fn decisions(&self) -> std::collections::BTreeMap<&'static str, u64> {
        let mut m: std::collections::BTreeMap<&'static str, u64> =
            Outcome::ALL.iter().map(|o| (o.as_str(), 0)).collect();
        for &code in &self.last_outcome {
            if let Some(o) = (code as usize)
                .checked_sub(1)
                .and_then(|i| Outcome::ALL.get(i))
            {
                *m.entry(o.as_str()).or_default() += 1;
            }
        }
        for (o, n) in &self.unnumbered {
            *m.entry(o).or_default() += n;
        }
        m
    }
}

/// Streams the audit log at `path` into [`AuditStats`]. A torn last line (a crash
/// mid-write) is left out, as `audit verify` does.
pub fn scan_audit(path: &Path) -> Result<AuditStats, ReportError> {
    let io = |source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
    let mut stats = AuditStats::default();
    let (mut buf, mut last) = (Vec::new(), Vec::new());
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf).map_err(io)?;
        if n == 0 || buf.last() != Some(&b'\n') {
            break;
        }
        stats.lines += 1;
        let text = &buf[..n - 1];
        // A line this release cannot read (damaged, or written by a newer one)
        // is counted and left out: the rest of the page still stands.
        match serde_json::from_slice::<Line<'_>>(text) {
            Ok(line) => stats.add(&line),
            Err(e) => {
                stats.unreadable += 1;
                stats
                    .first_unreadable
                    .get_or_insert_with(|| format!("line {}: {e}", stats.lines));
            }
        }
        std::mem::swap(&mut buf, &mut last);
    }
    // After the swap `last` holds the last complete line (with its newline).
    if stats.lines > 0 {
        let text = last.strip_suffix(b"\n").unwrap_or(&last);
        stats.head = Some(hex::encode(Sha256::digest(text)));
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{AuditEvent, AuditLog};
    use crate::model::Action;

    #[test]
    fn an_unfinished_run_counts_each_row_by_its_last_decision() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("audit.jsonl");
        let mut log = AuditLog::create(&p, "r").unwrap();
        for (row, o) in [
            (1, Outcome::Pending),
            (2, Outcome::Pending),
            (1, Outcome::Succeeded),
            (3, Outcome::Invalid),
            (2, Outcome::Failed),
        ] {
            log.append(&AuditEvent::decision(row, Action::Create, o))
                .unwrap();
        }
        drop(log);
        let d = scan_audit(&p).unwrap().decisions();
        assert_eq!(
            (d["succeeded"], d["failed"], d["invalid"], d["pending"]),
            (1, 1, 1, 0)
        );
    }

    #[test]
    fn calls_429s_latency_and_the_head_come_from_the_log() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("audit.jsonl");
        let mut log = AuditLog::create(&p, "r").unwrap();
        let call = |status: u16, ms: f64| AuditEvent {
            method: Some("POST".into()),
            path: Some("/Users".into()),
            status: Some(status),
            latency_ms: Some(ms),
            attempt: Some(1),
            outcome: Some("ok".into()),
            ..AuditEvent::new(EventKind::Call)
        };
        let token = AuditEvent {
            path: Some("/oauth/token".into()),
            ..call(200, 1.0)
        };
        log.append(&token).unwrap();
        for i in 0..10 {
            log.append(&call(if i == 3 { 429 } else { 201 }, 10.0 + i as f64))
                .unwrap();
        }
        log.append(&AuditEvent::note("paused 2 s: 429 Retry-After"))
            .unwrap();
        let sealed = log.close().unwrap();
        let s = scan_audit(&p).unwrap();
        assert_eq!((s.calls, s.throttled, s.pauses), (10, 1, 1));
        assert_eq!(s.latency.total(), 10);
        assert!(s.sealed);
        assert_eq!(s.lines, 14);
        let report = crate::audit::verify(&p).unwrap();
        assert_eq!(s.head, report.head, "the head is the verifier's");
        let _ = sealed;
        assert_eq!(
            s.timeline.buckets().iter().map(|b| b.calls).sum::<u64>(),
            10
        );
    }

    #[test]
    fn a_damaged_line_is_counted_and_left_out() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("audit.jsonl");
        let mut log = AuditLog::create(&p, "r").unwrap();
        log.append(&AuditEvent::note("x")).unwrap();
        log.close().unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        std::fs::write(&p, format!("not json\n{text}")).unwrap();
        let s = scan_audit(&p).unwrap();
        assert_eq!((s.lines, s.unreadable), (4, 1));
        assert!(s.first_unreadable.unwrap().starts_with("line 1: "));
        assert!(s.sealed);
    }

    #[test]
    fn an_unsealed_log_with_a_torn_tail_is_read_up_to_it() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("audit.jsonl");
        let mut log = AuditLog::create(&p, "r").unwrap();
        log.append(&AuditEvent::note("x")).unwrap();
        drop(log);
        let mut text = std::fs::read_to_string(&p).unwrap();
        text.push_str("{\"seq\":3,\"ts\":\"2026");
        std::fs::write(&p, text).unwrap();
        let s = scan_audit(&p).unwrap();
        assert!(!s.sealed);
        assert_eq!(s.lines, 2);
        assert_eq!(s.decisions().values().sum::<u64>(), 0);
        assert_eq!(s.unreadable, 0, "a torn tail is not a damaged line");
    }
}
