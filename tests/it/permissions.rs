//! Issue 15, permissions end to end: the real binary against an emulator whose OAuth
//! client lacks a permission. A missing permission every call needs stops the run
//! (exit 3, as an open circuit) naming it; one that only some rows need fails just
//! those rows, naming it in their error.

use scimport::emulator::{EmulatorConfig, spawn};

use crate::common::{hr_rows, last_run, read_json, write_csv};
use crate::import::import;

fn denying(perm: &str) -> EmulatorConfig {
    EmulatorConfig {
        deny: vec![perm.to_string()],
        ..EmulatorConfig::for_tests()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_15_missing_user_add_stops_the_run_naming_it() {
    let emu = spawn(denying("directory:user:add"))
        .await
        .expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let csv = write_csv(tmp.path(), "hr.csv", &hr_rows(30));
    let out = import(
        &emu,
        &runs,
        &[csv.to_str().unwrap(), "--mapping", "fixtures/mapping.toml"],
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "stderr: {stderr}");
    let s = read_json(&last_run(&runs).join("summary.json"));
    let stopped = s["stopped"].as_str().unwrap_or_default();
    assert!(stopped.contains("directory:user:add"), "{s}");
    assert!(emu.users().is_empty());
    // The circuit stops the run: not one POST per row.
    assert!(s["calls"]["post"].as_u64().unwrap_or(0) < 30, "{s}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_15_missing_skill_assign_fails_only_rows_with_skills() {
    let emu = spawn(denying("routing:skill:assign"))
        .await
        .expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    // Even rows keep their skills; odd rows have none (ten rows: none has a manager,
    // so no row fails only because its manager's row did).
    let rows: Vec<String> = hr_rows(10)
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            if i % 2 == 0 {
                return r;
            }
            let mut f: Vec<&str> = r.split(',').collect();
            f[13] = "";
            f.join(",")
        })
        .collect();
    let csv = write_csv(tmp.path(), "hr.csv", &rows);
    let out = import(
        &emu,
        &runs,
        &[csv.to_str().unwrap(), "--mapping", "fixtures/mapping.toml"],
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    let s = read_json(&last_run(&runs).join("summary.json"));
    assert!(s["stopped"].is_null(), "{s}");
    assert_eq!(emu.users().len(), 5, "{s}");
    let failed = std::fs::read_to_string(last_run(&runs).join("failed.csv")).unwrap();
    let lines: Vec<&str> = failed.lines().skip(1).collect();
    assert_eq!(lines.len(), 5, "{failed}");
    for l in lines {
        assert!(l.contains("missing permission routing:skill:assign"), "{l}");
        assert!(
            l.contains("Billing")
                || l.contains("Technical Support")
                || l.contains("Retention")
                || l.contains("Claims"),
            "{l}"
        );
    }
}
