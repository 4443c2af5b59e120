//! Our own ledger reader: back to [`LedgerRow`]s (for `ledger summary`, `ledger failed`
//! and resume), checking the file really has the ledger schema.

use std::fs::File;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float64Type, Int32Type, TimestampMicrosecondType, UInt32Type, UInt64Type,
};
use arrow_array::{Array, RecordBatch};
use chrono::{DateTime, Utc};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::schema::{self, COLUMNS};
use super::{Action, FieldPath, LedgerError, LedgerRow, LedgerSummary, Outcome};
use crate::model::ErrorKind;

/// Reads every row of a ledger file, in file order.
pub fn read_ledger(path: &Path) -> Result<Vec<LedgerRow>, LedgerError> {
    let mut rows = Vec::new();
    let mut leavers = 0;
    for_each_batch(path, |batch| decode(path, batch, &mut rows, &mut leavers))?;
    Ok(rows)
}

/// Calls `f` with each row, in file order, one batch in memory at a time.
pub(crate) fn for_each_row(
    path: &Path,
    mut f: impl FnMut(LedgerRow) -> Result<(), LedgerError>,
) -> Result<(), LedgerError> {
    let mut leavers = 0;
    let mut rows = Vec::new();
    for_each_batch(path, |batch| {
        decode(path, batch, &mut rows, &mut leavers)?;
        rows.drain(..).try_for_each(&mut f)
    })
}

/// The row number of line `i` of a `row` column: its value, or for a null (a
/// sync's leaver) the next leaver row number, in file order (the ledger is
/// written sorted by row, so this gives back the numbers the run used).
fn row_at(rows: &arrow_array::UInt64Array, i: usize, leavers: &mut u64) -> u64 {
    if rows.is_valid(i) {
        rows.value(i)
    } else {
        *leavers += 1;
        crate::model::FIRST_LEAVER_ROW + *leavers - 1
    }
}

/// Counts a ledger's rows per outcome, action and error kind without materialising
/// the rows.
pub fn summarize_ledger(path: &Path) -> Result<LedgerSummary, LedgerError> {
    let mut summary = LedgerSummary::default();
    for_each_batch(path, |batch| {
        let action = batch.column(4).as_string::<i32>();
        let outcome = batch.column(5).as_string::<i32>();
        let kind = batch.column(10).as_string::<i32>();
        for i in 0..batch.num_rows() {
            let a = parse_action(path, action.value(i))?;
            let o = parse_outcome(path, outcome.value(i))?;
            let k = kind.is_valid(i).then(|| kind.value(i));
            summary.add_parts(a, o, k);
        }
        Ok(())
    })?;
    Ok(summary)
}

/// Calls `f` with each row's action, outcome, whether it has an error kind, and
/// number of changed fields, in file order, without materialising the rows.
pub fn for_each_change_count(
    path: &Path,
    mut f: impl FnMut(Action, Outcome, bool, usize),
) -> Result<(), LedgerError> {
    for_each_batch(path, |batch| {
        let action = batch.column(4).as_string::<i32>();
        let outcome = batch.column(5).as_string::<i32>();
        let kind = batch.column(10);
        let changed = batch.column(12).as_list::<i32>();
        for i in 0..batch.num_rows() {
            let a = parse_action(path, action.value(i))?;
            let o = parse_outcome(path, outcome.value(i))?;
            let n = changed.value_offsets()[i + 1] - changed.value_offsets()[i];
            f(a, o, kind.is_valid(i), usize::try_from(n).unwrap_or(0));
        }
        Ok(())
    })
}

/// A row's verdict: what a run's summary and failed.csv need, without the bulky
/// columns (`changed_fields`, ids, hashes), so a million-row ledger reads in a few MB.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// 1-based input row.
    pub row: u64,
    /// Action.
    pub action: Action,
    /// Outcome.
    pub outcome: Outcome,
    /// Error kind and text, kept for failed and invalid rows only.
    pub error: Option<(String, String)>,
    /// The error kind of any other row (why it was skipped: `inactive_absent`,
    /// `guard_held`; or `target_edited`).
    pub note: Option<String>,
    /// The HTTP status of the row's own call, when one was made.
    pub http_status: Option<i32>,
}

/// Reads every row's [`Verdict`], in file order.
pub fn read_verdicts(path: &Path) -> Result<Vec<Verdict>, LedgerError> {
    let mut out = Vec::new();
    let mut leavers = 0;
    for_each_batch(path, |batch| {
        let rows = batch.column(1).as_primitive::<UInt64Type>();
        let action = batch.column(4).as_string::<i32>();
        let outcome = batch.column(5).as_string::<i32>();
        let kind = batch.column(10).as_string::<i32>();
        let error = batch.column(11).as_string::<i32>();
        let status = batch.column(6).as_primitive::<Int32Type>();
        for i in 0..batch.num_rows() {
            let outcome = parse_outcome(path, outcome.value(i))?;
            let failed = matches!(outcome, Outcome::Failed | Outcome::Invalid);
            let note = (!failed && kind.is_valid(i)).then(|| kind.value(i).to_string());
            let error = failed.then(|| {
                let k = if kind.is_valid(i) { kind.value(i) } else { "" };
                let e = if error.is_valid(i) {
                    error.value(i)
                } else {
                    ""
                };
                (k.to_string(), e.to_string())
            });
            out.push(Verdict {
                row: row_at(rows, i, &mut leavers),
                action: parse_action(path, action.value(i))?,
                outcome,
                error,
                http_status: status.is_valid(i).then(|| status.value(i)),
                note,
            });
        }
        Ok(())
    })?;
    Ok(out)
}

pub(crate) fn for_each_batch(
    path: &Path,
    f: impl FnMut(&RecordBatch) -> Result<(), LedgerError>,
) -> Result<(), LedgerError> {
    let builder = open(path)?;
    each(path, builder, f)
}

/// Calls `f` with each batch holding only the named `columns` (a projection: the
/// others are not read), once the file is checked to be a ledger. A column the
/// file lacks (a ledger written before it existed) is simply not in the batch.
pub fn for_each_projected<E: From<LedgerError>>(
    path: &Path,
    columns: &[&str],
    f: impl FnMut(&RecordBatch) -> Result<(), E>,
) -> Result<(), E> {
    let builder = open(path)?;
    let roots: Vec<usize> = builder
        .schema()
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, c)| columns.contains(&c.name().as_str()))
        .map(|(i, _)| i)
        .collect();
    let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
    each(path, builder.with_projection(mask), f)
}

/// Opens a ledger file, checking its schema.
fn open(path: &Path) -> Result<ParquetRecordBatchReaderBuilder<File>, LedgerError> {
    let file = File::open(path).map_err(LedgerError::io("open", path))?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|source| LedgerError::Parquet {
            path: path.to_path_buf(),
            source,
        })?;
    check_schema(path, builder.schema())?;
    Ok(builder)
}

fn each<E: From<LedgerError>>(
    path: &Path,
    builder: ParquetRecordBatchReaderBuilder<File>,
    mut f: impl FnMut(&RecordBatch) -> Result<(), E>,
) -> Result<(), E> {
    let reader = builder
        .with_batch_size(8192)
        .build()
        .map_err(|source| LedgerError::Parquet {
            path: path.to_path_buf(),
            source,
        })?;
    for batch in reader {
        let batch = batch.map_err(|source| LedgerError::Arrow {
            path: path.to_path_buf(),
            source,
        })?;
        f(&batch)?;
    }
    Ok(())
}

fn check_schema(path: &Path, found: &arrow_schema::Schema) -> Result<(), LedgerError> {
    let want = schema::schema();
    let problem = |problem: String| LedgerError::Schema {
        path: path.to_path_buf(),
        problem,
    };
    // Ledgers written before the last columns (`webhook`, issue 17; `warning` and
    // `wait_ms`, issue 19) lack them.
    let n = found.fields().len();
    if !(COLUMNS.len() - 3..=COLUMNS.len()).contains(&n) {
        return Err(problem(format!(
            "{} columns, expected {}",
            found.fields().len(),
            COLUMNS.len()
        )));
    }
    for (f, w) in found.fields().iter().zip(want.fields()) {
        if f.name() != w.name() || f.data_type() != w.data_type() {
            return Err(problem(format!(
                "column {} {:?}, expected {} {:?}",
                f.name(),
                f.data_type(),
                w.name(),
                w.data_type()
            )));
        }
    }
    Ok(())
}

fn parse_action(path: &Path, s: &str) -> Result<Action, LedgerError> {
    Action::parse(s).ok_or_else(|| LedgerError::Schema {
        path: path.to_path_buf(),
        problem: format!("unknown action {s:?}"),
    })
}

fn parse_kind(path: &Path, s: Option<String>) -> Result<Option<ErrorKind>, LedgerError> {
    s.map(|s| {
        ErrorKind::parse(&s).ok_or_else(|| LedgerError::Schema {
            path: path.to_path_buf(),
            problem: format!("unknown error_kind {s:?}"),
        })
    })
    .transpose()
}

fn parse_outcome(path: &Path, s: &str) -> Result<Outcome, LedgerError> {
    Outcome::parse(s).ok_or_else(|| LedgerError::Schema {
        path: path.to_path_buf(),
        problem: format!("unknown outcome {s:?}"),
    })
}

fn decode(
    path: &Path,
    b: &RecordBatch,
    out: &mut Vec<LedgerRow>,
    leavers: &mut u64,
) -> Result<(), LedgerError> {
    let s = |i: usize| b.column(i).as_string::<i32>();
    let (ext, user, action, outcome, scim, kind, err, hash) =
        (s(2), s(3), s(4), s(5), s(7), s(10), s(11), s(13));
    let row = b.column(1).as_primitive::<UInt64Type>();
    let status = b.column(6).as_primitive::<Int32Type>();
    let attempts = b.column(8).as_primitive::<UInt32Type>();
    let latency = b.column(9).as_primitive::<Float64Type>();
    let changed = b.column(12).as_list::<i32>();
    let finished = b.column(14).as_primitive::<TimestampMicrosecondType>();
    let warning = (b.num_columns() > 16).then(|| b.column(16).as_string::<i32>().clone());
    let wait = (b.num_columns() > 17).then(|| b.column(17).as_primitive::<Float64Type>().clone());
    let opt =
        |a: &arrow_array::StringArray, i: usize| a.is_valid(i).then(|| a.value(i).to_string());
    out.reserve(b.num_rows());
    for i in 0..b.num_rows() {
        let fields = changed.value(i);
        let fields = fields.as_string::<i32>();
        let micros = finished.value(i);
        let finished_at =
            DateTime::<Utc>::from_timestamp_micros(micros).ok_or_else(|| LedgerError::Schema {
                path: path.to_path_buf(),
                problem: format!("finished_at {micros} out of range"),
            })?;
        out.push(LedgerRow {
            row: row_at(row, i, leavers),
            external_id: opt(ext, i),
            user_name: opt(user, i),
            action: parse_action(path, action.value(i))?,
            outcome: parse_outcome(path, outcome.value(i))?,
            http_status: status.is_valid(i).then(|| status.value(i)),
            scim_id: opt(scim, i),
            attempts: attempts.value(i),
            latency_ms: latency.value(i),
            error_kind: parse_kind(path, opt(kind, i))?,
            error: opt(err, i),
            changed_fields: fields
                .iter()
                .flatten()
                .map(|f| FieldPath::Owned(f.to_string()))
                .collect(),
            source_hash: hash.value(i).to_string(),
            finished_at,
            warning: warning.as_ref().and_then(|w| opt(w, i)),
            wait_ms: wait.as_ref().map_or(0.0, |w| w.value(i)),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::LedgerWriter;
    use super::*;

    fn sample(n: u64) -> LedgerRow {
        let failed = n.is_multiple_of(3);
        LedgerRow {
            row: n,
            external_id: (!n.is_multiple_of(5)).then(|| format!("E{n:05}")),
            user_name: Some(format!("user{n}@example.com")),
            action: if failed {
                Action::Update
            } else {
                Action::Create
            },
            outcome: if failed {
                Outcome::Failed
            } else {
                Outcome::Succeeded
            },
            http_status: (!n.is_multiple_of(7)).then_some(if failed { 409 } else { 201 }),
            scim_id: (!failed).then(|| format!("id-{n}")),
            attempts: (n % 4) as u32,
            latency_ms: n as f64 / 3.0,
            error_kind: failed.then_some(ErrorKind::Conflict),
            error: failed.then(|| format!("userName taken «{n}»")),
            changed_fields: (0..(n % 3)).map(|i| format!("f{i}").into()).collect(),
            source_hash: format!("{n:064x}"),
            finished_at: DateTime::<Utc>::from_timestamp_micros(1_790_000_000_000_000 + n as i64)
                .unwrap(),
            warning: None,
            wait_ms: 0.0,
        }
    }

    #[test]
    fn round_trip_across_batches_and_row_groups() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("ledger.parquet");
        let n = super::super::writer::BATCH_ROWS as u64 * 2 + 17;
        let rows: Vec<LedgerRow> = (1..=n).map(sample).collect();
        let mut w = LedgerWriter::try_new(&path, "run-x").unwrap();
        assert!(
            !path.exists(),
            "only the temporary file exists before close"
        );
        for r in &rows {
            w.write(r).unwrap();
        }
        let summary = w.close().unwrap();
        assert!(path.exists());
        assert!(!tmp.path().join("ledger.parquet.tmp").exists());
        assert_eq!(summary.rows, n);
        let back = read_ledger(&path).unwrap();
        assert_eq!(back, rows);
        assert_eq!(summarize_ledger(&path).unwrap(), summary);
        assert_eq!(summary.outcome(Outcome::Failed), n / 3);
    }

    #[test]
    fn empty_ledger_is_valid() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("ledger.parquet");
        let s = LedgerWriter::try_new(&path, "r").unwrap().close().unwrap();
        assert_eq!(s.rows, 0);
        assert!(read_ledger(&path).unwrap().is_empty());
    }

    #[test]
    fn dropped_writer_leaves_no_ledger() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("ledger.parquet");
        let mut w = LedgerWriter::try_new(&path, "r").unwrap();
        w.write(&sample(1)).unwrap();
        drop(w);
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
    }

    #[test]
    fn rejects_a_file_that_is_not_a_ledger() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("x.parquet");
        std::fs::write(&path, b"not parquet").unwrap();
        assert!(read_ledger(&path).is_err());
    }
}
