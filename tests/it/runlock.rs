//! The run lock (issue 14, item 1), with the real binary: a run in use is refused
//! (exit 2, nothing written) by a second `--resume` or `--retry-failed`; a
//! `kill -9` frees it at once; fresh imports into one runs dir never collide.

use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use scimport::emulator::{EmulatorConfig, EmulatorHandle, UserState, spawn};
use scimport::ledger::{Outcome, read_ledger};

use crate::common::{self, hr_rows, write_csv};

/// `scimport import` against `emu` with `args`, its output captured.
fn import(emu: &EmulatorHandle, runs: &Path, args: &[&str]) -> std::process::Command {
    let mut cmd = common::scimport(emu.client_id(), emu.client_secret());
    cmd.arg("import")
        .args(args)
        .args(["--api-url", &emu.url(), "--concurrency", "2", "--quiet"])
        .arg("--runs-dir")
        .arg(runs);
    cmd
}

/// A slow import of `csv`: one call per 100 ms (`--rate 600`), so it is still
/// running seconds after its run directory appears.
fn start_slow(emu: &EmulatorHandle, runs: &Path, csv: &Path) -> Child {
    let csv = csv.to_str().expect("utf-8 path");
    import(
        emu,
        runs,
        &[csv, "--mapping", "fixtures/mapping.toml", "--rate", "600"],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .expect("spawn scimport")
}

/// Polls (bounded) until the run under `runs` has journaled `outcomes` outcome
/// lines (0: until its journal exists); returns the run directory.
fn wait_for_journal(child: &mut Child, runs: &Path, outcomes: usize) -> PathBuf {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let journal = std::fs::read_dir(runs)
            .ok()
            .and_then(|mut d| d.find_map(|e| e.ok().map(|e| e.path())))
            .map(|d| d.join("journal.jsonl"));
        if let Some(j) = journal
            && let Ok(text) = std::fs::read_to_string(&j)
            && text.matches("\"t\":\"outcome\"").count() >= outcomes
            && text.ends_with('\n')
        {
            return j.parent().expect("run dir").to_path_buf();
        }
        assert!(
            child.try_wait().expect("try_wait").is_none(),
            "the import ended before its journal showed {outcomes} outcomes"
        );
        assert!(Instant::now() < deadline, "no journal under {runs:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn id_of(dir: &Path) -> String {
    dir.file_name()
        .expect("run id")
        .to_string_lossy()
        .into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Active users in the tenant, asserting none was created twice.
fn active_users(emu: &EmulatorHandle) -> usize {
    let mut ids: Vec<String> = emu
        .users()
        .into_iter()
        .filter(|u| u.state == UserState::Active)
        .filter_map(|u| u.user.external_id)
        .collect();
    let n = ids.len();
    ids.sort();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "a user was created twice");
    n
}

/// The run is complete and sound: exit 0 from `audit verify`, a ledger with every
/// row succeeded, one journal header (no second process wrote into it), and no
/// `resume` line in the audit log (no second process continued it).
fn assert_complete(emu: &EmulatorHandle, runs: &Path, dir: &Path, rows: usize, resumed: bool) {
    let verify = common::scimport(emu.client_id(), emu.client_secret())
        .args(["audit", "verify", &id_of(dir), "--runs-dir"])
        .arg(runs)
        .output()
        .expect("audit verify");
    assert_eq!(verify.status.code(), Some(0), "{}", stderr(&verify));
    let ledger = read_ledger(&dir.join("ledger.parquet")).expect("ledger");
    assert_eq!(ledger.len(), rows);
    assert!(ledger.iter().all(|r| r.outcome == Outcome::Succeeded));
    let journal = std::fs::read_to_string(dir.join("journal.jsonl")).expect("journal");
    assert_eq!(
        journal.matches("\"t\":\"meta\"").count(),
        1,
        "journal headers"
    );
    let audit = std::fs::read_to_string(dir.join("audit.jsonl")).expect("audit");
    assert_eq!(
        audit.contains("\"kind\":\"resume\""),
        resumed,
        "resume lines in the audit log"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_14_a_run_in_use_refuses_a_second_resume_or_retry_untouched() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().expect("tempdir");
    let runs = tmp.path().join("runs");
    let csv = write_csv(tmp.path(), "hr.csv", &hr_rows(60));
    let emu_ref = &emu;
    let dir = tokio::task::block_in_place(|| {
        let mut first = start_slow(emu_ref, &runs, &csv);
        let dir = wait_for_journal(&mut first, &runs, 0);
        let id = id_of(&dir);
        let holder = format!("process {}", first.id());
        for flag in ["--resume", "--retry-failed"] {
            let started = Instant::now();
            let out = import(emu_ref, &runs, &[flag, &id])
                .output()
                .expect("second scimport");
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{flag}: {err}");
            assert!(err.contains(&id), "{flag} names the run: {err}");
            assert!(err.contains(&holder), "{flag} names the holder: {err}");
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{flag} must not wait for the lock"
            );
        }
        // The refusals happened while the first import still held its run.
        assert!(
            first.try_wait().expect("try_wait").is_none(),
            "the first import ended too soon for this test to mean anything"
        );
        let status = first.wait().expect("first import");
        assert_eq!(status.code(), Some(0), "first import");
        dir
    });
    assert_complete(&emu, &runs, &dir, 60, false);
    assert_eq!(
        std::fs::read_dir(&runs).expect("runs").count(),
        1,
        "the refused retry left a run directory"
    );
    assert_eq!(active_users(&emu), 60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_14_kill_9_frees_the_run_for_an_immediate_resume() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().expect("tempdir");
    let runs = tmp.path().join("runs");
    let csv = write_csv(tmp.path(), "hr.csv", &hr_rows(30));
    let emu_ref = &emu;
    let (dir, out) = tokio::task::block_in_place(|| {
        let mut first = start_slow(emu_ref, &runs, &csv);
        let dir = wait_for_journal(&mut first, &runs, 3);
        first.kill().expect("kill -9");
        first.wait().expect("reaped");
        // The lock file is still there, naming a dead process: it holds nothing.
        assert!(dir.join("run.lock").exists());
        let out = import(emu_ref, &runs, &["--resume", &id_of(&dir), "--rate", "off"])
            .output()
            .expect("resume");
        (dir, out)
    });
    assert_eq!(out.status.code(), Some(0), "resume: {}", stderr(&out));
    assert_complete(&emu, &runs, &dir, 30, true);
    assert_eq!(active_users(&emu), 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_14_two_fresh_imports_into_one_runs_dir_both_succeed() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().expect("tempdir");
    let runs = tmp.path().join("runs");
    // Two disjoint sets of users, so that the two runs never touch the same one.
    let rows = hr_rows(20);
    let other: Vec<String> = rows
        .iter()
        .map(|r| r.replace("E0000", "F0000"))
        .map(|r| r.replace("@example.com", "@example.org"))
        .collect();
    let a = write_csv(tmp.path(), "a.csv", &rows);
    let b = write_csv(tmp.path(), "b.csv", &other);
    let emu_ref = &emu;
    let outs = tokio::task::block_in_place(|| {
        let children: Vec<Child> = [&a, &b]
            .map(|csv| {
                import(
                    emu_ref,
                    &runs,
                    &[
                        csv.to_str().expect("utf-8"),
                        "--mapping",
                        "fixtures/mapping.toml",
                        "--rate",
                        "off",
                    ],
                )
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
            })
            .into_iter()
            .collect();
        children
            .into_iter()
            .map(|c| c.wait_with_output().expect("wait"))
            .collect::<Vec<_>>()
    });
    for out in &outs {
        assert_eq!(out.status.code(), Some(0), "{}", stderr(out));
    }
    let mut ids: Vec<String> = std::fs::read_dir(&runs)
        .expect("runs")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .map(|d| {
            let summary = common::read_json(&d.join("summary.json"));
            assert_eq!(summary["done"]["created"], 20, "{}", d.display());
            id_of(&d)
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 2, "distinct run ids: {ids:?}");
    assert_eq!(active_users(&emu), 40);
}
