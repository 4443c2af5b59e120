//! Exports a ledger to CSV, JSON or JSON Lines, for people who want it in a
//! spreadsheet or an HR system: every column as the Parquet file has it, streamed
//! batch by batch (a million-row ledger never sits in memory), optionally split into
//! the success and error files Salesforce Data Loader users know.
//!
//! Formats: CSV has a header row, empty cells for nulls and `changed_fields` joined
//! by `;`; JSON is one array of objects (typed: numbers, nulls, lists); JSON Lines is
//! the same objects one per line. `finished_at` is RFC 3339 UTC with microseconds.

use std::io::Write;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float64Type, Int32Type, TimestampMicrosecondType, UInt32Type, UInt64Type,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use serde_json::Value;

use super::reader::for_each_batch;
use super::{LedgerError, Outcome, schema};

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON array of row objects.
    Json,
    /// JSON Lines: one row object per line.
    Ndjson,
}

impl Format {
    /// The file extension of this format.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Ndjson => "ndjson",
        }
    }
}

/// Which outcomes go to the success file of a split export; every other row
/// (failed, invalid, and pending rows a stopped run never attempted) goes to the
/// error file.
pub fn is_success(o: Outcome) -> bool {
    matches!(o, Outcome::Succeeded | Outcome::Skipped)
}

/// One output of an export: where rows go, which rows, and how many went.
pub struct Output<'a> {
    out: RowWriter<'a>,
    keep: Box<dyn Fn(Outcome) -> bool + 'a>,
    /// Rows written so far.
    pub rows: u64,
}

impl<'a> Output<'a> {
    /// An output writing `format` to `w`, keeping the rows whose outcome `keep`
    /// accepts. `name` names it in errors (a file path, or `standard output`).
    pub fn new(
        w: &'a mut dyn Write,
        name: impl Into<PathBuf>,
        format: Format,
        keep: impl Fn(Outcome) -> bool + 'a,
    ) -> Self {
        Output {
            out: RowWriter::new(w, name.into(), format),
            keep: Box::new(keep),
            rows: 0,
        }
    }
}

/// Reads the ledger at `path` once and writes each row to every output that keeps
/// it. Every output is complete (JSON arrays closed, CSV headers written even with
/// no row) when this returns `Ok`.
pub fn export(path: &Path, outputs: &mut [Output<'_>]) -> Result<(), LedgerError> {
    let mut header_done = false;
    for_each_batch(path, |batch| {
        let names: Vec<&str> = batch
            .schema_ref()
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        if !header_done {
            for o in outputs.iter_mut() {
                o.out.header(&names)?;
            }
            header_done = true;
        }
        let outcome_col = batch.column(5).as_string::<i32>();
        for i in 0..batch.num_rows() {
            let outcome =
                Outcome::parse(outcome_col.value(i)).ok_or_else(|| LedgerError::Schema {
                    path: path.to_path_buf(),
                    problem: format!("unknown outcome {:?}", outcome_col.value(i)),
                })?;
            if !outputs.iter().any(|o| (o.keep)(outcome)) {
                continue;
            }
            let cells = row_cells(batch, i);
            for o in outputs.iter_mut().filter(|o| (o.keep)(outcome)) {
                o.out.row(&names, &cells)?;
                o.rows += 1;
            }
        }
        Ok(())
    })?;
    if !header_done {
        let names: Vec<&str> = schema::COLUMNS.to_vec();
        for o in outputs.iter_mut() {
            o.out.header(&names)?;
        }
    }
    for o in outputs.iter_mut() {
        o.out.finish()?;
    }
    Ok(())
}

/// One cell, typed as the Parquet column is.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Null,
    Text(String),
    Unsigned(u64),
    Signed(i64),
    Float(f64),
    List(Vec<String>),
}

impl Cell {
    fn csv(&self) -> String {
        match self {
            Cell::Null => String::new(),
            Cell::Text(s) => s.clone(),
            Cell::Unsigned(n) => n.to_string(),
            Cell::Signed(n) => n.to_string(),
            Cell::Float(f) => f.to_string(),
            Cell::List(v) => v.join(";"),
        }
    }

    fn json(&self) -> Value {
        match self {
            Cell::Null => Value::Null,
            Cell::Text(s) => Value::String(s.clone()),
            Cell::Unsigned(n) => Value::from(*n),
            Cell::Signed(n) => Value::from(*n),
            Cell::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Cell::List(v) => Value::Array(v.iter().cloned().map(Value::String).collect()),
        }
    }
}

fn row_cells(batch: &RecordBatch, i: usize) -> Vec<Cell> {
    batch
        .columns()
        .iter()
        .map(|c| cell(c.as_ref(), i))
        .collect()
}

fn cell(col: &dyn Array, i: usize) -> Cell {
    if col.is_null(i) {
        return Cell::Null;
    }
    match col.data_type() {
        DataType::Utf8 => Cell::Text(col.as_string::<i32>().value(i).to_string()),
        DataType::UInt64 => Cell::Unsigned(col.as_primitive::<UInt64Type>().value(i)),
        DataType::UInt32 => Cell::Unsigned(u64::from(col.as_primitive::<UInt32Type>().value(i))),
        DataType::Int32 => Cell::Signed(i64::from(col.as_primitive::<Int32Type>().value(i))),
        DataType::Float64 => Cell::Float(col.as_primitive::<Float64Type>().value(i)),
        DataType::Timestamp(..) => {
            let us = col.as_primitive::<TimestampMicrosecondType>().value(i);
            Cell::Text(
                chrono::DateTime::from_timestamp_micros(us)
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
                    .unwrap_or_default(),
            )
        }
        DataType::List(_) => {
            let list = col.as_list::<i32>().value(i);
            let s = list.as_string::<i32>();
            Cell::List((0..s.len()).map(|j| s.value(j).to_string()).collect())
        }
        // The reader checked the schema: no other type reaches here.
        _ => Cell::Null,
    }
}

/// Writes rows in one format to one sink.
struct RowWriter<'a> {
    w: &'a mut dyn Write,
    name: PathBuf,
    format: Format,
    first: bool,
}

impl<'a> RowWriter<'a> {
    fn new(w: &'a mut dyn Write, name: PathBuf, format: Format) -> Self {
        RowWriter {
            w,
            name,
            format,
            first: true,
        }
    }

    fn io(&self) -> impl FnOnce(std::io::Error) -> LedgerError {
        LedgerError::io("write", self.name.clone())
    }

    fn header(&mut self, names: &[&str]) -> Result<(), LedgerError> {
        match self.format {
            Format::Csv => self.csv_record(names.iter().map(|s| (*s).to_string())),
            Format::Json => self.w.write_all(b"[").map_err(self.io()),
            Format::Ndjson => Ok(()),
        }
    }

    fn row(&mut self, names: &[&str], cells: &[Cell]) -> Result<(), LedgerError> {
        match self.format {
            Format::Csv => self.csv_record(cells.iter().map(Cell::csv)),
            Format::Json | Format::Ndjson => {
                // Keys in column order (a serde_json map would sort them).
                let mut obj = String::from("{");
                for (i, (n, c)) in names.iter().zip(cells).enumerate() {
                    if i > 0 {
                        obj.push(',');
                    }
                    obj.push_str(&Value::String((*n).to_string()).to_string());
                    obj.push(':');
                    obj.push_str(&c.json().to_string());
                }
                obj.push('}');
                let sep: &[u8] = match (self.format, self.first) {
                    (Format::Json, true) => b"\n",
                    (Format::Json, false) => b",\n",
                    _ => b"",
                };
                self.w.write_all(sep).map_err(self.io())?;
                self.w.write_all(obj.as_bytes()).map_err(self.io())?;
                if self.format == Format::Ndjson {
                    self.w.write_all(b"\n").map_err(self.io())?;
                }
                self.first = false;
                Ok(())
            }
        }
    }

    fn csv_record(&mut self, cells: impl Iterator<Item = String>) -> Result<(), LedgerError> {
        let mut rec = csv::WriterBuilder::new().from_writer(Vec::new());
        let cells: Vec<String> = cells.collect();
        rec.write_record(&cells)
            .map_err(|e| std::io::Error::other(e.to_string()))
            .map_err(self.io())?;
        let bytes = rec
            .into_inner()
            .map_err(|e| std::io::Error::other(e.to_string()))
            .map_err(self.io())?;
        self.w.write_all(&bytes).map_err(self.io())
    }

    fn finish(&mut self) -> Result<(), LedgerError> {
        if self.format == Format::Json {
            let end: &[u8] = if self.first { b"]\n" } else { b"\n]\n" };
            self.w.write_all(end).map_err(self.io())?;
        }
        self.w.flush().map_err(self.io())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{Action, LedgerRow, LedgerWriter, RunDir};

    fn ledger(dir: &Path) -> PathBuf {
        let run = RunDir::create(&dir.join("runs")).unwrap();
        let mut w = LedgerWriter::try_new(&run.ledger_path(), &run.id).unwrap();
        let mut ok = LedgerRow::without_call(
            1,
            Some("E1".into()),
            Some("ada@example.com".into()),
            Action::Create,
            Outcome::Succeeded,
            "h1".into(),
        );
        ok.scim_id = Some("id-1".into());
        ok.changed_fields = vec!["userName".into(), "title".into()];
        ok.latency_ms = 12.5;
        w.write(&ok).unwrap();
        let mut bad = LedgerRow::without_call(
            2,
            Some("E2".into()),
            Some("=HYPERLINK(\"x\"), \"quoted\"\nline".into()),
            Action::None,
            Outcome::Invalid,
            "h2".into(),
        );
        bad.error_kind = Some(crate::model::ErrorKind::InvalidEmail);
        bad.error = Some("emails[work].value: not an email".into());
        w.write(&bad).unwrap();
        w.close().unwrap();
        run.ledger_path()
    }

    fn run_export(path: &Path, format: Format, keep: fn(Outcome) -> bool) -> (String, u64) {
        let mut buf = Vec::new();
        let mut outs = [Output::new(&mut buf, "test", format, keep)];
        export(path, &mut outs).unwrap();
        let n = outs[0].rows;
        drop(outs);
        (String::from_utf8(buf).unwrap(), n)
    }

    #[test]
    fn csv_has_every_column_and_round_trips_awkward_values() {
        let tmp = tempfile::tempdir().unwrap();
        let path = ledger(tmp.path());
        let (text, n) = run_export(&path, Format::Csv, |_| true);
        assert_eq!(n, 2);
        let mut r = csv::Reader::from_reader(text.as_bytes());
        let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(header, schema::COLUMNS.to_vec());
        let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
        assert_eq!(&rows[0][7], "id-1");
        assert_eq!(&rows[0][12], "userName;title");
        assert_eq!(&rows[0][9], "12.5");
        assert_eq!(&rows[0][6], "", "a null is an empty cell");
        assert_eq!(&rows[1][3], "=HYPERLINK(\"x\"), \"quoted\"\nline");
        assert_eq!(&rows[1][10], "invalid_email");
        assert!(rows[0][14].ends_with('Z'), "{}", &rows[0][14]);
    }

    #[test]
    fn json_is_one_typed_array_and_ndjson_one_object_per_line() {
        let tmp = tempfile::tempdir().unwrap();
        let path = ledger(tmp.path());
        let (text, _) = run_export(&path, Format::Json, |_| true);
        let v: Value = serde_json::from_str(&text).unwrap();
        let rows = v.as_array().unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0]["row"], 1);
        assert_eq!(rows[0]["http_status"], Value::Null);
        assert_eq!(rows[0]["changed_fields"][1], "title");
        assert_eq!(rows[1]["outcome"], "invalid");
        let keys: Vec<&str> = text[text.find('{').unwrap() + 1..]
            .split(",\"")
            .take(3)
            .map(|k| k.trim_start_matches('"').split('"').next().unwrap())
            .collect();
        assert_eq!(keys, ["run_id", "row", "external_id"], "column order");
        let (lines, n) = run_export(&path, Format::Ndjson, |_| true);
        assert_eq!(n, 2);
        let objs: Vec<Value> = lines
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(objs, rows.clone());
    }

    #[test]
    fn a_split_sends_each_row_to_one_file_and_empty_outputs_stay_valid() {
        let tmp = tempfile::tempdir().unwrap();
        let path = ledger(tmp.path());
        let (ok, n_ok) = run_export(&path, Format::Json, is_success);
        let (err, n_err) = run_export(&path, Format::Json, |o| !is_success(o));
        assert_eq!((n_ok, n_err), (1, 1));
        let ok: Value = serde_json::from_str(&ok).unwrap();
        assert_eq!(ok[0]["external_id"], "E1");
        let err: Value = serde_json::from_str(&err).unwrap();
        assert_eq!(err[0]["external_id"], "E2");
        let (none, n) = run_export(&path, Format::Json, |_| false);
        assert_eq!(n, 0);
        assert_eq!(
            serde_json::from_str::<Value>(&none).unwrap(),
            Value::Array(vec![])
        );
        let (csv_none, _) = run_export(&path, Format::Csv, |_| false);
        assert_eq!(csv_none.lines().count(), 1, "the header alone: {csv_none}");
    }
}
