//! Adds warnings to rows of a finished dry-run ledger: the dry run learns only at
//! its end which users a real run would create without their manager
//! (`manager_unresolved`), after their rows were written in input order. The file
//! is rewritten batch by batch (bounded memory) through a temporary file renamed
//! into place, so the ledger on disk is always whole.

use std::collections::HashMap;
use std::path::Path;

use super::reader::for_each_row;
use super::{LedgerError, LedgerSummary, LedgerWriter};

/// Sets the `warning` of the rows in `warnings` (by row number; a row that has a
/// warning keeps it) in the ledger at `path` of run `run_id`, and returns the new
/// counts. Nothing is rewritten when `warnings` is empty (`None` is returned).
pub fn add_warnings(
    path: &Path,
    run_id: &str,
    warnings: &HashMap<u64, String>,
) -> Result<Option<LedgerSummary>, LedgerError> {
    if warnings.is_empty() {
        return Ok(None);
    }
    let mut out = LedgerWriter::try_new(path, run_id)?;
    for_each_row(path, |mut row| {
        if row.warning.is_none()
            && let Some(w) = warnings.get(&row.row)
        {
            row.warning = Some(w.clone());
        }
        out.write(&row)
    })?;
    out.close().map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{Action, LedgerRow, Outcome, RunDir, read_ledger};

    #[test]
    fn the_named_rows_get_their_warning_and_the_counts_follow() {
        let tmp = tempfile::tempdir().unwrap();
        let run = RunDir::create(&tmp.path().join("runs")).unwrap();
        let mut w = LedgerWriter::try_new(&run.ledger_path(), &run.id).unwrap();
        for row in 1..=3 {
            let mut r = LedgerRow::without_call(
                row,
                Some(format!("E{row}")),
                None,
                Action::Create,
                Outcome::Skipped,
                "h".into(),
            );
            r.changed_fields = vec!["title".into()];
            w.write(&r).unwrap();
        }
        let before = w.close().unwrap();
        let rows_before = read_ledger(&run.ledger_path()).unwrap();
        assert_eq!(
            add_warnings(&run.ledger_path(), &run.id, &HashMap::new()).unwrap(),
            None
        );
        let warnings = HashMap::from([(2, "manager_unresolved: manager E9 …".to_string())]);
        let after = add_warnings(&run.ledger_path(), &run.id, &warnings)
            .unwrap()
            .unwrap();
        assert_eq!(after.rows, before.rows);
        assert_eq!(after.warnings.get("manager_unresolved"), Some(&1));
        let rows = read_ledger(&run.ledger_path()).unwrap();
        assert_eq!(rows.len(), 3);
        for (a, b) in rows.iter().zip(&rows_before) {
            if a.row == 2 {
                assert_eq!(
                    a.warning.as_deref(),
                    Some("manager_unresolved: manager E9 …")
                );
            } else {
                assert_eq!(a, b);
            }
        }
        assert!(!run.root.join("ledger.parquet.tmp").exists());
    }
}
