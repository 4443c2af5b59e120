//! Dry runs over the real binary against the emulator: nothing written to the
//! tenant, one ledger row per input row in input order (also with concurrent
//! lookups), the plan of every create, and a writer that keeps up.

use scimport::emulator::{EmulatorConfig, spawn};
use scimport::ledger::{Outcome, read_ledger};

use crate::common::{self, hr_rows, read_json, write_csv};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_sends_no_write_and_writes_a_ledger() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let csv = write_csv(tmp.path(), "hr.csv", &hr_rows(20));
    let before = emu.stats();
    let out = crate::import::import(
        &emu,
        &runs,
        &[
            csv.to_str().unwrap(),
            "--mapping",
            "fixtures/mapping.toml",
            "--dry-run",
        ],
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("would create 20"), "{stdout}");
    let after = emu.stats();
    // (the only POST a dry run sends is for its token)
    assert!(emu.users().is_empty(), "a dry run created users");
    for m in ["PATCH", "PUT", "DELETE"] {
        assert_eq!(
            after.requests.get(m),
            before.requests.get(m),
            "{m} sent in a dry run"
        );
    }
    let dir = common::last_run(&runs);
    let ledger = read_ledger(&dir.join("ledger.parquet")).unwrap();
    assert_eq!(ledger.len(), 20);
    assert!(
        ledger
            .iter()
            .all(|r| r.action.as_str() == "create" && r.outcome == Outcome::Skipped)
    );
    let plan = common::plan_users(&dir.join("plan.parquet"));
    assert_eq!(plan.len(), 20);
    assert!(plan.iter().all(|u| {
        u.body
            .as_deref()
            .is_some_and(|b| b.contains("\"userName\""))
    }));
}

/// A dry run whose rows finish out of order (per-row lookups run as concurrent
/// tasks): the writer thread still writes one ledger row per input row, in input
/// order, read back by pyarrow and DuckDB; summary.json agrees and the audit log,
/// one decision per row, verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_with_concurrent_lookups_writes_its_ledger_in_input_order() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let total = 600u64;
    let csv = write_csv(tmp.path(), "hr.csv", &hr_rows(total as usize));
    let out = crate::import::import(
        &emu,
        &runs,
        &[
            csv.to_str().unwrap(),
            "--mapping",
            "fixtures/mapping.toml",
            "--dry-run",
            "--lookup",
            "filter",
            "--concurrency",
            "8",
        ],
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = common::last_run(&runs);
    let got = crate::ledger::read_with_python(&dir.join("ledger.parquet"));
    assert_eq!(got["pyarrow"]["rows"].as_u64(), Some(total));
    assert_eq!(got["pyarrow"]["distinct_rows"].as_u64(), Some(total));
    assert_eq!(got["pyarrow"]["sorted"], true);
    assert_eq!(got["duckdb"]["rows"].as_u64(), Some(total));
    let summary = read_json(&dir.join("summary.json"));
    assert_eq!(summary["rows"].as_u64(), Some(total));
    assert_eq!(summary["outcomes"]["skipped"].as_u64(), Some(total));
    assert!(
        summary["writer_cpu_seconds"].as_f64().is_some(),
        "{summary}"
    );
    // Waits for the writer count once however many workers wait at a time.
    let (sink, seconds) = (
        summary["sink_seconds"].as_f64().expect("sink_seconds"),
        summary["seconds"].as_f64().expect("seconds"),
    );
    assert!(sink <= seconds, "sink_seconds {sink} > seconds {seconds}");
    let audit = dir.join("audit.jsonl");
    assert!(scimport::audit::verify(&audit).expect("verify").is_intact());
    let decisions: Vec<u64> = scimport::audit::read_events(&audit)
        .expect("events")
        .iter()
        .filter(|e| e.kind == scimport::audit::EventKind::Decision)
        .filter_map(|e| e.row)
        .collect();
    let mut sorted = decisions.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (1..=total).collect::<Vec<_>>());
}
