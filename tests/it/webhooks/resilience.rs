//! A receiver down for a while, and a run killed with deliveries pending then
//! resumed: every event arrives, under its first id.

use std::collections::{BTreeSet, HashMap};
use std::process::Stdio;

use scimport::emulator::{EmulatorConfig, spawn};

use super::*;
use crate::common::{hr_rows, read_json, show, write_csv};

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
        if ["accepted", "duplicate", "replay"].contains(&e["verdict"].as_str().unwrap_or("")) {
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
async fn issue_17_deliveries_left_at_the_drain_timeout_stay_pending_and_the_printed_resume_sends_them()
 {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let up = tmp.path().join("up");
    let rx = Receiver::start(tmp.path(), &["--down-while-missing", up.to_str().unwrap()]);
    let csv = write_csv(tmp.path(), "hr.csv", &hr_rows(3));
    let url = rx.url();
    let wh = ["--webhook-url", url.as_str(), "--webhook-backoff-ms", "20"];
    let mut args = vec![csv.to_str().unwrap(), "--mapping", "fixtures/mapping.toml"];
    args.extend(wh);
    args.extend(["--webhook-drain-timeout", "0"]);
    let out = import(&emu, &runs, Some(SECRET), &args).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let dir = run_dirs(&runs).pop().expect("run");
    let id = dir.file_name().unwrap().to_str().unwrap().to_string();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("webhooks: 3 sent, 0 delivered, 0 failed, 3 pending"),
        "{stdout}"
    );
    let cmd = format!(
        "scimport import --resume {id} --api-url {} --runs-dir {}",
        emu.url(),
        runs.display()
    );
    assert!(stdout.contains(&format!("run `{cmd}`")), "{stdout}");
    let s = read_json(&dir.join("summary.json"));
    assert_eq!(
        s["webhooks"],
        serde_json::json!({"sent":3,"delivered":0,"failed":0,"pending":3})
    );
    assert!(
        ledger_webhooks(&dir)
            .values()
            .all(|w| w.as_deref() == Some("pending"))
    );

    std::fs::write(&up, "").unwrap();
    let mut resume = vec!["--resume", id.as_str()];
    resume.extend(wh);
    let out = import(&emu, &runs, Some(SECRET), &resume).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(rx.with_verdict("accepted").len(), 3);
    let s = read_json(&dir.join("summary.json"));
    assert_eq!(
        s["webhooks"],
        serde_json::json!({"sent":3,"delivered":3,"failed":0,"pending":0})
    );
    assert!(
        ledger_webhooks(&dir)
            .values()
            .all(|w| w.as_deref() == Some("delivered"))
    );
}
