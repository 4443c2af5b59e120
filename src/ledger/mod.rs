//! The Parquet result ledger: one row per input row in its final state, plus
//! `summary.json` and `failed.csv`, and the run directory that holds them.
//!
//! Owns the Arrow schema (in [`schema`], the one place it is defined), the writer
//! ([`LedgerWriter`]: batches rows into Arrow record batches, writes a temporary file
//! and renames it on [`LedgerWriter::close`], so a half-written `ledger.parquet` never
//! exists), our own reader ([`read_ledger`]), the run summary ([`RunSummary`]), the
//! run directory layout ([`RunDir`]) and its OS lock ([`RunLock`]). Does not decide
//! outcomes (see `apply`) and does not write the audit log (see `audit`) or the
//! journal (see `journal`).
//!
//! ```
//! use scimport::ledger::{Action, LedgerRow, LedgerWriter, Outcome, RunDir, RunSummary};
//! # let tmp = tempfile::tempdir().unwrap();
//! let run = RunDir::create(&tmp.path().join("runs"))?;
//! let mut ledger = LedgerWriter::try_new(&run.ledger_path(), &run.id)?;
//! ledger.write(&LedgerRow {
//!     row: 1,
//!     external_id: Some("E1".into()),
//!     user_name: Some("ada@example.com".into()),
//!     action: Action::Create,
//!     outcome: Outcome::Succeeded,
//!     http_status: Some(201),
//!     scim_id: Some("3fa2".into()),
//!     attempts: 1,
//!     latency_ms: 41.0,
//!     error_kind: None,
//!     error: None,
//!     changed_fields: vec!["userName".into()],
//!     source_hash: "9f86d0".into(),
//!     finished_at: chrono::Utc::now(),
//!     warning: None,
//!     wait_ms: 0.0,
//! })?;
//! let counts = ledger.close()?;
//! RunSummary::new(&run.id, &counts).write(&run.summary_path())?;
//! assert_eq!(scimport::ledger::read_ledger(&run.ledger_path())?.len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod error;
pub mod export;
pub mod patch;
pub mod reader;
pub mod run_dir;
pub mod run_lock;
pub mod runs;
pub mod schema;
pub mod summary;
pub mod writer;

pub use crate::model::{Action, FieldPath, Outcome, intern};
pub use error::LedgerError;
pub use reader::{Verdict, read_ledger, read_verdicts, summarize_ledger};
pub use run_dir::RunDir;
pub use run_lock::{LockError, RunLock};
pub use summary::{LedgerSummary, RunSummary};
pub use writer::LedgerWriter;

use crate::model::ErrorKind;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One row of the result ledger (the writer adds `run_id`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerRow {
    /// 1-based data row of the input.
    pub row: u64,
    /// The row's externalId, if any.
    pub external_id: Option<String>,
    /// The row's userName, if any.
    pub user_name: Option<String>,
    /// Action decided.
    pub action: Action,
    /// Final outcome.
    pub outcome: Outcome,
    /// HTTP status of the last call; `None` when no call was made.
    pub http_status: Option<i32>,
    /// The tenant's user id, when known.
    pub scim_id: Option<String>,
    /// HTTP attempts spent on this row.
    pub attempts: u32,
    /// Total latency of the row's calls in milliseconds.
    pub latency_ms: f64,
    /// Stable snake_case error kind; `None` on success.
    pub error_kind: Option<ErrorKind>,
    /// Error text; `None` on success.
    pub error: Option<String>,
    /// SCIM paths changed (or planned to change).
    pub changed_fields: Vec<FieldPath>,
    /// Hash of the input row.
    pub source_hash: String,
    /// When the row reached this state (UTC).
    pub finished_at: DateTime<Utc>,
    /// Something the row's user should know although the row succeeded, as
    /// `kind: detail` (`manager_unresolved: …`); null when nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
    /// Milliseconds the row spent waiting rather than in its own calls: for the
    /// rate limiter's slot or pause, and between retries (`latency_ms` is the
    /// calls' own time).
    #[serde(default)]
    pub wait_ms: f64,
}

impl LedgerRow {
    /// A row that made no call (yet): no status, id, attempts, latency, error or
    /// changed fields, finished now.
    pub fn without_call(
        row: u64,
        external_id: Option<String>,
        user_name: Option<String>,
        action: Action,
        outcome: Outcome,
        source_hash: String,
    ) -> Self {
        Self {
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
            warning: None,
            wait_ms: 0.0,
        }
    }
}

pub mod failed_csv;
