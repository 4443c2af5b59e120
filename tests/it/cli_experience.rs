//! Issue 19: the command line an admin trusts at 2 a.m., point by point, over the
//! real binary.

use std::process::Command;

use crate::common::show;

/// Item 13: a usage error prints the error and nothing else (no "using the
/// embedded emulator" first) and leaves no run directory behind.
#[test]
fn issue_19_a_usage_error_says_only_what_is_wrong_and_leaves_no_run_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let cases: [&[&str]; 4] = [
        &[],
        &["fixtures/hr_export.csv"],
        &[
            "fixtures/hr_export.csv",
            "--mapping",
            "fixtures/mapping.toml",
            "--rate",
            "0",
        ],
        &["missing.csv", "--mapping", "fixtures/mapping.toml"],
    ];
    for args in cases {
        let out = Command::new(env!("CARGO_BIN_EXE_scimport"))
            .arg("import")
            .args(args)
            .arg("--runs-dir")
            .arg(&runs)
            .env_remove("GENESYS_REGION")
            .env_remove("GENESYS_API_URL")
            .output()
            .expect("run scimport");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", show(&out));
        assert!(out.stdout.is_empty(), "{args:?}: {}", show(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).starts_with("error: "),
            "{args:?}: {}",
            show(&out)
        );
        assert!(!runs.exists(), "{args:?} left {}", runs.display());
    }
}

/// Item 9: an invalid row's ledger row (and `ledger failed`) names the person:
/// the externalId and userName its mapping produced.
#[test]
fn issue_19_invalid_rows_keep_their_external_id_and_user_name() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let out = Command::new(env!("CARGO_BIN_EXE_scimport"))
        .args([
            "import",
            "fixtures/hr_export.csv",
            "--mapping",
            "fixtures/mapping.toml",
        ])
        .arg("--runs-dir")
        .arg(&runs)
        .arg("--quiet")
        .env_remove("GENESYS_REGION")
        .env_remove("GENESYS_API_URL")
        .output()
        .expect("run scimport");
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

    let failed = Command::new(env!("CARGO_BIN_EXE_scimport"))
        .args(["ledger", "failed", "latest", "--runs-dir"])
        .arg(&runs)
        .output()
        .expect("run scimport");
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

/// Item 4: refused credentials stop the run at its first contact: exit 2, the
/// cause first and what to check, no run directory, no `--resume` suggested,
/// and nothing sent but the token request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_19_refused_credentials_exit_2_with_what_to_check_and_leave_nothing() {
    let emu = scimport::emulator::spawn(scimport::emulator::EmulatorConfig::for_tests())
        .await
        .expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let out = crate::common::import_at(
        emu.client_id(),
        "not-the-secret",
        &emu.url(),
        &runs,
        &[
            "fixtures/hr_export.csv",
            "--mapping",
            "fixtures/mapping.toml",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: the tenant refused the credentials"),
        "{err}"
    );
    assert!(err.contains("GENESYS_CLIENT_SECRET"), "{err}");
    let all = format!("{}{err}", String::from_utf8_lossy(&out.stdout));
    assert!(!all.contains("--resume"), "{all}");
    assert!(!all.contains("not-the-secret"), "{all}");
    let left = std::fs::read_dir(&runs).map_or(0, |d| d.count());
    assert_eq!(left, 0, "a run directory was left");
    let sent = emu.stats().requests;
    assert_eq!(sent.get("GET").copied().unwrap_or(0), 0, "{sent:?}");
    assert_eq!(
        sent.get("POST").copied().unwrap_or(0),
        1,
        "only the token: {sent:?}"
    );
}

/// Item 5: with `--rate off` against a throttled tenant, a 429 pauses every
/// worker and the call is retried without spending the row's attempts (here a
/// single one): no row fails `rate_limited`, and the run then follows the
/// tenant's limit instead of spending calls on 429s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_19_a_429_never_fails_a_row_even_with_rate_off() {
    let mut cfg = scimport::emulator::EmulatorConfig::for_tests();
    // A bucket of 120 calls refilled at 2 a second: the run outgrows it.
    cfg.rate_limit_per_minute = Some(120);
    let emu = scimport::emulator::spawn(cfg).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let csv = crate::common::write_csv(tmp.path(), "hr.csv", &crate::common::hr_rows(125));
    let out = crate::common::import_at(
        emu.client_id(),
        emu.client_secret(),
        &emu.url(),
        &runs,
        &[
            csv.to_str().unwrap(),
            "--mapping",
            "fixtures/mapping.toml",
            "--rate",
            "off",
            "--max-attempts",
            "1",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let dir = crate::common::last_run(&runs);
    let summary = crate::common::read_json(&dir.join("summary.json"));
    assert_eq!(summary["outcomes"]["succeeded"], 125, "{summary}");
    let throttled = summary["calls"]["status_429"].as_u64().expect("status_429");
    assert!(
        throttled >= 1,
        "the tenant must have throttled the run: {summary}"
    );
    assert!(throttled < 30, "a storm of 429s: {summary}");
}

/// Item 6: a dry run prints a short preview for people, not raw JSON plan lines
/// (the full plan is in its file).
#[test]
fn issue_19_a_dry_run_prints_a_short_readable_preview() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_scimport"))
        .args([
            "import",
            "fixtures/hr_export.csv",
            "--mapping",
            "fixtures/mapping.toml",
        ])
        .arg("--runs-dir")
        .arg(tmp.path().join("runs"))
        .arg("--dry-run")
        .env_remove("GENESYS_REGION")
        .env_remove("GENESYS_API_URL")
        .output()
        .expect("run scimport");
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
    assert!(text.contains("plan.jsonl"), "{text}");
}

/// Item 3: stdin is kept in the run directory, so failed.csv has the rows'
/// columns and `--retry-failed` has rows to run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_19_stdin_is_kept_so_failed_csv_and_retry_failed_work() {
    let emu = scimport::emulator::spawn(scimport::emulator::EmulatorConfig::for_tests())
        .await
        .expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let url = emu.url();
    let mut cmd = crate::common::scimport(emu.client_id(), emu.client_secret());
    cmd.args([
        "import",
        "-",
        "--mapping",
        "fixtures/mapping.toml",
        "--rate",
        "off",
    ])
    .args([
        "--api-url",
        &url,
        "--login-url",
        &url,
        "--quiet",
        "--runs-dir",
    ])
    .arg(&runs)
    .stdin(std::fs::File::open("fixtures/hr_export.csv").expect("sample"));
    let out = tokio::task::block_in_place(|| cmd.output().expect("run scimport"));
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let dir = crate::common::last_run(&runs);
    assert_eq!(
        std::fs::read(dir.join("stdin")).expect("stdin kept"),
        std::fs::read("fixtures/hr_export.csv").unwrap()
    );
    let failed = std::fs::read_to_string(dir.join("failed.csv")).expect("failed.csv");
    let rows = failed.lines().count() - 1;
    // The 13 invalid rows (since issue 19 item 2, the 17 users whose manager is
    // terminated are created with a warning, not failed).
    assert_eq!(rows, 13, "the invalid rows, with their columns:\n{failed}");
    assert!(failed.contains("E100012"), "{failed}");

    let id = dir.file_name().unwrap().to_string_lossy().to_string();
    let mut retry = crate::common::scimport(emu.client_id(), emu.client_secret());
    retry
        .args(["import", "--retry-failed", &id, "--rate", "off"])
        .args([
            "--api-url",
            &url,
            "--login-url",
            &url,
            "--quiet",
            "--runs-dir",
        ])
        .arg(&runs);
    let out = tokio::task::block_in_place(|| retry.output().expect("run scimport"));
    let again = crate::common::read_json(&crate::common::last_run(&runs).join("summary.json"));
    assert_eq!(again["rows"], 13, "{}\n{again}", show(&out));
}

/// The printed command after "then: " on the `failed rows:` line.
fn printed_retry(stdout: &str) -> Option<String> {
    stdout
        .lines()
        .find(|l| l.starts_with("failed rows:"))
        .and_then(|l| l.split("then: ").nth(1))
        .map(|c| c.trim_end_matches(')').to_string())
}

/// Item 1: the printed retry command keeps the target and the runs dir, and runs
/// as printed against the same tenant; a retry against another address is refused
/// unless `--allow-target-change`; a run against the embedded emulator prints no
/// retry that cannot work, and such a retry is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_19_printed_next_steps_keep_the_target_and_run_as_printed() {
    use scimport::emulator::{EmulatorConfig, spawn};
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("my-runs");
    let url = emu.url();
    let run = |args: Vec<String>| {
        let mut cmd = crate::common::scimport(emu.client_id(), emu.client_secret());
        cmd.args(args);
        tokio::task::block_in_place(|| cmd.output().expect("run scimport"))
    };
    let first: Vec<String> = [
        "import",
        "fixtures/hr_export.csv",
        "--mapping",
        "fixtures/mapping.toml",
        "--rate",
        "off",
        "--api-url",
        &url,
        "--login-url",
        &url,
        "--runs-dir",
        runs.to_str().unwrap(),
    ]
    .map(String::from)
    .to_vec();
    let out = run(first);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let printed = printed_retry(&String::from_utf8_lossy(&out.stdout)).expect("a retry hint");
    assert!(printed.contains(&format!("--api-url {url}")), "{printed}");
    assert!(printed.contains("--runs-dir"), "{printed}");
    let id = crate::common::last_run(&runs)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();
    // Run as printed: the rows go to the same emulator.
    let posts_before = emu.stats().requests.get("POST").copied().unwrap_or(0);
    let words: Vec<String> = printed
        .split_whitespace()
        .skip(1)
        .map(String::from)
        .collect();
    let out = run(words);
    let retried = crate::common::read_json(&crate::common::last_run(&runs).join("summary.json"));
    // The sample's 13 invalid rows (its 17 users whose manager is terminated were
    // created, with a warning).
    assert_eq!(retried["rows"], 13, "{}\n{retried}", show(&out));
    assert_eq!(retried["target"], url.trim_end_matches('/'), "{retried}");
    assert!(emu.stats().requests.get("POST").copied().unwrap_or(0) > posts_before);

    // Another address: refused, then allowed.
    let other = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let elsewhere = |extra: &[&str]| {
        let other_url = other.url();
        let mut args: Vec<String> = ["import", "--retry-failed", &id, "--rate", "off"]
            .map(String::from)
            .to_vec();
        args.extend(
            [
                "--api-url",
                &other_url,
                "--login-url",
                &other_url,
                "--runs-dir",
            ]
            .map(String::from),
        );
        args.push(runs.display().to_string());
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    };
    let out = run(elsewhere(&[]));
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--allow-target-change"),
        "{}",
        show(&out)
    );
    let out = run(elsewhere(&["--allow-target-change"]));
    assert_ne!(out.status.code(), Some(2), "{}", show(&out));
    let moved = crate::common::read_json(&crate::common::last_run(&runs).join("summary.json"));
    assert_eq!(
        moved["target"],
        other.url().trim_end_matches('/'),
        "{moved}"
    );
    assert_eq!(moved["rows"], 13, "{moved}");
    assert!(other.stats().requests.get("GET").copied().unwrap_or(0) > 0);

    // The embedded emulator: no retry hint that cannot work, and no such retry.
    let embedded_runs = tmp.path().join("embedded");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_scimport"));
    cmd.args([
        "import",
        "fixtures/hr_export.csv",
        "--mapping",
        "fixtures/mapping.toml",
    ])
    .arg("--runs-dir")
    .arg(&embedded_runs)
    .env_remove("GENESYS_REGION")
    .env_remove("GENESYS_API_URL");
    let out = tokio::task::block_in_place(|| cmd.output().expect("run scimport"));
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("--retry-failed"), "{text}");
    assert!(text.contains("embedded emulator kept nothing"), "{text}");
    let id = crate::common::last_run(&embedded_runs)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_scimport"));
    cmd.args(["import", "--retry-failed", &id, "--runs-dir"])
        .arg(&embedded_runs)
        .env_remove("GENESYS_REGION")
        .env_remove("GENESYS_API_URL");
    let out = tokio::task::block_in_place(|| cmd.output().expect("run scimport"));
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("embedded emulator, which kept nothing"),
        "{}",
        show(&out)
    );
}

/// Item 8: one grammar per flag on every command: `--delimiter tab` (and the
/// character itself), `--rate 300/min`, `-m` for the mapping.
#[test]
fn issue_19_flags_have_one_grammar_on_every_command() {
    let tmp = tempfile::tempdir().unwrap();
    let mut text = crate::common::HR_HEADER.replace(',', "\t");
    for r in crate::common::hr_rows(12) {
        text.push('\n');
        text.push_str(&r.replace(',', "\t"));
    }
    text.push('\n');
    let tsv = tmp.path().join("hr.tsv");
    std::fs::write(&tsv, text).unwrap();
    let runs = tmp.path().join("runs");
    let scim = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_scimport"))
            .args(args)
            .env_remove("GENESYS_REGION")
            .env_remove("GENESYS_API_URL")
            .output()
            .expect("run scimport")
    };
    let tsv = tsv.to_str().unwrap();
    let runs = runs.to_str().unwrap();
    for delimiter in ["tab", "\t"] {
        let out = scim(&[
            "validate",
            tsv,
            "-m",
            "fixtures/mapping.toml",
            "--delimiter",
            delimiter,
        ]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "validate {delimiter:?}: {}",
            show(&out)
        );
        let out = scim(&[
            "import",
            tsv,
            "-m",
            "fixtures/mapping.toml",
            "--delimiter",
            delimiter,
            "--rate",
            "300/min",
            "--dry-run",
            "--runs-dir",
            runs,
        ]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "import {delimiter:?}: {}",
            show(&out)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("rows 12:"),
            "{}",
            show(&out)
        );
    }
    for rate in ["300", "5/s", "off"] {
        let out = scim(&[
            "import",
            tsv,
            "-m",
            "fixtures/mapping.toml",
            "--rate",
            rate,
            "--dry-run",
            "--runs-dir",
            runs,
        ]);
        assert_eq!(out.status.code(), Some(0), "--rate {rate}: {}", show(&out));
    }
    let out = scim(&[
        "import",
        tsv,
        "-m",
        "fixtures/mapping.toml",
        "--rate",
        "fast",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("5/s"),
        "{}",
        show(&out)
    );
    let help = scim(&["sync", "--help"]);
    assert!(
        String::from_utf8_lossy(&help.stdout).contains("-m, --mapping"),
        "{}",
        show(&help)
    );
}

/// Item 15: `--help` names the environment variables, the exit codes and the
/// regions.
#[test]
fn issue_19_help_names_the_environment_exit_codes_and_regions() {
    for (cmd, exit4) in [("import", false), ("sync", true)] {
        let out = Command::new(env!("CARGO_BIN_EXE_scimport"))
            .args([cmd, "--help"])
            .output()
            .expect("run scimport");
        let text = String::from_utf8_lossy(&out.stdout);
        for want in [
            "GENESYS_CLIENT_ID",
            "GENESYS_CLIENT_SECRET",
            "GENESYS_REGION",
            "GENESYS_API_URL",
            "Exit codes:",
            "eu-west-1",
            "ap-southeast-2",
        ] {
            assert!(text.contains(want), "{cmd} --help lacks {want}:\n{text}");
        }
        assert_eq!(text.contains("  4  a guard"), exit4, "{text}");
    }
}

/// Item 15: the shipped example mapping fits its example HRIS report (headers
/// with spaces, US dates, statuses as words), and imports it.
#[test]
fn issue_19_the_example_hris_mapping_validates_and_imports_its_report() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_scimport"))
            .args(args)
            .env_remove("GENESYS_REGION")
            .env_remove("GENESYS_API_URL")
            .output()
            .expect("run scimport")
    };
    let (csv, mapping) = (
        "examples/hris-report/export.csv",
        "examples/hris-report/mapping.toml",
    );
    let out = run(&["validate", csv, "-m", mapping]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("5 valid"),
        "{}",
        show(&out)
    );
    let runs = tmp.path().join("runs");
    let out = run(&[
        "import",
        csv,
        "-m",
        mapping,
        "--runs-dir",
        runs.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let s = crate::common::read_json(&crate::common::last_run(&runs).join("summary.json"));
    // Four created (one on leave), the terminated one never created.
    assert_eq!(s["done"]["created"], 4, "{s}");
    assert_eq!(s["done"]["inactive_absent"], 1, "{s}");
}

/// Item 12: `validate --output json` counts invalid rows by kind the way the
/// import's summary.json does (`invalid_rows_by_kind`), next to its count of
/// problems (a row may have several).
#[test]
fn issue_19_validate_and_the_ledger_count_invalid_rows_alike() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_scimport"))
            .args(args)
            .env_remove("GENESYS_REGION")
            .env_remove("GENESYS_API_URL")
            .output()
            .expect("run scimport")
    };
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
    let out = crate::common::import_at(
        emu.client_id(),
        emu.client_secret(),
        &emu.url(),
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
