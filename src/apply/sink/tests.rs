//! Sink tests: order, one row per row, intents before outcomes, audit chain, discard,
//! and a writer that falls behind making tasks wait without blocking their thread.

use std::sync::Arc;

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

/// Rows 1..=n announced in order and finished in a scrambled order from 4 tasks.
async fn feed_scrambled(sink: &Arc<RunSink>, n: u64) {
    for r in 1..=n {
        sink.expect(r).await;
    }
    let mut tasks = tokio::task::JoinSet::new();
    for t in 0..4u64 {
        let sink = sink.clone();
        tasks.spawn(async move {
            let mut mine: Vec<u64> = (1..=n).filter(|r| r % 4 == t).collect();
            mine.reverse();
            for r in mine {
                let o = if r % 7 == 0 {
                    Outcome::Failed
                } else {
                    Outcome::Skipped
                };
                sink.finish(row(r, o)).await;
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
}

fn unshared(sink: Arc<RunSink>) -> RunSink {
    Arc::try_unwrap(sink).ok().expect("no other handle")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_ledger_is_in_input_order_with_one_row_per_row_and_the_audit_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let (ledger, audit, journal) = (
        tmp.path().join("ledger.parquet"),
        tmp.path().join("audit.jsonl"),
        tmp.path().join("journal.jsonl"),
    );
    let log = AuditLog::create(&audit, "run-d").unwrap();
    let sink = Arc::new(RunSink::direct("run-d", &ledger, log, ProgressBar::hidden()).unwrap());
    let n = 20_000;
    feed_scrambled(&sink, n).await;
    sink.note("done").await;
    let closed = unshared(sink).close(&journal, &ledger).await.unwrap();
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

#[cfg(feature = "bench-discard-sink")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discard_counts_every_row_but_writes_neither_ledger_rows_nor_audit_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let (ledger, audit) = (
        tmp.path().join("ledger.parquet"),
        tmp.path().join("audit.jsonl"),
    );
    let log = AuditLog::create(&audit, "run-x").unwrap();
    let writer = LedgerWriter::try_new(&ledger, "run-x").unwrap();
    let rows = Rows::Direct(Box::new(Reorder::discarding(writer)));
    let sink = Arc::new(RunSink::new("run-x", rows, log, ProgressBar::hidden()));
    feed_scrambled(&sink, 1000).await;
    let closed = unshared(sink).close(&ledger, &ledger).await.unwrap();
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
        sink.decision(r, Action::Create, Outcome::Pending, "userName")
            .await;
        assert!(sink.intent(r, Action::Create, &format!("E{r}")).await);
        // Answered: the intent line is in the file, before any outcome of the row.
        let state = Journal::replay(&journal).unwrap();
        assert!(state.in_flight.contains_key(&r), "row {r}");
        sink.finish(row(r, Outcome::Succeeded)).await;
    }
    sink.revise(row(3, Outcome::Failed)).await;
    let closed = sink.close(&journal, &ledger).await.unwrap();
    assert!(closed.error.is_none());
    assert!(closed.verdicts.is_none());
    let rows = read_ledger(&ledger).unwrap();
    assert_eq!(rows.len(), 50);
    assert_eq!(rows[2].outcome, Outcome::Failed);
    assert_eq!(closed.summary.outcome(Outcome::Succeeded), 49);
    assert!(verify(&audit).unwrap().is_intact());
}

/// A terminal whose writes wait until the gate opens: a progress bar drawn to it
/// stalls the writer thread until the test opens the gate.
#[derive(Debug, Clone, Default)]
struct GatedTerm(Arc<(std::sync::Mutex<bool>, std::sync::Condvar)>);

impl GatedTerm {
    fn pass(&self) {
        let (open, cv) = &*self.0;
        let guard = open.lock().unwrap();
        drop(cv.wait_while(guard, |open| !*open).unwrap());
    }
    fn open(&self) {
        let (open, cv) = &*self.0;
        *open.lock().unwrap() = true;
        cv.notify_all();
    }
}

impl indicatif::TermLike for GatedTerm {
    fn width(&self) -> u16 {
        80
    }
    fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn write_line(&self, _: &str) -> std::io::Result<()> {
        self.pass();
        Ok(())
    }
    fn write_str(&self, _: &str) -> std::io::Result<()> {
        self.pass();
        Ok(())
    }
    fn clear_line(&self) -> std::io::Result<()> {
        self.pass();
        Ok(())
    }
    fn flush(&self) -> std::io::Result<()> {
        Ok(())
    }
}

/// On a single-threaded runtime, a task sends more than the sink may queue while
/// the writer is stalled. It must wait as a task (the runtime's only thread keeps
/// running the test's own task, which then un-stalls the writer), not block the
/// thread: a blocking send would never return and the watchdog would fire.
fn a_stalled_writer_makes_tasks_wait_without_blocking_the_thread(journaled: bool) {
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let rows = rt.block_on(async move {
            let tmp = tempfile::tempdir().unwrap();
            let (ledger, audit, journal) = (
                tmp.path().join("ledger.parquet"),
                tmp.path().join("audit.jsonl"),
                tmp.path().join("journal.jsonl"),
            );
            let gate = GatedTerm::default();
            let bar = ProgressBar::with_draw_target(
                None,
                indicatif::ProgressDrawTarget::term_like(Box::new(gate.clone())),
            );
            let log = AuditLog::create(&audit, "run-s").unwrap();
            let sink = Arc::new(if journaled {
                let j = Journal::create(&journal, &meta("run-s")).unwrap();
                RunSink::journaled("run-s", j, log, bar)
            } else {
                RunSink::direct("run-s", &ledger, log, bar).unwrap()
            });
            // More messages than there are credits, whichever the mode.
            let n = (CHANNEL_CAPACITY + DRY_RUN_BATCH * (DRY_RUN_BATCHES_QUEUED + 2)) as u64;
            let filler = {
                let sink = sink.clone();
                tokio::spawn(async move {
                    for r in 1..=n {
                        sink.expect(r).await;
                        sink.finish(row(r, Outcome::Skipped)).await;
                    }
                })
            };
            // This task gets the thread back while the filler waits for credits.
            while sink.credits.available_permits() > 0 {
                assert!(!filler.is_finished(), "all went through a stalled writer");
                tokio::task::yield_now().await;
            }
            assert!(!filler.is_finished());
            gate.open();
            filler.await.unwrap();
            let closed = unshared(sink).close(&journal, &ledger).await.unwrap();
            assert!(closed.error.is_none());
            assert!(closed.lost_seconds > 0.0);
            read_ledger(&ledger).unwrap().len() as u64 == n
        });
        let _ = done_tx.send(rows);
    });
    let all_rows = done_rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the sink blocked the runtime's only thread");
    assert!(all_rows, "every row reaches the ledger");
}

#[test]
fn a_stalled_writer_makes_a_dry_runs_tasks_wait_without_blocking_the_thread() {
    a_stalled_writer_makes_tasks_wait_without_blocking_the_thread(false);
}

#[test]
fn a_stalled_writer_makes_a_real_runs_tasks_wait_without_blocking_the_thread() {
    a_stalled_writer_makes_tasks_wait_without_blocking_the_thread(true);
}
