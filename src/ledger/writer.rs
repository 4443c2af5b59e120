//! [`LedgerWriter`]: rows in, one Snappy-compressed Parquet file out.
//!
//! The string columns without statistics (`changed_fields`, ids, names, hashes,
//! errors, `run_id`, `action`, `outcome`) skip Arrow: [`ByteColumn`]s encode them
//! straight from the rows, and their chunks are spliced into each row group in schema
//! order. The other columns (numbers, times, `error_kind`: the ones with statistics a
//! reader can prune with) are appended to Arrow builders, which parquet-rs's column
//! writers encode every [`BATCH_ROWS`] rows. Row groups hold up to [`ROW_GROUP_ROWS`]
//! rows. The file is
//! written as `ledger.parquet.tmp` and renamed over `ledger.parquet` only by
//! [`LedgerWriter::close`], so readers never see a half-written ledger.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::ArrayRef;
use arrow_array::builder::{
    Float64Builder, Int32Builder, StringBuilder, TimestampMicrosecondBuilder, UInt32Builder,
    UInt64Builder,
};
use bytes::Bytes;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::{ArrowColumnWriter, ArrowRowGroupWriterFactory, compute_leaves};
use parquet::basic::Compression;
use parquet::column::writer::ColumnCloseResult;
use parquet::errors::ParquetError;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::{ColumnPath, SchemaDescriptor};

use super::byte_column::ByteColumn;
use super::schema::{self, TIME_ZONE};
use super::{LedgerError, LedgerRow, LedgerSummary};
use crate::model::ErrorKind;
use crate::writeback::{self, Writeback};

/// Rows buffered in Arrow builders before they are encoded. Small enough that each
/// batch's buffers are reused by the allocator instead of being fresh pages every time.
pub const BATCH_ROWS: usize = 2 * 1024;
/// Maximum rows per Parquet row group.
pub const ROW_GROUP_ROWS: usize = 128 * 1024;

/// Writes a run's ledger. Call [`LedgerWriter::close`]; dropping it without closing
/// discards the temporary file and logs a warning.
pub struct LedgerWriter {
    path: PathBuf,
    tmp: PathBuf,
    run_id: String,
    /// `None` once closed.
    file: Option<SerializedFileWriter<BufWriter<File>>>,
    factory: ArrowRowGroupWriterFactory,
    /// The current row group's column writers, one per leaf (those of the columns
    /// encoded by hand unused); created with the row group's first batch.
    columns: Option<Vec<ArrowColumnWriter>>,
    hand: HandColumns,
    row_groups: usize,
    builders: Builders,
    summary: LedgerSummary,
    /// Syncs finished row groups in the background, so `close` only waits for the
    /// tail (`None` if its thread could not start).
    writeback: Option<Writeback>,
    /// File bytes already reported to `writeback`.
    reported: usize,
}

/// The columns encoded by hand, and whether each is dictionary encoded, in schema
/// order. Every column but `changed_fields` is flat, so a column's position is also its
/// leaf's.
const HAND: [(&str, bool); 9] = [
    (schema::RUN_ID, true),
    (schema::EXTERNAL_ID, false),
    (schema::USER_NAME, false),
    (schema::ACTION, true),
    (schema::OUTCOME, true),
    (schema::SCIM_ID, false),
    (schema::ERROR, false),
    (schema::CHANGED_FIELDS, true),
    (schema::SOURCE_HASH, false),
];

/// Position of column `name`.
fn leaf(name: &str) -> usize {
    schema::COLUMNS
        .iter()
        .position(|c| *c == name)
        .expect("a ledger column")
}

fn is_hand(leaf: usize) -> bool {
    HAND.iter().any(|(name, _)| *name == schema::COLUMNS[leaf])
}

/// The [`HAND`] columns' encoders, in the same order.
struct HandColumns([ByteColumn; 9]);

impl HandColumns {
    fn new(descr: &SchemaDescriptor) -> Self {
        HandColumns(
            HAND.map(|(name, dictionary)| ByteColumn::new(descr.column(leaf(name)), dictionary)),
        )
    }

    fn push(&mut self, run_id: &str, r: &LedgerRow) -> Result<(), ParquetError> {
        let [
            run,
            external_id,
            user_name,
            action,
            outcome,
            scim_id,
            error,
            changed_fields,
            source_hash,
        ] = &mut self.0;
        run.push(Some(run_id))?;
        external_id.push(r.external_id.as_deref())?;
        user_name.push(r.user_name.as_deref())?;
        action.push(Some(r.action.as_str()))?;
        outcome.push(Some(r.outcome.as_str()))?;
        scim_id.push(r.scim_id.as_deref())?;
        error.push(r.error.as_deref())?;
        changed_fields.push_list(&r.changed_fields)?;
        source_hash.push(Some(&r.source_hash))
    }

    fn rows(&self) -> u64 {
        self.0[0].rows()
    }

    fn finish_page(&mut self) -> Result<(), ParquetError> {
        self.0.iter_mut().try_for_each(ByteColumn::finish_page)
    }

    /// Each column's chunk, by leaf.
    fn finish_row_group(&mut self) -> Result<Vec<(usize, HandChunk)>, ParquetError> {
        HAND.iter()
            .zip(&mut self.0)
            .map(|((name, _), c)| Ok((leaf(name), c.finish_row_group()?)))
            .collect()
    }
}

type HandChunk = (Bytes, ColumnCloseResult);

impl std::fmt::Debug for LedgerWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LedgerWriter")
            .field("path", &self.path)
            .field("run_id", &self.run_id)
            .field("rows", &self.summary.rows)
            .finish()
    }
}

/// The columns that go through Arrow (those not in [`HAND`]).
struct Builders {
    row: UInt64Builder,
    http_status: Int32Builder,
    attempts: UInt32Builder,
    latency_ms: Float64Builder,
    error_kind: StringBuilder,
    finished_at: TimestampMicrosecondBuilder,
    len: usize,
}

impl Builders {
    fn new() -> Self {
        let n = BATCH_ROWS;
        Builders {
            row: UInt64Builder::with_capacity(n),
            http_status: Int32Builder::with_capacity(n),
            attempts: UInt32Builder::with_capacity(n),
            latency_ms: Float64Builder::with_capacity(n),
            error_kind: StringBuilder::new(),
            finished_at: TimestampMicrosecondBuilder::with_capacity(n).with_timezone(TIME_ZONE),
            len: 0,
        }
    }

    fn append(&mut self, r: &LedgerRow) {
        self.row.append_value(r.row);
        self.http_status.append_option(r.http_status);
        self.attempts.append_value(r.attempts);
        self.latency_ms.append_value(r.latency_ms);
        self.error_kind
            .append_option(r.error_kind.map(ErrorKind::as_str));
        self.finished_at
            .append_value(r.finished_at.timestamp_micros());
        self.len += 1;
    }

    /// Drains the builders into arrays, in schema order; fresh builders, sized for a
    /// whole batch, take their place (so appends never grow a buffer by copying it).
    fn finish(&mut self) -> Vec<ArrayRef> {
        let mut full = std::mem::replace(self, Builders::new());
        full.finish_columns()
    }

    fn finish_columns(&mut self) -> Vec<ArrayRef> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.row.finish()),
            Arc::new(self.http_status.finish()),
            Arc::new(self.attempts.finish()),
            Arc::new(self.latency_ms.finish()),
            Arc::new(self.error_kind.finish()),
            Arc::new(self.finished_at.finish()),
        ];
        self.len = 0;
        columns
    }
}

impl LedgerWriter {
    /// Starts a ledger at `path` (written to `<path>.tmp` until closed) for run `run_id`.
    pub fn try_new(path: &Path, run_id: &str) -> Result<Self, LedgerError> {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let file = File::create(&tmp).map_err(LedgerError::io("create", &tmp))?;
        let writeback = Writeback::new(&file, "scimport-ledger-sync", writeback::EVERY).ok();
        // For the columns parquet-rs writes (the [`HAND`] ones are encoded by
        // `ByteColumn`: dictionary as [`HAND`] says, no statistics). Dictionary
        // encoding only pays on repetitive columns; on unique ones (row numbers,
        // latencies, timestamps) it is pure overhead before the writer falls back.
        // Chunk min/max everywhere: a reader prunes row groups with them.
        let mut props = WriterProperties::builder();
        for col in [schema::ROW, schema::LATENCY_MS, schema::FINISHED_AT] {
            props = props.set_column_dictionary_enabled(ColumnPath::from(col), false);
        }
        let props = props
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .set_statistics_enabled(EnabledStatistics::Chunk)
            .set_created_by(format!("scimport {}", env!("CARGO_PKG_VERSION")))
            .build();
        let parquet_err = |source| LedgerError::Parquet {
            path: tmp.clone(),
            source,
        };
        // The Arrow writer converts the schema and stores it in the footer; its parts
        // then let `changed_fields` be encoded apart from the other columns.
        let (file, factory) = ArrowWriter::try_new(
            BufWriter::with_capacity(1 << 20, file),
            schema::schema(),
            Some(props),
        )
        .and_then(ArrowWriter::into_serialized_writer)
        .map_err(parquet_err)?;
        let hand = HandColumns::new(file.schema_descr());
        Ok(LedgerWriter {
            path: path.to_path_buf(),
            tmp,
            run_id: run_id.to_string(),
            file: Some(file),
            factory,
            columns: None,
            hand,
            row_groups: 0,
            builders: Builders::new(),
            summary: LedgerSummary::default(),
            writeback,
            reported: 0,
        })
    }

    /// Appends one row. Rows are written in the order given; callers that need the
    /// ledger sorted by `row` sort first (see `journal::build_ledger_from_journal`).
    pub fn write(&mut self, row: &LedgerRow) -> Result<(), LedgerError> {
        if self.file.is_none() {
            return Err(LedgerError::Closed {
                path: self.path.clone(),
            });
        }
        self.builders.append(row);
        self.hand
            .push(&self.run_id, row)
            .map_err(|e| self.parquet_error(e))?;
        self.summary.add(row);
        if self.builders.len >= BATCH_ROWS {
            self.flush_batch()?;
        }
        Ok(())
    }

    #[cfg(test)]
    pub(super) fn set_paths_dict_limit(&mut self, limit: usize) {
        let at = HAND
            .iter()
            .position(|(name, _)| *name == schema::CHANGED_FIELDS)
            .expect("changed_fields is encoded by hand");
        self.hand.0[at].set_dict_limit(limit);
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.summary.rows
    }

    fn parquet_error(&self, source: ParquetError) -> LedgerError {
        LedgerError::Parquet {
            path: self.tmp.clone(),
            source,
        }
    }

    /// Encodes the buffered rows; ends the row group once it holds
    /// [`ROW_GROUP_ROWS`] rows.
    fn flush_batch(&mut self) -> Result<(), LedgerError> {
        if self.builders.len == 0 {
            return Ok(());
        }
        self.encode_batch().map_err(|e| self.parquet_error(e))?;
        if self.hand.rows() >= ROW_GROUP_ROWS as u64 {
            self.flush_row_group()?;
        }
        Ok(())
    }

    fn encode_batch(&mut self) -> Result<(), ParquetError> {
        let arrays = self.builders.finish();
        if self.columns.is_none() {
            self.columns = Some(self.factory.create_column_writers(self.row_groups)?);
        }
        let columns = self.columns.as_mut().expect("created above");
        let fields = schema::schema();
        let fields = fields
            .fields()
            .iter()
            .enumerate()
            .filter(|(i, _)| !is_hand(*i));
        for ((i, field), array) in fields.zip(&arrays) {
            for leaf in compute_leaves(field, array)? {
                columns[i].write(&leaf)?;
            }
        }
        self.hand.finish_page()
    }

    /// Writes the current row group, if it has rows: every column in schema order,
    /// the [`HAND`] ones spliced in from their [`ByteColumn`]s.
    fn flush_row_group(&mut self) -> Result<(), LedgerError> {
        let Some(columns) = self.columns.take() else {
            return Ok(());
        };
        let mut hand = self
            .hand
            .finish_row_group()
            .map_err(|e| self.parquet_error(e))?
            .into_iter()
            .peekable();
        let Some(file) = self.file.as_mut() else {
            return Err(LedgerError::Closed {
                path: self.path.clone(),
            });
        };
        let written: Result<(), ParquetError> = (|| {
            let mut group = file.next_row_group()?;
            for (i, column) in columns.into_iter().enumerate() {
                match hand.next_if(|(leaf, _)| *leaf == i) {
                    Some((_, (bytes, close))) => group.append_column(&bytes, close)?,
                    None => column.close()?.append_to_row_group(&mut group)?,
                }
            }
            group.close()?;
            Ok(())
        })();
        // What the buffered writer has handed to the OS so far.
        let flushed = file.bytes_written() - file.inner().buffer().len();
        written.map_err(|e| self.parquet_error(e))?;
        self.row_groups += 1;
        if let Some(wb) = &mut self.writeback {
            wb.wrote(flushed.saturating_sub(self.reported) as u64);
        }
        self.reported = flushed;
        Ok(())
    }

    /// Writes the remaining rows and the footer, syncs the file to disk and renames it
    /// to its final name. Returns the counts of what was written.
    pub fn close(mut self) -> Result<LedgerSummary, LedgerError> {
        self.flush_batch()?;
        self.flush_row_group()?;
        let Some(file) = self.file.take() else {
            return Err(LedgerError::Closed {
                path: self.path.clone(),
            });
        };
        if let Some(wb) = self.writeback.take() {
            wb.finish();
        }
        // `into_inner` writes the footer.
        let buf = file.into_inner().map_err(|e| self.parquet_error(e))?;
        let file = buf.into_inner().map_err(|e| LedgerError::Io {
            op: "write",
            path: self.tmp.clone(),
            source: e.into_error(),
        })?;
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
        if self.file.take().is_some() {
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
mod tests {
    use super::*;
    use crate::ledger::{Action, Outcome, read_ledger};
    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    const URN: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:";

    fn row(n: u64) -> LedgerRow {
        let mut changed_fields: Vec<String> = match n % 4 {
            0 => vec![],
            1 => vec!["title".into(), format!("{URN}department"), "groups".into()],
            2 => vec![format!("{URN}division"), "title".into()],
            // Paths that appear once.
            _ => vec![format!("{URN}custom{n}"), format!("{URN}department")],
        };
        if n.is_multiple_of(97) {
            changed_fields.push("y".repeat(5000));
        }
        let mut r = LedgerRow::without_call(
            n,
            Some(format!("E{n}")),
            None,
            Action::ALL[n as usize % 6],
            Outcome::ALL[n as usize % 5],
            format!("{n:x}"),
        );
        r.changed_fields = changed_fields.into_iter().map(Into::into).collect();
        r.finished_at = chrono::DateTime::from_timestamp_micros(n as i64).unwrap();
        r
    }

    #[test]
    fn round_trip_over_many_batches_with_long_and_one_off_paths() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("ledger.parquet");
        let n = (BATCH_ROWS * 9 + 5) as u64;
        let rows: Vec<LedgerRow> = (1..=n).map(row).collect();
        let mut w = LedgerWriter::try_new(&path, "20261123T061500Z-3fa2").unwrap();
        for r in &rows {
            w.write(r).unwrap();
        }
        assert_eq!(w.close().unwrap().rows, n);
        // Our reader also checks the file has the pinned schema.
        assert_eq!(read_ledger(&path).unwrap(), rows);
        let file = File::open(&path).unwrap();
        let mut run_ids = 0;
        for b in ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap()
        {
            let b = b.unwrap();
            let col = b.column_by_name(schema::RUN_ID).unwrap().as_string::<i32>();
            assert!(col.iter().all(|v| v == Some("20261123T061500Z-3fa2")));
            run_ids += col.len();
        }
        assert_eq!(run_ids as u64, n);
    }

    #[test]
    fn finished_row_groups_are_synced_in_the_background() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("ledger.parquet");
        let mut w = LedgerWriter::try_new(&path, "r1").unwrap();
        w.writeback.as_mut().unwrap().set_every(1);
        for n in 1..=100 {
            w.write(&row(n)).unwrap();
        }
        w.flush_batch().unwrap();
        w.flush_row_group().unwrap();
        assert!(w.reported > 0);
        assert!(w.writeback.take().unwrap().finish() >= 1);
        w.write(&row(101)).unwrap();
        assert_eq!(w.close().unwrap().rows, 101);
        assert_eq!(read_ledger(&path).unwrap().len(), 101);
    }
}
