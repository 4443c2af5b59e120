//! [`Outbox`]: the seam through which a run tells someone else (the HR system's
//! webhook receiver) how each row ended, without the engine knowing how. The
//! sink's writer thread asks the outbox for the deliveries a row's final state
//! makes, journals each one before it is handed over (so it survives a crash and
//! a resume sends it again under the same id), and journals how each delivery
//! ended when the outbox reports back. The HTTP side lives in `webhook`.

use std::sync::Arc;

use futures::future::BoxFuture;

use crate::journal::OutboxItem;
use crate::ledger::LedgerRow;

/// How one delivery ended, as the outbox reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryEnd {
    /// The delivery's id.
    pub id: String,
    /// Attempts made.
    pub attempts: u32,
    /// `Ok` once acknowledged; `Err(why)` when it failed for good.
    pub result: Result<(), String>,
}

/// Where the outbox reports a delivery's end (the sink journals it). Callable
/// from any thread, any number of times; does nothing once the run's files are
/// closed (the delivery then stays pending for a resume).
pub type DeliveryReply = Arc<dyn Fn(DeliveryEnd) + Send + Sync>;

/// Something that turns rows' final states into deliveries and makes them.
pub trait Outbox: Send + Sync {
    /// For a row's first final state: the deliveries it completes (none when the
    /// row reports nothing, one, or a batch this row fills). Called on the
    /// writer thread, in the order rows finish.
    fn items(&self, run_id: &str, row: &LedgerRow) -> Vec<OutboxItem>;

    /// The deliveries still held back (a partial batch) once no row will follow.
    fn flush(&self, run_id: &str) -> Vec<OutboxItem>;

    /// Starts delivering an item the journal already holds; `done` hears how it
    /// ends. Must not block for long: when it cannot take the item (its queue is
    /// full), the item stays pending in the journal and a resume sends it.
    fn deliver(&self, item: OutboxItem, done: DeliveryReply);

    /// Waits, up to the outbox's own time limit, until every delivery handed over
    /// has ended (and been reported); true when none is left.
    fn drain(&self) -> BoxFuture<'_, bool>;
}

/// The run's deliveries as the journal holds them at the end (every session of
/// the run). summary.json's `webhooks`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct OutboxCounts {
    /// Deliveries journaled (events, or batches of them).
    pub sent: u64,
    /// Acknowledged by the receiver.
    pub delivered: u64,
    /// Failed for good (recorded in the ledger and the audit log).
    pub failed: u64,
    /// Not acknowledged yet: `--resume` sends them again.
    pub pending: u64,
}
