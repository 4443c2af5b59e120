//! Errors of the report layer: a run's files that cannot be read, and a page
//! that cannot be rendered or written.

use std::path::PathBuf;

/// Building or writing a report failed.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A file could not be read or written.
    #[error("cannot read or write {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The ledger cannot be read, or is not a scimport ledger.
    #[error(transparent)]
    Ledger(#[from] crate::ledger::LedgerError),
    /// The file is not a scimport ledger.
    #[error("{path} is not a scimport ledger: {problem}")]
    NotALedger {
        /// The file.
        path: PathBuf,
        /// Why.
        problem: String,
    },
    /// summary.json is not JSON of the expected shape.
    #[error("{path} is not a run summary")]
    NotASummary {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// A chart could not be drawn.
    #[error("cannot draw the {chart} chart: {problem}")]
    Chart {
        /// Which chart.
        chart: &'static str,
        /// Why.
        problem: String,
    },
    /// The page template failed.
    #[error("cannot render the report page")]
    Template {
        /// The underlying error.
        #[source]
        source: minijinja::Error,
    },
}
