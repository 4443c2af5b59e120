//! Issue 17 item 3: routing skills and languages verified where they land. The
//! pre-flight reads the tenant's catalogue and stops an import whose mapping names
//! unknown skills or languages (exit 2, nothing sent, every unknown named with the
//! closest names); rows naming unknown ones from the data fail before sending;
//! `scimport skills verify <run-id>` reads each user back through the platform API
//! (paged) and writes skills-verify.parquet, read here with pyarrow; the emulator's
//! `--drop-skill` fault makes it a mismatch (exit 1).

use std::path::{Path, PathBuf};
use std::process::{Command as Process, Output};

use scimport::emulator::{EmulatorConfig, EmulatorHandle, spawn};
use serde_json::Value;

use crate::common::{self, fixture, last_run, show, write_csv};
use crate::import::import;

/// `scimport skills verify RUN` against the emulator (quiet, unpaced).
async fn verify(emu: &EmulatorHandle, runs: &Path, run: &str, extra: &[&str]) -> Output {
    let url = emu.url();
    let mut cmd = common::scimport(emu.client_id(), emu.client_secret());
    cmd.args(["skills", "verify", run, "--rate", "off", "--api-url"])
        .args([url.as_str(), "--login-url", url.as_str(), "--runs-dir"])
        .arg(runs)
        .args(extra);
    tokio::task::spawn_blocking(move || cmd.output().expect("run scimport"))
        .await
        .expect("join")
}

/// skills-verify.parquet's rows as JSON objects, read by pyarrow.
fn parquet_rows(path: &Path) -> Vec<Value> {
    let script = "import sys, json, pyarrow.parquet as pq\n\
                  t = pq.read_table(sys.argv[1])\n\
                  print(json.dumps({'columns': t.column_names, 'rows': t.to_pylist()}))";
    let python = common::python();
    let out = Process::new(&python)
        .args(["-c", script])
        .arg(path)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {python} (run scripts/test once to install pyarrow): {e}")
        });
    assert!(
        out.status.success(),
        "pyarrow could not read {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        v["columns"],
        serde_json::json!([
            "run_id",
            "row",
            "external_id",
            "user_id",
            "kind",
            "name",
            "expected",
            "actual",
            "match",
            "problem"
        ])
    );
    v["rows"].as_array().expect("rows").clone()
}

/// A copy of fixtures/skills-mapping.toml with `edits` (from, to) applied.
fn edited_mapping(dir: &Path, edits: &[(&str, &str)]) -> PathBuf {
    let mut text = std::fs::read_to_string(fixture("skills-mapping.toml")).expect("fixture");
    for (from, to) in edits {
        assert!(text.contains(from), "{from} is not in the fixture");
        text = text.replacen(from, to, 1);
    }
    let p = dir.join("skills.toml");
    std::fs::write(&p, text).expect("write mapping");
    p
}

/// Imports fixtures/hr_export.csv with `mapping`; returns the run id.
async fn import_hr(emu: &EmulatorHandle, runs: &Path, mapping: &Path) -> String {
    let csv = fixture("hr_export.csv");
    let out = import(
        emu,
        runs,
        &[
            csv.to_str().unwrap(),
            "--mapping",
            mapping.to_str().unwrap(),
        ],
    )
    .await;
    // hr_export.csv keeps a few broken rows on purpose: exit 1, the rest applied.
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let run = last_run(runs);
    let summary = common::read_json(&run.join("summary.json"));
    assert!(
        summary["outcomes"]["succeeded"].as_u64().unwrap_or(0) > 150,
        "{summary}"
    );
    run.file_name().unwrap().to_string_lossy().into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_17_unknown_skills_are_stopped_by_the_preflight_before_row_1() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let mapping = edited_mapping(
        tmp.path(),
        &[
            (
                "\"Billing/Agent\" = \"Billing:2\"",
                "\"Billing/Agent\" = \"billing:2\"",
            ),
            ("Sydney = \"VIP:2\"", "Sydney = \"Underwriting:2\""),
            ("Berlin = \"German:4\"", "Berlin = \"Germn:4\""),
        ],
    );
    let csv = fixture("hr_export.csv");
    let out = import(
        &emu,
        &runs,
        &[
            csv.to_str().unwrap(),
            "--mapping",
            mapping.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    // Every unknown name, each with where it comes from and the closest names.
    assert!(err.contains("skill `billing`"), "{err}");
    assert!(err.contains("did you mean `Billing`?"), "{err}");
    assert!(err.contains("skill `Underwriting`"), "{err}");
    assert!(err.contains("language `Germn`"), "{err}");
    assert!(err.contains("did you mean `German`?"), "{err}");
    assert!(err.contains("[[field]] #8 (department+title)"), "{err}");
    assert!(err.contains("[[field]] #11 (location)"), "{err}");
    let stats = emu.stats();
    assert_eq!(stats.users.active + stats.users.inactive, 0, "{stats:?}");
    let sent = |m: &str| stats.requests.get(m).copied().unwrap_or(0);
    for m in ["PATCH", "PUT", "DELETE"] {
        assert_eq!(sent(m), 0, "{stats:?}");
    }
    // The token is the only POST; the GETs are the three discovery documents and
    // the two catalogue pages (skills, languages).
    assert_eq!((sent("POST"), sent("GET")), (1, 5), "{stats:?}");
    assert!(
        std::fs::read_dir(&runs).map_or(true, |mut d| d.next().is_none()),
        "a run that sent nothing leaves no directory"
    );
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_17_rows_naming_unknown_names_fail_before_sending() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let mut rows = common::hr_rows(4);
    // Row 2's languages straight from the data: `english` is not `English`.
    rows[1] = rows[1].replace("English:5;Spanish:3", "english:5;Spanish:3");
    let csv = write_csv(tmp.path(), "hr.csv", &rows);
    let mapping = fixture("mapping.toml");
    let out = import(
        &emu,
        &runs,
        &[
            csv.to_str().unwrap(),
            "--mapping",
            mapping.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stats = emu.stats();
    // Three users created; the fourth row never reached the emulator (no 400).
    assert_eq!(stats.users.active, 3, "{stats:?}");
    assert_eq!(stats.status.get("400"), None, "{stats:?}");
    let failed = std::fs::read_to_string(last_run(&runs).join("failed.csv")).unwrap();
    assert!(failed.contains("unknown_language"), "{failed}");
    assert!(failed.contains("did you mean `English`?"), "{failed}");
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_17_skills_verify_matches_every_user_reading_every_page() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let run = import_hr(&emu, &runs, &fixture("skills-mapping.toml")).await;
    // Two entries a page: a Team Lead's three skills take two pages.
    let out = verify(&emu, &runs, &run, &["--page-size", "2"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(" 0 mismatched"), "{text}");
    let rows = parquet_rows(&runs.join(&run).join("skills-verify.parquet"));
    assert!(rows.len() > 300, "{}", rows.len());
    assert!(
        rows.iter()
            .all(|r| r["match"] == true && r["problem"].is_null())
    );
    assert!(rows.iter().all(|r| r["run_id"] == run.as_str()));
    // E100001: Claims/Team Lead, Remote: Claims 5, Billing 3, Onboarding 3
    // (Remote's Onboarding 1 lost to 3); languages from the export.
    let mut first: Vec<(String, String, f64, f64)> = rows
        .iter()
        .filter(|r| r["external_id"] == "E100001")
        .map(|r| {
            (
                r["kind"].as_str().unwrap().to_string(),
                r["name"].as_str().unwrap().to_string(),
                r["expected"].as_f64().unwrap(),
                r["actual"].as_f64().unwrap(),
            )
        })
        .collect();
    first.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    let want = |k: &str, n: &str, p: f64| (k.to_string(), n.to_string(), p, p);
    assert_eq!(
        first,
        vec![
            want("language", "English", 5.0),
            want("language", "Spanish", 3.0),
            want("skill", "Billing", 3.0),
            want("skill", "Claims", 5.0),
            want("skill", "Onboarding", 3.0),
        ]
    );
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_17_a_dropped_skill_assignment_is_a_mismatch() {
    let emu = spawn(EmulatorConfig {
        drop_skill: vec!["Onboarding".into()],
        ..EmulatorConfig::for_tests()
    })
    .await
    .expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let run = import_hr(&emu, &runs, &fixture("skills-mapping.toml")).await;
    // SCIM took and stored it: only the platform's view lacks it.
    let stored = emu
        .users()
        .into_iter()
        .find(|u| u.user.external_id.as_deref() == Some("E100001"))
        .expect("E100001 imported");
    let skills = stored.user.genesys.expect("genesys").routing_skills;
    assert!(skills.iter().any(|s| s.name == "Onboarding"), "{skills:?}");
    let out = verify(&emu, &runs, &run, &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("skill `Onboarding` missing"), "{text}");
    assert!(
        text.contains(&format!("scimport skills verify {run}")),
        "{text}"
    );
    let rows = parquet_rows(&runs.join(&run).join("skills-verify.parquet"));
    let (dropped, rest): (Vec<&Value>, Vec<&Value>) =
        rows.iter().partition(|r| r["name"] == "Onboarding");
    assert!(!dropped.is_empty());
    for r in &dropped {
        assert_eq!(r["match"], false, "{r}");
        assert_eq!(r["problem"], "missing", "{r}");
        assert!(r["actual"].is_null(), "{r}");
        assert!(r["expected"].as_f64().is_some(), "{r}");
    }
    assert!(rest.iter().all(|r| r["match"] == true), "{rest:?}");
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_17_verify_refuses_another_target() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let other = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let run = import_hr(&emu, &runs, &fixture("skills-mapping.toml")).await;
    let out = verify(&other, &runs, &run, &[]).await;
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("verify it against its own target"),
        "{}",
        show(&out)
    );
    emu.shutdown().await;
    other.shutdown().await;
}
