//! Issue 19 (items 10, 12, 16): `scimport runs` lists runs newest first with their
//! state, `latest` stands for the newest run id, and `ledger summary` is readable
//! (internal fields only in `--json`) and says when a run did not finish, with
//! the command that finishes it, which runs as printed. The real binary against
//! an in-process emulator, and a real SIGKILL.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use scimport::emulator::{EmulatorConfig, EmulatorHandle, LatencyRange, spawn};
use serde_json::Value;

use crate::common::{self, hr_rows, import_at, show, write_csv};

fn scimport(runs: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scimport"))
        .args(args)
        .arg("--runs-dir")
        .arg(runs)
        .env_remove("RUST_LOG")
        .output()
        .expect("run scimport")
}

fn listed(runs: &Path) -> Vec<Value> {
    let out = scimport(runs, &["runs", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

async fn import(emu: &EmulatorHandle, runs: &Path, csv: &Path, extra: &[&str]) -> Output {
    let mut args = vec![csv.to_str().unwrap(), "--mapping", "fixtures/mapping.toml"];
    args.extend_from_slice(extra);
    import_at(
        emu.client_id(),
        emu.client_secret(),
        &emu.url(),
        runs,
        &args,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_19_runs_lists_newest_first_and_latest_names_the_newest() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let csv = write_csv(tmp.path(), "hr.csv", &hr_rows(30));
    let first = import(&emu, &runs, &csv, &[]).await;
    assert_eq!(first.status.code(), Some(0), "{}", show(&first));
    let dry = import(&emu, &runs, &csv, &["--dry-run"]).await;
    assert_eq!(dry.status.code(), Some(0), "{}", show(&dry));

    let all = listed(&runs);
    assert_eq!(all.len(), 2, "{all:#?}");
    let (newest, oldest) = (&all[0], &all[1]);
    assert!(newest["id"].as_str() > oldest["id"].as_str(), "{all:#?}");
    assert_eq!(newest["dry_run"], true);
    assert_eq!(oldest["dry_run"], false);
    for r in &all {
        assert_eq!(r["state"], "finished", "{r}");
        assert_eq!(r["command"], "import", "{r}");
        assert_eq!(r["target"], emu.url().trim_end_matches('/'), "{r}");
        assert_eq!(r["rows"], 30, "{r}");
    }
    assert_eq!(oldest["outcomes"]["succeeded"], 30, "{oldest}");

    let table = scimport(&runs, &["runs"]);
    let text = String::from_utf8_lossy(&table.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("RUN"), "{text}");
    assert!(
        lines[1].starts_with(newest["id"].as_str().unwrap()),
        "{text}"
    );
    assert!(lines[1].contains("import (dry run)"), "{text}");
    assert!(lines[2].contains("30 succeeded"), "{text}");

    // `latest` wherever a run id is taken.
    let summary = scimport(&runs, &["ledger", "summary", "latest"]);
    assert_eq!(summary.status.code(), Some(0), "{}", show(&summary));
    let text = String::from_utf8_lossy(&summary.stdout);
    assert!(
        text.lines()
            .next()
            .unwrap_or("")
            .ends_with(newest["id"].as_str().unwrap()),
        "{text}"
    );
    let verify = scimport(&runs, &["audit", "verify", "latest"]);
    assert_eq!(verify.status.code(), Some(0), "{}", show(&verify));

    // For people: calls that add up, no internal fields; those stay in --json.
    let summary = scimport(
        &runs,
        &["ledger", "summary", oldest["id"].as_str().unwrap()],
    );
    let text = String::from_utf8_lossy(&summary.stdout);
    assert!(text.contains("users       created 30"), "{text}");
    assert!(text.contains("30 POST"), "{text}");
    for internal in [
        "failed_csv_sha256",
        "writer_cpu_seconds",
        "sink_seconds",
        "{\"",
    ] {
        assert!(!text.contains(internal), "{internal} in {text}");
    }
    let json = scimport(
        &runs,
        &[
            "ledger",
            "summary",
            oldest["id"].as_str().unwrap(),
            "--json",
        ],
    );
    let doc: Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert!(doc["writer_cpu_seconds"].is_number(), "{doc}");
}

/// Starts an import that the test kills.
fn start(emu: &EmulatorHandle, runs: &Path, csv: &Path) -> std::process::Child {
    let url = emu.url();
    common::scimport(emu.client_id(), emu.client_secret())
        .arg("import")
        .arg(csv)
        .args(["--mapping", "fixtures/mapping.toml"])
        .args(["--api-url", &url, "--rate", "off", "--concurrency", "2"])
        .arg("--runs-dir")
        .arg(runs)
        .arg("--quiet")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn scimport")
}

fn outcomes_journaled(runs: &Path) -> usize {
    let Some(dir) = std::fs::read_dir(runs).ok().and_then(|d| {
        d.filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.is_dir())
    }) else {
        return 0;
    };
    std::fs::read_to_string(dir.join("journal.jsonl"))
        .map(|t| t.matches("\"t\":\"outcome\"").count())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_19_a_killed_run_is_listed_as_crashed_and_its_printed_resume_finishes_it() {
    let mut cfg = EmulatorConfig::for_tests();
    cfg.latency_ms = Some(LatencyRange { min: 2, max: 4 });
    let emu = spawn(cfg).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let csv = write_csv(tmp.path(), "hr.csv", &hr_rows(400));

    let killed = tokio::task::block_in_place(|| {
        let mut child = start(&emu, &runs, &csv);
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if child.try_wait().expect("try_wait").is_some() {
                return false;
            }
            if outcomes_journaled(&runs) >= 40 || Instant::now() > deadline {
                child.kill().expect("kill -9");
                let _ = child.wait();
                return outcomes_journaled(&runs) >= 40;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    });
    assert!(killed, "the run must be killed mid-way");

    let all = listed(&runs);
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!(all[0]["state"], "crashed", "{all:#?}");
    let id = all[0]["id"].as_str().unwrap().to_string();

    // `ledger summary` says so, with the command that finishes it.
    let summary = scimport(&runs, &["ledger", "summary", &id]);
    let err = String::from_utf8_lossy(&summary.stderr);
    assert!(err.contains("did not finish"), "{}", show(&summary));

    // `runs` prints that command; run as printed, it finishes the run.
    let table = scimport(&runs, &["runs"]);
    let err = String::from_utf8_lossy(&table.stderr);
    let printed = err
        .lines()
        .find_map(|l| l.split("finish it with: ").nth(1))
        .unwrap_or_else(|| panic!("no resume command in {}", show(&table)))
        .to_string();
    assert!(printed.starts_with("scimport import "), "{printed}");
    assert!(printed.ends_with(&format!("--resume {id}")), "{printed}");
    let words: Vec<&str> = printed.split_whitespace().collect();
    let mut cmd = common::scimport(emu.client_id(), emu.client_secret());
    cmd.args(&words[1..]);
    let out = tokio::task::block_in_place(|| cmd.output().expect("run the printed command"));
    assert_eq!(out.status.code(), Some(0), "{printed}\n{}", show(&out));

    let all = listed(&runs);
    assert_eq!(all[0]["state"], "finished", "{all:#?}");
    assert_eq!(all[0]["outcomes"]["succeeded"], 400, "{all:#?}");
    let summary = scimport(&runs, &["ledger", "summary", "latest"]);
    assert!(
        !String::from_utf8_lossy(&summary.stderr).contains("did not finish"),
        "{}",
        show(&summary)
    );
}
