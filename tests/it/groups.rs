//! The batched membership pass (`apply::groups` over `plan::groups`) against the
//! in-process emulator over loopback: member ids that need escaping reach the
//! emulator as one filter, and a group changed under the pass is re-read and
//! re-planned rather than failed; a member deleted under the pass fails only its
//! own row (issue 14).

use std::sync::Arc;
use std::time::Duration;

use scimport::apply::api::{Api, ApiOptions, NoObserver};
use scimport::apply::execute::Revisions;
use scimport::apply::groups::GroupPass;
use scimport::emulator::{EmulatorConfig, EmulatorHandle, spawn};
use scimport::engine::Done;
use scimport::ledger::{Action, LedgerRow, Outcome, Verdict};
use scimport::model::ErrorKind;
use scimport::plan::PlanOptions;
use scimport::scim::Target;
use scimport::scim::model::{Group, Member, PatchOperation, SCHEMA_USER, User};
use serde_json::json;

fn api(emu: &EmulatorHandle) -> Api {
    let opts = ApiOptions {
        pace: scimport::apply::limiter::Pace::Off,
        concurrency: 4,
        timeout: Duration::from_secs(10),
        max_attempts: 3,
        retry_budget: 100,
        backoff_base: Duration::from_millis(10),
        backoff_cap: Duration::from_millis(100),
        circuit_threshold: 3,
    };
    let target = Target::emulator(&emu.url(), emu.client_id(), emu.client_secret());
    Api::new(&target, opts, Arc::new(NoObserver)).expect("api")
}

async fn create_user(api: &Api, n: usize) -> String {
    let user = User {
        schemas: vec![SCHEMA_USER.to_string()],
        external_id: Some(format!("grp-{n}")),
        user_name: Some(format!("groups.it.{n}@example.com")),
        display_name: Some(format!("Groups Test {n}")),
        active: Some(true),
        ..User::default()
    };
    let created = api.create_user(None, &user).await.expect("create user");
    created.user.value.id.expect("the emulator returns an id")
}

async fn all_groups(api: &Api) -> Vec<Group> {
    api.list_groups(1, 25, None)
        .await
        .expect("list groups")
        .resources
}

fn named<'a>(groups: &'a mut [Group], name: &str) -> &'a mut Group {
    groups
        .iter_mut()
        .find(|g| g.display_name.as_deref() == Some(name))
        .expect("the emulator's default tenant has this group")
}

async fn members_of(api: &Api, id: &str) -> Vec<String> {
    let g = api.get_group(None, id).await.expect("get group");
    g.value.members.into_iter().map(|m| m.value).collect()
}

async fn add_member(api: &Api, group_id: &str, user_id: &str) {
    api.patch_group(
        None,
        group_id,
        vec![PatchOperation::add(
            "members",
            json!([{ "value": user_id }]),
        )],
        None,
    )
    .await
    .expect("add member");
}

/// A ledger row of a user the main pass left unchanged.
fn skipped(row: u64) -> LedgerRow {
    LedgerRow::without_call(
        row,
        None,
        None,
        Action::Skip,
        Outcome::Skipped,
        String::new(),
    )
}

#[tokio::test]
async fn issue_13_quote_and_backslash_in_member_id_reach_the_emulator_escaped() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let api = api(&emu);
    let ana = create_user(&api, 1).await;
    let mut groups = all_groups(&api).await;
    let tier1 = named(&mut groups, "Tier 1").id.clone().expect("group id");
    let tier2 = named(&mut groups, "Tier 2").id.clone().expect("group id");
    add_member(&api, &tier1, &ana).await;
    let mut groups = all_groups(&api).await;
    // A tenant's member id with a quote and a backslash. The emulator mints only
    // UUIDs, so the id is added to the group as read, as a tenant would list it.
    let odd = r#"x"y\z"#;
    named(&mut groups, "Tier 1").members.push(Member {
        value: odd.to_string(),
        ..Member::default()
    });

    let mut pass = GroupPass::default();
    pass.want(ana.clone(), vec!["Tier 2".into()], skipped(1));
    pass.want(odd.to_string(), Vec::new(), skipped(2));
    let mut revised = Revisions::new();
    let patches = pass
        .apply_to(&api, groups, &PlanOptions::default(), &mut revised)
        .await
        .expect("nothing stops the run");

    // Tier 1: both removes in one PATCH. The odd id is no user of the emulator, which
    // refuses its removal (issue 14) naming the id exactly as sent, so the PATCH is
    // split: Ana's remove lands, the odd id's row fails. An unescaped path would be
    // refused as a bad filter instead, not naming the id.
    assert_eq!(
        patches, 4,
        "Tier 1 refused, then each member; one for Tier 2"
    );
    let l = &revised[&1];
    assert_eq!(l.outcome, Outcome::Succeeded, "row 1: {:?}", l.error);
    assert_eq!(l.action, Action::Update);
    assert!(l.changed_fields.iter().any(|f| f == "groups"));
    let l = &revised[&2];
    assert_eq!(l.outcome, Outcome::Failed);
    assert_eq!(l.error_kind, Some(ErrorKind::GroupMembership));
    let why = l.error.as_deref().unwrap_or_default();
    assert!(
        why.contains("invalidValue") && why.contains(&format!("{odd:?}")),
        "{why}"
    );
    assert!(!members_of(&api, &tier1).await.contains(&ana));
    assert_eq!(members_of(&api, &tier2).await, vec![ana]);
    emu.shutdown().await;
}

#[tokio::test]
async fn a_group_changed_under_the_pass_is_read_again_and_planned_again() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let api = api(&emu);
    let ana = create_user(&api, 1).await;
    let ben = create_user(&api, 2).await;
    let stale = all_groups(&api).await;
    let sales = stale
        .iter()
        .find(|g| g.display_name.as_deref() == Some("Sales Team"))
        .and_then(|g| g.id.clone())
        .expect("Sales Team");
    // Someone adds Ben after the pass read the groups: its version is stale now.
    add_member(&api, &sales, &ben).await;

    let mut pass = GroupPass::default();
    pass.want(ana.clone(), vec!["Sales Team".into()], skipped(1));
    pass.want(ben.clone(), vec!["Sales Team".into()], skipped(2));
    let mut revised = Revisions::new();
    let patches = pass
        .apply_to(&api, stale, &PlanOptions::default(), &mut revised)
        .await
        .expect("nothing stops the run");

    // The first PATCH (adding both) meets a version conflict; the re-read group
    // holds Ben already, so the second adds only Ana.
    assert_eq!(patches, 2);
    let mut members = members_of(&api, &sales).await;
    members.sort();
    let mut both = vec![ana, ben];
    both.sort();
    assert_eq!(members, both);
    assert_eq!(revised[&1].outcome, Outcome::Succeeded);
    assert!(
        !revised.contains_key(&2),
        "Ben's membership was already there: nothing sent for him"
    );
    emu.shutdown().await;
}

/// A ledger row of a user the main pass created.
fn created(row: u64, id: &str) -> LedgerRow {
    let mut l = LedgerRow::without_call(
        row,
        None,
        None,
        Action::Create,
        Outcome::Succeeded,
        String::new(),
    );
    l.http_status = Some(201);
    l.scim_id = Some(id.to_string());
    l
}

async fn delete_user(emu: &EmulatorHandle, id: &str) {
    let token = crate::common::token(emu).await;
    let res = crate::common::http()
        .delete(format!("{}/users/{id}", emu.scim_url()))
        .bearer_auth(token)
        .send()
        .await
        .expect("delete user");
    assert!(res.status().is_success(), "{}", res.status());
}

/// Issue 14: one member deleted between the main pass and the group pass no longer
/// fails every row of its group: the PATCH refused for it is split until the culprit
/// is found, the others land, and only its row fails (`group_membership`). The
/// users the main pass created still count as created.
#[tokio::test]
async fn issue_14_a_deleted_member_fails_only_its_own_row() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let api = api(&emu);
    let mut ids = Vec::new();
    for n in 0..9 {
        ids.push(create_user(&api, n).await);
    }
    let groups = all_groups(&api).await;
    let sales = groups
        .iter()
        .find(|g| g.display_name.as_deref() == Some("Sales Team"))
        .and_then(|g| g.id.clone())
        .expect("Sales Team");
    // Deleted in the tenant after the main pass, before its membership is sent.
    let gone = ids[5].clone();
    delete_user(&emu, &gone).await;

    let mut pass = GroupPass::default();
    let mut rows = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let row = created(i as u64 + 1, id);
        rows.push(row.clone());
        pass.want(id.clone(), vec!["Sales Team".into()], row);
    }
    let mut revised = Revisions::new();
    let patches = pass
        .apply_to(&api, groups, &PlanOptions::default(), &mut revised)
        .await
        .expect("nothing stops the run");

    let failed: Vec<u64> = revised
        .values()
        .filter(|l| l.outcome == Outcome::Failed)
        .map(|l| l.row)
        .collect();
    assert_eq!(failed, vec![6], "only the deleted member's row fails");
    let culprit = &revised[&6];
    assert_eq!(culprit.error_kind, Some(ErrorKind::GroupMembership));
    assert_eq!(culprit.action, Action::Create, "the user was created");
    assert!(
        culprit
            .error
            .as_deref()
            .unwrap_or("")
            .contains("Sales Team")
    );
    let mut members = members_of(&api, &sales).await;
    members.sort();
    let mut landed: Vec<String> = ids.iter().filter(|i| **i != gone).cloned().collect();
    landed.sort();
    assert_eq!(members, landed, "the other eight memberships landed");
    // 9 members: 1 refused PATCH, then halves 4 + 5; the 5 splits 2 + 3, the 3
    // (holding the culprit) is retried member by member.
    assert!(patches <= 1 + 2 * 4 + 4, "bounded: {patches} PATCHes");

    // Counted as the tenant holds them: nine users created, one row failed.
    let verdicts: Vec<Verdict> = rows
        .iter()
        .map(|r| revised.get(&r.row).unwrap_or(r))
        .map(|l| Verdict {
            row: l.row,
            action: l.action,
            outcome: l.outcome,
            error: l
                .error_kind
                .map(|k| (k.as_str().to_string(), l.error.clone().unwrap_or_default())),
            http_status: l.http_status,
            note: None,
        })
        .collect();
    let done = Done::count(&verdicts);
    assert_eq!((done.created, done.failed), (9, 1), "{done:?}");
    emu.shutdown().await;
}

/// Issue 14: the emulator refuses a PATCH removing a member id that is no existing
/// user, as it refuses adding one (400 invalidValue naming the member).
#[tokio::test]
async fn issue_14_emulator_refuses_removing_an_unknown_member() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let api = api(&emu);
    let groups = all_groups(&api).await;
    let id = groups[0].id.clone().expect("group id");
    for op in [
        PatchOperation::remove(scimport::plan::member_path("no-such-user")),
        PatchOperation::add("members", json!([{ "value": "no-such-user" }])),
    ] {
        let err = api
            .patch_group(None, &id, vec![op], None)
            .await
            .expect_err("an unknown member is refused");
        let text = err.to_string();
        assert_eq!(err.status(), Some(400), "{text}");
        assert!(
            text.contains("invalidValue") && text.contains("no-such-user"),
            "{text}"
        );
    }
    emu.shutdown().await;
}
