//! The share of attributes already matching: of the attributes a sync compared
//! (each mapped attribute of each source user that matched a tenant user, read
//! from the tenant or from the state), how many already had the source's value.
//! A figure for monitoring drift between HR and Genesys (summary.json
//! `sync.attributes_matching`, the printed summary, and the metrics file).
//!
//! Counted from the run's ledger: rows that updated, reactivated or left a user
//! as it was and succeeded, and rows an incremental run skipped as unchanged
//! since the state (skipped with no error kind): each compares every field of
//! the mapping, and its `changed_fields` are the ones that did not match.
//! Creates (nothing to compare with), deactivations of leavers, rows skipped for
//! a reason, failed and invalid rows are left out.

use std::path::Path;

use serde::Serialize;

use crate::ledger::LedgerError;
use crate::ledger::reader::for_each_change_count;
use crate::model::{Action, Outcome};

/// Attributes compared and matching.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AttributeMatch {
    /// Source users compared with their tenant user.
    pub users: u64,
    /// Attributes compared (users × mapped fields).
    pub compared: u64,
    /// Attributes that already had the source's value.
    pub matching: u64,
}

impl AttributeMatch {
    /// Counts one ledger row of a run whose mapping has `fields` fields.
    pub fn add(
        &mut self,
        action: Action,
        outcome: Outcome,
        why: bool,
        changed: usize,
        fields: usize,
    ) {
        let compared = match (action, outcome) {
            (Action::Update | Action::Reactivate | Action::None, Outcome::Succeeded) => true,
            (Action::Skip | Action::None, Outcome::Skipped) => !why,
            _ => false,
        };
        if !compared {
            return;
        }
        self.users += 1;
        self.compared += fields as u64;
        self.matching += fields.saturating_sub(changed) as u64;
    }

    /// `matching / compared`, when anything was compared.
    pub fn share(&self) -> Option<f64> {
        (self.compared > 0).then(|| self.matching as f64 / self.compared as f64)
    }
}

/// Counts the ledger at `path` of a run whose mapping has `fields` fields.
pub fn attribute_match(path: &Path, fields: usize) -> Result<AttributeMatch, LedgerError> {
    let mut m = AttributeMatch::default();
    for_each_change_count(path, |a, o, why, n| m.add(a, o, why, n, fields))?;
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_compared_rows_count_and_changes_are_capped_at_the_fields() {
        let mut m = AttributeMatch::default();
        m.add(Action::None, Outcome::Succeeded, false, 0, 8);
        m.add(Action::Update, Outcome::Succeeded, true, 2, 8); // target_edited noted
        m.add(Action::Reactivate, Outcome::Succeeded, false, 20, 8);
        m.add(Action::Skip, Outcome::Skipped, false, 0, 8); // unchanged since the state
        // Not compared: a create, a leaver, a failed update, an invalid row, a
        // row skipped for a reason, a held deactivation.
        m.add(Action::Create, Outcome::Succeeded, false, 8, 8);
        m.add(Action::Deactivate, Outcome::Succeeded, false, 1, 8);
        m.add(Action::Update, Outcome::Failed, true, 1, 8);
        m.add(Action::None, Outcome::Invalid, true, 0, 8);
        m.add(Action::Skip, Outcome::Skipped, true, 0, 8);
        m.add(Action::Deactivate, Outcome::Skipped, true, 0, 8);
        assert_eq!(
            m,
            AttributeMatch {
                users: 4,
                compared: 32,
                matching: 22
            }
        );
        assert_eq!(m.share(), Some(22.0 / 32.0));
        assert_eq!(AttributeMatch::default().share(), None);
    }
}
