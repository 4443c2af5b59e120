//! Reads plan.parquet back one planned user at a time, feeding the content hash
//! as it goes: [`PlanReader::finish`] fails when the rows are not the ones
//! written (a value rewritten, rows dropped or added, another file), and
//! [`verify`] reads a whole plan through before anything is sent.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::Int32Type;
use arrow_array::{Array, RecordBatch, StringArray, UInt64Array};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

use super::hash::{ContentHash, RowValues};
use super::*;

/// Why a plan file cannot be written or applied.
#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    /// The file cannot be created, opened or read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The plan file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Parquet could not encode or decode it (a truncated or corrupted file).
    #[error("{}: not a readable plan (truncated or corrupted?): {source}", path.display())]
    Parquet {
        /// The plan file.
        path: PathBuf,
        /// Why.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// Written after close (a bug).
    #[error("{}: the plan was already closed", path.display())]
    Closed {
        /// The plan file.
        path: PathBuf,
    },
    /// A column or a metadata key is missing or of another type.
    #[error("{}: not a scimport plan: {what}", path.display())]
    Format {
        /// The plan file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// The rows are not the ones the dry run wrote.
    #[error(
        "{}: the plan was altered since it was written (its content hash is sha256:{actual}, the dry run recorded sha256:{recorded}); re-plan with a new dry run",
        path.display()
    )]
    Altered {
        /// The plan file.
        path: PathBuf,
        /// The hash recorded when written.
        recorded: String,
        /// The hash of the rows read.
        actual: String,
    },
}

/// What a plan file's footer records.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlanFile {
    /// The file.
    pub path: PathBuf,
    /// The dry run that wrote it.
    pub run_id: String,
    /// SHA-256 of its rows in canonical form, as recorded.
    pub sha256: String,
    /// Rows recorded.
    pub rows: u64,
    /// The input file as planned.
    pub input: PathBuf,
    /// SHA-256 of the input when planned.
    pub input_sha256: String,
    /// The mapping file as planned.
    pub mapping_path: PathBuf,
    /// SHA-256 of the mapping when planned.
    pub mapping_sha256: String,
    /// The mapping's text as planned.
    pub mapping_text: String,
    /// Users planned (filled by [`verify`]).
    pub users: u64,
    /// Users whose group memberships change (filled by [`verify`]).
    pub membership_users: u64,
}

/// Reads a plan one user at a time.
pub struct PlanReader {
    file: PlanFile,
    batches: ParquetRecordBatchReader,
    batch: Option<RecordBatch>,
    next: usize,
    hash: ContentHash,
    pending: Option<PlannedUser>,
}

impl std::fmt::Debug for PlanReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlanReader")
            .field("file", &self.file.path)
            .finish_non_exhaustive()
    }
}

fn parquet(path: &Path) -> impl Fn(parquet::errors::ParquetError) -> PlanFileError + '_ {
    move |source| PlanFileError::Parquet {
        path: path.to_path_buf(),
        source,
    }
}

impl PlanReader {
    /// Opens `path` and reads its footer.
    pub fn open(path: &Path) -> Result<PlanReader, PlanFileError> {
        let f = File::open(path).map_err(|source| PlanFileError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(f).map_err(parquet(path))?;
        let kv: HashMap<String, String> = builder
            .metadata()
            .file_metadata()
            .key_value_metadata()
            .map(|kvs| {
                kvs.iter()
                    .filter_map(|k| k.value.clone().map(|v| (k.key.clone(), v)))
                    .collect()
            })
            .unwrap_or_default();
        let format = |what: String| PlanFileError::Format {
            path: path.to_path_buf(),
            what,
        };
        let get = |k: &str| {
            kv.get(k)
                .cloned()
                .ok_or_else(|| format(format!("no {k} in its metadata")))
        };
        let version = get(META_FORMAT)?;
        if version != FORMAT_VERSION {
            return Err(format(format!(
                "format {version}, this scimport reads format {FORMAT_VERSION}"
            )));
        }
        let file = PlanFile {
            path: path.to_path_buf(),
            run_id: get(META_RUN_ID)?,
            sha256: get(META_SHA256)?,
            rows: get(META_ROWS)?
                .parse()
                .map_err(|_| format(format!("{META_ROWS} is not a number")))?,
            input: PathBuf::from(get(META_INPUT)?),
            input_sha256: get(META_INPUT_SHA256)?,
            mapping_path: PathBuf::from(get(META_MAPPING_PATH)?),
            mapping_sha256: get(META_MAPPING_SHA256)?,
            mapping_text: get(META_MAPPING)?,
            users: 0,
            membership_users: 0,
        };
        let batches = builder
            .with_batch_size(8192)
            .build()
            .map_err(parquet(path))?;
        Ok(PlanReader {
            file,
            batches,
            batch: None,
            next: 0,
            hash: ContentHash::new(),
            pending: None,
        })
    }

    /// The footer's records.
    pub fn file(&self) -> &PlanFile {
        &self.file
    }

    /// The next planned user, or `None` after the last one.
    pub fn next_user(&mut self) -> Result<Option<PlannedUser>, PlanFileError> {
        loop {
            let Some(row) = self.next_row()? else {
                return Ok(self.pending.take());
            };
            match &mut self.pending {
                Some(p) if same_user(p, &row) => add(p, row),
                _ => {
                    let mut fresh = PlannedUser {
                        row: row.row,
                        external_id: row.external_id.clone(),
                        user_name: row.user_name.clone(),
                        action: row.action,
                        scim_id: row.scim_id.clone(),
                        version: row.version.clone(),
                        body: None,
                        changes: Vec::new(),
                        fields: 0,
                    };
                    add(&mut fresh, row);
                    if let Some(done) = self.pending.replace(fresh) {
                        return Ok(Some(done));
                    }
                }
            }
        }
    }

    /// Checks, once every user was read, that the rows are the ones written.
    pub fn finish(self) -> Result<PlanFile, PlanFileError> {
        let rows = self.hash.rows();
        let actual = self.hash.finish();
        if actual != self.file.sha256 || rows != self.file.rows {
            return Err(PlanFileError::Altered {
                path: self.file.path.clone(),
                recorded: self.file.sha256.clone(),
                actual,
            });
        }
        Ok(self.file)
    }

    fn next_row(&mut self) -> Result<Option<Row>, PlanFileError> {
        loop {
            if let Some(b) = &self.batch
                && self.next < b.num_rows()
            {
                let row = read_row(&self.file.path, b, self.next)?;
                self.next += 1;
                let v = row.values(&self.file.run_id);
                if row.run_id != self.file.run_id {
                    return Err(PlanFileError::Format {
                        path: self.file.path.clone(),
                        what: format!(
                            "a row of run {} in the plan of run {}",
                            row.run_id, self.file.run_id
                        ),
                    });
                }
                self.hash.row(&v);
                return Ok(Some(row));
            }
            match self.batches.next() {
                None => return Ok(None),
                Some(Ok(b)) => {
                    self.batch = Some(b);
                    self.next = 0;
                }
                Some(Err(e)) => {
                    return Err(PlanFileError::Parquet {
                        path: self.file.path.clone(),
                        source: parquet::errors::ParquetError::External(Box::new(e)),
                    });
                }
            }
        }
    }
}

/// Reads the whole plan through, checking its content hash; returns its footer
/// with the users counted.
pub fn verify(path: &Path) -> Result<PlanFile, PlanFileError> {
    let mut r = PlanReader::open(path)?;
    let (mut users, mut groups) = (0, 0);
    while let Some(u) = r.next_user()? {
        users += 1;
        groups += u64::from(u.has_memberships());
    }
    let mut file = r.finish()?;
    file.users = users;
    file.membership_users = groups;
    Ok(file)
}

/// One Parquet row, owned.
#[derive(Debug, Clone)]
struct Row {
    run_id: String,
    row: Option<u64>,
    external_id: Option<String>,
    user_name: Option<String>,
    action: Action,
    action_text: String,
    path: Option<String>,
    before: Option<String>,
    after: Option<String>,
    scim_id: Option<String>,
    version: Option<String>,
    op: Option<String>,
}

impl Row {
    fn values<'a>(&'a self, run_id: &'a str) -> RowValues<'a> {
        RowValues {
            run_id,
            row: self.row,
            external_id: self.external_id.as_deref(),
            user_name: self.user_name.as_deref(),
            action: &self.action_text,
            path: self.path.as_deref(),
            before: self.before.as_deref(),
            after: self.after.as_deref(),
            scim_id: self.scim_id.as_deref(),
            version: self.version.as_deref(),
            op: self.op.as_deref(),
        }
    }
}

fn same_user(p: &PlannedUser, r: &Row) -> bool {
    p.row == r.row
        && p.action == r.action
        && p.scim_id == r.scim_id
        && p.external_id == r.external_id
        && p.user_name == r.user_name
}

fn add(p: &mut PlannedUser, r: Row) {
    match r.path {
        None => {
            p.body = r.after;
        }
        Some(path) => {
            p.changes.push(PlannedChange {
                path,
                before: r.before,
                after: r.after,
                op: r.op,
            });
        }
    }
    p.fields = p.changes.len();
}

/// A text column, plain or dictionary-encoded.
fn text(
    path: &Path,
    b: &RecordBatch,
    name: &str,
    i: usize,
) -> Result<Option<String>, PlanFileError> {
    let bad = || PlanFileError::Format {
        path: path.to_path_buf(),
        what: format!("no text column {name}"),
    };
    let col = b.column_by_name(name).ok_or_else(bad)?;
    if col.is_null(i) {
        return Ok(None);
    }
    if let Some(s) = col.as_any().downcast_ref::<StringArray>() {
        return Ok(Some(s.value(i).to_string()));
    }
    if let Some(d) = col.as_dictionary_opt::<Int32Type>() {
        let values = d
            .values()
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(bad)?;
        let k = d.keys().value(i);
        let k = usize::try_from(k).map_err(|_| bad())?;
        if k >= values.len() {
            return Err(bad());
        }
        return Ok(Some(values.value(k).to_string()));
    }
    Err(bad())
}

fn read_row(path: &Path, b: &RecordBatch, i: usize) -> Result<Row, PlanFileError> {
    let format = |what: String| PlanFileError::Format {
        path: path.to_path_buf(),
        what,
    };
    let required = |name: &str| -> Result<String, PlanFileError> {
        text(path, b, name, i)?.ok_or_else(|| format(format!("{name} is null")))
    };
    let row_col = b
        .column_by_name("row")
        .and_then(|c| c.as_any().downcast_ref::<UInt64Array>())
        .ok_or_else(|| format("no uint64 column row".into()))?;
    let action_text = required("action")?;
    let action = crate::model::Action::parse(&action_text)
        .filter(|a| {
            matches!(
                a,
                Action::Create | Action::Update | Action::Reactivate | Action::Deactivate
            )
        })
        .ok_or_else(|| format(format!("action {action_text:?} is not one a plan applies")))?;
    Ok(Row {
        run_id: required("run_id")?,
        row: (!row_col.is_null(i)).then(|| row_col.value(i)),
        external_id: text(path, b, "external_id", i)?,
        user_name: text(path, b, "user_name", i)?,
        action,
        action_text,
        path: text(path, b, "path", i)?,
        before: text(path, b, "before", i)?,
        after: text(path, b, "after", i)?,
        scim_id: text(path, b, "scim_id", i)?,
        version: text(path, b, "version", i)?,
        op: text(path, b, "op", i)?,
    })
}
