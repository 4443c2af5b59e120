//! Issue 19: what a run prints and records: invalid rows named (9), leavers never
//! created counted apart (11), call counts that add up (14), a readable dry run
//! (6), validate counting rows like the ledger (12), latency apart from waiting
//! (14).

use super::{embedded, show};

/// Item 9: an invalid row's ledger row (and `ledger failed`) names the person:
/// the externalId and userName its mapping produced.
#[test]
fn issue_19_invalid_rows_keep_their_external_id_and_user_name() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let out = embedded(&[
        "import",
        "fixtures/hr_export.csv",
        "--mapping",
        "fixtures/mapping.toml",
        "--runs-dir",
        runs.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    calls_add_up(&String::from_utf8_lossy(&out.stdout));
    let dir = std::fs::read_dir(&runs)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.is_dir())
        .expect("run dir");
    // Item 11: the 10 terminated people who never existed in the (empty) tenant
    // are not "unchanged".
    let summary = crate::common::read_json(&dir.join("summary.json"));
    assert_eq!(summary["done"]["unchanged"], 0, "{summary}");
    assert_eq!(summary["done"]["inactive_absent"], 10, "{summary}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("(not created): 10"),
        "{}",
        show(&out)
    );
    let rows = scimport::ledger::read_ledger(&dir.join("ledger.parquet")).expect("ledger");
    let invalid: Vec<_> = rows
        .iter()
        .filter(|r| r.outcome == scimport::ledger::Outcome::Invalid)
        .collect();
    assert!(invalid.len() >= 10, "{}", invalid.len());
    let row12 = invalid
        .iter()
        .find(|r| r.row == 12)
        .expect("row 12 is invalid");
    assert_eq!(row12.external_id.as_deref(), Some("E100012"));
    assert_eq!(row12.user_name.as_deref(), Some("maria.gomez@@example.com"));
    // Every invalid row whose mapping produced an externalId has it.
    let named = invalid.iter().filter(|r| r.external_id.is_some()).count();
    assert_eq!(named, invalid.len(), "{invalid:#?}");

    let failed = embedded(&[
        "ledger",
        "failed",
        "latest",
        "--runs-dir",
        runs.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&failed.stdout);
    assert!(
        text.lines()
            .any(|l| l.starts_with("12\tE100012\tmaria.gomez@@example.com\tinvalid_email")),
        "{text}"
    );
}

/// Item 14: the printed call count is the sum of the counts in its parentheses
/// (the token requests said apart), and latencies carry at most one decimal.
fn calls_add_up(stdout: &str) {
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("calls: "))
        .unwrap_or_else(|| panic!("no calls line in {stdout}"));
    let (total, rest) = line.split_once(" (").expect("calls: N (...)");
    let inside = rest.split_once(')').expect("closing parenthesis").0;
    let sum: u64 = inside
        .split(", ")
        .map(|p| {
            p.split_once(' ')
                .expect("N METHOD")
                .0
                .parse::<u64>()
                .expect("a count")
        })
        .sum();
    assert_eq!(total.parse::<u64>().expect("total"), sum, "{line}");
    assert!(!inside.contains("token"), "{line}");
    assert!(line.contains("plus 1 token request"), "{line}");
    let latency = stdout
        .lines()
        .find(|l| l.starts_with("latency per call:"))
        .expect("latency line");
    for part in latency.split(", ") {
        let number = part
            .trim_end_matches(" ms")
            .rsplit(' ')
            .next()
            .unwrap_or("");
        let decimals = number.split_once('.').map_or(0, |(_, d)| d.len());
        assert!(decimals <= 1, "{latency}");
    }
}

/// Item 6: a dry run prints a short preview for people, not raw JSON plan lines
/// (the full plan is in its file).
#[test]
fn issue_19_a_dry_run_prints_a_short_readable_preview() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let out = embedded(&[
        "import",
        "fixtures/hr_export.csv",
        "--mapping",
        "fixtures/mapping.toml",
        "--runs-dir",
        runs.to_str().unwrap(),
        "--dry-run",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.lines().any(|l| l.starts_with('{')), "{text}");
    assert!(text.len() < 4096, "{} bytes: {text}", text.len());
    let previews = text.lines().filter(|l| l.starts_with("row ")).count();
    assert_eq!(previews, 10, "{text}");
    assert!(
        text.contains("row 1 create E100001 (umar.dubois@example.com)"),
        "{text}"
    );
    assert!(text.contains("plan.parquet"), "{text}");
}

/// Item 12: `validate --output json` counts invalid rows by kind the way the
/// import's summary.json does (`invalid_rows_by_kind`), next to its count of
/// problems (a row may have several).
#[test]
fn issue_19_validate_and_the_ledger_count_invalid_rows_alike() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let run = embedded;
    let (csv, mapping) = ("fixtures/hr_export.csv", "fixtures/mapping.toml");
    let out = run(&["validate", csv, "-m", mapping, "--output", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let out = run(&[
        "import",
        csv,
        "-m",
        mapping,
        "--runs-dir",
        runs.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let s = crate::common::read_json(&crate::common::last_run(&runs).join("summary.json"));
    let by_kind = v["invalid_rows_by_kind"]
        .as_array()
        .expect("invalid_rows_by_kind");
    let rows: u64 = by_kind.iter().map(|k| k["count"].as_u64().unwrap()).sum();
    assert_eq!(rows, v["invalid"].as_u64().unwrap(), "{v}");
    assert_eq!(rows, s["outcomes"]["invalid"].as_u64().unwrap(), "{s}");
    for k in by_kind {
        let kind = k["kind"].as_str().unwrap();
        assert_eq!(s["error_kinds"][kind], k["count"], "{kind}: {v}\n{s}");
    }
    // The problems count differs where a row has several (row 12's email).
    let problems: u64 = v["error_kinds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["count"].as_u64().unwrap())
        .sum();
    assert!(problems > rows, "{v}");
}

/// Item 14: the ledger's `latency_ms` is the calls' own time; the time a row
/// waited for the rate limiter is `wait_ms`. At 120 calls a minute (one every
/// half second) the later rows wait for seconds while their calls take
/// milliseconds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_19_latency_is_the_calls_own_time_and_the_limiter_wait_is_apart() {
    let emu = scimport::emulator::spawn(scimport::emulator::EmulatorConfig::for_tests())
        .await
        .expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let csv = crate::common::write_csv(tmp.path(), "hr.csv", &crate::common::hr_rows(6));
    let out = crate::import::import(
        &emu,
        &runs,
        &[
            csv.to_str().unwrap(),
            "-m",
            "fixtures/mapping.toml",
            "--rate",
            "120",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let rows =
        scimport::ledger::read_ledger(&crate::common::last_run(&runs).join("ledger.parquet"))
            .expect("ledger");
    let waited: f64 = rows.iter().map(|r| r.wait_ms).sum();
    let own: f64 = rows.iter().map(|r| r.latency_ms).sum();
    let longest = rows.iter().map(|r| r.wait_ms).fold(0.0, f64::max);
    // Six creates after the pre-flight's and lookup's GETs, one slot every 500 ms.
    assert!(longest >= 1000.0, "longest wait {longest} ms: {rows:#?}");
    assert!(own < waited, "own {own} ms, waited {waited} ms");
}
