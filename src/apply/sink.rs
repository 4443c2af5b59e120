//! The run's single sink: owns the journal (or, in a dry run, the ledger writer),
//! the audit log, the outcome tally and the progress bar. Workers hand it intents,
//! calls and final rows; nothing else writes those files.
//!
//! A real run journals every row's outcome and the ledger is rebuilt from the
//! journal at the end (so a later pass can revise a row, and a crash never leaves a
//! half-written ledger). A dry run needs no crash safety: rows go straight to the
//! Parquet writer, put back in input order by a small reorder buffer.
//!
//! A failure to write the journal or the audit log makes the run unsafe to continue,
//! so the first such error is kept and the run stops (exit 3, resumable).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use chrono::Utc;
use indicatif::ProgressBar;
use parking_lot::Mutex;

use crate::apply::api::{CallObserver, CallRecord};
use crate::audit::{AuditEvent, AuditLog};
use crate::journal::{Journal, build_ledger_from_journal};
use crate::ledger::{Action, LedgerRow, LedgerSummary, LedgerWriter, Outcome};

/// Counts per outcome, kept as rows finish (for the progress bar).
#[derive(Debug, Default, Clone)]
pub struct Tally {
    /// Rows per outcome.
    pub outcomes: BTreeMap<&'static str, u64>,
}

/// Where final rows go.
enum Rows {
    /// Real runs: the write-ahead journal.
    Journal(Journal),
    /// Dry runs: straight to Parquet, in input order.
    Direct(Box<Reorder>),
}

/// Puts rows finished out of order back into dispatch order before writing.
struct Reorder {
    writer: LedgerWriter,
    expected: VecDeque<u64>,
    ready: HashMap<u64, LedgerRow>,
}

impl Reorder {
    fn push(&mut self, row: LedgerRow) -> Result<(), crate::ledger::LedgerError> {
        self.ready.insert(row.row, row);
        self.flush()
    }

    fn flush(&mut self) -> Result<(), crate::ledger::LedgerError> {
        while let Some(front) = self.expected.front() {
            let Some(r) = self.ready.remove(front) else {
                break;
            };
            self.expected.pop_front();
            self.writer.write(&r)?;
        }
        Ok(())
    }
}

/// Owns the journal, the audit log and the progress bar of one run.
pub struct RunSink {
    run_id: String,
    rows: Mutex<Rows>,
    audit: Mutex<AuditLog>,
    tally: Mutex<Tally>,
    progress: ProgressBar,
    broken: AtomicBool,
    first_error: Mutex<Option<String>>,
    /// Time spent writing ledger/journal and audit lines, in nanoseconds (reported
    /// so benchmarks can show what the sinks cost).
    busy_ns: AtomicU64,
}

impl RunSink {
    /// A sink for a real run, journaling every row.
    pub fn journaled(
        run_id: &str,
        journal: Journal,
        audit: AuditLog,
        progress: ProgressBar,
    ) -> Self {
        Self::new(run_id, Rows::Journal(journal), audit, progress)
    }

    /// A sink for a dry run, writing the ledger directly at `ledger`.
    pub fn direct(
        run_id: &str,
        ledger: &Path,
        audit: AuditLog,
        progress: ProgressBar,
    ) -> Result<Self, crate::ledger::LedgerError> {
        let writer = LedgerWriter::try_new(ledger, run_id)?;
        let rows = Rows::Direct(Box::new(Reorder {
            writer,
            expected: VecDeque::new(),
            ready: HashMap::new(),
        }));
        Ok(Self::new(run_id, rows, audit, progress))
    }

    fn new(run_id: &str, rows: Rows, audit: AuditLog, progress: ProgressBar) -> Self {
        Self {
            run_id: run_id.to_string(),
            rows: Mutex::new(rows),
            audit: Mutex::new(audit),
            tally: Mutex::new(Tally::default()),
            progress,
            broken: AtomicBool::new(false),
            first_error: Mutex::new(None),
            busy_ns: AtomicU64::new(0),
        }
    }

    /// The run id.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The progress bar (for messages such as the limiter's rate).
    pub fn progress(&self) -> &ProgressBar {
        &self.progress
    }

    /// Whether a journal or audit write failed; the run must stop.
    pub fn is_broken(&self) -> bool {
        self.broken.load(Ordering::Relaxed)
    }

    /// The first write error, if any.
    pub fn first_error(&self) -> Option<String> {
        self.first_error.lock().clone()
    }

    fn fail(&self, what: &str, err: impl std::fmt::Display) {
        self.broken.store(true, Ordering::Relaxed);
        let mut first = self.first_error.lock();
        if first.is_none() {
            *first = Some(format!("{what}: {err}"));
        }
    }

    /// Announces, in input order, a row that will be finished later (dry runs need
    /// it to write the ledger in order; real runs ignore it).
    pub fn expect(&self, row: u64) {
        if let Rows::Direct(r) = &mut *self.rows.lock() {
            r.expected.push_back(row);
        }
    }

    /// Records the intent to mutate a row's user, durably, before the call.
    pub fn intent(&self, row: u64, action: Action, key: &str) -> bool {
        if let Rows::Journal(j) = &mut *self.rows.lock()
            && let Err(e) = j.intent(row, action, key)
        {
            self.fail("cannot write the journal", e);
            return false;
        }
        true
    }

    /// Records a planning decision in the audit log.
    pub fn decision(&self, row: u64, action: Action, outcome: Outcome, detail: &str) {
        let mut ev = AuditEvent::decision(row, action, outcome);
        if !detail.is_empty() {
            ev = ev.with_detail(detail);
        }
        self.audit_line(&ev);
    }

    /// A free-text note in the audit log (pauses, circuit, passes).
    pub fn note(&self, detail: &str) {
        self.audit_line(&AuditEvent::note(detail));
    }

    fn audit_line(&self, ev: &AuditEvent) {
        // Timed once the lock is held: the cost of writing, not of waiting for a turn.
        let mut audit = self.audit.lock();
        let t = Instant::now();
        let res = audit.append(ev);
        self.busy(t);
        drop(audit);
        if let Err(e) = res {
            self.fail("cannot write the audit log", e);
        }
    }

    fn busy(&self, since: Instant) {
        let ns = u64::try_from(since.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.busy_ns.fetch_add(ns, Ordering::Relaxed);
    }

    /// Seconds spent so far writing the ledger (or journal) and the audit log.
    pub fn busy_seconds(&self) -> f64 {
        self.busy_ns.load(Ordering::Relaxed) as f64 / 1e9
    }

    /// Records a row's final state: ledger/journal, audit, tally and progress.
    pub fn finish(&self, row: LedgerRow) {
        let outcome = row.outcome;
        self.record(row);
        let mut t = self.tally.lock();
        *t.outcomes.entry(outcome.as_str()).or_default() += 1;
        if self.progress.is_hidden() {
            return;
        }
        let msg = format!(
            "ok {} failed {} invalid {}",
            t.outcomes.get("succeeded").copied().unwrap_or(0)
                + t.outcomes.get("skipped").copied().unwrap_or(0),
            t.outcomes.get("failed").copied().unwrap_or(0),
            t.outcomes.get("invalid").copied().unwrap_or(0),
        );
        drop(t);
        self.progress.inc(1);
        self.progress.set_message(msg);
    }

    /// Records a row's state again after a later pass (groups, managers) changed it;
    /// the journal keeps the last outcome per row, so the ledger shows this one.
    pub fn revise(&self, row: LedgerRow) {
        self.record(row);
    }

    fn record(&self, row: LedgerRow) {
        let mut ev =
            AuditEvent::decision(row.row, row.action, row.outcome).with_latency_ms(row.latency_ms);
        if let Some(e) = &row.error {
            ev = ev.with_detail(e.clone());
        }
        let mut rows = self.rows.lock();
        let t = Instant::now();
        let res = match &mut *rows {
            Rows::Journal(j) => j.outcome(&row).map_err(|e| e.to_string()),
            Rows::Direct(r) => r.push(row).map_err(|e| e.to_string()),
        };
        self.busy(t);
        drop(rows);
        if let Err(e) = res {
            self.fail("cannot record the row", e);
        }
        self.audit_line(&ev);
    }

    /// Closes the journal (or the direct ledger writer) and the audit log, and
    /// writes the ledger (rebuilt from the journal for real runs) at `ledger`.
    pub fn close(self, journal: &Path, ledger: &Path) -> Result<Closed, String> {
        self.progress.finish_and_clear();
        let t = Instant::now();
        let audit = self.audit.into_inner();
        let summary = match self.rows.into_inner() {
            Rows::Journal(j) => {
                j.close()
                    .map_err(|e| format!("cannot close the journal: {e}"))?;
                let state = Journal::replay(journal)
                    .map_err(|e| format!("cannot replay the journal: {e}"))?;
                build_ledger_from_journal(&state, std::iter::empty(), ledger)
                    .map_err(|e| format!("cannot write the ledger: {e}"))?
            }
            Rows::Direct(mut r) => {
                // Rows that never finished (should not happen) are written as pending.
                let missing: Vec<u64> = r.expected.iter().copied().collect();
                for row in missing {
                    r.ready.entry(row).or_insert_with(|| pending(row));
                }
                r.flush()
                    .map_err(|e| format!("cannot write the ledger: {e}"))?;
                r.writer
                    .close()
                    .map_err(|e| format!("cannot write the ledger: {e}"))?
            }
        };
        let audit_lines = audit
            .close()
            .map_err(|e| format!("cannot close the audit log: {e}"))?;
        let closing = u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX);
        if let Some(e) = self.first_error.into_inner() {
            return Err(e);
        }
        let busy_seconds = self.busy_ns.into_inner().saturating_add(closing) as f64 / 1e9;
        Ok(Closed {
            summary,
            audit_lines,
            busy_seconds,
        })
    }
}

/// What closing a sink gives back.
#[derive(Debug)]
pub struct Closed {
    /// Counts of the ledger written.
    pub summary: LedgerSummary,
    /// Lines in the audit log.
    pub audit_lines: u64,
    /// Seconds spent in the ledger/journal and audit writers, close included.
    pub busy_seconds: f64,
}

fn pending(row: u64) -> LedgerRow {
    row_without_call(
        row,
        None,
        None,
        Action::None,
        Outcome::Pending,
        String::new(),
    )
}

impl CallObserver for RunSink {
    fn on_call(&self, call: &CallRecord) {
        let mut ev = AuditEvent::call(
            call.row,
            call.method,
            &call.path,
            call.status,
            call.latency_ms,
            call.attempt,
        )
        .with_outcome(call.outcome);
        if let Some(e) = &call.error {
            ev = ev.with_detail(e.clone());
        }
        self.audit_line(&ev);
    }
}

/// A ledger row for a row that never reached a call.
pub fn row_without_call(
    row: u64,
    external_id: Option<String>,
    user_name: Option<String>,
    action: Action,
    outcome: Outcome,
    source_hash: String,
) -> LedgerRow {
    LedgerRow {
        row,
        external_id,
        user_name,
        action,
        outcome,
        http_status: None,
        scim_id: None,
        attempts: 0,
        latency_ms: 0.0,
        error_kind: None,
        error: None,
        changed_fields: Vec::new(),
        source_hash,
        finished_at: Utc::now(),
    }
}
