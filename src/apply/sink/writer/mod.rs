//! The sink's writer thread: the one owner of the journal (real runs) or the Parquet
//! ledger (dry runs) and of the audit log. Rows, intents and audit events arrive over
//! a channel in the order they were sent; the thread writes them, returns each
//! message's credit (the sink's back-pressure), answers intents once they are in the
//! journal, keeps the progress bar, and on `Close` finishes the files and hands back
//! what the run needs for its summary. It is a plain thread, never a tokio worker:
//! it may block on the disk and on `blocking_recv`.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use indicatif::ProgressBar;
use tokio::sync::Semaphore;
use tokio::sync::mpsc::UnboundedReceiver;

mod outbox;

use super::{CloseError, DeliveryEnd, DeliveryReply, Outbox, Status};
use crate::audit::event::EventRef;
use crate::audit::{AuditLog, EventKind};
use crate::journal::{Journal, OutboxItem, build_ledger_from_journal};
use crate::ledger::{LedgerError, LedgerRow, LedgerSummary, LedgerWriter, Verdict};
use crate::model::{Action, ErrorKind, Outcome};

/// What workers send to the writer.
pub(super) enum Msg {
    /// A row dispatched now, to be finished later (dry runs: ledger order).
    Expect(u64),
    /// Journal this intent, then answer whether it is durable (real runs).
    Intent {
        row: u64,
        action: Action,
        key: String,
        ack: tokio::sync::oneshot::Sender<bool>,
    },
    /// A row's final state (or a revised one).
    Row { row: LedgerRow, finished: bool },
    /// A planning decision (audit only).
    Decision {
        ts: DateTime<Utc>,
        row: u64,
        action: Action,
        outcome: Outcome,
        detail: String,
    },
    /// One HTTP attempt (audit only).
    Call {
        ts: DateTime<Utc>,
        row: Option<u64>,
        method: &'static str,
        path: String,
        status: Option<u16>,
        latency_ms: f64,
        attempt: u32,
        outcome: &'static str,
        error: Option<String>,
    },
    /// A free-text note (audit only).
    Note { ts: DateTime<Utc>, detail: String },
    /// Several messages, in order (dry runs batch their messages).
    Batch(Vec<Msg>),
    /// Outbox: how a delivery ended (journal it; audit a failure).
    Delivery(DeliveryEnd),
    /// Outbox: journal and hand over what the outbox held back; then answer.
    FlushOutbox {
        ack: tokio::sync::oneshot::Sender<()>,
    },
    /// Outbox, on resume: deliver these journaled items again, and offer these
    /// finished rows that no journaled delivery reports.
    Resend {
        items: Vec<OutboxItem>,
        rows: Vec<LedgerRow>,
    },
    /// Finish the files; the thread ends after it.
    Close { journal: PathBuf, ledger: PathBuf },
}

/// A message as queued: `credit` when the sender took one (returned once handled).
pub(super) struct Queued {
    pub msg: Msg,
    pub credit: bool,
}

/// Closes the credits when the writer thread ends, however it ends.
pub(super) struct ClosesCredits(pub Arc<Semaphore>);

impl Drop for ClosesCredits {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// Where final rows go.
pub(super) enum Rows {
    /// Real runs: the write-ahead journal; the ledger is rebuilt from it on close.
    Journal(Journal),
    /// Dry runs: straight to Parquet, in input order.
    Direct(Box<Reorder>),
}

/// Puts rows finished out of order back into dispatch order before writing, and keeps
/// each row's verdict (so the run need not read its ledger back).
pub(super) struct Reorder {
    writer: LedgerWriter,
    expected: VecDeque<u64>,
    ready: HashMap<u64, LedgerRow>,
    verdicts: Vec<Verdict>,
    /// Benchmark builds only (`SCIMPORT_BENCH_DISCARD_SINK=1`): rows are counted,
    /// not written.
    #[cfg(feature = "bench-discard-sink")]
    discarded: Option<LedgerSummary>,
}

impl Reorder {
    pub(super) fn new(writer: LedgerWriter) -> Self {
        Reorder {
            writer,
            expected: VecDeque::new(),
            ready: HashMap::new(),
            verdicts: Vec::new(),
            #[cfg(feature = "bench-discard-sink")]
            discarded: None,
        }
    }

    /// A reorder that counts rows instead of writing them (benchmark builds only).
    #[cfg(feature = "bench-discard-sink")]
    pub(super) fn discarding(writer: LedgerWriter) -> Self {
        Reorder {
            discarded: Some(LedgerSummary::default()),
            ..Reorder::new(writer)
        }
    }

    /// Whether rows (and audit lines) are discarded; never outside benchmark builds.
    fn discards(&self) -> bool {
        #[cfg(feature = "bench-discard-sink")]
        return self.discarded.is_some();
        #[cfg(not(feature = "bench-discard-sink"))]
        false
    }

    fn push(&mut self, row: LedgerRow) -> Result<(), LedgerError> {
        if self.expected.front() == Some(&row.row) {
            // The usual case (rows finish in order): no detour through the map.
            self.expected.pop_front();
            self.emit(row)?;
        } else {
            self.ready.insert(row.row, row);
        }
        self.flush()
    }

    fn flush(&mut self) -> Result<(), LedgerError> {
        if self.ready.is_empty() {
            return Ok(());
        }
        while let Some(front) = self.expected.front() {
            let Some(r) = self.ready.remove(front) else {
                break;
            };
            self.expected.pop_front();
            self.emit(r)?;
        }
        Ok(())
    }

    fn emit(&mut self, r: LedgerRow) -> Result<(), LedgerError> {
        #[cfg(feature = "bench-discard-sink")]
        if let Some(counted) = &mut self.discarded {
            counted.add(&r);
            self.verdicts.push(verdict(r));
            return Ok(());
        }
        let res = self.writer.write(&r);
        self.verdicts.push(verdict(r));
        res
    }

    fn close(mut self) -> Result<(LedgerSummary, Vec<Verdict>), LedgerError> {
        // Rows that never finished (should not happen) are written as pending.
        let missing: Vec<u64> = self.expected.iter().copied().collect();
        for row in missing {
            self.ready.entry(row).or_insert_with(|| super::pending(row));
        }
        self.flush()?;
        let written = self.writer.close()?;
        #[cfg(feature = "bench-discard-sink")]
        if let Some(counted) = self.discarded {
            return Ok((counted, self.verdicts));
        }
        Ok((written, self.verdicts))
    }
}

/// A row's verdict, as `ledger::read_verdicts` would read it back (the row's error
/// strings move into it).
fn verdict(r: LedgerRow) -> Verdict {
    let note = match r.outcome {
        Outcome::Failed | Outcome::Invalid => None,
        _ => r.error_kind.map(|k| k.as_str().to_string()),
    };
    let error = matches!(r.outcome, Outcome::Failed | Outcome::Invalid).then(|| {
        (
            r.error_kind
                .map(ErrorKind::as_str)
                .unwrap_or_default()
                .to_string(),
            r.error.unwrap_or_default(),
        )
    });
    Verdict {
        row: r.row,
        action: r.action,
        outcome: r.outcome,
        error,
        http_status: r.http_status,
        note,
    }
}

/// What the writer hands back on close.
pub(super) struct End {
    /// Ledger counts, or why the ledger could not be written.
    pub ledger: Result<LedgerSummary, CloseError>,
    /// Each row's verdict, when the writer saw every row (dry runs).
    pub verdicts: Option<Vec<Verdict>>,
    /// Lines in the audit log (0 when it could not be closed).
    pub audit_lines: u64,
    /// The audit log's head, the seal line's SHA-256 (empty when it could not be closed).
    pub audit_head: String,
    /// CPU time of the writer thread, in seconds.
    pub cpu_seconds: f64,
    /// The run's deliveries as the journal holds them (see `Closed::outbox`).
    pub outbox: Option<super::OutboxCounts>,
}

/// The writer thread's state.
pub(super) struct Writer {
    pub run_id: String,
    /// The run's outbox and where its deliveries report back, if it has one.
    pub outbox: Option<(Arc<dyn Outbox>, DeliveryReply)>,
    pub rows: Rows,
    pub audit: AuditLog,
    pub status: Arc<Status>,
    /// The sink's credits: one goes back per handled message that took one.
    pub credits: Arc<Semaphore>,
    pub progress: ProgressBar,
    /// Rows per outcome (in `Outcome::ALL` order), for the progress bar.
    pub tally: [u64; 5],
}

impl Writer {
    /// Runs until `Close` (returns what closing gave) or until every sender is gone
    /// (the sink was dropped unclosed: files are left as a crash would leave them).
    pub(super) fn run(mut self, mut rx: UnboundedReceiver<Queued>) -> Option<End> {
        let cpu0 = thread_cpu_seconds();
        if matches!(self.rows, Rows::Direct(_)) {
            // A dry run's writer is background work: nothing waits on it but a full
            // channel. Let the row pipeline have the cores first.
            lower_priority();
        }
        while let Some(Queued { msg, credit }) = rx.blocking_recv() {
            let close = self.handle(msg);
            if credit {
                self.credits.add_permits(1);
            }
            let Some((journal, ledger)) = close else {
                continue;
            };
            let mut end = self.close(&journal, &ledger);
            end.cpu_seconds = (thread_cpu_seconds() - cpu0).max(0.0);
            return Some(end);
        }
        None
    }

    /// Handles one message; returns the paths of a `Close`.
    fn handle(&mut self, msg: Msg) -> Option<(PathBuf, PathBuf)> {
        match msg {
            Msg::Batch(mut msgs) => {
                let mut close = None;
                for m in msgs.drain(..) {
                    if let Some(c) = self.handle(m) {
                        close = Some(c);
                    }
                }
                let mut spare = self.status.spare.lock();
                if spare.len() < 4 {
                    spare.push(msgs);
                }
                return close;
            }
            Msg::Expect(row) => {
                if let Rows::Direct(r) = &mut self.rows {
                    r.expected.push_back(row);
                }
            }
            Msg::Intent {
                row,
                action,
                key,
                ack,
            } => {
                let ok = !self.status.is_broken() && self.intent(row, action, &key);
                let _ = ack.send(ok);
            }
            Msg::Row { row, finished } => self.record(row, finished),
            Msg::Decision {
                ts,
                row,
                action,
                outcome,
                detail,
            } => {
                let mut ev = EventRef::new(EventKind::Decision, ts);
                ev.row = crate::model::input_row(row);
                ev.action = Some(action);
                ev.outcome = Some(outcome.as_str());
                ev.detail = (!detail.is_empty()).then_some(detail.as_str());
                self.audit_line(&ev);
            }
            Msg::Call {
                ts,
                row,
                method,
                path,
                status,
                latency_ms,
                attempt,
                outcome,
                error,
            } => {
                let mut ev = EventRef::new(EventKind::Call, ts);
                ev.row = row.and_then(crate::model::input_row);
                ev.method = Some(method);
                ev.path = Some(&path);
                ev.status = status;
                ev.latency_ms = Some(latency_ms);
                ev.attempt = Some(attempt);
                ev.outcome = Some(outcome);
                ev.detail = error.as_deref();
                self.audit_line(&ev);
            }
            Msg::Note { ts, detail } => {
                let mut ev = EventRef::new(EventKind::Note, ts);
                ev.detail = Some(&detail);
                self.audit_line(&ev);
            }
            Msg::Delivery(end) => self.delivery_ended(&end),
            Msg::FlushOutbox { ack } => {
                if let Some((outbox, _)) = &self.outbox {
                    let items = outbox.flush(&self.run_id);
                    self.hand_over(items);
                }
                let _ = ack.send(());
            }
            Msg::Resend { items, rows } => {
                if let Some((outbox, reply)) = &self.outbox {
                    for item in items {
                        outbox.deliver(item, reply.clone());
                    }
                }
                for row in rows {
                    self.offer(&row);
                }
            }
            Msg::Close { journal, ledger } => return Some((journal, ledger)),
        }
        None
    }

    fn intent(&mut self, row: u64, action: Action, key: &str) -> bool {
        match &mut self.rows {
            Rows::Journal(j) => match j.intent(row, action, key) {
                Ok(()) => true,
                Err(e) => {
                    self.status.fail("cannot write the journal", e);
                    false
                }
            },
            Rows::Direct(_) => true,
        }
    }

    /// Benchmark builds only: a discarding dry run writes no audit line either.
    fn discards(&self) -> bool {
        matches!(&self.rows, Rows::Direct(r) if r.discards())
    }

    fn audit_line(&mut self, ev: &EventRef<'_>) {
        if self.discards() {
            return;
        }
        if let Err(e) = self.audit.append_ref(ev) {
            self.status.fail("cannot write the audit log", e);
        }
    }

    fn record(&mut self, row: LedgerRow, finished: bool) {
        // A dry run stamps the line with the time the row reached this state (a clock
        // read per row costs here); a real run, whose rows may be revised later, with
        // the time it is written.
        let ts = match self.rows {
            Rows::Journal(_) => Utc::now(),
            Rows::Direct(_) => row.finished_at,
        };
        let mut ev = EventRef::new(EventKind::Decision, ts);
        ev.row = crate::model::input_row(row.row);
        ev.action = Some(row.action);
        ev.outcome = Some(row.outcome.as_str());
        ev.latency_ms = Some(row.latency_ms);
        let outcome = row.outcome;
        let res = match &mut self.rows {
            // The outcome is in the journal before the audit log says so, and
            // before the outbox's event for it.
            Rows::Journal(j) => {
                let res = j.outcome(&row).map_err(|e| e.to_string());
                ev.detail = row.error.as_deref();
                self.audit_line(&ev);
                if finished && res.is_ok() {
                    self.offer(&row);
                }
                res
            }
            // A dry run: the audit line first, so the row moves on without a copy.
            Rows::Direct(r) => {
                ev.detail = row.error.as_deref();
                if !r.discards()
                    && let Err(e) = self.audit.append_ref(&ev)
                {
                    self.status.fail("cannot write the audit log", e);
                }
                r.push(row).map_err(|e| e.to_string())
            }
        };
        if let Err(e) = res {
            self.status.fail("cannot record the row", e);
        }
        if finished {
            self.tick(outcome);
        }
    }

    fn tick(&mut self, outcome: Outcome) {
        let i = Outcome::ALL.iter().position(|o| *o == outcome).unwrap_or(0);
        self.tally[i] += 1;
        if self.progress.is_hidden() {
            return;
        }
        let t = &self.tally;
        // Outcome::ALL: succeeded, failed, invalid, skipped, pending.
        self.progress.inc(1);
        self.progress.set_message(format!(
            "ok {} failed {} invalid {}",
            t[0] + t[3],
            t[1],
            t[2]
        ));
    }

    fn close(self, journal: &std::path::Path, ledger: &std::path::Path) -> End {
        self.progress.finish_and_clear();
        let with_outbox = self.outbox.is_some();
        let mut outbox = None;
        let (summary, verdicts) = match self.rows {
            Rows::Journal(j) => {
                let built = j
                    .close()
                    .map_err(CloseError::Journal)
                    .and_then(|()| Journal::replay(journal).map_err(CloseError::Replay))
                    .and_then(|state| {
                        outbox = outbox::counts(&state.outbox, with_outbox);
                        build_ledger_from_journal(&state, std::iter::empty(), ledger)
                            .map_err(CloseError::Rebuild)
                    });
                (built, None)
            }
            Rows::Direct(r) => match r.close() {
                Ok((s, v)) => (Ok(s), Some(v)),
                Err(e) => (Err(CloseError::Ledger(e)), None),
            },
        };
        let (audit_lines, audit_head) = match self.audit.seal() {
            Ok(sealed) => (sealed.lines, sealed.head),
            Err(e) => {
                self.status.fail("cannot close the audit log", e);
                (0, String::new())
            }
        };
        End {
            ledger: summary,
            verdicts,
            audit_lines,
            audit_head,
            cpu_seconds: 0.0,
            outbox,
        }
    }
}

/// Makes the calling thread yield the CPU to the process's other threads (Linux:
/// niceness 10 for this thread alone, unless it is already nicer; elsewhere nothing).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: getpriority and setpriority take plain integers and touch no memory; on
    // Linux, PRIO_PROCESS with who = 0 is the calling thread.
    unsafe {
        if libc::getpriority(libc::PRIO_PROCESS, 0) < 10 {
            libc::setpriority(libc::PRIO_PROCESS, 0, 10);
        }
    }
}

/// CPU time of the calling thread in seconds (Linux `/proc/thread-self/schedstat`;
/// 0 elsewhere).
pub(super) fn thread_cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0.0, |ns| ns as f64 / 1e9)
}

#[cfg(all(test, target_os = "linux"))]
mod priority_tests {
    use super::lower_priority;

    #[test]
    fn lowers_the_calling_threads_priority_only() {
        // SAFETY (both calls): getpriority takes plain integers; who = 0 is the
        // calling thread on Linux.
        let before = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
        let inside = std::thread::spawn(|| {
            lower_priority();
            unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) }
        })
        .join()
        .unwrap();
        assert_eq!(inside, 10.max(before));
        assert_eq!(unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) }, before);
    }
}
