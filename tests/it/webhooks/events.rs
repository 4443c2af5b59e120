//! One verified event per outcome with the right type, batches, and a delivery
//! that finally fails (recorded; the row unaffected).

use std::collections::{BTreeMap, BTreeSet};

use scimport::emulator::{EmulatorConfig, spawn};
use serde_json::Value;

use super::*;
use crate::common::{hr_rows, read_json, show, write_csv};

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

const QUERY_TOKEN: &str = "Wq7-webhook-query-token";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_17_a_delivery_that_finally_fails_is_recorded_and_never_fails_the_row() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let rx = Receiver::start(tmp.path(), &["--fail-first", "100000"]);
    let csv = write_csv(tmp.path(), "hr.csv", &hr_rows(4));
    // A receiver that wants a key in its URL (Azure Functions' `code=`): a secret
    // too, though no pattern names it.
    let url = format!("{}?code={QUERY_TOKEN}", rx.url());
    let args = [
        csv.to_str().unwrap(),
        "--mapping",
        "fixtures/mapping.toml",
        "--webhook-url",
        &url,
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
    // Neither the signing secret nor the URL's token anywhere in the run's files
    // or output.
    let key = SECRET.trim_start_matches("whsec_");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for secret in [key, QUERY_TOKEN] {
            assert!(
                !text.contains(secret),
                "{secret} leaked into {}",
                path.display()
            );
        }
    }
    let output = show(&out);
    assert!(
        !output.contains(key) && !output.contains(QUERY_TOKEN),
        "{output}"
    );
}
