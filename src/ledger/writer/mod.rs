//! [`LedgerWriter`]: rows in, one Snappy-compressed Parquet file out.
//!
//! Rows are appended to Arrow builders; every [`BATCH_ROWS`] rows they become a
//! `RecordBatch` that parquet-rs's [`ArrowWriter`] encodes. Row groups hold up to
//! [`ROW_GROUP_ROWS`] rows. Which columns are dictionary encoded and which carry
//! statistics is set per column in `properties`. The file is written as
//! `ledger.parquet.tmp` and renamed over `ledger.parquet` only by
//! [`LedgerWriter::close`], so readers never see a half-written ledger.
//!
//! Owns the file's encoding settings. The columns themselves are defined in `schema`,
//! and reading the file back is `reader`'s job.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{
    Float64Builder, Int32Builder, ListBuilder, StringBuilder, TimestampMicrosecondBuilder,
    UInt32Builder, UInt64Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
use parquet::arrow::{ArrowSchemaConverter, ArrowWriter};
use parquet::basic::Compression;
use parquet::errors::ParquetError;
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterPropertiesBuilder};
use parquet::schema::types::ColumnPath;

use super::schema::{self, TIME_ZONE};
use super::{LedgerError, LedgerRow, LedgerSummary};
use crate::model::{Delivery, ErrorKind};
use crate::writeback::{self, Writeback};

/// Rows buffered in Arrow builders before they are encoded as one record batch.
pub const BATCH_ROWS: usize = 2 * 1024;
/// Maximum rows per Parquet row group.
pub const ROW_GROUP_ROWS: usize = 128 * 1024;

/// Columns whose chunks carry min/max statistics: the ones a reader prunes row groups
/// with. The ids, names, free text and lists have none (they never had, and a
/// min/max of a hash or an error message prunes nothing).
const WITH_STATISTICS: [&str; 6] = [
    schema::ROW,
    schema::HTTP_STATUS,
    schema::ATTEMPTS,
    schema::LATENCY_MS,
    schema::ERROR_KIND,
    schema::FINISHED_AT,
];

/// Columns written without a dictionary: their values (nearly) never repeat, so a
/// dictionary is pure overhead before the writer falls back to PLAIN anyway.
const WITHOUT_DICTIONARY: [&str; 9] = [
    schema::ROW,
    schema::EXTERNAL_ID,
    schema::USER_NAME,
    schema::SCIM_ID,
    schema::LATENCY_MS,
    schema::WAIT_MS,
    schema::ERROR,
    schema::SOURCE_HASH,
    schema::FINISHED_AT,
];

/// The Parquet leaf path of column `name` (`changed_fields` is a list: its one leaf
/// sits below it).
fn leaf_path(name: &str) -> ColumnPath {
    let descr = ArrowSchemaConverter::new()
        .convert(&schema::schema())
        .expect("the ledger schema converts to Parquet");
    descr
        .columns()
        .iter()
        .map(|c| c.path().clone())
        .find(|p| p.parts()[0] == name)
        .expect("a ledger column")
}

/// The ledger's writer properties: Snappy, [`ROW_GROUP_ROWS`] rows per row group,
/// dictionaries except on [`WITHOUT_DICTIONARY`], chunk statistics only on
/// [`WITH_STATISTICS`].
fn properties() -> WriterPropertiesBuilder {
    let mut props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_statistics_enabled(EnabledStatistics::None)
        .set_created_by(format!("scimport {}", env!("CARGO_PKG_VERSION")));
    for col in WITHOUT_DICTIONARY {
        props = props.set_column_dictionary_enabled(leaf_path(col), false);
    }
    for col in WITH_STATISTICS {
        props = props.set_column_statistics_enabled(leaf_path(col), EnabledStatistics::Chunk);
    }
    props
}

/// Writes a run's ledger. Call [`LedgerWriter::close`]; dropping it without closing
/// discards the temporary file and logs a warning.
pub struct LedgerWriter {
    path: PathBuf,
    tmp: PathBuf,
    run_id: String,
    /// `None` once closed.
    writer: Option<ArrowWriter<File>>,
    builders: Builders,
    summary: LedgerSummary,
    /// Syncs finished row groups in the background, so `close` only waits for the
    /// tail (`None` if its thread could not start).
    writeback: Option<Writeback>,
    /// File bytes already reported to `writeback`.
    reported: usize,
}

impl std::fmt::Debug for LedgerWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LedgerWriter")
            .field("path", &self.path)
            .field("run_id", &self.run_id)
            .field("rows", &self.summary.rows)
            .finish()
    }
}

/// One builder per column, in schema order.
struct Builders {
    run_id: StringBuilder,
    row: UInt64Builder,
    external_id: StringBuilder,
    user_name: StringBuilder,
    action: StringBuilder,
    outcome: StringBuilder,
    http_status: Int32Builder,
    scim_id: StringBuilder,
    attempts: UInt32Builder,
    latency_ms: Float64Builder,
    error_kind: StringBuilder,
    error: StringBuilder,
    changed_fields: ListBuilder<StringBuilder>,
    source_hash: StringBuilder,
    finished_at: TimestampMicrosecondBuilder,
    webhook: StringBuilder,
    warning: StringBuilder,
    wait_ms: Float64Builder,
    len: usize,
}

impl Builders {
    fn new() -> Self {
        let n = BATCH_ROWS;
        Builders {
            run_id: StringBuilder::new(),
            row: UInt64Builder::with_capacity(n),
            external_id: StringBuilder::new(),
            user_name: StringBuilder::new(),
            action: StringBuilder::new(),
            outcome: StringBuilder::new(),
            http_status: Int32Builder::with_capacity(n),
            scim_id: StringBuilder::new(),
            attempts: UInt32Builder::with_capacity(n),
            latency_ms: Float64Builder::with_capacity(n),
            error_kind: StringBuilder::new(),
            error: StringBuilder::new(),
            // The schema's element field: a builder's default one is nullable.
            changed_fields: ListBuilder::new(StringBuilder::new())
                .with_field(schema::changed_fields_item()),
            source_hash: StringBuilder::new(),
            finished_at: TimestampMicrosecondBuilder::with_capacity(n).with_timezone(TIME_ZONE),
            webhook: StringBuilder::new(),
            warning: StringBuilder::new(),
            wait_ms: Float64Builder::with_capacity(n),
            len: 0,
        }
    }

    fn append(&mut self, run_id: &str, r: &LedgerRow, webhook: Option<Delivery>) {
        self.run_id.append_value(run_id);
        self.row.append_option(crate::model::input_row(r.row));
        self.external_id.append_option(r.external_id.as_deref());
        self.user_name.append_option(r.user_name.as_deref());
        self.action.append_value(r.action.as_str());
        self.outcome.append_value(r.outcome.as_str());
        self.http_status.append_option(r.http_status);
        self.scim_id.append_option(r.scim_id.as_deref());
        self.attempts.append_value(r.attempts);
        self.latency_ms.append_value(r.latency_ms);
        self.error_kind
            .append_option(r.error_kind.map(ErrorKind::as_str));
        self.error
            .append_option(r.error.as_deref().map(crate::secrets::scrub));
        for f in &r.changed_fields {
            self.changed_fields.values().append_value(f);
        }
        self.changed_fields.append(true);
        self.source_hash.append_value(&r.source_hash);
        self.finished_at
            .append_value(r.finished_at.timestamp_micros());
        self.webhook.append_option(webhook.map(Delivery::as_str));
        self.warning
            .append_option(r.warning.as_deref().map(crate::secrets::scrub));
        self.wait_ms.append_value(r.wait_ms);
        self.len += 1;
    }

    /// The buffered rows as one batch; the builders start over empty.
    fn finish(&mut self) -> Result<RecordBatch, arrow_schema::ArrowError> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.run_id.finish()),
            Arc::new(self.row.finish()),
            Arc::new(self.external_id.finish()),
            Arc::new(self.user_name.finish()),
            Arc::new(self.action.finish()),
            Arc::new(self.outcome.finish()),
            Arc::new(self.http_status.finish()),
            Arc::new(self.scim_id.finish()),
            Arc::new(self.attempts.finish()),
            Arc::new(self.latency_ms.finish()),
            Arc::new(self.error_kind.finish()),
            Arc::new(self.error.finish()),
            Arc::new(self.changed_fields.finish()),
            Arc::new(self.source_hash.finish()),
            Arc::new(self.finished_at.finish()),
            Arc::new(self.webhook.finish()),
            Arc::new(self.warning.finish()),
            Arc::new(self.wait_ms.finish()),
        ];
        self.len = 0;
        RecordBatch::try_new(schema::schema(), columns)
    }
}

impl LedgerWriter {
    /// Starts a ledger at `path` (written to `<path>.tmp` until closed) for run `run_id`.
    pub fn try_new(path: &Path, run_id: &str) -> Result<Self, LedgerError> {
        Self::with_properties(path, run_id, properties().build())
    }

    /// [`LedgerWriter::try_new`] with other writer properties (tests change limits).
    fn with_properties(
        path: &Path,
        run_id: &str,
        props: WriterProperties,
    ) -> Result<Self, LedgerError> {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let file = File::create(&tmp).map_err(LedgerError::io("create", &tmp))?;
        let writeback = Writeback::new(&file, "scimport-ledger-sync", writeback::EVERY).ok();
        // No buffer of our own: parquet-rs buffers small writes (page headers) and
        // writes each finished column chunk, built in memory, straight through.
        let writer =
            ArrowWriter::try_new(file, schema::schema(), Some(props)).map_err(|source| {
                LedgerError::Parquet {
                    path: tmp.clone(),
                    source,
                }
            })?;
        Ok(LedgerWriter {
            path: path.to_path_buf(),
            tmp,
            run_id: run_id.to_string(),
            writer: Some(writer),
            builders: Builders::new(),
            summary: LedgerSummary::default(),
            writeback,
            reported: 0,
        })
    }

    /// Appends one row. Rows are written in the order given; callers that need the
    /// ledger sorted by `row` sort first (see `journal::build_ledger_from_journal`).
    pub fn write(&mut self, row: &LedgerRow) -> Result<(), LedgerError> {
        self.write_with(row, None)
    }

    /// [`LedgerWriter::write`] with where the row's webhook event stands (column
    /// `webhook`; `None` when the row sent none).
    pub fn write_with(
        &mut self,
        row: &LedgerRow,
        webhook: Option<Delivery>,
    ) -> Result<(), LedgerError> {
        if self.writer.is_none() {
            return Err(self.closed());
        }
        self.builders.append(&self.run_id, row, webhook);
        self.summary.add(row);
        if self.builders.len >= BATCH_ROWS {
            self.flush_batch()?;
        }
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.summary.rows
    }

    fn closed(&self) -> LedgerError {
        LedgerError::Closed {
            path: self.path.clone(),
        }
    }

    fn parquet_error(&self, source: ParquetError) -> LedgerError {
        LedgerError::Parquet {
            path: self.tmp.clone(),
            source,
        }
    }

    /// Encodes the buffered rows. The Arrow writer ends a row group by itself once it
    /// holds [`ROW_GROUP_ROWS`] rows; what that handed to the OS is reported to the
    /// background sync.
    fn flush_batch(&mut self) -> Result<(), LedgerError> {
        if self.builders.len == 0 {
            return Ok(());
        }
        let batch = self
            .builders
            .finish()
            .map_err(|source| LedgerError::Arrow {
                path: self.tmp.clone(),
                source,
            })?;
        let Some(writer) = self.writer.as_mut() else {
            return Err(self.closed());
        };
        let groups = writer.flushed_row_groups().len();
        let written = writer.write(&batch);
        let ended_a_group = writer.flushed_row_groups().len() > groups;
        written.map_err(|e| self.parquet_error(e))?;
        if ended_a_group {
            self.report_flushed();
        }
        Ok(())
    }

    /// Ends the current row group, if it has rows, and reports it to the background
    /// sync.
    fn flush_row_group(&mut self) -> Result<(), LedgerError> {
        let Some(writer) = self.writer.as_mut() else {
            return Err(self.closed());
        };
        let flushed = writer.flush();
        flushed.map_err(|e| self.parquet_error(e))?;
        self.report_flushed();
        Ok(())
    }

    /// Tells the background sync how many more bytes were written. Up to 8 KiB of
    /// them may still sit in parquet-rs's write buffer; the sync that closes the file
    /// covers them, so a background sync only needs the rough count.
    fn report_flushed(&mut self) {
        let Some(writer) = &self.writer else { return };
        let flushed = writer.bytes_written();
        if let Some(wb) = &mut self.writeback {
            wb.wrote(flushed.saturating_sub(self.reported) as u64);
        }
        self.reported = flushed;
    }

    /// Writes the remaining rows and the footer, syncs the file to disk and renames it
    /// to its final name. Returns the counts of what was written.
    pub fn close(mut self) -> Result<LedgerSummary, LedgerError> {
        self.flush_batch()?;
        self.flush_row_group()?;
        let Some(writer) = self.writer.take() else {
            return Err(self.closed());
        };
        if let Some(wb) = self.writeback.take() {
            wb.finish();
        }
        // `into_inner` writes the footer and flushes parquet-rs's buffer.
        let file = writer.into_inner().map_err(|e| self.parquet_error(e))?;
        file.sync_all()
            .map_err(LedgerError::io("sync", &self.tmp))?;
        drop(file);
        std::fs::rename(&self.tmp, &self.path).map_err(LedgerError::io("rename", &self.path))?;
        if let Some(dir) = self.path.parent()
            && let Ok(d) = File::open(if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            })
        {
            // Best effort: make the rename itself durable.
            let _ = d.sync_all();
        }
        Ok(std::mem::take(&mut self.summary))
    }
}

impl Drop for LedgerWriter {
    fn drop(&mut self) {
        if self.writer.take().is_some() {
            tracing::warn!(
                path = %self.path.display(),
                rows = self.summary.rows,
                "ledger writer dropped without close(); discarding the unfinished ledger"
            );
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests;
