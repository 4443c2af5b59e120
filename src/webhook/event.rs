//! Which rows send an event, and the bodies: one event per user outcome, or a
//! batch of them, each with a stable id (the same on every retry and on a
//! resume's re-send).
//!
//! The type follows the row's action and outcome: a succeeded create, update,
//! reactivate or deactivate sends `user.created`, `user.updated`,
//! `user.reactivated` or `user.deactivated`; a failed or invalid row sends
//! `user.failed`. A row that changed nothing (already equal, a dry run) or is
//! still pending sends none.
//!
//! One event: `{"type","timestamp","data":{run_id,row,external_id,user_name,
//! scim_id,action,outcome,error_kind,error}}` (`timestamp`: when the row ended,
//! RFC 3339 UTC; `row` null for a user a sync deactivates because its source no
//! longer has it). A batch (`--webhook-batch N`): `{"type":"user.batch",
//! "timestamp","data":{"events":[event, ...]}}`, up to N events in the order
//! rows ended.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::journal::OutboxItem;
use crate::ledger::LedgerRow;
use crate::model::{Action, ErrorKind, Outcome};

/// The `type` of a batch's body.
pub const BATCH_TYPE: &str = "user.batch";

/// What happened to a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum EventType {
    /// `user.created`
    #[serde(rename = "user.created")]
    Created,
    /// `user.updated`
    #[serde(rename = "user.updated")]
    Updated,
    /// `user.reactivated`
    #[serde(rename = "user.reactivated")]
    Reactivated,
    /// `user.deactivated`
    #[serde(rename = "user.deactivated")]
    Deactivated,
    /// `user.failed`
    #[serde(rename = "user.failed")]
    Failed,
}

impl EventType {
    /// The event a row with this action and outcome sends, if any.
    pub fn of(action: Action, outcome: Outcome) -> Option<EventType> {
        match (outcome, action) {
            (Outcome::Failed | Outcome::Invalid, _) => Some(EventType::Failed),
            (Outcome::Succeeded, Action::Create) => Some(EventType::Created),
            (Outcome::Succeeded, Action::Update) => Some(EventType::Updated),
            (Outcome::Succeeded, Action::Reactivate) => Some(EventType::Reactivated),
            (Outcome::Succeeded, Action::Deactivate) => Some(EventType::Deactivated),
            _ => None,
        }
    }

    /// The spelling in `type`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Created => "user.created",
            EventType::Updated => "user.updated",
            EventType::Reactivated => "user.reactivated",
            EventType::Deactivated => "user.deactivated",
            EventType::Failed => "user.failed",
        }
    }
}

/// An event's `data`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventData {
    /// The run.
    pub run_id: String,
    /// The 1-based input row (null for a sync's leaver).
    pub row: Option<u64>,
    /// The user's externalId.
    pub external_id: Option<String>,
    /// The user's userName.
    pub user_name: Option<String>,
    /// The user's id in the tenant, when known.
    pub scim_id: Option<String>,
    /// The action (`create`, `update`, ...).
    pub action: &'static str,
    /// The outcome (`succeeded`, `failed`, `invalid`).
    pub outcome: &'static str,
    /// The error kind of a failed row.
    pub error_kind: Option<&'static str>,
    /// The error of a failed row (secrets redacted).
    pub error: Option<String>,
}

/// One user event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserEvent {
    /// What happened.
    #[serde(rename = "type")]
    pub kind: EventType,
    /// When the row ended (RFC 3339, UTC).
    pub timestamp: String,
    /// About whom.
    pub data: EventData,
}

impl UserEvent {
    /// The event `row` sends, if any.
    pub fn for_row(run_id: &str, row: &LedgerRow) -> Option<UserEvent> {
        let kind = EventType::of(row.action, row.outcome)?;
        Some(UserEvent {
            kind,
            timestamp: rfc3339(row.finished_at),
            data: EventData {
                run_id: run_id.to_string(),
                row: crate::model::input_row(row.row),
                external_id: row.external_id.clone(),
                user_name: row.user_name.clone(),
                scim_id: row.scim_id.clone(),
                action: row.action.as_str(),
                outcome: row.outcome.as_str(),
                error_kind: row.error_kind.map(ErrorKind::as_str),
                error: row
                    .error
                    .as_deref()
                    .map(|e| crate::secrets::scrub(e).into_owned()),
            },
        })
    }
}

#[derive(Serialize)]
struct Batch<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    timestamp: String,
    data: BatchData<'a>,
}

#[derive(Serialize)]
struct BatchData<'a> {
    events: &'a [UserEvent],
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A delivery id (`msg_` and 32 hex digits) derived from the run and what the
/// delivery reports, so every attempt and every resume carries the same one.
pub fn event_id(run_id: &str, what: &str, row: u64) -> String {
    let mut h = Sha256::new();
    for part in ["scimport-webhook", run_id, what, &row.to_string()] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    format!("msg_{}", hex::encode(&h.finalize()[..16]))
}

/// The delivery of one event (`row` is the row it reports).
pub fn single(run_id: &str, row: u64, event: &UserEvent) -> OutboxItem {
    OutboxItem {
        id: event_id(run_id, "row", row),
        rows: vec![row],
        // A struct of strings and numbers always serializes.
        body: serde_json::to_string(event).expect("an event serializes"),
    }
}

/// The delivery of a batch of events (`rows[i]` reports `events[i]`); its id
/// follows from its first row, which no other batch of the run holds.
pub fn batch(run_id: &str, rows: Vec<u64>, events: &[UserEvent], now: DateTime<Utc>) -> OutboxItem {
    let first = rows.first().copied().unwrap_or(0);
    let body = Batch {
        kind: BATCH_TYPE,
        timestamp: rfc3339(now),
        data: BatchData { events },
    };
    OutboxItem {
        id: event_id(run_id, "batch", first),
        rows,
        body: serde_json::to_string(&body).expect("a batch serializes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(action: Action, outcome: Outcome) -> LedgerRow {
        let mut r = LedgerRow::without_call(
            7,
            Some("E7".into()),
            Some("u7@example.com".into()),
            action,
            outcome,
            "h".into(),
        );
        r.finished_at = DateTime::from_timestamp(1_790_000_000, 0).expect("in range");
        r
    }

    #[test]
    fn the_type_follows_action_and_outcome_and_no_change_sends_nothing() {
        use Action as A;
        use Outcome as O;
        let cases = [
            (A::Create, O::Succeeded, Some("user.created")),
            (A::Update, O::Succeeded, Some("user.updated")),
            (A::Reactivate, O::Succeeded, Some("user.reactivated")),
            (A::Deactivate, O::Succeeded, Some("user.deactivated")),
            (A::Create, O::Failed, Some("user.failed")),
            (A::None, O::Invalid, Some("user.failed")),
            (A::Skip, O::Succeeded, None),
            (A::Skip, O::Skipped, None),
            (A::Create, O::Skipped, None),
            (A::None, O::Pending, None),
        ];
        for (a, o, want) in cases {
            assert_eq!(
                EventType::of(a, o).map(EventType::as_str),
                want,
                "{a:?} {o:?}"
            );
        }
    }

    #[test]
    fn bodies_have_the_documented_shape_and_stable_ids() {
        let mut r = row(Action::Create, Outcome::Failed);
        r.error_kind = Some(ErrorKind::Conflict);
        r.error = Some("userName taken".into());
        let ev = UserEvent::for_row("run-1", &r).expect("an event");
        let item = single("run-1", 7, &ev);
        let v: serde_json::Value = serde_json::from_str(&item.body).unwrap();
        assert_eq!(v["type"], "user.failed");
        assert_eq!(v["timestamp"], "2026-09-21T14:13:20.000Z");
        assert_eq!(
            v["data"],
            serde_json::json!({"run_id":"run-1","row":7,"external_id":"E7",
                "user_name":"u7@example.com","scim_id":null,"action":"create",
                "outcome":"failed","error_kind":"conflict","error":"userName taken"})
        );
        assert!(item.body.starts_with(r#"{"type":"#), "{}", item.body);
        assert_eq!(item.id, single("run-1", 7, &ev).id);
        assert_ne!(item.id, single("run-2", 7, &ev).id);
        assert_ne!(item.id, event_id("run-1", "batch", 7));
        assert!(item.id.starts_with("msg_") && item.id.len() == 36);
        let b = batch("run-1", vec![7, 8], &[ev.clone(), ev], Utc::now());
        let v: serde_json::Value = serde_json::from_str(&b.body).unwrap();
        assert_eq!(v["type"], BATCH_TYPE);
        assert_eq!(v["data"]["events"].as_array().map(Vec::len), Some(2));
        assert_eq!(b.id, event_id("run-1", "batch", 7));
    }
}
