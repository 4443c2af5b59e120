//! Delta runs (issue 16): after a full sync, an incremental run with nothing
//! changed sends no call at all; with 3 changed entries, exactly 3 writes and no
//! read; leavers are deactivated (never deleted) and come back reactivated.

use super::{Bench, count, csv, people, tally};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_16_an_unchanged_incremental_sync_sends_no_call_and_three_changes_send_three_writes()
{
    let b = Bench::new().await;
    let mut staff = people(40);
    b.source(&csv(&staff));
    let first = b.sync(&[]);
    assert_eq!(first.code(), Some(0), "{}", first.text());
    assert_eq!(b.tenant().len(), 40);
    assert!(first.text().contains("first sync"), "{}", first.text());

    b.reset_requests();
    let same = b.sync(&[]);
    assert_eq!(same.code(), Some(0), "{}", same.text());
    assert!(b.requests().is_empty(), "calls sent: {:?}", b.requests());
    assert_eq!(same.summary()["calls"]["token"], 0, "{}", same.text());
    assert_eq!(same.summary()["sync"]["mode"], "incremental");
    assert_eq!(first.summary()["sync"]["mode"], "first");
    let t = tally(&same.ledger());
    assert_eq!(count(&t, "skip", "skipped"), 40, "{t:?}");
    // Issue 17: the share of attributes already matching (7 mapped fields).
    assert_eq!(first.summary()["sync"]["attributes_compared"], 0);
    assert!(first.summary()["sync"]["attributes_matching"].is_null());
    assert_eq!(same.summary()["sync"]["attributes_compared"], 280);
    assert_eq!(same.summary()["sync"]["attributes_matching"], 1.0);
    assert!(
        same.text()
            .contains("attributes already matching: 100.0% (280 of 280 compared, on 40 users)"),
        "{}",
        same.text()
    );

    staff[4].title = "Team Lead".into();
    staff[9].dept = "Claims".into();
    staff[30].title = String::new(); // blank = clear
    b.source(&csv(&staff));
    b.reset_requests();
    let three = b.sync(&[]);
    assert_eq!(three.code(), Some(0), "{}", three.text());
    let sent = b.requests();
    assert_eq!(sent.get("PATCH"), Some(&3), "{sent:?}");
    assert_eq!(sent.get("GET"), None, "no read: {sent:?}");
    assert_eq!(
        sent.get("POST").copied().unwrap_or(0),
        1,
        "only the token: {sent:?}"
    );
    let t = tally(&three.ledger());
    assert_eq!(count(&t, "update", "succeeded"), 3, "{t:?}");
    let share = three.summary()["sync"]["attributes_matching"]
        .as_f64()
        .expect("a share");
    assert!((share - 277.0 / 280.0).abs() < 1e-9, "{}", three.text());
    assert_eq!(three.summary()["sync"]["attributes_compared"], 280);
    let tenant = b.tenant();
    assert_eq!(tenant["P0005"].2.as_deref(), Some("Team Lead"));
    assert_eq!(tenant["P0031"].2, None, "title cleared");

    // The state followed: the same source again is silent once more.
    b.reset_requests();
    let again = b.sync(&[]);
    assert_eq!(again.code(), Some(0), "{}", again.text());
    assert!(b.requests().is_empty(), "calls sent: {:?}", b.requests());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_16_leavers_are_deactivated_with_a_null_row_and_joiners_and_returners_handled() {
    let b = Bench::new().await;
    let staff = people(30);
    b.source(&csv(&staff));
    assert_eq!(b.sync(&[]).code(), Some(0));

    // Two leave, one joins.
    let mut now: Vec<_> = staff
        .iter()
        .filter(|p| p.id != "P0007" && p.id != "P0012")
        .cloned()
        .collect();
    let mut joiner = people(31).pop().expect("person 31");
    joiner.id = "P0031".into();
    now.push(joiner);
    b.source(&csv(&now));
    let r = b.sync(&[]);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let rows = r.ledger();
    let leavers: Vec<_> = rows
        .iter()
        .filter(|l| l.action.as_str() == "deactivate")
        .collect();
    assert_eq!(leavers.len(), 2, "{:?}", tally(&rows));
    assert!(leavers.iter().all(|l| l.outcome.as_str() == "succeeded"));
    assert_eq!(
        rows.len(),
        now.len() + 2,
        "one row per source entry plus one per leaver"
    );
    let tenant = b.tenant();
    assert!(
        !tenant["P0007"].1 && !tenant["P0012"].1,
        "inactive, not deleted"
    );
    assert!(tenant["P0031"].1);
    assert_eq!(tenant.len(), 31);

    // The ledger's row is null for the leavers, read by pyarrow.
    let run = r.run.clone().expect("run");
    let out = std::process::Command::new(crate::common::python())
        .args([
            "-c",
            "import sys, pyarrow.parquet as pq; t = pq.read_table(sys.argv[1]).to_pydict(); \
             print(sum(1 for r, a in zip(t['row'], t['action']) if r is None and a == 'deactivate'))",
        ])
        .arg(run.join("ledger.parquet"))
        .output()
        .expect("python");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "2",
        "{}",
        crate::common::show(&out)
    );

    // One comes back: reactivated, not created again.
    let mut back = now.clone();
    back.push(staff[6].clone());
    b.source(&csv(&back));
    let r = b.sync(&[]);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let t = tally(&r.ledger());
    assert_eq!(count(&t, "reactivate", "succeeded"), 1, "{t:?}");
    assert!(b.tenant()["P0007"].1);
    assert_eq!(b.tenant().len(), 31);

    // A --full run reads the tenant and finds its leaver all the same.
    let fewer: Vec<_> = back.iter().filter(|p| p.id != "P0020").cloned().collect();
    b.source(&csv(&fewer));
    let r = b.sync(&["--full"]);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert_eq!(r.summary()["sync"]["mode"], "full");
    let t = tally(&r.ledger());
    assert_eq!(count(&t, "deactivate", "succeeded"), 1, "{t:?}");
    assert!(!b.tenant()["P0020"].1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_16_a_joiner_already_in_the_tenant_is_adopted_not_duplicated() {
    let b = Bench::new().await;
    let staff = people(10);
    b.source(&csv(&staff[..9]));
    assert_eq!(b.sync(&[]).code(), Some(0));

    // Someone created person 10 in Genesys by hand, with the source's externalId.
    let token = crate::common::token(&b.emu).await;
    let res = crate::common::http()
        .post(format!("{}/Users", b.emu.scim_url()))
        .bearer_auth(token)
        .json(&serde_json::json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "person10@example.com",
            "externalId": "P0010",
            "displayName": "Hand Made",
            "title": "Temp"
        }))
        .send()
        .await
        .expect("post");
    assert!(res.status().is_success(), "{:?}", res.text().await);

    // An incremental run does not read the tenant: its create is refused as a
    // duplicate, so it looks the user up and updates it instead.
    b.source(&csv(&staff));
    let r = b.sync(&[]);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let row = r
        .ledger()
        .into_iter()
        .find(|l| l.external_id.as_deref() == Some("P0010"))
        .expect("row");
    assert_eq!(row.action.as_str(), "update", "{row:?}");
    assert_eq!(row.outcome.as_str(), "succeeded", "{row:?}");
    assert_eq!(b.tenant().len(), 10, "no duplicate");
    assert_eq!(b.tenant()["P0010"].2.as_deref(), Some("Agent"));
    // ... and the state knows it now.
    b.reset_requests();
    assert_eq!(b.sync(&[]).code(), Some(0));
    assert!(b.requests().is_empty(), "{:?}", b.requests());
}
