//! The append-only, hash-chained JSONL audit log: one line per decision and per HTTP
//! call; `verify` detects any edit, removal or reordering.
//!
//! Owns the line format ([`event`]), the writer ([`AuditLog`]: one line per event,
//! written to the OS as soon as it is appended, each line carrying the SHA-256 of the
//! line before it), secret redaction of free text ([`redact`], from `secrets`) and the checker
//! ([`verify`]). Does not decide what to log: `apply` and `import` build the events.
//!
//! Format: every line is a JSON object starting with `seq` (1-based line number),
//! `prev_sha256` (hex SHA-256 of the previous line's bytes, without its newline; 64
//! zeros on line 1) and `run_id`, then the event. Line 1 is a `start` event; `close`
//! writes a final `seal` event, so a truncated tail shows up as an unsealed log; a
//! resumed run continues the chain with a `resume` event after the seal (or after the
//! last complete line of a crashed run). The chain has no secret key: on its own it
//! proves the file was not altered by hand or by a bug, not that nobody recomputed
//! every hash. The anchor is the head (the SHA-256 of the seal line), which a run
//! prints last and stores in summary.json: a log whose recomputed head differs from
//! the one kept elsewhere was rewritten, truncated or forged (`verify` + `--expect-head`).

pub mod error;
pub mod event;
pub mod log;
pub mod read;
pub mod verify;

pub use crate::secrets::redact;
pub use error::AuditError;
pub use event::{AuditEvent, EventKind};
pub use log::{AuditLog, FlushPolicy, Sealed};
pub use read::read_events;
pub use verify::{Problem, VerifyReport, verify};
