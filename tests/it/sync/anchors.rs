//! Re-created source accounts and edits made in the tenant (issue 16): a row
//! whose anchor differs from the one its managed user was synced from is refused
//! by default and handled by each `--on-anchor-change` mode; a `--full` run sees
//! edits made in Genesys and applies each field's conflict policy.

use super::{Bench, count, csv, people, tally};
use crate::common;

/// PATCHes a tenant user's attribute as someone in Genesys would.
async fn edit_in_tenant(b: &Bench, external_id: &str, path: &str, value: &str) {
    let id = b
        .emu
        .users()
        .into_iter()
        .find(|u| u.user.external_id.as_deref() == Some(external_id))
        .and_then(|u| u.user.id)
        .expect("user");
    let token = common::token(&b.emu).await;
    let res = common::http()
        .patch(format!("{}/Users/{id}", b.emu.scim_url()))
        .bearer_auth(token)
        .json(&serde_json::json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": path, "value": value}]
        }))
        .send()
        .await
        .expect("patch");
    assert!(res.status().is_success(), "{:?}", res.text().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_16_a_recreated_account_is_refused_then_relinked_or_replaced() {
    let b = Bench::new().await;
    let mut staff = people(12);
    b.source(&csv(&staff));
    assert_eq!(b.sync(&[]).code(), Some(0));
    let before = b.tenant();

    // P0003 deleted and re-created in the directory: same keys, new anchor.
    staff[2].guid = "c0ffee00-0000-4000-8000-000000000003".into();
    staff[2].title = "Returner".into();
    b.source(&csv(&staff));
    let r = b.sync(&[]);
    assert_eq!(r.code(), Some(1), "{}", r.text());
    let row = r
        .ledger()
        .into_iter()
        .find(|l| l.external_id.as_deref() == Some("P0003"))
        .expect("row");
    assert_eq!(
        row.error_kind.map(|k| k.as_str()),
        Some("anchor_changed"),
        "{row:?}"
    );
    assert_eq!(row.outcome.as_str(), "failed");
    assert!(
        row.error
            .as_deref()
            .unwrap_or("")
            .contains("--on-anchor-change"),
        "{row:?}"
    );
    assert_eq!(b.tenant()["P0003"], before["P0003"], "left as it is");

    // relink: the same Genesys user follows the new account.
    let r = b.sync(&["--on-anchor-change", "relink"]);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert_eq!(b.tenant()["P0003"].2.as_deref(), Some("Returner"));
    assert_eq!(b.tenant().len(), 12, "no new user");
    // ... and the state now holds the new anchor: no more refusals.
    let r = b.sync(&[]);
    assert_eq!(r.code(), Some(0), "{}", r.text());

    // replace: P0005 re-created for someone else.
    staff[4].guid = "c0ffee00-0000-4000-8000-000000000005".into();
    b.source(&csv(&staff));
    let r = b.sync(&["--on-anchor-change", "replace"]);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let users = b.emu.users();
    let named: Vec<_> = users
        .iter()
        .filter(|u| {
            u.user
                .user_name
                .as_deref()
                .is_some_and(|n| n.starts_with("person5"))
        })
        .collect();
    assert_eq!(named.len(), 2, "the old user and the new one");
    let old = named
        .iter()
        .find(|u| u.user.user_name.as_deref() != Some("person5@example.com"))
        .expect("old");
    let new = named
        .iter()
        .find(|u| u.user.user_name.as_deref() == Some("person5@example.com"))
        .expect("new");
    assert!(
        old.user
            .user_name
            .as_deref()
            .unwrap()
            .contains("+replaced-"),
        "{:?}",
        old.user.user_name
    );
    assert_eq!(old.state, scimport::emulator::UserState::Inactive);
    assert_eq!(new.state, scimport::emulator::UserState::Active);
    assert_eq!(new.user.external_id.as_deref(), Some("P0005"));
    assert_ne!(old.user.id, new.user.id);
    let t = tally(&r.ledger());
    assert_eq!(count(&t, "create", "succeeded"), 1, "{t:?}");
    // The next run is quiet: the state follows the new user.
    b.reset_requests();
    let r = b.sync(&[]);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert!(b.requests().is_empty(), "{:?}", b.requests());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_16_a_full_sync_keeps_target_wins_edits_and_reports_every_edit() {
    let b = Bench::new().await;
    let mapping = super::MAPPING.replace(
        "path = \"title\"\ncolumn = \"title\"\nblank = \"clear\"",
        "path = \"title\"\ncolumn = \"title\"\nblank = \"clear\"\nconflict = \"target-wins\"",
    );
    assert_ne!(mapping, super::MAPPING);
    std::fs::write(b.dir.path().join("mapping.toml"), mapping).expect("mapping");
    let mut staff = people(8);
    b.source(&csv(&staff));
    assert_eq!(b.sync(&[]).code(), Some(0));

    // Someone edits P0002's title and P0003's department in Genesys.
    edit_in_tenant(&b, "P0002", "title", "Floor Captain").await;
    edit_in_tenant(
        &b,
        "P0003",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
        "Shadow IT",
    )
    .await;
    // The source changes P0002's title too: target-wins keeps Genesys's edit.
    staff[1].title = "Senior Agent".into();
    b.source(&csv(&staff));

    // An incremental run does not read the tenant, so it cannot see the edits.
    let r = b.sync(&["--full"]);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let rows = r.ledger();
    let edited: Vec<_> = rows
        .iter()
        .filter(|l| l.error_kind.map(|k| k.as_str()) == Some("target_edited"))
        .collect();
    assert_eq!(edited.len(), 2, "{rows:?}");
    let p2 = edited
        .iter()
        .find(|l| l.external_id.as_deref() == Some("P0002"))
        .expect("P0002");
    assert!(p2.error.as_deref().unwrap_or("").contains("kept"), "{p2:?}");
    assert_eq!(
        b.tenant()["P0002"].2.as_deref(),
        Some("Floor Captain"),
        "target-wins"
    );
    let dept = b
        .emu
        .users()
        .into_iter()
        .find(|u| u.user.external_id.as_deref() == Some("P0003"))
        .and_then(|u| u.user.enterprise.and_then(|e| e.department));
    assert_eq!(
        dept.as_deref(),
        Some("Support"),
        "source-wins overwrote the edit"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_16_an_incremental_sync_reads_a_user_before_changing_a_target_wins_field() {
    let b = Bench::new().await;
    let mapping = super::MAPPING.replace(
        "path = \"title\"\ncolumn = \"title\"\nblank = \"clear\"",
        "path = \"title\"\ncolumn = \"title\"\nblank = \"clear\"\nconflict = \"target-wins\"",
    );
    std::fs::write(b.dir.path().join("mapping.toml"), mapping).expect("mapping");
    let mut staff = people(6);
    b.source(&csv(&staff));
    assert_eq!(b.sync(&[]).code(), Some(0));

    edit_in_tenant(&b, "P0002", "title", "Floor Captain").await;
    staff[1].title = "Senior Agent".into(); // the edited field: read first, edit kept
    staff[2].title = "Coach".into(); // not edited in the tenant: read first, then written
    staff[3].dept = "Claims".into(); // source-wins field: no read
    b.source(&csv(&staff));
    b.reset_requests();
    let r = b.sync(&[]);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let sent = b.requests();
    assert_eq!(
        sent.get("GET"),
        Some(&2),
        "only the two title changes read first: {sent:?}"
    );
    assert_eq!(
        sent.get("PATCH"),
        Some(&2),
        "P0003's title and P0004's department: {sent:?}"
    );
    assert_eq!(
        b.tenant()["P0002"].2.as_deref(),
        Some("Floor Captain"),
        "kept"
    );
    assert_eq!(b.tenant()["P0003"].2.as_deref(), Some("Coach"));
    let row = r
        .ledger()
        .into_iter()
        .find(|l| l.external_id.as_deref() == Some("P0002"))
        .expect("row");
    assert_eq!(
        row.error_kind.map(|k| k.as_str()),
        Some("target_edited"),
        "{row:?}"
    );
}
