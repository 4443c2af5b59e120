//! `scimport sync` from a real Active Directory (issue 16): a Samba AD domain
//! controller provisioned by the harness, read over LDAPS with its generated CA.
//! One test walks every AD scenario, since one DC runs at a time: paging, manager
//! chains from DNs, joiner, mover, leaver, a disabled account becoming inactive,
//! a re-created account refused then relinked or replaced, and LDAPS refused
//! without the CA.

use super::{Bench, count, tally};
use crate::common::samba::{SambaDc, UserSpec};
use scimport::emulator::UserState;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_16_an_active_directory_sync_end_to_end() {
    let mut staff = UserSpec::staff(23);
    staff[8].disabled = true; // user0009
    let dc = SambaDc::start(&staff);
    let b = Bench::new().await;
    let mapping =
        std::fs::read_to_string(crate::common::fixture("ad-mapping.toml")).expect("fixture");
    std::fs::write(b.dir.path().join("mapping.toml"), mapping).expect("mapping");
    let args = dc.sync_args();
    let mut source: Vec<&str> = args.iter().map(String::as_str).collect();
    source.extend(["--page-size", "5"]);
    let env_owned = dc.sync_env();
    let env: Vec<(&str, &str)> = env_owned.iter().map(|(k, v)| (*k, v.as_str())).collect();

    // LDAPS without the DC's CA: refused before anything is sent.
    let no_ca: Vec<&str> = source
        .iter()
        .copied()
        .filter(|a| *a != "--ldap-ca" && !a.ends_with(".pem"))
        .collect();
    let r = b.sync_from(&no_ca, &env, &[]);
    assert_eq!(r.code(), Some(4), "{}", r.text());
    assert!(r.text().contains("--ldap-ca"), "{}", r.text());
    assert!(b.requests().is_empty(), "{:?}", b.requests());

    // First sync: 23 entries over 5 pages; the disabled account is not created.
    let r = b.sync_from(&source, &env, &[]);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert!(r.text().contains("source: 23 entries"), "{}", r.text());
    let pages = r.summary()["sync"]["directory_pages"].as_u64().unwrap_or(0);
    assert!(pages >= 5, "paged: {pages}");
    let t = tally(&r.ledger());
    assert_eq!(count(&t, "create", "succeeded"), 22, "{t:?}");
    // Managers from DNs, a chain: user0008 -> user0002 -> user0001.
    assert_eq!(b.manager_of("E0008"), b.user("E0002").user.id);
    assert_eq!(b.manager_of("E0002"), b.user("E0001").user.id);
    assert!(!r.text().contains(&dc.password()), "{}", r.text());

    // Mover, disabled, leaver, joiner.
    dc.set_attr("user0003", "title", "Floor Manager");
    dc.disable("user0004");
    dc.delete("user0023");
    let mut joiner = UserSpec::new("user0024", "Iris", "Staff0024");
    joiner.employee_id = "E0024".into();
    joiner.title = "Agent".into();
    joiner.manager = Some("user0006".into());
    dc.add_user(&joiner);
    b.reset_requests();
    let r = b.sync_from(&source, &env, &[]);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let t = tally(&r.ledger());
    assert_eq!(count(&t, "update", "succeeded"), 1, "{t:?}");
    assert_eq!(count(&t, "deactivate", "succeeded"), 2, "{t:?}");
    assert_eq!(count(&t, "create", "succeeded"), 1, "{t:?}");
    assert_eq!(b.requests().get("GET"), None, "{:?}", b.requests());
    assert_eq!(b.user("E0003").user.title.as_deref(), Some("Floor Manager"));
    assert_eq!(b.user("E0004").state, UserState::Inactive, "disabled in AD");
    assert_eq!(b.user("E0023").state, UserState::Inactive, "deleted in AD");
    assert_eq!(b.manager_of("E0024"), b.user("E0006").user.id);

    // A re-created account: same sAMAccountName, mail and employeeID, new objectGUID.
    let old_guid = dc.object_guid("user0007");
    dc.delete("user0007");
    dc.add_user(&staff[6]);
    assert_ne!(dc.object_guid("user0007"), old_guid);
    let r = b.sync_from(&source, &env, &[]);
    assert_eq!(r.code(), Some(1), "{}", r.text());
    let row = r
        .ledger()
        .into_iter()
        .find(|l| l.external_id.as_deref() == Some("E0007"))
        .expect("row");
    assert_eq!(
        row.error_kind.map(|k| k.as_str()),
        Some("anchor_changed"),
        "{row:?}"
    );
    let r = b.sync_from(&source, &env, &["--on-anchor-change", "relink"]);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let r = b.sync_from(&source, &env, &[]);
    assert_eq!(
        r.code(),
        Some(0),
        "relinked: the state has the new objectGUID\n{}",
        r.text()
    );

    // Another re-created for someone else: replace.
    let before = b.user("E0010").user.id;
    dc.delete("user0010");
    dc.add_user(&staff[9]);
    let r = b.sync_from(&source, &env, &["--on-anchor-change", "replace"]);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let now = b.user("E0010");
    assert_ne!(now.user.id, before, "a new user");
    assert_eq!(now.state, UserState::Active);
    let old = b
        .emu
        .users()
        .into_iter()
        .find(|u| u.user.id == before)
        .expect("old user");
    assert_eq!(old.state, UserState::Inactive);
    assert!(
        old.user
            .user_name
            .as_deref()
            .unwrap_or("")
            .contains("+replaced-"),
        "{:?}",
        old.user.user_name
    );
}
