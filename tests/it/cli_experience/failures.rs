//! Issue 19: failures that say what to do: usage errors (13), refused
//! credentials (4), a throttled tenant with `--rate off` (5).

use super::{embedded, show};

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
        let mut argv = vec!["import"];
        argv.extend_from_slice(args);
        argv.extend(["--runs-dir", runs.to_str().unwrap()]);
        let out = embedded(&argv);
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
    let out = crate::import::import(
        &emu,
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
