//! End-to-end tests: ledger, audit and the `ledger`/`audit` commands.
//!
//! The ledger is read back by independent readers (pyarrow and DuckDB through
//! scripts/read_ledger.py), the commands run as the real binary.

use std::path::Path;
use std::process::Command as Process;

use assert_cmd::Command;
use chrono::{DateTime, Utc};
use predicates::prelude::*;
use scimport::audit::{AuditEvent, AuditLog};
use scimport::ledger::{Action, LedgerRow, LedgerWriter, Outcome, RunDir, RunSummary, intern};
use serde_json::Value;

use crate::common;

fn row(n: u64) -> LedgerRow {
    let (action, outcome, status, kind) = match n % 10 {
        0 => (Action::None, Outcome::Invalid, None, Some("invalid_email")),
        1 => (Action::Create, Outcome::Failed, Some(409), Some("conflict")),
        2 => (Action::Update, Outcome::Succeeded, Some(200), None),
        3 => (Action::Skip, Outcome::Skipped, None, None),
        4 => (Action::Reactivate, Outcome::Succeeded, Some(200), None),
        5 => (Action::Create, Outcome::Pending, None, None),
        _ => (Action::Create, Outcome::Succeeded, Some(201), None),
    };
    LedgerRow {
        row: n,
        external_id: (!n.is_multiple_of(7)).then(|| format!("E{n:06}")),
        user_name: Some(format!("jöns.{n}@example.com")),
        action,
        outcome,
        http_status: status,
        scim_id: (outcome == Outcome::Succeeded).then(|| format!("3fa2-{n}")),
        attempts: status.map_or(0, |_| 1 + (n % 3) as u32),
        latency_ms: n as f64 * 0.25,
        error_kind: kind.map(|k| scimport::model::ErrorKind::parse(k).expect("a ledger spelling")),
        error: kind.map(|k| format!("{k} on row {n}: \"quoted\"\ttab")),
        changed_fields: match action {
            Action::Update => vec!["displayName".into(), "title".into()],
            Action::Create => vec!["userName".into()],
            _ => vec![],
        },
        source_hash: format!("{:064x}", n * 2654435761),
        finished_at: DateTime::<Utc>::from_timestamp_micros(1_795_000_000_000_000 + n as i64)
            .expect("in range"),
        warning: None,
        wait_ms: 0.0,
    }
}

/// A finished run with `n` ledger rows, its summary.json and a sealed audit log.
fn make_run(runs: &Path, n: u64) -> (RunDir, RunSummary) {
    let run = RunDir::create(runs).unwrap();
    let mut ledger = LedgerWriter::try_new(&run.ledger_path(), &run.id).unwrap();
    let mut audit = AuditLog::create(&run.audit_path(), &run.id).unwrap();
    for i in 1..=n {
        let r = row(i);
        ledger.write(&r).unwrap();
        if let Some(status) = r.http_status {
            audit
                .append(&AuditEvent::call(
                    Some(i),
                    "POST",
                    "/api/v2/scim/v2/Users",
                    Some(status as u16),
                    r.latency_ms,
                    1,
                ))
                .unwrap();
        }
        audit
            .append(&AuditEvent::decision(i, r.action, r.outcome))
            .unwrap();
    }
    let counts = ledger.close().unwrap();
    audit.close().unwrap();
    let mut summary = RunSummary::new(&run.id, &counts);
    summary
        .details
        .insert("calls".into(), serde_json::json!({"post": 42, "token": 1}));
    summary.write(&run.summary_path()).unwrap();
    (run, summary)
}

pub fn read_with_python(ledger: &Path) -> Value {
    let python = common::python();
    let out = Process::new(&python)
        .arg(common::root().join("scripts/read_ledger.py"))
        .arg(ledger)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {python} (run scripts/test once to install pyarrow+duckdb): {e}")
        });
    assert!(
        out.status.success(),
        "read_ledger.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn pyarrow_and_duckdb_read_the_pinned_schema_and_counts_equal_summary_json() {
    let tmp = tempfile::tempdir().unwrap();
    // Over one row group (128Ki rows) so that row groups are exercised.
    let n = 150_000;
    let (run, _) = make_run(tmp.path(), n);
    let got = read_with_python(&run.ledger_path());
    let summary: Value =
        serde_json::from_slice(&std::fs::read(run.summary_path()).unwrap()).unwrap();

    let pa = &got["pyarrow"];
    let schema: Vec<(String, String, bool)> = serde_json::from_value(pa["schema"].clone()).unwrap();
    let want = [
        ("run_id", "string", false),
        // Nullable since issue 16: a sync's leaver has no input row.
        ("row", "uint64", true),
        ("external_id", "string", true),
        ("user_name", "string", true),
        ("action", "string", false),
        ("outcome", "string", false),
        ("http_status", "int32", true),
        ("scim_id", "string", true),
        ("attempts", "uint32", false),
        ("latency_ms", "double", false),
        ("error_kind", "string", true),
        ("error", "string", true),
        ("changed_fields", "list<item: string not null>", false),
        ("source_hash", "string", false),
        ("finished_at", "timestamp[us, tz=UTC]", false),
        ("webhook", "string", true),
        ("warning", "string", true),
        ("wait_ms", "double", false),
    ];
    let want: Vec<(String, String, bool)> = want
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), *c))
        .collect();
    assert_eq!(schema, want);
    assert_eq!(pa["rows"], n);
    assert_eq!(pa["distinct_rows"], n, "one ledger row per input row");
    assert_eq!(pa["sorted"], true);
    assert_eq!(pa["run_ids"], serde_json::json!([run.id]));
    assert_eq!(pa["compression"], serde_json::json!(["SNAPPY"]));
    assert_eq!(pa["row_groups"], 2);
    assert!(pa["max_row_group_rows"].as_u64().unwrap() <= 131_072);
    assert_eq!(pa["first"]["user_name"], "jöns.1@example.com");
    assert_eq!(
        pa["first"]["changed_fields"],
        serde_json::json!(["userName"])
    );
    assert_eq!(pa["first"]["http_status"], 409);

    // Counts equal summary.json, for every outcome (zeros absent from the file).
    assert_eq!(summary["rows"], n);
    for (outcome, count) in summary["outcomes"].as_object().unwrap() {
        let pa_n = pa["outcomes"]
            .get(outcome)
            .cloned()
            .unwrap_or(Value::from(0));
        let db_n = got["duckdb"]["outcomes"]
            .get(outcome)
            .cloned()
            .unwrap_or(Value::from(0));
        assert_eq!(&pa_n, count, "pyarrow {outcome}");
        assert_eq!(&db_n, count, "duckdb {outcome}");
    }
    assert_eq!(summary["outcomes"].as_object().unwrap().len(), 5);
    for (action, count) in summary["actions"].as_object().unwrap() {
        let pa_n = pa["actions"].get(action).cloned().unwrap_or(Value::from(0));
        assert_eq!(&pa_n, count, "pyarrow {action}");
    }

    let db = &got["duckdb"];
    assert_eq!(db["rows"], n);
    assert_eq!(db["distinct_rows"], n);
    assert_eq!(db["types"]["row"], "UBIGINT");
    assert_eq!(db["types"]["http_status"], "INTEGER");
    assert_eq!(db["types"]["attempts"], "UINTEGER");
    assert_eq!(db["types"]["latency_ms"], "DOUBLE");
    assert_eq!(db["types"]["changed_fields"], "VARCHAR[]");
    assert_eq!(db["types"]["finished_at"], "TIMESTAMP WITH TIME ZONE");
    let failed = summary["outcomes"]["failed"].as_u64().unwrap()
        + summary["outcomes"]["invalid"].as_u64().unwrap();
    assert_eq!(db["failed_with_error"], failed);
    // Updates carry 2 changed fields, creates 1.
    let expect_changed = 2 * summary["actions"]["update"].as_u64().unwrap()
        + summary["actions"]["create"].as_u64().unwrap();
    assert_eq!(db["changed_fields_total"], expect_changed);
}

fn scimport() -> Command {
    Command::cargo_bin("scimport").unwrap()
}

#[test]
fn ledger_summary_prints_counts_and_json() {
    let tmp = tempfile::tempdir().unwrap();
    let (run, summary) = make_run(tmp.path(), 100);
    let out = scimport()
        .args(["ledger", "summary", &run.id, "--json", "--runs-dir"])
        .arg(tmp.path())
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let json: RunSummary = serde_json::from_slice(&out).unwrap();
    assert_eq!(json, summary);
    assert_eq!(json.outcomes["failed"], 10);
    assert_eq!(json.details["calls"]["post"], 42);

    // By path to the run directory, human table.
    scimport()
        .args(["ledger", "summary"])
        .arg(&run.root)
        .assert()
        .success()
        .stdout(predicate::str::contains("rows        100"))
        .stdout(predicate::str::contains(
            "succeeded 60  failed 10  invalid 10  skipped 10  pending 10",
        ))
        .stdout(predicate::str::contains("invalid_email  10"))
        .stdout(predicate::str::contains("conflict       10"))
        // Counters named like secrets ("token") are counts, not secrets: printed as
        // is, for people (issue 19: no raw JSON).
        .stdout(predicate::str::contains(
            "calls       42 (42 POST), plus 1 token request",
        ));

    scimport()
        .args(["ledger", "summary", "no-such-run", "--runs-dir"])
        .arg(tmp.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no-such-run"));
}

#[test]
fn ledger_failed_lists_failed_and_invalid_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let (run, _) = make_run(tmp.path(), 30);
    let out = scimport()
        .args(["ledger", "failed", &run.id, "--runs-dir"])
        .arg(tmp.path())
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "row\texternal_id\tuser_name\terror_kind\terror");
    let rows: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    assert_eq!(rows, ["1", "10", "11", "20", "21", "30"]);
    assert!(lines.iter().all(|l| l.split('\t').count() == 5), "{text}");
    assert!(text.contains("1\tE000001\tjöns.1@example.com\tconflict\tconflict on row 1"));
}

fn audit_lines(run: &RunDir) -> Vec<String> {
    std::fs::read_to_string(run.audit_path())
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn write_lines(run: &RunDir, lines: &[String]) {
    std::fs::write(run.audit_path(), lines.join("\n") + "\n").unwrap();
}

#[test]
fn audit_verify_detects_edit_delete_reorder_and_truncation() {
    let tmp = tempfile::tempdir().unwrap();
    let (run, _) = make_run(tmp.path(), 20);
    let verify = |expect: i32| {
        scimport()
            .args(["audit", "verify", &run.id, "--runs-dir"])
            .arg(tmp.path())
            .assert()
            .code(expect)
    };
    verify(0).stdout(predicate::str::contains("chain intact, sealed"));
    // By path to the file too.
    scimport()
        .args(["audit", "verify"])
        .arg(run.audit_path())
        .assert()
        .success();

    let orig = audit_lines(&run);
    assert!(orig.len() > 20);

    // Edit: a failed decision made to look successful.
    let mut edited = orig.clone();
    let i = edited
        .iter()
        .position(|l| l.contains("\"outcome\":\"failed\""))
        .unwrap();
    edited[i] = edited[i].replace("\"failed\"", "\"succeeded\"");
    write_lines(&run, &edited);
    verify(1).stdout(predicate::str::contains(format!(
        "line {}: prev_sha256 does not match line {}",
        i + 2,
        i + 1
    )));

    // Delete a line.
    let mut deleted = orig.clone();
    deleted.remove(7);
    write_lines(&run, &deleted);
    verify(1).stdout(predicate::str::contains("line 8: expected seq 8, found 9"));

    // Reorder two lines.
    let mut reordered = orig.clone();
    reordered.swap(4, 5);
    write_lines(&run, &reordered);
    verify(1).stdout(predicate::str::contains("line 5: expected seq 5, found 6"));

    // Truncate the tail (the seal and the last few events).
    write_lines(&run, &orig[..orig.len() - 3]);
    verify(1).stdout(predicate::str::contains("UNSEALED"));

    // Cut in the middle of a line.
    let mut text = orig.join("\n");
    text.truncate(text.len() - 10);
    std::fs::write(run.audit_path(), text).unwrap();
    verify(1).stdout(predicate::str::contains("incomplete"));

    write_lines(&run, &orig);
    verify(0);
}

/// Every string column written by hand (`changed_fields`, ids, names, errors, hashes,
/// `run_id`, `action`, `outcome`) reads back row for row in pyarrow and in DuckDB,
/// over several pages: long SCIM paths, paths that appear once, rows whose lists
/// differ from their neighbours', nulls, and a whole page without ids or errors.
#[test]
fn pyarrow_and_duckdb_read_every_string_column_back() {
    const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:";
    let tmp = tempfile::tempdir().unwrap();
    let run = RunDir::create(tmp.path()).unwrap();
    let mut ledger = LedgerWriter::try_new(&run.ledger_path(), &run.id).unwrap();
    let n = 7_000u64;
    let mut want = Vec::new();
    for i in 1..=n {
        let mut r = row(i);
        r.changed_fields = match i % 5 {
            0 => vec![],
            // Interned paths (as the planner makes them) and owned ones.
            1 => vec![intern(&format!("{ENT}department")), "title".into()],
            2 => vec![
                "title".into(),
                intern(&format!("{ENT}division")),
                format!("{ENT}department").into(),
            ],
            3 => vec![format!("{ENT}only{i}").into(), "displayName".into()],
            _ => vec!["phoneNumbers[type eq \"mobile\"].value".into()],
        };
        // The second page (the writer's batches are 2,048 rows): only nulls.
        if (2049..=4096).contains(&i) {
            (r.external_id, r.scim_id, r.error, r.error_kind) = (None, None, None, None);
        }
        want.push(serde_json::json!([
            run.id,
            r.external_id,
            r.user_name,
            r.action.as_str(),
            r.outcome.as_str(),
            r.scim_id,
            r.error,
            r.changed_fields,
            r.source_hash,
        ]));
        ledger.write(&r).unwrap();
    }
    ledger.close().unwrap();
    let script = r#"import json, sys, duckdb, pyarrow.parquet as pq
cols = ['run_id', 'external_id', 'user_name', 'action', 'outcome', 'scim_id', 'error',
        'changed_fields', 'source_hash']
t = pq.read_table(sys.argv[1], columns=cols)
pa_rows = [list(r) for r in zip(*(t.column(c).to_pylist() for c in cols))]
con = duckdb.connect()
db_rows = [list(r) for r in con.execute(
    f"select {', '.join(cols)} from read_parquet('{sys.argv[1]}') order by row").fetchall()]
print(json.dumps({'pyarrow': pa_rows, 'duckdb': db_rows}))"#;
    let out = Process::new(common::python())
        .arg("-c")
        .arg(script)
        .arg(run.ledger_path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    for reader in ["pyarrow", "duckdb"] {
        let rows = got[reader].as_array().unwrap();
        assert_eq!(rows.len() as u64, n, "{reader}");
        for (i, (g, w)) in rows.iter().zip(&want).enumerate() {
            assert_eq!(g, w, "{reader}, row {}", i + 1);
        }
    }
}
