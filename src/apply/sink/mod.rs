//! The run's single sink: a handle to one writer thread ([`writer`]) that owns the
//! journal (or, in a dry run, the ledger writer) and the audit log. Workers hand it
//! intents, calls and final rows over a bounded channel, so writing overlaps with
//! the rest of the run instead of sitting in the row loop; nothing else writes
//! those files, and each is written from that one thread, in the order sent.
//!
//! A real run journals every row's outcome and the ledger is rebuilt from the
//! journal at the end (so a later pass can revise a row, and a crash never leaves a
//! half-written ledger). An intent is answered only once it is in the journal, so a
//! write is never sent before its intent. A dry run needs no crash safety: rows go
//! straight to the Parquet writer, put back in input order by a small reorder buffer.
//!
//! With an [`Outbox`] (webhooks), the writer offers each row's first final state
//! to it and journals every delivery it makes before handing it over, then how
//! each ended (`writer/outbox.rs`): the journal is the outbox, so a resume sends
//! again what was never acknowledged.
//!
//! A failure to write the journal, the ledger or the audit log makes the run unsafe
//! to continue, so the first such error is kept and the run stops (exit 3, resumable).
//!
//! Back-pressure without blocking: the channel (tokio's, unbounded) is bounded by
//! credits. A worker awaits a credit before it sends (so a slow writer makes tasks
//! wait, never a tokio worker thread), and the writer returns the credit once the
//! message is written. Audit lines of HTTP calls come from a synchronous observer:
//! they take a credit when one is free and go without otherwise, which cannot run
//! away because calls are paced by the limiter and every row's final state waits.
//! The writer is a plain thread receiving with `blocking_recv`.
//!
//! Cost accounting: [`Closed::lost_seconds`] is the time the row pipeline lost to
//! the writer (waiting for a credit, waiting for an intent's answer, and closing;
//! wall-clock time, overlapping waits counted once: `lost`),
//! [`Closed::writer_cpu_seconds`] the writer thread's own CPU time. Benchmark builds
//! only (cargo feature `bench-discard-sink`): `SCIMPORT_BENCH_DISCARD_SINK=1` makes a
//! dry run's writer count rows without writing the ledger or the audit log (the
//! channel and thread still run): the A/B in `scripts/bench-dry-run` uses it. Its
//! ledger is empty and its audit log holds only its first and last lines.

mod lost;
mod outbox;
#[cfg(test)]
mod tests;
mod writer;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use chrono::Utc;
use indicatif::ProgressBar;
use parking_lot::Mutex;
use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::apply::api::{CallObserver, CallRecord};
use crate::audit::AuditLog;
use crate::journal::OutboxItem;
use crate::journal::{Journal, JournalError};
use crate::ledger::{LedgerError, LedgerRow, LedgerSummary, LedgerWriter, Verdict};
use crate::model::{Action, Outcome};
pub use outbox::{DeliveryEnd, DeliveryReply, Outbox, OutboxCounts};
use writer::{Msg, Queued, Reorder, Rows, Writer};

/// Messages a real run's writer may have queued before senders wait.
pub const CHANNEL_CAPACITY: usize = 8192;

/// A dry run hands messages to the writer in batches of this many: one channel
/// operation (and at most one wake-up of the writer) per batch instead of per row.
/// Real runs send each message at once (an intent must not wait in a batch, and
/// audit lines reach the file as they happen).
pub const DRY_RUN_BATCH: usize = 512;

/// Batches a dry run's writer may have queued before senders wait.
const DRY_RUN_BATCHES_QUEUED: usize = 16;

/// The benchmark-only switch (see the module docs).
#[cfg(feature = "bench-discard-sink")]
pub const DISCARD_ENV: &str = "SCIMPORT_BENCH_DISCARD_SINK";

/// Whether the writer broke, and its first error; shared with the writer thread.
#[derive(Default)]
struct Status {
    broken: AtomicBool,
    first_error: Mutex<Option<String>>,
    /// Emptied batches the writer hands back for reuse (no allocation per batch).
    spare: Mutex<Vec<Vec<Msg>>>,
}

impl Status {
    fn is_broken(&self) -> bool {
        self.broken.load(Ordering::Acquire)
    }

    fn fail(&self, what: &str, err: impl std::fmt::Display) {
        let mut first = self.first_error.lock();
        if first.is_none() {
            *first = Some(format!("{what}: {err}"));
        }
        self.broken.store(true, Ordering::Release);
    }
}

/// Owns, through its writer thread, the journal, the audit log and the progress bar
/// of one run.
pub struct RunSink {
    run_id: String,
    /// Real run (journal) rather than dry run (direct ledger).
    journaled: bool,
    tx: mpsc::UnboundedSender<Queued>,
    /// Messages (dry runs: batches) that may be queued; see the module docs.
    credits: Arc<Semaphore>,
    /// Dry runs: messages not sent yet (sent as one `Msg::Batch`).
    batch: Option<Mutex<Vec<Msg>>>,
    /// What the writer thread hands back when it ends (`None`: dropped unclosed).
    end: oneshot::Receiver<Option<writer::End>>,
    status: Arc<Status>,
    progress: ProgressBar,
    /// Wall-clock time the callers lost to the writer.
    lost: lost::LostTime,
}

impl RunSink {
    /// A sink for a real run, journaling every row. The audit log is written line by
    /// line as the writer receives events.
    pub fn journaled(
        run_id: &str,
        journal: Journal,
        audit: AuditLog,
        progress: ProgressBar,
    ) -> Self {
        Self::new(run_id, Rows::Journal(journal), audit, progress, None)
    }

    /// [`RunSink::journaled`] with an outbox: each row's first final state is
    /// offered to it, and the deliveries it makes go through the journal.
    pub fn journaled_with(
        run_id: &str,
        journal: Journal,
        audit: AuditLog,
        progress: ProgressBar,
        outbox: Option<Arc<dyn Outbox>>,
    ) -> Self {
        Self::new(run_id, Rows::Journal(journal), audit, progress, outbox)
    }

    /// A sink for a dry run, writing the ledger directly at `ledger`.
    pub fn direct(
        run_id: &str,
        ledger: &Path,
        audit: AuditLog,
        progress: ProgressBar,
    ) -> Result<Self, crate::ledger::LedgerError> {
        let writer = LedgerWriter::try_new(ledger, run_id)?;
        #[cfg(feature = "bench-discard-sink")]
        if std::env::var_os(DISCARD_ENV).is_some_and(|v| v == "1") {
            let rows = Rows::Direct(Box::new(Reorder::discarding(writer)));
            return Ok(Self::new(run_id, rows, audit, progress, None));
        }
        let rows = Rows::Direct(Box::new(Reorder::new(writer)));
        Ok(Self::new(run_id, rows, audit, progress, None))
    }

    fn new(
        run_id: &str,
        rows: Rows,
        audit: AuditLog,
        progress: ProgressBar,
        outbox: Option<Arc<dyn Outbox>>,
    ) -> Self {
        let journaled = matches!(rows, Rows::Journal(_));
        let status = Arc::new(Status::default());
        let credits = Arc::new(Semaphore::new(if journaled {
            CHANNEL_CAPACITY
        } else {
            DRY_RUN_BATCHES_QUEUED
        }));
        let (tx, rx) = mpsc::unbounded_channel();
        let (end_tx, end) = oneshot::channel();
        // A delivery's end goes to the writer like any message; weakly held, so a
        // sink dropped unclosed still ends its writer.
        let weak = tx.downgrade();
        let reply: DeliveryReply = Arc::new(move |end: DeliveryEnd| {
            if let Some(tx) = weak.upgrade() {
                let _ = tx.send(Queued {
                    msg: Msg::Delivery(end),
                    credit: false,
                });
            }
        });
        let w = Writer {
            run_id: run_id.to_string(),
            outbox: outbox.map(|o| (o, reply)),
            rows,
            audit,
            status: status.clone(),
            credits: credits.clone(),
            progress: progress.clone(),
            tally: [0; 5],
        };
        std::thread::Builder::new()
            .name("scimport-sink".into())
            .spawn(move || {
                // Senders waiting for a credit learn that the writer is gone, even
                // when it panicked, instead of waiting forever.
                let _closes = writer::ClosesCredits(w.credits.clone());
                let _ = end_tx.send(w.run(rx));
            })
            // Without a thread nothing could be written; the process cannot go on.
            .expect("cannot start the sink's writer thread");
        Self {
            run_id: run_id.to_string(),
            journaled,
            tx,
            credits,
            batch: (!journaled).then(|| Mutex::new(Vec::with_capacity(DRY_RUN_BATCH))),
            end,
            status,
            progress,
            lost: lost::LostTime::new(),
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

    /// Whether a journal, ledger or audit write failed; the run must stop.
    pub fn is_broken(&self) -> bool {
        self.status.is_broken()
    }

    /// The first write error, if any.
    pub fn first_error(&self) -> Option<String> {
        self.status.first_error.lock().clone()
    }

    /// Hands a message to the writer (in a dry run, to the current batch); waits
    /// (and counts the wait as lost) only when the writer is behind. No lock is
    /// held while waiting.
    async fn send(&self, msg: Msg) -> bool {
        let Some(batch) = &self.batch else {
            let credit = self.credit().await;
            return credit && self.put(msg, true);
        };
        {
            let mut b = batch.lock();
            b.push(msg);
            if b.len() < DRY_RUN_BATCH {
                return true;
            }
            if let Ok(p) = self.credits.try_acquire() {
                p.forget();
                return self.send_full_batch(&mut b, true);
            }
        }
        // The batch is full and the writer behind: wait for a credit unlocked, then
        // send whatever is full by then (another task may have sent it meanwhile).
        let t = Instant::now();
        let permit = self.credits.acquire().await;
        self.lost(t);
        let Ok(permit) = permit else {
            return self.writer_gone();
        };
        let mut b = batch.lock();
        if b.len() < DRY_RUN_BATCH {
            return true; // `permit` goes back to the pool
        }
        permit.forget();
        self.send_full_batch(&mut b, true)
    }

    /// [`Self::send`] for callers that cannot wait (the HTTP observer): takes a
    /// credit when one is free, and overdraws otherwise (see the module docs).
    fn send_now(&self, msg: Msg) -> bool {
        let credit = match self.credits.try_acquire() {
            Ok(p) => {
                p.forget();
                true
            }
            Err(_) => false,
        };
        let Some(batch) = &self.batch else {
            return self.put(msg, credit);
        };
        let mut b = batch.lock();
        b.push(msg);
        if b.len() < DRY_RUN_BATCH {
            if credit {
                self.credits.add_permits(1);
            }
            return true;
        }
        self.send_full_batch(&mut b, credit)
    }

    /// Sends the batch in `b` and leaves an empty one. Called under the batch's
    /// lock: batches reach the writer in the order they filled.
    fn send_full_batch(&self, b: &mut Vec<Msg>, credit: bool) -> bool {
        let empty = self
            .status
            .spare
            .lock()
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(DRY_RUN_BATCH));
        let full = std::mem::replace(b, empty);
        self.put(Msg::Batch(full), credit)
    }

    /// Waits for a credit (counting the wait as lost); false once the writer is gone.
    async fn credit(&self) -> bool {
        if let Ok(p) = self.credits.try_acquire() {
            p.forget();
            return true;
        }
        let t = Instant::now();
        let permit = self.credits.acquire().await;
        self.lost(t);
        match permit {
            Ok(p) => {
                p.forget();
                true
            }
            Err(_) => self.writer_gone(),
        }
    }

    /// Queues a message (never waits: the channel itself is unbounded).
    fn put(&self, msg: Msg, credit: bool) -> bool {
        if self.tx.send(Queued { msg, credit }).is_err() {
            return self.writer_gone();
        }
        true
    }

    fn writer_gone(&self) -> bool {
        self.status
            .fail("cannot write", "the sink's writer stopped");
        false
    }

    fn lost(&self, since: Instant) {
        self.lost.add(since);
    }

    /// Seconds the callers have lost to the writer so far.
    pub fn lost_seconds(&self) -> f64 {
        self.lost.seconds()
    }

    /// Announces, in input order, a row that will be finished later (dry runs need
    /// it to write the ledger in order; real runs ignore it).
    pub async fn expect(&self, row: u64) {
        if !self.journaled {
            self.send(Msg::Expect(row)).await;
        }
    }

    /// Records the intent to mutate a row's user in the journal and waits until it
    /// is written: true when the call may be sent. False once the sink is broken.
    pub async fn intent(&self, row: u64, action: Action, key: &str) -> bool {
        if !self.journaled {
            return true;
        }
        if self.is_broken() {
            return false;
        }
        let t = Instant::now();
        let (ack, answer) = tokio::sync::oneshot::channel();
        let sent = self
            .send(Msg::Intent {
                row,
                action,
                key: key.to_string(),
                ack,
            })
            .await;
        let ok = sent && answer.await.unwrap_or(false);
        self.lost(t);
        ok
    }

    /// Records a planning decision in the audit log.
    pub async fn decision(&self, row: u64, action: Action, outcome: Outcome, detail: &str) {
        self.send(Msg::Decision {
            ts: Utc::now(),
            row,
            action,
            outcome,
            detail: detail.to_string(),
        })
        .await;
    }

    /// A free-text note in the audit log (pauses, circuit, passes).
    pub async fn note(&self, detail: &str) {
        self.send(Msg::Note {
            ts: Utc::now(),
            detail: detail.to_string(),
        })
        .await;
    }

    /// Records a row's final state: ledger/journal, audit, tally and progress.
    pub async fn finish(&self, row: LedgerRow) {
        self.send(Msg::Row {
            row,
            finished: true,
        })
        .await;
    }

    /// Records a row's state again after a later pass (groups, managers) changed it;
    /// the journal keeps the last outcome per row, so the ledger shows this one.
    pub async fn revise(&self, row: LedgerRow) {
        self.send(Msg::Row {
            row,
            finished: false,
        })
        .await;
    }

    /// Outbox: hands over the deliveries a row's outcome held back (a partial
    /// batch) and waits until they are journaled and handed to the outbox.
    pub async fn flush_outbox(&self) {
        let (ack, answer) = oneshot::channel();
        if self.send(Msg::FlushOutbox { ack }).await {
            let _ = answer.await;
        }
    }

    /// Outbox, on resume: sends again `items` (journaled by an earlier session and
    /// never acknowledged, same ids and bodies), and offers `rows` (finished
    /// earlier, reported by no journaled delivery) to the outbox as if they had
    /// just finished.
    pub async fn resend(&self, items: Vec<OutboxItem>, rows: Vec<LedgerRow>) {
        if items.is_empty() && rows.is_empty() {
            return;
        }
        self.send(Msg::Resend { items, rows }).await;
    }

    /// Lets the writer finish what it was sent, then closes the journal (or the
    /// direct ledger writer) and the audit log, and writes the ledger (rebuilt from
    /// the journal for real runs) at `ledger`. An error only when the ledger could
    /// not be written; a write error during the run is in [`Closed::error`].
    pub async fn close(self, journal: &Path, ledger: &Path) -> Result<Closed, CloseError> {
        let t = Instant::now();
        let RunSink {
            tx,
            batch,
            end,
            status,
            lost,
            ..
        } = self;
        // The last batch and `Close` go without credits: nothing is sent after them.
        let rest = batch.map(Mutex::into_inner).filter(|b| !b.is_empty());
        let queued = |msg| tx.send(Queued { msg, credit: false }).is_ok();
        let asked = rest.is_none_or(|b| queued(Msg::Batch(b)))
            && queued(Msg::Close {
                journal: journal.to_path_buf(),
                ledger: ledger.to_path_buf(),
            });
        drop(tx);
        // Awaited, not joined: closing (a journal replay, the Parquet footer, syncs)
        // must not hold a tokio worker thread.
        let end = end.await.ok().flatten();
        let Some(end) = end.filter(|_| asked) else {
            return Err(CloseError::WriterStopped);
        };
        let summary = end.ledger?;
        let closing = u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let error = status.first_error.lock().clone();
        let closed = Closed {
            summary,
            verdicts: end.verdicts,
            audit_lines: end.audit_lines,
            audit_head: end.audit_head,
            lost_seconds: lost.seconds() + closing as f64 / 1e9,
            writer_cpu_seconds: end.cpu_seconds,
            error,
            outbox: end.outbox,
        };
        tracing::info!(
            rows = closed.summary.rows,
            audit_lines = closed.audit_lines,
            sink_seconds = format_args!("{:.3}", closed.lost_seconds),
            writer_cpu_seconds = format_args!("{:.3}", closed.writer_cpu_seconds),
            "run files closed"
        );
        Ok(closed)
    }
}

/// Why a run's files could not be closed. Writes may have been sent: the run is
/// stopped (resumable), not a usage error.
#[derive(Debug, thiserror::Error)]
pub enum CloseError {
    /// The writer thread ended (or panicked) before it was asked to close.
    #[error("the sink's writer stopped before closing the run's files")]
    WriterStopped,
    /// The journal could not be synced and closed.
    #[error("cannot close the journal: {0}")]
    Journal(#[source] JournalError),
    /// The journal could not be read back to build the ledger.
    #[error("cannot replay the journal: {0}")]
    Replay(#[source] JournalError),
    /// The ledger could not be built from the journal.
    #[error("cannot write the ledger: {0}")]
    Rebuild(#[source] JournalError),
    /// A dry run's ledger could not be written.
    #[error("cannot write the ledger: {0}")]
    Ledger(#[source] LedgerError),
}

/// What closing a sink gives back.
#[derive(Debug)]
pub struct Closed {
    /// Counts of the ledger written.
    pub summary: LedgerSummary,
    /// Every row's verdict in ledger order, when the writer saw them all (dry runs);
    /// `None` means read them from the ledger.
    pub verdicts: Option<Vec<Verdict>>,
    /// Lines in the audit log.
    pub audit_lines: u64,
    /// The audit log's head: lowercase hex SHA-256 of its seal line (empty when the
    /// log could not be closed).
    pub audit_head: String,
    /// Seconds the run lost to the writer: blocked on a full channel, waiting for
    /// intents to be journaled, and closing.
    pub lost_seconds: f64,
    /// CPU seconds of the writer thread (0 where the platform does not say).
    pub writer_cpu_seconds: f64,
    /// The first write error of the run, if any: the run must count as stopped.
    pub error: Option<String>,
    /// The run's deliveries as the journal holds them, when it has an outbox (or
    /// an earlier session of it had one).
    pub outbox: Option<OutboxCounts>,
}

fn pending(row: u64) -> LedgerRow {
    LedgerRow::without_call(
        row,
        None,
        None,
        Action::None,
        Outcome::Pending,
        String::new(),
    )
}

impl CallObserver for RunSink {
    fn on_pause(&self, wait: std::time::Duration, why: &str) {
        self.send_now(Msg::Note {
            ts: Utc::now(),
            detail: format!("paused {:.1} s: {why}", wait.as_secs_f64()),
        });
    }

    fn on_call(&self, call: &CallRecord) {
        self.send_now(Msg::Call {
            ts: Utc::now(),
            row: call.row,
            method: call.method,
            path: call.path.clone(),
            status: call.status,
            latency_ms: call.latency_ms,
            attempt: call.attempt,
            outcome: call.outcome,
            error: call.error.clone(),
        });
    }
}
