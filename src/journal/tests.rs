//! Journal tests: replay, torn lines, corruption, redaction, ledger rebuild.

use std::io::Write;
use std::path::Path;

use chrono::Utc;

use super::*;
use crate::ledger::{LedgerRow, read_ledger};
use crate::model::{Action, Outcome};

fn meta() -> RunMeta {
    RunMeta {
        run_id: "20261123T061500Z-3fa2".into(),
        input: "hr.csv".into(),
        input_sha256: "ab".repeat(32),
        mapping: "mapping.toml".into(),
        target: "https://admin:hunter2@api.example.com".into(),
        dry_run: false,
        created_at: Utc::now(),
        args: ["scimport", "import", "--client-secret", "hunter2"]
            .map(String::from)
            .to_vec(),
        row_column: None,
        only_rows: None,
    }
}

fn row(n: u64, outcome: Outcome) -> LedgerRow {
    LedgerRow {
        row: n,
        external_id: Some(format!("E{n}")),
        user_name: Some(format!("u{n}@example.com")),
        action: Action::Create,
        outcome,
        http_status: Some(201),
        scim_id: Some(format!("id-{n}")),
        attempts: 1,
        latency_ms: 3.5,
        error_kind: None,
        error: None,
        changed_fields: vec!["userName".into()],
        source_hash: "h".into(),
        finished_at: chrono::DateTime::from_timestamp(1_790_000_000, 123_456_000)
            .expect("in range"),
        warning: None,
        wait_ms: 0.0,
    }
}

fn write_run(path: &Path) {
    let mut j = Journal::create(path, &meta()).unwrap();
    j.set_sync_policy(SyncPolicy::OnClose);
    for n in 1..=5 {
        j.intent(n, Action::Create, &format!("E{n}")).unwrap();
    }
    for n in [1, 3, 4] {
        j.outcome(&row(n, Outcome::Succeeded)).unwrap();
    }
    j.close().unwrap();
}

#[test]
fn replay_splits_done_and_in_flight_and_never_stores_secrets() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("journal.jsonl");
    write_run(&p);
    let (_j, s) = Journal::open(&p).unwrap();
    assert_eq!(s.done.keys().copied().collect::<Vec<_>>(), [1, 3, 4]);
    assert_eq!(s.in_flight.keys().copied().collect::<Vec<_>>(), [2, 5]);
    assert_eq!(s.in_flight[&2].key, "E2");
    assert_eq!(s.lines, 9);
    assert_eq!(s.torn_bytes, 0);
    assert!(s.is_done(1) && !s.is_done(2));
    assert_eq!(s.done[&3], row(3, Outcome::Succeeded));
    let text = std::fs::read_to_string(&p).unwrap();
    assert!(!text.contains("hunter2"), "{text}");
    assert_eq!(s.meta.args[3], "***");
}

#[test]
fn torn_last_line_is_ignored_then_cut_off() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("journal.jsonl");
    write_run(&p);
    // A crash in the middle of writing row 2's outcome.
    let full = serde_json::to_string(&row(2, Outcome::Succeeded)).unwrap();
    let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
    f.write_all(&full.as_bytes()[..40]).unwrap();
    drop(f);

    let s = Journal::replay(&p).unwrap();
    assert!(s.torn_bytes > 0);
    assert!(
        s.in_flight.contains_key(&2),
        "the torn outcome does not count"
    );

    let (mut j, s) = Journal::open(&p).unwrap();
    assert_eq!(s.lines, 9);
    j.outcome(&row(2, Outcome::Succeeded)).unwrap();
    j.close().unwrap();
    let s = Journal::replay(&p).unwrap();
    assert_eq!(s.torn_bytes, 0);
    assert_eq!(s.lines, 10);
    assert!(s.is_done(2));
}

#[test]
fn a_bad_line_in_the_middle_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("journal.jsonl");
    write_run(&p);
    let text = std::fs::read_to_string(&p).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[3] = "{garbage";
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    match Journal::replay(&p) {
        Err(JournalError::Corrupt { line, .. }) => assert_eq!(line, 4),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_new_intent_reopens_a_row() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("journal.jsonl");
    let mut j = Journal::create(&p, &meta()).unwrap();
    j.intent(1, Action::Create, "E1").unwrap();
    j.outcome(&row(1, Outcome::Pending)).unwrap();
    let s = Journal::replay(&p).unwrap();
    assert!(!s.is_done(1), "pending is not done");
    j.intent(1, Action::Create, "E1").unwrap();
    let s = Journal::replay(&p).unwrap();
    assert!(s.done.is_empty() && s.in_flight.contains_key(&1));
}

#[test]
fn ledger_is_rebuilt_sorted_with_one_row_per_input_row() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("journal.jsonl");
    let mut j = Journal::create(&p, &meta()).unwrap();
    for n in [5, 2, 9] {
        j.intent(n, Action::Create, "k").unwrap();
        j.outcome(&row(n, Outcome::Succeeded)).unwrap();
    }
    j.close().unwrap();
    let s = Journal::replay(&p).unwrap();
    // Everything else the importer knows about: invalid and never-reached rows, and a
    // stale copy of row 5 that the journal must win over.
    let others = (1..=10).map(|n| {
        row(
            n,
            if n == 1 {
                Outcome::Invalid
            } else {
                Outcome::Pending
            },
        )
    });
    let ledger = tmp.path().join("ledger.parquet");
    let summary = build_ledger_from_journal(&s, others, &ledger).unwrap();
    assert_eq!(summary.rows, 10);
    assert_eq!(summary.outcome(Outcome::Succeeded), 3);
    assert_eq!(summary.outcome(Outcome::Invalid), 1);
    assert_eq!(summary.outcome(Outcome::Pending), 6);
    let rows = read_ledger(&ledger).unwrap();
    assert_eq!(
        rows.iter().map(|r| r.row).collect::<Vec<_>>(),
        (1..=10).collect::<Vec<_>>()
    );
    assert_eq!(rows[4].outcome, Outcome::Succeeded);
}

#[test]
fn sinks_can_move_to_a_writer_thread() {
    fn send<T: Send>() {}
    send::<Journal>();
    send::<crate::audit::AuditLog>();
    send::<crate::ledger::LedgerWriter>();
}

#[test]
fn issue_14_a_row_stopped_pending_after_its_intent_stays_in_flight() {
    // The breaker or Ctrl-C ended the row pending after its create went out:
    // the resume must look it up and adopt it, so the intent survives.
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("journal.jsonl");
    let mut j = Journal::create(&p, &meta()).unwrap();
    j.intent(1, Action::Create, "E1").unwrap();
    j.outcome(&row(1, Outcome::Pending)).unwrap();
    j.intent(2, Action::Create, "E2").unwrap();
    j.outcome(&row(2, Outcome::Succeeded)).unwrap();
    let s = Journal::replay(&p).unwrap();
    assert!(!s.is_done(1), "pending is not done");
    assert!(s.in_flight.contains_key(&1), "still in flight");
    assert!(s.is_done(2) && !s.in_flight.contains_key(&2));
}

#[test]
fn issue_14_an_outcome_error_quoting_a_registered_secret_is_masked() {
    let secret = "journal-unit-secret+/=9";
    crate::secrets::register(crate::secrets::SecretKind::WebhookSecret, secret);
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("journal.jsonl");
    let mut j = Journal::create(&p, &meta()).unwrap();
    let mut r = row(1, Outcome::Failed);
    r.error = Some(format!("HTTP 400: you sent {secret}"));
    j.outcome(&r).unwrap();
    j.close().unwrap();
    let text = std::fs::read_to_string(&p).unwrap();
    assert!(!text.contains(secret), "{text}");
    let s = Journal::replay(&p).unwrap();
    assert_eq!(s.done[&1].error.as_deref(), Some("HTTP 400: you sent ***"));
}

#[test]
fn issue_17_outbox_lines_replay_into_pending_and_per_row_status() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("journal.jsonl");
    let item = |id: &str, rows: Vec<u64>| OutboxItem {
        id: id.into(),
        rows,
        body: format!("{{\"id\":\"{id}\"}}"),
    };
    {
        let mut j = Journal::create(&path, &meta()).unwrap();
        for n in 1..=4 {
            j.outcome(&row(n, Outcome::Succeeded)).unwrap();
        }
        j.event(&item("msg_a", vec![1])).unwrap();
        j.event(&item("msg_b", vec![2, 3])).unwrap();
        j.event(&item("msg_c", vec![4])).unwrap();
        j.delivered("msg_a", 1).unwrap();
        j.undeliverable("msg_c", 8, "HTTP 503").unwrap();
        // A late failure of a duplicate send does not undo a delivery.
        j.undeliverable("msg_a", 1, "HTTP 503").unwrap();
        j.close().unwrap();
    }
    let state = Journal::replay(&path).unwrap();
    assert_eq!(state.outbox.pending(), vec![item("msg_b", vec![2, 3])]);
    assert_eq!(state.outbox.counts(), (1, 1, 1));
    let by_row = state.outbox.by_row();
    use crate::model::Delivery as D;
    assert_eq!(by_row[&1], D::Delivered);
    assert_eq!(by_row[&2], D::Pending);
    assert_eq!(by_row[&3], D::Pending);
    assert_eq!(by_row[&4], D::Failed);
    // The rows themselves are unchanged by their deliveries.
    assert_eq!(state.done.len(), 4);
    assert!(state.done.values().all(|r| r.outcome == Outcome::Succeeded));
}
