//! Sources of desired users: what a caller feeds the engine. A source yields its
//! header and expected row count first, then chunks of [`Prepared`] rows in row
//! order, then whether it reached its end. [`FileSource`] reads an HR export
//! (parse, map and validate on all cores, on a thread of its own); [`RowsSource`]
//! hands over rows a caller already holds (a directory search, a state file).
//!
//! Does not decide anything about the rows (see `plan`) nor write them (see `apply`).

use std::collections::HashSet;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::error::InputError;
use crate::mapping::Mapping;
use crate::source::InputSpec;
use crate::validate::{self, PrepareOptions, Prepared};

/// What a source says before its first row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceHead {
    /// Column names (failed.csv's header).
    pub header: Vec<String>,
    /// Rows the source will yield, when known (sizes the lookup choice and the
    /// progress bar).
    pub expected_rows: Option<u64>,
}

/// A started source: its head, its chunks, and how it ended.
#[derive(Debug)]
pub struct Feed {
    /// The head, or why the source could not start.
    pub head: oneshot::Receiver<Result<SourceHead, InputError>>,
    /// Chunks of rows in row order; closed at the end.
    pub chunks: mpsc::Receiver<Vec<Prepared>>,
    /// Sent once the last chunk is out: an error when the source stopped early. A
    /// dropped sender counts as a clean end.
    pub end: oneshot::Receiver<Result<(), InputError>>,
}

/// A source of desired users in row order.
pub trait DesiredSource: Send + 'static {
    /// Starts streaming rows mapped with `mapping`.
    fn start(self, mapping: Arc<Mapping>) -> Feed;
    /// The file failed.csv reads the failed rows' original columns from, if any.
    fn reread(&self) -> Option<InputSpec> {
        None
    }
}

/// Chunks queued between a source's thread and the run.
const CHUNKS_QUEUED: usize = 2;

/// An HR export read through `validate::prepare` on a thread of its own.
#[derive(Debug, Clone)]
pub struct FileSource {
    spec: InputSpec,
    only_rows: Option<HashSet<u64>>,
}

impl FileSource {
    /// The rows of `spec` (only those in `only_rows` when given).
    pub fn new(spec: InputSpec, only_rows: Option<HashSet<u64>>) -> Self {
        FileSource { spec, only_rows }
    }
}

impl DesiredSource for FileSource {
    fn start(self, mapping: Arc<Mapping>) -> Feed {
        let (tx, chunks) = mpsc::channel(CHUNKS_QUEUED);
        let (head_tx, head) = oneshot::channel();
        let (end_tx, end) = oneshot::channel();
        std::thread::spawn(move || {
            let expected = self.only_rows.as_ref().map(|s| s.len() as u64);
            let opts = PrepareOptions {
                only_rows: self.only_rows,
                ..PrepareOptions::default()
            };
            let prep = match validate::prepare(&self.spec, &mapping, opts) {
                Ok(p) => p,
                Err(e) => {
                    let _ = head_tx.send(Err(e.into()));
                    return;
                }
            };
            let _ = head_tx.send(Ok(SourceHead {
                header: prep.header().names().to_vec(),
                expected_rows: Some(expected.unwrap_or(prep.total_rows())),
            }));
            for chunk in prep {
                match chunk {
                    Ok(c) => {
                        if tx.blocking_send(c).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = end_tx.send(Err(e.into()));
                        return;
                    }
                }
            }
            let _ = end_tx.send(Ok(()));
        });
        Feed { head, chunks, end }
    }

    fn reread(&self) -> Option<InputSpec> {
        Some(self.spec.clone())
    }
}

/// Rows a caller already holds (mapped and validated), handed over in chunks.
#[derive(Debug, Clone)]
pub struct RowsSource {
    header: Vec<String>,
    rows: Vec<Prepared>,
}

impl RowsSource {
    /// `rows` in row order, with the column names failed.csv gets.
    pub fn new(header: Vec<String>, rows: Vec<Prepared>) -> Self {
        RowsSource { header, rows }
    }
}

/// Rows per chunk of a [`RowsSource`].
const ROWS_PER_CHUNK: usize = 1024;

impl DesiredSource for RowsSource {
    fn start(self, _mapping: Arc<Mapping>) -> Feed {
        let (tx, chunks) = mpsc::channel(CHUNKS_QUEUED);
        let (head_tx, head) = oneshot::channel();
        let (end_tx, end) = oneshot::channel();
        let _ = head_tx.send(Ok(SourceHead {
            header: self.header,
            expected_rows: Some(self.rows.len() as u64),
        }));
        // A thread of its own, so the source needs no runtime handle and never
        // blocks a tokio worker on a full channel.
        std::thread::spawn(move || {
            let mut rows = self.rows.into_iter().peekable();
            while rows.peek().is_some() {
                let chunk: Vec<Prepared> = rows.by_ref().take(ROWS_PER_CHUNK).collect();
                if tx.blocking_send(chunk).is_err() {
                    return;
                }
            }
            let _ = end_tx.send(Ok(()));
        });
        Feed { head, chunks, end }
    }
}
