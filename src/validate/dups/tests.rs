//! Tests of the bounded duplicate pass: the spilled path gives exactly the
//! in-memory result, spills happen and leave no file behind, I/O errors surface.

use std::collections::HashMap;
use std::path::Path;

use proptest::prelude::*;

use super::*;
use crate::mapping::{Mapping, MatchKey};
use crate::model::ErrorKind;

/// A collector that never spills.
fn unbounded() -> DupCollector {
    DupCollector::with_budget(usize::MAX)
}

fn mapping() -> Mapping {
    Mapping::from_toml_str(
        "[[field]]\npath=\"userName\"\ncolumn=\"e\"\n[[field]]\npath=\"displayName\"\ncolumn=\"n\"\n[[field]]\npath=\"externalId\"\ncolumn=\"id\"\n",
    )
    .unwrap()
}

type Stream = Vec<(u64, Option<u64>, Option<u64>)>;

fn collect(mut c: DupCollector, stream: &Stream) -> (Dups, usize) {
    for &(row, e, u) in stream {
        c.push(row, e, u).unwrap();
    }
    let runs = c.spilled_runs();
    (c.finish().unwrap(), runs)
}

/// The clashes as the original all-in-memory algorithm computed them: per key,
/// every group of rows sharing a hash, each row naming up to MAX_NAMED others
/// (ascending) and the number of others. Rows must be distinct.
fn reference(stream: &Stream) -> HashMap<u64, Vec<(MatchKey, Vec<u64>, u64)>> {
    let mut by_row: HashMap<u64, Vec<(MatchKey, Vec<u64>, u64)>> = HashMap::new();
    for key in [MatchKey::ExternalId, MatchKey::UserName] {
        let mut groups: HashMap<u64, Vec<u64>> = HashMap::new();
        for &(row, e, u) in stream {
            let h = match key {
                MatchKey::ExternalId => e,
                MatchKey::UserName => u,
            };
            if let Some(h) = h {
                groups.entry(h).or_default().push(row);
            }
        }
        let mut groups: Vec<(u64, Vec<u64>)> = groups.into_iter().collect();
        groups.sort();
        for (_, mut rows) in groups {
            rows.sort_unstable();
            if rows.len() < 2 {
                continue;
            }
            for &r in &rows {
                let others = rows
                    .iter()
                    .copied()
                    .filter(|&o| o != r)
                    .take(MAX_NAMED)
                    .collect();
                by_row
                    .entry(r)
                    .or_default()
                    .push((key, others, rows.len() as u64 - 1));
            }
        }
    }
    by_row
}

/// Open files of this process under `dir` (anonymous ones included, as
/// `/proc/self/fd` still names them).
#[cfg(target_os = "linux")]
fn open_files_in(dir: &Path) -> usize {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|t| t.starts_with(dir))
        .count()
}

#[test]
fn both_rows_name_each_other() {
    let m = mapping();
    for c in [unbounded(), DupCollector::with_budget(32)] {
        let stream = vec![
            (1, Some(10), Some(100)),
            (2, Some(20), Some(200)),
            (3, Some(10), Some(300)),
            (4, Some(40), Some(300)),
            (5, None, Some(300)),
        ];
        let (d, _) = collect(c, &stream);
        assert_eq!(d.len(), 4);
        let mut e = Vec::new();
        d.add_errors(&m, 1, [Some("A"), Some("a@x.com")], &mut e);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].kind, ErrorKind::DuplicateExternalId);
        assert_eq!(e[0].problem, "the same externalId is also on row 3");
        let mut e = Vec::new();
        d.add_errors(&m, 3, [Some("A"), Some("b@x.com")], &mut e);
        assert_eq!(e.len(), 2);
        assert!(e[0].problem.contains("row 1"));
        assert_eq!(e[1].kind, ErrorKind::DuplicateUserName);
        assert_eq!(e[1].problem, "the same userName is also on rows 4, 5");
        assert_eq!(e[1].column.as_deref(), Some("e"));
        let mut e = Vec::new();
        d.add_errors(&m, 2, [None, None], &mut e);
        assert!(e.is_empty());
    }
}

#[test]
fn a_big_group_names_five_and_counts_the_rest() {
    let m = mapping();
    let stream: Stream = (1..=9).map(|r| (r, None, Some(7))).collect();
    for c in [unbounded(), DupCollector::with_budget(48)] {
        let (d, _) = collect(c, &stream);
        assert_eq!(d.len(), 9);
        let mut e = Vec::new();
        d.add_errors(&m, 4, [None, Some("x@y.z")], &mut e);
        assert_eq!(
            e[0].problem,
            "the same userName is also on rows 1, 2, 3, 5, 6, and 3 more"
        );
    }
}

#[test]
fn the_same_value_in_both_keys_is_not_a_clash() {
    // Row 1's externalId hashes like row 2's userName: different keys.
    let (d, _) = collect(unbounded(), &vec![(1, Some(5), None), (2, None, Some(5))]);
    assert!(d.is_empty());
}

#[test]
fn a_spill_happens_and_leaves_no_file() {
    let tmp = tempfile::tempdir().unwrap();
    let mut c = DupCollector::with_budget(64).in_dir(tmp.path());
    for r in 1..=100u64 {
        c.push(r, Some(r % 7), Some(1000 + r)).unwrap();
    }
    assert!(c.spilled_runs() >= 40, "{} runs", c.spilled_runs());
    #[cfg(target_os = "linux")]
    assert_eq!(open_files_in(tmp.path()), 1, "one spill file, open");
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "no name visible"
    );
    let d = c.finish().unwrap();
    assert_eq!(d.len(), 100, "every row shares its externalId");
    #[cfg(target_os = "linux")]
    assert_eq!(open_files_in(tmp.path()), 0, "gone after finish");

    // Dropped without finishing (e.g. the run failed): gone too.
    let mut c = DupCollector::with_budget(16).in_dir(tmp.path());
    for r in 1..=10u64 {
        c.push(r, Some(r), None).unwrap();
    }
    assert!(c.spilled_runs() > 0);
    drop(c);
    #[cfg(target_os = "linux")]
    assert_eq!(open_files_in(tmp.path()), 0, "gone after drop");
}

#[test]
fn a_small_input_never_touches_a_file() {
    let missing = Path::new("/nonexistent/scimport-dups-test");
    let mut c = DupCollector::default().in_dir(missing);
    // 100,000 pairs: the buffer grows past its first reservation, still in budget.
    for r in 1..=50_000u64 {
        c.push(r, Some(r), Some(r.div_ceil(2))).unwrap();
    }
    assert_eq!(c.spilled_runs(), 0);
    assert_eq!(c.finish().unwrap().len(), 50_000);
}

#[test]
fn a_failing_temp_dir_is_an_error_not_a_panic() {
    let missing = Path::new("/nonexistent/scimport-dups-test");
    let mut c = DupCollector::with_budget(16).in_dir(missing);
    c.push(1, Some(1), None).unwrap();
    let err = c.push(2, Some(1), None).unwrap_err();
    let DupError::Spill { dir, .. } = &err;
    assert_eq!(dir, missing);
    assert!(
        err.to_string()
            .starts_with("cannot use a temporary file in /nonexistent/scimport-dups-test: "),
        "{err}"
    );
}

#[test]
fn from_env_reads_the_budget() {
    // Only checks parsing of an unset variable here (tests share the process
    // environment); the end-to-end test in tests/it/validate.rs sets it.
    if std::env::var_os(MEMORY_ENV).is_none() {
        assert_eq!(DupCollector::from_env().budget, DEFAULT_MEMORY_BYTES);
    }
}

/// Random streams: rows 1..=n (some repeated, as an explicit row column allows),
/// keys drawn from a small set so that groups form, some keys missing.
fn stream(distinct_rows: bool) -> impl Strategy<Value = Stream> {
    (1usize..300, 1u64..40).prop_flat_map(move |(n, keys)| {
        let row = if distinct_rows {
            Just(0u64).boxed()
        } else {
            (0u64..3).boxed()
        };
        prop::collection::vec(
            (
                row,
                prop::option::weighted(0.8, 0..keys),
                prop::option::weighted(0.8, 0..keys),
            ),
            n,
        )
        .prop_map(move |v| {
            v.into_iter()
                .enumerate()
                .map(|(i, (dup, e, u))| {
                    // A repeated row reuses an earlier number.
                    let row = if dup == 0 || i == 0 {
                        i as u64 + 1
                    } else {
                        i as u64
                    };
                    // Spread the hashes over the whole u64 range, top bit included.
                    let spread = |k: u64| k.wrapping_mul(0x9E37_79B9_7F4A_7C15);
                    (row, e.map(spread), u.map(spread))
                })
                .collect()
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn spilling_gives_exactly_the_in_memory_result(
        s in stream(false),
        budget in 1usize..2048,
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let (want, none) = collect(unbounded(), &s);
        prop_assert_eq!(none, 0);
        let (got, runs) = collect(DupCollector::with_budget(budget).in_dir(tmp.path()), &s);
        let pairs: usize = s.iter().map(|x| usize::from(x.1.is_some()) + usize::from(x.2.is_some())).sum();
        let cap = (budget / PAIR_BYTES).max(1);
        prop_assert_eq!(runs > 0, pairs > cap, "runs {} pairs {} cap {}", runs, pairs, cap);
        prop_assert_eq!(got, want);
        #[cfg(target_os = "linux")]
        prop_assert_eq!(open_files_in(tmp.path()), 0);
    }

    #[test]
    fn clashes_match_the_original_algorithm(
        s in stream(true),
        budget in 1usize..2048,
    ) {
        let want = reference(&s);
        let (d, _) = collect(DupCollector::with_budget(budget), &s);
        prop_assert_eq!(d.len(), want.len());
        for &(row, _, _) in &s {
            let got: Vec<_> = d.clashes(row).collect();
            let w = want.get(&row).cloned().unwrap_or_default();
            prop_assert_eq!(got, w, "row {}", row);
        }
    }
}
