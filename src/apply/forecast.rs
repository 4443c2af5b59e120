//! Dry runs: which users a real run would create without their manager
//! (`manager_unresolved`). A row's manager is deferred when the tenant does not
//! have it at planning time; a real run links it after the main pass if the run
//! created it meanwhile. A dry run creates nothing, so it remembers the deferred
//! rows and the users it plans to create, and at its end names the rows whose
//! manager neither the tenant has nor the run would create (terminated, invalid or
//! absent in the source). Memory: a hash per planned create and per deferred row,
//! and each distinct manager id once.

use std::collections::{HashMap, HashSet};

use super::execute::MANAGER_UNRESOLVED;
use crate::ledger::LedgerRow;
use crate::mapping::hash64;
use crate::model::{Action, Outcome};

/// What a dry run gathers for the prediction.
#[derive(Debug, Default)]
pub struct ManagerForecast {
    created: HashSet<u64>,
    deferred: Vec<(u64, u64)>,
    names: HashMap<u64, Box<str>>,
}

impl ManagerForecast {
    /// Takes in a row's planned state: a planned create (not failed) counts as a
    /// user the run would create.
    pub fn saw(&mut self, row: &LedgerRow) {
        if row.action == Action::Create
            && row.outcome != Outcome::Failed
            && let Some(x) = &row.external_id
        {
            self.created.insert(hash64(x));
        }
    }

    /// Row `row` was planned without its manager `manager`, which the tenant lacks.
    pub fn deferred(&mut self, row: u64, manager: &str) {
        let h = hash64(manager);
        self.deferred.push((row, h));
        self.names.entry(h).or_insert_with(|| manager.into());
    }

    /// The warning of each row a real run would create without its manager.
    pub fn finish(self) -> HashMap<u64, String> {
        self.deferred
            .into_iter()
            .filter(|(_, m)| !self.created.contains(m))
            .map(|(row, m)| {
                let name = self.names.get(&m).map_or("", |s| &**s);
                let text = format!(
                    "{MANAGER_UNRESOLVED}: manager {name} is not in the tenant and this run \
                     would not create it (it is terminated, invalid or absent in the source); \
                     the user would be written without it, and a later run links it once the \
                     manager exists"
                );
                (row, text)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planned(row: u64, id: &str, action: Action, outcome: Outcome) -> LedgerRow {
        LedgerRow::without_call(row, Some(id.into()), None, action, outcome, "h".into())
    }

    #[test]
    fn only_managers_the_run_would_not_create_are_warned_about() {
        let mut f = ManagerForecast::default();
        // Row 1's manager E3 is created later in the file; row 2's E4 is a
        // conflict (not created); row 5's E9 is nowhere.
        f.deferred(1, "E3");
        f.saw(&planned(1, "E1", Action::Create, Outcome::Skipped));
        f.deferred(2, "E4");
        f.saw(&planned(2, "E2", Action::Create, Outcome::Skipped));
        f.saw(&planned(3, "E3", Action::Create, Outcome::Skipped));
        f.saw(&planned(4, "E4", Action::Create, Outcome::Failed));
        f.deferred(5, "E9");
        let got = f.finish();
        let mut rows: Vec<u64> = got.keys().copied().collect();
        rows.sort_unstable();
        assert_eq!(rows, vec![2, 5]);
        assert!(
            got[&5].starts_with("manager_unresolved: manager E9 "),
            "{}",
            got[&5]
        );
    }
}
