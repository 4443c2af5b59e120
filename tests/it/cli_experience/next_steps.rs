//! Issue 19: next steps that work: stdin kept for retries (3), printed commands
//! that keep the target and run as printed (1).

use super::{embedded, show};

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
    let embedded_dir = embedded_runs.to_str().unwrap();
    let out = tokio::task::block_in_place(|| {
        embedded(&[
            "import",
            "fixtures/hr_export.csv",
            "--mapping",
            "fixtures/mapping.toml",
            "--runs-dir",
            embedded_dir,
        ])
    });
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("--retry-failed"), "{text}");
    assert!(text.contains("embedded emulator kept nothing"), "{text}");
    let id = crate::common::last_run(&embedded_runs)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();
    let out = tokio::task::block_in_place(|| {
        embedded(&["import", "--retry-failed", &id, "--runs-dir", embedded_dir])
    });
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("embedded emulator, which kept nothing"),
        "{}",
        show(&out)
    );
}
