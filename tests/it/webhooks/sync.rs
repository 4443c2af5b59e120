//! `scimport sync` sends the same events: joiners created, leavers deactivated
//! (their `row` null), each verified by the receiver.

use std::collections::BTreeMap;

use super::*;
use crate::sync::{Bench, csv, people};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_17_a_sync_reports_joiners_and_leavers() {
    let b = Bench::new().await;
    let rx = Receiver::start(b.dir.path(), &[]);
    let url = rx.url();
    let env = [("SCIMPORT_WEBHOOK_SECRET", SECRET)];
    let staff = people(10);
    let source = b.source(&csv(&staff)).display().to_string();
    let flags = ["--webhook-url", url.as_str()];
    let first = b.sync_from(&["--source", &source], &env, &flags);
    assert_eq!(first.code(), Some(0), "{}", first.text());
    assert_eq!(rx.with_verdict("accepted").len(), 10);

    // Two leave, one joins.
    let mut now: Vec<_> = staff
        .iter()
        .filter(|p| p.id != "P0003" && p.id != "P0007")
        .cloned()
        .collect();
    let mut joiner = people(11).pop().expect("person 11");
    joiner.id = "P0011".into();
    now.push(joiner);
    b.source(&csv(&now));
    let before = rx.entries().len();
    let second = b.sync_from(&["--source", &source], &env, &flags);
    assert_eq!(second.code(), Some(0), "{}", second.text());
    let got = rx.entries()[before..].to_vec();
    assert!(got.iter().all(|e| e["verdict"] == "accepted"), "{got:?}");
    let mut by_ext: BTreeMap<String, (String, Value)> = BTreeMap::new();
    for e in &got {
        let b = body(e);
        let ext = b["data"]["external_id"]
            .as_str()
            .expect("externalId")
            .to_string();
        by_ext.insert(
            ext,
            (
                b["type"].as_str().unwrap().to_string(),
                b["data"]["row"].clone(),
            ),
        );
    }
    assert_eq!(by_ext.len(), 3, "{by_ext:?}");
    assert_eq!(
        by_ext["P0003"],
        ("user.deactivated".to_string(), Value::Null)
    );
    assert_eq!(
        by_ext["P0007"],
        ("user.deactivated".to_string(), Value::Null)
    );
    assert_eq!(by_ext["P0011"].0, "user.created");
}
