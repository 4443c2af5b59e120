//! The ledger, streamed once into what the report shows: counts per outcome,
//! action, error kind, warning and changed field, and a few example rows per
//! error kind and warning. Memory is bounded by the number of kinds and fields,
//! never by the number of rows.
//!
//! Reads only the columns it needs (a projection), batch by batch. Does not
//! draw or format anything (see `charts` and `page`).

use std::collections::BTreeMap;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::UInt64Type;
use arrow_array::{Array, RecordBatch};

use super::error::ReportError;
use super::fixes::{self, ErrorParts};
use crate::ledger::schema;
use crate::model::{Action, Outcome};

/// Example rows kept per error kind or warning kind.
pub const EXAMPLES_PER_KIND: usize = 3;
/// Distinct error kinds, warning kinds and changed fields kept (the rest are
/// counted under `other`).
pub const MAX_KEYS: usize = 200;

/// One row, as much of it as the report reads.
#[derive(Debug, Clone, Copy)]
pub struct RowView<'a> {
    /// The input row (`None` for a sync's leaver).
    pub row: Option<u64>,
    /// The row's userName.
    pub user_name: Option<&'a str>,
    /// The row's externalId.
    pub external_id: Option<&'a str>,
    /// The action.
    pub action: Action,
    /// The outcome.
    pub outcome: Outcome,
    /// The error kind.
    pub error_kind: Option<&'a str>,
    /// The error text.
    pub error: Option<&'a str>,
    /// The warning (`kind: detail`).
    pub warning: Option<&'a str>,
}

/// An example row of an error or a warning.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Example {
    /// The input row (`None` for a leaver).
    pub row: Option<u64>,
    /// Who: the userName, else the externalId.
    pub who: Option<String>,
    /// The outcome.
    pub outcome: &'static str,
    /// The field named by the error, if any.
    pub field: Option<String>,
    /// The value, shortened.
    pub value: Option<String>,
    /// The problem.
    pub problem: String,
    /// The fix.
    pub fix: Option<String>,
}

/// Rows of one kind: how many, and the first few.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct KindCount {
    /// Rows.
    pub count: u64,
    /// Rows of it that failed or were invalid (a `--retry-failed` runs them again).
    pub retryable: u64,
    /// The first [`EXAMPLES_PER_KIND`] rows.
    pub examples: Vec<Example>,
}

/// Everything the report takes from the ledger.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LedgerStats {
    /// Rows read.
    pub rows: u64,
    /// Rows per outcome (every outcome a key).
    pub outcomes: BTreeMap<&'static str, u64>,
    /// Rows per action (every action a key).
    pub actions: BTreeMap<&'static str, u64>,
    /// Rows per error kind, with examples.
    pub errors: BTreeMap<String, KindCount>,
    /// Rows per warning kind, with examples.
    pub warnings: BTreeMap<String, KindCount>,
    /// Changes per SCIM path, over rows that create or update.
    pub fields: BTreeMap<String, u64>,
}

impl LedgerStats {
    /// Nothing read yet; every outcome and action counts zero.
    pub fn new() -> Self {
        LedgerStats {
            outcomes: Outcome::ALL.iter().map(|o| (o.as_str(), 0)).collect(),
            actions: Action::ALL.iter().map(|a| (a.as_str(), 0)).collect(),
            ..LedgerStats::default()
        }
    }

    /// Counts one row.
    pub fn add(&mut self, r: &RowView<'_>) {
        self.rows += 1;
        *self.outcomes.entry(r.outcome.as_str()).or_default() += 1;
        *self.actions.entry(r.action.as_str()).or_default() += 1;
        let who = || r.user_name.or(r.external_id).map(|w| fixes::shorten(w, 60));
        if let Some(kind) = r.error_kind {
            let retryable = matches!(r.outcome, Outcome::Failed | Outcome::Invalid);
            let k = bounded_entry(&mut self.errors, kind);
            k.count += 1;
            k.retryable += u64::from(retryable);
            if k.examples.len() < EXAMPLES_PER_KIND {
                let parts = fixes::split_error(kind, r.error.unwrap_or(""));
                k.examples.push(example(r, who(), parts));
            }
        }
        if let Some(w) = r.warning {
            let (kind, detail) = w.split_once(": ").unwrap_or((w, ""));
            let k = bounded_entry(&mut self.warnings, kind);
            k.count += 1;
            if k.examples.len() < EXAMPLES_PER_KIND {
                let parts = fixes::split_error(kind, detail);
                k.examples.push(example(r, who(), parts));
            }
        }
    }

    /// Counts one changed field of a row.
    pub fn add_field(&mut self, path: &str) {
        if let Some(n) = self.fields.get_mut(path) {
            *n += 1;
        } else {
            let key = if self.fields.len() < MAX_KEYS {
                path
            } else {
                "other"
            };
            *self.fields.entry(key.to_string()).or_default() += 1;
        }
    }
}

/// The entry for `kind`, or for `other` once [`MAX_KEYS`] kinds are held.
fn bounded_entry<'m>(m: &'m mut BTreeMap<String, KindCount>, kind: &str) -> &'m mut KindCount {
    let key = if m.contains_key(kind) || m.len() < MAX_KEYS {
        kind
    } else {
        "other"
    };
    m.entry(key.to_string()).or_default()
}

fn example(r: &RowView<'_>, who: Option<String>, parts: ErrorParts) -> Example {
    Example {
        row: r.row,
        who,
        outcome: r.outcome.as_str(),
        field: parts.field,
        value: parts.value,
        problem: parts.problem,
        fix: parts.fix,
    }
}

/// Streams the ledger at `path` into [`LedgerStats`].
pub fn scan_ledger(path: &Path) -> Result<LedgerStats, ReportError> {
    let wanted = [
        schema::ROW,
        schema::EXTERNAL_ID,
        schema::USER_NAME,
        schema::ACTION,
        schema::OUTCOME,
        schema::ERROR_KIND,
        schema::ERROR,
        schema::CHANGED_FIELDS,
        schema::WARNING,
    ];
    let mut stats = LedgerStats::new();
    crate::ledger::reader::for_each_projected(path, &wanted, |b| add_batch(path, b, &mut stats))?;
    Ok(stats)
}

fn add_batch(path: &Path, b: &RecordBatch, stats: &mut LedgerStats) -> Result<(), ReportError> {
    let not_ledger = |problem: String| ReportError::NotALedger {
        path: path.to_path_buf(),
        problem,
    };
    let col = |name: &str| {
        b.column_by_name(name)
            .ok_or_else(|| not_ledger(format!("no column {name}")))
    };
    let string = |name: &str| -> Result<&arrow_array::StringArray, ReportError> {
        col(name)?
            .as_string_opt::<i32>()
            .ok_or_else(|| not_ledger(format!("column {name} is not text")))
    };
    let row = col(schema::ROW)?
        .as_primitive_opt::<UInt64Type>()
        .ok_or_else(|| not_ledger("column row is not UInt64".into()))?;
    let (ext, user, action, outcome) = (
        string(schema::EXTERNAL_ID)?,
        string(schema::USER_NAME)?,
        string(schema::ACTION)?,
        string(schema::OUTCOME)?,
    );
    let (kind, error) = (string(schema::ERROR_KIND)?, string(schema::ERROR)?);
    // Ledgers older than issue 19 have no `warning` column.
    let warning = match b.column_by_name(schema::WARNING) {
        Some(_) => Some(string(schema::WARNING)?),
        None => None,
    };
    let changed = col(schema::CHANGED_FIELDS)?
        .as_list_opt::<i32>()
        .ok_or_else(|| not_ledger("column changed_fields is not a list".into()))?;
    let paths = changed
        .values()
        .as_string_opt::<i32>()
        .ok_or_else(|| not_ledger("changed_fields items are not text".into()))?;
    fn opt(a: &arrow_array::StringArray, i: usize) -> Option<&str> {
        a.is_valid(i).then(|| a.value(i))
    }
    for i in 0..b.num_rows() {
        let a = action.value(i);
        let o = outcome.value(i);
        let view = RowView {
            row: row.is_valid(i).then(|| row.value(i)),
            user_name: opt(user, i),
            external_id: opt(ext, i),
            action: Action::parse(a).ok_or_else(|| not_ledger(format!("unknown action {a:?}")))?,
            outcome: Outcome::parse(o)
                .ok_or_else(|| not_ledger(format!("unknown outcome {o:?}")))?,
            error_kind: opt(kind, i),
            error: opt(error, i),
            warning: warning.and_then(|w| opt(w, i)),
        };
        stats.add(&view);
        if matches!(view.action, Action::Create | Action::Update) {
            let offsets = changed.value_offsets();
            let (lo, hi) = (offsets[i] as usize, offsets[i + 1] as usize);
            for j in lo..hi {
                if paths.is_valid(j) {
                    stats.add_field(paths.value(j));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view<'a>(row: u64, kind: Option<&'a str>, error: Option<&'a str>) -> RowView<'a> {
        RowView {
            row: Some(row),
            user_name: Some("ada@example.com"),
            external_id: None,
            action: Action::Create,
            outcome: if kind.is_some() {
                Outcome::Failed
            } else {
                Outcome::Succeeded
            },
            error_kind: kind,
            error,
            warning: None,
        }
    }

    #[test]
    fn counts_every_row_and_keeps_only_a_few_examples_per_kind() {
        let mut s = LedgerStats::new();
        for row in 1..=1000 {
            let kind = match row % 4 {
                0 => Some("manager_not_found"),
                1 => Some("invalid_email"),
                _ => None,
            };
            s.add(&view(
                row,
                kind,
                Some("column email (userName): `x@@y` bad; fix: do it"),
            ));
        }
        assert_eq!(s.rows, 1000);
        assert_eq!(s.outcomes["failed"], 500);
        assert_eq!(s.outcomes["succeeded"], 500);
        assert_eq!(s.outcomes["pending"], 0, "every outcome is a key");
        assert_eq!(s.actions["create"], 1000);
        let m = &s.errors["manager_not_found"];
        assert_eq!((m.count, m.retryable), (250, 250));
        assert_eq!(m.examples.len(), EXAMPLES_PER_KIND);
        let rows: Vec<_> = m.examples.iter().map(|e| e.row).collect();
        assert_eq!(
            rows,
            [Some(4), Some(8), Some(12)],
            "the first rows are kept"
        );
        assert_eq!(m.examples[0].value.as_deref(), Some("x@@y"));
        assert_eq!(m.examples[0].fix.as_deref(), Some("do it"));
    }

    #[test]
    fn warnings_are_counted_by_kind() {
        let mut s = LedgerStats::new();
        let mut v = view(3, None, None);
        v.warning = Some("manager_unresolved: manager E9 is not in the tenant");
        s.add(&v);
        s.add(&v);
        let w = &s.warnings["manager_unresolved"];
        assert_eq!(w.count, 2);
        assert_eq!(w.examples[0].problem, "manager E9 is not in the tenant");
    }

    #[test]
    fn kinds_and_fields_past_the_bound_go_to_other() {
        let mut s = LedgerStats::new();
        let kinds: Vec<String> = (0..MAX_KEYS + 50).map(|i| format!("k{i}")).collect();
        for (i, k) in kinds.iter().enumerate() {
            s.add(&view(i as u64, Some(k), None));
            s.add_field(k);
        }
        assert_eq!(s.errors.len(), MAX_KEYS + 1);
        assert_eq!(s.errors["other"].count, 50);
        assert_eq!(s.fields.len(), MAX_KEYS + 1);
        assert_eq!(s.fields["other"], 50);
    }
}
