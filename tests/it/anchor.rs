//! The anchored audit log (issue 14, item 7): a run prints its audit head last and
//! stores it in summary.json; `audit verify --expect-head` catches a whole-chain
//! rewrite and a truncation with a forged seal that plain verification passes;
//! `verify` checks the line count against summary.json; `--resume` refuses a
//! tampered log (exit 2, nothing appended) unless `--force-resume`, which the log
//! records.

use std::path::Path;
use std::process::Output;

use scimport::emulator::{EmulatorConfig, EmulatorHandle, spawn};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::common::{self, hr_rows, last_run, read_json, show, write_csv};

const HEAD_PREFIX: &str = "audit head sha256:";

/// The head a run printed: its last stdout line, checked to be exactly
/// `audit head sha256:<64 lowercase hex>`.
fn printed_head(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    let hex = last
        .strip_prefix(HEAD_PREFIX)
        .unwrap_or_else(|| panic!("last line is not the head: {last:?}\n{}", show(out)));
    assert_eq!(hex.len(), 64, "{last}");
    assert!(
        hex.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "{last}"
    );
    hex.to_string()
}

/// `scimport import` against the emulator, with `secret` as the client secret.
async fn import(emu: &EmulatorHandle, secret: &str, runs: &Path, args: &[&str]) -> Output {
    let url = emu.url();
    let mut cmd = common::scimport(emu.client_id(), secret);
    cmd.arg("import")
        .args(args)
        .args(["--rate", "off", "--api-url", &url, "--runs-dir"])
        .arg(runs);
    tokio::task::spawn_blocking(move || cmd.output().expect("run scimport"))
        .await
        .expect("join")
}

/// A stopped run (exit 3) of `csv`: against an emulator whose client lacks
/// `directory:user:add`, so the first create stops it and nothing lands. That
/// emulator then gives way to a normal one at the same address, the tenant a
/// resume finishes against (refused credentials no longer make a run at all).
async fn stopped_run(runs: &Path, csv: &str) -> (EmulatorHandle, Output) {
    let denying = spawn(EmulatorConfig {
        deny: vec!["directory:user:add".into()],
        ..EmulatorConfig::for_tests()
    })
    .await
    .expect("emulator");
    let out = import(
        &denying,
        denying.client_secret(),
        runs,
        &[csv, "--mapping", "fixtures/mapping.toml"],
    )
    .await;
    let listen = denying.addr();
    assert!(denying.users().is_empty());
    denying.shutdown().await;
    let emu = spawn(EmulatorConfig {
        listen,
        ..EmulatorConfig::for_tests()
    })
    .await
    .expect("the same address again");
    (emu, out)
}

fn verify(target: &Path, expect_head: Option<&str>) -> Output {
    let mut cmd = common::scimport("unused", "unused");
    cmd.args(["audit", "verify"]).arg(target);
    if let Some(h) = expect_head {
        cmd.args(["--expect-head", h]);
    }
    cmd.output().expect("run scimport audit verify")
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .expect("audit log")
        .lines()
        .map(str::to_string)
        .collect()
}

/// Writes `lines` as a log, each `prev_sha256` recomputed from the line before:
/// what someone who knows the format does after editing it.
fn write_rechained(path: &Path, lines: &[String]) {
    let mut prev = [0u8; 32];
    let mut text = String::new();
    for line in lines {
        let mut v: Value = serde_json::from_str(line).expect("an audit line");
        v["prev_sha256"] = Value::String(hex::encode(prev));
        let line = serde_json::to_string(&v).expect("json");
        prev = Sha256::digest(line.as_bytes()).into();
        text.push_str(&line);
        text.push('\n');
    }
    std::fs::write(path, text).expect("write log");
}

/// A finished import's run directory and the head it printed.
async fn finished_run(
    emu: &EmulatorHandle,
    tmp: &Path,
    extra: &[&str],
) -> (std::path::PathBuf, String) {
    let runs = tmp.join("runs");
    let csv = write_csv(tmp, "hr.csv", &hr_rows(6));
    let mut args = vec![csv.to_str().unwrap(), "--mapping", "fixtures/mapping.toml"];
    args.extend_from_slice(extra);
    let out = import(emu, emu.client_secret(), &runs, &args).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let head = printed_head(&out);
    (last_run(&runs), head)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_14_the_printed_head_is_summarys_and_verifys() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let (dir, head) = finished_run(&emu, tmp.path(), &[]).await;
    let summary = read_json(&dir.join("summary.json"));
    assert_eq!(summary["audit_head"], head.as_str(), "{summary}");
    let report = scimport::audit::verify(&dir.join("audit.jsonl")).expect("verify");
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.head.as_deref(), Some(head.as_str()));
    // The head is the seal line's SHA-256.
    let seal = lines(&dir.join("audit.jsonl")).pop().unwrap();
    assert!(seal.contains("\"kind\":\"seal\""), "{seal}");
    assert_eq!(hex::encode(Sha256::digest(seal.as_bytes())), head);

    let out = verify(&dir, Some(&format!("sha256:{head}")));
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&head));
    let out = verify(&dir, Some(&head.to_uppercase()));
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let out = verify(&dir, Some("abc"));
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_14_a_dry_run_prints_its_head_last_too() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let (dir, head) = finished_run(&emu, tmp.path(), &["--dry-run"]).await;
    assert_eq!(
        read_json(&dir.join("summary.json"))["audit_head"],
        head.as_str()
    );
    let out = verify(&dir, Some(&head));
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_14_a_whole_chain_rewrite_passes_plain_verify_but_not_the_head() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let (dir, head) = finished_run(&emu, tmp.path(), &[]).await;
    let audit = dir.join("audit.jsonl");
    let mut edited = lines(&audit);
    let i = edited
        .iter()
        .position(|l| l.contains("\"outcome\":\"succeeded\""))
        .expect("a succeeded decision");
    edited[i] = edited[i].replace("\"outcome\":\"succeeded\"", "\"outcome\":\"failed\"");
    write_rechained(&audit, &edited);

    let out = verify(&dir, None);
    assert_eq!(out.status.code(), Some(0), "plain verify: {}", show(&out));
    let out = verify(&dir, Some(&head));
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("TAMPERED") && stdout.contains(&head),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_14_a_truncated_log_with_a_forged_seal_fails_the_head_and_the_line_count() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let (dir, head) = finished_run(&emu, tmp.path(), &[]).await;
    let audit = dir.join("audit.jsonl");
    let orig = lines(&audit);
    // Cut the last rows' lines and forge a seal after what is left.
    let mut cut = orig[..orig.len() - 4].to_vec();
    let mut seal: Value = serde_json::from_str(orig.last().unwrap()).unwrap();
    seal["seq"] = Value::from(cut.len() as u64 + 1);
    cut.push(serde_json::to_string(&seal).unwrap());
    write_rechained(&audit, &cut);

    // Alone (no summary.json beside it), the chain verifies.
    let alone = tmp.path().join("copy");
    std::fs::create_dir(&alone).unwrap();
    std::fs::copy(&audit, alone.join("audit.jsonl")).unwrap();
    let out = verify(&alone.join("audit.jsonl"), None);
    assert_eq!(out.status.code(), Some(0), "plain verify: {}", show(&out));
    let out = verify(&alone.join("audit.jsonl"), Some(&head));
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));

    // In its run directory, the line count differs from summary.json's.
    let out = verify(&dir, None);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("summary.json recorded"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_14_resume_refuses_a_tampered_log_unless_forced_and_records_it() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let csv = write_csv(tmp.path(), "hr.csv", &hr_rows(5));
    let csv = csv.to_str().unwrap();
    // A stopped run (exit 3) prints its head too.
    let (emu, out) = stopped_run(&runs, csv).await;
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    let head = printed_head(&out);
    let dir = last_run(&runs);
    let id = dir.file_name().unwrap().to_string_lossy().to_string();
    assert_eq!(
        read_json(&dir.join("summary.json"))["audit_head"],
        head.as_str()
    );
    let audit = dir.join("audit.jsonl");
    let orig = lines(&audit);

    // An edit that breaks the chain, then a whole-chain rewrite: both refused, and
    // the log is left byte for byte as it was.
    let mut edited = orig.clone();
    edited[1] = edited[1].replacen("\"seq\":2,", "\"seq\":2,\"x\":1,", 1);
    assert_ne!(edited, orig);
    let broken = edited.join("\n") + "\n";
    write_rechained(&tmp.path().join("rechained"), &edited);
    let rechained = std::fs::read(tmp.path().join("rechained")).unwrap();
    for tampered in [broken.into_bytes(), rechained] {
        std::fs::write(&audit, &tampered).unwrap();
        let out = import(&emu, emu.client_secret(), &runs, &["--resume", &id]).await;
        assert_eq!(out.status.code(), Some(2), "{}", show(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("--force-resume"), "{stderr}");
        assert_eq!(
            std::fs::read(&audit).unwrap(),
            tampered,
            "the log was appended to"
        );
    }
    assert!(emu.users().is_empty(), "a refused resume sent writes");

    // Forced: the run finishes and the log says it was forced, and why.
    let out = import(
        &emu,
        emu.client_secret(),
        &runs,
        &["--resume", &id, "--force-resume"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let after = printed_head(&out);
    assert_eq!(emu.users().len(), 5);
    let text = std::fs::read_to_string(&audit).unwrap();
    let forced: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("resume forced"))
        .collect();
    assert_eq!(forced.len(), 1, "{text}");
    assert!(forced[0].contains("summary.json recorded"), "{}", forced[0]);
    assert_eq!(
        read_json(&dir.join("summary.json"))["audit_head"],
        after.as_str()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_14_resume_of_an_untouched_stopped_run_is_not_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let csv = write_csv(tmp.path(), "hr.csv", &hr_rows(3));
    let (emu, out) = stopped_run(&runs, csv.to_str().unwrap()).await;
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    let id = last_run(&runs)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();
    let out = import(&emu, emu.client_secret(), &runs, &["--resume", &id]).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let text = std::fs::read_to_string(last_run(&runs).join("audit.jsonl")).unwrap();
    assert!(!text.contains("resume forced"), "{text}");
    let out = verify(&last_run(&runs), Some(&printed_head(&out)));
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
}
