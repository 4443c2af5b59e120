//! `failed.csv`: the rows that did not make it, as the original columns plus `row`,
//! `error_kind` and `error`, ready to fix and feed back (`--row-column row` keeps the
//! original row numbers). Written by `scimport validate --errors` and by the
//! importer. Columns named `row`, `error_kind` or `error` in the input (a failed.csv
//! fed back) are replaced, not repeated.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::source::Record;
use crate::validate::{RowError, summarize};

/// The three columns appended to the original ones.
pub const EXTRA_COLUMNS: [&str; 3] = ["row", "error_kind", "error"];

/// Failures writing failed.csv.
#[derive(Debug, thiserror::Error)]
pub enum FailedCsvError {
    /// The file could not be created or written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The CSV writer failed.
    #[error("cannot write {path}: {source}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: csv::Error,
    },
}

/// Writes failed.csv; call [`FailedCsvWriter::close`] at the end.
pub struct FailedCsvWriter {
    path: PathBuf,
    writer: Option<csv::Writer<BufWriter<Box<dyn Write + Send>>>>,
    keep: Vec<usize>,
    rows: u64,
    cells: Vec<String>,
}

impl std::fmt::Debug for FailedCsvWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FailedCsvWriter")
            .field("path", &self.path)
            .field("rows", &self.rows)
            .finish()
    }
}

impl FailedCsvWriter {
    /// Creates `path` (`-` writes to stdout) and writes the header: `header`'s
    /// columns (minus any existing `row`/`error_kind`/`error`) then those three.
    pub fn try_new(path: &Path, header: &[String]) -> Result<Self, FailedCsvError> {
        let out: Box<dyn Write + Send> = if path.as_os_str() == "-" {
            Box::new(std::io::stdout())
        } else {
            Box::new(File::create(path).map_err(|source| FailedCsvError::Io {
                path: path.to_path_buf(),
                source,
            })?)
        };
        let keep: Vec<usize> = header
            .iter()
            .enumerate()
            .filter(|(_, h)| !EXTRA_COLUMNS.contains(&h.as_str()))
            .map(|(i, _)| i)
            .collect();
        let mut me = Self {
            path: path.to_path_buf(),
            writer: Some(csv::Writer::from_writer(BufWriter::with_capacity(
                256 * 1024,
                out,
            ))),
            keep,
            rows: 0,
            cells: Vec::new(),
        };
        let mut cells: Vec<String> = me.keep.iter().map(|&i| header[i].clone()).collect();
        cells.extend(EXTRA_COLUMNS.iter().map(|s| s.to_string()));
        me.write_cells(&cells)?;
        Ok(me)
    }

    fn write_cells(&mut self, cells: &[String]) -> Result<(), FailedCsvError> {
        let path = self.path.clone();
        let w = self.writer.as_mut().ok_or_else(|| FailedCsvError::Io {
            path: path.clone(),
            source: std::io::Error::other("already closed"),
        })?;
        w.write_record(cells)
            .map_err(|source| FailedCsvError::Csv { path, source })
    }

    /// Writes one failed row with its error kind and message.
    pub fn write(&mut self, rec: &Record, kind: &str, error: &str) -> Result<(), FailedCsvError> {
        let mut cells = std::mem::take(&mut self.cells);
        cells.clear();
        for &i in &self.keep {
            cells.push(rec.fields.get(i).cloned().unwrap_or_default());
        }
        cells.push(rec.row.to_string());
        cells.push(kind.to_string());
        cells.push(crate::secrets::scrub(error).into_owned());
        let r = self.write_cells(&cells);
        self.cells = cells;
        r?;
        self.rows += 1;
        Ok(())
    }

    /// Writes one invalid row with all its errors (kinds joined with `;`, messages
    /// with ` | `).
    pub fn write_errors(
        &mut self,
        rec: &Record,
        errors: &[RowError],
    ) -> Result<(), FailedCsvError> {
        let (kind, error) = summarize(errors);
        self.write(rec, &kind, &error)
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Flushes and closes the file; returns the number of rows written.
    pub fn close(mut self) -> Result<u64, FailedCsvError> {
        if let Some(w) = self.writer.take() {
            let path = self.path.clone();
            let mut inner = w.into_inner().map_err(|e| FailedCsvError::Io {
                path: path.clone(),
                source: std::io::Error::other(e.to_string()),
            })?;
            inner
                .flush()
                .map_err(|source| FailedCsvError::Io { path, source })?;
        }
        Ok(self.rows)
    }
}

impl Drop for FailedCsvWriter {
    fn drop(&mut self) {
        if self.writer.is_some() {
            tracing::warn!(path = %self.path.display(), "failed.csv writer dropped without close()");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_original_columns_plus_three() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("failed.csv");
        let header: Vec<String> = ["a", "row", "b", "error"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut w = FailedCsvWriter::try_new(&p, &header).unwrap();
        let rec = Record {
            row: 7,
            fields: vec!["x,1".into(), "3".into(), "y".into(), "old".into()],
        };
        w.write(&rec, "invalid_email", "bad \"quote\"").unwrap();
        w.write(
            &Record {
                row: 9,
                fields: vec!["only".into()],
            },
            "ragged_row",
            "short",
        )
        .unwrap();
        assert_eq!(w.close().unwrap(), 2);
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(
            text,
            "a,b,row,error_kind,error\n\"x,1\",y,7,invalid_email,\"bad \"\"quote\"\"\"\nonly,,9,ragged_row,short\n"
        );
    }

    #[test]
    fn issue_14_an_error_quoting_a_registered_secret_is_masked() {
        let secret = "failed-csv-unit-secret";
        crate::secrets::register(crate::secrets::SecretKind::BearerToken, secret);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("failed.csv");
        let mut w = FailedCsvWriter::try_new(&p, &["a".to_string()]).unwrap();
        let rec = Record {
            row: 1,
            fields: vec!["x".into()],
        };
        w.write(&rec, "rejected", &format!("HTTP 400: {secret}"))
            .unwrap();
        w.close().unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(text, "a,row,error_kind,error\nx,1,rejected,HTTP 400: ***\n");
    }
}
