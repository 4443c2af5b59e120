//! Safety (issue 16): a source that is empty, cut short or a third smaller is
//! refused before any write (exit 4); too many leavers are held (exit 4) while
//! the creates and updates go ahead; `--absent-runs` waits. Each case ends with
//! no user deactivated.

use super::{Bench, csv, people, tally};

/// Users the tenant holds inactive.
fn inactive(b: &Bench) -> usize {
    b.tenant().values().filter(|(_, active, _)| !active).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_16_empty_truncated_and_shrunken_sources_are_refused_before_any_write() {
    let b = Bench::new().await;
    let staff = people(30);
    b.source(&csv(&staff));
    assert_eq!(b.sync(&[]).code(), Some(0));

    // Empty: the header only.
    b.source(&format!("{}\n", super::HEADER));
    b.reset_requests();
    let r = b.sync(&[]);
    assert_eq!(r.code(), Some(4), "{}", r.text());
    assert!(r.text().contains("empty"), "{}", r.text());
    assert!(b.requests().is_empty(), "{:?}", b.requests());

    // Cut short in the middle of a record.
    let full = csv(&staff);
    let cut = &full[..full.len() - 25];
    assert!(!cut.ends_with('\n'));
    b.source(cut);
    let r = b.sync(&[]);
    assert_eq!(r.code(), Some(4), "{}", r.text());
    assert!(r.text().contains("cut short"), "{}", r.text());
    assert!(b.requests().is_empty(), "{:?}", b.requests());

    // A third smaller.
    b.source(&csv(&staff[..20]));
    let r = b.sync(&[]);
    assert_eq!(r.code(), Some(4), "{}", r.text());
    assert!(r.text().contains("--max-shrink"), "{}", r.text());
    assert!(b.requests().is_empty(), "{:?}", b.requests());
    assert_eq!(inactive(&b), 0);
    assert!(r.run.is_none(), "a refused sync leaves no run");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_16_too_many_leavers_are_held_until_allowed_with_a_reason() {
    let b = Bench::new().await;
    let staff = people(40);
    b.source(&csv(&staff));
    assert_eq!(b.sync(&[]).code(), Some(0));

    // 12 leave (more than max(10, 5% of 40)) and one title changes.
    let mut now: Vec<_> = staff[..28].to_vec();
    now[3].title = "Coach".into();
    b.source(&csv(&now));
    let metrics = b.dir.path().join("sync-metrics.json");
    let m = metrics.display().to_string();
    let r = b.sync(&["--max-shrink", "50", "--metrics-file", &m]);
    assert_eq!(r.code(), Some(4), "{}", r.text());
    let v = crate::common::read_json(&metrics);
    assert_eq!(v["sync_deactivations_held"], 1.0, "{v}");
    assert_eq!(v["run_success"], 0.0, "a held sync is not a success: {v}");
    assert!(
        r.text().contains("--allow-mass-deactivation"),
        "{}",
        r.text()
    );
    let rows = r.ledger();
    let held: Vec<_> = rows
        .iter()
        .filter(|l| l.error_kind.map(|k| k.as_str()) == Some("guard_held"))
        .collect();
    assert_eq!(held.len(), 12, "{:?}", tally(&rows));
    assert!(
        held.iter()
            .all(|l| l.action.as_str() == "deactivate" && l.outcome.as_str() == "skipped")
    );
    assert_eq!(inactive(&b), 0, "nobody deactivated");
    assert_eq!(
        b.tenant()["P0004"].2.as_deref(),
        Some("Coach"),
        "updates went ahead"
    );

    let r = b.sync(&[
        "--max-shrink",
        "50",
        "--allow-mass-deactivation",
        "--reason",
        "closing the Lisbon site",
    ]);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert_eq!(inactive(&b), 12);
    let audit =
        std::fs::read_to_string(r.run.clone().expect("run").join("audit.jsonl")).expect("audit");
    assert!(
        audit.contains("closing the Lisbon site"),
        "the reason is in the audit log"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_16_absent_runs_waits_before_deactivating() {
    let b = Bench::new().await;
    let staff = people(20);
    b.source(&csv(&staff));
    assert_eq!(b.sync(&["--absent-runs", "2"]).code(), Some(0));
    b.source(&csv(&staff[1..]));
    let r = b.sync(&["--absent-runs", "2"]);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert_eq!(inactive(&b), 0, "missing once: waiting");
    assert!(
        r.text().contains("waiting for --absent-runs 2: 1"),
        "{}",
        r.text()
    );
    let r = b.sync(&["--absent-runs", "2"]);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert_eq!(inactive(&b), 1, "missing twice: deactivated");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_16_a_dry_run_shows_the_plan_and_changes_nothing() {
    let b = Bench::new().await;
    let staff = people(20);
    b.source(&csv(&staff));
    assert_eq!(b.sync(&[]).code(), Some(0));
    b.source(&csv(&staff[2..]));
    b.reset_requests();
    let r = b.sync(&["--dry-run"]);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert!(b.requests().is_empty(), "{:?}", b.requests());
    let plan = crate::common::plan_users(&r.run.clone().expect("run").join("plan.parquet"));
    assert_eq!(
        plan.iter()
            .filter(|u| u.action == scimport::model::Action::Deactivate && u.row.is_none())
            .count(),
        2,
        "{plan:?}"
    );
    assert_eq!(inactive(&b), 0);
    // The state did not move: the real run still deactivates both.
    let r = b.sync(&[]);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert_eq!(inactive(&b), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_16_a_state_in_use_or_damaged_stops_the_sync_before_any_call() {
    let b = Bench::new().await;
    let staff = people(5);
    b.source(&csv(&staff));
    assert_eq!(b.sync(&[]).code(), Some(0));
    let state = std::fs::read_dir(b.runs().join("sync-state"))
        .expect("state dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .expect("state file");

    // Another sync of the target holds the state.
    let held = scimport::sync::StateLock::acquire(&state).expect("lock");
    b.reset_requests();
    let r = b.sync(&[]);
    assert_eq!(r.code(), Some(2), "{}", r.text());
    assert!(
        r.text().contains("in use by another scimport sync"),
        "{}",
        r.text()
    );
    assert!(b.requests().is_empty(), "{:?}", b.requests());
    drop(held);

    // A damaged state: named, with what to do.
    let text = std::fs::read_to_string(&state).expect("state");
    std::fs::write(&state, format!("{text}{{not json\n")).expect("damage");
    let r = b.sync(&[]);
    assert_eq!(r.code(), Some(2), "{}", r.text());
    assert!(
        r.text().contains("damaged") && r.text().contains("--full"),
        "{}",
        r.text()
    );
    assert!(b.requests().is_empty(), "{:?}", b.requests());
    assert_eq!(inactive(&b), 0);
}
