//! failed.csv: the original columns of every failed or invalid row plus `row`,
//! `error_kind` and `error`, ready to fix and feed back with `--retry-failed`.
//!
//! Reads the failed rows' original columns again from the source's file; does not
//! decide which rows failed (the ledger says).

use std::collections::{HashMap, HashSet};
use std::path::Path;

use super::error::{EngineError, InputError};
use super::resolve::file_sha256;
use crate::ledger::failed_csv::FailedCsvWriter;
use crate::ledger::{RunDir, Verdict};
use crate::mapping::Mapping;
use crate::source::InputSpec;
use crate::validate::{self, PrepareOptions};

/// Writes failed.csv; returns its SHA-256 and a remark for the user when the
/// original columns could not be read again.
pub(super) fn write_failed_csv(
    dir: &RunDir,
    input: Option<&InputSpec>,
    mapping: &Mapping,
    header: &[String],
    rows: &[Verdict],
) -> Result<(String, Option<String>), EngineError> {
    let failed: HashMap<u64, (String, String)> = rows
        .iter()
        .filter_map(|r| r.error.clone().map(|e| (r.row, e)))
        .collect();
    let mut writer = FailedCsvWriter::try_new(&dir.failed_path(), header)?;
    let mut note = None;
    if !failed.is_empty() {
        match input {
            Some(spec) if spec.path != Path::new("-") => {
                let only: HashSet<u64> = failed.keys().copied().collect();
                let opts = PrepareOptions {
                    only_rows: Some(only),
                    ..PrepareOptions::default()
                };
                let prep = validate::prepare(spec, mapping, opts).map_err(InputError::from)?;
                for chunk in prep {
                    for p in chunk.map_err(InputError::from)? {
                        if let Some((kind, err)) = failed.get(&p.record.row) {
                            writer.write(&p.record, kind, err)?;
                        }
                    }
                }
            }
            Some(_) => {
                note = Some(
                    "failed.csv lists no original columns: the input came from stdin".to_string(),
                )
            }
            None => {
                note = Some(
                    "failed.csv lists no original columns: the rows did not come from a file"
                        .to_string(),
                )
            }
        }
    }
    writer.close()?;
    Ok((file_sha256(&dir.failed_path()), note))
}
