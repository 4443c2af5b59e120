//! One audit event: a decision about a row, an HTTP call, or a marker of the log's
//! own life (start, resume, seal).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{Action, Outcome};

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
    /// A webhook delivery failed for good (every attempt, or refused); the row it
    /// reports keeps its outcome. `detail` names the delivery id and why.
    WebhookFailed,
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

/// `ts` as `YYYY-MM-DDTHH:MM:SS.ffffffZ`, formatted by hand: chrono's general
/// formatter was the largest cost of an audit line. `None` outside years 0..=9999.
/// Lines come many to a second, so the last second's text is kept (per thread) and
/// only the microseconds are written again when the second is the same.
fn format_ts(ts: &DateTime<Utc>) -> Option<[u8; 27]> {
    thread_local! {
        static LAST: std::cell::Cell<(i64, [u8; 27])> = const { std::cell::Cell::new((i64::MIN, [0; 27])) };
    }
    let secs = ts.timestamp();
    let (last_secs, mut b) = LAST.get();
    if secs != last_secs {
        b = format_ts_full(ts)?;
        LAST.set((secs, b));
        return Some(b);
    }
    let mut v = ts.timestamp_subsec_micros() % 1_000_000;
    for i in (20..26).rev() {
        b[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
    Some(b)
}

/// [`format_ts`] without the cache.
fn format_ts_full(ts: &DateTime<Utc>) -> Option<[u8; 27]> {
    use chrono::{Datelike, Timelike};
    let mut b = *b"0000-00-00T00:00:00.000000Z";
    let mut put = |at: usize, width: usize, mut v: u32| {
        for i in (at..at + width).rev() {
            b[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    // Through the naive UTC value: `DateTime`'s own accessors add a (zero) offset first.
    let ts = ts.naive_utc();
    let year = ts.year();
    if !(0..=9999).contains(&year) {
        return None;
    }
    put(0, 4, year as u32);
    put(5, 2, ts.month());
    put(8, 2, ts.day());
    put(11, 2, ts.hour());
    put(14, 2, ts.minute());
    put(17, 2, ts.second().min(59));
    put(20, 6, (ts.nanosecond() % 1_000_000_000) / 1000);
    Some(b)
}

fn serialize_ts<S: serde::Serializer>(ts: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    match format_ts(ts) {
        Some(b) => s.serialize_str(std::str::from_utf8(&b).map_err(serde::ser::Error::custom)?),
        None => s.collect_str(&ts.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
    }
}

impl EventKind {
    /// The JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Start => "start",
            EventKind::Decision => "decision",
            EventKind::Call => "call",
            EventKind::Note => "note",
            EventKind::Resume => "resume",
            EventKind::Seal => "seal",
            EventKind::WebhookFailed => "webhook_failed",
        }
    }
}

/// A borrowed audit event: what [`AuditEvent`] holds, without owning its strings, so
/// a writer can log a row or a call without building (allocating) an event first.
/// Encoded exactly as the same [`AuditEvent`] would be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EventRef<'a> {
    /// When it happened.
    pub ts: DateTime<Utc>,
    /// What kind of event.
    pub kind: EventKind,
    /// The 1-based input row.
    pub row: Option<u64>,
    /// The action.
    pub action: Option<Action>,
    /// HTTP method.
    pub method: Option<&'a str>,
    /// HTTP path (redacted by the log when written).
    pub path: Option<&'a str>,
    /// HTTP status.
    pub status: Option<u16>,
    /// Latency in milliseconds.
    pub latency_ms: Option<f64>,
    /// 1-based attempt.
    pub attempt: Option<u32>,
    /// Outcome.
    pub outcome: Option<&'a str>,
    /// Free text (redacted by the log when written).
    pub detail: Option<&'a str>,
}

impl<'a> EventRef<'a> {
    /// An event of `kind` at `ts`, every optional field empty.
    pub fn new(kind: EventKind, ts: DateTime<Utc>) -> Self {
        EventRef {
            ts,
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

    /// Appends the event's fields as JSON object members (`"ts":...,"kind":...`),
    /// without braces, in [`AuditEvent`]'s field order; `path` and `detail` are given
    /// already redacted by the caller.
    pub(crate) fn write_fields(&self, out: &mut Vec<u8>, path: Option<&str>, detail: Option<&str>) {
        out.extend_from_slice(b"\"ts\":");
        match format_ts(&self.ts) {
            Some(b) => {
                out.push(b'"');
                out.extend_from_slice(&b);
                out.push(b'"');
            }
            None => json_str(
                out,
                &self.ts.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            ),
        }
        out.extend_from_slice(b",\"kind\":\"");
        out.extend_from_slice(self.kind.as_str().as_bytes());
        out.push(b'"');
        if let Some(row) = self.row {
            out.extend_from_slice(b",\"row\":");
            push_u64(out, row);
        }
        if let Some(a) = self.action {
            out.extend_from_slice(b",\"action\":\"");
            out.extend_from_slice(a.as_str().as_bytes());
            out.push(b'"');
        }
        if let Some(m) = self.method {
            out.extend_from_slice(b",\"method\":");
            json_str(out, m);
        }
        if let Some(p) = path {
            out.extend_from_slice(b",\"path\":");
            json_str(out, p);
        }
        if let Some(s) = self.status {
            out.extend_from_slice(b",\"status\":");
            push_u64(out, u64::from(s));
        }
        if let Some(l) = self.latency_ms {
            out.extend_from_slice(b",\"latency_ms\":");
            json_f64(out, l);
        }
        if let Some(a) = self.attempt {
            out.extend_from_slice(b",\"attempt\":");
            push_u64(out, u64::from(a));
        }
        if let Some(o) = self.outcome {
            out.extend_from_slice(b",\"outcome\":");
            json_str(out, o);
        }
        if let Some(d) = detail {
            out.extend_from_slice(b",\"detail\":");
            json_str(out, d);
        }
    }
}

/// Appends `s` as a JSON string; plain ASCII without quotes or escapes is copied as is.
pub(crate) fn json_str(out: &mut Vec<u8>, s: &str) {
    let plain = s
        .bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\');
    if plain {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        // Writing to a Vec cannot fail, and a str always encodes.
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

/// Appends `v` in decimal.
pub(crate) fn push_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// Appends `v` as serde_json writes it (`null` when not finite).
fn json_f64(out: &mut Vec<u8>, v: f64) {
    if v.is_finite() && v == v.trunc() && v.abs() < 1e15 {
        // The common case (whole milliseconds): `12.0`, as serde_json writes it.
        if v.is_sign_negative() {
            out.push(b'-');
        }
        push_u64(out, v.abs() as u64);
        out.extend_from_slice(b".0");
    } else {
        let _ = serde_json::to_writer(&mut *out, &v);
    }
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

    /// The event, borrowed.
    pub fn as_ref(&self) -> EventRef<'_> {
        EventRef {
            ts: self.ts,
            kind: self.kind,
            row: self.row,
            action: self.action,
            method: self.method.as_deref(),
            path: self.path.as_deref(),
            status: self.status,
            latency_ms: self.latency_ms,
            attempt: self.attempt,
            outcome: self.outcome.as_deref(),
            detail: self.detail.as_deref(),
        }
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

    fn by_hand(ev: &AuditEvent) -> String {
        let mut out = vec![b'{'];
        let r = ev.as_ref();
        r.write_fields(&mut out, r.path, r.detail);
        out.push(b'}');
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn cached_timestamps_equal_fresh_ones() {
        let base = 1_795_000_000_000_000i64;
        for d in [
            0, 1, 999_999, 1_000_000, 1_000_001, 59_999_999, 60_000_000, 5, 3,
        ] {
            let ts = DateTime::<Utc>::from_timestamp_micros(base + d).unwrap();
            assert_eq!(format_ts(&ts), format_ts_full(&ts), "+{d} us");
            assert_eq!(
                format_ts(&ts).map(|b| String::from_utf8(b.to_vec()).unwrap()),
                Some(ts.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
            );
        }
    }

    #[test]
    fn the_hand_encoder_writes_what_serde_writes() {
        let ts = DateTime::<Utc>::from_timestamp(1_795_000_000, 7_000).unwrap();
        let mut events = vec![
            AuditEvent::new(EventKind::Start),
            AuditEvent::decision(3, Action::Update, Outcome::Failed)
                .with_detail("409 \"conflict\" \\ \u{1}\n é")
                .with_latency_ms(12.0),
            AuditEvent::call(Some(9), "PATCH", "/users/a b", Some(200), 0.125, 2)
                .with_outcome("retry"),
            AuditEvent::call(None, "GET", "/users", None, -3.0, 1),
            AuditEvent::call(None, "GET", "/users", None, 1e300, 1),
            AuditEvent::note("paused").with_action(Action::Skip),
        ];
        for ev in &mut events {
            ev.ts = ts;
        }
        for ev in &events {
            assert_eq!(by_hand(ev), serde_json::to_string(ev).unwrap());
        }
        let far = AuditEvent {
            ts: DateTime::<Utc>::from_timestamp(-70_000_000_000, 0).unwrap(),
            ..AuditEvent::new(EventKind::Note)
        };
        assert_eq!(by_hand(&far), serde_json::to_string(&far).unwrap());
    }
}
