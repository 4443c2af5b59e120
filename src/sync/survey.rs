//! The first pass of a sync over its source: every row's key, anchor, externalId,
//! DN and manager, whether the read reached the end, and the counts the guards
//! judge, before anything is planned or sent. Invalid rows still give their key
//! when the key's own cells are readable (a typo in a phone number must not make
//! its person look like a leaver); rows whose key cannot be read are counted.
//!
//! Holds a few short strings per row, never the rows themselves; the engine reads
//! the source again for the run (the second pass).

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use crate::mapping::{DesiredUser, Mapping};
use crate::model::ErrorKind;
use crate::source::InputSpec;
use crate::validate::{self, ConfigError, PrepareOptions};

use super::state::key_of;

/// What the first pass learnt of one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowInfo {
    /// 1-based data row.
    pub row: u64,
    /// The row's key ([`key_of`]), when readable.
    pub key: Option<String>,
    /// The row's anchor.
    pub anchor: Option<String>,
    /// The row's externalId.
    pub external_id: Option<String>,
    /// The entry's DN (an LDAP source's `dn` column).
    pub dn: Option<String>,
    /// The manager value the mapping gives (an externalId, or a DN from LDAP).
    pub manager: Option<String>,
    /// Whether the row passed validation.
    pub valid: bool,
}

/// The first pass's findings.
#[derive(Debug, Clone, Default)]
pub struct Survey {
    /// Every row, in row order.
    pub rows: Vec<RowInfo>,
    /// Rows that passed validation.
    pub valid: u64,
    /// Rows whose key could not be read.
    pub unkeyed: u64,
    /// Why the read did not reach the end of the source, if it did not.
    pub incomplete: Option<String>,
}

impl Survey {
    /// Rows read.
    pub fn count(&self) -> u64 {
        self.rows.len() as u64
    }
}

/// Reads `spec` once through `mapping`. An input that cannot be opened or does not
/// fit the mapping is an error; a read that stops part-way is a survey with
/// `incomplete` set.
pub fn survey(spec: &InputSpec, mapping: &Mapping) -> Result<Survey, ConfigError> {
    let opts = PrepareOptions {
        keep_valid_records: true,
        ..PrepareOptions::default()
    };
    let prep = validate::prepare(spec, mapping, opts)?;
    let header = prep.header().clone();
    let bound = mapping
        .bind(&header, spec.row_column.as_deref())
        .map_err(|problems| ConfigError::Mapping {
            path: spec.path.display().to_string(),
            problems,
        })?;
    let dn_at = header
        .names()
        .iter()
        .position(|c| c.eq_ignore_ascii_case("dn"));
    let keys = mapping.keys().to_vec();
    let mut out = Survey::default();
    let mut last_broken: Option<(u64, ErrorKind)> = None;
    for chunk in prep {
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => {
                out.incomplete = Some(format!("the source could not be read to the end: {e}"));
                return Ok(out);
            }
        };
        for p in chunk {
            let row = p.record.row;
            let fields: Vec<&str> = p.record.fields.iter().map(String::as_str).collect();
            let dn = dn_at
                .and_then(|i| fields.get(i))
                .filter(|s| !s.is_empty())
                .map(|s| s.to_string());
            let (desired, valid) = match &p.result {
                Ok(d) => {
                    last_broken = None;
                    (Some(d.clone()), true)
                }
                Err(errors) => {
                    last_broken = errors.first().map(|e| (row, e.kind));
                    // The key's own cells may still be readable.
                    let d = (!fields.is_empty()).then(|| bound.map(row, &fields).0);
                    (d, false)
                }
            };
            let info = info(row, desired.as_ref(), &keys, dn, valid);
            if info.key.is_none() {
                out.unkeyed += 1;
            }
            if valid {
                out.valid += 1;
            }
            out.rows.push(info);
        }
    }
    if let Some((row, kind)) = last_broken
        && matches!(
            kind,
            ErrorKind::RaggedRow | ErrorKind::BadJson | ErrorKind::BadUtf8
        )
        && ends_without_newline(&spec.path)
    {
        out.incomplete = Some(format!(
            "{} ends in the middle of row {row} (no final newline, and the row is broken): was it cut short?",
            spec.path.display()
        ));
    }
    Ok(out)
}

fn info(
    row: u64,
    d: Option<&DesiredUser>,
    keys: &[crate::mapping::MatchKey],
    dn: Option<String>,
    valid: bool,
) -> RowInfo {
    RowInfo {
        row,
        key: d.and_then(|d| key_of(d, keys)),
        anchor: d.and_then(|d| d.anchor.clone()),
        external_id: d.and_then(|d| d.external_id().map(str::to_string)),
        dn,
        manager: d.and_then(DesiredUser::manager).map(str::to_string),
        valid,
    }
}

/// Whether a plain (not compressed, not stdin) file's last byte is not a newline.
fn ends_without_newline(path: &Path) -> bool {
    if path == Path::new("-") || path.extension().is_some_and(|e| e == "gz") {
        return false;
    }
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    let mut last = [0u8; 1];
    f.seek(SeekFrom::End(-1)).is_ok() && f.read_exact(&mut last).is_ok() && last[0] != b'\n'
}
