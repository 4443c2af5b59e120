//! Rebuilds the ledger from a journal: one row per input row, sorted by row, with
//! where each row's webhook event stands (from the journal's outbox lines).

use std::collections::BTreeMap;
use std::path::Path;

use super::{JournalError, JournalState};
use crate::ledger::{LedgerRow, LedgerSummary, LedgerWriter};

/// Writes the ledger at `path` for `state`'s run: every row the journal has an outcome
/// for, plus `others` (rows the journal does not cover, e.g. invalid rows or rows never
/// reached, as `pending`) for row numbers the journal lacks. The journal wins when both
/// have a row. Written sorted by row number; returns the counts.
pub fn build_ledger_from_journal(
    state: &JournalState,
    others: impl IntoIterator<Item = LedgerRow>,
    path: &Path,
) -> Result<LedgerSummary, JournalError> {
    let extra: BTreeMap<u64, LedgerRow> = others
        .into_iter()
        .filter(|r| !state.done.contains_key(&r.row))
        .map(|r| (r.row, r))
        .collect();
    let webhooks = state.outbox.by_row();
    let mut writer = LedgerWriter::try_new(path, &state.meta.run_id)?;
    let mut a = state.done.values().peekable();
    let mut b = extra.values().peekable();
    loop {
        let next = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) if x.row <= y.row => a.next(),
            (Some(_), Some(_)) => b.next(),
            (Some(_), None) => a.next(),
            (None, Some(_)) => b.next(),
            (None, None) => break,
        };
        if let Some(row) = next {
            writer.write_with(row, webhooks.get(&row.row).copied())?;
        }
    }
    Ok(writer.close()?)
}
