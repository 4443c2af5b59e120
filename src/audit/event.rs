//! One audit event: a decision about a row, an HTTP call, or a marker of the log's
//! own life (start, resume, seal).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ledger::{Action, Outcome};

/// What an audit line records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// First line of a log (written by `AuditLog::create`).
    Start,
    /// What was decided for a row (action, outcome).
    Decision,
    /// One HTTP call (method, path, status, latency, attempt).
    Call,
    /// Anything else worth keeping (a pause on 429, a circuit opening...).
    Note,
    /// A resumed run continues the log here (written by `AuditLog::open_append`).
    Resume,
    /// Last line of a closed log (written by `AuditLog::close`).
    Seal,
}

/// One audit event. The log adds `seq`, `prev_sha256` and `run_id` to each line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// When it happened (UTC; written as RFC 3339 with microseconds).
    #[serde(serialize_with = "serialize_ts")]
    pub ts: DateTime<Utc>,
    /// What kind of event.
    pub kind: EventKind,
    /// The 1-based input row, when the event is about a row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row: Option<u64>,
    /// The action decided or being applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
    /// HTTP method of a call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// HTTP path (and query) of a call; redacted of secrets when written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// HTTP status; `None` when no response arrived (timeout, dropped connection).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Latency of the call, or of the row's calls for a decision, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    /// 1-based attempt number of a call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt: Option<u32>,
    /// Outcome: a row's ledger outcome for a decision; for a call, e.g. `ok`, `retry`,
    /// `error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// Free text (error detail, reason); redacted of secrets when written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Writes `ts` as `YYYY-MM-DDTHH:MM:SS.ffffffZ` by hand: chrono's general formatter
/// was the largest cost of an audit line.
fn serialize_ts<S: serde::Serializer>(ts: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    use chrono::{Datelike, Timelike};
    let mut b = *b"0000-00-00T00:00:00.000000Z";
    let mut put = |at: usize, width: usize, mut v: u32| {
        for i in (at..at + width).rev() {
            b[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    let year = ts.year();
    if !(0..=9999).contains(&year) {
        return s.collect_str(&ts.to_rfc3339_opts(chrono::SecondsFormat::Micros, true));
    }
    put(0, 4, year as u32);
    put(5, 2, ts.month());
    put(8, 2, ts.day());
    put(11, 2, ts.hour());
    put(14, 2, ts.minute());
    put(17, 2, ts.second().min(59));
    put(20, 6, (ts.nanosecond() % 1_000_000_000) / 1000);
    s.serialize_str(std::str::from_utf8(&b).map_err(serde::ser::Error::custom)?)
}

impl AuditEvent {
    /// An event of `kind` now, with every optional field empty.
    pub fn new(kind: EventKind) -> AuditEvent {
        AuditEvent {
            ts: Utc::now(),
            kind,
            row: None,
            action: None,
            method: None,
            path: None,
            status: None,
            latency_ms: None,
            attempt: None,
            outcome: None,
            detail: None,
        }
    }

    /// A decision about `row`: `action` with final (or planned) `outcome`.
    pub fn decision(row: u64, action: Action, outcome: Outcome) -> AuditEvent {
        AuditEvent {
            row: Some(row),
            action: Some(action),
            outcome: Some(outcome.as_str().to_string()),
            ..AuditEvent::new(EventKind::Decision)
        }
    }

    /// An HTTP call made for `row` (`None` for calls not tied to a row, e.g. a
    /// prefetch page).
    pub fn call(
        row: Option<u64>,
        method: &str,
        path: &str,
        status: Option<u16>,
        latency_ms: f64,
        attempt: u32,
    ) -> AuditEvent {
        AuditEvent {
            row,
            method: Some(method.to_string()),
            path: Some(path.to_string()),
            status,
            latency_ms: Some(latency_ms),
            attempt: Some(attempt),
            ..AuditEvent::new(EventKind::Call)
        }
    }

    /// A note with free text.
    pub fn note(detail: impl Into<String>) -> AuditEvent {
        AuditEvent {
            detail: Some(detail.into()),
            ..AuditEvent::new(EventKind::Note)
        }
    }

    /// Sets `outcome`.
    pub fn with_outcome(mut self, outcome: impl Into<String>) -> AuditEvent {
        self.outcome = Some(outcome.into());
        self
    }

    /// Sets `detail`.
    pub fn with_detail(mut self, detail: impl Into<String>) -> AuditEvent {
        self.detail = Some(detail.into());
        self
    }

    /// Sets `action`.
    pub fn with_action(mut self, action: Action) -> AuditEvent {
        self.action = Some(action);
        self
    }

    /// Sets `latency_ms`.
    pub fn with_latency_ms(mut self, latency_ms: f64) -> AuditEvent {
        self.latency_ms = Some(latency_ms);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ts_is_rfc3339_micros_and_round_trips() {
        let ts = DateTime::<Utc>::from_timestamp(1_795_000_000, 123_456_789).unwrap();
        let ev = AuditEvent {
            ts,
            ..AuditEvent::new(EventKind::Note)
        };
        let json = serde_json::to_value(&ev).unwrap();
        assert_eq!(
            json["ts"],
            ts.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
        );
        assert_eq!(json["ts"], "2026-11-18T11:06:40.123456Z");
        let back: AuditEvent = serde_json::from_value(json).unwrap();
        assert_eq!(back.ts.timestamp_micros(), ts.timestamp_micros());
    }
}
