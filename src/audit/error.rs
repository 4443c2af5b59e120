//! Errors of the audit layer.

use std::path::PathBuf;

/// Writing, resuming or reading an audit log failed.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
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
    /// The file cannot be continued: it is not a scimport audit log.
    #[error("{path} is not a scimport audit log: {problem}")]
    NotAnAudit {
        /// The file.
        path: PathBuf,
        /// Why.
        problem: String,
    },
    /// An event could not be encoded.
    #[error("cannot encode an audit event")]
    Encode {
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
}

impl AuditError {
    pub(crate) fn io(
        op: &'static str,
        path: &std::path::Path,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.to_path_buf();
        move |source| AuditError::Io { op, path, source }
    }
}
