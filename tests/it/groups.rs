//! The batched membership pass (`apply::groups` over `plan::groups`) against the
//! in-process emulator over loopback: member ids that need escaping reach the
//! emulator as one filter, and a group changed under the pass is re-read and
//! re-planned rather than failed.

use std::sync::Arc;
use std::time::Duration;

use scimport::apply::api::{Api, ApiOptions, NoObserver};
use scimport::apply::execute::Revisions;
use scimport::apply::groups::GroupPass;
use scimport::emulator::{EmulatorConfig, EmulatorHandle, spawn};
use scimport::ledger::{Action, LedgerRow, Outcome};
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
    api.list_groups(1, 100, None)
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

    // Tier 1: both removes in one PATCH, which an unescaped path would make a 400.
    assert_eq!(patches, 2, "one PATCH for Tier 1, one for Tier 2");
    for row in [1, 2] {
        let l = &revised[&row];
        assert_eq!(l.outcome, Outcome::Succeeded, "row {row}: {:?}", l.error);
        assert_eq!(l.action, Action::Update);
        assert!(l.changed_fields.iter().any(|f| f == "groups"));
    }
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
