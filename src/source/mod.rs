//! Streaming readers for HR exports (CSV, NDJSON): each data row becomes a
//! [`Record`] or a row-level error; memory stays flat whatever the file size.
//!
//! Owns opening the input (`-` is stdin, `.gz` is decompressed, stdin is spooled to a
//! temporary file when it must be read twice), format and delimiter detection, the
//! header, and cutting the byte stream into blocks of whole records ([`block`]) that
//! worker threads parse independently ([`csv`], [`ndjson`]). A record that cannot be
//! read (invalid UTF-8, ragged, bad JSON) is an error of that row, never of the run.
//! Mapping and judging records live in `mapping` and `validate`.

pub mod block;
pub mod csv;
pub mod input;
pub mod ldap;
pub mod ndjson;

use std::collections::HashMap;
use std::path::PathBuf;

use crate::model::ErrorKind;
pub use block::{Block, BlockReader, DEFAULT_MAX_RECORD_BYTES, TooLarge};

/// One data row of the input: `row` is the 1-based data row (a quoted field spanning
/// lines is still one row), `fields` are the values in header order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// 1-based data row number.
    pub row: u64,
    /// Field values, in the order of the header.
    pub fields: Vec<String>,
}

/// The input's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma/semicolon/tab/pipe separated values with a header row.
    Csv,
    /// One JSON object per line.
    Ndjson,
}

/// What to read and how.
#[derive(Debug, Clone)]
pub struct InputSpec {
    /// The file to read; `-` reads stdin. `.gz` (or gzip magic bytes) is decompressed.
    pub path: PathBuf,
    /// The format; `None` detects it from the extension, then the first byte.
    pub format: Option<Format>,
    /// CSV delimiter; `None` detects it from the header line (`,` `;` tab `|`).
    pub delimiter: Option<u8>,
    /// When set (e.g. `"row"` for a failed.csv fed back), `Record.row` is taken from
    /// that column instead of the record's position.
    pub row_column: Option<String>,
    /// Longest record read (`--max-record-bytes`); a longer one is skipped unread
    /// and becomes a `record_too_large` row.
    pub max_record_bytes: usize,
}

impl InputSpec {
    /// A spec for `path` with everything detected.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            format: None,
            delimiter: None,
            row_column: None,
            max_record_bytes: block::DEFAULT_MAX_RECORD_BYTES,
        }
    }
}

/// The input's column names, in order, with a name → index lookup.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Header {
    names: Vec<String>,
    index: HashMap<String, usize>,
}

impl Header {
    /// A header from column names (the first of duplicate names wins lookups).
    pub fn new(names: Vec<String>) -> Self {
        let mut index = HashMap::with_capacity(names.len());
        for (i, n) in names.iter().enumerate() {
            index.entry(n.clone()).or_insert(i);
        }
        Self { names, index }
    }
    /// Column names in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }
    /// Number of columns.
    pub fn len(&self) -> usize {
        self.names.len()
    }
    /// Whether there are no columns.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
    /// The index of a column by exact name.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }
}

/// Failures of the input as a whole (row problems are `RowError`s instead).
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The input could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The input path (`-` for stdin).
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The input has no header row / no JSON object to take column names from.
    #[error("{path}: {problem}")]
    Header {
        /// The input path.
        path: String,
        /// What is wrong.
        problem: String,
    },
    /// A temporary file the run needs could not be created, written or read back
    /// (the duplicate pass spills to one for large inputs).
    #[error(
        "{path}: {what} cannot use a temporary file in {dir} (free space there or set TMPDIR to another directory)"
    )]
    Scratch {
        /// The input path.
        path: String,
        /// What needed the file (`duplicate detection`).
        what: &'static str,
        /// The temporary directory.
        dir: String,
        /// The cause (printed by the error chain, not in this message).
        #[source]
        source: std::io::Error,
    },
}

/// One record as a block parser hands it over: borrowed fields, or a record that
/// could not be read, with its (lossily decoded) fields and the problem.
#[derive(Debug)]
pub enum RawRow<'a> {
    /// A readable record.
    Ok(&'a [&'a str]),
    /// A record that could not be read cleanly.
    Bad {
        /// The fields, lossily decoded, as far as they could be read.
        fields: Vec<String>,
        /// Stable snake_case kind: `bad_utf8`, `ragged_row`, `bad_json`,
        /// `record_too_large`.
        kind: ErrorKind,
        /// What is wrong.
        problem: String,
        /// How to fix it.
        fix: &'static str,
    },
}
