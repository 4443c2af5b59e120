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
    /// The ledger is not a readable Parquet file.
    #[error("cannot read the ledger {path}")]
    Parquet {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// A ledger batch could not be decoded.
    #[error("cannot decode the ledger {path}")]
    Arrow {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: arrow_schema::ArrowError,
    },
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
