//! No webhook without a secret; a wrong secret, a stale timestamp, a replay and a
//! tampered body rejected by the library and by `scimport webhook verify`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use scimport::emulator::{EmulatorConfig, spawn};
use scimport::webhook::WebhookSecret;
use serde_json::Value;

use super::*;
use crate::common::{hr_rows, show, write_csv};

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
        // Not processed again (the receiver tracks ids), yet acknowledged.
        ("replay", (200, "replay".to_string())),
        ("tampered", (400, "invalid".to_string())),
        ("stale", (400, "invalid".to_string())),
        ("wrong secret", (400, "invalid".to_string())),
        ("fresh", (200, "accepted".to_string())),
    ]);
    assert_eq!(got, want);
    // Processed: the original and the fresh one, nothing else.
    assert_eq!(rx.with_verdict("accepted").len(), 2);
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
