//! Standard Webhooks (issue 17): the real binary imports into the in-process
//! emulator and posts events to a receiver started by the test
//! (`webhooks/receiver.py`), which verifies each delivery with the independent
//! `standardwebhooks` package from PyPI and deduplicates by id. Covers: one
//! verified event per outcome with the right type, batches, a delivery that
//! finally fails (ledger, audit, summary; the row unaffected), a receiver down for
//! a while, a killed run resumed, refusal without a secret, and rejections (wrong
//! secret, stale timestamp, replay, tampered body) by the library and by
//! `scimport webhook verify`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use scimport::emulator::{EmulatorConfig, EmulatorHandle, spawn};
use scimport::webhook::WebhookSecret;
use serde_json::Value;

use crate::common::{self, hr_rows, read_json, show, write_csv};

const SECRET: &str = "whsec_c2NpbXBvcnQtd2ViaG9vay10ZXN0LXNlY3JldC0xMjM=";
const OTHER_SECRET: &str = "whsec_YW5vdGhlci13ZWJob29rLXNlY3JldC00NTY=";

/// The test receiver, a child process; killed on drop.
struct Receiver {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Receiver {
    fn start(dir: &Path, extra: &[&str]) -> Receiver {
        let script = common::root().join("tests/it/webhooks/receiver.py");
        let port_file = dir.join("receiver.port");
        let log = dir.join("receiver.jsonl");
        let mut child = Command::new(common::python())
            .arg(&script)
            .arg("--port-file")
            .arg(&port_file)
            .arg("--log")
            .arg(&log)
            .args(extra)
            .env("RECEIVER_SECRET", SECRET)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {} ({e}): set SCIMPORT_PYTHON to a Python with standardwebhooks==1.3.0 (scripts/test installs it)",
                    common::python()
                )
            });
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(p) = std::fs::read_to_string(&port_file) {
                let port = p.trim().parse().expect("a port");
                return Receiver { child, port, log };
            }
            if let Some(status) = child.try_wait().expect("try_wait") {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut err);
                }
                panic!(
                    "the webhook receiver exited ({status}); is standardwebhooks installed in {}?\n{err}",
                    common::python()
                );
            }
            assert!(
                Instant::now() < deadline,
                "the webhook receiver did not start"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    /// Every request logged so far.
    fn entries(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    fn with_verdict(&self, verdict: &str) -> Vec<Value> {
        self.entries()
            .into_iter()
            .filter(|e| e["verdict"] == verdict)
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `scimport import` against the emulator, with SCIMPORT_WEBHOOK_SECRET set to
/// `secret` (or unset) and fast retries.
fn import_cmd(emu: &EmulatorHandle, runs: &Path, secret: Option<&str>, args: &[&str]) -> Command {
    let url = emu.url();
    let mut cmd = common::scimport(emu.client_id(), emu.client_secret());
    cmd.arg("import")
        .args(args)
        .args(["--api-url", &url, "--rate", "off", "--runs-dir"])
        .arg(runs)
        .arg("--quiet")
        .env_remove("SCIMPORT_WEBHOOK_SECRET");
    if let Some(s) = secret {
        cmd.env("SCIMPORT_WEBHOOK_SECRET", s);
    }
    cmd
}

async fn import(emu: &EmulatorHandle, runs: &Path, secret: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = import_cmd(emu, runs, secret, args);
    tokio::task::spawn_blocking(move || cmd.output().expect("run scimport"))
        .await
        .expect("join")
}

fn run_dirs(runs: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(runs)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Journal lines of type `t`.
fn journal(dir: &Path, t: &str) -> Vec<Value> {
    std::fs::read_to_string(dir.join("journal.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["t"] == t)
        .collect()
}

/// The ledger's `webhook` column by row, read by pyarrow.
fn ledger_webhooks(dir: &Path) -> BTreeMap<u64, Option<String>> {
    let out = Command::new(common::python())
        .args([
            "-c",
            "import json,sys,pyarrow.parquet as pq; t=pq.read_table(sys.argv[1]); print(json.dumps(list(zip(t.column('row').to_pylist(), t.column('webhook').to_pylist()))))",
        ])
        .arg(dir.join("ledger.parquet"))
        .output()
        .expect("python with pyarrow (SCIMPORT_PYTHON)");
    assert!(out.status.success(), "{}", show(&out));
    let pairs: Vec<(u64, Option<String>)> = serde_json::from_slice(&out.stdout).expect("json");
    pairs.into_iter().collect()
}

fn body(e: &Value) -> Value {
    serde_json::from_str(e["body"].as_str().expect("a body")).expect("a JSON body")
}

/// Accepted events' types by row.
fn types_by_row(entries: &[Value]) -> BTreeMap<u64, String> {
    entries
        .iter()
        .map(body)
        .map(|b| {
            (
                b["data"]["row"].as_u64().expect("row"),
                b["type"].as_str().expect("type").to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_17_every_outcome_sends_one_verified_event_of_its_type() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let rx = Receiver::start(tmp.path(), &[]);
    let mut rows = hr_rows(12);
    rows[4] = rows[4].replace("@example.com", ""); // row 5: an invalid email
    let csv = write_csv(tmp.path(), "hr.csv", &rows);
    let args = [
        csv.to_str().unwrap(),
        "--mapping",
        "fixtures/mapping.toml",
        "--webhook-url",
        &rx.url(),
    ];
    let out = import(&emu, &runs, Some(SECRET), &args).await;
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let first = types_by_row(&rx.with_verdict("accepted"));
    let mut want: BTreeMap<u64, String> =
        (1..=12).map(|r| (r, "user.created".to_string())).collect();
    want.insert(5, "user.failed".into());
    assert_eq!(first, want);

    // Row 2 changed, row 3 deactivated in the tenant: updated, reactivated, and
    // row 5 fails again; the nine unchanged rows send nothing.
    let id = emu
        .users()
        .into_iter()
        .find(|u| u.user.external_id.as_deref() == Some("E000003"))
        .and_then(|u| u.user.id)
        .expect("id");
    let res = common::http()
        .patch(format!("{}/users/{id}", emu.scim_url()))
        .bearer_auth(common::token(&emu).await)
        .json(&serde_json::json!({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":false}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    rows[1] = rows[1].replacen(",Agent,", ",Senior Agent,", 1);
    write_csv(tmp.path(), "hr.csv", &rows);
    let before = rx.entries().len();
    let out = import(&emu, &runs, Some(SECRET), &args).await;
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let second: Vec<Value> = rx.entries()[before..].to_vec();
    assert!(
        second.iter().all(|e| e["verdict"] == "accepted"),
        "{second:?}"
    );
    let want = BTreeMap::from([
        (2, "user.updated".to_string()),
        (3, "user.reactivated".to_string()),
        (5, "user.failed".to_string()),
    ]);
    assert_eq!(types_by_row(&second), want);
    let b = body(&second[0]);
    for key in [
        "run_id",
        "row",
        "external_id",
        "user_name",
        "scim_id",
        "action",
        "outcome",
        "error_kind",
        "error",
    ] {
        assert!(b["data"].get(key).is_some(), "data.{key} missing: {b}");
    }
    assert!(chrono::DateTime::parse_from_rfc3339(b["timestamp"].as_str().unwrap()).is_ok());

    // The ids are the journal's; the ledger and summary.json say delivered.
    let dir = run_dirs(&runs).pop().expect("second run");
    let journaled: BTreeSet<String> = journal(&dir, "event")
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    let received: BTreeSet<String> = second
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(journaled, received);
    let ledger = ledger_webhooks(&dir);
    for (row, w) in &ledger {
        let want = [2, 3, 5].contains(row).then(|| "delivered".to_string());
        assert_eq!(w, &want, "row {row}");
    }
    let s = read_json(&dir.join("summary.json"));
    assert_eq!(
        s["webhooks"],
        serde_json::json!({"sent":3,"delivered":3,"failed":0,"pending":0})
    );
    // Every request verified: nothing invalid, nothing seen twice.
    assert_eq!(rx.entries().len(), rx.with_verdict("accepted").len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_17_batches_carry_every_event_once() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let rx = Receiver::start(tmp.path(), &[]);
    let csv = write_csv(tmp.path(), "hr.csv", &hr_rows(12));
    let args = [
        csv.to_str().unwrap(),
        "--mapping",
        "fixtures/mapping.toml",
        "--webhook-url",
        &rx.url(),
        "--webhook-batch",
        "5",
    ];
    let out = import(&emu, &runs, Some(SECRET), &args).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let got = rx.with_verdict("accepted");
    assert_eq!(rx.entries().len(), got.len(), "every batch verified");
    let sizes: Vec<usize> = got
        .iter()
        .map(|e| body(e)["data"]["events"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes.iter().sum::<usize>(), 12, "{sizes:?}");
    assert_eq!(sizes.len(), 3, "{sizes:?}");
    let mut rows = Vec::new();
    for e in &got {
        let b = body(e);
        assert_eq!(b["type"], "user.batch");
        for ev in b["data"]["events"].as_array().unwrap() {
            assert_eq!(ev["type"], "user.created");
            rows.push(ev["data"]["row"].as_u64().unwrap());
        }
    }
    rows.sort_unstable();
    assert_eq!(rows, (1..=12).collect::<Vec<u64>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_17_a_delivery_that_finally_fails_is_recorded_and_never_fails_the_row() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let rx = Receiver::start(tmp.path(), &["--fail-first", "100000"]);
    let csv = write_csv(tmp.path(), "hr.csv", &hr_rows(4));
    let args = [
        csv.to_str().unwrap(),
        "--mapping",
        "fixtures/mapping.toml",
        "--webhook-url",
        &rx.url(),
        "--webhook-attempts",
        "3",
        "--webhook-backoff-ms",
        "5",
    ];
    let out = import(&emu, &runs, Some(SECRET), &args).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "the rows succeeded: {}",
        show(&out)
    );
    assert_eq!(
        rx.with_verdict("down").len(),
        12,
        "3 attempts for each of 4 events"
    );
    let dir = run_dirs(&runs).pop().expect("run");
    assert!(
        ledger_webhooks(&dir)
            .values()
            .all(|w| w.as_deref() == Some("failed"))
    );
    let s = read_json(&dir.join("summary.json"));
    assert_eq!(
        s["webhooks"],
        serde_json::json!({"sent":4,"delivered":0,"failed":4,"pending":0})
    );
    assert_eq!(s["outcomes"]["succeeded"], 4);
    let audit = std::fs::read_to_string(dir.join("audit.jsonl")).expect("audit");
    let failures: Vec<&str> = audit
        .lines()
        .filter(|l| l.contains("\"kind\":\"webhook_failed\""))
        .collect();
    assert_eq!(failures.len(), 4, "{audit}");
    assert!(failures[0].contains("HTTP 503"), "{}", failures[0]);
    assert!(
        !audit.contains("c2NpbXBvcnQtd2ViaG9vay10ZXN0"),
        "the secret leaked into the audit log"
    );
}

/// Waits (bounded) until `cond` holds; panics with `what` otherwise.
fn wait_for(what: &str, secs: u64, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn ids(entries: &[Value]) -> BTreeSet<String> {
    entries
        .iter()
        .filter_map(|e| e["id"].as_str().map(String::from))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_17_a_receiver_down_for_a_while_gets_every_event_with_the_same_ids() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let up = tmp.path().join("up");
    let rx = Receiver::start(tmp.path(), &["--down-while-missing", up.to_str().unwrap()]);
    let csv = write_csv(tmp.path(), "hr.csv", &hr_rows(6));
    let url = rx.url();
    let args = [
        csv.to_str().unwrap(),
        "--mapping",
        "fixtures/mapping.toml",
        "--webhook-url",
        &url,
        "--webhook-attempts",
        "100",
        "--webhook-backoff-ms",
        "20",
    ];
    let mut cmd = import_cmd(&emu, &runs, Some(SECRET), &args);
    let status = tokio::task::block_in_place(|| {
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        // Every event refused at least once while the receiver is down...
        wait_for("a failed attempt of each event", 120, || {
            ids(&rx.with_verdict("down")).len() == 6
        });
        std::fs::write(&up, "").unwrap();
        child.wait().expect("wait")
    });
    assert_eq!(status.code(), Some(0));
    // ...then delivered once it is back, under the ids of the failed attempts.
    let down = ids(&rx.with_verdict("down"));
    let accepted = rx.with_verdict("accepted");
    assert_eq!(ids(&accepted), down);
    assert_eq!(accepted.len(), 6, "each event accepted once");
    assert!(rx.with_verdict("invalid").is_empty());
    let dir = run_dirs(&runs).pop().expect("run");
    let s = read_json(&dir.join("summary.json"));
    assert_eq!(
        s["webhooks"],
        serde_json::json!({"sent":6,"delivered":6,"failed":0,"pending":0})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_17_a_killed_runs_undelivered_events_are_sent_by_resume() {
    let mut cfg = EmulatorConfig::for_tests();
    cfg.latency_ms = Some(scimport::emulator::LatencyRange { min: 1, max: 3 });
    let emu = spawn(cfg).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let up = tmp.path().join("up");
    let rx = Receiver::start(tmp.path(), &["--down-while-missing", up.to_str().unwrap()]);
    let total = 200;
    let csv = write_csv(tmp.path(), "hr.csv", &hr_rows(total));
    let url = rx.url();
    let wh = [
        "--webhook-url",
        url.as_str(),
        "--webhook-attempts",
        "100",
        "--webhook-backoff-ms",
        "100",
    ];
    let mut args = vec![
        csv.to_str().unwrap(),
        "--mapping",
        "fixtures/mapping.toml",
        "--concurrency",
        "4",
    ];
    args.extend(wh);
    let mut cmd = import_cmd(&emu, &runs, Some(SECRET), &args);
    let (dir, events_before, delivered_before) = tokio::task::block_in_place(|| {
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        let dir = || run_dirs(&runs).pop();
        wait_for("30 journaled events", 120, || {
            dir().is_some_and(|d| journal(&d, "event").len() >= 30)
        });
        std::fs::write(&up, "").unwrap();
        wait_for("a journaled delivery", 120, || {
            dir().is_some_and(|d| !journal(&d, "delivered").is_empty())
        });
        child.kill().expect("kill -9");
        let _ = child.wait();
        let d = dir().expect("run dir");
        (
            d.clone(),
            ids(&journal(&d, "event")),
            ids(&journal(&d, "delivered")),
        )
    });
    let pending_before: BTreeSet<String> = events_before
        .difference(&delivered_before)
        .cloned()
        .collect();
    assert!(
        !pending_before.is_empty(),
        "the kill must leave deliveries pending"
    );
    let id = dir.file_name().unwrap().to_str().unwrap().to_string();
    let mut resume = vec!["--resume", id.as_str()];
    resume.extend(wh);
    let out = import(&emu, &runs, Some(SECRET), &resume).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));

    // One event per row, all journaled, the earlier ones under their first ids.
    let events = journal(&dir, "event");
    let all = ids(&events);
    assert_eq!(all.len(), total);
    assert!(events_before.is_subset(&all));
    let rows: BTreeSet<u64> = events
        .iter()
        .flat_map(|e| {
            e["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_u64().unwrap())
        })
        .collect();
    assert_eq!(rows, (1..=total as u64).collect());
    // Every event reached the receiver, verified; the pending ones were sent again.
    let received = rx.entries();
    let mut receipts: HashMap<String, usize> = HashMap::new();
    for e in &received {
        if e["verdict"] == "accepted" || e["verdict"] == "duplicate" {
            *receipts
                .entry(e["id"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
    }
    assert!(received.iter().all(|e| e["verdict"] != "invalid"));
    for id in &all {
        assert!(
            receipts.get(id).is_some_and(|n| *n >= 1),
            "{id} never arrived"
        );
    }
    // Those acknowledged and journaled before the kill were not sent again.
    for id in &delivered_before {
        assert_eq!(
            receipts[id], 1,
            "{id} was acknowledged before the kill and sent again"
        );
    }
    let s = read_json(&dir.join("summary.json"));
    assert_eq!(s["webhooks"]["delivered"], total);
    assert_eq!(s["webhooks"]["pending"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_17_no_webhook_without_a_secret() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let csv = write_csv(tmp.path(), "hr.csv", &hr_rows(2));
    let args = [
        csv.to_str().unwrap(),
        "--mapping",
        "fixtures/mapping.toml",
        "--webhook-url",
        "http://127.0.0.1:9/hook",
    ];
    let out = import(&emu, &runs, None, &args).await;
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("SCIMPORT_WEBHOOK_SECRET") && err.contains("--webhook-unsigned"),
        "{err}"
    );
    let out = import(&emu, &runs, Some("default-secret"), &args).await;
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("whsec_<base64>") && !err.contains("default-secret"),
        "{err}"
    );
    assert_eq!(
        emu.stats().requests.values().sum::<u64>(),
        0,
        "no SCIM call"
    );
    assert!(run_dirs(&runs).is_empty(), "no run started");
}

async fn post(url: &str, headers: &[(&str, String)], body: &str) -> (u16, Value) {
    let mut req = common::http()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string());
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    let res = req.send().await.expect("post");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn signed(secret: &str, id: &str, ts: i64, body: &str) -> Vec<(&'static str, String)> {
    let s = WebhookSecret::parse(secret).unwrap();
    vec![
        ("webhook-id", id.to_string()),
        ("webhook-timestamp", ts.to_string()),
        ("webhook-signature", s.sign(id, ts, body.as_bytes())),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_17_wrong_secret_stale_timestamp_replay_and_tampered_body_are_rejected() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let rx = Receiver::start(tmp.path(), &[]);
    let csv = write_csv(tmp.path(), "hr.csv", &hr_rows(1));
    let args = [
        csv.to_str().unwrap(),
        "--mapping",
        "fixtures/mapping.toml",
        "--webhook-url",
        &rx.url(),
    ];
    let out = import(&emu, &runs, Some(SECRET), &args).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let captured = rx.with_verdict("accepted").pop().expect("a delivery");
    let body_text = captured["body"].as_str().unwrap().to_string();
    let h = &captured["headers"];
    let (id, ts) = (
        h["webhook-id"].as_str().unwrap().to_string(),
        h["webhook-timestamp"].as_str().unwrap().to_string(),
    );
    let original: Vec<(&str, String)> = ["webhook-id", "webhook-timestamp", "webhook-signature"]
        .into_iter()
        .map(|k| (k, h[k].as_str().unwrap().to_string()))
        .collect();
    let url = rx.url();
    let now = chrono::Utc::now().timestamp();
    let tampered = body_text.replace("user.created", "user.failed");
    let verdicts = vec![
        ("replay", post(&url, &original, &body_text).await),
        ("tampered", post(&url, &original, &tampered).await),
        (
            "stale",
            post(
                &url,
                &signed(SECRET, "msg_stale", now - 600, &body_text),
                &body_text,
            )
            .await,
        ),
        (
            "wrong secret",
            post(
                &url,
                &signed(OTHER_SECRET, "msg_wrong", now, &body_text),
                &body_text,
            )
            .await,
        ),
        (
            "fresh",
            post(
                &url,
                &signed(SECRET, "msg_fresh", now, &body_text),
                &body_text,
            )
            .await,
        ),
    ];
    let got: BTreeMap<&str, (u16, String)> = verdicts
        .into_iter()
        .map(|(k, (s, v))| (k, (s, v["verdict"].as_str().unwrap_or("").to_string())))
        .collect();
    let want = BTreeMap::from([
        ("replay", (409, "replay".to_string())),
        ("tampered", (400, "invalid".to_string())),
        ("stale", (400, "invalid".to_string())),
        ("wrong secret", (400, "invalid".to_string())),
        ("fresh", (200, "accepted".to_string())),
    ]);
    assert_eq!(got, want);
    let reasons: Vec<String> = rx
        .with_verdict("invalid")
        .iter()
        .map(|e| e["reason"].as_str().unwrap().to_lowercase())
        .collect();
    assert!(reasons.iter().any(|r| r.contains("too old")), "{reasons:?}");

    // `scimport webhook verify` judges the same deliveries the same way.
    let hfile = tmp.path().join("headers.txt");
    let mut f = std::fs::File::create(&hfile).unwrap();
    for (k, v) in &original {
        writeln!(f, "{k}: {v}").unwrap();
    }
    let bfile = tmp.path().join("body.json");
    std::fs::write(&bfile, &body_text).unwrap();
    let tfile = tmp.path().join("tampered.json");
    std::fs::write(&tfile, &tampered).unwrap();
    let verify = |body: &Path, env: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_scimport"));
        cmd.args([
            "webhook",
            "verify",
            "--secret-env",
            "WH_TEST_SECRET",
            "--headers",
        ])
        .arg(&hfile)
        .arg("--body")
        .arg(body)
        .env_remove("WH_TEST_SECRET");
        if let Some(s) = env {
            cmd.env("WH_TEST_SECRET", s);
        }
        cmd.output().expect("scimport webhook verify")
    };
    let ok = verify(&bfile, Some(SECRET));
    assert_eq!(ok.status.code(), Some(0), "{}", show(&ok));
    assert_eq!(
        String::from_utf8_lossy(&ok.stdout).trim(),
        format!("ok {id}")
    );
    let bad = verify(&tfile, Some(SECRET));
    assert_eq!(bad.status.code(), Some(1), "{}", show(&bad));
    assert!(String::from_utf8_lossy(&bad.stdout).contains("invalid: no matching signature"));
    let wrong = verify(&bfile, Some(OTHER_SECRET));
    assert_eq!(wrong.status.code(), Some(1), "{}", show(&wrong));
    let unset = verify(&bfile, None);
    assert_eq!(unset.status.code(), Some(2), "{}", show(&unset));
    // A raw HTTP request on stdin.
    let raw = format!(
        "POST /hook HTTP/1.1\r\nwebhook-id: {id}\r\nwebhook-timestamp: {ts}\r\nwebhook-signature: {}\r\n\r\n{body_text}",
        original[2].1
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_scimport"))
        .args(["webhook", "verify", "--secret-env", "WH_TEST_SECRET"])
        .env("WH_TEST_SECRET", SECRET)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(raw.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
}
