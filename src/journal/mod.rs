//! The write-ahead journal that makes an import crash-safe and resumable.
//!
//! Owns the journal file format and its replay: before a mutating call the importer
//! records an *intent* (row, action, key); after it, the row's final *outcome* (a full
//! ledger row). On resume, [`Journal::open`] replays the file into a [`JournalState`]:
//! rows with an outcome are done, rows with an intent and no outcome are in flight and
//! must be reconciled by a lookup before anything is re-sent. At the end the ledger is
//! rebuilt from the journal ([`build_ledger_from_journal`]), sorted by row, so a crash
//! never leaves a half-written ledger. Does not decide what to re-send (see `import`).
//!
//! Format: JSON lines, tagged by `"t"`: line 1 is `meta` ([`RunMeta`], secrets
//! redacted), then `intent` and `outcome` lines in the order they happened, and the
//! outbox's `event`, `delivered` and `undeliverable` lines ([`outbox`]).
//!
//! Durability (see [`SyncPolicy`]): every line is handed to the kernel with one
//! `write` before [`Journal::intent`] returns, so a kill -9 of the process loses
//! nothing already journaled. `fsync` (which protects against power loss and kernel
//! crashes) is batched by default: once 1 s has passed since the last one (checked as
//! lines are written) or after 8192 lines, and on close. The trade-off: an fsync costs
//! milliseconds (about 6 ms each on the shared build machine), so one per intent
//! would cap an unlimited-rate run at a few hundred rows a second, while losing the
//! last second of intents to a power cut only costs a lookup: the importer always
//! looks a user up before creating it, so a create whose intent was lost is found
//! and adopted, not duplicated.
//! A torn last line (a crash mid-write) is ignored on replay and cut off before new
//! lines are appended.

pub mod error;
pub mod file;
pub mod meta;
pub mod outbox;
pub mod rebuild;

pub use error::JournalError;
pub use file::{Intent, Journal, JournalState, SyncPolicy};
pub use meta::{RunMeta, redact_args};
pub use outbox::{OutboxItem, OutboxState};
pub use rebuild::build_ledger_from_journal;

#[cfg(test)]
mod tests;
