//! Errors of the ledger layer: file I/O, Parquet/Arrow encoding, a file that is not a
//! scimport ledger, and run directories that cannot be found.

use std::path::PathBuf;

/// Something went wrong writing or reading a ledger, a summary or a run directory.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// A file-system operation failed.
    #[error("cannot {op} {path}")]
    Io {
        /// What was being done ("create", "rename", ...).
        op: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The Parquet encoder or decoder failed.
    #[error("Parquet error on {path}")]
    Parquet {
        /// The ledger file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// An Arrow batch could not be built or read.
    #[error("Arrow error on {path}")]
    Arrow {
        /// The ledger file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: arrow_schema::ArrowError,
    },
    /// The file is readable Parquet but not a scimport ledger.
    #[error("{path} is not a scimport ledger: {problem}")]
    Schema {
        /// The file.
        path: PathBuf,
        /// What does not match.
        problem: String,
    },
    /// `summary.json` could not be encoded or decoded.
    #[error("bad summary file {path}")]
    Json {
        /// The summary file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// No run with this id (or path) exists.
    #[error("no run '{id}' (looked for {looked_at})")]
    NoRun {
        /// The id or path given.
        id: String,
        /// Where we looked.
        looked_at: PathBuf,
    },
    /// The writer was used after an earlier error left it unusable.
    #[error("ledger writer for {path} is closed")]
    Closed {
        /// The ledger file.
        path: PathBuf,
    },
}

impl LedgerError {
    /// Builds an [`LedgerError::Io`] for `op` on `path`.
    pub(crate) fn io(
        op: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| LedgerError::Io { op, path, source }
    }
}
