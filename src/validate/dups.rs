//! In-file duplicate detection: rows sharing an externalId or a userName (as
//! mapped). Built from a first pass that collects `(key hash, row)` pairs (16 bytes
//! per key per row), sorted, then kept only for the rows that clash, so memory after
//! the pass is proportional to the duplicates. Keys are compared by a 64-bit hash:
//! a false clash needs a collision (about 3e-8 for a million rows).

use std::collections::HashMap;

use rayon::slice::ParallelSliceMut;

use super::RowError;
use crate::mapping::{Mapping, MatchKey, Target};

/// Most other rows named in one duplicate error.
const MAX_NAMED: usize = 5;

/// Collects key hashes during the first pass.
#[derive(Debug, Default)]
pub struct DupCollector {
    external_id: Vec<(u64, u64)>,
    user_name: Vec<(u64, u64)>,
}

/// The other rows each clashing row shares a key with.
#[derive(Debug, Default, Clone)]
pub struct Dups {
    by_row: HashMap<u64, Vec<(MatchKey, Vec<u64>, usize)>>,
}

impl DupCollector {
    /// Records `row`'s key hashes.
    pub fn push(&mut self, row: u64, external_id: Option<u64>, user_name: Option<u64>) {
        if let Some(h) = external_id {
            self.external_id.push((h, row));
        }
        if let Some(h) = user_name {
            self.user_name.push((h, row));
        }
    }

    /// Sorts and keeps only the clashes.
    pub fn finish(self) -> Dups {
        let mut by_row: HashMap<u64, Vec<(MatchKey, Vec<u64>, usize)>> = HashMap::new();
        for (key, mut v) in [
            (MatchKey::ExternalId, self.external_id),
            (MatchKey::UserName, self.user_name),
        ] {
            v.par_sort_unstable();
            let mut i = 0;
            while i < v.len() {
                let mut j = i + 1;
                while j < v.len() && v[j].0 == v[i].0 {
                    j += 1;
                }
                if j - i > 1 {
                    let rows: Vec<u64> = v[i..j].iter().map(|x| x.1).collect();
                    for &r in &rows {
                        let others: Vec<u64> = rows
                            .iter()
                            .copied()
                            .filter(|&o| o != r)
                            .take(MAX_NAMED)
                            .collect();
                        by_row
                            .entry(r)
                            .or_default()
                            .push((key, others, rows.len() - 1));
                    }
                }
                i = j;
            }
        }
        Dups { by_row }
    }
}

impl Dups {
    /// Number of rows that clash with another.
    pub fn len(&self) -> usize {
        self.by_row.len()
    }
    /// Whether no row clashes.
    pub fn is_empty(&self) -> bool {
        self.by_row.is_empty()
    }

    /// Adds `row`'s duplicate errors, naming the other rows.
    pub fn add_errors(
        &self,
        m: &Mapping,
        row: u64,
        value: [Option<&str>; 2],
        errors: &mut Vec<RowError>,
    ) {
        let Some(notes) = self.by_row.get(&row) else {
            return;
        };
        for (key, others, total) in notes {
            let (t, kind, name, v) = match key {
                MatchKey::ExternalId => (
                    Target::ExternalId,
                    "duplicate_external_id",
                    "externalId",
                    value[0],
                ),
                MatchKey::UserName => (
                    Target::UserName,
                    "duplicate_user_name",
                    "userName",
                    value[1],
                ),
            };
            let mut list: Vec<String> = others.iter().map(|r| r.to_string()).collect();
            if *total > others.len() {
                list.push(format!("and {} more", total - others.len()));
            }
            let rows = list.join(", ");
            let plural = if *total > 1 { "s" } else { "" };
            errors.push(RowError {
                row,
                column: m
                    .field(&t)
                    .map(|f| f.label.clone())
                    .filter(|l| !l.is_empty()),
                path: Some(t.path()),
                value: v.map(|v| crate::mapping::transform::shorten(v, 60)),
                kind,
                problem: format!("the same {name} is also on row{plural} {rows}"),
                fix: format!("give each user its own {name}, or remove the duplicate row"),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_rows_name_each_other() {
        let m = Mapping::from_toml_str(
            "[[field]]\npath=\"userName\"\ncolumn=\"e\"\n[[field]]\npath=\"displayName\"\ncolumn=\"n\"\n[[field]]\npath=\"externalId\"\ncolumn=\"id\"\n",
        )
        .unwrap();
        let mut c = DupCollector::default();
        c.push(1, Some(10), Some(100));
        c.push(2, Some(20), Some(200));
        c.push(3, Some(10), Some(300));
        c.push(4, Some(40), Some(300));
        c.push(5, None, Some(300));
        let d = c.finish();
        assert_eq!(d.len(), 4);
        let mut e = Vec::new();
        d.add_errors(&m, 1, [Some("A"), Some("a@x.com")], &mut e);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].kind, "duplicate_external_id");
        assert!(e[0].problem.contains("row 3"), "{}", e[0].problem);
        let mut e = Vec::new();
        d.add_errors(&m, 3, [Some("A"), Some("b@x.com")], &mut e);
        assert_eq!(e.len(), 2);
        assert!(e[0].problem.contains("row 1"));
        assert!(e[1].problem.contains("rows 4, 5"), "{}", e[1].problem);
        let mut e = Vec::new();
        d.add_errors(&m, 2, [None, None], &mut e);
        assert!(e.is_empty());
    }
}
