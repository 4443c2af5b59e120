//! Orders rows so that managers are created before the people who report to them.
//!
//! A manager is named by externalId and must exist before its id can be sent. When a
//! manager is itself a new row of the same run, creating it in an earlier wave (and
//! inserting the created user into the index) lets the report's POST carry the manager
//! at once, instead of a second PATCH later (`Plan::deferred`). That keeps creates at
//! one call per user. Pure.

use std::collections::HashMap;

use super::index::TenantIndex;
use crate::mapping::DesiredUser;

fn manager_ext(d: &DesiredUser) -> Option<&str> {
    d.user
        .enterprise
        .as_ref()?
        .manager
        .as_ref()
        .map(|m| m.value.as_str())
        .filter(|v| !v.is_empty())
}

/// The wave of each row (index-aligned with `rows`): 0 when its manager is absent,
/// already in the tenant, or not in this run; otherwise one more than its manager's
/// row. Process waves in order, inserting each wave's created users into the index
/// before planning the next. A manager cycle is broken at the row where it is found
/// (that row gets wave 0 and its manager is deferred).
pub fn manager_waves(rows: &[DesiredUser], idx: &TenantIndex) -> Vec<u32> {
    let by_ext: HashMap<&str, usize> = rows
        .iter()
        .enumerate()
        .filter_map(|(i, d)| d.external_id().filter(|e| !e.is_empty()).map(|e| (e, i)))
        .collect();
    // the row whose creation a row waits for, if any
    let parent: Vec<Option<usize>> = rows
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let m = manager_ext(d)?;
            if idx.id_by_external_id(m).is_some() {
                return None;
            }
            by_ext.get(m).copied().filter(|&j| j != i)
        })
        .collect();

    const UNSET: u32 = u32::MAX;
    let mut wave = vec![UNSET; rows.len()];
    let mut on_path = vec![false; rows.len()];
    for start in 0..rows.len() {
        if wave[start] != UNSET {
            continue;
        }
        // walk up the manager chain until a row with a known wave, a root or a cycle
        let mut path = Vec::new();
        let mut cur = start;
        let base = loop {
            if wave[cur] != UNSET {
                break wave[cur] + 1;
            }
            if on_path[cur] {
                // cycle: cut it at `cur`
                wave[cur] = 0;
                on_path[cur] = false;
                path.retain(|&p| p != cur);
                break 1;
            }
            on_path[cur] = true;
            path.push(cur);
            match parent[cur] {
                Some(p) => cur = p,
                None => break 0,
            }
        };
        // path holds the chain from `start` upward; assign from the top down
        let mut level = base;
        for &p in path.iter().rev() {
            if wave[p] == UNSET {
                wave[p] = level;
            }
            level = wave[p] + 1;
            on_path[p] = false;
        }
    }
    wave
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::model::{EnterpriseUser, ManagerRef, User};

    fn row(ext: &str, manager: Option<&str>) -> DesiredUser {
        DesiredUser {
            user: User {
                external_id: Some(ext.into()),
                enterprise: manager.map(|m| EnterpriseUser {
                    manager: Some(ManagerRef {
                        value: m.into(),
                        ..ManagerRef::default()
                    }),
                    ..EnterpriseUser::default()
                }),
                ..User::default()
            },
            ..DesiredUser::default()
        }
    }

    #[test]
    fn waves_table() {
        let mut idx = TenantIndex::new();
        idx.insert_user(User {
            id: Some("t".into()),
            external_id: Some("T".into()),
            ..User::default()
        });
        // (rows as (ext, manager), expected waves)
        type Case<'a> = (Vec<(&'a str, Option<&'a str>)>, Vec<u32>);
        let cases: Vec<Case> = vec![
            (vec![], vec![]),
            (vec![("A", None), ("B", Some("T"))], vec![0, 0]),
            // report listed before its manager, a chain of three
            (
                vec![("C", Some("B")), ("B", Some("A")), ("A", None)],
                vec![2, 1, 0],
            ),
            // manager in the tenant already: no wait even if also in the run
            (vec![("T", None), ("X", Some("T"))], vec![0, 0]),
            // manager nowhere: wave 0 (deferred)
            (vec![("X", Some("NOPE"))], vec![0]),
            // self-managed
            (vec![("S", Some("S"))], vec![0]),
            // cycle A->B->A cut at A (found first), with C under A
            (
                vec![("A", Some("B")), ("B", Some("A")), ("C", Some("A"))],
                vec![0, 1, 1],
            ),
            // siblings share a manager
            (
                vec![("M", None), ("R1", Some("M")), ("R2", Some("M"))],
                vec![0, 1, 1],
            ),
        ];
        for (i, (spec, expect)) in cases.into_iter().enumerate() {
            let rows: Vec<DesiredUser> = spec.iter().map(|(e, m)| row(e, *m)).collect();
            assert_eq!(manager_waves(&rows, &idx), expect, "case {i}");
        }
    }

    proptest::proptest! {
        #[test]
        fn managers_come_first(managers in proptest::collection::vec(proptest::option::of(0usize..40), 0..40)) {
            let rows: Vec<DesiredUser> = managers
                .iter()
                .enumerate()
                .map(|(i, m)| row(&format!("E{i}"), m.map(|m| format!("E{m}")).as_deref()))
                .collect();
            let waves = manager_waves(&rows, &TenantIndex::new());
            proptest::prop_assert_eq!(waves.len(), rows.len());
            let n = rows.len();
            let parent = |i: usize| managers[i].filter(|&m| m < n && m != i);
            for i in 0..n {
                proptest::prop_assert!((waves[i] as usize) < n);
                if let Some(m) = parent(i)
                    && waves[i] <= waves[m]
                {
                    // only a cycle cut may not wait for its manager: wave 0, on a cycle
                    proptest::prop_assert_eq!(waves[i], 0);
                    let mut cur = m;
                    let mut on_cycle = false;
                    for _ in 0..n {
                        if cur == i {
                            on_cycle = true;
                            break;
                        }
                        match parent(cur) {
                            Some(p) => cur = p,
                            None => break,
                        }
                    }
                    proptest::prop_assert!(on_cycle, "row {} cut without a cycle", i);
                }
            }
        }
    }

    #[test]
    fn long_chain_needs_no_recursion() {
        let n = 50_000;
        let rows: Vec<DesiredUser> = (0..n)
            .map(|i| {
                let m = (i > 0).then(|| format!("E{}", i - 1));
                row(&format!("E{i}"), m.as_deref())
            })
            .collect();
        let waves = manager_waves(&rows, &TenantIndex::new());
        assert_eq!(waves[0], 0);
        assert_eq!(waves[n - 1], (n - 1) as u32);
    }
}
