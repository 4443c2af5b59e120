//! `skills-verify.parquet`: one row per user and skill or language checked
//! (`run_id`, `row`, `external_id`, `user_id`, `kind`, `name`, `expected`,
//! `actual`, `match`, `problem`), written to a temporary file and renamed, so a
//! half-written file never exists.

use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, Float64Builder, StringBuilder, UInt64Builder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use super::Checked;

/// The file's name in the run directory.
pub const FILE_NAME: &str = "skills-verify.parquet";

/// Why the file could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}: {detail}")]
pub struct WriteError {
    /// The file.
    pub path: String,
    /// What went wrong.
    pub detail: String,
}

/// The file's Arrow schema.
pub fn schema() -> Schema {
    Schema::new(vec![
        Field::new("run_id", DataType::Utf8, false),
        Field::new("row", DataType::UInt64, false),
        Field::new("external_id", DataType::Utf8, true),
        Field::new("user_id", DataType::Utf8, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("expected", DataType::Float64, true),
        Field::new("actual", DataType::Float64, true),
        Field::new("match", DataType::Boolean, false),
        Field::new("problem", DataType::Utf8, true),
    ])
}

/// Writes `rows` of run `run_id` to `path` (replacing it).
pub fn write(path: &Path, run_id: &str, rows: &[Checked]) -> Result<(), WriteError> {
    let err = |detail: String| WriteError {
        path: path.display().to_string(),
        detail,
    };
    let mut run = StringBuilder::new();
    let mut row = UInt64Builder::new();
    let mut external = StringBuilder::new();
    let mut user = StringBuilder::new();
    let mut kind = StringBuilder::new();
    let mut name = StringBuilder::new();
    let mut expected = Float64Builder::new();
    let mut actual = Float64Builder::new();
    let mut matched = BooleanBuilder::new();
    let mut problem = StringBuilder::new();
    for c in rows {
        run.append_value(run_id);
        row.append_value(c.row);
        external.append_option(c.external_id.as_deref());
        user.append_value(&c.user_id);
        kind.append_value(c.kind.as_str());
        name.append_value(&c.name);
        expected.append_option(c.expected);
        actual.append_option(c.actual);
        matched.append_value(c.matched);
        problem.append_option(c.problem.map(|p| p.as_str()));
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(run.finish()),
        Arc::new(row.finish()),
        Arc::new(external.finish()),
        Arc::new(user.finish()),
        Arc::new(kind.finish()),
        Arc::new(name.finish()),
        Arc::new(expected.finish()),
        Arc::new(actual.finish()),
        Arc::new(matched.finish()),
        Arc::new(problem.finish()),
    ];
    let schema = Arc::new(schema());
    let batch = RecordBatch::try_new(schema.clone(), columns).map_err(|e| err(e.to_string()))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| err(e.to_string()))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_created_by(format!("scimport {}", env!("CARGO_PKG_VERSION")))
        .build();
    let file = tmp.reopen().map_err(|e| err(e.to_string()))?;
    let mut w = ArrowWriter::try_new(file, schema, Some(props)).map_err(|e| err(e.to_string()))?;
    w.write(&batch).map_err(|e| err(e.to_string()))?;
    w.close().map_err(|e| err(e.to_string()))?;
    tmp.persist(path).map_err(|e| err(e.to_string()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::skills::Kind;
    use crate::skills::verify::Problem;
    use arrow_array::Array;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    #[test]
    fn rows_round_trip_with_their_nulls() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let rows = vec![
            Checked {
                row: 3,
                external_id: Some("E3".into()),
                user_id: "u3".into(),
                kind: Kind::Skill,
                name: "Billing".into(),
                expected: Some(4.0),
                actual: None,
                matched: false,
                problem: Some(Problem::Missing),
            },
            Checked {
                row: 4,
                external_id: None,
                user_id: "u4".into(),
                kind: Kind::Language,
                name: "English".into(),
                expected: Some(5.0),
                actual: Some(5.0),
                matched: true,
                problem: None,
            },
        ];
        write(&path, "run-1", &rows).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap();
        let batches: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
        assert_eq!(batches.len(), 1);
        let b = &batches[0];
        assert_eq!(b.num_rows(), 2);
        assert_eq!(b.schema().as_ref(), &schema());
        let problem = b
            .column_by_name("problem")
            .unwrap()
            .as_any()
            .downcast_ref::<arrow_array::StringArray>()
            .unwrap();
        assert_eq!(problem.value(0), "missing");
        assert!(problem.is_null(1));
        let actual = b
            .column_by_name("actual")
            .unwrap()
            .as_any()
            .downcast_ref::<arrow_array::Float64Array>()
            .unwrap();
        assert!(actual.is_null(0));
        assert_eq!(actual.value(1), 5.0);
    }
}
