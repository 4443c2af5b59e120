//! The engine as a library: a second caller feeds desired users without a file,
//! and the report and summary.json keep every key users and `--retry-failed` read.

use std::collections::BTreeSet;
use std::path::Path;

use super::*;
use crate::emulator::{EmulatorConfig, EmulatorHandle, spawn};
use crate::mapping::Mapping;
use crate::scim::target::Target;
use crate::source::{Header, Record};
use crate::validate::{Prepared, check_record};

const MAPPING: &str = r#"
version = 1
keys = ["externalId", "userName"]

[[field]]
path = "externalId"
column = "id"

[[field]]
path = "userName"
column = "email"

[[field]]
path = "displayName"
column = "name"
"#;

/// Rows mapped and validated in memory, as a directory or state-file source would.
fn prepared(mapping: &Mapping, rows: &[[&str; 3]]) -> (Vec<String>, Vec<Prepared>) {
    let names: Vec<String> = ["id", "email", "name"].map(String::from).to_vec();
    let header = Header::new(names.clone());
    let out = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let record = Record {
                row: i as u64 + 1,
                fields: r.iter().map(|f| f.to_string()).collect(),
            };
            let result = check_record(mapping, &header, &record);
            Prepared {
                record,
                result,
                keys: Default::default(),
            }
        })
        .collect();
    (names, out)
}

async fn emulator() -> EmulatorHandle {
    spawn(EmulatorConfig {
        rate_limit_per_minute: None,
        ..Default::default()
    })
    .await
    .expect("emulator starts")
}

fn config(emu: &EmulatorHandle, dir: &Path) -> EngineConfig {
    let mapping = dir.join("mapping.toml");
    std::fs::write(&mapping, MAPPING).expect("write mapping");
    let target = Target::emulator(&emu.url(), emu.client_id(), emu.client_secret());
    let mut cfg = EngineConfig::new(
        TargetChoice::Tenant(target),
        dir.join("runs"),
        InputChoice::Feed {
            label: "directory:ou=people".into(),
        },
        mapping,
    );
    cfg.api.pace = crate::apply::limiter::Pace::Off;
    cfg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_caller_feeds_users_without_a_file_and_gets_a_typed_report() {
    let emu = emulator().await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let engine = Engine::try_new(config(&emu, tmp.path())).expect("engine");
    let (header, rows) = prepared(
        engine.mapping(),
        &[
            ["E1", "ada@example.com", "Ada Lovelace"],
            ["E2", "not-an-email", "Bad Row"],
            ["E3", "alan@example.com", "Alan Turing"],
        ],
    );
    let report = engine
        .run(RowsSource::new(header, rows), Controls::quiet())
        .await
        .expect("run");

    assert_eq!(report.done.created, 2, "{report:?}");
    assert_eq!(report.done.invalid, 1);
    assert_eq!(report.rows, 3);
    assert_eq!(report.verdict(), Verdict::Failure);
    assert_eq!(report.input, Path::new("directory:ou=people"));
    assert_eq!(report.calls.stats.post, 2);
    let names: BTreeSet<String> = emu
        .users()
        .into_iter()
        .filter_map(|u| u.user.user_name.clone())
        .collect();
    assert_eq!(
        names,
        BTreeSet::from(["ada@example.com".into(), "alan@example.com".into()])
    );
    // The run directory is complete: ledger, failed.csv (header only: no file to
    // read the original columns from, and the user is told) and summary.json.
    assert!(report.dir.ledger_path().exists());
    assert!(report.dir.failed_path().exists());
    assert_eq!(report.notes.len(), 1, "{:?}", report.notes);
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(report.dir.summary_path()).expect("summary"))
            .expect("json");
    assert_eq!(json["done"]["created"], 2);
    assert_eq!(json["outcomes"]["invalid"], 1);
    emu.shutdown().await;
}

/// An object's keys, sorted (serde_json's map sorts them on reading).
fn keys(v: &serde_json::Value) -> BTreeSet<&str> {
    v.as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn summary_json_keeps_every_key() {
    let emu = emulator().await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut cfg = config(&emu, tmp.path());
    cfg.dry_run = true;
    let engine = Engine::try_new(cfg).expect("engine");
    let (header, rows) = prepared(engine.mapping(), &[["E1", "ada@example.com", "Ada"]]);
    let report = engine
        .run(RowsSource::new(header, rows), Controls::quiet())
        .await
        .expect("run");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(report.dir.summary_path()).expect("summary"))
            .expect("json");
    assert_eq!(
        keys(&json),
        BTreeSet::from([
            "run_id",
            "rows",
            "outcomes",
            "actions",
            "error_kinds",
            "audit_head",
            "audit_lines",
            "calls",
            "calls_per_changed_user",
            "deferred_managers",
            "done",
            "dry_run",
            "failed_csv_sha256",
            "group_patches",
            "input",
            "lookup",
            "lookup_calls",
            "mapping",
            "plan",
            "preflight",
            "seconds",
            "sink_seconds",
            "stopped",
            "success_rate",
            "target",
            "warnings",
            "webhooks",
            "writer_cpu_seconds",
        ])
    );
    assert_eq!(
        keys(&json["preflight"]),
        BTreeSet::from(["calls", "mode", "status", "warnings"])
    );
    assert_eq!(json["preflight"]["status"], "passed");
    assert_eq!(
        keys(&json["calls"]),
        BTreeSet::from([
            "adopted",
            "circuit_open",
            "current_rate",
            "failed",
            "get",
            "p50_ms",
            "p95_ms",
            "p99_ms",
            "patch",
            "pauses",
            "post",
            "put",
            "retries",
            "status_429",
            "token",
            "total",
            "writes",
        ])
    );
    assert_eq!(
        keys(&json["done"]),
        BTreeSet::from([
            "created",
            "updated",
            "reactivated",
            "deactivated",
            "unchanged",
            "inactive_absent",
            "failed",
            "invalid",
            "pending",
            "plan_stale",
        ])
    );
    // A dry run's plan (issue 18): the file, its rows and users, its hashes, and
    // the counts per action and per field.
    assert_eq!(
        keys(&json["plan"]),
        BTreeSet::from([
            "path",
            "rows",
            "users",
            "sha256",
            "input_sha256",
            "mapping_sha256",
            "actions",
            "fields",
        ])
    );
    // And in the file's order: the ledger's counts first, then the details.
    let text = std::fs::read_to_string(report.dir.summary_path()).expect("summary");
    let at = |k: &str| text.find(&format!("\n  \"{k}\":")).expect(k);
    let order = [
        "run_id",
        "rows",
        "outcomes",
        "actions",
        "error_kinds",
        "audit_head",
        "audit_lines",
    ];
    assert!(order.windows(2).all(|w| at(w[0]) < at(w[1])), "{text}");
    assert!(at("audit_lines") < at("writer_cpu_seconds"));
    // The head the writer computed is the one the file on disk has.
    let on_disk = crate::audit::verify(&report.dir.audit_path()).expect("verify");
    assert!(on_disk.is_intact(), "{on_disk:?}");
    assert_eq!(on_disk.head.as_deref(), Some(report.audit_head.as_str()));
    assert_eq!(json["audit_head"], report.audit_head.as_str());
    assert_eq!(report.audit_head.len(), 64);
    // Inside `done` and `calls`, alphabetical.
    let inner = |outer: &str, a: &str, b: &str| {
        let from = at(outer);
        let pos = |k: &str| from + text[from..].find(&format!("\"{k}\":")).expect(k);
        pos(a) < pos(b)
    };
    assert!(inner("done", "created", "deactivated") && inner("done", "unchanged", "updated"));
    assert!(inner("calls", "adopted", "get") && inner("calls", "token", "writes"));
    assert_eq!(keys(&json["outcomes"]).len(), 5);
    assert_eq!(keys(&json["actions"]).len(), 6);
    assert_eq!(json["dry_run"], true);
    assert_eq!(json["calls"]["post"], 0, "a dry run sends no write");
    // A later --retry-failed reads the summary back through the ledger's type.
    let back = crate::ledger::RunSummary::read(&report.dir.summary_path()).expect("read back");
    assert_eq!(back.details["input"], "directory:ou=people");
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_run_leaves_every_row_pending_and_sends_no_write() {
    let emu = emulator().await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let engine = Engine::try_new(config(&emu, tmp.path())).expect("engine");
    let (header, rows) = prepared(
        engine.mapping(),
        &[
            ["E1", "ada@example.com", "Ada"],
            ["E2", "alan@example.com", "Alan"],
        ],
    );
    let (tx, interrupt) = tokio::sync::watch::channel(false);
    tx.send(true).expect("the engine listens");
    let controls = Controls {
        progress: indicatif::ProgressBar::hidden(),
        interrupt,
    };
    let report = engine
        .run(RowsSource::new(header, rows), controls)
        .await
        .expect("run");
    assert_eq!(report.stopped.as_deref(), Some("interrupted"));
    assert_eq!(report.done.pending, 2, "{report:?}");
    assert_eq!(report.verdict(), Verdict::Stopped);
    assert_eq!(report.calls.stats.post, 0);
    assert!(emu.users().is_empty());
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_input_that_does_not_fit_the_mapping_removes_the_new_run() {
    let emu = emulator().await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let csv = tmp.path().join("hr.csv");
    std::fs::write(&csv, "id,mail\nE1,ada@example.com\n").expect("write input");
    let mut cfg = config(&emu, tmp.path());
    cfg.input = InputChoice::File {
        path: Some(csv),
        format: None,
        delimiter: None,
    };
    let engine = Engine::try_new(cfg).expect("engine");
    let runs = tmp.path().join("runs");
    assert_eq!(std::fs::read_dir(&runs).expect("runs").count(), 1);
    let source = engine.file_source();
    let err = engine
        .run(source, Controls::quiet())
        .await
        .expect_err("the header lacks columns");
    assert!(
        matches!(err, EngineError::Input(InputError::Config(_))),
        "{err:?}"
    );
    assert_eq!(std::fs::read_dir(&runs).expect("runs").count(), 0);
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_14_a_run_in_use_is_refused_untouched_until_its_files_are_closed() {
    let emu = emulator().await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let engine = Engine::try_new(config(&emu, tmp.path())).expect("engine");
    let id = engine.run_id().to_string();
    let dir = crate::ledger::RunDir::open(&tmp.path().join("runs"), &id).expect("run dir");
    let files = || {
        [dir.journal_path(), dir.audit_path()]
            .map(|p| std::fs::read(p).expect("the run's files exist"))
    };
    let before = files();

    // The engine holds its run from try_new on: a resume and a retry of it are
    // refused with the typed error, and write nothing.
    let mut resume = config(&emu, tmp.path());
    resume.kind = RunKind::Resume(id.clone());
    let err = Engine::try_new(resume.clone()).expect_err("the run is in use");
    assert!(matches!(err, EngineError::Locked(_)), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains(&id), "{msg}");
    assert!(
        msg.contains(&format!("process {}", std::process::id())),
        "{msg}"
    );
    let mut retry = config(&emu, tmp.path());
    retry.kind = RunKind::RetryFailed(id.clone());
    let err = Engine::try_new(retry).expect_err("the run is in use");
    assert!(matches!(err, EngineError::Locked(_)), "{err:?}");
    assert_eq!(files(), before, "a refused process wrote into the run");
    assert_eq!(
        std::fs::read_dir(tmp.path().join("runs"))
            .expect("runs")
            .count(),
        1,
        "the refused retry left a run directory behind"
    );

    let (header, rows) = prepared(engine.mapping(), &[["E1", "ada@example.com", "Ada"]]);
    let report = engine
        .run(RowsSource::new(header, rows), Controls::quiet())
        .await
        .expect("run");
    assert_eq!(report.done.created, 1);
    // Its files are closed: the run is free again.
    let resumed = Engine::try_new(resume).expect("a finished run can be resumed");
    assert!(resumed.resumed());
    emu.shutdown().await;
}
