//! Sink tests: order, one row per row, intents before outcomes, audit chain, discard.

use chrono::Utc;
use indicatif::ProgressBar;

use super::*;
use crate::audit::{EventKind, read_events, verify};
use crate::journal::RunMeta;
use crate::ledger::read_ledger;
use crate::model::ErrorKind;

fn row(n: u64, outcome: Outcome) -> LedgerRow {
    let mut r = LedgerRow::without_call(
        n,
        Some(format!("E{n}")),
        Some(format!("u{n}@example.com")),
        Action::Create,
        outcome,
        format!("h{n}"),
    );
    if outcome == Outcome::Failed {
        r.error_kind = Some(ErrorKind::Conflict);
        r.error = Some(format!("row {n} conflicts"));
    }
    r
}

fn meta(run_id: &str) -> RunMeta {
    RunMeta {
        run_id: run_id.into(),
        input: "hr.csv".into(),
        input_sha256: "ab".repeat(32),
        mapping: "mapping.toml".into(),
        target: "emulator".into(),
        dry_run: false,
        created_at: Utc::now(),
        args: vec!["scimport".into()],
        row_column: None,
        only_rows: None,
    }
}

/// Rows 1..=n announced in order and finished in a scrambled order from 4 threads.
fn feed_scrambled(sink: &RunSink, n: u64) {
    for r in 1..=n {
        sink.expect(r);
    }
    std::thread::scope(|s| {
        for t in 0..4u64 {
            s.spawn(move || {
                let mut mine: Vec<u64> = (1..=n).filter(|r| r % 4 == t).collect();
                mine.reverse();
                for r in mine {
                    let o = if r % 7 == 0 {
                        Outcome::Failed
                    } else {
                        Outcome::Skipped
                    };
                    sink.finish(row(r, o));
                }
            });
        }
    });
}

#[test]
fn a_dry_run_ledger_is_in_input_order_with_one_row_per_row_and_the_audit_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let (ledger, audit, journal) = (
        tmp.path().join("ledger.parquet"),
        tmp.path().join("audit.jsonl"),
        tmp.path().join("journal.jsonl"),
    );
    let log = AuditLog::create(&audit, "run-d").unwrap();
    let sink = RunSink::direct("run-d", &ledger, log, ProgressBar::hidden()).unwrap();
    let n = 20_000;
    feed_scrambled(&sink, n);
    sink.note("done");
    let closed = sink.close(&journal, &ledger).unwrap();
    assert!(closed.error.is_none());
    assert_eq!(closed.summary.rows, n);
    assert_eq!(closed.summary.outcome(Outcome::Failed), n / 7);
    let rows = read_ledger(&ledger).unwrap();
    let order: Vec<u64> = rows.iter().map(|r| r.row).collect();
    assert_eq!(order, (1..=n).collect::<Vec<_>>());
    let verdicts = closed.verdicts.unwrap();
    assert_eq!(verdicts.len() as u64, n);
    assert!(verdicts.iter().zip(1..).all(|(v, r)| v.row == r));
    assert_eq!(
        verdicts[6].error,
        Some(("conflict".into(), "row 7 conflicts".into()))
    );
    assert!(verdicts[0].error.is_none());
    // start + one decision per row + the note + seal
    assert_eq!(closed.audit_lines, n + 3);
    assert!(verify(&audit).unwrap().is_intact());
    let events = read_events(&audit).unwrap();
    let decisions = events
        .iter()
        .filter(|e| e.kind == EventKind::Decision)
        .count();
    assert_eq!(decisions as u64, n);
    assert!(closed.lost_seconds >= 0.0 && closed.writer_cpu_seconds >= 0.0);
}

#[test]
fn discard_counts_every_row_but_writes_neither_ledger_rows_nor_audit_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let (ledger, audit) = (
        tmp.path().join("ledger.parquet"),
        tmp.path().join("audit.jsonl"),
    );
    let log = AuditLog::create(&audit, "run-x").unwrap();
    let sink = RunSink::direct_with("run-x", &ledger, log, ProgressBar::hidden(), true).unwrap();
    feed_scrambled(&sink, 1000);
    let closed = sink.close(&ledger, &ledger).unwrap();
    assert_eq!(closed.summary.rows, 1000);
    assert_eq!(closed.verdicts.unwrap().len(), 1000);
    assert!(read_ledger(&ledger).unwrap().is_empty());
    assert_eq!(closed.audit_lines, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_intent_is_in_the_journal_when_answered_and_the_ledger_is_rebuilt() {
    let tmp = tempfile::tempdir().unwrap();
    let (ledger, audit, journal) = (
        tmp.path().join("ledger.parquet"),
        tmp.path().join("audit.jsonl"),
        tmp.path().join("journal.jsonl"),
    );
    let j = Journal::create(&journal, &meta("run-j")).unwrap();
    let log = AuditLog::create(&audit, "run-j").unwrap();
    let sink = RunSink::journaled("run-j", j, log, ProgressBar::hidden());
    for r in 1..=50u64 {
        sink.decision(r, Action::Create, Outcome::Pending, "userName");
        assert!(sink.intent(r, Action::Create, &format!("E{r}")).await);
        // Answered: the intent line is in the file, before any outcome of the row.
        let state = Journal::replay(&journal).unwrap();
        assert!(state.in_flight.contains_key(&r), "row {r}");
        sink.finish(row(r, Outcome::Succeeded));
    }
    sink.revise(row(3, Outcome::Failed));
    let closed = sink.close(&journal, &ledger).unwrap();
    assert!(closed.error.is_none());
    assert!(closed.verdicts.is_none());
    let rows = read_ledger(&ledger).unwrap();
    assert_eq!(rows.len(), 50);
    assert_eq!(rows[2].outcome, Outcome::Failed);
    assert_eq!(closed.summary.outcome(Outcome::Succeeded), 49);
    assert!(verify(&audit).unwrap().is_intact());
}
