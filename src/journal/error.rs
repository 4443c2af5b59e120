//! Errors of the journal layer.

use std::path::PathBuf;

use crate::ledger::LedgerError;

/// Writing, replaying or rebuilding from a journal failed.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// A file-system operation failed.
    #[error("cannot {op} {path}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A line before the last one is not a journal line: the file was damaged.
    #[error("{path} line {line} is not a journal line: {problem}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// Why.
        problem: String,
    },
    /// An entry could not be encoded.
    #[error("cannot encode a journal entry")]
    Encode {
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// Rebuilding the ledger failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

impl JournalError {
    pub(crate) fn io(
        op: &'static str,
        path: &std::path::Path,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.to_path_buf();
        move |source| JournalError::Io { op, path, source }
    }
}
