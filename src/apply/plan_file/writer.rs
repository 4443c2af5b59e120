//! Writes plan.parquet as the dry run plans: rows go into Arrow builders, a full
//! batch goes to parquet's `ArrowWriter` (which flushes a row group as it fills),
//! so memory stays bounded whatever the plan's size. Counts changes per action and
//! per field and keeps the first users for the printed preview as it goes.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{StringBuilder, StringDictionaryBuilder, UInt64Builder};
use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, RecordBatch};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;

use super::hash::{ContentHash, RowValues};
use super::reader::PlanFileError;
use super::schema::schema;
use super::{PlannedUser, *};

/// Rows buffered in the builders before they go to the Parquet writer.
const BATCH_ROWS: usize = 8192;
/// Rows per row group.
const ROW_GROUP_ROWS: usize = 128 * 1024;
/// Users kept for the printed preview.
const PREVIEW_USERS: usize = 10;

/// What the plan records about where it came from.
#[derive(Debug, Clone, Default)]
pub struct PlanOrigin {
    /// The run that plans.
    pub run_id: String,
    /// The input file (or a fed source's label).
    pub input: PathBuf,
    /// SHA-256 of the input (empty for stdin or a fed source).
    pub input_sha256: String,
    /// The mapping file.
    pub mapping_path: PathBuf,
    /// SHA-256 of the mapping file.
    pub mapping_sha256: String,
    /// The mapping's text.
    pub mapping_text: String,
}

/// The counts a plan's summary shows.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct PlanTally {
    /// Planned users per action (`create`, `update`, ...).
    pub actions: BTreeMap<String, u64>,
    /// Planned changes per field, over updates, reactivations and deactivations
    /// (a create is counted once under `actions`, its memberships and manager
    /// included).
    pub fields: BTreeMap<String, u64>,
}

/// What was written, once closed (summary.json's `plan`).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PlanWritten {
    /// The file.
    pub path: PathBuf,
    /// Parquet rows written.
    pub rows: u64,
    /// Users planned (a user's changes span several rows).
    pub users: u64,
    /// SHA-256 of the rows in canonical form (also in the file's metadata).
    pub sha256: String,
    /// SHA-256 of the input when planned.
    pub input_sha256: String,
    /// SHA-256 of the mapping when planned.
    pub mapping_sha256: String,
    /// Counts per action and per field.
    #[serde(flatten)]
    pub tally: PlanTally,
    /// The first users planned, for the printed preview.
    #[serde(skip)]
    pub preview: Vec<PlannedUser>,
}

/// Streams a plan into plan.parquet; [`PlanWriter::close`] writes the footer.
pub struct PlanWriter {
    path: PathBuf,
    origin: PlanOrigin,
    writer: Option<ArrowWriter<File>>,
    run_id: StringDictionaryBuilder<Int32Type>,
    row: UInt64Builder,
    external_id: StringBuilder,
    user_name: StringBuilder,
    action: StringDictionaryBuilder<Int32Type>,
    path_col: StringDictionaryBuilder<Int32Type>,
    before: StringBuilder,
    after: StringBuilder,
    scim_id: StringBuilder,
    version: StringBuilder,
    op: StringBuilder,
    buffered: usize,
    hash: ContentHash,
    users: u64,
    tally: PlanTally,
    preview: Vec<PlannedUser>,
}

impl std::fmt::Debug for PlanWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlanWriter")
            .field("path", &self.path)
            .field("users", &self.users)
            .finish_non_exhaustive()
    }
}

impl PlanWriter {
    /// Creates `path` (replacing it).
    pub fn try_new(path: &Path, origin: PlanOrigin) -> Result<Self, PlanFileError> {
        let io = |source| PlanFileError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::create(path).map_err(io)?;
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(1).map_err(|e| {
                PlanFileError::Parquet {
                    path: path.to_path_buf(),
                    source: e,
                }
            })?))
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS));
        // Values nearly unique per row (bodies, names, ids) gain nothing from a
        // dictionary and cost a hash lookup each: only the repeated columns
        // (`run_id`, `action`, `path`) keep one.
        let props = [
            "row",
            "external_id",
            "user_name",
            "before",
            "after",
            "scim_id",
            "version",
            "op",
        ]
        .into_iter()
        .fold(props, |p, c| {
            p.set_column_dictionary_enabled(ColumnPath::from(c), false)
        })
        .build();
        let writer = ArrowWriter::try_new(file, schema(), Some(props)).map_err(|source| {
            PlanFileError::Parquet {
                path: path.to_path_buf(),
                source,
            }
        })?;
        Ok(PlanWriter {
            path: path.to_path_buf(),
            origin,
            writer: Some(writer),
            run_id: StringDictionaryBuilder::new(),
            row: UInt64Builder::new(),
            external_id: StringBuilder::new(),
            user_name: StringBuilder::new(),
            action: StringDictionaryBuilder::new(),
            path_col: StringDictionaryBuilder::new(),
            before: StringBuilder::new(),
            after: StringBuilder::new(),
            scim_id: StringBuilder::new(),
            version: StringBuilder::new(),
            op: StringBuilder::new(),
            buffered: 0,
            hash: ContentHash::new(),
            users: 0,
            tally: PlanTally::default(),
            preview: Vec::new(),
        })
    }

    /// Writes one user's planned rows: one for a create, one per change otherwise.
    pub fn write(&mut self, user: PlannedUser) -> Result<(), PlanFileError> {
        let action = user.action.as_str();
        *self.tally.actions.entry(action.to_string()).or_default() += 1;
        self.users += 1;
        let run_id = self.origin.run_id.clone();
        let base = RowValues {
            run_id: &run_id,
            row: user.row,
            external_id: user.external_id.as_deref(),
            user_name: user.user_name.as_deref(),
            action,
            path: None,
            before: None,
            after: None,
            scim_id: user.scim_id.as_deref(),
            version: user.version.as_deref(),
            op: None,
        };
        if user.body.is_some() {
            self.push(&RowValues {
                after: user.body.as_deref(),
                ..base
            });
        }
        let counted = user.action != crate::model::Action::Create;
        for c in &user.changes {
            if counted {
                *self.tally.fields.entry(c.path.clone()).or_default() += 1;
            }
            self.push(&RowValues {
                path: Some(&c.path),
                before: c.before.as_deref(),
                after: c.after.as_deref(),
                op: c.op.as_deref(),
                ..base
            });
        }
        if self.preview.len() < PREVIEW_USERS {
            self.preview.push(user);
        }
        if self.buffered >= BATCH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn push(&mut self, v: &RowValues<'_>) {
        self.hash.row(v);
        self.run_id.append_value(v.run_id);
        self.row.append_option(v.row);
        self.external_id.append_option(v.external_id);
        self.user_name.append_option(v.user_name);
        self.action.append_value(v.action);
        self.path_col.append_option(v.path);
        self.before.append_option(v.before);
        self.after.append_option(v.after);
        self.scim_id.append_option(v.scim_id);
        self.version.append_option(v.version);
        self.op.append_option(v.op);
        self.buffered += 1;
    }

    fn parquet_error(&self, source: parquet::errors::ParquetError) -> PlanFileError {
        PlanFileError::Parquet {
            path: self.path.clone(),
            source,
        }
    }

    /// Hands the buffered rows to the Parquet writer.
    fn flush(&mut self) -> Result<(), PlanFileError> {
        if self.buffered == 0 {
            return Ok(());
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.run_id.finish()),
            Arc::new(self.row.finish()),
            Arc::new(self.external_id.finish()),
            Arc::new(self.user_name.finish()),
            Arc::new(self.action.finish()),
            Arc::new(self.path_col.finish()),
            Arc::new(self.before.finish()),
            Arc::new(self.after.finish()),
            Arc::new(self.scim_id.finish()),
            Arc::new(self.version.finish()),
            Arc::new(self.op.finish()),
        ];
        self.buffered = 0;
        let batch = RecordBatch::try_new(schema(), columns).map_err(|e| {
            self.parquet_error(parquet::errors::ParquetError::External(Box::new(e)))
        })?;
        let result = match self.writer.as_mut() {
            Some(w) => w.write(&batch),
            None => return Ok(()),
        };
        result.map_err(|e| self.parquet_error(e))
    }

    /// Writes the last rows and the footer (with the hashes) and returns what was
    /// written.
    pub fn close(mut self) -> Result<PlanWritten, PlanFileError> {
        self.flush()?;
        let rows = self.hash.rows();
        let sha256 = std::mem::take(&mut self.hash).finish();
        let Some(mut writer) = self.writer.take() else {
            return Err(PlanFileError::Closed {
                path: self.path.clone(),
            });
        };
        let o = &self.origin;
        for (k, v) in [
            (META_FORMAT, FORMAT_VERSION.to_string()),
            (META_RUN_ID, o.run_id.clone()),
            (META_SHA256, sha256.clone()),
            (META_ROWS, rows.to_string()),
            (META_INPUT, o.input.display().to_string()),
            (META_INPUT_SHA256, o.input_sha256.clone()),
            (META_MAPPING_PATH, o.mapping_path.display().to_string()),
            (META_MAPPING_SHA256, o.mapping_sha256.clone()),
            (META_MAPPING, o.mapping_text.clone()),
        ] {
            writer.append_key_value_metadata(KeyValue::new(k.to_string(), v));
        }
        let closed = writer.close();
        closed.map_err(|e| self.parquet_error(e))?;
        Ok(PlanWritten {
            path: self.path.clone(),
            rows,
            users: self.users,
            sha256,
            input_sha256: self.origin.input_sha256.clone(),
            mapping_sha256: self.origin.mapping_sha256.clone(),
            tally: std::mem::take(&mut self.tally),
            preview: std::mem::take(&mut self.preview),
        })
    }
}

impl PlanWriter {
    /// Gives up on a plan that failed: no footer, and no complaint when dropped.
    pub fn abandon(&mut self) {
        self.writer = None;
    }
}

impl Drop for PlanWriter {
    fn drop(&mut self) {
        if self.writer.is_some() {
            tracing::error!(path = %self.path.display(), "plan writer dropped without close: the plan has no footer");
        }
    }
}
