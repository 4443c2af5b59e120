//! Predicts, from the file alone, the users an import would create without their
//! manager (`manager_unresolved`): a valid row whose manager's row is invalid,
//! terminated (inactive), or absent from the file. Such a row is still valid (the
//! user is created, and a later run links the manager once it exists), so this is
//! a warning, never an error; an absent manager may already be in the tenant, which
//! `validate` does not read, and the warning says so.
//!
//! Rows are observed as the pipeline prepares them, from any worker thread and in
//! any order, and possibly twice (the second pass of a file with duplicates): the
//! verdict is taken once every row has been seen. Memory: a hash per key and per
//! manager reference, and each distinct manager id once.

use std::collections::{HashMap, HashSet};

use parking_lot::Mutex;

use super::Prepared;
use crate::mapping::hash64;

/// What a row says of the person its externalId names. Ordered: the best verdict
/// over the rows that carry an id wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Seen {
    Invalid,
    Terminated,
    Active,
}

/// Why a manager will not be linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// The manager's row is invalid: it is not created.
    Invalid,
    /// The manager is inactive in the source: it is not created.
    Terminated,
    /// No row of the file has the manager's externalId.
    Absent,
}

/// A user an import would create without its manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    /// The row of the user.
    pub row: u64,
    /// The manager's externalId, as the row names it.
    pub manager: String,
    /// Why the manager will not be there.
    pub why: Why,
}

impl std::fmt::Display for Unresolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (m, row) = (&self.manager, self.row);
        match self.why {
            Why::Invalid => write!(
                f,
                "row {row}: manager {m}'s row is invalid, so the user is created without its manager; fix that row"
            ),
            Why::Terminated => write!(
                f,
                "row {row}: manager {m} is terminated in the source; unless it is in the tenant already, the user is created without its manager"
            ),
            Why::Absent => write!(
                f,
                "row {row}: manager {m} is not in the file; unless it is in the tenant already, the user is created without its manager"
            ),
        }
    }
}

#[derive(Debug, Default)]
struct Inner {
    /// Per externalId hash: the best verdict seen and the row that gave it.
    ids: HashMap<u64, (u64, Seen)>,
    /// (row, manager hash) of the valid rows that name a manager other than
    /// themselves.
    refs: Vec<(u64, u64)>,
    /// Rows found invalid (a row valid in a first pass may not be in the second).
    invalid_rows: HashSet<u64>,
    names: HashMap<u64, Box<str>>,
}

/// Collects what the prediction needs while rows are prepared.
#[derive(Debug, Default)]
pub struct ManagerCheck {
    inner: Mutex<Inner>,
}

impl ManagerCheck {
    /// A check with nothing seen.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes in one prepared row (any thread, any order).
    pub fn observe(&self, p: &Prepared) {
        match &p.result {
            Ok(d) => {
                let seen = if d.user.active == Some(false) {
                    Seen::Terminated
                } else {
                    Seen::Active
                };
                let id = d.external_id();
                let manager = d.manager().filter(|m| Some(*m) != id);
                let mut inner = self.inner.lock();
                if let Some(id) = id {
                    let e = inner.ids.entry(hash64(id)).or_insert((d.row, seen));
                    if e.0 == d.row || seen > e.1 {
                        *e = (d.row, seen);
                    }
                }
                if let Some(m) = manager {
                    let h = hash64(m);
                    inner.refs.push((d.row, h));
                    inner.names.entry(h).or_insert_with(|| m.into());
                }
            }
            Err(_) => {
                let mut inner = self.inner.lock();
                inner.invalid_rows.insert(p.record.row);
                if let Some(id) = &p.keys.external_id {
                    let row = p.record.row;
                    let e = inner.ids.entry(hash64(id)).or_insert((row, Seen::Invalid));
                    if e.0 == row {
                        e.1 = Seen::Invalid;
                    }
                }
            }
        }
    }

    /// The users that would be created without their manager, by row.
    pub fn finish(self) -> Vec<Unresolved> {
        let mut inner = self.inner.into_inner();
        inner.refs.sort_unstable();
        inner.refs.dedup();
        let mut out = Vec::new();
        for (row, m) in &inner.refs {
            if inner.invalid_rows.contains(row) {
                continue;
            }
            // A row valid in a first pass and found invalid in the second is
            // invalid.
            let seen = inner.ids.get(m).map(|(r, seen)| {
                if inner.invalid_rows.contains(r) {
                    Seen::Invalid
                } else {
                    *seen
                }
            });
            let why = match seen {
                Some(Seen::Active) => continue,
                Some(Seen::Terminated) => Why::Terminated,
                Some(Seen::Invalid) => Why::Invalid,
                None => Why::Absent,
            };
            let manager = inner
                .names
                .get(m)
                .map(|s| s.to_string())
                .unwrap_or_default();
            out.push(Unresolved {
                row: *row,
                manager,
                why,
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::DesiredUser;
    use crate::scim::model::{EnterpriseUser, ManagerRef};
    use crate::source::Record;

    fn valid(row: u64, id: &str, manager: Option<&str>, active: bool) -> Prepared {
        let mut d = DesiredUser {
            row,
            ..DesiredUser::default()
        };
        d.user.external_id = Some(id.into());
        d.user.active = Some(active);
        if let Some(m) = manager {
            d.user.enterprise = Some(EnterpriseUser {
                manager: Some(ManagerRef {
                    value: m.into(),
                    ..ManagerRef::default()
                }),
                ..EnterpriseUser::default()
            });
        }
        Prepared {
            record: Record {
                row,
                fields: Vec::new(),
            },
            result: Ok(d),
            keys: Default::default(),
        }
    }

    fn invalid(row: u64, id: &str) -> Prepared {
        Prepared {
            record: Record {
                row,
                fields: Vec::new(),
            },
            result: Err(Vec::new()),
            keys: crate::validate::Keys {
                external_id: Some(id.into()),
                user_name: None,
            },
        }
    }

    #[test]
    fn each_reason_is_found_whatever_the_order_and_active_managers_are_not() {
        let check = ManagerCheck::new();
        // Rows seen out of order, managers after their reports.
        for p in [
            valid(5, "E5", Some("E1"), true),    // E1 active: fine
            valid(6, "E6", Some("E2"), true),    // E2 terminated
            valid(7, "E7", Some("E3"), true),    // E3 invalid
            valid(8, "E8", Some("E9"), true),    // E9 absent
            valid(9, "E4", Some("E4"), true),    // self: ignored
            valid(10, "E10", Some("E2"), false), // a terminated report: still warned
            valid(1, "E1", None, true),
            valid(2, "E2", None, false),
            invalid(3, "E3"),
        ] {
            check.observe(&p);
        }
        let got: Vec<(u64, String, Why)> = check
            .finish()
            .into_iter()
            .map(|u| (u.row, u.manager, u.why))
            .collect();
        assert_eq!(
            got,
            vec![
                (6, "E2".into(), Why::Terminated),
                (7, "E3".into(), Why::Invalid),
                (8, "E9".into(), Why::Absent),
                (10, "E2".into(), Why::Terminated),
            ]
        );
    }

    #[test]
    fn a_second_pass_neither_doubles_nor_keeps_rows_found_invalid() {
        let check = ManagerCheck::new();
        check.observe(&valid(2, "E2", Some("E9"), true));
        check.observe(&valid(3, "E3", Some("E9"), true));
        check.observe(&valid(4, "E9", None, true));
        check.observe(&valid(5, "E5", Some("E4"), true));
        // Second pass: row 2 again (valid), rows 3 and 4 now invalid (duplicates).
        check.observe(&valid(2, "E2", Some("E9"), true));
        check.observe(&invalid(3, "E3"));
        check.observe(&invalid(4, "E9"));
        let got: Vec<(u64, Why)> = check.finish().iter().map(|u| (u.row, u.why)).collect();
        assert_eq!(got, vec![(2, Why::Invalid), (5, Why::Absent)]);
    }

    #[test]
    fn a_manager_active_on_any_row_counts_as_there() {
        let check = ManagerCheck::new();
        check.observe(&invalid(1, "E1"));
        check.observe(&valid(2, "E1", None, true));
        check.observe(&valid(3, "E3", Some("E1"), true));
        assert!(check.finish().is_empty());
    }
}
