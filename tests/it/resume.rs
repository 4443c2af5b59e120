//! Crash safety (issue 6): kill -9 the importer at several moments of a run with
//! faults on, resume each time, and check that the tenant, the ledger and the audit
//! log end exactly right. Also --retry-failed, dry runs, exit codes and secrets.

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use scimport::emulator::{EmulatorConfig, EmulatorHandle, LatencyRange, UserState, spawn};
use scimport::ledger::{Outcome, read_ledger};

use crate::common::{self, hr_rows, read_json, write_csv};

fn start(emu: &EmulatorHandle, runs: &Path, args: &[&str]) -> Child {
    let url = emu.url();
    common::scimport(emu.client_id(), emu.client_secret())
        .arg("import")
        .args(args)
        .args([
            "--api-url",
            &url,
            "--rate",
            "off",
            "--concurrency",
            "4",
            "--runs-dir",
        ])
        .arg(runs)
        .arg("--quiet")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn scimport")
}

/// Outcome lines in the journal so far.
fn journaled_outcomes(journal: &Path) -> usize {
    let Ok(f) = std::fs::File::open(journal) else {
        return 0;
    };
    std::io::BufReader::new(f)
        .lines()
        .map_while(Result::ok)
        .filter(|l| l.contains("\"t\":\"outcome\""))
        .count()
}

fn only_run(runs: &Path) -> Option<PathBuf> {
    std::fs::read_dir(runs)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.is_dir())
}

/// Waits (bounded) until the run has journaled `n` outcomes or the process ended;
/// then kills it with SIGKILL. Returns true when it was killed mid-run.
fn kill_after(child: &mut Child, runs: &Path, n: usize) -> bool {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if child.try_wait().expect("try_wait").is_some() {
            return false;
        }
        let reached =
            only_run(runs).is_some_and(|d| journaled_outcomes(&d.join("journal.jsonl")) >= n);
        if reached || Instant::now() > deadline {
            child.kill().expect("kill -9");
            let _ = child.wait();
            return reached;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_at_five_moments_then_resume_ends_exact() {
    let mut cfg = EmulatorConfig::for_tests();
    cfg.fail_rate = 0.05;
    cfg.drop_rate = 0.01;
    cfg.latency_ms = Some(LatencyRange { min: 0, max: 3 });
    cfg.seed = Some(7);
    let emu = spawn(cfg).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let total = 2000;
    let csv = write_csv(tmp.path(), "hr.csv", &hr_rows(total));
    let csv_s = csv.to_str().unwrap().to_string();

    let runs2 = runs.clone();
    let emu_ref = &emu;
    let (kills, run_dir) = tokio::task::block_in_place(|| {
        let mut child = start(
            emu_ref,
            &runs2,
            &[
                &csv_s,
                "--mapping",
                "fixtures/mapping.toml",
                "--max-attempts",
                "8",
            ],
        );
        let mut kills = 0;
        for n in [100, 450, 800, 1200, 1600] {
            if kill_after(&mut child, &runs2, n) {
                kills += 1;
            }
            let id = only_run(&runs2)
                .expect("run dir")
                .file_name()
                .unwrap()
                .to_string_lossy()
                .to_string();
            child = start(emu_ref, &runs2, &["--resume", &id, "--max-attempts", "8"]);
        }
        let status = child.wait().expect("wait");
        assert!(status.code() == Some(0), "final resume exit {status:?}");
        (kills, only_run(&runs2).expect("run dir"))
    });
    assert!(
        kills >= 5,
        "the run must have been killed mid-way 5 times, was {kills}"
    );

    // The tenant: exactly the 2000 users, no duplicate.
    let mut by_ext: HashMap<String, usize> = HashMap::new();
    for u in emu.users() {
        if u.state != UserState::Deleted {
            *by_ext
                .entry(u.user.external_id.clone().unwrap_or_default())
                .or_default() += 1;
        }
    }
    assert_eq!(by_ext.len(), total, "users in the tenant");
    assert!(by_ext.values().all(|c| *c == 1), "a user was created twice");

    // The ledger: one row per input row, all succeeded.
    let ledger = read_ledger(&run_dir.join("ledger.parquet")).expect("ledger");
    assert_eq!(ledger.len(), total);
    let rows: Vec<u64> = ledger.iter().map(|r| r.row).collect();
    assert_eq!(rows, (1..=total as u64).collect::<Vec<_>>());
    let not_ok: Vec<_> = ledger
        .iter()
        .filter(|r| r.outcome != Outcome::Succeeded)
        .collect();
    assert!(
        not_ok.is_empty(),
        "rows not succeeded: {:?}",
        &not_ok[..not_ok.len().min(3)]
    );
    let summary = read_json(&run_dir.join("summary.json"));
    assert_eq!(
        summary["outcomes"]["succeeded"].as_u64(),
        Some(total as u64)
    );

    // The audit log: intact (each resume continued the chain), and its last word on
    // every row agrees with the ledger.
    let report = scimport::audit::verify(&run_dir.join("audit.jsonl")).expect("verify");
    assert!(report.is_intact(), "{report:?}");
    let mut last: BTreeMap<u64, String> = BTreeMap::new();
    let text = std::fs::read_to_string(run_dir.join("audit.jsonl")).unwrap();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if v["kind"] == "decision"
            && let (Some(row), Some(outcome)) = (v["row"].as_u64(), v["outcome"].as_str())
            && outcome != "pending"
        {
            last.insert(row, outcome.to_string());
        }
    }
    for r in &ledger {
        assert_eq!(
            last.get(&r.row).map(String::as_str),
            Some(r.outcome.as_str()),
            "row {}",
            r.row
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_failed_reads_the_edited_failed_csv() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let mut rows = hr_rows(6);
    rows[2] = rows[2].replacen("@example.com", "@@example.com", 1); // invalid email
    rows[4] = rows[4].replacen("English:5", "Klingon:5", 1); // language unknown to the tenant
    let csv = write_csv(tmp.path(), "hr.csv", &rows);
    let url = emu.url();
    let run = |args: Vec<String>| {
        let mut cmd = common::scimport(emu.client_id(), emu.client_secret());
        cmd.arg("import")
            .args(&args)
            .args(["--api-url", &url, "--rate", "off", "--quiet", "--runs-dir"])
            .arg(&runs);
        cmd
    };
    let out = tokio::task::block_in_place(|| {
        run(vec![
            csv.display().to_string(),
            "--mapping".into(),
            "fixtures/mapping.toml".into(),
        ])
        .output()
        .unwrap()
    });
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let first = common::last_run(&runs);
    let failed = std::fs::read_to_string(first.join("failed.csv")).unwrap();
    assert_eq!(failed.lines().count(), 3, "{failed}");
    assert!(
        failed
            .lines()
            .next()
            .unwrap()
            .ends_with(",row,error_kind,error")
    );
    // fix both rows in failed.csv, as a user would
    let fixed = failed
        .replace("@@example.com", "@example.com")
        .replace("Klingon:5", "English:5");
    std::fs::write(first.join("failed.csv"), fixed).unwrap();
    let id = first.file_name().unwrap().to_string_lossy().to_string();
    let out =
        tokio::task::block_in_place(|| run(vec!["--retry-failed".into(), id]).output().unwrap());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let second = common::last_run(&runs);
    assert_ne!(first, second);
    let ledger = read_ledger(&second.join("ledger.parquet")).unwrap();
    let rows: Vec<u64> = ledger.iter().map(|r| r.row).collect();
    assert_eq!(
        rows,
        vec![3, 5],
        "the retry covers only the failed rows, with their original numbers"
    );
    assert!(ledger.iter().all(|r| r.outcome == Outcome::Succeeded));
    let active = emu
        .users()
        .into_iter()
        .filter(|u| u.state == UserState::Active)
        .count();
    assert_eq!(active, 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_credentials_stop_the_run_at_its_first_contact_with_no_secret_anywhere() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let csv = write_csv(tmp.path(), "hr.csv", &hr_rows(5));
    let url = emu.url();
    let secret = "wrong-secret-3b1f9c";
    let out = tokio::task::block_in_place(|| {
        common::scimport(emu.client_id(), secret)
            .args([
                "import",
                csv.to_str().unwrap(),
                "--mapping",
                "fixtures/mapping.toml",
                "--rate",
                "off",
            ])
            .args(["--api-url", &url, "--runs-dir"])
            .arg(&runs)
            .output()
            .unwrap()
    });
    // Issue 19: exit 2 before anything else, and no run directory (so no
    // resume that cannot work).
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let left = std::fs::read_dir(&runs).map_or(0, |d| d.count());
    assert_eq!(left, 0, "a run directory was left");
    assert!(emu.users().is_empty());
    // no secret in the output
    assert!(!String::from_utf8_lossy(&out.stdout).contains(secret));
    assert!(!String::from_utf8_lossy(&out.stderr).contains(secret));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_bearer_token_reaches_the_audit_log() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let csv = write_csv(tmp.path(), "hr.csv", &hr_rows(5));
    let out = crate::import::import(
        &emu,
        &runs,
        &[csv.to_str().unwrap(), "--mapping", "fixtures/mapping.toml"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0));
    let dir = common::last_run(&runs);
    let audit = std::fs::read_to_string(dir.join("audit.jsonl")).unwrap();
    assert!(!audit.contains(emu.client_secret()));
    let lower = audit.to_lowercase();
    for word in ["access_token", "authorization", "bearer"] {
        assert!(!lower.contains(word), "{word} in the audit log");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_ledger_read_by_pyarrow_and_duckdb_matches_summary_json() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let out = crate::import::import(
        &emu,
        &runs,
        &[
            "fixtures/hr_export.csv",
            "--mapping",
            "fixtures/mapping.toml",
        ],
    )
    .await;
    // the fixture has invalid rows on purpose
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let dir = common::last_run(&runs);
    let got = crate::ledger::read_with_python(&dir.join("ledger.parquet"));
    let summary = read_json(&dir.join("summary.json"));
    let input_rows = std::fs::read_to_string("fixtures/hr_export.csv")
        .unwrap()
        .lines()
        .count() as u64
        - 1;
    assert_eq!(got["pyarrow"]["rows"].as_u64(), Some(input_rows));
    assert_eq!(got["duckdb"]["rows"].as_u64(), Some(input_rows));
    assert_eq!(got["duckdb"]["distinct_rows"].as_u64(), Some(input_rows));
    assert_eq!(got["pyarrow"]["sorted"], true);
    assert_eq!(summary["rows"].as_u64(), Some(input_rows));
    for (k, v) in summary["outcomes"].as_object().unwrap() {
        let n = v.as_u64().unwrap();
        let seen = got["duckdb"]["outcomes"][k].as_u64().unwrap_or(0);
        assert_eq!(seen, n, "outcome {k}");
    }
    assert!(summary["outcomes"]["invalid"].as_u64().unwrap() > 0);
    assert!(summary["outcomes"]["succeeded"].as_u64().unwrap() > 0);
    // every failed or invalid row carries an error kind
    let bad = summary["outcomes"]["failed"].as_u64().unwrap()
        + summary["outcomes"]["invalid"].as_u64().unwrap();
    assert_eq!(got["duckdb"]["failed_with_error"].as_u64(), Some(bad));
}

#[test]
fn a_missing_input_or_mapping_is_exit_2_and_sends_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let out = common::scimport("id", "secret")
        .args([
            "import",
            "no-such-file.csv",
            "--mapping",
            "fixtures/mapping.toml",
            "--api-url",
            "http://127.0.0.1:9",
        ])
        .arg("--runs-dir")
        .arg(&runs)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-file.csv"));
    let out = common::scimport("id", "secret")
        .args([
            "import",
            "fixtures/hr_export.csv",
            "--mapping",
            "no-such-mapping.toml",
            "--api-url",
            "http://127.0.0.1:9",
        ])
        .arg("--runs-dir")
        .arg(&runs)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A write error mid-run: the importer's files hit a size limit (RLIMIT_FSIZE via
/// `prlimit`, with SIGXFSZ ignored so a write fails with EFBIG instead of killing
/// the process). The run must stop with exit 3, not lose the error; a resume without
/// the limit then finishes it exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_error_mid_run_stops_it_with_exit_3_and_resume_finishes_it() {
    if std::process::Command::new("prlimit")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: no prlimit (util-linux) on this machine");
        return;
    }
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let total = 300;
    let csv = write_csv(tmp.path(), "hr.csv", &hr_rows(total));
    let url = emu.url();
    let (client_id, secret) = (emu.client_id().to_string(), emu.client_secret().to_string());
    let out = tokio::task::block_in_place(|| {
        capped_import()
            .arg(&csv)
            .args(["--mapping", "fixtures/mapping.toml", "--api-url", &url])
            .args(["--rate", "off", "--concurrency", "4", "--runs-dir"])
            .arg(&runs)
            .env("GENESYS_CLIENT_ID", &client_id)
            .env("GENESYS_CLIENT_SECRET", &secret)
            .env_remove("RUST_LOG")
            .output()
            .expect("run scimport under prlimit")
    });
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    let dir = only_run(&runs).expect("run dir");
    let summary = read_json(&dir.join("summary.json"));
    let stopped = summary["stopped"].as_str().unwrap_or_default().to_string();
    assert!(stopped.contains("cannot"), "{summary}");
    assert!(
        summary["outcomes"]["pending"].as_u64().unwrap_or(0) > 0,
        "the run went on after the write error: {summary}"
    );
    let created_before = emu.users().len();
    assert!(created_before < total, "every user was created anyway");

    let id = dir.file_name().unwrap().to_string_lossy().to_string();
    let status = tokio::task::block_in_place(|| {
        start(&emu, &runs, &["--resume", &id]).wait().expect("wait")
    });
    assert_eq!(status.code(), Some(0), "resume exit");
    let mut by_ext: HashMap<String, usize> = HashMap::new();
    for u in emu.users() {
        *by_ext
            .entry(u.user.external_id.clone().unwrap_or_default())
            .or_default() += 1;
    }
    assert_eq!(by_ext.len(), total, "users in the tenant");
    assert!(by_ext.values().all(|c| *c == 1), "a user was created twice");
    let ledger = read_ledger(&dir.join("ledger.parquet")).expect("ledger");
    let rows: Vec<u64> = ledger.iter().map(|r| r.row).collect();
    assert_eq!(rows, (1..=total as u64).collect::<Vec<_>>());
    assert!(ledger.iter().all(|r| r.outcome == Outcome::Succeeded));
    let report = scimport::audit::verify(&dir.join("audit.jsonl")).expect("verify");
    assert!(report.is_intact(), "{report:?}");
}

/// A dry run whose files cannot be written (the same file-size limit as above; the
/// audit log reaches it first since plan.parquet, issue 18, is a few dozen bytes a
/// row) stops with exit 3 and says why, instead of leaving a plan that silently
/// lacks rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_that_cannot_write_its_plan_stops_with_exit_3() {
    if std::process::Command::new("prlimit")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: no prlimit (util-linux) on this machine");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let csv = write_csv(tmp.path(), "hr.csv", &hr_rows(300));
    let out = tokio::task::block_in_place(|| {
        capped_import()
            .arg(&csv)
            .args([
                "--mapping",
                "fixtures/mapping.toml",
                "--dry-run",
                "--runs-dir",
            ])
            .arg(&runs)
            .env_remove("GENESYS_CLIENT_ID")
            .env_remove("GENESYS_CLIENT_SECRET")
            .env_remove("RUST_LOG")
            .output()
            .expect("run scimport under prlimit")
    });
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    let dir = only_run(&runs).expect("run dir");
    let summary = read_json(&dir.join("summary.json"));
    let stopped = summary["stopped"].as_str().unwrap_or_default();
    assert!(stopped.contains("cannot"), "{summary}");
}

/// `scimport import` under a 60,000-byte file-size limit (`prlimit`), with SIGXFSZ
/// ignored so that a write past the limit fails with EFBIG instead of killing it.
fn capped_import() -> std::process::Command {
    let mut c = std::process::Command::new("sh");
    c.args([
        "-c",
        "trap '' XFSZ; exec prlimit --fsize=60000 \"$@\"",
        "sh",
        env!("CARGO_BIN_EXE_scimport"),
        "import",
    ]);
    c
}
